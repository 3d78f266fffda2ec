//! Handlers per resource, octocrab-style: `okta.users().get(id)`, `okta.groups().members(gid)`.

use reqwest::Method;
use serde_json::json;
use url::Url;

use crate::client::{OktaClient, Repeat, read_json};
use crate::error::{Error, Result};
use crate::models::{Group, GroupQuery, ImportSession, LogEvent, LogQuery, User};
use crate::org::{GroupId, IdentitySourceId};
use crate::page::Page;

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

impl OktaClient {
    /// Users: `GET /api/v1/users…`.
    pub fn users(&self) -> UsersHandler<'_> {
        UsersHandler { client: self }
    }

    /// Groups: `GET /api/v1/groups…`.
    pub fn groups(&self) -> GroupsHandler<'_> {
        GroupsHandler { client: self }
    }

    /// The System Log: `GET /api/v1/logs`.
    pub fn logs(&self) -> LogsHandler<'_> {
        LogsHandler { client: self }
    }

    /// Identity sources (Anything-as-a-Source): `/api/v1/identity-sources/{id}/…`.
    pub fn identity_sources(&self) -> IdentitySourcesHandler<'_> {
        IdentitySourcesHandler { client: self }
    }
}

/// `okta.users()`.
#[derive(Debug)]
pub struct UsersHandler<'a> {
    client: &'a OktaClient,
}

impl UsersHandler<'_> {
    /// The first page of users (`limit` per page, Okta's default 200), deprovisioned ones left out.
    pub async fn list(&self, limit: Option<u32>) -> Result<Page<User>> {
        let q: Vec<_> = limit
            .map(|l| ("limit", l.to_string()))
            .into_iter()
            .collect();
        let url = self.client.url("api/v1/users", &q)?;
        Page::fetch(self.client, url, "GET /api/v1/users").await
    }

    /// One user by id, login or login shortname.
    pub async fn get(&self, id: impl AsRef<str>) -> Result<User> {
        let url = self
            .client
            .url(&format!("api/v1/users/{}", segment(id.as_ref())), &[])?;
        Ok(self.client.get_json(url, "GET /api/v1/users/{id}").await?.0)
    }

    /// The API token's owner (`GET /api/v1/users/me`). A service app has no user: Okta answers 404.
    pub async fn me(&self) -> Result<User> {
        let url = self.client.url("api/v1/users/me", &[])?;
        Ok(self.client.get_json(url, "GET /api/v1/users/{id}").await?.0)
    }
}

/// `okta.groups()`.
#[derive(Debug)]
pub struct GroupsHandler<'a> {
    client: &'a OktaClient,
}

impl GroupsHandler<'_> {
    /// Groups matching `query` (all groups for an empty one).
    pub async fn list(&self, query: &GroupQuery) -> Result<Page<Group>> {
        let url = self.client.url("api/v1/groups", &query.pairs())?;
        Page::fetch(self.client, url, "GET /api/v1/groups").await
    }

    /// The members of a group.
    pub async fn members(&self, group: &GroupId) -> Result<Page<User>> {
        let url = self.client.url(
            &format!("api/v1/groups/{}/users", segment(group.as_str())),
            &[],
        )?;
        Page::fetch(self.client, url, "GET /api/v1/groups/{id}/users").await
    }

    /// Creates an `OKTA_GROUP` (`okta.groups.manage`). Never repeated after a 5xx: the group may exist.
    pub async fn create(&self, name: &str, description: Option<&str>) -> Result<Group> {
        let url = self.client.url("api/v1/groups", &[])?;
        let body = json!({ "profile": { "name": name, "description": description } });
        let resp = self
            .client
            .request(
                Method::POST,
                url.clone(),
                "POST /api/v1/groups",
                Some(&body),
                Repeat::IfIdempotent,
            )
            .await?;
        read_json(resp, &url).await
    }
}

/// `okta.logs()`.
#[derive(Debug)]
pub struct LogsHandler<'a> {
    client: &'a OktaClient,
}

impl LogsHandler<'_> {
    /// The first page of System Log events for `query`.
    pub async fn list(&self, query: &LogQuery) -> Result<Page<LogEvent>> {
        let url = self.client.url("api/v1/logs", &query.pairs())?;
        Page::fetch(self.client, url, "GET /api/v1/logs").await
    }

    /// Resumes a poll from a saved next link ([`Page::next_url`]); it must point into this org.
    pub async fn follow(&self, next_url: &str) -> Result<Page<LogEvent>> {
        let url = Url::parse(next_url).map_err(|_| Error::ForeignLink {
            url: next_url.chars().take(200).collect(),
            org: self.client.org().normalized(),
        })?;
        if url.origin() != self.client.org().url().origin() || !url.path().ends_with("/api/v1/logs")
        {
            return Err(Error::ForeignLink {
                url: crate::client::without_query(&url),
                org: self.client.org().normalized(),
            });
        }
        Page::fetch(self.client, url, "GET /api/v1/logs").await
    }
}

/// `okta.identity_sources()`.
#[derive(Debug)]
pub struct IdentitySourcesHandler<'a> {
    client: &'a OktaClient,
}

impl IdentitySourcesHandler<'_> {
    /// The source's active import sessions.
    pub async fn sessions(&self, source: &IdentitySourceId) -> Result<Vec<ImportSession>> {
        let url = self.client.url(
            &format!(
                "api/v1/identity-sources/{}/sessions",
                segment(source.as_str())
            ),
            &[],
        )?;
        Ok(self
            .client
            .get_json(url, "GET /api/v1/identity-sources/{id}/sessions")
            .await?
            .0)
    }
}
