//! Exactly-once delivery of outbox entries under random failure schedules.
//!
//! A fake server keyed by idempotency key (as backend-mock's is: same key → stored answer,
//! never applied again) faces a random sequence of delivery outcomes per attempt:
//!
//! - the request never reaches the server (network error, 503 before the handler);
//! - the server applies it but the answer is lost (timeout, dropped connection);
//! - the server applies it and the drainer dies before recording the answer (crash mid-send;
//!   the outbox is reopened over the same store);
//! - the server applies it (or replays it) and the answer arrives.
//!
//! Whatever the schedule, every entry must end `Confirmed` exactly once, with the server's
//! first answer, and the server must have applied each key exactly once.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::{BoxFuture, FutureExt};
use lifeline_sdk::outbox::{Delivery, EntryStatus, Intent, Outbox, OutboxConfig, OutboxEntry};
use lifeline_sdk::policy::SplitMix64;
use lifeline_sdk::storage::Store;
use lifeline_sdk::types::appointments::{BookAppointment, Cancel};
use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
enum Fate {
    NeverArrives,
    AnswerLost,
    CrashAfterApply,
    Answered,
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        Just(Fate::NeverArrives),
        Just(Fate::AnswerLost),
        Just(Fate::CrashAfterApply),
        Just(Fate::Answered),
    ]
}

#[derive(Default)]
struct FakeServer {
    /// Idempotency key → the stored answer.
    answers: HashMap<String, serde_json::Value>,
    /// Idempotency key → how many times the write was applied.
    applied: HashMap<String, u32>,
}

impl FakeServer {
    fn handle(&mut self, entry: &OutboxEntry) -> serde_json::Value {
        if let Some(answer) = self.answers.get(&entry.idempotency_key) {
            return answer.clone();
        }
        *self
            .applied
            .entry(entry.idempotency_key.clone())
            .or_default() += 1;
        let answer = json!({ "entry": entry.id, "n": self.answers.len() });
        self.answers
            .insert(entry.idempotency_key.clone(), answer.clone());
        answer
    }
}

fn intent(i: usize, resources: usize) -> Intent {
    // Few resources, so ordering constraints bite.
    let r = (i % resources) as u128;
    match i % 2 {
        0 => Intent::BookAppointment(BookAppointment {
            slot_id: Uuid::from_u128(r),
            reason: Some(format!("visit {i}")),
        }),
        _ => Intent::CancelAppointment {
            id: Uuid::from_u128(r),
            body: Cancel::default(),
        },
    }
}

fn run(entries: usize, resources: usize, fates: Vec<Fate>, seed: u64) {
    futures::executor::block_on(async move {
        let store = Store::memory();
        let config = OutboxConfig::default();
        let mut outbox =
            Outbox::with_random_source(store.clone(), config.clone(), SplitMix64::new(seed));
        let mut ids = Vec::new();
        for i in 0..entries {
            ids.push(
                outbox
                    .enqueue("u", intent(i, resources), i as u64)
                    .await
                    .unwrap()
                    .id,
            );
        }
        let server = Rc::new(RefCell::new(FakeServer::default()));
        let fates = Rc::new(RefCell::new(fates.into_iter()));
        let sent_order = Rc::new(RefCell::new(Vec::<String>::new()));

        let mut now = 0u64;
        for _round in 0..400 {
            let sender = {
                let server = Rc::clone(&server);
                let fates = Rc::clone(&fates);
                let sent_order = Rc::clone(&sent_order);
                move |entry: OutboxEntry| -> BoxFuture<'static, Delivery> {
                    sent_order.borrow_mut().push(entry.id.clone());
                    // Once the schedule is used up the network is healthy.
                    let fate = fates.borrow_mut().next().unwrap_or(Fate::Answered);
                    match fate {
                        Fate::NeverArrives => futures::future::ready(Delivery::RetryLater {
                            retry_after: None,
                            reason: "connection refused".into(),
                        })
                        .boxed(),
                        Fate::AnswerLost => {
                            server.borrow_mut().handle(&entry);
                            futures::future::ready(Delivery::RetryLater {
                                retry_after: None,
                                reason: "timed out".into(),
                            })
                            .boxed()
                        }
                        Fate::CrashAfterApply => {
                            server.borrow_mut().handle(&entry);
                            futures::future::pending().boxed()
                        }
                        Fate::Answered => {
                            let answer = server.borrow_mut().handle(&entry);
                            futures::future::ready(Delivery::Confirmed(answer)).boxed()
                        }
                    }
                }
            };
            match outbox.drain(sender, now).now_or_never() {
                Some(report) => {
                    let report = report.unwrap().unwrap();
                    if report.pending == 0 && report.attempts == 0 {
                        break;
                    }
                }
                None => {
                    // The drainer died mid-send: start over from the store, as after a restart.
                    outbox = Outbox::with_random_source(
                        store.clone(),
                        config.clone(),
                        SplitMix64::new(seed.wrapping_add(now)),
                    );
                }
            }
            // Jump to the next due time (backoff is at most 5 minutes).
            now = match outbox.next_due_at_ms().await.unwrap() {
                Some(due) => due.max(now + 1),
                None => now + 1,
            };
        }

        let stored = outbox.entries("u").await.unwrap();
        let server = server.borrow();
        assert_eq!(stored.len(), entries);
        for entry in &stored {
            let EntryStatus::Confirmed { response } = &entry.status else {
                panic!("entry {} ended {:?}", entry.id, entry.status);
            };
            assert_eq!(
                Some(response),
                server.answers.get(&entry.idempotency_key),
                "the recorded answer is the server's first"
            );
            assert_eq!(server.applied.get(&entry.idempotency_key), Some(&1));
        }
        assert_eq!(
            server.applied.len(),
            entries,
            "no write applied under a foreign key"
        );
        assert!(server.applied.values().all(|n| *n == 1));

        // Per resource, the first send of each entry follows enqueue order.
        let order = sent_order.borrow();
        let first_send = |id: &String| order.iter().position(|s| s == id).unwrap();
        let mut by_resource: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            by_resource
                .entry(intent(i, resources).resource())
                .or_default()
                .push(first_send(id));
        }
        for sends in by_resource.values() {
            assert!(sends.windows(2).all(|w| w[0] < w[1]), "{sends:?}");
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_entry_is_confirmed_exactly_once(
        entries in 1usize..8,
        resources in 1usize..4,
        fates in proptest::collection::vec(fate(), 0..40),
        seed in any::<u64>(),
    ) {
        run(entries, resources, fates, seed);
    }
}
