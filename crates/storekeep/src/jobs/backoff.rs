//! Retry delays: exponential back-off with full jitter. The `n`-th retry's
//! delay is drawn uniformly in `[0, ceiling(n)]`, `ceiling(n) = min(max,
//! base × 2^(n-1))`, so retries of many failing jobs spread out instead of
//! arriving together.

use std::time::Duration;

/// The back-off of one runner (`jobs.backoff_base_secs`,
/// `jobs.backoff_max_secs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The ceiling of the delay after failed attempt `attempt` (from 1).
    pub fn ceiling(&self, attempt: i32) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(40);
        self.base
            .checked_mul(1u32 << exp.min(31))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// A random delay below the ceiling (full jitter).
    pub fn delay(&self, attempt: i32) -> Duration {
        let ceiling = self.ceiling(attempt);
        ceiling.mul_f64(rand::random::<f64>())
    }

    /// The sum of the ceilings of every retry of a job allowed
    /// `max_attempts` attempts: the longest it can take to die.
    pub fn total_ceiling(&self, max_attempts: i32) -> Duration {
        (1..max_attempts).map(|a| self.ceiling(a)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JobSettings;

    fn default_backoff() -> Backoff {
        let s = JobSettings::default();
        Backoff {
            base: s.backoff_base,
            max: s.backoff_max,
        }
    }

    #[test]
    fn the_default_schedule_spans_about_three_days() {
        let s = JobSettings::default();
        let total = default_backoff().total_ceiling(s.max_attempts);
        let days = total.as_secs_f64() / 86_400.0;
        // 30 s doubling to the 8 h cap over 19 retries: 3.36 days of
        // ceilings; jittered delays average half of that.
        assert!((3.0..3.5).contains(&days), "{days} days");
    }

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let b = default_backoff();
        assert_eq!(b.ceiling(1), Duration::from_secs(30));
        assert_eq!(b.ceiling(2), Duration::from_secs(60));
        assert_eq!(b.ceiling(5), Duration::from_secs(480));
        assert_eq!(b.ceiling(11), Duration::from_secs(8 * 3600));
        assert_eq!(b.ceiling(1000), Duration::from_secs(8 * 3600));
    }

    #[test]
    fn jittered_delays_stay_below_their_ceiling_and_vary() {
        let b = default_backoff();
        let delays: Vec<Duration> = (0..50).map(|_| b.delay(4)).collect();
        assert!(delays.iter().all(|d| *d <= b.ceiling(4)));
        assert!(delays.iter().any(|d| *d != delays[0]));
    }
}
