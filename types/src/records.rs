//! Medical records behind a second factor: a one-time code sent to the user's mailbox is
//! exchanged for a short-lived `X-Med-Access-Token`.

use serde::{Deserialize, Serialize};

/// `POST /api/medical-records/request-otp` answer (202). The code itself is never in a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct OtpRequested {
    /// Where the code went, masked (`d***@example.com`).
    pub sent_to: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
}

/// `POST /api/medical-records/verify-otp` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct VerifyOtpRequest {
    pub code: String,
}

/// The token to send as `X-Med-Access-Token` with medical-record reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct MedAccessToken {
    pub med_access_token: String,
    /// Seconds the token stays valid (1800).
    pub expires_in: u64,
}

/// A diagnosed condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Condition {
    pub name: String,
    /// `active` or `resolved`.
    pub status: String,
    pub diagnosed_on: String,
}

/// A medication the patient takes or took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Medication {
    pub name: String,
    pub dosage: String,
    pub frequency: String,
    pub started_on: String,
    pub active: bool,
}

/// A known allergy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Allergy {
    pub substance: String,
    pub reaction: String,
    /// `mild`, `moderate` or `severe`.
    pub severity: String,
}

/// One vital-sign measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Vital {
    /// e.g. `blood_pressure`, `heart_rate`, `weight`.
    pub kind: String,
    pub value: String,
    pub unit: String,
    pub recorded_at: String,
}

/// A laboratory result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct LabResult {
    pub test: String,
    pub value: String,
    pub unit: String,
    pub reference_range: String,
    /// `normal`, `high` or `low`.
    pub flag: String,
    pub taken_at: String,
}

/// An immunization given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Immunization {
    pub vaccine: String,
    pub dose: String,
    pub given_on: String,
}

/// `GET /api/medical-records`: the whole record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct MedicalRecords {
    pub conditions: Vec<Condition>,
    pub medications: Vec<Medication>,
    pub allergies: Vec<Allergy>,
    pub vitals: Vec<Vital>,
    pub lab_results: Vec<LabResult>,
    pub immunizations: Vec<Immunization>,
}

/// `GET /api/medical-records/summary`: counts and the latest readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct MedicalRecordsSummary {
    pub active_conditions: u64,
    pub active_medications: u64,
    pub allergies: u64,
    pub lab_results: u64,
    pub abnormal_lab_results: u64,
    pub immunizations: u64,
    /// The most recent reading of each vital kind.
    pub latest_vitals: Vec<Vital>,
}

/// A message in the dev mailbox (dev mode only: `GET /__dev/mailbox?email=`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct MailboxMessage {
    pub id: i64,
    pub email: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
}
