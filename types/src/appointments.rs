//! Availability, booking, cancelling and rescheduling appointments.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where an appointment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Booked in a department with a fee; the slot is held until payment confirms it.
    PendingPayment,
    Confirmed,
    Cancelled,
    Completed,
}

impl AppointmentStatus {
    /// The wire (and database) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::PendingPayment => "pending_payment",
            AppointmentStatus::Confirmed => "confirmed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::Completed => "completed",
        }
    }

    /// Parses the wire spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending_payment" => Some(Self::PendingPayment),
            "confirmed" => Some(Self::Confirmed),
            "cancelled" => Some(Self::Cancelled),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// A 30-minute slot of one doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Slot {
    pub id: Uuid,
    pub doctor_id: Uuid,
    /// RFC 3339, UTC.
    pub starts_at: String,
    /// RFC 3339, UTC.
    pub ends_at: String,
    /// Bookable now: not taken and not in the past.
    pub free: bool,
}

/// `GET /api/doctors/{id}/availability?date=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Availability {
    pub doctor_id: Uuid,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub slots: Vec<Slot>,
}

/// A booked appointment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Appointment {
    pub id: Uuid,
    pub user_id: Uuid,
    pub doctor_id: Uuid,
    pub doctor_name: String,
    pub department_id: Uuid,
    pub hospital_id: Uuid,
    pub slot_id: Uuid,
    /// RFC 3339, UTC.
    pub starts_at: String,
    /// RFC 3339, UTC.
    pub ends_at: String,
    pub status: AppointmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub fee_minor: i64,
    pub currency: String,
    /// Filled in the doctor's list only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /api/appointments` (needs `Idempotency-Key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct BookAppointment {
    pub slot_id: Uuid,
    /// Up to 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/appointments/check-conflict`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct CheckConflict {
    pub slot_id: Uuid,
}

/// Whether booking the slot would conflict, and free slots nearby when it would.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ConflictCheck {
    pub conflict: bool,
    /// `slot_taken`, `slot_in_past` or `overlapping_appointment` when `conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free slots of the same doctor or department near the asked time.
    #[serde(default)]
    pub alternatives: Vec<Slot>,
}

/// `POST /api/appointments/{id}/reschedule`: move to another slot of the same department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct Reschedule {
    pub slot_id: Uuid,
}

/// `POST /api/appointments/{id}/cancel` (body optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
