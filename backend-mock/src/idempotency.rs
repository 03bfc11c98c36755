//! Idempotency keys: a retried write replays the first outcome instead of acting twice.
//!
//! The `(user, key)` primary key of `idempotency_keys` is the claim. The first request to
//! insert the row runs the action; the outcome (2xx or 4xx) is stored with the row and replayed
//! to every later request with the same key and the same fingerprint, marked
//! `Idempotent-Replayed: true`. A 5xx outcome is not stored: the claim is released, so a retry
//! runs the action again. A duplicate arriving while the first still runs waits briefly for
//! its outcome, then gets 409 `idempotency_in_progress` with `Retry-After: 1`. Keys expire after
//! 24 hours; a claim whose request died without an outcome is taken over after 60 seconds.
//!
//! [`once`] commits the claim, the action's own writes and the outcome separately: a process
//! dying between the action and its outcome leaves the action's writes and a claim without an
//! outcome, so the retry that takes the claim over runs the action a second time. [`begin`] and
//! [`Pending::finish`] instead run the action inside the SQLite transaction (`BEGIN IMMEDIATE`)
//! that looks the key up and stores its outcome: the action's writes are committed together with
//! the key's outcome, or nothing is, and a retry runs the action afresh.

use std::future::Future;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Sqlite, SqliteConnection, SqliteExecutor, Transaction};
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
/// The claim, `f`'s writes and the outcome are separate commits: a write that must not outlive
/// a lost outcome uses [`begin`] instead.
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
    let Some(key) = key_or_refuse(key, required)? else {
        let (status, body) = f().await?;
        return Ok((status, Json(body)).into_response());
    };
    let fingerprint = fingerprint_of(fingerprint)?;
    let user_text = user.to_string();

    if let Some(replay) = claim_or_replay(state, &user_text, key, &fingerprint).await? {
        return Ok(replay);
    }

    // This request owns the claim: run the action and store its outcome.
    let settled = Settled::from(f().await)?;
    match &settled.outcome {
        Some((status, body)) => store(state, &user_text, key, *status, body).await?,
        None => release(state, &user_text, key).await,
    }
    settled.answer
}

/// What [`begin`] found under the key.
pub enum Begun {
    /// The key's stored outcome, to answer as it is (marked `Idempotent-Replayed: true`).
    Replay(Response),
    /// This request runs the action, in the transaction [`Pending`] holds.
    Run(Pending),
}

/// A write transaction (`BEGIN IMMEDIATE`) in which this request owns its idempotency key:
/// run the action on [`Pending::conn`], then [`Pending::finish`] with its result. Dropped
/// without `finish` (an error, a panic, a cancelled request), it rolls back: neither the
/// action's writes nor the key remain, and a retry runs the action afresh.
pub struct Pending {
    tx: Transaction<'static, Sqlite>,
    /// `(user, key, fingerprint, claimed at)`; `None` for a request without a key.
    key: Option<(String, String, String, time::OffsetDateTime)>,
}

/// Like [`once`], but the action runs in the same SQLite transaction that looks the key up and,
/// in [`Pending::finish`], stores its outcome: the action's writes and the key's outcome are
/// committed together or not at all, so no crash leaves the one without the other. Holding the
/// database's write lock from the start, it needs no separate claim: a duplicate waits for the
/// lock, then finds the outcome.
///
/// # Errors
/// As [`once`]: `idempotency_key_required`, `idempotency_key_reused`, `idempotency_in_progress`
/// (a claim of a request made through [`once`] with the same key still runs), database failures.
pub async fn begin(
    state: &AppState,
    user: Uuid,
    key: &IdempotencyKey,
    required: bool,
    fingerprint: &impl Serialize,
) -> AppResult<Begun> {
    let Some(key) = key_or_refuse(key, required)? else {
        let tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
        return Ok(Begun::Run(Pending { tx, key: None }));
    };
    let fingerprint = fingerprint_of(fingerprint)?;
    let user = user.to_string();
    let deadline = tokio::time::Instant::now() + WAIT_FOR_OUTCOME;
    loop {
        let mut tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
        let now = crate::db::now();
        let stored = read_key(&mut *tx, &user, key).await?;
        match stored
            .map(|row| judge(row, &fingerprint, now))
            .transpose()?
        {
            None | Some(Seen::Abandoned(_)) => {
                let key = Some((user, key.to_string(), fingerprint, now));
                return Ok(Begun::Run(Pending { tx, key }));
            }
            Some(Seen::Outcome(replay)) => {
                tx.rollback().await?;
                return Ok(Begun::Replay(replay));
            }
            Some(Seen::Running) => {
                // Not while holding the write lock the other request may need.
                tx.rollback().await?;
                wait_for_outcome(deadline).await?;
            }
        }
    }
}

impl Pending {
    /// The transaction's connection, for the action's queries.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Stores the action's outcome with the key and commits, or, for a 5xx or 429 error, rolls
    /// back (nothing is stored, so a retry runs again). Answers `result` as [`once`] does.
    ///
    /// # Errors
    /// `result`'s own error, and database failures (then nothing was committed).
    pub async fn finish<T: Serialize>(
        mut self,
        result: AppResult<(StatusCode, T)>,
    ) -> AppResult<Response> {
        let settled = Settled::from(result)?;
        let Some((status, body)) = &settled.outcome else {
            if let Err(err) = self.tx.rollback().await {
                tracing::warn!(error = %err, "could not roll back a failed write");
            }
            return settled.answer;
        };
        crash_point();
        if let Some((user, key, fingerprint, claimed_at)) = &self.key {
            sqlx::query(
                "INSERT INTO idempotency_keys \
                 (user_id, idem_key, fingerprint, status, body, created_at, expires_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, idem_key) DO UPDATE SET \
                 fingerprint = excluded.fingerprint, status = excluded.status, \
                 body = excluded.body, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at",
            )
            .bind(user)
            .bind(key)
            .bind(fingerprint)
            .bind(i64::from(status.as_u16()))
            .bind(body)
            .bind(crate::db::ts(*claimed_at))
            .bind(crate::db::ts(*claimed_at + KEY_TTL))
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        settled.answer
    }
}

/// An action's answer, and the outcome to store for it: its status and JSON body, or `None`
/// for a 5xx or 429 error, which is not stored so that a retry runs again.
struct Settled {
    outcome: Option<(StatusCode, String)>,
    answer: AppResult<Response>,
}

impl Settled {
    fn from<T: Serialize>(result: AppResult<(StatusCode, T)>) -> AppResult<Self> {
        match result {
            Ok((status, body)) => {
                let text = serde_json::to_string(&body).map_err(AppError::internal)?;
                Ok(Settled {
                    outcome: Some((status, text.clone())),
                    answer: Ok(json_response(status, text, false)),
                })
            }
            Err(err)
                if err.status.is_client_error() && err.status != StatusCode::TOO_MANY_REQUESTS =>
            {
                let text = serde_json::to_string(&err.body()).map_err(AppError::internal)?;
                Ok(Settled {
                    outcome: Some((err.status, text)),
                    answer: Err(err),
                })
            }
            Err(err) => Ok(Settled {
                outcome: None,
                answer: Err(err),
            }),
        }
    }
}

/// The key, or `None` without one; 400 `idempotency_key_required` when `required` and absent.
fn key_or_refuse(key: &IdempotencyKey, required: bool) -> AppResult<Option<&str>> {
    match key.0.as_deref() {
        None if required => Err(AppError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "this request needs an Idempotency-Key header",
        )),
        key => Ok(key),
    }
}

/// What a stored key means for a new request.
enum Seen {
    /// Expired, or claimed by a request that died without an outcome: to be taken over. Holds
    /// the claim's `created_at`.
    Abandoned(String),
    /// The outcome to replay.
    Outcome(Response),
    /// Claimed by a request still running.
    Running,
}

/// Judges a stored key against this request's fingerprint at `now`; 422
/// `idempotency_key_reused` for another request's key.
fn judge(stored: StoredKey, fingerprint: &str, now: time::OffsetDateTime) -> AppResult<Seen> {
    let (stored_fp, status, body, created_at, expires_at) = stored;
    let stale_claim = status.is_none() && created_at < crate::db::ts(now - STALE_CLAIM);
    if expires_at <= crate::db::ts(now) || stale_claim {
        return Ok(Seen::Abandoned(created_at));
    }
    if stored_fp != fingerprint {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this idempotency key was used for a different request",
        ));
    }
    Ok(match (status, body) {
        (Some(status), Some(body)) => {
            let status = u16::try_from(status)
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            Seen::Outcome(json_response(status, body, true))
        }
        _ => Seen::Running,
    })
}

/// Sleeps a little before looking at a running request's key again; 409
/// `idempotency_in_progress` once `deadline` has passed.
async fn wait_for_outcome(deadline: tokio::time::Instant) -> AppResult<()> {
    if tokio::time::Instant::now() >= deadline {
        return Err(AppError::conflict(
            "idempotency_in_progress",
            "a request with this idempotency key is still running",
        )
        .with_retry_after(1));
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(())
}

async fn read_key<'c>(
    db: impl SqliteExecutor<'c>,
    user: &str,
    key: &str,
) -> AppResult<Option<StoredKey>> {
    Ok(sqlx::query_as(
        "SELECT fingerprint, status, body, created_at, expires_at FROM idempotency_keys \
         WHERE user_id = ? AND idem_key = ?",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(db)
    .await?)
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
        let stored = read_key(&state.db, user, key).await?;
        let Some(stored) = stored else {
            // Released between our insert and our read: try to claim again.
            continue;
        };
        match judge(stored, fingerprint, now)? {
            Seen::Abandoned(created_at) => {
                // Exactly one taker wins the update.
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET fingerprint = ?, status = NULL, body = NULL, \
                     created_at = ?, expires_at = ? \
                     WHERE user_id = ? AND idem_key = ? AND created_at = ?",
                )
                .bind(fingerprint)
                .bind(crate::db::ts(now))
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
            }
            Seen::Outcome(replay) => return Ok(Some(replay)),
            Seen::Running => wait_for_outcome(deadline).await?,
        }
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

#[cfg(test)]
tokio::task_local! {
    /// Set around a request in a test: the request panics after its action ran and before its
    /// outcome is stored, as if the process died there.
    pub(crate) static CRASH_BEFORE_OUTCOME: ();
}

/// Where a test simulates a crash between an action and its stored outcome.
#[cfg(test)]
fn crash_point() {
    if CRASH_BEFORE_OUTCOME.try_with(|()| ()).is_ok() {
        panic!("simulated crash between the action and its stored outcome");
    }
}

#[cfg(not(test))]
fn crash_point() {}

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
