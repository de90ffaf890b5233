//! `supervisord --check`: the effective groups and processes of a config, one line each,
//! in the order the daemon would start them. The differential tests compare this text
//! with what the reference's parser makes of the same file. Beyond the reference,
//! `problems` finds what would fail only later: commands the spawn cannot split, and
//! log files the daemon cannot write.

use std::fmt::Write;
use std::path::Path;

use rustix::fs::Access;

use super::spawn::SpawnContext;
use crate::config::{GroupKind, LogTarget, MainLog, ServerConfig};

pub fn render(c: &ServerConfig) -> String {
    let mut out = format!("{}: valid\n", c.config_file.display());
    for g in &c.groups {
        let kind = match g.kind {
            GroupKind::Programs => "group",
            GroupKind::EventListenerPool(_) => "pool",
            GroupKind::FastCgi(_) => "fcgi-group",
        };
        let _ = writeln!(out, "{kind} {} priority={}", g.name, g.priority);
        for p in &g.processes {
            let _ = writeln!(
                out,
                "  process {} priority={} autostart={} command={}",
                p.name, p.priority, p.autostart, p.command
            );
        }
    }
    out
}

/// What `--check` finds beyond the parse: (errors, warnings). An error is something
/// that would certainly fail at spawn (a command that cannot be split the way the spawn
/// splits it); a warning is something that fails on this machine now but may not when
/// the daemon runs (a missing program, a log directory not yet writable).
pub fn problems(c: &ServerConfig) -> (Vec<String>, Vec<String>) {
    let ini = crate::config::server::read_with_includes(&c.config_file).map(|(ini, _, _)| ini).ok();
    let at = |section: &str, key: &str| -> String {
        let entry = ini.as_ref().and_then(|i| i.get(section, key).map(|e| (e.file.clone(), e.line)));
        let header = ini.as_ref().and_then(|i| i.section(section).map(|s| (s.file.clone(), s.line)));
        match entry.or(header) {
            Some((file, line)) => format!("{}:{line}: [{section}] {key}: ", file.display()),
            None => format!("[{section}] {key}: "),
        }
    };
    let section_of = |program: &str| -> String {
        let kinds = ["program", "fcgi-program", "eventlistener"];
        let found = ini.as_ref().and_then(|i| {
            i.sections
                .iter()
                .find(|s| s.name.split_once(':').is_some_and(|(k, n)| n == program && kinds.contains(&k)))
                .map(|s| s.name.clone())
        });
        found.unwrap_or_else(|| format!("program:{program}"))
    };
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let base_env: Vec<(String, String)> = std::env::vars().collect();
    let ctx = SpawnContext {
        base_env: &base_env,
        serverurl: c.serverurl.as_deref(),
        fcgi_socket: None,
        extra_env: Vec::new(),
        extra_fd: None,
    };
    let sd = &c.supervisord;
    let mut auto_dir_checked = false;
    for g in &c.groups {
        for p in &g.processes {
            let section = section_of(&p.program);
            // In the words of the spawnerr the daemon would give.
            if let Err(e) = super::spawn::precheck(p, &ctx) {
                let splits = super::command::split(&p.command).is_ok_and(|w| !w.is_empty());
                let line = format!("{}{}", at(&section, "command"), e.message());
                if splits {
                    warnings.push(line);
                } else {
                    errors.push(line);
                }
            }
            for (channel, log) in [("stdout", &p.stdout), ("stderr", &p.stderr)] {
                let key = format!("{channel}_logfile");
                match &log.logfile {
                    LogTarget::File(path) => {
                        if let Err(e) = writable_file(path) {
                            warnings.push(format!("{}cannot write {}: {e}", at(&section, &key), path.display()));
                        }
                    }
                    LogTarget::Auto if !auto_dir_checked => {
                        auto_dir_checked = true;
                        if let Err(e) = writable_dir(&sd.childlogdir) {
                            warnings.push(format!(
                                "{}cannot make AUTO logs in {} (from {key} of [{section}]): {e}",
                                at("supervisord", "childlogdir"),
                                sd.childlogdir.display()
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let MainLog::File(path) = &sd.logfile {
        if let Err(e) = writable_file(path) {
            warnings.push(format!("{}cannot write {}: {e}", at("supervisord", "logfile"), path.display()));
        }
    }
    (errors, warnings)
}

/// Whether the daemon could open (creating) this log file for appending now.
fn writable_file(path: &Path) -> std::io::Result<()> {
    if path.starts_with("/dev") || path.starts_with("/proc") {
        return Ok(());
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(std::io::Error::from_raw_os_error(libc::EISDIR)),
        Ok(_) => access(path, Access::WRITE_OK),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            writable_dir(path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
        }
        Err(e) => Err(e),
    }
}

/// Whether files can be created in this directory now.
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    if !std::fs::metadata(dir)?.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    access(dir, Access::WRITE_OK | Access::EXEC_OK)
}

fn access(path: &Path, mode: Access) -> std::io::Result<()> {
    rustix::fs::access(path, mode).map_err(std::io::Error::from)
}
