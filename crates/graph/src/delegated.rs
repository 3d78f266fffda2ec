//! Delegated sign-in of an admin with a public client, for setup work that only a signed-in admin may
//! do (creating the app registration okta365 then runs as): the device code flow and the
//! authorization code flow with PKCE (S256) and a one-shot loopback listener.
//!
//! What must stay true: the delegated token lives only in memory inside a [`Secret`] and is never
//! logged; polling honours `interval` and adds 5 s on `slow_down`; `authorization_pending` goes on,
//! while `expired_token`, `authorization_declined` and `bad_verification_code` stop with
//! [`Error::Identity`]; the loopback listener binds `127.0.0.1:0`, answers one redirect (with a small
//! HTML page) and closes.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use okta365_secrets::Secret;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::aadsts;
use crate::error::{Error, Result};
use crate::transport::{self, Repeat, RetryPolicy};

/// Microsoft Graph Command Line Tools, the default public client.
pub const GRAPH_COMMAND_LINE_TOOLS: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// The scopes an admin grants okta365 to create its app registration (no `offline_access`: the
/// token is not kept).
pub const APP_SETUP_SCOPES: &[&str] = &[
    "https://graph.microsoft.com/Application.ReadWrite.All",
    "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
    "https://graph.microsoft.com/Directory.Read.All",
];

/// Global Administrator's role template id.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Privileged Role Administrator's role template id.
pub const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

/// The name of a well-known directory role template id, if okta365 knows it.
pub fn directory_role_name(template_id: &str) -> Option<&'static str> {
    const ROLES: &[(&str, &str)] = &[
        (GLOBAL_ADMINISTRATOR, "Global Administrator"),
        (
            PRIVILEGED_ROLE_ADMINISTRATOR,
            "Privileged Role Administrator",
        ),
        (
            "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            "Application Administrator",
        ),
        (
            "158c047a-c907-4556-b7ef-446551a6b5f7",
            "Cloud Application Administrator",
        ),
        ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
        ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
        ("b79fbf4d-3ef9-4689-8143-76b194e85509", "Member"),
    ];
    ROLES
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(template_id))
        .map(|(_, name)| *name)
}

/// Where and as whom a delegated sign-in happens.
#[derive(Debug, Clone)]
pub struct PublicClient {
    /// `{login}/{tenant}/oauth2/v2.0/`.
    endpoint: Url,
    tenant: String,
    client_id: String,
    scopes: Vec<String>,
    http: reqwest::Client,
    retry: RetryPolicy,
}

/// What a delegated access token says about the signed-in user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DelegatedClaims {
    /// The user principal name.
    pub upn: Option<String>,
    /// The user's display name.
    pub name: Option<String>,
    /// The tenant id.
    pub tenant_id: Option<String>,
    /// The user's object id.
    pub object_id: Option<String>,
    /// Directory role template ids.
    pub wids: Vec<String>,
    /// Granted scopes (short names).
    pub scopes: Vec<String>,
}

impl DelegatedClaims {
    fn decode(token: &str) -> Result<DelegatedClaims> {
        #[derive(Deserialize)]
        struct Raw {
            upn: Option<String>,
            preferred_username: Option<String>,
            unique_name: Option<String>,
            name: Option<String>,
            tid: Option<String>,
            oid: Option<String>,
            #[serde(default)]
            wids: Vec<String>,
            scp: Option<String>,
        }
        let bad = || Error::UnexpectedResponse {
            url: "the token endpoint".into(),
            status: 200,
            reason: "the access token is not a JWT with claims".into(),
        };
        let payload = token.split('.').nth(1).ok_or_else(bad)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| bad())?;
        let raw: Raw = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Ok(DelegatedClaims {
            upn: raw.upn.or(raw.preferred_username).or(raw.unique_name),
            name: raw.name,
            tenant_id: raw.tid,
            object_id: raw.oid,
            wids: raw.wids,
            scopes: raw
                .scp
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// True when the user may grant application permissions (admin consent).
    pub fn can_grant_consent(&self) -> bool {
        self.wids.iter().any(|w| {
            w.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR)
                || w.eq_ignore_ascii_case(PRIVILEGED_ROLE_ADMINISTRATOR)
        })
    }

    /// The user's directory roles by name (unknown ids as they are; the default member role left out).
    pub fn role_names(&self) -> Vec<String> {
        self.wids
            .iter()
            .filter(|w| !w.eq_ignore_ascii_case("b79fbf4d-3ef9-4689-8143-76b194e85509"))
            .map(|w| directory_role_name(w).map_or_else(|| w.clone(), str::to_owned))
            .collect()
    }
}

/// A delegated access token. `Debug` hides the token.
#[derive(Clone)]
pub struct DelegatedToken {
    value: Secret,
    expires_at: Timestamp,
    claims: DelegatedClaims,
}

impl fmt::Debug for DelegatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DelegatedToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("claims", &self.claims)
            .finish()
    }
}

impl DelegatedToken {
    /// The bearer token. Only for the `Authorization` header.
    pub fn secret(&self) -> &Secret {
        &self.value
    }

    /// When it expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// What it says about the user.
    pub fn claims(&self) -> &DelegatedClaims {
        &self.claims
    }
}

/// A started device code sign-in. `Debug` hides the device code.
#[derive(Clone)]
pub struct DeviceCode {
    device_code: Secret,
    /// The code the user types.
    pub user_code: String,
    /// Where the user types it.
    pub verification_uri: String,
    /// Microsoft's instruction for the user.
    pub message: String,
    /// When the code expires.
    pub expires_at: Timestamp,
    /// The polling interval Microsoft asked for.
    pub interval: Duration,
}

impl fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceCode")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// One poll's outcome.
#[derive(Debug)]
pub enum Poll {
    /// The user has not finished yet; poll again after the interval.
    Pending,
    /// Polling too fast: add 5 s to the interval.
    SlowDown,
    /// Signed in.
    Token(DelegatedToken),
}

#[derive(Deserialize)]
struct TokenSuccess {
    access_token: String,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl PublicClient {
    /// A public client `client_id` signing in to `tenant` (a tenant id, a verified domain,
    /// `organizations` or `common`) at `login_url`, asking for `scopes`.
    pub fn new(
        login_url: &Url,
        tenant: &str,
        client_id: &str,
        scopes: &[&str],
        http: reqwest::Client,
    ) -> Result<PublicClient> {
        let tenant = tenant.trim();
        let plain = !tenant.is_empty()
            && tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !plain {
            return Err(Error::InvalidInput(format!(
                "The tenant {tenant:?} is not a tenant id, a domain like contoso.onmicrosoft.com, or \"organizations\"."
            )));
        }
        if uuid::Uuid::parse_str(client_id.trim()).is_err() {
            return Err(Error::InvalidInput(format!(
                "The public client id {client_id:?} is not a GUID; leave it empty to use Microsoft Graph Command Line Tools ({GRAPH_COMMAND_LINE_TOOLS})."
            )));
        }
        let base = transport::base_url(login_url, "login URL")?;
        let endpoint = base.join(&format!("{tenant}/oauth2/v2.0/")).map_err(|e| {
            Error::InvalidInput(format!("The login URL {base} cannot take a tenant ({e})."))
        })?;
        Ok(PublicClient {
            endpoint,
            tenant: tenant.to_owned(),
            client_id: client_id.trim().to_ascii_lowercase(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            http,
            retry: RetryPolicy::default(),
        })
    }

    /// Changes how requests are retried (429, 5xx).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> PublicClient {
        self.retry = retry;
        self
    }

    /// The tenant as given.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    fn url(&self, path: &str) -> Url {
        self.endpoint.join(path).expect("a fixed path joins")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<(u16, String)> {
        let url = self.url(path);
        let body = Secret::new(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
        let response = transport::send(&self.retry, Repeat::Safe, &url, || {
            self.http
                .post(url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(body.expose().to_owned())
        })
        .await?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| Error::Transport {
            url: url.to_string(),
            reason: format!("the answer could not be read ({e})"),
        })?;
        Ok((status, text))
    }

    fn identity_error(&self, path: &str, status: u16, text: &str) -> Error {
        #[derive(Deserialize, Default)]
        struct Body {
            #[serde(default)]
            error: String,
            #[serde(default)]
            error_description: String,
            #[serde(default)]
            error_codes: Vec<u32>,
            trace_id: Option<String>,
            correlation_id: Option<String>,
        }
        let Ok(body) = serde_json::from_str::<Body>(text) else {
            return Error::UnexpectedResponse {
                url: self.url(path).to_string(),
                status,
                reason: "not a Microsoft identity error body".into(),
            };
        };
        let description = body
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        Error::Identity {
            status,
            aadsts: body
                .error_codes
                .first()
                .copied()
                .or_else(|| aadsts::code_in_description(&description)),
            error: body.error,
            description,
            trace_id: body.trace_id,
            correlation_id: body.correlation_id,
            tenant: self.tenant.clone(),
            client_id: self.client_id.clone(),
            expiry: None,
        }
    }

    fn token_from(&self, text: &str) -> Result<DelegatedToken> {
        let ok: TokenSuccess =
            serde_json::from_str(text).map_err(|_| Error::UnexpectedResponse {
                url: self.url("token").to_string(),
                status: 200,
                reason: "no access_token in the answer".into(),
            })?;
        let secs = ok
            .expires_in
            .as_ref()
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .unwrap_or(3599);
        let value = Secret::new(ok.access_token);
        let claims = DelegatedClaims::decode(value.expose())?;
        Ok(DelegatedToken {
            expires_at: Timestamp::now()
                .checked_add(SignedDuration::from_secs(secs.clamp(0, 86_400)))
                .unwrap_or_else(|_| Timestamp::now()),
            value,
            claims,
        })
    }

    /// Starts a device code sign-in: `POST {tenant}/oauth2/v2.0/devicecode`.
    pub async fn start_device_code(&self) -> Result<DeviceCode> {
        let scope = self.scopes.join(" ");
        let (status, text) = self
            .post(
                "devicecode",
                &[("client_id", &self.client_id), ("scope", &scope)],
            )
            .await?;
        if !(200..300).contains(&status) {
            return Err(self.identity_error("devicecode", status, &text));
        }
        #[derive(Deserialize)]
        struct Raw {
            device_code: String,
            user_code: String,
            verification_uri: String,
            #[serde(default)]
            message: String,
            expires_in: serde_json::Value,
            #[serde(default)]
            interval: Option<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(&text).map_err(|_| Error::UnexpectedResponse {
            url: self.url("devicecode").to_string(),
            status,
            reason: "not a device code answer".into(),
        })?;
        let number = |v: &serde_json::Value| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        let expires_in = number(&raw.expires_in).unwrap_or(900).clamp(1, 86_400);
        let interval = raw
            .interval
            .as_ref()
            .and_then(number)
            .unwrap_or(5)
            .clamp(1, 60);
        Ok(DeviceCode {
            device_code: Secret::new(raw.device_code),
            user_code: raw.user_code,
            verification_uri: raw.verification_uri,
            message: raw.message,
            expires_at: Timestamp::now()
                .checked_add(SignedDuration::from_secs(expires_in))
                .unwrap_or_else(|_| Timestamp::now()),
            interval: Duration::from_secs(interval as u64),
        })
    }

    /// Asks once whether the user finished signing in.
    pub async fn poll_device_code(&self, code: &DeviceCode) -> Result<Poll> {
        let (status, text) = self
            .post(
                "token",
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("client_id", &self.client_id),
                    ("device_code", code.device_code.expose()),
                ],
            )
            .await?;
        if (200..300).contains(&status) {
            return self.token_from(&text).map(Poll::Token);
        }
        let error = self.identity_error("token", status, &text);
        match &error {
            Error::Identity { error: e, .. } if e == "authorization_pending" => Ok(Poll::Pending),
            Error::Identity { error: e, .. } if e == "slow_down" => Ok(Poll::SlowDown),
            _ => Err(error),
        }
    }

    /// Polls until the user signs in (or declines, or the code expires), honouring `interval` and
    /// `slow_down`.
    pub async fn wait_for_device_code(&self, code: &DeviceCode) -> Result<DelegatedToken> {
        let mut interval = code.interval;
        loop {
            tokio::time::sleep(interval).await;
            match self.poll_device_code(code).await? {
                Poll::Token(t) => return Ok(t),
                Poll::Pending => {}
                Poll::SlowDown => interval += Duration::from_secs(5),
            }
        }
    }

    /// Starts an authorization code sign-in with PKCE: binds a one-shot listener on
    /// `127.0.0.1:0` and builds the URL to open in the browser.
    pub async fn start_browser(&self) -> Result<BrowserSignIn> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::Transport {
                url: "http://127.0.0.1:0/".into(),
                reason: format!("the sign-in listener could not be opened ({e})"),
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Transport {
                url: "http://127.0.0.1:0/".into(),
                reason: e.to_string(),
            })?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/");
        let verifier = Secret::new(random_urlsafe(64));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()));
        let state = random_urlsafe(24);
        let mut authorize_url = self.url("authorize");
        authorize_url
            .query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("response_mode", "query")
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "select_account");
        Ok(BrowserSignIn {
            client: self.clone(),
            listener,
            authorize_url,
            redirect_uri,
            verifier,
            state,
        })
    }
}

fn random_urlsafe(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(raw)
}

/// A browser sign-in waiting for its redirect. Dropping it closes the listener.
pub struct BrowserSignIn {
    client: PublicClient,
    listener: tokio::net::TcpListener,
    authorize_url: Url,
    redirect_uri: String,
    verifier: Secret,
    state: String,
}

impl fmt::Debug for BrowserSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrowserSignIn")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>okta365</title></head><body style=\"font-family:sans-serif\"><h1>Signed in</h1><p>You can close this window and return to okta365.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>okta365</title></head><body style=\"font-family:sans-serif\"><h1>Sign-in did not complete</h1><p>Return to okta365 for what happened and what to do.</p></body></html>";

impl BrowserSignIn {
    /// The URL to open in the browser.
    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }

    /// The loopback redirect (`http://127.0.0.1:{port}/`).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Waits for the browser's redirect, answers it with a small page, closes the listener and
    /// exchanges the code for a token.
    pub async fn finish(self) -> Result<DelegatedToken> {
        let params = loop {
            let (mut stream, _) = self.listener.accept().await.map_err(|e| Error::Transport {
                url: self.redirect_uri.clone(),
                reason: format!("the sign-in listener failed ({e})"),
            })?;
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            let read = tokio::time::timeout(Duration::from_secs(10), async {
                loop {
                    let n = stream.read(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > 16 * 1024 {
                        break;
                    }
                }
                Ok::<_, std::io::Error>(())
            })
            .await;
            if !matches!(read, Ok(Ok(()))) {
                continue;
            }
            let text = String::from_utf8_lossy(&buf);
            let target = text
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("/");
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let params: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(query.as_bytes())
                    .into_owned()
                    .collect();
            if path != "/" || !(params.contains_key("code") || params.contains_key("error")) {
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                continue;
            }
            let page = if params.contains_key("code") {
                DONE_PAGE
            } else {
                FAILED_PAGE
            };
            let _ = stream
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                        page.len()
                    )
                    .as_bytes(),
                )
                .await;
            let _ = stream.shutdown().await;
            break params;
        };
        drop(self.listener);
        let client = &self.client;
        if params.get("state").map(String::as_str) != Some(self.state.as_str()) {
            return Err(Error::InvalidInput(
                "The sign-in redirect did not carry the state okta365 sent, so it was ignored. Start the sign-in again."
                    .into(),
            ));
        }
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").cloned().unwrap_or_default();
            let description = description.lines().next().unwrap_or_default().to_owned();
            return Err(Error::Identity {
                status: 400,
                aadsts: aadsts::code_in_description(&description),
                error: error.clone(),
                description,
                trace_id: None,
                correlation_id: None,
                tenant: client.tenant.clone(),
                client_id: client.client_id.clone(),
                expiry: None,
            });
        }
        let code = Secret::new(params.get("code").cloned().unwrap_or_default());
        let scope = client.scopes.join(" ");
        let (status, text) = client
            .post(
                "token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", &client.client_id),
                    ("code", code.expose()),
                    ("redirect_uri", &self.redirect_uri),
                    ("code_verifier", self.verifier.expose()),
                    ("scope", &scope),
                ],
            )
            .await?;
        if (200..300).contains(&status) {
            client.token_from(&text)
        } else {
            Err(client.identity_error("token", status, &text))
        }
    }
}
