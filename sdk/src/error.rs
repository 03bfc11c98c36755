//! The one error type of the SDK.
//!
//! Like `reqwest::Error`, [`Error`] keeps its kind private and answers questions through
//! predicates (`is_offline()`, `is_timeout()`, `status()`, `code()`...), so new kinds can be
//! added without breaking callers, and a UI can decide what to show without matching on
//! internals. It is `Clone` because one failure is often reported to several places (the
//! caller, an event, an outbox entry).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use lifeline_types::ErrorDetail;

use crate::services::ApiGroup;

/// Every failure the SDK reports: transport, timeouts, open breakers, server answers,
/// sessions, storage and decoding.
///
/// # Examples
///
/// ```
/// use lifeline_sdk::Error;
///
/// fn message_for_user(err: &Error) -> String {
///     if err.is_offline() {
///         "you are offline: showing saved data".to_string()
///     } else if err.is_circuit_open() {
///         "this service is having trouble: try again shortly".to_string()
///     } else if err.is_conflict() {
///         "that slot was just taken".to_string()
///     } else {
///         err.to_string()
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Error {
    inner: Arc<Inner>,
}

struct Inner {
    kind: Kind,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// The request never got an HTTP answer: connection refused or dropped, DNS, CORS, offline.
    Network(String),
    /// An attempt or the whole logical call ran out of time.
    Timeout,
    /// The group's breaker is open: the call was not sent.
    CircuitOpen {
        group: ApiGroup,
        retry_in: Option<Duration>,
    },
    /// The server answered with a non-2xx status.
    Status {
        status: u16,
        detail: Option<ErrorDetail>,
        retry_after: Option<Duration>,
    },
    /// The session ended: the refresh was answered 401, or there is no session to refresh.
    AuthExpired,
    /// A call that needs a signed-in user was made without one.
    NotSignedIn,
    /// The answer could not be decoded into the expected type.
    Decode(String),
    /// The persistent store failed.
    Storage(String),
    /// Invalid configuration or request.
    Builder(String),
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Arc::new(Inner { kind }),
        }
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.inner.kind
    }

    pub(crate) fn network(message: impl Into<String>) -> Self {
        Self::new(Kind::Network(message.into()))
    }
    pub(crate) fn timeout() -> Self {
        Self::new(Kind::Timeout)
    }
    pub(crate) fn circuit_open(group: ApiGroup, retry_in: Option<Duration>) -> Self {
        Self::new(Kind::CircuitOpen { group, retry_in })
    }
    pub(crate) fn status_error(
        status: u16,
        detail: Option<ErrorDetail>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::new(Kind::Status {
            status,
            detail,
            retry_after,
        })
    }
    pub(crate) fn auth_expired() -> Self {
        Self::new(Kind::AuthExpired)
    }
    pub(crate) fn not_signed_in() -> Self {
        Self::new(Kind::NotSignedIn)
    }
    pub(crate) fn decode(message: impl Into<String>) -> Self {
        Self::new(Kind::Decode(message.into()))
    }
    pub(crate) fn storage(message: impl fmt::Display) -> Self {
        Self::new(Kind::Storage(message.to_string()))
    }
    pub(crate) fn builder(message: impl Into<String>) -> Self {
        Self::new(Kind::Builder(message.into()))
    }

    /// True when no HTTP answer came back: the device is offline, the server is unreachable
    /// or the connection dropped. Cached data and the outbox keep working.
    pub fn is_offline(&self) -> bool {
        matches!(self.kind(), Kind::Network(_))
    }

    /// True when an attempt or the whole logical call ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind(), Kind::Timeout)
    }

    /// True when the call was refused without being sent because the API group's circuit
    /// breaker is open.
    pub fn is_circuit_open(&self) -> bool {
        matches!(self.kind(), Kind::CircuitOpen { .. })
    }

    /// The API group whose breaker refused the call, when [`is_circuit_open`](Self::is_circuit_open).
    pub fn circuit_group(&self) -> Option<ApiGroup> {
        match self.kind() {
            Kind::CircuitOpen { group, .. } => Some(*group),
            _ => None,
        }
    }

    /// The HTTP status the server answered with, if it answered with a non-2xx status.
    pub fn status(&self) -> Option<u16> {
        match self.kind() {
            Kind::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's machine-readable error code, such as `"slot_taken"`.
    pub fn code(&self) -> Option<&str> {
        self.detail().map(|d| d.code.as_str())
    }

    /// The server's message for people, if the server sent one.
    pub fn server_message(&self) -> Option<&str> {
        self.detail().map(|d| d.message.as_str())
    }

    /// The server's `details` object (for a `slot_taken` conflict: `alternatives`).
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.detail().and_then(|d| d.details.as_ref())
    }

    /// The request id the server gave this failure, for support.
    pub fn request_id(&self) -> Option<&str> {
        self.detail().and_then(|d| d.request_id.as_deref())
    }

    /// The whole error body the server sent.
    pub fn detail(&self) -> Option<&ErrorDetail> {
        match self.kind() {
            Kind::Status { detail, .. } => detail.as_ref(),
            _ => None,
        }
    }

    /// How long the server asked us to wait (`Retry-After`), or how long until an open
    /// breaker lets a probe through.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind() {
            Kind::Status { retry_after, .. } => *retry_after,
            Kind::CircuitOpen { retry_in, .. } => *retry_in,
            _ => None,
        }
    }

    /// True when trying again later may succeed: offline, timeouts, an open breaker,
    /// 408, 429 and 5xx. Other 4xx answers are definite and never retried.
    pub fn is_retryable(&self) -> bool {
        match self.kind() {
            Kind::Network(_) | Kind::Timeout | Kind::CircuitOpen { .. } => true,
            Kind::Status { status, .. } => {
                *status == 408
                    || *status == 429
                    || (500..=599).contains(status)
                    || self.is_in_progress()
            }
            _ => false,
        }
    }

    /// True when the session has ended and the user must sign in again.
    pub fn is_auth_expired(&self) -> bool {
        matches!(self.kind(), Kind::AuthExpired | Kind::NotSignedIn)
    }

    /// True when the server answered 409 Conflict (see [`details`](Self::details) for
    /// alternatives).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409) && !self.is_in_progress()
    }

    /// 409 `idempotency_in_progress`: the same write is still running on the server; not a
    /// conflict, just "ask again in a moment".
    pub(crate) fn is_in_progress(&self) -> bool {
        self.status() == Some(409) && self.code() == Some("idempotency_in_progress")
    }

    /// True when the answer could not be decoded into the expected type.
    pub fn is_decode(&self) -> bool {
        matches!(self.kind(), Kind::Decode(_))
    }

    /// True when the local store failed.
    pub fn is_storage(&self) -> bool {
        matches!(self.kind(), Kind::Storage(_))
    }

    /// True when the configuration or the request was invalid.
    pub fn is_builder(&self) -> bool {
        matches!(self.kind(), Kind::Builder(_))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            Kind::Network(msg) => write!(f, "the server could not be reached ({msg})"),
            Kind::Timeout => f.write_str("the request timed out"),
            Kind::CircuitOpen { group, .. } => {
                write!(f, "the {group} service is unavailable for a moment")
            }
            Kind::Status {
                status,
                detail: Some(detail),
                ..
            } => write!(f, "{} ({status} {})", detail.message, detail.code),
            Kind::Status { status, .. } => write!(f, "the server answered {status}"),
            Kind::AuthExpired => f.write_str("the session has expired: please sign in again"),
            Kind::NotSignedIn => f.write_str("not signed in"),
            Kind::Decode(msg) => write!(f, "unexpected answer from the server: {msg}"),
            Kind::Storage(msg) => write!(f, "local storage failed: {msg}"),
            Kind::Builder(msg) => write!(f, "invalid configuration: {msg}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error").field("kind", self.kind()).finish()
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::decode(err.to_string())
    }
}

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_classify_statuses() {
        let conflict = Error::status_error(
            409,
            Some(ErrorDetail {
                code: "slot_taken".into(),
                message: "slot taken".into(),
                request_id: None,
                details: Some(serde_json::json!({"alternatives": []})),
            }),
            None,
        );
        assert!(conflict.is_conflict());
        assert!(!conflict.is_retryable());
        assert_eq!(conflict.code(), Some("slot_taken"));
        assert!(conflict.details().is_some());
        assert!(Error::status_error(503, None, None).is_retryable());
        assert!(Error::status_error(429, None, None).is_retryable());
        assert!(!Error::status_error(404, None, None).is_retryable());
        assert!(Error::network("refused").is_offline());
        assert!(Error::timeout().is_retryable());
        assert!(Error::auth_expired().is_auth_expired());
    }

    #[test]
    fn display_is_lowercase_without_period() {
        for e in [
            Error::network("x"),
            Error::timeout(),
            Error::auth_expired(),
            Error::circuit_open(ApiGroup::Payments, None),
        ] {
            let s = e.to_string();
            assert!(!s.ends_with('.'));
            assert_eq!(
                s.chars().next().unwrap().to_lowercase().next(),
                s.chars().next()
            );
        }
    }
}
