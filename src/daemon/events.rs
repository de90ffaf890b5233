//! Events and event listener pools: event types and their hierarchy, payloads, pool
//! buffers with serials, the envelope written to a listener, and the READY/RESULT
//! protocol read from it.
//!
//! The header's `len` counts payload characters by default, as Supervisor 4.3.0 does and
//! its `supervisor.childutils` listeners read, so stock listeners never wait for a
//! payload that is shorter than announced. A pool with `len_unit=bytes` gets byte counts
//! instead, as the protocol documents and listeners reading binary input need (the
//! reference's issue #1243). They agree for ASCII payloads.

use std::collections::VecDeque;

use super::process::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ProcessState(State),
    RemoteCommunication,
    ProcessLogStdout,
    ProcessLogStderr,
    ProcessCommunicationStdout,
    ProcessCommunicationStderr,
    SupervisorRunning,
    SupervisorStopping,
    Tick(u64),
    GroupAdded,
    GroupRemoved,
    /// Our addition: a health check verdict changed. Only listeners that name
    /// PROCESS_HEALTH or one of its types get it (not those of EVENT).
    Health(bool),
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::ProcessState(s) => match s {
                State::Stopped => "PROCESS_STATE_STOPPED",
                State::Starting => "PROCESS_STATE_STARTING",
                State::Running => "PROCESS_STATE_RUNNING",
                State::Backoff => "PROCESS_STATE_BACKOFF",
                State::Stopping => "PROCESS_STATE_STOPPING",
                State::Exited => "PROCESS_STATE_EXITED",
                State::Fatal => "PROCESS_STATE_FATAL",
                State::Unknown => "PROCESS_STATE_UNKNOWN",
            },
            Kind::RemoteCommunication => "REMOTE_COMMUNICATION",
            Kind::ProcessLogStdout => "PROCESS_LOG_STDOUT",
            Kind::ProcessLogStderr => "PROCESS_LOG_STDERR",
            Kind::ProcessCommunicationStdout => "PROCESS_COMMUNICATION_STDOUT",
            Kind::ProcessCommunicationStderr => "PROCESS_COMMUNICATION_STDERR",
            Kind::SupervisorRunning => "SUPERVISOR_STATE_CHANGE_RUNNING",
            Kind::SupervisorStopping => "SUPERVISOR_STATE_CHANGE_STOPPING",
            Kind::Tick(5) => "TICK_5",
            Kind::Tick(60) => "TICK_60",
            Kind::Tick(_) => "TICK_3600",
            Kind::GroupAdded => "PROCESS_GROUP_ADDED",
            Kind::GroupRemoved => "PROCESS_GROUP_REMOVED",
            Kind::Health(false) => "PROCESS_HEALTH_UNHEALTHY",
            Kind::Health(true) => "PROCESS_HEALTH_HEALTHY",
        }
    }

    /// The abstract type above this one (all are under EVENT).
    fn parent(self) -> Option<&'static str> {
        Some(match self {
            Kind::ProcessState(_) => "PROCESS_STATE",
            Kind::ProcessLogStdout | Kind::ProcessLogStderr => "PROCESS_LOG",
            Kind::ProcessCommunicationStdout | Kind::ProcessCommunicationStderr => "PROCESS_COMMUNICATION",
            Kind::SupervisorRunning | Kind::SupervisorStopping => "SUPERVISOR_STATE_CHANGE",
            Kind::Tick(_) => "TICK",
            Kind::GroupAdded | Kind::GroupRemoved => "PROCESS_GROUP",
            Kind::Health(_) => "PROCESS_HEALTH",
            Kind::RemoteCommunication => return None,
        })
    }

    /// Whether a subscription to `name` (concrete or abstract) covers this kind.
    pub fn matches(self, name: &str) -> bool {
        if matches!(self, Kind::Health(_)) {
            // A Python listener subscribed to EVENT knows only the reference's types.
            return name == self.name() || self.parent() == Some(name);
        }
        name == "EVENT" || name == self.name() || self.parent() == Some(name)
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: Kind,
    pub payload: Vec<u8>,
    /// Global serial, given when the first pool accepts the event.
    pub serial: Option<u64>,
}

/// One buffered event with its serial in this pool.
#[derive(Debug, Clone)]
pub struct Pooled {
    pub event: Event,
    pub pool_serial: u64,
}

#[derive(Debug)]
pub struct Pool {
    pub name: String,
    pub len_in_characters: bool,
    pub subscriptions: Vec<String>,
    pub buffer: VecDeque<Pooled>,
    pub buffer_size: usize,
    next_serial: u64,
}

impl Pool {
    pub fn new(name: &str, subscriptions: Vec<String>, buffer_size: i64) -> Pool {
        Pool {
            name: name.to_string(),
            len_in_characters: true,
            subscriptions,
            buffer: VecDeque::new(),
            buffer_size: usize::try_from(buffer_size).unwrap_or(1).max(1),
            next_serial: 0,
        }
    }

    pub fn wants(&self, kind: Kind) -> bool {
        self.subscriptions.iter().any(|s| kind.matches(s))
    }

    /// Buffers an event; when full, the oldest is dropped and its serial returned.
    pub fn accept(&mut self, event: Event, head: bool, pool_serial: Option<u64>) -> Option<u64> {
        let pool_serial = pool_serial.unwrap_or_else(|| {
            let s = self.next_serial;
            self.next_serial = self.next_serial.wrapping_add(1);
            s
        });
        let dropped = if self.buffer.len() >= self.buffer_size {
            self.buffer.pop_front().and_then(|p| p.event.serial)
        } else {
            None
        };
        let item = Pooled { event, pool_serial };
        if head {
            self.buffer.push_front(item);
        } else {
            self.buffer.push_back(item);
        }
        dropped
    }
}

/// The header line and payload written to a listener's stdin.
pub fn envelope(identifier: &str, pool: &str, item: &Pooled, len_in_characters: bool) -> Vec<u8> {
    let len = if len_in_characters {
        String::from_utf8_lossy(&item.event.payload).chars().count()
    } else {
        item.event.payload.len()
    };
    let mut out = format!(
        "ver:3.0 server:{identifier} serial:{} pool:{pool} poolserial:{} eventname:{} len:{len}\n",
        item.event.serial.unwrap_or(0),
        item.pool_serial,
        item.event.kind.name(),
    )
    .into_bytes();
    out.extend_from_slice(&item.event.payload);
    out
}

/// `processname:x groupname:g from_state:S` plus the state's extra fields.
pub fn process_state_payload(
    name: &str,
    group: &str,
    from: State,
    to: State,
    expected: bool,
    pid: u32,
    tries: i64,
) -> Vec<u8> {
    let mut s = format!("processname:{name} groupname:{group} from_state:{}", from.name());
    match to {
        State::Starting | State::Backoff => s.push_str(&format!(" tries:{tries}")),
        State::Exited => s.push_str(&format!(" expected:{} pid:{pid}", i32::from(expected))),
        State::Running | State::Stopping | State::Stopped => s.push_str(&format!(" pid:{pid}")),
        State::Fatal | State::Unknown => {}
    }
    s.into_bytes()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    Acknowledged,
    Ready,
    Busy,
    Unknown,
}

impl ListenerState {
    pub fn name(self) -> &'static str {
        match self {
            ListenerState::Acknowledged => "ACKNOWLEDGED",
            ListenerState::Ready => "READY",
            ListenerState::Busy => "BUSY",
            ListenerState::Unknown => "UNKNOWN",
        }
    }
}

/// What the protocol reader saw that the daemon must act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Signal {
    StateChanged(ListenerState, ListenerState),
    /// The listener answered its event: accepted (`OK`) or rejected (anything else).
    Result {
        accepted: bool,
        /// The result body, for a result handler that reads it.
        body: Vec<u8>,
    },
    /// A malformed RESULT line: the event goes back to the pool.
    BadResultLine(String),
}

/// A listener's side of the protocol, fed with what it writes to stdout.
#[derive(Debug)]
pub struct Listener {
    pub state: ListenerState,
    /// The event it is working on (BUSY), for redelivery if it fails.
    pub event: Option<Pooled>,
    buffer: Vec<u8>,
    result: Vec<u8>,
    result_len: Option<usize>,
}

const READY: &[u8] = b"READY\n";
const RESULT: &[u8] = b"RESULT ";

impl Default for Listener {
    fn default() -> Self {
        Listener {
            state: ListenerState::Acknowledged,
            event: None,
            buffer: Vec::new(),
            result: Vec::new(),
            result_len: None,
        }
    }
}

impl Listener {
    fn change(&mut self, to: ListenerState, out: &mut Vec<Signal>) {
        let from = self.state;
        self.state = to;
        out.push(Signal::StateChanged(from, to));
    }

    /// Consumes protocol output, in any chunking.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Signal>) {
        self.buffer.extend_from_slice(data);
        loop {
            if self.buffer.is_empty() {
                return;
            }
            match self.state {
                ListenerState::Unknown => {
                    self.buffer.clear();
                    return;
                }
                ListenerState::Acknowledged => {
                    if self.buffer.len() < READY.len() {
                        return;
                    }
                    if self.buffer.starts_with(READY) {
                        self.buffer.drain(..READY.len());
                        self.event = None;
                        self.change(ListenerState::Ready, out);
                    } else {
                        self.buffer.clear();
                        self.event = None;
                        self.change(ListenerState::Unknown, out);
                        return;
                    }
                }
                ListenerState::Ready => {
                    // Anything written while READY is a protocol violation.
                    self.buffer.clear();
                    self.event = None;
                    self.change(ListenerState::Unknown, out);
                    return;
                }
                ListenerState::Busy => match self.result_len {
                    None => {
                        let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') else { return };
                        let line: Vec<u8> = self.buffer.drain(..=pos).collect();
                        let line = &line[..line.len() - 1];
                        let len = line
                            .strip_prefix(RESULT)
                            .and_then(|n| std::str::from_utf8(n).ok())
                            .and_then(|n| n.trim().parse::<usize>().ok());
                        match len {
                            Some(n) => self.result_len = Some(n),
                            None => {
                                let shown = String::from_utf8_lossy(line).into_owned();
                                self.buffer.clear();
                                self.change(ListenerState::Unknown, out);
                                out.push(Signal::BadResultLine(shown));
                                return;
                            }
                        }
                    }
                    Some(n) => {
                        let need = n - self.result.len();
                        let take = need.min(self.buffer.len());
                        self.result.extend(self.buffer.drain(..take));
                        if self.result.len() < n {
                            return;
                        }
                        let accepted = self.result == b"OK";
                        let body = std::mem::take(&mut self.result);
                        self.result_len = None;
                        out.push(Signal::Result { accepted, body });
                        self.change(ListenerState::Acknowledged, out);
                    }
                },
            }
        }
    }
}

/// Capture mode (`stdout_capture_maxbytes`): text between the tokens goes to an event,
/// not the log. Only bytes that may start a token are held back between reads.
#[derive(Debug, Default)]
pub struct Capture {
    capturing: bool,
    held: Vec<u8>,
    captured: Vec<u8>,
}

pub const BEGIN_TOKEN: &[u8] = b"<!--XSUPERVISOR:BEGIN-->";
pub const END_TOKEN: &[u8] = b"<!--XSUPERVISOR:END-->";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest suffix of `data` that is a proper prefix of `token`.
fn partial_suffix(data: &[u8], token: &[u8]) -> usize {
    (1..token.len().min(data.len() + 1)).rev().find(|&k| data.ends_with(&token[..k])).unwrap_or(0)
}

impl Capture {
    /// Splits new output into what goes to the log and any completed captures.
    pub fn feed(&mut self, data: &[u8], maxbytes: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut input = std::mem::take(&mut self.held);
        input.extend_from_slice(data);
        let mut to_log = Vec::new();
        let mut done = Vec::new();
        let mut rest: &[u8] = &input;
        loop {
            let token = if self.capturing { END_TOKEN } else { BEGIN_TOKEN };
            match find(rest, token) {
                Some(i) => {
                    if self.capturing {
                        self.push_captured(&rest[..i], maxbytes);
                        done.push(std::mem::take(&mut self.captured));
                    } else {
                        to_log.extend_from_slice(&rest[..i]);
                    }
                    self.capturing = !self.capturing;
                    rest = &rest[i + token.len()..];
                }
                None => {
                    let keep = partial_suffix(rest, token);
                    let (now, later) = rest.split_at(rest.len() - keep);
                    if self.capturing {
                        self.push_captured(now, maxbytes);
                    } else {
                        to_log.extend_from_slice(now);
                    }
                    self.held = later.to_vec();
                    break;
                }
            }
        }
        (to_log, done)
    }

    /// Appends to the capture; when over the limit the oldest bytes go.
    fn push_captured(&mut self, data: &[u8], maxbytes: usize) {
        self.captured.extend_from_slice(data);
        if self.captured.len() > maxbytes {
            let excess = self.captured.len() - maxbytes;
            self.captured.drain(..excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy() {
        let k = Kind::ProcessState(State::Running);
        assert!(k.matches("EVENT") && k.matches("PROCESS_STATE") && k.matches("PROCESS_STATE_RUNNING"));
        assert!(!k.matches("PROCESS_STATE_EXITED") && !k.matches("TICK"));
        assert!(
            Kind::Tick(60).matches("TICK") && Kind::Tick(60).matches("TICK_60") && !Kind::Tick(5).matches("TICK_60")
        );
        assert!(Kind::RemoteCommunication.matches("EVENT"));
        assert_eq!(Kind::GroupAdded.name(), "PROCESS_GROUP_ADDED");
    }

    #[test]
    fn payloads_and_envelopes() {
        let p = process_state_payload("cat", "cat", State::Stopped, State::Starting, true, 0, 0);
        assert_eq!(p, b"processname:cat groupname:cat from_state:STOPPED tries:0");
        let p = process_state_payload("x", "g", State::Running, State::Exited, true, 42, 0);
        assert_eq!(p, b"processname:x groupname:g from_state:RUNNING expected:1 pid:42");
        let item = Pooled {
            event: Event { kind: Kind::ProcessState(State::Running), payload: "é".into(), serial: Some(7) },
            pool_serial: 3,
        };
        assert_eq!(
            envelope("supervisor", "mypool", &item, false),
            "ver:3.0 server:supervisor serial:7 pool:mypool poolserial:3 eventname:PROCESS_STATE_RUNNING len:2\né"
                .as_bytes()
        );
        let chars = envelope("s", "p", &item, true);
        assert!(
            chars.starts_with(b"ver:3.0 server:s serial:7 pool:p poolserial:3 eventname:PROCESS_STATE_RUNNING len:1\n")
        );
    }

    #[test]
    fn buffer_drops_the_oldest() {
        let mut pool = Pool::new("p", vec!["EVENT".into()], 2);
        let ev = |n| Event { kind: Kind::Tick(5), payload: vec![], serial: Some(n) };
        assert_eq!(pool.accept(ev(0), false, None), None);
        assert_eq!(pool.accept(ev(1), false, None), None);
        assert_eq!(pool.accept(ev(2), false, None), Some(0));
        assert_eq!(pool.buffer.iter().map(|p| p.pool_serial).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn protocol_in_any_chunking() {
        let mut l = Listener::default();
        let mut out = Vec::new();
        l.feed(b"REA", &mut out);
        assert!(out.is_empty());
        l.feed(b"DY\n", &mut out);
        assert_eq!(l.state, ListenerState::Ready);
        l.state = ListenerState::Busy;
        out.clear();
        l.feed(b"RESULT 2\nOKREADY\n", &mut out);
        assert_eq!(
            out,
            vec![
                Signal::Result { accepted: true, body: b"OK".to_vec() },
                Signal::StateChanged(ListenerState::Busy, ListenerState::Acknowledged),
                Signal::StateChanged(ListenerState::Acknowledged, ListenerState::Ready)
            ]
        );
        l.state = ListenerState::Busy;
        out.clear();
        l.feed(b"RESULT 4\nFA", &mut out);
        l.feed(b"IL", &mut out);
        assert!(matches!(out[0], Signal::Result { accepted: false, .. }));
    }

    #[test]
    fn protocol_violations_give_unknown() {
        let mut l = Listener::default();
        let mut out = Vec::new();
        l.feed(b"HELLO!\n", &mut out);
        assert_eq!(l.state, ListenerState::Unknown);
        let mut l = Listener::default();
        l.feed(b"READY\nextra", &mut out);
        assert_eq!(l.state, ListenerState::Unknown);
        let mut l = Listener { state: ListenerState::Busy, ..Default::default() };
        out.clear();
        l.feed(b"RESULT x\n", &mut out);
        assert_eq!(l.state, ListenerState::Unknown);
        assert_eq!(out.last(), Some(&Signal::BadResultLine("RESULT x".into())));
    }

    #[test]
    fn capture_mode() {
        let mut c = Capture::default();
        let (log, done) = c.feed(b"before<!--XSUPERVISOR:BEGIN-->hello<!--XSUPER", 100);
        assert_eq!(log, b"before");
        assert!(done.is_empty());
        let (log, done) = c.feed(b"VISOR:END-->after\n", 100);
        assert_eq!(log, b"after\n");
        assert_eq!(done, vec![b"hello".to_vec()]);
        let (log, _) = c.feed(b"short<!", 100);
        assert_eq!(log, b"short");
        let (log, _) = c.feed(b"x\n", 100);
        assert_eq!(log, b"<!x\n");
        let mut c = Capture::default();
        let (_, done) = c.feed(b"<!--XSUPERVISOR:BEGIN-->0123456789<!--XSUPERVISOR:END-->", 4);
        assert_eq!(done, vec![b"6789".to_vec()]);
    }
}
