//! The Entra ID token endpoint: `POST /{tenant}/oauth2/v2.0/token`, client credentials with a client
//! secret (form body or HTTP Basic), issuing RS256 access tokens for Microsoft Graph signed with the
//! sandbox's own key, and AADSTS error bodies.

use std::collections::HashMap;
use std::sync::Arc;

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
use serde_json::json;

use crate::error::Error;
use crate::server::{Shared, parse_form};
use crate::state::{SigningKey, sha256_hex};

/// The only resource the sandbox issues tokens for.
pub(crate) const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
/// Lifetime of an access token, as Entra reports it in `expires_in`.
const TOKEN_LIFETIME_SECS: i64 = 3599;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/{tenant}/oauth2/v2.0/token", post(token))
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
struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    message: String,
}

impl AadError {
    fn new(
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

    fn render(self, shared: &Shared) -> Response {
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

fn with_token_headers(mut response: Response) -> Response {
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

fn missing(param: &str) -> AadError {
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
    let (tenant_id, app) = {
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
        if form.contains_key("client_assertion") {
            return Err(AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700027,
                "The certificate with identifier used to sign the client assertion is not registered on application. The sandbox supports client secrets only.",
            ));
        }
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
        (t.id.clone(), app.clone())
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
        appidacr: "1".into(),
        azp: app.app_id.clone(),
        idp: issuer,
        idtyp: "app".into(),
        oid: app.service_principal_id.clone(),
        roles: (!app.roles.is_empty()).then(|| app.roles.clone()),
        sub: app.service_principal_id.clone(),
        tid: tenant_id,
        uti: crate::server::okta_id("", 22),
        ver: "1.0".into(),
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
    let body = json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    });
    Ok(with_token_headers(axum::Json(body).into_response()))
}
