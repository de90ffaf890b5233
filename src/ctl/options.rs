//! supervisorctl's command line and its `[supervisorctl]` config section, with the
//! reference's precedence: command line, then config file, then defaults.

use std::path::{Path, PathBuf};

use argh::FromArgs;

use crate::cli::{getopt, Opt};
use crate::config::error::ConfigError;
use crate::config::expand::Names;
use crate::config::ini::Ini;
use crate::config::values;

/// supervisorctl: control a running supervisord.
///
/// With a command, run it and exit with its status; without one (or with -i), start an
/// interactive shell. Type "help" there for the list of commands.
#[derive(FromArgs, Debug, Default)]
pub struct Args {
    /// configuration file path (searched for when not given)
    #[argh(option, short = 'c')]
    pub configuration: Option<String>,
    /// start an interactive shell (the default without a command)
    #[argh(switch, short = 'i')]
    pub interactive: bool,
    /// URL of supervisord: unix:///path/to/socket or http://host:port
    #[argh(option, short = 's')]
    pub serverurl: Option<String>,
    /// username for the server
    #[argh(option, short = 'u')]
    pub username: Option<String>,
    /// password for the server
    #[argh(option, short = 'p')]
    pub password: Option<String>,
    /// file to keep the shell's command history in
    #[argh(option, short = 'r', long = "history-file")]
    pub history_file: Option<String>,
    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
}

const fn o(short: Option<char>, long: Option<&'static str>, takes_value: bool, argh: &'static str) -> Opt {
    Opt { short, long, takes_value, argh }
}

const SPEC: &[Opt] = &[
    o(Some('c'), Some("configuration"), true, "configuration"),
    o(Some('i'), Some("interactive"), false, "interactive"),
    o(Some('s'), Some("serverurl"), true, "serverurl"),
    o(Some('u'), Some("username"), true, "username"),
    o(Some('p'), Some("password"), true, "password"),
    o(Some('r'), Some("history_file"), true, "history-file"),
    // The spelling --help shows (argh's); the reference rejects it, we need not.
    o(None, Some("history-file"), true, "history-file"),
    o(None, Some("version"), false, "version"),
    o(Some('h'), Some("help"), false, "help"),
    o(Some('?'), None, false, "help"),
];

/// Everything supervisorctl needs to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<PathBuf>,
    pub interactive: bool,
    /// The command line after the options, joined with spaces (one command).
    pub command: Option<String>,
}

pub enum Parsed {
    Run(Options),
    Print(String),
}

pub fn help_text() -> String {
    let mut s = match Args::from_args(&["supervisorctl"], &["--help"]) {
        Err(e) => e.output,
        Ok(_) => String::new(),
    };
    s.push_str(
        "\nThe reference's spellings work too: --history_file, --serverurl=URL, and unique\n\
         prefixes such as --server URL.\n\nCommands: add avail clear exit fg help maintail open pid quit reload remove\n\
         reread restart shutdown signal start status stop tail update version\n\
         (`status --json` and `avail --json` print one JSON object per process.)\n",
    );
    s
}

pub fn parse(progname: &str, args: &[String]) -> Result<Parsed, String> {
    let p = getopt(args, SPEC)?;
    if p.has("help") {
        return Ok(Parsed::Print(help_text()));
    }
    let words = p.argh_words(&[])?;
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let a = Args::from_args(&["supervisorctl"], &refs).map_err(|e| e.output.trim().to_string())?;
    if a.version {
        return Ok(Parsed::Print(format!("{}\n", crate::SUPERVISOR_VERSION)));
    }
    if let Some(url) = &a.serverurl {
        values::url(url).map_err(|m| {
            let written = p.opts.iter().find(|(_, n, _)| *n == "serverurl").map(|(w, _, _)| w.as_str()).unwrap_or("-s");
            format!("invalid value for {written} {}: {m}", crate::config::ini::py_repr(url))
        })?;
    }
    let file = match &a.configuration {
        Some(c) => {
            if !Path::new(c).exists() {
                return Err(format!("could not find config file {c}"));
            }
            Some(PathBuf::from(c))
        }
        None => crate::config::search_paths(progname).into_iter().find(|p| p.exists()),
    };
    let mut opts = Options {
        serverurl: "http://localhost:9001".into(),
        username: None,
        password: None,
        prompt: "supervisor".into(),
        history_file: None,
        interactive: a.interactive || p.rest.is_empty(),
        command: (!p.rest.is_empty()).then(|| p.rest.join(" ")),
    };
    if let Some(file) = file {
        read_config(&file, &mut opts)?;
    }
    if let Some(u) = a.serverurl {
        opts.serverurl = u;
    }
    if a.username.is_some() {
        opts.username = a.username;
    }
    if a.password.is_some() {
        opts.password = a.password;
    }
    if let Some(h) = a.history_file {
        opts.history_file = Some(values::normalize_path(&h));
    }
    Ok(Parsed::Run(opts))
}

/// Reads `[supervisorctl]` (the section is required once a file is used).
fn read_config(path: &Path, opts: &mut Options) -> Result<(), String> {
    let mut ini = Ini::default();
    ini.read_file(path).map_err(|e| e.to_string())?;
    let section = "supervisorctl";
    if !ini.has_section(section) {
        let missing = ConfigError::new(".ini file does not include supervisorctl section".into());
        return Err(missing.in_file(path, None).to_string());
    }
    let here = crate::config::ini::abspath(path);
    let here = here.parent().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let env = crate::config::server::env_names();
    let mut with_here = env.clone();
    with_here.set_str("here", &here);
    let get = |key: &str, names: &Names| -> Result<Option<String>, String> {
        match ini.get(section, key) {
            None => Ok(None),
            Some(e) => crate::config::expand::expand(&e.value, names, &format!("{section}.{key}"))
                .map(Some)
                .map_err(|m| ConfigError::new(m).in_file(&e.file, Some(e.line)).at(section, Some(key)).to_string()),
        }
    };
    if let Some(url) = get("serverurl", &with_here)? {
        opts.serverurl = match url.strip_prefix("unix://") {
            Some(p) => format!("unix://{}", values::normalize_path(p).display()),
            None => url,
        };
    }
    if let Some(p) = get("prompt", &env)? {
        opts.prompt = p;
    }
    if let Some(u) = get("username", &env)? {
        opts.username = Some(u);
    }
    if let Some(p) = get("password", &env)? {
        opts.password = Some(p);
    }
    if let Some(h) = get("history_file", &with_here)? {
        if !h.is_empty() {
            opts.history_file = Some(values::normalize_path(&h));
        }
    }
    Ok(())
}
