//! Shared helpers for the integration tests: the binary under test, scratch
//! directories, waiting on conditions with deadlines, and the Python reference
//! (Supervisor 4.3.0 from PyPI) in a venv under target/ that the tests create themselves.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const REFERENCE_VERSION: &str = "4.3.0";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_supervisor"))
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn target_dir() -> PathBuf {
    // CARGO_BIN_EXE_* lives in target/<profile>/; the venv goes next to the profiles.
    bin().parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| repo_root().join("target"))
}

/// A fresh directory under target/test-tmp, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Short paths: unix socket paths are limited to 108 bytes.
        let dir = std::env::temp_dir().join(format!("sv-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `cond` until it holds or the deadline passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `child` to exit until the deadline; returns its exit code
/// (None for a signal death) or Err when it is still running.
pub fn wait_child(child: &mut Child, timeout: Duration) -> Result<Option<i32>, ()> {
    let mut code = Err(());
    wait_until(timeout, || match child.try_wait() {
        Ok(Some(status)) => {
            code = Ok(status.code());
            true
        }
        _ => false,
    });
    code
}

/// SIGTERM, then SIGKILL if `child` has not exited within `grace`; returns
/// the exit code when it exited on the SIGTERM.
pub fn terminate(mut child: Child, grace: Duration) -> Option<i32> {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    match wait_child(&mut child, grace) {
        Ok(code) => code,
        Err(()) => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Our binary started under a tool name, through a symlink in target/.
pub fn tool(name: &str) -> Command {
    let dir = target_dir().join("tool-links");
    let link = dir.join(name);
    static LINKS: OnceLock<()> = OnceLock::new();
    LINKS.get_or_init(|| {
        std::fs::create_dir_all(&dir).expect("create tool-links");
        for t in ["supervisord", "supervisorctl", "echo_supervisord_conf", "pidproxy"] {
            let l = dir.join(t);
            if std::fs::read_link(&l).is_ok_and(|target| target == bin()) {
                continue;
            }
            // Other test binaries may do the same at the same time: link under a
            // private name and rename into place, so the link never goes missing.
            let tmp = dir.join(format!(".{t}.{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(bin(), &tmp).expect("create tool link");
            std::fs::rename(&tmp, &l).expect("move tool link into place");
        }
    });
    Command::new(link)
}

/// The venv holding the Python reference, created on first use (pip from PyPI).
/// Creation is serialised across test processes with a file lock.
pub fn reference_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = target_dir().join("ref-venv");
        let ready = venv.join(format!(".supervisor-{REFERENCE_VERSION}-installed"));
        if ready.exists() {
            return venv;
        }
        std::fs::create_dir_all(target_dir()).expect("create target dir");
        let lock = std::fs::File::create(target_dir().join("ref-venv.lock")).expect("create lock");
        lock.lock().expect("lock ref-venv");
        if !ready.exists() {
            let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
            let o = run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
            assert!(o.status.success(), "python3 -m venv failed: {}", stderr(&o));
            let pip = venv.join("bin/pip");
            let o = run(Command::new(&pip).args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                &format!("supervisor=={REFERENCE_VERSION}"),
            ]));
            assert!(o.status.success(), "pip install supervisor=={REFERENCE_VERSION} failed: {}", stderr(&o));
            std::fs::write(&ready, "").expect("mark venv ready");
        }
        venv
    })
    .clone()
}

pub fn reference_python() -> PathBuf {
    reference_venv().join("bin/python")
}

/// A reference tool (supervisord, supervisorctl, ...) from the venv.
pub fn reference_tool(name: &str) -> Command {
    Command::new(reference_venv().join("bin").join(name))
}

/// A supervisord of ours running in the foreground on a generated config, in its own
/// temp dir. Dropping it sends SIGTERM, then SIGKILL if it lingers.
pub struct Daemon {
    pub dir: TempDir,
    pub conf: PathBuf,
    pub child: Option<std::process::Child>,
}

/// The `[supervisord]` section every test daemon uses; `extra` adds keys to it.
pub fn supervisord_section(dir: &Path, extra: &str) -> String {
    format!(
        "[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\nnodaemon=true\nloglevel=debug\nidentifier=test\n{extra}\n",
        d = dir.display()
    )
}

impl Daemon {
    /// Writes `body` (everything but [supervisord]) and starts the daemon on it.
    pub fn start(tag: &str, body: &str) -> Daemon {
        Daemon::start_with(tag, "", body, &[])
    }

    pub fn start_with(tag: &str, supervisord_extra: &str, body: &str, args: &[&str]) -> Daemon {
        let dir = TempDir::new(tag);
        let text = format!(
            "{}\n{}",
            supervisord_section(dir.path(), supervisord_extra),
            body.replace("{dir}", &dir.path().display().to_string())
        );
        let conf = dir.write("supervisord.conf", &text);
        let child = Command::new(bin())
            .arg("supervisord")
            .arg("-c")
            .arg(&conf)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start supervisord");
        let d = Daemon { dir, conf, child: Some(child) };
        assert!(
            d.wait_log("supervisord started with pid", Duration::from_secs(10)),
            "the daemon did not start; log:\n{}",
            d.log()
        );
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("supervisord.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Waits until the main log contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log().contains(needle))
    }

    /// Waits until `needle` occurs at least `n` times in the main log.
    pub fn wait_log_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.log().matches(needle).count() >= n)
    }

    pub fn signal(&self, sig: &str) {
        let o = run(Command::new("kill").arg(format!("-{sig}")).arg(self.pid().to_string()));
        assert!(o.status.success(), "kill -{sig} failed: {}", stderr(&o));
    }

    /// Sends SIGTERM and waits for the exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        terminate(self.child.take()?, Duration::from_secs(20))
    }

    /// Waits for the daemon to exit on its own; returns the exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let code = wait_child(self.child.as_mut()?, timeout).ok()?;
        self.child = None;
        code
    }

    /// The pid the main log says a process was spawned with, the latest spawn.
    pub fn spawned_pid(&self, name: &str) -> Option<u32> {
        let needle = format!("spawned: '{name}' with pid ");
        let log = self.log();
        let at = log.rfind(&needle)?;
        log[at + needle.len()..].split_whitespace().next()?.parse().ok()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a pid is alive and not a zombie.
pub fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(") ").next().and_then(|r| r.chars().next());
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Zombie children of a pid (from /proc).
pub fn zombie_children(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return out };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(rest) = stat.rsplit(") ").next() else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") && fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

// Config error messages, compared between the reference and ours (config_differential.rs,
// config_mutants.rs).

/// The reference's message without its "Error: " prefix and location suffix.
pub fn reference_message(stderr: &str) -> String {
    let body = stderr.strip_prefix("Error: ").unwrap_or(stderr);
    let body = body.split("\nFor help, use").next().unwrap_or(body);
    match body.find(" in section '") {
        Some(i) => body[..i].to_string(),
        None => body.to_string(),
    }
}

/// Ours, without the "file:line: [section] key: " location prefix.
pub fn our_message(stderr: &str) -> String {
    let body = stderr.strip_prefix("Error: ").unwrap_or(stderr);
    let body = body.split("\nFor help, use").next().unwrap_or(body);
    match body.find("] ") {
        Some(i) if body[..i].contains(": [") => {
            let rest = &body[i + 2..];
            // Skip "key: " when present.
            match rest.find(": ") {
                Some(j) if !rest[..j].contains(' ') => rest[j + 2..].to_string(),
                _ => rest.to_string(),
            }
        }
        _ => match body.find(": ") {
            Some(i) if body[..i].contains(".conf") => body[i + 2..].to_string(),
            _ => body.to_string(),
        },
    }
}

/// The fields of /proc/<pid>/stat after the command name (state is index 0, ppid 1).
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

pub fn ppid(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Every pid in this PID namespace's /proc.
pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// VmRSS of a process in kB.
pub fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}
