//! Operations on the daemon's processes that the control plane asks for: lookups by
//! namespec, the reference's orderings, start/stop/signal, stdin, logs.

use std::path::PathBuf;
use std::time::Instant;

use super::command::CommandError;
use super::process::State;
use super::spawn::{self, SpawnContext};
use super::supervisor::{wall_now, ProcId, Supervisor};

pub enum Target {
    /// A whole group (`g:*`, `g:`).
    Group(String),
    Process(ProcId),
}

/// `group:process`, `group:*`, `group:`, or `name` (meaning `name:name`).
pub fn lookup(sup: &Supervisor, namespec: &str) -> Option<Target> {
    let (group, process) = crate::wire::names::split_namespec(namespec);
    let g = sup.groups.iter().find(|g| g.config.name == group)?;
    let Some(process) = process else { return Some(Target::Group(group.to_string())) };
    g.members
        .iter()
        .copied()
        .find(|id| sup.procs.get(id).is_some_and(|m| m.proc.config.name == process))
        .map(Target::Process)
}

fn sorted_members(sup: &Supervisor, members: &[ProcId]) -> Vec<ProcId> {
    let mut ids: Vec<ProcId> = members.to_vec();
    crate::sort::sort_by(&mut ids, |a, b| {
        let key = |id: &ProcId| sup.procs.get(id).map(|m| (m.proc.config.priority, m.proc.config.name.as_str()));
        key(a).cmp(&key(b))
    });
    ids
}

/// A group's processes by (priority, name); None if there is no such group.
pub fn group_by_priority(sup: &Supervisor, name: &str) -> Option<Vec<ProcId>> {
    let g = sup.groups.iter().find(|g| g.config.name == name)?;
    Some(sorted_members(sup, &g.members))
}

/// Groups by (priority, name), each group's processes by (priority, name).
pub fn all_by_priority(sup: &Supervisor) -> Vec<ProcId> {
    sup.groups.iter().flat_map(|g| sorted_members(sup, &g.members)).collect()
}

/// Groups by name, processes by name (getAllProcessInfo, status).
pub fn lexical_order(sup: &Supervisor) -> Vec<ProcId> {
    let mut groups: Vec<&super::supervisor::Group> = sup.groups.iter().collect();
    crate::sort::sort_by(&mut groups, |a, b| a.config.name.cmp(&b.config.name));
    let mut out = Vec::new();
    for g in groups {
        let mut ids = g.members.clone();
        crate::sort::sort_by(&mut ids, |a, b| {
            let name = |id| sup.procs.get(id).map(|m| m.proc.config.name.as_str());
            name(a).cmp(&name(b))
        });
        out.extend(ids);
    }
    out
}

pub enum StartError {
    NotFound(String),
    NotExecutable(String),
    AlreadyStarted,
    Unknown,
}

/// startProcess: check the command first (nothing changes if it cannot run), then
/// spawn.
pub fn start(sup: &mut Supervisor, id: ProcId) -> Result<(), StartError> {
    let Some(m) = sup.procs.get(&id) else { return Err(StartError::Unknown) };
    let ctx = SpawnContext {
        base_env: &sup.base_env,
        serverurl: sup.cfg.serverurl.as_deref(),
        fcgi_socket: None,
        extra_env: Vec::new(),
        extra_fd: None,
    };
    match spawn::precheck(&m.proc.config, &ctx) {
        Ok(_) => {}
        Err(CommandError::NotFound(msg)) => return Err(StartError::NotFound(msg)),
        Err(CommandError::NotExecutable(msg) | CommandError::NoPermission(msg)) => {
            return Err(StartError::NotExecutable(msg))
        }
    }
    match m.proc.state {
        s if s.is_running() => return Err(StartError::AlreadyStarted),
        State::Unknown => return Err(StartError::Unknown),
        _ => {}
    }
    let mut fx = Vec::new();
    if let Some(m) = sup.procs.get_mut(&id) {
        m.proc.start(Instant::now(), wall_now(), &mut fx);
    }
    sup.apply(id, fx);
    Ok(())
}

/// stopProcess: after the dependents that are being stopped too (stop all).
pub fn stop(sup: &mut Supervisor, id: ProcId) -> Result<(), String> {
    sup.stop_ordered(id, false)
}

/// signalProcess: any signal to the pid alone; the state is not changed.
pub fn signal(sup: &mut Supervisor, id: ProcId, sig: i32) -> Result<(), String> {
    let Some(m) = sup.procs.get(&id) else { return Ok(()) };
    let (name, pid) = (m.proc.config.name.clone(), m.proc.pid);
    let signame = super::process::signame(sig);
    if pid == 0 {
        return Err(format!("attempted to send {name} sig {signame} but it wasn't running"));
    }
    log::debug!("sending {name} (pid {pid}) sig {signame}");
    match crate::sys::kill(pid, sig, false) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
            log::debug!("unable to signal {name} (pid {pid}), it probably just now exited on its own: {e}");
            Ok(())
        }
        Err(e) => {
            let mut fx = Vec::new();
            let msg = format!("unknown problem sending sig {name} ({pid}):{e}");
            if let Some(m) = sup.procs.get_mut(&id) {
                m.proc.kill_failed(&e.to_string(), &mut fx);
            }
            sup.apply(id, fx);
            Err(msg)
        }
    }
}

pub fn log_path(sup: &Supervisor, id: ProcId, stderr: bool) -> Option<PathBuf> {
    let m = sup.procs.get(&id)?;
    if stderr {
        m.stderr.path.clone()
    } else {
        m.stdout.path.clone()
    }
}

/// The memory a console target keeps for tail and readLog.
pub fn memory_tail(sup: &Supervisor, id: ProcId, stderr: bool) -> Option<&super::MemoryTail> {
    let m = sup.procs.get(&id)?;
    if stderr {
        m.stderr.memory.as_deref()
    } else {
        m.stdout.memory.as_deref()
    }
}

/// clearProcessLogs: empties the logs of a running process (a stopped one has no
/// open log, and the reference then reports success without doing anything).
pub fn clear_logs(sup: &mut Supervisor, id: ProcId) -> std::io::Result<()> {
    let Some(m) = sup.procs.get_mut(&id) else { return Ok(()) };
    m.stdout.clear()?;
    m.stderr.clear()
}

pub enum StdinError {
    NotRunning,
    Closed,
}

pub fn send_stdin(sup: &mut Supervisor, id: ProcId, data: &[u8]) -> Result<(), StdinError> {
    let Some(m) = sup.procs.get(&id) else { return Err(StdinError::NotRunning) };
    if m.proc.pid == 0 || m.proc.state == State::Stopping {
        return Err(StdinError::NotRunning);
    }
    sup.write_stdin(id, data).map_err(|_| StdinError::Closed)
}

/// sendRemoteCommEvent: the event reaches listeners subscribed to
/// REMOTE_COMMUNICATION (event delivery is its own module).
pub fn remote_comm_event(sup: &mut Supervisor, kind: &str, data: &str) {
    log::debug!("remote communication event: type:{kind} ({} bytes)", data.len());
    sup.notify(super::events::Kind::RemoteCommunication, format!("type:{kind}\n{data}").into_bytes());
}
