//! Control endpoints under `/_sandbox/` (documented in the crate docs).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::DemoCredentials;
use crate::server::{Fault, Shared, okta_id, okta_time};
use crate::state::{ApiToken, ClientSecret, sha256_hex};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(health))
        .route("/state", get(summary))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/rate-limits", post(set_rate_limit))
        .route("/demo-credentials", post(demo_credentials))
        .route("/apps/{app_id}/roles", put(set_roles))
        .route("/skus/{sku}", put(set_sku_seats))
        .route("/reset", post(reset))
        .route("/clock", post(clock))
        .route("/events", get(events))
        .route("/mail", get(mail).delete(clear_mail))
        .merge(crate::entra_control::router())
        .merge(crate::entra_setup_control::router())
        .merge(crate::okta_oauth::control_router())
        .merge(crate::okta_apps::control_router())
        .merge(crate::okta_identity_sources::control_router())
        .merge(crate::hr_source::router())
}

/// A control-endpoint error: `{"error": "…"}`.
struct ControlError(StatusCode, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

fn parse<T: DeserializeOwned>(body: &Bytes, example: &str) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|e| {
        ControlError(
            StatusCode::BAD_REQUEST,
            format!("The request body is not valid here ({e}). Send JSON like {example}."),
        )
    })
}

async fn health(AxState(shared): AxState<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "ok": true,
        "instanceId": shared.instance_id,
        "stateFile": shared.state_file.as_ref().map(|p| p.display().to_string()),
    }))
    .into_response()
}

async fn summary(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let now = shared.now();
    let st = shared.state.read().await;
    let faults = shared.faults.lock().expect("fault list lock").clone();
    let rate_limits = shared
        .rate_limits
        .lock()
        .expect("rate limit lock")
        .summary(now);
    let memberships: usize = st.okta.groups.iter().map(|g| g.members.len()).sum();
    axum::Json(json!({
        "instanceId": shared.instance_id,
        "stateFile": shared.state_file.as_ref().map(|p| p.display().to_string()),
        "clock": { "now": okta_time(now), "offsetSecs": st.clock_offset_secs },
        "okta": {
            "orgName": st.okta.org_name,
            "users": st.okta.users.len(),
            "groups": st.okta.groups.len(),
            "memberships": memberships,
            "apiTokens": st.okta.api_tokens.iter().map(|t| json!({"id": t.id, "name": t.name, "created": t.created})).collect::<Vec<_>>(),
            "events": st.okta.events.len(),
            "serviceApps": crate::okta_oauth::summary(&st.okta.oauth),
        },
        "microsoft": {
            "tenantId": st.microsoft.tenant.id,
            "domains": st.microsoft.tenant.verified_domains.iter().map(|d| d.name.clone()).collect::<Vec<_>>(),
            "users": st.microsoft.users.len(),
            "subscribedSkus": st.microsoft.subscribed_skus.len(),
            "apps": st.microsoft.apps.iter().map(|a| json!({
                "appId": a.app_id, "displayName": a.display_name, "roles": a.roles,
                "secrets": a.secrets.iter().map(|s| json!({"keyId": s.key_id, "hint": s.hint, "endDateTime": s.end_date_time})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "signingKey": st.signing_key.as_ref().map(|k| k.kid.clone()),
        "mail": st.mail.len(),
        "faults": faults,
        "rateLimits": rate_limits,
        "graphBudgets": shared.graph_budgets.lock().expect("graph budget lock").summary(now),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    status: Option<u16>,
    count: Option<u32>,
    path_prefix: Option<String>,
    retry_after: Option<u64>,
    latency_ms: Option<u64>,
    method: Option<String>,
}

async fn add_fault(
    AxState(shared): AxState<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ControlError> {
    const EXAMPLE: &str =
        r#"{"status":429,"count":3,"path_prefix":"/api/v1","retry_after":2} or {"latency_ms":200}"#;
    let req: FaultRequest = parse(&body, EXAMPLE)?;
    let mut faults = shared.faults.lock().expect("fault list lock");
    if let Some(ms) = req.latency_ms {
        if ms > 60_000 {
            return Err(ControlError(
                StatusCode::BAD_REQUEST,
                "latency_ms must be at most 60000".into(),
            ));
        }
        faults.latency_ms = ms;
    }
    match (req.status, req.latency_ms) {
        (Some(status), _) => {
            if ![429, 500, 502, 503, 504].contains(&status) {
                return Err(ControlError(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "status {status} is not an injectable fault; use 429, 500, 502, 503 or 504"
                    ),
                ));
            }
            if let Some(p) = &req.path_prefix
                && (!p.starts_with('/') || p.starts_with("/_sandbox"))
            {
                return Err(ControlError(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "path_prefix {p:?} must start with / and name a vendor path such as /api/v1 or /v1.0"
                    ),
                ));
            }
            faults.pending.push(Fault {
                status,
                count: req.count.unwrap_or(1),
                path_prefix: req.path_prefix,
                retry_after: req.retry_after,
                method: req.method.map(|m| m.trim().to_ascii_uppercase()),
            });
        }
        (None, Some(_)) => {}
        (None, None) => {
            return Err(ControlError(
                StatusCode::BAD_REQUEST,
                format!("Say which fault to inject: {EXAMPLE}"),
            ));
        }
    }
    Ok(axum::Json(json!(*faults)).into_response())
}

async fn clear_faults(AxState(shared): AxState<Arc<Shared>>) -> StatusCode {
    *shared.faults.lock().expect("fault list lock") = Default::default();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitRequest {
    bucket: String,
    limit: u32,
    /// Shorter counting window in seconds (1–60), so tests need not wait a minute for a reset.
    window_secs: Option<i64>,
}

async fn set_rate_limit(
    AxState(shared): AxState<Arc<Shared>>,
    body: Bytes,
) -> Result<Response, ControlError> {
    let req: RateLimitRequest = parse(&body, r#"{"bucket":"groups","limit":10}"#)?;
    let now = shared.now();
    if crate::graph_budget::GraphBudgets::knows(&req.bucket) {
        let mut budgets = shared.graph_budgets.lock().expect("graph budget lock");
        budgets
            .set(&req.bucket, req.limit, req.window_secs)
            .map_err(|m| ControlError(StatusCode::BAD_REQUEST, m))?;
        return Ok(axum::Json(budgets.summary(now)).into_response());
    }
    let mut limits = shared.rate_limits.lock().expect("rate limit lock");
    limits
        .set_limit(&req.bucket, req.limit)
        .and_then(|()| match req.window_secs {
            Some(w) => limits.set_window(&req.bucket, w),
            None => Ok(()),
        })
        .map_err(|m| ControlError(StatusCode::BAD_REQUEST, m))?;
    Ok(axum::Json(limits.summary(now)).into_response())
}

async fn demo_credentials(AxState(shared): AxState<Arc<Shared>>) -> Result<Response, Response> {
    let now = shared.now();
    let okta_token = okta_id("00", 42);
    let secret = client_secret_value();
    let token_hash = sha256_hex(&okta_token);
    let secret_hash = sha256_hex(&secret);
    let hint: String = secret.chars().take(3).collect();
    let end = now
        .checked_add(jiff::SignedDuration::from_hours(2 * 365 * 24 + 24))
        .unwrap_or(now);
    let result = shared
        .mutate(|st| {
            st.okta.api_tokens.push(ApiToken {
                id: okta_id("00T", 20),
                name: "okta365 demo".into(),
                token_hash,
                created: okta_time(now),
            });
            let tenant_id = st.microsoft.tenant.id.clone();
            let domain = st
                .microsoft
                .tenant
                .verified_domains
                .iter()
                .find(|d| d.is_initial)
                .map(|d| d.name.clone())
                .unwrap_or_default();
            let app = st
                .microsoft
                .apps
                .first_mut()
                .ok_or("the tenant has no app registration")?;
            app.secrets.push(ClientSecret {
                key_id: uuid::Uuid::new_v4().to_string(),
                display_name: "okta365 demo".into(),
                hint,
                secret_hash,
                start_date_time: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
                end_date_time: end.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            });
            Ok::<_, &str>(DemoCredentials {
                okta_api_token: okta_token,
                entra_tenant_id: tenant_id,
                entra_tenant_domain: domain,
                entra_client_id: app.app_id.clone(),
                entra_client_secret: secret,
            })
        })
        .await
        .map_err(IntoResponse::into_response)?;
    match result {
        Ok(creds) => Ok(axum::Json(creds).into_response()),
        Err(m) => Err(ControlError(StatusCode::CONFLICT, m.into()).into_response()),
    }
}

/// A value shaped like an Entra client secret: 40 characters with `Q~` at index 4.
pub(crate) fn client_secret_value() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-";
    let pick = |n: usize| -> String {
        (0..n)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect()
    };
    let digit = char::from(b'0' + rand::random_range(0..10u8));
    format!("{}{digit}Q~{}", okta_id("", 3), pick(34))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesRequest {
    roles: Vec<String>,
}

async fn set_roles(
    AxState(shared): AxState<Arc<Shared>>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let req: RolesRequest =
        parse(&body, r#"{"roles":["User.Read.All"]}"#).map_err(IntoResponse::into_response)?;
    let result = shared
        .mutate(|st| {
            let app = st
                .microsoft
                .apps
                .iter_mut()
                .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                .ok_or(())?;
            app.roles = req.roles;
            Ok::<_, ()>(json!({ "appId": app.app_id, "roles": app.roles }))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result.map(|v| axum::Json(v).into_response()).map_err(|()| {
        ControlError(
            StatusCode::NOT_FOUND,
            format!("No app registration with appId {app_id}"),
        )
        .into_response()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeatsRequest {
    enabled: u64,
}

/// `PUT /_sandbox/skus/{skuId or skuPartNumber}` `{"enabled": N}`: the seats bought of a SKU
/// (`prepaidUnits.enabled`), as an admin buying more licenses would change them.
async fn set_sku_seats(
    AxState(shared): AxState<Arc<Shared>>,
    Path(sku): Path<String>,
    body: Bytes,
) -> Result<Response, Response> {
    let req: SeatsRequest =
        parse(&body, r#"{"enabled":1000}"#).map_err(IntoResponse::into_response)?;
    let result = shared
        .mutate(|st| {
            let found = st
                .microsoft
                .subscribed_skus
                .iter_mut()
                .find(|s| {
                    s.sku_id.eq_ignore_ascii_case(&sku)
                        || s.sku_part_number.eq_ignore_ascii_case(&sku)
                })
                .ok_or(())?;
            found.prepaid_units["enabled"] = json!(req.enabled);
            Ok::<_, ()>(json!({
                "skuId": found.sku_id,
                "skuPartNumber": found.sku_part_number,
                "prepaidUnits": found.prepaid_units,
            }))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    result.map(|v| axum::Json(v).into_response()).map_err(|()| {
        ControlError(
            StatusCode::NOT_FOUND,
            format!("No subscribed SKU with id or part number {sku}"),
        )
        .into_response()
    })
}

async fn reset(AxState(shared): AxState<Arc<Shared>>) -> Result<Response, Response> {
    let seed = shared.seed.clone();
    shared
        .mutate(|st| {
            st.reset_to(&seed);
            Ok::<_, ()>(())
        })
        .await
        .map_err(IntoResponse::into_response)?
        .ok();
    shared.clock_offset.store(0, Ordering::Relaxed);
    *shared.faults.lock().expect("fault list lock") = Default::default();
    *shared.rate_limits.lock().expect("rate limit lock") = Default::default();
    *shared.graph_budgets.lock().expect("graph budget lock") = Default::default();
    Ok(axum::Json(json!({ "ok": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    advance_secs: i64,
}

async fn clock(AxState(shared): AxState<Arc<Shared>>, body: Bytes) -> Result<Response, Response> {
    let req: ClockRequest =
        parse(&body, r#"{"advance_secs":3600}"#).map_err(IntoResponse::into_response)?;
    if req.advance_secs < 0 {
        return Err(ControlError(
            StatusCode::BAD_REQUEST,
            "advance_secs must not be negative: the sandbox clock only moves forward".into(),
        )
        .into_response());
    }
    let offset = shared
        .mutate(|st| {
            st.clock_offset_secs = st.clock_offset_secs.saturating_add(req.advance_secs);
            Ok::<_, ()>(st.clock_offset_secs)
        })
        .await
        .map_err(IntoResponse::into_response)?
        .unwrap_or_default();
    shared.clock_offset.store(offset, Ordering::Relaxed);
    Ok(axum::Json(json!({ "now": okta_time(shared.now()), "offsetSecs": offset })).into_response())
}

async fn events(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let st = shared.state.read().await;
    axum::Json(json!(st.okta.events)).into_response()
}

async fn mail(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let st = shared.state.read().await;
    axum::Json(Value::Array(st.mail.clone())).into_response()
}

/// Empties the outbox (mailboxes' Sent Items stay).
async fn clear_mail(AxState(shared): AxState<Arc<Shared>>) -> Result<StatusCode, Response> {
    shared
        .mutate(|st| {
            st.mail.clear();
            Ok::<_, ()>(())
        })
        .await
        .map_err(IntoResponse::into_response)?
        .ok();
    Ok(StatusCode::NO_CONTENT)
}
