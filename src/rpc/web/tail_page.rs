//! tail.html (a process's stdout or stderr) and mainlog.html: the last `limit` bytes
//! (at least 1024, as the reference shows), links to load more and to refresh, and a
//! script that follows the file live through /logtail from where the page ends.

use super::super::http::Request;
use super::form::Form;
use super::{escape, quote};
use crate::daemon::api as d;
use crate::daemon::Supervisor;

const MIN_LIMIT: u64 = 1024;
const MAX_LIMIT: u64 = 16 * 1024 * 1024;

/// The reference's rule: digits give the limit (never under 1024), anything else 1024.
fn limit(form: &Form) -> u64 {
    let text = form.get("limit").unwrap_or("");
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<u64>().unwrap_or(MAX_LIMIT).clamp(MIN_LIMIT, MAX_LIMIT)
    } else {
        MIN_LIMIT
    }
}

/// The last `limit` bytes and the file's size (the offset to follow from).
fn last_bytes(path: &std::path::Path, limit: u64) -> Option<(String, u64)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let size = f.metadata().ok()?.len();
    let from = size.saturating_sub(limit);
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut data = Vec::new();
    f.take(size - from).read_to_end(&mut data).ok()?;
    Some((String::from_utf8_lossy(&data).into_owned(), from + data.len() as u64))
}

struct Tail<'a> {
    title: String,
    heading: String,
    /// The page's own URL without `limit` (ends with `?` or `&`).
    base: String,
    limit: u64,
    /// The stream to follow and the other channel's page, when there are such.
    follow: Option<String>,
    other: Option<(&'a str, String)>,
}

fn render(req: &Request, status: u16, t: &Tail, text: &str, offset: u64) -> Vec<u8> {
    let follow = match &t.follow {
        Some(url) => format!(" data-follow=\"{}\" data-offset=\"{offset}\"", escape(url)),
        None => String::new(),
    };
    let more = if t.limit < MAX_LIMIT {
        format!("<a class=\"button\" href=\"{}limit={}\">Load more</a>", escape(&t.base), t.limit * 4)
    } else {
        String::new()
    };
    let other = match &t.other {
        Some((label, url)) => format!("<a class=\"button\" href=\"{}\">{label}</a>", escape(url)),
        None => String::new(),
    };
    let raw = match &t.follow {
        Some(url) => format!("<a class=\"button\" href=\"{}\">Raw</a>", escape(url)),
        None => String::new(),
    };
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{title}</title>\
         <link rel=\"stylesheet\" href=\"ui/style.css\"><script src=\"ui/app.js\" defer></script></head>\n\
         <body class=\"tailpage\">\n<header><h1>{heading}</h1></header>\n<main>\n<nav class=\"bar\">\
         <a class=\"button\" href=\"index.html\">Status</a>\
         <a class=\"button\" id=\"refresh_anchor\" href=\"{base}limit={limit}\">Refresh</a>{more}{other}{raw}\
         <label class=\"follow\"><input type=\"checkbox\" id=\"follow\" checked> Follow</label></nav>\n\
         <pre id=\"tailbody\"{follow}>{text}</pre>\n</main>\n</body></html>\n",
        title = escape(&t.title),
        heading = escape(&t.heading),
        base = escape(&t.base),
        limit = t.limit,
        text = escape(text),
    );
    super::respond(req, status, "text/html;charset=utf-8", body.as_bytes(), &[])
}

pub fn process(sup: &Supervisor, req: &Request) -> Vec<u8> {
    let form = Form::of(req);
    let limit = limit(&form);
    let channel = form.get("channel").unwrap_or("stdout");
    if channel != "stdout" && channel != "stderr" {
        return super::error_page(req, 400, "channel must be stdout or stderr.");
    }
    let name = form.get("processname").unwrap_or("");
    let mut t = Tail {
        title: format!("Supervisor tail of process {name}"),
        heading: format!("{name} {channel}"),
        base: format!("tail.html?processname={}&channel={channel}&", quote(name)),
        limit,
        follow: None,
        other: None,
    };
    if name.is_empty() {
        t.title = "Supervisor tail of process None".into();
        return render(req, 400, &t, "No process name found", 0);
    }
    let Some(d::Target::Process(id)) = d::lookup(sup, name) else {
        return render(req, 404, &t, &format!("No such process named {name}"), 0);
    };
    let other = if channel == "stdout" { "stderr" } else { "stdout" };
    t.other = Some((other, format!("tail.html?processname={}&channel={other}&limit={limit}", quote(name))));
    let path = d::log_path(sup, id, channel == "stderr");
    // A console target is read from the memory the daemon keeps of it.
    let memory = d::memory_tail(sup, id, channel == "stderr").map(|m| {
        let from = m.size().saturating_sub(limit);
        (String::from_utf8_lossy(&m.read(from, limit)).into_owned(), m.size())
    });
    match memory.or_else(|| path.as_deref().and_then(|p| last_bytes(p, limit))) {
        Some((text, offset)) => {
            t.follow = Some(format!("logtail/{}/{channel}", quote(name)));
            render(req, 200, &t, &text, offset)
        }
        None => render(req, 200, &t, &format!("No file for {name}"), 0),
    }
}

pub fn main_log(sup: &Supervisor, req: &Request) -> Vec<u8> {
    let form = Form::of(req);
    let mut t = Tail {
        title: "Supervisor main log".into(),
        heading: "supervisord main log".into(),
        base: "mainlog.html?".into(),
        limit: limit(&form),
        follow: None,
        other: None,
    };
    match sup.log.path().and_then(|p| last_bytes(&p, t.limit)) {
        Some((text, offset)) => {
            t.follow = Some("mainlogtail".into());
            render(req, 200, &t, &text, offset)
        }
        None => render(req, 200, &t, "No main log file (logfile is not set to a file)", 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(q: &str) -> Form {
        Form::of(&Request {
            method: "GET".into(),
            target: format!("/tail.html?{q}"),
            version: 1,
            headers: vec![],
            body: vec![],
        })
    }

    #[test]
    fn limits_like_the_reference() {
        assert_eq!(limit(&form("")), 1024);
        assert_eq!(limit(&form("limit=10")), 1024);
        assert_eq!(limit(&form("limit=5000")), 5000);
        assert_eq!(limit(&form("limit=-5000")), 1024);
        assert_eq!(limit(&form("limit=99999999999999999999999")), MAX_LIMIT);
    }
}
