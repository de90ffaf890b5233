//! The daemon as a hostile network and a careless operator meet it: floods of idle and
//! half-sent connections that must not lock the operator out, connection churn that
//! must not grow the daemon, a second supervisord on the same config that must not
//! touch the first one's files, log paths that cannot be opened, and `--check` finding
//! what would only fail at spawn.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Generous: two cores shared with other builds and tests.
const LONG: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read limits");
    let line = limits.lines().find(|l| l.starts_with("Max open files")).expect("Max open files line");
    line.split_whitespace().nth(3).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
}

fn ctl(d: &Daemon, args: &[&str]) -> std::process::Output {
    run(tool("supervisorctl").arg("-c").arg(&d.conf).args(args))
}

/// A daemon with a unix socket and a password-protected inet server.
fn start_guarded(tag: &str, programs: &str) -> (Daemon, u16) {
    let port = free_port();
    let body = format!(
        "[unix_http_server]\nfile={{dir}}/sv.sock\n\n[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sv.sock\n\n{programs}"
    );
    let d = Daemon::start(tag, &body);
    (d, port)
}

/// One XML-RPC call over HTTP/1.0 with basic auth u:p; returns the response text.
fn tcp_call(port: u16, method: &str) -> String {
    let body = format!("<?xml version=\"1.0\"?><methodCall><methodName>{method}</methodName><params/></methodCall>");
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the inet server");
    s.set_read_timeout(Some(LONG)).unwrap();
    let req = format!(
        "POST /RPC2 HTTP/1.0\r\nAuthorization: Basic dTpw\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send the call");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

// ---------------------------------------------------------------------------------
// Defect 1: idle and half-sent TCP connections must not lock the operator out.

#[test]
fn a_thousand_idle_and_a_thousand_half_sent_tcp_connections_leave_the_operator_in() {
    let limit = open_files_limit();
    assert!(limit >= 2200, "this test holds 2,000 connections; the open-files soft limit is {limit} (ulimit -n)");
    let (d, port) = start_guarded("hflood", "[program:w]\ncommand=sleep 1000\nstartsecs=0\n");
    assert!(d.wait_log("success: w entered RUNNING state", LONG), "{}", d.log());
    let mut held: Vec<TcpStream> = Vec::with_capacity(2000);
    for _ in 0..1000 {
        held.push(TcpStream::connect(("127.0.0.1", port)).expect("an idle connection"));
    }
    let partial = b"POST /RPC2 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dTpw\r\nContent-Le";
    for _ in 0..1000 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("a half-sent connection");
        // The server may already have closed it to make room for a newer one.
        let _ = s.write_all(partial);
        held.push(s);
    }

    // The operator on the unix socket, through the real client.
    let t = Instant::now();
    let o = ctl(&d, &["status"]);
    let unix_took = t.elapsed();
    assert!(o.status.success(), "status over the unix socket failed: {}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("w                                RUNNING"), "{}", stdout(&o));
    // An authenticated TCP client: raw HTTP, then the real client.
    let t = Instant::now();
    let answer = tcp_call(port, "supervisor.getState");
    let tcp_took = t.elapsed();
    assert!(answer.starts_with("HTTP/1.0 200") && answer.contains("RUNNING"), "{answer}");
    let url = format!("http://127.0.0.1:{port}");
    let o = ctl(&d, &["-s", &url, "-u", "u", "-p", "p", "status"]);
    assert!(o.status.success(), "status over TCP failed: {}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("RUNNING"), "{}", stdout(&o));
    // Bare XML-RPC over the unix socket, for the latency figure without a process start.
    let t = Instant::now();
    let mut s = UnixStream::connect(d.dir.join("sv.sock")).expect("connect to the unix socket");
    s.set_read_timeout(Some(LONG)).unwrap();
    let body = "<?xml version=\"1.0\"?><methodCall><methodName>supervisor.getState</methodName></methodCall>";
    write!(s, "POST /RPC2 HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let raw_unix_took = t.elapsed();
    assert!(out.contains("RUNNING"), "{out}");
    println!(
        "with 2,000 hostile TCP connections: ctl status (unix) {unix_took:?}, getState over TCP {tcp_took:?}, \
         getState over unix {raw_unix_took:?}"
    );
    assert!(d.wait_log("reached its budget of 256 connections", LONG), "the budget was not logged:\n{}", d.log());

    // None of them outlives the request deadline: the daemon's descriptors go back to
    // what an idle daemon holds, while the test still holds all 2,000 ends.
    let deadline = supervisor::rpc::server::REQUEST_TIMEOUT;
    let daemon = d.pid();
    let mut fds = open_fds(daemon);
    assert!(
        wait_until(deadline + LONG, || {
            fds = open_fds(daemon);
            fds < 40
        }),
        "the daemon still holds {fds} descriptors"
    );
    assert_eq!(held.len(), 2000);
}

// ---------------------------------------------------------------------------------
// Defect 2: connection churn must not grow the daemon.

/// Cycles per transport: a million in all, from several threads.
const CYCLES_PER_TRANSPORT: usize = 500_000;
const CHURN_THREADS: usize = 4;

fn churn_unix(sock: &Path, n: usize) {
    for _ in 0..n {
        match UnixStream::connect(sock) {
            Ok(s) => drop(s),
            // The accept queue is momentarily full: the daemon is busy, not gone.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) => panic!("connect to the unix socket: {e}"),
        }
    }
}

fn churn_tcp(port: u16, n: usize) {
    for _ in 0..n {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the inet server");
        // Close, then wait for the daemon to close its end. A TCP connect completes
        // without the daemon's accept, so a client that does not wait races ahead,
        // overflows the listen queue, and each dropped SYN costs a second's retry.
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        s.set_read_timeout(Some(LONG)).unwrap();
        let mut rest = [0u8; 64];
        assert!(matches!(s.read(&mut rest), Ok(0)), "the daemon answered a connection that sent nothing");
        // No TIME_WAIT left behind on this side.
        let _ = rustix::net::sockopt::set_socket_linger(&s, Some(Duration::ZERO));
    }
}

fn run_churn(f: impl Fn(usize) + Sync, total: usize) {
    std::thread::scope(|scope| {
        for _ in 0..CHURN_THREADS {
            scope.spawn(|| f(total / CHURN_THREADS));
        }
    });
}

#[test]
fn a_million_connect_close_cycles_leave_the_daemon_as_big_as_it_was() {
    let (d, port) = start_guarded("hchurn", "");
    let sock = d.dir.join("sv.sock");
    let daemon = d.pid();
    // Warm up, so that what the first connections allocate once counts as the start.
    run_churn(|n| churn_unix(&sock, n), 20_000);
    run_churn(|n| churn_tcp(port, n), 20_000);
    let settled = |what: &str| {
        // Every cycle's connection is closed by the daemon once it sees the close.
        assert!(wait_until(LONG, || open_fds(daemon) < 40), "{what}: {} descriptors open", open_fds(daemon));
        assert!(ctl(&d, &["pid"]).status.success(), "{what}: the daemon does not answer");
        rss_kb(daemon)
    };
    let start = settled("after the warm-up");
    let t = Instant::now();
    run_churn(|n| churn_unix(&sock, n), CYCLES_PER_TRANSPORT);
    let unix_took = t.elapsed();
    let after_unix = settled("after the unix cycles");
    let t = Instant::now();
    run_churn(|n| churn_tcp(port, n), CYCLES_PER_TRANSPORT);
    let tcp_took = t.elapsed();
    let end = settled("after the TCP cycles");
    println!(
        "RSS {start} kB at the start, {after_unix} kB after {CYCLES_PER_TRANSPORT} unix cycles ({unix_took:?}), \
         {end} kB after {CYCLES_PER_TRANSPORT} TCP cycles ({tcp_took:?})"
    );
    for (what, kb) in [("unix", after_unix), ("TCP", end)] {
        assert!(kb <= start + 2048, "RSS grew from {start} kB to {kb} kB over the {what} cycles");
    }
    assert!(pid_alive(daemon));
}

// ---------------------------------------------------------------------------------
// Defect 3: a second supervisord on the same config touches nothing.

/// Every regular file under a directory, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read the daemon's directory")
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| (e.path(), std::fs::read(e.path()).unwrap_or_default()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_second_supervisord_on_the_same_config_exits_2_naming_the_socket_and_touches_nothing() {
    let d = Daemon::start(
        "hsecond",
        "[unix_http_server]\nfile={dir}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n\
         [program:w]\ncommand=/bin/sh -c 'echo hello from w; echo oops >&2; exec sleep 1000'\nstartsecs=0\n\
         stdout_logfile=AUTO\nstderr_logfile=AUTO\n",
    );
    assert!(d.wait_log("success: w entered RUNNING state", LONG), "{}", d.log());
    assert!(wait_until(LONG, || stdout(&ctl(&d, &["tail", "w"])).contains("hello from w")));
    let before = snapshot(d.dir.path());
    let auto_logs = before.iter().filter(|(p, _)| p.to_string_lossy().contains("---test-")).count();
    assert_eq!(auto_logs, 2, "the AUTO logs of w: {before:?}");

    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&d.conf));
    let sock = d.dir.join("sv.sock");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("[unix_http_server] file={}", sock.display())),
        "the refusal does not name the socket: {}",
        stderr(&o)
    );
    assert_eq!(snapshot(d.dir.path()), before, "the second supervisord changed the first one's files");
    assert!(sock.exists(), "the first daemon's socket is gone");
    let tail = ctl(&d, &["tail", "w"]);
    assert_eq!(stdout(&tail).trim_end(), "hello from w", "{}", stderr(&tail));
    let tail = ctl(&d, &["tail", "w", "stderr"]);
    assert_eq!(stdout(&tail).trim_end(), "oops", "{}", stderr(&tail));
}

#[test]
fn without_sockets_the_pidfile_keeps_a_second_supervisord_out() {
    let d = Daemon::start("hpidfile", "[program:w]\ncommand=sleep 1000\nstartsecs=0\nstdout_logfile=AUTO\n");
    assert!(d.wait_log("success: w entered RUNNING state", LONG), "{}", d.log());
    let before = snapshot(d.dir.path());
    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&d.conf));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let pidfile = d.dir.join("supervisord.pid");
    assert!(
        stderr(&o).contains(&format!("running with pid {} (pidfile {})", d.pid(), pidfile.display())),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(d.dir.path()), before, "the second supervisord changed the first one's files");
    // A stale pidfile (its process gone) does not keep a daemon out.
    let dir = TempDir::new("hstale");
    let conf = dir.write("supervisord.conf", &supervisord_section(dir.path(), ""));
    std::fs::write(dir.join("supervisord.pid"), "999999999\n").unwrap();
    let mut child = Command::new(bin())
        .arg("supervisord")
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let log = dir.join("supervisord.log");
    let started = wait_until(LONG, || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("supervisord started")));
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(started, "a stale pidfile kept the daemon out: {:?}", std::fs::read_to_string(&log));
}

// ---------------------------------------------------------------------------------
// Defect 4: log files that cannot be opened.

/// Waits for a process to be FATAL and returns its `status` line.
fn fatal_status(d: &Daemon, name: &str) -> String {
    let mut line = String::new();
    let fatal = wait_until(LONG, || {
        line = stdout(&ctl(d, &["status", name]));
        line.contains("FATAL")
    });
    assert!(fatal, "{name} is not FATAL: {line}\nlog:\n{}", d.log());
    line
}

#[test]
fn an_unopenable_stdout_or_stderr_logfile_names_the_file_and_the_program_never_runs() {
    let d = Daemon::start(
        "hlogdir",
        "[unix_http_server]\nfile={dir}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n\
         [program:out]\ncommand=/bin/echo out\nstdout_logfile={dir}/adir\nstartretries=1\nautostart=false\n\n\
         [program:err]\ncommand=/bin/echo err\nstderr_logfile={dir}/adir\nstartretries=1\nautostart=false\n",
    );
    // The config only needs the parent to exist; the path becomes a directory (which
    // fails for root too) before the programs are started.
    let adir = d.dir.join("adir");
    std::fs::create_dir(&adir).unwrap();
    for (name, channel) in [("out", "stdout"), ("err", "stderr")] {
        let _ = ctl(&d, &["start", name]);
        let line = fatal_status(&d, name);
        let why = format!("EISDIR: cannot open {channel}_logfile {}: Is a directory (os error 21)", adir.display());
        assert!(line.contains(&why), "status does not say which file and why: {line}");
        let log = d.log();
        assert!(log.contains(&format!("spawnerr: unknown error making dispatchers for '{name}': {why}")), "{log}");
        assert!(log.contains(&format!("gave up: {name} entered FATAL state")), "{log}");
        assert!(!log.contains(&format!("spawned: '{name}'")), "{name} ran with its output dropped:\n{log}");
    }
    // --check warns about the same paths.
    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&d.conf).arg("--check"));
    assert!(o.status.success(), "{}", stderr(&o));
    for (section, key) in [("program:out", "stdout_logfile"), ("program:err", "stderr_logfile")] {
        let warning = format!("[{section}] {key}: cannot write {}: Is a directory (os error 21)", adir.display());
        assert!(stderr(&o).contains(&warning), "--check does not warn: {warning}\n{}", stderr(&o));
    }
}

#[test]
fn an_unwritable_childlogdir_names_the_directory_and_the_program_never_runs() {
    // Root may write anywhere, so the daemon runs as nobody, and the childlogdir
    // belongs to root with mode 0755 (a chmod'd directory, as a non-root daemon meets it).
    if running_as_root() {
        let dir = TempDir::new("hchild");
        let logs = dir.join("logs");
        std::fs::create_dir(&logs).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = format!(
            "[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={l}\n\
             nodaemon=true\nloglevel=debug\nidentifier=test\nuser=nobody\n\n\
             [unix_http_server]\nfile={d}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{d}/sv.sock\n\n\
             [program:a]\ncommand=/bin/echo a\nstartretries=1\n",
            d = dir.path().display(),
            l = logs.display()
        );
        let conf = dir.write("supervisord.conf", &text);
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let child = Command::new(bin())
            .arg("supervisord")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start supervisord");
        let d = Daemon { dir, conf, child: Some(child) };
        assert!(d.wait_log("supervisord started with pid", LONG), "{}", d.log());
        let line = fatal_status(&d, "a");
        let why = format!(
            "EACCES: cannot create an AUTO stdout log in childlogdir {}: Permission denied (os error 13)",
            logs.display()
        );
        assert!(line.contains(&why), "status does not say which directory and why: {line}");
        let log = d.log();
        assert!(log.contains(&format!("'a': {why}")), "the main log does not say it at startup:\n{log}");
        assert!(log.contains(&format!("spawnerr: unknown error making dispatchers for 'a': {why}")), "{log}");
        assert!(!log.contains("spawned: 'a'"), "a ran with its output dropped:\n{log}");
        assert_eq!(std::fs::read_dir(&logs).unwrap().count(), 0, "something was written to the childlogdir");
    } else {
        // Not root: the directory's mode alone keeps us out.
        let dir = TempDir::new("hchild");
        let logs = dir.join("logs");
        std::fs::create_dir(&logs).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o555)).unwrap();
        let extra = format!("childlogdir={}", logs.display());
        let d = Daemon::start_with(
            "hchild",
            &extra,
            "[unix_http_server]\nfile={dir}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n\
             [program:a]\ncommand=/bin/echo a\nstartretries=1\n",
            &[],
        );
        let line = fatal_status(&d, "a");
        assert!(line.contains(&format!("childlogdir {}: Permission denied", logs.display())), "{line}");
        assert!(!d.log().contains("spawned: 'a'"), "{}", d.log());
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:")).map(|v| v.split_whitespace().next() == Some("0")))
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------
// Defect 5: what --check calls valid must start.

#[test]
fn check_reports_a_command_the_spawn_cannot_split() {
    let dir = TempDir::new("hquote");
    let text = format!(
        "{}\n[program:a]\ncommand=/bin/sh -c '(sleep 1 &) ; echo y'\n\n[program:b]\ncommand=/bin/sh -c 'echo fine'\n",
        supervisord_section(dir.path(), "")
    );
    let conf = dir.write("supervisord.conf", &text);
    let line = text.lines().position(|l| l.starts_with("command=/bin/sh -c '(sleep")).unwrap() + 1;
    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&conf).arg("--check"));
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    let expected = format!(
        "Error: {}:{line}: [program:a] command: can't parse command \"/bin/sh -c '(sleep 1 &)\": No closing quotation",
        conf.display()
    );
    assert!(stderr(&o).contains(&expected), "expected {expected:?} in:\n{}", stderr(&o));
    assert!(!stdout(&o).contains("valid"), "{}", stdout(&o));
    assert!(!stderr(&o).contains("[program:b]"), "a good command was reported: {}", stderr(&o));
    // The daemon gives the same words at spawn.
    let d = Daemon::start("hquoted", "[program:a]\ncommand=/bin/sh -c '(sleep 1 &) ; echo y'\nstartretries=0\n");
    assert!(d.wait_log("No closing quotation", LONG), "{}", d.log());
    // Quoted, the ';' is part of the command and --check is content.
    let ok = dir.write("ok.conf", &text.replace("'(sleep 1 &) ; echo y'", "'(sleep 1 &); echo y'"));
    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&ok).arg("--check"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("command=/bin/sh -c '(sleep 1 &); echo y'"), "{}", stdout(&o));
}

#[test]
fn a_duplicated_section_is_a_warning_naming_both_lines() {
    let dir = TempDir::new("hdup");
    let text = format!(
        "{}\n[program:a]\ncommand=/bin/sleep 1\nautostart=true\n\n[program:b]\ncommand=/bin/sleep 2\n\n\
         [program:a]\ncommand=/bin/sleep 3\n",
        supervisord_section(dir.path(), "")
    );
    let conf = dir.write("supervisord.conf", &text);
    let lines: Vec<usize> = text.lines().enumerate().filter(|(_, l)| *l == "[program:a]").map(|(i, _)| i + 1).collect();
    assert_eq!(lines.len(), 2);
    let o = run(Command::new(bin()).arg("supervisord").arg("-c").arg(&conf).arg("--check"));
    assert!(o.status.success(), "{}", stderr(&o));
    let warning = format!(
        "WARN {c}:{second}: [program:a] is defined again (first at {c}:{first})",
        c = conf.display(),
        first = lines[0],
        second = lines[1]
    );
    assert!(stderr(&o).contains(&warning), "expected {warning:?} in:\n{}", stderr(&o));
    // Merged as the reference merges: the later command wins.
    assert!(stdout(&o).contains("process a priority=999 autostart=true command=/bin/sleep 3"), "{}", stdout(&o));
}
