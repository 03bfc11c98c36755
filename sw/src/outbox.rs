//! Background Sync of the SDK's outbox, run by the worker itself: the page may be closed by
//! the time the connection returns.
//!
//! The worker builds its own SDK [`Client`] over the page's IndexedDB store
//! ([`STORE_NAME`]) and the worker's origin (the page's API base URL), restores the session
//! from the refresh cookie (the SDK refreshes under the cross-context Web Lock the page uses,
//! so the two never present the same rotating token), and runs the same drain as the page
//! ([`Client::sync_now`]) under the same outbox lock. Status changes reach open pages through
//! the outbox's `BroadcastChannel`.

use std::time::Duration;

use lifeline_sdk::storage::Store;
use lifeline_sdk::{Client, SessionState};
use wasm_bindgen::JsValue;

use crate::policy::{
    sync_verdict, SyncFacts, SyncSession, SyncVerdict, DRAIN_BUSY_TRIES, DRAIN_BUSY_WAIT_MS,
    STORE_NAME,
};

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// A client like the page's: same store, same origin, default outbox settings (so the same
/// drain lock and update channel).
async fn client(origin: String) -> Result<Client, JsValue> {
    // No in-memory fallback: a fresh memory store holds nothing to send.
    let store = Store::indexed_db(STORE_NAME).await.map_err(js_error)?;
    Client::builder()
        .base_url(origin)
        .store(store)
        .build()
        .map_err(js_error)
}

fn sync_session(state: SessionState) -> SyncSession {
    match state {
        SessionState::Active => SyncSession::Active,
        SessionState::Unverified => SyncSession::Unreachable,
        SessionState::Expired => SyncSession::Expired,
        SessionState::Anonymous => SyncSession::Anonymous,
    }
}

/// Drains the outbox for the signed-in user. Resolves when nothing of that user is left
/// unsent; fails (so the browser retries the sync later) when writes stay queued: no session,
/// the server unreachable or still failing, or another context keeping the queue busy.
pub(crate) async fn sync(origin: String) -> Result<(), JsValue> {
    let client = client(origin).await?;
    let unsynced_before = client
        .outbox()
        .all_entries()
        .await
        .map_err(js_error)?
        .iter()
        .filter(|e| e.status.is_unsynced())
        .count();
    let mut facts = SyncFacts {
        unsynced_before,
        session: None,
        drained: false,
        unsynced_after: unsynced_before,
    };
    // Nothing queued: no refresh either (each one rotates the refresh cookie).
    if unsynced_before > 0 {
        let state = client.restore().await.map_err(js_error)?;
        facts.session = Some(sync_session(state));
        // Without a confirmed session every entry would only be recorded as not sent:
        // leave the queue exactly as it is.
        if state == SessionState::Active {
            for attempt in 1..=DRAIN_BUSY_TRIES {
                if client.sync_now().await.map_err(js_error)?.is_some() {
                    facts.drained = true;
                    break;
                }
                if attempt < DRAIN_BUSY_TRIES {
                    lifeline_sdk::time::sleep(Duration::from_millis(DRAIN_BUSY_WAIT_MS)).await;
                }
            }
            if let Some(user) = client.current_user() {
                facts.unsynced_after = client
                    .outbox()
                    .unsynced_count(&user.id.to_string())
                    .await
                    .map_err(js_error)?;
            }
        }
    }
    match sync_verdict(facts) {
        SyncVerdict::Done => Ok(()),
        SyncVerdict::RetryLater(reason) => Err(JsValue::from_str(&reason)),
    }
}
