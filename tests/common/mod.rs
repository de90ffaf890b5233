//! Shared helpers for the integration tests: the binary under test, scratch
//! directories, waiting on conditions with deadlines, and the Python reference
//! (Supervisor 4.3.0 from PyPI) in a venv under target/ that the tests create themselves.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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
    bin()
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"))
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

pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
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
        for t in [
            "supervisord",
            "supervisorctl",
            "echo_supervisord_conf",
            "pidproxy",
        ] {
            let l = dir.join(t);
            let _ = std::fs::remove_file(&l);
            // Another test binary may be creating the same links right now.
            if let Err(e) = std::os::unix::fs::symlink(bin(), &l) {
                assert!(l.exists(), "cannot link {}: {e}", l.display());
            }
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
            assert!(
                o.status.success(),
                "pip install supervisor=={REFERENCE_VERSION} failed: {}",
                stderr(&o)
            );
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
