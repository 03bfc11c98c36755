//! Routes of the profile group: read and partially update the signed-in user's profile.

use axum::extract::State;
use axum::Json;
use lifeline_types::profile::{Profile, ProfileUpdate};
use lifeline_types::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AuthUser, Role};
use crate::db::{now, ts};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_profile, patch_profile))
}

/// Gender values a profile accepts.
const GENDERS: [&str; 4] = ["female", "male", "other", "unspecified"];

/// Reads the profile of `user_id`.
///
/// # Errors
/// `not_found` when the account is gone; database failures.
pub async fn load_profile(state: &AppState, user_id: &str) -> AppResult<Profile> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, email, name, role, phone, date_of_birth, gender, address, \
         primary_hospital_id, created_at, updated_at FROM users WHERE id = ?",
    )
    .bind(user_id)
    .fetch_optional(&state.db)
    .await?;
    let (id, email, name, role, phone, dob, gender, address, hospital, created, updated) =
        row.ok_or_else(|| AppError::not_found("profile"))?;
    Ok(Profile {
        id: crate::db::uuid(&id),
        email,
        name,
        role: Role::parse(&role).unwrap_or(Role::Patient),
        phone,
        date_of_birth: dob,
        gender,
        address,
        primary_hospital_id: hospital.as_deref().map(crate::db::uuid),
        created_at: created,
        updated_at: updated,
    })
}

/// The signed-in user's profile.
#[utoipa::path(get, path = "/api/profile", tag = "profile", security(("bearer" = [])),
    responses(
        (status = 200, description = "the profile", body = Profile),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
    ))]
async fn get_profile(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Profile>> {
    Ok(Json(load_profile(&state, &user.id.to_string()).await?))
}

/// A validated optional field: `Some(None)` clears it, `None` leaves it.
type Change = Option<Option<String>>;

fn optional_field(
    value: Option<&String>,
    field: &str,
    check: impl Fn(&str) -> Result<String, String>,
) -> AppResult<Change> {
    match value.map(|v| v.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(None)),
        Some(v) => check(v).map(|v| Some(Some(v))).map_err(|msg| {
            AppError::validation(format!("{field} {msg}"))
                .with_details(serde_json::json!({"field": field}))
        }),
    }
}

fn check_phone(v: &str) -> Result<String, String> {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed = v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if allowed && (7..=15).contains(&digits) && v.len() <= 32 {
        Ok(v.to_string())
    } else {
        Err("must be a phone number of 7 to 15 digits".into())
    }
}

fn check_date_of_birth(v: &str) -> Result<String, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(v, &format).map_err(|_| "must be a date as YYYY-MM-DD")?;
    let today = now().date();
    if date > today {
        return Err("must not be in the future".into());
    }
    if today.year() - date.year() > 130 {
        return Err("must be within the last 130 years".into());
    }
    Ok(v.to_string())
}

fn check_gender(v: &str) -> Result<String, String> {
    let v = v.to_lowercase();
    if GENDERS.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!("must be one of {}", GENDERS.join(", ")))
    }
}

fn check_address(v: &str) -> Result<String, String> {
    if v.chars().count() <= 300 {
        Ok(v.to_string())
    } else {
        Err("must be at most 300 characters".into())
    }
}

/// Changes the fields present in the body; all are validated before anything is written.
#[utoipa::path(patch, path = "/api/profile", tag = "profile", security(("bearer" = [])),
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "the updated profile", body = Profile),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 422, description = "a field is invalid or unknown; nothing was changed", body = ErrorBody),
    ))]
async fn patch_profile(
    State(state): State<AppState>,
    user: AuthUser,
    Json(update): Json<ProfileUpdate>,
) -> AppResult<Json<Profile>> {
    let name = update
        .name
        .as_deref()
        .map(crate::routes::auth::validate_name)
        .transpose()?;
    let phone = optional_field(update.phone.as_ref(), "phone", check_phone)?;
    let dob = optional_field(
        update.date_of_birth.as_ref(),
        "date_of_birth",
        check_date_of_birth,
    )?;
    let gender = optional_field(update.gender.as_ref(), "gender", check_gender)?;
    let address = optional_field(update.address.as_ref(), "address", check_address)?;

    // One statement: each column keeps its value unless its flag says it changes.
    let changed = sqlx::query(
        "UPDATE users SET \
         name = CASE WHEN ? THEN ? ELSE name END, \
         phone = CASE WHEN ? THEN ? ELSE phone END, \
         date_of_birth = CASE WHEN ? THEN ? ELSE date_of_birth END, \
         gender = CASE WHEN ? THEN ? ELSE gender END, \
         address = CASE WHEN ? THEN ? ELSE address END, \
         updated_at = ? WHERE id = ?",
    )
    .bind(name.is_some())
    .bind(name)
    .bind(phone.is_some())
    .bind(phone.flatten())
    .bind(dob.is_some())
    .bind(dob.flatten())
    .bind(gender.is_some())
    .bind(gender.flatten())
    .bind(address.is_some())
    .bind(address.flatten())
    .bind(ts(now()))
    .bind(user.id.to_string())
    .execute(&state.db)
    .await?;
    if changed.rows_affected() == 0 {
        return Err(AppError::not_found("profile"));
    }
    Ok(Json(load_profile(&state, &user.id.to_string()).await?))
}
