//! The static release build (packaging/build-static.sh): it links, it is static (no
//! program interpreter, no shared library needed: read from the ELF headers), it fits
//! the 2 MiB budget, and a daemon started from it runs a program and answers its ctl.
//! The build goes to its own target dir (target/static) and takes a minute or two.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

const SIZE_BUDGET: u64 = 2 * 1024 * 1024;

/// The static binary, built once for the tests of this file.
fn static_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_static).clone()
}

fn build_static() -> PathBuf {
    let script = repo_root().join("packaging/build-static.sh");
    let dir = target_dir().join("static");
    let mut cmd = Command::new("sh");
    cmd.arg(&script).arg("--target-dir").arg(&dir);
    // The cargo that runs these tests builds the static binary too.
    if let Some(cargo) = std::env::var_os("CARGO") {
        cmd.env("CARGO", cargo);
    }
    let o = run(&mut cmd);
    assert!(o.status.success(), "packaging/build-static.sh failed:\n{}", stderr(&o));
    let path = PathBuf::from(stdout(&o).trim());
    let path = if path.is_absolute() { path } else { repo_root().join(path) };
    assert!(path.is_file(), "build-static.sh named {} which is not a file", path.display());
    path
}

/// What the ELF headers say about dynamic linking.
#[derive(Debug, PartialEq)]
struct Linking {
    interpreter: bool,
    needed: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as u64)
}
fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a little-endian ELF64 file's program headers: PT_INTERP, and the DT_NEEDED
/// entries of PT_DYNAMIC (a static-pie has a dynamic segment, for its own
/// relocations, but needs no library).
fn elf_linking(b: &[u8]) -> Result<Linking, String> {
    const PT_DYNAMIC: u64 = 2;
    const PT_INTERP: u64 = 3;
    const DT_NULL: u64 = 0;
    const DT_NEEDED: u64 = 1;
    if b.get(..4) != Some(b"\x7fELF") {
        return Err("no ELF magic".into());
    }
    if b.get(4) != Some(&2) || b.get(5) != Some(&1) {
        return Err("not a little-endian ELF64 file".into());
    }
    let bad = || "truncated ELF header".to_string();
    let phoff = u64_at(b, 0x20).ok_or_else(bad)? as usize;
    let phentsize = u16_at(b, 0x36).ok_or_else(bad)? as usize;
    let phnum = u16_at(b, 0x38).ok_or_else(bad)? as usize;
    let mut out = Linking { interpreter: false, needed: 0 };
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let kind = u32_at(b, ph).ok_or_else(bad)?;
        if kind == PT_INTERP {
            out.interpreter = true;
        }
        if kind == PT_DYNAMIC {
            let off = u64_at(b, ph + 8).ok_or_else(bad)? as usize;
            let size = u64_at(b, ph + 32).ok_or_else(bad)? as usize;
            for entry in (off..off + size).step_by(16) {
                match u64_at(b, entry).ok_or_else(bad)? {
                    DT_NULL => break,
                    DT_NEEDED => out.needed += 1,
                    _ => {}
                }
            }
        }
    }
    Ok(out)
}

fn linking_of(path: &Path) -> Linking {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    elf_linking(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn static_release_binary_fits_the_size_budget() {
    let exe = static_binary();
    let size = std::fs::metadata(&exe).expect("stat the static binary").len();
    eprintln!("static binary: {} ({size} bytes)", exe.display());
    assert!(size <= SIZE_BUDGET, "the static binary is {size} bytes, over the budget of {SIZE_BUDGET}");
}

#[test]
fn static_release_binary_is_static_and_runs_a_daemon() {
    // The checker itself tells a dynamic binary apart: the test build links libc
    // dynamically.
    let dynamic = linking_of(&bin());
    assert!(dynamic.interpreter && dynamic.needed > 0, "the debug build should be dynamic: {dynamic:?}");

    let exe = static_binary();
    assert_eq!(linking_of(&exe), Linking { interpreter: false, needed: 0 }, "{} is not static", exe.display());

    let dir = TempDir::new("static");
    let sock = dir.join("s.sock");
    let conf = dir.write(
        "supervisord.conf",
        &format!(
            "{}\n[unix_http_server]\nfile={sock}\n\n[supervisorctl]\nserverurl=unix://{sock}\n\n\
             [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
             [program:hello]\ncommand=/bin/sh -c 'echo static says hello; exec sleep 1000'\nstartsecs=0\n\
             stdout_logfile={d}/hello.log\n",
            supervisord_section(dir.path(), ""),
            sock = sock.display(),
            d = dir.path().display(),
        ),
    );
    let daemon = Command::new(&exe)
        .args(["supervisord", "-c"])
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the static supervisord");
    let log = dir.join("supervisord.log");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let ran = wait_until(Duration::from_secs(20), || {
        read(&log).contains("success: hello entered RUNNING state")
            && read(&dir.join("hello.log")).contains("static says hello")
    });
    let status = run(Command::new(&exe).args(["ctl", "-c"]).arg(&conf).arg("status"));
    let code = terminate(daemon, Duration::from_secs(20));
    assert!(ran, "the static daemon did not run the program; log:\n{}", read(&log));
    let out = stdout(&status);
    assert!(out.starts_with("hello") && out.contains("RUNNING"), "static ctl status: {out}{}", stderr(&status));
    assert_eq!(code, Some(0), "the static daemon's exit on SIGTERM; log:\n{}", read(&log));
}
