//! A real backend-mock on a loopback port, its chaos control, and a few faults the chaos
//! layer cannot make (a refused access token, an answer lost after the write was applied),
//! added as an outer axum middleware so the test can see every request.

#![allow(dead_code)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lifeline_sdk::policy::{Backoff, BreakerConfig, RetryPolicy};
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::auth::RegisterRequest;
use lifeline_sdk::{Client, ClientBuilder};
use serde_json::{json, Value};
use uuid::Uuid;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
}

/// Faults injected outside backend-mock's chaos layer.
#[derive(Default)]
pub struct Faults {
    /// When set, the next bearer token seen is refused (401) from then on.
    reject_next_token: AtomicBool,
    rejected: Mutex<HashSet<String>>,
    /// When set, every refresh is answered 401 (a revoked refresh token).
    refuse_refreshes: AtomicBool,
    /// `POST /api/auth/refresh` calls seen.
    pub refreshes: AtomicUsize,
    /// Every request, in arrival order.
    pub seen: Mutex<Vec<Seen>>,
    /// (method, exact path, count): run the handler, then answer 502 instead of its answer.
    lose_answers: Mutex<Option<(String, String, usize)>>,
}

impl Faults {
    pub fn reject_current_token(&self) {
        self.reject_next_token.store(true, Ordering::SeqCst);
    }

    pub fn refuse_refreshes(&self) {
        self.refuse_refreshes.store(true, Ordering::SeqCst);
    }

    pub fn lose_answers(&self, method: &str, prefix: &str, count: usize) {
        *self.lose_answers.lock().unwrap() = Some((method.into(), prefix.into(), count));
    }

    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .cloned()
            .collect()
    }

    pub fn refresh_calls(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

enum Verdict {
    Refuse,
    Pass { lose_answer: bool, refresh: bool },
}

/// Looks at a request and decides, without holding any lock across an await.
fn inspect(faults: &Faults, req: &Request) -> Verdict {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let bearer =
        header("authorization").and_then(|h| h.strip_prefix("Bearer ").map(str::to_string));
    faults.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        idempotency_key: header("idempotency-key"),
    });
    let refresh = path == "/api/auth/refresh";
    if refresh {
        faults.refreshes.fetch_add(1, Ordering::SeqCst);
        if faults.refuse_refreshes.load(Ordering::SeqCst) {
            return Verdict::Refuse;
        }
    }
    if let Some(token) = bearer {
        let mut rejected = faults.rejected.lock().unwrap();
        if faults.reject_next_token.swap(false, Ordering::SeqCst) {
            rejected.insert(token.clone());
        }
        if rejected.contains(&token) {
            return Verdict::Refuse;
        }
    }
    let mut lose = faults.lose_answers.lock().unwrap();
    let lose_answer = match lose.as_mut() {
        Some((m, prefix, count)) if *m == method && path == prefix.as_str() && *count > 0 => {
            *count -= 1;
            true
        }
        _ => false,
    };
    Verdict::Pass {
        lose_answer,
        refresh,
    }
}

async fn faults_layer(State(faults): State<Arc<Faults>>, req: Request, next: Next) -> Response {
    let verdict = inspect(&faults, &req);
    match verdict {
        Verdict::Refuse => error_response(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "access token expired",
        ),
        Verdict::Pass {
            lose_answer,
            refresh,
        } => {
            let response = next.run(req).await;
            if refresh && response.status().is_success() {
                // A new access token was issued (it may equal the old one to the byte when
                // issued within the same second): stop refusing.
                faults.rejected.lock().unwrap().clear();
            }
            if lose_answer {
                error_response(
                    StatusCode::BAD_GATEWAY,
                    "bad_gateway",
                    "answer lost on the way back",
                )
            } else {
                response
            }
        }
    }
}

/// backend-mock serving on 127.0.0.1:0.
pub struct Server {
    pub url: String,
    pub faults: Arc<Faults>,
    http: reqwest::Client,
}

pub async fn start() -> Server {
    let state = backend_mock::test_state().await;
    let faults = Arc::new(Faults::default());
    let app = backend_mock::app(state)
        .layer(middleware::from_fn_with_state(faults.clone(), faults_layer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server {
        url: format!("http://{addr}"),
        faults,
        http: reqwest::Client::new(),
    }
}

impl Server {
    /// Replaces the chaos rules.
    pub async fn chaos(&self, rules: Value) {
        let resp = self
            .http
            .put(format!("{}/__chaos", self.url))
            .json(&json!({"seed": 7, "rules": rules}))
            .send()
            .await
            .unwrap();
        let status = resp.status();
        assert!(
            status.is_success(),
            "chaos rejected: {}",
            resp.text().await.unwrap()
        );
    }

    /// Removes every chaos rule.
    pub async fn calm(&self) {
        let resp = self
            .http
            .delete(format!("{}/__chaos", self.url))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// The chaos document with per-rule counters.
    pub async fn chaos_state(&self) -> Value {
        self.http
            .get(format!("{}/__chaos", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// POSTs JSON straight to the server (the payment provider's side, for instance).
    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{}", self.url, path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The one-time code last mailed to `email` (dev mailbox).
    pub async fn mailed_code(&self, email: &str) -> String {
        let messages: Value = self
            .http
            .get(format!(
                "{}/__dev/mailbox?email={}",
                self.url,
                email.replace('@', "%40").replace('+', "%2B")
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let body = messages[0]["body"].as_str().expect("a message was mailed");
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a 6-digit code")
            .to_string()
    }

    /// A client with short timeouts and backoff, so the tests run in seconds.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(&self.url)
            // Generous: registration hashes a password, slow in debug builds on a busy machine.
            .attempt_timeout(Duration::from_secs(5))
            .call_timeout(Duration::from_secs(10))
            .retry_policy(RetryPolicy::default().with_max_retries(3).with_backoff(
                Backoff::new(Duration::from_millis(20), Duration::from_millis(200)).unwrap(),
            ))
            .circuit_breaker(
                BreakerConfig::builder()
                    .consecutive_failures(4)
                    .min_throughput(4)
                    .break_duration(Duration::from_millis(400))
                    .max_break_duration(Duration::from_secs(1))
                    .break_jitter(0.0)
                    .build()
                    .unwrap(),
            )
            .jitter_seed(11)
    }

    pub fn client(&self) -> Client {
        self.builder().store(Store::memory()).build().unwrap()
    }

    /// A client signed in as a fresh patient.
    pub async fn signed_in(&self) -> Client {
        let client = self.client();
        register(&client).await;
        client
    }
}

pub async fn register(client: &Client) {
    client
        .auth()
        .register(&RegisterRequest {
            email: format!("p-{}@example.org", Uuid::new_v4().simple()),
            password: "long-enough-password".into(),
            name: "Test Patient".into(),
        })
        .await
        .expect("registration works");
}

/// `YYYY-MM-DD` of the day `days` from today (UTC), from the civil-from-days algorithm.
pub fn date_in(days: i64) -> String {
    let now = lifeline_sdk::time::unix_ms() as i64 / 1000;
    let z = now.div_euclid(86_400) + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `count` free slots for tomorrow, across the first doctors found.
pub async fn free_slots(client: &Client, count: usize) -> Vec<Uuid> {
    let mut out = Vec::new();
    let hospitals = client.hospitals().list().await.unwrap().value;
    for hospital in hospitals {
        let departments = client
            .appointments()
            .departments(hospital.id)
            .await
            .unwrap()
            .value;
        for department in departments {
            let doctors = client
                .appointments()
                .doctors(department.id)
                .await
                .unwrap()
                .value;
            for doctor in doctors {
                let availability = client
                    .appointments()
                    .availability(doctor.id, &date_in(1))
                    .await
                    .unwrap()
                    .value;
                for slot in availability.slots.into_iter().filter(|s| s.free) {
                    out.push(slot.id);
                    if out.len() == count {
                        return out;
                    }
                }
            }
        }
    }
    panic!("not enough free slots");
}

/// Collects the events a stream has buffered so far.
pub fn drain_events(events: &mut lifeline_sdk::EventStream) -> Vec<lifeline_sdk::Event> {
    use futures::StreamExt;
    let mut out = Vec::new();
    while let Some(Some(event)) = events.next().now_or_never() {
        out.push(event);
    }
    out
}

use futures::FutureExt;
