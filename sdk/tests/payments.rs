//! Payments across a restart and an outage: the pending reference is stored before the
//! authorization URL is handed out, and verification pushes through a payments outage.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::Duration;

use backend_mock::routes::provider::SUCCESS_CARD;
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::types::payments::PaymentStatus;
use lifeline_sdk::types::AppointmentStatus;
use lifeline_sdk::SessionState;
use serde_json::json;
use support::{free_slots, register, start};

#[tokio::test]
async fn a_payment_started_before_a_restart_is_verified_through_an_outage() {
    let server = start().await;
    let store = Store::memory();
    let first = server.builder().store(store.clone()).build().unwrap();
    register(&first).await;
    let slot = free_slots(&first, 1).await[0];
    let appointment = first
        .appointments()
        .book(&BookAppointment {
            slot_id: slot,
            reason: None,
        })
        .await
        .unwrap();
    assert_eq!(appointment.status, AppointmentStatus::PendingPayment);

    let started = first.payments().start(appointment.id).await.unwrap();
    let pending = first.payments().pending().await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(
        pending[0].reference.as_deref(),
        Some(started.reference.as_str())
    );

    // Starting again is the same payment (same idempotency key, same reference).
    let again = first.payments().start(appointment.id).await.unwrap();
    assert_eq!(again.reference, started.reference);

    // The user pays at the provider; the app was killed meanwhile.
    let charged = server
        .post_json(
            "/provider/charge",
            json!({"reference": started.reference, "card": SUCCESS_CARD}),
        )
        .await;
    assert!(
        charged.status().is_success(),
        "{}",
        charged.text().await.unwrap()
    );
    drop(first);

    // The app restarts into a payments outage; verification waits it out.
    server
        .chaos(json!([{"prefix": "/api/payments", "status": 503, "down_for_ms": 700}]))
        .await;
    let second = server.builder().store(store).build().unwrap();
    assert_eq!(second.restore().await.unwrap(), SessionState::Active);
    let started_at = std::time::Instant::now();
    let results = second.payments().resume_pending().await.unwrap();
    assert_eq!(results.len(), 1);
    let verified = results[0]
        .1
        .as_ref()
        .expect("verified once the outage ends");
    assert!(started_at.elapsed() >= Duration::from_millis(600));
    assert_eq!(verified.status, PaymentStatus::Success);
    assert_eq!(verified.reference, started.reference);
    assert!(
        second.payments().pending().await.unwrap().is_empty(),
        "settled payments are forgotten"
    );

    let booked = second
        .appointments()
        .get(appointment.id)
        .await
        .unwrap()
        .value;
    assert_eq!(booked.status, AppointmentStatus::Confirmed);
}
