//! The client's side of the outbox: queueing typed write intents for the signed-in user,
//! and the sender that replays them through the full pipeline and maps each answer to a
//! [`Delivery`]:
//!
//! | answer | delivery |
//! | --- | --- |
//! | 2xx | confirmed, with the server's body |
//! | 409 (not `idempotency_in_progress`) | conflict, with the server's details |
//! | other 4xx except 401/408/429 | rejected, with the server's code and message |
//! | network, timeout, 408, 429, 5xx | still queued with backoff, never "delivered" |
//! | refused by an open breaker (nothing sent) | still queued until the breaker allows a call; not an attempt |
//! | no valid session | left queued for the same user's next sign-in |

use std::sync::atomic::{AtomicBool, Ordering};

use lifeline_types::ErrorDetail;

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::outbox::{Delivery, DrainReport, EntryUpdate, Intent, OutboxEntry, WriteMethod};
use crate::services::{ApiGroup, BreakerStatus};
use crate::time;
use crate::transport::{HttpRequest, Method};
use futures::StreamExt;

impl Client {
    /// The outbox: queued writes with per-entry status, observable and awaitable.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client, slot_id: lifeline_sdk::Uuid) -> Result<(), lifeline_sdk::Error> {
    /// use lifeline_sdk::outbox::Intent;
    /// use lifeline_sdk::types::appointments::BookAppointment;
    ///
    /// let entry = client.queue(Intent::BookAppointment(BookAppointment { slot_id, reason: None })).await?;
    /// client.sync_now().await?;
    /// let status = client.outbox().wait(&entry.id).await.map_err(lifeline_sdk::Error::from)?;
    /// println!("{status:?}");
    /// # Ok(()) }
    /// ```
    pub fn outbox(&self) -> &crate::outbox::Outbox {
        &self.inner.outbox
    }

    /// Queues a write for the signed-in user; it is stored before this returns and sent
    /// by the next [`sync_now`](Self::sync_now) (or drain trigger), with an idempotency key
    /// made now and kept for every attempt.
    ///
    /// # Errors
    ///
    /// Not signed in, or the store failed (the write was not queued: tell the user).
    pub async fn queue(&self, intent: Intent) -> Result<OutboxEntry> {
        let user = self.current_user().ok_or_else(Error::not_signed_in)?;
        let entry = self
            .inner
            .outbox
            .enqueue(&user.id.to_string(), intent, time::unix_ms())
            .await?;
        self.emit(Event::Queued {
            id: entry.id.clone(),
            kind: entry.intent.kind().to_string(),
        });
        Ok(entry)
    }

    /// Sends every due queued write now. Answers `None` when another drain (another tab,
    /// the service worker) holds the queue.
    ///
    /// # Errors
    ///
    /// The store failed.
    pub async fn sync_now(&self) -> Result<Option<DrainReport>> {
        let report = self
            .inner
            .outbox
            .drain(
                |entry| {
                    let client = self.clone();
                    async move { client.deliver(entry).await }
                },
                time::unix_ms(),
            )
            .await?;
        Ok(report)
    }

    /// Replays one outbox entry through the pipeline and maps the answer.
    pub async fn deliver(&self, entry: OutboxEntry) -> Delivery {
        match self.current_user() {
            Some(user) if user.id.to_string() == entry.user_id => {}
            // Another user's write waits for that user's next sign-in.
            _ => return Delivery::Unauthenticated,
        }
        if self.session_state() == crate::SessionState::Expired {
            return Delivery::Unauthenticated;
        }
        let request = entry.intent.request();
        let method = match request.method {
            WriteMethod::Post => Method::POST,
            WriteMethod::Put => Method::PUT,
            WriteMethod::Patch => Method::PATCH,
            WriteMethod::Delete => Method::DELETE,
        };
        let call = match Call::new(ApiGroup::for_path(&request.path), method, &request.path)
            .json(&request.body)
        {
            Ok(call) => call.with_key(entry.idempotency_key.clone()),
            Err(e) => {
                return Delivery::Rejected {
                    status: 0,
                    code: "invalid_intent".into(),
                    message: e.to_string(),
                }
            }
        };
        // A sign-out (here, in another tab, or in a page while the service worker drains)
        // removes the entry: stop at once, between retries included, and drop the fetch
        // (which aborts it) rather than deliver a write the user chose to delete.
        let mut updates = self.inner.outbox.subscribe();
        if matches!(self.inner.outbox.still_holds(&entry).await, Ok(false)) {
            return not_sent_removed();
        }
        let removed = async {
            while let Some(update) = updates.next().await {
                if matches!(&update, EntryUpdate::Removed { id } if *id == entry.id) {
                    return;
                }
            }
            std::future::pending::<()>().await;
        };
        let sent = {
            let send = std::pin::pin!(self.send(&call));
            let removed = std::pin::pin!(removed);
            match futures::future::select(send, removed).await {
                futures::future::Either::Left((sent, _)) => sent,
                futures::future::Either::Right(_) => return not_sent_removed(),
            }
        };
        let delivery = match sent {
            Ok(resp) => Delivery::Confirmed(
                serde_json::from_slice(&resp.body).unwrap_or(serde_json::Value::Null),
            ),
            Err(e) => delivery_for_error(&e),
        };
        let result = match &delivery {
            Delivery::Confirmed(_) => Some("confirmed"),
            Delivery::Rejected { .. } => Some("rejected"),
            Delivery::Conflict { .. } => Some("conflict"),
            _ => None,
        };
        if let Some(result) = result {
            self.emit(Event::Synced {
                id: entry.id.clone(),
                result: result.to_string(),
            });
        }
        delivery
    }

    /// Drains the outbox every `period` on the tokio runtime until the returned guard is
    /// dropped (the native drain trigger; the browser uses
    /// `install_sync_triggers`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn spawn_sync_timer(&self, period: std::time::Duration) -> SyncTimer {
        let client = self.clone();
        let task = tokio::spawn(async move {
            loop {
                time::sleep(period).await;
                if let Err(e) = client.sync_now().await {
                    tracing::warn!(error = %e, "periodic outbox drain failed");
                }
            }
        });
        SyncTimer { task }
    }

    /// Asks whether the API is reachable: `GET /health`, one attempt, sent outside the
    /// circuit breakers (a breaker that opened while the device was offline must not stop
    /// the check that it is back). True when it answers 2xx.
    ///
    /// Call it when the OS reports connectivity again (in the browser, the `online` trigger
    /// of `install_sync_triggers` does). When the server answers,
    /// every group served from that base URL whose break only unanswered calls opened
    /// (connection errors, offline, timeouts) is moved to half-open at once, instead of
    /// waiting out its 60–90 s break; its next call is the probe. Groups with another base
    /// URL are checked at that URL's `/health` only when one of them is in such a break. A
    /// break opened by the server's failing answers (5xx, 429) or set by its `Retry-After` is
    /// left to run. Outbox entries that were waiting for an ended break become due, and the
    /// outbox is drained in the background, as when a breaker closes. Emits
    /// [`Event::ReachabilityProbed`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) {
    /// // The OS said the network is back.
    /// if client.probe().await {
    ///     // Calls go again; breaks opened while offline are over.
    ///     let _ = client.hospitals().list().await;
    /// }
    /// # }
    /// ```
    pub async fn probe(&self) -> bool {
        let services = &self.inner.services;
        let main = services.get(ApiGroup::Auth).base_url.clone();
        let now = time::now();
        let mut urls = vec![main.clone()];
        for group in ApiGroup::ALL {
            let service = services.get(group);
            if !urls.contains(&service.base_url) && service.in_network_break(now) {
                urls.push(service.base_url.clone());
            }
        }
        let mut reachable = false;
        let mut resumed = Vec::new();
        for url in urls {
            if !self.health(&url).await {
                continue;
            }
            reachable |= url == main;
            let now = time::now();
            for group in ApiGroup::ALL {
                let service = services.get(group);
                if service.base_url != url {
                    continue;
                }
                if let Some(until) = service.record_reachable(now) {
                    let resume_in = match service.status(now) {
                        BreakerStatus::Open { retry_in } => retry_in,
                        _ => std::time::Duration::ZERO,
                    };
                    resumed.push((group, until.saturating_sub(now), resume_in));
                    self.note_breaker(group, now);
                }
            }
        }
        self.emit(Event::ReachabilityProbed {
            reachable,
            resumed: resumed.iter().map(|(group, ..)| *group).collect(),
        });
        if let Some(&(first, ..)) = resumed.first() {
            self.release_writes_waiting_for(&resumed).await;
            self.drain_on_recovery(first);
            // The released writes fall due over the spread ends of the breaks plus the
            // outbox's release spread: drain once more when the last of them is due, so they
            // do not wait for the next timer.
            let last = resumed
                .iter()
                .map(|&(_, _, resume_in)| resume_in)
                .max()
                .unwrap_or_default()
                + self.inner.outbox.config().release_spread
                + std::time::Duration::from_millis(10);
            let client = self.clone();
            self.spawn_background(async move {
                time::sleep(last).await;
                client.drain_on_recovery(first);
            });
        }
        reachable
    }

    /// `GET {base_url}/health`, one attempt, no breaker, no retry: whether it answered 2xx.
    async fn health(&self, base_url: &str) -> bool {
        let request = HttpRequest {
            method: Method::GET,
            url: format!("{base_url}/health"),
            headers: vec![("accept", "application/json".to_string())],
            body: None,
            timeout: self.inner.config.attempt_timeout,
        };
        matches!(self.inner.transport.send(request).await, Ok(resp) if (200..300).contains(&resp.status))
    }

    /// Makes the outbox entries that waited for the breaks that just got shorter due soon
    /// after the new ends: an entry of such a group due before its old break's end could
    /// not go before that end, and the end is now sooner. Each entry gets its own delay
    /// within the outbox's `release_spread` ([`OutboxConfig`](crate::outbox::OutboxConfig)),
    /// so phones that came back together do not flush together.
    async fn release_writes_waiting_for(
        &self,
        ended: &[(ApiGroup, std::time::Duration, std::time::Duration)],
    ) {
        let now_ms = time::unix_ms();
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        // Entries park until the break's end, computed then on the wall clock from the
        // breaker's monotonic one, rounded up: allow a second for the two clocks' readings
        // and roundings (a 2-ms miss left writes parked for the whole old break).
        let old_end_ms = |left| now_ms.saturating_add(ms(left) + 1_000);
        let released_at = |entry: &OutboxEntry| {
            let group = ApiGroup::for_path(&entry.intent.request().path);
            ended
                .iter()
                .find(|&&(g, left, _)| g == group && entry.next_attempt_at_ms <= old_end_ms(left))
                .map(|&(_, _, resume_in)| now_ms.saturating_add(ms(resume_in) + 1))
        };
        match self.inner.outbox.release(released_at).await {
            Ok(Some(n)) => tracing::debug!(entries = n, "outbox entries released by reachability"),
            Ok(None) => tracing::debug!("outbox busy: entries keep their time"),
            Err(e) => tracing::warn!(error = %e, "outbox entries could not be released"),
        }
    }

    /// Installs the browser's drain triggers (online after a successful probe, page
    /// visible, a timer), each running [`sync_now`](Self::sync_now). Dropping the guard
    /// removes them.
    ///
    /// # Errors
    ///
    /// The JavaScript exception when a listener cannot be registered.
    #[cfg(target_arch = "wasm32")]
    pub fn install_sync_triggers(
        &self,
        config: crate::outbox::triggers::TriggerConfig,
    ) -> std::result::Result<crate::outbox::triggers::TriggerGuard, wasm_bindgen::JsValue> {
        let on_trigger = {
            let client = self.clone();
            move |trigger| {
                let client = client.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    tracing::debug!(?trigger, "outbox drain triggered");
                    if let Err(e) = client.sync_now().await {
                        tracing::warn!(error = %e, "outbox drain failed");
                    }
                });
            }
        };
        let probe = {
            let client = self.clone();
            move || {
                let client = client.clone();
                async move { client.probe().await }
            }
        };
        crate::outbox::triggers::install(config, on_trigger, probe)
    }
}

/// The state of the client's breaker-recovery drain: at most one runs at a time, and a
/// breaker that closes while it runs makes it drain once more instead of starting another.
#[derive(Debug, Default)]
pub(crate) struct RecoveryDrain {
    /// A breaker closed since the running drain last started a pass.
    requested: AtomicBool,
    /// A recovery drain task exists.
    running: AtomicBool,
}

impl Client {
    /// Called when `group`'s breaker closes (its half-open probe succeeded): drains the
    /// outbox in the background, so writes queued during the outage go out now instead of
    /// when each entry's own timer comes round. Never blocks the call that closed the
    /// breaker, never runs twice at once in this client (a drain that finds the outbox's
    /// drain lock taken does nothing, as always), and a breaker closing during the drain
    /// (possibly because of it) asks for one more pass rather than a nested drain.
    pub(crate) fn drain_on_recovery(&self, group: ApiGroup) {
        let state = &self.inner.recovery_drain;
        state.requested.store(true, Ordering::SeqCst);
        if state.running.swap(true, Ordering::SeqCst) {
            return;
        }
        let client = self.clone();
        let task = async move {
            loop {
                let state = &client.inner.recovery_drain;
                while state.requested.swap(false, Ordering::SeqCst) {
                    tracing::debug!(%group, "breaker closed: draining the outbox");
                    if let Err(e) = client.sync_now().await {
                        tracing::warn!(error = %e, "outbox drain after recovery failed");
                    }
                }
                state.running.store(false, Ordering::SeqCst);
                // A request made between the last check and clearing `running` found the
                // task still running: take it up, unless a new task already did.
                if !state.requested.load(Ordering::SeqCst)
                    || state.running.swap(true, Ordering::SeqCst)
                {
                    break;
                }
            }
        };
        #[cfg(not(target_arch = "wasm32"))]
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
            }
            Err(_) => {
                // Driven by another executor: the app's own drain triggers will do it.
                self.inner
                    .recovery_drain
                    .running
                    .store(false, Ordering::SeqCst);
                tracing::debug!("no tokio runtime to drain the outbox on recovery");
            }
        }
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_futures::spawn_local(task);
    }
}

impl Client {
    /// Runs `task` in the background: on the tokio runtime natively (nothing without one: the
    /// app's own drain triggers cover it), on the page's event loop in the browser.
    fn spawn_background(
        &self,
        task: impl std::future::Future<Output = ()> + 'static + SendIfNative,
    ) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(task);
        }
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_futures::spawn_local(task);
    }
}

/// `Send` where tasks move between threads (native), nothing in the browser.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) trait SendIfNative: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> SendIfNative for T {}
/// `Send` where tasks move between threads (native), nothing in the browser.
#[cfg(target_arch = "wasm32")]
pub(crate) trait SendIfNative {}
#[cfg(target_arch = "wasm32")]
impl<T> SendIfNative for T {}

/// Keeps the native periodic drain running; dropping it stops the timer.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug)]
pub struct SyncTimer {
    task: tokio::task::JoinHandle<()>,
}

#[cfg(not(target_arch = "wasm32"))]
impl Drop for SyncTimer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Maps a failed replay to what the outbox records.
pub(crate) fn delivery_for_error(e: &Error) -> Delivery {
    if e.is_auth_expired() || e.status() == Some(401) {
        return Delivery::Unauthenticated;
    }
    if e.is_circuit_open() {
        // The breaker refused the call before any request of it went out (when its own
        // failures open the breaker, the call reports its last failure instead).
        return Delivery::NotSent {
            retry_in: e.retry_after().unwrap_or_default(),
            reason: e.to_string(),
        };
    }
    if e.is_retryable() {
        return Delivery::RetryLater {
            retry_after: e.retry_after(),
            reason: e.to_string(),
        };
    }
    match (e.status(), e.detail()) {
        (Some(409), detail) => Delivery::Conflict {
            details: conflict_details(detail),
        },
        (Some(status), detail) if (400..500).contains(&status) => Delivery::Rejected {
            status,
            code: detail
                .map(|d| d.code.clone())
                .unwrap_or_else(|| format!("http_{status}")),
            message: detail
                .map(|d| d.message.clone())
                .unwrap_or_else(|| e.to_string()),
        },
        // Anything else (an undecodable answer, a local store failure) is not an answer
        // from the server about this write: keep it queued.
        _ => Delivery::RetryLater {
            retry_after: None,
            reason: e.to_string(),
        },
    }
}

fn conflict_details(detail: Option<&ErrorDetail>) -> serde_json::Value {
    match detail {
        Some(d) => {
            let mut details = d.details.clone().unwrap_or_else(|| serde_json::json!({}));
            if let Some(obj) = details.as_object_mut() {
                obj.entry("code")
                    .or_insert_with(|| serde_json::Value::String(d.code.clone()));
                obj.entry("message")
                    .or_insert_with(|| serde_json::Value::String(d.message.clone()));
            }
            details
        }
        None => serde_json::Value::Null,
    }
}

impl From<crate::outbox::OutboxError> for Error {
    fn from(err: crate::outbox::OutboxError) -> Self {
        Error::storage(err)
    }
}

/// The delivery of an entry removed while it waited or was being sent: nothing more is sent
/// (the drain does not store it again).
fn not_sent_removed() -> Delivery {
    Delivery::NotSent {
        retry_in: std::time::Duration::ZERO,
        reason: crate::outbox::REMOVED.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(code: &str) -> Option<ErrorDetail> {
        Some(ErrorDetail {
            code: code.into(),
            message: "m".into(),
            request_id: None,
            details: Some(serde_json::json!({"alternatives": [1]})),
        })
    }

    #[test]
    fn answers_map_to_deliveries() {
        assert!(matches!(
            delivery_for_error(&Error::status_error(409, detail("slot_taken"), None)),
            Delivery::Conflict { details } if details["alternatives"][0] == 1 && details["code"] == "slot_taken"
        ));
        assert!(matches!(
            delivery_for_error(&Error::status_error(422, detail("slot_in_past"), None)),
            Delivery::Rejected { status: 422, code, .. } if code == "slot_in_past"
        ));
        for retry_later in [
            Error::status_error(503, None, None),
            Error::status_error(500, None, None),
            Error::status_error(429, None, Some(std::time::Duration::from_secs(3))),
            Error::status_error(408, None, None),
            Error::status_error(409, detail("idempotency_in_progress"), None),
            Error::network("refused"),
            Error::timeout(),
        ] {
            assert!(
                matches!(
                    delivery_for_error(&retry_later),
                    Delivery::RetryLater { .. }
                ),
                "{retry_later:?}"
            );
        }
        assert_eq!(
            delivery_for_error(&Error::circuit_open(
                ApiGroup::Appointments,
                Some(std::time::Duration::from_secs(42))
            )),
            Delivery::NotSent {
                retry_in: std::time::Duration::from_secs(42),
                reason: "the appointments service is unavailable for a moment".into(),
            }
        );
        assert_eq!(
            delivery_for_error(&Error::auth_expired()),
            Delivery::Unauthenticated
        );
    }
}
