//! One queued write and its sync status.

use serde::{Deserialize, Serialize};

use super::Intent;

/// Where an entry stands: `Queued → Sending → Confirmed | Rejected | Conflict`, with
/// `Sending → Queued` again when the server could not take it yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryStatus {
    /// Waiting to be sent (again) at `next_attempt_at_ms`.
    Queued,
    /// Handed to the sender; the answer is not known yet.
    Sending,
    /// The server applied it and answered `response`.
    Confirmed {
        /// The server's JSON answer.
        response: serde_json::Value,
    },
    /// The server refused it for good (a 4xx other than 408/409/429): kept for the user to
    /// see and dismiss, never dropped.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API error code (`slot_in_past`, …).
        code: String,
        /// The API error message.
        message: String,
    },
    /// The server holds a conflicting state (409, e.g. `slot_taken` with alternatives): kept
    /// for the user to resolve.
    Conflict {
        /// The API error's `details` (alternatives, the current state).
        details: serde_json::Value,
    },
}

impl EntryStatus {
    /// True for `Confirmed`, `Rejected` and `Conflict`: nothing more will happen to the entry.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            EntryStatus::Confirmed { .. }
                | EntryStatus::Rejected { .. }
                | EntryStatus::Conflict { .. }
        )
    }

    /// True for `Rejected` and `Conflict`: the user has to look at it.
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            EntryStatus::Rejected { .. } | EntryStatus::Conflict { .. }
        )
    }

    /// True while the server has not answered for good (`Queued` or `Sending`).
    pub fn is_unsynced(&self) -> bool {
        !self.is_final()
    }
}

/// A write kept in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Unique id of the entry.
    pub id: String,
    /// The user who asked for it; only sent with that user's session.
    pub user_id: String,
    /// What to do.
    pub intent: Intent,
    /// Sent as `Idempotency-Key` on every attempt; made at enqueue, never changed, so a
    /// resend after a lost answer is never applied twice.
    pub idempotency_key: String,
    /// Ordering key ([`Intent::resource`]): entries of one resource replay in order.
    pub resource: String,
    /// Sync status.
    pub status: EntryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not sent before this time.
    pub next_attempt_at_ms: u64,
    /// Why the last attempt did not go through, for display.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at_ms: u64,
    /// Enqueue order across the outbox (ties broken by id).
    pub seq: u64,
}

impl OutboxEntry {
    pub(super) fn store_key(&self) -> String {
        store_key(self.seq, &self.id)
    }

    pub(super) fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// Store keys sort in enqueue order: zero-padded sequence, then the id.
pub(super) fn store_key(seq: u64, id: &str) -> String {
    format!("{seq:020}-{id}")
}

/// A change to the outbox, as streamed by [`Outbox::subscribe`](super::Outbox::subscribe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "update", rename_all = "snake_case")]
pub enum EntryUpdate {
    /// The entry was added or its status changed; the new state.
    Changed(Box<OutboxEntry>),
    /// The entry was removed (dismissed by the user, or its user was cleared).
    Removed {
        /// The entry's id.
        id: String,
    },
}
