//! Operations: liveness, readiness and the OpenAPI document.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use lifeline_types::common::HealthStatus;
use lifeline_types::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppError, AppResult, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(openapi_json))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, description = "alive", body = HealthStatus)))]
async fn health() -> Json<HealthStatus> {
    Json(HealthStatus {
        status: "ok".into(),
    })
}

/// Readiness: the database answers a query.
#[utoipa::path(get, path = "/ready", tag = "ops",
    responses(
        (status = 200, description = "ready to serve", body = HealthStatus),
        (status = 503, description = "database unreachable", body = ErrorBody),
    ))]
async fn ready(State(state): State<AppState>) -> AppResult<Json<HealthStatus>> {
    match sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(&state.db)
        .await
    {
        Ok(_) => Ok(Json(HealthStatus {
            status: "ok".into(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "database unreachable",
            )
            .with_retry_after(1))
        }
    }
}

/// The OpenAPI 3.1 document of every route, generated from the handlers themselves.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
async fn openapi_json() -> impl IntoResponse {
    static DOC: OnceLock<Bytes> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        let (_, openapi) = crate::routes::api().split_for_parts();
        Bytes::from(openapi.to_json().unwrap_or_else(|_| "{}".into()))
    });
    ([(header::CONTENT_TYPE, "application/json")], doc.clone())
}
