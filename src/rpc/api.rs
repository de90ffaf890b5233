//! The `supervisor.*` and `system.*` XML-RPC methods, with the reference's names,
//! parameters, result structs and faults. A call that must wait (start/stop with
//! wait=true, the group and all variants, multicall holding one) returns a `Pending`,
//! which the server polls after each loop iteration until it yields the answer.

use std::collections::VecDeque;

use super::info::{all_config_info, process_info, read_file, read_log, tail_file, tail_log};
use super::xmlrpc::{Fault, Value};
// The shared vocabulary lives in crate::wire; these names keep `api::fault` etc. working.
use crate::daemon::api as d;
use crate::daemon::{Mood, ProcId, State, Supervisor};
pub use crate::wire::faults::{fault, Code};
pub use crate::wire::names::{namespec, split_namespec, API_VERSION};

type Res = Result<Value, Fault>;

pub enum Outcome {
    Done(Res),
    Wait(Pending),
}

/// A call waiting for the daemon to get somewhere.
pub enum Pending {
    Start {
        id: ProcId,
        name: String,
    },
    Stop {
        id: ProcId,
    },
    /// A group or all-processes call: per-process waits, results in completion order.
    All {
        waiting: Vec<(String, String, Pending)>,
        results: Vec<Value>,
    },
    Multi {
        current: Option<Box<Pending>>,
        remaining: VecDeque<Value>,
        results: Vec<Value>,
    },
}

fn bad_params() -> Fault {
    fault(Code::IncorrectParameters, None)
}

/// A required parameter, or INCORRECT_PARAMETERS (Python's TypeError on arity).
fn arg(params: &[Value], i: usize) -> Result<&Value, Fault> {
    params.get(i).ok_or_else(bad_params)
}

fn string_arg(params: &[Value], i: usize) -> Result<String, Fault> {
    match arg(params, i)? {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(n) => Ok(n.to_string()),
        _ => Err(bad_params()),
    }
}

fn int_arg(params: &[Value], i: usize) -> Result<i64, Fault> {
    match arg(params, i)? {
        Value::Int(n) => Ok(*n),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Str(s) => crate::config::values::py_int_radix(s, 10).ok_or_else(bad_params),
        _ => Err(bad_params()),
    }
}

/// The optional `wait` flag (default true).
fn wait_arg(params: &[Value], i: usize) -> Result<bool, Fault> {
    match params.get(i) {
        None => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Int(n)) => Ok(*n != 0),
        Some(Value::Str(s)) => Ok(!s.is_empty()),
        Some(_) => Err(bad_params()),
    }
}

fn arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if params.len() < min || params.len() > max {
        Err(bad_params())
    } else {
        Ok(())
    }
}

/// Every published method, with its signature `[return, params...]`.
pub const METHODS: &[(&str, &[&str])] = &[
    ("supervisor.addProcessGroup", &["boolean", "string"]),
    ("supervisor.clearAllProcessLogs", &["array"]),
    ("supervisor.clearLog", &["boolean"]),
    ("supervisor.clearProcessLog", &["boolean", "string"]),
    ("supervisor.clearProcessLogs", &["boolean", "string"]),
    ("supervisor.getAPIVersion", &["string"]),
    ("supervisor.getAllConfigInfo", &["array"]),
    ("supervisor.getAllProcessInfo", &["array"]),
    ("supervisor.getIdentification", &["string"]),
    ("supervisor.getPID", &["int"]),
    ("supervisor.getProcessInfo", &["struct", "string"]),
    ("supervisor.getState", &["struct"]),
    ("supervisor.getSupervisorVersion", &["string"]),
    ("supervisor.getVersion", &["string"]),
    ("supervisor.readLog", &["string", "int", "int"]),
    ("supervisor.readMainLog", &["string", "int", "int"]),
    ("supervisor.readProcessLog", &["string", "string", "int", "int"]),
    ("supervisor.readProcessStderrLog", &["string", "string", "int", "int"]),
    ("supervisor.readProcessStdoutLog", &["string", "string", "int", "int"]),
    ("supervisor.reloadConfig", &["array"]),
    ("supervisor.removeProcessGroup", &["boolean", "string"]),
    ("supervisor.restart", &["boolean"]),
    ("supervisor.sendProcessStdin", &["boolean", "string", "string"]),
    ("supervisor.sendRemoteCommEvent", &["boolean", "string", "string"]),
    ("supervisor.shutdown", &["boolean"]),
    ("supervisor.signalAllProcesses", &["array", "string"]),
    ("supervisor.signalProcess", &["boolean", "string", "string"]),
    ("supervisor.signalProcessGroup", &["array", "string", "string"]),
    ("supervisor.startAllProcesses", &["array", "boolean"]),
    ("supervisor.startProcess", &["boolean", "string", "boolean"]),
    ("supervisor.startProcessGroup", &["array", "string", "boolean"]),
    ("supervisor.stopAllProcesses", &["array", "boolean"]),
    ("supervisor.stopProcess", &["boolean", "string", "boolean"]),
    ("supervisor.stopProcessGroup", &["array", "string", "boolean"]),
    ("supervisor.tailProcessLog", &["array", "string", "int", "int"]),
    ("supervisor.tailProcessStderrLog", &["array", "string", "int", "int"]),
    ("supervisor.tailProcessStdoutLog", &["array", "string", "int", "int"]),
    ("system.listMethods", &["array"]),
    ("system.methodHelp", &["string", "string"]),
    ("system.methodSignature", &["array", "string"]),
    ("system.multicall", &["array", "array"]),
];

/// Dispatches one call. Unknown or malformed names are UNKNOWN_METHOD, as in the
/// reference's traversal (exactly one dot, no leading underscore).
pub fn call(sup: &mut Supervisor, method: &str, params: Vec<Value>) -> Outcome {
    match call_inner(sup, method, &params) {
        Ok(o) => o,
        Err(f) => Outcome::Done(Err(f)),
    }
}

fn done(v: Value) -> Result<Outcome, Fault> {
    Ok(Outcome::Done(Ok(v)))
}

fn call_inner(sup: &mut Supervisor, method: &str, p: &[Value]) -> Result<Outcome, Fault> {
    let parts: Vec<&str> = method.split('.').collect();
    if parts.len() != 2 || parts[1].starts_with('_') || !METHODS.iter().any(|(m, _)| *m == method) {
        return Err(fault(Code::UnknownMethod, None));
    }
    if parts[0] == "system" {
        return system_call(sup, parts[1], p);
    }
    // During a shutdown or restart only sendRemoteCommEvent is served.
    if sup.mood != Mood::Running && parts[1] != "sendRemoteCommEvent" {
        return Err(fault(Code::ShutdownState, None));
    }
    match parts[1] {
        "getAPIVersion" | "getVersion" => {
            arity(p, 0, 0)?;
            done(Value::str(API_VERSION))
        }
        "getSupervisorVersion" => {
            arity(p, 0, 0)?;
            done(Value::str(crate::SUPERVISOR_VERSION))
        }
        "getIdentification" => {
            arity(p, 0, 0)?;
            done(Value::str(&sup.cfg.supervisord.identifier))
        }
        "getState" => {
            arity(p, 0, 0)?;
            let (code, name) = match sup.mood {
                Mood::Running => (1, "RUNNING"),
                Mood::Restarting => (0, "RESTARTING"),
                Mood::Shutdown => (-1, "SHUTDOWN"),
            };
            done(Value::Struct(vec![("statecode".into(), Value::Int(code)), ("statename".into(), Value::str(name))]))
        }
        "getPID" => {
            arity(p, 0, 0)?;
            done(Value::Int(i64::from(std::process::id())))
        }
        "readLog" | "readMainLog" => {
            arity(p, 2, 2)?;
            let (offset, length) = (int_arg(p, 0)?, int_arg(p, 1)?);
            let path = sup.log.path().map(|p| p.to_path_buf());
            let path = match path {
                Some(p) if p.exists() => p,
                Some(p) => return Err(fault(Code::NoFile, Some(&p.display().to_string()))),
                None => return Err(fault(Code::NoFile, None)),
            };
            done(Value::Str(read_file(&path, offset, length)?))
        }
        "clearLog" => {
            arity(p, 0, 0)?;
            match sup.log.path() {
                Some(p) if p.exists() => {}
                _ => return Err(fault(Code::NoFile, None)),
            }
            sup.log.clear().map_err(|_| fault(Code::Failed, None))?;
            log::info!("reopening log file");
            done(Value::Bool(true))
        }
        "shutdown" => {
            arity(p, 0, 0)?;
            sup.begin_stop(Mood::Shutdown);
            done(Value::Bool(true))
        }
        "restart" => {
            arity(p, 0, 0)?;
            sup.request_restart().map_err(|e| fault(Code::CantReread, Some(&e)))?;
            done(Value::Bool(true))
        }
        "reloadConfig" => {
            arity(p, 0, 0)?;
            let (added, changed, removed) = sup.reread().map_err(|e| fault(Code::CantReread, Some(&e)))?;
            let names = |v: Vec<String>| Value::Array(v.into_iter().map(Value::Str).collect());
            done(Value::Array(vec![Value::Array(vec![names(added), names(changed), names(removed)])]))
        }
        "addProcessGroup" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            match sup.cfg.groups.iter().find(|g| g.name == name).cloned() {
                None => Err(fault(Code::BadName, Some(&name))),
                Some(g) => {
                    if sup.add_group_and_start(g) {
                        done(Value::Bool(true))
                    } else {
                        Err(fault(Code::AlreadyAdded, Some(&name)))
                    }
                }
            }
        }
        "removeProcessGroup" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            if !sup.groups.iter().any(|g| g.config.name == name) {
                return Err(fault(Code::BadName, Some(&name)));
            }
            if sup.remove_group(&name) {
                done(Value::Bool(true))
            } else {
                Err(fault(Code::StillRunning, Some(&name)))
            }
        }
        "startProcess" => {
            arity(p, 1, 2)?;
            let (name, wait) = (string_arg(p, 0)?, wait_arg(p, 1)?);
            start_process(sup, &name, wait)
        }
        "startProcessGroup" => {
            arity(p, 1, 2)?;
            let (name, wait) = (string_arg(p, 0)?, wait_arg(p, 1)?);
            let ids = group_members(sup, &name)?;
            Ok(all(sup, ids, |s| !s.is_running(), |sup, ns| start_process(sup, ns, wait)))
        }
        "startAllProcesses" => {
            arity(p, 0, 1)?;
            let wait = wait_arg(p, 0)?;
            let ids = sup.dependency_order(all_by_priority(sup), true);
            Ok(all(sup, ids, |s| !s.is_running(), |sup, ns| start_process(sup, ns, wait)))
        }
        "stopProcess" => {
            arity(p, 1, 2)?;
            let (name, wait) = (string_arg(p, 0)?, wait_arg(p, 1)?);
            stop_process(sup, &name, wait)
        }
        "stopProcessGroup" => {
            arity(p, 1, 2)?;
            let (name, wait) = (string_arg(p, 0)?, wait_arg(p, 1)?);
            let ids = group_members(sup, &name)?;
            Ok(all(sup, ids, State::is_running, |sup, ns| stop_process(sup, ns, wait)))
        }
        "stopAllProcesses" => {
            arity(p, 0, 1)?;
            let wait = wait_arg(p, 0)?;
            let ids = sup.dependency_order(all_by_priority(sup), false);
            Ok(all(sup, ids, State::is_running, |sup, ns| stop_process(sup, ns, wait)))
        }
        "signalProcess" => {
            arity(p, 2, 2)?;
            let (name, sig) = (string_arg(p, 0)?, string_arg(p, 1)?);
            signal_process(sup, &name, &sig)
        }
        "signalProcessGroup" => {
            arity(p, 2, 2)?;
            let (name, sig) = (string_arg(p, 0)?, string_arg(p, 1)?);
            let ids = group_members(sup, &name)?;
            Ok(all(sup, ids, State::is_signallable, |sup, ns| signal_process(sup, ns, &sig)))
        }
        "signalAllProcesses" => {
            arity(p, 1, 1)?;
            let sig = string_arg(p, 0)?;
            let ids = all_by_priority(sup);
            Ok(all(sup, ids, State::is_signallable, |sup, ns| signal_process(sup, ns, &sig)))
        }
        "getAllConfigInfo" => {
            arity(p, 0, 0)?;
            done(Value::Array(all_config_info(sup)))
        }
        "getProcessInfo" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            match d::lookup(sup, &name) {
                Some(d::Target::Process(id)) => done(process_info(sup, id)),
                _ => Err(fault(Code::BadName, Some(&name))),
            }
        }
        "getAllProcessInfo" => {
            arity(p, 0, 0)?;
            let infos = d::lexical_order(sup).into_iter().map(|id| process_info(sup, id)).collect();
            done(Value::Array(infos))
        }
        "readProcessStdoutLog" | "readProcessLog" | "readProcessStderrLog" => {
            arity(p, 3, 3)?;
            let name = string_arg(p, 0)?;
            let (offset, length) = (int_arg(p, 1)?, int_arg(p, 2)?);
            let stderr = parts[1] == "readProcessStderrLog";
            let id = process_id(sup, &name)?;
            if let Some(mem) = d::memory_tail(sup, id, stderr) {
                return done(Value::Str(read_log(mem, offset, length)?));
            }
            let path = d::log_path(sup, id, stderr);
            match path {
                Some(path) if path.exists() => done(Value::Str(read_file(&path, offset, length)?)),
                Some(path) => Err(fault(Code::NoFile, Some(&path.display().to_string()))),
                None => Err(fault(Code::NoFile, None)),
            }
        }
        "tailProcessStdoutLog" | "tailProcessLog" | "tailProcessStderrLog" => {
            arity(p, 3, 3)?;
            let name = string_arg(p, 0)?;
            let (offset, length) = (int_arg(p, 1)?, int_arg(p, 2)?);
            let id = process_id(sup, &name)?;
            let stderr = parts[1] == "tailProcessStderrLog";
            let path = d::log_path(sup, id, stderr);
            let result = match (d::memory_tail(sup, id, stderr), path) {
                (Some(mem), _) => tail_log(mem, offset, length),
                (None, Some(path)) if path.exists() => tail_file(&path, offset, length),
                _ => (String::new(), 0, false),
            };
            done(Value::Array(vec![Value::Str(result.0), Value::Int(result.1), Value::Bool(result.2)]))
        }
        "clearProcessLogs" | "clearProcessLog" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            let id = process_id(sup, &name)?;
            d::clear_logs(sup, id).map_err(|_| fault(Code::Failed, Some(&name)))?;
            done(Value::Bool(true))
        }
        "clearAllProcessLogs" => {
            arity(p, 0, 0)?;
            let mut results = Vec::new();
            for id in all_by_priority(sup) {
                let (name, group) = names_of(sup, id);
                let r = d::clear_logs(sup, id).map_err(|_| fault(Code::Failed, Some(&namespec(&group, &name))));
                results.push(result_struct(&name, &group, r.err()));
            }
            done(Value::Array(results))
        }
        "sendProcessStdin" => {
            arity(p, 2, 2)?;
            let name = string_arg(p, 0)?;
            let chars = match arg(p, 1)? {
                Value::Str(s) => s.clone().into_bytes(),
                Value::Base64(b) => b.clone(),
                Value::Int(n) => return Err(fault(Code::IncorrectParameters, Some(&n.to_string()))),
                Value::Bool(b) => {
                    return Err(fault(Code::IncorrectParameters, Some(if *b { "True" } else { "False" })))
                }
                _ => return Err(bad_params()),
            };
            let id = process_id(sup, &name)?;
            match d::send_stdin(sup, id, &chars) {
                Ok(()) => done(Value::Bool(true)),
                Err(d::StdinError::NotRunning) => Err(fault(Code::NotRunning, Some(&name))),
                Err(d::StdinError::Closed) => Err(fault(Code::NoFile, Some(&name))),
            }
        }
        "sendRemoteCommEvent" => {
            arity(p, 2, 2)?;
            let (kind, data) = (string_arg(p, 0)?, string_arg(p, 1)?);
            d::remote_comm_event(sup, &kind, &data);
            done(Value::Bool(true))
        }
        _ => Err(fault(Code::UnknownMethod, None)),
    }
}

fn system_call(sup: &mut Supervisor, method: &str, p: &[Value]) -> Result<Outcome, Fault> {
    match method {
        "listMethods" => {
            arity(p, 0, 0)?;
            done(Value::Array(METHODS.iter().map(|(m, _)| Value::str(*m)).collect()))
        }
        "methodHelp" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            match super::help::text(&name) {
                Some(t) => done(Value::str(t)),
                None => Err(fault(Code::SignatureUnsupported, None)),
            }
        }
        "methodSignature" => {
            arity(p, 1, 1)?;
            let name = string_arg(p, 0)?;
            match METHODS.iter().find(|(m, _)| *m == name) {
                Some((_, sig)) => done(Value::Array(sig.iter().map(|s| Value::str(*s)).collect())),
                None => Err(fault(Code::SignatureUnsupported, None)),
            }
        }
        "multicall" => {
            arity(p, 1, 1)?;
            let Value::Array(calls) = arg(p, 0)? else { return Err(bad_params()) };
            let mut pending =
                Pending::Multi { current: None, remaining: calls.iter().cloned().collect(), results: Vec::new() };
            Ok(match poll(sup, &mut pending) {
                Some(r) => Outcome::Done(r),
                None => Outcome::Wait(pending),
            })
        }
        _ => Err(fault(Code::UnknownMethod, None)),
    }
}

fn names_of(sup: &Supervisor, id: ProcId) -> (String, String) {
    match sup.procs.get(&id) {
        Some(m) => (m.proc.config.name.clone(), m.proc.config.group.clone()),
        None => (String::new(), String::new()),
    }
}

fn process_id(sup: &Supervisor, name: &str) -> Result<ProcId, Fault> {
    match d::lookup(sup, name) {
        Some(d::Target::Process(id)) => Ok(id),
        _ => Err(fault(Code::BadName, Some(name))),
    }
}

fn group_members(sup: &Supervisor, name: &str) -> Result<Vec<ProcId>, Fault> {
    d::group_by_priority(sup, name).ok_or_else(|| fault(Code::BadName, Some(name)))
}

fn all_by_priority(sup: &Supervisor) -> Vec<ProcId> {
    d::all_by_priority(sup)
}

fn result_struct(name: &str, group: &str, err: Option<Fault>) -> Value {
    let (status, description) = match err {
        None => (Code::Success as i32, "OK".to_string()),
        Some(f) => (f.code, f.string),
    };
    Value::Struct(vec![
        ("name".into(), Value::str(name)),
        ("group".into(), Value::str(group)),
        ("status".into(), Value::Int(status.into())),
        ("description".into(), Value::Str(description)),
    ])
}

/// The reference's make_allfunc: act on every process the predicate selects, collect
/// immediate results, and wait for the rest.
fn all(
    sup: &mut Supervisor,
    ids: Vec<ProcId>,
    select: impl Fn(State) -> bool,
    act: impl Fn(&mut Supervisor, &str) -> Result<Outcome, Fault>,
) -> Outcome {
    let mut results = Vec::new();
    let mut waiting = Vec::new();
    for id in ids {
        let Some(state) = sup.procs.get(&id).map(|m| m.proc.state) else { continue };
        if !select(state) {
            continue;
        }
        let (name, group) = names_of(sup, id);
        match act(sup, &namespec(&group, &name)) {
            Ok(Outcome::Done(Ok(_))) => results.push(result_struct(&name, &group, None)),
            Ok(Outcome::Done(Err(f))) | Err(f) => results.push(result_struct(&name, &group, Some(f))),
            Ok(Outcome::Wait(p)) => waiting.push((name, group, p)),
        }
    }
    if waiting.is_empty() {
        Outcome::Done(Ok(Value::Array(results)))
    } else {
        Outcome::Wait(Pending::All { waiting, results })
    }
}

fn start_process(sup: &mut Supervisor, name: &str, wait: bool) -> Result<Outcome, Fault> {
    let id = match d::lookup(sup, name) {
        Some(d::Target::Process(id)) => id,
        Some(d::Target::Group(g)) => {
            let ids = group_members(sup, &g)?;
            return Ok(all(sup, ids, |s| !s.is_running(), |sup, ns| start_process(sup, ns, wait)));
        }
        None => return Err(fault(Code::BadName, Some(name))),
    };
    match d::start(sup, id) {
        Ok(()) => {}
        Err(d::StartError::NotFound(m)) => return Err(fault(Code::NoFile, Some(&m))),
        Err(d::StartError::NotExecutable(m)) => return Err(fault(Code::NotExecutable, Some(&m))),
        Err(d::StartError::AlreadyStarted) => return Err(fault(Code::AlreadyStarted, Some(name))),
        Err(d::StartError::Unknown) => {
            return Err(fault(Code::Failed, Some(&format!("{name} is in an unknown process state"))))
        }
    }
    let Some(m) = sup.procs.get(&id) else { return Err(fault(Code::BadName, Some(name))) };
    if m.proc.spawnerr.is_some() {
        return Err(fault(Code::SpawnError, Some(name)));
    }
    if wait && m.proc.state != State::Running {
        let mut pending = Pending::Start { id, name: name.to_string() };
        return Ok(match poll(sup, &mut pending) {
            Some(r) => Outcome::Done(r),
            None => Outcome::Wait(pending),
        });
    }
    done(Value::Bool(true))
}

fn stop_process(sup: &mut Supervisor, name: &str, wait: bool) -> Result<Outcome, Fault> {
    let id = match d::lookup(sup, name) {
        Some(d::Target::Process(id)) => id,
        Some(d::Target::Group(g)) => {
            let ids = group_members(sup, &g)?;
            return Ok(all(sup, ids, State::is_running, |sup, ns| stop_process(sup, ns, wait)));
        }
        None => return Err(fault(Code::BadName, Some(name))),
    };
    let running = sup.procs.get(&id).is_some_and(|m| m.proc.state.is_running());
    if !running {
        return Err(fault(Code::NotRunning, Some(name)));
    }
    d::stop(sup, id).map_err(|m| fault(Code::Failed, Some(&m)))?;
    let stopped = sup.procs.get(&id).is_none_or(|m| m.proc.state.is_stopped());
    if wait && !stopped {
        return Ok(Outcome::Wait(Pending::Stop { id }));
    }
    done(Value::Bool(true))
}

fn signal_process(sup: &mut Supervisor, name: &str, sig: &str) -> Result<Outcome, Fault> {
    let id = match d::lookup(sup, name) {
        Some(d::Target::Process(id)) => id,
        Some(d::Target::Group(g)) => {
            let ids = group_members(sup, &g)?;
            let sig = sig.to_string();
            return Ok(all(sup, ids, State::is_signallable, move |sup, ns| signal_process(sup, ns, &sig)));
        }
        None => return Err(fault(Code::BadName, Some(name))),
    };
    let signo = crate::config::values::signal_number(sig).map_err(|_| fault(Code::BadSignal, Some(sig)))?;
    let signallable = sup.procs.get(&id).is_some_and(|m| m.proc.state.is_signallable());
    if !signallable {
        return Err(fault(Code::NotRunning, Some(name)));
    }
    d::signal(sup, id, signo).map_err(|m| fault(Code::Failed, Some(&m)))?;
    done(Value::Bool(true))
}

/// Advances a pending call; Some(answer) once it is complete.
pub fn poll(sup: &mut Supervisor, p: &mut Pending) -> Option<Res> {
    match p {
        Pending::Start { id, name } => {
            let Some(m) = sup.procs.get(id) else { return Some(Err(fault(Code::BadName, Some(name)))) };
            if m.proc.spawnerr.is_some() {
                return Some(Err(fault(Code::SpawnError, Some(name))));
            }
            match m.proc.state {
                State::Running => Some(Ok(Value::Bool(true))),
                State::Starting => None,
                _ => Some(Err(fault(Code::AbnormalTermination, Some(name)))),
            }
        }
        Pending::Stop { id } => match sup.procs.get(id) {
            Some(m) if !m.proc.state.is_stopped() => None,
            _ => Some(Ok(Value::Bool(true))),
        },
        Pending::All { waiting, results } => {
            let mut i = 0;
            while i < waiting.len() {
                match poll(sup, &mut waiting[i].2) {
                    None => i += 1,
                    Some(r) => {
                        let (name, group, _) = waiting.remove(i);
                        results.push(result_struct(&name, &group, r.err()));
                    }
                }
            }
            if waiting.is_empty() {
                Some(Ok(Value::Array(std::mem::take(results))))
            } else {
                None
            }
        }
        Pending::Multi { current, remaining, results } => {
            if let Some(cur) = current {
                match poll(sup, cur) {
                    None => return None,
                    Some(r) => {
                        results.push(multicall_item(r));
                        *current = None;
                    }
                }
            }
            while let Some(c) = remaining.pop_front() {
                let outcome = match c.get("methodName").and_then(Value::as_str) {
                    None => Outcome::Done(Err(fault(Code::IncorrectParameters, Some("No methodName")))),
                    Some("system.multicall") => Outcome::Done(Err(fault(
                        Code::IncorrectParameters,
                        Some("Recursive system.multicall forbidden"),
                    ))),
                    Some(method) => {
                        let params = match c.get("params") {
                            Some(Value::Array(a)) => a.clone(),
                            None => Vec::new(),
                            Some(_) => {
                                results.push(multicall_item(Err(bad_params())));
                                continue;
                            }
                        };
                        call(sup, method, params)
                    }
                };
                match outcome {
                    Outcome::Done(r) => results.push(multicall_item(r)),
                    Outcome::Wait(w) => {
                        *current = Some(Box::new(w));
                        return None;
                    }
                }
            }
            Some(Ok(Value::Array(std::mem::take(results))))
        }
    }
}

/// A multicall element: the bare value (not wrapped in an array, as the reference
/// does it), or a fault struct.
fn multicall_item(r: Res) -> Value {
    match r {
        Ok(v) => v,
        Err(f) => super::xmlrpc::fault_struct(&f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_texts() {
        assert_eq!(fault(Code::BadName, Some("nosuch")).string, "BAD_NAME: nosuch");
        assert_eq!(fault(Code::UnknownMethod, None).string, "UNKNOWN_METHOD");
        assert_eq!(fault(Code::CantReread, Some("x")).code, 92);
    }
}
