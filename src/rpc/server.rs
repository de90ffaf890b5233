//! The HTTP servers inside the daemon's loop: listening sockets, non-blocking
//! connections (one state machine each), routing to XML-RPC, /logtail streams and the
//! small pages, with limits so that no client can hold the daemon.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::api::{self, Outcome, Pending};
use super::budget::{Admit, Budget};
use super::http::{self, Parsed, Request};
use super::tail::Tail;
use super::xmlrpc;
use crate::config::{HttpServerConfig, Listen};
use crate::daemon::{crit, log_at};
use crate::daemon::{Source, Supervisor, Timer, TimerId};

/// A request (headers and body) must arrive within this time of the connection, or of
/// its first byte on a kept-alive connection: a peer that connects and sends nothing,
/// or only part of a request, is gone after this, before it ever authenticates.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A keep-alive connection idle between complete requests is closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A client that takes none of its pending output for this long is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Stop reading from a client whose unread responses exceed this.
const MAX_PENDING_OUTPUT: usize = 8 * 1024 * 1024;

pub enum Sock {
    Unix(UnixListener),
    Tcp(TcpListener),
}

pub struct Listener {
    pub sock: Sock,
    pub config: HttpServerConfig,
    /// The socket file to remove at exit (unix servers).
    pub unix_path: Option<PathBuf>,
    /// Its key in the loop once registered.
    key: Option<usize>,
    budget: Budget,
}

impl Listener {
    /// How the budget report names this server.
    fn describe(&self) -> String {
        match &self.config.listen {
            Listen::Unix { file, .. } => format!("[{}] {}", self.config.section, file.display()),
            Listen::Inet { host, port } => format!("[{}] {host}:{port}", self.config.section),
        }
    }
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn raw(&self) -> std::os::fd::RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }
}

pub enum ConnState {
    Reading,
    /// A parked call; `version`/`keep_alive` shape its response.
    Waiting {
        pending: Pending,
        version: u8,
        keep_alive: bool,
        /// A web UI action, which answers with a page rather than XML.
        web: Option<Box<super::web::Finish>>,
    },
    Tailing(Tail),
    /// The response is queued; close once it is written.
    Closing,
}

pub struct Conn {
    stream: Stream,
    key: usize,
    listener: usize,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    pub state: ConnState,
    /// The armed deadline; cancelled when replaced or when the connection closes, so a
    /// closed connection leaves nothing in the loop's timer heap.
    deadline: Option<TimerId>,
    /// The next look at a tailed file.
    tail_timer: Option<TimerId>,
    /// What the loop watches the socket for: (readable, writable).
    interest: (bool, bool),
    /// A request is due: the connection is new, or part of a request has arrived.
    request_started: bool,
    /// Since when the connection has had nothing to do (orders budget evictions).
    idle_since: Instant,
}

#[derive(Default)]
pub struct Http {
    pub listeners: Vec<Listener>,
    pub conns: HashMap<u64, Conn>,
    next_id: u64,
    pub web: super::web::WebState,
}

/// Why the servers could not be opened, in the reference's words where it has them;
/// `what` names the socket or port (`[unix_http_server] file=/run/supervisor.sock`).
pub fn open_error(e: &io::Error, what: &str) -> String {
    if e.kind() == io::ErrorKind::AddrInUse {
        format!(
            "Another program is already listening on a port that one of our HTTP servers is configured to use \
             ({what}).  Shut this program down first before starting supervisord."
        )
    } else {
        let code = e.raw_os_error().unwrap_or(0);
        // The reference's words, then which server: they alone do not say.
        format!(
            "Cannot open an HTTP server: socket.error reported errno.{} ({code}) ({what})",
            crate::sys::errno_name(code)
        )
    }
}

/// Binds a unix socket the reference's way: bind a temporary name, chmod, hard-link it
/// into place (atomic), and treat an existing socket that answers as "in use" and one
/// that does not as stale (removed, with a note on stderr).
fn bind_unix(path: &Path, chmod: u32, chown: (Option<u32>, Option<u32>), what: &str) -> Result<UnixListener, String> {
    // A socket that answers belongs to a running daemon: refuse before making even
    // the temporary name next to it.
    if socket_answers(path) {
        return Err(open_error(&io::Error::from(io::ErrorKind::AddrInUse), what));
    }
    let temp = PathBuf::from(format!("{}.{}", path.display(), std::process::id()));
    let mut last_error = None;
    for _ in 0..10 {
        let _ = std::fs::remove_file(&temp);
        let listener = UnixListener::bind(&temp).map_err(|e| open_error(&e, what))?;
        let _ = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(chmod));
        let linked = std::fs::hard_link(&temp, path);
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {
                if chown != (None, None) {
                    let uid = chown.0.map(rustix::process::Uid::from_raw);
                    let gid = chown.1.map(rustix::process::Gid::from_raw);
                    if let Err(e) = rustix::fs::chown(path, uid, gid) {
                        let _ = std::fs::remove_file(path);
                        // As the reference words it, the pair shown as a Python tuple.
                        let id = |n: Option<u32>| n.map_or("-1".to_string(), |n| n.to_string());
                        return Err(format!(
                            "Not permitted to chown {} to uid/gid ({}, {}); adjust \"sockchown\" value in config file: {e}",
                            path.display(),
                            id(chown.0),
                            id(chown.1)
                        ));
                    }
                }
                listener.set_nonblocking(true).map_err(|e| open_error(&e, what))?;
                return Ok(listener);
            }
            Err(e) => {
                last_error = Some(e);
                if socket_answers(path) {
                    return Err(open_error(&io::Error::from(io::ErrorKind::AddrInUse), what));
                }
                eprintln!("Unlinking stale socket {}", path.display());
                let _ = std::fs::remove_file(path);
            }
        }
    }
    let why = last_error.map(|e| format!(": {e}")).unwrap_or_default();
    Err(format!("could not create the socket {} after 10 attempts{why}", path.display()))
}

fn socket_answers(path: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(path) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

fn bind_inet(host: &str, port: u16, what: &str) -> Result<TcpListener, String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("Cannot resolve {host}: {e}; set an explicit IP address in [inet_http_server] port"))?
        .collect();
    let mut last = None;
    for a in addrs {
        match TcpListener::bind(a) {
            Ok(l) => {
                l.set_nonblocking(true).map_err(|e| open_error(&e, what))?;
                return Ok(l);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(open_error(&last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable)), what))
}

/// A line for the main log: (critical?, text).
pub type Note = (bool, String);

/// Opens every configured server; the messages are for the main log.
pub fn open(configs: &[HttpServerConfig]) -> Result<(Vec<Listener>, Vec<Note>), String> {
    let mut listeners = Vec::new();
    let mut notes = Vec::new();
    for c in configs {
        let opened = match &c.listen {
            Listen::Unix { file, chmod, chown } => {
                let what = format!("[{}] file={}", c.section, file.display());
                bind_unix(file, *chmod, *chown, &what).map(|l| (Sock::Unix(l), Some(file.clone())))
            }
            Listen::Inet { host, port } => {
                let what = format!("[{}] port={host}:{port}", c.section);
                bind_inet(host, *port, &what).map(|l| (Sock::Tcp(l), None))
            }
        };
        let (sock, unix_path) = match opened {
            Ok(o) => o,
            Err(msg) => {
                remove_socket_files(&listeners);
                return Err(msg);
            }
        };
        notes.push((false, "RPC interface 'supervisor' initialized".to_string()));
        if c.username.is_none() {
            notes.push((true, format!("Server '{}' running without any HTTP authentication checking", c.section)));
        }
        let budget = Budget::new(matches!(sock, Sock::Unix(_)));
        listeners.push(Listener { sock, config: c.clone(), unix_path, key: None, budget });
    }
    Ok((listeners, notes))
}

/// Removes the socket files of unix servers this daemon opened (it is not starting).
pub fn remove_socket_files(listeners: &[Listener]) {
    for p in listeners.iter().filter_map(|l| l.unix_path.as_ref()) {
        let _ = std::fs::remove_file(p);
    }
}

/// Registers the listeners with the loop.
pub fn register(sup: &mut Supervisor) {
    for i in 0..sup.http.listeners.len() {
        let fd = match &sup.http.listeners[i].sock {
            Sock::Unix(l) => l.as_raw_fd(),
            Sock::Tcp(l) => l.as_raw_fd(),
        };
        match sup.reactor.add(&fd, Source::Listener(i), false) {
            Ok(key) => sup.http.listeners[i].key = Some(key),
            Err(e) => log::error!("cannot watch the HTTP server {}: {e}", sup.http.listeners[i].describe()),
        }
    }
}

/// Watches a listener again after accept failed for lack of fds.
pub fn resume_accept(sup: &mut Supervisor, idx: usize) {
    if let Some(key) = sup.http.listeners.get(idx).and_then(|l| l.key) {
        let _ = sup.reactor.set_interest(key, true, false);
    }
}

/// After a reload whose HTTP server settings changed: close the old servers and open
/// the new ones. A server that cannot be opened is reported; the others serve on.
pub fn reopen(sup: &mut Supervisor) {
    for l in std::mem::take(&mut sup.http.listeners) {
        if let Some(key) = l.key {
            sup.reactor.remove(key);
        }
        if let Some(p) = &l.unix_path {
            let _ = std::fs::remove_file(p);
        }
    }
    // Connections of the old servers belong to none of the new ones: they count in no
    // budget, and their further requests are refused (the old credentials are gone).
    for c in sup.http.conns.values_mut() {
        c.listener = usize::MAX;
    }
    let configs = sup.cfg.servers.clone();
    for c in configs {
        match open(std::slice::from_ref(&c)) {
            Ok((mut listeners, notes)) => {
                for (critical, note) in notes {
                    let level =
                        if critical { crate::config::LogLevel::Critical } else { crate::config::LogLevel::Info };
                    log_at!(level, "{note}");
                }
                sup.http.listeners.append(&mut listeners);
            }
            Err(msg) => crit!("[{}]: {msg}", c.section),
        }
    }
    register(sup);
}

/// Removes the unix socket files (at exit).
pub fn cleanup(sup: &mut Supervisor) {
    flush_all(sup);
    remove_socket_files(&sup.http.listeners);
}

pub fn on_listener(sup: &mut Supervisor, idx: usize) {
    loop {
        let accepted = match &sup.http.listeners.get(idx).map(|l| &l.sock) {
            Some(Sock::Unix(l)) => l.accept().map(|(s, _)| Stream::Unix(s)),
            Some(Sock::Tcp(l)) => l.accept().map(|(s, _)| Stream::Tcp(s)),
            None => return,
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A peer that reset before it was accepted: only that connection is gone.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EPROTO)) => continue,
            Err(e) => {
                // Out of fds (or similar): the pending connection stays pending, so
                // watching the socket would wake the loop again at once. Stop watching
                // it for a while and say so once.
                let on = sup.http.listeners.get(idx).map(Listener::describe).unwrap_or_default();
                log::warn!("cannot accept a connection: {e} ({on}); retrying in 1 second");
                if let Some(key) = sup.http.listeners.get(idx).and_then(|l| l.key) {
                    let _ = sup.reactor.set_interest(key, false, false);
                    sup.reactor.schedule_in(Duration::from_secs(1), Timer::Accept(idx));
                }
                return;
            }
        };
        if !admit(sup, idx) {
            continue; // dropped: closes at once
        }
        let nonblocking = match &stream {
            Stream::Unix(s) => s.set_nonblocking(true),
            Stream::Tcp(s) => s.set_nonblocking(true),
        };
        if nonblocking.is_err() {
            continue;
        }
        let id = sup.http.next_id;
        sup.http.next_id += 1;
        let Ok(key) = sup.reactor.add(&stream.raw(), Source::Conn(id), false) else { continue };
        if let Some(l) = sup.http.listeners.get_mut(idx) {
            l.budget.open += 1;
        }
        sup.http.conns.insert(
            id,
            Conn {
                stream,
                key,
                listener: idx,
                inbuf: Vec::new(),
                out: Vec::new(),
                out_pos: 0,
                state: ConnState::Reading,
                deadline: None,
                tail_timer: None,
                interest: (true, false),
                request_started: true,
                idle_since: Instant::now(),
            },
        );
        set_deadline(sup, id, REQUEST_TIMEOUT);
        // The request often arrives with the connection: read it now, not a pass later.
        on_conn(sup, id);
    }
}

/// Whether a connection just accepted on listener `idx` may stay, making room for it
/// when the listener's budget is spent.
fn admit(sup: &mut Supervisor, idx: usize) -> bool {
    let Some(l) = sup.http.listeners.get_mut(idx) else { return false };
    let conns = &sup.http.conns;
    let verdict = l.budget.admit(|| {
        conns
            .iter()
            .filter(|(_, c)| c.listener == idx && c.is_idle())
            .min_by_key(|(id, c)| (c.idle_since, **id))
            .map(|(id, _)| *id)
    });
    let report = l.budget.report(&l.describe(), Instant::now());
    if let Some(line) = report {
        log::warn!("{line}");
    }
    match verdict {
        Admit::Yes => true,
        Admit::Evict(old) => {
            close(sup, old);
            true
        }
        Admit::Refuse => false,
    }
}

fn set_deadline(sup: &mut Supervisor, id: u64, after: Duration) {
    let Some(c) = sup.http.conns.get_mut(&id) else { return };
    if let Some(old) = c.deadline.take() {
        sup.reactor.cancel(old);
    }
    c.deadline = Some(sup.reactor.schedule_in(after, Timer::Conn { id }));
}

pub fn on_deadline(sup: &mut Supervisor, id: u64) {
    let Some(c) = sup.http.conns.get_mut(&id) else { return };
    c.deadline = None;
    match c.state {
        // A parked call or a log stream may wait long for something to send; once
        // output is pending, this is flush's write deadline and the client is stuck.
        ConnState::Waiting { .. } | ConnState::Tailing(_) if c.pending_output() == 0 => {}
        _ => close(sup, id),
    }
}

pub fn close(sup: &mut Supervisor, id: u64) {
    let Some(c) = sup.http.conns.remove(&id) else { return };
    sup.reactor.remove(c.key);
    for t in [c.deadline, c.tail_timer].into_iter().flatten() {
        sup.reactor.cancel(t);
    }
    if let Some(l) = sup.http.listeners.get_mut(c.listener) {
        l.budget.open = l.budget.open.saturating_sub(1);
    }
    crate::daemon::shrink_map(&mut sup.http.conns);
}

/// The most of a client's input held at once: one request of the largest size.
const MAX_INPUT: usize = http::MAX_HEADER + http::MAX_BODY;

impl Conn {
    fn pending_output(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// Nothing in flight: no call parked, no stream, nothing to send. A connection
    /// holding part of a request counts as idle; it may never send the rest.
    fn is_idle(&self) -> bool {
        matches!(self.state, ConnState::Reading) && self.pending_output() == 0
    }

    /// Whether to read more from the client now. A log stream reads (and drops) input
    /// only to notice the client going away; otherwise input is taken while it fits
    /// and the client's unread answers are within bounds.
    fn wants_input(&self) -> bool {
        match self.state {
            ConnState::Tailing(_) => true,
            ConnState::Closing => false,
            _ => self.inbuf.len() < MAX_INPUT && self.pending_output() < MAX_PENDING_OUTPUT,
        }
    }
}

pub fn on_conn(sup: &mut Supervisor, id: u64) {
    let mut eof = false;
    if let Some(c) = sup.http.conns.get_mut(&id) {
        let mut buf = [0u8; 16 * 1024];
        while c.wants_input() {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) if matches!(c.state, ConnState::Tailing(_)) => {
                    let _ = n;
                }
                Ok(n) => c.inbuf.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
    }
    flush(sup, id);
    if eof {
        close(sup, id);
        return;
    }
    process_input(sup, id);
    update_interest(sup, id);
}

/// Watches a connection for what it can use now: input while it wants input (so a
/// full buffer does not spin the loop), writability while output is queued.
fn update_interest(sup: &mut Supervisor, id: u64) {
    let Some(c) = sup.http.conns.get_mut(&id) else { return };
    let want = (c.wants_input(), c.pending_output() > 0);
    if want != c.interest {
        c.interest = want;
        let key = c.key;
        let _ = sup.reactor.set_interest(key, want.0, want.1);
    }
}

/// Parses and answers the requests waiting in a connection's buffer.
fn process_input(sup: &mut Supervisor, id: u64) {
    loop {
        let Some(c) = sup.http.conns.get_mut(&id) else { return };
        // Pipelined requests wait while the client has not read earlier answers.
        if !matches!(c.state, ConnState::Reading) || c.inbuf.is_empty() || c.pending_output() >= MAX_PENDING_OUTPUT {
            return;
        }
        match http::parse(&c.inbuf) {
            Parsed::Partial => {
                // The first bytes of a request start its clock, once: a client that
                // trickles bytes cannot hold the connection past REQUEST_TIMEOUT.
                if !c.request_started {
                    c.request_started = true;
                    set_deadline(sup, id, REQUEST_TIMEOUT);
                }
                return;
            }
            Parsed::Bad(status) => {
                c.inbuf.clear();
                c.state = ConnState::Closing;
                log::debug!("bad HTTP request: {status}");
                queue(sup, id, http::error(status, 1, &[]));
                return;
            }
            Parsed::Done(req, used) => {
                c.inbuf.drain(..used);
                c.request_started = false;
                handle(sup, id, req);
            }
        }
    }
}

/// Appends output to a connection and writes as much as the socket takes now.
fn queue(sup: &mut Supervisor, id: u64, bytes: Vec<u8>) {
    queue_from(sup, id, bytes, 0);
}

/// `queue` of `bytes[start..]`; with nothing else pending the buffer itself becomes
/// the connection's output, uncopied.
fn queue_from(sup: &mut Supervisor, id: u64, bytes: Vec<u8>, start: usize) {
    if let Some(c) = sup.http.conns.get_mut(&id) {
        if c.out_pos == c.out.len() {
            c.out = bytes;
            c.out_pos = start;
        } else {
            c.out.extend_from_slice(&bytes[start..]);
        }
    }
    flush(sup, id);
}

fn flush(sup: &mut Supervisor, id: u64) {
    let Some(c) = sup.http.conns.get_mut(&id) else { return };
    let mut failed = false;
    let written_before = c.out_pos;
    while c.out_pos < c.out.len() {
        match c.stream.write(&c.out[c.out_pos..]) {
            Ok(0) => {
                failed = true;
                break;
            }
            Ok(n) => c.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if failed {
        close(sup, id);
        return;
    }
    let drained = c.out_pos == c.out.len();
    let progressed = c.out_pos > written_before;
    let idle_keep_alive = drained && matches!(c.state, ConnState::Reading) && !c.request_started;
    if idle_keep_alive {
        c.idle_since = Instant::now();
    }
    if drained {
        // An idle keep-alive connection should not pin its largest answer's memory.
        if c.out.capacity() > 64 * 1024 {
            c.out = Vec::new();
        } else {
            c.out.clear();
        }
        c.out_pos = 0;
        if c.inbuf.is_empty() && c.inbuf.capacity() > 64 * 1024 {
            c.inbuf = Vec::new();
        }
    } else if c.out_pos > 1 << 20 {
        c.out.drain(..c.out_pos);
        c.out_pos = 0;
    }
    let was_writing = c.interest.1;
    let closing = drained && matches!(c.state, ConnState::Closing);
    if closing {
        close(sup, id);
        return;
    }
    update_interest(sup, id);
    // The deadlines of output live here, where writes happen: each step of progress
    // restarts the write clock, and an answered keep-alive connection goes idle.
    if !drained && (progressed || !was_writing) {
        set_deadline(sup, id, WRITE_TIMEOUT);
    } else if idle_keep_alive {
        set_deadline(sup, id, IDLE_TIMEOUT);
    }
}

fn flush_all(sup: &mut Supervisor) {
    let ids: Vec<u64> = sup.http.conns.keys().copied().collect();
    for id in ids {
        if let Some(c) = sup.http.conns.get(&id) {
            // Best effort before exit: a blocking write of what is queued.
            let fd = c.stream.raw();
            let _ = rustix::io::ioctl_fionbio(crate::sys::borrow_fd(fd), false);
        }
        flush(sup, id);
    }
}

fn authorized(sup: &Supervisor, listener: usize, req: &Request) -> bool {
    let Some(l) = sup.http.listeners.get(listener) else { return false };
    match (&l.config.username, &l.config.password) {
        (Some(u), Some(p)) => super::auth::check_basic(req.header("authorization"), u, p),
        _ => true,
    }
}

fn handle(sup: &mut Supervisor, id: u64, req: Request) {
    let Some(listener) = sup.http.conns.get(&id).map(|c| c.listener) else { return };
    let keep_alive = req.keep_alive();
    let version = req.version;
    if !authorized(sup, listener, &req) {
        set_state(sup, id, ConnState::Closing);
        queue(sup, id, http::error(401, version, &[("WWW-Authenticate", "Basic realm=\"default\"")]));
        return;
    }
    let path = req.path().to_string();
    if path.starts_with("/RPC2") {
        return rpc(sup, id, req);
    }
    if path.starts_with("/logtail/") || path == "/mainlogtail" {
        return start_tail(sup, id, &req);
    }
    let response = match super::web::handle(sup, &req) {
        super::web::Reply::Done(response) => response,
        super::web::Reply::Wait(pending, finish) => {
            let web = Some(Box::new(finish));
            return set_state(sup, id, ConnState::Waiting { pending, version, keep_alive, web });
        }
    };
    if !keep_alive {
        set_state(sup, id, ConnState::Closing);
    }
    queue(sup, id, response);
}

fn set_state(sup: &mut Supervisor, id: u64, state: ConnState) {
    if let Some(c) = sup.http.conns.get_mut(&id) {
        c.state = state;
    }
}

fn rpc(sup: &mut Supervisor, id: u64, req: Request) {
    let (keep_alive, version) = (req.keep_alive(), req.version);
    if req.method != "POST" {
        set_state(sup, id, ConnState::Closing);
        return queue(sup, id, http::error(400, version, &[]));
    }
    let (method, params) = match xmlrpc::parse_call(&req.body) {
        Ok((Some(m), p)) => (m, p),
        Ok((None, _)) => {
            log::debug!("XML-RPC request without a method name");
            set_state(sup, id, ConnState::Closing);
            return queue(sup, id, http::error(400, version, &[]));
        }
        Err(e) => {
            log::debug!("XML-RPC request data is invalid: {e}");
            set_state(sup, id, ConnState::Closing);
            return queue(sup, id, http::error(400, version, &[]));
        }
    };
    log::trace!("XML-RPC method called: {method}()");
    match api::call(sup, &method, params) {
        Outcome::Done(result) => answer(sup, id, result, version, keep_alive),
        Outcome::Wait(pending) => set_state(sup, id, ConnState::Waiting { pending, version, keep_alive, web: None }),
    }
}

fn answer(sup: &mut Supervisor, id: u64, result: Result<xmlrpc::Value, xmlrpc::Fault>, version: u8, keep_alive: bool) {
    answer_as(sup, id, result, version, keep_alive, None)
}

fn answer_as(
    sup: &mut Supervisor,
    id: u64,
    result: Result<xmlrpc::Value, xmlrpc::Fault>,
    version: u8,
    keep_alive: bool,
    web: Option<Box<super::web::Finish>>,
) {
    if let Some(finish) = web {
        set_state(sup, id, if keep_alive { ConnState::Reading } else { ConnState::Closing });
        return queue(sup, id, finish.answer(result));
    }
    // The body is written after room for the head, which goes right before it: a
    // big answer is then built in place and handed to the connection without a copy.
    const HEAD_ROOM: usize = 256;
    let mut buf = String::new();
    buf.push_str(&" ".repeat(HEAD_ROOM));
    match &result {
        Ok(v) => xmlrpc::response_into(v, &mut buf),
        Err(f) => buf.push_str(&xmlrpc::fault(f)),
    };
    set_state(sup, id, if keep_alive { ConnState::Reading } else { ConnState::Closing });
    let head = http::head(200, &[("Content-Type", "text/xml")], buf.len() - HEAD_ROOM, keep_alive, version);
    let mut bytes = buf.into_bytes();
    let start = match HEAD_ROOM.checked_sub(head.len()) {
        Some(start) => {
            bytes[start..HEAD_ROOM].copy_from_slice(head.as_bytes());
            start
        }
        None => {
            bytes.splice(..HEAD_ROOM, head.into_bytes());
            0
        }
    };
    let big = bytes.len() > 256 << 10;
    queue_from(sup, id, bytes, start);
    if big {
        // A big answer (getAllProcessInfo of thousands) leaves its value tree's many
        // small blocks free across the heap: give those pages back, or the daemon's
        // RSS keeps the high-water mark of its largest answer.
        drop(result);
        crate::sys::release_free_memory();
    }
}

/// After every loop iteration: answer parked calls whose wait is over.
pub fn poll_waiting(sup: &mut Supervisor) {
    let ids: Vec<u64> = sup
        .http
        .conns
        .iter()
        .filter(|(_, c)| matches!(c.state, ConnState::Waiting { .. }))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        let Some(c) = sup.http.conns.get_mut(&id) else { continue };
        let ConnState::Waiting { mut pending, version, keep_alive, web } =
            std::mem::replace(&mut c.state, ConnState::Reading)
        else {
            continue;
        };
        match api::poll(sup, &mut pending) {
            Some(result) => {
                answer_as(sup, id, result, version, keep_alive, web);
                // Requests pipelined behind the parked one.
                process_input(sup, id);
                update_interest(sup, id);
            }
            None => set_state(sup, id, ConnState::Waiting { pending, version, keep_alive, web }),
        }
    }
}

fn start_tail(sup: &mut Supervisor, id: u64, req: &Request) {
    let version = req.version;
    if req.method != "GET" {
        set_state(sup, id, ConnState::Closing);
        return queue(sup, id, http::error(400, version, &[]));
    }
    let path = http::unquote(req.path());
    let mut memory = None;
    let file = if path == "/mainlogtail" {
        sup.log.path()
    } else {
        let rest = path.trim_start_matches('/').split_once('/').map(|(_, r)| r).unwrap_or("");
        let (name, channel) = match rest.rsplit_once('/') {
            Some((n, c)) if c == "stdout" || c == "stderr" => (n, c),
            _ => (rest, "stdout"),
        };
        match crate::daemon::api::lookup(sup, name) {
            Some(crate::daemon::api::Target::Process(pid)) => {
                let stderr = channel == "stderr";
                if let Some(mem) = crate::daemon::api::memory_tail(sup, pid, stderr) {
                    memory = Some(Tail::open_memory(mem, pid, stderr, version));
                }
                crate::daemon::api::log_path(sup, pid, stderr)
            }
            _ => None,
        }
    };
    if let Some((tail, head)) = memory {
        set_state(sup, id, ConnState::Tailing(tail));
        queue(sup, id, head);
        return arm_tail(sup, id);
    }
    let Some(file) = file.filter(|f| f.exists()) else {
        set_state(sup, id, ConnState::Closing);
        return queue(sup, id, http::error(404, version, &[]));
    };
    // `?offset=N` (the tail pages' script) continues from where the page ended.
    let offset = req.query().split('&').find_map(|kv| kv.strip_prefix("offset=")).and_then(|v| v.parse().ok());
    let (tail, head) = match Tail::open(&file, version, offset) {
        Ok(t) => t,
        Err(_) => {
            set_state(sup, id, ConnState::Closing);
            return queue(sup, id, http::error(404, version, &[]));
        }
    };
    set_state(sup, id, ConnState::Tailing(tail));
    queue(sup, id, head);
    arm_tail(sup, id);
}

fn arm_tail(sup: &mut Supervisor, id: u64) {
    if let Some(c) = sup.http.conns.get_mut(&id) {
        c.tail_timer = Some(sup.reactor.schedule_in(super::tail::POLL_INTERVAL, Timer::Tail { id }));
    }
}

/// A tail stream's periodic look at its file.
pub fn on_tail_timer(sup: &mut Supervisor, id: u64) {
    let Some(c) = sup.http.conns.get_mut(&id) else { return };
    c.tail_timer = None;
    let ConnState::Tailing(tail) = &mut c.state else { return };
    if c.out.len() - c.out_pos < MAX_PENDING_OUTPUT {
        let mem = tail.memory_of().and_then(|(p, stderr)| {
            let m = sup.procs.get(&p)?;
            if stderr {
                m.stderr.memory.as_deref()
            } else {
                m.stdout.memory.as_deref()
            }
        });
        let more = tail.more(mem);
        if !more.is_empty() {
            queue(sup, id, more);
        }
    }
    arm_tail(sup, id);
}
