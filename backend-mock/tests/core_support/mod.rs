//! Helpers for the core route tests: one-shot requests against `app(state)` and real servers
//! on port 0.
#![allow(dead_code)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use backend_mock::seed::{DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD};
use backend_mock::{app, db, seed, AppState, Config};
use serde_json::Value;
use tower::ServiceExt;

/// A response: status, headers and the JSON body (`Null` when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through the router without a socket.
pub async fn call(
    app: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match body {
        Some(body) => req
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => req.body(Body::empty()),
    }
    .expect("request builds");
    let res = app.clone().oneshot(req).await.expect("router answers");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .expect("body reads");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn get(app: &Router, path: &str, token: Option<&str>) -> Reply {
    call(app, Method::GET, path, token, None, &[]).await
}

pub async fn post(app: &Router, path: &str, token: Option<&str>, body: Value) -> Reply {
    call(app, Method::POST, path, token, Some(body), &[]).await
}

/// Logs in and returns the whole login reply.
pub async fn login_reply(app: &Router, email: &str, password: &str) -> Reply {
    post(
        app,
        "/api/auth/login",
        None,
        serde_json::json!({"email": email, "password": password}),
    )
    .await
}

/// Logs in and returns the access token.
pub async fn login(app: &Router, email: &str, password: &str) -> String {
    let reply = login_reply(app, email, password).await;
    assert_eq!(reply.status, StatusCode::OK, "login failed: {}", reply.body);
    reply.body["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

pub async fn patient_token(app: &Router) -> String {
    login(app, DEMO_PATIENT_EMAIL, DEMO_PATIENT_PASSWORD).await
}

/// Registers a new patient and returns their access token.
pub async fn register(app: &Router, email: &str) -> String {
    let reply = post(
        app,
        "/api/auth/register",
        None,
        serde_json::json!({"email": email, "password": "password-123", "name": "Test Person"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body["access_token"].as_str().unwrap().to_string()
}

/// The first free slot (from tomorrow on) of a doctor in a department with the given fee kind.
pub async fn free_slot(app: &Router, state: &AppState, paid: bool) -> (String, String) {
    let reference = state.reference.get();
    let mut doctors: Vec<_> = reference
        .doctors
        .values()
        .filter(|d| (reference.departments[&d.department_id].fee_minor > 0) == paid)
        .collect();
    doctors.sort_by_key(|d| d.id);
    let tomorrow = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).date();
    for doctor in doctors {
        let reply = get(
            app,
            &format!("/api/doctors/{}/availability?date={tomorrow}", doctor.id),
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        if let Some(slot) = reply.body["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["free"] == Value::Bool(true))
        {
            return (
                slot["id"].as_str().unwrap().to_string(),
                doctor.id.to_string(),
            );
        }
    }
    panic!("no free slot tomorrow");
}

/// A real server on 127.0.0.1:0 over a file-backed database in `dir`; returns its address.
pub async fn serve_file_backed(dir: &std::path::Path, config: Config) -> (SocketAddr, AppState) {
    let path = dir.join("lifeline.db");
    let pool = db::connect(path.to_str().unwrap())
        .await
        .expect("file database opens");
    let state = AppState::new(pool, config).await.expect("state");
    seed::seed(&state).await.expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().unwrap();
    let router = app(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("server runs");
    });
    (addr, state)
}
