//! supervisorctl: the control client.

pub fn main(_progname: &str, args: &[String]) -> i32 {
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!("{}", crate::SUPERVISOR_VERSION);
        return 0;
    }
    eprintln!("supervisorctl: not built yet in this version of supervisor");
    1
}
