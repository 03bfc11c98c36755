//! `ClientOptions`: every builder setting of the Rust client, as one plain object.
//! Durations are milliseconds; anything left out keeps the Rust default.

use std::collections::BTreeMap;

use serde::Deserialize;
use tsify::Tsify;

use crate::error::{Error, Result};
use crate::outbox::OutboxConfig;
use crate::policy::{Backoff, BreakerConfig, BudgetConfig, RetryPolicy};
use crate::storage::Store;
use crate::{ClientBuilder, RecordsCaching};

use super::convert::duration_ms;
use super::types::ApiGroup;

/// Settings of `LifelineClient.create()`.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    /// The API's base URL, such as `https://api.example.org` (no path).
    pub base_url: String,
    /// A different base URL for some API groups. Default is `baseUrl` for every group.
    #[serde(default)]
    #[tsify(optional, type = "Partial<Record<ApiGroup, string>>")]
    pub group_base_urls: Option<BTreeMap<ApiGroup, String>>,
    /// How long one HTTP attempt may take. Default is 10 000.
    #[serde(default)]
    #[tsify(optional)]
    pub attempt_timeout_ms: Option<f64>,
    /// How long one logical call may take, retries and waits included. Default is 30 000.
    #[serde(default)]
    #[tsify(optional)]
    pub call_timeout_ms: Option<f64>,
    /// Retry policy. Default is 3 retries, exponential backoff with full jitter.
    #[serde(default)]
    #[tsify(optional)]
    pub retry: Option<RetryOptions>,
    /// Per-group retry budget.
    #[serde(default)]
    #[tsify(optional)]
    pub retry_budget: Option<RetryBudgetOptions>,
    /// Per-group circuit breaker.
    #[serde(default)]
    #[tsify(optional)]
    pub breaker: Option<BreakerOptions>,
    /// Where the cache, the outbox and the session are kept: `"memory"` (default; nothing
    /// survives a reload) or an IndexedDB database (`{ indexedDb: "lifeline" }`; in Node,
    /// import `fake-indexeddb/auto` first).
    #[serde(default)]
    #[tsify(optional)]
    pub storage: Option<StorageOption>,
    /// Where medical records may be cached. Default is `"memory_only"`.
    #[serde(default)]
    #[tsify(optional)]
    pub records_caching: Option<RecordsCachingOption>,
    /// Outbox settings.
    #[serde(default)]
    #[tsify(optional)]
    pub outbox: Option<OutboxOptions>,
    /// Seeds the jitter generator so retry delays repeat run to run.
    #[serde(default)]
    #[tsify(optional)]
    pub jitter_seed: Option<f64>,
}

/// Retry policy settings.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryOptions {
    /// Retries after the first attempt (0 disables retries). Default is 3.
    #[serde(default)]
    #[tsify(optional)]
    pub max_retries: Option<u32>,
    /// First backoff ceiling (full jitter below it). Default is 200.
    #[serde(default)]
    #[tsify(optional)]
    pub backoff_base_ms: Option<f64>,
    /// Largest backoff ceiling. Default is 30 000.
    #[serde(default)]
    #[tsify(optional)]
    pub backoff_cap_ms: Option<f64>,
    /// Longest `Retry-After` honoured; a longer one stops retrying. Default is 30 000.
    #[serde(default)]
    #[tsify(optional)]
    pub max_retry_after_ms: Option<f64>,
}

/// Retry budget settings: retries may add at most `tokenRatio` of the calls.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryBudgetOptions {
    /// Bucket size. Default is 10.
    pub max_tokens: f64,
    /// Tokens earned per successful call. Default is 0.1.
    pub token_ratio: f64,
}

/// Circuit breaker settings (each optional; defaults as in the Rust SDK).
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BreakerOptions {
    /// Failure share in the window that opens the breaker.
    #[serde(default)]
    #[tsify(optional)]
    pub failure_ratio: Option<f64>,
    /// Sliding window length.
    #[serde(default)]
    #[tsify(optional)]
    pub window_ms: Option<f64>,
    /// Buckets of the window.
    #[serde(default)]
    #[tsify(optional)]
    pub buckets: Option<u32>,
    /// Calls in the window before the ratio counts.
    #[serde(default)]
    #[tsify(optional)]
    pub min_throughput: Option<u32>,
    /// Consecutive failures that open the breaker regardless of the ratio.
    #[serde(default)]
    #[tsify(optional)]
    pub consecutive_failures: Option<u32>,
    /// First open period.
    #[serde(default)]
    #[tsify(optional)]
    pub break_duration_ms: Option<f64>,
    /// Longest open period.
    #[serde(default)]
    #[tsify(optional)]
    pub max_break_duration_ms: Option<f64>,
    /// Growth of the open period on each reopening.
    #[serde(default)]
    #[tsify(optional)]
    pub break_growth: Option<f64>,
    /// Jitter share of the open period.
    #[serde(default)]
    #[tsify(optional)]
    pub break_jitter: Option<f64>,
    /// How long the half-open probe may take.
    #[serde(default)]
    #[tsify(optional)]
    pub probe_timeout_ms: Option<f64>,
}

/// Where the client keeps its data.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(untagged)]
pub enum StorageOption {
    /// `"memory"`.
    Memory(MemoryStorage),
    /// `{ indexedDb: "<database name>" }`.
    IndexedDb {
        /// The IndexedDB database name.
        #[serde(rename = "indexedDb")]
        indexed_db: String,
    },
}

/// In-memory storage.
#[derive(Debug, Clone, Deserialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum MemoryStorage {
    /// Process memory only.
    Memory,
}

/// Where medical records may be cached.
#[derive(Debug, Clone, Copy, Deserialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum RecordsCachingOption {
    /// In memory only (default).
    MemoryOnly,
    /// In the client's store, like every other read.
    Persistent,
}

/// Outbox settings.
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutboxOptions {
    /// First delay after a failed delivery. Default is 1 000.
    #[serde(default)]
    #[tsify(optional)]
    pub backoff_base_ms: Option<f64>,
    /// Largest delay between deliveries. Default is 300 000.
    #[serde(default)]
    #[tsify(optional)]
    pub backoff_cap_ms: Option<f64>,
    /// Web Lock name that keeps drains exclusive across tabs. Default is `lifeline-outbox`.
    #[serde(default)]
    #[tsify(optional)]
    pub lock_name: Option<String>,
}

fn backoff(base: Option<f64>, cap: Option<f64>, default: Backoff, what: &str) -> Result<Backoff> {
    let base = match base {
        Some(ms) => duration_ms(ms, what)?,
        None => default.base(),
    };
    let cap = match cap {
        Some(ms) => duration_ms(ms, what)?,
        None => default.cap(),
    };
    Backoff::new(base, cap).map_err(|e| Error::builder(format!("{what}: {e}")))
}

impl RetryOptions {
    fn policy(&self) -> Result<RetryPolicy> {
        let mut policy = RetryPolicy::default();
        if let Some(n) = self.max_retries {
            policy = policy.with_max_retries(n);
        }
        if self.backoff_base_ms.is_some() || self.backoff_cap_ms.is_some() {
            let b = backoff(
                self.backoff_base_ms,
                self.backoff_cap_ms,
                policy.backoff(),
                "retry backoff",
            )?;
            policy = policy.with_backoff(b);
        }
        if let Some(ms) = self.max_retry_after_ms {
            policy = policy.with_max_retry_after(duration_ms(ms, "maxRetryAfterMs")?);
        }
        Ok(policy)
    }
}

impl BreakerOptions {
    fn config(&self) -> Result<BreakerConfig> {
        let defaults = BreakerConfig::default();
        let mut b = BreakerConfig::builder();
        if let Some(v) = self.failure_ratio {
            b = b.failure_ratio(v);
        }
        if self.window_ms.is_some() || self.buckets.is_some() {
            let window = match self.window_ms {
                Some(ms) => duration_ms(ms, "breaker windowMs")?,
                None => defaults.window(),
            };
            b = b.window(window, self.buckets.unwrap_or(defaults.buckets()));
        }
        if let Some(v) = self.min_throughput {
            b = b.min_throughput(v);
        }
        if let Some(v) = self.consecutive_failures {
            b = b.consecutive_failures(v);
        }
        if let Some(ms) = self.break_duration_ms {
            b = b.break_duration(duration_ms(ms, "breakDurationMs")?);
        }
        if let Some(ms) = self.max_break_duration_ms {
            b = b.max_break_duration(duration_ms(ms, "maxBreakDurationMs")?);
        }
        if let Some(v) = self.break_growth {
            b = b.break_growth(v);
        }
        if let Some(v) = self.break_jitter {
            b = b.break_jitter(v);
        }
        if let Some(ms) = self.probe_timeout_ms {
            b = b.probe_timeout(duration_ms(ms, "probeTimeoutMs")?);
        }
        b.build()
            .map_err(|e| Error::builder(format!("circuit breaker: {e}")))
    }
}

impl ClientOptions {
    /// The Rust builder these options describe, with the store opened.
    ///
    /// # Errors
    ///
    /// An invalid setting, or an IndexedDB database that cannot be opened.
    pub(crate) async fn builder(self) -> Result<ClientBuilder> {
        let mut b = crate::Client::builder().base_url(&self.base_url);
        for (group, url) in self.group_base_urls.unwrap_or_default() {
            b = b.group_base_url(group.into(), url);
        }
        if let Some(ms) = self.attempt_timeout_ms {
            b = b.attempt_timeout(duration_ms(ms, "attemptTimeoutMs")?);
        }
        if let Some(ms) = self.call_timeout_ms {
            b = b.call_timeout(duration_ms(ms, "callTimeoutMs")?);
        }
        if let Some(retry) = &self.retry {
            b = b.retry_policy(retry.policy()?);
        }
        if let Some(budget) = &self.retry_budget {
            let config = BudgetConfig::new(budget.max_tokens, budget.token_ratio)
                .map_err(|e| Error::builder(format!("retry budget: {e}")))?;
            b = b.retry_budget(config);
        }
        if let Some(breaker) = &self.breaker {
            b = b.circuit_breaker(breaker.config()?);
        }
        if let Some(StorageOption::IndexedDb { indexed_db }) = &self.storage {
            let store = Store::indexed_db(indexed_db)
                .await
                .map_err(Error::storage)?;
            b = b.store(store);
        }
        if let Some(caching) = self.records_caching {
            b = b.records_caching(match caching {
                RecordsCachingOption::MemoryOnly => RecordsCaching::MemoryOnly,
                RecordsCachingOption::Persistent => RecordsCaching::Persistent,
            });
        }
        if let Some(outbox) = &self.outbox {
            let defaults = OutboxConfig::default();
            b = b.outbox(OutboxConfig {
                backoff: backoff(
                    outbox.backoff_base_ms,
                    outbox.backoff_cap_ms,
                    defaults.backoff,
                    "outbox backoff",
                )?,
                lock_name: outbox.lock_name.clone().unwrap_or(defaults.lock_name),
                ..defaults
            });
        }
        if let Some(seed) = self.jitter_seed {
            b = b.jitter_seed(seed as u64);
        }
        Ok(b)
    }
}
