//! Pharmacies: search, distance sorting and the user's nominated pharmacy.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A pharmacy; `distance_km` is present when the search gave `near=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct Pharmacy {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub city: String,
    pub phone: String,
    pub lat: f64,
    pub lng: f64,
    pub open_24h: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

/// The user's one nominated pharmacy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct NominatedPharmacy {
    pub pharmacy: Pharmacy,
    pub nominated_at: String,
}
