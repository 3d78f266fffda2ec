//! What the end-to-end flows share: the sandbox tenant as the admin sees it (Okta API, Graph, the
//! sandbox's control endpoints) and waiting for something to appear.
#![allow(dead_code)] // each test binary uses its own part of it

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use okta365_secrets::{CredentialKind, Keychain};
use serde_json::Value;

pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if Instant::now() > deadline {
            bail!("{what} did not appear within {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The sandbox tenant as the admin sees it: the Okta API with the profile's demo API token, Graph with
/// a client-credentials token of the profile's app.
pub struct Tenant {
    base: String,
    okta_token: String,
    graph_token: String,
    http: reqwest::Client,
}

impl Tenant {
    pub async fn of(data_dir: &std::path::Path, profile_id: &str) -> Result<Tenant> {
        let info: Value =
            serde_json::from_slice(&std::fs::read(data_dir.join("sandbox/server.json"))?)?;
        let base = str_field(&info, "baseUrl")?
            .trim_end_matches('/')
            .to_string();
        let http = reqwest::Client::builder().no_proxy().build()?;
        let keychain = Keychain::with_service("okta365-dev");
        let okta_token = keychain
            .get(profile_id, CredentialKind::OktaApiToken)
            .await?
            .context("the sandbox profile has its demo API token in the keychain")?
            .expose()
            .to_string();
        let secret = keychain
            .get(profile_id, CredentialKind::EntraClientSecret)
            .await?
            .context("the sandbox profile has its demo client secret in the keychain")?
            .expose()
            .to_string();
        let store = okta365_store::Store::open(&data_dir.join("okta365.sqlite3"))?;
        let profile = store
            .profile_by_id(profile_id.parse()?)?
            .context("the active profile is in the store")?;
        let tenant = profile
            .ms_tenant
            .context("the sandbox profile has a tenant")?;
        let client_id = profile
            .ms_client_id
            .context("the sandbox profile has an app")?;
        let token: Value = http
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await?
            .json()
            .await?;
        let graph_token = str_field(&token, "access_token")?;
        Ok(Tenant {
            base,
            okta_token,
            graph_token,
            http,
        })
    }

    pub async fn okta(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Authorization", format!("SSWS {}", self.okta_token))
            .header("Accept", "application/json");
        request = match body {
            Some(body) => request.json(&body),
            None => request.header("Content-Length", "0"),
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status.is_success(),
            "{method} {url} answered {status}: {text}"
        );
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    pub async fn okta_post(&self, path: &str, body: Value) -> Result<Value> {
        self.okta(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn okta_put(&self, path: &str) -> Result<Value> {
        self.okta(reqwest::Method::PUT, path, None).await
    }

    pub async fn okta_delete(&self, path: &str) -> Result<Value> {
        self.okta(reqwest::Method::DELETE, path, None).await
    }

    pub async fn group_id(&self, name: &str) -> Result<String> {
        let url = format!("{}/api/v1/groups", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[("search", format!("profile.name eq \"{name}\""))])
            .header("Authorization", format!("SSWS {}", self.okta_token))
            .header("Accept", "application/json")
            .send()
            .await?;
        let groups: Value = response.json().await?;
        let group = groups
            .as_array()
            .and_then(|g| g.iter().find(|g| g["profile"]["name"] == name))
            .with_context(|| format!("the sandbox org has a group named {name:?}: {groups}"))?;
        str_field(group, "id")
    }

    /// `GET /v1.0/{path}` on Graph with the profile's app token.
    pub async fn graph_get(&self, path: &str) -> Result<Value> {
        let url = format!("{}/v1.0/{path}", self.base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.graph_token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "GET {url} answered {status}: {body}");
        Ok(body)
    }

    /// `GET /_sandbox/{path}`.
    pub async fn sandbox_get(&self, path: &str) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        let response = self.http.get(&url).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "GET {url} answered {status}: {body}");
        Ok(body)
    }

    /// `POST /_sandbox/{path}` with a JSON body.
    pub async fn sandbox_post(&self, path: &str, body: Value) -> Result<Value> {
        self.sandbox_send(reqwest::Method::POST, path, body).await
    }

    /// `PUT /_sandbox/{path}` with a JSON body.
    pub async fn sandbox_put(&self, path: &str, body: Value) -> Result<Value> {
        self.sandbox_send(reqwest::Method::PUT, path, body).await
    }

    async fn sandbox_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        let response = self
            .http
            .request(method.clone(), &url)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status.is_success(),
            "{method} {url} answered {status}: {text}"
        );
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Writes the sandbox's sample HR source as a CSV file (what an HR system's export looks like).
    pub async fn save_hr_csv(&self, path: &std::path::Path) -> Result<()> {
        let url = format!("{}/_sandbox/hr/users.csv", self.base);
        let response = self.http.get(&url).send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        ensure!(status.is_success(), "GET {url} answered {status}");
        std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// The Okta user with this login, if any.
    pub async fn okta_user(&self, login: &str) -> Result<Option<Value>> {
        let url = format!("{}/api/v1/users/{login}", self.base);
        let response = self
            .http
            .get(&url)
            .header("Authorization", format!("SSWS {}", self.okta_token))
            .header("Accept", "application/json")
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "GET {url} answered {status}: {body}");
        Ok(Some(body))
    }

    /// The mails Graph sent (`kind: "mail"` entries of `GET /_sandbox/mail`) to `to`.
    pub async fn mails_to(&self, to: &str) -> Result<Vec<Value>> {
        let all = self.sandbox_get("mail").await?;
        Ok(all
            .as_array()
            .map(|m| {
                m.iter()
                    .filter(|m| m["kind"] == "mail")
                    .filter(|m| {
                        m["to"].as_array().is_some_and(|to_list| {
                            to_list.iter().any(|t| {
                                t.as_str()
                                    .or_else(|| t["address"].as_str())
                                    .is_some_and(|a| a.eq_ignore_ascii_case(to))
                            })
                        })
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The Microsoft user (of `user_type`) whose mail is `mail`, if any.
    pub async fn graph_user_by_mail(&self, mail: &str, user_type: &str) -> Result<Option<Value>> {
        let url = format!("{}/v1.0/users", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[
                (
                    "$filter",
                    format!("mail eq '{mail}' and userType eq '{user_type}'"),
                ),
                (
                    "$select",
                    "id,userPrincipalName,mail,jobTitle,accountEnabled,userType".to_string(),
                ),
            ])
            .bearer_auth(&self.graph_token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "GET {url} answered {status}: {body}");
        Ok(body["value"].as_array().and_then(|v| v.first()).cloned())
    }
}

pub fn str_field(value: &Value, name: &str) -> Result<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no string {name:?} in {value}"))
}

pub fn active_profile_id(data_dir: &std::path::Path) -> Result<String> {
    let store = okta365_store::Store::open(&data_dir.join("okta365.sqlite3"))?;
    let id = store
        .active_profile_id()?
        .context("choosing the sandbox makes its profile the active one")?;
    Ok(id.to_string())
}
