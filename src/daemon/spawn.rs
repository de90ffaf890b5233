//! Starting one child: resolve the command, build its environment, make its pipes, and
//! fork/exec through sys::spawn_child. Failures before a child exists come back as the
//! reference's `spawnerr` texts; failures inside the child (exec, chdir, setuid) reach
//! its stderr log as `supervisor: couldn't ...` and an exit status of 127.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

use super::command;
use crate::config::ProcessConfig;
use crate::sys;

/// The parent's ends of a new child's pipes.
pub struct Spawned {
    pub pid: u32,
    /// None for fcgi programs, whose fd 0 is the group's socket.
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
}

pub struct SpawnContext<'a> {
    /// supervisord's environment at startup.
    pub base_env: &'a [(String, String)],
    /// SUPERVISOR_SERVER_URL when the program's serverurl is AUTO.
    pub serverurl: Option<&'a str>,
    /// The listening socket an fcgi program gets as fd 0 instead of a stdin pipe.
    pub fcgi_socket: Option<std::os::fd::RawFd>,
    /// NOTIFY_SOCKET and the like, set last.
    pub extra_env: Vec<(String, String)>,
    /// A notification fd: (parent's write end, number in the child).
    pub extra_fd: Option<(std::os::fd::RawFd, std::os::fd::RawFd)>,
}

fn set(env: &mut Vec<(String, String)>, k: &str, v: &str) {
    match env.iter_mut().find(|(ek, _)| ek == k) {
        Some(slot) => slot.1 = v.to_string(),
        None => env.push((k.to_string(), v.to_string())),
    }
}

/// The child's environment, in the reference's layering: supervisord's environment,
/// the SUPERVISOR_* variables, then `environment=` ([supervisord]'s under the program's).
/// With `user=`, HOME, USER and LOGNAME describe that user unless environment= sets them.
pub fn child_environment(cfg: &ProcessConfig, ctx: &SpawnContext) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = ctx.base_env.to_vec();
    set(&mut env, "SUPERVISOR_ENABLED", "1");
    // With no server known, an inherited value passes through, as in the reference.
    if let Some(url) = cfg.serverurl.as_deref().or(ctx.serverurl) {
        set(&mut env, "SUPERVISOR_SERVER_URL", url);
    }
    set(&mut env, "SUPERVISOR_PROCESS_NAME", &cfg.name);
    set(&mut env, "SUPERVISOR_GROUP_NAME", &cfg.group);
    if let Some(user) = cfg.uid.and_then(sys::user_by_uid) {
        set(&mut env, "HOME", &user.home);
        set(&mut env, "USER", &user.name);
        set(&mut env, "LOGNAME", &user.name);
    }
    for (k, v) in &cfg.environment {
        set(&mut env, k, v);
    }
    for (k, v) in &ctx.extra_env {
        set(&mut env, k, v);
    }
    env
}

fn cstring(s: &str) -> Result<CString, String> {
    CString::new(s).map_err(|_| format!("{} contains a NUL byte", crate::config::ini::py_repr(s)))
}

fn pipe(name: &str) -> Result<(OwnedFd, OwnedFd), String> {
    rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| {
        if e == rustix::io::Errno::MFILE || e == rustix::io::Errno::NFILE {
            format!("too many open files to spawn '{name}'")
        } else {
            format!("unknown error making dispatchers for '{name}': {}", sys::errno_name(e.raw_os_error()))
        }
    })
}

fn nonblocking(fd: &OwnedFd) {
    let _ = rustix::io::ioctl_fionbio(fd, true);
}

/// Checks the command the way startProcess does before it changes any state.
pub fn precheck(cfg: &ProcessConfig, ctx: &SpawnContext) -> Result<(String, Vec<String>), command::CommandError> {
    let env = child_environment(cfg, ctx);
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
    command::resolve(&cfg.command, path)
}

pub fn spawn(cfg: &ProcessConfig, ctx: &SpawnContext) -> Result<Spawned, String> {
    let env = child_environment(cfg, ctx);
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_str());
    let (filename, argv) = command::resolve(&cfg.command, path).map_err(|e| e.message().to_string())?;

    let user = match cfg.uid {
        Some(uid) if uid != sys::getuid() => {
            let u = sys::user_by_uid(uid).ok_or_else(|| format!("Can't find uid {uid}"))?;
            Some(sys::SwitchUser { uid, gid: u.gid, groups: sys::user_groups(&u.name, u.gid) })
        }
        _ => None,
    };
    let spec_env: Vec<CString> = env.iter().filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok()).collect();
    let stdin_pair = match ctx.fcgi_socket {
        Some(_) => None,
        None => Some(pipe(&cfg.name)?),
    };
    let (stdout_r, stdout_w) = pipe(&cfg.name)?;
    // A bigger pipe means fewer loop passes for a chatty child; the kernel only uses the
    // pages when they fill. Refusal (limits) just leaves the default.
    let _ = rustix::pipe::fcntl_setpipe_size(&stdout_r, 256 * 1024);
    let stderr_pair = if cfg.redirect_stderr { None } else { Some(pipe(&cfg.name)?) };
    let spec = sys::ChildSpec {
        filename: cstring(&filename)?,
        argv: argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?,
        env: spec_env,
        stdin: match (&stdin_pair, ctx.fcgi_socket) {
            (Some((r, _)), _) => r.as_raw_fd(),
            (None, Some(sock)) => sock,
            (None, None) => -1,
        },
        stdout: stdout_w.as_raw_fd(),
        stderr: stderr_pair.as_ref().map(|(_, w)| w.as_raw_fd()).unwrap_or(stdout_w.as_raw_fd()),
        directory: cfg.directory.as_deref().map(cstring).transpose()?,
        umask: cfg.umask,
        user,
        msg_setuid: format!("supervisor: couldn't setuid to {}: ", cfg.uid.unwrap_or(0)).into_bytes(),
        msg_chdir: format!("supervisor: couldn't chdir to {}: ", cfg.directory.as_deref().unwrap_or("")).into_bytes(),
        msg_exec: format!("supervisor: couldn't exec {}: ", argv.first().map(String::as_str).unwrap_or(""))
            .into_bytes(),
        extra_fd: ctx.extra_fd,
    };
    let pid = sys::spawn_child(&spec).map_err(|e| {
        let code = e.raw_os_error().unwrap_or(0);
        if code == libc::EAGAIN {
            format!("Too many processes in process table to spawn '{}'", cfg.name)
        } else {
            format!("unknown error during fork for '{}': {}", cfg.name, sys::errno_name(code))
        }
    })?;
    // The child ends close here, in the parent, when they go out of scope.
    drop(stdout_w);
    let stdin = stdin_pair.map(|(r, w)| {
        drop(r);
        nonblocking(&w);
        w
    });
    let stderr = stderr_pair.map(|(r, w)| {
        drop(w);
        r
    });
    nonblocking(&stdout_r);
    if let Some(e) = &stderr {
        nonblocking(e);
    }
    Ok(Spawned { pid, stdin, stdout: stdout_r, stderr })
}

/// Starts a probe command (`/bin/sh -c`) as the program would run: its user,
/// directory, umask and environment; stdin, stdout and stderr on /dev/null.
pub fn spawn_probe(cfg: &ProcessConfig, command: &str, ctx: &SpawnContext) -> Result<u32, String> {
    let env = child_environment(cfg, ctx);
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| format!("cannot open /dev/null: {e}"))?;
    let user = match cfg.uid {
        Some(uid) if uid != sys::getuid() => {
            let u = sys::user_by_uid(uid).ok_or_else(|| format!("Can't find uid {uid}"))?;
            Some(sys::SwitchUser { uid, gid: u.gid, groups: sys::user_groups(&u.name, u.gid) })
        }
        _ => None,
    };
    let fd = null.as_raw_fd();
    let spec = sys::ChildSpec {
        filename: cstring("/bin/sh")?,
        argv: vec![cstring("/bin/sh")?, cstring("-c")?, cstring(command)?],
        env: env.iter().filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok()).collect(),
        stdin: fd,
        stdout: fd,
        stderr: fd,
        directory: cfg.directory.as_deref().map(cstring).transpose()?,
        umask: cfg.umask,
        user,
        msg_setuid: Vec::new(),
        msg_chdir: Vec::new(),
        msg_exec: Vec::new(),
        extra_fd: None,
    };
    sys::spawn_child(&spec).map_err(|e| format!("cannot fork the probe: {e}"))
}
