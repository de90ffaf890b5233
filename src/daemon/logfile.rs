//! An append-only log file with the reference's size rotation (`f` -> `f.1` -> ... ->
//! `f.N` after a write that reaches maxbytes). Each write is one write(2) of the data as
//! read: no buffering, so nothing is lost if the daemon dies. A target that is not a
//! regular file (/dev/stdout, a pipe) is written without rotation.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    file: File,
    maxbytes: u64,
    backups: u32,
    /// Bytes in the current file, tracked so rotation needs no fstat per write.
    size: u64,
    regular: bool,
    /// The same open file without O_APPEND (splice refuses append-mode targets), made
    /// at the first splice after each open; `splice_off` once it could not be made.
    splice_out: Option<File>,
    splice_off: bool,
}

/// What one `splice_from` did.
#[derive(Debug)]
pub enum Splice {
    /// Bytes moved from the pipe into the file, and whether that filled the file and
    /// it was rotated (the splice then stopped at maxbytes, the pipe may hold more).
    Moved(usize, bool),
    /// The pipe is empty for now.
    Empty,
    /// The pipe's write ends are all closed.
    Eof,
    /// Splicing into this target is not possible: read and write instead.
    Unsupported,
    Failed(io::Error),
}

fn open_append(path: &Path) -> io::Result<File> {
    if let Some(fd) = own_std_fd(path) {
        // Writing through our own descriptor shares its file offset with the main log's
        // copies to stdout; a second open of /dev/stdout would overwrite them (or be
        // overwritten) when stdout is a regular file opened without O_APPEND.
        return rustix::io::fcntl_dupfd_cloexec(crate::sys::borrow_fd(fd), 3).map(File::from).map_err(io::Error::from);
    }
    OpenOptions::new().create(true).append(true).mode(0o644).custom_flags(libc::O_CLOEXEC).open(path)
}

/// The daemon's own fd that a path names: /dev/stdout, /dev/stderr, /dev/fd/N,
/// /proc/self/fd/N.
fn own_std_fd(path: &Path) -> Option<i32> {
    let s = path.to_str()?;
    let n = match s {
        "/dev/stdin" => 0,
        "/dev/stdout" => 1,
        "/dev/stderr" => 2,
        _ => s.strip_prefix("/dev/fd/").or_else(|| s.strip_prefix("/proc/self/fd/"))?.parse().ok()?,
    };
    crate::sys::fd_is_open(n).then_some(n)
}

impl RotatingFile {
    /// Opens (creating) `path` for appending. maxbytes <= 0 means never rotate.
    pub fn open(path: &Path, maxbytes: i64, backups: i64) -> io::Result<RotatingFile> {
        let file = open_append(path)?;
        // A descriptor shared with our own stdout/stderr moves through the shared file
        // offset: a splice at an offset of its own would be overwritten.
        let shared = own_std_fd(path).is_some();
        let meta = file.metadata()?;
        Ok(RotatingFile {
            path: path.to_path_buf(),
            regular: meta.is_file(),
            size: meta.len(),
            file,
            maxbytes: u64::try_from(maxbytes).unwrap_or(0),
            backups: u32::try_from(backups.clamp(0, 100_000)).unwrap_or(0),
            splice_out: None,
            splice_off: shared,
        })
    }

    /// Moves up to `max` bytes from `pipe` into the file inside the kernel (splice(2)),
    /// with the rotation rule of `write` made exact: a splice never goes past maxbytes,
    /// so every rotated file holds exactly maxbytes.
    pub fn splice_from(&mut self, pipe: BorrowedFd, max: usize) -> Splice {
        if !self.regular || self.splice_off {
            return Splice::Unsupported;
        }
        if self.splice_out.is_none() {
            // Reopened through the descriptor, not the path: the very file `open` got.
            let own = format!("/proc/self/fd/{}", self.file.as_raw_fd());
            match OpenOptions::new().write(true).custom_flags(libc::O_CLOEXEC).open(own) {
                Ok(f) => self.splice_out = Some(f),
                Err(_) => {
                    self.splice_off = true;
                    return Splice::Unsupported;
                }
            }
        }
        let Some(out) = &self.splice_out else { return Splice::Unsupported };
        // Written at an explicit offset, the end of the file as it is now: someone may
        // have truncated it (logrotate's copytruncate) since the last write.
        match self.file.metadata() {
            Ok(m) => self.size = m.len(),
            Err(e) => return Splice::Failed(e),
        }
        let room = match self.maxbytes {
            0 => max,
            m if self.size < m => usize::try_from(m - self.size).unwrap_or(max).min(max),
            _ => max,
        };
        let mut off = self.size;
        let flags = rustix::pipe::SpliceFlags::NONBLOCK | rustix::pipe::SpliceFlags::MOVE;
        let n = loop {
            match rustix::pipe::splice(pipe, None, out, Some(&mut off), room, flags) {
                Ok(n) => break n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => return Splice::Empty,
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                    self.splice_off = true;
                    return Splice::Unsupported;
                }
                Err(e) => return Splice::Failed(e.into()),
            }
        };
        if n == 0 {
            return Splice::Eof;
        }
        self.size += n as u64;
        let full = self.maxbytes > 0 && self.size >= self.maxbytes;
        if full {
            if let Err(e) = self.rotate() {
                return Splice::Failed(e);
            }
        }
        Splice::Moved(n, full)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is the very file (pipe, tty) our stdout is: `logfile=/dev/stdout`.
    pub fn is_our_stdout(&self) -> bool {
        let ours = rustix::fs::fstat(rustix::stdio::stdout());
        let this = rustix::fs::fstat(&self.file);
        matches!((ours, this), (Ok(a), Ok(b)) if a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    }

    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.file.write_all(data)?;
        self.size += data.len() as u64;
        if self.regular && self.maxbytes > 0 && self.size >= self.maxbytes {
            self.rotate()?;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let name = |i: u32| PathBuf::from(format!("{}.{i}", self.path.display()));
        if self.backups > 0 {
            for i in (1..self.backups).rev() {
                let from = name(i);
                if from.exists() {
                    rename_over(&from, &name(i + 1))?;
                }
            }
            rename_over(&self.path, &name(1))?;
        }
        // Truncate rather than unlink: with no backups the file is simply emptied.
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | libc::O_TRUNC)
            .open(&self.path)?;
        self.splice_out = None;
        self.size = 0;
        Ok(())
    }

    /// Closes and reopens the path (after logrotate moved the file away).
    pub fn reopen(&mut self) -> io::Result<()> {
        let file = open_append(&self.path)?;
        self.splice_off |= own_std_fd(&self.path).is_some();
        let meta = file.metadata()?;
        self.regular = meta.is_file();
        self.size = meta.len();
        self.file = file;
        self.splice_out = None;
        Ok(())
    }

    /// Removes the file and starts an empty one (clearLog).
    pub fn clear(&mut self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.reopen()
    }
}

/// Renames, tolerating a source that vanished (a cleanup script removed it).
fn rename_over(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("logfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn rotation_keeps_every_byte_in_order() {
        let d = tmp("rot");
        let p = d.join("x.log");
        let mut f = RotatingFile::open(&p, 100, 20).unwrap();
        let mut written = Vec::new();
        for i in 0..50u32 {
            let chunk = format!("line {i:04} {}\n", "x".repeat((i % 7) as usize));
            f.write(chunk.as_bytes()).unwrap();
            written.extend_from_slice(chunk.as_bytes());
        }
        let mut all = Vec::new();
        for i in (1..=20).rev() {
            if let Ok(b) = std::fs::read(format!("{}.{i}", p.display())) {
                all.extend(b);
            }
        }
        all.extend(std::fs::read(&p).unwrap());
        assert_eq!(all, written);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_backups_truncates_and_rotation_drops_oldest() {
        let d = tmp("trunc");
        let p = d.join("x.log");
        let mut f = RotatingFile::open(&p, 10, 0).unwrap();
        f.write(b"0123456789abc").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        assert!(!d.join("x.log.1").exists());
        f.write(b"tail").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"tail");
        let mut g = RotatingFile::open(&d.join("y.log"), 1, 2).unwrap();
        for b in [b"a", b"b", b"c", b"d"] {
            g.write(b).unwrap();
        }
        assert_eq!(std::fs::read(d.join("y.log.1")).unwrap(), b"d");
        assert_eq!(std::fs::read(d.join("y.log.2")).unwrap(), b"c");
        assert!(!d.join("y.log.3").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn reopen_after_external_rename() {
        let d = tmp("reopen");
        let p = d.join("x.log");
        let mut f = RotatingFile::open(&p, 0, 0).unwrap();
        f.write(b"before\n").unwrap();
        std::fs::rename(&p, d.join("moved.log")).unwrap();
        f.reopen().unwrap();
        f.write(b"after\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"after\n");
        assert_eq!(std::fs::read(d.join("moved.log")).unwrap(), b"before\n");
        f.clear().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
