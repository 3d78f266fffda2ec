//! Directory writes: one at a time ([`GraphClient::write`]) or up to 20 in one `POST /$batch`
//! ([`GraphClient::batch`]), each with its own status, request id and body, and the per-app directory
//! write budget ([`WriteBudget`], 3,000 writes per 150 s per app + tenant) every write waits for.
//!
//! A write answers a [`WriteResponse`] whatever its status: the caller journals the status, Graph's
//! error code and message and the request id of every item, failed or not. Only a request that got no
//! answer at all is an `Err`.
//!
//! Retries: a throttled write (429) was not processed, so it is sent again after its `Retry-After`;
//! inside a batch each throttled item is retried alone. A write that may have been applied (a 5xx, a
//! dropped connection) is never repeated here: the caller re-checks the live state first.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::client::GraphClient;
use crate::error::{Error, Result};
use crate::transport::Repeat;

/// The most requests one `$batch` may hold.
pub const MAX_BATCH: usize = 20;

/// Graph's directory write budget per app + tenant: 3,000 writes per 150 seconds.
pub const DIRECTORY_WRITES: u32 = 3_000;
/// The window of [`DIRECTORY_WRITES`].
pub const DIRECTORY_WRITE_WINDOW: Duration = Duration::from_secs(150);

/// A sliding-window limiter of directory writes: at most `limit` writes in any `window`. Each write
/// (a single request or a batch item) takes one slot before it is sent; when the window is full the
/// caller waits until the oldest slot leaves it.
#[derive(Debug)]
pub struct WriteBudget {
    limit: u32,
    window: Duration,
    sent: Mutex<VecDeque<Instant>>,
}

impl Default for WriteBudget {
    fn default() -> WriteBudget {
        WriteBudget::new(DIRECTORY_WRITES, DIRECTORY_WRITE_WINDOW)
    }
}

impl WriteBudget {
    /// A budget of `limit` writes per `window` (at least one write).
    pub fn new(limit: u32, window: Duration) -> WriteBudget {
        WriteBudget {
            limit: limit.max(1),
            window,
            sent: Mutex::new(VecDeque::new()),
        }
    }

    /// Writes allowed per window.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The window.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The shortest time `writes` writes can take from an empty window under this budget, counted the
    /// way Microsoft states it (writes ÷ the sustained rate `limit / window`).
    pub fn lower_bound(&self, writes: u64) -> Duration {
        self.window.mul_f64(writes as f64 / f64::from(self.limit))
    }

    /// Waits until `n` writes fit in the window, then takes their slots.
    pub async fn acquire(&self, n: u32) {
        let n = n.clamp(1, self.limit) as usize;
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    sent.pop_front();
                }
                if sent.len() + n <= self.limit as usize {
                    sent.extend(std::iter::repeat_n(now, n));
                    return;
                }
                // The slot that frees room for n writes.
                let index = sent.len() + n - self.limit as usize - 1;
                let oldest = sent[index];
                self.window.saturating_sub(now.duration_since(oldest))
            };
            tracing::info!(
                ?wait,
                "directory write budget reached; waiting for room in the window"
            );
            tokio::time::sleep(wait.max(Duration::from_millis(5))).await;
        }
    }
}

/// One directory write: a method, a path relative to `/v1.0/` (`users`, `users/{id}`, `invitations`)
/// and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphWrite {
    /// `POST`, `PATCH` or `DELETE`.
    pub method: Method,
    /// The path under `/v1.0/`, without a leading `/`, segments already encoded.
    pub path: String,
    /// The JSON body.
    pub body: Option<Value>,
}

impl GraphWrite {
    /// `POST path` with `body`.
    pub fn post(path: impl Into<String>, body: Value) -> GraphWrite {
        GraphWrite {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
        }
    }

    /// `PATCH path` with `body`.
    pub fn patch(path: impl Into<String>, body: Value) -> GraphWrite {
        GraphWrite {
            method: Method::PATCH,
            path: path.into(),
            body: Some(body),
        }
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> GraphWrite {
        GraphWrite {
            method: Method::DELETE,
            path: path.into(),
            body: None,
        }
    }
}

/// What Graph answered to one write (alone or as a batch item).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteResponse {
    /// The HTTP status (the item's own status inside a batch).
    pub status: u16,
    /// Graph's `request-id` (or the `client-request-id` okta365 sent when Graph gave none).
    pub request_id: Option<String>,
    /// The JSON body, `Value::Null` when empty.
    pub body: Value,
    /// Seconds from the item's `Retry-After`, on a 429.
    pub retry_after: Option<u64>,
}

impl WriteResponse {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer as [`Error::Graph`] (with Graph's code, message and request id) when it failed.
    pub fn error(&self) -> Option<Error> {
        if self.is_success() {
            return None;
        }
        let error = self.body.get("error");
        let text = |key: &str| {
            error
                .and_then(|e| e.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let inner_id = error
            .and_then(|e| e.get("innerError"))
            .and_then(|i| i.get("request-id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Some(Error::Graph {
            status: self.status,
            code: text("code").unwrap_or_else(|| format!("HTTP{}", self.status)),
            message: text("message").unwrap_or_default(),
            request_id: inner_id.or_else(|| self.request_id.clone()),
        })
    }
}

fn header_id(headers: &reqwest::header::HeaderMap, client_request_id: &str) -> Option<String> {
    headers
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| Some(client_request_id.to_owned()))
}

impl GraphClient {
    /// Sends one directory write after taking a slot of the write budget. A 429 waits `Retry-After` and
    /// is sent again; any other answer is returned as it is (see [`WriteResponse::error`]). `Err` only
    /// when no answer came.
    pub async fn write(&self, write: &GraphWrite) -> Result<WriteResponse> {
        self.write_budget().acquire(1).await;
        let url = self.url(&write.path, &[])?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let response = self
            .send_with(
                write.method.clone(),
                &url,
                write.body.as_ref(),
                &[("client-request-id", client_request_id.clone())],
                Repeat::Once,
            )
            .await?;
        let status = response.status().as_u16();
        let request_id = header_id(response.headers(), &client_request_id);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = response.bytes().await.map_err(|e| Error::Transport {
            url: url.to_string(),
            reason: format!("the answer could not be read ({e})"),
        })?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                json!({ "error": { "code": format!("HTTP{status}"),
                    "message": String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>() } })
            })
        };
        Ok(WriteResponse {
            status,
            request_id,
            body,
            retry_after,
        })
    }

    /// Sends up to [`MAX_BATCH`] writes in one `POST /$batch` (one budget slot per item) and returns
    /// each item's answer in the order given. Items Graph throttled (429) wait their `Retry-After`
    /// and are sent again alone. One write is sent as it is, without a batch.
    pub async fn batch(&self, writes: &[GraphWrite]) -> Result<Vec<WriteResponse>> {
        if writes.len() > MAX_BATCH {
            return Err(Error::InvalidInput(format!(
                "A Graph $batch holds at most {MAX_BATCH} requests, not {}.",
                writes.len()
            )));
        }
        match writes {
            [] => return Ok(Vec::new()),
            [one] => return Ok(vec![self.write(one).await?]),
            _ => {}
        }
        self.write_budget().acquire(writes.len() as u32).await;
        let requests: Vec<Value> = writes
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let mut item = json!({
                    "id": (i + 1).to_string(),
                    "method": w.method.as_str(),
                    "url": format!("/{}", w.path),
                });
                if let Some(body) = &w.body {
                    item["body"] = body.clone();
                    item["headers"] = json!({ "Content-Type": "application/json" });
                }
                item
            })
            .collect();
        let url = self.url("$batch", &[])?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let response = self
            .send_with(
                Method::POST,
                &url,
                Some(&json!({ "requests": requests })),
                &[("client-request-id", client_request_id.clone())],
                Repeat::Once,
            )
            .await?;
        let batch_id = header_id(response.headers(), &client_request_id);
        #[derive(Deserialize)]
        struct Item {
            id: String,
            status: u16,
            #[serde(default)]
            headers: Option<serde_json::Map<String, Value>>,
            #[serde(default)]
            body: Value,
        }
        #[derive(Deserialize)]
        struct Answer {
            responses: Vec<Item>,
        }
        let answer: Answer = crate::client::read_json(&url, response).await?;
        let mut out: Vec<Option<WriteResponse>> = vec![None; writes.len()];
        for item in answer.responses {
            let Some(index) = item
                .id
                .parse::<usize>()
                .ok()
                .and_then(|i| i.checked_sub(1))
                .filter(|i| *i < writes.len())
            else {
                continue;
            };
            let header = |name: &str| {
                item.headers.as_ref().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str().map(str::to_owned))
                })
            };
            out[index] = Some(WriteResponse {
                status: item.status,
                request_id: header("request-id")
                    .or_else(|| header("client-request-id"))
                    .or_else(|| batch_id.clone()),
                retry_after: header("retry-after").and_then(|v| v.trim().parse().ok()),
                body: item.body,
            });
        }
        let mut results = Vec::with_capacity(writes.len());
        for (index, (answer, write)) in out.into_iter().zip(writes).enumerate() {
            let answer = match answer {
                Some(a) if a.status == 429 => {
                    let wait = Duration::from_secs(a.retry_after.unwrap_or(1).min(120));
                    tracing::info!(
                        item = index + 1,
                        ?wait,
                        "a $batch item was throttled (429); retrying it alone"
                    );
                    tokio::time::sleep(wait).await;
                    self.write(write).await?
                }
                Some(a) => a,
                None => {
                    return Err(Error::UnexpectedResponse {
                        url: url.to_string(),
                        status: 200,
                        reason: format!("the $batch answer has no response for item {}", index + 1),
                    });
                }
            };
            results.push(answer);
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_budget_waits_for_room_in_the_window() {
        let budget = WriteBudget::new(3, Duration::from_secs(10));
        let start = Instant::now();
        budget.acquire(2).await;
        budget.acquire(1).await;
        assert!(
            start.elapsed() < Duration::from_millis(10),
            "three writes fit in a budget of three"
        );
        assert_eq!(budget.lower_bound(30), Duration::from_secs(100));
    }

    #[test]
    fn a_failed_item_reads_as_a_graph_error() {
        let r = WriteResponse {
            status: 400,
            request_id: Some("hdr".into()),
            body: json!({"error": {"code": "Request_BadRequest", "message": "bad",
                "innerError": {"request-id": "inner"}}}),
            retry_after: None,
        };
        let e = r.error().expect("a 400 is an error");
        assert_eq!(e.graph_code(), Some("Request_BadRequest"));
        assert!(e.to_string().contains("inner"), "{e}");
        assert!(
            WriteResponse {
                status: 204,
                request_id: None,
                body: Value::Null,
                retry_after: None
            }
            .error()
            .is_none()
        );
    }
}
