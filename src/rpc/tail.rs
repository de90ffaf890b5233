//! `/logtail/...` and `/mainlogtail`: the last 1024 bytes of a log, then everything
//! appended, following rotation (a new inode) and truncation, as the reference does.
//! A console target is followed in the memory the daemon keeps for it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
const HEAD: u64 = 1024;
const MAX_CHUNK: usize = 256 * 1024;

enum Source {
    File {
        path: PathBuf,
        file: File,
        inode: u64,
    },
    /// A console target of this process (true: stderr).
    Memory(crate::daemon::ProcId, bool),
}

pub struct Tail {
    src: Source,
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
        let src = Source::File { path: path.to_path_buf(), file, inode: meta.ino() };
        let pos = offset.filter(|at| *at <= size).unwrap_or(size.saturating_sub(HEAD));
        let mut tail = Tail { src, pos, chunked: version == 1 };
        let mut out = tail.head(version, meta.mtime());
        out.extend(tail.more(None));
        Ok((tail, out))
    }

    /// A stream over the memory of a console target.
    pub fn open_memory(
        mem: &crate::daemon::MemoryTail,
        proc: crate::daemon::ProcId,
        stderr: bool,
        version: u8,
    ) -> (Tail, Vec<u8>) {
        let src = Source::Memory(proc, stderr);
        let mut tail = Tail { src, pos: mem.size().saturating_sub(HEAD), chunked: version == 1 };
        let mut out = tail.head(version, crate::daemon::wall_now());
        out.extend(tail.more(Some(mem)));
        (tail, out)
    }

    /// The process and channel whose memory this stream follows.
    pub fn memory_of(&self) -> Option<(crate::daemon::ProcId, bool)> {
        match self.src {
            Source::Memory(p, e) => Some((p, e)),
            Source::File { .. } => None,
        }
    }

    fn head(&self, version: u8, mtime: i64) -> Vec<u8> {
        let chunked = self.chunked;
        let mut head = format!(
            "HTTP/1.{version} 200 OK\r\nServer: {}\r\nDate: {}\r\nContent-Type: text/plain;charset=utf-8\r\nX-Accel-Buffering: no\r\nLast-Modified: {}\r\n",
            super::http::SERVER,
            super::http::http_date(crate::daemon::wall_now()),
            super::http::http_date(mtime)
        );
        if chunked {
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        } else {
            head.push_str("Connection: close\r\n\r\n");
        }
        head.into_bytes()
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

    /// Whatever was appended since the last look, framed for the wire; `mem` is the
    /// memory of a console stream's process (None once the process is gone).
    pub fn more(&mut self, mem: Option<&crate::daemon::MemoryTail>) -> Vec<u8> {
        let (path, file, inode) = match &mut self.src {
            Source::File { path, file, inode } => (path, file, inode),
            Source::Memory(..) => {
                let Some(mem) = mem else { return Vec::new() };
                if mem.size() < self.pos {
                    self.pos = 0;
                    return self.frame(b"==> File truncated <==\n");
                }
                let data = mem.read(self.pos, MAX_CHUNK as u64);
                self.pos += data.len() as u64;
                return self.frame(&data);
            }
        };
        if let Ok(meta) = std::fs::metadata(&*path) {
            if meta.ino() != *inode {
                if let Ok(f) = File::open(&*path) {
                    *file = f;
                    *inode = meta.ino();
                    self.pos = 0;
                }
            }
        }
        let size = match file.metadata() {
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
        if file.seek(SeekFrom::Start(self.pos)).is_err() {
            return Vec::new();
        }
        let n = file.read(&mut buf).unwrap_or(0);
        buf.truncate(n);
        self.pos += n as u64;
        self.frame(&buf)
    }
}
