//! Helpers shared by the domain test suites: drive the whole app with `oneshot`, make users,
//! sign them in by issuing real access tokens.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use backend_mock::auth::{issue_access_token, Role};
use backend_mock::AppState;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// An answer: status, headers and the JSON body (`Null` when empty, a string when not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// The whole app over a fresh, seeded, dev-mode state.
pub struct Api {
    pub state: AppState,
    app: Router,
}

impl Api {
    pub async fn new() -> Self {
        Self::with_state(backend_mock::test_state().await)
    }

    pub fn with_state(state: AppState) -> Self {
        Self {
            app: backend_mock::app(state.clone()),
            state,
        }
    }

    /// Sends one request; `headers` are extra headers such as `Idempotency-Key`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&User>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(user) = user {
            req = req.header("authorization", format!("Bearer {}", user.token));
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
        let res = self.app.clone().oneshot(req).await.expect("app answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
            .await
            .expect("body reads");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, user: Option<&User>) -> Answer {
        self.call(Method::GET, path, user, &[], None).await
    }

    pub async fn post(
        &self,
        path: &str,
        user: Option<&User>,
        key: Option<&str>,
        body: Value,
    ) -> Answer {
        match key {
            Some(key) => {
                self.call(
                    Method::POST,
                    path,
                    user,
                    &[("idempotency-key", key)],
                    Some(body),
                )
                .await
            }
            None => self.call(Method::POST, path, user, &[], Some(body)).await,
        }
    }

    /// The seeded demo patient, signed in.
    pub async fn demo_patient(&self) -> User {
        self.user_by_email(backend_mock::seed::DEMO_PATIENT_EMAIL)
            .await
    }

    /// The seeded demo doctor, signed in.
    pub async fn demo_doctor(&self) -> User {
        self.user_by_email(backend_mock::seed::DEMO_DOCTOR_EMAIL)
            .await
    }

    async fn user_by_email(&self, email: &str) -> User {
        let (id, role): (String, String) =
            sqlx::query_as("SELECT id, role FROM users WHERE email = ?")
                .bind(email)
                .fetch_one(&self.state.db)
                .await
                .expect("seeded user exists");
        let role = if role == "doctor" {
            Role::Doctor
        } else {
            Role::Patient
        };
        self.sign_in(Uuid::parse_str(&id).expect("uuid"), email, role)
    }

    /// A new account with `role`, signed in.
    pub async fn new_user(&self, role: Role) -> User {
        let id = Uuid::new_v4();
        let email = format!("{}@test.lifeline", id.simple());
        let now = "2026-01-01T00:00:00Z";
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, name, role, created_at, updated_at) \
             VALUES (?, ?, 'not-a-login', 'Test User', ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(&email)
        .bind(role.as_str())
        .bind(now)
        .bind(now)
        .execute(&self.state.db)
        .await
        .expect("user inserts");
        self.sign_in(id, &email, role)
    }

    fn sign_in(&self, id: Uuid, email: &str, role: Role) -> User {
        let token = issue_access_token(&self.state.config.jwt_secret, id, email, role)
            .expect("token signs");
        User {
            id,
            email: email.to_string(),
            token,
        }
    }
}

impl Api {
    /// Sends a request built by the caller.
    pub async fn raw(&self, req: Request<Body>) -> Answer {
        let res = self.app.clone().oneshot(req).await.expect("app answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 10 << 20)
            .await
            .expect("body reads");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }
}
