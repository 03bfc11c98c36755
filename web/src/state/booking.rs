//! The booking wizard as a state machine: hospital → department → doctor → day → slot →
//! reason → confirm, then the submission's fate. The whole draft round-trips through JSON so
//! the page keeps it in `localStorage` and a reload (or a closed tab) loses nothing.
//!
//! A confirmed booking is handed to the SDK's outbox, which stores it before anything is
//! sent and keeps one idempotency key for every attempt. The draft keeps only the outbox
//! entry's id and follows that entry: [`BookingDraft::apply_entry`] turns its status into
//! what the patient sees, so the page, another tab and the service worker all deliver the
//! same booking through one queue, exactly once.

use lifeline_sdk::outbox::EntryStatus;
use lifeline_types::appointments::{BookAppointment, Slot};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The longest reason the form accepts.
pub const MAX_REASON_CHARS: usize = 500;

/// Something picked in one step: its id and the label shown for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    /// The server's id.
    pub id: Uuid,
    /// What the patient saw.
    pub label: String,
}

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Pick a hospital.
    Hospital,
    /// Pick a department.
    Department,
    /// Pick a doctor.
    Doctor,
    /// Pick a day.
    Day,
    /// Pick a time slot.
    Slot,
    /// Say why (optional) and continue.
    Reason,
    /// Check and confirm.
    Confirm,
}

/// What became of a submitted booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Submission {
    /// Being handed to the outbox; nothing is stored or sent yet.
    Saving,
    /// Stored in the outbox as `entry_id` and being sent now.
    Sending {
        /// The outbox entry.
        entry_id: String,
    },
    /// Stored in the outbox as `entry_id`; the server could not be reached yet, so it is
    /// sent when it can be (by this page, another tab or the service worker).
    Queued {
        /// The outbox entry.
        entry_id: String,
    },
    /// The server booked it.
    Confirmed {
        /// The appointment's id.
        appointment_id: Uuid,
    },
    /// Someone else took the slot first; these were free at that moment.
    SlotTaken {
        /// Other slots the server offered.
        alternatives: Vec<Choice>,
    },
    /// The server refused it for another reason; the message says why.
    Rejected {
        /// For people.
        message: String,
    },
    /// It could not even be stored on this device, so nothing was sent; the patient can
    /// confirm again.
    NotSaved {
        /// For people.
        message: String,
    },
}

impl Submission {
    /// The outbox entry this submission follows, while it is in the outbox unanswered.
    pub fn entry_id(&self) -> Option<&str> {
        match self {
            Submission::Sending { entry_id } | Submission::Queued { entry_id } => Some(entry_id),
            _ => None,
        }
    }
}

/// The draft booking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingDraft {
    hospital: Option<Choice>,
    department: Option<Choice>,
    doctor: Option<Choice>,
    day: Option<String>,
    slot: Option<Choice>,
    reason: String,
    reason_done: bool,
    submission: Option<Submission>,
}

/// Why a draft cannot be submitted yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// A step is still open.
    #[error("the booking is not complete: {0:?} is missing")]
    Incomplete(Step),
    /// The reason is too long.
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    /// It was already booked.
    #[error("this booking is already confirmed")]
    AlreadyConfirmed,
    /// It was already handed over and is on its way.
    #[error("this booking is already on its way")]
    AlreadySubmitted,
}

impl BookingDraft {
    /// Reads a stored draft; a corrupt one counts as no draft.
    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    /// The draft as JSON, for `localStorage`; `None` for an empty draft (nothing chosen or
    /// typed, nothing submitted), which leaves nothing on the device.
    pub fn to_stored(&self) -> Option<String> {
        if *self == Self::default() {
            return None;
        }
        serde_json::to_string(self).ok()
    }

    /// The first step that is still open.
    pub fn step(&self) -> Step {
        if self.hospital.is_none() {
            Step::Hospital
        } else if self.department.is_none() {
            Step::Department
        } else if self.doctor.is_none() {
            Step::Doctor
        } else if self.day.is_none() {
            Step::Day
        } else if self.slot.is_none() {
            Step::Slot
        } else if !self.reason_done {
            Step::Reason
        } else {
            Step::Confirm
        }
    }

    /// Whether the patient has started (anything picked).
    pub fn is_started(&self) -> bool {
        self.hospital.is_some()
    }

    /// The chosen hospital.
    pub fn hospital(&self) -> Option<&Choice> {
        self.hospital.as_ref()
    }
    /// The chosen department.
    pub fn department(&self) -> Option<&Choice> {
        self.department.as_ref()
    }
    /// The chosen doctor.
    pub fn doctor(&self) -> Option<&Choice> {
        self.doctor.as_ref()
    }
    /// The chosen day, `YYYY-MM-DD`.
    pub fn day(&self) -> Option<&str> {
        self.day.as_deref()
    }
    /// The chosen slot.
    pub fn slot(&self) -> Option<&Choice> {
        self.slot.as_ref()
    }
    /// The reason typed so far.
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// The submission's state, once submitted.
    pub fn submission(&self) -> Option<&Submission> {
        self.submission.as_ref()
    }

    /// Picks a hospital; everything after it starts again.
    pub fn choose_hospital(&mut self, choice: Choice) {
        *self = BookingDraft {
            hospital: Some(choice),
            reason: std::mem::take(&mut self.reason),
            ..Default::default()
        };
    }

    /// Picks a department; the doctor and later steps start again.
    pub fn choose_department(&mut self, choice: Choice) {
        self.department = Some(choice);
        self.doctor = None;
        self.clear_from_day();
    }

    /// Picks a doctor; the day and later steps start again.
    pub fn choose_doctor(&mut self, choice: Choice) {
        self.doctor = Some(choice);
        self.clear_from_day();
    }

    /// Picks a day; the slot starts again.
    pub fn choose_day(&mut self, day: impl Into<String>) {
        self.day = Some(day.into());
        self.clear_from_slot();
    }

    /// Picks a slot (also one of the alternatives after "slot taken"). A new slot is a new
    /// booking, handed to the outbox as a new entry when submitted.
    pub fn choose_slot(&mut self, choice: Choice) {
        self.clear_from_slot();
        self.slot = Some(choice);
    }

    /// Records the reason as typed.
    pub fn set_reason(&mut self, reason: impl Into<String>) {
        self.reason = reason.into();
    }

    /// Leaves the reason step.
    ///
    /// # Errors
    /// [`DraftError::ReasonTooLong`] when the reason is over [`MAX_REASON_CHARS`].
    pub fn finish_reason(&mut self) -> Result<(), DraftError> {
        if self.reason.chars().count() > MAX_REASON_CHARS {
            return Err(DraftError::ReasonTooLong);
        }
        self.reason_done = true;
        Ok(())
    }

    /// Goes back one step, forgetting that step's choice.
    pub fn back(&mut self) {
        match self.step() {
            Step::Hospital => {}
            Step::Department => self.hospital = None,
            Step::Doctor => self.department = None,
            Step::Day => self.doctor = None,
            Step::Slot => self.day = None,
            Step::Reason => self.slot = None,
            Step::Confirm => {
                self.reason_done = false;
                self.submission = None;
            }
        }
    }

    /// Starts the submission: the request to hand to the outbox. Refused while an earlier
    /// submission is stored and unanswered, so a second tap never books twice.
    ///
    /// # Errors
    /// [`DraftError`] when a step is open, the booking is confirmed or already on its way.
    pub fn submit(&mut self) -> Result<BookAppointment, DraftError> {
        match &self.submission {
            Some(Submission::Confirmed { .. }) => return Err(DraftError::AlreadyConfirmed),
            Some(Submission::Saving | Submission::Sending { .. } | Submission::Queued { .. }) => {
                return Err(DraftError::AlreadySubmitted)
            }
            _ => {}
        }
        let step = self.step();
        if step != Step::Confirm {
            return Err(DraftError::Incomplete(step));
        }
        let slot = self
            .slot
            .as_ref()
            .ok_or(DraftError::Incomplete(Step::Slot))?;
        self.submission = Some(Submission::Saving);
        let reason = Some(self.reason.trim().to_owned()).filter(|r| !r.is_empty());
        Ok(BookAppointment {
            slot_id: slot.id,
            reason,
        })
    }

    /// The outbox stored the booking as `entry_id`; it is being sent.
    pub fn mark_stored(&mut self, entry_id: impl Into<String>) {
        self.submission = Some(Submission::Sending {
            entry_id: entry_id.into(),
        });
    }

    /// The outbox could not store the booking: nothing was sent, the patient may confirm
    /// again.
    pub fn mark_not_saved(&mut self, message: impl Into<String>) {
        self.submission = Some(Submission::NotSaved {
            message: message.into(),
        });
    }

    /// After a reload: a submission that was being saved never reached the outbox (it
    /// stores before answering), so the patient confirms again; one being sent waits for
    /// its entry's answer.
    pub fn resume(&mut self) {
        match self.submission.take() {
            Some(Submission::Saving) => self.submission = None,
            Some(Submission::Sending { entry_id } | Submission::Queued { entry_id }) => {
                self.submission = Some(Submission::Queued { entry_id });
            }
            other => self.submission = other,
        }
    }

    /// Follows the outbox entry `entry_id` to `status`: unanswered → "waiting to sync";
    /// confirmed → booked (the appointment's id from the server's answer); conflict →
    /// "slot taken" with the server's alternatives; rejected → the server's reason. An
    /// update for another entry (an older submission) changes nothing.
    pub fn apply_entry(&mut self, entry_id: &str, status: &EntryStatus) {
        if self.submission.as_ref().and_then(Submission::entry_id) != Some(entry_id) {
            return;
        }
        match status {
            EntryStatus::Queued | EntryStatus::Sending => {
                self.submission = Some(Submission::Queued {
                    entry_id: entry_id.to_owned(),
                });
            }
            EntryStatus::Confirmed { response } => {
                match response
                    .get("id")
                    .and_then(|id| id.as_str())
                    .and_then(|id| Uuid::parse_str(id).ok())
                {
                    Some(id) => self.mark_confirmed(id),
                    None => self.mark_rejected(
                        "the server's answer had no appointment id; check your appointments",
                    ),
                }
            }
            EntryStatus::Conflict { details } => {
                let alternatives = details
                    .get("alternatives")
                    .cloned()
                    .and_then(|a| serde_json::from_value::<Vec<Slot>>(a).ok())
                    .unwrap_or_default();
                self.mark_slot_taken(alternatives.iter().map(slot_choice).collect());
            }
            EntryStatus::Rejected { message, .. } => self.mark_rejected(message.clone()),
        }
    }

    /// The outbox no longer holds the entry (the browser wiped the store, or it was
    /// dismissed elsewhere): say so instead of waiting for ever.
    pub fn mark_entry_gone(&mut self, entry_id: &str) {
        if self.submission.as_ref().and_then(Submission::entry_id) == Some(entry_id) {
            self.mark_rejected(
                "this device no longer holds the queued booking; check your appointments, then book again if it is not there",
            );
        }
    }

    /// The server booked it.
    pub fn mark_confirmed(&mut self, appointment_id: Uuid) {
        self.submission = Some(Submission::Confirmed { appointment_id });
    }

    /// The slot was taken: the patient picks another (from `alternatives` or the day's list).
    pub fn mark_slot_taken(&mut self, alternatives: Vec<Choice>) {
        self.slot = None;
        self.reason_done = false;
        self.submission = Some(Submission::SlotTaken { alternatives });
    }

    /// The server refused the booking for another reason.
    pub fn mark_rejected(&mut self, message: impl Into<String>) {
        self.submission = Some(Submission::Rejected {
            message: message.into(),
        });
    }

    fn clear_from_day(&mut self) {
        self.day = None;
        self.clear_from_slot();
    }

    fn clear_from_slot(&mut self) {
        self.slot = None;
        self.reason_done = false;
        self.submission = None;
    }
}

/// A slot as a choice: its id and its start time (`HH:MM`).
pub fn slot_choice(slot: &Slot) -> Choice {
    let label = slot
        .starts_at
        .get(11..16)
        .unwrap_or(&slot.starts_at)
        .to_owned();
    Choice { id: slot.id, label }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(n: u128, label: &str) -> Choice {
        Choice {
            id: Uuid::from_u128(n),
            label: label.to_owned(),
        }
    }

    fn complete() -> BookingDraft {
        let mut d = BookingDraft::default();
        d.choose_hospital(choice(1, "General"));
        d.choose_department(choice(2, "Cardiology"));
        d.choose_doctor(choice(3, "Dr Ade"));
        d.choose_day("2026-11-23");
        d.choose_slot(choice(4, "09:30"));
        d.set_reason("  chest pain ");
        d.finish_reason().unwrap();
        d
    }

    #[test]
    fn steps_follow_the_choices() {
        let mut d = BookingDraft::default();
        assert_eq!(d.step(), Step::Hospital);
        d.choose_hospital(choice(1, "General"));
        assert_eq!(d.step(), Step::Department);
        d.choose_department(choice(2, "Cardiology"));
        d.choose_doctor(choice(3, "Dr Ade"));
        d.choose_day("2026-11-23");
        assert_eq!(d.step(), Step::Slot);
        assert_eq!(complete().step(), Step::Confirm);
    }

    #[test]
    fn an_earlier_choice_resets_later_steps() {
        let mut d = complete();
        d.choose_department(choice(9, "Dermatology"));
        assert_eq!(d.step(), Step::Doctor);
        assert_eq!(d.slot(), None);
        assert_eq!(d.reason(), "  chest pain ", "what was typed survives");
    }

    #[test]
    fn back_undoes_one_step() {
        let mut d = complete();
        d.back();
        assert_eq!(d.step(), Step::Reason);
        d.back();
        assert_eq!(d.step(), Step::Slot);
        assert_eq!(d.day(), Some("2026-11-23"));
    }

    fn slot_json(n: u128, starts_at: &str) -> serde_json::Value {
        serde_json::json!({
            "id": Uuid::from_u128(n), "doctor_id": Uuid::from_u128(3),
            "starts_at": starts_at, "ends_at": starts_at, "free": true,
        })
    }

    #[test]
    fn an_empty_draft_is_not_stored_and_anything_chosen_or_typed_is() {
        assert_eq!(BookingDraft::default().to_stored(), None);
        let mut typed = BookingDraft::default();
        typed.set_reason("rash");
        let mut chosen = BookingDraft::default();
        chosen.choose_hospital(choice(1, "General"));
        for d in [typed, chosen] {
            let json = d.to_stored().expect("kept on the device");
            assert_eq!(BookingDraft::from_json(&json), Some(d));
        }
    }

    #[test]
    fn a_submission_follows_its_outbox_entry_across_reloads() {
        let mut d = complete();
        let req = d.submit().unwrap();
        assert_eq!(req.slot_id, Uuid::from_u128(4));
        assert_eq!(req.reason.as_deref(), Some("chest pain"));
        assert_eq!(d.submit().unwrap_err(), DraftError::AlreadySubmitted);
        d.mark_stored("entry-1");
        assert_eq!(
            d.submit().unwrap_err(),
            DraftError::AlreadySubmitted,
            "a second tap never books twice"
        );

        // Closed mid-send: reopened, it waits for the same entry.
        let mut reloaded = BookingDraft::from_json(&d.to_stored().unwrap()).unwrap();
        reloaded.resume();
        assert_eq!(
            reloaded.submission(),
            Some(&Submission::Queued {
                entry_id: "entry-1".into()
            })
        );
        reloaded.apply_entry("entry-1", &EntryStatus::Sending);
        assert_eq!(
            reloaded.submission().and_then(Submission::entry_id),
            Some("entry-1")
        );

        let booked = Uuid::from_u128(77);
        reloaded.apply_entry(
            "entry-1",
            &EntryStatus::Confirmed {
                response: serde_json::json!({ "id": booked, "status": "booked" }),
            },
        );
        assert_eq!(
            reloaded.submission(),
            Some(&Submission::Confirmed {
                appointment_id: booked
            })
        );
        assert_eq!(reloaded.submit().unwrap_err(), DraftError::AlreadyConfirmed);
    }

    #[test]
    fn a_submission_closed_before_it_was_stored_is_confirmed_again() {
        let mut d = complete();
        d.submit().unwrap();
        let mut reloaded = BookingDraft::from_json(&d.to_stored().unwrap()).unwrap();
        reloaded.resume();
        assert_eq!(reloaded.submission(), None);
        assert_eq!(reloaded.step(), Step::Confirm);
        assert!(reloaded.submit().is_ok());

        let mut failed = complete();
        failed.submit().unwrap();
        failed.mark_not_saved("the store is full");
        assert!(
            failed.submit().is_ok(),
            "nothing was sent, so the patient may try again"
        );
    }

    #[test]
    fn a_conflict_asks_for_another_slot_from_the_alternatives() {
        let mut d = complete();
        d.submit().unwrap();
        d.mark_stored("entry-1");
        d.apply_entry(
            "entry-1",
            &EntryStatus::Conflict {
                details: serde_json::json!({ "alternatives": [slot_json(5, "2026-11-23T10:00:00Z")] }),
            },
        );
        assert_eq!(d.step(), Step::Slot);
        assert_eq!(
            d.submission(),
            Some(&Submission::SlotTaken {
                alternatives: vec![choice(5, "10:00")]
            })
        );
        d.choose_slot(choice(5, "10:00"));
        d.finish_reason().unwrap();
        assert_eq!(d.submit().unwrap().slot_id, Uuid::from_u128(5));
    }

    #[test]
    fn a_refusal_keeps_the_servers_reason_and_stale_updates_change_nothing() {
        let mut d = complete();
        d.submit().unwrap();
        d.mark_stored("entry-2");
        let before = d.clone();
        d.apply_entry(
            "entry-1",
            &EntryStatus::Confirmed {
                response: serde_json::json!({ "id": Uuid::from_u128(1) }),
            },
        );
        d.mark_entry_gone("entry-1");
        assert_eq!(d, before, "updates for an older entry are ignored");

        d.apply_entry(
            "entry-2",
            &EntryStatus::Rejected {
                status: 422,
                code: "slot_in_past".into(),
                message: "that slot has started".into(),
            },
        );
        assert_eq!(
            d.submission(),
            Some(&Submission::Rejected {
                message: "that slot has started".into()
            })
        );

        let mut gone = complete();
        gone.submit().unwrap();
        gone.mark_stored("entry-3");
        gone.mark_entry_gone("entry-3");
        assert!(
            matches!(gone.submission(), Some(Submission::Rejected { message }) if message.contains("check your appointments"))
        );
    }

    #[test]
    fn incomplete_and_invalid_drafts_are_refused() {
        let mut d = BookingDraft::default();
        assert_eq!(
            d.submit().unwrap_err(),
            DraftError::Incomplete(Step::Hospital)
        );
        let mut d2 = complete();
        d2.back();
        d2.set_reason("x".repeat(MAX_REASON_CHARS + 1));
        assert_eq!(d2.finish_reason().unwrap_err(), DraftError::ReasonTooLong);
        d.set_reason("kept");
        assert_eq!(BookingDraft::from_json("not json"), None);
    }
}
