//! In the browser, a call the SDK gives up on must not leave its `fetch` running: an attempt
//! timeout, the call's deadline and dropping the call future all abort the fetch, so the
//! connection closes and the server stops holding the request.
//!
//! The proof is on the server's side. A real dev backend-mock holds every request to the route
//! under test (a chaos `hang` rule) and counts the requests it holds right now (the rule's
//! `hanging` gauge in `GET /__chaos`). A held request ends only when its connection closes,
//! and Chromium closes an HTTP/1.1 connection only when the fetch on it is aborted; a fetch
//! left running would keep the gauge at 1 for the hang's 10 minutes.
//!
//! The backend's URL is fixed at compile time from `LIFELINE_TEST_BACKEND`, which
//! `./scripts/test` sets after starting the backend. By hand:
//! `LIFELINE_TEST_BACKEND=http://127.0.0.1:PORT CHROMEDRIVER=/usr/bin/chromedriver cargo test -p lifeline-sdk --target wasm32-unknown-unknown --test wasm_abort`
//! with `backend-mock --dev --addr 127.0.0.1:PORT --database :memory:` running.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use futures::future::{self, Either};
use futures::FutureExt;
use lifeline_sdk::policy::RetryPolicy;
use lifeline_sdk::{time, Client};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A dev backend-mock (chaos control and CORS for this page's origin).
const BACKEND: &str = env!(
    "LIFELINE_TEST_BACKEND",
    "set LIFELINE_TEST_BACKEND to a dev backend-mock's URL (./scripts/test starts one)"
);

/// How soon after the SDK gives up the server must have let go of the request. Closing an
/// aborted fetch's connection takes milliseconds; the rest is headroom for a busy machine.
const RELEASE_BOUND: Duration = Duration::from_secs(3);

/// Slack allowed on a timeout firing: browser timers, the JS event loop, a loaded machine.
const TIMER_SLACK: Duration = Duration::from_millis(1500);

/// Replaces the backend's chaos rules with one rule holding every request under `prefix`.
async fn hang(prefix: &str) {
    let res = reqwest::Client::new()
        .put(format!("{BACKEND}/__chaos"))
        .json(&json!({"rules": [{"prefix": prefix, "hang": true}]}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("chaos control at {BACKEND} unreachable: {e}"));
    assert_eq!(res.status().as_u16(), 200, "{:?}", res.text().await);
}

/// The `stats` of the rule for `prefix`, read straight from the backend.
async fn stats(prefix: &str) -> Value {
    let snapshot: Value = reqwest::Client::new()
        .get(format!("{BACKEND}/__chaos"))
        .send()
        .await
        .expect("chaos control answers")
        .json()
        .await
        .expect("chaos document is json");
    snapshot["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["prefix"] == prefix))
        .map(|rule| rule["stats"].clone())
        .unwrap_or_else(|| panic!("no rule for {prefix}: {snapshot}"))
}

/// Waits until the rule for `prefix` holds exactly `expected` requests; panics after `within`.
async fn wait_for_hanging(prefix: &str, expected: u64, within: Duration) {
    let started = time::now();
    loop {
        let stats = stats(prefix).await;
        let waited = time::now() - started;
        if stats["hanging"] == expected {
            return;
        }
        assert!(
            waited < within,
            "{prefix}: the server still holds {} request(s) {waited:?} later, expected \
             {expected}: the fetch was not aborted ({stats})",
            stats["hanging"]
        );
        time::sleep(Duration::from_millis(25)).await;
    }
}

fn client(attempt_timeout: Duration, call_timeout: Duration) -> Client {
    Client::builder()
        .base_url(BACKEND)
        .attempt_timeout(attempt_timeout)
        .call_timeout(call_timeout)
        .retry_policy(RetryPolicy::default().with_max_retries(0))
        .build()
        .expect("client builds")
}

/// Runs `call` while checking that the server holds it, and answers its result and duration.
async fn held_call<T>(
    prefix: &str,
    call: impl std::future::Future<Output = lifeline_sdk::Result<T>>,
) -> (lifeline_sdk::Result<T>, Duration) {
    let started = time::now();
    let timed = async {
        let result = call.await;
        (result, time::now() - started)
    };
    let ((result, took), _) =
        futures::join!(timed, wait_for_hanging(prefix, 1, Duration::from_secs(5)));
    (result, took)
}

fn assert_about(took: Duration, configured: Duration) {
    assert!(
        took + Duration::from_millis(5) >= configured && took < configured + TIMER_SLACK,
        "gave up after {took:?}, configured {configured:?}"
    );
}

#[wasm_bindgen_test]
async fn an_attempt_timeout_aborts_the_fetch() {
    let prefix = "/api/registry/statistics";
    hang(prefix).await;
    let attempt = Duration::from_millis(700);
    let client = client(attempt, Duration::from_secs(30));

    let (result, took) = held_call(prefix, client.registry().statistics()).await;
    let err = result.expect_err("a held request never answers");
    assert!(err.is_timeout(), "{err:?}");
    assert_about(took, attempt);

    wait_for_hanging(prefix, 0, RELEASE_BOUND).await;
    assert_eq!(stats(prefix).await["hangs"], 1, "one attempt, no retry");
}

#[wasm_bindgen_test]
async fn the_call_deadline_aborts_the_fetch() {
    let prefix = "/api/hospitals";
    hang(prefix).await;
    // The attempt may take 30 s, but the whole call only 800 ms: the deadline ends the attempt.
    let deadline = Duration::from_millis(800);
    let client = Client::builder()
        .base_url(BACKEND)
        .attempt_timeout(Duration::from_secs(30))
        .call_timeout(deadline)
        .build()
        .expect("client builds");

    let (result, took) = held_call(prefix, client.hospitals().list()).await;
    let err = result.expect_err("a held request never answers");
    assert!(err.is_timeout(), "{err:?}");
    assert_about(took, deadline);

    wait_for_hanging(prefix, 0, RELEASE_BOUND).await;
    assert_eq!(stats(prefix).await["hangs"], 1);
}

#[wasm_bindgen_test]
async fn dropping_the_call_aborts_the_fetch() {
    let prefix = "/api/registry/search";
    hang(prefix).await;
    // No timeout would end this call for a minute: only dropping it can end the fetch.
    let client = client(Duration::from_secs(60), Duration::from_secs(60));

    let registry = client.registry();
    let call = registry.search("smith").boxed_local();
    let held = wait_for_hanging(prefix, 1, Duration::from_secs(5)).boxed_local();
    let call = match future::select(call, held).await {
        Either::Left((result, _)) => panic!("a held request answered: {:?}", result.err()),
        Either::Right((_, call)) => call,
    };
    drop(call);

    wait_for_hanging(prefix, 0, RELEASE_BOUND).await;
    assert_eq!(stats(prefix).await["hangs"], 1);
}
