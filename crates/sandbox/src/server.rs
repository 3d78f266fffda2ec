//! The running server: shared state, the router, and what every vendor path goes through (injected
//! faults and latency).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use tokio::sync::RwLock;
use url::Url;

use crate::seed::Seed;
use crate::state::State;
use crate::{control, entra, graph, okta};

/// Everything a request handler can reach.
pub(crate) struct Shared {
    pub state: RwLock<State>,
    /// Where the state is saved after each change; `None` for in-memory sandboxes.
    pub state_file: Option<PathBuf>,
    pub seed: Seed,
    /// `http://127.0.0.1:{port}/`.
    pub base: Url,
    pub instance_id: String,
    /// Mirror of `state.clock_offset_secs`, readable without the state lock.
    pub clock_offset: AtomicI64,
    pub faults: Mutex<Faults>,
    pub rate_limits: Mutex<okta::RateLimits>,
    /// Graph's directory write and invitation budgets (`graph_budget`).
    pub graph_budgets: Mutex<crate::graph_budget::GraphBudgets>,
    pub keys: tokio::sync::OnceCell<Arc<entra::Keys>>,
    /// Entra bookkeeping that is not tenant data (tokens issued, assertion ids used).
    pub entra: entra::Runtime,
}

/// Faults injected through `POST /_sandbox/faults`.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Faults {
    pub latency_ms: u64,
    pub pending: Vec<Fault>,
}

/// "The next `count` responses under `path_prefix` (to `method`, when given) are `status`."
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fault {
    pub status: u16,
    pub count: u32,
    pub path_prefix: Option<String>,
    pub retry_after: Option<u64>,
    /// Only requests with this method (upper-case), e.g. `POST` to fail a create but not the reads
    /// planning it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Why a change could not be saved.
#[derive(Debug)]
pub(crate) struct PersistFailed(pub crate::Error);

impl Shared {
    /// The sandbox clock: wall clock plus the offset set through `POST /_sandbox/clock`.
    pub(crate) fn now(&self) -> Timestamp {
        let offset = self.clock_offset.load(Ordering::Relaxed);
        Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(offset))
            .unwrap_or_else(|_| Timestamp::now())
    }

    /// Changes the state and saves it before returning, so a response is only sent for a durable change.
    /// `f` returning `Err` means nothing changed and nothing is saved.
    pub(crate) async fn mutate<R, E>(
        &self,
        f: impl FnOnce(&mut State) -> Result<R, E>,
    ) -> Result<Result<R, E>, PersistFailed> {
        let mut state = self.state.write().await;
        let result = f(&mut state);
        if result.is_ok()
            && let Some(path) = &self.state_file
        {
            state.save(path).map_err(PersistFailed)?;
        }
        Ok(result)
    }

    /// The absolute URL of a path on this server (`path` starts with `/`).
    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.base.as_str().trim_end_matches('/'),
            path_and_query
        )
    }
}

impl IntoResponse for PersistFailed {
    fn into_response(self) -> Response {
        tracing::error!(error = %self.0, "sandbox state could not be saved");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": self.0.to_string() })),
        )
            .into_response()
    }
}

/// Which vendor a path belongs to; decides the shape of errors and injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vendor {
    Okta,
    Graph,
    Entra,
    Control,
}

pub(crate) fn vendor_of(path: &str) -> Vendor {
    if path.starts_with("/_sandbox") {
        Vendor::Control
    } else if path.starts_with("/api/") || path.starts_with("/oauth2/") {
        Vendor::Okta
    } else if path.starts_with("/v1.0/") || path == "/v1.0" {
        Vendor::Graph
    } else {
        Vendor::Entra
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/_sandbox", control::router())
        .merge(okta::router(shared.clone()))
        .merge(entra::router())
        .merge(graph::router())
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(shared.clone(), faults_layer))
        .layer(middleware::from_fn_with_state(shared.clone(), date_layer))
        .with_state(shared)
}

/// Every response's `Date` is on the sandbox clock, as a server's own clock: clients read times the
/// server sends (`X-Rate-Limit-Reset`) against it, so a moved clock does not stretch their waits.
async fn date_layer(AxState(shared): AxState<Arc<Shared>>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&http_date(shared.now())) {
        response
            .headers_mut()
            .insert(axum::http::header::DATE, value);
    }
    response
}

/// An HTTP date (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(ts: Timestamp) -> String {
    ts.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Unknown paths answer the way the vendor that owns the prefix would.
async fn fallback(
    AxState(shared): AxState<Arc<Shared>>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let path = req.uri().path().to_owned();
    match vendor_of(&path) {
        Vendor::Okta => okta::OktaError::not_found_path(&path).into_response(),
        Vendor::Graph => graph::GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                path.rsplit('/').next().unwrap_or("")
            ),
        )
        .respond(&shared, &headers),
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({ "error": format!("No sandbox endpoint at {path}") })),
        )
            .into_response(),
    }
}

/// Added latency and injected failures, for every vendor path (never for `/_sandbox/`).
async fn faults_layer(AxState(shared): AxState<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let vendor = vendor_of(&path);
    if vendor == Vendor::Control {
        return next.run(req).await;
    }
    let (latency, fault) = {
        let mut faults = shared.faults.lock().expect("fault list lock");
        let latency = faults.latency_ms;
        let fault = faults
            .pending
            .iter_mut()
            .find(|f| {
                f.count > 0
                    && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
                    && f.method.as_deref().is_none_or(|m| m == method)
            })
            .map(|f| {
                f.count -= 1;
                f.clone()
            });
        faults.pending.retain(|f| f.count > 0);
        (latency, fault)
    };
    if latency > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
    }
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    let status = StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match vendor {
        Vendor::Okta => okta::injected_fault(&shared, &path, status, fault.retry_after),
        Vendor::Graph => graph::injected_fault(&shared, req.headers(), status),
        _ => entra::injected_fault(&shared, status),
    };
    if let Some(secs) = fault.retry_after
        && vendor != Vendor::Okta
    {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    response
}

/// A random id made of Okta-style characters.
pub(crate) fn okta_id(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut s = String::with_capacity(len);
    s.push_str(prefix);
    while s.len() < len {
        s.push(ALPHABET[rand::random_range(0..ALPHABET.len())] as char);
    }
    s
}

/// Okta's timestamp format: `2024-01-01T08:06:00.000Z`.
pub(crate) fn okta_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses an `application/x-www-form-urlencoded` or query string into a map (last value wins).
pub(crate) fn parse_form(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}
