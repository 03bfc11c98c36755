//! The facade's own value types: what JavaScript sees of freshness, breakers, sessions,
//! events and the outbox. Each derives its TypeScript declaration (tsify) and converts from
//! the SDK type field by field, so a change in the SDK fails to compile here instead of
//! drifting silently. Wire types (requests and responses) are `lifeline-types`' own, with
//! their wire spelling; these facade types use JavaScript's camelCase.

use serde::{Deserialize, Serialize};
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use super::convert::millis;

#[wasm_bindgen(typescript_custom_section)]
const SCALARS_TS: &'static str = r#"
/** A UUID in its canonical text form. */
export type Uuid = string;
/** Any JSON value. */
export type Value = unknown;
"#;

/// An API group: each has its own base URL, circuit breaker and retry budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum ApiGroup {
    /// Sign-in, profile, hospitals.
    Auth,
    /// Departments, doctors, availability, appointments.
    Appointments,
    /// Payments.
    Payments,
    /// Prescriptions and orders.
    Prescriptions,
    /// Medical records.
    Records,
    /// Pharmacies.
    Pharmacies,
    /// Health tracking.
    Tracking,
    /// Professional registry.
    Registry,
}

impl From<crate::ApiGroup> for ApiGroup {
    fn from(g: crate::ApiGroup) -> Self {
        match g {
            crate::ApiGroup::Auth => ApiGroup::Auth,
            crate::ApiGroup::Appointments => ApiGroup::Appointments,
            crate::ApiGroup::Payments => ApiGroup::Payments,
            crate::ApiGroup::Prescriptions => ApiGroup::Prescriptions,
            crate::ApiGroup::Records => ApiGroup::Records,
            crate::ApiGroup::Pharmacies => ApiGroup::Pharmacies,
            crate::ApiGroup::Tracking => ApiGroup::Tracking,
            crate::ApiGroup::Registry => ApiGroup::Registry,
        }
    }
}

impl From<ApiGroup> for crate::ApiGroup {
    fn from(g: ApiGroup) -> Self {
        match g {
            ApiGroup::Auth => crate::ApiGroup::Auth,
            ApiGroup::Appointments => crate::ApiGroup::Appointments,
            ApiGroup::Payments => crate::ApiGroup::Payments,
            ApiGroup::Prescriptions => crate::ApiGroup::Prescriptions,
            ApiGroup::Records => crate::ApiGroup::Records,
            ApiGroup::Pharmacies => crate::ApiGroup::Pharmacies,
            ApiGroup::Tracking => crate::ApiGroup::Tracking,
            ApiGroup::Registry => crate::ApiGroup::Registry,
        }
    }
}

/// Whether a value came from the server just now or is the last good cached copy.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Freshness {
    /// The server answered this call.
    Fresh,
    /// The server could not be reached or failed; this is the last good value.
    Stale {
        /// Milliseconds since the server last sent or confirmed this value.
        #[serde(rename = "ageMs")]
        age_ms: f64,
    },
}

impl From<crate::Freshness> for Freshness {
    fn from(f: crate::Freshness) -> Self {
        match f {
            crate::Freshness::Fresh => Freshness::Fresh,
            crate::Freshness::Stale { age } => Freshness::Stale {
                age_ms: millis(age),
            },
        }
    }
}

/// A value read through the cache, with its freshness.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Fetched<T> {
    /// The value.
    pub value: T,
    /// Fresh from the server, or the last good copy and its age.
    pub freshness: Freshness,
    /// True when `value` is the cached copy.
    pub stale: bool,
}

impl<T> From<crate::Fetched<T>> for Fetched<T> {
    fn from(f: crate::Fetched<T>) -> Self {
        Fetched {
            stale: f.is_stale(),
            value: f.value,
            freshness: f.freshness.into(),
        }
    }
}

/// A group's circuit breaker as a UI sees it.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerStatus {
    /// Calls flow normally.
    Closed,
    /// Calls are refused without being sent for about `retryInMs` more.
    Open {
        /// Milliseconds until a probe call is let through.
        #[serde(rename = "retryInMs")]
        retry_in_ms: f64,
    },
    /// One probe call is being let through to test recovery.
    HalfOpen,
}

impl From<crate::BreakerStatus> for BreakerStatus {
    fn from(s: crate::BreakerStatus) -> Self {
        match s {
            crate::BreakerStatus::Closed => BreakerStatus::Closed,
            crate::BreakerStatus::Open { retry_in } => BreakerStatus::Open {
                retry_in_ms: millis(retry_in),
            },
            crate::BreakerStatus::HalfOpen => BreakerStatus::HalfOpen,
        }
    }
}

/// One group's breaker, as listed by `breakerStates()`.
#[derive(Debug, Clone, Serialize, Tsify)]
pub struct GroupBreaker {
    /// The API group.
    pub group: ApiGroup,
    /// Its breaker.
    pub status: BreakerStatus,
}

/// Where the session stands.
#[derive(Debug, Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// Nobody is signed in.
    Anonymous,
    /// Signed in, confirmed by the server recently.
    Active,
    /// Signed in, but the server could not confirm it (offline, outage); cached data and
    /// queued writes keep working.
    Unverified,
    /// The server refused to refresh the session: sign in again.
    Expired,
}

impl From<crate::SessionState> for SessionState {
    fn from(s: crate::SessionState) -> Self {
        match s {
            crate::SessionState::Anonymous => SessionState::Anonymous,
            crate::SessionState::Active => SessionState::Active,
            crate::SessionState::Unverified => SessionState::Unverified,
            crate::SessionState::Expired => SessionState::Expired,
        }
    }
}

/// Something the client decided or observed.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LifelineEvent {
    /// A failed attempt will be retried after `delayMs`.
    RetryScheduled {
        /// The API group of the call.
        group: ApiGroup,
        /// The request path.
        path: String,
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// Milliseconds before the next attempt.
        #[serde(rename = "delayMs")]
        delay_ms: f64,
        /// Why the attempt failed.
        reason: String,
    },
    /// A group's circuit breaker changed state.
    BreakerChanged {
        /// The API group.
        group: ApiGroup,
        /// Its new state.
        status: BreakerStatus,
    },
    /// A read failed and the last good value was served instead.
    ServedFromCache {
        /// The request path.
        path: String,
        /// Milliseconds since the value was received.
        #[serde(rename = "ageMs")]
        age_ms: f64,
    },
    /// A write was put in the outbox.
    Queued {
        /// The outbox entry id.
        id: String,
        /// What kind of write it is.
        kind: String,
    },
    /// A queued write got a definite answer.
    Synced {
        /// The outbox entry id.
        id: String,
        /// `confirmed`, `rejected` or `conflict`.
        result: String,
    },
    /// The session changed state.
    SessionChanged {
        /// The new state.
        state: SessionState,
    },
    /// A reachability probe (`probe()`) ran.
    ReachabilityProbed {
        /// Whether the API's `GET /health` answered 2xx.
        reachable: bool,
        /// The groups whose break, opened only by calls that got no answer, now ends early:
        /// each turns `half_open` within the breaker's reachable spread.
        resumed: Vec<ApiGroup>,
    },
}

impl LifelineEvent {
    /// The JavaScript form of `event` (every event has one; `None` is kept for events the
    /// package may not publish).
    pub(crate) fn from_event(event: crate::Event) -> Option<Self> {
        Some(match event {
            crate::Event::RetryScheduled {
                group,
                path,
                attempt,
                delay,
                reason,
            } => LifelineEvent::RetryScheduled {
                group: group.into(),
                path,
                attempt,
                delay_ms: millis(delay),
                reason,
            },
            crate::Event::BreakerChanged { group, state } => LifelineEvent::BreakerChanged {
                group: group.into(),
                status: state.into(),
            },
            crate::Event::ServedFromCache { path, age } => LifelineEvent::ServedFromCache {
                path,
                age_ms: millis(age),
            },
            crate::Event::Queued { id, kind } => LifelineEvent::Queued { id, kind },
            crate::Event::Synced { id, result } => LifelineEvent::Synced { id, result },
            crate::Event::SessionChanged { state } => LifelineEvent::SessionChanged {
                state: state.into(),
            },
            crate::Event::ReachabilityProbed { reachable, resumed } => {
                LifelineEvent::ReachabilityProbed {
                    reachable,
                    resumed: resumed.into_iter().map(ApiGroup::from).collect(),
                }
            }
        })
    }
}

/// Filters of `appointments.list()`. Default is no filter.
#[derive(Debug, Clone, Default, Deserialize, Tsify)]
#[serde(deny_unknown_fields)]
pub struct AppointmentFilter {
    /// Only appointments in this state.
    #[tsify(optional)]
    pub status: Option<lifeline_types::AppointmentStatus>,
    /// Only appointments starting on or after this RFC 3339 time or `YYYY-MM-DD` date.
    #[tsify(optional)]
    pub from: Option<String>,
    /// Only appointments starting before this RFC 3339 time or `YYYY-MM-DD` date.
    #[tsify(optional)]
    pub to: Option<String>,
}

impl From<AppointmentFilter> for crate::api::AppointmentFilter {
    fn from(f: AppointmentFilter) -> Self {
        crate::api::AppointmentFilter {
            status: f.status,
            from: f.from,
            to: f.to,
        }
    }
}

/// A payment started on this device and not yet known to be settled.
#[derive(Debug, Clone, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct PendingPayment {
    /// The appointment being paid for.
    pub appointment_id: String,
    /// The idempotency key of the initialization.
    pub idempotency_key: String,
    /// The provider reference, once the server has answered.
    pub reference: Option<String>,
    /// The provider's checkout URL, once the server has answered.
    pub authorization_url: Option<String>,
    /// When the payment was started (milliseconds since the Unix epoch).
    pub started_at_ms: f64,
}

impl From<crate::payments::PendingPayment> for PendingPayment {
    fn from(p: crate::payments::PendingPayment) -> Self {
        PendingPayment {
            appointment_id: p.appointment_id.to_string(),
            idempotency_key: p.idempotency_key,
            reference: p.reference,
            authorization_url: p.authorization_url,
            started_at_ms: p.started_at_ms as f64,
        }
    }
}
