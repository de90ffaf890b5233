//! `supervisord --check`: the effective groups and processes of a config, one line each,
//! in the order the daemon would start them. The differential tests compare this text
//! with what the reference's parser makes of the same file.

use std::fmt::Write;

use crate::config::{GroupKind, ServerConfig};

pub fn render(c: &ServerConfig) -> String {
    let mut out = format!("{}: valid\n", c.config_file.display());
    for g in &c.groups {
        let kind = match g.kind {
            GroupKind::Programs => "group",
            GroupKind::EventListenerPool(_) => "pool",
            GroupKind::FastCgi(_) => "fcgi-group",
        };
        let _ = writeln!(out, "{kind} {} priority={}", g.name, g.priority);
        for p in &g.processes {
            let _ = writeln!(
                out,
                "  process {} priority={} autostart={} command={}",
                p.name, p.priority, p.autostart, p.command
            );
        }
    }
    out
}
