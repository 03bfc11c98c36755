//! Backend load benchmark: backend-mock in process (release, file-backed SQLite, dev mode, no
//! chaos) under a closed-loop keep-alive load from the same process.
//!
//! Scenarios, each a warm-up then a measured window:
//! - `health`: `GET /health`, the ceiling of the HTTP stack plus the load generator on this
//!   machine (no database, no auth, no JSON work worth the name).
//! - `get_doctors`: `GET /api/doctors?department_id=..` as the logged-in demo patient.
//! - `book`: `POST /api/appointments`, a fresh `Idempotency-Key` each and a distinct free slot
//!   each. The seeded 14-day window has too few slots for a 10 s run at the goal rate, so the
//!   benchmark adds slots further ahead first (rows in the same `slots` table the seed fills) and
//!   hands each connection its own list of them; all bookings are the demo patient's.
//!
//! Settings (environment): `BENCH_SECONDS` (measured window, default 10), `BENCH_WARMUP_SECONDS`
//! (default 2), `BENCH_CONNECTIONS` (default 64), `BENCH_FEW_CONNECTIONS` (a second doctors run,
//! default 16), `BENCH_BOOK_CONNECTIONS` (default 16),
//! `BENCH_SERVER_THREADS` (default 2), `BENCH_CLIENT_THREADS` (default 1), `BENCH_DB_POOL`
//! (SQLite connections; default: backend-mock's own pool), `BENCH_ONLY` (comma list of
//! `health,doctors,book`; default all).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use lifeline_bench::load::{self, LoadConfig, LoadReport};
use lifeline_bench::server::BackendServer;
use lifeline_bench::{env_or, BenchResult, Report};
use lifeline_types::auth::AuthResponse;
use lifeline_types::hospitals::{Department, Hospital};
use serde_json::json;
use uuid::Uuid;

fn main() -> BenchResult<()> {
    let seconds: u64 = env_or("BENCH_SECONDS", 10)?;
    let warmup: u64 = env_or("BENCH_WARMUP_SECONDS", 2)?;
    let connections: usize = env_or("BENCH_CONNECTIONS", 64)?;
    let few_connections: usize = env_or("BENCH_FEW_CONNECTIONS", 16)?;
    let book_connections: usize = env_or("BENCH_BOOK_CONNECTIONS", 16)?;
    let server_threads: usize = env_or("BENCH_SERVER_THREADS", 2)?;
    let client_threads: usize = env_or("BENCH_CLIENT_THREADS", 1)?;

    // An experiment knob: the SQLite pool size (default: backend-mock's own pool).
    let db_pool: Option<u32> = match std::env::var("BENCH_DB_POOL") {
        Ok(raw) => Some(
            raw.parse()
                .map_err(|_| format!("BENCH_DB_POOL={raw:?} is not a number"))?,
        ),
        Err(_) => None,
    };
    let server = BackendServer::start_with_pool(server_threads, db_pool)?;
    let addr = server.addr();
    eprintln!("[backend] server on {addr}");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_threads)
        .thread_name("load")
        .enable_all()
        .build()?;
    let config = |connections| LoadConfig {
        connections,
        warmup: Duration::from_secs(warmup),
        measure: Duration::from_secs(seconds),
    };

    let mut report = Report::new("backend");
    report
        .metric("backend_connections", connections as f64)
        .metric("backend_book_connections", book_connections as f64)
        .metric("backend_server_threads", server_threads as f64)
        .metric("backend_client_threads", client_threads as f64)
        .metric("backend_db_pool", db_pool.map_or(f64::NAN, f64::from))
        .goal("backend_get_doctors_rps", ">= 20000")
        .goal("backend_get_doctors_p99_ms", "<= 10")
        .goal("backend_book_rps", ">= 2000")
        .note(format!(
            "backend: server ({server_threads} worker threads) and load generator \
             ({client_threads} thread, {connections} keep-alive connections; {book_connections} \
             for bookings) run in one process and share this machine's {} cores; \
             {warmup} s warm-up, {seconds} s measured per scenario",
            std::thread::available_parallelism().map_or(0, usize::from)
        ))
        .note("backend: no tracing subscriber is installed, so request logs cost nothing here");

    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let wanted = |scenario: &str| only.is_empty() || only.split(',').any(|s| s == scenario);
    client.block_on(async {
        if wanted("health") {
            let health = load::run(addr, config(connections), move |_| {
                Some(get("/health", None))
            })
            .await?;
            record(&mut report, "backend_health", &health);
        }

        let token = login_demo_patient(addr).await?;
        let department = first_department(addr, &token).await?;
        let path = format!("/api/doctors?department_id={department}");
        let auth = format!("Bearer {token}");
        if wanted("doctors") {
            let doctors_auth = auth.clone();
            let doctors_path = path.clone();
            let doctors = load::run(addr, config(connections), move |_| {
                Some(get(&doctors_path, Some(&doctors_auth)))
            })
            .await?;
            record(&mut report, "backend_get_doctors", &doctors);
            // The same load with fewer connections: less queueing in the closed loop, so the
            // latency says more about the server than about the queue in front of it.
            let doctors_auth = auth.clone();
            let path = path.clone();
            let few = load::run(addr, config(few_connections), move |_| {
                Some(get(&path, Some(&doctors_auth)))
            })
            .await?;
            record(
                &mut report,
                &format!("backend_get_doctors_c{few_connections}"),
                &few,
            );
        }
        if wanted("book") {
            let plan =
                BookingPlan::prepare(&server, auth, book_connections, seconds + warmup).await?;
            report.metric("backend_book_slots_prepared", plan.total() as f64);
            let bookings =
                load::run(addr, config(book_connections), move |conn| plan.next(conn)).await?;
            record(&mut report, "backend_book", &bookings);
            if bookings.ran_dry {
                report.note(
                    "backend: the booking run used up its prepared slots; \
                     its rate is over the time it ran",
                );
            }
        }
        BenchResult::Ok(())
    })?;
    drop(client);
    drop(server);
    report.write()
}

/// Adds `<prefix>_rps`, `_p50_ms`, `_p99_ms`, `_errors` and logs the first failure.
fn record(report: &mut Report, prefix: &str, run: &LoadReport) {
    eprintln!(
        "[backend] {prefix}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} ok, {} failed",
        run.rps(),
        run.percentile_ms(50.0),
        run.percentile_ms(99.0),
        run.ok,
        run.failed
    );
    eprintln!(
        "[backend] {prefix}: {:.2} cores busy; CPU per request: server {:.1} us, sqlite {:.1} us, \
         load generator {:.1} us",
        run.busy_cores(),
        run.cpu_us_per_request("server"),
        run.cpu_us_per_request("sqlite"),
        run.cpu_us_per_request("client"),
    );
    report.note(format!(
        "{prefix}: this process kept {:.2} of {} cores busy; CPU per request: server {:.1} us, \
         sqlite workers {:.1} us, load generator {:.1} us",
        run.busy_cores(),
        std::thread::available_parallelism().map_or(0, usize::from),
        run.cpu_us_per_request("server"),
        run.cpu_us_per_request("sqlite"),
        run.cpu_us_per_request("client"),
    ));
    if let Some(failure) = &run.first_failure {
        eprintln!("[backend] {prefix}: first failure: {failure}");
    }
    report
        .metric(&format!("{prefix}_rps"), run.rps())
        .metric(&format!("{prefix}_p50_ms"), run.percentile_ms(50.0))
        .metric(&format!("{prefix}_p99_ms"), run.percentile_ms(99.0))
        .metric(&format!("{prefix}_errors"), run.failed as f64)
        .metric(&format!("{prefix}_busy_cores"), run.busy_cores())
        .metric(
            &format!("{prefix}_server_cpu_us_per_req"),
            run.cpu_us_per_request("server"),
        )
        .metric(
            &format!("{prefix}_sqlite_cpu_us_per_req"),
            run.cpu_us_per_request("sqlite"),
        )
        .metric(
            &format!("{prefix}_client_cpu_us_per_req"),
            run.cpu_us_per_request("client"),
        );
}

fn get(path: &str, auth: Option<&str>) -> Request<Full<Bytes>> {
    request(Method::GET, path, auth, None, Bytes::new())
}

fn request(
    method: Method,
    path: &str,
    auth: Option<&str>,
    idempotency_key: Option<Uuid>,
    body: Bytes,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    if let Some(auth) = auth {
        builder = builder.header("authorization", auth);
    }
    if let Some(key) = idempotency_key {
        builder = builder.header("idempotency-key", key.to_string());
    }
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    builder
        .body(Full::new(body))
        .unwrap_or_else(|_| unreachable!("static method, path from this file and valid headers"))
}

/// One request on a fresh connection, for set-up steps; fails on a non-2xx answer.
async fn call(addr: SocketAddr, req: Request<Full<Bytes>>) -> BenchResult<Bytes> {
    let what = format!("{} {}", req.method(), req.uri());
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let response = sender.send_request(req).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("{what}: {status}: {}", String::from_utf8_lossy(&body)).into());
    }
    Ok(body)
}

async fn login_demo_patient(addr: SocketAddr) -> BenchResult<String> {
    let body = json!({
        "email": backend_mock::seed::DEMO_PATIENT_EMAIL,
        "password": backend_mock::seed::DEMO_PATIENT_PASSWORD,
    });
    let res = call(
        addr,
        request(
            Method::POST,
            "/api/auth/login",
            None,
            None,
            serde_json::to_vec(&body)?.into(),
        ),
    )
    .await?;
    Ok(serde_json::from_slice::<AuthResponse>(&res)?.access_token)
}

async fn first_department(addr: SocketAddr, token: &str) -> BenchResult<Uuid> {
    let auth = format!("Bearer {token}");
    let hospitals: Vec<Hospital> =
        serde_json::from_slice(&call(addr, get("/api/hospitals", Some(&auth))).await?)?;
    let hospital = hospitals.first().ok_or("no hospitals seeded")?;
    let departments: Vec<Department> = serde_json::from_slice(
        &call(
            addr,
            get(
                &format!("/api/departments?hospital_id={}", hospital.id),
                Some(&auth),
            ),
        )
        .await?,
    )?;
    Ok(departments.first().ok_or("no departments seeded")?.id)
}

/// Slots for the booking run: connection `c` walks through its own list of free slots, which
/// never overlap in time (so the run stays valid should double bookings ever be refused).
struct BookingPlan {
    auth: String,
    slots: Vec<Vec<Uuid>>,
    cursor: Vec<AtomicUsize>,
}

impl BookingPlan {
    /// Adds enough slots for `seconds` at 3x the goal rate (so running dry means the server
    /// beat the goal by far).
    async fn prepare(
        server: &BackendServer,
        auth: String,
        connections: usize,
        seconds: u64,
    ) -> BenchResult<Self> {
        let per_connection = (6_000 * seconds as usize).div_ceil(connections);
        let db = &server.state().db;
        let doctors = doctor_ids(db).await?;
        if doctors.is_empty() {
            return Err("no doctors seeded".into());
        }
        // Slot k of connection c: doctor c % D at interval k * m + c / D, counted in 30-minute
        // steps from 60 days ahead, past the seeded window. (doctor, start) stays unique and a
        // patient's slots are all at different times.
        let d = doctors.len();
        let m = connections.div_ceil(d);
        let base = time::OffsetDateTime::now_utc().date() + time::Duration::days(60);
        let base = base.midnight().assume_utc();
        let mut slots = vec![Vec::with_capacity(per_connection); connections];
        let mut rows = Vec::with_capacity(per_connection * connections);
        for (c, list) in slots.iter_mut().enumerate() {
            for k in 0..per_connection {
                let index = (k * m + c / d) as i64;
                let starts = base + time::Duration::minutes(30 * index);
                let id = Uuid::new_v4();
                list.push(id);
                rows.push((id, doctors[c % d].clone(), starts));
            }
        }
        insert_slots(db, rows).await?;
        Ok(Self {
            auth,
            cursor: (0..connections).map(|_| AtomicUsize::new(0)).collect(),
            slots,
        })
    }

    fn total(&self) -> usize {
        self.slots.iter().map(Vec::len).sum()
    }

    fn next(&self, conn: usize) -> Option<Request<Full<Bytes>>> {
        let k = self.cursor[conn].fetch_add(1, Ordering::Relaxed);
        let slot = self.slots[conn].get(k)?;
        let body = Bytes::from(format!(r#"{{"slot_id":"{slot}"}}"#));
        Some(request(
            Method::POST,
            "/api/appointments",
            Some(&self.auth),
            Some(Uuid::new_v4()),
            body,
        ))
    }
}

async fn doctor_ids(db: &sqlx::SqlitePool) -> BenchResult<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT id FROM doctors ORDER BY id")
        .fetch_all(db)
        .await?)
}

/// Adds 30-minute slots in the `slots` table the seed fills, in one transaction.
async fn insert_slots(
    db: &sqlx::SqlitePool,
    rows: Vec<(Uuid, String, time::OffsetDateTime)>,
) -> BenchResult<()> {
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(1000) {
        let mut insert: sqlx::QueryBuilder<sqlx::Sqlite> =
            sqlx::QueryBuilder::new("INSERT INTO slots (id, doctor_id, starts_at, ends_at) ");
        insert.push_values(chunk, |mut b, (id, doctor, starts)| {
            b.push_bind(id.to_string())
                .push_bind(doctor.clone())
                .push_bind(backend_mock::db::ts(*starts))
                .push_bind(backend_mock::db::ts(*starts + time::Duration::minutes(30)));
        });
        insert.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
