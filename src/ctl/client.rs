//! A blocking XML-RPC client for supervisorctl: one HTTP/1.1 request per call over a
//! unix socket (`unix:///path`) or TCP (`http://host:port`, IPv6 literals in brackets),
//! with Basic auth when both credentials are set.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::wire::base64::base64_encode;
use crate::wire::xmlrpc::{self, Fault, Value};

/// Why a call got no XML-RPC answer.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with a fault.
    Fault(Fault),
    /// Connecting failed: ECONNREFUSED, ENOENT (unix socket missing), or another error.
    Connect(io::Error),
    /// An HTTP status other than 200 (401 means credentials are needed).
    Http(u16, String),
    /// Anything else: broken response, I/O error mid-way.
    Other(String),
}

impl CallError {
    /// Python's rendering of the exception, for the reference's `error: <class ...>` line.
    pub fn python_repr(&self) -> String {
        match self {
            CallError::Connect(e) => {
                let (class, n, text) = match e.raw_os_error() {
                    Some(libc::ENOENT) => ("FileNotFoundError", 2, "No such file or directory"),
                    Some(libc::ECONNREFUSED) => ("ConnectionRefusedError", 111, "Connection refused"),
                    Some(libc::EACCES) => ("PermissionError", 13, "Permission denied"),
                    _ => ("OSError", e.raw_os_error().unwrap_or(0), "connection failed"),
                };
                format!("<class '{class}'>, [Errno {n}] {text}")
            }
            CallError::Http(code, reason) => {
                format!("<class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: {code} {reason}>")
            }
            CallError::Fault(f) => format!("<class 'xmlrpc.client.Fault'>, {}", fault_repr(f)),
            CallError::Other(m) => format!("<class 'OSError'>, {m}"),
        }
    }
}

/// Python's repr() of an xmlrpc Fault: `<Fault 10: 'BAD_NAME: x'>`, with the quotes
/// Python picks for the string.
pub fn fault_repr(f: &Fault) -> String {
    format!("<Fault {}: {}>", f.code, crate::config::ini::py_repr(&f.string))
}

#[derive(Clone, Debug)]
pub struct Client {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

pub enum Conn {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Conn {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Conn::Unix(s) => s.as_raw_fd(),
            Conn::Tcp(s) => s.as_raw_fd(),
        }
    }
}

/// `host` and `port` of an `http://` URL (port 80 by default; `[::1]` allowed).
fn host_port(rest: &str) -> (String, u16) {
    let authority = rest.split('/').next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(80);
        return (host.to_string(), port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(80)),
        None => (authority.to_string(), 80),
    }
}

impl Client {
    pub fn connect(&self) -> Result<Conn, CallError> {
        log::debug!("connecting to {}", self.serverurl);
        if let Some(path) = self.serverurl.strip_prefix("unix://") {
            return UnixStream::connect(path).map(Conn::Unix).map_err(CallError::Connect);
        }
        if let Some(rest) = self.serverurl.strip_prefix("http://") {
            let (host, port) = host_port(rest);
            return TcpStream::connect((host.as_str(), port)).map(Conn::Tcp).map_err(CallError::Connect);
        }
        Err(CallError::Other(format!("Unknown protocol for serverurl {}", self.serverurl)))
    }

    fn auth_header(&self) -> String {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => format!("Authorization: Basic {}\r\n", base64_encode(format!("{u}:{p}").as_bytes())),
            _ => String::new(),
        }
    }

    /// One XML-RPC call.
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        let body = xmlrpc::call(method, params);
        let mut conn = self.connect()?;
        let head = format!(
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nUser-Agent: supervisor/{}\r\n{}Content-Type: text/xml\r\nAccept: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            crate::OUR_VERSION,
            self.auth_header(),
            body.len()
        );
        let io = |e: io::Error| CallError::Other(e.to_string());
        log::debug!("POST /RPC2 {method}, {} bytes", body.len());
        log::trace!("request body: {body}");
        conn.write_all(head.as_bytes()).map_err(io)?;
        conn.write_all(body.as_bytes()).map_err(io)?;
        let (status, reason, body) = read_response(&mut conn)?;
        log::debug!("HTTP {status} {reason}, {} bytes", body.len());
        log::trace!("response body: {}", String::from_utf8_lossy(&body));
        if status != 200 {
            return Err(CallError::Http(status, reason));
        }
        match xmlrpc::parse_response(&body) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(CallError::Fault(f)),
            Err(e) => Err(CallError::Other(format!("bad XML-RPC response: {e}"))),
        }
    }

    /// One plain GET (our own JSON views): the status and the body.
    pub fn get(&self, path: &str) -> Result<(u16, Vec<u8>), CallError> {
        let mut conn = self.connect()?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: supervisor/{}\r\n{}Accept: application/json\r\nConnection: close\r\n\r\n",
            crate::OUR_VERSION,
            self.auth_header()
        );
        conn.write_all(head.as_bytes()).map_err(|e| CallError::Other(e.to_string()))?;
        let (status, _, body) = read_response(&mut conn)?;
        Ok((status, body))
    }

    /// Opens a streaming GET (for /logtail and /mainlogtail): returns the connection
    /// positioned at the body, or the HTTP status when it is not 200.
    pub fn stream(&self, path: &str) -> Result<Conn, CallError> {
        let mut conn = self.connect()?;
        let head = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n{}\r\n", self.auth_header());
        log::debug!("GET {path}");
        conn.write_all(head.as_bytes()).map_err(|e| CallError::Other(e.to_string()))?;
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        // Read the head byte by byte so nothing of the body is consumed here.
        while !buf.ends_with(b"\r\n\r\n") {
            match conn.read(&mut byte) {
                Ok(0) => break,
                Ok(_) => buf.push(byte[0]),
                Err(e) => return Err(CallError::Other(e.to_string())),
            }
            if buf.len() > 65536 {
                return Err(CallError::Other("response head too large".into()));
            }
        }
        let (status, reason) = status_line(&buf);
        if status != 200 {
            return Err(CallError::Http(status, reason));
        }
        Ok(conn)
    }
}

fn status_line(head: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(head);
    let first = text.lines().next().unwrap_or("");
    let mut parts = first.splitn(3, ' ');
    let _version = parts.next();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, parts.next().unwrap_or("").to_string())
}

/// Reads a whole response: status, reason, body (Content-Length, chunked, or to EOF).
fn read_response(conn: &mut Conn) -> Result<(u16, String, Vec<u8>), CallError> {
    if let Conn::Tcp(s) = conn {
        let _ = s.set_read_timeout(None::<Duration>);
    }
    let mut data = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = find(&data, b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) => return Err(CallError::Other("the server closed the connection without an answer".into())),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CallError::Other(e.to_string())),
        }
    };
    let (status, reason) = status_line(&data[..head_end]);
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.lines().any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    let mut body = data[head_end..].to_vec();
    loop {
        if let Some(n) = length {
            if body.len() >= n {
                body.truncate(n);
                break;
            }
        }
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CallError::Other(e.to_string())),
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Ok((status, reason, body))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(eol) = find(rest, b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).unwrap_or(0);
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            out.extend_from_slice(&rest[..size.min(rest.len())]);
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(host_port("localhost:9001"), ("localhost".into(), 9001));
        assert_eq!(host_port("127.0.0.1"), ("127.0.0.1".into(), 80));
        assert_eq!(host_port("[::1]:9001/RPC2"), ("::1".into(), 9001));
        assert_eq!(host_port("u:p@host:1"), ("host".into(), 1));
    }

    #[test]
    fn chunks() {
        assert_eq!(dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), b"abcde");
    }
}
