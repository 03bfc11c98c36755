//! Browser tests of the offline storage layers, in headless Chromium: IndexedDB stores, the
//! cache and the outbox across a simulated reload, the Web Lock that keeps drains exclusive
//! across tabs, durability calls and drain triggers.
//!
//! Run with:
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p lifeline-sdk --target wasm32-unknown-unknown --test wasm_storage`
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, StreamExt};
use lifeline_sdk::cache::{Cache, CacheClass, CacheConfig, CachedEntry};
use lifeline_sdk::durability::{self, WipeCheck};
use lifeline_sdk::outbox::triggers::{self, Trigger, TriggerConfig};
use lifeline_sdk::outbox::{
    lock, Delivery, EntryStatus, EntryUpdate, Intent, Outbox, OutboxConfig, OutboxEntry,
};
use lifeline_sdk::storage::{Store, StoreError, StoreKind, Table};
use lifeline_sdk::types::appointments::BookAppointment;
use serde_json::json;
use uuid::Uuid;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::new_v4())
}

fn book(slot: u128) -> Intent {
    Intent::BookAppointment(BookAppointment {
        slot_id: Uuid::from_u128(slot),
        reason: None,
    })
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        let set: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
            .unwrap()
            .into();
        set.call2(&global, &resolve, &JsValue::from(ms)).unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn indexed_db_store_round_trips_and_survives_reopening() {
    let name = unique("store");
    {
        let store = Store::indexed_db(&name).await.unwrap();
        assert_eq!(store.kind(), StoreKind::IndexedDb);
        store.put(Table::CACHE, "u1\u{1f}b", b"two").await.unwrap();
        store.put(Table::CACHE, "u1\u{1f}a", b"one").await.unwrap();
        store
            .put(Table::CACHE, "u2\u{1f}a", b"other")
            .await
            .unwrap();
        store.put(Table::OUTBOX, "k", &[0, 255, 7]).await.unwrap();
        assert_eq!(
            store.scan(Table::CACHE, "u1\u{1f}").await.unwrap(),
            vec![
                ("u1\u{1f}a".to_owned(), b"one".to_vec()),
                ("u1\u{1f}b".to_owned(), b"two".to_vec()),
            ]
        );
        store.delete(Table::CACHE, "u1\u{1f}b").await.unwrap();
        assert_eq!(store.get(Table::CACHE, "u1\u{1f}b").await.unwrap(), None);
        assert_eq!(
            store.get(Table::new("not-created"), "x").await,
            Err(StoreError::UnknownTable("not-created"))
        );
    }
    // A reload: everything dropped, the database opened again by name.
    let store = Store::indexed_db(&name).await.unwrap();
    assert_eq!(
        store.get(Table::OUTBOX, "k").await.unwrap(),
        Some(vec![0, 255, 7])
    );
    assert_eq!(store.scan(Table::CACHE, "").await.unwrap().len(), 2);
    store.clear(Table::CACHE).await.unwrap();
    assert!(store.scan(Table::CACHE, "").await.unwrap().is_empty());
    assert_eq!(store.scan(Table::OUTBOX, "").await.unwrap().len(), 1);
}

#[wasm_bindgen_test]
async fn a_store_opened_with_more_tables_upgrades_the_database() {
    let name = unique("upgrade");
    let extra = Table::new("extra");
    {
        let store = Store::indexed_db_with_tables(&name, &[Table::META])
            .await
            .unwrap();
        store.put(Table::META, "kept", b"1").await.unwrap();
    }
    let store = Store::indexed_db_with_tables(&name, &[Table::META, extra])
        .await
        .unwrap();
    store.put(extra, "new", b"2").await.unwrap();
    assert_eq!(
        store.get(Table::META, "kept").await.unwrap(),
        Some(b"1".to_vec())
    );
}

#[wasm_bindgen_test]
async fn cached_data_survives_a_reload_and_reports_its_age() {
    let name = unique("cache");
    let key = "GET /api/appointments";
    {
        let cache = Cache::new(
            Store::indexed_db(&name).await.unwrap(),
            CacheConfig::default(),
        );
        let entry = CachedEntry {
            body: br#"[{"id":1}]"#.to_vec(),
            etag: Some("\"v1\"".into()),
            last_modified: None,
            stored_at_ms: 1_000_000,
        };
        cache
            .put("alice", CacheClass::General, key, &entry)
            .await
            .unwrap();
        cache
            .put(
                "alice",
                CacheClass::Medical,
                "/api/medical-records",
                &CachedEntry::new(b"secret".to_vec(), 1_000_000),
            )
            .await
            .unwrap();
    }
    let cache = Cache::new(
        Store::indexed_db(&name).await.unwrap(),
        CacheConfig::default(),
    );
    // Two hours later, offline: the stale copy is served with its age.
    let now = 1_000_000 + 2 * 3600 * 1000;
    let stale = cache
        .get("alice", CacheClass::General, key, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stale.body, br#"[{"id":1}]"#);
    assert_eq!(stale.etag.as_deref(), Some("\"v1\""));
    assert_eq!(stale.age(now), Duration::from_secs(2 * 3600));
    // Another user sees nothing; medical records did not survive the reload.
    assert!(cache
        .get("bob", CacheClass::General, key, now)
        .await
        .unwrap()
        .is_none());
    assert!(cache
        .get("alice", CacheClass::Medical, "/api/medical-records", now)
        .await
        .unwrap()
        .is_none());
}

#[wasm_bindgen_test]
async fn the_outbox_survives_a_reload_and_drains_after_it() {
    let name = unique("outbox");
    let config = OutboxConfig {
        lock_name: unique("lock"),
        ..OutboxConfig::default()
    };
    let queued = {
        let outbox = Outbox::new(Store::indexed_db(&name).await.unwrap(), config.clone());
        let queued = outbox.enqueue("alice", book(1), 10).await.unwrap();
        // How long a durable enqueue takes here (shown with --nocapture).
        let timing = Outbox::new(
            Store::indexed_db(&unique("timing")).await.unwrap(),
            config.clone(),
        );
        let started = js_sys::Date::now();
        for i in 0..20 {
            timing.enqueue("timing", book(100 + i), 11).await.unwrap();
        }
        console_log!(
            "indexeddb outbox: 20 strict-durability enqueues in {} ms",
            js_sys::Date::now() - started
        );
        queued
    };
    let outbox = Outbox::new(Store::indexed_db(&name).await.unwrap(), config);
    let entries = outbox.entries("alice").await.unwrap();
    assert_eq!(entries, vec![queued.clone()]);
    let keys = Rc::new(RefCell::new(Vec::new()));
    let sender = {
        let keys = Rc::clone(&keys);
        move |entry: OutboxEntry| {
            keys.borrow_mut().push(entry.idempotency_key.clone());
            futures::future::ready(Delivery::Confirmed(json!({"id": "a1"})))
        }
    };
    let report = outbox.drain(sender, 20).await.unwrap().unwrap();
    assert_eq!(report.confirmed, 1);
    assert_eq!(*keys.borrow(), vec![queued.idempotency_key.clone()]);
    assert_eq!(
        outbox.wait(&queued.id).await.unwrap(),
        EntryStatus::Confirmed {
            response: json!({"id": "a1"})
        }
    );
}

#[wasm_bindgen_test]
async fn a_web_lock_keeps_a_second_drainer_out() {
    assert!(lock::web_locks_available());
    let name = unique("locked");
    let config = OutboxConfig {
        lock_name: unique("lock"),
        ..OutboxConfig::default()
    };
    // Two outboxes over one database, as two tabs would have: they share no memory, only
    // the database and the Web Lock.
    let tab_a = Outbox::new(Store::indexed_db(&name).await.unwrap(), config.clone());
    let tab_b = Outbox::new(Store::indexed_db(&name).await.unwrap(), config);
    let queued = tab_a.enqueue("u", book(1), 0).await.unwrap();
    // The other tab awaits the entry that the first tab will deliver.
    let (waited_tx, waited_rx) = oneshot::channel();
    wasm_bindgen_futures::spawn_local({
        let tab_b = tab_b.clone();
        let id = queued.id.clone();
        async move {
            let _ = waited_tx.send(tab_b.wait(&id).await);
        }
    });

    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = release_rx.shared();
    let (done_tx, done_rx) = oneshot::channel();
    let mut updates = tab_a.subscribe();
    wasm_bindgen_futures::spawn_local({
        let tab_a = tab_a.clone();
        async move {
            let slow = move |_entry: OutboxEntry| {
                let release = release_rx.clone();
                async move {
                    let _ = release.await;
                    Delivery::Confirmed(json!({}))
                }
            };
            let _ = done_tx.send(tab_a.drain(slow, 0).await);
        }
    });
    while let Some(update) = updates.next().await {
        if matches!(update, EntryUpdate::Changed(ref e) if e.status == EntryStatus::Sending) {
            break;
        }
    }
    let second = tab_b
        .drain(
            |_entry: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({}))),
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        second, None,
        "the second tab must skip while the first drains"
    );

    release_tx.send(()).unwrap();
    let first = done_rx.await.unwrap().unwrap().unwrap();
    assert_eq!(first.confirmed, 1);
    // The update crossed to the other "tab" over the broadcast channel.
    let waited = futures::future::select(waited_rx, Box::pin(sleep(5_000))).await;
    match waited {
        futures::future::Either::Left((status, _)) => {
            assert!(status.unwrap().unwrap().is_final())
        }
        futures::future::Either::Right(_) => {
            panic!("the other tab never heard of the confirmation")
        }
    }
    // The lock is free again: the second tab can drain now (nothing left to send).
    let after = tab_b
        .drain(
            |_entry: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({}))),
            0,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.attempts, after.pending), (0, 0));
}

#[wasm_bindgen_test]
async fn without_web_locks_drains_stay_exclusive_within_the_context() {
    // Hide `navigator.locks` as an old browser would lack it.
    let navigator: js_sys::Object = js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .unwrap()
        .into();
    let hidden = js_sys::Object::new();
    js_sys::Reflect::set(&hidden, &"value".into(), &JsValue::UNDEFINED).unwrap();
    js_sys::Reflect::set(&hidden, &"configurable".into(), &JsValue::TRUE).unwrap();
    js_sys::Reflect::define_property(&navigator, &"locks".into(), &hidden).unwrap();
    let available_while_hidden = lock::web_locks_available();

    let outbox = Outbox::new(
        Store::indexed_db(&unique("nolocks")).await.unwrap(),
        OutboxConfig {
            lock_name: unique("lock"),
            ..OutboxConfig::default()
        },
    );
    outbox.enqueue("u", book(1), 0).await.unwrap();
    let (release_tx, release_rx) = oneshot::channel::<()>();
    let release_rx = release_rx.shared();
    let (done_tx, done_rx) = oneshot::channel();
    let mut updates = outbox.subscribe();
    wasm_bindgen_futures::spawn_local({
        let outbox = outbox.clone();
        async move {
            let slow = move |_entry: OutboxEntry| {
                let release = release_rx.clone();
                async move {
                    let _ = release.await;
                    Delivery::Confirmed(json!({}))
                }
            };
            let _ = done_tx.send(outbox.drain(slow, 0).await);
        }
    });
    while let Some(update) = updates.next().await {
        if matches!(update, EntryUpdate::Changed(ref e) if e.status == EntryStatus::Sending) {
            break;
        }
    }
    let second = outbox
        .drain(
            |_entry: OutboxEntry| futures::future::ready(Delivery::Confirmed(json!({}))),
            0,
        )
        .await;
    release_tx.send(()).unwrap();
    let first = done_rx.await.unwrap();
    js_sys::Reflect::delete_property(&navigator, &"locks".into()).unwrap();

    assert!(!available_while_hidden);
    assert!(lock::web_locks_available(), "navigator.locks restored");
    assert_eq!(second.unwrap(), None);
    assert_eq!(first.unwrap().unwrap().confirmed, 1);
}

#[wasm_bindgen_test]
async fn durability_calls_answer_and_a_wiped_store_is_detected() {
    // Headless Chromium may refuse persistence; the call must answer, not throw.
    let _granted = durability::request_persistence().await;
    let estimate = durability::estimate().await.expect("estimate is supported");
    assert!(estimate.quota > 0);
    assert!(estimate.used_fraction() <= 1.0);

    let name = unique("wipe");
    let store = Store::indexed_db(&name).await.unwrap();
    assert_eq!(
        durability::detect_wipe(&store, &name).await.unwrap(),
        WipeCheck::FirstRun
    );
    assert_eq!(
        durability::detect_wipe(&store, &name).await.unwrap(),
        WipeCheck::Intact
    );
    // The browser evicts the database behind our back.
    store.clear(Table::META).await.unwrap();
    let reopened = Store::indexed_db(&name).await.unwrap();
    assert_eq!(
        durability::detect_wipe(&reopened, &name).await.unwrap(),
        WipeCheck::Wiped
    );
    assert_eq!(
        durability::detect_wipe(&reopened, &name).await.unwrap(),
        WipeCheck::Intact
    );
}

#[wasm_bindgen_test]
async fn triggers_fire_on_the_interval_and_online_waits_for_the_probe() {
    let (tx, mut rx) = mpsc::unbounded::<Trigger>();
    let probes = Rc::new(RefCell::new(0));
    let guard = triggers::install(
        TriggerConfig {
            interval: Some(Duration::from_millis(20)),
        },
        move |trigger| {
            let _ = tx.unbounded_send(trigger);
        },
        {
            let probes = Rc::clone(&probes);
            move || {
                *probes.borrow_mut() += 1;
                // The first probe fails (captive portal), later ones succeed.
                let reachable = *probes.borrow() > 1;
                futures::future::ready(reachable)
            }
        },
    )
    .unwrap();
    assert_eq!(rx.next().await, Some(Trigger::Interval));

    let online = || {
        let event = web_sys::Event::new("online").unwrap();
        let target: web_sys::EventTarget = JsValue::from(js_sys::global()).into();
        target.dispatch_event(&event).unwrap();
    };
    online();
    online();
    let mut seen_online = 0;
    for _ in 0..20 {
        sleep(10).await;
        while let Ok(trigger) = rx.try_recv() {
            if trigger == Trigger::Online {
                seen_online += 1;
            }
        }
    }
    assert_eq!(*probes.borrow(), 2);
    assert_eq!(
        seen_online, 1,
        "only the online event whose probe succeeded triggers"
    );

    drop(guard);
    sleep(60).await;
    while rx.try_recv().is_ok() {}
    sleep(60).await;
    assert!(
        rx.try_recv().is_err(),
        "no trigger after the guard is dropped"
    );
}
