//! A circuit breaker per API group, driven by the caller's clock. The rules, the defaults and
//! the measurements behind them are documented on [`CircuitBreaker`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Outcome, RandomSource, SplitMix64};

/// Why a [`BreakerConfig`] is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BreakerConfigError {
    /// `failure_ratio` must lie in `(0, 1]`.
    #[error("failure_ratio must be greater than 0 and at most 1, got {0}")]
    FailureRatio(f64),
    /// The window must be at least one millisecond per bucket.
    #[error("window must be at least 1 ms per bucket")]
    Window,
    /// Buckets must number 1 to 100.
    #[error("buckets must be between 1 and 100, got {0}")]
    Buckets(u32),
    /// `min_throughput` must be at least 1.
    #[error("min_throughput must be at least 1")]
    MinThroughput,
    /// `break_duration` must be positive and at most `max_break_duration`.
    #[error("break_duration must be greater than zero and at most max_break_duration")]
    BreakDuration,
    /// `break_growth` must be at least 1.
    #[error("break_growth must be at least 1, got {0}")]
    BreakGrowth(f64),
    /// `break_jitter` must lie in `[0, 1)`.
    #[error("break_jitter must be at least 0 and below 1, got {0}")]
    BreakJitter(f64),
    /// `probe_timeout` must be positive.
    #[error("probe_timeout must be greater than zero")]
    ProbeTimeout,
}

/// The settings of a [`CircuitBreaker`]. Always valid: built by [`BreakerConfig::default`],
/// [`BreakerConfigBuilder::build`] or deserialization (which validates too).
///
/// Serialized with durations in milliseconds:
/// `{"failure_ratio":0.5,"window_ms":10000,"buckets":10,"min_throughput":5,
/// "consecutive_failures":2,"consecutive_network_failures":2,"break_duration_ms":90000,
/// "max_break_duration_ms":90000,"break_growth":2.0,"break_jitter":0.3333333333333333,
/// "probe_timeout_ms":10000,"reachable_spread_ms":15000}`; missing fields take these defaults. `consecutive_failures: 0`
/// (or `consecutive_network_failures: 0`) turns that consecutive rule off.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::BreakerConfig;
///
/// let config = BreakerConfig::builder()
///     .failure_ratio(0.25)
///     .break_duration(Duration::from_secs(2))
///     .build()?;
/// assert_eq!(config.failure_ratio(), 0.25);
/// assert_eq!(config.max_break_duration(), Duration::from_secs(90));
/// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "RawBreakerConfig", into = "RawBreakerConfig")]
pub struct BreakerConfig {
    raw: RawBreakerConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct RawBreakerConfig {
    failure_ratio: f64,
    #[serde(rename = "window_ms", with = "super::millis")]
    window: Duration,
    buckets: u32,
    min_throughput: u32,
    consecutive_failures: u32,
    consecutive_network_failures: u32,
    #[serde(rename = "break_duration_ms", with = "super::millis")]
    break_duration: Duration,
    #[serde(rename = "max_break_duration_ms", with = "super::millis")]
    max_break_duration: Duration,
    break_growth: f64,
    break_jitter: f64,
    #[serde(rename = "probe_timeout_ms", with = "super::millis")]
    probe_timeout: Duration,
    #[serde(rename = "reachable_spread_ms", with = "super::millis")]
    reachable_spread: Duration,
}

impl Default for RawBreakerConfig {
    fn default() -> Self {
        Self {
            failure_ratio: 0.5,
            window: Duration::from_secs(10),
            buckets: 10,
            min_throughput: 5,
            consecutive_failures: 2,
            consecutive_network_failures: 2,
            break_duration: Duration::from_secs(90),
            max_break_duration: Duration::from_secs(90),
            break_growth: 2.0,
            break_jitter: 1.0 / 3.0,
            probe_timeout: Duration::from_secs(10),
            reachable_spread: Duration::from_secs(15),
        }
    }
}

impl RawBreakerConfig {
    fn validate(self) -> Result<BreakerConfig, BreakerConfigError> {
        if !(self.failure_ratio > 0.0 && self.failure_ratio <= 1.0) {
            return Err(BreakerConfigError::FailureRatio(self.failure_ratio));
        }
        if !(1..=100).contains(&self.buckets) {
            return Err(BreakerConfigError::Buckets(self.buckets));
        }
        if self.window < Duration::from_millis(u64::from(self.buckets)) {
            return Err(BreakerConfigError::Window);
        }
        if self.min_throughput == 0 {
            return Err(BreakerConfigError::MinThroughput);
        }
        if self.break_duration.is_zero() || self.break_duration > self.max_break_duration {
            return Err(BreakerConfigError::BreakDuration);
        }
        if !(self.break_growth >= 1.0 && self.break_growth.is_finite()) {
            return Err(BreakerConfigError::BreakGrowth(self.break_growth));
        }
        if !(self.break_jitter >= 0.0 && self.break_jitter < 1.0) {
            return Err(BreakerConfigError::BreakJitter(self.break_jitter));
        }
        if self.probe_timeout.is_zero() {
            return Err(BreakerConfigError::ProbeTimeout);
        }
        Ok(BreakerConfig { raw: self })
    }
}

impl TryFrom<RawBreakerConfig> for BreakerConfig {
    type Error = BreakerConfigError;
    fn try_from(raw: RawBreakerConfig) -> Result<Self, Self::Error> {
        raw.validate()
    }
}

impl From<BreakerConfig> for RawBreakerConfig {
    fn from(c: BreakerConfig) -> Self {
        c.raw
    }
}

impl BreakerConfig {
    /// A builder starting from the defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::builder().build()?, BreakerConfig::default());
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder {
            raw: RawBreakerConfig::default(),
        }
    }

    /// Share of failures in the window that opens the breaker. Default is 0.5.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().failure_ratio(), 0.5);
    /// ```
    pub fn failure_ratio(&self) -> f64 {
        self.raw.failure_ratio
    }

    /// Length of the sliding window. Default is 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().window(), Duration::from_secs(10));
    /// ```
    pub fn window(&self) -> Duration {
        self.raw.window
    }

    /// Buckets the window is divided into. Default is 10.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().buckets(), 10);
    /// ```
    pub fn buckets(&self) -> u32 {
        self.raw.buckets
    }

    /// Calls needed in the window before the ratio rule applies. Default is 5.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().min_throughput(), 5);
    /// ```
    pub fn min_throughput(&self) -> u32 {
        self.raw.min_throughput
    }

    /// Failures in a row that open the breaker (0 = rule off). Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().consecutive_failures(), 2);
    /// ```
    pub fn consecutive_failures(&self) -> u32 {
        self.raw.consecutive_failures
    }

    /// Network-level failures in a row (no HTTP answer: connection refused or reset, DNS,
    /// offline) that open the breaker (0 = rule off). Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().consecutive_network_failures(), 2);
    /// ```
    pub fn consecutive_network_failures(&self) -> u32 {
        self.raw.consecutive_network_failures
    }

    /// The first break. Default is 90 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().break_duration(), Duration::from_secs(90));
    /// ```
    pub fn break_duration(&self) -> Duration {
        self.raw.break_duration
    }

    /// The longest break. Default is 90 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().max_break_duration(), Duration::from_secs(90));
    /// ```
    pub fn max_break_duration(&self) -> Duration {
        self.raw.max_break_duration
    }

    /// Factor the break grows by after each failed probe. Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().break_growth(), 2.0);
    /// ```
    pub fn break_growth(&self) -> f64 {
        self.raw.break_growth
    }

    /// Largest share a break is shortened by at random. Default is 1/3 (a 90 s break is
    /// drawn from `[60 s, 90 s]`).
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().break_jitter(), 1.0 / 3.0);
    /// ```
    pub fn break_jitter(&self) -> f64 {
        self.raw.break_jitter
    }

    /// How long a half-open probe may stay unresolved before it counts as failed.
    /// Default is 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().probe_timeout(), Duration::from_secs(10));
    /// ```
    pub fn probe_timeout(&self) -> Duration {
        self.raw.probe_timeout
    }

    /// How far a reachability probe moves the end of a network break: to a point drawn
    /// uniformly from `[now, now + reachable_spread]` (full jitter), never later than the
    /// break's own end. Zero ends the break at once. Default is 15 s: see "Reachability" on
    /// [`CircuitBreaker`] for why the end is spread rather than immediate.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// assert_eq!(BreakerConfig::default().reachable_spread(), Duration::from_secs(15));
    /// ```
    pub fn reachable_spread(&self) -> Duration {
        self.raw.reachable_spread
    }

    /// The break before jitter after `opens` earlier opens without a successful probe:
    /// `min(max_break_duration, break_duration · break_growth^opens)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder()
    ///     .break_duration(Duration::from_secs(5))
    ///     .max_break_duration(Duration::from_secs(60))
    ///     .build()?;
    /// assert_eq!(c.grown_break(0), Duration::from_secs(5));
    /// assert_eq!(c.grown_break(2), Duration::from_secs(20));
    /// assert_eq!(c.grown_break(10), Duration::from_secs(60));
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn grown_break(&self, opens: u32) -> Duration {
        let factor = self.raw.break_growth.powi(opens.min(64) as i32);
        let max = self.raw.max_break_duration;
        let secs = self.raw.break_duration.as_secs_f64() * factor;
        if secs.is_finite() && secs < max.as_secs_f64() {
            Duration::from_secs_f64(secs)
        } else {
            max
        }
    }
}

/// Builds a [`BreakerConfig`]; every setter documents its default.
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::BreakerConfig;
///
/// assert!(BreakerConfig::builder().failure_ratio(1.5).build().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct BreakerConfigBuilder {
    raw: RawBreakerConfig,
}

impl BreakerConfigBuilder {
    /// Share of failures that opens the breaker, in `(0, 1]`. Default is 0.5.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().failure_ratio(0.1).build()?;
    /// assert_eq!(c.failure_ratio(), 0.1);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn failure_ratio(mut self, ratio: f64) -> Self {
        self.raw.failure_ratio = ratio;
        self
    }

    /// Sliding window length and its bucket count. Default is 10 s in 10 buckets.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().window(Duration::from_secs(30), 15).build()?;
    /// assert_eq!(c.buckets(), 15);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn window(mut self, window: Duration, buckets: u32) -> Self {
        self.raw.window = window;
        self.raw.buckets = buckets;
        self
    }

    /// Calls needed in the window before the ratio applies. Default is 5.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().min_throughput(20).build()?;
    /// assert_eq!(c.min_throughput(), 20);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn min_throughput(mut self, calls: u32) -> Self {
        self.raw.min_throughput = calls;
        self
    }

    /// Failures in a row that open the breaker; 0 turns the rule off. Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().consecutive_failures(0).build()?;
    /// assert_eq!(c.consecutive_failures(), 0);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn consecutive_failures(mut self, failures: u32) -> Self {
        self.raw.consecutive_failures = failures;
        self
    }

    /// Network-level failures in a row that open the breaker; 0 turns the rule off.
    /// Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().consecutive_network_failures(1).build()?;
    /// assert_eq!(c.consecutive_network_failures(), 1);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn consecutive_network_failures(mut self, failures: u32) -> Self {
        self.raw.consecutive_network_failures = failures;
        self
    }

    /// The first break. Default is 90 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().break_duration(Duration::from_secs(1)).build()?;
    /// assert_eq!(c.break_duration(), Duration::from_secs(1));
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn break_duration(mut self, d: Duration) -> Self {
        self.raw.break_duration = d;
        self
    }

    /// The longest break. Default is 90 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().max_break_duration(Duration::from_secs(120)).build()?;
    /// assert_eq!(c.max_break_duration(), Duration::from_secs(120));
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn max_break_duration(mut self, d: Duration) -> Self {
        self.raw.max_break_duration = d;
        self
    }

    /// Growth factor of the break after each failed probe, at least 1. Default is 2.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().break_growth(1.0).build()?;
    /// assert_eq!(c.break_growth(), 1.0);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn break_growth(mut self, factor: f64) -> Self {
        self.raw.break_growth = factor;
        self
    }

    /// Largest share a break is shortened by at random, in `[0, 1)`. Default is 1/3.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().break_jitter(0.0).build()?;
    /// assert_eq!(c.break_jitter(), 0.0);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn break_jitter(mut self, share: f64) -> Self {
        self.raw.break_jitter = share;
        self
    }

    /// How far a reachability probe may move the end of a network break. Default is 15 s;
    /// zero ends it at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().reachable_spread(Duration::ZERO).build()?;
    /// assert_eq!(c.reachable_spread(), Duration::ZERO);
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn reachable_spread(mut self, d: Duration) -> Self {
        self.raw.reachable_spread = d;
        self
    }

    /// How long a probe may stay unresolved before it counts as failed. Default is 10 s.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::BreakerConfig;
    ///
    /// let c = BreakerConfig::builder().probe_timeout(Duration::from_secs(3)).build()?;
    /// assert_eq!(c.probe_timeout(), Duration::from_secs(3));
    /// # Ok::<(), lifeline_sdk::policy::BreakerConfigError>(())
    /// ```
    pub fn probe_timeout(mut self, d: Duration) -> Self {
        self.raw.probe_timeout = d;
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    ///
    /// The first invalid setting, as a [`BreakerConfigError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerConfig, BreakerConfigError};
    ///
    /// let err = BreakerConfig::builder().break_duration(Duration::ZERO).build().unwrap_err();
    /// assert_eq!(err, BreakerConfigError::BreakDuration);
    /// ```
    pub fn build(self) -> Result<BreakerConfig, BreakerConfigError> {
        self.raw.validate()
    }
}

/// The state of a breaker, as shown to the client and the user.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::BreakerState;
///
/// let s = BreakerState::Open { until: Duration::from_secs(65) };
/// assert!(!s.is_closed());
/// assert_eq!(
///     serde_json::to_string(&s).unwrap(),
///     r#"{"state":"open","until_ms":65000}"#,
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls flow.
    Closed,
    /// Calls are rejected until `until` (on the caller's monotonic clock).
    Open {
        /// When the break ends.
        #[serde(rename = "until_ms", with = "super::millis")]
        until: Duration,
    },
    /// One probe is (or may be) in flight; other calls are rejected.
    HalfOpen,
}

impl BreakerState {
    /// Whether calls flow freely.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BreakerState;
    ///
    /// assert!(BreakerState::Closed.is_closed());
    /// assert!(!BreakerState::HalfOpen.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

/// Why a breaker changed state.
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::TransitionReason;
///
/// let r = TransitionReason::ConsecutiveFailures { failures: 5 };
/// assert_eq!(r.to_string(), "5 failures in a row");
/// let r = TransitionReason::ConsecutiveNetworkFailures { failures: 2 };
/// assert_eq!(r.to_string(), "2 network failures in a row");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum TransitionReason {
    /// The failure share over the window reached the threshold.
    #[error("{failures} of {calls} calls failed")]
    FailureRatio {
        /// Failures in the window.
        failures: u32,
        /// Calls in the window.
        calls: u32,
    },
    /// Too many failures in a row.
    #[error("{failures} failures in a row")]
    ConsecutiveFailures {
        /// The run length.
        failures: u32,
    },
    /// Too many network-level failures (no HTTP answer at all) in a row.
    #[error("{failures} network failures in a row")]
    ConsecutiveNetworkFailures {
        /// The run length.
        failures: u32,
    },
    /// The break ended; a probe may go.
    #[error("break elapsed")]
    BreakElapsed,
    /// The probe succeeded.
    #[error("probe succeeded")]
    ProbeSucceeded,
    /// The probe failed.
    #[error("probe failed")]
    ProbeFailed,
    /// The probe was neither recorded nor cancelled within the probe timeout.
    #[error("probe timed out")]
    ProbeLost,
    /// The caller reset the breaker (for example when the device came back online).
    #[error("reset")]
    Reset,
    /// A reachability probe reached the server during a break that only unanswered calls
    /// opened: the break ends early, at a point drawn within `reachable_spread`, and the next
    /// call after it is the probe ([`CircuitBreaker::record_reachable`]).
    #[error("server reachable")]
    Reachable,
}

/// What opened the current break: it decides whether a successful reachability probe may
/// end the break early ([`CircuitBreaker::record_reachable`]).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{BreakCause, CircuitBreaker, Outcome};
///
/// let mut b = CircuitBreaker::default();
/// for outcome in [Outcome::Network, Outcome::Timeout] {
///     let p = b.try_acquire(Duration::ZERO).unwrap();
///     b.record(Duration::ZERO, p, &outcome);
/// }
/// assert_eq!(b.break_cause(Duration::ZERO), Some(BreakCause::Network));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakCause {
    /// Only calls that got no answer at all (connection refused or reset, DNS, offline,
    /// timeout): the device or the path to the server may have been down rather than the
    /// server, so learning that the server is reachable ends the break.
    Network,
    /// The server answered with failures (5xx, 429, 408), or a `Retry-After` set the break:
    /// the server itself is in trouble or asked to wait, and only time or a probe call ends
    /// the break.
    Server,
}

/// One state change, queued exactly once.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{BreakerConfig, CircuitBreaker, Outcome};
///
/// let mut breaker = CircuitBreaker::with_seed(BreakerConfig::default(), 1);
/// let now = Duration::from_secs(1);
/// for _ in 0..2 {
///     let permit = breaker.try_acquire(now).unwrap();
///     breaker.record(now, permit, &Outcome::Network);
/// }
/// let transitions = breaker.take_transitions();
/// assert_eq!(transitions.len(), 1);
/// assert!(matches!(transitions[0].to, lifeline_sdk::policy::BreakerState::Open { .. }));
/// assert!(breaker.take_transitions().is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerTransition {
    /// When it happened, on the caller's clock.
    #[serde(rename = "at_ms", with = "super::millis")]
    pub at: Duration,
    /// The state before.
    pub from: BreakerState,
    /// The state after.
    pub to: BreakerState,
    /// Why.
    pub reason: TransitionReason,
}

/// Permission to send one call; give it back through [`CircuitBreaker::record`] (or
/// [`CircuitBreaker::cancel`] if the call was abandoned before an outcome).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{CircuitBreaker, Outcome};
///
/// let mut breaker = CircuitBreaker::default();
/// let permit = breaker.try_acquire(Duration::ZERO).unwrap();
/// assert!(!permit.is_probe());
/// breaker.record(Duration::from_millis(30), permit, &Outcome::Success);
/// ```
#[derive(Debug)]
#[must_use = "a permit must be given back with record() or cancel()"]
pub struct Permit {
    epoch: u64,
    probe: bool,
    /// When it was issued, for a call let through while a failure run was open (see
    /// "Failure runs" on [`CircuitBreaker`]); `None` for other calls.
    trial: Option<Duration>,
}

impl Permit {
    /// Whether this is the half-open probe.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::CircuitBreaker;
    ///
    /// let mut b = CircuitBreaker::default();
    /// let p = b.try_acquire(Duration::ZERO).unwrap();
    /// assert!(!p.is_probe());
    /// b.cancel(Duration::ZERO, p);
    /// ```
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

/// The breaker refused a call; it was not sent.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::Rejected;
///
/// let r = Rejected { retry_in: Duration::from_millis(1500) };
/// assert_eq!(r.to_string(), "circuit open: retry in 1500 ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("circuit open: retry in {} ms", retry_in.as_millis())]
pub struct Rejected {
    /// How long until the breaker may let a call through: the rest of the break, or (while a
    /// probe is in flight) the longest the probe can take. The probe may resolve sooner.
    #[serde(rename = "retry_in_ms", with = "super::millis")]
    pub retry_in: Duration,
}

#[derive(Debug, Clone, Copy)]
enum Inner {
    Closed,
    Open { until: Duration },
    HalfOpen { probe_started: Option<Duration> },
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    index: u64,
    calls: u32,
    failures: u32,
    /// Failures that were answers of the server (5xx, 429, 408), not missing answers.
    server_failures: u32,
}

/// A circuit breaker for one API group.
///
/// # States
///
/// - **Closed**: calls flow. Outcomes are counted in a sliding window of buckets. The breaker
///   opens when, within the window, at least `min_throughput` calls were made and the share
///   of failures reaches `failure_ratio`, **or** when `consecutive_failures` calls in a row
///   failed (the second rule matters for a phone app, which may make only a handful of calls
///   a minute: a ratio over a window never fills up at that rate).
/// - **Open { until }**: calls are rejected at once with [`Rejected::retry_in`], without
///   touching the network. Only failures per [`Outcome::is_breaker_failure`] count: network
///   errors, timeouts, 408, 429 and 5xx; a 401 or a 409 proves the service is up.
/// - **HalfOpen**: after the break, exactly **one** probe call is let through; all others are
///   rejected until it resolves. Success closes the breaker; failure opens it again with a
///   longer break (`break_duration · break_growth^n`, capped at `max_break_duration`). A probe
///   that is neither recorded nor cancelled within `probe_timeout` counts as failed, so a
///   lost permit can never wedge the breaker half-open.
///
/// A `Retry-After` on a failing answer (429, 503) lengthens the break to at least that long
/// (capped at `max_break_duration`): the server said when to come back.
///
/// # Failure runs
///
/// While closed with a run of failures under way (the last outcome was a failure), the
/// breaker lets through only as many calls at once as the consecutive rules have left before
/// they open it (one, with the defaults): the retry of a failed call, or a new call, but not
/// both at once. Otherwise a call that starts while another's retry is in flight fails too,
/// and the outage costs a third attempt the breaker could not stop. A call refused this way
/// gets [`Rejected`] with the time the call in flight may still take; a success ends the run
/// and the limit. Such a call in flight that is neither recorded nor cancelled within
/// `probe_timeout` stops counting.
///
/// # Reachability
///
/// Each break remembers its [`BreakCause`]: [`BreakCause::Network`] when only calls without
/// an answer (connection errors, offline, timeouts) opened it, [`BreakCause::Server`] when
/// the server answered with failures or a `Retry-After` set the break. When the app learns
/// the server is reachable again (the OS reports connectivity and `GET /health` answers),
/// [`record_reachable`](Self::record_reachable) ends a network break at once, half-open, so
/// a phone that was offline does not wait out a 60–90 s break; a server break is left to run,
/// because the server said it was in trouble or when to come back.
///
/// # Jittered breaks
///
/// Every break is drawn uniformly from `[(1 − break_jitter)·d, d]` where `d` is the grown
/// break (default: from `[d/2, d]`). An outage starts at the same moment for every app
/// instance, and growing breaks (5, 10, 20, 40 s) add up to nearly the same schedule on every
/// phone, so without jitter their breaks end, their probes go and their outboxes flush
/// together: a synchronized wave on a service that has just come back. Jitter only ever
/// shortens a break, so `max_break_duration` stays a true maximum.
///
/// # Defaults, tuned for a patient app
///
/// Polly's standard pipeline (10% of at least 100 calls over 30 s) is made for servers that
/// make thousands of calls a minute; one phone makes a few, so it would never open. Lifeline
/// opens at **2 failures in a row** (or 50% failures over 10 s with at least 5 calls, or
/// `consecutive_network_failures` unreachable-host errors in a row when the 5xx rule is
/// raised), and breaks for **a span drawn from [60 s, 90 s]** (90 s with break jitter 1/3),
/// again after every failed probe, with a 10 s probe timeout (the attempt timeout). Opening
/// costs the user little (cached data with its age and a "service is having trouble"
/// banner, writes kept in the outbox), while hammering a failing hospital backend from every
/// ward's phones does not.
///
/// Why these numbers. The goal is at most 2 attempts per client per minute of a full outage
/// with no wave after it (the busiest second of the 10 s after recovery at most 1.5× the
/// normal rate). Every client's attempts in an outage are its detection plus its probes:
/// - detection costs 2 attempts, the failing call and its one retry. One retry of a single
///   failure (a lost answer, a 429, one bad replica) is what retries are for, so the breaker
///   must not open on one failure; opening on the second makes the other retries of that
///   call, and every call after it, free.
/// - that leaves no probe inside the first minute, so the first break is at least 60 s.
///   Independent clients cannot do better: a client that sees recovery within `r` seconds
///   must probe at least every `r` seconds, `60 / r` probes a minute on top of detection.
/// - jitter spreads the ends of the breaks, the probes and the outbox deliveries that follow
///   over 30 s, so recovery has no wave. A growing break would only lengthen recovery from
///   long outages; the 90 s cap already keeps a long outage near one probe a minute.
///
/// The herd simulation in the bench crate (10,000 instances, 1 read / 10 s and 1 write / 60 s
/// each, half connection errors and half 503s, the client's real retry, budget, breaker and
/// outbox behaviour) measured:
///
/// | setting | outage | attempts / client / min | peak 10 s / 120 s | 99% reads back | 99% writes delivered |
/// | --- | --- | --- | --- | --- | --- |
/// | defaults (2 in a row, [60, 90] s) | 60 s | 2.0 | 0.30× / 1.33× | 40 s | 35 s |
/// | defaults | 10 s | 12 | 0.07× / 1.33× | 90 s | 79 s |
/// | defaults | 5 min | 1.1 | 0.36× / 1.59× | 91 s | 93 s |
/// | no break jitter (90 s) | 60 s | 2.0 | 0.00× / 1.59× | 50 s | 40 s |
/// | defaults, the clients' network down instead, waiting out the breaks | 60 s | 2.0 | 0.30× / 1.33× | 40 s | 35 s |
/// | the same, with the reachability probe on reconnect (within 10 s), break end spread over 15 s, writes over 10 s more | 60 s | 2.0 | 1.62× / 1.62× | 29 s | 26 s |
/// | the same | 10 s | 12 | 1.27× / 1.27× | 31 s | 25 s |
/// | the same | 5 min | 1.1 | 2.60× / 3.67× | 29 s | 30 s |
/// | the same, writes spread over 20 s | 60 s | 2.0 | 1.54× / 1.54× | 29 s | 30 s |
/// | probe ending the break at once, writes released at once (before) | 60 s | 2.0 | 2.52× / 2.52× | 19 s | 10 s |
/// | the same (before) | 10 s | 12 | 2.06× / 2.06× | 19 s | 9 s |
/// | the same (before) | 5 min | 1.1 | 2.48× / 5.09× | 19 s | 20 s |
///
/// Measured before the failure-run limit (and before refused deliveries stopped counting
/// as outbox attempts), for comparison:
///
/// | setting | outage | attempts / client / min | peak 10 s / 120 s | 99% reads back | 99% writes delivered |
/// | --- | --- | --- | --- | --- | --- |
/// | 2 in a row, [60, 80] s | 60 s | 2.0 | 0.48× / 1.52× | 30 s | 27 s |
/// | 2 in a row, [59.5, 85] s | 60 s | 2.0 | 0.38× / 1.29× | 40 s | 32 s |
/// | open on 1 failure, [30, 50] s | 60 s | 2.0 | 0.05× / 1.35× | 49 s | 46 s |
/// | 1 connection error or 2 in a row, [15, 30] s | 60 s | 3.3 | 0.61× / 1.31× | 33 s | 47 s |
/// | earlier defaults (5 in a row, 5 s doubling to 60 s) | 60 s | 7.9 | 0.20× / 1.30× | 40 s | 119 s |
///
/// Before the failure-run limit the defaults made 2.0002 attempts per client per minute: in
/// two clients of 10,000 a call started while the retry of another was in flight, so three
/// failures got out before the breaker opened. The limit refuses that call instead (a read
/// answers its cached value, a write waits in the outbox); recovery is unchanged.
/// The price is the short server outage: a 10 s outage leaves reads stale for up to 90 s.
/// Opening on one failure would halve detection but make every retry after a single failure
/// impossible. When the clients' network was down rather than the server, the reachability
/// probe brings reads back within the connectivity report plus one read period and writes
/// within seconds if it ended the break at once, but clients whose connectivity returns
/// together (the simulation spreads the reports over 10 s) then read and flush their
/// outboxes together, 2–5× the normal rate. So the probe moves the break's end to a point
/// drawn within `reachable_spread` (15 s) instead, and the outbox spreads the writes that
/// waited over its `release_spread` (10 s) after that. A client cannot know how many others
/// reconnect with it, so the windows are fixed, not scaled by its own queue. The probes
/// themselves (one `GET /health` per client) are 0.86× of the normal rate while the reports
/// arrive: the catch-up has only the remaining 0.64× of headroom, which is why 1.5× costs
/// most of the writes' gain (table above).
///
/// # Events
///
/// Every state change is queued as a [`BreakerTransition`] exactly once; the client drains
/// them with [`CircuitBreaker::take_transitions`] and turns them into tracing events and its
/// event stream.
///
/// # Use
///
/// It holds no timers: every method takes `now`, the time since an arbitrary monotonic origin
/// the caller keeps (the SDK's clock, or a [`FakeClock`](super::testing::FakeClock) in
/// tests). Break jitter comes from its own seeded [`SplitMix64`].
///
/// Default is [`BreakerConfig::default`] seeded from the system's random source.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::{BreakerConfig, BreakerState, CircuitBreaker, Outcome};
///
/// let mut breaker = CircuitBreaker::with_seed(BreakerConfig::default(), 7);
/// let t0 = Duration::from_secs(100);
/// for _ in 0..2 {
///     let permit = breaker.try_acquire(t0).unwrap();
///     breaker.record(t0, permit, &Outcome::status(503));
/// }
/// let BreakerState::Open { until } = breaker.state(t0) else { panic!("should be open") };
/// let rejected = breaker.try_acquire(t0).unwrap_err();
/// assert_eq!(rejected.retry_in, until - t0);
///
/// // After the break, one probe goes; its success closes the breaker.
/// let probe = breaker.try_acquire(until).unwrap();
/// assert!(probe.is_probe());
/// assert!(breaker.try_acquire(until).is_err());
/// breaker.record(until, probe, &Outcome::Success);
/// assert_eq!(breaker.state(until), BreakerState::Closed);
/// ```
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Inner,
    /// Bumped on every transition so permits from an earlier state are ignored.
    epoch: u64,
    /// Opens since the breaker last closed: the exponent of the break growth.
    opens: u32,
    consecutive_failures: u32,
    /// The run of network-level failures (a failure with an HTTP answer ends it).
    consecutive_network_failures: u32,
    buckets: Vec<Bucket>,
    bucket_nanos: u64,
    /// The latest end of a `Retry-After` seen on a failure while closed.
    retry_after_until: Option<Duration>,
    /// The current failure run includes an answer of the server.
    run_has_server_failure: bool,
    /// When the calls let through during the current failure run were issued (at most
    /// what the consecutive rules have left).
    trials: Vec<Duration>,
    /// What opened the latest break.
    cause: BreakCause,
    /// A reachability probe already moved the end of the current break.
    resuming: bool,
    rng: SplitMix64,
    transitions: Vec<BreakerTransition>,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new(BreakerConfig::default())
    }
}

impl CircuitBreaker {
    /// A closed breaker whose break jitter is seeded from the system's random source.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerConfig, BreakerState, CircuitBreaker};
    ///
    /// let b = CircuitBreaker::new(BreakerConfig::default());
    /// assert_eq!(b.state(Duration::ZERO), BreakerState::Closed);
    /// ```
    pub fn new(config: BreakerConfig) -> Self {
        Self::with_rng(config, SplitMix64::from_entropy())
    }

    /// A closed breaker with repeatable break jitter.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{BreakerConfig, CircuitBreaker};
    ///
    /// let b = CircuitBreaker::with_seed(BreakerConfig::default(), 42);
    /// assert_eq!(b.config(), &BreakerConfig::default());
    /// ```
    pub fn with_seed(config: BreakerConfig, seed: u64) -> Self {
        Self::with_rng(config, SplitMix64::new(seed))
    }

    fn with_rng(config: BreakerConfig, rng: SplitMix64) -> Self {
        let buckets = config.buckets();
        let bucket_nanos = (config.window().as_nanos() / u128::from(buckets)).max(1);
        Self {
            config,
            inner: Inner::Closed,
            epoch: 0,
            opens: 0,
            consecutive_failures: 0,
            consecutive_network_failures: 0,
            buckets: vec![Bucket::default(); buckets as usize],
            bucket_nanos: u64::try_from(bucket_nanos).unwrap_or(u64::MAX),
            retry_after_until: None,
            run_has_server_failure: false,
            trials: Vec::new(),
            cause: BreakCause::Server,
            resuming: false,
            rng,
            transitions: Vec::new(),
        }
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{BreakerConfig, CircuitBreaker};
    ///
    /// assert_eq!(CircuitBreaker::default().config().min_throughput(), 5);
    /// ```
    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The state at `now`, without changing anything: an open breaker whose break has
    /// elapsed reads as [`BreakerState::HalfOpen`]. The matching transition is queued at the
    /// next [`try_acquire`](Self::try_acquire), [`record`](Self::record) or
    /// [`advance`](Self::advance).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerState, CircuitBreaker};
    ///
    /// assert_eq!(CircuitBreaker::default().state(Duration::ZERO), BreakerState::Closed);
    /// ```
    pub fn state(&self, now: Duration) -> BreakerState {
        match self.inner {
            Inner::Closed => BreakerState::Closed,
            Inner::Open { until } if now < until => BreakerState::Open { until },
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Applies the transitions that time alone causes (a break ending, a probe timing out).
    /// Every other method calls it first; call it directly to refresh a status display.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerConfig, BreakerState, CircuitBreaker, Outcome};
    ///
    /// let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), 3);
    /// for _ in 0..2 {
    ///     let p = b.try_acquire(Duration::ZERO).unwrap();
    ///     b.record(Duration::ZERO, p, &Outcome::Timeout);
    /// }
    /// b.advance(Duration::from_secs(90));
    /// let last = b.take_transitions().pop().unwrap();
    /// assert_eq!(last.to, BreakerState::HalfOpen);
    /// ```
    pub fn advance(&mut self, now: Duration) {
        match self.inner {
            Inner::Open { until } if now >= until => {
                self.transition(
                    until,
                    Inner::HalfOpen {
                        probe_started: None,
                    },
                    TransitionReason::BreakElapsed,
                );
            }
            Inner::HalfOpen {
                probe_started: Some(started),
            } => {
                let deadline = started.saturating_add(self.config.probe_timeout());
                if now >= deadline {
                    // Nothing new was learnt about the service: the cause stays.
                    self.open(deadline, TransitionReason::ProbeLost, None, self.cause);
                    // The new break may itself be over already.
                    self.advance(now);
                }
            }
            _ => {}
        }
    }

    /// Asks to send one call at `now`.
    ///
    /// # Errors
    ///
    /// [`Rejected`] while open, or while half-open with the probe already in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::CircuitBreaker;
    ///
    /// let mut b = CircuitBreaker::default();
    /// let permit = b.try_acquire(Duration::ZERO)?;
    /// b.cancel(Duration::ZERO, permit);
    /// # Ok::<(), lifeline_sdk::policy::Rejected>(())
    /// ```
    pub fn try_acquire(&mut self, now: Duration) -> Result<Permit, Rejected> {
        self.advance(now);
        match self.inner {
            Inner::Closed => {
                let Some(slots) = self.trial_slots() else {
                    return Ok(Permit {
                        epoch: self.epoch,
                        probe: false,
                        trial: None,
                    });
                };
                // A trial whose outcome never came back within the probe timeout no longer
                // holds its slot, so a lost permit cannot wedge the breaker.
                let timeout = self.config.probe_timeout();
                self.trials
                    .retain(|&issued| now < issued.saturating_add(timeout));
                if self.trials.len() >= slots as usize {
                    let oldest = self.trials.iter().min().copied().unwrap_or(now);
                    return Err(Rejected {
                        retry_in: oldest.saturating_add(timeout).saturating_sub(now),
                    });
                }
                self.trials.push(now);
                Ok(Permit {
                    epoch: self.epoch,
                    probe: false,
                    trial: Some(now),
                })
            }
            Inner::Open { until } => Err(Rejected {
                retry_in: until.saturating_sub(now),
            }),
            Inner::HalfOpen {
                probe_started: None,
            } => {
                self.inner = Inner::HalfOpen {
                    probe_started: Some(now),
                };
                Ok(Permit {
                    epoch: self.epoch,
                    probe: true,
                    trial: None,
                })
            }
            Inner::HalfOpen {
                probe_started: Some(started),
            } => Err(Rejected {
                retry_in: started
                    .saturating_add(self.config.probe_timeout())
                    .saturating_sub(now),
            }),
        }
    }

    /// Reports the outcome of the call `permit` allowed.
    ///
    /// Permits from before the latest state change are ignored (a slow call that started
    /// while closed says nothing about the service after a probe closed the breaker again).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{CircuitBreaker, Outcome};
    ///
    /// let mut b = CircuitBreaker::default();
    /// let p = b.try_acquire(Duration::ZERO).unwrap();
    /// b.record(Duration::from_millis(80), p, &Outcome::status(404));
    /// assert!(b.take_transitions().is_empty());
    /// ```
    pub fn record(&mut self, now: Duration, permit: Permit, outcome: &Outcome) {
        self.advance(now);
        if permit.epoch != self.epoch {
            return;
        }
        self.release_trial(&permit);
        let failure = outcome.is_breaker_failure();
        let server_failure = failure && matches!(outcome, Outcome::Status { .. });
        match self.inner {
            Inner::Closed => {
                if !failure {
                    self.consecutive_failures = 0;
                    self.consecutive_network_failures = 0;
                    self.run_has_server_failure = false;
                    self.trials.clear();
                    self.count(now, false, false);
                    return;
                }
                self.consecutive_failures += 1;
                self.run_has_server_failure |= server_failure;
                if matches!(outcome, Outcome::Network) {
                    self.consecutive_network_failures += 1;
                } else {
                    self.consecutive_network_failures = 0;
                }
                if let Some(ra) = outcome.retry_after() {
                    let until = now.saturating_add(ra.min(self.config.max_break_duration()));
                    self.retry_after_until = self.retry_after_until.max(Some(until));
                }
                let (calls, failures, server_failures) = self.count(now, true, server_failure);
                // Any answer of the server in the run or the window, or a Retry-After, makes
                // it the server's break; only missing answers make it the network's.
                let cause = if self.run_has_server_failure
                    || server_failures > 0
                    || self.retry_after_until.is_some()
                {
                    BreakCause::Server
                } else {
                    BreakCause::Network
                };
                let threshold = self.config.consecutive_failures();
                let network_threshold = self.config.consecutive_network_failures();
                if network_threshold > 0 && self.consecutive_network_failures >= network_threshold {
                    let failures = self.consecutive_network_failures;
                    self.open(
                        now,
                        TransitionReason::ConsecutiveNetworkFailures { failures },
                        None,
                        cause,
                    );
                } else if threshold > 0 && self.consecutive_failures >= threshold {
                    let failures = self.consecutive_failures;
                    self.open(
                        now,
                        TransitionReason::ConsecutiveFailures { failures },
                        outcome.retry_after(),
                        cause,
                    );
                } else if calls >= self.config.min_throughput()
                    && f64::from(failures) >= self.config.failure_ratio() * f64::from(calls)
                {
                    self.open(
                        now,
                        TransitionReason::FailureRatio { failures, calls },
                        outcome.retry_after(),
                        cause,
                    );
                }
            }
            Inner::HalfOpen {
                probe_started: Some(_),
            } if permit.probe => {
                if failure {
                    let cause = if server_failure {
                        BreakCause::Server
                    } else {
                        BreakCause::Network
                    };
                    self.open(
                        now,
                        TransitionReason::ProbeFailed,
                        outcome.retry_after(),
                        cause,
                    );
                } else {
                    self.close(now, TransitionReason::ProbeSucceeded);
                }
            }
            _ => {}
        }
    }

    /// Gives back a permit whose call was abandoned before any outcome (the caller gave up,
    /// the page closed). A cancelled probe lets the next call probe instead; a cancelled
    /// normal call is simply not counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::CircuitBreaker;
    ///
    /// let mut b = CircuitBreaker::default();
    /// let p = b.try_acquire(Duration::ZERO).unwrap();
    /// b.cancel(Duration::ZERO, p);
    /// ```
    pub fn cancel(&mut self, now: Duration, permit: Permit) {
        self.advance(now);
        if permit.epoch == self.epoch {
            self.release_trial(&permit);
        }
        if permit.probe && permit.epoch == self.epoch {
            if let Inner::HalfOpen { .. } = self.inner {
                self.inner = Inner::HalfOpen {
                    probe_started: None,
                };
            }
        }
    }

    /// Closes the breaker at once and forgets past failures, e.g. when the device reports
    /// it is back online after the breaker opened only because the device was offline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerState, CircuitBreaker, Outcome};
    ///
    /// let mut b = CircuitBreaker::default();
    /// for _ in 0..2 {
    ///     let p = b.try_acquire(Duration::ZERO).unwrap();
    ///     b.record(Duration::ZERO, p, &Outcome::Network);
    /// }
    /// b.reset(Duration::ZERO);
    /// assert_eq!(b.state(Duration::ZERO), BreakerState::Closed);
    /// ```
    pub fn reset(&mut self, now: Duration) {
        if !matches!(self.inner, Inner::Closed) {
            self.close(now, TransitionReason::Reset);
        }
    }

    /// Reports that a reachability probe (such as `GET /health`, sent outside the breaker)
    /// got an answer from the server at `now`. A break that only unanswered calls opened
    /// ([`BreakCause::Network`]) ends early: at a point drawn uniformly from
    /// `[now, now + reachable_spread]` (never later than it would have ended), after which
    /// the breaker is half-open, so the next call is the single probe and its outcome closes
    /// or reopens the breaker as usual (a failing probe grows the break as after any other
    /// break). With a zero `reachable_spread` the breaker turns half-open at once. A break the
    /// server's answers opened, or a `Retry-After` set ([`BreakCause::Server`]), is left
    /// alone: the server said it is in trouble or when to come back, and answering `/health`
    /// does not change that.
    ///
    /// Answers whether the break was shortened; a second report during the same break
    /// changes nothing (the end stays where the first one drew it).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakerState, CircuitBreaker, Outcome};
    ///
    /// let t0 = Duration::from_secs(5);
    /// let mut offline = CircuitBreaker::default();
    /// let mut failing = CircuitBreaker::default();
    /// for _ in 0..2 {
    ///     let p = offline.try_acquire(t0).unwrap();
    ///     offline.record(t0, p, &Outcome::Network);
    ///     let p = failing.try_acquire(t0).unwrap();
    ///     failing.record(t0, p, &Outcome::status(503));
    /// }
    /// let back = t0 + Duration::from_secs(3);
    /// assert!(offline.record_reachable(back));
    /// // The break now ends within 15 s (the default spread) instead of 60-90 s.
    /// let end = match offline.state(back) {
    ///     BreakerState::Open { until } => until,
    ///     _ => back,
    /// };
    /// assert!(end <= back + Duration::from_secs(15));
    /// assert_eq!(offline.state(end), BreakerState::HalfOpen);
    /// assert!(!failing.record_reachable(back));
    /// assert!(matches!(failing.state(back), BreakerState::Open { .. }));
    /// ```
    pub fn record_reachable(&mut self, now: Duration) -> bool {
        self.advance(now);
        match self.inner {
            Inner::Open { until }
                if now < until && self.cause == BreakCause::Network && !self.resuming =>
            {
                self.resuming = true;
                let spread = self.config.reachable_spread();
                let end = now.saturating_add(spread.mul_f64(self.rng.next_f64()));
                let to = if end > now {
                    Inner::Open {
                        until: end.min(until),
                    }
                } else {
                    Inner::HalfOpen {
                        probe_started: None,
                    }
                };
                self.transition(now, to, TransitionReason::Reachable);
                true
            }
            _ => false,
        }
    }

    /// What opened the break, while the breaker is open at `now`; `None` when it is closed
    /// or half-open.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::{BreakCause, CircuitBreaker, Outcome};
    ///
    /// let mut b = CircuitBreaker::default();
    /// assert_eq!(b.break_cause(Duration::ZERO), None);
    /// for outcome in [Outcome::Network, Outcome::status(502)] {
    ///     let p = b.try_acquire(Duration::ZERO).unwrap();
    ///     b.record(Duration::ZERO, p, &outcome);
    /// }
    /// assert_eq!(b.break_cause(Duration::ZERO), Some(BreakCause::Server));
    /// ```
    pub fn break_cause(&self, now: Duration) -> Option<BreakCause> {
        match self.state(now) {
            BreakerState::Open { .. } => Some(self.cause),
            _ => None,
        }
    }

    /// Takes the queued state changes, oldest first. Each is returned exactly once.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::CircuitBreaker;
    ///
    /// assert!(CircuitBreaker::default().take_transitions().is_empty());
    /// ```
    pub fn take_transitions(&mut self) -> Vec<BreakerTransition> {
        std::mem::take(&mut self.transitions)
    }

    /// Counts one call in the window at `now`; returns (calls, failures, server failures) in
    /// the window.
    fn count(&mut self, now: Duration, failure: bool, server_failure: bool) -> (u32, u32, u32) {
        let index =
            u64::try_from(now.as_nanos() / u128::from(self.bucket_nanos)).unwrap_or(u64::MAX);
        let n = self.buckets.len() as u64;
        let bucket = &mut self.buckets[(index % n) as usize];
        if bucket.index != index {
            *bucket = Bucket {
                index,
                ..Bucket::default()
            };
        }
        bucket.calls += 1;
        bucket.failures += u32::from(failure);
        bucket.server_failures += u32::from(server_failure);
        self.buckets
            .iter()
            .filter(|b| b.index <= index && index - b.index < n)
            .fold((0, 0, 0), |(c, f, s), b| {
                (c + b.calls, f + b.failures, s + b.server_failures)
            })
    }

    /// How many calls may be in flight while a failure run is open: what the consecutive
    /// rules have left before they open the breaker, so that even if every one of them fails
    /// the breaker opens on exactly the threshold and no call beyond it reaches the service.
    /// `None` when no run is open (or the rules are off): no limit.
    fn trial_slots(&self) -> Option<u32> {
        let left = |threshold: u32, run: u32| {
            (threshold > 0 && run > 0).then(|| threshold.saturating_sub(run))
        };
        let any = left(
            self.config.consecutive_failures(),
            self.consecutive_failures,
        );
        let network = left(
            self.config.consecutive_network_failures(),
            self.consecutive_network_failures,
        );
        match (any, network) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Frees the slot a trial permit held.
    fn release_trial(&mut self, permit: &Permit) {
        if let Some(issued) = permit.trial {
            if let Some(i) = self.trials.iter().position(|&t| t == issued) {
                self.trials.swap_remove(i);
            }
        }
    }

    fn clear_window(&mut self) {
        self.buckets.fill(Bucket::default());
        self.consecutive_failures = 0;
        self.consecutive_network_failures = 0;
        self.run_has_server_failure = false;
        self.trials.clear();
    }

    fn open(
        &mut self,
        now: Duration,
        reason: TransitionReason,
        retry_after: Option<Duration>,
        cause: BreakCause,
    ) {
        // A break a Retry-After set is the server's, whatever else failed.
        let mut cause = cause;
        let grown = self.config.grown_break(self.opens);
        self.opens = self.opens.saturating_add(1);
        let shorten = self.config.break_jitter() * self.rng.next_f64();
        let mut until = now.saturating_add(grown.mul_f64(1.0 - shorten));
        if let Some(ra) = retry_after {
            let ra_until = now.saturating_add(ra.min(self.config.max_break_duration()));
            until = until.max(ra_until);
            cause = BreakCause::Server;
        }
        if let Some(ra_until) = self.retry_after_until.take() {
            until = until.max(ra_until);
            cause = BreakCause::Server;
        }
        self.cause = cause;
        self.resuming = false;
        self.clear_window();
        self.transition(now, Inner::Open { until }, reason);
    }

    fn close(&mut self, now: Duration, reason: TransitionReason) {
        self.opens = 0;
        self.retry_after_until = None;
        self.clear_window();
        self.transition(now, Inner::Closed, reason);
    }

    fn transition(&mut self, at: Duration, to: Inner, reason: TransitionReason) {
        let from = self.public_state();
        self.inner = to;
        self.epoch += 1;
        let to = self.public_state();
        self.transitions.push(BreakerTransition {
            at,
            from,
            to,
            reason,
        });
    }

    fn public_state(&self) -> BreakerState {
        match self.inner {
            Inner::Closed => BreakerState::Closed,
            Inner::Open { until } => BreakerState::Open { until },
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::FakeClock;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// The mechanism under test without jitter: 5 failures in a row open it (the network
    /// rule off), breaks of 5 s doubling to 60 s.
    fn no_jitter() -> BreakerConfig {
        BreakerConfig::builder()
            .break_jitter(0.0)
            .consecutive_failures(5)
            .consecutive_network_failures(0)
            .break_duration(secs(5))
            .max_break_duration(secs(60))
            .build()
            .unwrap()
    }

    /// Acquires and records `outcome` at the clock's time; panics if rejected.
    fn call(b: &mut CircuitBreaker, clock: &FakeClock, outcome: Outcome) {
        let permit = b
            .try_acquire(clock.now())
            .expect("breaker should admit the call");
        b.record(clock.now(), permit, &outcome);
    }

    fn open_until(b: &CircuitBreaker, now: Duration) -> Duration {
        match b.state(now) {
            BreakerState::Open { until } => until,
            other => panic!("expected open, got {other:?}"),
        }
    }

    #[test]
    fn opens_by_ratio_once_min_throughput_is_reached() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .consecutive_failures(0)
            .break_duration(secs(5))
            .min_throughput(6)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 1);
        let clock = FakeClock::starting_at(secs(50));
        // 3 failures of 5 calls: 60% but below the minimum throughput.
        for outcome in [
            Outcome::Network,
            Outcome::Success,
            Outcome::Network,
            Outcome::Success,
            Outcome::Network,
        ] {
            call(&mut b, &clock, outcome);
            clock.advance(Duration::from_millis(500));
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        // The sixth call reaches the minimum with 50% failures: open.
        call(&mut b, &clock, Outcome::Success);
        assert_eq!(
            b.state(clock.now()),
            BreakerState::Closed,
            "3 of 6 at 50% opens only on a failure"
        );
        call(&mut b, &clock, Outcome::Timeout);
        let t = b.take_transitions();
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0].reason,
            TransitionReason::FailureRatio {
                failures: 4,
                calls: 7
            }
        );
        assert_eq!(open_until(&b, clock.now()), clock.now() + secs(5));
    }

    #[test]
    fn failures_slide_out_of_the_window() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .consecutive_failures(0)
            .consecutive_network_failures(0)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 1);
        let clock = FakeClock::new();
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::Network);
        }
        // 11 s later the four failures are outside the 10 s window: the fifth call makes
        // 1 of 1, below the minimum throughput.
        clock.advance(secs(11));
        call(&mut b, &clock, Outcome::Network);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        for _ in 0..3 {
            call(&mut b, &clock, Outcome::Network);
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        call(&mut b, &clock, Outcome::Network);
        assert!(matches!(b.state(clock.now()), BreakerState::Open { .. }));
    }

    #[test]
    fn opens_on_consecutive_failures_at_low_traffic() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .consecutive_failures(5)
            .min_throughput(100)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 1);
        let clock = FakeClock::new();
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::status(502));
            clock.advance(secs(30));
        }
        // A success breaks the run.
        call(&mut b, &clock, Outcome::Success);
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::Timeout);
            clock.advance(secs(30));
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        call(&mut b, &clock, Outcome::Timeout);
        let t = b.take_transitions();
        assert_eq!(
            t[0].reason,
            TransitionReason::ConsecutiveFailures { failures: 5 }
        );
    }

    #[test]
    fn client_errors_never_count_and_break_the_run() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for code in [400, 401, 403, 404, 409, 422] {
            for _ in 0..10 {
                call(&mut b, &clock, Outcome::status(code));
            }
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::Network);
            call(&mut b, &clock, Outcome::status(404));
        }
        // 4 of 68 failed, never two in a row.
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        assert!(b.take_transitions().is_empty());
    }

    #[test]
    fn half_open_lets_exactly_one_probe_through() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        let until = open_until(&b, clock.now());
        clock.advance(secs(1));
        let rejected = b.try_acquire(clock.now()).unwrap_err();
        assert_eq!(rejected.retry_in, secs(4));
        clock.set(until);
        assert_eq!(b.state(clock.now()), BreakerState::HalfOpen);
        let probe = b.try_acquire(clock.now()).unwrap();
        assert!(probe.is_probe());
        for _ in 0..100 {
            let r = b.try_acquire(clock.now()).unwrap_err();
            assert_eq!(r.retry_in, secs(10), "bounded by the probe timeout");
        }
        clock.advance(Duration::from_millis(200));
        b.record(clock.now(), probe, &Outcome::Success);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        let reasons: Vec<_> = b.take_transitions().iter().map(|t| t.reason).collect();
        assert_eq!(
            reasons,
            vec![
                TransitionReason::ConsecutiveFailures { failures: 5 },
                TransitionReason::BreakElapsed,
                TransitionReason::ProbeSucceeded,
            ]
        );
        // Closed again with a clean slate: four failures do not reopen it.
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::Network);
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }

    #[test]
    fn failed_probes_grow_the_break_up_to_the_cap_and_success_resets_it() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        let mut breaks = vec![open_until(&b, clock.now()) - clock.now()];
        for _ in 0..6 {
            clock.set(open_until(&b, clock.now()));
            call(&mut b, &clock, Outcome::status(503));
            breaks.push(open_until(&b, clock.now()) - clock.now());
        }
        assert_eq!(
            breaks,
            vec![
                secs(5),
                secs(10),
                secs(20),
                secs(40),
                secs(60),
                secs(60),
                secs(60)
            ]
        );
        clock.set(open_until(&b, clock.now()));
        call(&mut b, &clock, Outcome::Success);
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        assert_eq!(open_until(&b, clock.now()) - clock.now(), secs(5));
    }

    #[test]
    fn retry_after_lengthens_the_break_but_not_beyond_the_cap() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        // A Retry-After seen earlier in the run counts when the breaker opens.
        call(&mut b, &clock, Outcome::from_response(429, Some(secs(20))));
        for _ in 0..4 {
            call(&mut b, &clock, Outcome::Network);
        }
        assert_eq!(open_until(&b, clock.now()), secs(20));
        // A failed probe with Retry-After: 45 waits 45 s, not the grown 10 s.
        clock.set(secs(20));
        call(&mut b, &clock, Outcome::from_response(503, Some(secs(45))));
        assert_eq!(open_until(&b, clock.now()), secs(65));
        // Retry-After: 3600 is capped at the 60 s maximum break.
        clock.set(secs(65));
        call(
            &mut b,
            &clock,
            Outcome::from_response(503, Some(secs(3600))),
        );
        assert_eq!(open_until(&b, clock.now()), secs(125));
        // A short Retry-After never shortens the grown break (40 s now).
        clock.set(secs(125));
        call(&mut b, &clock, Outcome::from_response(503, Some(secs(1))));
        assert_eq!(open_until(&b, clock.now()), secs(165));
    }

    #[test]
    fn lost_probe_counts_as_failed_and_cancelled_probe_frees_the_slot() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        clock.set(secs(5));
        let lost = b.try_acquire(clock.now()).unwrap();
        // Ten seconds without an answer: the probe is lost, the break grows to 10 s.
        clock.set(secs(15));
        assert!(b.try_acquire(clock.now()).is_err());
        assert_eq!(open_until(&b, clock.now()), secs(25));
        // The late answer belongs to an old state and changes nothing.
        b.record(clock.now(), lost, &Outcome::Success);
        assert_eq!(open_until(&b, clock.now()), secs(25));
        let reasons: Vec<_> = b.take_transitions().iter().map(|t| t.reason).collect();
        assert_eq!(reasons.last(), Some(&TransitionReason::ProbeLost));

        clock.set(secs(25));
        let probe = b.try_acquire(clock.now()).unwrap();
        b.cancel(clock.now(), probe);
        let probe = b.try_acquire(clock.now()).expect("the slot is free again");
        assert!(probe.is_probe());
        b.record(clock.now(), probe, &Outcome::Success);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }

    #[test]
    fn stale_permits_from_before_an_open_are_ignored() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        let slow: Vec<Permit> = (0..3)
            .map(|_| b.try_acquire(clock.now()).unwrap())
            .collect();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        clock.set(secs(5));
        let probe = b.try_acquire(clock.now()).unwrap();
        // Slow calls from the closed period fail now: they must not count against the probe.
        for permit in slow {
            b.record(clock.now(), permit, &Outcome::Timeout);
        }
        assert_eq!(b.state(clock.now()), BreakerState::HalfOpen);
        b.record(clock.now(), probe, &Outcome::Success);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }

    #[test]
    fn transitions_are_reported_once_in_order() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        // Many rejected calls and state reads during the break add nothing.
        for _ in 0..10 {
            let _ = b.try_acquire(clock.now());
            let _ = b.state(clock.now());
        }
        let first = b.take_transitions();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].from, BreakerState::Closed);
        assert_eq!(first[0].to, BreakerState::Open { until: secs(5) });
        assert!(b.take_transitions().is_empty());
        // The break ending is reported once, stamped with the moment it ended.
        clock.set(secs(7));
        b.advance(clock.now());
        b.advance(clock.now());
        let _ = b.try_acquire(clock.now()).unwrap();
        let second = b.take_transitions();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].at, secs(5));
        assert_eq!(second[0].to, BreakerState::HalfOpen);
        assert!(b.take_transitions().is_empty());
    }

    #[test]
    fn break_jitter_spreads_breaks_below_the_grown_value() {
        let config = BreakerConfig::builder()
            .break_jitter(0.5)
            .consecutive_failures(5)
            .consecutive_network_failures(0)
            .break_duration(secs(5))
            .max_break_duration(secs(60))
            .build()
            .unwrap();
        let mut breaks = Vec::new();
        for seed in 0..500 {
            let mut b = CircuitBreaker::with_seed(config, seed);
            let clock = FakeClock::new();
            for _ in 0..5 {
                call(&mut b, &clock, Outcome::Network);
            }
            breaks.push(open_until(&b, clock.now()));
        }
        assert!(breaks
            .iter()
            .all(|d| *d >= secs(5).mul_f64(0.5) && *d <= secs(5)));
        let distinct: std::collections::BTreeSet<_> = breaks.iter().collect();
        assert!(distinct.len() > 450, "breaks should differ between clients");
        assert!(breaks.iter().any(|d| *d < Duration::from_millis(3000)));
        assert!(breaks.iter().any(|d| *d > Duration::from_millis(4900)));
    }

    #[test]
    fn reset_closes_and_config_round_trips() {
        let mut b = CircuitBreaker::with_seed(no_jitter(), 1);
        let clock = FakeClock::new();
        for _ in 0..5 {
            call(&mut b, &clock, Outcome::Network);
        }
        b.reset(clock.now());
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        assert_eq!(
            b.take_transitions().last().map(|t| t.reason),
            Some(TransitionReason::Reset)
        );

        let json = serde_json::to_string(&BreakerConfig::default()).unwrap();
        assert_eq!(
            json,
            r#"{"failure_ratio":0.5,"window_ms":10000,"buckets":10,"min_throughput":5,"consecutive_failures":2,"consecutive_network_failures":2,"break_duration_ms":90000,"max_break_duration_ms":90000,"break_growth":2.0,"break_jitter":0.3333333333333333,"probe_timeout_ms":10000,"reachable_spread_ms":15000}"#
        );
        let c: BreakerConfig = serde_json::from_str(r#"{"min_throughput":20}"#).unwrap();
        assert_eq!(c.min_throughput(), 20);
        assert!(serde_json::from_str::<BreakerConfig>(r#"{"break_jitter":1.0}"#).is_err());
        assert!(serde_json::from_str::<BreakerConfig>(r#"{"buckets":0}"#).is_err());
        assert!(
            serde_json::from_str::<BreakerConfig>(r#"{"break_duration_ms":120000}"#).is_err(),
            "break above the maximum"
        );
    }

    #[test]
    fn network_failures_open_sooner_than_answers_and_an_answer_ends_their_run() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .consecutive_failures(4)
            .consecutive_network_failures(2)
            .min_throughput(100)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 1);
        let clock = FakeClock::new();
        // A 503 between two unreachable-host errors: the host answered, no network run.
        call(&mut b, &clock, Outcome::Network);
        call(&mut b, &clock, Outcome::status(503));
        call(&mut b, &clock, Outcome::Network);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        // A success ends every run.
        call(&mut b, &clock, Outcome::Success);
        call(&mut b, &clock, Outcome::Network);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        call(&mut b, &clock, Outcome::Network);
        assert!(matches!(b.state(clock.now()), BreakerState::Open { .. }));
        assert_eq!(
            b.take_transitions()[0].reason,
            TransitionReason::ConsecutiveNetworkFailures { failures: 2 }
        );
    }

    #[test]
    fn defaults_retry_one_failure_and_then_break_past_a_one_minute_outage() {
        let mut opened = Vec::new();
        for seed in 0..200 {
            let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), seed);
            let clock = FakeClock::starting_at(secs(10));
            // One failure leaves the breaker closed: the call's retry goes out.
            call(&mut b, &clock, Outcome::status(503));
            assert_eq!(b.state(clock.now()), BreakerState::Closed);
            call(&mut b, &clock, Outcome::Network);
            let until = open_until(&b, clock.now());
            // No probe inside a one-minute outage, and never more than 90 s of break.
            assert!(until - clock.now() >= secs(60), "{until:?}");
            assert!(until - clock.now() <= secs(90), "{until:?}");
            opened.push(until);
            // A failed probe breaks again for the same span (the cap), a good one closes.
            clock.set(until);
            call(&mut b, &clock, Outcome::Timeout);
            let again = open_until(&b, clock.now()) - clock.now();
            assert!((secs(60)..=secs(90)).contains(&again), "{again:?}");
        }
        let distinct: std::collections::BTreeSet<_> = opened.iter().collect();
        assert!(distinct.len() > 190, "breaks differ between clients");
    }

    /// Opens `b` with two failures of `outcomes` at the clock's time.
    fn open_with(b: &mut CircuitBreaker, clock: &FakeClock, outcomes: [Outcome; 2]) -> Duration {
        for outcome in outcomes {
            call(b, clock, outcome);
        }
        open_until(b, clock.now())
    }

    #[test]
    fn a_network_break_ends_at_once_when_the_server_is_reachable_again() {
        let config = BreakerConfig::builder()
            .reachable_spread(Duration::ZERO)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 5);
        let clock = FakeClock::starting_at(secs(100));
        let until = open_with(&mut b, &clock, [Outcome::Network, Outcome::Timeout]);
        assert!(until - clock.now() >= secs(60));
        assert_eq!(b.break_cause(clock.now()), Some(BreakCause::Network));
        let _ = b.take_transitions();

        // Connectivity is back 7 s into a 60-90 s break: half-open at once.
        clock.advance(secs(7));
        assert!(b.record_reachable(clock.now()));
        assert_eq!(b.state(clock.now()), BreakerState::HalfOpen);
        let t = b.take_transitions();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].reason, TransitionReason::Reachable);
        assert_eq!(t[0].at, clock.now());
        // Twice is a no-op: the break is already over.
        assert!(!b.record_reachable(clock.now()));

        // The next call is the single probe; its success closes the breaker.
        let probe = b.try_acquire(clock.now()).unwrap();
        assert!(probe.is_probe());
        assert!(b.try_acquire(clock.now()).is_err());
        b.record(clock.now(), probe, &Outcome::Success);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_after_reachability_breaks_again_with_growth() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .break_duration(secs(10))
            .max_break_duration(secs(80))
            .reachable_spread(Duration::ZERO)
            .build()
            .unwrap();
        let mut b = CircuitBreaker::with_seed(config, 1);
        let clock = FakeClock::new();
        let until = open_with(&mut b, &clock, [Outcome::Network, Outcome::Network]);
        assert_eq!(until, secs(10));
        clock.advance(secs(2));
        assert!(b.record_reachable(clock.now()));
        // Reachable, but the API itself still fails with no answer: 20 s, still the
        // network's break.
        call(&mut b, &clock, Outcome::Network);
        assert_eq!(open_until(&b, clock.now()), clock.now() + secs(20));
        assert_eq!(b.break_cause(clock.now()), Some(BreakCause::Network));
        // ...or the probe gets a 503: the server's break, not shortened by /health.
        clock.advance(secs(1));
        assert!(b.record_reachable(clock.now()));
        call(&mut b, &clock, Outcome::status(503));
        assert_eq!(b.break_cause(clock.now()), Some(BreakCause::Server));
        let until = open_until(&b, clock.now());
        assert!(!b.record_reachable(clock.now()));
        assert_eq!(open_until(&b, clock.now()), until);
    }

    #[test]
    fn reachability_spreads_the_ends_of_network_breaks_over_the_spread() {
        // 1,000 phones whose breaks opened together get their connectivity back at the same
        // moment: their breaks end spread over the next 15 s, not together.
        let clock = FakeClock::starting_at(secs(100));
        let mut ends = Vec::new();
        for seed in 0..1000 {
            let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), seed);
            let until = open_with(&mut b, &clock, [Outcome::Network, Outcome::Network]);
            let back = clock.now() + secs(20);
            assert!(b.record_reachable(back));
            let end = match b.state(back) {
                BreakerState::Open { until } => until,
                state => panic!("{state:?}"),
            };
            assert!(
                end > back && end <= back + secs(15) && end < until,
                "{end:?}"
            );
            let t = b.take_transitions();
            let last = t.last().unwrap();
            assert_eq!(last.reason, TransitionReason::Reachable);
            assert_eq!(last.to, BreakerState::Open { until: end });
            // A second report in the same break does not draw again.
            assert!(!b.record_reachable(back));
            assert_eq!(b.state(back), BreakerState::Open { until: end });
            // The break's end is the usual half-open: one probe.
            assert_eq!(b.state(end), BreakerState::HalfOpen);
            let probe = b.try_acquire(end).unwrap();
            assert!(probe.is_probe());
            assert!(b.try_acquire(end).is_err());
            b.cancel(end, probe);
            ends.push((end - back).as_secs_f64());
        }
        // Full jitter: every 3-s slice of the 15 s gets about a fifth of the ends.
        for slice in 0..5 {
            let (from, to) = (slice as f64 * 3.0, slice as f64 * 3.0 + 3.0);
            let n = ends.iter().filter(|&&e| e > from && e <= to).count();
            assert!((150..=250).contains(&n), "{slice}: {n}");
        }
    }

    #[test]
    fn reachability_never_lengthens_a_break() {
        // A break with 2 s left stays at 2 s even when the draw says later.
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .break_duration(secs(10))
            .reachable_spread(secs(60))
            .build()
            .unwrap();
        let clock = FakeClock::new();
        for seed in 0..50 {
            let mut b = CircuitBreaker::with_seed(config, seed);
            let until = open_with(&mut b, &clock, [Outcome::Network, Outcome::Network]);
            assert!(b.record_reachable(secs(8)));
            match b.state(secs(8)) {
                BreakerState::Open { until: end } => assert!(end <= until),
                state => panic!("{state:?}"),
            }
        }
    }

    #[test]
    fn a_server_break_is_not_shortened_by_reachability() {
        let clock = FakeClock::starting_at(secs(100));
        // 5xx only, and a 5xx with a connection error: the server answered.
        for outcomes in [
            [Outcome::status(503), Outcome::status(500)],
            [Outcome::Network, Outcome::status(502)],
            [Outcome::status(429), Outcome::Network],
        ] {
            let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), 9);
            let until = open_with(&mut b, &clock, outcomes);
            assert_eq!(b.break_cause(clock.now()), Some(BreakCause::Server));
            assert!(!b.record_reachable(clock.now() + secs(1)), "{outcomes:?}");
            assert_eq!(open_until(&b, clock.now() + secs(1)), until, "{outcomes:?}");
        }
    }

    #[test]
    fn a_break_set_by_retry_after_is_not_shortened_by_reachability() {
        let config = BreakerConfig::builder()
            .break_jitter(0.0)
            .break_duration(secs(10))
            .build()
            .unwrap();
        let clock = FakeClock::new();
        // Network breaks lengthened by the server's Retry-After: on the failing call itself,
        // on an earlier failure of the run, or on a failed probe.
        let busy = Outcome::Status {
            code: 503,
            retry_after: Some(secs(75)),
        };
        let mut b = CircuitBreaker::with_seed(config, 1);
        let until = open_with(&mut b, &clock, [busy, Outcome::Network]);
        assert_eq!(until, secs(75));
        assert!(!b.record_reachable(secs(30)));
        assert_eq!(open_until(&b, secs(30)), secs(75));

        let mut b = CircuitBreaker::with_seed(config, 1);
        let until = open_with(&mut b, &clock, [Outcome::Network, Outcome::Network]);
        clock.set(until);
        call(&mut b, &clock, busy);
        assert_eq!(open_until(&b, clock.now()), until + secs(75));
        assert!(!b.record_reachable(clock.now() + secs(1)));
        assert_eq!(b.break_cause(clock.now()), Some(BreakCause::Server));
    }

    #[test]
    fn a_failure_run_lets_one_call_through_at_a_time() {
        let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), 2);
        let clock = FakeClock::starting_at(secs(100));
        // Without a failure, calls go out in parallel.
        let (p1, p2) = (
            b.try_acquire(clock.now()).unwrap(),
            b.try_acquire(clock.now()).unwrap(),
        );
        b.record(clock.now(), p1, &Outcome::Success);
        b.record(clock.now(), p2, &Outcome::Success);

        // One failure: its retry goes, and a call starting while the retry is in flight is
        // refused for as long as the retry may take; the outage costs 2 attempts, not 3.
        call(&mut b, &clock, Outcome::status(503));
        let retry = b.try_acquire(clock.now()).unwrap();
        clock.advance(Duration::from_millis(100));
        let refused = b.try_acquire(clock.now()).unwrap_err();
        assert_eq!(
            refused.retry_in,
            BreakerConfig::default().probe_timeout() - Duration::from_millis(100)
        );
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        b.record(clock.now(), retry, &Outcome::Network);
        assert!(matches!(b.state(clock.now()), BreakerState::Open { .. }));

        // A success ends the run and the limit.
        let mut b = CircuitBreaker::with_seed(BreakerConfig::default(), 2);
        call(&mut b, &clock, Outcome::Network);
        let retry = b.try_acquire(clock.now()).unwrap();
        assert!(b.try_acquire(clock.now()).is_err());
        b.record(clock.now(), retry, &Outcome::Success);
        let (p1, p2) = (
            b.try_acquire(clock.now()).unwrap(),
            b.try_acquire(clock.now()).unwrap(),
        );
        b.cancel(clock.now(), p1);
        b.cancel(clock.now(), p2);

        // A cancelled call frees its slot; a lost one stops counting after the probe timeout.
        call(&mut b, &clock, Outcome::Timeout);
        let p = b.try_acquire(clock.now()).unwrap();
        b.cancel(clock.now(), p);
        let lost = b.try_acquire(clock.now()).unwrap();
        assert!(b.try_acquire(clock.now()).is_err());
        clock.advance(BreakerConfig::default().probe_timeout());
        let p = b.try_acquire(clock.now()).unwrap();
        b.record(clock.now(), p, &Outcome::Success);
        // The lost permit, recorded late, no longer matters.
        b.record(clock.now(), lost, &Outcome::Network);
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }
}
