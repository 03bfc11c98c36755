//! Exponential backoff, capped, with "full jitter".
//!
//! The delay before retry `n` (0-based) is drawn uniformly from `[0, min(cap, base·2ⁿ)]`
//! (AWS "full jitter", Brooker 2015).
//!
//! Why full jitter rather than Polly's decorrelated jitter v2:
//! - It is stateless: the delay depends only on the retry number and one random draw, so
//!   [`RetryPolicy::decide`](super::RetryPolicy::decide) needs no per-call state and the
//!   outbox can recompute a delay after a restart from the stored attempt count alone.
//! - Its bounds are obvious and easy to prove: every delay lies in `[0, cap]`, and the
//!   ceiling grows exactly like `base·2ⁿ`. Decorrelated jitter has a similar mean, but its
//!   spread is harder to state and to test.
//! - In AWS's contention simulation it does the least total work of the jitter schemes for
//!   many clients competing after a shared failure, which is the case we care about (every
//!   phone in a hospital retrying after the same outage).
//!
//! The cost is that some delays are very short. That is acceptable because retries are also
//! bounded by the [retry budget](super::budget) and the [breaker](super::breaker), which
//! carry the load-shedding job on their own.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::RandomSource;

/// Why a [`Backoff`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackoffError {
    /// The base delay was zero.
    #[error("backoff base must be greater than zero")]
    ZeroBase,
    /// The cap was below the base.
    #[error("backoff cap ({cap:?}) must be at least the base ({base:?})")]
    CapBelowBase {
        /// The base that was asked for.
        base: Duration,
        /// The cap that was asked for.
        cap: Duration,
    },
}

/// Capped exponential backoff with full jitter.
///
/// Default is a base of 200 ms and a cap of 30 s (serialized as `{"base_ms":200,"cap_ms":30000}`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{Backoff, SplitMix64};
///
/// let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10))?;
/// let mut rng = SplitMix64::new(1);
/// let delay = backoff.delay(3, &mut rng);
/// assert!(delay <= Duration::from_millis(800));
/// # Ok::<(), lifeline_sdk::policy::BackoffError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawBackoff", into = "RawBackoff")]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

#[derive(Serialize, Deserialize)]
struct RawBackoff {
    #[serde(rename = "base_ms", with = "super::millis")]
    base: Duration,
    #[serde(rename = "cap_ms", with = "super::millis")]
    cap: Duration,
}

impl TryFrom<RawBackoff> for Backoff {
    type Error = BackoffError;
    fn try_from(raw: RawBackoff) -> Result<Self, Self::Error> {
        Backoff::new(raw.base, raw.cap)
    }
}

impl From<Backoff> for RawBackoff {
    fn from(b: Backoff) -> Self {
        RawBackoff {
            base: b.base,
            cap: b.cap,
        }
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// A backoff starting at `base` and never exceeding `cap`.
    ///
    /// # Errors
    ///
    /// [`BackoffError::ZeroBase`] when `base` is zero, [`BackoffError::CapBelowBase`] when
    /// `cap < base`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::Backoff;
    ///
    /// assert!(Backoff::new(Duration::ZERO, Duration::from_secs(1)).is_err());
    /// assert!(Backoff::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());
    /// ```
    pub fn new(base: Duration, cap: Duration) -> Result<Self, BackoffError> {
        if base.is_zero() {
            return Err(BackoffError::ZeroBase);
        }
        if cap < base {
            return Err(BackoffError::CapBelowBase { base, cap });
        }
        Ok(Self { base, cap })
    }

    /// The delay of the first retry's ceiling.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::Backoff;
    ///
    /// assert_eq!(Backoff::default().base(), Duration::from_millis(200));
    /// ```
    pub fn base(&self) -> Duration {
        self.base
    }

    /// The largest delay this backoff ever returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::Backoff;
    ///
    /// assert_eq!(Backoff::default().cap(), Duration::from_secs(30));
    /// ```
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The upper bound of the delay before retry `retry` (0-based): `min(cap, base·2^retry)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::Backoff;
    ///
    /// let b = Backoff::default();
    /// assert_eq!(b.ceiling(0), Duration::from_millis(200));
    /// assert_eq!(b.ceiling(2), Duration::from_millis(800));
    /// assert_eq!(b.ceiling(40), Duration::from_secs(30));
    /// ```
    pub fn ceiling(&self, retry: u32) -> Duration {
        // 2^31 · base overflows nothing we care about: saturate, then cap.
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The jittered delay before retry `retry` (0-based): uniform in `[0, ceiling(retry)]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{Backoff, SplitMix64};
    ///
    /// let b = Backoff::default();
    /// let mut rng = SplitMix64::new(3);
    /// for retry in 0..100 {
    ///     assert!(b.delay(retry, &mut rng) <= b.cap());
    /// }
    /// ```
    pub fn delay<R: RandomSource + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        self.ceiling(retry).mul_f64(rng.next_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SplitMix64;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn validates() {
        assert_eq!(Backoff::new(ms(0), ms(10)), Err(BackoffError::ZeroBase));
        assert!(matches!(
            Backoff::new(ms(10), ms(5)),
            Err(BackoffError::CapBelowBase { .. })
        ));
        assert!(Backoff::new(ms(10), ms(10)).is_ok());
        assert_eq!(
            BackoffError::ZeroBase.to_string(),
            "backoff base must be greater than zero"
        );
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::new(ms(100), ms(1000)).unwrap();
        let ceilings: Vec<_> = (0..6).map(|n| b.ceiling(n)).collect();
        assert_eq!(
            ceilings,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(b.ceiling(u32::MAX), ms(1000));
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads() {
        let b = Backoff::default();
        let mut rng = SplitMix64::new(11);
        for retry in [0u32, 1, 4, 10] {
            let ceiling = b.ceiling(retry);
            let samples: Vec<Duration> = (0..10_000).map(|_| b.delay(retry, &mut rng)).collect();
            assert!(samples.iter().all(|d| *d <= ceiling));
            // Full jitter is uniform: the mean is half the ceiling, and both the lowest and
            // the highest tenth of the range are used.
            let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
            let half = ceiling / 2;
            let tolerance = ceiling / 20;
            assert!(
                mean > half - tolerance && mean < half + tolerance,
                "mean {mean:?}"
            );
            assert!(samples.iter().any(|d| *d < ceiling / 10));
            assert!(samples.iter().any(|d| *d > ceiling * 9 / 10));
        }
    }

    #[test]
    fn deserializes_validated_millis() {
        let b: Backoff = serde_json::from_str(r#"{"base_ms":100,"cap_ms":5000}"#).unwrap();
        assert_eq!(b, Backoff::new(ms(100), ms(5000)).unwrap());
        assert!(serde_json::from_str::<Backoff>(r#"{"base_ms":0,"cap_ms":5000}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Backoff::default()).unwrap(),
            r#"{"base_ms":200,"cap_ms":30000}"#
        );
    }
}
