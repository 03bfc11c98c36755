//! Payments that survive a crash or an outage between "pay" and "paid".
//!
//! [`Payments::start`] keeps the pending payment in the store *before* it hands the
//! authorization URL to the app: if the app dies while the user is at the provider's
//! checkout, [`Payments::resume_pending`] on the next start still knows the reference and
//! verifies it. [`Payments::verify`] keeps asking, with backoff, until the server gives a
//! definite answer, so a charge that succeeded while the backend was down is not forgotten.

use std::time::Duration;

use lifeline_types::payments::{
    InitializePaymentRequest, InitializePaymentResponse, PaymentRecord, PaymentStatus,
    PaymentsStatus, VerifyPaymentResponse,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::client::{encode, Call, Client};
use crate::error::{Error, Result};
use crate::freshness::Fetched;
use crate::policy::Backoff;
use crate::services::ApiGroup;
use crate::storage::Table;
use crate::time;

/// A payment started on this device and not yet known to be settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPayment {
    /// The appointment being paid for.
    pub appointment_id: Uuid,
    /// The idempotency key of the initialization, kept so a retried start is the same payment.
    pub idempotency_key: String,
    /// The provider reference, once the server has answered.
    pub reference: Option<String>,
    /// The provider's checkout URL, once the server has answered.
    pub authorization_url: Option<String>,
    /// When the payment was started (milliseconds since the Unix epoch).
    pub started_at_ms: u64,
}

/// How long [`Payments::verify`] keeps trying by default.
pub const DEFAULT_VERIFY_PATIENCE: Duration = Duration::from_secs(120);

/// Payments. Get one with [`Client::payments`].
#[derive(Debug, Clone, Copy)]
pub struct Payments<'a> {
    client: &'a Client,
}

impl Client {
    /// Payments with pending-reference persistence.
    pub fn payments(&self) -> Payments<'_> {
        Payments { client: self }
    }
}

fn pending_prefix(user: &str) -> String {
    format!("payment-pending/{user}/")
}

impl Payments<'_> {
    fn user(&self) -> Result<String> {
        self.client
            .current_user()
            .map(|u| u.id.to_string())
            .ok_or_else(Error::not_signed_in)
    }

    async fn save(&self, user: &str, pending: &PendingPayment) -> Result<()> {
        let key = format!("{}{}", pending_prefix(user), pending.appointment_id);
        let bytes = serde_json::to_vec(pending)?;
        self.client
            .store()
            .put(Table::META, &key, &bytes)
            .await
            .map_err(Error::storage)
    }

    async fn forget(&self, user: &str, appointment_id: Uuid) -> Result<()> {
        let key = format!("{}{}", pending_prefix(user), appointment_id);
        self.client
            .store()
            .delete(Table::META, &key)
            .await
            .map_err(Error::storage)
    }

    /// Payments started on this device by the signed-in user and not yet settled.
    ///
    /// # Errors
    ///
    /// Not signed in, or the store failed.
    pub async fn pending(&self) -> Result<Vec<PendingPayment>> {
        let user = self.user()?;
        let rows = self
            .client
            .store()
            .scan(Table::META, &pending_prefix(&user))
            .await
            .map_err(Error::storage)?;
        Ok(rows
            .into_iter()
            .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
            .collect())
    }

    /// `GET /api/payments/status`: whether the app may offer payment. Through the cache;
    /// callers should treat a stale answer as "unknown".
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn status(&self) -> Result<Fetched<PaymentsStatus>> {
        self.client
            .read(Call::get(ApiGroup::Payments, "/api/payments/status").optional_auth())
            .await
    }

    /// Starts paying for `appointment_id` (`POST /api/payments/initialize`). The pending
    /// payment is stored before the call and updated with the reference before this
    /// returns, so the app can send the user to `authorization_url` knowing the reference
    /// will be verified even if the app dies meanwhile. Starting again for the same
    /// appointment reuses the stored idempotency key, so it is the same payment.
    ///
    /// # Errors
    ///
    /// `409` when the appointment needs no payment, `404`, the store failing, and the usual
    /// transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client, appointment_id: lifeline_sdk::Uuid) -> Result<(), lifeline_sdk::Error> {
    /// let started = client.payments().start(appointment_id).await?;
    /// println!("open {}", started.authorization_url);
    /// // ... later, back from checkout:
    /// let verified = client.payments().verify(&started.reference).await?;
    /// println!("{:?}", verified.status);
    /// # Ok(()) }
    /// ```
    pub async fn start(&self, appointment_id: Uuid) -> Result<InitializePaymentResponse> {
        let user = self.user()?;
        let existing = self
            .pending()
            .await?
            .into_iter()
            .find(|p| p.appointment_id == appointment_id);
        let mut pending = existing.unwrap_or_else(|| PendingPayment {
            appointment_id,
            idempotency_key: Uuid::new_v4().to_string(),
            reference: None,
            authorization_url: None,
            started_at_ms: time::unix_ms(),
        });
        self.save(&user, &pending).await?;
        let call = Call::post(ApiGroup::Payments, "/api/payments/initialize")
            .json(&InitializePaymentRequest { appointment_id })?
            .with_key(pending.idempotency_key.clone());
        let answer: InitializePaymentResponse = self.client.send_json(&call).await?;
        pending.reference = Some(answer.reference.clone());
        pending.authorization_url = Some(answer.authorization_url.clone());
        self.save(&user, &pending).await?;
        Ok(answer)
    }

    /// Verifies `reference` (`POST /api/payments/verify/{reference}`), retrying with
    /// backoff through outages for up to [`DEFAULT_VERIFY_PATIENCE`] until the server
    /// answers. A settled answer (success or failure) removes the pending payment; a
    /// `pending` answer keeps it for [`resume_pending`](Self::resume_pending).
    ///
    /// # Errors
    ///
    /// A definite refusal (404 unknown reference...), or the last retryable error once
    /// patience runs out.
    pub async fn verify(&self, reference: &str) -> Result<VerifyPaymentResponse> {
        self.verify_with_patience(reference, DEFAULT_VERIFY_PATIENCE)
            .await
    }

    /// As [`verify`](Self::verify), trying for at most `patience`.
    ///
    /// # Errors
    ///
    /// As [`verify`](Self::verify).
    pub async fn verify_with_patience(
        &self,
        reference: &str,
        patience: Duration,
    ) -> Result<VerifyPaymentResponse> {
        let deadline = time::now() + patience;
        let backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10))
            .map_err(|e| Error::builder(e.to_string()))?;
        let call = Call::post(
            ApiGroup::Payments,
            format!("/api/payments/verify/{}", encode(reference)),
        )
        .idempotent();
        let mut round = 0u32;
        loop {
            match self.client.send_json::<VerifyPaymentResponse>(&call).await {
                Ok(answer) => {
                    if answer.status != PaymentStatus::Pending {
                        if let Ok(user) = self.user() {
                            self.forget(&user, answer.appointment_id).await?;
                        }
                    }
                    return Ok(answer);
                }
                Err(e) if e.is_retryable() => {
                    let wait = {
                        let mut rng = self
                            .client
                            .inner
                            .rng
                            .lock()
                            .unwrap_or_else(|p| p.into_inner());
                        backoff.delay(round, &mut *rng)
                    }
                    .max(e.retry_after().unwrap_or_default());
                    if time::now() + wait >= deadline {
                        return Err(e);
                    }
                    round = round.saturating_add(1);
                    time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Verifies every payment this device started and has not seen settled; call on app
    /// start. Answers what each verification found; errors are per payment.
    ///
    /// # Errors
    ///
    /// Not signed in, or the store failed.
    pub async fn resume_pending(
        &self,
    ) -> Result<Vec<(PendingPayment, Result<VerifyPaymentResponse>)>> {
        let mut results = Vec::new();
        for pending in self.pending().await? {
            let Some(reference) = pending.reference.clone() else {
                // The server never answered the initialization: nothing to verify yet.
                continue;
            };
            let result = self.verify(&reference).await;
            results.push((pending, result));
        }
        Ok(results)
    }

    /// `GET /api/payments/history`, newest first, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn history(&self) -> Result<Fetched<Vec<PaymentRecord>>> {
        self.client
            .read(Call::get(ApiGroup::Payments, "/api/payments/history"))
            .await
    }
}
