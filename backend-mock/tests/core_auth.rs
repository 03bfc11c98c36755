//! Auth routes: register, login, refresh rotation and reuse detection, logout, validate-token,
//! login rate limit, and the 401 every protected route answers without a valid token.

mod core_support;

use axum::http::{Method, StatusCode};
use backend_mock::seed::{DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD};
use backend_mock::{app, test_state};
use core_support::{call, get, login_reply, post};
use serde_json::json;

#[tokio::test]
async fn register_then_login_returns_tokens_and_cookie() {
    let state = test_state().await;
    let app = app(state.clone());
    let reply = post(
        &app,
        "/api/auth/register",
        None,
        json!({"email": " New.User@Example.com ", "password": "long-enough-1", "name": " Ngozi Eze "}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["user"]["email"], "new.user@example.com");
    assert_eq!(reply.body["user"]["name"], "Ngozi Eze");
    assert_eq!(reply.body["user"]["role"], "patient");
    assert_eq!(reply.body["expires_in"], 900);

    let reply = login_reply(&app, "NEW.USER@example.com", "long-enough-1").await;
    assert_eq!(reply.status, StatusCode::OK);
    let access = reply.body["access_token"].as_str().unwrap();
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    let cookie = reply.header("set-cookie").unwrap();
    assert!(cookie.starts_with(&format!("lifeline_refresh={refresh};")));
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/auth"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }
    // The stored token is a hash, never the token itself.
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&state.db)
        .await
        .unwrap();
    assert!(!stored.iter().any(|h| h == refresh));

    let profile = get(&app, "/api/profile", Some(access)).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.body["email"], "new.user@example.com");
}

#[tokio::test]
async fn register_rejects_bad_input_and_writes_nothing() {
    let state = test_state().await;
    let app = app(state.clone());
    let users = |db| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users")
            .fetch_one(db)
            .await
            .unwrap()
    };
    let before = users(&state.db).await;
    for (body, field) in [
        (
            json!({"email": "not-an-email", "password": "long-enough-1", "name": "A"}),
            "email",
        ),
        (
            json!({"email": "a@b.co", "password": "short", "name": "A"}),
            "password",
        ),
        (
            json!({"email": "a@b.co", "password": "long-enough-1", "name": "  "}),
            "name",
        ),
    ] {
        let reply = post(&app, "/api/auth/register", None, body).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.code(), "validation_failed");
        assert_eq!(reply.body["error"]["details"]["field"], field);
        assert!(!reply.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let reply = post(&app, "/api/auth/register", None, json!({"email": "a@b.co"})).await;
    assert!(reply.status.is_client_error());
    assert!(reply.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("password"));
    assert_eq!(users(&state.db).await, before);

    let taken = post(
        &app,
        "/api/auth/register",
        None,
        json!({"email": DEMO_PATIENT_EMAIL.to_uppercase(), "password": "long-enough-1", "name": "Copy"}),
    )
    .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.code(), "email_taken");
    assert_eq!(users(&state.db).await, before);
}

#[tokio::test]
async fn wrong_password_is_401_and_missing_or_bad_token_is_401() {
    let app = app(test_state().await);
    let reply = login_reply(&app, DEMO_PATIENT_EMAIL, "wrong-password").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "invalid_credentials");
    let reply = login_reply(&app, "nobody@example.com", "whatever-pass").await;
    assert_eq!(reply.code(), "invalid_credentials");

    for path in [
        "/api/profile",
        "/api/appointments",
        "/api/user/primary-hospital",
        "/api/doctor/appointments",
    ] {
        let reply = get(&app, path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(reply.code(), "unauthorized");
        assert!(reply.body["error"]["request_id"].is_string());
        let forged = get(&app, path, Some("eyJhbGciOiJIUzI1NiJ9.e30.bad")).await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = app(test_state().await);
    let login = login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
    let first = login.body["refresh_token"].as_str().unwrap().to_string();

    // Native client: token in the body.
    let second = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": first}),
    )
    .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second_token = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_token, first);
    assert!(second.body["access_token"].is_string());

    // Browser: token in the cookie, empty body.
    let third = call(
        &app,
        Method::POST,
        "/api/auth/refresh",
        None,
        None,
        &[(
            "cookie",
            &format!("theme=dark; lifeline_refresh={second_token}"),
        )],
    )
    .await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    let third_token = third.body["refresh_token"].as_str().unwrap().to_string();
    assert!(third.header("set-cookie").unwrap().contains(&third_token));

    // The first token again: theft assumed, the whole family is revoked.
    let reused = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": first}),
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.code(), "refresh_reused");
    let latest = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": third_token}),
    )
    .await;
    assert_eq!(latest.status, StatusCode::UNAUTHORIZED);

    // Another login is another family and still works.
    let other = login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
    let other = other.body["refresh_token"].as_str().unwrap();
    let ok = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": other}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);

    let missing = post(&app, "/api/auth/refresh", None, json!({})).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    let unknown = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": "nope"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_and_clears_the_cookie() {
    let app = app(test_state().await);
    let login = login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
    let token = login.body["refresh_token"].as_str().unwrap();
    let out = call(
        &app,
        Method::POST,
        "/api/auth/logout",
        None,
        None,
        &[("cookie", &format!("lifeline_refresh={token}"))],
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let cookie = out.header("set-cookie").unwrap();
    assert!(cookie.starts_with("lifeline_refresh=;") && cookie.contains("Max-Age=0"));
    let after = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": token}),
    )
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn validate_token_reports_owner_and_rejects_garbage() {
    let app = app(test_state().await);
    let login = login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
    let access = login.body["access_token"].as_str().unwrap();
    let valid = post(
        &app,
        "/api/auth/validate-token",
        None,
        json!({"token": access}),
    )
    .await;
    assert_eq!(valid.status, StatusCode::OK);
    assert_eq!(valid.body["valid"], true);
    assert_eq!(valid.body["user_id"], login.body["user"]["id"]);
    assert_eq!(valid.body["role"], "patient");
    assert!(valid.body["expires_at"].as_str().unwrap().ends_with('Z'));

    // Signed with another key: invalid.
    let other = backend_mock::auth::issue_access_token(
        b"another-secret-another-secret-000",
        uuid::Uuid::new_v4(),
        "x@y.z",
        backend_mock::auth::Role::Admin,
    )
    .unwrap();
    for token in [other.as_str(), "garbage"] {
        let reply = post(
            &app,
            "/api/auth/validate-token",
            None,
            json!({"token": token}),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body["valid"], false);
        let denied = get(&app, "/api/profile", Some(token)).await;
        assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_account() {
    let app = app(test_state().await);
    for _ in 0..5 {
        let reply = login_reply(&app, DEMO_PATIENT_EMAIL, "wrong-password").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now.
    let limited = login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "rate_limited");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Another account is not affected.
    let doctor = login_reply(
        &app,
        backend_mock::seed::DEMO_DOCTOR_EMAIL,
        backend_mock::seed::DEMO_DOCTOR_PASSWORD,
    )
    .await;
    assert_eq!(doctor.status, StatusCode::OK);
}

#[tokio::test]
async fn purging_drops_only_families_whose_every_token_expired() {
    let state = test_state().await;
    let app = app(state.clone());
    let refresh_token =
        |reply: &core_support::Reply| reply.body["refresh_token"].as_str().unwrap().to_string();
    // Family A: logged in, then refreshed once; its first (rotated) token is long expired.
    let a_first =
        refresh_token(&login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await);
    let a_second = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": a_first}),
    )
    .await;
    assert_eq!(a_second.status, StatusCode::OK, "{}", a_second.body);
    // Family B: a login whose only token expired.
    let b = refresh_token(&login_reply(&app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await);
    let past = "2000-01-01T00:00:00Z";
    for token in [&a_first, &b] {
        sqlx::query("UPDATE refresh_tokens SET expires_at = ? WHERE token_hash = ?")
            .bind(past)
            .bind(backend_mock::auth::token_hash(token))
            .execute(&state.db)
            .await
            .unwrap();
    }
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM refresh_tokens")
            .fetch_one(&state.db)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 3);

    let purged = backend_mock::routes::auth::purge_expired_refresh_tokens(&state)
        .await
        .unwrap();
    assert_eq!(purged, 1, "only family B goes");
    assert_eq!(count().await, 2);

    // Family A's rotated token is still known, so presenting it again is still caught as reuse.
    let reused = post(
        &app,
        "/api/auth/refresh",
        None,
        json!({"refresh_token": a_first}),
    )
    .await;
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reused.code(), "refresh_reused");
}
