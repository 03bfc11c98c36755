//! Replaying queued entries: one drain at a time, in order per resource.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use super::{EntryStatus, Outbox, OutboxEntry, OutboxError};

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

impl Outbox {
    /// Sends every due entry through `sender` and records the answers; returns `Ok(None)`
    /// without doing anything when another drain (this process, another tab or the service
    /// worker) is already running.
    ///
    /// Entries go in enqueue order; an entry waits while an earlier entry of the same user and
    /// resource is still pending. Each entry is stored as `Sending` before `sender` is called,
    /// so a crash mid-send is visible; the next drain sends it again with the same
    /// idempotency key.
    ///
    /// `sender` receives a copy of the entry (its `intent.request()`, `idempotency_key` and
    /// `user_id` are what a request needs) and must map the answer as [`Delivery`] documents.
    ///
    /// # Errors
    /// [`OutboxError::Store`] when the store fails (the entry being handled stays as it was
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
        // Blocked resources and users, for the rest of this drain.
        let mut blocked: HashSet<(String, String)> = HashSet::new();
        let mut signed_out: HashSet<String> = HashSet::new();

        for mut entry in self.all_entries().await? {
            if entry.status.is_final() {
                continue;
            }
            if entry.status == EntryStatus::Sending {
                // We hold the drain lock, so nobody is sending it: a previous drainer died
                // mid-send. Resend; the idempotency key makes that safe.
                tracing::info!(id = %entry.id, "resending an entry cut off mid-send");
                entry.status = EntryStatus::Queued;
                self.save(&entry).await?;
            }
            let resource = (entry.user_id.clone(), entry.resource.clone());
            if signed_out.contains(&entry.user_id)
                || blocked.contains(&resource)
                || entry.next_attempt_at_ms > now_ms
            {
                blocked.insert(resource);
                report.pending += 1;
                continue;
            }

            entry.status = EntryStatus::Sending;
            entry.attempts += 1;
            self.save(&entry).await?;
            report.attempts += 1;

            let delivery = sender(entry.clone()).await;
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
                    report.pending += 1;
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
                    report.pending += 1;
                }
                Delivery::Unauthenticated => {
                    entry.status = EntryStatus::Queued;
                    entry.attempts -= 1;
                    signed_out.insert(entry.user_id.clone());
                    report.pending += 1;
                }
            }
            tracing::debug!(id = %entry.id, status = ?entry.status, "outbox entry attempted");
            self.save(&entry).await?;
        }
        Ok(Some(report))
    }
}
