//! The supervisorctl commands, one function each, with the reference's output lines
//! and exit statuses.

use super::client::CallError;
use super::{help, out, status, stream, CmdResult, Ctl};
use crate::wire::names::{namespec, split_namespec};
use crate::wire::xmlrpc::{Fault, Value};

pub const COMMANDS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload", "remove", "reread",
    "restart", "shutdown", "signal", "start", "status", "stop", "tail", "update", "version", "EOF",
];

pub fn exists(cmd: &str) -> bool {
    COMMANDS.contains(&cmd)
}

/// Runs a command; Ok(true) means "leave the shell".
pub fn run(ctl: &mut Ctl, cmd: &str, arg: &str) -> Result<bool, CallError> {
    match cmd {
        "help" => help::do_help(arg),
        "EOF" | "quit" | "exit" => {
            // quit and exit are EOF in the reference, blank line included.
            out("");
            return Ok(true);
        }
        "status" => status(ctl, arg)?,
        "start" => start(ctl, arg)?,
        "stop" => stop(ctl, arg)?,
        "restart" => restart(ctl, arg)?,
        "signal" => signal(ctl, arg)?,
        "pid" => pid(ctl, arg)?,
        "tail" => tail(ctl, arg)?,
        "maintail" => maintail(ctl, arg)?,
        "clear" => clear(ctl, arg)?,
        "avail" => avail(ctl, arg)?,
        "reread" => reread(ctl, arg)?,
        "update" => update(ctl, arg)?,
        "add" => add(ctl, arg)?,
        "remove" => remove(ctl, arg)?,
        "reload" => reload(ctl, arg)?,
        "shutdown" => shutdown(ctl, arg)?,
        "version" => version(ctl, arg)?,
        "open" => open(ctl, arg)?,
        "fg" => stream::fg(ctl, arg)?,
        _ => {}
    }
    Ok(false)
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
}

fn i(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(|x| x.as_int()).unwrap_or(0)
}

fn call(ctl: &Ctl, method: &str, params: &[Value]) -> Result<Value, CallError> {
    ctl.client().call(method, params)
}

fn items(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// STOPPED, EXITED, FATAL, UNKNOWN.
fn is_stopped_state(code: i64) -> bool {
    matches!(code, 0 | 100 | 200 | 1000)
}

fn print_statuses(infos: &[Value]) {
    let names: Vec<String> = infos.iter().map(|i| namespec(&s(i, "group"), &s(i, "name"))).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(30) + 3;
    // One write for the whole table: with hundreds of processes, a write per line is
    // most of the command's time.
    let mut table = String::with_capacity(infos.len() * 64);
    for (info, name) in infos.iter().zip(&names) {
        table.push_str(&format!("{name:<width$}{:<10}{}\n", s(info, "statename"), s(info, "description")));
    }
    if let Some(block) = table.strip_suffix('\n') {
        out(block);
    }
}

/// The usage figures of our daemon's JSON view (`/api/status`), by namespec, and the
/// daemon's own; empty when the daemon has no such view (the Python supervisord).
fn usage(ctl: &Ctl) -> (std::collections::HashMap<String, Value>, Option<Value>) {
    let mut by_name = std::collections::HashMap::new();
    let Ok((200, body)) = ctl.client().get("/api/status") else { return (by_name, None) };
    let Some(doc) = super::json::parse(&String::from_utf8_lossy(&body)) else { return (by_name, None) };
    if let Some(Value::Array(procs)) = doc.get("processes") {
        for p in procs {
            by_name.insert(s(p, "namespec"), p.clone());
        }
    }
    (by_name, doc.get("supervisor").cloned())
}

const USAGE_KEYS: [&str; 6] = ["restarts", "cpu_percent", "cpu_seconds", "rss_bytes", "threads", "fds"];

/// getProcessInfo structs with the usage figures added where the daemon has them.
fn with_usage(infos: &[Value], usage: &std::collections::HashMap<String, Value>) -> Vec<Value> {
    infos
        .iter()
        .map(|info| {
            let mut members = match info {
                Value::Struct(m) => m.clone(),
                _ => Vec::new(),
            };
            if let Some(u) = usage.get(&namespec(&s(info, "group"), &s(info, "name"))) {
                for k in USAGE_KEYS {
                    members.push((k.into(), u.get(k).cloned().unwrap_or(Value::Nil)));
                }
            }
            Value::Struct(members)
        })
        .collect()
}

fn human_bytes(n: i64) -> String {
    let mut v = n as f64;
    for unit in ["B", "K", "M", "G"] {
        if v < 1024.0 {
            return if unit == "B" { format!("{n}B") } else { format!("{v:.1}{unit}") };
        }
        v /= 1024.0;
    }
    format!("{v:.1}T")
}

/// `status --long`: the reference's columns plus pid, uptime, CPU%, RSS, threads, fds.
fn print_long(infos: &[Value], usage: &std::collections::HashMap<String, Value>, daemon: Option<&Value>) {
    let names: Vec<String> = infos.iter().map(|i| namespec(&s(i, "group"), &s(i, "name"))).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(30) + 3;
    let num = |u: Option<&Value>, k: &str| u.and_then(|u| u.get(k)).and_then(|v| v.as_int());
    let pct = |u: Option<&Value>| match u.and_then(|u| u.get("cpu_percent")) {
        Some(Value::Double(f)) => format!("{f:.1}"),
        Some(Value::Int(n)) => format!("{n}.0"),
        _ => "-".into(),
    };
    let dash = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let mut table = format!(
        "{:<width$}{:<10}{:>7} {:>10} {:>6} {:>8} {:>4} {:>5}  {}\n",
        "NAME", "STATE", "PID", "UPTIME", "CPU%", "RSS", "THR", "FDS", "DESCRIPTION"
    );
    for (info, name) in infos.iter().zip(&names) {
        let u = usage.get(name);
        let running = i(info, "state") == 20;
        let pid = if i(info, "pid") != 0 { i(info, "pid").to_string() } else { "-".into() };
        let uptime = if running { crate::wire::uptime(i(info, "now") - i(info, "start")) } else { "-".into() };
        let rss = num(u, "rss_bytes").map(human_bytes).unwrap_or_else(|| "-".into());
        table.push_str(&format!(
            "{name:<width$}{:<10}{pid:>7} {uptime:>10} {:>6} {rss:>8} {:>4} {:>5}  {}\n",
            s(info, "statename"),
            pct(u),
            dash(num(u, "threads")),
            dash(num(u, "fds")),
            s(info, "description")
        ));
    }
    if let Some(d) = daemon {
        let rss = num(Some(d), "rss_bytes").map(human_bytes).unwrap_or_else(|| "-".into());
        table.push_str(&format!(
            "supervisord pid {}: CPU {}%, RSS {rss}, {} threads, {} fds\n",
            i(d, "pid"),
            pct(Some(d)),
            dash(num(Some(d), "threads")),
            dash(num(Some(d), "fds"))
        ));
    }
    if let Some(block) = table.strip_suffix('\n') {
        out(block);
    }
}

fn status(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let mut names: Vec<&str> = arg.split_whitespace().collect();
    let json = names.contains(&"--json");
    let long = names.iter().any(|n| *n == "-l" || *n == "--long");
    names.retain(|n| !matches!(*n, "--json" | "-l" | "--long"));
    if !ctl.upcheck()? {
        ctl.exitstatus = status::STATUS_UNKNOWN;
        return Ok(());
    }
    let all = items(call(ctl, "supervisor.getAllProcessInfo", &[])?);
    let matching: Vec<Value> = if names.is_empty() || names.contains(&"all") {
        all
    } else {
        let mut found = Vec::new();
        for name in names {
            let (group, process) = split_namespec(name);
            let hits: Vec<&Value> = all
                .iter()
                .filter(|info| s(info, "group") == group && process.is_none_or(|p| s(info, "name") == p))
                .collect();
            if hits.is_empty() {
                let msg = match process {
                    None => format!("{group}: ERROR (no such group)"),
                    Some(_) => format!("{name}: ERROR (no such process)"),
                };
                // With --json, stdout carries only the JSON document.
                if json {
                    eprintln!("{msg}");
                } else {
                    out(&msg);
                }
                ctl.exitstatus = status::STATUS_UNKNOWN;
            }
            found.extend(hits.into_iter().cloned());
        }
        found
    };
    if json || long {
        let (usage, daemon) = usage(ctl);
        if json {
            out(&super::json::process_infos(&with_usage(&matching, &usage)));
        } else {
            print_long(&matching, &usage, daemon.as_ref());
        }
    } else {
        print_statuses(&matching);
    }
    if matching.iter().any(|info| is_stopped_state(i(info, "state"))) {
        ctl.exitstatus = status::STATUS_NOT_RUNNING;
    }
    Ok(())
}

fn start_result(r: &Value) -> String {
    let name = namespec(&s(r, "group"), &s(r, "name"));
    let why = match i(r, "status") {
        10 => "no such process",
        20 => "no such file",
        21 => "file is not executable",
        60 => "already started",
        50 => "spawn error",
        40 => "abnormal termination",
        80 => return format!("{name}: started"),
        _ => return format!("{name}: ERROR ({})", s(r, "description")),
    };
    format!("{name}: ERROR ({why})")
}

fn signal_result(r: &Value, success: &str) -> String {
    let name = namespec(&s(r, "group"), &s(r, "name"));
    let why = match i(r, "status") {
        10 => "no such process",
        11 => "bad signal name",
        70 => "not running",
        80 => return format!("{name}: {success}"),
        30 => return s(r, "description"),
        _ => return format!("{name}: ERROR ({})", s(r, "description")),
    };
    format!("{name}: ERROR ({why})")
}

/// A fault on a single-process call, as a result struct for the formatters.
fn fault_result(f: &crate::wire::xmlrpc::Fault, group: &str, process: &str) -> Value {
    Value::Struct(vec![
        ("status".into(), Value::Int(f.code.into())),
        ("name".into(), Value::str(process)),
        ("group".into(), Value::str(group)),
        ("description".into(), Value::str(&f.string)),
    ])
}

/// start, stop and signal share their shape: `all`, whole groups (`g:*`), or single
/// processes, each answer formatted as a result line with its exit-status rule.
struct Action<'a> {
    all: &'static str,
    group: &'static str,
    one: &'static str,
    /// Parameters after the name (the signal).
    extra: &'a [Value],
    format: &'a dyn Fn(&Value) -> String,
    /// The fault that leaves the exit status alone (already started / not running).
    ignored: Option<i32>,
    /// The exit status for an unknown group.
    no_group: i32,
}

fn per_name(ctl: &mut Ctl, names: &[&str], a: &Action) -> CmdResult {
    let report = |ctl: &mut Ctl, r: &Value| {
        out(&(a.format)(r));
        ctl.set_exitstatus_from_fault(i(r, "status") as i32, a.ignored);
    };
    if names.contains(&"all") {
        for r in items(call(ctl, a.all, a.extra)?) {
            report(ctl, &r);
        }
        return Ok(());
    }
    for name in names {
        let (group, process) = split_namespec(name);
        let params = |first: &str| [&[Value::str(first)], a.extra].concat();
        match process {
            None => match call(ctl, a.group, &params(group)) {
                Ok(results) => {
                    for r in items(results) {
                        report(ctl, &r);
                    }
                }
                Err(CallError::Fault(f)) if f.code == 10 => {
                    out(&format!("{group}: ERROR (no such group)"));
                    ctl.exitstatus = a.no_group;
                }
                Err(e) => {
                    ctl.exitstatus = status::GENERIC;
                    return Err(e);
                }
            },
            Some(process) => match call(ctl, a.one, &params(name)) {
                Ok(_) => report(ctl, &fault_result(&Fault { code: 80, string: "OK".into() }, group, process)),
                Err(CallError::Fault(f)) => report(ctl, &fault_result(&f, group, process)),
                Err(e) => return Err(e),
            },
        }
    }
    Ok(())
}

/// The names of a command, or the reference's complaint when there are none.
fn require_names<'a>(ctl: &mut Ctl, cmd: &str, arg: &'a str, missing: &str, status: i32) -> Option<Vec<&'a str>> {
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        out(missing);
        ctl.exitstatus = status;
        help::print(cmd);
        return None;
    }
    Some(names)
}

fn start(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let Some(names) = require_names(ctl, "start", arg, "Error: start requires a process name", status::INVALID_ARGS)
    else {
        return Ok(());
    };
    let action = Action {
        all: "supervisor.startAllProcesses",
        group: "supervisor.startProcessGroup",
        one: "supervisor.startProcess",
        extra: &[],
        format: &start_result,
        ignored: Some(60),
        no_group: status::INVALID_ARGS,
    };
    per_name(ctl, &names, &action)
}

fn stop(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let Some(names) = require_names(ctl, "stop", arg, "Error: stop requires a process name", status::GENERIC) else {
        return Ok(());
    };
    let action = Action {
        all: "supervisor.stopAllProcesses",
        group: "supervisor.stopProcessGroup",
        one: "supervisor.stopProcess",
        extra: &[],
        format: &|r| signal_result(r, "stopped"),
        ignored: Some(70),
        no_group: status::GENERIC,
    };
    per_name(ctl, &names, &action)
}

fn restart(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    if arg.split_whitespace().next().is_none() {
        out("Error: restart requires a process name");
        ctl.exitstatus = status::GENERIC;
        help::print("restart");
        return Ok(());
    }
    stop(ctl, arg)?;
    start(ctl, arg)
}

fn signal(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let args: Vec<&str> = arg.split_whitespace().collect();
    if args.len() < 2 {
        out("Error: signal requires a signal name and a process name");
        help::print("signal");
        ctl.exitstatus = status::GENERIC;
        return Ok(());
    }
    let action = Action {
        all: "supervisor.signalAllProcesses",
        group: "supervisor.signalProcessGroup",
        one: "supervisor.signalProcess",
        extra: &[Value::str(args[0])],
        format: &|r| signal_result(r, "signalled"),
        ignored: None,
        no_group: status::GENERIC,
    };
    per_name(ctl, &args[1..], &action)
}

fn pid(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        let pid = call(ctl, "supervisor.getPID", &[])?;
        out(&pid.as_int().unwrap_or(0).to_string());
    } else if names.contains(&"all") {
        for info in items(call(ctl, "supervisor.getAllProcessInfo", &[])?) {
            out(&i(&info, "pid").to_string());
        }
    } else {
        for name in names {
            match call(ctl, "supervisor.getProcessInfo", &[Value::str(name)]) {
                Ok(info) => {
                    let pid = i(&info, "pid");
                    out(&pid.to_string());
                    if pid == 0 {
                        ctl.exitstatus = status::NOT_RUNNING;
                    }
                }
                Err(CallError::Fault(f)) if f.code == 10 => {
                    ctl.exitstatus = status::GENERIC;
                    out(&format!("No such process {name}"));
                }
                Err(e) => {
                    ctl.exitstatus = status::GENERIC;
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

fn tail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let mut args: Vec<&str> = arg.split_whitespace().collect();
    if args.is_empty() || args.len() > 3 {
        out(if args.is_empty() { "Error: too few arguments" } else { "Error: too many arguments" });
        ctl.exitstatus = status::GENERIC;
        help::print("tail");
        return Ok(());
    }
    let modifier = if args[0].starts_with('-') { Some(args.remove(0)) } else { None };
    let (name, channel) = match args.as_slice() {
        [] => {
            out("Error: tail requires process name");
            ctl.exitstatus = status::GENERIC;
            return Ok(());
        }
        [name] => (name.to_string(), "stdout".to_string()),
        [name, .., channel] => {
            let channel = channel.to_lowercase();
            if channel != "stdout" && channel != "stderr" {
                out(&format!("Error: bad channel {}", crate::config::ini::py_repr(&channel)));
                ctl.exitstatus = status::GENERIC;
                return Ok(());
            }
            (name.to_string(), channel)
        }
    };
    let mut bytes = 1600i64;
    if let Some(m) = modifier {
        let what = &m[1..];
        if what == "f" {
            return stream::tail_f(ctl, &format!("/logtail/{name}/{channel}"));
        }
        match crate::config::values::py_int_radix(what, 10) {
            Some(n) => bytes = n,
            None => {
                out(&format!("Error: bad argument {m}"));
                ctl.exitstatus = status::GENERIC;
                return Ok(());
            }
        }
    }
    let method =
        if channel == "stdout" { "supervisor.readProcessStdoutLog" } else { "supervisor.readProcessStderrLog" };
    match call(ctl, method, &[Value::str(&name), Value::Int(-bytes), Value::Int(0)]) {
        Ok(text) => out(text.as_str().unwrap_or("")),
        Err(CallError::Fault(f)) if matches!(f.code, 20 | 30 | 10) => {
            ctl.exitstatus = status::GENERIC;
            let why = match f.code {
                20 => "no log file",
                30 => "unknown error reading log",
                _ => "no such process name",
            };
            out(&format!("{name}: ERROR ({why})"));
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

fn maintail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let args: Vec<&str> = arg.split_whitespace().collect();
    let bytes = match args.as_slice() {
        [] => 1600,
        [one] => {
            let Some(what) = one.strip_prefix('-') else {
                out(&format!("Error: bad argument {one}"));
                ctl.exitstatus = status::GENERIC;
                return Ok(());
            };
            if what == "f" {
                return stream::tail_f(ctl, "/mainlogtail");
            }
            match crate::config::values::py_int_radix(what, 10) {
                Some(n) => n,
                None => {
                    out(&format!("Error: bad argument {one}"));
                    ctl.exitstatus = status::GENERIC;
                    return Ok(());
                }
            }
        }
        _ => {
            out("Error: too many arguments");
            ctl.exitstatus = status::GENERIC;
            help::print("maintail");
            return Ok(());
        }
    };
    match call(ctl, "supervisor.readLog", &[Value::Int(-bytes), Value::Int(0)]) {
        Ok(text) => out(text.as_str().unwrap_or("")),
        Err(CallError::Fault(f)) if f.code == 20 || f.code == 30 => {
            ctl.exitstatus = status::GENERIC;
            let why = if f.code == 20 { "no log file" } else { "unknown error reading log" };
            out(&format!("supervisord: ERROR ({why})"));
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

fn clear_result(r: &Value) -> String {
    let name = namespec(&s(r, "group"), &s(r, "name"));
    match i(r, "status") {
        10 => format!("{name}: ERROR (no such process)"),
        30 => format!("{name}: ERROR (failed)"),
        80 => format!("{name}: cleared"),
        _ => format!("{name}: ERROR ({})", s(r, "description")),
    }
}

fn clear(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !ctl.upcheck()? {
        return Ok(());
    }
    let names: Vec<&str> = arg.split_whitespace().collect();
    if names.is_empty() {
        out("Error: clear requires a process name");
        ctl.exitstatus = status::GENERIC;
        help::print("clear");
        return Ok(());
    }
    if names.contains(&"all") {
        for r in items(call(ctl, "supervisor.clearAllProcessLogs", &[])?) {
            out(&clear_result(&r));
            ctl.set_exitstatus_from_fault(i(&r, "status") as i32, None);
        }
        return Ok(());
    }
    for name in names {
        let (group, process) = split_namespec(name);
        // `clear g:*` names no process; the reference prints Python's None there.
        let process = process.unwrap_or("None");
        match call(ctl, "supervisor.clearProcessLogs", &[Value::str(name)]) {
            Ok(_) => out(&format!("{}: cleared", namespec(group, process))),
            Err(CallError::Fault(f)) => {
                out(&clear_result(&fault_result(&f, group, process)));
                ctl.set_exitstatus_from_fault(f.code, None);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn no_args(ctl: &mut Ctl, cmd: &str, arg: &str) -> bool {
    if arg.is_empty() {
        return true;
    }
    out(&format!("Error: {cmd} accepts no arguments"));
    ctl.exitstatus = status::GENERIC;
    help::print(cmd);
    false
}

fn avail(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let json = arg.split_whitespace().any(|a| a == "--json");
    let rest: Vec<&str> = arg.split_whitespace().filter(|a| *a != "--json").collect();
    if !no_args(ctl, "avail", &rest.join(" ")) {
        return Ok(());
    }
    match call(ctl, "supervisor.getAllConfigInfo", &[]) {
        Ok(infos) => {
            let infos = items(infos);
            if json {
                out(&super::json::values(&infos));
                return Ok(());
            }
            for c in infos {
                let name = namespec(&s(&c, "group"), &s(&c, "name"));
                let inuse = if c.get("inuse") == Some(&Value::Bool(true)) { "in use" } else { "avail" };
                let auto = if c.get("autostart") == Some(&Value::Bool(true)) { "auto" } else { "manual" };
                let prio = format!("{}:{}", i(&c, "group_prio"), i(&c, "process_prio"));
                out(&format!("{name:<32} {inuse:<9} {auto:<9} {prio}"));
            }
        }
        Err(CallError::Fault(f)) if f.code == 6 => {
            ctl.exitstatus = status::GENERIC;
            out("ERROR: supervisor shutting down");
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

/// [[added, changed, removed]] as three name lists.
fn diff_lists(v: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    let inner = match v {
        Value::Array(outer) => outer.first().cloned().unwrap_or(Value::Array(vec![])),
        _ => Value::Array(vec![]),
    };
    let list = |idx: usize| -> Vec<String> {
        match &inner {
            Value::Array(parts) => match parts.get(idx) {
                Some(Value::Array(names)) => names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    };
    (list(0), list(1), list(2))
}

fn reread(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_args(ctl, "reread", arg) {
        return Ok(());
    }
    match call(ctl, "supervisor.reloadConfig", &[]) {
        Ok(v) => {
            let (added, changed, removed) = diff_lists(&v);
            let mut lines: Vec<(String, &str)> = Vec::new();
            for (names, what) in [(added, "available"), (changed, "changed"), (removed, "disappeared")] {
                for n in names {
                    lines.retain(|(existing, _)| *existing != n);
                    lines.push((n, what));
                }
            }
            if lines.is_empty() {
                out("No config updates to processes");
            }
            crate::sort::sort(&mut lines);
            for (n, what) in lines {
                out(&format!("{n}: {what}"));
            }
        }
        Err(CallError::Fault(f)) if f.code == 6 || f.code == 92 => {
            ctl.exitstatus = status::GENERIC;
            if f.code == 6 {
                out("ERROR: supervisor shutting down");
            } else {
                out(&format!("ERROR: {}", f.string));
            }
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

fn update(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let result = match call(ctl, "supervisor.reloadConfig", &[]) {
        Ok(v) => v,
        Err(CallError::Fault(f)) if f.code == 6 => {
            ctl.exitstatus = status::GENERIC;
            out("ERROR: already shutting down");
            return Ok(());
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    };
    let (added, changed, removed) = diff_lists(&result);
    let mut wanted: Vec<String> = arg.split_whitespace().map(str::to_string).collect();
    crate::sort::sort(&mut wanted);
    wanted.dedup();
    if wanted.iter().any(|w| w == "all") {
        wanted.clear();
    }
    if !wanted.is_empty() {
        let mut groups: Vec<String> =
            items(call(ctl, "supervisor.getAllProcessInfo", &[])?).iter().map(|i| s(i, "group")).collect();
        groups.extend(added.iter().cloned());
        for g in &wanted {
            if !groups.contains(g) {
                out(&format!("ERROR: no such group: {g}"));
                ctl.exitstatus = status::GENERIC;
            }
        }
    }
    let selected = |g: &String| wanted.is_empty() || wanted.contains(g);
    for g in removed.iter().filter(|g| selected(g)) {
        let results = items(call(ctl, "supervisor.stopProcessGroup", &[Value::str(g)])?);
        out(&format!("{g}: stopped"));
        if results.iter().any(|r| i(r, "status") == 30) {
            out(&format!("{g}: has problems; not removing"));
            ctl.exitstatus = status::GENERIC;
            continue;
        }
        call(ctl, "supervisor.removeProcessGroup", &[Value::str(g)])?;
        out(&format!("{g}: removed process group"));
    }
    for g in changed.iter().filter(|g| selected(g)) {
        call(ctl, "supervisor.stopProcessGroup", &[Value::str(g)])?;
        out(&format!("{g}: stopped"));
        call(ctl, "supervisor.removeProcessGroup", &[Value::str(g)])?;
        call(ctl, "supervisor.addProcessGroup", &[Value::str(g)])?;
        out(&format!("{g}: updated process group"));
    }
    for g in added.iter().filter(|g| selected(g)) {
        call(ctl, "supervisor.addProcessGroup", &[Value::str(g)])?;
        out(&format!("{g}: added process group"));
    }
    Ok(())
}

fn add(ctl: &mut Ctl, arg: &str) -> CmdResult {
    for name in arg.split_whitespace() {
        match call(ctl, "supervisor.addProcessGroup", &[Value::str(name)]) {
            Ok(_) => out(&format!("{name}: added process group")),
            Err(CallError::Fault(f)) if f.code == 6 => {
                out("ERROR: shutting down");
                ctl.exitstatus = status::GENERIC;
            }
            Err(CallError::Fault(f)) if f.code == 90 => out("ERROR: process group already active"),
            Err(CallError::Fault(f)) if f.code == 10 => {
                out(&format!("ERROR: no such process/group: {name}"));
                ctl.exitstatus = status::GENERIC;
            }
            Err(e) => {
                ctl.exitstatus = status::GENERIC;
                return Err(e);
            }
        }
    }
    Ok(())
}

fn remove(ctl: &mut Ctl, arg: &str) -> CmdResult {
    for name in arg.split_whitespace() {
        match call(ctl, "supervisor.removeProcessGroup", &[Value::str(name)]) {
            Ok(_) => out(&format!("{name}: removed process group")),
            Err(CallError::Fault(f)) if f.code == 91 || f.code == 10 => {
                ctl.exitstatus = status::GENERIC;
                if f.code == 91 {
                    out(&format!("ERROR: process/group still running: {name}"));
                } else {
                    out(&format!("ERROR: no such process/group: {name}"));
                }
            }
            Err(e) => {
                ctl.exitstatus = status::GENERIC;
                return Err(e);
            }
        }
    }
    Ok(())
}

fn reload(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_args(ctl, "reload", arg) {
        return Ok(());
    }
    if ctl.opts.interactive && !super::shell::confirm("Really restart the remote supervisord process y/N? ") {
        return Ok(());
    }
    match call(ctl, "supervisor.restart", &[]) {
        Ok(_) => out("Restarted supervisord"),
        Err(CallError::Fault(f)) if f.code == 6 => {
            ctl.exitstatus = status::GENERIC;
            out("ERROR: already shutting down");
        }
        Err(CallError::Fault(f)) if f.code == 92 => {
            ctl.exitstatus = status::GENERIC;
            out(&format!("ERROR: {}", f.string));
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

fn shutdown(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !arg.is_empty() {
        out("Error: shutdown accepts no arguments");
        ctl.exitstatus = status::GENERIC;
        help::print("shutdown");
        return Ok(());
    }
    if ctl.opts.interactive && !super::shell::confirm("Really shut the remote supervisord process down y/N? ") {
        return Ok(());
    }
    match call(ctl, "supervisor.shutdown", &[]) {
        Ok(_) => out("Shut down"),
        Err(CallError::Fault(f)) if f.code == 6 => out("ERROR: already shutting down"),
        Err(CallError::Connect(e)) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED) | Some(libc::ENOENT)) => {
            ctl.exitstatus = status::GENERIC;
            let what = if e.raw_os_error() == Some(libc::ENOENT) { "no such file" } else { "refused connection" };
            out(&format!("ERROR: {} {what} (already shut down?)", ctl.opts.serverurl));
        }
        Err(e) => {
            ctl.exitstatus = status::GENERIC;
            return Err(e);
        }
    }
    Ok(())
}

fn version(ctl: &mut Ctl, arg: &str) -> CmdResult {
    if !no_args(ctl, "version", arg) {
        return Ok(());
    }
    if !ctl.upcheck()? {
        return Ok(());
    }
    let v = call(ctl, "supervisor.getSupervisorVersion", &[])?;
    out(v.as_str().unwrap_or(""));
    Ok(())
}

fn open(ctl: &mut Ctl, arg: &str) -> CmdResult {
    let url = arg.trim();
    if !(url.starts_with("unix:") || url.starts_with("http:")) {
        out("ERROR: url must be http:// or unix://");
        ctl.exitstatus = status::GENERIC;
        return Ok(());
    }
    ctl.opts.serverurl = url.to_string();
    let saved = ctl.exitstatus;
    let result = status(ctl, "");
    ctl.exitstatus = saved;
    result
}
