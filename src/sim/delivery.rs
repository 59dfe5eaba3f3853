//! `--delivery`: how readings reach the monitoring system. `in-order` (the
//! default) writes every reading once, sorted by time. `realistic` is what a
//! modem link over the power cable or a satellite does: now and then a
//! reading arrives late (after later readings), twice (a resend after a lost
//! acknowledgement), or not at all (a short loss of the link). Downstream
//! tools must cope: reefer-window with `--lateness`, detectors with gaps.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Which delivery the run simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryMode {
    /// Every reading once, in time order.
    InOrder,
    /// Small delays, occasional duplicates and short gaps.
    Realistic,
}

/// Share of readings that arrive late, twice, or start a loss of the link
/// (model values).
const LATE: f64 = 0.02;
const DUPLICATE: f64 = 0.005;
const LINK_LOSS: f64 = 0.0003;
/// A late reading is at most this late, and a loss of the link at most this long, ms.
const MAX_DELAY_MS: i64 = 60_000;
const MAX_LINK_LOSS_MS: i64 = 600_000;

/// One container's link.
pub struct Delivery {
    rng: SmallRng,
    /// Lines held back, with the step at which they arrive.
    pending: Vec<(u64, Vec<u8>)>,
    /// Readings still lost in the current loss of the link.
    lost: u64,
    max_delay_steps: u64,
    max_loss_steps: u64,
}

impl Delivery {
    pub fn new(seed: u64, interval_ms: i64) -> Delivery {
        let steps = |ms: i64| ((ms / interval_ms.max(1)) as u64).max(1);
        Delivery {
            rng: SmallRng::seed_from_u64(seed ^ 0x5DEE_CE66_D1CE_B00C),
            pending: Vec::new(),
            lost: 0,
            max_delay_steps: steps(MAX_DELAY_MS),
            max_loss_steps: steps(MAX_LINK_LOSS_MS),
        }
    }

    /// Writes the held-back lines that arrive at `step`; returns how many.
    pub fn release(&mut self, step: u64, buf: &mut Vec<u8>) -> u64 {
        if self.pending.is_empty() {
            return 0;
        }
        let mut n = 0;
        self.pending.retain(|(at, line)| {
            if *at <= step {
                buf.extend_from_slice(line);
                n += 1;
                false
            } else {
                true
            }
        });
        n
    }

    /// Decides what happens to the line just written at `buf[start..]` (step
    /// `step`): it stays, is lost, is held back, or is doubled. Returns how
    /// many lines it now makes at this step.
    pub fn route(&mut self, step: u64, buf: &mut Vec<u8>, start: usize) -> u64 {
        if self.lost > 0 {
            self.lost -= 1;
            buf.truncate(start);
            return 0;
        }
        let u: f64 = self.rng.gen();
        if u < LINK_LOSS {
            self.lost = self.rng.gen_range(0..self.max_loss_steps);
            buf.truncate(start);
            0
        } else if u < LINK_LOSS + LATE {
            let delay = self.rng.gen_range(1..=self.max_delay_steps);
            self.pending.push((step + delay, buf[start..].to_vec()));
            buf.truncate(start);
            0
        } else if u < LINK_LOSS + LATE + DUPLICATE {
            let line = buf[start..].to_vec();
            buf.extend_from_slice(&line);
            2
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_delivery_loses_delays_and_doubles_a_few_lines_and_keeps_the_rest() {
        let mut d = Delivery::new(7, 10_000);
        let (mut buf, mut written, mut sent) = (Vec::new(), 0u64, 0u64);
        for step in 0..100_000u64 {
            written += d.release(step, &mut buf);
            let start = buf.len();
            buf.extend_from_slice(format!("{step}\n").as_bytes());
            written += d.route(step, &mut buf, start);
            sent += 1;
        }
        let lines: Vec<u64> = String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
        assert_eq!(lines.len() as u64, written);
        let late = lines.windows(2).filter(|w| w[1] < w[0]).count() as f64 / sent as f64;
        let doubled = lines.windows(2).filter(|w| w[1] == w[0]).count() as f64 / sent as f64;
        let distinct: std::collections::HashSet<_> = lines.iter().collect();
        let lost = 1.0 - distinct.len() as f64 / sent as f64;
        assert!((0.01..0.03).contains(&late), "late {late}");
        assert!((0.002..0.01).contains(&doubled), "doubled {doubled}");
        assert!((0.002..0.03).contains(&lost), "lost {lost}");
    }
}
