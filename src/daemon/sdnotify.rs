//! The sd_notify(3) protocol, sending side: supervisord tells the service manager that
//! started it (systemd's `Type=notify`) when it is ready, reloading or stopping.
//!
//! A message is one datagram of newline-separated `KEY=VALUE` lines sent to the unix
//! socket that `$NOTIFY_SOCKET` names: a path, or `@name` in the abstract namespace.
//! The variable belongs to supervisord alone: children do not inherit it (a program
//! that wants it names it in its own `environment=`, e.g. `%(ENV_NOTIFY_SOCKET)s`).

use std::ffi::OsString;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

pub const ENV: &str = "NOTIFY_SOCKET";

pub struct Notifier {
    addr: SocketAddr,
}

/// The socket address a `NOTIFY_SOCKET` value names.
pub fn address(value: &[u8]) -> io::Result<SocketAddr> {
    match value {
        [b'@', name @ ..] => SocketAddr::from_abstract_name(name),
        [b'/', ..] => SocketAddr::from_pathname(std::ffi::OsStr::from_bytes(value)),
        // systemd also knows vsock:CID:PORT, which only matters inside VMs.
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "not an absolute path or @abstract name")),
    }
}

impl Notifier {
    /// From supervisord's environment: Ok(None) when no service manager asked for
    /// notifications, Err with the reason when the variable names no usable socket.
    pub fn from_env() -> Result<Option<Notifier>, String> {
        let Some(value): Option<OsString> = std::env::var_os(ENV) else {
            return Ok(None);
        };
        match address(value.as_bytes()) {
            Ok(addr) => Ok(Some(Notifier { addr })),
            Err(e) => Err(format!("{ENV}={}: {e}; no readiness notifications", value.to_string_lossy())),
        }
    }

    /// Sends one message from a fresh socket: messages are rare, and no fd is kept open.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let sock = UnixDatagram::unbound()?;
        sock.connect_addr(&self.addr)?;
        sock.send(message.as_bytes())?;
        Ok(())
    }

    /// The first start pass is done and the control sockets are open. MAINPID names
    /// the process to watch should supervisord have daemonized itself.
    pub fn ready(&self) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS=running\nMAINPID={}", std::process::id()))
    }

    /// A reload began (SIGHUP or the restart RPC); `ready` follows once it is done.
    /// MONOTONIC_USEC lets systemd's `Type=notify-reload` match it to its request.
    pub fn reloading(&self) -> io::Result<()> {
        let usec = crate::sys::monotonic_usec();
        self.send(&format!("RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC={usec}"))
    }

    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1\nSTATUS=stopping")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(address(b"/run/systemd/notify").is_ok());
        assert!(address(b"@abstract").is_ok());
        assert!(address(b"relative/path").is_err());
        assert!(address(b"vsock:2:1234").is_err());
        assert!(address(b"").is_err());
    }

    #[test]
    fn delivers_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("sdnotify-unit-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let rx = std::os::unix::net::UnixDatagram::bind(&path).expect("bind");
        let n = Notifier { addr: address(path.as_os_str().as_bytes()).expect("address") };
        n.stopping().expect("send");
        let mut buf = [0u8; 256];
        let len = rx.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"STOPPING=1\nSTATUS=stopping");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
