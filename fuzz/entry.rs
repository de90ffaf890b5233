//! The fuzz entry points, one per target. Shared by the cargo-fuzz targets
//! (fuzz/fuzz_targets/*.rs, nightly + libFuzzer) and by the corpus replay test
//! (tests/fuzz_corpus.rs, stable), so that both exercise exactly the same code.
//!
//! Every function takes arbitrary bytes and must return normally; a panic (including a
//! failed assertion below) is a finding.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use supervisor::rpc::{auth, http};
use supervisor::wire::{base64, xmlrpc};

/// `http_request`: one request out of a connection's buffer, as the server reads it.
pub fn http_request(data: &[u8]) {
    let mut rest = data;
    // A buffer may hold pipelined requests; the server parses them one after the other.
    for _ in 0..4 {
        match http::parse(rest) {
            http::Parsed::Done(req, used) => {
                assert!(used > 0 && used <= rest.len(), "used {used} of {}", rest.len());
                let path = req.path();
                let query = req.query();
                assert!(req.target.starts_with(path));
                let _ = req.keep_alive();
                let _ = req.header("content-length");
                let _ = req.header("Content-Type");
                let _ = req.header("connection");
                let _ = http::unquote(path);
                let _ = http::unquote(query);
                let _ = auth::check_basic(req.header("authorization"), "user", "123");
                let _ = auth::check_basic(
                    req.header("authorization"),
                    "user",
                    "{SHA}40bd001563085fc35165329ea1ff5c5ecbdbbeef",
                );
                if let Some(b) = req.header("authorization").and_then(|v| v.strip_prefix("Basic ")) {
                    let _ = base64::base64_decode(b);
                }
                rest = &rest[used..];
            }
            http::Parsed::Partial => return,
            http::Parsed::Bad(status) => {
                assert!((400..600).contains(&status), "status {status}");
                let _ = http::reason(status);
                return;
            }
        }
    }
}

/// Whether `e` is the parser refusing depth (a value re-serialized can be one or two
/// elements deeper than it was read: a bare `<value>text</value>` is written back as
/// `<value><string>text</string></value>`).
fn too_deep(e: &str) -> bool {
    e.contains("nested too deeply")
}

/// Serialize, parse back, serialize again: the second parse must succeed and the two
/// serializations must agree (one round may normalise, e.g. `\r\n` to `\n` in text, as
/// any XML parser does; after that the value is a fixed point).
fn roundtrip(v: &xmlrpc::Value) {
    let once = xmlrpc::response(v);
    let back = match xmlrpc::parse_response(once.as_bytes()) {
        Ok(Ok(back)) => back,
        Ok(Err(f)) => panic!("our own response parsed as a fault {f:?}:\n{once}"),
        Err(e) if too_deep(&e) => return,
        Err(e) => panic!("our own response does not parse: {e}:\n{once}"),
    };
    let twice = xmlrpc::response(&back);
    let again = match xmlrpc::parse_response(twice.as_bytes()) {
        Ok(Ok(again)) => again,
        Err(e) if too_deep(&e) => return,
        other => panic!("second round trip failed: {other:?}:\n{twice}"),
    };
    assert_eq!(twice, xmlrpc::response(&again), "serialization is not a fixed point");
}

/// `xmlrpc_call`: a request body as the server reads it, and a response body as
/// supervisorctl reads it.
pub fn xmlrpc_call(data: &[u8]) {
    if let Ok((method, params)) = xmlrpc::parse_call(data) {
        for p in &params {
            roundtrip(p);
        }
        roundtrip(&xmlrpc::Value::Array(params.clone()));
        let call = xmlrpc::call(method.as_deref().unwrap_or("x"), &params);
        match xmlrpc::parse_call(call.as_bytes()) {
            Ok(_) => {}
            Err(e) if too_deep(&e) => {}
            Err(e) => panic!("our own call does not parse: {e}:\n{call}"),
        }
    }
    match xmlrpc::parse_response(data) {
        Ok(Ok(v)) => roundtrip(&v),
        Ok(Err(f)) => {
            let text = xmlrpc::fault(&f);
            match xmlrpc::parse_response(text.as_bytes()) {
                Ok(Err(back)) => assert_eq!(back.code, f.code),
                other => panic!("our own fault does not parse back: {other:?}:\n{text}"),
            }
        }
        Err(_) => {}
    }
}

/// A directory of our own for the config files, made once per process, with a few
/// files that `[include] files=` may pull in.
pub fn config_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("supervisor-fuzz-config-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf.d")).expect("temp dir");
        std::fs::write(
            dir.join("conf.d/one.conf"),
            "[program:included]\ncommand=/bin/sleep 100\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=2\n",
        )
        .expect("fixture");
        std::fs::write(dir.join("conf.d/two.conf"), "[group:g]\nprograms=included\npriority=5\n").expect("fixture");
        std::fs::write(dir.join("extra.ini"), "[supervisord]\nlogfile=%(here)s/log\nenvironment=A=\"1\",B=2\n")
            .expect("fixture");
        dir
    })
}

/// Whether loading the config at `path` stays inside our directory. `[include] files=`
/// may name any file on the machine, and reading some of them is not harmless (as root,
/// `/proc/kmsg` blocks and drains the kernel log, `/proc/kcore` is huge), so includes
/// are only followed when every pattern is relative (or under `%(here)s`) and cannot
/// climb out (`..`) or expand to something else (`%(ENV_X)s`).
fn includes_stay_inside(path: &Path, here: &str) -> bool {
    let mut ini = supervisor::config::ini::Ini::default();
    if ini.read_file(path).is_err() || !ini.has_section("include") {
        return true;
    }
    ini.replace_here(here);
    let Some(files) = ini.get("include", "files") else {
        return true;
    };
    let value = &files.value;
    if value.contains('%') || value.contains("..") {
        return false;
    }
    let inside = format!("{here}/");
    value.split_whitespace().all(|p| !p.starts_with('/') || p == here || p.starts_with(&inside))
}

/// Names for `%(name)s` expansion, as a program section sees them.
fn names() -> supervisor::config::expand::Names {
    let mut n = supervisor::config::expand::Names::new();
    n.set_str("here", "/etc/supervisor");
    n.set_str("program_name", "cat");
    n.set_str("group_name", "cats");
    n.set_str("host_node_name", "localhost");
    n.set_str("ENV_HOME", "/root");
    n.set_int("process_num", 7);
    n.set_int("numprocs", 10);
    n
}

/// `config`: a whole supervisord config file through the loader, and the text through
/// the two value parsers that see config values directly.
pub fn config(data: &[u8]) {
    let dir = config_dir();
    let path = dir.join("supervisord.conf");
    std::fs::write(&path, data).expect("writing the config");
    if includes_stay_inside(&path, &dir.to_string_lossy()) {
        match supervisor::config::load_server_config(&path) {
            Ok(cfg) => {
                let _ = format!("{cfg:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = supervisor::config::expand::expand(&text, &names(), "x");
    let _ = supervisor::config::environment::parse(&text);
}
