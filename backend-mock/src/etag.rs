//! Conditional GETs: every successful JSON `GET /api/...` answer carries a strong `ETag` (a hash
//! of the body), and a request whose `If-None-Match` names the current tag gets `304 Not
//! Modified` with no body. Clients that cache (the SDK's stale-if-error cache) revalidate for
//! the price of a header instead of the whole document.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};

/// Larger bodies are passed through untagged rather than buffered.
const MAX_TAGGED_BODY: usize = 4 * 1024 * 1024;

/// Axum middleware adding `ETag` and answering `If-None-Match` on `GET /api/...`.
pub async fn conditional_get(req: Request, next: Next) -> Response {
    if req.method() != Method::GET || !req.uri().path().starts_with("/api/") {
        return next.run(req).await;
    }
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::ETAG) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            // Pass the failure on as it was (a body that fails makes hyper drop the
            // connection, which is what the chaos layer's `drop` relies on): never turn it
            // into an answer the client could mistake for the server's.
            let failed = futures::stream::once(async move { Err::<Bytes, _>(err) });
            return Response::from_parts(parts, Body::from_stream(failed));
        }
    };
    if bytes.len() > MAX_TAGGED_BODY {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let digest = Sha256::digest(&bytes);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    let tag_value = HeaderValue::from_str(&tag).expect("hex in quotes is a valid header value");
    // The data is the patient's own: private caches only, and always revalidated.
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if if_none_match.is_some_and(|v| matches(&v, &tag)) {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [header::CACHE_CONTROL, header::VARY] {
            if let Some(v) = parts.headers.get(&name) {
                not_modified.headers_mut().insert(name, v.clone());
            }
        }
        not_modified.headers_mut().insert(header::ETAG, tag_value);
        return not_modified;
    }
    parts.headers.insert(header::ETAG, tag_value);
    Response::from_parts(parts, Body::from(bytes))
}

/// `If-None-Match` is `*` or a comma-separated list of (possibly weak) tags.
fn matches(header_value: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = header_value.to_str() else {
        return false;
    };
    text.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_lists_and_weak_tags_match() {
        let tag = "\"abc\"";
        assert!(matches(&HeaderValue::from_static("\"abc\""), tag));
        assert!(matches(&HeaderValue::from_static("\"x\", W/\"abc\""), tag));
        assert!(matches(&HeaderValue::from_static("*"), tag));
        assert!(!matches(&HeaderValue::from_static("\"abd\""), tag));
    }
}
