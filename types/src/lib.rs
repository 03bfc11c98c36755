//! Wire types of the Lifeline API, shared by `lifeline-sdk` and `backend-mock` so that the
//! client and the server cannot drift apart: one definition of each request and response.
//!
//! Timestamps are RFC 3339 strings in UTC and dates are `YYYY-MM-DD` strings: they cross
//! the wire as text, and keeping them as text here keeps this crate free of a time library.

pub mod appointments;
pub mod auth;
pub mod common;
pub mod error;
pub mod hospitals;
pub mod payments;
pub mod pharmacies;
pub mod prescriptions;
pub mod profile;
pub mod records;
pub mod registry;
pub mod tracking;

pub use appointments::AppointmentStatus;
pub use auth::Role;
pub use error::{ErrorBody, ErrorDetail};
