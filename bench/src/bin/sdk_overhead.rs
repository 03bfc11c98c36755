//! What the SDK's resilience costs on the happy path.
//!
//! The same `GET /api/hospitals` against backend-mock on loopback, answered 200 with the same
//! body every time, done two ways in the same run, on one keep-alive connection each,
//! sequentially:
//! - raw: `reqwest` GET and JSON decode into `Vec<Hospital>`, what an app would write by hand;
//! - sdk: `client.hospitals().list()`: logical deadline, retry loop with budget, the group's
//!   circuit breaker (permit and record), attempt timeout, the same reqwest GET and decode,
//!   and the cache write of the answer (stale-if-error) into the in-memory store.
//!
//! Batches alternate (raw, sdk, sdk, raw, ...) so drift in the shared machine affects both.
//!
//! Metrics (`target/bench/parts/sdk_overhead.json`):
//! - `sdk_overhead_ratio`: median SDK time per GET ÷ median raw time per GET (goal ≤ 1.10);
//! - `sdk_get_us`, `raw_get_us`: median microseconds per GET of each.

use std::time::{Duration, Instant};

use lifeline_bench::server::BackendServer;
use lifeline_bench::{env_or, BenchResult, Report};
use lifeline_sdk::types::hospitals::Hospital;
use lifeline_sdk::Client;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> BenchResult<()> {
    let batches: usize = env_or("SDK_OVERHEAD_BATCHES", 40)?;
    let per_batch: usize = env_or("SDK_OVERHEAD_PER_BATCH", 100)?;
    let server = BackendServer::start(1)?;
    let base = format!("http://{}", server.addr());
    let url = format!("{base}/api/hospitals");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (raw_us, sdk_us) = runtime.block_on(async {
        let raw = reqwest::Client::builder().build()?;
        let sdk = Client::builder()
            .base_url(&base)
            .attempt_timeout(Duration::from_secs(10))
            .build()?;

        // Warm both connections and the server's caches.
        for _ in 0..200 {
            raw.get(&url).send().await?.json::<Vec<Hospital>>().await?;
            sdk.hospitals().list().await?;
        }

        let mut raw_us = Vec::with_capacity(batches);
        let mut sdk_us = Vec::with_capacity(batches);
        for batch in 0..batches {
            for turn in 0..2 {
                let sdk_turn = (batch + turn) % 2 == 1;
                let started = Instant::now();
                for _ in 0..per_batch {
                    if sdk_turn {
                        let got = sdk.hospitals().list().await?;
                        assert!(!got.is_stale(), "the benchmark measures the happy path");
                    } else {
                        raw.get(&url).send().await?.json::<Vec<Hospital>>().await?;
                    }
                }
                let us = started.elapsed().as_secs_f64() * 1e6 / per_batch as f64;
                if sdk_turn {
                    sdk_us.push(us);
                } else {
                    raw_us.push(us);
                }
            }
        }
        BenchResult::Ok((median(raw_us), median(sdk_us)))
    })?;

    let ratio = sdk_us / raw_us;
    eprintln!("sdk_overhead: raw {raw_us:.1} us/GET, sdk {sdk_us:.1} us/GET, ratio {ratio:.3}");
    let mut report = Report::new("sdk_overhead");
    report
        .metric("sdk_overhead_ratio", ratio)
        .metric("sdk_get_us", sdk_us)
        .metric("raw_get_us", raw_us)
        .goal("sdk_overhead_ratio", "<= 1.10")
        .note(format!(
            "sdk_overhead: GET /api/hospitals on loopback, {batches} alternating batches of {per_batch}, medians; raw = reqwest GET + JSON decode; sdk adds deadline, retry, breaker, cache write (memory store)"
        ));
    report.write()
}
