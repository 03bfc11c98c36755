//! backend-mock: a real implementation of the Lifeline API (see `/openapi.json`), with SQLite
//! storage, real auth and a chaos control for resilience tests. "Mock" only means it is not
//! the hospital's production server.
//!
//! `app(state)` builds the whole router, so tests drive it with `oneshot` and no socket.

pub mod auth;
pub mod chaos;
pub mod db;
pub mod error;
pub mod etag;
pub mod idempotency;
pub mod mailbox;
pub mod openapi;
pub mod reconciler;
pub mod routes;
pub mod seed;
pub mod seed_domain;
pub mod state;

use axum::Router;

pub use error::{AppError, AppResult};
pub use state::{AppState, Config};

/// The whole HTTP application: API routes, dev-only routes when `config.dev`, layers.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}

/// A ready state for tests: in-memory SQLite, migrated, seeded with demo data, dev mode on.
///
/// # Panics
/// When the in-memory database cannot be set up, which is a broken build, not a test outcome.
pub async fn test_state() -> AppState {
    test_state_with(Config::for_tests()).await
}

/// Like [`test_state`] with another configuration.
///
/// # Panics
/// When the in-memory database cannot be set up.
pub async fn test_state_with(config: Config) -> AppState {
    let db = db::connect(":memory:")
        .await
        .expect("in-memory database opens and migrates");
    let state = AppState::new(db, config)
        .await
        .expect("reference data loads");
    seed::seed(&state).await.expect("demo data seeds");
    state
}
