//! Hospitals, departments and doctors: read-only reference data.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A hospital the user can choose as primary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Hospital {
    pub id: Uuid,
    pub name: String,
    pub city: String,
    pub address: String,
    pub phone: String,
}

/// A department of a hospital, with the consultation fee charged for a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Department {
    pub id: Uuid,
    pub hospital_id: Uuid,
    pub name: String,
    /// Fee in the currency's minor unit (kobo for NGN); 0 means free, and bookings start confirmed.
    pub fee_minor: i64,
    pub currency: String,
}

/// A doctor who takes appointments in one department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Doctor {
    pub id: Uuid,
    pub department_id: Uuid,
    pub hospital_id: Uuid,
    pub name: String,
    pub specialty: String,
}

/// `GET`/`POST /api/user/primary-hospital`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct PrimaryHospital {
    /// `None` until the user chooses one.
    pub hospital: Option<Hospital>,
}

/// `POST /api/user/primary-hospital`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct SetPrimaryHospital {
    pub hospital_id: Uuid,
}
