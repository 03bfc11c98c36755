//! Dev-only routes exist in dev mode and nowhere else.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use backend_mock::{app, test_state_with, Config};
use tower::ServiceExt;

async fn status_of(dev: bool, uri: &str) -> StatusCode {
    let config = Config {
        dev,
        ..Config::for_tests()
    };
    let app = app(test_state_with(config).await);
    let req = Request::get(uri).body(Body::empty()).unwrap();
    app.oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn dev_mailbox_and_chaos_exist_only_in_dev_mode() {
    for uri in ["/__dev/mailbox?email=patient@demo.lifeline", "/__chaos"] {
        assert_eq!(
            status_of(true, uri).await,
            StatusCode::OK,
            "{uri} in dev mode"
        );
        assert_eq!(
            status_of(false, uri).await,
            StatusCode::NOT_FOUND,
            "{uri} outside dev mode"
        );
    }
}
