//! Pharmacies: search by text and distance, and the caller's one nominated pharmacy (where
//! prescriptions go unless an order names another).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use lifeline_types::pharmacies::{NominatedPharmacy, Pharmacy};
use lifeline_types::ErrorBody;
use serde::Deserialize;
use sqlx::SqliteExecutor;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::{AppError, AppResult, AppState};

/// Most pharmacies one search returns.
const SEARCH_LIMIT: usize = 50;

/// Routes of the pharmacies group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(nominate))
        .routes(routes!(nominated))
}

/// `GET /api/pharmacies` query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find in the name, address or city.
    pub q: Option<String>,
    /// `lat,lng`: sort by distance from this point and report `distance_km`.
    pub near: Option<String>,
}

type PharmacyRow = (String, String, String, String, String, f64, f64, bool);

const PHARMACY_COLUMNS: &str = "id, name, address, city, phone, lat, lng, open_24h";

fn pharmacy(row: PharmacyRow) -> Pharmacy {
    let (id, name, address, city, phone, lat, lng, open_24h) = row;
    Pharmacy {
        id: crate::db::uuid(&id),
        name,
        address,
        city,
        phone,
        lat,
        lng,
        open_24h,
        distance_km: None,
    }
}

/// Parses `lat,lng`.
fn parse_point(text: &str) -> Option<(f64, f64)> {
    let (lat, lng) = text.split_once(',')?;
    let lat: f64 = lat.trim().parse().ok()?;
    let lng: f64 = lng.trim().parse().ok()?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lng)).then_some((lat, lng))
}

/// Great-circle distance in kilometres (haversine).
pub fn distance_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lng1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lng2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lng2 - lng1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

/// Pharmacies matching `q` (every word must match), nearest first when `near` is given,
/// otherwise by name.
#[utoipa::path(
    get,
    path = "/api/pharmacies",
    tag = "pharmacies",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matching pharmacies", body = Vec<Pharmacy>),
        (status = 400, description = "`near` is not `lat,lng`", body = ErrorBody)
    )
)]
async fn search(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> AppResult<Json<Vec<Pharmacy>>> {
    let near = match query
        .near
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(parse_point(text).ok_or_else(|| {
            AppError::bad_request("near must be \"lat,lng\" with a valid latitude and longitude")
        })?),
        None => None,
    };
    let rows: Vec<PharmacyRow> = sqlx::query_as(&format!(
        "SELECT {PHARMACY_COLUMNS} FROM pharmacies ORDER BY name"
    ))
    .fetch_all(&state.db)
    .await?;
    let words: Vec<String> = query
        .q
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let mut found: Vec<Pharmacy> = rows
        .into_iter()
        .map(pharmacy)
        .filter(|p| {
            let text = format!("{} {} {}", p.name, p.address, p.city).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect();
    if let Some(point) = near {
        for p in &mut found {
            let km = distance_km(point, (p.lat, p.lng));
            p.distance_km = Some((km * 100.0).round() / 100.0);
        }
        found.sort_by(|a, b| {
            a.distance_km
                .unwrap_or(0.0)
                .total_cmp(&b.distance_km.unwrap_or(0.0))
        });
    }
    found.truncate(SEARCH_LIMIT);
    Ok(Json(found))
}

/// Loads one pharmacy.
///
/// # Errors
/// 404 when unknown; database failures.
pub async fn load<'c>(db: impl SqliteExecutor<'c>, id: Uuid) -> AppResult<Pharmacy> {
    let row: Option<PharmacyRow> = sqlx::query_as(&format!(
        "SELECT {PHARMACY_COLUMNS} FROM pharmacies WHERE id = ?"
    ))
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(pharmacy)
        .ok_or_else(|| AppError::not_found("pharmacy"))
}

/// The caller's nominated pharmacy id, if any.
///
/// # Errors
/// Database failures.
pub async fn nominated_id<'c>(db: impl SqliteExecutor<'c>, user: Uuid) -> AppResult<Option<Uuid>> {
    let id: Option<String> =
        sqlx::query_scalar("SELECT pharmacy_id FROM pharmacy_nominations WHERE user_id = ?")
            .bind(user.to_string())
            .fetch_optional(db)
            .await?;
    Ok(id.map(|id| crate::db::uuid(&id)))
}

/// Makes this pharmacy the caller's one nominated pharmacy, replacing any other. Nominating
/// the same pharmacy again changes nothing (same `nominated_at`), so retries are safe.
#[utoipa::path(
    post,
    path = "/api/pharmacies/{id}/nominate",
    tag = "pharmacies",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Pharmacy id")),
    responses(
        (status = 200, description = "The nominated pharmacy", body = NominatedPharmacy),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "Unknown pharmacy", body = ErrorBody)
    )
)]
async fn nominate(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> AppResult<(StatusCode, Json<NominatedPharmacy>)> {
    let pharmacy = load(&state.db, id).await?;
    sqlx::query(
        "INSERT INTO pharmacy_nominations (user_id, pharmacy_id, nominated_at) VALUES (?, ?, ?) \
         ON CONFLICT (user_id) DO UPDATE SET pharmacy_id = excluded.pharmacy_id, \
         nominated_at = excluded.nominated_at \
         WHERE pharmacy_nominations.pharmacy_id <> excluded.pharmacy_id",
    )
    .bind(user.id.to_string())
    .bind(id.to_string())
    .bind(crate::db::ts(crate::db::now()))
    .execute(&state.db)
    .await?;
    let nominated_at: String =
        sqlx::query_scalar("SELECT nominated_at FROM pharmacy_nominations WHERE user_id = ?")
            .bind(user.id.to_string())
            .fetch_one(&state.db)
            .await?;
    Ok((
        StatusCode::OK,
        Json(NominatedPharmacy {
            pharmacy,
            nominated_at,
        }),
    ))
}

/// The caller's nominated pharmacy; 404 `no_nominated_pharmacy` when there is none.
#[utoipa::path(
    get,
    path = "/api/pharmacies/nominated",
    tag = "pharmacies",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The nominated pharmacy", body = NominatedPharmacy),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "None nominated (`no_nominated_pharmacy`)", body = ErrorBody)
    )
)]
async fn nominated(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<NominatedPharmacy>> {
    let row: Option<(String, String)> = sqlx::query_as(
        "SELECT pharmacy_id, nominated_at FROM pharmacy_nominations WHERE user_id = ?",
    )
    .bind(user.id.to_string())
    .fetch_optional(&state.db)
    .await?;
    let Some((pharmacy_id, nominated_at)) = row else {
        return Err(AppError::new(
            StatusCode::NOT_FOUND,
            "no_nominated_pharmacy",
            "no pharmacy is nominated",
        ));
    };
    let pharmacy = load(&state.db, crate::db::uuid(&pharmacy_id)).await?;
    Ok(Json(NominatedPharmacy {
        pharmacy,
        nominated_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_points_and_measures_distance() {
        assert_eq!(parse_point("6.45, 3.39"), Some((6.45, 3.39)));
        assert_eq!(parse_point("91,0"), None);
        assert_eq!(parse_point("lagos"), None);
        // Lagos to Abuja is about 530 km in a straight line.
        let km = distance_km((6.5244, 3.3792), (9.0765, 7.3986));
        assert!((500.0..560.0).contains(&km), "{km}");
    }
}
