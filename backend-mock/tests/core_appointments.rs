//! Appointment routes: availability, booking with idempotency keys, slot conflicts with
//! alternatives, ownership, listing, cancel, reschedule, the doctor's list, confirm_paid.

mod core_support;

use axum::http::{Method, StatusCode};
use backend_mock::seed::{DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_PASSWORD};
use backend_mock::{app, test_state};
use core_support::{call, free_slot, get, login, patient_token, post, register, Reply};
use serde_json::{json, Value};

async fn book(app: &axum::Router, token: &str, key: &str, body: Value) -> Reply {
    call(
        app,
        Method::POST,
        "/api/appointments",
        Some(token),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

async fn active_bookings(state: &backend_mock::AppState) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM appointments WHERE status <> 'cancelled'")
        .fetch_one(&state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn availability_marks_taken_and_past_slots() {
    let state = test_state().await;
    let app = app(state.clone());
    let token = patient_token(&app).await;
    let (slot, doctor) = free_slot(&app, &state, false).await;
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    let path = format!("/api/doctors/{doctor}/availability?date={tomorrow}");
    let before = get(&app, &path, None).await;
    assert_eq!(before.body["slots"].as_array().unwrap().len(), 16);
    assert_eq!(
        book(&app, &token, "k1", json!({"slot_id": slot}))
            .await
            .status,
        StatusCode::CREATED
    );
    let after = get(&app, &path, None).await;
    let entry = after.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == slot.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["free"], false);

    let yesterday = (time::OffsetDateTime::now_utc() - time::Duration::days(1)).date();
    let past = get(
        &app,
        &format!("/api/doctors/{doctor}/availability?date={yesterday}"),
        None,
    )
    .await;
    assert!(past.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["free"] == false));

    let bad_date = get(
        &app,
        &format!("/api/doctors/{doctor}/availability?date=tomorrow"),
        None,
    )
    .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = get(
        &app,
        &format!(
            "/api/doctors/{}/availability?date={tomorrow}",
            uuid::Uuid::new_v4()
        ),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn booking_is_idempotent_and_key_is_required() {
    let state = test_state().await;
    let app = app(state.clone());
    let token = patient_token(&app).await;
    let (slot, _) = free_slot(&app, &state, false).await;
    let body = json!({"slot_id": slot, "reason": "Headache"});

    let no_key = post(&app, "/api/appointments", Some(&token), body.clone()).await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_key.code(), "idempotency_key_required");
    let before = active_bookings(&state).await;

    let first = book(&app, &token, "booking-1", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["status"], "confirmed");
    assert_eq!(first.body["reason"], "Headache");
    assert!(first.header("idempotent-replayed").is_none());

    let replay = book(&app, &token, "booking-1", body.clone()).await;
    assert_eq!(replay.status, StatusCode::CREATED);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body, first.body);
    assert_eq!(active_bookings(&state).await, before + 1);

    let reused = book(
        &app,
        &token,
        "booking-1",
        json!({"slot_id": slot, "reason": "Other"}),
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.code(), "idempotency_key_reused");

    let empty_key = book(&app, &token, "", body.clone()).await;
    assert_eq!(empty_key.status, StatusCode::BAD_REQUEST);
    let long_key = book(&app, &token, &"k".repeat(256), body).await;
    assert_eq!(long_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(active_bookings(&state).await, before + 1);
}

#[tokio::test]
async fn taken_slot_is_409_with_alternatives_and_the_outcome_replays() {
    let state = test_state().await;
    let app = app(state.clone());
    let alice = patient_token(&app).await;
    let bob = register(&app, "bob@example.com").await;
    let (slot, doctor) = free_slot(&app, &state, false).await;
    assert_eq!(
        book(&app, &alice, "a", json!({"slot_id": slot}))
            .await
            .status,
        StatusCode::CREATED
    );

    let taken = book(&app, &bob, "b", json!({"slot_id": slot})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "slot_taken");
    let alternatives = taken.body["error"]["details"]["alternatives"]
        .as_array()
        .unwrap();
    assert!(!alternatives.is_empty());
    assert!(alternatives
        .iter()
        .any(|a| a["doctor_id"] == doctor.as_str()));
    assert!(alternatives
        .iter()
        .all(|a| a["id"] != slot.as_str() && a["free"] == true));
    // A 4xx outcome is stored too: the same key and body replays it.
    let again = book(&app, &bob, "b", json!({"slot_id": slot})).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    // An alternative can be booked.
    let alt = alternatives[0]["id"].as_str().unwrap();
    assert_eq!(
        book(&app, &bob, "c", json!({"slot_id": alt})).await.status,
        StatusCode::CREATED
    );

    let conflict = post(
        &app,
        "/api/appointments/check-conflict",
        Some(&bob),
        json!({"slot_id": slot}),
    )
    .await;
    assert_eq!(conflict.status, StatusCode::OK);
    assert_eq!(conflict.body["conflict"], true);
    assert_eq!(conflict.body["reason"], "slot_taken");
    assert!(!conflict.body["alternatives"].as_array().unwrap().is_empty());
    let overlap = post(
        &app,
        "/api/appointments/check-conflict",
        Some(&bob),
        json!({"slot_id": alt}),
    )
    .await;
    assert_eq!(overlap.body["conflict"], true);
}

#[tokio::test]
async fn check_conflict_is_clear_for_a_free_slot_and_404_for_unknown() {
    let state = test_state().await;
    let app = app(state.clone());
    let token = register(&app, "carol@example.com").await;
    let (slot, _) = free_slot(&app, &state, false).await;
    let clear = post(
        &app,
        "/api/appointments/check-conflict",
        Some(&token),
        json!({"slot_id": slot}),
    )
    .await;
    assert_eq!(clear.body["conflict"], false);
    let unknown = post(
        &app,
        "/api/appointments/check-conflict",
        Some(&token),
        json!({"slot_id": uuid::Uuid::new_v4()}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let unknown_book = book(&app, &token, "x", json!({"slot_id": uuid::Uuid::new_v4()})).await;
    assert_eq!(unknown_book.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_users_appointment_is_404_and_lists_are_own() {
    let state = test_state().await;
    let app = app(state.clone());
    let alice = patient_token(&app).await;
    let bob = register(&app, "bob@example.com").await;
    let mine = get(&app, "/api/appointments", Some(&alice)).await;
    assert_eq!(mine.status, StatusCode::OK);
    let mine = mine.body.as_array().unwrap().clone();
    assert!(mine.len() >= 4, "demo patient has past and future visits");
    let id = mine[0]["id"].as_str().unwrap();
    assert_eq!(
        get(&app, &format!("/api/appointments/{id}"), Some(&alice))
            .await
            .status,
        StatusCode::OK
    );
    let theirs = get(&app, &format!("/api/appointments/{id}"), Some(&bob)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.code(), "not_found");
    let cancel = post(
        &app,
        &format!("/api/appointments/{id}/cancel"),
        Some(&bob),
        json!({}),
    )
    .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    assert!(get(&app, "/api/appointments", Some(&bob))
        .await
        .body
        .as_array()
        .unwrap()
        .is_empty());
    let malformed = get(&app, "/api/appointments/not-a-uuid", Some(&alice)).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn list_filters_by_status_and_dates() {
    let app = app(test_state().await);
    let token = patient_token(&app).await;
    let completed = get(&app, "/api/appointments?status=completed", Some(&token))
        .await
        .body;
    let completed = completed.as_array().unwrap();
    assert_eq!(completed.len(), 2);
    assert!(completed.iter().all(|a| a["status"] == "completed"));
    let today = time::OffsetDateTime::now_utc().date();
    let upcoming = get(
        &app,
        &format!("/api/appointments?from={today}"),
        Some(&token),
    )
    .await
    .body;
    let upcoming = upcoming.as_array().unwrap();
    assert_eq!(upcoming.len(), 2);
    assert!(upcoming.iter().any(|a| a["status"] == "pending_payment"));
    let past = get(
        &app,
        &format!("/api/appointments?to={today}&status=completed"),
        Some(&token),
    )
    .await
    .body;
    assert_eq!(past.as_array().unwrap().len(), 2);
    let bad = get(&app, "/api/appointments?status=done", Some(&token)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = get(&app, "/api/appointments?from=yesterday", Some(&token)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn cancel_frees_the_slot_and_is_repeatable() {
    let state = test_state().await;
    let app = app(state.clone());
    let alice = register(&app, "alice@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let (slot, _) = free_slot(&app, &state, false).await;
    let booked = book(&app, &alice, "a", json!({"slot_id": slot})).await;
    let id = booked.body["id"].as_str().unwrap();
    let path = format!("/api/appointments/{id}/cancel");
    let cancelled = call(&app, Method::POST, &path, Some(&alice), None, &[]).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = post(
        &app,
        &path,
        Some(&alice),
        json!({"reason": "changed plans"}),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["status"], "cancelled");
    // The slot is bookable again.
    assert_eq!(
        book(&app, &bob, "b", json!({"slot_id": slot})).await.status,
        StatusCode::CREATED
    );

    // A completed visit cannot be cancelled.
    let demo = patient_token(&app).await;
    let done = get(&app, "/api/appointments?status=completed", Some(&demo))
        .await
        .body;
    let done_id = done[0]["id"].as_str().unwrap();
    let refused = post(
        &app,
        &format!("/api/appointments/{done_id}/cancel"),
        Some(&demo),
        json!({}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.code(), "invalid_state");
}

#[tokio::test]
async fn reschedule_moves_atomically_and_refuses_taken_slots() {
    let state = test_state().await;
    let app = app(state.clone());
    let alice = register(&app, "alice@example.com").await;
    let bob = register(&app, "bob@example.com").await;
    let (slot, doctor) = free_slot(&app, &state, false).await;
    let booked = book(&app, &alice, "a", json!({"slot_id": slot})).await;
    let id = booked.body["id"].as_str().unwrap().to_string();
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    let day = get(
        &app,
        &format!("/api/doctors/{doctor}/availability?date={tomorrow}"),
        None,
    )
    .await
    .body;
    let free: Vec<String> = day["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["free"] == true)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let (target, bobs) = (&free[0], &free[1]);
    assert_eq!(
        book(&app, &bob, "b", json!({"slot_id": bobs})).await.status,
        StatusCode::CREATED
    );

    let path = format!("/api/appointments/{id}/reschedule");
    let moved = post(&app, &path, Some(&alice), json!({"slot_id": target})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["slot_id"], target.as_str());
    // The old slot is free again, so bob can take it.
    assert_eq!(
        book(&app, &bob, "c", json!({"slot_id": slot})).await.status,
        StatusCode::CREATED
    );

    let taken = post(&app, &path, Some(&alice), json!({"slot_id": bobs})).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "slot_taken");
    assert!(taken.body["error"]["details"]["alternatives"].is_array());
    let still = get(&app, &format!("/api/appointments/{id}"), Some(&alice)).await;
    assert_eq!(still.body["slot_id"], target.as_str());

    // A slot of a paid department is another department: refused, nothing changed.
    let (paid_slot, _) = free_slot(&app, &state, true).await;
    let other = post(&app, &path, Some(&alice), json!({"slot_id": paid_slot})).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        get(&app, &format!("/api/appointments/{id}"), Some(&alice))
            .await
            .body["slot_id"],
        target.as_str()
    );
}

#[tokio::test]
async fn paid_department_starts_pending_and_confirm_paid_confirms_once() {
    let state = test_state().await;
    let app = app(state.clone());
    let token = register(&app, "payer@example.com").await;
    let (slot, _) = free_slot(&app, &state, true).await;
    let booked = book(&app, &token, "p", json!({"slot_id": slot})).await;
    assert_eq!(booked.status, StatusCode::CREATED);
    assert_eq!(booked.body["status"], "pending_payment");
    assert!(booked.body["fee_minor"].as_i64().unwrap() > 0);
    let id: uuid::Uuid = booked.body["id"].as_str().unwrap().parse().unwrap();
    use backend_mock::routes::appointments::confirm_paid;
    assert!(confirm_paid(&state.db, id).await.unwrap());
    assert!(!confirm_paid(&state.db, id).await.unwrap());
    let now = get(&app, &format!("/api/appointments/{id}"), Some(&token)).await;
    assert_eq!(now.body["status"], "confirmed");
}

#[tokio::test]
async fn doctor_sees_own_schedule_and_patients_are_forbidden() {
    let state = test_state().await;
    let app = app(state.clone());
    let patient = patient_token(&app).await;
    let forbidden = get(&app, "/api/doctor/appointments", Some(&patient)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.code(), "forbidden");

    let doctor = login(&app, DEMO_DOCTOR_EMAIL, DEMO_DOCTOR_PASSWORD).await;
    let list = get(&app, "/api/doctor/appointments", Some(&doctor)).await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.body.as_array().unwrap().clone();
    assert!(list.len() >= 3);
    assert!(list.iter().all(|a| a["patient_name"] == "Ada Okafor"));
    let upcoming = get(
        &app,
        "/api/doctor/appointments?status=confirmed",
        Some(&doctor),
    )
    .await;
    assert!(upcoming
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "confirmed"));
}
