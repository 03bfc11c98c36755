//! The browser backend: one IndexedDB database, one object store per [`Table`], string keys
//! and `Uint8Array` values.
//!
//! Every operation is its own transaction; writes resolve only after the transaction commits,
//! so a value reported stored survives a reload.

use indexed_db_futures::database::Database;
use indexed_db_futures::prelude::*;
use indexed_db_futures::transaction::{
    Transaction, TransactionDurability, TransactionMode, TransactionOptions,
};
use indexed_db_futures::KeyRange;
use wasm_bindgen::JsValue;

use super::{StoreError, Table};

#[derive(Clone)]
pub(super) struct IdbStore {
    db: Database,
    tables: std::rc::Rc<[Table]>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The highest string sharing `prefix`: IndexedDB orders strings by UTF-16 code units, and no
/// unit is above U+FFFF.
fn upper_bound(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 3);
    s.push_str(prefix);
    s.push('\u{ffff}');
    s
}

/// Closes this connection when another one (a newer page, another tab) needs to upgrade the
/// database. Without it the upgrade would wait, blocked, for as long as this page lives; with
/// it, stores opened here fail with a backend error after the upgrade and must be reopened.
fn yield_to_upgrades(db: &Database) -> Result<(), StoreError> {
    let mut changes = db.version_changes().map_err(backend)?;
    wasm_bindgen_futures::spawn_local(async move {
        if changes.recv().await.is_some() {
            tracing::info!("indexeddb upgrade requested elsewhere: closing this connection");
            changes.db().clone().close();
        }
    });
    Ok(())
}

impl IdbStore {
    pub(super) async fn open(name: &str, tables: &[Table]) -> Result<Self, StoreError> {
        let db = Database::open(name).await.map_err(unavailable)?;
        let existing: Vec<String> = db.object_store_names().collect();
        let missing: Vec<&'static str> = tables
            .iter()
            .map(|t| t.name())
            .filter(|t| !existing.iter().any(|e| e == t))
            .collect();
        let db = if missing.is_empty() {
            db
        } else {
            // Object stores can only be created in a version change: reopen one version up.
            let version = db.version() as u32 + 1;
            db.close();
            Database::open(name)
                .with_version(version)
                .with_on_upgrade_needed(move |_event, db| {
                    let present: Vec<String> = db.object_store_names().collect();
                    for table in &missing {
                        if !present.iter().any(|p| p == table) {
                            db.create_object_store(*table).build()?;
                        }
                    }
                    Ok(())
                })
                .await
                .map_err(unavailable)?
        };
        yield_to_upgrades(&db)?;
        Ok(IdbStore {
            db,
            tables: tables.into(),
        })
    }

    /// A read-write transaction with strict durability: its commit resolves only once the
    /// data is flushed to disk, as the native store's commits are (browsers default to
    /// "relaxed", which a power cut can undo).
    fn write_transaction(&self, table: Table) -> Result<Transaction<'_>, StoreError> {
        self.db
            .transaction(table.name())
            .with_mode(TransactionMode::Readwrite)
            .with_options(TransactionOptions::new().with_durability(TransactionDurability::Strict))
            .build()
            .map_err(backend)
    }

    fn check(&self, table: Table) -> Result<(), StoreError> {
        if self.tables.contains(&table) {
            Ok(())
        } else {
            Err(StoreError::UnknownTable(table.name()))
        }
    }

    pub(super) async fn get(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check(table)?;
        let tx = self.db.transaction(table.name()).build().map_err(backend)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let value: Option<JsValue> = store
            .get(key)
            .primitive()
            .map_err(backend)?
            .await
            .map_err(backend)?;
        Ok(value.map(|v| js_sys::Uint8Array::new(&v).to_vec()))
    }

    pub(super) async fn put(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
    ) -> Result<(), StoreError> {
        self.check(table)?;
        let tx = self.write_transaction(table)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let bytes: JsValue = js_sys::Uint8Array::from(value).into();
        let request = store
            .put(bytes)
            .with_key(key)
            .without_key_type()
            .primitive()
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        request.await.map_err(backend)
    }

    pub(super) async fn put_many(
        &self,
        table: Table,
        records: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.check(table)?;
        let tx = self.write_transaction(table)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let mut requests = Vec::with_capacity(records.len());
        for (key, value) in records {
            let bytes: JsValue = js_sys::Uint8Array::from(value.as_slice()).into();
            requests.push(
                store
                    .put(bytes)
                    .with_key(key.as_str())
                    .without_key_type()
                    .primitive()
                    .map_err(backend)?,
            );
        }
        tx.commit().await.map_err(backend)?;
        for request in requests {
            request.await.map_err(backend)?;
        }
        Ok(())
    }

    pub(super) async fn delete(&self, table: Table, key: &str) -> Result<(), StoreError> {
        self.check(table)?;
        let tx = self.write_transaction(table)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let request = store.delete(key).primitive().map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        request.await.map_err(backend)
    }

    pub(super) async fn scan(
        &self,
        table: Table,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.check(table)?;
        let tx = self.db.transaction(table.name()).build().map_err(backend)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let range = KeyRange::Bound(prefix.to_owned(), false, upper_bound(prefix), false);
        // Keys and values come from two requests of one read transaction: both see the same
        // snapshot, in the same key order.
        let keys = store
            .get_all_keys::<String>()
            .with_query::<String, _>(range.clone())
            .primitive()
            .map_err(backend)?;
        let values = store
            .get_all::<JsValue>()
            .with_query::<String, _>(range)
            .primitive()
            .map_err(backend)?;
        let keys: Vec<String> = keys
            .await
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        let values: Vec<JsValue> = values
            .await
            .map_err(backend)?
            .collect::<Result<_, _>>()
            .map_err(backend)?;
        if keys.len() != values.len() {
            return Err(StoreError::Backend(
                "indexeddb returned mismatched keys and values".into(),
            ));
        }
        Ok(keys
            .into_iter()
            .zip(values)
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k, js_sys::Uint8Array::new(&v).to_vec()))
            .collect())
    }

    pub(super) async fn clear(&self, table: Table) -> Result<(), StoreError> {
        self.check(table)?;
        let tx = self.write_transaction(table)?;
        let store = tx.object_store(table.name()).map_err(backend)?;
        let request = store.clear().map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        request.await.map_err(backend)
    }
}
