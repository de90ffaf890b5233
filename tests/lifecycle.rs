//! The process lifecycle as the main log shows it (reference §3 and §7.1): every
//! transition that can be provoked without the control plane, the backoff and startsecs
//! timing, the stop escalation, stopasgroup, numprocs naming, priority ordering at
//! startup and shutdown, autostart=false, and the daemon's exit on SIGTERM/INT/QUIT.
//!
//! Each test starts the real binary with loglevel=debug and watches its main log, the
//! pids it reports, /proc and the files its children write.

mod common;
use common::*;

use std::process::Command;
use std::time::{Duration, Instant};

/// Deadline for things that should take well under a second or two.
const SOON: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// The main log, parsed.

/// One main-log line: time (seconds, local time), level tag, message.
#[derive(Debug, Clone)]
struct Entry {
    t: f64,
    level: String,
    msg: String,
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// `YYYY-MM-DD HH:MM:SS,mmm` to seconds (the zone does not matter for differences).
fn parse_ts(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() != 23 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' || b[19] != b','
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?);
    let secs = days * 86400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?;
    Some(secs as f64 + n(20..23)? as f64 / 1000.0)
}

/// The log's timestamped lines (continuation lines of child output are skipped).
fn entries(log: &str) -> Vec<Entry> {
    log.lines()
        .filter_map(|line| {
            let t = parse_ts(line.get(..23)?)?;
            let rest = line.get(24..)?;
            let (level, msg) = rest.split_once(' ')?;
            Some(Entry { t, level: level.to_string(), msg: msg.to_string() })
        })
        .collect()
}

/// The entries whose message starts with `prefix`.
fn with_prefix(log: &str, prefix: &str) -> Vec<Entry> {
    entries(log).into_iter().filter(|e| e.msg.starts_with(prefix)).collect()
}

/// The time of the first entry whose message starts with `prefix`.
fn first_time(log: &str, prefix: &str) -> f64 {
    with_prefix(log, prefix).first().unwrap_or_else(|| panic!("no line starting with {prefix:?} in the log:\n{log}")).t
}

fn spawned_needle(name: &str) -> String {
    format!("spawned: '{name}' with pid ")
}

fn spawn_count(d: &Daemon, name: &str) -> usize {
    d.log().matches(&spawned_needle(name)).count()
}

fn success_line(name: &str, secs: u32) -> String {
    format!("INFO success: {name} entered RUNNING state, process has stayed up for > than {secs} seconds (startsecs)")
}

fn wait_running(d: &Daemon, name: &str, secs: u32) {
    assert!(d.wait_log(&success_line(name, secs), SOON), "{name} never reached RUNNING; log:\n{}", d.log());
}

/// Sends a signal to a pid with kill(1).
fn kill(sig: &str, pid: u32) {
    let o = run(Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()));
    assert!(o.status.success(), "kill -{sig} {pid}: {}", stderr(&o));
}

// ---------------------------------------------------------------------------------------
// /proc.

/// (comm, state, ppid, pgrp) of a pid.
fn proc_stat(pid: u32) -> Option<(String, char, u32, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut rest = stat.get(close + 2..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    Some((comm, state, ppid, pgrp))
}

/// Live (non-zombie) processes of process group `pgid`, other than its leader.
fn group_members(pgid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == pgid {
            continue;
        }
        if let Some((comm, state, _, pgrp)) = proc_stat(pid) {
            if pgrp == pgid && !matches!(state, 'Z' | 'X') {
                out.push((pid, comm));
            }
        }
    }
    out
}

/// Kills whatever is left of some process groups when dropped (also when a test fails).
struct GroupReaper(Vec<u32>);

impl Drop for GroupReaper {
    fn drop(&mut self) {
        for &pgid in &self.0 {
            if pgid > 1 {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pgid}")])
                    .stderr(std::process::Stdio::null())
                    .status();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1 and 3: STOPPED -> STARTING -> RUNNING by autostart, at once and after startsecs.

#[test]
fn autostart_spawns_at_once_and_reaches_running_after_startsecs() {
    let d = Daemon::start(
        "lc-startsecs",
        "[program:slow]\ncommand=/bin/sleep 60\nstartsecs=2\n\n[program:fast]\ncommand=/bin/sleep 60\nstartsecs=1\n",
    );
    wait_running(&d, "slow", 2);
    wait_running(&d, "fast", 1);
    let log = d.log();
    let started = first_time(&log, "supervisord started with pid");
    for name in ["slow", "fast"] {
        let spawned = with_prefix(&log, &spawned_needle(name));
        assert_eq!(spawned.len(), 1, "{name} was spawned more than once:\n{log}");
        assert_eq!(spawned[0].level, "INFO", "{log}");
        // No 1-second quantisation: the autostart spawn follows the start at once.
        let lag = spawned[0].t - started;
        assert!((0.0..0.5).contains(&lag), "{name} spawned {lag:.3} s after the daemon started:\n{log}");
        let pid = d.spawned_pid(name).expect("pid");
        assert!(pid_alive(pid), "{name} ({pid}) is not alive");
    }
    let spawned = first_time(&log, &spawned_needle("slow"));
    let running = first_time(&log, "success: slow entered RUNNING state");
    let after = running - spawned;
    assert!((1.8..=3.0).contains(&after), "startsecs=2 but RUNNING came {after:.3} s after the spawn:\n{log}");
    let spawned = first_time(&log, &spawned_needle("fast"));
    let running = first_time(&log, "success: fast entered RUNNING state");
    let after = running - spawned;
    assert!((0.8..=2.0).contains(&after), "startsecs=1 but RUNNING came {after:.3} s after the spawn:\n{log}");
}

// ---------------------------------------------------------------------------------------
// 1 and 2: STARTING -> BACKOFF -> STARTING ... -> FATAL, on a linear 1 s, 2 s, 3 s schedule.

#[test]
fn quick_exits_back_off_linearly_then_give_up() {
    let d = Daemon::start(
        "lc-backoff",
        "[program:quick]\ncommand=/bin/sh -c 'exit 3'\nstartsecs=1\nstartretries=3\nautorestart=true\n",
    );
    let gave_up = "INFO gave up: quick entered FATAL state, too many start retries too quickly";
    assert!(d.wait_log(gave_up, Duration::from_secs(15)), "never FATAL; log:\n{}", d.log());
    let log = d.log();
    let spawns = with_prefix(&log, &spawned_needle("quick"));
    assert_eq!(spawns.len(), 4, "startretries=3 means exactly 4 attempts:\n{log}");
    let exits: Vec<Entry> = entries(&log).into_iter().filter(|e| e.msg.starts_with("exited: quick ")).collect();
    assert_eq!(exits.len(), 4, "{log}");
    for e in &exits {
        assert_eq!(e.level, "WARN", "{log}");
        assert_eq!(e.msg, "exited: quick (exit status 3; not expected)", "{log}");
    }
    assert!(!log.contains("success: quick"), "a too-quick exit reached RUNNING:\n{log}");
    // Each spawn follows the previous exit; the give-up follows the last exit.
    for (s, e) in spawns.iter().zip(&exits) {
        assert!(s.t <= e.t, "{log}");
    }
    assert!(first_time(&log, "gave up: quick") >= exits[3].t, "{log}");
    // Retries after 1 s, 2 s, 3 s (the child lives a few ms).
    let gaps: Vec<f64> = spawns.windows(2).map(|w| w[1].t - w[0].t).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let want = (i + 1) as f64;
        assert!(
            (gap - want).abs() <= 0.4,
            "retry {} came after {gap:.3} s, not about {want} s (gaps {gaps:?}):\n{log}",
            i + 1
        );
    }
    // No 1-second quantisation: the first attempt is at once.
    let lag = spawns[0].t - first_time(&log, "supervisord started with pid");
    assert!(lag < 0.5, "first spawn {lag:.3} s after the start:\n{log}");
}

// ---------------------------------------------------------------------------------------
// 1: STARTING -> BACKOFF on a missing command (spawnerr), then FATAL.

#[test]
fn missing_command_is_a_spawnerr_with_backoff_then_fatal() {
    let d = Daemon::start("lc-spawnerr", "[program:missing]\ncommand=/no/such\nstartretries=2\n");
    let gave_up = "INFO gave up: missing entered FATAL state, too many start retries too quickly";
    assert!(d.wait_log(gave_up, Duration::from_secs(12)), "never FATAL; log:\n{}", d.log());
    let log = d.log();
    let errs = with_prefix(&log, "spawnerr: ");
    assert_eq!(errs.len(), 3, "startretries=2 means exactly 3 attempts:\n{log}");
    for e in &errs {
        assert_eq!(e.level, "INFO", "{log}");
        assert_eq!(e.msg, "spawnerr: can't find command '/no/such'", "{log}");
    }
    assert!(!log.contains(&spawned_needle("missing")), "nothing can have been spawned:\n{log}");
    let gaps: Vec<f64> = errs.windows(2).map(|w| w[1].t - w[0].t).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let want = (i + 1) as f64;
        assert!((gap - want).abs() <= 0.4, "retry {} after {gap:.3} s, not about {want} s:\n{log}", i + 1);
    }
    assert!(first_time(&log, "gave up: missing") >= errs[2].t, "{log}");
}

// ---------------------------------------------------------------------------------------
// 1: RUNNING -> EXITED, expected or not, and the autorestart rules.

#[test]
fn exits_from_running_follow_exitcodes_and_autorestart() {
    // Each program stays up 1.5 s (past startsecs=1), then exits with a code.
    let prog = |name: &str, code: u8, extra: &str| {
        format!("[program:{name}]\ncommand=/bin/sh -c 'sleep 1.5; exit {code}'\nstartsecs=1\n{extra}\n")
    };
    let body = [
        prog("unexp", 3, "autorestart=unexpected"),
        prog("expok", 0, "autorestart=unexpected"),
        prog("always", 0, "autorestart=true"),
        prog("never", 3, "autorestart=false"),
        prog("custom", 3, "autorestart=unexpected\nexitcodes=0,3"),
    ]
    .join("\n");
    let d = Daemon::start("lc-exits", &body);
    let cases = [
        ("unexp", "WARN exited: unexp (exit status 3; not expected)", true),
        ("expok", "INFO exited: expok (exit status 0; expected)", false),
        ("always", "INFO exited: always (exit status 0; expected)", true),
        ("never", "WARN exited: never (exit status 3; not expected)", false),
        ("custom", "INFO exited: custom (exit status 3; expected)", false),
    ];
    for (_, line, _) in cases {
        assert!(d.wait_log(line, SOON), "no {line:?}; log:\n{}", d.log());
    }
    for (name, _, restarts) in cases {
        if restarts {
            assert!(d.wait_log_count(&spawned_needle(name), 2, SOON), "{name} was not restarted; log:\n{}", d.log());
        }
    }
    // A window to show the others are NOT restarted (a restart is immediate on exit).
    std::thread::sleep(Duration::from_millis(1200));
    let log = d.log();
    for (name, line, restarts) in cases {
        // RUNNING was reached before the exit: RUNNING -> EXITED, not STARTING -> BACKOFF.
        let running = first_time(&log, &format!("success: {name} entered RUNNING state"));
        let exit_line = line.split_once(' ').map(|x| x.1).unwrap_or(line);
        let exited = first_time(&log, exit_line);
        assert!(running <= exited, "{name}: exited before RUNNING:\n{log}");
        let spawns = with_prefix(&log, &spawned_needle(name));
        if restarts {
            assert!(spawns.len() >= 2, "{log}");
            let delay = spawns[1].t - exited;
            assert!((0.0..0.5).contains(&delay), "{name} restarted {delay:.3} s after its exit:\n{log}");
        } else {
            assert_eq!(spawns.len(), 1, "{name} must not be restarted:\n{log}");
        }
    }
    assert!(!log.contains("gave up:"), "{log}");
}

// ---------------------------------------------------------------------------------------
// 1: death by a signal is always unexpected; autorestart=unexpected restarts it.

#[test]
fn death_by_signal_is_unexpected_and_restarts() {
    let d = Daemon::start(
        "lc-sighup",
        "[program:hup]\ncommand=/bin/sleep 60\nstartsecs=1\nautorestart=unexpected\n\n\
         [program:hupnever]\ncommand=/bin/sleep 60\nstartsecs=1\nautorestart=false\n",
    );
    wait_running(&d, "hup", 1);
    wait_running(&d, "hupnever", 1);
    let first = d.spawned_pid("hup").expect("pid");
    let never = d.spawned_pid("hupnever").expect("pid");
    kill("HUP", first);
    kill("HUP", never);
    assert!(d.wait_log("WARN exited: hup (terminated by SIGHUP; not expected)", SOON), "{}", d.log());
    assert!(d.wait_log("WARN exited: hupnever (terminated by SIGHUP; not expected)", SOON), "{}", d.log());
    assert!(d.wait_log_count(&spawned_needle("hup"), 2, SOON), "hup was not restarted:\n{}", d.log());
    let second = d.spawned_pid("hup").expect("pid");
    assert_ne!(first, second);
    assert!(wait_until(SOON, || !pid_alive(first)), "the old child lives on");
    assert!(pid_alive(second), "the new child is not alive");
    // The restarted child goes through STARTING -> RUNNING again.
    assert!(d.wait_log_count("success: hup entered RUNNING state", 2, SOON), "{}", d.log());
    let log = d.log();
    assert_eq!(spawn_count(&d, "hupnever"), 1, "autorestart=false restarted it:\n{log}");
    assert!(!log.contains("exited: hup (exit status"), "{log}");
}

// ---------------------------------------------------------------------------------------
// 1 and 9: RUNNING -> STOPPING -> STOPPED on the daemon's exit signals; exit status 0.

#[test]
fn sigterm_sigint_sigquit_stop_everything_and_exit_zero() {
    for sig in ["TERM", "INT", "QUIT"] {
        let mut d =
            Daemon::start(&format!("lc-{}", sig.to_lowercase()), "[program:s]\ncommand=/bin/sleep 60\nstartsecs=0\n");
        wait_running(&d, "s", 0);
        let pid = d.spawned_pid("s").expect("pid");
        assert!(pid_alive(pid));
        let pidfile = d.dir.join("supervisord.pid");
        assert!(pidfile.exists(), "no pidfile");
        d.signal(sig);
        assert_eq!(d.wait_exit(SOON), Some(0), "SIG{sig}: exit status; log:\n{}", d.log());
        let log = d.log();
        for line in [
            format!("WARN received SIG{sig} indicating exit request"),
            "INFO waiting for s to die".to_string(),
            format!("DEBG killing s (pid {pid}) with signal SIGTERM"),
            "WARN stopped: s (terminated by SIGTERM)".to_string(),
        ] {
            assert!(log.contains(&line), "SIG{sig}: no {line:?} in the log:\n{log}");
        }
        let order = ["received SIG", "killing s (pid", "stopped: s ("].map(|p| first_time(&log, p));
        assert!(order[0] <= order[1] && order[1] <= order[2], "SIG{sig}: out of order:\n{log}");
        assert!(!pid_alive(pid), "SIG{sig}: the child outlived the daemon");
        assert!(!pidfile.exists(), "SIG{sig}: the pidfile was left behind");
    }
}

// ---------------------------------------------------------------------------------------
// 4: stopwaitsecs escalates to SIGKILL.

#[test]
fn stopwaitsecs_escalates_to_sigkill() {
    let mut d = Daemon::start(
        "lc-stopwait",
        "[program:stubborn]\ncommand=/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n\
         startsecs=1\nstopwaitsecs=1\n",
    );
    // RUNNING after 1 s: the trap is long in place by then.
    wait_running(&d, "stubborn", 1);
    let pid = d.spawned_pid("stubborn").expect("pid");
    d.signal("TERM");
    assert_eq!(d.wait_exit(SOON), Some(0), "exit status; log:\n{}", d.log());
    let log = d.log();
    let killing = format!("killing 'stubborn' ({pid}) with SIGKILL");
    let kill_entries = with_prefix(&log, &killing);
    assert_eq!(kill_entries.len(), 1, "{log}");
    assert_eq!(kill_entries[0].level, "WARN", "{log}");
    assert!(log.contains("INFO waiting for stubborn to die"), "{log}");
    assert!(log.contains(&format!("DEBG killing stubborn (pid {pid}) with signal SIGTERM")), "{log}");
    assert!(log.contains("WARN stopped: stubborn (terminated by SIGKILL)"), "{log}");
    assert!(!log.contains("stopped: stubborn (terminated by SIGTERM)"), "{log}");
    let received = first_time(&log, "received SIGTERM indicating exit request");
    let after = kill_entries[0].t - received;
    assert!((0.8..=1.6).contains(&after), "SIGKILL {after:.3} s after the stop, stopwaitsecs=1:\n{log}");
    let stopped = first_time(&log, "stopped: stubborn (");
    assert!(stopped >= kill_entries[0].t && stopped - kill_entries[0].t < 1.0, "{log}");
    assert!(!pid_alive(pid), "the child survived SIGKILL");
}

// ---------------------------------------------------------------------------------------
// 5: stopasgroup signals the whole process group; without it grandchildren are orphaned.

#[test]
fn stopasgroup_takes_grandchildren_down_and_its_absence_leaves_them() {
    let mut d = Daemon::start(
        "lc-stopasgroup",
        "[program:grp]\ncommand=/bin/sh -c 'sleep 100 & sleep 100 & wait'\nstartsecs=0\nstopasgroup=true\n\n\
         [program:nogrp]\ncommand=/bin/sh -c 'sleep 100 & sleep 100 & wait'\nstartsecs=0\n",
    );
    wait_running(&d, "grp", 0);
    wait_running(&d, "nogrp", 0);
    let grp = d.spawned_pid("grp").expect("pid");
    let nogrp = d.spawned_pid("nogrp").expect("pid");
    let _cleanup = GroupReaper(vec![grp, nogrp]);
    let sleeps = |pgid: u32| group_members(pgid).into_iter().filter(|(_, c)| c == "sleep").count();
    // Every child is a process-group leader; the sleeps are in its group.
    for pgid in [grp, nogrp] {
        assert_eq!(proc_stat(pgid).map(|s| s.3), Some(pgid), "the child {pgid} is not a group leader");
        assert!(
            wait_until(SOON, || sleeps(pgid) == 2),
            "the sleeps of {pgid} did not appear: {:?}",
            group_members(pgid)
        );
    }
    let nogrp_sleeps: Vec<u32> = group_members(nogrp).into_iter().map(|(p, _)| p).collect();
    assert_eq!(d.stop(), Some(0), "exit status; log:\n{}", d.log());
    let log = d.log();
    assert!(log.contains(&format!("DEBG killing grp (pid {grp}) process group with signal SIGTERM")), "{log}");
    assert!(log.contains(&format!("DEBG killing nogrp (pid {nogrp}) with signal SIGTERM")), "{log}");
    assert!(log.contains("WARN stopped: grp (terminated by SIGTERM)"), "{log}");
    assert!(log.contains("WARN stopped: nogrp (terminated by SIGTERM)"), "{log}");
    assert!(!pid_alive(grp) && !pid_alive(nogrp));
    assert!(
        wait_until(SOON, || group_members(grp).is_empty()),
        "stopasgroup left descendants: {:?}",
        group_members(grp)
    );
    // A short window to show the orphans are NOT being killed after all.
    std::thread::sleep(Duration::from_millis(300));
    for p in &nogrp_sleeps {
        assert!(pid_alive(*p), "without stopasgroup the grandchild {p} should be left running");
    }
    assert_eq!(sleeps(nogrp), 2, "{:?}", group_members(nogrp));
}

// ---------------------------------------------------------------------------------------
// 6: numprocs, numprocs_start and process_name.

#[test]
fn numprocs_names_processes_and_expands_process_num() {
    let d = Daemon::start(
        "lc-numprocs",
        "[program:w]\n\
         command=/bin/sh -c 'echo \"$0 %(process_num)02d\" > {dir}/port_%(process_num)02d; exec sleep 60' -port=90%(process_num)02d\n\
         numprocs=3\nnumprocs_start=1\nprocess_name=%(program_name)s_%(process_num)02d\nstartsecs=0\n",
    );
    for n in ["01", "02", "03"] {
        wait_running(&d, &format!("w_{n}"), 0);
        let path = d.dir.join(&format!("port_{n}"));
        let want = format!("-port=90{n} {n}\n");
        assert!(
            wait_until(SOON, || std::fs::read_to_string(&path).ok().as_deref() == Some(&want)),
            "{} holds {:?}, not {want:?}",
            path.display(),
            std::fs::read_to_string(&path)
        );
        let pid = d.spawned_pid(&format!("w_{n}")).expect("pid");
        assert!(pid_alive(pid));
    }
    let log = d.log();
    let names: Vec<String> =
        with_prefix(&log, "spawned: ").iter().filter_map(|e| e.msg.split('\'').nth(1).map(str::to_string)).collect();
    assert_eq!(names, ["w_01", "w_02", "w_03"], "{log}");
    assert!(!d.dir.join("port_00").exists() && !d.dir.join("port_04").exists());
}

// ---------------------------------------------------------------------------------------
// 7: startup in ascending priority, shutdown group by group in descending priority,
// each group as soon as the previous one is down.

#[test]
fn priority_orders_startup_and_shutdown() {
    let prog =
        |name: &str, prio: u32| format!("[program:{name}]\ncommand=/bin/sleep 60\nstartsecs=0\npriority={prio}\n");
    let body = [
        prog("alpha", 300),
        prog("zulu", 100),
        prog("mike", 200),
        prog("bravo", 400),
        // A heterogeneous group starts at its own priority; its members start in the
        // order `programs=` lists them (the reference iterates them in that order; their
        // own priorities only order the stop).
        prog("gx", 1),
        prog("gy", 2),
        "[group:g]\nprograms=gy,gx\npriority=150\n".to_string(),
    ]
    .join("\n");
    let mut d = Daemon::start("lc-priority", &body);
    for name in ["alpha", "zulu", "mike", "bravo", "gx", "gy"] {
        wait_running(&d, name, 0);
    }
    let log = d.log();
    let spawned: Vec<String> =
        with_prefix(&log, "spawned: ").iter().filter_map(|e| e.msg.split('\'').nth(1).map(str::to_string)).collect();
    assert_eq!(spawned, ["zulu", "gy", "gx", "mike", "alpha", "bravo"], "{log}");

    let sent = Instant::now();
    assert_eq!(d.stop(), Some(0), "exit status; log:\n{}", d.log());
    let wall = sent.elapsed().as_secs_f64();
    let log = d.log();
    let stopped: Vec<String> = with_prefix(&log, "stopped: ")
        .iter()
        .filter_map(|e| e.msg.strip_prefix("stopped: ")?.split(' ').next().map(str::to_string))
        .collect();
    let groups: [&[&str]; 5] = [&["bravo"], &["alpha"], &["mike"], &["gx", "gy"], &["zulu"]];
    let flat: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    assert_eq!(stopped.len(), flat.len(), "{log}");
    let mut sorted_by_group = stopped.clone();
    // Within a group the order of the stops does not matter.
    sorted_by_group[3..5].sort();
    assert_eq!(sorted_by_group, flat, "stop order:\n{log}");
    // A group is signalled only once every process of the previous group has stopped.
    let events: Vec<Entry> =
        entries(&log).into_iter().filter(|e| e.msg.starts_with("killing ") || e.msg.starts_with("stopped: ")).collect();
    let pos = |prefix: &str| {
        events
            .iter()
            .position(|e| e.msg.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in the log:\n{log}"))
    };
    for pair in groups.windows(2) {
        for prev in pair[0] {
            for next in pair[1] {
                assert!(
                    pos(&format!("stopped: {prev} (")) < pos(&format!("killing {next} (pid")),
                    "{next} was signalled before {prev} had stopped:\n{log}"
                );
            }
        }
    }
    // No waiting between groups: the whole ordered stop is fast (the reference's 1 s
    // poll costs up to a second per group).
    let received = first_time(&log, "received SIGTERM indicating exit request");
    let last_stop = with_prefix(&log, "stopped: ").last().map(|e| e.t).unwrap_or(received);
    let in_log = last_stop - received;
    assert!(in_log < 0.5, "the ordered stop took {in_log:.3} s in the log:\n{log}");
    // From the signal being sent (before it is received) to the exit: an upper bound.
    assert!(wall < 1.0, "the shutdown took {wall:.3} s from SIGTERM to exit:\n{log}");
}

// ---------------------------------------------------------------------------------------
// 7: inside a heterogeneous group, members start in listed order and are signalled in
// descending process priority (reference: `ProcessGroup.stop_all` sorts by priority
// and reverses; verified on 4.3.0).

#[test]
fn group_members_start_in_listed_order_and_stop_in_descending_priority() {
    let prog =
        |name: &str, prio: u32| format!("[program:{name}]\ncommand=/bin/sleep 60\nstartsecs=0\npriority={prio}\n");
    let body = [prog("ma", 2), prog("mb", 3), prog("mc", 1), "[group:g]\nprograms=ma,mb,mc\npriority=5\n".to_string()]
        .join("\n");
    let mut d = Daemon::start("lc-members", &body);
    for name in ["ma", "mb", "mc"] {
        wait_running(&d, name, 0);
    }
    assert_eq!(d.stop(), Some(0), "exit status; log:\n{}", d.log());
    let log = d.log();
    let name_of = |e: &Entry, prefix: &str| {
        e.msg.strip_prefix(prefix).and_then(|r| r.split([' ', '\'']).next()).map(str::to_string)
    };
    let spawned: Vec<String> =
        with_prefix(&log, "spawned: '").iter().filter_map(|e| name_of(e, "spawned: '")).collect();
    assert_eq!(spawned, ["ma", "mb", "mc"], "start order:\n{log}");
    let killed: Vec<String> = with_prefix(&log, "killing ").iter().filter_map(|e| name_of(e, "killing ")).collect();
    assert_eq!(killed, ["mb", "ma", "mc"], "stop signals must go in descending process priority:\n{log}");
}

// ---------------------------------------------------------------------------------------
// 8: autostart=false.

#[test]
fn autostart_false_is_not_started() {
    let mut d = Daemon::start(
        "lc-noauto",
        "[program:lazy]\ncommand=/bin/sh -c 'touch {dir}/lazy_ran; exec sleep 60'\nautostart=false\npriority=1\n\n\
         [program:eager]\ncommand=/bin/sleep 60\nstartsecs=0\npriority=999\n",
    );
    // lazy would come first (lower priority number), so by eager's spawn it is decided.
    wait_running(&d, "eager", 0);
    // And a window to show nothing starts lazy later.
    std::thread::sleep(Duration::from_millis(500));
    let log = d.log();
    assert!(!log.contains(&spawned_needle("lazy")), "{log}");
    assert!(!d.dir.join("lazy_ran").exists(), "lazy ran");
    assert_eq!(d.stop(), Some(0));
    let log = d.log();
    assert!(log.contains("stopped: eager (terminated by SIGTERM)"), "{log}");
    assert!(!log.contains("lazy"), "{log}");
}

/// Python's int() has no upper bound: startretries past 64 bits starts (the reference
/// does) and means retrying for good: a fifth spawn (the default 3 gives up after the
/// fourth) after backoffs of 1+2+3+4 seconds.
#[test]
fn startretries_past_64_bits_retries_for_good() {
    let mut d = Daemon::start(
        "lc-huge-retries",
        "[program:flaky]\ncommand=sh -c 'exit 1'\nstartsecs=1\nstartretries=99999999999999999999\n",
    );
    assert!(d.wait_log_count("spawned: 'flaky'", 5, Duration::from_secs(40)), "{}", d.log());
    assert!(!d.log().contains("gave up"), "{}", d.log());
    assert_eq!(d.stop(), Some(0));
}

// ---------------------------------------------------------------------------------------
// The log parser itself.

#[test]
fn timestamps_parse() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11017);
    let a = parse_ts("2024-02-28 23:59:59,500").unwrap();
    let b = parse_ts("2024-02-29 00:00:00,250").unwrap();
    assert!((b - a - 0.75).abs() < 1e-9);
    assert_eq!(parse_ts("2024-02-29 00:00:00.250"), None);
    let e = entries("2024-02-29 00:00:00,250 INFO spawned: 'x' with pid 5\ncontinued\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].level, "INFO");
    assert_eq!(e[0].msg, "spawned: 'x' with pid 5");
}
