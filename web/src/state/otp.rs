//! The medical-records unlock flow: ask for a code, type it, read the records. Which step
//! the page shows and what a failure means to the patient.

use std::time::Duration;

/// Where the patient is in the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtpStep {
    /// Nothing asked yet.
    #[default]
    Start,
    /// A code was sent to the patient's email.
    CodeSent,
    /// The code was accepted; records can be read for 30 minutes.
    Unlocked,
}

/// How long a lock lasts when the server does not say (`OTP_LOCK` on the server).
pub const DEFAULT_LOCK: Duration = Duration::from_secs(15 * 60);

/// Why a code request or check failed, from the server's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpFailure {
    /// A wrong code; how many tries are left before the lock, when the server said.
    WrongCode {
        /// Wrong codes still allowed before verification locks.
        attempts_left: Option<u64>,
    },
    /// Too many wrong codes: verification and new codes are locked for `wait`.
    Locked {
        /// How long until codes are accepted again.
        wait: Duration,
    },
    /// The code ran out of time.
    Expired,
    /// No code is waiting: ask for one.
    NotRequested,
    /// Too many requests of another kind.
    Throttled,
    /// The server failed.
    ServerProblem,
    /// No answer: offline or unreachable.
    Unreachable,
    /// The records service is paused by the app after repeated failures.
    Paused,
    /// Anything else.
    Other,
}

impl OtpFailure {
    /// Classifies an answer: its HTTP status (none when no answer came), the server's error
    /// code, its `details` and its `Retry-After`.
    pub fn from_answer(
        status: Option<u16>,
        code: Option<&str>,
        details: Option<&serde_json::Value>,
        retry_after: Option<Duration>,
    ) -> Self {
        match (status, code) {
            (Some(429), Some("otp_locked")) | (Some(423), _) => Self::Locked {
                wait: retry_after.unwrap_or(DEFAULT_LOCK),
            },
            (Some(401), Some("otp_expired")) | (Some(410), _) => Self::Expired,
            (Some(401), Some("otp_not_requested")) => Self::NotRequested,
            (Some(401 | 422), _) => Self::WrongCode {
                attempts_left: details
                    .and_then(|d| d.get("attempts_remaining"))
                    .and_then(serde_json::Value::as_u64),
            },
            (Some(429), _) => Self::Throttled,
            (Some(s), _) if s >= 500 => Self::ServerProblem,
            (Some(_), _) => Self::Other,
            (None, _) => Self::Unreachable,
        }
    }

    /// The sentence shown to the patient. `unlock_at` is the local clock time the lock ends
    /// (`"14:05"`), when the page could work it out.
    pub fn text(&self, unlock_at: Option<&str>) -> String {
        match self {
            Self::WrongCode {
                attempts_left: Some(1),
            } => "That code is not right. Check the latest email: 1 try is left before records are locked.".to_owned(),
            Self::WrongCode {
                attempts_left: Some(n),
            } => format!("That code is not right. Check the latest email: {n} tries are left before records are locked."),
            Self::WrongCode { attempts_left: None } => {
                "That code is not right. Check the latest email and try again.".to_owned()
            }
            Self::Locked { wait } => {
                let minutes = wait.as_secs().div_ceil(60).max(1);
                let span = if minutes == 1 {
                    "1 minute".to_owned()
                } else {
                    format!("{minutes} minutes")
                };
                let at = unlock_at.map(|t| format!(" (at {t})")).unwrap_or_default();
                format!(
                    "Too many wrong codes. To protect your records, codes are locked: try again in {span}{at}. No code is accepted until then."
                )
            }
            Self::Expired => "That code has expired. Ask for a new one.".to_owned(),
            Self::NotRequested => "There is no code waiting. Ask for a new one.".to_owned(),
            Self::Throttled => "Too many attempts. Wait a little and try again.".to_owned(),
            Self::ServerProblem => {
                "The records service had a problem. Try again in a moment.".to_owned()
            }
            Self::Unreachable => "Lifeline cannot be reached. Try again when you are online.".to_owned(),
            Self::Paused => {
                "The records service is paused after repeated failures. Try again in a minute."
                    .to_owned()
            }
            Self::Other => "The code could not be checked.".to_owned(),
        }
    }
}

/// Whether `code` looks like the 6-digit code the email carries.
pub fn plausible_code(code: &str) -> bool {
    let code = code.trim();
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(
        status: u16,
        code: &str,
        details: serde_json::Value,
        retry: Option<u64>,
    ) -> OtpFailure {
        OtpFailure::from_answer(
            Some(status),
            Some(code),
            Some(&details),
            retry.map(Duration::from_secs),
        )
    }

    #[test]
    fn a_lock_says_when_to_try_again() {
        let locked = answer(429, "otp_locked", serde_json::json!({}), Some(900));
        assert_eq!(
            locked,
            OtpFailure::Locked {
                wait: Duration::from_secs(900)
            }
        );
        let text = locked.text(Some("14:05"));
        assert!(text.starts_with("Too many wrong codes."), "{text}");
        assert!(
            text.contains("try again in 15 minutes (at 14:05)"),
            "{text}"
        );
        let soon = answer(429, "otp_locked", serde_json::json!({}), Some(61)).text(None);
        assert!(soon.contains("try again in 2 minutes."), "{soon}");
        let last = answer(429, "otp_locked", serde_json::json!({}), Some(5)).text(None);
        assert!(last.contains("try again in 1 minute."), "{last}");
        // No Retry-After: the server's lock length.
        assert_eq!(
            answer(429, "otp_locked", serde_json::json!({}), None),
            OtpFailure::Locked { wait: DEFAULT_LOCK }
        );
        // A 429 of another kind is no lock.
        assert_eq!(
            answer(429, "rate_limited", serde_json::json!({}), Some(2)),
            OtpFailure::Throttled
        );
    }

    #[test]
    fn failures_in_words() {
        let wrong = answer(
            401,
            "otp_invalid",
            serde_json::json!({"attempts_remaining": 3}),
            None,
        );
        assert_eq!(
            wrong,
            OtpFailure::WrongCode {
                attempts_left: Some(3)
            }
        );
        assert!(wrong.text(None).contains("3 tries are left"));
        let one = answer(
            401,
            "otp_invalid",
            serde_json::json!({"attempts_remaining": 1}),
            None,
        );
        assert!(one.text(None).contains("1 try is left"));
        assert!(answer(401, "otp_expired", serde_json::json!({}), None)
            .text(None)
            .contains("expired"));
        assert_eq!(
            answer(401, "otp_not_requested", serde_json::json!({}), None),
            OtpFailure::NotRequested
        );
        assert!(OtpFailure::from_answer(None, None, None, None)
            .text(None)
            .contains("cannot be reached"));
        assert!(answer(503, "chaos_injected", serde_json::json!({}), None)
            .text(None)
            .contains("had a problem"));
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(plausible_code("123456"));
        assert!(plausible_code(" 123456 "));
        assert!(!plausible_code("12345"));
        assert!(!plausible_code("12345a"));
    }
}
