//! Microsoft Graph app registration writes, as an admin's delegated token (or an app with
//! Application.ReadWrite.All) makes them: `POST /applications`, `PATCH /applications/{id}`
//! (`displayName`, `requiredResourceAccess`, `keyCredentials`), `addPassword`, `removePassword`;
//! `/servicePrincipals` (create, list with `$filter`, get, `servicePrincipals(appId='…')`), and
//! `/servicePrincipals/{id}/appRoleAssignedTo` (GET, POST). The Microsoft Graph service principal
//! (appId `00000003-0000-0000-c000-000000000000`) carries `appRoles` with Graph's real ids.
//!
//! What must stay true: a created app with a secret from `addPassword` and roles granted here gets
//! a client-credentials token whose `roles` are exactly the granted ones (the token endpoint reads
//! the same [`AppRegistration`]); the state keeps only a secret's hash; granting an application
//! permission with a delegated token needs a Global Administrator or Privileged Role Administrator
//! (403 `Authorization_RequestDenied` otherwise), while creating apps and service principals does not;
//! a replication delay (`POST /_sandbox/entra/replication-delay`) answers 404 for objects created
//! since, as Entra does for moments after a write.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State as AxState};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::entra_control::{graph_time, parse_certificate_pem, password_credential};
use crate::entra_delegated::{GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR};
use crate::graph::{
    APPLICATION_PROPERTIES, Caller, GraphError, Query, READ_APPLICATIONS, application_not_found,
    application_object_id, context, parse_select, project, render_application,
};
use crate::server::Shared;
use crate::state::{AppCertificate, AppRegistration, ClientSecret, State, sha256_hex};

/// Microsoft Graph's appId.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The Microsoft Graph service principal's object id in the sandbox tenant.
pub(crate) const GRAPH_SP_ID: &str = "3c1e8a5d-7b24-4f6e-9a0d-52c8e1f7b3a9";
/// Microsoft's own tenant, which owns first-party apps.
const MICROSOFT_SERVICES_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// Graph application permissions (value, id, display name). The ids are Graph's real ones; the
/// last one exists only here at runtime (its id is not in okta365's known table).
pub(crate) const GRAPH_APP_ROLES: &[(&str, &str, &str)] = &[
    (
        "User.ReadWrite.All",
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        "Read and write all users' full profiles",
    ),
    (
        "User.Invite.All",
        "09850681-111b-4a89-9bed-3f2cae46d706",
        "Invite guest users to the organization",
    ),
    (
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        "Read all users' full profiles",
    ),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Read and write directory data",
    ),
    (
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        "Read directory data",
    ),
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
        "Read and write all groups",
    ),
    (
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        "Read and write all group memberships",
    ),
    (
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
        "Read organization information",
    ),
    (
        "Mail.Send",
        "b633e1c5-b582-4048-a93e-9f11b44c7e96",
        "Send mail as any user",
    ),
    (
        "LicenseAssignment.ReadWrite.All",
        "5facf0c1-8979-4e95-abcf-ff3d079771c0",
        "Manage all license assignments",
    ),
    (
        "Mail.ReadBasic.All",
        "693c5e45-0940-467d-9b8a-1022fb9d42ef",
        "Read basic mail in all mailboxes",
    ),
    (
        "User.RevokeSessions.All",
        "77f3a031-c388-4f99-b373-dc68676a979e",
        "Revoke all sign in sessions for a user",
    ),
    (
        "AuditLog.Read.All",
        "b0afded3-3588-46d8-8b3d-9842eff778da",
        "Read all audit log data",
    ),
    (
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        "Read all applications",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Read and write all applications",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "Manage app permission grants and app role assignments",
    ),
    (
        "SynchronizationData-User.Upload",
        "db31e92a-b9ea-4d87-bf6a-75a37a9ca35a",
        "Upload user data to the identity synchronization service",
    ),
];

const WRITE_APPLICATIONS: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const GRANT_APP_ROLES: &[&str] = &["AppRoleAssignment.ReadWrite.All"];
const READ_ASSIGNMENTS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const SP_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "accountEnabled",
    "appDisplayName",
    "appId",
    "appOwnerOrganizationId",
    "appRoleAssignmentRequired",
    "appRoles",
    "displayName",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
];

/// Properties a client may write on an application (the rest of the entity's are read-only here).
const WRITABLE_APPLICATION: &[&str] = &[
    "displayName",
    "signInAudience",
    "requiredResourceAccess",
    "keyCredentials",
    "description",
    "notes",
];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1.0/applications", post(create_application))
        .route("/v1.0/applications/{id}", patch(update_application))
        .route("/v1.0/applications/{id}/addPassword", post(add_password))
        .route(
            "/v1.0/applications/{id}/removePassword",
            post(remove_password),
        )
        .route(
            "/v1.0/servicePrincipals",
            get(list_service_principals).post(create_service_principal),
        )
        .route("/v1.0/servicePrincipals/{id}", get(get_service_principal))
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            get(list_assignments).post(assign),
        )
}

fn not_found(id: &str) -> GraphError {
    application_not_found(id)
}

fn denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("Request_BadRequest", message)
}

/// Answers 404 while a replication delay hides one of the `named` objects.
fn replicated(shared: &Shared, named: &[&str]) -> Result<(), GraphError> {
    if shared.entra.setup.not_yet_replicated(named) {
        Err(not_found(named.first().copied().unwrap_or_default()))
    } else {
        Ok(())
    }
}

/// Records a write (for `GET /_sandbox/entra/graph-writes`) and passes its result on.
fn recorded(
    shared: &Shared,
    method: &str,
    path: &str,
    result: Result<Response, GraphError>,
) -> Result<Response, GraphError> {
    let status = match &result {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.status().as_u16(),
    };
    shared.entra.setup.record_write(method, path, status);
    result
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(GraphError::bad_request(
            "BadRequest",
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(GraphError::bad_request(
            "BadRequest",
            format!(
                "Unable to read JSON request payload ({e}). Please ensure Content-Type header is set and payload is of valid JSON format."
            ),
        )),
    }
}

fn find_app<'a>(st: &'a State, object_id: &str) -> Option<&'a AppRegistration> {
    st.microsoft
        .apps
        .iter()
        .find(|a| application_object_id(a).eq_ignore_ascii_case(object_id))
}

fn find_app_mut<'a>(st: &'a mut State, object_id: &str) -> Option<&'a mut AppRegistration> {
    st.microsoft
        .apps
        .iter_mut()
        .find(|a| application_object_id(a).eq_ignore_ascii_case(object_id))
}

fn with_context(ctx: String, v: Value) -> Value {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(ctx));
    if let Value::Object(mut m) = v {
        body.append(&mut m);
    }
    Value::Object(body)
}

/// Checks the writable properties of an application body; unknown properties are refused as Graph does.
fn check_application_body(body: &Map<String, Value>) -> Result<(), GraphError> {
    for key in body.keys() {
        if key.starts_with("@odata.") || WRITABLE_APPLICATION.contains(&key.as_str()) {
            continue;
        }
        if APPLICATION_PROPERTIES.contains(&key.as_str()) {
            continue;
        }
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!("Property '{key}' does not exist on type 'microsoft.graph.application'."),
        ));
    }
    if let Some(v) = body.get("displayName")
        && v.as_str().is_none_or(|s| s.trim().is_empty())
    {
        return Err(bad(
            "Invalid value specified for property 'displayName' of resource 'Application'.",
        ));
    }
    if let Some(v) = body.get("signInAudience")
        && v.as_str() != Some("AzureADMyOrg")
    {
        return Err(bad(format!(
            "The sandbox supports signInAudience 'AzureADMyOrg' only, not {v}."
        )));
    }
    if let Some(rra) = body.get("requiredResourceAccess") {
        check_required_resource_access(rra)?;
    }
    Ok(())
}

fn check_required_resource_access(v: &Value) -> Result<(), GraphError> {
    let guid = |v: &Value| v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok());
    let Some(items) = v.as_array() else {
        return Err(bad(
            "requiredResourceAccess must be an array of requiredResourceAccess.",
        ));
    };
    for item in items {
        if !guid(&item["resourceAppId"]) {
            return Err(bad(
                "Invalid value specified for property 'resourceAppId' of resource 'RequiredResourceAccess'.",
            ));
        }
        let Some(access) = item["resourceAccess"].as_array() else {
            return Err(bad(
                "requiredResourceAccess.resourceAccess must be an array.",
            ));
        };
        for a in access {
            if !guid(&a["id"]) || !matches!(a["type"].as_str(), Some("Role") | Some("Scope")) {
                return Err(bad(
                    "Invalid value specified for property 'resourceAccess' of resource 'RequiredResourceAccess': each needs an id (GUID) and a type of Role or Scope.",
                ));
            }
        }
    }
    Ok(())
}

/// The certificates a `keyCredentials` PATCH leaves on the app.
fn key_credentials(
    existing: &[AppCertificate],
    v: &Value,
) -> Result<Vec<AppCertificate>, GraphError> {
    let Some(items) = v.as_array() else {
        return Err(bad("keyCredentials must be an array of keyCredential."));
    };
    let mut out: Vec<AppCertificate> = Vec::new();
    for item in items {
        let key_id = item["keyId"].as_str();
        let key = item["key"].as_str().filter(|k| !k.is_empty());
        if key.is_none()
            && let Some(kept) =
                key_id.and_then(|id| existing.iter().find(|c| c.key_id.eq_ignore_ascii_case(id)))
        {
            out.push(kept.clone());
            continue;
        }
        let Some(key) = key else {
            return Err(bad(
                "Key credential 'key' is required: send the certificate (DER, base64), or the keyId of one already on the application.",
            ));
        };
        if item["type"].as_str() != Some("AsymmetricX509Cert")
            || item["usage"].as_str() != Some("Verify")
        {
            return Err(bad(
                "Key credential type must be 'AsymmetricX509Cert' with usage 'Verify' for a certificate that verifies client assertions.",
            ));
        }
        let der = STANDARD
            .decode(key.trim())
            .map_err(|_| bad("Key credential 'key' is not base64."))?;
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            STANDARD.encode(&der)
        );
        let parsed =
            parse_certificate_pem(&pem).map_err(|m| bad(format!("Invalid certificate: {m}.")))?;
        if out
            .iter()
            .any(|c| c.thumbprint_sha256 == parsed.thumbprint_sha256)
        {
            return Err(bad(
                "The same certificate is listed twice in keyCredentials.",
            ));
        }
        out.push(AppCertificate {
            key_id: key_id
                .filter(|k| uuid::Uuid::parse_str(k).is_ok())
                .map(str::to_owned)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            display_name: item["displayName"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| parsed.subject.clone()),
            der_base64: STANDARD.encode(&parsed.der),
            thumbprint_sha1: parsed.thumbprint_sha1,
            thumbprint_sha256: parsed.thumbprint_sha256,
            start_date_time: graph_time(parsed.not_before),
            end_date_time: graph_time(parsed.not_after),
        });
    }
    Ok(out)
}

async fn create_application(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, GraphError> {
    let result = create_application_inner(&shared, &caller, &body).await;
    recorded(&shared, "POST", "/v1.0/applications", result)
}

async fn create_application_inner(
    shared: &Shared,
    caller: &Caller,
    body: &Bytes,
) -> Result<Response, GraphError> {
    caller.require(WRITE_APPLICATIONS)?;
    let body = parse_body(body)?;
    check_application_body(&body)?;
    let Some(name) = body.get("displayName").and_then(Value::as_str) else {
        return Err(bad(
            "Property 'displayName' is required when creating the application.",
        ));
    };
    let mut app = AppRegistration {
        app_id: uuid::Uuid::new_v4().to_string(),
        display_name: name.trim().to_owned(),
        // No service principal until POST /servicePrincipals.
        service_principal_id: String::new(),
        roles: Vec::new(),
        secrets: Vec::new(),
        object_id: Some(uuid::Uuid::new_v4().to_string()),
        certificates: Vec::new(),
        required_resource_access: body
            .get("requiredResourceAccess")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        created_date_time: Some(graph_time(shared.now())),
    };
    if let Some(k) = body.get("keyCredentials") {
        app.certificates = key_credentials(&[], k)?;
    }
    let rendered = shared
        .mutate(|st| {
            st.microsoft.apps.push(app.clone());
            Ok::<_, ()>(render_application(st, &app))
        })
        .await
        .map_err(|_| {
            GraphError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "generalException",
                "The sandbox could not save its state.",
            )
        })?
        .unwrap_or_default();
    let object_id = application_object_id(&app);
    shared.entra.setup.created(&[&object_id, &app.app_id]);
    let body = with_context(shared.url("/v1.0/$metadata#applications/$entity"), rendered);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn persist_failed() -> GraphError {
    GraphError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        "The sandbox could not save its state.",
    )
}

async fn update_application(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let path = format!("/v1.0/applications/{id}");
    let result = async {
        caller.require(WRITE_APPLICATIONS)?;
        replicated(&shared, &[&id])?;
        let body = parse_body(&body)?;
        check_application_body(&body)?;
        let existing = {
            let st = shared.state.read().await;
            find_app(&st, &id)
                .map(|a| a.certificates.clone())
                .ok_or_else(|| not_found(&id))?
        };
        let certificates = body
            .get("keyCredentials")
            .map(|k| key_credentials(&existing, k))
            .transpose()?;
        shared
            .mutate(|st| {
                let app = find_app_mut(st, &id).ok_or_else(|| not_found(&id))?;
                if let Some(name) = body.get("displayName").and_then(Value::as_str) {
                    app.display_name = name.trim().to_owned();
                }
                if let Some(rra) = body.get("requiredResourceAccess").and_then(Value::as_array) {
                    app.required_resource_access = rra.clone();
                }
                if let Some(c) = certificates {
                    app.certificates = c;
                }
                Ok(())
            })
            .await
            .map_err(|_| persist_failed())??;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    recorded(&shared, "PATCH", &path, result)
}

async fn add_password(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let path = format!("/v1.0/applications/{id}/addPassword");
    let result = async {
        caller.require(WRITE_APPLICATIONS)?;
        replicated(&shared, &[&id])?;
        let body = parse_body(&body)?;
        let cred = body
            .get("passwordCredential")
            .cloned()
            .unwrap_or(Value::Null);
        let now = shared.now();
        let end = match cred["endDateTime"].as_str() {
            None => now
                .checked_add(jiff::SignedDuration::from_hours(2 * 365 * 24))
                .unwrap_or(now),
            Some(s) => s.parse::<jiff::Timestamp>().map_err(|_| {
                bad(format!(
                    "Invalid value specified for property 'endDateTime': {s:?} is not a date-time."
                ))
            })?,
        };
        if end <= now {
            return Err(bad(
                "The endDateTime of a password credential must be in the future.",
            ));
        }
        let secret = crate::control::client_secret_value();
        let record = ClientSecret {
            key_id: uuid::Uuid::new_v4().to_string(),
            display_name: cred["displayName"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_default(),
            hint: secret.chars().take(3).collect(),
            secret_hash: sha256_hex(&secret),
            start_date_time: graph_time(now),
            end_date_time: graph_time(end),
        };
        let mut answer = password_credential(&record);
        answer["secretText"] = json!(secret);
        shared
            .mutate(|st| {
                let app = find_app_mut(st, &id).ok_or_else(|| not_found(&id))?;
                app.secrets.push(record);
                Ok(())
            })
            .await
            .map_err(|_| persist_failed())??;
        Ok(axum::Json(with_context(
            shared.url("/v1.0/$metadata#microsoft.graph.passwordCredential"),
            answer,
        ))
        .into_response())
    }
    .await;
    recorded(&shared, "POST", &path, result)
}

async fn remove_password(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let path = format!("/v1.0/applications/{id}/removePassword");
    let result = async {
        caller.require(WRITE_APPLICATIONS)?;
        replicated(&shared, &[&id])?;
        let body = parse_body(&body)?;
        let Some(key_id) = body.get("keyId").and_then(Value::as_str).map(str::to_owned) else {
            return Err(bad("Property 'keyId' is required."));
        };
        shared
            .mutate(|st| {
                let app = find_app_mut(st, &id).ok_or_else(|| not_found(&id))?;
                let before = app.secrets.len();
                app.secrets
                    .retain(|s| !s.key_id.eq_ignore_ascii_case(&key_id));
                if app.secrets.len() == before {
                    return Err(bad(format!(
                        "No password credential found with keyId '{key_id}' on application '{id}'."
                    )));
                }
                Ok(())
            })
            .await
            .map_err(|_| persist_failed())??;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    recorded(&shared, "POST", &path, result)
}

// ---------------------------------------------------------------------------------------------------
// servicePrincipals

fn app_roles() -> Vec<Value> {
    GRAPH_APP_ROLES
        .iter()
        .map(|(value, id, name)| {
            json!({
                "allowedMemberTypes": ["Application"],
                "description": format!("Allows the app to {} without a signed-in user.", name.to_lowercase()),
                "displayName": name,
                "id": id,
                "isEnabled": true,
                "origin": "Application",
                "value": value,
            })
        })
        .collect()
}

fn render_graph_sp() -> Value {
    json!({
        "id": GRAPH_SP_ID,
        "deletedDateTime": null,
        "accountEnabled": true,
        "appDisplayName": "Microsoft Graph",
        "appId": GRAPH_APP_ID,
        "appOwnerOrganizationId": MICROSOFT_SERVICES_TENANT,
        "appRoleAssignmentRequired": false,
        "appRoles": app_roles(),
        "displayName": "Microsoft Graph",
        "servicePrincipalNames": ["https://graph.microsoft.com", GRAPH_APP_ID],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
    })
}

fn render_app_sp(st: &State, app: &AppRegistration) -> Value {
    json!({
        "id": app.service_principal_id,
        "deletedDateTime": null,
        "accountEnabled": true,
        "appDisplayName": app.display_name,
        "appId": app.app_id,
        "appOwnerOrganizationId": st.microsoft.tenant.id,
        "appRoleAssignmentRequired": false,
        "appRoles": [],
        "displayName": app.display_name,
        "servicePrincipalNames": [app.app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg",
        "tags": [],
    })
}

/// Every service principal of the tenant, rendered.
fn all_service_principals(st: &State) -> Vec<Value> {
    let mut out = vec![render_graph_sp()];
    out.extend(
        st.microsoft
            .apps
            .iter()
            .filter(|a| !a.service_principal_id.is_empty())
            .map(|a| render_app_sp(st, a)),
    );
    out
}

fn sp_filter(f: &str) -> Result<(&'static str, String), GraphError> {
    let unsupported = || {
        GraphError::bad_request(
            "Request_UnsupportedQuery",
            "The sandbox supports $filter=appId eq '…' or displayName eq '…' on servicePrincipals.",
        )
    };
    let f = f.trim();
    let (prop, rest) = f.split_once(' ').ok_or_else(unsupported)?;
    let prop = ["appId", "displayName"]
        .into_iter()
        .find(|p| p.eq_ignore_ascii_case(prop))
        .ok_or_else(unsupported)?;
    let rest = rest.trim();
    let value = rest
        .strip_prefix("eq ")
        .map(str::trim)
        .and_then(|v| v.strip_prefix('\''))
        .and_then(|v| v.strip_suffix('\''))
        .ok_or_else(unsupported)?;
    Ok((prop, value.replace("''", "'")))
}

async fn list_service_principals(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_APPLICATIONS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, SP_PROPERTIES, "servicePrincipal")?;
    let filter = query
        .get("$filter")
        .filter(|f| !f.trim().is_empty())
        .map(sp_filter)
        .transpose()?;
    let st = shared.state.read().await;
    let value: Vec<Value> = all_service_principals(&st)
        .into_iter()
        .filter(|sp| match &filter {
            None => true,
            Some((prop, v)) => sp[*prop]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(v)),
        })
        .map(|sp| project(&sp, select.as_deref(), SP_PROPERTIES))
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": context(&shared, "servicePrincipals", select.as_deref()),
        "value": value,
    }))
    .into_response())
}

fn one_sp(shared: &Shared, sp: Value, query: &Query) -> Result<Response, GraphError> {
    query.reject_unsupported(&[])?;
    let select = parse_select(query, SP_PROPERTIES, "servicePrincipal")?;
    Ok(axum::Json(with_context(
        shared.url("/v1.0/$metadata#servicePrincipals/$entity"),
        project(&sp, select.as_deref(), SP_PROPERTIES),
    ))
    .into_response())
}

async fn get_service_principal(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_APPLICATIONS)?;
    replicated(&shared, &[&id])?;
    let st = shared.state.read().await;
    let sp = all_service_principals(&st)
        .into_iter()
        .find(|sp| {
            sp["id"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(&id))
        })
        .ok_or_else(|| not_found(&id))?;
    one_sp(&shared, sp, &query)
}

/// `GET /v1.0/servicePrincipals(appId='…')` (routed from the Graph router's `{segment}` route).
pub(crate) async fn service_principal_by_app_id(
    shared: Arc<Shared>,
    segment: String,
    mut parts: Parts,
) -> Result<Response, GraphError> {
    let caller = Caller::from_request_parts(&mut parts, &shared).await?;
    caller.require(READ_APPLICATIONS)?;
    let query = Query::from_request_parts(&mut parts, &shared)
        .await
        .unwrap_or_else(|never| match never {});
    let key = segment
        .strip_prefix("servicePrincipals(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or_default();
    let app_id = key
        .strip_prefix("appId=")
        .map(|v| v.trim_matches('\''))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            GraphError::bad_request(
                "BadRequest",
                format!(
                    "The key '{key}' is not supported here; address a service principal as servicePrincipals(appId='{{appId}}')."
                ),
            )
        })?;
    replicated(&shared, &[app_id])?;
    let st = shared.state.read().await;
    let sp = all_service_principals(&st)
        .into_iter()
        .find(|sp| {
            sp["appId"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(app_id))
        })
        .ok_or_else(|| not_found(app_id))?;
    one_sp(&shared, sp, &query)
}

async fn create_service_principal(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, GraphError> {
    let result = async {
        caller.require(WRITE_APPLICATIONS)?;
        let body = parse_body(&body)?;
        for key in body.keys() {
            if !key.starts_with("@odata.") && !SP_PROPERTIES.contains(&key.as_str()) {
                return Err(bad(format!(
                    "Property '{key}' does not exist on type 'microsoft.graph.servicePrincipal'."
                )));
            }
        }
        let Some(app_id) = body.get("appId").and_then(Value::as_str).map(str::to_owned) else {
            return Err(bad("Property 'appId' is required when creating a service principal."));
        };
        replicated(&shared, &[&app_id])?;
        let sp_id = uuid::Uuid::new_v4().to_string();
        let rendered = shared
            .mutate(|st| {
                if app_id.eq_ignore_ascii_case(GRAPH_APP_ID) {
                    return Err(conflict(&app_id));
                }
                let Some(at) = st
                    .microsoft
                    .apps
                    .iter()
                    .position(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                else {
                    return Err(bad(format!(
                        "The appId '{app_id}' of the service principal does not reference a valid application object."
                    )));
                };
                if !st.microsoft.apps[at].service_principal_id.is_empty() {
                    return Err(conflict(&app_id));
                }
                st.microsoft.apps[at].service_principal_id = sp_id.clone();
                Ok(render_app_sp(st, &st.microsoft.apps[at]))
            })
            .await
            .map_err(|_| persist_failed())??;
        shared.entra.setup.created(&[&sp_id]);
        Ok((
            StatusCode::CREATED,
            axum::Json(with_context(
                shared.url("/v1.0/$metadata#servicePrincipals/$entity"),
                rendered,
            )),
        )
            .into_response())
    }
    .await;
    recorded(&shared, "POST", "/v1.0/servicePrincipals", result)
}

fn conflict(app_id: &str) -> GraphError {
    GraphError::new(
        StatusCode::CONFLICT,
        "Request_MultipleObjectsWithSameKeyValue",
        format!(
            "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
        ),
    )
}

// ---------------------------------------------------------------------------------------------------
// appRoleAssignedTo

/// A stable id for the assignment of `role_id` to `principal_id` (Graph's look like base64url).
fn assignment_id(principal_id: &str, role_id: &str) -> String {
    let digest = Sha256::digest(format!("{principal_id}/{role_id}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..32])
}

fn render_assignment(st: &State, app: &AppRegistration, role_id: &str) -> Value {
    json!({
        "id": assignment_id(&app.service_principal_id, role_id),
        "deletedDateTime": null,
        "appRoleId": role_id,
        "createdDateTime": app.created_date_time.as_deref().unwrap_or(&st.microsoft.tenant.created_date_time),
        "principalDisplayName": app.display_name,
        "principalId": app.service_principal_id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": "Microsoft Graph",
        "resourceId": GRAPH_SP_ID,
    })
}

fn role_id(value: &str) -> Option<&'static str> {
    GRAPH_APP_ROLES
        .iter()
        .find(|(v, _, _)| v.eq_ignore_ascii_case(value))
        .map(|(_, id, _)| *id)
}

fn role_value(id: &str) -> Option<&'static str> {
    GRAPH_APP_ROLES
        .iter()
        .find(|(_, i, _)| i.eq_ignore_ascii_case(id))
        .map(|(v, _, _)| *v)
}

async fn list_assignments(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, GraphError> {
    caller.require(READ_ASSIGNMENTS)?;
    replicated(&shared, &[&id])?;
    let st = shared.state.read().await;
    let value: Vec<Value> = if id.eq_ignore_ascii_case(GRAPH_SP_ID) {
        st.microsoft
            .apps
            .iter()
            .filter(|a| !a.service_principal_id.is_empty())
            .flat_map(|a| {
                a.roles
                    .iter()
                    .filter_map(|r| role_id(r))
                    .map(|rid| render_assignment(&st, a, rid))
                    .collect::<Vec<_>>()
            })
            .collect()
    } else if st
        .microsoft
        .apps
        .iter()
        .any(|a| a.service_principal_id.eq_ignore_ascii_case(&id))
    {
        Vec::new()
    } else {
        return Err(not_found(&id));
    };
    Ok(axum::Json(json!({
        "@odata.context": shared.url(&format!("/v1.0/$metadata#servicePrincipals('{id}')/appRoleAssignedTo")),
        "value": value,
    }))
    .into_response())
}

async fn assign(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GraphError> {
    let path = format!("/v1.0/servicePrincipals/{id}/appRoleAssignedTo");
    let result = async {
        caller.require(GRANT_APP_ROLES)?;
        // A signed-in user also needs a directory role that may grant application permissions.
        if let Some(wids) = &caller.wids
            && !wids.iter().any(|w| {
                w.eq_ignore_ascii_case(GLOBAL_ADMINISTRATOR)
                    || w.eq_ignore_ascii_case(PRIVILEGED_ROLE_ADMINISTRATOR)
            })
        {
            return Err(denied());
        }
        let body = parse_body(&body)?;
        let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (principal_id, resource_id, app_role_id) =
            (field("principalId"), field("resourceId"), field("appRoleId"));
        replicated(&shared, &[&principal_id, &id])?;
        if principal_id.is_empty() || resource_id.is_empty() || app_role_id.is_empty() {
            return Err(bad("principalId, resourceId and appRoleId are all required."));
        }
        if !resource_id.eq_ignore_ascii_case(&id) {
            return Err(bad(format!(
                "The resourceId '{resource_id}' must be the service principal in the URL ('{id}')."
            )));
        }
        if !id.eq_ignore_ascii_case(GRAPH_SP_ID) {
            let exists = shared
                .state
                .read()
                .await
                .microsoft
                .apps
                .iter()
                .any(|a| a.service_principal_id.eq_ignore_ascii_case(&id));
            return Err(if exists {
                bad(format!(
                    "Permission being assigned was not found on application '{id}': it defines no app roles."
                ))
            } else {
                not_found(&id)
            });
        }
        let Some(value) = role_value(&app_role_id) else {
            return Err(bad(format!(
                "Permission being assigned was not found on application '{GRAPH_APP_ID}' (appRoleId '{app_role_id}')."
            )));
        };
        let rendered = shared
            .mutate(|st| {
                let Some(at) = st
                    .microsoft
                    .apps
                    .iter()
                    .position(|a| !a.service_principal_id.is_empty() && a.service_principal_id.eq_ignore_ascii_case(&principal_id))
                else {
                    return Err(not_found(&principal_id));
                };
                if st.microsoft.apps[at].roles.iter().any(|r| r.eq_ignore_ascii_case(value)) {
                    return Err(bad("Permission being assigned already exists on the object"));
                }
                st.microsoft.apps[at].roles.push(value.to_owned());
                let app = st.microsoft.apps[at].clone();
                Ok(render_assignment(st, &app, role_id(value).unwrap_or_default()))
            })
            .await
            .map_err(|_| persist_failed())??;
        Ok((
            StatusCode::CREATED,
            axum::Json(with_context(
                shared.url(&format!("/v1.0/$metadata#servicePrincipals('{id}')/appRoleAssignedTo/$entity")),
                rendered,
            )),
        )
            .into_response())
    }
    .await;
    recorded(&shared, "POST", &path, result)
}
