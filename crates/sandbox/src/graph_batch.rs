//! Microsoft Graph JSON batching: `POST /v1.0/$batch` with `{"requests":[{id, method, url, headers?,
//! body?, dependsOn?}]}`.
//!
//! Each item is served by the same router as a direct call (with the batch's `Authorization`), so it
//! passes through injected faults, permissions and the directory write budget on its own and can get
//! its own 429 with `Retry-After`. What must stay true, as Graph documents it:
//! - at most 20 requests, unique ids (case-insensitive), a `Content-Type` header on every item with a
//!   body, `dependsOn` naming ids of the batch: otherwise the whole batch is 400;
//! - the outer status is 200 whatever the items' statuses;
//! - an item whose dependency did not succeed is not run and gets 424;
//! - responses come back in an order clients must not rely on: the sandbox answers deterministically
//!   but never in request order (odd positions first, then even ones).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use tower::ServiceExt as _;

use crate::graph::GraphError;
use crate::server::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1.0/$batch", post(batch))
}

/// Graph's limit on requests per batch.
const MAX_REQUESTS: usize = 20;

fn malformed(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("BadRequest", message)
}

#[derive(Debug)]
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Map<String, Value>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn parse_items(body: &Bytes) -> Result<Vec<Item>, GraphError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        malformed("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
    })?;
    let requests = v.get("requests").and_then(Value::as_array).ok_or_else(|| {
        malformed("Invalid batch payload format: the body needs a 'requests' array.")
    })?;
    if requests.is_empty() {
        return Err(malformed(
            "Invalid batch payload format: 'requests' is empty.",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(malformed(format!(
            "The number of requests in the batch ({}) exceeds the limit of {MAX_REQUESTS}. Split it into batches of {MAX_REQUESTS} or fewer.",
            requests.len()
        )));
    }
    let mut items: Vec<Item> = Vec::with_capacity(requests.len());
    for r in requests {
        let id = match r.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(malformed(
                    "Invalid batch payload format: every request needs a string 'id'.",
                ));
            }
        };
        if items.iter().any(|i| i.id.eq_ignore_ascii_case(&id)) {
            return Err(malformed(format!(
                "Request Id {id} has to be unique in a batch."
            )));
        }
        let method = r
            .get("method")
            .and_then(Value::as_str)
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .filter(|m| {
                [Method::GET, Method::POST, Method::PATCH, Method::PUT, Method::DELETE].contains(m)
            })
            .ok_or_else(|| {
                malformed(format!("Invalid batch payload format: request {id} needs a method (GET, POST, PATCH, PUT or DELETE)."))
            })?;
        let url = r
            .get("url")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                malformed(format!(
                    "Invalid batch payload format: request {id} needs a relative 'url'."
                ))
            })?
            .to_owned();
        let headers = match r.get("headers") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(h)) => h.clone(),
            Some(_) => {
                return Err(malformed(format!(
                    "Invalid batch payload format: the headers of request {id} must be an object."
                )));
            }
        };
        let body = r.get("body").filter(|b| !b.is_null()).cloned();
        let has_content_type = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("content-type") && v.as_str().is_some_and(|s| !s.is_empty())
        });
        if body.is_some() && !has_content_type {
            return Err(malformed(format!(
                "Write request id : {id} does not contain Content-Type header or body."
            )));
        }
        let depends_on = match r.get("dependsOn") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| d.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| malformed(format!("Invalid batch payload format: dependsOn of request {id} must list request ids.")))?,
            Some(_) => return Err(malformed(format!("Invalid batch payload format: dependsOn of request {id} must be an array."))),
        };
        items.push(Item {
            id,
            method,
            url,
            headers,
            body,
            depends_on,
        });
    }
    for item in &items {
        for dep in &item.depends_on {
            if dep.eq_ignore_ascii_case(&item.id)
                || !items.iter().any(|i| i.id.eq_ignore_ascii_case(dep))
            {
                return Err(malformed(format!(
                    "Request {} depends on '{dep}', which is not another request of this batch.",
                    item.id
                )));
            }
        }
    }
    Ok(items)
}

/// The order to run items in: each after the items it depends on (request order otherwise).
fn run_order(items: &[Item]) -> Result<Vec<usize>, GraphError> {
    let mut order = Vec::with_capacity(items.len());
    let mut placed = vec![false; items.len()];
    while order.len() < items.len() {
        let next = (0..items.len()).find(|&i| {
            !placed[i]
                && items[i].depends_on.iter().all(|d| {
                    items
                        .iter()
                        .position(|x| x.id.eq_ignore_ascii_case(d))
                        .is_some_and(|p| placed[p])
                })
        });
        let Some(i) = next else {
            return Err(malformed(
                "The dependsOn of the batch's requests form a cycle.",
            ));
        };
        placed[i] = true;
        order.push(i);
    }
    Ok(order)
}

/// The order responses are returned in: odd positions first, then even ones. Deterministic, and for
/// two or more items never the request order.
fn answer_order(n: usize) -> Vec<usize> {
    (1..n).step_by(2).chain((0..n).step_by(2)).collect()
}

async fn batch(
    AxState(shared): AxState<Arc<Shared>>,
    req: Request,
) -> Result<Response, GraphError> {
    let outer_headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), 4 * 1024 * 1024)
        .await
        .map_err(|_| malformed("The batch body could not be read (4 MB at most)."))?;
    let items = parse_items(&body)?;
    let order = run_order(&items)?;
    let router = crate::server::router(shared.clone());
    let mut answers: HashMap<usize, Value> = HashMap::new();
    let mut succeeded: HashMap<String, bool> = HashMap::new();
    for i in order {
        let item = &items[i];
        let failed_dep = item.depends_on.iter().find(|d| {
            !succeeded
                .get(&d.to_ascii_lowercase())
                .copied()
                .unwrap_or(false)
        });
        let answer = match failed_dep {
            Some(dep) => json!({
                "id": item.id,
                "status": 424,
                "headers": { "Content-Type": "application/json" },
                "body": { "error": {
                    "code": "FailedDependency",
                    "message": format!("The request depends on request '{dep}', which did not succeed; it was not run."),
                }},
            }),
            None => run_item(&router, &outer_headers, item).await,
        };
        let ok = answer["status"]
            .as_u64()
            .is_some_and(|s| (200..300).contains(&s));
        succeeded.insert(item.id.to_ascii_lowercase(), ok);
        answers.insert(i, answer);
    }
    let responses: Vec<Value> = answer_order(items.len())
        .into_iter()
        .filter_map(|i| answers.remove(&i))
        .collect();
    Ok(axum::Json(json!({ "responses": responses })).into_response())
}

/// Serves one item through the router and shapes its answer as a batch response.
async fn run_item(router: &Router, outer: &HeaderMap, item: &Item) -> Value {
    let error = |status: u16, code: &str, message: String| {
        json!({
            "id": item.id, "status": status,
            "headers": { "Content-Type": "application/json" },
            "body": { "error": { "code": code, "message": message } },
        })
    };
    let path = item.url.trim_start_matches('/');
    if item.url.contains("://") {
        return error(
            400,
            "BadRequest",
            format!(
                "The url of request {} must be relative to the version, e.g. /users.",
                item.id
            ),
        );
    }
    if path.starts_with("$batch") || path.starts_with("v1.0/") || path.starts_with("beta/") {
        return error(
            400,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                path.split(['/', '?']).next().unwrap_or(path)
            ),
        );
    }
    let mut builder = Request::builder()
        .method(item.method.clone())
        .uri(format!("/v1.0/{path}"));
    for name in ["authorization", "client-request-id"] {
        if let Some(v) = outer.get(name) {
            builder = builder.header(name, v);
        }
    }
    for (k, v) in &item.headers {
        if let Some(v) = v.as_str() {
            builder = builder.header(k.as_str(), v);
        }
    }
    let body = match &item.body {
        Some(b) => Body::from(serde_json::to_vec(b).unwrap_or_default()),
        None => Body::empty(),
    };
    let request = match builder.body(body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                400,
                "BadRequest",
                format!("Request {} is not a valid HTTP request: {e}", item.id),
            );
        }
    };
    let response = match router.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let mut headers = Map::new();
    for name in [
        "content-type",
        "location",
        "retry-after",
        "x-ms-throttle-scope",
        "odata-version",
    ] {
        if let Some(v) = response.headers().get(name).and_then(|v| v.to_str().ok()) {
            let shown = match name {
                "content-type" => "Content-Type",
                "location" => "Location",
                "retry-after" => "Retry-After",
                "odata-version" => "OData-Version",
                other => other,
            };
            headers.insert(shown.into(), json!(v));
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut answer = json!({ "id": item.id, "status": status.as_u16(), "headers": headers });
    if !bytes.is_empty() && status != StatusCode::NO_CONTENT {
        answer["body"] = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_never_come_back_in_request_order() {
        for n in 2..=MAX_REQUESTS {
            let order = answer_order(n);
            assert_eq!(order.len(), n);
            assert_ne!(order, (0..n).collect::<Vec<_>>(), "{n} items");
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                (0..n).collect::<Vec<_>>(),
                "every item answered once"
            );
        }
        assert_eq!(answer_order(1), vec![0]);
    }

    #[test]
    fn batches_are_checked_before_anything_runs() {
        let parse = |v: Value| parse_items(&Bytes::from(v.to_string()));
        let many: Vec<Value> = (0..21)
            .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users"}))
            .collect();
        assert!(parse(json!({"requests": many})).is_err());
        let dup = parse(json!({"requests": [
            {"id": "a", "method": "GET", "url": "/users"},
            {"id": "A", "method": "GET", "url": "/users"}]}));
        assert!(dup.unwrap_err().into_response().status() == StatusCode::BAD_REQUEST);
        assert!(
            parse(
                json!({"requests": [{"id": "1", "method": "POST", "url": "/users", "body": {}}]})
            )
            .is_err()
        );
        assert!(parse(json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]})).is_err());
        let items = parse(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/users"}]}))
        .unwrap();
        assert_eq!(
            run_order(&items).unwrap(),
            vec![1, 0],
            "a dependency runs first"
        );
        let cycle = parse(json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users", "dependsOn": ["2"]},
            {"id": "2", "method": "GET", "url": "/users", "dependsOn": ["1"]}]}))
        .unwrap();
        assert!(run_order(&cycle).is_err());
    }
}
