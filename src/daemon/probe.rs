//! Active probes for readiness and health: a TCP connect, an HTTP GET, a command. Each
//! runs inside the loop without blocking it: a non-blocking socket watched by the
//! reactor, or a child of the daemon reaped like any other; each has a timeout on the
//! timer heap. A probe reads at most the status line of an HTTP answer, so a huge or
//! endless body costs nothing.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::Duration;

use super::process::ProbeWhat;
use super::reactor::Reactor;
use super::spawn::{self, SpawnContext};
use super::supervisor::{ProcId, Source, Supervisor, Timer};
use crate::config::supervision::Probe;

/// The bytes of an HTTP answer read before giving up on finding its status line.
const STATUS_LINE_MAX: usize = 4096;

pub(crate) struct Running {
    proc_id: ProcId,
    what: ProbeWhat,
    generation: u64,
    /// What the probe is, for messages.
    label: String,
    timeout: Duration,
    how: How,
}

enum How {
    Socket { fd: OwnedFd, key: usize, connected: bool, http: Option<Http> },
    Command { pid: u32 },
}

struct Http {
    request: Vec<u8>,
    written: usize,
    answer: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct Probes {
    running: HashMap<u64, Running>,
    next: u64,
    /// Probe commands still alive, by pid.
    pids: HashMap<u32, u64>,
}

impl Probes {
    /// Whether a reaped pid was a probe command's (including one already timed out).
    pub fn owns_pid(&self, pid: u32) -> Option<u64> {
        self.pids.get(&pid).copied()
    }
}

/// One step of a socket probe; Some(result) when it is over.
fn socket_step(p: &mut Running, reactor: &mut Reactor<Source, Timer>) -> Option<Result<String, String>> {
    let label = p.label.clone();
    let fail = |e: rustix::io::Errno| Some(Err(format!("{label}: {}", std::io::Error::from(e))));
    let How::Socket { fd, key, connected, http } = &mut p.how else { return None };
    if !*connected {
        match rustix::net::sockopt::socket_error(&*fd) {
            Ok(Ok(())) => *connected = true,
            Ok(Err(e)) | Err(e) => return fail(e),
        }
    }
    let Some(h) = http else {
        return Some(Ok(format!("{label} accepted a connection")));
    };
    if h.written < h.request.len() {
        match rustix::io::write(&*fd, &h.request[h.written..]) {
            Ok(n) => h.written += n,
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(e) => return fail(e),
        }
        if h.written == h.request.len() {
            let _ = reactor.set_interest(*key, true, false);
        }
        return None;
    }
    let mut buf = [0u8; 1024];
    let room = STATUS_LINE_MAX.saturating_sub(h.answer.len()).min(buf.len());
    let n = match rustix::io::read(&*fd, &mut buf[..room]) {
        Ok(n) => n,
        Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => return None,
        Err(e) => return fail(e),
    };
    h.answer.extend_from_slice(&buf[..n]);
    if let Some(end) = h.answer.windows(2).position(|w| w == b"\r\n") {
        return Some(match status_code(&h.answer[..end]) {
            Some(code @ 200..=399) => Ok(format!("{label} answered {code}")),
            Some(code) => Err(format!("{label} answered {code}")),
            None => Err(format!("{label} answered something that is not HTTP")),
        });
    }
    if n == 0 {
        Some(Err(format!("{label} closed the connection without an HTTP status line")))
    } else if h.answer.len() >= STATUS_LINE_MAX {
        Some(Err(format!("{label} sent {STATUS_LINE_MAX} bytes without an HTTP status line")))
    } else {
        None
    }
}

fn connect(addr: SocketAddr) -> std::io::Result<OwnedFd> {
    use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};
    let family = if addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let fd = socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)?;
    match rustix::net::connect(&fd, &addr) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(fd),
        Err(e) => Err(e.into()),
    }
}

/// `HTTP/1.1 204 No Content` -> 204.
fn status_code(line: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}

impl Supervisor {
    /// Effect::Probe: start the configured probe of that kind for the process.
    pub(crate) fn start_probe(&mut self, proc_id: ProcId, what: ProbeWhat, generation: u64) {
        let Some(m) = self.procs.get(&proc_id) else { return };
        let cfg = m.proc.config.clone();
        let sv = &cfg.supervision;
        let (probe, timeout) = match what {
            ProbeWhat::Ready => match &sv.ready {
                // A try may take as long as the pause between tries, and at least 1 s.
                Some(p) => (p.clone(), sv.ready_interval.max(Duration::from_secs(1))),
                None => return,
            },
            ProbeWhat::Health => match &sv.health {
                Some(h) => (h.probe.clone(), h.timeout),
                None => return,
            },
        };
        let label = probe.to_string();
        let how = match &probe {
            Probe::Tcp(addr) | Probe::Http { addr, .. } => {
                let http = match &probe {
                    Probe::Http { host, path, .. } => Some(Http {
                        request: format!(
                            "GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: supervisor-probe\r\nConnection: close\r\n\r\n"
                        )
                        .into_bytes(),
                        written: 0,
                        answer: Vec::new(),
                    }),
                    _ => None,
                };
                match connect(*addr) {
                    Ok(fd) => {
                        let probe_id = self.probes.next;
                        match self.reactor.add(&fd, Source::Probe(probe_id), true) {
                            Ok(key) => {
                                let _ = self.reactor.set_interest(key, false, true);
                                How::Socket { fd, key, connected: false, http }
                            }
                            Err(e) => {
                                return self.probe_result(proc_id, what, generation, Err(format!("{label}: {e}")))
                            }
                        }
                    }
                    Err(e) => return self.probe_result(proc_id, what, generation, Err(format!("{label}: {e}"))),
                }
            }
            Probe::Exec(command) => {
                let ctx = SpawnContext {
                    base_env: &self.base_env,
                    serverurl: self.cfg.serverurl.as_deref(),
                    fcgi_socket: None,
                    extra_env: Vec::new(),
                    extra_fd: None,
                };
                match spawn::spawn_probe(&cfg, command, &ctx) {
                    Ok(pid) => {
                        self.probes.pids.insert(pid, self.probes.next);
                        How::Command { pid }
                    }
                    Err(e) => return self.probe_result(proc_id, what, generation, Err(format!("{label}: {e}"))),
                }
            }
            // Waited-for kinds (fd, notify, log) never become Effect::Probe.
            _ => return,
        };
        let id = self.probes.next;
        self.probes.next += 1;
        self.probes.running.insert(id, Running { proc_id, what, generation, label, timeout, how });
        self.reactor.schedule_in(timeout, Timer::ProbeTimeout(id));
    }

    /// The probe's socket is ready: connected, writable, or has an answer.
    pub(crate) fn on_probe_io(&mut self, id: u64) {
        let Some(p) = self.probes.running.get_mut(&id) else { return };
        if let Some(result) = socket_step(p, &mut self.reactor) {
            self.finish_probe(id, result);
        }
    }

    /// A reaped pid that belonged to a probe command.
    pub(crate) fn on_probe_exit(&mut self, pid: u32, status: super::process::ExitStatus) {
        let Some(id) = self.probes.pids.remove(&pid) else { return };
        let Some(p) = self.probes.running.get(&id) else { return };
        let result = match status {
            super::process::ExitStatus::Code(0) => Ok(format!("{} exited 0", p.label)),
            other => Err(format!("{} {}", p.label, other.describe())),
        };
        self.finish_probe(id, result);
    }

    pub(crate) fn on_probe_timeout(&mut self, id: u64) {
        let Some(p) = self.probes.running.get(&id) else { return };
        if let How::Command { pid } = p.how {
            // The command and whatever it started; reaped later (the pid stays known).
            let _ = crate::sys::kill(pid, libc::SIGKILL, true);
        }
        let msg = format!("{} timed out after {} s", p.label, p.timeout.as_secs_f64());
        self.finish_probe(id, Err(msg));
    }

    fn finish_probe(&mut self, id: u64, result: Result<String, String>) {
        let Some(p) = self.probes.running.remove(&id) else { return };
        if let How::Socket { key, fd, .. } = p.how {
            self.reactor.remove(key);
            drop(fd);
        }
        self.reactor.retain_timers(|t| !matches!(t, Timer::ProbeTimeout(x) if *x == id));
        self.probe_result(p.proc_id, p.what, p.generation, result);
    }

    fn probe_result(&mut self, proc_id: ProcId, what: ProbeWhat, generation: u64, result: Result<String, String>) {
        let mut fx = Vec::new();
        if let Some(m) = self.procs.get_mut(&proc_id) {
            m.proc.probe_done(what, generation, result, &mut fx);
        }
        self.apply(proc_id, fx);
    }

    /// Drops the probes of a process that is going away (its timers too).
    pub(crate) fn forget_probes(&mut self, proc_id: ProcId) {
        let ids: Vec<u64> = self.probes.running.iter().filter(|(_, p)| p.proc_id == proc_id).map(|(i, _)| *i).collect();
        if !ids.is_empty() {
            self.reactor.retain_timers(|t| !matches!(t, Timer::ProbeTimeout(x) if ids.contains(x)));
        }
        for id in ids {
            if let Some(p) = self.probes.running.remove(&id) {
                match p.how {
                    How::Socket { key, fd, .. } => {
                        self.reactor.remove(key);
                        drop(fd);
                    }
                    How::Command { pid } => {
                        let _ = crate::sys::kill(pid, libc::SIGKILL, true);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 302"), Some(302));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(status_code(b"HTTP/1.1 abc"), None);
    }
}
