//! One read of the daemon for the web page, the JSON view and /metrics: each process's
//! state and numbers, with its resource usage sampled now.

use std::time::Instant;

use crate::daemon::procstat::{Sampler, Usage};
use crate::daemon::{ProcId, State, Supervisor};

pub struct Row {
    pub name: String,
    pub group: String,
    pub namespec: String,
    pub state: State,
    pub description: String,
    pub pid: u32,
    pub start: i64,
    pub stop: i64,
    pub exitstatus: i32,
    pub spawnerr: String,
    pub spawns: u64,
    pub usage: Option<Usage>,
}

impl Row {
    pub fn uptime(&self, now: i64) -> i64 {
        if self.state == State::Running {
            (now - self.start).max(0)
        } else {
            0
        }
    }
}

pub struct Snapshot {
    pub now: i64,
    pub rows: Vec<Row>,
    /// The daemon's own usage.
    pub daemon: Option<Usage>,
    /// Group names in the page's order (by name), with their member count.
    pub groups: Vec<(String, usize)>,
}

/// How much to read from /proc.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// CPU, memory and threads (what the page shows).
    Page,
    /// Open fds too (the JSON view, /metrics).
    Full,
}

fn row(sup: &Supervisor, id: ProcId, sampler: &mut Sampler, at: Instant, detail: Detail) -> Option<Row> {
    let m = sup.procs.get(&id)?;
    let p = &m.proc;
    let description = crate::rpc::info::description(p, crate::daemon::wall_now());
    let usage = if p.pid != 0 { sampler.sample(p.pid, at, detail == Detail::Full) } else { None };
    Some(Row {
        namespec: crate::rpc::api::namespec(&p.config.group, &p.config.name),
        name: p.config.name.clone(),
        group: p.config.group.clone(),
        state: p.state,
        description,
        pid: p.pid,
        start: p.start_wall,
        stop: p.stop_wall,
        exitstatus: p.exitstatus.unwrap_or(0),
        spawnerr: p.spawnerr.clone().unwrap_or_default(),
        spawns: p.spawns,
        usage,
    })
}

/// Reads every process (in getAllProcessInfo's order) and samples its usage.
pub fn snapshot(sup: &Supervisor, sampler: &mut Sampler, detail: Detail) -> Snapshot {
    let at = Instant::now();
    let mut rows = Vec::new();
    for id in crate::daemon::api::lexical_order(sup) {
        rows.extend(row(sup, id, sampler, at, detail));
    }
    let daemon = sampler.sample(0, at, true);
    let pids: Vec<u32> = rows.iter().map(|r| r.pid).filter(|p| *p != 0).collect();
    sampler.retain(&pids);
    let mut groups: Vec<(String, usize)> = Vec::new();
    for r in &rows {
        match groups.last_mut() {
            Some((g, n)) if *g == r.group => *n += 1,
            _ => groups.push((r.group.clone(), 1)),
        }
    }
    Snapshot { now: crate::daemon::wall_now(), rows, daemon, groups }
}
