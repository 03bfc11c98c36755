//! Medical records behind a one-time code.
//!
//! `request-otp` sends a 6-digit code to the user's mailbox (never in a response, never in a
//! log). Codes are stored as salted SHA-256 hashes, live 10 minutes and are single-use. Wrong
//! codes are counted per user across codes, so asking for a new code does not reset the count;
//! the 5th wrong code locks verification (and new codes) for 15 minutes. A right code yields a
//! `med_access_token` (30 minutes, stored hashed) that record reads need in
//! `X-Med-Access-Token` beside the bearer token.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use lifeline_types::records::{
    Allergy, Condition, Immunization, LabResult, MailboxMessage, MedAccessToken, MedicalRecords,
    MedicalRecordsSummary, Medication, OtpRequested, VerifyOtpRequest, Vital,
};
use lifeline_types::ErrorBody;
use rand::{Rng, RngCore};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::db::{now, parse_ts, ts};
use crate::{AppError, AppResult, AppState};

/// The header carrying the medical-record access token.
pub const MED_ACCESS_HEADER: &str = "x-med-access-token";
/// How long a code is valid.
pub const OTP_TTL: time::Duration = time::Duration::minutes(10);
/// Wrong codes allowed before the lock.
pub const OTP_MAX_FAILURES: i64 = 5;
/// How long the lock lasts.
pub const OTP_LOCK: time::Duration = time::Duration::minutes(15);
/// How long a medical-record access token is valid, in seconds.
pub const MED_ACCESS_TTL_SECS: u64 = 1800;

/// Routes of the medical-records group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_otp))
        .routes(routes!(verify_otp))
        .routes(routes!(records))
        .routes(routes!(summary))
}

/// Dev-mode-only routes: the mailbox reader. Must be mounted only when `config.dev`.
pub fn dev_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(dev_mailbox))
}

fn hash_code(salt: &str, user: &str, code: &str) -> String {
    hex::encode(
        Sha256::new()
            .chain_update(salt.as_bytes())
            .chain_update(b":")
            .chain_update(user.as_bytes())
            .chain_update(b":")
            .chain_update(code.as_bytes())
            .finalize(),
    )
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Whole seconds from `now` until `until`, at least 1.
fn seconds_until(until: OffsetDateTime, now: OffsetDateTime) -> u64 {
    let secs = (until - now).whole_seconds();
    u64::try_from(secs).unwrap_or(0).max(1)
}

fn locked(until: OffsetDateTime, now: OffsetDateTime) -> AppError {
    let secs = seconds_until(until, now);
    AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "otp_locked",
        format!(
            "too many wrong codes; try again in {} minutes",
            secs.div_ceil(60)
        ),
    )
    .with_retry_after(secs)
    .with_details(serde_json::json!({ "locked_until": ts(until) }))
}

/// The lock end when the user's verification is locked now.
async fn active_lock(
    state: &AppState,
    user: &str,
    at: OffsetDateTime,
) -> AppResult<Option<OffsetDateTime>> {
    let until: Option<Option<String>> =
        sqlx::query_scalar("SELECT locked_until FROM otp_codes WHERE user_id = ?")
            .bind(user)
            .fetch_optional(&state.db)
            .await?;
    Ok(until
        .flatten()
        .and_then(|u| parse_ts(&u))
        .filter(|u| *u > at))
}

/// Sends a new one-time code to the caller's mailbox, replacing any earlier code.
#[utoipa::path(
    post,
    path = "/api/medical-records/request-otp",
    tag = "medical-records",
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Code sent to the mailbox", body = OtpRequested),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 429, description = "`otp_locked`, with Retry-After", body = ErrorBody)
    )
)]
async fn request_otp(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<(StatusCode, Json<OtpRequested>)> {
    let at = now();
    let user_id = user.id.to_string();
    if let Some(until) = active_lock(&state, &user_id, at).await? {
        return Err(locked(until, at));
    }
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
        .bind(&user_id)
        .fetch_optional(&state.db)
        .await?;
    let email = email.ok_or_else(|| AppError::unauthorized("account no longer exists"))?;

    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    let salt = random_hex(16);
    // A lock that has run out is cleared together with its failure count.
    sqlx::query(
        "INSERT INTO otp_codes (user_id, code_hash, salt, expires_at, failed_attempts, \
         locked_until, created_at) VALUES (?, ?, ?, ?, 0, NULL, ?) \
         ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, \
         salt = excluded.salt, expires_at = excluded.expires_at, created_at = excluded.created_at, \
         failed_attempts = CASE WHEN otp_codes.locked_until IS NOT NULL THEN 0 \
                                ELSE otp_codes.failed_attempts END, \
         locked_until = NULL",
    )
    .bind(&user_id)
    .bind(hash_code(&salt, &user_id, &code))
    .bind(&salt)
    .bind(ts(at + OTP_TTL))
    .bind(ts(at))
    .execute(&state.db)
    .await?;
    crate::mailbox::send(
        &state.db,
        &email,
        "Your Lifeline medical records code",
        &format!(
            "Your code to open your medical records is {code}. It expires in 10 minutes. \
             If you did not ask for it, you can ignore this message."
        ),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(OtpRequested {
            sent_to: crate::mailbox::mask_email(&email),
            expires_in: OTP_TTL.whole_seconds().unsigned_abs(),
        }),
    ))
}

/// code hash, salt, expiry, lock end.
type OtpRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Exchanges the mailed code for a medical-record access token.
#[utoipa::path(
    post,
    path = "/api/medical-records/verify-otp",
    tag = "medical-records",
    security(("bearer" = [])),
    request_body = VerifyOtpRequest,
    responses(
        (status = 200, description = "Access token for `X-Med-Access-Token`", body = MedAccessToken),
        (status = 401, description = "`otp_invalid` (with `details.attempts_remaining`), `otp_expired` or `otp_not_requested`", body = ErrorBody),
        (status = 429, description = "`otp_locked`, with Retry-After", body = ErrorBody)
    )
)]
async fn verify_otp(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<VerifyOtpRequest>,
) -> AppResult<Json<MedAccessToken>> {
    let at = now();
    let user_id = user.id.to_string();
    let row: Option<OtpRow> = sqlx::query_as(
        "SELECT code_hash, salt, expires_at, locked_until FROM otp_codes WHERE user_id = ?",
    )
    .bind(&user_id)
    .fetch_optional(&state.db)
    .await?;
    let Some((code_hash, salt, expires_at, locked_until)) = row else {
        return Err(not_requested());
    };
    if let Some(until) = locked_until
        .as_deref()
        .and_then(parse_ts)
        .filter(|u| *u > at)
    {
        return Err(locked(until, at));
    }
    let (Some(code_hash), Some(salt), Some(expires_at)) = (code_hash, salt, expires_at) else {
        return Err(not_requested());
    };
    if parse_ts(&expires_at).is_none_or(|e| e <= at) {
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "otp_expired",
            "this code has expired; request a new one",
        ));
    }
    let code = req.code.trim();
    if hash_code(&salt, &user_id, code) != code_hash {
        let failures: i64 = sqlx::query_scalar(
            "UPDATE otp_codes SET failed_attempts = failed_attempts + 1 WHERE user_id = ? \
             RETURNING failed_attempts",
        )
        .bind(&user_id)
        .fetch_one(&state.db)
        .await?;
        if failures >= OTP_MAX_FAILURES {
            let until = at + OTP_LOCK;
            sqlx::query(
                "UPDATE otp_codes SET locked_until = ?, code_hash = NULL WHERE user_id = ?",
            )
            .bind(ts(until))
            .bind(&user_id)
            .execute(&state.db)
            .await?;
            tracing::warn!(user = %user.id, "medical records verification locked after wrong codes");
            return Err(locked(until, at));
        }
        let remaining = OTP_MAX_FAILURES - failures;
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "otp_invalid",
            format!("wrong code; {remaining} attempts remaining"),
        )
        .with_details(serde_json::json!({ "attempts_remaining": remaining })));
    }
    // Single use: exactly one request consumes the code.
    let consumed = sqlx::query(
        "UPDATE otp_codes SET code_hash = NULL, failed_attempts = 0, locked_until = NULL \
         WHERE user_id = ? AND code_hash = ?",
    )
    .bind(&user_id)
    .bind(&code_hash)
    .execute(&state.db)
    .await?
    .rows_affected()
        == 1;
    if !consumed {
        return Err(not_requested());
    }
    let token = random_hex(32);
    sqlx::query(
        "INSERT INTO med_access_tokens (token_hash, user_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?)",
    )
    .bind(hash_token(&token))
    .bind(&user_id)
    .bind(ts(at))
    .bind(ts(at + time::Duration::seconds(MED_ACCESS_TTL_SECS as i64)))
    .execute(&state.db)
    .await?;
    Ok(Json(MedAccessToken {
        med_access_token: token,
        expires_in: MED_ACCESS_TTL_SECS,
    }))
}

fn not_requested() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "otp_not_requested",
        "no code is waiting; request one first",
    )
}

/// 403 unless `X-Med-Access-Token` holds a live token of this user.
async fn require_med_access(
    state: &AppState,
    user: &AuthUser,
    headers: &HeaderMap,
) -> AppResult<()> {
    let Some(token) = headers
        .get(MED_ACCESS_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "med_access_required",
            "medical records need an X-Med-Access-Token from verify-otp",
        ));
    };
    let expires_at: Option<String> = sqlx::query_scalar(
        "SELECT expires_at FROM med_access_tokens WHERE token_hash = ? AND user_id = ?",
    )
    .bind(hash_token(token))
    .bind(user.id.to_string())
    .fetch_optional(&state.db)
    .await?;
    match expires_at {
        None => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "med_access_invalid",
            "the medical-records access token is not valid",
        )),
        Some(e) if parse_ts(&e).is_none_or(|e| e <= now()) => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "med_access_expired",
            "the medical-records access token has expired; verify a new code",
        )),
        Some(_) => Ok(()),
    }
}

async fn entries<T: DeserializeOwned>(
    state: &AppState,
    user: &str,
    category: &str,
) -> AppResult<Vec<T>> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT data FROM medical_record_entries WHERE user_id = ? AND category = ? \
         ORDER BY recorded_at DESC, id",
    )
    .bind(user)
    .bind(category)
    .fetch_all(&state.db)
    .await?;
    rows.iter()
        .map(|d| serde_json::from_str(d).map_err(AppError::internal))
        .collect()
}

async fn load_records(state: &AppState, user: &AuthUser) -> AppResult<MedicalRecords> {
    let id = user.id.to_string();
    Ok(MedicalRecords {
        conditions: entries::<Condition>(state, &id, "condition").await?,
        medications: entries::<Medication>(state, &id, "medication").await?,
        allergies: entries::<Allergy>(state, &id, "allergy").await?,
        vitals: entries::<Vital>(state, &id, "vital").await?,
        lab_results: entries::<LabResult>(state, &id, "lab_result").await?,
        immunizations: entries::<Immunization>(state, &id, "immunization").await?,
    })
}

/// The caller's medical records, newest entries first.
#[utoipa::path(
    get,
    path = "/api/medical-records",
    tag = "medical-records",
    security(("bearer" = [])),
    params(("X-Med-Access-Token" = String, Header, description = "Token from verify-otp")),
    responses(
        (status = 200, description = "The records", body = MedicalRecords),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`med_access_required`, `med_access_invalid` or `med_access_expired`", body = ErrorBody)
    )
)]
async fn records(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> AppResult<Json<MedicalRecords>> {
    require_med_access(&state, &user, &headers).await?;
    Ok(Json(load_records(&state, &user).await?))
}

/// Counts and the latest reading of each vital sign.
#[utoipa::path(
    get,
    path = "/api/medical-records/summary",
    tag = "medical-records",
    security(("bearer" = [])),
    params(("X-Med-Access-Token" = String, Header, description = "Token from verify-otp")),
    responses(
        (status = 200, description = "The summary", body = MedicalRecordsSummary),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "`med_access_required`, `med_access_invalid` or `med_access_expired`", body = ErrorBody)
    )
)]
async fn summary(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> AppResult<Json<MedicalRecordsSummary>> {
    require_med_access(&state, &user, &headers).await?;
    let r = load_records(&state, &user).await?;
    let count = |n: usize| n as u64;
    let mut latest_vitals: Vec<Vital> = Vec::new();
    // `vitals` is newest first, so the first of each kind is its latest.
    for v in &r.vitals {
        if !latest_vitals.iter().any(|l| l.kind == v.kind) {
            latest_vitals.push(v.clone());
        }
    }
    Ok(Json(MedicalRecordsSummary {
        active_conditions: count(r.conditions.iter().filter(|c| c.status == "active").count()),
        active_medications: count(r.medications.iter().filter(|m| m.active).count()),
        allergies: count(r.allergies.len()),
        lab_results: count(r.lab_results.len()),
        abnormal_lab_results: count(r.lab_results.iter().filter(|l| l.flag != "normal").count()),
        immunizations: count(r.immunizations.len()),
        latest_vitals,
    }))
}

/// `GET /__dev/mailbox` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MailboxQuery {
    pub email: String,
}

/// Dev mode only: the messages sent to an address, latest first.
#[utoipa::path(
    get,
    path = "/__dev/mailbox",
    tag = "dev",
    params(MailboxQuery),
    responses((status = 200, description = "Messages, latest first", body = Vec<MailboxMessage>))
)]
async fn dev_mailbox(
    State(state): State<AppState>,
    Query(query): Query<MailboxQuery>,
) -> AppResult<Json<Vec<MailboxMessage>>> {
    Ok(Json(
        crate::mailbox::messages(&state.db, &query.email).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hashes_depend_on_salt_user_and_code() {
        let base = hash_code("s", "u", "123456");
        assert_eq!(base.len(), 64);
        assert_ne!(base, hash_code("t", "u", "123456"));
        assert_ne!(base, hash_code("s", "v", "123456"));
        assert_ne!(base, hash_code("s", "u", "123457"));
    }
}
