//! Microsoft Graph groups, read only: `GET /v1.0/groups/{id}` (with `$select`) for the Entra groups of
//! group-based licensing (`entra_groups`), so a client can name the group a user inherits a license from.
//! Needs Group.Read.All, GroupMember.Read.All or Directory.Read.All (or a ReadWrite variant), else 403
//! `Authorization_RequestDenied`, as the other reads; an unknown id is 404 `Request_ResourceNotFound`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError, Query, parse_select, project};
use crate::server::Shared;
use crate::state::EntraGroup;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1.0/groups/{id}", get(get_group))
}

/// Reading a group (Graph's least privileged first).
const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
];

/// The `group` properties the sandbox serves (and accepts in `$select`).
const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "groupTypes",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
];

/// A group as Graph serves it: a security group, not mail enabled.
fn render_group(g: &EntraGroup) -> Value {
    let nickname: String = g
        .display_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    json!({
        "id": g.id,
        "displayName": g.display_name,
        "description": Value::Null,
        "groupTypes": [],
        "mailEnabled": false,
        "mailNickname": nickname,
        "securityEnabled": true,
    })
}

async fn get_group(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_GROUPS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, GROUP_PROPERTIES, "group")?;
    let st = shared.state.read().await;
    let group = st
        .microsoft
        .entra_groups
        .iter()
        .find(|g| g.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            )
        })?;
    let body = project(&render_group(group), select.as_deref(), GROUP_PROPERTIES);
    let context = match &select {
        Some(s) => shared.url(&format!("/v1.0/$metadata#groups({})/$entity", s.join(","))),
        None => shared.url("/v1.0/$metadata#groups/$entity"),
    };
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(context));
    if let Value::Object(mut fields) = body {
        out.append(&mut fields);
    }
    Ok(axum::Json(Value::Object(out)).into_response())
}
