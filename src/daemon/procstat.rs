//! Resource usage of a process, read from /proc when someone asks (the web page, the
//! JSON view, /metrics, `status --long`): never on a timer. CPU% is the share of one
//! CPU used since the previous sample of the same pid, whoever asked for it.

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// User plus system CPU time since the process started.
    pub cpu_seconds: f64,
    /// Over the interval since the previous sample of this pid (at the first sample,
    /// over the process's life so far); None when that interval is empty.
    pub cpu_percent: Option<f64>,
    pub rss_bytes: u64,
    pub threads: u64,
    /// None when /proc/PID/fd cannot be read (another user's process).
    pub fds: Option<u64>,
    /// Wall-clock seconds since the epoch the process started at (from starttime).
    pub start_time: f64,
}

/// The fields of /proc/PID/stat we use, in clock ticks and pages.
struct Stat {
    ticks: u64,
    threads: u64,
    start_ticks: u64,
    rss_pages: u64,
}

fn parse_stat(text: &str) -> Option<Stat> {
    // The command name is in parentheses and may hold spaces or ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    // Fields counted from 3 (state) in proc(5): utime 14, stime 15, num_threads 20,
    // starttime 22, rss 24.
    let n = |i: usize| f.get(i - 3).and_then(|s| s.parse::<u64>().ok());
    Some(Stat { ticks: n(14)? + n(15)?, threads: n(20)?, start_ticks: n(22)?, rss_pages: n(24)? })
}

fn count_fds(pid: u32) -> Option<u64> {
    let dir = if pid == 0 { "/proc/self/fd".to_string() } else { format!("/proc/{pid}/fd") };
    // Since Linux 6.2 the directory's size is its number of fds: one stat, no listing.
    // Before, the size is 0 and the entries are counted.
    match std::fs::metadata(&dir) {
        Ok(m) if m.len() > 0 => Some(m.len()),
        Ok(_) => Some(std::fs::read_dir(dir).ok()?.count() as u64),
        Err(_) => None,
    }
}

/// Seconds since the epoch at boot, from /proc/stat's btime.
fn boot_time() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

#[derive(Default)]
pub struct Sampler {
    /// pid -> (CPU ticks, when) at the previous sample.
    last: HashMap<u32, (u64, Instant)>,
    boot: Option<u64>,
}

impl Sampler {
    /// One process's usage now (`pid` 0 means the daemon itself); None when it is gone.
    /// Counting fds is one more /proc lookup per process: only when `fds` is asked for.
    pub fn sample(&mut self, pid: u32, now: Instant, fds: bool) -> Option<Usage> {
        let path = if pid == 0 { "/proc/self/stat".to_string() } else { format!("/proc/{pid}/stat") };
        // One read into a stack buffer: the line is well under 1 KiB, and this runs
        // for every process of every scrape.
        let mut buf = [0u8; 1024];
        let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut buf)).ok()?;
        let stat = parse_stat(std::str::from_utf8(&buf[..n]).ok()?)?;
        let hz = rustix::param::clock_ticks_per_second().max(1) as f64;
        if self.boot.is_none() {
            self.boot = boot_time();
        }
        let start_time = self.boot.unwrap_or(0) as f64 + stat.start_ticks as f64 / hz;
        let (ticks, dt) = match self.last.insert(pid, (stat.ticks, now)) {
            Some((ticks, then)) => {
                (stat.ticks.saturating_sub(ticks), now.saturating_duration_since(then).as_secs_f64())
            }
            None => {
                let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                (stat.ticks, wall.as_secs_f64() - start_time)
            }
        };
        let cpu_percent = (dt > 0.0 && self.boot.is_some()).then(|| ticks as f64 / hz / dt * 100.0);
        Some(Usage {
            cpu_seconds: stat.ticks as f64 / hz,
            cpu_percent,
            rss_bytes: stat.rss_pages * rustix::param::page_size() as u64,
            threads: stat.threads,
            fds: if fds { count_fds(pid) } else { None },
            start_time,
        })
    }

    /// Forgets pids not in `alive`, so the table holds only current processes.
    pub fn retain(&mut self, alive: &[u32]) {
        self.last.retain(|pid, _| *pid == 0 || alive.contains(pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_names() {
        let line =
            "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 12345 1000000 77 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.ticks, s.threads, s.start_ticks, s.rss_pages), (300, 3, 12345, 77));
        assert!(parse_stat("42 (x) S 1").is_none());
    }

    #[test]
    fn samples_itself_and_measures_cpu_between_samples() {
        let mut s = Sampler::default();
        let t0 = Instant::now();
        let first = s.sample(0, t0, true).unwrap();
        assert!(first.cpu_percent.unwrap() >= 0.0, "over the life so far");
        assert!(first.rss_bytes > 0 && first.threads >= 1 && first.fds.unwrap() >= 3);
        let later = s.sample(0, t0 + std::time::Duration::from_secs(1), true).unwrap();
        assert!(later.cpu_percent.unwrap() >= 0.0);
        assert!(s.sample(u32::MAX, t0, true).is_none());
    }
}
