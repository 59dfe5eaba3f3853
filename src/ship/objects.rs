//! The data-lake layout shared by S3 and `file://`: records buffered per event
//! hour, flushed at a size or age threshold (and at the end), gzipped, under
//! `prefix/YYYY/MM/DD/HH/<first-time>-<md5>.jsonl.gz`. The name comes from the
//! content, and buffers are cut by size and by *event* time (a buffer is
//! written once the input's event time passed its first record by
//! `--buffer-interval`, which in a live stream is Firehose's wall-clock rule),
//! so shipping the same input twice overwrites the same objects. Only a stream
//! that stops sending for the interval is cut by the wall clock. Reading accepts gzip or plain, with or without
//! newlines between records (Firehose concatenates them).

use super::account::Account;
use super::{field, s3::S3Store, Item, Settings};
use crate::time::parse_time;
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use flate2::write::GzEncoder;
use flate2::Compression;
use md5::{Digest, Md5};
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where objects go.
pub enum Store {
    Lake(PathBuf),
    S3(S3Store),
}

/// The event time of a record, or why there is none.
pub fn event_time(line: &str, field: &str) -> Result<DateTime<Utc>, String> {
    match field::top_level(line, field)? {
        Some(serde_json::Value::String(s)) => parse_time(&s).map_err(|e| e.to_string()),
        Some(serde_json::Value::Number(n)) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(|| format!("field {field:?} is not a time")),
        _ => Err(format!(
            "no event time: field {field:?} is missing or not a time"
        )),
    }
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
    let digest = Md5::digest(body);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}/{}-{hex}.jsonl{}",
        hour_path(hour),
        first.format("%Y%m%dT%H%M%SZ"),
        if gzip { ".gz" } else { "" }
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

/// The content of an object: gunzipped when it starts with the gzip magic.
pub fn decode(bytes: Vec<u8>) -> std::io::Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(bytes.len() * 6);
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Splits an object's content into JSON values, newline-separated or simply
/// concatenated. Calls `emit(index, Ok(line))` for each object (compacted to
/// one line when it spanned several) and `Err((text, why))` for what is not one.
pub fn split_records(
    body: &[u8],
    mut emit: impl FnMut(u64, Result<String, (String, String)>) -> bool,
) {
    let mut offset = 0usize;
    let mut index = 0u64;
    while offset < body.len() {
        while offset < body.len() && body[offset].is_ascii_whitespace() {
            offset += 1;
        }
        if offset >= body.len() {
            break;
        }
        index += 1;
        let rest = &body[offset..];
        let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
        let result = match stream.next() {
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                let raw = &rest[..end];
                offset += end;
                let text = String::from_utf8_lossy(raw);
                if raw.first() != Some(&b'{') {
                    Err((text.into_owned(), "expected a JSON object".to_string()))
                } else if raw.contains(&b'\n') {
                    let v: serde_json::Value =
                        serde_json::from_slice(raw).expect("parsed once already");
                    Ok(v.to_string())
                } else {
                    Ok(text.into_owned())
                }
            }
            Some(Err(e)) => {
                // Skip to the end of the line and go on.
                let end = rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .map(|p| p + 1)
                    .unwrap_or(rest.len());
                offset += end;
                Err((
                    String::from_utf8_lossy(&rest[..end]).trim_end().to_string(),
                    format!("invalid JSON: {e}"),
                ))
            }
            None => break,
        };
        if !emit(index, result) {
            return;
        }
    }
}

/// The event-time range a reader keeps: objects whose hour lies outside are
/// skipped unread, records outside are left out.
#[derive(Debug, Clone)]
pub struct Range {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub field: String,
}

impl Range {
    pub fn new(since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>, s: &Settings) -> Self {
        Range {
            since,
            until,
            field: s.time_field.clone(),
        }
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

    pub fn wants_record(&self, line: &str) -> bool {
        if self.is_all() {
            return true;
        }
        let Ok(t) = event_time(line, &self.field) else {
            return false;
        };
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

struct HourBuffer {
    lines: Vec<u8>,
    count: u64,
    first: DateTime<Utc>,
}

/// Buffers records per event hour and writes them as objects.
pub struct ObjectSink {
    store: Store,
    time_field: String,
    gzip: bool,
    buffer_size: usize,
    buffer_interval: Duration,
    hours: BTreeMap<i64, HourBuffer>,
    buffered: usize,
    /// The latest event time seen: buffers are cut by event time, so that the
    /// same input always gives the same objects.
    event_clock: Option<DateTime<Utc>>,
    /// When the last record came (the wall-clock backstop for a stalled stream).
    last_push: Instant,
}

impl ObjectSink {
    pub fn new(store: Store, s: &Settings) -> Self {
        ObjectSink {
            store,
            time_field: s.time_field.clone(),
            gzip: s.gzip,
            buffer_size: s.buffer_size,
            buffer_interval: s.buffer_interval,
            hours: BTreeMap::new(),
            buffered: 0,
            event_clock: None,
            last_push: Instant::now(),
        }
    }

    /// Total bytes held across hours before the biggest buffer is written early.
    fn memory_cap(&self) -> usize {
        (4 * self.buffer_size).max(64 * super::batch::MIB)
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        let t = match event_time(&item.line, &self.time_field) {
            Ok(t) => t,
            Err(why) => return acct.reject(&item.origin, &item.line, &why),
        };
        let hour = t.timestamp().div_euclid(3600) * 3600;
        let buf = self.hours.entry(hour).or_insert_with(|| HourBuffer {
            lines: Vec::new(),
            count: 0,
            first: t,
        });
        buf.lines.extend_from_slice(item.line.as_bytes());
        buf.lines.push(b'\n');
        buf.count += 1;
        self.buffered += item.line.len() + 1;
        if buf.lines.len() >= self.buffer_size {
            self.write_hour(hour, acct).await?;
        }
        self.last_push = Instant::now();
        if self.event_clock.is_none_or(|c| t > c) {
            self.event_clock = Some(t);
        }
        // Buffers whose first record is older, in event time, than the interval.
        let clock = self.event_clock.expect("just set");
        let interval =
            chrono::Duration::from_std(self.buffer_interval).unwrap_or(chrono::Duration::MAX);
        let due: Vec<i64> = self
            .hours
            .iter()
            .filter(|(_, b)| b.first + interval <= clock)
            .map(|(h, _)| *h)
            .collect();
        for h in due {
            self.write_hour(h, acct).await?;
        }
        while self.buffered > self.memory_cap() {
            let biggest = self
                .hours
                .iter()
                .max_by_key(|(h, b)| (b.lines.len(), std::cmp::Reverse(**h)))
                .map(|(h, _)| *h)
                .expect("something is buffered");
            self.write_hour(biggest, acct).await?;
        }
        Ok(())
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
        let name = object_name(hour, buf.first, &buf.lines, self.gzip);
        let body = if self.gzip {
            gzip(&buf.lines)?
        } else {
            buf.lines.clone()
        };
        let result = match &mut self.store {
            Store::Lake(dir) => super::lake::write_object(dir, &name, &body).map_err(|e| {
                (
                    "IOError".to_string(),
                    format!("cannot write {}: {e}", dir.join(&name).display()),
                    true,
                )
            }),
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
                dead_letter_lines(acct, &origin, &buf.lines, &code, &message)?;
                if fatal {
                    return Err(super::SinkFailed(message).into());
                }
                Ok(())
            }
        }
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        for (_, buf) in std::mem::take(&mut self.hours) {
            let _ = dead_letter_lines(acct, "buffer", &buf.lines, "NotDelivered", why);
        }
        self.buffered = 0;
    }
}

fn dead_letter_lines(
    acct: &mut Account,
    origin: &str,
    lines: &[u8],
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        acct.dead_letter(origin, &String::from_utf8_lossy(line), code, message)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn splits_concatenated_and_newline_separated_json() {
        let body = b"{\"a\":1}{\"a\":2}\n{\"a\":\n3}\n[1]\n{bad\n{\"a\":4}";
        let mut got = Vec::new();
        split_records(body, |i, r| {
            got.push((i, r));
            true
        });
        let oks: Vec<_> = got
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok().cloned())
            .collect();
        assert_eq!(
            oks,
            vec!["{\"a\":1}", "{\"a\":2}", "{\"a\":3}", "{\"a\":4}"]
        );
        assert_eq!(got.iter().filter(|(_, r)| r.is_err()).count(), 2);
    }

    #[test]
    fn gzip_round_trips_and_plain_passes() {
        let z = gzip(b"{\"a\":1}\n").unwrap();
        assert_eq!(decode(z).unwrap(), b"{\"a\":1}\n");
        assert_eq!(decode(b"{}".to_vec()).unwrap(), b"{}");
    }

    #[test]
    fn range_skips_whole_hours() {
        let r = Range {
            since: Some(parse_time("2026-11-27T03:30:00Z").unwrap()),
            until: Some(parse_time("2026-11-27T05:00:00Z").unwrap()),
            field: "measurement_time".into(),
        };
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
