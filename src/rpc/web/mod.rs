//! The web UI on the control port: the reference's pages at the reference's URLs
//! (index.html with its actions, tail.html, ok.html), plus live tail pages, the main
//! log page, a JSON view of the status table and Prometheus /metrics.
//!
//! Safety rules, in one place: a state-changing request from a browser is a POST that
//! carries this daemon's token and is not cross-site; a GET action (the reference's
//! links, curl, scripts) is refused when the browser marks it cross-site. Every
//! response carries a CSP that allows only our own script and style, and no framing.

mod actions;
mod assets;
mod form;
mod json;
mod metrics;
mod page;
mod tail_page;
mod view;

use super::api::Pending;
use super::http::{self, Request};
use crate::daemon::procstat::Sampler;
use crate::daemon::Supervisor;

pub use actions::Finish;

/// What the web UI keeps between requests.
#[derive(Default)]
pub struct WebState {
    sampler: Sampler,
    token: String,
}

impl WebState {
    /// The per-daemon secret that the page's forms carry (made at first use).
    fn token(&mut self) -> &str {
        if self.token.is_empty() {
            let mut seed = [0u8; 16];
            if rustix::rand::getrandom(&mut seed, rustix::rand::GetRandomFlags::empty()).is_err() {
                // No kernel randomness: mix what differs per daemon and per boot.
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                seed = (t.as_nanos() ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
            }
            self.token = seed.iter().map(|b| format!("{b:02x}")).collect();
        }
        &self.token
    }
}

pub enum Reply {
    Done(Vec<u8>),
    /// An action waits on the daemon; `Finish` turns its result into the response.
    Wait(Pending, Finish),
}

/// Answers a request for any path other than /RPC2 and the log streams.
pub fn handle(sup: &mut Supervisor, req: &Request) -> Reply {
    let mut state = std::mem::take(&mut sup.http.web);
    let reply = route(sup, &mut state, req);
    sup.http.web = state;
    reply
}

fn route(sup: &mut Supervisor, state: &mut WebState, req: &Request) -> Reply {
    let path = req.path();
    let done = Reply::Done;
    if req.query().len() > form::MAX_QUERY || (req.method == "POST" && req.body.len() > form::MAX_QUERY) {
        return done(error_page(req, 414, "The request is too long."));
    }
    match path {
        "/ok.html" => {
            done(http::response(200, &[("Content-Type", "text/plain")], b"OK", req.keep_alive(), req.version))
        }
        "/" | "/index.html" => actions::index(sup, state, req),
        "/tail.html" => done(tail_page::process(sup, req)),
        "/mainlog.html" => done(tail_page::main_log(sup, req)),
        "/api/rows" => done(page::fragment(sup, state, req)),
        "/api/status" => match req.method.as_str() {
            "GET" | "HEAD" => done(json::status(sup, state, req)),
            _ => done(error_page(req, 405, "Only GET is served here.")),
        },
        "/metrics" => match req.method.as_str() {
            "GET" | "HEAD" => done(metrics::serve(sup, state, req)),
            _ => done(error_page(req, 405, "Only GET is served here.")),
        },
        _ => match assets::find(path) {
            Some((ctype, body)) => done(respond(req, 200, ctype, body, &[("Cache-Control", "max-age=300")])),
            None => done(error_page(req, 404, "Nothing here.")),
        },
    }
}

/// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Python's `urllib.parse.quote(s)`: everything but letters, digits, `_.-~/` as %XX.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Only our own files may run or style a page; no framing, no foreign forms.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A response with the headers every web UI answer carries.
pub fn respond(req: &Request, status: u16, ctype: &str, body: &[u8], extra: &[(&str, &str)]) -> Vec<u8> {
    let body = if req.method == "HEAD" { &[][..] } else { body };
    respond_to(req.version, req.keep_alive(), status, ctype, body, extra)
}

pub fn respond_to(
    version: u8,
    keep_alive: bool,
    status: u16,
    ctype: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut headers = vec![
        ("Content-Type", ctype),
        ("Content-Security-Policy", CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
    ];
    if !extra.iter().any(|(k, _)| *k == "Cache-Control") {
        headers.extend([
            ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache"),
            ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ]);
    }
    headers.extend_from_slice(extra);
    http::response(status, &headers, body, keep_alive, version)
}

/// A small HTML page saying what was wrong with a request.
pub fn error_page(req: &Request, status: u16, text: &str) -> Vec<u8> {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} {reason}</title>\
         <link rel=\"stylesheet\" href=\"/ui/style.css\"></head><body><main><h1>{status} {reason}</h1>\
         <p class=\"status_msg error\">{}</p><p><a href=\"/\">Back to the status page</a></p></main></body></html>\n",
        escape(text),
        reason = http::reason(status)
    );
    respond(req, status, "text/html;charset=utf-8", body.as_bytes(), &[])
}

/// The scheme-less `host[:port]` of an absolute URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

/// Whether a browser marks this request as coming from a page of another origin.
/// Clients that send none of these headers (curl, scripts) are not cross-site.
pub fn cross_site(req: &Request) -> bool {
    if let Some(site) = req.header("sec-fetch-site") {
        if !site.eq_ignore_ascii_case("same-origin") && !site.eq_ignore_ascii_case("none") {
            return true;
        }
    }
    let host = req.header("host");
    let foreign = |url: &str| match (authority(url), host) {
        (Some(a), Some(h)) => !a.eq_ignore_ascii_case(h),
        // "null" (a sandboxed or file page), or a URL without a host to compare.
        _ => true,
    };
    if req.header("origin").is_some_and(foreign) {
        return true;
    }
    req.header("referer").is_some_and(foreign)
}

/// Compares in time independent of where the strings differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            target: "/index.html?processname=x&action=stop".into(),
            version: 1,
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn cross_site_markers() {
        assert!(!cross_site(&req(&[("Host", "h:9001")])));
        assert!(!cross_site(&req(&[("Host", "h:9001"), ("Sec-Fetch-Site", "same-origin")])));
        assert!(!cross_site(&req(&[("Host", "h:9001"), ("Sec-Fetch-Site", "none")])));
        assert!(cross_site(&req(&[("Host", "h:9001"), ("Sec-Fetch-Site", "cross-site")])));
        assert!(cross_site(&req(&[("Host", "h:9001"), ("Sec-Fetch-Site", "same-site")])));
        assert!(cross_site(&req(&[("Host", "h:9001"), ("Origin", "http://evil:9001")])));
        assert!(cross_site(&req(&[("Host", "h:9001"), ("Origin", "null")])));
        assert!(!cross_site(&req(&[("Host", "h:9001"), ("Origin", "http://h:9001")])));
        assert!(cross_site(&req(&[("Host", "h:9001"), ("Referer", "http://h:9002/x")])));
        assert!(!cross_site(&req(&[("Host", "h:9001"), ("Referer", "http://h:9001/index.html")])));
    }

    #[test]
    fn escapes_and_quotes() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        assert_eq!(quote("g:p x/é"), "g%3Ap%20x/%C3%A9");
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
