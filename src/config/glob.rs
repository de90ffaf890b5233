//! Path globbing for `[include] files=`, with Python `glob.glob` rules: `*`, `?` and
//! `[...]`/`[!...]` per path component, and a leading `.` matched only explicitly.

use std::path::{Path, PathBuf};

/// Every existing path matching `pattern`, unsorted.
pub fn glob(pattern: &str) -> Vec<PathBuf> {
    let absolute = pattern.starts_with('/');
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    let start = if absolute { PathBuf::from("/") } else { PathBuf::new() };
    if parts.is_empty() {
        return if absolute { vec![start] } else { Vec::new() };
    }
    let mut current = vec![start];
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for dir in &current {
            if !has_magic(part) {
                let candidate = dir.join(part);
                let exists = if last { candidate.symlink_metadata().is_ok() } else { candidate.is_dir() };
                if exists {
                    next.push(candidate);
                }
                continue;
            }
            let listing = if dir.as_os_str().is_empty() { Path::new(".") } else { dir.as_path() };
            let Ok(entries) = std::fs::read_dir(listing) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.') && !part.starts_with('.') {
                    continue;
                }
                if fnmatch(part, name) {
                    let candidate = dir.join(name);
                    if last || candidate.is_dir() {
                        next.push(candidate);
                    }
                }
            }
        }
        current = next;
    }
    current
}

/// Whether Python's `glob.glob(pattern)` fails with "embedded null byte": it lists a
/// directory whose path holds a NUL, which happens only when the part after the last
/// `/` has magic and the part before it has none (a directory found by magic is a real
/// name, without NUL); a NUL anywhere else just matches nothing.
pub fn refuses_nul(pattern: &str) -> bool {
    if !has_magic(pattern) {
        return false;
    }
    let (dir, base) = match pattern.rsplit_once('/') {
        Some((d, b)) => (d, b),
        None => ("", pattern),
    };
    if has_magic(dir) {
        return refuses_nul(dir);
    }
    has_magic(base) && dir.contains('\0')
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell-style matching of one name, case-sensitive.
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Backtracking point for the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi + 1, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, len)) = class_match(&p[pi..], n[ni]) {
                        if matched {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        // An unclosed `[` is a literal.
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class at the start of `p`; returns (matched, class length),
/// or None when the class is not closed.
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!'));
    if negate {
        i += 1;
    }
    let first = i;
    let mut matched = false;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && i > first {
            break;
        }
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let end = p[i + 2];
            if ch <= c && c <= end {
                matched = true;
            }
            i += 3;
        } else {
            if ch == c {
                matched = true;
            }
            i += 1;
        }
    }
    Some((matched != negate, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_fail_only_where_python_lists_a_directory_with_one() {
        assert!(refuses_nul("/a/b\0c/*.conf"));
        assert!(!refuses_nul("/a/b/*.c\0onf"), "filtered by name: no match");
        assert!(!refuses_nul("/a/b\0c/x.conf"), "no magic: an existence test, False");
        assert!(!refuses_nul("/a/b\0c*/x.conf"), "the NUL is in a pattern matched against real names");
        assert!(refuses_nul("/a/*/b\0/*.conf") == refuses_nul("/a/*"), "a magic parent decides first");
    }

    #[test]
    fn fnmatch_rules() {
        assert!(fnmatch("*.conf", "a.conf"));
        assert!(!fnmatch("*.conf", "a.conf.bak"));
        assert!(fnmatch("a?c", "abc"));
        assert!(fnmatch("[ab]*", "b1"));
        assert!(!fnmatch("[!ab]*", "b1"));
        assert!(fnmatch("[a-c]x", "bx"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("*a*b*", "xxaxxbxx"));
        assert!(fnmatch("[x", "[x"));
    }

    #[test]
    fn glob_finds_files_and_skips_hidden() {
        let dir = std::env::temp_dir().join(format!("globtest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        for f in ["b.conf", "a.conf", ".hidden.conf", "c.ini"] {
            std::fs::write(dir.join("conf.d").join(f), "").unwrap();
        }
        let pattern = format!("{}/conf.d/*.conf", dir.display());
        let mut found = glob(&pattern);
        found.sort();
        assert_eq!(found, vec![dir.join("conf.d/a.conf"), dir.join("conf.d/b.conf")]);
        assert_eq!(glob(&format!("{}/conf.d/.*.conf", dir.display())).len(), 1);
        assert_eq!(glob(&format!("{}/*/c.ini", dir.display())).len(), 1);
        assert!(glob(&format!("{}/nothing/*.conf", dir.display())).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
