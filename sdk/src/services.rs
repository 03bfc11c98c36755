//! The service map: each API group has its own base URL, circuit breaker and retry budget,
//! so a payments outage opens the payments breaker and leaves appointments alone.

use std::fmt;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::policy::{
    BreakCause, BreakerConfig, BreakerState, BudgetConfig, CircuitBreaker, Outcome, Permit,
    RetryBudget,
};

/// A group of API routes served, in the hospital's deployment, by one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiGroup {
    /// Sign-in, profile, hospitals, primary hospital.
    Auth,
    /// Departments, doctors, availability, appointments.
    Appointments,
    /// Payment initialization, verification, history.
    Payments,
    /// Prescriptions and orders.
    Prescriptions,
    /// Medical records and their OTP.
    Records,
    /// Pharmacies and nomination.
    Pharmacies,
    /// Women's health tracking.
    Tracking,
    /// Professional registry.
    Registry,
}

impl ApiGroup {
    /// Every group, in a fixed order.
    pub const ALL: [ApiGroup; 8] = [
        ApiGroup::Auth,
        ApiGroup::Appointments,
        ApiGroup::Payments,
        ApiGroup::Prescriptions,
        ApiGroup::Records,
        ApiGroup::Pharmacies,
        ApiGroup::Tracking,
        ApiGroup::Registry,
    ];

    /// The group's name, as used in configuration and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiGroup::Auth => "auth",
            ApiGroup::Appointments => "appointments",
            ApiGroup::Payments => "payments",
            ApiGroup::Prescriptions => "prescriptions",
            ApiGroup::Records => "records",
            ApiGroup::Pharmacies => "pharmacies",
            ApiGroup::Tracking => "tracking",
            ApiGroup::Registry => "registry",
        }
    }

    /// The group that serves `path` (`/api/payments/...` → [`ApiGroup::Payments`]).
    pub fn for_path(path: &str) -> ApiGroup {
        let rest = path.strip_prefix("/api/").unwrap_or(path);
        let segment = rest.split(['/', '?']).next().unwrap_or("");
        match segment {
            "appointments" | "departments" | "doctors" | "doctor" => ApiGroup::Appointments,
            "payments" => ApiGroup::Payments,
            "prescriptions" => ApiGroup::Prescriptions,
            "medical-records" => ApiGroup::Records,
            "pharmacies" => ApiGroup::Pharmacies,
            "health-tracking" => ApiGroup::Tracking,
            "registry" => ApiGroup::Registry,
            _ => ApiGroup::Auth,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ApiGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ApiGroup {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiGroup::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| crate::Error::builder(format!("unknown api group {s:?}")))
    }
}

/// A group's breaker as a UI sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BreakerStatus {
    /// Calls flow normally.
    Closed,
    /// Calls are refused without being sent, for about `retry_in` more.
    Open {
        /// Time until a probe call is let through.
        #[serde(rename = "retry_in_ms", with = "millis")]
        retry_in: Duration,
    },
    /// One probe call is being let through to test recovery.
    HalfOpen,
}

impl BreakerStatus {
    /// True unless calls flow normally.
    pub fn is_degraded(&self) -> bool {
        !matches!(self, BreakerStatus::Closed)
    }

    fn from_state(state: BreakerState, now: Duration) -> Self {
        match state {
            BreakerState::Closed => BreakerStatus::Closed,
            BreakerState::HalfOpen => BreakerStatus::HalfOpen,
            BreakerState::Open { until } => BreakerStatus::Open {
                retry_in: until.saturating_sub(now),
            },
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

pub(crate) struct Service {
    pub base_url: String,
    breaker: Mutex<CircuitBreaker>,
    budget: Mutex<RetryBudget>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Service {
    /// Asks the breaker for a permit; `Err(retry_in)` when it is open.
    pub fn acquire(&self, now: Duration) -> Result<Permit, Duration> {
        lock(&self.breaker)
            .try_acquire(now)
            .map_err(|rejected| rejected.retry_in)
    }

    pub fn record(&self, now: Duration, permit: Permit, outcome: &Outcome) {
        lock(&self.breaker).record(now, permit, outcome);
        lock(&self.budget).record(outcome);
    }

    pub fn allows_retry(&self) -> bool {
        lock(&self.budget).allows_retry()
    }

    /// Tells the breaker that the server answered a reachability probe; answers the end of
    /// the break this ended (a break only unanswered calls opened), `None` when nothing
    /// changed.
    pub fn record_reachable(&self, now: Duration) -> Option<Duration> {
        let mut breaker = lock(&self.breaker);
        let BreakerState::Open { until } = breaker.state(now) else {
            return None;
        };
        breaker.record_reachable(now).then_some(until)
    }

    /// Whether the breaker is in a break that a reachability probe would end.
    pub fn in_network_break(&self, now: Duration) -> bool {
        lock(&self.breaker).break_cause(now) == Some(BreakCause::Network)
    }

    pub fn status(&self, now: Duration) -> BreakerStatus {
        BreakerStatus::from_state(lock(&self.breaker).state(now), now)
    }

    /// The states the breaker moved through since the last call, oldest first.
    pub fn transitions(&self, now: Duration) -> Vec<BreakerStatus> {
        let mut breaker = lock(&self.breaker);
        breaker.advance(now);
        breaker
            .take_transitions()
            .into_iter()
            .map(|t| BreakerStatus::from_state(t.to, now))
            .collect()
    }
}

/// One [`Service`] per [`ApiGroup`].
pub(crate) struct Services {
    services: Vec<Service>,
}

impl Services {
    pub fn new(
        base_url: &str,
        overrides: &[(ApiGroup, String)],
        breaker: &BreakerConfig,
        budget: &BudgetConfig,
    ) -> Self {
        let services = ApiGroup::ALL
            .into_iter()
            .map(|group| {
                let url = overrides
                    .iter()
                    .rev()
                    .find(|(g, _)| *g == group)
                    .map(|(_, u)| u.as_str())
                    .unwrap_or(base_url);
                Service {
                    base_url: url.trim_end_matches('/').to_string(),
                    breaker: Mutex::new(CircuitBreaker::new(*breaker)),
                    budget: Mutex::new(RetryBudget::new(*budget)),
                }
            })
            .collect();
        Services { services }
    }

    pub fn get(&self, group: ApiGroup) -> &Service {
        &self.services[group.index()]
    }
}
