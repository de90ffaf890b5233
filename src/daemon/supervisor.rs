//! The daemon's state and its one loop: groups and processes, the effects their state
//! machines ask for, child output, reaping, signals, ordered shutdown and reload.

use std::collections::{HashMap, HashSet};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::events::{Capture, Kind, Listener};
use super::listeners::Bus;
use super::mainlog::{blather, crit, log_at, MainLog};
use super::output::{Channel, ChannelLog};
use super::process::{Effect, ExitStatus, Process, TimerKind};
use super::reactor::Reactor;
use super::spawn::{self, SpawnContext};
use super::syslog::Syslog;
use crate::config::{GroupConfig, ServerConfig};
use crate::sys;

pub type ProcId = u64;

/// Group names: (added, changed, removed).
pub type ConfigDiff = (Vec<String>, Vec<String>, Vec<String>);

/// The reference's supervisor states: RUNNING 1, RESTARTING 0, SHUTDOWN -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    Running,
    Restarting,
    Shutdown,
}

pub(crate) enum Source {
    Signals,
    ChildOut {
        id: ProcId,
        channel: Channel,
    },
    /// A child's stdin while input waits to be written.
    ChildIn(ProcId),
    Listener(usize),
    Conn(u64),
    /// A readiness or health probe's socket.
    Probe(u64),
    /// A process's notification fd or notify socket.
    Ready(ProcId),
}

pub(crate) enum Timer {
    Proc {
        id: ProcId,
        kind: TimerKind,
        generation: u64,
    },
    ShutdownReport,
    /// A connection's one deadline (request, idle or write); cancelled when re-armed.
    Conn {
        id: u64,
    },
    Tail {
        id: u64,
    },
    Tick(u64),
    /// Watch an HTTP listener again after accept ran out of fds.
    Accept(usize),
    ProbeTimeout(u64),
    /// SIGKILL for what is left of a process group whose leader exited.
    Leftovers(u32),
    /// The next step of PID 1's sweep of its namespace at shutdown.
    Sweep,
    /// A console channel's partial line may have waited long enough.
    HeldLine {
        id: ProcId,
        channel: Channel,
    },
}

/// A process with its pipes and logs.
pub struct Managed {
    pub proc: Process,
    pub stdout: ChannelLog,
    pub stderr: ChannelLog,
    pub(super) stdin: Option<OwnedFd>,
    /// Input not yet taken by the child, and the reactor key watching its stdin.
    pub(super) stdin_buf: Vec<u8>,
    pub(super) stdin_key: Option<usize>,
    /// The event protocol state, for members of an event listener pool.
    pub listener: Option<Box<Listener>>,
    /// Capture-mode state per channel (stdout, stderr), made at the first use.
    pub(super) capture: Option<Box<[Capture; 2]>>,
    /// (reactor key, read end) of the stdout and stderr pipes while open.
    pub(super) pipes: [Option<(usize, OwnedFd)>; 2],
    /// A member of an fcgi-program group (its fd 0 is the group's socket).
    pub(super) fcgi: bool,
    /// Where the program announces readiness (notification fd, notify socket).
    pub(super) ready_channel: Option<super::readiness::Channel>,
    /// The output line being assembled for `ready_log_line`.
    pub(super) ready_line: Vec<u8>,
}

pub struct Group {
    pub config: GroupConfig,
    pub members: Vec<ProcId>,
    /// The shared socket of an fcgi-program group.
    fcgi: Option<Box<super::fcgi::Shared>>,
    /// The config reading the group was made from (see `Supervisor::config_generation`).
    pub config_generation: u64,
}

/// What the loop ended with.
pub enum Exit {
    /// With supervisord's exit status.
    Shutdown(i32),
}

pub struct Supervisor {
    pub cfg: ServerConfig,
    pub log: MainLog,
    pub mood: Mood,
    pub groups: Vec<Group>,
    /// The names in `groups`, so adding one of thousands is not a scan.
    group_names: HashSet<String>,
    pub procs: HashMap<ProcId, Box<Managed>>,
    pids: HashMap<u32, ProcId>,
    pub(crate) reactor: Reactor<Source, Timer>,
    next_id: ProcId,
    pub(crate) base_env: Vec<(String, String)>,
    pub(crate) http: crate::rpc::server::Http,
    pub(crate) bus: Bus,
    /// Bumped by every reloadConfig. getAllConfigInfo shows a group's live AUTO log
    /// paths only when the group was made from the current reading, as the reference
    /// does (its config objects carry the paths).
    pub config_generation: u64,
    signals: OwnedFd,
    /// Groups still to stop during a shutdown or reload, lowest priority first: each
    /// group's priority and its processes in stop order.
    stop_queue: Vec<(i64, Vec<ProcId>)>,
    /// The processes of the groups being stopped now (one priority at a time) that
    /// were not stopped when last looked at.
    stopping: Vec<ProcId>,
    /// The config a reload switches to once everything has stopped.
    pending: Option<ServerConfig>,
    /// Re-reads the config for a reload (the command line's overrides included).
    reload_config: Box<dyn Fn() -> Result<ServerConfig, String>>,
    pub(super) syslog: Option<Syslog>,
    pub(super) read_buf: Vec<u8>,
    pub(super) probes: super::probe::Probes,
    pub(super) notify_serial: u64,
    /// Stops waiting for dependents to go down first.
    pub(super) deferred_stops: HashSet<ProcId>,
    /// How many processes have `depends_on`: the dependency machinery, run after every
    /// state change, costs nothing while there are none (no scan of every process).
    pub(super) with_dependencies: usize,
    /// Re-entrancy guard of `settle_dependencies` (apply runs inside it).
    settling: bool,
    resettle: bool,
    pub(super) ending: super::shutdown::Ending,
    /// The service manager that wants readiness notifications, if any.
    sd_notify: Option<super::sdnotify::Notifier>,
}

pub fn wall_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

const READ_CHUNK: usize = 128 * 1024;

impl Supervisor {
    pub fn new(
        cfg: ServerConfig,
        mut log: MainLog,
        reload_config: Box<dyn Fn() -> Result<ServerConfig, String>>,
    ) -> std::io::Result<Supervisor> {
        let signals = sys::install_signal_pipe(&[
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGHUP,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGCHLD,
        ])?;
        let mut reactor = Reactor::new()?;
        reactor.add(&signals, Source::Signals, false)?;
        let base_env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k != super::sdnotify::ENV)
            .collect();
        let sd_notify = super::sdnotify::Notifier::from_env().unwrap_or_else(|e| {
            log.warn(&e);
            None
        });
        Ok(Supervisor {
            cfg,
            log,
            mood: Mood::Running,
            groups: Vec::new(),
            group_names: HashSet::new(),
            procs: HashMap::new(),
            pids: HashMap::new(),
            reactor,
            next_id: 1,
            base_env,
            signals,
            stop_queue: Vec::new(),
            stopping: Vec::new(),
            pending: None,
            reload_config,
            http: Default::default(),
            bus: Bus::default(),
            config_generation: 0,
            syslog: None,
            read_buf: vec![0; READ_CHUNK],
            probes: Default::default(),
            notify_serial: 0,
            deferred_stops: HashSet::new(),
            with_dependencies: 0,
            settling: false,
            resettle: false,
            ending: Default::default(),
            sd_notify,
        })
    }

    /// Tells the service manager (if one listens) about a change of the daemon's state.
    pub(super) fn sd_notify(&mut self, message: fn(&super::sdnotify::Notifier) -> std::io::Result<()>) {
        if let Some(Err(e)) = self.sd_notify.as_ref().map(message) {
            log::warn!("could not notify the service manager through ${}: {e}", super::sdnotify::ENV);
        }
    }

    fn allow_start(&self) -> bool {
        self.mood == Mood::Running
    }

    /// Creates every configured group (AUTO log files are made here).
    pub fn add_configured_groups(&mut self) {
        let configs = self.cfg.groups.clone();
        // Exactly: a doubling Vec of thousands of groups would keep up to half unused.
        self.groups.reserve_exact(configs.len());
        self.group_names.reserve(configs.len());
        for g in configs {
            self.add_group(g);
        }
    }

    /// Adds a group unless one of that name exists (then returns false).
    pub fn add_group(&mut self, config: GroupConfig) -> bool {
        if self.group_names.contains(&config.name) {
            return false;
        }
        let mut members = Vec::new();
        let is_pool = matches!(config.kind, crate::config::GroupKind::EventListenerPool(_));
        let is_fcgi = matches!(config.kind, crate::config::GroupKind::FastCgi(_));
        let sd = &self.cfg.supervisord;
        for pc in &config.processes {
            // An AUTO file that cannot be made now is tried again at each spawn, which
            // fails (BACKOFF, then FATAL) while it cannot: output is never dropped.
            let resolve = |ch: Channel, c: &crate::config::ChannelLogConfig| {
                ChannelLog::resolve_path(c, &sd.childlogdir, &pc.name, ch, &sd.identifier).unwrap_or_else(|e| {
                    let why = super::output::auto_log_error(&e, ch, &sd.childlogdir);
                    log::error!("'{}': {why}", pc.name);
                    None
                })
            };
            let stdout_path = resolve(Channel::Stdout, &pc.stdout);
            let stderr_path = resolve(Channel::Stderr, &pc.stderr);
            let id = self.next_id;
            self.next_id += 1;
            let any_syslog = pc.stdout.syslog || pc.stderr.syslog;
            if !pc.supervision.depends_on.is_empty() {
                self.with_dependencies += 1;
            }
            self.procs.insert(
                id,
                Box::new(Managed {
                    proc: Process::new(pc.clone()),
                    stdout: ChannelLog::new(&pc.stdout, stdout_path, &pc.name, &pc.group, Channel::Stdout),
                    stderr: ChannelLog::new(&pc.stderr, stderr_path, &pc.name, &pc.group, Channel::Stderr),
                    stdin: None,
                    stdin_buf: Vec::new(),
                    stdin_key: None,
                    listener: is_pool.then(Box::default),
                    capture: None,
                    pipes: [None, None],
                    fcgi: is_fcgi,
                    ready_channel: None,
                    ready_line: Vec::new(),
                }),
            );
            if any_syslog && self.syslog.is_none() {
                self.syslog = Some(Syslog::new("supervisord"));
            }
            members.push(id);
        }
        // The groups are kept sorted by (priority, name).
        let pos =
            self.groups.partition_point(|g| (g.config.priority, &g.config.name) <= (config.priority, &config.name));
        if let crate::config::GroupKind::EventListenerPool(pool) = &config.kind {
            self.add_pool(&config.name, pool);
        }
        let name = config.name.clone();
        let fcgi = match &config.kind {
            crate::config::GroupKind::FastCgi(sock) => Some(Box::new(super::fcgi::Shared::new(sock.clone()))),
            _ => None,
        };
        let config_generation = self.config_generation;
        self.group_names.insert(name.clone());
        self.groups.insert(pos, Group { config, members, fcgi, config_generation });
        self.notify(Kind::GroupAdded, format!("groupname:{name}\n").into_bytes());
        true
    }

    /// addProcessGroup and update: add, then autostart its processes.
    pub fn add_group_and_start(&mut self, config: GroupConfig) -> bool {
        let name = config.name.clone();
        if !self.add_group(config) {
            return false;
        }
        let ids: Vec<ProcId> =
            self.groups.iter().filter(|g| g.config.name == name).flat_map(|g| g.members.clone()).collect();
        for id in ids {
            let mut fx = Vec::new();
            if let Some(m) = self.procs.get_mut(&id) {
                m.proc.autostart(Instant::now(), wall_now(), &mut fx);
            }
            self.apply(id, fx);
        }
        true
    }

    /// Drops a process, taking each of its fds out of the poller before it closes.
    fn forget_proc(&mut self, id: ProcId) {
        for slot in 0..2 {
            self.close_pipe(id, slot);
        }
        self.close_stdin(id);
        self.readiness_close(id);
        self.forget_probes(id);
        self.deferred_stops.remove(&id);
        if let Some(m) = self.procs.remove(&id) {
            if !m.proc.config.supervision.depends_on.is_empty() {
                self.with_dependencies -= 1;
            }
            if self.pids.get(&m.proc.pid) == Some(&id) {
                self.pids.remove(&m.proc.pid);
            }
        }
    }

    /// removeProcessGroup: only when every process of the group is stopped.
    pub fn remove_group(&mut self, name: &str) -> bool {
        let Some(pos) = self.groups.iter().position(|g| g.config.name == name) else { return false };
        let members = self.groups[pos].members.clone();
        if members.iter().any(|id| self.procs.get(id).is_some_and(|m| !m.proc.state.is_stopped())) {
            return false;
        }
        self.groups.remove(pos);
        self.group_names.remove(name);
        self.remove_pool(name);
        self.notify(Kind::GroupRemoved, format!("groupname:{name}\n").into_bytes());
        for id in members {
            self.forget_proc(id);
        }
        let procs = &self.procs;
        self.reactor.retain_timers(|t| match t {
            Timer::Proc { id, .. } => procs.contains_key(id),
            _ => true,
        });
        true
    }

    /// reloadConfig: parse the config again and compare its groups with the running
    /// ones; the new group definitions become what addProcessGroup uses.
    pub fn reread(&mut self) -> Result<ConfigDiff, String> {
        let new = (self.reload_config)()?;
        let running: Vec<&GroupConfig> = self.groups.iter().map(|g| &g.config).collect();
        let added =
            new.groups.iter().filter(|g| !running.iter().any(|r| r.name == g.name)).map(|g| g.name.clone()).collect();
        let changed = new
            .groups
            .iter()
            .filter(|g| running.iter().any(|r| r.name == g.name && **r != **g))
            .map(|g| g.name.clone())
            .collect();
        let removed =
            running.iter().filter(|r| !new.groups.iter().any(|g| g.name == r.name)).map(|r| r.name.clone()).collect();
        self.cfg.groups = new.groups;
        self.config_generation += 1;
        Ok((added, changed, removed))
    }

    /// Starts every autostart process that never ran, in priority order.
    pub fn autostart(&mut self) {
        let ids: Vec<ProcId> = self.groups.iter().flat_map(|g| g.members.iter().copied()).collect();
        let ids = self.dependency_order(ids, true);
        for id in ids {
            let mut fx = Vec::new();
            if let Some(m) = self.procs.get_mut(&id) {
                m.proc.autostart(Instant::now(), wall_now(), &mut fx);
            }
            self.apply(id, fx);
        }
    }

    /// Carries out a state machine's effects (which may produce more).
    pub(crate) fn apply(&mut self, id: ProcId, mut fx: Vec<Effect>) {
        let mut changed = false;
        while !fx.is_empty() {
            let mut next = Vec::new();
            for e in fx {
                match e {
                    Effect::Spawn => self.do_spawn(id, &mut next),
                    Effect::Kill { pid, sig, group } => {
                        if let Err(err) = sys::kill(pid, sig, group) {
                            let Some(m) = self.procs.get_mut(&id) else {
                                continue;
                            };
                            if err.raw_os_error() == Some(libc::ESRCH) {
                                log::debug!(
                                    "unable to signal {} (pid {pid}), it probably just exited on its own: {err}",
                                    m.proc.config.name
                                );
                            } else {
                                m.proc.kill_failed(&err.to_string(), &mut next);
                            }
                        }
                    }
                    Effect::Timer { after, kind, generation } => {
                        self.reactor.schedule_in(after, Timer::Proc { id, kind, generation });
                    }
                    Effect::Log(level, msg) => log_at!(level, "{msg}"),
                    Effect::Changed { from, to, expected, pid, tries } => {
                        changed = true;
                        self.drop_stale_probe_timers(id, from);
                        self.notify_state(id, from, to, expected, pid, tries)
                    }
                    Effect::Probe { what, generation } => self.start_probe(id, what, generation),
                    Effect::Health { healthy, detail } => self.notify_health(id, healthy, &detail),
                    Effect::Shutdown { code, reason } => self.shutdown_on(code, &reason),
                    Effect::Leftovers { pgid, signal, kill_after } => {
                        let name = self.procs.get(&id).map(|m| m.proc.config.name.clone()).unwrap_or_default();
                        self.stop_leftovers(name, pgid, signal, kill_after)
                    }
                }
            }
            fx = next;
        }
        if changed {
            self.after_state_changes();
        }
    }

    /// Probe timers of a state just left would only wake the loop for nothing: an idle
    /// daemon must not wake up a minute after a program became ready.
    fn drop_stale_probe_timers(&mut self, id: ProcId, left: super::process::State) {
        use super::process::State;
        if !matches!(left, State::Starting | State::Running) {
            return;
        }
        let Some(m) = self.procs.get(&id) else { return };
        let sv = &m.proc.config.supervision;
        if sv.ready.is_none() && sv.health.is_none() {
            return;
        }
        self.reactor.retain_timers(|t| {
            !matches!(t, Timer::Proc { id: x, kind: TimerKind::ReadyTimeout | TimerKind::ProbeDue(_), .. } if *x == id)
        });
    }

    /// Dependencies react to state changes; nested changes settle in the same pass.
    fn after_state_changes(&mut self) {
        if self.settling {
            self.resettle = true;
            return;
        }
        self.settling = true;
        loop {
            self.resettle = false;
            self.settle_dependencies();
            if !self.resettle {
                break;
            }
        }
        self.settling = false;
    }

    fn do_spawn(&mut self, id: ProcId, fx: &mut Vec<Effect>) {
        let allow = self.allow_start();
        if self.gate_spawn(id) {
            return;
        }
        let for_child = match self.readiness_prepare(id) {
            Ok(f) => f,
            Err(msg) => {
                if let Some(m) = self.procs.get_mut(&id) {
                    m.proc.spawn_failed(msg, allow, fx);
                }
                return;
            }
        };
        let extra_fd = super::readiness::child_fd(&for_child);
        let Some(m) = self.procs.get_mut(&id) else {
            return;
        };
        let sd = &self.cfg.supervisord;
        let pc = &m.proc.config;
        let opened =
            m.stdout.open_for_spawn(&pc.stdout, Channel::Stdout, &pc.name, &sd.childlogdir, &sd.identifier).and_then(
                |()| m.stderr.open_for_spawn(&pc.stderr, Channel::Stderr, &pc.name, &sd.childlogdir, &sd.identifier),
            );
        if let Err(why) = opened {
            // The reference's words first (people grep for them), then which file and why.
            let msg = format!("unknown error making dispatchers for '{}': {why}", m.proc.config.name);
            m.stdout.close();
            m.stderr.close();
            m.proc.spawn_failed(msg, allow, fx);
            return;
        }
        // Only an fcgi program needs its group (a lookup by name).
        let shared = match m.fcgi {
            true => self.groups.iter_mut().find(|g| g.config.name == m.proc.config.group).and_then(|g| g.fcgi.as_mut()),
            false => None,
        };
        let fcgi_socket = match shared {
            Some(shared) => match shared.fd() {
                Ok(fd) => Some(fd),
                Err(msg) => {
                    m.stdout.close();
                    m.stderr.close();
                    m.proc.spawn_failed(msg, allow, fx);
                    return;
                }
            },
            None => None,
        };
        let ctx = SpawnContext {
            base_env: &self.base_env,
            serverurl: self.cfg.serverurl.as_deref(),
            fcgi_socket,
            extra_env: for_child.env,
            extra_fd,
        };
        let spawned = spawn::spawn(&m.proc.config, &ctx);
        // The child has its copy of the notification fd; the daemon keeps only the
        // read end, so the pipe ends when the child closes it.
        drop(for_child.fd);
        if spawned.is_err() {
            self.readiness_close(id);
        }
        let Some(m) = self.procs.get_mut(&id) else {
            return;
        };
        match spawned {
            Ok(child) => {
                let mut pipes: [Option<(usize, OwnedFd)>; 2] = [None, None];
                for (slot, (fd, channel)) in
                    [(Some(child.stdout), Channel::Stdout), (child.stderr, Channel::Stderr)].into_iter().enumerate()
                {
                    let Some(fd) = fd else { continue };
                    match self.reactor.add(&fd, Source::ChildOut { id, channel }, false) {
                        Ok(key) => pipes[slot] = Some((key, fd)),
                        Err(e) => log::error!("cannot watch the {} of {}: {e}", channel.name(), m.proc.config.name),
                    }
                }
                m.pipes = pipes;
                m.stdin = child.stdin;
                // Output spliced to a file moves in chunks of up to a pipe's size: a
                // bigger pipe means fewer passes. The pages are used only when it fills.
                for (slot, channel) in [Channel::Stdout, Channel::Stderr].into_iter().enumerate() {
                    if let Some((_, fd)) = &self.procs.get(&id).and_then(|m| m.pipes[slot].as_ref()) {
                        if self.bytes_unneeded(id, channel) {
                            let _ = rustix::pipe::fcntl_setpipe_size(fd, super::childio::SPLICE_CHUNK);
                        }
                    }
                }
                let Some(m) = self.procs.get_mut(&id) else { return };
                self.pids.insert(child.pid, id);
                m.proc.spawned(child.pid, fx);
            }
            Err(msg) => {
                m.stdout.close();
                m.stderr.close();
                m.proc.spawn_failed(msg, allow, fx);
            }
        }
    }

    /// Closes an fcgi group's socket once none of its processes is alive.
    fn release_fcgi_socket(&mut self, id: ProcId) {
        let Some(group) = self.procs.get(&id).filter(|m| m.fcgi).map(|m| m.proc.config.group.clone()) else {
            return;
        };
        let Some(g) = self.groups.iter().position(|g| g.config.name == group) else { return };
        let procs = &self.procs;
        let any_alive = self.groups[g].members.iter().any(|m| procs.get(m).is_some_and(|p| p.proc.pid != 0));
        if let Some(shared) = self.groups[g].fcgi.as_mut() {
            if !any_alive && shared.is_open() {
                shared.close();
            }
        }
    }

    /// Reaps every exited child.
    fn reap(&mut self) {
        // Collect the exits first, then act on them: restarting inside the waitpid loop
        // would keep it going for as long as restarted children keep dying, and nothing
        // else (RPC, signals) would be served meanwhile.
        let mut exits = Vec::new();
        while let Some(exit) = sys::reap_one() {
            exits.push(exit);
        }
        for (pid, status) in exits {
            let status = match sys::decode_wait_status(status) {
                Ok(code) => ExitStatus::Code(code),
                Err((sig, core)) => ExitStatus::Signal { sig, core },
            };
            if self.probes.owns_pid(pid).is_some() {
                self.on_probe_exit(pid, status);
                continue;
            }
            let Some(id) = self.pids.remove(&pid) else {
                log::debug!("reaped unknown pid {pid} ({})", status.describe());
                continue;
            };
            // Whatever the child wrote before dying is logged before its exit is. A
            // grandchild may keep the pipe open; what it writes later is not waited for.
            for channel in [Channel::Stdout, Channel::Stderr] {
                self.read_child(id, channel, true);
                self.close_pipe(id, channel as usize);
            }
            self.close_stdin(id);
            self.readiness_close(id);
            self.forget_probes(id);
            self.listener_reset(id);
            let allow = self.allow_start();
            let mut fx = Vec::new();
            if let Some(m) = self.procs.get_mut(&id) {
                m.stdout.close();
                m.stderr.close();
                m.proc.exited(status, Instant::now(), wall_now(), allow, &mut fx);
            }
            self.apply(id, fx);
            self.release_fcgi_socket(id);
        }
        self.prune_lingering();
    }

    fn handle_signals(&mut self) {
        let mut buf = [0u8; 64];
        let mut seen: Vec<i32> = Vec::new();
        loop {
            match rustix::io::read(&self.signals, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        let sig = i32::from(b);
                        if !seen.contains(&sig) {
                            seen.push(sig);
                        }
                    }
                }
                Err(_) => break,
            }
        }
        for sig in seen {
            self.handle_signal(sig);
        }
    }

    fn handle_signal(&mut self, sig: i32) {
        let name = super::process::signame(sig);
        match sig {
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT if self.mood == Mood::Shutdown => self.force_shutdown(sig),
            libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
                log::warn!("received {name} indicating exit request");
                self.begin_stop(Mood::Shutdown);
            }
            libc::SIGHUP => {
                if self.mood == Mood::Shutdown {
                    log::warn!("ignored {name} indicating restart request (shutdown in progress)");
                    return;
                }
                log::warn!("received {name} indicating restart request");
                let _ = self.request_reload();
            }
            libc::SIGCHLD => {
                log::debug!("received {name} indicating a child quit");
                self.reap();
            }
            libc::SIGUSR2 => {
                log::info!("received {name} indicating log reopen request");
                self.reopen_logs();
            }
            _ => blather!("received {name} indicating nothing"),
        }
    }

    pub fn reopen_logs(&mut self) {
        if let Err(e) = self.log.reopen() {
            let path = self.log.path().map(|p| p.display().to_string()).unwrap_or_default();
            let msg = format!("could not reopen the log file {path}: {e}; still writing to the previous one");
            eprintln!("supervisord: {msg}");
            log::error!("{msg}");
        }
        let mut failures = Vec::new();
        for m in self.procs.values_mut() {
            for log in [&mut m.stdout, &mut m.stderr] {
                if let Err(e) = log.reopen() {
                    let path = log.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                    failures.push(format!("could not reopen the log of {} ({path}): {e}", m.proc.config.name));
                }
            }
        }
        for f in failures {
            log::error!("{f}");
        }
    }

    /// The restart RPC: the same as SIGHUP; a broken config is the caller's error.
    pub fn request_restart(&mut self) -> Result<(), String> {
        log::warn!("restart requested through XML-RPC");
        self.request_reload()
    }

    /// Reload: read the config first; a broken one is reported and changes nothing.
    pub fn request_reload(&mut self) -> Result<(), String> {
        match (self.reload_config)() {
            Ok(new) => {
                self.pending = Some(new);
                self.sd_notify(super::sdnotify::Notifier::reloading);
                self.begin_stop(Mood::Restarting);
                Ok(())
            }
            Err(e) => {
                log::error!("reload failed, still running the previous configuration: {e}");
                Err(e)
            }
        }
    }

    /// A shutdown overrides a reload that was under way.
    pub(super) fn drop_pending_reload(&mut self) {
        self.pending = None;
    }

    /// Starts the ordered stop of every group (shutdown or reload).
    pub fn begin_stop(&mut self, mood: Mood) {
        if self.mood == Mood::Shutdown {
            return;
        }
        let first = self.mood == Mood::Running;
        self.mood = mood;
        if mood == Mood::Shutdown {
            self.sd_notify(super::sdnotify::Notifier::stopping);
        }
        if first {
            self.notify(Kind::SupervisorStopping, Vec::new());
            self.stop_queue = self.groups.iter().map(|g| (g.config.priority, self.stop_order(g))).collect();
            self.reactor.schedule_in(Duration::ZERO, Timer::ShutdownReport);
        }
    }

    fn unstopped(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| g.members.iter())
            .filter_map(|id| self.procs.get(id))
            .filter(|m| !m.proc.state.is_stopped())
            .map(|m| m.proc.config.name.clone())
            .collect()
    }

    /// A group's processes, highest process priority first. Ties keep the listed order
    /// before the reversal, as the reference's sort does.
    fn stop_order(&self, g: &Group) -> Vec<ProcId> {
        let mut ids: Vec<ProcId> = g.members.clone();
        crate::sort::sort_by_key(&mut ids, |id| self.procs.get(id).map(|m| m.proc.config.priority));
        ids.reverse();
        ids
    }

    /// Asks each of `ids` still up to stop, all at once (again on every pass, as the
    /// reference does; a stop waiting for dependents is not repeated).
    fn stop_procs(&mut self, ids: &[ProcId]) {
        for &id in ids {
            let up = self.procs.get(&id).is_some_and(|m| m.proc.state.is_running());
            if up {
                // Dependents first: they are stopped before it, whatever their group.
                let _ = self.stop_ordered(id, true);
            }
        }
    }

    /// Moves the ordered stop along: the highest-priority groups first, the next
    /// priority as soon as every group of the previous one is down. Returns true when
    /// everything has stopped.
    ///
    /// Groups of equal priority stop together. The reference stops them one after the
    /// other, in an order its documentation leaves open; with thousands of
    /// single-program groups of the default priority that is thousands of sequential
    /// round trips to the kernel, seconds instead of milliseconds.
    fn advance_stop(&mut self) -> bool {
        loop {
            if !self.stopping.is_empty() {
                let ids = std::mem::take(&mut self.stopping);
                self.stop_procs(&ids);
                let procs = &self.procs;
                self.stopping =
                    ids.into_iter().filter(|id| procs.get(id).is_some_and(|m| !m.proc.state.is_stopped())).collect();
                if !self.stopping.is_empty() {
                    return false;
                }
            }
            let Some(&(prio, _)) = self.stop_queue.last() else { break };
            let mut batch = Vec::new();
            while self.stop_queue.last().is_some_and(|(p, _)| *p == prio) {
                if let Some((_, ids)) = self.stop_queue.pop() {
                    batch.extend(ids);
                }
            }
            self.stopping = batch;
        }
        self.unstopped().is_empty()
    }

    fn on_timer(&mut self, t: Timer) {
        match t {
            Timer::Proc { id, kind, generation } => {
                let allow = self.allow_start();
                let mut fx = Vec::new();
                if let Some(m) = self.procs.get_mut(&id) {
                    m.proc.timer(kind, generation, Instant::now(), wall_now(), allow, &mut fx);
                }
                self.apply(id, fx);
            }
            Timer::Conn { id } => crate::rpc::server::on_deadline(self, id),
            Timer::Tail { id } => crate::rpc::server::on_tail_timer(self, id),
            Timer::Tick(period) => self.on_tick(period),
            Timer::Accept(idx) => crate::rpc::server::resume_accept(self, idx),
            Timer::ProbeTimeout(id) => self.on_probe_timeout(id),
            Timer::Leftovers(pgid) => self.on_leftovers_timer(pgid),
            Timer::Sweep => self.on_sweep_timer(),
            Timer::HeldLine { id, channel } => self.on_held_line(id, channel),
            Timer::ShutdownReport => {
                if self.mood == Mood::Running {
                    return;
                }
                let names = self.unstopped();
                if !names.is_empty() {
                    log::info!("waiting for {} to die", names.join(", "));
                    self.reactor.schedule_in(Duration::from_secs(3), Timer::ShutdownReport);
                }
            }
        }
    }

    /// Replaces the running configuration after a reload's stop completed.
    fn finish_reload(&mut self) {
        let Some(new) = self.pending.take() else {
            return;
        };
        let ids: Vec<ProcId> = self.procs.keys().copied().collect();
        for id in ids {
            self.forget_proc(id);
        }
        self.groups.clear();
        self.group_names.clear();
        self.reactor.retain_timers(|t| !matches!(t, Timer::Proc { .. } | Timer::Tick(_)));
        let servers_changed = self.cfg.servers != new.servers;
        let old_pidfile = self.cfg.supervisord.pidfile.clone();
        self.cfg = new;
        let sd = self.cfg.supervisord.clone();
        if sd.pidfile != old_pidfile {
            let _ = std::fs::remove_file(&old_pidfile);
            if let Err(e) = super::lifecycle::write_pidfile(&sd.pidfile) {
                crit!("{e}");
            }
        }
        // The AUTO logs of the old processes go, as at every start.
        if !sd.nocleanup {
            for w in super::lifecycle::clear_auto_logs(&sd.childlogdir, &sd.identifier) {
                log::warn!("{w}");
            }
        }
        if servers_changed {
            crate::rpc::server::reopen(self);
        }
        if let Err(e) = self.log.open(&self.cfg.supervisord) {
            eprintln!("supervisord: {e}");
            log::error!("{e}; logging continues to the previous target");
        }
        for w in self.cfg.warnings.clone() {
            log::warn!("{w}");
        }
        self.mood = Mood::Running;
        self.bus = Bus::default();
        self.add_configured_groups();
        self.notify(Kind::SupervisorRunning, Vec::new());
        log::info!("supervisord started with pid {}", std::process::id());
        self.autostart();
        self.sd_notify(super::sdnotify::Notifier::ready);
        crate::sys::release_free_memory();
    }

    /// The loop. Returns when a shutdown has stopped every process.
    pub fn run(&mut self) -> std::io::Result<Exit> {
        loop {
            if let Some(code) = self.forced_exit() {
                crate::rpc::server::cleanup(self);
                return Ok(Exit::Shutdown(code));
            }
            if self.mood != Mood::Running && self.advance_stop() {
                match self.mood {
                    Mood::Shutdown => {
                        // Until it is finished, reaping and the sweep's timers move it on.
                        if self.shutdown_finished() {
                            crate::rpc::server::cleanup(self);
                            return Ok(Exit::Shutdown(self.exit_code()));
                        }
                    }
                    _ => {
                        self.finish_reload();
                        continue;
                    }
                }
            }
            let ready = self.reactor.wait()?;
            let mut signalled = false;
            for key in ready {
                match self.reactor.source(key) {
                    Some(Source::Signals) => signalled = true,
                    Some(&Source::ChildOut { id, channel }) => self.read_child(id, channel, false),
                    Some(&Source::ChildIn(id)) => self.on_stdin_writable(id),
                    Some(&Source::Listener(i)) => crate::rpc::server::on_listener(self, i),
                    Some(&Source::Conn(id)) => crate::rpc::server::on_conn(self, id),
                    Some(&Source::Probe(id)) => self.on_probe_io(id),
                    Some(&Source::Ready(id)) => self.on_ready_channel(id),
                    None => {}
                }
            }
            // Signals after the I/O of the same wake-up, as the reference's loop does: a
            // child's last output is read and logged before the SIGCHLD of its exit.
            if signalled {
                self.handle_signals();
            }
            let now = Instant::now();
            for t in self.reactor.due_timers(now) {
                self.on_timer(t);
            }
            self.dispatch_events();
            crate::rpc::server::poll_waiting(self);
        }
    }
}
