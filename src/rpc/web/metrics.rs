//! `/metrics`: Prometheus text exposition format (0.0.4). Per process the names of
//! node_exporter's supervisord collector (node_supervisord_{up,state,exit_status,
//! start_time_seconds} with {name,group}, so its dashboards carry over), then ours
//! under supervisor_process_*; the daemon itself under the client libraries'
//! standard process_* names.

use std::fmt::Write;

use super::super::http::Request;
use super::view::{snapshot, Detail};
use super::WebState;
use crate::daemon::{State, Supervisor};

const STATES: [State; 8] = [
    State::Stopped,
    State::Starting,
    State::Running,
    State::Backoff,
    State::Stopping,
    State::Exited,
    State::Fatal,
    State::Unknown,
];

/// A label value with `\`, `"` and newlines escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
}

pub fn render(sup: &Supervisor, state: &mut WebState) -> String {
    let snap = snapshot(sup, &mut state.sampler, Detail::Full);
    let labels: Vec<String> =
        snap.rows.iter().map(|r| format!("name=\"{}\",group=\"{}\"", label(&r.name), label(&r.group))).collect();
    let mut out = String::with_capacity(1024 + snap.rows.len() * 1400);
    // One family at a time: (name, type, help, value per row or None to skip).
    type Value<'a> = Box<dyn Fn(&super::view::Row) -> Option<f64> + 'a>;
    let families: Vec<(&str, &str, &str, Value)> = vec![
        (
            "node_supervisord_up",
            "gauge",
            "Process is up (STARTING, RUNNING or STOPPING).",
            Box::new(|r| {
                Some(f64::from(u8::from(matches!(r.state, State::Starting | State::Running | State::Stopping))))
            }),
        ),
        (
            "node_supervisord_state",
            "gauge",
            "Process state code, as getProcessInfo's state.",
            Box::new(|r| Some(f64::from(r.state.code()))),
        ),
        (
            "node_supervisord_exit_status",
            "gauge",
            "Exit status of the process's last exit.",
            Box::new(|r| Some(f64::from(r.exitstatus))),
        ),
        (
            "node_supervisord_start_time_seconds",
            // node_exporter types it a counter; a timestamp is a gauge (as
            // process_start_time_seconds), and parsers then keep the name as is.
            "gauge",
            "Unix time the running process started at (only while RUNNING).",
            Box::new(|r| (r.state == State::Running).then_some(r.start as f64)),
        ),
        (
            "supervisor_process_uptime_seconds",
            "gauge",
            "Seconds the process has been RUNNING (0 otherwise).",
            Box::new(|r| Some(r.uptime(snap.now) as f64)),
        ),
        ("supervisor_process_pid", "gauge", "Process id (0 when not running).", Box::new(|r| Some(f64::from(r.pid)))),
        (
            "supervisor_process_restarts_total",
            "counter",
            "Spawns after the first since supervisord started.",
            Box::new(|r| Some(r.spawns.saturating_sub(1) as f64)),
        ),
        (
            "supervisor_process_cpu_seconds_total",
            "counter",
            "User and system CPU time of the running process.",
            Box::new(|r| r.usage.map(|u| u.cpu_seconds)),
        ),
        (
            "supervisor_process_resident_memory_bytes",
            "gauge",
            "Resident set size of the running process.",
            Box::new(|r| r.usage.map(|u| u.rss_bytes as f64)),
        ),
        (
            "supervisor_process_threads",
            "gauge",
            "Threads of the running process.",
            Box::new(|r| r.usage.map(|u| u.threads as f64)),
        ),
        (
            "supervisor_process_open_fds",
            "gauge",
            "Open file descriptors of the running process.",
            Box::new(|r| r.usage.and_then(|u| u.fds).map(|n| n as f64)),
        ),
    ];
    for (name, kind, help, value) in &families {
        head(&mut out, name, kind, help);
        for (r, l) in snap.rows.iter().zip(&labels) {
            if let Some(v) = value(r) {
                let _ = writeln!(out, "{name}{{{l}}} {v}");
            }
        }
    }
    head(&mut out, "supervisor_process_state", "gauge", "Process state as a state set: 1 for the current state.");
    for (r, l) in snap.rows.iter().zip(&labels) {
        for s in STATES {
            let _ = writeln!(out, "supervisor_process_state{{{l},state=\"{}\"}} {}", s.name(), u8::from(r.state == s));
        }
    }
    head(&mut out, "supervisord_up", "gauge", "supervisord answers (always 1 when this page is served).");
    out.push_str("supervisord_up 1\n");
    if let Some(u) = snap.daemon {
        let own: [(&str, &str, &str, Option<f64>); 5] = [
            ("process_cpu_seconds_total", "counter", "supervisord's user and system CPU time.", Some(u.cpu_seconds)),
            ("process_resident_memory_bytes", "gauge", "supervisord's resident set size.", Some(u.rss_bytes as f64)),
            ("process_open_fds", "gauge", "supervisord's open file descriptors.", u.fds.map(|n| n as f64)),
            ("process_threads", "gauge", "supervisord's threads.", Some(u.threads as f64)),
            ("process_start_time_seconds", "gauge", "Unix time supervisord started at.", Some(u.start_time.floor())),
        ];
        for (name, kind, help, v) in own {
            if let Some(v) = v {
                head(&mut out, name, kind, help);
                let _ = writeln!(out, "{name} {v}");
            }
        }
    }
    out
}

pub fn serve(sup: &Supervisor, state: &mut WebState, req: &Request) -> Vec<u8> {
    let body = render(sup, state);
    super::respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", body.as_bytes(), &[])
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
