//! OAuth 2.0 for Okta APIs: API service apps, the org authorization server's `POST /oauth2/v1/token`
//! (client credentials with `private_key_jwt`, DPoP), and how API calls authenticate with the tokens it
//! issues (`Bearer` or `DPoP` + proof), with Okta's error bodies and `WWW-Authenticate` challenges.
//!
//! What must stay true:
//! - The state keeps only a SHA-256 hash of each access token (plus expiry, scopes, client id and the
//!   DPoP key thumbprint), never the token.
//! - Time claims that the *client* writes (assertion `exp`/`iat`, proof `iat`) are checked against the wall
//!   clock, because a client and Okta agree on the time; what the *tenant* decides (access-token expiry,
//!   nonce rotation) follows the sandbox clock, so `POST /_sandbox/clock` can expire tokens.
//! - A client assertion's `jti` is recorded only when a token is issued, so a client that retries with
//!   the same assertion after `use_dpop_nonce` is not refused for replay.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::okta::{OktaError, Principal};
use crate::server::{Shared, okta_id, okta_time, parse_form};
use crate::state::sha256_hex;

/// Lifetime of an access token (`expires_in`); Okta fixes it at one hour for service apps.
pub(crate) const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;
/// A client assertion may expire at most this far ahead.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;
/// A DPoP proof's `iat` may be this far in the past (or a minute ahead, for clock skew).
const PROOF_MAX_AGE_SECS: i64 = 300;
const CLOCK_SKEW_SECS: i64 = 60;
/// The DPoP nonce rotates this often; the previous one stays valid.
const NONCE_ROTATION_SECS: i64 = 24 * 3600;
/// The algorithms accepted for assertions and DPoP proofs (those Okta lists).
const ALGS: &str = "RS256 RS384 RS512 ES256 ES384 ES512";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The admin roles a service app can hold (standard roles; `type` of Okta's role assignment).
pub(crate) const ADMIN_ROLES: [&str; 10] = [
    "SUPER_ADMIN",
    "ORG_ADMIN",
    "APP_ADMIN",
    "USER_ADMIN",
    "GROUP_MEMBERSHIP_ADMIN",
    "HELP_DESK_ADMIN",
    "READ_ONLY_ADMIN",
    "MOBILE_ADMIN",
    "API_ACCESS_MANAGEMENT_ADMIN",
    "REPORT_ADMIN",
];

/// Roles that may only read.
pub(crate) const READ_ONLY_ROLES: [&str; 2] = ["READ_ONLY_ADMIN", "REPORT_ADMIN"];

// ---------------------------------------------------------------------------------------------------
// State

/// OAuth state of the org: service apps, issued tokens (hashes), used `jti`s and the DPoP nonce.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OAuthState {
    #[serde(default)]
    pub service_apps: Vec<ServiceApp>,
    #[serde(default)]
    pub access_tokens: Vec<AccessToken>,
    /// `assertion:{clientId}:{jti}` / `dpop:{jkt}:{jti}` until they could no longer be replayed.
    #[serde(default)]
    pub used_jtis: Vec<UsedJti>,
    #[serde(default)]
    pub dpop_nonce: Option<DpopNonce>,
}

/// An API service app (OAuth 2.0 client with `private_key_jwt`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServiceApp {
    pub client_id: String,
    pub name: String,
    /// Public JWKs (each with a `kid`).
    pub jwks: Vec<Value>,
    /// Okta API scopes granted to the app (its Okta API Scopes tab).
    pub scopes: Vec<String>,
    /// Standard admin roles assigned to the app (its Admin roles tab).
    pub admin_roles: Vec<String>,
    /// "Require Demonstrating Proof of Possession (DPoP) header in token requests".
    pub dpop_bound: bool,
    pub created: String,
}

/// An issued access token: only its hash is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessToken {
    pub token_hash: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// `cnf.jkt`: the SHA-256 JWK thumbprint of the DPoP key the token is bound to.
    pub jkt: Option<String>,
    /// Epoch seconds on the sandbox clock.
    pub expires_at: i64,
}

/// A `jti` that must not be accepted again before `expires_at` (epoch seconds, wall clock).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsedJti {
    pub key: String,
    pub expires_at: i64,
}

/// The authorization server's DPoP nonce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DpopNonce {
    pub current: String,
    pub previous: Option<String>,
    /// Epoch seconds (sandbox clock) when `current` was issued.
    pub issued_at: i64,
}

impl DpopNonce {
    fn fresh(now: i64, previous: Option<String>) -> DpopNonce {
        DpopNonce {
            current: okta_id("", 32),
            previous,
            issued_at: now,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// OAuth errors: `{error, error_description}`

/// An error from the token endpoint, shaped like Okta's.
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    nonce: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            status,
            error,
            description: description.into(),
            nonce: None,
        }
    }

    fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    fn invalid_dpop_proof(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            axum::Json(json!({ "error": self.error, "error_description": self.description })),
        )
            .into_response();
        let h = response.headers_mut();
        h.insert("cache-control", HeaderValue::from_static("no-store"));
        h.insert("pragma", HeaderValue::from_static("no-cache"));
        if let Some(n) = self.nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            h.insert("dpop-nonce", n);
        }
        response
    }
}

// ---------------------------------------------------------------------------------------------------
// Keys and JWTs

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// RFC 7638 SHA-256 thumbprint of a public JWK (RSA or EC), base64url.
pub(crate) fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    // The members in lexicographic order, no whitespace, as RFC 7638 requires.
    let canonical = match s("kty")? {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e")?, s("n")?),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv")?,
            s("x")?,
            s("y")?
        ),
        _ => return None,
    };
    Some(b64(&Sha256::digest(canonical.as_bytes())))
}

/// Checks that `jwk` is a usable public signing key; returns why not.
pub(crate) fn check_public_jwk(jwk: &Value) -> Result<(), String> {
    let obj = jwk
        .as_object()
        .ok_or("each key must be a JSON object (a JWK)")?;
    if ["d", "p", "q", "dp", "dq", "qi"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Err(
            "the key holds a private part (\"d\"); register only the public key (kty, n, e or crv, x, y)"
                .into(),
        );
    }
    match obj.get("kty").and_then(Value::as_str) {
        Some("RSA")
            if obj.get("n").is_some_and(Value::is_string)
                && obj.get("e").is_some_and(Value::is_string) =>
        {
            Ok(())
        }
        Some("EC")
            if matches!(
                obj.get("crv").and_then(Value::as_str),
                Some("P-256" | "P-384")
            ) && obj.get("x").is_some_and(Value::is_string)
                && obj.get("y").is_some_and(Value::is_string) =>
        {
            Ok(())
        }
        Some("RSA") => Err("an RSA key needs the members n and e".into()),
        Some("EC") => Err("an EC key needs crv (P-256 or P-384), x and y".into()),
        other => Err(format!(
            "kty {other:?} is not supported; use an RSA or EC (P-256/P-384) key"
        )),
    }
}

/// The verification key for `alg` from a public JWK, if they fit together.
fn decoding_key(jwk: &Value, alg: Algorithm) -> Option<DecodingKey> {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str);
    match (s("kty")?, alg) {
        ("RSA", Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512) => {
            DecodingKey::from_rsa_components(s("n")?, s("e")?).ok()
        }
        ("EC", Algorithm::ES256) if s("crv")? == "P-256" => {
            DecodingKey::from_ec_components(s("x")?, s("y")?).ok()
        }
        ("EC", Algorithm::ES384) if s("crv")? == "P-384" => {
            DecodingKey::from_ec_components(s("x")?, s("y")?).ok()
        }
        _ => None,
    }
}

fn parse_alg(alg: &str) -> Option<Algorithm> {
    match alg {
        "RS256" => Some(Algorithm::RS256),
        "RS384" => Some(Algorithm::RS384),
        "RS512" => Some(Algorithm::RS512),
        "ES256" => Some(Algorithm::ES256),
        "ES384" => Some(Algorithm::ES384),
        _ => None,
    }
}

/// The JOSE header of a compact JWS, as JSON.
fn jose_header(jwt: &str) -> Option<Value> {
    let first = jwt.split('.').next()?;
    if jwt.split('.').count() != 3 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(first.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Verifies the signature only; every claim is checked by the caller.
fn verify_signature(jwt: &str, key: &DecodingKey, alg: Algorithm) -> Option<Value> {
    let mut v = Validation::new(alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(jwt, key, &v)
        .ok()
        .map(|d| d.claims)
}

fn wall_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Compares the request URI with a proof's `htu` the way Okta does: scheme and host case-insensitively,
/// no query or fragment, percent-encoding decoded.
fn same_htu(htu: &str, expected: &str) -> bool {
    fn norm(u: &str) -> Option<String> {
        let url = url::Url::parse(u).ok()?;
        let path = percent_decode(url.path());
        Some(format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str()?.to_ascii_lowercase(),
            match url.port() {
                Some(p) => format!(":{p}{path}"),
                None => path,
            }
        ))
    }
    matches!((norm(htu), norm(expected)), (Some(a), Some(b)) if a == b)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What a verified DPoP proof says.
struct Proof {
    jkt: String,
    jti: String,
    nonce: Option<String>,
}

/// Checks a DPoP proof: `typ`, `alg`, public `jwk`, signature, `htm`, `htu`, `iat`, `jti`, and `ath`
/// when an access token is presented. Errors are Okta's `error_description`s.
fn verify_proof(
    proof: &str,
    method: &Method,
    url: &str,
    access_token: Option<&str>,
) -> Result<Proof, String> {
    let header = jose_header(proof).ok_or("DPoP proof JWT cannot be parsed.")?;
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err("'typ' header in the DPoP proof JWT is invalid.".into());
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(parse_alg)
        .ok_or("'alg' header in the DPoP proof JWT is invalid.")?;
    let jwk = header
        .get("jwk")
        .filter(|j| check_public_jwk(j).is_ok())
        .ok_or("'jwk' header in the DPoP proof JWT is invalid.")?;
    let key = decoding_key(jwk, alg).ok_or("'jwk' header in the DPoP proof JWT is invalid.")?;
    let claims =
        verify_signature(proof, &key, alg).ok_or("The DPoP proof JWT signature is invalid.")?;
    let claim = |k: &str| claims.get(k).and_then(Value::as_str);
    if claim("htm") != Some(method.as_str()) {
        return Err("'htm' claim in the DPoP proof JWT is invalid.".into());
    }
    if !claim("htu").is_some_and(|h| same_htu(h, url)) {
        return Err("'htu' claim in the DPoP proof JWT is invalid.".into());
    }
    let now = wall_now();
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat >= now - PROOF_MAX_AGE_SECS && iat <= now + CLOCK_SKEW_SECS => {}
        _ => return Err("'iat' claim in the DPoP proof JWT is invalid.".into()),
    }
    let jti = claim("jti")
        .filter(|j| !j.is_empty())
        .ok_or("'jti' claim in the DPoP proof JWT is invalid.")?
        .to_owned();
    if let Some(token) = access_token {
        let ath = b64(&Sha256::digest(token.as_bytes()));
        if claim("ath") != Some(ath.as_str()) {
            return Err("'ath' claim in the DPoP proof JWT is invalid.".into());
        }
    }
    Ok(Proof {
        jkt: jwk_thumbprint(jwk).ok_or("'jwk' header in the DPoP proof JWT is invalid.")?,
        jti,
        nonce: claim("nonce").map(str::to_owned),
    })
}

// ---------------------------------------------------------------------------------------------------
// The token endpoint

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/oauth2/v1/token", post(token))
}

/// `POST /oauth2/v1/token`: client credentials with `private_key_jwt`, DPoP when the app requires it
/// (or the client offers a proof).
async fn token(AxState(shared): AxState<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&shared, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn issue(shared: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Response, OAuthError> {
    let form_ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form_ct {
        return Err(OAuthError::invalid_request(
            "The request must be sent as application/x-www-form-urlencoded.",
        ));
    }
    let form = parse_form(std::str::from_utf8(body).unwrap_or(""));
    let token_url = shared.url("/oauth2/v1/token");

    // Client authentication: private_key_jwt only.
    if headers.contains_key("authorization") || form.contains_key("client_secret") {
        return Err(OAuthError::invalid_client(
            "Client authentication with a client secret is not allowed for this client; send a `client_assertion` signed with the app's private key.",
        ));
    }
    let Some(assertion) = form.get("client_assertion").filter(|a| !a.is_empty()) else {
        return Err(OAuthError::invalid_client("No client credentials found"));
    };
    if form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
        return Err(OAuthError::invalid_request(
            "The `client_assertion_type` is invalid.",
        ));
    }
    let app = {
        let st = shared.state.read().await;
        authenticate_client(&st.okta.oauth, assertion, &token_url, form.get("client_id"))?
    };
    let AssertionOk { app, jti, exp } = app;

    // Grant and scopes.
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        None | Some("") => {
            return Err(OAuthError::invalid_request(
                "The `grant_type` parameter is required.",
            ));
        }
        Some(
            "authorization_code"
            | "refresh_token"
            | "password"
            | "implicit"
            | "urn:ietf:params:oauth:grant-type:jwt-bearer"
            | "urn:ietf:params:oauth:grant-type:saml2-bearer"
            | "urn:ietf:params:oauth:grant-type:device_code"
            | "urn:ietf:params:oauth:grant-type:token-exchange",
        ) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "The client is not authorized to use the provided grant type. Configured grant types: [client_credentials].",
            ));
        }
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "The grant type in the request isn't supported.",
            ));
        }
    }
    let requested: Vec<String> = form
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    if requested.is_empty() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "No scopes were requested.",
        ));
    }
    let not_allowed: Vec<&str> = requested
        .iter()
        .filter(|s| !app.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !not_allowed.is_empty() {
        return Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!(
                "The following scopes are not allowed: {}",
                not_allowed.join(", ")
            ),
        ));
    }

    // DPoP: required by the app, or offered by the client.
    let now = shared.now().as_second();
    let proof_header = headers.get("dpop").and_then(|v| v.to_str().ok());
    let proof = match proof_header {
        None if app.dpop_bound => {
            return Err(OAuthError::invalid_dpop_proof(
                "The DPoP proof JWT header is missing.",
            ));
        }
        None => None,
        Some(p) => {
            let proof = verify_proof(p, &Method::POST, &token_url, None)
                .map_err(OAuthError::invalid_dpop_proof)?;
            let nonce = current_nonce(shared, now).await.map_err(|_| {
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "The state could not be saved.",
                )
            })?;
            let valid = proof
                .nonce
                .as_deref()
                .is_some_and(|n| n == nonce.current || nonce.previous.as_deref() == Some(n));
            if !valid {
                let mut e = OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "use_dpop_nonce",
                    "Authorization server requires nonce in DPoP proof.",
                );
                e.nonce = Some(nonce.current);
                return Err(e);
            }
            Some(proof)
        }
    };

    // Issue: record the jtis, store the token's hash.
    let access_token = format!("oks{}", okta_id("", 61));
    let token_hash = sha256_hex(&access_token);
    let wall = wall_now();
    let scopes = requested.clone();
    let client_id = app.client_id.clone();
    let jkt = proof.as_ref().map(|p| p.jkt.clone());
    let stored = shared
        .mutate(|st| {
            let oauth = &mut st.okta.oauth;
            oauth.used_jtis.retain(|j| j.expires_at > wall);
            oauth.access_tokens.retain(|t| t.expires_at > now);
            let assertion_key = format!("assertion:{client_id}:{jti}");
            let proof_key = proof.as_ref().map(|p| format!("dpop:{}:{}", p.jkt, p.jti));
            if oauth.used_jtis.iter().any(|j| j.key == assertion_key) {
                return Err(OAuthError::invalid_client(
                    "The client_assertion token has already been used (its 'jti' claim must be unique).",
                ));
            }
            if let Some(k) = &proof_key
                && oauth.used_jtis.iter().any(|j| &j.key == k)
            {
                return Err(OAuthError::invalid_dpop_proof(
                    "'jti' claim in the DPoP proof JWT is invalid.",
                ));
            }
            oauth.used_jtis.push(UsedJti {
                key: assertion_key,
                expires_at: exp.max(wall) + CLOCK_SKEW_SECS,
            });
            if let Some(k) = proof_key {
                oauth.used_jtis.push(UsedJti {
                    key: k,
                    expires_at: wall + PROOF_MAX_AGE_SECS + CLOCK_SKEW_SECS,
                });
            }
            oauth.access_tokens.push(AccessToken {
                token_hash,
                client_id: client_id.clone(),
                scopes: scopes.clone(),
                jkt: jkt.clone(),
                expires_at: now + ACCESS_TOKEN_LIFETIME_SECS,
            });
            Ok(())
        })
        .await
        .map_err(|_| {
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "The state could not be saved.",
            )
        })?;
    stored?;
    let mut response = axum::Json(json!({
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "access_token": access_token,
        "scope": requested.join(" "),
    }))
    .into_response();
    let h = response.headers_mut();
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The current nonce, rotated every 24 h of sandbox time (the previous one stays valid).
async fn current_nonce(shared: &Shared, now: i64) -> Result<DpopNonce, ()> {
    {
        let st = shared.state.read().await;
        if let Some(n) = &st.okta.oauth.dpop_nonce
            && now - n.issued_at < NONCE_ROTATION_SECS
        {
            return Ok(n.clone());
        }
    }
    shared
        .mutate(|st| {
            let oauth = &mut st.okta.oauth;
            let fresh = match oauth.dpop_nonce.take() {
                Some(n) if now - n.issued_at < NONCE_ROTATION_SECS => n,
                Some(n) => DpopNonce::fresh(now, Some(n.current)),
                None => DpopNonce::fresh(now, None),
            };
            oauth.dpop_nonce = Some(fresh.clone());
            Ok::<_, ()>(fresh)
        })
        .await
        .map_err(|_| ())?
}

struct AssertionOk {
    app: ServiceApp,
    jti: String,
    exp: i64,
}

/// Verifies a `private_key_jwt` client assertion: the app (`iss` = `sub` = client id), the key (`kid`),
/// the signature, `aud` = the token URL, `exp` in the future and at most an hour ahead, a `jti`.
fn authenticate_client(
    oauth: &OAuthState,
    assertion: &str,
    token_url: &str,
    form_client_id: Option<&String>,
) -> Result<AssertionOk, OAuthError> {
    let header = jose_header(assertion)
        .ok_or_else(|| OAuthError::invalid_client("The client_assertion token is malformed."))?;
    // Read the claims before verifying, only to find the app; nothing is trusted until the signature is.
    let claims: Value = assertion
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| OAuthError::invalid_client("The client_assertion token is malformed."))?;
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if iss.is_empty() || iss != sub {
        return Err(OAuthError::invalid_client(
            "The client_assertion token must have 'iss' and 'sub' claims, both equal to the client_id.",
        ));
    }
    if form_client_id.is_some_and(|c| c != iss) {
        return Err(OAuthError::invalid_client(
            "The client_id in the request does not match the client_assertion's 'iss' claim.",
        ));
    }
    let app = oauth
        .service_apps
        .iter()
        .find(|a| a.client_id == iss)
        .ok_or_else(|| OAuthError::invalid_client("Invalid value for the `client_id` parameter"))?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(parse_alg)
        .ok_or_else(|| {
            OAuthError::invalid_client(format!(
                "The client_assertion token's 'alg' must be one of {ALGS}."
            ))
        })?;
    let kid = header.get("kid").and_then(Value::as_str);
    let candidates: Vec<&Value> = app
        .jwks
        .iter()
        .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
        .collect();
    if candidates.is_empty() {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has a 'kid' that does not match any public key registered for the client.",
        ));
    }
    let verified = candidates.iter().find_map(|jwk| {
        decoding_key(jwk, alg).and_then(|key| verify_signature(assertion, &key, alg))
    });
    let claims = verified
        .ok_or_else(|| OAuthError::invalid_client("The client_assertion signature is invalid."))?;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == token_url,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(token_url)),
        _ => false,
    };
    if !aud_ok {
        return Err(OAuthError::invalid_client(
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ));
    }
    let now = wall_now();
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token must have an 'exp' claim.")
    })?;
    if exp <= now - CLOCK_SKEW_SECS {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is expired.",
        ));
    }
    if exp > now + MAX_ASSERTION_LIFETIME_SECS + CLOCK_SKEW_SECS {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has an expiration too far into the future.",
        ));
    }
    let jti = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_client("The client_assertion token must have a 'jti' claim.")
        })?;
    Ok(AssertionOk {
        app: app.clone(),
        jti: jti.to_owned(),
        exp,
    })
}

// ---------------------------------------------------------------------------------------------------
// API calls with access tokens

/// The scope an Okta API endpoint needs from an OAuth token (`*.manage` also satisfies `*.read`), and
/// whether it writes.
pub(crate) fn required_scope(method: &Method, path: &str) -> Option<(&'static str, bool)> {
    let write = !(method == Method::GET || method == Method::HEAD);
    if let Some(scope) = crate::okta_apps::required_scope(write, path) {
        return Some(scope);
    }
    let family = if path.starts_with("/api/v1/users") {
        "okta.users"
    } else if path.starts_with("/api/v1/groups") {
        "okta.groups"
    } else if path.starts_with("/api/v1/logs") {
        return Some(("okta.logs.read", false));
    } else if path.starts_with("/api/v1/identity-sources") {
        "okta.identitySources"
    } else {
        return None;
    };
    Some(match (family, write) {
        ("okta.users", false) => ("okta.users.read", false),
        ("okta.users", true) => ("okta.users.manage", true),
        ("okta.groups", false) => ("okta.groups.read", false),
        ("okta.groups", true) => ("okta.groups.manage", true),
        ("okta.identitySources", false) => ("okta.identitySources.read", false),
        (_, _) => ("okta.identitySources.manage", true),
    })
}

fn grants(scopes: &[String], needed: &str) -> bool {
    scopes.iter().any(|s| {
        s == needed
            || needed
                .strip_suffix(".read")
                .is_some_and(|family| *s == format!("{family}.manage"))
    })
}

/// A `WWW-Authenticate` challenge as Okta's resource server sends it.
fn challenge(
    shared: &Shared,
    dpop: bool,
    scope: Option<&str>,
    error: &str,
    description: &str,
    path: &str,
) -> HeaderValue {
    let org = shared.base.as_str().trim_end_matches('/');
    let mut v = String::new();
    if dpop {
        v.push_str(&format!("DPoP algs=\"{ALGS}\", "));
    } else {
        v.push_str("Bearer ");
    }
    v.push_str(&format!(
        "authorization_uri=\"{org}/oauth2/v1/authorize\", realm=\"{org}\", "
    ));
    if let Some(s) = scope {
        v.push_str(&format!("scope=\"{s}\", "));
    }
    v.push_str(&format!(
        "error=\"{error}\", error_description=\"{description}\", resource=\"{path}\""
    ));
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}

/// Authenticates an OAuth access token (`Bearer` or `DPoP` scheme) on an Okta API call and enforces the
/// endpoint's scope and the app's admin role.
pub(crate) async fn authenticate(
    shared: &Shared,
    parts: &Parts,
    scheme: &str,
    token: &str,
) -> Result<Principal, OktaError> {
    let dpop_scheme = scheme.eq_ignore_ascii_case("DPoP");
    let path = parts.uri.path().to_owned();
    let needed = required_scope(&parts.method, &path);
    let invalid = |description: &str, dpop: bool| {
        OktaError::invalid_token().with_header(
            "www-authenticate",
            challenge(
                shared,
                dpop,
                needed.map(|n| n.0),
                "invalid_token",
                description,
                &path,
            ),
        )
    };
    let now = shared.now().as_second();
    let hash = sha256_hex(token);
    let (record, app) = {
        let st = shared.state.read().await;
        let oauth = &st.okta.oauth;
        let Some(record) = oauth
            .access_tokens
            .iter()
            .find(|t| t.token_hash == hash)
            .cloned()
        else {
            return Err(invalid("The access token is invalid.", dpop_scheme));
        };
        let app = oauth
            .service_apps
            .iter()
            .find(|a| a.client_id == record.client_id)
            .cloned();
        (record, app)
    };
    if record.expires_at <= now {
        return Err(invalid("The access token is expired.", dpop_scheme));
    }
    let Some(app) = app else {
        return Err(invalid("The access token is invalid.", dpop_scheme));
    };
    match (&record.jkt, dpop_scheme) {
        (Some(_), false) => {
            return Err(invalid(
                "The access token is DPoP-bound; send it with the DPoP authorization scheme and a DPoP proof.",
                true,
            ));
        }
        (None, true) => {
            return Err(invalid(
                "The access token is not DPoP-bound; send it with the Bearer authorization scheme.",
                false,
            ));
        }
        _ => {}
    }
    if let Some(jkt) = &record.jkt {
        let proof_error = |description: &str| {
            OktaError::new(StatusCode::BAD_REQUEST, "invalid_dpop_proof", description)
                .with_link("invalid_dpop_proof")
                .with_header(
                    "www-authenticate",
                    challenge(
                        shared,
                        true,
                        needed.map(|n| n.0),
                        "invalid_dpop_proof",
                        description,
                        &path,
                    ),
                )
        };
        let proof = parts
            .headers
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| proof_error("The DPoP proof JWT header is missing."))?;
        let url = shared.url(&path);
        let verified =
            verify_proof(proof, &parts.method, &url, Some(token)).map_err(|d| proof_error(&d))?;
        if &verified.jkt != jkt {
            return Err(proof_error(
                "The DPoP proof JWT key does not match the key the access token is bound to.",
            ));
        }
    }
    if let Some((scope, write)) = needed {
        if !grants(&record.scopes, scope) {
            return Err(OktaError::access_denied().with_header(
                "www-authenticate",
                challenge(
                    shared,
                    dpop_scheme,
                    Some(scope),
                    "insufficient_scope",
                    "The access token provided does not contain the required scopes.",
                    &path,
                ),
            ));
        }
        let role_ok = app
            .admin_roles
            .iter()
            .any(|r| !write || !READ_ONLY_ROLES.contains(&r.as_str()));
        if !role_ok {
            return Err(OktaError::access_denied());
        }
    }
    Ok(Principal::ServiceApp {
        client_id: app.client_id,
        name: app.name,
    })
}

// ---------------------------------------------------------------------------------------------------
// Control: /_sandbox/okta/service-apps

pub(crate) fn control_router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/okta/service-apps", post(create_app).get(list_apps))
        .route("/okta/service-apps/{client_id}", patch(update_app))
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AppRequest {
    name: Option<String>,
    jwks: Option<Value>,
    scopes: Option<Vec<String>>,
    admin_roles: Option<Vec<String>>,
    dpop_bound: Option<bool>,
}

const APP_EXAMPLE: &str = r#"{"name":"okta365","jwks":{"keys":[{"kty":"RSA","kid":"k1","n":"…","e":"AQAB"}]},"scopes":["okta.users.read"],"adminRoles":["READ_ONLY_ADMIN"],"dpopBound":true}"#;

fn parse_app_request(body: &Bytes) -> Result<AppRequest, String> {
    serde_json::from_slice(body).map_err(|e| {
        format!("The request body is not valid here ({e}). Send JSON like {APP_EXAMPLE}.")
    })
}

/// Accepts `{"keys":[…]}`, `[…]` or one JWK; gives each key a `kid` (its thumbprint) when it has none.
pub(crate) fn parse_jwks(v: &Value) -> Result<Vec<Value>, String> {
    let keys: Vec<Value> = match v {
        Value::Object(o) if o.contains_key("keys") => o["keys"]
            .as_array()
            .cloned()
            .ok_or("jwks.keys must be an array of JWKs")?,
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![v.clone()],
        _ => return Err("jwks must be a JWK set {\"keys\":[…]}".into()),
    };
    if keys.is_empty() {
        return Err("jwks needs at least one public key".into());
    }
    let mut out = Vec::new();
    for (i, mut k) in keys.into_iter().enumerate() {
        check_public_jwk(&k).map_err(|e| format!("jwks key {i}: {e}"))?;
        if k.get("kid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let kid = jwk_thumbprint(&k).unwrap_or_default();
            k["kid"] = Value::String(kid);
        }
        out.push(k);
    }
    Ok(out)
}

fn check_scopes(scopes: &[String]) -> Result<(), String> {
    match scopes.iter().find(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() != 3 || parts[0] != "okta" || parts[1].is_empty() || parts[2].is_empty()
    }) {
        Some(bad) => Err(format!(
            "scope {bad:?} is not an Okta API scope; use names like okta.users.read or okta.groups.manage"
        )),
        None => Ok(()),
    }
}

fn check_roles(roles: &[String]) -> Result<(), String> {
    match roles.iter().find(|r| !ADMIN_ROLES.contains(&r.as_str())) {
        Some(bad) => Err(format!(
            "admin role {bad:?} is not a standard Okta role; use one of {}",
            ADMIN_ROLES.join(", ")
        )),
        None => Ok(()),
    }
}

fn render_app(app: &ServiceApp) -> Value {
    json!({
        "clientId": app.client_id,
        "name": app.name,
        "jwks": { "keys": app.jwks },
        "scopes": app.scopes,
        "adminRoles": app.admin_roles,
        "dpopBound": app.dpop_bound,
        "created": app.created,
    })
}

async fn create_app(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req = match parse_app_request(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, e),
    };
    let Some(jwks) = req.jwks.as_ref() else {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("jwks is required: the app's public keys. Send JSON like {APP_EXAMPLE}."),
        );
    };
    let jwks = match parse_jwks(jwks) {
        Ok(k) => k,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, e),
    };
    let scopes = req.scopes.unwrap_or_default();
    let roles = req.admin_roles.unwrap_or_default();
    if let Err(e) = check_scopes(&scopes).and_then(|()| check_roles(&roles)) {
        return control_error(StatusCode::BAD_REQUEST, e);
    }
    let app = ServiceApp {
        client_id: okta_id("0oa", 20),
        name: req.name.unwrap_or_else(|| "okta365".into()),
        jwks,
        scopes,
        admin_roles: roles,
        // New API service apps require DPoP by default.
        dpop_bound: req.dpop_bound.unwrap_or(true),
        created: okta_time(shared.now()),
    };
    let saved = shared
        .mutate(|st| {
            st.okta.oauth.service_apps.push(app.clone());
            Ok::<_, ()>(())
        })
        .await;
    match saved {
        Ok(_) => (StatusCode::CREATED, axum::Json(render_app(&app))).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list_apps(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let st = shared.state.read().await;
    axum::Json(
        st.okta
            .oauth
            .service_apps
            .iter()
            .map(render_app)
            .collect::<Vec<_>>(),
    )
    .into_response()
}

async fn update_app(
    AxState(shared): AxState<Arc<Shared>>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Response {
    let req = match parse_app_request(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, e),
    };
    let jwks = match req.jwks.as_ref().map(parse_jwks).transpose() {
        Ok(k) => k,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, e),
    };
    if let Err(e) = req
        .scopes
        .as_deref()
        .map_or(Ok(()), check_scopes)
        .and_then(|()| req.admin_roles.as_deref().map_or(Ok(()), check_roles))
    {
        return control_error(StatusCode::BAD_REQUEST, e);
    }
    let result = shared
        .mutate(|st| {
            let app = st
                .okta
                .oauth
                .service_apps
                .iter_mut()
                .find(|a| a.client_id == client_id)
                .ok_or(())?;
            if let Some(n) = req.name {
                app.name = n;
            }
            if let Some(k) = jwks {
                app.jwks = k;
            }
            if let Some(s) = req.scopes {
                app.scopes = s;
            }
            if let Some(r) = req.admin_roles {
                app.admin_roles = r;
            }
            if let Some(d) = req.dpop_bound {
                app.dpop_bound = d;
            }
            Ok(render_app(app))
        })
        .await;
    match result {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(())) => control_error(
            StatusCode::NOT_FOUND,
            format!(
                "No service app with clientId {client_id}; create one with POST /_sandbox/okta/service-apps"
            ),
        ),
        Err(e) => e.into_response(),
    }
}

/// Summary of the service apps for `GET /_sandbox/state` (no keys).
pub(crate) fn summary(oauth: &OAuthState) -> Value {
    let by_app: BTreeMap<&str, usize> =
        oauth
            .access_tokens
            .iter()
            .fold(BTreeMap::new(), |mut m, t| {
                *m.entry(t.client_id.as_str()).or_default() += 1;
                m
            });
    Value::Array(
        oauth
            .service_apps
            .iter()
            .map(|a| {
                json!({
                    "clientId": a.client_id, "name": a.name, "scopes": a.scopes,
                    "adminRoles": a.admin_roles, "dpopBound": a.dpop_bound, "keys": a.jwks.len(),
                    "accessTokens": by_app.get(a.client_id.as_str()).copied().unwrap_or(0),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        // The RSA key of RFC 7638 section 3.1 and its published thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn a_private_jwk_is_refused_with_the_reason() {
        let err = check_public_jwk(&json!({"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}))
            .unwrap_err();
        assert!(err.contains("private"), "{err}");
        assert!(check_public_jwk(&json!({"kty":"oct","k":"x"})).is_err());
    }

    #[test]
    fn manage_scopes_imply_read_and_endpoints_need_their_scope() {
        assert!(grants(&["okta.users.manage".into()], "okta.users.read"));
        assert!(!grants(&["okta.users.read".into()], "okta.users.manage"));
        assert_eq!(
            required_scope(&Method::GET, "/api/v1/groups/00g1/users"),
            Some(("okta.groups.read", false))
        );
        assert_eq!(
            required_scope(&Method::PUT, "/api/v1/groups/00g1/users/00u1"),
            Some(("okta.groups.manage", true))
        );
        assert_eq!(
            required_scope(&Method::GET, "/api/v1/identity-sources/0oa1/sessions"),
            Some(("okta.identitySources.read", false))
        );
    }

    #[test]
    fn htu_comparison_ignores_query_case_and_percent_encoding() {
        assert!(same_htu(
            "http://127.0.0.1:8080/api/v1/users/a%40b.c",
            "http://127.0.0.1:8080/api/v1/users/a@b.c?x=1"
        ));
        assert!(!same_htu(
            "http://127.0.0.1:8080/api/v1/groups",
            "http://127.0.0.1:8080/api/v1/users"
        ));
    }
}
