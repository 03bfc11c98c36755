//! backend-mock: a real implementation of the Lifeline API (see `/openapi.json`), with SQLite
//! storage, real auth and a chaos control for resilience tests. "Mock" only means it is not
//! the hospital's production server.
//!
//! `app(state)` builds the whole router, so tests drive it with `oneshot` and no socket.

pub mod auth;
pub mod chaos;
pub mod db;
pub mod error;
pub mod routes;
pub mod seed_domain;
pub mod state;

use axum::Router;

pub use error::{AppError, AppResult};
pub use state::{AppState, Config};

/// The whole HTTP application: API routes, dev-only routes when `config.dev`, layers.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
