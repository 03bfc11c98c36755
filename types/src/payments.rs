//! Payments: initialising a charge for an appointment, verifying it, the payment history, and
//! the built-in provider's charge and webhook bodies.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `GET /api/payments/status`: whether the app may offer payment at all.
///
/// Both flags are `false` whenever the server could not establish them: a client must never
/// assume payments work because a check failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct PaymentsStatus {
    pub payments_enabled: bool,
    pub provider_reachable: bool,
}

/// `POST /api/payments/initialize` body: the caller's appointment awaiting payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct InitializePaymentRequest {
    pub appointment_id: Uuid,
}

/// A payment ready to be charged at the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct InitializePaymentResponse {
    /// Unique per payment; the key for verify, webhook and history.
    pub reference: String,
    /// The provider's checkout page for this payment.
    pub authorization_url: String,
    /// Opaque code the provider's inline script takes instead of the URL.
    pub access_code: String,
    /// Amount in minor units (kobo), taken from the appointment's fee.
    pub amount: i64,
    pub currency: String,
    pub appointment_id: Uuid,
}

/// Outcome of a payment as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Success,
    Pending,
    Failed,
}

impl PaymentStatus {
    /// The wire and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Pending => "pending",
            Self::Failed => "failed",
        }
    }

    /// Parses the wire and storage spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "pending" => Some(Self::Pending),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// `POST /api/payments/verify/{reference}`: the payment's state and its appointment's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct VerifyPaymentResponse {
    pub reference: String,
    pub status: PaymentStatus,
    pub appointment_id: Uuid,
    /// The appointment's status after verification, e.g. `confirmed`.
    pub appointment_status: String,
}

/// One entry of `GET /api/payments/history`, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct PaymentRecord {
    pub reference: String,
    pub appointment_id: Uuid,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
}

/// `POST /provider/charge` body: a card charge for a reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ProviderChargeRequest {
    pub reference: String,
    /// Test card number: `4084084084084081` succeeds, `4000000000000002` is declined.
    pub card: String,
}

/// The provider's answer to a successful charge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ProviderChargeResponse {
    pub reference: String,
    pub status: PaymentStatus,
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
}

/// `POST /api/payments/webhook` body, signed by the provider (HMAC-SHA512 of the raw body,
/// hex, in `x-provider-signature`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ProviderWebhookEvent {
    /// `charge.success` is the only event sent.
    pub event: String,
    pub data: ProviderWebhookData,
}

/// The charge a webhook reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct ProviderWebhookData {
    pub reference: String,
    pub amount: i64,
    pub currency: String,
    pub status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
}

/// `POST /api/payments/webhook` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct WebhookAck {
    pub received: bool,
}
