//! The web pages on the control port. For now a plain status page; the full web UI
//! (actions, tail.html) is its own piece of work.

use super::http::{self, Request};
use crate::daemon::Supervisor;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn page(sup: &Supervisor, req: &Request) -> Vec<u8> {
    let mut rows = String::new();
    for id in crate::daemon::api::lexical_order(sup) {
        let info = super::info::process_info(sup, id);
        let get = |k: &str| info.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let name = super::api::namespec(&get("group"), &get("name"));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&get("statename").to_lowercase()),
            html_escape(&get("description")),
            html_escape(&name)
        ));
    }
    if rows.is_empty() {
        rows.push_str("<tr><td colspan=\"3\">No programs to manage</td></tr>\n");
    }
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>Supervisor Status</title></head><body>\n<h1>Supervisor Status</h1>\n<table>\n<tr><th>State</th><th>Description</th><th>Name</th></tr>\n{rows}</table>\n<p>supervisor {} (Supervisor {} compatible)</p>\n</body></html>\n",
        crate::OUR_VERSION,
        crate::SUPERVISOR_VERSION
    );
    http::response(
        200,
        &[
            ("Content-Type", "text/html;charset=utf-8"),
            ("Pragma", "no-cache"),
            ("Cache-Control", "no-cache"),
            ("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ],
        body.as_bytes(),
        req.keep_alive(),
        req.version,
    )
}
