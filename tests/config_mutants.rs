//! A seeded config mutator: the accepted files of the differential corpus
//! (tests/configs/ok_*.conf) are damaged the ways real files get damaged (a line cut
//! short, a line gone, a bad integer, an unknown key, a NUL byte, bytes that are not
//! UTF-8), and every mutant goes through the Python reference's parser
//! (tests/support/ref_check_many.py) and our `supervisord --check`. Both must accept or
//! reject each mutant alike; accepted mutants must give the same groups, processes and
//! commands, rejected ones the same message (without the location prefix ours adds).
//! A disagreement is either fixed or listed in DELIBERATE with its reason.
//!
//! The seed is fixed so a failure replays; SUPERVISOR_MUTANT_SEED and SUPERVISOR_MUTANTS
//! (the count) explore further by hand.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const DEFAULT_SEED: u64 = 0x5eed_0c0f;
const DEFAULT_COUNT: usize = 300;

/// Seeds left out, and why.
const SKIPPED_SEEDS: &[(&str, &str)] = &[
    ("ok_ini_inline_comment_scan_order.conf", "its reading depends on the Python version (tests/configs/README.md)"),
    ("ok_env_dollar.conf", "a deliberate difference of the corpus (environment= values)"),
    ("ok_env_space_truncation.conf", "a deliberate difference of the corpus (environment= values)"),
    ("ok_env_nonascii_truncation.conf", "a deliberate difference of the corpus (environment= values)"),
];

/// Disagreements we keep on purpose: (name, test on the mutant's text and both
/// outcomes, reason). Checked in order; the first that holds explains a disagreement.
type Explains = fn(&[u8], &Outcome, &Outcome) -> bool;
const DELIBERATE: &[(&str, Explains, &str)] = &[
    (
        "integers past 64 bits",
        |text, o, r| has_digit_run(text, 20) && o.code == 0 && r.code == 0,
        "Python's ints have no bound; ours are clamped to 64 bits, so a priority or \
         numprocs_start past that shows (and sorts) as the clamped value (and a \
         numprocs_start at the clamp leaves no room for processes)",
    ),
    (
        "environment= values taken whole",
        |_, o, _| o.stderr.contains("Supervisor 4.3.0 would read"),
        "an unquoted environment= value is taken whole up to the next comma (the reference \
         keeps only its first shell word and drops the rest silently); we warn naming \
         file:line, as ok_env_dollar.conf and friends in the corpus",
    ),
    (
        "--check splits commands",
        |_, o, r| {
            r.code == 0
                && o.code == 2
                && ["can't parse command", "command is empty"].iter().any(|t| o.stderr.contains(t))
        },
        "--check also splits every command the way the spawn will and rejects one that would \
         fail at every start (an unclosed quote, nothing left); the daemon itself accepts such \
         a file as the reference does (as in config_differential.rs)",
    ),
    (
        "Python plugin factories",
        |_, o, r| {
            r.stderr.contains("cannot be resolved within [rpcinterface:")
                && (o.code == 2 || o.stderr.contains("is a Python plugin"))
        },
        "no Python code can be loaded: a [rpcinterface:x] factory other than the stock one is \
         accepted with a warning (the reference refuses one it cannot import, before it reads \
         the sections that come after, so a later error there is ours alone); as \
         bad_rpcinterface_unresolvable.conf in the corpus",
    ),
    (
        "fcgi socket messages as sentences",
        |_, o, r| {
            o.code == r.code
                && ["('Bad socket format %s', ", "('Unix socket path %s is not an absolute path', "]
                    .iter()
                    .any(|t| r.stderr.contains(t))
        },
        "the reference prints a Python tuple for these two socket= errors; we print the sentence it \
         meant (as OWN_MESSAGES in config_differential.rs)",
    ),
];

fn has_digit_run(text: &[u8], n: usize) -> bool {
    text.split(|b| !b.is_ascii_digit()).any(|run| run.len() >= n)
}

/// splitmix64: small, seedable, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Keys whose value is an integer (or a list or size of them).
const INT_KEYS: &[&str] = &[
    "priority",
    "startsecs",
    "startretries",
    "stopwaitsecs",
    "numprocs_start",
    "buffer_size",
    "logfile_backups",
    "stdout_logfile_backups",
    "stderr_logfile_backups",
    "logfile_maxbytes",
    "stdout_logfile_maxbytes",
    "stderr_logfile_maxbytes",
    "stdout_capture_maxbytes",
    "minfds",
    "minprocs",
    "exitcodes",
    "umask",
    "socket_backlog",
    "port",
];

/// What int() refuses or reads surprisingly. numprocs is left out: a huge value there
/// makes both implementations build that many processes.
const BAD_INTS: &[&str] = &[
    "",
    "1.5",
    "0x10",
    "-1",
    "0",
    "99999999999999999999",
    "-99999999999999999999",
    "1_000",
    "+5",
    "1e3",
    "--1",
    "_1",
    "1__0",
    "0o17",
    "007",
    "abc",
    "1 2",
    "10 ;x",
    "١٢",
    "-１_２",
    "٪",
];

const UNKNOWN_KEYS: &[&str] = &["frobnicate=1", "autorestrat=true", "startsec=5", "command2=/bin/false", "x ="];

const NOT_UTF8: &[&[u8]] = &[b"\xff", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xc3("];

#[derive(Debug, Clone, Copy)]
enum Op {
    TruncateLine,
    DeleteLine,
    BadInteger,
    UnknownKey,
    Nul,
    NotUtf8,
}

const OPS: &[Op] = &[Op::TruncateLine, Op::DeleteLine, Op::BadInteger, Op::UnknownKey, Op::Nul, Op::NotUtf8];

fn lines_of(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

/// Applies `op` to `text`; returns what was done, or None when it does not apply.
fn mutate(rng: &mut Rng, op: Op, text: &mut Vec<u8>) -> Option<String> {
    let mut lines = lines_of(text);
    if lines.is_empty() {
        return None;
    }
    let what = match op {
        Op::TruncateLine => {
            let i = rng.below(lines.len());
            let line = String::from_utf8(lines[i].clone()).ok()?;
            let body = line.trim_end_matches('\n');
            let cuts: Vec<usize> = body.char_indices().map(|(at, _)| at).collect();
            let at = *cuts.get(rng.below(cuts.len()))?;
            lines[i] = format!("{}\n", &body[..at]).into_bytes();
            format!("line {} cut to {at} bytes", i + 1)
        }
        Op::DeleteLine => {
            let i = rng.below(lines.len());
            lines.remove(i);
            format!("line {} deleted", i + 1)
        }
        Op::BadInteger => {
            let candidates: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    let line = String::from_utf8_lossy(&lines[i]);
                    line.split_once('=').is_some_and(|(k, _)| INT_KEYS.contains(&k.trim().to_lowercase().as_str()))
                })
                .collect();
            if candidates.is_empty() {
                return None;
            }
            let i = *rng.pick(&candidates);
            let line = String::from_utf8_lossy(&lines[i]).into_owned();
            let key = line.split_once('=').map(|(k, _)| k.to_string()).unwrap_or_default();
            let bad = rng.pick(BAD_INTS);
            lines[i] = format!("{key}={bad}\n").into_bytes();
            format!("line {}: {}={bad}", i + 1, key.trim())
        }
        Op::UnknownKey => {
            let headers: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].starts_with(b"[")).collect();
            if headers.is_empty() {
                return None;
            }
            let i = *rng.pick(&headers);
            let key = rng.pick(UNKNOWN_KEYS);
            lines.insert(i + 1, format!("{key}\n").into_bytes());
            format!("'{key}' added after line {}", i + 1)
        }
        Op::Nul | Op::NotUtf8 => {
            let bytes: &[u8] = match op {
                Op::Nul => b"\0",
                _ => NOT_UTF8[rng.below(NOT_UTF8.len())],
            };
            let i = rng.below(lines.len());
            let at = rng.below(lines[i].len());
            let mut line = lines[i].clone();
            line.splice(at..at, bytes.iter().copied());
            lines[i] = line;
            format!("{bytes:?} inserted in line {} at byte {at}", i + 1)
        }
    };
    *text = lines.concat();
    Some(what)
}

#[derive(Debug)]
struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

fn ours(path: &Path) -> Outcome {
    let child = Command::new(bin())
        .arg("supervisord")
        .arg("-c")
        .arg(path)
        .arg("--check")
        .env("SUPERVISOR_TEST_VAR", "hello")
        .env("HOME", "/root")
        .env("LC_CTYPE", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start supervisord --check");
    let o = child.wait_with_output().expect("run supervisord --check");
    let err = stderr(&o);
    Outcome { code: o.status.code().unwrap_or(-1), stdout: o.stdout, stderr: err }
}

/// The reference on every file in one Python process (a fork per file).
fn reference(paths: &[PathBuf]) -> Vec<Outcome> {
    let mut child = Command::new(reference_python())
        .arg(repo_root().join("tests/support/ref_check_many.py"))
        .args(paths)
        .env("SUPERVISOR_TEST_VAR", "hello")
        .env("HOME", "/root")
        .env("LC_CTYPE", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start ref_check_many.py");
    let mut raw = Vec::new();
    child.stdout.take().expect("piped stdout").read_to_end(&mut raw).expect("read the reference's results");
    let status = child.wait().expect("wait for ref_check_many.py");
    assert!(status.success(), "ref_check_many.py failed: {status:?}");
    let mut out = Vec::new();
    let mut rest: &[u8] = &raw;
    while !rest.is_empty() {
        let nl = rest.iter().position(|&b| b == b'\n').expect("a RESULT line");
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        let f: Vec<i64> = header.split_whitespace().skip(1).filter_map(|w| w.parse().ok()).collect();
        assert!(header.starts_with("RESULT ") && f.len() == 3, "bad result header {header:?}");
        let (o, e) = (f[1] as usize, f[2] as usize);
        let body = &rest[nl + 1..];
        out.push(Outcome {
            code: f[0] as i32,
            stdout: body[..o].to_vec(),
            stderr: String::from_utf8_lossy(&body[o..o + e]).into_owned(),
        });
        rest = &body[o + e..];
    }
    assert_eq!(out.len(), paths.len(), "one result per mutant");
    out
}

fn seeds() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/configs"))
        .expect("tests/configs exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.starts_with("ok_") && name.ends_with(".conf") && !SKIPPED_SEEDS.iter().any(|(s, _)| *s == name)
        })
        .collect();
    files.sort();
    files
}

/// Why two outcomes disagree, or None when they agree.
fn disagreement(o: &Outcome, r: &Outcome) -> Option<String> {
    if o.code != r.code {
        return Some(format!(
            "ours exited {} ({}), the reference {} ({})",
            o.code,
            o.stderr.trim(),
            r.code,
            r.stderr.trim()
        ));
    }
    if o.code == 0 && o.stdout != r.stdout {
        return Some(format!(
            "different result\n--- ours\n{}--- reference\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&r.stdout)
        ));
    }
    if o.code == 2 {
        let (om, rm) = (our_message(&o.stderr), reference_message(&r.stderr));
        if !rm.contains(om.trim()) && !om.contains(rm.trim()) {
            return Some(format!("messages differ\n  ours:      {om}\n  reference: {rm}"));
        }
    }
    None
}

#[test]
fn mutated_configs_get_the_same_verdict_from_both_parsers() {
    let seed = std::env::var("SUPERVISOR_MUTANT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let count = std::env::var("SUPERVISOR_MUTANTS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_COUNT);
    let seeds = seeds();
    assert!(seeds.len() >= 50, "only {} seed configs", seeds.len());
    let mut rng = Rng(seed);
    let dir = TempDir::new("mutants");
    let mut mutants = Vec::new();
    let mut done_ops = [0usize; 6];
    while mutants.len() < count {
        let from = rng.pick(&seeds).clone();
        let mut text = std::fs::read(&from).expect("read a seed");
        let mut what = Vec::new();
        // One or two mutations per file.
        for _ in 0..1 + rng.below(2) {
            let k = rng.below(OPS.len());
            if let Some(w) = mutate(&mut rng, OPS[k], &mut text) {
                done_ops[k] += 1;
                what.push(w);
            }
        }
        if what.is_empty() {
            continue;
        }
        let path = dir.join(&format!("m{:04}.conf", mutants.len()));
        std::fs::write(&path, &text).expect("write a mutant");
        let name = from.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        mutants.push((path, text, format!("{name}: {}", what.join("; "))));
    }
    assert!(done_ops.iter().all(|&n| n > 0), "every kind of mutation was made: {done_ops:?}");

    let paths: Vec<PathBuf> = mutants.iter().map(|(p, _, _)| p.clone()).collect();
    let refs = reference(&paths);
    let mut failures = Vec::new();
    let mut explained: Vec<&str> = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    for ((path, text, what), r) in mutants.iter().zip(&refs) {
        assert!(r.code == 0 || r.code == 2, "{what}: the reference crashed ({}): {}", r.code, r.stderr);
        let o = ours(path);
        assert!(o.code == 0 || o.code == 2, "{what}: ours crashed ({}): {}", o.code, o.stderr);
        if r.code == 0 {
            accepted += 1;
        } else {
            rejected += 1;
        }
        let Some(why) = disagreement(&o, r) else { continue };
        match DELIBERATE.iter().find(|(_, explains, _)| explains(text, &o, r)) {
            Some((name, _, _)) => explained.push(name),
            None => failures.push(format!(
                "{} ({what}): {why}\n{}",
                path.display(),
                String::from_utf8_lossy(text).lines().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
            )),
        }
    }
    // Both verdicts must be well represented, or the mutator tests little.
    assert!(accepted >= count / 10 && rejected >= count / 10, "accepted {accepted}, rejected {rejected}");
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} of {count} mutants disagree (kept on purpose: {explained:?}):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
