//! A write removed from the outbox while a drain is sending it (the user signs out and
//! chooses to delete queued changes) is not sent again between retries and is not stored
//! back by the drain, against a real backend-mock.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::Duration;

use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::Intent;
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use serde_json::json;
use support::{free_slots, register, start};

#[tokio::test]
async fn a_write_removed_mid_retry_is_neither_sent_nor_stored_again() {
    let server = start().await;
    let client = server.builder().store(Store::memory()).build().unwrap();
    register(&client).await;
    let user = client.current_user().unwrap().id.to_string();
    let slot = free_slots(&client, 1).await[0];

    // Booking POSTs fail with a Retry-After of 2 s: the drain's call waits 2 s to retry.
    server
        .chaos(json!([{"prefix": "/api/appointments", "methods": ["POST"], "status": 503, "retry_after": 2}]))
        .await;
    client
        .queue(Intent::BookAppointment(BookAppointment {
            slot_id: slot,
            reason: Some("deleted while retrying".into()),
        }))
        .await
        .unwrap();
    let drain = tokio::spawn({
        let client = client.clone();
        async move { client.sync_now().await }
    });

    // Once the first attempt has failed, the user deletes their queued writes and the
    // backend recovers, all while the call waits to retry.
    let mut failed = false;
    for _ in 0..100 {
        let errors = server.chaos_state().await["rules"][0]["stats"]["errors"].as_u64();
        if errors >= Some(1) {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(failed, "the first attempt reached the server");
    let cleared = client.outbox().clear_user(&user).await.unwrap();
    assert_eq!(cleared.unsynced, 1);
    server.calm().await;

    tokio::time::timeout(Duration::from_secs(10), drain)
        .await
        .expect("the drain ends")
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    assert!(
        client.outbox().all_entries().await.unwrap().is_empty(),
        "the drain did not store the removed entry again"
    );
    let posts = server.faults.requests_to("POST", "/api/appointments");
    assert_eq!(posts.len(), 1, "no retry after the removal: {posts:?}");
    let mine = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap()
        .value;
    assert!(
        mine.iter().all(|a| a.slot_id != slot),
        "the deleted booking was never made"
    );
}
