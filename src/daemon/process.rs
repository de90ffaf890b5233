//! One process's state machine, pure: it is told what happened (with the current time)
//! and answers with effects for the driver to carry out (spawn, signal, arm a timer,
//! log, announce a state change). It knows no fds and reads no clock, so it is tested on
//! a fake clock.
//!
//! The rules are Supervisor 4.3.0's (`Subprocess` in process.py), minus its 1-second
//! loop: a transition happens when its event happens.

use std::time::{Duration, Instant};

use crate::config::{AutoRestart, LogLevel, ProcessConfig, ShutdownOn};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
    Unknown,
}

impl State {
    pub fn code(self) -> i32 {
        match self {
            State::Stopped => 0,
            State::Starting => 10,
            State::Running => 20,
            State::Backoff => 30,
            State::Stopping => 40,
            State::Exited => 100,
            State::Fatal => 200,
            State::Unknown => 1000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Backoff => "BACKOFF",
            State::Stopping => "STOPPING",
            State::Exited => "EXITED",
            State::Fatal => "FATAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// STOPPED_STATES of the reference: nothing is running and nothing will be on its own.
    pub fn is_stopped(self) -> bool {
        matches!(self, State::Stopped | State::Exited | State::Fatal | State::Unknown)
    }

    /// RUNNING_STATES of the reference (a start request is "already started").
    pub fn is_running(self) -> bool {
        matches!(self, State::Running | State::Backoff | State::Starting)
    }

    pub fn is_signallable(self) -> bool {
        matches!(self, State::Running | State::Starting | State::Stopping)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// startsecs elapsed: STARTING -> RUNNING.
    StartSecs,
    /// The backoff delay elapsed: BACKOFF -> STARTING.
    Backoff,
    /// stopwaitsecs elapsed: SIGKILL.
    StopWait,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Fork and exec now; report back with `spawned` or `spawn_failed`.
    Spawn,
    /// Send a signal to the pid, or to its process group.
    Kill {
        pid: u32,
        sig: i32,
        group: bool,
    },
    /// Call `timer(kind, generation)` after this long; older generations are void.
    Timer {
        after: Duration,
        kind: TimerKind,
        generation: u64,
    },
    Log(LogLevel, String),
    /// For PROCESS_STATE_* events, with the pid and retry count at the change.
    Changed {
        from: State,
        to: State,
        expected: bool,
        pid: u32,
        tries: i64,
    },
    /// `shutdown_on` fired: shut the daemon down and exit with `code`. `reason` is the
    /// main-log line, logged when this is what ends the daemon.
    Shutdown {
        code: i32,
        reason: String,
    },
    /// The main process of a stopasgroup/killasgroup program is gone: whatever is left
    /// in its process group gets `signal` now (None: it already had the stop signal)
    /// and SIGKILL after `kill_after`.
    Leftovers {
        pgid: u32,
        signal: Option<i32>,
        kill_after: Duration,
    },
}

/// How a child ended, from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal { sig: i32, core: bool },
}

impl ExitStatus {
    /// The reference's `exitstatus`: the code, or -1 for a signal death.
    pub fn es(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal { .. } => -1,
        }
    }

    /// The status as a shell reports it: the exit code, or 128+N for signal N.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal { sig, .. } => 128 + sig,
        }
    }

    /// `exit status 3` or `terminated by SIGTERM (core dumped)`.
    pub fn describe(self) -> String {
        match self {
            ExitStatus::Code(c) => format!("exit status {c}"),
            ExitStatus::Signal { sig, core } => {
                let core = if core { " (core dumped)" } else { "" };
                format!("terminated by {}{core}", signame(sig))
            }
        }
    }
}

/// `SIGTERM` for 15; `signal 99` for a number without a name.
pub fn signame(sig: i32) -> String {
    match crate::config::values::signal_name(sig) {
        Some(n) => format!("SIG{n}"),
        None => format!("signal {sig}"),
    }
}

#[derive(Debug)]
pub struct Process {
    /// Shared with the group's config (and the parsed config): one copy per process.
    pub config: std::rc::Rc<ProcessConfig>,
    pub state: State,
    pub pid: u32,
    /// Serial failed starts; reset at RUNNING, EXITED and FATAL.
    pub backoff: i64,
    pub spawnerr: Option<String>,
    /// The last exit's status (None while running or after a too-quick exit).
    pub exitstatus: Option<i32>,
    /// Wall-clock seconds of the last spawn and exit, for the RPC structs (0 = never).
    pub start_wall: i64,
    pub stop_wall: i64,
    /// Children spawned since the daemon started (for /metrics: restarts).
    pub spawns: u64,
    last_start: Option<Instant>,
    /// Set between a stop signal and the reap.
    killing: bool,
    /// How the child of the latest start ended, for `shutdown_on=fatal`'s exit status.
    last_exit: Option<ExitStatus>,
    /// The live timer generation; a timer of another generation is stale.
    generation: u64,
}

impl Process {
    pub fn new(config: std::rc::Rc<ProcessConfig>) -> Process {
        Process {
            config,
            state: State::Stopped,
            pid: 0,
            backoff: 0,
            spawnerr: None,
            exitstatus: None,
            start_wall: 0,
            stop_wall: 0,
            spawns: 0,
            last_start: None,
            killing: false,
            last_exit: None,
            generation: 0,
        }
    }

    fn change(&mut self, to: State, expected: bool, fx: &mut Vec<Effect>) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        fx.push(Effect::Changed { from, to, expected, pid: self.pid, tries: self.backoff });
    }

    fn arm(&mut self, after: Duration, kind: TimerKind, fx: &mut Vec<Effect>) {
        self.generation += 1;
        fx.push(Effect::Timer { after, kind, generation: self.generation });
    }

    fn disarm(&mut self) {
        self.generation += 1;
    }

    fn log(&self, level: LogLevel, msg: String, fx: &mut Vec<Effect>) {
        fx.push(Effect::Log(level, msg));
    }

    /// A start: by autostart, autorestart, backoff retry or request. The driver then
    /// spawns and reports back.
    pub fn start(&mut self, now: Instant, wall: i64, fx: &mut Vec<Effect>) {
        if self.pid != 0 {
            self.log(LogLevel::Warn, format!("process '{}' already running", self.config.name), fx);
            return;
        }
        self.disarm();
        self.killing = false;
        self.last_exit = None;
        self.spawnerr = None;
        self.exitstatus = None;
        self.last_start = Some(now);
        self.start_wall = wall;
        self.change(State::Starting, true, fx);
        fx.push(Effect::Spawn);
    }

    pub fn spawned(&mut self, pid: u32, fx: &mut Vec<Effect>) {
        self.pid = pid;
        self.spawns += 1;
        self.log(LogLevel::Info, format!("spawned: '{}' with pid {pid}", self.config.name), fx);
        let secs = u64::try_from(self.config.startsecs).unwrap_or(0);
        if secs == 0 {
            // Nothing to wait for: RUNNING now (the reference's next transition() does
            // it in the same call to startProcess).
            self.generation += 1;
            let generation = self.generation;
            let now = self.last_start.unwrap_or_else(Instant::now);
            self.timer(TimerKind::StartSecs, generation, now, self.start_wall, false, fx);
            return;
        }
        self.arm(Duration::from_secs(secs), TimerKind::StartSecs, fx);
    }

    /// The spawn failed before a child existed (command not found, no fds, fork error).
    pub fn spawn_failed(&mut self, msg: String, allow_start: bool, fx: &mut Vec<Effect>) {
        self.log(LogLevel::Info, format!("spawnerr: {msg}"), fx);
        self.spawnerr = Some(msg);
        self.enter_backoff(allow_start, fx);
    }

    fn enter_backoff(&mut self, allow_start: bool, fx: &mut Vec<Effect>) {
        self.backoff += 1;
        self.change(State::Backoff, true, fx);
        if self.backoff > self.config.startretries {
            self.give_up(fx);
            self.log(
                LogLevel::Info,
                format!("gave up: {} entered FATAL state, too many start retries too quickly", self.config.name),
                fx,
            );
            if self.config.shutdown_on == ShutdownOn::Fatal {
                // No exit status when the last attempt never made a process (command
                // not found): 1, the generic failure.
                let code = self.last_exit.map_or(1, ExitStatus::shell_code);
                self.shut_down(code, "entered FATAL state".into(), fx);
            }
        } else if allow_start {
            let delay = u64::try_from(self.backoff).unwrap_or(u64::MAX);
            self.arm(Duration::from_secs(delay), TimerKind::Backoff, fx);
        }
    }

    fn shut_down(&self, code: i32, what: String, fx: &mut Vec<Effect>) {
        let reason = format!(
            "shutting down: {} {what} (shutdown_on={}); supervisord will exit with status {code}",
            self.config.name,
            self.config.shutdown_on.name()
        );
        fx.push(Effect::Shutdown { code, reason });
    }

    /// BACKOFF -> FATAL (too many retries, or a shutdown while backing off).
    pub fn give_up(&mut self, fx: &mut Vec<Effect>) {
        self.disarm();
        self.backoff = 0;
        self.change(State::Fatal, true, fx);
    }

    pub fn timer(
        &mut self,
        kind: TimerKind,
        generation: u64,
        now: Instant,
        wall: i64,
        allow_start: bool,
        fx: &mut Vec<Effect>,
    ) {
        if generation != self.generation {
            return;
        }
        match (kind, self.state) {
            (TimerKind::StartSecs, State::Starting) => {
                self.backoff = 0;
                self.change(State::Running, true, fx);
                self.log(
                    LogLevel::Info,
                    format!(
                        "success: {} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
                        self.config.name, self.config.startsecs
                    ),
                    fx,
                );
            }
            (TimerKind::Backoff, State::Backoff) if allow_start => self.start(now, wall, fx),
            (TimerKind::StopWait, State::Stopping) if self.pid != 0 => {
                self.log(LogLevel::Warn, format!("killing '{}' ({}) with SIGKILL", self.config.name, self.pid), fx);
                // pid != 0 here, so this cannot fail.
                let _ = self.kill(libc::SIGKILL, fx);
            }
            _ => {}
        }
    }

    /// An administrative stop (stopProcess, shutdown, reload, update).
    pub fn stop(&mut self, fx: &mut Vec<Effect>) -> Result<(), String> {
        self.kill(self.config.stopsignal, fx)
    }

    /// Sends a signal meant to end the process; moves RUNNING/STARTING to STOPPING. In
    /// BACKOFF there is no child: it goes straight to STOPPED.
    pub fn kill(&mut self, sig: i32, fx: &mut Vec<Effect>) -> Result<(), String> {
        if self.state == State::Backoff {
            self.log(
                LogLevel::Debug,
                format!("Attempted to kill {}, which is in BACKOFF state.", self.config.name),
                fx,
            );
            self.disarm();
            self.change(State::Stopped, true, fx);
            return Ok(());
        }
        if self.pid == 0 {
            let msg = format!("attempted to kill {} with sig {} but it wasn't running", self.config.name, signame(sig));
            self.log(LogLevel::Debug, msg.clone(), fx);
            return Err(msg);
        }
        let group = if self.state == State::Stopping { self.config.killasgroup } else { self.config.stopasgroup };
        let as_group = if group { "process group " } else { "" };
        self.log(
            LogLevel::Debug,
            format!("killing {} (pid {}) {as_group}with signal {}", self.config.name, self.pid, signame(sig)),
            fx,
        );
        self.killing = true;
        self.change(State::Stopping, true, fx);
        let secs = u64::try_from(self.config.stopwaitsecs).unwrap_or(0);
        self.arm(Duration::from_secs(secs), TimerKind::StopWait, fx);
        fx.push(Effect::Kill { pid: self.pid, sig, group });
        Ok(())
    }

    /// Sending the signal failed with something other than ESRCH.
    pub fn kill_failed(&mut self, why: &str, fx: &mut Vec<Effect>) {
        self.log(LogLevel::Critical, format!("unknown problem killing {} ({}):{why}", self.config.name, self.pid), fx);
        self.disarm();
        self.killing = false;
        self.change(State::Unknown, true, fx);
    }

    /// The child was reaped.
    pub fn exited(&mut self, status: ExitStatus, now: Instant, wall: i64, allow_start: bool, fx: &mut Vec<Effect>) {
        self.disarm();
        self.stop_wall = wall;
        let es = status.es();
        let expected = self.config.exitcodes.contains(&es);
        let too_quickly = self.last_start.is_some_and(|t| {
            now.saturating_duration_since(t) < Duration::from_secs(self.config.startsecs.max(0) as u64)
        });
        let name = self.config.name.clone();
        let how = status.describe();
        self.last_exit = Some(status);
        let stopping = self.killing;
        let leftovers = (self.config.stopasgroup || self.config.killasgroup).then_some(self.pid);
        // A stop someone asked for never triggers shutdown_on.
        let shut_down = !stopping
            && match self.config.shutdown_on {
                ShutdownOn::Exit => true,
                ShutdownOn::Unexpected => !expected,
                ShutdownOn::Fatal | ShutdownOn::Never => false,
            };
        if shut_down {
            let what = match status {
                ExitStatus::Code(_) => format!("exited with {how}"),
                ExitStatus::Signal { .. } => format!("was {how}"),
            };
            self.shut_down(status.shell_code(), what, fx);
        }
        if self.killing {
            self.killing = false;
            self.exitstatus = Some(es);
            self.change(State::Stopped, true, fx);
            let level = if expected { LogLevel::Info } else { LogLevel::Warn };
            self.log(level, format!("stopped: {name} ({how})"), fx);
            self.pid = 0;
        } else if too_quickly && self.state == State::Starting {
            self.pid = 0;
            self.exitstatus = None;
            self.spawnerr = Some("Exited too quickly (process log may have details)".into());
            self.log(LogLevel::Warn, format!("exited: {name} ({how}; not expected)"), fx);
            self.enter_backoff(allow_start && !shut_down, fx);
        } else {
            self.backoff = 0;
            self.exitstatus = Some(es);
            if self.state == State::Starting {
                self.change(State::Running, true, fx);
            }
            if expected {
                self.change(State::Exited, true, fx);
                self.log(LogLevel::Info, format!("exited: {name} ({how}; expected)"), fx);
            } else {
                self.spawnerr = Some(format!("Bad exit code {es}"));
                self.change(State::Exited, false, fx);
                self.log(LogLevel::Warn, format!("exited: {name} ({how}; not expected)"), fx);
            }
            // The pid stays in the EXITED event; the process is gone from here on.
            self.pid = 0;
            let restart = match self.config.autorestart {
                AutoRestart::Always => true,
                AutoRestart::Unexpected => !expected,
                AutoRestart::Never => false,
            };
            if restart && allow_start && !shut_down {
                self.start(now, wall, fx);
            }
        }
        if let Some(pgid) = leftovers.filter(|&p| p != 0) {
            // After a stop sent to the group, the group has had its stop signal.
            let signal = (!(stopping && self.config.stopasgroup)).then_some(self.config.stopsignal);
            let kill_after = Duration::from_secs(u64::try_from(self.config.stopwaitsecs).unwrap_or(0));
            fx.push(Effect::Leftovers { pgid, signal, kill_after });
        }
    }

    /// At daemon start or group add: autostart programs that never ran.
    pub fn autostart(&mut self, now: Instant, wall: i64, fx: &mut Vec<Effect>) {
        if self.state == State::Stopped && self.last_start.is_none() && self.config.autostart {
            self.start(now, wall, fx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str) -> ProcessConfig {
        let log = crate::config::ChannelLogConfig {
            logfile: crate::config::LogTarget::None,
            maxbytes: 0,
            backups: 0,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
            lines: None,
        };
        ProcessConfig {
            name: name.into(),
            group: name.into(),
            program: name.into(),
            command: "/bin/true".into(),
            directory: None,
            umask: None,
            priority: 999,
            autostart: true,
            autorestart: AutoRestart::Unexpected,
            startsecs: 1,
            startretries: 3,
            uid: None,
            user: None,
            stdout: log.clone(),
            stderr: log,
            stopsignal: 15,
            stopwaitsecs: 10,
            stopasgroup: false,
            killasgroup: false,
            exitcodes: vec![0],
            redirect_stderr: false,
            environment: vec![],
            serverurl: None,
            shutdown_on: ShutdownOn::Never,
        }
    }

    /// A fake clock and a harness that plays the driver's part.
    struct Harness {
        p: Process,
        t0: Instant,
        now: Instant,
        next_pid: u32,
        timers: Vec<(Instant, TimerKind, u64)>,
        logs: Vec<String>,
        changes: Vec<(State, State)>,
        kills: Vec<(u32, i32, bool)>,
        shutdowns: Vec<(i32, String)>,
        leftovers: Vec<(u32, Option<i32>)>,
        spawn_ok: bool,
    }

    impl Harness {
        fn new(cfg: ProcessConfig) -> Harness {
            let t0 = Instant::now();
            Harness {
                p: Process::new(std::rc::Rc::new(cfg)),
                t0,
                now: t0,
                next_pid: 100,
                timers: vec![],
                logs: vec![],
                changes: vec![],
                kills: vec![],
                shutdowns: vec![],
                leftovers: vec![],
                spawn_ok: true,
            }
        }

        fn run(&mut self, mut fx: Vec<Effect>) {
            while !fx.is_empty() {
                let mut next = Vec::new();
                for e in fx {
                    match e {
                        Effect::Spawn => {
                            if self.spawn_ok {
                                self.next_pid += 1;
                                self.p.spawned(self.next_pid, &mut next);
                            } else {
                                self.p.spawn_failed("can't find command '/x'".into(), true, &mut next);
                            }
                        }
                        Effect::Timer { after, kind, generation } => {
                            self.timers.push((self.now + after, kind, generation))
                        }
                        Effect::Log(_, m) => self.logs.push(m),
                        Effect::Changed { from, to, .. } => self.changes.push((from, to)),
                        Effect::Kill { pid, sig, group } => self.kills.push((pid, sig, group)),
                        Effect::Shutdown { code, reason } => self.shutdowns.push((code, reason)),
                        Effect::Leftovers { pgid, signal, .. } => self.leftovers.push((pgid, signal)),
                    }
                }
                fx = next;
            }
        }

        fn secs(&self) -> f64 {
            self.now.duration_since(self.t0).as_secs_f64()
        }

        /// Advances the fake clock to the next live timer and fires it.
        fn fire_next(&mut self) -> bool {
            let live = self.p.generation;
            self.timers.retain(|t| t.2 == live);
            self.timers.sort_by_key(|t| t.0);
            if self.timers.is_empty() {
                return false;
            }
            let (at, kind, generation) = self.timers.remove(0);
            self.now = self.now.max(at);
            let mut fx = vec![];
            self.p.timer(kind, generation, self.now, 0, true, &mut fx);
            self.run(fx);
            true
        }

        fn advance(&mut self, d: Duration) {
            let until = self.now + d;
            loop {
                self.timers.sort_by_key(|t| t.0);
                match self.timers.first() {
                    Some(t) if t.0 <= until => {
                        self.fire_next();
                    }
                    _ => break,
                }
            }
            self.now = until;
        }

        fn exit(&mut self, status: ExitStatus) {
            let mut fx = vec![];
            self.p.exited(status, self.now, 0, true, &mut fx);
            self.run(fx);
        }

        fn start(&mut self) {
            let mut fx = vec![];
            self.p.start(self.now, 0, &mut fx);
            self.run(fx);
        }
    }

    #[test]
    fn starting_becomes_running_after_startsecs() {
        let mut h = Harness::new(config("web"));
        h.start();
        assert_eq!(h.p.state, State::Starting);
        assert_eq!(h.logs, vec!["spawned: 'web' with pid 101"]);
        h.advance(Duration::from_millis(999));
        assert_eq!(h.p.state, State::Starting);
        h.advance(Duration::from_millis(1));
        assert_eq!(h.p.state, State::Running);
        assert_eq!(
            h.logs[1],
            "success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"
        );
    }

    #[test]
    fn linear_backoff_then_fatal_after_startretries_plus_one_attempts() {
        let mut h = Harness::new(config("quick"));
        h.start();
        let mut spawn_times = vec![h.secs()];
        for _ in 0..4 {
            h.advance(Duration::from_millis(100));
            h.exit(ExitStatus::Code(1));
            if h.p.state == State::Fatal {
                break;
            }
            assert_eq!(h.p.state, State::Backoff);
            assert_eq!(h.p.spawnerr.as_deref(), Some("Exited too quickly (process log may have details)"));
            h.fire_next();
            spawn_times.push(h.secs());
        }
        assert_eq!(h.p.state, State::Fatal);
        // Retries after 1 s, 2 s, 3 s (each measured from the failed exit).
        let gaps: Vec<f64> = spawn_times.windows(2).map(|w| ((w[1] - w[0] - 0.1) * 10.0).round() / 10.0).collect();
        assert_eq!(gaps, vec![1.0, 2.0, 3.0]);
        assert_eq!(spawn_times.len(), 4, "startretries=3 means 4 attempts");
        assert_eq!(
            h.logs.last().map(String::as_str),
            Some("gave up: quick entered FATAL state, too many start retries too quickly")
        );
        assert!(h.logs.contains(&"exited: quick (exit status 1; not expected)".to_string()));
        assert_eq!(h.p.backoff, 0);
    }

    #[test]
    fn startretries_zero_gives_fatal_on_first_failure() {
        let mut cfg = config("missing");
        cfg.startretries = 0;
        let mut h = Harness::new(cfg);
        h.spawn_ok = false;
        h.start();
        assert_eq!(h.p.state, State::Fatal);
        assert_eq!(
            h.logs,
            vec![
                "spawnerr: can't find command '/x'",
                "gave up: missing entered FATAL state, too many start retries too quickly"
            ]
        );
        assert_eq!(
            h.changes,
            vec![(State::Stopped, State::Starting), (State::Starting, State::Backoff), (State::Backoff, State::Fatal)]
        );
    }

    #[test]
    fn exit_from_running_expected_and_unexpected() {
        let mut cfg = config("ex");
        cfg.autorestart = AutoRestart::Never;
        let mut h = Harness::new(cfg.clone());
        h.start();
        h.advance(Duration::from_secs(2));
        h.exit(ExitStatus::Code(3));
        assert_eq!(h.p.state, State::Exited);
        assert_eq!(h.p.exitstatus, Some(3));
        assert_eq!(h.p.spawnerr.as_deref(), Some("Bad exit code 3"));
        assert_eq!(h.logs.last().map(String::as_str), Some("exited: ex (exit status 3; not expected)"));

        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(2));
        h.exit(ExitStatus::Code(0));
        assert_eq!(h.p.state, State::Exited);
        assert_eq!(h.logs.last().map(String::as_str), Some("exited: ex (exit status 0; expected)"));
    }

    #[test]
    fn autorestart_rules() {
        for (rule, code, restarts) in [
            (AutoRestart::Always, 0, true),
            (AutoRestart::Unexpected, 0, false),
            (AutoRestart::Unexpected, 2, true),
            (AutoRestart::Never, 2, false),
        ] {
            let mut cfg = config("p");
            cfg.autorestart = rule;
            let mut h = Harness::new(cfg);
            h.start();
            h.advance(Duration::from_secs(2));
            h.exit(ExitStatus::Code(code));
            let expect = if restarts { State::Starting } else { State::Exited };
            assert_eq!(h.p.state, expect, "{rule:?} exit {code}");
        }
        // A signal death is never expected.
        let mut h = Harness::new(config("p"));
        h.start();
        h.advance(Duration::from_secs(2));
        h.exit(ExitStatus::Signal { sig: 1, core: false });
        assert_eq!(h.p.state, State::Starting);
        assert!(h.logs.contains(&"exited: p (terminated by SIGHUP; not expected)".to_string()));
    }

    #[test]
    fn startsecs_zero_exits_count_as_running_and_restart_forever() {
        let mut cfg = config("loop");
        cfg.startsecs = 0;
        cfg.autorestart = AutoRestart::Always;
        let mut h = Harness::new(cfg);
        h.start();
        assert_eq!(h.p.state, State::Running, "startsecs=0 is RUNNING at once");
        for i in 0..10 {
            let pid = h.p.pid;
            h.exit(ExitStatus::Code(1));
            assert_eq!(h.p.state, State::Running, "exit {i} was not followed by a restart");
            assert_ne!(h.p.pid, pid);
        }
        assert_eq!(h.p.backoff, 0);
        assert!(h.changes.contains(&(State::Running, State::Exited)));
    }

    #[test]
    fn stop_escalates_to_sigkill_after_stopwaitsecs() {
        let mut cfg = config("stubborn");
        cfg.stopwaitsecs = 2;
        cfg.stopasgroup = true;
        cfg.killasgroup = true;
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(2));
        let mut fx = vec![];
        h.p.stop(&mut fx).unwrap();
        h.run(fx);
        assert_eq!(h.p.state, State::Stopping);
        assert_eq!(h.kills, vec![(101, 15, true)]);
        h.advance(Duration::from_millis(1999));
        assert_eq!(h.kills.len(), 1);
        h.advance(Duration::from_millis(1));
        assert_eq!(h.kills, vec![(101, 15, true), (101, 9, true)]);
        assert!(h.logs.contains(&"killing 'stubborn' (101) with SIGKILL".to_string()));
        h.exit(ExitStatus::Signal { sig: 9, core: false });
        assert_eq!(h.p.state, State::Stopped);
        assert_eq!(h.logs.last().map(String::as_str), Some("stopped: stubborn (terminated by SIGKILL)"));
    }

    #[test]
    fn stop_in_backoff_is_immediate_and_cancels_the_retry() {
        let mut h = Harness::new(config("b"));
        h.start();
        h.exit(ExitStatus::Code(1));
        assert_eq!(h.p.state, State::Backoff);
        let mut fx = vec![];
        h.p.stop(&mut fx).unwrap();
        h.run(fx);
        assert_eq!(h.p.state, State::Stopped);
        assert!(h.kills.is_empty());
        h.advance(Duration::from_secs(10));
        assert_eq!(h.p.state, State::Stopped, "a stale backoff timer restarted it");
    }

    #[test]
    fn stop_when_not_running_is_an_error() {
        let mut h = Harness::new(config("idle"));
        let mut fx = vec![];
        assert!(h.p.stop(&mut fx).is_err());
        h.run(fx);
        assert_eq!(h.p.state, State::Stopped);
    }

    #[test]
    fn stop_during_starting_then_exit_is_stopped_not_backoff() {
        let mut h = Harness::new(config("s"));
        h.start();
        let mut fx = vec![];
        h.p.stop(&mut fx).unwrap();
        h.run(fx);
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.p.state, State::Stopped);
        assert_eq!(h.logs.last().map(String::as_str), Some("stopped: s (terminated by SIGTERM)"));
        // The startsecs timer of the dead child does nothing.
        h.advance(Duration::from_secs(5));
        assert_eq!(h.p.state, State::Stopped);
    }

    #[test]
    fn no_restarts_when_starting_is_not_allowed() {
        let mut h = Harness::new(config("p"));
        h.start();
        h.advance(Duration::from_secs(2));
        let mut fx = vec![];
        h.p.exited(ExitStatus::Code(1), h.now, 0, false, &mut fx);
        h.run(fx);
        assert_eq!(h.p.state, State::Exited);
    }

    fn running(cfg: ProcessConfig) -> Harness {
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(2));
        assert_eq!(h.p.state, State::Running);
        h
    }

    #[test]
    fn shutdown_on_exit_and_unexpected_replace_the_restart() {
        for (mode, status, fires) in [
            (ShutdownOn::Exit, ExitStatus::Code(0), Some(0)),
            (ShutdownOn::Exit, ExitStatus::Code(3), Some(3)),
            (ShutdownOn::Unexpected, ExitStatus::Code(0), None),
            (ShutdownOn::Unexpected, ExitStatus::Code(3), Some(3)),
            (ShutdownOn::Unexpected, ExitStatus::Signal { sig: 9, core: false }, Some(137)),
            (ShutdownOn::Fatal, ExitStatus::Code(3), None),
            (ShutdownOn::Never, ExitStatus::Code(3), None),
        ] {
            let mut cfg = config("main");
            cfg.autorestart = AutoRestart::Always;
            cfg.shutdown_on = mode;
            let mut h = running(cfg);
            h.exit(status);
            assert_eq!(h.shutdowns.first().map(|s| s.0), fires, "{mode:?} {status:?}");
            let expect = if fires.is_some() { State::Exited } else { State::Starting };
            assert_eq!(h.p.state, expect, "{mode:?} {status:?}: restarted or not");
        }
        let mut cfg = config("main");
        cfg.shutdown_on = ShutdownOn::Unexpected;
        let mut h = running(cfg);
        h.exit(ExitStatus::Code(3));
        assert_eq!(
            h.shutdowns[0].1,
            "shutting down: main exited with exit status 3 (shutdown_on=unexpected); supervisord will exit with status 3"
        );
    }

    #[test]
    fn a_quick_exit_with_shutdown_on_exit_shuts_down_without_a_retry() {
        let mut cfg = config("main");
        cfg.shutdown_on = ShutdownOn::Exit;
        let mut h = Harness::new(cfg);
        h.start();
        h.exit(ExitStatus::Code(2));
        assert_eq!(h.shutdowns.len(), 1);
        assert_eq!(h.p.state, State::Backoff);
        h.advance(Duration::from_secs(10));
        assert_eq!(h.p.state, State::Backoff, "a retry was scheduled");
    }

    #[test]
    fn a_requested_stop_never_triggers_shutdown_on() {
        for mode in [ShutdownOn::Exit, ShutdownOn::Unexpected, ShutdownOn::Fatal] {
            let mut cfg = config("main");
            cfg.shutdown_on = mode;
            let mut h = running(cfg);
            let mut fx = vec![];
            h.p.stop(&mut fx).unwrap();
            h.run(fx);
            h.exit(ExitStatus::Signal { sig: 15, core: false });
            assert_eq!(h.p.state, State::Stopped);
            assert!(h.shutdowns.is_empty(), "{mode:?}");
        }
    }

    #[test]
    fn shutdown_on_fatal_carries_the_last_exit_status() {
        let mut cfg = config("main");
        cfg.shutdown_on = ShutdownOn::Fatal;
        cfg.startretries = 1;
        let mut h = Harness::new(cfg);
        h.start();
        h.exit(ExitStatus::Code(5));
        assert!(h.shutdowns.is_empty(), "BACKOFF is not FATAL");
        h.fire_next();
        h.exit(ExitStatus::Signal { sig: 9, core: false });
        assert_eq!(h.p.state, State::Fatal);
        assert_eq!(h.shutdowns.len(), 1);
        assert_eq!(h.shutdowns[0].0, 137);
        assert!(h.shutdowns[0].1.contains("main entered FATAL state (shutdown_on=fatal)"), "{}", h.shutdowns[0].1);

        // A command that never started has no status: 1.
        let mut cfg = config("missing");
        cfg.shutdown_on = ShutdownOn::Fatal;
        cfg.startretries = 0;
        let mut h = Harness::new(cfg);
        h.spawn_ok = false;
        h.start();
        assert_eq!(h.shutdowns.first().map(|s| s.0), Some(1));
    }

    #[test]
    fn group_programs_report_their_leftovers() {
        let mut cfg = config("wrapper");
        cfg.stopasgroup = true;
        cfg.killasgroup = true;
        let mut h = running(cfg.clone());
        h.exit(ExitStatus::Code(1));
        assert_eq!(h.leftovers, vec![(101, Some(15))], "a crash: the group gets the stop signal");

        let mut h = running(cfg);
        let mut fx = vec![];
        h.p.stop(&mut fx).unwrap();
        h.run(fx);
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.leftovers, vec![(101, None)], "a group stop: the group had the signal already");

        let mut h = running(config("plain"));
        h.exit(ExitStatus::Code(1));
        assert!(h.leftovers.is_empty());
    }

    #[test]
    fn exit_status_descriptions() {
        assert_eq!(ExitStatus::Code(3).describe(), "exit status 3");
        assert_eq!(ExitStatus::Signal { sig: 15, core: false }.describe(), "terminated by SIGTERM");
        assert_eq!(ExitStatus::Signal { sig: 11, core: true }.describe(), "terminated by SIGSEGV (core dumped)");
        assert_eq!(State::Backoff.code(), 30);
        assert_eq!(State::Unknown.code(), 1000);
    }
}
