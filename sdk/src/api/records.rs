//! Medical records behind a one-time code.
//!
//! Records are cached in memory only unless the app opted in with
//! [`RecordsCaching::Persistent`](crate::RecordsCaching::Persistent). The
//! `X-Med-Access-Token` from [`Records::verify_otp`] is kept in memory for the following
//! reads.

use lifeline_types::records::{
    MedAccessToken, MedicalRecords, MedicalRecordsSummary, OtpRequested, VerifyOtpRequest,
};

use crate::client::{Call, Client};
use crate::error::{Error, Result};
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// Medical records. Get one with [`Client::records`].
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    client: &'a Client,
}

impl Client {
    /// Medical records behind a one-time code.
    pub fn records(&self) -> Records<'_> {
        Records { client: self }
    }
}

impl Records<'_> {
    /// `POST /api/medical-records/request-otp`: sends a code to the user's mailbox. Never
    /// retried (each attempt would send another code).
    ///
    /// # Errors
    ///
    /// `429` when asked too often, and the usual transport errors.
    pub async fn request_otp(&self) -> Result<OtpRequested> {
        let call = Call::post(ApiGroup::Records, "/api/medical-records/request-otp");
        self.client.send_json(&call).await
    }

    /// `POST /api/medical-records/verify-otp`: exchanges the code for an access token kept
    /// for the next reads (30 minutes).
    ///
    /// # Errors
    ///
    /// `401`/`422` for a wrong code, `423`/`429` once locked after 5 wrong codes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// client.records().request_otp().await?;
    /// client.records().verify_otp("123456").await?;
    /// let records = client.records().list().await?;
    /// println!("{} allergies", records.value.allergies.len());
    /// # Ok(()) }
    /// ```
    pub async fn verify_otp(&self, code: &str) -> Result<MedAccessToken> {
        let call = Call::post(ApiGroup::Records, "/api/medical-records/verify-otp").json(
            &VerifyOtpRequest {
                code: code.to_string(),
            },
        )?;
        let token: MedAccessToken = self.client.send_json(&call).await?;
        self.client
            .inner
            .session
            .set_med_access_token(Some(token.med_access_token.clone()));
        Ok(token)
    }

    fn with_med_token(&self, call: Call) -> Result<Call> {
        let token = self
            .client
            .inner
            .session
            .med_access_token()
            .ok_or_else(|| Error::builder("medical records need a verified one-time code first"))?;
        Ok(call.header("x-med-access-token", token))
    }

    /// `GET /api/medical-records`: conditions, medications, allergies, vitals, lab results,
    /// immunizations.
    ///
    /// # Errors
    ///
    /// No verified code yet, `401`/`403` when the med access token expired, or a failure
    /// with no cached copy.
    pub async fn list(&self) -> Result<Fetched<MedicalRecords>> {
        let call = self.with_med_token(Call::get(ApiGroup::Records, "/api/medical-records"))?;
        self.client.read(call).await
    }

    /// `GET /api/medical-records/summary`.
    ///
    /// # Errors
    ///
    /// As [`list`](Self::list).
    pub async fn summary(&self) -> Result<Fetched<MedicalRecordsSummary>> {
        let call =
            self.with_med_token(Call::get(ApiGroup::Records, "/api/medical-records/summary"))?;
        self.client.read(call).await
    }
}
