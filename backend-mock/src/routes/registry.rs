//! The professional registry: public search, licence verification (what a hospital asks
//! before letting a professional practise) and statistics. No sign-in needed, as in the
//! registry it models.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use lifeline_types::registry::{LicenseVerification, RegistryEntry, RegistryStatistics};
use lifeline_types::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppError, AppResult, AppState};

/// Most entries one search returns.
const SEARCH_LIMIT: i64 = 50;

/// Routes of the registry group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(verify))
        .routes(routes!(statistics))
}

/// `GET /api/registry/search` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find in the name, licence number, profession, specialty or region.
    pub q: Option<String>,
}

type EntryRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

const ENTRY_COLUMNS: &str =
    "license_number, full_name, profession, specialty, region, status, registered_on, expires_on";

fn today() -> String {
    let today = crate::db::now().date();
    format!(
        "{:04}-{:02}-{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    )
}

/// The status shown: an active licence past its expiry date is `expired`.
fn effective_status(status: &str, expires_on: &str, today: &str) -> String {
    if status == "active" && expires_on < today {
        "expired".to_string()
    } else {
        status.to_string()
    }
}

fn entry(row: EntryRow, today: &str) -> RegistryEntry {
    let (
        license_number,
        full_name,
        profession,
        specialty,
        region,
        status,
        registered_on,
        expires_on,
    ) = row;
    RegistryEntry {
        status: effective_status(&status, &expires_on, today),
        license_number,
        full_name,
        profession,
        specialty,
        region,
        registered_on,
        expires_on,
    }
}

/// Registered professionals matching every word of `q`, by name.
#[utoipa::path(
    get,
    path = "/api/registry/search",
    tag = "registry",
    params(SearchQuery),
    responses((status = 200, description = "Matching entries (at most 50)", body = Vec<RegistryEntry>))
)]
async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> AppResult<Json<Vec<RegistryEntry>>> {
    let words: Vec<String> = query
        .q
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .take(8)
        .map(|w| {
            // LIKE wildcards in the query are matched literally.
            let escaped = w
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
        .collect();
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM registry_entries WHERE 1 = 1");
    for _ in &words {
        sql.push_str(
            " AND lower(full_name || ' ' || license_number || ' ' || profession || ' ' || \
             specialty || ' ' || region) LIKE ? ESCAPE '\\'",
        );
    }
    sql.push_str(" ORDER BY full_name, license_number LIMIT ?");
    let mut q = sqlx::query_as::<_, EntryRow>(&sql);
    for w in &words {
        q = q.bind(w);
    }
    let rows = q.bind(SEARCH_LIMIT).fetch_all(&state.db).await?;
    let today = today();
    Ok(Json(rows.into_iter().map(|r| entry(r, &today)).collect()))
}

/// Verifies a licence: 404 when unknown; `valid` only when active and not past expiry.
#[utoipa::path(
    get,
    path = "/api/registry/verify/{license_number}",
    tag = "registry",
    params(("license_number" = String, Path, description = "Licence number, e.g. PHB-MED-2019-00017")),
    responses(
        (status = 200, description = "The licence's status", body = LicenseVerification),
        (status = 404, description = "Unknown licence", body = ErrorBody)
    )
)]
async fn verify(
    State(state): State<AppState>,
    Path(license_number): Path<String>,
) -> AppResult<Json<LicenseVerification>> {
    let row: Option<EntryRow> = sqlx::query_as(&format!(
        "SELECT {ENTRY_COLUMNS} FROM registry_entries WHERE license_number = ?"
    ))
    .bind(license_number.trim().to_uppercase())
    .fetch_optional(&state.db)
    .await?;
    let e = entry(row.ok_or_else(|| AppError::not_found("licence"))?, &today());
    Ok(Json(LicenseVerification {
        valid: e.status == "active",
        license_number: e.license_number,
        status: e.status,
        full_name: e.full_name,
        profession: e.profession,
        expires_on: e.expires_on,
    }))
}

/// Counts by status and by profession.
#[utoipa::path(
    get,
    path = "/api/registry/statistics",
    tag = "registry",
    responses((status = 200, description = "Registry statistics", body = RegistryStatistics))
)]
async fn statistics(State(state): State<AppState>) -> AppResult<Json<RegistryStatistics>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT profession, status, expires_on FROM registry_entries")
            .fetch_all(&state.db)
            .await?;
    let today = today();
    let mut stats = RegistryStatistics {
        total: 0,
        active: 0,
        suspended: 0,
        expired: 0,
        by_profession: BTreeMap::new(),
    };
    for (profession, status, expires_on) in rows {
        stats.total += 1;
        match effective_status(&status, &expires_on, &today).as_str() {
            "active" => stats.active += 1,
            "suspended" => stats.suspended += 1,
            _ => stats.expired += 1,
        }
        *stats.by_profession.entry(profession).or_default() += 1;
    }
    Ok(Json(stats))
}

#[cfg(test)]
mod tests {
    use super::effective_status;

    #[test]
    fn active_licences_past_expiry_read_as_expired() {
        assert_eq!(
            effective_status("active", "2020-01-01", "2026-01-01"),
            "expired"
        );
        assert_eq!(
            effective_status("active", "2030-01-01", "2026-01-01"),
            "active"
        );
        assert_eq!(
            effective_status("suspended", "2030-01-01", "2026-01-01"),
            "suspended"
        );
    }
}
