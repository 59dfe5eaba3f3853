//! Kinesis Data Streams in: every shard (or `--shard`), from a start position
//! or a checkpoint, parents before children after a split or merge, KPL
//! aggregates de-aggregated, one JSON line per record.
//!
//! Resharding is recognised from ListShards (parent ids and an ending sequence
//! number), not only from a null NextShardIterator or ChildShards: that works
//! on AWS and on emulators whose closed shards never end their iterators. A
//! closed shard is finished when a read made after the listing that showed it
//! closed returns nothing and is not behind.

use super::account::Requests;
use super::checkpoint::{Checkpoint, Pos, ShardMark};
use super::retry::{self, Backoff};
use super::{aws_error, kpl, object_checker, Item, Msg, Origin};
use crate::aws::{Aws, Failure};
use crate::codec::scan::Scanner;
use crate::time::parse_time;
use aws_sdk_kinesis::primitives::DateTime as AwsTime;
use aws_sdk_kinesis::types::ShardIteratorType;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::time::Instant;

/// AWS allows 5 GetRecords calls per second per shard.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How often a caught-up shard is polled when following.
const IDLE_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// GetRecords maximum.
const GET_LIMIT: i32 = 10_000;

/// Where reading starts (`--start`).
#[derive(Debug, Clone, PartialEq)]
pub enum StartAt {
    TrimHorizon,
    Latest,
    AtTimestamp(DateTime<Utc>),
    AtSequence(String),
}

impl StartAt {
    pub fn parse(s: &str) -> Result<StartAt, String> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "trim-horizon" | "trim_horizon" => return Ok(StartAt::TrimHorizon),
            "latest" => return Ok(StartAt::Latest),
            _ => {}
        }
        if let Some(t) = s.strip_prefix("at-timestamp:") {
            return parse_time(t)
                .map(StartAt::AtTimestamp)
                .map_err(|e| e.to_string());
        }
        if let Some(n) = s.strip_prefix("at-sequence:") {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(StartAt::AtSequence(n.to_string()));
            }
        }
        Err(format!(
            "{s:?}: expected trim-horizon, latest, at-timestamp:TIME or at-sequence:NUMBER"
        ))
    }
}

pub struct ReadOptions {
    pub shards: Vec<String>,
    pub start: StartAt,
    pub checkpoint: Option<Checkpoint>,
    pub until: Option<DateTime<Utc>>,
    pub follow: bool,
    pub max_attempts: u32,
    pub seed: u64,
}

#[derive(Debug, Clone)]
struct ShardInfo {
    parent: Option<String>,
    adjacent: Option<String>,
    closed: bool,
}

#[derive(Debug)]
enum State {
    Waiting,
    Active(Active),
    /// Read to its end (closed), or not to be read.
    Done,
    /// Reading stopped at `--until`; not finished.
    Stopped,
}

#[derive(Debug)]
struct Active {
    iterator: String,
    next_poll: Instant,
    caught_up: Option<Instant>,
    last_seq: Option<String>,
    /// Items of this record already delivered by an earlier run.
    skip: Option<(String, u64)>,
}

/// How to get a shard's first iterator.
struct Start {
    kind: ShardIteratorType,
    seq: Option<String>,
    ts: Option<DateTime<Utc>>,
    /// Lines of the record at `seq` delivered before the checkpoint.
    skip: Option<(String, u64)>,
}

pub struct KinesisReader {
    client: aws_sdk_kinesis::Client,
    stream: String,
    label: String,
    /// Checks that each line is one JSON object (the shared scanner).
    checker: Scanner,
    endpoint: String,
    opts: ReadOptions,
    requests: Requests,
    backoff: Backoff,
    info: BTreeMap<String, ShardInfo>,
    state: BTreeMap<String, State>,
    /// Shards in the first listing: they start at `--start`, later ones at TRIM_HORIZON.
    initial: BTreeSet<String>,
    listed_at: Option<Instant>,
}

impl KinesisReader {
    pub async fn open(
        aws: &Aws,
        stream: &str,
        opts: ReadOptions,
        acct: &mut super::account::Account,
    ) -> anyhow::Result<KinesisReader> {
        let client = aws.kinesis();
        let label = format!("kinesis://{stream}");
        let mut backoff = Backoff::new(Backoff::DEFAULT_BASE, Backoff::DEFAULT_CAP, opts.seed);
        retry::call(
            &acct.requests,
            "DescribeStreamSummary",
            &mut backoff,
            3,
            || client.describe_stream_summary().stream_name(stream).send(),
        )
        .await
        .map_err(|f| aws_error(&label, &f, &aws.endpoint_label()))?;
        let mut reader = KinesisReader {
            client,
            stream: stream.to_string(),
            label,
            checker: object_checker(),
            endpoint: aws.endpoint_label(),
            opts,
            requests: acct.requests.clone(),
            backoff,
            info: BTreeMap::new(),
            state: BTreeMap::new(),
            initial: BTreeSet::new(),
            listed_at: None,
        };
        reader.list().await?;
        for s in &reader.opts.shards {
            if !reader.info.contains_key(s) {
                return Err(crate::app::usage(format!(
                    "{}: no shard {s:?} (shards: {})",
                    reader.label,
                    reader.info.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        reader.initial = reader.info.keys().cloned().collect();
        Ok(reader)
    }

    pub async fn run(mut self, tx: Sender<Msg>) {
        if let Err(e) = self.read(&tx).await {
            let _ = tx.send(Msg::Fatal(e)).await;
        }
    }

    fn fail(&self, what: &str, f: Failure) -> anyhow::Error {
        aws_error(&format!("{} ({what})", self.label), &f, &self.endpoint)
    }

    /// ListShards, all pages; new shards start out waiting.
    async fn list(&mut self) -> anyhow::Result<()> {
        let mut token: Option<String> = None;
        let mut seen = BTreeMap::new();
        loop {
            let (client, stream) = (&self.client, &self.stream);
            let page = retry::call(
                &self.requests,
                "ListShards",
                &mut self.backoff,
                self.opts.max_attempts,
                || {
                    let req = client.list_shards();
                    match &token {
                        Some(t) => req.next_token(t).send(),
                        None => req.stream_name(stream).send(),
                    }
                },
            )
            .await
            .map_err(|f| self.fail("ListShards", f))?;
            for s in page.shards() {
                let closed = s
                    .sequence_number_range()
                    .is_some_and(|r| r.ending_sequence_number().is_some());
                seen.insert(
                    s.shard_id().to_string(),
                    ShardInfo {
                        parent: s.parent_shard_id().map(str::to_string),
                        adjacent: s.adjacent_parent_shard_id().map(str::to_string),
                        closed,
                    },
                );
            }
            match page.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        for id in seen.keys() {
            self.state.entry(id.clone()).or_insert(State::Waiting);
        }
        self.info.extend(seen);
        self.listed_at = Some(Instant::now());
        Ok(())
    }

    /// Shards this process reads: all, or the `--shard`s and the children whose
    /// ParentShardId is read (a merged child goes to its parent's reader).
    fn in_read_set(&self, id: &str) -> bool {
        if self.opts.shards.is_empty() {
            return true;
        }
        let mut cur = Some(id.to_string());
        let mut depth = 0;
        while let Some(c) = cur {
            if self.opts.shards.contains(&c) {
                return true;
            }
            cur = self.info.get(&c).and_then(|i| i.parent.clone());
            depth += 1;
            if depth > 10_000 {
                break;
            }
        }
        false
    }

    fn parent_finished(&self, parent: &Option<String>) -> bool {
        match parent {
            None => true,
            Some(p) => {
                !self.info.contains_key(p)
                    || !self.in_read_set(p)
                    || matches!(self.state.get(p), Some(State::Done))
            }
        }
    }

    /// Starts every waiting shard whose parents are finished; the merge
    /// learns of each (a lane) before any of its records.
    async fn activate(&mut self, tx: &Sender<Msg>) -> anyhow::Result<()> {
        let ids: Vec<String> = self
            .state
            .iter()
            .filter(|(_, s)| matches!(s, State::Waiting))
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            if !self.in_read_set(&id) {
                self.state.insert(id, State::Done);
                continue;
            }
            let info = self.info[&id].clone();
            let mark = self
                .opts
                .checkpoint
                .as_ref()
                .and_then(|c| c.shards.get(&id))
                .cloned();
            if mark.as_ref().is_some_and(|m| m.done) {
                self.state.insert(id, State::Done);
                continue;
            }
            let initial = self.initial.contains(&id);
            // With --start latest, closed shards of the first listing hold only the past.
            if initial
                && mark.is_none()
                && self.opts.start == StartAt::Latest
                && info.closed
                && !self.has_checkpoint()
            {
                self.state.insert(id, State::Done);
                continue;
            }
            if !self.parent_finished(&info.parent) || !self.parent_finished(&info.adjacent) {
                continue;
            }
            let Start {
                kind,
                seq,
                ts,
                skip,
            } = self.start_of(&id, mark.as_ref(), initial);
            let iterator = self.get_iterator(&id, kind, seq, ts).await?;
            match iterator {
                Some(it) => {
                    let _ = tx.send(Msg::LaneOpen(Arc::from(id.as_str()))).await;
                    self.state.insert(
                        id,
                        State::Active(Active {
                            iterator: it,
                            next_poll: Instant::now(),
                            caught_up: None,
                            last_seq: None,
                            skip,
                        }),
                    );
                }
                None => {
                    self.state.insert(id, State::Done);
                }
            }
        }
        Ok(())
    }

    /// Where a shard's reading starts: after its checkpoint mark, at --start
    /// for a shard of the first listing, else (children, shards unknown to an
    /// existing checkpoint) from its start.
    fn start_of(&self, id: &str, mark: Option<&ShardMark>, initial: bool) -> Start {
        let from = |kind| Start {
            kind,
            seq: None,
            ts: None,
            skip: None,
        };
        if let Some(seq) = mark.and_then(|m| m.sequence.clone()) {
            let skip = mark.map_or(0, |m| m.skip);
            return if skip > 0 {
                Start {
                    kind: ShardIteratorType::AtSequenceNumber,
                    seq: Some(seq.clone()),
                    ts: None,
                    skip: Some((seq, skip)),
                }
            } else {
                Start {
                    seq: Some(seq),
                    ..from(ShardIteratorType::AfterSequenceNumber)
                }
            };
        }
        if !initial || self.has_checkpoint() {
            return from(ShardIteratorType::TrimHorizon);
        }
        match &self.opts.start {
            StartAt::TrimHorizon => from(ShardIteratorType::TrimHorizon),
            StartAt::Latest => from(ShardIteratorType::Latest),
            StartAt::AtTimestamp(t) => Start {
                ts: Some(*t),
                ..from(ShardIteratorType::AtTimestamp)
            },
            StartAt::AtSequence(n) if self.opts.shards.iter().any(|s| s == id) => Start {
                seq: Some(n.clone()),
                ..from(ShardIteratorType::AtSequenceNumber)
            },
            StartAt::AtSequence(_) => from(ShardIteratorType::TrimHorizon),
        }
    }

    fn has_checkpoint(&self) -> bool {
        self.opts
            .checkpoint
            .as_ref()
            .is_some_and(|c| !c.shards.is_empty())
    }

    async fn get_iterator(
        &mut self,
        shard: &str,
        kind: ShardIteratorType,
        seq: Option<String>,
        ts: Option<DateTime<Utc>>,
    ) -> anyhow::Result<Option<String>> {
        let (client, stream) = (&self.client, &self.stream);
        let r = retry::call(
            &self.requests,
            "GetShardIterator",
            &mut self.backoff,
            self.opts.max_attempts,
            || {
                client
                    .get_shard_iterator()
                    .stream_name(stream)
                    .shard_id(shard)
                    .shard_iterator_type(kind.clone())
                    .set_starting_sequence_number(seq.clone())
                    .set_timestamp(ts.map(|t| AwsTime::from_millis(t.timestamp_millis())))
                    .send()
            },
        )
        .await;
        match r {
            Ok(out) => Ok(out.shard_iterator().map(str::to_string)),
            // A shard trimmed away meanwhile has nothing left to read.
            Err(Failure::NotFound { .. }) => Ok(None),
            Err(f) => Err(self.fail("GetShardIterator", f)),
        }
    }

    fn all_settled(&self) -> bool {
        self.state.values().all(|s| match s {
            State::Active(a) => a.caught_up.is_some(),
            _ => true,
        })
    }

    async fn read(&mut self, tx: &Sender<Msg>) -> anyhow::Result<()> {
        loop {
            self.activate(tx).await?;
            let active = self
                .state
                .values()
                .filter(|s| matches!(s, State::Active(_)))
                .count();
            if active == 0 {
                // Nothing to read and nothing that can start.
                if !self.opts.follow {
                    return Ok(());
                }
                if self.until_passed() {
                    return Ok(());
                }
                tokio::time::sleep(IDLE_POLL_INTERVAL).await;
                self.list().await?;
                continue;
            }
            if self.all_settled() {
                let listed_after = self.state.values().all(|s| match s {
                    State::Active(a) => a.caught_up.is_some_and(|c| Some(c) < self.listed_at),
                    _ => true,
                });
                if listed_after {
                    if !self.opts.follow || self.until_passed() {
                        return Ok(());
                    }
                    tokio::time::sleep(IDLE_POLL_INTERVAL).await;
                    for s in self.state.values_mut() {
                        if let State::Active(a) = s {
                            a.caught_up = None;
                        }
                    }
                }
                // Look for reshards: a closed shard gets one more read, then finishes.
                self.list().await?;
                let closed: Vec<String> = self
                    .info
                    .iter()
                    .filter(|(_, i)| i.closed)
                    .map(|(k, _)| k.clone())
                    .collect();
                for id in closed {
                    if let Some(State::Active(a)) = self.state.get_mut(&id) {
                        a.caught_up = None;
                    }
                }
                continue;
            }
            // Poll the shards that are due, one call each.
            let due: Vec<String> = self
                .state
                .iter()
                .filter_map(|(id, s)| match s {
                    State::Active(a) if a.caught_up.is_none() => Some(id.clone()),
                    _ => None,
                })
                .collect();
            // Not all settled: some active shard is due (all_settled above).
            let earliest = due
                .iter()
                .filter_map(|id| match self.state.get(id) {
                    Some(State::Active(a)) => Some(a.next_poll),
                    _ => None,
                })
                .min()
                .unwrap_or_else(Instant::now);
            tokio::time::sleep_until(earliest).await;
            for id in due {
                let ready =
                    matches!(&self.state[&id], State::Active(a) if a.next_poll <= Instant::now());
                if ready && !self.poll(&id, tx).await? {
                    return Ok(());
                }
            }
        }
    }

    fn until_passed(&self) -> bool {
        self.opts.until.is_some_and(|u| Utc::now() >= u)
    }

    /// The shard's reading state; every shard polled is active.
    fn active(&mut self, id: &str) -> anyhow::Result<&mut Active> {
        match self.state.get_mut(id) {
            Some(State::Active(a)) => Ok(a),
            _ => Err(anyhow::anyhow!(
                "{}: shard {id} is not being read",
                self.label
            )),
        }
    }

    /// One GetRecords on one shard. Returns false when the receiver went away.
    async fn poll(&mut self, id: &str, tx: &Sender<Msg>) -> anyhow::Result<bool> {
        let iterator = self.active(id)?.iterator.clone();
        let client = &self.client;
        let r = retry::call(
            &self.requests,
            "GetRecords",
            &mut self.backoff,
            self.opts.max_attempts,
            || {
                client
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit(GET_LIMIT)
                    .send()
            },
        )
        .await;
        let out = match r {
            Ok(out) => out,
            Err(Failure::Client { code, .. }) if code == "ExpiredIteratorException" => {
                self.renew_iterator(id).await?;
                return Ok(true);
            }
            Err(f) => return Err(self.fail("GetRecords", f)),
        };
        self.active(id)?.next_poll = Instant::now() + MIN_POLL_INTERVAL;
        let shard: Arc<str> = Arc::from(id);
        for rec in out.records() {
            if let (Some(until), Some(arrived)) =
                (self.opts.until, rec.approximate_arrival_timestamp())
            {
                if arrived.to_millis().unwrap_or(i64::MAX) >= until.timestamp_millis() {
                    self.state.insert(id.to_string(), State::Stopped);
                    let _ = tx.send(Msg::LaneIdle(shard.clone())).await;
                    return Ok(true);
                }
            }
            let seq: Arc<str> = Arc::from(rec.sequence_number());
            let a = self.active(id)?;
            a.last_seq = Some(seq.to_string());
            let skip = match a.skip.take() {
                Some((s, n)) if *s == *seq => n,
                _ => 0,
            };
            for msg in record_msgs(
                &mut self.checker,
                &self.label,
                &shard,
                &seq,
                rec.data().as_ref(),
                skip,
            ) {
                if tx.send(msg).await.is_err() {
                    return Ok(false);
                }
            }
        }
        self.after_read(id, &out, tx).await?;
        Ok(true)
    }

    /// An iterator expired: a new one after the last record read.
    async fn renew_iterator(&mut self, id: &str) -> anyhow::Result<()> {
        let (kind, seq) = match self.active(id)?.last_seq.clone() {
            Some(s) => (ShardIteratorType::AfterSequenceNumber, Some(s)),
            None => (ShardIteratorType::TrimHorizon, None),
        };
        let it = self.get_iterator(id, kind, seq, None).await?;
        match (it, self.state.get_mut(id)) {
            (Some(it), Some(State::Active(a))) => a.iterator = it,
            _ => {
                self.state.insert(id.to_string(), State::Done);
            }
        }
        Ok(())
    }

    /// After a read: the next iterator, or the shard's end, or a reshard to follow.
    async fn after_read(
        &mut self,
        id: &str,
        out: &aws_sdk_kinesis::operation::get_records::GetRecordsOutput,
        tx: &Sender<Msg>,
    ) -> anyhow::Result<()> {
        let listed_at = self.listed_at;
        let closed = self.info.get(id).is_some_and(|i| i.closed);
        let caught_up = out.records().is_empty() && out.millis_behind_latest().unwrap_or(0) == 0;
        let Some(next) = out.next_shard_iterator() else {
            return self.finish(id, tx).await;
        };
        self.active(id)?.iterator = next.to_string();
        if caught_up {
            // Closed before this read began: nothing more can come.
            let listing_before_read = listed_at.is_some();
            if closed && listing_before_read {
                self.finish(id, tx).await?;
            } else {
                self.active(id)?.caught_up = Some(Instant::now());
                // At the tip: this shard holds nothing back in the merge.
                let _ = tx.send(Msg::LaneIdle(Arc::from(id))).await;
            }
        } else if !out.child_shards().is_empty() {
            self.list().await?;
        }
        Ok(())
    }

    async fn finish(&mut self, id: &str, tx: &Sender<Msg>) -> anyhow::Result<()> {
        self.state.insert(id.to_string(), State::Done);
        let _ = tx.send(Msg::ShardDone(id.to_string())).await;
        // Children may be waiting for this one.
        self.list().await
    }
}

/// The messages for one Kinesis record: its lines (after KPL deaggregation),
/// each a record or a bad line, numbered within the record; `skip` lines were
/// delivered before a checkpoint. An empty record still moves the checkpoint.
fn record_msgs(
    checker: &mut Scanner,
    label: &str,
    shard: &Arc<str>,
    seq: &Arc<str>,
    blob: &[u8],
    skip: u64,
) -> Vec<Msg> {
    let user: Vec<&[u8]> = match kpl::deaggregate(blob) {
        Some(recs) => recs.into_iter().map(|u| u.data).collect(),
        None => vec![blob],
    };
    let lines: Vec<&[u8]> = user
        .into_iter()
        .flat_map(|d| d.split(|&b| b == b'\n'))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let input: Arc<str> = Arc::from(format!("{label}/{shard}/{seq}"));
    let total = lines.len() as u64;
    let pos = |index: u64| Pos {
        shard: shard.clone(),
        sequence: seq.clone(),
        index,
        last: index >= total,
    };
    if total == 0 {
        return vec![Msg::Bad {
            origin: Origin { input, line: 1 },
            raw: Vec::new(),
            why: "empty record".into(),
            pos: Some(pos(1)),
        }];
    }
    let mut msgs = Vec::with_capacity(lines.len());
    for (i, bytes) in lines.into_iter().enumerate() {
        let index = i as u64 + 1;
        if index <= skip {
            continue;
        }
        let origin = Origin {
            input: input.clone(),
            line: index,
        };
        let text = crate::codec::trim_ending(bytes);
        let checked = checker.scan(text).map(|_| ()).and_then(|()| {
            std::str::from_utf8(text)
                .map_err(|e| format!("not valid UTF-8 (byte {})", e.valid_up_to()))
        });
        msgs.push(match checked {
            Ok(t) => Msg::Item(Item {
                line: t.to_string(),
                origin,
                raw: (text.len() != bytes.len()).then(|| {
                    let mut raw = bytes.to_vec();
                    raw.push(b'\n');
                    raw.into()
                }),
                pos: Some(pos(index)),
            }),
            Err(why) => {
                let mut raw = bytes.to_vec();
                raw.push(b'\n');
                Msg::Bad {
                    origin,
                    raw,
                    why,
                    pos: Some(pos(index)),
                }
            }
        });
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_positions_parse() {
        assert_eq!(
            StartAt::parse("trim-horizon").unwrap(),
            StartAt::TrimHorizon
        );
        assert_eq!(StartAt::parse("latest").unwrap(), StartAt::Latest);
        assert!(matches!(
            StartAt::parse("at-timestamp:2026-11-27T03:00:00Z").unwrap(),
            StartAt::AtTimestamp(_)
        ));
        assert_eq!(
            StartAt::parse("at-sequence:4960").unwrap(),
            StartAt::AtSequence("4960".into())
        );
        assert!(StartAt::parse("at-sequence:x").is_err());
        assert!(StartAt::parse("yesterday").is_err());
    }
}
