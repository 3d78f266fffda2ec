//! Control endpoints for the delegated sign-in and the app registration setup (under `/_sandbox/entra/`).
//!
//! | request | what it does |
//! |---|---|
//! | `GET /_sandbox/entra/device-codes` | the pending device codes: `[{userCode, clientId, scopes, status, expiresAt, interval}]` |
//! | `POST /_sandbox/entra/device-codes/{userCode}` | `{"user": "<upn>", "decision": "approve" \| "decline"}`: what the user does on the sign-in page |
//! | `POST /_sandbox/entra/sign-in-settings` | `{"interval": s, "expiresIn": s}`: for device codes issued from now on (defaults 5 and 900) |
//! | `POST /_sandbox/entra/replication-delay` | `{"notFoundCalls": n}`: the next n Graph calls naming an object created from now on answer 404 `Request_ResourceNotFound` |
//! | `POST /_sandbox/entra/policies` | `{"conditionalAccessBlocksPublicClients": bool, "userConsentBlocked": bool}`: tokens for public clients fail with AADSTS53003; a non-admin's with AADSTS90094 |
//! | `GET /_sandbox/entra/graph-writes` | every Graph write served (`POST`/`PATCH`/`DELETE` on applications and service principals): `[{method, path, status}]` |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::entra_delegated::DeviceStatus;
use crate::server::{Shared, okta_time};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/entra/device-codes", get(device_codes))
        .route("/entra/device-codes/{user_code}", post(decide))
        .route("/entra/sign-in-settings", post(sign_in_settings))
        .route("/entra/replication-delay", post(replication_delay))
        .route("/entra/policies", post(policies))
        .route("/entra/graph-writes", get(graph_writes))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

// The error is the handler's own answer, returned as is; boxing it would buy nothing.
#[allow(clippy::result_large_err)]
fn parse<T: DeserializeOwned>(body: &Bytes, example: &str) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid here ({e}). Send JSON like {example}."),
        )
    })
}

fn time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(okta_time)
        .unwrap_or_default()
}

async fn device_codes(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let now = shared.now().as_second();
    let codes = shared
        .entra
        .setup
        .device_codes
        .lock()
        .expect("device code lock");
    let pending: Vec<Value> = codes
        .iter()
        .filter(|c| c.status == DeviceStatus::Pending && now < c.expires_at)
        .map(|c| {
            json!({
                "userCode": c.user_code,
                "clientId": c.client_id,
                "scopes": c.scopes,
                "status": c.status.as_str(),
                "expiresAt": time(c.expires_at),
                "interval": c.interval,
            })
        })
        .collect();
    axum::Json(Value::Array(pending)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    user: String,
    decision: String,
}

async fn decide(
    AxState(shared): AxState<Arc<Shared>>,
    Path(user_code): Path<String>,
    body: Bytes,
) -> Response {
    const EXAMPLE: &str =
        r#"{"user":"admin@contoso-sandbox.onmicrosoft.com","decision":"approve"}"#;
    let req: Decision = match parse(&body, EXAMPLE) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let approve = match req.decision.as_str() {
        "approve" => true,
        "decline" => false,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("decision {other:?} is neither \"approve\" nor \"decline\""),
            );
        }
    };
    let now = shared.now().as_second();
    let st = shared.state.read().await;
    match shared
        .entra
        .setup
        .decide(&st, now, &user_code, &req.user, approve)
    {
        Ok(code) => axum::Json(json!({
            "userCode": code.user_code,
            "status": code.status.as_str(),
            "user": req.user,
        }))
        .into_response(),
        Err((status, message)) => error(status, message),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsRequest {
    interval: Option<u64>,
    expires_in: Option<i64>,
}

async fn sign_in_settings(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req: SettingsRequest = match parse(&body, r#"{"interval":1,"expiresIn":60}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.interval.is_some_and(|i| !(1..=60).contains(&i)) {
        return error(StatusCode::BAD_REQUEST, "interval must be 1 to 60 seconds");
    }
    if req.expires_in.is_some_and(|e| !(1..=3600).contains(&e)) {
        return error(
            StatusCode::BAD_REQUEST,
            "expiresIn must be 1 to 3600 seconds",
        );
    }
    let mut s = shared.entra.setup.settings.lock().expect("settings lock");
    if let Some(i) = req.interval {
        s.interval = i;
    }
    if let Some(e) = req.expires_in {
        s.expires_in = e;
    }
    axum::Json(json!({ "interval": s.interval, "expiresIn": s.expires_in })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplicationRequest {
    not_found_calls: u32,
}

async fn replication_delay(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req: ReplicationRequest = match parse(&body, r#"{"notFoundCalls":2}"#) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut r = shared
        .entra
        .setup
        .replication
        .lock()
        .expect("replication lock");
    r.remaining = req.not_found_calls;
    r.fresh.clear();
    axum::Json(json!({ "notFoundCalls": r.remaining })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PoliciesRequest {
    conditional_access_blocks_public_clients: Option<bool>,
    user_consent_blocked: Option<bool>,
}

async fn policies(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Response {
    let req: PoliciesRequest = match parse(
        &body,
        r#"{"conditionalAccessBlocksPublicClients":false,"userConsentBlocked":true}"#,
    ) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let mut p = shared.entra.setup.policies.lock().expect("policies lock");
    if let Some(v) = req.conditional_access_blocks_public_clients {
        p.conditional_access_blocks_public_clients = v;
    }
    if let Some(v) = req.user_consent_blocked {
        p.user_consent_blocked = v;
    }
    axum::Json(json!({
        "conditionalAccessBlocksPublicClients": p.conditional_access_blocks_public_clients,
        "userConsentBlocked": p.user_consent_blocked,
    }))
    .into_response()
}

async fn graph_writes(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let writes = shared
        .entra
        .setup
        .graph_writes
        .lock()
        .expect("graph writes lock");
    axum::Json(Value::Array(writes.clone())).into_response()
}
