//! Typed write intents: what the user asked for, serializable so the page, the service worker
//! and a restarted app can all replay it without registered callbacks (TanStack's persisted
//! mutations cannot resume without "mutation defaults"; ours carry everything they need).

use lifeline_types::appointments::{BookAppointment, Cancel, Reschedule};
use lifeline_types::prescriptions::OrderPrescriptionRequest;
use lifeline_types::tracking::{TrackingBatch, TrackingItemInput, TrackingKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A write the user asked for, kept in the outbox until the server has answered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Intent {
    /// `POST /api/appointments`.
    BookAppointment(BookAppointment),
    /// `POST /api/appointments/{id}/cancel`.
    CancelAppointment {
        /// The appointment.
        id: Uuid,
        /// Optional reason.
        #[serde(default)]
        body: Cancel,
    },
    /// `POST /api/appointments/{id}/reschedule`.
    RescheduleAppointment {
        /// The appointment.
        id: Uuid,
        /// The new slot.
        body: Reschedule,
    },
    /// `POST /api/prescriptions/{id}/order`.
    OrderPrescription {
        /// The prescription.
        id: Uuid,
        /// The pharmacy, or the nominated one when absent.
        #[serde(default)]
        body: OrderPrescriptionRequest,
    },
    /// `POST /api/pharmacies/{id}/nominate`.
    NominatePharmacy {
        /// The pharmacy.
        id: Uuid,
    },
    /// `POST /api/health-tracking/{kind}`: a batch upsert of client-made items.
    TrackingUpsert {
        /// Which tracker.
        kind: TrackingKind,
        /// The items (tombstones included).
        items: Vec<TrackingItemInput>,
    },
}

/// The HTTP method of an intent's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum WriteMethod {
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl WriteMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMethod::Post => "POST",
            WriteMethod::Put => "PUT",
            WriteMethod::Patch => "PATCH",
            WriteMethod::Delete => "DELETE",
        }
    }
}

/// The HTTP request an intent replays as (the `Idempotency-Key` comes from the entry).
#[derive(Debug, Clone, PartialEq)]
pub struct IntentRequest {
    /// The method.
    pub method: WriteMethod,
    /// The path, starting with `/api/`.
    pub path: String,
    /// The JSON body.
    pub body: serde_json::Value,
}

fn json<T: Serialize>(value: &T) -> serde_json::Value {
    // The wire types are plain structs of strings, numbers and UUIDs: serializing them to a
    // `Value` cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Intent {
    /// The request that carries out this intent.
    pub fn request(&self) -> IntentRequest {
        let (path, body) = match self {
            Intent::BookAppointment(req) => ("/api/appointments".to_owned(), json(req)),
            Intent::CancelAppointment { id, body } => {
                (format!("/api/appointments/{id}/cancel"), json(body))
            }
            Intent::RescheduleAppointment { id, body } => {
                (format!("/api/appointments/{id}/reschedule"), json(body))
            }
            Intent::OrderPrescription { id, body } => {
                (format!("/api/prescriptions/{id}/order"), json(body))
            }
            Intent::NominatePharmacy { id } => (
                format!("/api/pharmacies/{id}/nominate"),
                serde_json::json!({}),
            ),
            Intent::TrackingUpsert { kind, items } => (
                format!("/api/health-tracking/{}", kind.as_str()),
                json(&TrackingBatch {
                    items: items.clone(),
                }),
            ),
        };
        IntentRequest {
            method: WriteMethod::Post,
            path,
            body,
        }
    }

    /// The ordering key: entries of one user with the same resource replay one at a time, in
    /// the order they were enqueued (a reschedule never overtakes the booking or the cancel
    /// before it).
    pub fn resource(&self) -> String {
        match self {
            Intent::BookAppointment(req) => format!("slot:{}", req.slot_id),
            Intent::CancelAppointment { id, .. } | Intent::RescheduleAppointment { id, .. } => {
                format!("appointment:{id}")
            }
            Intent::OrderPrescription { id, .. } => format!("prescription:{id}"),
            // There is one nominated pharmacy: the last nomination must win.
            Intent::NominatePharmacy { .. } => "nominated-pharmacy".to_owned(),
            Intent::TrackingUpsert { kind, .. } => format!("tracking:{}", kind.as_str()),
        }
    }

    /// A short name for logs and lists (`book_appointment`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Intent::BookAppointment(_) => "book_appointment",
            Intent::CancelAppointment { .. } => "cancel_appointment",
            Intent::RescheduleAppointment { .. } => "reschedule_appointment",
            Intent::OrderPrescription { .. } => "order_prescription",
            Intent::NominatePharmacy { .. } => "nominate_pharmacy",
            Intent::TrackingUpsert { .. } => "tracking_upsert",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_map_to_their_endpoints_and_survive_serde() {
        let id = Uuid::from_u128(7);
        let cases = [
            (
                Intent::BookAppointment(BookAppointment {
                    slot_id: id,
                    reason: None,
                }),
                "/api/appointments",
                format!("slot:{id}"),
            ),
            (
                Intent::CancelAppointment {
                    id,
                    body: Cancel::default(),
                },
                "/api/appointments/00000000-0000-0000-0000-000000000007/cancel",
                format!("appointment:{id}"),
            ),
            (
                Intent::NominatePharmacy { id },
                "/api/pharmacies/00000000-0000-0000-0000-000000000007/nominate",
                "nominated-pharmacy".to_owned(),
            ),
            (
                Intent::TrackingUpsert {
                    kind: TrackingKind::KickSessions,
                    items: vec![],
                },
                "/api/health-tracking/kick-sessions",
                "tracking:kick-sessions".to_owned(),
            ),
        ];
        for (intent, path, resource) in cases {
            let req = intent.request();
            assert_eq!(req.method, WriteMethod::Post);
            assert_eq!(req.path, path);
            assert_eq!(intent.resource(), resource);
            let text = serde_json::to_string(&intent).unwrap();
            assert_eq!(serde_json::from_str::<Intent>(&text).unwrap(), intent);
        }
    }
}
