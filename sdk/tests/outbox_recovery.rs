//! Outbox delivery after an outage, against a real backend-mock: deliveries an open breaker
//! refuses are not attempts, and the breaker closing again drains the outbox by itself.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::{EntryStatus, Intent, OutboxConfig};
use lifeline_sdk::policy::Backoff;
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::{ApiGroup, BreakerStatus};
use serde_json::json;
use support::{free_slots, register, start};

#[tokio::test]
async fn a_booking_queued_during_an_outage_is_delivered_when_the_breaker_closes() {
    let server = start().await;
    // Outbox backoff of a few milliseconds, so the entry is due again at once and only the
    // breaker keeps it back; the breaker breaks for 400 ms (see `support`).
    let client = server
        .builder()
        .outbox(OutboxConfig {
            backoff: Backoff::new(Duration::from_millis(1), Duration::from_millis(5)).unwrap(),
            ..OutboxConfig::default()
        })
        .store(Store::memory())
        .build()
        .unwrap();
    register(&client).await;
    let slot = free_slots(&client, 1).await[0];

    server
        .chaos(json!([{"prefix": "/api/appointments", "methods": ["POST"], "status": 503}]))
        .await;
    let entry = client
        .queue(Intent::BookAppointment(BookAppointment {
            slot_id: slot,
            reason: None,
        }))
        .await
        .unwrap();

    // Drain until the booking's failures open the appointments breaker.
    let mut open = false;
    for _ in 0..20 {
        client.sync_now().await.unwrap();
        if matches!(
            client.breaker_state(ApiGroup::Appointments),
            BreakerStatus::Open { .. }
        ) {
            open = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(open, "the booking's 503s opened the breaker");
    let attempts = client
        .outbox()
        .entry(&entry.id)
        .await
        .unwrap()
        .unwrap()
        .attempts;
    assert!(attempts >= 1);
    let posts = server.faults.requests_to("POST", "/api/appointments").len();

    // While the breaker is open, drains are refused locally: nothing is sent, the attempt
    // count stays, and the entry waits for the end of the break.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let report = client.sync_now().await.unwrap().unwrap();
        assert_eq!(report.attempts, 0, "{report:?}");
        assert_eq!(report.pending, 1, "{report:?}");
    }
    let refused = client.outbox().entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(refused.status, EntryStatus::Queued);
    assert_eq!(refused.attempts, attempts, "refusals are not attempts");
    assert!(
        refused
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("unavailable for a moment")),
        "{refused:?}"
    );
    assert!(
        refused.next_attempt_at_ms > lifeline_sdk::time::unix_ms() + 100,
        "due when the break ends, not on the outbox's backoff: {refused:?}"
    );
    assert_eq!(
        server.faults.requests_to("POST", "/api/appointments").len(),
        posts,
        "no request went out while the breaker was open"
    );

    // The outage ends; a read after the break is the half-open probe and closes the breaker.
    server.calm().await;
    let started = Instant::now();
    while client.breaker_state(ApiGroup::Appointments) != BreakerStatus::Closed {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the breaker closes"
        );
        let _ = client
            .appointments()
            .list(AppointmentFilter::default())
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // No sync_now from here on: the breaker closing drains the outbox.
    let status = tokio::time::timeout(Duration::from_secs(5), client.outbox().wait(&entry.id))
        .await
        .expect("the booking is delivered once the breaker closes")
        .unwrap();
    assert!(
        matches!(status, EntryStatus::Confirmed { .. }),
        "{status:?}"
    );
    let delivered = client.outbox().entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(delivered.attempts, attempts + 1, "{delivered:?}");
}
