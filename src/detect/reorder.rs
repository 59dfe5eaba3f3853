//! `--lateness`: readings that arrive out of order (a modem that sends a
//! reading late, a resend) are held back and judged in event time. A reading
//! is held until the watermark — the latest event time seen, less the
//! lateness — passes it, then released in time order. Whether a reading is
//! too late is decided when it arrives, so a late line is reported with its
//! own line number: it is older than the watermark, or than its container's
//! last judged reading.

use super::input::Owned;
use super::obs::Obs;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub struct Reorder {
    lateness_ms: i64,
    max_t: i64,
    seq: u64,
    held: BinaryHeap<Held>,
}

/// A held observation; the heap gives the earliest (then the first read) first.
struct Held {
    t: i64,
    seq: u64,
    obs: Owned,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.t, other.seq).cmp(&(self.t, self.seq))
    }
}

impl Reorder {
    pub fn new(lateness_ms: i64) -> Reorder {
        Reorder {
            lateness_ms,
            max_t: i64::MIN,
            seq: 0,
            held: BinaryHeap::new(),
        }
    }

    fn watermark(&self) -> i64 {
        self.max_t.saturating_sub(self.lateness_ms)
    }

    /// Holds `o`, or says why it is too late: its container's readings up to
    /// `last_judged` were judged already, or it is older than the watermark.
    pub fn admit(&mut self, o: &Obs, last_judged: Option<i64>) -> Result<(), String> {
        let t = o.t_ms;
        if t < self.watermark() || last_judged.is_some_and(|l| t < l) {
            return Err(format!(
                "reading of {} at {} arrived after readings up to {} were judged (--lateness {})",
                o.container_id,
                crate::time::format_millis(t),
                crate::time::format_millis(self.watermark().max(last_judged.unwrap_or(i64::MIN))),
                crate::time::Span::from_millis(self.lateness_ms),
            ));
        }
        self.max_t = self.max_t.max(t);
        self.seq += 1;
        self.held.push(Held {
            t,
            seq: self.seq,
            obs: Owned::pack(o),
        });
        Ok(())
    }

    /// Releases, in event time, what the watermark has passed (everything
    /// when `all`: the end of an input).
    pub fn release(
        &mut self,
        all: bool,
        f: &mut dyn FnMut(&Obs) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let upto = if all { i64::MAX } else { self.watermark() };
        while self.held.peek().is_some_and(|h| h.t <= upto) {
            if let Some(h) = self.held.pop() {
                f(&h.obs.obs())?;
            }
        }
        Ok(())
    }
}
