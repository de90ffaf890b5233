//! The status page (index.html) and its table body, which the page's script fetches
//! again (`/api/rows`) to show changes without a reload. Works without script: every
//! button is a plain form POST carrying the daemon's token.

use super::super::http::Request;
use super::view::{snapshot, Detail, Row, Snapshot};
use super::{escape, quote, WebState};
use crate::daemon::procstat::Usage;
use crate::daemon::{State, Supervisor};

/// The reference's CSS class names for a state.
fn state_class(s: State) -> &'static str {
    match s {
        State::Running => "statusrunning",
        State::Fatal | State::Backoff => "statuserror",
        _ => "statusnominal",
    }
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn cpu(u: Option<&Usage>) -> String {
    match u.and_then(|u| u.cpu_percent) {
        Some(p) => format!("{p:.1}%"),
        None if u.is_some() => "…".into(),
        None => String::new(),
    }
}

fn buttons(out: &mut String, token: &str, name: &str, list: &[(&str, &str)]) {
    out.push_str("<form class=\"act\" method=\"post\" action=\"index.html\">");
    out.push_str(&format!(
        "<input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"processname\" value=\"{}\">",
        escape(name)
    ));
    for (action, label) in list {
        out.push_str(&format!("<button name=\"action\" value=\"{action}\">{label}</button>"));
    }
    out.push_str("</form>");
}

fn process_row(out: &mut String, r: &Row, token: &str) {
    let ns = escape(&r.namespec);
    let q = escape(&quote(&r.namespec));
    let statename = r.state.name().to_lowercase();
    out.push_str(&format!(
        "<tr class=\"proc\" data-ns=\"{ns}\"><td class=\"state\"><span class=\"{}\">{statename}</span></td>\
         <td class=\"desc\">{}</td><td class=\"name\"><a href=\"tail.html?processname={q}\">{ns}</a></td>",
        state_class(r.state),
        escape(&r.description),
    ));
    let exit = if matches!(r.state, State::Exited | State::Stopped | State::Fatal | State::Backoff) && r.stop != 0 {
        r.exitstatus.to_string()
    } else {
        String::new()
    };
    let u = r.usage.as_ref();
    out.push_str(&format!(
        "<td class=\"num\" data-label=\"CPU\">{}</td><td class=\"num\" data-label=\"Memory\">{}</td>\
         <td class=\"num\" data-label=\"Exit\">{exit}</td><td class=\"actions\">",
        cpu(u),
        u.map(|u| bytes(u.rss_bytes)).unwrap_or_default(),
    ));
    let list: &[(&str, &str)] = match r.state {
        State::Running => &[("restart", "Restart"), ("stop", "Stop"), ("clearlog", "Clear Log")],
        State::Stopped | State::Exited | State::Fatal => &[("start", "Start"), ("clearlog", "Clear Log")],
        _ => &[("clearlog", "Clear Log")],
    };
    buttons(out, token, &r.namespec, list);
    out.push_str(&format!(
        "<a class=\"tail\" href=\"tail.html?processname={q}&amp;channel=stdout\">Tail -f Stdout</a>\
         <a class=\"tail\" href=\"tail.html?processname={q}&amp;channel=stderr\">Tail -f Stderr</a></td></tr>\n"
    ));
}

fn group_row(out: &mut String, name: &str, rows: &[&Row], token: &str) {
    let running = rows.iter().filter(|r| r.state == State::Running).count();
    out.push_str(&format!(
        "<tr class=\"group\" data-group=\"{g}\"><th colspan=\"7\" scope=\"rowgroup\"><span class=\"gname\">{g}</span> \
         <span class=\"gcount\">{running}/{} running</span>",
        rows.len(),
        g = escape(name)
    ));
    buttons(
        out,
        token,
        name,
        &[("startgroup", "Start group"), ("stopgroup", "Stop group"), ("restartgroup", "Restart group")],
    );
    out.push_str("</th></tr>\n");
}

fn daemon_row(out: &mut String, snap: &Snapshot) {
    let Some(u) = snap.daemon else { return };
    out.push_str(&format!(
        "<tr class=\"daemon\"><td colspan=\"7\">supervisord pid {}: CPU {}, memory {}, {} fds</td></tr>\n",
        std::process::id(),
        cpu(Some(&u)),
        bytes(u.rss_bytes),
        u.fds.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
    ));
}

/// The table body: group rows (for groups that are more than one program of the same
/// name) above their processes, then the daemon's own line.
pub fn rows(snap: &Snapshot, token: &str) -> String {
    let mut out = String::with_capacity(snap.rows.len() * 1024);
    if snap.rows.is_empty() {
        out.push_str("<tr><td colspan=\"7\">No programs to manage</td></tr>\n");
    }
    let mut i = 0;
    while i < snap.rows.len() {
        let group = &snap.rows[i].group;
        let members: Vec<&Row> = snap.rows[i..].iter().take_while(|r| &r.group == group).collect();
        if members.len() > 1 || members.iter().any(|r| &r.name != group) {
            group_row(&mut out, group, &members, token);
        }
        for r in &members {
            process_row(&mut out, r, token);
        }
        i += members.len();
    }
    daemon_row(&mut out, snap);
    out
}

pub fn fragment(sup: &Supervisor, state: &mut WebState, req: &Request) -> Vec<u8> {
    let snap = snapshot(sup, &mut state.sampler, Detail::Page);
    let body = rows(&snap, state.token());
    super::respond(req, 200, "text/html;charset=utf-8", body.as_bytes(), &[])
}

pub fn index(sup: &Supervisor, state: &mut WebState, req: &Request, message: Option<&str>) -> Vec<u8> {
    let snap = snapshot(sup, &mut state.sampler, Detail::Page);
    let token = state.token().to_string();
    let message = match message {
        Some(m) => {
            let class =
                if m.starts_with("ERROR") || m.starts_with("unexpected") { "status_msg error" } else { "status_msg" };
            format!("<div id=\"message\" class=\"{class}\" role=\"status\">{}</div>", escape(m))
        }
        None => "<div id=\"message\" role=\"status\"></div>".into(),
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Supervisor Status</title><link rel=\"stylesheet\" href=\"ui/style.css\">\
         <script src=\"ui/app.js\" defer></script></head>\n<body>\n<header><h1>Supervisor Status</h1>\
         <span class=\"ident\">{ident}</span></header>\n<main>\n{message}\n\
         <form class=\"bar act\" method=\"post\" action=\"index.html\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <button name=\"action\" value=\"refresh\">Refresh</button>\
         <button name=\"action\" value=\"restartall\">Restart All</button>\
         <button name=\"action\" value=\"stopall\">Stop All</button>\
         <a class=\"button\" href=\"mainlog.html\">Main log</a></form>\n\
         <table id=\"statustable\"><thead><tr><th>State</th><th>Description</th><th>Name</th>\
         <th class=\"num\">CPU</th><th class=\"num\">Memory</th><th class=\"num\">Exit</th><th>Action</th></tr></thead>\n\
         <tbody id=\"procs\">\n{rows}</tbody></table>\n</main>\n\
         <footer>supervisor {ours} (Supervisor {theirs} compatible)</footer>\n</body></html>\n",
        ident = escape(&sup.cfg.supervisord.identifier),
        rows = rows(&snap, &token),
        ours = crate::OUR_VERSION,
        theirs = crate::SUPERVISOR_VERSION,
    );
    super::respond(req, 200, "text/html;charset=utf-8", body.as_bytes(), &[])
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::bytes(10), "10 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(super::bytes(3 << 20), "3.0 MiB");
    }
}
