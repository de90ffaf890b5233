//! Hostile HTTP clients against the daemon's control plane (src/rpc/server.rs): garbage,
//! truncated and oversized requests, deep or entity-laden XML, slowloris, connection
//! floods, malformed XML-RPC calls, clients that never read, and path tricks. Every test
//! checks the refusal (status or close) and then that an honest client is answered
//! correctly by the same daemon process.

mod common;
use common::*;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supervisor::rpc::xmlrpc::{self, Fault, Value};

/// No read in these tests may block longer than this: a hang is a failure, not a stall.
const IO_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------
// Transport: unix or TCP streams behind one trait.

trait Stream: Read + Write + Send {
    fn set_timeout(&self, t: Option<Duration>);
    fn shutdown_write(&self);
    fn set_nb(&self, nonblocking: bool);
}

impl Stream for UnixStream {
    fn set_timeout(&self, t: Option<Duration>) {
        self.set_read_timeout(t).unwrap();
        self.set_write_timeout(t).unwrap();
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn set_nb(&self, nonblocking: bool) {
        self.set_nonblocking(nonblocking).unwrap();
    }
}

impl Stream for TcpStream {
    fn set_timeout(&self, t: Option<Duration>) {
        self.set_read_timeout(t).unwrap();
        self.set_write_timeout(t).unwrap();
    }
    fn shutdown_write(&self) {
        let _ = self.shutdown(Shutdown::Write);
    }
    fn set_nb(&self, nonblocking: bool) {
        self.set_nonblocking(nonblocking).unwrap();
    }
}

impl<T: Stream + ?Sized> Stream for Box<T> {
    fn set_timeout(&self, t: Option<Duration>) {
        (**self).set_timeout(t)
    }
    fn shutdown_write(&self) {
        (**self).shutdown_write()
    }
    fn set_nb(&self, nonblocking: bool) {
        (**self).set_nb(nonblocking)
    }
}

#[derive(Clone, Copy, Debug)]
enum Via {
    Unix,
    Tcp,
}

// ---------------------------------------------------------------------------------
// HTTP responses, read by hand.

#[derive(Debug)]
struct Resp {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn is_closed_error(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionAborted)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Reads one response with a Content-Length body (`buf` keeps what follows it, for
/// pipelined responses). Ok(None): the peer closed (or reset) before a whole head
/// arrived. A read timeout is an error: the daemon hung.
fn read_response(s: &mut dyn Read, buf: &mut Vec<u8>) -> io::Result<Option<Resp>> {
    let mut chunk = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) => return Ok(None),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if is_closed_error(&e) => return Ok(None),
            Err(e) => return Err(e),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line: {head:?}")))?;
    let mut resp = Resp { status, head, body: Vec::new() };
    let len: usize = resp.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        match s.read(&mut chunk) {
            Ok(0) => return Err(io::Error::other("the body was cut short")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    resp.body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Ok(Some(resp))
}

/// What a hostile request got back.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// A response with this status, after which the server closed the connection.
    Status(u16),
    /// The server closed without answering.
    Closed,
}

/// Reads the answer to a hostile request, then insists that the server closes the
/// connection (all refusals close). Panics if the server does neither within IO_TIMEOUT.
fn reply(s: &mut dyn Stream) -> Reply {
    s.set_timeout(Some(IO_TIMEOUT));
    let mut buf = Vec::new();
    let resp = read_response(s, &mut buf).unwrap_or_else(|e| panic!("no answer and no close: {e}"));
    let Some(resp) = resp else { return Reply::Closed };
    assert!(resp.head.contains("Connection: close"), "a refusal must close the connection: {}", resp.head);
    let mut rest = [0u8; 4096];
    loop {
        match s.read(&mut rest) {
            Ok(0) => break,
            Ok(_) => {} // nothing should follow, but a drained body is fine
            Err(e) if is_closed_error(&e) => break,
            Err(e) => panic!("the server did not close after a {} refusal: {e}", resp.status),
        }
    }
    Reply::Status(resp.status)
}

/// Writes what it can; a server that refuses early may close under us.
fn write_lossy(s: &mut dyn Stream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

fn post(path: &str, body: &[u8], keep_alive: bool) -> Vec<u8> {
    let conn = if keep_alive { "" } else { "Connection: close\r\n" };
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{conn}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn rpc_request(method: &str, params: &[Value], keep_alive: bool) -> Vec<u8> {
    post("/RPC2", xmlrpc::call(method, params).as_bytes(), keep_alive)
}

/// Parses an XML-RPC answer, insisting on HTTP 200 and text/xml.
fn rpc_result(resp: &Resp) -> Result<Value, Fault> {
    assert_eq!(resp.status, 200, "an XML-RPC answer (faults included) is HTTP 200: {}", resp.head);
    assert_eq!(resp.header("content-type"), Some("text/xml"), "{}", resp.head);
    xmlrpc::parse_response(&resp.body)
        .unwrap_or_else(|e| panic!("unparsable XML-RPC response ({e}): {}", String::from_utf8_lossy(&resp.body)))
}

/// One call on a keep-alive connection.
fn call_on(s: &mut dyn Stream, buf: &mut Vec<u8>, method: &str, params: &[Value]) -> Result<Value, Fault> {
    s.write_all(&rpc_request(method, params, true)).expect("send a call");
    let resp = read_response(s, buf).expect("read the answer").expect("the server closed instead of answering");
    rpc_result(&resp)
}

fn fault_code(r: &Result<Value, Fault>) -> Option<i32> {
    r.as_ref().err().map(|f| f.code)
}

fn member<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or_else(|| panic!("no member {key} in {v:?}"))
}

/// Samples a process's VmRSS every 20 ms until dropped; `peak()` is the largest seen.
struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kb(pid)));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    if let Some(kb) = text
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|v| v.parse::<u64>().ok())
                    {
                        p.fetch_max(kb, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        RssSampler { stop, peak, thread: Some(thread) }
    }

    fn peak_kb(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The soft RLIMIT_NOFILE of a process, from /proc/<pid>/limits.
fn open_files_limit(pid: &str) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("read limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("Max open files line");
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
    // "unlimited"
}

// ---------------------------------------------------------------------------------
// The daemon under attack.

struct Server {
    d: Daemon,
    pid: u32,
    sock: PathBuf,
    port: Option<u16>,
}

/// A port nobody listens on right now (the kernel's choice; released for the daemon).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

const CAT: &str = "[program:cat]\ncommand=/bin/cat\nstartsecs=0\nautorestart=false\n";

impl Server {
    fn start(tag: &str, programs: &str) -> Server {
        Server::launch(tag, programs, false)
    }

    fn start_with_inet(tag: &str, programs: &str) -> Server {
        Server::launch(tag, programs, true)
    }

    fn launch(tag: &str, programs: &str, inet: bool) -> Server {
        let port = inet.then(free_port);
        let inet_section = port.map(|p| format!("[inet_http_server]\nport=127.0.0.1:{p}\n\n")).unwrap_or_default();
        let body = format!("[unix_http_server]\nfile={{dir}}/sv.sock\n\n{inet_section}{programs}");
        let d = Daemon::start(tag, &body);
        let pid = d.pid();
        let sock = d.dir.join("sv.sock");
        let s = Server { d, pid, sock, port };
        assert!(
            wait_until(Duration::from_secs(10), || UnixStream::connect(&s.sock).is_ok()),
            "the unix socket never answered; log:\n{}",
            s.d.log()
        );
        s
    }

    fn unix(&self) -> UnixStream {
        let s = UnixStream::connect(&self.sock).expect("connect to the unix socket");
        s.set_timeout(Some(IO_TIMEOUT));
        s
    }

    fn tcp(&self) -> TcpStream {
        let port = self.port.expect("this daemon has no inet server");
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the inet server");
        s.set_timeout(Some(IO_TIMEOUT));
        s
    }

    fn connect(&self, via: Via) -> Box<dyn Stream> {
        match via {
            Via::Unix => Box::new(self.unix()),
            Via::Tcp => Box::new(self.tcp()),
        }
    }

    /// One call on a fresh connection that closes after the answer.
    fn call_via(&self, via: Via, method: &str, params: &[Value]) -> Result<Value, Fault> {
        let mut s = self.connect(via);
        s.write_all(&rpc_request(method, params, false)).expect("send a call");
        let resp = read_response(&mut s, &mut Vec::new())
            .expect("read the answer")
            .unwrap_or_else(|| panic!("the server closed instead of answering {method}"));
        rpc_result(&resp)
    }

    fn call(&self, method: &str, params: &[Value]) -> Result<Value, Fault> {
        self.call_via(Via::Unix, method, params)
    }

    /// The honest client: getState says RUNNING and getPID names the process we
    /// started, which is alive — over every transport this daemon serves.
    fn assert_healthy(&self) {
        assert!(pid_alive(self.pid), "the daemon died; log:\n{}", self.d.log());
        let mut vias = vec![Via::Unix];
        if self.port.is_some() {
            vias.push(Via::Tcp);
        }
        for via in vias {
            let state = self.call_via(via, "supervisor.getState", &[]).expect("getState");
            assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"), "{via:?}");
            assert_eq!(member(&state, "statecode").as_int(), Some(1), "{via:?}");
            let pid = self.call_via(via, "supervisor.getPID", &[]).expect("getPID");
            assert_eq!(pid.as_int(), Some(i64::from(self.pid)), "{via:?}: the daemon's pid changed");
        }
        assert!(pid_alive(self.pid), "the daemon died; log:\n{}", self.d.log());
    }

    fn rss_kb(&self) -> u64 {
        rss_kb(self.pid)
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure reproduces.
fn junk(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// 1. Garbage, truncated requests, a request line without a version.

#[test]
fn garbage_and_truncated_requests_are_refused_and_the_daemon_carries_on() {
    let srv = Server::start_with_inet("hgarb", CAT);
    srv.assert_healthy();
    for via in [Via::Unix, Via::Tcp] {
        // Random binary (starting with a NUL so it can never be a method token), then
        // a newline-terminated line of junk.
        let mut s = srv.connect(via);
        let mut bytes = vec![0u8];
        bytes.extend(junk(4096, 0x5eed));
        bytes.extend_from_slice(b"\nthis is junk, not HTTP at all\n");
        write_lossy(&mut s, &bytes);
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: binary garbage");
        srv.assert_healthy();

        // Only a line of text junk.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"hello there, how are you today\n\n");
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: a line of junk");
        srv.assert_healthy();

        // A request line without a version (HTTP/0.9 style), GET and POST.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"GET /\r\n\r\n");
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: GET without a version");
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POST /RPC2\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: POST without a version");
        srv.assert_healthy();

        // Headers without the final CRLFCRLF, then the client closes its side: the
        // server must close too, without answering.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n");
        s.shutdown_write();
        assert_eq!(reply(&mut s), Reply::Closed, "{via:?}: truncated headers");
        // A body shorter than announced, then close.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n<?xml");
        s.shutdown_write();
        assert_eq!(reply(&mut s), Reply::Closed, "{via:?}: truncated body");
        // Half a request line, and a connection closed at once with nothing sent.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POS");
        s.shutdown_write();
        assert_eq!(reply(&mut s), Reply::Closed, "{via:?}: half a method");
        drop(srv.connect(via));
        srv.assert_healthy();

        // Known refusals of well-formed HTTP.
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(reply(&mut s), Reply::Status(411), "{via:?}: POST without Content-Length");
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"POST /RPC2 HTTP/1.1\r\nContent-Length: lots\r\n\r\n");
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: a non-numeric Content-Length");
        for cl in ["-1", "99999999999999999999999999", "18446744073709551615"] {
            let mut s = srv.connect(via);
            write_lossy(&mut s, format!("POST /RPC2 HTTP/1.1\r\nContent-Length: {cl}\r\n\r\n").as_bytes());
            let r = reply(&mut s);
            assert!(matches!(r, Reply::Status(400 | 413)), "{via:?}: Content-Length {cl}: {r:?}");
        }
        let mut s = srv.connect(via);
        write_lossy(&mut s, b"GET /RPC2 HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: XML-RPC by GET");
        let mut s = srv.connect(via);
        write_lossy(&mut s, &post("/RPC2", b"\xff\xfe not xml, not even utf-8 \x00", false));
        assert_eq!(reply(&mut s), Reply::Status(400), "{via:?}: a body that is not XML");
        srv.assert_healthy();
    }
}

// ---------------------------------------------------------------------------------
// 2. Huge bodies.

#[test]
fn a_huge_announced_body_is_refused_with_413_before_it_is_sent() {
    let srv = Server::start("hbig", CAT);
    let before = srv.rss_kb();
    let mut s = srv.unix();
    let head = "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: 104857600\r\n\r\n";
    write_lossy(&mut s, head.as_bytes());
    write_lossy(&mut s, &[b'x'; 1024]);
    let t0 = Instant::now();
    // We have sent 1 KiB of the 100 MB: the answer must come without the rest.
    assert_eq!(reply(&mut s), Reply::Status(413));
    assert!(t0.elapsed() < Duration::from_secs(5), "the 413 took {:?}", t0.elapsed());
    srv.assert_healthy();
    let after = srv.rss_kb();
    assert!(after < before + 8 * 1024, "RSS went from {before} kB to {after} kB");
}

#[test]
fn ten_megabytes_of_body_are_refused_without_the_daemon_growing() {
    let srv = Server::start("hbody", CAT);
    let sampler = RssSampler::start(srv.pid);
    for announced in [true, false] {
        let s = srv.unix();
        let mut writer = s.try_clone().unwrap();
        // Really send 10 MB, from another thread: the server may stop reading (and
        // close) at any point, which ends the writer with EPIPE/ECONNRESET.
        let len = 10 * 1024 * 1024;
        let head = if announced {
            format!("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len}\r\n\r\n")
        } else {
            // A body of 3 MiB (allowed) followed by 7 MiB of what then reads as junk.
            format!("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", 3 << 20)
        };
        let sender = std::thread::spawn(move || {
            let mut sent = 0usize;
            if writer.write_all(head.as_bytes()).is_err() {
                return sent;
            }
            let block = vec![b'<'; 64 * 1024];
            while sent < len {
                match writer.write(&block) {
                    Ok(n) => sent += n,
                    Err(_) => break,
                }
            }
            sent
        });
        let mut s: Box<dyn Stream> = Box::new(s);
        let r = reply(&mut s);
        if announced {
            assert_eq!(r, Reply::Status(413), "10 MB announced");
        } else {
            assert!(matches!(r, Reply::Status(400) | Reply::Closed), "3 MiB of non-XML then junk: {r:?}");
        }
        drop(s);
        let sent = sender.join().unwrap();
        println!("announced={announced}: the client got {sent} bytes out before the server closed");
        srv.assert_healthy();
    }
    let peak = sampler.peak_kb();
    drop(sampler);
    println!("daemon peak RSS during the 10 MB bodies: {peak} kB");
    assert!(peak < 30 * 1024, "the daemon's RSS reached {peak} kB");
}

// ---------------------------------------------------------------------------------
// 3. Header limits.

#[test]
fn oversized_and_too_many_headers_get_431() {
    let srv = Server::start("hhead", CAT);
    // One header line of 70 KiB (sent with its final CRLFCRLF).
    let mut s = srv.unix();
    let big = format!("GET /ok.html HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n", "a".repeat(70 * 1024));
    write_lossy(&mut s, big.as_bytes());
    assert_eq!(reply(&mut s), Reply::Status(431), "a 70 KiB header section");
    srv.assert_healthy();

    // Over 64 KiB of headers that never end: the limit applies before the end.
    let mut s = srv.unix();
    let mut endless = String::from("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\n");
    while endless.len() < 80 * 1024 {
        endless.push_str("X-Filler: 0123456789abcdef0123456789abcdef\r\n");
    }
    write_lossy(&mut s, endless.as_bytes());
    assert_eq!(reply(&mut s), Reply::Status(431), "80 KiB of unterminated headers");
    srv.assert_healthy();

    // 100 small headers.
    let mut s = srv.unix();
    let mut many = String::from("GET /ok.html HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    write_lossy(&mut s, many.as_bytes());
    assert_eq!(reply(&mut s), Reply::Status(431), "100 headers");
    srv.assert_healthy();

    // Control: a modest request with a few headers is served.
    let mut s = srv.unix();
    write_lossy(&mut s, b"GET /ok.html HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\nX-B: 2\r\nConnection: close\r\n\r\n");
    let resp = read_response(&mut s, &mut Vec::new()).unwrap().expect("an answer");
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body, b"OK");
}

// ---------------------------------------------------------------------------------
// 4. Hostile XML.

#[test]
fn deep_nesting_and_entity_bombs_get_400() {
    let srv = Server::start("hxml", CAT);
    // 10,000 nested arrays.
    let depth = 10_000;
    let mut deep = String::from(
        "<?xml version='1.0'?><methodCall><methodName>supervisor.getState</methodName><params><param><value>",
    );
    for _ in 0..depth {
        deep.push_str("<array><data><value>");
    }
    deep.push_str("<int>1</int>");
    for _ in 0..depth {
        deep.push_str("</value></data></array>");
    }
    deep.push_str("</value></param></params></methodCall>");
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", deep.as_bytes(), false));
    assert_eq!(reply(&mut s), Reply::Status(400), "10,000-deep nesting");
    srv.assert_healthy();

    // 10,000 unclosed elements (never balanced).
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", "<a>".repeat(10_000).as_bytes(), false));
    assert_eq!(reply(&mut s), Reply::Status(400), "10,000 unclosed elements");
    srv.assert_healthy();

    // The billion laughs.
    let mut bomb = String::from("<?xml version='1.0'?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    bomb.push_str("<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..=9 {
        let p = i - 1;
        bomb.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", format!("&lol{p};").repeat(10)));
    }
    bomb.push_str("]>\n<methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value><string>&lol9;</string></value></param></params></methodCall>\n");
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", bomb.as_bytes(), false));
    assert_eq!(reply(&mut s), Reply::Status(400), "billion laughs");
    srv.assert_healthy();

    // An external entity (XXE) and an undefined entity without a DOCTYPE.
    let xxe = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value>&e;</value></param></params></methodCall>";
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", xxe.as_bytes(), false));
    assert_eq!(reply(&mut s), Reply::Status(400), "external entity");
    let undefined = "<?xml version='1.0'?><methodCall><methodName>&nope;</methodName></methodCall>";
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", undefined.as_bytes(), false));
    assert_eq!(reply(&mut s), Reply::Status(400), "undefined entity");
    srv.assert_healthy();

    // Control: nesting a real call might use (a few levels) is fine.
    let shallow = "<?xml version='1.0'?><methodCall><methodName>system.multicall</methodName><params><param><value><array><data><value><struct><member><name>methodName</name><value><string>supervisor.getState</string></value></member></struct></value></data></array></value></param></params></methodCall>";
    let mut s = srv.unix();
    write_lossy(&mut s, &post("/RPC2", shallow.as_bytes(), false));
    let resp = read_response(&mut s, &mut Vec::new()).unwrap().expect("an answer");
    let v = rpc_result(&resp).expect("multicall");
    let Value::Array(items) = v else { panic!("multicall gave {v:?}") };
    assert_eq!(member(&items[0], "statename").as_str(), Some("RUNNING"));
}

// ---------------------------------------------------------------------------------
// 5. Slowloris.

/// A complete getState call, to be trickled.
fn trickle_request() -> Vec<u8> {
    rpc_request("supervisor.getState", &[], false)
}

#[test]
fn slowloris_connections_do_not_slow_an_honest_client() {
    let srv = Server::start("hslow", CAT);
    let request = trickle_request();
    let conns: Vec<UnixStream> = (0..50).map(|_| srv.unix()).collect();
    let writers: Vec<UnixStream> = conns.iter().map(|c| c.try_clone().unwrap()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU64::new(0));
    let (stop2, ticks2, req2) = (stop.clone(), ticks.clone(), request.clone());
    // One byte per connection every 100 ms (the pacing is the attack, not a wait).
    let trickler = std::thread::spawn(move || {
        let mut writers = writers;
        let mut i = 0;
        let start = Instant::now();
        while !stop2.load(Ordering::Relaxed) && i < req2.len() - 1 {
            for w in &mut writers {
                w.write_all(&req2[i..i + 1]).expect("a trickling connection was closed early");
            }
            i += 1;
            ticks2.store(i as u64, Ordering::Relaxed);
            let next = start + Duration::from_millis(100 * i as u64);
            if let Some(d) = next.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        (writers, i)
    });
    assert!(wait_until(Duration::from_secs(5), || ticks.load(Ordering::Relaxed) >= 2));
    // The honest client, for ~5 s, alternating fresh and keep-alive connections.
    let mut slowest = Duration::ZERO;
    let mut calls = 0;
    let mut keep = srv.unix();
    let mut keep_buf = Vec::new();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        let t = Instant::now();
        let state = if calls % 2 == 0 {
            srv.call("supervisor.getState", &[])
        } else {
            call_on(&mut keep, &mut keep_buf, "supervisor.getState", &[])
        }
        .expect("getState");
        let took = t.elapsed();
        slowest = slowest.max(took);
        assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));
        assert!(took < Duration::from_secs(1), "call {calls} took {took:?} under slowloris");
        calls += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let (mut writers, sent) = trickler.join().unwrap();
    println!("slowloris: {calls} honest calls, slowest {slowest:?}; each trickler sent {sent} bytes");
    assert!(sent >= 40, "the trickler only got {sent} bytes out in 5 s");
    // Each trickled request, completed now (within its 10 s), is answered.
    for (w, mut c) in writers.iter_mut().zip(conns) {
        w.write_all(&request[sent..]).expect("complete the trickled request");
        let resp = read_response(&mut c, &mut Vec::new()).unwrap().expect("an answer to the trickled request");
        assert_eq!(member(&rpc_result(&resp).unwrap(), "statename").as_str(), Some("RUNNING"));
    }
    srv.assert_healthy();
}

#[test]
fn slowloris_request_deadline_closes_a_trickling_connection_after_10_s() {
    let srv = Server::start("hslow10", CAT);
    let deadline = supervisor::rpc::server::REQUEST_TIMEOUT;
    // A request that, at one byte per 100 ms, needs far more than the deadline.
    let mut request =
        format!("POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n", 2000).into_bytes();
    request.extend(std::iter::repeat_n(b' ', 2000));
    let mut s = srv.unix();
    let first = Instant::now();
    let mut closed_after = None;
    for (i, b) in request.iter().enumerate() {
        if s.write_all(&[*b]).is_err() {
            closed_after = Some(first.elapsed());
            break;
        }
        s.set_nb(true);
        let mut one = [0u8; 1];
        let r = s.read(&mut one);
        s.set_nb(false);
        match r {
            Ok(0) => {
                closed_after = Some(first.elapsed());
                break;
            }
            Ok(_) => panic!("the server answered a request it has not got"),
            Err(e) if is_timeout(&e) => {}
            Err(_) => {
                closed_after = Some(first.elapsed());
                break;
            }
        }
        if i % 50 == 0 {
            srv.assert_healthy();
        }
        assert!(first.elapsed() < Duration::from_secs(60), "still open after 60 s");
        std::thread::sleep(Duration::from_millis(100)); // the pacing of the attack
    }
    let t = closed_after.expect("the connection was never closed");
    println!("the trickling connection was closed {t:?} after its first byte");
    assert!(t >= deadline - Duration::from_secs(1) && t < deadline + Duration::from_secs(10), "closed after {t:?}");
    srv.assert_healthy();
}

// ---------------------------------------------------------------------------------
// 6. A connection flood.

/// Whether the server has closed this connection (non-destructive for open ones).
fn closed_by_server(s: &UnixStream) -> bool {
    s.set_nb(true);
    let mut one = [0u8; 1];
    let mut reader = s;
    let r = reader.read(&mut one);
    s.set_nb(false);
    match r {
        Ok(0) => true,
        Ok(_) => panic!("an idle connection received data"),
        Err(e) if is_timeout(&e) => false,
        Err(_) => true,
    }
}

#[test]
fn five_hundred_idle_connections_and_more_than_the_budget() {
    const HELD: usize = 500;
    const EXTRA: usize = 40;
    const BUDGET: usize = supervisor::rpc::budget::UNIX_BUDGET;
    // We hold HELD + EXTRA + a few descriptors; raising RLIMIT_NOFILE is not possible
    // from std, so the counts are kept within the limit the test process has (the
    // usual default soft limit is 1024), and the test says so if it is lower.
    let ours = open_files_limit("self");
    assert!(ours >= 1024, "this test needs an open-files soft limit of 1024 (ulimit -n); the test process has {ours}");
    let srv = Server::start("hflood", CAT);
    let theirs = open_files_limit(&srv.pid.to_string());
    assert!(theirs >= 1024, "the daemon's open-files limit is {theirs}");

    // Each held connection has made one keep-alive call: idle between requests, it is
    // kept for minutes (a fresh connection that sends nothing would go after seconds).
    let mut held: Vec<(UnixStream, Vec<u8>)> = (0..HELD)
        .map(|_| {
            let mut s = srv.unix();
            let mut buf = Vec::new();
            call_on(&mut s, &mut buf, "supervisor.getState", &[]).expect("a keep-alive call");
            (s, buf)
        })
        .collect();
    // The honest client is still served with 500 idle connections open.
    srv.assert_healthy();
    let info = srv.call("supervisor.getProcessInfo", &[Value::str("cat")]).expect("getProcessInfo");
    assert_eq!(member(&info, "name").as_str(), Some("cat"));
    assert!(held.iter().all(|(s, _)| !closed_by_server(s)), "an idle connection was closed");

    // Beyond the budget, new clients of the unix socket are admitted, and the longest
    // idle connections are closed to make room: the first held ones, in order.
    let mut extra: Vec<UnixStream> = (0..EXTRA).map(|_| srv.unix()).collect();
    let over = HELD + EXTRA - BUDGET;
    let mut closed = 0;
    assert!(
        wait_until(Duration::from_secs(10), || {
            closed = held.iter().filter(|(s, _)| closed_by_server(s)).count();
            closed >= over
        }),
        "only {closed} held connections were closed; expected {over}"
    );
    let closed_idx: Vec<usize> = (0..HELD).filter(|i| closed_by_server(&held[*i].0)).collect();
    assert_eq!(closed_idx, (0..over).collect::<Vec<_>>(), "the oldest idle connections go first");
    for s in &mut extra {
        let mut buf = Vec::new();
        let state = call_on(s, &mut buf, "supervisor.getState", &[]).expect("a client admitted past the budget");
        assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));
    }
    // A held connection still open is served too.
    let (mut last, mut buf) = held.pop().expect("held connections");
    let state = call_on(&mut last, &mut buf, "supervisor.getState", &[]).expect("a held connection is served");
    assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));
    assert!(srv.d.log().contains("reached its budget of 512 connections"), "the budget was not logged");
    srv.assert_healthy();
}

// ---------------------------------------------------------------------------------
// 7. Wrong XML-RPC parameters.

#[test]
fn wrong_param_types_and_counts_are_faults_not_500s() {
    let srv = Server::start("hparam", CAT);
    let s_ = Value::str;
    let strukt = || Value::Struct(vec![("a".into(), Value::Int(1))]);
    const INCORRECT: i32 = 2;
    const BAD_NAME: i32 = 10;
    const UNKNOWN: i32 = 1;
    // (method, params, the faults acceptable)
    let cases: Vec<(&str, Vec<Value>, &[i32])> = vec![
        ("supervisor.getProcessInfo", vec![Value::Int(5)], &[INCORRECT, BAD_NAME]),
        ("supervisor.getProcessInfo", vec![], &[INCORRECT]),
        ("supervisor.getProcessInfo", vec![strukt()], &[INCORRECT]),
        ("supervisor.getProcessInfo", vec![Value::Array(vec![s_("cat")])], &[INCORRECT]),
        ("supervisor.getProcessInfo", vec![s_("cat"), s_("cat")], &[INCORRECT]),
        ("supervisor.startProcess", vec![strukt()], &[INCORRECT]),
        ("supervisor.startProcess", vec![s_("cat"), strukt()], &[INCORRECT]),
        (
            "supervisor.stopProcess",
            vec![s_("cat"), Value::Bool(true), Value::Int(1), s_("x"), Value::Int(2)],
            &[INCORRECT],
        ),
        ("supervisor.stopProcess", vec![], &[INCORRECT]),
        ("supervisor.readLog", vec![s_("a"), s_("b")], &[INCORRECT]),
        ("supervisor.readLog", vec![Value::Double(1.5), Value::Int(0)], &[INCORRECT]),
        ("supervisor.readProcessStdoutLog", vec![s_("cat"), Value::Int(0)], &[INCORRECT]),
        ("supervisor.tailProcessStdoutLog", vec![strukt(), Value::Int(0), Value::Int(10)], &[INCORRECT]),
        ("supervisor.signalProcess", vec![s_("cat"), strukt()], &[INCORRECT]),
        ("supervisor.sendProcessStdin", vec![s_("cat"), Value::Int(5)], &[INCORRECT]),
        ("supervisor.getState", vec![Value::Int(1)], &[INCORRECT]),
        ("supervisor.startProcessGroup", vec![Value::Array(vec![])], &[INCORRECT]),
        ("system.methodHelp", vec![Value::Array(vec![])], &[INCORRECT]),
        ("system.methodSignature", vec![], &[INCORRECT]),
        ("system.multicall", vec![s_("not an array")], &[INCORRECT]),
        ("system.multicall", vec![], &[INCORRECT]),
        ("supervisor.nope", vec![], &[UNKNOWN]),
        ("supervisor._private", vec![], &[UNKNOWN]),
        ("a.b.c", vec![], &[UNKNOWN]),
        ("nodots", vec![], &[UNKNOWN]),
    ];
    let mut conn = srv.unix();
    let mut buf = Vec::new();
    for (method, params, codes) in &cases {
        let r = call_on(&mut conn, &mut buf, method, params);
        let code = fault_code(&r);
        assert!(
            code.is_some_and(|c| codes.contains(&c)),
            "{method}({params:?}) gave {r:?}; expected a fault in {codes:?}"
        );
    }
    // The keep-alive connection survived every fault.
    let state = call_on(&mut conn, &mut buf, "supervisor.getState", &[]).expect("getState");
    assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));

    // Multicall elements of the wrong shape are faults inside a normal answer.
    let items = vec![
        Value::Int(5),
        s_("supervisor.getState"),
        Value::Struct(vec![("params".into(), Value::Array(vec![]))]),
        Value::Struct(vec![("methodName".into(), s_("supervisor.getState")), ("params".into(), s_("x"))]),
        Value::Struct(vec![("methodName".into(), s_("system.multicall")), ("params".into(), Value::Array(vec![]))]),
        Value::Struct(vec![("methodName".into(), Value::Int(7))]),
        Value::Struct(vec![("methodName".into(), s_("supervisor.getState"))]),
    ];
    let r = call_on(&mut conn, &mut buf, "system.multicall", &[Value::Array(items)]).expect("multicall answers");
    let Value::Array(results) = r else { panic!("multicall gave {r:?}") };
    assert_eq!(results.len(), 7, "{results:?}");
    for (i, item) in results[..6].iter().enumerate() {
        assert_eq!(member(item, "faultCode").as_int(), Some(i64::from(INCORRECT)), "item {i}: {item:?}");
    }
    assert_eq!(member(&results[6], "statename").as_str(), Some("RUNNING"));

    // Values the unmarshaller does not know: a 400 (as the reference), never a 500.
    let odd_values = [
        "<nil/>",
        "<i8>5</i8>",
        "<int>99999999999999999999999</int>",
        "<int>twelve</int>",
        "<double>NaNish</double>",
        "<base64>!!!not base64!!!</base64>",
        "<boolean>7</boolean>",
        "<dateTime.iso8601>yesterday</dateTime.iso8601>",
        "<struct><member><value><int>1</int></value></member></struct>",
        "<unknown>x</unknown>",
    ];
    for v in odd_values {
        let body = format!("<?xml version='1.0'?><methodCall><methodName>supervisor.getProcessInfo</methodName><params><param><value>{v}</value></param></params></methodCall>");
        let mut s = srv.unix();
        s.write_all(&post("/RPC2", body.as_bytes(), false)).unwrap();
        let resp = read_response(&mut s, &mut Vec::new()).unwrap().expect("an answer");
        assert!(resp.status == 200 || resp.status == 400, "{v}: HTTP {}", resp.status);
        if resp.status == 200 {
            assert!(rpc_result(&resp).is_err(), "{v}: getProcessInfo succeeded");
        }
    }
    // A call without a method name, and an empty body.
    for body in ["<?xml version='1.0'?><methodCall><params/></methodCall>", ""] {
        let mut s: Box<dyn Stream> = Box::new(srv.unix());
        write_lossy(&mut s, &post("/RPC2", body.as_bytes(), false));
        assert_eq!(reply(&mut s), Reply::Status(400), "body {body:?}");
    }
    srv.assert_healthy();
}

// ---------------------------------------------------------------------------------
// 8. A client that never reads.

/// 100 programs (not started): getAllProcessInfo answers about 100 KB each.
const MANY: &str =
    "[program:p]\ncommand=/bin/cat\nnumprocs=100\nprocess_name=%(program_name)s_%(process_num)03d\nautostart=false\n";

/// getAllProcessInfo once, checked; returns the size of its XML answer.
fn all_info_size(srv: &Server) -> usize {
    let one = srv.call("supervisor.getAllProcessInfo", &[]).expect("getAllProcessInfo");
    let Value::Array(all) = &one else { panic!("{one:?}") };
    assert_eq!(all.len(), 100);
    xmlrpc::response(&one).len()
}

/// Honest calls while hogs sit on the daemon: each answered correctly within 1 s.
fn honest_calls_are_prompt(srv: &Server, what: &str) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..40 {
        let t = Instant::now();
        if i % 4 == 0 {
            let v = srv.call("supervisor.getAllProcessInfo", &[]).expect("getAllProcessInfo");
            let Value::Array(all) = v else { panic!("{v:?}") };
            assert_eq!(all.len(), 100);
        } else {
            let state = srv.call("supervisor.getState", &[]).expect("getState");
            assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));
        }
        slowest = slowest.max(t.elapsed());
        assert!(t.elapsed() < Duration::from_secs(1), "call {i} took {:?} next to {what}", t.elapsed());
    }
    slowest
}

#[test]
fn clients_that_never_read_their_answers_do_not_block_others() {
    let srv = Server::start("hnoread", MANY);
    let size = all_info_size(&srv);
    let baseline = srv.rss_kb();
    let sampler = RssSampler::start(srv.pid);
    // 20 clients each ask for getAllProcessInfo and never read a byte.
    let mut hogs: Vec<UnixStream> = (0..20).map(|_| srv.unix()).collect();
    for h in &mut hogs {
        h.write_all(&rpc_request("supervisor.getAllProcessInfo", &[], true)).unwrap();
    }
    let slowest = honest_calls_are_prompt(&srv, "20 clients that never read");
    srv.assert_healthy();
    let peak = sampler.peak_kb();
    drop(sampler);
    println!("20 never-reading clients: {size} bytes per answer, slowest other call {slowest:?}, RSS {baseline} kB -> peak {peak} kB");
    assert!(peak < baseline + 16 * 1024, "the daemon grew from {baseline} kB to {peak} kB");
    // The hogs' answers were kept for them: each reads a complete one now.
    for h in &mut hogs {
        let resp = read_response(h, &mut Vec::new()).unwrap().expect("the hog's answer");
        let Value::Array(all) = rpc_result(&resp).unwrap() else { panic!() };
        assert_eq!(all.len(), 100);
    }
    drop(hogs);
    srv.assert_healthy();
}

#[test]
fn a_pipelining_client_that_never_reads_is_bounded_by_the_pending_output_cap() {
    let srv = Server::start("hnoreadp", MANY);
    let size = all_info_size(&srv);
    let baseline = srv.rss_kb();
    let sampler = RssSampler::start(srv.pid);
    // 200 pipelined calls (about 200 x size bytes of answers) in one write, never read.
    let mut hog = srv.unix();
    let mut pipelined = Vec::new();
    for _ in 0..200 {
        pipelined.extend(rpc_request("supervisor.getAllProcessInfo", &[], true));
    }
    hog.write_all(&pipelined).expect("send the pipelined calls");
    let slowest = honest_calls_are_prompt(&srv, "a pipelining client that never reads");
    srv.assert_healthy();
    let peak = sampler.peak_kb();
    drop(sampler);
    println!("pipelining never-reader: {size} bytes per answer, slowest other call {slowest:?}, RSS {baseline} kB -> peak {peak} kB");
    // The server stops reading from a client with 8 MiB of unread answers
    // (MAX_PENDING_OUTPUT): what it holds for the hog is bounded by that, not by what
    // the hog asked for.
    assert!(
        peak < baseline + 24 * 1024,
        "the daemon grew from {baseline} kB to {peak} kB for a client that never reads"
    );
    // The hog's connection is still good: it reads complete answers now.
    let mut buf = Vec::new();
    for _ in 0..3 {
        let resp = read_response(&mut hog, &mut buf).unwrap().expect("a pipelined answer");
        let Value::Array(all) = rpc_result(&resp).unwrap() else { panic!() };
        assert_eq!(all.len(), 100);
    }
    drop(hog);
    srv.assert_healthy();
}

/// The daemon's open file descriptors.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn a_keep_alive_client_that_stops_reading_is_dropped_after_the_60_s_write_timeout() {
    let srv = Server::start("hwrite60", MANY);
    let size = all_info_size(&srv);
    let baseline = open_fds(srv.pid);
    // Enough pipelined keep-alive answers to fill the socket buffers, never read.
    let mut hog = srv.unix();
    let mut pipelined = Vec::new();
    for _ in 0..(4 << 20) / size + 1 {
        pipelined.extend(rpc_request("supervisor.getAllProcessInfo", &[], true));
    }
    hog.write_all(&pipelined).expect("send the pipelined calls");
    assert!(wait_until(Duration::from_secs(10), || open_fds(srv.pid) > baseline), "the hog's connection never showed");
    let stalled = Instant::now();
    // A stalled keep-alive answer is bounded by the write timeout, not the 300 s idle one.
    let dropped = wait_until(Duration::from_secs(90), || open_fds(srv.pid) <= baseline);
    let after = stalled.elapsed();
    println!("a keep-alive client that stopped reading was dropped after {after:?}");
    assert!(dropped, "the stalled connection was still open after {after:?}");
    assert!(after >= Duration::from_secs(55), "dropped after only {after:?}");
    srv.assert_healthy();
}

/// Sends `n` pipelined getState calls in one go (from a thread) and reads the answers
/// in order; returns how many were answered before the server closed.
fn pipelined_get_state(srv: &Server, n: usize) -> usize {
    let mut pipelined = Vec::new();
    for _ in 0..n {
        pipelined.extend(rpc_request("supervisor.getState", &[], true));
    }
    let s = srv.unix();
    let mut writer = s.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&pipelined);
    });
    let mut s: Box<dyn Stream> = Box::new(s);
    let mut buf = Vec::new();
    let mut answered = 0;
    while answered < n {
        match read_response(&mut s, &mut buf) {
            Ok(Some(resp)) => {
                let state = rpc_result(&resp).expect("getState");
                assert_eq!(member(&state, "statename").as_str(), Some("RUNNING"));
                answered += 1;
            }
            Ok(None) => break,
            Err(e) => panic!("after {answered} answers: {e}"),
        }
    }
    drop(s);
    sender.join().unwrap();
    answered
}

#[test]
fn a_hundred_pipelined_calls_are_all_answered_in_order() {
    let srv = Server::start("hpipe1", CAT);
    assert_eq!(pipelined_get_state(&srv, 100), 100);
    srv.assert_healthy();
}

#[test]
fn thousands_of_pipelined_calls_on_one_connection_do_not_crash_the_daemon() {
    let srv = Server::start("hpipe", CAT);
    // 20,000 small calls (about 3.7 MB, under the 4 MiB read cap), every answer read.
    let n = 20_000;
    let answered = pipelined_get_state(&srv, n);
    if answered < n {
        // Tell a crash from a close in the message.
        let died = wait_until(Duration::from_secs(2), || !pid_alive(srv.pid));
        panic!(
            "only {answered} of {n} pipelined calls were answered; the daemon {}",
            if died { "died" } else { "closed the connection" }
        );
    }
    srv.assert_healthy();
}

#[test]
fn bytes_streamed_at_a_busy_connection_do_not_grow_the_daemon() {
    let prog = "[program:slow]\ncommand=/bin/sleep 1000\nstartsecs=3\nautostart=false\n";
    let srv = Server::start("hstream", prog);
    let sampler = RssSampler::start(srv.pid);
    // (a) a /mainlogtail stream; (b) a parked startProcess (startsecs=3, wait=true).
    for case in ["tail", "wait"] {
        let mut s = srv.unix();
        if case == "tail" {
            s.write_all(b"GET /mainlogtail HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
            let resp = read_response(&mut s, &mut Vec::new()).unwrap().expect("the stream's head");
            assert_eq!(resp.status, 200);
        } else {
            s.write_all(&rpc_request("supervisor.startProcess", &[Value::str("slow")], true)).unwrap();
        }
        // Then 64 MiB of junk (for at most 2 s: a server that stops reading is fine).
        s.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
        let block = vec![b'j'; 64 * 1024];
        let (mut sent, t0) = (0usize, Instant::now());
        while sent < 64 << 20 && t0.elapsed() < Duration::from_secs(2) {
            match s.write(&block) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        println!("{case}: the daemon took {sent} bytes of junk on a busy connection");
        drop(s);
        srv.assert_healthy();
    }
    let peak = sampler.peak_kb();
    drop(sampler);
    println!("peak RSS while junk was streamed at busy connections: {peak} kB");
    assert!(peak < 30 * 1024, "the daemon's RSS reached {peak} kB");
}

// ---------------------------------------------------------------------------------
// 9. Path tricks.

#[test]
fn dot_dot_and_slashes_in_names_are_bad_names_and_404s() {
    let prog = "[program:echo]\ncommand=/bin/sh -c \"echo hello; exec sleep 1000\"\nstartsecs=0\nstdout_logfile={dir}/echo.log\n";
    let srv = Server::start("hpath", prog);
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(srv.d.dir.join("echo.log"))
            .is_ok_and(|t| t.contains("hello"))),
        "echo never logged"
    );
    let names = [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "echo/../../../etc/passwd",
        "echo:../../etc/passwd",
        "../echo",
        "%2e%2e%2fetc%2fpasswd",
    ];
    const BAD_NAME: i32 = 10;
    for name in names {
        for (method, params) in [
            ("supervisor.getProcessInfo", vec![Value::str(name)]),
            ("supervisor.readProcessStdoutLog", vec![Value::str(name), Value::Int(0), Value::Int(1000)]),
            ("supervisor.tailProcessStdoutLog", vec![Value::str(name), Value::Int(0), Value::Int(1000)]),
            ("supervisor.clearProcessLogs", vec![Value::str(name)]),
            ("supervisor.startProcess", vec![Value::str(name)]),
        ] {
            let r = srv.call(method, &params);
            assert_eq!(fault_code(&r), Some(BAD_NAME), "{method}({name:?}) gave {r:?}");
        }
    }
    assert!(std::fs::metadata("/etc/passwd").is_ok_and(|m| m.len() > 0), "clearProcessLogs touched /etc/passwd");

    let get = |target: &str| -> Reply {
        let mut s: Box<dyn Stream> = Box::new(srv.unix());
        write_lossy(&mut s, format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        s.set_timeout(Some(IO_TIMEOUT));
        let mut buf = Vec::new();
        match read_response(&mut s, &mut buf).unwrap() {
            Some(resp) => {
                assert!(
                    !String::from_utf8_lossy(&buf).contains("root:")
                        && !String::from_utf8_lossy(&resp.body).contains("root:"),
                    "{target} leaked /etc/passwd"
                );
                Reply::Status(resp.status)
            }
            None => Reply::Closed,
        }
    };
    for target in [
        "/logtail/..%2F..%2Fetc%2Fpasswd",
        "/logtail/..%2F..%2Fetc%2Fpasswd/stdout",
        "/logtail/../../etc/passwd",
        "/logtail/%2Fetc%2Fpasswd",
        "/logtail/echo%2F..%2F..%2Fetc%2Fpasswd",
        "/logtail/echo/../../../etc/passwd",
        "/../../../../etc/passwd",
        "/..%2F..%2F..%2Fetc%2Fpasswd",
        "/ui/../../../etc/passwd",
    ] {
        assert_eq!(get(target), Reply::Status(404), "GET {target}");
    }
    // Control: the real log is served.
    assert_eq!(get("/logtail/echo"), Reply::Status(200), "GET /logtail/echo");
    let log = srv.call("supervisor.readProcessStdoutLog", &[Value::str("echo"), Value::Int(0), Value::Int(100)]);
    assert_eq!(log.unwrap().as_str(), Some("hello\n"));
    srv.assert_healthy();
}
