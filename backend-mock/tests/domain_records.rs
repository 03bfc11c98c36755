//! Medical records behind a one-time code: the code reaches only the mailbox, is stored
//! hashed, expires, locks after five wrong tries; records need the resulting access token.

mod domain_common;

use axum::http::{Method, StatusCode};
use backend_mock::auth::Role;
use backend_mock::Config;
use domain_common::{Answer, Api, User};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Reads the latest code from the dev mailbox over HTTP (`records::dev_routes`).
async fn mailed_code(api: &Api, user: &User) -> String {
    let (router, _) = backend_mock::routes::records::dev_routes().split_for_parts();
    let router = router.with_state(api.state.clone());
    let req = axum::http::Request::builder()
        .uri(format!("/__dev/mailbox?email={}", user.email))
        .body(axum::body::Body::empty())
        .expect("request");
    let res = router.oneshot(req).await.expect("answers");
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .expect("body");
    let messages: Value = serde_json::from_slice(&bytes).expect("json");
    let body = messages[0]["body"].as_str().expect("a message").to_string();
    let digits: Vec<char> = body.chars().collect();
    digits
        .windows(6)
        .map(|w| w.iter().collect::<String>())
        .find(|w| w.chars().all(|c| c.is_ascii_digit()))
        .expect("the message holds a 6-digit code")
}

async fn request_otp(api: &Api, user: &User) -> Answer {
    api.post(
        "/api/medical-records/request-otp",
        Some(user),
        None,
        json!({}),
    )
    .await
}

async fn verify(api: &Api, user: &User, code: &str) -> Answer {
    api.post(
        "/api/medical-records/verify-otp",
        Some(user),
        None,
        json!({ "code": code }),
    )
    .await
}

async fn records(api: &Api, user: &User, token: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("x-med-access-token", t)])
        .unwrap_or_default();
    api.call(
        Method::GET,
        "/api/medical-records",
        Some(user),
        &headers,
        None,
    )
    .await
}

fn wrong(code: &str) -> String {
    let n: u32 = code.parse().expect("digits");
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn the_code_reaches_only_the_mailbox_and_opens_the_records() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;

    let requested = request_otp(&api, &patient).await;
    assert_eq!(requested.status, StatusCode::ACCEPTED);
    assert_eq!(requested.body["expires_in"], 600);
    let code = mailed_code(&api, &patient).await;
    assert!(!requested.body.to_string().contains(&code));
    for (_, value) in requested.headers.iter() {
        assert!(!value.to_str().unwrap_or("").contains(&code));
    }
    // Stored hashed, never as the code itself.
    let stored: String = sqlx::query_scalar("SELECT code_hash FROM otp_codes WHERE user_id = ?")
        .bind(patient.id.to_string())
        .fetch_one(&api.state.db)
        .await
        .expect("row");
    assert!(!stored.contains(&code));

    let no_token = records(&api, &patient, None).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(no_token.code(), "med_access_required");

    let verified = verify(&api, &patient, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{:?}", verified.body);
    assert_eq!(verified.body["expires_in"], 1800);
    let token = verified.body["med_access_token"]
        .as_str()
        .expect("token")
        .to_string();

    let full = records(&api, &patient, Some(&token)).await;
    assert_eq!(full.status, StatusCode::OK);
    for section in [
        "conditions",
        "medications",
        "allergies",
        "vitals",
        "lab_results",
        "immunizations",
    ] {
        assert!(
            !full.body[section].as_array().expect(section).is_empty(),
            "{section} is seeded"
        );
    }
    let summary = api
        .call(
            Method::GET,
            "/api/medical-records/summary",
            Some(&patient),
            &[("x-med-access-token", &token)],
            None,
        )
        .await;
    assert_eq!(summary.status, StatusCode::OK);
    assert_eq!(summary.body["allergies"], 2);
    assert!(
        summary.body["latest_vitals"]
            .as_array()
            .expect("vitals")
            .len()
            >= 3
    );

    // The code is single-use.
    let reused = verify(&api, &patient, &code).await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.code(), "otp_not_requested");

    // Another user cannot use this token, nor read without a bearer token.
    let other = api.new_user(Role::Patient).await;
    let stolen = records(&api, &other, Some(&token)).await;
    assert_eq!(stolen.status, StatusCode::FORBIDDEN);
    assert_eq!(stolen.code(), "med_access_invalid");
    let anonymous = api
        .call(
            Method::GET,
            "/api/medical-records",
            None,
            &[("x-med-access-token", &token)],
            None,
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    // A user with no records gets empty sections after their own code.
    request_otp(&api, &other).await;
    let code = mailed_code(&api, &other).await;
    let token = verify(&api, &other, &code).await.body["med_access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let empty = records(&api, &other, Some(&token)).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["conditions"], json!([]));
}

#[tokio::test]
async fn five_wrong_codes_lock_for_fifteen_minutes() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    request_otp(&api, &patient).await;
    let code = mailed_code(&api, &patient).await;
    let bad = wrong(&code);
    for remaining in (1..=4).rev() {
        let res = verify(&api, &patient, &bad).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.code(), "otp_invalid");
        assert_eq!(
            res.body["error"]["details"]["attempts_remaining"],
            remaining
        );
    }
    let locked = verify(&api, &patient, &bad).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.code(), "otp_locked");
    let retry_after: u64 = locked.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((890..=900).contains(&retry_after), "{retry_after}");

    // Locked: the right code and a new code are both refused.
    let right = verify(&api, &patient, &code).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let again = request_otp(&api, &patient).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(again.code(), "otp_locked");

    // Once the lock has run out, a new code works and the count starts again.
    sqlx::query("UPDATE otp_codes SET locked_until = '2000-01-01T00:00:00Z' WHERE user_id = ?")
        .bind(patient.id.to_string())
        .execute(&api.state.db)
        .await
        .expect("update");
    assert_eq!(
        request_otp(&api, &patient).await.status,
        StatusCode::ACCEPTED
    );
    let code = mailed_code(&api, &patient).await;
    let res = verify(&api, &patient, &wrong(&code)).await;
    assert_eq!(res.body["error"]["details"]["attempts_remaining"], 4);
    assert_eq!(verify(&api, &patient, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_codes_count_across_new_codes() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    request_otp(&api, &patient).await;
    let code = mailed_code(&api, &patient).await;
    for _ in 0..3 {
        verify(&api, &patient, &wrong(&code)).await;
    }
    request_otp(&api, &patient).await;
    let code = mailed_code(&api, &patient).await;
    let res = verify(&api, &patient, &wrong(&code)).await;
    assert_eq!(res.body["error"]["details"]["attempts_remaining"], 1);
}

#[tokio::test]
async fn expired_codes_and_tokens_are_refused() {
    let api = Api::new().await;
    let patient = api.demo_patient().await;
    let none = verify(&api, &patient, "123456").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.code(), "otp_not_requested");

    request_otp(&api, &patient).await;
    let code = mailed_code(&api, &patient).await;
    sqlx::query("UPDATE otp_codes SET expires_at = '2000-01-01T00:00:00Z' WHERE user_id = ?")
        .bind(patient.id.to_string())
        .execute(&api.state.db)
        .await
        .expect("update");
    let expired = verify(&api, &patient, &code).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.code(), "otp_expired");

    request_otp(&api, &patient).await;
    let code = mailed_code(&api, &patient).await;
    let token = verify(&api, &patient, &code).await.body["med_access_token"]
        .as_str()
        .expect("token")
        .to_string();
    sqlx::query("UPDATE med_access_tokens SET expires_at = '2000-01-01T00:00:00Z'")
        .execute(&api.state.db)
        .await
        .expect("update");
    let res = records(&api, &patient, Some(&token)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "med_access_expired");
}

#[tokio::test]
async fn the_mailbox_route_does_not_exist_outside_dev_mode() {
    let api = Api::with_state(
        backend_mock::test_state_with(Config {
            dev: false,
            ..Config::for_tests()
        })
        .await,
    );
    let res = api
        .get("/__dev/mailbox?email=patient@demo.lifeline", None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
