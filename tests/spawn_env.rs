//! What a child gets when it is spawned (reference §3.6): its environment, user,
//! directory and umask, clean signal dispositions, no inherited fds, its own process
//! group, and how failures before and after the fork are reported.

mod common;
use common::*;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// How to start a daemon when the fixture's defaults are not enough.
#[derive(Default)]
struct Launch<'a> {
    /// Extra keys for [supervisord].
    extra: &'a str,
    /// Variables set in the daemon's own environment.
    env: &'a [(&'a str, &'a str)],
    /// A shell snippet run before the daemon is exec'd in the same process (to give it
    /// ignored signals or stray fds).
    wrapper: Option<&'a str>,
}

/// Like `Daemon::start_with`, but with the daemon's environment under control, files
/// prepared before the first spawn, and a directory any user may write to.
fn launch(tag: &str, body: &str, how: Launch, prepare: impl FnOnce(&Path)) -> Daemon {
    let dir = TempDir::new(tag);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    prepare(dir.path());
    let text = format!(
        "{}\n{}",
        supervisord_section(dir.path(), how.extra),
        body.replace("{dir}", &dir.path().display().to_string())
    );
    let conf = dir.write("supervisord.conf", &text);
    let mut cmd = match how.wrapper {
        Some(w) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(format!("{w}\nexec \"$@\"")).arg("sh").arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    cmd.args(["supervisord", "-n", "-c"]).arg(&conf);
    cmd.env_remove("SUPERVISOR_SERVER_URL");
    for (k, v) in how.env {
        cmd.env(k, v);
    }
    let err = std::fs::File::create(dir.join("daemon.stderr")).expect("create stderr file");
    let child = cmd.stdout(Stdio::null()).stderr(err).spawn().expect("start supervisord");
    let d = Daemon { dir, conf, child: Some(child) };
    assert!(
        d.wait_log("supervisord started with pid", WAIT),
        "the daemon did not start; log:\n{}\nstderr:\n{}",
        d.log(),
        std::fs::read_to_string(d.dir.join("daemon.stderr")).unwrap_or_default()
    );
    d
}

/// Waits for a file the child writes (children write to a temporary name and rename).
fn wait_file(d: &Daemon, name: &str) -> String {
    let p = d.dir.join(name);
    assert!(wait_until(WAIT, || p.exists()), "{} was never written; log:\n{}", p.display(), d.log());
    std::fs::read_to_string(&p).expect("read child file")
}

/// A shell command that dumps the environment to {dir}/<name>.env and then sleeps.
fn env_dump(name: &str) -> String {
    format!("/bin/sh -c 'env > {{dir}}/{name}.tmp && mv {{dir}}/{name}.tmp {{dir}}/{name}.env; exec sleep 60'")
}

fn read_env(d: &Daemon, name: &str) -> HashMap<String, String> {
    wait_file(d, &format!("{name}.env"))
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn get<'a>(env: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    env.get(k).map(String::as_str)
}

/// A line of /proc/<pid>/status, without its label.
fn status_field(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The fields of /proc/<pid>/stat after the command name (state 0, ppid 1, pgrp 2, session 3).
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    let rest = stat.rsplit_once(") ").expect("stat format").1;
    rest.split_whitespace().map(str::to_string).collect()
}

fn cwd(pid: u32) -> PathBuf {
    std::fs::read_link(format!("/proc/{pid}/cwd")).expect("read cwd link")
}

fn fds(pid: u32) -> BTreeSet<u32> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fd dir")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// The pid of a running program, once its command has been exec'd (sh ran `exec sleep`).
fn running_pid(d: &Daemon, name: &str, cmd: &str) -> u32 {
    let mut pid = None;
    assert!(
        wait_until(WAIT, || {
            pid = d.spawned_pid(name);
            pid.is_some_and(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| c.split(|&b| b == 0).next() == Some(cmd.as_bytes()))
                    .unwrap_or(false)
            })
        }),
        "{name} never ran {cmd}; log:\n{}",
        d.log()
    );
    pid.unwrap()
}

#[test]
fn the_child_environment_is_layered_like_the_reference() {
    let body = format!(
        "[group:g]\nprograms=one,two\n\n\
         [program:one]\ncommand={}\nstartsecs=0\n\
         environment=SV_BOTH=\"program\",SV_OVERRIDE=\"program\",SUPERVISOR_PROCESS_NAME=\"renamed\",SUPERVISOR_ENABLED=\"yes\"\n\n\
         [program:two]\ncommand={}\nstartsecs=0\n\n\
         [program:solo]\ncommand={}\nstartsecs=0\n\n\
         [program:w]\ncommand={}\nprocess_name=w_%(process_num)d\nnumprocs=2\nnumprocs_start=1\nstartsecs=0\n",
        env_dump("one"),
        env_dump("two"),
        env_dump("solo"),
        env_dump("w_%(process_num)d"),
    );
    let d = launch(
        "env",
        &body,
        Launch {
            extra: "environment=SV_GLOBAL=\"global\",SV_BOTH=\"global\"",
            env: &[("SV_DAEMON", "from-daemon"), ("SV_OVERRIDE", "from-daemon")],
            ..Launch::default()
        },
        |_| {},
    );

    let one = read_env(&d, "one");
    assert_eq!(get(&one, "SUPERVISOR_ENABLED"), Some("yes"), "config values override SUPERVISOR_*");
    assert_eq!(get(&one, "SUPERVISOR_PROCESS_NAME"), Some("renamed"));
    assert_eq!(get(&one, "SUPERVISOR_GROUP_NAME"), Some("g"));
    assert_eq!(get(&one, "SV_BOTH"), Some("program"), "the program's environment= wins");
    assert_eq!(get(&one, "SV_GLOBAL"), Some("global"));
    assert_eq!(get(&one, "SV_DAEMON"), Some("from-daemon"));
    assert_eq!(get(&one, "SV_OVERRIDE"), Some("program"), "config beats the daemon's environment");
    assert_eq!(get(&one, "SUPERVISOR_SERVER_URL"), None, "no server is configured");

    let two = read_env(&d, "two");
    assert_eq!(get(&two, "SUPERVISOR_ENABLED"), Some("1"));
    assert_eq!(get(&two, "SUPERVISOR_PROCESS_NAME"), Some("two"));
    assert_eq!(get(&two, "SUPERVISOR_GROUP_NAME"), Some("g"));
    assert_eq!(get(&two, "SV_BOTH"), Some("global"), "[supervisord] environment= applies");
    assert_eq!(get(&two, "SV_OVERRIDE"), Some("from-daemon"));
    assert_eq!(get(&two, "SUPERVISOR_SERVER_URL"), None);
    assert!(get(&two, "PATH").is_some(), "the daemon's PATH is passed on");

    let solo = read_env(&d, "solo");
    assert_eq!(get(&solo, "SUPERVISOR_PROCESS_NAME"), Some("solo"));
    assert_eq!(get(&solo, "SUPERVISOR_GROUP_NAME"), Some("solo"));
    assert_eq!(get(&solo, "SV_DAEMON"), Some("from-daemon"));

    for n in ["w_1", "w_2"] {
        let w = read_env(&d, n);
        assert_eq!(get(&w, "SUPERVISOR_PROCESS_NAME"), Some(n));
        assert_eq!(get(&w, "SUPERVISOR_GROUP_NAME"), Some("w"));
    }
}

#[test]
fn supervisor_server_url_names_the_unix_server() {
    let body = format!(
        "[unix_http_server]\nfile={{dir}}/sv.sock\n\n\
         [program:auto]\ncommand={}\nstartsecs=0\n\n\
         [program:own]\ncommand={}\nserverurl=http://127.0.0.1:1\nstartsecs=0\n",
        env_dump("auto"),
        env_dump("own"),
    );
    let d = launch(
        "url",
        &body,
        Launch { env: &[("SUPERVISOR_SERVER_URL", "inherited-and-wrong")], ..Launch::default() },
        |_| {},
    );
    let auto = read_env(&d, "auto");
    let expected = format!("unix://{}/sv.sock", d.dir.path().display());
    assert!(expected.starts_with("unix:///"));
    assert_eq!(get(&auto, "SUPERVISOR_SERVER_URL"), Some(expected.as_str()));
    let own = read_env(&d, "own");
    assert_eq!(get(&own, "SUPERVISOR_SERVER_URL"), Some("http://127.0.0.1:1"), "serverurl= wins");
}

#[test]
fn environment_values_keep_quoted_commas_and_unquoted_spaces() {
    let body = format!(
        "[program:q]\ncommand={}\nstartsecs=0\nenvironment=A=\"x,y\",D='single, quoted',B=plain,C=a b\n",
        env_dump("q")
    );
    let d = launch("quote", &body, Launch::default(), |_| {});
    let env = read_env(&d, "q");
    assert_eq!(get(&env, "A"), Some("x,y"));
    assert_eq!(get(&env, "B"), Some("plain"));
    assert_eq!(get(&env, "C"), Some("a b"), "the reference would truncate this to `a`; we do not");
    assert_eq!(get(&env, "D"), Some("single, quoted"));
    // Where the two readings differ, the log says so with file:line.
    let line =
        std::fs::read_to_string(&d.conf).unwrap().lines().position(|l| l.starts_with("environment=A=")).unwrap() + 1;
    let location = format!("{}:{line}:", d.conf.display());
    let log = d.log();
    let warn =
        log.lines().find(|l| l.contains(&location)).unwrap_or_else(|| panic!("no warning naming {location}:\n{log}"));
    assert!(warn.contains(" WARN "), "{warn}");
    assert!(warn.contains("'a b'"), "{warn}");
}

/// (uid, gid, home) of `nobody` from the user database.
fn nobody() -> Option<(u32, u32, String)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("nobody:"))?;
    let f: Vec<&str> = line.split(':').collect();
    Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?, f.get(5)?.to_string()))
}

#[test]
fn user_switches_ids_and_describes_the_user_in_the_environment() {
    assert_eq!(status_field(std::process::id(), "Uid").split_whitespace().next(), Some("0"), "these tests run as root");
    let (uid, gid, home) = nobody().expect("a `nobody` user in /etc/passwd");
    let body = format!(
        "[program:plain]\ncommand={}\nuser=nobody\nstartsecs=0\n\n\
         [program:custom]\ncommand={}\nuser=nobody\nstartsecs=0\nenvironment=HOME=\"/custom/home\",USER=\"custom\"\n",
        env_dump("plain"),
        env_dump("custom"),
    );
    let d = launch(
        "user",
        &body,
        Launch { env: &[("HOME", "/root"), ("USER", "root"), ("LOGNAME", "root")], ..Launch::default() },
        |_| {},
    );
    let plain = read_env(&d, "plain");
    assert_eq!(get(&plain, "HOME"), Some(home.as_str()));
    assert_eq!(get(&plain, "USER"), Some("nobody"));
    assert_eq!(get(&plain, "LOGNAME"), Some("nobody"));
    let custom = read_env(&d, "custom");
    assert_eq!(get(&custom, "HOME"), Some("/custom/home"), "environment= wins over user=");
    assert_eq!(get(&custom, "USER"), Some("custom"));
    assert_eq!(get(&custom, "LOGNAME"), Some("nobody"));

    for name in ["plain", "custom"] {
        let pid = running_pid(&d, name, "sleep");
        let ids =
            |f: &str| -> Vec<u32> { status_field(pid, f).split_whitespace().map(|x| x.parse().unwrap()).collect() };
        assert_eq!(ids("Uid"), vec![uid; 4], "real, effective, saved and fs uid of {name}");
        assert_eq!(ids("Gid"), vec![gid; 4], "real, effective, saved and fs gid of {name}");
        assert!(!ids("Groups").contains(&0), "root's supplementary groups were kept: {:?}", ids("Groups"));
    }
}

#[test]
fn directory_and_umask_apply_to_the_child() {
    let body = "[program:inwork]\ncommand=/bin/sh -c 'echo hi > made.tmp && mv made.tmp made.txt; exec sleep 60'\n\
                directory={dir}/work\numask=077\nstartsecs=0\n\n\
                [program:plain]\ncommand=/bin/sleep 60\nstartsecs=0\n";
    let d = launch("dirmask", body, Launch::default(), |dir| {
        std::fs::create_dir(dir.join("work")).unwrap();
    });
    wait_file(&d, "work/made.txt");
    let mode = std::fs::metadata(d.dir.join("work/made.txt")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "umask=077 gives 0600, got {:o}", mode & 0o777);
    let pid = running_pid(&d, "inwork", "sleep");
    assert_eq!(cwd(pid), d.dir.join("work"));
    assert_eq!(status_field(pid, "Umask"), "0077");

    // Without them, the daemon's own directory and umask.
    let plain = running_pid(&d, "plain", "/bin/sleep");
    assert_eq!(cwd(plain), cwd(d.pid()));
    assert_eq!(status_field(plain, "Umask"), status_field(d.pid(), "Umask"));
}

/// A wrapper that gives the daemon ignored signals (34 is SIGRTMIN, 64 SIGRTMAX) and a
/// stray inheritable fd 7, so the child's clean state is the daemon's doing.
const DIRTY_PARENT: &str = "trap '' PIPE TSTP TTOU XFSZ 34 64\nexec 7</dev/null";

fn sig_bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

#[test]
fn children_start_with_default_signal_dispositions() {
    let body = "[program:yes]\ncommand=/bin/sh -c '(yes; echo $? > {dir}/yes_rc.txt) | head -1 > {dir}/yes.txt; echo $? > {dir}/rc.txt'\n\
                startsecs=0\nautorestart=false\nstderr_logfile={dir}/yes.err\n\n\
                [program:sleeper]\ncommand=/bin/sleep 60\nstartsecs=0\n";
    let d = launch("sigdfl", body, Launch { wrapper: Some(DIRTY_PARENT), ..Launch::default() }, |_| {});
    let daemon_ign = u64::from_str_radix(&status_field(d.pid(), "SigIgn"), 16).unwrap();
    for sig in [libc_sig::PIPE, libc_sig::TSTP, 34, 64] {
        assert_ne!(daemon_ign & sig_bit(sig), 0, "precondition: the daemon ignores signal {sig}");
    }

    assert!(d.wait_log("exited: yes (exit status 0; expected)", WAIT), "{}", d.log());
    assert_eq!(std::fs::read_to_string(d.dir.join("yes.txt")).unwrap(), "y\n");
    assert_eq!(std::fs::read_to_string(d.dir.join("rc.txt")).unwrap(), "0\n");
    assert_eq!(
        std::fs::read_to_string(d.dir.join("yes_rc.txt")).unwrap(),
        "141\n",
        "`yes` must die of SIGPIPE (128+13), not see EPIPE"
    );
    let err = std::fs::read_to_string(d.dir.join("yes.err")).unwrap_or_default();
    assert_eq!(err, "", "the pipeline was not quiet");

    // Signals 32 and 33 count too: glibc's posix_spawn (Rust's Command, among others)
    // leaves them ignored in what it starts, and glibc's signal()/sigaction() refuse to
    // touch them, so only a raw rt_sigaction resets them.
    let pid = running_pid(&d, "sleeper", "/bin/sleep");
    let daemon = status_field(d.pid(), "SigIgn");
    assert_eq!(status_field(pid, "SigIgn"), "0000000000000000", "ignored in the child (the daemon: {daemon})");
    assert_eq!(status_field(pid, "SigBlk"), "0000000000000000", "blocked in the child");
}

/// Signal numbers on Linux (the test crate does not depend on libc).
mod libc_sig {
    pub const PIPE: i32 = 13;
    pub const TSTP: i32 = 20;
}

#[test]
fn only_fds_0_1_2_are_inherited() {
    // `ls` writes to the shell's stdout: with a redirect (`ls ... > file`) dash would
    // itself move its fd 1 to fd 10 around the command and `ls` would list that too.
    let body = "[program:lister]\ncommand=/bin/sh -c 'ls /proc/$$/fd; exec sleep 60'\n\
                startsecs=0\nstdout_logfile={dir}/fds.txt\n\n\
                [program:other]\ncommand=/bin/sleep 60\nstartsecs=0\n";
    let d = launch("fds", body, Launch { wrapper: Some(DIRTY_PARENT), ..Launch::default() }, |_| {});
    let daemon_fds = fds(d.pid());
    assert!(daemon_fds.contains(&7), "precondition: the daemon has the stray fd 7: {daemon_fds:?}");
    assert!(daemon_fds.len() > 4, "precondition: the daemon has fds of its own: {daemon_fds:?}");

    for (name, cmd) in [("lister", "sleep"), ("other", "/bin/sleep")] {
        // Just after exec, ld.so and setlocale open (and close) files of their own; an
        // inherited fd would stay for good.
        let pid = running_pid(&d, name, cmd);
        let want = BTreeSet::from([0, 1, 2]);
        assert!(wait_until(WAIT, || fds(pid) == want), "the fds of {name}: {:?}", fds(pid));
    }
    // The shell has exec'd `sleep`, so `ls` is done; its one small write reaches the
    // log in one piece.
    let log = d.dir.join("fds.txt");
    assert!(
        wait_until(WAIT, || std::fs::read_to_string(&log).is_ok_and(|t| t.ends_with('\n'))),
        "no listing; log:\n{}",
        d.log()
    );
    let listed: BTreeSet<u32> =
        std::fs::read_to_string(&log).unwrap().split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(listed, BTreeSet::from([0, 1, 2]), "the fds the shell was given");
}

#[test]
fn every_child_leads_its_own_process_group() {
    let body = "[program:a]\ncommand=/bin/sleep 60\nstartsecs=0\n\n\
                [program:b]\ncommand=/bin/sleep 61\nstartsecs=0\n";
    let d = Daemon::start("pgrp", body);
    let daemon = stat_fields(d.pid());
    for name in ["a", "b"] {
        let pid = running_pid(&d, name, "/bin/sleep");
        let f = stat_fields(pid);
        assert_eq!(f[2], pid.to_string(), "pgid of {name}");
        assert_ne!(f[2], daemon[2], "{name} is in the daemon's process group");
        // setpgrp, not setsid: the session stays the daemon's, as in the reference.
        assert_eq!(f[3], daemon[3], "session of {name}");
    }
}

#[test]
fn spawn_failures_are_reported_like_the_reference() {
    let body = "[program:nodir]\ncommand=/bin/sleep 60\ndirectory=/no/such/dir\nstartretries=1\n\
                stderr_logfile={dir}/nodir.err\n\n\
                [program:noexec]\ncommand={dir}/noexec.sh\nstartretries=0\n\n\
                [program:badinterp]\ncommand={dir}/badinterp.sh\nstartretries=0\nstderr_logfile={dir}/badinterp.err\n\n\
                [program:missing]\ncommand=/no/such\nstartretries=0\n\n\
                [program:viapath]\ncommand=mytool arg\nenvironment=PATH=\"{dir}/bin\"\nstartsecs=0\nautorestart=false\n\n\
                [program:notonpath]\ncommand=sleep 60\nenvironment=PATH=\"{dir}/empty\"\nstartretries=0\n";
    let d = launch("spawnerr", body, Launch::default(), |dir| {
        let write = |name: &str, text: &str, mode: u32| {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("noexec.sh", "#!/bin/sh\nexit 0\n", 0o644);
        write("badinterp.sh", "#!/no/such/interpreter\n", 0o755);
        write("bin/mytool", &format!("#!/bin/sh\necho \"$PATH $1\" > {}/mytool.out\n", dir.display()), 0o755);
        std::fs::create_dir(dir.join("empty")).unwrap();
        // The daemon's own PATH has a `sleep`; the program's PATH must be the one used.
        assert!(Path::new("/bin/sleep").exists() || Path::new("/usr/bin/sleep").exists());
    });
    let dir = d.dir.path().display().to_string();

    for name in ["nodir", "noexec", "badinterp", "missing", "notonpath"] {
        assert!(
            d.wait_log(&format!("gave up: {name} entered FATAL state"), WAIT),
            "{name} did not go FATAL:\n{}",
            d.log()
        );
    }
    let log = d.log();

    // Inside the child: chdir fails, 127, BACKOFF and a retry, then FATAL.
    assert_eq!(log.matches("spawned: 'nodir' with pid").count(), 2, "startretries=1 is two attempts:\n{log}");
    assert_eq!(log.matches("exited: nodir (exit status 127; not expected)").count(), 2, "{log}");
    let err = std::fs::read_to_string(d.dir.join("nodir.err")).unwrap();
    let msg = "supervisor: couldn't chdir to /no/such/dir: ENOENT\nsupervisor: child process was not spawned\n";
    assert_eq!(err, msg.repeat(2), "the stderr log of nodir");
    let retry = log.rfind("spawned: 'nodir'").unwrap();
    assert!(log.find("exited: nodir").unwrap() < retry, "{log}");
    assert!(log.find("gave up: nodir").unwrap() > retry, "{log}");

    // An exec that fails after the fork.
    assert!(log.contains("exited: badinterp (exit status 127; not expected)"), "{log}");
    let err = std::fs::read_to_string(d.dir.join("badinterp.err")).unwrap();
    assert_eq!(
        err,
        format!("supervisor: couldn't exec {dir}/badinterp.sh: ENOENT\nsupervisor: child process was not spawned\n")
    );

    // Before the fork: no child at all.
    assert!(log.contains(&format!("spawnerr: command at '{dir}/noexec.sh' is not executable")), "{log}");
    assert!(log.contains("spawnerr: can't find command '/no/such'"), "{log}");
    assert!(log.contains("spawnerr: can't find command 'sleep'"), "PATH from environment= is searched:\n{log}");
    for name in ["noexec", "missing", "notonpath"] {
        assert!(!log.contains(&format!("spawned: '{name}'")), "{name} was spawned:\n{log}");
    }

    // PATH from environment= finds the tool, and the child sees that PATH.
    assert!(d.wait_log("exited: viapath (exit status 0; expected)", WAIT), "{}", d.log());
    assert_eq!(std::fs::read_to_string(d.dir.join("mytool.out")).unwrap(), format!("{dir}/bin arg\n"));
}
