//! `/logtail/...` and `/mainlogtail`: the last 1024 bytes of a log, then everything
//! appended, following rotation (a new inode) and truncation, as the reference does.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
const HEAD: u64 = 1024;
const MAX_CHUNK: usize = 256 * 1024;

pub struct Tail {
    path: PathBuf,
    file: File,
    inode: u64,
    pos: u64,
    chunked: bool,
}

impl Tail {
    /// Opens the stream; returns it and the response head with the first bytes: the
    /// last 1024 bytes, or from `offset` when given (and within the file).
    pub fn open(path: &Path, version: u8, offset: Option<u64>) -> std::io::Result<(Tail, Vec<u8>)> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let size = meta.len();
        let chunked = version == 1;
        let mut tail =
            Tail { path: path.to_path_buf(), file, inode: meta.ino(), pos: size.saturating_sub(HEAD), chunked };
        if let Some(at) = offset.filter(|at| *at <= size) {
            tail.pos = at;
        }
        let mut head = format!(
            "HTTP/1.{version} 200 OK\r\nServer: {}\r\nDate: {}\r\nContent-Type: text/plain;charset=utf-8\r\nX-Accel-Buffering: no\r\nLast-Modified: {}\r\n",
            super::http::SERVER,
            super::http::http_date(crate::daemon::wall_now()),
            super::http::http_date(meta.mtime())
        );
        if chunked {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        } else {
            head.push_str("Connection: close\r\n\r\n");
        }
        let mut out = head.into_bytes();
        out.extend(tail.more());
        Ok((tail, out))
    }

    fn frame(&self, data: &[u8]) -> Vec<u8> {
        if !self.chunked || data.is_empty() {
            return data.to_vec();
        }
        let mut out = format!("{:x}\r\n", data.len()).into_bytes();
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// Whatever was appended since the last look, framed for the wire.
    pub fn more(&mut self) -> Vec<u8> {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            if meta.ino() != self.inode {
                if let Ok(f) = File::open(&self.path) {
                    self.file = f;
                    self.inode = meta.ino();
                    self.pos = 0;
                }
            }
        }
        let size = match self.file.metadata() {
            Ok(m) => m.len(),
            Err(_) => return Vec::new(),
        };
        if size < self.pos {
            self.pos = 0;
            return self.frame(b"==> File truncated <==\n");
        }
        if size == self.pos {
            return Vec::new();
        }
        let want = ((size - self.pos) as usize).min(MAX_CHUNK);
        let mut buf = vec![0u8; want];
        if self.file.seek(SeekFrom::Start(self.pos)).is_err() {
            return Vec::new();
        }
        let n = self.file.read(&mut buf).unwrap_or(0);
        buf.truncate(n);
        self.pos += n as u64;
        self.frame(&buf)
    }
}
