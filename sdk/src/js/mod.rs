//! The JavaScript facade of the npm package `lifeline-sdk` (feature `js`, wasm32 only).
//!
//! It only converts: options into the Rust builder, JS arguments into wire types, answers
//! into plain objects (reads as `Fetched<T>` with their freshness), SDK errors into
//! `LifelineError`s, and SDK streams into callbacks and async iterators. Every behaviour
//! (timeouts, retries, breakers, cache, outbox, sessions) is the Rust client's.
//!
//! Every method returns a `Promise` that rejects with a `LifelineError`. TypeScript
//! declarations come from the types themselves (tsify), so the package's `.d.ts` names every
//! option, request, response and error.

mod api;
mod convert;
mod error;
mod events;
mod options;
mod outbox;
mod types;

use futures::StreamExt;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::Client;

pub use api::{
    AppointmentsApi, AuthApi, HospitalsApi, PaymentsApi, PharmaciesApi, PrescriptionsApi,
    ProfileApi, RecordsApi, RegistryApi, TrackingApi,
};
pub use error::is_lifeline_error;
pub use options::ClientOptions;
pub use outbox::OutboxApi;

use convert::{answer, from_js, promise, to_js};
use error::to_js_error;
use events::{subscribe_callback, AsyncIter};
use types::{ApiGroup, BreakerStatus, GroupBreaker, LifelineEvent, SessionState};

/// The Lifeline API client. Create one with `LifelineClient.create(options)`.
#[wasm_bindgen(js_name = LifelineClient)]
pub struct LifelineClient {
    client: Client,
}

/// The browser's outbox drain triggers (back online, page visible, a timer); `stop()`
/// removes them, and so does the garbage collector once nothing references this object:
/// keep it for as long as the triggers should run.
#[wasm_bindgen]
pub struct SyncTriggers {
    guard: Option<crate::outbox::triggers::TriggerGuard>,
}

#[wasm_bindgen]
impl SyncTriggers {
    /// Removes the triggers.
    pub fn stop(&mut self) {
        self.guard = None;
    }
}

#[wasm_bindgen(js_class = LifelineClient)]
impl LifelineClient {
    /// Builds a client from `options` (opening its IndexedDB store when one is asked for).
    #[wasm_bindgen(unchecked_return_type = "Promise<LifelineClient>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "ClientOptions")] options: JsValue,
    ) -> Promise {
        promise(async move {
            let options: ClientOptions = from_js(options, "client options")?;
            let built = match options.builder().await {
                Ok(builder) => builder.build(),
                Err(e) => Err(e),
            };
            match built {
                Ok(client) => Ok(LifelineClient { client }.into()),
                Err(e) => Err(to_js_error(&e)),
            }
        })
    }

    /// Restores the session a previous run left (call on app start). An unreachable
    /// backend leaves the user signed in as `unverified`, never signed out.
    #[wasm_bindgen(unchecked_return_type = "Promise<SessionState>")]
    pub fn restore(&self) -> Promise {
        let client = self.client.clone();
        promise(async move { answer(client.restore().await.map(SessionState::from)) })
    }

    /// Where the session stands now.
    #[wasm_bindgen(js_name = sessionState, unchecked_return_type = "SessionState")]
    pub fn session_state(&self) -> Result<JsValue, JsValue> {
        to_js(&SessionState::from(self.client.session_state()))
    }

    /// The signed-in user (also while `unverified` or `expired`), or `null`.
    #[wasm_bindgen(js_name = currentUser, unchecked_return_type = "User | null")]
    pub fn current_user(&self) -> Result<JsValue, JsValue> {
        to_js(&self.client.current_user())
    }

    /// The last profile the server sent for the signed-in user, or `null`.
    #[wasm_bindgen(js_name = cachedProfile, unchecked_return_type = "Profile | null")]
    pub fn cached_profile(&self) -> Result<JsValue, JsValue> {
        to_js(&self.client.cached_profile())
    }

    /// How many session refreshes this client has sent.
    #[wasm_bindgen(js_name = refreshCount)]
    pub fn refresh_count(&self) -> f64 {
        self.client.refresh_count() as f64
    }

    /// The circuit breaker of every API group.
    #[wasm_bindgen(js_name = breakerStates, unchecked_return_type = "GroupBreaker[]")]
    pub fn breaker_states(&self) -> Result<JsValue, JsValue> {
        let states: Vec<GroupBreaker> = self
            .client
            .breaker_states()
            .into_iter()
            .map(|(group, status)| GroupBreaker {
                group: group.into(),
                status: status.into(),
            })
            .collect();
        to_js(&states)
    }

    /// The circuit breaker of one API group.
    #[wasm_bindgen(js_name = breakerState, unchecked_return_type = "BreakerStatus")]
    pub fn breaker_state(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ApiGroup")] group: JsValue,
    ) -> Result<JsValue, JsValue> {
        let group: ApiGroup = from_js(group, "api group")?;
        to_js(&BreakerStatus::from(
            self.client.breaker_state(group.into()),
        ))
    }

    /// Every event from now on (retries, breaker changes, cache fallbacks, queued and
    /// synced writes, session changes), as an async iterator.
    #[wasm_bindgen(unchecked_return_type = "AsyncIterableIterator<LifelineEvent>")]
    pub fn events(&self) -> JsValue {
        let stream = self
            .client
            .events()
            .filter_map(|e| futures::future::ready(LifelineEvent::from_event(e)));
        AsyncIter::new(stream).into_js()
    }

    /// Calls `callback` with every event from now on; returns the function that stops it.
    #[wasm_bindgen(js_name = onEvent, unchecked_return_type = "() => void")]
    pub fn on_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: LifelineEvent) => void")]
        callback: js_sys::Function,
    ) -> JsValue {
        let stream = self
            .client
            .events()
            .filter_map(|e| futures::future::ready(LifelineEvent::from_event(e)));
        subscribe_callback(stream, callback)
    }

    /// True when `GET /health` answers 2xx (one attempt, outside the circuit breakers). Call
    /// it when the OS reports connectivity again: when the server answers, breaks that only
    /// unanswered calls opened end early, each at a random point within the next 15 s (then
    /// the group turns `half_open`), and queued writes waiting for them are sent within the
    /// outbox's release spread after that; breaks the server's errors opened keep running.
    /// Emits a `reachability_probed` event.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn probe(&self) -> Promise {
        let client = self.client.clone();
        promise(async move { Ok(JsValue::from_bool(client.probe().await)) })
    }

    /// Installs the browser's outbox drain triggers: back online (after a successful probe),
    /// page visible again, and every `intervalMs` (default 30 000; 0 for no timer).
    #[wasm_bindgen(js_name = installSyncTriggers)]
    pub fn install_sync_triggers(
        &self,
        #[wasm_bindgen(js_name = intervalMs)] interval_ms: Option<f64>,
    ) -> Result<SyncTriggers, JsValue> {
        let mut config = crate::outbox::triggers::TriggerConfig::default();
        if let Some(ms) = interval_ms {
            config.interval = if ms > 0.0 {
                Some(convert::duration_ms(ms, "intervalMs").map_err(|e| to_js_error(&e))?)
            } else {
                None
            };
        }
        let guard = self.client.install_sync_triggers(config)?;
        Ok(SyncTriggers { guard: Some(guard) })
    }

    /// Registration, sign-in and sign-out.
    #[wasm_bindgen(getter)]
    pub fn auth(&self) -> AuthApi {
        AuthApi::new(&self.client)
    }

    /// Departments, doctors, availability and appointments.
    #[wasm_bindgen(getter)]
    pub fn appointments(&self) -> AppointmentsApi {
        AppointmentsApi::new(&self.client)
    }

    /// Hospitals and the primary hospital.
    #[wasm_bindgen(getter)]
    pub fn hospitals(&self) -> HospitalsApi {
        HospitalsApi::new(&self.client)
    }

    /// The signed-in user's profile.
    #[wasm_bindgen(getter)]
    pub fn profile(&self) -> ProfileApi {
        ProfileApi::new(&self.client)
    }

    /// Prescriptions and orders.
    #[wasm_bindgen(getter)]
    pub fn prescriptions(&self) -> PrescriptionsApi {
        PrescriptionsApi::new(&self.client)
    }

    /// Medical records behind a one-time code.
    #[wasm_bindgen(getter)]
    pub fn records(&self) -> RecordsApi {
        RecordsApi::new(&self.client)
    }

    /// Pharmacies and nomination.
    #[wasm_bindgen(getter)]
    pub fn pharmacies(&self) -> PharmaciesApi {
        PharmaciesApi::new(&self.client)
    }

    /// The professional registry.
    #[wasm_bindgen(getter)]
    pub fn registry(&self) -> RegistryApi {
        RegistryApi::new(&self.client)
    }

    /// Health tracking sync.
    #[wasm_bindgen(getter)]
    pub fn tracking(&self) -> TrackingApi {
        TrackingApi::new(&self.client)
    }

    /// Payments.
    #[wasm_bindgen(getter)]
    pub fn payments(&self) -> PaymentsApi {
        PaymentsApi::new(&self.client)
    }

    /// The outbox of queued writes.
    #[wasm_bindgen(getter)]
    pub fn outbox(&self) -> OutboxApi {
        OutboxApi {
            client: self.client.clone(),
        }
    }
}
