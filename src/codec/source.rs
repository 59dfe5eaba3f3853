//! The one reader every tool uses: an input (a file or stdin) read in big
//! blocks and handed out as chunks of whole lines with physical line numbers,
//! its format decided once by one rule ([`Format::detect`]).
//!
//! A chunk owns its bytes, so it can cross to a parser thread
//! ([`super::ordered`]) or be walked line by line on the calling thread
//! ([`Chunk::lines`]). Every line keeps its raw bytes, line ending included,
//! for dead letters that can be fixed and fed again byte for byte.

use super::{Format, FormatChoice};
use memmap2::Mmap;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// The size of one read and of a chunk handed out: big enough that a
/// per-chunk cost (a channel send, a thread wake-up) vanishes.
pub const CHUNK: usize = 1 << 20;

/// Regular files at least this big are mapped into memory rather than read:
/// their chunks are slices of the page cache, which saves the kernel's copy
/// into a buffer (0.35 s of CPU per 1.8 GB, a tenth of reefer-window's).
const MAP_AT_LEAST: u64 = 4 << 20;

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
    /// A regular file mapped into memory, and where its next chunk starts.
    /// The map covers the file's length when it was opened; whatever the file
    /// holds beyond (it grew since) is read from there on, as from any file.
    map: Option<(Arc<Mmap>, usize)>,
    /// Whether `fill` numbers the chunks' lines (see [`Source::number_later`]).
    count_lines: bool,
}

impl Source {
    /// Opens `-` (stdin) or a file, and decides its format: from `choice`, from
    /// the name (`.csv`, `.jsonl`), else from its first line.
    pub fn open(path: &str, choice: FormatChoice) -> io::Result<Source> {
        let (name, read): (String, Box<dyn Read + Send>) = if path == "-" {
            grow_pipe(0);
            ("stdin".into(), Box::new(io::stdin()))
        } else {
            let mut f = File::open(path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot open {path}: {e}")))?;
            if let Some(map) = map_file(&f) {
                // Reading goes on where the map ends, should the file grow.
                f.seek(SeekFrom::Start(map.len() as u64))?;
                return Ok(Source::mapped(
                    path.to_string(),
                    f,
                    map,
                    choice.for_path(path),
                ));
            }
            (path.to_string(), Box::new(f))
        };
        Source::from_reader(name, read, choice.for_path(path))
    }

    /// A source whose start is the mapped file `map` (at least one byte).
    fn mapped(name: String, file: File, map: Mmap, format: Option<Format>) -> Source {
        let start = usize::from(map.starts_with(BOM)) * BOM.len();
        let format =
            format.unwrap_or_else(|| Format::detect(&map[start..map.len().min(SNIFF_LIMIT)]));
        Source {
            name,
            read: Box::new(file),
            format,
            carry: Vec::new(),
            eof: false,
            next_line: 1,
            failed: None,
            live_start: false,
            map: Some((Arc::new(map), start)),
            count_lines: true,
        }
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
            map: None,
            count_lines: true,
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

    /// Chunks from now on are numbered from line 1 each, and their `lines`
    /// left at 0: whoever takes them in order counts and numbers them
    /// ([`super::ordered`], whose parser threads count each chunk while it
    /// is in their cache, instead of the reader walking every byte once more:
    /// 8 % of reefer-window's CPU).
    pub(crate) fn number_later(&mut self) {
        self.count_lines = false;
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
        chunk.first_line = if self.count_lines { self.next_line } else { 1 };
        chunk.lines = 0;
        if let Some((map, a, z)) = chunk.mapped.take() {
            release(&map, a, z);
        }
        if self.fill_mapped(chunk) {
            return Ok(true);
        }
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
                self.count(chunk);
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
        self.count(chunk);
        Ok(true)
    }
}

impl Source {
    /// Counts a chunk's lines and moves the next chunk's first line on,
    /// unless that is left to the taker ([`Source::number_later`]).
    fn count(&mut self, chunk: &mut Chunk) {
        if self.count_lines {
            chunk.lines = line_count(chunk.bytes());
            self.next_line += chunk.lines;
        }
    }

    /// The next chunk of a mapped file as a slice of the map: whole lines,
    /// about [`CHUNK`] bytes (a longer line makes it longer). `false` once the
    /// map is used up; its last line, if it has no line ending, then goes to
    /// `carry` for the read path (the file may have grown since the map).
    fn fill_mapped(&mut self, chunk: &mut Chunk) -> bool {
        let Some((map, pos)) = &mut self.map else {
            return false;
        };
        let rest = &map[*pos..];
        let mut end = if rest.len() <= CHUNK {
            rest.len()
        } else {
            match memchr::memrchr(b'\n', &rest[..CHUNK]) {
                Some(nl) => nl + 1,
                None => {
                    memchr::memchr(b'\n', &rest[CHUNK..]).map_or(rest.len(), |nl| CHUNK + nl + 1)
                }
            }
        };
        let mut used_up = end == rest.len();
        if used_up && rest.last() != Some(&b'\n') {
            let whole = memchr::memrchr(b'\n', rest).map_or(0, |nl| nl + 1);
            self.carry.extend_from_slice(&rest[whole..]);
            end = whole;
        }
        let (start, map) = (*pos, Arc::clone(map));
        *pos += end;
        used_up |= *pos == map.len();
        if used_up {
            self.map = None;
        }
        if end == 0 {
            return false;
        }
        chunk.mapped = Some((map, start, start + end));
        self.count(chunk);
        true
    }
}

/// A read-only map of `f` when it is a regular file worth mapping, else `None`
/// (pipes, terminals, small files, or a map refused: those are read).
///
/// A file that only grows is read to its end. A file truncated by another
/// process while it is mapped (logrotate's `copytruncate` under a cron job)
/// makes the next touch of a page past its new end raise SIGBUS: the tool then
/// says so and exits 3, a fatal input error ([`on_sigbus`]). Reading with
/// `read` would instead have taken the cut for the end of the input: exit 0,
/// or 1 when the cut fell inside a line (a bad last line), the rest unread.
fn map_file(f: &File) -> Option<Mmap> {
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() < MAP_AT_LEAST {
        return None;
    }
    if !catch_sigbus() {
        return None;
    }
    // SAFETY: the map is read-only and private to this process; the data
    // changing under it (another writer) gives other bytes, never undefined
    // behaviour in safe code reading them as plain bytes; truncation raises
    // SIGBUS (see above).
    let map = unsafe { Mmap::map(f) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// The message [`on_sigbus`] writes, made before any file is mapped (a
/// signal handler may not allocate).
static SIGBUS_MESSAGE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Installs [`on_sigbus`] once; `false` if it could not be (then files are read).
fn catch_sigbus() -> bool {
    #[cfg(unix)]
    {
        static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *INSTALLED.get_or_init(|| {
            let tool = std::env::args_os()
                .next()
                .and_then(|a| {
                    std::path::Path::new(&a)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                })
                .unwrap_or_else(|| "reefer".into());
            let _ = SIGBUS_MESSAGE.set(
                format!(
                    "{tool}: fatal: an input file was cut short while it was read (SIGBUS on \
                     its mapped pages: truncated by another process?); the output is incomplete\n"
                )
                .into_bytes(),
            );
            // SAFETY: a plain sigaction with a handler that only calls
            // async-signal-safe functions (write, _exit).
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut sa.sa_mask);
                libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) == 0
            }
        })
    }
    #[cfg(not(unix))]
    true
}

/// SIGBUS: a mapped input file shrank under the reader (nothing else in these
/// tools maps memory). Says so on stderr and exits 3, as any failing input does
/// (SPEC §7); the output written so far stays, unflushed buffers are lost.
#[cfg(unix)]
extern "C" fn on_sigbus(_: libc::c_int) {
    if let Some(m) = SIGBUS_MESSAGE.get() {
        // SAFETY: write(2) and _exit(2) are async-signal-safe; `m` was
        // initialised before the handler was installed and is never changed.
        unsafe {
            libc::write(2, m.as_ptr().cast(), m.len());
        }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(3) }
}

/// Lets go of the pages of a mapped chunk that was used (they stay in the page
/// cache): without this, every page read stays in the process's resident set,
/// and peak RSS would grow with the input's length (1.8 GB for a 1.8 GB file)
/// instead of staying at the chunks in flight.
fn release(map: &Mmap, a: usize, z: usize) {
    #[cfg(unix)]
    // SAFETY: the map is read-only, so it holds no changes to discard: a page
    // let go is read back from the file if it is touched again (a neighbouring
    // chunk sharing the page).
    unsafe {
        let _ = map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, a, z - a);
    }
    #[cfg(not(unix))]
    let _ = (map, a, z);
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
pub(crate) fn line_count(b: &[u8]) -> u64 {
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
    /// The chunk is this range of a mapped file instead of `buf`.
    mapped: Option<(Arc<Mmap>, usize, usize)>,
    /// Physical line number of the first line in the chunk (1-based).
    pub first_line: u64,
    /// Physical lines in the chunk, blank ones included.
    pub lines: u64,
    /// The input had nothing more at the moment this chunk was cut: flush output.
    pub idle: bool,
    /// Physical lines counted by a [`Lines`] walk that reached the chunk's
    /// end, so that the parser that walked it need not count them again.
    walked: Cell<Option<u64>>,
}

impl Chunk {
    /// The chunk's bytes: whole lines with their endings (the input's last
    /// line may lack one).
    pub fn bytes(&self) -> &[u8] {
        match &self.mapped {
            Some((map, a, z)) => &map[*a..*z],
            None => &self.buf[..self.len],
        }
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
            chunk: Some(self),
        }
    }

    /// Runs `parse` on the chunk, then gives its physical lines: what a walk
    /// of its lines to the end counted (the parser's own walk, while the
    /// chunk was in its cache), else counted now.
    pub(crate) fn count_lines_after(&self, parse: impl FnOnce(&Chunk)) -> u64 {
        self.walked.set(None);
        parse(self);
        self.walked
            .take()
            .unwrap_or_else(|| line_count(self.bytes()))
    }

    /// An empty chunk holding `bytes` as lines starting at `first_line` (tests, CSV rows).
    pub fn from_bytes(bytes: &[u8], first_line: u64) -> Chunk {
        Chunk {
            buf: bytes.to_vec(),
            len: bytes.len(),
            first_line,
            lines: line_count(bytes),
            idle: false,
            mapped: None,
            walked: Cell::new(None),
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
    /// The chunk walked, told its line count when the walk reaches its end.
    chunk: Option<&'a Chunk>,
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
                if let Some(c) = self.chunk.take() {
                    c.walked.set(Some(self.next - c.first_line));
                }
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

    /// A file big enough to be mapped, with what the mapped path must get
    /// right: a BOM, CRLF and blank lines, a line longer than a chunk, and
    /// no line ending at the end.
    fn big_input() -> Vec<u8> {
        let mut input = b"\xEF\xBB\xBF".to_vec();
        let mut i = 0;
        while input.len() < MAP_AT_LEAST as usize + CHUNK {
            let end: &[u8] = if i % 7 == 0 { b"\r\n" } else { b"\n" };
            input.extend_from_slice(
                format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 300)).as_bytes(),
            );
            input.extend_from_slice(end);
            if i % 1000 == 0 {
                input.extend_from_slice(b"  \n");
            }
            if i == 20_000 {
                input.extend_from_slice(&vec![b'y'; CHUNK * 2 + 5]);
                input.push(b'\n');
            }
            i += 1;
        }
        input.extend_from_slice(b"{\"last\":true}");
        input
    }

    /// `bytes` in a file `name` of a new temporary folder (kept while the
    /// returned guard lives), and the file's path.
    fn on_disk(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        (dir, path.to_str().unwrap().to_string())
    }

    #[test]
    fn a_mapped_file_gives_the_same_lines_as_a_read_one() {
        let input = big_input();
        let (_dir, path) = on_disk("big.jsonl", &input);
        let f = File::open(&path).unwrap();
        assert!(map_file(&f).is_some(), "the test file must be mapped");
        let mapped = Source::open(&path, FormatChoice::Auto).unwrap();
        assert!(mapped.map.is_some());
        assert_eq!(mapped.format(), Format::Jsonl);
        let got = all_lines(mapped);
        let want = all_lines(source(&input));
        assert!(want.len() > 20_000);
        assert_eq!(got.len(), want.len());
        assert!(got == want, "the mapped lines differ from the read ones");
        assert_eq!(got.last().unwrap().1, b"{\"last\":true}".to_vec());
    }

    #[test]
    fn a_mapped_file_that_grows_is_read_to_its_new_end() {
        use std::io::Write;
        let input = big_input();
        let (_dir, path) = on_disk("big.jsonl", &input);
        let s = Source::open(&path, FormatChoice::Auto).unwrap();
        // The last line was cut at the map's end: it goes on in the new bytes.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b",\"more\":1}\n{\"after\":1}\n").unwrap();
        let got = all_lines(s);
        let n = got.len();
        assert_eq!(got[n - 2].1, b"{\"last\":true},\"more\":1}".to_vec());
        assert_eq!(got[n - 1].1, b"{\"after\":1}".to_vec());
        assert_eq!(got[n - 1].0, got[n - 2].0 + 1);
    }

    #[test]
    fn a_mapped_csv_file_is_csv() {
        let mut input = b"container_id,temperature\n".to_vec();
        while input.len() < MAP_AT_LEAST as usize + 10 {
            input.extend_from_slice(b"C1,3.5\n");
        }
        let (_dir, path) = on_disk("big.txt", &input);
        let s = Source::open(&path, FormatChoice::Auto).unwrap();
        assert!(s.map.is_some());
        assert_eq!(s.format(), Format::Csv);
        let lines = input.iter().filter(|&&c| c == b'\n').count();
        assert_eq!(all_lines(s).len(), lines);
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
