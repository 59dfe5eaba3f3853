//! The windowing state machine: open windows, the watermark, and when a
//! window closes (contract §4). Pure: time comes in with the records (event
//! time) or from the caller (processing time), never from the clock.

use super::agg::{accumulate, AccView, AggPlan, BoolAcc, NumAcc, Values};
use super::assign::Assigner;
use crate::codec::scan::same;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes a `u64` that already is a hash.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

const NONE: u32 = u32::MAX;

/// The open windows of one `(start, end)`: one accumulator per key, in the
/// order the keys first appeared. Flat arrays instead of one allocation per
/// key: a window of 10,000 containers is a handful of vectors, reused for
/// the next window once emitted.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Bucket {
    /// Key hash → the latest row with that hash; `chain` links earlier ones.
    index: HashMap<u64, u32, BuildHasherDefault<IdHasher>>,
    chain: Vec<u32>,
    keys: Vec<(u32, u32)>,
    products: Vec<(u32, u32)>,
    text: Vec<u8>,
    counts: Vec<u64>,
    numbers: Vec<NumAcc>,
    bools: Vec<BoolAcc>,
}

impl Bucket {
    /// Keys and accumulators, in the order the keys first appeared.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], AccView<'_>)> {
        let nn = self.numbers.len() / self.counts.len().max(1);
        let nb = self.bools.len() / self.counts.len().max(1);
        (0..self.counts.len()).map(move |r| {
            let (a, z) = self.keys[r];
            let (pa, pz) = self.products[r];
            (
                &self.text[a as usize..z as usize],
                AccView {
                    count: self.counts[r],
                    product: (pa != NONE).then(|| &self.text[pa as usize..pz as usize]),
                    numbers: &self.numbers[r * nn..(r + 1) * nn],
                    bools: &self.bools[r * nb..(r + 1) * nb],
                },
            )
        })
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    fn clear(&mut self) {
        self.index.clear();
        self.chain.clear();
        self.keys.clear();
        self.products.clear();
        self.text.clear();
        self.counts.clear();
        self.numbers.clear();
        self.bools.clear();
    }

    fn reserve(&mut self, rows: usize, plan: &AggPlan) {
        self.index.reserve(rows);
        self.chain.reserve(rows);
        self.keys.reserve(rows);
        self.products.reserve(rows);
        self.counts.reserve(rows);
        self.numbers.reserve(rows * plan.numbers.len());
        self.bools.reserve(rows * plan.bools.len());
    }

    #[inline]
    fn row_of(&self, hash: u64, key: &[u8]) -> Option<usize> {
        let mut r = *self.index.get(&hash)?;
        while r != NONE {
            let (a, z) = self.keys[r as usize];
            let k = &self.text[a as usize..z as usize];
            if k.len() == key.len() && same(k, key) {
                return Some(r as usize);
            }
            r = self.chain[r as usize];
        }
        None
    }

    #[inline]
    fn add(&mut self, key: &[u8], values: &Values<'_>, plan: &AggPlan) {
        let (nn, nb) = (plan.numbers.len(), plan.bools.len());
        // Group keys are short: rustc's Fx hash, several times cheaper than SipHash.
        let mut h = rustc_hash::FxHasher::default();
        h.write(key);
        let hash = h.finish();
        let r = match self.row_of(hash, key) {
            Some(r) => r,
            None => {
                let r = self.counts.len();
                let prev = self.index.insert(hash, r as u32).unwrap_or(NONE);
                self.chain.push(prev);
                let a = self.text.len() as u32;
                self.text.extend_from_slice(key);
                self.keys.push((a, self.text.len() as u32));
                self.products.push((NONE, NONE));
                self.counts.push(0);
                self.numbers
                    .resize(self.numbers.len() + nn, NumAcc::default());
                self.bools.resize(self.bools.len() + nb, BoolAcc::default());
                r
            }
        };
        self.counts[r] += 1;
        if self.products[r].0 == NONE {
            if let Some(p) = values.product {
                let a = self.text.len() as u32;
                self.text.extend_from_slice(p);
                self.products[r] = (a, self.text.len() as u32);
            }
        }
        accumulate(
            &mut self.numbers[r * nn..(r + 1) * nn],
            &mut self.bools[r * nb..(r + 1) * nb],
            values,
            plan.track_variance(),
        );
    }
}

/// Open windows and the watermark.
/// Format of [`Saved`] in a state file: bump it when these structures change.
pub const STATE_VERSION: u32 = 2;

/// The open windows and the watermark, as a state file keeps them.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Saved<'a> {
    max_time: i64,
    watermark: i64,
    open: std::borrow::Cow<'a, BTreeMap<(i64, i64), Bucket>>,
}

pub struct Windows {
    assigner: Assigner,
    lateness: i64,
    max_time: i64,
    watermark: i64,
    /// Keyed by `(end, start)` so that the first entry is the next to close.
    open: BTreeMap<(i64, i64), Bucket>,
    plan: AggPlan,
    /// Emitted buckets, cleared, for reuse.
    spare: Vec<Bucket>,
    /// Keys in the last emitted window: the next one is likely as big.
    size_hint: usize,
    /// The tumbling window of the previous record.
    last_window: (i64, i64),
}

impl Windows {
    pub fn new(assigner: Assigner, lateness: i64, plan: AggPlan) -> Windows {
        Windows {
            assigner,
            lateness,
            max_time: i64::MIN,
            watermark: i64::MIN,
            open: BTreeMap::new(),
            plan,
            spare: Vec::new(),
            size_hint: 0,
            last_window: (0, 0),
        }
    }

    pub fn plan(&self) -> &AggPlan {
        &self.plan
    }

    /// Highest event time seen minus the allowed lateness (`i64::MIN` before any record).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Number of open `(key, window)` accumulators.
    pub fn open_count(&self) -> usize {
        self.open.values().map(|b| b.len()).sum()
    }

    /// The end of the window that closes next, if any is open.
    pub fn next_end(&self) -> Option<i64> {
        self.open.keys().next().map(|&(end, _)| end)
    }

    /// Adds one record to its windows, then lets the watermark advance to
    /// `time - lateness`, emitting every window it passes. Returns true when
    /// the record was late: at least one of its windows had already been
    /// emitted (it still counts in those of its windows that are open).
    pub fn add<E>(
        &mut self,
        time: i64,
        key: &[u8],
        values: &Values<'_>,
        emit: &mut impl FnMut(i64, i64, &Bucket) -> Result<(), E>,
    ) -> Result<bool, E> {
        let mut late = false;
        if self.assigner.is_tumbling() {
            // Consecutive readings mostly fall in the same window: skip the divisions.
            let (mut start, mut end) = self.last_window;
            if !(start <= time && time < end) {
                start = self.assigner.last_start(time);
                end = start + self.assigner.size;
                self.last_window = (start, end);
            }
            late = !self.add_to(start, end, key, values);
        } else {
            for (start, end) in self.assigner.windows(time) {
                late |= !self.add_to(start, end, key, values);
            }
        }
        if time > self.max_time {
            self.max_time = time;
            self.advance_to(time.saturating_sub(self.lateness), emit)?;
        }
        Ok(late)
    }

    /// Adds to one window; false when that window was already emitted.
    #[inline]
    fn add_to(&mut self, start: i64, end: i64, key: &[u8], values: &Values<'_>) -> bool {
        if end <= self.watermark {
            return false;
        }
        let bucket = self.open.entry((end, start)).or_insert_with(|| {
            let mut b = self.spare.pop().unwrap_or_default();
            b.reserve(self.size_hint, &self.plan);
            b
        });
        bucket.add(key, values, &self.plan);
        true
    }

    /// Moves the watermark to `watermark` (if that is later) and emits every
    /// window whose end it reaches, earliest end first.
    pub fn advance_to<E>(
        &mut self,
        watermark: i64,
        emit: &mut impl FnMut(i64, i64, &Bucket) -> Result<(), E>,
    ) -> Result<(), E> {
        if watermark <= self.watermark {
            return Ok(());
        }
        self.watermark = watermark;
        while let Some(entry) = self.open.first_entry() {
            if entry.key().0 > watermark {
                break;
            }
            let ((end, start), mut bucket) = entry.remove_entry();
            emit(start, end, &bucket)?;
            self.size_hint = bucket.len();
            if self.spare.len() < 2 {
                bucket.clear();
                self.spare.push(bucket);
            }
        }
        Ok(())
    }

    /// End of input: emits every open window, earliest end first. The
    /// watermark becomes +∞, so anything added afterwards would be late.
    /// What `--state` keeps between runs: the open windows, the highest event
    /// time and the watermark. The assigner and the plan are the run's own
    /// settings, which the state file checks.
    pub fn save(&self) -> Saved<'_> {
        Saved {
            max_time: self.max_time,
            watermark: self.watermark,
            open: std::borrow::Cow::Borrowed(&self.open),
        }
    }

    /// Takes up where a previous run's [`Windows::save`] left off.
    pub fn restore(&mut self, saved: Saved<'static>) {
        self.max_time = saved.max_time;
        self.watermark = saved.watermark;
        self.open = saved.open.into_owned();
        self.last_window = (0, 0);
    }

    pub fn finish<E>(
        &mut self,
        emit: &mut impl FnMut(i64, i64, &Bucket) -> Result<(), E>,
    ) -> Result<(), E> {
        self.advance_to(i64::MAX, emit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::agg::Agg;
    use proptest::prelude::*;
    use std::collections::BTreeMap as Map;

    /// (start, end, key) -> (count, sum)
    type Out = Map<(i64, i64, Vec<u8>), (u64, f64)>;

    fn run(
        records: &[(i64, u8, f64)],
        assigner: Assigner,
        lateness: i64,
    ) -> (Vec<(i64, i64)>, Out, u64) {
        let plan = AggPlan::new(&["temperature".into()], &[Agg::Sum]);
        let mut w = Windows::new(assigner, lateness, plan);
        let mut order = Vec::new();
        let mut out = Out::new();
        let mut late = 0;
        let mut emit = |s: i64, e: i64, b: &Bucket| -> Result<(), ()> {
            order.push((s, e));
            for (k, acc) in b.iter() {
                let prev = out.insert((s, e, k.to_vec()), (acc.count, acc.numbers[0].sum));
                assert!(prev.is_none(), "window emitted twice");
            }
            Ok(())
        };
        for &(t, k, x) in records {
            let v = Values {
                numbers: &[x],
                bools: &[],
                product: None,
            };
            if w.add(t, &[k], &v, &mut emit).unwrap() {
                late += 1;
            }
        }
        w.finish(&mut emit).unwrap();
        (order, out, late)
    }

    /// SQL `GROUP BY key, time_bucket(size, t)`, written out longhand.
    fn group_by(records: &[(i64, u8, f64)], size: i64, slide: i64) -> Out {
        let mut out = Out::new();
        for &(t, k, x) in records {
            let mut s = t.div_euclid(slide) * slide;
            while s > t - size {
                let e = out.entry((s, s + size, vec![k])).or_insert((0, 0.0));
                e.0 += 1;
                e.1 += x;
                s -= slide;
            }
        }
        out
    }

    fn in_order() -> impl Strategy<Value = Vec<(i64, u8, f64)>> {
        proptest::collection::vec((0i64..5_000, 0u8..4, -50i32..50), 0..200).prop_map(|v| {
            let mut t = 1_000_000;
            v.into_iter()
                .map(|(dt, k, x)| {
                    t += dt;
                    (t, k, f64::from(x))
                })
                .collect()
        })
    }

    #[test]
    fn emits_when_the_watermark_reaches_the_end() {
        let a = Assigner::tumbling(60_000, 0).unwrap();
        let plan = AggPlan::new(&["temperature".into()], &[Agg::Sum]);
        let mut w = Windows::new(a, 0, plan);
        let emitted = std::cell::RefCell::new(Vec::new());
        let mut emit = |s: i64, _e: i64, b: &Bucket| -> Result<(), ()> {
            emitted.borrow_mut().push((s, b.len()));
            Ok(())
        };
        let v = Values {
            numbers: &[1.0],
            bools: &[],
            product: None,
        };
        assert!(!w.add(59_999, b"a", &v, &mut emit).unwrap());
        assert!(emitted.borrow().is_empty());
        // Exactly on window_end: closes [0, 60s) and opens the next window.
        assert!(!w.add(60_000, b"a", &v, &mut emit).unwrap());
        assert_eq!(*emitted.borrow(), vec![(0, 1)]);
        // Its window is gone: late.
        assert!(w.add(30_000, b"b", &v, &mut emit).unwrap());
        assert_eq!(w.open_count(), 1);
        w.finish(&mut emit).unwrap();
        assert_eq!(*emitted.borrow(), vec![(0, 1), (60_000, 1)]);
    }

    proptest! {
        #[test]
        fn in_order_input_equals_group_by(records in in_order(), size_s in 1i64..120) {
            let size = size_s * 1000;
            let (order, out, late) = run(&records, Assigner::tumbling(size, 0).unwrap(), 0);
            prop_assert_eq!(late, 0);
            prop_assert_eq!(&out, &group_by(&records, size, size));
            // Counts add up: every record in exactly one window.
            prop_assert_eq!(out.values().map(|v| v.0).sum::<u64>(), records.len() as u64);
            // Windows come out in time order.
            prop_assert!(order.windows(2).all(|p| p[0].1 <= p[1].1));
        }

        #[test]
        fn hopping_equals_group_by_over_each_window(records in in_order(), slide_s in 1i64..30, factor in 1i64..5) {
            let (slide, size) = (slide_s * 1000, slide_s * 1000 * factor);
            let (_, out, late) = run(&records, Assigner::hopping(size, slide, 0).unwrap(), 0);
            prop_assert_eq!(late, 0);
            prop_assert_eq!(&out, &group_by(&records, size, slide));
            prop_assert_eq!(out.values().map(|v| v.0).sum::<u64>(), records.len() as u64 * factor as u64);
        }

        #[test]
        fn reordering_within_the_lateness_changes_nothing(
            records in in_order(),
            lateness_s in 0i64..30,
            swaps in proptest::collection::vec((0usize..200, 0usize..200), 0..100),
        ) {
            let lateness = lateness_s * 1000;
            let size = 60_000;
            let mut shuffled = records.clone();
            // Swap only pairs whose times differ by at most the lateness.
            for (i, j) in swaps {
                if i < shuffled.len() && j < shuffled.len() {
                    let mut s2 = shuffled.clone();
                    s2.swap(i, j);
                    let mut max = i64::MIN;
                    let ok = s2.iter().all(|r| { max = max.max(r.0); r.0 >= max - lateness });
                    if ok { shuffled = s2; }
                }
            }
            let (_, a, late_a) = run(&records, Assigner::tumbling(size, 0).unwrap(), lateness);
            let (_, b, late_b) = run(&shuffled, Assigner::tumbling(size, 0).unwrap(), lateness);
            prop_assert_eq!(late_a + late_b, 0);
            prop_assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
            for (k, (n, s)) in &a {
                let (n2, s2) = b[k];
                prop_assert_eq!(*n, n2);
                prop_assert!((s - s2).abs() < 1e-9);
            }
        }

        #[test]
        fn late_records_are_exactly_those_behind_a_closed_window(
            times in proptest::collection::vec(0i64..600_000, 1..200),
            lateness in 0i64..120_000,
        ) {
            let records: Vec<_> = times.iter().map(|&t| (t, 0u8, 1.0)).collect();
            let (_, out, late) = run(&records, Assigner::tumbling(60_000, 0).unwrap(), lateness);
            // Independent count: a record is late when the watermark before it
            // had reached the end of its window.
            let mut max = i64::MIN;
            let mut expect_late = 0;
            for &t in &times {
                let end = t.div_euclid(60_000) * 60_000 + 60_000;
                if max != i64::MIN && end <= max - lateness { expect_late += 1; }
                max = max.max(t);
            }
            prop_assert_eq!(late, expect_late);
            // Nothing lost: on-time records are all in the output.
            prop_assert_eq!(out.values().map(|v| v.0).sum::<u64>() + late, times.len() as u64);
        }
    }
}
