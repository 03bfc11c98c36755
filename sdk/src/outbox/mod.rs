//! The offline outbox of writes.
//!
//! A write the user makes while the network or the server is down is not lost and not
//! retried blindly: it becomes an [`OutboxEntry`] holding a typed [`Intent`], persisted
//! *before* [`Outbox::enqueue`] returns, with an idempotency key made once and re-sent on every
//! attempt. [`Outbox::drain`] replays due entries through a sender the client provides and
//! records the answer:
//!
//! - [`Delivery::Confirmed`] → `Confirmed` (final);
//! - [`Delivery::Rejected`] / [`Delivery::Conflict`] → kept as "needs attention" until the user
//!   [dismisses](Outbox::dismiss) it, never dropped;
//! - [`Delivery::RetryLater`] (network error, timeout, 408, 429, any 5xx) → stays queued with
//!   exponential backoff and jitter, honouring `Retry-After`. A 5xx is never taken as delivered
//!   (Workbox's background-sync queue drops writes that way).
//! - [`Delivery::Unauthenticated`] → the user's entries stay queued untouched until a session
//!   exists again; an expired session never loses writes.
//! - [`Delivery::NotSent`] (an open circuit breaker refused it before any request went out)
//!   → stays queued, due when the breaker lets the next call through; not an attempt, so the
//!   backoff does not grow while the service is known to be down. The client also drains the
//!   outbox as soon as a breaker closes again, so queued writes go out on recovery.
//!
//! Entries of one resource ([`Intent::resource`]) replay strictly in order: a later one waits
//! while an earlier one is still pending. An entry found `Sending` when a drain starts was cut
//! off mid-send (crash, reload, killed tab): it is sent again, and the idempotency key makes
//! the server answer the first result instead of applying it twice.
//!
//! Every status change is streamed to [`Outbox::subscribe`]rs, and [`Outbox::wait`] resolves
//! when one entry is final, so a caller can await the server's acceptance of one write.
//!
//! Only one drain runs at a time across every clone, tab and the service worker (see
//! [`lock`]). Time enters as `now_ms`; nothing here reads a clock.

#[cfg(target_arch = "wasm32")]
mod broadcast;
mod drain;
mod entry;
mod intent;
pub mod lock;
#[cfg(target_arch = "wasm32")]
pub mod triggers;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;

pub(crate) use drain::REMOVED;
pub use drain::{Delivery, DrainReport};
pub use entry::{EntryStatus, EntryUpdate, OutboxEntry};
pub use intent::{Intent, IntentRequest, WriteMethod};

use crate::policy::{Backoff, RandomSource, SplitMix64};
use crate::storage::{Store, StoreError, Table};

#[cfg(not(target_arch = "wasm32"))]
type Shared<T> = std::sync::Arc<T>;
#[cfg(target_arch = "wasm32")]
type Shared<T> = std::rc::Rc<T>;

/// How long [`Outbox::release`] waits for a drain that holds the queue.
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(15);
/// How often it looks whether the queue is free.
const RELEASE_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Why an outbox operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The store failed; the operation did not happen.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No entry has this id.
    #[error("no outbox entry {0}")]
    NotFound(String),
    /// Only entries the server has answered for good can be dismissed.
    #[error("outbox entry {0} is not final yet")]
    NotFinal(String),
    /// The cross-tab drain lock could not be requested.
    #[error("drain lock failed: {0}")]
    Lock(String),
    /// An entry could not be serialized.
    #[error("outbox entry could not be encoded: {0}")]
    Encode(String),
}

/// Settings of an [`Outbox`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// Delay before the next attempt after [`Delivery::RetryLater`], by attempt number.
    /// Default is 1 s doubling up to 5 minutes, with full jitter.
    pub backoff: Backoff,
    /// Name of the Web Lock that keeps drains exclusive across tabs and the service worker.
    /// Default is `lifeline-outbox`.
    pub lock_name: String,
    /// When a circuit breaker's break ends early because the server is reachable again
    /// (`Client::probe`), the entries that waited for it become due at the break's new end
    /// plus a delay drawn uniformly from `[0, release_spread]` each (full jitter), rather
    /// than all at that moment. Default is 10 s. Phones whose connectivity comes back
    /// together would otherwise flush the writes they queued offline together; ten seconds
    /// of spread after a break that lasted a minute or more still delivers them in a
    /// fraction of the time waiting out the break takes.
    pub release_spread: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
                .unwrap_or_default(),
            lock_name: "lifeline-outbox".to_owned(),
            release_spread: Duration::from_secs(10),
        }
    }
}

/// What [`Outbox::clear_user`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleared {
    /// Entries removed.
    pub removed: usize,
    /// Of those, entries the server had not answered yet: writes that are now lost.
    pub unsynced: usize,
}

struct Inner {
    store: Store,
    config: OutboxConfig,
    lock: lock::DrainLock,
    last_seq: AtomicU64,
    subscribers: Shared<Subscribers>,
    rng: Mutex<Box<dyn RandomSource + Send>>,
    #[cfg(target_arch = "wasm32")]
    broadcast: Option<broadcast::Broadcast>,
}

#[derive(Default)]
struct Subscribers(Mutex<Vec<mpsc::UnboundedSender<EntryUpdate>>>);

impl Subscribers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<EntryUpdate>>> {
        // Pushing or sending cannot leave the list inconsistent: ignore poisoning.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn send(&self, update: &EntryUpdate) {
        self.lock()
            .retain(|tx| tx.unbounded_send(update.clone()).is_ok());
    }
}

/// The persistent queue of write intents. Cheap to clone; clones share the queue and the
/// drain lock.
#[derive(Clone)]
pub struct Outbox {
    inner: Shared<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &self.inner.store)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn decode(key: &str, bytes: &[u8]) -> Result<OutboxEntry, OutboxError> {
    OutboxEntry::decode(bytes)
        .map_err(|e| OutboxError::Store(StoreError::Corrupt(format!("outbox entry {key}: {e}"))))
}

impl Outbox {
    /// An outbox kept in `store`'s [`Table::OUTBOX`], with jitter from the system's random
    /// source.
    pub fn new(store: Store, config: OutboxConfig) -> Self {
        Self::with_random_source(store, config, SplitMix64::from_entropy())
    }

    /// As [`Outbox::new`], drawing backoff jitter from `rng` (tests pass a seeded one).
    pub fn with_random_source(
        store: Store,
        config: OutboxConfig,
        rng: impl RandomSource + Send + 'static,
    ) -> Self {
        let lock = lock::DrainLock::new(config.lock_name.clone());
        let subscribers = Shared::new(Subscribers::default());
        #[cfg(target_arch = "wasm32")]
        let broadcast = {
            let local = Shared::clone(&subscribers);
            broadcast::Broadcast::open(&format!("{}-updates", config.lock_name), move |update| {
                local.send(&update)
            })
        };
        Outbox {
            inner: Shared::new(Inner {
                store,
                config,
                lock,
                last_seq: AtomicU64::new(0),
                subscribers,
                rng: Mutex::new(Box::new(rng)),
                #[cfg(target_arch = "wasm32")]
                broadcast,
            }),
        }
    }

    /// The settings it was made with.
    pub fn config(&self) -> &OutboxConfig {
        &self.inner.config
    }

    /// The store the queue lives in.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Queues `intent` for `user_id` at `now_ms`. The entry is durably stored when this
    /// returns (for a persistent store), so a crash right after loses nothing.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when it could not be stored: the write was *not* queued and the
    /// caller must tell the user.
    pub async fn enqueue(
        &self,
        user_id: &str,
        intent: Intent,
        now_ms: u64,
    ) -> Result<OutboxEntry, OutboxError> {
        let seq = self.next_seq(now_ms).await?;
        let entry = OutboxEntry {
            id: uuid::Uuid::new_v4().to_string(),
            user_id: user_id.to_owned(),
            resource: intent.resource(),
            intent,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            status: EntryStatus::Queued,
            attempts: 0,
            next_attempt_at_ms: now_ms,
            last_error: None,
            created_at_ms: now_ms,
            seq,
        };
        self.save(&entry).await?;
        tracing::debug!(id = %entry.id, kind = entry.intent.kind(), "outbox entry queued");
        Ok(entry)
    }

    async fn next_seq(&self, now_ms: u64) -> Result<u64, OutboxError> {
        let mut last = self.inner.last_seq.load(Ordering::SeqCst);
        if last == 0 {
            // First enqueue since opening: continue after what the store already holds.
            last = self
                .all_entries()
                .await?
                .iter()
                .map(|e| e.seq)
                .max()
                .unwrap_or(0);
        }
        // Sequence numbers follow the clock (so several tabs sharing one store interleave in
        // time order) but never repeat or go backwards within this outbox.
        let seq = now_ms.saturating_mul(1000).max(last + 1);
        self.inner.last_seq.fetch_max(seq, Ordering::SeqCst);
        Ok(seq)
    }

    /// Every entry of every user, in enqueue order.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when the store fails or holds a corrupt entry.
    pub async fn all_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.inner
            .store
            .scan(Table::OUTBOX, "")
            .await?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    /// The entries of `user_id`, in enqueue order, final ones included (the app shows
    /// rejected and conflicting ones until the user dismisses them).
    ///
    /// # Errors
    /// As [`Outbox::all_entries`].
    pub async fn entries(&self, user_id: &str) -> Result<Vec<OutboxEntry>, OutboxError> {
        let mut all = self.all_entries().await?;
        all.retain(|e| e.user_id == user_id);
        Ok(all)
    }

    /// The entry with this id, if it is still in the outbox.
    ///
    /// # Errors
    /// As [`Outbox::all_entries`].
    pub async fn entry(&self, id: &str) -> Result<Option<OutboxEntry>, OutboxError> {
        Ok(self.all_entries().await?.into_iter().find(|e| e.id == id))
    }

    /// Whether `entry` is still stored: one key lookup, unlike [`Outbox::entry`]'s scan.
    pub(crate) async fn still_holds(&self, entry: &OutboxEntry) -> Result<bool, OutboxError> {
        Ok(self
            .inner
            .store
            .get(Table::OUTBOX, &entry.store_key())
            .await?
            .is_some())
    }

    /// How many writes of `user_id` the server has not answered yet: what logging out now
    /// would lose. Ask before [`Outbox::clear_user`] and warn the user when it is not zero.
    ///
    /// # Errors
    /// As [`Outbox::all_entries`].
    pub async fn unsynced_count(&self, user_id: &str) -> Result<usize, OutboxError> {
        Ok(self
            .entries(user_id)
            .await?
            .iter()
            .filter(|e| e.status.is_unsynced())
            .count())
    }

    /// When the next drain will have work: the earliest `next_attempt_at_ms` among the
    /// entries at the head of their resource's queue (later ones wait for those anyway).
    /// `None` when nothing is pending.
    ///
    /// # Errors
    /// As [`Outbox::all_entries`].
    pub async fn next_due_at_ms(&self) -> Result<Option<u64>, OutboxError> {
        let mut heads = std::collections::HashSet::new();
        Ok(self
            .all_entries()
            .await?
            .iter()
            .filter(|e| e.status.is_unsynced())
            .filter(|e| heads.insert((e.user_id.clone(), e.resource.clone())))
            .map(|e| e.next_attempt_at_ms)
            .min())
    }

    /// Removes an entry the server has answered for good (after the user has seen a rejection
    /// or a conflict, or to tidy confirmed ones). Pending entries cannot be dismissed.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`], [`OutboxError::NotFinal`], or a store failure.
    pub async fn dismiss(&self, id: &str) -> Result<OutboxEntry, OutboxError> {
        let entry = self
            .entry(id)
            .await?
            .ok_or_else(|| OutboxError::NotFound(id.to_owned()))?;
        if !entry.status.is_final() {
            return Err(OutboxError::NotFinal(id.to_owned()));
        }
        self.remove(&entry).await?;
        Ok(entry)
    }

    /// Removes every entry of `user_id`, pending ones included. Only for an explicit logout:
    /// an expired session keeps its entries. Check [`Outbox::unsynced_count`] first.
    ///
    /// # Errors
    /// A store failure; entries removed before it stay removed.
    pub async fn clear_user(&self, user_id: &str) -> Result<Cleared, OutboxError> {
        let mut cleared = Cleared::default();
        for entry in self.entries(user_id).await? {
            self.remove(&entry).await?;
            cleared.removed += 1;
            if entry.status.is_unsynced() {
                cleared.unsynced += 1;
            }
        }
        if cleared.unsynced > 0 {
            tracing::warn!(
                unsynced = cleared.unsynced,
                "outbox cleared with writes the server never received"
            );
        }
        Ok(cleared)
    }

    /// A stream of every change made through this outbox (and its clones) from now on; in
    /// the browser also changes made by outboxes of the same `lock_name` in other tabs and
    /// the service worker (through a `BroadcastChannel`). Dropping the receiver unsubscribes.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<EntryUpdate> {
        let (tx, rx) = mpsc::unbounded();
        self.inner.subscribers.lock().push(tx);
        rx
    }

    /// Resolves with the entry's final status (confirmed, rejected or conflict) once a drain
    /// gets there (through this outbox, or in the browser in any tab or the service worker);
    /// at once if it already has.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`] when no such entry exists or it is removed while waiting.
    pub async fn wait(&self, id: &str) -> Result<EntryStatus, OutboxError> {
        // Subscribe before reading, so a change between the two is not missed.
        let mut updates = self.subscribe();
        let current = self
            .entry(id)
            .await?
            .ok_or_else(|| OutboxError::NotFound(id.to_owned()))?;
        if current.status.is_final() {
            return Ok(current.status);
        }
        while let Some(update) = updates.next().await {
            match update {
                EntryUpdate::Changed(e) if e.id == id && e.status.is_final() => return Ok(e.status),
                EntryUpdate::Removed { id: gone } if gone == id => {
                    return Err(OutboxError::NotFound(id.to_owned()))
                }
                _ => {}
            }
        }
        Err(OutboxError::NotFound(id.to_owned()))
    }

    /// Makes every queued entry that `released_at` picks due at the time it answers (ms),
    /// plus a delay drawn uniformly from `[0, release_spread]` for each entry. For entries
    /// waiting for a circuit breaker whose break ended early (the server became reachable):
    /// they could not have gone before the break's end, and that end is now sooner; the
    /// spread keeps the entries of phones that came back together from all going at the
    /// break's end. An entry already due earlier than its draw keeps its time. Takes the
    /// drain lock, waiting up to [`RELEASE_WAIT`] for a drain that holds it (that drain may
    /// just have parked entries until the old break's end, which this must then move);
    /// answers how many entries changed, or `None` when the queue stayed busy that long (and
    /// the entries stay as they are).
    pub(crate) async fn release<F>(&self, released_at: F) -> Result<Option<usize>, OutboxError>
    where
        F: Fn(&OutboxEntry) -> Option<u64>,
    {
        let mut waited = std::time::Duration::ZERO;
        let _guard = loop {
            if let Some(guard) = self.inner.lock.try_acquire().await? {
                break guard;
            }
            if waited >= RELEASE_WAIT {
                return Ok(None);
            }
            crate::time::sleep(RELEASE_POLL).await;
            waited += RELEASE_POLL;
        };
        let mut entries = self.all_entries().await?;
        let spread = self.inner.config.release_spread;
        let mut changed = Vec::new();
        for entry in &mut entries {
            if entry.status != EntryStatus::Queued {
                continue;
            }
            let Some(at_ms) = released_at(entry) else {
                continue;
            };
            let draw = {
                let mut rng = self
                    .inner
                    .rng
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                spread.mul_f64(rng.next_f64())
            };
            let due = at_ms.saturating_add(u64::try_from(draw.as_millis()).unwrap_or(u64::MAX));
            if due < entry.next_attempt_at_ms {
                entry.next_attempt_at_ms = due;
                changed.push(&*entry);
            }
        }
        self.save_many(&changed).await?;
        Ok(Some(changed.len()))
    }

    fn notify(&self, update: EntryUpdate) {
        #[cfg(target_arch = "wasm32")]
        if let Some(broadcast) = &self.inner.broadcast {
            broadcast.post(&update);
        }
        self.inner.subscribers.send(&update);
    }

    async fn save(&self, entry: &OutboxEntry) -> Result<(), OutboxError> {
        let bytes = entry
            .encode()
            .map_err(|e| OutboxError::Encode(e.to_string()))?;
        self.inner
            .store
            .put(Table::OUTBOX, &entry.store_key(), &bytes)
            .await?;
        self.notify(EntryUpdate::Changed(Box::new(entry.clone())));
        Ok(())
    }

    /// Stores `entries` in one store transaction, then tells subscribers about each.
    async fn save_many(&self, entries: &[&OutboxEntry]) -> Result<(), OutboxError> {
        let mut records = Vec::with_capacity(entries.len());
        for entry in entries {
            let bytes = entry
                .encode()
                .map_err(|e| OutboxError::Encode(e.to_string()))?;
            records.push((entry.store_key(), bytes));
        }
        self.inner.store.put_many(Table::OUTBOX, &records).await?;
        for entry in entries {
            self.notify(EntryUpdate::Changed(Box::new((*entry).clone())));
        }
        Ok(())
    }

    async fn remove(&self, entry: &OutboxEntry) -> Result<(), OutboxError> {
        self.inner
            .store
            .delete(Table::OUTBOX, &entry.store_key())
            .await?;
        self.notify(EntryUpdate::Removed {
            id: entry.id.clone(),
        });
        Ok(())
    }

    fn retry_delay(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let jittered = {
            let mut rng = self
                .inner
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.inner
                .config
                .backoff
                .delay(attempts.saturating_sub(1), &mut **rng)
        };
        // The server's Retry-After is a floor, never shortened by jitter.
        jittered.max(retry_after.unwrap_or_default())
    }
}
