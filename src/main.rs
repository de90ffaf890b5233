//! One executable, four tools: it is `supervisord`, `supervisorctl`,
//! `echo_supervisord_conf` or `pidproxy` by the name it was started under, or by its
//! first argument (`supervisor ctl status`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use supervisor::{ctl, daemon, echo_conf, pidproxy, OUR_VERSION, SUPERVISOR_VERSION};

type Entry = fn(&str, &[String]) -> i32;

/// Tool name, its short subcommand aliases, its entry point.
const TOOLS: &[(&str, &[&str], Entry, &str)] = &[
    ("supervisord", &["daemon", "d"], daemon::main, "run and watch the programs of a config file"),
    ("supervisorctl", &["ctl"], ctl::main, "control a running supervisord"),
    ("echo_supervisord_conf", &["echo-conf"], echo_conf::main, "print a sample config file"),
    ("pidproxy", &[], pidproxy::main, "run a command and relay signals to the pid in a pidfile"),
];

fn find_tool(name: &str) -> Option<(&'static str, Entry)> {
    TOOLS
        .iter()
        .find(|(full, aliases, _, _)| *full == name || aliases.contains(&name))
        .map(|(full, _, entry, _)| (*full, *entry))
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect();
    let argv0 = args.first().cloned().unwrap_or_else(|| "supervisor".into());
    let base = Path::new(&argv0).file_name().map(|b| b.to_string_lossy().into_owned()).unwrap_or_default();
    if let Some((_, entry)) = find_tool(&base).filter(|(full, _)| *full == base) {
        return exit(entry(&argv0, &args[1..]));
    }
    let Some(first) = args.get(1) else {
        print_help();
        return exit(2);
    };
    match first.as_str() {
        "--help" | "-h" | "help" => {
            print_help();
            exit(0)
        }
        "--version" | "-V" | "version" => {
            println!("supervisor {OUR_VERSION} (implements Supervisor {SUPERVISOR_VERSION})");
            exit(0)
        }
        "--install" => exit(install(&args[2..])),
        name => match find_tool(name) {
            Some((full, entry)) => exit(entry(&format!("{argv0} {full}"), &args[2..])),
            None => {
                eprintln!("supervisor: unknown tool '{name}'; the tools are supervisord, supervisorctl, echo_supervisord_conf and pidproxy (see supervisor --help)");
                exit(2)
            }
        },
    }
}

fn print_help() {
    println!("supervisor {OUR_VERSION}: a process control system, compatible with Supervisor {SUPERVISOR_VERSION}\n");
    println!("Usage: supervisor TOOL [ARGS...]   or run it under a tool's name (a symlink)\n");
    println!("Tools:");
    for (name, aliases, _, what) in TOOLS {
        let aka = if aliases.is_empty() { String::new() } else { format!(" (also: {})", aliases.join(", ")) };
        println!("  {name:<23}{what}{aka}");
    }
    println!("\nOther commands:");
    println!("  --install DIR          make the four tool symlinks in DIR, pointing at this binary");
    println!("  --version              print the version");
    println!("\nEach tool takes --help. Example: supervisor ctl -c /etc/supervisord.conf status");
}

/// `supervisor --install DIR`: a symlink per tool. An existing file is replaced only
/// when it is already a link to this binary.
fn install(args: &[String]) -> i32 {
    let [dir] = args else {
        eprintln!("Usage: supervisor --install DIR");
        return 2;
    };
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("supervisor: cannot tell where this binary is: {e}");
            return 1;
        }
    };
    let dir = PathBuf::from(dir);
    if !dir.is_dir() {
        eprintln!("supervisor: {} is not a directory", dir.display());
        return 1;
    }
    let mut status = 0;
    for (name, _, _, _) in TOOLS {
        let link = dir.join(name);
        if let Ok(meta) = link.symlink_metadata() {
            let ours = meta.file_type().is_symlink() && link.canonicalize().is_ok_and(|t| t == exe);
            if !ours {
                eprintln!("supervisor: {} exists and is not a link to {}; left alone", link.display(), exe.display());
                status = 1;
                continue;
            }
            if let Err(e) = std::fs::remove_file(&link) {
                eprintln!("supervisor: cannot replace {}: {e}", link.display());
                status = 1;
                continue;
            }
        }
        match std::os::unix::fs::symlink(&exe, &link) {
            Ok(()) => println!("{} -> {}", link.display(), exe.display()),
            Err(e) => {
                eprintln!("supervisor: cannot create {}: {e}", link.display());
                status = 1;
            }
        }
    }
    status
}
