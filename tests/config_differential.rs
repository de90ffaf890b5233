//! Differential test: every config under tests/configs/ goes through our
//! `supervisord --check` and through the Python reference's own parser
//! (tests/support/ref_check.py, run in the venv the tests create). Both must accept or
//! reject the same files, accepted files must yield the same groups, processes and
//! commands, and a rejection must carry the reference's message text.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Files where we differ on purpose, and why.
const DELIBERATE: &[(&str, &str)] = &[
    (
        "ok_env_dollar.conf",
        "environment= takes an unquoted value whole (A=$HOME stays $HOME); the reference cuts it to '$'. We warn naming file:line.",
    ),
    (
        "ok_env_space_truncation.conf",
        "environment= takes an unquoted value whole (A=a b stays 'a b'); the reference silently keeps 'a'. We warn naming file:line.",
    ),
    (
        "ok_env_nonascii_truncation.conf",
        "environment= takes an unquoted value whole (A=café stays café); the reference cuts it to 'caf'. We warn naming file:line.",
    ),
    (
        "bad_rpcinterface_unresolvable.conf",
        "a third-party [rpcinterface:x] factory cannot be imported by either; the reference refuses to start, we start with a warning that its methods are missing (the supervisor namespace is always served).",
    ),
    (
        "bad_eventlistener_result_handler_supervisor_stdout.conf",
        "supervisor-stdout's result_handler is built in here (no Python code can be loaded); the reference's venv in this test does not have the plugin, so it cannot import it. With supervisor-stdout installed the reference accepts the file too.",
    ),
    (
        "ok_ini_inline_comment_truncation.conf",
        "--check splits every command as the spawn will: this one cannot be split (No closing quotation) and would fail at every start, so --check rejects it naming file:line; the daemon itself accepts the file as the reference does.",
    ),
];

/// Rejections whose message we word differently on purpose.
const OWN_MESSAGES: &[(&str, &str)] = &[
    (
        "bad_fcgi_bad_socket_format.conf",
        "the reference prints a Python tuple ('Bad socket format %s', '...'); we print the sentence it meant",
    ),
    (
        "bad_fcgi_relative_unix.conf",
        "the reference prints a Python tuple ('Unix socket path %s is not an absolute path', '...'); we print the sentence",
    ),
    (
        "bad_group_unknown_second_program.conf",
        "the reference names the previous member's section ([program:a]) instead of the group; we name [group:g]",
    ),
];

/// LC_CTYPE is pinned because Python, started under the C locale, adds LC_CTYPE=C.UTF-8
/// to its own environment (PEP 538), which a lone %s (the whole mapping) would show.
fn env_for(cmd: &mut Command) -> &mut Command {
    cmd.env("SUPERVISOR_TEST_VAR", "hello").env("HOME", "/root").env("LC_CTYPE", "C.UTF-8")
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ours(path: &Path) -> Outcome {
    let o = run(env_for(Command::new(bin()).arg("supervisord").arg("-c").arg(path).arg("--check")));
    Outcome { code: o.status.code().unwrap_or(-1), stdout: stdout(&o), stderr: stderr(&o) }
}

/// Runs the reference parser on many files in one Python process would be faster, but
/// one process per file keeps each run's state (environ expansions) separate, as in real
/// use.
fn reference(path: &Path) -> Outcome {
    let script = repo_root().join("tests/support/ref_check.py");
    let o = run(env_for(Command::new(reference_python()).arg(script).arg(path)));
    Outcome { code: o.status.code().unwrap_or(-1), stdout: stdout(&o), stderr: stderr(&o) }
}

fn corpus() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/configs exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_is_big_enough() {
    let files = corpus();
    let ok = files.iter().filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("ok_"))).count();
    let bad = files.iter().filter(|f| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with("bad_"))).count();
    assert!(files.len() >= 40, "only {} configs", files.len());
    assert!(ok >= 15 && bad >= 15, "ok={ok} bad={bad}");
}

#[test]
fn ours_and_the_reference_agree_on_every_config() {
    let deliberate: BTreeMap<&str, &str> = DELIBERATE.iter().copied().collect();
    let own_messages: BTreeMap<&str, &str> = OWN_MESSAGES.iter().copied().collect();
    let mut failures = Vec::new();
    for file in corpus() {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (o, r) = (ours(&file), reference(&file));
        assert!(r.code == 0 || r.code == 2, "{name}: reference crashed ({}): {}", r.code, r.stderr);
        assert!(o.code == 0 || o.code == 2, "{name}: ours crashed ({}): {}", o.code, o.stderr);
        let expected_ok = name.starts_with("ok_");
        if (r.code == 0) != expected_ok && !deliberate.contains_key(name.as_str()) {
            failures.push(format!("{name}: the reference exited {} though the name says otherwise", r.code));
        }
        if deliberate.contains_key(name.as_str()) {
            // The difference must still exist, or the entry is stale.
            let differs = o.code != r.code || o.stdout != r.stdout;
            if !differs {
                failures.push(format!("{name}: listed as a deliberate difference but both agree now"));
            }
            continue;
        }
        if o.code != r.code {
            failures.push(format!(
                "{name}: ours exited {} (stderr: {}), the reference {} (stderr: {})",
                o.code,
                o.stderr.trim(),
                r.code,
                r.stderr.trim()
            ));
            continue;
        }
        if o.code == 0 && o.stdout != r.stdout {
            failures.push(format!("{name}: different result\n--- ours\n{}--- reference\n{}", o.stdout, r.stdout));
        }
        if o.code == 2 && !own_messages.contains_key(name.as_str()) {
            let (om, rm) = (our_message(&o.stderr), reference_message(&r.stderr));
            if !rm.contains(om.trim()) && !om.contains(rm.trim()) {
                failures.push(format!("{name}: messages differ\n  ours:      {om}\n  reference: {rm}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn errors_name_file_line_section_and_key() {
    let dir = repo_root().join("tests/configs");
    let o = ours(&dir.join("bad_signal_name.conf"));
    assert_eq!(o.code, 2);
    let first = o.stderr.lines().next().unwrap_or("");
    let re_ok = first.starts_with("Error: ")
        && first.contains("bad_signal_name.conf:")
        && first.contains("[program:")
        && first.contains("stopsignal: ");
    assert!(re_ok, "unexpected message: {first}");
    assert!(o.stderr.contains("For help, use"), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "nothing may be printed as started: {}", o.stdout);
}
