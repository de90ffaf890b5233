//! The structs and texts the API returns about processes and logs: getProcessInfo,
//! getAllConfigInfo, and the reference's readLog and tailProcessLog semantics.

use super::api::{fault, Code};
use super::xmlrpc::{Fault, Value};
use crate::config::{GroupConfig, LogTarget, ProcessConfig};
use crate::daemon::{ProcId, State, Supervisor};
pub use crate::wire::uptime;

/// `Nov 21 05:37 AM` in local time.
pub fn short_local_time(secs: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (_, mo, d, h, mi, _) = crate::sys::localtime(secs);
    let (h12, ampm) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{} {d:02} {h12:02}:{mi:02} {ampm}", MONTHS[(mo as usize).saturating_sub(1) % 12])
}

pub fn capped(v: i64) -> i64 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX))
}

/// getProcessInfo's description: pid and uptime, the error, or when it stopped.
pub fn description(p: &crate::daemon::Process, now: i64) -> String {
    let (start, stop) = (capped(p.start_wall), capped(p.stop_wall));
    // Our additions ride in the description, which clients only display: what a start
    // waits for, the health verdict, sd_notify's STATUS=.
    let extra = [p.health.as_deref(), p.notify_status.as_deref()]
        .into_iter()
        .flatten()
        .map(|s| format!(", {s}"))
        .collect::<String>();
    match p.state {
        State::Running => format!("pid {}, uptime {}{extra}", p.pid, uptime(now - start)),
        State::Starting if p.waiting.is_some() => {
            format!("waiting for {}", p.waiting.as_deref().unwrap_or_default())
        }
        State::Starting if p.pid != 0 && p.last_probe_failure.is_some() => {
            format!("pid {}, not ready yet: {}", p.pid, p.last_probe_failure.as_deref().unwrap_or_default())
        }
        State::Fatal | State::Backoff => match p.spawnerr.as_deref() {
            None | Some("") => format!("unknown error (try \"tail {}\")", p.config.name),
            Some(e) => e.to_string(),
        },
        State::Stopped | State::Exited => {
            if start != 0 {
                short_local_time(stop)
            } else {
                "Not started".into()
            }
        }
        _ => String::new(),
    }
}

pub fn process_info(sup: &Supervisor, id: ProcId) -> Value {
    let Some(m) = sup.procs.get(&id) else { return Value::Struct(vec![]) };
    let p = &m.proc;
    let now = crate::daemon::wall_now();
    let (start, stop) = (capped(p.start_wall), capped(p.stop_wall));
    let path = |c: &Option<std::path::PathBuf>| c.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let stdout = path(&m.stdout.path);
    let stderr = path(&m.stderr.path);
    let spawnerr = p.spawnerr.clone().unwrap_or_default();
    let description = description(p, now);
    Value::Struct(vec![
        ("name".into(), Value::str(&p.config.name)),
        ("group".into(), Value::str(&p.config.group)),
        ("start".into(), Value::Int(start)),
        ("stop".into(), Value::Int(stop)),
        ("now".into(), Value::Int(capped(now))),
        ("state".into(), Value::Int(p.state.code().into())),
        ("statename".into(), Value::str(p.state.name())),
        ("spawnerr".into(), Value::Str(spawnerr)),
        ("exitstatus".into(), Value::Int(p.exitstatus.unwrap_or(0).into())),
        ("logfile".into(), Value::str(&stdout)),
        ("stdout_logfile".into(), Value::Str(stdout)),
        ("stderr_logfile".into(), Value::Str(stderr)),
        ("pid".into(), Value::Int(p.pid.into())),
        ("description".into(), Value::Str(description)),
    ])
}

pub fn config_logfile(target: &LogTarget, running: Option<&std::path::PathBuf>) -> Value {
    match (target, running) {
        (LogTarget::Auto, Some(p)) => Value::Str(p.display().to_string()),
        (LogTarget::Auto, None) => Value::str("auto"),
        (LogTarget::File(p), _) => Value::Str(p.display().to_string()),
        (LogTarget::None | LogTarget::Syslog, _) => Value::str("none"),
    }
}

pub fn config_info(
    g: &GroupConfig,
    pc: &ProcessConfig,
    inuse: bool,
    running: Option<&crate::daemon::Managed>,
) -> Value {
    let none_or = |s: &Option<String>| s.as_ref().map(Value::str).unwrap_or_else(|| Value::str("none"));
    let out_path = running.and_then(|m| m.stdout.path.as_ref());
    let err_path = running.and_then(|m| m.stderr.path.as_ref());
    Value::Struct(vec![
        ("autostart".into(), Value::Bool(pc.autostart)),
        ("directory".into(), none_or(&pc.directory)),
        ("uid".into(), pc.uid.map(|u| Value::Int(u.into())).unwrap_or_else(|| Value::str("none"))),
        ("command".into(), Value::str(&pc.command)),
        ("exitcodes".into(), Value::Array(pc.exitcodes.iter().map(|c| Value::Int((*c).into())).collect())),
        ("group".into(), Value::str(&g.name)),
        ("group_prio".into(), Value::Int(g.priority)),
        ("inuse".into(), Value::Bool(inuse)),
        ("killasgroup".into(), Value::Bool(pc.killasgroup)),
        ("name".into(), Value::str(&pc.name)),
        ("process_prio".into(), Value::Int(pc.priority)),
        ("redirect_stderr".into(), Value::Bool(pc.redirect_stderr)),
        ("startretries".into(), Value::Int(pc.startretries)),
        ("startsecs".into(), Value::Int(pc.startsecs)),
        ("stdout_capture_maxbytes".into(), Value::Int(pc.stdout.capture_maxbytes)),
        ("stdout_events_enabled".into(), Value::Bool(pc.stdout.events_enabled)),
        ("stdout_logfile".into(), config_logfile(&pc.stdout.logfile, out_path)),
        ("stdout_logfile_backups".into(), Value::Int(pc.stdout.backups)),
        ("stdout_logfile_maxbytes".into(), Value::Int(pc.stdout.maxbytes)),
        ("stdout_syslog".into(), Value::Bool(pc.stdout.syslog)),
        ("stopsignal".into(), Value::Int(pc.stopsignal.into())),
        ("stopwaitsecs".into(), Value::Int(pc.stopwaitsecs)),
        ("stderr_capture_maxbytes".into(), Value::Int(pc.stderr.capture_maxbytes)),
        ("stderr_events_enabled".into(), Value::Bool(pc.stderr.events_enabled)),
        ("stderr_logfile".into(), config_logfile(&pc.stderr.logfile, err_path)),
        ("stderr_logfile_backups".into(), Value::Int(pc.stderr.backups)),
        ("stderr_logfile_maxbytes".into(), Value::Int(pc.stderr.maxbytes)),
        ("stderr_syslog".into(), Value::Bool(pc.stderr.syslog)),
        ("serverurl".into(), none_or(&pc.serverurl)),
    ])
}

pub fn all_config_info(sup: &Supervisor) -> Vec<Value> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for g in &sup.cfg.groups {
        let running = sup.groups.iter().find(|rg| rg.config.name == g.name);
        let inuse = running.is_some();
        for pc in &g.processes {
            // A running group with the same config reports its live log paths.
            let current = |rg: &&crate::daemon::Group| rg.config == *g && rg.config_generation == sup.config_generation;
            let live = running.filter(current).and_then(|rg| {
                rg.members
                    .iter()
                    .filter_map(|id| sup.procs.get(id))
                    .find(|m| m.proc.config.name == pc.name)
                    .map(|m| &**m)
            });
            out.push((pc.name.clone(), config_info(g, pc, inuse, live)));
        }
    }
    crate::sort::sort_by(&mut out, |a, b| a.0.cmp(&b.0));
    out.into_iter().map(|(_, v)| v).collect()
}

/// Where a log's bytes are read from: a file, or the memory kept for a console target.
pub trait LogSource {
    fn size(&mut self) -> std::io::Result<i64>;
    fn read_at(&mut self, start: u64, len: u64) -> std::io::Result<Vec<u8>>;
}

impl LogSource for std::fs::File {
    fn size(&mut self) -> std::io::Result<i64> {
        Ok(self.metadata()?.len() as i64)
    }
    fn read_at(&mut self, start: u64, len: u64) -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek, SeekFrom};
        self.seek(SeekFrom::Start(start))?;
        let mut data = Vec::new();
        self.take(len).read_to_end(&mut data)?;
        Ok(data)
    }
}

impl LogSource for &crate::daemon::MemoryTail {
    fn size(&mut self) -> std::io::Result<i64> {
        Ok(crate::daemon::MemoryTail::size(self) as i64)
    }
    fn read_at(&mut self, start: u64, len: u64) -> std::io::Result<Vec<u8>> {
        Ok(self.read(start, len))
    }
}

/// The reference's readFile: offset/length semantics, BAD_ARGUMENTS and FAILED.
pub fn read_file(path: &std::path::Path, offset: i64, length: i64) -> Result<String, Fault> {
    if (offset < 0 && length != 0) || length < 0 {
        return Err(fault(Code::BadArguments, None));
    }
    let f = std::fs::File::open(path).map_err(|_| fault(Code::Failed, None))?;
    read_log(f, offset, length)
}

pub fn read_log(mut src: impl LogSource, offset: i64, length: i64) -> Result<String, Fault> {
    if (offset < 0 && length != 0) || length < 0 {
        return Err(fault(Code::BadArguments, None));
    }
    let failed = |_| fault(Code::Failed, None);
    let size = src.size().map_err(failed)?;
    let (start, len) = if offset < 0 {
        ((size + offset).max(0), -offset)
    } else if length == 0 {
        (offset, i64::MAX)
    } else {
        (offset, length)
    };
    if start >= size {
        return Ok(String::new());
    }
    let data = src.read_at(start as u64, len.min(size - start) as u64).map_err(failed)?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

/// The reference's tailFile: returns (data, new offset = file size, overflow).
pub fn tail_file(path: &std::path::Path, offset: i64, length: i64) -> (String, i64, bool) {
    match std::fs::File::open(path) {
        Ok(f) => tail_log(f, offset, length),
        Err(_) => (String::new(), offset, false),
    }
}

pub fn tail_log(mut src: impl LogSource, offset: i64, length: i64) -> (String, i64, bool) {
    let Ok(sz) = src.size() else { return (String::new(), offset, false) };
    let (mut offset, mut length) = (offset, length);
    let mut overflow = false;
    if sz > offset.saturating_add(length) {
        overflow = true;
        offset = sz - 1;
    }
    if offset.saturating_add(length) > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    let offset = offset.max(0);
    let length = length.max(0);
    let data = if length > 0 { src.read_at(offset as u64, length as u64).unwrap_or_default() } else { Vec::new() };
    (String::from_utf8_lossy(&data).into_owned(), sz, overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_like_python_timedelta() {
        assert_eq!(uptime(18), "0:00:18");
        assert_eq!(uptime(3 * 3600 + 61), "3:01:01");
        assert_eq!(uptime(86_400 + 5), "1 day, 0:00:05");
        assert_eq!(uptime(2 * 86_400), "2 days, 0:00:00");
        assert_eq!(uptime(-5), "0:00:00");
    }

    #[test]
    fn read_and_tail_semantics() {
        let p = std::env::temp_dir().join(format!("readfile-{}", std::process::id()));
        let text: String = (0..6).map(|i| format!("{i} bar baz\n")).collect();
        std::fs::write(&p, &text).unwrap();
        assert_eq!(text.len(), 60);
        assert_eq!(read_file(&p, 0, 0).unwrap(), text);
        assert_eq!(read_file(&p, 0, 5).unwrap(), "0 bar");
        assert_eq!(read_file(&p, -10, 0).unwrap(), "5 bar baz\n");
        assert_eq!(read_file(&p, -1000, 0).unwrap(), text);
        assert_eq!(read_file(&p, 100, 0).unwrap(), "");
        assert_eq!(read_file(&p, -5, 3).unwrap_err().code, 3);
        assert_eq!(read_file(&p, 0, -1).unwrap_err().code, 3);
        assert_eq!(tail_file(&p, 0, 10), ("5 bar baz\n".to_string(), 60, true));
        assert_eq!(tail_file(&p, 50, 1000), (text.clone(), 60, false));
        assert_eq!(tail_file(&p, 60, 10), (String::new(), 60, false));
        std::fs::remove_file(&p).unwrap();
        assert_eq!(read_file(&p, 0, 0).unwrap_err().code, 30);
    }
}
