//! The professional registry (public).

use lifeline_types::registry::{LicenseVerification, RegistryEntry, RegistryStatistics};

use crate::client::{encode, query, Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// The professional registry. Get one with [`Client::registry`].
#[derive(Debug, Clone, Copy)]
pub struct Registry<'a> {
    client: &'a Client,
}

impl Client {
    /// The professional registry.
    pub fn registry(&self) -> Registry<'_> {
        Registry { client: self }
    }
}

impl Registry<'_> {
    /// `GET /api/registry/search?q=`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn search(&self, q: &str) -> Result<Fetched<Vec<RegistryEntry>>> {
        let path = query("/api/registry/search", &[("q", Some(q.to_string()))]);
        self.client
            .read(Call::get(ApiGroup::Registry, path).optional_auth())
            .await
    }

    /// `GET /api/registry/verify/{license_number}`, through the cache.
    ///
    /// # Errors
    ///
    /// `404` for an unknown licence, or a failure with no cached copy.
    pub async fn verify(&self, license_number: &str) -> Result<Fetched<LicenseVerification>> {
        let path = format!("/api/registry/verify/{}", encode(license_number));
        self.client
            .read(Call::get(ApiGroup::Registry, path).optional_auth())
            .await
    }

    /// `GET /api/registry/statistics`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn statistics(&self) -> Result<Fetched<RegistryStatistics>> {
        self.client
            .read(Call::get(ApiGroup::Registry, "/api/registry/statistics").optional_auth())
            .await
    }
}
