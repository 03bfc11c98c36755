//! Texts people read: how old data is, how a breaker is doing, money and times.

use std::time::Duration;

use lifeline_sdk::outbox::EntryStatus;
use lifeline_sdk::{BreakerStatus, Freshness};

/// "just now", "1 minute ago", "12 minutes ago", "3 hours ago", "2 days ago".
pub fn age_text(age: Duration) -> String {
    let secs = age.as_secs();
    let (n, unit) = match secs {
        0..=59 => return "just now".to_owned(),
        60..=3_599 => (secs / 60, "minute"),
        3_600..=86_399 => (secs / 3_600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    if n == 1 {
        format!("1 {unit} ago")
    } else {
        format!("{n} {unit}s ago")
    }
}

/// What to say under data that came from the cache; nothing for fresh data.
pub fn freshness_text(freshness: Freshness) -> Option<String> {
    freshness.age().map(|age| {
        format!(
            "Saved copy from {}: the server could not be reached",
            age_text(age)
        )
    })
}

/// A breaker's state in words, for the status page.
pub fn breaker_text(status: BreakerStatus) -> String {
    match status {
        BreakerStatus::Closed => "working".to_owned(),
        BreakerStatus::HalfOpen => "testing whether it has recovered".to_owned(),
        BreakerStatus::Open { retry_in } => {
            format!(
                "paused after failures, next try in {} s",
                retry_in.as_secs().max(1)
            )
        }
    }
}

/// A queued write's sync status in words, for the status page.
pub fn entry_status_text(status: &EntryStatus) -> String {
    match status {
        EntryStatus::Queued => "waiting to sync".to_owned(),
        EntryStatus::Sending => "sending".to_owned(),
        EntryStatus::Confirmed { .. } => "saved on the server".to_owned(),
        EntryStatus::Rejected { message, .. } => format!("refused by the server: {message}"),
        EntryStatus::Conflict { .. } => {
            "conflicts with a newer change; needs your attention".to_owned()
        }
    }
}

/// Minor units and an ISO currency code as people read them: `NGN 5,000.00`.
pub fn money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let major = (minor / 100).to_string();
    let lead = match major.len() % 3 {
        0 => 3,
        n => n,
    };
    let mut grouped = major[..lead].to_owned();
    for chunk in major.as_bytes()[lead..].chunks(3) {
        grouped.push(',');
        grouped.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    format!("{sign}{currency} {grouped}.{:02}", minor % 100)
}

/// `2026-11-22T09:30:00Z` as `2026-11-22 09:30`; other text is shown as it is.
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time}")
        }
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(age_text(Duration::from_secs(5)), "just now");
        assert_eq!(age_text(Duration::from_secs(60)), "1 minute ago");
        assert_eq!(age_text(Duration::from_secs(720)), "12 minutes ago");
        assert_eq!(age_text(Duration::from_secs(3 * 3600 + 5)), "3 hours ago");
        assert_eq!(age_text(Duration::from_secs(86_400)), "1 day ago");
        assert_eq!(age_text(Duration::from_secs(5 * 86_400)), "5 days ago");
    }

    #[test]
    fn only_stale_data_is_labelled() {
        assert_eq!(freshness_text(Freshness::Fresh), None);
        let text = freshness_text(Freshness::Stale {
            age: Duration::from_secs(720),
        })
        .unwrap();
        assert!(text.contains("12 minutes ago"), "{text}");
    }

    #[test]
    fn breaker_states_in_words() {
        assert_eq!(breaker_text(BreakerStatus::Closed), "working");
        let open = breaker_text(BreakerStatus::Open {
            retry_in: Duration::from_millis(200),
        });
        assert_eq!(open, "paused after failures, next try in 1 s");
    }

    #[test]
    fn entry_statuses_in_words() {
        assert_eq!(entry_status_text(&EntryStatus::Queued), "waiting to sync");
        let rejected = EntryStatus::Rejected {
            status: 422,
            code: "validation_failed".into(),
            message: "date in the past".into(),
        };
        assert_eq!(
            entry_status_text(&rejected),
            "refused by the server: date in the past"
        );
    }

    #[test]
    fn money_is_grouped() {
        assert_eq!(money(500_000, "NGN"), "NGN 5,000.00");
        assert_eq!(money(123_456_789, "NGN"), "NGN 1,234,567.89");
        assert_eq!(money(5, "USD"), "USD 0.05");
        assert_eq!(money(-250, "USD"), "-USD 2.50");
    }

    #[test]
    fn times_are_shortened() {
        assert_eq!(when("2026-11-22T09:30:00Z"), "2026-11-22 09:30");
        assert_eq!(when("soon"), "soon");
    }
}
