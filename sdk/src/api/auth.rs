//! Sign-in, sign-out, refresh and restore: the transitions of the session.

use lifeline_types::auth::{
    AuthResponse, LoginRequest, RefreshRequest, RegisterRequest, User, ValidateTokenRequest,
    ValidateTokenResponse,
};
use lifeline_types::profile::Profile;

use crate::client::{decode, Call, Client};
use crate::error::{Error, Result};
use crate::services::ApiGroup;
use crate::session::{SessionState, StoredSession, SESSION_KEY};
use crate::storage::Table;

/// Registration, sign-in and sign-out. Get one with [`Client::auth`].
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    client: &'a Client,
}

impl Client {
    /// Registration, sign-in and sign-out.
    pub fn auth(&self) -> Auth<'_> {
        Auth { client: self }
    }

    /// The signed-in user, if any (also while [`SessionState::Unverified`] or
    /// [`SessionState::Expired`]).
    pub fn current_user(&self) -> Option<User> {
        self.inner.session.user()
    }

    /// The last profile the server sent for the signed-in user, kept across restarts.
    pub fn cached_profile(&self) -> Option<Profile> {
        self.inner.session.profile()
    }

    /// Restores the session a previous run left, on app start.
    ///
    /// With no stored session the state is [`SessionState::Anonymous`]. Otherwise the
    /// client refreshes: a success makes it [`SessionState::Active`], a refusal (401)
    /// [`SessionState::Expired`], and anything else (backend unreachable, 5xx)
    /// [`SessionState::Unverified`] with the cached profile kept: the user is never signed
    /// out because the backend is down.
    ///
    /// # Errors
    ///
    /// Only when the store cannot be read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// use lifeline_sdk::SessionState;
    ///
    /// match client.restore().await? {
    ///     SessionState::Active | SessionState::Unverified => { /* show the app */ }
    ///     SessionState::Expired | SessionState::Anonymous => { /* show sign-in */ }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn restore(&self) -> Result<SessionState> {
        let stored = self
            .inner
            .store
            .get(Table::SESSION, SESSION_KEY)
            .await
            .map_err(Error::storage)?;
        let Some(bytes) = stored else {
            self.set_session_state(SessionState::Anonymous);
            return Ok(SessionState::Anonymous);
        };
        let stored: StoredSession = serde_json::from_slice(&bytes)
            .map_err(|e| Error::storage(format!("stored session is corrupt: {e}")))?;
        self.inner.session.restore(stored);
        self.set_session_state(SessionState::Unverified);
        match self.refresh_session(self.inner.session.generation()).await {
            Ok(_) => {}
            Err(e) if e.is_auth_expired() => {}
            Err(e) => tracing::info!(error = %e, "session kept unverified"),
        }
        Ok(self.session_state())
    }

    async fn persist_session(&self) -> Result<()> {
        match self.inner.session.stored() {
            Some(mut stored) => {
                if cfg!(target_arch = "wasm32") {
                    // The browser's refresh credential is the httpOnly cookie.
                    stored.refresh_token = None;
                }
                let bytes = serde_json::to_vec(&stored)?;
                self.inner
                    .store
                    .put(Table::SESSION, SESSION_KEY, &bytes)
                    .await
                    .map_err(Error::storage)
            }
            None => self
                .inner
                .store
                .delete(Table::SESSION, SESSION_KEY)
                .await
                .map_err(Error::storage),
        }
    }

    async fn install(&self, auth: AuthResponse) -> Result<User> {
        let user = auth.user.clone();
        self.inner
            .session
            .install(auth.user, auth.access_token, auth.refresh_token);
        self.set_session_state(SessionState::Active);
        self.persist_session().await?;
        Ok(user)
    }

    /// Keeps `profile` as the cached profile of the signed-in user.
    pub(crate) async fn remember_profile(&self, profile: &Profile) {
        if self.inner.session.user().map(|u| u.id) == Some(profile.id) {
            self.inner.session.set_profile(Some(profile.clone()));
            if let Err(e) = self.persist_session().await {
                tracing::warn!(error = %e, "could not persist the cached profile");
            }
        }
    }

    /// Gets a new access token, at most one refresh in flight.
    ///
    /// `seen` is the session generation the caller observed when it read the token that
    /// failed (or found none). If a refresh finished since, its outcome is shared: its new
    /// token, or its error. Generations rather than token comparison: a token issued again
    /// within the same second can be identical to the byte.
    pub(crate) async fn refresh_session(&self, seen: u64) -> Result<String> {
        let session = &self.inner.session;
        let _guard = session.refresh_lock.lock().await;
        if session.generation() > seen {
            if let Some(err) = session.failure_since(seen) {
                return Err(err);
            }
            if let Some(current) = session.access_token() {
                return Ok(current);
            }
        }
        if session.user().is_none() {
            return Err(Error::not_signed_in());
        }
        if session.state() == SessionState::Expired {
            return Err(Error::auth_expired());
        }
        session.count_refresh();
        let body = RefreshRequest {
            refresh_token: session.refresh_token(),
        };
        let call = Call::post(ApiGroup::Auth, "/api/auth/refresh")
            .json(&body)?
            .anonymous();
        let result = self.execute(&call, None).await;
        match result {
            Ok(resp) => {
                let auth: AuthResponse = decode(&resp)?;
                let token = auth.access_token.clone();
                self.install(auth).await?;
                session.finish_refresh(None);
                Ok(token)
            }
            Err(e) if e.status() == Some(401) => {
                session.drop_access_token();
                self.set_session_state(SessionState::Expired);
                let err = Error::auth_expired();
                session.finish_refresh(Some(err.clone()));
                Err(err)
            }
            Err(e) => {
                // Offline, timeout, open breaker, 5xx: the session is unconfirmed, not over.
                session.drop_access_token();
                self.set_session_state(SessionState::Unverified);
                session.finish_refresh(Some(e.clone()));
                Err(e)
            }
        }
    }
}

impl Auth<'_> {
    /// Creates an account and signs in.
    ///
    /// # Errors
    ///
    /// `409` when the email is taken, `422` when a field is invalid, and the usual
    /// transport errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// use lifeline_sdk::types::auth::RegisterRequest;
    ///
    /// let user = client.auth().register(&RegisterRequest {
    ///     email: "ada@example.org".into(),
    ///     password: "correct horse battery".into(),
    ///     name: "Ada".into(),
    /// }).await?;
    /// # let _ = user; Ok(()) }
    /// ```
    pub async fn register(&self, request: &RegisterRequest) -> Result<User> {
        let call = Call::post(ApiGroup::Auth, "/api/auth/register")
            .json(request)?
            .anonymous();
        let resp = self.client.execute(&call, None).await?;
        self.client.install(decode(&resp)?).await
    }

    /// Signs in with email and password.
    ///
    /// # Errors
    ///
    /// `401` (`invalid_credentials`) for a wrong email or password, and the usual transport
    /// errors.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// let user = client.auth().login("ada@example.org", "correct horse battery").await?;
    /// println!("hello {}", user.name);
    /// # Ok(()) }
    /// ```
    pub async fn login(&self, email: &str, password: &str) -> Result<User> {
        let call = Call::post(ApiGroup::Auth, "/api/auth/login")
            .json(&LoginRequest {
                email: email.to_string(),
                password: password.to_string(),
            })?
            .anonymous();
        let resp = self.client.execute(&call, None).await?;
        self.client.install(decode(&resp)?).await
    }

    /// Signs out explicitly: tells the server (best effort), then wipes this user's cached
    /// data, queued writes and stored session. Only an explicit sign-out wipes them.
    ///
    /// # Errors
    ///
    /// Only when the local store cannot be cleared; the server's answer is not awaited
    /// for success.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// client.auth().logout().await?;
    /// # Ok(()) }
    /// ```
    pub async fn logout(&self) -> Result<()> {
        let client = self.client;
        let session = &client.inner.session;
        if session.user().is_some() {
            let body = RefreshRequest {
                refresh_token: session.refresh_token(),
            };
            let call = Call::post(ApiGroup::Auth, "/api/auth/logout")
                .json(&body)?
                .anonymous();
            let token = session.access_token();
            if let Err(e) = client.execute(&call, token.as_deref()).await {
                tracing::info!(error = %e, "server logout failed; signing out locally");
            }
        }
        let user = session.user();
        session.clear();
        client.persist_session().await?;
        if let Some(user) = user {
            client.wipe_user_data(&user.id.to_string()).await?;
        }
        client.set_session_state(SessionState::Anonymous);
        Ok(())
    }

    /// Checks an access token (the service-to-service check).
    ///
    /// # Errors
    ///
    /// The usual transport errors.
    pub async fn validate_token(&self, token: &str) -> Result<ValidateTokenResponse> {
        let call = Call::post(ApiGroup::Auth, "/api/auth/validate-token")
            .json(&ValidateTokenRequest {
                token: token.to_string(),
            })?
            .anonymous();
        let resp = self.client.execute(&call, None).await?;
        decode(&resp)
    }
}
