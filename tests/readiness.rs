//! depends_on, readiness, health checks, backoff and start limits (issue 15), with the
//! real binary: a chain c -> b -> a where a is ready only after 1 s, once per kind of
//! readiness; `start c` alone; config errors; health restarts; backoff timings; the
//! start limit; hostile probe targets; and the wake-up count of an idle daemon.

mod common;
use common::*;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

const SOON: Duration = Duration::from_secs(20);

const CONTROL: &str = "[unix_http_server]\nfile={dir}/s.sock\n\n\
    [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
    [supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n";

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

fn ctl(d: &Daemon, args: &[&str]) -> String {
    stdout(&run(tool("supervisorctl").arg("-c").arg(&d.conf).args(args)))
}

/// Byte offset of a log line, or a failure naming the whole log.
fn at(log: &str, needle: &str) -> usize {
    log.find(needle).unwrap_or_else(|| panic!("{needle:?} is not in the log:\n{log}"))
}

/// The time of the log line containing `needle`, in seconds of the day.
fn time_of(log: &str, needle: &str, nth: usize) -> f64 {
    let line = log.lines().filter(|l| l.contains(needle)).nth(nth).unwrap_or_else(|| panic!("{needle} #{nth}:\n{log}"));
    let t = line.split_whitespace().nth(1).expect("a time");
    let (hms, ms) = t.split_once(',').expect("a comma");
    let mut parts = hms.split(':').map(|p| p.parse::<f64>().expect("a number"));
    let (h, m, s) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    h * 3600.0 + m * 60.0 + s + ms.parse::<f64>().expect("ms") / 1000.0
}

/// Runs the chain with `a` as given; b and c have priorities that would start them
/// first and stop them last without depends_on.
fn chain(tag: &str, a: &str) {
    let body = format!(
        "{CONTROL}[program:a]\n{a}\npriority=30\n\n\
         [program:b]\ncommand=/bin/sleep 101\nstartsecs=0\ndepends_on=a\npriority=20\n\n\
         [program:c]\ncommand=/bin/sleep 102\nstartsecs=0\ndepends_on=b\npriority=10\n"
    );
    let mut d = Daemon::start(tag, &body);
    assert!(d.wait_log("success: c entered RUNNING", SOON), "{}", d.log());
    let log = d.log();
    let a_spawn = at(&log, "spawned: 'a'");
    let a_ready = at(&log, "success: a entered RUNNING state, process is ready");
    let b_spawn = at(&log, "spawned: 'b'");
    let b_ready = at(&log, "success: b entered RUNNING");
    let c_spawn = at(&log, "spawned: 'c'");
    assert!(a_spawn < a_ready && a_ready < b_spawn && b_ready < c_spawn, "wrong order:\n{log}");
    let waited = time_of(&log, "success: a entered RUNNING", 0) - time_of(&log, "spawned: 'a'", 0);
    assert!(waited >= 0.9, "a was RUNNING {waited} s after its spawn, before it was ready:\n{log}");
    assert!(log.contains("b is waiting for a (STARTING)"), "{log}");
    let status = ctl(&d, &["status"]);
    assert_eq!(status.matches("RUNNING").count(), 3, "{status}");

    assert_eq!(d.stop(), Some(0));
    let log = d.log();
    let (c, b, a) = (at(&log, "stopped: c"), at(&log, "stopped: b"), at(&log, "stopped: a"));
    assert!(c < b && b < a, "shutdown was not in reverse dependency order:\n{log}");
}

#[test]
fn chain_ready_by_notification_fd() {
    chain("rdy-fd", "command=/bin/sh -c 'sleep 1; echo up >&3; exec sleep 100'\nready=fd:3");
}

#[test]
fn chain_ready_by_notification_fd_s6_key() {
    chain("rdy-fd6", "command=/bin/sh -c 'sleep 1; printf \"x\\n\" >&5; exec sleep 100'\nnotification_fd=5");
}

#[test]
fn chain_ready_by_sd_notify() {
    // A small real sd_notify client: one datagram to $NOTIFY_SOCKET ('@' = abstract).
    let client = "import os,socket,time\ntime.sleep(1)\na=os.environ['NOTIFY_SOCKET']\n\
                  a='\\0'+a[1:] if a.startswith('@') else a\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\n\
                  s.sendto(b'STATUS=warming up',a)\ns.sendto(b'MAINPID=%d\\nSTATUS=serving\\nREADY=1' % os.getpid(),a)\n\
                  time.sleep(100)\n";
    let dir = TempDir::new("rdy-notify-client");
    let script = dir.write("client.py", client);
    chain("rdy-notify", &format!("command=python3 {}\nready=notify", script.display()));
}

#[test]
fn chain_ready_by_tcp() {
    let port = free_port();
    chain(
        "rdy-tcp",
        &format!(
            "command=/bin/sh -c 'sleep 1; exec python3 -m http.server --bind 127.0.0.1 {port}'\n\
             ready=tcp://127.0.0.1:{port}\nready_interval=0.2"
        ),
    );
}

#[test]
fn chain_ready_by_http() {
    let port = free_port();
    chain(
        "rdy-http",
        &format!(
            "command=/bin/sh -c 'sleep 1; exec python3 -m http.server --bind 127.0.0.1 {port}'\n\
             ready=http://127.0.0.1:{port}/\nready_interval=0.2"
        ),
    );
}

#[test]
fn chain_ready_by_exec() {
    chain(
        "rdy-exec",
        "command=/bin/sh -c 'sleep 1; touch ready.flag; exec sleep 100'\ndirectory={dir}\n\
         ready=exec:test -e ready.flag\nready_interval=0.2",
    );
}

#[test]
fn chain_ready_by_log_line() {
    chain(
        "rdy-log",
        "command=/bin/sh -c 'echo booting; sleep 1; echo \"listening on port 8080\"; exec sleep 100'\n\
         ready_log_line=listening on port \\d+",
    );
}

/// At loglevel=info a plain log file would take the splice fast path, where the daemon
/// never sees the bytes: a readiness log line must still be read.
#[test]
fn ready_log_line_is_seen_when_output_only_goes_to_a_file() {
    let d = Daemon::start_with(
        "rdy-log-info",
        "loglevel=info",
        "[program:a]\ncommand=/bin/sh -c 'sleep 0.5; echo \"listening on port 8080\"; exec sleep 100'\n\
         stdout_logfile={dir}/a.log\nready_log_line=listening on port \\d+\nready_timeout=30\n",
        &[],
    );
    assert!(d.wait_log("success: a entered RUNNING state", Duration::from_secs(20)), "{}", d.log());
}

/// xmlrpc.client (stdlib, the reference's transport is not needed over TCP).
fn xmlrpc(port: u16, code: &str) -> String {
    let script =
        format!("import xmlrpc.client as x\ns=x.ServerProxy('http://127.0.0.1:{port}/RPC2').supervisor\n{code}\n");
    let o = run(Command::new("python3").arg("-c").arg(script));
    assert!(o.status.success(), "python failed: {}", stderr(&o));
    stdout(&o)
}

#[test]
fn start_c_alone_brings_up_a_and_b_and_clients_see_only_reference_keys() {
    let port = free_port();
    let body = format!(
        "[inet_http_server]\nport=127.0.0.1:{port}\n\n\
         [program:a]\ncommand=/bin/sh -c 'sleep 1; echo up >&3; exec sleep 100'\nready=fd:3\nautostart=false\n\n\
         [program:b]\ncommand=/bin/sleep 101\nautostart=false\ndepends_on=a\nstartsecs=0\n\n\
         [program:c]\ncommand=/bin/sleep 102\nautostart=false\ndepends_on=b\nstartsecs=0\n"
    );
    let d = Daemon::start("rdy-startc", &body);
    // startProcess(wait=True) is parked until c is RUNNING, which needs a and b first.
    let out = xmlrpc(
        port,
        "print(s.startProcess('c', True))\n\
         for p in s.getAllProcessInfo():\n    print(p['name'], p['statename'], sorted(p.keys()))",
    );
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("True"), "{out}\n{}", d.log());
    let keys = "['description', 'exitstatus', 'group', 'logfile', 'name', 'now', 'pid', 'spawnerr', 'start', \
                'state', 'statename', 'stderr_logfile', 'stdout_logfile', 'stop']";
    for name in ["a", "b", "c"] {
        assert_eq!(lines.next(), Some(format!("{name} RUNNING {keys}").as_str()), "{out}");
    }
    let log = d.log();
    assert!(at(&log, "success: a entered RUNNING") < at(&log, "spawned: 'b'"), "{log}");
    assert!(at(&log, "success: b entered RUNNING") < at(&log, "spawned: 'c'"), "{log}");
}

#[test]
fn a_fatal_dependency_leaves_dependents_visibly_waiting() {
    let body = format!(
        "{CONTROL}[program:db]\ncommand=/bin/false\nstartretries=0\n\n\
         [program:web]\ncommand=/bin/sleep 100\ndepends_on=db\n"
    );
    let d = Daemon::start("rdy-fatal", &body);
    assert!(d.wait_log("web is waiting for db (FATAL)", SOON), "{}", d.log());
    let status = ctl(&d, &["status", "web"]);
    assert!(status.contains("STARTING") && status.contains("waiting for db (FATAL)"), "{status}");
    // The reference's own supervisorctl shows the same, in its columns.
    let theirs = stdout(&run(reference_tool("supervisorctl").arg("-c").arg(&d.conf).args(["status", "web"])));
    assert_eq!(theirs.split_whitespace().collect::<Vec<_>>(), ["web", "STARTING", "waiting", "for", "db", "(FATAL)"]);
    let theirs = run(reference_tool("supervisorctl").arg("-c").arg(&d.conf).args(["start", "web"]));
    assert!(stdout(&theirs).contains("web: ERROR (already started)"), "{}", stdout(&theirs));
    // The daemon still serves, and a stop of the waiting program works.
    let out = ctl(&d, &["stop", "web"]);
    assert!(out.contains("web: stopped"), "{out}");
}

fn config_error(tag: &str, body: &str) -> String {
    let dir = TempDir::new(tag);
    let conf = dir.write("supervisord.conf", &format!("{}\n{body}", supervisord_section(dir.path(), "")));
    let o = run(tool("supervisord").arg("-c").arg(&conf));
    assert!(!o.status.success(), "a bad config was accepted: {body}");
    assert!(!dir.join("supervisord.pid").exists(), "a bad config half-started");
    let text = format!("{}{}", stdout(&o), stderr(&o));
    assert!(text.contains(&format!("{}:", conf.display())), "no file named: {text}");
    text
}

#[test]
fn cycles_unknown_names_and_bad_probes_are_config_errors() {
    let text = config_error(
        "rdy-cycle",
        "[program:a]\ncommand=/bin/true\ndepends_on=c\n\n[program:b]\ncommand=/bin/true\ndepends_on=a\n\n\
         [program:c]\ncommand=/bin/true\ndepends_on=b\n",
    );
    assert!(text.contains("[program:a] depends_on: dependency cycle: a -> c -> b -> a"), "{text}");
    assert!(text.contains("supervisord.conf:12:"), "the line of a's depends_on: {text}");

    let text = config_error("rdy-unknown", "[program:a]\ncommand=/bin/true\ndepends_on=nope\n");
    assert!(text.contains("[program:a] depends_on: nope is not a program, group or group:process"), "{text}");

    for (key_value, expect) in [
        ("ready_log_line=(unclosed", "ready_log_line: invalid regular expression"),
        ("ready=tcp://db.internal:5432", "ready: db.internal is not an IP address"),
        ("ready=http://127.0.0.1:notaport/", "ready: bad port"),
        ("ready=fd:2", "ready: the notification fd must be between 3 and 1023"),
        ("notification_fd=1", "notification_fd: the notification fd must be between 3 and 1023"),
        ("ready_interval=-1", "ready_interval: a number of seconds must not be negative"),
        ("liveness_check_script=tcp://127.0.0.1:1\nliveness_check_period=-5", "liveness_check_period: a number"),
        ("liveness_check_period=5", "liveness_check_period: liveness_check_period needs liveness_check_script"),
        ("startlimitburst=0", "startlimitburst: must be 1 or more"),
        ("backoff=random", "backoff: must be linear or exponential"),
    ] {
        let text = config_error("rdy-bad", &format!("[program:p]\ncommand=/bin/true\n{key_value}\n"));
        assert!(text.contains(&format!("[program:p] {expect}")), "{key_value}: {text}");
    }
}

/// A listener in plain Python (no childutils): appends event names to a file.
const LISTENER: &str =
    "import sys\nout=open(sys.argv[1],'a')\nwhile True:\n    sys.stdout.write('READY\\n'); sys.stdout.flush()\n    \
    h=dict(x.split(':',1) for x in sys.stdin.readline().split())\n    p=sys.stdin.read(int(h['len']))\n    \
    out.write(h['eventname']+' '+p.replace('\\n','|')+'\\n'); out.flush()\n    \
    sys.stdout.write('RESULT 2\\nOK'); sys.stdout.flush()\n";

#[test]
fn unhealthy_program_is_restarted_after_n_failures_and_listeners_hear_of_it() {
    let dir = TempDir::new("rdy-health-listener");
    let listener = dir.write("listener.py", LISTENER);
    let body = format!(
        "{CONTROL}[program:web]\ncommand=/bin/sleep 100\nstartsecs=0\n\
         liveness_check_script=exec:test -e {{dir}}/healthy\nliveness_check_initial_delay=0.2\n\
         liveness_check_period=0.3\nliveness_check_failure_threshold=3\n\n\
         [eventlistener:health]\ncommand=python3 {l} {{dir}}/health.events\nevents=PROCESS_HEALTH_UNHEALTHY\n\n\
         [eventlistener:all]\ncommand=python3 {l} {{dir}}/all.events\nevents=EVENT\n",
        l = listener.display()
    );
    let d = Daemon::start("rdy-health", &body);
    assert!(d.wait_log("unhealthy: web failed 3 health checks in a row", SOON), "{}", d.log());
    assert!(d.wait_log_count("spawned: 'web'", 2, SOON), "not restarted:\n{}", d.log());
    let log = d.log();
    assert!(log.contains("health check of web failed (2 of 3 in a row)"), "{log}");
    assert!(log.contains("; restarting it"), "{log}");
    let events = d.dir.join("health.events");
    assert!(wait_until(SOON, || std::fs::read_to_string(&events)
        .unwrap_or_default()
        .contains("PROCESS_HEALTH_UNHEALTHY processname:web")));
    // A healthy check afterwards: the description shows it.
    std::fs::write(d.dir.join("healthy"), "").unwrap();
    assert!(wait_until(SOON, || ctl(&d, &["status", "web"]).contains(", healthy")), "{}", ctl(&d, &["status", "web"]));
    let all_path = d.dir.join("all.events");
    let all_got = || std::fs::read_to_string(&all_path).unwrap_or_default();
    // The RUNNING after the restart comes after the health event in the event order.
    assert!(
        wait_until(SOON, || all_got().matches("PROCESS_STATE_RUNNING processname:web").count() >= 2),
        "{}",
        all_got()
    );
    let all = all_got();
    assert!(!all.contains("PROCESS_HEALTH"), "a listener of EVENT got our added type: {all}");
}

#[test]
fn exponential_backoff_timings() {
    let body = "[program:flaky]\ncommand=/bin/false\nstartretries=3\nbackoff=exponential\n";
    let d = Daemon::start("rdy-expo", body);
    assert!(d.wait_log("gave up: flaky entered FATAL state", Duration::from_secs(30)), "{}", d.log());
    let log = d.log();
    let gaps: Vec<f64> =
        (0..3).map(|i| time_of(&log, "spawned: 'flaky'", i + 1) - time_of(&log, "exited: flaky", i)).collect();
    for (gap, want) in gaps.iter().zip([1.0, 2.0, 4.0]) {
        assert!((gap - want).abs() < 0.5, "backoff gaps {gaps:?}, expected 1, 2, 4 s:\n{log}");
    }
}

#[test]
fn restart_rate_limit_gives_fatal_with_its_reason() {
    let body = format!(
        "{CONTROL}[program:loop]\ncommand=/bin/sh -c 'sleep 0.2; exit 1'\nstartsecs=0\nautorestart=true\n\
         startlimitburst=3\nstartlimitinterval=30\n"
    );
    let d = Daemon::start("rdy-limit", &body);
    assert!(
        d.wait_log("gave up: loop entered FATAL state, start limit hit: 3 starts within 30 s", SOON),
        "{}",
        d.log()
    );
    assert_eq!(d.log().matches("spawned: 'loop'").count(), 3, "{}", d.log());
    let status = ctl(&d, &["status", "loop"]);
    assert!(status.contains("FATAL") && status.contains("start limit hit"), "{status}");
}

#[test]
fn hostile_notify_fd_and_probe_targets_are_bounded_and_logged() {
    // A server that accepts and never answers, and one that sends 100 MB without a
    // status line.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let flood = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (silent_port, flood_port) = (silent.local_addr().unwrap().port(), flood.local_addr().unwrap().port());
    let _silent_thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    std::thread::spawn(move || {
        for mut s in flood.incoming().flatten() {
            std::thread::spawn(move || {
                let chunk = vec![b'x'; 1 << 20];
                let mut req = [0u8; 512];
                let _ = s.read(&mut req);
                for _ in 0..100 {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
            });
        }
    });
    let body = format!(
        "{CONTROL}[program:silent]\ncommand=/bin/sleep 100\nready=http://127.0.0.1:{silent_port}/\nready_timeout=3\n\
         ready_interval=1\nstartretries=0\n\n\
         [program:flood]\ncommand=/bin/sleep 100\nready=http://127.0.0.1:{flood_port}/\nready_timeout=3\nstartretries=0\n\n\
         [program:garbage]\ncommand=/bin/sh -c 'head -c 100000 /dev/zero >&3; exec sleep 100'\nready=fd:3\n\
         ready_timeout=3\nstartretries=0\n\n\
         [program:notifyjunk]\ncommand=python3 -c 'import os,socket,time; a=os.environ[\"NOTIFY_SOCKET\"]; \
         s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); [s.sendto(os.urandom(60000), \"\\0\"+a[1:]) for i in range(50)]; \
         s.sendto(b\"no equals sign\", \"\\0\"+a[1:]); time.sleep(100)'\nready=notify\nready_timeout=3\nstartretries=0\n"
    );
    let d = Daemon::start("rdy-hostile", &body);
    // Between the first failed try and the readiness timeout, status says why.
    let why = format!("not ready yet: http://127.0.0.1:{silent_port}/ timed out after 1 s");
    assert!(wait_until(SOON, || ctl(&d, &["status", "silent"]).contains(&why)), "{}", ctl(&d, &["status"]));
    for name in ["silent", "flood", "garbage", "notifyjunk"] {
        assert!(d.wait_log(&format!("gave up: {name} entered FATAL"), SOON), "{name}:\n{}", d.log());
    }
    let log = d.log();
    assert!(log.contains("timed out after 1 s"), "{log}");
    assert!(log.contains("sent 4096 bytes without an HTTP status line"), "{log}");
    assert!(log.contains("bytes on notification fd 3 without a newline; no longer read"), "{log}");
    assert!(log.contains("notifyjunk: ignored a notify"), "{log}");
    assert!(log.contains("notifyjunk: ignored a notify message longer than 4096 bytes"), "{log}");
    let status = ctl(&d, &["status"]);
    assert_eq!(status.matches("FATAL").count(), 4, "{status}");
    assert!(status.contains("not ready after 3 s"), "{status}");
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{}/status", d.pid()))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(rss_kb < 32 * 1024, "the daemon holds {rss_kb} kB after hostile probes");
}

fn voluntary_switches(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches")
}

#[test]
fn idle_daemon_with_these_keys_but_no_checks_makes_zero_wakeups() {
    // a's ready_timeout would fire inside the measured window if a timer of a state
    // left behind stayed on the heap.
    let body = "[program:a]\ncommand=/bin/sh -c 'echo up >&3; exec sleep 100'\nready=fd:3\nready_timeout=4\nbackoff=exponential\n\
                restartpause=2\nstartlimitburst=5\nfatal_cooldown=60\n\n\
                [program:b]\ncommand=/bin/sleep 100\ndepends_on=a\nready_log_line=never\nready_timeout=1\n\
                startretries=0\n\n[program:c]\ncommand=/bin/sleep 100\nstartsecs=0\ndepends_on=a\n";
    let d = Daemon::start("rdy-idle", body);
    assert!(d.wait_log("success: c entered RUNNING", SOON), "{}", d.log());
    assert!(d.wait_log("gave up: b entered FATAL", SOON), "{}", d.log());
    std::thread::sleep(Duration::from_millis(1500));
    let before = voluntary_switches(d.pid());
    std::thread::sleep(Duration::from_secs(3));
    let after = voluntary_switches(d.pid());
    assert_eq!(after, before, "the idle daemon woke up {} times in 3 s", after - before);
}

#[test]
fn with_a_periodic_check_the_daemon_wakes_only_at_its_interval() {
    let port = free_port();
    let body = format!(
        "[program:web]\ncommand=python3 -m http.server --bind 127.0.0.1 {port}\nready=tcp://127.0.0.1:{port}\n\
         liveness_check_script=tcp://127.0.0.1:{port}\nliveness_check_initial_delay=0\nliveness_check_period=1\n"
    );
    let d = Daemon::start("rdy-period", &body);
    assert!(d.wait_log("success: web entered RUNNING", SOON), "{}", d.log());
    std::thread::sleep(Duration::from_millis(1500));
    let before = voluntary_switches(d.pid());
    std::thread::sleep(Duration::from_secs(4));
    let woke = voluntary_switches(d.pid()) - before;
    // One check a second, each a timer wake-up plus the connect completing.
    eprintln!("wake-ups in 4 s with a 1 s tcp check: {woke}");
    assert!((2..=16).contains(&woke), "{woke} wake-ups in 4 s with one check a second");
}

#[test]
fn stop_all_stops_dependents_first_and_start_all_lists_every_program() {
    let body = format!(
        "{CONTROL}[program:a]\ncommand=/bin/sh -c 'sleep 0.5; echo up >&3; exec sleep 100'\nready=fd:3\npriority=30\n\n\
         [program:b]\ncommand=/bin/sleep 101\nstartsecs=0\ndepends_on=a\npriority=20\n\n\
         [program:c]\ncommand=/bin/sleep 102\nstartsecs=0\ndepends_on=b\npriority=10\n"
    );
    let d = Daemon::start("rdy-all", &body);
    assert!(d.wait_log("success: c entered RUNNING", SOON), "{}", d.log());
    let out = ctl(&d, &["stop", "all"]);
    for name in ["a", "b", "c"] {
        assert!(out.contains(&format!("{name}: stopped")), "{out}");
    }
    let log = d.log();
    let (c, b, a) = (at(&log, "stopped: c"), at(&log, "stopped: b"), at(&log, "stopped: a"));
    assert!(c < b && b < a, "stop all was not in reverse dependency order:\n{log}");

    let out = ctl(&d, &["start", "all"]);
    for name in ["a", "b", "c"] {
        assert!(out.contains(&format!("{name}: started")), "{out}\n{}", d.log());
    }
    let log = d.log();
    let restart = at(&log, "stopped: a");
    let later = &log[restart..];
    assert!(at(later, "success: a entered RUNNING") < at(later, "spawned: 'b'"), "{later}");
    assert!(at(later, "success: b entered RUNNING") < at(later, "spawned: 'c'"), "{later}");
}

#[test]
fn update_starts_added_programs_after_their_dependencies() {
    let first =
        format!("{CONTROL}[program:zz]\ncommand=/bin/sh -c 'sleep 0.5; echo up >&3; exec sleep 100'\nready=fd:3\n");
    let d = Daemon::start("rdy-update", &first);
    assert!(d.wait_log("success: zz entered RUNNING", SOON), "{}", d.log());
    // aa sorts (and is added) before bb, which it depends on.
    let added = "[program:aa]\ncommand=/bin/sleep 100\nstartsecs=0\ndepends_on=bb\n\n\
                 [program:bb]\ncommand=/bin/sh -c 'sleep 0.5; echo up >&3; exec sleep 100'\nready=fd:3\ndepends_on=zz\n";
    let text = std::fs::read_to_string(&d.conf).unwrap() + "\n" + added;
    std::fs::write(&d.conf, text).unwrap();
    let out = ctl(&d, &["update"]);
    assert!(out.contains("aa: added process group") && out.contains("bb: added process group"), "{out}");
    assert!(d.wait_log("success: aa entered RUNNING", SOON), "{}", d.log());
    let log = d.log();
    assert!(at(&log, "success: bb entered RUNNING") < at(&log, "spawned: 'aa'"), "{log}");
    assert!(!log.contains("not configured"), "a group being added is not missing:\n{log}");
}
