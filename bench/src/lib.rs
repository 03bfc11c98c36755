//! The benchmark harness: shared pieces for the binaries under `src/bin/`, one per benchmark
//! group.
//!
//! Each binary measures something, then calls [`Report::write`], which leaves two files under
//! `target/bench/` (or `$BENCH_OUT`):
//! - `parts/<name>.json`: one flat JSON object, metric name → number. `scripts/bench` merges every
//!   part into `results.json`.
//! - `meta/<name>.json`: `{"goals": {metric: ">= 20000"}, "notes": [..]}`, what the table prints
//!   beside the numbers.
//!
//! [`load`] is a closed-loop HTTP/1.1 load generator (keep-alive connections on raw hyper, so the
//! client spends as little of the shared CPU as possible); [`server`] starts backend-mock in
//! process on its own runtime.

pub mod cpu;
pub mod load;
pub mod server;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Errors in a benchmark binary end the run; the message says what failed.
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;
/// Result of a benchmark step.
pub type BenchResult<T> = Result<T, BenchError>;

/// Where results go: `$BENCH_OUT`, else `target/bench` under the current directory.
pub fn out_dir() -> PathBuf {
    std::env::var_os("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench"))
}

/// A number read from the environment, or `default` when unset.
///
/// # Errors
///
/// When the variable is set but does not parse.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> BenchResult<T> {
    match std::env::var(name) {
        Ok(raw) => raw
            .parse()
            .map_err(|_| format!("{name}={raw:?} is not a valid value").into()),
        Err(_) => Ok(default),
    }
}

/// The metrics, goals and notes of one benchmark binary.
#[derive(Debug, Default)]
pub struct Report {
    name: String,
    metrics: BTreeMap<String, f64>,
    goals: BTreeMap<String, String>,
    notes: Vec<String>,
}

impl Report {
    /// An empty report for the benchmark group `name` (the part file's name).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Records a metric; a later value for the same name replaces the earlier one.
    pub fn metric(&mut self, name: &str, value: f64) -> &mut Self {
        self.metrics.insert(name.into(), value);
        self
    }

    /// Records the goal printed beside a metric: `">= 20000"` or `"<= 10"`.
    pub fn goal(&mut self, metric: &str, goal: &str) -> &mut Self {
        self.goals.insert(metric.into(), goal.into());
        self
    }

    /// A line printed under the table (conditions of the run, findings).
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// Writes `parts/<name>.json` and `meta/<name>.json`.
    ///
    /// # Errors
    ///
    /// When the files cannot be written.
    pub fn write(&self) -> BenchResult<()> {
        let out = out_dir();
        let parts = out.join("parts");
        let meta = out.join("meta");
        std::fs::create_dir_all(&parts)?;
        std::fs::create_dir_all(&meta)?;
        // Non-finite numbers are not JSON; a metric that could not be measured is left out.
        let metrics: BTreeMap<_, _> = self.metrics.iter().filter(|(_, v)| v.is_finite()).collect();
        std::fs::write(
            parts.join(format!("{}.json", self.name)),
            serde_json::to_vec_pretty(&metrics)?,
        )?;
        std::fs::write(
            meta.join(format!("{}.json", self.name)),
            serde_json::to_vec_pretty(&serde_json::json!({
                "goals": self.goals,
                "notes": self.notes,
            }))?,
        )?;
        Ok(())
    }
}
