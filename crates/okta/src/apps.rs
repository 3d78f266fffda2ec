//! Apps, Okta API scope grants and admin roles: the admin calls that create an API service app
//! (`okta.apps()`, `okta.roles()`), usually with an admin's API token (`SSWS`).
//!
//! Writes here are never repeated after a 5xx or a lost connection ([`Repeat::IfIdempotent`]): the
//! app, key, grant or role may exist already, and the caller re-reads the tenant before trying again.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{OktaClient, Repeat, read_json};
use crate::error::Result;
use crate::org::{ClientId, UserId};
use crate::page::Page;

fn segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// An Okta app (the parts okta365 reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Application {
    /// The app id; for OIDC apps it is also the client id (`0oa…`).
    pub id: String,
    /// The name shown in the Admin Console.
    pub label: String,
    /// The app's key name (`oidc_client` for OIDC apps).
    #[serde(default)]
    pub name: Option<String>,
    /// `ACTIVE`, `INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// `OPENID_CONNECT`, `SAML_2_0`, `BOOKMARK`, …
    pub sign_on_mode: String,
    /// When the app was created.
    #[serde(default)]
    pub created: Option<String>,
    /// `settings.oauthClient` of an OIDC app.
    #[serde(default)]
    pub settings: Option<AppSettings>,
    /// `credentials.oauthClient` of an OIDC app.
    #[serde(default)]
    pub credentials: Option<AppCredentials>,
}

/// An app's `settings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppSettings {
    /// `settings.oauthClient`.
    #[serde(default, rename = "oauthClient")]
    pub oauth_client: Option<OAuthClientSettings>,
}

/// `settings.oauthClient` of an OIDC app (Okta's snake_case names).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthClientSettings {
    /// `service` for an API service app.
    #[serde(default)]
    pub application_type: Option<String>,
    /// `client_credentials` for an API service app.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Token requests need a DPoP proof.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// The public keys for `private_key_jwt`.
    #[serde(default)]
    pub jwks: Option<JwkSet>,
}

/// A JWK set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JwkSet {
    /// The keys.
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// A public JWK registered on a client, as Okta lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Jwk {
    /// Okta's id of the key (`pks…`).
    #[serde(default)]
    pub id: Option<String>,
    /// The key id the client assertion names.
    #[serde(default)]
    pub kid: Option<String>,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// The public members (`kty`, `n`, `e`, or `crv`, `x`, `y`) and the rest, as Okta sent them.
    #[serde(flatten)]
    pub members: serde_json::Map<String, Value>,
}

impl Jwk {
    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn thumbprint(&self) -> String {
        crate::key::thumbprint(&Value::Object(self.members.clone()))
    }

    /// The key is active (Okta's default when it says nothing).
    pub fn is_active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ACTIVE")
    }
}

/// `credentials` of an app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AppCredentials {
    /// `credentials.oauthClient`.
    #[serde(default, rename = "oauthClient")]
    pub oauth_client: Option<OAuthClientCredentials>,
}

/// `credentials.oauthClient` of an OIDC app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthClientCredentials {
    /// The client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// `private_key_jwt` for okta365's service apps.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
}

impl Application {
    fn oauth(&self) -> Option<&OAuthClientSettings> {
        self.settings.as_ref()?.oauth_client.as_ref()
    }

    /// The OAuth client id: `credentials.oauthClient.client_id`, else the app id (Okta makes them equal
    /// for OIDC apps).
    pub fn client_id(&self) -> &str {
        self.credentials
            .as_ref()
            .and_then(|c| c.oauth_client.as_ref())
            .and_then(|c| c.client_id.as_deref())
            .unwrap_or(&self.id)
    }

    /// An OIDC API service app (`application_type: service`).
    pub fn is_service_app(&self) -> bool {
        self.sign_on_mode == "OPENID_CONNECT"
            && self.oauth().and_then(|o| o.application_type.as_deref()) == Some("service")
    }

    /// Its public keys.
    pub fn keys(&self) -> &[Jwk] {
        self.oauth()
            .and_then(|o| o.jwks.as_ref())
            .map(|j| j.keys.as_slice())
            .unwrap_or_default()
    }

    /// Token requests must carry a DPoP proof.
    pub fn dpop_bound(&self) -> bool {
        self.oauth()
            .and_then(|o| o.dpop_bound_access_tokens)
            .unwrap_or(false)
    }

    /// How the client authenticates at the token endpoint.
    pub fn token_endpoint_auth_method(&self) -> Option<&str> {
        self.credentials
            .as_ref()?
            .oauth_client
            .as_ref()?
            .token_endpoint_auth_method
            .as_deref()
    }
}

/// A new OIDC API service app: client credentials with `private_key_jwt` and the given public key.
#[derive(Debug, Clone)]
pub struct NewServiceApp {
    /// The label (the name shown in the Admin Console).
    pub label: String,
    /// The public JWK (with its `kid`) for the client assertion.
    pub public_jwk: Value,
    /// Require DPoP-bound access tokens.
    pub dpop_bound: bool,
}

impl NewServiceApp {
    /// The `POST /api/v1/apps` body.
    pub fn body(&self) -> Value {
        json!({
            "name": "oidc_client",
            "label": self.label,
            "signOnMode": "OPENID_CONNECT",
            "credentials": { "oauthClient": { "token_endpoint_auth_method": "private_key_jwt" } },
            "settings": { "oauthClient": {
                "application_type": "service",
                "grant_types": ["client_credentials"],
                "response_types": ["token"],
                "dpop_bound_access_tokens": self.dpop_bound,
                "jwks": { "keys": [self.public_jwk] },
            } },
        })
    }
}

/// An Okta API scope granted to an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ScopeGrant {
    /// The grant id (`oag…`).
    #[serde(default)]
    pub id: Option<String>,
    /// The scope, e.g. `okta.users.read`.
    pub scope_id: String,
    /// The org authorization server's issuer.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `ACTIVE` or `REVOKED`.
    #[serde(default)]
    pub status: Option<String>,
}

impl ScopeGrant {
    /// The grant is in force.
    pub fn is_active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ACTIVE")
    }
}

/// An admin role assigned to a user or a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RoleAssignment {
    /// The assignment id.
    #[serde(default)]
    pub id: Option<String>,
    /// The role type: `SUPER_ADMIN`, `ORG_ADMIN`, `READ_ONLY_ADMIN`, …, or `CUSTOM`.
    #[serde(rename = "type")]
    pub role_type: String,
    /// Its name, e.g. "Super Administrator".
    #[serde(default)]
    pub label: Option<String>,
    /// `ACTIVE` or `INACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
    /// `USER`, `GROUP` or `CLIENT`.
    #[serde(default)]
    pub assignment_type: Option<String>,
}

impl RoleAssignment {
    /// The assignment is in force.
    pub fn is_active(&self) -> bool {
        self.status.as_deref().is_none_or(|s| s == "ACTIVE")
    }
}

impl OktaClient {
    /// Apps: `/api/v1/apps…`.
    pub fn apps(&self) -> AppsHandler<'_> {
        AppsHandler { client: self }
    }

    /// Admin role assignments of users and clients.
    pub fn roles(&self) -> RolesHandler<'_> {
        RolesHandler { client: self }
    }

    /// Shows that the client may create groups without creating one: `POST /api/v1/groups` with an
    /// empty profile. Okta checks the token's scope and admin role before the body, so its 400
    /// `E0000001` (the name is missing) means the call was allowed; a 403 is returned as the error.
    pub async fn probe_group_create(&self) -> Result<()> {
        let url = self.url("api/v1/groups", &[])?;
        match self
            .request(
                Method::POST,
                url,
                "POST /api/v1/groups",
                Some(&json!({ "profile": {} })),
                Repeat::IfIdempotent,
            )
            .await
        {
            Err(e) if e.okta_code() == Some(&crate::codes::OktaErrorCode::Validation) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => Err(crate::error::Error::Config(
                "Okta created a group without a name; the probe expected a validation error".into(),
            )),
        }
    }

    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bucket: &str,
        body: &Value,
    ) -> Result<T> {
        let url = self.url(path, &[])?;
        let resp = self
            .request(
                method,
                url.clone(),
                bucket,
                Some(body),
                Repeat::IfIdempotent,
            )
            .await?;
        read_json(resp, &url).await
    }
}

/// `okta.apps()`.
#[derive(Debug)]
pub struct AppsHandler<'a> {
    client: &'a OktaClient,
}

impl AppsHandler<'_> {
    /// Apps whose label or name starts with `q` (a prefix match: compare labels exactly yourself),
    /// `limit` per page.
    pub async fn list(&self, q: Option<&str>, limit: Option<u32>) -> Result<Page<Application>> {
        let mut query = Vec::new();
        if let Some(q) = q {
            query.push(("q", q.to_owned()));
        }
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        let url = self.client.url("api/v1/apps", &query)?;
        Page::fetch(self.client, url, "GET /api/v1/apps").await
    }

    /// One app by id.
    pub async fn get(&self, id: &str) -> Result<Application> {
        let url = self
            .client
            .url(&format!("api/v1/apps/{}", segment(id)), &[])?;
        Ok(self.client.get_json(url, "GET /api/v1/apps/{id}").await?.0)
    }

    /// Creates an OIDC API service app (`POST /api/v1/apps`).
    pub async fn create_service_app(&self, app: &NewServiceApp) -> Result<Application> {
        self.client
            .send_json(
                Method::POST,
                "api/v1/apps",
                "POST /api/v1/apps",
                &app.body(),
            )
            .await
    }

    /// Adds a public key to a client (`POST /api/v1/apps/{id}/credentials/jwks`, 201).
    pub async fn add_key(&self, id: &str, public_jwk: &Value) -> Result<Jwk> {
        let mut body = public_jwk.clone();
        body["status"] = json!("ACTIVE");
        self.client
            .send_json(
                Method::POST,
                &format!("api/v1/apps/{}/credentials/jwks", segment(id)),
                "POST /api/v1/apps/{id}/credentials/jwks",
                &body,
            )
            .await
    }

    /// The Okta API scopes granted to an app.
    pub async fn grants(&self, id: &str) -> Result<Vec<ScopeGrant>> {
        let url = self
            .client
            .url(&format!("api/v1/apps/{}/grants", segment(id)), &[])?;
        Ok(self
            .client
            .get_json(url, "GET /api/v1/apps/{id}/grants")
            .await?
            .0)
    }

    /// Grants an Okta API scope to an app (201); `issuer` is the org URL. Needs a super admin.
    pub async fn grant(&self, id: &str, scope: &str, issuer: &str) -> Result<ScopeGrant> {
        self.client
            .send_json(
                Method::POST,
                &format!("api/v1/apps/{}/grants", segment(id)),
                "POST /api/v1/apps/{id}/grants",
                &json!({ "scopeId": scope, "issuer": issuer }),
            )
            .await
    }
}

/// `okta.roles()`.
#[derive(Debug)]
pub struct RolesHandler<'a> {
    client: &'a OktaClient,
}

impl RolesHandler<'_> {
    /// A user's admin roles (`GET /api/v1/users/{id}/roles`).
    pub async fn of_user(&self, user: &UserId) -> Result<Vec<RoleAssignment>> {
        let url = self.client.url(
            &format!("api/v1/users/{}/roles", segment(user.as_str())),
            &[],
        )?;
        Ok(self
            .client
            .get_json(url, "GET /api/v1/users/{id}/roles")
            .await?
            .0)
    }

    /// A client's admin roles (`GET /oauth2/v1/clients/{clientId}/roles`).
    pub async fn of_client(&self, client: &ClientId) -> Result<Vec<RoleAssignment>> {
        let url = self.client.url(
            &format!("oauth2/v1/clients/{}/roles", segment(client.as_str())),
            &[],
        )?;
        Ok(self
            .client
            .get_json(url, "GET /oauth2/v1/clients/{id}/roles")
            .await?
            .0)
    }

    /// Assigns a standard admin role to a client (`POST /oauth2/v1/clients/{clientId}/roles`).
    pub async fn assign_to_client(
        &self,
        client: &ClientId,
        role_type: &str,
    ) -> Result<RoleAssignment> {
        self.client
            .send_json(
                Method::POST,
                &format!("oauth2/v1/clients/{}/roles", segment(client.as_str())),
                "POST /oauth2/v1/clients/{id}/roles",
                &json!({ "type": role_type }),
            )
            .await
    }
}
