//! Women's health tracking sync: kick sessions, cycles and contractions.
//!
//! Clients create items offline with their own UUIDs and upload batches. For each item the
//! larger `updated_at` wins; on a tie the server keeps its copy, so a replayed upload never
//! flips state. Deletions are tombstones (`deleted: true`, `data: null`) that stay, so every
//! device learns of them. Each change takes the next value of a server-wide counter as its
//! `cursor`; `GET ?since=<cursor>` returns every change after it, in cursor order.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use lifeline_types::tracking::{
    ContractionData, CycleData, KickSessionData, TrackingBatch, TrackingItem, TrackingItemInput,
    TrackingItemResult, TrackingKind, TrackingPage, TrackingSyncResult,
};
use lifeline_types::ErrorBody;
use serde::Deserialize;
use sqlx::SqliteConnection;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::idempotency::{self, IdempotencyKey};
use crate::{AppError, AppResult, AppState};

/// Most items one upload may carry.
pub const MAX_BATCH: usize = 500;
/// Items one read returns unless `limit` says fewer.
const DEFAULT_PAGE: i64 = 500;
/// Most items one read returns.
const MAX_PAGE: i64 = 1000;
/// How far ahead of the server's clock an `updated_at` may be (device clock skew).
const MAX_FUTURE: time::Duration = time::Duration::hours(24);

/// Routes of the health-tracking group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, upload))
}

/// `GET /api/health-tracking/{kind}` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SinceQuery {
    /// A `cursor` from an earlier answer (changes after it), or an RFC 3339 time (items
    /// updated after it). Absent: everything.
    pub since: Option<String>,
    /// Most items to return (default 500, at most 1000).
    pub limit: Option<i64>,
}

fn kind_of(text: &str) -> AppResult<TrackingKind> {
    TrackingKind::parse(text).ok_or_else(|| {
        AppError::not_found("tracking kind (use kick-sessions, cycles or contractions)")
    })
}

type ItemRow = (String, String, bool, Option<String>, i64);

fn item_from(row: ItemRow) -> TrackingItem {
    let (id, updated_at, deleted, data, cursor) = row;
    TrackingItem {
        id: crate::db::uuid(&id),
        updated_at,
        deleted,
        data: data
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(serde_json::Value::Null),
        cursor,
    }
}

/// Changes of this kind after `since`, oldest change first, tombstones included.
#[utoipa::path(
    get,
    path = "/api/health-tracking/{kind}",
    tag = "health-tracking",
    security(("bearer" = [])),
    params(("kind" = TrackingKind, Path, description = "kick-sessions, cycles or contractions"), SinceQuery),
    responses(
        (status = 200, description = "Changes and the next cursor", body = TrackingPage),
        (status = 400, description = "`since` is neither a cursor nor a time", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Unknown kind", body = ErrorBody)
    )
)]
async fn read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(kind): Path<String>,
    Query(query): Query<SinceQuery>,
) -> AppResult<Json<TrackingPage>> {
    let kind = kind_of(&kind)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let since = query
        .since
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let (after_cursor, after_ms) = match since {
        None => (0, None),
        Some(text) => match text.parse::<i64>() {
            Ok(cursor) => (cursor.max(0), None),
            Err(_) => {
                let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                    AppError::bad_request("since must be a cursor or an rfc 3339 time")
                })?;
                (0, Some(unix_ms(at)))
            }
        },
    };
    let user_id = user.id.to_string();
    let mut rows: Vec<ItemRow> = sqlx::query_as(
        "SELECT id, updated_at, deleted, data, cursor FROM tracking_items \
         WHERE user_id = ? AND kind = ? AND cursor > ? AND (? IS NULL OR updated_at_ms > ?) \
         ORDER BY cursor LIMIT ?",
    )
    .bind(&user_id)
    .bind(kind.as_str())
    .bind(after_cursor)
    .bind(after_ms)
    .bind(after_ms)
    .bind(limit + 1)
    .fetch_all(&state.db)
    .await?;
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let cursor = match rows.last() {
        Some(row) => row.4,
        None if after_ms.is_some() => max_cursor(&state, &user_id, kind).await?,
        None => after_cursor,
    };
    Ok(Json(TrackingPage {
        items: rows.into_iter().map(item_from).collect(),
        cursor,
        has_more,
    }))
}

async fn max_cursor(state: &AppState, user: &str, kind: TrackingKind) -> AppResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(cursor), 0) FROM tracking_items WHERE user_id = ? AND kind = ?",
    )
    .bind(user)
    .bind(kind.as_str())
    .fetch_one(&state.db)
    .await?)
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// An uploaded item after validation.
struct CheckedItem {
    id: String,
    updated_at: String,
    updated_at_ms: i64,
    deleted: bool,
    data: Option<String>,
}

fn invalid(index: usize, message: impl std::fmt::Display) -> AppError {
    AppError::validation(format!("item {index}: {message}"))
        .with_details(serde_json::json!({ "index": index }))
}

fn parse_time(index: usize, field: &str, text: &str) -> AppResult<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| invalid(index, format!("{field} is not an rfc 3339 time")))
}

fn parse_date(index: usize, field: &str, text: &str) -> AppResult<time::Date> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| invalid(index, format!("{field} is not a yyyy-mm-dd date")))
}

/// Validates one kind's `data` and returns it re-serialized (unknown fields are refused).
fn check_data(kind: TrackingKind, index: usize, data: &serde_json::Value) -> AppResult<String> {
    let parse_err = |e: serde_json::Error| invalid(index, format!("data: {e}"));
    let json = match kind {
        TrackingKind::KickSessions => {
            let d: KickSessionData = serde_json::from_value(data.clone()).map_err(parse_err)?;
            let started = parse_time(index, "started_at", &d.started_at)?;
            if let Some(ended) = &d.ended_at {
                if parse_time(index, "ended_at", ended)? < started {
                    return Err(invalid(index, "ended_at is before started_at"));
                }
            }
            if !(0..=10_000).contains(&d.kicks) {
                return Err(invalid(index, "kicks must be between 0 and 10000"));
            }
            if d.notes.as_ref().is_some_and(|n| n.chars().count() > 1000) {
                return Err(invalid(index, "notes are longer than 1000 characters"));
            }
            serde_json::to_string(&d)
        }
        TrackingKind::Cycles => {
            let d: CycleData = serde_json::from_value(data.clone()).map_err(parse_err)?;
            let start = parse_date(index, "start_date", &d.start_date)?;
            if let Some(end) = &d.end_date {
                if parse_date(index, "end_date", end)? < start {
                    return Err(invalid(index, "end_date is before start_date"));
                }
            }
            if let Some(flow) = &d.flow {
                if !["light", "medium", "heavy"].contains(&flow.as_str()) {
                    return Err(invalid(index, "flow must be light, medium or heavy"));
                }
            }
            if d.symptoms.len() > 30 || d.symptoms.iter().any(|s| s.chars().count() > 100) {
                return Err(invalid(
                    index,
                    "at most 30 symptoms of at most 100 characters",
                ));
            }
            serde_json::to_string(&d)
        }
        TrackingKind::Contractions => {
            let d: ContractionData = serde_json::from_value(data.clone()).map_err(parse_err)?;
            parse_time(index, "started_at", &d.started_at)?;
            if !(1..=600).contains(&d.duration_seconds) {
                return Err(invalid(index, "duration_seconds must be between 1 and 600"));
            }
            if d.intensity.is_some_and(|i| !(1..=10).contains(&i)) {
                return Err(invalid(index, "intensity must be between 1 and 10"));
            }
            serde_json::to_string(&d)
        }
    };
    json.map_err(AppError::internal)
}

fn check_batch(kind: TrackingKind, items: &[TrackingItemInput]) -> AppResult<Vec<CheckedItem>> {
    if items.len() > MAX_BATCH {
        return Err(AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a batch holds at most {MAX_BATCH} items; split it"),
        )
        .with_details(serde_json::json!({ "max_items": MAX_BATCH })));
    }
    let latest_allowed = crate::db::now() + MAX_FUTURE;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if !seen.insert(item.id) {
            return Err(invalid(index, "the same id appears twice in the batch"));
        }
        let updated =
            parse_time(index, "updated_at", &item.updated_at)?.to_offset(time::UtcOffset::UTC);
        if updated > latest_allowed {
            return Err(invalid(
                index,
                "updated_at is more than a day in the future",
            ));
        }
        let data = if item.deleted {
            None
        } else {
            Some(check_data(kind, index, &item.data)?)
        };
        out.push(CheckedItem {
            id: item.id.to_string(),
            updated_at: updated.format(&Rfc3339).map_err(AppError::internal)?,
            updated_at_ms: unix_ms(updated),
            deleted: item.deleted,
            data,
        });
    }
    Ok(out)
}

/// Upserts a batch: each item applies only when newer than the server's copy (ties keep the
/// server's). The whole batch is validated first, then applied in one transaction together
/// with the key's outcome; the same Idempotency-Key replays the first answer.
#[utoipa::path(
    post,
    path = "/api/health-tracking/{kind}",
    tag = "health-tracking",
    security(("bearer" = [])),
    params(
        ("kind" = TrackingKind, Path, description = "kick-sessions, cycles or contractions"),
        ("Idempotency-Key" = String, Header, description = "Required")
    ),
    request_body = TrackingBatch,
    responses(
        (status = 200, description = "Per-item outcome and the cursor", body = TrackingSyncResult),
        (status = 400, description = "Missing Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Unknown kind", body = ErrorBody),
        (status = 413, description = "`batch_too_large` (more than 500 items)", body = ErrorBody),
        (status = 422, description = "An invalid item (`details.index`)", body = ErrorBody)
    )
)]
async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Path(kind): Path<String>,
    Json(batch): Json<TrackingBatch>,
) -> AppResult<Response> {
    let kind = kind_of(&kind)?;
    let items = check_batch(kind, &batch.items)?;
    let path = format!("/api/health-tracking/{}", kind.as_str());
    let fingerprint = ("POST", path.as_str(), &batch);
    idempotency::run(&state, user.id, &key, true, &fingerprint, async |conn| {
        apply(&user, kind, items, conn).await
    })
    .await
}

/// Applies a checked batch on `conn`: the upload's transaction (`BEGIN IMMEDIATE`, so it holds
/// the write lock from its start and no read here has to upgrade to a write).
async fn apply(
    user: &AuthUser,
    kind: TrackingKind,
    items: Vec<CheckedItem>,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, TrackingSyncResult)> {
    let user_id = user.id.to_string();
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT updated_at_ms FROM tracking_items WHERE user_id = ? AND kind = ? AND id = ?",
        )
        .bind(&user_id)
        .bind(kind.as_str())
        .bind(&item.id)
        .fetch_optional(&mut *conn)
        .await?;
        let applied = existing.is_none_or(|server_ms| item.updated_at_ms > server_ms);
        if applied {
            let cursor: i64 = sqlx::query_scalar(
                "UPDATE sync_counter SET value = value + 1 WHERE name = 'tracking' RETURNING value",
            )
            .fetch_one(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO tracking_items (user_id, kind, id, updated_at, updated_at_ms, deleted, \
                 data, cursor) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (user_id, kind, id) DO UPDATE SET updated_at = excluded.updated_at, \
                 updated_at_ms = excluded.updated_at_ms, deleted = excluded.deleted, \
                 data = excluded.data, cursor = excluded.cursor",
            )
            .bind(&user_id)
            .bind(kind.as_str())
            .bind(&item.id)
            .bind(&item.updated_at)
            .bind(item.updated_at_ms)
            .bind(item.deleted)
            .bind(&item.data)
            .bind(cursor)
            .execute(&mut *conn)
            .await?;
        }
        let row: ItemRow = sqlx::query_as(
            "SELECT id, updated_at, deleted, data, cursor FROM tracking_items \
             WHERE user_id = ? AND kind = ? AND id = ?",
        )
        .bind(&user_id)
        .bind(kind.as_str())
        .bind(&item.id)
        .fetch_one(&mut *conn)
        .await?;
        let item = item_from(row);
        results.push(TrackingItemResult {
            id: item.id,
            applied,
            item,
        });
    }
    let cursor: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(cursor), 0) FROM tracking_items WHERE user_id = ? AND kind = ?",
    )
    .bind(&user_id)
    .bind(kind.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok((StatusCode::OK, TrackingSyncResult { results, cursor }))
}
