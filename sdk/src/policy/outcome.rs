//! What one attempt ended with, and how the policies classify it.
//!
//! One classification shared by the retry policy, the retry budget and the breakers, so they
//! can never disagree: network errors, timeouts, 408, 429 and 5xx say "the service is in
//! trouble"; every other 4xx says "the service is fine, the request is wrong" and is never
//! retried nor held against the service (a 401 or a 409 storm must not open a breaker).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The outcome of one attempt of an HTTP call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::Outcome;
///
/// let busy = Outcome::Status { code: 503, retry_after: Some(Duration::from_secs(5)) };
/// assert!(busy.is_retryable());
/// assert!(busy.is_breaker_failure());
/// assert_eq!(busy.retry_after(), Some(Duration::from_secs(5)));
///
/// let missing = Outcome::status(404);
/// assert!(!missing.is_retryable());
/// assert!(!missing.is_breaker_failure());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx (or 3xx) answer.
    Success,
    /// A non-success HTTP status, with the server's `Retry-After` if it sent one.
    Status {
        /// The HTTP status code.
        code: u16,
        /// The parsed `Retry-After` header.
        #[serde(
            default,
            rename = "retry_after_ms",
            with = "super::millis::option",
            skip_serializing_if = "Option::is_none"
        )]
        retry_after: Option<Duration>,
    },
    /// The attempt ran out of time before an answer arrived.
    Timeout,
    /// No HTTP answer: connection refused or reset, DNS failure, offline, CORS.
    Network,
}

impl Outcome {
    /// The outcome for an HTTP answer with `code` and no `Retry-After`: [`Outcome::Success`]
    /// for codes below 400, [`Outcome::Status`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert_eq!(Outcome::status(204), Outcome::Success);
    /// assert_eq!(Outcome::status(500), Outcome::Status { code: 500, retry_after: None });
    /// ```
    pub fn status(code: u16) -> Self {
        Self::from_response(code, None)
    }

    /// The outcome for an HTTP answer with `code` and an optional `Retry-After`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// let o = Outcome::from_response(429, Some(Duration::from_secs(2)));
    /// assert_eq!(o.retry_after(), Some(Duration::from_secs(2)));
    /// ```
    pub fn from_response(code: u16, retry_after: Option<Duration>) -> Self {
        if code < 400 {
            Self::Success
        } else {
            Self::Status { code, retry_after }
        }
    }

    /// Whether the attempt succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert!(Outcome::Success.is_success());
    /// assert!(!Outcome::Timeout.is_success());
    /// ```
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success)
    }

    /// Whether this outcome counts against the service's breaker: network errors, timeouts,
    /// 408, 429 and every 5xx. Never other 4xx (401, 404, 409, 422...), which prove the
    /// service is up and answering.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert!(Outcome::Network.is_breaker_failure());
    /// assert!(Outcome::status(501).is_breaker_failure());
    /// assert!(!Outcome::status(401).is_breaker_failure());
    /// ```
    pub fn is_breaker_failure(&self) -> bool {
        match self {
            Self::Success => false,
            Self::Timeout | Self::Network => true,
            Self::Status { code, .. } => matches!(code, 408 | 429 | 500..=599),
        }
    }

    /// Whether another attempt could succeed: network errors, timeouts, 408, 429 and 5xx
    /// except 501 (Not Implemented will not change on a retry).
    ///
    /// Idempotency is a separate question, answered by [`RetryPolicy`](super::RetryPolicy).
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert!(Outcome::status(502).is_retryable());
    /// assert!(!Outcome::status(501).is_retryable());
    /// assert!(!Outcome::status(422).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.is_breaker_failure() && !matches!(self, Self::Status { code: 501, .. })
    }

    /// The HTTP status, if the attempt got an error answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert_eq!(Outcome::status(503).code(), Some(503));
    /// assert_eq!(Outcome::Network.code(), None);
    /// ```
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::Outcome;
    ///
    /// assert_eq!(Outcome::Timeout.retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Parses a `Retry-After` header in its delta-seconds form (`"120"`).
///
/// The HTTP-date form needs the wall clock; callers that support it convert it themselves.
/// Returns `None` for anything that is not a non-negative integer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::policy::parse_retry_after_secs;
///
/// assert_eq!(parse_retry_after_secs(" 7 "), Some(Duration::from_secs(7)));
/// assert_eq!(parse_retry_after_secs("soon"), None);
/// ```
pub fn parse_retry_after_secs(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let cases: &[(Outcome, bool, bool)] = &[
            (Outcome::Success, false, false),
            (Outcome::Network, true, true),
            (Outcome::Timeout, true, true),
            (Outcome::status(400), false, false),
            (Outcome::status(401), false, false),
            (Outcome::status(403), false, false),
            (Outcome::status(404), false, false),
            (Outcome::status(408), true, true),
            (Outcome::status(409), false, false),
            (Outcome::status(422), false, false),
            (Outcome::status(429), true, true),
            (Outcome::status(500), true, true),
            (Outcome::status(501), true, false),
            (Outcome::status(502), true, true),
            (Outcome::status(503), true, true),
            (Outcome::status(504), true, true),
        ];
        for (outcome, breaker, retry) in cases {
            assert_eq!(
                outcome.is_breaker_failure(),
                *breaker,
                "{outcome:?} breaker"
            );
            assert_eq!(outcome.is_retryable(), *retry, "{outcome:?} retryable");
        }
    }

    #[test]
    fn serializes_with_millis() {
        let o = Outcome::from_response(503, Some(Duration::from_millis(1500)));
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"status","code":503,"retry_after_ms":1500}"#
        );
        assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), o);
    }
}
