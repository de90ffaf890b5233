//! The interactive supervisorctl shell, driven through a pseudo-terminal by
//! tests/support/pty_drive.py (standard-library Python): the first status and the
//! prompt, tab completion of commands, process and group names, history (also across
//! sessions through history_file), the y/N questions of reload and shutdown, Ctrl-C out
//! of `tail -f`, the ways out (Ctrl-D, Ctrl-C, quit, exit), unknown commands, the
//! credentials asked for after a 401, and `fg` over pipes.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One step of a pty script.
#[derive(Clone, Copy)]
enum Step<'a> {
    /// Wait for this text after the previous match.
    Expect(&'a str),
    /// Type this.
    Send(&'a str),
    /// Pause (seconds), still reading.
    Sleep(f64),
    /// Wait for the program to exit.
    Exit,
}
use Step::*;

/// What a pty session left behind.
struct Session {
    transcript: String,
    /// `0`, `1`, ... or `running` (killed at the end).
    exit: String,
    /// Whether every step succeeded.
    ok: bool,
    stderr: String,
}

impl Session {
    fn assert_ok(&self) {
        assert!(self.ok, "pty session failed: {}\ntranscript:\n{}", self.stderr.trim(), self.visible());
    }

    /// The transcript with control characters shown.
    fn visible(&self) -> String {
        self.transcript.replace('\x1b', "<ESC>").replace('\r', "").replace('\x07', "<BEL>")
    }
}

/// Python string escapes for pty_drive.py (ASCII only on the wire).
fn escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out
}

/// Our supervisorctl (the symlink) under a pty with `args`, following `steps`.
fn drive(scratch: &Path, args: &[&str], steps: &[Step]) -> Session {
    let mut script = String::new();
    for step in steps {
        match step {
            Expect(t) => {
                script.push_str(&format!("expect\t{}\n", escape(t)));
                // The editor writes the prompt, then puts the terminal in raw mode: keys
                // sent in between would be seen by the terminal in cooked mode (echoed,
                // Ctrl-C a SIGINT). A user cannot type that fast; the script waits a bit.
                if t.ends_with("> ") {
                    script.push_str("sleep\t0.1\n");
                }
            }
            Send(t) => script.push_str(&format!("send\t{}\n", escape(t))),
            Sleep(s) => script.push_str(&format!("sleep\t{s}\n")),
            Exit => script.push_str("exit\t\n"),
        }
    }
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let script_path = scratch.join(format!("pty-script-{n}"));
    std::fs::write(&script_path, script).expect("write pty script");
    let ctl = PathBuf::from(tool("supervisorctl").get_program());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let o = run(Command::new(python)
        .arg(repo_root().join("tests/support/pty_drive.py"))
        .arg(&script_path)
        .arg("--")
        .arg(&ctl)
        .args(args)
        .env("TERM", "xterm"));
    let err = stderr(&o);
    let exit = err.lines().last().and_then(|l| l.strip_prefix("exit=")).unwrap_or("?").to_string();
    Session { transcript: stdout(&o), exit, ok: o.status.success(), stderr: err }
}

const PROMPT: &str = "supervisor> ";
const SLEEPER: &str = "sleeper                          RUNNING   pid ";

fn body(extra_ctl: &str) -> String {
    format!(
        "[unix_http_server]\nfile={{dir}}/sv.sock\n\n\
         [supervisorctl]\nserverurl=unix://{{dir}}/sv.sock\n{extra_ctl}\n\n\
         [program:sleeper]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:webserver]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:talker]\ncommand=sh -c 'echo out-line; exec sleep 1000'\nstartsecs=0\n\n\
         [group:grp]\nprograms=gsleep,gmanual\n\n\
         [program:gsleep]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [program:gmanual]\ncommand=sleep 1000\nautostart=false\nstartsecs=0\n"
    )
}

/// Our daemon with the shell's program set, everything started.
fn daemon(tag: &str, extra_ctl: &str) -> Daemon {
    let d = Daemon::start(tag, &body(extra_ctl));
    settle(&d);
    d
}

fn settle(d: &Daemon) {
    let ok = wait_until(Duration::from_secs(15), || {
        let o = run(tool("supervisorctl").arg("-c").arg(&d.conf).arg("status"));
        let out = stdout(&o);
        // Every autostart program RUNNING (before its first loop a daemon shows them
        // all STOPPED), the log of talker written.
        out.lines().all(|l| l.starts_with("grp:gmanual ") || l.contains(" RUNNING "))
            && out.contains(SLEEPER)
            && !out.contains("STARTING")
            && !out.contains("BACKOFF")
            && stdout(&run(tool("supervisorctl").arg("-c").arg(&d.conf).args(["tail", "talker"]))).contains("out-line")
    });
    assert!(ok, "the daemon did not settle; log:\n{}", d.log());
}

fn conf_args(d: &Daemon) -> Vec<String> {
    vec!["-c".into(), d.conf.display().to_string()]
}

fn with(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn shell_prints_status_then_the_prompt() {
    let d = daemon("shp", "");
    let args = conf_args(&d);
    let s = drive(d.dir.path(), &with(&args), &[Expect(SLEEPER), Expect(PROMPT), Send("quit\n"), Exit]);
    s.assert_ok();
    assert_eq!(s.exit, "0");
    // The whole status comes before the first prompt, in the reference's order.
    let first_prompt = s.transcript.find(PROMPT).expect("prompt");
    let before = &s.transcript[..first_prompt];
    let names: Vec<&str> = before.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(names, ["grp:gmanual", "grp:gsleep", "sleeper", "talker", "webserver"], "{}", s.visible());
}

#[test]
fn shell_prompt_from_the_supervisorctl_section() {
    let d = daemon("shq", "prompt=mysv");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(SLEEPER),
            Expect("mysv> "),
            Send("version\n"),
            Expect("4.3.0"),
            Expect("mysv> "),
            Send("exit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert_eq!(s.exit, "0");
    assert!(!s.transcript.contains(PROMPT), "{}", s.visible());
}

#[test]
fn shell_completes_commands() {
    let d = daemon("shc", "");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            // Two candidates share `sta`: nothing to add; a second Tab lists them.
            Send("sta\t"),
            Sleep(0.2),
            Send("\t"),
            Expect("start  status"),
            // Typing on after the listing: `stat` + Tab is unique.
            Send("t\t"),
            Expect("supervisor> status \x1b[K"),
            Send("sleeper\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            // `s` + Tab Tab lists every command starting with s.
            Send("s\t"),
            Sleep(0.2),
            Send("\t"),
            Expect("shutdown  signal  start  status  stop"),
            Send("\x15"), // Ctrl-U: clear the line
            // A unique command completes with a trailing space.
            Send("vers\t"),
            Expect("supervisor> version \x1b[K"),
            Send("\n"),
            Expect("4.3.0"),
            Expect(PROMPT),
            // help completes command names too.
            Send("help maint\t"),
            Expect("supervisor> help maintail \x1b[K"),
            Send("\n"),
            Expect("maintail -f"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert_eq!(s.exit, "0");
}

#[test]
fn shell_completes_process_and_group_names() {
    let d = daemon("shn", "");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("stop web\t"),
            Expect("supervisor> stop webserver \x1b[K"),
            Send("\x15"),
            // `g` completes to the common prefix of the group's names and `grp:*`.
            Send("status g\t"),
            Expect("supervisor> status grp:\x1b[K"),
            Sleep(0.2),
            Send("\t"),
            Expect("grp:gsleep"),
            Send("\x15"),
            Send("status grp:\t"),
            Sleep(0.2),
            Send("\t"),
            Expect("\n"),
            Send("\x15"),
            Send("status grp:gs\t"),
            Expect("supervisor> status grp:gsleep \x1b[K"),
            Send("\n"),
            Expect("grp:gsleep                       RUNNING"),
            Expect(PROMPT),
            Send("start grp:*\t"),
            Expect("supervisor> start grp:* \x1b[K"),
            Send("\n"),
            Expect("grp:gmanual: started"),
            Expect(PROMPT),
            Send("tail tal\t"),
            Expect("supervisor> tail talker \x1b[K"),
            Send("\n"),
            Expect("out-line"),
            Expect(PROMPT),
            // Groups for add, remove and update.
            Send("remove gr\t"),
            Expect("supervisor> remove grp \x1b[K"),
            Send("\n"),
            Expect("ERROR: process/group still running: grp"),
            Expect(PROMPT),
            Send("update web\t"),
            Expect("supervisor> update webserver \x1b[K"),
            Send("\x15"),
            Send("add sl\t"),
            Expect("supervisor> add sleeper \x1b[K"),
            Send("\n"),
            Expect("ERROR: process group already active"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    // The listing after `grp:` Tab Tab names every member and the wildcard.
    let t = s.visible();
    let listing = t.lines().find(|l| l.contains("grp:gmanual") && l.contains("grp:gsleep") && l.contains("grp:*"));
    assert!(listing.is_some(), "no listing of grp's members and grp:*:\n{t}");
}

#[test]
fn shell_history_recalls_and_persists() {
    let d = daemon("shh", "history_file=%(here)s/history");
    let args = conf_args(&d);
    let history = d.dir.join("history");
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("status sleeper\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            Send("pid sleeper\n"),
            Expect(PROMPT),
            // Up twice: the command before last; Enter runs it again.
            Send("\x1b[A"),
            Expect("supervisor> pid sleeper\x1b[K"),
            Send("\x1b[A"),
            Expect("supervisor> status sleeper\x1b[K"),
            Send("\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    let saved = std::fs::read_to_string(&history).expect("history file written");
    assert!(saved.contains("pid sleeper") && saved.contains("status sleeper"), "{saved:?}");

    // A new session starts with that history (whose last line is the `quit`).
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("\x1b[A"),
            Expect("supervisor> quit\x1b[K"),
            Send("\x1b[A"),
            Expect("supervisor> status sleeper\x1b[K"),
            Send("\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();

    // -r names the history file on the command line.
    let other = d.dir.join("other-history");
    let mut args_r = args.clone();
    args_r.extend(["-r".to_string(), other.display().to_string()]);
    let s = drive(
        d.dir.path(),
        &with(&args_r),
        &[Expect(PROMPT), Send("version\n"), Expect("4.3.0"), Send("quit\n"), Exit],
    );
    s.assert_ok();
    let saved = std::fs::read_to_string(&other).expect("-r history file written");
    assert!(saved.contains("version"), "{saved:?}");
}

#[test]
fn shell_reload_and_shutdown_ask_first() {
    let mut d = daemon("shy", "");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("reload\n"),
            Expect("Really restart the remote supervisord process y/N? "),
            Send("n\n"),
            Expect(PROMPT),
            Send("shutdown\n"),
            Expect("Really shut the remote supervisord process down y/N? "),
            Send("\n"),
            Expect(PROMPT),
            Send("status sleeper\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert!(!s.transcript.contains("Restarted supervisord") && !s.transcript.contains("Shut down"), "{}", s.visible());
    assert_eq!(d.log().matches("supervisord started with pid").count(), 1, "the daemon restarted after n");

    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("reload\n"),
            Expect("Really restart the remote supervisord process y/N? "),
            Send("y\n"),
            Expect("Restarted supervisord"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert!(d.wait_log_count("supervisord started with pid", 2, Duration::from_secs(15)), "no restart:\n{}", d.log());
    settle(&d);

    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("shutdown\n"),
            Expect("Really shut the remote supervisord process down y/N? "),
            Send("y\n"),
            Expect("Shut down"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert_eq!(d.wait_exit(Duration::from_secs(15)), Some(0), "the daemon did not shut down");
}

#[test]
fn shell_ctrl_c_leaves_tail_f_for_the_prompt() {
    let d = daemon("shf", "");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("tail -f talker\n"),
            Expect("==> Press Ctrl-C to exit <=="),
            Expect("out-line"),
            Sleep(0.2),
            Send("\x03"),
            Expect(PROMPT),
            Send("status sleeper\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            Send("maintail -f\n"),
            Expect("==> Press Ctrl-C to exit <=="),
            Expect("supervisord started with pid"),
            Sleep(0.2),
            Send("\x03"),
            Expect(PROMPT),
            Send("version\n"),
            Expect("4.3.0"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert_eq!(s.exit, "0");
}

#[test]
fn shell_ways_out() {
    let d = daemon("shx", "");
    let args = conf_args(&d);
    for (how, keys) in [("Ctrl-D", "\x04"), ("quit", "quit\n"), ("exit", "exit\n"), ("Ctrl-C", "\x03")] {
        let s = drive(d.dir.path(), &with(&args), &[Expect(PROMPT), Send(keys), Exit]);
        s.assert_ok();
        assert_eq!(s.exit, "0", "{how}: {}", s.visible());
    }
    // A command on the command line runs alone, even with -i.
    let mut args_i = args.clone();
    args_i.extend(["-i".to_string(), "version".to_string()]);
    let s = drive(d.dir.path(), &with(&args_i), &[Expect("4.3.0"), Exit]);
    s.assert_ok();
    assert!(!s.transcript.contains(PROMPT), "{}", s.visible());
}

#[test]
fn shell_unknown_command_and_empty_line() {
    let d = daemon("shu", "");
    let args = conf_args(&d);
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect(PROMPT),
            Send("foo bar\n"),
            Expect("*** Unknown syntax: foo bar"),
            Expect(PROMPT),
            Send("\n"),
            Expect(PROMPT),
            Send("start\n"),
            Expect("Error: start requires a process name"),
            Expect(PROMPT),
            Send("version\n"),
            Expect("4.3.0"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    // Interactive mode always exits 0.
    assert_eq!(s.exit, "0");
}

#[test]
fn shell_asks_for_credentials_after_401() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let d = Daemon::start(
        "sha",
        &format!("[inet_http_server]\nport=127.0.0.1:{port}\nusername=user\npassword=secret\n\n{}", body("")),
    );
    settle(&d);
    let conf = d.dir.write("client.conf", &format!("[supervisorctl]\nserverurl=http://127.0.0.1:{port}\n"));
    let args = vec!["-c".to_string(), conf.display().to_string()];
    let s = drive(
        d.dir.path(),
        &with(&args),
        &[
            Expect("Server requires authentication"),
            Expect("Username:"),
            Send("user\n"),
            Expect("Password:"),
            Send("secret\n"),
            Expect(SLEEPER),
            Expect(PROMPT),
            // The credentials stay for the rest of the session.
            Send("version\n"),
            Expect("4.3.0"),
            Expect(PROMPT),
            Send("quit\n"),
            Exit,
        ],
    );
    s.assert_ok();
    assert_eq!(s.exit, "0");
    assert!(!s.transcript.contains("secret"), "the password was echoed:\n{}", s.visible());
}

#[test]
fn shell_ctrl_c_during_a_command_leaves_cleanly() {
    let d = Daemon::start(
        "shk",
        &(body("")
            + "\n[program:stubborn]\ncommand=sh -c \"trap '' TERM; exec sleep 1000\"\nstartsecs=0\nstopwaitsecs=3\n"),
    );
    settle(&d);
    let args = conf_args(&d);
    let s =
        drive(d.dir.path(), &with(&args), &[Expect(PROMPT), Send("stop stubborn\n"), Sleep(0.7), Send("\x03"), Exit]);
    s.assert_ok();
    assert_eq!(s.exit, "0", "{}", s.visible());
    assert!(!s.transcript.contains("stubborn: stopped"), "{}", s.visible());
}

/// CPU time (utime + stime, clock ticks) a process has used, from /proc.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit(") ").next()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

#[test]
fn fg_forwards_stdin_and_idles_after_the_daemon_goes_away() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};

    let mut d = Daemon::start(
        "fg-idle",
        "[unix_http_server]\nfile={dir}/sv.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/sv.sock\n\n\
         [program:echoer]\ncommand=sh -c 'while read l; do echo \"got $l\"; done'\nstartsecs=0\n",
    );
    let running = wait_until(Duration::from_secs(15), || {
        stdout(&run(tool("supervisorctl").arg("-c").arg(&d.conf).arg("status"))).contains(" RUNNING ")
    });
    assert!(running, "echoer did not start; log:\n{}", d.log());

    let mut fg = tool("supervisorctl")
        .arg("-c")
        .arg(&d.conf)
        .args(["fg", "echoer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisorctl fg");
    let seen = Arc::new(Mutex::new(String::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let out = fg.stdout.take().expect("fg stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(mut s) = seen.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        })
    };
    let text = || seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(wait_until(Duration::from_secs(10), || text().contains("Press Ctrl-C")), "fg printed: {}", text());
    let mut stdin = fg.stdin.take().expect("fg stdin");
    writeln!(stdin, "hello").expect("write to fg");
    stdin.flush().expect("flush fg stdin");
    assert!(wait_until(Duration::from_secs(10), || text().contains("got hello")), "fg printed: {}", text());

    // The daemon goes away: both log streams close under fg.
    assert_eq!(d.stop(), Some(0), "the daemon did not stop cleanly");
    let before = cpu_ticks(fg.id()).expect("fg cpu time");
    // A client polling its closed sockets burns a full core; a second of that is
    // ~100 ticks. An idle one uses none.
    let spun = wait_until(Duration::from_secs(1), || cpu_ticks(fg.id()).is_some_and(|t| t > before + 20));
    assert!(!spun, "fg kept using CPU after its streams closed");

    drop(stdin);
    let code = wait_child(&mut fg, Duration::from_secs(10)).expect("fg did not exit at end of input");
    let _ = reader.join();
    assert!(text().contains("Exiting foreground"), "fg printed: {}", text());
    assert_eq!(code, Some(0));
}
