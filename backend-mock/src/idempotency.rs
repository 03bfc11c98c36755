//! Idempotency keys: a retried write replays the first outcome instead of acting twice.
//!
//! A write runs through [`begin`] and [`Pending::finish`], inside one SQLite transaction
//! (`BEGIN IMMEDIATE`, so it holds the database's write lock from its start): `begin` looks the
//! `(user, key)` row of `idempotency_keys` up, the action runs on [`Pending::conn`], and
//! `finish` stores the outcome (2xx or 4xx) with the key and commits. The action's writes and
//! the key's outcome are committed together or not at all: a process dying before the commit
//! leaves neither, and the retry runs the action afresh, once.
//!
//! - A later request with the same key and the same fingerprint gets the stored outcome,
//!   marked `Idempotent-Replayed: true`, and the action does not run again.
//! - A 5xx or 429 outcome is not stored: the transaction rolls back, so a retry runs again.
//! - The same key with another fingerprint is 422 `idempotency_key_reused`; a write that needs
//!   a key and has none is 400 `idempotency_key_required`.
//! - Keys expire after 24 hours; an expired key runs the action again.
//! - A duplicate arriving while the first request still runs waits for the write lock (for up
//!   to the database's busy timeout), so it looks the key up once the first has committed and
//!   replays its outcome, or runs the action itself if the first rolled back.
//!
//! A row without an outcome is a claim left by an older server, which committed the claim, the
//! action and the outcome separately; no running request writes one any more, so it is taken
//! over like an expired key.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// `(user, key, fingerprint, looked up at)`; `None` for a request without a key.
    key: Option<(String, String, String, time::OffsetDateTime)>,
}

/// Looks the key up in a new write transaction (`BEGIN IMMEDIATE`): [`Begun::Replay`] with its
/// stored outcome, or [`Begun::Run`] with the transaction, in which the action then runs and
/// [`Pending::finish`] stores its outcome, so that both are committed together or not at all.
/// Holding the database's write lock from the start, it needs no separate claim: a duplicate
/// waits for the lock, then finds the outcome.
///
/// `fingerprint` identifies the request: pass the method, path and body, e.g.
/// `&("POST", "/api/appointments", &body)`. With `required` and no key, the answer is 400
/// `idempotency_key_required`; without `required` and no key, the action simply runs (in a
/// transaction all the same) and nothing is stored.
///
/// # Errors
/// `idempotency_key_required`, `idempotency_key_reused` (the key of another request), and
/// database failures.
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
    let mut tx = state.db.begin_with("BEGIN IMMEDIATE").await?;
    let now = crate::db::now();
    if let Some(stored) = read_key(&mut *tx, &user, key).await? {
        if let Some(replay) = judge(stored, &fingerprint, now)? {
            tx.rollback().await?;
            return Ok(Begun::Replay(replay));
        }
    }
    let key = Some((user, key.to_string(), fingerprint, now));
    Ok(Begun::Run(Pending { tx, key }))
}

/// Runs `action` at most once per `(user, key)` through [`begin`] and [`Pending::finish`]: on
/// the connection of the transaction that looks the key up and stores the outcome, or answers
/// the key's stored outcome without running it. The arguments are [`begin`]'s.
///
/// # Errors
/// As [`begin`], `action`'s own error (stored when it is a 4xx other than 429), and database
/// failures.
pub async fn run<T: Serialize>(
    state: &AppState,
    user: Uuid,
    key: &IdempotencyKey,
    required: bool,
    fingerprint: &impl Serialize,
    action: impl AsyncFnOnce(&mut SqliteConnection) -> AppResult<(StatusCode, T)>,
) -> AppResult<Response> {
    let mut pending = match begin(state, user, key, required, fingerprint).await? {
        Begun::Replay(answer) => return Ok(answer),
        Begun::Run(pending) => pending,
    };
    let result = action(pending.conn()).await;
    pending.finish(result).await
}

impl Pending {
    /// The transaction's connection, for the action's queries.
    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }

    /// Stores the action's outcome with the key and commits, or, for a 5xx or 429 error, rolls
    /// back (nothing is stored, so a retry runs again). Answers `result`: its status and JSON
    /// body, or its error.
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
        if let Some((user, key, fingerprint, began_at)) = &self.key {
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
            .bind(crate::db::ts(*began_at))
            .bind(crate::db::ts(*began_at + KEY_TTL))
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

/// Judges a stored key against this request's fingerprint at `now`: `Some` outcome to replay,
/// `None` when the key is to be taken over (expired, or a claim without an outcome left by an
/// older server), or 422 `idempotency_key_reused` for another request's key.
fn judge(
    stored: StoredKey,
    fingerprint: &str,
    now: time::OffsetDateTime,
) -> AppResult<Option<Response>> {
    let (stored_fp, status, body, expires_at) = stored;
    let (Some(status), Some(body)) = (status, body) else {
        return Ok(None);
    };
    if expires_at <= crate::db::ts(now) {
        return Ok(None);
    }
    if stored_fp != fingerprint {
        return Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this idempotency key was used for a different request",
        ));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    Ok(Some(json_response(status, body, true)))
}

async fn read_key<'c>(
    db: impl SqliteExecutor<'c>,
    user: &str,
    key: &str,
) -> AppResult<Option<StoredKey>> {
    Ok(sqlx::query_as(
        "SELECT fingerprint, status, body, expires_at FROM idempotency_keys \
         WHERE user_id = ? AND idem_key = ?",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(db)
    .await?)
}

/// A stored key: fingerprint, status and body (NULL in a claim left by an older server), expiry.
type StoredKey = (String, Option<i64>, Option<String>, String);

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

/// What the routes' crash tests share: requests to the app, their answers, and the crash.
#[cfg(test)]
pub(crate) mod crash_tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::Router;
    use serde_json::{json, Value};
    use tower::ServiceExt;

    use super::CRASH_BEFORE_OUTCOME;
    use crate::AppState;

    /// A JSON `POST`, with a bearer token and an idempotency key when given.
    pub(crate) fn post(
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &Value,
    ) -> Request<Body> {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        if let Some(key) = key {
            req = req.header("idempotency-key", key);
        }
        req.body(Body::from(body.to_string())).unwrap()
    }

    /// Sends `request`; answers its status and JSON body (`null` when not JSON).
    async fn send(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
        let res = app.clone().oneshot(request).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The access token of a signed-in user.
    pub(crate) async fn login(app: &Router, email: &str, password: &str) -> String {
        let credentials = json!({"email": email, "password": password});
        let (_, login) = send(app, post("/api/auth/login", None, None, &credentials)).await;
        login["access_token"].as_str().unwrap().to_string()
    }

    /// A count through `sql` with one bound value.
    pub(crate) async fn count(state: &AppState, sql: &str, bind: &str) -> i64 {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(&state.db)
            .await
            .unwrap()
    }

    /// Sends `request()` as a process that dies after the action ran and before its outcome is
    /// stored; then, late enough that a claim left without an outcome would be taken over, as
    /// the client's retry with the same key, which must answer 201, and once more, which must
    /// replay that answer. Returns the retry's body.
    pub(crate) async fn crash_and_retry(
        app: &Router,
        state: &AppState,
        request: impl Fn() -> Request<Body>,
    ) -> Value {
        let crashed = tokio::spawn(CRASH_BEFORE_OUTCOME.scope((), app.clone().oneshot(request())));
        assert!(crashed.await.unwrap_err().is_panic());
        sqlx::query("UPDATE idempotency_keys SET created_at = ?")
            .bind(crate::db::ts(crate::db::now() - time::Duration::minutes(2)))
            .execute(&state.db)
            .await
            .unwrap();

        let (status, first) = send(app, request()).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = send(app, request()).await;
        assert_eq!((status, &again), (StatusCode::CREATED, &first));
        first
    }
}
