//! Firehose out: lines packed into newline-terminated records of at most
//! 1,000 KiB (`--pack`, the default), PutRecordBatch within 500 records and
//! 4 MiB, failed records of a partial failure retried like Kinesis entries.

use super::account::Account;
use super::batch::{
    Batchable, KeyedBatcher, Packer, MAX_FIREHOSE_RECORD_BYTES, MAX_PUT_RECORD_BATCH,
    MAX_PUT_RECORD_BATCH_BYTES, PUT_RECORD_BATCH,
};
use super::retry::{self, Backoff, UNREACHABLE_ATTEMPTS};
use super::{aws_error, field, Item, Settings, SinkFailed};
use crate::aws::{classify, Aws, Failure};
use aws_sdk_firehose::primitives::Blob;
use aws_sdk_firehose::types::Record;
use std::time::{Duration, Instant};

struct PackedRecord {
    data: Vec<u8>,
    origins: Vec<String>,
    attempts: u32,
    queued_at: Instant,
}

impl Batchable for PackedRecord {
    fn size(&self) -> usize {
        self.data.len()
    }
    fn key(&self) -> Option<&str> {
        None
    }
}

pub struct FirehoseSink {
    client: aws_sdk_firehose::Client,
    stream: String,
    label: String,
    endpoint: String,
    pack: bool,
    packer: Packer,
    packed_origins: Vec<String>,
    batcher: KeyedBatcher<PackedRecord>,
    backoff: Backoff,
    max_attempts: u32,
    linger: Duration,
    /// When the record being packed got its first line.
    packing_since: Option<Instant>,
}

impl FirehoseSink {
    pub async fn open(
        aws: &Aws,
        stream: &str,
        s: &Settings,
        acct: &mut Account,
    ) -> anyhow::Result<FirehoseSink> {
        let client = aws.firehose();
        let mut backoff = Backoff::new(Backoff::DEFAULT_BASE, Backoff::DEFAULT_CAP, s.seed);
        let label = format!("firehose://{stream}");
        retry::call(
            &acct.requests,
            "DescribeDeliveryStream",
            &mut backoff,
            3,
            || {
                client
                    .describe_delivery_stream()
                    .delivery_stream_name(stream)
                    .send()
            },
        )
        .await
        .map_err(|f| aws_error(&label, &f, &aws.endpoint_label()))?;
        Ok(FirehoseSink {
            client,
            stream: stream.to_string(),
            label,
            endpoint: aws.endpoint_label(),
            pack: s.pack,
            packer: Packer::new(MAX_FIREHOSE_RECORD_BYTES),
            packed_origins: Vec::new(),
            batcher: KeyedBatcher::new(PUT_RECORD_BATCH, MAX_PUT_RECORD_BATCH),
            backoff,
            max_attempts: s.max_attempts,
            linger: s.linger,
            packing_since: None,
        })
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        if let Err(why) = field::check_object(&item.line) {
            return acct.reject(&item.origin, &item.line, &why);
        }
        if item.line.len() + 1 > MAX_FIREHOSE_RECORD_BYTES {
            acct.dead_letter(
                &item.origin,
                &item.line,
                "RecordTooLarge",
                &format!(
                    "record of {} bytes exceeds the Firehose limit of 1,000 KiB; not sent",
                    item.line.len() + 1
                ),
            )?;
            return Ok(());
        }
        if self.pack {
            if self.packer.is_empty() {
                self.packing_since = Some(Instant::now());
            }
            if let Some((data, _)) = self.packer.add(item.line.as_bytes()) {
                let origins = std::mem::take(&mut self.packed_origins);
                self.batcher.push(PackedRecord {
                    data,
                    origins,
                    attempts: 0,
                    queued_at: self.packing_since.unwrap_or_else(Instant::now),
                });
                self.packing_since = Some(Instant::now());
            }
            self.packed_origins.push(item.origin);
        } else {
            let mut data = item.line.into_bytes();
            data.push(b'\n');
            self.batcher.push(PackedRecord {
                data,
                origins: vec![item.origin],
                attempts: 0,
                queued_at: Instant::now(),
            });
        }
        while self.batcher.ready() {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    fn seal(&mut self) {
        let since = self.packing_since.take().unwrap_or_else(Instant::now);
        if let Some((data, _)) = self.packer.seal() {
            let origins = std::mem::take(&mut self.packed_origins);
            self.batcher.push(PackedRecord {
                data,
                origins,
                attempts: 0,
                queued_at: since,
            });
        }
    }

    pub async fn tick(&mut self, now: Instant, acct: &mut Account) -> anyhow::Result<()> {
        if self
            .packing_since
            .is_some_and(|t| now.duration_since(t) >= self.linger)
        {
            self.seal();
        }
        while self
            .batcher
            .front()
            .is_some_and(|r| now.duration_since(r.queued_at) >= self.linger)
        {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        self.seal();
        while !self.batcher.is_empty() {
            self.send_batch(acct).await?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.batcher.is_empty() && self.packer.is_empty()
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        self.seal();
        for r in self.batcher.drain() {
            let _ = dead_letter_record(acct, &r, "NotDelivered", why);
        }
    }

    async fn send_batch(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        let batch = self.batcher.take_batch();
        if batch.is_empty() {
            return Ok(());
        }
        let bytes: usize = batch.iter().map(Batchable::size).sum();
        acct.batches += 1;
        acct.batched_records += batch.len() as u64;
        if batch.len() == MAX_PUT_RECORD_BATCH
            || bytes + MAX_FIREHOSE_RECORD_BYTES > MAX_PUT_RECORD_BATCH_BYTES
        {
            acct.full_batches += 1;
        }
        let records: Vec<Record> = batch
            .iter()
            .map(|r| {
                Record::builder()
                    .data(Blob::new(r.data.clone()))
                    .build()
                    .expect("data is set")
            })
            .collect();
        acct.requests.count("PutRecordBatch");
        let result = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await;
        let mut failed: Vec<(PackedRecord, String, String)> = Vec::new();
        match result {
            Ok(out) => {
                let results = out.request_responses();
                for (i, r) in batch.into_iter().enumerate() {
                    match results.get(i).and_then(|x| x.error_code()) {
                        None if i < results.len() => {
                            acct.shipped += r.origins.len() as u64;
                            acct.stream_records += 1;
                        }
                        code => {
                            let code = code.unwrap_or("MissingResult").to_string();
                            let msg = results
                                .get(i)
                                .and_then(|x| x.error_message())
                                .unwrap_or("record failed")
                                .to_string();
                            failed.push((r, code, msg));
                        }
                    }
                }
            }
            Err(err) => {
                let f = classify(&err);
                match &f {
                    Failure::Unreachable { .. }
                        if batch.iter().map(|r| r.attempts).max().unwrap_or(0) + 1
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
                        for r in batch {
                            dead_letter_record(acct, &r, code, message)?;
                        }
                        return Ok(());
                    }
                    _ => {
                        let (code, msg) = (f.code().to_string(), f.message().to_string());
                        failed = batch
                            .into_iter()
                            .map(|r| (r, code.clone(), msg.clone()))
                            .collect();
                    }
                }
            }
        }
        let mut retry = Vec::new();
        let mut max_attempt = 0;
        for (mut r, code, msg) in failed {
            r.attempts += 1;
            if r.attempts >= self.max_attempts {
                dead_letter_record(
                    acct,
                    &r,
                    &code,
                    &format!("{msg} (after {} attempts)", r.attempts),
                )?;
            } else {
                acct.retried += r.origins.len() as u64;
                max_attempt = max_attempt.max(r.attempts);
                retry.push(r);
            }
        }
        if !retry.is_empty() {
            self.batcher.requeue_front(retry);
            tokio::time::sleep(self.backoff.delay(max_attempt)).await;
        }
        Ok(())
    }
}

fn dead_letter_record(
    acct: &mut Account,
    r: &PackedRecord,
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    let lines = r.data.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    for (line, origin) in lines.zip(&r.origins) {
        acct.dead_letter(origin, &String::from_utf8_lossy(line), code, message)?;
    }
    Ok(())
}
