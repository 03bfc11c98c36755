//! Typed methods for every capability of the Lifeline API, one handle per group:
//! `client.appointments().book(..)`, `client.records().list(..)`, and so on.
//!
//! Reads answer [`Fetched<T>`](crate::Fetched) through the stale-if-error cache; writes
//! answer the server's reply. State-changing calls carry an `Idempotency-Key` made once per
//! call, so the pipeline may retry them safely.

pub mod auth;
