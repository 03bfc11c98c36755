//! Women's health tracking, synced: kick sessions, cycles, contractions.

use lifeline_types::tracking::{TrackingBatch, TrackingKind, TrackingPage, TrackingSyncResult};

use crate::client::{query, Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Health tracking. Get one with [`Client::tracking`].
#[derive(Debug, Clone, Copy)]
pub struct Tracking<'a> {
    client: &'a Client,
}

impl Client {
    /// Women's health tracking.
    pub fn tracking(&self) -> Tracking<'_> {
        Tracking { client: self }
    }
}

impl Tracking<'_> {
    /// `GET /api/health-tracking/{kind}?since=`: changes after the cursor `since`,
    /// tombstones included; through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn changes(
        &self,
        kind: TrackingKind,
        since: Option<i64>,
    ) -> Result<Fetched<TrackingPage>> {
        let path = query(
            &format!("/api/health-tracking/{}", kind.as_str()),
            &[("since", since.map(|s| s.to_string()))],
        );
        self.client.read(Call::get(ApiGroup::Tracking, path)).await
    }

    /// `POST /api/health-tracking/{kind}`: upserts a batch; the newer `updated_at` wins.
    ///
    /// # Errors
    ///
    /// `422` for invalid items, and the usual transport errors.
    pub async fn upsert(
        &self,
        kind: TrackingKind,
        batch: &TrackingBatch,
    ) -> Result<TrackingSyncResult> {
        self.upsert_with_key(kind, batch, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// As [`upsert`](Self::upsert), with a caller-kept idempotency key.
    ///
    /// # Errors
    ///
    /// As [`upsert`](Self::upsert).
    pub async fn upsert_with_key(
        &self,
        kind: TrackingKind,
        batch: &TrackingBatch,
        key: &str,
    ) -> Result<TrackingSyncResult> {
        let call = Call::post(
            ApiGroup::Tracking,
            format!("/api/health-tracking/{}", kind.as_str()),
        )
        .json(batch)?
        .with_key(key);
        self.client.send_json(&call).await
    }
}
