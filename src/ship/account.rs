//! Accounting: what was read, shipped, retried, rejected and left undelivered,
//! and how many requests it took.
//!
//! Two kinds of problem, two files. A rejected *input* line goes through the
//! one rejection path every tool shares ([`Rejects`]: `--dead-letter` keeps
//! its raw bytes, byte for byte, so it can be fixed and fed again). A record
//! that was read fine but could not be *delivered* after retries goes to the
//! `--undelivered` file as one JSON object per line with the AWS error:
//! `{"error_code", "error", "origin", "record"}`.

use crate::codec::{BadInput, Rejects};
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
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

pub struct Account {
    tool: &'static str,
    rejects: Rejects,
    undelivered_file: Option<BufWriter<File>>,
    reports: u64,
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
            Some(p) => Some(BufWriter::new(File::create(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create undelivered file {p}: {e}"))
            })?)),
            None => None,
        };
        Ok(Account {
            tool,
            rejects: Rejects::new(tool, policy, dead_letter)?,
            undelivered_file,
            reports: 0,
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
        self.rejects.reject(input, line, raw, why)
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
        self.reports += 1;
        if self.reports <= MAX_REPORTS {
            crate::warn!("{}: {origin}: not delivered: {message} ({code})", self.tool);
        } else if self.reports == MAX_REPORTS + 1 {
            crate::warn!(
                "{}: more undelivered records follow; only counting from here on",
                self.tool
            );
        }
        if let Some(f) = &mut self.undelivered_file {
            let line =
                json!({"error_code": code, "error": message, "origin": origin, "record": record});
            serde_json::to_writer(&mut *f, &line)?;
            f.write_all(b"\n")?;
        }
        Ok(())
    }

    pub fn total_requests(&self) -> u64 {
        self.requests.snapshot().values().sum()
    }

    pub fn has_undelivered_file(&self) -> bool {
        self.undelivered_file.is_some()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.rejects.flush()?;
        if let Some(f) = &mut self.undelivered_file {
            f.flush()?;
        }
        Ok(())
    }

    /// The summary lines for stderr.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "read {} records, shipped {}, retried {}, undelivered {}, rejected {}; {} requests{}",
            self.read,
            self.shipped,
            self.retried,
            self.undelivered,
            self.rejected(),
            self.total_requests(),
            if self.requests.snapshot().is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    self.requests
                        .snapshot()
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )];
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
        if self.objects > 0 {
            lines.push(format!("{} objects written", self.objects));
        }
        lines
    }
}
