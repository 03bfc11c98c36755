//! The in-memory backend: a sorted map per table behind a mutex, shared by clones.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use super::Table;

type Tables = HashMap<Table, BTreeMap<String, Vec<u8>>>;

#[derive(Clone, Default)]
pub(super) struct MemoryStore {
    tables: Arc<Mutex<Tables>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a map half-written (every operation
        // is one map call), so the data behind a poisoned lock is still consistent.
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn get(&self, table: Table, key: &str) -> Option<Vec<u8>> {
        self.lock().get(&table).and_then(|t| t.get(key).cloned())
    }

    pub(super) fn put(&self, table: Table, key: &str, value: &[u8]) {
        self.lock()
            .entry(table)
            .or_default()
            .insert(key.to_owned(), value.to_vec());
    }

    pub(super) fn put_many(&self, table: Table, records: &[(String, Vec<u8>)]) {
        let mut tables = self.lock();
        let t = tables.entry(table).or_default();
        for (key, value) in records {
            t.insert(key.clone(), value.clone());
        }
    }

    pub(super) fn delete(&self, table: Table, key: &str) {
        if let Some(t) = self.lock().get_mut(&table) {
            t.remove(key);
        }
    }

    pub(super) fn scan(&self, table: Table, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let tables = self.lock();
        let Some(t) = tables.get(&table) else {
            return Vec::new();
        };
        t.range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub(super) fn clear(&self, table: Table) {
        self.lock().remove(&table);
    }
}
