//! The one reader every tool uses: an input (a file or stdin) read in big
//! blocks and handed out as chunks of whole lines with physical line numbers,
//! its format decided once by one rule ([`Format::detect`]).
//!
//! A chunk owns its bytes, so it can cross to a parser thread
//! ([`super::ordered`]) or be walked line by line on the calling thread
//! ([`Chunk::lines`]). Every line keeps its raw bytes, line ending included,
//! for dead letters that can be fixed and fed again byte for byte.

use super::{Format, FormatChoice};
use std::fs::File;
use std::io::{self, Read};

/// The size of one read and of a chunk handed out: big enough that a
/// per-chunk cost (a channel send, a thread wake-up) vanishes.
pub const CHUNK: usize = 1 << 20;

/// How much of the input's start is looked at to decide its format.
const SNIFF_LIMIT: usize = 64 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One input, read in blocks.
pub struct Source {
    name: String,
    read: Box<dyn Read + Send>,
    format: Format,
    /// Bytes read but not handed out yet (the start of an incomplete line).
    carry: Vec<u8>,
    eof: bool,
    /// Physical line number of the next chunk's first line.
    next_line: u64,
    /// A read failed after some whole lines: those go out first, then this.
    failed: Option<io::Error>,
    /// The format peek stopped at a short read (a live pipe): its whole
    /// lines go out at once instead of waiting for more input.
    live_start: bool,
}

impl Source {
    /// Opens `-` (stdin) or a file, and decides its format: from `choice`, from
    /// the name (`.csv`, `.jsonl`), else from its first line.
    pub fn open(path: &str, choice: FormatChoice) -> io::Result<Source> {
        let (name, read): (String, Box<dyn Read + Send>) = if path == "-" {
            grow_pipe(0);
            ("stdin".into(), Box::new(io::stdin()))
        } else {
            let f = File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot open {path}: {e}")))?;
            (path.to_string(), Box::new(f))
        };
        Source::from_reader(name, read, choice.for_path(path))
    }

    /// An input from any reader (a decoded lake object, a test buffer);
    /// `format` `None` means detect it from the first line.
    pub fn from_reader(
        name: impl Into<String>,
        read: Box<dyn Read + Send>,
        format: Option<Format>,
    ) -> io::Result<Source> {
        let mut s = Source {
            name: name.into(),
            read,
            format: format.unwrap_or(Format::Jsonl),
            carry: Vec::with_capacity(64 * 1024),
            eof: false,
            next_line: 1,
            failed: None,
            live_start: false,
        };
        s.peek_first_line()?;
        if s.carry.starts_with(BOM) {
            s.carry.drain(..BOM.len());
        }
        if format.is_none() {
            s.format = Format::detect(&s.carry);
        }
        Ok(s)
    }

    /// Reads until the first line is complete (or `SNIFF_LIMIT`, or the end).
    fn peek_first_line(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        while !self.eof
            && self.carry.len() < SNIFF_LIMIT
            && memchr::memchr(b'\n', &self.carry).is_none()
        {
            let n = read_some(&mut self.read, &mut buf)?;
            if n == 0 {
                self.eof = true;
            }
            self.carry.extend_from_slice(&buf[..n]);
            if n < buf.len() && !self.carry.is_empty() {
                // A live pipe: decide on what is there rather than wait.
                if memchr::memchr(b'\n', &self.carry).is_some() {
                    self.live_start = true;
                    break;
                }
            }
        }
        Ok(())
    }

    /// The input's name for messages: a path, or `stdin`.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Fills `chunk` with the next whole lines; `false` at the end of input.
    ///
    /// A chunk is handed out when it is full, or as soon as a read comes back
    /// short (a live pipe has nothing more for now: `chunk.idle` tells the
    /// tool to flush its output). A line longer than a chunk grows the chunk.
    pub fn fill(&mut self, chunk: &mut Chunk) -> io::Result<bool> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        chunk.len = 0;
        chunk.idle = false;
        chunk.first_line = self.next_line;
        chunk.lines = 0;
        if chunk.buf.len() < CHUNK.max(self.carry.len() * 2) {
            chunk.buf.resize(CHUNK.max(self.carry.len() * 2), 0);
        }
        chunk.buf[..self.carry.len()].copy_from_slice(&self.carry);
        chunk.len = self.carry.len();
        self.carry.clear();
        if std::mem::take(&mut self.live_start) {
            // The first lines of a live pipe: waiting for a full chunk (or
            // another short read) could keep them back indefinitely.
            if let Some(nl) = memchr::memrchr(b'\n', chunk.bytes()) {
                self.carry.extend_from_slice(&chunk.buf[nl + 1..chunk.len]);
                chunk.len = nl + 1;
                chunk.idle = true;
                chunk.lines = line_count(chunk.bytes());
                self.next_line += chunk.lines;
                return Ok(true);
            }
        }
        let mut searched = 0;
        loop {
            if self.eof {
                if chunk.len == 0 {
                    return Ok(false);
                }
                chunk.idle = true;
                break;
            }
            if chunk.len == chunk.buf.len() {
                let grown = chunk.buf.len() * 2;
                chunk.buf.resize(grown, 0);
            }
            let want = chunk.buf.len() - chunk.len;
            let n = match read_some(&mut self.read, &mut chunk.buf[chunk.len..]) {
                Ok(n) => n,
                Err(e) => match memchr::memrchr(b'\n', &chunk.buf[..chunk.len]) {
                    // Hand out the whole lines read so far; the error comes next.
                    Some(nl) => {
                        self.failed = Some(e);
                        self.eof = true;
                        chunk.len = nl + 1;
                        break;
                    }
                    None => return Err(e),
                },
            };
            if n == 0 {
                self.eof = true;
                continue;
            }
            chunk.len += n;
            let full = chunk.len == chunk.buf.len();
            if n < want || full {
                // Hand over whole lines; keep the incomplete one for next time.
                if let Some(nl) = memchr::memrchr(b'\n', &chunk.buf[searched..chunk.len]) {
                    let end = searched + nl + 1;
                    self.carry.extend_from_slice(&chunk.buf[end..chunk.len]);
                    chunk.len = end;
                    chunk.idle = n < want;
                    break;
                }
                searched = chunk.len;
            }
        }
        chunk.lines = line_count(chunk.bytes());
        self.next_line += chunk.lines;
        Ok(true)
    }
}

/// The pipe size asked for where a tool reads or writes a pipe: a 64 KiB
/// pipe costs a context switch per 64 KiB (1.5 s per 1.8 GB measured).
const PIPE_SIZE: i32 = 1 << 20;

/// Raises the buffer of file descriptor `fd` to [`PIPE_SIZE`] if it is a pipe
/// with a smaller one (Linux `F_SETPIPE_SZ`). Best effort: on anything else,
/// or over the system's `pipe-max-size`, nothing changes.
pub(crate) fn grow_pipe(fd: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl on a descriptor number only queries or resizes its pipe
    // buffer; a descriptor that is not a pipe (or not open) gives an error,
    // which is ignored.
    unsafe {
        let now = libc::fcntl(fd, libc::F_GETPIPE_SZ);
        if now > 0 && now < PIPE_SIZE {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_SIZE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
}

/// Physical lines in a block: its line feeds, plus a last line without one.
fn line_count(b: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', b).count() as u64;
    n + u64::from(!b.is_empty() && b[b.len() - 1] != b'\n')
}

fn read_some(r: &mut Box<dyn Read + Send>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Whole lines of one input, owned, reusable.
#[derive(Debug, Default)]
pub struct Chunk {
    buf: Vec<u8>,
    len: usize,
    /// Physical line number of the first line in the chunk (1-based).
    pub first_line: u64,
    /// Physical lines in the chunk, blank ones included.
    pub lines: u64,
    /// The input had nothing more at the moment this chunk was cut: flush output.
    pub idle: bool,
}

impl Chunk {
    /// The chunk's bytes: whole lines with their endings (the input's last
    /// line may lack one).
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The non-blank lines, numbered.
    pub fn lines(&self) -> Lines<'_> {
        self.lines_from(0, self.first_line)
    }

    /// The non-blank lines from byte `offset`, whose line number is `no`
    /// (to resume where [`Lines::position`] left off).
    pub fn lines_from(&self, offset: usize, no: u64) -> Lines<'_> {
        Lines {
            rest: &self.bytes()[offset..],
            offset,
            next: no,
        }
    }

    /// An empty chunk holding `bytes` as lines starting at `first_line` (tests, CSV rows).
    pub fn from_bytes(bytes: &[u8], first_line: u64) -> Chunk {
        Chunk {
            buf: bytes.to_vec(),
            len: bytes.len(),
            first_line,
            lines: line_count(bytes),
            idle: false,
        }
    }
}

/// One physical line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based physical line number in its input.
    pub no: u64,
    /// The line without its `\n` or `\r\n`.
    pub text: &'a [u8],
    /// The line as read, ending included: what a dead letter keeps.
    pub raw: &'a [u8],
    /// Byte offset of the line in its chunk.
    pub offset: usize,
}

/// The lines of a chunk; blank (whitespace-only) lines are counted, not returned.
pub struct Lines<'a> {
    rest: &'a [u8],
    offset: usize,
    next: u64,
}

impl Lines<'_> {
    /// Where the next line starts: byte offset in the chunk and line number.
    pub fn position(&self) -> (usize, u64) {
        (self.offset, self.next)
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    #[inline]
    fn next(&mut self) -> Option<Line<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (raw, rest) = match memchr::memchr(b'\n', self.rest) {
                Some(i) => self.rest.split_at(i + 1),
                None => (self.rest, &self.rest[self.rest.len()..]),
            };
            self.rest = rest;
            let offset = self.offset;
            self.offset += raw.len();
            let no = self.next;
            self.next += 1;
            let text = trim_ending(raw);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Line {
                no,
                text,
                raw,
                offset,
            });
        }
    }
}

/// A line without its `\n` or `\r\n`.
#[inline]
pub fn trim_ending(raw: &[u8]) -> &[u8] {
    let t = raw.strip_suffix(b"\n").unwrap_or(raw);
    t.strip_suffix(b"\r").unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(bytes: &[u8]) -> Source {
        Source::from_reader("t", Box::new(io::Cursor::new(bytes.to_vec())), None).unwrap()
    }

    fn all_lines(mut s: Source) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
        let mut chunk = Chunk::default();
        let mut out = Vec::new();
        while s.fill(&mut chunk).unwrap() {
            for l in chunk.lines() {
                out.push((l.no, l.text.to_vec(), l.raw.to_vec()));
            }
        }
        out
    }

    #[test]
    fn lines_keep_their_raw_endings_and_physical_numbers() {
        let got = all_lines(source(b"{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}"));
        assert_eq!(
            got,
            vec![
                (1, b"{\"a\":1}".to_vec(), b"{\"a\":1}\r\n".to_vec()),
                (4, b"{\"a\":2}".to_vec(), b"{\"a\":2}\n".to_vec()),
                (5, b"{\"a\":3}".to_vec(), b"{\"a\":3}".to_vec()),
            ]
        );
    }

    #[test]
    fn a_bom_is_skipped_and_the_input_stays_json_lines() {
        let s = source(b"\xEF\xBB\xBF{\"a\":1}\n");
        assert_eq!(s.format(), Format::Jsonl);
        assert_eq!(all_lines(s)[0].1, b"{\"a\":1}".to_vec());
    }

    #[test]
    fn a_bad_first_line_is_a_json_line_not_a_csv_header() {
        for first in [
            &b"garbage"[..],
            b"[1]",
            b"{\"container_id\":\"MSKU",
            b"1,2,3",
        ] {
            let mut input = first.to_vec();
            input.extend_from_slice(b"\n{\"a\":1}\n");
            let s = source(&input);
            assert_eq!(
                s.format(),
                Format::Jsonl,
                "{:?}",
                String::from_utf8_lossy(first)
            );
            assert_eq!(all_lines(s).len(), 2);
        }
    }

    #[test]
    fn a_csv_header_naming_a_known_field_is_csv() {
        assert_eq!(
            source(b"container_id,temperature\nC1,3\n").format(),
            Format::Csv
        );
        assert_eq!(
            source(b"\xEF\xBB\xBF\"window_start\",x\n").format(),
            Format::Csv
        );
        assert_eq!(source(b"").format(), Format::Jsonl);
    }

    #[test]
    fn chunks_cut_at_line_ends_and_lines_longer_than_a_chunk_grow_it() {
        let mut input = Vec::new();
        let long = vec![b'x'; CHUNK * 2 + 17];
        for i in 0..5000 {
            input.extend_from_slice(format!("{{\"i\":{i}}}\n").as_bytes());
        }
        input.extend_from_slice(&long);
        input.push(b'\n');
        input.extend_from_slice(b"{\"i\":-1}\n");
        let got = all_lines(source(&input));
        assert_eq!(got.len(), 5002);
        assert_eq!(got[4999].0, 5000);
        assert_eq!(got[5000].1.len(), long.len());
        assert_eq!(
            got[5001],
            (5002, b"{\"i\":-1}".to_vec(), b"{\"i\":-1}\n".to_vec())
        );
    }
}
