//! GET answers carry an ETag; revalidating with it costs a 304 and no body.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use backend_mock::{app, test_state};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn get_carries_an_etag_and_if_none_match_answers_304() {
    let app = app(test_state().await);
    let first = app
        .clone()
        .oneshot(Request::get("/api/hospitals").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let tag = first
        .headers()
        .get(header::ETAG)
        .expect("a GET answer has an ETag")
        .clone();
    let full_body = first.into_body().collect().await.unwrap().to_bytes();
    assert!(!full_body.is_empty());

    let revalidated = app
        .clone()
        .oneshot(
            Request::get("/api/hospitals")
                .header(header::IF_NONE_MATCH, tag.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.headers().get(header::ETAG), Some(&tag));
    assert!(revalidated
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .is_empty());

    let stale_tag = app
        .oneshot(
            Request::get("/api/hospitals")
                .header(header::IF_NONE_MATCH, "\"something-else\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stale_tag.status(), StatusCode::OK);
}

#[tokio::test]
async fn errors_and_writes_are_not_tagged() {
    let app = app(test_state().await);
    let unauthorized = app
        .oneshot(Request::get("/api/profile").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert!(unauthorized.headers().get(header::ETAG).is_none());
}
