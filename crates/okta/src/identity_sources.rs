//! Anything-as-a-Source import sessions (`okta.identitySources.read` / `.manage`) of one Custom
//! Identity Source: list, create, read and close sessions, upload users to upsert or deactivate in chunks
//! (at most 200 per request), and start the import (docs/imports.md "Okta client").
//!
//! ```no_run
//! # async fn run(okta: okta365_okta::OktaClient) -> okta365_okta::Result<()> {
//! use okta365_okta::{IdentitySourceId, UpsertProfile};
//! let source = IdentitySourceId::new("0oa1b2c3d4e5f6g7h8i9");
//! let is = okta.identity_source(&source);
//! let session = is.create_session().await?;
//! is.bulk_upsert(&session.id, &[UpsertProfile::new("E1001", [("userName", "ann@example.com")])]).await?;
//! let triggered = is.start_import(&session.id).await?;
//! # Ok(()) }
//! ```
//!
//! Errors are the client's [`Error`](crate::Error)s: Okta's answers keep the HTTP status, `errorCode`,
//! `errorSummary` and `errorCauses`; a 429 is waited out like every other call.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Value, json};

use crate::client::{OktaClient, Repeat, read_json, without_query};
use crate::error::{Error, Result};
use crate::org::IdentitySourceId;

/// The most profiles Okta accepts in one bulk request.
pub const MAX_PROFILES_PER_REQUEST: usize = 200;

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The status of an import session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// New: uploads are accepted.
    Created,
    /// Okta is receiving the uploads.
    InProgress,
    /// The import was started; Okta is processing it.
    Triggered,
    /// The data was imported.
    Completed,
    /// Closed (deleted) before it was started.
    Closed,
    /// Left `CREATED` for 24 hours.
    Expired,
    /// The import failed; the data must be uploaded again in a new session.
    Error,
    /// A status this build does not know, as Okta sent it.
    Unknown(String),
}

impl SessionStatus {
    /// Okta's value, e.g. `IN_PROGRESS`.
    pub fn as_str(&self) -> &str {
        match self {
            SessionStatus::Created => "CREATED",
            SessionStatus::InProgress => "IN_PROGRESS",
            SessionStatus::Triggered => "TRIGGERED",
            SessionStatus::Completed => "COMPLETED",
            SessionStatus::Closed => "CLOSED",
            SessionStatus::Expired => "EXPIRED",
            SessionStatus::Error => "ERROR",
            SessionStatus::Unknown(s) => s,
        }
    }

    /// Parses Okta's value; anything unknown is kept as [`SessionStatus::Unknown`].
    pub fn parse(value: &str) -> SessionStatus {
        match value {
            "CREATED" => SessionStatus::Created,
            "IN_PROGRESS" => SessionStatus::InProgress,
            "TRIGGERED" => SessionStatus::Triggered,
            "COMPLETED" => SessionStatus::Completed,
            "CLOSED" => SessionStatus::Closed,
            "EXPIRED" => SessionStatus::Expired,
            "ERROR" => SessionStatus::Error,
            other => SessionStatus::Unknown(other.to_owned()),
        }
    }

    /// True once the session can change no more (`COMPLETED`, `CLOSED`, `EXPIRED`, `ERROR`).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            SessionStatus::Completed
                | SessionStatus::Closed
                | SessionStatus::Expired
                | SessionStatus::Error
        )
    }

    /// True while the session is being processed (`TRIGGERED`, `IN_PROGRESS`).
    pub fn is_running(&self) -> bool {
        matches!(self, SessionStatus::Triggered | SessionStatus::InProgress)
    }
}

impl std::fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SessionStatus {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SessionStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(SessionStatus::parse(&String::deserialize(d)?))
    }
}

/// An import session (`IdentitySourceSession`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Session {
    /// `aps…`.
    pub id: String,
    /// The identity source.
    pub identity_source_id: String,
    /// Where the session is.
    pub status: SessionStatus,
    /// `INCREMENTAL`.
    #[serde(default)]
    pub import_type: Option<String>,
    /// When the session was created.
    #[serde(default)]
    pub created: Option<jiff::Timestamp>,
    /// When the session last changed.
    #[serde(default)]
    pub last_updated: Option<jiff::Timestamp>,
}

/// One user to create or update: its external id and profile attributes (strings only, as Okta
/// requires).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertProfile {
    /// The user's id in the source (≤ 512 characters).
    pub external_id: String,
    /// The attributes: `userName`, `email`, `firstName`, … .
    pub profile: BTreeMap<String, String>,
}

impl UpsertProfile {
    /// A profile from `(attribute, value)` pairs.
    pub fn new<K: Into<String>, V: Into<String>>(
        external_id: impl Into<String>,
        profile: impl IntoIterator<Item = (K, V)>,
    ) -> UpsertProfile {
        UpsertProfile {
            external_id: external_id.into(),
            profile: profile
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// The body of `bulk-upsert`: `{"entityType": "USERS", "profiles": [{externalId, profile}]}`.
pub fn upsert_body(profiles: &[UpsertProfile]) -> Value {
    json!({ "entityType": "USERS", "profiles": profiles })
}

/// The body of `bulk-delete`: `{"entityType": "USERS", "profiles": [{externalId}]}`.
pub fn delete_body(external_ids: &[String]) -> Value {
    let profiles: Vec<Value> = external_ids
        .iter()
        .map(|id| json!({ "externalId": id }))
        .collect();
    json!({ "entityType": "USERS", "profiles": profiles })
}

/// Reads a session from an object or a one-element array (how some orgs answer `start-import`).
pub fn session_from_value(value: Value) -> std::result::Result<Session, String> {
    let value = match value {
        Value::Array(mut items) => {
            if items.len() != 1 {
                return Err(format!(
                    "expected one session, found an array of {}",
                    items.len()
                ));
            }
            items.remove(0)
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| format!("not an import session: {e}"))
}

impl OktaClient {
    /// The import sessions of one Custom Identity Source: `/api/v1/identity-sources/{id}/sessions…`.
    pub fn identity_source(&self, source: &IdentitySourceId) -> IdentitySourceHandler<'_> {
        IdentitySourceHandler {
            client: self,
            base: format!(
                "api/v1/identity-sources/{}/sessions",
                segment(source.as_str())
            ),
        }
    }
}

/// `okta.identity_source(id)`.
#[derive(Debug)]
pub struct IdentitySourceHandler<'a> {
    client: &'a OktaClient,
    base: String,
}

const LIST: &str = "GET /api/v1/identity-sources/{id}/sessions";
const CREATE: &str = "POST /api/v1/identity-sources/{id}/sessions";
const GET: &str = "GET /api/v1/identity-sources/{id}/sessions/{id}";
const DELETE: &str = "DELETE /api/v1/identity-sources/{id}/sessions/{id}";
const UPSERT: &str = "POST /api/v1/identity-sources/{id}/sessions/{id}/bulk-upsert";
const BULK_DELETE: &str = "POST /api/v1/identity-sources/{id}/sessions/{id}/bulk-delete";
const START: &str = "POST /api/v1/identity-sources/{id}/sessions/{id}/start-import";

impl IdentitySourceHandler<'_> {
    /// The API path of a session, or of one of its actions (`bulk-upsert`, …).
    pub fn path(&self, session: Option<&str>, action: Option<&str>) -> String {
        let mut p = self.base.clone();
        if let Some(s) = session {
            p.push('/');
            p.push_str(&segment(s));
        }
        if let Some(a) = action {
            p.push('/');
            p.push_str(a);
        }
        p
    }

    /// The source's sessions (`GET …/sessions`): Okta lists the ones not yet finished.
    pub async fn sessions(&self) -> Result<Vec<Session>> {
        let url = self.client.url(&self.path(None, None), &[])?;
        Ok(self.client.get_json(url, LIST).await?.0)
    }

    /// Creates a session (`POST …/sessions`). Never repeated after a 5xx (a session may exist: list
    /// them). Okta refuses with 400 while another session is open or within minutes of the last one.
    pub async fn create_session(&self) -> Result<Session> {
        let url = self.client.url(&self.path(None, None), &[])?;
        let resp = self
            .client
            .request(
                Method::POST,
                url.clone(),
                CREATE,
                None,
                Repeat::IfIdempotent,
            )
            .await?;
        read_json(resp, &url).await
    }

    /// One session (`GET …/sessions/{id}`).
    pub async fn session(&self, id: &str) -> Result<Session> {
        let url = self.client.url(&self.path(Some(id), None), &[])?;
        Ok(self.client.get_json(url, GET).await?.0)
    }

    /// Closes a `CREATED` session (`DELETE …/sessions/{id}`; Okta answers 400 for other statuses).
    pub async fn delete_session(&self, id: &str) -> Result<()> {
        let url = self.client.url(&self.path(Some(id), None), &[])?;
        self.client
            .request(Method::DELETE, url, DELETE, None, Repeat::IfIdempotent)
            .await
            .map(|_| ())
    }

    /// Uploads users to create or update (`POST …/bulk-upsert`, 1–200 profiles). Upserting the same
    /// profiles again is harmless, so a 5xx is retried.
    pub async fn bulk_upsert(&self, id: &str, profiles: &[UpsertProfile]) -> Result<()> {
        check_count(profiles.len())?;
        let url = self
            .client
            .url(&self.path(Some(id), Some("bulk-upsert")), &[])?;
        self.client
            .request(
                Method::POST,
                url,
                UPSERT,
                Some(&upsert_body(profiles)),
                Repeat::Safe,
            )
            .await
            .map(|_| ())
    }

    /// Uploads users to deactivate, by external id (`POST …/bulk-delete`, 1–200 ids).
    pub async fn bulk_delete(&self, id: &str, external_ids: &[String]) -> Result<()> {
        check_count(external_ids.len())?;
        let url = self
            .client
            .url(&self.path(Some(id), Some("bulk-delete")), &[])?;
        self.client
            .request(
                Method::POST,
                url,
                BULK_DELETE,
                Some(&delete_body(external_ids)),
                Repeat::Safe,
            )
            .await
            .map(|_| ())
    }

    /// Starts the import of what was uploaded (`POST …/start-import`); the session becomes
    /// `TRIGGERED`. Okta answers an object or a one-element array; both are read.
    pub async fn start_import(&self, id: &str) -> Result<Session> {
        let url = self
            .client
            .url(&self.path(Some(id), Some("start-import")), &[])?;
        let resp = self
            .client
            .request(Method::POST, url.clone(), START, None, Repeat::IfIdempotent)
            .await?;
        let status = resp.status().as_u16();
        let value: Value = read_json(resp, &url).await?;
        session_from_value(value).map_err(|message| Error::Unexpected {
            url: without_query(&url),
            status,
            message,
        })
    }
}

fn check_count(n: usize) -> Result<()> {
    if n == 0 || n > MAX_PROFILES_PER_REQUEST {
        return Err(Error::Config(format!(
            "a bulk request carries 1 to {MAX_PROFILES_PER_REQUEST} users, not {n}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> OktaClient {
        OktaClient::builder("http://127.0.0.1:9")
            .auth(crate::OktaAuth::ApiToken(okta365_secrets::Secret::new(
                "token",
            )))
            .build()
            .unwrap()
    }

    #[test]
    fn paths_follow_the_spec() {
        let c = client();
        let source = IdentitySourceId::new("0oa1b2c3d4e5f6g7h8i9");
        let is = c.identity_source(&source);
        assert_eq!(
            is.path(None, None),
            "api/v1/identity-sources/0oa1b2c3d4e5f6g7h8i9/sessions"
        );
        assert_eq!(
            is.path(Some("aps1"), Some("bulk-upsert")),
            "api/v1/identity-sources/0oa1b2c3d4e5f6g7h8i9/sessions/aps1/bulk-upsert"
        );
        assert_eq!(
            is.path(Some("a b/c"), None),
            "api/v1/identity-sources/0oa1b2c3d4e5f6g7h8i9/sessions/a%20b%2Fc"
        );
    }

    #[test]
    fn bodies_have_the_spec_shape() {
        let b = upsert_body(&[UpsertProfile::new(
            "E1",
            [("userName", "a@x.io"), ("email", "a@x.io")],
        )]);
        assert_eq!(
            b,
            json!({"entityType": "USERS", "profiles": [{"externalId": "E1", "profile": {"email": "a@x.io", "userName": "a@x.io"}}]})
        );
        let d = delete_body(&["E1".into(), "E2".into()]);
        assert_eq!(
            d,
            json!({"entityType": "USERS", "profiles": [{"externalId": "E1"}, {"externalId": "E2"}]})
        );
    }

    #[test]
    fn sessions_parse_from_an_object_or_a_one_element_array() {
        let one = json!({"id": "aps1", "identitySourceId": "0oa1", "status": "TRIGGERED",
            "importType": "INCREMENTAL", "created": "2022-04-04T15:56:05.000Z", "lastUpdated": "2022-04-04T15:57:05.000Z"});
        let s = session_from_value(one.clone()).unwrap();
        assert_eq!(s.status, SessionStatus::Triggered);
        assert_eq!(s.created.unwrap().as_second(), 1_649_087_765);
        assert_eq!(session_from_value(json!([one])).unwrap(), s);
        assert!(
            session_from_value(json!([]))
                .unwrap_err()
                .contains("array of 0")
        );
        let odd: Session = serde_json::from_value(
            json!({"id": "aps2", "identitySourceId": "0oa1", "status": "PAUSED"}),
        )
        .unwrap();
        assert_eq!(odd.status, SessionStatus::Unknown("PAUSED".into()));
        assert!(!odd.status.is_final());
        assert!(SessionStatus::Expired.is_final());
    }

    #[tokio::test]
    async fn bulk_requests_outside_1_to_200_are_refused_before_sending() {
        let c = client();
        let source = IdentitySourceId::new("0oa1b2c3d4e5f6g7h8i9");
        let err = c
            .identity_source(&source)
            .bulk_upsert("aps1", &[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("1 to 200"), "{err}");
        let ids: Vec<String> = (0..201).map(|i| format!("E{i}")).collect();
        let err = c
            .identity_source(&source)
            .bulk_delete("aps1", &ids)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not 201"), "{err}");
    }
}
