//! Accounting: what was read, shipped, retried, dead-lettered and rejected,
//! how many requests it took, and the dead-letter file that keeps every record
//! that could not be delivered, with the reason.

use crate::app::StoppedOnBadInput;
use crate::codec::BadInput;
use serde_json::json;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex};

/// Requests made, per API, shared by the sink and the source.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<BTreeMap<&'static str, u64>>>);

impl Requests {
    pub fn count(&self, api: &'static str) {
        *self.0.lock().expect("not poisoned").entry(api).or_insert(0) += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.0.lock().expect("not poisoned").clone()
    }
}

/// How many problems are reported one by one before only counting.
const MAX_REPORTS: u64 = 100;

pub struct Account {
    tool: &'static str,
    policy: BadInput,
    dead_letter: Option<BufWriter<File>>,
    reports: u64,
    pub read: u64,
    pub shipped: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub rejected: u64,
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
    ) -> io::Result<Self> {
        let dead_letter = match dead_letter {
            Some(p) => Some(BufWriter::new(File::create(p).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create dead-letter file {p}: {e}"))
            })?)),
            None => None,
        };
        Ok(Account {
            tool,
            policy,
            dead_letter,
            reports: 0,
            read: 0,
            shipped: 0,
            retried: 0,
            dead_lettered: 0,
            rejected: 0,
            requests: Requests::default(),
            batches: 0,
            full_batches: 0,
            batched_records: 0,
            objects: 0,
            stream_records: 0,
        })
    }

    fn report(&mut self, msg: std::fmt::Arguments) {
        self.reports += 1;
        if self.reports <= MAX_REPORTS {
            crate::warn!("{}: {msg}", self.tool);
        } else if self.reports == MAX_REPORTS + 1 {
            crate::warn!(
                "{}: more problems follow; only counting from here on",
                self.tool
            );
        }
    }

    fn write_dead_letter(
        &mut self,
        origin: &str,
        raw: &str,
        code: &str,
        message: &str,
    ) -> io::Result<()> {
        if let Some(dl) = &mut self.dead_letter {
            let line =
                json!({"error_code": code, "error": message, "origin": origin, "record": raw});
            serde_json::to_writer(&mut *dl, &line)?;
            dl.write_all(b"\n")?;
        }
        Ok(())
    }

    /// A bad input line: reported, counted, kept; an error when the policy is to stop.
    pub fn reject(&mut self, origin: &str, raw: &str, why: &str) -> anyhow::Result<()> {
        self.rejected += 1;
        self.report(format_args!("{origin}: {why}"));
        self.write_dead_letter(origin, raw, "BadInput", why)?;
        if self.policy == BadInput::Fail {
            self.flush()?;
            return Err(
                StoppedOnBadInput(format!("stopped at {origin} (--on-bad-input fail)")).into(),
            );
        }
        Ok(())
    }

    /// A record that could not be delivered: reported, counted, kept with its error code.
    pub fn dead_letter(
        &mut self,
        origin: &str,
        raw: &str,
        code: &str,
        message: &str,
    ) -> io::Result<()> {
        self.dead_lettered += 1;
        self.report(format_args!("{origin}: not delivered: {message} ({code})"));
        self.write_dead_letter(origin, raw, code, message)
    }

    pub fn total_requests(&self) -> u64 {
        self.requests.snapshot().values().sum()
    }

    pub fn has_dead_letter_file(&self) -> bool {
        self.dead_letter.is_some()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(dl) = &mut self.dead_letter {
            dl.flush()?;
        }
        Ok(())
    }

    /// The summary lines for stderr.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "read {} records, shipped {}, retried {}, dead-lettered {}, rejected {}; {} requests{}",
            self.read,
            self.shipped,
            self.retried,
            self.dead_lettered,
            self.rejected,
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
