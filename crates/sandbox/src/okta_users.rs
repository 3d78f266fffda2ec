//! Okta user writes: `POST /api/v1/users?activate=` (create, optionally into `groupIds`),
//! `POST /api/v1/users/{id}` (partial profile update, a `user.account.update_profile` event), and
//! `DELETE /api/v1/users/{id}` (the first call deactivates, the second deletes), each with the System
//! Log events Okta records.
//!
//! What must stay true: a password sent in `credentials` is never stored; validation errors are Okta's
//! E0000001 with one cause per field.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::okta::{OktaError, Principal, Query, find_user, render_user};
use crate::server::{Shared, okta_id, okta_time};
use crate::state::{LogEvent, OktaUser, State};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/v1/users", post(create_user))
        .route("/api/v1/users/{id}", post(update_user).delete(delete_user))
}

fn malformed() -> OktaError {
    OktaError::new(
        StatusCode::BAD_REQUEST,
        "E0000003",
        "The request body was not well-formed.",
    )
}

fn login_of(u: &OktaUser) -> String {
    u.profile
        .get("login")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The `target` entry of a user in a LogEvent.
fn user_target(u: &OktaUser) -> Value {
    let display = u
        .profile
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let part = |k: &str| u.profile.get(k).and_then(Value::as_str).unwrap_or_default();
            format!("{} {}", part("firstName"), part("lastName"))
                .trim()
                .to_owned()
        });
    json!({ "id": u.id, "type": "User", "alternateId": login_of(u), "displayName": display })
}

/// Records a System Log event with these targets.
pub(crate) fn record(
    st: &mut State,
    now: Timestamp,
    who: &Principal,
    event_type: &str,
    message: &str,
    target: Vec<Value>,
) {
    st.okta.events.push(LogEvent {
        uuid: uuid::Uuid::new_v4().to_string(),
        published: okta_time(now),
        event_type: event_type.into(),
        display_message: message.into(),
        severity: "INFO".into(),
        actor: who.actor(),
        target,
        outcome: json!({ "result": "SUCCESS", "reason": Value::Null }),
        transaction: json!({ "type": "WEB", "id": okta_id("", 27) }),
    });
}

/// A plain `local@domain` address.
fn is_email(s: &str) -> bool {
    s.rsplit_once('@')
        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !s.contains(char::is_whitespace))
}

/// Checks a profile as Okta's base schema does; `complete` for a new user (required attributes).
fn check_profile(
    st: &State,
    profile: &Map<String, Value>,
    complete: bool,
    self_id: Option<&str>,
) -> Result<(), OktaError> {
    for (k, v) in profile {
        if !(v.is_string() || v.is_null() || v.is_number() || v.is_boolean() || v.is_array()) {
            return Err(OktaError::validation(
                k,
                format!("{k}: Does not match the attribute's type"),
            ));
        }
    }
    let text = |k: &str| profile.get(k).and_then(Value::as_str).map(str::trim);
    for required in ["login", "email", "firstName", "lastName"] {
        let blank = match profile.get(required) {
            None => complete,
            Some(v) => v.as_str().is_none_or(|s| s.trim().is_empty()),
        };
        if blank {
            return Err(OktaError::validation(
                required,
                format!("{required}: The field cannot be left blank"),
            ));
        }
    }
    if let Some(login) = text("login") {
        if login.chars().count() > 100 {
            return Err(OktaError::validation(
                "login",
                "login: The field is too long (100 characters at most)",
            ));
        }
        if !is_email(login) {
            return Err(OktaError::validation(
                "login",
                "login: Username must be in the form of an email address",
            ));
        }
        if st
            .okta
            .users
            .iter()
            .any(|u| Some(u.id.as_str()) != self_id && login_of(u).eq_ignore_ascii_case(login))
        {
            return Err(OktaError::validation(
                "login",
                "login: An object with this field already exists in the current organization",
            ));
        }
    }
    for k in ["email", "secondEmail"] {
        if let Some(e) = text(k).filter(|e| !e.is_empty())
            && !is_email(e)
        {
            return Err(OktaError::validation(
                k,
                format!("{k}: Does not match required pattern"),
            ));
        }
    }
    Ok(())
}

/// `POST /api/v1/users?activate=true|false`: 200 with the user. Activated with a password → ACTIVE;
/// activated without one → PROVISIONED (an activation email would go out); `activate=false` → STAGED.
async fn create_user(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    query: Query,
    body: Bytes,
) -> Result<Response, OktaError> {
    let activate = match query.map.get("activate").map(String::as_str) {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return Err(OktaError::validation(
                "activate",
                format!("activate: {other:?} must be true or false"),
            ));
        }
    };
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    let profile = body
        .get("profile")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            OktaError::validation("profile", "profile: The field cannot be left blank")
        })?;
    let has_password = body
        .pointer("/credentials/password/value")
        .and_then(Value::as_str)
        .is_some_and(|p| !p.is_empty());
    if has_password
        && body
            .pointer("/credentials/password/value")
            .and_then(Value::as_str)
            .is_some_and(|p| p.chars().count() < 8)
    {
        return Err(OktaError::validation(
            "password",
            "password: Password requirements were not met. Password requirements: at least 8 characters.",
        ));
    }
    let group_ids: Vec<String> = match body.get("groupIds") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|g| g.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| OktaError::validation("groupIds", "groupIds: must be group ids"))?,
        Some(_) => {
            return Err(OktaError::validation(
                "groupIds",
                "groupIds: must be a list of group ids",
            ));
        }
    };
    let now = shared.now();
    let user = shared
        .mutate(|st| {
            check_profile(st, &profile, true, None)?;
            for gid in &group_ids {
                let g = st
                    .okta
                    .groups
                    .iter()
                    .find(|g| g.id == *gid)
                    .ok_or_else(|| OktaError::not_found(gid, "UserGroup"))?;
                if g.kind != "OKTA_GROUP" {
                    return Err(OktaError::access_denied());
                }
            }
            let status = match (activate, has_password) {
                (false, _) => "STAGED",
                (true, true) => "ACTIVE",
                (true, false) => "PROVISIONED",
            };
            let user = OktaUser {
                id: okta_id("00u", 20),
                status: status.into(),
                created: okta_time(now),
                activated: activate.then(|| okta_time(now)),
                last_updated: okta_time(now),
                profile,
            };
            st.okta.users.push(user.clone());
            record(st, now, &who, "user.lifecycle.create", "Create okta user", vec![user_target(&user)]);
            if activate {
                record(st, now, &who, "user.lifecycle.activate", "Activate Okta user", vec![user_target(&user)]);
            }
            for gid in &group_ids {
                let Some(g) = st.okta.groups.iter_mut().find(|g| g.id == *gid) else {
                    continue;
                };
                g.members.push(user.id.clone());
                g.last_membership_updated = okta_time(now);
                let group_target = json!({ "id": g.id, "type": "UserGroup", "alternateId": "unknown", "displayName": g.profile.name });
                record(
                    st,
                    now,
                    &who,
                    "group.user_membership.add",
                    "Add user to group membership",
                    vec![user_target(&user), group_target],
                );
            }
            Ok(user)
        })
        .await??;
    Ok(axum::Json(render_user(&shared, &user)).into_response())
}

/// `POST /api/v1/users/{id}`: merges the given profile attributes (a `null` clears one), records
/// `user.account.update_profile` when something changed, 200 with the user.
async fn update_user(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| malformed())?;
    let changes = match body.get("profile") {
        None => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => {
            return Err(OktaError::validation(
                "profile",
                "profile: must be an object of attributes",
            ));
        }
    };
    let now = shared.now();
    let user = shared
        .mutate(|st| {
            let uid = find_user(st, &id)
                .map(|u| u.id.clone())
                .ok_or_else(|| OktaError::not_found(&id, "User"))?;
            check_profile(st, &changes, false, Some(&uid))?;
            let user = st
                .okta
                .users
                .iter_mut()
                .find(|u| u.id == uid)
                .ok_or_else(|| OktaError::not_found(&id, "User"))?;
            if user.status == "DEPROVISIONED" {
                return Err(OktaError::new(
                    StatusCode::FORBIDDEN,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                ));
            }
            let mut changed = false;
            for (k, v) in changes {
                let current = user.profile.get(&k).cloned().unwrap_or(Value::Null);
                if current != v {
                    changed = true;
                    if v.is_null() {
                        user.profile.remove(&k);
                    } else {
                        user.profile.insert(k, v);
                    }
                }
            }
            if changed {
                user.last_updated = okta_time(now);
            }
            let user = user.clone();
            if changed {
                record(
                    st,
                    now,
                    &who,
                    "user.account.update_profile",
                    "Update user profile for Okta",
                    vec![user_target(&user)],
                );
            }
            Ok(user)
        })
        .await??;
    Ok(axum::Json(render_user(&shared, &user)).into_response())
}

/// `DELETE /api/v1/users/{id}`: a user who is not deactivated yet is deactivated
/// (`user.lifecycle.deactivate`); a deactivated one is deleted with its memberships
/// (`user.lifecycle.delete.initiated`). 204 either way.
async fn delete_user(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, OktaError> {
    let now = shared.now();
    shared
        .mutate(|st| {
            let uid = find_user(st, &id)
                .map(|u| u.id.clone())
                .ok_or_else(|| OktaError::not_found(&id, "User"))?;
            let index = st
                .okta
                .users
                .iter()
                .position(|u| u.id == uid)
                .ok_or_else(|| OktaError::not_found(&id, "User"))?;
            if st.okta.users[index].status != "DEPROVISIONED" {
                let user = &mut st.okta.users[index];
                user.status = "DEPROVISIONED".into();
                user.last_updated = okta_time(now);
                let target = user_target(user);
                record(
                    st,
                    now,
                    &who,
                    "user.lifecycle.deactivate",
                    "Deactivate Okta user",
                    vec![target],
                );
            } else {
                let user = st.okta.users.remove(index);
                for g in &mut st.okta.groups {
                    if g.members.contains(&user.id) {
                        g.members.retain(|m| *m != user.id);
                        g.last_membership_updated = okta_time(now);
                    }
                }
                record(
                    st,
                    now,
                    &who,
                    "user.lifecycle.delete.initiated",
                    "Delete Okta user",
                    vec![user_target(&user)],
                );
            }
            Ok::<(), OktaError>(())
        })
        .await??;
    Ok(StatusCode::NO_CONTENT)
}
