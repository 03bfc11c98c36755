//! The native backend: one redb file, each write its own durable transaction.
//!
//! redb is synchronous; inside a tokio runtime every operation runs on the blocking pool so an
//! fsync never stalls the async workers. Outside a runtime (plain executors in tests) it runs
//! inline.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition, TableError};

use super::{StoreError, Table};

#[derive(Clone)]
pub(super) struct FileStore {
    db: Arc<Database>,
}

fn definition(table: Table) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(table.name())
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl FileStore {
    pub(super) fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)
            .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
        Ok(FileStore { db: Arc::new(db) })
    }

    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle
                .spawn_blocking(move || op(&db))
                .await
                .map_err(|e| StoreError::Backend(format!("storage task failed: {e}")))?,
            Err(_) => op(&db),
        }
    }

    pub(super) async fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let t = match tx.open_table(definition(table)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(backend(e)),
            };
            let value = t.get(key.as_str()).map_err(backend)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
        .await
    }

    pub(super) async fn put(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        let value = value.to_vec();
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            {
                let mut t = tx.open_table(definition(table)).map_err(backend)?;
                t.insert(key.as_str(), value.as_slice()).map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    pub(super) async fn put_many(
        &self,
        table: Table,
        records: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let records = records.to_vec();
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            {
                let mut t = tx.open_table(definition(table)).map_err(backend)?;
                for (key, value) in &records {
                    t.insert(key.as_str(), value.as_slice()).map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    pub(super) async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            {
                let mut t = tx.open_table(definition(table)).map_err(backend)?;
                t.remove(key.as_str()).map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    pub(super) async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |db| {
            let tx = db.begin_read().map_err(backend)?;
            let t = match tx.open_table(definition(table)) {
                Ok(t) => t,
                Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(e) => return Err(backend(e)),
            };
            let mut rows = Vec::new();
            for row in t.range(prefix.as_str()..).map_err(backend)? {
                let (k, v) = row.map_err(backend)?;
                let k = k.value();
                if !k.starts_with(prefix.as_str()) {
                    break;
                }
                rows.push((k.to_owned(), v.value().to_vec()));
            }
            Ok(rows)
        })
        .await
    }

    pub(super) async fn clear(&self, table: Table) -> Result<(), StoreError> {
        self.run(move |db| {
            let tx = db.begin_write().map_err(backend)?;
            tx.delete_table(definition(table)).map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }
}
