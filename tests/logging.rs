//! Child output capture and supervisord's own log, observed through files, the main log
//! (loglevel=debug unless a test says otherwise), the daemon's stdout and signals:
//! size rotation that loses no byte, backups=0, AUTO logs and their cleanup, NONE,
//! redirect_stderr, non-seekable targets (/dev/stdout, a FIFO), SIGUSR2 reopen,
//! strip_ansi, the main log's line format and its copy to stdout, and a log directory
//! that vanished between spawns.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

/// Generous: other test binaries share the two cores.
const LONG: Duration = Duration::from_secs(20);

/// The daemon's read chunk: a single write to a log may overshoot maxbytes by this much.
const READ_CHUNK: u64 = 128 * 1024;

/// Deterministic pseudo-random bytes (xorshift64*), every byte value included.
fn pseudo_random(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A `[supervisord]` section like the fixture's but with a chosen loglevel and without
/// nodaemon (the launcher passes `-n`).
fn section(dir: &Path, loglevel: &str, extra: &str) -> String {
    format!(
        "[supervisord]\nlogfile={d}/supervisord.log\npidfile={d}/supervisord.pid\nchildlogdir={d}\nloglevel={loglevel}\nidentifier=test\n{extra}\n",
        d = dir.display()
    )
}

/// Everything a reader yielded so far, collected on a thread; `done` once it hit EOF.
#[derive(Clone, Default)]
struct Captured {
    buf: Arc<Mutex<Vec<u8>>>,
    done: Arc<AtomicBool>,
}

impl Captured {
    fn bytes(&self) -> Vec<u8> {
        self.buf.lock().unwrap().clone()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn is_done(&self) -> bool {
        self.done.load(Ordering::SeqCst)
    }
}

fn collect(mut r: impl Read + Send + 'static) -> Captured {
    let c = Captured::default();
    let c2 = c.clone();
    std::thread::spawn(move || {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => c2.buf.lock().unwrap().extend_from_slice(&chunk[..n]),
            }
        }
        c2.done.store(true, Ordering::SeqCst);
    });
    c
}

/// A daemon started by hand, with its stdout and stderr captured.
struct Run {
    d: Daemon,
    out: Captured,
    err: Captured,
}

/// Writes `supervisord` + `body` (`{dir}` replaced) into `dir` and runs
/// `supervisor supervisord -n -c CONF` with stdout and stderr piped to us.
fn launch(dir: TempDir, supervisord: &str, body: &str) -> Run {
    let text = format!("{supervisord}\n{}", body.replace("{dir}", &dir.path().display().to_string()));
    let conf = dir.write("supervisord.conf", &text);
    let mut child = Command::new(bin())
        .arg("supervisord")
        .arg("-n")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start supervisord");
    let out = collect(child.stdout.take().expect("stdout pipe"));
    let err = collect(child.stderr.take().expect("stderr pipe"));
    let d = Daemon { dir, conf, child: Some(child) };
    assert!(
        d.wait_log("supervisord started with pid", LONG),
        "the daemon did not start; log:\n{}\nstderr:\n{}",
        d.log(),
        err.text()
    );
    Run { d, out, err }
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_default()
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The AUTO log files of `proc`'s `channel` in `dir`.
fn auto_logs(dir: &Path, proc_name: &str, channel: &str) -> Vec<PathBuf> {
    let prefix = format!("{proc_name}-{channel}---test-");
    names_in(dir).into_iter().filter(|n| n.starts_with(&prefix) && n.ends_with(".log")).map(|n| dir.join(n)).collect()
}

/// `YYYY-MM-DD HH:MM:SS,mmm LEVL ` with LEVL one of the reference's level names.
fn is_main_log_line(line: &str) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-dd dd:dd:dd,ddd ";
    let b = line.as_bytes();
    if b.len() < SHAPE.len() + 5 {
        return false;
    }
    let shape_ok = SHAPE.iter().zip(b).all(|(s, c)| match s {
        b'd' => c.is_ascii_digit(),
        s => s == c,
    });
    shape_ok && matches!(&line[24..28], "CRIT" | "ERRO" | "WARN" | "INFO" | "DEBG" | "TRAC" | "BLAT") && b[28] == b' '
}

// ---------------------------------------------------------------------------------------
// 1, 2: size rotation
// ---------------------------------------------------------------------------------------

#[test]
fn rotation_keeps_every_byte_in_order() {
    const MAX: u64 = 64 * 1024;
    let dir = TempDir::new("logrot");
    let data = pseudo_random(2_000_000, 0x9E37_79B9_7F4A_7C15);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    // loglevel=info: 2 MB of binary copied into the main log would only slow the test.
    let sd = section(dir.path(), "info", "");
    let r = launch(
        dir,
        &sd,
        "[program:spew]\ncommand=cat {dir}/data.bin\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/out.log\nstdout_logfile_maxbytes=64KB\nstdout_logfile_backups=100\n",
    );
    let d = &r.d;
    assert!(d.wait_log("exited: spew (exit status 0", LONG), "{}", d.log());

    let base = d.dir.join("out.log");
    let mut backups = Vec::new();
    for i in 1..=101 {
        let p = PathBuf::from(format!("{}.{i}", base.display()));
        if p.exists() {
            backups.push(p);
        } else {
            break;
        }
    }
    assert!(
        !PathBuf::from(format!("{}.{}", base.display(), backups.len() + 1)).exists(),
        "backups are not numbered contiguously from .1"
    );
    assert!(
        backups.len() as u64 >= data.len() as u64 / (MAX + READ_CHUNK),
        "only {} backups for {} bytes at maxbytes {MAX}: {:?}",
        backups.len(),
        data.len(),
        names_in(d.dir.path())
    );

    let mut all = Vec::with_capacity(data.len());
    let mut total = 0u64;
    for p in backups.iter().rev().chain(std::iter::once(&base)) {
        let bytes = read(p);
        let size = std::fs::metadata(p).unwrap().len();
        assert_eq!(size, bytes.len() as u64);
        total += size;
        assert!(
            size < MAX + READ_CHUNK,
            "{} holds {size} bytes, more than maxbytes {MAX} + one read chunk",
            p.display()
        );
        if p != &base {
            // A file is rotated only once a write made it reach maxbytes.
            assert!(size >= MAX, "backup {} rotated early at {size} bytes", p.display());
        }
        all.extend_from_slice(&bytes);
    }
    assert!((base.metadata().unwrap().len()) < MAX, "the live file reached maxbytes without being rotated");
    assert_eq!(total, data.len() as u64, "the sizes do not add up to what was written");
    if all != data {
        let at = all.iter().zip(&data).position(|(a, b)| a != b).unwrap_or(all.len().min(data.len()));
        panic!(
            "the rotated files differ from the data written: {} vs {} bytes, first difference at byte {at}",
            all.len(),
            data.len()
        );
    }
}

/// Output nothing in the daemon needs to see (a plain file, loglevel=info, no events,
/// no capture, no strip_ansi) moves pipe -> file by splice(2), which stops each file
/// at maxbytes exactly: every backup holds exactly maxbytes, and every byte is kept in
/// order. (The read/write path may overshoot by a read chunk; the test above.)
#[test]
fn spliced_output_rotates_at_exactly_maxbytes() {
    const MAX: usize = 64 * 1024;
    let dir = TempDir::new("logsplice");
    let data = pseudo_random(2_000_000, 0x2545_F491_4F6C_DD1D);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let sd = section(dir.path(), "info", "");
    let r = launch(
        dir,
        &sd,
        "[program:spew]\ncommand=cat {dir}/data.bin\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/out.log\nstdout_logfile_maxbytes=64KB\nstdout_logfile_backups=100\n",
    );
    let d = &r.d;
    assert!(d.wait_log("exited: spew (exit status 0", LONG), "{}", d.log());
    let base = d.dir.join("out.log");
    let backups = data.len() / MAX;
    for i in 1..=backups {
        let p = PathBuf::from(format!("{}.{i}", base.display()));
        assert_eq!(read(&p).len(), MAX, "{} is not exactly maxbytes", p.display());
    }
    assert!(!PathBuf::from(format!("{}.{}", base.display(), backups + 1)).exists(), "one backup too many");
    assert_eq!(read(&base).len(), data.len() % MAX, "the live file holds the rest");
    assert!(rotated_contents(&base) == data, "the rotated files differ from the data written");
}

/// The concatenation `p.N` ... `p.1`, `p` of a rotated log.
fn rotated_contents(p: &Path) -> Vec<u8> {
    let mut n = 0;
    while PathBuf::from(format!("{}.{}", p.display(), n + 1)).exists() {
        n += 1;
    }
    let mut all = Vec::new();
    for i in (1..=n).rev() {
        all.extend(read(&PathBuf::from(format!("{}.{i}", p.display()))));
    }
    all.extend(read(p));
    all
}

#[test]
fn many_small_writes_on_both_channels_lose_nothing() {
    const LINES: usize = 40_000;
    let dir = TempDir::new("logburst");
    // One write(2) per line on each channel, alternating: many small chunks at full speed.
    dir.write(
        "burst.py",
        &format!(
            "import os\nfor i in range({LINES}):\n    os.write(1, b'out %d\\n' % i)\n    os.write(2, b'err %d\\n' % i)\n"
        ),
    );
    // loglevel=debug: every chunk is also copied into the main log.
    let sd = section(dir.path(), "debug", "");
    let r = launch(
        dir,
        &sd,
        "[program:burst]\ncommand=python3 {dir}/burst.py\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/out.log\nstdout_logfile_maxbytes=32KB\nstdout_logfile_backups=100\n\
         stderr_logfile={dir}/err.log\nstderr_logfile_maxbytes=32KB\nstderr_logfile_backups=100\n",
    );
    let d = &r.d;
    assert!(d.wait_log("exited: burst (exit status 0", LONG), "{}", d.log());
    for (name, tag) in [("out.log", "out"), ("err.log", "err")] {
        let want: String = (0..LINES).map(|i| format!("{tag} {i}\n")).collect();
        let got = rotated_contents(&d.dir.join(name));
        assert!(
            got == want.as_bytes(),
            "{name}: {} bytes logged of {}; files: {:?}",
            got.len(),
            want.len(),
            names_in(d.dir.path())
        );
    }
    // Rotation did happen: at least total / (maxbytes + one read chunk) backups.
    let min_backups = (LINES * 9) as u64 / (32 * 1024 + READ_CHUNK);
    assert!(
        d.dir.join(&format!("out.log.{min_backups}")).exists(),
        "fewer than {min_backups} backups: {:?}",
        names_in(d.dir.path())
    );
}

#[test]
fn backups_zero_truncates_at_rotation() {
    const MAX: usize = 64 * 1024;
    let dir = TempDir::new("logtrunc");
    let data = pseudo_random(300_000, 0xD1B5_4A32_D192_ED03);
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let sd = section(dir.path(), "info", "");
    let r = launch(
        dir,
        &sd,
        "[program:spew]\ncommand=cat {dir}/data.bin\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/out.log\nstdout_logfile_maxbytes=64KB\nstdout_logfile_backups=0\n",
    );
    let d = &r.d;
    assert!(d.wait_log("exited: spew (exit status 0", LONG), "{}", d.log());
    let base = d.dir.join("out.log");
    assert!(base.exists(), "out.log is gone: {:?}", names_in(d.dir.path()));
    assert!(!d.dir.join("out.log.1").exists(), "backups=0 kept a backup: {:?}", names_in(d.dir.path()));
    let live = read(&base);
    assert!(live.len() < MAX, "out.log holds {} bytes: it was never truncated", live.len());
    assert!(
        data.ends_with(&live),
        "out.log ({} bytes) is not the tail of what was written since the last truncation",
        live.len()
    );
}

// ---------------------------------------------------------------------------------------
// 3: AUTO logs and their cleanup
// ---------------------------------------------------------------------------------------

const MKSTEMP_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_";

fn check_auto_name(p: &Path, proc_name: &str, channel: &str) {
    let name = p.file_name().unwrap().to_string_lossy().into_owned();
    let random = name
        .strip_prefix(&format!("{proc_name}-{channel}---test-"))
        .and_then(|r| r.strip_suffix(".log"))
        .unwrap_or_else(|| panic!("bad AUTO name {name}"));
    assert_eq!(random.len(), 8, "AUTO name {name}: the random part is not 8 characters");
    assert!(
        random.chars().all(|c| MKSTEMP_CHARS.contains(c)),
        "AUTO name {name}: the random part is not mkstemp's alphabet"
    );
}

#[test]
fn auto_logs_are_named_like_the_reference_and_hold_the_output() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::start(
        "logauto",
        "[program:talker]\ncommand=sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 60'\nstartsecs=0\n",
    );
    let dir = d.dir.path().to_path_buf();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let found = wait_until(LONG, || {
        out = auto_logs(&dir, "talker", "stdout");
        err = auto_logs(&dir, "talker", "stderr");
        out.len() == 1 && err.len() == 1 && read(&out[0]) == b"to-stdout\n" && read(&err[0]) == b"to-stderr\n"
    });
    assert!(found, "no AUTO logs with the output; files: {:?}\nlog:\n{}", names_in(&dir), d.log());
    check_auto_name(&out[0], "talker", "stdout");
    check_auto_name(&err[0], "talker", "stderr");
    for p in [&out[0], &err[0]] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} has mode {mode:o}, mkstemp gives 0600", p.display());
    }
}

/// Files put in childlogdir before the daemon starts: (name, deleted by the cleanup).
const PRESEEDED: &[(&str, bool)] = &[
    ("web-stdout---test-abcd1234.log", true),
    ("web-stderr---test-abcd1234.log.3", true),
    ("talker-stdout---test-zzzzzzzz.log", true),
    ("web-stdout---other-abcd1234.log", false),
    ("web-stdout---other-abcd1234.log.2", false),
    ("web-stdout---testing-abcd1234.log", false),
    ("notes.txt", false),
    ("web.log", false),
];

fn start_with_preseeded(tag: &str, extra: &str) -> Daemon {
    let dir = TempDir::new(tag);
    for (name, _) in PRESEEDED {
        dir.write(name, "old\n");
    }
    let text = format!(
        "{}\n[program:talker]\ncommand=sh -c 'echo fresh; exec sleep 60'\nstartsecs=0\n",
        supervisord_section(dir.path(), extra)
    );
    let conf = dir.write("supervisord.conf", &text);
    let child = Command::new(bin())
        .arg("supervisord")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisord");
    let d = Daemon { dir, conf, child: Some(child) };
    assert!(d.wait_log("supervisord started with pid", LONG), "{}", d.log());
    // By the time the child's output is in its new AUTO log, startup is long over.
    let dir = d.dir.path().to_path_buf();
    assert!(
        wait_until(LONG, || {
            let v = auto_logs(&dir, "talker", "stdout");
            v.iter().any(|p| read(p) == b"fresh\n")
        }),
        "no AUTO log with the child's output: {:?}\n{}",
        names_in(&dir),
        d.log()
    );
    d
}

#[test]
fn auto_log_cleanup_removes_only_this_identifiers_files() {
    let d = start_with_preseeded("logclean", "");
    let names = names_in(d.dir.path());
    for (name, deleted) in PRESEEDED {
        assert_eq!(
            !names.contains(&name.to_string()),
            *deleted,
            "{name} should have been {}; files now: {names:?}",
            if *deleted { "deleted" } else { "kept" }
        );
    }
    // The only talker AUTO logs left are the two made for this run.
    assert_eq!(auto_logs(d.dir.path(), "talker", "stdout").len(), 1, "{names:?}");
    assert_eq!(auto_logs(d.dir.path(), "talker", "stderr").len(), 1, "{names:?}");
}

#[test]
fn nocleanup_keeps_every_auto_log() {
    let d = start_with_preseeded("lognoclean", "nocleanup=true");
    let names = names_in(d.dir.path());
    for (name, _) in PRESEEDED {
        assert!(names.contains(&name.to_string()), "{name} was deleted despite nocleanup: {names:?}");
        assert_eq!(read(&d.dir.join(name)), b"old\n");
    }
    // The old talker file plus the new one.
    assert_eq!(auto_logs(d.dir.path(), "talker", "stdout").len(), 2, "{names:?}");
}

// ---------------------------------------------------------------------------------------
// 4, 5: NONE and redirect_stderr
// ---------------------------------------------------------------------------------------

#[test]
fn none_writes_no_file() {
    let d = Daemon::start(
        "lognone",
        "[program:quiet]\ncommand=sh -c 'echo none-out; echo off-err >&2'\nstartsecs=0\nautorestart=false\n\
         stdout_logfile=NONE\nstderr_logfile=off\n",
    );
    assert!(d.wait_log("exited: quiet", LONG), "{}", d.log());
    // The output was read (the debug copy proves it) but no file was made for it.
    let log = d.log();
    assert!(log.contains("DEBG 'quiet' stdout output:\nnone-out"), "{log}");
    assert!(log.contains("DEBG 'quiet' stderr output:\noff-err"), "{log}");
    let names = names_in(d.dir.path());
    for n in &names {
        assert!(
            ["supervisord.conf", "supervisord.log", "supervisord.pid"].contains(&n.as_str()),
            "unexpected file {n} with stdout_logfile=NONE: {names:?}"
        );
    }
}

#[test]
fn redirect_stderr_merges_into_the_stdout_log() {
    let d = Daemon::start(
        "logredir",
        "[program:mixed]\ncommand=sh -c 'echo one; echo two >&2; echo three; echo four >&2; exec sleep 60'\n\
         startsecs=0\nredirect_stderr=true\n",
    );
    let dir = d.dir.path().to_path_buf();
    let mut out = Vec::new();
    let ok = wait_until(LONG, || {
        out = auto_logs(&dir, "mixed", "stdout");
        out.len() == 1 && read(&out[0]).len() >= b"one\ntwo\nthree\nfour\n".len()
    });
    assert!(ok, "no stdout AUTO log with all lines: {:?}\n{}", names_in(&dir), d.log());
    assert_eq!(
        String::from_utf8_lossy(&read(&out[0])),
        "one\ntwo\nthree\nfour\n",
        "stderr lines are not in the stdout log, in order"
    );
    assert!(
        auto_logs(&dir, "mixed", "stderr").is_empty(),
        "a stderr AUTO log was made despite redirect_stderr: {:?}",
        names_in(&dir)
    );
    assert!(!d.log().contains("stderr output:"), "{}", d.log());
}

// ---------------------------------------------------------------------------------------
// 6: non-seekable targets
// ---------------------------------------------------------------------------------------

fn seq_text(n: u32) -> String {
    (1..=n).map(|i| format!("{i}\n")).collect()
}

#[test]
fn dev_stdout_and_dev_stderr_with_default_maxbytes() {
    let dir = TempDir::new("logdevout");
    // silent: the daemon's stdout then carries only the child's output.
    let sd = section(dir.path(), "info", "silent=true");
    let r = launch(
        dir,
        &sd,
        "[program:echoer]\ncommand=sh -c 'seq 1 20000; seq 1 3000 >&2'\nstartsecs=0\nautorestart=false\n\
         stdout_logfile=/dev/stdout\nstderr_logfile=/dev/stderr\n",
    );
    let want_out = seq_text(20000);
    let want_err = seq_text(3000);
    let ok = wait_until(LONG, || r.out.bytes().len() >= want_out.len());
    let got = r.out.bytes();
    assert!(ok, "the daemon's stdout got {} of {} bytes; log:\n{}", got.len(), want_out.len(), r.d.log());
    assert_eq!(String::from_utf8_lossy(&got), want_out, "child output on stdout differs");
    assert!(
        wait_until(LONG, || r.err.text().contains(&want_err)),
        "child stderr not on the daemon's stderr: {}",
        r.err.text()
    );
    assert!(r.d.wait_log("exited: echoer", LONG), "{}", r.d.log());
    let log = r.d.log();
    assert!(!log.contains("Illegal seek") && !log.contains("ESPIPE"), "{log}");
    assert!(!log.contains("ERRO"), "{log}");
}

/// `supervisord > file` (a regular file without O_APPEND, not silent) with a child on
/// /dev/stdout: the reference reopens /dev/stdout as a new open file description, so the
/// main log's copy through fd 1 overwrites the child's lines (spec §7.2, "observed"). The
/// issue asks that no byte of child output be lost; this test expects both to survive.
#[test]
fn dev_stdout_into_a_regular_file_keeps_child_lines() {
    let dir = TempDir::new("logdevfile");
    let text = format!(
        "{}\n[program:e]\ncommand=sh -c 'echo CHILD-LINE-1; echo CHILD-LINE-2'\nstartsecs=0\nautorestart=false\n\
         stdout_logfile=/dev/stdout\n",
        section(dir.path(), "info", "")
    );
    let conf = dir.write("supervisord.conf", &text);
    let out_path = dir.join("stdout.txt");
    // File::create: O_TRUNC without O_APPEND, as a shell's `>` does.
    let out = std::fs::File::create(&out_path).unwrap();
    let child = Command::new(bin())
        .arg("supervisord")
        .arg("-n")
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisord");
    let d = Daemon { dir, conf, child: Some(child) };
    // The child's output is drained (and written) before its exit is logged.
    assert!(wait_until(LONG, || String::from_utf8_lossy(&read(&out_path)).contains("exited: e ")), "{}", d.log());
    let text = String::from_utf8_lossy(&read(&out_path)).into_owned();
    assert!(
        text.contains("CHILD-LINE-1\nCHILD-LINE-2\n"),
        "the child's lines were lost from the daemon's stdout:\n{text}"
    );
    assert!(text.contains(" INFO supervisord started with pid "), "{text}");
}

#[test]
fn fifo_target_is_written_without_rotation() {
    let dir = TempDir::new("logfifo");
    let fifo = dir.join("pipe.log");
    let o = run(Command::new("mkfifo").arg(&fifo));
    assert!(o.status.success(), "mkfifo: {}", stderr(&o));
    // Opening a FIFO for reading blocks until a writer comes: on a thread.
    let f2 = fifo.clone();
    let got = Captured::default();
    let g = got.clone();
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::File::open(&f2) {
            let mut chunk = vec![0u8; 64 * 1024];
            while let Ok(n) = f.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                g.buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        }
    });
    let sd = section(dir.path(), "info", "");
    let r = launch(
        dir,
        &sd,
        "[program:piper]\ncommand=seq 1 20000\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/pipe.log\nstdout_logfile_maxbytes=1KB\nstdout_logfile_backups=3\n",
    );
    let want = seq_text(20000);
    let ok = wait_until(LONG, || got.bytes().len() >= want.len());
    let data = got.bytes();
    assert!(ok, "the FIFO got {} of {} bytes; log:\n{}", data.len(), want.len(), r.d.log());
    assert_eq!(String::from_utf8_lossy(&data), want, "output through the FIFO differs");
    assert!(r.d.wait_log("exited: piper", LONG), "{}", r.d.log());
    let names = names_in(r.d.dir.path());
    assert!(!names.iter().any(|n| n.starts_with("pipe.log.")), "a non-seekable target was rotated: {names:?}");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    assert!(!r.d.log().contains("ERRO"), "{}", r.d.log());
}

// ---------------------------------------------------------------------------------------
// 7: SIGUSR2
// ---------------------------------------------------------------------------------------

fn line_numbers(bytes: &[u8]) -> Vec<u32> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| {
            l.strip_prefix("line ").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("unexpected line {l:?}"))
        })
        .collect()
}

#[test]
fn sigusr2_reopens_child_logs_and_the_main_log() {
    let d = Daemon::start(
        "logusr2",
        "[program:ticker]\ncommand=sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo line $i; sleep 0.2; done'\n\
         startsecs=0\nstdout_logfile={dir}/x.log\n",
    );
    let x = d.dir.join("x.log");
    let old = d.dir.join("x.log.old");
    assert!(
        wait_until(LONG, || line_numbers(&read(&x)).len() >= 2),
        "x.log did not get two lines: {:?}\n{}",
        read(&x),
        d.log()
    );
    // What logrotate with `create` does: move the files away, then signal.
    std::fs::rename(&x, &old).unwrap();
    let main_old = d.dir.join("supervisord.log.old");
    std::fs::rename(d.log_path(), &main_old).unwrap();
    let n0 = line_numbers(&read(&old)).len();
    assert!(
        wait_until(LONG, || line_numbers(&read(&old)).len() > n0),
        "the daemon stopped writing to the moved file before any signal"
    );
    assert!(!x.exists(), "x.log was recreated without SIGUSR2");
    d.signal("USR2");
    assert!(
        wait_until(LONG, || line_numbers(&read(&x)).len() >= 3),
        "no fresh x.log after SIGUSR2; files: {:?}",
        names_in(d.dir.path())
    );
    let before = line_numbers(&read(&old));
    let after = line_numbers(&read(&x));
    let all: Vec<u32> = before.iter().chain(&after).copied().collect();
    let want: Vec<u32> = (1..=all.len() as u32).collect();
    assert_eq!(all, want, "lines lost or reordered across the reopen (old {before:?}, new {after:?})");

    let old_main = String::from_utf8_lossy(&read(&main_old)).into_owned();
    assert!(old_main.contains("INFO received SIGUSR2 indicating log reopen request"), "{old_main}");
    assert!(
        wait_until(LONG, || d.log().contains("DEBG 'ticker' stdout output:\nline ")),
        "the main log was not reopened at its path; files: {:?}",
        names_in(d.dir.path())
    );
}

// ---------------------------------------------------------------------------------------
// 8: strip_ansi
// ---------------------------------------------------------------------------------------

const COLORS_PROGRAM: &str = "[program:colors]\ncommand=printf '\\033[31mred\\033[0m plain\\n'\n\
                              startsecs=0\nautorestart=false\nstdout_logfile={dir}/a.log\n";

#[test]
fn strip_ansi_removes_escapes_from_child_logs() {
    let d = Daemon::start_with("logansi", "strip_ansi=true", COLORS_PROGRAM, &[]);
    let a = d.dir.join("a.log");
    assert!(wait_until(LONG, || !read(&a).is_empty() && d.log().contains("exited: colors")), "{}", d.log());
    assert_eq!(String::from_utf8_lossy(&read(&a)), "red plain\n");
    let log = d.log();
    assert!(log.contains("DEBG 'colors' stdout output:\nred plain\n"), "{log}");
    assert!(!log.contains('\x1b'), "an escape reached the main log: {log:?}");
}

#[test]
fn escapes_stay_without_strip_ansi() {
    let d = Daemon::start("lognoansi", COLORS_PROGRAM);
    let a = d.dir.join("a.log");
    assert!(wait_until(LONG, || !read(&a).is_empty() && d.log().contains("exited: colors")), "{}", d.log());
    assert_eq!(read(&a), b"\x1b[31mred\x1b[0m plain\n");
}

// ---------------------------------------------------------------------------------------
// 9: the main log
// ---------------------------------------------------------------------------------------

const CHATTY_PROGRAM: &str = "[program:chatty]\ncommand=sh -c 'echo childdata-1; echo childdata-2'\n\
                              startsecs=0\nautorestart=false\n";

#[test]
fn main_log_lines_have_the_reference_format_and_debug_copies_output() {
    let d = Daemon::start("logfmt", CHATTY_PROGRAM);
    assert!(d.wait_log("exited: chatty", LONG), "{}", d.log());
    let log = d.log();
    assert!(log.contains("DEBG 'chatty' stdout output:\nchilddata-1\n"), "no debug copy of the child's output: {log}");
    let mut formatted = 0;
    for line in log.lines() {
        if is_main_log_line(line) {
            formatted += 1;
        } else {
            // The only other lines are the copied child data, and the empty line the
            // reference leaves after data that ends in a newline.
            assert!(
                line.is_empty() || line.starts_with("childdata-"),
                "badly formatted main log line {line:?} in:\n{log}"
            );
        }
    }
    assert!(formatted >= 3, "{log}");
    assert!(log.contains(" INFO supervisord started with pid "), "{log}");
}

#[test]
fn info_level_does_not_copy_output_and_foreground_echoes_to_stdout() {
    let dir = TempDir::new("logfmtinfo");
    let sd = section(dir.path(), "info", "");
    let r = launch(dir, &sd, CHATTY_PROGRAM);
    assert!(r.d.wait_log("exited: chatty", LONG), "{}", r.d.log());
    let log = r.d.log();
    assert!(!log.contains("output:") && !log.contains("childdata"), "{log}");
    assert!(!log.contains(" DEBG "), "{log}");
    for line in log.lines() {
        assert!(is_main_log_line(line), "badly formatted main log line {line:?} in:\n{log}");
    }
    // -n, not silent: every line of the log also went to stdout, in the same format.
    assert!(
        wait_until(LONG, || r.out.text().contains("exited: chatty")),
        "the main log is not copied to stdout: {:?}",
        r.out.text()
    );
    let out = r.out.text();
    assert!(out.contains(" INFO supervisord started with pid "), "{out}");
    for line in out.lines() {
        assert!(is_main_log_line(line), "badly formatted stdout line {line:?} in:\n{out}");
    }
}

#[test]
fn silent_keeps_stdout_empty() {
    let dir = TempDir::new("logsilent");
    let sd = section(dir.path(), "debug", "silent=true");
    let mut r = launch(dir, &sd, CHATTY_PROGRAM);
    assert!(r.d.wait_log("exited: chatty", LONG), "{}", r.d.log());
    let log = r.d.log();
    assert!(log.contains("DEBG 'chatty' stdout output:\nchilddata-1\n"), "{log}");
    // Once the daemon is gone its stdout reaches EOF: nothing can still be on the way.
    assert_eq!(r.d.stop(), Some(0));
    assert!(wait_until(LONG, || r.out.is_done()), "stdout never reached EOF");
    let out = r.out.bytes();
    assert!(out.is_empty(), "silent=true, yet stdout got {:?}", String::from_utf8_lossy(&out));
}

// ---------------------------------------------------------------------------------------
// 10: a log directory that vanished
// ---------------------------------------------------------------------------------------

#[test]
fn vanished_log_directory_gives_spawnerr_backoff_then_fatal() {
    let dir = TempDir::new("loggone");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let sd = section(dir.path(), "debug", "");
    let r = launch(
        dir,
        &sd,
        "[program:x]\ncommand=sleep 2\nstartsecs=1\nautorestart=true\nstartretries=2\n\
         stdout_logfile={dir}/sub/x.log\n\
         [program:other]\ncommand=sleep 60\nstartsecs=0\nstdout_logfile={dir}/other.log\n",
    );
    let d = &r.d;
    // The log file is opened before the spawn is logged: x's first run has its file.
    assert!(d.wait_log("spawned: 'x' with pid", LONG), "{}", d.log());
    std::fs::remove_dir_all(d.dir.join("sub")).unwrap();
    assert!(d.wait_log("success: x entered RUNNING state", LONG), "{}", d.log());
    assert!(d.wait_log("gave up: x entered FATAL state, too many start retries too quickly", LONG), "{}", d.log());
    let log = d.log();
    // startretries=2: three failed attempts (backoff 1, 2, then 3 > 2 gives FATAL).
    // The reference's words, then which file and why.
    let spawnerr = format!(
        "INFO spawnerr: unknown error making dispatchers for 'x': ENOENT: cannot open stdout_logfile {}: \
         No such file or directory (os error 2)\n",
        d.dir.join("sub/x.log").display()
    );
    assert_eq!(log.matches(&spawnerr).count(), 3, "{log}");
    assert_eq!(log.matches("spawned: 'x' with pid").count(), 1, "{log}");
    assert!(!d.dir.join("sub").exists(), "the vanished directory was recreated");
    // The other program was never disturbed.
    assert_eq!(log.matches("spawned: 'other' with pid").count(), 1, "{log}");
    let other = d.spawned_pid("other").expect("other spawned");
    assert!(pid_alive(other), "other stopped running");
}
