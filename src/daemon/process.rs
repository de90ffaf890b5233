//! One process's state machine, pure: it is told what happened (with the current time)
//! and answers with effects for the driver to carry out (spawn, signal, arm a timer,
//! log, announce a state change). It knows no fds and reads no clock, so it is tested on
//! a fake clock.
//!
//! The rules are Supervisor 4.3.0's (`Subprocess` in process.py), minus its 1-second
//! loop: a transition happens when its event happens.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::supervision::{BackoffKind, HealthAction};
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
    /// ready_timeout elapsed while STARTING: the start failed.
    ReadyTimeout,
    /// Time to run a readiness or health probe (probe generation).
    ProbeDue(ProbeWhat),
    /// restartpause elapsed after an exit: EXITED -> STARTING.
    Restart,
    /// fatal_cooldown elapsed: FATAL -> STARTING.
    Cooldown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeWhat {
    Ready,
    Health,
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
    /// Run the configured probe once and report with `probe_done(what, generation, ..)`.
    Probe {
        what: ProbeWhat,
        generation: u64,
    },
    /// The health verdict changed (for PROCESS_HEALTH_* events).
    Health {
        healthy: bool,
        detail: String,
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
    /// The same for probes and their timers, which run beside the state's own timer.
    probe_generation: u64,
    /// Set while a start waits for its dependencies (STARTING without a pid).
    pub waiting: Option<String>,
    /// Why a started child is being stopped as a failed start (readiness timeout).
    start_failed: Option<String>,
    /// The last failed readiness probe, for the timeout message and the description.
    pub last_probe_failure: Option<String>,
    /// Health checks failed in a row, and the last verdict's text.
    health_failures: u32,
    pub health: Option<String>,
    /// STATUS= from sd_notify.
    pub notify_status: Option<String>,
    /// A stop that is half of a restart (failed health check).
    restart_after_stop: bool,
    /// Recent start times, for startlimitburst.
    starts: VecDeque<Instant>,
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
            probe_generation: 0,
            waiting: None,
            start_failed: None,
            last_probe_failure: None,
            health_failures: 0,
            health: None,
            notify_status: None,
            restart_after_stop: false,
            starts: VecDeque::new(),
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
        self.probe_generation += 1;
    }

    fn arm_probe(&mut self, after: Duration, what: ProbeWhat, fx: &mut Vec<Effect>) {
        self.probe_generation += 1;
        fx.push(Effect::Timer { after, kind: TimerKind::ProbeDue(what), generation: self.probe_generation });
    }

    pub fn probe_generation(&self) -> u64 {
        self.probe_generation
    }

    /// The delay before retry number `self.backoff` (1, 2, ...).
    fn backoff_delay(&self) -> Duration {
        let s = &self.config.supervision;
        let n = u32::try_from(self.backoff.max(1)).unwrap_or(u32::MAX);
        let base = match s.backoff {
            BackoffKind::Linear => Duration::from_secs(u64::from(n)),
            BackoffKind::Exponential => Duration::from_secs(1u64 << (n - 1).min(40)),
        };
        let capped = s.maxbackoff.map_or(base, |cap| base.min(cap));
        capped + s.restartpause
    }

    /// startlimitburst: true when this start is one too many.
    fn start_limit_hit(&mut self, now: Instant) -> Option<String> {
        let (burst, interval) = self.config.supervision.start_limit?;
        while self.starts.front().is_some_and(|t| now.saturating_duration_since(*t) >= interval) {
            self.starts.pop_front();
        }
        if self.starts.len() >= burst as usize {
            return Some(format!(
                "start limit hit: {burst} starts within {} s (startlimitburst, startlimitinterval)",
                interval.as_secs_f64()
            ));
        }
        self.starts.push_back(now);
        None
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
        self.restart_after_stop = false;
        self.start_failed = None;
        self.last_probe_failure = None;
        self.notify_status = None;
        self.health = None;
        let previous_exit = self.last_exit.take();
        self.exitstatus = None;
        if let Some(why) = self.start_limit_hit(now) {
            self.spawnerr = Some(why.clone());
            self.backoff = 0;
            self.change(State::Fatal, true, fx);
            self.log(LogLevel::Info, format!("gave up: {} entered FATAL state, {why}", self.config.name), fx);
            self.arm_cooldown(fx);
            // The start limit's FATAL ends the container like any other FATAL.
            self.fatal_shutdown(previous_exit, fx);
            return;
        }
        self.spawnerr = None;
        self.waiting = None;
        self.last_start = Some(now);
        self.start_wall = wall;
        self.change(State::Starting, true, fx);
        fx.push(Effect::Spawn);
    }

    /// The spawn waits for dependencies: STARTING without a child, saying what for.
    /// `failed`: a dependency is FATAL, which a parked start is told as a spawn error.
    pub fn wait_for(&mut self, what: String, failed: bool, fx: &mut Vec<Effect>) {
        if self.waiting.as_deref() != Some(what.as_str()) {
            let level = if failed { LogLevel::Warn } else { LogLevel::Info };
            self.log(level, format!("{} is waiting for {what}", self.config.name), fx);
        }
        self.spawnerr = failed.then(|| format!("waiting for {what}"));
        self.waiting = Some(what);
    }

    /// The dependencies are up: spawn now (startsecs counts from here).
    pub fn resume(&mut self, now: Instant, wall: i64, fx: &mut Vec<Effect>) {
        if self.waiting.take().is_none() || self.state != State::Starting || self.pid != 0 {
            return;
        }
        self.spawnerr = None;
        self.last_start = Some(now);
        self.start_wall = wall;
        fx.push(Effect::Spawn);
    }

    fn arm_cooldown(&mut self, fx: &mut Vec<Effect>) {
        if let Some(after) = self.config.supervision.fatal_cooldown {
            self.arm(after, TimerKind::Cooldown, fx);
        }
    }

    pub fn spawned(&mut self, pid: u32, fx: &mut Vec<Effect>) {
        self.pid = pid;
        self.spawns += 1;
        self.log(LogLevel::Info, format!("spawned: '{}' with pid {pid}", self.config.name), fx);
        if let Some(probe) = &self.config.supervision.ready {
            let polled = probe.is_polled();
            self.arm(self.config.supervision.ready_timeout, TimerKind::ReadyTimeout, fx);
            if polled {
                self.probe_generation += 1;
                fx.push(Effect::Probe { what: ProbeWhat::Ready, generation: self.probe_generation });
            }
            return;
        }
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
        self.enter_backoff(allow_start, true, fx);
    }

    /// `may_shut_down`: false when this exit has triggered shutdown_on already.
    fn enter_backoff(&mut self, allow_start: bool, may_shut_down: bool, fx: &mut Vec<Effect>) {
        self.backoff += 1;
        self.change(State::Backoff, true, fx);
        if self.backoff > self.config.startretries {
            self.give_up(fx);
            self.log(
                LogLevel::Info,
                format!("gave up: {} entered FATAL state, too many start retries too quickly", self.config.name),
                fx,
            );
            if may_shut_down {
                self.fatal_shutdown(self.last_exit, fx);
            }
        } else if allow_start {
            let delay = self.backoff_delay();
            self.arm(delay, TimerKind::Backoff, fx);
        }
    }

    /// FATAL fires every shutdown_on level, `fatal` and those that include it. `last` is
    /// how the last attempt ended; none when it never made a process (command not
    /// found): then 1, the generic failure.
    fn fatal_shutdown(&self, last: Option<ExitStatus>, fx: &mut Vec<Effect>) {
        if self.config.shutdown_on != ShutdownOn::Never {
            self.shut_down(last.map_or(1, ExitStatus::shell_code), "entered FATAL state".into(), fx);
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
        self.arm_cooldown(fx);
    }

    /// STARTING -> RUNNING, by startsecs or by a readiness signal.
    fn enter_running(&mut self, why: String, fx: &mut Vec<Effect>) {
        self.backoff = 0;
        self.change(State::Running, true, fx);
        self.log(LogLevel::Info, format!("success: {} entered RUNNING state, {why}", self.config.name), fx);
        if let Some(h) = &self.config.supervision.health {
            let delay = h.initial_delay;
            self.health_failures = 0;
            self.health = Some("health pending".into());
            self.arm_probe(delay, ProbeWhat::Health, fx);
        }
    }

    /// A readiness signal (fd, sd_notify, log line) or a passed readiness probe.
    pub fn became_ready(&mut self, detail: &str, fx: &mut Vec<Effect>) {
        if self.state != State::Starting || self.pid == 0 || self.start_failed.is_some() || self.killing {
            return;
        }
        self.disarm();
        self.enter_running(format!("process is ready ({detail})"), fx);
    }

    /// The result of a probe asked for by `Effect::Probe`.
    pub fn probe_done(
        &mut self,
        what: ProbeWhat,
        generation: u64,
        result: Result<String, String>,
        fx: &mut Vec<Effect>,
    ) {
        if generation != self.probe_generation || self.pid == 0 || self.killing {
            return;
        }
        match (what, result) {
            (ProbeWhat::Ready, Ok(detail)) => self.became_ready(&detail, fx),
            (ProbeWhat::Ready, Err(why)) if self.state == State::Starting && self.start_failed.is_none() => {
                self.log(LogLevel::Debug, format!("{} is not ready yet: {why}", self.config.name), fx);
                self.last_probe_failure = Some(why);
                self.arm_probe(self.config.supervision.ready_interval, ProbeWhat::Ready, fx);
            }
            (ProbeWhat::Health, result) if self.state == State::Running => self.health_result(result, fx),
            _ => {}
        }
    }

    fn health_result(&mut self, result: Result<String, String>, fx: &mut Vec<Effect>) {
        let Some(h) = self.config.supervision.health.clone() else { return };
        let name = self.config.name.clone();
        match result {
            Ok(_) => {
                if self.health_failures >= h.failure_threshold {
                    self.log(LogLevel::Info, format!("{name} is healthy again"), fx);
                    fx.push(Effect::Health { healthy: true, detail: "healthy".into() });
                }
                self.health_failures = 0;
                self.health = Some("healthy".into());
                self.arm_probe(h.period, ProbeWhat::Health, fx);
            }
            Err(why) => {
                self.health_failures = self.health_failures.saturating_add(1);
                let n = self.health_failures;
                self.log(
                    LogLevel::Info,
                    format!("health check of {name} failed ({n} of {} in a row): {why}", h.failure_threshold),
                    fx,
                );
                if n < h.failure_threshold {
                    self.arm_probe(h.period, ProbeWhat::Health, fx);
                    return;
                }
                self.health = Some(format!("unhealthy: {why}"));
                if n > h.failure_threshold {
                    self.arm_probe(h.period, ProbeWhat::Health, fx);
                    return;
                }
                let action = match h.action {
                    HealthAction::Restart => "restarting it",
                    HealthAction::Stop => "stopping it",
                    HealthAction::Report => "reported only",
                };
                self.log(
                    LogLevel::Warn,
                    format!("unhealthy: {name} failed {n} health checks in a row ({why}); {action}"),
                    fx,
                );
                fx.push(Effect::Health { healthy: false, detail: why });
                match h.action {
                    HealthAction::Report => self.arm_probe(h.period, ProbeWhat::Health, fx),
                    HealthAction::Stop => {
                        let _ = self.stop(fx);
                    }
                    HealthAction::Restart => {
                        if self.stop(fx).is_ok() {
                            self.restart_after_stop = true;
                        }
                    }
                }
            }
        }
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
        let live = match kind {
            TimerKind::ProbeDue(_) => self.probe_generation,
            _ => self.generation,
        };
        if generation != live {
            return;
        }
        match (kind, self.state) {
            (TimerKind::StartSecs, State::Starting) => {
                let why = format!("process has stayed up for > than {} seconds (startsecs)", self.config.startsecs);
                self.enter_running(why, fx);
            }
            (TimerKind::Backoff, State::Backoff) if allow_start => self.start(now, wall, fx),
            (TimerKind::Restart, State::Exited) if allow_start => self.start(now, wall, fx),
            (TimerKind::Cooldown, State::Fatal) if allow_start => {
                self.log(
                    LogLevel::Info,
                    format!("{}: fatal_cooldown elapsed, trying to start it again", self.config.name),
                    fx,
                );
                self.start(now, wall, fx);
            }
            (TimerKind::ReadyTimeout, State::Starting) if self.pid != 0 && !self.killing => {
                let probe = self.config.supervision.ready.as_ref().map(|p| p.to_string()).unwrap_or_default();
                let last = self.last_probe_failure.as_deref().map(|l| format!("; last try: {l}")).unwrap_or_default();
                let why = format!(
                    "not ready after {} s (readiness check {probe} failed{last})",
                    self.config.supervision.ready_timeout.as_secs_f64()
                );
                self.log(LogLevel::Warn, format!("{}: {why}; stopping it", self.config.name), fx);
                self.start_failed = Some(why);
                let group = self.config.stopasgroup;
                let secs = u64::try_from(self.config.stopwaitsecs).unwrap_or(0);
                self.arm(Duration::from_secs(secs), TimerKind::StopWait, fx);
                self.probe_generation += 1;
                fx.push(Effect::Kill { pid: self.pid, sig: self.config.stopsignal, group });
            }
            (TimerKind::StopWait, State::Starting) if self.pid != 0 && self.start_failed.is_some() => {
                self.log(LogLevel::Warn, format!("killing '{}' ({}) with SIGKILL", self.config.name, self.pid), fx);
                fx.push(Effect::Kill { pid: self.pid, sig: libc::SIGKILL, group: self.config.killasgroup });
            }
            (TimerKind::ProbeDue(what), s)
                if self.pid != 0
                    && !self.killing
                    && ((what == ProbeWhat::Ready && s == State::Starting)
                        || (what == ProbeWhat::Health && s == State::Running)) =>
            {
                fx.push(Effect::Probe { what, generation: self.probe_generation });
            }
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
        if self.waiting.is_some() && self.pid == 0 {
            self.waiting = None;
            self.spawnerr = None;
            self.disarm();
            self.change(State::Stopped, true, fx);
            return Ok(());
        }
        if matches!(self.state, State::Exited | State::Fatal) && self.pid == 0 {
            // A restartpause or fatal_cooldown timer would start it again.
            self.disarm();
        }
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
        let has_ready = self.config.supervision.ready.is_some();
        self.last_exit = Some(status);
        let stopping = self.killing;
        let leftovers = (self.config.stopasgroup || self.config.killasgroup).then_some(self.pid);
        // A stop someone asked for never triggers shutdown_on. Nor does the stop of a
        // program that never got ready: that is a failed start, retried, then FATAL.
        let shut_down = !stopping
            && self.start_failed.is_none()
            && match self.config.shutdown_on {
                ShutdownOn::Exit => true,
                ShutdownOn::Unexpected => !expected,
                ShutdownOn::Fatal | ShutdownOn::Never => false,
            };
        if self.killing {
            self.killing = false;
            self.exitstatus = Some(es);
            self.change(State::Stopped, true, fx);
            let level = if expected { LogLevel::Info } else { LogLevel::Warn };
            self.log(level, format!("stopped: {name} ({how})"), fx);
            self.pid = 0;
            if std::mem::take(&mut self.restart_after_stop) && allow_start {
                self.start(now, wall, fx);
            }
        } else if let Some(why) = self.start_failed.take() {
            self.pid = 0;
            self.exitstatus = None;
            self.spawnerr = Some(why);
            self.log(LogLevel::Warn, format!("exited: {name} ({how}; not expected)"), fx);
            self.enter_backoff(allow_start, true, fx);
        } else if (too_quickly || has_ready) && self.state == State::Starting {
            self.pid = 0;
            self.exitstatus = None;
            self.spawnerr = Some(if has_ready {
                "Exited before it was ready (process log may have details)".into()
            } else {
                "Exited too quickly (process log may have details)".into()
            });
            self.log(LogLevel::Warn, format!("exited: {name} ({how}; not expected)"), fx);
            self.enter_backoff(allow_start && !shut_down, !shut_down, fx);
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
            let pause = self.config.supervision.restartpause;
            if restart && allow_start && !shut_down && !pause.is_zero() {
                self.arm(pause, TimerKind::Restart, fx);
            } else if restart && allow_start && !shut_down {
                self.start(now, wall, fx);
            }
        }
        if shut_down {
            let what = match status {
                ExitStatus::Code(_) => format!("exited with {how}"),
                ExitStatus::Signal { .. } => format!("was {how}"),
            };
            self.shut_down(status.shell_code(), what, fx);
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
            supervision: Default::default(),
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
        probes: Vec<(ProbeWhat, u64)>,
        health: Vec<bool>,
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
                probes: vec![],
                health: vec![],
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
                        Effect::Probe { what, generation } => self.probes.push((what, generation)),
                        Effect::Health { healthy, .. } => self.health.push(healthy),
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
            let (live, probe_live) = (self.p.generation, self.p.probe_generation);
            self.timers.retain(|t| match t.1 {
                TimerKind::ProbeDue(_) => t.2 == probe_live,
                _ => t.2 == live,
            });
            crate::sort::sort_by_key(&mut self.timers, |t| t.0);
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
                let (live, probe_live) = (self.p.generation, self.p.probe_generation);
                self.timers.retain(|t| match t.1 {
                    TimerKind::ProbeDue(_) => t.2 == probe_live,
                    _ => t.2 == live,
                });
                crate::sort::sort_by_key(&mut self.timers, |t| t.0);
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

    /// Answers the latest probe request.
    fn answer(h: &mut Harness, ok: bool) {
        let (what, generation) = h.probes.pop().expect("a probe was asked for");
        let mut fx = vec![];
        let result = if ok { Ok("probe ok".to_string()) } else { Err("connection refused".to_string()) };
        h.p.probe_done(what, generation, result, &mut fx);
        h.run(fx);
    }

    #[test]
    fn exponential_backoff_with_cap_and_restartpause() {
        let mut cfg = config("exp");
        cfg.startretries = crate::config::supervision::UNLIMITED_RETRIES;
        std::rc::Rc::make_mut(&mut cfg.supervision).backoff = BackoffKind::Exponential;
        std::rc::Rc::make_mut(&mut cfg.supervision).maxbackoff = Some(Duration::from_secs(8));
        std::rc::Rc::make_mut(&mut cfg.supervision).restartpause = Duration::from_millis(500);
        let mut h = Harness::new(cfg);
        h.start();
        let mut gaps = vec![];
        for _ in 0..6 {
            h.exit(ExitStatus::Code(1));
            assert_eq!(h.p.state, State::Backoff);
            let before = h.secs();
            h.fire_next();
            gaps.push(h.secs() - before);
        }
        assert_eq!(gaps, vec![1.5, 2.5, 4.5, 8.5, 8.5, 8.5]);
        assert_eq!(h.p.state, State::Starting, "unlimited retries never give up");
    }

    #[test]
    fn restartpause_delays_an_autorestart_in_exited() {
        let mut cfg = config("pause");
        cfg.autorestart = AutoRestart::Always;
        std::rc::Rc::make_mut(&mut cfg.supervision).restartpause = Duration::from_secs(3);
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(2));
        h.exit(ExitStatus::Code(0));
        assert_eq!(h.p.state, State::Exited);
        h.advance(Duration::from_millis(2999));
        assert_eq!(h.p.state, State::Exited);
        h.advance(Duration::from_millis(1));
        assert_eq!(h.p.state, State::Starting);
    }

    #[test]
    fn start_limit_gives_fatal_with_reason_then_cooldown_retries() {
        let mut cfg = config("limited");
        cfg.startsecs = 0;
        cfg.autorestart = AutoRestart::Always;
        std::rc::Rc::make_mut(&mut cfg.supervision).start_limit = Some((3, Duration::from_secs(10)));
        std::rc::Rc::make_mut(&mut cfg.supervision).fatal_cooldown = Some(Duration::from_secs(30));
        let mut h = Harness::new(cfg);
        h.start();
        h.exit(ExitStatus::Code(1));
        h.exit(ExitStatus::Code(1));
        assert_eq!(h.p.state, State::Running);
        h.exit(ExitStatus::Code(1));
        assert_eq!(h.p.state, State::Fatal);
        assert!(h.p.spawnerr.as_deref().unwrap_or("").contains("start limit hit: 3 starts within 10 s"));
        assert!(h.logs.iter().any(|l| l.starts_with("gave up: limited entered FATAL state, start limit hit")));
        h.advance(Duration::from_secs(30));
        assert_eq!(h.p.state, State::Running, "the cool-down starts it again");
    }

    #[test]
    fn shutdown_on_with_start_limits_and_readiness() {
        // The start limit's FATAL fires shutdown_on with the last exit's status.
        let mut cfg = config("limited");
        cfg.startsecs = 0;
        cfg.autorestart = AutoRestart::Always;
        cfg.shutdown_on = ShutdownOn::Fatal;
        std::rc::Rc::make_mut(&mut cfg.supervision).start_limit = Some((2, Duration::from_secs(10)));
        let mut h = Harness::new(cfg);
        h.start();
        h.exit(ExitStatus::Code(6));
        assert!(h.shutdowns.is_empty());
        h.exit(ExitStatus::Code(7));
        assert_eq!(h.p.state, State::Fatal);
        assert_eq!(h.shutdowns.iter().map(|s| s.0).collect::<Vec<_>>(), vec![7]);

        // Stopped for not getting ready: a failed start (retried), not an exit.
        let mut cfg = config("slow");
        cfg.shutdown_on = ShutdownOn::Unexpected;
        cfg.startretries = 1;
        std::rc::Rc::make_mut(&mut cfg.supervision).ready = Some(crate::config::supervision::Probe::Notify);
        std::rc::Rc::make_mut(&mut cfg.supervision).ready_timeout = Duration::from_secs(5);
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(5));
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.p.state, State::Backoff);
        assert!(h.shutdowns.is_empty(), "{:?}", h.shutdowns);
        h.fire_next();
        h.advance(Duration::from_secs(5));
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.p.state, State::Fatal);
        assert_eq!(h.shutdowns.iter().map(|s| s.0).collect::<Vec<_>>(), vec![143]);
    }

    #[test]
    fn readiness_probe_gates_running_and_its_timeout_is_a_failed_start() {
        let mut cfg = config("db");
        std::rc::Rc::make_mut(&mut cfg.supervision).ready =
            Some(crate::config::supervision::Probe::Exec("true".into()));
        std::rc::Rc::make_mut(&mut cfg.supervision).ready_timeout = Duration::from_secs(5);
        let mut h = Harness::new(cfg);
        h.start();
        answer(&mut h, false);
        h.advance(Duration::from_secs(1));
        assert_eq!(h.p.state, State::Starting, "startsecs does not apply");
        answer(&mut h, true);
        assert_eq!(h.p.state, State::Running);
        assert!(h.logs.iter().any(|l| l == "success: db entered RUNNING state, process is ready (probe ok)"));

        let mut cfg = config("slow");
        std::rc::Rc::make_mut(&mut cfg.supervision).ready = Some(crate::config::supervision::Probe::Notify);
        std::rc::Rc::make_mut(&mut cfg.supervision).ready_timeout = Duration::from_secs(5);
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(5));
        assert_eq!(h.kills, vec![(101, 15, false)]);
        assert_eq!(h.p.state, State::Starting);
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.p.state, State::Backoff);
        assert!(h.p.spawnerr.as_deref().unwrap_or("").contains("not ready after 5 s (readiness check notify failed"));
    }

    #[test]
    fn unhealthy_after_n_failures_in_a_row_is_restarted() {
        let mut cfg = config("web");
        std::rc::Rc::make_mut(&mut cfg.supervision).health = Some(crate::config::supervision::HealthCheck {
            probe: crate::config::supervision::Probe::Exec("check".into()),
            initial_delay: Duration::from_secs(2),
            period: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            failure_threshold: 2,
            action: HealthAction::Restart,
        });
        let mut h = Harness::new(cfg);
        h.start();
        h.advance(Duration::from_secs(1));
        assert_eq!(h.p.state, State::Running);
        h.advance(Duration::from_secs(2));
        answer(&mut h, false);
        h.advance(Duration::from_secs(5));
        answer(&mut h, true);
        h.advance(Duration::from_secs(5));
        answer(&mut h, false);
        assert!(h.kills.is_empty(), "failures must be in a row");
        h.advance(Duration::from_secs(5));
        answer(&mut h, false);
        assert_eq!(h.kills, vec![(101, 15, false)]);
        assert_eq!(h.health, vec![false]);
        h.exit(ExitStatus::Signal { sig: 15, core: false });
        assert_eq!(h.p.state, State::Starting, "restarted after the stop");
        assert_eq!(h.p.pid, 102);
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

        // A command that never started has no status: 1. Every level fires on FATAL.
        for mode in [ShutdownOn::Fatal, ShutdownOn::Unexpected, ShutdownOn::Exit] {
            let mut cfg = config("missing");
            cfg.shutdown_on = mode;
            cfg.startretries = 0;
            let mut h = Harness::new(cfg);
            h.spawn_ok = false;
            h.start();
            assert_eq!(h.shutdowns.iter().map(|s| s.0).collect::<Vec<_>>(), vec![1], "{mode:?}");
        }
        // A quick exit that fires shutdown_on=exit and also exhausts the retries
        // asks for one shutdown, not two.
        let mut cfg = config("once");
        cfg.shutdown_on = ShutdownOn::Exit;
        cfg.startretries = 0;
        let mut h = Harness::new(cfg);
        h.start();
        h.exit(ExitStatus::Code(4));
        assert_eq!(h.p.state, State::Fatal);
        assert_eq!(h.shutdowns.len(), 1);
        assert!(h.shutdowns[0].1.contains("once exited with exit status 4 (shutdown_on=exit)"), "{:?}", h.shutdowns);
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
