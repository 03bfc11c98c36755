//! The base of `/openapi.json`: title, version and the bearer security scheme. Paths and
//! schemas come from each route module's `#[utoipa::path]` handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document every route module's paths are merged into.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lifeline API",
        description = "The API served by backend-mock and covered by lifeline-sdk"
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme that authenticated paths refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
