//! lifeline-sdk: a resilient client for the Lifeline API, for native (tokio) and the browser
//! (wasm32). Timeouts, a retry policy with a budget, a circuit breaker per API group, a
//! stale-if-error cache, an offline outbox of writes with idempotency keys, and sessions
//! that survive outages.
//!
//! Start with [`Client::builder`]. Reads answer [`Fetched<T>`] (the value and whether it is
//! fresh or the last good copy, with its age); writes answer the server's reply or an
//! [`Error`] whose predicates say what happened; [`Client::events`] streams every decision.
//!
//! ```no_run
//! # async fn run() -> Result<(), lifeline_sdk::Error> {
//! use lifeline_sdk::Client;
//!
//! let client = Client::builder().base_url("http://127.0.0.1:8080").build()?;
//! client.restore().await?;
//! let upcoming = client.appointments().list(Default::default()).await?;
//! println!("{} appointments ({:?})", upcoming.value.len(), upcoming.freshness);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod cache;
mod client;
mod config;
pub mod durability;
mod error;
mod events;
mod freshness;
/// The JavaScript facade of the npm package (feature `js`, wasm32 only).
#[cfg(all(feature = "js", target_arch = "wasm32"))]
pub mod js;
pub mod outbox;
pub mod payments;
pub mod policy;
mod services;
mod session;
pub mod storage;
mod sync;
pub mod time;
mod transport;

pub use client::{Client, ClientBuilder};
pub use config::{
    RecordsCaching, DEFAULT_ATTEMPT_TIMEOUT, DEFAULT_CALL_TIMEOUT, DEFAULT_USER_AGENT,
};
pub use error::{Error, Result};
pub use events::{Event, EventStream};
pub use freshness::{Fetched, Freshness};
pub use services::{ApiGroup, BreakerStatus};
pub use session::SessionState;
#[cfg(not(target_arch = "wasm32"))]
pub use sync::SyncTimer;
pub use transport::Method;

/// The wire types, re-exported so apps need one dependency.
pub use lifeline_types as types;
/// The id type of every record, re-exported so apps need no `uuid` dependency of their own.
pub use uuid::Uuid;
