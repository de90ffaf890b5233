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

/// One XML-RPC call over a unix socket; the raw response text.
fn rpc(socket: &std::path::Path, method: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let body = supervisor::rpc::xmlrpc::call(method, &[]);
    let req = format!("POST /RPC2 HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn reload_moves_the_control_socket_when_the_config_does() {
    let d =
        Daemon::start("smoke-reload", "[unix_http_server]\nfile={dir}/a.sock\n\n[program:p]\ncommand=/bin/sleep 60\n");
    let a = d.dir.join("a.sock");
    let b = d.dir.join("b.sock");
    assert!(rpc(&a, "supervisor.getPID").is_some_and(|r| r.contains("<int>")));
    let text = std::fs::read_to_string(&d.conf).unwrap().replace("a.sock", "b.sock");
    std::fs::write(&d.conf, text).unwrap();
    d.signal("HUP");
    assert!(wait_until(Duration::from_secs(10), || rpc(&b, "supervisor.getPID").is_some()), "{}", d.log());
    assert!(!a.exists(), "the old socket file was left behind");
    assert!(rpc(&b, "supervisor.getState").is_some_and(|r| r.contains("RUNNING")));
}
