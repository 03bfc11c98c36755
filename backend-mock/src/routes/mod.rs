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

use std::time::Duration;

use axum::extract::Request;
use axum::http::header::{HeaderName, CACHE_CONTROL, ETAG, LAST_MODIFIED, RETRY_AFTER};
use axum::http::HeaderValue;
use axum::response::IntoResponse;
use axum::Router;
use tower::ServiceExt;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::{AppError, AppState};

/// All API routes with their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
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

/// The API plus dev-only routes, the static web app when configured, and the cross-cutting
/// layers, outer to inner: CORS (dev mode only), request id (accept, generate, echo), error
/// envelope and request log, chaos (dev mode only).
pub fn router(state: AppState) -> Router {
    let api = if state.config.dev {
        // The dev mailbox (how tests read one-time codes) exists only in dev mode.
        api().merge(records::dev_routes())
    } else {
        api()
    };
    let (router, _openapi) = api.split_for_parts();
    let mut router = router.with_state(state.clone());
    if state.config.dev {
        router = router
            .merge(crate::chaos::routes(state.clone()))
            .layer(crate::chaos::ChaosLayer::new(state.chaos.clone()));
    }
    router = match &state.config.static_dir {
        Some(dir) => {
            // The app's build ships .br and .gz copies of its files (scripts/compress-dist.mjs):
            // sent as they are to browsers that accept them, with no compression per request.
            let spa = ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(
                    ServeFile::new(dir.join("index.html"))
                        .precompressed_br()
                        .precompressed_gzip(),
                );
            router.fallback(move |req: Request| async move {
                if is_api_path(req.uri().path()) {
                    AppError::not_found("route").into_response()
                } else {
                    let policy = cache_policy(req.uri().path());
                    match spa.oneshot(req).await {
                        Ok(mut res) => {
                            res.headers_mut()
                                .insert(CACHE_CONTROL, HeaderValue::from_static(policy));
                            res.into_response()
                        }
                        Err(never) => match never {},
                    }
                }
            })
        }
        None => router.fallback(|| async { AppError::not_found("route") }),
    };
    let router = router
        .layer(axum::middleware::from_fn(crate::etag::conditional_get))
        .layer(axum::middleware::from_fn(crate::error::error_envelope))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    if state.config.dev {
        router.layer(dev_cors())
    } else {
        router
    }
}

/// Dev mode only: pages served from another origin (the SDK's browser tests, which
/// wasm-bindgen-test-runner serves on its own port; a dev server) may call the API. The SDK
/// sends credentials (the refresh cookie), so the caller's origin is echoed and
/// `Access-Control-Allow-Credentials` set; a wildcard would be refused by the browser.
/// Outermost, so a preflight is answered before chaos rules and the API's layers see it, and
/// injected errors carry the headers that let the page read them.
fn dev_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            RETRY_AFTER,
            ETAG,
            LAST_MODIFIED,
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-chaos-injected"),
        ])
        .max_age(Duration::from_secs(600))
}

/// `Cache-Control` for a file of the web app. The build names the app module, its JS and its
/// CSS after their content (`name-<16 hex digits>.ext`), so a browser may keep them for a year
/// without asking again; everything else (the HTML shell, the service worker and its glue,
/// the manifest, icons) is checked with the server on each use (`ETag`/`Last-Modified`), so a
/// new release is seen at once.
fn cache_policy(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hashed = stem.rsplit_once('-').is_some_and(|(name, hash)| {
        !name.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Paths that belong to the server, never to the web app's client-side routes.
fn is_api_path(path: &str) -> bool {
    [
        "/api",
        "/__",
        "/provider",
        "/openapi.json",
        "/health",
        "/ready",
    ]
    .iter()
    .any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
}

#[cfg(test)]
mod tests {
    use super::cache_policy;

    #[test]
    fn only_content_named_files_are_kept_for_a_year() {
        let year = "public, max-age=31536000, immutable";
        for hashed in [
            "/lifeline-web-4f3702dbba9ae8cf_bg.wasm",
            "/lifeline-web-4f3702dbba9ae8cf.js",
            "/style-b3965f597cad2c28.css",
            "/lifeline-web-4f3702dbba9ae8cf_bg.wasm.br",
        ] {
            assert_eq!(cache_policy(hashed), year, "{hashed}");
        }
        for fresh in [
            "/",
            "/login",
            "/index.html",
            "/sw.js",
            "/sw_glue_bg.wasm",
            "/manifest.webmanifest",
            "/icons/icon-192.png",
            "/pay/0b5f7a00-1111-2222-3333-444455556666",
            "/a-4f3702dbba9ae8c.js",
            "/-4f3702dbba9ae8cf.js",
            "/a-4f3702dbba9ae8cg.js",
        ] {
            assert_eq!(cache_policy(fresh), "no-cache", "{fresh}");
        }
    }
}
