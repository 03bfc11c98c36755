//! The client against a real backend-mock misbehaving on purpose: outages, flapping, slow
//! answers, 429s, one group down, refreshes during outages, lost answers, client errors.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::{EntryStatus, Intent};
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::{ApiGroup, BreakerStatus, Event, Freshness, SessionState};
use serde_json::json;
use support::{drain_events, free_slots, register, start};

/// Polls `f` until it answers true, for at most `limit`.
async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn outage_serves_the_last_good_value_with_its_age_then_fresh_after_recovery() {
    let server = start().await;
    let client = server.signed_in().await;
    let mut events = client.events();

    let first = client.hospitals().list().await.unwrap();
    assert_eq!(first.freshness, Freshness::Fresh);
    tokio::time::sleep(Duration::from_millis(150)).await;

    server
        .chaos(json!([{"prefix": "/api/hospitals", "status": 503}]))
        .await;
    let during = client.hospitals().list().await.unwrap();
    let age = during
        .freshness
        .age()
        .expect("served stale during the outage");
    assert!(age >= Duration::from_millis(150), "age {age:?}");
    assert!(age < Duration::from_secs(10), "age {age:?}");
    assert_eq!(during.value, first.value);
    assert!(drain_events(&mut events)
        .iter()
        .any(|e| matches!(e, Event::ServedFromCache { path, .. } if path == "/api/hospitals")));

    server.calm().await;
    let recovered = eventually(Duration::from_secs(5), || async {
        client.hospitals().list().await.unwrap().freshness == Freshness::Fresh
    })
    .await;
    assert!(recovered, "fresh again after recovery");
}

#[tokio::test]
async fn an_outage_with_nothing_cached_is_an_error_that_says_so() {
    let server = start().await;
    let client = server.signed_in().await;
    server
        .chaos(json!([{"prefix": "/api/registry", "drop": true}]))
        .await;
    let err = client.registry().statistics().await.unwrap_err();
    assert!(err.is_offline() || err.is_circuit_open(), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn flapping_backend_never_surfaces_an_error_once_cached() {
    let server = start().await;
    let client = server.signed_in().await;
    client.registry().statistics().await.unwrap();
    server
        .chaos(json!([{"prefix": "/api/registry", "flap": {"up_ms": 150, "down_ms": 150}, "status": 502}]))
        .await;
    let (mut fresh, mut stale) = (0, 0);
    for _ in 0..20 {
        let got = client
            .registry()
            .statistics()
            .await
            .expect("a cached read never fails while the backend flaps");
        if got.is_stale() {
            stale += 1;
        } else {
            fresh += 1;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert!(fresh > 0, "some reads land in up periods ({stale} stale)");
}

#[tokio::test]
async fn slow_answers_hit_the_attempt_timeout_and_are_retried() {
    let server = start().await;
    let client = server
        .builder()
        .attempt_timeout(Duration::from_millis(200))
        .call_timeout(Duration::from_secs(3))
        .store(Store::memory())
        .build()
        .unwrap();
    register(&client).await;
    let mut events = client.events();
    server
        .chaos(json!([{"prefix": "/api/registry", "latency_ms": 1000}]))
        .await;

    let started = Instant::now();
    let err = client.registry().statistics().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let retries = drain_events(&mut events)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                Event::RetryScheduled {
                    group: ApiGroup::Registry,
                    ..
                }
            )
        })
        .count();
    assert!(retries >= 1, "timeouts are retried");
}

#[tokio::test]
async fn retry_after_of_a_429_is_honoured() {
    let server = start().await;
    let client = server.signed_in().await;
    let mut events = client.events();
    server
        .chaos(
            json!([{"prefix": "/api/registry", "status": 429, "retry_after": 1, "remaining": 1}]),
        )
        .await;
    let started = Instant::now();
    let got = client.registry().statistics().await.unwrap();
    assert_eq!(got.freshness, Freshness::Fresh);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let delays: Vec<Duration> = drain_events(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            Event::RetryScheduled { delay, .. } => Some(delay),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 1);
    assert!(delays[0] >= Duration::from_secs(1));
}

#[tokio::test]
async fn payments_down_opens_only_the_payments_breaker() {
    let server = start().await;
    let client = server.signed_in().await;
    let mut events = client.events();
    server
        .chaos(json!([{"prefix": "/api/payments", "status": 503}]))
        .await;

    let mut open = false;
    for _ in 0..10 {
        let err = client.payments().history().await.unwrap_err();
        if err.is_circuit_open() {
            assert_eq!(err.circuit_group(), Some(ApiGroup::Payments));
            open = true;
            break;
        }
        assert_eq!(err.status(), Some(503));
    }
    assert!(open, "the payments breaker opened");
    assert!(matches!(
        client.breaker_state(ApiGroup::Payments),
        BreakerStatus::Open { .. }
    ));

    let appointments = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap();
    assert_eq!(appointments.freshness, Freshness::Fresh);
    assert_eq!(
        client.breaker_state(ApiGroup::Appointments),
        BreakerStatus::Closed
    );
    let states = client.breaker_states();
    assert_eq!(states.len(), ApiGroup::ALL.len());
    assert!(drain_events(&mut events).iter().any(|e| matches!(
        e,
        Event::BreakerChanged {
            group: ApiGroup::Payments,
            state: BreakerStatus::Open { .. }
        }
    )));
}

#[tokio::test]
async fn refresh_during_an_outage_keeps_the_session_unverified_then_active() {
    let server = start().await;
    let client = server.signed_in().await;
    client.profile().get().await.unwrap();
    client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap();

    // The access token is refused and the auth service is down: the refresh fails.
    server.faults.reject_current_token();
    server
        .chaos(json!([{"prefix": "/api/auth", "status": 503}]))
        .await;
    let during = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap();
    assert!(during.is_stale(), "served from cache while unverified");
    assert_eq!(client.session_state(), SessionState::Unverified);
    assert!(client.current_user().is_some(), "still signed in");
    assert!(client.cached_profile().is_some(), "profile kept");

    server.calm().await;
    let active = eventually(Duration::from_secs(5), || async {
        let fresh = client
            .appointments()
            .list(AppointmentFilter::default())
            .await
            .map(|f| !f.is_stale())
            .unwrap_or(false);
        fresh && client.session_state() == SessionState::Active
    })
    .await;
    assert!(active, "active again after recovery");
}

#[tokio::test]
async fn restore_with_the_backend_unreachable_is_unverified_with_the_cached_profile() {
    let server = start().await;
    let store = Store::memory();
    let first = server.builder().store(store.clone()).build().unwrap();
    register(&first).await;
    let profile = first.profile().get().await.unwrap().value;

    // The app restarts while the auth service is down.
    server
        .chaos(json!([{"prefix": "/api/auth", "drop": true}]))
        .await;
    let second = server.builder().store(store.clone()).build().unwrap();
    let state = second.restore().await.unwrap();
    assert_eq!(state, SessionState::Unverified);
    assert_eq!(second.cached_profile().map(|p| p.id), Some(profile.id));

    server.calm().await;
    let third = server.builder().store(store).build().unwrap();
    assert_eq!(third.restore().await.unwrap(), SessionState::Active);
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let server = start().await;
    let client = server.signed_in().await;
    let before = server.faults.refresh_calls();
    server.faults.reject_current_token();

    let calls = (0..8).map(|_| {
        let client = client.clone();
        async move {
            client
                .appointments()
                .list(AppointmentFilter::default())
                .await
        }
    });
    for result in join_all(calls).await {
        assert_eq!(result.unwrap().freshness, Freshness::Fresh);
    }
    assert_eq!(
        server.faults.refresh_calls() - before,
        1,
        "exactly one refresh"
    );
    assert_eq!(client.refresh_count(), 1);
    assert_eq!(client.session_state(), SessionState::Active);
}

#[tokio::test]
async fn only_a_refresh_refused_with_401_expires_the_session_and_queued_writes_stay() {
    let server = start().await;
    let client = server.signed_in().await;
    let slot = free_slots(&client, 1).await[0];
    server.faults.reject_current_token();
    server.faults.refuse_refreshes();

    let err = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap_err();
    assert!(err.is_auth_expired(), "{err:?}");
    assert_eq!(client.session_state(), SessionState::Expired);

    // A write made now is kept for this user's next sign-in, not sent and not dropped.
    let entry = client
        .queue(Intent::BookAppointment(BookAppointment {
            slot_id: slot,
            reason: None,
        }))
        .await
        .unwrap();
    client.sync_now().await.unwrap();
    let kept = client.outbox().entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(kept.status, EntryStatus::Queued);
    assert_eq!(kept.attempts, 0);
    assert!(server
        .faults
        .requests_to("POST", "/api/appointments")
        .is_empty());
}

#[tokio::test]
async fn a_retried_booking_keeps_its_idempotency_key_and_books_once() {
    let server = start().await;
    let client = server.signed_in().await;
    let slot = free_slots(&client, 1).await[0];
    // The first answer is lost after the server booked.
    server.faults.lose_answers("POST", "/api/appointments", 1);

    let booked = client
        .appointments()
        .book(&BookAppointment {
            slot_id: slot,
            reason: None,
        })
        .await
        .expect("the retry gets the stored answer");
    let posts = server.faults.requests_to("POST", "/api/appointments");
    assert_eq!(posts.len(), 2, "one retry");
    assert!(posts[0].idempotency_key.is_some());
    assert_eq!(
        posts[0].idempotency_key, posts[1].idempotency_key,
        "same key"
    );

    let mine = client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .unwrap()
        .value;
    let on_slot: Vec<_> = mine.iter().filter(|a| a.slot_id == slot).collect();
    assert_eq!(on_slot.len(), 1, "exactly one appointment");
    assert_eq!(on_slot[0].id, booked.id);
}

#[tokio::test]
async fn a_post_without_a_key_is_never_retried() {
    let server = start().await;
    let client = server.signed_in().await;
    server
        .chaos(json!([{"prefix": "/api/medical-records/request-otp", "status": 503}]))
        .await;
    let err = client.records().request_otp().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        server
            .faults
            .requests_to("POST", "/api/medical-records/request-otp")
            .len(),
        1
    );
}

#[tokio::test]
async fn client_errors_are_never_retried_and_never_open_the_breaker() {
    let server = start().await;
    let client = server.signed_in().await;
    let missing = uuid::Uuid::new_v4();
    for _ in 0..10 {
        let err = client.appointments().get(missing).await.unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert!(!err.is_retryable());
        assert_eq!(err.code(), Some("not_found"));
    }
    let path = format!("/api/appointments/{missing}");
    assert_eq!(server.faults.requests_to("GET", &path).len(), 10);
    assert_eq!(
        client.breaker_state(ApiGroup::Appointments),
        BreakerStatus::Closed
    );

    // A booking the server refuses (unknown slot) is not retried either.
    let err = client
        .appointments()
        .book(&BookAppointment {
            slot_id: missing,
            reason: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400..=499)), "{err:?}");
    assert_eq!(
        server.faults.requests_to("POST", "/api/appointments").len(),
        1
    );
}
