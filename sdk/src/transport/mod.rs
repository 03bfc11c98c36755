//! One HTTP transport with the same names on both targets (the reqwest layout): native uses
//! reqwest over hyper, the browser uses reqwest over `fetch` with cookies included so the
//! httpOnly refresh cookie travels. Everything above this module is target-free.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::Transport;

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
pub(crate) use wasm::Transport;

use std::time::Duration;

pub use reqwest::Method;

use crate::error::Error;

/// One attempt, fully described, so a retry re-sends exactly the same bytes.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    /// Attempt timeout: the transport aborts the request after this long.
    pub timeout: Duration,
}

/// A complete answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn map_reqwest_error(err: reqwest::Error) -> Error {
    if err.is_timeout() {
        Error::timeout()
    } else if err.is_builder() {
        Error::builder(err.to_string())
    } else {
        Error::network(err.to_string())
    }
}

async fn read_response(resp: reqwest::Response) -> Result<HttpResponse, Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(map_reqwest_error)?.to_vec();
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn build_request(client: &reqwest::Client, req: HttpRequest) -> reqwest::RequestBuilder {
    let mut builder = client
        .request(req.method, &req.url)
        .timeout(req.timeout.max(Duration::from_millis(1)));
    for (name, value) in req.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = req.body {
        builder = builder
            .header("content-type", "application/json")
            .body(body);
    }
    builder
}
