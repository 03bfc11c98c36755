//! Pharmacies and the nominated pharmacy.

use lifeline_types::pharmacies::{NominatedPharmacy, Pharmacy};
use uuid::Uuid;

use crate::client::{query, Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Pharmacies. Get one with [`Client::pharmacies`].
#[derive(Debug, Clone, Copy)]
pub struct Pharmacies<'a> {
    client: &'a Client,
}

impl Client {
    /// Pharmacies and the nominated pharmacy.
    pub fn pharmacies(&self) -> Pharmacies<'_> {
        Pharmacies { client: self }
    }
}

impl Pharmacies<'_> {
    /// `GET /api/pharmacies?q=&near=`: `near` is `"lat,lng"`; through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn search(
        &self,
        q: Option<&str>,
        near: Option<(f64, f64)>,
    ) -> Result<Fetched<Vec<Pharmacy>>> {
        let path = query(
            "/api/pharmacies",
            &[
                ("q", q.map(str::to_string)),
                ("near", near.map(|(lat, lng)| format!("{lat},{lng}"))),
            ],
        );
        self.client
            .read(Call::get(ApiGroup::Pharmacies, path).optional_auth())
            .await
    }

    /// `POST /api/pharmacies/{id}/nominate`.
    ///
    /// # Errors
    ///
    /// `404` for an unknown pharmacy, and the usual transport errors.
    pub async fn nominate(&self, id: Uuid) -> Result<NominatedPharmacy> {
        self.nominate_with_key(id, &Uuid::new_v4().to_string())
            .await
    }

    /// As [`nominate`](Self::nominate), with a caller-kept idempotency key.
    ///
    /// # Errors
    ///
    /// As [`nominate`](Self::nominate).
    pub async fn nominate_with_key(&self, id: Uuid, key: &str) -> Result<NominatedPharmacy> {
        let call = Call::post(
            ApiGroup::Pharmacies,
            format!("/api/pharmacies/{id}/nominate"),
        )
        .with_key(key);
        self.client.send_json(&call).await
    }

    /// `GET /api/pharmacies/nominated`, through the cache.
    ///
    /// # Errors
    ///
    /// `404` when none is nominated, or a failure with no cached copy.
    pub async fn nominated(&self) -> Result<Fetched<NominatedPharmacy>> {
        self.client
            .read(Call::get(ApiGroup::Pharmacies, "/api/pharmacies/nominated"))
            .await
    }
}
