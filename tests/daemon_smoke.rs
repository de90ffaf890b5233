//! The daemon starts a program, logs the reference's lines, and shuts down on SIGTERM.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn starts_runs_and_stops_a_program() {
    let mut d = Daemon::start("smoke", "[program:sleeper]\ncommand=/bin/sleep 60\nstartsecs=0\n");
    assert!(d.wait_log("success: sleeper entered RUNNING state", Duration::from_secs(10)), "{}", d.log());
    let pid = d.spawned_pid("sleeper").expect("spawned line");
    assert!(pid_alive(pid));
    assert_eq!(d.stop(), Some(0));
    assert!(!pid_alive(pid), "the child outlived the daemon");
    let log = d.log();
    assert!(log.contains("received SIGTERM indicating exit request"), "{log}");
    assert!(log.contains("stopped: sleeper (terminated by SIGTERM)"), "{log}");
}
