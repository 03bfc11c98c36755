//! Idempotency keys: a retried write replays the first outcome instead of acting twice.
//!
//! The `(user, key)` primary key of `idempotency_keys` is the claim. The first request to
//! insert the row runs the action; the outcome (2xx or 4xx) is stored with the row and replayed
//! to every later request with the same key and the same fingerprint, marked
//! `Idempotent-Replayed: true`. A 5xx outcome is not stored: the claim is released, so a retry
//! runs the action again. A duplicate arriving while the first still runs waits briefly for
//! its outcome, then gets 409 `idempotency_in_progress` with `Retry-After: 1`. Keys expire after
//! 24 hours; a claim whose request died without an outcome is taken over after 60 seconds.

use std::future::Future;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{AppError, AppResult, AppState};

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";
/// The response header set on a replayed outcome.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a stored outcome is replayed.
pub const KEY_TTL: time::Duration = time::Duration::hours(24);
/// After this long without an outcome, a claim is considered abandoned and taken over.
const STALE_CLAIM: time::Duration = time::Duration::seconds(60);
/// How long a duplicate waits for the first request's outcome before answering 409.
const WAIT_FOR_OUTCOME: Duration = Duration::from_secs(3);

/// The `Idempotency-Key` header: `None` when absent. 400 when present but empty, longer than
/// 255 characters or not visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> AppResult<Self> {
        let Some(value) = parts.headers.get(HEADER) else {
            return Ok(IdempotencyKey(None));
        };
        let key = value
            .to_str()
            .map_err(|_| AppError::bad_request("idempotency key must be visible ascii"))?
            .trim();
        if key.is_empty() {
            return Err(AppError::bad_request("idempotency key is empty"));
        }
        if key.len() > 255 {
            return Err(AppError::bad_request(
                "idempotency key is longer than 255 characters",
            ));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// Runs `f` at most once per `(user, key)`, replaying its stored outcome on repeats.
///
/// `fingerprint` identifies the request: pass the method, path and body, e.g.
/// `&("POST", "/api/appointments", &body)`; the same key with another fingerprint is 422
/// `idempotency_key_reused`. With `required` and no key, the answer is 400
/// `idempotency_key_required`; without `required` and no key, `f` simply runs.
///
/// # Errors
/// The errors above, `f`'s own error (stored when it is a 4xx), and database failures.
pub async fn once<T, F, Fut>(
    state: &AppState,
    user: Uuid,
    key: &IdempotencyKey,
    required: bool,
    fingerprint: &impl Serialize,
    f: F,
) -> AppResult<Response>
where
    T: Serialize,
    F: FnOnce() -> Fut,
    Fut: Future<Output = AppResult<(StatusCode, T)>>,
{
    let Some(key) = key.0.as_deref() else {
        if required {
            return Err(AppError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "this request needs an Idempotency-Key header",
            ));
        }
        let (status, body) = f().await?;
        return Ok((status, Json(body)).into_response());
    };
    let fingerprint = fingerprint_of(fingerprint)?;
    let user_text = user.to_string();

    if let Some(replay) = claim_or_replay(state, &user_text, key, &fingerprint).await? {
        return Ok(replay);
    }

    // This request owns the claim: run the action and store its outcome.
    match f().await {
        Ok((status, body)) => {
            let text = serde_json::to_string(&body).map_err(AppError::internal)?;
            store(state, &user_text, key, status, &text).await?;
            Ok(json_response(status, text, false))
        }
        Err(err) if err.status.is_client_error() && err.status != StatusCode::TOO_MANY_REQUESTS => {
            let text = serde_json::to_string(&err.body()).map_err(AppError::internal)?;
            store(state, &user_text, key, err.status, &text).await?;
            Err(err)
        }
        Err(err) => {
            release(state, &user_text, key).await;
            Err(err)
        }
    }
}

/// `Ok(None)` when this request now owns the claim; `Ok(Some(response))` with the stored
/// outcome to replay; `Err` for reuse, in-progress and database errors.
async fn claim_or_replay(
    state: &AppState,
    user: &str,
    key: &str,
    fingerprint: &str,
) -> AppResult<Option<Response>> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OUTCOME;
    loop {
        let now = crate::db::now();
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, idem_key) DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(fingerprint)
        .bind(crate::db::ts(now))
        .bind(crate::db::ts(now + KEY_TTL))
        .execute(&state.db)
        .await?
        .rows_affected()
            == 1;
        if claimed {
            return Ok(None);
        }
        let row: Option<StoredKey> = sqlx::query_as(
            "SELECT fingerprint, status, body, created_at, expires_at FROM idempotency_keys \
             WHERE user_id = ? AND idem_key = ?",
        )
        .bind(user)
        .bind(key)
        .fetch_optional(&state.db)
        .await?;
        let Some((stored_fp, status, body, created_at, expires_at)) = row else {
            // Released between our insert and our read: try to claim again.
            continue;
        };
        let now_text = crate::db::ts(now);
        let stale_claim = status.is_none() && created_at < crate::db::ts(now - STALE_CLAIM);
        if expires_at <= now_text || stale_claim {
            // Expired or abandoned: take it over, exactly one taker wins the update.
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET fingerprint = ?, status = NULL, body = NULL, \
                 created_at = ?, expires_at = ? \
                 WHERE user_id = ? AND idem_key = ? AND created_at = ?",
            )
            .bind(fingerprint)
            .bind(&now_text)
            .bind(crate::db::ts(now + KEY_TTL))
            .bind(user)
            .bind(key)
            .bind(&created_at)
            .execute(&state.db)
            .await?
            .rows_affected()
                == 1;
            if taken {
                return Ok(None);
            }
            continue;
        }
        if stored_fp != fingerprint {
            return Err(AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this idempotency key was used for a different request",
            ));
        }
        if let (Some(status), Some(body)) = (status, body) {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            return Ok(Some(json_response(status, body, true)));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(AppError::conflict(
                "idempotency_in_progress",
                "a request with this idempotency key is still running",
            )
            .with_retry_after(1));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stored key: fingerprint, status and body (NULL while running), created and expiry times.
type StoredKey = (String, Option<i64>, Option<String>, String, String);

async fn store(
    state: &AppState,
    user: &str,
    key: &str,
    status: StatusCode,
    body: &str,
) -> AppResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = ?, body = ? WHERE user_id = ? AND idem_key = ?",
    )
    .bind(i64::from(status.as_u16()))
    .bind(body)
    .bind(user)
    .bind(key)
    .execute(&state.db)
    .await?;
    Ok(())
}

async fn release(state: &AppState, user: &str, key: &str) {
    let result = sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND idem_key = ? AND status IS NULL",
    )
    .bind(user)
    .bind(key)
    .execute(&state.db)
    .await;
    if let Err(err) = result {
        // The claim then expires as stale and a retry takes it over.
        tracing::warn!(error = %err, "could not release an idempotency claim");
    }
}

fn fingerprint_of(value: &impl Serialize) -> AppResult<String> {
    let bytes = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        res.headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    res
}

/// Deletes expired keys; returns how many.
///
/// # Errors
/// Database failures.
pub async fn purge_expired(state: &AppState) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= ?")
        .bind(crate::db::ts(crate::db::now()))
        .execute(&state.db)
        .await?;
    Ok(done.rows_affected())
}
