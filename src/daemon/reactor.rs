//! The one poll loop's machinery: every fd in one level-triggered `polling::Poller`,
//! timers in a min-heap. The wait timeout is the nearest timer, or none at all: with
//! nothing to do the daemon sleeps until an fd or a signal wakes it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

use polling::{Event, Events, Poller};

pub struct Reactor<S, T> {
    poller: Poller,
    events: Events,
    sources: HashMap<usize, (RawFd, S)>,
    next_key: usize,
    timers: BinaryHeap<Reverse<(Instant, u64, TimerSlot<T>)>>,
    seq: u64,
}

/// Wraps the payload so the heap orders only by (deadline, sequence).
pub struct TimerSlot<T>(pub T);

impl<T> PartialEq for TimerSlot<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl<T> Eq for TimerSlot<T> {}
impl<T> PartialOrd for TimerSlot<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for TimerSlot<T> {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl<S, T> Reactor<S, T> {
    pub fn new() -> io::Result<Self> {
        Ok(Reactor {
            poller: Poller::new()?,
            events: Events::new(),
            sources: HashMap::new(),
            next_key: 1,
            timers: BinaryHeap::new(),
            seq: 0,
        })
    }

    /// Watches `fd` for readability (and writability if asked); returns its key. The
    /// caller must `remove` it before closing the fd.
    pub fn add(&mut self, fd: &impl AsRawFd, source: S, writable: bool) -> io::Result<usize> {
        let key = self.next_key;
        self.next_key += 1;
        crate::sys::poller_add(&self.poller, fd.as_raw_fd(), key, true, writable)?;
        self.sources.insert(key, (fd.as_raw_fd(), source));
        Ok(key)
    }

    /// Changes what a source is watched for.
    pub fn set_interest(&mut self, key: usize, readable: bool, writable: bool) -> io::Result<()> {
        let Some((fd, _)) = self.sources.get(&key) else {
            return Ok(());
        };
        let fd = registered_fd(*fd);
        self.poller.modify_with_mode(fd, Event::new(key, readable, writable), polling::PollMode::Level)
    }

    pub fn remove(&mut self, key: usize) -> Option<S> {
        let (fd, source) = self.sources.remove(&key)?;
        let _ = self.poller.delete(registered_fd(fd));
        Some(source)
    }

    pub fn source(&self, key: usize) -> Option<&S> {
        self.sources.get(&key).map(|(_, s)| s)
    }

    pub fn schedule(&mut self, at: Instant, payload: T) {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, TimerSlot(payload))));
    }

    pub fn schedule_in(&mut self, after: Duration, payload: T) {
        // startsecs= or stopwaitsecs= may be near i64::MAX seconds, past what an
        // Instant holds; a century is as good as never.
        let after = after.min(Duration::from_secs(100 * 365 * 24 * 3600));
        let now = Instant::now();
        self.schedule(now.checked_add(after).unwrap_or(now), payload);
    }

    /// Removes and returns every timer due at `now`.
    pub fn due_timers(&mut self, now: Instant) -> Vec<T> {
        let mut due = Vec::new();
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, _, TimerSlot(p)))) = self.timers.pop() {
                due.push(p);
            }
        }
        due
    }

    /// Drops timers the predicate rejects (e.g. those of a removed process).
    pub fn retain_timers(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let old = std::mem::take(&mut self.timers);
        self.timers = old.into_iter().filter(|Reverse((_, _, TimerSlot(p)))| keep(p)).collect();
    }

    /// Blocks until an fd is ready or the nearest timer is due (forever if none).
    /// Returns the keys of the ready sources.
    pub fn wait(&mut self) -> io::Result<Vec<usize>> {
        let timeout = self.timers.peek().map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()));
        self.events.clear();
        match self.poller.wait(&mut self.events, timeout) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(self.events.iter().map(|e| e.key).collect())
    }
}

/// A borrowed fd for poller calls. Registered fds stay open until removed, which is
/// what makes the borrow valid.
fn registered_fd<'a>(fd: RawFd) -> BorrowedFd<'a> {
    crate::sys::borrow_fd(fd)
}
