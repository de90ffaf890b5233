//! supervisord: the daemon.

mod check;
mod options;

use crate::config;

/// The reference's usage-error shape: two lines on stderr, exit 2.
fn usage_error(progname: &str, msg: &str) -> i32 {
    eprintln!("Error: {msg}");
    eprintln!("For help, use {progname} -h");
    2
}

pub fn main(progname: &str, args: &[String]) -> i32 {
    let args = match options::parse(args) {
        Ok(options::Parsed::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Ok(options::Parsed::Run(a)) => a,
        Err(msg) => return usage_error(progname, &msg),
    };
    let path = match &args.configuration {
        Some(c) => std::path::PathBuf::from(c),
        None => match config::find_config_file(progname) {
            Ok(p) => {
                if crate::sys::getuid() == 0 {
                    eprintln!(
                        "Warning: supervisord is running as root and found its config file by searching \
                         default locations (the current directory among them); pass -c with an absolute \
                         path to be sure which file is used."
                    );
                }
                p
            }
            Err(msg) => return usage_error(progname, &msg),
        },
    };
    let mut cfg = match config::load_server_config(&path) {
        Ok(c) => c,
        Err(e) => return usage_error(progname, &e.to_string()),
    };
    if let Err(msg) = options::apply(&args, &mut cfg) {
        return usage_error(progname, &msg);
    }
    if args.check {
        for w in &cfg.warnings {
            eprintln!("{} {w}", config::LogLevel::Warn.tag());
        }
        print!("{}", check::render(&cfg));
        return 0;
    }
    eprintln!(
        "supervisord: the process engine is not built yet; only --check works in this version"
    );
    1
}
