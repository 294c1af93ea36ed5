//! The one back-off rule: after the n-th failure in a row wait `first · 2^(n−1)`, spread by a random
//! jitter so many clients do not retry in step, and never longer than the cap (applied after the
//! jitter, so the cap is a promise).

use std::time::Duration;

/// An exponential back-off. Pure: the caller counts the failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub first: Duration,
    /// The longest wait, jitter included.
    pub max: Duration,
    /// ± this share of the wait at random (0.2 = ±20 %); 0 for none.
    pub jitter: f64,
}

impl Backoff {
    /// The wait after `failures` consecutive failures (0 or 1: the first wait).
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(31));
        let wait = self.first.saturating_mul(factor).min(self.max);
        let spread = 1.0 + self.jitter * (2.0 * f64::from(fastrand::f32()) - 1.0);
        wait.mul_f64(spread.max(0.0)).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn waits_double_with_each_failure_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_millis(250),
            max: S(5),
            jitter: 0.0,
        };
        assert_eq!(b.delay(1), Duration::from_millis(250));
        assert_eq!(b.delay(2), Duration::from_millis(500));
        assert_eq!(b.delay(4), S(2));
        assert_eq!(b.delay(6), S(5));
        assert_eq!(b.delay(u32::MAX), S(5), "no overflow");
    }

    #[test]
    fn jitter_spreads_the_wait_but_never_beyond_the_cap() {
        let b = Backoff {
            first: S(10),
            max: S(300),
            jitter: 0.2,
        };
        for _ in 0..200 {
            let d1 = b.delay(1);
            assert!(d1 >= S(8) && d1 <= S(12), "{d1:?}");
            let capped = b.delay(20);
            assert!(capped <= S(300), "the cap holds with jitter: {capped:?}");
            assert!(capped >= S(240), "{capped:?}");
        }
    }
}
