//! Shared server state, cheap to clone into every handler.

use std::sync::Arc;

use sqlx::SqlitePool;

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dev mode: chaos control, dev mailbox and seeded demo data exist only when true.
    pub dev: bool,
    /// HMAC key for access tokens.
    pub jwt_secret: Vec<u8>,
    /// HMAC-SHA512 key the built-in payment provider signs webhooks with.
    pub provider_secret: Vec<u8>,
    /// Seed for everything random in dev mode (demo data, chaos), so runs repeat.
    pub seed: u64,
    /// Base URL the server is reachable at, used for provider checkout and webhook URLs.
    pub public_url: String,
}

impl Config {
    /// A configuration for tests: dev mode on, fixed secrets and seed.
    pub fn for_tests() -> Self {
        Self {
            dev: true,
            jwt_secret: b"test-jwt-secret-of-enough-length-000".to_vec(),
            provider_secret: b"test-provider-secret".to_vec(),
            seed: 42,
            public_url: "http://127.0.0.1:0".into(),
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub chaos: crate::chaos::Chaos,
}
