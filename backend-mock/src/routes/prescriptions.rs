//! Prescriptions: doctors issue them, patients read and order them. Ordering has one canonical
//! endpoint, needs an Idempotency-Key, and a prescription is ordered at most once (the unique
//! key on `prescription_orders.prescription_id` decides, not a check-then-insert).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use lifeline_types::prescriptions::{
    CreatePrescriptionRequest, Medicine, OrderPrescriptionRequest, Prescription, PrescriptionOrder,
};
use lifeline_types::ErrorBody;
use sqlx::SqliteConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{AuthUser, Role};
use crate::idempotency::{self, IdempotencyKey};
use crate::{AppError, AppResult, AppState};

/// Most medicines on one prescription.
const MAX_MEDICINES: usize = 20;
/// Longest text field of a medicine.
const MAX_FIELD: usize = 500;

/// Routes of the prescriptions group.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
        .routes(routes!(order))
}

type PrescriptionRow = (String, String, String, String, Option<String>, String);
type OrderRow = (String, String, String, String, String);

const SELECT_PRESCRIPTION: &str =
    "SELECT id, patient_id, doctor_id, medicines, notes, issued_at FROM prescriptions";

fn order_from(row: OrderRow) -> PrescriptionOrder {
    let (id, prescription_id, pharmacy_id, status, created_at) = row;
    PrescriptionOrder {
        id: crate::db::uuid(&id),
        prescription_id: crate::db::uuid(&prescription_id),
        pharmacy_id: crate::db::uuid(&pharmacy_id),
        status,
        created_at,
    }
}

async fn with_order(conn: &mut SqliteConnection, row: PrescriptionRow) -> AppResult<Prescription> {
    let (id, patient_id, doctor_id, medicines, notes, issued_at) = row;
    let order: Option<OrderRow> = sqlx::query_as(
        "SELECT id, prescription_id, pharmacy_id, status, created_at FROM prescription_orders \
         WHERE prescription_id = ?",
    )
    .bind(&id)
    .fetch_optional(conn)
    .await?;
    let medicines: Vec<Medicine> = serde_json::from_str(&medicines).map_err(AppError::internal)?;
    let order = order.map(order_from);
    Ok(Prescription {
        id: crate::db::uuid(&id),
        patient_id: crate::db::uuid(&patient_id),
        doctor_id: crate::db::uuid(&doctor_id),
        medicines,
        notes,
        status: if order.is_some() { "ordered" } else { "active" }.to_string(),
        issued_at,
        order,
    })
}

/// A prescription the caller may see: their own, or one they issued. Anything else is 404.
async fn visible(
    conn: &mut SqliteConnection,
    user: &AuthUser,
    id: Uuid,
) -> AppResult<Prescription> {
    let row: Option<PrescriptionRow> = sqlx::query_as(&format!(
        "{SELECT_PRESCRIPTION} WHERE id = ? AND (patient_id = ? OR doctor_id = ?)"
    ))
    .bind(id.to_string())
    .bind(user.id.to_string())
    .bind(user.id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(|| AppError::not_found("prescription"))?;
    with_order(conn, row).await
}

/// The caller's prescriptions (for a doctor, also those they issued), newest first.
#[utoipa::path(
    get,
    path = "/api/prescriptions",
    tag = "prescriptions",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Prescriptions, newest first", body = Vec<Prescription>),
        (status = 401, description = "Not signed in", body = ErrorBody)
    )
)]
async fn list(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Vec<Prescription>>> {
    let mut conn = state.db.acquire().await?;
    let rows: Vec<PrescriptionRow> = sqlx::query_as(&format!(
        "{SELECT_PRESCRIPTION} WHERE patient_id = ? OR doctor_id = ? ORDER BY issued_at DESC, id"
    ))
    .bind(user.id.to_string())
    .bind(user.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(with_order(&mut conn, row).await?);
    }
    Ok(Json(out))
}

/// One prescription; another user's answers 404.
#[utoipa::path(
    get,
    path = "/api/prescriptions/{id}",
    tag = "prescriptions",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Prescription id")),
    responses(
        (status = 200, description = "The prescription", body = Prescription),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such prescription of the caller", body = ErrorBody)
    )
)]
async fn get_one(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> AppResult<Json<Prescription>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(visible(&mut conn, &user, id).await?))
}

/// Orders the caller's prescription from a pharmacy (the nominated one unless the body names
/// another). The same Idempotency-Key replays the first answer; ordering an already ordered
/// prescription with another key is 409 `already_ordered`. The order and the key's outcome are
/// written in one transaction: an order whose answer was lost to a crash left nothing behind,
/// so its retry orders (once) instead of answering 409 `already_ordered`.
#[utoipa::path(
    post,
    path = "/api/prescriptions/{id}/order",
    tag = "prescriptions",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Prescription id"),
        ("Idempotency-Key" = String, Header, description = "Required")
    ),
    request_body(content = Option<OrderPrescriptionRequest>, description = "Optional; `{}` or no body uses the nominated pharmacy"),
    responses(
        (status = 201, description = "Ordered", body = Prescription),
        (status = 400, description = "Missing Idempotency-Key", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such prescription of the caller, or unknown pharmacy", body = ErrorBody),
        (status = 409, description = "`already_ordered`", body = ErrorBody),
        (status = 422, description = "`no_pharmacy`: none named and none nominated; or `idempotency_key_reused`", body = ErrorBody)
    )
)]
async fn order(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Path(id): Path<Uuid>,
    body: Option<Json<OrderPrescriptionRequest>>,
) -> AppResult<Response> {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let path = format!("/api/prescriptions/{id}/order");
    let fingerprint = ("POST", path.as_str(), &req);
    idempotency::run(&state, user.id, &key, true, &fingerprint, async |conn| {
        place_order(&user, id, req.pharmacy_id, conn).await
    })
    .await
}

/// The order's reads and writes, all on `conn`: the order's transaction.
async fn place_order(
    user: &AuthUser,
    id: Uuid,
    pharmacy: Option<Uuid>,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, Prescription)> {
    // Only the patient orders their prescription; for anyone else it does not exist.
    let owner: Option<String> =
        sqlx::query_scalar("SELECT patient_id FROM prescriptions WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    if owner.as_deref() != Some(user.id.to_string().as_str()) {
        return Err(AppError::not_found("prescription"));
    }
    let pharmacy_id = match pharmacy {
        Some(p) => p,
        None => crate::routes::pharmacies::nominated_id(&mut *conn, user.id)
            .await?
            .ok_or_else(|| {
                AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "no_pharmacy",
                    "name a pharmacy or nominate one first",
                )
            })?,
    };
    crate::routes::pharmacies::load(&mut *conn, pharmacy_id).await?;
    let order_id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO prescription_orders (id, prescription_id, user_id, pharmacy_id, status, \
         created_at) VALUES (?, ?, ?, ?, 'placed', ?)",
    )
    .bind(order_id.to_string())
    .bind(id.to_string())
    .bind(user.id.to_string())
    .bind(pharmacy_id.to_string())
    .bind(crate::db::ts(crate::db::now()))
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if crate::db::is_unique_violation(&err) => {
            let existing: Option<String> =
                sqlx::query_scalar("SELECT id FROM prescription_orders WHERE prescription_id = ?")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
            return Err(AppError::conflict(
                "already_ordered",
                "this prescription is already ordered",
            )
            .with_details(serde_json::json!({ "order_id": existing })));
        }
        Err(err) => return Err(err.into()),
    }
    tracing::info!(prescription = %id, order = %order_id, "prescription ordered");
    Ok((StatusCode::CREATED, visible(conn, user, id).await?))
}

/// Checks a new prescription: at least one and at most 20 medicines, every field filled and
/// at most 500 characters.
fn validate(req: &CreatePrescriptionRequest) -> AppResult<()> {
    if req.medicines.is_empty() {
        return Err(AppError::validation(
            "a prescription needs at least one medicine",
        ));
    }
    if req.medicines.len() > MAX_MEDICINES {
        return Err(AppError::validation(format!(
            "a prescription holds at most {MAX_MEDICINES} medicines"
        )));
    }
    for (index, m) in req.medicines.iter().enumerate() {
        for (field, value) in [
            ("name", &m.name),
            ("dosage", &m.dosage),
            ("duration", &m.duration),
            ("instructions", &m.instructions),
        ] {
            if value.trim().is_empty() {
                return Err(
                    AppError::validation(format!("medicine {index}: {field} is empty"))
                        .with_details(serde_json::json!({ "index": index, "field": field })),
                );
            }
            if value.chars().count() > MAX_FIELD {
                return Err(AppError::validation(format!(
                    "medicine {index}: {field} is longer than {MAX_FIELD} characters"
                ))
                .with_details(serde_json::json!({ "index": index, "field": field })));
            }
        }
    }
    if req.notes.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::validation(
            "notes are longer than 2000 characters",
        ));
    }
    Ok(())
}

/// Doctor role: issues a prescription to a patient. With an Idempotency-Key, a retry with the
/// same key and body replays the first answer; the prescription and the key's outcome are
/// written in one transaction, so a retry after an answer lost to a crash issues it once.
#[utoipa::path(
    post,
    path = "/api/prescriptions",
    tag = "prescriptions",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Optional; the same key and body replay the first answer")),
    request_body = CreatePrescriptionRequest,
    responses(
        (status = 201, description = "Issued", body = Prescription),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not a doctor", body = ErrorBody),
        (status = 404, description = "Unknown patient", body = ErrorBody),
        (status = 422, description = "Invalid medicines, or `idempotency_key_reused`", body = ErrorBody)
    )
)]
async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    Json(req): Json<CreatePrescriptionRequest>,
) -> AppResult<Response> {
    user.require(Role::Doctor)?;
    validate(&req)?;
    let fingerprint = ("POST", "/api/prescriptions", &req);
    idempotency::run(&state, user.id, &key, false, &fingerprint, async |conn| {
        issue(&user, &req, conn).await
    })
    .await
}

/// The issue's reads and writes, all on `conn`: the issue's transaction.
async fn issue(
    user: &AuthUser,
    req: &CreatePrescriptionRequest,
    conn: &mut SqliteConnection,
) -> AppResult<(StatusCode, Prescription)> {
    let patient: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = ? AND role = 'patient'")
            .bind(req.patient_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    if patient.is_none() {
        return Err(AppError::not_found("patient"));
    }
    let id = Uuid::new_v4();
    let medicines: Vec<Medicine> = req
        .medicines
        .iter()
        .map(|m| Medicine {
            name: m.name.trim().to_string(),
            dosage: m.dosage.trim().to_string(),
            duration: m.duration.trim().to_string(),
            instructions: m.instructions.trim().to_string(),
        })
        .collect();
    sqlx::query(
        "INSERT INTO prescriptions (id, patient_id, doctor_id, medicines, notes, issued_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(req.patient_id.to_string())
    .bind(user.id.to_string())
    .bind(serde_json::to_string(&medicines).map_err(AppError::internal)?)
    .bind(
        req.notes
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty()),
    )
    .bind(crate::db::ts(crate::db::now()))
    .execute(&mut *conn)
    .await?;
    tracing::info!(prescription = %id, "prescription issued");
    Ok((StatusCode::CREATED, visible(conn, user, id).await?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::idempotency::crash_tests::{count, crash_and_retry, login, post};
    use crate::seed::{
        DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_PASSWORD, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD,
    };

    /// The process dies after the order is written and before the key's outcome is: the
    /// patient's retry with the same key gets its order (201), not 409 `already_ordered`, and
    /// the prescription is ordered once.
    #[tokio::test]
    async fn an_order_that_crashed_before_its_outcome_is_answered_201_on_retry() {
        let state = crate::test_state().await;
        let app = crate::app(state.clone());
        let token = login(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
        let (prescription, pharmacy): (String, String) = sqlx::query_as(
            "SELECT p.id, (SELECT id FROM pharmacies ORDER BY id LIMIT 1) FROM prescriptions p \
             JOIN users u ON u.id = p.patient_id WHERE u.email = ? AND NOT EXISTS \
             (SELECT 1 FROM prescription_orders o WHERE o.prescription_id = p.id) LIMIT 1",
        )
        .bind(DEMO_PATIENT_EMAIL)
        .fetch_one(&state.db)
        .await
        .unwrap();
        let path = format!("/api/prescriptions/{prescription}/order");
        let body = json!({"pharmacy_id": pharmacy});
        let order = || post(&path, Some(&token), Some("crash-order"), &body);

        let ordered = crash_and_retry(&app, &state, order).await;
        assert_eq!(ordered["status"], "ordered");
        let orders = "SELECT COUNT(*) FROM prescription_orders WHERE prescription_id = ?";
        assert_eq!(count(&state, orders, &prescription).await, 1);
    }

    /// The process dies after the prescription is written and before the key's outcome is: the
    /// doctor's retry with the same key gets a prescription (201), and exactly one was issued.
    #[tokio::test]
    async fn an_issue_that_crashed_before_its_outcome_issues_once_on_retry() {
        let state = crate::test_state().await;
        let app = crate::app(state.clone());
        let token = login(&app, DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_PASSWORD).await;
        let patient: String = sqlx::query_scalar("SELECT id FROM users WHERE email = ?")
            .bind(DEMO_PATIENT_EMAIL)
            .fetch_one(&state.db)
            .await
            .unwrap();
        let issued = "SELECT COUNT(*) FROM prescriptions WHERE patient_id = ?";
        let before = count(&state, issued, &patient).await;
        let body = json!({
            "patient_id": patient,
            "medicines": [{
                "name": "Amoxicillin 500 mg capsules",
                "dosage": "1 capsule",
                "duration": "7 days",
                "instructions": "Three times a day"
            }]
        });
        let issue = || post("/api/prescriptions", Some(&token), Some("crash-rx"), &body);

        crash_and_retry(&app, &state, issue).await;
        assert_eq!(count(&state, issued, &patient).await, before + 1);
    }
}
