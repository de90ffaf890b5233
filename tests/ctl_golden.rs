//! Golden tests for supervisorctl: scripted command sequences run by our client and by
//! the reference Python client (Supervisor 4.3.0 from PyPI), each against our daemon
//! and against the reference supervisord. Every (client, daemon) pair runs the whole
//! sequence on a fresh daemon of its own, and the transcripts (stdout and exit code of
//! each step) are compared with the reference client on the reference daemon.
//!
//! Normalised, because they differ by nature: pids, uptimes, dates, the temp dir path,
//! the `file: ... line: N` tail of the reference's traceback lines, the content of the
//! main log (maintail steps compare the byte count only), and the order of results of
//! `start/stop/restart all|group:*` (the reference reports them in completion order).
//!
//! Deliberate differences (not findings):
//! * help texts: the usage syntax and layout are the reference's, the descriptions are
//!   our own words. Help lines are compared up to the end of their first run of tabs
//!   (the usage and the alignment); the `Note:` line of
//!   `help restart` is compared up to its colon, and our extra `status --json [...]`
//!   usage line is dropped.
//! * HTTP 401 without a shell: the reference prints `Server requires authentication`
//!   and then (a bug: it runs the command again) an `error: <class
//!   'xmlrpc.client.ProtocolError'>, ...` line; we print only the first line.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

// ---------------------------------------------------------------------------------------
// Daemons and clients of both implementations.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Impl {
    Ours,
    Ref,
}

const PAIRS: [(Impl, Impl); 4] =
    [(Impl::Ref, Impl::Ref), (Impl::Ours, Impl::Ours), (Impl::Ours, Impl::Ref), (Impl::Ref, Impl::Ours)];

/// A supervisord (ours or the reference) in the foreground on a generated config.
struct Server {
    dir: TempDir,
    conf: PathBuf,
    child: Option<Child>,
}

/// Everything but `[supervisord]`: the control socket, the rpc interface the reference
/// needs, the `[supervisorctl]` section both clients read through `-c`.
fn base_sections() -> String {
    "[unix_http_server]\nfile={dir}/sv.sock\n\n\
     [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
     [supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n"
        .to_string()
}

impl Server {
    fn start(which: Impl, tag: &str, body: &str) -> Server {
        let dir = TempDir::new(tag);
        let text = format!(
            "{}\n{}",
            supervisord_section(dir.path(), ""),
            body.replace("{dir}", &dir.path().display().to_string())
        );
        let conf = dir.write("supervisord.conf", &text);
        let mut cmd = match which {
            Impl::Ours => {
                let mut c = Command::new(bin());
                c.arg("supervisord");
                c
            }
            Impl::Ref => reference_tool("supervisord"),
        };
        let child = cmd
            .arg("-n")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start supervisord");
        let s = Server { dir, conf, child: Some(child) };
        assert!(
            wait_until(Duration::from_secs(20), || s.log().contains("supervisord started with pid")),
            "{which:?} supervisord did not start; log:\n{}",
            s.log()
        );
        s.autostarted();
        s
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("supervisord.log")).unwrap_or_default()
    }

    fn dir_str(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Our client on this daemon's config.
    fn ours(&self, words: &[&str]) -> (String, i32) {
        let o = run(tool("supervisorctl").arg("-c").arg(&self.conf).args(words));
        (stdout(&o), o.status.code().unwrap_or(-1))
    }

    /// Waits until the daemon answers and no process is in a transitional state.
    fn settle(&self) {
        let ok = wait_until(Duration::from_secs(20), || {
            let (out, code) = self.ours(&["status"]);
            (code == 0 || code == 3)
                && !out.is_empty()
                && !["STARTING", "STOPPING", "BACKOFF"].iter().any(|s| out.contains(s))
        });
        assert!(ok, "the daemon did not settle: {:?}\nlog:\n{}", self.ours(&["status"]), self.log());
    }

    /// After a (re)start: waits until the autostart programs have been started (before
    /// its first loop a daemon shows them all `STOPPED Not started`), then settles.
    fn autostarted(&self) {
        let ok = wait_until(Duration::from_secs(20), || {
            let (out, _) = self.ours(&["status"]);
            !out.is_empty()
                && out.lines().all(|l| {
                    let mut words = l.split_whitespace();
                    match (words.next(), words.next()) {
                        (Some("sleeper" | "talker" | "grp:gsleep" | "added"), state) => state == Some("RUNNING"),
                        (Some("exiter"), state) => state == Some("EXITED"),
                        _ => true,
                    }
                })
        });
        assert!(ok, "the autostart programs did not start: {:?}\nlog:\n{}", self.ours(&["status"]), self.log());
        self.settle();
    }

    /// Edits the config file: replaces `from` (which must occur) with `to`.
    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.conf).expect("read conf");
        let from = from.replace("{dir}", &self.dir_str());
        assert!(text.contains(&from), "config does not contain {from:?}");
        std::fs::write(&self.conf, text.replace(&from, &to.replace("{dir}", &self.dir_str()))).expect("write conf");
    }

    fn wait_exit(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else { return true };
        let done = wait_until(Duration::from_secs(20), || matches!(child.try_wait(), Ok(Some(_))));
        if done {
            self.child = None;
        }
        done
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child, Duration::from_secs(15));
        }
    }
}

/// The reference client, run through tests/support/ref_ctl.py: supervisorctl's own
/// `main()` in a child forked from one Python process that imported it once (the same
/// code the console script runs, without the import time of every invocation).
struct RefCtl {
    child: Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl RefCtl {
    fn new() -> RefCtl {
        let mut child = Command::new(reference_python())
            .arg(repo_root().join("tests/support/ref_ctl.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ref_ctl.py");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        RefCtl { child, stdin, stdout }
    }

    fn run(&mut self, words: &[String]) -> (String, i32) {
        use std::io::{BufRead, Read, Write};
        let line = words.join("\x1f");
        writeln!(self.stdin, "{line}").expect("write to ref_ctl.py");
        self.stdin.flush().expect("flush ref_ctl.py");
        let mut head = String::new();
        self.stdout.read_line(&mut head).expect("read from ref_ctl.py");
        let (code, len) = head.trim().split_once(' ').expect("ref_ctl.py header");
        let mut data = vec![0u8; len.parse().expect("length")];
        self.stdout.read_exact(&mut data).expect("read output");
        (String::from_utf8_lossy(&data).into_owned(), code.parse().expect("code"))
    }
}

impl Drop for RefCtl {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

enum Runner {
    Ours,
    Ref(RefCtl),
}

impl Runner {
    fn new(which: Impl) -> Runner {
        match which {
            Impl::Ours => Runner::Ours,
            Impl::Ref => Runner::Ref(RefCtl::new()),
        }
    }

    /// Runs `-c conf` (when given) and the words of `line` (`{dir}` substituted).
    fn ctl(&mut self, conf: &Path, dir: &str, line: &str) -> (String, i32) {
        let mut words: Vec<String> = Vec::new();
        if !conf.as_os_str().is_empty() {
            words.push("-c".into());
            words.push(conf.display().to_string());
        }
        words.extend(line.split_whitespace().map(|w| w.replace("{dir}", dir)));
        match self {
            Runner::Ours => {
                let o = run(tool("supervisorctl").args(&words));
                (stdout(&o), o.status.code().unwrap_or(-1))
            }
            Runner::Ref(r) => r.run(&words),
        }
    }
}

/// The real command-line tools (not the fork server): our `supervisorctl` symlink, or
/// the venv's `supervisorctl` script.
fn client(which: Impl) -> Command {
    match which {
        Impl::Ours => tool("supervisorctl"),
        Impl::Ref => reference_tool("supervisorctl"),
    }
}

/// Runs a real client with `args`; stdout and exit code.
fn ctl(which: Impl, args: &[&str]) -> (String, i32) {
    let o = run(client(which).args(args));
    (stdout(&o), o.status.code().unwrap_or(-1))
}

// ---------------------------------------------------------------------------------------
// Normalising what differs by nature.

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `H:MM:SS`, `HH:MM` shapes.
fn is_clock(s: &str, parts: usize) -> bool {
    let p: Vec<&str> = s.split(':').collect();
    p.len() == parts && p.iter().all(|x| all_digits(x)) && p[1..].iter().all(|x| x.len() == 2)
}

fn normalize_line(line: &str) -> String {
    // Help texts: the usage part and the tabs after it (the layout); the descriptions
    // are our own words.
    let mut line = match line.find('\t') {
        Some(at) => {
            let tabs = line[at..].chars().take_while(|c| *c == '\t').count();
            line[..at + tabs].to_string()
        }
        None => line.to_string(),
    };
    if line.starts_with("Note: ") {
        line = "Note:".into();
    }
    // The traceback tail: `file: <file> line: <n>`.
    if line.starts_with("error: <class") {
        if let Some(at) = line.rfind(": file: ") {
            line = format!("{}: file: F line: L", &line[..at]);
        }
    }
    // A bare pid (the `pid` command); 0 means "not running" and stays.
    if all_digits(&line) && line != "0" {
        return "PID".into();
    }
    // Word-level: `pid N,`, `uptime H:MM:SS`, `Nov 21 07:36 AM`.
    let words: Vec<&str> = line.split(' ').collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if i + 3 < words.len()
            && MONTHS.contains(&w)
            && words[i + 1].len() == 2
            && all_digits(words[i + 1])
            && is_clock(words[i + 2], 2)
            && (words[i + 3] == "AM" || words[i + 3] == "PM")
        {
            out.push("DATE".into());
            i += 4;
            continue;
        }
        if i > 0 && words[i - 1] == "pid" && all_digits(w.trim_end_matches(',')) {
            out.push(if w.ends_with(',') { "N,".into() } else { "N".into() });
        } else if i > 0 && words[i - 1] == "uptime" && is_clock(w, 3) {
            out.push("H:MM:SS".into());
        } else {
            out.push(w.to_string());
        }
        i += 1;
    }
    out.join(" ")
}

fn normalize(text: &str, dir: &str) -> String {
    let text = text.replace(dir, "{dir}");
    let mut lines: Vec<String> = Vec::new();
    for l in text.split('\n') {
        if l.starts_with("status --json") || l.starts_with("status -l") {
            continue; // our extensions' usage lines
        }
        lines.push(normalize_line(l));
    }
    lines.join("\n")
}

// ---------------------------------------------------------------------------------------
// Scripted sequences.

#[derive(Clone, Copy)]
enum Step {
    /// A client command line (`{dir}` is the daemon's directory).
    Ctl(&'static str),
    /// A command whose results come in completion order: lines compared as sets, the
    /// stop phase before the start phase.
    Unordered(&'static str),
    /// A command printing daemon-specific text (the main log): compare its byte count.
    Bytes(&'static str),
    /// Edit the config file: replace the first text with the second.
    Conf(&'static str, &'static str),
    /// Wait for no STARTING/STOPPING/BACKOFF.
    Settle,
    /// Wait for the daemon to have restarted (`reload`), then settle.
    Restarted,
    /// Wait for the daemon to exit (`shutdown`).
    Exited,
    /// Poll our client with a command until its output contains a text (not recorded).
    Until(&'static str, &'static str),
}
use Step::*;

fn start_phase(line: &str) -> bool {
    line.ends_with(": started") || line.contains("(spawn error)") || line.contains("(no such file)")
}

/// (command, normalised stdout with the exit code) per command step.
type Transcript = Vec<(String, String)>;

fn run_sequence(tag: &str, body: &str, steps: &[Step], client_impl: Impl, daemon_impl: Impl) -> Transcript {
    let mut server = Server::start(daemon_impl, tag, body);
    let mut runner = Runner::new(client_impl);
    let dir = server.dir_str();
    let mut transcript = Vec::new();
    for step in steps {
        let (cmd, out, code) = match *step {
            Ctl(c) | Unordered(c) | Bytes(c) => {
                let (out, code) = runner.ctl(&server.conf, &dir, c);
                (c, out, code)
            }
            Conf(from, to) => {
                server.edit(from, to);
                continue;
            }
            Settle => {
                server.settle();
                continue;
            }
            Restarted => {
                let ok = wait_until(Duration::from_secs(20), || {
                    server.log().matches("supervisord started with pid").count() >= 2
                });
                assert!(ok, "{daemon_impl:?} supervisord did not restart; log:\n{}", server.log());
                server.autostarted();
                continue;
            }
            Exited => {
                assert!(server.wait_exit(), "{daemon_impl:?} supervisord did not exit after shutdown");
                continue;
            }
            Until(c, text) => {
                let words: Vec<&str> = c.split_whitespace().collect();
                let ok = wait_until(Duration::from_secs(20), || server.ours(&words).0.contains(text));
                assert!(ok, "`{c}` never printed {text:?} on the {daemon_impl:?} daemon: {:?}", server.ours(&words));
                continue;
            }
        };
        // Let the state settle between commands, as a user typing them would: a spawn
        // error leaves BACKOFF for FATAL on the daemon's next tick, and a program
        // reported RUNNING at once (startsecs=0) may not have exec'ed yet; the reference
        // daemon loses a SIGTERM that arrives before the exec.
        let first = cmd.split_whitespace().next().unwrap_or("");
        if server.child.is_some() && ["start", "restart", "update", "add"].contains(&first) {
            std::thread::sleep(Duration::from_millis(150));
        }
        if server.child.is_some() && ["start", "restart", "stop", "update", "add", "remove", "signal"].contains(&first)
        {
            server.settle();
        }
        let mut text = normalize(&out, &dir);
        match *step {
            Bytes(_) => text = format!("<{} bytes>", out.len()),
            Unordered(_) => {
                let mut lines: Vec<&str> = text.lines().collect();
                lines.sort_by_key(|l| (start_phase(l), l.to_string()));
                let newline = if text.ends_with('\n') { "\n" } else { "" };
                text = lines.join("\n") + newline;
            }
            _ => {}
        }
        transcript.push((cmd.to_string(), format!("{text}[exit {code}]")));
    }
    transcript
}

/// Runs `steps` for every (client, daemon) pair, in parallel, each on a fresh daemon,
/// and compares every transcript with the reference client on the reference daemon.
fn golden(tag: &str, body: &str, steps: &[Step]) {
    let results: Vec<((Impl, Impl), Transcript)> = std::thread::scope(|s| {
        let handles: Vec<_> = PAIRS
            .iter()
            .enumerate()
            .map(|(n, &(c, d))| {
                let tag = format!("{tag}{n}");
                s.spawn(move || ((c, d), run_sequence(&tag, body, steps, c, d)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("sequence thread")).collect()
    });
    let golden = &results[0].1;
    if std::env::var_os("CTL_GOLDEN_SHOW").is_some() {
        // `CTL_GOLDEN_SHOW=1 cargo test --test ctl_golden -- --nocapture` shows the reference.
        for (cmd, text) in golden {
            println!("$ {cmd}\n{text}");
        }
    }
    let mut report = String::new();
    for ((c, d), transcript) in &results[1..] {
        assert_eq!(transcript.len(), golden.len());
        for ((cmd, want), (_, got)) in golden.iter().zip(transcript) {
            if want != got {
                report.push_str(&format!(
                    "--- `{cmd}` with the {c:?} client on the {d:?} daemon\n  reference:\n{}\n  got:\n{}\n",
                    indent(want),
                    indent(got)
                ));
            }
        }
    }
    assert!(report.is_empty(), "transcripts differ from the reference:\n{report}");
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    |{l}")).collect::<Vec<_>>().join("\n")
}

/// The program set of the golden sequences.
fn programs() -> String {
    base_sections()
        + "[program:sleeper]\ncommand=sleep 1000\nstartsecs=0\n\n\
           [program:talker]\ncommand=sh -c 'echo out-line; echo err-line >&2; exec sleep 1000'\nstartsecs=0\n\n\
           [program:quick]\ncommand=sh -c 'exit 3'\nautostart=false\nstartretries=0\n\n\
           [program:exiter]\ncommand=true\nstartsecs=0\nautorestart=false\n\n\
           [program:missing]\ncommand=/no/such/binary\nautostart=false\n\n\
           [program:nolog]\ncommand=sleep 1000\nstdout_logfile=NONE\nautostart=false\nstartsecs=0\n\n\
           [group:grp]\nprograms=gsleep,gmanual\n\n\
           [program:gsleep]\ncommand=sleep 1000\nstartsecs=0\n\n\
           [program:gmanual]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n\n"
}

// ---------------------------------------------------------------------------------------
// The golden sequences.

#[test]
fn golden_status_pid_version_avail() {
    golden(
        "gs",
        &programs(),
        &[
            Ctl("status"),
            Ctl("status all"),
            Ctl("status sleeper"),
            Ctl("status grp:*"),
            Ctl("status grp:"),
            Ctl("status grp:gsleep talker"),
            Ctl("status nosuch"),
            Ctl("status nosuchgroup:*"),
            Ctl("status grp:nosuch"),
            Ctl("status sleeper nosuch"),
            Ctl("status exiter"),
            Ctl("pid"),
            Ctl("pid sleeper"),
            Ctl("pid grp:gsleep"),
            Ctl("pid quick"),
            Ctl("pid all"),
            Ctl("pid nosuch"),
            Ctl("pid sleeper nosuch"),
            Ctl("version"),
            Ctl("version x"),
            Ctl("avail"),
            Ctl("avail x"),
            Ctl("open foo://bar"),
            Ctl("open"),
            Ctl("open unix://{dir}/sv.sock"),
            Ctl("fg"),
            Ctl("fg a b"),
            Ctl("fg nosuch"),
            Ctl("fg quick"),
        ],
    );
}

#[test]
fn golden_help_and_unknown_commands() {
    let mut steps = vec![Ctl("help"), Ctl("?"), Ctl("help bogus"), Ctl("bogus"), Ctl("bogus with args")];
    for topic in [
        "add", "avail", "clear", "exit", "fg", "help", "maintail", "open", "pid", "quit", "reload", "remove", "reread",
        "restart", "shutdown", "signal", "start", "status", "stop", "tail", "update", "version",
    ] {
        steps.push(Ctl(Box::leak(format!("help {topic}").into_boxed_str())));
    }
    steps.push(Ctl("EOF"));
    golden("gh", &programs(), &steps);
}

#[test]
fn golden_start_stop_restart() {
    // Without `exiter`: whether starting a program that exits at once with startsecs=0
    // gives `started` or `ERROR (abnormal termination)` is a race in the reference.
    golden(
        "gss",
        &programs().replace(EXITER, ""),
        &[
            Ctl("start"),
            Ctl("stop"),
            Ctl("restart"),
            Ctl("start nosuch"),
            Ctl("start nosuchgroup:*"),
            Ctl("stop nosuch"),
            Ctl("stop nosuchgroup:*"),
            Ctl("restart nosuch"),
            Ctl("start sleeper"),
            Ctl("start quick"),
            Ctl("status quick"),
            Ctl("start missing"),
            Ctl("status missing"),
            Ctl("stop sleeper"),
            Ctl("stop sleeper"),
            Ctl("status sleeper"),
            Ctl("start sleeper"),
            Ctl("start sleeper nosuch quick"),
            Ctl("start sleeper quick"),
            Ctl("stop grp:*"),
            Ctl("status grp:*"),
            Unordered("start grp:*"),
            Ctl("restart grp:gmanual"),
            Ctl("stop grp:gmanual"),
            Ctl("restart grp:gmanual"),
            Unordered("restart grp:*"),
            Ctl("start grp:*"),
            Ctl("restart sleeper talker"),
            Unordered("stop all"),
            Ctl("stop all"),
            Ctl("status"),
            Unordered("start all"),
            Unordered("start all"),
            Unordered("restart all"),
            Settle,
            Ctl("status"),
        ],
    );
}

#[test]
fn golden_signal() {
    golden(
        "gsi",
        &programs(),
        &[
            Ctl("signal"),
            Ctl("signal HUP"),
            Ctl("signal WINCH sleeper"),
            Ctl("signal winch sleeper"),
            Ctl("signal SIGWINCH sleeper"),
            Ctl("signal 28 sleeper"),
            Ctl("signal BOGUS sleeper"),
            Ctl("signal WINCH quick"),
            Ctl("signal WINCH nosuch"),
            Ctl("signal WINCH nosuchgroup:*"),
            Ctl("signal WINCH grp:*"),
            Ctl("signal WINCH sleeper talker"),
            Unordered("signal WINCH all"),
            Ctl("status"),
        ],
    );
}

#[test]
fn golden_tail_maintail_clear() {
    golden(
        "gt",
        &programs(),
        &[
            Until("tail talker", "out-line"),
            Until("tail talker stderr", "err-line"),
            Ctl("tail talker"),
            Ctl("tail talker stdout"),
            Ctl("tail talker stderr"),
            Ctl("tail talker STDERR"),
            Ctl("tail -4 talker"),
            Ctl("tail -4 talker stderr"),
            Ctl("tail -0 talker"),
            Ctl("tail talker bogus"),
            Ctl("tail -x talker"),
            Ctl("tail -f5 talker"),
            Ctl("tail a b c d"),
            Ctl("tail"),
            Ctl("tail -4"),
            Ctl("tail nolog"),
            Ctl("tail nolog stderr"),
            Ctl("tail nosuch"),
            Ctl("tail grp:gsleep"),
            Bytes("maintail -30"),
            Bytes("maintail -100"),
            Ctl("maintail -x"),
            Ctl("maintail x"),
            Ctl("maintail a b"),
            Ctl("clear talker"),
            Ctl("tail talker"),
            Ctl("tail talker stderr"),
            Ctl("clear nosuch"),
            Ctl("clear"),
            Ctl("clear sleeper nosuch"),
            Unordered("clear all"),
        ],
    );
}

/// The config changes of the reread/update sequence.
const ADDED: &str = "[program:added]\ncommand=sleep 1000\nstartsecs=0\n\n";
const TALKER: &str = "command=sh -c 'echo out-line; echo err-line >&2; exec sleep 1000'";
const EXITER: &str = "[program:exiter]\ncommand=true\nstartsecs=0\nautorestart=false\n\n";

#[test]
fn golden_reread_update_add_remove() {
    golden(
        "gu",
        &programs(),
        &[
            Ctl("reread"),
            Ctl("update"),
            Ctl("reread x"),
            Conf("[group:grp]", "[program:added]\ncommand=sleep 1000\nstartsecs=0\n\n[group:grp]"),
            Conf(TALKER, "command=sh -c 'echo changed; exec sleep 1000'"),
            Conf(EXITER, ""),
            Ctl("reread"),
            Ctl("avail"),
            Ctl("update nosuch"),
            Ctl("update talker"),
            Settle,
            Until("tail talker", "changed"),
            Ctl("status talker"),
            Ctl("tail talker"),
            Ctl("reread"),
            Ctl("update all"),
            Settle,
            Ctl("status"),
            Ctl("reread"),
            Ctl("update"),
            Ctl("update grp"),
            Conf("[program:gmanual]\ncommand=sleep 1000", "[program:gmanual]\ncommand=sleep 999"),
            Ctl("update grp"),
            Settle,
            Ctl("status grp:*"),
            Ctl("remove sleeper"),
            Ctl("stop sleeper"),
            Ctl("remove sleeper"),
            Ctl("remove sleeper"),
            Ctl("status sleeper"),
            Ctl("add sleeper"),
            Settle,
            Ctl("status sleeper"),
            Ctl("add sleeper"),
            Ctl("add nosuch"),
            Ctl("remove nosuch"),
            Ctl("add"),
            Ctl("remove"),
            Conf(ADDED, ""),
            Ctl("reread"),
            Ctl("stop added"),
            Ctl("update added"),
            Ctl("avail"),
        ],
    );
}

#[test]
fn golden_reload_shutdown_then_no_daemon() {
    golden(
        "gr",
        &programs(),
        &[
            Ctl("reload x"),
            Ctl("shutdown x"),
            Ctl("reload"),
            Restarted,
            Ctl("status"),
            Ctl("shutdown"),
            Exited,
            Ctl("shutdown"),
            Ctl("status"),
            Ctl("start sleeper"),
            Ctl("stop sleeper"),
            Ctl("pid"),
            Ctl("version"),
            Ctl("tail sleeper"),
            Ctl("avail"),
            Ctl("reread"),
            Ctl("update"),
            Ctl("add sleeper"),
            Ctl("remove sleeper"),
            Ctl("reload"),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Findings: single steps where we differ from the reference, kept apart so the
// sequences above stay green. Each expects the reference's output.

#[test]
fn golden_quit_exit() {
    golden("gq", &programs(), &[Ctl("quit"), Ctl("exit")]);
}

#[test]
fn golden_start_all_result_order() {
    // exiter would race (see golden_start_stop_restart); nolog (startsecs=0) starts at once.
    golden("gso", &programs().replace(EXITER, ""), &[Ctl("start all")]);
}

#[test]
fn golden_clear_group_namespec() {
    golden("gc", &programs(), &[Ctl("clear grp:*"), Ctl("clear grp:")]);
}

// ---------------------------------------------------------------------------------------
// Exit codes (reference §5.4), the two ways to start the client, options and the
// [supervisorctl] section, `status --json`.

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Runs `args` with both real clients; asserts the exit code and the first stdout line
/// (after normalising) of each, and that both print the same.
fn expect_both(args: &[&str], dir: &str, code: i32, first: &str) {
    let mut seen = Vec::new();
    for which in [Impl::Ours, Impl::Ref] {
        let (out, got) = ctl(which, args);
        let text = normalize(&out, dir);
        assert_eq!(
            (got, text.lines().next().unwrap_or("")),
            (code, first),
            "{which:?} supervisorctl {args:?}: output:\n{out}"
        );
        seen.push(text);
    }
    assert_eq!(seen[0], seen[1], "our output (left) differs from the reference's for {args:?}");
}

#[test]
fn exit_codes_of_reference_5_4() {
    let s = Server::start(Impl::Ours, "ec", &programs());
    let dir = s.dir_str();
    let conf = s.conf.display().to_string();
    let c = |rest: &[&'static str]| -> Vec<String> {
        let mut v = vec!["-c".to_string(), conf.clone()];
        v.extend(rest.iter().map(|w| w.to_string()));
        v
    };
    let cases: &[(&[&str], i32, &str)] = &[
        (&["status"], 3, "exiter                           EXITED    DATE"),
        (&["status", "sleeper"], 0, "sleeper                          RUNNING   pid N, uptime H:MM:SS"),
        (&["status", "nosuch"], 4, "nosuch: ERROR (no such process)"),
        (&["start"], 2, "Error: start requires a process name"),
        (&["stop"], 1, "Error: stop requires a process name"),
        (&["pid", "quick"], 7, "0"),
        (&["signal", "HUP", "quick"], 7, "quick: ERROR (not running)"),
        (&["start", "quick"], 7, "quick: ERROR (spawn error)"),
        (&["start", "sleeper"], 0, "sleeper: ERROR (already started)"),
        (&["stop", "quick"], 0, "quick: ERROR (not running)"),
        (&["bogus"], 1, "*** Unknown syntax: bogus"),
    ];
    for (rest, code, first) in cases {
        let args = c(rest);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_both(&refs, &dir, *code, first);
        s.settle();
    }

    // A config of the client's own, so that no search path is consulted.
    let client_conf = s.dir.write("client.conf", "[supervisorctl]\n").display().to_string();
    // Connection refused: 4 with and without an upcheck-command; shutdown says 1.
    let port = closed_port();
    let url = format!("http://127.0.0.1:{port}");
    let refused = format!("{url} refused connection");
    expect_both(&["-c", &client_conf, "-s", &url, "status"], &dir, 4, &refused);
    expect_both(&["-c", &client_conf, "-s", &url, "start", "x"], &dir, 4, &refused);
    expect_both(
        &["-c", &client_conf, "-s", &url, "shutdown"],
        &dir,
        1,
        &format!("ERROR: {refused} (already shut down?)"),
    );
    // A missing unix socket: 7, 4 for status, 1 with the traceback line for avail.
    let sock = format!("unix://{dir}/nosuch.sock");
    let nofile = "unix://{dir}/nosuch.sock no such file";
    expect_both(&["-c", &client_conf, "-s", &sock, "status"], &dir, 4, nofile);
    expect_both(&["-c", &client_conf, "-s", &sock, "start", "x"], &dir, 7, nofile);
    expect_both(&["-c", &client_conf, "-s", &sock, "pid"], &dir, 7, nofile);
    expect_both(
        &["-c", &client_conf, "-s", &sock, "avail"],
        &dir,
        1,
        "error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: F line: L",
    );
}

#[test]
fn subcommand_and_symlink_behave_the_same() {
    let s = Server::start(Impl::Ours, "sym", &programs());
    let conf = s.conf.display().to_string();
    // Commands that leave the state as they found it, so the three runs see the same.
    let commands: [&[&str]; 6] = [
        &["restart", "grp:gsleep"],
        &["restart", "grp:nosuch"],
        &["restart", "sleeper", "talker"],
        &["status"],
        &["pid", "nosuch"],
        &["bogus"],
    ];
    for rest in commands {
        let mut results = Vec::new();
        for how in ["symlink", "ctl", "supervisorctl"] {
            let mut cmd = match how {
                "symlink" => tool("supervisorctl"),
                sub => {
                    let mut c = Command::new(bin());
                    c.arg(sub);
                    c
                }
            };
            let o = run(cmd.arg("-c").arg(&conf).args(rest));
            results.push((how, normalize(&stdout(&o), &s.dir_str()), o.status.code()));
            s.settle();
        }
        assert_eq!(results[0].1, results[1].1, "{rest:?}: {results:?}");
        assert_eq!(results[0].2, results[1].2, "{rest:?}: {results:?}");
        assert_eq!(results[0].1, results[2].1, "{rest:?}: {results:?}");
        assert_eq!(results[0].2, results[2].2, "{rest:?}: {results:?}");
    }
    let o = run(tool("supervisorctl").arg("-c").arg(&conf).args(["restart", "grp:gsleep"]));
    assert_eq!((stdout(&o).as_str(), o.status.code()), ("grp:gsleep: stopped\ngrp:gsleep: started\n", Some(0)));
}

#[test]
fn options_and_the_supervisorctl_section() {
    let port = closed_port();
    let body = programs().replace(
        "[rpcinterface:supervisor]",
        &format!(
            "[inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=secret\n\n[rpcinterface:supervisor]"
        ),
    );
    let s = Server::start(Impl::Ours, "opt", &body);
    let dir = s.dir_str();
    let http = format!("http://127.0.0.1:{port}");
    let sleeper_line = "sleeper                          RUNNING   pid N, uptime H:MM:SS";

    // serverurl with %(here)s, from a config file elsewhere than the daemon's.
    let here = s.dir.write("sub/here.conf", "[supervisorctl]\nserverurl=unix://%(here)s/../sv.sock\n");
    let here = here.display().to_string();
    expect_both(&["-c", &here, "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(&["--configuration", &here, "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(&[&format!("--configuration={here}"), "status", "sleeper"], &dir, 0, sleeper_line);

    // -s overrides the section's serverurl.
    let bogus =
        s.dir.write("bogus.conf", "[supervisorctl]\nserverurl=unix:///nonexistent/sv.sock\n").display().to_string();
    let sock = format!("unix://{dir}/sv.sock");
    expect_both(&["-c", &bogus, "-s", &sock, "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(&["-c", &bogus, &format!("--serverurl={sock}"), "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(&["-c", &bogus, "status", "sleeper"], &dir, 4, "unix:///nonexistent/sv.sock no such file");

    // Credentials on the command line.
    expect_both(&["-c", &bogus, "-s", &http, "-u", "user", "-p", "secret", "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(
        &["-c", &bogus, "--serverurl", &http, "--username=user", "--password=secret", "pid", "sleeper"],
        &dir,
        0,
        "PID",
    );

    // Credentials in the section; -p on the command line overrides the password.
    let creds = s
        .dir
        .write("creds.conf", &format!("[supervisorctl]\nserverurl={http}\nusername=user\npassword=secret\n"))
        .display()
        .to_string();
    expect_both(&["-c", &creds, "status", "sleeper"], &dir, 0, sleeper_line);
    expect_both(&["-c", &creds, "version"], &dir, 0, "4.3.0");

    // 401: no credentials, a wrong password, a wrong user. We print one line; the
    // reference adds an `error: <class 'xmlrpc.client.ProtocolError'>` line (a bug of
    // its own: it runs the command a second time) -- a deliberate difference.
    let wrong: [Vec<&str>; 4] = [
        vec!["-c", &bogus, "-s", &http, "status"],
        vec!["-c", &bogus, "-s", &http, "-u", "user", "-p", "wrong", "status"],
        vec!["-c", &bogus, "-s", &http, "-u", "nobody", "-p", "secret", "start", "sleeper"],
        vec!["-c", &creds, "-p", "wrong", "avail"],
    ];
    for args in &wrong {
        let (ours, code) = ctl(Impl::Ours, args);
        assert_eq!((ours.as_str(), code), ("Server requires authentication\n", 1), "ours {args:?}");
        let (theirs, code) = ctl(Impl::Ref, args);
        let lines: Vec<&str> = theirs.lines().collect();
        assert_eq!(code, 1, "reference {args:?}: {theirs}");
        assert_eq!(lines.first(), Some(&"Server requires authentication"), "reference {args:?}: {theirs}");
        assert!(
            lines.get(1).is_some_and(|l| l.starts_with("error: <class 'xmlrpc.client.ProtocolError'>")),
            "the reference's extra line changed {args:?}: {theirs}"
        );
    }
}

#[test]
fn status_json() {
    let s = Server::start(Impl::Ours, "json", &programs());
    let conf = s.conf.display().to_string();
    let check = r#"
import json, sys
keys = {"name", "group", "description", "start", "stop", "now", "state", "statename", "spawnerr",
        "exitstatus", "logfile", "stdout_logfile", "stderr_logfile", "pid", "uptime"}
data = json.load(sys.stdin)
assert isinstance(data, list), type(data)
for obj in data:
    assert isinstance(obj, dict), obj
    missing = keys - set(obj)
    assert not missing, (obj, missing)
    assert isinstance(obj["uptime"], int) and obj["uptime"] >= 0, obj
    assert isinstance(obj["pid"], int) and isinstance(obj["state"], int), obj
print(" ".join("%s:%s:%s:%s" % (o["group"], o["name"], o["statename"], "pid" if o["pid"] else "0") for o in data))
"#;
    let parse = |words: &[&str]| -> (String, i32) {
        let o = run(tool("supervisorctl").arg("-c").arg(&conf).args(words));
        let mut py = Command::new("python3")
            .args(["-c", check])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        {
            use std::io::Write;
            py.stdin.take().expect("stdin").write_all(&o.stdout).expect("feed python3");
        }
        let r = py.wait_with_output().expect("python3 output");
        assert!(r.status.success(), "status --json output is not the JSON expected:\n{}\n{}", stdout(&o), stderr(&r));
        (stdout(&r).trim().to_string(), o.status.code().unwrap_or(-1))
    };
    assert_eq!(
        parse(&["status", "--json"]),
        (
            "exiter:exiter:EXITED:0 grp:gmanual:STOPPED:0 grp:gsleep:RUNNING:pid missing:missing:STOPPED:0 \
             nolog:nolog:STOPPED:0 quick:quick:STOPPED:0 sleeper:sleeper:RUNNING:pid talker:talker:RUNNING:pid"
                .to_string(),
            3
        )
    );
    assert_eq!(parse(&["status", "--json", "sleeper"]), ("sleeper:sleeper:RUNNING:pid".to_string(), 0));
    assert_eq!(parse(&["status", "--json", "grp:*"]), ("grp:gmanual:STOPPED:0 grp:gsleep:RUNNING:pid".to_string(), 3));
    // The pid in the JSON is the process's pid.
    let o = run(tool("supervisorctl").arg("-c").arg(&conf).args(["status", "--json", "sleeper"]));
    let pid = stdout(&run(tool("supervisorctl").arg("-c").arg(&conf).args(["pid", "sleeper"])));
    assert!(stdout(&o).contains(&format!("\"pid\": {}", pid.trim())), "{}", stdout(&o));
}
