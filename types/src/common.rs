//! Small bodies shared by several endpoint groups.

use serde::{Deserialize, Serialize};

/// `GET /health` and `GET /ready`: `{"status": "ok"}` when the server (and its database) answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
pub struct HealthStatus {
    /// `ok`, or the name of what is not ready.
    pub status: String,
}
