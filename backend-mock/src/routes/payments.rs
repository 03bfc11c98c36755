//! Payments of appointments through the built-in provider (`routes::provider`).
//!
//! A payment is settled (marked paid and its appointment confirmed) by whichever arrives
//! first: the signed webhook, a verification, or the reconciler. [`settle`] is safe to run any
//! number of times and from all three at once: the appointment is confirmed exactly once.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use lifeline_types::payments::{
    InitializePaymentRequest, InitializePaymentResponse, PaymentRecord, PaymentStatus,
    PaymentsStatus, ProviderWebhookEvent, VerifyPaymentResponse, WebhookAck,
};
use lifeline_types::ErrorBody;
use rand::RngCore;
use sqlx::SqliteConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::idempotency::{self, IdempotencyKey};
use crate::routes::provider;
use crate::{AppError, AppResult, AppState};

/// Routes of the payments group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(initialize))
        .routes(routes!(verify))
        .routes(routes!(history))
        .routes(routes!(webhook))
}

/// Whether payments can be offered: `false` for both whenever the check itself fails.
#[utoipa::path(
    get,
    path = "/api/payments/status",
    tag = "payments",
    responses((status = 200, description = "Payment availability", body = PaymentsStatus))
)]
async fn status(State(state): State<AppState>) -> Json<PaymentsStatus> {
    let provider_reachable = provider::reachable(&state.db).await;
    Json(PaymentsStatus {
        payments_enabled: provider_reachable && !state.config.provider_secret.is_empty(),
        provider_reachable,
    })
}

/// Starts (or resumes) the payment of the caller's appointment awaiting payment. The amount is
/// the appointment's fee. An appointment has one payment: asking again returns the same
/// reference (200) until it is paid, then 409 `already_paid`. The same Idempotency-Key replays
/// the first answer; the payment and the key's outcome are written in one transaction.
#[utoipa::path(
    post,
    path = "/api/payments/initialize",
    tag = "payments",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Required")),
    request_body = InitializePaymentRequest,
    responses(
        (status = 201, description = "Payment created", body = InitializePaymentResponse),
        (status = 200, description = "The appointment's existing unpaid payment", body = InitializePaymentResponse),
        (status = 400, description = "Missing Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such appointment of the caller", body = ErrorBody),
        (status = 409, description = "`not_payable` or `already_paid`", body = ErrorBody),
        (status = 422, description = "Idempotency key reused with another body", body = ErrorBody)
    )
)]
async fn initialize(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Json(req): Json<InitializePaymentRequest>,
) -> AppResult<Response> {
    let fingerprint = ("POST", "/api/payments/initialize", &req);
    idempotency::run(&state, user.id, &key, true, &fingerprint, async |conn| {
        initialize_payment(&state, &user, req.appointment_id, conn).await
    })
    .await
}

/// The initialization's reads and writes, all on `conn`: the initialization's transaction.
async fn initialize_payment(
    state: &AppState,
    user: &AuthUser,
    appointment_id: Uuid,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, InitializePaymentResponse)> {
    let appointment: Option<(String, String, i64, String)> = sqlx::query_as(
        "SELECT user_id, status, fee_minor, currency FROM appointments WHERE id = ?",
    )
    .bind(appointment_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((owner, status, fee, currency)) = appointment else {
        return Err(AppError::not_found("appointment"));
    };
    if owner != user.id.to_string() {
        return Err(AppError::not_found("appointment"));
    }

    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT p.reference, t.access_code FROM payments p \
         JOIN provider_transactions t ON t.reference = p.reference WHERE p.appointment_id = ?",
    )
    .bind(appointment_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((reference, access_code)) = existing {
        // The provider may already hold a success the API has not heard of yet.
        let paid = matches!(
            provider::transaction(&mut *conn, &reference).await?,
            Some(tx) if tx.status == PaymentStatus::Success
        );
        if paid {
            settle_on(conn, &reference).await?;
            return Err(
                AppError::conflict("already_paid", "this appointment is already paid")
                    .with_details(serde_json::json!({ "reference": reference })),
            );
        }
        if status == "pending_payment" {
            return Ok((
                StatusCode::OK,
                checkout(state, reference, access_code, fee, currency, appointment_id),
            ));
        }
    }
    if status != "pending_payment" || fee <= 0 {
        return Err(AppError::conflict(
            "not_payable",
            format!("this appointment is {status} and awaits no payment"),
        ));
    }

    let reference = format!("LL-{}", Uuid::new_v4().simple());
    let access_code = random_hex(12);
    provider::open_transaction(
        &mut *conn,
        &reference,
        &access_code,
        fee,
        &currency,
        &user.email,
    )
    .await?;
    // No concurrent initialize can have added a payment since `existing` was read: this
    // transaction has held the write lock from its start (the unique key on the appointment
    // stays the last word).
    sqlx::query(
        "INSERT INTO payments (reference, user_id, appointment_id, amount_minor, currency, status, \
         created_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
    )
    .bind(&reference)
    .bind(user.id.to_string())
    .bind(appointment_id.to_string())
    .bind(fee)
    .bind(&currency)
    .bind(crate::db::ts(crate::db::now()))
    .execute(&mut *conn)
    .await?;
    tracing::info!(reference, %appointment_id, amount = fee, "payment initialized");
    Ok((
        StatusCode::CREATED,
        checkout(state, reference, access_code, fee, currency, appointment_id),
    ))
}

fn checkout(
    state: &AppState,
    reference: String,
    access_code: String,
    amount: i64,
    currency: String,
    appointment_id: Uuid,
) -> InitializePaymentResponse {
    InitializePaymentResponse {
        authorization_url: format!(
            "{}/provider/checkout/{reference}",
            state.config.public_url.trim_end_matches('/')
        ),
        reference,
        access_code,
        amount,
        currency,
        appointment_id,
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Asks the provider whether the payment succeeded; on success settles it (confirming the
/// appointment exactly once, however often this is called).
#[utoipa::path(
    post,
    path = "/api/payments/verify/{reference}",
    tag = "payments",
    security(("bearer" = [])),
    params(("reference" = String, Path, description = "Payment reference")),
    responses(
        (status = 200, description = "The payment's and the appointment's state", body = VerifyPaymentResponse),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such payment of the caller", body = ErrorBody)
    )
)]
async fn verify(
    State(state): State<AppState>,
    user: AuthUser,
    Path(reference): Path<String>,
) -> AppResult<Json<VerifyPaymentResponse>> {
    let owned: Option<String> =
        sqlx::query_scalar("SELECT user_id FROM payments WHERE reference = ?")
            .bind(&reference)
            .fetch_optional(&state.db)
            .await?;
    if owned.as_deref() != Some(user.id.to_string().as_str()) {
        return Err(AppError::not_found("payment"));
    }
    let tx = provider::transaction(&state.db, &reference)
        .await?
        .ok_or_else(|| AppError::not_found("payment"))?;
    match tx.status {
        PaymentStatus::Success => {
            settle(&state, &reference).await?;
        }
        PaymentStatus::Failed => {
            sqlx::query(
                "UPDATE payments SET status = 'failed' WHERE reference = ? AND status = 'pending'",
            )
            .bind(&reference)
            .execute(&state.db)
            .await?;
        }
        PaymentStatus::Pending => {}
    }
    let (appointment_id, appointment_status): (String, String) = sqlx::query_as(
        "SELECT a.id, a.status FROM payments p JOIN appointments a ON a.id = p.appointment_id \
         WHERE p.reference = ?",
    )
    .bind(&reference)
    .fetch_one(&state.db)
    .await?;
    Ok(Json(VerifyPaymentResponse {
        reference,
        status: tx.status,
        appointment_id: crate::db::uuid(&appointment_id),
        appointment_status,
    }))
}

/// reference, appointment, amount, currency, status, created, paid.
type HistoryRow = (String, String, i64, String, String, String, Option<String>);

/// The caller's payments, newest first.
#[utoipa::path(
    get,
    path = "/api/payments/history",
    tag = "payments",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Payments, newest first", body = Vec<PaymentRecord>),
        (status = 401, description = "Not signed in", body = ErrorBody)
    )
)]
async fn history(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<PaymentRecord>>> {
    let rows: Vec<HistoryRow> = sqlx::query_as(
        "SELECT reference, appointment_id, amount_minor, currency, status, created_at, paid_at \
             FROM payments WHERE user_id = ? ORDER BY created_at DESC, reference",
    )
    .bind(user.id.to_string())
    .fetch_all(&state.db)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(
                |(reference, appointment_id, amount, currency, status, created_at, paid_at)| {
                    PaymentRecord {
                        reference,
                        appointment_id: crate::db::uuid(&appointment_id),
                        amount,
                        currency,
                        status: PaymentStatus::parse(&status).unwrap_or(PaymentStatus::Pending),
                        created_at,
                        paid_at,
                    }
                },
            )
            .collect(),
    ))
}

/// The provider's notification of a successful charge. The body must be signed (hex
/// HMAC-SHA512 of the raw body in `x-provider-signature`); a bad signature changes nothing.
#[utoipa::path(
    post,
    path = "/api/payments/webhook",
    tag = "payments",
    params(("x-provider-signature" = String, Header, description = "Hex HMAC-SHA512 of the raw body")),
    request_body = ProviderWebhookEvent,
    responses(
        (status = 200, description = "Processed", body = WebhookAck),
        (status = 400, description = "Malformed event", body = ErrorBody),
        (status = 401, description = "Missing or wrong signature (`invalid_signature`)", body = ErrorBody),
        (status = 404, description = "Unknown reference", body = ErrorBody)
    )
)]
async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Json<WebhookAck>> {
    let signature = headers
        .get(provider::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !provider::signature_matches(&state.config.provider_secret, &body, signature) {
        tracing::warn!("webhook with a missing or wrong signature rejected");
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "webhook signature does not match",
        ));
    }
    let event: ProviderWebhookEvent = serde_json::from_slice(&body)
        .map_err(|e| AppError::bad_request(format!("malformed webhook event: {e}")))?;
    if event.event != "charge.success" {
        return Ok(Json(WebhookAck { received: true }));
    }
    let known: Option<String> =
        sqlx::query_scalar("SELECT reference FROM payments WHERE reference = ?")
            .bind(&event.data.reference)
            .fetch_optional(&state.db)
            .await?;
    if known.is_none() {
        return Err(AppError::not_found("payment"));
    }
    // The signature proves the sender; the provider's ledger is still the authority on the
    // charge, so a replayed or stale event cannot mark an unpaid payment paid.
    let charged = matches!(
        provider::transaction(&state.db, &event.data.reference).await?,
        Some(tx) if tx.status == PaymentStatus::Success
    );
    if charged {
        settle(&state, &event.data.reference).await?;
    }
    Ok(Json(WebhookAck { received: true }))
}

/// Marks a payment the provider reports successful as paid and confirms its appointment.
/// Returns whether this call confirmed the appointment; `false` when it already was confirmed
/// (or is no longer awaiting payment). Safe to call concurrently and repeatedly.
///
/// # Errors
/// Database failures; the payment is then settled by a later call (the reconciler's).
pub async fn settle(state: &AppState, reference: &str) -> AppResult<bool> {
    settle_on(&mut *state.db.acquire().await?, reference).await
}

/// [`settle`] on `conn`: a connection of the pool, or a transaction's.
async fn settle_on(conn: &mut SqliteConnection, reference: &str) -> AppResult<bool> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT p.appointment_id, t.paid_at FROM payments p \
         JOIN provider_transactions t ON t.reference = p.reference \
         WHERE p.reference = ? AND t.status = 'success'",
    )
    .bind(reference)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((appointment_id, paid_at)) = row else {
        return Ok(false);
    };
    let now = crate::db::ts(crate::db::now());
    sqlx::query(
        "UPDATE payments SET status = 'success', paid_at = COALESCE(paid_at, ?) \
         WHERE reference = ? AND status <> 'success'",
    )
    .bind(paid_at.as_deref().unwrap_or(&now))
    .bind(reference)
    .execute(&mut *conn)
    .await?;
    let confirmed =
        crate::routes::appointments::confirm_paid(&mut *conn, crate::db::uuid(&appointment_id))
            .await?;
    if confirmed {
        sqlx::query(
            "UPDATE payments SET confirmations = confirmations + 1, confirmed_at = ? \
             WHERE reference = ?",
        )
        .bind(&now)
        .bind(reference)
        .execute(&mut *conn)
        .await?;
        tracing::info!(
            reference,
            appointment_id,
            "payment settled, appointment confirmed"
        );
    }
    Ok(confirmed)
}
