//! pidproxy: run a command and relay signals to the process its pidfile names.
//!
//! Meant for daemons that fork (mysqld_safe and the like): supervisord runs pidproxy,
//! pidproxy runs the command, and the signals supervisord sends go to the pid written in
//! the pidfile. Unlike Supervisor 4.3.0's pidproxy, this one keeps running after relaying
//! TERM, INT or QUIT, notices the child's exit at once (SIGCHLD rather than a 5-second
//! sleep) and exits with the child's status.

use std::os::unix::process::CommandExt;
use std::path::{Component, PathBuf};
use std::process::Command;

use crate::sys;

/// The signals passed on to the pidfile's pid.
const RELAYED: [i32; 6] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGUSR1, libc::SIGUSR2, libc::SIGQUIT];

pub fn main(progname: &str, args: &[String]) -> i32 {
    crate::init_client_logging();
    match args {
        [flag] if flag == "--version" => {
            println!("{}", crate::SUPERVISOR_VERSION);
            0
        }
        [flag] if flag == "--help" || flag == "-h" => {
            print!("{}", usage(progname));
            0
        }
        [pidfile, command @ ..] if !command.is_empty() => run(pidfile, command),
        _ => {
            // On stdout, as the reference prints it.
            print!("{}", usage(progname));
            1
        }
    }
}

fn usage(progname: &str) -> String {
    format!(
        "pidproxy -- run a command and pass signals on to the pid in its pidfile.

Usage: {progname} PIDFILE COMMAND [ARGS...]

COMMAND is made absolute against the current directory (PATH is not searched)
and started as a child. The signals TERM, HUP, INT, USR1, USR2 and QUIT sent to
pidproxy are sent on to the process whose pid PIDFILE holds. pidproxy exits when
COMMAND exits, with its exit status (128+N if signal N killed it).
"
    )
}

/// Starts `argv` and relays signals until it exits; returns the exit status to use.
fn run(pidfile: &str, argv: &[String]) -> i32 {
    let program = match absolute(&argv[0]) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("pidproxy: cannot determine the current directory: {e}");
            return 1;
        }
    };
    // Before the spawn, so that even a child that exits at once is noticed.
    let mut watched = RELAYED.to_vec();
    watched.push(libc::SIGCHLD);
    // Blocking, so that read() below sleeps until a signal arrives.
    let signals = sys::install_signal_pipe(&watched).and_then(|fd| {
        rustix::io::ioctl_fionbio(&fd, false)?;
        Ok(fd)
    });
    let signals = match signals {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("pidproxy: cannot set up signal handling: {e}");
            return 1;
        }
    };
    let child = match Command::new(&program).arg0(&argv[0]).args(&argv[1..]).spawn() {
        Ok(child) => {
            log::debug!("started {} as pid {}", program.display(), child.id());
            child.id()
        }
        Err(e) => {
            eprintln!("pidproxy: cannot run {}: {e}", program.display());
            return if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
        }
    };

    let mut buf = [0u8; 64];
    loop {
        let n = match rustix::io::read(&signals, &mut buf) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                eprintln!("pidproxy: cannot read the signal pipe: {e}");
                return 1;
            }
        };
        for sig in buf[..n].iter().map(|&b| i32::from(b)) {
            log::trace!("signal {sig} received");
            if sig != libc::SIGCHLD {
                relay(pidfile, sig);
            }
        }
        // Reap whatever has exited; only our own child ends the proxy.
        while let Some((pid, status)) = sys::reap_one() {
            log::debug!("reaped pid {pid}, wait status {status:#x}");
            if pid == child {
                return match sys::decode_wait_status(status) {
                    Ok(code) => code,
                    Err((sig, _core)) => 128 + sig,
                };
            }
        }
    }
}

/// Sends `sig` to the pid in `pidfile`; a failure is reported and otherwise ignored.
fn relay(pidfile: &str, sig: i32) {
    let pid =
        std::fs::read_to_string(pidfile).ok().and_then(|text| text.trim().parse::<u32>().ok()).filter(|&pid| pid > 0);
    let Some(pid) = pid else {
        // The reference's message, on stdout like the reference.
        println!("Can't read child pidfile {pidfile}!");
        return;
    };
    if pid == std::process::id() {
        // Relaying to ourselves would loop forever.
        println!("Not relaying signal {sig}: {pidfile} holds pidproxy's own pid {pid}");
        return;
    }
    log::debug!("relaying signal {sig} to pid {pid} from {pidfile}");
    if let Err(e) = sys::kill(pid, sig, false) {
        println!("Can't send signal {sig} to pid {pid} from {pidfile}: {e}");
    }
}

/// Python's `os.path.abspath`: joined to the current directory, then `.` and `..`
/// resolved textually (without looking at symlinks).
fn absolute(command: &str) -> std::io::Result<PathBuf> {
    let joined = if command.starts_with('/') { PathBuf::from(command) } else { std::env::current_dir()?.join(command) };
    let mut out = PathBuf::from("/");
    for part in joined.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::absolute;

    #[test]
    fn absolute_resolves_dots_textually() {
        assert_eq!(absolute("/a/./b/../c").unwrap().to_str(), Some("/a/c"));
        assert_eq!(absolute("/../../x").unwrap().to_str(), Some("/x"));
        assert_eq!(absolute("/a//b/").unwrap().to_str(), Some("/a/b"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute("bin/x").unwrap(), cwd.join("bin/x"));
    }
}
