//! Thousands of programs: 5,000 single-program groups of equal priority start, are
//! listed, and stop on SIGTERM, leaving no child behind. Deadlines are functional and
//! generous (a shared 2-core machine); the costs themselves are measured by
//! benches/compare.py (the growth scenario), never here.

mod common;
use common::*;

use std::process::Command;
use std::time::Duration;

const PROGRAMS: usize = 5000;

#[test]
fn five_thousand_programs_start_list_and_shut_down() {
    let body: String = (0..PROGRAMS)
        .map(|i| {
            format!(
                "[program:g{i:04}]\ncommand=/bin/sleep 600\nstartsecs=0\nautorestart=true\n\
                 stdout_logfile=NONE\nstderr_logfile=NONE\n\n"
            )
        })
        .collect();
    let sock = "[unix_http_server]\nfile={dir}/s.sock\n\n[rpcinterface:supervisor]\n\
                supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                [supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n";
    // Three descriptors a program: the limit must allow them (the machine's hard limit
    // is above this).
    let mut d = Daemon::start_with("scale-5000", "minfds=16000\nloglevel=info", &format!("{sock}{body}"), &[]);
    assert!(
        d.wait_log_count("success: ", PROGRAMS, Duration::from_secs(600)),
        "not all {PROGRAMS} programs reached RUNNING; {} did",
        d.log().matches("success: ").count()
    );
    let log = d.log();
    let pids: Vec<u32> = log
        .lines()
        .filter_map(|l| l.split("spawned: '").nth(1))
        .filter_map(|rest| rest.split("with pid ").nth(1)?.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), PROGRAMS, "one spawn per program expected");
    assert!(pids.iter().all(|&p| pid_alive(p)), "a child died");

    let out = run(Command::new(bin()).arg("ctl").arg("-c").arg(&d.conf).arg("status"));
    assert!(out.status.success(), "ctl status failed: {}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), PROGRAMS, "status lists every program");
    assert_eq!(text.lines().filter(|l| l.contains(" RUNNING ")).count(), PROGRAMS);
    assert!(text.lines().next().is_some_and(|l| l.starts_with("g0000 ")), "lexical order");

    d.signal("TERM");
    assert_eq!(d.wait_exit(Duration::from_secs(300)), Some(0), "exit status after SIGTERM");
    let left: Vec<u32> = pids.iter().copied().filter(|&p| pid_alive(p)).collect();
    assert!(left.is_empty(), "{} children survived the shutdown, e.g. {:?}", left.len(), &left[..left.len().min(5)]);
    let log = d.log();
    assert_eq!(log.matches("stopped: ").count(), PROGRAMS, "every program logged as stopped");
}
