//! Readiness a program announces itself: a newline on its notification fd (s6), READY=1
//! on $NOTIFY_SOCKET (systemd's sd_notify), or a line of its output matching
//! `ready_log_line`. Everything read here is bounded: garbage is counted, logged and
//! dropped, never buffered without limit.

use std::os::fd::{AsRawFd, OwnedFd};

use super::supervisor::{ProcId, Source, Supervisor};
use crate::config::supervision::Probe;

/// Bytes without a newline on a notification fd before it is given up on.
const FD_GARBAGE_MAX: usize = 64 * 1024;
/// A longer output line is matched in pieces of this size.
const LINE_MAX: usize = 4096;
/// Datagrams read from a notify socket per wake-up.
const DATAGRAMS_PER_WAKE: usize = 16;

/// The daemon's end of a readiness channel, while open.
pub(crate) enum Channel {
    /// The read end of the notification pipe, and the bytes seen so far.
    Fd { fd: OwnedFd, key: usize, seen: usize },
    /// The datagram socket bound to NOTIFY_SOCKET's address.
    Notify { fd: OwnedFd, key: usize },
}

/// What the child gets: environment and an fd; the write end closes after the spawn.
pub(crate) struct ForChild {
    pub env: Vec<(String, String)>,
    pub fd: Option<(OwnedFd, i32)>,
}

impl Supervisor {
    /// Before a spawn: make the pipe or socket the program will announce readiness on.
    pub(crate) fn readiness_prepare(&mut self, id: ProcId) -> Result<ForChild, String> {
        self.readiness_close(id);
        let Some(m) = self.procs.get(&id) else { return Ok(ForChild { env: vec![], fd: None }) };
        let name = m.proc.config.name.clone();
        match m.proc.config.supervision.ready {
            Some(Probe::Fd(n)) => {
                // Only the daemon's end is non-blocking: the child's fd must behave as a
                // program expects (a write to a full pipe waits, not EAGAIN), and with a
                // vfork-style spawn the daemon may read a moment after the child starts.
                let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                    .map_err(|e| format!("cannot make the notification pipe of '{name}': {e}"))?;
                rustix::io::ioctl_fionbio(&r, true)
                    .map_err(|e| format!("cannot make the notification pipe of '{name}': {e}"))?;
                let key = self
                    .reactor
                    .add(&r, Source::Ready(id), false)
                    .map_err(|e| format!("cannot watch the notification pipe of '{name}': {e}"))?;
                if let Some(m) = self.procs.get_mut(&id) {
                    m.ready_channel = Some(Channel::Fd { fd: r, key, seen: 0 });
                }
                Ok(ForChild { env: vec![], fd: Some((w, n)) })
            }
            Some(Probe::Notify) => {
                use rustix::net::{bind, socket_with, AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
                let fd = socket_with(
                    AddressFamily::UNIX,
                    SocketType::DGRAM,
                    SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
                    None,
                )
                .map_err(|e| format!("cannot make the notify socket of '{name}': {e}"))?;
                // An abstract address: nothing on disk to clean up or to chmod for
                // another user; unique by daemon pid and a serial.
                self.notify_serial += 1;
                // Abstract names end at 107 bytes: a long process name is cut.
                // (48 bytes, not characters: the prefix takes up to ~40.)
                let mut cut = name.len().min(48);
                while !name.is_char_boundary(cut) {
                    cut -= 1;
                }
                let address = format!("supervisor/{}/{}/{}", std::process::id(), self.notify_serial, &name[..cut]);
                let addr = SocketAddrUnix::new_abstract_name(address.as_bytes())
                    .map_err(|e| format!("cannot name the notify socket of '{name}': {e}"))?;
                bind(&fd, &addr).map_err(|e| format!("cannot bind the notify socket of '{name}': {e}"))?;
                let key = self
                    .reactor
                    .add(&fd, Source::Ready(id), false)
                    .map_err(|e| format!("cannot watch the notify socket of '{name}': {e}"))?;
                if let Some(m) = self.procs.get_mut(&id) {
                    m.ready_channel = Some(Channel::Notify { fd, key });
                }
                Ok(ForChild { env: vec![("NOTIFY_SOCKET".into(), format!("@{address}"))], fd: None })
            }
            _ => Ok(ForChild { env: vec![], fd: None }),
        }
    }

    pub(crate) fn readiness_close(&mut self, id: ProcId) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        match m.ready_channel.take() {
            Some(Channel::Fd { key, fd, .. }) | Some(Channel::Notify { key, fd }) => {
                self.reactor.remove(key);
                drop(fd);
            }
            None => {}
        }
        m.ready_line.clear();
    }

    fn ready(&mut self, id: ProcId, detail: &str) {
        let mut fx = Vec::new();
        if let Some(m) = self.procs.get_mut(&id) {
            m.proc.became_ready(detail, &mut fx);
        }
        self.apply(id, fx);
    }

    /// The notification pipe or notify socket is readable.
    pub(crate) fn on_ready_channel(&mut self, id: ProcId) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let name = m.proc.config.name.clone();
        let mut buf = [0u8; 4096];
        match &mut m.ready_channel {
            Some(Channel::Fd { fd, seen, .. }) => {
                let n = match rustix::io::read(&*fd, &mut buf) {
                    Ok(n) => n,
                    Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return,
                    Err(_) => 0,
                };
                let newline = buf[..n].contains(&b'\n');
                *seen += n;
                let seen = *seen;
                let fdnum = match m.proc.config.supervision.ready {
                    Some(Probe::Fd(k)) => k,
                    _ => 0,
                };
                if newline {
                    // Readiness is the first newline; the fd is not read any more (s6).
                    self.readiness_close(id);
                    self.ready(id, &format!("newline on notification fd {fdnum}"));
                } else if n == 0 {
                    self.readiness_close(id);
                    log::warn!("{name} closed its notification fd {fdnum} without writing a newline");
                } else if seen > FD_GARBAGE_MAX {
                    self.readiness_close(id);
                    log::warn!(
                        "{name} wrote {seen} bytes on notification fd {fdnum} without a newline; no longer read"
                    );
                }
            }
            Some(Channel::Notify { fd, .. }) => {
                let mut messages = Vec::new();
                for _ in 0..DATAGRAMS_PER_WAKE {
                    // TRUNC: the second length is the datagram's own, so an oversized one is seen.
                    let flags = rustix::net::RecvFlags::DONTWAIT | rustix::net::RecvFlags::TRUNC;
                    match rustix::net::recv(&*fd, &mut buf, flags) {
                        Ok((got, full)) => messages.push((buf[..got].to_vec(), full > got)),
                        Err(_) => break,
                    }
                }
                for (msg, truncated) in messages {
                    self.on_notify_message(id, &name, &msg, truncated);
                }
            }
            None => {}
        }
    }

    fn on_notify_message(&mut self, id: ProcId, name: &str, msg: &[u8], truncated: bool) {
        if truncated {
            log::warn!("{name}: ignored a notify message longer than 4096 bytes");
            return;
        }
        let Ok(text) = std::str::from_utf8(msg) else {
            log::warn!("{name}: ignored a notify message that is not UTF-8 ({} bytes)", msg.len());
            return;
        };
        let mut ready = false;
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            match line.split_once('=') {
                Some(("READY", "1")) => ready = true,
                Some(("STATUS", status)) => {
                    let status: String = status.chars().filter(|c| !c.is_control()).take(200).collect();
                    if let Some(m) = self.procs.get_mut(&id) {
                        m.proc.notify_status = Some(status);
                    }
                }
                Some(("MAINPID", pid)) => match pid.parse::<u32>() {
                    Ok(pid) => self
                        .log
                        .debug(&format!("{name}: MAINPID={pid} noted; the spawned pid stays the one supervised")),
                    Err(_) => log::warn!("{name}: ignored a bad MAINPID in a notify message"),
                },
                Some((_, _)) => {}
                None => {
                    let shown: String = line.chars().filter(|c| !c.is_control()).take(60).collect();
                    log::warn!("{name}: ignored a notify line without '=': {shown:?}");
                }
            }
        }
        if ready {
            self.ready(id, "READY=1 on NOTIFY_SOCKET");
        }
    }

    /// Output of a program with `ready_log_line`, while it is starting.
    pub(crate) fn readiness_output(&mut self, id: ProcId, data: &[u8]) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let Some(Probe::Log(pattern)) = &m.proc.config.supervision.ready else { return };
        if m.proc.state != super::process::State::Starting || m.proc.pid == 0 {
            m.ready_line.clear();
            return;
        }
        let mut matched = false;
        for &b in data {
            if b == b'\n' || m.ready_line.len() >= LINE_MAX {
                let line = String::from_utf8_lossy(&m.ready_line);
                if pattern.re.is_match(line.trim_end_matches('\r')) {
                    matched = true;
                }
                m.ready_line.clear();
                if matched {
                    break;
                }
                if b == b'\n' {
                    continue;
                }
            }
            m.ready_line.push(b);
        }
        if matched {
            let text = pattern.text.clone();
            m.ready_line.clear();
            self.ready(id, &format!("output matched ready_log_line '{text}'"));
        }
    }
}

/// The raw fd of a channel's write end for the child (kept open by the caller).
pub(crate) fn child_fd(f: &ForChild) -> Option<(i32, i32)> {
    f.fd.as_ref().map(|(w, n)| (w.as_raw_fd(), *n))
}
