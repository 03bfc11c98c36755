//! The signed-in user's profile.

use lifeline_types::profile::{Profile, ProfileUpdate};

use crate::client::{Call, Client};
use crate::error::Result;
use crate::freshness::Fetched;
use crate::services::ApiGroup;

/// The signed-in user's profile. Get one with [`Client::profile`].
#[derive(Debug, Clone, Copy)]
pub struct ProfileApi<'a> {
    client: &'a Client,
}

impl Client {
    /// The signed-in user's profile.
    pub fn profile(&self) -> ProfileApi<'_> {
        ProfileApi { client: self }
    }
}

impl ProfileApi<'_> {
    /// `GET /api/profile`, through the cache; the answer is also kept as
    /// [`Client::cached_profile`].
    ///
    /// # Errors
    ///
    /// Not signed in, or a failure with no cached copy to fall back on.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: lifeline_sdk::Client) -> Result<(), lifeline_sdk::Error> {
    /// let me = client.profile().get().await?;
    /// println!("{} ({:?})", me.value.name, me.freshness);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<Fetched<Profile>> {
        let fetched: Fetched<Profile> = self
            .client
            .read(Call::get(ApiGroup::Auth, "/api/profile"))
            .await?;
        if !fetched.is_stale() {
            self.client.remember_profile(&fetched.value).await;
        }
        Ok(fetched)
    }

    /// `PATCH /api/profile`: changes the given fields.
    ///
    /// # Errors
    ///
    /// `422` for invalid fields, and the usual transport errors.
    pub async fn update(&self, update: &ProfileUpdate) -> Result<Profile> {
        let call = Call::patch(ApiGroup::Auth, "/api/profile")
            .json(update)?
            .idempotent();
        let profile: Profile = self.client.send_json(&call).await?;
        self.client.remember_profile(&profile).await;
        Ok(profile)
    }
}
