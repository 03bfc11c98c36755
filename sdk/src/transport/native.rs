//! Native transport: reqwest on tokio.

use super::{build_request, map_reqwest_error, read_response, HttpRequest, HttpResponse};
use crate::error::Error;

/// The HTTP transport (native).
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
}

impl Transport {
    pub fn new(user_agent: &str) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .build()
            .map_err(|e| Error::builder(e.to_string()))?;
        Ok(Transport { client })
    }

    pub async fn send(&self, req: HttpRequest) -> Result<HttpResponse, Error> {
        let resp = build_request(&self.client, req)
            .send()
            .await
            .map_err(map_reqwest_error)?;
        read_response(resp).await
    }
}
