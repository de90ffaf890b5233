//! Typed values of the config file, accepted and rejected as the reference's
//! `datatypes.py` does, with its error texts.

use std::path::{Path, PathBuf};

use super::ini::py_repr;
use crate::sys;

pub type Result<T> = std::result::Result<T, String>;

/// Python `int()` of a string: surrounding whitespace, a sign, `_` between digits.
pub fn py_int_radix(s: &str, radix: u32) -> Option<i64> {
    let (neg, clean) = py_int_digits(s, radix)?;
    let v = i64::from_str_radix(&clean, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// The first code point of each run of ten Unicode decimal digits (category Nd) past
/// ASCII, as Python 3.11's unicodedata (Unicode 14) has them; `int()` reads them all.
const DIGIT_ZEROS: &[u32] = &[
    0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xde6, 0xe50, 0xed0, 0xf20,
    0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90, 0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0,
    0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10, 0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0,
    0x11450, 0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0,
    0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// A non-ASCII decimal digit as its ASCII digit.
fn ascii_digit(c: char) -> Option<char> {
    let n = c as u32;
    if n < 0x80 {
        return None;
    }
    let at = DIGIT_ZEROS.partition_point(|&z| z <= n).checked_sub(1)?;
    let d = n - DIGIT_ZEROS[at];
    (d < 10).then(|| char::from(b'0' + d as u8))
}

/// Python's `int(s, radix)` for a config value: Python's integers have no upper bound,
/// so a value past i64 is accepted and clamped to i64's range (as good as infinite for
/// every key that takes a number).
pub fn py_int_clamped(s: &str, radix: u32) -> Option<i64> {
    let (neg, clean) = py_int_digits(s, radix)?;
    Some(match i64::from_str_radix(&clean, radix) {
        Ok(v) if neg => -v,
        Ok(v) => v,
        Err(_) if neg => i64::MIN,
        Err(_) => i64::MAX,
    })
}

/// The integer as Python prints it (`str(int(s))`), exact past i64 too; for messages.
pub fn py_int_text(s: &str) -> Option<String> {
    let (neg, clean) = py_int_digits(s, 10)?;
    let digits = clean.trim_start_matches('0');
    Some(match (neg, digits) {
        (_, "") => "0".to_string(),
        (true, d) => format!("-{d}"),
        (false, d) => d.to_string(),
    })
}

/// Sign and bare digits of a Python int literal, or None when `int()` would refuse it.
fn py_int_digits(s: &str, radix: u32) -> Option<(bool, String)> {
    // Python first turns every Unicode decimal digit into its ASCII digit and every
    // Unicode space into ' ', then reads the ASCII text.
    let mapped: String = s.chars().map(|c| ascii_digit(c).unwrap_or(c)).collect();
    let t = mapped.trim();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = if radix == 8 {
        digits
            .strip_prefix("0o")
            .or_else(|| digits.strip_prefix("0O"))
            .map(|d| d.strip_prefix('_').unwrap_or(d))
            .unwrap_or(digits)
    } else {
        digits
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if !clean.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some((neg, clean))
}

pub fn integer(s: &str) -> Result<i64> {
    py_int_clamped(s, 10).ok_or_else(|| format!("invalid literal for int() with base 10: {}", py_repr(s)))
}

pub fn boolean(s: &str) -> Result<bool> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("not a valid boolean value: {}", py_repr(s))),
    }
}

/// `10`, `5KB`, `50MB`, `1GB` (base 1024, case-insensitive, suffix last).
pub fn byte_size(s: &str) -> Result<i64> {
    let lower = s.to_lowercase();
    for (suffix, mult) in [("kb", 1024i64), ("mb", 1 << 20), ("gb", 1 << 30)] {
        if let Some(num) = lower.strip_suffix(suffix) {
            return integer(num).map(|n| n.saturating_mul(mult));
        }
    }
    integer(&lower)
}

pub fn list_of_strings(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(',').map(|x| x.trim().to_string()).collect()
}

pub fn list_of_exitcodes(s: &str) -> Result<Vec<i32>> {
    let bad = || format!("not a valid list of exit codes: {}", py_repr(s));
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let n = py_int_clamped(part, 10).ok_or_else(bad)?;
        if !(0..=255).contains(&n) {
            return Err(bad());
        }
        out.push(n as i32);
    }
    Ok(out)
}

/// `int(s, 8)`: any integer is accepted, as the reference does; it becomes a mode the
/// way a C int does (-1 is all bits set, which umask()/chmod() mask to their range).
pub fn octal(s: &str) -> Result<u32> {
    match py_int_clamped(s, 8) {
        Some(n) => Ok(n as u32),
        None => Err(format!("{s} can not be converted to an octal type")),
    }
}

/// Signal names known to the reference (Python's `signal` module on Linux), with the
/// three `SIG_*` handler constants it also accepts.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("RTMIN", 34),
    ("RTMAX", 64),
    ("_DFL", 0),
    ("_IGN", 1),
    ("_BLOCK", 0),
    ("_UNBLOCK", 1),
    ("_SETMASK", 2),
];

fn is_known_signum(n: i64) -> bool {
    SIGNALS.iter().any(|&(_, v)| v as i64 == n)
}

pub fn signal_number(s: &str) -> Result<i32> {
    let num = match py_int_clamped(s, 10) {
        Some(n) => n,
        None => {
            let upper = s.trim().to_uppercase();
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            match SIGNALS.iter().find(|(n, _)| *n == name) {
                Some(&(_, v)) => v as i64,
                None => return Err(format!("value {} is not a valid signal name", py_repr(s))),
            }
        }
    };
    if !is_known_signum(num) {
        return Err(format!("value {} is not a valid signal number", py_repr(s)));
    }
    Ok(num as i32)
}

/// The conventional name of a signal number (`TERM` for 15), for log lines and RPC.
pub fn signal_name(n: i32) -> Option<&'static str> {
    SIGNALS.iter().find(|&&(name, v)| v == n && !name.starts_with('_')).map(|&(name, _)| name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoRestart {
    Never,
    Always,
    Unexpected,
}

pub fn auto_restart(s: &str) -> Result<AutoRestart> {
    let v = s.to_lowercase();
    match v.as_str() {
        "yes" | "true" | "on" | "1" => Ok(AutoRestart::Always),
        "no" | "false" | "off" | "0" => Ok(AutoRestart::Never),
        "unexpected" => Ok(AutoRestart::Unexpected),
        _ => Err(format!("invalid 'autorestart' value {}", py_repr(&v))),
    }
}

/// `shutdown_on=` (our addition): which ends of a program shut the whole daemon down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOn {
    Never,
    /// Any exit the daemon did not ask for.
    Exit,
    /// An exit whose status is not in exitcodes, or a death by signal.
    Unexpected,
    /// Entering FATAL (too many failed starts).
    Fatal,
}

impl ShutdownOn {
    pub fn name(self) -> &'static str {
        match self {
            ShutdownOn::Never => "never",
            ShutdownOn::Exit => "exit",
            ShutdownOn::Unexpected => "unexpected",
            ShutdownOn::Fatal => "fatal",
        }
    }
}

pub fn shutdown_on(s: &str) -> Result<ShutdownOn> {
    match s.trim().to_lowercase().as_str() {
        "never" => Ok(ShutdownOn::Never),
        "exit" => Ok(ShutdownOn::Exit),
        "unexpected" => Ok(ShutdownOn::Unexpected),
        "fatal" => Ok(ShutdownOn::Fatal),
        _ => {
            Err(format!("invalid 'shutdown_on' value {}: expected never, exit, unexpected or fatal", py_repr(s.trim())))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Blather = 3,
    Trace = 5,
    Debug = 10,
    Info = 20,
    Warn = 30,
    Error = 40,
    Critical = 50,
}

impl LogLevel {
    /// The four-letter name used in log lines.
    pub fn tag(self) -> &'static str {
        match self {
            LogLevel::Blather => "BLAT",
            LogLevel::Trace => "TRAC",
            LogLevel::Debug => "DEBG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERRO",
            LogLevel::Critical => "CRIT",
        }
    }
}

pub fn logging_level(s: &str) -> Result<LogLevel> {
    Ok(match s.to_lowercase().as_str() {
        "critical" => LogLevel::Critical,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        "blather" => LogLevel::Blather,
        _ => return Err(format!("bad logging level name {}", py_repr(s))),
    })
}

/// `os.path.expanduser`: `~` and `~user` at the start of a path.
pub fn expand_user(s: &str) -> String {
    let Some(rest) = s.strip_prefix('~') else {
        return s.to_string();
    };
    let (user, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let home = if user.is_empty() {
        std::env::var("HOME").ok().or_else(|| sys::user_by_uid(sys::getuid()).map(|u| u.home))
    } else {
        sys::user_by_name(user).map(|u| u.home)
    };
    match home {
        Some(h) => {
            let h = if h.len() > 1 { h.trim_end_matches('/') } else { &h };
            format!("{h}{tail}")
        }
        None => s.to_string(),
    }
}

pub fn existing_directory(s: &str) -> Result<PathBuf> {
    let p = PathBuf::from(expand_user(s));
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!("{s} is not an existing directory"))
    }
}

/// A file path whose directory must exist (a bare file name is relative to the CWD).
pub fn existing_dirpath(s: &str) -> Result<PathBuf> {
    let p = PathBuf::from(expand_user(s));
    match p.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(format!("The directory named as part of the path {s} does not exist"))
        }
        _ => Ok(p),
    }
}

/// Where a child's output goes, as `stdout_logfile=` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    None,
    Auto,
    Syslog,
    File(PathBuf),
}

pub fn logfile_name(s: &str) -> Result<LogTarget> {
    match s.to_lowercase().as_str() {
        "none" | "off" => Ok(LogTarget::None),
        "auto" => Ok(LogTarget::Auto),
        "syslog" => Ok(LogTarget::Syslog),
        _ => existing_dirpath(s).map(LogTarget::File),
    }
}

/// `log_format`: true for json, false for text (our addition).
pub fn log_format(s: &str) -> Result<bool> {
    match s.trim().to_lowercase().as_str() {
        "text" => Ok(false),
        "json" => Ok(true),
        _ => Err(format!("log_format must be 'text' or 'json', not {}", py_repr(s))),
    }
}

/// Process and group names must not contain characters that break namespecs and URLs.
pub fn process_or_group_name(s: &str) -> Result<String> {
    let t = s.trim();
    for bad in [' ', ':', '/'] {
        if t.contains(bad) {
            return Err(format!("Invalid name: {} because of character: {}", py_repr(s), py_repr(&bad.to_string())));
        }
    }
    Ok(t.to_string())
}

/// Python's pwd/grp lookups refuse a name holding a NUL before looking it up.
const EMBEDDED_NUL: &str = "embedded null byte";

pub fn name_to_uid(s: &str) -> Result<u32> {
    match py_int_clamped(s, 10) {
        Some(n) => match u32::try_from(n).ok().filter(|&uid| sys::user_by_uid(uid).is_some()) {
            Some(uid) => Ok(uid),
            None => Err(format!("Invalid user id {s}")),
        },
        None if s.contains('\0') => Err(EMBEDDED_NUL.into()),
        None => sys::user_by_name(s).map(|u| u.uid).ok_or_else(|| format!("Invalid user name {s}")),
    }
}

pub fn name_to_gid(s: &str) -> Result<u32> {
    match py_int_clamped(s, 10) {
        Some(n) => match u32::try_from(n).ok().filter(|&gid| sys::group_by_gid(gid).is_some()) {
            Some(gid) => Ok(gid),
            None => Err(format!("Invalid group id {s}")),
        },
        None if s.contains('\0') => Err(EMBEDDED_NUL.into()),
        None => sys::group_by_name(s).ok_or_else(|| format!("Invalid group name {s}")),
    }
}

/// `user` or `user:group`; the group is None when not given.
pub fn user_and_group(s: &str) -> Result<(u32, Option<u32>)> {
    let bad = || format!("Invalid user:group definition {s}");
    match s.split_once(':') {
        None => Ok((name_to_uid(s).map_err(|_| bad())?, None)),
        Some((u, g)) => Ok((name_to_uid(u).map_err(|_| bad())?, Some(name_to_gid(g).map_err(|_| bad())?))),
    }
}

/// `port`, `host:port`, `*:port`, `:port`, `[v6addr]:port`. An empty host means all
/// interfaces.
pub fn inet_address(s: &str) -> Result<(String, u16)> {
    let (host, port_str) = match s.rsplit_once(':') {
        Some((h, p)) => {
            if p.is_empty() {
                return Err(format!("no port number specified in {}", py_repr(p)));
            }
            (h.to_lowercase(), p)
        }
        None => {
            return port_number(s)
                .map(|p| (String::new(), p))
                .map_err(|_| format!("not a valid port number: {} ", py_repr(s)));
        }
    };
    let port = port_number(port_str)?;
    let host = if host == "*" { String::new() } else { host };
    Ok((host, port))
}

pub fn port_number(s: &str) -> Result<u16> {
    let n = integer(s)?;
    let shown = py_int_text(s).unwrap_or_else(|| n.to_string());
    if n < 1 {
        return Err(format!("{shown} is below lower bound (1)"));
    }
    if n > 65535 {
        return Err(format!("{shown} is above upper bound (65535)"));
    }
    Ok(n as u16)
}

/// A URL with a scheme and something after it (`urlparse` rules, loosely).
pub fn url(s: &str) -> Result<String> {
    let ok = match s.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.trim_start_matches('/').is_empty()
        }
        None => false,
    };
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("value {} is not a URL", py_repr(s)))
    }
}

/// `os.path.normpath(os.path.abspath(os.path.expanduser(v)))`.
pub fn normalize_path(s: &str) -> PathBuf {
    super::ini::abspath(Path::new(&expand_user(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_python_int() {
        assert_eq!(integer(" 42 "), Ok(42));
        assert_eq!(integer("-3"), Ok(-3));
        assert_eq!(integer("1_000"), Ok(1000));
        assert_eq!(integer("1.5"), Err("invalid literal for int() with base 10: '1.5'".into()));
        assert!(integer("").is_err());
        assert_eq!(integer("012"), Ok(12));
        assert_eq!(integer("000"), Ok(0));
        // Python's ints are unbounded: accepted, clamped into i64.
        assert_eq!(integer("99999999999999999999"), Ok(i64::MAX));
        assert_eq!(integer("١٢"), Ok(12), "Arabic-Indic digits");
        assert_eq!(
            integer("－１_２"),
            Err("invalid literal for int() with base 10: '－１_２'".into()),
            "no fullwidth minus"
        );
        assert_eq!(integer("-１_２"), Ok(-12), "fullwidth digits");
        assert_eq!(integer("\u{3000}7\u{2028}"), Ok(7), "Unicode spaces around");
        assert!(integer("7\x1f").is_err(), "ASCII separators are not spaces to int()");
        assert_eq!(integer("٪"), Err("invalid literal for int() with base 10: '٪'".into()));
        assert_eq!(integer("-99_999_999_999_999_999_999"), Ok(i64::MIN));
        assert_eq!(py_int_radix("99999999999999999999", 10), None, "the strict reader (XML-RPC) refuses it");
        assert_eq!(py_int_text("+000_99999999999999999999").as_deref(), Some("99999999999999999999"));
        assert_eq!(py_int_text("-0").as_deref(), Some("0"));
        assert_eq!(
            port_number("99999999999999999999"),
            Err("99999999999999999999 is above upper bound (65535)".into())
        );
    }

    #[test]
    fn booleans() {
        for t in ["yes", "TRUE", "on", "1"] {
            assert_eq!(boolean(t), Ok(true));
        }
        for f in ["no", "False", "OFF", "0"] {
            assert_eq!(boolean(f), Ok(false));
        }
        assert_eq!(boolean("maybe"), Err("not a valid boolean value: 'maybe'".into()));
        assert!(boolean("y").is_err());
        assert!(boolean("").is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(byte_size("10"), Ok(10));
        assert_eq!(byte_size("5kb"), Ok(5120));
        assert_eq!(byte_size("50MB"), Ok(50 * 1024 * 1024));
        assert_eq!(byte_size("1GB"), Ok(1 << 30));
        assert_eq!(byte_size(" 5 MB"), Ok(5 << 20));
        assert_eq!(byte_size("-1"), Ok(-1));
        assert_eq!(byte_size("1.5MB"), Err("invalid literal for int() with base 10: '1.5'".into()));
        assert!(byte_size("10B").is_err());
        assert!(byte_size("1TB").is_err());
    }

    #[test]
    fn signals() {
        assert_eq!(signal_number("TERM"), Ok(15));
        assert_eq!(signal_number("sigterm"), Ok(15));
        assert_eq!(signal_number(" int "), Ok(2));
        assert_eq!(signal_number("9"), Ok(9));
        assert_eq!(signal_number("RTMIN"), Ok(34));
        assert_eq!(signal_number("0"), Ok(0));
        assert_eq!(signal_number("FOO"), Err("value 'FOO' is not a valid signal name".into()));
        assert!(signal_number("SIGRTMIN+1").is_err());
        assert_eq!(signal_number("99"), Err("value '99' is not a valid signal number".into()));
        assert_eq!(signal_number("33"), Err("value '33' is not a valid signal number".into()));
        assert_eq!(signal_name(15), Some("TERM"));
        assert_eq!(signal_name(1), Some("HUP"));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(list_of_exitcodes("0"), Ok(vec![0]));
        assert_eq!(list_of_exitcodes("0, 2"), Ok(vec![0, 2]));
        assert_eq!(list_of_exitcodes(""), Ok(vec![]));
        assert_eq!(list_of_exitcodes("0,256"), Err("not a valid list of exit codes: '0,256'".into()));
        assert!(list_of_exitcodes("a").is_err());
        assert!(list_of_exitcodes("-1").is_err());
    }

    #[test]
    fn octals() {
        assert_eq!(octal("022"), Ok(0o22));
        assert_eq!(octal("0700"), Ok(0o700));
        assert_eq!(octal("777"), Ok(0o777));
        assert_eq!(octal("9"), Err("9 can not be converted to an octal type".into()));
        assert_eq!(octal("-1"), Ok(u32::MAX), "int('-1', 8) is accepted");
    }

    #[test]
    fn autorestart_values() {
        assert_eq!(auto_restart("unexpected"), Ok(AutoRestart::Unexpected));
        assert_eq!(auto_restart("TRUE"), Ok(AutoRestart::Always));
        assert_eq!(auto_restart("off"), Ok(AutoRestart::Never));
        assert_eq!(auto_restart("Sometimes"), Err("invalid 'autorestart' value 'sometimes'".into()));
    }

    #[test]
    fn shutdown_on_values() {
        assert_eq!(shutdown_on("Fatal"), Ok(ShutdownOn::Fatal));
        assert_eq!(shutdown_on(" exit "), Ok(ShutdownOn::Exit));
        assert_eq!(
            shutdown_on("always"),
            Err("invalid 'shutdown_on' value 'always': expected never, exit, unexpected or fatal".into())
        );
    }

    #[test]
    fn log_levels() {
        assert_eq!(logging_level("WARN"), Ok(LogLevel::Warn));
        assert_eq!(logging_level("blather"), Ok(LogLevel::Blather));
        assert_eq!(logging_level("warning"), Err("bad logging level name 'warning'".into()));
        assert_eq!(LogLevel::Error.tag(), "ERRO");
    }

    #[test]
    fn logfile_names_and_dirs() {
        assert_eq!(logfile_name("NONE"), Ok(LogTarget::None));
        assert_eq!(logfile_name("off"), Ok(LogTarget::None));
        assert_eq!(logfile_name("Auto"), Ok(LogTarget::Auto));
        assert_eq!(logfile_name("syslog"), Ok(LogTarget::Syslog));
        assert_eq!(logfile_name("/tmp/x.log"), Ok(LogTarget::File("/tmp/x.log".into())));
        assert_eq!(logfile_name("relative.log"), Ok(LogTarget::File("relative.log".into())));
        assert_eq!(
            logfile_name("/no/such/dir/x.log"),
            Err("The directory named as part of the path /no/such/dir/x.log does not exist".into())
        );
        assert_eq!(existing_directory("/no/such"), Err("/no/such is not an existing directory".into()));
        assert!(existing_directory("/tmp").is_ok());
    }

    #[test]
    fn names() {
        assert_eq!(process_or_group_name(" web "), Ok("web".into()));
        assert_eq!(process_or_group_name("x y"), Err("Invalid name: 'x y' because of character: ' '".into()));
        assert!(process_or_group_name("a:b").is_err());
        assert!(process_or_group_name("a/b").is_err());
    }

    #[test]
    fn users() {
        assert_eq!(name_to_uid("root"), Ok(0));
        assert_eq!(name_to_uid("0"), Ok(0));
        assert_eq!(name_to_uid("no-such-user-x"), Err("Invalid user name no-such-user-x".into()));
        assert_eq!(name_to_uid("3999999"), Err("Invalid user id 3999999".into()));
        assert_eq!(user_and_group("root:root"), Ok((0, Some(0))));
        assert_eq!(user_and_group("root"), Ok((0, None)));
        assert_eq!(user_and_group("root:nogroupx"), Err("Invalid user:group definition root:nogroupx".into()));
    }

    #[test]
    fn inet_addresses() {
        assert_eq!(inet_address("9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address("127.0.0.1:9001"), Ok(("127.0.0.1".into(), 9001)));
        assert_eq!(inet_address("*:9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address(":9001"), Ok((String::new(), 9001)));
        assert_eq!(inet_address("LocalHost:1"), Ok(("localhost".into(), 1)));
        assert_eq!(inet_address("[::1]:9001"), Ok(("[::1]".into(), 9001)));
        assert_eq!(inet_address("host:"), Err("no port number specified in ''".into()));
        assert_eq!(inet_address("0"), Err("not a valid port number: '0' ".into()));
        assert_eq!(inet_address("h:70000"), Err("70000 is above upper bound (65535)".into()));
        assert_eq!(inet_address("h:0"), Err("0 is below lower bound (1)".into()));
    }

    #[test]
    fn urls() {
        assert!(url("http://localhost:9001").is_ok());
        assert!(url("unix:///tmp/s.sock").is_ok());
        assert_eq!(url("localhost"), Err("value 'localhost' is not a URL".into()));
        assert!(url("http://").is_err());
    }

    #[test]
    fn tilde_expansion() {
        std::env::set_var("HOME", "/home/tester");
        assert_eq!(expand_user("~/x"), "/home/tester/x");
        assert_eq!(expand_user("~root/x"), "/root/x");
        assert_eq!(expand_user("/a/~"), "/a/~");
    }
}
