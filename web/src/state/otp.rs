//! The medical-records unlock flow: ask for a code, type it, read the records. Which step
//! the page shows and what a failure means to the patient.

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

/// The sentence for a failed code request or check, from the HTTP status (none when the
/// server could not be reached).
pub fn otp_error_text(status: Option<u16>) -> &'static str {
    match status {
        Some(401 | 422) => "That code is not right. Check the latest email and try again.",
        Some(423) => "Too many wrong codes. Records are locked for 15 minutes.",
        Some(429) => "Too many attempts. Wait a little and try again.",
        Some(410) => "That code has expired. Ask for a new one.",
        Some(s) if s >= 500 => "The records service had a problem. Try again in a moment.",
        Some(_) => "The code could not be checked.",
        None => "Lifeline cannot be reached. Try again when you are online.",
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

    #[test]
    fn failures_in_words() {
        assert!(otp_error_text(Some(401)).starts_with("That code is not right"));
        assert!(otp_error_text(Some(423)).contains("locked for 15 minutes"));
        assert!(otp_error_text(None).contains("cannot be reached"));
        assert!(otp_error_text(Some(503)).contains("had a problem"));
    }

    #[test]
    fn codes_are_six_digits() {
        assert!(plausible_code("123456"));
        assert!(plausible_code(" 123456 "));
        assert!(!plausible_code("12345"));
        assert!(!plausible_code("12345a"));
    }
}
