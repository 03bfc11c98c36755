//! [`Client`] and [`ClientBuilder`]: the request pipeline every typed method goes through.
//!
//! Outer to inner: the logical deadline (`call_timeout`) → the retry loop (policy + per-group
//! budget; an `Idempotency-Key` made once per state-changing call and re-sent on every
//! retry; a POST without a key is never retried) → the group's circuit breaker (refuses
//! fast while open) → the attempt timeout → the transport. Every decision is an
//! [`Event`](crate::Event).
//!
//! Around that pipeline sit the session layer (one refresh on 401, shared by every caller)
//! and, for reads, the stale-if-error cache.

use std::sync::Mutex;
use std::time::Duration;

use lifeline_types::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cache::{Cache, CacheClass, CacheConfig, CachedEntry, Retention, Validators};
use crate::config::{
    Config, RecordsCaching, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CALL_TIMEOUT, DEFAULT_USER_AGENT,
};
use crate::error::{Error, Result};
use crate::events::{Event, EventHub, EventStream};
use crate::freshness::{Fetched, Freshness};
use crate::outbox::{Outbox, OutboxConfig};
use crate::policy::{
    parse_retry_after_secs, BreakerConfig, BudgetConfig, Outcome, RetryDecision, RetryPolicy,
    SplitMix64,
};
use crate::services::{ApiGroup, BreakerStatus, Services};
use crate::session::{Session, SessionState};
use crate::storage::Store;
use crate::time;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport};

/// The Lifeline API client. Cheap to clone: clones share connections, breakers, the session,
/// the cache and the outbox.
///
/// # Examples
///
/// ```no_run
/// # async fn run() -> Result<(), lifeline_sdk::Error> {
/// use lifeline_sdk::Client;
///
/// let client = Client::builder().base_url("http://127.0.0.1:8080").build()?;
/// let hospitals = client.hospitals().list().await?;
/// if let Some(age) = hospitals.freshness.age() {
///     println!("offline: saved {} minutes ago", age.as_secs() / 60);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Shared<Inner>,
}

// Browser futures and the outbox are single-threaded there; native clients are shared
// across tokio tasks.
#[cfg(not(target_arch = "wasm32"))]
type Shared<T> = std::sync::Arc<T>;
#[cfg(target_arch = "wasm32")]
type Shared<T> = std::rc::Rc<T>;

pub(crate) struct Inner {
    pub config: Config,
    pub transport: Transport,
    pub services: Services,
    pub events: EventHub,
    pub session: Session,
    pub store: Store,
    pub cache: Cache,
    pub outbox: Outbox,
    pub rng: Mutex<SplitMix64>,
    pub recovery_drain: crate::sync::RecoveryDrain,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens never reach Debug output.
        f.debug_struct("Client")
            .field("base_url", &self.inner.config.base_url)
            .field("session", &self.inner.session.state())
            .finish()
    }
}

/// Builds a [`Client`]. Every setter takes and returns `self`; the first invalid setting is
/// remembered and returned by [`build`](Self::build).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use lifeline_sdk::{ApiGroup, Client};
///
/// let client = Client::builder()
///     .base_url("http://127.0.0.1:8080")
///     .group_base_url(ApiGroup::Payments, "http://127.0.0.1:9090")
///     .attempt_timeout(Duration::from_secs(5))
///     .call_timeout(Duration::from_secs(20))
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: Option<String>,
    overrides: Vec<(ApiGroup, String)>,
    attempt_timeout: Duration,
    call_timeout: Duration,
    retry: RetryPolicy,
    budget: BudgetConfig,
    breaker: BreakerConfig,
    store: Option<Store>,
    records_caching: RecordsCaching,
    outbox: OutboxConfig,
    user_agent: String,
    seed: Option<u64>,
    error: Option<Error>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: None,
            overrides: Vec::new(),
            attempt_timeout: DEFAULT_ATTEMPT_TIMEOUT,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            retry: RetryPolicy::default(),
            budget: BudgetConfig::default(),
            breaker: BreakerConfig::default(),
            store: None,
            records_caching: RecordsCaching::default(),
            outbox: OutboxConfig::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
            seed: None,
            error: None,
        }
    }
}

fn check_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::builder(format!("invalid base url {url:?}: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::builder(format!(
            "base url {url:?} must use http or https"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

impl ClientBuilder {
    fn fail(mut self, err: Error) -> Self {
        if self.error.is_none() {
            self.error = Some(err);
        }
        self
    }

    /// The API's base URL, such as `https://api.example.org` (no path). Required.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        match check_url(url.as_ref()) {
            Ok(url) => {
                self.base_url = Some(url);
                self
            }
            Err(e) => self.fail(e),
        }
    }

    /// A different base URL for one API group. Default is the base URL.
    pub fn group_base_url(mut self, group: ApiGroup, url: impl AsRef<str>) -> Self {
        match check_url(url.as_ref()) {
            Ok(url) => {
                self.overrides.push((group, url));
                self
            }
            Err(e) => self.fail(e),
        }
    }

    /// How long one HTTP attempt may take. Default is 10 s.
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            return self.fail(Error::builder("attempt timeout must be greater than zero"));
        }
        self.attempt_timeout = timeout;
        self
    }

    /// How long one logical call may take, all attempts and waits included. Default is 30 s.
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        if timeout.is_zero() {
            return self.fail(Error::builder("call timeout must be greater than zero"));
        }
        self.call_timeout = timeout;
        self
    }

    /// The retry policy. Default is [`RetryPolicy::default`] (3 retries, exponential backoff
    /// with jitter, honouring `Retry-After`).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The per-group retry budget. Default is [`BudgetConfig::default`].
    pub fn retry_budget(mut self, budget: BudgetConfig) -> Self {
        self.budget = budget;
        self
    }

    /// The per-group circuit breaker settings. Default is [`BreakerConfig::default`].
    pub fn circuit_breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }

    /// Where the cache, the outbox and the session are kept. Default is
    /// [`Store::memory`] (nothing survives a restart); pass a file or IndexedDB store to
    /// persist.
    pub fn store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Where medical records may be cached. Default is [`RecordsCaching::MemoryOnly`].
    pub fn records_caching(mut self, caching: RecordsCaching) -> Self {
        self.records_caching = caching;
        self
    }

    /// Outbox settings: the backoff between delivery attempts of a queued write and the
    /// name of the cross-tab drain lock. Default is [`OutboxConfig::default`].
    pub fn outbox(mut self, config: OutboxConfig) -> Self {
        self.outbox = config;
        self
    }

    /// The `User-Agent` header (native only; browsers set their own). Default is
    /// `lifeline-sdk/<version>`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Seeds the jitter generator so retry delays repeat run to run. Default is a seed
    /// from the system's random source.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// The first invalid setting, or a missing base URL.
    pub fn build(self) -> Result<Client> {
        if let Some(err) = self.error {
            return Err(err);
        }
        let base_url = self
            .base_url
            .ok_or_else(|| Error::builder("a base url is required"))?;
        let config = Config {
            base_url,
            overrides: self.overrides,
            attempt_timeout: self.attempt_timeout,
            call_timeout: self.call_timeout,
            retry: self.retry,
            budget: self.budget,
            breaker: self.breaker,
            user_agent: self.user_agent,
            records_caching: self.records_caching,
            seed: self.seed,
        };
        let transport = Transport::new(&config.user_agent)?;
        let services = Services::new(
            &config.base_url,
            &config.overrides,
            &config.breaker,
            &config.budget,
        );
        let store = self.store.unwrap_or_else(Store::memory);
        let cache = Cache::new(
            store.clone(),
            CacheConfig {
                medical: match config.records_caching {
                    RecordsCaching::MemoryOnly => Retention::MemoryOnly,
                    RecordsCaching::Persistent => Retention::Persistent,
                },
                ..CacheConfig::default()
            },
        );
        let outbox = Outbox::new(store.clone(), self.outbox);
        let rng = match config.seed {
            Some(seed) => SplitMix64::new(seed),
            None => SplitMix64::from_entropy(),
        };
        Ok(Client {
            inner: Shared::new(Inner {
                config,
                transport,
                services,
                events: EventHub::default(),
                session: Session::default(),
                store,
                cache,
                outbox,
                rng: Mutex::new(rng),
                recovery_drain: Default::default(),
            }),
        })
    }
}

/// Whether a call carries the access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMode {
    /// Needs a signed-in user; refreshes on 401.
    Required,
    /// Public, but sent with the token when someone is signed in.
    Optional,
    /// Never sends the token.
    None,
}

/// One logical call, fully described, so that every retry sends the same bytes and the same
/// idempotency key.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub group: ApiGroup,
    pub method: Method,
    pub path: String,
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(&'static str, String)>,
    pub auth: AuthMode,
    pub idempotency_key: Option<String>,
}

impl Call {
    pub fn new(group: ApiGroup, method: Method, path: impl Into<String>) -> Self {
        Call {
            group,
            method,
            path: path.into(),
            body: None,
            headers: Vec::new(),
            auth: AuthMode::Required,
            idempotency_key: None,
        }
    }
    pub fn get(group: ApiGroup, path: impl Into<String>) -> Self {
        Self::new(group, Method::GET, path)
    }
    pub fn post(group: ApiGroup, path: impl Into<String>) -> Self {
        Self::new(group, Method::POST, path)
    }
    pub fn patch(group: ApiGroup, path: impl Into<String>) -> Self {
        Self::new(group, Method::PATCH, path)
    }
    /// Serializes `body` as the JSON request body.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        self.body = Some(serde_json::to_vec(body)?);
        Ok(self)
    }
    /// A call that needs no signed-in user.
    pub fn anonymous(mut self) -> Self {
        self.auth = AuthMode::None;
        self
    }
    /// A public call that still identifies a signed-in user when there is one.
    pub fn optional_auth(mut self) -> Self {
        self.auth = AuthMode::Optional;
        self
    }
    /// Makes a fresh idempotency key for this call: it becomes safe to retry.
    pub fn idempotent(self) -> Self {
        self.with_key(uuid::Uuid::new_v4().to_string())
    }
    /// Uses `key` (an outbox entry's key, kept across restarts).
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    /// GET, HEAD, PUT, DELETE and OPTIONS are idempotent by definition; POST and PATCH only
    /// with an idempotency key.
    pub fn is_idempotent(&self) -> bool {
        match self.method {
            Method::POST | Method::PATCH => self.idempotency_key.is_some(),
            _ => true,
        }
    }
}

/// Builds a query string from pairs, skipping `None` values.
pub(crate) fn query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let mut out = path.to_string();
    let mut first = true;
    for (k, v) in pairs {
        if let Some(v) = v {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(k);
            out.push('=');
            out.push_str(&encode(v));
        }
    }
    out
}

/// Percent-encodes one path segment or query value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn outcome_of(result: &Result<HttpResponse>) -> Outcome {
    match result {
        Ok(resp) => Outcome::from_response(
            resp.status,
            resp.header("retry-after").and_then(parse_retry_after_secs),
        ),
        Err(e) if e.is_timeout() => Outcome::Timeout,
        Err(_) => Outcome::Network,
    }
}

/// Turns a non-2xx answer into an [`Error`] carrying the server's code, message and details.
pub(crate) fn status_error(resp: &HttpResponse) -> Error {
    let detail = serde_json::from_slice::<ErrorBody>(&resp.body)
        .ok()
        .map(|b| b.error);
    let retry_after = resp.header("retry-after").and_then(parse_retry_after_secs);
    Error::status_error(resp.status, detail, retry_after)
}

impl Client {
    /// A builder with every setting at its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A stream of every [`Event`] from now on (retries, breaker changes, cache fallbacks,
    /// queued and synced writes, session changes).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) {
    /// use futures::StreamExt;
    ///
    /// let mut events = client.events();
    /// while let Some(event) = events.next().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn events(&self) -> EventStream {
        self.inner.events.subscribe()
    }

    /// The breaker state of every API group.
    pub fn breaker_states(&self) -> Vec<(ApiGroup, BreakerStatus)> {
        let now = time::now();
        ApiGroup::ALL
            .into_iter()
            .map(|g| (g, self.inner.services.get(g).status(now)))
            .collect()
    }

    /// The breaker state of one API group.
    pub fn breaker_state(&self, group: ApiGroup) -> BreakerStatus {
        self.inner.services.get(group).status(time::now())
    }

    /// The session's current state.
    pub fn session_state(&self) -> SessionState {
        self.inner.session.state()
    }

    /// The store behind the cache, the outbox and the session.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// How many refresh calls this client has sent (each one a single flight).
    pub fn refresh_count(&self) -> u64 {
        self.inner.session.refresh_count()
    }

    pub(crate) fn emit(&self, event: Event) {
        self.inner.events.emit(event);
    }

    pub(crate) fn set_session_state(&self, state: SessionState) {
        if self.inner.session.set_state(state) {
            self.emit(Event::SessionChanged { state });
        }
    }

    pub(crate) fn note_breaker(&self, group: ApiGroup, now: Duration) {
        for state in self.inner.services.get(group).transitions(now) {
            self.emit(Event::BreakerChanged { group, state });
            if state == BreakerStatus::Closed {
                // The service is back: send what queued up while it was down now, not when
                // each entry's own timer comes round.
                self.drain_on_recovery(group);
            }
        }
    }

    /// The pipeline without the session layer: deadline → retries → breaker → attempt
    /// timeout → transport. Answers `Ok` only for 2xx and 304.
    pub(crate) async fn execute(&self, call: &Call, token: Option<&str>) -> Result<HttpResponse> {
        let inner = &self.inner;
        let service = inner.services.get(call.group);
        let deadline = time::now() + inner.config.call_timeout;
        let url = format!("{}{}", service.base_url, call.path);
        let mut headers = call.headers.clone();
        headers.push(("accept", "application/json".to_string()));
        if let Some(token) = token {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        if let Some(key) = &call.idempotency_key {
            headers.push(("idempotency-key", key.clone()));
        }
        let mut attempt = 0u32;
        let mut last_error: Option<Error> = None;
        loop {
            attempt += 1;
            let now = time::now();
            let remaining = deadline.saturating_sub(now);
            if remaining.is_zero() {
                return Err(Error::timeout());
            }
            let permit = match service.acquire(now) {
                Ok(permit) => permit,
                Err(retry_in) => {
                    self.note_breaker(call.group, now);
                    // When this call's own failures opened the breaker, the failure says
                    // more than "circuit open"; later calls are refused as circuit open.
                    return Err(last_error
                        .unwrap_or_else(|| Error::circuit_open(call.group, Some(retry_in))));
                }
            };
            self.note_breaker(call.group, now);
            let request = HttpRequest {
                method: call.method.clone(),
                url: url.clone(),
                headers: headers.clone(),
                body: call.body.clone(),
                timeout: inner.config.attempt_timeout.min(remaining),
            };
            let result = inner.transport.send(request).await;
            let now = time::now();
            let outcome = outcome_of(&result);
            service.record(now, permit, &outcome);
            self.note_breaker(call.group, now);
            let error = match result {
                Ok(resp) if resp.status < 400 => return Ok(resp),
                Ok(resp) => status_error(&resp),
                Err(e) => e,
            };
            // "Still running under this key" is worth asking again, like a 503; the breaker
            // above saw it as the 409 it is, so it never counts as a failure.
            let retry_outcome = if error.is_in_progress() {
                Outcome::Status {
                    code: 503,
                    retry_after: error.retry_after(),
                }
            } else {
                outcome
            };
            let decision = {
                let mut rng = inner.rng.lock().unwrap_or_else(|e| e.into_inner());
                inner
                    .config
                    .retry
                    .decide(attempt, &retry_outcome, call.is_idempotent(), &mut *rng)
            };
            let delay = match decision {
                RetryDecision::RetryAfter(delay) => delay,
                RetryDecision::Stop(_) => return Err(error),
            };
            if !service.allows_retry() || now + delay >= deadline {
                return Err(error);
            }
            self.emit(Event::RetryScheduled {
                group: call.group,
                path: call.path.clone(),
                attempt,
                delay,
                reason: error.to_string(),
            });
            time::sleep(delay).await;
            last_error = Some(error);
        }
    }

    /// The pipeline with the session layer: adds the access token, and on 401 refreshes
    /// once (shared with every concurrent caller) and tries again.
    pub(crate) async fn send(&self, call: &Call) -> Result<HttpResponse> {
        match call.auth {
            AuthMode::None => return self.execute(call, None).await,
            AuthMode::Optional
                if self.inner.session.user().is_none()
                    || self.inner.session.state() == SessionState::Expired =>
            {
                return self.execute(call, None).await
            }
            _ => {}
        }
        let seen = self.inner.session.generation();
        let token = match self.inner.session.access_token() {
            Some(token) => token,
            None => self.refresh_session(seen).await?,
        };
        let result = match self.execute(call, Some(&token)).await {
            Err(e) if is_token_rejected(&e) => {
                let fresh = self.refresh_session(seen).await?;
                self.execute(call, Some(&fresh)).await
            }
            other => other,
        };
        if result.is_ok() && self.inner.session.state() == SessionState::Unverified {
            self.set_session_state(SessionState::Active);
        }
        result
    }

    /// Sends `call` and decodes the JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        let resp = self.send(call).await?;
        decode(&resp)
    }
}

/// A 401 that rejects the access token (so a refresh and one more try may pass), as opposed
/// to a 401 about something the request carried, such as a wrong one-time code
/// (`otp_invalid`): sending that again would spend another of the patient's tries.
fn is_token_rejected(error: &Error) -> bool {
    error.status() == Some(401)
        && matches!(
            error.code(),
            None | Some("unauthorized" | "invalid_token" | "token_expired")
        )
}

/// The cache partition of reads made while nobody is signed in.
const ANONYMOUS_PARTITION: &str = "anonymous";

impl Client {
    fn cache_partition(&self) -> String {
        self.inner
            .session
            .user()
            .map(|u| u.id.to_string())
            .unwrap_or_else(|| ANONYMOUS_PARTITION.to_string())
    }

    /// A GET through the stale-if-error cache: revalidates with `If-None-Match` /
    /// `If-Modified-Since`, stores good answers, and when the call fails in a way that may
    /// pass (offline, timeout, open breaker, 5xx, 429) answers the last good value as stale.
    /// Definite answers (404, 403...) are never papered over with cached data.
    pub(crate) async fn read<T: DeserializeOwned>(&self, mut call: Call) -> Result<Fetched<T>> {
        let cache = &self.inner.cache;
        let partition = self.cache_partition();
        let class = CacheClass::for_path(&call.path);
        let key = call.path.clone();
        let cached = match cache.get(&partition, class, &key, time::unix_ms()).await {
            Ok(entry) => entry,
            Err(e) => {
                tracing::warn!(error = %e, path = %key, "cache read failed");
                None
            }
        };
        if let Some(entry) = &cached {
            if let Some(etag) = &entry.etag {
                call = call.header("if-none-match", etag.clone());
            }
            if let Some(lm) = &entry.last_modified {
                call = call.header("if-modified-since", lm.clone());
            }
        }
        match self.send(&call).await {
            Ok(resp) if resp.status == 304 => {
                let Some(entry) = cached else {
                    return Err(Error::decode("304 not modified without a cached copy"));
                };
                let validators = Validators {
                    etag: resp.header("etag").map(str::to_string),
                    last_modified: resp.header("last-modified").map(str::to_string),
                };
                if let Err(e) = cache
                    .touch(&partition, class, &key, validators, time::unix_ms())
                    .await
                {
                    tracing::warn!(error = %e, path = %key, "cache refresh failed");
                }
                Ok(Fetched {
                    value: serde_json::from_slice(&entry.body)?,
                    freshness: Freshness::Fresh,
                })
            }
            Ok(resp) => {
                let value: T = decode(&resp)?;
                let entry = CachedEntry {
                    etag: resp.header("etag").map(str::to_string),
                    last_modified: resp.header("last-modified").map(str::to_string),
                    ..CachedEntry::new(resp.body, time::unix_ms())
                };
                if let Err(e) = cache.put(&partition, class, &key, &entry).await {
                    tracing::warn!(error = %e, path = %key, "cache write failed");
                }
                Ok(Fetched {
                    value,
                    freshness: Freshness::Fresh,
                })
            }
            Err(err) if err.is_retryable() => match cached {
                Some(entry) => {
                    let age = entry.age(time::unix_ms());
                    self.emit(Event::ServedFromCache { path: key, age });
                    Ok(Fetched {
                        value: serde_json::from_slice(&entry.body)?,
                        freshness: Freshness::Stale { age },
                    })
                }
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Removes everything kept for `user_id`: cached reads and queued writes.
    pub(crate) async fn wipe_user_data(&self, user_id: &str) -> Result<()> {
        self.inner
            .cache
            .clear_user(user_id)
            .await
            .map_err(Error::storage)?;
        let cleared = self.inner.outbox.clear_user(user_id).await?;
        if cleared.unsynced > 0 {
            tracing::warn!(
                unsynced = cleared.unsynced,
                "signed out with writes the server never answered"
            );
        }
        Ok(())
    }
}

pub(crate) fn decode<T: DeserializeOwned>(resp: &HttpResponse) -> Result<T> {
    serde_json::from_slice(&resp.body).map_err(|e| Error::decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_returns_the_first_error() {
        let err = Client::builder()
            .base_url("not a url")
            .attempt_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.is_builder());
        assert!(err.to_string().contains("invalid base url"), "{err}");
        let err = Client::builder().build().unwrap_err();
        assert!(err.to_string().contains("base url is required"));
    }

    #[test]
    fn only_keyed_posts_are_idempotent() {
        assert!(Call::get(ApiGroup::Auth, "/x").is_idempotent());
        assert!(!Call::post(ApiGroup::Auth, "/x").is_idempotent());
        let call = Call::post(ApiGroup::Auth, "/x").idempotent();
        assert!(call.is_idempotent());
        assert_eq!(
            call.clone().idempotency_key,
            call.idempotency_key,
            "the key is made once and kept"
        );
    }

    #[test]
    fn query_skips_none_and_encodes() {
        assert_eq!(
            query(
                "/a",
                &[
                    ("q", Some("a b&c".into())),
                    ("n", None),
                    ("d", Some("1".into()))
                ]
            ),
            "/a?q=a%20b%26c&d=1"
        );
    }
}
