//! What supervisord does to itself before the loop: standard fds, the user switch,
//! rlimits, AUTO log cleanup, daemonizing, the pidfile, the subreaper flag.

use std::path::Path;

use crate::config::SupervisordConfig;

/// Opens /dev/null on any of fds 0-2 that is closed, so pipes never land there.
pub fn ensure_std_fds() {
    for fd in 0..3 {
        if !crate::sys::fd_is_open(fd) {
            if let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
                use std::os::fd::IntoRawFd;
                let _ = f.into_raw_fd();
            }
        }
    }
}

/// `[supervisord] user=`: switch to that user, or say why not. Returns the lines the
/// reference logs about it once logging is up (critical, info).
pub fn set_user(cfg: &SupervisordConfig) -> Result<(Option<String>, Option<String>), String> {
    let Some(user) = &cfg.user else {
        if crate::sys::getuid() == 0 {
            return Ok((
                Some(
                    "Supervisor is running as root.  Privileges were not dropped because no user is specified \
                     in the config file.  If you intend to run as root, you can set user=root in the config file \
                     to avoid this message."
                        .into(),
                ),
                None,
            ));
        }
        return Ok((None, None));
    };
    let uid = crate::config::values::name_to_uid(user)?;
    if uid == crate::sys::getuid() {
        return Ok((None, Some(format!("Set uid to user {uid} succeeded"))));
    }
    if crate::sys::getuid() != 0 {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let u = crate::sys::user_by_uid(uid).ok_or_else(|| format!("Can't find uid {uid}"))?;
    crate::sys::switch_user(uid, u.gid, &crate::sys::user_groups(&u.name, u.gid))?;
    Ok((None, Some(format!("Set uid to user {uid} succeeded"))))
}

/// Raises RLIMIT_NOFILE / RLIMIT_NPROC to minfds / minprocs; returns info lines.
pub fn set_rlimits(cfg: &SupervisordConfig) -> Result<Vec<String>, String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let mut infos = Vec::new();
    let limits = [
        (
            Resource::Nofile,
            cfg.minfds,
            "RLIMIT_NOFILE",
            "file descriptors required to run this process",
            "minfds",
            "open",
            "file descriptors",
        ),
        (
            Resource::Nproc,
            cfg.minprocs,
            "RLIMIT_NPROC",
            "available processes required to run this program",
            "minprocs",
            "open",
            "processes",
        ),
    ];
    for (res, min, name, what, key, verb, unit) in limits {
        let Ok(min) = u64::try_from(min) else {
            continue;
        };
        let cur = getrlimit(res);
        let soft_ok = cur.current.is_none_or(|s| s >= min);
        if soft_ok {
            continue;
        }
        let hard = match cur.maximum {
            Some(h) if h < min => Some(min),
            other => other,
        };
        match setrlimit(res, Rlimit { current: Some(min), maximum: hard }) {
            Ok(()) => infos.push(format!("Increased {name} limit to {min}")),
            Err(_) => {
                let hard_now = cur.maximum.map(|h| h.to_string()).unwrap_or_else(|| "unlimited".into());
                return Err(format!(
                    "The minimum number of {what} is {min} as per the \"{key}\" command-line argument or config \
                     file setting. The current environment will only allow you to {verb} {hard_now} {unit}.  \
                     Either raise the number of usable {unit} in your environment or lower the {key} setting in \
                     the config file to allow the process to start."
                ));
            }
        }
    }
    Ok(infos)
}

/// Deletes this identifier's AUTO logs from childlogdir (unless nocleanup).
pub fn clear_auto_logs(dir: &Path, identifier: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            warnings.push(format!("Could not clear childlog dir {}: {e}", dir.display()));
            return warnings;
        }
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if super::output::is_auto_log_of(name, identifier) && std::fs::remove_file(e.path()).is_err() {
            warnings.push(format!("Failed to clean up '{}'", e.path().display()));
        }
    }
    warnings
}

/// Forks into the background: new session, stdio on /dev/null, umask and directory.
pub fn daemonize(cfg: &SupervisordConfig) -> Result<Vec<String>, String> {
    crate::sys::fork_and_exit_parent().map_err(|e| format!("could not fork to daemonize: {e}"))?;
    let mut lines = vec!["daemonizing the supervisord process".to_string()];
    if let Some(dir) = &cfg.directory {
        match std::env::set_current_dir(dir) {
            Ok(()) => lines.push(format!("set current directory: '{}'", dir.display())),
            Err(e) => lines.push(format!("can't chdir into '{}': {e}", dir.display())),
        }
    }
    if let Ok(null) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
        let _ = rustix::stdio::dup2_stdout(&null);
        let _ = rustix::stdio::dup2_stderr(&null);
    }
    let _ = rustix::process::setsid();
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(cfg.umask as rustix::fs::RawMode));
    Ok(lines)
}

/// Becomes the reaper of orphaned descendants (PID 1 already is).
pub fn become_subreaper() {
    if std::process::id() != 1 {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
}

/// A live supervisord that the pidfile names (not this process), as the refusal to
/// start. A stale pidfile (no such process, or a pid reused by another program) is no
/// reason to refuse; it is overwritten later as usual.
pub fn another_daemon(pidfile: &Path) -> Option<String> {
    let text = std::fs::read_to_string(pidfile).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    if pid == std::process::id() || pid == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
    if matches!(state, Some('Z') | Some('X') | None) {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    if !String::from_utf8_lossy(&cmdline).contains("supervisor") {
        return None;
    }
    Some(format!(
        "Another supervisord is already running with pid {pid} (pidfile {}).  Shut it down first before \
         starting supervisord.",
        pidfile.display()
    ))
}

pub fn write_pidfile(path: &Path) -> Result<(), String> {
    std::fs::write(path, format!("{}\n", std::process::id()))
        .map_err(|e| format!("could not write pidfile {}: {e}", path.display()))
}
