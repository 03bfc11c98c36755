//! Route modules, one per API group. Each exposes `fn routes() -> OpenApiRouter<AppState>`, so
//! every handler annotated with `#[utoipa::path]` and registered with `routes!(..)` lands in
//! `/openapi.json` without a second list to keep in step.

pub mod appointments;
pub mod auth;
pub mod hospitals;
pub mod ops;
pub mod payments;
pub mod pharmacies;
pub mod prescriptions;
pub mod profile;
pub mod provider;
pub mod records;
pub mod registry;
pub mod tracking;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// All API routes with their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::routes())
        .merge(profile::routes())
        .merge(hospitals::routes())
        .merge(appointments::routes())
        .merge(payments::routes())
        .merge(provider::routes())
        .merge(prescriptions::routes())
        .merge(records::routes())
        .merge(pharmacies::routes())
        .merge(tracking::routes())
        .merge(registry::routes())
        .merge(ops::routes())
}

pub fn router(state: AppState) -> Router {
    let (router, _openapi) = api().split_for_parts();
    let router = router.with_state(state.clone());
    if state.config.dev {
        router
            .merge(crate::chaos::routes(state.clone()))
            .layer(crate::chaos::ChaosLayer::new(state.chaos.clone()))
    } else {
        router
    }
}
