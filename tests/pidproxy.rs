//! pidproxy: signals sent to it reach the pid in the pidfile (not its own child), and it
//! exits as soon as its child does, with the child's status.
//!
//! The "daemon" in these tests is a shell script that starts a worker in the background,
//! writes the worker's pid to the pidfile and waits, so the pidfile's pid is never
//! pidproxy's child. The worker records every signal it traps in a marker file.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use common::*;

const LONG: Duration = Duration::from_secs(10);

/// Traps the relayed signals and appends their names to the file "$1"; TERM ends it.
/// INT and QUIT can only be trapped when it is not started as a background job.
const WORKER: &str = r#"#!/bin/sh
m="$1"
for s in HUP INT QUIT USR1 USR2; do trap "echo $s >> '$m'" $s; done
trap "echo TERM >> '$m'; exit 0" TERM
echo ready >> "$m"
while :; do sleep 100 & wait $!; done
"#;

/// The daemon: runs the worker in the background, names it in the pidfile "$2", waits
/// for it and then exits 7.
const DAEMON: &str = r#"#!/bin/sh
sh ./worker.sh "$1" &
echo $! > "$2"
wait
echo daemon-done >> "$1"
exit 7
"#;

/// A running pidproxy in its own process group, with its stdout and stderr in files.
/// Dropping it kills the whole group (pidproxy, its child and their descendants).
struct Proxy {
    dir: TempDir,
    child: Child,
    /// Processes the test started itself (they join the proxy's group).
    others: Vec<Child>,
}

impl Proxy {
    fn start(tag: &str, args: &[&str]) -> Proxy {
        let dir = TempDir::new(tag);
        dir.write("worker.sh", WORKER);
        let daemon = dir.write("daemon.sh", DAEMON);
        make_executable(&daemon);
        Proxy::start_in(dir, args)
    }

    fn start_in(dir: TempDir, args: &[&str]) -> Proxy {
        let out = std::fs::File::create(dir.join("out")).expect("create out");
        let err = std::fs::File::create(dir.join("err")).expect("create err");
        let child = tool("pidproxy")
            .args(args)
            .current_dir(dir.path())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("start pidproxy");
        Proxy { dir, child, others: Vec::new() }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The pid a script wrote into `name`, once it is there.
    fn pid_in(&self, name: &str) -> u32 {
        let mut pid = None;
        let found = wait_until(LONG, || {
            pid = self.file(name).trim().parse().ok();
            pid.is_some()
        });
        assert!(found, "no pid in {name}; stderr: {}", self.file("err"));
        pid.unwrap()
    }

    /// Waits until the marker file holds `word` (a line) `n` times.
    fn wait_marker(&self, word: &str, n: usize) {
        let ok = wait_until(LONG, || self.file("mark").lines().filter(|l| *l == word).count() >= n);
        assert!(
            ok,
            "marker never got {word} x{n}: {:?}; out: {}; err: {}",
            self.file("mark"),
            self.file("out"),
            self.file("err")
        );
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "pidproxy still runs after {timeout:?}; out: {}; err: {}",
                self.file("out"),
                self.file("err")
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let group = format!("-{}", self.pid());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(std::process::Stdio::null()).status();
        let _ = self.child.wait();
        for c in &mut self.others {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn make_executable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn send(pid: u32, sig: &str) {
    let o = run(Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()));
    assert!(o.status.success(), "kill -{sig} {pid}: {}", stderr(&o));
}

/// A child that names itself in "childpid", exits `code` on USR1 and otherwise waits.
fn exit_on_usr1(code: i32) -> String {
    format!("trap 'kill $p; exit {code}' USR1; sleep 100 & p=$!; echo $$ > childpid; wait $p")
}

#[test]
fn missing_arguments_print_the_usage_and_exit_1() {
    for args in [&[][..], &["pidfile"][..]] {
        let o = run(tool("pidproxy").args(args));
        assert_eq!(o.status.code(), Some(1), "args {args:?}");
        let out = stdout(&o);
        assert!(out.contains("Usage:") && out.contains("PIDFILE COMMAND"), "{out}");
        assert!(out.contains("pidproxy"), "{out}");
    }
    let o = run(Command::new(bin()).arg("pidproxy"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("Usage:"), "{}", stdout(&o));
}

#[test]
fn help_prints_the_usage_and_succeeds() {
    let o = run(tool("pidproxy").arg("--help"));
    assert!(o.status.success());
    assert!(stdout(&o).contains("Usage:"), "{}", stdout(&o));
}

#[test]
fn hup_usr1_and_usr2_reach_the_pid_in_the_pidfile() {
    let mut p = Proxy::start("pp-hup", &["pf", "daemon.sh", "mark", "pf"]);
    p.wait_marker("ready", 1);
    let worker = p.pid_in("pf");
    assert_ne!(worker, p.pid());
    // One at a time: two pending signals of the same kind merge into one.
    for (sig, n) in [("HUP", 1), ("USR1", 1), ("USR2", 1), ("HUP", 2)] {
        send(p.pid(), sig);
        p.wait_marker(sig, n);
    }
    // Had a signal reached the daemon script instead, it would have died of it.
    assert!(p.running(), "pidproxy exited; err: {}", p.file("err"));
    assert!(!p.file("mark").contains("daemon-done"));
    // The worker dies, the daemon script exits 7, and so does pidproxy.
    send(worker, "KILL");
    assert_eq!(p.wait_exit(LONG).code(), Some(7));
}

#[test]
fn term_is_relayed_and_pidproxy_waits_for_its_child() {
    let mut p = Proxy::start("pp-term", &["pf", "./daemon.sh", "mark", "pf"]);
    p.wait_marker("ready", 1);
    let worker = p.pid_in("pf");
    assert_ne!(worker, p.pid());
    send(p.pid(), "TERM");
    p.wait_marker("TERM", 1);
    // The reference exits 0 right after relaying TERM; this one waits for the daemon
    // script to finish after its worker and passes on its status.
    assert_eq!(p.wait_exit(LONG).code(), Some(7));
    assert!(p.file("mark").contains("daemon-done"));
}

#[test]
fn int_and_quit_are_relayed_without_exiting() {
    // A worker started directly (not as a background job) can trap INT and QUIT.
    let mut p = Proxy::start("pp-int", &["pf", "/bin/sh", "-c", "echo $$ > childpid; exec sleep 100"]);
    // A shell cannot trap a signal that was ignored when it started, and a test run
    // started as a background job of a non-interactive shell ignores INT and QUIT:
    // the worker gets them back at their defaults first.
    let worker = Command::new("python3")
        .args([
            "-c",
            "import os, signal, sys\n\
             for s in (signal.SIGINT, signal.SIGQUIT): signal.signal(s, signal.SIG_DFL)\n\
             os.execv('/bin/sh', ['/bin/sh', './worker.sh', 'mark'])",
        ])
        .current_dir(p.dir.path())
        .process_group(i32::try_from(p.pid()).unwrap())
        .spawn()
        .expect("start worker");
    p.dir.write("pf", &format!("{}\n", worker.id()));
    p.others.push(worker);
    // pidproxy handles signals once it has started its child.
    let child = p.pid_in("childpid");
    p.wait_marker("ready", 1);
    for sig in ["INT", "QUIT", "TERM"] {
        send(p.pid(), sig);
        p.wait_marker(sig, 1);
    }
    assert!(p.running());
    // Still there for the child's end: killed by SIGKILL, it makes pidproxy exit 137.
    send(child, "KILL");
    assert_eq!(p.wait_exit(LONG).code(), Some(128 + 9));
}

#[test]
fn exits_promptly_with_the_childs_exit_status() {
    for code in [0, 5] {
        let script = exit_on_usr1(code);
        let mut p = Proxy::start("pp-exit", &["pf", "/bin/sh", "-c", &script]);
        let child = p.pid_in("childpid");
        let sent = Instant::now();
        send(child, "USR1");
        let status = p.wait_exit(LONG);
        let took = sent.elapsed();
        assert_eq!(status.code(), Some(code));
        assert!(took < Duration::from_secs(1), "pidproxy took {took:?} to follow its child");
    }
}

#[test]
fn a_child_killed_by_a_signal_gives_128_plus_the_signal() {
    for (sig, n) in [("KILL", 9), ("TERM", 15)] {
        let mut p = Proxy::start("pp-sig", &["pf", "/bin/sh", "-c", "echo $$ > childpid; exec sleep 100"]);
        let child = p.pid_in("childpid");
        let sent = Instant::now();
        send(child, sig);
        assert_eq!(p.wait_exit(LONG).code(), Some(128 + n), "SIG{sig}");
        assert!(sent.elapsed() < Duration::from_secs(1), "SIG{sig}: {:?}", sent.elapsed());
    }
}

#[test]
fn an_unreadable_pidfile_is_reported_and_pidproxy_keeps_running() {
    let script = exit_on_usr1(5);
    let mut p = Proxy::start("pp-nopid", &["pf", "/bin/sh", "-c", &script]);
    let child = p.pid_in("childpid");
    let message = "Can't read child pidfile pf!";
    let count = |p: &Proxy| p.file("out").lines().filter(|l| *l == message).count();
    // No pidfile at all: TERM too is only reported.
    send(p.pid(), "HUP");
    send(p.pid(), "TERM");
    assert!(wait_until(LONG, || count(&p) >= 2), "out: {:?}", p.file("out"));
    // A pidfile that holds no pid.
    p.dir.write("pf", "not a pid\n");
    send(p.pid(), "USR1");
    assert!(wait_until(LONG, || count(&p) >= 3), "out: {:?}", p.file("out"));
    assert!(p.running(), "err: {}", p.file("err"));
    // Still following its child: exits with its status, not at once with 0.
    send(child, "USR1");
    assert_eq!(p.wait_exit(LONG).code(), Some(5));
}

#[test]
fn the_command_is_found_relative_to_the_cwd_not_on_path() {
    let dir = TempDir::new("pp-cwd");
    dir.write("hello.sh", "#!/bin/sh\necho \"$@\" > said\nexit 3\n");
    make_executable(&dir.join("hello.sh"));
    let mut p = Proxy::start_in(dir, &["pf", "sub/../hello.sh", "hi", "there"]);
    assert_eq!(p.wait_exit(LONG).code(), Some(3), "err: {}", p.file("err"));
    assert_eq!(p.file("said"), "hi there\n");

    // `sh` is on PATH but not in the directory: not found, like a shell's 127.
    let mut p = Proxy::start("pp-path", &["pf", "sh", "-c", "exit 0"]);
    assert_eq!(p.wait_exit(LONG).code(), Some(127));
    let sh = p.dir.join("sh");
    assert!(p.file("err").contains(&sh.display().to_string()), "err: {}", p.file("err"));
}
