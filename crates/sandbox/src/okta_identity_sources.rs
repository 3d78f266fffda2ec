//! Okta's Identity Sources API (Anything-as-a-Source import sessions) with Okta's rules:
//! `/api/v1/identity-sources/{sourceId}/sessions` (list the active sessions, create one),
//! `/sessions/{id}` (get, delete), `/sessions/{id}/bulk-upsert`, `/bulk-delete` and `/start-import`,
//! plus the control endpoints `/_sandbox/identity-sources/rules`, `/fail-next` and `/{id}/stats`.
//!
//! Status machine: CREATED (uploads allowed, cancellable) → TRIGGERED by start-import → COMPLETED or
//! ERROR once processed; DELETE of a CREATED session → CLOSED; a CREATED session idle 24 h → EXPIRED.
//! Processing runs on the sandbox clock and is evaluated lazily: whenever a session, the session list or
//! the stats are read, and when a session is created. A completed session applies its data to the org's
//! users (upsert → create or update the user linked to the externalId; delete → deactivate) and drops
//! the uploaded data, keeping its counts.
//!
//! What must stay true: every refusal is Okta's error JSON (400 `E0000001` with one `errorCauses` entry
//! per problem, naming the field and the profile's index; 404 `E0000007` for an unknown source or
//! session); at most one active (CREATED or TRIGGERED) session per source; a session never holds more
//! than 50 bulk requests or 10,000 distinct users.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::okta::{IdentitySource, OktaError, Principal};
use crate::server::{PersistFailed, Shared, okta_id, okta_time};
use crate::state::{LogEvent, OktaUser, State};

/// Profiles per bulk request.
const MAX_PROFILES: usize = 200;
/// Bulk requests per session.
const MAX_BULK_REQUESTS: u32 = 50;
/// Distinct users per session.
const MAX_USERS: usize = 10_000;
/// Longest `externalId`.
const MAX_EXTERNAL_ID: usize = 512;
/// A CREATED session idle this long expires.
const EXPIRY_SECS: i64 = 24 * 3600;

/// Identity-source attributes copied to the Okta user's profile (`userName` becomes `login`).
const PROFILE_ATTRIBUTES: [&str; 14] = [
    "firstName",
    "lastName",
    "email",
    "secondEmail",
    "mobilePhone",
    "title",
    "displayName",
    "primaryPhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "countryCode",
    "homeAddress",
];

/// Attributes the spec declares `nullable`: `null` is accepted (and clears the attribute).
const NULLABLE: [&str; 4] = ["firstName", "lastName", "mobilePhone", "homeAddress"];

// ---------------------------------------------------------------------------------------------------
// State

/// The timing rules, changed through `POST /_sandbox/identity-sources/rules`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportRules {
    /// A new session within this many seconds of the source's last session's creation → 400.
    pub min_gap_secs: f64,
    /// Fixed processing time of a triggered session.
    pub processing_secs: f64,
    /// Added processing time per 1,000 users of the session.
    #[serde(rename = "secsPer1000Users")]
    pub secs_per_1000_users: f64,
}

impl Default for ImportRules {
    fn default() -> ImportRules {
        ImportRules {
            min_gap_secs: 300.0,
            processing_secs: 5.0,
            secs_per_1000_users: 2.0,
        }
    }
}

/// Import sessions of every identity source, what links external ids to Okta users, and counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportState {
    #[serde(default)]
    pub rules: ImportRules,
    /// How many of the next sessions to finish processing end in ERROR.
    #[serde(default)]
    pub fail_next: u32,
    #[serde(default)]
    pub sessions: Vec<ImportSession>,
    /// Per identity source id: externalId → Okta user id.
    #[serde(default)]
    pub links: BTreeMap<String, BTreeMap<String, String>>,
    /// Per identity source id.
    #[serde(default)]
    pub stats: BTreeMap<String, SourceStats>,
}

/// Counters of one identity source (`GET /_sandbox/identity-sources/{id}/stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SourceStats {
    /// Sessions created.
    pub sessions: u64,
    /// Bulk requests accepted (upsert and delete).
    pub bulk_requests: u64,
    /// Distinct users upserted by sessions that completed.
    pub users_upserted: u64,
    /// Distinct users deleted (deactivated, or ignored when unknown) by sessions that completed.
    pub users_deleted: u64,
}

/// One import session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportSession {
    pub id: String,
    pub identity_source_id: String,
    pub status: String,
    pub created: String,
    pub last_updated: String,
    pub bulk_requests: u32,
    /// Distinct users uploaded.
    pub users: usize,
    /// Of them, upserted and deleted (the last operation of each user counts).
    pub upserts: usize,
    pub deletes: usize,
    /// When a TRIGGERED session's users are applied and it turns IN_PROGRESS: half way through its
    /// processing, so that the work is done within the processing time, as Okta does it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_at: Option<String>,
    /// When a TRIGGERED or IN_PROGRESS session finishes processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completes_at: Option<String>,
    /// Set when the session was picked to fail (`fail-next`): it applies nothing and ends in ERROR.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fails: bool,
    /// The uploaded data by externalId, kept only until the session completes, closes or expires.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Pending>,
}

/// What a session will do to one user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub(crate) enum Pending {
    Upsert { profile: Map<String, Value> },
    Delete,
}

fn is_active(status: &str) -> bool {
    matches!(status, "CREATED" | "IN_PROGRESS" | "TRIGGERED")
}

fn parse_time(s: &str) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn render(s: &ImportSession) -> Value {
    json!({
        "id": s.id,
        "identitySourceId": s.identity_source_id,
        "status": s.status,
        "importType": "INCREMENTAL",
        "created": s.created,
        "lastUpdated": s.last_updated,
    })
}

// ---------------------------------------------------------------------------------------------------
// Processing on the sandbox clock

/// Expires idle CREATED sessions, applies the users of TRIGGERED ones half way through their
/// processing (they turn IN_PROGRESS) and finishes those whose processing time is over. Returns whether
/// anything changed.
fn advance(st: &mut State, shared: &Shared, now: Timestamp) -> bool {
    let mut changed = false;
    for i in 0..st.okta.imports.sessions.len() {
        let s = &mut st.okta.imports.sessions[i];
        match s.status.as_str() {
            "CREATED" => {
                let idle_until = parse_time(&s.last_updated)
                    .checked_add(SignedDuration::from_secs(EXPIRY_SECS))
                    .unwrap_or(now);
                if idle_until <= now {
                    s.status = "EXPIRED".into();
                    s.last_updated = okta_time(idle_until);
                    s.data.clear();
                    changed = true;
                }
            }
            "TRIGGERED" | "IN_PROGRESS" => {
                let due = s.completes_at.as_deref().map_or(now, parse_time);
                let applies = s.applies_at.as_deref().map_or(due, parse_time).min(due);
                if s.status == "TRIGGERED" && applies <= now {
                    apply(st, shared, i, applies, now);
                    changed = true;
                }
                let s = &mut st.okta.imports.sessions[i];
                if due <= now {
                    s.status = if s.fails { "ERROR" } else { "COMPLETED" }.into();
                    s.last_updated = okta_time(due);
                    s.applies_at = None;
                    s.completes_at = None;
                    changed = true;
                }
            }
            _ => {}
        }
    }
    changed
}

/// Applies session `i`'s users and turns it IN_PROGRESS; a session picked to fail applies nothing.
fn apply(st: &mut State, shared: &Shared, i: usize, applies: Timestamp, now: Timestamp) {
    let imports = &mut st.okta.imports;
    let s = &mut imports.sessions[i];
    let data = std::mem::take(&mut s.data);
    s.last_updated = okta_time(applies);
    s.status = "IN_PROGRESS".into();
    if imports.fail_next > 0 {
        imports.fail_next -= 1;
        s.fails = true;
        return;
    }
    let source_id = s.identity_source_id.clone();
    let (upserts, deletes) = (s.upserts as u64, s.deletes as u64);
    let stats = imports.stats.entry(source_id.clone()).or_default();
    stats.users_upserted += upserts;
    stats.users_deleted += deletes;
    let name = source(shared, &source_id).map_or_else(|_| source_id.clone(), |s| s.name.clone());
    let actor = Principal::ServiceApp {
        client_id: source_id.clone(),
        name,
    }
    .actor();
    let mut index = UserIndex::new(st);
    for (external_id, op) in data {
        match op {
            Pending::Upsert { profile } => upsert_user(
                st,
                &mut index,
                &source_id,
                &external_id,
                &profile,
                &actor,
                now,
            ),
            Pending::Delete => deactivate_user(st, &source_id, &external_id, &actor, now),
        }
    }
}

/// Positions of the org's users by id and by lower-case login, so that a session of 10,000 users is
/// applied in linear time.
struct UserIndex {
    by_id: HashMap<String, usize>,
    by_login: HashMap<String, usize>,
}

impl UserIndex {
    fn new(st: &State) -> UserIndex {
        let mut index = UserIndex {
            by_id: HashMap::new(),
            by_login: HashMap::new(),
        };
        for (i, u) in st.okta.users.iter().enumerate() {
            index.add(i, u);
        }
        index
    }

    fn add(&mut self, i: usize, u: &OktaUser) {
        self.by_id.insert(u.id.clone(), i);
        self.by_login.insert(login_of(u).to_lowercase(), i);
    }
}

/// The Okta profile attributes an identity-source profile sets (`None`: clear the attribute).
fn okta_attributes(profile: &Map<String, Value>) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(login) = profile.get("userName").and_then(Value::as_str) {
        out.push(("login".to_owned(), Some(login.to_owned())));
    }
    for attr in PROFILE_ATTRIBUTES {
        match profile.get(attr) {
            Some(Value::String(v)) => out.push((attr.to_owned(), Some(v.clone()))),
            Some(Value::Null) => out.push((attr.to_owned(), None)),
            _ => {}
        }
    }
    out
}

fn login_of(u: &OktaUser) -> &str {
    u.profile
        .get("login")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn user_target(u: &OktaUser) -> Value {
    let part = |k: &str| u.profile.get(k).and_then(Value::as_str).unwrap_or_default();
    let display = u
        .profile
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            format!("{} {}", part("firstName"), part("lastName"))
                .trim()
                .to_owned()
        });
    json!({ "id": u.id, "type": "User", "alternateId": login_of(u), "displayName": display })
}

fn log(
    st: &mut State,
    now: Timestamp,
    actor: &Value,
    event_type: &str,
    message: &str,
    user: &OktaUser,
) {
    st.okta.events.push(LogEvent {
        uuid: uuid::Uuid::new_v4().to_string(),
        published: okta_time(now),
        event_type: event_type.into(),
        display_message: message.into(),
        severity: "INFO".into(),
        actor: actor.clone(),
        target: vec![user_target(user)],
        outcome: json!({ "result": "SUCCESS", "reason": Value::Null }),
        transaction: json!({ "type": "JOB", "id": okta_id("", 27) }),
    });
}

/// Creates the user of `external_id`, or updates (and reactivates) the one linked to it. An unlinked
/// user whose login is the `userName` is linked, as Okta's import matches on the username.
fn upsert_user(
    st: &mut State,
    users: &mut UserIndex,
    source_id: &str,
    external_id: &str,
    profile: &Map<String, Value>,
    actor: &Value,
    now: Timestamp,
) {
    let attributes = okta_attributes(profile);
    let login = profile
        .get("userName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let linked = st
        .okta
        .imports
        .links
        .get(source_id)
        .and_then(|l| l.get(external_id))
        .and_then(|uid| users.by_id.get(uid).copied());
    let by_login = users.by_login.get(&login.to_lowercase()).copied();
    let index = linked.or(by_login.filter(|_| !login.is_empty()));
    let Some(index) = index else {
        let mut okta_profile = Map::new();
        for (k, v) in attributes {
            if let Some(v) = v {
                okta_profile.insert(k, Value::String(v));
            }
        }
        let user = OktaUser {
            id: okta_id("00u", 20),
            status: "ACTIVE".into(),
            created: okta_time(now),
            activated: Some(okta_time(now)),
            last_updated: okta_time(now),
            profile: okta_profile,
        };
        st.okta
            .imports
            .links
            .entry(source_id.to_owned())
            .or_default()
            .insert(external_id.to_owned(), user.id.clone());
        log(
            st,
            now,
            actor,
            "user.lifecycle.create",
            "Create okta user",
            &user,
        );
        log(
            st,
            now,
            actor,
            "user.lifecycle.activate",
            "Activate Okta user",
            &user,
        );
        users.add(st.okta.users.len(), &user);
        st.okta.users.push(user);
        return;
    };
    let uid = st.okta.users[index].id.clone();
    let old_login = login_of(&st.okta.users[index]).to_lowercase();
    let login_taken = by_login.is_some_and(|other| other != index);
    if !login_taken && !login.is_empty() && old_login != login.to_lowercase() {
        users.by_login.remove(&old_login);
        users.by_login.insert(login.to_lowercase(), index);
    }
    st.okta
        .imports
        .links
        .entry(source_id.to_owned())
        .or_default()
        .insert(external_id.to_owned(), uid);
    let user = &mut st.okta.users[index];
    let mut changed = false;
    for (k, v) in attributes {
        if k == "login" && login_taken {
            continue;
        }
        let current = user.profile.get(&k).and_then(Value::as_str);
        if current != v.as_deref() {
            changed = true;
            match v {
                Some(v) => user.profile.insert(k, Value::String(v)),
                None => user.profile.remove(&k),
            };
        }
    }
    let reactivate = user.status == "DEPROVISIONED";
    if reactivate {
        user.status = "ACTIVE".into();
        user.activated = Some(okta_time(now));
    }
    if changed || reactivate {
        user.last_updated = okta_time(now);
    }
    let user = user.clone();
    if changed {
        log(
            st,
            now,
            actor,
            "user.account.update_profile",
            "Update user profile for Okta",
            &user,
        );
    }
    if reactivate {
        log(
            st,
            now,
            actor,
            "user.lifecycle.reactivate",
            "Reactivate Okta user",
            &user,
        );
    }
}

/// Deactivates the user linked to `external_id`; an unknown external id is ignored, as Okta does.
fn deactivate_user(
    st: &mut State,
    source_id: &str,
    external_id: &str,
    actor: &Value,
    now: Timestamp,
) {
    let Some(uid) = st
        .okta
        .imports
        .links
        .get(source_id)
        .and_then(|l| l.get(external_id))
        .cloned()
    else {
        return;
    };
    let Some(user) = st.okta.users.iter_mut().find(|u| u.id == uid) else {
        return;
    };
    if user.status == "DEPROVISIONED" {
        return;
    }
    user.status = "DEPROVISIONED".into();
    user.last_updated = okta_time(now);
    let user = user.clone();
    log(
        st,
        now,
        actor,
        "user.lifecycle.deactivate",
        "Deactivate Okta user",
        &user,
    );
}

// ---------------------------------------------------------------------------------------------------
// Request handling

/// Runs `f` on the state after [`advance`], and saves the state when `f` succeeded and `writes`, or
/// when processing changed something.
async fn with_state<R>(
    shared: &Shared,
    writes: bool,
    f: impl FnOnce(&mut State, Timestamp) -> Result<R, OktaError>,
) -> Result<R, OktaError> {
    let now = shared.now();
    let mut st = shared.state.write().await;
    let advanced = advance(&mut st, shared, now);
    let result = f(&mut st, now);
    if (advanced || (writes && result.is_ok()))
        && let Some(path) = &shared.state_file
    {
        st.save(path)
            .map_err(|e| OktaError::from(PersistFailed(e)))?;
    }
    result
}

/// The seeded identity source with this id, else 404 E0000007.
fn source<'a>(shared: &'a Shared, id: &str) -> Result<&'a IdentitySource, OktaError> {
    shared
        .seed
        .data()
        .okta
        .identity_sources
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| OktaError::not_found(id, "IdentitySource"))
}

fn session_index(st: &State, source_id: &str, id: &str) -> Result<usize, OktaError> {
    st.okta
        .imports
        .sessions
        .iter()
        .position(|s| s.id == id && s.identity_source_id == source_id)
        .ok_or_else(|| OktaError::not_found(id, "IdentitySourceSession"))
}

/// 400 E0000001 with these causes.
fn invalid(field: &str, causes: Vec<String>) -> OktaError {
    let mut causes = causes.into_iter();
    let first = causes
        .next()
        .unwrap_or_else(|| format!("{field}: is not valid"));
    OktaError::validation(field, first).with_causes(causes)
}

pub(crate) fn router() -> Router<Arc<Shared>> {
    const BASE: &str = "/api/v1/identity-sources/{source}/sessions";
    Router::new()
        .route(BASE, get(list_sessions).post(create_session))
        .route(
            &format!("{BASE}/{{id}}"),
            get(get_session).delete(delete_session),
        )
        .route(&format!("{BASE}/{{id}}/bulk-upsert"), post(bulk_upsert))
        .route(&format!("{BASE}/{{id}}/bulk-delete"), post(bulk_delete))
        .route(&format!("{BASE}/{{id}}/start-import"), post(start_import))
}

/// `GET …/sessions`: the source's active (CREATED or TRIGGERED) sessions, oldest first.
async fn list_sessions(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path(source_id): Path<String>,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let list = with_state(&shared, false, |st, _| {
        let mut active: Vec<&ImportSession> = st
            .okta
            .imports
            .sessions
            .iter()
            .filter(|s| s.identity_source_id == source_id && is_active(&s.status))
            .collect();
        active.sort_by(|a, b| a.created.cmp(&b.created));
        Ok(active.into_iter().map(render).collect::<Vec<_>>())
    })
    .await?;
    Ok(axum::Json(Value::Array(list)).into_response())
}

/// `POST …/sessions`: 200 with a CREATED session; 400 while the source has an active session or
/// within `minGapSecs` of its last session's creation.
async fn create_session(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path(source_id): Path<String>,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let session = with_state(&shared, true, |st, now| {
        let imports = &mut st.okta.imports;
        let mine = || {
            imports
                .sessions
                .iter()
                .filter(|s| s.identity_source_id == source_id)
        };
        if let Some(active) = mine().find(|s| is_active(&s.status)) {
            return Err(invalid(
                "identitySourceSession",
                vec![format!(
                    "Only one active import session per identity source is allowed: session {} is {}. \
                     Delete it while it is CREATED, or wait until it completes.",
                    active.id, active.status
                )],
            ));
        }
        if let Some(last) = mine().map(|s| parse_time(&s.created)).max() {
            let gap_ms = (imports.rules.min_gap_secs * 1000.0).round() as i64;
            let allowed = last
                .checked_add(SignedDuration::from_millis(gap_ms))
                .unwrap_or(last);
            if now < allowed {
                return Err(invalid(
                    "identitySourceSession",
                    vec![format!(
                        "Only one active import session per identity source is allowed to be created every {} seconds: \
                         the last one was created at {}; create the next at {} or later.",
                        imports.rules.min_gap_secs,
                        okta_time(last),
                        okta_time(allowed)
                    )],
                ));
            }
        }
        let session = ImportSession {
            id: okta_id("aps", 20),
            identity_source_id: source_id.clone(),
            status: "CREATED".into(),
            created: okta_time(now),
            last_updated: okta_time(now),
            bulk_requests: 0,
            users: 0,
            upserts: 0,
            deletes: 0,
            applies_at: None,
            completes_at: None,
            fails: false,
            data: BTreeMap::new(),
        };
        imports.stats.entry(source_id.clone()).or_default().sessions += 1;
        let out = render(&session);
        imports.sessions.push(session);
        Ok(out)
    })
    .await?;
    Ok(axum::Json(session).into_response())
}

/// `GET …/sessions/{id}`.
async fn get_session(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path((source_id, id)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let session = with_state(&shared, false, |st, _| {
        let i = session_index(st, &source_id, &id)?;
        Ok(render(&st.okta.imports.sessions[i]))
    })
    .await?;
    Ok(axum::Json(session).into_response())
}

/// `DELETE …/sessions/{id}`: a CREATED session is cancelled (CLOSED, its data dropped), 204; any other
/// status → 400.
async fn delete_session(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path((source_id, id)): Path<(String, String)>,
) -> Result<StatusCode, OktaError> {
    source(&shared, &source_id)?;
    with_state(&shared, true, |st, now| {
        let i = session_index(st, &source_id, &id)?;
        let s = &mut st.okta.imports.sessions[i];
        if s.status != "CREATED" {
            return Err(invalid(
                "identitySourceSession",
                vec![format!(
                    "Session {id} is {}; only a CREATED session can be deleted.",
                    s.status
                )],
            ));
        }
        s.status = "CLOSED".into();
        s.last_updated = okta_time(now);
        s.data.clear();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST …/sessions/{id}/start-import`: CREATED → TRIGGERED (200 with the session); half way through
/// its processing (`processingSecs` + `secsPer1000Users` × users / 1000) its users are applied
/// (IN_PROGRESS), at the end it is COMPLETED. Any other status → 400. A task wakes the state at both
/// moments, so the work is not left to the next request; a moved clock is caught up by that request.
async fn start_import(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path((source_id, id)): Path<(String, String)>,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let (session, ms) = with_state(&shared, true, |st, now| {
        let i = session_index(st, &source_id, &id)?;
        let rules = st.okta.imports.rules.clone();
        let s = &mut st.okta.imports.sessions[i];
        if s.status != "CREATED" {
            return Err(invalid(
                "identitySourceSession",
                vec![format!(
                    "Session {id} is {}; an import can only be started from a CREATED session.",
                    s.status
                )],
            ));
        }
        let ms = (rules.processing_secs * 1000.0 + rules.secs_per_1000_users * s.users as f64)
            .round()
            .max(0.0) as u64;
        let at = |ms: u64| {
            now.checked_add(SignedDuration::from_millis(ms as i64))
                .unwrap_or(now)
        };
        s.status = "TRIGGERED".into();
        s.last_updated = okta_time(now);
        s.applies_at = Some(okta_time(at(ms / 2)));
        s.completes_at = Some(okta_time(at(ms)));
        Ok((render(s), ms))
    })
    .await?;
    let weak = Arc::downgrade(&shared);
    tokio::spawn(async move {
        for wait in [ms / 2, ms - ms / 2] {
            // One millisecond more: the times above are kept to the millisecond.
            tokio::time::sleep(std::time::Duration::from_millis(wait + 1)).await;
            // The sandbox is gone (stopped): nothing to do.
            let Some(shared) = weak.upgrade() else {
                return;
            };
            let _ = with_state(&shared, false, |_, _| Ok(())).await;
        }
    });
    Ok(axum::Json(session).into_response())
}

/// `POST …/sessions/{id}/bulk-upsert`: 202, no body.
async fn bulk_upsert(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path((source_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let parsed = parse_bulk(&body, true);
    upload(&shared, &source_id, &id, parsed).await
}

/// `POST …/sessions/{id}/bulk-delete`: 202, no body.
async fn bulk_delete(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path((source_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, OktaError> {
    source(&shared, &source_id)?;
    let parsed = parse_bulk(&body, false);
    upload(&shared, &source_id, &id, parsed).await
}

/// Adds a checked bulk request to a CREATED session, within its request and user limits.
async fn upload(
    shared: &Shared,
    source_id: &str,
    id: &str,
    parsed: Result<Vec<(String, Pending)>, OktaError>,
) -> Result<Response, OktaError> {
    with_state(shared, true, |st, now| {
        let i = session_index(st, source_id, id)?;
        let items = parsed?;
        let imports = &mut st.okta.imports;
        let s = &mut imports.sessions[i];
        if s.status != "CREATED" {
            return Err(invalid(
                "identitySourceSession",
                vec![format!(
                    "Session {id} is {}; data can only be uploaded to a CREATED session.",
                    s.status
                )],
            ));
        }
        let new: BTreeSet<&str> = items
            .iter()
            .map(|(e, _)| e.as_str())
            .filter(|e| !s.data.contains_key(*e))
            .collect();
        if s.data.len() + new.len() > MAX_USERS {
            return Err(invalid(
                "profiles",
                vec![format!(
                    "profiles: a session accepts at most {MAX_USERS} distinct users; session {id} holds {} \
                     and this request adds {} more. Start the import and open a new session for the rest.",
                    s.data.len(),
                    new.len()
                )],
            ));
        }
        if s.bulk_requests >= MAX_BULK_REQUESTS {
            return Err(invalid(
                "identitySourceSession",
                vec![format!(
                    "A session accepts at most {MAX_BULK_REQUESTS} bulk requests; session {id} has {}. \
                     Start the import and open a new session for the rest.",
                    s.bulk_requests
                )],
            ));
        }
        for (external_id, op) in items {
            s.data.insert(external_id, op);
        }
        s.bulk_requests += 1;
        s.users = s.data.len();
        s.upserts = s
            .data
            .values()
            .filter(|p| matches!(p, Pending::Upsert { .. }))
            .count();
        s.deletes = s.users - s.upserts;
        s.last_updated = okta_time(now);
        imports
            .stats
            .entry(source_id.to_owned())
            .or_default()
            .bulk_requests += 1;
        Ok(())
    })
    .await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// A `local@domain.tld` address without spaces.
fn is_email(s: &str) -> bool {
    s.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !s.contains(char::is_whitespace)
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks a bulk-upsert (`upsert`) or bulk-delete body; every problem is one cause.
fn parse_bulk(body: &[u8], upsert: bool) -> Result<Vec<(String, Pending)>, OktaError> {
    let body: Value = serde_json::from_slice(body).map_err(|_| {
        OktaError::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
        )
    })?;
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            "profiles",
            vec![format!(
                "The body must be an object {{\"entityType\":\"USERS\",\"profiles\":[…]}}, not {}",
                kind_of(&body)
            )],
        ));
    };
    let mut causes = Vec::new();
    match obj.get("entityType") {
        None => {}
        Some(Value::String(t)) if t == "USERS" => {}
        Some(other) => causes.push(format!(
            "entityType: must be USERS, not {other} (groups have their own bulk-groups endpoints)"
        )),
    }
    let profiles = match obj.get("profiles") {
        Some(Value::Array(a)) if (1..=MAX_PROFILES).contains(&a.len()) => a.as_slice(),
        Some(Value::Array(a)) => {
            causes.push(format!(
                "profiles: a bulk request holds 1 to {MAX_PROFILES} profiles, this one has {}",
                a.len()
            ));
            return Err(invalid("profiles", causes));
        }
        None | Some(Value::Null) => {
            causes.push(format!(
                "profiles: The field cannot be left blank (send 1 to {MAX_PROFILES} profiles)"
            ));
            return Err(invalid("profiles", causes));
        }
        Some(other) => {
            causes.push(format!(
                "profiles: must be an array of profiles, not {}",
                kind_of(other)
            ));
            return Err(invalid("profiles", causes));
        }
    };
    let mut out = Vec::with_capacity(profiles.len());
    for (i, item) in profiles.iter().enumerate() {
        let at = format!("profiles[{i}]");
        let Some(item) = item.as_object() else {
            causes.push(format!(
                "{at}: must be an object with externalId{}, not {}",
                if upsert { " and profile" } else { "" },
                kind_of(item)
            ));
            continue;
        };
        let external_id = match item.get("externalId") {
            Some(Value::String(e)) if e.trim().is_empty() => {
                causes.push(format!("{at}.externalId: The field cannot be left blank"));
                None
            }
            Some(Value::String(e)) if e.chars().count() > MAX_EXTERNAL_ID => {
                causes.push(format!(
                    "{at}.externalId: is {} characters long; at most {MAX_EXTERNAL_ID} are allowed",
                    e.chars().count()
                ));
                None
            }
            Some(Value::String(e)) => Some(e.clone()),
            None | Some(Value::Null) => {
                causes.push(format!("{at}.externalId: The field cannot be left blank"));
                None
            }
            Some(other) => {
                causes.push(format!(
                    "{at}.externalId: must be a string, not {}",
                    kind_of(other)
                ));
                None
            }
        };
        if !upsert {
            if let Some(e) = external_id {
                out.push((e, Pending::Delete));
            }
            continue;
        }
        let Some(profile) = item.get("profile").and_then(Value::as_object) else {
            causes.push(format!(
                "{at}.profile: The field cannot be left blank (an object of string attributes)"
            ));
            continue;
        };
        let before = causes.len();
        check_profile(&at, profile, &mut causes);
        if let Some(e) = external_id
            && causes.len() == before
        {
            out.push((
                e,
                Pending::Upsert {
                    profile: profile.clone(),
                },
            ));
        }
    }
    if causes.is_empty() {
        Ok(out)
    } else {
        let field = if causes.iter().all(|c| c.starts_with("entityType")) {
            "entityType"
        } else {
            "profiles"
        };
        Err(invalid(field, causes))
    }
}

/// The rules of `IdentitySourceUserProfileForUpsert`: string values only (`null` for the nullable
/// ones), `userName` and `email` required, the spec's lengths and email format.
fn check_profile(at: &str, profile: &Map<String, Value>, causes: &mut Vec<String>) {
    for (k, v) in profile {
        let ok = v.is_string() || (v.is_null() && NULLABLE.contains(&k.as_str()));
        if !ok {
            causes.push(format!(
                "{at}.profile.{k}: must be a string (profile attributes are strings only), not {}",
                kind_of(v)
            ));
        }
    }
    let text = |k: &str| profile.get(k).and_then(Value::as_str);
    for required in ["userName", "email"] {
        let blank = match profile.get(required) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
        if blank {
            causes.push(format!(
                "{at}.profile.{required}: The field cannot be left blank"
            ));
        }
    }
    let mut max = |k: &str, n: usize| {
        if let Some(s) = text(k)
            && s.chars().count() > n
        {
            causes.push(format!(
                "{at}.profile.{k}: is {} characters long; at most {n} are allowed",
                s.chars().count()
            ));
        }
    };
    max("userName", 100);
    max("firstName", 50);
    max("lastName", 50);
    max("mobilePhone", 100);
    max("homeAddress", 4096);
    for k in ["email", "secondEmail"] {
        if let Some(s) = text(k).filter(|s| !s.trim().is_empty()) {
            let n = s.chars().count();
            if !is_email(s) {
                causes.push(format!(
                    "{at}.profile.{k}: {s:?} does not match the required pattern local@domain.tld"
                ));
            } else if !(5..=100).contains(&n) {
                causes.push(format!(
                    "{at}.profile.{k}: is {n} characters long; 5 to 100 are allowed"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Control endpoints (under /_sandbox)

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

pub(crate) fn control_router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/identity-sources/rules", get(get_rules).post(set_rules))
        .route("/identity-sources/fail-next", post(fail_next))
        .route("/identity-sources/{id}/stats", get(stats))
}

async fn get_rules(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let st = shared.state.read().await;
    axum::Json(json!(st.okta.imports.rules)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RulesRequest {
    min_gap_secs: Option<f64>,
    processing_secs: Option<f64>,
    #[serde(rename = "secsPer1000Users")]
    secs_per_1000_users: Option<f64>,
}

/// `POST /_sandbox/identity-sources/rules` `{"minGapSecs","processingSecs","secsPer1000Users"}` (any
/// of them): the timing rules from now on; returns them all.
async fn set_rules(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    const EXAMPLE: &str = r#"{"minGapSecs":10,"processingSecs":1,"secsPer1000Users":0.5}"#;
    let req: RulesRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("The request body is not valid here ({e}). Send JSON like {EXAMPLE}."),
            );
        }
    };
    for (name, v) in [
        ("minGapSecs", req.min_gap_secs),
        ("processingSecs", req.processing_secs),
        ("secsPer1000Users", req.secs_per_1000_users),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && (0.0..=30.0 * 86_400.0).contains(&v))
        {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("{name} must be a number of seconds from 0 to 2592000, not {v}"),
            );
        }
    }
    let result = shared
        .mutate(|st| {
            let rules = &mut st.okta.imports.rules;
            if let Some(v) = req.min_gap_secs {
                rules.min_gap_secs = v;
            }
            if let Some(v) = req.processing_secs {
                rules.processing_secs = v;
            }
            if let Some(v) = req.secs_per_1000_users {
                rules.secs_per_1000_users = v;
            }
            Ok::<_, ()>(json!(rules))
        })
        .await;
    match result {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(())) => control_error(StatusCode::INTERNAL_SERVER_ERROR, "rules not changed"),
        Err(e) => e.into_response(),
    }
}

/// `POST /_sandbox/identity-sources/fail-next`: the next session to finish processing ends in ERROR
/// (each call adds one).
async fn fail_next(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let result = shared
        .mutate(|st| {
            st.okta.imports.fail_next += 1;
            Ok::<_, ()>(st.okta.imports.fail_next)
        })
        .await;
    match result {
        Ok(Ok(n)) => axum::Json(json!({ "failNext": n })).into_response(),
        Ok(Err(())) => control_error(StatusCode::INTERNAL_SERVER_ERROR, "not changed"),
        Err(e) => e.into_response(),
    }
}

/// `GET /_sandbox/identity-sources/{id}/stats` → `{sessions, bulkRequests, usersUpserted, usersDeleted}`.
async fn stats(AxState(shared): AxState<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if source(&shared, &id).is_err() {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("No identity source {id} in this sandbox's seed"),
        );
    }
    let result = with_state(&shared, false, |st, _| {
        Ok(json!(
            st.okta.imports.stats.get(&id).cloned().unwrap_or_default()
        ))
    })
    .await;
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_checks_name_the_field_and_index() {
        let body = json!({"entityType": "USERS", "profiles": [
            {"externalId": "1", "profile": {"userName": "a@x.example", "email": "a@x.example"}},
            {"externalId": "2", "profile": {"userName": "b@x.example", "email": "not-an-email", "title": 3}},
            {"externalId": "x".repeat(513), "profile": {"email": "c@x.example"}},
        ]});
        let err = parse_bulk(body.to_string().as_bytes(), true).unwrap_err();
        let text = format!("{err:?}");
        for expected in [
            "profiles[1].profile.email",
            "profiles[1].profile.title: must be a string",
            "profiles[2].externalId: is 513 characters",
            "profiles[2].profile.userName: The field cannot be left blank",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("profiles[0]"), "{text}");
    }
}
