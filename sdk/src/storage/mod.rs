//! Persistent stores behind the cache and the outbox: in-memory, native embedded, IndexedDB.
//!
//! [`Store`] is a small async key-value interface: tables of string keys mapped to byte values,
//! with prefix scans. It is cheap to clone (every clone shares the same data) and the same type
//! exists on both targets:
//!
//! - [`Store::memory`] everywhere: data lives as long as the process (or the page).
//! - `Store::open` on native: one [redb](https://docs.rs/redb) file; every write is committed
//!   durably before the call returns.
//! - `Store::indexed_db` in the browser: one IndexedDB database with one object store per
//!   [`Table`], created when the database is first opened.
//!
//! Nothing here reads the clock: callers pass time in, so every layer above is testable.
//! On native the futures are `Send` (they run on tokio); in the browser they need not be.

mod memory;
#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(target_arch = "wasm32")]
mod wasm;

use std::fmt;

/// A named table (an object store in IndexedDB, a table in redb).
///
/// IndexedDB only creates object stores while a database is being opened, so the tables a
/// browser store can hold are fixed when it is opened: [`Table::ALL`] unless the caller lists
/// its own with `Store::indexed_db_with_tables`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table(&'static str);

impl Table {
    /// Cached GET responses ([`crate::cache::Cache`]).
    pub const CACHE: Table = Table("cache");
    /// Queued write intents ([`crate::outbox::Outbox`]).
    pub const OUTBOX: Table = Table("outbox");
    /// Small bookkeeping records (durability marker, schema notes).
    pub const META: Table = Table("meta");
    /// Session state kept across restarts by the client core.
    pub const SESSION: Table = Table("session");
    /// Every table the SDK itself uses; the default set of a browser store.
    pub const ALL: &'static [Table] = &[Table::CACHE, Table::OUTBOX, Table::META, Table::SESSION];

    /// A table with a caller-chosen name.
    pub const fn new(name: &'static str) -> Self {
        Table(name)
    }

    /// The table's name.
    pub const fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Table({})", self.0)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The underlying database reported an error (I/O, quota, transaction aborted).
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The store cannot be used at all here (no IndexedDB, file locked by another process).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The table was not created when the store was opened (IndexedDB only).
    #[error("unknown table {0}")]
    UnknownTable(&'static str),
    /// A stored record could not be decoded.
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the store itself is unusable, as opposed to one operation having failed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Which backend a [`Store`] writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKind {
    /// Process memory; gone on restart.
    Memory,
    /// A redb file (native).
    File,
    /// An IndexedDB database (browser).
    IndexedDb,
}

impl StoreKind {
    /// True when data written survives a restart or a page reload.
    pub fn is_persistent(self) -> bool {
        !matches!(self, StoreKind::Memory)
    }
}

#[derive(Clone)]
enum Backend {
    Memory(memory::MemoryStore),
    #[cfg(not(target_arch = "wasm32"))]
    File(native::FileStore),
    #[cfg(target_arch = "wasm32")]
    IndexedDb(wasm::IdbStore),
}

/// An async key-value store with tables; cheap to clone, clones share data.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("kind", &self.kind()).finish()
    }
}

impl Store {
    /// A store in process memory. Default for tests and for data that must not touch disk.
    pub fn memory() -> Self {
        Store {
            backend: Backend::Memory(memory::MemoryStore::default()),
        }
    }

    /// Opens (or creates) a redb database file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be created or is locked by another
    /// process (redb allows one writer process per file).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        Ok(Store {
            backend: Backend::File(native::FileStore::open(path.as_ref())?),
        })
    }

    /// Opens (or creates) the IndexedDB database `db_name` with every table in [`Table::ALL`].
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when IndexedDB is missing (some private modes) or the open
    /// request fails.
    #[cfg(target_arch = "wasm32")]
    pub async fn indexed_db(db_name: &str) -> Result<Self, StoreError> {
        Self::indexed_db_with_tables(db_name, Table::ALL).await
    }

    /// Opens (or creates) the IndexedDB database `db_name` holding `tables`. Tables missing
    /// from an existing database are added by upgrading it to a new version.
    ///
    /// # Errors
    /// As [`Store::indexed_db`].
    #[cfg(target_arch = "wasm32")]
    pub async fn indexed_db_with_tables(
        db_name: &str,
        tables: &[Table],
    ) -> Result<Self, StoreError> {
        Ok(Store {
            backend: Backend::IndexedDb(wasm::IdbStore::open(db_name, tables).await?),
        })
    }

    /// Which backend this store writes to.
    pub fn kind(&self) -> StoreKind {
        match &self.backend {
            Backend::Memory(_) => StoreKind::Memory,
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(_) => StoreKind::File,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(_) => StoreKind::IndexedDb,
        }
    }

    /// The value stored under `key`, if any.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    pub async fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.get(table, key)),
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.get(table, key).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.get(table, key).await,
        }
    }

    /// Stores `value` under `key`, replacing any previous value. Durable when it returns
    /// (for the persistent backends).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails (quota exceeded, I/O error).
    pub async fn put(&self, table: Table, key: &str, value: &[u8]) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.put(table, key, value);
                Ok(())
            }
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.put(table, key, value).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.put(table, key, value).await,
        }
    }

    /// Stores every `(key, value)` of `records` in one transaction: all of them or none, and
    /// one durable commit instead of one per record (for the persistent backends).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; then none of the records was stored.
    pub async fn put_many(
        &self,
        table: Table,
        records: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        match &self.backend {
            Backend::Memory(m) => {
                m.put_many(table, records);
                Ok(())
            }
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.put_many(table, records).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.put_many(table, records).await,
        }
    }

    /// Removes `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    pub async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.delete(table, key);
                Ok(())
            }
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.delete(table, key).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.delete(table, key).await,
        }
    }

    /// Every `(key, value)` whose key starts with `key_prefix`, in ascending key order.
    /// An empty prefix lists the whole table.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    pub async fn scan(
        &self,
        table: Table,
        key_prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.scan(table, key_prefix)),
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.scan(table, key_prefix).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.scan(table, key_prefix).await,
        }
    }

    /// Removes every record of `table`.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    pub async fn clear(&self, table: Table) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.clear(table);
                Ok(())
            }
            #[cfg(not(target_arch = "wasm32"))]
            Backend::File(f) => f.clear(table).await,
            #[cfg(target_arch = "wasm32")]
            Backend::IndexedDb(d) => d.clear(table).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_store_scans_by_prefix_in_key_order() {
        futures::executor::block_on(async {
            let store = Store::memory();
            store.put(Table::CACHE, "u1/b", b"2").await.unwrap();
            store.put(Table::CACHE, "u1/a", b"1").await.unwrap();
            store.put(Table::CACHE, "u2/a", b"3").await.unwrap();
            store.put(Table::OUTBOX, "u1/a", b"other").await.unwrap();
            let rows = store.scan(Table::CACHE, "u1/").await.unwrap();
            assert_eq!(
                rows,
                vec![
                    ("u1/a".into(), b"1".to_vec()),
                    ("u1/b".into(), b"2".to_vec())
                ]
            );
            store.clear(Table::CACHE).await.unwrap();
            assert!(store.scan(Table::CACHE, "").await.unwrap().is_empty());
            assert_eq!(
                store.get(Table::OUTBOX, "u1/a").await.unwrap(),
                Some(b"other".to_vec())
            );
        });
    }
}
