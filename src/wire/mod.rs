//! The protocol both ends speak, below both: XML-RPC values and their codec, fault
//! codes, namespecs, base64, the uptime text. Imports nothing from rpc/, daemon/ or
//! ctl/; supervisorctl (ctl/) and the server (rpc/) depend on it.

pub mod base64;
pub mod faults;
pub mod json;
pub mod names;
pub mod xmlrpc;

/// `H:MM:SS`, or `N day(s), H:MM:SS` (Python's timedelta).
pub fn uptime(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        n => format!("{n} days, {hms}"),
    }
}
