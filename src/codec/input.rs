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
    /// CSV is read line by line too (a quoted field may span lines), so that
    /// line numbers are physical lines, blank ones included.
    Csv {
        lines: Src,
        headers: Option<Vec<String>>,
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
            Some(Reader::Csv { lines, .. }) => lines.buffer().is_empty(),
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
            Format::Csv => Reader::Csv {
                lines: raw,
                headers: None,
            },
        });
        Ok(true)
    }

    /// The next record, or `Ok(None)` after the last input. A line that cannot be
    /// read comes back as `Ok(Some(Err((line, why))))`; `Err` is an I/O failure.
    pub fn next_rec(&mut self) -> io::Result<Option<Result<Rec<'_>, (u64, String)>>> {
        loop {
            if self.reader.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let reader = self.reader.as_mut().expect("reader is open");
            let (lines, csv_headers) = match reader {
                Reader::Lines(r) => (r, None),
                Reader::Csv { lines, headers } => (lines, Some(headers)),
            };
            self.buf.clear();
            let first_line = self.line_no + 1;
            let mut n = read_line(lines, &mut self.buf, &mut self.line_no)?;
            if n == 0 {
                self.reader = None;
                continue;
            }
            if csv_headers.is_some() {
                // A quoted field may hold line breaks: read on while quotes are open.
                while self.buf.iter().filter(|&&b| b == b'"').count() % 2 == 1 && n > 0 {
                    self.buf.push(b'\n');
                    let mut more = Vec::new();
                    n = read_line(lines, &mut more, &mut self.line_no)?;
                    self.buf.extend_from_slice(&more);
                }
            }
            if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            self.text.clear();
            match std::str::from_utf8(&self.buf) {
                Ok(s) => self.text.push_str(s),
                Err(e) => {
                    return Ok(Some(Err((
                        first_line,
                        format!("not valid UTF-8 (byte {})", e.valid_up_to()),
                    ))))
                }
            }
            let Some(headers) = csv_headers else {
                return Ok(Some(Ok(Rec {
                    input: &self.name,
                    line: first_line,
                    raw: &self.text,
                    csv: None,
                })));
            };
            let fields = match split_csv(&self.text) {
                Ok(f) => f,
                Err(e) => return Ok(Some(Err((first_line, format!("invalid CSV: {e}"))))),
            };
            let Some(headers) = headers else {
                *headers = Some(
                    fields
                        .iter()
                        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
                        .collect(),
                );
                continue;
            };
            if fields.len() != headers.len() {
                return Ok(Some(Err((
                    first_line,
                    format!(
                        "CSV row has {} fields, the header has {}",
                        fields.len(),
                        headers.len()
                    ),
                ))));
            }
            let mut map = Map::with_capacity(headers.len());
            for (h, field) in headers.iter().zip(&fields) {
                map.insert(h.clone(), csv_value(field.trim()));
            }
            return Ok(Some(Ok(Rec {
                input: &self.name,
                line: first_line,
                raw: &self.text,
                csv: Some(map),
            })));
        }
    }

    /// The raw text of the last line read (for dead letters of lines that failed early).
    pub fn last_raw(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }
}

/// Reads one line without its `\n` or `\r\n` into `buf`; returns the bytes consumed.
fn read_line(r: &mut Src, buf: &mut Vec<u8>, line_no: &mut u64) -> io::Result<usize> {
    let n = r.read_until(b'\n', buf)?;
    if n > 0 {
        *line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
    Ok(n)
}

/// Splits one CSV record (RFC 4180 quoting) into its fields.
fn split_csv(text: &str) -> Result<Vec<String>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    reader.read_record(&mut record)?;
    Ok(record.iter().map(str::to_string).collect())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// (line, raw text, came from CSV) or (line, why it is bad).
    type Got = Result<(u64, String, bool), (u64, String)>;

    fn read_all(content: &str, name: &str, choice: FormatChoice) -> Vec<Got> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        let mut input = Input::new(&[path.display().to_string()], choice);
        let mut out = Vec::new();
        while let Some(r) = input.next_rec().unwrap() {
            out.push(r.map(|rec| (rec.line, rec.raw.to_string(), rec.csv.is_some())));
        }
        out
    }

    #[test]
    fn jsonl_lines_are_numbered_and_crlf_and_blank_lines_are_handled() {
        let got = read_all(
            "{\"a\":1}\r\n\n  \n{\"a\":2}\n{\"a\":3}",
            "x.jsonl",
            FormatChoice::Auto,
        );
        assert_eq!(
            got,
            vec![
                Ok((1, "{\"a\":1}".into(), false)),
                Ok((4, "{\"a\":2}".into(), false)),
                Ok((5, "{\"a\":3}".into(), false)),
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_a_bad_line_not_a_fatal_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n\xff\xfe\n{\"a\":2}\n").unwrap();
        let mut input = Input::new(&[path.display().to_string()], FormatChoice::Auto);
        assert!(input.next_rec().unwrap().unwrap().is_ok());
        let err = input.next_rec().unwrap().unwrap().err().unwrap();
        assert_eq!(err.0, 2);
        assert!(err.1.contains("UTF-8"));
        assert!(input.next_rec().unwrap().unwrap().is_ok());
        assert!(input.next_rec().unwrap().is_none());
    }

    #[test]
    fn csv_rows_become_typed_objects_with_line_numbers() {
        let got = read_all(
            "a,b,c\n1,true,x\n\n2.5,,\"q,r\"\n3,false\n",
            "x.csv",
            FormatChoice::Auto,
        );
        assert_eq!(got[0], Ok((2, "1,true,x".into(), true)));
        assert_eq!(got[1], Ok((4, "2.5,,\"q,r\"".into(), true)));
        assert_eq!(got[2].as_ref().unwrap_err().0, 5);
        assert!(got[2]
            .as_ref()
            .unwrap_err()
            .1
            .contains("2 fields, the header has 3"));
        assert_eq!(csv_value("12"), Value::from(12));
        assert_eq!(csv_value("-0.5"), Value::from(-0.5));
        assert_eq!(csv_value("TRUE"), Value::Bool(true));
        assert_eq!(csv_value(""), Value::Null);
        assert_eq!(csv_value("MSKU1234565"), Value::from("MSKU1234565"));
        assert_eq!(csv_value("1e"), Value::from("1e"));
    }

    #[test]
    fn content_decides_when_the_name_does_not() {
        let got = read_all(
            "container_id,temperature\nC1,3.5\n",
            "data.txt",
            FormatChoice::Auto,
        );
        assert_eq!(got, vec![Ok((2, "C1,3.5".into(), true))]);
        let got = read_all("{\"x\":1}\n", "data.txt", FormatChoice::Auto);
        assert_eq!(got, vec![Ok((1, "{\"x\":1}".into(), false))]);
    }

    #[test]
    fn json_objects_only() {
        assert!(parse_json_object("[1,2]").unwrap_err().contains("an array"));
        assert!(parse_json_object("{")
            .unwrap_err()
            .starts_with("invalid JSON"));
        assert!(parse_json_object("{\"a\":1}").is_ok());
    }
}
