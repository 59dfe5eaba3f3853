//! The data-lake layout shared by S3 and `file://`: records buffered per event
//! hour, flushed at a size or age threshold (and at the end), gzipped, under
//! `prefix/YYYY/MM/DD/HH/<first-time>-<md5>.jsonl.gz`. The name comes from the
//! content, and buffers are cut by size and by *event* time (a buffer is
//! written once the records *near* it, in its hour or the next, passed its
//! first record by `--buffer-interval`, which in a live stream is Firehose's
//! wall-clock rule; a record far from the rest moves no other buffer's clock,
//! and at most [`OPEN_PARTITIONS`] hours are open, the oldest written first),
//! so shipping the same input twice overwrites the same objects. Only a stream
//! that stops sending for the interval is cut by the wall clock. Reading accepts gzip or plain, with or without
//! newlines between records (Firehose concatenates them).

use super::account::Account;
use super::lake::LakeFormat;
use super::lake_parquet::{self, Columns};
use super::{object_checker, s3::S3Store, EventTime, Item, Msg, Origin, Settings};
use crate::codec::scan::Scanner;
use crate::codec::{Chunk, Format, Source};
use crate::time::TimeParser;
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where objects go.
pub enum Store {
    Lake(PathBuf),
    S3(S3Store),
}

/// `YYYY/MM/DD/HH` of an hour (seconds since the epoch, a multiple of 3600).
pub fn hour_path(hour: i64) -> String {
    let t = Utc.timestamp_opt(hour, 0).single().unwrap_or_default();
    format!(
        "{:04}/{:02}/{:02}/{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour()
    )
}

/// The hour an object holds, from the `YYYY/MM/DD/HH/` right after the prefix.
pub fn hour_of_key(rel: &str) -> Option<i64> {
    let mut parts = rel.split('/');
    let mut num = |len: usize| -> Option<u32> {
        let p = parts.next()?;
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse().ok())?
    };
    let (y, m, d, h) = (num(4)?, num(2)?, num(2)?, num(2)?);
    parts.next()?;
    Utc.with_ymd_and_hms(y as i32, m, d, h, 0, 0)
        .single()
        .map(|t| t.timestamp())
}

/// The object key (relative to the prefix) for one buffer of lines.
pub fn object_name(hour: i64, first: DateTime<Utc>, body: &[u8], gzip: bool) -> String {
    object_name_ext(hour, first, body, if gzip { "jsonl.gz" } else { "jsonl" })
}

/// The object key for one buffer of lines (`body`, whatever the object's
/// format: the name comes from the records), with extension `ext`.
pub fn object_name_ext(hour: i64, first: DateTime<Utc>, body: &[u8], ext: &str) -> String {
    let digest = Md5::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}/{}-{hex}.{ext}",
        hour_path(hour),
        first.format("%Y%m%dT%H%M%SZ"),
    )
}

pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(body.len() / 6 + 64),
        Compression::default(),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// An object's content as a reader: gunzipped on the fly when it starts with
/// the gzip magic, so only the compressed bytes are held; a Parquet object
/// (`PAR1`) as the JSON Lines of its records, then the error that stopped
/// reading it, if any.
pub fn decoder(bytes: Vec<u8>) -> Box<dyn Read + Send> {
    if lake_parquet::is_parquet(&bytes) {
        let (lines, err) = lake_parquet::to_json_lines(bytes);
        return Box::new(std::io::Cursor::new(lines).chain(FailAtEnd(err)));
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::Cursor::new(
            bytes,
        )))
    } else {
        Box::new(std::io::Cursor::new(bytes))
    }
}

/// Nothing, or an error: what follows a Parquet object's lines.
struct FailAtEnd(Option<String>);

impl Read for FailAtEnd {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        match &self.0 {
            None => Ok(0),
            Some(e) => Err(std::io::Error::other(format!(
                "not a readable Parquet file: {e}"
            ))),
        }
    }
}

/// Reads one object's records through the shared reader ([`Source`]): JSON
/// Lines, where a line may also hold several records concatenated without
/// newlines (as Firehose writes them). A line that is not wholly made of JSON
/// objects is rejected as a whole, raw bytes kept, and none of it is shipped,
/// so that its dead letter can be fed again without duplicates. An object that
/// cannot be decompressed or read to its end is reported at the line where
/// reading stopped. `emit` returns false to stop; so does this.
#[cfg(test)]
pub fn read_object(
    name: &str,
    content: Box<dyn Read + Send>,
    range: &mut Range,
    emit: &mut dyn FnMut(Msg) -> bool,
) -> bool {
    let mut lines = ObjectLines::open(name, content);
    while let Some(msg) = lines.next(range) {
        if !emit(msg) {
            return false;
        }
    }
    true
}

/// One object's records, read a chunk at a time (see [`read_object`]).
pub struct ObjectLines {
    input: Arc<str>,
    source: Option<Source>,
    chunk: Chunk,
    next_line: u64,
    queue: std::collections::VecDeque<Msg>,
}

impl ObjectLines {
    pub fn open(name: &str, content: Box<dyn Read + Send>) -> Self {
        let input: Arc<str> = Arc::from(name);
        let mut lines = ObjectLines {
            input: input.clone(),
            source: None,
            chunk: Chunk::default(),
            next_line: 1,
            queue: Default::default(),
        };
        match Source::from_reader(name, content, Some(Format::Jsonl)) {
            Ok(s) => lines.source = Some(s),
            Err(e) => lines.queue.push_back(lines.unreadable(1, e)),
        }
        lines
    }

    fn unreadable(&self, line: u64, e: std::io::Error) -> Msg {
        Msg::Bad {
            origin: Origin {
                input: self.input.clone(),
                line,
            },
            raw: Vec::new(),
            why: format!("cannot read the object from here on: {e}"),
            pos: None,
        }
    }

    /// The next record or bad line; None at the end of the object.
    pub fn next(&mut self, range: &mut Range) -> Option<Msg> {
        while self.queue.is_empty() {
            let source = self.source.as_mut()?;
            match source.fill(&mut self.chunk) {
                Ok(false) => self.source = None,
                Ok(true) => {
                    self.next_line = self.chunk.first_line + self.chunk.lines;
                    self.take_chunk(range);
                }
                Err(e) => {
                    self.source = None;
                    let bad = self.unreadable(self.next_line, e);
                    self.queue.push_back(bad);
                }
            }
        }
        self.queue.pop_front()
    }

    fn take_chunk(&mut self, range: &mut Range) {
        for line in self.chunk.lines() {
            let origin = Origin {
                input: self.input.clone(),
                line: line.no,
            };
            match split_line(line.text, &mut range.checker) {
                Ok(records) => {
                    let one = records.len() == 1;
                    for rec in records {
                        let whole = one
                            && rec.len() == line.text.len()
                            && line.raw.len() == line.text.len() + 1;
                        if !range.wants_record(rec) {
                            continue;
                        }
                        self.queue.push_back(Msg::Item(Item {
                            line: rec.to_string(),
                            origin: origin.clone(),
                            raw: (!whole).then(|| line.raw.into()),
                            pos: None,
                        }));
                    }
                }
                Err(why) => self.queue.push_back(Msg::Bad {
                    origin,
                    raw: line.raw.to_vec(),
                    why,
                    pos: None,
                }),
            }
        }
    }
}

/// A k-way merge of a lake's objects by event time. Objects are opened
/// lazily, in the order of the time their name starts at
/// (`.../HH/<first-time>-<md5>`, else their hour, else at once), as soon as
/// the merge reaches that time: only objects whose times overlap are open
/// together, so a lake of any size is read in bounded memory. Each object's
/// records keep their order; the heads of the open objects leave by event
/// time. Bad lines and records without a time leave at once.
pub struct ObjectMerge {
    /// Objects not opened yet: (start, key), by start.
    pending: std::collections::VecDeque<(i64, String)>,
    open: Vec<Option<ObjectLines>>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u64, usize)>>,
    held: Vec<Option<Msg>>,
    ready: std::collections::VecDeque<Msg>,
    order: u64,
    time: EventTime,
}

impl ObjectMerge {
    /// Over these keys (relative to the lake's root or the S3 prefix).
    pub fn new(keys: Vec<String>, time: EventTime) -> Self {
        let mut pending: Vec<(i64, String)> =
            keys.into_iter().map(|k| (start_of_key(&k), k)).collect();
        pending.sort();
        ObjectMerge {
            pending: pending.into(),
            open: Vec::new(),
            heads: Default::default(),
            held: Vec::new(),
            ready: Default::default(),
            order: 0,
            time,
        }
    }

    /// The next object to open before anything more can leave, if any.
    pub fn next_to_open(&mut self) -> Option<String> {
        let (start, _) = self.pending.front()?;
        let due = match self.heads.peek() {
            None => self.ready.is_empty(),
            Some(std::cmp::Reverse((t, _, _))) => *start <= *t,
        };
        if !due {
            return None;
        }
        self.pending.pop_front().map(|(_, k)| k)
    }

    /// An object opened (after [`Self::next_to_open`]).
    pub fn opened(&mut self, lines: ObjectLines, range: &mut Range) {
        self.open.push(Some(lines));
        self.held.push(None);
        self.refill(self.open.len() - 1, range);
    }

    /// Reads the object's next record with a time into the heads (what
    /// comes before it without one leaves at once).
    fn refill(&mut self, slot: usize, range: &mut Range) {
        let Some(lines) = self.open[slot].as_mut() else {
            return;
        };
        while let Some(msg) = lines.next(range) {
            let t = match &msg {
                Msg::Item(item) => self.time.of(&item.line).ok(),
                _ => None,
            };
            match t {
                Some(t) => {
                    self.order += 1;
                    self.heads
                        .push(std::cmp::Reverse((t.timestamp_millis(), self.order, slot)));
                    self.held[slot] = Some(msg);
                    return;
                }
                None => self.ready.push_back(msg),
            }
        }
        // Done: its reader (and buffer) goes.
        self.open[slot] = None;
    }

    /// The next message; None when every object is read. Call
    /// [`Self::next_to_open`] (and open what it names) before each.
    pub fn next(&mut self, range: &mut Range) -> Option<Msg> {
        if let Some(m) = self.ready.pop_front() {
            return Some(m);
        }
        let std::cmp::Reverse((_, _, slot)) = self.heads.pop()?;
        let msg = self.held[slot].take();
        self.refill(slot, range);
        msg
    }
}

/// When an object's records start: the `<first-time>` of its name, else its
/// hour, else the beginning of time (opened first).
fn start_of_key(rel: &str) -> i64 {
    let named = rel
        .rsplit('/')
        .next()
        .and_then(|n| n.get(..16))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").ok())
        .map(|t| t.and_utc().timestamp_millis());
    named
        .or_else(|| hour_of_key(rel).map(|h| h.saturating_mul(1000)))
        .unwrap_or(i64::MIN)
}

/// The JSON objects on one line (one, or several concatenated), each checked
/// by the shared scanner's rule, or what is wrong with the line.
pub fn split_line<'a>(text: &'a [u8], checker: &mut Scanner) -> Result<Vec<&'a str>, String> {
    // The usual line is one object: one scan decides it.
    let whole = checker.scan(text).map(|_| ());
    let text = std::str::from_utf8(text)
        .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to()))?;
    if whole.is_ok() {
        return Ok(vec![text.trim()]);
    }
    let mut records = Vec::with_capacity(2);
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    let mut start = 0;
    while let Some(value) = stream.next() {
        if let Err(e) = value {
            // Not even a run of JSON values: the scanner's reason is the one to give.
            return Err(whole.err().unwrap_or_else(|| format!("invalid JSON: {e}")));
        }
        let end = stream.byte_offset();
        let rec = text[start..end].trim_start();
        if !rec.starts_with('{') {
            return Err("expected a JSON object".to_string());
        }
        checker.scan(rec.as_bytes())?;
        records.push(rec);
        start = end;
    }
    if records.len() < 2 {
        return Err(whole
            .err()
            .unwrap_or_else(|| "expected a JSON object".into()));
    }
    Ok(records)
}

/// The event-time range a reader keeps: objects whose hour lies outside are
/// skipped unread, records outside are left out.
#[derive(Debug)]
pub struct Range {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    time: EventTime,
    checker: Scanner,
    field: String,
    times: TimeParser,
}

impl Range {
    pub fn new(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, s: &Settings) -> Self {
        Range::of_field(since, until, &s.time_field, s.times.clone())
    }

    pub fn of_field(
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        field: &str,
        times: TimeParser,
    ) -> Self {
        Range {
            since,
            until,
            time: EventTime::new(field, times.clone()),
            checker: object_checker(),
            field: field.to_string(),
            times,
        }
    }

    /// A reader of the event time this range is judged on.
    pub fn event_time(&self) -> EventTime {
        EventTime::new(&self.field, self.times.clone())
    }

    pub fn is_all(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// False when no record of this object's hour can be in range.
    pub fn wants_object(&self, rel_key: &str) -> bool {
        let Some(hour) = hour_of_key(rel_key) else {
            return true;
        };
        if let Some(s) = self.since {
            if hour + 3600 <= s.timestamp() {
                return false;
            }
        }
        if let Some(u) = self.until {
            if hour >= u.timestamp() + i64::from(u.timestamp_subsec_nanos() > 0) {
                return false;
            }
        }
        true
    }

    pub fn wants_record(&mut self, line: &str) -> bool {
        if self.is_all() {
            return true;
        }
        let Ok(t) = self.time.of(line) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

struct HourBuffer {
    lines: Vec<u8>,
    /// The same records as Parquet columns (`--format parquet`).
    columns: Option<Columns>,
    count: u64,
    first: DateTime<Utc>,
    /// Latest event time in the buffer.
    last: DateTime<Utc>,
    /// This buffer's clock: the latest event time read since it opened among
    /// records *near* it (at or after its first, at most [`NEAR`] past its
    /// last). A record far from the rest moves no other buffer's clock.
    clock: DateTime<Utc>,
}

/// How far past a buffer's latest record another record still counts as the
/// same stream moving on: an hour, one partition.
const NEAR: chrono::Duration = chrono::Duration::hours(1);

/// Hour partitions held open at once; past that the oldest hour is written.
/// An in-order stream keeps one or two open; late stragglers or a far-off
/// record open a few more.
pub const OPEN_PARTITIONS: usize = 8;

/// Buffers records per event hour and writes them as objects.
pub struct ObjectSink {
    store: Store,
    time: EventTime,
    gzip: bool,
    format: LakeFormat,
    numbers: super::lake::ParquetNumbers,
    buffer_size: usize,
    buffer_interval: Duration,
    hours: BTreeMap<i64, HourBuffer>,
    buffered: usize,
    /// When the last record came (the wall-clock backstop for a stalled stream).
    last_push: Instant,
}

impl ObjectSink {
    pub fn new(store: Store, s: &Settings) -> Self {
        ObjectSink {
            store,
            time: EventTime::new(&s.time_field, s.times.clone()),
            gzip: s.gzip,
            format: s.lake.format,
            numbers: s.lake.parquet_numbers,
            buffer_size: s.buffer_size,
            buffer_interval: s.buffer_interval,
            hours: BTreeMap::new(),
            buffered: 0,
            last_push: Instant::now(),
        }
    }

    /// Total bytes held across hours before the biggest buffer is written early.
    fn memory_cap(&self) -> usize {
        self.buffer_size
            .saturating_mul(4)
            .max(64 * super::batch::MIB)
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        let t = match self.time.of(&item.line) {
            Ok(t) => t,
            Err(why) => return item.reject(acct, &why),
        };
        let hour = t.timestamp().div_euclid(3600) * 3600;
        let parquet = self.format == LakeFormat::Parquet;
        let numbers = self.numbers;
        let buf = self.hours.entry(hour).or_insert_with(|| HourBuffer {
            lines: Vec::new(),
            columns: parquet.then(|| Columns::with_numbers(numbers)),
            count: 0,
            first: t,
            last: t,
            clock: t,
        });
        if let Some(columns) = &mut buf.columns {
            // A record Parquet cannot hold is a bad line, never half stored.
            if let Err(why) = columns.push(&item.line) {
                if buf.count == 0 {
                    self.hours.remove(&hour);
                }
                return item.reject(acct, &why);
            }
        }
        buf.lines.extend_from_slice(item.line.as_bytes());
        buf.lines.push(b'\n');
        buf.count += 1;
        buf.last = buf.last.max(t);
        self.buffered += item.line.len() + 1;
        if buf.lines.len() >= self.buffer_size {
            self.write_hour(hour, acct).await?;
        }
        self.last_push = Instant::now();
        for h in self.due_after(t) {
            self.write_hour(h, acct).await?;
        }
        while self.hours.len() > OPEN_PARTITIONS {
            let Some(oldest) = self.hours.keys().next().copied() else {
                break;
            };
            self.write_hour(oldest, acct).await?;
        }
        while self.buffered > self.memory_cap() {
            let Some(biggest) = self
                .hours
                .iter()
                .max_by_key(|(h, b)| (b.lines.len(), std::cmp::Reverse(**h)))
                .map(|(h, _)| *h)
            else {
                break;
            };
            self.write_hour(biggest, acct).await?;
        }
        Ok(())
    }

    /// Moves the clock of every buffer a record at `t` is near, and returns
    /// the buffers whose clock passed their first record by the interval
    /// (cut by event time, so the same input gives the same objects).
    fn due_after(&mut self, t: DateTime<Utc>) -> Vec<i64> {
        // A buffer whose due time lies beyond the calendar is never due by event time.
        let interval =
            chrono::Duration::from_std(self.buffer_interval).unwrap_or(chrono::Duration::MAX);
        let mut due = Vec::new();
        for (h, b) in &mut self.hours {
            let near = b.last.checked_add_signed(NEAR).is_none_or(|n| t <= n);
            if t >= b.first && near {
                b.clock = b.clock.max(t);
            }
            if b.first
                .checked_add_signed(interval)
                .is_some_and(|d| d <= b.clock)
            {
                due.push(*h);
            }
        }
        due
    }

    pub async fn tick(&mut self, now: Instant, acct: &mut Account) -> anyhow::Result<()> {
        // A stream that stopped sending: write what waited longer than the interval.
        if !self.hours.is_empty() && now.duration_since(self.last_push) >= self.buffer_interval {
            self.flush(acct).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        let hours: Vec<i64> = self.hours.keys().copied().collect();
        for h in hours {
            self.write_hour(h, acct).await?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.hours.is_empty()
    }

    async fn write_hour(&mut self, hour: i64, acct: &mut Account) -> anyhow::Result<()> {
        let Some(buf) = self.hours.remove(&hour) else {
            return Ok(());
        };
        self.buffered -= buf.lines.len();
        let (name, body) = match buf.columns {
            Some(columns) => {
                let name = object_name_ext(hour, buf.first, &buf.lines, "parquet");
                match columns.write() {
                    Ok(body) => (name, body),
                    Err(e) => {
                        let message = format!("cannot encode {name} as Parquet: {e}");
                        acct.quiet_undelivered();
                        let _ = undeliverable_lines(
                            acct,
                            "buffer",
                            &buf.lines,
                            "ParquetError",
                            &message,
                        );
                        return Err(super::SinkFailed(message).into());
                    }
                }
            }
            None if self.gzip => (
                object_name(hour, buf.first, &buf.lines, true),
                gzip(&buf.lines)?,
            ),
            None => (
                object_name(hour, buf.first, &buf.lines, false),
                buf.lines.clone(),
            ),
        };
        let result = match &mut self.store {
            // A local write that fails (a full disk) would fail again for the
            // next object: fatal, said once, with the object's path.
            Store::Lake(dir) => super::lake::write_object(dir, &name, &body)
                .map_err(|e| ("IOError".to_string(), e.to_string(), true)),
            Store::S3(s3) => s3.put(&name, body, acct).await,
        };
        match result {
            Ok(()) => {
                acct.shipped += buf.count;
                acct.objects += 1;
                Ok(())
            }
            Err((code, message, fatal)) => {
                let origin = match &self.store {
                    Store::Lake(dir) => dir.join(&name).display().to_string(),
                    Store::S3(s3) => s3.url(&name),
                };
                if fatal {
                    // One message (the error), not one per record; a failing
                    // undelivered file is counted and shown in the summary.
                    acct.quiet_undelivered();
                    let _ = undeliverable_lines(acct, &origin, &buf.lines, &code, &message);
                    return Err(super::SinkFailed(message).into());
                }
                undeliverable_lines(acct, &origin, &buf.lines, &code, &message)?;
                Ok(())
            }
        }
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        acct.quiet_undelivered();
        for (_, buf) in std::mem::take(&mut self.hours) {
            let _ = undeliverable_lines(acct, "buffer", &buf.lines, "NotDelivered", why);
        }
        self.buffered = 0;
    }
}

fn undeliverable_lines(
    acct: &mut Account,
    origin: &str,
    lines: &[u8],
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    // Every record is counted even when the undelivered file fails part way.
    let mut first_error = Ok(());
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let kept = acct.undeliverable(origin, &String::from_utf8_lossy(line), code, message);
        if first_error.is_ok() {
            first_error = kept;
        }
    }
    first_error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;

    #[test]
    fn hour_layout_round_trips() {
        let t = parse_time("2026-11-27T03:59:59Z").unwrap();
        let hour = t.timestamp() / 3600 * 3600;
        assert_eq!(hour_path(hour), "2026/11/27/03");
        assert_eq!(hour_of_key("2026/11/27/03/x.jsonl.gz"), Some(hour));
        assert_eq!(hour_of_key("2026/11/27/x.jsonl.gz"), None);
        assert_eq!(hour_of_key("junk"), None);
        let name = object_name(hour, t, b"{}\n", true);
        assert!(
            name.starts_with("2026/11/27/03/20261127T035959Z-"),
            "{name}"
        );
        assert!(name.ends_with(".jsonl.gz"));
        assert_eq!(name, object_name(hour, t, b"{}\n", true));
        assert_ne!(name, object_name(hour, t, b"{ }\n", true));
    }

    fn read_all(body: &[u8]) -> Vec<Msg> {
        let mut range = Range::of_field(None, None, "measurement_time", TimeParser::default());
        let mut got = Vec::new();
        read_object("o", decoder(body.to_vec()), &mut range, &mut |m| {
            got.push(m);
            true
        });
        got
    }

    #[test]
    fn concatenated_records_on_one_line_are_each_shipped() {
        let got = read_all(b"{\"a\":1}{\"a\":2} {\"a\":3}\n\n{\"a\":4}");
        let lines: Vec<_> = got
            .iter()
            .map(|m| match m {
                Msg::Item(i) => (i.origin.line, i.line.clone()),
                _ => panic!("a bad line"),
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (1, "{\"a\":1}".to_string()),
                (1, "{\"a\":2}".to_string()),
                (1, "{\"a\":3}".to_string()),
                (3, "{\"a\":4}".to_string())
            ]
        );
    }

    #[test]
    fn a_multi_line_record_with_1e400_is_two_bad_lines_not_a_panic() {
        let got = read_all(b"{\"a\":1}\n{\"a\":\n1e400}\r\n[1]\n{\"a\":1}{bad\n{\"a\":4}\n");
        let mut bad = Vec::new();
        let mut good = Vec::new();
        for m in got {
            match m {
                Msg::Item(i) => good.push(i.origin.line),
                Msg::Bad { origin, raw, .. } => bad.push((origin.line, raw)),
                _ => panic!("unexpected message"),
            }
        }
        assert_eq!(good, vec![1, 6]);
        assert_eq!(
            bad,
            vec![
                (2, b"{\"a\":\n".to_vec()),
                (3, b"1e400}\r\n".to_vec()),
                (4, b"[1]\n".to_vec()),
                (5, b"{\"a\":1}{bad\n".to_vec()),
            ]
        );
    }

    #[test]
    fn a_corrupt_gzip_object_is_reported_where_reading_stopped() {
        let mut z = gzip(b"{\"a\":1}\n").unwrap();
        let n = z.len();
        z.truncate(n - 12);
        let got = read_all(&z);
        assert!(matches!(got.last(), Some(Msg::Bad { why, .. }) if why.contains("cannot read")));
    }

    #[test]
    fn gzip_round_trips_and_plain_passes() {
        let z = gzip(b"{\"a\":1}\n").unwrap();
        let mut out = Vec::new();
        decoder(z).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"{\"a\":1}\n");
        out.clear();
        decoder(b"{}".to_vec()).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"{}");
    }

    #[test]
    fn objects_open_when_the_merge_reaches_the_time_their_name_starts_at() {
        assert_eq!(
            start_of_key("2026/11/27/03/20261127T031500Z-0123abcd.jsonl.gz"),
            parse_time("2026-11-27T03:15:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(
            start_of_key("2026/11/27/03/firehose-1-xyz"),
            parse_time("2026-11-27T03:00:00Z")
                .unwrap()
                .timestamp_millis()
        );
        assert_eq!(start_of_key("loose.jsonl"), i64::MIN);
        let rec = |t: &str| format!("{{\"measurement_time\":\"2026-11-27T03:{t}Z\"}}\n");
        let objects = [
            (
                "2026/11/27/03/20261127T030000Z-a.jsonl",
                rec("00:00") + &rec("20:00"),
            ),
            (
                "2026/11/27/03/20261127T031000Z-b.jsonl",
                rec("10:00") + &rec("30:00"),
            ),
            ("2026/11/27/03/20261127T034000Z-c.jsonl", rec("40:00")),
        ];
        let mut range = Range::of_field(None, None, "measurement_time", TimeParser::default());
        let mut merge = ObjectMerge::new(
            objects.iter().map(|(k, _)| k.to_string()).collect(),
            EventTime::new("measurement_time", TimeParser::default()),
        );
        let (mut got, mut opened) = (Vec::new(), Vec::new());
        loop {
            while let Some(key) = merge.next_to_open() {
                opened.push((key.clone(), got.len()));
                let body = objects.iter().find(|(k, _)| *k == key).unwrap().1.clone();
                merge.opened(
                    ObjectLines::open(&key, decoder(body.into_bytes())),
                    &mut range,
                );
            }
            match merge.next(&mut range) {
                Some(Msg::Item(i)) => got.push(i.line[35..40].to_string()),
                Some(_) => panic!("a bad line"),
                None => break,
            }
        }
        assert_eq!(got, ["00:00", "10:00", "20:00", "30:00", "40:00"]);
        // c is opened only once the merge is past 03:30, after four records left.
        assert_eq!(opened[2], (objects[2].0.to_string(), 4));
    }

    #[test]
    fn range_skips_whole_hours() {
        let mut r = Range::of_field(
            Some(parse_time("2026-11-27T03:30:00Z").unwrap()),
            Some(parse_time("2026-11-27T05:00:00Z").unwrap()),
            "measurement_time",
            TimeParser::default(),
        );
        assert!(!r.wants_object("2026/11/27/02/x"));
        assert!(r.wants_object("2026/11/27/03/x"));
        assert!(r.wants_object("2026/11/27/04/x"));
        assert!(!r.wants_object("2026/11/27/05/x"));
        assert!(r.wants_object("other/x"));
        assert!(!r.wants_record(r#"{"measurement_time":"2026-11-27T03:29:59Z"}"#));
        assert!(r.wants_record(r#"{"measurement_time":"2026-11-27T03:30:00Z"}"#));
        assert!(!r.wants_record(r#"{"measurement_time":"2026-11-27T05:00:00Z"}"#));
    }
}
