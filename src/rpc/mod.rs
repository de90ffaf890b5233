//! The control plane: HTTP on unix sockets and TCP, XML-RPC, log streaming.

pub mod api;
pub mod auth;
pub mod budget;
pub mod help;
pub mod http;
pub mod info;
pub mod server;
pub mod tail;
pub mod web;

// The codec moved to crate::wire; `rpc::xmlrpc` stays a name for it.
pub use crate::wire::xmlrpc;
