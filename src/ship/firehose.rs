//! Firehose out: lines packed into newline-terminated records of at most
//! 1,000 KiB (`--pack`, the default), PutRecordBatch within 500 records and
//! 4 MiB, failed records of a partial failure retried like Kinesis entries.

use super::account::Account;
use super::batch::{
    Batchable, Limits, Packer, MAX_FIREHOSE_RECORD_BYTES, MAX_PUT_RECORD_BATCH, PUT_RECORD_BATCH,
};
use super::put_batch::{BatchSender, EntryResult, PutEntry, PutService};
use super::retry::{self, Backoff};
use super::{aws_error, object_checker, Item, Settings};
use crate::aws::{classify, Aws, Failure};
use crate::codec::scan::Scanner;
use aws_sdk_firehose::config::http::HttpResponse;
use aws_sdk_firehose::error::SdkError;
use aws_sdk_firehose::operation::describe_delivery_stream::DescribeDeliveryStreamError;
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

impl PutEntry for PackedRecord {
    fn attempts(&self) -> u32 {
        self.attempts
    }
    fn set_attempts(&mut self, n: u32) {
        self.attempts = n;
    }
    fn records(&self) -> u64 {
        self.origins.len() as u64
    }
    fn delivered(&self, acct: &mut Account) {
        acct.shipped += self.records();
        acct.stream_records += 1;
    }
    /// Each line of the record is kept with its own origin.
    fn undeliverable(&self, acct: &mut Account, code: &str, message: &str) -> std::io::Result<()> {
        let lines = self.data.split(|&b| b == b'\n').filter(|l| !l.is_empty());
        for (line, origin) in lines.zip(&self.origins) {
            acct.undeliverable(origin, &String::from_utf8_lossy(line), code, message)?;
        }
        Ok(())
    }
}

/// PutRecordBatch on one delivery stream.
struct PutRecordBatch {
    client: aws_sdk_firehose::Client,
    stream: String,
}

impl PutService for PutRecordBatch {
    type Entry = PackedRecord;
    const API: &'static str = "PutRecordBatch";
    const LIMITS: Limits = PUT_RECORD_BATCH;
    const MAX_RECORD_BYTES: usize = MAX_FIREHOSE_RECORD_BYTES;

    async fn put(&self, batch: &[PackedRecord]) -> Result<Vec<EntryResult>, Failure> {
        let records = batch
            .iter()
            .map(|r| Record::builder().data(Blob::new(r.data.clone())).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Failure::Client {
                code: "InvalidRecord".into(),
                message: e.to_string(),
            })?;
        let out = self
            .client
            .put_record_batch()
            .delivery_stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(out
            .request_responses()
            .iter()
            .map(|x| {
                x.error_code().map(|code| {
                    let msg = x.error_message().unwrap_or("record failed");
                    (code.to_string(), msg.to_string())
                })
            })
            .collect())
    }
}

/// DescribeDeliveryStream, asked only whether the stream is there. Real
/// Firehose always returns the S3 destination's `CompressionFormat`,
/// `BufferingHints` and `EncryptionConfiguration` (required members of
/// `S3DestinationDescription`, `UNCOMPRESSED` when none was set), so the SDK's
/// deserializer requires them; an emulator (moto) leaves out what the stream
/// was not created with, and the SDK then fails with "compression_format was
/// missing". A 2xx answer the SDK cannot read still says the stream exists:
/// nothing in the description is used, so it is never a reason to fail.
async fn stream_exists(
    client: &aws_sdk_firehose::Client,
    stream: &str,
) -> Result<(), SdkError<DescribeDeliveryStreamError, HttpResponse>> {
    match client
        .describe_delivery_stream()
        .delivery_stream_name(stream)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(SdkError::ResponseError(r)) if r.raw().status().is_success() => Ok(()),
        Err(e) => Err(e),
    }
}

pub struct FirehoseSink {
    sender: BatchSender<PutRecordBatch>,
    checker: Scanner,
    pack: bool,
    packer: Packer,
    packed_origins: Vec<String>,
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
            || stream_exists(&client, stream),
        )
        .await
        .map_err(|f| aws_error(&label, &f, &aws.endpoint_label()))?;
        let service = PutRecordBatch {
            client,
            stream: stream.to_string(),
        };
        Ok(FirehoseSink {
            sender: BatchSender::new(
                service,
                MAX_PUT_RECORD_BATCH,
                backoff,
                s.max_attempts,
                label,
                aws.endpoint_label(),
            ),
            checker: object_checker(),
            pack: s.pack,
            packer: Packer::new(MAX_FIREHOSE_RECORD_BYTES),
            packed_origins: Vec::new(),
            linger: s.linger,
            packing_since: None,
        })
    }

    pub async fn push(&mut self, item: Item, acct: &mut Account) -> anyhow::Result<()> {
        if let Err(why) = self.checker.scan(item.line.as_bytes()) {
            return item.reject(acct, &why);
        }
        if item.line.len() + 1 > MAX_FIREHOSE_RECORD_BYTES {
            acct.undeliverable(
                &item.origin.to_string(),
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
                self.sender.batcher.push(PackedRecord {
                    data,
                    origins,
                    attempts: 0,
                    queued_at: self.packing_since.unwrap_or_else(Instant::now),
                });
                self.packing_since = Some(Instant::now());
            }
            self.packed_origins.push(item.origin.to_string());
        } else {
            let mut data = item.line.into_bytes();
            data.push(b'\n');
            self.sender.batcher.push(PackedRecord {
                data,
                origins: vec![item.origin.to_string()],
                attempts: 0,
                queued_at: Instant::now(),
            });
        }
        while self.sender.batcher.ready() {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    fn seal(&mut self) {
        let since = self.packing_since.take().unwrap_or_else(Instant::now);
        if let Some((data, _)) = self.packer.seal() {
            let origins = std::mem::take(&mut self.packed_origins);
            self.sender.batcher.push(PackedRecord {
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
            .sender
            .batcher
            .front()
            .is_some_and(|r| now.duration_since(r.queued_at) >= self.linger)
        {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        self.seal();
        while !self.sender.batcher.is_empty() {
            self.sender.send_batch(acct).await?;
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.sender.batcher.is_empty() && self.packer.is_empty()
    }

    pub fn abandon(&mut self, acct: &mut Account, why: &str) {
        self.seal();
        for r in self.sender.batcher.drain() {
            let _ = r.undeliverable(acct, "NotDelivered", why);
        }
    }
}
