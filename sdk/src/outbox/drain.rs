//! Replaying queued entries: one drain at a time, in order per resource.

use std::collections::HashSet;
use std::future::Future;

use std::time::Duration;

use super::{EntryStatus, EntryUpdate, Outbox, OutboxEntry, OutboxError};

/// What the sender made of one attempt. The client maps the HTTP outcome:
///
/// | outcome | delivery |
/// | --- | --- |
/// | 2xx | `Confirmed(body)` |
/// | 409 | `Conflict { details }` |
/// | 401 (after a failed refresh) | `Unauthenticated` |
/// | other 4xx except 408/429 | `Rejected { .. }` |
/// | network error, timeout, 408, 429, any 5xx | `RetryLater { .. }` |
/// | refused by an open breaker before any request went out | `NotSent { .. }` |
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// The server applied the write (or replayed its stored answer for this idempotency key).
    Confirmed(serde_json::Value),
    /// The server refused the write for good.
    Rejected {
        /// HTTP status.
        status: u16,
        /// The API error code.
        code: String,
        /// The API error message.
        message: String,
    },
    /// The server's state conflicts with the write (409).
    Conflict {
        /// The API error's `details`.
        details: serde_json::Value,
    },
    /// Not delivered; try again later, not before `retry_after` when the server said so.
    RetryLater {
        /// The server's `Retry-After`, if any.
        retry_after: Option<Duration>,
        /// What went wrong, shown as the entry's `last_error`.
        reason: String,
    },
    /// The user has no valid session: leave every entry of that user queued, untouched, until
    /// they sign in again. Not counted as an attempt.
    Unauthenticated,
    /// Refused locally (an open circuit breaker): no request reached the network, so the
    /// server learnt nothing about the write. Not counted as an attempt and the backoff does
    /// not grow; the entry is due again when the breaker lets the next call through.
    NotSent {
        /// When the breaker allows the next call (the rest of its break).
        retry_in: Duration,
        /// Why it was not sent, shown as the entry's `last_error`.
        reason: String,
    },
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Entries confirmed by this drain.
    pub confirmed: usize,
    /// Entries rejected by this drain.
    pub rejected: usize,
    /// Entries that ended in a conflict in this drain.
    pub conflicts: usize,
    /// Entries still queued after it (backing off, waiting behind an earlier entry of their
    /// resource, or of a user without a session).
    pub pending: usize,
    /// Attempts made (sender calls), not counting deliveries refused locally
    /// ([`Delivery::NotSent`]).
    pub attempts: usize,
}

/// Entries per batch: a batch is stored as `Sending` in one store transaction, sent one entry
/// at a time, and its answers stored in one more. Durable commits cost milliseconds each, so two per batch instead
/// of two per entry is what lets a long queue drain quickly; a small batch keeps answers
/// showing up in the store (and to subscribers) soon after they arrive.
const DRAIN_BATCH: usize = 32;

impl Outbox {
    /// Sends every due entry through `sender` and records the answers; returns `Ok(None)`
    /// without doing anything when another drain (this process, another tab or the service
    /// worker) is already running.
    ///
    /// Entries go in enqueue order per resource: an entry waits while an earlier entry of the
    /// same user and resource is still pending. Entries go in batches (at most one entry per
    /// resource in a batch); each batch is stored as `Sending` in one store transaction before
    /// `sender` is called, so a crash mid-send is visible, and the next drain sends those
    /// entries again with the same idempotency keys. The answers of a batch are stored
    /// together once the batch is done.
    ///
    /// `sender` receives a copy of the entry (its `intent.request()`, `idempotency_key` and
    /// `user_id` are what a request needs) and must map the answer as [`Delivery`] documents.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when the store fails (the entries being handled stay as they were
    /// last stored), [`OutboxError::Lock`] when the drain lock cannot be requested.
    pub async fn drain<F, Fut>(
        &self,
        sender: F,
        now_ms: u64,
    ) -> Result<Option<DrainReport>, OutboxError>
    where
        F: Fn(OutboxEntry) -> Fut,
        Fut: Future<Output = Delivery>,
    {
        let Some(_guard) = self.inner.lock.try_acquire().await? else {
            tracing::debug!("outbox drain skipped: another drainer holds the queue");
            return Ok(None);
        };
        let mut report = DrainReport::default();
        // Entries removed while this drain runs (a sign-out here, in another tab or in a
        // page while the service worker drains): never sent after that, never stored again.
        let mut removals = self.subscribe();
        let mut removed: HashSet<String> = HashSet::new();
        let mut entries = self.all_entries().await?;

        // We hold the drain lock, so nobody is sending these: a previous drainer died
        // mid-send. Resend; the idempotency key makes that safe.
        let mut cut_off = Vec::new();
        for entry in &mut entries {
            if entry.status == EntryStatus::Sending {
                tracing::info!(id = %entry.id, "resending an entry cut off mid-send");
                entry.status = EntryStatus::Queued;
                cut_off.push(&*entry);
            }
        }
        self.save_many(&cut_off).await?;

        // Blocked resources and users, for the rest of this drain.
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        let mut signed_out: HashSet<String> = HashSet::new();
        loop {
            note_removals(&mut removals, &mut removed);
            entries.retain(|e| !removed.contains(&e.id));
            let batch = next_batch(&entries, &mut blocked, &signed_out, now_ms);
            if batch.is_empty() {
                break;
            }
            for &i in &batch {
                entries[i].status = EntryStatus::Sending;
                entries[i].attempts += 1;
            }
            self.save_many(&batch.iter().map(|&i| &entries[i]).collect::<Vec<_>>())
                .await?;
            report.attempts += batch.len();

            for &i in &batch {
                note_removals(&mut removals, &mut removed);
                if removed.contains(&entries[i].id) {
                    continue;
                }
                if signed_out.contains(&entries[i].user_id) {
                    // The user's session turned out gone earlier in this batch: not sent.
                    entries[i].status = EntryStatus::Queued;
                    entries[i].attempts -= 1;
                    report.attempts -= 1;
                    continue;
                }
                let delivery = sender(entries[i].clone()).await;
                if matches!(&delivery, Delivery::NotSent { reason, .. } if reason == REMOVED) {
                    // The sender found it removed before our subscription heard of it.
                    removed.insert(entries[i].id.clone());
                    continue;
                }
                self.apply(
                    &mut entries[i],
                    delivery,
                    now_ms,
                    &mut report,
                    &mut blocked,
                    &mut signed_out,
                );
            }
            note_removals(&mut removals, &mut removed);
            let answered: Vec<&OutboxEntry> = batch
                .iter()
                .map(|&i| &entries[i])
                .filter(|e| !removed.contains(&e.id))
                .collect();
            self.save_many(&answered).await?;
        }
        entries.retain(|e| !removed.contains(&e.id));
        report.pending = entries.iter().filter(|e| !e.status.is_final()).count();
        Ok(Some(report))
    }

    /// Records one delivery in `entry` (not yet stored) and the drain's bookkeeping.
    fn apply(
        &self,
        entry: &mut OutboxEntry,
        delivery: Delivery,
        now_ms: u64,
        report: &mut DrainReport,
        blocked: &mut HashSet<(String, String)>,
        signed_out: &mut HashSet<String>,
    ) {
        let resource = (entry.user_id.clone(), entry.resource.clone());
        match delivery {
            Delivery::Confirmed(response) => {
                entry.status = EntryStatus::Confirmed { response };
                entry.last_error = None;
                report.confirmed += 1;
            }
            Delivery::Rejected {
                status,
                code,
                message,
            } => {
                entry.last_error = Some(message.clone());
                entry.status = EntryStatus::Rejected {
                    status,
                    code,
                    message,
                };
                report.rejected += 1;
            }
            Delivery::Conflict { details } => {
                entry.last_error = Some("conflict".to_owned());
                entry.status = EntryStatus::Conflict { details };
                report.conflicts += 1;
            }
            Delivery::RetryLater {
                retry_after,
                reason,
            } => {
                let delay = self.retry_delay(entry.attempts, retry_after);
                entry.status = EntryStatus::Queued;
                entry.next_attempt_at_ms =
                    now_ms.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                entry.last_error = Some(reason);
                blocked.insert(resource);
            }
            Delivery::NotSent { retry_in, reason } => {
                // Nothing reached the server: undo the attempt and wait exactly as long
                // as the breaker does, with the backoff left where it was.
                entry.status = EntryStatus::Queued;
                entry.attempts -= 1;
                report.attempts -= 1;
                // Rounded up, so the entry is never due while the breaker still refuses.
                let wait_ms = retry_in.as_micros().div_ceil(1000);
                entry.next_attempt_at_ms =
                    now_ms.saturating_add(u64::try_from(wait_ms).unwrap_or(u64::MAX));
                entry.last_error = Some(reason);
                blocked.insert(resource);
            }
            Delivery::Unauthenticated => {
                entry.status = EntryStatus::Queued;
                entry.attempts -= 1;
                signed_out.insert(entry.user_id.clone());
            }
        }
        tracing::debug!(id = %entry.id, status = ?entry.status, "outbox entry attempted");
    }
}

/// The `NotSent` reason of a delivery whose entry was removed while it waited or was sent.
pub(crate) const REMOVED: &str = "removed from the outbox";

/// Adds the ids of entries removed since the last look (this outbox, or in the browser any
/// tab or the service worker) to `removed`, without waiting.
fn note_removals(
    removals: &mut futures::channel::mpsc::UnboundedReceiver<EntryUpdate>,
    removed: &mut HashSet<String>,
) {
    while let Ok(update) = removals.try_recv() {
        if let EntryUpdate::Removed { id } = update {
            removed.insert(id);
        }
    }
}

/// The next entries to send, by index into `entries` (in enqueue order): the first pending
/// entry of each resource that is neither blocked nor of a signed-out user, and due by
/// `now_ms`; at most `DRAIN_BATCH`. A resource whose first pending entry is not yet due is
/// blocked for the rest of the drain, so its later entries wait too.
fn next_batch(
    entries: &[OutboxEntry],
    blocked: &mut HashSet<(String, String)>,
    signed_out: &HashSet<String>,
    now_ms: u64,
) -> Vec<usize> {
    let mut batch = Vec::new();
    let mut seen: HashSet<(&str, &str)> = HashSet::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.status.is_final() {
            continue;
        }
        // Only the first pending entry of a resource may go.
        if !seen.insert((entry.user_id.as_str(), entry.resource.as_str())) {
            continue;
        }
        let resource = (entry.user_id.clone(), entry.resource.clone());
        if signed_out.contains(&entry.user_id) || blocked.contains(&resource) {
            continue;
        }
        if entry.next_attempt_at_ms > now_ms {
            blocked.insert(resource);
            continue;
        }
        batch.push(i);
        if batch.len() == DRAIN_BATCH {
            break;
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use futures::FutureExt;
    use uuid::Uuid;

    use super::*;
    use crate::outbox::{Intent, OutboxConfig};
    use crate::storage::Store;
    use crate::types::appointments::{BookAppointment, Cancel};

    fn intent(i: usize, resources: usize) -> Intent {
        let r = (i % resources) as u128;
        if i.is_multiple_of(2) {
            Intent::BookAppointment(BookAppointment {
                slot_id: Uuid::from_u128(r),
                reason: None,
            })
        } else {
            Intent::CancelAppointment {
                id: Uuid::from_u128(r),
                body: Cancel::default(),
            }
        }
    }

    /// More entries than one batch holds, over few resources: one drain sends them all, each
    /// resource's entries in enqueue order, and a batch is stored `Sending` before any of it
    /// is sent.
    #[test]
    fn batches_keep_per_resource_order_and_mark_sending_first() {
        futures::executor::block_on(async {
            let store = Store::memory();
            let outbox = Outbox::new(store, OutboxConfig::default());
            let total = DRAIN_BATCH * 3 + 5;
            let mut enqueued = Vec::new();
            for i in 0..total {
                let entry = outbox.enqueue("u", intent(i, 7), 1).await.unwrap();
                enqueued.push((entry.resource.clone(), entry.id.clone()));
            }
            let sent = RefCell::new(Vec::<(String, String)>::new());
            let report = outbox
                .drain(
                    |entry: OutboxEntry| {
                        let stored = outbox.entry(&entry.id).now_or_never().unwrap().unwrap();
                        assert_eq!(stored.unwrap().status, EntryStatus::Sending);
                        sent.borrow_mut()
                            .push((entry.resource.clone(), entry.id.clone()));
                        async { Delivery::Confirmed(serde_json::Value::Null) }
                    },
                    2,
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(report.confirmed, total);
            assert_eq!(report.pending, 0);
            let sent = sent.into_inner();
            assert_eq!(sent.len(), total);
            let per_resource = |list: &[(String, String)], r: &str| -> Vec<String> {
                list.iter()
                    .filter(|(res, _)| res == r)
                    .map(|(_, id)| id.clone())
                    .collect()
            };
            for (resource, _) in &enqueued {
                assert_eq!(
                    per_resource(&sent, resource),
                    per_resource(&enqueued, resource)
                );
            }
            let all = outbox.all_entries().await.unwrap();
            assert!(all
                .iter()
                .all(|e| matches!(e.status, EntryStatus::Confirmed { .. })));
        });
    }

    /// A drain cut off mid-batch leaves the whole batch `Sending`; the next drain resends it
    /// with the same idempotency keys and the entries behind it follow.
    #[test]
    fn a_drain_cut_off_mid_batch_resends_the_batch() {
        futures::executor::block_on(async {
            let outbox = Outbox::new(Store::memory(), OutboxConfig::default());
            for i in 0..4 {
                outbox.enqueue("u", intent(i, 4), 1).await.unwrap();
            }
            let calls = RefCell::new(0);
            let cut = outbox
                .drain(
                    |_entry: OutboxEntry| {
                        *calls.borrow_mut() += 1;
                        let n = *calls.borrow();
                        async move {
                            if n == 2 {
                                futures::future::pending::<()>().await;
                            }
                            Delivery::Confirmed(serde_json::Value::Null)
                        }
                    },
                    2,
                )
                .now_or_never();
            assert!(cut.is_none(), "the drain is stuck in its second send");
            let before = outbox.all_entries().await.unwrap();
            assert!(before.iter().all(|e| e.status == EntryStatus::Sending));
            let keys: Vec<_> = before.iter().map(|e| e.idempotency_key.clone()).collect();
            let resent = RefCell::new(Vec::new());
            outbox
                .drain(
                    |entry: OutboxEntry| {
                        resent.borrow_mut().push(entry.idempotency_key.clone());
                        async { Delivery::Confirmed(serde_json::Value::Null) }
                    },
                    3,
                )
                .await
                .unwrap()
                .unwrap();
            assert_eq!(resent.into_inner(), keys);
        });
    }
}
