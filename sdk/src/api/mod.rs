//! Typed methods for every capability of the Lifeline API, one handle per group:
//! `client.appointments().book(..)`, `client.records().list(..)`, and so on.
//!
//! Reads answer [`Fetched<T>`](crate::Fetched) through the stale-if-error cache; writes
//! answer the server's reply. State-changing calls carry an `Idempotency-Key` made once per
//! call, so the pipeline may retry them safely; calls without one are never retried.

pub mod appointments;
pub mod auth;
pub mod hospitals;
pub mod pharmacies;
pub mod prescriptions;
pub mod profile;
pub mod records;
pub mod registry;
pub mod tracking;

pub use appointments::{AppointmentFilter, Appointments};
pub use auth::Auth;
pub use hospitals::Hospitals;
pub use pharmacies::Pharmacies;
pub use prescriptions::Prescriptions;
pub use profile::ProfileApi;
pub use records::Records;
pub use registry::Registry;
pub use tracking::Tracking;
