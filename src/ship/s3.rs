//! S3: objects written with PutObject (multipart above one part's size), and
//! read back under a prefix in key order.

use super::account::Account;
use super::lake::Sse;
use super::objects::{decoder, ObjectLines, ObjectMerge, Range};
use super::retry::{self, Backoff};
use super::{aws_error, Msg, Settings};
use crate::aws::{Aws, Failure};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use tokio::sync::mpsc::Sender;

/// Part size of multipart uploads; bodies above it are uploaded in parts.
pub const PART_SIZE: usize = 8 * super::batch::MIB;
const _: () = assert!(PART_SIZE >= super::batch::MIN_MULTIPART_PART);

pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    /// Server-side encryption asked for (`--sse`, `--sse-kms-key-id`).
    sse: Option<ServerSideEncryption>,
    sse_kms_key_id: Option<String>,
    backoff: Backoff,
    max_attempts: u32,
}

/// The Content-Type of an object, by its name.
fn content_type(key: &str) -> &'static str {
    if key.ends_with(".parquet") {
        "application/vnd.apache.parquet"
    } else {
        "application/x-ndjson"
    }
}

/// Checks that the bucket is there (and reachable) before anything is read.
async fn check_bucket(
    client: &aws_sdk_s3::Client,
    aws: &Aws,
    bucket: &str,
    backoff: &mut Backoff,
    acct: &mut Account,
) -> anyhow::Result<()> {
    retry::call(&acct.requests, "HeadBucket", backoff, 3, || {
        client.head_bucket().bucket(bucket).send()
    })
    .await
    .map(|_| ())
    .map_err(|f| {
        let f = match f {
            // HeadBucket answers 404 without a body.
            Failure::Client { code, message } if code == "HTTP404" => Failure::NotFound {
                code: "NoSuchBucket".into(),
                message,
            },
            other => other,
        };
        aws_error(&format!("s3://{bucket}"), &f, &aws.endpoint_label())
    })
}

impl S3Store {
    pub async fn open(
        aws: &Aws,
        bucket: &str,
        prefix: &str,
        s: &Settings,
        acct: &mut Account,
    ) -> anyhow::Result<S3Store> {
        let client = aws.s3();
        let mut backoff = Backoff::new(Backoff::DEFAULT_BASE, Backoff::DEFAULT_CAP, s.seed);
        check_bucket(&client, aws, bucket, &mut backoff, acct).await?;
        Ok(S3Store {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            sse: s.lake.sse.map(|a| match a {
                Sse::Kms => ServerSideEncryption::AwsKms,
                Sse::Aes256 => ServerSideEncryption::Aes256,
            }),
            sse_kms_key_id: s.lake.sse_kms_key_id.clone(),
            backoff,
            max_attempts: s.max_attempts,
        })
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }

    /// Writes one object; on failure (code, message, fatal).
    pub async fn put(
        &mut self,
        name: &str,
        body: Vec<u8>,
        acct: &mut Account,
    ) -> Result<(), (String, String, bool)> {
        let key = self.key(name);
        let result = if body.len() > PART_SIZE {
            self.put_multipart(&key, body, acct).await
        } else {
            let (client, bucket) = (&self.client, &self.bucket);
            let (sse, kms_key) = (&self.sse, &self.sse_kms_key_id);
            retry::call(
                &acct.requests,
                "PutObject",
                &mut self.backoff,
                self.max_attempts,
                || {
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(&key)
                        .content_type(content_type(&key))
                        .set_server_side_encryption(sse.clone())
                        .set_ssekms_key_id(kms_key.clone())
                        .body(ByteStream::from(body.clone()))
                        .send()
                },
            )
            .await
            .map(|_| ())
        };
        result.map_err(|f| {
            let fatal = matches!(
                f,
                Failure::Unreachable { .. } | Failure::NotFound { .. } | Failure::Denied { .. }
            );
            (
                f.code().to_string(),
                format!("s3://{}/{key}: {}", self.bucket, f.message()),
                fatal,
            )
        })
    }

    async fn put_multipart(
        &mut self,
        key: &str,
        body: Vec<u8>,
        acct: &mut Account,
    ) -> Result<(), Failure> {
        let (client, bucket) = (&self.client, &self.bucket);
        let (sse, kms_key) = (&self.sse, &self.sse_kms_key_id);
        // Encryption is set when the upload is created; the parts inherit it.
        let created = retry::call(
            &acct.requests,
            "CreateMultipartUpload",
            &mut self.backoff,
            self.max_attempts,
            || {
                client
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .content_type(content_type(key))
                    .set_server_side_encryption(sse.clone())
                    .set_ssekms_key_id(kms_key.clone())
                    .send()
            },
        )
        .await?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        let uploaded = match self.upload_parts(key, &upload_id, &body, acct).await {
            Ok(parts) => self.complete(key, &upload_id, parts, acct).await,
            Err(f) => Err(f),
        };
        let Err(failure) = uploaded else {
            return Ok(());
        };
        // Leave no orphaned parts behind (they are billed).
        let (client, bucket) = (&self.client, &self.bucket);
        let _ = retry::call(
            &acct.requests,
            "AbortMultipartUpload",
            &mut self.backoff,
            2,
            || {
                client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
            },
        )
        .await;
        Err(failure)
    }

    /// Uploads the body in parts of `PART_SIZE`; stops at the first failure.
    async fn upload_parts(
        &mut self,
        key: &str,
        upload_id: &str,
        body: &[u8],
        acct: &mut Account,
    ) -> Result<Vec<CompletedPart>, Failure> {
        let (client, bucket) = (&self.client, &self.bucket);
        let mut parts = Vec::new();
        for (i, chunk) in body.chunks(PART_SIZE).enumerate() {
            let number = i as i32 + 1;
            let out = retry::call(
                &acct.requests,
                "UploadPart",
                &mut self.backoff,
                self.max_attempts,
                || {
                    client
                        .upload_part()
                        .bucket(bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .body(ByteStream::from(chunk.to_vec()))
                        .send()
                },
            )
            .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .build(),
            );
        }
        Ok(parts)
    }

    async fn complete(
        &mut self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        acct: &mut Account,
    ) -> Result<(), Failure> {
        let (client, bucket) = (&self.client, &self.bucket);
        let done = CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        retry::call(
            &acct.requests,
            "CompleteMultipartUpload",
            &mut self.backoff,
            self.max_attempts,
            || {
                client
                    .complete_multipart_upload()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .multipart_upload(done.clone())
                    .send()
            },
        )
        .await
        .map(|_| ())
    }
}

/// Reads every object under a prefix, in key order.
pub struct S3Reader {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    range: Range,
    backoff: Backoff,
    max_attempts: u32,
    requests: super::account::Requests,
}

impl S3Reader {
    pub async fn open(
        aws: &Aws,
        bucket: &str,
        prefix: &str,
        range: Range,
        acct: &mut Account,
    ) -> anyhow::Result<S3Reader> {
        let client = aws.s3();
        let mut backoff = Backoff::new(Backoff::DEFAULT_BASE, Backoff::DEFAULT_CAP, 7);
        check_bucket(&client, aws, bucket, &mut backoff, acct).await?;
        Ok(S3Reader {
            client,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            range,
            backoff,
            max_attempts: 10,
            requests: acct.requests.clone(),
        })
    }

    pub async fn run(mut self, tx: Sender<Msg>) {
        if let Err(e) = self.read(&tx).await {
            let _ = tx.send(Msg::Fatal(e)).await;
        }
    }

    /// Reads the objects under the prefix merged by event time ([`ObjectMerge`]):
    /// each is fetched only when the merge reaches the time it starts at.
    async fn read(&mut self, tx: &Sender<Msg>) -> anyhow::Result<()> {
        let list_prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let keys = self.list(&list_prefix).await?;
        let mut merge = ObjectMerge::new(keys, self.range.event_time());
        loop {
            while let Some(rel) = merge.next_to_open() {
                let key = format!("{list_prefix}{rel}");
                let bytes = self.get(&key).await?;
                let url = format!("s3://{}/{key}", self.bucket);
                merge.opened(ObjectLines::open(&url, decoder(bytes)), &mut self.range);
            }
            let Some(msg) = merge.next(&mut self.range) else {
                return Ok(());
            };
            if tx.send(msg).await.is_err() {
                return Ok(());
            }
        }
    }

    /// Every object key under the prefix (relative to it) that --since/--until may want.
    async fn list(&mut self, list_prefix: &str) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (client, bucket) = (&self.client, &self.bucket);
            let page = retry::call(
                &self.requests,
                "ListObjectsV2",
                &mut self.backoff,
                self.max_attempts,
                || {
                    client
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(list_prefix)
                        .set_continuation_token(token.clone())
                        .send()
                },
            )
            .await
            .map_err(|f| anyhow::anyhow!("listing s3://{bucket}/{list_prefix}: {f}"))?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let rel = &key[list_prefix.len()..];
                if self.range.wants_object(rel) {
                    keys.push(rel.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    async fn get(&mut self, key: &str) -> anyhow::Result<Vec<u8>> {
        let (client, bucket) = (&self.client, &self.bucket);
        let got = retry::call(
            &self.requests,
            "GetObject",
            &mut self.backoff,
            self.max_attempts,
            || client.get_object().bucket(bucket).key(key).send(),
        )
        .await
        .map_err(|f| anyhow::anyhow!("reading s3://{bucket}/{key}: {f}"))?;
        Ok(got
            .body
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading s3://{bucket}/{key}: {e}"))?
            .into_bytes()
            .to_vec())
    }
}
