//! A wrong one-time code is one try, not two: its 401 (`otp_invalid`) is about the code,
//! not the access token, so the client must not refresh the session and send it again.

#![cfg(not(target_arch = "wasm32"))]

mod support;

use support::{register, start};

#[tokio::test]
async fn a_wrong_code_costs_one_try_and_keeps_the_session() {
    let server = start().await;
    let client = server.client();
    register(&client).await;
    client.records().request_otp().await.unwrap();
    let refreshes = server.faults.refresh_calls();

    let first = client.records().verify_otp("000000").await.unwrap_err();
    assert_eq!(
        (first.status(), first.code()),
        (Some(401), Some("otp_invalid"))
    );
    assert!(
        !first.is_auth_expired(),
        "a wrong code is not a lost session"
    );
    let left = |e: &lifeline_sdk::Error| {
        e.details()
            .and_then(|d| d.get("attempts_remaining"))
            .and_then(serde_json::Value::as_u64)
    };
    assert_eq!(left(&first), Some(4), "one wrong code, one try spent");
    let second = client.records().verify_otp("000001").await.unwrap_err();
    assert_eq!(left(&second), Some(3));

    let posts = server
        .faults
        .requests_to("POST", "/api/medical-records/verify-otp");
    assert_eq!(posts.len(), 2, "each wrong code was sent once: {posts:?}");
    assert_eq!(
        server.faults.refresh_calls(),
        refreshes,
        "no refresh for a wrong code"
    );

    // The right code still opens the records, in the same session.
    let email = client.current_user().unwrap().email;
    let code = server.mailed_code(&email).await;
    client.records().verify_otp(&code).await.unwrap();
    assert!(client.records().list().await.is_ok());
}
