//! How the daemon ends: `shutdown_on` triggers and the exit status they set, a second
//! exit signal that cuts a shutdown short, process groups outliving their leader, and
//! PID 1's last sweep of its namespace. The ordered stop of the groups stays in the
//! supervisor; this module adds what happens around and after it.

use std::time::Duration;

use super::supervisor::{Mood, Supervisor, Timer};
use crate::sys;

/// How long processes left in the PID namespace get between SIGTERM and SIGKILL.
const SWEEP_GRACE: Duration = Duration::from_secs(3);
/// How long the reaping of SIGKILLed processes is waited for before exiting anyway.
const SWEEP_KILL_WAIT: Duration = Duration::from_secs(2);

/// PID 1's sweep of its namespace after the programs are down.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Sweep {
    #[default]
    NotYet,
    Termed,
    Killed,
    Done,
}

#[derive(Debug, Default)]
pub struct Ending {
    /// Set by a `shutdown_on` trigger: the triggering process's status.
    code: Option<i32>,
    /// Set by an exit signal during a shutdown: exit at once with this status.
    forced: Option<i32>,
    /// Process groups whose leader is gone while members remain, until they go too or
    /// their SIGKILL timer fires.
    lingering: Vec<(u32, String)>,
    sweep: Sweep,
}

impl Supervisor {
    /// A `shutdown_on` trigger. The first cause of a shutdown decides the exit status: a
    /// shutdown someone asked for stays a status-0 shutdown.
    pub(super) fn shutdown_on(&mut self, code: i32, reason: &str) {
        if self.mood == Mood::Shutdown {
            log::debug!("ignored ({reason}): a shutdown is already in progress");
            return;
        }
        log::warn!("{reason}");
        self.ending.code = Some(code);
        // A reload in progress is abandoned: the daemon is going away.
        self.drop_pending_reload();
        self.begin_stop(Mood::Shutdown);
    }

    /// TERM/INT/QUIT while shutting down: SIGKILL to every process group still there,
    /// then the loop ends at once with 128+sig.
    pub(super) fn force_shutdown(&mut self, sig: i32) {
        let name = super::process::signame(sig);
        let alive: Vec<(String, u32)> =
            self.procs.values().filter(|m| m.proc.pid != 0).map(|m| (m.proc.config.name.clone(), m.proc.pid)).collect();
        let names: Vec<&str> = alive.iter().map(|(n, _)| n.as_str()).collect();
        let code = 128 + sig;
        let what =
            if names.is_empty() { String::new() } else { format!("killing {} with SIGKILL, ", names.join(", ")) };
        log::warn!("received {name} during shutdown: {what}exiting now with status {code}");
        for (_, pid) in alive {
            // A program that left its process group (setsid) is killed by pid.
            if sys::kill(pid, libc::SIGKILL, true).is_err() {
                let _ = sys::kill(pid, libc::SIGKILL, false);
            }
        }
        for (pgid, _) in std::mem::take(&mut self.ending.lingering) {
            let _ = sys::kill(pgid, libc::SIGKILL, true);
        }
        self.ending.forced = Some(code);
    }

    /// The status the loop ends with once a forced shutdown was asked for.
    pub(super) fn forced_exit(&self) -> Option<i32> {
        self.ending.forced
    }

    /// The status of a shutdown that ran its course.
    pub(super) fn exit_code(&self) -> i32 {
        self.ending.code.unwrap_or(0)
    }

    /// The main process of a group-signalled program is gone: stop what it left in its
    /// process group the way a stop would have, so a crashed wrapper leaves no worker.
    pub(super) fn stop_leftovers(&mut self, name: String, pgid: u32, signal: Option<i32>, kill_after: Duration) {
        match sys::kill(pgid, 0, true) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return,
            Err(e) => {
                log::warn!("cannot signal what {name} left in its process group {pgid}: {e}");
                return;
            }
        }
        let sent = match signal {
            Some(sig) => {
                let _ = sys::kill(pgid, sig, true);
                format!("sent {}, ", super::process::signame(sig))
            }
            None => String::new(),
        };
        log::info!(
            "{name} left processes in its process group {pgid}: {sent}SIGKILL in {} s if any remain",
            kill_after.as_secs()
        );
        if !self.ending.lingering.iter().any(|(p, _)| *p == pgid) {
            self.ending.lingering.push((pgid, name));
        }
        self.reactor.schedule_in(kill_after, Timer::Leftovers(pgid));
    }

    /// After reaping: forget the lingering groups that are empty now.
    pub(super) fn prune_lingering(&mut self) {
        self.ending.lingering.retain(|(pgid, _)| sys::kill(*pgid, 0, true).is_ok());
    }

    pub(super) fn on_leftovers_timer(&mut self, pgid: u32) {
        let Some(pos) = self.ending.lingering.iter().position(|(p, _)| *p == pgid) else { return };
        let (_, name) = self.ending.lingering.remove(pos);
        if sys::kill(pgid, libc::SIGKILL, true).is_ok() {
            log::warn!("killed what {name} left in its process group {pgid} with SIGKILL");
        }
    }

    /// Whether a shutdown whose programs are all down may end the loop now: lingering
    /// process groups first, then (as PID 1 only) the rest of the namespace.
    pub(super) fn shutdown_finished(&mut self) -> bool {
        if !self.ending.lingering.is_empty() {
            return false;
        }
        if std::process::id() != 1 {
            return true;
        }
        match self.ending.sweep {
            Sweep::NotYet => {
                if !sys::children_remain() {
                    self.ending.sweep = Sweep::Done;
                    return true;
                }
                log::info!("sending SIGTERM to every process left in the PID namespace");
                if let Err(e) = sys::kill_namespace(libc::SIGTERM) {
                    log::warn!("cannot signal the processes left in the PID namespace: {e}");
                }
                self.ending.sweep = Sweep::Termed;
                self.reactor.schedule_in(SWEEP_GRACE, Timer::Sweep);
                false
            }
            Sweep::Termed | Sweep::Killed => {
                if sys::children_remain() {
                    return false;
                }
                self.ending.sweep = Sweep::Done;
                true
            }
            Sweep::Done => true,
        }
    }

    pub(super) fn on_sweep_timer(&mut self) {
        match self.ending.sweep {
            Sweep::Termed if sys::children_remain() => {
                log::warn!(
                    "processes still left in the PID namespace after {} s: sending SIGKILL",
                    SWEEP_GRACE.as_secs()
                );
                let _ = sys::kill_namespace(libc::SIGKILL);
                self.ending.sweep = Sweep::Killed;
                self.reactor.schedule_in(SWEEP_KILL_WAIT, Timer::Sweep);
            }
            Sweep::Killed => {
                log::warn!("exiting with processes still unreaped in the PID namespace");
                self.ending.sweep = Sweep::Done;
            }
            _ => {}
        }
    }
}
