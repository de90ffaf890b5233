//! Replays the fuzz corpora on stable: every file under fuzz/corpus/<target>/ and
//! fuzz/regressions/<target>/ goes through the same entry point as the cargo-fuzz
//! target (fuzz/entry.rs), and none may panic. Fuzzing itself needs nightly; see
//! fuzz/README.md.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/entry.rs"]
mod entry;

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else { continue };
        for e in dir.flatten() {
            if e.file_type().is_ok_and(|t| t.is_file()) {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

/// Runs every input, collecting the ones that panic so one failure does not hide the
/// others (each panic's message and location is printed by the panic hook, which the
/// test harness shows for a failing test).
fn replay(target: &str, min_inputs: usize, run: fn(&[u8])) -> Result<(), String> {
    let files = inputs(target);
    assert!(
        files.len() >= min_inputs,
        "fuzz/corpus/{target}/ has {} files; expected at least {min_inputs}",
        files.len()
    );
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        if let Err(p) = panic::catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {msg}", f.display()));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} of {} inputs panicked:\n{}", failed.len(), files.len(), failed.join("\n")))
    }
}

#[test]
fn http_request_corpus() {
    replay("http_request", 10, entry::http_request).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn xmlrpc_call_corpus() {
    replay("xmlrpc_call", 10, entry::xmlrpc_call).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn config_corpus() {
    let result = replay("config", 10, entry::config);
    let _ = std::fs::remove_dir_all(entry::config_dir());
    result.unwrap_or_else(|e| panic!("{e}"));
}
