//! Capped exponential backoff with jitter (AWS architecture blog, "equal
//! jitter"): delay = c/2 + random(0, c/2) with c = min(cap, base * 2^(attempt-1)).

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    rng: SmallRng,
}

impl Backoff {
    pub const DEFAULT_BASE: Duration = Duration::from_millis(100);
    pub const DEFAULT_CAP: Duration = Duration::from_secs(5);

    /// The seed makes delays reproducible in tests; the binary seeds from the clock.
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Self {
        Backoff {
            base,
            cap,
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Upper bound of the delay before attempt number `attempt` (1 = first retry).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// The delay before retry `attempt`, jittered over [ceiling/2, ceiling] so
    /// that retries neither stampede nor come back instantly.
    pub fn delay(&mut self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let nanos = half.as_nanos() as u64;
        half + Duration::from_nanos(if nanos == 0 {
            0
        } else {
            self.rng.gen_range(0..=nanos)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 1);
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(2), Duration::from_millis(200));
        assert_eq!(b.ceiling(4), Duration::from_millis(800));
        assert_eq!(b.ceiling(10), Duration::from_secs(5));
        assert_eq!(b.ceiling(1000), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_in_range_and_is_seeded() {
        let mut a = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 7);
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5), 7);
        for attempt in 1..30 {
            let d = a.delay(attempt);
            assert_eq!(d, b.delay(attempt));
            assert!(d >= a.ceiling(attempt) / 2 && d <= a.ceiling(attempt));
        }
    }
}
