//! supervisord's own log: `YYYY-MM-DD HH:MM:SS,mmm LEVL message` lines in local time, to
//! a rotating file or syslog, and to stdout in the foreground unless silent.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::logfile::RotatingFile;
use super::syslog::Syslog;
use crate::config::{LogLevel, MainLog as MainLogTarget, SupervisordConfig};

pub struct MainLog {
    level: LogLevel,
    file: Option<RotatingFile>,
    syslog: Option<Syslog>,
    echo_stdout: bool,
    json: bool,
    /// Lines logged before the file could be opened (replayed once it is).
    pending: Vec<(LogLevel, String)>,
}

pub fn timestamp(now: SystemTime) -> String {
    let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (y, mo, da, h, mi, s) = crate::sys::localtime(d.as_secs() as i64);
    format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02},{:03}", d.subsec_millis())
}

impl MainLog {
    /// A logger that only buffers until `open` is called.
    pub fn buffering(level: LogLevel) -> MainLog {
        MainLog { level, file: None, syslog: None, echo_stdout: false, json: false, pending: Vec::new() }
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
        self.level = cfg.loglevel;
        // `logfile=/dev/stdout` in the foreground: the file already is the copy.
        self.echo_stdout = cfg.nodaemon && !cfg.silent && !file.as_ref().is_some_and(RotatingFile::is_our_stdout);
        self.json = cfg.log_json;
        self.file = file;
        self.syslog = syslog;
        for (level, msg) in std::mem::take(&mut self.pending) {
            self.log(level, &msg);
        }
        Ok(())
    }

    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level
    }

    pub fn path(&self) -> Option<&std::path::Path> {
        self.file.as_ref().map(|f| f.path())
    }

    pub fn log(&mut self, level: LogLevel, msg: &str) {
        if !self.enabled(level) {
            return;
        }
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
            super::console::json_escape(msg.as_bytes(), &mut l);
            l.extend_from_slice(b"\"}\n");
            String::from_utf8(l).unwrap_or_default()
        } else {
            format!("{} {} {}\n", timestamp(SystemTime::now()), level.tag(), msg)
        };
        if let Some(f) = &mut self.file {
            // Nowhere better to report a failing log file than stderr.
            if let Err(e) = f.write(line.as_bytes()) {
                eprintln!("supervisord: cannot write the log file: {e}");
            }
        }
        if let Some(s) = &mut self.syslog {
            s.send(&format!("{} {}", level.tag(), msg));
        }
        if self.echo_stdout {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
    }

    /// SIGUSR2: reopen the file (logrotate has moved it). On failure the old file
    /// stays in use.
    pub fn reopen(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.reopen(),
            None => Ok(()),
        }
    }

    pub fn clear(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.clear(),
            None => Ok(()),
        }
    }

    pub fn info(&mut self, msg: &str) {
        self.log(LogLevel::Info, msg);
    }
    pub fn warn(&mut self, msg: &str) {
        self.log(LogLevel::Warn, msg);
    }
    pub fn debug(&mut self, msg: &str) {
        self.log(LogLevel::Debug, msg);
    }
    pub fn critical(&mut self, msg: &str) {
        self.log(LogLevel::Critical, msg);
    }
    pub fn error(&mut self, msg: &str) {
        self.log(LogLevel::Error, msg);
    }
}
