//! CPU time per thread group of this process, from `/proc/self/task/*/schedstat` (nanoseconds
//! on CPU, per thread). Benchmarks sample it around a measured window to say where the shared
//! cores went: the server's runtime, SQLite's worker threads or the load generator.

use std::collections::BTreeMap;
use std::time::Duration;

/// CPU time used so far, per thread group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuSample {
    by_group: BTreeMap<&'static str, Duration>,
}

/// The group a thread belongs to, from its name (`comm`, cut to 15 bytes by the kernel).
fn group(comm: &str) -> &'static str {
    if comm.starts_with("server") {
        "server"
    } else if comm.starts_with("sqlx-sqlite") {
        "sqlite"
    } else if comm.starts_with("load") {
        "client"
    } else {
        "other"
    }
}

impl CpuSample {
    /// Reads every thread of this process now; empty where `/proc` is not available.
    pub fn now() -> Self {
        let mut by_group = BTreeMap::new();
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return Self { by_group };
        };
        for task in tasks.flatten() {
            let path = task.path();
            let (Ok(comm), Ok(stat)) = (
                std::fs::read_to_string(path.join("comm")),
                std::fs::read_to_string(path.join("schedstat")),
            ) else {
                continue;
            };
            let Some(nanos) = stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            *by_group.entry(group(comm.trim())).or_insert(Duration::ZERO) +=
                Duration::from_nanos(nanos);
        }
        Self { by_group }
    }

    /// CPU time per group between `earlier` and this sample.
    pub fn since(&self, earlier: &CpuSample) -> BTreeMap<&'static str, Duration> {
        self.by_group
            .iter()
            .map(|(group, used)| {
                let before = earlier.by_group.get(group).copied().unwrap_or_default();
                (*group, used.saturating_sub(before))
            })
            .collect()
    }
}
