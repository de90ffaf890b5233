//! `help` and the usage lines each command prints on misuse: the reference's command
//! syntax, in the same tab-separated layout, with our own descriptions.

use super::out;

const TOPICS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "maintail", "open", "pid", "quit", "reload", "remove", "reread", "restart",
    "shutdown", "signal", "start", "status", "stop", "tail", "update", "version",
];

fn lines(topic: &str) -> Option<&'static [&'static str]> {
    Some(match topic {
        "add" => &["add <name> [...]\tStart managing groups added to the config"],
        "avail" => &["avail\t\t\tList every configured process"],
        "clear" => &[
            "clear <name>\t\tEmpty a process's log files.",
            "clear <name> <name>\tEmpty the log files of several processes",
            "clear all\t\tEmpty the log files of every process",
        ],
        "exit" => &["exit\tLeave the supervisor shell."],
        "quit" => &["quit\tLeave the supervisor shell."],
        "fg" => &["fg <process>\tAttach to a process: see its output, type its input", "\t\tCtrl-C to exit"],
        "maintail" => &[
            "maintail -f \tFollow the main log of supervisord (Ctrl-C to exit)",
            "maintail -100\tthe last 100 *bytes* of the main log",
            "maintail\tthe last 1600 *bytes* of the main log\n",
        ],
        "open" => &["open <url>\tConnect to another supervisord.", "\t\t(a UNIX domain socket is unix:///socket/path)"],
        "pid" => &[
            "pid\t\t\tThe PID of supervisord.",
            "pid <name>\t\tThe PID of one process.",
            "pid all\t\t\tThe PID of every process, one per line.",
        ],
        "reload" => &["reload \t\tRestart the remote supervisord."],
        "remove" => &["remove <name> [...]\tStop managing groups removed from the config"],
        "reread" => &["reread \t\t\tRead the config files again; report what changed, apply nothing"],
        "restart" => &[
            "restart <name>\t\tRestart a process",
            "restart <gname>:*\tRestart every process of a group",
            "restart <name> <name>\tRestart several processes or groups",
            "restart all\t\tRestart every process",
            "Note: restart does not read the config again; use reread and update for that.",
        ],
        "shutdown" => &["shutdown \tStop the remote supervisord."],
        "signal" => &[
            "signal <signal name> <name>\t\tSend a signal to a process",
            "signal <signal name> <gname>:*\t\tSend a signal to every process of a group",
            "signal <signal name> <name> <name>\tSend a signal to several processes or groups",
            "signal <signal name> all\t\tSend a signal to every process",
        ],
        "start" => &[
            "start <name>\t\tStart a process",
            "start <gname>:*\t\tStart every process of a group",
            "start <name> <name>\tStart several processes or groups",
            "start all\t\tStart every process",
        ],
        "status" => &[
            "status <name>\t\tThe status of one process",
            "status <gname>:*\tThe status of every process of a group",
            "status <name> <name>\tThe status of several processes",
            "status\t\t\tThe status of every process",
            "status --json [...]\tThe same as JSON, one object per process, with CPU and memory",
            "status -l|--long [...]\tThe table with PID, UPTIME, CPU%, RSS, THR and FDS columns",
        ],
        "stop" => &[
            "stop <name>\t\tStop a process",
            "stop <gname>:*\t\tStop every process of a group",
            "stop <name> <name>\tStop several processes or groups",
            "stop all\t\tStop every process",
        ],
        "tail" => &[
            "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tFollow a process's stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tthe last 100 *bytes* of a process's stdout\ntail <name> stderr\tthe last 1600 *bytes* of a process's stderr",
        ],
        "update" => &[
            "update\t\t\tRead the config again, add and remove groups, restart the changed ones",
            "update all\t\tThe same as update",
            "update <gname> [...]\tUpdate only these groups",
        ],
        "version" => &["version\t\t\tThe version of the remote supervisord"],
        _ => return None,
    })
}

pub fn print(topic: &str) {
    if let Some(ls) = lines(topic) {
        for l in ls {
            out(l);
        }
    }
}

/// Python cmd's columnize: as few rows as fit the width, columns two spaces apart.
fn columnize(items: &[&str], width: usize) -> Vec<String> {
    let size = items.len();
    let mut layout = (size, 1, vec![0]);
    for nrows in 1..size {
        let ncols = size.div_ceil(nrows);
        let mut widths = Vec::new();
        let mut total: isize = -2;
        for col in 0..ncols {
            let w = (0..nrows).filter_map(|row| items.get(row + nrows * col)).map(|s| s.len()).max().unwrap_or(0);
            widths.push(w);
            total += w as isize + 2;
            if total > width as isize {
                break;
            }
        }
        if total <= width as isize {
            layout = (nrows, ncols, widths);
            break;
        }
    }
    let (nrows, ncols, widths) = layout;
    (0..nrows)
        .map(|row| {
            let mut texts: Vec<String> =
                (0..ncols).map(|col| items.get(row + nrows * col).copied().unwrap_or("").to_string()).collect();
            while texts.last().is_some_and(|t| t.is_empty()) {
                texts.pop();
            }
            let padded: Vec<String> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| format!("{t:<w$}", w = widths.get(i).copied().unwrap_or(0)))
                .collect();
            padded.join("  ")
        })
        .collect()
}

pub fn do_help(arg: &str) {
    let topic = arg.trim();
    if topic == "help" {
        out("help\t\tList the commands");
        out("help <action>\tExplain one command");
        return;
    }
    if topic.is_empty() {
        out("");
        let header = "default commands (type help <topic>):";
        out(header);
        out(&"=".repeat(header.len()));
        for line in columnize(TOPICS, 79) {
            out(&line);
        }
        out("");
        return;
    }
    match lines(topic) {
        Some(_) => print(topic),
        None => out(&format!("*** No help on {topic}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_like_python_cmd() {
        // What Python's cmd.Cmd.columnize(TOPICS, 79) prints.
        let rows = super::columnize(super::TOPICS, 79);
        assert_eq!(
            rows,
            vec![
                "add    exit      open  reload  restart   start   tail   ",
                "avail  fg        pid   remove  shutdown  status  update ",
                "clear  maintail  quit  reread  signal    stop    version",
            ]
        );
    }
}
