//! Where a child's stdout or stderr goes: its log file (a path, AUTO, or none), syslog,
//! and the main log at debug level. The bytes are written as read, per chunk, in order.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use super::console::{Formatted, Lines, MemoryTail};
use super::logfile::{RotatingFile, Splice};
use crate::config::{is_console_path, ChannelLogConfig, LogTarget};

/// A child's output stream; the value is its slot in per-process arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Stdout = 0,
    Stderr = 1,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Stdout => "stdout",
            Channel::Stderr => "stderr",
        }
    }
}

#[derive(Debug)]
pub struct ChannelLog {
    /// The file this channel logs to (an AUTO name is chosen when the group is made).
    pub path: Option<PathBuf>,
    maxbytes: i64,
    backups: i64,
    pub syslog: bool,
    /// Boxed like `lines` and `memory`: thousands of programs pay only a pointer each
    /// for what most of them do not have.
    file: Option<Box<RotatingFile>>,
    /// Writes are failing (disk full, ...): reported once, not per write.
    pub failing: bool,
    /// Whole-line formatting for a console target (our `*_log_prefix`/`log_format`).
    pub lines: Option<Box<Lines>>,
    /// What tail and readLog read for a console target, which cannot be read back.
    pub memory: Option<Box<MemoryTail>>,
    formatted: Formatted,
}

/// Characters that end an ANSI escape sequence, as the reference strips them.
const ANSI_TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";

/// Removes `ESC[ ... <terminator>` sequences from one chunk; most chunks have no
/// ESC and are passed through without a copy.
pub fn strip_ansi(data: &[u8]) -> Cow<'_, [u8]> {
    if !data.contains(&0x1b) {
        return Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    let mut showing = true;
    while i < data.len() {
        if !showing {
            if ANSI_TERMINATORS.contains(&data[i]) {
                showing = true;
            }
            i += 1;
        } else if data[i] == 0x1b && data.get(i + 1) == Some(&b'[') {
            showing = false;
            i += 2;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Random letters for AUTO log names, like mkstemp's.
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut seed = [0u8; 8];
    if rustix::rand::getrandom(&mut seed, rustix::rand::GetRandomFlags::empty()).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        seed = (t.as_nanos() as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    seed.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// Creates a new AUTO log file `<proc>-<channel>---<identifier>-<random>.log`, mode 0600.
pub fn create_auto_log(dir: &Path, process: &str, channel: Channel, identifier: &str) -> io::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    for _ in 0..100 {
        let p = dir.join(format!("{process}-{}---{identifier}-{}.log", channel.name(), random_suffix()));
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&p) {
            Ok(_) => return Ok(p),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free AUTO log name"))
}

/// Why an AUTO log could not be made, naming the directory and the reason.
pub fn auto_log_error(e: &io::Error, channel: Channel, childlogdir: &Path) -> String {
    format!(
        "{}: cannot create an AUTO {} log in childlogdir {}: {e}",
        crate::sys::errno_name(e.raw_os_error().unwrap_or(0)),
        channel.name(),
        childlogdir.display()
    )
}

/// Whether a file in childlogdir is an AUTO log of this identifier (including its
/// rotated backups), as the reference's cleanup pattern decides.
pub fn is_auto_log_of(file_name: &str, identifier: &str) -> bool {
    let marker = format!("---{identifier}-");
    let Some(at) = file_name.find(&marker) else {
        return false;
    };
    if at == 0 {
        return false;
    }
    let rest = &file_name[at + marker.len()..];
    let Some(log_at) = rest.rfind(".log") else {
        return false;
    };
    let (random, tail) = (&rest[..log_at], &rest[log_at + 4..]);
    if random.is_empty() || random.chars().any(char::is_whitespace) {
        return false;
    }
    let digits = tail.strip_prefix('.').unwrap_or(tail);
    digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit()) && (tail.is_empty() || tail.starts_with('.'))
}

impl ChannelLog {
    pub fn new(
        cfg: &ChannelLogConfig,
        path: Option<PathBuf>,
        program: &str,
        group: &str,
        channel: Channel,
    ) -> ChannelLog {
        let console = path.as_deref().is_some_and(is_console_path);
        ChannelLog {
            maxbytes: cfg.maxbytes,
            backups: cfg.backups,
            syslog: cfg.syslog,
            file: None,
            failing: false,
            lines: cfg
                .lines
                .as_ref()
                .filter(|_| console)
                .map(|f| Box::new(Lines::new(f, program, group, channel.name()))),
            memory: console.then(Box::default),
            formatted: Formatted::default(),
            path,
        }
    }

    /// The configured path, with AUTO resolved by creating its file now.
    pub fn resolve_path(
        cfg: &ChannelLogConfig,
        dir: &Path,
        process: &str,
        channel: Channel,
        identifier: &str,
    ) -> io::Result<Option<PathBuf>> {
        match &cfg.logfile {
            LogTarget::None | LogTarget::Syslog => Ok(None),
            LogTarget::File(p) => Ok(Some(p.clone())),
            LogTarget::Auto => create_auto_log(dir, process, channel, identifier).map(Some),
        }
    }

    /// Opens the file for a spawn. An AUTO file that could not be made when the group
    /// was added is tried again now, so a fixed childlogdir needs no reload. The error
    /// starts with the errno name (the reference's spawnerr ends with it) and names the
    /// file or directory and the reason.
    pub fn open_for_spawn(
        &mut self,
        cfg: &ChannelLogConfig,
        channel: Channel,
        process: &str,
        childlogdir: &Path,
        identifier: &str,
    ) -> Result<(), String> {
        if self.path.is_none() && matches!(cfg.logfile, LogTarget::Auto) {
            let made = create_auto_log(childlogdir, process, channel, identifier)
                .map_err(|e| auto_log_error(&e, channel, childlogdir))?;
            self.path = Some(made);
        }
        self.open().map_err(|e| {
            let path = self.path.as_deref().unwrap_or(Path::new(""));
            format!(
                "{}: cannot open {}_logfile {}: {e}",
                crate::sys::errno_name(e.raw_os_error().unwrap_or(0)),
                channel.name(),
                path.display()
            )
        })
    }

    /// (Re)opens the file, at every spawn as the reference does.
    pub fn open(&mut self) -> io::Result<()> {
        self.file = None;
        if let Some(p) = &self.path {
            self.file = Some(Box::new(RotatingFile::open(p, self.maxbytes, self.backups)?));
        }
        Ok(())
    }

    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let Some(m) = &mut self.memory {
            m.push(data);
        }
        let Some(f) = &mut self.file else { return Ok(()) };
        let Some(lines) = &mut self.lines else { return f.write(data) };
        lines.feed(data, std::time::Instant::now(), &mut self.formatted);
        let r = f.write(self.formatted.as_slice());
        self.formatted.clear();
        r
    }

    /// Writes a held partial line out (its time is up, or the pipe closed).
    pub fn flush_held(&mut self) -> io::Result<()> {
        let (Some(f), Some(lines)) = (&mut self.file, &mut self.lines) else { return Ok(()) };
        lines.flush(&mut self.formatted);
        let r = f.write(self.formatted.as_slice());
        self.formatted.clear();
        r
    }

    /// Moves output from the pipe to the log file in the kernel (see
    /// `RotatingFile::splice_from`); Unsupported without a file or off syslog.
    pub fn splice_from(&mut self, pipe: std::os::fd::BorrowedFd, max: usize) -> Splice {
        if !self.file_only() {
            return Splice::Unsupported;
        }
        match &mut self.file {
            Some(f) => f.splice_from(pipe, max),
            None => Splice::Unsupported,
        }
    }

    /// Whether the channel's bytes go to a file unchanged and nowhere else (no syslog,
    /// no console line formatting, no in-memory tail), where splice can take them.
    pub fn file_only(&self) -> bool {
        self.path.is_some() && !self.syslog && self.lines.is_none() && self.memory.is_none()
    }

    pub fn reopen(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(f) => f.reopen(),
            None => Ok(()),
        }
    }

    /// Empties the log: only while the file is open (the process is running); for a
    /// stopped process the reference reports success without doing anything.
    pub fn clear(&mut self) -> io::Result<()> {
        if let Some(m) = &mut self.memory {
            // The console is not a file to remove: forgetting what it showed is all.
            m.clear();
            return Ok(());
        }
        match &mut self.file {
            Some(f) => f.clear(),
            None => Ok(()),
        }
    }

    pub fn close(&mut self) {
        // Nowhere to report a console that cannot be written: the line is lost with it.
        let _ = self.flush_held();
        self.file = None;
    }
}

/// The text of a chunk of child output as the main log shows it: the chunk decoded
/// as UTF-8 when it is valid, else `Undecodable: ` and Python's repr of the bytes
/// (the reference decodes each read on its own, so a character split across two
/// reads shows as undecodable there too).
pub fn mainlog_text(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(format!("Undecodable: {}", py_bytes_repr(data))),
    }
}

/// Python's `repr()` of a bytes object: `b'...'`, double quotes when the bytes hold a
/// `'` and no `"`, printable ASCII as is, the rest escaped.
pub fn py_bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') { b'"' } else { b'\'' };
    let mut out = String::with_capacity(data.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote as char);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_output_reads_like_python_bytes_repr() {
        assert_eq!(mainlog_text(b"caf\xc3\xa9\n"), "café\n");
        assert_eq!(mainlog_text(b"\x88\n"), "Undecodable: b'\\x88\\n'");
        assert_eq!(py_bytes_repr(b"it's\t\\\x7f\x00"), "b\"it's\\t\\\\\\x7f\\x00\"");
        assert_eq!(py_bytes_repr(b"'\"\r\xff"), "b'\\'\"\\r\\xff'");
    }

    #[test]
    fn strips_ansi_color_sequences() {
        assert_eq!(&*strip_ansi(b"\x1b[31mred\x1b[0m plain"), b"red plain");
        assert!(matches!(strip_ansi(b"no escapes"), Cow::Borrowed(b"no escapes")));
        assert_eq!(&*strip_ansi(b"a\x1b[2Jb\x1b[1;1Hc"), b"abc");
    }

    #[test]
    fn auto_log_names_match_the_cleanup_pattern() {
        let dir = std::env::temp_dir();
        let p = create_auto_log(&dir, "web", Channel::Stdout, "supervisor").unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("web-stdout---supervisor-") && name.ends_with(".log"), "{name}");
        assert!(is_auto_log_of(&name, "supervisor"));
        assert!(is_auto_log_of(&format!("{name}.3"), "supervisor"));
        assert!(!is_auto_log_of(&name, "other"));
        assert!(!is_auto_log_of("web.log", "supervisor"));
        assert!(!is_auto_log_of("---supervisor-x.log", "supervisor"));
        std::fs::remove_file(&p).unwrap();
    }
}
