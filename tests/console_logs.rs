//! Logs for `docker logs`: children's output on supervisord's own stdout, whole lines
//! behind each program's prefix or as JSON lines; tail and readLog still working on
//! such a target; supervisord's main log on stdout once; the supervisor-stdout plugin.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

/// A supervisord of ours whose stdout goes to a file the test reads.
struct Console {
    dir: TempDir,
    conf: PathBuf,
    out: PathBuf,
    child: Option<Child>,
}

impl Console {
    fn start(tag: &str, supervisord_extra: &str, body: &str) -> Console {
        let dir = TempDir::new(tag);
        let d = dir.path().display().to_string();
        let logfile =
            if supervisord_extra.contains("logfile=") { String::new() } else { format!("logfile={d}/sd.log\n") };
        let text = format!(
            "[supervisord]\nnodaemon=true\npidfile={d}/sd.pid\nchildlogdir={d}\nidentifier=test\n{logfile}{supervisord_extra}\n\
             [unix_http_server]\nfile={d}/sock\n[supervisorctl]\nserverurl=unix://{d}/sock\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n{}",
            body.replace("{dir}", &d)
        );
        let conf = dir.write("supervisord.conf", &text);
        let out = dir.join("stdout.txt");
        let file = std::fs::File::create(&out).expect("create stdout file");
        let child = Command::new(bin())
            .args(["supervisord", "-c"])
            .arg(&conf)
            .stdout(Stdio::from(file))
            .stderr(Stdio::piped())
            .spawn()
            .expect("start supervisord");
        let c = Console { dir, conf, out, child: Some(child) };
        assert!(
            wait_until(Duration::from_secs(20), || c.ctl(&["pid"]).trim().parse::<u32>().is_ok()),
            "the daemon did not serve; stdout:\n{}",
            c.text()
        );
        c
    }

    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.out).unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn ctl(&self, args: &[&str]) -> String {
        stdout(&run(Command::new(bin()).arg("ctl").arg("-c").arg(&self.conf).args(args)))
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(c) = self.child.take() {
            terminate(c, Duration::from_secs(20));
        }
    }
}

/// A python3 script in the test's directory.
fn script(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    dir.write(name, text)
}

/// Writes `count` lines of random length up to 64 KiB, each in one to three writes;
/// line i is `<name> <i> <len> ` followed by len copies of one letter.
const CHATTY: &str = r#"
import os, random, sys
name, count = sys.argv[1], int(sys.argv[2])
rng = random.Random(name)
for i in range(count):
    n = rng.randint(0, 64 * 1024 - 40)
    line = ("%s %d %d " % (name, i, n)).encode() + bytes([97 + i % 26]) * n + b"\n"
    cuts = sorted(rng.randint(0, len(line)) for _ in range(rng.randint(0, 2)))
    start = 0
    for cut in cuts + [len(line)]:
        piece = line[start:cut]
        while piece:
            piece = piece[os.write(1, piece):]
        start = cut
os.write(1, ("%s done\n" % name).encode())
"#;

#[test]
fn three_chatty_programs_never_interleave_inside_a_line() {
    const COUNT: usize = 120;
    let dir = TempDir::new("chatty-scripts");
    let chatty = script(&dir, "chatty.py", CHATTY);
    let mut body = String::new();
    for name in ["alpha", "beta", "gamma"] {
        body.push_str(&format!(
            "[program:{name}]\ncommand=python3 {} {name} {COUNT}\nstartsecs=0\nautorestart=false\n\
             stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstdout_log_prefix=[%(program_name)s]\n",
            chatty.display()
        ));
    }
    let c = Console::start("chatty", "loglevel=info", &body);
    assert!(
        wait_until(Duration::from_secs(120), || {
            let t = c.bytes();
            ["alpha", "beta", "gamma"].iter().all(|n| {
                let done = format!("[{n}] {n} done\n");
                t.windows(done.len()).any(|w| w == done.as_bytes())
            })
        }),
        "not every program finished; tail of stdout:\n{}",
        c.text().chars().rev().take(2000).collect::<String>().chars().rev().collect::<String>()
    );
    let all = c.bytes();
    let mut next: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in all.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let text = String::from_utf8(line.to_vec()).expect("ASCII lines");
        if !text.starts_with('[') {
            // supervisord's own main-log lines.
            assert!(text.contains(" INFO ") || text.contains(" CRIT ") || text.contains(" WARN "), "{text:.200}");
            continue;
        }
        let (prefix, rest) = text.split_once(' ').expect("a prefix and a space");
        let name = prefix.trim_start_matches('[').trim_end_matches(']');
        assert!(["alpha", "beta", "gamma"].contains(&name), "unknown prefix in {text:.200}");
        let mut fields = rest.splitn(4, ' ');
        assert_eq!(fields.next(), Some(name), "a line under the wrong prefix: {text:.200}");
        let seq = fields.next().unwrap_or("");
        if seq == "done" {
            assert_eq!(next.get(name).copied().unwrap_or(0), COUNT, "{name} finished early");
            continue;
        }
        let seq: usize = seq.parse().expect("sequence number");
        let len: usize = fields.next().and_then(|n| n.parse().ok()).expect("length");
        let payload = fields.next().unwrap_or("");
        let expected = next.entry(name.to_string()).or_insert(0);
        assert_eq!(seq, *expected, "{name}: line {seq} came when {expected} was due");
        *expected += 1;
        assert_eq!(payload.len(), len, "{name} line {seq} is not whole");
        let letter = (b'a' + (seq % 26) as u8) as char;
        assert!(payload.chars().all(|ch| ch == letter), "{name} line {seq} holds another line's bytes");
    }
    for name in ["alpha", "beta", "gamma"] {
        assert_eq!(next.get(name).copied(), Some(COUNT), "{name}: lines missing");
    }
}

#[test]
fn json_lines_parse_and_keep_every_byte() {
    let dir = TempDir::new("json-scripts");
    let writer = script(
        &dir,
        "writer.py",
        r#"
import os, time
os.write(1, b"plain\n")
os.write(1, b"bad \xff\xfe utf8\n")
os.write(1, b"tab\there \"q\" \\ \x01\n")
os.write(1, b"z" * 300000)
time.sleep(0.3)
"#,
    );
    let body = format!(
        "[program:js]\ncommand=python3 {}\nstartsecs=0\nautorestart=false\nstdout_logfile=/dev/stdout\n\
         stdout_logfile_maxbytes=0\nredirect_stderr=true\nlog_format=json\n",
        writer.display()
    );
    let c = Console::start("json", "loglevel=info\nlog_format=json", &body);
    assert!(
        wait_until(Duration::from_secs(30), || c.text().contains("exited: js")),
        "js did not exit; stdout:\n{:.3000}",
        c.text()
    );
    // Every line of stdout, the main log's included, is one JSON object.
    let check = script(
        &dir,
        "check.py",
        r#"
import json, sys
for raw in open(sys.argv[1], "rb").read().split(b"\n"):
    if not raw:
        continue
    obj = json.loads(raw)
    if obj.get("program") == "js":
        assert obj["stream"] == "stdout" and obj["group"] == "js" and obj["time"].endswith("Z"), obj
        print(obj["message"].encode("utf-8", "surrogateescape").hex())
    else:
        assert obj["program"] == "supervisord" and obj["level"] in ("INFO", "WARN", "CRIT"), obj
"#,
    );
    let o = run(Command::new("python3").arg(&check).arg(&c.out));
    assert!(o.status.success(), "a line is not JSON: {}\n{}", stderr(&o), c.text());
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let z = vec![b'z'; 300000];
    let expected = [
        hex(b"plain"),
        hex(b"bad \xff\xfe utf8"),
        hex(b"tab\there \"q\" \\ \x01"),
        hex(&z[..128 * 1024]),
        hex(&z[..128 * 1024]),
        hex(&z[..300000 - 256 * 1024]),
    ];
    let got: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
    assert_eq!(got, expected);
}

#[test]
fn a_ten_megabyte_line_of_junk_keeps_memory_bounded() {
    let dir = TempDir::new("junk-scripts");
    let writer = script(
        &dir,
        "junk.py",
        r#"
import os, sys
junk = bytes(range(256)).replace(b"\n", b"") * 4096
total = 0
while total < 10_000_000:
    piece = junk[: 10_000_000 - total]
    while piece:
        n = os.write(1, piece)
        total += n
        piece = piece[n:]
os.write(2, b"junk done\n")
import time; time.sleep(600)
"#,
    );
    let body = format!(
        "[program:junk]\ncommand=python3 {}\nstartsecs=0\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\
         stdout_log_prefix=junk |\nstderr_logfile=/dev/stdout\nstderr_logfile_maxbytes=0\nstderr_log_prefix=junk err |\n",
        writer.display()
    );
    let c = Console::start("junk", "loglevel=info", &body);
    assert!(
        wait_until(Duration::from_secs(60), || c.text().contains("junk err | junk done\n")),
        "the junk was not all read"
    );
    // Every byte arrives (in pieces of at most 128 KiB, each a line of its own). The
    // last piece is held up to 2 s before it goes out on its own.
    let body_bytes = |all: &[u8]| -> usize {
        all.split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"junk | "))
            .map(|l| {
                assert!(l.len() <= 7 + 128 * 1024, "a piece longer than the bound");
                l.len() - 7
            })
            .sum()
    };
    assert!(
        wait_until(Duration::from_secs(20), || body_bytes(&c.bytes()) == 10_000_000),
        "bytes lost: {} of 10000000",
        body_bytes(&c.bytes())
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid())).unwrap_or_default();
    let hwm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    assert!(hwm_kb < 32 * 1024, "the daemon's peak RSS reached {hwm_kb} kB for 10 MB of output");
    assert!(c.ctl(&["status", "junk"]).contains("RUNNING"), "the daemon stopped serving");
}

#[test]
fn tail_and_read_log_work_on_a_console_target() {
    let body = "[program:talker]\ncommand=sh -c 'i=0; while [ $i -lt 50 ]; do echo line $i; i=$((i+1)); done; echo to stderr >&2; exec sleep 600'\n\
                startsecs=0\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstdout_log_prefix=%(program_name)s:%(process_num)s |\n\
                stderr_logfile=/dev/stderr\nstderr_logfile_maxbytes=0\n";
    let c = Console::start("tail", "loglevel=info", body);
    assert!(wait_until(Duration::from_secs(20), || c.text().contains("talker:0 | line 49\n")), "{}", c.text());
    // What tail shows is what the program wrote, without the console's prefix.
    let tail = c.ctl(&["tail", "talker"]);
    assert!(tail.trim_end().ends_with("line 48\nline 49"), "{tail}");
    assert!(!tail.contains('|'), "{tail}");
    assert!(wait_until(Duration::from_secs(10), || c.ctl(&["tail", "talker", "stderr"]).trim_end() == "to stderr"));
    // The real Python client, through readProcessStdoutLog and tailProcessStdoutLog.
    let o = run(reference_tool("supervisorctl").arg("-c").arg(&c.conf).args(["tail", "-100", "talker"]));
    assert!(stdout(&o).trim_end().ends_with("line 48\nline 49"), "{}", stdout(&o));
    let probe = format!(
        r#"
import http.client, socket, xmlrpc.client
class C(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX); self.sock.settimeout(30); self.sock.connect("{d}/sock")
class T(xmlrpc.client.Transport):
    def make_connection(self, host): return C("localhost")
s = xmlrpc.client.ServerProxy("http://localhost", transport=T())
print(repr(s.supervisor.readProcessStdoutLog("talker", 0, 14)))
print(repr(s.supervisor.tailProcessStdoutLog("talker", 0, 8)))
c = C("localhost")
c.request("GET", "/logtail/talker")
r = c.getresponse()
got = b""
while b"line 49\n" not in got:
    got += r.read1(65536)
print(r.status, got.startswith(b"line 0\n"))
"#,
        d = c.dir.path().display()
    );
    let o = run(Command::new("python3").arg("-c").arg(&probe));
    let size = (0..50).map(|i| format!("line {i}\n").len()).sum::<usize>();
    assert_eq!(stdout(&o), format!("'line 0\\nline 1\\n'\n['line 49\\n', {size}, True]\n200 True\n"), "{}", stderr(&o));
    // clear empties the memory, and leaves /dev/stdout where it is.
    assert!(c.ctl(&["clear", "talker"]).contains("cleared"));
    assert_eq!(c.ctl(&["tail", "talker"]).trim(), "");
    assert!(Path::new("/dev/stdout").exists());
}

#[test]
fn documented_recipe_prints_each_main_log_line_once() {
    let body = "[program:quiet]\ncommand=sh -c 'echo child says hi; exec sleep 600'\nstartsecs=0\n\
                stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstdout_log_prefix=quiet |\n";
    let c = Console::start("recipe", "logfile=/dev/stdout\nlogfile_maxbytes=0\nloglevel=info", body);
    assert!(wait_until(Duration::from_secs(20), || c.text().contains("quiet | child says hi\n")));
    let text = c.text();
    assert_eq!(text.matches("supervisord started with pid").count(), 1, "{text}");
    assert_eq!(text.matches("spawned: 'quiet'").count(), 1, "{text}");
    drop(c);

    // The main log's lines behind a prefix of their own, like the programs'.
    let c = Console::start(
        "prefixed",
        "logfile=/dev/stdout\nlogfile_maxbytes=0\nloglevel=info\nlog_prefix=supervisord |",
        body,
    );
    assert!(wait_until(Duration::from_secs(20), || c.text().contains("quiet | child says hi\n")));
    let text = c.text();
    assert!(text.lines().all(|l| l.starts_with("supervisord | 20") || l.starts_with("quiet | ")), "{text}");
    assert_eq!(text.matches("supervisord started with pid").count(), 1, "{text}");
    drop(c);

    // Quieted to warnings, the main log says nothing of spawns, and child output stays.
    let c = Console::start("quiet", "logfile=/dev/stdout\nlogfile_maxbytes=0\nloglevel=warn", body);
    assert!(wait_until(Duration::from_secs(20), || c.text().contains("quiet | child says hi\n")));
    assert!(!c.text().contains("spawned:"), "{}", c.text());
}

#[test]
fn bad_console_settings_name_file_line_section_and_key() {
    let cases = [
        ("stdout_logfile=/dev/stdout\nstdout_log_prefix=%(nosuch)s |\n", "stdout_log_prefix", "nosuch"),
        ("stdout_logfile=/dev/stdout\nlog_format=yaml\n", "log_format", "yaml"),
        ("stdout_log_prefix=x |\n", "stdout_log_prefix", "console"),
        ("stdout_logfile=/dev/stdout\nlog_format=json\n", "log_format", "stderr_logfile is AUTO"),
    ];
    for (keys, key, says) in cases {
        let dir = TempDir::new("badconsole");
        let text = format!(
            "[supervisord]\nnodaemon=true\npidfile={d}/sd.pid\nlogfile={d}/sd.log\n\n[program:x]\ncommand=sh -c 'touch {d}/started; sleep 60'\n{keys}",
            d = dir.path().display()
        );
        let conf = dir.write("supervisord.conf", &text);
        let line = text.lines().position(|l| l.starts_with(&format!("{key}="))).expect("key line") + 1;
        let mut child = Command::new(bin())
            .args(["supervisord", "-c"])
            .arg(&conf)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start");
        let code = wait_child(&mut child, Duration::from_secs(20)).expect("exits at once");
        let o = child.wait_with_output().expect("output");
        let err = stderr(&o);
        assert_eq!(code, Some(2), "{keys}: {err}");
        assert!(err.contains(&format!("{}:{line}", conf.display())), "{keys}: no file:line in {err}");
        assert!(err.contains("[program:x]") || err.contains("program:x"), "{keys}: no section in {err}");
        assert!(err.contains(key) && err.contains(says), "{keys}: {err}");
        assert!(!dir.join("started").exists(), "{keys}: a program started");
    }
}

#[test]
fn unknown_result_handler_lists_the_built_in_ones() {
    let dir = TempDir::new("badhandler");
    let text = format!(
        "[supervisord]\nnodaemon=true\npidfile={d}/sd.pid\nlogfile={d}/sd.log\n\n[eventlistener:l]\ncommand=cat\nevents=TICK_5\n\
         result_handler=superlance.foo:bar\n",
        d = dir.path().display()
    );
    let conf = dir.write("supervisord.conf", &text);
    let o = run(Command::new(bin()).args(["supervisord", "-n", "-c"]).arg(&conf));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:9", conf.display())), "{err}");
    assert!(err.contains("superlance.foo:bar"), "{err}");
    assert!(
        err.contains("supervisor.dispatchers:default_handler") && err.contains("supervisor_stdout:event_handler"),
        "{err}"
    );
}

/// supervisor-stdout from PyPI. Its 0.1.1 (the current release) is Python 2 code, so it
/// is installed with Python 2.7's pip into target/, and run as its README configures.
fn supervisor_stdout_install() -> PathBuf {
    let python2 = ["/root/.pyenv/versions/2.7.18/bin/python2.7", "python2.7", "python2"]
        .into_iter()
        .find(|p| Command::new(p).arg("-c").arg("import pip").output().is_ok_and(|o| o.status.success()))
        .expect("the supervisor-stdout plugin needs Python 2.7 with pip (pyenv's 2.7.18 on this machine kind)");
    let dest = target_dir().join("supervisor-stdout-py2");
    let ready = dest.join(".installed");
    if !ready.exists() {
        let lock = std::fs::File::create(target_dir().join("supervisor-stdout.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !ready.exists() {
            let o = run(Command::new(python2)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"])
                .arg(&dest)
                .arg("supervisor-stdout==0.1.1"));
            assert!(o.status.success(), "pip install supervisor-stdout failed: {}", stderr(&o));
            std::fs::write(&ready, "").expect("mark installed");
        }
    }
    dest
}

#[test]
fn supervisor_stdout_plugin_relays_child_output() {
    let plugin = supervisor_stdout_install();
    // The README's example, with the program's output relayed.
    let body = format!(
        "[program:web]\ncommand = sh -c 'echo hello from web; echo trouble >&2; echo two && echo lines; exec sleep 600'\n\
         stdout_events_enabled = true\nstderr_events_enabled = true\n\n\
         [eventlistener:stdout]\ncommand = supervisor_stdout\nbuffer_size = 100\nevents = PROCESS_LOG\n\
         result_handler = supervisor_stdout:event_handler\n\
         environment = PATH=\"{p}/bin:%(ENV_PATH)s\",PYTHONPATH=\"{p}\"\n",
        p = plugin.display()
    );
    let c = Console::start("sstdout", "loglevel=info", &body);
    assert!(
        wait_until(Duration::from_secs(30), || {
            let t = c.text();
            t.contains("web stdout | hello from web\n")
                && t.contains("web stderr | trouble\n")
                && t.contains("web stdout | lines\n")
        }),
        "not relayed; stdout:\n{}",
        c.text()
    );
    assert!(c.ctl(&["status", "stdout:stdout"]).contains("RUNNING"), "{}", c.ctl(&["status"]));
}

#[test]
fn client_diagnostics_follow_rust_log() {
    let body = "[program:idle]\ncommand=sleep 600\nstartsecs=0\n";
    let c = Console::start("rustlog", "loglevel=info", body);
    let ctl = |rust_log: Option<&str>| {
        let mut cmd = Command::new(bin());
        cmd.arg("ctl").arg("-c").arg(&c.conf).arg("status").env_remove("RUST_LOG");
        if let Some(v) = rust_log {
            cmd.env("RUST_LOG", v);
        }
        run(&mut cmd)
    };
    let quiet = ctl(None);
    assert!(stdout(&quiet).contains("idle"), "{}", stdout(&quiet));
    assert_eq!(stderr(&quiet), "");
    let loud = ctl(Some("debug"));
    // The status line ends in an uptime that may have ticked between the two calls.
    let without_uptime = |o: &std::process::Output| stdout(o).split(", uptime").next().unwrap_or("").to_string();
    assert_eq!(without_uptime(&loud), without_uptime(&quiet));
    let err = stderr(&loud);
    assert!(err.contains("POST /RPC2 supervisor.getAllProcessInfo"), "{err}");
    assert!(err.contains("HTTP 200 OK"), "{err}");
    assert!(!err.contains("<methodCall>"), "bodies only at trace: {err}");
    assert!(stderr(&ctl(Some("trace"))).contains("<methodCall>"));
}

#[test]
fn bad_main_log_format_names_file_line_and_key() {
    for (keys, key) in [("log_format=xml\n", "log_format"), ("log_format=json\nlog_prefix=sd |\n", "log_prefix")] {
        let dir = TempDir::new("badmain");
        let text = format!(
            "[supervisord]\nnodaemon=true\npidfile={d}/sd.pid\nlogfile={d}/sd.log\n{keys}\n[program:x]\ncommand=sh -c 'touch {d}/started; sleep 60'\n",
            d = dir.path().display()
        );
        let conf = dir.write("supervisord.conf", &text);
        let line = text.lines().position(|l| l.starts_with(&format!("{key}="))).expect("key line") + 1;
        let o = run(Command::new(bin()).args(["supervisord", "-c"]).arg(&conf));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{keys}: {err}");
        assert!(err.contains(&format!("{}:{line}", conf.display())) && err.contains(key), "{keys}: {err}");
        assert!(err.contains("supervisord"), "{keys}: {err}");
        assert!(!dir.join("started").exists());
    }
}
