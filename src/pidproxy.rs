//! pidproxy: run a command, relay signals to the pid its pidfile names.

pub fn main(_progname: &str, args: &[String]) -> i32 {
    if args.iter().any(|a| a == "--version") {
        println!("{}", crate::SUPERVISOR_VERSION);
        return 0;
    }
    eprintln!("pidproxy: not built yet in this version of supervisor");
    1
}
