//! Prescriptions: what a doctor issues and a patient orders from a pharmacy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One medicine on a prescription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Medicine {
    pub name: String,
    pub dosage: String,
    pub duration: String,
    pub instructions: String,
}

/// A prescription as the patient sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Prescription {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub doctor_id: Uuid,
    pub medicines: Vec<Medicine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// `active` until ordered, then `ordered`.
    pub status: String,
    pub issued_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<PrescriptionOrder>,
}

/// Doctor role: `POST /api/prescriptions` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct CreatePrescriptionRequest {
    pub patient_id: Uuid,
    pub medicines: Vec<Medicine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// `POST /api/prescriptions/{id}/order` body; without a pharmacy the nominated one is used.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct OrderPrescriptionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pharmacy_id: Option<Uuid>,
}

/// An order placed for a prescription (at most one per prescription).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct PrescriptionOrder {
    pub id: Uuid,
    pub prescription_id: Uuid,
    pub pharmacy_id: Uuid,
    pub status: String,
    pub created_at: String,
}
