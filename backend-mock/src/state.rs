//! Shared server state, cheap to clone into every handler.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use lifeline_types::hospitals::{Department, Doctor, Hospital};
use sqlx::SqlitePool;
use uuid::Uuid;

/// Settings fixed at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Dev mode: chaos control, dev mailbox and seeded demo data exist only when true.
    pub dev: bool,
    /// HMAC key for access tokens.
    pub jwt_secret: Vec<u8>,
    /// HMAC-SHA512 key the built-in payment provider signs webhooks with.
    pub provider_secret: Vec<u8>,
    /// Seed for everything random in dev mode (demo data, chaos), so runs repeat.
    pub seed: u64,
    /// Base URL the server is reachable at, used for provider checkout and webhook URLs.
    pub public_url: String,
    /// A built web app to serve for every path outside the API (SPA fallback to `index.html`).
    pub static_dir: Option<PathBuf>,
}

impl Config {
    /// A configuration for tests: dev mode on, fixed secrets and seed.
    pub fn for_tests() -> Self {
        Self {
            dev: true,
            jwt_secret: b"test-jwt-secret-of-enough-length-000".to_vec(),
            provider_secret: b"test-provider-secret".to_vec(),
            seed: 42,
            public_url: "http://127.0.0.1:0".into(),
            static_dir: None,
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    pub chaos: crate::chaos::Chaos,
    /// Hospitals, departments and doctors held in memory: read on every booking screen,
    /// changed only by seeding, so reads never touch the database.
    pub reference: ReferenceCache,
    /// Failed-login counters per account and per client address.
    pub login_limiter: Arc<LoginLimiter>,
}

impl AppState {
    /// State over a connected, migrated database; loads the reference data snapshot.
    ///
    /// # Errors
    /// Fails when the reference data cannot be read.
    pub async fn new(db: SqlitePool, config: Config) -> Result<Self, sqlx::Error> {
        let state = Self {
            chaos: crate::chaos::Chaos::new(config.seed),
            db,
            config: Arc::new(config),
            reference: ReferenceCache::default(),
            login_limiter: Arc::new(LoginLimiter::default()),
        };
        state.reference.reload(&state.db).await?;
        Ok(state)
    }
}

/// An immutable snapshot of the reference data, with the list responses pre-serialized.
#[derive(Debug, Default)]
pub struct Reference {
    pub hospitals: Vec<Hospital>,
    pub departments: HashMap<Uuid, Department>,
    pub doctors: HashMap<Uuid, Doctor>,
    pub hospitals_json: Bytes,
    pub departments_json: Bytes,
    pub departments_by_hospital_json: HashMap<Uuid, Bytes>,
    pub doctors_json: Bytes,
    pub doctors_by_department_json: HashMap<Uuid, Bytes>,
}

/// The current [`Reference`] snapshot, swapped whole on [`ReferenceCache::reload`].
#[derive(Debug, Clone, Default)]
pub struct ReferenceCache(Arc<RwLock<Arc<Reference>>>);

impl ReferenceCache {
    /// The current snapshot.
    pub fn get(&self) -> Arc<Reference> {
        match self.0.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the reference tables again; call after changing them.
    ///
    /// # Errors
    /// Fails when the database cannot be read.
    pub async fn reload(&self, db: &SqlitePool) -> Result<(), sqlx::Error> {
        let hospitals: Vec<(String, String, String, String, String)> =
            sqlx::query_as("SELECT id, name, city, address, phone FROM hospitals ORDER BY name")
                .fetch_all(db)
                .await?;
        let departments: Vec<(String, String, String, i64, String)> = sqlx::query_as(
            "SELECT id, hospital_id, name, fee_minor, currency FROM departments ORDER BY name",
        )
        .fetch_all(db)
        .await?;
        let doctors: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT d.id, d.department_id, p.hospital_id, d.name, d.specialty \
             FROM doctors d JOIN departments p ON p.id = d.department_id ORDER BY d.name",
        )
        .fetch_all(db)
        .await?;

        let hospitals: Vec<Hospital> = hospitals
            .into_iter()
            .map(|(id, name, city, address, phone)| Hospital {
                id: crate::db::uuid(&id),
                name,
                city,
                address,
                phone,
            })
            .collect();
        let departments: Vec<Department> = departments
            .into_iter()
            .map(|(id, hospital_id, name, fee_minor, currency)| Department {
                id: crate::db::uuid(&id),
                hospital_id: crate::db::uuid(&hospital_id),
                name,
                fee_minor,
                currency,
            })
            .collect();
        let doctors: Vec<Doctor> = doctors
            .into_iter()
            .map(|(id, department_id, hospital_id, name, specialty)| Doctor {
                id: crate::db::uuid(&id),
                department_id: crate::db::uuid(&department_id),
                hospital_id: crate::db::uuid(&hospital_id),
                name,
                specialty,
            })
            .collect();

        let json = |v: &dyn erased::Json| Bytes::from(v.to_json());
        let mut by_hospital: HashMap<Uuid, Vec<Department>> =
            hospitals.iter().map(|h| (h.id, Vec::new())).collect();
        for d in &departments {
            by_hospital
                .entry(d.hospital_id)
                .or_default()
                .push(d.clone());
        }
        let mut by_department: HashMap<Uuid, Vec<Doctor>> =
            departments.iter().map(|d| (d.id, Vec::new())).collect();
        for d in &doctors {
            by_department
                .entry(d.department_id)
                .or_default()
                .push(d.clone());
        }
        let snapshot = Reference {
            hospitals_json: json(&hospitals),
            departments_json: json(&departments),
            doctors_json: json(&doctors),
            departments_by_hospital_json: by_hospital.iter().map(|(k, v)| (*k, json(v))).collect(),
            doctors_by_department_json: by_department.iter().map(|(k, v)| (*k, json(v))).collect(),
            departments: departments.into_iter().map(|d| (d.id, d)).collect(),
            doctors: doctors.into_iter().map(|d| (d.id, d)).collect(),
            hospitals,
        };
        let snapshot = Arc::new(snapshot);
        match self.0.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        Ok(())
    }
}

mod erased {
    /// Serializes any list of wire types without making `reload` generic over each.
    pub trait Json {
        fn to_json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for Vec<T> {
        fn to_json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_else(|_| b"[]".to_vec())
        }
    }
}

/// Sliding-window counters of failed logins: at most `per_account` failures per account and
/// `per_address` per client address within `window`; past that, logins wait.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_account: usize,
    per_address: usize,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(60), 5, 20)
    }
}

impl LoginLimiter {
    /// A limiter allowing `per_account` and `per_address` failures per `window`.
    pub fn new(window: Duration, per_account: usize, per_address: usize) -> Self {
        Self {
            window,
            per_account,
            per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` when the account or the address has failed too often.
    pub fn check(&self, account: &str, address: &str) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, limit) in [
            (format!("account:{account}"), self.per_account),
            (format!("address:{address}"), self.per_address),
        ] {
            if let Some(times) = map.get_mut(&key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    times.pop_front();
                }
                if times.len() >= limit {
                    let oldest = times[times.len() - limit];
                    let left = self.window.saturating_sub(now.duration_since(oldest));
                    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                    wait = Some(wait.unwrap_or(0).max(secs.max(1)));
                }
            }
        }
        wait
    }

    /// Records one failed login.
    pub fn record_failure(&self, account: &str, address: &str) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, v| v.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        for key in [format!("account:{account}"), format!("address:{address}")] {
            let times = map.entry(key).or_default();
            times.push_back(now);
            if times.len() > 64 {
                times.pop_front();
            }
        }
    }

    /// Forgets the account's failures after a successful login.
    pub fn record_success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("account:{account}"));
    }
}
