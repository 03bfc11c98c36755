//! Outbox exactly-once against the real backend under random fault schedules.
//!
//! Bookings are queued in the client's outbox, then drained through the full pipeline while
//! backend-mock fails in random ways between drains: 5xx before the handler, connections
//! cut before a byte, slow answers past the attempt timeout, and answers lost *after* the
//! booking was applied. Whatever the schedule, once the backend is healthy again:
//!
//! - every accepted write ends confirmed, rejected or in conflict, and is reported so
//!   exactly once;
//! - the backend holds exactly one appointment per confirmed booking (a lost answer replayed
//!   with the same idempotency key never books twice), and none for the others.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::{EntryStatus, Intent, OutboxConfig};
use lifeline_sdk::policy::{Backoff, RetryPolicy};
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::types::AppointmentStatus;
use lifeline_sdk::{Event, SessionState};
use proptest::prelude::*;
use serde_json::json;
use support::{drain_events, free_slots, register, start};

#[derive(Debug, Clone)]
enum Fault {
    Healthy,
    ServerError { rate: f64 },
    Drop { rate: f64 },
    Slow,
    LoseAnswers { count: usize },
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Healthy),
        (0.3f64..=1.0).prop_map(|rate| Fault::ServerError { rate }),
        (0.3f64..=1.0).prop_map(|rate| Fault::Drop { rate }),
        Just(Fault::Slow),
        (1usize..=3).prop_map(|count| Fault::LoseAnswers { count }),
    ]
}

async fn scenario(bookings: usize, duplicate: bool, schedule: Vec<Fault>) {
    let server = start().await;
    let store = Store::memory();
    let client = server
        .builder()
        .attempt_timeout(Duration::from_millis(300))
        .call_timeout(Duration::from_secs(2))
        .retry_policy(RetryPolicy::default().with_max_retries(1).with_backoff(
            Backoff::new(Duration::from_millis(10), Duration::from_millis(30)).unwrap(),
        ))
        .outbox(OutboxConfig {
            backoff: Backoff::new(Duration::from_millis(5), Duration::from_millis(40)).unwrap(),
            ..OutboxConfig::default()
        })
        .store(store.clone())
        .build()
        .unwrap();
    // Sign up with everyday timeouts (password hashing is slow in debug builds), then
    // restore that session in the client under test.
    let signup = server.builder().store(store).build().unwrap();
    register(&signup).await;
    assert_eq!(client.restore().await.unwrap(), SessionState::Active);
    let mut slots = free_slots(&client, bookings).await;
    if duplicate {
        // Two bookings of one slot: one must end in conflict, never both confirmed.
        slots.push(slots[0]);
    }
    let mut events = client.events();
    let mut ids = Vec::new();
    for slot in &slots {
        let entry = client
            .queue(Intent::BookAppointment(BookAppointment {
                slot_id: *slot,
                reason: None,
            }))
            .await
            .unwrap();
        ids.push(entry.id);
    }

    for fault in schedule {
        match fault {
            Fault::Healthy => server.calm().await,
            Fault::ServerError { rate } => {
                server
                    .chaos(json!([{"prefix": "/api/appointments", "methods": ["POST"], "status": 503, "error_rate": rate}]))
                    .await
            }
            Fault::Drop { rate } => {
                server
                    .chaos(json!([{"prefix": "/api/appointments", "methods": ["POST"], "drop": true, "error_rate": rate}]))
                    .await
            }
            Fault::Slow => {
                server
                    .chaos(json!([{"prefix": "/api/appointments", "methods": ["POST"], "latency_ms": 600}]))
                    .await
            }
            Fault::LoseAnswers { count } => {
                server.calm().await;
                server.faults.lose_answers("POST", "/api/appointments", count);
            }
        }
        client.sync_now().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    server.calm().await;
    server.faults.lose_answers("POST", "/api/appointments", 0);
    // Slow requests may still be finishing on the server; then drain until all settle.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut settled = false;
    for _ in 0..100 {
        client.sync_now().await.unwrap();
        let entries = client.outbox().all_entries().await.unwrap();
        if entries.iter().all(|e| e.status.is_final()) {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(settled, "every write settles once the backend is healthy");

    // Each write reported settled exactly once.
    let mut reported: HashMap<String, usize> = HashMap::new();
    for event in drain_events(&mut events) {
        if let Event::Synced { id, .. } = event {
            *reported.entry(id).or_default() += 1;
        }
    }
    for id in &ids {
        assert_eq!(
            reported.get(id),
            Some(&1),
            "entry {id} reported once: {reported:?}"
        );
    }

    // One appointment per confirmed booking, none for the rest.
    let entries = client.outbox().all_entries().await.unwrap();
    let mut confirmed = HashSet::new();
    for entry in &entries {
        match &entry.status {
            EntryStatus::Confirmed { response } => {
                confirmed.insert(response["id"].as_str().unwrap().to_string());
            }
            EntryStatus::Conflict { details } => {
                assert!(duplicate, "only the duplicate booking conflicts: {details}");
            }
            other => panic!("unexpected final state {other:?}"),
        }
    }
    let expected_confirmed = bookings;
    assert_eq!(confirmed.len(), expected_confirmed, "{entries:#?}");
    let booked: Vec<_> = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap()
        .value
        .into_iter()
        .filter(|a| a.status != AppointmentStatus::Cancelled)
        .collect();
    assert_eq!(
        booked.len(),
        confirmed.len(),
        "exactly one appointment per confirmed booking"
    );
    for appointment in booked {
        assert!(confirmed.contains(&appointment.id.to_string()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn outbox_exactly_once_under_random_fault_schedules(
        bookings in 1usize..=3,
        duplicate in any::<bool>(),
        schedule in proptest::collection::vec(fault(), 2..6),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(scenario(bookings, duplicate, schedule));
    }
}
