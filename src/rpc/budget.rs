//! How many connections each HTTP server holds, and who makes room for a new one.
//!
//! Every listener has its own budget, so that peers on the network can never use up
//! what the local operator's unix socket needs. At the budget, the connection that has
//! been idle the longest (no request, or only part of one) is closed to admit the new
//! one; a unix socket admits its client even when nothing can be evicted (file
//! permissions already decided who may connect), a TCP server then refuses. Hitting
//! the budget is logged, at most once a minute per server.

use std::time::{Duration, Instant};

/// Connections a unix socket holds before it starts closing idle ones.
pub const UNIX_BUDGET: usize = 512;
/// Connections a TCP server holds; past it the oldest idle one goes, or the new one.
pub const TCP_BUDGET: usize = 256;
/// The least time between two "budget reached" lines of one server.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// One listener's account.
#[derive(Debug)]
pub struct Budget {
    pub limit: usize,
    /// Whether a new client is admitted even when no idle connection can go.
    pub always_admit: bool,
    /// Connections of this listener open now.
    pub open: usize,
    last_report: Option<Instant>,
    /// Evictions and refusals since the last report.
    unreported: (u64, u64),
}

/// What to do with a connection just accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    Yes,
    /// Admit it after closing this (idle) connection.
    Evict(u64),
    Refuse,
}

impl Budget {
    pub fn new(unix: bool) -> Budget {
        Budget {
            limit: if unix { UNIX_BUDGET } else { TCP_BUDGET },
            always_admit: unix,
            open: 0,
            last_report: None,
            unreported: (0, 0),
        }
    }

    /// Decides on a new connection; `oldest_idle` finds the eviction candidate only
    /// when one is needed.
    pub fn admit(&mut self, oldest_idle: impl FnOnce() -> Option<u64>) -> Admit {
        if self.open < self.limit {
            return Admit::Yes;
        }
        match oldest_idle() {
            Some(id) => {
                self.unreported.0 += 1;
                Admit::Evict(id)
            }
            None if self.always_admit => Admit::Yes,
            None => {
                self.unreported.1 += 1;
                Admit::Refuse
            }
        }
    }

    /// The line to log about the budget, when one is due.
    pub fn report(&mut self, server: &str, now: Instant) -> Option<String> {
        if self.unreported == (0, 0) || self.last_report.is_some_and(|t| now.duration_since(t) < REPORT_EVERY) {
            return None;
        }
        self.last_report = Some(now);
        let (evicted, refused) = std::mem::take(&mut self.unreported);
        Some(format!(
            "{server} reached its budget of {} connections: closed {evicted} idle connection(s), \
             refused {refused} new one(s) (reported at most once a minute)",
            self.limit
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_then_refuses_on_tcp_and_always_admits_on_unix() {
        let mut tcp = Budget::new(false);
        tcp.open = TCP_BUDGET - 1;
        assert_eq!(tcp.admit(|| panic!("no candidate needed under the budget")), Admit::Yes);
        tcp.open = TCP_BUDGET;
        assert_eq!(tcp.admit(|| Some(7)), Admit::Evict(7));
        assert_eq!(tcp.admit(|| None), Admit::Refuse);
        let mut unix = Budget::new(true);
        unix.open = UNIX_BUDGET;
        assert_eq!(unix.admit(|| None), Admit::Yes);
    }

    #[test]
    fn reports_at_most_once_a_minute_with_the_counts() {
        let mut b = Budget::new(false);
        let t = Instant::now();
        assert_eq!(b.report("x", t), None, "nothing to report yet");
        b.open = b.limit;
        b.admit(|| Some(1));
        b.admit(|| None);
        let line = b.report("[inet_http_server] 127.0.0.1:9001", t).expect("a report");
        assert!(line.contains("closed 1 idle") && line.contains("refused 1 new"), "{line}");
        b.admit(|| Some(2));
        assert_eq!(b.report("x", t + Duration::from_secs(10)), None);
        let line = b.report("x", t + Duration::from_secs(61)).expect("due again");
        assert!(line.contains("closed 1 idle") && line.contains("refused 0 new"), "{line}");
    }
}
