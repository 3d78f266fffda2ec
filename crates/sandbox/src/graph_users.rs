//! Microsoft Graph user writes and domains: `POST /users` (201), `PATCH /users/{id|upn}` (204),
//! `DELETE /users/{id|upn}` (204) with Graph's validation and error messages, and `GET /domains`.
//!
//! What must stay true: a password sent in `passwordProfile` is checked and then dropped, never
//! stored; every write counts against the calling app's directory write budget (`graph_budget`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError, Query, USER_DEFAULT, parse_select, project, render_user};
use crate::server::Shared;
use crate::state::{GraphUser, State, VerifiedDomain};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1.0/users", post(create_user))
        .route("/v1.0/users/{id}", patch(update_user).delete(delete_user))
        .route("/v1.0/domains", get(list_domains))
        .route("/v1.0/domains/{id}", get(get_domain))
}

impl From<GraphError> for Response {
    fn from(e: GraphError) -> Response {
        e.into_response()
    }
}

/// Writing users (Graph's least privileged first).
pub(crate) const WRITE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];

const READ_DOMAINS: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// How a writable `microsoft.graph.user` property is typed in Graph's metadata.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Bool,
    Strings,
    /// A complex value the sandbox keeps as given (or, for `passwordProfile`, checks and drops).
    Object,
}

/// The `microsoft.graph.user` properties a client may set, with their metadata types.
const WRITABLE: &[(&str, Kind)] = &[
    ("aboutMe", Kind::Str),
    ("accountEnabled", Kind::Bool),
    ("ageGroup", Kind::Str),
    ("birthday", Kind::Str),
    ("businessPhones", Kind::Strings),
    ("city", Kind::Str),
    ("companyName", Kind::Str),
    ("consentProvidedForMinor", Kind::Str),
    ("country", Kind::Str),
    ("department", Kind::Str),
    ("displayName", Kind::Str),
    ("employeeHireDate", Kind::Str),
    ("employeeId", Kind::Str),
    ("employeeLeaveDateTime", Kind::Str),
    ("employeeOrgData", Kind::Object),
    ("employeeType", Kind::Str),
    ("faxNumber", Kind::Str),
    ("givenName", Kind::Str),
    ("hireDate", Kind::Str),
    ("identities", Kind::Object),
    ("imAddresses", Kind::Strings),
    ("interests", Kind::Strings),
    ("jobTitle", Kind::Str),
    ("mail", Kind::Str),
    ("mailNickname", Kind::Str),
    ("mobilePhone", Kind::Str),
    ("mySite", Kind::Str),
    ("officeLocation", Kind::Str),
    ("onPremisesExtensionAttributes", Kind::Object),
    ("onPremisesImmutableId", Kind::Str),
    ("otherMails", Kind::Strings),
    ("passwordPolicies", Kind::Str),
    ("passwordProfile", Kind::Object),
    ("pastProjects", Kind::Strings),
    ("postalCode", Kind::Str),
    ("preferredDataLocation", Kind::Str),
    ("preferredLanguage", Kind::Str),
    ("preferredName", Kind::Str),
    ("responsibilities", Kind::Strings),
    ("schools", Kind::Strings),
    ("showInAddressList", Kind::Bool),
    ("skills", Kind::Strings),
    ("state", Kind::Str),
    ("streetAddress", Kind::Str),
    ("surname", Kind::Str),
    ("usageLocation", Kind::Str),
    ("userPrincipalName", Kind::Str),
    ("userType", Kind::Str),
];

/// Properties of the user type that the directory sets itself.
const READ_ONLY: &[&str] = &[
    "id",
    "deletedDateTime",
    "createdDateTime",
    "assignedLicenses",
    "assignedPlans",
    "provisionedPlans",
    "licenseAssignmentStates",
    "creationType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "lastPasswordChangeDateTime",
    "onPremisesSyncEnabled",
    "onPremisesLastSyncDateTime",
    "proxyAddresses",
    "securityIdentifier",
    "signInSessionsValidFromDateTime",
];

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("Request_BadRequest", message)
}

fn invalid_value(property: &str) -> GraphError {
    bad(format!(
        "Invalid value specified for property '{property}' of resource 'User'."
    ))
}

pub(crate) fn conflict(property: &str) -> GraphError {
    bad(format!(
        "Another object with the same value for property {property} already exists."
    ))
}

pub(crate) fn user_not_found(id: &str) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// The JSON object of a write request, or Graph's answer to a body that is not one.
pub(crate) fn json_object(body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphError::bad_request(
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )),
    }
}

/// Checks every property name against the user type and every value against its metadata type.
fn check_properties(body: &Map<String, Value>) -> Result<(), GraphError> {
    for (name, value) in body {
        if name.starts_with("@odata.") {
            continue;
        }
        if READ_ONLY.contains(&name.as_str()) {
            return Err(bad(format!(
                "Property '{name}' is read-only and cannot be set."
            )));
        }
        let Some((_, kind)) = WRITABLE.iter().find(|(p, _)| p == name) else {
            return Err(GraphError::bad_request(
                "BadRequest",
                format!(
                    "Property '{name}' does not exist as a declared property or extension property."
                ),
            ));
        };
        let ok = match (kind, value) {
            (_, Value::Null) => true,
            (Kind::Str, v) => v.is_string(),
            (Kind::Bool, v) => v.is_boolean(),
            (Kind::Strings, Value::Array(items)) => items.iter().all(Value::is_string),
            (Kind::Strings, _) => false,
            (Kind::Object, v) => v.is_object() || v.is_array(),
        };
        if !ok {
            return Err(GraphError::bad_request(
                "BadRequest",
                format!(
                    "Cannot convert the literal '{value}' to the expected type of property '{name}'."
                ),
            ));
        }
    }
    Ok(())
}

/// Entra's password complexity: 8 to 256 characters, three of lower case, upper case, digits and
/// symbols.
pub(crate) fn password_is_complex(password: &str) -> bool {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password
            .chars()
            .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
    ];
    (8..=256).contains(&len) && classes.iter().filter(|c| **c).count() >= 3
}

fn check_password_profile(profile: &Value, creating: bool) -> Result<(), GraphError> {
    let Some(p) = profile.as_object() else {
        return Err(invalid_value("passwordProfile"));
    };
    match p.get("password") {
        Some(Value::String(pw)) => {
            if !password_is_complex(pw) {
                return Err(bad(
                    "The specified password does not comply with password complexity requirements. Please provide a different password.",
                ));
            }
        }
        None | Some(Value::Null) if !creating => {}
        _ => return Err(invalid_value("passwordProfile")),
    }
    for flag in [
        "forceChangePasswordNextSignIn",
        "forceChangePasswordNextSignInWithMfa",
    ] {
        if p.get(flag).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
            return Err(invalid_value("passwordProfile"));
        }
    }
    Ok(())
}

/// `local@domain` with a verified domain of the tenant (or a guest's `#EXT#` UPN in the initial one).
fn check_upn(st: &State, upn: &str) -> Result<(), GraphError> {
    let Some((local, domain)) = upn.rsplit_once('@') else {
        return Err(invalid_value("userPrincipalName"));
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c));
    if !local_ok {
        return Err(invalid_value("userPrincipalName"));
    }
    if !verified(st, domain) {
        return Err(bad(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    Ok(())
}

fn verified(st: &State, domain: &str) -> bool {
    st.microsoft
        .tenant
        .verified_domains
        .iter()
        .any(|d| d.name.eq_ignore_ascii_case(domain))
}

fn check_mail_nickname(nick: &str) -> Result<(), GraphError> {
    let ok = !nick.is_empty()
        && nick.len() <= 64
        && nick
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_whitespace() && !"@()\\[]\";:<>,".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid_value("mailNickname"))
    }
}

fn check_usage_location(v: &Value) -> Result<(), GraphError> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) if s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic()) => Ok(()),
        _ => Err(invalid_value("usageLocation")),
    }
}

/// Finds a user by object id or user principal name (case-insensitive, as Graph does).
pub(crate) fn find_index(st: &State, key: &str) -> Option<usize> {
    st.microsoft.users.iter().position(|u| {
        u.id.eq_ignore_ascii_case(key) || u.user_principal_name.eq_ignore_ascii_case(key)
    })
}

/// 404 while a replication delay still hides a user created since it was set.
pub(crate) fn not_replicated_yet(shared: &Shared, id: &str) -> Result<(), GraphError> {
    if shared.entra.setup.not_yet_replicated(&[id]) {
        Err(user_not_found(id))
    } else {
        Ok(())
    }
}

/// Builds a stored user from a JSON object of Graph properties (the password already dropped).
pub(crate) fn user_from(obj: Map<String, Value>) -> Result<GraphUser, GraphError> {
    // Nulls are not kept: an unset property is served as null anyway.
    let obj: Map<String, Value> = obj
        .into_iter()
        .filter(|(k, v)| !v.is_null() && !k.starts_with("@odata."))
        .collect();
    serde_json::from_value(Value::Object(obj))
        .map_err(|e| bad(format!("The user could not be stored: {e}.")))
}

fn user_entity(shared: &Shared, user: &GraphUser) -> Value {
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(shared.url("/v1.0/$metadata#users/$entity")),
    );
    if let Value::Object(mut v) = project(&render_user(user), None, USER_DEFAULT) {
        body.append(&mut v);
    }
    Value::Object(body)
}

fn created(shared: &Shared, tenant_id: &str, user: &GraphUser) -> Response {
    let mut response = (StatusCode::CREATED, axum::Json(user_entity(shared, user))).into_response();
    let location = shared.url(&format!(
        "/v2/{tenant_id}/directoryObjects/{}/Microsoft.DirectoryServices.User",
        user.id
    ));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert("location", v);
    }
    response
}

/// Graph's time format for `createdDateTime`.
pub(crate) fn graph_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

async fn create_user(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, Response> {
    caller.require(WRITE_USERS)?;
    crate::graph_budget::directory_write(&shared, &caller).await?;
    let mut body = json_object(&body)?;
    check_properties(&body)?;
    for required in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
    ] {
        let present = match body.get(required) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Bool(_)) => true,
            _ => false,
        };
        if !present {
            return Err(invalid_value(required).into());
        }
    }
    check_password_profile(body.get("passwordProfile").unwrap_or(&Value::Null), true)?;
    let nick = body["mailNickname"].as_str().unwrap_or_default().to_owned();
    check_mail_nickname(&nick)?;
    check_usage_location(body.get("usageLocation").unwrap_or(&Value::Null))?;
    let upn = body["userPrincipalName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // The password is checked above and goes no further.
    body.remove("passwordProfile");
    let now = graph_time(shared.now());
    let result = shared
        .mutate(|st| {
            check_upn(st, &upn)?;
            if find_index(st, &upn).is_some() {
                return Err(conflict("userPrincipalName"));
            }
            if st
                .microsoft
                .users
                .iter()
                .any(|u| u.mail_nickname.eq_ignore_ascii_case(&nick))
            {
                return Err(conflict("mailNickname"));
            }
            body.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
            body.insert("createdDateTime".into(), json!(now));
            body.entry("userType").or_insert(json!("Member"));
            let user = user_from(body)?;
            st.microsoft.users.push(user.clone());
            Ok((user, st.microsoft.tenant.id.clone()))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    let (user, tenant_id) = result?;
    // A replication delay (`POST /_sandbox/entra/replication-delay`) hides the new user for a while.
    shared
        .entra
        .setup
        .created(&[&user.id, &user.user_principal_name]);
    Ok(created(&shared, &tenant_id, &user))
}

async fn update_user(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    caller.require(WRITE_USERS)?;
    crate::graph_budget::directory_write(&shared, &caller).await?;
    not_replicated_yet(&shared, &id)?;
    let mut body = json_object(&body)?;
    check_properties(&body)?;
    for required in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
    ] {
        if body
            .get(required)
            .is_some_and(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
        {
            return Err(invalid_value(required).into());
        }
    }
    if let Some(profile) = body.remove("passwordProfile") {
        check_password_profile(&profile, false)?;
    }
    if let Some(nick) = body.get("mailNickname").and_then(Value::as_str) {
        check_mail_nickname(nick)?;
    }
    if let Some(loc) = body.get("usageLocation") {
        check_usage_location(loc)?;
    }
    let result = shared
        .mutate(|st| {
            let index = find_index(st, &id).ok_or_else(|| user_not_found(&id))?;
            let user_id = st.microsoft.users[index].id.clone();
            if let Some(upn) = body.get("userPrincipalName").and_then(Value::as_str) {
                check_upn(st, upn)?;
                if find_index(st, upn).is_some_and(|i| i != index) {
                    return Err(conflict("userPrincipalName"));
                }
            }
            if let Some(nick) = body.get("mailNickname").and_then(Value::as_str)
                && st
                    .microsoft
                    .users
                    .iter()
                    .any(|u| u.id != user_id && u.mail_nickname.eq_ignore_ascii_case(nick))
            {
                return Err(conflict("mailNickname"));
            }
            let mut current = match serde_json::to_value(&st.microsoft.users[index]) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, v) in std::mem::take(&mut body) {
                current.insert(k, v);
            }
            st.microsoft.users[index] = user_from(current)?;
            Ok(())
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_user(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    caller.require(WRITE_USERS)?;
    crate::graph_budget::directory_write(&shared, &caller).await?;
    not_replicated_yet(&shared, &id)?;
    let result = shared
        .mutate(|st| {
            let index = find_index(st, &id).ok_or_else(|| user_not_found(&id))?;
            // Deleting an administrator takes a higher role than User.ReadWrite.All.
            if !st.microsoft.users[index].directory_roles.is_empty() {
                return Err(GraphError::new(
                    StatusCode::FORBIDDEN,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                ));
            }
            st.microsoft.users.remove(index);
            Ok(())
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------------
// domains

const DOMAIN_PROPERTIES: &[&str] = &[
    "id",
    "authenticationType",
    "availabilityStatus",
    "isAdminManaged",
    "isDefault",
    "isInitial",
    "isRoot",
    "isVerified",
    "passwordNotificationWindowInDays",
    "passwordValidityPeriodInDays",
    "state",
    "supportedServices",
];

fn render_domain(d: &VerifiedDomain) -> Value {
    let services: Vec<&str> = d
        .capabilities
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "None")
        .collect();
    json!({
        "id": d.name,
        "authenticationType": d.kind,
        "availabilityStatus": null,
        "isAdminManaged": true,
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": true,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "state": null,
        "supportedServices": services,
    })
}

async fn list_domains(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_DOMAINS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, DOMAIN_PROPERTIES, "domain")?;
    let st = shared.state.read().await;
    let value: Vec<Value> = st
        .microsoft
        .tenant
        .verified_domains
        .iter()
        .map(|d| project(&render_domain(d), select.as_deref(), DOMAIN_PROPERTIES))
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": crate::graph::context(&shared, "domains", select.as_deref()),
        "value": value,
    }))
    .into_response())
}

async fn get_domain(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_DOMAINS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, DOMAIN_PROPERTIES, "domain")?;
    let st = shared.state.read().await;
    let d = st
        .microsoft
        .tenant
        .verified_domains
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(&id))
        .ok_or_else(|| user_not_found(&id))?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(shared.url("/v1.0/$metadata#domains/$entity")),
    );
    if let Value::Object(mut v) = project(&render_domain(d), select.as_deref(), DOMAIN_PROPERTIES) {
        body.append(&mut v);
    }
    Ok(axum::Json(Value::Object(body)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_complexity_needs_length_and_three_kinds_of_character() {
        for (pw, ok) in [
            ("Short1!", false),
            ("alllowercase1", false),
            ("Lowerupper1", true),
            ("lower-and-1", true),
            ("NOLOWER-AND-", false),
            ("Pässwörter-x", true),
        ] {
            assert_eq!(password_is_complex(pw), ok, "{pw}");
        }
    }

    #[test]
    fn unknown_and_read_only_properties_are_refused_with_graphs_words() {
        let body = json!({"favouriteColour": "blue"});
        let e = check_properties(body.as_object().unwrap()).unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let body = json!({"city": 3});
        assert!(check_properties(body.as_object().unwrap()).is_err());
        let body = json!({"city": "Oslo", "businessPhones": ["1"], "accountEnabled": false});
        assert!(check_properties(body.as_object().unwrap()).is_ok());
        let body = json!({"id": "x"});
        assert!(check_properties(body.as_object().unwrap()).is_err());
    }
}
