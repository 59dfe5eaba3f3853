//! `--lateness`: readings that arrive out of order (a modem that sends a
//! reading late, a resend) are held back and judged in event time. A reading
//! is held until the watermark — the latest event time seen, less the
//! lateness — passes it, then released in time order. Whether a reading is
//! too late is decided when it arrives, so a late line is reported with its
//! own line number: it is older than the watermark, or than its container's
//! last judged reading.
//!
//! A container whose time goes back by more than the lateness (before its
//! last judged reading) is not late: its data starts over (a captured run
//! replayed after another, `cat run1.jsonl run2.jsonl`), and the caller
//! starts a new session for it ([`Admit::NewSession`]); everything held is
//! judged first, and the watermark starts again from that reading.
//!
//! Readings mostly arrive in time order, so they are kept in a deque sorted
//! by time: appending is the common case, an insertion in the middle the
//! exception (found by binary search; equal times keep their arrival order).

use super::input::Owned;
use super::obs::Obs;
use std::collections::VecDeque;

pub struct Reorder {
    lateness_ms: i64,
    max_t: i64,
    /// Held readings by event time, with their container's engine slot
    /// ([`NO_SLOT`] when it had none yet) to prefetch its state.
    held: VecDeque<(i64, u32, Owned)>,
}

/// How many readings ahead of the one being judged the engine is told to
/// prefetch: a fleet's per-container state does not fit in the cache, and
/// each reading touches another container's. On 10,000 containers at 10 s
/// the judging thread took 1.86–1.96 s with 8, 1.96–2.08 s with 16 or 32
/// (three runs each, taking turns).
const AHEAD: usize = 8;

pub use super::engine::NO_SLOT;

/// What [`Reorder::admit`] made of a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Held, to be judged in event time.
    Held,
    /// The container's time went back by more than the lateness: the caller
    /// judges what is held ([`Reorder::release`] with `all`), starts a new
    /// session for the container, then admits the reading again.
    NewSession,
}

impl Reorder {
    pub fn new(lateness_ms: i64) -> Reorder {
        Reorder {
            lateness_ms,
            max_t: i64::MIN,
            held: VecDeque::new(),
        }
    }

    fn watermark(&self) -> i64 {
        self.max_t.saturating_sub(self.lateness_ms)
    }

    /// Whether `t` goes back by more than the lateness before the
    /// container's last judged reading (a replay, not a late reading).
    pub fn goes_back(&self, t: i64, last_judged: Option<i64>) -> bool {
        last_judged.is_some_and(|l| t < l.saturating_sub(self.lateness_ms))
    }

    /// Holds `o`, or says why it is too late: its container's readings up to
    /// `last_judged` were judged already, or it is older than the watermark.
    pub fn admit(
        &mut self,
        o: &mut Owned,
        slot: u32,
        last_judged: Option<i64>,
    ) -> Result<Admit, String> {
        let t = o.t_ms();
        if self.goes_back(t, last_judged) {
            return Ok(Admit::NewSession);
        }
        if t < self.watermark() || last_judged.is_some_and(|l| t < l) {
            return Err(format!(
                "reading of {} at {} arrived after readings up to {} were judged (--lateness {})",
                o.container_id(),
                crate::time::format_millis(t),
                crate::time::format_millis(self.watermark().max(last_judged.unwrap_or(i64::MIN))),
                crate::time::Span::from_millis(self.lateness_ms),
            ));
        }
        self.max_t = self.max_t.max(t);
        let item = (t, slot, o.take());
        if self.held.back().is_none_or(|(last, _, _)| *last <= t) {
            self.held.push_back(item);
        } else {
            // After every held reading at or before t: equal times keep arrival order.
            let at = self.held.partition_point(|(h, _, _)| *h <= t);
            self.held.insert(at, item);
        }
        Ok(Admit::Held)
    }

    /// Forgets the watermark (nothing may be held: release everything first),
    /// for an independent input (`--evaluate` scores each input on its own).
    pub fn reset(&mut self) {
        self.max_t = i64::MIN;
    }

    /// After a new session began at `t` (everything held judged): the
    /// watermark starts again from there.
    pub fn restart_at(&mut self, t: i64) {
        self.max_t = t;
    }

    /// Releases, in event time, what the watermark has passed (everything
    /// when `all`: the end of an input, or a new session). `f` also gets the
    /// engine slot of the reading [`AHEAD`] places later ([`NO_SLOT`]: none),
    /// to prefetch.
    pub fn release(
        &mut self,
        all: bool,
        f: &mut dyn FnMut(&Obs, u32) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let upto = if all { i64::MAX } else { self.watermark() };
        // Judged where it is held, then dropped: popping it first copied the
        // 264-byte reading out of the buffer once more.
        while let Some((t, _, o)) = self.held.front() {
            if *t > upto {
                break;
            }
            let ahead = self.held.get(AHEAD).map_or(NO_SLOT, |h| h.1);
            let judged = f(&o.obs(), ahead);
            self.held.pop_front();
            judged?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(id: &str, t: i64) -> Owned {
        Owned::pack(&Obs {
            container_id: id,
            product_id: "P01",
            t_ms: t,
            from_ms: t,
            ..Obs::default()
        })
    }

    fn released(r: &mut Reorder, all: bool) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        r.release(all, &mut |o, _| {
            out.push((o.container_id.to_string(), o.t_ms));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn readings_within_the_lateness_come_out_in_event_time_and_equal_times_in_arrival_order() {
        let mut r = Reorder::new(60_000);
        for (id, t) in [("A", 0), ("B", 30_000), ("A", 10_000), ("B", 10_000)] {
            assert_eq!(r.admit(&mut obs(id, t), NO_SLOT, None), Ok(Admit::Held));
        }
        assert!(released(&mut r, false).is_empty());
        r.admit(&mut obs("A", 75_000), NO_SLOT, None).unwrap();
        assert_eq!(
            released(&mut r, false),
            [("A".into(), 0), ("A".into(), 10_000), ("B".into(), 10_000)]
        );
        assert_eq!(released(&mut r, true).len(), 2);
    }

    #[test]
    fn time_going_back_by_more_than_the_lateness_is_a_new_session_and_less_is_late() {
        let mut r = Reorder::new(60_000);
        r.admit(&mut obs("A", 600_000), NO_SLOT, Some(590_000))
            .unwrap();
        // 5 min before the last judged reading: a replay.
        assert_eq!(
            r.admit(&mut obs("A", 290_000), NO_SLOT, Some(590_000)),
            Ok(Admit::NewSession)
        );
        // 30 s before it: late.
        assert!(r
            .admit(&mut obs("A", 560_000), NO_SLOT, Some(590_000))
            .is_err());
        r.restart_at(290_000);
        assert_eq!(
            r.admit(&mut obs("A", 290_000), NO_SLOT, None),
            Ok(Admit::Held)
        );
    }
}
