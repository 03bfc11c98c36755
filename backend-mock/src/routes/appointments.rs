//! Routes of the appointments group: availability, conflict check, booking, listing,
//! cancelling, rescheduling, and the doctor's own list.
//!
//! A slot is booked at most once: the partial unique index `appointments_active_slot` decides
//! between concurrent bookings, never a check-then-insert, and the loser gets 409 `slot_taken`
//! with nearby free slots in `details.alternatives`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use lifeline_types::appointments::{
    Appointment, AppointmentStatus, Availability, BookAppointment, Cancel, CheckConflict,
    ConflictCheck, Reschedule, Slot,
};
use lifeline_types::ErrorBody;
use serde::Deserialize;
use sqlx::{SqliteConnection, SqliteExecutor};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::db::{now, ts, uuid};
use crate::idempotency::{self, IdempotencyKey};
use crate::{AppError, AppResult, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(availability))
        .routes(routes!(check_conflict))
        .routes(routes!(list_appointments, book))
        .routes(routes!(get_appointment))
        .routes(routes!(cancel))
        .routes(routes!(reschedule))
        .routes(routes!(doctor_appointments))
}

/// Statuses that hold a slot.
const ACTIVE: &str = "('pending_payment', 'confirmed')";
/// How many alternatives a `slot_taken` answer offers from the same doctor, and from others.
const ALTERNATIVES_PER_KIND: i64 = 3;

/// Confirms a `pending_payment` appointment once its payment succeeded. Returns whether it
/// changed, so a payment verified twice (webhook and client) confirms exactly once.
///
/// # Errors
/// Database failures.
pub async fn confirm_paid<'c>(
    db: impl SqliteExecutor<'c>,
    appointment_id: Uuid,
) -> AppResult<bool> {
    let done = sqlx::query(
        "UPDATE appointments SET status = 'confirmed', updated_at = ? \
         WHERE id = ? AND status = 'pending_payment'",
    )
    .bind(ts(now()))
    .bind(appointment_id.to_string())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Debug, sqlx::FromRow)]
struct AppointmentRow {
    id: String,
    user_id: String,
    doctor_id: String,
    doctor_name: String,
    department_id: String,
    hospital_id: String,
    slot_id: String,
    starts_at: String,
    ends_at: String,
    status: String,
    reason: Option<String>,
    fee_minor: i64,
    currency: String,
    patient_name: String,
    created_at: String,
    updated_at: String,
}

impl AppointmentRow {
    fn into_wire(self, with_patient: bool) -> Appointment {
        Appointment {
            id: uuid(&self.id),
            user_id: uuid(&self.user_id),
            doctor_id: uuid(&self.doctor_id),
            doctor_name: self.doctor_name,
            department_id: uuid(&self.department_id),
            hospital_id: uuid(&self.hospital_id),
            slot_id: uuid(&self.slot_id),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            status: AppointmentStatus::parse(&self.status).unwrap_or(AppointmentStatus::Cancelled),
            reason: self.reason,
            fee_minor: self.fee_minor,
            currency: self.currency,
            patient_name: with_patient.then_some(self.patient_name),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

const SELECT_APPOINTMENT: &str = "SELECT a.id, a.user_id, a.doctor_id, d.name AS doctor_name, \
    a.department_id, a.hospital_id, a.slot_id, a.starts_at, a.ends_at, a.status, a.reason, \
    a.fee_minor, a.currency, u.name AS patient_name, a.created_at, a.updated_at \
    FROM appointments a JOIN doctors d ON d.id = a.doctor_id JOIN users u ON u.id = a.user_id";

/// The user's appointment, or 404 (also when it belongs to someone else).
async fn load_own<'c>(
    db: impl SqliteExecutor<'c>,
    user: &AuthUser,
    id: Uuid,
) -> AppResult<Appointment> {
    let row: Option<AppointmentRow> = sqlx::query_as(&format!(
        "{SELECT_APPOINTMENT} WHERE a.id = ? AND a.user_id = ?"
    ))
    .bind(id.to_string())
    .bind(user.id.to_string())
    .fetch_optional(db)
    .await?;
    row.map(|r| r.into_wire(false))
        .ok_or_else(|| AppError::not_found("appointment"))
}

#[derive(Debug, sqlx::FromRow)]
struct SlotRow {
    id: String,
    doctor_id: String,
    starts_at: String,
    ends_at: String,
}

impl SlotRow {
    fn into_wire(self, free: bool) -> Slot {
        Slot {
            id: uuid(&self.id),
            doctor_id: uuid(&self.doctor_id),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            free,
        }
    }
}

async fn load_slot<'c>(db: impl SqliteExecutor<'c>, id: Uuid) -> AppResult<SlotRow> {
    sqlx::query_as("SELECT id, doctor_id, starts_at, ends_at FROM slots WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(db)
        .await?
        .ok_or_else(|| AppError::not_found("slot"))
}

/// Free future slots near `slot`: the same doctor's next ones, then other doctors' of the same
/// department from the same time on.
async fn alternatives(conn: &mut SqliteConnection, slot: &SlotRow) -> AppResult<Vec<Slot>> {
    let now_text = ts(now());
    let from = if slot.starts_at > now_text {
        slot.starts_at.clone()
    } else {
        now_text.clone()
    };
    let free = "NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id \
                AND a.status <> 'cancelled')";
    let same_doctor: Vec<SlotRow> = sqlx::query_as(&format!(
        "SELECT s.id, s.doctor_id, s.starts_at, s.ends_at FROM slots s \
         WHERE s.doctor_id = ? AND s.starts_at >= ? AND s.starts_at > ? AND s.id <> ? AND {free} \
         ORDER BY s.starts_at LIMIT ?"
    ))
    .bind(&slot.doctor_id)
    .bind(&from)
    .bind(&now_text)
    .bind(&slot.id)
    .bind(ALTERNATIVES_PER_KIND)
    .fetch_all(&mut *conn)
    .await?;
    let colleagues: Vec<SlotRow> = sqlx::query_as(&format!(
        "SELECT s.id, s.doctor_id, s.starts_at, s.ends_at FROM slots s \
         WHERE s.doctor_id IN (SELECT o.id FROM doctors o JOIN doctors me \
           ON me.department_id = o.department_id WHERE me.id = ? AND o.id <> me.id) \
         AND s.starts_at >= ? AND s.starts_at > ? AND {free} \
         ORDER BY s.starts_at, s.doctor_id LIMIT ?"
    ))
    .bind(&slot.doctor_id)
    .bind(&from)
    .bind(&now_text)
    .bind(ALTERNATIVES_PER_KIND)
    .fetch_all(&mut *conn)
    .await?;
    Ok(same_doctor
        .into_iter()
        .chain(colleagues)
        .map(|s| s.into_wire(true))
        .collect())
}

/// 409 `slot_taken` with alternatives, read on `conn`: the transaction of the booking or the
/// rescheduling that lost the slot.
async fn slot_taken(conn: &mut SqliteConnection, slot: &SlotRow) -> AppError {
    let alternatives = match alternatives(conn, slot).await {
        Ok(list) => list,
        Err(err) => {
            tracing::warn!(error = %err, "could not list alternative slots");
            Vec::new()
        }
    };
    AppError::conflict("slot_taken", "this slot has just been booked")
        .with_details(serde_json::json!({ "alternatives": alternatives }))
}

fn slot_in_past() -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "slot_in_past",
        "this slot has already started",
    )
}

/// Query of `GET /api/doctors/{id}/availability`.
#[derive(Debug, Deserialize)]
struct AvailabilityQuery {
    date: String,
}

fn parse_date(text: &str, field: &str) -> AppResult<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).map_err(|_| {
        AppError::validation(format!("{field} must be a date as YYYY-MM-DD"))
            .with_details(serde_json::json!({"field": field}))
    })
}

fn day_bounds(date: time::Date) -> (String, String) {
    let start = date.midnight().assume_utc();
    (ts(start), ts(start + time::Duration::days(1)))
}

/// A doctor's slots on one day, each marked free or not.
#[utoipa::path(get, path = "/api/doctors/{id}/availability", tag = "appointments",
    params(
        ("id" = Uuid, Path, description = "doctor id"),
        ("date" = String, Query, description = "day, YYYY-MM-DD (UTC)"),
    ),
    responses(
        (status = 200, description = "the day's slots", body = Availability),
        (status = 400, description = "malformed id or missing date", body = ErrorBody),
        (status = 404, description = "unknown doctor", body = ErrorBody),
        (status = 422, description = "malformed date", body = ErrorBody),
    ))]
async fn availability(
    State(state): State<AppState>,
    Path(doctor): Path<Uuid>,
    Query(q): Query<AvailabilityQuery>,
) -> AppResult<Json<Availability>> {
    let date = parse_date(&q.date, "date")?;
    if !state.reference.get().doctors.contains_key(&doctor) {
        return Err(AppError::not_found("doctor"));
    }
    let (from, to) = day_bounds(date);
    let rows: Vec<(String, String, String, String, bool)> = sqlx::query_as(
        "SELECT s.id, s.doctor_id, s.starts_at, s.ends_at, EXISTS (SELECT 1 FROM appointments a \
         WHERE a.slot_id = s.id AND a.status <> 'cancelled') AS taken FROM slots s \
         WHERE s.doctor_id = ? AND s.starts_at >= ? AND s.starts_at < ? ORDER BY s.starts_at",
    )
    .bind(doctor.to_string())
    .bind(&from)
    .bind(&to)
    .fetch_all(&state.db)
    .await?;
    let now_text = ts(now());
    Ok(Json(Availability {
        doctor_id: doctor,
        date: q.date,
        slots: rows
            .into_iter()
            .map(|(id, doctor_id, starts_at, ends_at, taken)| {
                let free = !taken && starts_at > now_text;
                SlotRow {
                    id,
                    doctor_id,
                    starts_at,
                    ends_at,
                }
                .into_wire(free)
            })
            .collect(),
    }))
}

/// Whether booking the slot would conflict: taken, in the past, or overlapping one of the
/// user's own appointments. Alternatives come with a conflict.
#[utoipa::path(post, path = "/api/appointments/check-conflict", tag = "appointments",
    security(("bearer" = [])),
    request_body = CheckConflict,
    responses(
        (status = 200, description = "the verdict", body = ConflictCheck),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "unknown slot", body = ErrorBody),
    ))]
async fn check_conflict(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<CheckConflict>,
) -> AppResult<Json<ConflictCheck>> {
    let mut conn = state.db.acquire().await?;
    let slot = load_slot(&mut *conn, req.slot_id).await?;
    let verdict = |reason: &str, alternatives| ConflictCheck {
        conflict: true,
        reason: Some(reason.to_string()),
        alternatives,
    };
    if slot.starts_at <= ts(now()) {
        return Ok(Json(verdict(
            "slot_in_past",
            alternatives(&mut conn, &slot).await?,
        )));
    }
    let taken: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM appointments WHERE slot_id = ? AND status <> 'cancelled')",
    )
    .bind(&slot.id)
    .fetch_one(&mut *conn)
    .await?;
    if taken {
        return Ok(Json(verdict(
            "slot_taken",
            alternatives(&mut conn, &slot).await?,
        )));
    }
    let overlap: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM appointments WHERE user_id = ? AND status IN {ACTIVE} \
         AND starts_at < ? AND ends_at > ?)"
    ))
    .bind(user.id.to_string())
    .bind(&slot.ends_at)
    .bind(&slot.starts_at)
    .fetch_one(&mut *conn)
    .await?;
    if overlap {
        return Ok(Json(verdict("overlapping_appointment", Vec::new())));
    }
    Ok(Json(ConflictCheck {
        conflict: false,
        reason: None,
        alternatives: Vec::new(),
    }))
}

/// Query of the appointment lists.
#[derive(Debug, Deserialize)]
struct ListQuery {
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `(status, from, to)` as bind values: inclusive bounds on `starts_at`.
fn list_filters(q: &ListQuery) -> AppResult<(Option<String>, Option<String>, Option<String>)> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            AppointmentStatus::parse(s)
                .ok_or_else(|| {
                    AppError::validation(
                        "status must be pending_payment, confirmed, cancelled or completed",
                    )
                    .with_details(serde_json::json!({"field": "status"}))
                })?
                .as_str()
                .to_string(),
        ),
    };
    let bound = |text: Option<&str>, field: &str, end: bool| -> AppResult<Option<String>> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        if let Some(at) = crate::db::parse_ts(text) {
            return Ok(Some(ts(at)));
        }
        let (start, next) = day_bounds(parse_date(text, field)?);
        // A date as `to` includes that whole day.
        Ok(Some(if end {
            ts(crate::db::parse_ts(&next).unwrap_or_else(now) - time::Duration::seconds(1))
        } else {
            start
        }))
    };
    Ok((
        status,
        bound(q.from.as_deref(), "from", false)?,
        bound(q.to.as_deref(), "to", true)?,
    ))
}

/// The signed-in user's appointments, soonest first, optionally filtered.
#[utoipa::path(get, path = "/api/appointments", tag = "appointments", security(("bearer" = [])),
    params(
        ("status" = Option<AppointmentStatus>, Query, description = "only this status"),
        ("from" = Option<String>, Query, description = "starting at or after (YYYY-MM-DD or RFC 3339)"),
        ("to" = Option<String>, Query, description = "starting at or before (YYYY-MM-DD includes the day)"),
    ),
    responses(
        (status = 200, description = "the appointments", body = Vec<Appointment>),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 422, description = "invalid filter", body = ErrorBody),
    ))]
async fn list_appointments(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<Appointment>>> {
    let (status, from, to) = list_filters(&q)?;
    let rows: Vec<AppointmentRow> = sqlx::query_as(&format!(
        "{SELECT_APPOINTMENT} WHERE a.user_id = ? AND (? IS NULL OR a.status = ?) \
         AND (? IS NULL OR a.starts_at >= ?) AND (? IS NULL OR a.starts_at <= ?) \
         ORDER BY a.starts_at"
    ))
    .bind(user.id.to_string())
    .bind(&status)
    .bind(&status)
    .bind(&from)
    .bind(&from)
    .bind(&to)
    .bind(&to)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(|r| r.into_wire(false)).collect()))
}

/// One of the signed-in user's appointments; another user's answers 404.
#[utoipa::path(get, path = "/api/appointments/{id}", tag = "appointments", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "appointment id")),
    responses(
        (status = 200, description = "the appointment", body = Appointment),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "no such appointment of this user", body = ErrorBody),
    ))]
async fn get_appointment(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Appointment>> {
    Ok(Json(load_own(&state.db, &user, id).await?))
}

fn clean_reason(reason: Option<&str>) -> AppResult<Option<String>> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) if r.chars().count() > 500 => Err(AppError::validation(
            "reason must be at most 500 characters",
        )
        .with_details(serde_json::json!({"field": "reason"}))),
        Some(r) => Ok(Some(r.to_string())),
    }
}

/// Books a slot. Needs `Idempotency-Key`: a retry with the same key and body replays the first
/// answer. Starts `confirmed` in a free department, else `pending_payment`. The appointment and
/// the key's outcome are written in one transaction: a booking whose answer was lost to a crash
/// left nothing behind, so its retry books (once) instead of finding its own slot taken.
#[utoipa::path(post, path = "/api/appointments", tag = "appointments", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "required; same key and body replay the first answer")),
    request_body = BookAppointment,
    responses(
        (status = 201, description = "booked", body = Appointment),
        (status = 400, description = "malformed body, or `idempotency_key_required`", body = ErrorBody),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "unknown slot", body = ErrorBody),
        (status = 409, description = "`slot_taken` with `details.alternatives`", body = ErrorBody),
        (status = 422, description = "`slot_in_past`, invalid reason, or `idempotency_key_reused`", body = ErrorBody),
    ))]
async fn book(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Json(req): Json<BookAppointment>,
) -> AppResult<Response> {
    let fingerprint = ("POST", "/api/appointments", &req);
    idempotency::run(&state, user.id, &key, true, &fingerprint, async |conn| {
        book_slot(&state, &user, &req, conn).await
    })
    .await
}

/// The booking's reads and writes, all on `conn`: the booking's transaction.
async fn book_slot(
    state: &AppState,
    user: &AuthUser,
    req: &BookAppointment,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, Appointment)> {
    let reason = clean_reason(req.reason.as_deref())?;
    let slot = load_slot(&mut *conn, req.slot_id).await?;
    let now = now();
    if slot.starts_at <= ts(now) {
        return Err(slot_in_past());
    }
    let reference = state.reference.get();
    let doctor = reference
        .doctors
        .get(&uuid(&slot.doctor_id))
        .ok_or_else(|| AppError::not_found("doctor"))?;
    let department = reference
        .departments
        .get(&doctor.department_id)
        .ok_or_else(|| AppError::not_found("department"))?;
    let status = if department.fee_minor == 0 {
        AppointmentStatus::Confirmed
    } else {
        AppointmentStatus::PendingPayment
    };
    let id = Uuid::new_v4();
    let now_text = ts(now);
    let inserted = sqlx::query(
        "INSERT INTO appointments (id, user_id, doctor_id, department_id, hospital_id, slot_id, \
         starts_at, ends_at, status, reason, fee_minor, currency, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(user.id.to_string())
    .bind(&slot.doctor_id)
    .bind(department.id.to_string())
    .bind(department.hospital_id.to_string())
    .bind(&slot.id)
    .bind(&slot.starts_at)
    .bind(&slot.ends_at)
    .bind(status.as_str())
    .bind(&reason)
    .bind(department.fee_minor)
    .bind(&department.currency)
    .bind(&now_text)
    .bind(&now_text)
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if crate::db::is_unique_violation(&err) => {
            return Err(slot_taken(conn, &slot).await)
        }
        Err(err) => return Err(err.into()),
    }
    Ok((
        StatusCode::CREATED,
        Appointment {
            id,
            user_id: user.id,
            doctor_id: doctor.id,
            doctor_name: doctor.name.clone(),
            department_id: department.id,
            hospital_id: department.hospital_id,
            slot_id: req.slot_id,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            status,
            reason,
            fee_minor: department.fee_minor,
            currency: department.currency.clone(),
            patient_name: None,
            created_at: now_text.clone(),
            updated_at: now_text,
        },
    ))
}

/// Cancels an upcoming appointment, freeing its slot. Cancelling a cancelled one answers it
/// unchanged; a completed or started one is 409 `invalid_state`. With an `Idempotency-Key`, a
/// retry with the same key and body replays the first answer: the cancellation and the key's
/// outcome are written in one transaction.
#[utoipa::path(post, path = "/api/appointments/{id}/cancel", tag = "appointments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "appointment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "optional; replays the first answer"),
    ),
    request_body(content = Option<Cancel>, description = "optional"),
    responses(
        (status = 200, description = "cancelled", body = Appointment),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "no such appointment of this user", body = ErrorBody),
        (status = 409, description = "`invalid_state`", body = ErrorBody),
        (status = 422, description = "`idempotency_key_reused`", body = ErrorBody),
    ))]
async fn cancel(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> AppResult<Response> {
    let req: Cancel = if body.iter().all(u8::is_ascii_whitespace) {
        Cancel::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("invalid json body: {e}")))?
    };
    let path = format!("/api/appointments/{id}/cancel");
    let fingerprint = ("POST", path.as_str(), &req);
    idempotency::run(&state, user.id, &key, false, &fingerprint, async |conn| {
        cancel_own(&user, id, conn).await
    })
    .await
}

/// The cancellation's reads and writes, all on `conn`: the cancellation's transaction.
async fn cancel_own(
    user: &AuthUser,
    id: Uuid,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, Appointment)> {
    let now_text = ts(now());
    let done = sqlx::query(&format!(
        "UPDATE appointments SET status = 'cancelled', updated_at = ? \
         WHERE id = ? AND user_id = ? AND status IN {ACTIVE} AND starts_at > ?"
    ))
    .bind(&now_text)
    .bind(id.to_string())
    .bind(user.id.to_string())
    .bind(&now_text)
    .execute(&mut *conn)
    .await?;
    let appointment = load_own(&mut *conn, user, id).await?;
    if done.rows_affected() == 1 || appointment.status == AppointmentStatus::Cancelled {
        Ok((StatusCode::OK, appointment))
    } else {
        Err(AppError::conflict(
            "invalid_state",
            "only an upcoming appointment can be cancelled",
        ))
    }
}

/// Moves an upcoming appointment to another slot of the same department, in one statement:
/// either it holds the new slot or nothing changed (409 `slot_taken` with alternatives). With
/// an `Idempotency-Key`, a retry with the same key and body replays the first answer: the move
/// and the key's outcome are written in one transaction.
#[utoipa::path(post, path = "/api/appointments/{id}/reschedule", tag = "appointments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "appointment id"),
        ("Idempotency-Key" = Option<String>, Header, description = "optional; replays the first answer"),
    ),
    request_body = Reschedule,
    responses(
        (status = 200, description = "moved", body = Appointment),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "no such appointment of this user, or unknown slot", body = ErrorBody),
        (status = 409, description = "`slot_taken` with `details.alternatives`, or `invalid_state`", body = ErrorBody),
        (status = 422, description = "`slot_in_past`, a slot of another department, or `idempotency_key_reused`", body = ErrorBody),
    ))]
async fn reschedule(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Path(id): Path<Uuid>,
    Json(req): Json<Reschedule>,
) -> AppResult<Response> {
    let path = format!("/api/appointments/{id}/reschedule");
    let fingerprint = ("POST", path.as_str(), &req);
    idempotency::run(&state, user.id, &key, false, &fingerprint, async |conn| {
        move_own(&state, &user, id, &req, conn).await
    })
    .await
}

/// The rescheduling's reads and writes, all on `conn`: the rescheduling's transaction.
async fn move_own(
    state: &AppState,
    user: &AuthUser,
    id: Uuid,
    req: &Reschedule,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, Appointment)> {
    let current = load_own(&mut *conn, user, id).await?;
    if !matches!(
        current.status,
        AppointmentStatus::Confirmed | AppointmentStatus::PendingPayment
    ) {
        return Err(AppError::conflict(
            "invalid_state",
            "only an upcoming appointment can be rescheduled",
        ));
    }
    if current.slot_id == req.slot_id {
        return Ok((StatusCode::OK, current));
    }
    let slot = load_slot(&mut *conn, req.slot_id).await?;
    let now_text = ts(now());
    if slot.starts_at <= now_text {
        return Err(slot_in_past());
    }
    let same_department = state
        .reference
        .get()
        .doctors
        .get(&uuid(&slot.doctor_id))
        .is_some_and(|d| d.department_id == current.department_id);
    if !same_department {
        return Err(
            AppError::validation("the new slot must be in the appointment's department")
                .with_details(serde_json::json!({"field": "slot_id"})),
        );
    }
    let moved = sqlx::query(&format!(
        "UPDATE appointments SET slot_id = ?, doctor_id = ?, starts_at = ?, ends_at = ?, \
         updated_at = ? WHERE id = ? AND user_id = ? AND status IN {ACTIVE}"
    ))
    .bind(&slot.id)
    .bind(&slot.doctor_id)
    .bind(&slot.starts_at)
    .bind(&slot.ends_at)
    .bind(&now_text)
    .bind(id.to_string())
    .bind(user.id.to_string())
    .execute(&mut *conn)
    .await;
    match moved {
        Ok(done) if done.rows_affected() == 1 => {
            Ok((StatusCode::OK, load_own(&mut *conn, user, id).await?))
        }
        Ok(_) => Err(AppError::conflict(
            "invalid_state",
            "the appointment changed meanwhile; reload it",
        )),
        Err(err) if crate::db::is_unique_violation(&err) => Err(slot_taken(conn, &slot).await),
        Err(err) => Err(err.into()),
    }
}

/// The signed-in doctor's appointments with patient names (doctor role).
#[utoipa::path(get, path = "/api/doctor/appointments", tag = "appointments",
    security(("bearer" = [])),
    params(
        ("status" = Option<AppointmentStatus>, Query, description = "only this status"),
        ("from" = Option<String>, Query, description = "starting at or after (YYYY-MM-DD or RFC 3339)"),
        ("to" = Option<String>, Query, description = "starting at or before (YYYY-MM-DD includes the day)"),
    ),
    responses(
        (status = 200, description = "the doctor's appointments", body = Vec<Appointment>),
        (status = 401, description = "missing or invalid bearer token", body = ErrorBody),
        (status = 403, description = "not a doctor", body = ErrorBody),
        (status = 404, description = "the account is not linked to a doctor", body = ErrorBody),
    ))]
async fn doctor_appointments(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> AppResult<Json<Vec<Appointment>>> {
    user.require(Role::Doctor)?;
    let (status, from, to) = list_filters(&q)?;
    let doctor: Option<String> = sqlx::query_scalar("SELECT id FROM doctors WHERE user_id = ?")
        .bind(user.id.to_string())
        .fetch_optional(&state.db)
        .await?;
    let doctor = doctor.ok_or_else(|| AppError::not_found("doctor profile"))?;
    let rows: Vec<AppointmentRow> = sqlx::query_as(&format!(
        "{SELECT_APPOINTMENT} WHERE a.doctor_id = ? AND (? IS NULL OR a.status = ?) \
         AND (? IS NULL OR a.starts_at >= ?) AND (? IS NULL OR a.starts_at <= ?) \
         ORDER BY a.starts_at"
    ))
    .bind(doctor)
    .bind(&status)
    .bind(&status)
    .bind(&from)
    .bind(&from)
    .bind(&to)
    .bind(&to)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.into_iter().map(|r| r.into_wire(true)).collect()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::idempotency::crash_tests::{count, crash_and_retry, login, post};
    use crate::seed::{DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD};

    /// The process dies after the appointment is written and before the key's outcome is: the
    /// retry with the same key, once a dead claim would be taken over, books the slot (201), and
    /// the slot holds exactly one appointment, not the client's own booking answering 409.
    #[tokio::test]
    async fn a_booking_that_crashed_before_its_outcome_books_once_on_retry() {
        let state = crate::test_state().await;
        let app = crate::app(state.clone());
        let token = login(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
        let slot: String = sqlx::query_scalar(
            "SELECT id FROM slots s WHERE starts_at > ? AND NOT EXISTS \
             (SELECT 1 FROM appointments a WHERE a.slot_id = s.id) ORDER BY starts_at LIMIT 1",
        )
        .bind(ts(now() + time::Duration::hours(1)))
        .fetch_one(&state.db)
        .await
        .unwrap();
        let booking = json!({"slot_id": slot});
        let book = || post("/api/appointments", Some(&token), Some("crash-1"), &booking);

        crash_and_retry(&app, &state, book).await;
        let on_slot = "SELECT COUNT(*) FROM appointments WHERE slot_id = ?";
        assert_eq!(count(&state, on_slot, &slot).await, 1);
        let stored = "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = ? AND status = 201";
        assert_eq!(count(&state, stored, "crash-1").await, 1);
    }
}
