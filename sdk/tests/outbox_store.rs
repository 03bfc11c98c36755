//! Native tests of the offline storage layers: the stores (memory and a real redb file), the
//! per-user read cache, and the outbox's persistence, ordering, recovery and status rules.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use lifeline_sdk::cache::{Cache, CacheClass, CacheConfig, CachedEntry, Retention, Validators};
use lifeline_sdk::durability::{self, WipeCheck};
use lifeline_sdk::outbox::{
    Delivery, EntryStatus, EntryUpdate, Intent, Outbox, OutboxConfig, OutboxEntry, OutboxError,
};
use lifeline_sdk::policy::{Backoff, RandomSource};
use lifeline_sdk::storage::{Store, StoreKind, Table};
use lifeline_sdk::types::appointments::{BookAppointment, Cancel, Reschedule};
use serde_json::json;
use uuid::Uuid;

fn book(slot: u128) -> Intent {
    Intent::BookAppointment(BookAppointment {
        slot_id: Uuid::from_u128(slot),
        reason: None,
    })
}

fn cancel(appointment: u128) -> Intent {
    Intent::CancelAppointment {
        id: Uuid::from_u128(appointment),
        body: Cancel::default(),
    }
}

fn reschedule(appointment: u128, slot: u128) -> Intent {
    Intent::RescheduleAppointment {
        id: Uuid::from_u128(appointment),
        body: Reschedule {
            slot_id: Uuid::from_u128(slot),
        },
    }
}

/// Always draws the top of the jitter range, so backoff delays equal their ceilings.
struct Max;
impl RandomSource for Max {
    fn next_u64(&mut self) -> u64 {
        u64::MAX
    }
}

fn test_config() -> OutboxConfig {
    OutboxConfig {
        backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(60)).unwrap(),
        ..OutboxConfig::default()
    }
}

async fn store_round_trip(store: &Store) {
    assert_eq!(store.get(Table::CACHE, "missing").await.unwrap(), None);
    store.put(Table::CACHE, "u1\u{1f}b", b"two").await.unwrap();
    store.put(Table::CACHE, "u1\u{1f}a", b"one").await.unwrap();
    store
        .put(Table::CACHE, "u2\u{1f}a", b"other")
        .await
        .unwrap();
    store.put(Table::META, "u1\u{1f}a", b"meta").await.unwrap();
    store
        .put(Table::CACHE, "u1\u{1f}a", b"one again")
        .await
        .unwrap();
    assert_eq!(
        store.get(Table::CACHE, "u1\u{1f}a").await.unwrap(),
        Some(b"one again".to_vec())
    );
    assert_eq!(
        store.scan(Table::CACHE, "u1\u{1f}").await.unwrap(),
        vec![
            ("u1\u{1f}a".to_owned(), b"one again".to_vec()),
            ("u1\u{1f}b".to_owned(), b"two".to_vec()),
        ]
    );
    assert_eq!(store.scan(Table::CACHE, "").await.unwrap().len(), 3);
    store.delete(Table::CACHE, "u1\u{1f}b").await.unwrap();
    store.delete(Table::CACHE, "never there").await.unwrap();
    assert_eq!(store.scan(Table::CACHE, "u1").await.unwrap().len(), 1);
    store.clear(Table::CACHE).await.unwrap();
    assert!(store.scan(Table::CACHE, "").await.unwrap().is_empty());
    // Other tables are untouched by a clear.
    assert_eq!(
        store.get(Table::META, "u1\u{1f}a").await.unwrap(),
        Some(b"meta".to_vec())
    );
    // Reading a table never written is empty, not an error.
    assert!(store
        .scan(Table::new("never-written"), "")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn memory_store_round_trips() {
    let store = Store::memory();
    assert_eq!(store.kind(), StoreKind::Memory);
    store_round_trip(&store).await;
}

#[tokio::test]
async fn file_store_round_trips_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lifeline.redb");
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.kind(), StoreKind::File);
        store_round_trip(&store).await;
        store.put(Table::OUTBOX, "k", b"kept").await.unwrap();
    }
    let reopened = Store::open(&path).unwrap();
    assert_eq!(
        reopened.get(Table::OUTBOX, "k").await.unwrap(),
        Some(b"kept".to_vec())
    );
    assert_eq!(
        reopened.get(Table::META, "u1\u{1f}a").await.unwrap(),
        Some(b"meta".to_vec())
    );
}

#[test]
fn file_store_works_without_a_tokio_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("plain.redb")).unwrap();
    futures::executor::block_on(store_round_trip(&store));
}

#[test]
fn a_second_open_of_the_same_file_is_refused_as_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.redb");
    let _first = Store::open(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(err.is_unavailable(), "{err}");
}

#[tokio::test]
async fn cache_partitions_by_user_and_clears_one_user() {
    let cache = Cache::new(Store::memory(), CacheConfig::default());
    let key = "GET /api/appointments";
    cache
        .put(
            "alice",
            CacheClass::General,
            key,
            &CachedEntry::new(b"alice's".to_vec(), 1_000),
        )
        .await
        .unwrap();
    cache
        .put(
            "bob",
            CacheClass::General,
            key,
            &CachedEntry::new(b"bob's".to_vec(), 1_000),
        )
        .await
        .unwrap();
    let alice = cache
        .get("alice", CacheClass::General, key, 2_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alice.body, b"alice's");
    assert_eq!(alice.age(4_500), Duration::from_millis(3_500));
    assert_eq!(cache.clear_user("alice").await.unwrap(), 1);
    assert_eq!(
        cache
            .get("alice", CacheClass::General, key, 2_000)
            .await
            .unwrap(),
        None
    );
    let bob = cache
        .get("bob", CacheClass::General, key, 2_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.body, b"bob's");
}

#[tokio::test]
async fn cache_drops_entries_past_max_age_and_touch_renews_them() {
    let config = CacheConfig {
        max_age: Duration::from_secs(60),
        ..CacheConfig::default()
    };
    let cache = Cache::new(Store::memory(), config);
    let entry = CachedEntry {
        body: b"{}".to_vec(),
        etag: Some("\"v1\"".into()),
        last_modified: None,
        stored_at_ms: 0,
    };
    cache
        .put("u", CacheClass::General, "a", &entry)
        .await
        .unwrap();
    cache
        .put("u", CacheClass::General, "b", &entry)
        .await
        .unwrap();
    // A 304 at 50 s renews "a" and takes the new validator.
    let renewed = cache
        .touch(
            "u",
            CacheClass::General,
            "a",
            Validators {
                etag: Some("\"v2\"".into()),
                last_modified: None,
            },
            50_000,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.stored_at_ms, 50_000);
    assert_eq!(renewed.etag.as_deref(), Some("\"v2\""));
    // At 70 s "b" is past max age, "a" (renewed at 50 s) is not.
    assert!(cache
        .get("u", CacheClass::General, "b", 70_000)
        .await
        .unwrap()
        .is_none());
    assert!(cache
        .get("u", CacheClass::General, "a", 70_000)
        .await
        .unwrap()
        .is_some());
    assert_eq!(cache.purge_expired(200_000).await.unwrap(), 1);
}

#[tokio::test]
async fn cache_evicts_the_oldest_beyond_its_bounds() {
    let config = CacheConfig {
        max_entries: 3,
        max_bytes: 1_000,
        ..CacheConfig::default()
    };
    let cache = Cache::new(Store::memory(), config);
    for i in 0..5u64 {
        let entry = CachedEntry::new(vec![b'x'; 10], 1_000 + i);
        cache
            .put("u", CacheClass::General, &format!("k{i}"), &entry)
            .await
            .unwrap();
    }
    let mut kept = Vec::new();
    for i in 0..5u64 {
        if cache
            .get("u", CacheClass::General, &format!("k{i}"), 2_000)
            .await
            .unwrap()
            .is_some()
        {
            kept.push(i);
        }
    }
    assert_eq!(kept, vec![2, 3, 4]);
    // The byte bound evicts too: one 900-byte body pushes out all but one small entry.
    cache
        .put(
            "u",
            CacheClass::General,
            "big",
            &CachedEntry::new(vec![0; 900], 3_000),
        )
        .await
        .unwrap();
    assert!(cache
        .get("u", CacheClass::General, "big", 3_000)
        .await
        .unwrap()
        .is_some());
    assert!(cache
        .get("u", CacheClass::General, "k2", 3_000)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn cache_bounds_count_entries_written_by_another_instance() {
    // Another tab (another Cache over the same store) filled it first.
    let store = Store::memory();
    let config = CacheConfig {
        max_entries: 3,
        ..CacheConfig::default()
    };
    let other_tab = Cache::new(store.clone(), config.clone());
    for i in 0..3u64 {
        let entry = CachedEntry::new(b"x".to_vec(), 100 + i);
        other_tab
            .put("u", CacheClass::General, &format!("old{i}"), &entry)
            .await
            .unwrap();
    }
    let this_tab = Cache::new(store.clone(), config);
    this_tab
        .put(
            "u",
            CacheClass::General,
            "new",
            &CachedEntry::new(b"y".to_vec(), 200),
        )
        .await
        .unwrap();
    let keys: Vec<String> = store
        .scan(Table::CACHE, "")
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.rsplit('\u{1f}').next().unwrap().to_owned())
        .collect();
    assert_eq!(keys, vec!["new", "old1", "old2"]);
}

#[tokio::test]
async fn medical_records_stay_in_memory_unless_the_app_opts_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("c.redb")).unwrap();
    let cache = Cache::new(store.clone(), CacheConfig::default());
    let path = "/api/medical-records";
    let class = CacheClass::for_path(path);
    assert_eq!(class, CacheClass::Medical);
    cache
        .put("u", class, path, &CachedEntry::new(b"secret".to_vec(), 1))
        .await
        .unwrap();
    assert!(cache.get("u", class, path, 2).await.unwrap().is_some());
    assert!(
        store.scan(Table::CACHE, "").await.unwrap().is_empty(),
        "medical data reached the disk"
    );

    let opted_in = Cache::new(
        store.clone(),
        CacheConfig {
            medical: Retention::Persistent,
            ..CacheConfig::default()
        },
    );
    opted_in
        .put("u", class, path, &CachedEntry::new(b"kept".to_vec(), 1))
        .await
        .unwrap();
    assert_eq!(store.scan(Table::CACHE, "").await.unwrap().len(), 1);
}

#[tokio::test]
async fn enqueue_persists_before_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.redb");
    let queued = {
        let outbox = Outbox::new(Store::open(&path).unwrap(), OutboxConfig::default());
        outbox.enqueue("alice", book(1), 10).await.unwrap()
        // Everything is dropped here, as in a crash right after the call.
    };
    let reopened = Outbox::new(Store::open(&path).unwrap(), OutboxConfig::default());
    let entries = reopened.entries("alice").await.unwrap();
    assert_eq!(entries, vec![queued.clone()]);
    assert_eq!(entries[0].status, EntryStatus::Queued);
    assert_eq!(entries[0].intent.request().path, "/api/appointments");
    assert!(!entries[0].idempotency_key.is_empty());
    // A later enqueue after the restart sorts after the earlier one.
    let later = reopened.enqueue("alice", cancel(9), 5).await.unwrap();
    assert!(later.seq > queued.seq);
}

type Log = Arc<Mutex<Vec<(String, String)>>>;

/// A sender that records (entry id, idempotency key) and answers with `answer`.
fn recording(
    log: &Log,
    answer: Delivery,
) -> impl Fn(OutboxEntry) -> futures::future::Ready<Delivery> {
    let log = Arc::clone(log);
    move |entry: OutboxEntry| {
        log.lock()
            .unwrap()
            .push((entry.id.clone(), entry.idempotency_key.clone()));
        futures::future::ready(answer.clone())
    }
}

#[tokio::test]
async fn entries_of_one_resource_replay_in_order_and_wait_behind_a_pending_one() {
    let outbox = Outbox::with_random_source(Store::memory(), test_config(), Max);
    let first = outbox.enqueue("u", cancel(7), 1).await.unwrap();
    let second = outbox.enqueue("u", reschedule(7, 8), 2).await.unwrap();
    let other = outbox.enqueue("u", book(3), 3).await.unwrap();

    // The first fails transiently: the second (same appointment) must not overtake it, while
    // the unrelated booking goes through.
    let log: Log = Arc::default();
    let answers = Arc::new(Mutex::new(vec![
        Delivery::Confirmed(json!({"id": "b"})),
        Delivery::RetryLater {
            retry_after: None,
            reason: "503".into(),
        },
    ]));
    let sender = {
        let log = Arc::clone(&log);
        let answers = Arc::clone(&answers);
        move |entry: OutboxEntry| {
            log.lock()
                .unwrap()
                .push((entry.id.clone(), entry.idempotency_key.clone()));
            let answer = answers.lock().unwrap().pop().unwrap();
            futures::future::ready(answer)
        }
    };
    let report = outbox.drain(&sender, 10).await.unwrap().unwrap();
    assert_eq!(report.confirmed, 1);
    assert_eq!(report.pending, 2);
    let sent: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(sent, vec![first.id.clone(), other.id.clone()]);

    // Later both go, in order.
    log.lock().unwrap().clear();
    let report = outbox
        .drain(recording(&log, Delivery::Confirmed(json!({}))), 10 + 60_000)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.confirmed, 2);
    let sent: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(sent, vec![first.id, second.id]);
}

#[tokio::test]
async fn retry_later_keeps_the_entry_queued_with_growing_backoff_and_retry_after() {
    let outbox = Outbox::with_random_source(Store::memory(), test_config(), Max);
    let entry = outbox.enqueue("u", book(1), 0).await.unwrap();
    let log: Log = Arc::default();
    let flaky = recording(
        &log,
        Delivery::RetryLater {
            retry_after: None,
            reason: "server answered 503".into(),
        },
    );
    let mut now = 0;
    let mut delays = Vec::new();
    for _ in 0..4 {
        let report = outbox.drain(&flaky, now).await.unwrap().unwrap();
        assert_eq!((report.attempts, report.pending), (1, 1));
        let stored = outbox.entry(&entry.id).await.unwrap().unwrap();
        assert_eq!(stored.status, EntryStatus::Queued);
        assert_eq!(stored.last_error.as_deref(), Some("server answered 503"));
        delays.push(stored.next_attempt_at_ms - now);
        // Not due yet: a drain right now sends nothing.
        let idle = outbox.drain(&flaky, now + 1).await.unwrap().unwrap();
        assert_eq!((idle.attempts, idle.pending), (0, 1));
        now = stored.next_attempt_at_ms;
    }
    assert_eq!(delays, vec![1_000, 2_000, 4_000, 8_000]);
    // The same idempotency key on every attempt.
    let keys: Vec<String> = log.lock().unwrap().iter().map(|(_, k)| k.clone()).collect();
    assert!(keys.iter().all(|k| *k == entry.idempotency_key), "{keys:?}");

    // Retry-After is a floor above the backoff.
    let slow = recording(
        &log,
        Delivery::RetryLater {
            retry_after: Some(Duration::from_secs(120)),
            reason: "429".into(),
        },
    );
    outbox.drain(&slow, now).await.unwrap().unwrap();
    let stored = outbox.entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(stored.next_attempt_at_ms - now, 120_000);
    assert_eq!(stored.attempts, 5);
}

#[tokio::test]
async fn rejected_and_conflicting_entries_are_kept_until_dismissed() {
    let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
    let rejected = outbox.enqueue("u", book(1), 0).await.unwrap();
    let log: Log = Arc::default();
    let refuse = recording(
        &log,
        Delivery::Rejected {
            status: 422,
            code: "slot_in_past".into(),
            message: "the slot is in the past".into(),
        },
    );
    let report = outbox.drain(&refuse, 0).await.unwrap().unwrap();
    assert_eq!(report.rejected, 1);
    let conflict = outbox.enqueue("u", book(2), 1).await.unwrap();
    let taken = recording(
        &log,
        Delivery::Conflict {
            details: json!({"alternatives": []}),
        },
    );
    assert_eq!(outbox.drain(&taken, 1).await.unwrap().unwrap().conflicts, 1);

    // Further drains leave them alone: final entries are never resent.
    log.lock().unwrap().clear();
    outbox.drain(&taken, 100_000).await.unwrap().unwrap();
    assert!(log.lock().unwrap().is_empty());

    let entries = outbox.entries("u").await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].status,
        EntryStatus::Rejected {
            status: 422,
            code: "slot_in_past".into(),
            message: "the slot is in the past".into(),
        }
    );
    assert!(entries[1].status.needs_attention());
    assert_eq!(outbox.unsynced_count("u").await.unwrap(), 0);

    outbox.dismiss(&rejected.id).await.unwrap();
    assert_eq!(outbox.entries("u").await.unwrap().len(), 1);
    assert_eq!(outbox.entries("u").await.unwrap()[0].id, conflict.id);
}

#[tokio::test]
async fn pending_entries_cannot_be_dismissed_and_clear_user_reports_losses() {
    let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
    let pending = outbox.enqueue("alice", book(1), 0).await.unwrap();
    outbox.enqueue("alice", book(2), 0).await.unwrap();
    outbox.enqueue("bob", book(3), 0).await.unwrap();
    assert_eq!(
        outbox.dismiss(&pending.id).await.unwrap_err(),
        OutboxError::NotFinal(pending.id.clone())
    );
    assert_eq!(outbox.unsynced_count("alice").await.unwrap(), 2);
    let cleared = outbox.clear_user("alice").await.unwrap();
    assert_eq!((cleared.removed, cleared.unsynced), (2, 2));
    assert!(outbox.entries("alice").await.unwrap().is_empty());
    assert_eq!(outbox.entries("bob").await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_user_without_a_session_keeps_every_entry_queued() {
    let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
    let a1 = outbox.enqueue("alice", book(1), 0).await.unwrap();
    outbox.enqueue("alice", book(2), 0).await.unwrap();
    outbox.enqueue("bob", book(3), 0).await.unwrap();
    let log: Log = Arc::default();
    let sender = {
        let log = Arc::clone(&log);
        move |entry: OutboxEntry| {
            log.lock()
                .unwrap()
                .push((entry.user_id.clone(), entry.id.clone()));
            futures::future::ready(if entry.user_id == "alice" {
                Delivery::Unauthenticated
            } else {
                Delivery::Confirmed(json!({}))
            })
        }
    };
    let report = outbox.drain(&sender, 0).await.unwrap().unwrap();
    assert_eq!(
        (report.confirmed, report.pending, report.attempts),
        (1, 2, 2)
    );
    // Alice's second entry was not even tried once her session was known to be gone.
    let users: Vec<String> = log.lock().unwrap().iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(users, vec!["alice", "bob"]);
    let stored = outbox.entry(&a1.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.attempts), (EntryStatus::Queued, 0));
}

#[tokio::test]
async fn an_entry_cut_off_mid_send_is_resent_with_the_same_key_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let entry = {
        let outbox = Outbox::new(Store::open(&path).unwrap(), OutboxConfig::default());
        let entry = outbox.enqueue("u", book(1), 0).await.unwrap();
        // The sender never answers: the app dies mid-request.
        let hung = |_entry: OutboxEntry| futures::future::pending::<Delivery>();
        let cut = tokio::time::timeout(Duration::from_millis(200), outbox.drain(hung, 0)).await;
        assert!(cut.is_err(), "the drain should still be waiting");
        entry
    };
    let outbox = Outbox::new(Store::open(&path).unwrap(), OutboxConfig::default());
    let stored = outbox.entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(
        stored.status,
        EntryStatus::Sending,
        "sending must be stored before the send"
    );
    let log: Log = Arc::default();
    let report = outbox
        .drain(recording(&log, Delivery::Confirmed(json!({"ok": true}))), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.confirmed, 1);
    assert_eq!(log.lock().unwrap()[0].1, entry.idempotency_key);
    let done = outbox.entry(&entry.id).await.unwrap().unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(
        done.status,
        EntryStatus::Confirmed {
            response: json!({"ok": true})
        }
    );
}

#[tokio::test]
async fn only_one_drain_runs_at_a_time() {
    let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
    outbox.enqueue("u", book(1), 0).await.unwrap();
    let (release_tx, release_rx) = futures::channel::oneshot::channel::<()>();
    let release_rx = futures::future::Shared::clone(&futures::FutureExt::shared(release_rx));
    let slow = move |_entry: OutboxEntry| {
        let release = release_rx.clone();
        async move {
            let _ = release.await;
            Delivery::Confirmed(json!({}))
        }
    };
    let first = tokio::spawn({
        let outbox = outbox.clone();
        async move { outbox.drain(slow, 0).await }
    });
    // Wait until the first drain is mid-send.
    let mut updates = outbox.subscribe();
    while let Some(update) = updates.next().await {
        if matches!(update, EntryUpdate::Changed(ref e) if e.status == EntryStatus::Sending) {
            break;
        }
    }
    let second = outbox
        .drain(
            |_e: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({}))),
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        second, None,
        "a second drain must skip while the first runs"
    );
    release_tx.send(()).unwrap();
    let first = first.await.unwrap().unwrap().unwrap();
    assert_eq!(first.confirmed, 1);
}

#[tokio::test]
async fn wait_resolves_when_the_entry_is_final_and_subscribers_see_each_step() {
    let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
    let entry = outbox.enqueue("u", book(1), 0).await.unwrap();
    let mut updates = outbox.subscribe();
    let waiter = tokio::spawn({
        let outbox = outbox.clone();
        let id = entry.id.clone();
        async move { outbox.wait(&id).await }
    });
    tokio::task::yield_now().await;
    outbox
        .drain(
            |_e: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({"id": 1}))),
            0,
        )
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        status,
        EntryStatus::Confirmed {
            response: json!({"id": 1})
        }
    );
    let mut seen = Vec::new();
    while let Ok(Some(EntryUpdate::Changed(e))) =
        tokio::time::timeout(Duration::from_millis(50), updates.next()).await
    {
        seen.push(e.status.clone());
    }
    assert_eq!(seen[0], EntryStatus::Sending);
    assert!(seen.last().unwrap().is_final());
    // Waiting on a finished entry answers at once; on a missing one, an error.
    assert!(outbox.wait(&entry.id).await.unwrap().is_final());
    assert!(matches!(
        outbox.wait("nope").await,
        Err(OutboxError::NotFound(_))
    ));
}

#[tokio::test]
async fn native_wipe_detection_tells_first_run_from_later_ones() {
    let store = Store::memory();
    assert_eq!(
        durability::detect_wipe(&store, "db").await.unwrap(),
        WipeCheck::FirstRun
    );
    assert_eq!(
        durability::detect_wipe(&store, "db").await.unwrap(),
        WipeCheck::Intact
    );
    assert!(durability::request_persistence().await);
    assert_eq!(durability::estimate().await, None);
}

/// Timing of the file store under the outbox; run on demand:
/// `cargo test -p lifeline-sdk --test outbox_store -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "measurement, not a check"]
async fn measure_file_outbox_enqueue_and_drain() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(
        Store::open(dir.path().join("m.redb")).unwrap(),
        OutboxConfig::default(),
    );
    let n = 200;
    let started = std::time::Instant::now();
    for i in 0..n {
        outbox.enqueue("u", book(i), 0).await.unwrap();
    }
    let enqueue = started.elapsed();
    let started = std::time::Instant::now();
    let report = outbox
        .drain(
            |_e: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({}))),
            0,
        )
        .await
        .unwrap()
        .unwrap();
    let drain = started.elapsed();
    assert_eq!(report.confirmed, n as usize);
    eprintln!(
        "redb outbox: {n} durable enqueues in {enqueue:?} ({:?} each); drain of {n} in {drain:?} ({:?} per entry)",
        enqueue / n as u32,
        drain / n as u32
    );
}
