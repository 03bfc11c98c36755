//! Real-network herd check: the shape of the `herd` simulation, measured with real SDK clients
//! over TCP against backend-mock with chaos.
//!
//! `HERD_REAL_CLIENTS` (default 1,000) real [`lifeline_sdk::Client`]s, each with its own
//! in-memory store, breakers and connection, on one shared client runtime, read
//! `GET /api/hospitals` (a cached read, anonymous) on a randomly phased period against
//! backend-mock in the same process (own runtime, 127.0.0.1:0). After a warm-up, a chaos rule
//! answers 503 on all of `/api` (a full outage); then the rule is lifted (`DELETE /__chaos`)
//! and the run goes on a while. A counting layer around `backend_mock::app(..)` counts the
//! `/api` requests that reach the server per 1-s bucket.
//!
//! Time is scaled down by [`TIME_SCALE`] = 5 against the simulation: one read every 2 s
//! instead of 10 s, a 12-s outage instead of 60 s, and the SDK's breaker scaled by the same
//! factor (window 2 s, break 18 s with the default third of jitter instead of 90 s, probe
//! timeout 2 s), so that breaks still outlast the outage as they do in the simulation. Retry
//! policy, retry budget and timeouts are the SDK defaults (the failures are fast, so the retry
//! backoff is the only other clock, and it is already sub-second).
//!
//! The same run is repeated with naive clients: plain reqwest, 3 immediate retries. The run
//! has no writes, so the naive clients have no queue to flush on recovery: their difference
//! shows in the outage load (every read and its 3 retries reach the server), not in a wave.
//!
//! Metrics (`target/bench/parts/herd_real.json`):
//! - `herd_real_peak_ratio`: the busiest 1-s request rate in the window after recovery ÷ the
//!   pre-outage rate;
//! - `herd_real_outage_requests_per_client_per_min`: requests that reached the server during
//!   the outage, per client per minute of the unscaled (60-s) outage the run stands for, so the
//!   number compares directly with the simulation's `outage_requests_per_client_per_min`;
//! - the same two with the `herd_real_naive_` prefix, and `herd_real_clients`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use backend_mock::{AppState, Config};
use lifeline_bench::{env_or, BenchResult, Report};
use lifeline_sdk::policy::{BreakerConfig, RandomSource, SplitMix64};
use lifeline_sdk::storage::Store;
use lifeline_sdk::Client;
use serde_json::json;

/// Real seconds per simulated second.
const TIME_SCALE: u32 = 5;
/// One read per client every this long (the simulation's 10 s, scaled).
const READ_PERIOD: Duration = Duration::from_secs(2);
/// Warm-up before the outage: the first periods phase in, then the steady state is measured.
const WARMUP_SECS: u64 = 6;
/// The outage (the simulation's 60 s, scaled).
const OUTAGE_SECS: u64 = 12;
/// Observed after recovery: long enough for every scaled break (12–18 s from the outage's
/// start) to end and the next read to probe.
const AFTER_SECS: u64 = 12;
/// Seconds at the start of the warm-up left out of the pre-outage rate (one read period).
const PHASE_IN_SECS: usize = 2;

/// Requests reaching the server per 1-s bucket since `start`.
#[derive(Debug)]
struct Counter {
    start: Instant,
    buckets: Vec<u32>,
}

type Shared = Arc<Mutex<Counter>>;

async fn count(State(counter): State<Shared>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api") {
        if let Ok(mut c) = counter.lock() {
            let sec = c.start.elapsed().as_secs() as usize;
            if c.buckets.len() <= sec {
                c.buckets.resize(sec + 1, 0);
            }
            c.buckets[sec] += 1;
        }
    }
    next.run(req).await
}

/// backend-mock on its own single-thread runtime, with the counting layer outside chaos.
struct Server {
    url: String,
    counter: Shared,
    dir: std::path::PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start() -> BenchResult<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("server")
            .enable_all()
            .build()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("lifeline-herd-real-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let db_path = dir.join("bench.sqlite");
        let db_path = db_path
            .to_str()
            .ok_or("temporary path is not utf-8")?
            .to_owned();
        let counter: Shared = Arc::new(Mutex::new(Counter {
            start: Instant::now(),
            buckets: Vec::new(),
        }));
        let layer_counter = counter.clone();
        let url = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let config = Config {
                dev: true,
                public_url: format!("http://{addr}"),
                ..Config::for_tests()
            };
            let db = backend_mock::db::connect(&db_path).await?;
            let state = AppState::new(db, config).await?;
            backend_mock::seed::seed(&state).await?;
            let app = backend_mock::app(state)
                .layer(axum::middleware::from_fn_with_state(layer_counter, count));
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, app).await {
                    eprintln!("benchmark server stopped: {err}");
                }
            });
            BenchResult::Ok(format!("http://{addr}"))
        })?;
        Ok(Self {
            url,
            counter,
            dir,
            runtime: Some(runtime),
        })
    }

    /// Starts counting afresh from now.
    fn reset(&self) -> BenchResult<Instant> {
        let mut c = self.counter.lock().map_err(|_| "counter lock poisoned")?;
        c.start = Instant::now();
        c.buckets.clear();
        Ok(c.start)
    }

    fn buckets(&self) -> BenchResult<Vec<u32>> {
        let c = self.counter.lock().map_err(|_| "counter lock poisoned")?;
        Ok(c.buckets.clone())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The breaker's defaults with every duration divided by [`TIME_SCALE`].
fn scaled_breaker() -> BenchResult<BreakerConfig> {
    let d = BreakerConfig::default();
    Ok(BreakerConfig::builder()
        .window(d.window() / TIME_SCALE, d.buckets())
        .break_duration(d.break_duration() / TIME_SCALE)
        .max_break_duration(d.max_break_duration() / TIME_SCALE)
        .probe_timeout(d.probe_timeout() / TIME_SCALE)
        .build()?)
}

/// One population's reader: an SDK client or a naive one.
#[derive(Clone)]
enum Reader {
    Sdk(Arc<Client>),
    Naive {
        http: reqwest::Client,
        url: String,
        retries: u32,
    },
}

impl Reader {
    async fn read(&self) {
        match self {
            Reader::Sdk(client) => {
                let _ = client.hospitals().list().await;
            }
            Reader::Naive { http, url, retries } => {
                for _ in 0..=*retries {
                    let ok = http
                        .get(url)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        break;
                    }
                }
            }
        }
    }
}

/// What one population's run measured.
#[derive(Debug)]
struct Summary {
    pre_rate: f64,
    peak_ratio: f64,
    outage_per_client_per_min: f64,
}

fn summarize(buckets: &[u32], clients: u32) -> Summary {
    let at = |i: usize| f64::from(buckets.get(i).copied().unwrap_or(0));
    let (start, end) = (WARMUP_SECS as usize, (WARMUP_SECS + OUTAGE_SECS) as usize);
    let pre: f64 = (PHASE_IN_SECS..start).map(at).sum();
    let pre_rate = pre / (start - PHASE_IN_SECS) as f64;
    let peak = (end..end + AFTER_SECS as usize).map(at).fold(0.0, f64::max);
    let outage: f64 = (start..end).map(at).sum();
    // Per minute of the outage the run stands for (scaled back up).
    let minutes = (OUTAGE_SECS * u64::from(TIME_SCALE)) as f64 / 60.0;
    Summary {
        pre_rate,
        peak_ratio: peak / pre_rate,
        outage_per_client_per_min: outage / f64::from(clients) / minutes,
    }
}

/// Runs one population through warm-up, outage and recovery; the per-second counts.
async fn run(server: &Server, readers: Vec<Reader>, seed: u64) -> BenchResult<Vec<u32>> {
    let control = reqwest::Client::new();
    let url = server.url.clone();
    let _ = control.delete(format!("{url}/__chaos")).send().await?;
    let start = server.reset()?;
    let end = start + Duration::from_secs(WARMUP_SECS + OUTAGE_SECS + AFTER_SECS);
    let mut rng = SplitMix64::new(seed);
    let mut tasks = Vec::with_capacity(readers.len());
    for reader in readers {
        let phase = READ_PERIOD.mul_f64(rng.next_f64());
        tasks.push(tokio::spawn(async move {
            let mut next = tokio::time::Instant::from_std(start) + phase;
            while next.into_std() < end {
                tokio::time::sleep_until(next).await;
                reader.read().await;
                next += READ_PERIOD;
            }
        }));
    }
    tokio::time::sleep_until((start + Duration::from_secs(WARMUP_SECS)).into()).await;
    let resp = control
        .put(format!("{url}/__chaos"))
        .json(
            &json!({"seed": seed, "rules": [{"prefix": "/api", "status": 503, "error_rate": 1.0}]}),
        )
        .send()
        .await?;
    if !resp.status().is_success() {
        return Err(format!("chaos rule refused: {}", resp.text().await?).into());
    }
    tokio::time::sleep_until((start + Duration::from_secs(WARMUP_SECS + OUTAGE_SECS)).into()).await;
    let resp = control.delete(format!("{url}/__chaos")).send().await?;
    if !resp.status().is_success() {
        return Err("chaos rules could not be lifted".into());
    }
    for task in tasks {
        task.await?;
    }
    server.buckets()
}

fn main() -> BenchResult<()> {
    let clients: u32 = env_or("HERD_REAL_CLIENTS", 1000)?;
    if clients == 0 {
        return Err("HERD_REAL_CLIENTS must be > 0".into());
    }
    let server = Server::start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("client")
        .enable_all()
        .build()?;
    let started = Instant::now();
    let breaker = scaled_breaker()?;
    let (sdk, naive) = runtime.block_on(async {
        let readers = (0..clients)
            .map(|i| {
                let client = Client::builder()
                    .base_url(&server.url)
                    .store(Store::memory())
                    .circuit_breaker(breaker)
                    .jitter_seed(u64::from(i) + 1)
                    .build()?;
                Ok(Reader::Sdk(Arc::new(client)))
            })
            .collect::<BenchResult<Vec<_>>>()?;
        let sdk = summarize(&run(&server, readers, 2026).await?, clients);
        let http = reqwest::Client::new();
        let url = format!("{}/api/hospitals", server.url);
        let readers = (0..clients)
            .map(|_| Reader::Naive {
                http: http.clone(),
                url: url.clone(),
                retries: 3,
            })
            .collect();
        let naive = summarize(&run(&server, readers, 2027).await?, clients);
        BenchResult::Ok((sdk, naive))
    })?;
    let elapsed = started.elapsed();

    let mut report = Report::new("herd_real");
    report
        .metric("herd_real_clients", f64::from(clients))
        .metric("herd_real_peak_ratio", sdk.peak_ratio)
        .metric(
            "herd_real_outage_requests_per_client_per_min",
            sdk.outage_per_client_per_min,
        )
        .metric("herd_real_naive_peak_ratio", naive.peak_ratio)
        .metric(
            "herd_real_naive_outage_requests_per_client_per_min",
            naive.outage_per_client_per_min,
        )
        .goal("herd_real_peak_ratio", "<= 1.5")
        .goal("herd_real_outage_requests_per_client_per_min", "<= 2")
        .note(format!(
            "herd_real: {clients} real SDK clients (then {clients} naive reqwest clients, 3 \
             immediate retries) over TCP against backend-mock in process (1 server thread, 1 \
             client thread), GET /api/hospitals; time scaled 1:{TIME_SCALE} against the herd \
             simulation: 1 read / {} s, {OUTAGE_SECS} s full outage (chaos 503 on /api) after \
             {WARMUP_SECS} s, {AFTER_SECS} s observed after; breaker scaled by the same factor \
             (window {} ms, break {} ms with {:.0}% jitter, probe timeout {} ms; the defaults \
             break for 60-90 s, longer than the scaled run), retries/budget/timeouts SDK \
             defaults; outage requests per minute of the unscaled {} s outage; pre-outage {:.0} \
             req/s (SDK) and {:.0} (naive); no writes (the simulation also writes once a \
             minute, and its naive wave is that write queue being flushed); ran in {:.1} s",
            READ_PERIOD.as_secs(),
            breaker.window().as_millis(),
            breaker.break_duration().as_millis(),
            breaker.break_jitter() * 100.0,
            breaker.probe_timeout().as_millis(),
            OUTAGE_SECS * u64::from(TIME_SCALE),
            sdk.pre_rate,
            naive.pre_rate,
            elapsed.as_secs_f64()
        ));
    report.write()?;
    eprintln!("herd_real: sdk {sdk:?}, naive {naive:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_compares_the_recovery_peak_with_the_steady_rate() {
        // 500 req/s before, nothing during the outage but 1,000 requests at its start,
        // a 1,000-request second after it.
        let mut buckets = vec![500u32; (WARMUP_SECS + OUTAGE_SECS + AFTER_SECS) as usize];
        let (start, end) = (WARMUP_SECS as usize, (WARMUP_SECS + OUTAGE_SECS) as usize);
        for b in &mut buckets[start..end] {
            *b = 0;
        }
        buckets[start] = 1000;
        buckets[end + 1] = 1000;
        let s = summarize(&buckets, 1000);
        assert!((s.pre_rate - 500.0).abs() < 1e-9, "{s:?}");
        assert!((s.peak_ratio - 2.0).abs() < 1e-9, "{s:?}");
        // One request per client over an outage standing for one minute.
        assert!((s.outage_per_client_per_min - 1.0).abs() < 1e-9, "{s:?}");
    }

    #[test]
    fn the_scaled_breaker_still_outlasts_the_outage() {
        let b = scaled_breaker().unwrap();
        let shortest = b.break_duration().mul_f64(1.0 - b.break_jitter());
        assert!(shortest >= Duration::from_secs(OUTAGE_SECS), "{b:?}");
    }
}
