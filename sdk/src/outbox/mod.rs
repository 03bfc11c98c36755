//! The offline outbox of writes.
