//! Moving an appointment to another free slot of the same doctor: which slots to offer and
//! what to offer when the chosen one was taken meanwhile.

use lifeline_types::appointments::Slot;
use uuid::Uuid;

/// What a reschedule attempt ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Moved; the new start, for people.
    Moved(String),
    /// Someone took the slot first; these were free at that moment.
    SlotTaken(Vec<Slot>),
    /// Refused or not reachable; why, for people.
    Failed(String),
}

impl Outcome {
    /// The sentence shown for the outcome.
    pub fn text(&self) -> String {
        match self {
            Self::Moved(when) => format!("Rescheduled to {when}."),
            Self::SlotTaken(alts) if alts.is_empty() => "slot taken — pick another day".to_owned(),
            Self::SlotTaken(_) => "slot taken — pick another".to_owned(),
            Self::Failed(why) => format!("Could not reschedule: {why}"),
        }
    }
}

/// The slots worth offering: free ones other than the appointment's own, in time order.
pub fn offered(slots: &[Slot], current: Uuid) -> Vec<Slot> {
    let mut free: Vec<Slot> = slots
        .iter()
        .filter(|s| s.free && s.id != current)
        .cloned()
        .collect();
    free.sort_by(|a, b| a.starts_at.cmp(&b.starts_at));
    free
}

/// The alternatives in a `409 slot_taken` answer's details (none when absent or malformed).
pub fn alternatives(details: Option<&serde_json::Value>, current: Uuid) -> Vec<Slot> {
    let slots = details
        .and_then(|d| d.get("alternatives"))
        .and_then(|a| serde_json::from_value::<Vec<Slot>>(a.clone()).ok())
        .unwrap_or_default();
    offered(&slots, current)
}

/// `2026-05-01 09:30` from an RFC 3339 start.
pub fn label(slot: &Slot) -> String {
    slot.starts_at
        .get(..16)
        .unwrap_or(&slot.starts_at)
        .replace('T', " ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn slot(n: u128, at: &str, free: bool) -> Slot {
        Slot {
            id: Uuid::from_u128(n),
            doctor_id: Uuid::from_u128(99),
            starts_at: at.into(),
            ends_at: at.into(),
            free,
        }
    }

    #[test]
    fn offers_free_slots_but_not_the_current_one_in_order() {
        let slots = [
            slot(3, "2026-05-01T11:00:00Z", true),
            slot(1, "2026-05-01T09:00:00Z", true),
            slot(2, "2026-05-01T10:00:00Z", false),
            slot(4, "2026-05-01T08:00:00Z", true),
        ];
        let ids: Vec<u128> = offered(&slots, Uuid::from_u128(4))
            .iter()
            .map(|s| s.id.as_u128())
            .collect();
        assert_eq!(ids, vec![1, 3]);
        assert_eq!(label(&slots[1]), "2026-05-01 09:00");
    }

    #[test]
    fn alternatives_come_from_the_conflict_details() {
        let details = json!({"alternatives": [slot(5, "2026-05-02T09:00:00Z", true)]});
        let alts = alternatives(Some(&details), Uuid::from_u128(1));
        assert_eq!(alts.len(), 1);
        assert_eq!(Outcome::SlotTaken(alts).text(), "slot taken — pick another");
        assert!(alternatives(None, Uuid::nil()).is_empty());
        assert!(alternatives(Some(&json!({"alternatives": "x"})), Uuid::nil()).is_empty());
        assert!(Outcome::SlotTaken(vec![]).text().contains("another day"));
    }
}
