//! Chaos control: a tower layer that injects failures per route prefix, configured at run time
//! through `/__chaos` in dev mode.
//!
//! Resilience code is only as good as the failures it has been tested against. This module lets
//! the SDK, web and load tests make a real server misbehave in precise, repeatable ways: answer
//! with 5xx or 429, answer slowly, never answer, or cut the connection without a response.
//!
//! # Control API (dev mode only)
//!
//! - `GET /__chaos` — the seed, the current rules and per-rule counters (see below).
//! - `PUT /__chaos` — replace every rule at once. Body: `{"seed": u64?, "rules": [Rule, ...]}`.
//!   Malformed JSON, unknown fields or wrong types answer `400 bad_request`; values out of range
//!   answer `422 validation_failed`; in both cases nothing changes. Success answers `200` with the
//!   same document as `GET`.
//! - `DELETE /__chaos` — remove every rule (the seed stays); answers `200` with the document.
//!
//! `/__chaos` itself is never subject to chaos. `/health` and `/__dev/...` are exempt too, unless
//! a rule's prefix lies inside them (e.g. `"prefix": "/health"`), so tests can still make the
//! liveness probe fail on purpose.
//!
//! # Rule format
//!
//! ```json
//! {
//!   "seed": 7,
//!   "rules": [
//!     { "prefix": "/api/payments", "error_rate": 0.3, "status": 503, "retry_after": 2 },
//!     { "prefix": "/api/appointments", "methods": ["POST"], "status": 429, "retry_after": 5, "remaining": 2 },
//!     { "prefix": "/api/doctors", "latency_ms": 800 },
//!     { "prefix": "/api/prescriptions", "hang": true },
//!     { "prefix": "/api/pharmacies", "drop": true, "error_rate": 0.5 },
//!     { "prefix": "/api/medical-records", "down_for_ms": 10000 },
//!     { "prefix": "/api/health-tracking", "flap": { "up_ms": 2000, "down_ms": 1000 }, "status": 502 },
//!     { "prefix": "/api", "latency_ms": 50 }
//!   ]
//! }
//! ```
//!
//! Fields of a rule (all but `prefix` optional):
//!
//! | field | meaning |
//! |---|---|
//! | `prefix` | Path prefix, matched on segment boundaries: `/api/pay` does not match `/api/payments`; `/` matches everything. Must start with `/`, no query. |
//! | `methods` | Only requests with one of these methods match (e.g. `["POST"]`). Default: all methods. |
//! | `latency_ms` | Delay added before the request reaches the handler (or before the fault), for every matching request. At most 600000. |
//! | `error_rate` | Probability in `0..=1` that a matching request is faulted. Default: `1` when the rule names a fault (`status`, `retry_after`, `hang`, `drop`) and has no `down_for_ms`/`flap`; otherwise `0`. |
//! | `status` | Status of a faulted response: `429`, `500`, `502`, `503` or `504`. Default `503`. |
//! | `retry_after` | Seconds sent as `Retry-After`; only with `429` (default 1 there, always sent) or `503` (sent only when given). |
//! | `hang` | A faulted request never gets an answer: the server holds it until the client gives up and closes the connection (bounded at 10 minutes, then the server closes it). |
//! | `drop` | A faulted request gets no response at all: the server closes the TCP connection before writing a byte, so the client sees a network error ("connection closed before message completed"), not an HTTP status. |
//! | `down_for_ms` | For this long after the rules are set, every matching request is faulted; after it, `error_rate` applies. |
//! | `flap` | `{"up_ms", "down_ms"}`: alternating periods, starting with `up_ms` of normal service when the rules are set, then `down_ms` in which every matching request is faulted, and so on. Outside down periods `error_rate` applies. Not combinable with `down_for_ms`. |
//! | `remaining` | Apply the rule to the next N matching requests only (each match counts, faulted or not); an exhausted rule no longer matches. |
//!
//! A rule must do something (a latency or a fault); `hang` and `drop` exclude each other and
//! `status`/`retry_after`. At most 100 rules.
//!
//! Which rule applies: among the rules whose prefix and methods match and that are not exhausted,
//! the one with the longest prefix; among equally long prefixes, the first in the list. So
//! `/api/payments` failing does not touch `/api/appointments`, and a broad `/api` rule covers the
//! rest.
//!
//! A faulted response carries the project's error body,
//! `{"error": {"code": "chaos_injected", "message": "..."}}`, and the header
//! `x-chaos-injected: <rule prefix>`, so clients parse it like a real error and tests can tell
//! it apart from one.
//!
//! # Determinism
//!
//! Each rule draws from its own random stream, derived from the seed and the rule's position,
//! restarted on every `PUT` (with the given `seed`, else the current one). The same rules and the
//! same sequence of requests per rule therefore give the same outcomes, whatever other traffic
//! runs meanwhile. The generator is SplitMix64, written out here so the sequence never changes
//! with a dependency's version.
//!
//! # Counters
//!
//! `GET /__chaos` returns each rule with `stats`: `matched` (requests the rule applied to),
//! `delayed`, `errors`, `hangs`, `drops` (faults injected), `remaining` (left of `remaining`, or
//! null) and `down` (whether the rule is in a down period now).
//!
//! `hanging` is a live gauge, not a counter: the requests this rule holds right now. It goes up
//! when a hang starts (after any `latency_ms`) and down when the held request ends, which is
//! when the client closes its connection (the server notices the closed socket and drops the
//! request) or the 10-minute bound passes. So a client that really cancels a request it gave up
//! on (a browser `fetch` aborted through its `AbortController`) brings it back to 0 within
//! moments; one that only stops waiting leaves it up. Replacing the rules starts new gauges at 0;
//! requests held by the old rules are no longer shown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::{AppError, AppState};

/// How long a `hang` holds a request before closing the connection.
pub const HANG_LIMIT: Duration = Duration::from_secs(600);

/// Largest accepted `latency_ms`.
const MAX_LATENCY_MS: u64 = 600_000;
/// Largest accepted number of rules.
const MAX_RULES: usize = 100;
/// Statuses a rule may inject.
const ALLOWED_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];
/// Header naming the rule that produced a faulted response.
const INJECTED_HEADER: &str = "x-chaos-injected";

/// One fault-injection rule; see the module documentation for the meaning of each field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Path prefix, matched on segment boundaries.
    pub prefix: String,
    /// Methods the rule applies to; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Probability that a matching request is faulted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Status of a faulted response (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `Retry-After` seconds (429 and 503 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay added to every matching request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Faulted requests are never answered.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hang: bool,
    /// Faulted requests get their connection closed without a response.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drop: bool,
    /// Every matching request is faulted for this long after the rules are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_for_ms: Option<u64>,
    /// Alternating up and down periods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<Flap>,
    /// Apply to the next N matching requests only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
}

/// Alternating periods of normal service (`up_ms`) and total failure (`down_ms`), starting up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flap {
    /// Length of each period of normal service.
    pub up_ms: u64,
    /// Length of each period in which every matching request is faulted.
    pub down_ms: u64,
}

/// The body of `PUT /__chaos`: an optional new seed and the complete rule set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosConfig {
    /// New seed; the current one is kept (and its streams restarted) when absent.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The rules, replacing all existing ones.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// Counters and live state of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    /// Requests the rule applied to.
    pub matched: u64,
    /// Requests delayed by `latency_ms`.
    pub delayed: u64,
    /// Error responses injected.
    pub errors: u64,
    /// Requests held without an answer.
    pub hangs: u64,
    /// Connections closed without a response.
    pub drops: u64,
    /// Matches left before the rule is exhausted, when it has `remaining`.
    pub remaining: Option<u64>,
    /// Whether the rule is in a down window or flap down period right now.
    pub down: bool,
    /// Requests held by `hang` right now (a gauge: down again when the client disconnects).
    pub hanging: u64,
}

/// A rule with its counters, as `GET /__chaos` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSnapshot {
    /// The rule as configured.
    #[serde(flatten)]
    pub rule: Rule,
    /// Its counters.
    pub stats: RuleStats,
}

/// The document `GET/PUT/DELETE /__chaos` answer with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosSnapshot {
    /// The seed the rules' random streams derive from.
    pub seed: u64,
    /// The rules, in the order given.
    pub rules: Vec<RuleSnapshot>,
}

/// Why a rule set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {index}: {message}")]
pub struct InvalidRule {
    /// Position of the offending rule in `rules`, or the list itself for list-level errors.
    pub index: usize,
    /// What is wrong with it.
    pub message: String,
}

/// Shared, runtime-configurable chaos settings. Cloning is cheap and shares the settings.
#[derive(Debug, Clone)]
pub struct Chaos {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Set when at least one rule exists, so a server without chaos skips the lock entirely.
    active: AtomicBool,
    state: Mutex<ChaosState>,
}

#[derive(Debug)]
struct ChaosState {
    seed: u64,
    rules: Vec<ActiveRule>,
}

#[derive(Debug)]
struct ActiveRule {
    rule: Rule,
    methods: Option<Vec<Method>>,
    error_rate: f64,
    set_at: Instant,
    rng: SplitMix64,
    stats: RuleStats,
    hanging: HangGauge,
}

/// What the layer does to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision {
    prefix: String,
    delay: Option<Duration>,
    fault: Option<Fault>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    Error {
        status: StatusCode,
        retry_after: Option<u64>,
        down: bool,
    },
    /// Hold the request, counted in the rule's gauge while held.
    Hang(HangGauge),
    Drop,
}

/// The number of requests one rule holds right now, shared between the rule and its hangs.
#[derive(Debug, Clone, Default)]
struct HangGauge(Arc<AtomicU64>);

impl HangGauge {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one held request until the returned guard is dropped, which happens also when
    /// hyper drops the request's future because the client closed the connection.
    fn hold(&self) -> HeldRequest {
        self.0.fetch_add(1, Ordering::Relaxed);
        HeldRequest(self.clone())
    }
}

/// Two gauges are equal when they are the same rule's gauge.
impl PartialEq for HangGauge {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for HangGauge {}

/// One request counted in a [`HangGauge`]; dropping it uncounts the request.
#[derive(Debug)]
struct HeldRequest(HangGauge);

impl Drop for HeldRequest {
    fn drop(&mut self) {
        (self.0).0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Default for Chaos {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Chaos {
    /// No rules; random streams derive from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            shared: Arc::new(Shared {
                active: AtomicBool::new(false),
                state: Mutex::new(ChaosState {
                    seed,
                    rules: Vec::new(),
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ChaosState> {
        // The state stays consistent even if a holder panicked: every update is one assignment.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces every rule; down windows and flaps start now, random streams restart.
    ///
    /// # Errors
    ///
    /// [`InvalidRule`] when a rule is out of range or contradictory; nothing changes then.
    pub fn set(&self, config: ChaosConfig) -> Result<ChaosSnapshot, InvalidRule> {
        if config.rules.len() > MAX_RULES {
            return Err(InvalidRule {
                index: MAX_RULES,
                message: format!("at most {MAX_RULES} rules are accepted"),
            });
        }
        let mut validated = Vec::with_capacity(config.rules.len());
        for (index, rule) in config.rules.into_iter().enumerate() {
            let (rule, methods, error_rate) =
                validate(rule).map_err(|message| InvalidRule { index, message })?;
            validated.push((rule, methods, error_rate));
        }
        let now = Instant::now();
        let mut state = self.lock();
        let seed = config.seed.unwrap_or(state.seed);
        let mut streams = SplitMix64(seed);
        state.seed = seed;
        state.rules = validated
            .into_iter()
            .map(|(rule, methods, error_rate)| ActiveRule {
                stats: RuleStats {
                    remaining: rule.remaining,
                    ..RuleStats::default()
                },
                rule,
                methods,
                error_rate,
                set_at: now,
                rng: SplitMix64(streams.next_u64()),
                hanging: HangGauge::default(),
            })
            .collect();
        self.shared
            .active
            .store(!state.rules.is_empty(), Ordering::Release);
        Ok(snapshot(&state, now))
    }

    /// Removes every rule; the seed stays.
    pub fn clear(&self) -> ChaosSnapshot {
        let mut state = self.lock();
        state.rules.clear();
        self.shared.active.store(false, Ordering::Release);
        snapshot(&state, Instant::now())
    }

    /// The seed, rules and counters now.
    pub fn snapshot(&self) -> ChaosSnapshot {
        snapshot(&self.lock(), Instant::now())
    }

    /// Picks the rule for a request, updates its counters and says what to do.
    fn decide(&self, method: &Method, path: &str) -> Option<Decision> {
        if !self.shared.active.load(Ordering::Acquire) || under("/__chaos", path) {
            return None;
        }
        let exempt_area = ["/health", "/__dev"]
            .into_iter()
            .find(|area| under(area, path));
        let now = Instant::now();
        let mut state = self.lock();
        let chosen = state
            .rules
            .iter_mut()
            .filter(|r| r.stats.remaining != Some(0))
            .filter(|r| under(&r.rule.prefix, path))
            .filter(|r| exempt_area.is_none_or(|area| under(area, &r.rule.prefix)))
            .filter(|r| r.methods.as_ref().is_none_or(|m| m.contains(method)))
            // `max_by_key` keeps the last maximum; reversing keeps the first rule on ties.
            .rev()
            .max_by_key(|r| r.rule.prefix.len())?;
        Some(chosen.apply(now))
    }
}

impl ActiveRule {
    fn is_down(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.set_at).as_millis();
        if let Some(window) = self.rule.down_for_ms {
            return elapsed < u128::from(window);
        }
        if let Some(Flap { up_ms, down_ms }) = self.rule.flap {
            return elapsed % u128::from(up_ms + down_ms) >= u128::from(up_ms);
        }
        false
    }

    fn apply(&mut self, now: Instant) -> Decision {
        self.stats.matched += 1;
        if let Some(left) = self.stats.remaining.as_mut() {
            *left -= 1;
        }
        let delay = self.rule.latency_ms.map(Duration::from_millis);
        if delay.is_some() {
            self.stats.delayed += 1;
        }
        let down = self.is_down(now);
        let faulted = down
            || match self.error_rate {
                r if r <= 0.0 => false,
                r if r >= 1.0 => true,
                r => self.rng.next_f64() < r,
            };
        let fault = faulted.then(|| {
            if self.rule.hang {
                self.stats.hangs += 1;
                Fault::Hang(self.hanging.clone())
            } else if self.rule.drop {
                self.stats.drops += 1;
                Fault::Drop
            } else {
                self.stats.errors += 1;
                let status = self.rule.status.unwrap_or(503);
                Fault::Error {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    retry_after: self.rule.retry_after.or((status == 429).then_some(1)),
                    down,
                }
            }
        });
        Decision {
            prefix: self.rule.prefix.clone(),
            delay,
            fault,
        }
    }
}

fn snapshot(state: &ChaosState, now: Instant) -> ChaosSnapshot {
    ChaosSnapshot {
        seed: state.seed,
        rules: state
            .rules
            .iter()
            .map(|r| RuleSnapshot {
                rule: r.rule.clone(),
                stats: RuleStats {
                    down: r.is_down(now),
                    hanging: r.hanging.get(),
                    ..r.stats
                },
            })
            .collect(),
    }
}

/// Whether `path` is `prefix` or lies below it, on a segment boundary.
fn under(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.ends_with('/'),
        None => false,
    }
}

/// Checks one rule; returns it normalised (methods upper-cased) with its parsed methods and
/// effective error rate.
fn validate(mut rule: Rule) -> Result<(Rule, Option<Vec<Method>>, f64), String> {
    if !rule.prefix.starts_with('/') {
        return Err(format!("prefix {:?} must start with /", rule.prefix));
    }
    if rule.prefix.contains(['?', '#']) {
        return Err(format!(
            "prefix {:?} must be a path without query or fragment",
            rule.prefix
        ));
    }
    if under("/__chaos", &rule.prefix) {
        return Err("the chaos control /__chaos cannot be a chaos target".into());
    }
    let methods = match rule.methods.as_mut() {
        None => None,
        Some(list) if list.is_empty() => {
            return Err("methods must not be empty (omit it to match every method)".into())
        }
        Some(list) => {
            let mut parsed = Vec::with_capacity(list.len());
            for name in list.iter_mut() {
                *name = name.to_ascii_uppercase();
                let method = Method::from_bytes(name.as_bytes())
                    .map_err(|_| format!("method {name:?} is not a valid http method"))?;
                parsed.push(method);
            }
            Some(parsed)
        }
    };
    if let Some(rate) = rule.error_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("error_rate must be between 0 and 1, got {rate}"));
        }
    }
    if let Some(status) = rule.status {
        if !ALLOWED_STATUSES.contains(&status) {
            return Err(format!(
                "status must be one of {ALLOWED_STATUSES:?}, got {status}"
            ));
        }
    }
    if let Some(secs) = rule.retry_after {
        if !matches!(rule.status, Some(429 | 503)) {
            return Err("retry_after needs status 429 or 503".into());
        }
        if secs > 86_400 {
            return Err(format!("retry_after must be at most 86400, got {secs}"));
        }
    }
    if rule.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
        return Err(format!("latency_ms must be at most {MAX_LATENCY_MS}"));
    }
    if rule.hang && rule.drop {
        return Err("hang and drop exclude each other".into());
    }
    if (rule.hang || rule.drop) && (rule.status.is_some() || rule.retry_after.is_some()) {
        return Err("status and retry_after have no effect with hang or drop".into());
    }
    if rule.down_for_ms == Some(0) {
        return Err("down_for_ms must be greater than 0".into());
    }
    if let Some(flap) = rule.flap {
        if flap.up_ms == 0 || flap.down_ms == 0 {
            return Err("flap up_ms and down_ms must be greater than 0".into());
        }
        if flap.up_ms.checked_add(flap.down_ms).is_none() {
            return Err("flap period is too long".into());
        }
        if rule.down_for_ms.is_some() {
            return Err("down_for_ms and flap exclude each other".into());
        }
    }
    if rule.remaining == Some(0) {
        return Err("remaining must be greater than 0 (omit it for no limit)".into());
    }
    let names_fault = rule.status.is_some() || rule.retry_after.is_some() || rule.hang || rule.drop;
    let windowed = rule.down_for_ms.is_some() || rule.flap.is_some();
    let error_rate = rule
        .error_rate
        .unwrap_or(if names_fault && !windowed { 1.0 } else { 0.0 });
    if rule.latency_ms.is_none() && error_rate == 0.0 && !windowed {
        return Err("rule does nothing: give latency_ms, a fault or a down period".into());
    }
    Ok((rule, methods, error_rate))
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically sound for fault injection,
/// and fixed forever, so a seed means the same outcomes in every build.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The tower layer applying [`Chaos`] settings to every request.
#[derive(Debug, Clone)]
pub struct ChaosLayer {
    chaos: Chaos,
}

impl ChaosLayer {
    /// A layer reading its rules from `chaos` on every request.
    pub fn new(chaos: Chaos) -> Self {
        Self { chaos }
    }
}

impl<S> tower::Layer<S> for ChaosLayer {
    type Service = ChaosService<S>;
    fn layer(&self, inner: S) -> ChaosService<S> {
        ChaosService {
            inner,
            chaos: self.chaos.clone(),
        }
    }
}

/// The service [`ChaosLayer`] wraps around the application.
#[derive(Debug, Clone)]
pub struct ChaosService<S> {
    inner: S,
    chaos: Chaos,
}

impl<S> tower::Service<Request> for ChaosService<S>
where
    S: tower::Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // Take the service that was driven to readiness and leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let Some(decision) = self.chaos.decide(req.method(), req.uri().path()) else {
            let fut = inner.call(req);
            return Box::pin(async move { Ok(fut.await?.into_response()) });
        };
        Box::pin(async move {
            if let Some(delay) = decision.delay {
                tokio::time::sleep(delay).await;
            }
            let response = match decision.fault {
                None => inner.call(req).await?.into_response(),
                Some(Fault::Error {
                    status,
                    retry_after,
                    down,
                }) => error_response(&decision.prefix, status, retry_after, down),
                Some(Fault::Hang(gauge)) => {
                    tracing::debug!(prefix = %decision.prefix, "chaos: holding request");
                    let _held = gauge.hold();
                    tokio::time::sleep(HANG_LIMIT).await;
                    dropped_connection()
                }
                Some(Fault::Drop) => {
                    tracing::debug!(prefix = %decision.prefix, "chaos: dropping connection");
                    dropped_connection()
                }
            };
            Ok(response)
        })
    }
}

fn error_response(
    prefix: &str,
    status: StatusCode,
    retry_after: Option<u64>,
    down: bool,
) -> Response {
    tracing::debug!(%prefix, status = status.as_u16(), down, "chaos: injecting error");
    let message = if down {
        format!("chaos: {prefix} is down")
    } else {
        format!("chaos: injected {} for {prefix}", status.as_u16())
    };
    let mut error = AppError::new(status, "chaos_injected", message);
    error.retry_after = retry_after;
    let mut response = error.into_response();
    if let Ok(value) = HeaderValue::from_str(prefix) {
        response.headers_mut().insert(INJECTED_HEADER, value);
    }
    response
}

/// A response whose body fails before its first byte. hyper writes nothing of a response until
/// the first body frame is ready, and on a body error it shuts the connection down, discarding the
/// buffered head: the client sees the connection closed with no response (a network error),
/// which is what a crashed server or a cut link looks like. No panic, no socket tricks.
fn dropped_connection() -> Response {
    Response::new(Body::from_stream(futures::stream::iter([Err::<
        Bytes,
        DroppedOnPurpose,
    >(
        DroppedOnPurpose,
    )])))
}

/// The error the body of a dropped response yields.
#[derive(Debug, thiserror::Error)]
#[error("chaos: connection dropped on purpose")]
struct DroppedOnPurpose;

/// `GET/PUT/DELETE /__chaos` (dev mode only).
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(
            "/__chaos",
            get(get_chaos).put(put_chaos).delete(delete_chaos),
        )
        .with_state(state.chaos)
}

async fn get_chaos(State(chaos): State<Chaos>) -> Json<ChaosSnapshot> {
    Json(chaos.snapshot())
}

async fn put_chaos(
    State(chaos): State<Chaos>,
    body: Bytes,
) -> Result<Json<ChaosSnapshot>, AppError> {
    // Parsed by hand so every refusal carries the project's JSON error body.
    let config: ChaosConfig = serde_json::from_slice(&body)
        .map_err(|err| AppError::bad_request(format!("invalid chaos rules: {err}")))?;
    chaos.set(config).map(Json).map_err(|err| {
        AppError::validation(err.to_string()).with_details(serde_json::json!({ "rule": err.index }))
    })
}

async fn delete_chaos(State(chaos): State<Chaos>) -> Json<ChaosSnapshot> {
    Json(chaos.clear())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str) -> Rule {
        Rule {
            prefix: prefix.into(),
            ..Rule::default()
        }
    }

    #[test]
    fn prefixes_match_on_segment_boundaries() {
        assert!(under("/api", "/api"));
        assert!(under("/api", "/api/payments"));
        assert!(!under("/api/pay", "/api/payments"));
        assert!(under("/", "/anything"));
        assert!(under("/api/", "/api/x"));
        assert!(!under("/api", "/apix"));
    }

    #[test]
    fn longest_prefix_wins_and_first_wins_ties() {
        let chaos = Chaos::new(1);
        chaos
            .set(ChaosConfig {
                seed: None,
                rules: vec![
                    Rule {
                        status: Some(500),
                        ..rule("/api")
                    },
                    Rule {
                        status: Some(502),
                        ..rule("/api/payments")
                    },
                    Rule {
                        status: Some(504),
                        ..rule("/api/payments")
                    },
                ],
            })
            .expect("valid rules");
        let status = |path: &str| match chaos.decide(&Method::GET, path).and_then(|d| d.fault) {
            Some(Fault::Error { status, .. }) => status.as_u16(),
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(status("/api/payments/history"), 502);
        assert_eq!(status("/api/appointments"), 500);
    }

    #[test]
    fn control_and_probe_paths_are_exempt_unless_named() {
        let chaos = Chaos::new(1);
        chaos
            .set(ChaosConfig {
                seed: None,
                rules: vec![Rule {
                    status: Some(500),
                    ..rule("/")
                }],
            })
            .expect("valid rules");
        assert!(chaos.decide(&Method::GET, "/__chaos").is_none());
        assert!(chaos.decide(&Method::GET, "/health").is_none());
        assert!(chaos.decide(&Method::GET, "/__dev/mailbox").is_none());
        assert!(chaos.decide(&Method::GET, "/ready").is_some());
        chaos
            .set(ChaosConfig {
                seed: None,
                rules: vec![Rule {
                    status: Some(500),
                    ..rule("/health")
                }],
            })
            .expect("valid rules");
        assert!(chaos.decide(&Method::GET, "/health").is_some());
    }

    #[test]
    fn same_seed_gives_same_sequence_and_rate_is_close() {
        let outcomes = |seed| {
            let chaos = Chaos::new(seed);
            chaos
                .set(ChaosConfig {
                    seed: None,
                    rules: vec![Rule {
                        error_rate: Some(0.3),
                        ..rule("/api")
                    }],
                })
                .expect("valid rules");
            (0..2000)
                .map(|_| {
                    chaos
                        .decide(&Method::GET, "/api/x")
                        .and_then(|d| d.fault)
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let a = outcomes(7);
        assert_eq!(a, outcomes(7));
        assert_ne!(a, outcomes(8));
        let rate = a.iter().filter(|f| **f).count() as f64 / a.len() as f64;
        assert!((0.26..0.34).contains(&rate), "rate {rate}");
    }

    #[test]
    fn a_held_request_counts_in_the_gauge_until_it_ends() {
        let chaos = Chaos::new(1);
        chaos
            .set(ChaosConfig {
                seed: None,
                rules: vec![Rule {
                    hang: true,
                    ..rule("/api")
                }],
            })
            .expect("valid rules");
        let hanging = || chaos.snapshot().rules[0].stats.hanging;
        let gauge = match chaos.decide(&Method::GET, "/api/x").and_then(|d| d.fault) {
            Some(Fault::Hang(gauge)) => gauge,
            other => panic!("unexpected {other:?}"),
        };
        // Decided but not yet held (still in its latency delay): not counted.
        assert_eq!(hanging(), 0);
        let first = gauge.hold();
        let second = gauge.hold();
        assert_eq!(hanging(), 2);
        drop(first);
        assert_eq!(hanging(), 1);
        drop(second);
        assert_eq!(hanging(), 0);
        assert_eq!(chaos.snapshot().rules[0].stats.hangs, 1);
    }

    #[test]
    fn validation_rejects_contradictions() {
        let bad = [
            rule("api"),
            rule("/api"),
            rule("/__chaos"),
            Rule {
                error_rate: Some(1.5),
                ..rule("/api")
            },
            Rule {
                status: Some(404),
                ..rule("/api")
            },
            Rule {
                status: Some(500),
                retry_after: Some(3),
                ..rule("/api")
            },
            Rule {
                hang: true,
                drop: true,
                ..rule("/api")
            },
            Rule {
                methods: Some(vec!["GE T".into()]),
                status: Some(500),
                ..rule("/api")
            },
            Rule {
                down_for_ms: Some(5),
                flap: Some(Flap {
                    up_ms: 1,
                    down_ms: 1,
                }),
                ..rule("/api")
            },
        ];
        for (i, r) in bad.into_iter().enumerate() {
            assert!(validate(r).is_err(), "case {i} accepted");
        }
        let (_, methods, rate) = validate(Rule {
            methods: Some(vec!["post".into()]),
            hang: true,
            ..rule("/api")
        })
        .expect("valid");
        assert_eq!(methods, Some(vec![Method::POST]));
        assert_eq!(rate, 1.0);
    }
}
