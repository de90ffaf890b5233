//! /metrics read by prometheus_client's text parser (tests/support/metrics_check.py):
//! values match getAllProcessInfo and /proc, auth applies, and a scrape during a
//! 500-program crash storm answers correctly.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A venv with prometheus_client from PyPI, made once under target/.
fn prom_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let venv = target_dir().join("prom-venv");
        let ready = venv.join(".prometheus_client-installed");
        if ready.exists() {
            return venv.join("bin/python");
        }
        std::fs::create_dir_all(target_dir()).expect("target dir");
        let lock = std::fs::File::create(target_dir().join("prom-venv.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !ready.exists() {
            let o = run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
            assert!(o.status.success(), "python3 -m venv: {}", stderr(&o));
            let o = run(Command::new(venv.join("bin/pip")).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "prometheus_client",
            ]));
            assert!(o.status.success(), "pip install prometheus_client: {}", stderr(&o));
            std::fs::write(&ready, "").expect("mark ready");
        }
        venv.join("bin/python")
    })
    .clone()
}

fn check(args: &[&str]) -> String {
    let o = run(Command::new(prom_python()).arg(repo_root().join("tests/support/metrics_check.py")).args(args));
    let out = stdout(&o);
    assert!(o.status.success(), "metrics_check {args:?}:\n{out}\n{}", stderr(&o));
    out
}

#[test]
fn metrics_match_process_info_and_proc() {
    let port = free_port();
    let d = Daemon::start(
        "metrics",
        &format!(
            r#"
[inet_http_server]
port=127.0.0.1:{port}

[program:burner]
; Some CPU time first, then idle: the CPU seconds must match /proc.
command=sh -c 'i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done; echo burnt; exec sleep 1000'
startsecs=0

[program:crasher]
command=sh -c 'exit 3'
startsecs=0
autorestart=false

[program:idle]
command=sleep 1000
autostart=false

[program:web]
command=sleep 1000
numprocs=2
process_name=%(program_name)s_%(process_num)s
startsecs=0
"#
        ),
    );
    assert!(d.wait_log("exited: crasher (exit status 3", Duration::from_secs(30)), "{}", d.log());
    let burner_log = || {
        std::fs::read_dir(d.dir.path()).ok().into_iter().flatten().flatten().any(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.starts_with("burner-stdout") && std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("burnt"))
        })
    };
    assert!(wait_until(Duration::from_secs(120), burner_log), "the burner finished its loop");
    let out = check(&["match", &format!("http://127.0.0.1:{port}")]);
    for line in [
        "ok burner:burner RUNNING",
        "ok crasher:crasher EXITED",
        "ok idle:idle STOPPED",
        "ok web:web_1 RUNNING",
        "ok daemon ",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    eprintln!("{out}");
}

#[test]
fn metrics_need_the_same_credentials_as_xmlrpc() {
    let port = free_port();
    let _d = Daemon::start(
        "metricsauth",
        &format!(
            "[inet_http_server]\nport=127.0.0.1:{port}\nusername=u\npassword=p\n\n[program:a]\ncommand=sleep 1000\n"
        ),
    );
    let code = |creds: &[&str]| {
        let o = run(Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(creds)
            .arg(format!("http://127.0.0.1:{port}/metrics")));
        stdout(&o)
    };
    assert_eq!(code(&[]), "401");
    assert_eq!(code(&["-u", "u:wrong"]), "401");
    assert_eq!(code(&["-u", "u:p"]), "200");
}

#[test]
fn metrics_during_a_crash_storm() {
    const N: usize = 500;
    let port = free_port();
    let mut body = format!("[inet_http_server]\nport=127.0.0.1:{port}\n");
    body.push_str(&format!(
        "\n[program:storm]\ncommand=sh -c 'exit 1'\nnumprocs={N}\nprocess_name=%(program_name)s_%(process_num)03d\nstartsecs=0\nautorestart=true\nstartretries=1000\n"
    ));
    let mut d = Daemon::start("metricsstorm", &body);
    let out = check(&["storm", &format!("http://127.0.0.1:{port}"), &N.to_string(), "5"]);
    assert!(out.contains("ok scrape 4: 500 processes"), "{out}");
    eprintln!("{}", out.lines().last().unwrap_or(""));
    // Calm the storm before the daemon is stopped.
    let o = run(Command::new(bin()).args(["ctl", "-s", &format!("http://127.0.0.1:{port}"), "stop", "all"]));
    assert!(o.status.success() || !stdout(&o).is_empty());
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn status_long_and_json_show_usage() {
    let d = Daemon::start(
        "statuslong",
        "[unix_http_server]\nfile={dir}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n[program:sleeper]\ncommand=sleep 1000\nstartsecs=0\n\n[program:off]\ncommand=sleep 1000\nautostart=false\n",
    );
    let ctl = |args: &[&str]| stdout(&run(Command::new(bin()).args(["ctl", "-c"]).arg(&d.conf).args(args)));
    assert!(wait_until(Duration::from_secs(30), || ctl(&["status", "sleeper"]).contains("RUNNING")));
    let pid = d.spawned_pid("sleeper").expect("a pid");
    let long = ctl(&["status", "-l"]);
    let lines: Vec<&str> = long.lines().collect();
    assert!(
        lines[0]
            .split_whitespace()
            .collect::<Vec<_>>()
            .starts_with(&["NAME", "STATE", "PID", "UPTIME", "CPU%", "RSS", "THR", "FDS"]),
        "{long}"
    );
    let off: Vec<&str> = lines.iter().find(|l| l.starts_with("off ")).expect("off row").split_whitespace().collect();
    assert_eq!(&off[..8], ["off", "STOPPED", "-", "-", "-", "-", "-", "-"], "{long}");
    let row: Vec<&str> =
        lines.iter().find(|l| l.starts_with("sleeper ")).expect("sleeper row").split_whitespace().collect();
    assert_eq!((row[1], row[2]), ("RUNNING", pid.to_string().as_str()), "{long}");
    assert!(row[5].ends_with('M') || row[5].ends_with('K'), "an RSS figure: {long}");
    assert_eq!(row[6], "1", "one thread: {long}");
    assert!(lines.last().is_some_and(|l| l.starts_with(&format!("supervisord pid {}: CPU ", d.pid()))), "{long}");
    // --long is an option; the plain table is unchanged.
    assert!(!ctl(&["status"]).contains("RSS"));

    let json = ctl(&["status", "--json", "sleeper"]);
    let rss_proc: u64 = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("proc status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    let field =
        |k: &str| json.split(&format!("\"{k}\": ")).nth(1).and_then(|r| r.split([',', '}']).next()).map(str::to_string);
    let rss: u64 = field("rss_bytes").and_then(|v| v.parse().ok()).expect("rss_bytes");
    assert!(rss.abs_diff(rss_proc * 1024) <= rss_proc * 1024 / 4 + 65536, "rss {rss} vs /proc {rss_proc} kB");
    assert_eq!(field("threads").as_deref(), Some("1"));
    assert!(field("cpu_percent").is_some_and(|v| v.parse::<f64>().is_ok()), "{json}");
    assert_eq!(field("restarts").as_deref(), Some("0"));
}

/// Voluntary context switches of all the daemon's threads.
fn voluntary_switches(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("task dir")
        .flatten()
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("status"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

#[test]
fn the_views_leave_no_wakeups_behind() {
    let port = free_port();
    let d = Daemon::start(
        "viewsidle",
        &format!("[inet_http_server]\nport=127.0.0.1:{port}\n\n[program:a]\ncommand=sleep 1000\nstartsecs=0\nnumprocs=3\nprocess_name=%(program_name)s_%(process_num)s\n"),
    );
    assert!(d.wait_log_count("entered RUNNING state", 3, Duration::from_secs(30)), "{}", d.log());
    for path in ["/", "/api/status", "/api/rows", "/metrics", "/tail.html?processname=a:a_0", "/mainlog.html"] {
        let o = run(Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{port}{path}")));
        assert_eq!(stdout(&o), "200", "{path}");
    }
    // The answered connections were closed by the clients; from here on the daemon
    // has nothing to do: no sampling timer, no page state that ticks.
    let before = voluntary_switches(d.pid());
    std::thread::sleep(Duration::from_secs(3)); // the measuring window, not a synchronisation
    let after = voluntary_switches(d.pid());
    assert!(after - before <= 1, "{} wake-ups in 3 s after the views were served", after - before);
}
