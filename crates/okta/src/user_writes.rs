//! Okta user writes (`okta.users.manage`, `okta.groups.manage`): create a user (optionally into
//! groups), update a profile partially, deactivate and delete, and change group memberships. Used by
//! the one-click test run (a throwaway user, then its cleanup) and by tests.

use reqwest::Method;
use serde_json::{Value, json};

use crate::client::{OktaClient, Repeat, read_json};
use crate::error::Result;
use crate::models::User;
use crate::org::{GroupId, UserId};

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl OktaClient {
    /// User writes: `POST /api/v1/users`, `POST /api/v1/users/{id}`, `DELETE /api/v1/users/{id}`,
    /// `PUT/DELETE /api/v1/groups/{gid}/users/{uid}`.
    pub fn user_writes(&self) -> UserWritesHandler<'_> {
        UserWritesHandler { client: self }
    }
}

/// `okta.user_writes()`.
#[derive(Debug)]
pub struct UserWritesHandler<'a> {
    client: &'a OktaClient,
}

impl UserWritesHandler<'_> {
    /// Creates a user with `profile` (`login`, `email`, `firstName`, `lastName`, …), activated, in
    /// `groups`. No password is sent. Never repeated after a 5xx: the user may exist.
    pub async fn create(&self, profile: &Value, groups: &[GroupId]) -> Result<User> {
        let url = self
            .client
            .url("api/v1/users", &[("activate", "true".to_owned())])?;
        let body = json!({
            "profile": profile,
            "groupIds": groups.iter().map(GroupId::as_str).collect::<Vec<_>>(),
        });
        let resp = self
            .client
            .request(
                Method::POST,
                url.clone(),
                "POST /api/v1/users",
                Some(&body),
                Repeat::IfIdempotent,
            )
            .await?;
        read_json(resp, &url).await
    }

    /// Updates some profile attributes (a partial update: the others are kept).
    pub async fn update_profile(&self, user: &UserId, profile: &Value) -> Result<User> {
        let url = self
            .client
            .url(&format!("api/v1/users/{}", segment(user.as_str())), &[])?;
        let body = json!({ "profile": profile });
        let resp = self
            .client
            .request(
                Method::POST,
                url.clone(),
                "POST /api/v1/users/{id}",
                Some(&body),
                Repeat::Safe,
            )
            .await?;
        read_json(resp, &url).await
    }

    /// Deactivates the user, then deletes it (Okta's two `DELETE` calls). A user already gone is not
    /// an error.
    pub async fn deactivate_and_delete(&self, user: &UserId) -> Result<()> {
        let url = self
            .client
            .url(&format!("api/v1/users/{}", segment(user.as_str())), &[])?;
        for _ in 0..2 {
            match self
                .client
                .request(
                    Method::DELETE,
                    url.clone(),
                    "DELETE /api/v1/users/{id}",
                    None,
                    Repeat::IfIdempotent,
                )
                .await
            {
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Adds the user to the group (`PUT`); already a member is not an error.
    pub async fn add_to_group(&self, group: &GroupId, user: &UserId) -> Result<()> {
        self.membership(Method::PUT, group, user).await
    }

    /// Removes the user from the group (`DELETE`).
    pub async fn remove_from_group(&self, group: &GroupId, user: &UserId) -> Result<()> {
        self.membership(Method::DELETE, group, user).await
    }

    async fn membership(&self, method: Method, group: &GroupId, user: &UserId) -> Result<()> {
        let url = self.client.url(
            &format!(
                "api/v1/groups/{}/users/{}",
                segment(group.as_str()),
                segment(user.as_str())
            ),
            &[],
        )?;
        let bucket = if method == Method::PUT {
            "PUT /api/v1/groups/{id}/users/{id}"
        } else {
            "DELETE /api/v1/groups/{id}/users/{id}"
        };
        self.client
            .request(method, url, bucket, None, Repeat::IfIdempotent)
            .await
            .map(|_| ())
    }
}
