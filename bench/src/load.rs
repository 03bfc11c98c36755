//! A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending
//! its next request as soon as the previous answer is read, for a warm-up and then a measured
//! window.
//!
//! Only requests that complete inside the measured window count, so the rate and the latency
//! percentiles describe the steady state. A request source may run dry (e.g. free slots used up);
//! the rate is then taken over the time work was actually done, and [`LoadReport::ran_dry`] says
//! so.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::cpu::CpuSample;
use crate::BenchResult;

/// How much load, for how long.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Concurrent keep-alive connections, each with one request in flight.
    pub connections: usize,
    /// Time under load before measuring starts.
    pub warmup: Duration,
    /// Length of the measured window.
    pub measure: Duration,
}

/// Gives connection `conn` its next request, or `None` when there is no more work.
pub trait RequestSource: Send + Sync + 'static {
    /// The next request for connection number `conn`.
    fn next(&self, conn: usize) -> Option<Request<Full<Bytes>>>;
}

impl<F> RequestSource for F
where
    F: Fn(usize) -> Option<Request<Full<Bytes>>> + Send + Sync + 'static,
{
    fn next(&self, conn: usize) -> Option<Request<Full<Bytes>>> {
        self(conn)
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// 2xx answers completed inside the measured window.
    pub ok: u64,
    /// Non-2xx answers and transport errors inside the measured window.
    pub failed: u64,
    /// Length of the window the counts refer to.
    pub window: Duration,
    /// Whether the request source ran out before the window ended.
    pub ran_dry: bool,
    /// The first failure seen (status and body, or the transport error), for the log.
    pub first_failure: Option<String>,
    /// CPU time per thread group (see [`crate::cpu`]) during the measured window.
    pub cpu: BTreeMap<&'static str, Duration>,
    /// Latencies of every measured request, in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl LoadReport {
    /// Successful requests per second over the window.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64().max(f64::EPSILON)
    }

    /// Microseconds of CPU a thread group spent per successful request, NaN without requests.
    pub fn cpu_us_per_request(&self, group: &str) -> f64 {
        let used = self.cpu.get(group).copied().unwrap_or_default();
        if self.ok == 0 {
            return f64::NAN;
        }
        used.as_secs_f64() * 1e6 / self.ok as f64
    }

    /// Cores kept busy on average during the window, all thread groups together.
    pub fn busy_cores(&self) -> f64 {
        let used: Duration = self.cpu.values().sum();
        used.as_secs_f64() / self.window.as_secs_f64().max(f64::EPSILON)
    }

    /// The `p`-th percentile (0..=100) latency in milliseconds, NaN without samples.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        // Nearest-rank percentile.
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, self.latencies_us.len()) - 1;
        f64::from(self.latencies_us[idx]) / 1000.0
    }
}

#[derive(Default)]
struct ConnStats {
    ok: u64,
    failed: u64,
    ran_dry: bool,
    last_done: Option<Instant>,
    first_failure: Option<String>,
    latencies_us: Vec<u32>,
}

/// Runs `source` against `addr` with `config` and gathers the measurements.
///
/// # Errors
///
/// When a connection cannot be opened at all.
pub async fn run(
    addr: SocketAddr,
    config: LoadConfig,
    source: impl RequestSource,
) -> BenchResult<LoadReport> {
    let source = Arc::new(source);
    let start = Instant::now();
    let measure_from = start + config.warmup;
    let until = measure_from + config.measure;
    let mut tasks = Vec::with_capacity(config.connections);
    for conn in 0..config.connections {
        let source = Arc::clone(&source);
        tasks.push(tokio::spawn(drive(addr, conn, source, measure_from, until)));
    }
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        let first = CpuSample::now();
        tokio::time::sleep_until(until).await;
        CpuSample::now().since(&first)
    });
    let mut report = LoadReport::default();
    let mut last_done = measure_from;
    for task in tasks {
        let stats = task.await??;
        report.ok += stats.ok;
        report.failed += stats.failed;
        report.ran_dry |= stats.ran_dry;
        if report.first_failure.is_none() {
            report.first_failure = stats.first_failure;
        }
        report.latencies_us.extend(stats.latencies_us);
        if let Some(done) = stats.last_done {
            last_done = last_done.max(done);
        }
    }
    report.window = if report.ran_dry {
        last_done.saturating_duration_since(measure_from)
    } else {
        config.measure
    };
    report.latencies_us.sort_unstable();
    report.cpu = sampler.await?;
    Ok(report)
}

async fn connect(
    addr: SocketAddr,
) -> BenchResult<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes it; either way
        // the request loop sees it.
        let _ = connection.await;
    });
    Ok(sender)
}

async fn drive(
    addr: SocketAddr,
    conn: usize,
    source: Arc<impl RequestSource>,
    measure_from: Instant,
    until: Instant,
) -> BenchResult<ConnStats> {
    let mut stats = ConnStats::default();
    let mut sender = connect(addr).await?;
    while Instant::now() < until {
        let Some(request) = source.next(conn) else {
            stats.ran_dry = true;
            break;
        };
        if sender.ready().await.is_err() {
            sender = connect(addr).await?;
        }
        let sent = Instant::now();
        let outcome = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                match response.into_body().collect().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(body) => Err(describe(status, &body.to_bytes())),
                    Err(err) => Err(format!("reading body: {err}")),
                }
            }
            Err(err) => Err(format!("sending: {err}")),
        };
        let done = Instant::now();
        if sent < measure_from || done > until {
            continue;
        }
        stats.last_done = Some(done);
        match outcome {
            Ok(()) => {
                stats.ok += 1;
                let micros = done.duration_since(sent).as_micros();
                stats
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Err(failure) => {
                stats.failed += 1;
                stats.first_failure.get_or_insert(failure);
            }
        }
    }
    Ok(stats)
}

fn describe(status: StatusCode, body: &Bytes) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    format!("{status}: {text}")
}
