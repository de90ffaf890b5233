//! packaging/: install.sh into a staging root (the tree, idempotence, configs never
//! overwritten, other programs never silently replaced), the Debian-layout default
//! config running programs from conf.d, the systemd unit, the shell completions
//! (parsed by bash, zsh and fish; bash and zsh completing at a real TAB in a pty, fish through
//! `complete -C`), and every man page rendering without a groff warning.
//! zsh, fish, man and logrotate are installed with apt-get when missing, so `cargo test` alone works.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::*;

fn packaging() -> PathBuf {
    repo_root().join("packaging")
}

fn install(destdir: &Path, extra: &[&str]) -> Output {
    run(Command::new("sh")
        .arg(packaging().join("install.sh"))
        .args(["--prefix", "/usr/local", "--destdir"])
        .arg(destdir)
        .arg("--binary")
        .arg(bin())
        .args(extra))
}

/// Every path under `root`, with what it is: a directory, a file (mode and content)
/// or a symlink (its target).
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("readlink");
                out.insert(rel, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &p, out);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                let sum = bytes.iter().fold(0u64, |h, b| h.wrapping_mul(1_000_003).wrapping_add(*b as u64));
                out.insert(rel, format!("{:o} {} {sum:x}", meta.permissions().mode() & 0o7777, bytes.len()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

const FILES: &[(&str, u32)] = &[
    ("usr/local/bin/supervisor", 0o755),
    ("usr/local/share/man/man1/supervisorctl.1", 0o644),
    ("usr/local/share/man/man1/supervisor.1", 0o644),
    ("usr/local/share/man/man1/echo_supervisord_conf.1", 0o644),
    ("usr/local/share/man/man1/pidproxy.1", 0o644),
    ("usr/local/share/man/man5/supervisord.conf.5", 0o644),
    ("usr/local/share/man/man8/supervisord.8", 0o644),
    ("usr/local/share/bash-completion/completions/supervisorctl", 0o644),
    ("usr/local/share/zsh/site-functions/_supervisor", 0o644),
    ("usr/local/share/fish/vendor_completions.d/supervisorctl.fish", 0o644),
    ("usr/local/lib/systemd/system/supervisor.service", 0o644),
    ("etc/supervisor/supervisord.conf", 0o644),
    ("etc/logrotate.d/supervisor", 0o644),
];

const LINKS: &[(&str, &str)] = &[
    ("usr/local/bin/supervisord", "supervisor"),
    ("usr/local/bin/supervisorctl", "supervisor"),
    ("usr/local/bin/echo_supervisord_conf", "supervisor"),
    ("usr/local/bin/pidproxy", "supervisor"),
    ("usr/local/share/bash-completion/completions/supervisord", "supervisorctl"),
    ("usr/local/share/bash-completion/completions/supervisor", "supervisorctl"),
    ("usr/local/share/fish/vendor_completions.d/supervisord.fish", "supervisorctl.fish"),
    ("usr/local/share/fish/vendor_completions.d/supervisor.fish", "supervisorctl.fish"),
];

#[test]
fn install_sh_builds_the_tree_idempotently_and_never_overwrites_a_config() {
    let dir = TempDir::new("inst");
    let root = dir.join("root");

    // --dry-run lists the actions and changes nothing.
    let dry = install(&root, &["--dry-run"]);
    assert!(dry.status.success(), "dry run: {}{}", stdout(&dry), stderr(&dry));
    assert!(!root.exists(), "--dry-run created {}", root.display());
    let planned: Vec<String> = stdout(&dry).lines().map(|l| l.trim_start_matches("would ").to_string()).collect();
    assert!(planned.iter().any(|l| l == "install /etc/supervisor/supervisord.conf"), "dry run:\n{}", stdout(&dry));

    let first = install(&root, &[]);
    assert!(first.status.success(), "install: {}{}", stdout(&first), stderr(&first));
    let done: Vec<String> = stdout(&first).lines().map(String::from).collect();
    assert_eq!(planned, done, "--dry-run listed other actions than the install took");

    for (path, mode) in FILES {
        let meta = std::fs::symlink_metadata(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(meta.is_file(), "{path} is not a regular file");
        assert_eq!(meta.permissions().mode() & 0o777, *mode, "mode of {path}");
    }
    for (path, target) in LINKS {
        let t = std::fs::read_link(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(t, Path::new(target), "{path}");
    }
    for d in ["etc/supervisor/conf.d", "var/log/supervisor"] {
        assert!(root.join(d).is_dir(), "{d} missing");
    }
    for page in std::fs::read_dir(repo_root().join("man")).expect("man/").flatten() {
        let name = page.file_name().to_string_lossy().into_owned();
        let section = name.rsplit('.').next().unwrap_or_default().to_string();
        assert!(
            root.join(format!("usr/local/share/man/man{section}/{name}")).is_file(),
            "man page {name} not installed"
        );
    }
    let unit = std::fs::read_to_string(root.join("usr/local/lib/systemd/system/supervisor.service")).expect("unit");
    assert!(
        unit.contains("ExecStart=/usr/local/bin/supervisord -n -c /etc/supervisor/supervisord.conf\n"),
        "unit paths not substituted:\n{unit}"
    );
    assert!(!unit.contains('@'), "placeholder left in the unit:\n{unit}");
    // The installed links run the tools.
    let v = run(Command::new(root.join("usr/local/bin/supervisorctl")).arg("--version"));
    assert!(v.status.success() && !stdout(&v).trim().is_empty(), "installed supervisorctl --version: {v:?}");

    // Twice: nothing to do, the same tree.
    let before = snapshot(&root);
    let second = install(&root, &[]);
    assert!(second.status.success(), "second install: {}", stderr(&second));
    assert!(stdout(&second).starts_with("nothing to do"), "second install:\n{}", stdout(&second));
    assert_eq!(snapshot(&root), before, "a second install changed the tree");

    // A config the administrator edited stays as it is; package files are updated.
    let conf = root.join("etc/supervisor/supervisord.conf");
    std::fs::write(&conf, "[supervisord]\n; mine\n").expect("edit config");
    let rotate = root.join("etc/logrotate.d/supervisor");
    std::fs::write(&rotate, "# mine\n").expect("edit logrotate");
    let unit_path = root.join("usr/local/lib/systemd/system/supervisor.service");
    std::fs::write(&unit_path, "stale").expect("damage unit");
    let third = install(&root, &[]);
    assert!(third.status.success(), "third install: {}", stderr(&third));
    assert_eq!(std::fs::read_to_string(&conf).unwrap_or_default(), "[supervisord]\n; mine\n", "config overwritten");
    assert_eq!(std::fs::read_to_string(&rotate).unwrap_or_default(), "# mine\n", "logrotate snippet overwritten");
    assert!(stdout(&third).contains("keep /etc/supervisor/supervisord.conf"), "third:\n{}", stdout(&third));
    assert_eq!(std::fs::read_to_string(&unit_path).unwrap_or_default(), unit, "the unit was not restored");
}

#[test]
fn install_sh_does_not_replace_other_programs_without_force() {
    let dir = TempDir::new("instc");
    let root = dir.join("root");
    let foreign = root.join("usr/local/bin/supervisord");
    std::fs::create_dir_all(foreign.parent().expect("parent")).expect("mkdir");
    std::fs::write(&foreign, "#!/usr/bin/python3\n# Python Supervisor's\n").expect("write");
    let o = install(&root, &[]);
    assert_eq!(o.status.code(), Some(1), "install over a foreign supervisord: {}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("/usr/local/bin/supervisord"), "the refusal names the file: {}", stderr(&o));
    assert!(!root.join("usr/local/bin/supervisor").exists(), "a refused install changed the tree");
    assert!(std::fs::read_to_string(&foreign).unwrap_or_default().contains("Python"), "foreign file touched");

    let o = install(&root, &["--force"]);
    assert!(o.status.success(), "--force: {}", stderr(&o));
    assert_eq!(std::fs::read_link(&foreign).ok(), Some(PathBuf::from("supervisor")));

    let bad = install(&root, &["--prefix", "relative"]);
    assert_eq!(bad.status.code(), Some(2), "relative prefix: {}", stderr(&bad));
    assert!(stderr(&bad).contains("absolute"), "{}", stderr(&bad));
}

/// The default config, with its absolute paths moved into a scratch dir, runs a
/// program from conf.d/ and answers the installed supervisorctl.
#[test]
fn default_config_includes_conf_d_and_serves_supervisorctl() {
    let dir = TempDir::new("dconf");
    let d = dir.path().display().to_string();
    let text = std::fs::read_to_string(packaging().join("etc/supervisord.conf")).expect("default config");
    for needle in [
        "file=/var/run/supervisor.sock",
        "serverurl=unix:///var/run/supervisor.sock",
        "logfile=/var/log/supervisor/supervisord.log",
        "childlogdir=/var/log/supervisor",
        "files = /etc/supervisor/conf.d/*.conf",
    ] {
        assert!(text.contains(needle), "the default config lacks {needle:?}");
    }
    let text = text
        .replace("/var/run/", &format!("{d}/run/"))
        .replace("/var/log/supervisor", &format!("{d}/log"))
        .replace("/etc/supervisor/", &format!("{d}/etc/"));
    for sub in ["run", "log", "etc/conf.d"] {
        std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
    }
    let conf = dir.write("etc/supervisord.conf", &text);
    dir.write("etc/conf.d/hello.conf", "[program:hello]\ncommand=/bin/sleep 1000\nstartsecs=0\n");
    let daemon = Command::new(bin())
        .args(["supervisord", "-n", "-c"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start supervisord");
    let mut status = None;
    wait_until(Duration::from_secs(20), || {
        let o = run(tool("supervisorctl").arg("-c").arg(&conf).arg("status"));
        let ok = stdout(&o).contains("RUNNING");
        status = Some(o);
        ok
    });
    let mode = std::fs::metadata(dir.join("run/supervisor.sock")).map(|m| m.permissions().mode() & 0o777);
    let code = terminate(daemon, Duration::from_secs(20));
    let status = status.expect("status ran");
    assert!(
        stdout(&status).starts_with("hello") && stdout(&status).contains("RUNNING"),
        "status: {}{}\nlog:\n{}",
        stdout(&status),
        stderr(&status),
        std::fs::read_to_string(dir.join("log/supervisord.log")).unwrap_or_default()
    );
    assert_eq!(mode.ok(), Some(0o700), "the control socket's mode");
    assert_eq!(code, Some(0));
}

#[test]
fn systemd_unit() {
    let unit = std::fs::read_to_string(packaging().join("systemd/supervisor.service")).expect("unit");
    for line in [
        "Type=notify",
        "ExecStart=@BINDIR@/supervisord -n -c @SYSCONFDIR@/supervisor/supervisord.conf",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=mixed",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line:?}");
    }
    // systemd's own parser, where this machine has it: no complaint at all.
    if Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let dir = TempDir::new("unit");
        let bindir = tool("supervisord").get_program().to_owned();
        let bindir = Path::new(&bindir).parent().expect("tool dir").display().to_string();
        let text = unit.replace("@BINDIR@", &bindir).replace("@SYSCONFDIR@", &dir.path().display().to_string());
        let path = dir.write("supervisor.service", &text);
        let o = run(Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path));
        let complaints = format!("{}{}", stdout(&o), stderr(&o));
        assert!(o.status.success() && complaints.trim().is_empty(), "systemd-analyze verify:\n{complaints}");
    }
}

/// The logrotate snippet, pointed at a running daemon's directory: logrotate moves the
/// log aside and the daemon, told by SIGUSR2, writes to a new one.
#[test]
fn logrotate_snippet_rotates_and_the_daemon_reopens_its_log() {
    ensure_programs(&["logrotate"], &["logrotate"]);
    let rotate = std::fs::read_to_string(packaging().join("logrotate/supervisor")).expect("logrotate");
    assert!(!rotate.lines().any(|l| l.trim() == "copytruncate"), "no copytruncate:\n{rotate}");
    let daemon = Daemon::start("lrot", "[program:talker]\ncommand=/bin/sleep 1000\nstartsecs=0\n");
    let d = daemon.dir.path().display().to_string();
    assert!(rotate.contains("/var/log/supervisor/*.log") && rotate.contains("pidfile=/var/run/supervisord.pid"));
    let text = rotate
        .replace("/var/log/supervisor/*.log", &format!("{d}/*.log"))
        .replace("pidfile=/var/run/supervisord.pid", &format!("pidfile={d}/supervisord.pid"));
    let conf = daemon.dir.write("logrotate.conf", &text);
    let o = run(Command::new("logrotate").arg("-f").arg("-s").arg(daemon.dir.join("state")).arg(&conf));
    assert!(o.status.success(), "logrotate -f: {}{}", stdout(&o), stderr(&o));
    // The daemon logs the signal, then reopens: that line ends the rotated log.
    let usr2 = "received SIGUSR2 indicating log reopen request";
    let rotated = || std::fs::read_to_string(daemon.dir.join("supervisord.log.1")).unwrap_or_default();
    assert!(
        wait_until(Duration::from_secs(20), || rotated().contains(usr2)),
        "postrotate did not signal the daemon; rotated log:\n{}",
        rotated()
    );
    assert!(rotated().contains("supervisord started with pid"), "the old log was not moved aside");
    // Whatever it logs now goes to the new file.
    daemon.signal("USR2");
    assert!(
        daemon.wait_log(usr2, Duration::from_secs(20)),
        "the daemon still writes to the rotated log:\n{}",
        rotated()
    );
}

/// Installs Debian packages that provide `programs` when any is missing
/// (non-interactively; `apt-get update` first only when the install fails).
fn ensure_programs(programs: &[&str], packages: &[&str]) {
    static APT: Mutex<()> = Mutex::new(());
    let have = |p: &str| {
        Command::new("sh").arg("-c").arg(format!("command -v {p}")).output().is_ok_and(|o| o.status.success())
    };
    if programs.iter().all(|p| have(p)) {
        return;
    }
    let _serial = APT.lock().unwrap_or_else(|e| e.into_inner());
    std::fs::create_dir_all(target_dir()).expect("target dir");
    let lock = std::fs::File::create(target_dir().join("apt.lock")).expect("apt lock");
    lock.lock().expect("lock apt");
    if programs.iter().all(|p| have(p)) {
        return;
    }
    let apt = |args: &[&str]| {
        run(Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").stdin(Stdio::null()))
    };
    let mut install_args = vec!["install", "-y", "-q", "--no-install-recommends"];
    install_args.extend_from_slice(packages);
    if !apt(&install_args).status.success() {
        let u = apt(&["update", "-q"]);
        assert!(u.status.success(), "apt-get update: {}", stderr(&u));
        let o = apt(&install_args);
        assert!(o.status.success(), "apt-get install {packages:?}: {}", stderr(&o));
    }
    for p in programs {
        assert!(have(p), "{p} still missing after installing {packages:?}");
    }
}

fn completions() -> PathBuf {
    packaging().join("completions")
}

#[test]
fn completion_scripts_parse_in_bash_zsh_and_fish() {
    ensure_programs(&["zsh", "fish"], &["zsh", "fish"]);
    for (shell, file) in [("bash", "supervisor.bash"), ("zsh", "_supervisor"), ("fish", "supervisor.fish")] {
        let o = run(Command::new(shell).arg("-n").arg(completions().join(file)));
        assert!(o.status.success() && stderr(&o).is_empty(), "{shell} -n {file}: {}", stderr(&o));
    }
    // The checks can fail: a broken script is refused.
    let dir = TempDir::new("cbad");
    let broken = dir.write("broken", "if true; then\n");
    for shell in ["bash", "zsh"] {
        assert!(!run(Command::new(shell).arg("-n").arg(&broken)).status.success(), "{shell} -n accepts garbage");
    }
}

/// A daemon with a numbered group `web` (web:web_0, web:web_1) and a program `worker`,
/// and a directory whose supervisorctl/supervisor are our binary, for PATH.
struct Fixture {
    daemon: Daemon,
    path: String,
}

fn fixture(tag: &str) -> Fixture {
    let daemon = Daemon::start(
        tag,
        "[unix_http_server]\nfile={dir}/s.sock\n\n[supervisorctl]\nserverurl=unix://{dir}/s.sock\n\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
         [program:web]\ncommand=/bin/sleep 1000\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)s\nstartsecs=0\n\n\
         [program:worker]\ncommand=/bin/sleep 1000\nstartsecs=0\n",
    );
    assert!(daemon.wait_log("success: worker entered RUNNING state", Duration::from_secs(20)), "{}", daemon.log());
    let links = daemon.dir.join("bin");
    std::fs::create_dir_all(&links).expect("bin dir");
    for name in ["supervisorctl", "supervisor"] {
        std::os::unix::fs::symlink(bin(), links.join(name)).expect("link");
    }
    let path = format!("{}:{}", links.display(), std::env::var("PATH").unwrap_or_default());
    Fixture { daemon, path }
}

#[test]
fn bash_completes_commands_and_live_process_names_at_tab() {
    let f = fixture("bcomp");
    let worker = f.daemon.spawned_pid("worker").expect("worker pid");
    let web1 = f.daemon.spawned_pid("web_1").expect("web_1 pid");
    let script = [
        "expect\tREADY> ".to_string(),
        "sleep\t0.2".into(),
        // st<TAB><TAB>: the three commands that start so; Ctrl-U drops the line.
        "send\tsupervisorctl st\\t\\t".into(),
        "expect\tstart".into(),
        "expect\tstatus".into(),
        "expect\tstop".into(),
        "send\t\\x15".into(),
        "sleep\t0.2".into(),
        // A unique process name completes and the command runs with it.
        "send\tsupervisorctl -c supervisord.conf pid wor\\t\\r".into(),
        format!("expect\t\\n{worker}\\r"),
        "expect\tREADY> ".into(),
        "sleep\t0.2".into(),
        // Across bash's ':' word break: web:web_<TAB><TAB> lists both, then one runs.
        "send\tsupervisorctl -c supervisord.conf pid web:web_\\t\\t".into(),
        "expect\tweb_0".into(),
        "expect\tweb_1".into(),
        "send\t1\\r".into(),
        format!("expect\t\\n{web1}\\r"),
        "expect\tREADY> ".into(),
        "send\texit\\r".into(),
        "exit\t".into(),
    ]
    .join("\n");
    let script_path = f.daemon.dir.write("bash.script", &format!("{script}\n"));
    let bashrc = f.daemon.dir.write(
        "bashrc",
        &format!(
            "PS1='READY> '\ncd {}\nsource {}\n",
            f.daemon.dir.path().display(),
            completions().join("supervisor.bash").display()
        ),
    );
    let o = run(Command::new("python3")
        .arg(repo_root().join("tests/support/pty_drive.py"))
        .arg(&script_path)
        .arg("--")
        .args(["bash", "--noprofile", "--rcfile"])
        .arg(&bashrc)
        .arg("-i")
        .env("PATH", &f.path)
        .env("TERM", "dumb")
        .env("INPUTRC", "/dev/null"));
    let transcript = stdout(&o).replace('\r', "");
    assert!(o.status.success(), "bash session: {}\ntranscript:\n{transcript}", stderr(&o));
}

#[test]
fn zsh_completes_commands_and_live_process_names_at_tab() {
    ensure_programs(&["zsh"], &["zsh"]);
    let f = fixture("zcomp");
    let worker = f.daemon.spawned_pid("worker").expect("worker pid");
    let web1 = f.daemon.spawned_pid("web_1").expect("web_1 pid");
    // (zsh clears the line below after Enter: a pid line is found by its end.)
    let script = [
        "expect\tREADY> ".to_string(),
        "sleep\t0.3".into(),
        // st<TAB>: the three commands, each with its description.
        "send\tsupervisorctl st\\t".into(),
        "expect\tstart processes".into(),
        "expect\tstop processes".into(),
        "send\t\\x15".into(),
        "sleep\t0.2".into(),
        "send\tsupervisorctl -c supervisord.conf pid wor\\t".into(),
        "sleep\t0.5".into(),
        "send\t\\r".into(),
        format!("expect\t{worker}\\r\\n"),
        "expect\tREADY> ".into(),
        "sleep\t0.3".into(),
        "send\tsupervisorctl -c supervisord.conf pid web:web_\\t".into(),
        "expect\tweb_0".into(),
        "expect\tweb_1".into(),
        "send\t1\\r".into(),
        format!("expect\t{web1}\\r\\n"),
        "expect\tREADY> ".into(),
        "send\texit\\r".into(),
        "exit\t".into(),
    ]
    .join("\n");
    let script_path = f.daemon.dir.write("zsh.script", &format!("{script}\n"));
    let zdot = f.daemon.dir.join("zdot");
    std::fs::create_dir_all(&zdot).expect("zdotdir");
    std::fs::write(
        zdot.join(".zshrc"),
        format!(
            "fpath=({} $fpath)\nautoload -Uz compinit\ncompinit -u -D\nPS1='READY> '\ncd {}\n",
            completions().display(),
            f.daemon.dir.path().display()
        ),
    )
    .expect("write .zshrc");
    let o = run(Command::new("python3")
        .arg(repo_root().join("tests/support/pty_drive.py"))
        .arg(&script_path)
        .arg("--")
        .args(["zsh", "-i"])
        .env("PATH", &f.path)
        .env("ZDOTDIR", &zdot)
        .env("TERM", "xterm"));
    let transcript = stdout(&o).replace('\r', "").replace('\x1b', "<ESC>");
    assert!(o.status.success(), "zsh session: {}\ntranscript:\n{transcript}", stderr(&o));
}

#[test]
fn fish_completes_commands_and_live_process_names() {
    ensure_programs(&["fish"], &["fish"]);
    let f = fixture("fcomp");
    let conf = f.daemon.conf.display().to_string();
    let complete = |line: &str| -> Vec<String> {
        let o = run(Command::new("fish")
            .arg("--no-config")
            .arg("-c")
            .arg(format!(
                "source {}; complete -C {}",
                completions().join("supervisor.fish").display(),
                shell_quote(line)
            ))
            .env("PATH", &f.path));
        assert!(o.status.success(), "fish: {}", stderr(&o));
        stdout(&o).lines().map(|l| l.split('\t').next().unwrap_or("").to_string()).collect()
    };
    assert_eq!(complete("supervisorctl st"), ["start", "status", "stop"]);
    let names = complete(&format!("supervisorctl -c {conf} stop w"));
    for n in ["web:web_0", "web:web_1", "web:*", "worker"] {
        assert!(names.iter().any(|x| x == n), "{n} not offered: {names:?}");
    }
    let groups = complete(&format!("supervisor ctl -c {conf} remove "));
    assert_eq!(groups, ["web", "worker"]);
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[test]
fn every_man_page_renders_without_warnings() {
    ensure_programs(&["man", "groff"], &["man-db", "groff-base"]);
    let mut pages: Vec<PathBuf> =
        std::fs::read_dir(repo_root().join("man")).expect("man/").flatten().map(|e| e.path()).collect();
    pages.sort();
    assert!(pages.len() >= 6, "man pages: {pages:?}");
    for page in &pages {
        let o = run(Command::new("man")
            .arg("--warnings")
            .arg("-l")
            .arg(page)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .stdin(Stdio::null()));
        assert!(o.status.success(), "man -l {}: {}", page.display(), stderr(&o));
        assert!(stderr(&o).is_empty(), "man --warnings -l {}:\n{}", page.display(), stderr(&o));
        assert!(stdout(&o).lines().count() > 20, "{} rendered almost nothing", page.display());
    }
    // The check can fail: a page with a roff mistake warns.
    let dir = TempDir::new("manbad");
    let bad =
        dir.write("bad.1", ".TH BAD 1\n.SH NAME\nbad \\- bad\n.SH DESCRIPTION\n.BOGUS macro\n\\*[nosuchstring]\n");
    let o = run(Command::new("man").arg("--warnings").arg("-l").arg(&bad).env("MANWIDTH", "80"));
    assert!(!stderr(&o).is_empty(), "man --warnings does not report mistakes");
}
