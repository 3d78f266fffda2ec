//! Okta apps, scope grants and admin roles: what an admin's API token needs to create an API service
//! app for okta365 (docs/setup.md, "Create the Okta API service app for the admin").
//!
//! | request | Okta's answer |
//! |---|---|
//! | `GET /api/v1/users/{id}/roles` | the user's standard admin roles (`assignmentType: USER`) |
//! | `POST /api/v1/apps` | an `OPENID_CONNECT` API service app (`application_type: service`, `client_credentials`, `private_key_jwt`, `jwks`), 200 |
//! | `GET /api/v1/apps?q=&limit=&after=` | apps whose `label` or `name` starts with `q`, paged by `link` headers |
//! | `GET /api/v1/apps/{id}` | one app |
//! | `GET`/`POST /api/v1/apps/{id}/credentials/jwks` | its public keys; adding one answers 201 |
//! | `GET`/`POST /api/v1/apps/{id}/grants` | its Okta API scope grants; granting answers 201 and needs a super admin |
//! | `GET`/`POST /oauth2/v1/clients/{clientId}/roles` | the app's admin roles; assigning answers 200 and needs a super admin |
//!
//! What must stay true:
//! - An app created here *is* a [`ServiceApp`] of [`okta_oauth`](crate::okta_oauth): its id is its
//!   `client_id` (as Okta does for OIDC apps), its grants are the app's `scopes` and its client roles
//!   its `admin_roles`, so the token endpoint issues exactly what was granted and API calls need a role.
//! - API tokens act with their admin's roles: the demo token and `SUPER_ADMIN` tokens belong to the
//!   seed's super admin; a token minted for another role belongs to a seeded user holding that role. A
//!   read-only admin's token cannot write anything.
//! - Ids that Okta derives (grant, role assignment and key ids of apps made through the control
//!   endpoint) are derived from what they identify, so they are stable across calls.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::okta::{OktaError, Principal, Query, find_user, paginate, parse_limit, token_owner};
use crate::okta_oauth::{
    ADMIN_ROLES, READ_ONLY_ROLES, ServiceApp, check_public_jwk, jwk_thumbprint, parse_jwks,
};
use crate::server::{Shared, okta_id, okta_time};
use crate::state::{ApiToken, LogEvent, OktaUser, State, sha256_hex};

/// Okta keeps at most this many public keys on a client.
const MAX_KEYS: usize = 50;

// ---------------------------------------------------------------------------------------------------
// State

/// Admin roles held by users and the owners of API tokens.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminState {
    /// Standard admin roles assigned to users. The seed's super admin holds `SUPER_ADMIN` without a row.
    #[serde(default)]
    pub user_roles: Vec<UserRole>,
    /// API token id → the id of the admin user who made it. Tokens not listed (the demo token) belong
    /// to the seed's super admin.
    #[serde(default)]
    pub token_owners: BTreeMap<String, String>,
}

/// One standard role assigned to a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserRole {
    pub user_id: String,
    pub role: String,
    pub created: String,
}

/// A stable Okta-looking id: `prefix` and characters derived from `parts`.
fn derived_id(prefix: &str, parts: &[&str]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let digest = Sha256::digest(parts.join("\u{1f}").as_bytes());
    let mut id = prefix.to_owned();
    for b in digest.iter() {
        if id.len() >= 20 {
            break;
        }
        id.push(ALPHABET[*b as usize % ALPHABET.len()] as char);
    }
    id
}

/// The admin user an API token acts as.
pub(crate) fn token_user<'a>(
    shared: &Shared,
    st: &'a State,
    token_id: &str,
) -> Option<&'a OktaUser> {
    match st.okta.admin.token_owners.get(token_id) {
        Some(user_id) => st.okta.users.iter().find(|u| &u.id == user_id),
        None => token_owner(shared, st),
    }
}

/// A user's standard admin roles with when each was assigned.
fn user_roles(shared: &Shared, st: &State, user_id: &str) -> Vec<(String, String)> {
    let mut roles = Vec::new();
    if let Some(owner) = token_owner(shared, st)
        && owner.id == user_id
    {
        roles.push(("SUPER_ADMIN".to_owned(), owner.created.clone()));
    }
    for r in st
        .okta
        .admin
        .user_roles
        .iter()
        .filter(|r| r.user_id == user_id)
    {
        if !roles.iter().any(|(role, _)| *role == r.role) {
            roles.push((r.role.clone(), r.created.clone()));
        }
    }
    roles
}

/// The admin roles the caller acts with.
fn caller_roles(shared: &Shared, st: &State, who: &Principal) -> Vec<String> {
    match who {
        Principal::ApiToken { id, .. } => token_user(shared, st, id)
            .map(|u| {
                user_roles(shared, st, &u.id)
                    .into_iter()
                    .map(|(r, _)| r)
                    .collect()
            })
            .unwrap_or_default(),
        Principal::ServiceApp { client_id, .. } => st
            .okta
            .oauth
            .service_apps
            .iter()
            .find(|a| &a.client_id == client_id)
            .map(|a| a.admin_roles.clone())
            .unwrap_or_default(),
    }
}

/// 403 E0000006 unless the caller holds one of `allowed` (a super admin may do anything).
fn require_role(
    shared: &Shared,
    st: &State,
    who: &Principal,
    allowed: &[&str],
) -> Result<(), OktaError> {
    let roles = caller_roles(shared, st, who);
    if roles
        .iter()
        .any(|r| r == "SUPER_ADMIN" || allowed.contains(&r.as_str()))
    {
        Ok(())
    } else {
        Err(OktaError::access_denied())
    }
}

/// Refuses a write by an API token whose admin holds only read-only roles (403 E0000006), as Okta does.
pub(crate) fn check_api_token_write(
    shared: &Shared,
    st: &State,
    who: &Principal,
    method: &Method,
) -> Result<(), OktaError> {
    if *method == Method::GET || *method == Method::HEAD {
        return Ok(());
    }
    let roles = caller_roles(shared, st, who);
    if roles.iter().any(|r| !READ_ONLY_ROLES.contains(&r.as_str())) {
        Ok(())
    } else {
        Err(OktaError::access_denied())
    }
}

/// The OAuth scope an endpoint of this module needs (`*.manage` also satisfies `*.read`), and whether
/// it writes; `None` for other endpoints.
pub(crate) fn required_scope(write: bool, path: &str) -> Option<(&'static str, bool)> {
    let pick = |read: &'static str, manage: &'static str| {
        Some(if write { (manage, true) } else { (read, false) })
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["api", "v1", "apps", _, "grants", ..] => {
            pick("okta.appGrants.read", "okta.appGrants.manage")
        }
        ["api", "v1", "apps", ..] => pick("okta.apps.read", "okta.apps.manage"),
        ["oauth2", "v1", "clients", _, "roles", ..] | ["api", "v1", "users", _, "roles", ..] => {
            pick("okta.roles.read", "okta.roles.manage")
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------
// Routes

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users/{id}/roles", get(list_user_roles))
        .route("/api/v1/apps", get(list_apps).post(create_app))
        .route("/api/v1/apps/{id}", get(get_app))
        .route(
            "/api/v1/apps/{id}/credentials/jwks",
            get(list_keys).post(add_key),
        )
        .route("/api/v1/apps/{id}/grants", get(list_grants).post(grant))
        .route(
            "/oauth2/v1/clients/{client_id}/roles",
            get(list_client_roles).post(assign_client_role),
        )
}

pub(crate) fn control_router() -> Router<Arc<Shared>> {
    Router::new().route("/okta/api-tokens", post(mint_api_token))
}

// ---------------------------------------------------------------------------------------------------
// Rendering

fn role_label(role: &str) -> &'static str {
    match role {
        "SUPER_ADMIN" => "Super Administrator",
        "ORG_ADMIN" => "Organization Administrator",
        "APP_ADMIN" => "Application Administrator",
        "USER_ADMIN" => "User Administrator",
        "GROUP_MEMBERSHIP_ADMIN" => "Group Membership Administrator",
        "HELP_DESK_ADMIN" => "Help Desk Administrator",
        "READ_ONLY_ADMIN" => "Read-only Administrator",
        "MOBILE_ADMIN" => "Mobile Administrator",
        "API_ACCESS_MANAGEMENT_ADMIN" => "API Access Management Administrator",
        "REPORT_ADMIN" => "Report Administrator",
        _ => "Administrator",
    }
}

fn render_role(id: &str, role: &str, created: &str, kind: &str, assignee: String) -> Value {
    json!({
        "id": id,
        "label": role_label(role),
        "type": role,
        "status": "ACTIVE",
        "created": created,
        "lastUpdated": created,
        "assignmentType": kind,
        "_links": { "assignee": { "href": assignee } },
    })
}

fn render_client_role(shared: &Shared, app: &ServiceApp, role: &str) -> Value {
    render_role(
        &derived_id("ra1", &[&app.client_id, role]),
        role,
        &app.created,
        "CLIENT",
        shared.url(&format!("/oauth2/v1/clients/{}/roles", app.client_id)),
    )
}

/// A public key as Okta lists it: with its `id`, `status` and dates (kept in the stored JWK when it was
/// added through the API, derived otherwise).
fn render_key(shared: &Shared, app: &ServiceApp, jwk: &Value) -> Value {
    let mut key = jwk.clone();
    let thumbprint = jwk_thumbprint(jwk).unwrap_or_default();
    let id = jwk
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| derived_id("pks", &[&app.client_id, &thumbprint]));
    for (k, default) in [
        ("status", json!("ACTIVE")),
        ("created", json!(app.created)),
        ("lastUpdated", json!(app.created)),
    ] {
        if key.get(k).is_none() {
            key[k] = default;
        }
    }
    key["id"] = json!(id);
    key["_links"] = json!({ "deactivate": {
        "href": shared.url(&format!("/api/v1/apps/{}/credentials/jwks/{id}/lifecycle/deactivate", app.client_id)),
        "hints": { "allow": ["POST"] },
    }});
    key
}

fn org_issuer(shared: &Shared) -> String {
    shared.base.as_str().trim_end_matches('/').to_owned()
}

fn render_grant(shared: &Shared, app: &ServiceApp, scope: &str) -> Value {
    let id = derived_id("oag", &[&app.client_id, scope]);
    json!({
        "id": id,
        "status": "ACTIVE",
        "created": app.created,
        "lastUpdated": app.created,
        "issuer": org_issuer(shared),
        "clientId": app.client_id,
        "scopeId": scope,
        "source": "ADMIN",
        "_embedded": { "scope": { "id": scope } },
        "_links": {
            "app": { "href": shared.url(&format!("/api/v1/apps/{}", app.client_id)), "title": app.name },
            "self": {
                "href": shared.url(&format!("/api/v1/apps/{}/grants/{id}", app.client_id)),
                "hints": { "allow": ["GET", "DELETE"] },
            },
            "client": { "href": shared.url(&format!("/oauth2/v1/clients/{}", app.client_id)), "title": app.name },
        },
    })
}

/// An API service app as an Okta `OpenIdConnectApplication`.
fn render_app(shared: &Shared, app: &ServiceApp) -> Value {
    let href = shared.url(&format!("/api/v1/apps/{}", app.client_id));
    let keys: Vec<Value> = app
        .jwks
        .iter()
        .map(|k| render_key(shared, app, k))
        .collect();
    json!({
        "id": app.client_id,
        "name": "oidc_client",
        "label": app.name,
        "status": "ACTIVE",
        "created": app.created,
        "lastUpdated": app.created,
        "signOnMode": "OPENID_CONNECT",
        "features": [],
        "accessibility": { "selfService": false },
        "visibility": {
            "autoLaunch": false,
            "autoSubmitToolbar": false,
            "hide": { "iOS": true, "web": true },
            "appLinks": { "oidc_client_link": true },
        },
        "credentials": {
            "userNameTemplate": { "template": "${source.login}", "type": "BUILT_IN" },
            "signing": {},
            "oauthClient": {
                "autoKeyRotation": true,
                "client_id": app.client_id,
                "token_endpoint_auth_method": "private_key_jwt",
                "pkce_required": false,
            },
        },
        "settings": {
            "app": {},
            "implicitAssignment": false,
            "oauthClient": {
                "redirect_uris": [],
                "response_types": ["token"],
                "grant_types": ["client_credentials"],
                "application_type": "service",
                "issuer_mode": "ORG_URL",
                "dpop_bound_access_tokens": app.dpop_bound,
                "jwks": { "keys": keys },
            },
        },
        "_links": {
            "appLinks": [],
            "groups": { "href": format!("{href}/groups") },
            "users": { "href": format!("{href}/users") },
            "logo": [{ "name": "medium", "href": shared.url("/assets/img/logos/default.png"), "type": "image/png" }],
            "deactivate": { "href": format!("{href}/lifecycle/deactivate") },
        },
    })
}

fn app_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "AppInstance")
}

fn find_app<'a>(st: &'a State, id: &str) -> Result<&'a ServiceApp, OktaError> {
    st.okta
        .oauth
        .service_apps
        .iter()
        .find(|a| a.client_id == id)
        .ok_or_else(|| app_not_found(id))
}

/// A System Log event about an app, by the caller.
fn app_event(
    shared: &Shared,
    who: &Principal,
    app: &ServiceApp,
    event_type: &str,
    message: String,
) -> LogEvent {
    LogEvent {
        uuid: uuid::Uuid::new_v4().to_string(),
        published: okta_time(shared.now()),
        event_type: event_type.into(),
        display_message: message,
        severity: "INFO".into(),
        actor: who.actor(),
        target: vec![
            json!({ "id": app.client_id, "type": "AppInstance", "alternateId": app.name, "displayName": app.name }),
        ],
        outcome: json!({ "result": "SUCCESS", "reason": Value::Null }),
        transaction: json!({ "type": "WEB", "id": okta_id("", 27) }),
    }
}

fn malformed() -> OktaError {
    OktaError::new(
        StatusCode::BAD_REQUEST,
        "E0000003",
        "The request body was not well-formed.",
    )
}

// ---------------------------------------------------------------------------------------------------
// Users' roles

async fn list_user_roles(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let user = find_user(&st, &id).ok_or_else(|| OktaError::not_found(&id, "User"))?;
    let assignee = shared.url(&format!("/api/v1/users/{}", user.id));
    let roles: Vec<Value> = user_roles(&shared, &st, &user.id)
        .into_iter()
        .map(|(role, created)| {
            render_role(
                &derived_id("ra1", &[&user.id, &role]),
                &role,
                &created,
                "USER",
                assignee.clone(),
            )
        })
        .collect();
    Ok(axum::Json(roles).into_response())
}

/// Any admin may read; a caller without a role gets 403.
fn require_any_admin(shared: &Shared, st: &State, who: &Principal) -> Result<(), OktaError> {
    if caller_roles(shared, st, who).is_empty() {
        Err(OktaError::access_denied())
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------
// Apps

async fn list_apps(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    query: Query,
) -> Result<Response, OktaError> {
    let limit = parse_limit(&query.map, 20, 200)?;
    if query.map.contains_key("filter") {
        return Err(OktaError::validation(
            "filter",
            "filter: the sandbox lists apps by q (a prefix of the label or name) only",
        ));
    }
    let q = query.map.get("q").map(|q| q.to_lowercase());
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let mut apps: Vec<(String, Value)> = st
        .okta
        .oauth
        .service_apps
        .iter()
        .filter(|a| {
            q.as_ref().is_none_or(|q| {
                a.name.to_lowercase().starts_with(q.as_str())
                    || "oidc_client".starts_with(q.as_str())
            })
        })
        .map(|a| (a.client_id.clone(), render_app(&shared, a)))
        .collect();
    apps.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(paginate(
        &shared,
        "/api/v1/apps",
        query.raw.as_deref(),
        &query.map,
        apps,
        limit,
    )
    .into_response())
}

async fn get_app(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let app = find_app(&st, &id)?;
    Ok(axum::Json(render_app(&shared, app)).into_response())
}

/// What `POST /api/v1/apps` asks for, once checked.
struct NewApp {
    label: String,
    dpop_bound: bool,
    jwks: Vec<Value>,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Checks a create request: the sandbox makes OIDC API service apps with `private_key_jwt` only, and
/// says so when asked for anything else.
fn parse_new_app(body: &Value) -> Result<NewApp, OktaError> {
    match str_at(body, "/signOnMode") {
        Some("OPENID_CONNECT") => {}
        None => {
            return Err(OktaError::validation(
                "signOnMode",
                "signOnMode: The field cannot be left blank",
            ));
        }
        Some(other) => {
            return Err(OktaError::validation(
                "signOnMode",
                format!(
                    "signOnMode: the sandbox creates OPENID_CONNECT API service apps only, not {other}"
                ),
            ));
        }
    }
    let label = str_at(body, "/label").map(str::trim).unwrap_or("");
    if label.is_empty() {
        return Err(OktaError::validation(
            "label",
            "label: The field cannot be left blank",
        ));
    }
    if label.chars().count() > 100 {
        return Err(OktaError::validation(
            "label",
            "label: The field is too long (100 characters at most)",
        ));
    }
    if let Some(name) = str_at(body, "/name")
        && name != "oidc_client"
    {
        return Err(OktaError::validation(
            "name",
            format!("name: an OPENID_CONNECT app is named oidc_client, not {name}"),
        ));
    }
    let client = body.pointer("/settings/oauthClient");
    let Some(client) = client.filter(|c| c.is_object()) else {
        return Err(OktaError::validation(
            "settings.oauthClient",
            "settings.oauthClient: The field cannot be left blank",
        ));
    };
    match str_at(client, "/application_type") {
        Some("service") => {}
        other => {
            return Err(OktaError::validation(
                "application_type",
                format!(
                    "application_type: the sandbox creates API service apps (service), not {}",
                    other.unwrap_or("none")
                ),
            ));
        }
    }
    let grants: Vec<&str> = client
        .get("grant_types")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if grants != ["client_credentials"] {
        return Err(OktaError::validation(
            "grant_types",
            "grant_types: an API service app takes exactly [\"client_credentials\"]",
        ));
    }
    match str_at(body, "/credentials/oauthClient/token_endpoint_auth_method") {
        Some("private_key_jwt") => {}
        other => {
            return Err(OktaError::validation(
                "token_endpoint_auth_method",
                format!(
                    "token_endpoint_auth_method: Okta API service apps authenticate with private_key_jwt, not {}",
                    other.unwrap_or("client_secret_basic (the default)")
                ),
            ));
        }
    }
    let jwks = match client.get("jwks") {
        Some(j) => {
            parse_jwks(j).map_err(|e| OktaError::validation("jwks", format!("jwks: {e}")))?
        }
        None => {
            return Err(OktaError::validation(
                "jwks",
                "jwks: private_key_jwt needs the app's public keys (settings.oauthClient.jwks)",
            ));
        }
    };
    check_unique_kids(&jwks)?;
    let dpop_bound = match client.get("dpop_bound_access_tokens") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(OktaError::validation(
                "dpop_bound_access_tokens",
                "dpop_bound_access_tokens: Must be true or false",
            ));
        }
    };
    Ok(NewApp {
        label: label.to_owned(),
        dpop_bound,
        jwks,
    })
}

fn check_unique_kids(keys: &[Value]) -> Result<(), OktaError> {
    let mut seen = std::collections::HashSet::new();
    for k in keys {
        if let Some(kid) = k.get("kid").and_then(Value::as_str)
            && !seen.insert(kid)
        {
            return Err(OktaError::validation(
                "jwks",
                format!("jwks: Each key must have a unique 'kid'; {kid} appears twice"),
            ));
        }
    }
    Ok(())
}

async fn create_app(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    {
        let st = shared.state.read().await;
        require_role(&shared, &st, &who, &["APP_ADMIN"])?;
    }
    let new = parse_new_app(&body)?;
    let created = okta_time(shared.now());
    let app = ServiceApp {
        client_id: okta_id("0oa", 20),
        name: new.label,
        jwks: new
            .jwks
            .into_iter()
            .map(|mut k| {
                k["status"] = json!("ACTIVE");
                k["created"] = json!(created);
                k["lastUpdated"] = json!(created);
                k["id"] = json!(okta_id("pks", 20));
                k
            })
            .collect(),
        scopes: Vec::new(),
        admin_roles: Vec::new(),
        dpop_bound: new.dpop_bound,
        created,
    };
    let event = app_event(
        &shared,
        &who,
        &app,
        "application.lifecycle.create",
        "Create application".into(),
    );
    shared
        .mutate(|st| {
            st.okta.oauth.service_apps.push(app.clone());
            st.okta.events.push(event);
            Ok::<_, OktaError>(())
        })
        .await??;
    Ok(axum::Json(render_app(&shared, &app)).into_response())
}

// ---------------------------------------------------------------------------------------------------
// Keys

async fn list_keys(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let app = find_app(&st, &id)?;
    let keys: Vec<Value> = app
        .jwks
        .iter()
        .map(|k| render_key(&shared, app, k))
        .collect();
    Ok(axum::Json(keys).into_response())
}

async fn add_key(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    let mut jwk = match body {
        Value::Object(mut o) => {
            // Read-only members a client may echo back are not part of the key.
            for k in ["id", "created", "lastUpdated", "_links"] {
                o.remove(k);
            }
            Value::Object(o)
        }
        _ => return Err(malformed()),
    };
    check_public_jwk(&jwk).map_err(|e| OktaError::validation("jwks", format!("key: {e}")))?;
    let kid = jwk
        .get("kid")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            OktaError::validation("kid", "kid: a key added to a client needs a 'kid'")
        })?;
    match jwk.get("status").and_then(Value::as_str) {
        None | Some("ACTIVE") => {}
        Some(other) => {
            return Err(OktaError::validation(
                "status",
                format!("status: the sandbox adds ACTIVE keys only, not {other}"),
            ));
        }
    }
    let now = okta_time(shared.now());
    jwk["status"] = json!("ACTIVE");
    jwk["created"] = json!(now);
    jwk["lastUpdated"] = json!(now);
    jwk["id"] = json!(okta_id("pks", 20));
    let (app, key) = shared
        .mutate(|st| {
            require_role(&shared, st, &who, &["APP_ADMIN"])?;
            let app = st
                .okta
                .oauth
                .service_apps
                .iter_mut()
                .find(|a| a.client_id == id)
                .ok_or_else(|| app_not_found(&id))?;
            if app
                .jwks
                .iter()
                .any(|k| k.get("kid").and_then(Value::as_str) == Some(&kid))
            {
                return Err(OktaError::validation(
                    "kid",
                    format!("kid: A key with kid {kid} already exists for this client"),
                ));
            }
            if app.jwks.iter().any(|k| k.get("kid").is_none()) {
                return Err(OktaError::validation(
                    "kid",
                    "kid: The client has a key without a 'kid'; replace the app's keys instead",
                ));
            }
            if app.jwks.len() >= MAX_KEYS {
                return Err(OktaError::validation(
                    "jwks",
                    format!("jwks: A client can have at most {MAX_KEYS} keys"),
                ));
            }
            app.jwks.push(jwk.clone());
            let app = app.clone();
            let event = app_event(
                &shared,
                &who,
                &app,
                "application.lifecycle.update",
                format!("Add public key {kid} to application"),
            );
            st.okta.events.push(event);
            Ok((app, jwk))
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        axum::Json(render_key(&shared, &app, &key)),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------------
// Grants

async fn list_grants(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let app = find_app(&st, &id)?;
    let grants: Vec<Value> = app
        .scopes
        .iter()
        .map(|s| render_grant(&shared, app, s))
        .collect();
    Ok(axum::Json(grants).into_response())
}

fn is_okta_scope(scope: &str) -> bool {
    let parts: Vec<&str> = scope.split('.').collect();
    parts.len() == 3
        && parts[0] == "okta"
        && !parts[1].is_empty()
        && parts[1].chars().all(|c| c.is_ascii_alphanumeric())
        && ["read", "manage", "register"].contains(&parts[2])
}

async fn grant(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    let scope = str_at(&body, "/scopeId")
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let issuer = str_at(&body, "/issuer")
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let app = shared
        .mutate(|st| {
            // Granting Okta API scopes is for super admins only.
            require_role(&shared, st, &who, &[])?;
            let expected = org_issuer(&shared);
            let app = st
                .okta
                .oauth
                .service_apps
                .iter_mut()
                .find(|a| a.client_id == id)
                .ok_or_else(|| app_not_found(&id))?;
            if scope.is_empty() {
                return Err(OktaError::validation(
                    "scopeId",
                    "scopeId: The field cannot be left blank",
                ));
            }
            if !is_okta_scope(&scope) {
                return Err(OktaError::validation(
                    "scopeId",
                    format!("scopeId: {scope} is not an Okta API scope (okta.<resource>.read or .manage)"),
                ));
            }
            if !issuer.trim_end_matches('/').eq_ignore_ascii_case(&expected) {
                return Err(OktaError::validation(
                    "issuer",
                    format!("issuer: must be the org authorization server's issuer, {expected}"),
                ));
            }
            if app.scopes.contains(&scope) {
                return Err(OktaError::validation(
                    "scopeId",
                    format!("scopeId: {scope} is already granted to this app"),
                ));
            }
            app.scopes.push(scope.clone());
            let app = app.clone();
            let event = app_event(
                &shared,
                &who,
                &app,
                "application.lifecycle.update",
                format!("Grant the Okta API scope {scope} to application"),
            );
            st.okta.events.push(event);
            Ok(app)
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        axum::Json(render_grant(&shared, &app, &scope)),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------------
// Client roles

async fn list_client_roles(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(client_id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    require_any_admin(&shared, &st, &who)?;
    let app = find_app(&st, &client_id)?;
    let roles: Vec<Value> = app
        .admin_roles
        .iter()
        .map(|r| render_client_role(&shared, app, r))
        .collect();
    Ok(axum::Json(roles).into_response())
}

async fn assign_client_role(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    let role = str_at(&body, "/type")
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let app = shared
        .mutate(|st| {
            // Only a super admin assigns admin roles.
            require_role(&shared, st, &who, &[])?;
            if role.is_empty() {
                return Err(OktaError::validation("type", "type: The field cannot be left blank"));
            }
            if role == "CUSTOM" {
                return Err(OktaError::validation(
                    "type",
                    "type: the sandbox assigns standard roles only; a CUSTOM role also needs role and resource-set",
                ));
            }
            if !ADMIN_ROLES.contains(&role.as_str()) {
                return Err(OktaError::validation(
                    "type",
                    format!("type: {role} is not a standard role; use one of {}", ADMIN_ROLES.join(", ")),
                ));
            }
            let app = st
                .okta
                .oauth
                .service_apps
                .iter_mut()
                .find(|a| a.client_id == client_id)
                .ok_or_else(|| OktaError::not_found(&client_id, "OAuth2Client"))?;
            if app.admin_roles.contains(&role) {
                return Err(OktaError::new(
                    StatusCode::CONFLICT,
                    "E0000090",
                    "Duplicate role assignment exception.",
                ));
            }
            app.admin_roles.push(role.clone());
            let app = app.clone();
            let event = app_event(
                &shared,
                &who,
                &app,
                "application.lifecycle.update",
                format!("Assign the admin role {role} to application"),
            );
            st.okta.events.push(event);
            Ok(app)
        })
        .await??;
    Ok(axum::Json(render_client_role(&shared, &app, &role)).into_response())
}

// ---------------------------------------------------------------------------------------------------
// Control: POST /_sandbox/okta/api-tokens

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    name: Option<String>,
    role: Option<String>,
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Mints an API token of an admin holding `role`: the seed's super admin for `SUPER_ADMIN`; for another
/// role, a seeded user who already holds it, else the first active user without any admin role, who is
/// given it.
async fn mint_api_token(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    const EXAMPLE: &str = r#"{"name":"setup","role":"READ_ONLY_ADMIN"}"#;
    let req: TokenRequest = if body.is_empty() {
        TokenRequest {
            name: None,
            role: None,
        }
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    format!("The request body is not valid here ({e}). Send JSON like {EXAMPLE}."),
                );
            }
        }
    };
    let role = req.role.unwrap_or_else(|| "SUPER_ADMIN".into());
    if !ADMIN_ROLES.contains(&role.as_str()) {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!(
                "role {role:?} is not a standard Okta admin role; use one of {}",
                ADMIN_ROLES.join(", ")
            ),
        );
    }
    let name = req.name.unwrap_or_else(|| "okta365 setup".into());
    let token = okta_id("00", 42);
    let token_hash = sha256_hex(&token);
    let now = okta_time(shared.now());
    let result = shared
        .mutate(|st| {
            let super_admin = token_owner(&shared, st).map(|u| u.id.clone());
            let user_id = if role == "SUPER_ADMIN" {
                super_admin.ok_or("the org has no active user to own a super admin token")?
            } else if let Some(r) = st.okta.admin.user_roles.iter().find(|r| r.role == role) {
                r.user_id.clone()
            } else {
                let holders: Vec<&str> = st
                    .okta
                    .admin
                    .user_roles
                    .iter()
                    .map(|r| r.user_id.as_str())
                    .collect();
                let user = st
                    .okta
                    .users
                    .iter()
                    .find(|u| {
                        u.status == "ACTIVE"
                            && Some(&u.id) != super_admin.as_ref()
                            && !holders.contains(&u.id.as_str())
                    })
                    .ok_or("no active user without an admin role is left to hold the role")?;
                let id = user.id.clone();
                st.okta.admin.user_roles.push(UserRole {
                    user_id: id.clone(),
                    role: role.clone(),
                    created: now.clone(),
                });
                id
            };
            let token_id = okta_id("00T", 20);
            st.okta.api_tokens.push(ApiToken {
                id: token_id.clone(),
                name: name.clone(),
                token_hash,
                created: now.clone(),
            });
            st.okta
                .admin
                .token_owners
                .insert(token_id.clone(), user_id.clone());
            let login = st
                .okta
                .users
                .iter()
                .find(|u| u.id == user_id)
                .and_then(|u| u.profile.get("login"))
                .cloned()
                .unwrap_or(Value::Null);
            Ok::<_, &str>(json!({
                "token": token, "id": token_id, "name": name, "role": role,
                "userId": user_id, "login": login,
            }))
        })
        .await;
    match result {
        Ok(Ok(v)) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Ok(Err(m)) => control_error(StatusCode::CONFLICT, m),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_need_their_scopes() {
        assert_eq!(
            required_scope(false, "/api/v1/apps"),
            Some(("okta.apps.read", false))
        );
        assert_eq!(
            required_scope(true, "/api/v1/apps/0oa1/credentials/jwks"),
            Some(("okta.apps.manage", true))
        );
        assert_eq!(
            required_scope(true, "/api/v1/apps/0oa1/grants"),
            Some(("okta.appGrants.manage", true))
        );
        assert_eq!(
            required_scope(false, "/oauth2/v1/clients/0oa1/roles"),
            Some(("okta.roles.read", false))
        );
        assert_eq!(
            required_scope(false, "/api/v1/users/00u1/roles"),
            Some(("okta.roles.read", false))
        );
        assert_eq!(required_scope(false, "/api/v1/users/00u1"), None);
        assert_eq!(required_scope(true, "/oauth2/v1/token"), None);
    }

    #[test]
    fn derived_ids_are_stable_and_okta_shaped() {
        let a = derived_id("oag", &["0oa1", "okta.users.read"]);
        assert_eq!(a, derived_id("oag", &["0oa1", "okta.users.read"]));
        assert_ne!(a, derived_id("oag", &["0oa1", "okta.groups.read"]));
        assert_eq!(a.len(), 20);
        assert!(a.starts_with("oag") && a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn scope_names_are_checked() {
        assert!(is_okta_scope("okta.users.read"));
        assert!(is_okta_scope("okta.appGrants.manage"));
        assert!(!is_okta_scope("openid"));
        assert!(!is_okta_scope("okta.users.write"));
    }
}
