//! Interoperability of the control plane with the reference's own clients: Python's
//! xmlrpc.client through supervisor.xmlrpc.SupervisorTransport, and the reference's
//! supervisorctl, each run against our daemon and against the Python reference daemon
//! on the same config; the normalised outputs must be equal line by line. Plus raw
//! HTTP checks (status codes, /logtail streaming, keep-alive) on both.
//!
//! The driver is tests/support/rpc_probe.py (scenarios api, faults, auth, plain, ctl,
//! race); it prints one normalised line per call (pids, times, paths and AUTO log
//! names replaced), so any remaining difference is a real one.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

// ---- a supervisord of either kind -------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Ours,
    Reference,
}

/// A supervisord (ours or the reference) on a generated config in its own temp dir,
/// serving a unix socket at `{dir}/s.sock`. Dropping it stops it (SIGTERM, then
/// SIGKILL for it and its children if it lingers).
struct Sv {
    kind: Kind,
    dir: TempDir,
    conf: PathBuf,
    vars: Vec<(String, String)>,
    child: Option<Child>,
}

const RPCINTERFACE: &str =
    "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n";

impl Sv {
    /// Writes the config (`[supervisord]` from common, then `body` with `{dir}` and
    /// `vars` substituted), runs `setup` on the dir and starts the daemon; does not wait.
    fn spawn(kind: Kind, tag: &str, body: &str, vars: &[(&str, String)], setup: &dyn Fn(&Path)) -> Sv {
        let dir = TempDir::new(tag);
        setup(dir.path());
        let mut sv = Sv {
            kind,
            conf: dir.join("supervisord.conf"),
            dir,
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            child: None,
        };
        std::fs::write(&sv.conf, sv.config_text(body)).expect("write config");
        let out = std::fs::File::create(sv.dir.join("daemon.out")).expect("daemon.out");
        let err = out.try_clone().expect("clone");
        let mut cmd = match kind {
            Kind::Ours => {
                let mut c = Command::new(bin());
                c.arg("supervisord");
                c
            }
            Kind::Reference => reference_tool("supervisord"),
        };
        cmd.arg("-n").arg("-c").arg(&sv.conf).stdin(Stdio::null()).stdout(out).stderr(err);
        sv.child = Some(cmd.spawn().expect("start supervisord"));
        sv
    }

    fn config_text(&self, body: &str) -> String {
        let mut text = format!(
            "{}\n{}",
            supervisord_section(self.dir.path(), ""),
            body.replace("{dir}", &self.dir.path().display().to_string())
        );
        for (k, v) in &self.vars {
            text = text.replace(&format!("{{{k}}}"), v);
        }
        text
    }

    /// Waits until the unix socket accepts connections.
    fn wait_ready(&mut self) {
        let sock = self.sock();
        let ok = wait_until(Duration::from_secs(30), || {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    return true;
                }
            }
            UnixStream::connect(&sock).is_ok()
        });
        assert!(
            ok && UnixStream::connect(&sock).is_ok(),
            "{:?} supervisord did not come up on {}\n--- daemon output:\n{}\n--- log:\n{}",
            self.kind,
            sock.display(),
            std::fs::read_to_string(self.dir.join("daemon.out")).unwrap_or_default(),
            self.log()
        );
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("s.sock")
    }

    fn url(&self) -> String {
        format!("unix://{}", self.sock().display())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("supervisord.log")).unwrap_or_default()
    }

    /// Writes another config next to the real one (`supervisord.conf<suffix>`), with
    /// the same substitutions; the probe copies it over the config when told to.
    fn write_variant(&self, suffix: &str, body: &str) {
        let path = PathBuf::from(format!("{}{suffix}", self.conf.display()));
        std::fs::write(path, self.config_text(body)).expect("write config variant");
    }

    /// Waits for the daemon to exit by itself; returns its exit code.
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let code = wait_child(self.child.as_mut()?, timeout).ok()?;
        self.child = None;
        code
    }
}

/// The pids whose parent is `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return out };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(rest) = stat.rsplit(") ").next() else { continue };
        if rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn kill(sig: &str, pid: u32) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).stderr(Stdio::null()).status();
}

impl Drop for Sv {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        let children = children_of(child.id());
        terminate(child, Duration::from_secs(15));
        for c in children {
            kill("KILL", c);
        }
    }
}

/// Starts our daemon and the reference on the same config (in parallel) and waits for
/// both. `vars` gives each side its own values for placeholders such as `{port1}`.
fn pair(tag: &str, body: &str, vars: [&[(&str, String)]; 2], setup: &dyn Fn(&Path)) -> (Sv, Sv) {
    reference_venv();
    let mut ours = Sv::spawn(Kind::Ours, &format!("{tag}o"), body, vars[0], setup);
    let mut reference = Sv::spawn(Kind::Reference, &format!("{tag}r"), body, vars[1], setup);
    ours.wait_ready();
    reference.wait_ready();
    (ours, reference)
}

// ---- the probe ------------------------------------------------------------------------

fn probe_script() -> PathBuf {
    repo_root().join("tests/support/rpc_probe.py")
}

/// Runs one scenario of rpc_probe.py; `extra` follows SERVERURL CONF.
fn probe(sv: &Sv, scenario: &str, url: &str, extra: &[&str]) -> Output {
    run(Command::new(reference_python())
        .arg(probe_script())
        .arg(scenario)
        .arg(url)
        .arg(&sv.conf)
        .args(extra)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null()))
}

/// Runs the same scenario against both daemons at once.
fn probe_both(ours: &Sv, reference: &Sv, scenario: &str, urls: [&str; 2], extra: &[&str]) -> (Output, Output) {
    std::thread::scope(|s| {
        let o = s.spawn(|| probe(ours, scenario, urls[0], extra));
        let r = probe(reference, scenario, urls[1], extra);
        (o.join().expect("probe thread"), r)
    })
}

/// The label of a probe line (`label: value`), or the whole line.
fn label(line: &str) -> &str {
    line.split(": ").next().unwrap_or(line)
}

/// Compares the outputs line by line; lines whose label is in `skip` are left out of
/// both (known bugs, each covered by an ignored test of its own).
fn assert_same(what: &str, ours: &Output, reference: &Output, skip: &[&str]) {
    assert!(
        reference.status.success(),
        "{what}: the probe failed against the REFERENCE (a broken test, not a bug):\n{}\n{}",
        stdout(reference),
        stderr(reference)
    );
    let keep = |l: &&str| !skip.contains(&label(l));
    let (o, r) = (stdout(ours), stdout(reference));
    let ol: Vec<&str> = o.lines().filter(keep).collect();
    let rl: Vec<&str> = r.lines().filter(keep).collect();
    let mut diffs = Vec::new();
    for i in 0..ol.len().max(rl.len()) {
        let (a, b) = (ol.get(i).copied().unwrap_or("<none>"), rl.get(i).copied().unwrap_or("<none>"));
        if a != b {
            diffs.push(format!("line {}:\n  ours:      {a}\n  reference: {b}", i + 1));
        }
    }
    assert!(
        diffs.is_empty() && ours.status.success(),
        "{what}: our daemon differs from the reference ({} lines):\n{}\n--- probe stderr (ours):\n{}",
        diffs.len(),
        diffs.iter().take(25).cloned().collect::<Vec<_>>().join("\n"),
        stderr(ours)
    );
}

fn line_of<'a>(out: &'a str, label_: &str) -> &'a str {
    out.lines().find(|l| label(l) == label_).unwrap_or_else(|| panic!("no line '{label_}' in:\n{out}"))
}

// ---- configs ------------------------------------------------------------------------------

const UNIX: &str = "[unix_http_server]\nfile={dir}/s.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n";

/// Programs for the API walk-through. `fixed` writes exactly 60 bytes to stdout and 6 to
/// stderr; `cat` echoes its stdin.
const API_PROGRAMS: &str = r#"
[program:cat]
command=/bin/cat
startsecs=0
stdout_logfile={dir}/cat.log

[program:fixed]
command=/bin/sh -c "printf 0123456789abcdefghij0123456789ABCDEFGHIJ0123456789klmnopqrst; printf E1E2E3 >&2; exec /bin/sleep 1000"
startsecs=0
stdout_logfile={dir}/fixed.out
stderr_logfile={dir}/fixed.err

[program:sleeper]
command=/bin/sleep 1000
startsecs=0

[group:grp]
programs=ga,gb

[program:ga]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:gb]
command=/bin/sleep 1001
startsecs=0
autostart=false

[program:nolog]
command=/bin/sleep 1000
startsecs=0
autostart=false
stdout_logfile=NONE

[program:slow]
command=/bin/sleep 1000
startsecs=1
autorestart=false
autostart=false
"#;

/// API_PROGRAMS edited: `cat` changed, `nolog` removed, `newprog` added.
fn api_programs_next() -> String {
    let without_nolog = API_PROGRAMS
        .replace("[program:nolog]\ncommand=/bin/sleep 1000\nstartsecs=0\nautostart=false\nstdout_logfile=NONE\n", "");
    assert_ne!(without_nolog, API_PROGRAMS);
    without_nolog.replace("command=/bin/cat\n", "command=/bin/cat -u\n")
        + "\n[program:newprog]\ncommand=/bin/sleep 999\nstartsecs=0\n"
}

const FAULT_PROGRAMS: &str = r#"
[program:sleeper]
command=/bin/sleep 1000
startsecs=0
stderr_logfile=NONE

[program:idle]
command=/bin/sleep 1000
autostart=false

[program:missing]
command=/no/such/binary
autostart=false

[group:grp]
programs=missing2,member

[program:missing2]
command=nosuchcommand-xyz
autostart=false

[program:member]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:nolog]
command=/bin/sleep 1000
autostart=false
stdout_logfile=NONE

[program:nostdin]
command=/bin/sh -c "exec 0<&-; exec /bin/sleep 1000"
startsecs=0

[program:notexec]
command={dir}/notexec
autostart=false

[program:dirprog]
command={dir}
autostart=false

[program:unparsable]
command=/bin/sh -c "unclosed
autostart=false

[program:lostdir]
command=/bin/sleep 1000
startsecs=0
stdout_logfile={dir}/gone/out.log

[program:slowstart]
command=/bin/sleep 1000
startsecs=3
autostart=false

[program:quick]
command=/bin/sh -c "exit 3"
startsecs=1
startretries=0
autostart=false

[program:dies]
command=/bin/sh -c "sleep 0.5; exit 1"
startsecs=2
startretries=0
autostart=false

[program:slowstop]
command=/bin/sh -c "trap '' TERM; exec /bin/sleep 1000"
startsecs=0
stopwaitsecs=2
priority=1000
"#;

fn fault_setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("gone")).unwrap();
    std::fs::write(dir.join("notexec"), "not a program\n").unwrap();
}

const CTL_PROGRAMS: &str = r#"
[program:sleeper]
command=/bin/sleep 1000
startsecs=0

[program:cat]
command=/bin/cat
startsecs=0

[program:fixed]
command=/bin/sh -c "echo one; echo two; echo three; echo err1 >&2; exec /bin/sleep 1000"
startsecs=0

[group:grp]
programs=ga,gb
priority=500

[program:ga]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:gb]
command=/bin/sleep 1001
startsecs=0
autostart=false
priority=10

[program:idle]
command=/bin/sleep 1000
startsecs=0
autostart=false

[program:quick]
command=/bin/sh -c "exit 3"
startsecs=1
startretries=0
autostart=false

[program:missing]
command=/no/such/binary
autostart=false

[program:nolog]
command=/bin/sleep 1000
startsecs=0
autostart=false
stdout_logfile=NONE
"#;

fn ctl_programs_next() -> String {
    let without_idle =
        CTL_PROGRAMS.replace("[program:idle]\ncommand=/bin/sleep 1000\nstartsecs=0\nautostart=false\n", "");
    assert_ne!(without_idle, CTL_PROGRAMS);
    without_idle.replace("command=/bin/cat\n", "command=/bin/cat -u\n")
        + "\n[program:newprog]\ncommand=/bin/sleep 999\nstartsecs=0\n"
}

fn unix_body(programs: &str) -> String {
    format!("{UNIX}{RPCINTERFACE}\n{programs}")
}

// ---- 1. every method through xmlrpc.client over the unix socket -------------------------

/// Probe lines of the api scenario that differ because of a known bug (see the ignored
/// test below).
const KNOWN_API_BUGS: &[&str] = &[
    // After reloadConfig the reference reports the freshly parsed configs, where an AUTO
    // log is 'auto' even for groups in use; ours reports the running process's file.
    "getAllConfigInfo after reload",
];

fn api_differential(skip: &[&str]) {
    let body = unix_body(API_PROGRAMS);
    let (mut ours, mut reference) = pair("api", &body, [&[], &[]], &|_| {});
    let next = unix_body(&api_programs_next());
    ours.write_variant(".next", &next);
    reference.write_variant(".next", &next);

    let (o, r) = probe_both(&ours, &reference, "api", [&ours.url(), &reference.url()], &[]);
    assert_same("api scenario", &o, &r, skip);

    // The comparison covers everything; these spell out the main expectations.
    let out = stdout(&o);
    assert!(out.contains("\nmethod count: 41\n"), "{out}");
    assert_eq!(line_of(&out, "getState"), "getState: {'statecode': 1, 'statename': 'RUNNING'}");
    assert_eq!(
        line_of(&out, "getProcessInfo sleeper"),
        "getProcessInfo sleeper: {'name': 'sleeper', 'group': 'sleeper', 'start': 'T', 'stop': 0, 'now': 'T', \
         'state': 20, 'statename': 'RUNNING', 'spawnerr': '', 'exitstatus': 0, \
         'logfile': '{dir}/sleeper-stdout---test-RAND.log', 'stdout_logfile': '{dir}/sleeper-stdout---test-RAND.log', \
         'stderr_logfile': '{dir}/sleeper-stderr---test-RAND.log', 'pid': 'PID', 'description': 'pid PID, uptime UP'}"
    );
    assert_eq!(
        line_of(&out, "getAllProcessInfo names"),
        "getAllProcessInfo names: [('cat', 'cat'), ('fixed', 'fixed'), ('grp', 'ga'), ('grp', 'gb'), \
         ('nolog', 'nolog'), ('sleeper', 'sleeper'), ('slow', 'slow')]"
    );
    assert_eq!(
        line_of(&out, "multicall example"),
        "multicall example: [{'pid': 'PID'}, {'faultCode': 10, 'faultString': 'BAD_NAME: nosuch'}, \
         {'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS: Recursive system.multicall forbidden'}, \
         {'faultCode': 1, 'faultString': 'UNKNOWN_METHOD'}, {'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS: No methodName'}]"
    );
    assert_eq!(
        line_of(&out, "tailProcessStdoutLog fixed 0 10"),
        "tailProcessStdoutLog fixed 0 10: ['klmnopqrst', 60, True]"
    );
    assert_eq!(line_of(&out, "reloadConfig changed"), "reloadConfig changed: [[['newprog'], ['cat'], ['nolog']]]");
    assert_eq!(line_of(&out, "cat stdout log"), "cat stdout log: 'hello from stdin\\n'");
    assert_eq!(line_of(&out, "restart"), "restart: True");
    assert!(out.contains("\nstate after restart: RUNNING\nsame pid after restart: True\n"), "{out}");
    assert_eq!(line_of(&out, "shutdown"), "shutdown: True");

    assert_eq!(
        line_of(&out, "getAllConfigInfo types"),
        "getAllConfigInfo types: [('autostart', 'bool'), ('command', 'str'), ('directory', 'str'), \
         ('exitcodes', 'list'), ('group', 'str'), ('group_prio', 'int'), ('inuse', 'bool'), ('killasgroup', 'bool'), \
         ('name', 'str'), ('process_prio', 'int'), ('redirect_stderr', 'bool'), ('serverurl', 'str'), \
         ('startretries', 'int'), ('startsecs', 'int'), ('stderr_capture_maxbytes', 'int'), \
         ('stderr_events_enabled', 'bool'), ('stderr_logfile', 'str'), ('stderr_logfile_backups', 'int'), \
         ('stderr_logfile_maxbytes', 'int'), ('stderr_syslog', 'bool'), ('stdout_capture_maxbytes', 'int'), \
         ('stdout_events_enabled', 'bool'), ('stdout_logfile', 'str'), ('stdout_logfile_backups', 'int'), \
         ('stdout_logfile_maxbytes', 'int'), ('stdout_syslog', 'bool'), ('stopsignal', 'int'), ('stopwaitsecs', 'int'), \
         ('uid', 'str')]"
    );
    let config_info = line_of(&out, "getAllConfigInfo");
    assert!(
        config_info.contains("'name': 'nolog', 'process_prio': 999")
            && config_info.contains("'stdout_logfile': 'none'")
    );
    assert!(config_info.contains("'directory': 'none', 'uid': 'none'") && config_info.contains("'serverurl': 'none'"));
    assert!(line_of(&out, "getAllConfigInfo after reload").contains("('newprog', False, '/bin/sleep 999', 'auto')"));

    assert_eq!(ours.wait_exit(Duration::from_secs(20)), Some(0), "ours did not exit after shutdown:\n{}", ours.log());
    assert_eq!(reference.wait_exit(Duration::from_secs(20)), Some(0), "the reference did not exit after shutdown");
    assert!(!ours.sock().exists(), "our socket file outlived the daemon");
}

#[test]
fn every_method_over_the_unix_socket_matches_the_reference() {
    api_differential(KNOWN_API_BUGS);
}

#[test]
fn config_info_after_reload_matches_the_reference() {
    api_differential(&[]);
}

// ---- 2. every fault the API can give -----------------------------------------------------

/// Probe lines that differ because of known bugs (see the ignored test below).
const KNOWN_FAULT_STRING_BUGS: &[&str] = &[
    // ours: 'INCORRECT_PARAMETERS'; the reference: 'INCORRECT_PARAMETERS: 5'
    "sendProcessStdin int chars",
    // ours: 'NO_FILE: None'; the reference: 'NO_FILE'
    "readProcessStdoutLog nolog",
    "readProcessStderrLog sleeper (NONE)",
];

fn faults_differential(skip: &[&str]) {
    let body = unix_body(FAULT_PROGRAMS);
    let (mut ours, mut reference) = pair("flt", &body, [&[], &[]], &fault_setup);
    let broken = format!("{body}\n[program:broken]\nautostart=false\n");
    ours.write_variant(".broken", &broken);
    reference.write_variant(".broken", &broken);

    let (o, r) = probe_both(&ours, &reference, "faults", [&ours.url(), &reference.url()], &[]);
    assert_same("faults scenario", &o, &r, skip);

    let out = stdout(&o);
    for (label_, want) in [
        ("a.b.c", "FAULT 1 UNKNOWN_METHOD"),
        ("supervisor._update", "FAULT 1 UNKNOWN_METHOD"),
        ("getPID(1)", "FAULT 2 INCORRECT_PARAMETERS"),
        ("readLog(-5, 3)", "FAULT 3 BAD_ARGUMENTS"),
        ("methodHelp nosuch", "FAULT 4 SIGNATURE_UNSUPPORTED"),
        ("getState after shutdown (same connection)", "FAULT 6 SHUTDOWN_STATE"),
        ("getState after shutdown (new connection)", "FAULT 6 SHUTDOWN_STATE"),
        ("getProcessInfo nosuch", "FAULT 10 BAD_NAME: nosuch"),
        ("signalProcess sleeper NOSUCH", "FAULT 11 BAD_SIGNAL: NOSUCH"),
        ("startProcess missing", "FAULT 20 NO_FILE: can't find command '/no/such/binary'"),
        ("sendProcessStdin nostdin (closed)", "FAULT 20 NO_FILE: nostdin"),
        ("startProcess notexec", "FAULT 21 NOT_EXECUTABLE: command at '{dir}/notexec' is not executable"),
        ("clearProcessLogs lostdir (log dir removed)", "FAULT 30 FAILED: lostdir"),
        ("startProcess slowstart wait", "FAULT 40 ABNORMAL_TERMINATION: slowstart"),
        ("startProcess quick", "FAULT 50 SPAWN_ERROR: quick"),
        ("startProcess dies (0.5 s into startsecs=2)", "FAULT 50 SPAWN_ERROR: dies"),
        ("startProcess sleeper", "FAULT 60 ALREADY_STARTED: sleeper"),
        ("stopProcess idle", "FAULT 70 NOT_RUNNING: idle"),
        ("addProcessGroup sleeper", "FAULT 90 ALREADY_ADDED: sleeper"),
        ("removeProcessGroup sleeper", "FAULT 91 STILL_RUNNING: sleeper"),
        ("reloadConfig broken", "FAULT 92 CANT_REREAD: program section program:broken does not specify a command"),
        ("sendRemoteCommEvent after shutdown", "True"),
    ] {
        assert_eq!(line_of(&out, label_), format!("{label_}: {want}"));
    }

    assert_eq!(ours.wait_exit(Duration::from_secs(30)), Some(0), "ours did not exit after shutdown:\n{}", ours.log());
    assert_eq!(reference.wait_exit(Duration::from_secs(30)), Some(0), "the reference did not exit after shutdown");
}

#[test]
fn every_fault_code_and_string_matches_the_reference() {
    faults_differential(KNOWN_FAULT_STRING_BUGS);
}

#[test]
fn fault_strings_of_known_bugs_match_the_reference() {
    faults_differential(&[]);
}

// ---- 1b. TCP, with and without HTTP Basic auth ---------------------------------------------

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

const AUTH_BODY: &str = r#"
[unix_http_server]
file={dir}/s.sock

[supervisorctl]
serverurl=unix://{dir}/s.sock

[inet_http_server]
port=127.0.0.1:{port1}
username=user
password=secret

[inet_http_server:sha]
port=127.0.0.1:{port2}
username=user
password={SHA}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4

[inet_http_server:open]
port=127.0.0.1:{port3}

[program:sleeper]
command=/bin/sleep 1000
startsecs=0
"#;

/// A raw request over TCP; returns the status line and the headers.
fn tcp_head(port: u16, request: &str) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.split("\r\n\r\n").next().unwrap_or("").to_string()
}

#[test]
fn tcp_and_basic_auth_match_the_reference() {
    let ports: Vec<u16> = (0..6).map(|_| free_port()).collect();
    let vars = |i: usize| {
        vec![("port1", ports[i].to_string()), ("port2", ports[i + 1].to_string()), ("port3", ports[i + 2].to_string())]
    };
    let (vo, vr) = (vars(0), vars(3));
    let body = format!("{RPCINTERFACE}{AUTH_BODY}");
    let (ours, reference) = pair("auth", &body, [&vo, &vr], &|_| {});

    for (what, offset, scenario, creds) in [
        ("plain password", 0, "auth", &["user", "secret"][..]),
        ("{SHA} password", 1, "auth", &["user", "secret"][..]),
        ("no auth", 2, "plain", &[][..]),
    ] {
        let urls = [format!("http://127.0.0.1:{}", ports[offset]), format!("http://127.0.0.1:{}", ports[3 + offset])];
        let (o, r) = probe_both(&ours, &reference, scenario, [&urls[0], &urls[1]], creds);
        assert_same(&format!("TCP, {what}"), &o, &r, &[]);
        let out = stdout(&o);
        if scenario == "auth" {
            assert_eq!(
                line_of(&out, "right credentials getState"),
                "right credentials getState: {'statecode': 1, 'statename': 'RUNNING'}"
            );
            for l in ["wrong password", "wrong username", "no credentials", "empty password", "password is the hash"] {
                assert_eq!(line_of(&out, l), format!("{l}: PROTOCOL 401 Unauthorized"), "{what}");
            }
        } else {
            assert_eq!(line_of(&out, "listMethods count"), "listMethods count: 41");
        }
    }

    // The 401 itself, and that auth guards every handler, not only /RPC2.
    for (who, port) in [("ours", ports[0]), ("reference", ports[3])] {
        let body = "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getPID</methodName>\n<params>\n</params>\n</methodCall>\n";
        let head =
            tcp_head(port, &format!("POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
        assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{who}: {head}");
        assert!(head.contains("\r\nWWW-Authenticate: Basic realm=\"default\""), "{who}: {head}");
        let head = tcp_head(port, "GET /ok.html HTTP/1.0\r\n\r\n");
        assert!(head.starts_with("HTTP/1.0 401 Unauthorized\r\n"), "{who}: {head}");
        let head = tcp_head(port, "GET /logtail/sleeper HTTP/1.0\r\n\r\n");
        assert!(head.starts_with("HTTP/1.0 401 Unauthorized\r\n"), "{who}: {head}");
        // user:secret
        let head = tcp_head(port, "GET /ok.html HTTP/1.0\r\nAuthorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n");
        assert!(head.starts_with("HTTP/1.0 200 OK\r\n"), "{who}: {head}");
    }
}

// ---- 3. the reference's supervisorctl against both daemons --------------------------------

#[test]
fn supervisorctl_output_and_exit_codes_match_the_reference() {
    let body = unix_body(CTL_PROGRAMS);
    let (mut ours, mut reference) = pair("ctl", &body, [&[], &[]], &|_| {});
    let next = unix_body(&ctl_programs_next());
    ours.write_variant(".next", &next);
    reference.write_variant(".next", &next);

    let (o, r) = probe_both(&ours, &reference, "ctl", [&ours.url(), &reference.url()], &[]);
    assert_same("supervisorctl session", &o, &r, &[]);

    let out = stdout(&o);
    for expected in [
        "$ supervisorctl start quick  [exit 7]\n  | quick: ERROR (spawn error)\n",
        "$ supervisorctl status nosuch  [exit 4]\n  | nosuch: ERROR (no such process)\n",
        "$ supervisorctl tail -f cat  [exit 0]\n  | ==> Press Ctrl-C to exit <==\n  | follow me\n",
        "$ supervisorctl reread  [exit 0]\n  | cat: changed\n  | idle: disappeared\n  | newprog: available\n",
        "$ supervisorctl update  [exit 0]\n  | cat: stopped\n  | cat: updated process group\n",
        "$ supervisorctl shutdown  [exit 0]\n  | Shut down\n",
    ] {
        assert!(out.contains(expected), "missing:\n{expected}\nin:\n{out}");
    }
    assert_eq!(ours.wait_exit(Duration::from_secs(20)), Some(0));
    assert_eq!(reference.wait_exit(Duration::from_secs(20)), Some(0));
}

// ---- 4. raw HTTP ---------------------------------------------------------------------------

const RAW_PROGRAMS: &str = r#"
[program:cat]
command=/bin/cat
startsecs=0

[program:seq]
command=/bin/sh -c "seq 1 500; exec /bin/sleep 1000"
startsecs=0
"#;

struct Response {
    head: String,
    status: u16,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A connection with a read buffer, for responses read one at a time.
struct Conn {
    s: UnixStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(sock: &Path) -> Conn {
        let s = UnixStream::connect(sock).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        Conn { s, buf: Vec::new() }
    }

    fn send(&mut self, data: &[u8]) {
        self.s.write_all(data).expect("write");
    }

    /// Reads more into the buffer; false on EOF, timeout or error.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.s.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    fn fill_until(&mut self, deadline: Instant, done: impl Fn(&[u8]) -> bool) -> bool {
        loop {
            if done(&self.buf) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            self.fill();
        }
    }

    /// Reads the status line and headers.
    fn head(&mut self) -> Response {
        let found =
            self.fill_until(Instant::now() + Duration::from_secs(10), |b| b.windows(4).any(|w| w == b"\r\n\r\n"));
        assert!(found, "no response head; got {:?}", String::from_utf8_lossy(&self.buf));
        let at = self.buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&self.buf[..at]).into_owned();
        self.buf.drain(..at + 4);
        let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        Response { head, status, body: Vec::new() }
    }

    /// Reads a whole response whose body has a Content-Length.
    fn response(&mut self) -> Response {
        let mut r = self.head();
        let len: usize = r.header("Content-Length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let ok = self.fill_until(Instant::now() + Duration::from_secs(10), |b| b.len() >= len);
        assert!(ok, "short body: {} of {len}", self.buf.len());
        r.body = self.buf.drain(..len).collect();
        r
    }

    /// Reads chunks (of a chunked body) until their data satisfies `done` or the time
    /// is up; returns the data.
    fn chunks_until(&mut self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        let mut data = Vec::new();
        while !done(&data) && Instant::now() < deadline {
            // size line
            if !self.fill_until(deadline, |b| b.windows(2).any(|w| w == b"\r\n")) {
                break;
            }
            let at = self.buf.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(String::from_utf8_lossy(&self.buf[..at]).trim(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {:?}", String::from_utf8_lossy(&self.buf[..at])));
            if !self.fill_until(deadline, |b| b.len() >= at + 2 + size + 2) {
                break;
            }
            data.extend_from_slice(&self.buf[at + 2..at + 2 + size]);
            assert_eq!(&self.buf[at + 2 + size..at + 4 + size], b"\r\n", "chunk not followed by CRLF");
            self.buf.drain(..at + 4 + size);
        }
        data
    }
}

/// An XML-RPC POST; `params` are value contents such as `<string>x</string>`.
fn rpc_request(method: &str, params: &[&str]) -> Vec<u8> {
    let params: String = params.iter().map(|p| format!("<param>\n<value>{p}</value>\n</param>\n")).collect();
    let body = format!("<?xml version='1.0'?>\n<methodCall>\n<methodName>{method}</methodName>\n<params>\n{params}</params>\n</methodCall>\n");
    format!(
        "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One request on a fresh connection; the whole response.
fn request(sock: &Path, data: &[u8]) -> Response {
    let mut c = Conn::open(sock);
    c.send(data);
    c.response()
}

fn raw_http_checks(sv: &Sv) {
    let who = format!("{:?}", sv.kind);
    let sock = sv.sock();

    let r = request(&sock, b"GET /RPC2 HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 400, "{who}: GET /RPC2: {}", r.head);

    let r = request(&sock, b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n\r\n");
    assert_eq!(r.status, 411, "{who}: POST without Content-Length: {}", r.head);

    let r = request(&sock, b"POST /RPC2 HTTP/1.0\r\nContent-Length: 9\r\n\r\n<bad xml>");
    assert_eq!(r.status, 400, "{who}: malformed XML: {}", r.head);
    // ... and the daemon goes on serving.
    let r = request(&sock, &rpc_request("supervisor.getAPIVersion", &[]));
    assert_eq!(r.status, 200, "{who}: after a bad request: {}", r.head);
    assert_eq!(r.header("Content-Type").as_deref(), Some("text/xml"), "{who}");
    assert!(String::from_utf8_lossy(&r.body).contains("<value><string>3.0</string></value>"), "{who}");

    // A fault is HTTP 200 with a <fault> body.
    let r = request(&sock, &rpc_request("supervisor.getProcessInfo", &["<string>nosuch</string>"]));
    assert_eq!(r.status, 200, "{who}");
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        text.contains("<fault>") && text.contains("<int>10</int>") && text.contains("BAD_NAME: nosuch"),
        "{who}: {text}"
    );

    let r = request(&sock, b"GET /ok.html HTTP/1.0\r\n\r\n");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"OK"[..]), "{who}: {}", r.head);

    let r = request(&sock, b"GET /logtail/nosuch HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 404, "{who}: {}", r.head);

    // keep-alive: two requests, one HTTP/1.1 connection, sent back to back.
    let mut c = Conn::open(&sock);
    let mut both = rpc_request("supervisor.getAPIVersion", &[]);
    both.extend(rpc_request("supervisor.getIdentification", &[]));
    c.send(&both);
    let (a, b) = (c.response(), c.response());
    assert_eq!((a.status, b.status), (200, 200), "{who}");
    assert!(String::from_utf8_lossy(&a.body).contains("3.0"), "{who}");
    assert!(String::from_utf8_lossy(&b.body).contains("<string>test</string>"), "{who}");
    // ... and a third on the same connection after a pause.
    c.send(&rpc_request("supervisor.getState", &[]));
    assert!(String::from_utf8_lossy(&c.response().body).contains("RUNNING"), "{who}");

    // /logtail over HTTP/1.1: chunked, the last 1024 bytes first.
    let all: String = (1..=500).map(|i| format!("{i}\n")).collect();
    let tail = &all.as_bytes()[all.len() - 1024..];
    let mut c = Conn::open(&sock);
    c.send(b"GET /logtail/seq HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.head();
    assert_eq!(r.status, 200, "{who}: {}", r.head);
    assert_eq!(r.header("Transfer-Encoding").as_deref(), Some("chunked"), "{who}: {}", r.head);
    assert_eq!(r.header("Content-Type").as_deref(), Some("text/plain;charset=utf-8"), "{who}: {}", r.head);
    let data = c.chunks_until(Duration::from_secs(10), |d| d.len() >= 1024);
    assert_eq!(
        String::from_utf8_lossy(&data),
        String::from_utf8_lossy(tail),
        "{who}: the first 1024 bytes of /logtail/seq"
    );

    // ... then what is written after.
    let mut c = Conn::open(&sock);
    c.send(b"GET /logtail/cat/stdout HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.head();
    assert_eq!(r.status, 200, "{who}: {}", r.head);
    std::thread::sleep(Duration::from_millis(200));
    let r = request(
        &sock,
        &rpc_request("supervisor.sendProcessStdin", &["<string>cat</string>", "<string>streamed line\n</string>"]),
    );
    assert!(
        String::from_utf8_lossy(&r.body).contains("<boolean>1</boolean>"),
        "{who}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let data = c.chunks_until(Duration::from_secs(10), |d| d.ends_with(b"streamed line\n"));
    assert_eq!(String::from_utf8_lossy(&data), "streamed line\n", "{who}: new output on /logtail/cat");

    let mut c = Conn::open(&sock);
    c.send(b"GET /mainlogtail HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let r = c.head();
    assert_eq!(r.status, 200, "{who}: /mainlogtail: {}", r.head);
    let data = c.chunks_until(Duration::from_secs(10), |d| !d.is_empty());
    assert!(!data.is_empty() && data.len() <= 1024, "{who}: /mainlogtail sent {} bytes", data.len());
}

#[test]
fn raw_http_behaves_like_the_reference() {
    let body = unix_body(RAW_PROGRAMS);
    let (ours, reference) = pair("raw", &body, [&[], &[]], &|_| {});
    for sv in [&reference, &ours] {
        // Wait until seq has written its 500 lines.
        let ok = wait_until(Duration::from_secs(10), || {
            let r = request(
                &sv.sock(),
                &rpc_request(
                    "supervisor.readProcessStdoutLog",
                    &["<string>seq</string>", "<int>-4</int>", "<int>0</int>"],
                ),
            );
            String::from_utf8_lossy(&r.body).contains("500\n")
        });
        assert!(ok, "{:?}: seq did not write its output", sv.kind);
        raw_http_checks(sv);
    }
}

// ---- known bug: signals sent right after a spawn reach the daemon ------------------------------

#[test]
fn stop_right_after_start_does_not_signal_the_daemon() {
    let mut d = Daemon::start(
        "race",
        "[unix_http_server]\nfile={dir}/s.sock\n\n[program:sleeper]\ncommand=/bin/sleep 1000\nstartsecs=0\nautostart=false\nstopwaitsecs=1\n",
    );
    let sock = d.dir.join("s.sock");
    assert!(wait_until(Duration::from_secs(10), || UnixStream::connect(&sock).is_ok()));
    let o = run(Command::new(reference_python())
        .arg(probe_script())
        .arg("race")
        .arg(format!("unix://{}", sock.display()))
        .arg(&d.conf));
    let log = d.log();
    assert!(!log.contains("received SIGTERM indicating exit request"), "the daemon signalled itself:\n{log}");
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(d.wait_exit(Duration::from_millis(100)).is_none(), "the daemon exited");
}
