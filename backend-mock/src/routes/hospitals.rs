//! Routes of the hospitals group: hospitals, departments, doctors and the user's primary
//! hospital. The lists are served from the in-memory reference snapshot, pre-serialized.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use lifeline_types::hospitals::{
    Department, Doctor, Hospital, PrimaryHospital, SetPrimaryHospital,
};
use lifeline_types::ErrorBody;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::{now, ts};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_hospitals))
        .routes(routes!(get_primary_hospital, set_primary_hospital))
        .routes(routes!(list_departments))
        .routes(routes!(list_doctors))
}

fn json_bytes(bytes: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], bytes)
}

/// Every hospital.
#[utoipa::path(get, path = "/api/hospitals", tag = "hospitals",
    responses((status = 200, description = "all hospitals", body = Vec<Hospital>)))]
async fn list_hospitals(State(state): State<AppState>) -> impl IntoResponse {
    json_bytes(state.reference.get().hospitals_json.clone())
}

/// Query of `GET /api/departments`.
#[derive(Debug, Deserialize)]
struct DepartmentQuery {
    hospital_id: Option<Uuid>,
}

/// Departments, of one hospital when `hospital_id` is given.
#[utoipa::path(get, path = "/api/departments", tag = "hospitals",
    params(("hospital_id" = Option<Uuid>, Query, description = "only this hospital's departments")),
    responses(
        (status = 200, description = "departments with their fees", body = Vec<Department>),
        (status = 400, description = "malformed hospital_id", body = ErrorBody),
        (status = 404, description = "unknown hospital", body = ErrorBody),
    ))]
async fn list_departments(
    State(state): State<AppState>,
    Query(q): Query<DepartmentQuery>,
) -> AppResult<impl IntoResponse> {
    let reference = state.reference.get();
    let bytes = match q.hospital_id {
        None => reference.departments_json.clone(),
        Some(id) => reference
            .departments_by_hospital_json
            .get(&id)
            .cloned()
            .ok_or_else(|| AppError::not_found("hospital"))?,
    };
    Ok(json_bytes(bytes))
}

/// Query of `GET /api/doctors`.
#[derive(Debug, Deserialize)]
struct DoctorQuery {
    department_id: Option<Uuid>,
}

/// Doctors, of one department when `department_id` is given.
#[utoipa::path(get, path = "/api/doctors", tag = "hospitals",
    params(("department_id" = Option<Uuid>, Query, description = "only this department's doctors")),
    responses(
        (status = 200, description = "doctors", body = Vec<Doctor>),
        (status = 400, description = "malformed department_id", body = ErrorBody),
        (status = 404, description = "unknown department", body = ErrorBody),
    ))]
async fn list_doctors(
    State(state): State<AppState>,
    Query(q): Query<DoctorQuery>,
) -> AppResult<impl IntoResponse> {
    let reference = state.reference.get();
    let bytes = match q.department_id {
        None => reference.doctors_json.clone(),
        Some(id) => reference
            .doctors_by_department_json
            .get(&id)
            .cloned()
            .ok_or_else(|| AppError::not_found("department"))?,
    };
    Ok(json_bytes(bytes))
}

async fn primary_of(state: &AppState, user: &AuthUser) -> AppResult<PrimaryHospital> {
    let id: Option<Option<String>> =
        sqlx::query_scalar("SELECT primary_hospital_id FROM users WHERE id = ?")
            .bind(user.id.to_string())
            .fetch_optional(&state.db)
            .await?;
    let id = id.ok_or_else(|| AppError::not_found("user"))?;
    let reference = state.reference.get();
    Ok(PrimaryHospital {
        hospital: id.and_then(|id| {
            let id = crate::db::uuid(&id);
            reference.hospitals.iter().find(|h| h.id == id).cloned()
        }),
    })
}

/// The signed-in user's primary hospital (`hospital: null` until chosen).
#[utoipa::path(get, path = "/api/user/primary-hospital", tag = "hospitals", security(("bearer" = [])),
    responses(
        (status = 200, description = "the primary hospital", body = PrimaryHospital),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
    ))]
async fn get_primary_hospital(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<PrimaryHospital>> {
    Ok(Json(primary_of(&state, &user).await?))
}

/// Chooses the signed-in user's primary hospital.
#[utoipa::path(post, path = "/api/user/primary-hospital", tag = "hospitals", security(("bearer" = [])),
    request_body = SetPrimaryHospital,
    responses(
        (status = 200, description = "the new primary hospital", body = PrimaryHospital),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "unknown hospital", body = ErrorBody),
    ))]
async fn set_primary_hospital(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<SetPrimaryHospital>,
) -> AppResult<Json<PrimaryHospital>> {
    if !state
        .reference
        .get()
        .hospitals
        .iter()
        .any(|h| h.id == req.hospital_id)
    {
        return Err(AppError::not_found("hospital"));
    }
    sqlx::query("UPDATE users SET primary_hospital_id = ?, updated_at = ? WHERE id = ?")
        .bind(req.hospital_id.to_string())
        .bind(ts(now()))
        .bind(user.id.to_string())
        .execute(&state.db)
        .await?;
    Ok(Json(primary_of(&state, &user).await?))
}
