//! Outbox sync benchmark: 1,000 bookings queued while offline in the SDK's real outbox on its
//! persistent native store (a redb file in a fresh temporary directory), then the time from
//! reconnecting until every one is confirmed by backend-mock (in process, release build,
//! 127.0.0.1:0).
//!
//! "Offline" is an outage of the whole API: a chaos rule answers 503 on `/api` while the
//! bookings are queued (queueing never touches the network, so nothing is sent). "Reconnect"
//! lifts the rule and starts the clock; the client drains (`sync_now`) until no entry is
//! pending.
//!
//! Each booking takes its own free slot, added 60 days ahead past the seeded window, one
//! doctor and 30-minute step each (as the backend benchmark does), all for the demo patient.
//!
//! Reported: `outbox_sync_1000_ms` (reconnect → all confirmed), `outbox_queue_1000_ms` (the
//! queueing itself), `outbox_duplicates` (slots booked more than once, plus appointments
//! beyond one per confirmed entry: an idempotency replay applied as a second effect) and
//! `outbox_lost` (entries not confirmed, plus queued slots without an appointment).
//!
//! Settings (environment): `BENCH_OUTBOX_ENTRIES` (default 1000), `BENCH_SERVER_THREADS`
//! (default 2).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lifeline_bench::server::BackendServer;
use lifeline_bench::{env_or, BenchResult, Report};
use lifeline_sdk::outbox::{EntryStatus, Intent};
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::BookAppointment;
use lifeline_sdk::Client;
use serde_json::json;
use uuid::Uuid;

fn main() -> BenchResult<()> {
    let entries: usize = env_or("BENCH_OUTBOX_ENTRIES", 1000)?;
    let server_threads: usize = env_or("BENCH_SERVER_THREADS", 2)?;
    let server = BackendServer::start(server_threads)?;
    let url = format!("http://{}", server.addr());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("client")
        .enable_all()
        .build()?;

    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "lifeline-outbox-bench-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir)?;
    let result = runtime.block_on(run(&server, &url, &dir, entries));
    let _ = std::fs::remove_dir_all(&dir);
    let run = result?;

    let mut report = Report::new("outbox_sync");
    report
        .metric("outbox_sync_1000_ms", run.sync.as_secs_f64() * 1000.0)
        .metric("outbox_queue_1000_ms", run.queue.as_secs_f64() * 1000.0)
        .metric("outbox_duplicates", run.duplicates as f64)
        .metric("outbox_lost", run.lost as f64)
        .metric("outbox_sync_drains", run.drains as f64)
        .goal("outbox_sync_1000_ms", "<= 3000")
        .goal("outbox_duplicates", "<= 0")
        .goal("outbox_lost", "<= 0")
        .note(format!(
            "outbox_sync: {entries} bookings queued offline in the SDK outbox on a redb file \
             (durable writes), then a reconnect (chaos outage on /api lifted) and drains until \
             all are confirmed by backend-mock in the same process ({server_threads} server \
             threads, 1 client thread); {} drains",
            run.drains
        ));
    report.write()?;
    eprintln!(
        "[outbox_sync] queue {:.0} ms, sync {:.0} ms, duplicates {}, lost {}",
        run.queue.as_secs_f64() * 1000.0,
        run.sync.as_secs_f64() * 1000.0,
        run.duplicates,
        run.lost
    );
    Ok(())
}

struct Run {
    queue: Duration,
    sync: Duration,
    drains: usize,
    duplicates: usize,
    lost: usize,
}

async fn run(
    server: &BackendServer,
    url: &str,
    dir: &std::path::Path,
    entries: usize,
) -> BenchResult<Run> {
    let db = &server.state().db;
    let slots = add_slots(db, entries).await?;
    let store = Store::open(dir.join("outbox.redb"))?;
    let client = Client::builder().base_url(url).store(store).build()?;
    client
        .auth()
        .login(
            backend_mock::seed::DEMO_PATIENT_EMAIL,
            backend_mock::seed::DEMO_PATIENT_PASSWORD,
        )
        .await?;

    // The outage: the whole API is down while the bookings are queued.
    let http = reqwest::Client::new();
    let chaos = |rules: serde_json::Value| {
        http.put(format!("{url}/__chaos"))
            .json(&json!({"seed": 1, "rules": rules}))
            .send()
    };
    let resp = chaos(json!([{"prefix": "/api", "status": 503, "error_rate": 1.0}])).await?;
    if !resp.status().is_success() {
        return Err(format!("chaos rule refused: {}", resp.text().await?).into());
    }

    let started = Instant::now();
    let mut ids = Vec::with_capacity(entries);
    for slot in &slots {
        let entry = client
            .queue(Intent::BookAppointment(BookAppointment {
                slot_id: *slot,
                reason: None,
            }))
            .await?;
        ids.push(entry.id);
    }
    let queue = started.elapsed();

    // Reconnect.
    let resp = http.delete(format!("{url}/__chaos")).send().await?;
    if !resp.status().is_success() {
        return Err("chaos rules could not be lifted".into());
    }
    let started = Instant::now();
    let mut drains = 0;
    let deadline = started + Duration::from_secs(60);
    loop {
        let report = client.sync_now().await?;
        drains += 1;
        if report.is_some_and(|r| r.pending == 0) {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("[outbox_sync] gave up after 60 s with entries still pending");
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sync = started.elapsed();

    let ids: HashSet<String> = ids.into_iter().collect();
    let all = client.outbox().all_entries().await?;
    let confirmed = all
        .iter()
        .filter(|e| ids.contains(&e.id) && matches!(e.status, EntryStatus::Confirmed { .. }))
        .count();
    let booked: Vec<(String, i64)> = sqlx::query_as(
        "SELECT slot_id, COUNT(*) FROM appointments WHERE slot_id IN \
         (SELECT id FROM slots WHERE starts_at >= ?) GROUP BY slot_id",
    )
    .bind(backend_mock::db::ts(slots_base()))
    .fetch_all(db)
    .await?;
    let ours: HashSet<String> = slots.iter().map(Uuid::to_string).collect();
    let booked: Vec<_> = booked
        .into_iter()
        .filter(|(s, _)| ours.contains(s))
        .collect();
    let appointments: i64 = booked.iter().map(|(_, n)| n).sum();
    let double_booked = booked.iter().filter(|(_, n)| *n > 1).count();
    let extra_effects = usize::try_from(appointments)
        .unwrap_or(0)
        .saturating_sub(confirmed);
    let missing_in_db = ours.len() - booked.len();
    Ok(Run {
        queue,
        sync,
        drains,
        duplicates: double_booked.max(extra_effects),
        lost: (entries - confirmed) + missing_in_db,
    })
}

/// Where the benchmark's slots start: 60 days ahead, past the seeded window.
fn slots_base() -> time::OffsetDateTime {
    let day = time::OffsetDateTime::now_utc().date() + time::Duration::days(60);
    day.midnight().assume_utc()
}

/// Adds `count` free 30-minute slots, each at its own time (a patient cannot hold two
/// appointments at once), spread over the seeded doctors.
async fn add_slots(db: &sqlx::SqlitePool, count: usize) -> BenchResult<Vec<Uuid>> {
    let doctors: Vec<String> = sqlx::query_scalar("SELECT id FROM doctors ORDER BY id")
        .fetch_all(db)
        .await?;
    if doctors.is_empty() {
        return Err("no doctors seeded".into());
    }
    let base = slots_base();
    let rows: Vec<(Uuid, String, time::OffsetDateTime)> = (0..count)
        .map(|i| {
            let starts = base + time::Duration::minutes(30 * i as i64);
            (Uuid::new_v4(), doctors[i % doctors.len()].clone(), starts)
        })
        .collect();
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(500) {
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
    Ok(rows.into_iter().map(|(id, _, _)| id).collect())
}
