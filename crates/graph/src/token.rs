//! App-only access tokens for Microsoft Graph: the client-credentials grant with a client secret or a
//! certificate assertion, cached in memory until 5 minutes before expiry, one refresh at a time.
//!
//! What must stay true: a token lives only in memory (never written, never logged); a failed
//! request becomes [`Error::Identity`] with the AADSTS code; the secret never reaches an error.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use okta365_secrets::Secret;
use serde::Deserialize;
use url::Url;

use crate::aadsts;
use crate::credential::EntraCredential;
use crate::error::{Error, Result};
use crate::ids::{ClientId, TenantId};
use crate::transport::{self, Repeat, RetryPolicy};

/// The scope of an app-only token for Microsoft Graph (its granted application permissions).
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// A cached token is replaced this long before it expires.
const REFRESH_BEFORE: SignedDuration = SignedDuration::from_secs(5 * 60);

/// What an access token says about the app (read without verifying the signature: the token is
/// for Graph, which verifies it; okta365 only reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// Granted application permissions, e.g. `User.ReadWrite.All` (empty when none).
    pub roles: Vec<String>,
    /// The tenant id (GUID).
    pub tenant_id: Option<String>,
    /// The app's client id (`appid` in v1 tokens, `azp` in v2).
    pub app_id: Option<String>,
    /// The service principal's object id.
    pub object_id: Option<String>,
    /// How the app authenticated: `1` = client secret, `2` = certificate.
    pub app_id_acr: Option<String>,
    /// The audience, e.g. `https://graph.microsoft.com`.
    pub audience: Option<String>,
}

impl TokenClaims {
    /// Decodes the payload of a JWT access token.
    pub fn decode(token: &str) -> Result<TokenClaims> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            roles: Vec<String>,
            tid: Option<String>,
            appid: Option<String>,
            azp: Option<String>,
            oid: Option<String>,
            appidacr: Option<String>,
            azpacr: Option<String>,
            aud: Option<serde_json::Value>,
        }
        let bad = |reason: &str| Error::UnexpectedResponse {
            url: "the token endpoint".into(),
            status: 200,
            reason: format!("the access token {reason}"),
        };
        let payload = token.split('.').nth(1).ok_or_else(|| bad("is not a JWT"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .map_err(|_| bad("payload is not base64url"))?;
        let raw: Raw =
            serde_json::from_slice(&bytes).map_err(|_| bad("payload is not JSON claims"))?;
        Ok(TokenClaims {
            roles: raw.roles,
            tenant_id: raw.tid,
            app_id: raw.appid.or(raw.azp),
            object_id: raw.oid,
            app_id_acr: raw.appidacr.or(raw.azpacr),
            audience: raw.aud.and_then(|a| a.as_str().map(str::to_owned)),
        })
    }

    /// True when the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.eq_ignore_ascii_case(role))
    }
}

/// An access token with its expiry and claims. `Debug` hides the token.
#[derive(Clone)]
pub struct AccessToken {
    value: Secret,
    expires_at: Timestamp,
    claims: TokenClaims,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("claims", &self.claims)
            .finish()
    }
}

impl AccessToken {
    /// The bearer token. Only for the `Authorization` header.
    pub fn secret(&self) -> &Secret {
        &self.value
    }

    /// When Microsoft said it expires.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// What the token says about the app.
    pub fn claims(&self) -> &TokenClaims {
        &self.claims
    }
}

#[derive(Debug, Clone)]
struct Config {
    token_url: Url,
    tenant: TenantId,
    client_id: ClientId,
    credential: EntraCredential,
    http: reqwest::Client,
    retry: RetryPolicy,
    /// The credential's end date, when the caller knows it (for AADSTS7000222).
    credential_expiry: Option<Timestamp>,
    scope: String,
}

struct Inner {
    config: Config,
    cache: tokio::sync::Mutex<Option<AccessToken>>,
    requests: AtomicU64,
}

/// Gets and caches app-only Graph tokens for one app registration. Cheap to clone; clones share the
/// cache.
#[derive(Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("token_url", &self.inner.config.token_url.as_str())
            .field("client_id", &self.inner.config.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    /// A provider for the app `client_id` in `tenant`, signing in at `login_url` (e.g.
    /// `https://login.microsoftonline.com`, or the sandbox's origin). Tokens are requested from
    /// `{login_url}/{tenant}/oauth2/v2.0/token`.
    pub fn new(
        login_url: &Url,
        tenant: TenantId,
        client_id: ClientId,
        credential: EntraCredential,
        http: reqwest::Client,
    ) -> Result<TokenProvider> {
        let base = transport::base_url(login_url, "login URL")?;
        let token_url = base
            .join(&format!("{}/oauth2/v2.0/token", tenant.as_str()))
            .map_err(|e| {
                Error::InvalidInput(format!(
                    "The login URL {base} cannot take a tenant path ({e})."
                ))
            })?;
        Ok(TokenProvider::from_config(Config {
            token_url,
            tenant,
            client_id,
            credential,
            http,
            retry: RetryPolicy::default(),
            credential_expiry: None,
            scope: GRAPH_SCOPE.to_owned(),
        }))
    }

    fn from_config(config: Config) -> TokenProvider {
        TokenProvider {
            inner: Arc::new(Inner {
                config,
                cache: tokio::sync::Mutex::new(None),
                requests: AtomicU64::new(0),
            }),
        }
    }

    /// The credential's end date when known (stored metadata or entered by the admin), so an
    /// AADSTS7000222 (expired secret) says since when. Returns a new provider with an empty cache.
    pub fn with_credential_expiry(self, expires_at: Option<Timestamp>) -> TokenProvider {
        let mut config = self.inner.config.clone();
        config.credential_expiry = expires_at;
        TokenProvider::from_config(config)
    }

    /// Asks for another Graph resource's `.default` scope, e.g. `https://graph.microsoft.us/.default`
    /// for a US Government tenant (default: [`GRAPH_SCOPE`]). Returns a new provider with an empty
    /// cache.
    pub fn with_scope(self, scope: impl Into<String>) -> TokenProvider {
        let mut config = self.inner.config.clone();
        config.scope = scope.into();
        TokenProvider::from_config(config)
    }

    /// Changes how token requests are retried. Returns a new provider with an empty cache.
    pub fn with_retry_policy(self, retry: RetryPolicy) -> TokenProvider {
        let mut config = self.inner.config.clone();
        config.retry = retry;
        TokenProvider::from_config(config)
    }

    /// The token endpoint used.
    pub fn token_url(&self) -> &Url {
        &self.inner.config.token_url
    }

    /// The tenant as configured.
    pub fn tenant(&self) -> &TenantId {
        &self.inner.config.tenant
    }

    /// The app's client id.
    pub fn client_id(&self) -> &ClientId {
        &self.inner.config.client_id
    }

    /// How many times this provider (and its clones) asked the token endpoint.
    pub fn token_requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a new one when there is none or it expires within 5
    /// minutes. Concurrent callers wait for one refresh.
    pub async fn token(&self) -> Result<AccessToken> {
        let mut cache = self.inner.cache.lock().await;
        if let Some(t) = cache.as_ref()
            && t.expires_at.as_second() - REFRESH_BEFORE.as_secs() > Timestamp::now().as_second()
        {
            return Ok(t.clone());
        }
        let fresh = self.request().await?;
        *cache = Some(fresh.clone());
        Ok(fresh)
    }

    /// The claims of the current token (`roles` are the granted application permissions).
    pub async fn claims(&self) -> Result<TokenClaims> {
        Ok(self.token().await?.claims)
    }

    /// Drops the cached token (after Graph refused it), so the next call gets a new one.
    pub async fn invalidate(&self) {
        *self.inner.cache.lock().await = None;
    }

    async fn request(&self) -> Result<AccessToken> {
        let c = &self.inner.config;
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        let mut form: Vec<(&str, Secret)> = vec![
            ("grant_type", Secret::new("client_credentials")),
            ("client_id", Secret::new(c.client_id.as_str())),
            ("scope", Secret::new(c.scope.as_str())),
        ];
        match &c.credential {
            EntraCredential::ClientSecret(secret) => form.push(("client_secret", secret.clone())),
            EntraCredential::Certificate(cert) => {
                form.push((
                    "client_assertion_type",
                    Secret::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ));
                // A new assertion per request: each has its own jti.
                let assertion =
                    cert.assertion(c.client_id.as_str(), c.token_url.as_str(), Timestamp::now())?;
                form.push(("client_assertion", assertion));
            }
        }
        let body = {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in &form {
                ser.append_pair(k, v.expose());
            }
            Secret::new(ser.finish())
        };
        tracing::debug!(token_url = %c.token_url, client_id = %c.client_id, "requesting an access token");
        // Token requests are safe to repeat: each one only issues a token.
        let response = transport::send(&c.retry, Repeat::Safe, &c.token_url, || {
            c.http
                .post(c.token_url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(body.expose().to_owned())
        })
        .await?;
        let status = response.status();
        let text = response.text().await.map_err(|e| Error::Transport {
            url: c.token_url.to_string(),
            reason: format!("the answer could not be read ({e})"),
        })?;
        if status.is_success() {
            #[derive(Deserialize)]
            struct Success {
                access_token: String,
                expires_in: serde_json::Value,
            }
            let ok: Success =
                serde_json::from_str(&text).map_err(|_| Error::UnexpectedResponse {
                    url: c.token_url.to_string(),
                    status: status.as_u16(),
                    reason: "no access_token in the answer".into(),
                })?;
            let secs = ok
                .expires_in
                .as_i64()
                .or_else(|| ok.expires_in.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(3599);
            let value = Secret::new(ok.access_token);
            let claims = TokenClaims::decode(value.expose())?;
            return Ok(AccessToken {
                expires_at: Timestamp::now()
                    .checked_add(SignedDuration::from_secs(secs.clamp(0, 86_400)))
                    .unwrap_or_else(|_| Timestamp::now()),
                value,
                claims,
            });
        }
        Err(self.identity_error(status.as_u16(), &text))
    }

    fn identity_error(&self, status: u16, text: &str) -> Error {
        let c = &self.inner.config;
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
                url: c.token_url.to_string(),
                status,
                reason: "not a Microsoft identity error body".into(),
            };
        };
        // Microsoft appends "\r\nTrace ID: …" lines; keep the first line.
        let description = body
            .error_description
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        let code = body
            .error_codes
            .first()
            .copied()
            .or_else(|| aadsts::code_in_description(&description));
        let expiry = c
            .credential_expiry
            .filter(|_| matches!(c.credential, EntraCredential::ClientSecret(_)))
            .map(|t| t.strftime("%Y-%m-%d").to_string());
        Error::Identity {
            status,
            aadsts: code,
            error: body.error,
            description,
            trace_id: body.trace_id,
            correlation_id: body.correlation_id,
            tenant: c.tenant.to_string(),
            client_id: c.client_id.to_string(),
            expiry,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_read_v1_and_v2_names() {
        let payload = URL_SAFE_NO_PAD.encode(
            br#"{"roles":["User.Read.All"],"tid":"t","azp":"c","azpacr":"2","oid":"o","aud":"https://graph.microsoft.com"}"#,
        );
        let c = TokenClaims::decode(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(c.app_id.as_deref(), Some("c"));
        assert_eq!(c.app_id_acr.as_deref(), Some("2"));
        assert!(c.has_role("user.read.all"));
        assert!(TokenClaims::decode("not-a-jwt").is_err());
    }
}
