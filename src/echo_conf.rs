//! echo_supervisord_conf: print a sample config. Arguments are ignored, as the
//! reference ignores them (except --version, which every tool answers).

pub fn main(_progname: &str, args: &[String]) -> i32 {
    if args.iter().any(|a| a == "--version") {
        println!("{}", crate::SUPERVISOR_VERSION);
        return 0;
    }
    print!("{}", crate::config::sample::SAMPLE_CONF);
    0
}
