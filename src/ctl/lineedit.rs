//! A small line editor for the supervisorctl shell: cursor movement, editing keys,
//! history (with a history file) and tab completion in the readline manner. When
//! stdin is not a terminal it reads plain lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use rustix::termios::{self, LocalModes, OptionalActions, Termios};

pub enum Input {
    Line(String),
    Eof,
    Interrupted,
}

pub struct Editor {
    pub history: Vec<String>,
    history_file: Option<PathBuf>,
}

/// Characters that separate words for completion: readline's defaults without `:`,
/// `*` and `-`, so `group:*` and `my-prog` complete as one word.
fn is_delim(c: char) -> bool {
    " \t\n\"\\'`@$><=;|&{(".contains(c)
}

fn common_prefix(items: &[String]) -> String {
    let Some(first) = items.first() else { return String::new() };
    let mut len = first.len();
    for s in &items[1..] {
        len = len.min(first.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    first[..len].to_string()
}

/// Restores the terminal when dropped.
struct RawMode {
    saved: Termios,
}

impl RawMode {
    fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(&stdin).ok()?;
        let mut raw = saved.clone();
        raw.local_modes.remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG | LocalModes::IEXTEN);
        termios::tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
    }
}

fn read_byte() -> Option<u8> {
    let mut b = [0u8; 1];
    loop {
        match rustix::io::read(std::io::stdin(), &mut b) {
            Ok(1) => return Some(b[0]),
            Ok(_) => return None,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
        }
    }
}

pub fn stdin_is_tty() -> bool {
    termios::isatty(std::io::stdin())
}

impl Editor {
    pub fn new(history_file: Option<PathBuf>) -> Editor {
        let history = history_file
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default();
        Editor { history, history_file }
    }

    pub fn add_history(&mut self, line: &str) {
        if !line.trim().is_empty() {
            self.history.push(line.to_string());
        }
    }

    pub fn save_history(&self) {
        if let Some(p) = &self.history_file {
            let keep = &self.history[self.history.len().saturating_sub(1000)..];
            let mut text = keep.join("\n");
            text.push('\n');
            let _ = std::fs::write(p, text);
        }
    }

    /// Reads one line. `complete(line_before_cursor, word)` returns candidates.
    pub fn read_line(&mut self, prompt: &str, complete: &mut dyn FnMut(&str, &str) -> Vec<String>) -> Input {
        let mut stdout = std::io::stdout();
        // Raw mode first: keys typed as the prompt appears are ours, not the terminal's.
        let raw = if stdin_is_tty() { RawMode::enter() } else { None };
        let _ = stdout.write_all(prompt.as_bytes());
        let _ = stdout.flush();
        let Some(_raw) = raw else {
            let mut line = String::new();
            return match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => Input::Eof,
                Ok(_) => Input::Line(line.trim_end_matches(['\n', '\r']).to_string()),
            };
        };
        let mut buf: Vec<char> = Vec::new();
        let mut cursor = 0usize;
        let mut hist_pos = self.history.len();
        let mut saved_current: Vec<char> = Vec::new();
        let mut last_was_tab = false;
        let redraw = |buf: &[char], cursor: usize| {
            let mut out = std::io::stdout();
            let text: String = buf.iter().collect();
            let back = buf.len() - cursor;
            let _ = write!(out, "\r{prompt}{text}\x1b[K");
            if back > 0 {
                let _ = write!(out, "\x1b[{back}D");
            }
            let _ = out.flush();
        };
        loop {
            let Some(b) = read_byte() else { return Input::Eof };
            let tab = b == b'\t';
            match b {
                b'\r' | b'\n' => {
                    let _ = stdout.write_all(b"\r\n");
                    let _ = stdout.flush();
                    return Input::Line(buf.iter().collect());
                }
                // The shell prints the newline that ends the prompt line.
                3 => return Input::Interrupted,
                4 if buf.is_empty() => return Input::Eof,
                4 if cursor < buf.len() => {
                    buf.remove(cursor);
                }
                1 => cursor = 0,
                5 => cursor = buf.len(),
                2 => cursor = cursor.saturating_sub(1),
                6 => cursor = (cursor + 1).min(buf.len()),
                11 => buf.truncate(cursor),
                21 => {
                    buf.drain(..cursor);
                    cursor = 0;
                }
                23 => {
                    let mut start = cursor;
                    while start > 0 && buf[start - 1] == ' ' {
                        start -= 1;
                    }
                    while start > 0 && buf[start - 1] != ' ' {
                        start -= 1;
                    }
                    buf.drain(start..cursor);
                    cursor = start;
                }
                12 => {
                    let _ = stdout.write_all(b"\x1b[H\x1b[2J");
                }
                0x7f | 8 if cursor > 0 => {
                    cursor -= 1;
                    buf.remove(cursor);
                }
                b'\t' => {
                    let before: String = buf[..cursor].iter().collect();
                    let word_start = before.rfind(is_delim).map(|i| i + 1).unwrap_or(0);
                    let word = &before[word_start..];
                    let candidates = complete(&before, word);
                    if candidates.len() == 1 || (!candidates.is_empty() && !last_was_tab) {
                        let fill =
                            if candidates.len() == 1 { candidates[0].clone() } else { common_prefix(&candidates) };
                        if fill.len() > word.len() {
                            let tail: Vec<char> = fill[word.len()..].chars().collect();
                            for (k, c) in tail.iter().enumerate() {
                                buf.insert(cursor + k, *c);
                            }
                            cursor += tail.len();
                        } else if candidates.len() > 1 {
                            let _ = stdout.write_all(b"\x07");
                        }
                    } else if candidates.len() > 1 {
                        let listing: Vec<String> = candidates.iter().map(|c| c.trim_end().to_string()).collect();
                        let _ = write!(stdout, "\r\n{}\r\n", listing.join("  "));
                    }
                }
                0x1b => {
                    let Some(k) = read_byte() else { continue };
                    let Some(code) = read_byte() else { continue };
                    if k != b'[' && k != b'O' {
                        continue;
                    }
                    match code {
                        b'A' | b'B' => {
                            if hist_pos == self.history.len() {
                                saved_current = buf.clone();
                            }
                            if code == b'A' && hist_pos > 0 {
                                hist_pos -= 1;
                            } else if code == b'B' && hist_pos < self.history.len() {
                                hist_pos += 1;
                            }
                            buf = match self.history.get(hist_pos) {
                                Some(h) => h.chars().collect(),
                                None => saved_current.clone(),
                            };
                            cursor = buf.len();
                        }
                        b'C' => cursor = (cursor + 1).min(buf.len()),
                        b'D' => cursor = cursor.saturating_sub(1),
                        b'H' => cursor = 0,
                        b'F' => cursor = buf.len(),
                        b'3' => {
                            let _ = read_byte();
                            if cursor < buf.len() {
                                buf.remove(cursor);
                            }
                        }
                        _ => {}
                    }
                }
                c if c >= 0x20 => {
                    // UTF-8: collect the continuation bytes of this character.
                    let extra = match c {
                        0xc0..=0xdf => 1,
                        0xe0..=0xef => 2,
                        0xf0..=0xf7 => 3,
                        _ => 0,
                    };
                    let mut bytes = vec![c];
                    for _ in 0..extra {
                        if let Some(n) = read_byte() {
                            bytes.push(n);
                        }
                    }
                    for ch in String::from_utf8_lossy(&bytes).chars() {
                        buf.insert(cursor, ch);
                        cursor += 1;
                    }
                }
                _ => {}
            }
            last_was_tab = tab;
            redraw(&buf, cursor);
        }
    }
}

/// Reads a line with echo off (passwords); plain read when not a terminal.
pub fn read_secret(prompt: &str) -> Option<String> {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(prompt.as_bytes());
    let _ = stdout.flush();
    let stdin = std::io::stdin();
    let saved = termios::tcgetattr(&stdin).ok();
    if let Some(s) = &saved {
        let mut quiet = s.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        let _ = termios::tcsetattr(&stdin, OptionalActions::Now, &quiet);
    }
    let mut line = String::new();
    let ok = stdin.lock().read_line(&mut line).map(|n| n > 0).unwrap_or(false);
    if let Some(s) = &saved {
        let _ = termios::tcsetattr(&stdin, OptionalActions::Now, s);
    }
    let _ = stdout.write_all(b"\n");
    ok.then(|| line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(super::common_prefix(&v(&["start ", "status ", "stop "])), "st");
        assert_eq!(super::common_prefix(&v(&["web:a ", "web:b "])), "web:");
        assert!(super::is_delim(' ') && !super::is_delim(':') && !super::is_delim('*') && !super::is_delim('-'));
    }
}
