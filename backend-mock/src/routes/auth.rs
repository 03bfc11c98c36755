//! Routes of the auth group: register, login, refresh (rotating), logout, validate-token.
//!
//! Refresh tokens travel in the JSON body for native clients and in the `lifeline_refresh`
//! httpOnly, `SameSite=Strict` cookie (path `/api/auth`) for browsers. Each use rotates the token;
//! using a rotated token again is taken as theft and revokes the whole family.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lifeline_types::auth::{
    AuthResponse, LoginRequest, RefreshRequest, RegisterRequest, User, ValidateTokenRequest,
    ValidateTokenResponse,
};
use lifeline_types::ErrorBody;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{
    decode_access_token, hash_password, issue_access_token, new_refresh_token, token_hash,
    verify_password, Role, ACCESS_TOKEN_TTL_SECS, REFRESH_TOKEN_TTL_SECS,
};
use crate::db::{now, ts};
use crate::{AppError, AppResult, AppState};

/// Name of the refresh-token cookie.
pub const REFRESH_COOKIE: &str = "lifeline_refresh";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(validate_token))
}

/// The client's address for rate limiting: the TCP peer when the server runs with connect info,
/// `unknown` otherwise (in-process tests).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// Lowercased, trimmed email when it looks like an address a mail server would take.
pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email)
    } else {
        Err(AppError::validation("email must be a valid email address")
            .with_details(serde_json::json!({"field": "email"})))
    }
}

fn validate_password(password: &str) -> AppResult<()> {
    let len = password.chars().count();
    if !(8..=128).contains(&len) {
        return Err(
            AppError::validation("password must be 8 to 128 characters long")
                .with_details(serde_json::json!({"field": "password"})),
        );
    }
    Ok(())
}

/// A trimmed person's name of 1 to 100 characters.
pub fn validate_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let len = name.chars().count();
    if len == 0 || len > 100 || name.chars().any(char::is_control) {
        return Err(AppError::validation("name must be 1 to 100 characters")
            .with_details(serde_json::json!({"field": "name"})));
    }
    Ok(name.to_string())
}

/// Signs an access token and stores a new refresh token in `family` (a new family when `None`).
async fn issue_tokens(
    state: &AppState,
    user: &User,
    family: Option<&str>,
) -> AppResult<(AuthResponse, String)> {
    let access = issue_access_token(&state.config.jwt_secret, user.id, &user.email, user.role)?;
    let refresh = new_refresh_token();
    let family = family
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let now = now();
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash(&refresh))
    .bind(&family)
    .bind(user.id.to_string())
    .bind(ts(now))
    .bind(ts(
        now + time::Duration::seconds(REFRESH_TOKEN_TTL_SECS as i64)
    ))
    .execute(&state.db)
    .await?;
    Ok((
        AuthResponse {
            access_token: access,
            token_type: "Bearer".into(),
            expires_in: ACCESS_TOKEN_TTL_SECS,
            refresh_token: Some(refresh.clone()),
            user: user.clone(),
        },
        refresh,
    ))
}

fn refresh_cookie(state: &AppState, token: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{REFRESH_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn with_cookie(status: StatusCode, state: &AppState, body: AuthResponse, token: &str) -> Response {
    let cookie = refresh_cookie(state, token, REFRESH_TOKEN_TTL_SECS);
    (status, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

async fn load_user(state: &AppState, id: &str) -> AppResult<Option<User>> {
    let row: Option<(String, String, String, String)> =
        sqlx::query_as("SELECT id, email, name, role FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    Ok(row.map(|(id, email, name, role)| User {
        id: crate::db::uuid(&id),
        email,
        name,
        role: Role::parse(&role).unwrap_or(Role::Patient),
    }))
}

/// Creates a patient account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "account created and signed in; refresh token also set as cookie", body = AuthResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 409, description = "`email_taken`", body = ErrorBody),
        (status = 422, description = "invalid email, password or name", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    Json(req): Json<RegisterRequest>,
) -> AppResult<Response> {
    let email = normalize_email(&req.email)?;
    validate_password(&req.password)?;
    let name = validate_name(&req.name)?;
    let hash = hash_password(&req.password).await?;
    let id = Uuid::new_v4();
    let now = ts(now());
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, name, role, created_at, updated_at) \
         VALUES (?, ?, ?, ?, 'patient', ?, ?)",
    )
    .bind(id.to_string())
    .bind(&email)
    .bind(&hash)
    .bind(&name)
    .bind(&now)
    .bind(&now)
    .execute(&state.db)
    .await;
    match inserted {
        Ok(_) => {}
        Err(err) if crate::db::is_unique_violation(&err) => {
            return Err(AppError::conflict(
                "email_taken",
                "an account with this email already exists",
            ))
        }
        Err(err) => return Err(err.into()),
    }
    let user = User {
        id,
        email,
        name,
        role: Role::Patient,
    };
    let (body, token) = issue_tokens(&state, &user, None).await?;
    Ok(with_cookie(StatusCode::CREATED, &state, body, &token))
}

/// A hash to verify against when the account does not exist, so that a wrong email takes as
/// long as a wrong password and response times do not reveal which accounts exist.
async fn absent_user_hash() -> AppResult<&'static str> {
    static HASH: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    HASH.get_or_try_init(|| hash_password("no such account"))
        .await
        .map(String::as_str)
}

/// Signs in with email and password. After 5 failures a minute for one account, or 20 from
/// one address, answers 429 `rate_limited` with `Retry-After`.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "signed in; refresh token also set as cookie", body = AuthResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
        (status = 401, description = "`invalid_credentials`", body = ErrorBody),
        (status = 429, description = "`rate_limited`, with Retry-After", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> AppResult<Response> {
    let email = req.email.trim().to_lowercase();
    if let Some(wait) = state.login_limiter.check(&email, &addr) {
        return Err(AppError::too_many(
            wait,
            "too many failed logins, try again later",
        ));
    }
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = ?")
            .bind(&email)
            .fetch_optional(&state.db)
            .await?;
    let (id, hash) = row.unwrap_or_default();
    let hash = if id.is_empty() {
        absent_user_hash().await?
    } else {
        &hash
    };
    let ok = verify_password(&req.password, hash).await && !id.is_empty();
    if !ok {
        state.login_limiter.record_failure(&email, &addr);
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "email or password is wrong",
        ));
    }
    state.login_limiter.record_success(&email);
    let user = load_user(&state, &id)
        .await?
        .ok_or_else(|| AppError::unauthorized("account no longer exists"))?;
    let (body, token) = issue_tokens(&state, &user, None).await?;
    Ok(with_cookie(StatusCode::OK, &state, body, &token))
}

/// The refresh token from the JSON body, else from the cookie.
fn presented_refresh_token(headers: &HeaderMap, body: &Bytes) -> AppResult<String> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        let req: RefreshRequest = serde_json::from_slice(body)
            .map_err(|e| AppError::bad_request(format!("invalid json body: {e}")))?;
        if let Some(token) = req.refresh_token.filter(|t| !t.is_empty()) {
            return Ok(token);
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == REFRESH_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_string())
        .ok_or_else(|| AppError::unauthorized("missing refresh token"))
}

/// Exchanges a refresh token (body or cookie) for a new access token and a new refresh token.
/// A token that was already exchanged revokes its whole family: 401 `refresh_reused`.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body(content = Option<RefreshRequest>, description = "empty when the cookie carries the token"),
    responses(
        (status = 200, description = "new tokens; the old refresh token is spent", body = AuthResponse),
        (status = 401, description = "`unauthorized` (missing, unknown, expired, revoked) or `refresh_reused`", body = ErrorBody),
    ))]
async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let token = presented_refresh_token(&headers, &body)?;
    let hash = token_hash(&token);
    let now_text = ts(now());
    // Exactly one request can spend a token: the conditional update is the arbiter.
    let spent = sqlx::query(
        "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL \
         AND revoked_at IS NULL AND expires_at > ?",
    )
    .bind(&now_text)
    .bind(&hash)
    .bind(&now_text)
    .execute(&state.db)
    .await?
    .rows_affected()
        == 1;
    let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT family_id, user_id, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = ?",
    )
    .bind(&hash)
    .fetch_optional(&state.db)
    .await?;
    let Some((family, user_id, rotated, revoked)) = row else {
        return Err(AppError::unauthorized("invalid refresh token"));
    };
    if !spent {
        if revoked.is_some() {
            return Err(AppError::unauthorized("refresh token revoked"));
        }
        if rotated.is_some() {
            revoke_family(&state, &family).await?;
            tracing::warn!(family = %family, "refresh token reused; family revoked");
            return Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                "refresh_reused",
                "refresh token was already used; all sessions of this login are signed out",
            ));
        }
        return Err(AppError::unauthorized("refresh token expired"));
    }
    let user = load_user(&state, &user_id)
        .await?
        .ok_or_else(|| AppError::unauthorized("account no longer exists"))?;
    let (body, token) = issue_tokens(&state, &user, Some(&family)).await?;
    Ok(with_cookie(StatusCode::OK, &state, body, &token))
}

async fn revoke_family(state: &AppState, family: &str) -> AppResult<()> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
    )
    .bind(ts(now()))
    .bind(family)
    .execute(&state.db)
    .await?;
    Ok(())
}

/// Deletes every refresh-token family whose newest token has expired; returns how many tokens.
///
/// A family is kept whole while any of its tokens can still be spent: its rotated tokens are
/// what tells a reuse (theft) apart from an unknown token, so they go only with the family.
///
/// # Errors
/// Database failures.
pub async fn purge_expired_refresh_tokens(state: &AppState) -> AppResult<u64> {
    let done = sqlx::query(
        "DELETE FROM refresh_tokens WHERE family_id IN \
         (SELECT family_id FROM refresh_tokens GROUP BY family_id HAVING MAX(expires_at) <= ?)",
    )
    .bind(ts(now()))
    .execute(&state.db)
    .await?;
    Ok(done.rows_affected())
}

/// Signs out: revokes the refresh token's family and clears the cookie. Answers 204 even for
/// an unknown token, so logging out twice is harmless.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body(content = Option<RefreshRequest>, description = "empty when the cookie carries the token"),
    responses(
        (status = 204, description = "signed out, cookie cleared"),
        (status = 401, description = "no refresh token presented", body = ErrorBody),
    ))]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    let token = presented_refresh_token(&headers, &body)?;
    let family: Option<String> =
        sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = ?")
            .bind(token_hash(&token))
            .fetch_optional(&state.db)
            .await?;
    if let Some(family) = family {
        revoke_family(&state, &family).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, refresh_cookie(&state, "", 0))],
    )
        .into_response())
}

/// Service-to-service check of an access token: `{valid: false}` for a bad or expired one.
#[utoipa::path(post, path = "/api/auth/validate-token", tag = "auth",
    request_body = ValidateTokenRequest,
    responses(
        (status = 200, description = "validity and owner of the token", body = ValidateTokenResponse),
        (status = 400, description = "malformed body", body = ErrorBody),
    ))]
async fn validate_token(
    State(state): State<AppState>,
    Json(req): Json<ValidateTokenRequest>,
) -> Json<ValidateTokenResponse> {
    Json(
        match decode_access_token(&state.config.jwt_secret, &req.token) {
            Ok(claims) => ValidateTokenResponse {
                valid: true,
                user_id: Some(claims.sub),
                role: Some(claims.role),
                expires_at: time::OffsetDateTime::from_unix_timestamp(claims.exp)
                    .ok()
                    .map(ts),
            },
            Err(_) => ValidateTokenResponse {
                valid: false,
                user_id: None,
                role: None,
                expires_at: None,
            },
        },
    )
}
