//! The INI dialect of Python's `configparser.RawConfigParser` as Supervisor configures it
//! (`strict=False`, inline comments `;`/`#` after whitespace, `=` or `:` delimiters,
//! continuation lines, `[DEFAULT]`), on top of ini-roundtrip's line tokenizer.
//!
//! ini-roundtrip splits lines (with the same universal-newline rule as Python's text
//! files) and keeps each raw line; every dialect rule is applied here to that raw text,
//! because the tokenizer knows no `:` delimiter, inline comment or continuation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::error::ConfigError;

/// One `key = value` as the file wrote it, with where it was written.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub file: Rc<Path>,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub name: String,
    /// The file that first defined the section (the reference's `section_to_file`).
    pub file: Rc<Path>,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// The parsed files: sections in the order they first appeared, plus `[DEFAULT]`.
#[derive(Debug, Default, Clone)]
pub struct Ini {
    pub sections: Vec<Section>,
    pub defaults: Vec<Entry>,
    /// Sections defined twice (merged, the later value of a key winning, as
    /// configparser with strict=False does), one line each naming both places.
    pub warnings: Vec<String>,
    /// Section name -> index in `sections`: every typed read looks a section up, and a
    /// scan would make loading n programs cost n^2.
    index: HashMap<String, usize>,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index.get(name).map(|&i| &self.sections[i])
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.section(name).is_some()
    }

    /// A key of a section, falling back to `[DEFAULT]` as configparser does.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        self.section(section).and_then(|s| s.entry(key)).or_else(|| self.defaults.iter().find(|e| e.key == key))
    }

    /// Every key visible in a section: its own, then the inherited `[DEFAULT]` ones.
    pub fn keys(&self, section: &str) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = match self.section(section) {
            Some(s) => s.entries.iter().collect(),
            None => Vec::new(),
        };
        for d in &self.defaults {
            if !out.iter().any(|e| e.key == d.key) {
                out.push(d);
            }
        }
        out
    }

    /// Replaces `%(here)s` in every value read so far, as the reference does after
    /// reading each file when the config has an `[include]` section.
    pub fn replace_here(&mut self, here: &str) {
        let all = self.sections.iter_mut().flat_map(|s| s.entries.iter_mut()).chain(self.defaults.iter_mut());
        for e in all {
            if e.value.contains("%(here)s") {
                e.value = e.value.replace("%(here)s", here);
            }
        }
    }

    pub fn read_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                format!("could not find config file {}", path.display())
            } else {
                format!("could not read config file {}: {}", path.display(), e)
            };
            // The message names the file already.
            ConfigError::new(msg)
        })?;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let msg = py_utf8_error(e.as_bytes(), e.utf8_error());
                return Err(ConfigError::new(msg).in_file(path, Some(line)));
            }
        };
        self.read_str(&text, path)
    }

    pub fn read_str(&mut self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let file: Rc<Path> = Rc::from(path);
        let mut bad_lines: Vec<(usize, String)> = Vec::new();
        // Where values go: None before any header, Some(None) for [DEFAULT].
        let mut cursect: Option<Option<usize>> = None;
        let mut optname: Option<String> = None;
        // Lines of the value being continued; None means the option has no value yet.
        let mut indent_level = 0usize;
        let mut lines = raw_lines(text);
        // A continuation joins lines with '\n'; accumulate, and flush on the next option.
        let mut pending: Option<(Option<usize>, String, Vec<String>)> = None;

        let flush = |ini: &mut Ini, pending: &mut Option<(Option<usize>, String, Vec<String>)>| {
            if let Some((sect, key, parts)) = pending.take() {
                let joined = parts.join("\n");
                let value = joined.trim_end().to_string();
                let target = match sect {
                    Some(i) => &mut ini.sections[i].entries,
                    None => &mut ini.defaults,
                };
                if let Some(e) = target.iter_mut().find(|e| e.key == key) {
                    e.value = value;
                }
            }
        };

        for (idx, raw) in lines.by_ref().enumerate() {
            let lineno = idx + 1;
            let comment_start = comment_start(raw);
            let value_part = match comment_start {
                Some(c) => &raw[..c],
                None => raw,
            };
            let value = py_strip(value_part);
            if value.is_empty() {
                // An empty line inside a multi-line value is kept (configparser's
                // empty_lines_in_values), unless the line held a comment.
                if comment_start.is_none() {
                    if let Some((_, _, parts)) = pending.as_mut() {
                        parts.push(String::new());
                    }
                }
                continue;
            }
            let cur_indent = raw.len() - raw.trim_start_matches(is_py_space).len();
            if cursect.is_some() && optname.is_some() && cur_indent > indent_level {
                if let Some((_, _, parts)) = pending.as_mut() {
                    parts.push(value.to_string());
                }
                continue;
            }
            indent_level = cur_indent;
            if let Some(header) = section_header(value) {
                flush(self, &mut pending);
                optname = None;
                if header == "DEFAULT" {
                    cursect = Some(None);
                } else {
                    let idx = match self.index.get(header) {
                        Some(&i) => {
                            let first = &self.sections[i];
                            self.warnings.push(format!(
                                "{}:{lineno}: [{header}] is defined again (first at {}:{}); the two are merged, \
                                 a key set in both takes the later value",
                                path.display(),
                                first.file.display(),
                                first.line
                            ));
                            i
                        }
                        None => {
                            self.index.insert(header.to_string(), self.sections.len());
                            self.sections.push(Section {
                                name: header.to_string(),
                                file: file.clone(),
                                line: lineno,
                                entries: Vec::new(),
                            });
                            self.sections.len() - 1
                        }
                    };
                    cursect = Some(Some(idx));
                }
                continue;
            }
            let Some(sect) = cursect else {
                return Err(ConfigError::new(format!(
                    "File contains no section headers.\nfile: {}, line: {}\n{}",
                    py_repr(&path.to_string_lossy()),
                    lineno,
                    py_repr(&format!("{raw}\n"))
                ))
                .in_file(path, Some(lineno)));
            };
            match split_option(value) {
                Some((key, val)) if !key.is_empty() => {
                    flush(self, &mut pending);
                    let key = key.to_lowercase();
                    let target = match sect {
                        Some(i) => &mut self.sections[i].entries,
                        None => &mut self.defaults,
                    };
                    let entry = Entry { key: key.clone(), value: val.to_string(), file: file.clone(), line: lineno };
                    match target.iter_mut().find(|e| e.key == key) {
                        Some(e) => *e = entry,
                        None => target.push(entry),
                    }
                    pending = Some((sect, key.clone(), vec![val.to_string()]));
                    optname = Some(key);
                }
                _ => {
                    // configparser keeps going and reports every bad line at the end;
                    // the option being continued stays the last good one.
                    bad_lines.push((lineno, raw.to_string()));
                }
            }
        }
        flush(self, &mut pending);
        if let Some(&(first_line, _)) = bad_lines.first() {
            let mut msg = format!("Source contains parsing errors: {}", py_repr(&path.to_string_lossy()));
            for (n, l) in &bad_lines {
                msg.push_str(&format!("\n\t[line {:2}]: {}", n, py_repr(&format!("{l}\n"))));
            }
            return Err(ConfigError::new(msg).in_file(path, Some(first_line)));
        }
        Ok(())
    }
}

/// The raw lines of a text, split by ini-roundtrip (`\n`, `\r\n` or `\r`).
fn raw_lines(text: &str) -> impl Iterator<Item = &str> {
    ini_roundtrip::Parser::new(text).filter_map(|item| match item {
        ini_roundtrip::Item::SectionEnd => None,
        ini_roundtrip::Item::Error(raw)
        | ini_roundtrip::Item::Section { raw, .. }
        | ini_roundtrip::Item::Property { raw, .. }
        | ini_roundtrip::Item::Comment { raw }
        | ini_roundtrip::Item::Blank { raw } => Some(raw),
    })
}

/// Python's `str.isspace` for the characters that can appear inside one line.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Where a comment starts: a full-line `;`/`#`, or an inline one preceded by whitespace.
///
/// configparser searches in rounds: each round advances every prefix to its next
/// occurrence and stops at the first round with a valid one, taking the smallest valid
/// index of that round. So in `a;b ;c #d` the ` #` found in round one wins over the
/// earlier ` ;` that `;` would only reach in round two.
fn comment_start(line: &str) -> Option<usize> {
    let stripped = py_strip(line);
    if stripped.starts_with(';') || stripped.starts_with('#') {
        return Some(0);
    }
    let mut cursors: Vec<(char, usize)> = vec![(';', 0), ('#', 0)];
    let mut start: Option<usize> = None;
    while start.is_none() && !cursors.is_empty() {
        let mut next = Vec::new();
        for (prefix, from) in cursors {
            let Some(found) = line[from..].find(prefix).map(|i| i + from) else {
                continue;
            };
            next.push((prefix, found + prefix.len_utf8()));
            let after_space = found == 0 || line[..found].chars().next_back().is_some_and(is_py_space);
            if after_space {
                start = Some(start.map_or(found, |s| s.min(found)));
            }
        }
        cursors = next;
    }
    start
}

/// `[name]` at the start of the (comment-stripped) line; the name runs to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let name = &rest[..end];
    if name.is_empty() {
        None
    } else {
        Some(name)
    }
}

/// Splits at the first `=` or `:`; the key is right-trimmed, the value trimmed.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let pos = value.find(['=', ':'])?;
    let key = value[..pos].trim_end_matches(is_py_space);
    let val = py_strip(&value[pos + 1..]);
    Some((key, val))
}

/// The reference reads a config file as UTF-8 text and reports a bad byte with Python's
/// codec error; the same words here (positions count from the start of the file, as
/// Python's do for any file under its 8 KiB read size).
pub fn py_utf8_error(bytes: &[u8], e: std::str::Utf8Error) -> String {
    let at = e.valid_up_to();
    let first = bytes.get(at).copied().unwrap_or(0);
    let (len, why) = match e.error_len() {
        None => (bytes.len() - at, "unexpected end of data"),
        Some(_) if matches!(first, 0x80..=0xc1 | 0xf5..=0xff) => (1, "invalid start byte"),
        Some(n) => (n, "invalid continuation byte"),
    };
    if len <= 1 {
        format!("'utf-8' codec can't decode byte 0x{first:02x} in position {at}: {why}")
    } else {
        format!("'utf-8' codec can't decode bytes in position {at}-{}: {why}", at + len - 1)
    }
}

/// Python's `repr()` of a str, enough for the messages that quote lines and paths.
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..=0xa0).contains(&(c as u32)) || c == '\u{ad}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !is_printable(c) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for the characters that plausibly reach a config file:
/// format, separator and private-use characters are escaped by `repr()`.
fn is_printable(c: char) -> bool {
    let n = c as u32;
    !(matches!(n, 0x2000..=0x200f | 0x2028..=0x202f | 0x205f..=0x206f | 0x3000 | 0xfeff | 0xfff9..=0xfffb)
        || (0xe000..=0xf8ff).contains(&n))
}

/// A path made absolute against the current directory, as `os.path.abspath` does.
pub fn abspath(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(cwd) => cwd.join(p),
            Err(_) => p.to_path_buf(),
        }
    };
    normpath(&joined)
}

/// Lexical normalisation (`os.path.normpath`): removes `.`, resolves `..`, no symlinks.
pub fn normpath(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_errors_read_like_pythons_codec() {
        let msg = |b: &[u8]| py_utf8_error(b, std::str::from_utf8(b).unwrap_err());
        assert_eq!(msg(b"ab\xff"), "'utf-8' codec can't decode byte 0xff in position 2: invalid start byte");
        assert_eq!(msg(b"ab\xc3"), "'utf-8' codec can't decode byte 0xc3 in position 2: unexpected end of data");
        assert_eq!(msg(b"ab\xc3("), "'utf-8' codec can't decode byte 0xc3 in position 2: invalid continuation byte");
        assert_eq!(
            msg(b"\xed\xa0\x80x"),
            "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte"
        );
        assert_eq!(msg(b"\xe2\x82"), "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data");
        assert_eq!(msg(b"\xe2\x82x"), "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte");
        assert_eq!(
            msg(b"\xf4\x90\x80\x80"),
            "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte"
        );
    }

    fn parse(text: &str) -> Result<Ini, ConfigError> {
        let mut ini = Ini::default();
        ini.read_str(text, Path::new("/t/x.conf"))?;
        Ok(ini)
    }

    fn val(ini: &Ini, s: &str, k: &str) -> Option<String> {
        ini.get(s, k).map(|e| e.value.clone())
    }

    #[test]
    fn delimiters_equals_and_colon_first_wins() {
        let ini = parse("[a]\nx = 1\ncommand: /bin/foo a=b\nurl=http://x:1\n").unwrap();
        assert_eq!(val(&ini, "a", "x").as_deref(), Some("1"));
        assert_eq!(val(&ini, "a", "command").as_deref(), Some("/bin/foo a=b"));
        assert_eq!(val(&ini, "a", "url").as_deref(), Some("http://x:1"));
    }

    #[test]
    fn comments_full_line_and_inline_after_whitespace_only() {
        let ini =
            parse("; top\n[a]\n# hash\na=b;c\nb=b ;c\nc=b #c\nd=bash -c 'x ; y'\n  ;indented\ne=a;b ;c #d\n").unwrap();
        assert_eq!(val(&ini, "a", "e").as_deref(), Some("a;b ;c"));
        assert_eq!(val(&ini, "a", "a").as_deref(), Some("b;c"));
        assert_eq!(val(&ini, "a", "b").as_deref(), Some("b"));
        assert_eq!(val(&ini, "a", "c").as_deref(), Some("b"));
        assert_eq!(val(&ini, "a", "d").as_deref(), Some("bash -c 'x"));
    }

    #[test]
    fn continuation_lines_join_with_newline() {
        let ini = parse("[include]\nfiles = a.conf\n   b.conf\n\n   c.conf\nnext=1\n").unwrap();
        assert_eq!(val(&ini, "include", "files").as_deref(), Some("a.conf\nb.conf\n\nc.conf"));
        assert_eq!(val(&ini, "include", "next").as_deref(), Some("1"));
    }

    #[test]
    fn option_names_lowercased_sections_case_sensitive() {
        let ini = parse("[Prog]\nCOMMAND=x\n[prog]\ncommand=y\n").unwrap();
        assert_eq!(val(&ini, "Prog", "command").as_deref(), Some("x"));
        assert_eq!(val(&ini, "prog", "command").as_deref(), Some("y"));
    }

    #[test]
    fn duplicates_last_wins_and_sections_reopen_with_a_warning_naming_both_lines() {
        let ini = parse("[a]\nx=1\nx=2\n[b]\n[a]\ny=3\n").unwrap();
        assert_eq!(val(&ini, "a", "x").as_deref(), Some("2"));
        assert_eq!(val(&ini, "a", "y").as_deref(), Some("3"));
        assert_eq!(ini.sections.len(), 2);
        assert_eq!(ini.section("a").unwrap().entry("x").unwrap().line, 3);
        assert_eq!(ini.warnings.len(), 1, "{:?}", ini.warnings);
        assert_eq!(
            ini.warnings[0],
            "/t/x.conf:5: [a] is defined again (first at /t/x.conf:1); the two are merged, a key set in both \
             takes the later value"
        );
    }

    #[test]
    fn default_section_is_inherited() {
        let ini = parse("[DEFAULT]\nshared=1\n[a]\n").unwrap();
        assert_eq!(val(&ini, "a", "shared").as_deref(), Some("1"));
        assert!(!ini.has_section("DEFAULT"));
        assert_eq!(ini.keys("a").len(), 1);
    }

    #[test]
    fn key_without_delimiter_is_a_parsing_error_with_all_lines() {
        let err = parse("[a]\nfoo\nx=1\nbar\n").unwrap_err();
        assert_eq!(
            err.message,
            "Source contains parsing errors: '/t/x.conf'\n\t[line  2]: 'foo\\n'\n\t[line  4]: 'bar\\n'"
        );
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn empty_key_is_a_parsing_error() {
        let err = parse("[a]\n=x\n").unwrap_err();
        assert!(err.message.contains("[line  2]: '=x\\n'"), "{}", err.message);
    }

    #[test]
    fn line_before_any_section_is_an_error() {
        let err = parse("x=1\n[a]\n").unwrap_err();
        assert_eq!(err.message, "File contains no section headers.\nfile: '/t/x.conf', line: 1\n'x=1\\n'");
    }

    #[test]
    fn line_numbers_count_crlf_and_cr() {
        let ini = parse("[a]\r\nx=1\r\n\r\ny=2\rz=3\n").unwrap();
        assert_eq!(ini.get("a", "y").unwrap().line, 4);
        assert_eq!(ini.get("a", "z").unwrap().line, 5);
    }

    #[test]
    fn header_runs_to_last_bracket_and_ignores_trailing_text() {
        let ini = parse("[a]b] junk\nx=1\n[c] ; comment\ny=2\n").unwrap();
        assert_eq!(val(&ini, "a]b", "x").as_deref(), Some("1"));
        assert_eq!(val(&ini, "c", "y").as_deref(), Some("2"));
    }

    #[test]
    fn here_replacement_touches_values_read_so_far() {
        let mut ini = parse("[a]\nx=%(here)s/log\n").unwrap();
        ini.replace_here("/etc");
        assert_eq!(val(&ini, "a", "x").as_deref(), Some("/etc/log"));
    }

    #[test]
    fn normpath_and_repr() {
        assert_eq!(normpath(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(normpath(Path::new("/../a")), PathBuf::from("/a"));
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a\tb"), "'a\\tb'");
        assert_eq!(py_repr("\u{feff}[x]"), "'\\ufeff[x]'");
    }
}
