//! The client: builder, the request loop (rate limits, retries, authentication headers) and Okta's
//! error answers turned into [`Error`]s.

use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder as _;
use okta365_secrets::Secret;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::auth::{Cached, OktaAuth, ServiceAppAuth};
use crate::codes::{OAuthErrorCode, OktaErrorCode};
use crate::error::{AuthKind, Error, Result};
use crate::key::DpopKey;
use crate::org::OrgUrl;
use crate::ratelimit::{ClientStats, Limiter, RateLimitStatus, jitter};

/// How hard the client retries and how long it waits for rate limits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Tries in all for a 5xx or a connection error (idempotent requests only).
    pub max_attempts: u32,
    /// First backoff delay (then doubling, with jitter).
    pub min_delay: Duration,
    /// Longest backoff delay.
    pub max_delay: Duration,
    /// 429 answers waited out per call before giving up with `E0000047`.
    pub max_throttled: u32,
    /// Longest single wait for a rate-limit reset (Okta's windows are a minute).
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_throttled: 5,
            max_rate_limit_wait: Duration::from_secs(75),
        }
    }
}

/// Whether a request may be sent again after a 5xx or a connection error. A 429 was not processed, so
/// any request may be repeated after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Repeat only GET, HEAD, PUT, DELETE and OPTIONS.
    IfIdempotent,
    /// The caller knows repeating this write is harmless.
    Safe,
}

/// An Okta API client. Cheap to clone; clones share the token cache, and every client of the same org
/// in the process shares one rate limiter.
#[derive(Clone)]
pub struct OktaClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for OktaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktaClient")
            .field("org", &self.inner.org.normalized())
            .field("auth", &self.inner.auth_kind())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) org: OrgUrl,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Auth,
    pub(crate) limiter: Arc<Limiter>,
    pub(crate) retry: RetryPolicy,
}

pub(crate) enum Auth {
    ApiToken(Secret),
    ServiceApp(Box<ServiceAppAuth>),
}

impl Inner {
    fn auth_kind(&self) -> AuthKind {
        match self.auth {
            Auth::ApiToken(_) => AuthKind::ApiToken,
            Auth::ServiceApp(_) => AuthKind::ServiceApp,
        }
    }
}

/// Builds an [`OktaClient`].
#[must_use]
pub struct OktaClientBuilder {
    org: String,
    auth: Option<OktaAuth>,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
}

impl OktaClient {
    /// Starts a client for the org at `org_url` (checked by [`OrgUrl::parse`]: https, or http on a
    /// loopback address).
    pub fn builder(org_url: impl Into<String>) -> OktaClientBuilder {
        OktaClientBuilder {
            org: org_url.into(),
            auth: None,
            http: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The org.
    pub fn org(&self) -> &OrgUrl {
        &self.inner.org
    }

    /// How the client authenticates.
    pub fn auth_kind(&self) -> AuthKind {
        self.inner.auth_kind()
    }

    /// What Okta last said about a rate-limit bucket (`"GET /api/v1/users"`, …).
    pub fn rate_limit(&self, bucket: &str) -> Option<RateLimitStatus> {
        self.inner.limiter.status(bucket)
    }

    /// Counters shared by every client of this org in the process.
    pub fn stats(&self) -> ClientStats {
        self.inner.limiter.stats()
    }

    /// The absolute URL of an API path (`api/v1/users`, no leading slash needed).
    pub(crate) fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url = self
            .inner
            .org
            .url()
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::Config(format!("bad API path {path} ({e})")))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// GETs `url` and reads the JSON body as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        bucket: &str,
    ) -> Result<(T, reqwest::header::HeaderMap)> {
        let resp = self
            .request(Method::GET, url.clone(), bucket, None, Repeat::IfIdempotent)
            .await?;
        let headers = resp.headers().clone();
        Ok((read_json(resp, &url).await?, headers))
    }

    /// Sends an API request with the client's credential and returns a successful answer; any error
    /// answer becomes an [`Error`]. A service app's token refused with 401 is replaced once.
    pub(crate) async fn request(
        &self,
        method: Method,
        url: Url,
        bucket: &str,
        body: Option<&Value>,
        repeat: Repeat,
    ) -> Result<reqwest::Response> {
        let mut renewed = false;
        loop {
            let token: Option<Arc<Cached>> = match &self.inner.auth {
                Auth::ApiToken(_) => None,
                Auth::ServiceApp(app) => Some(self.access_token(app).await?),
            };
            let resp = self
                .send(&method, bucket, repeat, || {
                    let mut rb = self
                        .inner
                        .http
                        .request(method.clone(), url.clone())
                        .header(ACCEPT, "application/json");
                    match body {
                        Some(b) => rb = rb.json(b),
                        None if method == Method::POST || method == Method::PUT => {
                            rb = rb.header(CONTENT_LENGTH, "0")
                        }
                        None => {}
                    }
                    Ok(match (&self.inner.auth, &token) {
                        (Auth::ApiToken(t), _) => {
                            rb.header(AUTHORIZATION, sensitive(&format!("SSWS {}", t.expose()))?)
                        }
                        (Auth::ServiceApp(_), Some(c)) if c.dpop => {
                            let proof = DpopKey::get().proof(
                                method.as_str(),
                                &url,
                                None,
                                Some(c.token.expose()),
                            )?;
                            rb.header(
                                AUTHORIZATION,
                                sensitive(&format!("DPoP {}", c.token.expose()))?,
                            )
                            .header("DPoP", sensitive(&proof)?)
                        }
                        (Auth::ServiceApp(_), Some(c)) => rb.header(
                            AUTHORIZATION,
                            sensitive(&format!("Bearer {}", c.token.expose()))?,
                        ),
                        (Auth::ServiceApp(_), None) => {
                            return Err(Error::Config("no access token".into()));
                        }
                    })
                })
                .await?;
            if resp.status() == StatusCode::UNAUTHORIZED
                && !renewed
                && let (Auth::ServiceApp(app), Some(c)) = (&self.inner.auth, &token)
            {
                // Expired or revoked before our clock said so: get a new token, once.
                tracing::debug!(org = %self.inner.org.normalized(), "access token refused; getting a new one");
                app.invalidate(c.generation).await;
                renewed = true;
                continue;
            }
            if !resp.status().is_success() {
                return Err(self.error_from(resp).await);
            }
            return Ok(resp);
        }
    }

    /// Sends one logical request: waits for the bucket's rate limit, then tries, waiting out 429s
    /// until their reset and backing off (jittered, exponential) after 5xx or connection errors when
    /// the request may be repeated. `build` makes the request afresh for each try (new proofs, new
    /// assertions). Returns the last answer, successful or not.
    pub(crate) async fn send(
        &self,
        method: &Method,
        bucket: &str,
        repeat: Repeat,
        mut build: impl FnMut() -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let policy = &self.inner.retry;
        let limiter = &self.inner.limiter;
        let repeatable = repeat == Repeat::Safe
            || matches!(
                *method,
                Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
            );
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
            .build();
        let mut throttled = 0;
        loop {
            if let Some(wait) = limiter.acquire(bucket) {
                let wait = wait.min(policy.max_rate_limit_wait) + jitter();
                tracing::info!(
                    bucket,
                    wait_ms = wait.as_millis() as u64,
                    "Okta rate limit reached; waiting for its reset"
                );
                tokio::time::sleep(wait).await;
            }
            let request = build()?
                .build()
                .map_err(|e| Error::Config(format!("the request could not be built ({e})")))?;
            let url = without_query(request.url());
            limiter.count_request();
            match self.inner.http.execute(request).await {
                Err(e) => {
                    if repeatable && let Some(delay) = backoff.next() {
                        limiter.count_retry();
                        tracing::warn!(url, error = %describe(&e), "Okta unreachable; retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(Error::Transport {
                        url,
                        message: describe(&e),
                    });
                }
                Ok(resp) => {
                    let status = limiter.observe(bucket, resp.headers());
                    if resp.status() == StatusCode::TOO_MANY_REQUESTS {
                        limiter.count_throttled();
                        throttled += 1;
                        if throttled > policy.max_throttled {
                            return Ok(resp);
                        }
                        let wait = match status {
                            // A concurrent-limit 429: Reset is only an estimate; back off briefly.
                            Some(s) if s.limit == 0 => Duration::from_millis(500) * throttled,
                            Some(s) => s.until_reset(),
                            None => Duration::from_secs(1),
                        }
                        .min(policy.max_rate_limit_wait)
                            + jitter();
                        tracing::info!(
                            url,
                            wait_ms = wait.as_millis() as u64,
                            "Okta answered 429; waiting for the rate-limit reset"
                        );
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    if resp.status().is_server_error()
                        && repeatable
                        && let Some(delay) = backoff.next()
                    {
                        limiter.count_retry();
                        tracing::warn!(
                            url,
                            status = resp.status().as_u16(),
                            "Okta server error; retrying"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Ok(resp);
                }
            }
        }
    }

    /// Turns an error answer into an [`Error`]: an Okta error body, an OAuth error body, or a
    /// `WWW-Authenticate` challenge.
    pub(crate) async fn error_from(&self, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        let url = without_query(resp.url());
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(parse_challenge)
            .unwrap_or_default();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let get = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let ch = |k: &str| {
            challenge
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let oauth_like = |e: &str| matches!(e, "invalid_dpop_proof" | "use_dpop_nonce");
        if let Some(code) = get("errorCode") {
            if oauth_like(&code) || ch("error").is_some_and(|e| oauth_like(&e)) {
                let error = ch("error").unwrap_or(code);
                return Error::OAuth {
                    status,
                    error: OAuthErrorCode::parse(&error),
                    description: ch("error_description")
                        .or_else(|| get("errorSummary"))
                        .unwrap_or_default(),
                };
            }
            let causes = body
                .get("errorCauses")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|c| c.get("errorSummary").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            return Error::Api {
                status,
                code: OktaErrorCode::parse(&code),
                summary: get("errorSummary").unwrap_or_default(),
                causes,
                error_id: get("errorId"),
                missing_scope: (ch("error").as_deref() == Some("insufficient_scope"))
                    .then(|| ch("scope"))
                    .flatten(),
                auth: self.inner.auth_kind(),
            };
        }
        if let Some(error) = get("error").or_else(|| ch("error")) {
            return Error::OAuth {
                status,
                error: OAuthErrorCode::parse(&error),
                description: get("error_description")
                    .or_else(|| ch("error_description"))
                    .unwrap_or_default(),
            };
        }
        Error::Unexpected {
            url,
            status,
            message: if text.trim_start().starts_with('<') {
                "an HTML page, not Okta's JSON".into()
            } else {
                "not an Okta error body".into()
            },
        }
    }
}

impl OktaClientBuilder {
    /// The credential: an API token or an API service app.
    pub fn auth(mut self, auth: OktaAuth) -> OktaClientBuilder {
        self.auth = Some(auth);
        self
    }

    /// The HTTP client to use (default: rustls, 30 s timeout, no proxy for loopback orgs).
    pub fn http(mut self, http: reqwest::Client) -> OktaClientBuilder {
        self.http = Some(http);
        self
    }

    /// Retry and rate-limit waiting policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> OktaClientBuilder {
        self.retry = policy;
        self
    }

    /// Checks the org URL and the credential and builds the client.
    pub fn build(self) -> Result<OktaClient> {
        let org = OrgUrl::parse(&self.org)?;
        let auth = match self.auth.ok_or_else(|| {
            Error::Config("no credential: call .auth(OktaAuth::ApiToken(…)) or .auth(OktaAuth::ServiceApp { … })".into())
        })? {
            OktaAuth::ApiToken(t) => {
                if t.expose().trim().is_empty() {
                    return Err(Error::Config(
                        "the API token is empty; paste the token shown when it was created".into(),
                    ));
                }
                Auth::ApiToken(Secret::new(t.expose().trim()))
            }
            OktaAuth::ServiceApp {
                client_id,
                key,
                scopes,
            } => {
                if scopes.is_empty() {
                    return Err(Error::Config(
                        "a service app needs at least one scope to request (e.g. okta.users.read)".into(),
                    ));
                }
                Auth::ServiceApp(Box::new(ServiceAppAuth::new(client_id, key, scopes)))
            }
        };
        let http = match self.http {
            Some(h) => h,
            None => {
                let mut b = reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .user_agent(concat!("okta365/", env!("CARGO_PKG_VERSION")));
                if org.is_loopback() {
                    b = b.no_proxy();
                }
                b.build()
                    .map_err(|e| Error::Config(format!("the HTTP client could not start ({e})")))?
            }
        };
        let limiter = Limiter::for_org(&org.url().origin().ascii_serialization());
        Ok(OktaClient {
            inner: Arc::new(Inner {
                org,
                http,
                auth,
                limiter,
                retry: self.retry,
            }),
        })
    }
}

/// A header value holding a credential: marked sensitive so no debug output shows it.
pub(crate) fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::Config(
            "a credential holds characters not allowed in a header; paste it again".into(),
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

pub(crate) fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A connection error with its causes, without the URL (given separately).
fn describe(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        parts.insert(0, "the request timed out".into());
    } else if e.is_connect() {
        parts.insert(0, "the connection failed".into());
    }
    if parts.is_empty() {
        parts.push("the request failed".into());
    }
    parts.dedup();
    parts.join(": ")
}

/// Reads a JSON body, or says what was wrong with it.
pub(crate) async fn read_json<T: DeserializeOwned>(
    resp: reqwest::Response,
    url: &Url,
) -> Result<T> {
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| Error::Transport {
        url: without_query(url),
        message: describe(&e),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Unexpected {
        url: without_query(url),
        status,
        message: format!("unexpected JSON: {e}"),
    })
}

/// The parameters of a `WWW-Authenticate` challenge (`error="…", scope="…"`), lower-cased names.
fn parse_challenge(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(eq) = rest.find('=') {
        let name = rest[..eq]
            .rsplit([' ', ','])
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let after = &rest[eq + 1..];
        let (value, tail) = if let Some(stripped) = after.strip_prefix('"') {
            match stripped.find('"') {
                Some(end) => (&stripped[..end], &stripped[end + 1..]),
                None => (stripped, ""),
            }
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((name, value.to_owned()));
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_like_okta_sends_them() {
        let h = r#"DPoP algs="RS256 ES256", authorization_uri="https://a.okta.com/oauth2/v1/authorize", realm="https://a.okta.com", scope="okta.groups.read", error="invalid_dpop_proof", error_description="'htu' claim in the DPoP proof JWT is invalid.", resource="/api/v1/groups""#;
        let p = parse_challenge(h);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("error"), Some("invalid_dpop_proof"));
        assert_eq!(get("scope"), Some("okta.groups.read"));
        assert_eq!(
            get("error_description"),
            Some("'htu' claim in the DPoP proof JWT is invalid.")
        );
        assert_eq!(get("algs"), Some("RS256 ES256"));
    }
}
