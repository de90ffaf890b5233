//! The one poll loop's machinery: every fd in one level-triggered `polling::Poller`,
//! timers in a min-heap. The wait timeout is the nearest timer, or none at all: with
//! nothing to do the daemon sleeps until an fd or a signal wakes it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
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
    /// Timers cancelled while still in the heap; skipped when they come due, and
    /// dropped all at once when they outnumber the live ones.
    cancelled: HashSet<u64>,
}

/// Names one scheduled timer, for `cancel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerId(u64);

/// Collections that grow with traffic give memory back once they hold less than a
/// quarter of their capacity (and more than this is at stake).
const SHRINK_SLACK: usize = 64;

fn oversized(len: usize, capacity: usize) -> bool {
    capacity > SHRINK_SLACK && capacity / 4 > len
}

/// Shrinks a map that a peak of traffic left mostly empty.
pub fn shrink_map<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if oversized(map.len(), map.capacity()) {
        map.shrink_to(map.len() * 2);
    }
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
            cancelled: HashSet::new(),
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
        shrink_map(&mut self.sources);
        Some(source)
    }

    pub fn source(&self, key: usize) -> Option<&S> {
        self.sources.get(&key).map(|(_, s)| s)
    }

    pub fn schedule(&mut self, at: Instant, payload: T) -> TimerId {
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, TimerSlot(payload))));
        TimerId(self.seq)
    }

    pub fn schedule_in(&mut self, after: Duration, payload: T) -> TimerId {
        // startsecs= or stopwaitsecs= may be near i64::MAX seconds, past what an
        // Instant holds; a century is as good as never.
        let after = after.min(Duration::from_secs(100 * 365 * 24 * 3600));
        let now = Instant::now();
        self.schedule(now.checked_add(after).unwrap_or(now), payload)
    }

    /// Withdraws a timer that has not fired. The caller forgets the id once the timer
    /// fires: cancelling a fired timer is harmless but holds a little memory until the
    /// next compaction.
    pub fn cancel(&mut self, id: TimerId) {
        if id.0 == 0 || id.0 > self.seq {
            return;
        }
        self.cancelled.insert(id.0);
        // Lazy deletion keeps cancel O(1); a heap that is mostly dead entries (a
        // connection churn leaves one per connection) is rebuilt from the live ones.
        if self.cancelled.len() > SHRINK_SLACK && self.cancelled.len() * 2 > self.timers.len() {
            self.compact();
        }
    }

    fn compact(&mut self) {
        let cancelled = std::mem::take(&mut self.cancelled);
        let old = std::mem::take(&mut self.timers);
        let mut live: Vec<_> = old.into_vec();
        live.retain(|Reverse((_, seq, _))| !cancelled.contains(seq));
        live.shrink_to_fit();
        self.timers = BinaryHeap::from(live);
    }

    /// How many timers are armed (cancelled ones not counted).
    #[cfg(test)]
    fn armed_timers(&self) -> usize {
        self.timers.len().saturating_sub(self.cancelled.len())
    }

    /// Drops cancelled entries at the top of the heap, so the next deadline is a live one.
    fn skip_cancelled(&mut self) {
        while let Some(Reverse((_, seq, _))) = self.timers.peek() {
            if !self.cancelled.remove(seq) {
                break;
            }
            self.timers.pop();
        }
        if self.cancelled.is_empty() && oversized(0, self.cancelled.capacity()) {
            self.cancelled = HashSet::new();
        }
        if oversized(self.timers.len(), self.timers.capacity()) {
            self.timers.shrink_to(self.timers.len() * 2);
        }
    }

    /// Removes and returns every timer due at `now`.
    pub fn due_timers(&mut self, now: Instant) -> Vec<T> {
        let mut due = Vec::new();
        loop {
            self.skip_cancelled();
            match self.timers.peek() {
                Some(Reverse((at, _, _))) if *at <= now => {}
                _ => break,
            }
            if let Some(Reverse((_, _, TimerSlot(p)))) = self.timers.pop() {
                due.push(p);
            }
        }
        due
    }

    /// Drops timers the predicate rejects (e.g. those of a removed process).
    pub fn retain_timers(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let cancelled = std::mem::take(&mut self.cancelled);
        let old = std::mem::take(&mut self.timers);
        self.timers =
            old.into_iter().filter(|Reverse((_, seq, TimerSlot(p)))| !cancelled.contains(seq) && keep(p)).collect();
    }

    /// Blocks until an fd is ready or the nearest timer is due (forever if none).
    /// Returns the keys of the ready sources.
    pub fn wait(&mut self) -> io::Result<Vec<usize>> {
        self.skip_cancelled();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_timers_leave_the_heap_and_never_fire() {
        let mut r: Reactor<(), u32> = Reactor::new().unwrap();
        let later = Instant::now() + Duration::from_secs(300);
        // A churn of connections: each arms a deadline and cancels it at close.
        for i in 0..100_000 {
            let id = r.schedule(later, i);
            r.cancel(id);
        }
        let keep = r.schedule(Instant::now(), 7);
        assert_eq!(r.armed_timers(), 1);
        assert!(r.timers.len() <= 2 * SHRINK_SLACK + 2, "{} entries left in the heap", r.timers.len());
        assert!(r.timers.capacity() < 1024, "the heap kept a capacity of {}", r.timers.capacity());
        let cancelled_late = r.schedule(Instant::now(), 8);
        r.cancel(cancelled_late);
        let _ = keep;
        assert_eq!(r.due_timers(Instant::now() + Duration::from_secs(1)), vec![7]);
        assert_eq!(r.due_timers(later + Duration::from_secs(1)), Vec::<u32>::new());
        assert!(r.timers.is_empty() && r.cancelled.is_empty());
    }

    #[test]
    fn a_cancelled_timer_at_the_top_does_not_shorten_the_wait() {
        let mut r: Reactor<(), u32> = Reactor::new().unwrap();
        let soon = r.schedule_in(Duration::from_millis(1), 1);
        r.schedule_in(Duration::from_secs(60), 2);
        r.cancel(soon);
        r.skip_cancelled();
        let Some(Reverse((at, _, _))) = r.timers.peek() else { panic!("the live timer is gone") };
        assert!(at.saturating_duration_since(Instant::now()) > Duration::from_secs(50));
    }
}
