//! supervisord's command line: the reference's flags (Python getopt forms), each
//! overriding the config file's `[supervisord]` key of the same name.

use argh::FromArgs;

use crate::cli::{getopt, Opt};
use crate::config::{values as v, MainLog, ServerConfig};

/// supervisord: start the programs of a config file and keep them running.
///
/// Options given here win over the [supervisord] section of the config file.
#[derive(FromArgs, Debug, Default, Clone)]
pub struct Args {
    /// configuration file path (searched for when not given)
    #[argh(option, short = 'c')]
    pub configuration: Option<String>,
    /// run in the foreground
    #[argh(switch, short = 'n')]
    pub nodaemon: bool,
    /// with -n, do not copy the log to stdout
    #[argh(switch, short = 's')]
    pub silent: bool,
    /// run supervisord as this user (name or uid)
    #[argh(option, short = 'u')]
    pub user: Option<String>,
    /// umask for the daemon process (octal, default 022)
    #[argh(option, short = 'm')]
    pub umask: Option<String>,
    /// directory to chdir to when daemonized
    #[argh(option, short = 'd')]
    pub directory: Option<String>,
    /// main log file path, or 'syslog'
    #[argh(option, short = 'l')]
    pub logfile: Option<String>,
    /// size at which the main log rotates (e.g. 50MB; 0 = never)
    #[argh(option, short = 'y', long = "logfile-maxbytes")]
    pub logfile_maxbytes: Option<String>,
    /// number of rotated main logs kept (default 10)
    #[argh(option, short = 'z', long = "logfile-backups")]
    pub logfile_backups: Option<String>,
    /// log level: critical, error, warn, info, debug, trace, blather
    #[argh(option, short = 'e')]
    pub loglevel: Option<String>,
    /// pid file path
    #[argh(option, short = 'j')]
    pub pidfile: Option<String>,
    /// identifier of this supervisor instance (for RPC and AUTO log names)
    #[argh(option, short = 'i')]
    pub identifier: Option<String>,
    /// directory for AUTO child logs
    #[argh(option, short = 'q')]
    pub childlogdir: Option<String>,
    /// keep existing AUTO child logs at startup
    #[argh(switch, short = 'k')]
    pub nocleanup: bool,
    /// minimum number of file descriptors to be able to open
    #[argh(option, short = 'a')]
    pub minfds: Option<String>,
    /// minimum number of processes to be able to start
    #[argh(option)]
    pub minprocs: Option<String>,
    /// strip ANSI escape sequences from child output
    #[argh(switch, short = 't', long = "strip-ansi")]
    pub strip_ansi: bool,
    /// accepted for compatibility; profiling is not available
    #[argh(option, long = "profile-options")]
    pub profile_options: Option<String>,
    /// print the version and exit
    #[argh(switch, short = 'v')]
    pub version: bool,
    /// check the config (and that each command splits as the spawn will): print the effective groups and processes, start nothing
    #[argh(switch)]
    pub check: bool,
}

const fn o(short: Option<char>, long: &'static str, takes_value: bool, argh: &'static str) -> Opt {
    Opt { short, long: Some(long), takes_value, argh }
}

pub const SPEC: &[Opt] = &[
    o(Some('c'), "configuration", true, "configuration"),
    o(Some('n'), "nodaemon", false, "nodaemon"),
    o(Some('s'), "silent", false, "silent"),
    o(Some('u'), "user", true, "user"),
    o(Some('m'), "umask", true, "umask"),
    o(Some('d'), "directory", true, "directory"),
    o(Some('l'), "logfile", true, "logfile"),
    o(Some('y'), "logfile_maxbytes", true, "logfile-maxbytes"),
    o(Some('z'), "logfile_backups", true, "logfile-backups"),
    o(Some('e'), "loglevel", true, "loglevel"),
    o(Some('j'), "pidfile", true, "pidfile"),
    o(Some('i'), "identifier", true, "identifier"),
    o(Some('q'), "childlogdir", true, "childlogdir"),
    o(Some('k'), "nocleanup", false, "nocleanup"),
    o(Some('a'), "minfds", true, "minfds"),
    o(None, "minprocs", true, "minprocs"),
    o(Some('t'), "strip_ansi", false, "strip-ansi"),
    o(None, "profile_options", true, "profile-options"),
    // The spellings --help shows (argh's); the reference's underscore forms above.
    o(None, "logfile-maxbytes", true, "logfile-maxbytes"),
    o(None, "logfile-backups", true, "logfile-backups"),
    o(None, "strip-ansi", false, "strip-ansi"),
    o(None, "profile-options", true, "profile-options"),
    o(Some('v'), "version", false, "version"),
    o(None, "check", false, "check"),
    o(Some('h'), "help", false, "help"),
    Opt { short: Some('?'), long: None, takes_value: false, argh: "help" },
];

/// What the command line asks for.
pub enum Parsed {
    Run(Box<Args>),
    /// Print this text to stdout and exit 0 (help, version).
    Print(String),
}

pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let p = getopt(args, SPEC)?;
    if !p.rest.is_empty() {
        let quoted: Vec<String> = p.rest.iter().map(|a| crate::config::ini::py_repr(a)).collect();
        return Err(format!("positional arguments are not supported: [{}]", quoted.join(", ")));
    }
    if p.has("help") {
        return Ok(Parsed::Print(help_text()));
    }
    let words = p.argh_words(&[])?;
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let args = Args::from_args(&["supervisord"], &refs).map_err(|e| e.output.trim().to_string())?;
    if args.version {
        return Ok(Parsed::Print(format!("{}\n", crate::SUPERVISOR_VERSION)));
    }
    validate(&p.opts, &args)?;
    Ok(Parsed::Run(Box::new(args)))
}

fn help_text() -> String {
    match Args::from_args(&["supervisord"], &["--help"]) {
        Err(e) => {
            // argh prints its own spellings; show the reference's alongside.
            let mut s = e.output;
            s.push_str(
                "\nLong options may also be written as the reference spells them \
                 (--logfile_maxbytes, --logfile_backups, --strip_ansi, --profile_options),\n\
                 with '=' (--configuration=FILE), or as a unique prefix (--config FILE).\n\n\
                 Each [inet_http_server]/[unix_http_server] serves XML-RPC (/RPC2), the web UI\n\
                 (/, tail.html, mainlog.html), /logtail, /ok.html, the status as JSON\n\
                 (/api/status) and Prometheus metrics (/metrics), all with its credentials.\n",
            );
            s
        }
        Ok(_) => String::new(),
    }
}

/// The reference checks each flag's value as it reads it; keep its messages.
fn validate(opts: &[(String, &'static str, Option<String>)], a: &Args) -> Result<(), String> {
    let check = |argh: &str, value: &Option<String>, f: &dyn Fn(&str) -> Result<(), String>| -> Result<(), String> {
        if let Some(val) = value {
            if let Err(m) = f(val) {
                let written = opts.iter().find(|(_, n, _)| *n == argh).map(|(w, _, _)| w.as_str()).unwrap_or(argh);
                return Err(format!("invalid value for {written} {}: {m}", crate::config::ini::py_repr(val)));
            }
        }
        Ok(())
    };
    check("umask", &a.umask, &|s| v::octal(s).map(drop))?;
    check("directory", &a.directory, &|s| v::existing_directory(s).map(drop))?;
    check("logfile", &a.logfile, &|s| v::existing_dirpath(s).map(drop))?;
    check("logfile-maxbytes", &a.logfile_maxbytes, &|s| v::byte_size(s).map(drop))?;
    check("logfile-backups", &a.logfile_backups, &|s| v::integer(s).map(drop))?;
    check("loglevel", &a.loglevel, &|s| v::logging_level(s).map(drop))?;
    check("pidfile", &a.pidfile, &|s| v::existing_dirpath(s).map(drop))?;
    check("childlogdir", &a.childlogdir, &|s| v::existing_directory(s).map(drop))?;
    check("minfds", &a.minfds, &|s| v::integer(s).map(drop))?;
    check("minprocs", &a.minprocs, &|s| v::integer(s).map(drop))?;
    Ok(())
}

/// Puts the command line's values over the config file's.
pub fn apply(a: &Args, c: &mut ServerConfig) -> Result<(), String> {
    // Values were validated in parse(); a failure here would be a bug, so report it.
    let bug = |m: String| format!("internal error applying command line: {m}");
    if a.profile_options.is_some() {
        c.warnings.push("--profile_options is accepted for compatibility, but there is no profiler".into());
    }
    let s = &mut c.supervisord;
    if a.nodaemon {
        s.nodaemon = true;
    }
    if a.silent {
        s.silent = true;
    }
    if a.nocleanup {
        s.nocleanup = true;
    }
    if a.strip_ansi {
        s.strip_ansi = true;
    }
    if let Some(u) = &a.user {
        v::name_to_uid(u)?;
        s.user = Some(u.clone());
    }
    if let Some(m) = &a.umask {
        s.umask = v::octal(m).map_err(bug)?;
    }
    if let Some(d) = &a.directory {
        s.directory = Some(v::existing_directory(d).map_err(bug)?);
    }
    if let Some(l) = &a.logfile {
        s.logfile = if l == "syslog" { MainLog::Syslog } else { MainLog::File(v::normalize_path(l)) };
    }
    if let Some(n) = &a.logfile_maxbytes {
        s.logfile_maxbytes = v::byte_size(n).map_err(bug)?;
    }
    if let Some(n) = &a.logfile_backups {
        s.logfile_backups = v::integer(n).map_err(bug)?;
    }
    if let Some(l) = &a.loglevel {
        s.loglevel = v::logging_level(l).map_err(bug)?;
    }
    if let Some(p) = &a.pidfile {
        s.pidfile = v::normalize_path(p);
    }
    if let Some(i) = &a.identifier {
        s.identifier = i.clone();
    }
    if let Some(d) = &a.childlogdir {
        s.childlogdir = v::existing_directory(d).map_err(bug)?;
    }
    if let Some(n) = &a.minfds {
        s.minfds = v::integer(n).map_err(bug)?;
    }
    if let Some(n) = &a.minprocs {
        s.minprocs = v::integer(n).map_err(bug)?;
    }
    Ok(())
}
