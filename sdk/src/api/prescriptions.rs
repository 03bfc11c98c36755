//! Prescriptions and orders.

use lifeline_types::prescriptions::{
    CreatePrescriptionRequest, OrderPrescriptionRequest, Prescription,
};
use uuid::Uuid;

use crate::client::{Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Prescriptions. Get one with [`Client::prescriptions`].
#[derive(Debug, Clone, Copy)]
pub struct Prescriptions<'a> {
    client: &'a Client,
}

impl Client {
    /// Prescriptions and orders.
    pub fn prescriptions(&self) -> Prescriptions<'_> {
        Prescriptions { client: self }
    }
}

impl Prescriptions<'_> {
    /// `GET /api/prescriptions`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn list(&self) -> Result<Fetched<Vec<Prescription>>> {
        self.client
            .read(Call::get(ApiGroup::Prescriptions, "/api/prescriptions"))
            .await
    }

    /// `GET /api/prescriptions/{id}`, through the cache.
    ///
    /// # Errors
    ///
    /// `404`, or a failure with no cached copy to fall back on.
    pub async fn get(&self, id: Uuid) -> Result<Fetched<Prescription>> {
        self.client
            .read(Call::get(
                ApiGroup::Prescriptions,
                format!("/api/prescriptions/{id}"),
            ))
            .await
    }

    /// `POST /api/prescriptions/{id}/order`: orders it at `pharmacy_id`, or at the
    /// nominated pharmacy when `None`. Answers the prescription with its order.
    ///
    /// # Errors
    ///
    /// `409` when already ordered, `422` with no pharmacy, and the usual transport errors.
    pub async fn order(&self, id: Uuid, pharmacy_id: Option<Uuid>) -> Result<Prescription> {
        self.order_with_key(id, pharmacy_id, &Uuid::new_v4().to_string())
            .await
    }

    /// As [`order`](Self::order), with a caller-kept idempotency key.
    ///
    /// # Errors
    ///
    /// As [`order`](Self::order).
    pub async fn order_with_key(
        &self,
        id: Uuid,
        pharmacy_id: Option<Uuid>,
        key: &str,
    ) -> Result<Prescription> {
        let call = Call::post(
            ApiGroup::Prescriptions,
            format!("/api/prescriptions/{id}/order"),
        )
        .json(&OrderPrescriptionRequest { pharmacy_id })?
        .with_key(key);
        self.client.send_json(&call).await
    }

    /// Doctor role: `POST /api/prescriptions`.
    ///
    /// # Errors
    ///
    /// `403` for patients, `422` for invalid medicines.
    pub async fn create(&self, request: &CreatePrescriptionRequest) -> Result<Prescription> {
        let call = Call::post(ApiGroup::Prescriptions, "/api/prescriptions")
            .json(request)?
            .idempotent();
        self.client.send_json(&call).await
    }
}
