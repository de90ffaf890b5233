//! The typed configuration the daemon runs on, with every default already applied.

use std::path::PathBuf;

pub use super::values::{AutoRestart, LogLevel, LogTarget, ShutdownOn};

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// The main config file, absolute.
    pub config_file: PathBuf,
    pub supervisord: SupervisordConfig,
    pub servers: Vec<HttpServerConfig>,
    /// Sorted by (priority, name), the order the reference starts them in.
    pub groups: Vec<GroupConfig>,
    /// `SUPERVISOR_SERVER_URL` for children whose serverurl is AUTO: the first unix
    /// server, else the first inet server.
    pub serverurl: Option<String>,
    /// Names of `[rpcinterface:x]` sections that use a factory we do not have.
    pub foreign_rpcinterfaces: Vec<String>,
    /// Lines the reference would log at WARN / INFO once logging is up.
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SupervisordConfig {
    pub logfile: MainLog,
    pub logfile_maxbytes: i64,
    pub logfile_backups: i64,
    pub loglevel: LogLevel,
    pub pidfile: PathBuf,
    pub umask: u32,
    pub nodaemon: bool,
    pub silent: bool,
    pub minfds: i64,
    pub minprocs: i64,
    pub nocleanup: bool,
    pub childlogdir: PathBuf,
    pub user: Option<String>,
    pub directory: Option<PathBuf>,
    pub strip_ansi: bool,
    pub environment: Vec<(String, String)>,
    pub identifier: String,
    /// Our addition, `log_format=json`: main log lines as JSON objects.
    pub log_json: bool,
    /// Our addition, `log_prefix`: text main log lines start with it (and a space),
    /// to match the programs' prefixes on a shared console.
    pub log_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MainLog {
    Syslog,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpServerConfig {
    /// The section name, `unix_http_server` or `inet_http_server[:x]`.
    pub section: String,
    pub listen: Listen,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Unix {
        file: PathBuf,
        chmod: u32,
        /// (uid, gid); None leaves that id unchanged.
        chown: (Option<u32>, Option<u32>),
    },
    /// An empty host means every interface.
    Inet { host: String, port: u16 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfig {
    pub name: String,
    pub priority: i64,
    pub kind: GroupKind,
    /// Sorted by (priority, name); a `[group:x]` keeps its listed member order.
    pub processes: Vec<std::rc::Rc<ProcessConfig>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum GroupKind {
    /// `[program:x]` (homogeneous) or `[group:x]` (heterogeneous).
    Programs,
    EventListenerPool(ListenerPoolConfig),
    FastCgi(FcgiSocket),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPoolConfig {
    /// Upper-case event type names, as subscribed (abstract types included), sorted.
    pub events: Vec<String>,
    /// Count the header's len in characters, as Supervisor 4.x on Python 3 does and its
    /// childutils listeners expect (the default); `len_unit=bytes` turns it off.
    pub len_in_characters: bool,
    pub buffer_size: i64,
    pub result_handler: ResultHandler,
}

/// The `result_handler`s built in (no Python code can be loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultHandler {
    /// `supervisor.dispatchers:default_handler`: `OK` accepts, anything else rejects.
    Default,
    /// `supervisor_stdout:event_handler` (the supervisor-stdout plugin): the result
    /// echoes a PROCESS_LOG payload, whose lines go to supervisord's stdout as
    /// `<processname> <channel> | <line>`.
    Stdout,
}

impl ResultHandler {
    pub const ALL: [(&'static str, ResultHandler); 2] = [
        ("supervisor.dispatchers:default_handler", ResultHandler::Default),
        ("supervisor_stdout:event_handler", ResultHandler::Stdout),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FcgiSocket {
    pub address: FcgiAddress,
    pub backlog: Option<i64>,
    pub owner: Option<(u32, Option<u32>)>,
    pub mode: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FcgiAddress {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl std::fmt::Display for FcgiAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FcgiAddress::Unix(p) => write!(f, "unix://{}", p.display()),
            FcgiAddress::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelLogConfig {
    pub logfile: LogTarget,
    pub maxbytes: i64,
    pub backups: i64,
    pub capture_maxbytes: i64,
    pub events_enabled: bool,
    pub syslog: bool,
    /// Our addition: whole lines, prefixed or as JSON, for a console target; None
    /// writes the bytes as read, as the reference does.
    pub lines: Option<LineFormat>,
}

/// How a console target (/dev/stdout, /dev/stderr) receives a child's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFormat {
    /// Each line behind this prefix (the expanded template and a space; empty when
    /// no template is set).
    Text(String),
    /// One JSON object per line: time, program, group, stream, message.
    Json,
}

/// Paths that name supervisord's own stdout or stderr.
pub fn is_console_path(p: &std::path::Path) -> bool {
    matches!(
        p.to_str(),
        Some("/dev/stdout" | "/dev/stderr" | "/dev/fd/1" | "/dev/fd/2" | "/proc/self/fd/1" | "/proc/self/fd/2")
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    pub name: String,
    pub group: String,
    /// The `x` of the `[program:x]` section it came from.
    pub program: String,
    pub command: String,
    pub directory: Option<String>,
    pub umask: Option<u32>,
    pub priority: i64,
    pub autostart: bool,
    pub autorestart: AutoRestart,
    pub startsecs: i64,
    pub startretries: i64,
    pub uid: Option<u32>,
    pub user: Option<String>,
    pub stdout: ChannelLogConfig,
    pub stderr: ChannelLogConfig,
    pub stopsignal: i32,
    pub stopwaitsecs: i64,
    pub stopasgroup: bool,
    pub killasgroup: bool,
    pub exitcodes: Vec<i32>,
    pub redirect_stderr: bool,
    /// `[supervisord] environment=` under the program's own, in that order.
    pub environment: Vec<(String, String)>,
    /// The program's own serverurl; None means AUTO.
    pub serverurl: Option<String>,
    /// Dependencies, readiness, health checks and restart pacing (opt-in keys).
    /// Shared: mostly the defaults, one copy for every program that has them (its size
    /// would otherwise be paid by each of thousands of programs).
    pub supervision: std::rc::Rc<super::supervision::Supervision>,
    /// Our addition; always Never for event listeners.
    pub shutdown_on: ShutdownOn,
}
