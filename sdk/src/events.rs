//! Every decision the client makes, as a value: logged through `tracing` and delivered to
//! every subscriber of [`Client::events`](crate::Client::events).
//!
//! The broadcast is a list of unbounded `futures` channels rather than a runtime's broadcast
//! channel, so it works the same on tokio and in the browser. A dropped subscriber is
//! removed at the next event.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::channel::mpsc;
use futures::Stream;

use crate::services::{ApiGroup, BreakerStatus};
use crate::session::SessionState;

/// Something the client decided or observed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A failed attempt will be retried after `delay`.
    RetryScheduled {
        /// The API group of the call.
        group: ApiGroup,
        /// The request path.
        path: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// How long the client waits before the next attempt.
        delay: Duration,
        /// Why the attempt failed, for people.
        reason: String,
    },
    /// A group's circuit breaker changed state.
    BreakerChanged {
        /// The API group.
        group: ApiGroup,
        /// Its new state.
        state: BreakerStatus,
    },
    /// A read failed and the last good value was served instead.
    ServedFromCache {
        /// The request path.
        path: String,
        /// How old the served value is.
        age: Duration,
    },
    /// A write was put in the outbox instead of being sent now.
    Queued {
        /// The outbox entry id.
        id: String,
        /// What kind of write it is.
        kind: String,
    },
    /// A queued write got a definite answer from the server.
    Synced {
        /// The outbox entry id.
        id: String,
        /// `"confirmed"`, `"rejected"` or `"conflict"`.
        result: String,
    },
    /// The session changed state.
    SessionChanged {
        /// The new state.
        state: SessionState,
    },
    /// A reachability probe ([`Client::probe`](crate::Client::probe)) ran.
    ReachabilityProbed {
        /// Whether the API's `GET /health` answered 2xx.
        reachable: bool,
        /// The groups whose break, opened only by calls that got no answer, ended because
        /// their server answered: each is half-open now, its next call the probe.
        resumed: Vec<ApiGroup>,
    },
}

impl Event {
    fn log(&self) {
        match self {
            Event::RetryScheduled {
                group,
                path,
                attempt,
                delay,
                reason,
            } => tracing::info!(
                group = %group, path, attempt, delay_ms = delay.as_millis() as u64, reason,
                "retry scheduled"
            ),
            Event::BreakerChanged { group, state } => {
                tracing::warn!(group = %group, state = ?state, "circuit breaker changed")
            }
            Event::ServedFromCache { path, age } => {
                tracing::info!(path, age_ms = age.as_millis() as u64, "served from cache")
            }
            Event::Queued { id, kind } => tracing::info!(id, kind, "write queued"),
            Event::Synced { id, result } => tracing::info!(id, result, "write synced"),
            Event::SessionChanged { state } => {
                tracing::info!(state = ?state, "session state changed")
            }
            Event::ReachabilityProbed { reachable, resumed } => {
                tracing::info!(reachable, resumed = ?resumed, "reachability probed")
            }
        }
    }
}

/// The broadcast behind [`Client::events`](crate::Client::events).
#[derive(Debug, Clone, Default)]
pub(crate) struct EventHub {
    subscribers: Arc<Mutex<Vec<mpsc::UnboundedSender<Event>>>>,
}

impl EventHub {
    pub fn emit(&self, event: Event) {
        event.log();
        let mut subs = self.subscribers.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|tx| tx.unbounded_send(event.clone()).is_ok());
    }

    pub fn subscribe(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        EventStream { rx }
    }
}

/// A stream of every [`Event`] emitted after it was created.
#[derive(Debug)]
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl Stream for EventStream {
    type Item = Event;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn every_subscriber_gets_every_event_and_dropped_ones_are_pruned() {
        let hub = EventHub::default();
        let mut a = hub.subscribe();
        let b = hub.subscribe();
        drop(b);
        hub.emit(Event::Queued {
            id: "1".into(),
            kind: "book".into(),
        });
        assert_eq!(hub.subscribers.lock().unwrap().len(), 1);
        let got = futures::executor::block_on(a.next());
        assert!(matches!(got, Some(Event::Queued { .. })));
    }
}
