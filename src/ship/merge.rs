//! Event-time merge of several sources read at once (the shards of a Kinesis
//! stream, the objects of a lake), so that what comes out is in event time
//! and a downstream `reefer-window` with its default (zero) lateness finds no
//! record late.
//!
//! A source announces its *lanes* (one per shard; one for a lake, whose
//! objects the reader already merges, see [`super::objects::ObjectMerge`]).
//! Records wait in one FIFO per key (container): per-key order is always the
//! order read, whatever the times say. The heads of those queues leave in
//! event-time order once the watermark passes them: the watermark is the
//! lowest, over the lanes still sending, of the lane's highest event time
//! minus `--lateness`. So records of one lane out of order across keys by up
//! to the lateness still come out ordered, and a lane never runs ahead of a
//! slower one.
//!
//! Bounds: a lane that says it is caught up (a Kinesis shard at its tip) or
//! that sends nothing for `--idle-timeout` while the tool waits on an empty
//! input stops holding the others back; it joins again with its next record.
//! And at most [`MAX_HELD_BYTES`] are held: past that the earliest record
//! leaves before the watermark (counted, warned once). Checkpoint positions
//! advance only over a shard's records that have all left, so a resumed run
//! never skips a record still held here.

use super::checkpoint::Pos;
use super::{Item, TimeAndKey};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// Most bytes of records held back before the earliest is let go anyway.
pub const MAX_HELD_BYTES: usize = 128 * 1024 * 1024;

/// What leaves the merge, in order.
#[derive(Debug)]
pub enum Out {
    Item(Item),
    /// Every record of its shard up to here has left: the checkpoint may move.
    Advance(Pos),
    /// A closed shard was read to its end and all its records have left.
    ShardDone(Arc<str>),
}

struct Held {
    item: Item,
    seq: u64,
    time: i64,
}

#[derive(Default)]
struct Lane {
    /// Highest event time read from this lane (ms), once it sent a record.
    high: Option<i64>,
    /// Caught up (or stopped): nothing is coming now.
    idle: bool,
    /// Time spent waiting on an empty input since this lane was last heard.
    silent: Duration,
    /// Positions in read order, and whether that record has left.
    positions: VecDeque<(u64, Pos, bool)>,
    /// The shard ended: say so once its positions are all out.
    done: bool,
}

pub struct Merge {
    lateness: i64,
    idle_timeout: Duration,
    time: TimeAndKey,
    lanes: HashMap<Arc<str>, Lane>,
    queues: HashMap<Box<str>, VecDeque<Held>>,
    heads: BinaryHeap<Reverse<(i64, u64, Box<str>)>>,
    seq: u64,
    held_bytes: usize,
    max_held: usize,
    /// Records that left before the watermark because the merge was full.
    pub forced: u64,
    out: VecDeque<Out>,
    /// The lane of records that carry no shard position (a lake's one lane).
    default_lane: Option<Arc<str>>,
}

impl Merge {
    pub fn new(lateness: Duration, idle_timeout: Duration, time: TimeAndKey) -> Self {
        Merge {
            lateness: i64::try_from(lateness.as_millis()).unwrap_or(i64::MAX),
            idle_timeout,
            time,
            lanes: HashMap::new(),
            queues: HashMap::new(),
            heads: BinaryHeap::new(),
            seq: 0,
            held_bytes: 0,
            max_held: MAX_HELD_BYTES,
            forced: 0,
            out: VecDeque::new(),
            default_lane: None,
        }
    }

    #[cfg(test)]
    fn with_max_held(mut self, bytes: usize) -> Self {
        self.max_held = bytes;
        self
    }

    /// A lane that will send: nothing leaves before it has been heard from.
    pub fn open_lane(&mut self, lane: &str) {
        self.lanes.entry(Arc::from(lane)).or_default();
    }

    /// Records without a shard position belong to this lane.
    pub fn set_default_lane(&mut self, lane: &str) {
        self.open_lane(lane);
        self.default_lane = Some(Arc::from(lane));
    }

    /// The lane has nothing more for now (caught up, or stopped).
    pub fn lane_idle(&mut self, lane: &str) {
        if let Some(l) = self.lanes.get_mut(lane) {
            l.idle = true;
        }
        self.release(false);
    }

    /// A closed shard was read to its end.
    pub fn lane_done(&mut self, lane: &str) {
        let l = self.lanes.entry(Arc::from(lane)).or_default();
        l.done = true;
        l.idle = true;
        self.release(false);
    }

    /// The tool waited this long on an empty input: lanes that stay silent
    /// past `--idle-timeout` stop holding the others back.
    pub fn waited(&mut self, d: Duration) {
        for l in self.lanes.values_mut() {
            l.silent = l.silent.saturating_add(d);
        }
        self.release(false);
    }

    /// A record read. One without a usable time or key cannot be ordered: it
    /// leaves at once (the sink rejects what has no time).
    pub fn push(&mut self, item: Item) {
        self.seq += 1;
        let seq = self.seq;
        if self.lanes.is_empty() && self.heads.is_empty() {
            // One source (stdin): nothing to merge, nothing to scan.
            self.out.push_back(Out::Item(item));
            return;
        }
        let lane = item
            .pos
            .as_ref()
            .map(|p| p.shard.clone())
            .or_else(|| self.default_lane.clone());
        if let Some(lane) = &lane {
            let l = self.lanes.entry(lane.clone()).or_default();
            l.idle = false;
            l.silent = Duration::ZERO;
            if let Some(pos) = &item.pos {
                l.positions.push_back((seq, pos.clone(), false));
            }
        }
        let Some((time, key)) = self.time.of(&item.line) else {
            self.emit(lane.as_deref(), seq, item);
            self.release(false);
            return;
        };
        if let Some(l) = lane.as_ref().and_then(|lane| self.lanes.get_mut(lane)) {
            l.high = Some(l.high.map_or(time, |h| h.max(time)));
        }
        self.held_bytes += item.line.len();
        let queue = self.queues.entry(key.clone()).or_default();
        if queue.is_empty() {
            self.heads.push(Reverse((time, seq, key)));
        }
        queue.push_back(Held { item, seq, time });
        self.release(false);
    }

    /// A record that is not one (a bad line): its position still counts.
    pub fn pass(&mut self, pos: Option<&Pos>) {
        self.seq += 1;
        let Some(pos) = pos else { return };
        let l = self.lanes.entry(pos.shard.clone()).or_default();
        l.positions.push_back((self.seq, pos.clone(), true));
        Self::advance(&pos.shard, l, &mut self.out);
    }

    /// End of input (or a stop that delivers what was read): everything leaves.
    pub fn drain(&mut self) {
        self.release(true);
        for (name, l) in &mut self.lanes {
            Self::advance(name, l, &mut self.out);
        }
    }

    /// The next thing to hand on, if any.
    pub fn next(&mut self) -> Option<Out> {
        self.out.pop_front()
    }

    /// Lowest over the lanes still sending of (highest time − lateness);
    /// no lane at all (or all idle) lets everything go.
    fn watermark(&self) -> i64 {
        let mut w = i64::MAX;
        for l in self.lanes.values() {
            if l.idle || l.silent >= self.idle_timeout {
                continue;
            }
            match l.high {
                None => return i64::MIN,
                Some(h) => w = w.min(h.saturating_sub(self.lateness)),
            }
        }
        w
    }

    fn release(&mut self, all: bool) {
        let w = if all { i64::MAX } else { self.watermark() };
        while let Some(Reverse((time, _, _))) = self.heads.peek() {
            let full = self.held_bytes > self.max_held;
            if *time > w && !full {
                break;
            }
            if *time > w {
                self.forced += 1;
            }
            let Some(Reverse((_, _, key))) = self.heads.pop() else {
                break;
            };
            let Some(queue) = self.queues.get_mut(&key) else {
                continue;
            };
            let Some(held) = queue.pop_front() else {
                continue;
            };
            match queue.front() {
                Some(next) => self.heads.push(Reverse((next.time, next.seq, key))),
                None => {
                    self.queues.remove(&key);
                }
            }
            self.held_bytes -= held.item.line.len();
            let lane = held.item.pos.as_ref().map(|p| p.shard.clone());
            self.emit(lane.as_deref(), held.seq, held.item);
        }
    }

    /// Hands a record on, and moves its shard's checkpoint over every
    /// record read before it that has left too.
    fn emit(&mut self, lane: Option<&str>, seq: u64, item: Item) {
        self.out.push_back(Out::Item(item));
        let Some(lane) = lane else { return };
        let Some(name) = self.lanes.get_key_value(lane).map(|(k, _)| k.clone()) else {
            return;
        };
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        if let Ok(i) = l.positions.binary_search_by_key(&seq, |(s, _, _)| *s) {
            l.positions[i].2 = true;
        }
        Self::advance(&name, l, &mut self.out);
    }

    fn advance(name: &Arc<str>, l: &mut Lane, out: &mut VecDeque<Out>) {
        let mut last = None;
        while l.positions.front().is_some_and(|(_, _, left)| *left) {
            last = l.positions.pop_front().map(|(_, p, _)| p);
        }
        if let Some(p) = last {
            out.push_back(Out::Advance(p));
        }
        if l.done && l.positions.is_empty() {
            l.done = false;
            out.push_back(Out::ShardDone(name.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ship::Origin;

    fn rec(shard: &str, seq: u64, t: u32, key: &str) -> Item {
        Item {
            line: format!(
                r#"{{"container_id":"{key}","measurement_time":"2026-11-27T00:00:{t:02}Z"}}"#
            ),
            origin: Origin {
                input: Arc::from(shard),
                line: seq,
            },
            raw: None,
            pos: Some(Pos {
                shard: Arc::from(shard),
                sequence: Arc::from(seq.to_string().as_str()),
                index: 1,
                last: true,
            }),
        }
    }

    fn merge(lateness_s: u64) -> Merge {
        Merge::new(
            Duration::from_secs(lateness_s),
            Duration::from_secs(10),
            TimeAndKey::new(
                "measurement_time",
                "container_id",
                crate::time::TimeParser::default(),
            ),
        )
    }

    fn items(m: &mut Merge) -> Vec<String> {
        let mut got = Vec::new();
        while let Some(o) = m.next() {
            if let Out::Item(i) = o {
                got.push(format!("{}:{}", i.origin.input, i.origin.line));
            }
        }
        got
    }

    #[test]
    fn shards_read_one_after_another_come_out_in_event_time() {
        let mut m = merge(0);
        m.open_lane("a");
        m.open_lane("b");
        for (s, t) in [(1, 0), (2, 10), (3, 20)] {
            m.push(rec("a", s, t, "x"));
        }
        assert!(items(&mut m).is_empty(), "nothing leaves before b is heard");
        for (s, t) in [(1, 5), (2, 15), (3, 25)] {
            m.push(rec("b", s, t, "y"));
        }
        m.drain();
        assert_eq!(
            items(&mut m),
            ["a:1", "b:1", "a:2", "b:2", "a:3", "b:3"].map(String::from)
        );
    }

    #[test]
    fn per_key_order_is_kept_even_against_event_time() {
        let mut m = merge(30);
        m.open_lane("a");
        m.push(rec("a", 1, 20, "x"));
        m.push(rec("a", 2, 10, "x"));
        m.push(rec("a", 3, 15, "y"));
        m.drain();
        assert_eq!(items(&mut m), ["a:3", "a:1", "a:2"].map(String::from));
    }

    #[test]
    fn a_caught_up_or_silent_lane_stops_holding_the_others_back() {
        let mut m = merge(0);
        m.open_lane("a");
        m.open_lane("b");
        m.push(rec("a", 1, 0, "x"));
        m.lane_idle("b");
        assert_eq!(items(&mut m), ["a:1"].map(String::from));
        m.push(rec("b", 1, 5, "y"));
        m.open_lane("c");
        m.push(rec("a", 2, 6, "x"));
        assert!(items(&mut m).is_empty(), "c has not been heard");
        m.waited(Duration::from_secs(11));
        assert_eq!(items(&mut m), ["b:1", "a:2"].map(String::from));
    }

    #[test]
    fn the_checkpoint_moves_only_over_records_that_all_left() {
        let mut m = merge(60);
        m.open_lane("a");
        m.push(rec("a", 1, 30, "x"));
        m.push(rec("a", 2, 10, "y"));
        m.lane_done("a");
        let mut outs = Vec::new();
        while let Some(o) = m.next() {
            outs.push(match o {
                Out::Item(i) => format!("item {}", i.origin.line),
                Out::Advance(p) => format!("advance {}", p.sequence),
                Out::ShardDone(s) => format!("done {s}"),
            });
        }
        assert_eq!(
            outs,
            ["item 2", "item 1", "advance 2", "done a"].map(String::from)
        );
    }

    #[test]
    fn a_full_merge_lets_the_earliest_go_before_the_watermark() {
        let mut m = merge(0).with_max_held(100);
        m.open_lane("a");
        m.open_lane("b");
        for s in 1..=3 {
            m.push(rec("a", s, s as u32, "x"));
        }
        assert_eq!(items(&mut m), ["a:1", "a:2"].map(String::from));
        assert_eq!(m.forced, 2);
    }
}
