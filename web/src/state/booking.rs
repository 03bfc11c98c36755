//! The booking wizard as a state machine: hospital → department → doctor → day → slot →
//! reason → confirm, then the submission's fate. The whole draft round-trips through JSON so
//! the page keeps it in `localStorage` and a reload (or a closed tab) loses nothing. The
//! idempotency key is made when the booking is first submitted and kept with the draft, so
//! every retry, even after a reload, is the same booking to the server.

use lifeline_types::appointments::BookAppointment;
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
    /// Being sent now.
    Sending,
    /// No connection: kept and sent when it comes back.
    Queued,
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
    idempotency_key: Option<String>,
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
}

impl BookingDraft {
    /// Reads a stored draft; a corrupt one counts as no draft.
    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    /// The draft as JSON, for `localStorage`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
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
    /// The idempotency key of the submission, once submitted.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
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
    /// booking, so it gets a new idempotency key when submitted.
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
                self.idempotency_key = None;
            }
        }
    }

    /// Starts (or restarts) the submission: the request to send and its idempotency key.
    /// The key is made by `new_key` only the first time; a retry (after a reload, or after
    /// "waiting to sync") gets the same key, so the server books at most once.
    ///
    /// # Errors
    /// [`DraftError`] when a step is open or the booking is already confirmed.
    pub fn submit(
        &mut self,
        new_key: impl FnOnce() -> String,
    ) -> Result<(BookAppointment, String), DraftError> {
        if matches!(self.submission, Some(Submission::Confirmed { .. })) {
            return Err(DraftError::AlreadyConfirmed);
        }
        let step = self.step();
        if step != Step::Confirm {
            return Err(DraftError::Incomplete(step));
        }
        let slot = self
            .slot
            .as_ref()
            .ok_or(DraftError::Incomplete(Step::Slot))?;
        let key = self.idempotency_key.get_or_insert_with(new_key).clone();
        self.submission = Some(Submission::Sending);
        let reason = Some(self.reason.trim().to_owned()).filter(|r| !r.is_empty());
        Ok((
            BookAppointment {
                slot_id: slot.id,
                reason,
            },
            key,
        ))
    }

    /// The booking is kept for later: no connection now.
    pub fn mark_queued(&mut self) {
        self.submission = Some(Submission::Queued);
    }

    /// The server booked it.
    pub fn mark_confirmed(&mut self, appointment_id: Uuid) {
        self.submission = Some(Submission::Confirmed { appointment_id });
    }

    /// The slot was taken: the patient picks another (from `alternatives` or the day's list).
    pub fn mark_slot_taken(&mut self, alternatives: Vec<Choice>) {
        self.slot = None;
        self.reason_done = false;
        self.idempotency_key = None;
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
        self.idempotency_key = None;
        self.submission = None;
    }
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

    #[test]
    fn submission_keeps_one_key_across_reloads() {
        let mut d = complete();
        let (req, key) = d.submit(|| "key-1".to_owned()).unwrap();
        assert_eq!(req.slot_id, Uuid::from_u128(4));
        assert_eq!(req.reason.as_deref(), Some("chest pain"));
        d.mark_queued();

        let mut reloaded = BookingDraft::from_json(&d.to_json()).unwrap();
        assert_eq!(reloaded, d);
        let (_, again) = reloaded.submit(|| "key-2".to_owned()).unwrap();
        assert_eq!(again, key, "a retry is the same booking");

        reloaded.mark_confirmed(Uuid::from_u128(77));
        assert_eq!(
            reloaded.submit(|| "key-3".to_owned()).unwrap_err(),
            DraftError::AlreadyConfirmed
        );
    }

    #[test]
    fn slot_taken_asks_for_another_slot_with_a_new_key() {
        let mut d = complete();
        d.submit(|| "key-1".to_owned()).unwrap();
        d.mark_slot_taken(vec![choice(5, "10:00")]);
        assert_eq!(d.step(), Step::Slot);
        assert!(
            matches!(d.submission(), Some(Submission::SlotTaken { alternatives }) if alternatives.len() == 1)
        );
        d.choose_slot(choice(5, "10:00"));
        d.finish_reason().unwrap();
        let (req, key) = d.submit(|| "key-2".to_owned()).unwrap();
        assert_eq!((req.slot_id, key.as_str()), (Uuid::from_u128(5), "key-2"));
    }

    #[test]
    fn incomplete_and_invalid_drafts_are_refused() {
        let mut d = BookingDraft::default();
        assert_eq!(
            d.submit(|| "k".to_owned()).unwrap_err(),
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
