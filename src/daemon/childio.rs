//! A child's pipes: reading its stdout and stderr into logs, events and the listener
//! protocol, and writing to its stdin without blocking the loop.

use std::os::fd::{AsFd, OwnedFd};

use super::events::Kind;
use super::logfile::Splice;
use super::output::{strip_ansi, Channel};
use super::supervisor::{ProcId, Source, Supervisor, Timer};
use crate::config::LogLevel;

/// The most one splice asks for: the pipe size the fast path sets (pipe-max-size's
/// default), so one call can empty a full pipe.
pub(crate) const SPLICE_CHUNK: usize = 1 << 18;

fn log_path_text(p: &Option<std::path::PathBuf>) -> String {
    p.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
}

impl Supervisor {
    /// Reads what a child wrote: a few chunks per wake-up (so one chatty child cannot
    /// starve the others), or, when `drain` (after its exit), what the pipe held. The
    /// drain is bounded: a grandchild that inherited the pipe may write forever.
    pub(crate) fn read_child(&mut self, id: ProcId, channel: Channel, drain: bool) {
        // More than a pipe can hold unless root raised it (pipe-max-size, 1 MiB) was
        // written after the exit, and is not waited for.
        const DRAIN_BYTES: usize = 1 << 20;
        let slot = channel as usize;
        if self.bytes_unneeded(id, channel)
            && self.splice_child(id, channel, if drain { DRAIN_BYTES } else { 4 * SPLICE_CHUNK })
        {
            return;
        }
        let mut buf = std::mem::take(&mut self.read_buf);
        let mut reads = 0;
        while let Some(Some((_, fd))) = self.procs.get(&id).map(|m| &m.pipes[slot]) {
            let n = match rustix::io::read(fd, &mut buf) {
                Ok(n) => n,
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => 0,
            };
            if n == 0 {
                self.close_pipe(id, slot);
                break;
            }
            self.handle_output(id, channel, &buf[..n]);
            reads += 1;
            let limit = if drain { DRAIN_BYTES.div_ceil(buf.len()) } else { 4 };
            if reads >= limit || (!drain && n < buf.len()) {
                break;
            }
        }
        self.read_buf = buf;
    }

    /// Whether nothing in the daemon needs to see a channel's bytes: they only go to its
    /// log file. No listener protocol, no events, no capture mode, no ANSI stripping,
    /// no syslog, no copy in the main log at debug level, no readiness log line awaited.
    /// (Anything added to the output
    /// path that looks at the bytes belongs here too.)
    pub(crate) fn bytes_unneeded(&self, id: ProcId, channel: Channel) -> bool {
        let Some(m) = self.procs.get(&id) else { return false };
        let (cfg, log) = match channel {
            Channel::Stdout => (&m.proc.config.stdout, &m.stdout),
            Channel::Stderr => (&m.proc.config.stderr, &m.stderr),
        };
        let log_kind = if channel == Channel::Stdout { Kind::ProcessLogStdout } else { Kind::ProcessLogStderr };
        log.file_only()
            && !(channel == Channel::Stdout && m.listener.is_some())
            && !(cfg.events_enabled && self.bus.wants(log_kind))
            && cfg.capture_maxbytes <= 0
            && !self.cfg.supervisord.strip_ansi
            && !self.log.enabled(LogLevel::Debug)
            && !(m.proc.state == super::process::State::Starting
                && matches!(m.proc.config.supervision.ready, Some(crate::config::supervision::Probe::Log(_))))
    }

    /// The fast path of `read_child`: up to `budget` bytes moved pipe -> file by
    /// splice(2). Returns false, having moved nothing further, when the read/write path
    /// must take over (splicing unsupported there, or a write error to report).
    fn splice_child(&mut self, id: ProcId, channel: Channel, budget: usize) -> bool {
        let slot = channel as usize;
        let mut moved = 0;
        while moved < budget {
            let Some(m) = self.procs.get_mut(&id) else { return true };
            let Some((_, fd)) = &m.pipes[slot] else { return true };
            let log = match channel {
                Channel::Stdout => &mut m.stdout,
                Channel::Stderr => &mut m.stderr,
            };
            let want = SPLICE_CHUNK.min(budget - moved);
            match log.splice_from(fd.as_fd(), want) {
                Splice::Moved(n, rotated) => {
                    moved += n;
                    if log.failing {
                        self.report_write(id, channel, Ok(()));
                    }
                    // Less than asked: the pipe is empty, unless a rotation cut it short.
                    if n < want && !rotated {
                        break;
                    }
                }
                Splice::Empty => break,
                Splice::Eof => {
                    self.close_pipe(id, slot);
                    break;
                }
                Splice::Unsupported => return false,
                Splice::Failed(e) => {
                    self.report_write(id, channel, Err(e));
                    return false;
                }
            }
        }
        true
    }

    /// Writes to a child's stdin; what the pipe cannot take now is buffered and written
    /// when it becomes writable. Fails when the child closed its stdin.
    pub(crate) fn write_stdin(&mut self, id: ProcId, data: &[u8]) -> std::io::Result<()> {
        let Some(m) = self.procs.get_mut(&id) else { return Ok(()) };
        let Some(fd) = &m.stdin else { return Err(std::io::Error::from_raw_os_error(libc::EPIPE)) };
        m.stdin_buf.extend_from_slice(data);
        if let Err(e) = Self::drain_stdin(fd, &mut m.stdin_buf) {
            self.close_stdin(id);
            return Err(e);
        }
        let Some(m) = self.procs.get_mut(&id) else { return Ok(()) };
        if !m.stdin_buf.is_empty() && m.stdin_key.is_none() {
            if let Some(fd) = &m.stdin {
                m.stdin_key = self.reactor.add(fd, Source::ChildIn(id), true).ok();
                if let Some(key) = m.stdin_key {
                    let _ = self.reactor.set_interest(key, false, true);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn drain_stdin(fd: &OwnedFd, buf: &mut Vec<u8>) -> std::io::Result<()> {
        while !buf.is_empty() {
            match rustix::io::write(fd, buf) {
                Ok(n) => {
                    buf.drain(..n);
                }
                Err(rustix::io::Errno::AGAIN) => break,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    pub(crate) fn on_stdin_writable(&mut self, id: ProcId) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let Some(fd) = &m.stdin else { return };
        let failed = Self::drain_stdin(fd, &mut m.stdin_buf).is_err();
        if failed || m.stdin_buf.is_empty() {
            if let Some(key) = m.stdin_key.take() {
                self.reactor.remove(key);
            }
            if failed {
                self.close_stdin(id);
            }
        }
    }

    pub(crate) fn close_stdin(&mut self, id: ProcId) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        if let Some(key) = m.stdin_key.take() {
            self.reactor.remove(key);
        }
        m.stdin_buf.clear();
        m.stdin = None;
    }

    pub(crate) fn close_pipe(&mut self, id: ProcId, slot: usize) {
        let Some(m) = self.procs.get_mut(&id) else {
            return;
        };
        if let Some((key, fd)) = m.pipes[slot].take() {
            self.reactor.remove(key);
            drop(fd);
        }
    }

    pub(crate) fn handle_output(&mut self, id: ProcId, channel: Channel, data: &[u8]) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        if matches!(m.proc.config.supervision.ready, Some(crate::config::supervision::Probe::Log(_)))
            && m.proc.state == super::process::State::Starting
        {
            self.readiness_output(id, data);
        }
        let Some(m) = self.procs.get_mut(&id) else { return };
        // A listener's stdout is the protocol: logged as is, then parsed.
        if channel == Channel::Stdout && m.listener.is_some() {
            self.log_output(id, channel, data);
            self.listener_output(id, data);
            return;
        }
        let cfg = if channel == Channel::Stdout { &m.proc.config.stdout } else { &m.proc.config.stderr };
        let capture_max = cfg.capture_maxbytes;
        let log_kind = if channel == Channel::Stdout { Kind::ProcessLogStdout } else { Kind::ProcessLogStderr };
        let log_event = cfg.events_enabled && self.bus.wants(log_kind);
        // The usual case, no events and no capture: straight to the log.
        if !log_event && capture_max <= 0 {
            self.log_output(id, channel, data);
            return;
        }
        let config = std::rc::Rc::clone(&m.proc.config);
        let (name, group, pid) = (&config.name, &config.group, m.proc.pid);
        if log_event {
            let mut payload =
                format!("processname:{name} groupname:{group} pid:{pid} channel:{}\n", channel.name()).into_bytes();
            payload.extend_from_slice(&self.maybe_strip(data));
            self.notify(log_kind, payload);
        }
        if capture_max <= 0 {
            self.log_output(id, channel, data);
            return;
        }
        let Some(m) = self.procs.get_mut(&id) else { return };
        let (to_log, captured) =
            m.capture.get_or_insert_default()[channel as usize].feed(data, usize::try_from(capture_max).unwrap_or(0));
        self.log_output(id, channel, &to_log);
        for text in captured {
            let kind = if channel == Channel::Stdout {
                Kind::ProcessCommunicationStdout
            } else {
                Kind::ProcessCommunicationStderr
            };
            let mut payload = format!("processname:{name} groupname:{group} pid:{pid}\n").into_bytes();
            payload.extend_from_slice(&self.maybe_strip(&text));
            self.notify(kind, payload);
        }
    }

    /// A console channel's held partial line: written once it has waited long enough,
    /// else looked at again when it will have.
    pub(crate) fn on_held_line(&mut self, id: ProcId, channel: Channel) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let log = match channel {
            Channel::Stdout => &mut m.stdout,
            Channel::Stderr => &mut m.stderr,
        };
        let Some(lines) = &mut log.lines else { return };
        lines.timer_armed = false;
        match lines.deadline() {
            Some(at) if at > std::time::Instant::now() => {
                lines.timer_armed = true;
                self.reactor.schedule(at, Timer::HeldLine { id, channel });
            }
            Some(_) => {
                let _ = log.flush_held();
            }
            None => {}
        }
    }

    pub(crate) fn maybe_strip<'a>(&self, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        if self.cfg.supervisord.strip_ansi {
            strip_ansi(data)
        } else {
            std::borrow::Cow::Borrowed(data)
        }
    }

    /// Output to the log file, syslog and (at debug) the main log.
    pub(crate) fn log_output(&mut self, id: ProcId, channel: Channel, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let debug = self.log.enabled(LogLevel::Debug);
        let stripped =
            if self.cfg.supervisord.strip_ansi { strip_ansi(data) } else { std::borrow::Cow::Borrowed(data) };
        let data = &*stripped;
        let Some(m) = self.procs.get_mut(&id) else { return };
        let log = match channel {
            Channel::Stdout => &mut m.stdout,
            Channel::Stderr => &mut m.stderr,
        };
        let written = log.write(data);
        self.report_write(id, channel, written);
        let Some(m) = self.procs.get_mut(&id) else { return };
        let log = match channel {
            Channel::Stdout => &mut m.stdout,
            Channel::Stderr => &mut m.stderr,
        };
        if let Some(lines) = log.lines.as_mut().filter(|l| !l.timer_armed) {
            if let Some(at) = lines.deadline() {
                lines.timer_armed = true;
                self.reactor.schedule(at, Timer::HeldLine { id, channel });
            }
        }
        if log.syslog {
            if let Some(s) = &mut self.syslog {
                let text = String::from_utf8_lossy(data);
                for line in text.trim_end_matches('\n').split('\n') {
                    s.send(&format!("{} {line}", m.proc.config.name));
                }
            }
        }
        if debug {
            let name = crate::config::ini::py_repr(&m.proc.config.name);
            log::debug!("{name} {} output:\n{}", channel.name(), super::output::mainlog_text(data));
        }
    }

    /// Reports a log write that failed, once until writing works again, and then that
    /// it works again.
    fn report_write(&mut self, id: ProcId, channel: Channel, result: std::io::Result<()>) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let log = match channel {
            Channel::Stdout => &mut m.stdout,
            Channel::Stderr => &mut m.stderr,
        };
        match result {
            Err(e) if !log.failing => {
                log.failing = true;
                let msg = format!(
                    "could not write the {} log of {} ({}): {e}; output is lost until writing works again",
                    channel.name(),
                    m.proc.config.name,
                    log_path_text(&log.path)
                );
                log::error!("{msg}");
            }
            Ok(()) if log.failing => {
                log.failing = false;
                let path = log_path_text(&log.path);
                let msg = format!("writing the {} log of {} ({path}) again", channel.name(), m.proc.config.name);
                log::info!("{msg}");
            }
            _ => {}
        }
    }
}
