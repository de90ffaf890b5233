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
