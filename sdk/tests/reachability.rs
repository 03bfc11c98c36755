//! Recovery after an outage through the reachability probe, against a real backend-mock over
//! TCP: a break that dropped connections opened ends as soon as `GET /health` answers again,
//! a break the server's 5xx opened runs its course.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::time::{Duration, Instant};

use lifeline_sdk::api::AppointmentFilter;
use lifeline_sdk::outbox::{EntryStatus, Intent, OutboxConfig};
use lifeline_sdk::policy::BreakerConfig;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::{ApiGroup, BreakerStatus, Client, Event, Freshness};
use serde_json::json;
use support::{drain_events, free_slots, register, Server};

/// The default breaker without jitter: opens on 2 failures in a row and breaks for 90 s, so a
/// call that goes through soon after the outage can only be the probe's doing.
async fn client_with_long_breaks(server: &Server) -> Client {
    let client = server
        .builder()
        .circuit_breaker(
            BreakerConfig::builder()
                .break_jitter(0.0)
                .reachable_spread(Duration::from_secs(2))
                .build()
                .unwrap(),
        )
        .outbox(OutboxConfig {
            release_spread: Duration::from_secs(1),
            ..OutboxConfig::default()
        })
        .build()
        .unwrap();
    register(&client).await;
    client
}

fn open_for(client: &Client, group: ApiGroup) -> Duration {
    match client.breaker_state(group) {
        BreakerStatus::Open { retry_in } => retry_in,
        other => panic!("{group} should be open, is {other:?}"),
    }
}

#[tokio::test]
async fn after_a_network_outage_the_probe_ends_the_break_and_the_next_call_goes_through() {
    let server = support::start().await;
    let client = client_with_long_breaks(&server).await;
    let slot = free_slots(&client, 1).await[0];
    let cached = client.hospitals().list().await.unwrap();

    // The network goes: every connection, /health included, is dropped.
    server
        .chaos(json!([{"prefix": "/", "drop": true}, {"prefix": "/health", "drop": true}]))
        .await;
    let during = client.hospitals().list().await.unwrap();
    assert!(matches!(during.freshness, Freshness::Stale { .. }));
    assert!(client
        .appointments()
        .list(AppointmentFilter::default())
        .await
        .is_err());
    assert!(open_for(&client, ApiGroup::Auth) > Duration::from_secs(80));
    assert!(open_for(&client, ApiGroup::Appointments) > Duration::from_secs(80));
    // A booking made offline waits for the appointments breaker, not sent.
    let entry = client
        .queue(Intent::BookAppointment(BookAppointment {
            slot_id: slot,
            reason: None,
        }))
        .await
        .unwrap();
    client.sync_now().await.unwrap();
    let waiting = client.outbox().entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(waiting.status, EntryStatus::Queued);
    assert_eq!(
        waiting.attempts, 0,
        "refused by the breaker, not an attempt"
    );
    // Still offline: the probe fails and changes nothing.
    assert!(!client.probe().await);
    assert!(open_for(&client, ApiGroup::Auth) > Duration::from_secs(80));

    // The network is back. Without the probe the breaks would run for another ~90 s.
    server.calm().await;
    let still = client.hospitals().list().await.unwrap();
    assert!(
        matches!(still.freshness, Freshness::Stale { .. }),
        "the break holds until something says the server is reachable"
    );
    let mut events = client.events();
    let back = Instant::now();
    assert!(client.probe().await);
    let seen = drain_events(&mut events);
    let resumed = seen.iter().find_map(|e| match e {
        Event::ReachabilityProbed { reachable, resumed } => Some((*reachable, resumed.clone())),
        _ => None,
    });
    let (reachable, resumed) = resumed.expect("the probe is an event");
    assert!(reachable);
    assert!(resumed.contains(&ApiGroup::Auth), "{resumed:?}");
    assert!(resumed.contains(&ApiGroup::Appointments), "{resumed:?}");
    // The 90 s breaks now end within the 2-s reachable spread, each at its own draw.
    for group in [ApiGroup::Auth, ApiGroup::Appointments] {
        match client.breaker_state(group) {
            BreakerStatus::Open { retry_in } => {
                assert!(retry_in <= Duration::from_secs(2), "{group}: {retry_in:?}")
            }
            BreakerStatus::HalfOpen => {}
            other => panic!("{group}: {other:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(2010)).await;
    assert_eq!(
        client.breaker_state(ApiGroup::Auth),
        BreakerStatus::HalfOpen
    );

    // The next read is the half-open probe and answers fresh data at once.
    let fresh = client.hospitals().list().await.unwrap();
    assert_eq!(fresh.freshness, Freshness::Fresh);
    assert_eq!(fresh.value, cached.value);
    assert_eq!(client.breaker_state(ApiGroup::Auth), BreakerStatus::Closed);
    // The booking that waited for the appointments break is delivered by the drain the
    // probe started, without waiting for the break's old end.
    let status = match tokio::time::timeout(
        Duration::from_secs(10),
        client.outbox().wait(&entry.id),
    )
    .await
    {
        Ok(s) => s.unwrap(),
        Err(_) => panic!(
            "not delivered: {:?} {:?}",
            client.outbox().entry(&entry.id).await,
            client.breaker_state(ApiGroup::Appointments)
        ),
    };
    assert!(
        matches!(status, EntryStatus::Confirmed { .. }),
        "{status:?}"
    );
    assert!(
        back.elapsed() < Duration::from_secs(10),
        "{:?}",
        back.elapsed()
    );
    assert_eq!(
        client.breaker_state(ApiGroup::Appointments),
        BreakerStatus::Closed
    );
}

#[tokio::test]
async fn a_break_the_servers_errors_opened_is_not_shortened_by_the_probe() {
    let server = support::start().await;
    let client = client_with_long_breaks(&server).await;
    client.hospitals().list().await.unwrap();

    // The server answers, with 503s: its own trouble, not the network's.
    server
        .chaos(json!([{"prefix": "/api", "status": 503}]))
        .await;
    let during = client.hospitals().list().await.unwrap();
    assert!(matches!(during.freshness, Freshness::Stale { .. }));
    let before = open_for(&client, ApiGroup::Auth);
    server.calm().await;

    let mut events = client.events();
    assert!(client.probe().await, "/health answers");
    assert!(drain_events(&mut events).iter().any(|e| matches!(
        e,
        Event::ReachabilityProbed { reachable: true, resumed } if resumed.is_empty()
    )));
    let left = open_for(&client, ApiGroup::Auth);
    assert!(
        left > before - Duration::from_secs(5),
        "{left:?} of {before:?}"
    );
    let hospitals_calls = server.faults.requests_to("GET", "/api/hospitals").len();
    let after = client.hospitals().list().await.unwrap();
    assert!(matches!(after.freshness, Freshness::Stale { .. }));
    assert_eq!(
        server.faults.requests_to("GET", "/api/hospitals").len(),
        hospitals_calls,
        "the open breaker still refuses without sending"
    );
}
