//! The interactive shell: `status` first, then a prompt with history and completion of
//! commands and process/group names, as the reference's `cmd`-based shell behaves.

use std::io::{BufRead, Write};

use super::commands::COMMANDS;
use super::lineedit::{Editor, Input};
use super::options::Options;
use super::{out, Ctl};

/// The reference's completion rules: commands first; then group names for add, remove
/// and update; process names (and `group:*`) for the commands that take them.
fn complete(ctl: &mut Ctl, before: &str, word: &str) -> Vec<String> {
    let words: Vec<&str> = before.split_whitespace().collect();
    let completing_command = words.is_empty() || (words.len() == 1 && !before.ends_with(' '));
    let actions = || -> Vec<String> {
        COMMANDS.iter().filter(|c| **c != "EOF" && c.starts_with(word)).map(|c| format!("{c} ")).collect()
    };
    if completing_command {
        return actions();
    }
    match words[0] {
        "help" => actions(),
        "add" | "remove" | "update" => {
            let mut groups: Vec<String> = Vec::new();
            for (_, g) in ctl.complete_info() {
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
            groups.into_iter().filter(|g| g.starts_with(word)).map(|g| format!("{g} ")).collect()
        }
        "clear" | "fg" | "pid" | "restart" | "signal" | "start" | "status" | "stop" | "tail" => {
            let mut names: Vec<String> = Vec::new();
            for (name, group) in ctl.complete_info() {
                if word.contains(':') || name != group {
                    names.push(format!("{group}:{name}"));
                    let all = format!("{group}:*");
                    if !names.contains(&all) {
                        names.push(all);
                    }
                } else {
                    names.push(name);
                }
            }
            names.into_iter().filter(|n| n.starts_with(word)).map(|n| format!("{n} ")).collect()
        }
        _ => Vec::new(),
    }
}

pub fn run(ctl: &mut Ctl) {
    crate::sys::exit_on_sigint();
    let mut editor = Editor::new(ctl.opts.history_file.clone());
    ctl.onecmd("status");
    loop {
        let prompt = format!("{}> ", ctl.opts.prompt);
        let input = editor.read_line(&prompt, &mut |before, word| complete(ctl, before, word));
        match input {
            Input::Line(line) => {
                editor.add_history(&line);
                if ctl.onecmd(&line) {
                    break;
                }
            }
            Input::Eof => {
                out("");
                break;
            }
            Input::Interrupted => {
                out("");
                break;
            }
        }
    }
    editor.save_history();
}

/// A y/N question; anything but an answer starting with y is no.
pub fn confirm(question: &str) -> bool {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(question.as_bytes());
    let _ = stdout.flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    answer.trim_start().to_lowercase().starts_with('y')
}

/// After a 401 in the shell: ask for credentials and retry.
pub fn ask_credentials(opts: &mut Options) -> bool {
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(b"Username:");
    let _ = stdout.flush();
    let mut user = String::new();
    if std::io::stdin().lock().read_line(&mut user).unwrap_or(0) == 0 {
        return false;
    }
    let Some(pass) = super::lineedit::read_secret("Password:") else { return false };
    out("");
    opts.username = Some(user.trim_end_matches(['\n', '\r']).to_string());
    opts.password = Some(pass);
    true
}
