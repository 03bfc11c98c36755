//! What the patient is told about a write handed to the SDK's outbox (a refill order, a
//! cancellation, a pharmacy nomination): done, saved on this device until Lifeline can be
//! reached, or refused with the server's reason. Every accepted write ends in one of these.

use lifeline_sdk::outbox::EntryStatus;

/// Which write, for the wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Order a prescription refill.
    Refill,
    /// Cancel an appointment.
    Cancel,
    /// Nominate a pharmacy.
    Nominate,
}

/// Where a write stands, as shown to the patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteNotice {
    /// The server applied it.
    Done(String),
    /// Stored on this device; sent when Lifeline can be reached.
    Waiting(String),
    /// Refused for good, or not even stored: the patient has to act.
    Failed(String),
}

impl WriteNotice {
    /// The text to show.
    pub fn text(&self) -> &str {
        match self {
            WriteNotice::Done(t) | WriteNotice::Waiting(t) | WriteNotice::Failed(t) => t,
        }
    }

    /// Whether nothing more will happen to the write.
    pub fn is_final(&self) -> bool {
        !matches!(self, WriteNotice::Waiting(_))
    }
}

impl WriteKind {
    fn done(self) -> &'static str {
        match self {
            WriteKind::Refill => "Refill ordered.",
            WriteKind::Cancel => "Appointment cancelled.",
            WriteKind::Nominate => "Pharmacy nominated.",
        }
    }

    fn waiting(self) -> &'static str {
        match self {
            WriteKind::Refill => "Refill order saved on this device: it will be sent as soon as Lifeline can be reached.",
            WriteKind::Cancel => "Cancellation saved on this device: it will be sent as soon as Lifeline can be reached.",
            WriteKind::Nominate => "Nomination saved on this device: it will be sent as soon as Lifeline can be reached.",
        }
    }

    fn failed(self) -> &'static str {
        match self {
            WriteKind::Refill => "Could not order the refill",
            WriteKind::Cancel => "Could not cancel",
            WriteKind::Nominate => "Could not nominate the pharmacy",
        }
    }

    /// The notice for the outbox entry's `status`.
    pub fn notice(self, status: &EntryStatus) -> WriteNotice {
        match status {
            EntryStatus::Queued | EntryStatus::Sending => {
                WriteNotice::Waiting(self.waiting().to_owned())
            }
            EntryStatus::Confirmed { .. } => WriteNotice::Done(self.done().to_owned()),
            EntryStatus::Rejected { message, .. } => {
                WriteNotice::Failed(format!("{}: {message}", self.failed()))
            }
            EntryStatus::Conflict { details } => {
                let why = details
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or("it changed elsewhere; refresh to see how it stands now");
                WriteNotice::Failed(format!("{}: {why}", self.failed()))
            }
        }
    }

    /// The notice when the outbox could not even store the write (nothing was sent).
    pub fn not_saved(self, why: &str) -> WriteNotice {
        WriteNotice::Failed(format!(
            "{}: it could not be saved on this device ({why}). Nothing was sent; try again.",
            self.failed()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outbox_status_has_its_notice() {
        let k = WriteKind::Refill;
        assert_eq!(
            k.notice(&EntryStatus::Queued),
            WriteNotice::Waiting(k.waiting().into())
        );
        assert!(!k.notice(&EntryStatus::Sending).is_final());
        assert_eq!(
            k.notice(&EntryStatus::Confirmed {
                response: serde_json::json!({})
            }),
            WriteNotice::Done("Refill ordered.".into())
        );
        let refused = WriteKind::Cancel.notice(&EntryStatus::Rejected {
            status: 422,
            code: "too_late".into(),
            message: "the appointment has started".into(),
        });
        assert_eq!(
            refused.text(),
            "Could not cancel: the appointment has started"
        );
        assert!(refused.is_final());
        let conflict = WriteKind::Nominate.notice(&EntryStatus::Conflict {
            details: serde_json::json!({}),
        });
        assert!(conflict
            .text()
            .starts_with("Could not nominate the pharmacy: it changed elsewhere"));
        assert!(WriteKind::Refill
            .not_saved("quota")
            .text()
            .contains("Nothing was sent"));
    }
}
