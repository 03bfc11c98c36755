//! Hospitals and the user's primary hospital.

use lifeline_types::hospitals::{Hospital, PrimaryHospital, SetPrimaryHospital};
use uuid::Uuid;

use crate::client::{Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Hospitals and the primary hospital. Get one with [`Client::hospitals`].
#[derive(Debug, Clone, Copy)]
pub struct Hospitals<'a> {
    client: &'a Client,
}

impl Client {
    /// Hospitals and the primary hospital.
    pub fn hospitals(&self) -> Hospitals<'_> {
        Hospitals { client: self }
    }
}

impl Hospitals<'_> {
    /// `GET /api/hospitals`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn list(&self) -> Result<Fetched<Vec<Hospital>>> {
        self.client
            .read(Call::get(ApiGroup::Auth, "/api/hospitals").optional_auth())
            .await
    }

    /// `GET /api/user/primary-hospital`, through the cache.
    ///
    /// # Errors
    ///
    /// Not signed in, or a failure with no cached copy to fall back on.
    pub async fn primary(&self) -> Result<Fetched<PrimaryHospital>> {
        self.client
            .read(Call::get(ApiGroup::Auth, "/api/user/primary-hospital"))
            .await
    }

    /// `POST /api/user/primary-hospital`.
    ///
    /// # Errors
    ///
    /// `404` for an unknown hospital, and the usual transport errors.
    pub async fn set_primary(&self, hospital_id: Uuid) -> Result<PrimaryHospital> {
        let call = Call::post(ApiGroup::Auth, "/api/user/primary-hospital")
            .json(&SetPrimaryHospital { hospital_id })?
            .idempotent();
        self.client.send_json(&call).await
    }
}
