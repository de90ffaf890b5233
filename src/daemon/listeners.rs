//! Event delivery inside the daemon: notify pools, dispatch buffered events to READY
//! listeners, read their answers, redeliver what fails, and TICK timers (armed only
//! while some pool subscribes to them, so an idle daemon without tick listeners never
//! wakes).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::events::{envelope, Event, Kind, Listener, ListenerState, Pool, Pooled, Signal};
use super::process::State;
use super::supervisor::{ProcId, Supervisor, Timer};
use crate::config::ResultHandler;

pub const TICK_PERIODS: [u64; 3] = [5, 60, 3600];

#[derive(Default)]
pub struct Bus {
    pub pools: Vec<Pool>,
    next_serial: u64,
    ticks_armed: Vec<u64>,
}

impl Bus {
    /// Whether any pool subscribes to `kind`: callers skip building a payload
    /// nobody would receive.
    pub fn wants(&self, kind: Kind) -> bool {
        self.pools.iter().any(|p| p.wants(kind))
    }
}

impl Supervisor {
    /// Offers an event to every pool subscribed to its type.
    pub(crate) fn notify(&mut self, kind: Kind, payload: Vec<u8>) {
        if !self.bus.wants(kind) {
            return;
        }
        let serial = self.bus.next_serial;
        self.bus.next_serial = self.bus.next_serial.wrapping_add(1);
        let event = Event { kind, payload, serial: Some(serial) };
        let mut overflows = Vec::new();
        for pool in self.bus.pools.iter_mut().filter(|p| p.wants(kind)) {
            if let Some(dropped) = pool.accept(event.clone(), false, None) {
                overflows.push(format!("pool {} event buffer overflowed, discarding event {dropped}", pool.name));
            }
        }
        for msg in overflows {
            log::error!("{msg}");
        }
    }

    /// A failed delivery goes back to the head of its pool's buffer.
    fn rebuffer(&mut self, pool: &str, item: Pooled) {
        let Some(p) = self.bus.pools.iter_mut().find(|p| p.name == pool) else { return };
        log::debug!(
            "rebuffering event {} for pool {pool} (buf size={}, max={})",
            item.event.serial.unwrap_or(0),
            p.buffer.len(),
            p.buffer_size
        );
        let dropped = p.accept(item.event, true, Some(item.pool_serial));
        if let Some(d) = dropped {
            log::error!("pool {pool} event buffer overflowed, discarding event {d}");
        }
    }

    /// Sends buffered events, oldest first, to RUNNING listeners in READY state.
    pub(crate) fn dispatch_events(&mut self) {
        for pi in 0..self.bus.pools.len() {
            loop {
                let pool_name = self.bus.pools[pi].name.clone();
                if self.bus.pools[pi].buffer.is_empty() {
                    break;
                }
                let members: Vec<ProcId> =
                    self.groups.iter().filter(|g| g.config.name == pool_name).flat_map(|g| g.members.clone()).collect();
                let ready = members.into_iter().find(|id| {
                    self.procs.get(id).is_some_and(|m| {
                        m.proc.state == State::Running
                            && m.listener.as_ref().is_some_and(|l| l.state == ListenerState::Ready)
                    })
                });
                let Some(id) = ready else { break };
                let Some(item) = self.bus.pools[pi].buffer.pop_front() else { break };
                let chars = self.bus.pools[pi].len_in_characters;
                let bytes = envelope(&self.cfg.supervisord.identifier, &pool_name, &item, chars);
                let name = self.procs.get(&id).map(|m| m.proc.config.name.clone()).unwrap_or_default();
                if self.write_stdin(id, &bytes).is_err() {
                    log::debug!(
                        "epipe occurred while sending event {} to listener {name}, listener state unchanged",
                        item.event.serial.unwrap_or(0)
                    );
                    if let Some(p) = self.bus.pools.get_mut(pi) {
                        p.accept(item.event, true, Some(item.pool_serial));
                    }
                    break;
                }
                log::debug!("event {} sent to listener {name}", item.event.serial.unwrap_or(0));
                if let Some(l) = self.procs.get_mut(&id).and_then(|m| m.listener.as_mut()) {
                    l.state = ListenerState::Busy;
                    l.event = Some(item);
                }
            }
        }
    }

    /// A listener wrote to stdout: run the protocol.
    pub(crate) fn listener_output(&mut self, id: ProcId, data: &[u8]) {
        let mut signals = Vec::new();
        let Some(m) = self.procs.get_mut(&id) else { return };
        let name = m.proc.config.name.clone();
        let pool = m.proc.config.group.clone();
        let Some(l) = m.listener.as_mut() else { return };
        let in_flight = l.event.clone();
        l.feed(data, &mut signals);
        if signals.iter().any(|s| matches!(s, Signal::Result { .. } | Signal::BadResultLine(_))) {
            l.event = None;
        }
        if signals.iter().any(|s| matches!(s, Signal::StateChanged(_, ListenerState::Unknown))) {
            l.event = None;
        }
        for s in signals {
            match s {
                Signal::StateChanged(from, to) => {
                    log::debug!("{name}: {} -> {}", from.name(), to.name());
                    if to == ListenerState::Unknown {
                        log::warn!("{name}: has entered the UNKNOWN state and will no longer receive events, this usually indicates the process violated the eventlistener protocol");
                    }
                }
                Signal::Result { accepted, body } => match self.handle_result(&pool, accepted, &body) {
                    Ok(true) => log::debug!("{name}: event was processed"),
                    Ok(false) => {
                        log::warn!("{name}: event was rejected");
                        if let Some(item) = in_flight.clone() {
                            self.rebuffer(&pool, item);
                        }
                    }
                    Err(()) => {
                        // As the reference treats a handler that raised.
                        log::warn!("{name}: event caused an error");
                        if let Some(l) = self.procs.get_mut(&id).and_then(|m| m.listener.as_mut()) {
                            let from = l.state;
                            l.state = ListenerState::Unknown;
                            l.event = None;
                            log::debug!("{name}: {} -> {}", from.name(), ListenerState::Unknown.name());
                        }
                        if let Some(item) = in_flight.clone() {
                            self.rebuffer(&pool, item);
                        }
                    }
                },
                Signal::BadResultLine(line) => {
                    log::warn!("{name}: bad result line: '{line}'");
                    if let Some(item) = in_flight.clone() {
                        self.rebuffer(&pool, item);
                    }
                }
            }
        }
    }

    /// Runs the pool's result handler: Ok(accepted), or Err when the handler fails.
    fn handle_result(&self, pool: &str, accepted: bool, body: &[u8]) -> Result<bool, ()> {
        let handler = self.groups.iter().find(|g| g.config.name == pool).and_then(|g| match &g.config.kind {
            crate::config::GroupKind::EventListenerPool(p) => Some(p.result_handler),
            _ => None,
        });
        match handler.unwrap_or(ResultHandler::Default) {
            ResultHandler::Default => Ok(accepted),
            ResultHandler::Stdout => {
                let text = relay_lines(body).ok_or(())?;
                use std::io::Write;
                // Where supervisor-stdout's print goes: our stdout (/dev/null once daemonized).
                let _ = std::io::stdout().write_all(&text);
                Ok(true)
            }
        }
    }

    /// A listener process is gone (or respawned): its in-flight event is redelivered
    /// and its protocol state starts over.
    pub(crate) fn listener_reset(&mut self, id: ProcId) {
        let Some(m) = self.procs.get_mut(&id) else { return };
        let pool = m.proc.config.group.clone();
        let Some(l) = m.listener.as_mut() else { return };
        let in_flight = l.event.take();
        **l = Listener::default();
        if let Some(item) = in_flight {
            self.rebuffer(&pool, item);
        }
    }

    /// Arms the TICK timers some pool needs and that are not armed yet.
    pub(crate) fn arm_ticks(&mut self) {
        for period in TICK_PERIODS {
            if self.bus.ticks_armed.contains(&period) || !self.bus.pools.iter().any(|p| p.wants(Kind::Tick(period))) {
                continue;
            }
            self.bus.ticks_armed.push(period);
            self.reactor.schedule_in(until_next_slice(period), Timer::Tick(period));
        }
    }

    pub(crate) fn on_tick(&mut self, period: u64) {
        self.bus.ticks_armed.retain(|p| *p != period);
        let now = super::wall_now().max(0) as u64;
        let slice = now - now % period;
        self.notify(Kind::Tick(period), format!("when:{slice}").into_bytes());
        self.arm_ticks();
    }

    pub(crate) fn add_pool(&mut self, name: &str, config: &crate::config::ListenerPoolConfig) {
        self.bus.pools.retain(|p| p.name != name);
        let mut pool = Pool::new(name, config.events.clone(), config.buffer_size);
        pool.len_in_characters = config.len_in_characters;
        self.bus.pools.push(pool);
        self.arm_ticks();
    }

    pub(crate) fn remove_pool(&mut self, name: &str) {
        self.bus.pools.retain(|p| p.name != name);
    }

    /// PROCESS_STATE_* for a state change.
    /// PROCESS_HEALTH_UNHEALTHY / _HEALTHY, with the probe's last word.
    pub(crate) fn notify_health(&mut self, id: ProcId, healthy: bool, detail: &str) {
        let Some(m) = self.procs.get(&id) else { return };
        let detail: String = detail.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let payload = format!(
            "processname:{} groupname:{} pid:{}\n{detail}",
            m.proc.config.name, m.proc.config.group, m.proc.pid
        );
        self.notify(Kind::Health(healthy), payload.into_bytes());
    }

    pub(crate) fn notify_state(&mut self, id: ProcId, from: State, to: State, expected: bool, pid: u32, tries: i64) {
        let Some(m) = self.procs.get(&id) else { return };
        let payload = super::events::process_state_payload(
            &m.proc.config.name,
            &m.proc.config.group,
            from,
            to,
            expected,
            pid,
            tries,
        );
        log::trace!("{} -> {}", m.proc.config.name, to.name());
        self.notify(Kind::ProcessState(to), payload);
    }
}

/// Time until the next multiple of `period` seconds of wall-clock time.
fn until_next_slice(period: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let next = (now.as_secs() / period + 1) * period;
    Duration::from_secs(next).saturating_sub(now) + Duration::from_millis(1)
}

/// supervisor-stdout's relay: a PROCESS_LOG payload (`processname:x ... channel:y`,
/// newline, the output) becomes `x y | line` for each of its lines. None when the
/// header lacks those fields, where the plugin raises.
fn relay_lines(body: &[u8]) -> Option<Vec<u8>> {
    let nl = body.iter().position(|&b| b == b'\n')?;
    let (header, data) = (String::from_utf8_lossy(&body[..nl]), &body[nl + 1..]);
    let field = |k: &str| header.split_whitespace().find_map(|t| t.strip_prefix(k)?.strip_prefix(':'));
    let prefix = format!("{} {} | ", field("processname")?, field("channel")?);
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    let mut out = Vec::with_capacity(data.len() + 64);
    for line in data.split(|&b| b == b'\n') {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn relays_every_line_behind_name_and_channel() {
        let body = b"processname:web groupname:web pid:7 channel:stderr\nfirst\nsecond\n";
        assert_eq!(super::relay_lines(body).unwrap(), b"web stderr | first\nweb stderr | second\n");
        assert!(super::relay_lines(b"OK").is_none());
        assert!(super::relay_lines(b"groupname:web\nx").is_none());
    }
}
