//! A retry budget: retries are allowed only while most recent calls succeed.
//!
//! # Why budgets beat max-attempts alone
//!
//! "Retry up to 3 times" sounds cautious, but it is a *per-call* limit. When a service goes
//! down for everyone, every call fails, every call retries 3 times, and the service is hit
//! by 4× its normal traffic exactly when it is least able to take it. If it comes back
//! slowly, the extra load keeps it down: a retry storm. Backoff and jitter spread the
//! retries over time but do not reduce their number; a circuit breaker stops calls only
//! after it has seen enough failures, and each client's breaker learns on its own.
//!
//! A budget is a *per-service* limit on the **ratio** of retries to calls. While the service
//! is healthy, the occasional failure is retried as usual (that is what retries are for:
//! one dropped connection, one 503 from an overloaded replica). Once failures dominate, the
//! budget runs dry and retries stop altogether, so the load a failing service sees falls to
//! at most the traffic it would have seen without any retries. It refills only through
//! successes, so retries come back gradually as the service recovers, never in a wave.
//!
//! This is the token bucket of gRPC's retry design (proposal A6), which Envoy and Finagle
//! also use in spirit:
//! - the bucket starts full at `max_tokens` (default 10);
//! - every call that fails with a retryable outcome takes 1 token;
//! - every successful call gives back `token_ratio` tokens (default 0.1, so one failure
//!   is paid back by ten successes);
//! - a retry is allowed only while the bucket holds **more than half** of `max_tokens`.
//!
//! With the defaults, a client that sees a failing service stops retrying after about five
//! failures, and recovers its retries after about fifty successes. Tokens are kept in
//! thousandths (as gRPC does) so the arithmetic is exact and repeatable.
//!
//! The budget holds no clock and no timers: it only counts. Unlike gRPC and tower, Lifeline
//! turns it **on by default**: a patient app retrying into an outage helps no one.

use serde::{Deserialize, Serialize};

use super::Outcome;

const SCALE: f64 = 1000.0;

/// Why a [`BudgetConfig`] is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetConfigError {
    /// `max_tokens` must lie in `(0, 1000]`.
    #[error("max_tokens must be greater than 0 and at most 1000, got {0}")]
    MaxTokens(f64),
    /// `token_ratio` must lie in `(0, 1]`.
    #[error("token_ratio must be greater than 0 and at most 1, got {0}")]
    TokenRatio(f64),
}

/// The settings of a [`RetryBudget`].
///
/// Default is `max_tokens` 10 and `token_ratio` 0.1 (gRPC's suggested ratio), serialized as
/// `{"max_tokens":10.0,"token_ratio":0.1}`.
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::BudgetConfig;
///
/// let c = BudgetConfig::new(20.0, 0.2)?;
/// assert_eq!(c.max_tokens(), 20.0);
/// assert!(BudgetConfig::new(0.0, 0.1).is_err());
/// # Ok::<(), lifeline_sdk::policy::BudgetConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBudgetConfig", into = "RawBudgetConfig")]
pub struct BudgetConfig {
    max_tokens: f64,
    token_ratio: f64,
}

#[derive(Serialize, Deserialize)]
#[serde(default)]
struct RawBudgetConfig {
    max_tokens: f64,
    token_ratio: f64,
}

impl Default for RawBudgetConfig {
    fn default() -> Self {
        BudgetConfig::default().into()
    }
}

impl TryFrom<RawBudgetConfig> for BudgetConfig {
    type Error = BudgetConfigError;
    fn try_from(raw: RawBudgetConfig) -> Result<Self, Self::Error> {
        BudgetConfig::new(raw.max_tokens, raw.token_ratio)
    }
}

impl From<BudgetConfig> for RawBudgetConfig {
    fn from(c: BudgetConfig) -> Self {
        RawBudgetConfig {
            max_tokens: c.max_tokens,
            token_ratio: c.token_ratio,
        }
    }
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self {
            max_tokens: 10.0,
            token_ratio: 0.1,
        }
    }
}

impl BudgetConfig {
    /// A budget configuration.
    ///
    /// # Errors
    ///
    /// [`BudgetConfigError::MaxTokens`] unless `0 < max_tokens <= 1000`,
    /// [`BudgetConfigError::TokenRatio`] unless `0 < token_ratio <= 1`.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BudgetConfig;
    ///
    /// assert!(BudgetConfig::new(10.0, 1.5).is_err());
    /// ```
    pub fn new(max_tokens: f64, token_ratio: f64) -> Result<Self, BudgetConfigError> {
        if !(max_tokens > 0.0 && max_tokens <= 1000.0) {
            return Err(BudgetConfigError::MaxTokens(max_tokens));
        }
        if !(token_ratio > 0.0 && token_ratio <= 1.0) {
            return Err(BudgetConfigError::TokenRatio(token_ratio));
        }
        Ok(Self {
            max_tokens,
            token_ratio,
        })
    }

    /// The bucket's capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BudgetConfig;
    ///
    /// assert_eq!(BudgetConfig::default().max_tokens(), 10.0);
    /// ```
    pub fn max_tokens(&self) -> f64 {
        self.max_tokens
    }

    /// Tokens returned per success.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::BudgetConfig;
    ///
    /// assert_eq!(BudgetConfig::default().token_ratio(), 0.1);
    /// ```
    pub fn token_ratio(&self) -> f64 {
        self.token_ratio
    }
}

/// The running token bucket of one service (keep one per API group, next to its breaker).
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::{Outcome, RetryBudget};
///
/// let mut budget = RetryBudget::default();
/// assert!(budget.allows_retry());
/// for _ in 0..5 {
///     budget.record(&Outcome::Network);
/// }
/// // 10 - 5 = 5 tokens: no longer more than half.
/// assert!(!budget.allows_retry());
/// for _ in 0..10 {
///     budget.record(&Outcome::Success);
/// }
/// assert!(budget.allows_retry());
/// ```
#[derive(Debug, Clone)]
pub struct RetryBudget {
    config: BudgetConfig,
    /// Thousandths of a token.
    milli_tokens: u32,
    max_milli: u32,
    ratio_milli: u32,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new(BudgetConfig::default())
    }
}

impl RetryBudget {
    /// A full bucket.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{BudgetConfig, RetryBudget};
    ///
    /// let b = RetryBudget::new(BudgetConfig::new(4.0, 0.5)?);
    /// assert_eq!(b.tokens(), 4.0);
    /// # Ok::<(), lifeline_sdk::policy::BudgetConfigError>(())
    /// ```
    pub fn new(config: BudgetConfig) -> Self {
        let max_milli = (config.max_tokens * SCALE).round() as u32;
        Self {
            config,
            milli_tokens: max_milli,
            max_milli,
            ratio_milli: ((config.token_ratio * SCALE).round() as u32).max(1),
        }
    }

    /// The configuration.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{BudgetConfig, RetryBudget};
    ///
    /// assert_eq!(RetryBudget::default().config(), BudgetConfig::default());
    /// ```
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Counts one finished attempt (first try or retry): a success refills `token_ratio`,
    /// a retryable failure takes one token, anything else (a 404, a 409) is neutral.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{Outcome, RetryBudget};
    ///
    /// let mut b = RetryBudget::default();
    /// b.record(&Outcome::status(503));
    /// assert_eq!(b.tokens(), 9.0);
    /// b.record(&Outcome::status(404));
    /// assert_eq!(b.tokens(), 9.0);
    /// ```
    pub fn record(&mut self, outcome: &Outcome) {
        if outcome.is_success() {
            self.milli_tokens = (self.milli_tokens + self.ratio_milli).min(self.max_milli);
        } else if outcome.is_retryable() {
            self.milli_tokens = self.milli_tokens.saturating_sub(SCALE as u32);
        }
    }

    /// Whether a retry may be sent now: the bucket holds more than half its capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::RetryBudget;
    ///
    /// assert!(RetryBudget::default().allows_retry());
    /// ```
    pub fn allows_retry(&self) -> bool {
        self.milli_tokens > self.max_milli / 2
    }

    /// The tokens in the bucket.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::RetryBudget;
    ///
    /// assert_eq!(RetryBudget::default().tokens(), 10.0);
    /// ```
    pub fn tokens(&self) -> f64 {
        f64::from(self.milli_tokens) / SCALE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausts_after_half_the_tokens_then_refills_through_successes() {
        let mut b = RetryBudget::default();
        for i in 0..4 {
            b.record(&Outcome::Timeout);
            assert!(b.allows_retry(), "after {} failures", i + 1);
        }
        b.record(&Outcome::Timeout);
        assert!(!b.allows_retry());
        // Further failures floor at zero rather than going negative.
        for _ in 0..100 {
            b.record(&Outcome::Network);
        }
        assert_eq!(b.tokens(), 0.0);
        // 50 successes bring it to exactly 5, which is not *more* than half; the 51st does.
        for _ in 0..50 {
            b.record(&Outcome::Success);
        }
        assert_eq!(b.tokens(), 5.0);
        assert!(!b.allows_retry());
        b.record(&Outcome::Success);
        assert!(b.allows_retry());
        // Never above capacity.
        for _ in 0..1000 {
            b.record(&Outcome::Success);
        }
        assert_eq!(b.tokens(), 10.0);
    }

    #[test]
    fn client_errors_are_neutral() {
        let mut b = RetryBudget::default();
        for code in [400, 401, 404, 409, 422, 501] {
            for _ in 0..20 {
                b.record(&Outcome::status(code));
            }
        }
        assert_eq!(b.tokens(), 10.0);
    }

    #[test]
    fn config_validation_and_serde() {
        assert!(BudgetConfig::new(f64::NAN, 0.1).is_err());
        assert!(BudgetConfig::new(1001.0, 0.1).is_err());
        assert!(BudgetConfig::new(10.0, 0.0).is_err());
        let c: BudgetConfig = serde_json::from_str(r#"{"token_ratio":0.2}"#).unwrap();
        assert_eq!(c, BudgetConfig::new(10.0, 0.2).unwrap());
        assert!(serde_json::from_str::<BudgetConfig>(r#"{"max_tokens":-1}"#).is_err());
        assert_eq!(
            BudgetConfigError::TokenRatio(2.0).to_string(),
            "token_ratio must be greater than 0 and at most 1, got 2"
        );
    }
}
