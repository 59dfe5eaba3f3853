use super::{Format, FormatChoice};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

const READ_BUFFER: usize = 256 * 1024;

type Src = BufReader<Box<dyn Read + Send>>;

/// One input record: where it came from, its raw text, and for CSV the row as a JSON object.
pub struct Rec<'a> {
    /// The input's name for messages: a path, or `stdin`.
    pub input: &'a str,
    /// 1-based line number in that input (for CSV, the line the row starts on).
    pub line: u64,
    /// The line as read, without its line ending (for CSV, the row re-encoded).
    pub raw: &'a str,
    /// For CSV input, the row with typed values; `None` for JSON Lines.
    pub csv: Option<Map<String, Value>>,
}

impl Rec<'_> {
    /// The record as a JSON object, or what is wrong with it.
    pub fn to_map(&self) -> Result<Map<String, Value>, String> {
        match &self.csv {
            Some(map) => Ok(map.clone()),
            None => parse_json_object(self.raw),
        }
    }

    /// Like [`Rec::to_map`], consuming the CSV row instead of cloning it.
    pub fn into_map(self) -> Result<Map<String, Value>, String> {
        match self.csv {
            Some(map) => Ok(map),
            None => parse_json_object(self.raw),
        }
    }
}

/// Parses one JSON Lines line into an object, with a short reason when it is not one.
pub fn parse_json_object(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "expected a JSON object, found {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                Value::Null => "null",
                Value::Object(_) => unreachable!(),
            }
        )),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

enum Reader {
    Lines(Src),
    Csv {
        reader: csv::Reader<Src>,
        headers: Vec<String>,
        row: csv::StringRecord,
    },
}

/// Reads records from files or stdin, one after the other, in JSON Lines or CSV.
///
/// Blank lines are skipped without complaint. A line that is not UTF-8 is
/// returned as an error with its line number so that the tool can reject it.
pub struct Input {
    paths: Vec<String>,
    next_path: usize,
    choice: FormatChoice,
    name: String,
    reader: Option<Reader>,
    line_no: u64,
    buf: Vec<u8>,
    text: String,
    pending_error: Option<String>,
}

impl Input {
    /// Inputs in order; an empty list or `-` means stdin.
    pub fn new(paths: &[String], choice: FormatChoice) -> Self {
        let paths = if paths.is_empty() {
            vec!["-".to_string()]
        } else {
            paths.to_vec()
        };
        Input {
            paths,
            next_path: 0,
            choice,
            name: String::new(),
            reader: None,
            line_no: 0,
            buf: Vec::with_capacity(1024),
            text: String::with_capacity(1024),
            pending_error: None,
        }
    }

    /// Opens every named file up front so that a missing file is a usage error (exit 2)
    /// before anything is read.
    pub fn check_paths(&self) -> Result<(), String> {
        for p in &self.paths {
            if p != "-" {
                File::open(p).map_err(|e| format!("cannot open {p}: {e}"))?;
            }
        }
        Ok(())
    }

    /// The name of the input being read (`stdin` or a path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True when the next read would have to wait for the operating system:
    /// the moment to flush output in a live pipe.
    pub fn would_block(&mut self) -> bool {
        match &mut self.reader {
            Some(Reader::Lines(r)) => r.buffer().is_empty(),
            Some(Reader::Csv { reader, .. }) => reader.get_ref().buffer().is_empty(),
            None => true,
        }
    }

    fn open_next(&mut self) -> io::Result<bool> {
        let Some(path) = self.paths.get(self.next_path).cloned() else {
            return Ok(false);
        };
        self.next_path += 1;
        self.line_no = 0;
        let (name, source): (String, Box<dyn Read + Send>) = if path == "-" {
            ("stdin".into(), Box::new(io::stdin()))
        } else {
            let f = File::open(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("cannot open {path}: {e}")))?;
            (path.clone(), Box::new(f))
        };
        let mut raw = BufReader::with_capacity(READ_BUFFER, source);
        let format = match self.choice.for_path(&path) {
            Some(f) => f,
            None => sniff(&mut raw)?,
        };
        self.name = name;
        self.reader = Some(match format {
            Format::Jsonl => Reader::Lines(raw),
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .trim(csv::Trim::All)
                    .from_reader(raw);
                let headers: Vec<String> = match reader.headers() {
                    Ok(h) => h.iter().map(|s| s.trim_start_matches('\u{feff}').to_string()).collect(),
                    Err(e) => {
                        self.pending_error = Some(format!("cannot read CSV header: {e}"));
                        Vec::new()
                    }
                };
                self.line_no = 1;
                Reader::Csv {
                    reader,
                    headers,
                    row: csv::StringRecord::new(),
                }
            }
        });
        Ok(true)
    }

    /// The next record, or `Ok(None)` at the end of the last input.
    /// `Err(Ok(..))`-style problems with a single line come back as `Ok(Some(Err(line, msg)))`.
    pub fn next_rec(&mut self) -> io::Result<Option<Result<Rec<'_>, (u64, String)>>> {
        loop {
            if self.reader.is_none() && !self.open_next()? {
                return Ok(None);
            }
            if let Some(msg) = self.pending_error.take() {
                return Ok(Some(Err((self.line_no.max(1), msg))));
            }
            match self.reader.as_mut().expect("reader is open") {
                Reader::Lines(r) => {
                    self.buf.clear();
                    let n = r.read_until(b'\n', &mut self.buf)?;
                    if n == 0 {
                        self.reader = None;
                        continue;
                    }
                    self.line_no += 1;
                    let mut end = self.buf.len();
                    if end > 0 && self.buf[end - 1] == b'\n' {
                        end -= 1;
                    }
                    if end > 0 && self.buf[end - 1] == b'\r' {
                        end -= 1;
                    }
                    let bytes = &self.buf[..end];
                    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    self.text.clear();
                    match std::str::from_utf8(bytes) {
                        Ok(s) => self.text.push_str(s),
                        Err(e) => {
                            return Ok(Some(Err((
                                self.line_no,
                                format!("not valid UTF-8 (byte {})", e.valid_up_to()),
                            ))))
                        }
                    }
                    return Ok(Some(Ok(Rec {
                        input: &self.name,
                        line: self.line_no,
                        raw: &self.text,
                        csv: None,
                    })));
                }
                Reader::Csv {
                    reader,
                    headers,
                    row,
                } => {
                    match reader.read_record(row) {
                        Ok(false) => {
                            self.reader = None;
                            continue;
                        }
                        Ok(true) => {}
                        Err(e) => {
                            let line = e
                                .position()
                                .map(|p| p.line())
                                .unwrap_or(self.line_no + 1);
                            self.line_no = line;
                            return Ok(Some(Err((line, format!("invalid CSV: {e}")))));
                        }
                    }
                    let line = row.position().map(|p| p.line()).unwrap_or(self.line_no + 1);
                    self.line_no = line;
                    if row.iter().all(|f| f.is_empty()) {
                        continue;
                    }
                    self.text.clear();
                    for (i, field) in row.iter().enumerate() {
                        if i > 0 {
                            self.text.push(',');
                        }
                        if field.contains([',', '"', '\n']) {
                            self.text.push('"');
                            self.text.push_str(&field.replace('"', "\"\""));
                            self.text.push('"');
                        } else {
                            self.text.push_str(field);
                        }
                    }
                    if row.len() != headers.len() {
                        return Ok(Some(Err((
                            line,
                            format!(
                                "CSV row has {} fields, the header has {}",
                                row.len(),
                                headers.len()
                            ),
                        ))));
                    }
                    let mut map = Map::with_capacity(headers.len());
                    for (h, field) in headers.iter().zip(row.iter()) {
                        map.insert(h.clone(), csv_value(field));
                    }
                    return Ok(Some(Ok(Rec {
                        input: &self.name,
                        line,
                        raw: &self.text,
                        csv: Some(map),
                    })));
                }
            }
        }
    }

    /// The raw text of the last line read (for dead letters of lines that failed early).
    pub fn last_raw(&self) -> String {
        if self.text.is_empty() {
            String::from_utf8_lossy(&self.buf)
                .trim_end_matches(['\n', '\r'])
                .to_string()
        } else {
            self.text.clone()
        }
    }
}

/// Looks at the first non-blank byte to decide between JSON Lines and CSV.
fn sniff(r: &mut Src) -> io::Result<Format> {
    let buf = r.fill_buf()?;
    Ok(match buf.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => Format::Jsonl,
        Some(_) => Format::Csv,
    })
}

/// A CSV field as the JSON value a reader would expect: empty is null,
/// true/false are booleans, numbers are numbers, anything else a string.
pub fn csv_value(field: &str) -> Value {
    if field.is_empty() {
        return Value::Null;
    }
    if field.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if field.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if field.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    let looks_numeric = field
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && field.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        if let Ok(i) = field.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(f) = field.parse::<f64>() {
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(field.to_string())
}
