//! From `command=` to something execve can run: POSIX shell-like word splitting without
//! a shell (Python's `shlex.split`), and the reference's PATH search and checks, whose
//! messages users see as `spawnerr` and in RPC faults.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Why a command cannot be run, with the reference's fault class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// NO_FILE: `can't find command '/x'`
    NotFound(String),
    /// NOT_EXECUTABLE: directory, no x bit, unparsable or empty command.
    NotExecutable(String),
    /// NO_FILE as well in the reference: `no permission to run command '/x'`.
    NoPermission(String),
}

impl CommandError {
    pub fn message(&self) -> &str {
        match self {
            CommandError::NotFound(m) | CommandError::NotExecutable(m) | CommandError::NoPermission(m) => m,
        }
    }
}

/// `shlex.split(s)` in POSIX mode: quotes, backslash escapes, no comments.
pub fn split(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => word.push(n),
                    None => return Err("No escaped character".into()),
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => word.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&n) if n == '"' || n == '\\' => {
                                word.push(n);
                                chars.next();
                            }
                            Some(_) => word.push('\\'),
                            None => return Err("No closing quotation".into()),
                        },
                        Some(n) => word.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

fn repr(s: &str) -> String {
    crate::config::ini::py_repr(s)
}

/// Splits the command and finds the file to exec: argv[0] with a `/` is used as is
/// (relative to the daemon's CWD), otherwise the first PATH entry where it exists.
/// Returns (file to exec, argv).
pub fn resolve(command: &str, path_var: Option<&str>) -> Result<(String, Vec<String>), CommandError> {
    let argv = split(command)
        .map_err(|e| CommandError::NotExecutable(format!("can't parse command {}: {e}", repr(command))))?;
    let Some(program) = argv.first() else {
        return Err(CommandError::NotExecutable("command is empty".into()));
    };
    let filename = if program.contains('/') {
        program.clone()
    } else {
        let dirs: Vec<&str> = match path_var {
            Some(p) if !p.is_empty() => p.split(':').collect(),
            _ => vec!["/bin", "/usr/bin", "/usr/local/bin"],
        };
        dirs.iter()
            .map(|d| Path::new(d).join(program).to_string_lossy().into_owned())
            .find(|f| std::fs::metadata(f).is_ok())
            .unwrap_or_else(|| program.clone())
    };
    let meta = std::fs::metadata(&filename)
        .map_err(|_| CommandError::NotFound(format!("can't find command {}", repr(&filename))))?;
    if meta.is_dir() {
        return Err(CommandError::NotExecutable(format!("command at {} is a directory", repr(&filename))));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(CommandError::NotExecutable(format!("command at {} is not executable", repr(&filename))));
    }
    if rustix::fs::access(filename.as_str(), rustix::fs::Access::EXEC_OK).is_err() {
        return Err(CommandError::NoPermission(format!("no permission to run command {}", repr(&filename))));
    }
    Ok((filename, argv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn posix_splitting() {
        assert_eq!(split("a b  c").unwrap(), w(&["a", "b", "c"]));
        assert_eq!(split("sh -c 'echo a; echo b'").unwrap(), w(&["sh", "-c", "echo a; echo b"]));
        assert_eq!(split(r#"echo "a \"q\" \n" x\ y"#).unwrap(), w(&["echo", "a \"q\" \\n", "x y"]));
        assert_eq!(split("a '' b").unwrap(), w(&["a", "", "b"]));
        assert_eq!(split("a#b #c").unwrap(), w(&["a#b", "#c"]));
        assert_eq!(split("x 'open").unwrap_err(), "No closing quotation");
        assert_eq!(split("x \\").unwrap_err(), "No escaped character");
        assert_eq!(split("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn resolution_and_its_errors() {
        let (file, argv) = resolve("sh -c true", Some("/nonexistent:/bin:/usr/bin")).unwrap();
        assert!(file.ends_with("/sh"), "{file}");
        assert_eq!(argv, w(&["sh", "-c", "true"]));
        assert_eq!(
            resolve("/no/such/binary", None),
            Err(CommandError::NotFound("can't find command '/no/such/binary'".into()))
        );
        assert_eq!(
            resolve("nosuchprogram-x", Some("/bin")),
            Err(CommandError::NotFound("can't find command 'nosuchprogram-x'".into()))
        );
        assert_eq!(resolve("/tmp", None), Err(CommandError::NotExecutable("command at '/tmp' is a directory".into())));
        assert_eq!(resolve("", None), Err(CommandError::NotExecutable("command is empty".into())));
        assert_eq!(
            resolve("x 'a", None),
            Err(CommandError::NotExecutable("can't parse command \"x 'a\": No closing quotation".into()))
        );
        let f = std::env::temp_dir().join(format!("noexec-{}", std::process::id()));
        std::fs::write(&f, "").unwrap();
        let msg = format!("command at '{}' is not executable", f.display());
        assert_eq!(resolve(&f.to_string_lossy(), None), Err(CommandError::NotExecutable(msg)));
        std::fs::remove_file(&f).unwrap();
    }
}
