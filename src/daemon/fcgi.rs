//! `[fcgi-program:x]` sockets: the daemon creates the listening socket and every
//! process of the group gets it as fd 0. The socket is shared by the group: made when
//! the first process needs it, closed when the last one is gone.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use rustix::net::{AddressFamily, SocketAddrAny, SocketType};

use crate::config::{FcgiAddress, FcgiSocket};

#[derive(Debug)]
pub struct Shared {
    pub config: FcgiSocket,
    socket: Option<OwnedFd>,
}

impl Shared {
    pub fn new(config: FcgiSocket) -> Shared {
        Shared { config, socket: None }
    }

    /// The listening socket, created on first use.
    pub fn fd(&mut self) -> Result<RawFd, String> {
        if self.socket.is_none() {
            self.socket =
                Some(create(&self.config).map_err(|e| format!("could not create {}: {e}", self.config.address))?);
        }
        Ok(self.socket.as_ref().map(|s| s.as_raw_fd()).unwrap_or(-1))
    }

    pub fn close(&mut self) {
        self.socket = None;
    }

    pub fn is_open(&self) -> bool {
        self.socket.is_some()
    }
}

fn create(cfg: &FcgiSocket) -> std::io::Result<OwnedFd> {
    let backlog = cfg.backlog.and_then(|b| i32::try_from(b).ok()).unwrap_or(libc::SOMAXCONN);
    let sock = match &cfg.address {
        FcgiAddress::Unix(path) => {
            // A socket file left by an earlier run would make bind fail.
            let _ = std::fs::remove_file(path);
            let sock = rustix::net::socket_with(
                AddressFamily::UNIX,
                SocketType::STREAM,
                rustix::net::SocketFlags::CLOEXEC,
                None,
            )?;
            let addr = rustix::net::SocketAddrUnix::new(path.as_path())?;
            rustix::net::bind(&sock, &addr)?;
            if let Some(mode) = cfg.mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            }
            if let Some((uid, gid)) = cfg.owner {
                rustix::fs::chown(
                    path.as_path(),
                    Some(rustix::process::Uid::from_raw(uid)),
                    gid.map(rustix::process::Gid::from_raw),
                )?;
            }
            sock
        }
        FcgiAddress::Tcp { host, port } => {
            use std::net::ToSocketAddrs;
            let addr = (host.as_str(), *port)
                .to_socket_addrs()?
                .next()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrNotAvailable))?;
            let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
            let sock = rustix::net::socket_with(family, SocketType::STREAM, rustix::net::SocketFlags::CLOEXEC, None)?;
            rustix::net::sockopt::set_socket_reuseaddr(&sock, true)?;
            rustix::net::bind(&sock, &SocketAddrAny::from(addr))?;
            sock
        }
    };
    rustix::net::listen(&sock, backlog)?;
    Ok(sock)
}
