//! When to try a call again, and after how long.
//!
//! [`RetryPolicy::decide`] looks at one finished attempt and answers
//! [`RetryDecision::RetryAfter`] or [`RetryDecision::Stop`]; it never sleeps. The client
//! applies the decision, after asking the [`RetryBudget`](super::RetryBudget) and the
//! [`TimeoutPolicy`](super::TimeoutPolicy) whether the retry is still affordable.
//!
//! Rules, in order:
//! 1. a success stops;
//! 2. an outcome that cannot improve (any 4xx other than 408/429, a 501) stops: it goes to
//!    the user or the "needs attention" list, never into a retry loop;
//! 3. a call that is not idempotent (a POST without an `Idempotency-Key`) stops: a retry could
//!    book the same appointment twice;
//! 4. after `max_retries` retries it stops;
//! 5. otherwise it waits `max(backoff, Retry-After)`, capped at `max_retry_after`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Backoff, Outcome, RandomSource};

/// Whether repeating a call is safe.
///
/// GET, PUT and DELETE are idempotent by HTTP semantics; a POST is idempotent only when it
/// carries an `Idempotency-Key` the server deduplicates on. `From<bool>` maps `true` to
/// [`Idempotency::Idempotent`].
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::Idempotency;
///
/// let has_key = true;
/// assert_eq!(Idempotency::from(has_key), Idempotency::Idempotent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    /// Sending the request twice has the same effect as once.
    Idempotent,
    /// Sending the request twice may act twice.
    NotIdempotent,
}

impl From<bool> for Idempotency {
    fn from(idempotent: bool) -> Self {
        if idempotent {
            Self::Idempotent
        } else {
            Self::NotIdempotent
        }
    }
}

/// Why no further attempt should be made.
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::StopReason;
///
/// assert_eq!(StopReason::NotIdempotent.to_string(), "request is not idempotent");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The attempt succeeded.
    #[error("attempt succeeded")]
    Succeeded,
    /// The outcome will not change on a retry (4xx other than 408/429, or 501).
    #[error("outcome is not retryable")]
    NotRetryable,
    /// The call is not safe to repeat.
    #[error("request is not idempotent")]
    NotIdempotent,
    /// The policy's `max_retries` were used.
    #[error("retries exhausted")]
    RetriesExhausted,
    /// The retry budget is spent: the service is failing for many calls at once.
    #[error("retry budget exhausted")]
    BudgetExhausted,
    /// Waiting and retrying would overrun the call's overall deadline.
    #[error("deadline would be exceeded")]
    DeadlineExceeded,
}

/// What to do after one attempt.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{RetryDecision, StopReason};
///
/// assert_eq!(RetryDecision::RetryAfter(Duration::from_secs(1)).delay(), Some(Duration::from_secs(1)));
/// assert_eq!(RetryDecision::Stop(StopReason::Succeeded).delay(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(#[serde(with = "super::millis")] Duration),
    /// Do not try again.
    Stop(StopReason),
}

impl RetryDecision {
    /// The wait before the next attempt, if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{RetryDecision, StopReason};
    ///
    /// assert!(RetryDecision::Stop(StopReason::NotRetryable).delay().is_none());
    /// ```
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(d) => Some(*d),
            Self::Stop(_) => None,
        }
    }
}

/// Decides whether and when to retry one attempt's outcome.
///
/// Default is 3 retries (4 attempts in all), [`Backoff::default`] (200 ms doubling to 30 s,
/// full jitter) and Retry-After honoured up to 30 s. Serialized as
/// `{"max_retries":3,"backoff":{"base_ms":200,"cap_ms":30000},"max_retry_after_ms":30000}`;
/// missing fields take their defaults.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{Idempotency, Outcome, RetryDecision, RetryPolicy, SplitMix64, StopReason};
///
/// let policy = RetryPolicy::default();
/// let mut rng = SplitMix64::new(1);
///
/// // A 503 with Retry-After: 5 on the first attempt of a GET: wait at least 5 s.
/// let busy = Outcome::from_response(503, Some(Duration::from_secs(5)));
/// let decision = policy.decide(1, &busy, Idempotency::Idempotent, &mut rng);
/// assert!(decision.delay().unwrap() >= Duration::from_secs(5));
///
/// // A POST without an Idempotency-Key is never retried.
/// let decision = policy.decide(1, &Outcome::Network, false, &mut rng);
/// assert_eq!(decision, RetryDecision::Stop(StopReason::NotIdempotent));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    max_retries: u32,
    backoff: Backoff,
    #[serde(rename = "max_retry_after_ms", with = "super::millis")]
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff: Backoff::default(),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{Outcome, RetryPolicy, SplitMix64};
    ///
    /// let p = RetryPolicy::never();
    /// assert!(p.decide(1, &Outcome::Network, true, &mut SplitMix64::new(0)).delay().is_none());
    /// ```
    pub fn never() -> Self {
        Self::default().with_max_retries(0)
    }

    /// Sets how many retries follow the first attempt. Default is 3.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().with_max_retries(5).max_retries(), 5);
    /// ```
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the backoff. Default is [`Backoff::default`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{Backoff, RetryPolicy};
    ///
    /// let b = Backoff::new(Duration::from_millis(50), Duration::from_secs(1))?;
    /// assert_eq!(RetryPolicy::default().with_backoff(b).backoff(), b);
    /// # Ok::<(), lifeline_sdk::policy::BackoffError>(())
    /// ```
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the longest `Retry-After` the policy waits for; longer ones are cut to this.
    /// Default is 30 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::RetryPolicy;
    ///
    /// let p = RetryPolicy::default().with_max_retry_after(Duration::from_secs(10));
    /// assert_eq!(p.max_retry_after(), Duration::from_secs(10));
    /// ```
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// How many retries follow the first attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().max_retries(), 3);
    /// ```
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff between attempts.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{Backoff, RetryPolicy};
    ///
    /// assert_eq!(RetryPolicy::default().backoff(), Backoff::default());
    /// ```
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The longest `Retry-After` honoured.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::RetryPolicy;
    ///
    /// assert_eq!(RetryPolicy::default().max_retry_after(), Duration::from_secs(30));
    /// ```
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Decides what follows attempt number `attempt` (1 for the first try) that ended with
    /// `outcome`.
    ///
    /// `idempotency` takes an [`Idempotency`] or a `bool` (`true` = safe to repeat). The
    /// delay is `max(backoff, Retry-After)` capped at [`max_retry_after`](Self::max_retry_after);
    /// the backoff part is never above the backoff's cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{Outcome, RetryDecision, RetryPolicy, SplitMix64, StopReason};
    ///
    /// let p = RetryPolicy::default();
    /// let mut rng = SplitMix64::new(9);
    /// assert!(p.decide(3, &Outcome::Timeout, true, &mut rng).delay().is_some());
    /// assert_eq!(
    ///     p.decide(4, &Outcome::Timeout, true, &mut rng),
    ///     RetryDecision::Stop(StopReason::RetriesExhausted),
    /// );
    /// assert_eq!(
    ///     p.decide(1, &Outcome::status(409), true, &mut rng),
    ///     RetryDecision::Stop(StopReason::NotRetryable),
    /// );
    /// ```
    pub fn decide<R: RandomSource + ?Sized>(
        &self,
        attempt: u32,
        outcome: &Outcome,
        idempotency: impl Into<Idempotency>,
        rng: &mut R,
    ) -> RetryDecision {
        if outcome.is_success() {
            return RetryDecision::Stop(StopReason::Succeeded);
        }
        if !outcome.is_retryable() {
            return RetryDecision::Stop(StopReason::NotRetryable);
        }
        if idempotency.into() == Idempotency::NotIdempotent {
            return RetryDecision::Stop(StopReason::NotIdempotent);
        }
        let attempt = attempt.max(1);
        if attempt > self.max_retries {
            return RetryDecision::Stop(StopReason::RetriesExhausted);
        }
        let backoff = self.backoff.delay(attempt - 1, rng);
        let delay = match outcome.retry_after() {
            Some(retry_after) => backoff.max(retry_after.min(self.max_retry_after)),
            None => backoff,
        };
        RetryDecision::RetryAfter(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SplitMix64;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn retries_transient_failures_up_to_max_with_growing_ceiling() {
        let p = RetryPolicy::default();
        let mut rng = SplitMix64::new(5);
        for attempt in 1..=3 {
            for outcome in [Outcome::Network, Outcome::Timeout, Outcome::status(503)] {
                let d = p.decide(attempt, &outcome, true, &mut rng).delay().unwrap();
                assert!(d <= p.backoff().ceiling(attempt - 1), "{attempt} {d:?}");
            }
        }
        assert_eq!(
            p.decide(4, &Outcome::Network, true, &mut rng),
            RetryDecision::Stop(StopReason::RetriesExhausted)
        );
    }

    #[test]
    fn never_retries_4xx_501_or_success() {
        let p = RetryPolicy::default();
        let mut rng = SplitMix64::new(5);
        for code in [400, 401, 403, 404, 409, 410, 422, 501] {
            assert_eq!(
                p.decide(1, &Outcome::status(code), true, &mut rng),
                RetryDecision::Stop(StopReason::NotRetryable),
                "{code}"
            );
        }
        for code in [408, 429] {
            assert!(p
                .decide(1, &Outcome::status(code), true, &mut rng)
                .delay()
                .is_some());
        }
        assert_eq!(
            p.decide(1, &Outcome::Success, true, &mut rng),
            RetryDecision::Stop(StopReason::Succeeded)
        );
    }

    #[test]
    fn never_retries_non_idempotent_calls() {
        let p = RetryPolicy::default();
        let mut rng = SplitMix64::new(5);
        for outcome in [Outcome::Network, Outcome::Timeout, Outcome::status(503)] {
            assert_eq!(
                p.decide(1, &outcome, Idempotency::NotIdempotent, &mut rng),
                RetryDecision::Stop(StopReason::NotIdempotent)
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default().with_max_retry_after(secs(20));
        let mut rng = SplitMix64::new(5);
        // Longer than any backoff of the first retry: the server's value wins.
        let o = Outcome::from_response(429, Some(secs(7)));
        for _ in 0..100 {
            assert_eq!(
                p.decide(1, &o, true, &mut rng),
                RetryDecision::RetryAfter(secs(7))
            );
        }
        // Absurdly long: cut to the policy's maximum.
        let o = Outcome::from_response(503, Some(secs(3600)));
        assert_eq!(
            p.decide(1, &o, true, &mut rng),
            RetryDecision::RetryAfter(secs(20))
        );
        // Shorter than the backoff: the backoff wins, so the delay is never below Retry-After.
        let p = RetryPolicy::default().with_backoff(Backoff::new(secs(10), secs(10)).unwrap());
        let o = Outcome::from_response(503, Some(Duration::from_millis(1)));
        for _ in 0..100 {
            let d = p.decide(1, &o, true, &mut rng).delay().unwrap();
            assert!(d >= Duration::from_millis(1) && d <= secs(10));
        }
    }

    #[test]
    fn zero_retries_and_attempt_zero() {
        let mut rng = SplitMix64::new(5);
        assert_eq!(
            RetryPolicy::never().decide(1, &Outcome::Network, true, &mut rng),
            RetryDecision::Stop(StopReason::RetriesExhausted)
        );
        // Attempt 0 is read as the first attempt rather than underflowing.
        assert!(RetryPolicy::default()
            .decide(0, &Outcome::Network, true, &mut rng)
            .delay()
            .is_some());
    }

    #[test]
    fn serde_defaults_and_round_trip() {
        let p: RetryPolicy = serde_json::from_str(r#"{"max_retries":5}"#).unwrap();
        assert_eq!(p, RetryPolicy::default().with_max_retries(5));
        let json = serde_json::to_string(&RetryPolicy::default()).unwrap();
        assert_eq!(
            json,
            r#"{"max_retries":3,"backoff":{"base_ms":200,"cap_ms":30000},"max_retry_after_ms":30000}"#
        );
    }
}
