//! Departments, doctors, availability and appointments.

use lifeline_types::appointments::{
    Appointment, Availability, BookAppointment, Cancel, CheckConflict, ConflictCheck, Reschedule,
};
use lifeline_types::hospitals::{Department, Doctor};
use lifeline_types::AppointmentStatus;
use uuid::Uuid;

use crate::client::{encode, query, Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Departments, doctors, availability and appointments. Get one with
/// [`Client::appointments`].
#[derive(Debug, Clone, Copy)]
pub struct Appointments<'a> {
    client: &'a Client,
}

/// Filters of [`Appointments::list`]. Default is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppointmentFilter {
    /// Only appointments in this state.
    pub status: Option<AppointmentStatus>,
    /// Only appointments starting on or after this RFC 3339 time or `YYYY-MM-DD` date.
    pub from: Option<String>,
    /// Only appointments starting before this RFC 3339 time or `YYYY-MM-DD` date.
    pub to: Option<String>,
}

impl Client {
    /// Departments, doctors, availability and appointments.
    pub fn appointments(&self) -> Appointments<'_> {
        Appointments { client: self }
    }
}

impl Appointments<'_> {
    /// `GET /api/departments?hospital_id=`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn departments(&self, hospital_id: Uuid) -> Result<Fetched<Vec<Department>>> {
        let path = query(
            "/api/departments",
            &[("hospital_id", Some(hospital_id.to_string()))],
        );
        self.client
            .read(Call::get(ApiGroup::Appointments, path))
            .await
    }

    /// `GET /api/doctors?department_id=`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn doctors(&self, department_id: Uuid) -> Result<Fetched<Vec<Doctor>>> {
        let path = query(
            "/api/doctors",
            &[("department_id", Some(department_id.to_string()))],
        );
        self.client
            .read(Call::get(ApiGroup::Appointments, path))
            .await
    }

    /// `GET /api/doctors/{id}/availability?date=YYYY-MM-DD`, through the cache.
    ///
    /// # Errors
    ///
    /// A failure with no cached copy to fall back on.
    pub async fn availability(&self, doctor_id: Uuid, date: &str) -> Result<Fetched<Availability>> {
        let path = query(
            &format!("/api/doctors/{doctor_id}/availability"),
            &[("date", Some(date.to_string()))],
        );
        self.client
            .read(Call::get(ApiGroup::Appointments, path))
            .await
    }

    /// `POST /api/appointments/check-conflict`: whether booking `slot_id` would conflict,
    /// with alternatives when it would.
    ///
    /// # Errors
    ///
    /// The usual transport errors.
    pub async fn check_conflict(&self, slot_id: Uuid) -> Result<ConflictCheck> {
        // Only reads: safe to retry, so it gets a key.
        let call = Call::post(ApiGroup::Appointments, "/api/appointments/check-conflict")
            .json(&CheckConflict { slot_id })?
            .idempotent();
        self.client.send_json(&call).await
    }

    /// `GET /api/appointments?status=&from=&to=`, through the cache.
    ///
    /// # Errors
    ///
    /// Not signed in, or a failure with no cached copy to fall back on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// use lifeline_sdk::api::AppointmentFilter;
    /// use lifeline_sdk::types::AppointmentStatus;
    ///
    /// let confirmed = client.appointments().list(AppointmentFilter {
    ///     status: Some(AppointmentStatus::Confirmed),
    ///     ..Default::default()
    /// }).await?;
    /// # let _ = confirmed; Ok(()) }
    /// ```
    pub async fn list(&self, filter: AppointmentFilter) -> Result<Fetched<Vec<Appointment>>> {
        let path = query(
            "/api/appointments",
            &[
                ("status", filter.status.map(|s| s.as_str().to_string())),
                ("from", filter.from),
                ("to", filter.to),
            ],
        );
        self.client
            .read(Call::get(ApiGroup::Appointments, path))
            .await
    }

    /// `GET /api/appointments/{id}`, through the cache.
    ///
    /// # Errors
    ///
    /// `404` for an appointment that is not the user's, or a failure with no cached copy.
    pub async fn get(&self, id: Uuid) -> Result<Fetched<Appointment>> {
        self.client
            .read(Call::get(
                ApiGroup::Appointments,
                format!("/api/appointments/{id}"),
            ))
            .await
    }

    /// `POST /api/appointments`: books a slot. The idempotency key is made here once and
    /// re-sent on every retry, so a retried booking never books twice.
    ///
    /// # Errors
    ///
    /// `409` `slot_taken` with `details.alternatives` when the slot is gone
    /// ([`Error::is_conflict`](crate::Error::is_conflict)), and the usual transport errors.
    /// To book while offline, queue the booking in the outbox instead.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client, slot_id: lifeline_sdk::Uuid) -> Result<(), lifeline_sdk::Error> {
    /// use lifeline_sdk::types::appointments::BookAppointment;
    ///
    /// match client.appointments().book(&BookAppointment { slot_id, reason: None }).await {
    ///     Ok(appointment) => println!("booked {}", appointment.id),
    ///     Err(e) if e.is_conflict() => println!("taken; try {:?}", e.details()),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn book(&self, booking: &BookAppointment) -> Result<Appointment> {
        self.book_with_key(booking, &uuid::Uuid::new_v4().to_string())
            .await
    }

    /// As [`book`](Self::book), with a caller-kept idempotency key (for example an outbox
    /// entry's), so that a booking replayed after a restart is recognised by the server.
    ///
    /// # Errors
    ///
    /// As [`book`](Self::book).
    pub async fn book_with_key(&self, booking: &BookAppointment, key: &str) -> Result<Appointment> {
        let call = Call::post(ApiGroup::Appointments, "/api/appointments")
            .json(booking)?
            .with_key(key);
        self.client.send_json(&call).await
    }

    /// `POST /api/appointments/{id}/cancel`.
    ///
    /// # Errors
    ///
    /// `409` when it can no longer be cancelled, `404`, and the usual transport errors.
    pub async fn cancel(&self, id: Uuid, reason: Option<String>) -> Result<Appointment> {
        let call = Call::post(
            ApiGroup::Appointments,
            format!("/api/appointments/{}/cancel", encode(&id.to_string())),
        )
        .json(&Cancel { reason })?
        .idempotent();
        self.client.send_json(&call).await
    }

    /// `POST /api/appointments/{id}/reschedule`: moves to another slot of the same
    /// department.
    ///
    /// # Errors
    ///
    /// `409` `slot_taken` with alternatives, `404`, and the usual transport errors.
    pub async fn reschedule(&self, id: Uuid, slot_id: Uuid) -> Result<Appointment> {
        let call = Call::post(
            ApiGroup::Appointments,
            format!("/api/appointments/{id}/reschedule"),
        )
        .json(&Reschedule { slot_id })?
        .idempotent();
        self.client.send_json(&call).await
    }

    /// `GET /api/doctor/appointments` (doctor role), through the cache.
    ///
    /// # Errors
    ///
    /// `403` for patients, or a failure with no cached copy to fall back on.
    pub async fn doctor_schedule(&self) -> Result<Fetched<Vec<Appointment>>> {
        self.client
            .read(Call::get(
                ApiGroup::Appointments,
                "/api/doctor/appointments",
            ))
            .await
    }
}
