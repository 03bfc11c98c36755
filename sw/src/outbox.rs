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

use lifeline_sdk::outbox::DrainReport;
use lifeline_sdk::storage::Store;
use lifeline_sdk::{time, Client, SessionState};
use wasm_bindgen::JsValue;

use crate::policy::{
    next_due_ms, sync_verdict, wait_for_due, SyncFacts, SyncSession, SyncVerdict, DRAIN_BUSY_TRIES,
    DRAIN_BUSY_WAIT_MS, STORE_NAME,
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
        if let (SessionState::Active, Some(user)) = (state, client.current_user()) {
            let user = user.id.to_string();
            facts.drained = drain(&client, &user).await?;
            facts.unsynced_after = client
                .outbox()
                .unsynced_count(&user)
                .await
                .map_err(js_error)?;
        }
    }
    match sync_verdict(facts) {
        SyncVerdict::Done => Ok(()),
        SyncVerdict::RetryLater(reason) => Err(JsValue::from_str(&reason)),
    }
}

/// Runs the page's drain ([`Client::sync_now`]) until it has attempted something, waiting for
/// writes still backing off within the sync's budget ([`wait_for_due`]). Answers whether a
/// drain ran at all (`false`: another context held the outbox every time).
async fn drain(client: &Client, user: &str) -> Result<bool, JsValue> {
    let mut waited_ms = 0u64;
    let mut drains = 0u32;
    loop {
        let Some(report) = drain_when_free(client).await? else {
            return Ok(false);
        };
        drains += 1;
        let entries = client.outbox().entries(user).await.map_err(js_error)?;
        let next_due = next_due_ms(entries.iter().map(|e| {
            (
                e.resource.as_str(),
                e.status.is_unsynced(),
                e.next_attempt_at_ms,
            )
        }));
        let now = time::unix_ms();
        match wait_for_due(now, waited_ms, drains, report.attempts > 0, next_due) {
            None => return Ok(true),
            Some(wait) => {
                time::sleep(Duration::from_millis(wait)).await;
                waited_ms += wait;
            }
        }
    }
}

/// One drain, tried again while another context (a page) holds the outbox.
async fn drain_when_free(client: &Client) -> Result<Option<DrainReport>, JsValue> {
    for attempt in 1..=DRAIN_BUSY_TRIES {
        if let Some(report) = client.sync_now().await.map_err(js_error)? {
            return Ok(Some(report));
        }
        if attempt < DRAIN_BUSY_TRIES {
            time::sleep(Duration::from_millis(DRAIN_BUSY_WAIT_MS)).await;
        }
    }
    Ok(None)
}
