//! Pure batching logic: service limits as named constants, the keyed batcher
//! that keeps per-key order across partial failures, and the Firehose packer.
//! No I/O and no clock here, so it is property-tested.

use std::collections::{HashSet, VecDeque};

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * 1024;

/// Kinesis PutRecords: at most this many records per call.
pub const MAX_PUT_RECORDS: usize = 500;
/// Kinesis PutRecords: at most this many bytes (data plus partition keys) per call.
pub const MAX_PUT_RECORDS_BYTES: usize = 5 * MIB;
/// Kinesis: one record's data plus partition key at most 1 MiB.
pub const MAX_KINESIS_RECORD_BYTES: usize = MIB;
/// Kinesis: a partition key is 1 to 256 Unicode characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;
/// Firehose PutRecordBatch: at most this many records per call.
pub const MAX_PUT_RECORD_BATCH: usize = 500;
/// Firehose PutRecordBatch: at most this many bytes per call.
pub const MAX_PUT_RECORD_BATCH_BYTES: usize = 4 * MIB;
/// Firehose: one record at most 1,000 KiB.
pub const MAX_FIREHOSE_RECORD_BYTES: usize = 1000 * KIB;
/// S3: every multipart part but the last is at least 5 MiB.
pub const MIN_MULTIPART_PART: usize = 5 * MIB;

/// Limits of one batched call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_records: usize,
    pub max_bytes: usize,
}

pub const PUT_RECORDS: Limits = Limits {
    max_records: MAX_PUT_RECORDS,
    max_bytes: MAX_PUT_RECORDS_BYTES,
};

pub const PUT_RECORD_BATCH: Limits = Limits {
    max_records: MAX_PUT_RECORD_BATCH,
    max_bytes: MAX_PUT_RECORD_BATCH_BYTES,
};

/// Something that goes into a batch.
pub trait Batchable {
    /// Bytes it counts for against the call's size limit.
    fn size(&self) -> usize;
    /// The ordering key: at most one entry per key goes into one call, so that a
    /// partial failure can be retried without overtaking a later record of that key.
    fn key(&self) -> Option<&str>;
}

/// Queues entries and cuts them into calls within [`Limits`].
///
/// With keys, a call never holds two entries of one key, and an entry is only
/// taken when no earlier entry of its key is still queued: retrying the failed
/// entries of a call first ([`KeyedBatcher::requeue_front`]) therefore keeps
/// per-key order, whatever failed. A lookahead over the queue keeps calls full
/// when keys repeat (a live, unsorted stream of many containers).
pub struct KeyedBatcher<T> {
    queue: VecDeque<T>,
    queued_bytes: usize,
    limits: Limits,
    lookahead: usize,
}

impl<T: Batchable> KeyedBatcher<T> {
    /// `lookahead`: how many queued entries make a call worth sending.
    pub fn new(limits: Limits, lookahead: usize) -> Self {
        KeyedBatcher {
            queue: VecDeque::new(),
            queued_bytes: 0,
            limits,
            lookahead: lookahead.max(limits.max_records),
        }
    }

    pub fn push(&mut self, entry: T) {
        self.queued_bytes += entry.size();
        self.queue.push_back(entry);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// True when enough is queued to send a call without waiting for more.
    pub fn ready(&self) -> bool {
        self.queue.len() >= self.lookahead || self.queued_bytes >= 2 * self.limits.max_bytes
    }

    /// Takes the next call's entries, in queue order. Empty only when the queue is.
    pub fn take_batch(&mut self) -> Vec<T> {
        let mut take = vec![false; self.queue.len()];
        let mut taken = 0usize;
        let mut bytes = 0usize;
        {
            let mut in_batch: HashSet<&str> = HashSet::new();
            let mut blocked: HashSet<&str> = HashSet::new();
            for (i, e) in self.queue.iter().enumerate() {
                if taken == self.limits.max_records {
                    break;
                }
                let key = e.key();
                if let Some(k) = key {
                    if in_batch.contains(k) || blocked.contains(k) {
                        continue;
                    }
                }
                if bytes + e.size() > self.limits.max_bytes && taken > 0 {
                    if let Some(k) = key {
                        blocked.insert(k);
                        continue;
                    }
                    // Without keys, order is all there is: stop here.
                    break;
                }
                if let Some(k) = key {
                    in_batch.insert(k);
                }
                take[i] = true;
                taken += 1;
                bytes += e.size();
                if bytes >= self.limits.max_bytes {
                    break;
                }
            }
        }
        let mut batch = Vec::with_capacity(taken);
        let mut rest = VecDeque::with_capacity(self.queue.len() - taken);
        for (e, t) in self.queue.drain(..).zip(take) {
            if t {
                batch.push(e);
            } else {
                rest.push_back(e);
            }
        }
        self.queue = rest;
        self.queued_bytes -= bytes;
        batch
    }

    /// Puts failed entries back at the front, in their original order, so that
    /// they go before anything queued after them.
    pub fn requeue_front(&mut self, failed: Vec<T>) {
        for e in failed.into_iter().rev() {
            self.queued_bytes += e.size();
            self.queue.push_front(e);
        }
    }

    /// The entry that would go first.
    pub fn front(&self) -> Option<&T> {
        self.queue.front()
    }

    /// Everything still queued (to dead-letter it when giving up).
    pub fn drain(&mut self) -> Vec<T> {
        self.queued_bytes = 0;
        self.queue.drain(..).collect()
    }
}

/// Packs newline-terminated lines into Firehose records of at most `max_bytes`.
#[derive(Debug, Default)]
pub struct Packer {
    max_bytes: usize,
    current: Vec<u8>,
    lines: usize,
}

impl Packer {
    pub fn new(max_bytes: usize) -> Self {
        Packer {
            max_bytes,
            current: Vec::new(),
            lines: 0,
        }
    }

    /// Adds one line (without its `\n`). Returns the sealed record (bytes, line
    /// count) when the line did not fit beside what was packed so far.
    /// The caller has checked that `line.len() + 1 <= max_bytes`.
    pub fn add(&mut self, line: &[u8]) -> Option<(Vec<u8>, usize)> {
        debug_assert!(line.len() < self.max_bytes);
        let sealed =
            if !self.current.is_empty() && self.current.len() + line.len() + 1 > self.max_bytes {
                self.seal()
            } else {
                None
            };
        self.current.extend_from_slice(line);
        self.current.push(b'\n');
        self.lines += 1;
        sealed
    }

    /// The record packed so far, if any.
    pub fn seal(&mut self) -> Option<(Vec<u8>, usize)> {
        if self.current.is_empty() {
            return None;
        }
        let lines = std::mem::take(&mut self.lines);
        Some((std::mem::take(&mut self.current), lines))
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq)]
    struct E {
        id: usize,
        key: Option<String>,
        size: usize,
    }

    impl Batchable for E {
        fn size(&self) -> usize {
            self.size
        }
        fn key(&self) -> Option<&str> {
            self.key.as_deref()
        }
    }

    fn entries(spec: &[(u8, usize)]) -> Vec<E> {
        spec.iter()
            .enumerate()
            .map(|(id, &(k, size))| E {
                id,
                key: Some(format!("k{k}")),
                size,
            })
            .collect()
    }

    #[test]
    fn distinct_keys_fill_a_call() {
        let mut b = KeyedBatcher::new(PUT_RECORDS, 2000);
        for i in 0..1200 {
            b.push(E {
                id: i,
                key: Some(format!("c{}", i % 10_000)),
                size: 400,
            });
        }
        assert_eq!(b.take_batch().len(), 500);
        assert_eq!(b.take_batch().len(), 500);
        assert_eq!(b.take_batch().len(), 200);
        assert!(b.is_empty());
    }

    #[test]
    fn bytes_limit_holds_with_big_records() {
        let mut b = KeyedBatcher::new(PUT_RECORDS, 2000);
        for i in 0..20 {
            b.push(E {
                id: i,
                key: Some(format!("c{i}")),
                size: MIB - 10,
            });
        }
        let first = b.take_batch();
        assert_eq!(first.len(), 5);
        assert!(first.iter().map(|e| e.size).sum::<usize>() <= MAX_PUT_RECORDS_BYTES);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever fails and is retried, every entry is sent exactly once in the
        /// end, calls stay within limits, and each key's entries are delivered in order.
        #[test]
        fn retries_keep_per_key_order_and_limits(
            spec in proptest::collection::vec((0u8..12, 1usize..400_000), 1..1500),
            failures in proptest::collection::vec(any::<bool>(), 0..64),
        ) {
            let input = entries(&spec);
            let mut b = KeyedBatcher::new(PUT_RECORDS, 600);
            let mut delivered: Vec<E> = Vec::new();
            let mut fail_iter = failures.iter().cycle();
            let mut pushed = 0;
            let mut calls = 0;
            while pushed < input.len() || !b.is_empty() {
                while pushed < input.len() && !b.ready() {
                    b.push(input[pushed].clone());
                    pushed += 1;
                }
                let batch = b.take_batch();
                prop_assert!(!batch.is_empty());
                prop_assert!(batch.len() <= MAX_PUT_RECORDS);
                prop_assert!(batch.len() == 1 || batch.iter().map(|e| e.size).sum::<usize>() <= MAX_PUT_RECORDS_BYTES);
                let keys: HashSet<_> = batch.iter().map(|e| e.key.clone()).collect();
                prop_assert_eq!(keys.len(), batch.len());
                calls += 1;
                let mut failed = Vec::new();
                for e in batch {
                    let fail = calls < 200 && !failures.is_empty() && *fail_iter.next().unwrap();
                    if fail { failed.push(e) } else { delivered.push(e) }
                }
                b.requeue_front(failed);
            }
            let mut ids: Vec<usize> = delivered.iter().map(|e| e.id).collect();
            ids.sort_unstable();
            prop_assert_eq!(ids, (0..input.len()).collect::<Vec<_>>());
            for k in 0..12u8 {
                let key = Some(format!("k{k}"));
                let order: Vec<usize> = delivered.iter().filter(|e| e.key == key).map(|e| e.id).collect();
                let mut sorted = order.clone();
                sorted.sort_unstable();
                prop_assert_eq!(order, sorted);
            }
        }

        /// Packing loses no line, keeps order, and respects the record size.
        #[test]
        fn packing_keeps_every_line(lines in proptest::collection::vec("[a-z]{0,300}", 0..400)) {
            let mut p = Packer::new(1000);
            let mut records = Vec::new();
            for l in &lines {
                if let Some(r) = p.add(l.as_bytes()) { records.push(r) }
            }
            if let Some(r) = p.seal() { records.push(r) }
            let mut joined = Vec::new();
            let mut count = 0;
            for (bytes, n) in &records {
                prop_assert!(bytes.len() <= 1000);
                prop_assert!(bytes.ends_with(b"\n"));
                joined.extend_from_slice(bytes);
                count += n;
            }
            prop_assert_eq!(count, lines.len());
            let expected: String = lines.iter().map(|l| format!("{l}\n")).collect();
            prop_assert_eq!(String::from_utf8(joined).unwrap(), expected);
        }
    }
}
