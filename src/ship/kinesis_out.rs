//! Kinesis Data Streams out: PutRecords within 500 records / 5 MiB, records
//! within 1 MiB, partition key from a field, only the failed entries of a
//! partial failure retried (first, before anything of their key that came
//! later), with capped exponential backoff and jitter.

use super::account::Account;
use super::batch::{
    Batchable, KeyedBatcher, MAX_KINESIS_RECORD_BYTES, MAX_PUT_RECORDS, MAX_PUT_RECORDS_BYTES,
    PUT_RECORDS,
};
use super::retry::{self, Backoff, UNREACHABLE_ATTEMPTS};
use super::{aws_error, field, Item, Settings, SinkFailed};
use crate::aws::{classify, Aws, Failure};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
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

pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
    stream: String,
    label: String,
    endpoint: String,
    field: String,
    batcher: KeyedBatcher<Entry>,
    backoff: Backoff,
    max_attempts: u32,
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
        Ok(KinesisSink {
            client,
            stream: stream.to_string(),
            label,
            endpoint: aws.endpoint_label(),
            field: s.partition_key.clone(),
            batcher: KeyedBatcher::new(PUT_RECORDS, LOOKAHEAD),
            backoff,
            max_attempts: s.max_attempts,
            linger: s.linger,
        })
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        let key = match field::partition_key(&item.line, &self.field) {
            Ok(k) => k,
            Err(why) => return acct.reject(&item.origin, &item.line, &why),
        };
        let mut data = item.line.into_bytes();
        data.push(b'\n');
        if data.len() + key.len() > MAX_KINESIS_RECORD_BYTES {
            let raw = String::from_utf8_lossy(&data[..data.len() - 1]).into_owned();
            acct.dead_letter(
                &item.origin,
                &raw,
                "RecordTooLarge",
                &format!(
                    "record of {} bytes with its partition key exceeds the Kinesis limit of 1 MiB; not sent",
                    data.len() + key.len()
                ),
            )?;
            return Ok(());
        }
        self.batcher.push(Entry {
            key,
            data,
            origin: item.origin,
            attempts: 0,
            queued_at: Instant::now(),
        });
        while self.batcher.ready() {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn tick(&mut self, now: Instant, acct: &mut Account) -> anyhow::Result<()> {
        // Send what waited longer than --linger; calls stay full when enough is queued.
        while self
            .batcher
            .front()
            .is_some_and(|e| now.duration_since(e.queued_at) >= self.linger)
        {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        while !self.batcher.is_empty() {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.batcher.is_empty()
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        for e in self.batcher.drain() {
            let raw =
                String::from_utf8_lossy(e.data.strip_suffix(b"\n").unwrap_or(&e.data)).into_owned();
            let _ = acct.dead_letter(&e.origin, &raw, "NotDelivered", why);
        }
    }

    /// Sends one PutRecords call and sorts out what happened to every entry.
    async fn send_batch(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        let batch = self.batcher.take_batch();
        if batch.is_empty() {
            return Ok(());
        }
        let bytes: usize = batch.iter().map(Batchable::size).sum();
        acct.batches += 1;
        acct.batched_records += batch.len() as u64;
        if batch.len() == MAX_PUT_RECORDS
            || bytes + MAX_KINESIS_RECORD_BYTES > MAX_PUT_RECORDS_BYTES
        {
            acct.full_batches += 1;
        }
        let entries: Vec<PutRecordsRequestEntry> = batch
            .iter()
            .map(|e| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(e.data.clone()))
                    .partition_key(&e.key)
                    .build()
                    .expect("data and key are set")
            })
            .collect();
        acct.requests.count("PutRecords");
        let result = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(entries))
            .send()
            .await;
        let mut failed: Vec<(Entry, String, String)> = Vec::new();
        match result {
            Ok(out) => {
                if out.failed_record_count().unwrap_or(0) == 0 {
                    acct.shipped += batch.len() as u64;
                } else {
                    let results = out.records();
                    for (i, e) in batch.into_iter().enumerate() {
                        match results.get(i).and_then(|r| r.error_code()) {
                            None if i < results.len() => acct.shipped += 1,
                            code => {
                                let code = code.unwrap_or("MissingResult").to_string();
                                let msg = results
                                    .get(i)
                                    .and_then(|r| r.error_message())
                                    .unwrap_or("entry failed")
                                    .to_string();
                                failed.push((e, code, msg));
                            }
                        }
                    }
                }
            }
            Err(err) => {
                let f = classify(&err);
                match &f {
                    Failure::Unreachable { .. }
                        if batch.iter().map(|e| e.attempts).max().unwrap_or(0) + 1
                            >= UNREACHABLE_ATTEMPTS =>
                    {
                        self.batcher.requeue_front(batch);
                        return Err(SinkFailed(
                            aws_error(&self.label, &f, &self.endpoint).to_string(),
                        )
                        .into());
                    }
                    Failure::NotFound { .. } | Failure::Denied { .. } => {
                        self.batcher.requeue_front(batch);
                        return Err(SinkFailed(
                            aws_error(&self.label, &f, &self.endpoint).to_string(),
                        )
                        .into());
                    }
                    Failure::Client { code, message } => {
                        // The request itself was refused: retrying cannot help.
                        for e in batch {
                            let raw = String::from_utf8_lossy(
                                e.data.strip_suffix(b"\n").unwrap_or(&e.data),
                            )
                            .into_owned();
                            acct.dead_letter(&e.origin, &raw, code, message)?;
                        }
                        return Ok(());
                    }
                    _ => {
                        let (code, msg) = (f.code().to_string(), f.message().to_string());
                        failed = batch
                            .into_iter()
                            .map(|e| (e, code.clone(), msg.clone()))
                            .collect();
                    }
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        let mut retry = Vec::new();
        let mut max_attempt = 0;
        for (mut e, code, msg) in failed {
            e.attempts += 1;
            if e.attempts >= self.max_attempts
                || code.starts_with("KMS") && code != "KMSThrottlingException"
            {
                let raw = String::from_utf8_lossy(e.data.strip_suffix(b"\n").unwrap_or(&e.data))
                    .into_owned();
                acct.dead_letter(
                    &e.origin,
                    &raw,
                    &code,
                    &format!("{msg} (after {} attempts)", e.attempts),
                )?;
            } else {
                acct.retried += 1;
                max_attempt = max_attempt.max(e.attempts);
                retry.push(e);
            }
        }
        if !retry.is_empty() {
            self.batcher.requeue_front(retry);
            // Throttled or failing: slow down before the next call, all keys alike.
            tokio::time::sleep(self.backoff.delay(max_attempt)).await;
        }
        Ok(())
    }
}
