//! Persistent stores behind the cache and the outbox: in-memory, native embedded, IndexedDB.
