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
pub mod sys;

/// The Supervisor release whose interfaces (config, XML-RPC, command lines) we implement.
pub const SUPERVISOR_VERSION: &str = "4.3.0";
pub const OUR_VERSION: &str = env!("CARGO_PKG_VERSION");
