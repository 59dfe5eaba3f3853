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
/// A call is a prefix of the queue, so records go out in the order they were
/// queued. With keys, a call never holds two entries of one key (it ends at
/// the first repeat): retrying the failed entries of a call first
/// ([`KeyedBatcher::requeue_front`]) therefore keeps per-key order, whatever
/// failed. The lookahead is how much is queued before a call is worth sending.
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
        let mut taken = 0usize;
        let mut bytes = 0usize;
        {
            // A call is a prefix of the queue: it ends at the first key it
            // already holds (one record per key per call keeps a key's order
            // whatever fails) or at the size limit. Taking entries from past
            // that point would send them ahead of records queued before them,
            // and a shard would then hold other containers' records out of
            // event order (a container that was silent for a while jumped
            // ahead of the fleet by the whole lookahead).
            let mut in_batch: HashSet<&str> = HashSet::new();
            for e in self.queue.iter() {
                if taken == self.limits.max_records {
                    break;
                }
                let key = e.key();
                if key.is_some_and(|k| in_batch.contains(k)) {
                    break;
                }
                if bytes + e.size() > self.limits.max_bytes && taken > 0 {
                    break;
                }
                if let Some(k) = key {
                    in_batch.insert(k);
                }
                taken += 1;
                bytes += e.size();
                if bytes >= self.limits.max_bytes {
                    break;
                }
            }
        }
        let batch: Vec<T> = self.queue.drain(..taken).collect();
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
    fn calls_send_the_queue_in_its_order_when_a_key_falls_silent_for_a_while() {
        // 10 containers a step; c1 is silent for steps 10..40 (a power cut).
        let mut b = KeyedBatcher::new(PUT_RECORDS, 2000);
        let mut input = Vec::new();
        for step in 0..60 {
            for c in 0..10 {
                if c == 1 && (10..40).contains(&step) {
                    continue;
                }
                input.push(input.len());
                b.push(E {
                    id: input.len() - 1,
                    key: Some(format!("c{c}")),
                    size: 400,
                });
            }
        }
        let mut sent = Vec::new();
        while !b.is_empty() {
            let batch = b.take_batch();
            let keys: HashSet<_> = batch.iter().map(|e| e.key.clone()).collect();
            assert_eq!(keys.len(), batch.len(), "one record per key per call");
            sent.extend(batch.into_iter().map(|e| e.id));
        }
        assert_eq!(sent, input);
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
