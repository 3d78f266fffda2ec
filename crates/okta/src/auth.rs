//! Credentials and OAuth access tokens for API service apps: the `private_key_jwt` client assertion
//! to `{org}/oauth2/v1/token`, DPoP when the org asks for it (a proof, then the nonce it hands out),
//! and the token cache.
//!
//! What must stay true: one token request at a time per client (the cache's lock is held while
//! fetching, so concurrent callers wait for that one token instead of stampeding); a token is reused
//! until five minutes before it expires; neither the token, the assertion nor a proof is logged or put
//! in an error.

use std::sync::Arc;
use std::time::Duration;

use okta365_secrets::Secret;
use reqwest::Method;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::json;

use crate::client::{OktaClient, Repeat, read_json};
use crate::codes::OAuthErrorCode;
use crate::error::{Error, Result};
use crate::key::{DpopKey, PrivateKey};
use crate::org::ClientId;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// Client assertions are valid this long (Okta allows at most an hour).
const ASSERTION_LIFETIME_SECS: i64 = 5 * 60;

/// How the client authenticates to Okta.
pub enum OktaAuth {
    /// An API token: `Authorization: SSWS {token}`; acts with its owner's admin roles.
    ApiToken(Secret),
    /// An OAuth 2.0 API service app: client credentials with a `private_key_jwt` assertion, for the
    /// given Okta API scopes (each must be granted to the app).
    ServiceApp {
        /// The app's client id (`0oa…`).
        client_id: ClientId,
        /// The private key whose public half is registered on the app.
        key: PrivateKey,
        /// Scopes to request, e.g. `okta.users.read`.
        scopes: Vec<String>,
    },
}

impl std::fmt::Debug for OktaAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OktaAuth::ApiToken(_) => f.write_str("ApiToken(<redacted>)"),
            OktaAuth::ServiceApp {
                client_id, scopes, ..
            } => f
                .debug_struct("ServiceApp")
                .field("client_id", client_id)
                .field("scopes", scopes)
                .finish_non_exhaustive(),
        }
    }
}

/// What the current access token is (for the connection test).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// The token is DPoP-bound (the org required DPoP for the app).
    pub dpop: bool,
    /// Okta asked for a DPoP nonce (`use_dpop_nonce`) and the retry with it succeeded.
    pub dpop_nonce_used: bool,
    /// The scopes granted in the token.
    pub scopes: Vec<String>,
    /// When the token expires.
    pub expires_at: jiff::Timestamp,
}

/// A cached access token.
pub(crate) struct Cached {
    pub(crate) token: Secret,
    pub(crate) dpop: bool,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: jiff::Timestamp,
    /// Which fetch produced it, so a 401 only drops the token it was about.
    pub(crate) generation: u64,
}

#[derive(Default)]
struct TokenState {
    cached: Option<Arc<Cached>>,
    /// The org wants DPoP for this app (learned from `invalid_dpop_proof`).
    dpop: bool,
    /// The authorization server's last DPoP nonce.
    nonce: Option<String>,
    nonce_used: bool,
    generation: u64,
}

pub(crate) struct ServiceAppAuth {
    client_id: ClientId,
    key: PrivateKey,
    scopes: Vec<String>,
    state: tokio::sync::Mutex<TokenState>,
}

impl ServiceAppAuth {
    pub(crate) fn new(client_id: ClientId, key: PrivateKey, scopes: Vec<String>) -> ServiceAppAuth {
        ServiceAppAuth {
            client_id,
            key,
            scopes,
            state: Default::default(),
        }
    }

    /// Drops the cached token if it is still the one of `generation`.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let mut st = self.state.lock().await;
        if st
            .cached
            .as_ref()
            .is_some_and(|c| c.generation == generation)
        {
            st.cached = None;
        }
    }

    fn assertion(&self, token_url: &str) -> Result<String> {
        let now = jiff::Timestamp::now().as_second();
        self.key.sign(&json!({
            "iss": self.client_id.as_str(),
            "sub": self.client_id.as_str(),
            "aud": token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECS,
            "jti": uuid::Uuid::new_v4().to_string(),
        }))
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: i64,
    #[serde(default)]
    scope: Option<String>,
}

impl OktaClient {
    /// For a service app: the access token's type, DPoP use and granted scopes (getting a token if
    /// there is none yet). `None` for an API token.
    pub async fn token_info(&self) -> Result<Option<TokenInfo>> {
        let crate::client::Auth::ServiceApp(app) = &self.inner.auth else {
            return Ok(None);
        };
        let c = self.access_token(app).await?;
        let nonce_used = app.state.lock().await.nonce_used;
        Ok(Some(TokenInfo {
            token_type: if c.dpop { "DPoP" } else { "Bearer" }.into(),
            dpop: c.dpop,
            dpop_nonce_used: nonce_used,
            scopes: c.scopes.clone(),
            expires_at: c.expires_at,
        }))
    }

    /// The cached token, or a new one (one fetch at a time).
    pub(crate) async fn access_token(&self, app: &ServiceAppAuth) -> Result<Arc<Cached>> {
        let mut st = app.state.lock().await;
        if let Some(c) = &st.cached {
            let renew_at = c
                .expires_at
                .checked_sub(jiff::SignedDuration::try_from(RENEW_BEFORE).unwrap_or_default())
                .unwrap_or(c.expires_at);
            if jiff::Timestamp::now() < renew_at {
                return Ok(c.clone());
            }
        }
        let fresh = Arc::new(self.fetch_token(app, &mut st).await?);
        st.cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn fetch_token(&self, app: &ServiceAppAuth, st: &mut TokenState) -> Result<Cached> {
        let token_url = self.url("oauth2/v1/token", &[])?;
        let token_url_s = token_url.to_string();
        let scope = app.scopes.join(" ");
        let mut dpop_learned = false;
        let mut nonce_tries = 0;
        loop {
            let (dpop, nonce) = (st.dpop, st.nonce.clone());
            let resp = self
                .send(&Method::POST, "POST /oauth2/v1/token", Repeat::Safe, || {
                    // A fresh assertion (new jti) and proof for every try.
                    let assertion = app.assertion(&token_url_s)?;
                    let mut rb = self
                        .inner
                        .http
                        .post(token_url.clone())
                        .header(ACCEPT, "application/json")
                        .form(&[
                            ("grant_type", "client_credentials"),
                            ("scope", scope.as_str()),
                            (
                                "client_assertion_type",
                                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                            ),
                            ("client_assertion", assertion.as_str()),
                        ]);
                    if dpop {
                        let proof =
                            DpopKey::get().proof("POST", &token_url, nonce.as_deref(), None)?;
                        rb = rb.header("DPoP", crate::client::sensitive(&proof)?);
                    }
                    Ok(rb)
                })
                .await?;
            if let Some(n) = resp
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
            {
                st.nonce = Some(n.to_owned());
            }
            if resp.status().is_success() {
                let body: TokenResponse = read_json(resp, &token_url).await?;
                let is_dpop = body.token_type.eq_ignore_ascii_case("DPoP");
                st.generation += 1;
                tracing::info!(
                    org = %self.inner.org.normalized(),
                    client_id = %app.client_id,
                    dpop = is_dpop,
                    expires_in = body.expires_in,
                    "got an Okta access token"
                );
                return Ok(Cached {
                    token: Secret::new(body.access_token),
                    dpop: is_dpop,
                    scopes: body
                        .scope
                        .map(|s| s.split_whitespace().map(str::to_owned).collect())
                        .unwrap_or_else(|| app.scopes.clone()),
                    expires_at: jiff::Timestamp::now()
                        .checked_add(jiff::SignedDuration::from_secs(body.expires_in.max(0)))
                        .unwrap_or_else(|_| jiff::Timestamp::now()),
                    generation: st.generation,
                });
            }
            let err = self.error_from(resp).await;
            match err.oauth_error() {
                // The app requires DPoP: switch to it (and stay with it for this client).
                Some(OAuthErrorCode::InvalidDpopProof) if !st.dpop && !dpop_learned => {
                    tracing::info!(client_id = %app.client_id, "the Okta org requires DPoP for this app");
                    st.dpop = true;
                    dpop_learned = true;
                }
                // Retry with the nonce Okta just handed out.
                Some(OAuthErrorCode::UseDpopNonce) if nonce_tries < 2 && st.nonce.is_some() => {
                    nonce_tries += 1;
                    st.dpop = true;
                    st.nonce_used = true;
                }
                _ => return Err(err),
            }
        }
    }
}

/// Whether an error means the service app's credential itself was refused (not a scope or role).
pub fn is_credential_error(e: &Error) -> bool {
    matches!(
        e.oauth_error(),
        Some(
            OAuthErrorCode::InvalidClient
                | OAuthErrorCode::UnauthorizedClient
                | OAuthErrorCode::InvalidGrant
        )
    ) || matches!(
        e.okta_code(),
        Some(crate::codes::OktaErrorCode::InvalidToken)
    )
}
