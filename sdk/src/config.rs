//! Resolved client settings, produced by [`ClientBuilder`](crate::ClientBuilder).

use std::time::Duration;

use crate::policy::{BreakerConfig, BudgetConfig, RetryPolicy};
use crate::services::ApiGroup;

/// Where medical records may be cached.
///
/// Default is [`RecordsCaching::MemoryOnly`]: records are sensitive, so they stay out of the
/// persistent store unless the app opts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordsCaching {
    /// Kept in process memory only; gone on restart or reload.
    #[default]
    MemoryOnly,
    /// Kept in the client's store like every other read.
    Persistent,
}

/// Settings fixed when the client is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub base_url: String,
    pub overrides: Vec<(ApiGroup, String)>,
    pub attempt_timeout: Duration,
    pub call_timeout: Duration,
    pub retry: RetryPolicy,
    pub budget: BudgetConfig,
    pub breaker: BreakerConfig,
    pub user_agent: String,
    pub records_caching: RecordsCaching,
    pub seed: Option<u64>,
}

/// Default attempt timeout: one HTTP attempt is abandoned after this long.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default logical-call timeout: all attempts and waits together.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `User-Agent` on native.
pub const DEFAULT_USER_AGENT: &str = concat!("lifeline-sdk/", env!("CARGO_PKG_VERSION"));
