//! Sessions that survive outages.
//!
//! The access token lives only in memory. The refresh credential is the httpOnly cookie in
//! the browser, and on native a refresh token kept in the [`Store`](crate::storage::Store).
//! What ends a session is deliberately narrow: only a refresh the server answers with 401
//! moves it to [`SessionState::Expired`]. Network errors, timeouts, open breakers and 5xx
//! answers leave the user signed in as [`SessionState::Unverified`], working from the cache
//! and the outbox, so an outage never logs a patient out (seed 000: the app that logged users
//! out whenever the backend hiccupped).
//!
//! At most one refresh is in flight: callers that hit 401 together queue on one async mutex,
//! and every caller after the first finds a token newer than the one that failed and reuses
//! it. With rotating refresh tokens a second concurrent refresh would present an already
//! used token, and the server would revoke the whole family.
//!
//! In the browser the refresh cookie is shared by every tab and the service worker of the
//! origin, each with its own client. So the refresh also runs under the Web Lock
//! `lifeline-session-refresh`, taken after the in-client mutex: contexts refresh one after the
//! other, and a context that finds the cookie already rotated by another simply presents the
//! new one (the browser sends the cookie as it is when the request leaves). Where
//! `navigator.locks` is missing only the in-client mutex applies.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
#[cfg(target_arch = "wasm32")]
use std::time::Duration;

use lifeline_types::auth::User;
use lifeline_types::profile::Profile;
use serde::{Deserialize, Serialize};

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Nobody is signed in.
    Anonymous,
    /// Signed in, and the server confirmed the session recently.
    Active,
    /// Signed in, but the server could not be reached to confirm it (offline, outage).
    /// Cached data and queued writes keep working; the session is confirmed again as soon as
    /// the server answers.
    Unverified,
    /// The server refused to refresh the session: the user must sign in again. Queued
    /// writes stay queued for this user's next sign-in.
    Expired,
}

impl SessionState {
    /// True while a user is signed in, confirmed or not.
    pub fn is_signed_in(self) -> bool {
        matches!(self, SessionState::Active | SessionState::Unverified)
    }
}

/// What survives a restart: who was signed in and (native) the refresh token.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    pub user: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
}

pub(crate) const SESSION_KEY: &str = "current";

/// Name of the Web Lock every tab and the service worker of an origin hold while they
/// refresh the session, so none presents a refresh cookie another is exchanging.
#[cfg(target_arch = "wasm32")]
pub(crate) const REFRESH_LOCK_NAME: &str = "lifeline-session-refresh";

/// How long a refresh waits for another context's refresh to finish. A holder's refresh is
/// bounded by its call timeout (30 s by default) and its lock is released when its tab or
/// worker goes away, so this is only reached when a holder is stuck (a frozen tab); by then
/// its exchange has long finished and the cookie in the jar is the current one, so going
/// ahead without the lock presents that one.
#[cfg(target_arch = "wasm32")]
const REFRESH_LOCK_WAIT: Duration = Duration::from_secs(60);

/// The single-flight guard of a refresh: an async mutex within the client and, in the
/// browser, the Web Lock `lifeline-session-refresh` across tabs and the service worker.
#[derive(Default)]
pub(crate) struct RefreshLock {
    local: futures::lock::Mutex<()>,
}

/// Held for the whole of a refresh; releases both locks on drop (the Web Lock first).
pub(crate) struct RefreshGuard<'a> {
    #[cfg(target_arch = "wasm32")]
    _web: Option<crate::outbox::lock::WebLockGuard>,
    _local: futures::lock::MutexGuard<'a, ()>,
}

impl RefreshLock {
    /// Waits for this client's previous refresh, then (browser) for any other context's.
    #[cfg_attr(not(target_arch = "wasm32"), allow(clippy::unused_async))]
    pub async fn lock(&self) -> RefreshGuard<'_> {
        let local = self.local.lock().await;
        #[cfg(target_arch = "wasm32")]
        {
            let web = crate::time::timeout(
                REFRESH_LOCK_WAIT,
                crate::outbox::lock::wait_for(REFRESH_LOCK_NAME),
            )
            .await
            .unwrap_or_else(|| {
                tracing::warn!("another context held the refresh lock too long: going ahead");
                None
            });
            RefreshGuard {
                _web: web,
                _local: local,
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        RefreshGuard { _local: local }
    }
}

#[derive(Default)]
struct Data {
    state: Option<SessionState>,
    user: Option<User>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    profile: Option<Profile>,
    med_access_token: Option<String>,
}

/// The in-memory session; the client drives its transitions.
#[derive(Default)]
pub(crate) struct Session {
    data: Mutex<Data>,
    /// Held for the whole of a refresh: the single-flight guard, across contexts in the
    /// browser.
    pub refresh_lock: RefreshLock,
    refreshes: AtomicU64,
    /// Bumped when a refresh finishes; with `last_failure`, lets callers that waited on a
    /// failing refresh share its answer instead of sending one refresh each.
    generation: AtomicU64,
    last_failure: Mutex<Option<(u64, crate::Error)>>,
}

impl Session {
    fn lock(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> SessionState {
        self.lock().state.unwrap_or(SessionState::Anonymous)
    }

    /// Sets the state; answers true when it changed.
    pub fn set_state(&self, state: SessionState) -> bool {
        let mut d = self.lock();
        let changed = d.state.unwrap_or(SessionState::Anonymous) != state;
        d.state = Some(state);
        changed
    }

    pub fn access_token(&self) -> Option<String> {
        self.lock().access_token.clone()
    }

    pub fn refresh_token(&self) -> Option<String> {
        self.lock().refresh_token.clone()
    }

    pub fn user(&self) -> Option<User> {
        self.lock().user.clone()
    }

    pub fn profile(&self) -> Option<Profile> {
        self.lock().profile.clone()
    }

    pub fn med_access_token(&self) -> Option<String> {
        self.lock().med_access_token.clone()
    }

    pub fn set_med_access_token(&self, token: Option<String>) {
        self.lock().med_access_token = token;
    }

    pub fn set_profile(&self, profile: Option<Profile>) {
        self.lock().profile = profile;
    }

    /// Installs a fresh sign-in or refresh answer.
    pub fn install(&self, user: User, access: String, refresh: Option<String>) {
        let mut d = self.lock();
        if d.user.as_ref().map(|u| u.id) != Some(user.id) {
            d.profile = None;
            d.med_access_token = None;
        }
        d.user = Some(user);
        d.access_token = Some(access);
        if refresh.is_some() {
            d.refresh_token = refresh;
        }
    }

    /// Restores what a previous run stored; the access token is not known yet.
    pub fn restore(&self, stored: StoredSession) {
        let mut d = self.lock();
        d.user = Some(stored.user);
        d.refresh_token = stored.refresh_token;
        d.profile = stored.profile;
        d.access_token = None;
    }

    /// Forgets the access token (the server refused it) but keeps who is signed in.
    pub fn drop_access_token(&self) {
        self.lock().access_token = None;
    }

    pub fn clear(&self) {
        *self.lock() = Data::default();
    }

    pub fn stored(&self) -> Option<StoredSession> {
        let d = self.lock();
        d.user.clone().map(|user| StoredSession {
            user,
            refresh_token: d.refresh_token.clone(),
            profile: d.profile.clone(),
        })
    }

    pub fn count_refresh(&self) {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records the end of a refresh; `failure` is the error it ended with, if any.
    pub fn finish_refresh(&self, failure: Option<crate::Error>) {
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
            failure.map(|e| (generation, e));
    }

    /// The failure of the refresh that finished last, if it finished after `seen`.
    pub fn failure_since(&self, seen: u64) -> Option<crate::Error> {
        let last = self.last_failure.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((generation, err)) if *generation > seen => Some(err.clone()),
            _ => None,
        }
    }

    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }
}
