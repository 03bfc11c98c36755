//! The professional registry: public search and licence verification.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A registered professional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct RegistryEntry {
    pub license_number: String,
    pub full_name: String,
    pub profession: String,
    pub specialty: String,
    pub region: String,
    /// `active`, `suspended` or `expired` (an active licence past `expires_on` is `expired`).
    pub status: String,
    pub registered_on: String,
    pub expires_on: String,
}

/// `GET /api/registry/verify/{license_number}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct LicenseVerification {
    pub license_number: String,
    /// True only when the status is `active`.
    pub valid: bool,
    pub status: String,
    pub full_name: String,
    pub profession: String,
    pub expires_on: String,
}

/// `GET /api/registry/statistics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct RegistryStatistics {
    pub total: u64,
    pub active: u64,
    pub suspended: u64,
    pub expired: u64,
    pub by_profession: BTreeMap<String, u64>,
}
