//! The banner at the top of every page: what the patient needs to know about connectivity,
//! the session and unsent changes, decided from the states the SDK reports.

use lifeline_sdk::{ApiGroup, SessionState};

/// What the app knows about its situation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// What the browser says (`navigator.onLine` and its events). It can say "online" while
    /// nothing gets through, which is why the other fields matter too.
    pub online: bool,
    /// The session as the SDK sees it.
    pub session: Option<SessionState>,
    /// API groups whose circuit breaker is not closed.
    pub degraded: Vec<ApiGroup>,
    /// Writes waiting in the outbox.
    pub pending_writes: usize,
}

/// How serious the banner is; pages style it by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BannerKind {
    /// No network at all.
    Offline,
    /// The network is there but the server, or part of it, is not answering.
    Degraded,
    /// The server refused to renew the session.
    SessionExpired,
    /// All is well, changes are on their way.
    Syncing,
}

impl BannerKind {
    /// The CSS class of the banner.
    pub fn class(self) -> &'static str {
        match self {
            BannerKind::Offline => "banner banner-offline",
            BannerKind::Degraded => "banner banner-degraded",
            BannerKind::SessionExpired => "banner banner-expired",
            BannerKind::Syncing => "banner banner-syncing",
        }
    }
}

/// A banner to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// Its kind.
    pub kind: BannerKind,
    /// Its text.
    pub text: String,
}

fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".to_owned()
    } else {
        format!("{n} changes")
    }
}

/// The banner for these conditions, most serious first; `None` when all is well.
pub fn banner(c: &Conditions) -> Option<Banner> {
    let pending = if c.pending_writes > 0 {
        format!(
            " {} will be sent when the connection is back.",
            changes(c.pending_writes)
        )
    } else {
        String::new()
    };
    if c.session == Some(SessionState::Expired) {
        let kept = if c.pending_writes > 0 {
            format!(" Unsent: {}, kept for you.", changes(c.pending_writes))
        } else {
            String::new()
        };
        return Some(Banner {
            kind: BannerKind::SessionExpired,
            text: format!("Your session has ended. Sign in again to continue.{kept}"),
        });
    }
    if !c.online {
        return Some(Banner {
            kind: BannerKind::Offline,
            text: format!("You are offline. Showing saved data.{pending}"),
        });
    }
    if c.session == Some(SessionState::Unverified) {
        return Some(Banner {
            kind: BannerKind::Degraded,
            text: format!("Lifeline cannot be reached right now. Showing saved data.{pending}"),
        });
    }
    if !c.degraded.is_empty() {
        let names: Vec<&str> = c.degraded.iter().map(|g| g.as_str()).collect();
        return Some(Banner {
            kind: BannerKind::Degraded,
            text: format!(
                "Some services are having trouble ({}). Showing saved data where needed.{pending}",
                names.join(", ")
            ),
        });
    }
    if c.pending_writes > 0 {
        return Some(Banner {
            kind: BannerKind::Syncing,
            text: format!("Sending {}…", changes(c.pending_writes)),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn online() -> Conditions {
        Conditions {
            online: true,
            session: Some(SessionState::Active),
            ..Default::default()
        }
    }

    #[test]
    fn nothing_to_say_when_all_is_well() {
        assert_eq!(banner(&online()), None);
    }

    #[test]
    fn offline_mentions_pending_changes() {
        let c = Conditions {
            online: false,
            pending_writes: 2,
            ..online()
        };
        let b = banner(&c).unwrap();
        assert_eq!(b.kind, BannerKind::Offline);
        assert_eq!(
            b.text,
            "You are offline. Showing saved data. 2 changes will be sent when the connection is back."
        );
    }

    #[test]
    fn unreachable_server_is_degraded_not_signed_out() {
        let c = Conditions {
            session: Some(SessionState::Unverified),
            ..online()
        };
        let b = banner(&c).unwrap();
        assert_eq!(b.kind, BannerKind::Degraded);
        assert!(
            b.text.starts_with("Lifeline cannot be reached"),
            "{}",
            b.text
        );
    }

    #[test]
    fn degraded_groups_are_named() {
        let c = Conditions {
            degraded: vec![ApiGroup::Payments, ApiGroup::Records],
            ..online()
        };
        let b = banner(&c).unwrap();
        assert!(b.text.contains("(payments, records)"), "{}", b.text);
    }

    #[test]
    fn expired_session_wins_and_keeps_changes() {
        let c = Conditions {
            online: false,
            session: Some(SessionState::Expired),
            pending_writes: 1,
            ..Default::default()
        };
        let b = banner(&c).unwrap();
        assert_eq!(b.kind, BannerKind::SessionExpired);
        assert!(
            b.text.ends_with("Unsent: 1 change, kept for you."),
            "{}",
            b.text
        );
    }

    #[test]
    fn pending_changes_alone_show_syncing() {
        let c = Conditions {
            pending_writes: 1,
            ..online()
        };
        assert_eq!(banner(&c).unwrap().kind, BannerKind::Syncing);
    }
}
