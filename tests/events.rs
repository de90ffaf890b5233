//! Event listeners, capture mode, reread/update and fcgi-program sockets (reference §6,
//! §3.8, §4.3, §5.2, §2.4), against our daemon:
//!
//! * interop with listeners written with the reference's own `supervisor.childutils`
//!   (run by the reference venv's python) and with superlance from PyPI (crashmail,
//!   memmon, httpok, installed into a venv of their own under target/);
//! * the header and payload of every event type, byte for byte as §6.2 shows them;
//!   `len` counts characters as the reference does, so stock text-mode listeners
//!   (childutils, superlance) never hang on non-ASCII payloads, and a pool with
//!   `len_unit=bytes` (our opt-in) gets byte counts;
//! * protocol edge cases with hand-written listeners (tests/support/proto_listener.py):
//!   rejection and redelivery, garbage while READY, death while BUSY, buffer overflow;
//! * an event storm with a slow listener while the daemon must keep answering;
//! * `reread`/`avail`/`update` output of our supervisorctl against the reference's;
//! * fcgi-program sockets shared by the processes of a group, and listener ordering.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use supervisor::rpc::xmlrpc::{self, Fault, Value};

/// Deadline for things that should take a second or two.
const SOON: Duration = Duration::from_secs(15);

/// The control socket and `[supervisorctl]` section every RPC-driven daemon gets.
const CONTROL: &str = "[unix_http_server]\nfile={dir}/s.sock\n\n\
    [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
    [supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n";

fn support(name: &str) -> String {
    repo_root().join("tests/support").join(name).display().to_string()
}

fn ref_py() -> String {
    reference_python().display().to_string()
}

// ---------------------------------------------------------------------------------------
// XML-RPC over the daemon's unix socket.

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One call on a fresh connection (`Connection: close`), with a read timeout.
fn rpc_at(sock: &Path, method: &str, params: &[Value], timeout: Duration) -> Result<Value, Fault> {
    let body = xmlrpc::call(method, params);
    let mut s = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
    s.set_read_timeout(Some(timeout)).expect("set timeout");
    let req = format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send the call");
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).unwrap_or_else(|e| panic!("{method}: reading the answer: {e}"));
    let at = find(&resp, b"\r\n\r\n").unwrap_or_else(|| panic!("{method}: no HTTP head in {resp:?}"));
    xmlrpc::parse_response(&resp[at + 4..])
        .unwrap_or_else(|e| panic!("{method}: unparsable answer ({e}): {}", String::from_utf8_lossy(&resp)))
}

fn rpc(d: &Daemon, method: &str, params: &[Value]) -> Result<Value, Fault> {
    rpc_at(&d.dir.join("s.sock"), method, params, Duration::from_secs(30))
}

fn s(v: &str) -> Value {
    Value::str(v)
}

fn info(d: &Daemon, name: &str) -> Result<Value, Fault> {
    rpc(d, "supervisor.getProcessInfo", &[s(name)])
}

fn statename(d: &Daemon, name: &str) -> String {
    match info(d, name) {
        Ok(v) => v.get("statename").and_then(Value::as_str).unwrap_or("?").to_string(),
        Err(f) => format!("FAULT {}", f.string),
    }
}

fn running_pid(d: &Daemon, name: &str) -> Option<i64> {
    let v = info(d, name).ok()?;
    (v.get("statename")?.as_str()? == "RUNNING").then(|| v.get("pid")?.as_int()).flatten()
}

fn wait_state(d: &Daemon, name: &str, state: &str) {
    assert!(
        wait_until(SOON, || statename(d, name) == state),
        "{name} did not reach {state} (is {}); log:\n{}",
        statename(d, name),
        d.log()
    );
}

fn cmdline(pid: i64) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " ").trim_end().to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// What tests/support/event_recorder.py writes: header line, payload, "\n\x1e\n".

#[derive(Debug, Clone)]
struct Ev {
    header: String,
    payload: Vec<u8>,
}

impl Ev {
    fn field(&self, key: &str) -> &str {
        self.header
            .split_whitespace()
            .find_map(|f| f.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
            .unwrap_or_else(|| panic!("no {key} in header {:?}", self.header))
    }

    fn num(&self, key: &str) -> u64 {
        self.field(key).parse().unwrap_or_else(|_| panic!("{key} is not a number in {:?}", self.header))
    }

    fn name(&self) -> &str {
        self.field("eventname")
    }

    fn text(&self) -> String {
        String::from_utf8(self.payload.clone()).expect("payload is UTF-8")
    }
}

fn read_events(path: &Path) -> Vec<Ev> {
    let data = std::fs::read(path).unwrap_or_default();
    let mut out = Vec::new();
    let mut rest: &[u8] = &data;
    while let Some(end) = find(rest, b"\n\x1e\n") {
        let rec = &rest[..end];
        let nl = rec.iter().position(|&b| b == b'\n').expect("a header line");
        out.push(Ev {
            header: String::from_utf8(rec[..nl].to_vec()).expect("header is UTF-8"),
            payload: rec[nl + 1..].to_vec(),
        });
        rest = &rest[end + 3..];
    }
    out
}

/// The PROCESS_STATE events of one process, as (eventname, payload).
fn states_of(evs: &[Ev], process: &str) -> Vec<(String, String)> {
    let prefix = format!("processname:{process} ");
    evs.iter()
        .filter(|e| e.name().starts_with("PROCESS_STATE_") && e.text().starts_with(&prefix))
        .map(|e| (e.name().to_string(), e.text()))
        .collect()
}

fn pairs(list: &[(&str, String)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.clone())).collect()
}

fn dump(evs: &[Ev]) -> String {
    evs.iter().map(|e| format!("{}\n  {:?}\n", e.header, e.text())).collect()
}

fn epoch() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

// ---------------------------------------------------------------------------------------
// 1. childutils listener: every header and payload.

#[test]
fn childutils_listener_sees_every_event_type_exactly() {
    let body = format!(
        "{CONTROL}\
[eventlistener:rec]
command={py} {rec} {{dir}}/events.rec
events=PROCESS_STATE,REMOTE_COMMUNICATION,PROCESS_LOG,PROCESS_GROUP,SUPERVISOR_STATE_CHANGE,TICK_5
buffer_size=500
len_unit=bytes
startsecs=0

[program:talk]
command=sh -c 'echo \"out é\"; exec sleep 1000'
startsecs=0
stdout_events_enabled=true
stdout_logfile={{dir}}/talk.log

[program:crash]
command=sh -c 'sleep 0.5; exit 3'
startsecs=0
autorestart=false

[program:clean]
command=sh -c 'sleep 0.5; exit 0'
startsecs=0
autorestart=false

[program:fail]
command=sh -c 'exit 1'
startsecs=1
startretries=1

[program:extra]
command=sleep 1000
autostart=false
",
        py = ref_py(),
        rec = support("event_recorder.py")
    );
    let d = Daemon::start("ev-all", &body);
    let file = d.dir.join("events.rec");
    let has = |name: &str, payload_start: &str| {
        read_events(&file).iter().any(|e| e.name() == name && e.text().starts_with(payload_start))
    };
    assert!(
        wait_until(SOON, || has("PROCESS_STATE_FATAL", "processname:fail ")
            && has("PROCESS_STATE_EXITED", "processname:crash ")
            && has("PROCESS_STATE_EXITED", "processname:clean ")
            && has("PROCESS_LOG_STDOUT", "processname:talk ")),
        "the listener did not see the startup events; recorded:\n{}\nlog:\n{}",
        dump(&read_events(&file)),
        d.log()
    );

    // REMOTE_COMMUNICATION, with a non-ASCII payload.
    rpc(&d, "supervisor.sendRemoteCommEvent", &[s("type"), s("data é")]).expect("sendRemoteCommEvent");
    assert!(wait_until(SOON, || has("REMOTE_COMMUNICATION", "type:type\n")), "no REMOTE_COMMUNICATION");
    // STOPPING/STOPPED.
    rpc(&d, "supervisor.stopProcess", &[s("talk")]).expect("stopProcess talk");
    assert!(wait_until(SOON, || has("PROCESS_STATE_STOPPED", "processname:talk ")), "no STOPPED for talk");
    // PROCESS_GROUP_REMOVED / ADDED.
    assert_eq!(rpc(&d, "supervisor.removeProcessGroup", &[s("extra")]), Ok(Value::Bool(true)));
    assert_eq!(rpc(&d, "supervisor.addProcessGroup", &[s("extra")]), Ok(Value::Bool(true)));
    let group_events = || {
        read_events(&file)
            .into_iter()
            .filter(|e| e.name().starts_with("PROCESS_GROUP_"))
            .map(|e| (e.name().to_string(), e.text()))
            .collect::<Vec<_>>()
    };
    assert!(wait_until(SOON, || group_events().len() >= 8), "group events: {:?}", group_events());
    // TICK_5 (at most 5 s away, plus scheduling).
    assert!(wait_until(Duration::from_secs(12), || has("TICK_5", "when:")), "no TICK_5 arrived");

    let evs = read_events(&file);
    let all = dump(&evs);

    // Headers: field order, ver, server, pool, serials, len in bytes (len_unit=bytes).
    let mut last_serial = None;
    for (i, e) in evs.iter().enumerate() {
        let keys: Vec<&str> = e.header.split_whitespace().map(|f| f.split(':').next().unwrap_or("")).collect();
        assert_eq!(keys, ["ver", "server", "serial", "pool", "poolserial", "eventname", "len"], "{}", e.header);
        assert_eq!(e.field("ver"), "3.0");
        assert_eq!(e.field("server"), "test", "server is the identifier");
        assert_eq!(e.field("pool"), "rec");
        assert_eq!(e.num("len"), e.payload.len() as u64, "len counts payload bytes: {}", e.header);
        // One pool, nothing dropped or rejected: pool serials are 0, 1, 2, ... and the
        // global serials increase with them.
        assert_eq!(e.num("poolserial"), i as u64, "pool serials are consecutive:\n{all}");
        if let Some(prev) = last_serial {
            assert!(e.num("serial") > prev, "serials increase:\n{all}");
        }
        last_serial = Some(e.num("serial"));
    }
    assert_eq!(evs[0].num("serial"), 0, "serials start at 0");

    // Startup: every group added (priority, then name), then SUPERVISOR_STATE_CHANGE_RUNNING
    // with an empty payload, then the processes start.
    let names: Vec<&str> = evs.iter().map(Ev::name).collect();
    let startup: Vec<String> = evs[..6].iter().map(|e| format!("{} {:?}", e.name(), e.text())).collect();
    assert_eq!(
        startup,
        ["rec", "clean", "crash", "extra", "fail", "talk"]
            .map(|g| format!("PROCESS_GROUP_ADDED {:?}", format!("groupname:{g}\n"))),
        "\n{all}"
    );
    assert_eq!(names[6], "SUPERVISOR_STATE_CHANGE_RUNNING", "\n{all}");
    assert_eq!(evs[6].field("len"), "0");
    assert!(evs[6].payload.is_empty());
    assert_eq!(names.iter().filter(|n| **n == "SUPERVISOR_STATE_CHANGE_RUNNING").count(), 1);

    // Process state payloads, exactly.
    let pid = |name: &str| d.spawned_pid(name).unwrap_or_else(|| panic!("no spawn of {name}"));
    let (talk, crash, clean, rec) = (pid("talk"), pid("crash"), pid("clean"), pid("rec"));
    let p = |name: &str, rest: &str| format!("processname:{name} groupname:{name} {rest}");
    assert_eq!(
        states_of(&evs, "talk"),
        pairs(&[
            ("PROCESS_STATE_STARTING", p("talk", "from_state:STOPPED tries:0")),
            ("PROCESS_STATE_RUNNING", p("talk", &format!("from_state:STARTING pid:{talk}"))),
            ("PROCESS_STATE_STOPPING", p("talk", &format!("from_state:RUNNING pid:{talk}"))),
            ("PROCESS_STATE_STOPPED", p("talk", &format!("from_state:STOPPING pid:{talk}"))),
        ]),
        "\n{all}"
    );
    assert_eq!(
        states_of(&evs, "crash"),
        pairs(&[
            ("PROCESS_STATE_STARTING", p("crash", "from_state:STOPPED tries:0")),
            ("PROCESS_STATE_RUNNING", p("crash", &format!("from_state:STARTING pid:{crash}"))),
            ("PROCESS_STATE_EXITED", p("crash", &format!("from_state:RUNNING expected:0 pid:{crash}"))),
        ]),
        "\n{all}"
    );
    assert_eq!(
        states_of(&evs, "clean"),
        pairs(&[
            ("PROCESS_STATE_STARTING", p("clean", "from_state:STOPPED tries:0")),
            ("PROCESS_STATE_RUNNING", p("clean", &format!("from_state:STARTING pid:{clean}"))),
            ("PROCESS_STATE_EXITED", p("clean", &format!("from_state:RUNNING expected:1 pid:{clean}"))),
        ]),
        "\n{all}"
    );
    assert_eq!(
        states_of(&evs, "fail"),
        pairs(&[
            ("PROCESS_STATE_STARTING", p("fail", "from_state:STOPPED tries:0")),
            ("PROCESS_STATE_BACKOFF", p("fail", "from_state:STARTING tries:1")),
            ("PROCESS_STATE_STARTING", p("fail", "from_state:BACKOFF tries:1")),
            ("PROCESS_STATE_BACKOFF", p("fail", "from_state:STARTING tries:2")),
            ("PROCESS_STATE_FATAL", p("fail", "from_state:BACKOFF")),
        ]),
        "\n{all}"
    );
    // A listener hears about itself too.
    assert_eq!(
        states_of(&evs, "rec"),
        pairs(&[
            ("PROCESS_STATE_STARTING", p("rec", "from_state:STOPPED tries:0")),
            ("PROCESS_STATE_RUNNING", p("rec", &format!("from_state:STARTING pid:{rec}"))),
        ]),
        "\n{all}"
    );

    // PROCESS_LOG_STDOUT: the header line and the chunk as read; len in bytes.
    let log: Vec<&Ev> = evs.iter().filter(|e| e.name() == "PROCESS_LOG_STDOUT").collect();
    assert_eq!(log.len(), 1, "\n{all}");
    assert_eq!(log[0].text(), format!("processname:talk groupname:talk pid:{talk} channel:stdout\nout é\n"));
    assert_eq!(log[0].num("len"), log[0].text().len() as u64);
    assert_eq!(log[0].num("len"), log[0].text().chars().count() as u64 + 1, "é is one character, two bytes");

    // REMOTE_COMMUNICATION: `type:<type>\n<data>`, len 17 bytes (16 characters).
    let rc: Vec<&Ev> = evs.iter().filter(|e| e.name() == "REMOTE_COMMUNICATION").collect();
    assert_eq!(rc.len(), 1);
    assert_eq!(rc[0].text(), "type:type\ndata é");
    assert_eq!(rc[0].field("len"), "17");

    // The group removed and added again through the API, after the six at startup.
    let groups = group_events();
    assert_eq!(
        groups[6..],
        [
            ("PROCESS_GROUP_REMOVED".to_string(), "groupname:extra\n".to_string()),
            ("PROCESS_GROUP_ADDED".to_string(), "groupname:extra\n".to_string())
        ],
        "\n{all}"
    );

    // TICK_5: `when:` the epoch rounded down to 5 s.
    let tick = evs.iter().find(|e| e.name() == "TICK_5").expect("a TICK_5");
    let when: u64 = tick.text().strip_prefix("when:").and_then(|w| w.parse().ok()).expect("when:<int>");
    assert_eq!(when % 5, 0, "{}", tick.text());
    assert!(when <= epoch() && when + 60 > epoch(), "when:{when} is now-ish");
}

// ---------------------------------------------------------------------------------------
// 2. Capture mode.

#[test]
fn capture_mode_emits_process_communication_and_logs_the_rest_at_once() {
    // childutils.pcomm.stdout() itself cannot be used: in 4.3.0 it writes the (bytes)
    // tokens to the text-mode sys.stdout and raises TypeError on Python 3. The program
    // writes what it would write, in three writes.
    let talker = "import sys, time\n\
sys.stdout.write('before '); sys.stdout.flush()\n\
sys.stdout.write('<!--XSUPERVISOR:BEGIN-->hello<!--XSUPERVISOR:END-->'); sys.stdout.flush()\n\
sys.stdout.write(' after\\n'); sys.stdout.flush()\n\
time.sleep(1000)\n";
    let dir_probe = TempDir::new("ev-capture-src");
    let script = dir_probe.write("talker.py", talker);
    let body = format!(
        "{CONTROL}\
[eventlistener:rec]
command={py} {rec} {{dir}}/events.rec
events=PROCESS_COMMUNICATION
startsecs=0

[program:talker]
command={py} {script}
startsecs=0
stdout_capture_maxbytes=1MB
stdout_logfile={{dir}}/talker.log
",
        py = ref_py(),
        rec = support("event_recorder.py"),
        script = script.display()
    );
    let d = Daemon::start("ev-capture", &body);
    let file = d.dir.join("events.rec");
    assert!(wait_until(SOON, || !read_events(&file).is_empty()), "no PROCESS_COMMUNICATION event; log:\n{}", d.log());
    let evs = read_events(&file);
    let pid = d.spawned_pid("talker").expect("talker spawned");
    assert_eq!(evs.len(), 1, "\n{}", dump(&evs));
    assert_eq!(evs[0].name(), "PROCESS_COMMUNICATION_STDOUT");
    assert_eq!(evs[0].text(), format!("processname:talker groupname:talker pid:{pid}\nhello"));
    assert_eq!(evs[0].num("len"), evs[0].payload.len() as u64);

    // The text around the capture is logged, the short tail too, while the program is
    // still running (the reference holds back a tail shorter than a token).
    let logfile = d.dir.join("talker.log");
    let read_log = || std::fs::read_to_string(&logfile).unwrap_or_default();
    assert!(
        wait_until(SOON, || read_log() == "before  after\n"),
        "the log file should hold exactly the text around the capture, got {:?}",
        read_log()
    );
    assert_eq!(statename(&d, "talker"), "RUNNING");
    let log = read_log();
    assert!(!log.contains("hello") && !log.contains("XSUPERVISOR"), "{log:?}");
}

// ---------------------------------------------------------------------------------------
// 3. Protocol edge cases (tests/support/proto_listener.py).

/// Lines `<pid> <serial> <poolserial> <eventname> <answer>` the listener recorded.
fn proto_records(path: &Path) -> Vec<(u32, u64, u64, String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "record line {l:?}");
            (
                f[0].parse().expect("pid"),
                f[1].parse().expect("serial"),
                f[2].parse().expect("poolserial"),
                f[3].to_string(),
                f[4].to_string(),
            )
        })
        .collect()
}

fn proto_daemon(tag: &str, mode: &str, arg: &str, extra: &str) -> Daemon {
    let body = format!(
        "{CONTROL}\
[eventlistener:lis]
command={py} {script} {mode} {{dir}}/got.txt {arg}
events=REMOTE_COMMUNICATION
startsecs=0
{extra}
",
        py = ref_py(),
        script = support("proto_listener.py"),
    );
    let d = Daemon::start(tag, &body);
    assert!(d.wait_log("lis: ACKNOWLEDGED -> READY", SOON), "the listener never got READY; log:\n{}", d.log());
    d
}

fn send_comm(d: &Daemon, data: &str) {
    assert_eq!(rpc(d, "supervisor.sendRemoteCommEvent", &[s("t"), s(data)]), Ok(Value::Bool(true)));
}

#[test]
fn rejected_event_is_redelivered_until_ok() {
    let d = proto_daemon("ev-fail", "failtwice", "", "");
    send_comm(&d, "one");
    let file = d.dir.join("got.txt");
    assert!(
        wait_until(SOON, || proto_records(&file).len() >= 3),
        "records: {:?}\nlog:\n{}",
        proto_records(&file),
        d.log()
    );
    let recs = proto_records(&file);
    let serial = recs[0].1;
    let seen: Vec<(u64, u64, &str, &str)> = recs.iter().map(|r| (r.1, r.2, r.3.as_str(), r.4.as_str())).collect();
    assert_eq!(
        seen,
        [
            (serial, 0, "REMOTE_COMMUNICATION", "FAIL"),
            (serial, 0, "REMOTE_COMMUNICATION", "FAIL"),
            (serial, 0, "REMOTE_COMMUNICATION", "OK")
        ],
        "the same event (same serial and pool serial) until accepted"
    );
    assert_eq!(d.log().matches("lis: event was rejected").count(), 2, "{}", d.log());
    // Once accepted it is gone: the next event is a new one.
    send_comm(&d, "two");
    assert!(wait_until(SOON, || proto_records(&file).len() >= 4));
    let r = &proto_records(&file)[3];
    assert!(r.1 > serial && r.2 == 1 && r.4 == "OK", "{r:?}");
}

#[test]
fn garbage_while_ready_puts_the_listener_in_unknown() {
    let d = proto_daemon(
        "ev-garbage",
        "garbage",
        "",
        &format!(
            "[eventlistener:good]\ncommand={py} {script} failtwice {{dir}}/good.txt\nevents=REMOTE_COMMUNICATION\nstartsecs=0\n",
            py = ref_py(),
            script = support("proto_listener.py")
        ),
    );
    assert!(
        d.wait_log("lis: has entered the UNKNOWN state and will no longer receive events", SOON),
        "log:\n{}",
        d.log()
    );
    assert!(d.log().contains("lis: READY -> UNKNOWN"), "{}", d.log());
    assert!(d.wait_log("good: ACKNOWLEDGED -> READY", SOON));
    // An event both pools subscribe to: the healthy one gets it (three times: it fails
    // twice), the one in UNKNOWN never does, although it keeps running.
    send_comm(&d, "x");
    let good = d.dir.join("good.txt");
    assert!(wait_until(SOON, || proto_records(&good).len() >= 3), "log:\n{}", d.log());
    assert!(proto_records(&d.dir.join("got.txt")).is_empty(), "a listener in UNKNOWN was sent an event");
    assert_eq!(statename(&d, "lis"), "RUNNING");
}

#[test]
fn event_in_flight_is_redelivered_after_the_listener_dies() {
    let d = proto_daemon("ev-die", "die", "{dir}/died-once", "autorestart=true");
    send_comm(&d, "payload");
    let file = d.dir.join("got.txt");
    assert!(
        wait_until(SOON, || proto_records(&file).iter().any(|r| r.4 == "OK")),
        "records: {:?}\nlog:\n{}",
        proto_records(&file),
        d.log()
    );
    let recs = proto_records(&file);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0].4, "died");
    assert_eq!(recs[1].4, "OK");
    assert_ne!(recs[0].0, recs[1].0, "delivered to the restarted process");
    assert_eq!((recs[0].1, recs[0].2), (recs[1].1, recs[1].2), "the same event (serial, pool serial)");
    assert_eq!(d.log().matches("spawned: 'lis' with pid").count(), 2, "{}", d.log());
}

#[test]
fn full_buffer_drops_the_oldest_event_and_logs_it() {
    let d = proto_daemon("ev-overflow", "gate", "{dir}/gate", "buffer_size=2");
    let file = d.dir.join("got.txt");
    send_comm(&d, "0");
    // The listener holds the first event (BUSY) until the gate file appears.
    assert!(wait_until(SOON, || proto_records(&file).len() == 1), "log:\n{}", d.log());
    let first = proto_records(&file)[0].1;
    for i in 1..=4 {
        send_comm(&d, &i.to_string());
    }
    // Buffer of 2: events 3 and 4 push out 1 and 2.
    for dropped in [first + 1, first + 2] {
        let line = format!("pool lis event buffer overflowed, discarding event {dropped}");
        assert!(d.wait_log(&line, SOON), "no {line:?} in the log:\n{}", d.log());
    }
    assert!(d.log().contains("ERRO pool lis event buffer overflowed"), "logged at ERROR");
    std::fs::write(d.dir.join("gate"), "").expect("open the gate");
    assert!(wait_until(SOON, || proto_records(&file).len() >= 3), "log:\n{}", d.log());
    let serials: Vec<u64> = proto_records(&file).iter().map(|r| r.1).collect();
    assert_eq!(serials, [first, first + 3, first + 4], "the oldest were dropped, the newest delivered");
    assert_eq!(d.log().matches("event buffer overflowed").count(), 2, "{}", d.log());
}

// ---------------------------------------------------------------------------------------
// 4. superlance from PyPI.

/// A venv with Supervisor 4.3.0 and superlance from PyPI, created on first use;
/// creation is serialised across test processes with a file lock.
fn superlance_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = target_dir().join("superlance-venv");
        let ready = venv.join(".superlance-2.0.0-installed");
        if ready.exists() {
            return venv;
        }
        std::fs::create_dir_all(target_dir()).expect("create target dir");
        let lock = std::fs::File::create(target_dir().join("superlance-venv.lock")).expect("create lock");
        lock.lock().expect("lock superlance-venv");
        if !ready.exists() {
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
            let o = run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
            assert!(o.status.success(), "python3 -m venv failed: {}", stderr(&o));
            let o = run(Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("supervisor=={REFERENCE_VERSION}"),
                "superlance==2.0.0",
            ]));
            assert!(o.status.success(), "pip install superlance failed: {}", stderr(&o));
            std::fs::write(&ready, "").expect("mark venv ready");
        }
        venv
    })
    .clone()
}

fn superlance(tool: &str) -> String {
    superlance_venv().join("bin").join(tool).display().to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The crashing program's name is non-ASCII: the EXITED payload reaches crashmail (a
/// text-mode childutils reader) with no added key.
#[test]
fn superlance_crashmail_mails_an_unexpected_exit() {
    let body = format!(
        "{CONTROL}\
[eventlistener:crashmail]
command={crashmail} -a -m root@localhost -o prefix -s 'sh {sendmail} {{dir}}/mail.txt'
events=PROCESS_STATE_EXITED
stderr_logfile={{dir}}/crashmail.err

[program:crashé]
command=sh -c 'sleep 1.5; exit 2'
startsecs=0
autorestart=false

[program:fine]
command=sh -c 'sleep 1.5; exit 0'
startsecs=0
autorestart=false
",
        crashmail = superlance("crashmail"),
        sendmail = support("fake_sendmail.sh"),
    );
    let d = Daemon::start("ev-crashmail", &body);
    let mail = d.dir.join("mail.txt");
    assert!(
        wait_until(Duration::from_secs(20), || read(&mail).contains("exited unexpectedly")),
        "no mail; crashmail stderr:\n{}\nlog:\n{}",
        read(&d.dir.join("crashmail.err")),
        d.log()
    );
    let pid = d.spawned_pid("crashé").expect("crashé spawned");
    let text = read(&mail);
    assert!(text.starts_with("To: root@localhost\nSubject: prefix: crashé crashed at "), "{text}");
    assert!(
        text.ends_with(&format!(
            "\n\nProcess crashé in group crashé exited unexpectedly (pid {pid}) from state RUNNING"
        )),
        "{text}"
    );
    // The expected exit of `fine` was processed too (both EXITED events acknowledged),
    // and not mailed.
    assert!(wait_until(SOON, || d.log().matches("crashmail: event was processed").count() >= 2), "log:\n{}", d.log());
    let text = read(&mail);
    assert_eq!(text.matches("To: ").count(), 1, "only the unexpected exit is mailed: {text}");
}

#[test]
fn superlance_memmon_restarts_a_program_over_its_limit() {
    let body = format!(
        "{CONTROL}\
[eventlistener:memmon]
command={memmon} -p hog=10MB
events=TICK_5
stderr_logfile={{dir}}/memmon.err

[program:hog]
command={py} -c 'x=bytearray(50*2**20); import time; time.sleep(100)'
startsecs=1
",
        memmon = superlance("memmon"),
        py = ref_py(),
    );
    let d = Daemon::start("ev-memmon", &body);
    wait_state(&d, "hog", "RUNNING");
    let first = running_pid(&d, "hog").expect("hog pid");
    assert!(
        wait_until(Duration::from_secs(25), || running_pid(&d, "hog").is_some_and(|p| p != first)),
        "memmon did not restart hog; memmon stderr:\n{}\nlog:\n{}",
        read(&d.dir.join("memmon.err")),
        d.log()
    );
    let err = read(&d.dir.join("memmon.err"));
    assert!(err.contains("RSS of hog:hog is "), "{err}");
    assert!(err.contains("Restarting hog:hog"), "{err}");
    assert!(d.log().contains("stopped: hog (terminated by SIGTERM)"), "{}", d.log());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn superlance_httpok_restarts_a_program_whose_url_stops_answering() {
    let port = free_port();
    let body = format!(
        "{CONTROL}\
[eventlistener:httpok]
command={httpok} -p web -t 2 http://127.0.0.1:{port}/
events=TICK_5
stderr_logfile={{dir}}/httpok.err

[program:web]
command={py} {server} {port} {{dir}}/hang {{dir}}/requests.txt
startsecs=1
",
        httpok = superlance("httpok"),
        server = support("flaky_http.py"),
        py = ref_py(),
    );
    let d = Daemon::start("ev-httpok", &body);
    wait_state(&d, "web", "RUNNING");
    let first = running_pid(&d, "web").expect("web pid");
    // httpok checks on each TICK_5; wait for one check answered by this process.
    let requests = d.dir.join("requests.txt");
    assert!(
        wait_until(Duration::from_secs(20), || read(&requests).contains(&format!("{first} httpok"))),
        "httpok never asked the server; httpok stderr:\n{}\nlog:\n{}",
        read(&d.dir.join("httpok.err")),
        d.log()
    );
    assert_eq!(running_pid(&d, "web"), Some(first), "restarted although the URL answered");
    // Now the server hangs: httpok times out and restarts it; the new one answers again.
    std::fs::write(d.dir.join("hang"), "").expect("write the hang flag");
    assert!(
        wait_until(Duration::from_secs(25), || running_pid(&d, "web").is_some_and(|p| p != first)),
        "httpok did not restart web; httpok stderr:\n{}\nlog:\n{}",
        read(&d.dir.join("httpok.err")),
        d.log()
    );
    let err = read(&d.dir.join("httpok.err"));
    assert!(err.contains("web is in RUNNING state, restarting"), "{err}");
    assert!(wait_until(SOON, || read(&d.dir.join("httpok.err")).contains("web restarted")), "{err}");
}

// ---------------------------------------------------------------------------------------
// 5. reread / avail / update.

fn our_ctl(d: &Daemon, words: &[&str]) -> (String, i32) {
    let o = run(tool("supervisorctl").arg("-c").arg(&d.conf).args(words));
    (stdout(&o), o.status.code().unwrap_or(-1))
}

fn ref_ctl(d: &Daemon, words: &[&str]) -> (String, i32) {
    let o = run(reference_tool("supervisorctl").arg("-c").arg(&d.conf).args(words));
    (stdout(&o), o.status.code().unwrap_or(-1))
}

fn edit(d: &Daemon, from: &str, to: &str) {
    let text = read(&d.conf);
    assert!(text.contains(from), "{from:?} is not in the config");
    std::fs::write(&d.conf, text.replacen(from, to, 1)).expect("write the config");
}

const ABC: &str = "[program:a]\ncommand=sleep 1000\nstartsecs=0\n\n\
[program:b]\ncommand=sleep 1000\nstartsecs=0\n\n\
[program:c]\ncommand=sleep 1000\nstartsecs=0\n\n";

/// A daemon running a, b, c whose config now changes b, drops c and adds d.
fn changed_abc(tag: &str) -> Daemon {
    let d = Daemon::start(tag, &format!("{CONTROL}{ABC}"));
    for p in ["a", "b", "c"] {
        wait_state(&d, p, "RUNNING");
    }
    edit(&d, "[program:b]\ncommand=sleep 1000", "[program:b]\ncommand=sleep 1001");
    edit(&d, "[program:c]\ncommand=sleep 1000\nstartsecs=0\n", "[program:d]\ncommand=sleep 1002\nstartsecs=0\n");
    d
}

#[test]
fn reread_avail_update_match_the_reference_client() {
    let ours = changed_abc("ev-upd-ours");
    let theirs = changed_abc("ev-upd-ref");
    let pid = |d: &Daemon, p: &str| running_pid(d, p).unwrap_or_else(|| panic!("{p} is not running"));
    let before = [(pid(&ours, "a"), pid(&ours, "b")), (pid(&theirs, "a"), pid(&theirs, "b"))];

    let reread = ref_ctl(&ours, &["reread"]);
    assert_eq!(reread, ("b: changed\nc: disappeared\nd: available\n".to_string(), 0));
    assert_eq!(our_ctl(&ours, &["reread"]), reread);
    let avail = ref_ctl(&ours, &["avail"]);
    assert_eq!(our_ctl(&ours, &["avail"]), avail);
    assert_eq!(
        avail.0,
        "a                                in use    auto      999:999\n\
         b                                in use    auto      999:999\n\
         d                                avail     auto      999:999\n"
    );

    let updated = our_ctl(&ours, &["update"]);
    let expected =
        "c: stopped\nc: removed process group\nb: stopped\nb: updated process group\nd: added process group\n";
    assert_eq!(updated, (expected.to_string(), 0));
    assert_eq!(ref_ctl(&theirs, &["update"]), updated, "the reference client on the same setup");

    for (d, (a_pid, b_pid)) in [&ours, &theirs].into_iter().zip(before) {
        wait_state(d, "b", "RUNNING");
        wait_state(d, "d", "RUNNING");
        assert_eq!(pid(d, "a"), a_pid, "a was not touched");
        let b = pid(d, "b");
        assert_ne!(b, b_pid, "b was restarted");
        // (RUNNING with startsecs=0 may come before the child's exec.)
        assert!(wait_until(SOON, || cmdline(b) == "sleep 1001"), "b runs the new command: {:?}", cmdline(b));
        let dp = pid(d, "d");
        assert!(wait_until(SOON, || cmdline(dp) == "sleep 1002"), "d runs its command: {:?}", cmdline(dp));
        match info(d, "c") {
            Err(f) => assert_eq!((f.code, f.string.as_str()), (10, "BAD_NAME: c")),
            Ok(v) => panic!("c still exists: {v:?}"),
        }
        assert_eq!(our_ctl(d, &["reread"]), ("No config updates to processes\n".to_string(), 0));
    }
}

#[test]
fn broken_config_on_reread_changes_nothing_and_an_environment_change_is_a_change() {
    let body = format!(
        "{CONTROL}[program:a]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:e]\ncommand=sleep 1000\nstartsecs=0\nenvironment=A=\"1\"\n\n"
    );
    let d = Daemon::start("ev-reread-bad", &body);
    wait_state(&d, "a", "RUNNING");
    wait_state(&d, "e", "RUNNING");
    let (a, e) = (running_pid(&d, "a").expect("a"), running_pid(&d, "e").expect("e"));

    edit(&d, "[program:a]\ncommand=sleep 1000\nstartsecs=0\n", "[program:a]\ncommand=sleep 1000\nstartsecs=soon\n");
    let line = read(&d.conf).lines().position(|l| l == "startsecs=soon").expect("the bad line") + 1;
    let (out, code) = our_ctl(&d, &["reread"]);
    assert_eq!(ref_ctl(&d, &["reread"]), (out.clone(), code), "the reference client prints the same");
    assert!(out.starts_with("ERROR: CANT_REREAD: "), "{out}");
    assert!(out.contains(&format!("{}:{line}", d.conf.display())), "names the file and line {line}: {out}");
    assert!(out.contains("startsecs"), "{out}");
    // `update` does not catch the fault (the reference client prints it as an error
    // line, see update_on_a_broken_config_prints_the_fault_as_python_does) and does
    // nothing.
    let (up, code) = our_ctl(&d, &["update"]);
    assert!(up.contains(&format!("CANT_REREAD: {}:{line}: ", d.conf.display())), "{up}");
    assert_eq!(code, ref_ctl(&d, &["update"]).1);
    assert_eq!((running_pid(&d, "a"), running_pid(&d, "e")), (Some(a), Some(e)), "nothing changed");

    // Fixed, with only e's environment changed.
    edit(&d, "startsecs=soon\n", "startsecs=0\n");
    edit(&d, "environment=A=\"1\"", "environment=A=\"2\"");
    let reread = our_ctl(&d, &["reread"]);
    assert_eq!(reread, ("e: changed\n".to_string(), 0));
    assert_eq!(ref_ctl(&d, &["reread"]), reread);
    assert_eq!(our_ctl(&d, &["update"]), ("e: stopped\ne: updated process group\n".to_string(), 0));
    wait_state(&d, "e", "RUNNING");
    let e2 = running_pid(&d, "e").expect("e");
    assert_ne!(e2, e);
    // (RUNNING with startsecs=0 may come before the child's exec.)
    let environ = || std::fs::read(format!("/proc/{e2}/environ")).unwrap_or_default();
    assert!(
        wait_until(SOON, || environ().split(|&b| b == 0).any(|v| v == b"A=2")),
        "the new environment is in effect: {:?}",
        String::from_utf8_lossy(&environ())
    );
    assert_eq!(running_pid(&d, "a"), Some(a));
}

#[test]
fn update_on_a_broken_config_prints_the_fault_as_python_does() {
    let d = Daemon::start("ev-update-bad", &format!("{CONTROL}[program:a]\ncommand=sleep 1000\nstartsecs=0\n"));
    wait_state(&d, "a", "RUNNING");
    edit(&d, "startsecs=0", "startsecs=soon");
    // The `file: ... line: N` tail names client internals; it is left out.
    let head = |(out, code): (String, i32)| (out.split(">: file: ").next().unwrap_or("").to_string(), code);
    let theirs = head(ref_ctl(&d, &["update"]));
    assert!(theirs.0.starts_with("error: <class 'xmlrpc.client.Fault'>, <Fault 92: \"CANT_REREAD: "), "{theirs:?}");
    assert_eq!(head(our_ctl(&d, &["update"])), theirs);
}

// ---------------------------------------------------------------------------------------
// 6. Storm.

/// 50 programs crashing together every ~0.2 s (restarted at once) while a listener
/// that takes 50 ms per event records the serials it acknowledged, for ~8 s. Meanwhile
/// getState is called every 100 ms; every call must succeed within `limit`.
fn storm(tag: &str, limit: Duration) {
    let mut body = format!(
        "{CONTROL}\
[eventlistener:slow]
command={py} {script} slow {{dir}}/got.txt 0.05
events=PROCESS_STATE
startsecs=0
",
        py = ref_py(),
        script = support("proto_listener.py"),
    );
    for i in 0..50 {
        body.push_str(&format!(
            "\n[program:p{i}]\ncommand=sh -c 'sleep 0.2; exit 1'\nautorestart=true\nstartsecs=0\n\
             stdout_logfile=NONE\nstderr_logfile=NONE\n"
        ));
    }
    let d = Daemon::start(tag, &body);
    let sock = d.dir.join("s.sock");
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (stop, sock) = (stop.clone(), sock.clone());
        std::thread::spawn(move || {
            let mut took = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let r = rpc_at(&sock, "supervisor.getState", &[], Duration::from_secs(30));
                took.push(t.elapsed());
                assert!(
                    r.as_ref().is_ok_and(|v| v.get("statename").and_then(Value::as_str) == Some("RUNNING")),
                    "getState during the storm: {r:?}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            took
        })
    };
    // The observation window: the storm runs for ~8 s while the prober measures (the log
    // is not polled meanwhile: it grows by megabytes and reading it would add load).
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    let mut took = prober.join().expect("getState failed during the storm");
    took.sort();
    let worst = *took.last().expect("some getState calls");
    let log = d.log();
    let spawns = log.matches("spawned: 'p").count();
    let drops = log.matches("pool slow event buffer overflowed, discarding event ").count();
    let got = read(&d.dir.join("got.txt"));
    let serials: Vec<u64> =
        got.lines().map(|l| l.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("serial")).collect();
    eprintln!(
        "storm: getState median {:?}, worst {worst:?} over {} calls; {spawns} spawns, {} events acknowledged, \
         {drops} dropped",
        took[took.len() / 2],
        took.len(),
        serials.len()
    );
    assert!(spawns >= 200, "the programs did not crash repeatedly: {spawns} spawns");
    assert!(took.len() >= 8, "only {} getState calls in 8 s", took.len());
    assert!(worst < limit, "getState took {worst:?} during the storm (limit {limit:?}); sorted: {took:?}");
    assert!(serials.len() >= 50, "the listener acknowledged only {} events", serials.len());
    assert!(
        serials.windows(2).all(|w| w[0] < w[1]),
        "an acknowledged event was delivered twice or out of order: {serials:?}"
    );
    assert!(drops > 100, "overflow drops are logged ({drops})");
}

/// No acknowledged event is delivered twice, overflow drops are logged, and the daemon
/// never stops answering (no call takes more than 5 s, whatever the machine's load).
#[test]
fn event_storm_with_a_slow_listener() {
    storm("ev-storm", Duration::from_secs(5));
}

/// The same storm, with getState answered within 1 s throughout.
#[test]
fn event_storm_get_state_answers_within_one_second() {
    storm("ev-storm1s", Duration::from_secs(1));
}

// ---------------------------------------------------------------------------------------
// 7. fcgi-program.

fn read_line_from(stream: impl Read) -> String {
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).expect("read a line");
    line
}

#[test]
fn fcgi_program_shares_its_socket_between_processes() {
    let port = free_port();
    let body = format!(
        "[fcgi-program:fu]
socket=unix://{{dir}}/fu.sock
socket_mode=0660
command={py} {echo}
numprocs=2
process_name=%(program_name)s_%(process_num)s
startsecs=0

[fcgi-program:ft]
socket=tcp://127.0.0.1:{port}
command={py} {echo}
startsecs=0
",
        echo = support("fcgi_echo.py"),
        py = ref_py(),
    );
    let d = Daemon::start("ev-fcgi", &body);
    assert!(d.wait_log("success: fu_1 entered RUNNING state", SOON), "log:\n{}", d.log());
    assert!(d.wait_log("success: ft entered RUNNING state", SOON), "log:\n{}", d.log());
    let sock = d.dir.join("fu.sock");
    let mode = std::fs::metadata(&sock).expect("the unix socket exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "socket_mode");

    let connect = || {
        let c = UnixStream::connect(&sock).expect("connect the fcgi socket");
        c.set_read_timeout(Some(SOON)).expect("timeout");
        c
    };
    // The first connection stays open, so its process is busy: the second one must be
    // accepted by the other process on the same socket.
    let c1 = connect();
    let l1 = read_line_from(&c1);
    let c2 = connect();
    let l2 = read_line_from(&c2);
    let pids = [d.spawned_pid("fu_0").expect("fu_0"), d.spawned_pid("fu_1").expect("fu_1")];
    let got: Vec<u32> = [&l1, &l2]
        .iter()
        .map(|l| l.trim().strip_prefix("pid ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{l:?}")))
        .collect();
    assert_ne!(got[0], got[1], "both processes accept on the shared socket");
    assert!(got.iter().all(|p| pids.contains(p)), "answers from {got:?}, processes {pids:?}");
    drop((c1, c2));

    let t = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect the tcp fcgi socket");
    t.set_read_timeout(Some(SOON)).expect("timeout");
    assert_eq!(read_line_from(&t), format!("pid {}\n", d.spawned_pid("ft").expect("ft")));
}

// ---------------------------------------------------------------------------------------
// 8. Listeners start first and stop last.

#[test]
fn listeners_start_before_programs_and_stop_after_them() {
    let body = format!(
        "[eventlistener:lis]
command={py} {rec} {{dir}}/events.rec
events=PROCESS_STATE

[program:early]
command=sleep 1000
priority=1

[program:late]
command=sleep 1000
",
        py = ref_py(),
        rec = support("event_recorder.py"),
    );
    let mut d = Daemon::start("ev-order", &body);
    for p in ["lis", "early", "late"] {
        assert!(d.wait_log(&format!("success: {p} entered RUNNING state"), SOON), "log:\n{}", d.log());
    }
    assert_eq!(d.stop(), Some(0));
    let log = d.log();
    let at = |needle: &str| log.find(needle).unwrap_or_else(|| panic!("no {needle:?} in the log:\n{log}"));
    let spawned = ["lis", "early", "late"].map(|p| at(&format!("spawned: '{p}' with pid ")));
    assert!(spawned[0] < spawned[1] && spawned[1] < spawned[2], "spawn order lis, early, late:\n{log}");
    let stopped = ["late", "early", "lis"].map(|p| at(&format!("stopped: {p} (terminated by SIGTERM)")));
    assert!(stopped[0] < stopped[1] && stopped[1] < stopped[2], "stop order late, early, lis:\n{log}");
}

/// A stock text-mode childutils listener reads `len` characters; with no added key the
/// daemon counts that way, so non-ASCII payloads never leave it waiting. An explicit
/// `len_unit=characters` means the same.
#[test]
fn stock_childutils_listener_gets_non_ascii_payloads_with_no_added_key() {
    let body = format!(
        "{CONTROL}[eventlistener:text]\ncommand={py} {script} {{dir}}/text.txt\nevents=REMOTE_COMMUNICATION\n\n\
         [eventlistener:explicit]\ncommand={py} {script} {{dir}}/explicit.txt\nevents=REMOTE_COMMUNICATION\n\
         len_unit=characters\n",
        py = ref_py(),
        script = support("text_listener.py"),
    );
    let d = Daemon::start("ev-text", &body);
    let sock = d.dir.join("s.sock");
    for pool in ["text", "explicit"] {
        let up = format!("success: {pool} entered RUNNING state");
        assert!(d.wait_log(&up, Duration::from_secs(10)), "{}", d.log());
    }
    for data in ["café crème", "naïve", "plain"] {
        let r = rpc_at(
            &sock,
            "supervisor.sendRemoteCommEvent",
            &[Value::str("t"), Value::str(data)],
            Duration::from_secs(5),
        );
        assert!(r.is_ok(), "{r:?}");
    }
    for file in ["text.txt", "explicit.txt"] {
        let path = d.dir.join(file);
        assert!(
            wait_until(Duration::from_secs(10), || read(&path).lines().count() == 3),
            "{file}: the listener got: {:?}\n{}",
            read(&path),
            d.log()
        );
        assert_eq!(
            read(&path),
            "REMOTE_COMMUNICATION type:t|café crème\nREMOTE_COMMUNICATION type:t|naïve\nREMOTE_COMMUNICATION type:t|plain\n",
            "{file}"
        );
    }
}
