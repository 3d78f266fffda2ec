//! Microsoft Graph's throttling budgets: 3,000 directory writes per 150 s per app and tenant,
//! 150 invitations per 5 s per tenant, and Outlook's 10,000 requests per 600 s per app and mailbox
//! (`graph.mail`, counted by sendMail). Over a budget, a write answers 429 with `Retry-After` (the
//! seconds left in the window) and `x-ms-throttle-scope`, in a Graph error body.
//!
//! Each budget is a fixed window on the sandbox clock. Tests scale a budget through
//! `POST /_sandbox/rate-limits` with `{"bucket":"graph.directoryWrites","limit":N,"window_secs":S?}`
//! (`window_secs` 1..=3600); `POST /_sandbox/reset` restores the defaults.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError};
use crate::server::Shared;

/// The directory write budget (per app and tenant).
pub(crate) const DIRECTORY_WRITES: &str = "graph.directoryWrites";
/// The invitation budget (per tenant).
pub(crate) const INVITATIONS: &str = "graph.invitations";
/// Outlook's mail budget (per app and mailbox).
pub(crate) const MAIL: &str = "graph.mail";

const DEFAULTS: [(&str, u32, i64); 3] = [
    (DIRECTORY_WRITES, 3000, 150),
    (INVITATIONS, 150, 5),
    (MAIL, 10_000, 600),
];

/// Budgets with their limits and the counters of each app (or tenant) in the current window.
#[derive(Debug)]
pub(crate) struct GraphBudgets {
    limits: HashMap<&'static str, (u32, i64)>,
    /// (bucket, key) → (window number, writes counted in it).
    used: HashMap<(&'static str, String), (i64, u32)>,
}

impl Default for GraphBudgets {
    fn default() -> GraphBudgets {
        GraphBudgets {
            limits: DEFAULTS.iter().map(|(b, l, w)| (*b, (*l, *w))).collect(),
            used: HashMap::new(),
        }
    }
}

/// A write refused because its budget is spent: Graph's 429.
#[derive(Debug)]
pub(crate) struct Throttled {
    retry_after: i64,
    scope: String,
}

impl IntoResponse for Throttled {
    fn into_response(self) -> Response {
        let error = GraphError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!(
                "Too many requests. Application or tenant is being throttled; retry after {} seconds (Retry-After).",
                self.retry_after
            ),
        );
        let mut response = error.into_response();
        let headers = response.headers_mut();
        headers.insert("retry-after", HeaderValue::from(self.retry_after));
        if let Ok(v) = HeaderValue::from_str(&self.scope) {
            headers.insert("x-ms-throttle-scope", v);
        }
        headers.insert(
            "x-ms-throttle-information",
            HeaderValue::from_static("ThrottleLimitExceeded"),
        );
        response
    }
}

impl From<Throttled> for Response {
    fn from(t: Throttled) -> Response {
        t.into_response()
    }
}

impl GraphBudgets {
    fn bucket(name: &str) -> Option<&'static str> {
        DEFAULTS.iter().map(|(b, _, _)| *b).find(|b| *b == name)
    }

    /// Counts one write against `bucket` for `key`; `Err` with the seconds to wait when it is spent.
    fn spend(&mut self, bucket: &'static str, key: &str, now: Timestamp) -> Result<(), i64> {
        let (limit, window_secs) = self.limits[bucket];
        let window = now.as_second().div_euclid(window_secs);
        let entry = self
            .used
            .entry((bucket, key.to_owned()))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return Err(((window + 1) * window_secs - now.as_second()).max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Whether `name` is one of these budgets (the control endpoint routes `graph.*` buckets here).
    pub(crate) fn knows(name: &str) -> bool {
        GraphBudgets::bucket(name).is_some()
    }

    /// Changes a budget's limit and, optionally, its window (1..=3600 s); counters start over.
    pub(crate) fn set(
        &mut self,
        name: &str,
        limit: u32,
        window_secs: Option<i64>,
    ) -> Result<(), String> {
        let bucket = GraphBudgets::bucket(name).ok_or_else(|| {
            format!(
                "unknown Graph budget {name:?}; use {DIRECTORY_WRITES}, {INVITATIONS} or {MAIL}"
            )
        })?;
        if limit == 0 {
            return Err("limit must be at least 1".into());
        }
        let current = self.limits[bucket];
        let window = window_secs.unwrap_or(current.1);
        if !(1..=3600).contains(&window) {
            return Err("window_secs of a Graph budget must be between 1 and 3600".into());
        }
        self.limits.insert(bucket, (limit, window));
        self.used.retain(|(b, _), _| *b != bucket);
        Ok(())
    }

    /// `{bucket: {limit, windowSecs, used: {key: n}}}` for `GET /_sandbox/state`.
    pub(crate) fn summary(&self, now: Timestamp) -> Value {
        let mut out = Map::new();
        for (bucket, _, _) in DEFAULTS {
            let (limit, window_secs) = self.limits[bucket];
            let window = now.as_second().div_euclid(window_secs);
            let used: Map<String, Value> = self
                .used
                .iter()
                .filter(|((b, _), (w, _))| *b == bucket && *w == window)
                .map(|((_, k), (_, n))| (k.clone(), json!(n)))
                .collect();
            out.insert(
                bucket.into(),
                json!({ "limit": limit, "windowSecs": window_secs, "used": used }),
            );
        }
        Value::Object(out)
    }
}

/// Counts one directory write of the calling app against its budget in this tenant.
pub(crate) async fn directory_write(shared: &Shared, caller: &Caller) -> Result<(), Throttled> {
    let tenant = shared.state.read().await.microsoft.tenant.id.clone();
    let key = format!("{tenant}/{}", caller.app_id);
    spend(
        shared,
        DIRECTORY_WRITES,
        &key,
        format!("Tenant_Application/Write/{key}"),
    )
}

/// Counts one invitation against the tenant's invitation budget (and the app's write budget).
pub(crate) async fn invitation(shared: &Shared, caller: &Caller) -> Result<(), Throttled> {
    let tenant = shared.state.read().await.microsoft.tenant.id.clone();
    spend(
        shared,
        INVITATIONS,
        &tenant,
        format!("Tenant/Invitations/{tenant}"),
    )?;
    directory_write(shared, caller).await
}

/// Counts one mail request of the calling app against its budget for the mailbox (a user id).
pub(crate) fn mail(shared: &Shared, caller: &Caller, mailbox: &str) -> Result<(), Throttled> {
    let key = format!("{}/{mailbox}", caller.app_id);
    spend(shared, MAIL, &key, format!("Mailbox/Application/{key}"))
}

fn spend(shared: &Shared, bucket: &'static str, key: &str, scope: String) -> Result<(), Throttled> {
    let now = shared.now();
    shared
        .graph_budgets
        .lock()
        .expect("graph budget lock")
        .spend(bucket, key, now)
        .map_err(|retry_after| Throttled { retry_after, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_counts_per_key_and_window_and_says_how_long_to_wait() {
        let mut b = GraphBudgets::default();
        b.set(DIRECTORY_WRITES, 2, Some(150)).unwrap();
        let t0 = Timestamp::from_second(1_500_000_010).unwrap();
        assert!(b.spend(DIRECTORY_WRITES, "app-a", t0).is_ok());
        assert!(b.spend(DIRECTORY_WRITES, "app-a", t0).is_ok());
        assert_eq!(
            b.spend(DIRECTORY_WRITES, "app-a", t0),
            Err(140),
            "the third write in the window waits for the rest of the 150 s"
        );
        assert!(
            b.spend(DIRECTORY_WRITES, "app-b", t0).is_ok(),
            "another app has its own budget"
        );
        let next = Timestamp::from_second(t0.as_second() + 140).unwrap();
        assert!(
            b.spend(DIRECTORY_WRITES, "app-a", next).is_ok(),
            "a new window"
        );
        assert!(
            b.set("graph.nope", 1, None)
                .unwrap_err()
                .contains(DIRECTORY_WRITES)
        );
        assert!(b.set(DIRECTORY_WRITES, 1, Some(0)).is_err());
    }
}
