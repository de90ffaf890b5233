//! supervisord under a service manager that speaks sd_notify (systemd's Type=notify):
//! the test plays the manager, binding the datagram socket that NOTIFY_SOCKET names,
//! and reads what the daemon tells it at start, reload and shutdown.

mod common;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

const PROGRAMS: &str = "\
[program:plain]
command=/bin/sh -c 'env > {dir}/plain.env; exec sleep 1000'
startsecs=0

[program:asks]
command=/bin/sh -c 'env > {dir}/asks.env; exec sleep 1000'
startsecs=0
environment=NOTIFY_SOCKET=\"%(ENV_NOTIFY_SOCKET)s\"
";

fn start(dir: &TempDir, notify_socket: &str) -> Child {
    let text =
        format!("{}\n{}", supervisord_section(dir.path(), ""), PROGRAMS.replace("{dir}", &dir.0.display().to_string()));
    let conf = dir.write("supervisord.conf", &text);
    Command::new(bin())
        .args(["supervisord", "-c"])
        .arg(&conf)
        .env("NOTIFY_SOCKET", notify_socket)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisord")
}

/// The next datagram, as text; panics after a generous deadline.
fn next(rx: &UnixDatagram, dir: &TempDir) -> String {
    rx.set_read_timeout(Some(Duration::from_secs(20))).expect("set timeout");
    let mut buf = [0u8; 4096];
    match rx.recv(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(e) => panic!(
            "no notification from supervisord ({e}); log:\n{}",
            std::fs::read_to_string(dir.join("supervisord.log")).unwrap_or_default()
        ),
    }
}

fn signal(child: &Child, sig: &str) {
    let o = run(Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()));
    assert!(o.status.success(), "kill -{sig}: {}", stderr(&o));
}

#[test]
fn ready_reloading_stopping_and_children_do_not_inherit_the_socket() {
    let dir = TempDir::new("sdn");
    let path = dir.join("notify");
    let rx = UnixDatagram::bind(&path).expect("bind the notify socket");
    let mut daemon = start(&dir, &path.display().to_string());

    let ready = next(&rx, &dir);
    assert!(ready.lines().any(|l| l == "READY=1"), "first message: {ready:?}");
    assert!(ready.lines().any(|l| l == format!("MAINPID={}", daemon.id())), "first message: {ready:?}");
    // READY comes after the first start pass: both programs were already spawned.
    let log = std::fs::read_to_string(dir.join("supervisord.log")).unwrap_or_default();
    assert!(log.contains("spawned: 'plain'") && log.contains("spawned: 'asks'"), "READY before spawning:\n{log}");

    let env_of = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || env_of("plain.env").contains("PATH=")
            && env_of("asks.env").contains("PATH=")),
        "the programs did not write their environment"
    );
    assert!(
        !env_of("plain.env").contains("NOTIFY_SOCKET"),
        "a child inherited NOTIFY_SOCKET:\n{}",
        env_of("plain.env")
    );
    assert!(
        env_of("asks.env").contains(&format!("NOTIFY_SOCKET={}", path.display())),
        "a program that names NOTIFY_SOCKET in environment= lost it:\n{}",
        env_of("asks.env")
    );

    signal(&daemon, "HUP");
    let reloading = next(&rx, &dir);
    assert!(reloading.lines().any(|l| l == "RELOADING=1"), "after SIGHUP: {reloading:?}");
    assert!(reloading.lines().any(|l| l.starts_with("MONOTONIC_USEC=")), "after SIGHUP: {reloading:?}");
    let again = next(&rx, &dir);
    assert!(again.lines().any(|l| l == "READY=1"), "after the reload: {again:?}");

    signal(&daemon, "TERM");
    let stopping = next(&rx, &dir);
    assert!(stopping.lines().any(|l| l == "STOPPING=1"), "after SIGTERM: {stopping:?}");
    // Waited for, not signalled again: a second SIGTERM would cut the shutdown short.
    let code = wait_child(&mut daemon, Duration::from_secs(20));
    if code.is_err() {
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    assert_eq!(code, Ok(Some(0)));
}

#[test]
fn abstract_socket_names_work() {
    let dir = TempDir::new("sdna");
    let name = format!("sv-sdnotify-test-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract address");
    let rx = UnixDatagram::bind_addr(&addr).expect("bind an abstract socket");
    let daemon = start(&dir, &format!("@{name}"));
    let ready = next(&rx, &dir);
    terminate(daemon, Duration::from_secs(20));
    assert!(ready.lines().any(|l| l == "READY=1"), "first message: {ready:?}");
}

#[test]
fn an_unusable_notify_socket_is_reported_and_harms_nothing() {
    let dir = TempDir::new("sdnb");
    let daemon = start(&dir, "relative/notify");
    let log_path = dir.join("supervisord.log");
    let read = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let ok = wait_until(Duration::from_secs(20), || {
        read().contains("success: plain entered RUNNING state") && read().contains("NOTIFY_SOCKET=relative/notify")
    });
    let code = terminate(daemon, Duration::from_secs(20));
    assert!(ok, "log:\n{}", read());
    assert!(read().contains("WARN NOTIFY_SOCKET=relative/notify: "), "log:\n{}", read());
    assert_eq!(code, Some(0));
}
