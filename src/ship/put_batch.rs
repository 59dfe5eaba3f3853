//! The one send loop for batched puts, shared by Kinesis (PutRecords) and
//! Firehose (PutRecordBatch): cut a call within the service's limits, send it,
//! count what was delivered, put the failed entries of a partial failure back
//! at the front of the queue (which keeps per-key order, see
//! [`KeyedBatcher`]) with capped exponential backoff, and give up on an entry
//! after `--max-attempts`. What differs per service is the call itself and
//! its limits ([`PutService`]) and what an entry holds ([`PutEntry`]).

use super::account::Account;
use super::batch::{Batchable, KeyedBatcher, Limits};
use super::retry::{Backoff, UNREACHABLE_ATTEMPTS};
use super::{aws_error, SinkFailed};
use crate::aws::Failure;

/// One entry of a batched call.
pub(super) trait PutEntry: Batchable {
    /// Calls this entry was part of and that failed for it.
    fn attempts(&self) -> u32;
    fn set_attempts(&mut self, n: u32);
    /// Input records it carries (a packed Firehose record holds several lines).
    fn records(&self) -> u64;
    /// Counts it as delivered.
    fn delivered(&self, acct: &mut Account);
    /// Keeps it in the undelivered file with the error.
    fn undeliverable(&self, acct: &mut Account, code: &str, message: &str) -> std::io::Result<()>;
}

/// The outcome of one entry of a call: `None` when accepted, else its error
/// code and message.
pub(super) type EntryResult = Option<(String, String)>;

/// A batched put API.
pub(super) trait PutService {
    type Entry: PutEntry;
    /// The API's name, for request counts.
    const API: &'static str;
    /// Records and bytes per call.
    const LIMITS: Limits;
    /// One record's size limit: a call with less room than this left is full.
    const MAX_RECORD_BYTES: usize;

    /// Sends one call: one result per entry, in order (a missing result is a
    /// failure), or the failure of the whole call.
    async fn put(&self, batch: &[Self::Entry]) -> Result<Vec<EntryResult>, Failure>;

    /// An entry error that no retry can fix.
    fn permanent(_code: &str) -> bool {
        false
    }
}

/// Queues entries for one service and sends them.
pub(super) struct BatchSender<S: PutService> {
    pub service: S,
    pub batcher: KeyedBatcher<S::Entry>,
    backoff: Backoff,
    max_attempts: u32,
    /// The destination and endpoint, for messages.
    label: String,
    endpoint: String,
}

impl<S: PutService> BatchSender<S> {
    pub fn new(
        service: S,
        lookahead: usize,
        backoff: Backoff,
        max_attempts: u32,
        label: String,
        endpoint: String,
    ) -> Self {
        BatchSender {
            service,
            batcher: KeyedBatcher::new(S::LIMITS, lookahead),
            backoff,
            max_attempts,
            label,
            endpoint,
        }
    }

    /// Sends one call and sorts out what happened to every entry.
    pub async fn send_batch(&mut self, acct: &mut Account) -> anyhow::Result<()> {
        let batch = self.batcher.take_batch();
        if batch.is_empty() {
            return Ok(());
        }
        let bytes: usize = batch.iter().map(Batchable::size).sum();
        acct.batches += 1;
        acct.batched_records += batch.len() as u64;
        if batch.len() == S::LIMITS.max_records
            || bytes.saturating_add(S::MAX_RECORD_BYTES) > S::LIMITS.max_bytes
        {
            acct.full_batches += 1;
        }
        acct.requests.count(S::API);
        let failed = match self.service.put(&batch).await {
            Ok(results) => {
                let mut failed = Vec::new();
                for (i, e) in batch.into_iter().enumerate() {
                    match results.get(i) {
                        Some(None) => e.delivered(acct),
                        Some(Some((code, msg))) => failed.push((e, code.clone(), msg.clone())),
                        None => failed.push((e, "MissingResult".into(), "entry failed".into())),
                    }
                }
                failed
            }
            Err(f) => match self.call_failed(batch, f, acct)? {
                Some(failed) => failed,
                None => return Ok(()),
            },
        };
        self.retry_or_give_up(failed, acct).await
    }

    /// A call that failed as a whole: fatal (the batch is kept for the final
    /// accounting), refused (every entry undeliverable), or to be retried.
    #[allow(clippy::type_complexity)]
    fn call_failed(
        &mut self,
        batch: Vec<S::Entry>,
        f: Failure,
        acct: &mut Account,
    ) -> anyhow::Result<Option<Vec<(S::Entry, String, String)>>> {
        let attempts = batch.iter().map(|e| e.attempts()).max().unwrap_or(0);
        match &f {
            Failure::Unreachable { .. } if attempts + 1 < UNREACHABLE_ATTEMPTS => {}
            Failure::Unreachable { .. } | Failure::NotFound { .. } | Failure::Denied { .. } => {
                self.batcher.requeue_front(batch);
                let why = aws_error(&self.label, &f, &self.endpoint).to_string();
                return Err(SinkFailed(why).into());
            }
            Failure::Client { code, message } => {
                // The request itself was refused: retrying cannot help.
                for e in &batch {
                    e.undeliverable(acct, code, message)?;
                }
                return Ok(None);
            }
            _ => {}
        }
        let (code, msg) = (f.code().to_string(), f.message().to_string());
        Ok(Some(
            batch
                .into_iter()
                .map(|e| (e, code.clone(), msg.clone()))
                .collect(),
        ))
    }

    /// Failed entries go back to the front of the queue, after a backoff, or
    /// to the undelivered file once out of attempts.
    async fn retry_or_give_up(
        &mut self,
        failed: Vec<(S::Entry, String, String)>,
        acct: &mut Account,
    ) -> anyhow::Result<()> {
        let mut retry = Vec::new();
        let mut max_attempt = 0;
        for (mut e, code, msg) in failed {
            let n = e.attempts().saturating_add(1);
            e.set_attempts(n);
            if n >= self.max_attempts || S::permanent(&code) {
                e.undeliverable(acct, &code, &format!("{msg} (after {n} attempts)"))?;
            } else {
                acct.retried += e.records();
                max_attempt = max_attempt.max(n);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BadInput;
    use std::cell::RefCell;
    use std::time::Duration;

    struct Rec {
        key: String,
        attempts: u32,
    }

    impl Batchable for Rec {
        fn size(&self) -> usize {
            10
        }
        fn key(&self) -> Option<&str> {
            Some(&self.key)
        }
    }

    impl PutEntry for Rec {
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
        fn undeliverable(&self, acct: &mut Account, code: &str, msg: &str) -> std::io::Result<()> {
            acct.undeliverable(&self.key, &self.key, code, msg)
        }
    }

    /// Fails every entry whose key is in `always`, and every odd entry of the
    /// first call; records what each call held.
    struct Flaky {
        always: Vec<&'static str>,
        calls: RefCell<Vec<Vec<String>>>,
    }

    impl PutService for Flaky {
        type Entry = Rec;
        const API: &'static str = "Put";
        const LIMITS: Limits = Limits {
            max_records: 3,
            max_bytes: 1000,
        };
        const MAX_RECORD_BYTES: usize = 100;

        async fn put(&self, batch: &[Rec]) -> Result<Vec<EntryResult>, Failure> {
            let first = self.calls.borrow().is_empty();
            self.calls
                .borrow_mut()
                .push(batch.iter().map(|r| r.key.clone()).collect());
            Ok(batch
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let fails = self.always.contains(&r.key.as_str()) || (first && i % 2 == 1);
                    fails.then(|| ("Throttled".to_string(), "slow down".to_string()))
                })
                .collect())
        }
    }

    #[test]
    fn failed_entries_are_retried_first_and_given_up_after_max_attempts() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut acct = Account::new("t", BadInput::Skip, None, None).unwrap();
        let service = Flaky {
            always: vec!["b"],
            calls: RefCell::new(Vec::new()),
        };
        let backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(2), 1);
        let mut sender = BatchSender::new(service, 3, backoff, 3, "t://x".into(), "e".into());
        for key in ["a", "b", "c", "d"] {
            sender.batcher.push(Rec {
                key: key.into(),
                attempts: 0,
            });
        }
        rt.block_on(async {
            while !sender.batcher.is_empty() {
                sender.send_batch(&mut acct).await.unwrap();
            }
        });
        let calls = sender.service.calls.borrow().clone();
        assert_eq!(calls[0], ["a", "b", "c"]);
        // The failed entry goes first again, before what was queued after it.
        assert_eq!(calls[1][0], "b");
        assert_eq!(acct.shipped, 3, "a, c and d");
        assert_eq!(acct.undelivered, 1, "b, after 3 attempts");
        assert_eq!(acct.retried, 2);
        assert_eq!(acct.batches as usize, calls.len());
    }
}
