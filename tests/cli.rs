//! The multicall binary as users start it: under each tool's name (symlinks) and as
//! `supervisor TOOL`, with the reference's command-line forms and error conventions.

mod common;

use std::process::Command;

use common::*;

const MINIMAL: &str =
    "[supervisord]\nlogfile=/tmp/sv-cli-test.log\npidfile=/tmp/sv-cli-test.pid\n\n[program:cat]\ncommand=/bin/cat\n";

#[test]
fn help_lists_every_tool() {
    let o = run(Command::new(bin()).arg("--help"));
    assert!(o.status.success());
    let out = stdout(&o);
    for t in ["supervisord", "supervisorctl", "echo_supervisord_conf", "pidproxy", "--install"] {
        assert!(out.contains(t), "help lacks {t}: {out}");
    }
}

#[test]
fn unknown_tool_is_a_clear_error_with_exit_2() {
    let o = run(Command::new(bin()).arg("frobnicate"));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown tool 'frobnicate'"), "{}", stderr(&o));
}

#[test]
fn no_arguments_prints_help_and_fails() {
    let o = run(&mut Command::new(bin()));
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("Tools:"));
}

#[test]
fn every_tool_answers_version() {
    let o = run(Command::new(bin()).arg("--version"));
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("supervisor "), "{}", stdout(&o));
    for (t, flag) in [
        ("supervisord", "--version"),
        ("supervisord", "-v"),
        ("supervisorctl", "--version"),
        ("echo_supervisord_conf", "--version"),
        ("pidproxy", "--version"),
    ] {
        let o = run(tool(t).arg(flag));
        assert!(o.status.success(), "{t} {flag}: {}", stderr(&o));
        assert_eq!(stdout(&o), "4.3.0\n", "{t} {flag}");
    }
}

#[test]
fn subcommand_aliases_reach_the_same_tool() {
    let dir = TempDir::new("cli-alias");
    let conf = dir.write("s.conf", MINIMAL);
    let expected = run(tool("supervisord").arg("-c").arg(&conf).arg("--check"));
    assert!(expected.status.success(), "{}", stderr(&expected));
    for alias in ["supervisord", "daemon", "d"] {
        let o = run(Command::new(bin()).arg(alias).arg("-c").arg(&conf).arg("--check"));
        assert!(o.status.success(), "{alias}: {}", stderr(&o));
        assert_eq!(stdout(&o), stdout(&expected), "{alias}");
    }
    let sample = run(&mut tool("echo_supervisord_conf"));
    for alias in ["echo_supervisord_conf", "echo-conf"] {
        let o = run(Command::new(bin()).arg(alias));
        assert_eq!(stdout(&o), stdout(&sample), "{alias}");
    }
}

#[test]
fn install_makes_links_and_refuses_foreign_files() {
    let dir = TempDir::new("cli-install");
    let o = run(Command::new(bin()).arg("--install").arg(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    for t in ["supervisord", "supervisorctl", "echo_supervisord_conf", "pidproxy"] {
        let link = dir.join(t);
        assert!(link.symlink_metadata().map(|m| m.file_type().is_symlink()).unwrap_or(false), "{t} not a link");
    }
    // A second install replaces its own links.
    let o = run(Command::new(bin()).arg("--install").arg(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    // The link works as the tool.
    let o = run(Command::new(dir.join("supervisord")).arg("--version"));
    assert_eq!(stdout(&o), "4.3.0\n");
    // A file that is not our link is left alone and reported.
    std::fs::remove_file(dir.join("pidproxy")).unwrap();
    dir.write("pidproxy", "#!/bin/sh\n");
    let o = run(Command::new(bin()).arg("--install").arg(dir.path()));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("is not a link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.join("pidproxy")).unwrap(), "#!/bin/sh\n");
    let o = run(Command::new(bin()).arg("--install"));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn supervisord_usage_errors_exit_2_with_reference_text() {
    let cases: &[(&[&str], &str)] = &[
        (&["-x"], "Error: option -x not recognized"),
        (&["--bogus"], "Error: option --bogus not recognized"),
        (&["-c"], "Error: option -c requires argument"),
        (&["extra"], "Error: positional arguments are not supported: ['extra']"),
        (&["-c", "a", "-c", "b"], "Error: conflicting command line option '-c'"),
        (&["-m", "9"], "Error: invalid value for -m '9': 9 can not be converted to an octal type"),
        (&["--loglevel=warning"], "Error: invalid value for --loglevel 'warning': bad logging level name 'warning'"),
        (&["-c", "/no/such/file.conf"], "Error: could not find config file /no/such/file.conf"),
    ];
    for (args, expected) in cases {
        let o = run(tool("supervisord").args(*args));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.starts_with(expected), "{args:?}: got {err}");
        assert!(err.contains("For help, use "), "{args:?}: {err}");
    }
}

#[test]
fn supervisord_help_exits_0() {
    for flag in ["-h", "--help", "-?"] {
        let o = run(tool("supervisord").arg(flag));
        assert!(o.status.success(), "{flag}");
        assert!(stdout(&o).contains("--configuration"), "{flag}: {}", stdout(&o));
    }
}

#[test]
fn getopt_forms_are_accepted() {
    let dir = TempDir::new("cli-getopt");
    let conf = dir.write("s.conf", MINIMAL);
    let conf = conf.to_string_lossy().into_owned();
    for args in [
        vec!["-nc".to_string(), conf.clone(), "--check".into()],
        vec![format!("-c{conf}"), "--check".into()],
        vec![format!("--configuration={conf}"), "--check".into()],
        vec!["--config".into(), conf.clone(), "--logfile_maxbytes=1MB".into(), "--check".into()],
    ] {
        let o = run(tool("supervisord").args(&args));
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).contains("process cat "), "{args:?}");
    }
}

#[test]
fn check_prints_the_effective_processes_and_warnings() {
    let dir = TempDir::new("cli-check");
    let conf = dir.write(
        "s.conf",
        "[supervisord]\nlogfile=/tmp/sv-cli-check.log\n\n\
         [program:web]\ncommand=/bin/server -port=90%(process_num)02d\nnumprocs=4\nnumprocs_start=1\n\
         process_name=%(program_name)s_%(process_num)02d\nautorestrat=true\n",
    );
    let o = run(tool("supervisord").arg("-c").arg(&conf).arg("--check"));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("group web priority=999"), "{out}");
    for n in 1..=4 {
        assert!(
            out.contains(&format!("process web_0{n} priority=999 autostart=true command=/bin/server -port=900{n}")),
            "{out}"
        );
    }
    let err = stderr(&o);
    assert!(
        err.contains(
            "s.conf:9: unknown key 'autorestrat' in section [program:web] ignored (did you mean 'autorestart'?)"
        ),
        "{err}"
    );
}

#[test]
fn a_broken_config_names_file_line_section_and_key_and_starts_nothing() {
    let dir = TempDir::new("cli-broken");
    let marker = dir.join("started");
    let conf = dir.write(
        "s.conf",
        &format!(
            "[supervisord]\nlogfile=/tmp/sv-cli-broken.log\n\n[program:a]\ncommand=/bin/touch {}\n\n[program:b]\ncommand=/bin/true\nstartsecs=soon\n",
            marker.display()
        ),
    );
    let o = run(tool("supervisord").arg("-n").arg("-c").arg(&conf));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "Error: {}:9: [program:b] startsecs: invalid literal for int() with base 10: 'soon'",
            conf.display()
        )),
        "{err}"
    );
    assert!(!marker.exists(), "a program was started despite the error");
}

#[test]
fn config_is_found_by_the_search_list() {
    let dir = TempDir::new("cli-search");
    dir.write("supervisord.conf", MINIMAL);
    let o = run(Command::new(bin()).args(["supervisord", "--check"]).current_dir(dir.path()));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("supervisord.conf: valid"), "{}", stdout(&o));
    let empty = TempDir::new("cli-search-none");
    let o = run(Command::new(bin()).args(["supervisord", "--check"]).current_dir(empty.path()));
    if std::path::Path::new("/etc/supervisord.conf").exists()
        || std::path::Path::new("/etc/supervisor/supervisord.conf").exists()
    {
        return;
    }
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("No config file found at default paths"), "{}", stderr(&o));
}

#[test]
fn echo_conf_parses_here_and_in_the_reference() {
    let sample = stdout(&run(&mut tool("echo_supervisord_conf")));
    assert!(sample.contains("[unix_http_server]") && sample.contains("[supervisord]"));
    let dir = TempDir::new("cli-echo");
    let conf = dir.write("s.conf", &format!("{sample}\n[program:cat]\ncommand=/bin/cat\n"));
    let o = run(tool("supervisord").arg("-c").arg(&conf).arg("--check"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("process cat priority=999 autostart=true command=/bin/cat"));
    let script = repo_root().join("tests/support/ref_check.py");
    let r = run(Command::new(reference_python()).arg(script).arg(&conf));
    assert!(r.status.success(), "the reference rejects our sample: {}", stderr(&r));
    assert_eq!(stdout(&r), stdout(&o), "the two parsers read the sample differently");
}

#[test]
fn sample_has_the_reference_sections_in_order() {
    let sample = stdout(&run(&mut tool("echo_supervisord_conf")));
    let order = [
        "[unix_http_server]",
        ";[inet_http_server]",
        "[supervisord]",
        "[rpcinterface:supervisor]",
        "[supervisorctl]",
        ";[program:theprogramname]",
        ";[eventlistener:theeventlistenername]",
        ";[group:thegroupname]",
        ";[include]",
    ];
    let mut at = 0;
    for s in order {
        let found = sample[at..].find(s).map(|i| i + at);
        assert!(found.is_some(), "{s} missing or out of order");
        at = found.unwrap_or(at);
    }
}
