//! Child output for the container's console (/dev/stdout, /dev/stderr): whole lines
//! only, each behind the program's prefix or as one JSON object, so that `docker logs`
//! never shows two programs' output mixed inside a line; and a bounded copy in memory,
//! so tail and readLog keep working on a target that cannot be read back.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::LineFormat;

/// A partial line is held until its newline, until it reaches this size (then it is
/// written as a line of its own), or until it has waited `HOLD_FOR`.
pub const MAX_LINE: usize = 128 * 1024;
pub const HOLD_FOR: Duration = Duration::from_secs(2);
/// What `tail` and readLog can see of a console target.
pub const MEMORY_TAIL: usize = 256 * 1024;

/// Formatted output, reused between chunks. Its buffer keeps its length and only `len`
/// moves, so appending is a bounds check and a memcpy: no capacity check, no zeroing,
/// nothing that would not be inlined at opt-level "z" (1.6 million lines per 100 MB
/// come through here).
#[derive(Debug, Default)]
pub struct Formatted {
    buf: Vec<u8>,
    len: usize,
}

impl Formatted {
    #[inline(always)]
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            self.grow(end);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
    }

    /// The common case of the text mode, prefix and line under one bounds check.
    #[inline(always)]
    fn push2(&mut self, a: &[u8], b: &[u8]) {
        let mid = self.len + a.len();
        let end = mid + b.len();
        if end > self.buf.len() {
            self.grow(end);
        }
        self.buf[self.len..mid].copy_from_slice(a);
        self.buf[mid..end].copy_from_slice(b);
        self.len = end;
    }

    /// Appends whole lines (`lines` is empty or ends with a newline), each behind
    /// `prefix`: a search and two copies per line. (Copying eight bytes at a time and
    /// finding the newline in each word as it goes measured no faster at opt-level "z";
    /// one writev with the lines in place costs the kernel three times this copy.)
    fn push_lines(&mut self, prefix: &[u8], lines: &[u8]) {
        self.reserve(lines.len() + (lines.len() / 32 + 1) * prefix.len());
        let mut start = 0;
        // A short prefix is stored as one 16-byte word (its padding is overwritten by
        // the line): a memcpy call less per line.
        if prefix.len() > 16 {
            for nl in memchr::memchr_iter(b'\n', lines) {
                self.push2(prefix, &lines[start..=nl]);
                start = nl + 1;
            }
            return;
        }
        let mut short = [0u8; 16];
        short[..prefix.len()].copy_from_slice(prefix);
        for nl in memchr::memchr_iter(b'\n', lines) {
            let line = &lines[start..=nl];
            let end = self.len + prefix.len() + line.len();
            if self.len + 16 > self.buf.len() || end > self.buf.len() {
                self.grow(end.max(self.len + 16));
            }
            if let Ok(word) = <&mut [u8; 16]>::try_from(&mut self.buf[self.len..self.len + 16]) {
                *word = short;
            }
            self.buf[self.len + prefix.len()..end].copy_from_slice(line);
            self.len = end;
            start = nl + 1;
        }
    }

    #[inline(never)]
    fn grow(&mut self, at_least: usize) {
        self.buf.resize(at_least.max(2 * self.buf.len()).max(4096), 0);
    }

    fn reserve(&mut self, more: usize) {
        if self.len + more > self.buf.len() {
            self.grow(self.len + more);
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Empties it for the next chunk; a burst of long lines does not keep its memory.
    pub fn clear(&mut self) {
        self.len = 0;
        if self.buf.len() > 4 * MAX_LINE {
            self.buf = Vec::new();
        }
    }
}

#[derive(Debug)]
enum Mode {
    /// The prefix, written before each line.
    Text(Vec<u8>),
    /// `","program":...,"message":"`: everything of the object between time and message.
    Json(Vec<u8>),
}

#[derive(Debug)]
pub struct Lines {
    mode: Mode,
    held: Vec<u8>,
    /// When the held partial line started waiting.
    held_since: Option<Instant>,
    /// A flush timer is on the reactor's heap (at most one per channel).
    pub timer_armed: bool,
}

impl Lines {
    pub fn new(format: &LineFormat, program: &str, group: &str, stream: &str) -> Lines {
        let mode = match format {
            LineFormat::Text(prefix) => Mode::Text(prefix.as_bytes().to_vec()),
            LineFormat::Json => {
                let mut fields = Formatted::default();
                fields.push(b"\",\"program\":\"");
                escape_into(program.as_bytes(), &mut fields);
                fields.push(b"\",\"group\":\"");
                escape_into(group.as_bytes(), &mut fields);
                fields.push(b"\",\"stream\":\"");
                fields.push(stream.as_bytes());
                fields.push(b"\",\"message\":\"");
                Mode::Json(fields.as_slice().to_vec())
            }
        };
        Lines { mode, held: Vec::new(), held_since: None, timer_armed: false }
    }

    /// Appends the complete lines of `data` (with what was held before) to `out`,
    /// formatted; keeps the unfinished rest.
    pub fn feed(&mut self, data: &[u8], now: Instant, out: &mut Formatted) {
        let time = matches!(self.mode, Mode::Json(_)).then(|| rfc3339(SystemTime::now()));
        let time = time.as_deref().unwrap_or("");
        // Where the last whole line of the chunk ends; the rest is held.
        let whole = memchr::memrchr(b'\n', data).map_or(0, |nl| nl + 1);
        let mut start = 0;
        if !self.held.is_empty() && whole > 0 {
            let nl = memchr::memchr(b'\n', data).unwrap_or(0);
            let mut line = std::mem::take(&mut self.held);
            line.extend_from_slice(&data[..nl]);
            self.emit(&line, time, out);
            line.clear();
            self.held = line;
            start = nl + 1;
        }
        match &self.mode {
            Mode::Text(prefix) => out.push_lines(prefix, &data[start..whole]),
            Mode::Json(_) => {
                let base = start;
                for nl in memchr::memchr_iter(b'\n', &data[base..whole]) {
                    let nl = base + nl;
                    self.emit(&data[start..nl], time, out);
                    start = nl + 1;
                }
            }
        }
        let rest = &data[whole..];
        let mut fresh = self.held.is_empty();
        self.held.extend_from_slice(rest);
        // A line longer than the bound goes out in pieces of the bound.
        while self.held.len() >= MAX_LINE {
            self.emit(&self.held[..MAX_LINE], time, out);
            self.held.drain(..MAX_LINE);
            fresh = true;
        }
        if self.held.is_empty() {
            self.held_since = None;
        } else if fresh {
            self.held_since = Some(now);
        }
        if self.held.capacity() > MAX_LINE && self.held.len() < MAX_LINE / 4 {
            self.held.shrink_to(MAX_LINE / 4);
        }
    }

    /// When the held partial line must be written; None when nothing is held.
    pub fn deadline(&self) -> Option<Instant> {
        self.held_since.map(|t| t + HOLD_FOR)
    }

    /// Writes what is held as a line of its own (at the deadline, or when the pipe
    /// closes).
    pub fn flush(&mut self, out: &mut Formatted) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        let time = if matches!(self.mode, Mode::Json(_)) { rfc3339(SystemTime::now()) } else { String::new() };
        self.emit(&held, &time, out);
        self.held_since = None;
    }

    fn emit(&self, line: &[u8], time: &str, out: &mut Formatted) {
        match &self.mode {
            Mode::Text(prefix) => out.push2(prefix, line),
            Mode::Json(fields) => {
                out.push(b"{\"time\":\"");
                out.push(time.as_bytes());
                out.push(fields);
                escape_into(line, out);
                out.push(b"\"}");
            }
        }
        out.push(b"\n");
    }
}

/// Escapes bytes into a JSON string body (see `escape_into`).
/// `\u00XX` or `\udcXX` for byte `b`, written without allocating.
fn hex_escape(lead: [u8; 4], b: u8) -> [u8; 6] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [lead[0], lead[1], lead[2], lead[3], HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]
}

pub fn json_escape(data: &[u8], out: &mut Vec<u8>) {
    let mut f = Formatted::default();
    escape_into(data, &mut f);
    out.extend_from_slice(f.as_slice());
}

/// Escapes bytes into a JSON string body. Bytes that are not UTF-8 become the lone
/// surrogates U+DC80..U+DCFF (Python's surrogateescape), so nothing is dropped and
/// `json.loads(l)["message"].encode("utf-8", "surrogateescape")` gives the bytes back.
fn escape_into(data: &[u8], out: &mut Formatted) {
    // `data[plain..i]` needs no escape and is copied in one piece when an escape comes.
    let mut plain = 0;
    let mut i = 0;
    while i < data.len() {
        // Most log text is printable ASCII: eight bytes per test (per byte, this loop
        // cost 15 times what the prefix does).
        if let Some(word) = data.get(i..i + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) {
            if plain_ascii(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let b = data[i];
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f | 0x7f => {
                out.push2(&data[plain..i], &hex_escape(*b"\\u00", b));
                i += 1;
                plain = i;
                continue;
            }
            0x20..=0x7e => {
                i += 1;
                continue;
            }
            _ => {
                // A whole UTF-8 character passes; any other byte is escaped on its own
                // and decoding starts again at the next (as `utf8_chunks` splits).
                let len = match b {
                    0xc2..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf4 => 4,
                    _ => 0,
                };
                if len > 0 && data.get(i..i + len).is_some_and(|c| std::str::from_utf8(c).is_ok()) {
                    i += len;
                    continue;
                }
                out.push2(&data[plain..i], &hex_escape(*b"\\udc", b));
                i += 1;
                plain = i;
                continue;
            }
        };
        out.push2(&data[plain..i], escaped);
        i += 1;
        plain = i;
    }
    out.push(&data[plain..]);
}

/// Whether eight bytes are all printable ASCII other than `"` and `\\` (the bit tricks
/// of "Bit Twiddling Hacks": a byte below n, a byte equal to zero).
fn plain_ascii(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    w & HIGH == 0
        && !below_space
        && !has_zero(w ^ (ONES * 0x7f))
        && !has_zero(w ^ (ONES * u64::from(b'"')))
        && !has_zero(w ^ (ONES * u64::from(b'\\')))
}

/// `2026-12-07T14:05:01.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (year, month, day, h, m, s) = crate::wire::utc(d.as_secs() as i64);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{:03}Z", d.subsec_millis())
}

/// The last bytes written to a console target, addressed like a file that only grows:
/// offsets count every byte ever written, and what fell out of the window reads as
/// absent. A ring of `MEMORY_TAIL` bytes, allocated on first use.
#[derive(Debug, Default)]
pub struct MemoryTail {
    ring: Vec<u8>,
    /// Bytes written since the start (or the last clear): the size of the "file".
    total: u64,
}

impl MemoryTail {
    pub fn push(&mut self, data: &[u8]) {
        if self.ring.is_empty() {
            self.ring = vec![0; MEMORY_TAIL];
        }
        // Of more than the ring holds, only the end stays.
        let skipped = data.len().saturating_sub(MEMORY_TAIL);
        self.total += skipped as u64;
        let data = &data[skipped..];
        let at = (self.total % MEMORY_TAIL as u64) as usize;
        let first = data.len().min(MEMORY_TAIL - at);
        self.ring[at..at + first].copy_from_slice(&data[..first]);
        self.ring[..data.len() - first].copy_from_slice(&data[first..]);
        self.total += data.len() as u64;
    }

    pub fn size(&self) -> u64 {
        self.total
    }

    /// Up to `len` bytes from offset `start`; bytes no longer held are skipped.
    pub fn read(&self, start: u64, len: u64) -> Vec<u8> {
        let held = self.total.min(MEMORY_TAIL as u64);
        let start = start.max(self.total - held);
        let end = start.saturating_add(len).min(self.total);
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut pos = start;
        while pos < end {
            let at = (pos % MEMORY_TAIL as u64) as usize;
            let n = ((end - pos) as usize).min(MEMORY_TAIL - at);
            out.extend_from_slice(&self.ring[at..at + n]);
            pos += n as u64;
        }
        out
    }

    pub fn clear(&mut self) {
        *self = MemoryTail::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &mut Lines, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Formatted::default();
        for c in chunks {
            lines.feed(c, Instant::now(), &mut out);
        }
        out.as_slice().to_vec()
    }

    #[test]
    fn whole_lines_behind_the_prefix() {
        let mut l = Lines::new(&LineFormat::Text("web |".into()), "web", "web", "stdout");
        assert_eq!(run(&mut l, &[b"a\nb", b"c", b"d\ne\n"]), b"web |a\nweb |bcd\nweb |e\n");
        assert_eq!(run(&mut l, &[b"part"]), b"");
        assert!(l.deadline().is_some());
        let mut out = Formatted::default();
        l.flush(&mut out);
        assert_eq!(out.as_slice(), b"web |part\n");
        assert!(l.deadline().is_none());
    }

    #[test]
    fn a_line_past_the_bound_goes_out_in_pieces() {
        let mut l = Lines::new(&LineFormat::Text(String::new()), "x", "x", "stdout");
        let big = vec![b'z'; MAX_LINE * 2 + 10];
        let out = run(&mut l, &[&big, b"\n"]);
        assert_eq!(out.len(), big.len() + 3);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 3);
        assert!(l.held.capacity() <= MAX_LINE);
    }

    #[test]
    fn json_keeps_invalid_utf8_as_surrogates() {
        let mut l = Lines::new(&LineFormat::Json, "a\"b", "g", "stderr");
        let out = run(&mut l, &[b"x\xff\ty\x01\"\\\n"]);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("{\"time\":\"2"), "{s}");
        assert!(
            s.ends_with(
                "\",\"program\":\"a\\\"b\",\"group\":\"g\",\"stream\":\"stderr\",\"message\":\"x\\udcff\\ty\\u0001\\\"\\\\\"}\n"
            ),
            "{s}"
        );
    }

    #[test]
    fn json_escapes_runs_and_single_characters_alike() {
        let mut out = Vec::new();
        json_escape(b"plain", &mut out);
        json_escape(b"\"a\\b\nc\rd\x1fe\x7f\"\"", &mut out);
        json_escape(b"\xc3\xa9t\xc3\xa9\xc3", &mut out);
        assert_eq!(out, b"plain\\\"a\\\\b\\nc\\rd\\u001fe\\u007f\\\"\\\"\xc3\xa9t\xc3\xa9\\udcc3");
    }

    /// The escaping as first written, character by character over `utf8_chunks`.
    fn escape_slowly(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.utf8_chunks() {
            for &b in chunk.valid().as_bytes() {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
                    _ => out.push(b),
                }
            }
            for &b in chunk.invalid() {
                out.extend_from_slice(format!("\\udc{b:02x}").as_bytes());
            }
        }
        out
    }

    #[test]
    fn word_at_a_time_escaping_matches_byte_by_byte() {
        // Bytes around every boundary the word test and the UTF-8 decoder look at.
        let alphabet: Vec<u8> = [0x00, 0x09, 0x0a, 0x1f, 0x20, b'"', b'\\', b'a', 0x7e, 0x7f, 0x80, 0xbf, 0xc0, 0xc1]
            .into_iter()
            .chain([0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x8f, 0x90])
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for round in 0..20_000 {
            let len = round % 40;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Mostly plain letters, so that whole plain words occur too.
                    if seed.is_multiple_of(3) {
                        alphabet[(seed >> 8) as usize % alphabet.len()]
                    } else {
                        b'a' + (seed >> 8) as u8 % 26
                    }
                })
                .collect();
            let mut fast = Vec::new();
            json_escape(&bytes, &mut fast);
            assert_eq!(fast, escape_slowly(&bytes), "{bytes:x?}");
        }
        for text in
            ["h\u{e9}llo w\u{f6}rld \u{1f600} \u{20ac}\u{7ff}\u{800}\u{ffff}\u{10ffff}", "0123456789abcdef\"0123456\\"]
        {
            let mut fast = Vec::new();
            json_escape(text.as_bytes(), &mut fast);
            assert_eq!(fast, escape_slowly(text.as_bytes()));
        }
    }

    #[test]
    fn random_chunks_give_every_line_whole_behind_its_prefix() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..300 {
            // Lines of 0..40 bytes (words and their ends in every position), some with
            // bytes that JSON escapes.
            let mut data = Vec::new();
            let mut lines = Vec::new();
            for _ in 0..(next() % 60) {
                let line: Vec<u8> = (0..next() % 40).map(|_| b" az\"\t\xc3\xa9\xff"[(next() % 8) as usize]).collect();
                data.extend_from_slice(&line);
                data.push(b'\n');
                lines.push(line);
            }
            let partial: Vec<u8> = (0..next() % 12).map(|_| b'p').collect();
            data.extend_from_slice(&partial);
            if !partial.is_empty() {
                lines.push(partial);
            }
            for json in [false, true] {
                // Prefixes up to 16 bytes and longer ones take different copies.
                let prefix =
                    if round % 2 == 0 { format!("p{round} | ") } else { format!("a-longer-prefix-{round} | ") };
                let format = if json { LineFormat::Json } else { LineFormat::Text(prefix.clone()) };
                let mut l = Lines::new(&format, "x", "x", "stdout");
                let mut out = Formatted::default();
                let mut at = 0;
                while at < data.len() {
                    let n = ((next() % 50) as usize).min(data.len() - at);
                    l.feed(&data[at..at + n], Instant::now(), &mut out);
                    at += n;
                }
                l.flush(&mut out);
                let got: Vec<&[u8]> = out.as_slice().split(|&b| b == b'\n').collect();
                assert_eq!(got.len(), lines.len() + 1, "round {round}");
                assert!(got[lines.len()].is_empty());
                for (g, line) in got.iter().zip(&lines) {
                    if json {
                        let mut want = b"\",\"message\":\"".to_vec();
                        want.extend_from_slice(&escape_slowly(line));
                        want.extend_from_slice(b"\"}");
                        assert!(g.starts_with(b"{\"time\":\"") && g.ends_with(&want), "{g:x?} {line:x?}");
                    } else {
                        assert_eq!(*g, [prefix.as_bytes(), line].concat());
                    }
                }
            }
        }
    }

    #[test]
    fn formatted_output_grows_and_is_reused() {
        let mut l = Lines::new(&LineFormat::Text("p ".into()), "x", "x", "stdout");
        let mut out = Formatted::default();
        let long = vec![b'y'; 3 * MAX_LINE];
        l.feed(&long, Instant::now(), &mut out);
        l.feed(b"\nshort\n", Instant::now(), &mut out);
        let text = out.as_slice();
        // Three pieces of the bound, then the newline that ended the third as a line
        // of its own.
        assert_eq!(text.len(), long.len() + 3 * 3 + 3 + 8);
        assert!(text.ends_with(b"y\np \np short\n"));
        out.clear();
        assert!(out.as_slice().is_empty());
        assert!(out.buf.len() <= 4 * MAX_LINE, "a burst of long lines keeps its memory");
        l.feed(b"again\n", Instant::now(), &mut out);
        assert_eq!(out.as_slice(), b"p again\n");
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_709_210_096_789);
        assert_eq!(rfc3339(t), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn memory_tail_reads_like_a_growing_file() {
        let mut m = MemoryTail::default();
        m.push(b"hello ");
        m.push(b"world");
        assert_eq!(m.size(), 11);
        assert_eq!(m.read(6, 100), b"world");
        // Across the ring's end.
        let mut r = MemoryTail::default();
        let fill: Vec<u8> = (0..MEMORY_TAIL - 3).map(|i| (i % 251) as u8).collect();
        r.push(&fill);
        r.push(b"abcdef");
        assert_eq!(r.read(r.size() - 8, 100), [&fill[fill.len() - 2..], b"abcdef"].concat());
        let big = vec![b'q'; MEMORY_TAIL + 5];
        m.push(&big);
        assert_eq!(m.size(), 11 + big.len() as u64);
        assert_eq!(m.read(0, 3), b"qqq");
        assert_eq!(m.read(0, u64::MAX).len(), MEMORY_TAIL);
        m.clear();
        assert_eq!(m.size(), 0);
        assert!(m.read(0, 10).is_empty());
    }
}
