//! Where a user's data lives: medical records stay out of the persistent store unless the app
//! opts in, and only an explicit logout wipes the user's cache and queued writes.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::Intent;
use lifeline_sdk::storage::{Store, Table};
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::{RecordsCaching, SessionState};
use serde_json::json;
use support::{free_slots, register, start};

async fn cached_keys(store: &Store) -> Vec<String> {
    store
        .scan(Table::CACHE, "")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

async fn open_records(
    server: &support::Server,
    caching: RecordsCaching,
) -> (lifeline_sdk::Client, Store) {
    let store = Store::memory();
    let client = server
        .builder()
        .store(store.clone())
        .records_caching(caching)
        .build()
        .unwrap();
    register(&client).await;
    client.records().request_otp().await.unwrap();
    let email = client.current_user().unwrap().email;
    let code = server.mailed_code(&email).await;
    client.records().verify_otp(&code).await.unwrap();
    (client, store)
}

#[tokio::test]
async fn medical_records_are_cached_in_memory_only_by_default() {
    let server = start().await;
    let (client, store) = open_records(&server, RecordsCaching::MemoryOnly).await;
    let records = client.records().list().await.unwrap();
    assert!(!records.is_stale());
    client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap();

    let keys = cached_keys(&store).await;
    assert!(
        keys.iter().any(|k| k.contains("/api/appointments")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.contains("/api/medical-records")),
        "{keys:?}"
    );

    // Still served from memory in an outage.
    server
        .chaos(json!([{"prefix": "/api/medical-records", "status": 503}]))
        .await;
    let stale = client.records().list().await.unwrap();
    assert!(stale.is_stale());
    assert_eq!(stale.value, records.value);
}

#[tokio::test]
async fn medical_records_are_persisted_when_the_app_opts_in() {
    let server = start().await;
    let (client, store) = open_records(&server, RecordsCaching::Persistent).await;
    client.records().list().await.unwrap();
    let keys = cached_keys(&store).await;
    assert!(
        keys.iter().any(|k| k.contains("/api/medical-records")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn explicit_logout_wipes_the_users_cache_and_queued_writes() {
    let server = start().await;
    let store = Store::memory();
    let client = server.builder().store(store.clone()).build().unwrap();
    register(&client).await;
    let slot = free_slots(&client, 1).await[0];
    client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap();
    let user = client.current_user().unwrap().id.to_string();
    client
        .queue(Intent::BookAppointment(BookAppointment {
            slot_id: slot,
            reason: None,
        }))
        .await
        .unwrap();
    assert!(cached_keys(&store)
        .await
        .iter()
        .any(|k| k.starts_with(&user)));

    client.auth().logout().await.unwrap();
    assert_eq!(client.session_state(), SessionState::Anonymous);
    assert!(client.current_user().is_none());
    assert!(!cached_keys(&store)
        .await
        .iter()
        .any(|k| k.starts_with(&user)));
    assert!(client.outbox().entries(&user).await.unwrap().is_empty());
    assert!(store
        .get(Table::SESSION, "current")
        .await
        .unwrap()
        .is_none());

    // Nothing to restore on the next start.
    let next = server.builder().store(store).build().unwrap();
    assert_eq!(next.restore().await.unwrap(), SessionState::Anonymous);
}
