//! Accounting: what was read, shipped, retried, rejected and left undelivered,
//! and how many requests it took.
//!
//! Two kinds of problem, two files. A rejected *input* line goes through the
//! one rejection path every tool shares ([`Rejects`]: `--dead-letter` keeps
//! its raw bytes, byte for byte, so it can be fixed and fed again). A record
//! that was read fine but could not be *delivered* after retries goes to the
//! `--undelivered` file as one JSON object per line with the AWS error:
//! `{"error_code", "error", "origin", "record"}`.
//!
//! Both files may sit on a disk that is full. Each undelivered record is
//! written with one unbuffered write, so that when a write fails the file is
//! cut back to its last whole record and the counts stay exact: how many
//! undelivered records the file holds, and how many are in no file. A failing
//! file never hides the summary.

use crate::codec::{BadInput, Rejects};
use crate::summary::{Deliveries, Summary};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// Requests made, per API, shared by the sink and the source.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Requests {
    pub fn count(&self, api: &'static str) {
        // A counter cannot be left half-updated: a poisoned lock is still usable.
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry(api).or_insert(0) += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// How many undelivered records are reported one by one before only counting.
const MAX_REPORTS: u64 = 100;

/// The `--undelivered` file: unbuffered, with the length of its whole records.
struct UndeliveredFile {
    path: String,
    file: Option<File>,
    len: u64,
    /// Records it holds.
    kept: u64,
    /// Why writing it stopped (the file is then left as it was, whole records only).
    failed: Option<String>,
}

pub struct Account {
    tool: &'static str,
    rejects: Rejects,
    dead_letter: Option<String>,
    /// Why the dead-letter file could not be written, once it failed.
    dead_letter_failed: Option<String>,
    undelivered_file: Option<UndeliveredFile>,
    reports: u64,
    /// Undelivered records are kept without a message each (after a fatal error:
    /// one message says why, the summary how many).
    quiet_undelivered: bool,
    pub read: u64,
    pub shipped: u64,
    pub retried: u64,
    pub undelivered: u64,
    pub requests: Requests,
    /// Batched calls made, and how many of them were full (by count or bytes).
    pub batches: u64,
    pub full_batches: u64,
    pub batched_records: u64,
    /// Objects written (S3 or file://) and Firehose records sent.
    pub objects: u64,
    pub stream_records: u64,
}

impl Account {
    pub fn new(
        tool: &'static str,
        policy: BadInput,
        dead_letter: Option<&str>,
        undelivered: Option<&str>,
    ) -> io::Result<Self> {
        let undelivered_file = match undelivered {
            Some(p) => Some(UndeliveredFile {
                path: p.to_string(),
                file: Some(File::create(p).map_err(|e| {
                    io::Error::new(e.kind(), format!("cannot create undelivered file {p}: {e}"))
                })?),
                len: 0,
                kept: 0,
                failed: None,
            }),
            None => None,
        };
        Ok(Account {
            tool,
            rejects: Rejects::new(tool, policy, dead_letter)?,
            dead_letter: dead_letter.map(str::to_string),
            dead_letter_failed: None,
            undelivered_file,
            reports: 0,
            quiet_undelivered: false,
            read: 0,
            shipped: 0,
            retried: 0,
            undelivered: 0,
            requests: Requests::default(),
            batches: 0,
            full_batches: 0,
            batched_records: 0,
            objects: 0,
            stream_records: 0,
        })
    }

    /// A bad input line (`raw`: its bytes as read, ending included): reported
    /// as `input:line: why`, counted, dead-lettered; an error when the policy is to stop.
    pub fn reject(&mut self, input: &str, line: u64, raw: &[u8], why: &str) -> anyhow::Result<()> {
        let path = self.dead_letter.as_deref().unwrap_or("");
        let failed = &mut self.dead_letter_failed;
        self.rejects.reject(input, line, raw, why).map_err(|e| {
            // A failed write to the dead letter says which file (a full disk).
            match e.downcast::<io::Error>() {
                Ok(io) => {
                    *failed = Some(io.to_string());
                    anyhow::anyhow!("cannot write dead-letter file {path}: {io}")
                }
                Err(other) => other,
            }
        })
    }

    /// From here on undelivered records get no message each: after a fatal
    /// error one message says why, and the summary says how many.
    pub fn quiet_undelivered(&mut self) {
        self.quiet_undelivered = true;
    }

    pub fn rejected(&self) -> u64 {
        self.rejects.count()
    }

    /// A record that could not be delivered: reported, counted, kept with its error code.
    pub fn undeliverable(
        &mut self,
        origin: &str,
        record: &str,
        code: &str,
        message: &str,
    ) -> io::Result<()> {
        self.undelivered += 1;
        if !self.quiet_undelivered {
            self.report_undelivered(origin, code, message);
        }
        let Some(f) = &mut self.undelivered_file else {
            return Ok(());
        };
        let mut line = serde_json::to_vec(
            &json!({"error_code": code, "error": message, "origin": origin, "record": record}),
        )?;
        line.push(b'\n');
        f.append(&line)
    }

    fn report_undelivered(&mut self, origin: &str, code: &str, message: &str) {
        self.reports += 1;
        if self.reports <= MAX_REPORTS {
            crate::warn!("{}: {origin}: not delivered: {message} ({code})", self.tool);
        } else if self.reports == MAX_REPORTS + 1 {
            crate::warn!(
                "{}: more undelivered records follow; only counting from here on",
                self.tool
            );
        }
    }

    pub fn total_requests(&self) -> u64 {
        self.requests.snapshot().values().sum()
    }

    pub fn has_undelivered_file(&self) -> bool {
        self.undelivered_file.is_some()
    }

    /// How far a run that stopped on a fatal error got, every record read
    /// accounted for: shipped (durably written), rejected, undelivered (kept
    /// in the undelivered file or in no file); input after that was not read.
    pub fn how_far(&self) -> String {
        let mut s = format!(
            "stopped after reading {} records and shipping {} ({} rejected, {} undelivered",
            self.read,
            self.shipped,
            self.rejected(),
            self.undelivered
        );
        if self.undelivered > 0 {
            match &self.undelivered_file {
                Some(f) if f.kept == self.undelivered => {
                    s += &format!(", kept in {}", f.path);
                }
                Some(f) => {
                    let lost = self.undelivered - f.kept;
                    s += &format!(": {} kept in {}, {lost} in no file", f.kept, f.path);
                }
                None => s += ", in no file (--undelivered FILE keeps them)",
            }
        }
        s += "); nothing after them was read";
        s
    }

    /// Undelivered records that are in no file (none kept, or its disk was full).
    pub fn undelivered_unkept(&self) -> u64 {
        self.undelivered - self.undelivered_file.as_ref().map_or(0, |f| f.kept)
    }

    /// Writes out and syncs both files. A failing undelivered file is reported
    /// in the summary, not here, so the summary is always printed.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(f) = &mut self.undelivered_file {
            f.sync();
        }
        if self.dead_letter_failed.is_some() {
            // Said already (the run's error) and in the summary.
            return Ok(());
        }
        let path = self.dead_letter.as_deref().unwrap_or("");
        self.rejects.flush().map_err(|e| {
            self.dead_letter_failed = Some(e.to_string());
            io::Error::new(
                e.kind(),
                format!("cannot write dead-letter file {path}: {e}"),
            )
        })
    }

    /// The run's account, in the words every tool uses ([`Summary`]), and the
    /// lines that follow it on stderr (batching, objects, files that failed).
    pub fn summary(&self) -> (Summary, Vec<String>) {
        // AWS requests are counted per API; a run that made none (stdin,
        // the local lake, MQTT) says nothing about them.
        let requests = self.requests.snapshot();
        let mut notes = vec![format!("retried {}", self.retried)];
        if !requests.is_empty() {
            notes.push(format!(
                "{} requests ({})",
                self.total_requests(),
                requests
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if self.objects > 0 {
            notes.push(format!("{} objects written", self.objects));
        }
        let kept = self.undelivered_file.as_ref().map_or(0, |f| f.kept);
        let summary = Summary {
            read: self.read,
            written: self.shipped,
            rejected: self.rejected(),
            rejected_kept_in: self
                .dead_letter
                .as_ref()
                .map(|p| match &self.dead_letter_failed {
                    Some(_) => format!("{p} only up to its failure"),
                    None => p.clone(),
                }),
            deliveries: Some(Deliveries {
                delivered: self.shipped,
                failed: self.undelivered,
                dead: kept,
            }),
            notes,
            ..Summary::new("record")
        };
        let mut lines = Vec::new();
        if self.batches > 0 {
            lines.push(format!(
                "{} batched calls, {} full ({:.1} %), {:.1} records per call",
                self.batches,
                self.full_batches,
                100.0 * self.full_batches as f64 / self.batches as f64,
                self.batched_records as f64 / self.batches as f64
            ));
        }
        if self.stream_records > 0 {
            lines.push(format!(
                "{} Firehose records for {} lines ({:.1} lines per record)",
                self.stream_records,
                self.shipped,
                self.shipped as f64 / self.stream_records as f64
            ));
        }
        if let (Some(why), Some(path)) = (&self.dead_letter_failed, &self.dead_letter) {
            lines.push(format!(
                "the dead-letter file {path} could not be written ({why}): of the {} rejected \
                 lines, the last ones before the failure are missing from it",
                self.rejected()
            ));
        }
        if let Some(f) = &self.undelivered_file {
            if let Some(why) = &f.failed {
                lines.push(format!(
                    "the undelivered file {} could not be written ({why}): it holds {} of the {} \
                     undelivered records, {} are in no file",
                    f.path,
                    f.kept,
                    self.undelivered,
                    self.undelivered - f.kept
                ));
            } else if f.kept > 0 {
                lines.push(format!("{} undelivered records kept in {}", f.kept, f.path));
            }
        }
        (summary, lines)
    }
}

impl UndeliveredFile {
    /// Appends one whole record; on failure cuts the file back to its last
    /// whole record, stops writing it, and returns the error naming the file
    /// (once: later records are only counted as kept in no file).
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let Some(file) = &mut self.file else {
            return Ok(());
        };
        match file.write_all(line) {
            Ok(()) => {
                self.len += line.len() as u64;
                self.kept += 1;
                Ok(())
            }
            Err(e) => {
                let _ = file.set_len(self.len);
                self.file = None;
                self.failed = Some(e.to_string());
                Err(io::Error::new(
                    e.kind(),
                    format!("cannot write undelivered file {}: {e}", self.path),
                ))
            }
        }
    }

    /// Makes what was written durable; a failure is kept for the summary.
    fn sync(&mut self) {
        if let Some(file) = &mut self.file {
            if let Err(e) = file.sync_all() {
                self.failed = Some(format!("sync: {e}"));
                self.file = None;
            }
        }
    }
}
