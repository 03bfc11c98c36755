//! One class per API group, as in Rust (`client.appointments.list()`), each method converting
//! its arguments, calling the Rust method, and converting the answer. Reads resolve with a
//! `Fetched<T>` (value and freshness); writes with the server's reply.

use js_sys::{Object, Promise, Reflect};
use lifeline_types::appointments::BookAppointment;
use lifeline_types::auth::RegisterRequest;
use lifeline_types::prescriptions::CreatePrescriptionRequest;
use lifeline_types::profile::ProfileUpdate;
use lifeline_types::tracking::{TrackingBatch, TrackingKind};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::Client;

use super::convert::{answer, duration_ms, from_js, from_js_or_default, promise, to_js, uuid};
use super::error::to_js_error;
use super::types::{AppointmentFilter, Fetched, PendingPayment};

/// Runs `$body` (an async block body that has `$c`, a clone of the client) as a `Promise`.
macro_rules! run {
    ($self:ident, $c:ident => $body:expr) => {{
        let $c = $self.client.clone();
        promise(async move { $body })
    }};
}

macro_rules! group {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[wasm_bindgen]
        pub struct $name {
            client: Client,
        }

        impl $name {
            pub(crate) fn new(client: &Client) -> Self {
                $name {
                    client: client.clone(),
                }
            }
        }
    };
}

/// A read's answer as `Fetched<T>`.
fn fetched<T: serde::Serialize>(
    result: crate::Result<crate::Fetched<T>>,
) -> super::convert::JsResult {
    answer(result.map(Fetched::from))
}

group!(
    /// Registration, sign-in and sign-out: `client.auth`.
    AuthApi
);

#[wasm_bindgen]
impl AuthApi {
    /// Creates an account and signs in.
    #[wasm_bindgen(unchecked_return_type = "Promise<User>")]
    pub fn register(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RegisterRequest")] request: JsValue,
    ) -> Promise {
        run!(self, c => {
            let request: RegisterRequest = from_js(request, "register request")?;
            answer(c.auth().register(&request).await)
        })
    }

    /// Signs in with email and password.
    #[wasm_bindgen(unchecked_return_type = "Promise<User>")]
    pub fn login(&self, email: String, password: String) -> Promise {
        run!(self, c => answer(c.auth().login(&email, &password).await))
    }

    /// Signs out: tells the server (best effort), then wipes this user's cached data,
    /// queued writes and stored session.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn logout(&self) -> Promise {
        run!(self, c => c.auth().logout().await.map(|()| JsValue::UNDEFINED).map_err(|e| to_js_error(&e)))
    }

    /// Checks an access token (the service-to-service check).
    #[wasm_bindgen(js_name = validateToken, unchecked_return_type = "Promise<ValidateTokenResponse>")]
    pub fn validate_token(&self, token: String) -> Promise {
        run!(self, c => answer(c.auth().validate_token(&token).await))
    }
}

group!(
    /// Departments, doctors, availability and appointments: `client.appointments`.
    AppointmentsApi
);

#[wasm_bindgen]
impl AppointmentsApi {
    /// A hospital's departments, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Department[]>>")]
    pub fn departments(
        &self,
        #[wasm_bindgen(js_name = hospitalId)] hospital_id: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&hospital_id, "hospital id")?;
            fetched(c.appointments().departments(id).await)
        })
    }

    /// A department's doctors, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Doctor[]>>")]
    pub fn doctors(
        &self,
        #[wasm_bindgen(js_name = departmentId)] department_id: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&department_id, "department id")?;
            fetched(c.appointments().doctors(id).await)
        })
    }

    /// A doctor's slots on `date` (`YYYY-MM-DD`), through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Availability>>")]
    pub fn availability(
        &self,
        #[wasm_bindgen(js_name = doctorId)] doctor_id: String,
        date: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&doctor_id, "doctor id")?;
            fetched(c.appointments().availability(id, &date).await)
        })
    }

    /// Whether booking `slotId` would conflict, with alternatives when it would.
    #[wasm_bindgen(js_name = checkConflict, unchecked_return_type = "Promise<ConflictCheck>")]
    pub fn check_conflict(&self, #[wasm_bindgen(js_name = slotId)] slot_id: String) -> Promise {
        run!(self, c => {
            let id = uuid(&slot_id, "slot id")?;
            answer(c.appointments().check_conflict(id).await)
        })
    }

    /// The signed-in user's appointments, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Appointment[]>>")]
    pub fn list(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "AppointmentFilter")] filter: JsValue,
    ) -> Promise {
        run!(self, c => {
            let filter: AppointmentFilter = from_js_or_default(filter, "appointment filter")?;
            fetched(c.appointments().list(filter.into()).await)
        })
    }

    /// One appointment, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Appointment>>")]
    pub fn get(&self, id: String) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "appointment id")?;
            fetched(c.appointments().get(id).await)
        })
    }

    /// Books a slot now (a `slot_taken` conflict rejects with `isConflict()` and
    /// `details.alternatives`). Pass `idempotencyKey` to make a replay recognisable; to book
    /// while offline, queue `{ type: "book_appointment", data }` in the outbox instead.
    #[wasm_bindgen(unchecked_return_type = "Promise<Appointment>")]
    pub fn book(
        &self,
        #[wasm_bindgen(unchecked_param_type = "BookAppointment")] booking: JsValue,
        #[wasm_bindgen(js_name = idempotencyKey)] idempotency_key: Option<String>,
    ) -> Promise {
        run!(self, c => {
            let booking: BookAppointment = from_js(booking, "booking")?;
            let api = c.appointments();
            answer(match idempotency_key {
                Some(key) => api.book_with_key(&booking, &key).await,
                None => api.book(&booking).await,
            })
        })
    }

    /// Cancels an appointment.
    #[wasm_bindgen(unchecked_return_type = "Promise<Appointment>")]
    pub fn cancel(&self, id: String, reason: Option<String>) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "appointment id")?;
            answer(c.appointments().cancel(id, reason).await)
        })
    }

    /// Moves an appointment to another slot of the same department.
    #[wasm_bindgen(unchecked_return_type = "Promise<Appointment>")]
    pub fn reschedule(
        &self,
        id: String,
        #[wasm_bindgen(js_name = slotId)] slot_id: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "appointment id")?;
            let slot = uuid(&slot_id, "slot id")?;
            answer(c.appointments().reschedule(id, slot).await)
        })
    }

    /// The signed-in doctor's schedule, through the cache.
    #[wasm_bindgen(js_name = doctorSchedule, unchecked_return_type = "Promise<Fetched<Appointment[]>>")]
    pub fn doctor_schedule(&self) -> Promise {
        run!(self, c => fetched(c.appointments().doctor_schedule().await))
    }
}

group!(
    /// Hospitals and the primary hospital: `client.hospitals`.
    HospitalsApi
);

#[wasm_bindgen]
impl HospitalsApi {
    /// Every hospital, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Hospital[]>>")]
    pub fn list(&self) -> Promise {
        run!(self, c => fetched(c.hospitals().list().await))
    }

    /// The signed-in user's primary hospital, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<PrimaryHospital>>")]
    pub fn primary(&self) -> Promise {
        run!(self, c => fetched(c.hospitals().primary().await))
    }

    /// Sets the primary hospital.
    #[wasm_bindgen(js_name = setPrimary, unchecked_return_type = "Promise<PrimaryHospital>")]
    pub fn set_primary(
        &self,
        #[wasm_bindgen(js_name = hospitalId)] hospital_id: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&hospital_id, "hospital id")?;
            answer(c.hospitals().set_primary(id).await)
        })
    }
}

group!(
    /// The signed-in user's profile: `client.profile`.
    ProfileApi
);

#[wasm_bindgen]
impl ProfileApi {
    /// The profile, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Profile>>")]
    pub fn get(&self) -> Promise {
        run!(self, c => fetched(c.profile().get().await))
    }

    /// Changes some profile fields.
    #[wasm_bindgen(unchecked_return_type = "Promise<Profile>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProfileUpdate")] update: JsValue,
    ) -> Promise {
        run!(self, c => {
            let update: ProfileUpdate = from_js(update, "profile update")?;
            answer(c.profile().update(&update).await)
        })
    }
}

group!(
    /// Prescriptions and orders: `client.prescriptions`.
    PrescriptionsApi
);

#[wasm_bindgen]
impl PrescriptionsApi {
    /// The signed-in user's prescriptions, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Prescription[]>>")]
    pub fn list(&self) -> Promise {
        run!(self, c => fetched(c.prescriptions().list().await))
    }

    /// One prescription, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Prescription>>")]
    pub fn get(&self, id: String) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "prescription id")?;
            fetched(c.prescriptions().get(id).await)
        })
    }

    /// Orders a prescription from `pharmacyId`, or from the nominated pharmacy.
    #[wasm_bindgen(unchecked_return_type = "Promise<Prescription>")]
    pub fn order(
        &self,
        id: String,
        #[wasm_bindgen(js_name = pharmacyId)] pharmacy_id: Option<String>,
        #[wasm_bindgen(js_name = idempotencyKey)] idempotency_key: Option<String>,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "prescription id")?;
            let pharmacy = pharmacy_id.map(|p| uuid(&p, "pharmacy id")).transpose()?;
            let api = c.prescriptions();
            answer(match idempotency_key {
                Some(key) => api.order_with_key(id, pharmacy, &key).await,
                None => api.order(id, pharmacy).await,
            })
        })
    }

    /// Writes a prescription (doctor role).
    #[wasm_bindgen(unchecked_return_type = "Promise<Prescription>")]
    pub fn create(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CreatePrescriptionRequest")] request: JsValue,
    ) -> Promise {
        run!(self, c => {
            let request: CreatePrescriptionRequest = from_js(request, "prescription")?;
            answer(c.prescriptions().create(&request).await)
        })
    }
}

group!(
    /// Medical records behind a one-time code: `client.records`.
    RecordsApi
);

#[wasm_bindgen]
impl RecordsApi {
    /// Sends a one-time code to the signed-in user.
    #[wasm_bindgen(js_name = requestOtp, unchecked_return_type = "Promise<OtpRequested>")]
    pub fn request_otp(&self) -> Promise {
        run!(self, c => answer(c.records().request_otp().await))
    }

    /// Exchanges the code for a short-lived records token, kept by the client.
    #[wasm_bindgen(js_name = verifyOtp, unchecked_return_type = "Promise<MedAccessToken>")]
    pub fn verify_otp(&self, code: String) -> Promise {
        run!(self, c => answer(c.records().verify_otp(&code).await))
    }

    /// The medical records, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<MedicalRecords>>")]
    pub fn list(&self) -> Promise {
        run!(self, c => fetched(c.records().list().await))
    }

    /// The records summary, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<MedicalRecordsSummary>>")]
    pub fn summary(&self) -> Promise {
        run!(self, c => fetched(c.records().summary().await))
    }
}

/// A position for `pharmacies.search()`.
#[derive(Debug, Clone, Copy, Deserialize, tsify::Tsify)]
#[serde(deny_unknown_fields)]
pub struct LatLng {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lng: f64,
}

group!(
    /// Pharmacies and nomination: `client.pharmacies`.
    PharmaciesApi
);

#[wasm_bindgen]
impl PharmaciesApi {
    /// Pharmacies matching `q`, nearest to `near` first, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<Pharmacy[]>>")]
    pub fn search(
        &self,
        q: Option<String>,
        #[wasm_bindgen(unchecked_optional_param_type = "LatLng")] near: JsValue,
    ) -> Promise {
        run!(self, c => {
            let near: Option<LatLng> = from_js(near, "position")?;
            fetched(c.pharmacies().search(q.as_deref(), near.map(|p| (p.lat, p.lng))).await)
        })
    }

    /// Nominates a pharmacy.
    #[wasm_bindgen(unchecked_return_type = "Promise<NominatedPharmacy>")]
    pub fn nominate(
        &self,
        id: String,
        #[wasm_bindgen(js_name = idempotencyKey)] idempotency_key: Option<String>,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&id, "pharmacy id")?;
            let api = c.pharmacies();
            answer(match idempotency_key {
                Some(key) => api.nominate_with_key(id, &key).await,
                None => api.nominate(id).await,
            })
        })
    }

    /// The nominated pharmacy, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<NominatedPharmacy>>")]
    pub fn nominated(&self) -> Promise {
        run!(self, c => fetched(c.pharmacies().nominated().await))
    }
}

group!(
    /// The professional registry: `client.registry`.
    RegistryApi
);

#[wasm_bindgen]
impl RegistryApi {
    /// Registry entries matching `q`, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<RegistryEntry[]>>")]
    pub fn search(&self, q: String) -> Promise {
        run!(self, c => fetched(c.registry().search(&q).await))
    }

    /// Checks a licence number, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<LicenseVerification>>")]
    pub fn verify(
        &self,
        #[wasm_bindgen(js_name = licenseNumber)] license_number: String,
    ) -> Promise {
        run!(self, c => fetched(c.registry().verify(&license_number).await))
    }

    /// Registry statistics, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<RegistryStatistics>>")]
    pub fn statistics(&self) -> Promise {
        run!(self, c => fetched(c.registry().statistics().await))
    }
}

group!(
    /// Health tracking sync: `client.tracking`.
    TrackingApi
);

#[wasm_bindgen]
impl TrackingApi {
    /// Items of one tracker changed after cursor `since`, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<TrackingPage>>")]
    pub fn changes(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrackingKind")] kind: JsValue,
        since: Option<f64>,
    ) -> Promise {
        run!(self, c => {
            let kind: TrackingKind = from_js(kind, "tracking kind")?;
            fetched(c.tracking().changes(kind, since.map(|s| s as i64)).await)
        })
    }

    /// Uploads a batch of items (last writer wins per item).
    #[wasm_bindgen(unchecked_return_type = "Promise<TrackingSyncResult>")]
    pub fn upsert(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrackingKind")] kind: JsValue,
        #[wasm_bindgen(unchecked_param_type = "TrackingBatch")] batch: JsValue,
        #[wasm_bindgen(js_name = idempotencyKey)] idempotency_key: Option<String>,
    ) -> Promise {
        run!(self, c => {
            let kind: TrackingKind = from_js(kind, "tracking kind")?;
            let batch: TrackingBatch = from_js(batch, "tracking batch")?;
            let api = c.tracking();
            answer(match idempotency_key {
                Some(key) => api.upsert_with_key(kind, &batch, &key).await,
                None => api.upsert(kind, &batch).await,
            })
        })
    }
}

group!(
    /// Payments: `client.payments`.
    PaymentsApi
);

#[wasm_bindgen(typescript_custom_section)]
const RESUMED_PAYMENT_TS: &'static str = r#"
/** What `payments.resumePending()` found for one payment. */
export interface ResumedPayment {
  payment: PendingPayment;
  /** The verification, when it got an answer. */
  result?: VerifyPaymentResponse;
  /** Why the verification failed. */
  error?: LifelineError;
}
"#;

#[wasm_bindgen]
impl PaymentsApi {
    /// Payments started on this device and not yet known to be settled.
    #[wasm_bindgen(unchecked_return_type = "Promise<PendingPayment[]>")]
    pub fn pending(&self) -> Promise {
        run!(self, c => {
            let pending = c.payments().pending().await;
            answer(pending.map(|p| p.into_iter().map(PendingPayment::from).collect::<Vec<_>>()))
        })
    }

    /// Whether payments are available, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<PaymentsStatus>>")]
    pub fn status(&self) -> Promise {
        run!(self, c => fetched(c.payments().status().await))
    }

    /// Starts paying for an appointment (a retried start is the same payment).
    #[wasm_bindgen(unchecked_return_type = "Promise<InitializePaymentResponse>")]
    pub fn start(
        &self,
        #[wasm_bindgen(js_name = appointmentId)] appointment_id: String,
    ) -> Promise {
        run!(self, c => {
            let id = uuid(&appointment_id, "appointment id")?;
            answer(c.payments().start(id).await)
        })
    }

    /// Verifies a payment, asking again while it is pending or the server is unreachable,
    /// for up to `patienceMs` (default 120 000).
    #[wasm_bindgen(unchecked_return_type = "Promise<VerifyPaymentResponse>")]
    pub fn verify(
        &self,
        reference: String,
        #[wasm_bindgen(js_name = patienceMs)] patience_ms: Option<f64>,
    ) -> Promise {
        run!(self, c => {
            let api = c.payments();
            answer(match patience_ms {
                Some(ms) => match duration_ms(ms, "patienceMs") {
                    Ok(patience) => api.verify_with_patience(&reference, patience).await,
                    Err(e) => Err(e),
                },
                None => api.verify(&reference).await,
            })
        })
    }

    /// Verifies every payment this device started and has not seen settled.
    #[wasm_bindgen(js_name = resumePending, unchecked_return_type = "Promise<ResumedPayment[]>")]
    pub fn resume_pending(&self) -> Promise {
        run!(self, c => {
            let resumed = c.payments().resume_pending().await.map_err(|e| to_js_error(&e))?;
            let out = js_sys::Array::new();
            for (payment, result) in resumed {
                let item = Object::new();
                let _ = Reflect::set(&item, &"payment".into(), &to_js(&PendingPayment::from(payment))?);
                match result {
                    Ok(answer) => {
                        let _ = Reflect::set(&item, &"result".into(), &to_js(&answer)?);
                    }
                    Err(e) => {
                        let _ = Reflect::set(&item, &"error".into(), &to_js_error(&e));
                    }
                }
                out.push(&item);
            }
            Ok(out.into())
        })
    }

    /// The signed-in user's payments, through the cache.
    #[wasm_bindgen(unchecked_return_type = "Promise<Fetched<PaymentRecord[]>>")]
    pub fn history(&self) -> Promise {
        run!(self, c => fetched(c.payments().history().await))
    }
}
