//! The opt-in keys of `[program:x]` beyond the reference: dependencies (`depends_on`),
//! readiness (`ready`, `notification_fd`, `ready_log_line`), health checks
//! (`liveness_check_*`, the Go clone's names) and restart pacing (`backoff`,
//! `maxbackoff`, `restartpause`, `startlimitburst`, `startlimitinterval`,
//! `fatal_cooldown`). A section without them gets `Supervision::default()`, which is
//! exactly the reference's behaviour.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::expand::Names;
use super::{ConfigError, Reader};

/// How a program proves it is up; None in `Supervision::ready` means "stayed up
/// startsecs", the reference's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// s6's notification-fd: a newline written on this fd.
    Fd(i32),
    /// systemd's sd_notify: READY=1 on $NOTIFY_SOCKET.
    Notify,
    Tcp(SocketAddr),
    Http {
        addr: SocketAddr,
        /// What the Host header says (the address as written).
        host: String,
        path: String,
    },
    /// A shell command (`/bin/sh -c`) that exits 0.
    Exec(String),
    /// A line of the program's output matching this regular expression.
    Log(Pattern),
}

impl Probe {
    /// Polled probes run again and again; the others are waited for.
    pub fn is_polled(&self) -> bool {
        matches!(self, Probe::Tcp(_) | Probe::Http { .. } | Probe::Exec(_))
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Probe::Fd(n) => write!(f, "fd:{n}"),
            Probe::Notify => write!(f, "notify"),
            Probe::Tcp(a) => write!(f, "tcp://{a}"),
            Probe::Http { host, path, .. } => write!(f, "http://{host}{path}"),
            Probe::Exec(c) => write!(f, "exec:{c}"),
            Probe::Log(p) => write!(f, "log:{}", p.text),
        }
    }
}

/// A compiled regular expression that compares by its text (the config is compared
/// on reread to tell changed groups).
#[derive(Clone)]
pub struct Pattern {
    pub text: String,
    pub re: super::regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for Pattern {}
impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthAction {
    Restart,
    Stop,
    /// Log and announce only.
    Report,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub probe: Probe,
    pub initial_delay: Duration,
    pub period: Duration,
    pub timeout: Duration,
    pub failure_threshold: u32,
    pub action: HealthAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackoffKind {
    /// The reference: 1, 2, 3 ... seconds.
    Linear,
    /// 1, 2, 4, 8 ... seconds.
    Exponential,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervision {
    /// Namespecs as written: `name`, `group:*`, `group:process`.
    pub depends_on: Vec<String>,
    pub ready: Option<Probe>,
    /// How long STARTING may last before the start counts as failed.
    pub ready_timeout: Duration,
    /// The pause between two tries of a polled readiness probe.
    pub ready_interval: Duration,
    pub health: Option<HealthCheck>,
    pub backoff: BackoffKind,
    pub maxbackoff: Option<Duration>,
    /// Waited before a retry and before an automatic restart.
    pub restartpause: Duration,
    /// At most `burst` starts within `interval`, else FATAL.
    pub start_limit: Option<(u32, Duration)>,
    /// FATAL is left, and the program tried again, after this long.
    pub fatal_cooldown: Option<Duration>,
}

impl Default for Supervision {
    fn default() -> Self {
        Supervision {
            depends_on: Vec::new(),
            ready: None,
            ready_timeout: Duration::from_secs(60),
            ready_interval: Duration::from_secs(1),
            health: None,
            backoff: BackoffKind::Linear,
            maxbackoff: None,
            restartpause: Duration::ZERO,
            start_limit: None,
            fatal_cooldown: None,
        }
    }
}

thread_local! {
    static DEFAULTS: std::rc::Rc<Supervision> = std::rc::Rc::new(Supervision::default());
}

/// `s` to put in a ProcessConfig: the one shared copy when it is the defaults.
pub fn shared(s: Supervision) -> std::rc::Rc<Supervision> {
    if s == Supervision::default() {
        DEFAULTS.with(std::rc::Rc::clone)
    } else {
        std::rc::Rc::new(s)
    }
}

/// The keys this module reads (for the unknown-key check).
pub const KEYS: &[&str] = &[
    "depends_on",
    "ready",
    "notification_fd",
    "ready_log_line",
    "ready_timeout",
    "ready_interval",
    "liveness_check_script",
    "liveness_check_initial_delay",
    "liveness_check_period",
    "liveness_check_timeout",
    "liveness_check_failure_threshold",
    "liveness_check_failure_action",
    "backoff",
    "maxbackoff",
    "restartpause",
    "startlimitburst",
    "startlimitinterval",
    "fatal_cooldown",
];

/// `startretries = unlimited`: as many tries as anyone will wait for, and still an
/// integer for getAllConfigInfo.
pub const UNLIMITED_RETRIES: i64 = i32::MAX as i64;

/// Seconds, fractions allowed (`0.5`); never negative.
pub fn seconds(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let v: f64 = t.parse().map_err(|_| format!("not a number of seconds: {}", super::ini::py_repr(s)))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("a number of seconds must not be negative: {t}"));
    }
    Ok(Duration::from_secs_f64(v.min(100.0 * 365.0 * 86400.0)))
}

fn positive(s: &str) -> Result<u32, String> {
    match super::values::integer(s)? {
        n if n >= 1 => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
        n => Err(format!("must be 1 or more, not {n}")),
    }
}

/// `host:port` where host is an IP address or `localhost`: a name would need a lookup,
/// and the system resolver blocks.
fn socket_addr(hostport: &str) -> Result<SocketAddr, String> {
    let (host, port) = hostport.rsplit_once(':').ok_or_else(|| format!("{hostport} has no :port"))?;
    let port: u16 = port.parse().map_err(|_| format!("bad port in {hostport}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = if host == "localhost" {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        host.parse()
            .map_err(|_| format!("{host} is not an IP address or localhost (a name lookup would block the daemon)"))?
    };
    Ok(SocketAddr::new(ip, port))
}

/// A probe as written in `ready=` or `liveness_check_script=`.
pub fn probe(spec: &str) -> Result<Probe, String> {
    let s = spec.trim();
    if s == "notify" || s == "sd_notify" {
        return Ok(Probe::Notify);
    }
    if let Some(n) = s.strip_prefix("fd:") {
        return notification_fd(n).map(Probe::Fd);
    }
    if let Some(hp) = s.strip_prefix("tcp://").or_else(|| s.strip_prefix("tcp:")) {
        return socket_addr(hp.trim_end_matches('/')).map(Probe::Tcp);
    }
    if let Some(rest) = s.strip_prefix("http://") {
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("bad URL path in {s}"));
        }
        let with_port = if hostport.rsplit_once(':').is_some_and(|(h, _)| !h.ends_with(':') && !h.is_empty()) {
            hostport.to_string()
        } else {
            format!("{hostport}:80")
        };
        let addr = socket_addr(&with_port)?;
        return Ok(Probe::Http { addr, host: hostport.to_string(), path: path.to_string() });
    }
    if s.starts_with("https://") {
        return Err("https probes are not supported (no TLS in the daemon); probe http or tcp".into());
    }
    if let Some(cmd) = s.strip_prefix("exec:").or_else(|| s.strip_prefix("script://")) {
        if cmd.trim().is_empty() {
            return Err("exec: needs a command".into());
        }
        return Ok(Probe::Exec(cmd.trim().to_string()));
    }
    if let Some(re) = s.strip_prefix("log:") {
        return pattern(re).map(Probe::Log);
    }
    Err(format!(
        "{} is not a probe (startsecs, fd:N, notify, tcp://host:port, http://host:port/path, exec:command or log:REGEX)",
        super::ini::py_repr(s)
    ))
}

fn pattern(re: &str) -> Result<Pattern, String> {
    let compiled = super::regex::Regex::new(re).map_err(|e| format!("invalid regular expression: {e}"))?;
    Ok(Pattern { text: re.to_string(), re: compiled })
}

fn notification_fd(s: &str) -> Result<i32, String> {
    let n = super::values::integer(s)?;
    if !(3..=1023).contains(&n) {
        return Err(format!("the notification fd must be between 3 and 1023 (0-2 are stdin, stdout, stderr), not {n}"));
    }
    Ok(n as i32)
}

/// Reads the keys of one program section.
pub(crate) fn read(r: &Reader, section: &str, names: &Names) -> Result<Supervision, ConfigError> {
    let mut s = Supervision::default();
    let get = |key: &str| r.get(section, key, names);
    let typed = |key: &str, text: &str, f: &dyn Fn(&str) -> Result<Duration, String>| {
        f(text).map_err(|m| r.err(section, Some(key), m))
    };
    if let Some(list) = get("depends_on")? {
        s.depends_on = super::values::list_of_strings(&list).into_iter().filter(|d| !d.is_empty()).collect();
    }
    let mut ready_keys: Vec<(&str, Probe)> = Vec::new();
    // A log: pattern is taken as written, like ready_log_line.
    let ready = match r.get_raw(section, "ready") {
        Some(raw) if raw.trim_start().starts_with("log:") => Some(raw.to_string()),
        _ => get("ready")?,
    };
    if let Some(v) = ready {
        if v.trim() != "startsecs" {
            ready_keys.push(("ready", probe(&v).map_err(|m| r.err(section, Some("ready"), m))?));
        }
    }
    if let Some(v) = get("notification_fd")? {
        let fd = notification_fd(&v).map_err(|m| r.err(section, Some("notification_fd"), m))?;
        ready_keys.push(("notification_fd", Probe::Fd(fd)));
    }
    if let Some(v) = r.get_raw(section, "ready_log_line") {
        // Taken as written: a regular expression is full of characters expansion eats.
        let p = pattern(v).map_err(|m| r.err(section, Some("ready_log_line"), m))?;
        ready_keys.push(("ready_log_line", Probe::Log(p)));
    }
    if ready_keys.len() > 1 {
        let keys: Vec<&str> = ready_keys.iter().map(|(k, _)| *k).collect();
        return Err(r.err(section, Some(keys[1]), format!("only one of {} may be set", keys.join(", "))));
    }
    s.ready = ready_keys.pop().map(|(_, p)| p);
    if let Some(v) = get("ready_timeout")? {
        s.ready_timeout = typed("ready_timeout", &v, &seconds)?;
    }
    if let Some(v) = get("ready_interval")? {
        s.ready_interval = typed("ready_interval", &v, &seconds)?.max(Duration::from_millis(10));
    }
    if let Some(v) = get("liveness_check_script")? {
        let key = Some("liveness_check_script");
        // The Go clone takes a bare command as a script.
        const KINDS: &[&str] =
            &["notify", "sd_notify", "fd:", "tcp:", "http://", "https://", "exec:", "script://", "log:"];
        let t = v.trim();
        let probe = if KINDS.iter().any(|k| t.starts_with(k)) || t.is_empty() {
            probe(t).map_err(|m| r.err(section, key, m))?
        } else {
            Probe::Exec(t.to_string())
        };
        if !probe.is_polled() {
            return Err(r.err(
                section,
                key,
                format!("{probe} cannot be checked periodically; use tcp://, http:// or exec:"),
            ));
        }
        let secs = |key: &str, default: &str| -> Result<Duration, ConfigError> {
            let text = r.get_or(section, key, default, names)?;
            seconds(&text).map_err(|m| r.err(section, Some(key), m))
        };
        let initial_delay = secs("liveness_check_initial_delay", "60")?;
        let period = secs("liveness_check_period", "60")?.max(Duration::from_millis(100));
        let timeout = secs("liveness_check_timeout", "30")?.max(Duration::from_millis(10));
        let failure_threshold = r.typed(section, "liveness_check_failure_threshold", "3", names, positive)?;
        let action = r.typed(section, "liveness_check_failure_action", "restart", names, |a| match a.trim() {
            "restart" => Ok(HealthAction::Restart),
            "stop" => Ok(HealthAction::Stop),
            "report" | "none" => Ok(HealthAction::Report),
            other => Err(format!("must be restart, stop or report, not {other}")),
        })?;
        s.health = Some(HealthCheck { probe, initial_delay, period, timeout, failure_threshold, action });
    } else if let Some(k) = KEYS.iter().find(|k| k.starts_with("liveness_check_") && r.entry(section, k).is_some()) {
        return Err(r.err(section, Some(k), format!("{k} needs liveness_check_script")));
    }
    if let Some(v) = get("backoff")? {
        s.backoff = match v.trim() {
            "linear" => BackoffKind::Linear,
            "exponential" => BackoffKind::Exponential,
            other => {
                return Err(r.err(section, Some("backoff"), format!("must be linear or exponential, not {other}")))
            }
        };
    }
    if let Some(v) = get("maxbackoff")? {
        s.maxbackoff = Some(typed("maxbackoff", &v, &seconds)?);
    } else if s.backoff == BackoffKind::Exponential {
        s.maxbackoff = Some(Duration::from_secs(60));
    }
    if let Some(v) = get("restartpause")? {
        s.restartpause = typed("restartpause", &v, &seconds)?;
    }
    if let Some(v) = get("startlimitburst")? {
        let burst = positive(&v).map_err(|m| r.err(section, Some("startlimitburst"), m))?;
        let interval = r.get_or(section, "startlimitinterval", "10", names)?;
        let interval = typed("startlimitinterval", &interval, &seconds)?;
        s.start_limit = Some((burst, interval));
    } else if r.entry(section, "startlimitinterval").is_some() {
        return Err(r.err(section, Some("startlimitinterval"), "startlimitinterval needs startlimitburst".into()));
    }
    if let Some(v) = get("fatal_cooldown")? {
        let d = typed("fatal_cooldown", &v, &seconds)?;
        s.fatal_cooldown = (!d.is_zero()).then_some(d);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_parse_and_reject() {
        assert_eq!(probe("notify"), Ok(Probe::Notify));
        assert_eq!(probe("fd:3"), Ok(Probe::Fd(3)));
        assert!(probe("fd:2").unwrap_err().contains("0-2"));
        assert_eq!(probe("tcp://127.0.0.1:80"), Ok(Probe::Tcp("127.0.0.1:80".parse().unwrap())));
        assert_eq!(probe("tcp:localhost:81"), Ok(Probe::Tcp("127.0.0.1:81".parse().unwrap())));
        assert!(probe("tcp://db.example:5432").unwrap_err().contains("not an IP address"));
        assert!(probe("tcp://127.0.0.1").is_err());
        assert!(probe("tcp://127.0.0.1:99999").is_err());
        match probe("http://127.0.0.1:8080/healthz?x=1") {
            Ok(Probe::Http { addr, host, path }) => {
                assert_eq!(addr.port(), 8080);
                assert_eq!(host, "127.0.0.1:8080");
                assert_eq!(path, "/healthz?x=1");
            }
            other => panic!("{other:?}"),
        }
        match probe("http://localhost") {
            Ok(Probe::Http { addr, path, .. }) => assert_eq!((addr.port(), path.as_str()), (80, "/")),
            other => panic!("{other:?}"),
        }
        assert!(probe("https://x/").is_err());
        assert_eq!(probe("script://test -e /tmp/x"), Ok(Probe::Exec("test -e /tmp/x".into())));
        assert!(probe("log:(unclosed").unwrap_err().contains("regular expression"));
        assert!(probe("whatever").is_err());
    }

    #[test]
    fn seconds_accept_fractions_and_refuse_negatives() {
        assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(seconds(" 3 "), Ok(Duration::from_secs(3)));
        assert!(seconds("-1").unwrap_err().contains("negative"));
        assert!(seconds("soon").is_err());
        assert!(seconds("nan").is_err());
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    fn load(program: &str) -> Result<Supervision, String> {
        static SERIAL: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sv-supervision-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let path = dir.join("s.conf");
        let text = format!(
            "[supervisord]\nlogfile={d}/l\npidfile={d}/p\n\n[program:p]\ncommand=/bin/true\n{program}\n",
            d = dir.display()
        );
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let cfg = crate::config::load_server_config(&path).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        Ok((*cfg?.groups[0].processes[0].supervision).clone())
    }

    #[test]
    fn go_clone_keys_read_as_there() {
        let s =
            load("depends_on=\nrestartpause=5\nliveness_check_script=curl -fs http://127.0.0.1:8080/health\n").unwrap();
        assert_eq!(s.restartpause, Duration::from_secs(5));
        let h = s.health.unwrap();
        assert_eq!(h.probe, Probe::Exec("curl -fs http://127.0.0.1:8080/health".into()));
        assert_eq!(
            (h.initial_delay, h.period, h.timeout, h.failure_threshold),
            (Duration::from_secs(60), Duration::from_secs(60), Duration::from_secs(30), 3)
        );
        assert_eq!(h.action, HealthAction::Restart);
    }

    #[test]
    fn defaults_are_the_reference() {
        let s = load("").unwrap();
        assert_eq!(s, Supervision::default());
        let s = load("backoff=exponential\nstartlimitburst=4\n").unwrap();
        assert_eq!(s.maxbackoff, Some(Duration::from_secs(60)));
        assert_eq!(s.start_limit, Some((4, Duration::from_secs(10))));
        assert!(load("ready=notify\nready_log_line=x\n").unwrap_err().contains("only one of ready, ready_log_line"));
    }
}
