//! HTTP/1.0 and 1.1 messages: parsing a request out of a connection's buffer (httparse,
//! with limits on header and body size), and writing responses.

/// Headers larger than this get 431; bodies larger than MAX_BODY get 413.
pub const MAX_HEADER: usize = 64 * 1024;
pub const MAX_BODY: usize = 4 * 1024 * 1024;
const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the connection stays open after the response (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").map(str::to_ascii_lowercase);
        match self.version {
            1 => conn.as_deref() != Some("close"),
            _ => conn.as_deref() == Some("keep-alive"),
        }
    }

    pub fn path(&self) -> &str {
        self.target.split(['?', '#']).next().unwrap_or("")
    }

    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q.split('#').next().unwrap_or("")).unwrap_or("")
    }
}

#[derive(Debug)]
pub enum Parsed {
    /// More bytes are needed.
    Partial,
    /// A request and how many bytes of the buffer it used.
    Done(Request, usize),
    /// A status to answer with before closing the connection.
    Bad(u16),
}

pub fn parse(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > MAX_HEADER { Parsed::Bad(431) } else { Parsed::Partial };
        }
        Err(httparse::Error::TooManyHeaders) => return Parsed::Bad(431),
        Err(_) => return Parsed::Bad(400),
    };
    if head_len > MAX_HEADER {
        return Parsed::Bad(431);
    }
    let method = req.method.unwrap_or("").to_string();
    let target = req.path.unwrap_or("").to_string();
    let version = req.version.unwrap_or(0);
    let headers: Vec<(String, String)> =
        req.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).trim().to_string())).collect();
    let find = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    if find("transfer-encoding").is_some() {
        // Request bodies must come with a length (the reference's medusa does the same).
        return Parsed::Bad(411);
    }
    let body_len = match find("content-length") {
        Some(v) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return Parsed::Bad(400),
        },
        None if method == "POST" => return Parsed::Bad(411),
        None => 0,
    };
    if body_len > MAX_BODY {
        return Parsed::Bad(413);
    }
    if buf.len() < head_len + body_len {
        return Parsed::Partial;
    }
    let body = buf[head_len..head_len + body_len].to_vec();
    Parsed::Done(Request { method, target, version, headers, body }, head_len + body_len)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// `Sat, 21 Nov 2026 05:37:43 GMT` (RFC 7231 IMF-fixdate).
pub fn http_date(secs: i64) -> String {
    let (y, mo, d, h, m, s) = crate::wire::utc(secs);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let wd = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
    format!("{wd}, {d:02} {} {y} {h:02}:{m:02}:{s:02} GMT", MONTHS[(mo - 1) as usize])
}

pub const SERVER: &str = concat!("supervisor/", env!("CARGO_PKG_VERSION"));

/// A complete response with Content-Length.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8], keep_alive: bool, version: u8) -> Vec<u8> {
    let mut out = head(status, headers, body.len(), keep_alive, version).into_bytes();
    out.extend_from_slice(body);
    out
}

/// The status line and headers of a response whose body is `len` bytes.
pub fn head(status: u16, headers: &[(&str, &str)], len: usize, keep_alive: bool, version: u8) -> String {
    let mut head = format!(
        "HTTP/1.{version} {status} {}\r\nServer: {SERVER}\r\nDate: {}\r\n",
        reason(status),
        http_date(crate::daemon::wall_now())
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {len}\r\n"));
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    } else if version == 0 {
        head.push_str("Connection: Keep-Alive\r\n");
    }
    head.push_str("\r\n");
    head
}

/// An HTML error page, as a complete response that closes the connection.
pub fn error(status: u16, version: u8, extra_headers: &[(&str, &str)]) -> Vec<u8> {
    let body = format!(
        "<html><head><title>{status} {r}</title></head><body><h1>{status} {r}</h1></body></html>\n",
        r = reason(status)
    );
    let mut headers = vec![("Content-Type", "text/html")];
    headers.extend_from_slice(extra_headers);
    response(status, &headers, body.as_bytes(), false, version)
}

/// `%xx` decoding of a path (for `/logtail/group%3Aname`).
pub fn unquote(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            // Two hex digits exactly (from_str_radix alone would take a sign).
            let pair = &bytes[i + 1..i + 3];
            let hex = std::str::from_utf8(pair).ok().filter(|_| pair.iter().all(u8::is_ascii_hexdigit));
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_python_xmlrpc_request() {
        let raw = b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nUser-Agent: Python-xmlrpc/3.11\r\nContent-Type: text/xml\r\nAccept: text/xml\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        match parse(raw) {
            Parsed::Done(r, used) => {
                assert_eq!(r.method, "POST");
                assert_eq!(r.path(), "/RPC2");
                assert_eq!(r.version, 1);
                assert_eq!(r.body, b"hello");
                assert_eq!(used, raw.len() - 5);
                assert!(r.keep_alive());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partial_and_bad_requests() {
        assert!(matches!(parse(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), Parsed::Partial));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\nHost"), Parsed::Partial));
        assert!(matches!(parse(b"POST /RPC2 HTTP/1.1\r\n\r\n"), Parsed::Bad(411)));
        assert!(matches!(parse(b"\x00\x01garbage\r\n\r\n"), Parsed::Bad(400)));
        assert!(matches!(parse(b"POST /RPC2 HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"), Parsed::Bad(413)));
        assert!(matches!(parse(b"POST /RPC2 HTTP/1.1\r\nContent-Length: x\r\n\r\n"), Parsed::Bad(400)));
        assert!(matches!(parse(b"POST /RPC2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Parsed::Bad(411)));
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEADER + 1));
        assert!(matches!(parse(huge.as_bytes()), Parsed::Bad(431)));
    }

    #[test]
    fn keep_alive_rules() {
        let req = |v: &str, c: &str| match parse(format!("GET / HTTP/{v}\r\n{c}\r\n").as_bytes()) {
            Parsed::Done(r, _) => r.keep_alive(),
            _ => panic!(),
        };
        assert!(req("1.1", ""));
        assert!(!req("1.1", "Connection: close\r\n"));
        assert!(!req("1.0", ""));
        assert!(req("1.0", "Connection: Keep-Alive\r\n"));
    }

    #[test]
    fn dates_and_unquote() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_239_463), "Sat, 21 Nov 2026 05:37:43 GMT");
        assert_eq!(unquote("/logtail/g%3Aname/stdout"), "/logtail/g:name/stdout");
        assert_eq!(unquote("%zz%4"), "%zz%4");
        assert_eq!(unquote("%+1x"), "%+1x");
    }
}
