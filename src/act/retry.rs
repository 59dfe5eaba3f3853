//! Capped exponential backoff with full jitter.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: Duration,
    pub cap: Duration,
    pub retries: u32,
}

impl Backoff {
    /// The wait before retry number `attempt` (1-based): uniform in [0, min(cap, first·2^(attempt−1))].
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self.first.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let ceiling = exp.min(self.cap);
        ceiling.mul_f64(rng.gen::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn delays_grow_and_stay_capped() {
        let b = Backoff {
            first: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            retries: 10,
        };
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        for attempt in 1..40 {
            let d = b.delay(attempt, &mut rng);
            let ceiling = Duration::from_millis(100 * 2u64.pow((attempt - 1).min(20))).min(b.cap);
            assert!(d <= ceiling, "{attempt}: {d:?}");
        }
    }
}
