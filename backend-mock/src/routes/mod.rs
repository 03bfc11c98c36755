//! Route modules, one per API group. Each exposes `fn routes() -> Router<AppState>`.

use axum::Router;

use crate::AppState;

pub fn router(state: AppState) -> Router {
    Router::new().with_state(state)
}
