//! supervisorctl: the control client. One command from the command line, or an
//! interactive shell; the same commands, output lines and exit codes as Supervisor
//! 4.3.0's (exit codes: reference §5.4).

pub mod client;
mod commands;
mod help;
mod json;
mod lineedit;
pub mod options;
mod shell;
mod stream;

use std::io::Write;

use client::{CallError, Client};
use options::Options;

/// LSB init exit statuses, as the reference uses them.
pub mod status {
    pub const GENERIC: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED_FEATURE: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_RUNNING: i32 = 7;
    /// LSB status codes (for `status`).
    pub const STATUS_NOT_RUNNING: i32 = 3;
    pub const STATUS_UNKNOWN: i32 = 4;
}

pub struct Ctl {
    pub opts: Options,
    pub exitstatus: i32,
    /// Process infos cached for tab completion, cleared before each command.
    complete_cache: Option<Vec<(String, String)>>,
}

/// Writes a line to stdout; a closed stdout is not an error worth dying for.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(line.as_bytes());
    let _ = stdout.write_all(b"\n");
    let _ = stdout.flush();
}

/// The result of a command: Err carries an RPC failure the command did not handle.
pub type CmdResult = Result<(), CallError>;

impl Ctl {
    pub fn new(opts: Options) -> Ctl {
        Ctl { opts, exitstatus: 0, complete_cache: None }
    }

    pub fn client(&self) -> Client {
        Client {
            serverurl: self.opts.serverurl.clone(),
            username: self.opts.username.clone(),
            password: self.opts.password.clone(),
        }
    }

    /// Splits a line as Python's cmd module does: a leading `?` means help, the command
    /// is the leading run of identifier characters, the rest (trimmed) is its argument.
    fn parse_line(line: &str) -> (String, String) {
        let line = line.trim();
        let line = match line.strip_prefix('?') {
            Some(rest) => format!("help {rest}"),
            None => line.to_string(),
        };
        let end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(line.len());
        (line[..end].to_string(), line[end..].trim().to_string())
    }

    /// Runs one command line; returns true when the shell should end.
    pub fn onecmd(&mut self, line: &str) -> bool {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return false;
        }
        self.complete_cache = None;
        let (cmd, arg) = Self::parse_line(trimmed);
        if cmd.is_empty() || !commands::exists(&cmd) {
            out(&format!("*** Unknown syntax: {trimmed}"));
            self.exitstatus = status::GENERIC;
            return false;
        }
        match commands::run(self, &cmd, &arg) {
            Ok(done) => done,
            Err(CallError::Http(401, _)) => {
                out("Server requires authentication");
                if self.opts.interactive && shell::ask_credentials(&mut self.opts) {
                    return self.onecmd(line);
                }
                self.exitstatus = status::GENERIC;
                false
            }
            Err(e) => {
                self.report(&e);
                false
            }
        }
    }

    /// The reference's catch-all line for an error a command did not handle.
    fn report(&mut self, e: &CallError) {
        out(&format!("error: {}: file: {} line: 0", e.python_repr(), self.opts.serverurl));
        self.exitstatus = status::GENERIC;
    }

    /// getVersion before most commands; prints why the server cannot be used.
    pub fn upcheck(&mut self) -> Result<bool, CallError> {
        match self.client().call("supervisor.getVersion", &[]) {
            Ok(v) => {
                let api = v.as_str().unwrap_or("");
                if api != crate::wire::names::API_VERSION {
                    out(&format!(
                        "Sorry, this version of supervisorctl expects to talk to a server with API version {}, but the remote version is {api}.",
                        crate::wire::names::API_VERSION
                    ));
                    self.exitstatus = status::NOT_INSTALLED;
                    return Ok(false);
                }
                Ok(true)
            }
            Err(CallError::Fault(f)) if f.code == 1 => {
                out("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                self.exitstatus = status::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Err(CallError::Connect(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                out(&format!("{} refused connection", self.opts.serverurl));
                self.exitstatus = status::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(CallError::Connect(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                out(&format!("{} no such file", self.opts.serverurl));
                self.exitstatus = status::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => {
                self.exitstatus = status::GENERIC;
                Err(e)
            }
        }
    }

    /// The fault-to-exit-status rule of start, stop, signal and clear.
    pub fn set_exitstatus_from_fault(&mut self, code: i32, ignored: Option<i32>) {
        if Some(code) == ignored || code == 80 {
            return;
        }
        self.exitstatus = if matches!(code, 50 | 40 | 70) { status::NOT_RUNNING } else { status::GENERIC };
    }

    /// Process (name, group) pairs for completion, fetched once per command.
    pub fn complete_info(&mut self) -> Vec<(String, String)> {
        if self.complete_cache.is_none() {
            let infos = match self.client().call("supervisor.getAllProcessInfo", &[]) {
                Ok(crate::wire::xmlrpc::Value::Array(items)) => items
                    .iter()
                    .map(|i| {
                        let s = |k| i.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                        (s("name"), s("group"))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            self.complete_cache = Some(infos);
        }
        self.complete_cache.clone().unwrap_or_default()
    }
}

pub fn main(progname: &str, args: &[String]) -> i32 {
    crate::init_client_logging();
    let opts = match options::parse(progname, args) {
        Ok(options::Parsed::Run(o)) => o,
        Ok(options::Parsed::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            eprintln!("For help, use {progname} -h");
            return 2;
        }
    };
    let command = opts.command.clone();
    let mut ctl = Ctl::new(opts);
    match command {
        Some(line) => {
            // A command on the command line runs alone, even with -i.
            ctl.onecmd(&line);
            ctl.exitstatus
        }
        None => {
            shell::run(&mut ctl);
            0
        }
    }
}
