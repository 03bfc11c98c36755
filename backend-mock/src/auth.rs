//! Authentication: access tokens, refresh tokens, password hashing and the `AuthUser` extractor.
//!
//! Access tokens are HS256 JWTs living 15 minutes, checked without a database read. Refresh
//! tokens are random, stored only as SHA-256 hashes, and rotate on every use (see
//! `routes::auth`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use lifeline_types::Role;

use crate::{AppError, AppResult, AppState};

/// Seconds an access token lives.
pub const ACCESS_TOKEN_TTL_SECS: u64 = 900;
/// Seconds a refresh token lives unless rotated first.
pub const REFRESH_TOKEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// The authenticated caller, from `Authorization: Bearer <jwt>`; a handler taking it answers
/// 401 `unauthorized` when the token is missing, invalid or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
}

impl AuthUser {
    /// 403 `forbidden` unless the caller has `role` (admins pass every check).
    ///
    /// # Errors
    /// `forbidden` when the role does not match.
    pub fn require(&self, role: Role) -> AppResult<()> {
        if self.role == role || self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "this needs the {} role",
                role.as_str()
            )))
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    pub email: String,
    pub role: Role,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Signs an access token for the user, valid [`ACCESS_TOKEN_TTL_SECS`].
///
/// # Errors
/// `internal` if signing fails.
pub fn issue_access_token(secret: &[u8], id: Uuid, email: &str, role: Role) -> AppResult<String> {
    let iat = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: id,
        email: email.to_string(),
        role,
        iat,
        exp: iat + ACCESS_TOKEN_TTL_SECS as i64,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(AppError::internal)
}

/// Checks an access token's signature and expiry (no leeway).
///
/// # Errors
/// `unauthorized` when the token is malformed, forged or expired.
pub fn decode_access_token(secret: &[u8], token: &str) -> AppResult<Claims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                AppError::unauthorized("access token expired")
            }
            _ => AppError::unauthorized("invalid access token"),
        })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
        let value = header
            .to_str()
            .map_err(|_| AppError::unauthorized("invalid authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::unauthorized("missing bearer token"))?;
        let claims = decode_access_token(&state.config.jwt_secret, token)?;
        Ok(AuthUser {
            id: claims.sub,
            email: claims.email,
            role: claims.role,
        })
    }
}

/// Hashes a password with Argon2id (default parameters, random salt), off the async threads.
///
/// # Errors
/// `internal` if hashing fails.
pub async fn hash_password(password: &str) -> AppResult<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)?
}

/// Checks a password against a stored Argon2 hash, off the async threads.
pub async fn verify_password(password: &str, hash: &str) -> bool {
    let password = password.to_string();
    let hash = hash.to_string();
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A new random refresh token (256 bits, base64url).
pub fn new_refresh_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hex SHA-256 of a token, the only form in which refresh tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
