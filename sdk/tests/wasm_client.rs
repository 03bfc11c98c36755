//! Browser tests of the client core in headless Chromium: the clocks and timers behind the
//! pipeline, and the pipeline itself against an address nothing listens on (the fetch fails
//! the way it does offline).
//!
//! Run with:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p lifeline-sdk --target wasm32-unknown-unknown --test wasm_client`
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use lifeline_sdk::policy::{Backoff, BreakerConfig, RetryPolicy};
use lifeline_sdk::{time, ApiGroup, BreakerStatus, Client, Event};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn clocks_are_monotonic_and_sleep_waits() {
    let before = time::now();
    let wall = time::unix_ms();
    time::sleep(Duration::from_millis(60)).await;
    let slept = time::now() - before;
    assert!(slept >= Duration::from_millis(55), "{slept:?}");
    assert!(time::unix_ms() >= wall + 55);
    assert!(wall > 1_600_000_000_000, "unix milliseconds");
}

#[wasm_bindgen_test]
async fn timeout_gives_up_on_a_slow_future() {
    let slow = time::timeout(
        Duration::from_millis(20),
        time::sleep(Duration::from_secs(5)),
    )
    .await;
    assert!(slow.is_none());
    let quick = time::timeout(Duration::from_secs(5), async { 7 }).await;
    assert_eq!(quick, Some(7));
}

#[wasm_bindgen_test]
async fn an_unreachable_backend_is_offline_retried_then_breaks_the_circuit() {
    // Port 9 (discard) on loopback: nothing listens, the fetch fails like it does offline.
    let client = Client::builder()
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::default().with_max_retries(2).with_backoff(
            Backoff::new(Duration::from_millis(5), Duration::from_millis(20)).unwrap(),
        ))
        .circuit_breaker(
            BreakerConfig::builder()
                .consecutive_failures(3)
                .min_throughput(3)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut events = client.events();

    let err = client.registry().statistics().await.unwrap_err();
    assert!(err.is_offline(), "{err:?}");
    assert!(err.is_retryable());

    let mut retries = 0;
    let mut opened = false;
    while let Some(Some(event)) = events.next().now_or_never() {
        match event {
            Event::RetryScheduled {
                group: ApiGroup::Registry,
                ..
            } => retries += 1,
            Event::BreakerChanged {
                group: ApiGroup::Registry,
                state: BreakerStatus::Open { .. },
            } => opened = true,
            _ => {}
        }
    }
    assert_eq!(retries, 2);
    assert!(opened, "three failures open the registry breaker");

    let refused = client.registry().statistics().await.unwrap_err();
    assert!(refused.is_circuit_open(), "{refused:?}");
    assert!(matches!(
        client.breaker_state(ApiGroup::Registry),
        BreakerStatus::Open { .. }
    ));
    assert_eq!(
        client.breaker_state(ApiGroup::Appointments),
        BreakerStatus::Closed
    );
}
