//! supervisord: the daemon.

pub mod api;
mod check;
mod childio;
mod command;
mod console;
mod deps;
pub use console::MemoryTail;
mod events;
mod fcgi;
mod lifecycle;
mod listeners;
mod logfile;
pub(crate) mod mainlog;
pub(crate) use mainlog::{crit, log_at};
mod options;
mod output;
mod probe;
mod process;
pub mod procstat;
mod reactor;
mod readiness;
pub mod sdnotify;
mod shutdown;
mod spawn;
mod supervisor;
mod syslog;

use std::path::{Path, PathBuf};

use crate::config::{self, ServerConfig};
use mainlog::MainLog;
pub(crate) use process::{Process, State};
pub(crate) use reactor::{shrink_map, TimerId};
pub(crate) use supervisor::{wall_now, Group, Managed, Mood, ProcId, Source, Supervisor, Timer};

/// The reference's usage-error shape: two lines on stderr, exit 2.
fn usage_error(progname: &str, msg: &str) -> i32 {
    eprintln!("Error: {msg}");
    eprintln!("For help, use {progname} -h");
    2
}

pub fn main(progname: &str, args: &[String]) -> i32 {
    let args = match options::parse(args) {
        Ok(options::Parsed::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(options::Parsed::Run(a)) => a,
        Err(msg) => return usage_error(progname, &msg),
    };
    let path = match &args.configuration {
        Some(c) => std::path::PathBuf::from(c),
        None => match config::find_config_file(progname) {
            Ok(p) => {
                if crate::sys::getuid() == 0 {
                    eprintln!(
                        "Warning: supervisord is running as root and found its config file by searching \
                         default locations (the current directory among them); pass -c with an absolute \
                         path to be sure which file is used."
                    );
                }
                p
            }
            Err(msg) => return usage_error(progname, &msg),
        },
    };
    let mut cfg = match config::load_server_config(&path) {
        Ok(c) => c,
        Err(e) => return usage_error(progname, &e.to_string()),
    };
    if let Err(msg) = options::apply(&args, &mut cfg) {
        return usage_error(progname, &msg);
    }
    if args.check {
        let (errors, warnings) = check::problems(&cfg);
        for w in cfg.warnings.iter().chain(&warnings) {
            eprintln!("{} {w}", config::LogLevel::Warn.tag());
        }
        if !errors.is_empty() {
            for e in &errors {
                eprintln!("Error: {e}");
            }
            eprintln!("For help, use {progname} -h");
            return 2;
        }
        print!("{}", check::render(&cfg));
        return 0;
    }
    run(progname, &path, *args, cfg)
}

/// Loads the config and puts the command line over it (startup and every reload).
fn load(path: &Path, args: &options::Args) -> Result<ServerConfig, String> {
    let mut cfg = config::load_server_config(path).map_err(|e| e.to_string())?;
    options::apply(args, &mut cfg)?;
    Ok(cfg)
}

fn run(progname: &str, path: &Path, args: options::Args, cfg: ServerConfig) -> i32 {
    lifecycle::ensure_std_fds();
    // Before anything else opens descriptors: the lower the slots, the cheaper a spawn.
    crate::sys::reserve_spawn_fds();
    let (critical, user_info) = match lifecycle::set_user(&cfg.supervisord) {
        Ok(lines) => lines,
        Err(msg) => return usage_error(progname, &msg),
    };
    let rlimit_infos = match lifecycle::set_rlimits(&cfg.supervisord) {
        Ok(lines) => lines,
        Err(msg) => return usage_error(progname, &msg),
    };
    // Nothing on disk is touched (main log, AUTO log cleanup, child logs) until this
    // daemon knows it is the only one on this config: its sockets are free and the
    // pidfile names no live supervisord.
    let (listeners, notes) = match crate::rpc::server::open(&cfg.servers) {
        Ok(opened) => opened,
        Err(msg) => return usage_error(progname, &msg),
    };
    if let Some(msg) = lifecycle::another_daemon(&cfg.supervisord.pidfile) {
        crate::rpc::server::remove_socket_files(&listeners);
        return usage_error(progname, &msg);
    }
    let mut log = MainLog::buffering(cfg.supervisord.loglevel);
    if let Err(msg) = log.open(&cfg.supervisord) {
        crate::rpc::server::remove_socket_files(&listeners);
        return usage_error(progname, &msg);
    }
    if let Some(c) = critical {
        crit!("{c}");
    }
    for w in &cfg.warnings {
        log::warn!("{w}");
    }
    for i in cfg.infos.iter().chain(user_info.iter()).chain(rlimit_infos.iter()) {
        log::info!("{i}");
    }
    let sd = cfg.supervisord.clone();
    if !sd.nocleanup {
        for w in lifecycle::clear_auto_logs(&sd.childlogdir, &sd.identifier) {
            log::warn!("{w}");
        }
    }
    let reload_path: PathBuf = path.to_path_buf();
    let reload = Box::new(move || load(&reload_path, &args));
    let mut sup = match Supervisor::new(cfg, log, reload) {
        Ok(s) => s,
        Err(e) => {
            crate::rpc::server::remove_socket_files(&listeners);
            return usage_error(progname, &format!("cannot set up the event loop: {e}"));
        }
    };
    sup.add_configured_groups();
    sup.http.listeners = listeners;
    for (critical, note) in notes {
        log_at!(if critical { config::LogLevel::Critical } else { config::LogLevel::Info }, "{note}");
    }
    crate::rpc::server::register(&mut sup);
    if !sd.nodaemon {
        match lifecycle::daemonize(&sd) {
            Ok(lines) => lines.iter().for_each(|l| log::info!("{l}")),
            Err(msg) => {
                crit!("{msg}");
                return 1;
            }
        }
    }
    lifecycle::become_subreaper();
    let wrote_pidfile = match lifecycle::write_pidfile(&sd.pidfile) {
        Ok(()) => true,
        Err(msg) => {
            crit!("{msg}");
            false
        }
    };
    log::info!("supervisord started with pid {}", std::process::id());
    sup.notify(events::Kind::SupervisorRunning, Vec::new());
    sup.autostart();
    sup.sd_notify(sdnotify::Notifier::ready);
    crate::sys::release_free_memory();
    let code = match sup.run() {
        Ok(supervisor::Exit::Shutdown(code)) => code,
        Err(e) => {
            crit!("the event loop failed: {e}");
            1
        }
    };
    if wrote_pidfile {
        let _ = std::fs::remove_file(&sd.pidfile);
    }
    code
}
