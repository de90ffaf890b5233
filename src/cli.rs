//! Command-line words as the Python tools read them (`getopt.getopt`): grouped short
//! flags (`-nc FILE`), attached values (`-cFILE`, `--configuration=FILE`), unique
//! prefixes of long names (`--config FILE`), and a stop at the first non-option.
//!
//! argh cannot read those forms (nor long names with `_`), so each tool first runs its
//! words through [`getopt`] and hands argh the canonical `--long-name value` words.

#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub short: Option<char>,
    /// The Python long name, e.g. `logfile_maxbytes`.
    pub long: Option<&'static str>,
    pub takes_value: bool,
    /// The argh long name it maps to (`logfile-maxbytes`); also the identity used to
    /// detect a repeated option.
    pub argh: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// (the option as written, its argh name, its value)
    pub opts: Vec<(String, &'static str, Option<String>)>,
    /// Everything from the first non-option word on.
    pub rest: Vec<String>,
}

/// Parses `args` against `spec` with Python getopt's rules and error texts.
pub fn getopt(args: &[String], spec: &[Opt]) -> Result<Parsed, String> {
    let mut opts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let candidates: Vec<&Opt> = spec.iter().filter(|o| o.long.is_some_and(|l| l.starts_with(name))).collect();
            let opt = match candidates.iter().find(|o| o.long == Some(name)) {
                Some(o) => *o,
                None => match candidates.as_slice() {
                    [] => return Err(format!("option --{name} not recognized")),
                    [one] => *one,
                    _ => return Err(format!("option --{name} not a unique prefix")),
                },
            };
            let full = opt.long.unwrap_or(name);
            let value = if opt.takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        i += 1;
                        match args.get(i) {
                            Some(v) => Some(v.clone()),
                            None => return Err(format!("option --{full} requires argument")),
                        }
                    }
                }
            } else {
                if inline.is_some() {
                    return Err(format!("option --{full} must not have an argument"));
                }
                None
            };
            opts.push((format!("--{full}"), opt.argh, value));
            i += 1;
            continue;
        }
        if arg.starts_with('-') && arg != "-" {
            let chars: Vec<char> = arg.chars().skip(1).collect();
            let mut j = 0;
            while j < chars.len() {
                let c = chars[j];
                let Some(opt) = spec.iter().find(|o| o.short == Some(c)) else {
                    return Err(format!("option -{c} not recognized"));
                };
                if opt.takes_value {
                    let attached: String = chars[j + 1..].iter().collect();
                    let value = if !attached.is_empty() {
                        attached
                    } else {
                        i += 1;
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => return Err(format!("option -{c} requires argument")),
                        }
                    };
                    opts.push((format!("-{c}"), opt.argh, Some(value)));
                    break;
                }
                opts.push((format!("-{c}"), opt.argh, None));
                j += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    Ok(Parsed { opts, rest: args[i..].to_vec() })
}

impl Parsed {
    /// The words argh reads; a repeated option is refused the way the reference does.
    pub fn argh_words(&self, repeatable: &[&str]) -> Result<Vec<String>, String> {
        let mut words = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (written, argh, value) in &self.opts {
            if seen.contains(argh) && !repeatable.contains(argh) {
                return Err(format!("conflicting command line option {}", super::config::ini::py_repr(written)));
            }
            seen.push(argh);
            words.push(format!("--{argh}"));
            if let Some(v) = value {
                words.push(v.clone());
            }
        }
        Ok(words)
    }

    pub fn has(&self, argh: &str) -> bool {
        self.opts.iter().any(|(_, a, _)| *a == argh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Opt] = &[
        Opt { short: Some('c'), long: Some("configuration"), takes_value: true, argh: "configuration" },
        Opt { short: Some('n'), long: Some("nodaemon"), takes_value: false, argh: "nodaemon" },
        Opt { short: Some('y'), long: Some("logfile_maxbytes"), takes_value: true, argh: "logfile-maxbytes" },
        Opt { short: Some('l'), long: Some("logfile"), takes_value: true, argh: "logfile" },
    ];

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grouped_attached_and_long_forms() {
        let p = getopt(&words(&["-nc", "f.conf", "--logfile_maxbytes=5MB", "-lx.log"]), SPEC).unwrap();
        assert_eq!(
            p.argh_words(&[]).unwrap(),
            words(&["--nodaemon", "--configuration", "f.conf", "--logfile-maxbytes", "5MB", "--logfile", "x.log"])
        );
    }

    #[test]
    fn unique_prefixes_and_their_errors() {
        let p = getopt(&words(&["--config", "a"]), SPEC).unwrap();
        assert_eq!(p.opts[0].0, "--configuration");
        assert_eq!(getopt(&words(&["--logfile", "a"]), SPEC).unwrap().opts[0].1, "logfile");
        assert_eq!(getopt(&words(&["--log", "a"]), SPEC), Err("option --log not a unique prefix".into()));
        assert_eq!(getopt(&words(&["--bogus"]), SPEC), Err("option --bogus not recognized".into()));
        assert_eq!(getopt(&words(&["-x"]), SPEC), Err("option -x not recognized".into()));
        assert_eq!(getopt(&words(&["-c"]), SPEC), Err("option -c requires argument".into()));
        assert_eq!(getopt(&words(&["--nodaemon=1"]), SPEC), Err("option --nodaemon must not have an argument".into()));
    }

    #[test]
    fn stops_at_first_non_option() {
        let p = getopt(&words(&["-c", "f", "status", "-n"]), SPEC).unwrap();
        assert_eq!(p.rest, words(&["status", "-n"]));
        let p = getopt(&words(&["--", "-n"]), SPEC).unwrap();
        assert_eq!(p.rest, words(&["-n"]));
    }

    #[test]
    fn repeated_option_conflicts() {
        let p = getopt(&words(&["-c", "a", "--configuration", "b"]), SPEC).unwrap();
        assert_eq!(p.argh_words(&[]), Err("conflicting command line option '--configuration'".into()));
    }
}
