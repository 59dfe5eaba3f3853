//! Kinesis Data Streams out: PutRecords within 500 records / 5 MiB, records
//! within 1 MiB, partition key from a field, only the failed entries of a
//! partial failure retried (first, before anything of their key that came
//! later), with capped exponential backoff and jitter.

use super::account::Account;
use super::batch::{
    Batchable, Limits, MAX_KINESIS_RECORD_BYTES, MAX_PARTITION_KEY_CHARS, MAX_PUT_RECORDS,
    PUT_RECORDS,
};
use super::put_batch::{BatchSender, EntryResult, PutEntry, PutService};
use super::retry::{self, Backoff};
use super::{aws_error, Item, Settings};
use crate::aws::{classify, Aws, Failure};
use crate::codec::scan::{Fields, Kind, Scanner, Slot, Value};
use crate::time::TimeParser;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Queued entries that make a call worth sending: enough lookahead to fill
/// calls with distinct keys from an unsorted stream of many containers.
const LOOKAHEAD: usize = 4 * MAX_PUT_RECORDS;

struct Entry {
    key: String,
    data: Vec<u8>,
    origin: String,
    attempts: u32,
    queued_at: Instant,
}

impl Batchable for Entry {
    fn size(&self) -> usize {
        self.data.len() + self.key.len()
    }
    fn key(&self) -> Option<&str> {
        Some(&self.key)
    }
}

impl PutEntry for Entry {
    fn attempts(&self) -> u32 {
        self.attempts
    }
    fn set_attempts(&mut self, n: u32) {
        self.attempts = n;
    }
    fn records(&self) -> u64 {
        1
    }
    fn delivered(&self, acct: &mut Account) {
        acct.shipped += 1;
    }
    fn undeliverable(&self, acct: &mut Account, code: &str, message: &str) -> std::io::Result<()> {
        let record = String::from_utf8_lossy(self.data.strip_suffix(b"\n").unwrap_or(&self.data));
        acct.undeliverable(&self.origin, &record, code, message)
    }
}

/// PutRecords on one stream.
struct PutRecords {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

impl PutService for PutRecords {
    type Entry = Entry;
    const API: &'static str = "PutRecords";
    const LIMITS: Limits = PUT_RECORDS;
    const MAX_RECORD_BYTES: usize = MAX_KINESIS_RECORD_BYTES;

    async fn put(&self, batch: &[Entry]) -> Result<Vec<EntryResult>, Failure> {
        let entries = batch
            .iter()
            .map(|e| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(e.data.clone()))
                    .partition_key(&e.key)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Client {
                code: "InvalidEntry".into(),
                message: e.to_string(),
            })?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        if out.failed_record_count().unwrap_or(0) == 0 {
            return Ok(vec![None; batch.len()]);
        }
        Ok(out
            .records()
            .iter()
            .map(|r| {
                r.error_code().map(|code| {
                    let msg = r.error_message().unwrap_or("entry failed");
                    (code.to_string(), msg.to_string())
                })
            })
            .collect())
    }

    /// A KMS error other than throttling is a key's configuration: it stays.
    fn permanent(code: &str) -> bool {
        code.starts_with("KMS") && code != "KMSThrottlingException"
    }
}

/// The partition key of records, read with the shared scanner: a string as it
/// is, a number or boolean as its JSON text; absent, null, empty or too long
/// is a bad line.
struct PartitionKey {
    scanner: Scanner,
    any: Slot,
    json: Slot,
    field: String,
}

impl PartitionKey {
    fn new(field: &str) -> Self {
        let mut fields = Fields::new(TimeParser::default());
        let any = fields.add(field, Kind::Any);
        let json = fields.add(field, Kind::Json);
        PartitionKey {
            scanner: Scanner::new(Arc::new(fields)),
            any,
            json,
            field: field.to_string(),
        }
    }

    fn of(&mut self, line: &str) -> Result<String, String> {
        let field = &self.field;
        let rec = self.scanner.scan(line.as_bytes())?;
        let key = match rec.get(self.any) {
            Value::Missing | Value::Null => {
                return Err(format!(
                    "no partition key: field {field:?} is missing or null"
                ))
            }
            Value::Str(s) => s.to_string(),
            Value::Num(_) | Value::Bool(_) => rec.json(self.json).unwrap_or_default().to_string(),
            _ => {
                return Err(format!(
                    "partition key field {field:?} is not a string or number"
                ))
            }
        };
        if key.is_empty() {
            return Err(format!("no partition key: field {field:?} is empty"));
        }
        if key.chars().count() > MAX_PARTITION_KEY_CHARS {
            return Err(format!(
                "partition key in {field:?} is longer than {MAX_PARTITION_KEY_CHARS} characters"
            ));
        }
        Ok(key)
    }
}

pub struct KinesisSink {
    sender: BatchSender<PutRecords>,
    key: PartitionKey,
    linger: Duration,
}

impl KinesisSink {
    pub async fn open(
        aws: &Aws,
        stream: &str,
        s: &Settings,
        acct: &mut Account,
    ) -> anyhow::Result<KinesisSink> {
        let client = aws.kinesis();
        let mut backoff = Backoff::new(Backoff::DEFAULT_BASE, Backoff::DEFAULT_CAP, s.seed);
        let label = format!("kinesis://{stream}");
        retry::call(
            &acct.requests,
            "DescribeStreamSummary",
            &mut backoff,
            3,
            || client.describe_stream_summary().stream_name(stream).send(),
        )
        .await
        .map_err(|f| aws_error(&label, &f, &aws.endpoint_label()))?;
        let service = PutRecords {
            client,
            stream: stream.to_string(),
        };
        Ok(KinesisSink {
            sender: BatchSender::new(
                service,
                LOOKAHEAD,
                backoff,
                s.max_attempts,
                label,
                aws.endpoint_label(),
            ),
            key: PartitionKey::new(&s.partition_key),
            linger: s.linger,
        })
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        let key = match self.key.of(&item.line) {
            Ok(k) => k,
            Err(why) => return item.reject(acct, &why),
        };
        let origin = item.origin.to_string();
        let mut data = item.line.into_bytes();
        data.push(b'\n');
        let size = data.len() + key.len();
        let entry = Entry {
            key,
            data,
            origin,
            attempts: 0,
            queued_at: Instant::now(),
        };
        if size > MAX_KINESIS_RECORD_BYTES {
            let why = format!(
                "record of {size} bytes with its partition key exceeds the Kinesis limit of 1 MiB; not sent"
            );
            entry.undeliverable(acct, "RecordTooLarge", &why)?;
            return Ok(());
        }
        self.sender.batcher.push(entry);
        while self.sender.batcher.ready() {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn tick(&mut self, now: Instant, acct: &mut Account) -> anyhow::Result<()> {
        // Send what waited longer than --linger; calls stay full when enough is queued.
        while self
            .sender
            .batcher
            .front()
            .is_some_and(|e| now.duration_since(e.queued_at) >= self.linger)
        {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        while !self.sender.batcher.is_empty() {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.sender.batcher.is_empty()
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        for e in self.sender.batcher.drain() {
            let _ = e.undeliverable(acct, "NotDelivered", why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_keys_come_from_top_level_fields_the_last_of_duplicates() {
        let mut k = PartitionKey::new("container_id");
        let l = r#"{"a":{"container_id":"X"},"container_id":"MSKU1","n":3}"#;
        assert_eq!(k.of(l).unwrap(), "MSKU1");
        assert_eq!(
            k.of(r#"{"container_id":"A","container_id":"B"}"#).unwrap(),
            "B"
        );
        assert_eq!(PartitionKey::new("n").of(l).unwrap(), "3");
    }

    #[test]
    fn a_partition_key_must_be_present_and_short() {
        let mut k = PartitionKey::new("container_id");
        assert!(k
            .of(r#"{"container_id":null}"#)
            .unwrap_err()
            .contains("missing"));
        assert!(k.of(r#"{"x":1}"#).unwrap_err().contains("missing"));
        assert!(k
            .of(r#"{"container_id":""}"#)
            .unwrap_err()
            .contains("empty"));
        assert!(k
            .of(r#"{"container_id":[1]}"#)
            .unwrap_err()
            .contains("not a string"));
        assert!(k.of("[1]").is_err());
        let long = format!(r#"{{"container_id":"{}"}}"#, "x".repeat(257));
        assert!(k.of(&long).unwrap_err().contains("256"));
    }
}
