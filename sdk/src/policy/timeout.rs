//! Per-attempt timeouts inside an overall deadline.
//!
//! A call has two clocks: each attempt may take at most `per_attempt`, and the whole logical
//! call (all attempts and the waits between them) at most `overall`. The policy only does the
//! arithmetic; the client races each attempt against
//! [`attempt_timeout`](TimeoutPolicy::attempt_timeout) with its own timer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a [`TimeoutPolicy`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutPolicyError {
    /// A timeout of zero would fail every call.
    #[error("timeouts must be greater than zero")]
    Zero,
}

/// Per-attempt timeout and overall deadline of one logical call.
///
/// Default is 10 s per attempt within 30 s overall (the .NET standard resilience pipeline),
/// serialized as `{"per_attempt_ms":10000,"overall_ms":30000}`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::TimeoutPolicy;
///
/// let t = TimeoutPolicy::default();
/// let started = Duration::from_secs(100);
/// // First attempt: the per-attempt limit applies.
/// assert_eq!(t.attempt_timeout(started, started), Some(Duration::from_secs(10)));
/// // 25 s in, only 5 s of the deadline remain.
/// assert_eq!(t.attempt_timeout(started + Duration::from_secs(25), started), Some(Duration::from_secs(5)));
/// // Past the deadline: no further attempt.
/// assert_eq!(t.attempt_timeout(started + Duration::from_secs(30), started), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTimeoutPolicy", into = "RawTimeoutPolicy")]
pub struct TimeoutPolicy {
    per_attempt: Duration,
    overall: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(default)]
struct RawTimeoutPolicy {
    #[serde(rename = "per_attempt_ms", with = "super::millis")]
    per_attempt: Duration,
    #[serde(rename = "overall_ms", with = "super::millis")]
    overall: Duration,
}

impl Default for RawTimeoutPolicy {
    fn default() -> Self {
        TimeoutPolicy::default().into()
    }
}

impl TryFrom<RawTimeoutPolicy> for TimeoutPolicy {
    type Error = TimeoutPolicyError;
    fn try_from(raw: RawTimeoutPolicy) -> Result<Self, Self::Error> {
        TimeoutPolicy::new(raw.per_attempt, raw.overall)
    }
}

impl From<TimeoutPolicy> for RawTimeoutPolicy {
    fn from(t: TimeoutPolicy) -> Self {
        RawTimeoutPolicy {
            per_attempt: t.per_attempt,
            overall: t.overall,
        }
    }
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        Self {
            per_attempt: Duration::from_secs(10),
            overall: Duration::from_secs(30),
        }
    }
}

impl TimeoutPolicy {
    /// A policy with the given limits. An `overall` below `per_attempt` simply makes the
    /// deadline the tighter limit.
    ///
    /// # Errors
    ///
    /// [`TimeoutPolicyError::Zero`] if either limit is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// assert!(TimeoutPolicy::new(Duration::from_secs(5), Duration::from_secs(20)).is_ok());
    /// assert!(TimeoutPolicy::new(Duration::ZERO, Duration::from_secs(20)).is_err());
    /// ```
    pub fn new(per_attempt: Duration, overall: Duration) -> Result<Self, TimeoutPolicyError> {
        if per_attempt.is_zero() || overall.is_zero() {
            return Err(TimeoutPolicyError::Zero);
        }
        Ok(Self {
            per_attempt,
            overall,
        })
    }

    /// The limit of one attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// assert_eq!(TimeoutPolicy::default().per_attempt(), Duration::from_secs(10));
    /// ```
    pub fn per_attempt(&self) -> Duration {
        self.per_attempt
    }

    /// The limit of the whole call.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// assert_eq!(TimeoutPolicy::default().overall(), Duration::from_secs(30));
    /// ```
    pub fn overall(&self) -> Duration {
        self.overall
    }

    /// When a call that `started` must be finished.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// let t = TimeoutPolicy::default();
    /// assert_eq!(t.deadline(Duration::from_secs(1)), Duration::from_secs(31));
    /// ```
    pub fn deadline(&self, started: Duration) -> Duration {
        started.saturating_add(self.overall)
    }

    /// What remains of the deadline at `now`; `None` once it has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// let t = TimeoutPolicy::default();
    /// assert_eq!(t.remaining(Duration::from_secs(12), Duration::from_secs(2)), Some(Duration::from_secs(20)));
    /// assert_eq!(t.remaining(Duration::from_secs(40), Duration::from_secs(2)), None);
    /// ```
    pub fn remaining(&self, now: Duration, started: Duration) -> Option<Duration> {
        let left = self.deadline(started).saturating_sub(now);
        (!left.is_zero()).then_some(left)
    }

    /// The timeout for an attempt starting at `now`: the smaller of `per_attempt` and what
    /// remains of the deadline; `None` once the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// let t = TimeoutPolicy::default();
    /// assert_eq!(t.attempt_timeout(Duration::ZERO, Duration::ZERO), Some(Duration::from_secs(10)));
    /// ```
    pub fn attempt_timeout(&self, now: Duration, started: Duration) -> Option<Duration> {
        self.remaining(now, started)
            .map(|left| left.min(self.per_attempt))
    }

    /// Whether waiting `delay` from `now` still leaves time for another attempt. The client
    /// asks this before acting on a [`RetryDecision::RetryAfter`](super::RetryDecision) and
    /// stops with [`StopReason::DeadlineExceeded`](super::StopReason) otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::TimeoutPolicy;
    ///
    /// let t = TimeoutPolicy::default();
    /// let started = Duration::ZERO;
    /// assert!(t.allows_wait(Duration::from_secs(20), started, Duration::from_secs(5)));
    /// assert!(!t.allows_wait(Duration::from_secs(20), started, Duration::from_secs(10)));
    /// ```
    pub fn allows_wait(&self, now: Duration, started: Duration, delay: Duration) -> bool {
        self.remaining(now.saturating_add(delay), started).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::FakeClock;

    #[test]
    fn attempt_timeout_shrinks_with_the_deadline() {
        let t = TimeoutPolicy::new(Duration::from_secs(4), Duration::from_secs(10)).unwrap();
        let clock = FakeClock::new();
        let started = clock.now();
        let mut seen = Vec::new();
        while let Some(limit) = t.attempt_timeout(clock.now(), started) {
            seen.push(limit.as_secs());
            clock.advance(Duration::from_secs(3));
        }
        // At 0, 3 and 6 s the per-attempt limit applies; at 9 s only 1 s is left; at 12 s none.
        assert_eq!(seen, vec![4, 4, 4, 1]);
        assert_eq!(clock.now(), Duration::from_secs(12));
        assert_eq!(t.remaining(clock.now(), started), None);
    }

    #[test]
    fn serde_validates() {
        let t: TimeoutPolicy = serde_json::from_str(r#"{"per_attempt_ms":2500}"#).unwrap();
        assert_eq!(t.per_attempt(), Duration::from_millis(2500));
        assert_eq!(t.overall(), Duration::from_secs(30));
        assert!(serde_json::from_str::<TimeoutPolicy>(r#"{"overall_ms":0}"#).is_err());
    }
}
