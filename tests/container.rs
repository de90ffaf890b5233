//! supervisord as a container's entrypoint: `shutdown_on` and the exit status it gives,
//! a second exit signal cutting a slow shutdown short, what a program leaves in its
//! process group, and PID 1's sweep of its namespace at shutdown. Most tests run the
//! daemon as PID 1 of a new PID namespace (`unshare --pid --fork --mount-proc`), as in
//! a container; some run it as an ordinary process, where the same keys must work and
//! no namespace-wide signal may ever be sent.

mod common;
use common::*;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Deadline for anything that normally takes well under a second or two.
const WAIT: Duration = Duration::from_secs(20);

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).trim_end_matches('\0').replace('\0', " "))
        .unwrap_or_default()
}

/// Every live descendant of `root` (host pids), found through /proc.
fn descendants(root: u32) -> Vec<u32> {
    let pids: Vec<(u32, u32)> = all_pids().into_iter().filter_map(|p| Some((p, ppid(p)?))).collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &pids {
            if pp == parent && !out.contains(&p) {
                out.push(p);
                frontier.push(p);
            }
        }
    }
    out.retain(|&p| pid_alive(p));
    out
}

/// The host pid of a live descendant of `root` whose command line is `cmd`.
fn find_process(root: u32, cmd: &str) -> Option<u32> {
    descendants(root).into_iter().find(|&p| cmdline(p) == cmd)
}

/// The daemon as PID 1 of its own PID namespace, through `unshare`.
struct Container {
    dir: TempDir,
    child: Option<Child>,
}

impl Container {
    fn start(tag: &str, body: &str) -> Container {
        let dir = TempDir::new(tag);
        let text = format!(
            "{}\n{}",
            supervisord_section(dir.path(), ""),
            body.replace("{dir}", &dir.path().display().to_string())
        );
        let conf = dir.write("supervisord.conf", &text);
        let mut cmd = Command::new("unshare");
        // Root needs no user namespace; anyone else gets one mapping them to root.
        if current_uid() != 0 {
            cmd.args(["--user", "--map-root-user"]);
        }
        let child = cmd
            .args(["--pid", "--fork", "--mount-proc"])
            .arg(bin())
            .args(["supervisord", "-n", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run unshare");
        let c = Container { dir, child: Some(child) };
        assert!(
            wait_until(WAIT, || c.log().contains("supervisord started with pid 1\n")),
            "the daemon did not start as PID 1:\n{}",
            c.log()
        );
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("supervisord.log")).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str) -> bool {
        wait_until(WAIT, || self.log().contains(needle))
    }

    /// The daemon's host pid (the only child of unshare).
    fn init(&self) -> u32 {
        let unshare = self.child.as_ref().map(Child::id).unwrap_or(0);
        let mut init = None;
        assert!(
            wait_until(WAIT, || {
                init = all_pids().into_iter().find(|&p| ppid(p) == Some(unshare));
                init.is_some()
            }),
            "no PID 1 under unshare"
        );
        init.unwrap()
    }

    fn signal(&self, sig: &str) {
        let o = run(Command::new("kill").arg(format!("-{sig}")).arg(self.init().to_string()));
        assert!(o.status.success(), "kill -{sig}: {}", stderr(&o));
    }

    /// Waits for the namespace to end; returns the daemon's exit code (unshare passes
    /// it on).
    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let code = wait_child(self.child.as_mut()?, timeout);
        assert!(code.is_ok(), "the daemon did not exit in {timeout:?}:\n{}", self.log());
        self.child = None;
        code.unwrap()
    }

    fn no_zombies(&self) {
        let init = self.init();
        assert!(
            wait_until(WAIT, || zombie_children(init).is_empty()),
            "zombies left under PID 1: {:?}\n{}",
            zombie_children(init),
            self.log()
        );
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            for p in all_pids().into_iter().filter(|&p| ppid(p) == Some(c.id())) {
                let _ = Command::new("kill").arg("-KILL").arg(p.to_string()).status();
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn current_uid() -> u32 {
    let o = run(Command::new("id").arg("-u"));
    stdout(&o).trim().parse().unwrap_or(u32::MAX)
}

/// Whether this machine can make PID namespaces (as root, or through a user namespace).
fn namespaces_available() -> bool {
    if Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("skipped: no `unshare` command (util-linux) on this system");
        return false;
    }
    let mut cmd = Command::new("unshare");
    if current_uid() != 0 {
        cmd.args(["--user", "--map-root-user"]);
    }
    let probe = run(cmd.args(["--pid", "--fork", "--mount-proc", "true"]));
    if !probe.status.success() {
        eprintln!("skipped: this kernel or sandbox does not allow PID namespaces: {}", stderr(&probe).trim());
        return false;
    }
    true
}

fn ctl(conf: &Path, args: &[&str]) -> std::process::Output {
    run(tool("supervisorctl").arg("-c").arg(conf).args(args))
}

const CTL: &str = "[unix_http_server]\nfile={dir}/s.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n";

// ---- shutdown_on in a PID namespace ----------------------------------------------------

#[test]
fn shutdown_on_fatal_stops_everything_and_exits_with_the_last_status() {
    if !namespaces_available() {
        return;
    }
    let mut c = Container::start(
        "ff-fatal",
        "[program:main]\ncommand=/bin/sh -c 'exit 3'\nstartsecs=1\nstartretries=1\nshutdown_on=fatal\n\n\
         [program:side]\ncommand=/bin/sleep 1001\nstartsecs=0\n",
    );
    assert_eq!(c.wait_exit(WAIT), Some(3), "{}", c.log());
    let log = c.log();
    assert!(
        log.contains(
            "WARN shutting down: main entered FATAL state (shutdown_on=fatal); supervisord will exit with status 3"
        ),
        "{log}"
    );
    assert!(log.contains("gave up: main entered FATAL state"), "{log}");
    assert!(log.contains("stopped: side (terminated by SIGTERM)"), "{log}");
    assert_eq!(log.matches("spawned: 'main'").count(), 2, "startretries=1 means two attempts:\n{log}");
}

#[test]
fn shutdown_on_unexpected_exits_with_the_programs_code_instead_of_restarting() {
    if !namespaces_available() {
        return;
    }
    let mut c = Container::start(
        "ff-unexp",
        "[program:main]\ncommand=/bin/sh -c 'sleep 0.3; exit 3'\nstartsecs=0\nautorestart=true\n\
         shutdown_on=unexpected\n",
    );
    assert_eq!(c.wait_exit(WAIT), Some(3), "{}", c.log());
    let log = c.log();
    assert!(log.contains("shutting down: main exited with exit status 3 (shutdown_on=unexpected)"), "{log}");
    assert_eq!(log.matches("spawned: 'main'").count(), 1, "it was restarted:\n{log}");
    let exited = log.find("exited: main (exit status 3; not expected)").expect(&log);
    assert!(exited < log.find("shutting down: main").unwrap(), "the cause is logged after its consequence:\n{log}");
}

#[test]
fn shutdown_on_unexpected_after_sigkill_exits_137() {
    if !namespaces_available() {
        return;
    }
    let mut c = Container::start(
        "ff-kill",
        "[program:main]\ncommand=/bin/sleep 1002\nstartsecs=0\nshutdown_on=unexpected\n\n\
         [program:side]\ncommand=/bin/sleep 1003\nstartsecs=0\n",
    );
    assert!(c.wait_log("success: main entered RUNNING"), "{}", c.log());
    c.no_zombies();
    let init = c.init();
    let mut main = None;
    assert!(wait_until(WAIT, || {
        main = find_process(init, "/bin/sleep 1002");
        main.is_some()
    }));
    let side = find_process(init, "/bin/sleep 1003").expect("side is running");
    let o = run(Command::new("kill").arg("-KILL").arg(main.unwrap().to_string()));
    assert!(o.status.success());
    assert_eq!(c.wait_exit(WAIT), Some(137), "{}", c.log());
    assert!(c.log().contains("shutting down: main was terminated by SIGKILL (shutdown_on=unexpected)"), "{}", c.log());
    assert!(!pid_alive(side));
}

#[test]
fn shutdown_on_exit_fires_on_an_expected_exit_too() {
    if !namespaces_available() {
        return;
    }
    let mut c = Container::start(
        "ff-exit",
        "[program:main]\ncommand=/bin/sh -c 'sleep 0.3; exit 3'\nstartsecs=0\nexitcodes=0,3\n\
         autorestart=true\nshutdown_on=exit\n",
    );
    assert_eq!(c.wait_exit(WAIT), Some(3), "{}", c.log());
    let log = c.log();
    assert!(log.contains("exited: main (exit status 3; expected)"), "{log}");
    assert!(log.contains("shutting down: main exited with exit status 3 (shutdown_on=exit)"), "{log}");
}

// ---- signals and the namespace sweep ---------------------------------------------------

#[test]
fn sigterm_exits_0_and_sweeps_double_forked_daemons_term_then_kill() {
    if !namespaces_available() {
        return;
    }
    // Two daemons escape their program by double-forking into their own sessions, their
    // output detached as daemons do: one stops on SIGTERM (and says so in a file), the
    // other ignores SIGTERM.
    let mut c = Container::start(
        "ff-sweep",
        "[program:launcher]\ncommand=/bin/sh -c '\
         (setsid /bin/sh -c \"trap \\\"echo termed > {dir}/termed; exit 0\\\" TERM; while :; do sleep 0.2; done\" >/dev/null 2>&1 &); \
         (setsid /bin/sh -c \"trap \\\"\\\" TERM; exec sleep 1004\" >/dev/null 2>&1 &); \
         exec sleep 1005'\n\
         startsecs=0\n",
    );
    assert!(c.wait_log("success: launcher entered RUNNING"), "{}", c.log());
    let init = c.init();
    let mut stubborn = None;
    assert!(
        wait_until(WAIT, || {
            stubborn = find_process(init, "sleep 1004");
            stubborn.is_some()
        }),
        "the TERM-ignoring daemon did not start: {:?}",
        descendants(init).iter().map(|&p| cmdline(p)).collect::<Vec<_>>()
    );
    let stubborn = stubborn.unwrap();
    // Orphans belong to PID 1 now, and none stays a zombie.
    assert_eq!(ppid(stubborn), Some(init));
    c.no_zombies();
    let everyone = descendants(init);
    assert!(everyone.len() >= 3, "{everyone:?}");

    c.signal("TERM");
    // During the grace (the stubborn daemon holds it open for 3 s), what the SIGTERM
    // ended is reaped at once.
    assert!(c.wait_log("sending SIGTERM to every process left in the PID namespace"), "{}", c.log());
    assert!(wait_until(WAIT, || c.dir.join("termed").exists()), "{}", c.log());
    assert!(
        wait_until(WAIT, || zombie_children(init).is_empty()),
        "zombies under PID 1 during the grace: {:?}",
        zombie_children(init)
    );
    assert_eq!(c.wait_exit(WAIT), Some(0), "{}", c.log());
    let log = c.log();
    assert!(log.contains("stopped: launcher (terminated by SIGTERM)"), "{log}");
    let term_at = log.find("sending SIGTERM to every process left in the PID namespace").expect(&log);
    let kill_at = log.find("processes still left in the PID namespace after 3 s: sending SIGKILL").expect(&log);
    assert!(term_at < kill_at, "{log}");
    assert!(log.find("stopped: launcher").unwrap() < term_at, "the sweep came before the programs were down:\n{log}");
    assert!(c.dir.join("termed").exists(), "the cooperative daemon did not get SIGTERM first:\n{log}");
    for p in everyone {
        assert!(!pid_alive(p), "{p} ({}) outlived the namespace", cmdline(p));
    }
}

#[test]
fn a_second_sigterm_during_a_slow_stop_kills_at_once() {
    if !namespaces_available() {
        return;
    }
    let mut c = Container::start(
        "ff-twice",
        "[program:stubborn]\ncommand=/bin/sh -c 'trap \"\" TERM; exec sleep 1006'\nstartsecs=0\nstopwaitsecs=600\n\n\
         [program:worker]\ncommand=/bin/sh -c 'trap \"\" TERM; sleep 1007 & wait'\nstartsecs=0\nstopwaitsecs=600\n",
    );
    assert!(c.wait_log("success: stubborn entered RUNNING"), "{}", c.log());
    assert!(c.wait_log("success: worker entered RUNNING"), "{}", c.log());
    let init = c.init();
    assert!(wait_until(WAIT, || find_process(init, "sleep 1007").is_some()));
    let everyone = descendants(init);
    c.signal("TERM");
    assert!(c.wait_log("received SIGTERM indicating exit request"), "{}", c.log());
    c.no_zombies();
    c.signal("TERM");
    // stopwaitsecs is 600: only the forced path ends this within the deadline.
    assert_eq!(c.wait_exit(WAIT), Some(143), "{}", c.log());
    let log = c.log();
    assert!(log.contains("received SIGTERM during shutdown: killing "), "{log}");
    assert!(log.contains("exiting now with status 143"), "{log}");
    for p in everyone {
        assert!(!pid_alive(p), "{p} ({}) outlived the daemon", cmdline(p));
    }
}

// ---- ordinary use: no PID namespace ----------------------------------------------------

#[test]
fn outside_a_namespace_shutdown_on_works_and_never_sweeps() {
    let mut d = Daemon::start(
        "ff-plain",
        "[program:main]\ncommand=/bin/sleep 1008\nstartsecs=0\nshutdown_on=unexpected\n\n\
         [program:side]\ncommand=/bin/sleep 1009\nstartsecs=0\n",
    );
    assert!(d.wait_log("success: main entered RUNNING", WAIT), "{}", d.log());
    assert!(d.wait_log("success: side entered RUNNING", WAIT), "{}", d.log());
    let side = d.spawned_pid("side").unwrap();
    // A process of the test's own, which a namespace-wide kill would reach.
    let mut bystander = Command::new("sleep").arg("1010").spawn().expect("spawn sleep");
    let o = run(Command::new("kill").arg("-KILL").arg(d.spawned_pid("main").unwrap().to_string()));
    assert!(o.status.success());
    assert_eq!(d.wait_exit(WAIT), Some(137), "{}", d.log());
    let log = d.log();
    assert!(log.contains("shutting down: main was terminated by SIGKILL (shutdown_on=unexpected)"), "{log}");
    assert!(!log.contains("PID namespace"), "{log}");
    assert!(!pid_alive(side));
    assert!(bystander.try_wait().expect("try_wait").is_none(), "the bystander was signalled");
    let _ = bystander.kill();
    let _ = bystander.wait();
}

#[test]
fn a_stop_or_shutdown_asked_for_by_a_client_never_triggers_shutdown_on() {
    let mut d = Daemon::start(
        "ff-client",
        &format!(
            "{CTL}[program:main]\ncommand=/bin/sleep 1011\nstartsecs=0\nshutdown_on=exit\n\n\
             [program:other]\ncommand=/bin/sleep 1012\nstartsecs=0\nshutdown_on=unexpected\n"
        ),
    );
    assert!(d.wait_log("success: main entered RUNNING", WAIT), "{}", d.log());
    let o = ctl(&d.conf, &["stop", "main"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(d.log().contains("stopped: main (terminated by SIGTERM)"), "{}", d.log());
    // The daemon still answers, and starts it again.
    let o = ctl(&d.conf, &["start", "main"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(d.log().matches("spawned: 'main'").count(), 2, "{}", d.log());
    // shutdown stops both programs as asked: status 0.
    let o = ctl(&d.conf, &["shutdown"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(d.wait_exit(WAIT), Some(0), "{}", d.log());
    assert!(!d.log().contains("shutting down:"), "{}", d.log());
}

#[test]
fn a_program_that_cannot_start_shuts_down_with_status_1() {
    let mut d = Daemon::start(
        "ff-missing",
        "[program:main]\ncommand=/nonexistent/main\nstartretries=0\nshutdown_on=unexpected\n\n\
         [program:side]\ncommand=/bin/sleep 1017\nstartsecs=0\n",
    );
    assert_eq!(d.wait_exit(WAIT), Some(1), "{}", d.log());
    let log = d.log();
    assert!(log.contains("gave up: main entered FATAL state"), "{log}");
    assert!(
        log.contains(
            "shutting down: main entered FATAL state (shutdown_on=unexpected); supervisord will exit with status 1"
        ),
        "{log}"
    );
}

#[test]
fn a_program_killed_through_supervisorctl_signal_does_count() {
    // signalProcess is not a stop: the program dies on its own as far as the daemon knows.
    let mut d = Daemon::start(
        "ff-signal",
        &format!("{CTL}[program:main]\ncommand=/bin/sleep 1016\nstartsecs=0\nshutdown_on=unexpected\n"),
    );
    assert!(d.wait_log("success: main entered RUNNING", WAIT), "{}", d.log());
    let o = ctl(&d.conf, &["signal", "KILL", "main"]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(d.wait_exit(WAIT), Some(137), "{}", d.log());
    assert!(d.log().contains("shutting down: main was terminated by SIGKILL (shutdown_on=unexpected)"), "{}", d.log());
}

#[test]
fn outside_a_namespace_a_second_sigint_forces_the_exit() {
    let mut d = Daemon::start(
        "ff-int",
        "[program:stubborn]\ncommand=/bin/sh -c 'trap \"\" TERM; exec sleep 1013'\nstartsecs=0\nstopwaitsecs=600\n",
    );
    assert!(d.wait_log("success: stubborn entered RUNNING", WAIT), "{}", d.log());
    let pid = d.spawned_pid("stubborn").unwrap();
    d.signal("INT");
    assert!(d.wait_log("received SIGINT indicating exit request", WAIT), "{}", d.log());
    d.signal("INT");
    assert_eq!(d.wait_exit(WAIT), Some(130), "{}", d.log());
    assert!(d.log().contains("received SIGINT during shutdown: killing stubborn with SIGKILL"), "{}", d.log());
    assert!(wait_until(WAIT, || !pid_alive(pid)), "the program outlived the forced exit");
}

#[test]
fn what_a_group_program_leaves_behind_is_stopped_then_killed() {
    // The wrapper starts a worker that stops on SIGTERM and one that ignores it, then
    // crashes. The reference leaves both running.
    let mut d = Daemon::start(
        "ff-group",
        "[program:wrapper]\ncommand=/bin/sh -c 'sleep 1014 & echo $! > {dir}/polite; \
         (trap \"\" TERM; exec sleep 1015) & echo $! > {dir}/stubborn; sleep 0.3; exit 1'\n\
         startsecs=0\nautorestart=false\nstopasgroup=true\nstopwaitsecs=1\n",
    );
    let read_pid = |name: &str| -> Option<u32> { std::fs::read_to_string(d.dir.join(name)).ok()?.trim().parse().ok() };
    assert!(d.wait_log("exited: wrapper (exit status 1; not expected)", WAIT), "{}", d.log());
    let (polite, stubborn) = (read_pid("polite").unwrap(), read_pid("stubborn").unwrap());
    assert!(wait_until(WAIT, || !pid_alive(polite)), "the worker survived its wrapper:\n{}", d.log());
    assert!(wait_until(WAIT, || !pid_alive(stubborn)), "the TERM-ignoring worker survived:\n{}", d.log());
    let log = d.log();
    let pgid = d.spawned_pid("wrapper").unwrap();
    assert!(
        log.contains(&format!(
            "wrapper left processes in its process group {pgid}: sent SIGTERM, SIGKILL in 1 s if any remain"
        )),
        "{log}"
    );
    assert!(log.contains(&format!("killed what wrapper left in its process group {pgid} with SIGKILL")), "{log}");
    assert!(wait_until(WAIT, || zombie_children(d.pid()).is_empty()));
    assert_eq!(d.stop(), Some(0));
}

#[test]
fn an_unknown_shutdown_on_value_is_a_config_error_naming_where() {
    let dir = TempDir::new("ff-bad");
    let text = format!(
        "{}\n[program:first]\ncommand=/bin/sh -c 'touch {d}/started'\n\n[program:main]\ncommand=/bin/sleep 1\nshutdown_on=sometimes\n",
        supervisord_section(dir.path(), ""),
        d = dir.path().display()
    );
    let conf = dir.write("supervisord.conf", &text);
    let line = text.lines().position(|l| l.starts_with("shutdown_on")).unwrap() + 1;
    let o = run(Command::new(bin()).args(["supervisord", "-n", "-c"]).arg(&conf));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{}:{line}: [program:main] shutdown_on: invalid 'shutdown_on' value 'sometimes': expected never, exit, \
             unexpected or fatal",
            conf.display()
        )),
        "{err}"
    );
    assert!(!dir.join("started").exists(), "a program was started");
    assert!(!dir.join("supervisord.pid").exists());
    // Not a key for event listeners: pointed out like any unknown key.
    let text = format!(
        "{}\n[eventlistener:l]\ncommand=/bin/cat\nevents=TICK_60\nshutdown_on=fatal\n",
        supervisord_section(dir.path(), "")
    );
    let conf = dir.write("listener.conf", &text);
    let o = run(Command::new(bin()).args(["supervisord", "--check", "-c"]).arg(&conf));
    assert!(stderr(&o).contains("unknown key 'shutdown_on' in section [eventlistener:l] ignored"), "{}", stderr(&o));
    // [fcgi-program:x] takes it, and checks it the same way.
    let fcgi = |value: &str| {
        let text = format!(
            "{}\n[fcgi-program:f]\ncommand=/bin/cat\nsocket=unix://{d}/f.sock\nshutdown_on={value}\n",
            supervisord_section(dir.path(), ""),
            d = dir.path().display()
        );
        let conf = dir.write("fcgi.conf", &text);
        run(Command::new(bin()).args(["supervisord", "--check", "-c"]).arg(&conf))
    };
    let o = fcgi("fatal");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("shutdown_on"), "{}", stderr(&o));
    let o = fcgi("later");
    assert_eq!(o.status.code(), Some(2));
    let line = std::fs::read_to_string(dir.join("fcgi.conf")).unwrap().lines().position(|l| l == "shutdown_on=later");
    assert!(
        stderr(&o).contains(&format!(
            "fcgi.conf:{}: [fcgi-program:f] shutdown_on: invalid 'shutdown_on' value 'later'",
            line.unwrap() + 1
        )),
        "{}",
        stderr(&o)
    );
}
