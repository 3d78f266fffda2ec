//! Microsoft Graph licensing and sessions: `POST /users/{id|upn}/assignLicense` (200 with the user),
//! `GET /users/{id|upn}/licenseDetails`, `POST /users/{id|upn}/revokeSignInSessions`, and the
//! computed `assignedLicenses` / `licenseAssignmentStates` of users (direct licenses plus those
//! inherited from Entra groups with group-based licensing).
//!
//! What must stay true, as in Entra: `GraphUser.assigned_licenses` holds only the **direct**
//! licenses; a user holding a SKU directly and through a group uses one seat of it; disabled accounts
//! still use seats; an add past `prepaidUnits.enabled` is refused and changes nothing; every write
//! counts against the calling app's directory write budget (`graph_budget`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError, Query, USER_DEFAULT, project, render_user_in};
use crate::graph_users::{find_index, graph_time, json_object, not_replicated_yet, user_not_found};
use crate::server::Shared;
use crate::state::{AssignedLicense, GraphUser, State};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1.0/users/{id}/assignLicense", post(assign_license))
        .route("/v1.0/users/{id}/licenseDetails", get(license_details))
        .route(
            "/v1.0/users/{id}/revokeSignInSessions",
            post(revoke_sign_in_sessions),
        )
}

/// Assigning licenses (Graph's least privileged first).
const ASSIGN_LICENSES: &[&str] = &[
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];

/// Revoking a user's sessions.
const REVOKE_SESSIONS: &[&str] = &[
    "User.RevokeSessions.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];

/// Reading a user's license details.
const READ_LICENSE_DETAILS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("Request_BadRequest", message)
}

// ---------------------------------------------------------------------------------------------------
// What a user holds

/// One license a user holds: directly (`group: None`) or through an Entra group.
struct Held<'a> {
    sku_id: &'a str,
    disabled_plans: &'a [String],
    group: Option<&'a str>,
    updated: Option<&'a str>,
}

/// The user's licenses: direct ones first, then one per group license, in state order.
fn held<'a>(st: &'a State, u: &'a GraphUser) -> Vec<Held<'a>> {
    let mut out: Vec<Held<'a>> = u
        .assigned_licenses
        .iter()
        .map(|l| Held {
            sku_id: &l.sku_id,
            disabled_plans: &l.disabled_plans,
            group: None,
            updated: l.assigned_date_time.as_deref(),
        })
        .collect();
    for g in &st.microsoft.entra_groups {
        if g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.id)) {
            out.extend(g.assigned_licenses.iter().map(|l| Held {
                sku_id: &l.sku_id,
                disabled_plans: &l.disabled_plans,
                group: Some(&g.id),
                updated: l.assigned_date_time.as_deref(),
            }));
        }
    }
    out
}

/// Whether the user holds the SKU, directly or through a group.
fn holds(st: &State, u: &GraphUser, sku_id: &str) -> bool {
    held(st, u)
        .iter()
        .any(|h| h.sku_id.eq_ignore_ascii_case(sku_id))
}

/// Seats of a SKU in use: users holding it directly or through a group, each once.
pub(crate) fn consumed(st: &State, sku_id: &str) -> usize {
    st.microsoft
        .users
        .iter()
        .filter(|u| holds(st, u, sku_id))
        .count()
}

/// The SKU's held licenses merged: each SKU once, its disabled plans those disabled in every
/// assignment (a plan one assignment enables is enabled).
fn union(held: &[Held<'_>]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for h in held {
        match out
            .iter_mut()
            .find(|(sku, _)| sku.eq_ignore_ascii_case(h.sku_id))
        {
            Some((_, disabled)) => {
                disabled.retain(|p| h.disabled_plans.iter().any(|q| q.eq_ignore_ascii_case(p)))
            }
            None => out.push((h.sku_id.to_owned(), h.disabled_plans.to_vec())),
        }
    }
    out
}

/// Sets the computed `assignedLicenses` (direct and inherited) and `licenseAssignmentStates`, and
/// `signInSessionsValidFromDateTime` (the creation time until sessions are revoked), on a rendered
/// user.
pub(crate) fn add_license_fields(st: &State, u: &GraphUser, rendered: &mut Value) {
    let Some(obj) = rendered.as_object_mut() else {
        return;
    };
    let held = held(st, u);
    let assigned: Vec<Value> = union(&held)
        .into_iter()
        .map(|(sku, disabled)| json!({ "disabledPlans": disabled, "skuId": sku }))
        .collect();
    let states: Vec<Value> = held
        .iter()
        .map(|h| {
            json!({
                "assignedByGroup": h.group,
                "disabledPlans": h.disabled_plans,
                "error": "None",
                "lastUpdatedDateTime": h.updated.unwrap_or(&u.created_date_time),
                "skuId": h.sku_id,
                "state": "Active",
            })
        })
        .collect();
    obj.insert("assignedLicenses".into(), Value::Array(assigned));
    obj.insert("licenseAssignmentStates".into(), Value::Array(states));
    obj.entry("signInSessionsValidFromDateTime")
        .or_insert_with(|| json!(u.created_date_time));
}

// ---------------------------------------------------------------------------------------------------
// assignLicense

/// A parsed `assignLicense` body.
struct Assignment {
    add: Vec<AssignedLicense>,
    remove: Vec<String>,
}

fn invalid(property: &str) -> GraphError {
    bad(format!(
        "Invalid value specified for property '{property}' of resource 'User'."
    ))
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn parse_assignment(body: &Bytes) -> Result<Assignment, GraphError> {
    let body = json_object(body)?;
    let Some(Value::Array(add)) = body.get("addLicenses") else {
        return Err(invalid("addLicenses"));
    };
    let Some(Value::Array(remove)) = body.get("removeLicenses") else {
        return Err(invalid("removeLicenses"));
    };
    let mut parsed = Assignment {
        add: Vec::new(),
        remove: Vec::new(),
    };
    for a in add {
        let sku_id = a
            .get("skuId")
            .and_then(Value::as_str)
            .filter(|s| is_guid(s))
            .ok_or_else(|| invalid("addLicenses"))?;
        let disabled_plans = match a.get("disabledPlans") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(plans)) => plans
                .iter()
                .map(|p| p.as_str().filter(|s| is_guid(s)).map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid("addLicenses"))?,
            Some(_) => return Err(invalid("addLicenses")),
        };
        parsed.add.push(AssignedLicense {
            sku_id: sku_id.to_owned(),
            disabled_plans,
            assigned_date_time: None,
        });
    }
    for r in remove {
        let sku_id = r
            .as_str()
            .filter(|s| is_guid(s))
            .ok_or_else(|| invalid("removeLicenses"))?;
        parsed.remove.push(sku_id.to_owned());
    }
    Ok(parsed)
}

/// Applies an assignment to the user at `index`, with Graph's checks; nothing changes on an error.
fn apply(st: &mut State, index: usize, req: &Assignment, now: &str) -> Result<(), GraphError> {
    // Every SKU named must be one of the tenant's, and every disabled plan one of its SKU's plans.
    for sku_id in req
        .add
        .iter()
        .map(|a| a.sku_id.as_str())
        .chain(req.remove.iter().map(String::as_str))
    {
        if !st
            .microsoft
            .subscribed_skus
            .iter()
            .any(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
        {
            return Err(bad(format!(
                "License {sku_id} does not correspond to a valid company License."
            )));
        }
    }
    for a in &req.add {
        let sku = st
            .microsoft
            .subscribed_skus
            .iter()
            .find(|s| s.sku_id.eq_ignore_ascii_case(&a.sku_id));
        for plan in &a.disabled_plans {
            let known = sku.is_some_and(|s| {
                s.service_plans.iter().any(|p| {
                    p.get("servicePlanId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.eq_ignore_ascii_case(plan))
                })
            });
            if !known {
                return Err(bad(format!(
                    "Plan {plan} is not part of license {}.",
                    a.sku_id
                )));
            }
        }
    }
    let user = &st.microsoft.users[index];
    if !req.add.is_empty() && user.usage_location.as_deref().is_none_or(str::is_empty) {
        return Err(bad(
            "License assignment cannot be done for user with invalid usage location.",
        ));
    }
    if !req.remove.is_empty()
        && !req.remove.iter().any(|r| {
            user.assigned_licenses
                .iter()
                .any(|l| l.sku_id.eq_ignore_ascii_case(r))
        })
    {
        return Err(bad("User does not have a corresponding license."));
    }
    // Seats: a SKU the user does not hold yet (directly or by group) takes one.
    for a in &req.add {
        if holds(st, user, &a.sku_id) {
            continue;
        }
        let Some(sku) = st
            .microsoft
            .subscribed_skus
            .iter()
            .find(|s| s.sku_id.eq_ignore_ascii_case(&a.sku_id))
        else {
            continue;
        };
        let enabled = sku
            .prepaid_units
            .get("enabled")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if consumed(st, &a.sku_id) as u64 >= enabled {
            return Err(bad(format!(
                "Subscription with SKU {} does not have any available licenses.",
                sku.sku_id
            )));
        }
    }
    let user = &mut st.microsoft.users[index];
    user.assigned_licenses
        .retain(|l| !req.remove.iter().any(|r| r.eq_ignore_ascii_case(&l.sku_id)));
    for a in &req.add {
        let mut license = a.clone();
        license.assigned_date_time = Some(now.to_owned());
        match user
            .assigned_licenses
            .iter_mut()
            .find(|l| l.sku_id.eq_ignore_ascii_case(&a.sku_id))
        {
            // Adding a SKU the user holds directly replaces its disabled plans.
            Some(existing) => *existing = license,
            None => user.assigned_licenses.push(license),
        }
    }
    Ok(())
}

async fn assign_license(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    caller.require(ASSIGN_LICENSES)?;
    crate::graph_budget::directory_write(&shared, &caller).await?;
    not_replicated_yet(&shared, &id)?;
    let req = parse_assignment(&body)?;
    let now = graph_time(shared.now());
    let result = shared
        .mutate(|st| {
            let index = find_index(st, &id).ok_or_else(|| user_not_found(&id))?;
            apply(st, index, &req, &now)?;
            let user = &st.microsoft.users[index];
            let mut fields: Vec<&str> = USER_DEFAULT.to_vec();
            fields.push("assignedLicenses");
            let full = render_user_in(st, user);
            let mut body = Map::new();
            body.insert(
                "@odata.context".into(),
                json!(shared.url("/v1.0/$metadata#users/$entity")),
            );
            if let Value::Object(mut v) = project(&full, None, &fields) {
                body.append(&mut v);
            }
            Ok::<_, GraphError>(Value::Object(body))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(axum::Json(result?).into_response())
}

// ---------------------------------------------------------------------------------------------------
// licenseDetails

/// A stable `licenseDetails` id for a user and SKU (Graph's are opaque base64url strings).
fn details_id(user_id: &str, sku_id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(
        format!(
            "{}/{}",
            user_id.to_ascii_lowercase(),
            sku_id.to_ascii_lowercase()
        )
        .as_bytes(),
    );
    URL_SAFE_NO_PAD.encode(digest)
}

async fn license_details(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_LICENSE_DETAILS)?;
    query.reject_unsupported(&[])?;
    not_replicated_yet(&shared, &id)?;
    let st = shared.state.read().await;
    let index = find_index(&st, &id).ok_or_else(|| user_not_found(&id))?;
    let user = &st.microsoft.users[index];
    let value: Vec<Value> = union(&held(&st, user))
        .into_iter()
        .filter_map(|(sku_id, disabled)| {
            let sku = st
                .microsoft
                .subscribed_skus
                .iter()
                .find(|s| s.sku_id.eq_ignore_ascii_case(&sku_id))?;
            let plans: Vec<Value> = sku
                .service_plans
                .iter()
                .map(|p| {
                    let plan_id = p.get("servicePlanId").and_then(Value::as_str).unwrap_or("");
                    let off = disabled.iter().any(|d| d.eq_ignore_ascii_case(plan_id));
                    json!({
                        "appliesTo": p.get("appliesTo").cloned().unwrap_or(json!("User")),
                        "provisioningStatus": if off { json!("Disabled") } else { p.get("provisioningStatus").cloned().unwrap_or(json!("Success")) },
                        "servicePlanId": plan_id,
                        "servicePlanName": p.get("servicePlanName").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            Some(json!({
                "id": details_id(&user.id, &sku.sku_id),
                "servicePlans": plans,
                "skuId": sku.sku_id,
                "skuPartNumber": sku.sku_part_number,
            }))
        })
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": shared.url(&format!("/v1.0/$metadata#users('{}')/licenseDetails", user.id)),
        "value": value,
    }))
    .into_response())
}

// ---------------------------------------------------------------------------------------------------
// revokeSignInSessions

async fn revoke_sign_in_sessions(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Response> {
    caller.require(REVOKE_SESSIONS)?;
    crate::graph_budget::directory_write(&shared, &caller).await?;
    not_replicated_yet(&shared, &id)?;
    let now = graph_time(shared.now());
    let result = shared
        .mutate(|st| {
            let index = find_index(st, &id).ok_or_else(|| user_not_found(&id))?;
            st.microsoft.users[index]
                .extra
                .insert("signInSessionsValidFromDateTime".into(), json!(now));
            Ok::<_, GraphError>(())
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result?;
    Ok((
        StatusCode::OK,
        axum::Json(json!({
            "@odata.context": shared.url("/v1.0/$metadata#Edm.Boolean"),
            "value": true,
        })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sku_held_twice_is_one_license_with_the_plans_disabled_in_both() {
        let a = vec!["p1".to_owned(), "p2".to_owned()];
        let b = vec!["p2".to_owned()];
        let held = [
            Held {
                sku_id: "S",
                disabled_plans: &a,
                group: None,
                updated: None,
            },
            Held {
                sku_id: "s",
                disabled_plans: &b,
                group: Some("g"),
                updated: None,
            },
        ];
        assert_eq!(union(&held), vec![("S".to_owned(), vec!["p2".to_owned()])]);
    }
}
