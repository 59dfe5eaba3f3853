//! Input for reefer-detect: JSON Lines are read in large blocks and handed
//! out as borrowed lines (no copy, no per-line allocation), which is what
//! lets the detector keep up with a plain typed parse; CSV goes through the
//! shared [`crate::codec::Input`].

use crate::codec::{Format, FormatChoice, Input};
use std::fs::File;
use std::io::{self, BufRead, Read};

const BLOCK: usize = 1 << 20;

/// One item of input.
pub enum Item<'a> {
    /// A JSON Lines line (without its line ending).
    Line {
        input: &'a str,
        line: u64,
        text: &'a str,
    },
    /// A CSV row, as a JSON object, with its text.
    Csv {
        input: &'a str,
        line: u64,
        map: serde_json::Map<String, serde_json::Value>,
        raw: String,
    },
    /// A line that cannot be read at all.
    Bad {
        input: &'a str,
        line: u64,
        msg: String,
        raw: String,
    },
    /// The first item of a new input file follows (for `--evaluate`).
    NextInput,
}

struct LineReader {
    name: String,
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line_no: u64,
}

impl LineReader {
    fn new(name: String, src: Box<dyn Read + Send>) -> Self {
        LineReader {
            name,
            src,
            buf: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            line_no: 0,
        }
    }

    /// The next line's byte range in `buf`, or `None` at the end.
    fn next_range(&mut self) -> io::Result<Option<(usize, usize)>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let s = self.start;
                self.start += i + 1;
                return Ok(Some((s, s + i)));
            }
            if self.eof {
                if self.start < self.end {
                    let r = (self.start, self.end);
                    self.start = self.end;
                    return Ok(Some(r));
                }
                return Ok(None);
            }
            // Move the partial line to the front and read more.
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                let n = self.buf.len() * 2;
                self.buf.resize(n, 0);
            }
            let n = loop {
                match self.src.read(&mut self.buf[self.end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
    }
}

enum Current {
    None,
    Lines(Box<LineReader>),
    Csv(Box<Input>),
}

/// Files (or stdin) in order, each JSON Lines or CSV.
pub struct Source {
    paths: Vec<String>,
    next: usize,
    choice: FormatChoice,
    cur: Current,
    started: bool,
    csv_name: String,
    /// Set when the current input is CSV (for `--where`, which writes the header).
    pub csv_input: bool,
}

impl Source {
    pub fn new(paths: &[String], choice: FormatChoice) -> Source {
        let paths = if paths.is_empty() {
            vec!["-".to_string()]
        } else {
            paths.to_vec()
        };
        Source {
            paths,
            next: 0,
            choice,
            cur: Current::None,
            started: false,
            csv_name: String::new(),
            csv_input: false,
        }
    }

    fn open_next(&mut self) -> io::Result<bool> {
        let Some(path) = self.paths.get(self.next).cloned() else {
            return Ok(false);
        };
        self.next += 1;
        let format = match self.choice.for_path(&path) {
            Some(f) => f,
            None => sniff(&path)?,
        };
        self.csv_input = format == Format::Csv;
        self.cur = match format {
            Format::Csv => {
                self.csv_name = if path == "-" {
                    "stdin".into()
                } else {
                    path.clone()
                };
                Current::Csv(Box::new(Input::new(
                    std::slice::from_ref(&path),
                    FormatChoice::Csv,
                )))
            }
            Format::Jsonl => {
                let (name, src): (String, Box<dyn Read + Send>) = if path == "-" {
                    ("stdin".into(), Box::new(io::stdin()))
                } else {
                    let f = File::open(&path).map_err(|e| {
                        io::Error::new(e.kind(), format!("cannot open {path}: {e}"))
                    })?;
                    (path.clone(), Box::new(f))
                };
                Current::Lines(Box::new(LineReader::new(name, src)))
            }
        };
        Ok(true)
    }

    /// The next item, or `None` after the last input.
    pub fn next_item(&mut self) -> io::Result<Option<Item<'_>>> {
        loop {
            match &mut self.cur {
                Current::None => {
                    if !self.open_next()? {
                        return Ok(None);
                    }
                    if self.started {
                        return Ok(Some(Item::NextInput));
                    }
                    self.started = true;
                }
                Current::Lines(r) => {
                    let Some((s, mut e)) = r.next_range()? else {
                        self.cur = Current::None;
                        continue;
                    };
                    r.line_no += 1;
                    if e > s && r.buf[e - 1] == b'\r' {
                        e -= 1;
                    }
                    let bytes = &r.buf[s..e];
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let line = r.line_no;
                    // Re-borrow immutably for the returned slices.
                    let Current::Lines(r) = &self.cur else {
                        unreachable!()
                    };
                    let bytes = &r.buf[s..e];
                    return Ok(Some(match std::str::from_utf8(bytes) {
                        Ok(text) => Item::Line {
                            input: &r.name,
                            line,
                            text,
                        },
                        Err(err) => Item::Bad {
                            input: &r.name,
                            line,
                            msg: format!("not valid UTF-8 (byte {})", err.valid_up_to()),
                            raw: String::from_utf8_lossy(bytes).into_owned(),
                        },
                    }));
                }
                Current::Csv(input) => {
                    let got = match input.next_rec()? {
                        None => None,
                        Some(Ok(rec)) => Some(Ok((
                            rec.line,
                            String::from_utf8_lossy(rec.raw).into_owned(),
                            rec.csv.unwrap_or_default(),
                        ))),
                        Some(Err(bad)) => Some(Err((
                            bad.line,
                            bad.why,
                            String::from_utf8_lossy(bad.raw).into_owned(),
                        ))),
                    };
                    match got {
                        None => {
                            self.cur = Current::None;
                            continue;
                        }
                        Some(Ok((line, raw, map))) => {
                            return Ok(Some(Item::Csv {
                                input: &self.csv_name,
                                line,
                                map,
                                raw,
                            }))
                        }
                        Some(Err((line, msg, raw))) => {
                            return Ok(Some(Item::Bad {
                                input: &self.csv_name,
                                line,
                                msg,
                                raw,
                            }))
                        }
                    }
                }
            }
        }
    }

    /// True when the next read would wait for the operating system (flush live output).
    pub fn would_block(&mut self) -> bool {
        match &mut self.cur {
            Current::Lines(r) => r.start >= r.end && !r.eof,
            Current::Csv(i) => i.would_block(),
            Current::None => true,
        }
    }
}

/// JSON Lines or CSV, from the first non-blank byte.
fn sniff(path: &str) -> io::Result<Format> {
    let first = if path == "-" {
        let stdin = io::stdin();
        let mut lock = stdin.lock();
        let buf = lock.fill_buf()?;
        buf.iter().find(|b| !b.is_ascii_whitespace()).copied()
    } else {
        let mut f = File::open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open {path}: {e}")))?;
        let mut buf = [0u8; 4096];
        let n = f.read(&mut buf)?;
        buf[..n].iter().find(|b| !b.is_ascii_whitespace()).copied()
    };
    Ok(match first {
        Some(b'{') | None => Format::Jsonl,
        Some(_) => Format::Csv,
    })
}
