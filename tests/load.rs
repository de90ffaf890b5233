//! The load test: a daemon with 200 running programs and one that writes 100 MB to its
//! stdout log, while 200 client threads call supervisor.getAllProcessInfo in a loop on
//! their own keep-alive unix-socket connections. No byte of the log may be lost, every
//! answer must parse and list all 201 processes, and the daemon's memory stays bounded.
//! Run with `--nocapture` to see the figures.

mod common;
use common::*;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use supervisor::rpc::xmlrpc::{self, Fault, Value};

const PROGRAMS: usize = 200;
const CLIENTS: usize = 200;
/// getAllProcessInfo calls per client.
const ITERATIONS: usize = 10;
/// Every response is checked by `count_processes`; this many clients also run the
/// library's full XML-RPC parser on their first answer (see `count_processes` for why
/// not all of them).
const FULL_PARSE_EVERY: usize = 10;
const BIG: u64 = 104_857_600;
const RSS_CEILING_KB: u64 = 64 * 1024;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// An XML-RPC client on a unix socket: keep-alive (one connection for all calls) or
/// one new connection per call.
struct Client {
    sock: PathBuf,
    keep_alive: bool,
    s: Option<UnixStream>,
    buf: Vec<u8>,
}

impl Client {
    fn new(sock: &Path, keep_alive: bool) -> io::Result<Client> {
        let mut c = Client { sock: sock.to_path_buf(), keep_alive, s: None, buf: Vec::new() };
        c.s = Some(c.connect()?);
        Ok(c)
    }

    fn connect(&self) -> io::Result<UnixStream> {
        let s = UnixStream::connect(&self.sock)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        s.set_write_timeout(Some(Duration::from_secs(60)))?;
        Ok(s)
    }

    /// One call; the raw XML body of a 200 answer.
    fn call_raw(&mut self, method: &str, params: &[Value]) -> io::Result<Vec<u8>> {
        let mut s = match self.s.take() {
            Some(s) => s,
            None => self.connect()?,
        };
        self.buf.clear();
        let body = xmlrpc::call(method, params);
        let close = if self.keep_alive { "" } else { "Connection: close\r\n" };
        let req = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n{close}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes())?;
        let mut chunk = vec![0u8; 256 * 1024];
        let mut searched = 0;
        let head_end = loop {
            if let Some(at) = find(&self.buf[searched..], b"\r\n\r\n") {
                break searched + at + 4;
            }
            searched = self.buf.len().saturating_sub(3);
            match s.read(&mut chunk)? {
                0 => return Err(io::Error::other("closed before an answer")),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        if !head.starts_with("HTTP/1.1 200 ") {
            return Err(io::Error::other(format!("not a 200: {head}")));
        }
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
            })
            .ok_or_else(|| io::Error::other(format!("no Content-Length: {head}")))?;
        while self.buf.len() < head_end + len {
            match s.read(&mut chunk)? {
                0 => return Err(io::Error::other("the body was cut short")),
                n => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
        if self.buf.len() != head_end + len {
            return Err(io::Error::other("bytes after the answer"));
        }
        if self.keep_alive {
            self.s = Some(s);
        } else if s.read(&mut chunk)? != 0 {
            return Err(io::Error::other("the server did not close after Connection: close"));
        }
        Ok(self.buf.split_off(head_end))
    }

    /// One call, parsed by the library's XML-RPC parser.
    fn call(&mut self, method: &str, params: &[Value]) -> io::Result<Result<Value, Fault>> {
        let body = self.call_raw(method, params)?;
        xmlrpc::parse_response(&body).map_err(io::Error::other)
    }
}

/// A strict check of a getAllProcessInfo answer that allocates nothing: the document
/// is well formed as far as tags go (every element closed in order, no DOCTYPE, no
/// fault), has the methodResponse/params/param/value/array/data shape, and lists N
/// `<struct>` values each with a `name` member; returns N.
///
/// Why not `xmlrpc::parse_response` on every answer: in the test profile (opt-level 0)
/// it takes ~50 ms per 218 KB answer, and 200 threads doing that starve the daemon's
/// single thread of the 2 cores — the test would measure the test client. A sample of
/// clients does run the full parser.
fn count_processes(xml: &[u8]) -> Result<usize, String> {
    const PATH: [&[u8]; 7] = [b"methodResponse", b"params", b"param", b"value", b"array", b"data", b"value"];
    let mut stack: Vec<&[u8]> = Vec::with_capacity(16);
    let (mut structs, mut names, mut root_closed) = (0, 0, false);
    let mut i = 0;
    while let Some(off) = xml[i..].iter().position(|&b| b == b'<') {
        let start = i + off + 1;
        let len = xml[start..].iter().position(|&b| b == b'>').ok_or("an unterminated tag")?;
        let tag = &xml[start..start + len];
        i = start + len + 1;
        if root_closed && !tag.starts_with(b"?") {
            return Err("content after the document element".into());
        }
        if tag.starts_with(b"?") {
            continue;
        } else if tag.starts_with(b"!") {
            return Err("a DOCTYPE, comment or CDATA section".into());
        } else if let Some(name) = tag.strip_prefix(b"/") {
            match stack.pop() {
                Some(open) if open == name => root_closed = stack.is_empty(),
                other => {
                    return Err(format!(
                        "</{}> closes <{}>",
                        String::from_utf8_lossy(name),
                        String::from_utf8_lossy(other.unwrap_or(b""))
                    ))
                }
            }
        } else if tag.ends_with(b"/") {
            // An empty element: nothing opens.
        } else {
            if tag.contains(&b' ') {
                return Err(format!("attributes in <{}>", String::from_utf8_lossy(tag)));
            }
            if tag == b"fault" {
                return Err("a fault".into());
            }
            let depth = stack.len();
            if depth < PATH.len() && tag != PATH[depth] {
                return Err(format!(
                    "<{}> where <{}> belongs",
                    String::from_utf8_lossy(tag),
                    String::from_utf8_lossy(PATH[depth])
                ));
            }
            stack.push(tag);
            if depth == 7 && tag == b"struct" {
                structs += 1;
            }
            if depth == 9 && tag == b"name" && xml[i..].starts_with(b"name</name>") {
                names += 1;
            }
        }
    }
    if !root_closed {
        return Err("the document is not complete".into());
    }
    if names != structs {
        return Err(format!("{structs} structs but {names} name members"));
    }
    Ok(structs)
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
}

fn state_of(info: &Value) -> &str {
    info.get("statename").and_then(Value::as_str).unwrap_or("?")
}

struct Figures {
    calls: usize,
    clients_secs: f64,
    writer_secs: f64,
    baseline_kb: u64,
    peak_kb: u64,
}

/// The load run; `keep_alive`: each client keeps one connection for all its calls, or
/// opens a new one per call. Asserts everything but the RSS ceiling, prints the figures.
fn run(tag: &str, keep_alive: bool) -> Figures {
    let body = format!(
        "[unix_http_server]\nfile={{dir}}/sv.sock\n\n\
         [program:s]\ncommand=/bin/sleep 1000\nnumprocs={PROGRAMS}\nprocess_name=%(program_name)s_%(process_num)03d\n\
         startsecs=0\nautorestart=false\nstdout_logfile=NONE\nstderr_logfile=NONE\n\n\
         [program:big]\ncommand=/bin/sh -c \"head -c {BIG} /dev/zero | tr '\\0' 'x'\"\nautostart=false\n\
         startsecs=0\nautorestart=false\nstdout_logfile={{dir}}/big.log\nstdout_logfile_maxbytes=0\n"
    );
    let d = Daemon::start(tag, &body);
    let pid = d.pid();
    let sock = d.dir.join("sv.sock");
    let big_log = d.dir.join("big.log");
    let total = PROGRAMS + 1;

    // All 200 sleepers running.
    let mut admin = None;
    assert!(wait_until(Duration::from_secs(10), || {
        admin = Client::new(&sock, true).ok();
        admin.is_some()
    }));
    let mut admin = admin.unwrap();
    let mut running = 0;
    assert!(
        wait_until(Duration::from_secs(30), || {
            let Ok(Ok(Value::Array(all))) = admin.call("supervisor.getAllProcessInfo", &[]) else { return false };
            running = all.iter().filter(|i| state_of(i) == "RUNNING").count();
            all.len() == total && running == PROGRAMS
        }),
        "only {running} of {PROGRAMS} programs reached RUNNING; log:\n{}",
        d.log()
    );

    // The RSS sampler.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(rss_kb(pid).unwrap_or(0)));
    let baseline_kb = peak.load(Ordering::Relaxed);
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kb(pid) {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // 200 clients, each on its own connection(s), released together.
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let calls = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (sock, barrier, calls, finished) = (sock.clone(), barrier.clone(), calls.clone(), finished.clone());
            std::thread::Builder::new()
                .stack_size(512 * 1024)
                .spawn(move || -> Result<(), String> {
                    let client = Client::new(&sock, keep_alive).map_err(|e| format!("client {n}: connect: {e}"));
                    barrier.wait();
                    let mut client = client?;
                    for i in 0..ITERATIONS {
                        let body = client
                            .call_raw("supervisor.getAllProcessInfo", &[])
                            .map_err(|e| format!("client {n} call {i}: {e}"))?;
                        let listed = count_processes(&body).map_err(|e| format!("client {n} call {i}: {e}"))?;
                        if listed != total {
                            return Err(format!("client {n} call {i}: {listed} processes listed"));
                        }
                        if i == 0 && n % FULL_PARSE_EVERY == 0 {
                            match xmlrpc::parse_response(&body) {
                                Ok(Ok(Value::Array(all))) if all.len() == total => {}
                                other => return Err(format!("client {n} call {i}: parsed as {other:?}")),
                            }
                        }
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                    finished.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                })
                .expect("spawn a client thread")
        })
        .collect();
    barrier.wait();
    let t0 = Instant::now();
    // The writer starts with the clients.
    let started =
        admin.call("supervisor.startProcess", &[Value::str("big"), Value::Bool(false)]).expect("startProcess");
    assert_eq!(started, Ok(Value::Bool(true)));

    let mut errors = Vec::new();
    for c in clients {
        if let Err(e) = c.join().expect("a client thread panicked") {
            errors.push(e);
        }
    }
    let clients_secs = t0.elapsed().as_secs_f64();
    let log_at_clients_done = std::fs::metadata(&big_log).map(|m| m.len()).unwrap_or(0);

    // The writer finishes; every byte reaches the log.
    let mut big_state = String::new();
    assert!(
        wait_until(Duration::from_secs(60), || {
            match admin.call("supervisor.getProcessInfo", &[Value::str("big")]) {
                Ok(Ok(info)) => {
                    big_state = state_of(&info).to_string();
                    big_state == "EXITED"
                }
                _ => false,
            }
        }),
        "big did not exit (state {big_state})"
    );
    let writer_secs = t0.elapsed().as_secs_f64();
    let info = admin.call("supervisor.getProcessInfo", &[Value::str("big")]).unwrap().unwrap();
    assert_eq!(info.get("exitstatus").and_then(Value::as_int), Some(0), "{info:?}");
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak_kb = peak.load(Ordering::Relaxed);

    let n_calls = calls.load(Ordering::Relaxed);
    let mode = if keep_alive { "keep-alive connections" } else { "a new connection per call" };
    println!("load ({mode}): {PROGRAMS} programs + big; {CLIENTS} clients x {ITERATIONS} getAllProcessInfo");
    println!(
        "load ({mode}): {n_calls} calls in {clients_secs:.2} s = {:.0} calls/s; big.log had {} MB by then",
        n_calls as f64 / clients_secs,
        log_at_clients_done >> 20
    );
    println!(
        "load ({mode}): 100 MB logged {writer_secs:.2} s after the start; daemon RSS {baseline_kb} kB before, peak {peak_kb} kB"
    );

    assert!(errors.is_empty(), "{} clients failed, e.g.: {:?}", errors.len(), &errors[..errors.len().min(5)]);
    assert_eq!(finished.load(Ordering::Relaxed), CLIENTS, "not every client finished");
    assert_eq!(n_calls, CLIENTS * ITERATIONS);
    assert!(log_at_clients_done > 0, "the writer wrote nothing while the clients ran: the two did not overlap");
    let size = std::fs::metadata(&big_log).map(|m| m.len()).unwrap_or(0);
    assert_eq!(size, BIG, "big.log holds {size} bytes, not {BIG}");
    // Every byte is the one written.
    let mut f = std::fs::File::open(&big_log).unwrap();
    let mut chunk = vec![0u8; 1 << 20];
    let mut seen = 0u64;
    loop {
        let n = f.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        assert!(chunk[..n].iter().all(|&b| b == b'x'), "a byte other than 'x' near offset {seen}");
        seen += n as u64;
    }
    assert_eq!(seen, BIG);
    // Still healthy afterwards.
    let state = admin.call("supervisor.getState", &[]).unwrap().unwrap();
    assert_eq!(state_of(&state), "RUNNING");
    assert!(pid_alive(pid));
    Figures { calls: n_calls, clients_secs, writer_secs, baseline_kb, peak_kb }
}

#[test]
fn two_hundred_clients_and_a_100_mb_writer() {
    let f = run("load", false);
    assert!(f.calls > 0 && f.clients_secs > 0.0 && f.writer_secs >= f.clients_secs.min(f.writer_secs));
    assert!(
        f.peak_kb < RSS_CEILING_KB,
        "the daemon's RSS peaked at {} kB (from {} kB; ceiling {RSS_CEILING_KB} kB)",
        f.peak_kb,
        f.baseline_kb
    );
}

#[test]
fn two_hundred_keep_alive_clients_and_a_100_mb_writer() {
    let f = run("loadka", true);
    assert!(
        f.peak_kb < RSS_CEILING_KB,
        "the daemon's RSS peaked at {} kB (from {} kB; ceiling {RSS_CEILING_KB} kB)",
        f.peak_kb,
        f.baseline_kb
    );
}

#[test]
fn idle_keep_alive_connections_do_not_pin_their_last_answer() {
    let body = format!(
        "[unix_http_server]\nfile={{dir}}/sv.sock\n\n\
         [program:s]\ncommand=/bin/sleep 1000\nnumprocs={PROGRAMS}\nprocess_name=%(program_name)s_%(process_num)03d\n\
         autostart=false\n"
    );
    let d = Daemon::start("loadidle", &body);
    let sock = d.dir.join("sv.sock");
    assert!(wait_until(Duration::from_secs(10), || UnixStream::connect(&sock).is_ok()));
    let before = rss_kb(d.pid()).unwrap();
    // 200 clients each make one getAllProcessInfo call (~218 KB) and stay connected.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut c = Client::new(&sock, true).unwrap();
        let body = c.call_raw("supervisor.getAllProcessInfo", &[]).unwrap();
        assert_eq!(count_processes(&body), Ok(PROGRAMS));
        clients.push(c);
    }
    let idle = rss_kb(d.pid()).unwrap();
    drop(clients);
    let mut after = idle;
    wait_until(Duration::from_secs(5), || {
        after = rss_kb(d.pid()).unwrap();
        after < before + 16 * 1024
    });
    println!("RSS: {before} kB, {idle} kB with {CLIENTS} idle keep-alive connections, {after} kB once they closed");
    // Idle connections hold their small state, not their last answer.
    assert!(idle < before + 16 * 1024, "{CLIENTS} idle keep-alive connections hold {} kB", idle - before);
}
