//! Delegated sign-in to the Entra tenant with a public client, as an admin signs in to create an app
//! registration: the device code flow (`POST /{tenant}/oauth2/v2.0/devicecode`, approved on
//! `/devicelogin` or through `POST /_sandbox/entra/device-codes/{userCode}`), the authorization code
//! flow with PKCE (`GET /{tenant}/oauth2/v2.0/authorize`: an HTML page to pick a user and Accept or
//! Cancel; its POST redirects to the loopback `redirect_uri`), and the two token grants
//! (`urn:ietf:params:oauth:grant-type:device_code`, `authorization_code`), which issue delegated
//! Graph tokens with `scp`, `wids`, `upn`, `tid` and `oid`.
//!
//! What must stay true: only the public clients in [`PUBLIC_CLIENTS`] sign in (others: AADSTS700016);
//! a public client that sends a secret or assertion gets AADSTS700025; a code is redeemed once, with
//! the same `redirect_uri` and a `code_verifier` whose S256 hash is the `code_challenge`; device codes
//! expire on the sandbox clock; polling faster than `interval` gets `slow_down`; the policies set by
//! `POST /_sandbox/entra/policies` refuse tokens with AADSTS53003 (Conditional Access) or AADSTS90094
//! (consent needs an admin).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::entra::{AadError, Claims, GRAPH_AUDIENCE, missing, with_token_headers};
use crate::server::{Shared, okta_id, parse_form};
use crate::state::{GraphUser, State};

/// Global Administrator (role template id).
pub(crate) const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// Privileged Role Administrator (role template id).
pub(crate) const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
/// The role every member user holds (Entra puts it in `wids` too).
const DEFAULT_MEMBER_ROLE: &str = "b79fbf4d-3ef9-4689-8143-76b194e85509";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Lifetime of a delegated access token (Entra gives 60–90 minutes; the sandbox uses 75).
const DELEGATED_LIFETIME_SECS: i64 = 4500;
/// Lifetime of an authorization code.
const AUTH_CODE_LIFETIME_SECS: i64 = 600;

/// A first-party public client the sandbox knows.
pub(crate) struct PublicClient {
    pub app_id: &'static str,
    pub name: &'static str,
    /// Whether it is preauthorized for Graph's admin scopes (Application.ReadWrite.All, …). Azure CLI
    /// is not: asking for them is AADSTS65002.
    pub admin_scopes: bool,
}

/// Public clients that can sign in.
pub(crate) const PUBLIC_CLIENTS: &[PublicClient] = &[
    PublicClient {
        app_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        name: "Microsoft Graph Command Line Tools",
        admin_scopes: true,
    },
    PublicClient {
        app_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        name: "Microsoft Azure CLI",
        admin_scopes: false,
    },
];

fn public_client(client_id: &str) -> Option<&'static PublicClient> {
    PUBLIC_CLIENTS
        .iter()
        .find(|c| c.app_id.eq_ignore_ascii_case(client_id.trim()))
}

/// Device code settings (`POST /_sandbox/entra/sign-in-settings`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub interval: u64,
    pub expires_in: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            interval: 5,
            expires_in: 900,
        }
    }
}

/// Tenant policies (`POST /_sandbox/entra/policies`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Policies {
    pub conditional_access_blocks_public_clients: bool,
    pub user_consent_blocked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceStatus {
    Pending,
    Approved(String),
    Declined,
    Redeemed,
}

impl DeviceStatus {
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved(_) => "approved",
            DeviceStatus::Declined => "declined",
            DeviceStatus::Redeemed => "redeemed",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct DeviceCode {
    /// SHA-256 of the device code (the value itself is only in the client's hands).
    device_code_hash: String,
    pub user_code: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Sandbox-clock seconds.
    pub expires_at: i64,
    pub interval: u64,
    pub status: DeviceStatus,
    last_poll: Option<Instant>,
}

#[derive(Debug, Clone)]
struct AuthCode {
    code_hash: String,
    client_id: String,
    user_id: String,
    scopes: Vec<String>,
    redirect_uri: String,
    code_challenge: Option<String>,
    expires_at: i64,
}

/// "The next n calls naming an object created since return 404."
#[derive(Debug, Default)]
pub(crate) struct Replication {
    pub remaining: u32,
    /// Lower-case ids (object ids, appIds) of objects created since the delay was set.
    pub fresh: HashSet<String>,
}

/// The delegated sign-in bookkeeping of one server (not tenant data).
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    pub settings: Mutex<Settings>,
    pub policies: Mutex<Policies>,
    pub device_codes: Mutex<Vec<DeviceCode>>,
    auth_codes: Mutex<Vec<AuthCode>>,
    pub replication: Mutex<Replication>,
    /// Graph writes (method, path, status) served so far, for `GET /_sandbox/entra/graph-writes`.
    pub graph_writes: Mutex<Vec<Value>>,
}

impl Runtime {
    /// Records an object just created, so a replication delay can hide it.
    pub(crate) fn created(&self, ids: &[&str]) {
        let mut r = self.replication.lock().expect("replication lock");
        if r.remaining > 0 {
            for id in ids {
                r.fresh.insert(id.to_ascii_lowercase());
            }
        }
    }

    /// True (and one call used up) when the call names a fresh object while calls remain.
    pub(crate) fn not_yet_replicated(&self, named: &[&str]) -> bool {
        let mut r = self.replication.lock().expect("replication lock");
        if r.remaining == 0 {
            return false;
        }
        if named
            .iter()
            .any(|id| r.fresh.contains(&id.to_ascii_lowercase()))
        {
            r.remaining -= 1;
            if r.remaining == 0 {
                r.fresh.clear();
            }
            return true;
        }
        false
    }

    pub(crate) fn record_write(&self, method: &str, path: &str, status: u16) {
        self.graph_writes
            .lock()
            .expect("graph writes lock")
            .push(json!({ "method": method, "path": path, "status": status }));
    }

    /// Approves or declines a pending device code for a user (by UPN); the message on failure.
    pub(crate) fn decide(
        &self,
        st: &State,
        now: i64,
        user_code: &str,
        upn: &str,
        approve: bool,
    ) -> Result<DeviceCode, (StatusCode, String)> {
        let user = find_user(st, upn).ok_or_else(|| {
            (
                StatusCode::BAD_REQUEST,
                format!(
                    "No user {upn:?} in the tenant. Use a user principal name such as admin@contoso-sandbox.onmicrosoft.com."
                ),
            )
        })?;
        if !user.account_enabled {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("The user {upn} is disabled and cannot sign in."),
            ));
        }
        let mut codes = self.device_codes.lock().expect("device code lock");
        let code = codes
            .iter_mut()
            .find(|c| normalize_user_code(&c.user_code) == normalize_user_code(user_code))
            .ok_or_else(|| {
                (
                    StatusCode::NOT_FOUND,
                    format!("No device code {user_code:?}; GET /_sandbox/entra/device-codes lists the pending ones."),
                )
            })?;
        if now >= code.expires_at {
            return Err((
                StatusCode::BAD_REQUEST,
                format!("The code {user_code} expired; start the sign-in again."),
            ));
        }
        if code.status != DeviceStatus::Pending {
            return Err((
                StatusCode::CONFLICT,
                format!("The code {user_code} is already {}.", code.status.as_str()),
            ));
        }
        code.status = if approve {
            DeviceStatus::Approved(user.id.clone())
        } else {
            DeviceStatus::Declined
        };
        Ok(code.clone())
    }
}

fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn find_user<'a>(st: &'a State, upn_or_id: &str) -> Option<&'a GraphUser> {
    st.microsoft.users.iter().find(|u| {
        u.user_principal_name.eq_ignore_ascii_case(upn_or_id.trim())
            || u.id.eq_ignore_ascii_case(upn_or_id.trim())
    })
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device_code))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize_page).post(authorize_decision),
        )
        .route("/devicelogin", get(device_login_page).post(device_login))
}

/// The tenant id for a tenant path segment: its id, a verified domain, `organizations` or `common`.
fn resolve_tenant(st: &State, tenant: &str) -> Option<String> {
    let t = &st.microsoft.tenant;
    let known = ["organizations", "common"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(tenant))
        || t.id.eq_ignore_ascii_case(tenant)
        || t.verified_domains
            .iter()
            .any(|d| d.name.eq_ignore_ascii_case(tenant));
    known.then(|| t.id.clone())
}

fn tenant_not_found(tenant: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        90002,
        format!(
            "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
        ),
    )
}

fn unknown_client(client_id: &str, tenant_name: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        format!(
            "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

/// Graph scopes asked for, as short names (`Application.ReadWrite.All`); OpenID scopes dropped.
fn graph_scopes(scope: &str, client: &PublicClient) -> Result<Vec<String>, AadError> {
    let mut out = Vec::new();
    for s in scope.split_whitespace() {
        if ["openid", "profile", "offline_access", "email"]
            .iter()
            .any(|o| o.eq_ignore_ascii_case(s))
        {
            continue;
        }
        let short = if let Some(rest) = s.strip_prefix("https://graph.microsoft.com/") {
            rest
        } else if let Some(rest) = s.strip_prefix("00000003-0000-0000-c000-000000000000/") {
            rest
        } else if s.contains("://") || s.contains('/') {
            return Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope '{s}' does not exist. The sandbox serves Microsoft Graph scopes only."
                ),
            ));
        } else {
            s
        };
        let short = if short == ".default" {
            "User.Read"
        } else {
            short
        };
        if !out.iter().any(|o: &String| o.eq_ignore_ascii_case(short)) {
            out.push(short.to_owned());
        }
    }
    if !client.admin_scopes && out.iter().any(|s| !s.eq_ignore_ascii_case("User.Read")) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            65002,
            format!(
                "Consent between first party application '{}' and first party resource '00000003-0000-0000-c000-000000000000' must be configured via preauthorization - applications owned and operated by Microsoft must get approval from the API owner before requesting tokens for that API.",
                client.app_id
            ),
        ));
    }
    if out.is_empty() {
        out.push("User.Read".into());
    }
    Ok(out)
}

async fn device_code(
    AxState(shared): AxState<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = parse_form(std::str::from_utf8(&body).unwrap_or(""));
    match start_device_code(&shared, &tenant, &form).await {
        Ok(r) => r,
        Err(e) => e.render(&shared),
    }
}

async fn start_device_code(
    shared: &Shared,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<Response, AadError> {
    let tenant_name = {
        let st = shared.state.read().await;
        resolve_tenant(&st, tenant).ok_or_else(|| tenant_not_found(tenant))?;
        st.microsoft.tenant.display_name.clone()
    };
    let client_id = form
        .get("client_id")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| missing("client_id"))?;
    let client = public_client(client_id).ok_or_else(|| unknown_client(client_id, &tenant_name))?;
    let scope = form
        .get("scope")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| missing("scope"))?;
    let scopes = graph_scopes(scope, client)?;
    let settings = *shared.entra.setup.settings.lock().expect("settings lock");
    let device_code = okta_id("DAQABAAEAAAD", 180);
    let user_code: String = {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        (0..9)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect()
    };
    let now = shared.now().as_second();
    shared
        .entra
        .setup
        .device_codes
        .lock()
        .expect("device code lock")
        .push(DeviceCode {
            device_code_hash: crate::state::sha256_hex(&device_code),
            user_code: user_code.clone(),
            client_id: client.app_id.to_owned(),
            scopes,
            expires_at: now + settings.expires_in,
            interval: settings.interval,
            status: DeviceStatus::Pending,
            last_poll: None,
        });
    let verification_uri = shared.url("/devicelogin");
    let body = json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification_uri,
        "expires_in": settings.expires_in,
        "interval": settings.interval,
        "message": format!("To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."),
    });
    Ok(with_token_headers(axum::Json(body).into_response()))
}

/// True for the grants this module serves.
pub(crate) fn is_delegated_grant(grant: Option<&str>) -> bool {
    matches!(grant, Some(DEVICE_CODE_GRANT) | Some("authorization_code"))
}

/// `POST /{tenant}/oauth2/v2.0/token` for the device code and authorization code grants.
pub(crate) async fn token(
    shared: &Shared,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Response {
    match redeem(shared, tenant, form).await {
        Ok(r) => r,
        Err(e) => e.render(shared),
    }
}

fn device_error(error: &'static str, code: u32, message: &str) -> AadError {
    AadError::new(StatusCode::BAD_REQUEST, error, code, message)
}

async fn redeem(
    shared: &Shared,
    tenant: &str,
    form: &HashMap<String, String>,
) -> Result<Response, AadError> {
    let now = shared.now().as_second();
    let tenant_name = {
        let st = shared.state.read().await;
        resolve_tenant(&st, tenant).ok_or_else(|| tenant_not_found(tenant))?;
        st.microsoft.tenant.display_name.clone()
    };
    let client_id = form
        .get("client_id")
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| missing("client_id"))?;
    let client = public_client(client_id).ok_or_else(|| unknown_client(client_id, &tenant_name))?;
    if form.contains_key("client_secret") || form.contains_key("client_assertion") {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    let (user_id, scopes) = if form.get("grant_type").map(String::as_str) == Some(DEVICE_CODE_GRANT)
    {
        let code = form
            .get("device_code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("device_code"))?;
        let hash = crate::state::sha256_hex(code);
        let mut codes = shared
            .entra
            .setup
            .device_codes
            .lock()
            .expect("device code lock");
        let Some(dc) = codes.iter_mut().find(|c| {
            c.device_code_hash == hash && c.client_id.eq_ignore_ascii_case(client.app_id)
        }) else {
            return Err(device_error(
                "bad_verification_code",
                70018,
                "The device_code sent to the token endpoint wasn't recognized.",
            ));
        };
        if now >= dc.expires_at && !matches!(dc.status, DeviceStatus::Approved(_)) {
            return Err(device_error(
                "expired_token",
                70019,
                "Verification code expired. Have the user retry the sign-in.",
            ));
        }
        let too_soon = dc
            .last_poll
            .is_some_and(|last| last.elapsed().as_millis() + 100 < u128::from(dc.interval) * 1000);
        dc.last_poll = Some(Instant::now());
        match &dc.status {
            DeviceStatus::Declined => {
                return Err(device_error(
                    "authorization_declined",
                    65004,
                    "User declined to consent to access the app.",
                ));
            }
            DeviceStatus::Redeemed => {
                return Err(device_error(
                    "invalid_grant",
                    70000,
                    "The provided value for the 'device_code' is not valid. It was already redeemed.",
                ));
            }
            DeviceStatus::Pending if too_soon => {
                return Err(device_error(
                    "slow_down",
                    70016,
                    "OAuth 2.0 device flow error. Polling faster than the interval; slow down.",
                ));
            }
            DeviceStatus::Pending => {
                return Err(device_error(
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                ));
            }
            DeviceStatus::Approved(user) => {
                let user = user.clone();
                dc.status = DeviceStatus::Redeemed;
                (user, dc.scopes.clone())
            }
        }
    } else {
        let code = form
            .get("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| missing("code"))?;
        let redirect_uri = form
            .get("redirect_uri")
            .ok_or_else(|| missing("redirect_uri"))?;
        let hash = crate::state::sha256_hex(code);
        let found = {
            let mut codes = shared
                .entra
                .setup
                .auth_codes
                .lock()
                .expect("auth code lock");
            let at = codes.iter().position(|c| c.code_hash == hash);
            at.map(|i| codes.remove(i))
        };
        let invalid_grant =
            |code: u32, m: &str| AadError::new(StatusCode::BAD_REQUEST, "invalid_grant", code, m);
        let Some(ac) = found else {
            return Err(invalid_grant(
                70000,
                "The provided authorization code is invalid or was already redeemed. Sign in again.",
            ));
        };
        if now >= ac.expires_at {
            return Err(invalid_grant(
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            ));
        }
        if !ac.client_id.eq_ignore_ascii_case(client.app_id) {
            return Err(invalid_grant(
                70000,
                "The provided authorization code was issued to another client.",
            ));
        }
        if ac.redirect_uri != *redirect_uri {
            return Err(invalid_grant(
                50148,
                "The redirect_uri does not match the one of the authorization request.",
            ));
        }
        if let Some(challenge) = &ac.code_challenge {
            let Some(verifier) = form.get("code_verifier").filter(|v| !v.is_empty()) else {
                return Err(invalid_grant(
                    50148,
                    "The code_verifier is missing; the authorization request carried a code_challenge.",
                ));
            };
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != *challenge {
                return Err(invalid_grant(
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
                ));
            }
        }
        (ac.user_id, ac.scopes)
    };
    issue_delegated(shared, client, &user_id, &scopes).await
}

async fn issue_delegated(
    shared: &Shared,
    client: &PublicClient,
    user_id: &str,
    scopes: &[String],
) -> Result<Response, AadError> {
    let policies = *shared.entra.setup.policies.lock().expect("policies lock");
    let (tenant_id, user) = {
        let st = shared.state.read().await;
        let user = find_user(&st, user_id).cloned().ok_or_else(|| {
            AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                50034,
                "The user account does not exist in the directory.",
            )
        })?;
        (st.microsoft.tenant.id.clone(), user)
    };
    if policies.conditional_access_blocks_public_clients {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            53003,
            format!(
                "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance for the application '{}'.",
                client.name
            ),
        ));
    }
    let is_admin = user.directory_roles.iter().any(|r| {
        r.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR)
            || r.eq_ignore_ascii_case(PRIVILEGED_ROLE_ADMINISTRATOR)
    });
    if policies.user_consent_blocked && !is_admin {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            90094,
            format!(
                "The grant requires admin permission. {} needs permission to access resources in your organization that only an admin can grant.",
                client.name
            ),
        ));
    }
    let keys = crate::entra::keys(shared).await.map_err(|e| {
        AadError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            e.to_string(),
        )
    })?;
    let iat = shared.now().as_second();
    let issuer = format!("https://sts.windows.net/{tenant_id}/");
    let mut wids = user.directory_roles.clone();
    if user.user_type == "Member" {
        wids.push(DEFAULT_MEMBER_ROLE.to_owned());
    }
    let claims = Claims {
        aud: GRAPH_AUDIENCE.into(),
        iss: issuer.clone(),
        iat,
        nbf: iat,
        exp: iat + DELEGATED_LIFETIME_SECS,
        app_displayname: client.name.into(),
        appid: client.app_id.into(),
        appidacr: "0".into(),
        azp: client.app_id.into(),
        idp: issuer,
        idtyp: "user".into(),
        oid: user.id.clone(),
        roles: None,
        sub: okta_id("", 43),
        tid: tenant_id,
        uti: okta_id("", 22),
        ver: "1.0".into(),
        scp: Some(scopes.join(" ")),
        wids: Some(wids),
        upn: Some(user.user_principal_name.clone()),
        name: Some(user.display_name.clone()),
    };
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(crate::entra::kid(&keys));
    let access_token = jsonwebtoken::encode(&header, &claims, crate::entra::encoding(&keys))
        .map_err(|e| {
            AadError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                50000,
                e.to_string(),
            )
        })?;
    let scope = scopes
        .iter()
        .map(|s| format!("https://graph.microsoft.com/{s}"))
        .collect::<Vec<_>>()
        .join(" ");
    let body = json!({
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": DELEGATED_LIFETIME_SECS,
        "ext_expires_in": DELEGATED_LIFETIME_SECS,
        "access_token": access_token,
    });
    Ok(with_token_headers(axum::Json(body).into_response()))
}

// ---------------------------------------------------------------------------------------------------
// Authorization code + PKCE

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn error_page(status: StatusCode, code: u32, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in - sandbox</title></head><body>\
         <h1>Sorry, but we're having trouble signing you in.</h1>\
         <p id=\"error\">AADSTS{code}: {}</p></body></html>",
        html_escape(message)
    );
    (status, Html(body)).into_response()
}

/// A `redirect_uri` the sandbox redirects to: loopback http only (native apps' redirect).
fn loopback_redirect(uri: &str) -> Option<url::Url> {
    let url = url::Url::parse(uri).ok()?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    (url.scheme() == "http" && loopback).then_some(url)
}

/// Checks an authorization request; returns the client, its scopes and the redirect URL.
async fn check_authorize(
    shared: &Shared,
    tenant: &str,
    q: &HashMap<String, String>,
) -> Result<(&'static PublicClient, Vec<String>, url::Url), Response> {
    let tenant_name = {
        let st = shared.state.read().await;
        if resolve_tenant(&st, tenant).is_none() {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                90002,
                &format!("Tenant '{tenant}' not found."),
            ));
        }
        st.microsoft.tenant.display_name.clone()
    };
    let client_id = q.get("client_id").map(String::as_str).unwrap_or("");
    let Some(client) = public_client(client_id) else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'."
            ),
        ));
    };
    let redirect = q.get("redirect_uri").map(String::as_str).unwrap_or("");
    let Some(redirect) = loopback_redirect(redirect) else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            50011,
            &format!(
                "The redirect URI '{redirect}' specified in the request does not match the redirect URIs configured for the application '{}'. The sandbox accepts http://127.0.0.1:PORT/ or http://localhost:PORT/.",
                client.app_id
            ),
        ));
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            900144,
            "The request body must contain the following parameter: 'response_type' (code).",
        ));
    }
    if q.contains_key("code_challenge")
        && q.get("code_challenge_method").map(String::as_str) != Some("S256")
    {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            5000,
            "The sandbox accepts code_challenge_method=S256 only.",
        ));
    }
    let scopes = graph_scopes(q.get("scope").map(String::as_str).unwrap_or(""), client)
        .map_err(|_| {
            error_page(
                StatusCode::BAD_REQUEST,
                65002,
                &format!(
                    "Consent between first party application '{}' and first party resource '00000003-0000-0000-c000-000000000000' must be configured via preauthorization.",
                    client.app_id
                ),
            )
        })?;
    Ok((client, scopes, redirect))
}

async fn authorize_page(
    AxState(shared): AxState<Arc<Shared>>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let q = parse_form(query.as_deref().unwrap_or(""));
    let (client, scopes, _) = match check_authorize(&shared, &tenant, &q).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let st = shared.state.read().await;
    let mut hidden = String::new();
    for key in [
        "client_id",
        "response_type",
        "redirect_uri",
        "response_mode",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ] {
        if let Some(v) = q.get(key) {
            hidden.push_str(&format!(
                "<input type=\"hidden\" name=\"{key}\" value=\"{}\">",
                html_escape(v)
            ));
        }
    }
    let mut users = String::new();
    for (i, u) in st
        .microsoft
        .users
        .iter()
        .filter(|u| u.account_enabled && u.user_type == "Member")
        .enumerate()
    {
        users.push_str(&format!(
            "<label><input type=\"radio\" name=\"user\" value=\"{}\"{}> {} ({})</label><br>",
            html_escape(&u.user_principal_name),
            if i == 0 { " checked" } else { "" },
            html_escape(&u.display_name),
            html_escape(&u.user_principal_name)
        ));
    }
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in - {tenant_name} (sandbox)</title></head><body>\
         <h1>Sign in to {tenant_name}</h1>\
         <p><b>{client}</b> wants to: {scopes}</p>\
         <form method=\"post\">{hidden}<fieldset><legend>Pick an account</legend>{users}</fieldset>\
         <button type=\"submit\" name=\"decision\" value=\"accept\" id=\"accept\">Accept</button> \
         <button type=\"submit\" name=\"decision\" value=\"cancel\" id=\"cancel\">Cancel</button></form></body></html>",
        tenant_name = html_escape(&st.microsoft.tenant.display_name),
        client = html_escape(client.name),
        scopes = html_escape(&scopes.join(", ")),
    );
    Html(body).into_response()
}

fn redirect_to(mut url: url::Url, pairs: &[(&str, &str)]) -> Response {
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        r.headers_mut().insert("location", v);
    }
    r
}

async fn authorize_decision(
    AxState(shared): AxState<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = parse_form(std::str::from_utf8(&body).unwrap_or(""));
    let (client, scopes, redirect) = match check_authorize(&shared, &tenant, &form).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let state = form.get("state").cloned().unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if form.get("decision").map(String::as_str) != Some("accept") {
        pairs.push(("error", "access_denied"));
        pairs.push((
            "error_description",
            "AADSTS65004: User declined to consent to access the app.",
        ));
        if !state.is_empty() {
            pairs.push(("state", &state));
        }
        return redirect_to(redirect, &pairs);
    }
    let upn = form.get("user").cloned().unwrap_or_default();
    let user = {
        let st = shared.state.read().await;
        find_user(&st, &upn).cloned()
    };
    let Some(user) = user.filter(|u| u.account_enabled) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            50034,
            &format!("The user account {upn} does not exist in the directory or is disabled."),
        );
    };
    let code = okta_id("1.AQ", 120);
    shared
        .entra
        .setup
        .auth_codes
        .lock()
        .expect("auth code lock")
        .push(AuthCode {
            code_hash: crate::state::sha256_hex(&code),
            client_id: client.app_id.to_owned(),
            user_id: user.id,
            scopes,
            redirect_uri: form.get("redirect_uri").cloned().unwrap_or_default(),
            code_challenge: form.get("code_challenge").cloned(),
            expires_at: shared.now().as_second() + AUTH_CODE_LIFETIME_SECS,
        });
    pairs.push(("code", &code));
    if !state.is_empty() {
        pairs.push(("state", &state));
    }
    pairs.push(("session_state", "sandbox"));
    redirect_to(redirect, &pairs)
}

// ---------------------------------------------------------------------------------------------------
// /devicelogin: where a person enters the user code

async fn device_login_page(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let st = shared.state.read().await;
    let users: String = st
        .microsoft
        .users
        .iter()
        .filter(|u| u.account_enabled && u.user_type == "Member")
        .map(|u| {
            format!(
                "<option value=\"{0}\">{1} ({0})</option>",
                html_escape(&u.user_principal_name),
                html_escape(&u.display_name)
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Enter code - sandbox</title></head><body>\
         <h1>Enter code</h1><form method=\"post\"><label>Code <input name=\"code\" autofocus></label><br>\
         <label>Account <select name=\"user\">{users}</select></label><br>\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Continue</button> \
         <button type=\"submit\" name=\"decision\" value=\"decline\">Cancel</button></form></body></html>"
    ))
    .into_response()
}

async fn device_login(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let form = parse_form(std::str::from_utf8(&body).unwrap_or(""));
    let approve = form.get("decision").map(String::as_str) == Some("approve");
    let now = shared.now().as_second();
    let st = shared.state.read().await;
    match shared.entra.setup.decide(
        &st,
        now,
        form.get("code").map(String::as_str).unwrap_or(""),
        form.get("user").map(String::as_str).unwrap_or(""),
        approve,
    ) {
        Ok(code) => Html(format!(
            "<!doctype html><html><body><h1>{}</h1><p>You can close this window.</p></body></html>",
            if code.status == DeviceStatus::Declined {
                "Sign-in cancelled"
            } else {
                "You have signed in"
            }
        ))
        .into_response(),
        Err((status, message)) => error_page(status, 70018, &message),
    }
}
