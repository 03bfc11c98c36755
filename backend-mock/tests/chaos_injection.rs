//! The chaos layer against the real application: over real TCP on port 0 (what clients see,
//! including dropped connections and hangs) and through `oneshot` with a paused clock (flapping).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend_mock::chaos::{ChaosConfig, Flap, Rule};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// A server on 127.0.0.1:0 running the whole app in dev mode.
struct Server {
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start() -> Self {
        let state = backend_mock::test_state().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, backend_mock::app(state))
                .await
                .expect("server runs");
        });
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client builds"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn put_rules(&self, body: Value) -> reqwest::Response {
        self.client
            .put(self.url("/__chaos"))
            .json(&body)
            .send()
            .await
            .expect("chaos control answers")
    }

    async fn set(&self, body: Value) {
        let res = self.put_rules(body).await;
        assert_eq!(res.status(), StatusCode::OK, "{:?}", res.text().await);
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("server answers")
    }

    async fn chaos(&self) -> Value {
        self.get("/__chaos").await.json().await.expect("json")
    }

    /// Waits (at most 5 s) until the rule for `prefix` holds exactly `expected` requests.
    async fn wait_for_hanging(&self, expected: u64, prefix: &str) {
        let started = std::time::Instant::now();
        loop {
            let snapshot = self.chaos().await;
            let rule = snapshot["rules"]
                .as_array()
                .and_then(|rules| rules.iter().find(|r| r["prefix"] == prefix))
                .unwrap_or_else(|| panic!("no rule for {prefix}: {snapshot}"));
            if rule["stats"]["hanging"] == expected {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "hanging never reached {expected}: {}",
                rule["stats"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Whether a response was produced by the chaos layer (and has the project's error body).
async fn injected(res: reqwest::Response) -> Option<StatusCode> {
    // Only the chaos layer sets this header.
    res.headers().get("x-chaos-injected")?;
    let status = res.status();
    let body: Value = res.json().await.expect("chaos error has a json body");
    assert_eq!(body["error"]["code"], "chaos_injected", "{body}");
    Some(status)
}

#[tokio::test]
async fn error_rate_is_close_to_configured_and_repeats_with_the_seed() {
    let server = Server::start().await;
    let rules =
        json!({"seed": 11, "rules": [{"prefix": "/ready", "error_rate": 0.3, "status": 500}]});
    let mut runs = Vec::new();
    for _ in 0..2 {
        server.set(rules.clone()).await;
        let mut outcomes = Vec::new();
        for _ in 0..200 {
            let res = server.get("/ready").await;
            outcomes.push(match injected(res).await {
                Some(status) => {
                    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
                    true
                }
                None => false,
            });
        }
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1], "same seed and rules, same outcomes");
    let faults = runs[0].iter().filter(|f| **f).count();
    assert!((40..=80).contains(&faults), "{faults} of 200 faulted");
    let stats = &server.chaos().await["rules"][0]["stats"];
    assert_eq!(stats["matched"], 200);
    assert_eq!(stats["errors"], faults);

    server
        .set(json!({"seed": 12, "rules": [{"prefix": "/ready", "error_rate": 0.3, "status": 500}]}))
        .await;
    let mut other = Vec::new();
    for _ in 0..200 {
        other.push(injected(server.get("/ready").await).await.is_some());
    }
    assert_ne!(runs[0], other, "another seed, another sequence");
}

#[tokio::test]
async fn rate_limit_and_unavailable_carry_retry_after() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [
            {"prefix": "/ready", "status": 429, "retry_after": 7},
            {"prefix": "/openapi.json", "status": 503, "retry_after": 3},
        ]}))
        .await;
    let res = server.get("/ready").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["retry-after"], "7");
    assert_eq!(injected(res).await, Some(StatusCode::TOO_MANY_REQUESTS));
    let res = server.get("/openapi.json").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "3");

    // 429 always says when to come back; 503 only when told.
    server
        .set(json!({"rules": [
            {"prefix": "/ready", "status": 429},
            {"prefix": "/openapi.json", "status": 503},
        ]}))
        .await;
    assert_eq!(server.get("/ready").await.headers()["retry-after"], "1");
    let res = server.get("/openapi.json").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn latency_is_added_before_the_real_answer() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "latency_ms": 300}]}))
        .await;
    let started = std::time::Instant::now();
    let res = server.get("/ready").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(res.status(), StatusCode::OK);
    assert!(injected(res).await.is_none());
    let started = std::time::Instant::now();
    server.get("/openapi.json").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(server.chaos().await["rules"][0]["stats"]["delayed"], 1);
}

#[tokio::test]
async fn drop_closes_the_connection_without_a_response() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "drop": true}]}))
        .await;

    let err = server
        .client
        .get(server.url("/ready"))
        .send()
        .await
        .expect_err("a dropped connection is a network error");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");

    // On the wire: the request goes out, not one byte comes back, the connection ends.
    let addr = server.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"GET /ready HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("request written");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf))
        .await
        .expect("the server ends the connection at once");
    assert!(
        buf.is_empty(),
        "no response bytes, got {:?}",
        String::from_utf8_lossy(&buf)
    );
    // EOF or reset, both mean the connection is gone.
    let _ = read;

    // The same server keeps answering other routes.
    assert_eq!(server.get("/openapi.json").await.status(), StatusCode::OK);
    assert_eq!(server.chaos().await["rules"][0]["stats"]["drops"], 2);
}

/// The API's own layers (the ETag layer buffers GET bodies) must pass a dropped connection on
/// as a dropped connection, never as an answer such as a 500.
#[tokio::test]
async fn drop_on_an_api_get_stays_a_network_error() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/api/hospitals", "drop": true}]}))
        .await;
    let err = server
        .client
        .get(server.url("/api/hospitals"))
        .send()
        .await
        .expect_err("a dropped connection is a network error");
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn hang_outlasts_the_client_timeout() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "hang": true}]}))
        .await;
    let err = server
        .client
        .get(server.url("/ready"))
        .timeout(Duration::from_millis(400))
        .send()
        .await
        .expect_err("a hung request never answers");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.chaos().await["rules"][0]["stats"]["hangs"], 1);
    // reqwest closes the connection of a request it timed out, so the server lets go of it.
    server.wait_for_hanging(0, "/ready").await;
}

#[tokio::test]
async fn hanging_gauge_counts_held_requests_until_the_client_disconnects() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "hang": true}]}))
        .await;
    let addr = server.base.trim_start_matches("http://");
    let mut held = Vec::new();
    for expected in 1..=2 {
        let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(b"GET /ready HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .expect("request written");
        held.push(tcp);
        server.wait_for_hanging(expected, "/ready").await;
    }

    // While the clients stay connected the server keeps holding both requests.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = &server.chaos().await["rules"][0]["stats"];
    assert_eq!(stats["hanging"], 2, "{stats}");
    assert_eq!(stats["hangs"], 2, "{stats}");

    // Each disconnect ends one held request; `hangs` keeps counting what was injected.
    drop(held.pop());
    server.wait_for_hanging(1, "/ready").await;
    drop(held.pop());
    server.wait_for_hanging(0, "/ready").await;
    assert_eq!(server.chaos().await["rules"][0]["stats"]["hangs"], 2);
}

#[tokio::test]
async fn down_window_ends() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "down_for_ms": 1500}]}))
        .await;
    let set_at = std::time::Instant::now();
    let res = server.get("/ready").await;
    assert!(
        set_at.elapsed() < Duration::from_millis(1500),
        "machine too slow"
    );
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = res.json().await.expect("json");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("is down")));
    assert_eq!(server.chaos().await["rules"][0]["stats"]["down"], true);
    tokio::time::sleep(Duration::from_millis(1700).saturating_sub(set_at.elapsed())).await;
    let res = server.get("/ready").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(server.chaos().await["rules"][0]["stats"]["down"], false);
}

#[tokio::test]
async fn remaining_limits_the_rule_to_the_next_requests() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/ready", "status": 502, "remaining": 2}]}))
        .await;
    assert_eq!(
        injected(server.get("/ready").await).await,
        Some(StatusCode::BAD_GATEWAY)
    );
    assert_eq!(
        injected(server.get("/ready").await).await,
        Some(StatusCode::BAD_GATEWAY)
    );
    assert_eq!(injected(server.get("/ready").await).await, None);
    let stats = &server.chaos().await["rules"][0]["stats"];
    assert_eq!(stats["remaining"], 0);
    assert_eq!(stats["errors"], 2);
    assert_eq!(stats["matched"], 2);
}

#[tokio::test]
async fn prefixes_and_methods_are_isolated() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [
            {"prefix": "/ready", "status": 503},
            {"prefix": "/openapi.json", "methods": ["post"], "status": 500},
        ]}))
        .await;
    assert_eq!(
        injected(server.get("/ready").await).await,
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    // Another prefix keeps working; the method filter leaves GET alone.
    let res = server.get("/openapi.json").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = server
        .client
        .post(server.url("/openapi.json"))
        .send()
        .await
        .expect("answers");
    assert_eq!(injected(res).await, Some(StatusCode::INTERNAL_SERVER_ERROR));
    let snapshot = server.chaos().await;
    assert_eq!(snapshot["rules"][1]["methods"], json!(["POST"]));
    assert_eq!(snapshot["rules"][1]["stats"]["matched"], 1);
}

#[tokio::test]
async fn payments_fail_while_the_rest_of_the_api_works() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [
            {"prefix": "/api/payments", "status": 503, "retry_after": 30},
            {"prefix": "/api", "latency_ms": 1},
        ]}))
        .await;
    let res = server.get("/api/payments/status").await;
    assert_eq!(res.headers()["retry-after"], "30");
    assert_eq!(injected(res).await, Some(StatusCode::SERVICE_UNAVAILABLE));
    let res = server.get("/api/hospitals").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(injected(res).await.is_none());
    let snapshot = server.chaos().await;
    assert_eq!(snapshot["rules"][0]["stats"]["errors"], 1);
    assert_eq!(snapshot["rules"][1]["stats"]["matched"], 1);
    assert_eq!(snapshot["rules"][1]["stats"]["errors"], 0);
}

#[tokio::test]
async fn control_and_health_are_exempt_unless_named() {
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/", "status": 500}]}))
        .await;
    assert_eq!(server.get("/health").await.status(), StatusCode::OK);
    assert_eq!(server.get("/__chaos").await.status(), StatusCode::OK);
    assert_eq!(
        injected(server.get("/ready").await).await,
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    server
        .set(json!({"rules": [{"prefix": "/health", "status": 500}]}))
        .await;
    assert_eq!(
        injected(server.get("/health").await).await,
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    let res = server
        .client
        .delete(server.url("/__chaos"))
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(server.get("/health").await.status(), StatusCode::OK);
    assert_eq!(server.chaos().await["rules"], json!([]));
}

#[tokio::test]
async fn invalid_rules_are_refused_and_change_nothing() {
    let server = Server::start().await;
    let good = json!({"seed": 5, "rules": [{"prefix": "/ready", "status": 503}]});
    server.set(good).await;
    let before = server.chaos().await;

    let cases = [
        (
            json!({"rules": [{"prefix": "/ready", "error_rate": 2.0}]}),
            422,
            "error_rate",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "status": 404}]}),
            422,
            "status",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "status": 500, "retry_after": 1}]}),
            422,
            "retry_after",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "hang": true, "drop": true}]}),
            422,
            "exclude",
        ),
        (
            json!({"rules": [{"prefix": "/__chaos", "status": 500}]}),
            422,
            "/__chaos",
        ),
        (
            json!({"rules": [{"prefix": "ready", "status": 500}]}),
            422,
            "start with /",
        ),
        (
            json!({"rules": [{"prefix": "/ready"}]}),
            422,
            "does nothing",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "flap": {"up_ms": 0, "down_ms": 5}}]}),
            422,
            "flap",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "status": 500, "colour": "red"}]}),
            400,
            "colour",
        ),
        (
            json!({"rules": [{"prefix": "/ready", "latency_ms": "slow"}]}),
            400,
            "expected u64",
        ),
    ];
    for (body, status, needle) in cases {
        let res = server.put_rules(body.clone()).await;
        assert_eq!(res.status().as_u16(), status, "{body}");
        let err: Value = res.json().await.expect("json error body");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let res = server
        .client
        .put(server.url("/__chaos"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        server.chaos().await,
        before,
        "refused input changes nothing"
    );
}

/// Flapping through `oneshot` on a paused clock: exact period boundaries, no sleeping.
#[tokio::test]
async fn flapping_alternates_between_up_and_down() {
    let state = backend_mock::test_state().await;
    let chaos = state.chaos.clone();
    let app = backend_mock::app(state);
    tokio::time::pause();
    chaos
        .set(ChaosConfig {
            seed: None,
            rules: vec![Rule {
                prefix: "/openapi.json".into(),
                flap: Some(Flap {
                    up_ms: 1000,
                    down_ms: 500,
                }),
                status: Some(502),
                ..Rule::default()
            }],
        })
        .expect("valid rules");
    let mut seen = Vec::new();
    // Sample every 250 ms over two periods: up up up up down down | up ...
    for _ in 0..12 {
        let res = app
            .clone()
            .oneshot(
                Request::get("/openapi.json")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        seen.push(res.status().as_u16());
        tokio::time::advance(Duration::from_millis(250)).await;
    }
    assert_eq!(
        seen,
        [200, 200, 200, 200, 502, 502, 200, 200, 200, 200, 502, 502]
    );
    let snapshot = chaos.snapshot();
    assert_eq!(snapshot.rules[0].stats.errors, 4);
    assert!(!snapshot.rules[0].stats.down);
}

/// Dev mode answers pages on another origin (the SDK's browser tests run on the test runner's
/// own port): preflights pass before any chaos rule, and injected faults stay readable there.
#[tokio::test]
async fn pages_on_another_origin_control_chaos_and_read_injected_errors() {
    let page = "http://127.0.0.1:9999";
    let server = Server::start().await;
    server
        .set(json!({"rules": [{"prefix": "/", "status": 503, "retry_after": 4}]}))
        .await;
    let preflight = server
        .client
        .request(reqwest::Method::OPTIONS, server.url("/api/hospitals"))
        .header("origin", page)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-type,authorization,idempotency-key",
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(preflight.status(), StatusCode::OK);
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], page);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert_eq!(headers["access-control-allow-methods"], "PUT");
    assert!(preflight.headers().get("x-chaos-injected").is_none());

    let res = server
        .client
        .get(server.url("/api/hospitals"))
        .header("origin", page)
        .send()
        .await
        .expect("answers");
    assert_eq!(res.headers()["access-control-allow-origin"], page);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .expect("ascii");
    assert!(
        exposed.contains("retry-after") && exposed.contains("x-chaos-injected"),
        "{exposed}"
    );
    assert_eq!(injected(res).await, Some(StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test]
async fn outside_dev_mode_other_origins_get_no_cors_headers() {
    let state = backend_mock::test_state_with(backend_mock::Config {
        dev: false,
        ..backend_mock::Config::for_tests()
    })
    .await;
    let res = backend_mock::app(state)
        .oneshot(
            Request::get("/api/hospitals")
                .header("origin", "http://127.0.0.1:9999")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
