//! The app's one SDK client, set up for the browser (IndexedDB store, same-origin API), and
//! the few things pages need around it: an error type views can render, and the reactive
//! [`Status`] the banner and the status page read.

use std::time::Duration;

use crate::state::write::{WriteKind, WriteNotice};
use futures::StreamExt;
use leptos::prelude::*;
use lifeline_sdk::outbox::{EntryStatus, Intent, OutboxError};
use lifeline_sdk::storage::Store;
use lifeline_sdk::{ApiGroup, BreakerStatus, Client, Event, SessionState};

/// A failure as a page shows it: a sentence for people, built from the SDK's error kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    message: String,
}

impl UiError {
    /// An error with this text.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl From<lifeline_sdk::Error> for UiError {
    fn from(e: lifeline_sdk::Error) -> Self {
        let message = if e.is_offline() {
            "You are offline and there is no saved copy of this yet.".to_owned()
        } else if e.is_timeout() {
            "The server took too long to answer. Try again in a moment.".to_owned()
        } else if e.is_circuit_open() {
            "This service is paused after repeated failures and will be tried again shortly."
                .to_owned()
        } else if e.is_auth_expired() {
            "Your session has ended. Sign in again.".to_owned()
        } else {
            match e.status() {
                Some(404) => "Not found.".to_owned(),
                Some(401) => "Wrong email or password.".to_owned(),
                Some(429) => "Too many attempts. Wait a little and try again.".to_owned(),
                Some(s) if s >= 500 => {
                    "The server had a problem. Try again in a moment.".to_owned()
                }
                _ => e.to_string(),
            }
        };
        Self { message }
    }
}

/// What the whole app shows about its situation; every field is a signal.
#[derive(Debug, Clone, Copy)]
pub struct Status {
    /// `navigator.onLine`, kept current by the `online`/`offline` events.
    pub online: RwSignal<bool>,
    /// The SDK's session state; `None` until the stored session has been read.
    pub session: RwSignal<Option<SessionState>>,
    /// Each API group's breaker.
    pub breakers: RwSignal<Vec<(ApiGroup, BreakerStatus)>>,
    /// The signed-in user's writes in the outbox that the server has not answered yet.
    pub pending: RwSignal<usize>,
    /// A new service worker is installed and waiting for the user's go-ahead.
    pub update_waiting: RwSignal<bool>,
}

impl Status {
    fn new() -> Self {
        Self {
            online: RwSignal::new(navigator_online()),
            session: RwSignal::new(None),
            breakers: RwSignal::new(Vec::new()),
            pending: RwSignal::new(0),
            update_waiting: RwSignal::new(false),
        }
    }

    /// API groups whose breaker is not closed.
    pub fn degraded(&self) -> Vec<ApiGroup> {
        self.breakers
            .get()
            .into_iter()
            .filter(|(_, s)| s.is_degraded())
            .map(|(g, _)| g)
            .collect()
    }
}

fn navigator_online() -> bool {
    web_sys::window()
        .map(|w| w.navigator().on_line())
        .unwrap_or(true)
}

/// The SDK client and the app status, shared through context.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    status: Status,
}

impl Api {
    /// Builds the client over IndexedDB (memory when IndexedDB is unavailable, e.g. in some
    /// private modes) for the page's own origin.
    ///
    /// # Errors
    /// When the client cannot be built.
    pub async fn init() -> Result<Self, UiError> {
        let origin = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        let store = match Store::indexed_db("lifeline").await {
            Ok(store) => store,
            Err(e) => {
                tracing::warn!(error = %e, "indexeddb unavailable, keeping data in memory");
                Store::memory()
            }
        };
        let client = Client::builder()
            .base_url(origin)
            .store(store)
            .build()
            .map_err(UiError::from)?;
        Ok(Self {
            client,
            status: Status::new(),
        })
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The app status signals.
    pub fn status(&self) -> Status {
        self.status
    }

    /// Restores the session and keeps [`Status`] current from the SDK's events and a
    /// once-a-second look at the breakers. Spawned once at start.
    pub fn run_background(&self) {
        let client = self.client.clone();
        let status = self.status;
        let mut events = client.events();
        leptos::task::spawn_local(async move {
            while let Some(event) = events.next().await {
                match event {
                    Event::SessionChanged { state } => {
                        status.session.set(Some(state));
                        refresh_pending(&client, status).await;
                    }
                    Event::BreakerChanged { .. } => status.breakers.set(client.breaker_states()),
                    _ => {}
                }
            }
        });
        let client = self.client.clone();
        leptos::task::spawn_local(async move {
            let state = match client.restore().await {
                Ok(state) => state,
                Err(e) => {
                    tracing::warn!(error = %e, "stored session unreadable");
                    SessionState::Anonymous
                }
            };
            status.session.set(Some(state));
            refresh_pending(&client, status).await;
        });
        // Every outbox change, from this page, another tab or the service worker, updates
        // the count of writes waiting to be sent.
        let client = self.client.clone();
        let mut changes = client.outbox().subscribe();
        leptos::task::spawn_local(async move {
            while changes.next().await.is_some() {
                refresh_pending(&client, status).await;
            }
        });
        // The SDK's own drain triggers (online after a probe, page visible, a timer) for
        // writes queued in its outbox; they live as long as the page.
        if let Ok(guard) = self
            .client
            .install_sync_triggers(lifeline_sdk::outbox::triggers::TriggerConfig::default())
        {
            std::mem::forget(guard);
        }
        // Back online, the SDK's trigger probes `/health` first (`navigator.onLine` lies),
        // ends breaks caused by the lost network, and drains; the page adds nothing to it.
        let client = self.client.clone();
        let _ = set_interval_with_handle(
            move || {
                status.breakers.set(client.breaker_states());
                if status.session.get_untracked().is_some() {
                    let now = client.session_state();
                    if status.session.get_untracked() != Some(now) {
                        status.session.set(Some(now));
                    }
                }
            },
            Duration::from_secs(1),
        );
    }
}

/// Where a write handed to the outbox by [`queue_write`] stands.
#[derive(Debug, Clone)]
pub enum WriteProgress {
    /// The outbox could not store it: nothing was sent. The store's reason, for people.
    NotSaved(String),
    /// Stored as this outbox entry, before anything is sent.
    Stored(String),
    /// The entry's status: after the first attempt, then its final one.
    Status(String, EntryStatus),
    /// The outbox no longer holds the entry (wiped, or deleted at sign-out elsewhere).
    Gone(String),
}

/// Hands `intent` to the SDK's outbox (stored before anything is sent, one idempotency key
/// for every attempt), tries to send it now when online, and tells `on` where it stands:
/// stored, the status after that attempt, and, when it is still unanswered, the final
/// status from whichever drain (this page, another tab, the service worker) delivers it.
pub fn queue_write(intent: Intent, on: impl Fn(WriteProgress) + 'static) {
    leptos::task::spawn_local(async move {
        let api = api();
        let client = api.client().clone();
        let entry = match client.queue(intent).await {
            Ok(entry) => entry,
            Err(e) => return on(WriteProgress::NotSaved(UiError::from(e).to_string())),
        };
        on(WriteProgress::Stored(entry.id.clone()));
        if api.status().online.get_untracked() {
            let _ = client.sync_now().await;
        }
        let now = match client.outbox().entry(&entry.id).await {
            Ok(Some(e)) => e.status,
            _ => EntryStatus::Queued,
        };
        let settled = now.is_final();
        on(WriteProgress::Status(entry.id.clone(), now));
        if settled {
            return;
        }
        // Still unanswered (offline, outage, another drain holds the queue): let the
        // browser wake the service worker later, and wait for the answer.
        crate::app::request_background_sync();
        follow_write(entry.id, on).await;
    });
}

/// Waits for outbox entry `id`'s final status and tells `on` (also after a reload, for an
/// entry stored before it).
pub async fn follow_write(id: String, on: impl Fn(WriteProgress)) {
    match api().client().outbox().wait(&id).await {
        Ok(status) => on(WriteProgress::Status(id, status)),
        Err(OutboxError::NotFound(_)) => on(WriteProgress::Gone(id)),
        // The store failed while reading: the entry is still there.
        Err(e) => tracing::warn!(error = %e, "following a queued write failed"),
    }
}

/// [`queue_write`] for writes whose progress is a line of text ([`WriteNotice`]).
pub fn send_write(kind: WriteKind, intent: Intent, notify: impl Fn(WriteNotice) + 'static) {
    queue_write(intent, move |progress| match progress {
        WriteProgress::NotSaved(why) => notify(kind.not_saved(&why)),
        WriteProgress::Status(_, status) => notify(kind.notice(&status)),
        WriteProgress::Stored(_) | WriteProgress::Gone(_) => {}
    });
}

/// Counts the signed-in user's unanswered outbox entries into [`Status::pending`].
async fn refresh_pending(client: &Client, status: Status) {
    let count = match client.current_user() {
        Some(user) => client
            .outbox()
            .unsynced_count(&user.id.to_string())
            .await
            .unwrap_or_else(|_| status.pending.get_untracked()),
        None => 0,
    };
    if status.pending.get_untracked() != count {
        status.pending.set(count);
    }
}

thread_local! {
    static API: std::cell::RefCell<Option<Api>> = const { std::cell::RefCell::new(None) };
}

/// The app's [`Api`]. A page-wide value rather than a context: async blocks (event handlers,
/// resource fetchers) run outside the reactive owner that a context lookup needs.
///
/// # Panics
/// When called before [`provide_api`], which the root component does first.
pub fn api() -> Api {
    API.with(|a| a.borrow().clone())
        .expect("api() used before provide_api()")
}

/// Makes `api` the app's [`Api`].
pub fn provide_api(api: Api) {
    API.with(|a| *a.borrow_mut() = Some(api));
}
