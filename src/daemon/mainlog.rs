//! supervisord's own log behind the `log` facade: `YYYY-MM-DD HH:MM:SS,mmm LEVL message`
//! lines in local time (or JSON objects), to a rotating file or syslog, and to stdout in
//! the foreground unless silent or the file already is stdout.
//!
//! Supervisor has seven levels and `log` five: CRIT is `error!` with the target
//! `CRIT` (the `crit!` macro), BLAT is `trace!` with the target `BLATHER` (`blather!`).
//! The macros check the level before any formatting; records of other crates (the
//! poller's traces) stay out of the main log.

use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::logfile::RotatingFile;
use super::syslog::Syslog;
use crate::config::{LogLevel, MainLog as MainLogTarget, SupervisordConfig};

pub const CRIT: &str = "supervisor::crit";
pub const BLATHER: &str = "supervisor::blather";

/// `crit!("...")`: a CRIT line.
macro_rules! crit {
    ($($arg:tt)+) => { log::error!(target: $crate::daemon::mainlog::CRIT, $($arg)+) };
}
/// `blather!("...")`: a BLAT line.
macro_rules! blather {
    ($($arg:tt)+) => { log::trace!(target: $crate::daemon::mainlog::BLATHER, $($arg)+) };
}
/// A line at a level known only at run time (the state machine's effects).
macro_rules! log_at {
    ($level:expr, $($arg:tt)+) => {{
        let (target, level) = $crate::daemon::mainlog::facade_level($level);
        log::log!(target: target, level, $($arg)+)
    }};
}
pub(crate) use {blather, crit, log_at};

/// The `log` level and target that stand for a Supervisor level.
pub fn facade_level(level: LogLevel) -> (&'static str, log::Level) {
    match level {
        LogLevel::Critical => (CRIT, log::Level::Error),
        LogLevel::Error => ("supervisor", log::Level::Error),
        LogLevel::Warn => ("supervisor", log::Level::Warn),
        LogLevel::Info => ("supervisor", log::Level::Info),
        LogLevel::Debug => ("supervisor", log::Level::Debug),
        LogLevel::Trace => ("supervisor", log::Level::Trace),
        LogLevel::Blather => (BLATHER, log::Level::Trace),
    }
}

/// The Supervisor level of a record; None for records of other crates.
fn supervisor_level(m: &log::Metadata) -> Option<LogLevel> {
    let target = m.target();
    if !target.starts_with("supervisor") {
        return None;
    }
    Some(match m.level() {
        log::Level::Error if target == CRIT => LogLevel::Critical,
        log::Level::Error => LogLevel::Error,
        log::Level::Warn => LogLevel::Warn,
        log::Level::Info => LogLevel::Info,
        log::Level::Debug => LogLevel::Debug,
        log::Level::Trace if target == BLATHER => LogLevel::Blather,
        log::Level::Trace => LogLevel::Trace,
    })
}

fn max_level(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Critical | LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace | LogLevel::Blather => log::LevelFilter::Trace,
    }
}

struct Sink {
    level: LogLevel,
    file: Option<RotatingFile>,
    syslog: Option<Syslog>,
    echo_stdout: bool,
    json: bool,
    prefix: String,
    /// Lines logged before the file could be opened (replayed once it is).
    pending: Vec<(LogLevel, String)>,
}

/// One thread logs; the lock only satisfies `log`'s `Sync` bound.
static SINK: Mutex<Option<Sink>> = Mutex::new(None);

struct Facade;
static FACADE: Facade = Facade;

impl log::Log for Facade {
    fn enabled(&self, m: &log::Metadata) -> bool {
        let Some(level) = supervisor_level(m) else { return false };
        SINK.lock().is_ok_and(|s| s.as_ref().is_some_and(|s| level >= s.level))
    }

    fn log(&self, record: &log::Record) {
        let Some(level) = supervisor_level(record.metadata()) else { return };
        if let Ok(mut s) = SINK.lock() {
            if let Some(s) = s.as_mut().filter(|s| level >= s.level) {
                s.write(level, record.args());
            }
        }
    }

    fn flush(&self) {}
}

pub fn timestamp(now: SystemTime) -> String {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, da, h, mi, s) = crate::sys::localtime(d.as_secs() as i64);
    format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02},{:03}", d.subsec_millis())
}

impl Sink {
    fn write(&mut self, level: LogLevel, msg: &dyn fmt::Display) {
        use std::io::Write;
        if self.file.is_none() && self.syslog.is_none() {
            self.pending.push((level, msg.to_string()));
            return;
        }
        let line = if self.json {
            let mut l = format!(
                "{{\"time\":\"{}\",\"program\":\"supervisord\",\"level\":\"{}\",\"message\":\"",
                super::console::rfc3339(SystemTime::now()),
                level.tag()
            )
            .into_bytes();
            super::console::json_escape(msg.to_string().as_bytes(), &mut l);
            l.extend_from_slice(b"\"}\n");
            l
        } else {
            format!("{}{} {} {msg}\n", self.prefix, timestamp(SystemTime::now()), level.tag()).into_bytes()
        };
        if let Some(f) = &mut self.file {
            // Nowhere better to report a failing log file than stderr.
            if let Err(e) = f.write(&line) {
                eprintln!("supervisord: cannot write the log file: {e}");
            }
        }
        if let Some(s) = &mut self.syslog {
            s.send(&format!("{} {msg}", level.tag()));
        }
        if self.echo_stdout {
            let _ = std::io::stdout().write_all(&line);
        }
    }
}

fn with<R>(f: impl FnOnce(&mut Sink) -> R) -> Option<R> {
    SINK.lock().ok()?.as_mut().map(f)
}

/// The daemon's handle on its main log (the log itself sits behind the facade).
pub struct MainLog(());

impl MainLog {
    /// Installs the logger; it only buffers until `open` is called.
    pub fn buffering(level: LogLevel) -> MainLog {
        if let Ok(mut s) = SINK.lock() {
            *s = Some(Sink {
                level,
                file: None,
                syslog: None,
                echo_stdout: false,
                json: false,
                prefix: String::new(),
                pending: Vec::new(),
            });
        }
        // Fails only when a logger is already installed (a second daemon run in tests).
        let _ = log::set_logger(&FACADE);
        log::set_max_level(max_level(level));
        MainLog(())
    }

    /// Switches to the configured target. When it cannot be opened (on a reload) the
    /// current target stays in use, so no line is lost or held in memory forever.
    pub fn open(&mut self, cfg: &SupervisordConfig) -> Result<(), String> {
        let (file, syslog) = match &cfg.logfile {
            MainLogTarget::Syslog => (None, Some(Syslog::new("supervisord"))),
            MainLogTarget::File(p) => {
                let f = RotatingFile::open(p, cfg.logfile_maxbytes, cfg.logfile_backups)
                    .map_err(|e| format!("could not open the log file {}: {e}", p.display()))?;
                (Some(f), None)
            }
        };
        // `logfile=/dev/stdout` in the foreground: the file already is the copy.
        let echo_stdout = cfg.nodaemon && !cfg.silent && !file.as_ref().is_some_and(RotatingFile::is_our_stdout);
        log::set_max_level(max_level(cfg.loglevel));
        with(|s| {
            s.level = cfg.loglevel;
            s.echo_stdout = echo_stdout;
            s.json = cfg.log_json;
            s.prefix.clone_from(&cfg.log_prefix);
            s.file = file;
            s.syslog = syslog;
            for (level, msg) in std::mem::take(&mut s.pending) {
                if level >= s.level {
                    s.write(level, &msg);
                }
            }
        });
        Ok(())
    }

    pub fn enabled(&self, level: LogLevel) -> bool {
        let (target, level) = facade_level(level);
        log::log_enabled!(target: target, level)
    }

    pub fn path(&self) -> Option<std::path::PathBuf> {
        with(|s| s.file.as_ref().map(|f| f.path().to_path_buf())).flatten()
    }

    /// SIGUSR2: reopen the file (logrotate has moved it). On failure the old file
    /// stays in use.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        with(|s| s.file.as_mut().map_or(Ok(()), RotatingFile::reopen)).unwrap_or(Ok(()))
    }

    pub fn clear(&mut self) -> std::io::Result<()> {
        with(|s| s.file.as_mut().map_or(Ok(()), RotatingFile::clear)).unwrap_or(Ok(()))
    }

    /// A line formatted elsewhere (the state machine's effects).
    pub fn log(&mut self, level: LogLevel, msg: &str) {
        log_at!(level, "{msg}");
    }
}

/// Lines already formatted, for code written before the facade; new code uses the
/// macros (`log::info!`, `crit!`, ...), which format only what is kept.
#[allow(dead_code)]
impl MainLog {
    pub fn info(&mut self, msg: &str) {
        log::info!("{msg}");
    }
    pub fn warn(&mut self, msg: &str) {
        log::warn!("{msg}");
    }
    pub fn debug(&mut self, msg: &str) {
        log::debug!("{msg}");
    }
    pub fn error(&mut self, msg: &str) {
        log::error!("{msg}");
    }
    pub fn critical(&mut self, msg: &str) {
        crit!("{msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip_through_the_facade() {
        for level in [
            LogLevel::Blather,
            LogLevel::Trace,
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Warn,
            LogLevel::Error,
            LogLevel::Critical,
        ] {
            let (target, l) = facade_level(level);
            let m = log::Metadata::builder().target(target).level(l).build();
            assert_eq!(supervisor_level(&m), Some(level));
        }
        let foreign = log::Metadata::builder().target("polling::epoll").level(log::Level::Trace).build();
        assert_eq!(supervisor_level(&foreign), None);
    }
}
