//! The Entra ID token endpoint: `POST /{tenant}/oauth2/v2.0/token`, client credentials with a client
//! secret (form body or HTTP Basic) or a certificate assertion (`client_assertion_type` jwt-bearer,
//! PS256/RS256, the certificate named by `x5t#S256` or `x5t`), issuing RS256 access tokens for
//! Microsoft Graph signed with the sandbox's own key, and AADSTS error bodies.
//!
//! What must stay true: a certificate assertion is accepted only when its header names a certificate
//! registered on the app, its signature verifies with that certificate's public key, `aud` is this
//! tenant's token URL (by GUID or by any verified domain), `iss` = `sub` = the client id, it is within
//! `nbf`..`exp` (5 minutes of clock skew, on the sandbox clock) and its `jti` was not seen before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::server::{Shared, parse_form};
use crate::state::{AppCertificate, AppRegistration, SigningKey, Tenant, sha256_hex};

/// The only resource the sandbox issues tokens for.
pub(crate) const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Lifetime of an access token, as Entra reports it in `expires_in`.
const TOKEN_LIFETIME_SECS: i64 = 3599;
/// `client_assertion_type` of a certificate (or any JWT) client assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew Entra tolerates on a client assertion's `nbf` and `exp`.
const ASSERTION_SKEW_SECS: i64 = 300;

/// Per-server Entra bookkeeping that is not tenant data: how many tokens each app was issued (read by
/// `GET /_sandbox/entra/apps/{appId}`, so tests can see a client's token cache at work) and the
/// client assertion ids already used.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    tokens_issued: Mutex<HashMap<String, u64>>,
    /// `jti` → the assertion's `exp`; pruned once expired.
    seen_jti: Mutex<HashMap<String, i64>>,
    /// Delegated sign-ins (device codes, authorization codes), their settings and policies, and the
    /// directory replication delay.
    pub(crate) setup: crate::entra_delegated::Runtime,
}

impl Runtime {
    /// Tokens issued to `app_id` by this server so far.
    pub(crate) fn tokens_issued(&self, app_id: &str) -> u64 {
        self.tokens_issued
            .lock()
            .expect("token counter lock")
            .get(&app_id.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    fn count_token(&self, app_id: &str) {
        *self
            .tokens_issued
            .lock()
            .expect("token counter lock")
            .entry(app_id.to_ascii_lowercase())
            .or_default() += 1;
    }

    /// Records `jti`; false when it was already used by an assertion that has not expired yet.
    fn first_use(&self, jti: &str, exp: i64, now: i64) -> bool {
        let mut seen = self.seen_jti.lock().expect("jti lock");
        seen.retain(|_, e| *e + ASSERTION_SKEW_SECS >= now);
        seen.insert(jti.to_owned(), exp).is_none()
    }
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .merge(crate::entra_delegated::router())
}

/// The signing key in usable form.
pub(crate) struct Keys {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Keys {
    fn from_state(key: &SigningKey) -> Result<Keys, Error> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(&key.private_pem)
            .map_err(|e| Error::SigningKey(e.to_string()))?;
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(private.e().to_bytes_be());
        Ok(Keys {
            kid: key.kid.clone(),
            encoding: EncodingKey::from_rsa_pem(key.private_pem.as_bytes())
                .map_err(|e| Error::SigningKey(e.to_string()))?,
            decoding: DecodingKey::from_rsa_components(&n, &e)
                .map_err(|e| Error::SigningKey(e.to_string()))?,
        })
    }
}

/// The signing key's id (the tokens' `kid`).
pub(crate) fn kid(keys: &Keys) -> String {
    keys.kid.clone()
}

/// The key that signs access tokens.
pub(crate) fn encoding(keys: &Keys) -> &EncodingKey {
    &keys.encoding
}

fn generate_key() -> Result<SigningKey, Error> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| Error::SigningKey(e.to_string()))?;
    let pem = private
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| Error::SigningKey(e.to_string()))?;
    let kid: String = crate::server::okta_id("", 27);
    Ok(SigningKey {
        kid,
        private_pem: pem.to_string(),
    })
}

/// The sandbox's signing keys: loaded from the state, or generated once and saved there.
pub(crate) async fn keys(shared: &Shared) -> Result<Arc<Keys>, Error> {
    shared
        .keys
        .get_or_try_init(|| async {
            if let Some(key) = shared.state.read().await.signing_key.clone() {
                return Keys::from_state(&key).map(Arc::new);
            }
            let fresh = tokio::task::spawn_blocking(generate_key)
                .await
                .map_err(|e| Error::SigningKey(e.to_string()))??;
            let stored = shared
                .mutate(|st| Ok::<_, ()>(st.signing_key.get_or_insert(fresh).clone()))
                .await
                .map_err(|e| e.0)?
                .expect("storing the key cannot fail");
            Keys::from_state(&stored).map(Arc::new)
        })
        .await
        .cloned()
}

/// Claims of an app-only access token for Graph (v1 tokens, as Graph gets them).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub app_displayname: String,
    pub appid: String,
    pub appidacr: String,
    pub azp: String,
    pub idp: String,
    pub idtyp: String,
    pub oid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    pub sub: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
    /// Delegated tokens only: the granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    /// Delegated tokens only: the signed-in user's directory role template ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wids: Option<Vec<String>>,
    /// Delegated tokens only: the signed-in user's principal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Delegated tokens only: the signed-in user's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Why a bearer token was refused, in Graph's words.
pub(crate) enum TokenProblem {
    Malformed,
    BadSignature,
    BadAudience,
    Expired,
    NotYetValid,
    WrongTenant,
}

/// Checks signature, audience, lifetime (on the sandbox clock) and tenant of a Graph access token.
pub(crate) async fn verify(
    shared: &Shared,
    token: &str,
    tenant_id: &str,
) -> Result<Claims, TokenProblem> {
    if token.split('.').count() != 3 {
        return Err(TokenProblem::Malformed);
    }
    let keys = keys(shared).await.map_err(|_| TokenProblem::BadSignature)?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Lifetime is checked below against the sandbox clock, which may run ahead of the wall clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenProblem::BadSignature,
            _ => TokenProblem::Malformed,
        }
    })?;
    let claims = data.claims;
    let now = shared.now().as_second();
    if claims.aud != GRAPH_AUDIENCE && claims.aud != "00000003-0000-0000-c000-000000000000" {
        return Err(TokenProblem::BadAudience);
    }
    if now >= claims.exp {
        return Err(TokenProblem::Expired);
    }
    if now < claims.nbf - 300 {
        return Err(TokenProblem::NotYetValid);
    }
    if !claims.tid.eq_ignore_ascii_case(tenant_id) {
        return Err(TokenProblem::WrongTenant);
    }
    Ok(claims)
}

/// An AADSTS error: `{error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri}`.
pub(crate) struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> AadError {
        AadError {
            status,
            error,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn render(self, shared: &Shared) -> Response {
        let now = shared.now();
        let timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ").to_string();
        let trace_id = uuid::Uuid::new_v4().to_string();
        let correlation_id = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.code, self.message
            ),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": shared.url(&format!("/error?code={}", self.code)),
        });
        with_token_headers((self.status, axum::Json(body)).into_response())
    }
}

pub(crate) fn with_token_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-store, no-cache"),
    );
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert(
        "content-type",
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An injected fault on the login endpoint.
pub(crate) fn injected_fault(shared: &Shared, status: StatusCode) -> Response {
    let (error, code, message) = if status == StatusCode::TOO_MANY_REQUESTS {
        (
            "temporarily_unavailable",
            50196,
            "The server terminated an operation because it encountered a client request loop.",
        )
    } else {
        (
            "temporarily_unavailable",
            90033,
            "A transient error has occurred. Please try again.",
        )
    };
    AadError::new(status, error, code, message).render(shared)
}

pub(crate) fn missing(param: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{param}'."),
    )
}

/// Splits `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

async fn token(
    AxState(shared): AxState<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(std::str::from_utf8(&body).unwrap_or(""));
    if crate::entra_delegated::is_delegated_grant(form.get("grant_type").map(String::as_str)) {
        return crate::entra_delegated::token(&shared, &tenant, &form).await;
    }
    match issue(&shared, &tenant, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.render(&shared),
    }
}

async fn issue(
    shared: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, AadError> {
    let form: HashMap<String, String> = parse_form(std::str::from_utf8(body).unwrap_or(""));
    let now: Timestamp = shared.now();
    let (tenant_id, app, appidacr) = {
        let st = shared.state.read().await;
        let t = &st.microsoft.tenant;
        let known = t.id.eq_ignore_ascii_case(tenant)
            || t.verified_domains
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(tenant));
        if !known {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                ),
            ));
        }
        let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
        if grant.is_empty() {
            return Err(missing("grant_type"));
        }
        if grant != "client_credentials" {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{grant}'."),
            ));
        }
        let basic = basic_credentials(headers);
        let client_id = form
            .get("client_id")
            .cloned()
            .or_else(|| basic.as_ref().map(|b| b.0.clone()))
            .unwrap_or_default();
        if client_id.is_empty() {
            return Err(missing("client_id"));
        }
        let Some(app) = st
            .microsoft
            .apps
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(&client_id))
        else {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                    t.display_name
                ),
            ));
        };
        if app.service_principal_id.is_empty() {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                7000229,
                format!(
                    "The client application {} is missing service principal in the tenant {}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                    app.app_id, t.id
                ),
            ));
        }
        if let Some(assertion) = form.get("client_assertion") {
            check_assertion(shared, tenant, t, app, &form, assertion, now)?;
            (t.id.clone(), app.clone(), "2")
        } else {
            let secret = form
                .get("client_secret")
                .cloned()
                .or_else(|| basic.map(|b| b.1));
            let secret = match secret {
                None => {
                    return Err(AadError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        7000216,
                        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
                    ));
                }
                Some(s) if s.is_empty() => {
                    return Err(AadError::new(
                        StatusCode::UNAUTHORIZED,
                        "invalid_client",
                        7000218,
                        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                    ));
                }
                Some(s) => s,
            };
            let hash = sha256_hex(&secret);
            let Some(found) = app.secrets.iter().find(|s| s.secret_hash == hash) else {
                return Err(AadError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                        app.app_id
                    ),
                ));
            };
            let expired = found
                .end_date_time
                .parse::<Timestamp>()
                .map(|end| now >= end)
                .unwrap_or(true);
            if expired {
                return Err(AadError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000222,
                    format!(
                        "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                        app.app_id
                    ),
                ));
            }
            (t.id.clone(), app.clone(), "1")
        }
    };
    let scope = form.get("scope").map(|s| s.trim()).unwrap_or("");
    if scope.is_empty() {
        return Err(missing("scope"));
    }
    if !scope.eq_ignore_ascii_case(GRAPH_SCOPE)
        && !scope.eq_ignore_ascii_case("00000003-0000-0000-c000-000000000000/.default")
    {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid. The sandbox issues app-only tokens for {GRAPH_SCOPE} only."
            ),
        ));
    }
    let keys = keys(shared).await.map_err(|e| {
        AadError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            e.to_string(),
        )
    })?;
    let iat = now.as_second();
    let issuer = format!("https://sts.windows.net/{tenant_id}/");
    let claims = Claims {
        aud: GRAPH_AUDIENCE.into(),
        iss: issuer.clone(),
        iat,
        nbf: iat,
        exp: iat + TOKEN_LIFETIME_SECS,
        app_displayname: app.display_name.clone(),
        appid: app.app_id.clone(),
        appidacr: appidacr.into(),
        azp: app.app_id.clone(),
        idp: issuer,
        idtyp: "app".into(),
        oid: app.service_principal_id.clone(),
        roles: (!app.roles.is_empty()).then(|| app.roles.clone()),
        sub: app.service_principal_id.clone(),
        tid: tenant_id,
        uti: crate::server::okta_id("", 22),
        ver: "1.0".into(),
        scp: None,
        wids: None,
        upn: None,
        name: None,
    };
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    header.typ = Some("JWT".into());
    let access_token = jsonwebtoken::encode(&header, &claims, &keys.encoding).map_err(|e| {
        AadError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            e.to_string(),
        )
    })?;
    shared.entra.count_token(&app.app_id);
    let body = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    Ok(with_token_headers(axum::Json(body).into_response()))
}

/// Claims of a client assertion that the token endpoint reads.
#[derive(Debug, Deserialize)]
struct AssertionClaims {
    #[serde(default)]
    aud: Option<Value>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
}

fn invalid_client(code: u32, message: impl Into<String>) -> AadError {
    AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", code, message)
}

fn malformed(what: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        50027,
        format!("JWT token is invalid or malformed. The client assertion {what}."),
    )
}

/// The hex form of a base64url thumbprint from a JWT header, or `None` if it is not base64url.
fn thumbprint_hex(b64: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(b64.trim_end_matches('=')).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a certificate client assertion for `app` (see the module docs for what must hold).
fn check_assertion(
    shared: &Shared,
    tenant_in_path: &str,
    tenant: &Tenant,
    app: &AppRegistration,
    form: &HashMap<String, String>,
    assertion: &str,
    now: Timestamp,
) -> Result<(), AadError> {
    match form.get("client_assertion_type").map(String::as_str) {
        None | Some("") => return Err(missing("client_assertion_type")),
        Some(JWT_BEARER) => {}
        Some(other) => {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                format!(
                    "JWT token is invalid or malformed. The client_assertion_type '{other}' is not supported; use '{JWT_BEARER}'."
                ),
            ));
        }
    }
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| malformed("is not a signed JWT (header.payload.signature)"))?;
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(malformed(&format!(
            "is signed with {:?}; certificate credentials use PS256 or RS256",
            header.alg
        )));
    }
    let presented = header
        .x5t_s256
        .as_deref()
        .map(|t| (t, true))
        .or(header.x5t.as_deref().map(|t| (t, false)));
    let Some((presented, sha256)) = presented else {
        return Err(malformed(
            "header names no certificate: add x5t#S256 (or x5t) with the certificate's thumbprint",
        ));
    };
    let wanted = thumbprint_hex(presented).unwrap_or_default();
    let cert: Option<&AppCertificate> = app.certificates.iter().find(|c| {
        let known = if sha256 {
            &c.thumbprint_sha256
        } else {
            &c.thumbprint_sha1
        };
        !wanted.is_empty() && known.eq_ignore_ascii_case(&wanted)
    });
    let not_registered = |reason: &str| {
        invalid_client(
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - {reason}, Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{}']",
                wanted.to_ascii_uppercase(),
                app.app_id,
                app.object_id.as_deref().unwrap_or(&app.app_id),
            ),
        )
    };
    let Some(cert) = cert else {
        return Err(not_registered("The key was not found."));
    };
    let expired = cert
        .end_date_time
        .parse::<Timestamp>()
        .map(|end| now >= end)
        .unwrap_or(true);
    if expired {
        return Err(not_registered("The key used is expired."));
    }
    let (n, e) = crate::entra_control::rsa_components(&cert.der_base64)
        .map_err(|_| not_registered("The key was not found."))?;
    let key = DecodingKey::from_rsa_raw_components(&n, &e);
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &key, &validation)
        .map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            match err.kind() {
                ErrorKind::InvalidSignature => invalid_client(
                    700027,
                    format!(
                        "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{}', Found key 'Start=…, End=…', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                        wanted.to_ascii_uppercase(),
                        app.app_id
                    ),
                ),
                _ => malformed("payload is not valid JSON claims"),
            }
        })?
        .claims;

    // `aud`: this tenant's v2.0 token URL, by GUID or by one of its verified domains.
    let aud = match &claims.aud {
        Some(Value::String(a)) => a.clone(),
        Some(Value::Array(a)) if a.len() == 1 => a[0].as_str().unwrap_or_default().to_owned(),
        Some(Value::Array(a)) if a.len() > 1 => {
            return Err(invalid_client(
                5002741,
                format!(
                    "Number of audience values in the provided client credential exceed maximum allowed. {} audience values provided, maximum allowed is 1.",
                    a.len()
                ),
            ));
        }
        _ => String::new(),
    };
    let base = shared.url("");
    let aud_ok = aud
        .strip_prefix(base.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix("/oauth2/v2.0/token"))
        .is_some_and(|t| {
            t.eq_ignore_ascii_case(&tenant.id)
                || t.eq_ignore_ascii_case(tenant_in_path)
                || tenant
                    .verified_domains
                    .iter()
                    .any(|d| d.name.eq_ignore_ascii_case(t))
        });
    if !aud_ok {
        return Err(invalid_client(
            50012,
            format!(
                "Client assertion audience claim does not match Realm issuer. The audience '{aud}' must be this tenant's token endpoint, {base}/{}/oauth2/v2.0/token.",
                tenant.id
            ),
        ));
    }
    let iss = claims.iss.as_deref().unwrap_or_default();
    let sub = claims.sub.as_deref().unwrap_or_default();
    if !iss.eq_ignore_ascii_case(&app.app_id) || !sub.eq_ignore_ascii_case(&app.app_id) {
        return Err(invalid_client(
            700021,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials . (iss '{iss}', sub '{sub}', client_id '{}')",
                app.app_id
            ),
        ));
    }
    let now_s = now.as_second();
    let (Some(exp), nbf) = (claims.exp, claims.nbf) else {
        return Err(malformed("has no exp claim"));
    };
    let fmt = |s: i64| {
        Timestamp::from_second(s)
            .map(|t| t.strftime("%m/%d/%Y %H:%M:%S").to_string())
            .unwrap_or_else(|_| s.to_string())
    };
    if now_s > exp + ASSERTION_SKEW_SECS || nbf.is_some_and(|nbf| now_s + ASSERTION_SKEW_SECS < nbf)
    {
        return Err(invalid_client(
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
                fmt(now_s),
                nbf.map(fmt).unwrap_or_default(),
                fmt(exp)
            ),
        ));
    }
    let Some(jti) = claims.jti.filter(|j| !j.is_empty()) else {
        return Err(malformed("has no jti claim"));
    };
    if !shared.entra.first_use(&jti, exp, now_s) {
        return Err(invalid_client(
            50027,
            format!(
                "JWT token is invalid or malformed. The client assertion with jti '{jti}' was already used; sign a new assertion for every token request."
            ),
        ));
    }
    Ok(())
}
