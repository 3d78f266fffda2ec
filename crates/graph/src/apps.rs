//! Creating and granting an app registration with an admin's delegated token: applications
//! (find by appId or exact name, create, add permissions, `addPassword`, `removePassword`,
//! `keyCredentials`), service principals, and application permission grants
//! (`appRoleAssignedTo`).
//!
//! What must stay true: a 404 `Request_ResourceNotFound` on a call naming an object created moments
//! ago is directory replication, so such calls are retried with backoff (up to
//! [`AppsClient::with_replication_wait`], default 60 s); a `secretText` is only ever returned inside a
//! [`Secret`]; the bearer token is never logged.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use jiff::Timestamp;
use okta365_secrets::Secret;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use crate::client::read_json;
use crate::delegated::DelegatedToken;
use crate::error::{Error, Result};
use crate::models::{KeyCredential, PasswordCredential};
use crate::transport::{self, Repeat, RetryPolicy};

/// Microsoft Graph's appId.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// One API permission asked for (`Role`: application, `Scope`: delegated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    /// The permission's id.
    pub id: String,
    /// `Role` or `Scope`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The API permissions an app asks for on one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    /// The resource's appId (Graph: [`GRAPH_APP_ID`]).
    pub resource_app_id: String,
    /// The permissions.
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

/// An app registration as the setup reads it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRegistration {
    /// The application object's id.
    pub id: String,
    /// The Application (client) id.
    pub app_id: String,
    /// Its name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// API permissions asked for.
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// Client secrets (metadata).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates (metadata).
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
}

impl AppRegistration {
    /// The Graph application permission ids the app asks for.
    pub fn graph_roles_requested(&self) -> Vec<String> {
        self.required_resource_access
            .iter()
            .filter(|r| r.resource_app_id.eq_ignore_ascii_case(GRAPH_APP_ID))
            .flat_map(|r| r.resource_access.iter())
            .filter(|a| a.kind == "Role")
            .map(|a| a.id.to_ascii_lowercase())
            .collect()
    }
}

/// An app role a resource (Graph) defines.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    /// Its id.
    pub id: String,
    /// Its value, e.g. `User.ReadWrite.All`.
    #[serde(default)]
    pub value: Option<String>,
    /// Who may hold it (`Application` for application permissions).
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
}

/// A service principal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Its object id.
    pub id: String,
    /// The app it stands for.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The roles it defines.
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
}

/// An application permission granted to a service principal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    /// Its id.
    pub id: String,
    /// The role granted.
    pub app_role_id: String,
    /// Who holds it.
    pub principal_id: String,
    /// The resource that defines it.
    pub resource_id: String,
}

/// A client secret just created. `Debug` hides `secret_text`.
#[derive(Clone)]
pub struct AddedPassword {
    /// The secret's id.
    pub key_id: String,
    /// The secret's value: returned only this once.
    pub secret_text: Secret,
    /// Its first 3 characters.
    pub hint: Option<String>,
    /// When it expires.
    pub end_date_time: Option<Timestamp>,
}

impl std::fmt::Debug for AddedPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddedPassword")
            .field("key_id", &self.key_id)
            .field("hint", &self.hint)
            .field("end_date_time", &self.end_date_time)
            .finish_non_exhaustive()
    }
}

/// A certificate to register (public part, DER).
#[derive(Debug, Clone)]
pub struct NewKeyCredential {
    /// A name for people.
    pub display_name: String,
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
}

/// Graph calls for the app registration setup, with an admin's delegated token.
#[derive(Clone)]
pub struct AppsClient {
    api: Url,
    token: Secret,
    http: reqwest::Client,
    retry: RetryPolicy,
    replication_wait: Duration,
}

impl std::fmt::Debug for AppsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppsClient")
            .field("api", &self.api.as_str())
            .finish_non_exhaustive()
    }
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Graph { status: 404, code, .. } if code == "Request_ResourceNotFound")
}

impl AppsClient {
    /// A client for Graph at `graph_url` with the admin's token.
    pub fn new(
        graph_url: &Url,
        token: &DelegatedToken,
        http: reqwest::Client,
    ) -> Result<AppsClient> {
        let base = transport::base_url(graph_url, "Graph URL")?;
        let api = base.join("v1.0/").map_err(|e| {
            Error::InvalidInput(format!("The Graph URL {base} cannot take /v1.0 ({e})."))
        })?;
        Ok(AppsClient {
            api,
            token: token.secret().clone(),
            http,
            retry: RetryPolicy::default(),
            replication_wait: Duration::from_secs(60),
        })
    }

    /// How long a 404 on a new object is retried (directory replication).
    pub fn with_replication_wait(mut self, wait: Duration) -> AppsClient {
        self.replication_wait = wait;
        self
    }

    /// Changes how 429s and 5xx answers are retried.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> AppsClient {
        self.retry = retry;
        self
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = self
            .api
            .join(path)
            .map_err(|e| Error::InvalidInput(format!("{path} is not a valid Graph path ({e}).")))?;
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    async fn once<T: serde::de::DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Option<T>> {
        let repeat = if *method == Method::POST {
            Repeat::Once
        } else {
            Repeat::Safe
        };
        let response = transport::send(&self.retry, repeat, url, || {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose())
                .header("accept", "application/json");
            req = match body {
                Some(b) => req.json(b),
                None if *method != Method::GET => req.header("content-length", "0"),
                None => req,
            };
            req
        })
        .await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        read_json::<T>(url, response).await.map(Some)
    }

    /// Sends a request; with `fresh`, a 404 `Request_ResourceNotFound` is replication and retried.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        fresh: bool,
    ) -> Result<Option<T>> {
        let started = std::time::Instant::now();
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(250))
            .with_max_delay(Duration::from_secs(8))
            .with_max_times(usize::MAX)
            .with_jitter()
            .build();
        loop {
            match self.once(&method, url, body).await {
                Err(e) if fresh && is_not_found(&e) => {
                    let delay = backoff.next().unwrap_or(Duration::from_secs(1));
                    if started.elapsed() + delay > self.replication_wait {
                        return Err(e);
                    }
                    tracing::info!(
                        path = url.path(),
                        ?delay,
                        "object not replicated yet (404); retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    fn required<T>(url: &Url, v: Option<T>) -> Result<T> {
        v.ok_or_else(|| Error::UnexpectedResponse {
            url: url.to_string(),
            status: 204,
            reason: "the answer had no body".into(),
        })
    }

    async fn list<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<Vec<T>> {
        #[derive(Deserialize)]
        struct Raw<T> {
            value: Vec<T>,
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<String>,
        }
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let raw: Raw<T> =
                Self::required(&url, self.call(Method::GET, &url, None, false).await?)?;
            items.extend(raw.value);
            next = match raw.next_link {
                None => None,
                Some(link) => {
                    let u = Url::parse(&link).map_err(|_| Error::UnexpectedResponse {
                        url: url.to_string(),
                        status: 200,
                        reason: "@odata.nextLink is not a URL".into(),
                    })?;
                    if u.origin() != self.api.origin() {
                        return Err(Error::UnexpectedResponse {
                            url: url.to_string(),
                            status: 200,
                            reason: "@odata.nextLink points at another host".into(),
                        });
                    }
                    Some(u)
                }
            };
        }
        Ok(items)
    }

    const APP_SELECT: &'static str =
        "id,appId,displayName,requiredResourceAccess,passwordCredentials,keyCredentials";

    /// The app registration with this client id, if any.
    pub async fn application_by_app_id(&self, app_id: &str) -> Result<Option<AppRegistration>> {
        let url = self.url(
            "applications",
            &[
                (
                    "$filter",
                    format!("appId eq '{}'", app_id.replace('\'', "''")),
                ),
                ("$select", Self::APP_SELECT.into()),
            ],
        )?;
        Ok(self.list(url).await?.into_iter().next())
    }

    /// App registrations whose display name is exactly `name` (Graph's `eq` ignores case, so the
    /// answer is compared exactly here).
    pub async fn applications_named(&self, name: &str) -> Result<Vec<AppRegistration>> {
        let url = self.url(
            "applications",
            &[
                (
                    "$filter",
                    format!("displayName eq '{}'", name.replace('\'', "''")),
                ),
                ("$select", Self::APP_SELECT.into()),
            ],
        )?;
        Ok(self
            .list::<AppRegistration>(url)
            .await?
            .into_iter()
            .filter(|a| a.display_name.as_deref() == Some(name))
            .collect())
    }

    /// Creates an app registration for this tenant only, asking for `permissions`.
    pub async fn create_application(
        &self,
        name: &str,
        permissions: &[RequiredResourceAccess],
    ) -> Result<AppRegistration> {
        let url = self.url("applications", &[])?;
        let body = json!({
            "displayName": name,
            "signInAudience": "AzureADMyOrg",
            "requiredResourceAccess": permissions,
        });
        Self::required(
            &url,
            self.call(Method::POST, &url, Some(&body), false).await?,
        )
    }

    /// Sets the API permissions an app asks for (the whole list).
    pub async fn set_required_resource_access(
        &self,
        object_id: &str,
        permissions: &[RequiredResourceAccess],
    ) -> Result<()> {
        let url = self.url(&format!("applications/{object_id}"), &[])?;
        let body = json!({ "requiredResourceAccess": permissions });
        self.call::<Value>(Method::PATCH, &url, Some(&body), true)
            .await?;
        Ok(())
    }

    /// Adds a client secret; its value is returned only this once.
    pub async fn add_password(
        &self,
        object_id: &str,
        display_name: &str,
        end: Timestamp,
    ) -> Result<AddedPassword> {
        let url = self.url(&format!("applications/{object_id}/addPassword"), &[])?;
        let body = json!({ "passwordCredential": {
            "displayName": display_name,
            "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }});
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            key_id: String,
            secret_text: String,
            #[serde(default)]
            hint: Option<String>,
            #[serde(default)]
            end_date_time: Option<Timestamp>,
        }
        let raw: Raw = Self::required(
            &url,
            self.call(Method::POST, &url, Some(&body), true).await?,
        )?;
        Ok(AddedPassword {
            key_id: raw.key_id,
            secret_text: Secret::new(raw.secret_text),
            hint: raw.hint,
            end_date_time: raw.end_date_time,
        })
    }

    /// Removes a client secret by its key id.
    pub async fn remove_password(&self, object_id: &str, key_id: &str) -> Result<()> {
        let url = self.url(&format!("applications/{object_id}/removePassword"), &[])?;
        self.call::<Value>(Method::POST, &url, Some(&json!({ "keyId": key_id })), true)
            .await?;
        Ok(())
    }

    /// Registers a certificate, keeping the certificates already on the app (by key id).
    pub async fn add_key_credential(
        &self,
        app: &AppRegistration,
        new: &NewKeyCredential,
    ) -> Result<()> {
        use base64::Engine as _;
        let url = self.url(&format!("applications/{}", app.id), &[])?;
        let mut keys: Vec<Value> = app
            .key_credentials
            .iter()
            .map(|k| {
                json!({
                    "keyId": k.key_id, "type": k.kind, "usage": k.usage,
                    "displayName": k.display_name, "key": null,
                })
            })
            .collect();
        keys.push(json!({
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "displayName": new.display_name,
            "key": base64::engine::general_purpose::STANDARD.encode(&new.certificate_der),
        }));
        let body = json!({ "keyCredentials": keys });
        self.call::<Value>(Method::PATCH, &url, Some(&body), true)
            .await?;
        Ok(())
    }

    /// The service principal of an app (by appId), if any; Graph's own with its `appRoles`.
    pub async fn service_principal(&self, app_id: &str) -> Result<Option<ServicePrincipal>> {
        let url = self.url(
            "servicePrincipals",
            &[
                (
                    "$filter",
                    format!("appId eq '{}'", app_id.replace('\'', "''")),
                ),
                ("$select", "id,appId,displayName,appRoles".into()),
            ],
        )?;
        Ok(self.list(url).await?.into_iter().next())
    }

    /// Microsoft Graph's service principal in this tenant, with its app roles
    /// (`servicePrincipals(appId='00000003-…')?$select=id,appRoles`).
    pub async fn graph_service_principal(&self) -> Result<ServicePrincipal> {
        let url = self.url(
            &format!("servicePrincipals(appId='{GRAPH_APP_ID}')"),
            &[("$select", "id,appId,displayName,appRoles".into())],
        )?;
        Self::required(&url, self.call(Method::GET, &url, None, false).await?)
    }

    /// Creates the service principal of an app (retried while the app is not replicated yet).
    pub async fn create_service_principal(&self, app_id: &str) -> Result<ServicePrincipal> {
        let url = self.url("servicePrincipals", &[])?;
        let body = json!({ "appId": app_id });
        Self::required(
            &url,
            self.call(Method::POST, &url, Some(&body), true).await?,
        )
    }

    /// Every assignment of `resource_sp_id`'s roles (all pages).
    pub async fn role_assignments(&self, resource_sp_id: &str) -> Result<Vec<AppRoleAssignment>> {
        let url = self.url(
            &format!("servicePrincipals/{resource_sp_id}/appRoleAssignedTo"),
            &[],
        )?;
        self.list(url).await
    }

    /// Grants the application permission `app_role_id` of `resource_sp_id` to `principal_id`
    /// (admin consent for one permission).
    pub async fn grant(
        &self,
        resource_sp_id: &str,
        principal_id: &str,
        app_role_id: &str,
    ) -> Result<AppRoleAssignment> {
        let url = self.url(
            &format!("servicePrincipals/{resource_sp_id}/appRoleAssignedTo"),
            &[],
        )?;
        let body = json!({
            "principalId": principal_id,
            "resourceId": resource_sp_id,
            "appRoleId": app_role_id,
        });
        Self::required(
            &url,
            self.call(Method::POST, &url, Some(&body), true).await?,
        )
    }

    /// The tenant's display name (`GET /organization`).
    pub async fn tenant_name(&self) -> Result<Option<String>> {
        let url = self.url("organization", &[("$select", "id,displayName".into())])?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Org {
            display_name: Option<String>,
        }
        Ok(self
            .list::<Org>(url)
            .await?
            .into_iter()
            .next()
            .and_then(|o| o.display_name))
    }
}
