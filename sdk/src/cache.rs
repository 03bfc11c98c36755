//! The read cache behind stale-if-error: the last good answer of each GET, per user, with the
//! validators needed to revalidate it (`ETag`, `Last-Modified`) and the time it was stored, so
//! the app can show the data's age when the network is down.
//!
//! - Entries are partitioned by user: one user's data is never answered to another, and
//!   [`Cache::clear_user`] removes everything of one user (logout).
//! - Each entry belongs to a [`CacheClass`]. Medical records are kept in memory only unless the
//!   app opts in with [`CacheConfig::medical`] = [`Retention::Persistent`]: a shared or lost
//!   device must not hold them at rest.
//! - Bounded: entries older than [`CacheConfig::max_age`] are not answered (and are deleted), and
//!   when the cache holds more than [`CacheConfig::max_entries`] entries or
//!   [`CacheConfig::max_bytes`] bytes, the oldest are evicted first.
//!
//! Time enters as `now_ms` (milliseconds since the Unix epoch, or any origin the caller keeps
//! consistently); nothing here reads a clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::storage::{Store, StoreError, Table};

/// Separates the user part of a store key from the entry key; user ids never contain it.
const USER_SEPARATOR: char = '\u{1f}';
/// Format tag of an encoded [`CachedEntry`].
const ENTRY_FORMAT: u8 = 1;

/// What kind of data an entry holds, which decides where it may be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheClass {
    /// Everything that is not a medical record: appointments, hospitals, prescriptions list…
    General,
    /// Medical records (`/api/medical-records…`): memory only unless the app opts in.
    Medical,
}

impl CacheClass {
    /// The class of a GET to `path` (a path with or without query string).
    ///
    /// ```
    /// use lifeline_sdk::cache::CacheClass;
    /// assert_eq!(CacheClass::for_path("/api/medical-records/summary"), CacheClass::Medical);
    /// assert_eq!(CacheClass::for_path("/api/appointments?status=upcoming"), CacheClass::General);
    /// ```
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/api/medical-records") {
            CacheClass::Medical
        } else {
            CacheClass::General
        }
    }
}

/// Where entries of a class are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// In the cache's store (a file or IndexedDB when the store is persistent).
    Persistent,
    /// In process memory only: gone on restart or reload.
    MemoryOnly,
}

/// Bounds and retention of a [`Cache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Entries older than this are never answered. Default is 7 days.
    pub max_age: Duration,
    /// Most entries kept per backing store; the oldest go first. Default is 500.
    pub max_entries: usize,
    /// Most body bytes kept per backing store; the oldest go first. Default is 20 MiB.
    pub max_bytes: usize,
    /// Where medical records are kept. Default is [`Retention::MemoryOnly`].
    pub medical: Retention,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_entries: 500,
            max_bytes: 20 * 1024 * 1024,
            medical: Retention::MemoryOnly,
        }
    }
}

/// One cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedEntry {
    /// The response body as received.
    pub body: Vec<u8>,
    /// The `ETag` to send as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` to send as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// When the answer was received or last revalidated.
    pub stored_at_ms: u64,
}

impl CachedEntry {
    /// An entry for `body` received at `now_ms`, without validators.
    pub fn new(body: Vec<u8>, now_ms: u64) -> Self {
        CachedEntry {
            body,
            etag: None,
            last_modified: None,
            stored_at_ms: now_ms,
        }
    }

    /// How old the data is at `now_ms` (zero if the clock went backwards).
    pub fn age(&self, now_ms: u64) -> Duration {
        Duration::from_millis(now_ms.saturating_sub(self.stored_at_ms))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + 8 + self.body.len() + 64);
        out.push(ENTRY_FORMAT);
        out.extend_from_slice(&self.stored_at_ms.to_le_bytes());
        for text in [&self.etag, &self.last_modified] {
            match text {
                Some(t) => {
                    out.extend_from_slice(&(t.len() as u32).to_le_bytes());
                    out.extend_from_slice(t.as_bytes());
                }
                None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        out.extend_from_slice(&self.body);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("cache entry".into());
        let mut rest = bytes;
        let mut take = |n: usize| -> Result<&[u8], StoreError> {
            if rest.len() < n {
                return Err(corrupt());
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        if take(1)? != [ENTRY_FORMAT] {
            return Err(corrupt());
        }
        let stored_at_ms = u64::from_le_bytes(take(8)?.try_into().map_err(|_| corrupt())?);
        let mut texts = [None, None];
        for slot in &mut texts {
            let len = u32::from_le_bytes(take(4)?.try_into().map_err(|_| corrupt())?);
            if len != u32::MAX {
                let raw = take(len as usize)?;
                *slot = Some(String::from_utf8(raw.to_vec()).map_err(|_| corrupt())?);
            }
        }
        let [etag, last_modified] = texts;
        Ok(CachedEntry {
            body: rest.to_vec(),
            etag,
            last_modified,
            stored_at_ms,
        })
    }
}

/// The per-user read cache. Cheap to clone; clones share data.
#[derive(Debug, Clone)]
pub struct Cache {
    persistent: Tier,
    volatile: Tier,
    config: CacheConfig,
}

/// Writes between two rebuilds of a tier's index from its store.
const REINDEX_EVERY: u32 = 256;

/// A backing store and an index of what it holds (key → stored time, body size), so keeping
/// the bounds costs no full scan per write. The index is built by one scan on first need and
/// rebuilt every [`REINDEX_EVERY`] writes, which picks up what other tabs wrote meanwhile.
#[derive(Debug, Clone)]
struct Tier {
    store: Store,
    index: Arc<Mutex<TierIndex>>,
}

#[derive(Debug, Default)]
struct TierIndex {
    entries: Option<HashMap<String, (u64, usize)>>,
    writes: u32,
}

impl Tier {
    fn new(store: Store) -> Self {
        Tier {
            store,
            index: Arc::default(),
        }
    }

    fn index(&self) -> MutexGuard<'_, TierIndex> {
        // Every update is one map operation: a poisoned lock still guards a consistent map.
        self.index
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, key: &str, entry: &CachedEntry) {
        let mut index = self.index();
        index.writes += 1;
        if index.writes >= REINDEX_EVERY {
            index.writes = 0;
            index.entries = None;
        } else if let Some(entries) = index.entries.as_mut() {
            entries.insert(key.to_owned(), (entry.stored_at_ms, entry.body.len()));
        }
    }

    async fn put(&self, key: &str, entry: &CachedEntry) -> Result<(), StoreError> {
        self.store.put(Table::CACHE, key, &entry.encode()).await?;
        self.record(key, entry);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(Table::CACHE, key).await?;
        if let Some(entries) = self.index().entries.as_mut() {
            entries.remove(key);
        }
        Ok(())
    }

    async fn ensure_index(&self) -> Result<(), StoreError> {
        if self.index().entries.is_some() {
            return Ok(());
        }
        let mut entries = HashMap::new();
        for (k, bytes) in self.store.scan(Table::CACHE, "").await? {
            match CachedEntry::decode(&bytes) {
                Ok(e) => {
                    entries.insert(k, (e.stored_at_ms, e.body.len()));
                }
                Err(_) => self.store.delete(Table::CACHE, &k).await?,
            }
        }
        self.index().entries = Some(entries);
        Ok(())
    }
}

fn store_key(user_id: &str, key: &str) -> String {
    let mut k = String::with_capacity(user_id.len() + 1 + key.len());
    k.push_str(user_id);
    k.push(USER_SEPARATOR);
    k.push_str(key);
    k
}

fn user_prefix(user_id: &str) -> String {
    let mut k = String::with_capacity(user_id.len() + 1);
    k.push_str(user_id);
    k.push(USER_SEPARATOR);
    k
}

impl Cache {
    /// A cache over `store` (persistent classes) and a private memory store (memory-only
    /// classes).
    pub fn new(store: Store, config: CacheConfig) -> Self {
        Cache {
            persistent: Tier::new(store),
            volatile: Tier::new(Store::memory()),
            config,
        }
    }

    /// The cache's configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    fn tier(&self, class: CacheClass) -> &Tier {
        let retention = match class {
            CacheClass::General => Retention::Persistent,
            CacheClass::Medical => self.config.medical,
        };
        match retention {
            Retention::Persistent => &self.persistent,
            Retention::MemoryOnly => &self.volatile,
        }
    }

    fn expired(&self, entry: &CachedEntry, now_ms: u64) -> bool {
        entry.age(now_ms) > self.config.max_age
    }

    /// The entry of `user_id` under `key`, unless missing or older than the max age (an
    /// expired entry is deleted).
    ///
    /// # Errors
    /// [`StoreError`] when the store fails or the record is corrupt.
    pub async fn get(
        &self,
        user_id: &str,
        class: CacheClass,
        key: &str,
        now_ms: u64,
    ) -> Result<Option<CachedEntry>, StoreError> {
        let tier = self.tier(class);
        let k = store_key(user_id, key);
        let Some(bytes) = tier.store.get(Table::CACHE, &k).await? else {
            return Ok(None);
        };
        let entry = match CachedEntry::decode(&bytes) {
            Ok(e) => e,
            Err(e) => {
                // A corrupt entry is worth less than no entry: drop it, report nothing cached.
                tracing::warn!(error = %e, "dropping corrupt cache entry");
                tier.delete(&k).await?;
                return Ok(None);
            }
        };
        if self.expired(&entry, now_ms) {
            tier.delete(&k).await?;
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// Stores `entry` for `user_id` under `key`, then evicts expired and oldest entries while
    /// the bounds are exceeded.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn put(
        &self,
        user_id: &str,
        class: CacheClass,
        key: &str,
        entry: &CachedEntry,
    ) -> Result<(), StoreError> {
        let tier = self.tier(class);
        tier.put(&store_key(user_id, key), entry).await?;
        self.evict(tier, entry.stored_at_ms).await
    }

    /// Marks the entry fresh again after a `304 Not Modified` at `now_ms`, taking new
    /// validators when the 304 carried them. Returns the refreshed entry, or `None` if it was
    /// evicted meanwhile.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn touch(
        &self,
        user_id: &str,
        class: CacheClass,
        key: &str,
        validators: Validators,
        now_ms: u64,
    ) -> Result<Option<CachedEntry>, StoreError> {
        let tier = self.tier(class);
        let k = store_key(user_id, key);
        let Some(bytes) = tier.store.get(Table::CACHE, &k).await? else {
            return Ok(None);
        };
        let mut entry = CachedEntry::decode(&bytes)?;
        entry.stored_at_ms = now_ms;
        if let Some(etag) = validators.etag {
            entry.etag = Some(etag);
        }
        if let Some(lm) = validators.last_modified {
            entry.last_modified = Some(lm);
        }
        tier.put(&k, &entry).await?;
        Ok(Some(entry))
    }

    /// Removes one entry.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn remove(
        &self,
        user_id: &str,
        class: CacheClass,
        key: &str,
    ) -> Result<(), StoreError> {
        self.tier(class).delete(&store_key(user_id, key)).await
    }

    /// Removes every entry of `user_id` (on logout or account switch); returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn clear_user(&self, user_id: &str) -> Result<usize, StoreError> {
        let prefix = user_prefix(user_id);
        let mut removed = 0;
        for tier in [&self.persistent, &self.volatile] {
            for (k, _) in tier.store.scan(Table::CACHE, &prefix).await? {
                tier.delete(&k).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Deletes every entry older than the max age at `now_ms`; returns how many.
    ///
    /// # Errors
    /// [`StoreError`] when the store fails.
    pub async fn purge_expired(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut removed = 0;
        for tier in [&self.persistent, &self.volatile] {
            for (k, bytes) in tier.store.scan(Table::CACHE, "").await? {
                let stale = CachedEntry::decode(&bytes)
                    .map(|e| self.expired(&e, now_ms))
                    .unwrap_or(true);
                if stale {
                    tier.delete(&k).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    async fn evict(&self, tier: &Tier, now_ms: u64) -> Result<(), StoreError> {
        tier.ensure_index().await?;
        // Choose victims under the index lock, delete them after releasing it.
        let victims = {
            let index = tier.index();
            let Some(entries) = index.entries.as_ref() else {
                return Ok(());
            };
            let max_age = u64::try_from(self.config.max_age.as_millis()).unwrap_or(u64::MAX);
            let mut victims = Vec::new();
            let mut live = Vec::with_capacity(entries.len());
            for (k, &(stored_at, len)) in entries {
                if now_ms.saturating_sub(stored_at) > max_age {
                    victims.push(k.clone());
                } else {
                    live.push((stored_at, len, k));
                }
            }
            let mut bytes: usize = live.iter().map(|(_, len, _)| len).sum();
            let mut count = live.len();
            live.sort();
            for (_, len, k) in live {
                if count <= self.config.max_entries && bytes <= self.config.max_bytes {
                    break;
                }
                victims.push(k.clone());
                count -= 1;
                bytes -= len;
            }
            victims
        };
        for k in victims {
            tier.delete(&k).await?;
        }
        Ok(())
    }
}

/// Validators a `304 Not Modified` may carry; `None` keeps the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// A new `ETag`.
    pub etag: Option<String>,
    /// A new `Last-Modified`.
    pub last_modified: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_the_encoding() {
        let entry = CachedEntry {
            body: b"{\"a\":1}".to_vec(),
            etag: Some("\"v1\"".into()),
            last_modified: None,
            stored_at_ms: 1_700_000_000_123,
        };
        assert_eq!(CachedEntry::decode(&entry.encode()).unwrap(), entry);
        assert!(CachedEntry::decode(&[ENTRY_FORMAT, 1, 2]).is_err());
        assert!(CachedEntry::decode(&[]).is_err());
    }
}
