//! The server over real TCP on port 0 with a file-backed database: the booking race, the
//! per-address login limit, request ids, readiness, OpenAPI and the static web app.

mod core_support;

use std::collections::HashMap;

use backend_mock::Config;
use core_support::serve_file_backed;
use serde_json::{json, Value};

async fn json_of(res: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_bookings_of_one_slot_book_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, state) = serve_file_backed(dir.path(), Config::for_tests()).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // Ten patients, five attempts each with distinct idempotency keys: fifty distinct requests.
    let mut tokens = Vec::new();
    for i in 0..10 {
        let res = client
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": format!("racer{i}@example.com"), "password": "password-123", "name": "Racer"}))
            .send()
            .await
            .unwrap();
        let (status, _, body) = json_of(res).await;
        assert_eq!(status, 201, "{body}");
        tokens.push(body["access_token"].as_str().unwrap().to_string());
    }
    let reference = state.reference.get();
    let doctor = reference
        .doctors
        .values()
        .find(|d| reference.departments[&d.department_id].fee_minor == 0)
        .unwrap()
        .id;
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    let day = client
        .get(format!(
            "{base}/api/doctors/{doctor}/availability?date={tomorrow}"
        ))
        .send()
        .await
        .unwrap();
    let (_, _, day) = json_of(day).await;
    let slot = day["slots"][3]["id"].as_str().unwrap().to_string();

    let attempts = (0..50).map(|i| {
        let client = client.clone();
        let url = format!("{base}/api/appointments");
        let token = tokens[i % tokens.len()].clone();
        let slot = slot.clone();
        async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", format!("race-{i}"))
                .json(&json!({"slot_id": slot}))
                .send()
                .await
                .unwrap();
            json_of(res).await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for (status, _, body) in &results {
        *by_status.entry(*status).or_default() += 1;
        if *status == 409 {
            assert_eq!(body["error"]["code"], "slot_taken");
            let alternatives = body["error"]["details"]["alternatives"].as_array().unwrap();
            assert!(!alternatives.is_empty());
            assert!(alternatives.iter().all(|a| a["id"] != slot.as_str()));
        }
    }
    assert_eq!(by_status.get(&201), Some(&1), "{by_status:?}");
    assert_eq!(by_status.get(&409), Some(&49), "{by_status:?}");
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM appointments WHERE slot_id = ? AND status <> 'cancelled'",
    )
    .bind(&slot)
    .fetch_one(&state.db)
    .await
    .unwrap();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn concurrent_duplicates_of_one_key_have_one_effect() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, state) = serve_file_backed(dir.path(), Config::for_tests()).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let login = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": backend_mock::seed::DEMO_PATIENT_EMAIL, "password": backend_mock::seed::DEMO_PATIENT_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (_, _, login) = json_of(login).await;
    let token = login["access_token"].as_str().unwrap().to_string();
    let reference = state.reference.get();
    let doctor = reference.doctors.values().next().unwrap().id;
    let in_three_days = (time::OffsetDateTime::now_utc() + time::Duration::days(3)).date();
    let day = client
        .get(format!(
            "{base}/api/doctors/{doctor}/availability?date={in_three_days}"
        ))
        .send()
        .await
        .unwrap();
    let (_, _, day) = json_of(day).await;
    let slot = day["slots"][7]["id"].as_str().unwrap().to_string();

    let sends = (0..10).map(|_| {
        let client = client.clone();
        let url = format!("{base}/api/appointments");
        let token = token.clone();
        let slot = slot.clone();
        async move {
            json_of(
                client
                    .post(url)
                    .bearer_auth(token)
                    .header("idempotency-key", "same-key")
                    .json(&json!({"slot_id": slot}))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    });
    let results = futures::future::join_all(sends).await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter(|(status, _, _)| *status == 201)
        .map(|(_, _, body)| body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every success is the same appointment");
    // A duplicate waits for the write lock, then replays the first outcome: all ten are 201.
    for (status, _, body) in &results {
        assert_eq!(*status, 201, "{body}");
    }
    assert_eq!(
        results
            .iter()
            .filter(|(_, h, _)| h.get("idempotent-replayed").is_none())
            .count(),
        1,
        "exactly one response is the original"
    );
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appointments WHERE slot_id = ?")
        .bind(&slot)
        .fetch_one(&state.db)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _) = serve_file_backed(dir.path(), Config::for_tests()).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/auth/login");
    // Different accounts each time, so only the per-address limit (20 a minute) applies.
    for i in 0..20 {
        let res = client
            .post(&url)
            .json(&json!({"email": format!("guess{i}@example.com"), "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
    }
    let res = client
        .post(&url)
        .json(&json!({"email": backend_mock::seed::DEMO_PATIENT_EMAIL, "password": backend_mock::seed::DEMO_PATIENT_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json_of(res).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn request_ids_are_echoed_generated_and_in_error_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _) = serve_file_backed(dir.path(), Config::for_tests()).await;
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");

    let res = client
        .get(format!("{base}/api/profile"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json_of(res).await;
    assert_eq!(status, 401);
    assert_eq!(headers["x-request-id"], "trace-me-123");
    assert_eq!(body["error"]["request_id"], "trace-me-123");

    let res = client
        .get(format!("{base}/api/no-such-route"))
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json_of(res).await;
    assert_eq!(status, 404);
    let generated = headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    assert_eq!(body["error"]["request_id"], generated);
    assert_eq!(body["error"]["code"], "not_found");

    // Axum's own plain-text rejections become JSON error bodies too.
    let res = client
        .post(format!("{base}/api/auth/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, headers, body) = json_of(res).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(body["error"]["code"], "bad_request");
    assert!(body["error"]["request_id"].is_string());

    let res = client.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(json_of(res).await.2["status"], "ok");
    let res = client.get(format!("{base}/ready")).send().await.unwrap();
    let (status, headers, body) = json_of(res).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn openapi_lists_every_core_route() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, _) = serve_file_backed(dir.path(), Config::for_tests()).await;
    let res = reqwest::get(format!("http://{addr}/openapi.json"))
        .await
        .unwrap();
    let (status, _, doc) = json_of(res).await;
    assert_eq!(status, 200);
    let routes = [
        ("post", "/api/auth/register"),
        ("post", "/api/auth/login"),
        ("post", "/api/auth/refresh"),
        ("post", "/api/auth/logout"),
        ("post", "/api/auth/validate-token"),
        ("get", "/api/profile"),
        ("patch", "/api/profile"),
        ("get", "/api/hospitals"),
        ("get", "/api/user/primary-hospital"),
        ("post", "/api/user/primary-hospital"),
        ("get", "/api/departments"),
        ("get", "/api/doctors"),
        ("get", "/api/doctors/{id}/availability"),
        ("post", "/api/appointments/check-conflict"),
        ("get", "/api/appointments"),
        ("post", "/api/appointments"),
        ("get", "/api/appointments/{id}"),
        ("post", "/api/appointments/{id}/cancel"),
        ("post", "/api/appointments/{id}/reschedule"),
        ("get", "/api/doctor/appointments"),
        ("get", "/health"),
        ("get", "/ready"),
        ("get", "/openapi.json"),
    ];
    for (method, path) in routes {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing from /openapi.json");
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path}"
        );
    }
    let book = &doc["paths"]["/api/appointments"]["post"];
    assert!(book["requestBody"].is_object());
    assert!(book["responses"]["409"].is_object());
    assert!(doc["components"]["schemas"]["Appointment"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn static_web_app_is_served_with_spa_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>Lifeline</title>",
    )
    .unwrap();
    std::fs::write(site.join("app.js"), "console.log('app')").unwrap();
    std::fs::write(site.join("app-0123456789abcdef.js"), "console.log('v1')").unwrap();
    let config = Config {
        static_dir: Some(site),
        ..Config::for_tests()
    };
    let (addr, _) = serve_file_backed(dir.path(), config).await;
    let base = format!("http://{addr}");
    let index = reqwest::get(format!("{base}/appointments/book"))
        .await
        .unwrap();
    assert_eq!(index.status().as_u16(), 200);
    // The shell is checked again on each use; a content-named file is kept for a year.
    assert_eq!(index.headers()["cache-control"], "no-cache");
    let hashed = reqwest::get(format!("{base}/app-0123456789abcdef.js"))
        .await
        .unwrap();
    assert_eq!(
        hashed.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(index
        .text()
        .await
        .unwrap()
        .contains("<title>Lifeline</title>"));
    let asset = reqwest::get(format!("{base}/app.js")).await.unwrap();
    assert_eq!(asset.text().await.unwrap(), "console.log('app')");
    let api = reqwest::get(format!("{base}/api/unknown")).await.unwrap();
    let (status, _, body) = json_of(api).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(json_of(health).await.2["status"], "ok");
}
