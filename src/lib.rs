//! supervisor: a process control system compatible with Supervisor 4.x. The binary
//! (src/main.rs) dispatches to the tools; the library holds everything, so that fuzz
//! targets and benchmarks can reach the parsers.

pub mod cli;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod echo_conf;
pub mod pidproxy;
pub mod rpc;
pub mod sort;
pub mod sys;
pub mod wire;

/// The Supervisor release whose interfaces (config, XML-RPC, command lines) we implement.
pub const SUPERVISOR_VERSION: &str = "4.3.0";
pub const OUR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The client tools' diagnostics (supervisorctl, pidproxy): `log` records on stderr,
/// filtered by RUST_LOG (`RUST_LOG=debug supervisorctl status` shows the HTTP
/// exchange). Unset, only errors show, and the tools log none in normal use.
pub fn init_client_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).try_init();
}
