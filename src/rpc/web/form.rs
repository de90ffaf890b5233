//! Form fields from the query string and, for a POST, an urlencoded body (the
//! reference merges both the same way).

use super::super::http::{unquote, Request};

/// Longer query strings or form bodies are refused (414): nothing here needs more.
pub const MAX_QUERY: usize = 8 * 1024;

pub struct Form(Vec<(String, String)>);

fn decode(s: &str) -> String {
    unquote(&s.replace('+', " "))
}

fn parse_into(text: &str, out: &mut Vec<(String, String)>) {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((decode(k), decode(v)));
    }
}

impl Form {
    pub fn of(req: &Request) -> Form {
        let mut fields = Vec::new();
        parse_into(req.query(), &mut fields);
        let urlencoded = req
            .header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if req.method == "POST" && urlencoded {
            parse_into(&String::from_utf8_lossy(&req.body), &mut fields);
        }
        Form(fields)
    }

    /// The first value of a field (a later duplicate does not override it).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_body_merge() {
        let req = Request {
            method: "POST".into(),
            target: "/index.html?processname=g%3Ap+1&x".into(),
            version: 1,
            headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
            body: b"action=stop&processname=other".to_vec(),
        };
        let f = Form::of(&req);
        assert_eq!(f.get("processname"), Some("g:p 1"));
        assert_eq!(f.get("action"), Some("stop"));
        assert_eq!(f.get("x"), Some(""));
        assert_eq!(f.get("y"), None);
    }
}
