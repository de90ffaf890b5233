//! `depends_on` at run time: a start waits until every dependency is RUNNING (starting
//! the ones that are down), a waiting start is released when they are, and a stop
//! waits until the dependents that are being stopped are down. The config reader has
//! already refused unknown names and cycles.

use std::time::Instant;

use super::process::State;
use super::supervisor::{wall_now, ProcId, Supervisor};

impl Supervisor {
    /// The processes `id` depends on, resolved against the running groups.
    pub(crate) fn dependencies(&self, id: ProcId) -> Vec<Result<ProcId, String>> {
        let Some(m) = self.procs.get(&id) else { return Vec::new() };
        let specs = &m.proc.config.supervision.depends_on;
        if specs.is_empty() {
            return Vec::new();
        }
        let view = self.groups.iter().map(|g| (g.config.name.as_str(), g.config.processes.as_slice()));
        let mut out = Vec::new();
        for spec in specs {
            let Some(found) = crate::config::depends::resolve(view.clone(), spec) else {
                out.push(Err(spec.clone()));
                continue;
            };
            for (group, name) in found {
                let member = self.groups.iter().filter(|g| g.config.name == group).flat_map(|g| g.members.iter());
                match member.copied().find(|pid| self.procs.get(pid).is_some_and(|m| m.proc.config.name == name)) {
                    Some(pid) if pid != id => out.push(Ok(pid)),
                    Some(_) => {}
                    None => out.push(Err(format!("{group}:{name}"))),
                }
            }
        }
        out
    }

    /// The processes that depend on `id`.
    pub(crate) fn dependents(&self, id: ProcId) -> Vec<ProcId> {
        if !self.any_dependencies() {
            return Vec::new();
        }
        let mut out: Vec<ProcId> = self
            .procs
            .iter()
            .filter(|(_, m)| !m.proc.config.supervision.depends_on.is_empty())
            .map(|(pid, _)| *pid)
            .filter(|pid| self.dependencies(*pid).contains(&Ok(id)))
            .collect();
        crate::sort::sort(&mut out);
        out
    }

    pub(crate) fn any_dependencies(&self) -> bool {
        self.with_dependencies > 0
    }

    fn label(&self, id: ProcId) -> String {
        self.procs.get(&id).map(|m| m.proc.config.name.clone()).unwrap_or_default()
    }

    /// Before a spawn: true when it must wait for dependencies (then it is parked, and
    /// the dependencies that are down are started).
    pub(crate) fn gate_spawn(&mut self, id: ProcId) -> bool {
        let deps = self.dependencies(id);
        if deps.is_empty() {
            return false;
        }
        let mut to_start = Vec::new();
        for dep in deps.iter().flatten() {
            if let Some(m) = self.procs.get(dep) {
                if matches!(m.proc.state, State::Stopped | State::Exited | State::Fatal) {
                    to_start.push(*dep);
                }
            }
        }
        if self.unready_text(id).is_none() {
            return false;
        }
        if self.mood == super::supervisor::Mood::Running {
            for dep in to_start {
                let mut fx = Vec::new();
                if let Some(m) = self.procs.get_mut(&dep) {
                    m.proc.start(Instant::now(), wall_now(), &mut fx);
                }
                self.apply(dep, fx);
            }
        }
        // Starting a dependency may have made it RUNNING at once (startsecs=0).
        match self.unready_text(id) {
            Some((text, failed)) => {
                let mut fx = Vec::new();
                if let Some(m) = self.procs.get_mut(&id) {
                    m.proc.wait_for(text, failed, &mut fx);
                }
                self.apply(id, fx);
                true
            }
            None => false,
        }
    }

    /// What `id` still waits for ("a (STARTING), b (FATAL)"), and whether any of it
    /// has failed for good; None when every dependency is RUNNING.
    fn unready_text(&self, id: ProcId) -> Option<(String, bool)> {
        let mut parts = Vec::new();
        let mut failed = false;
        for dep in self.dependencies(id) {
            match dep {
                Ok(pid) => match self.procs.get(&pid).map(|m| m.proc.state) {
                    Some(State::Running) => {}
                    Some(s) => {
                        failed |= matches!(s, State::Fatal | State::Unknown);
                        parts.push(format!("{} ({})", self.label(pid), s.name()));
                    }
                    None => parts.push(format!("{} (gone)", self.label(pid))),
                },
                Err(spec) => {
                    // During an update the group may simply not be added yet.
                    let view = self.cfg.groups.iter().map(|g| (g.name.as_str(), g.processes.as_slice()));
                    if crate::config::depends::resolve(view, &spec).is_some() {
                        parts.push(format!("{spec} (not added yet)"));
                    } else {
                        failed = true;
                        parts.push(format!("{spec} (not configured)"));
                    }
                }
            }
        }
        (!parts.is_empty()).then(|| (parts.join(", "), failed))
    }

    /// After state changes: release the waiting starts whose dependencies are up, say
    /// what the others wait for now, and carry out stops that waited for dependents.
    pub(crate) fn settle_dependencies(&mut self) {
        if !self.any_dependencies() {
            return;
        }
        let waiting: Vec<ProcId> =
            self.procs.iter().filter(|(_, m)| m.proc.waiting.is_some()).map(|(id, _)| *id).collect();
        for id in waiting {
            let mut fx = Vec::new();
            let verdict = self.unready_text(id);
            if let Some(m) = self.procs.get_mut(&id) {
                match verdict {
                    None if self.mood == super::supervisor::Mood::Running => {
                        m.proc.resume(Instant::now(), wall_now(), &mut fx)
                    }
                    None => {}
                    Some((text, failed)) => m.proc.wait_for(text, failed, &mut fx),
                }
            }
            self.apply(id, fx);
        }
        let deferred: Vec<ProcId> = self.deferred_stops.iter().copied().collect();
        for id in deferred {
            if !self.procs.get(&id).is_some_and(|m| m.proc.state.is_running()) {
                self.deferred_stops.remove(&id);
                continue;
            }
            if !self.dependents_stopping(id) {
                self.deferred_stops.remove(&id);
                self.stop_now(id);
            }
        }
    }

    /// Whether a dependent of `id` is on its way down (stopping, or its stop deferred).
    fn dependents_stopping(&self, id: ProcId) -> bool {
        self.dependents(id).iter().any(|d| {
            self.deferred_stops.contains(d) || self.procs.get(d).is_some_and(|m| m.proc.state == State::Stopping)
        })
    }

    fn stop_now(&mut self, id: ProcId) {
        let mut fx = Vec::new();
        if let Some(m) = self.procs.get_mut(&id) {
            match m.proc.state {
                State::Backoff => m.proc.give_up(&mut fx),
                _ => {
                    let _ = m.proc.stop(&mut fx);
                }
            }
        }
        self.apply(id, fx);
    }

    /// Stops `id` once its dependents are down. With `cascade` (shutdown, reload) the
    /// dependents still up are stopped first; without it (stop, stop all) only those
    /// already being stopped are waited for.
    pub(crate) fn stop_ordered(&mut self, id: ProcId, cascade: bool) -> Result<(), String> {
        if self.deferred_stops.contains(&id) {
            return Ok(());
        }
        if cascade {
            for d in self.dependents(id) {
                let up = self.procs.get(&d).is_some_and(|m| m.proc.state.is_running());
                if up {
                    let _ = self.stop_ordered(d, true);
                }
            }
        }
        if self.dependents_stopping(id) {
            log::debug!("{}: stop deferred until its dependents have stopped", self.label(id));
            self.deferred_stops.insert(id);
            return Ok(());
        }
        let mut fx = Vec::new();
        let result = match self.procs.get_mut(&id) {
            Some(m) if m.proc.state == State::Backoff && cascade => {
                m.proc.give_up(&mut fx);
                Ok(())
            }
            Some(m) => m.proc.stop(&mut fx),
            None => Ok(()),
        };
        self.apply(id, fx);
        result
    }

    /// `ids` reordered so that every process comes after what it depends on
    /// (`dependencies_first`) or before it; otherwise the given order is kept.
    pub(crate) fn dependency_order(&self, ids: Vec<ProcId>, dependencies_first: bool) -> Vec<ProcId> {
        if !self.any_dependencies() {
            return ids;
        }
        let deps: Vec<Vec<ProcId>> = ids
            .iter()
            .map(|id| {
                if dependencies_first {
                    self.dependencies(*id).into_iter().flatten().collect()
                } else {
                    self.dependents(*id)
                }
            })
            .collect();
        let mut placed = vec![false; ids.len()];
        let mut out = Vec::with_capacity(ids.len());
        while out.len() < ids.len() {
            // The first (in the given order) whose prerequisites in the set are placed;
            // a cycle cannot happen (the config refuses them), but would not hang here.
            let next = (0..ids.len())
                .find(|&i| {
                    !placed[i] && deps[i].iter().all(|d| ids.iter().position(|x| x == d).is_none_or(|j| placed[j]))
                })
                .or_else(|| (0..ids.len()).find(|&i| !placed[i]));
            let Some(i) = next else { break };
            placed[i] = true;
            out.push(ids[i]);
        }
        out
    }
}
