//! Browser transport: reqwest over `fetch`, credentials included (the refresh cookie is
//! httpOnly), the attempt timeout aborting the fetch.

use super::{build_request, map_reqwest_error, read_response, HttpRequest, HttpResponse};
use crate::error::Error;

/// The HTTP transport (browser).
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
}

impl Transport {
    /// The browser sets its own `User-Agent`; setting one would only trigger CORS preflights.
    pub fn new(_user_agent: &str) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::builder(e.to_string()))?;
        Ok(Transport { client })
    }

    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        let resp = build_request(&self.client, req)
            .fetch_credentials_include()
            .send()
            .await
            .map_err(map_reqwest_error)?;
        read_response(resp).await
    }
}
