//! The outbox as JavaScript sees it: queue a typed write, list entries, observe their
//! status (callback or async iterator), await one entry's final answer, dismiss.

use futures::StreamExt;
use js_sys::Promise;
use lifeline_types::appointments::{BookAppointment, Cancel, Reschedule};
use lifeline_types::prescriptions::OrderPrescriptionRequest;
use lifeline_types::tracking::{TrackingItemInput, TrackingKind};
use serde::{Deserialize, Serialize};
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::Client;

use super::convert::{answer, from_js, promise, to_js, JsResult};
use super::error::to_js_error;
use super::events::{subscribe_callback, AsyncIter};

/// A write the user asked for, kept until the server has answered it. Same shape as the
/// SDK's intent (`{ type, data }`), so entries stored by any client replay everywhere.
#[derive(Debug, Clone, Serialize, Deserialize, Tsify)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Intent {
    /// `POST /api/appointments`.
    BookAppointment(BookAppointment),
    /// `POST /api/appointments/{id}/cancel`.
    CancelAppointment {
        /// The appointment.
        id: uuid::Uuid,
        /// Optional reason.
        #[serde(default)]
        #[tsify(optional)]
        body: Cancel,
    },
    /// `POST /api/appointments/{id}/reschedule`.
    RescheduleAppointment {
        /// The appointment.
        id: uuid::Uuid,
        /// The new slot.
        body: Reschedule,
    },
    /// `POST /api/prescriptions/{id}/order`.
    OrderPrescription {
        /// The prescription.
        id: uuid::Uuid,
        /// The pharmacy, or the nominated one when absent.
        #[serde(default)]
        #[tsify(optional)]
        body: OrderPrescriptionRequest,
    },
    /// `POST /api/pharmacies/{id}/nominate`.
    NominatePharmacy {
        /// The pharmacy.
        id: uuid::Uuid,
    },
    /// `POST /api/health-tracking/{kind}`.
    TrackingUpsert {
        /// Which tracker.
        kind: TrackingKind,
        /// The items (tombstones included).
        items: Vec<TrackingItemInput>,
    },
}

impl From<Intent> for crate::outbox::Intent {
    fn from(i: Intent) -> Self {
        use crate::outbox::Intent as I;
        match i {
            Intent::BookAppointment(b) => I::BookAppointment(b),
            Intent::CancelAppointment { id, body } => I::CancelAppointment { id, body },
            Intent::RescheduleAppointment { id, body } => I::RescheduleAppointment { id, body },
            Intent::OrderPrescription { id, body } => I::OrderPrescription { id, body },
            Intent::NominatePharmacy { id } => I::NominatePharmacy { id },
            Intent::TrackingUpsert { kind, items } => I::TrackingUpsert { kind, items },
        }
    }
}

impl From<crate::outbox::Intent> for Intent {
    fn from(i: crate::outbox::Intent) -> Self {
        use crate::outbox::Intent as I;
        match i {
            I::BookAppointment(b) => Intent::BookAppointment(b),
            I::CancelAppointment { id, body } => Intent::CancelAppointment { id, body },
            I::RescheduleAppointment { id, body } => Intent::RescheduleAppointment { id, body },
            I::OrderPrescription { id, body } => Intent::OrderPrescription { id, body },
            I::NominatePharmacy { id } => Intent::NominatePharmacy { id },
            I::TrackingUpsert { kind, items } => Intent::TrackingUpsert { kind, items },
        }
    }
}

/// Where an entry stands: `queued → sending → confirmed | rejected | conflict`.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryStatus {
    /// Waiting to be sent (again).
    Queued,
    /// Handed to the network; the answer is not known yet.
    Sending,
    /// The server applied it and answered `response`.
    Confirmed {
        /// The server's JSON answer.
        response: serde_json::Value,
    },
    /// The server refused it for good; kept until dismissed.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API error code.
        code: String,
        /// The API error message.
        message: String,
    },
    /// The server holds a conflicting state (409); kept for the user to resolve.
    Conflict {
        /// The API error's details (alternatives, the current state).
        details: serde_json::Value,
    },
}

impl From<crate::outbox::EntryStatus> for EntryStatus {
    fn from(s: crate::outbox::EntryStatus) -> Self {
        use crate::outbox::EntryStatus as S;
        match s {
            S::Queued => EntryStatus::Queued,
            S::Sending => EntryStatus::Sending,
            S::Confirmed { response } => EntryStatus::Confirmed { response },
            S::Rejected {
                status,
                code,
                message,
            } => EntryStatus::Rejected {
                status,
                code,
                message,
            },
            S::Conflict { details } => EntryStatus::Conflict { details },
        }
    }
}

/// A write kept in the outbox.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    /// Unique id of the entry.
    pub id: String,
    /// The user who asked for it.
    pub user_id: String,
    /// What to do.
    pub intent: Intent,
    /// Sent as `Idempotency-Key` on every attempt.
    pub idempotency_key: String,
    /// Ordering key: entries of one resource replay in order.
    pub resource: String,
    /// Sync status.
    pub status: EntryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not sent before this time (milliseconds since the Unix epoch).
    pub next_attempt_at_ms: f64,
    /// Why the last attempt did not go through.
    pub last_error: Option<String>,
    /// When it was enqueued (milliseconds since the Unix epoch).
    pub created_at_ms: f64,
}

impl From<crate::outbox::OutboxEntry> for OutboxEntry {
    fn from(e: crate::outbox::OutboxEntry) -> Self {
        OutboxEntry {
            id: e.id,
            user_id: e.user_id,
            intent: e.intent.into(),
            idempotency_key: e.idempotency_key,
            resource: e.resource,
            status: e.status.into(),
            attempts: e.attempts,
            next_attempt_at_ms: e.next_attempt_at_ms as f64,
            last_error: e.last_error,
            created_at_ms: e.created_at_ms as f64,
        }
    }
}

/// A change to the outbox.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxChange {
    /// The entry was added or its status changed.
    Changed {
        /// Its new state.
        entry: OutboxEntry,
    },
    /// The entry was removed.
    Removed {
        /// The entry's id.
        id: String,
    },
}

impl From<crate::outbox::EntryUpdate> for OutboxChange {
    fn from(u: crate::outbox::EntryUpdate) -> Self {
        match u {
            crate::outbox::EntryUpdate::Changed(e) => OutboxChange::Changed { entry: (*e).into() },
            crate::outbox::EntryUpdate::Removed { id } => OutboxChange::Removed { id },
        }
    }
}

/// What one drain did.
#[derive(Debug, Clone, Serialize, Tsify)]
pub struct DrainReport {
    /// Entries confirmed.
    pub confirmed: u32,
    /// Entries rejected.
    pub rejected: u32,
    /// Entries that ended in a conflict.
    pub conflicts: u32,
    /// Entries still queued after it.
    pub pending: u32,
    /// Attempts made.
    pub attempts: u32,
}

impl From<crate::outbox::DrainReport> for DrainReport {
    fn from(r: crate::outbox::DrainReport) -> Self {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        DrainReport {
            confirmed: n(r.confirmed),
            rejected: n(r.rejected),
            conflicts: n(r.conflicts),
            pending: n(r.pending),
            attempts: n(r.attempts),
        }
    }
}

fn entries(list: crate::Result<Vec<crate::outbox::OutboxEntry>>) -> JsResult {
    answer(list.map(|l| l.into_iter().map(OutboxEntry::from).collect::<Vec<_>>()))
}

fn user_id(client: &Client) -> Result<String, JsValue> {
    client
        .current_user()
        .map(|u| u.id.to_string())
        .ok_or_else(|| to_js_error(&Error::not_signed_in()))
}

/// The signed-in user's queued writes. Get it as `client.outbox`.
#[wasm_bindgen]
pub struct OutboxApi {
    pub(crate) client: Client,
}

#[wasm_bindgen]
impl OutboxApi {
    /// Queues a write for the signed-in user; it is stored before the promise resolves and
    /// sent by the next `sync()` (or drain trigger) with an idempotency key made now.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxEntry>")]
    pub fn enqueue(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Intent")] intent: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let intent: Intent = from_js(intent, "intent")?;
            let entry = client.queue(intent.into()).await;
            answer(entry.map(OutboxEntry::from))
        })
    }

    /// The signed-in user's entries, in enqueue order, final ones included.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxEntry[]>")]
    pub fn list(&self) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let user = user_id(&client)?;
            entries(client.outbox().entries(&user).await.map_err(Error::from))
        })
    }

    /// One entry, or `null` when it is not in the outbox.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxEntry | null>")]
    pub fn entry(&self, id: String) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let entry = client.outbox().entry(&id).await.map_err(Error::from);
            answer(entry.map(|e| e.map(OutboxEntry::from)))
        })
    }

    /// How many of the signed-in user's writes the server has not answered yet.
    #[wasm_bindgen(js_name = unsyncedCount, unchecked_return_type = "Promise<number>")]
    pub fn unsynced_count(&self) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let user = user_id(&client)?;
            let n = client.outbox().unsynced_count(&user).await;
            answer(n.map_err(Error::from))
        })
    }

    /// Resolves with the entry's final status (confirmed, rejected or conflict) once a
    /// drain gets there; at once if it already has.
    #[wasm_bindgen(unchecked_return_type = "Promise<EntryStatus>")]
    pub fn wait(&self, id: String) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let status = client.outbox().wait(&id).await.map_err(Error::from);
            answer(status.map(EntryStatus::from))
        })
    }

    /// Removes an entry the server has answered for good.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxEntry>")]
    pub fn dismiss(&self, id: String) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let entry = client.outbox().dismiss(&id).await.map_err(Error::from);
            answer(entry.map(OutboxEntry::from))
        })
    }

    /// Sends every due queued write now; `null` when another drain (another tab, the
    /// service worker) holds the queue.
    #[wasm_bindgen(unchecked_return_type = "Promise<DrainReport | null>")]
    pub fn sync(&self) -> Promise {
        let client = self.client.clone();
        promise(async move { answer(client.sync_now().await.map(|r| r.map(DrainReport::from))) })
    }

    /// Calls `callback` with every change from now on; returns the function that stops it.
    #[wasm_bindgen(js_name = onChange, unchecked_return_type = "() => void")]
    pub fn on_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(change: OutboxChange) => void")]
        callback: js_sys::Function,
    ) -> JsValue {
        let stream = self.client.outbox().subscribe().map(OutboxChange::from);
        subscribe_callback(stream, callback)
    }

    /// Every change from now on, as an async iterator (`for await (const c of outbox.changes())`).
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<OutboxChange>")]
    pub fn changes(&self) -> JsValue {
        let stream = self.client.outbox().subscribe().map(OutboxChange::from);
        AsyncIter::new(stream).into_js()
    }
}

/// Converts a value for an iterator or callback, logging (never throwing) on failure.
pub(crate) fn to_js_logged<T: Serialize>(value: &T) -> JsValue {
    to_js(value).unwrap_or_else(|e| {
        tracing::warn!(error = ?e, "value not converted for js");
        JsValue::UNDEFINED
    })
}
