use super::source::{trim_ending, Chunk, Source};
use super::{Format, FormatChoice};
use serde_json::{Map, Value};
use std::fs::File;
use std::io;

/// One input record: where it came from, its raw text, and for CSV the row as a JSON object.
pub struct Rec<'a> {
    /// The input's name for messages: a path, or `stdin`.
    pub input: &'a str,
    /// 1-based line number in that input (for CSV, the line the row starts on).
    pub line: u64,
    /// The line without its line ending (a CSV row may span lines).
    pub text: &'a str,
    /// The raw bytes, line ending included: what a dead letter keeps.
    pub raw: &'a [u8],
    /// For CSV input, the row with typed values; `None` for JSON Lines.
    pub csv: Option<Map<String, Value>>,
}

impl Rec<'_> {
    /// The record as a JSON object, or what is wrong with it.
    pub fn to_map(&self) -> Result<Map<String, Value>, String> {
        match &self.csv {
            Some(map) => Ok(map.clone()),
            None => parse_json_object(self.text),
        }
    }

    /// Like [`Rec::to_map`], consuming the CSV row instead of cloning it.
    pub fn into_map(self) -> Result<Map<String, Value>, String> {
        match self.csv {
            Some(map) => Ok(map),
            None => parse_json_object(self.text),
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

/// Reads records from files or stdin, one after the other, in JSON Lines or
/// CSV, through the one block reader ([`Source`]).
///
/// Blank lines are skipped without complaint. A line that cannot be read (not
/// UTF-8, a ragged CSV row) comes back as a [`Bad`] with its line number and
/// raw bytes so that the tool can reject it.
pub struct Input {
    paths: Vec<String>,
    next_path: usize,
    choice: FormatChoice,
    source: Option<Source>,
    chunk: Chunk,
    /// Byte offset and line number of the next line in `chunk`.
    pos: (usize, u64),
    /// CSV: the header, once read.
    headers: Option<Vec<String>>,
    /// The current record's raw bytes (CSV rows may span lines and chunks).
    raw: Vec<u8>,
    text: String,
}

/// A line that cannot be read.
#[derive(Debug)]
pub struct Bad<'a> {
    pub input: &'a str,
    pub line: u64,
    /// The line's raw bytes, ending included.
    pub raw: &'a [u8],
    pub why: String,
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
            source: None,
            chunk: Chunk::default(),
            pos: (0, 1),
            headers: None,
            raw: Vec::with_capacity(1024),
            text: String::with_capacity(1024),
        }
    }

    /// Records from any reader (a decoded object, a test buffer, a fuzzer's
    /// bytes); `choice` `Auto` detects the format from the first line.
    pub fn from_reader(
        name: &str,
        read: Box<dyn io::Read + Send>,
        choice: FormatChoice,
    ) -> io::Result<Self> {
        Ok(Input::from_source(Source::from_reader(
            name,
            read,
            choice.for_path(name),
        )?))
    }

    /// Records of a source already opened (its format decided), e.g. stdin
    /// found to be CSV by a tool that reads JSON Lines its own way.
    pub fn from_source(source: Source) -> Self {
        let mut input = Input::new(&[source.name().to_string()], FormatChoice::Auto);
        input.next_path = 1;
        input.source = Some(source);
        input
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

    /// The inputs, as given (`-` for stdin).
    pub fn paths(&self) -> &[String] {
        &self.paths
    }

    /// The name of the input being read (`stdin` or a path).
    pub fn name(&self) -> &str {
        self.source.as_ref().map_or("", Source::name)
    }

    /// The format of the input being read.
    pub fn format(&self) -> Option<Format> {
        self.source.as_ref().map(Source::format)
    }

    /// True when the next read would have to wait for the operating system:
    /// the moment to flush output in a live pipe.
    pub fn would_block(&self) -> bool {
        self.pos.0 >= self.chunk.bytes().len() && (self.source.is_none() || self.chunk.idle)
    }

    fn open_next(&mut self) -> io::Result<bool> {
        let Some(path) = self.paths.get(self.next_path).cloned() else {
            return Ok(false);
        };
        self.next_path += 1;
        self.source = Some(Source::open(&path, self.choice)?);
        self.headers = None;
        self.chunk = Chunk::default();
        self.pos = (0, 1);
        Ok(true)
    }

    /// The next non-blank line of the current input into `self.raw`, or
    /// `None` at its end.
    fn next_line(&mut self) -> io::Result<Option<u64>> {
        loop {
            let mut lines = self.chunk.lines_from(self.pos.0, self.pos.1);
            if let Some(line) = lines.next() {
                self.pos = lines.position();
                self.raw.clear();
                self.raw.extend_from_slice(line.raw);
                return Ok(Some(line.no));
            }
            let Some(source) = self.source.as_mut() else {
                return Ok(None);
            };
            if !source.fill(&mut self.chunk)? {
                return Ok(None);
            }
            self.pos = (0, self.chunk.first_line);
        }
    }

    /// Appends the next physical line (blank or not) to `self.raw`; false at the end.
    fn continue_line(&mut self) -> io::Result<bool> {
        loop {
            let bytes = &self.chunk.bytes()[self.pos.0..];
            if !bytes.is_empty() {
                let n = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
                self.raw.extend_from_slice(&bytes[..n]);
                self.pos = (self.pos.0 + n, self.pos.1 + 1);
                return Ok(true);
            }
            let Some(source) = self.source.as_mut() else {
                return Ok(false);
            };
            if !source.fill(&mut self.chunk)? {
                // `fill` emptied the chunk: the next read starts at its (empty) start.
                self.pos = (0, self.pos.1);
                return Ok(false);
            }
            self.pos = (0, self.chunk.first_line);
        }
    }

    /// The next record, or `Ok(None)` after the last input. A line that cannot be
    /// read comes back as `Ok(Some(Err(bad)))`; `Err` is an I/O failure.
    pub fn next_rec(&mut self) -> io::Result<Option<Result<Rec<'_>, Bad<'_>>>> {
        let (line, got) = loop {
            if self.source.is_none() && !self.open_next()? {
                return Ok(None);
            }
            let Some(line) = self.next_line()? else {
                self.source = None;
                continue;
            };
            match self.decode()? {
                Decoded::Header => continue,
                got => break (line, got),
            }
        };
        let input = self.source.as_ref().map_or("", Source::name);
        Ok(Some(match got {
            Decoded::Record(csv) => Ok(Rec {
                input,
                line,
                text: &self.text,
                raw: &self.raw,
                csv,
            }),
            Decoded::Bad(why) => Err(Bad {
                input,
                line,
                raw: &self.raw,
                why,
            }),
            Decoded::Header => unreachable!("headers are skipped above"),
        }))
    }

    /// Decodes the line in `self.raw` (reading on through a CSV row's quoted
    /// line breaks) into `self.text` and, for CSV, a typed row.
    fn decode(&mut self) -> io::Result<Decoded> {
        let csv = self.format() == Some(Format::Csv);
        if csv {
            while memchr::memchr_iter(b'"', &self.raw).count() % 2 == 1 {
                if !self.continue_line()? {
                    break;
                }
            }
        }
        self.text.clear();
        match std::str::from_utf8(trim_ending(&self.raw)) {
            Ok(s) => self.text.push_str(s),
            Err(e) => {
                return Ok(Decoded::Bad(format!(
                    "not valid UTF-8 (byte {})",
                    e.valid_up_to()
                )))
            }
        }
        if !csv {
            return Ok(Decoded::Record(None));
        }
        let fields = match split_csv(&self.text) {
            Ok(f) => f,
            Err(e) => return Ok(Decoded::Bad(format!("invalid CSV: {e}"))),
        };
        let Some(headers) = &self.headers else {
            self.headers = Some(fields.iter().map(|h| h.trim().to_string()).collect());
            return Ok(Decoded::Header);
        };
        if fields.len() != headers.len() {
            return Ok(Decoded::Bad(format!(
                "CSV row has {} fields, the header has {}",
                fields.len(),
                headers.len()
            )));
        }
        let mut map = Map::with_capacity(headers.len());
        for (h, field) in headers.iter().zip(&fields) {
            map.insert(h.clone(), csv_value(field.trim()));
        }
        Ok(Decoded::Record(Some(map)))
    }
}

enum Decoded {
    Header,
    Record(Option<Map<String, Value>>),
    Bad(String),
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
            out.push(
                r.map(|rec| (rec.line, rec.text.to_string(), rec.csv.is_some()))
                    .map_err(|bad| (bad.line, bad.why)),
            );
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
        assert_eq!(err.line, 2);
        assert_eq!(err.raw, b"\xff\xfe\n");
        assert!(err.why.contains("UTF-8"));
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
    fn a_quote_left_open_at_the_end_of_a_csv_input_ends_the_input_without_a_panic() {
        // Found by the `reader` fuzz target: the row's continuation reached the
        // end of input and the next read indexed past the emptied chunk.
        let data = b"container_id,temperature\nC1,\"3.5\n".to_vec();
        let mut input =
            Input::from_reader("x", Box::new(std::io::Cursor::new(data)), FormatChoice::Csv)
                .unwrap();
        let line = match input.next_rec().unwrap().unwrap() {
            Ok(rec) => rec.line,
            Err(bad) => bad.line,
        };
        assert_eq!(line, 2);
        assert!(input.next_rec().unwrap().is_none());
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
