//! The Okta management API: users, groups, group members, the System Log and identity-source sessions,
//! with Okta's auth, paging, rate-limit headers and error bodies.
//!
//! Authentication goes through [`Principal`] (an extractor): SSWS API tokens act as the org's super
//! admin; OAuth access tokens (`Bearer`, or `DPoP` with a proof) are checked in
//! [`okta_oauth`](crate::okta_oauth), which also enforces each endpoint's scope and the app's admin role.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::okta_oauth;
use crate::server::{PersistFailed, Shared, okta_id, okta_time, parse_form};
use crate::state::{GroupProfile, LogEvent, OktaGroup, OktaUser, State, sha256_hex};

pub(crate) fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .merge(okta_oauth::router())
        .merge(crate::okta_apps::router())
        .merge(crate::okta_users::router())
        .merge(crate::okta_identity_sources::router())
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/me", get(get_me))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/logs", get(list_logs))
        .route("/api/v1/groups", get(list_groups).post(create_group))
        .route("/api/v1/groups/{gid}", get(get_group))
        .route("/api/v1/groups/{gid}/users", get(list_members))
        .route(
            "/api/v1/groups/{gid}/users/{uid}",
            put(add_member).delete(remove_member),
        )
        .layer(middleware::from_fn_with_state(shared, okta_layer))
}

// ---------------------------------------------------------------------------------------------------
// Errors

/// An Okta error response: `{errorCode, errorSummary, errorLink, errorId, errorCauses}`.
#[derive(Debug)]
pub(crate) struct OktaError {
    status: StatusCode,
    code: &'static str,
    link: Option<&'static str>,
    summary: String,
    causes: Vec<String>,
    headers: Option<Box<HeaderMap>>,
}

impl OktaError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        summary: impl Into<String>,
    ) -> OktaError {
        OktaError {
            status,
            code,
            link: None,
            summary: summary.into(),
            causes: Vec::new(),
            headers: None,
        }
    }

    /// Adds a response header (e.g. `WWW-Authenticate`).
    pub(crate) fn with_header(mut self, name: &'static str, value: HeaderValue) -> OktaError {
        self.headers.get_or_insert_default().insert(name, value);
        self
    }

    /// Adds more `errorCauses`.
    pub(crate) fn with_causes(mut self, causes: impl IntoIterator<Item = String>) -> OktaError {
        self.causes.extend(causes);
        self
    }

    /// Sets `errorLink` (it defaults to the code).
    pub(crate) fn with_link(mut self, link: &'static str) -> OktaError {
        self.link = Some(link);
        self
    }

    /// 403 E0000006, Okta's answer to a caller without the permission (scope or admin role).
    pub(crate) fn access_denied() -> OktaError {
        OktaError::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    pub(crate) fn invalid_token() -> OktaError {
        OktaError::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    pub(crate) fn not_found(id: &str, kind: &str) -> OktaError {
        OktaError::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    pub(crate) fn not_found_path(path: &str) -> OktaError {
        OktaError::not_found(path.rsplit('/').next().unwrap_or(path), "Resource")
    }

    pub(crate) fn validation(field: &str, cause: impl Into<String>) -> OktaError {
        let mut e = OktaError::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {field}"),
        );
        e.causes.push(cause.into());
        e
    }

    fn bad_search() -> OktaError {
        OktaError::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
    }

    fn rate_limited() -> OktaError {
        OktaError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.link.unwrap_or(self.code),
            "errorId": okta_id("oae", 23),
            "errorCauses": self.causes.iter().map(|c| json!({ "errorSummary": c })).collect::<Vec<_>>(),
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(h) = self.headers {
            response.headers_mut().extend(*h);
        }
        response
    }
}

impl From<PersistFailed> for OktaError {
    fn from(e: PersistFailed) -> OktaError {
        tracing::error!(error = %e.0, "sandbox state could not be saved");
        OktaError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }
}

/// An injected fault on an Okta path, shaped like Okta's own.
pub(crate) fn injected_fault(
    shared: &Shared,
    path: &str,
    status: StatusCode,
    retry_after: Option<u64>,
) -> Response {
    let mut error = if status == StatusCode::TOO_MANY_REQUESTS {
        OktaError::rate_limited()
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
        OktaError::new(status, "E0000010", "Service is in read only mode")
    } else {
        OktaError::new(status, "E0000009", "Internal Server Error")
    };
    let bucket = bucket_for(&Method::GET, path);
    let now = shared.now();
    let limit = shared
        .rate_limits
        .lock()
        .expect("rate limit lock")
        .limit_of(bucket);
    let reset = match retry_after {
        Some(s) => now.as_second() + s as i64,
        None => (now.as_second() / 60 + 1) * 60,
    };
    let remaining = if status == StatusCode::TOO_MANY_REQUESTS {
        0
    } else {
        limit.saturating_sub(1)
    };
    insert_rate_headers(
        error.headers.get_or_insert_default(),
        limit,
        remaining,
        reset,
    );
    error.into_response()
}

// ---------------------------------------------------------------------------------------------------
// Rate limits: a per-bucket counter per minute of the sandbox clock, as Okta's org-wide limits.

/// Okta rate-limit buckets with their per-minute limits and current counters.
#[derive(Debug)]
pub(crate) struct RateLimits {
    buckets: HashMap<&'static str, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    limit: u32,
    /// Length of the counting window in seconds (60, as Okta's per-minute limits, unless a test
    /// shortens it through `POST /_sandbox/rate-limits`).
    window_secs: i64,
    window: i64,
    used: u32,
}

const BUCKETS: [(&str, u32); 6] = [
    ("users", 600),
    ("users.get", 2000),
    ("groups", 500),
    ("logs", 120),
    ("oauth2", 600),
    ("default", 1200),
];

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            buckets: BUCKETS
                .iter()
                .map(|(n, l)| {
                    (
                        *n,
                        Bucket {
                            limit: *l,
                            window_secs: 60,
                            window: 0,
                            used: 0,
                        },
                    )
                })
                .collect(),
        }
    }
}

struct RateInfo {
    limit: u32,
    remaining: u32,
    reset: i64,
    exceeded: bool,
}

impl RateLimits {
    fn hit(&mut self, bucket: &'static str, now: Timestamp) -> RateInfo {
        let b = self
            .buckets
            .get_mut(bucket)
            .expect("every bucket name comes from BUCKETS");
        let window = now.as_second().div_euclid(b.window_secs);
        if b.window != window {
            b.window = window;
            b.used = 0;
        }
        let exceeded = b.used >= b.limit;
        if !exceeded {
            b.used += 1;
        }
        RateInfo {
            limit: b.limit,
            remaining: b.limit - b.used,
            reset: (window + 1) * b.window_secs,
            exceeded,
        }
    }

    /// Shortens (or restores) a bucket's counting window: 1 to 60 seconds.
    pub(crate) fn set_window(&mut self, bucket: &str, secs: i64) -> Result<(), String> {
        if !(1..=60).contains(&secs) {
            return Err("window_secs must be between 1 and 60".into());
        }
        let b = self
            .buckets
            .get_mut(bucket)
            .ok_or_else(|| format!("unknown bucket {bucket:?}"))?;
        b.window_secs = secs;
        b.window = 0;
        b.used = 0;
        Ok(())
    }

    fn limit_of(&self, bucket: &str) -> u32 {
        self.buckets.get(bucket).map_or(0, |b| b.limit)
    }

    pub(crate) fn set_limit(&mut self, bucket: &str, limit: u32) -> Result<(), String> {
        match self.buckets.get_mut(bucket) {
            Some(b) if limit > 0 => {
                b.limit = limit;
                Ok(())
            }
            Some(_) => Err("limit must be at least 1".into()),
            None => Err(format!(
                "unknown bucket {bucket:?}; use one of {}",
                BUCKETS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    pub(crate) fn summary(&self, now: Timestamp) -> Value {
        let mut out = Map::new();
        for (name, _) in BUCKETS {
            let b = self.buckets[name];
            let window = now.as_second().div_euclid(b.window_secs);
            let used = if b.window == window { b.used } else { 0 };
            out.insert(name.into(), json!({ "limit": b.limit, "remaining": b.limit - used.min(b.limit), "reset": (window + 1) * b.window_secs, "windowSecs": b.window_secs }));
        }
        Value::Object(out)
    }
}

fn bucket_for(method: &Method, path: &str) -> &'static str {
    if path == "/api/v1/users" && method == Method::GET {
        "users"
    } else if path.starts_with("/api/v1/users/") {
        "users.get"
    } else if path.starts_with("/api/v1/groups") {
        "groups"
    } else if path.starts_with("/api/v1/logs") {
        "logs"
    } else if path.starts_with("/oauth2/") {
        "oauth2"
    } else {
        "default"
    }
}

fn insert_rate_headers(headers: &mut HeaderMap, limit: u32, remaining: u32, reset: i64) {
    headers.insert("x-rate-limit-limit", HeaderValue::from(limit));
    headers.insert("x-rate-limit-remaining", HeaderValue::from(remaining));
    headers.insert("x-rate-limit-reset", HeaderValue::from(reset));
}

/// Counts the request in its bucket, answers 429 E0000047 over the limit, adds `X-Rate-Limit-*` and a
/// request id to every response, and refuses a body-less POST/PUT without `Content-Length` (411) like Okta.
async fn okta_layer(AxState(shared): AxState<Arc<Shared>>, req: Request, next: Next) -> Response {
    let bucket = bucket_for(req.method(), req.uri().path());
    let info = shared
        .rate_limits
        .lock()
        .expect("rate limit lock")
        .hit(bucket, shared.now());
    let mut response = if info.exceeded {
        OktaError::rate_limited().into_response()
    } else if (req.method() == Method::PUT || req.method() == Method::POST)
        && !req.headers().contains_key("content-length")
        && !req.headers().contains_key("transfer-encoding")
    {
        (
            StatusCode::LENGTH_REQUIRED,
            "411 Length Required: send Content-Length: 0 with a request that has no body",
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let headers = response.headers_mut();
    insert_rate_headers(headers, info.limit, info.remaining, info.reset);
    if let Ok(v) = HeaderValue::from_str(&okta_id("", 27)) {
        headers.insert("x-okta-request-id", v);
    }
    response
}

// ---------------------------------------------------------------------------------------------------
// Authentication

/// Who is calling: an SSWS API token (acting as the org's super admin), or an API service app with an
/// OAuth access token whose scope and admin role were already checked for this endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// An API token, by token id and name.
    ApiToken { id: String, name: String },
    /// An API service app, by client id and name.
    ServiceApp { client_id: String, name: String },
}

impl Principal {
    pub(crate) fn actor(&self) -> Value {
        match self {
            Principal::ApiToken { id, name } => {
                json!({ "id": id, "type": "SystemPrincipal", "alternateId": name, "displayName": name })
            }
            Principal::ServiceApp { client_id, name } => {
                json!({ "id": client_id, "type": "PublicClientApp", "alternateId": client_id, "displayName": name })
            }
        }
    }
}

impl FromRequestParts<Arc<Shared>> for Principal {
    type Rejection = OktaError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Principal, OktaError> {
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let (scheme, credential) = header.split_once(' ').unwrap_or((header, ""));
        let credential = credential.trim();
        if credential.is_empty() {
            return Err(OktaError::invalid_token());
        }
        if scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("DPoP") {
            return okta_oauth::authenticate(shared, parts, scheme, credential).await;
        }
        if !scheme.eq_ignore_ascii_case("SSWS") {
            return Err(OktaError::invalid_token());
        }
        let hash = sha256_hex(credential);
        let state = shared.state.read().await;
        let principal = state
            .okta
            .api_tokens
            .iter()
            .find(|t| t.token_hash == hash)
            .map(|t| Principal::ApiToken {
                id: t.id.clone(),
                name: t.name.clone(),
            })
            .ok_or_else(OktaError::invalid_token)?;
        // An API token acts with its admin's roles: a read-only admin's token cannot write.
        crate::okta_apps::check_api_token_write(shared, &state, &principal, &parts.method)?;
        Ok(principal)
    }
}

// ---------------------------------------------------------------------------------------------------
// Rendering

pub(crate) fn render_user(shared: &Shared, u: &OktaUser) -> Value {
    json!({
        "id": u.id,
        "status": u.status,
        "created": u.created,
        "activated": u.activated,
        "statusChanged": u.activated.as_ref().unwrap_or(&u.created),
        "lastLogin": Value::Null,
        "lastUpdated": u.last_updated,
        "passwordChanged": Value::Null,
        "type": { "id": "oty1sandbox0default00" },
        "profile": u.profile,
        "credentials": { "provider": { "type": "OKTA", "name": "OKTA" } },
        "_links": { "self": { "href": shared.url(&format!("/api/v1/users/{}", u.id)) } },
    })
}

fn render_group(shared: &Shared, g: &OktaGroup, stats: bool) -> Value {
    let mut profile = Map::new();
    profile.insert("name".into(), json!(g.profile.name));
    if let Some(d) = &g.profile.description {
        profile.insert("description".into(), json!(d));
    }
    let href = shared.url(&format!("/api/v1/groups/{}", g.id));
    let mut v = json!({
        "id": g.id,
        "created": g.created,
        "lastUpdated": g.last_updated,
        "lastMembershipUpdated": g.last_membership_updated,
        "objectClass": [if g.kind == "APP_GROUP" { "okta:app_group" } else { "okta:user_group" }],
        "type": g.kind,
        "profile": profile,
        "_links": {
            "logo": [
                { "name": "medium", "href": shared.url("/assets/img/logos/groups/okta-medium.png"), "type": "image/png" },
                { "name": "large", "href": shared.url("/assets/img/logos/groups/okta-large.png"), "type": "image/png" },
            ],
            "users": { "href": format!("{href}/users") },
            "apps": { "href": format!("{href}/apps") },
        },
    });
    if stats {
        v["_embedded"] = json!({ "stats": { "usersCount": g.members.len(), "appsCount": 0, "groupPushMappingsCount": 0, "hasAdminPrivilege": false } });
    }
    v
}

// ---------------------------------------------------------------------------------------------------
// Paging

/// One page of a list ordered by id, with Okta's `link` header.
pub(crate) struct Page {
    items: Vec<Value>,
    link: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = axum::Json(Value::Array(self.items)).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.link) {
            response.headers_mut().insert("link", v);
        }
        response
    }
}

pub(crate) fn parse_limit(
    query: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, OktaError> {
    match query.get("limit") {
        None => Ok(default),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok((n as usize).min(max)),
            _ => Err(OktaError::validation(
                "limit",
                format!("limit: {s:?} is not a positive whole number"),
            )),
        },
    }
}

/// Builds the page after the `after` cursor (the last id of the previous page; opaque to clients).
/// `items` must be sorted by id.
pub(crate) fn paginate(
    shared: &Shared,
    path: &str,
    raw_query: Option<&str>,
    query: &HashMap<String, String>,
    items: Vec<(String, Value)>,
    limit: usize,
) -> Page {
    let after = query.get("after").cloned().unwrap_or_default();
    let mut rest = items
        .into_iter()
        .filter(|(id, _)| after.is_empty() || id.as_str() > after.as_str())
        .peekable();
    let mut page = Vec::with_capacity(limit.min(1000));
    let mut last = None;
    while page.len() < limit {
        let Some((id, v)) = rest.next() else { break };
        last = Some(id);
        page.push(v);
    }
    let self_url = match raw_query {
        Some(q) if !q.is_empty() => shared.url(&format!("{path}?{q}")),
        _ => shared.url(path),
    };
    let mut link = format!("<{self_url}>; rel=\"self\"");
    if rest.peek().is_some()
        && let Some(last) = last
    {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        let mut keys: Vec<_> = query
            .keys()
            .filter(|k| *k != "after" && *k != "limit")
            .collect();
        keys.sort();
        ser.append_pair("after", &last);
        ser.append_pair("limit", &limit.to_string());
        for k in keys {
            ser.append_pair(k, &query[k]);
        }
        link.push_str(&format!(
            ", <{}>; rel=\"next\"",
            shared.url(&format!("{path}?{}", ser.finish()))
        ));
    }
    Page { items: page, link }
}

// ---------------------------------------------------------------------------------------------------
// Search and filter expressions: `profile.name eq "X"`, `sw`, `co`, `pr`, `gt/ge/lt/le`, `and`, `or`,
// parentheses. Evaluated on the rendered object, case-insensitively for strings, as Okta does.

#[derive(Debug)]
enum Expr {
    Cmp {
        attr: String,
        op: String,
        value: Option<Value>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

fn tokenize(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '(' || c == ')' {
            out.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut lit = String::from("\"");
            loop {
                match chars.next()? {
                    '\\' => lit.push(chars.next()?),
                    '"' => break,
                    ch => lit.push(ch),
                }
            }
            out.push(lit);
        } else {
            let mut word = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() || ch == '(' || ch == ')' {
                    break;
                }
                word.push(ch);
                chars.next();
            }
            out.push(word);
        }
    }
    Some(out)
}

fn parse_expr(s: &str) -> Option<Expr> {
    let tokens = tokenize(s)?;
    let mut pos = 0;
    let e = parse_or(&tokens, &mut pos)?;
    (pos == tokens.len()).then_some(e)
}

fn parse_or(t: &[String], pos: &mut usize) -> Option<Expr> {
    let mut left = parse_and(t, pos)?;
    while t.get(*pos).is_some_and(|w| w.eq_ignore_ascii_case("or")) {
        *pos += 1;
        left = Expr::Or(Box::new(left), Box::new(parse_and(t, pos)?));
    }
    Some(left)
}

fn parse_and(t: &[String], pos: &mut usize) -> Option<Expr> {
    let mut left = parse_term(t, pos)?;
    while t.get(*pos).is_some_and(|w| w.eq_ignore_ascii_case("and")) {
        *pos += 1;
        left = Expr::And(Box::new(left), Box::new(parse_term(t, pos)?));
    }
    Some(left)
}

fn parse_term(t: &[String], pos: &mut usize) -> Option<Expr> {
    if t.get(*pos)? == "(" {
        *pos += 1;
        let e = parse_or(t, pos)?;
        (t.get(*pos)? == ")").then_some(())?;
        *pos += 1;
        return Some(e);
    }
    let attr = t.get(*pos)?.clone();
    if attr.starts_with('"') {
        return None;
    }
    let op = t.get(*pos + 1)?.to_ascii_lowercase();
    if op == "pr" {
        *pos += 2;
        return Some(Expr::Cmp {
            attr,
            op,
            value: None,
        });
    }
    if !["eq", "ne", "sw", "co", "gt", "ge", "lt", "le"].contains(&op.as_str()) {
        return None;
    }
    let raw = t.get(*pos + 2)?;
    let value = if let Some(s) = raw.strip_prefix('"') {
        Value::String(s.to_owned())
    } else if raw == "true" || raw == "false" {
        Value::Bool(raw == "true")
    } else {
        Value::Number(raw.parse::<i64>().ok()?.into())
    };
    *pos += 3;
    Some(Expr::Cmp {
        attr,
        op,
        value: Some(value),
    })
}

impl Expr {
    fn attrs(&self, out: &mut Vec<String>) {
        match self {
            Expr::Cmp { attr, .. } => out.push(attr.clone()),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.attrs(out);
                b.attrs(out);
            }
        }
    }

    fn matches(&self, obj: &Value) -> bool {
        match self {
            Expr::And(a, b) => a.matches(obj) && b.matches(obj),
            Expr::Or(a, b) => a.matches(obj) || b.matches(obj),
            Expr::Cmp { attr, op, value } => {
                // Through arrays, any element may match (`target.id eq "00g…"` on a log event).
                let found = lookup(obj, attr);
                let Some(value) = value else {
                    return op == "pr" && !found.is_empty();
                };
                found
                    .into_iter()
                    .any(|found| Expr::compare(found, op, value))
            }
        }
    }

    fn compare(found: &Value, op: &str, value: &Value) -> bool {
        match (found, value) {
            (Value::String(a), Value::String(b)) => {
                let (a, b) = (a.to_lowercase(), b.to_lowercase());
                match op {
                    "eq" => a == b,
                    "ne" => a != b,
                    "sw" => a.starts_with(&b),
                    "co" => a.contains(&b),
                    "gt" => a > b,
                    "ge" => a >= b,
                    "lt" => a < b,
                    "le" => a <= b,
                    _ => false,
                }
            }
            (a, b) => match op {
                "eq" => a == b,
                "ne" => a != b,
                _ => false,
            },
        }
    }
}

/// The non-null values at a dotted path, descending into arrays.
fn lookup<'a>(obj: &'a Value, attr: &str) -> Vec<&'a Value> {
    let mut current = vec![obj];
    for key in attr.split('.') {
        current = current
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().filter_map(|i| i.get(key)).collect::<Vec<_>>(),
                _ => v.get(key).into_iter().collect(),
            })
            .collect();
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            _ => vec![v],
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Parses `search` and `filter`; `filter` may only use `filter_attrs`.
fn conditions(
    query: &HashMap<String, String>,
    filter_attrs: &[&str],
) -> Result<Vec<Expr>, OktaError> {
    let mut out = Vec::new();
    if let Some(s) = query.get("search").filter(|s| !s.trim().is_empty()) {
        out.push(parse_expr(s).ok_or_else(OktaError::bad_search)?);
    }
    if let Some(f) = query.get("filter").filter(|s| !s.trim().is_empty()) {
        let e = parse_expr(f).ok_or_else(|| {
            OktaError::new(
                StatusCode::BAD_REQUEST,
                "E0000031",
                "Invalid search criteria.",
            )
        })?;
        let mut attrs = Vec::new();
        e.attrs(&mut attrs);
        if let Some(bad) = attrs.iter().find(|a| !filter_attrs.contains(&a.as_str())) {
            let mut err = OktaError::new(
                StatusCode::BAD_REQUEST,
                "E0000031",
                "Invalid search criteria.",
            );
            err.causes.push(format!(
                "filter does not support {bad}; use search, or one of {}",
                filter_attrs.join(", ")
            ));
            return Err(err);
        }
        out.push(e);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// Users

pub(crate) struct Query {
    pub(crate) raw: Option<String>,
    pub(crate) map: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query, Self::Rejection> {
        let raw = parts.uri.query().map(str::to_owned);
        let map = raw.as_deref().map(parse_form).unwrap_or_default();
        Ok(Query { raw, map })
    }
}

async fn list_users(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    query: Query,
) -> Result<Page, OktaError> {
    let limit = parse_limit(&query.map, 200, 200)?;
    let conds = conditions(
        &query.map,
        &[
            "status",
            "lastUpdated",
            "id",
            "profile.login",
            "profile.email",
            "profile.firstName",
            "profile.lastName",
        ],
    )?;
    let q = query.map.get("q").map(|s| s.to_lowercase());
    let st = shared.state.read().await;
    let mut users: Vec<(String, Value)> = st
        .okta
        .users
        .iter()
        // Without search or filter, Okta leaves out deprovisioned users.
        .filter(|u| !conds.is_empty() || u.status != "DEPROVISIONED")
        .filter(|u| {
            q.as_ref().is_none_or(|q| {
                ["firstName", "lastName", "email"].iter().any(|k| {
                    u.profile
                        .get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| v.to_lowercase().starts_with(q))
                })
            })
        })
        .map(|u| (u.id.clone(), render_user(&shared, u)))
        .filter(|(_, v)| conds.iter().all(|c| c.matches(v)))
        .collect();
    users.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(paginate(
        &shared,
        "/api/v1/users",
        query.raw.as_deref(),
        &query.map,
        users,
        limit,
    ))
}

/// Finds a user by id, login, or login shortname (the part before `@`, when unambiguous).
pub(crate) fn find_user<'a>(st: &'a State, key: &str) -> Option<&'a OktaUser> {
    let login = |u: &&OktaUser| {
        u.profile
            .get("login")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
    };
    let key_l = key.to_lowercase();
    st.okta
        .users
        .iter()
        .find(|u| u.id == key)
        .or_else(|| {
            st.okta
                .users
                .iter()
                .find(|u| login(u).as_deref() == Some(&key_l))
        })
        .or_else(|| {
            let mut short = st
                .okta
                .users
                .iter()
                .filter(|u| login(u).is_some_and(|l| l.split('@').next() == Some(&key_l)));
            match (short.next(), short.next()) {
                (Some(u), None) => Some(u),
                _ => None,
            }
        })
}

async fn get_user(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path(id): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    let user = find_user(&st, &id).ok_or_else(|| OktaError::not_found(&id, "User"))?;
    Ok(axum::Json(render_user(&shared, user)).into_response())
}

// ---------------------------------------------------------------------------------------------------
// Groups

/// `q` returns at most this many groups and is never paged.
const Q_CAP: usize = 300;

async fn list_groups(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    query: Query,
) -> Result<Response, OktaError> {
    let stats = query
        .map
        .get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == "stats"));
    let st = shared.state.read().await;
    let mut groups: Vec<&OktaGroup> = st.okta.groups.iter().collect();
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(q) = query.map.get("q") {
        let limit = parse_limit(&query.map, Q_CAP, Q_CAP)?;
        let q = q.to_lowercase();
        let items: Vec<Value> = groups
            .into_iter()
            .filter(|g| g.profile.name.to_lowercase().starts_with(&q))
            .take(limit)
            .map(|g| render_group(&shared, g, stats))
            .collect();
        return Ok(axum::Json(items).into_response());
    }
    let limit = parse_limit(&query.map, 10_000, 10_000)?;
    let conds = conditions(
        &query.map,
        &["id", "type", "lastUpdated", "lastMembershipUpdated"],
    )?;
    let items: Vec<(String, Value)> = groups
        .into_iter()
        .map(|g| (g.id.clone(), render_group(&shared, g, stats)))
        .filter(|(_, v)| conds.iter().all(|c| c.matches(v)))
        .collect();
    Ok(paginate(
        &shared,
        "/api/v1/groups",
        query.raw.as_deref(),
        &query.map,
        items,
        limit,
    )
    .into_response())
}

async fn get_group(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path(gid): Path<String>,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    let g = st
        .okta
        .groups
        .iter()
        .find(|g| g.id == gid)
        .ok_or_else(|| OktaError::not_found(&gid, "UserGroup"))?;
    Ok(axum::Json(render_group(&shared, g, false)).into_response())
}

async fn create_group(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    body: Bytes,
) -> Result<Response, OktaError> {
    let body: Value = serde_json::from_slice(&body).map_err(|_| {
        OktaError::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
        )
    })?;
    let profile = body.get("profile").and_then(Value::as_object);
    let name = profile
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if name.is_empty() {
        return Err(OktaError::validation(
            "name",
            "name: The field cannot be left blank",
        ));
    }
    if name.chars().count() > 255 {
        return Err(OktaError::validation(
            "name",
            "name: The field is too long (255 characters at most)",
        ));
    }
    let description = match profile.and_then(|p| p.get("description")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(OktaError::validation(
                "description",
                "description: Must be a string",
            ));
        }
    };
    let now = okta_time(shared.now());
    let name = name.to_owned();
    let group = shared
        .mutate(|st| {
            if st
                .okta
                .groups
                .iter()
                .any(|g| g.kind == "OKTA_GROUP" && g.profile.name.eq_ignore_ascii_case(&name))
            {
                return Err(OktaError::validation(
                    "name",
                    "name: An object with this field already exists in the current organization",
                ));
            }
            let group = OktaGroup {
                id: okta_id("00g", 20),
                kind: "OKTA_GROUP".into(),
                profile: GroupProfile { name, description },
                created: now.clone(),
                last_updated: now.clone(),
                last_membership_updated: now,
                members: Vec::new(),
            };
            st.okta.groups.push(group.clone());
            Ok(group)
        })
        .await??;
    Ok(axum::Json(render_group(&shared, &group, false)).into_response())
}

async fn list_members(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    Path(gid): Path<String>,
    query: Query,
) -> Result<Response, OktaError> {
    let limit = parse_limit(&query.map, 1000, 10_000)?;
    let st = shared.state.read().await;
    let g = st
        .okta
        .groups
        .iter()
        .find(|g| g.id == gid)
        .ok_or_else(|| OktaError::not_found(&gid, "UserGroup"))?;
    let by_id: HashMap<&str, &OktaUser> =
        st.okta.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut members: Vec<(String, Value)> = g
        .members
        .iter()
        .filter_map(|id| by_id.get(id.as_str()))
        .map(|u| (u.id.clone(), render_user(&shared, u)))
        .collect();
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let path = format!("/api/v1/groups/{gid}/users");
    Ok(paginate(
        &shared,
        &path,
        query.raw.as_deref(),
        &query.map,
        members,
        limit,
    )
    .into_response())
}

#[derive(Serialize)]
enum Change {
    Add,
    Remove,
}

async fn add_member(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path((gid, uid)): Path<(String, String)>,
) -> Result<StatusCode, OktaError> {
    change_membership(&shared, who, &gid, &uid, Change::Add).await
}

async fn remove_member(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
    Path((gid, uid)): Path<(String, String)>,
) -> Result<StatusCode, OktaError> {
    change_membership(&shared, who, &gid, &uid, Change::Remove).await
}

/// PUT/DELETE membership: 204, only on OKTA_GROUP, and a System Log event when membership changed.
async fn change_membership(
    shared: &Shared,
    who: Principal,
    gid: &str,
    uid: &str,
    change: Change,
) -> Result<StatusCode, OktaError> {
    let now = shared.now();
    shared
        .mutate(|st| {
            let user = st.okta.users.iter().find(|u| u.id == uid).ok_or_else(|| OktaError::not_found(uid, "User"))?;
            let (user_id, login, display) = (
                user.id.clone(),
                user.profile.get("login").and_then(Value::as_str).unwrap_or_default().to_owned(),
                user.profile.get("displayName").and_then(Value::as_str).unwrap_or_default().to_owned(),
            );
            let group =
                st.okta.groups.iter_mut().find(|g| g.id == gid).ok_or_else(|| OktaError::not_found(gid, "UserGroup"))?;
            if group.kind != "OKTA_GROUP" {
                let mut e = OktaError::new(
                    StatusCode::FORBIDDEN,
                    "E0000006",
                    "You do not have permission to perform the requested action",
                );
                e.causes.push(format!(
                    "Group {} is a {}; only memberships of OKTA_GROUP groups can be changed through the API.",
                    group.profile.name, group.kind
                ));
                return Err(e);
            }
            let present = group.members.contains(&user_id);
            let changed = match change {
                Change::Add if !present => {
                    group.members.push(user_id.clone());
                    true
                }
                Change::Remove if present => {
                    group.members.retain(|m| *m != user_id);
                    true
                }
                _ => false,
            };
            if !changed {
                return Ok(());
            }
            group.last_membership_updated = okta_time(now);
            let (event_type, message) = match change {
                Change::Add => ("group.user_membership.add", "Add user to group membership"),
                Change::Remove => ("group.user_membership.remove", "Remove user from group membership"),
            };
            let event = LogEvent {
                uuid: uuid::Uuid::new_v4().to_string(),
                published: okta_time(now),
                event_type: event_type.into(),
                display_message: message.into(),
                severity: "INFO".into(),
                actor: who.actor(),
                target: vec![
                    json!({ "id": user_id, "type": "User", "alternateId": login, "displayName": display }),
                    json!({ "id": group.id, "type": "UserGroup", "alternateId": "unknown", "displayName": group.profile.name }),
                ],
                outcome: json!({ "result": "SUCCESS", "reason": Value::Null }),
                transaction: json!({ "type": "WEB", "id": okta_id("", 27) }),
            };
            st.okta.events.push(event);
            Ok(())
        })
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------------
// Users: me

/// Who `GET /api/v1/users/me` is for an SSWS token: the super admin who owns the org's API tokens (the
/// seed's `superAdmin`, else its first active user).
pub(crate) fn token_owner<'a>(shared: &Shared, st: &'a State) -> Option<&'a OktaUser> {
    let seeded = shared.seed.data().okta.super_admin.as_deref();
    seeded
        .and_then(|login| find_user(st, login))
        .or_else(|| st.okta.users.iter().find(|u| u.status == "ACTIVE"))
}

/// `GET /api/v1/users/me`: the API token's owner. A service app's token has no user behind it, so Okta
/// finds no "me" and answers 404 E0000007.
async fn get_me(
    AxState(shared): AxState<Arc<Shared>>,
    who: Principal,
) -> Result<Response, OktaError> {
    let st = shared.state.read().await;
    match who {
        Principal::ApiToken { id, .. } => {
            let user = crate::okta_apps::token_user(&shared, &st, &id)
                .ok_or_else(|| OktaError::not_found("me", "User"))?;
            Ok(axum::Json(render_user(&shared, user)).into_response())
        }
        Principal::ServiceApp { .. } => Err(OktaError::not_found("me", "User")),
    }
}

// ---------------------------------------------------------------------------------------------------
// System Log

/// An identity source (Custom Identity Source app instance) from the seed.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IdentitySource {
    pub id: String,
    pub name: String,
}

fn bad_log_query(cause: impl Into<String>) -> OktaError {
    let mut e = OktaError::new(
        StatusCode::BAD_REQUEST,
        "E0000053",
        "Invalid parameter: The parameters provided in the request are invalid.",
    );
    e.causes.push(cause.into());
    e
}

/// Removes `null` members, which Okta leaves out of LogEvents.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn render_event(e: &LogEvent) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    v["version"] = json!("0");
    without_nulls(v)
}

/// The `after` cursor of the System Log: opaque to clients, a position in the event list inside.
fn log_cursor(position: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("pos:{position}"))
}

fn parse_log_cursor(after: &str) -> Option<usize> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(after)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("pos:")?
        .parse()
        .ok()
}

/// `GET /api/v1/logs`: the events recorded so far. Without `until` (and in ascending order) it is a
/// polling query: `rel="next"` is always returned, even on an empty page, and later calls to it see
/// events recorded since. With `until` it is bounded: `since <= published < until`, finite pages.
async fn list_logs(
    AxState(shared): AxState<Arc<Shared>>,
    _who: Principal,
    query: Query,
) -> Result<Response, OktaError> {
    let q = &query.map;
    let limit = match q.get("limit") {
        None => 100,
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if n >= 0 => (n as usize).min(1000),
            _ => {
                return Err(OktaError::validation(
                    "limit",
                    format!("limit: {s:?} is not a whole number between 0 and 1000"),
                ));
            }
        },
    };
    let time = |k: &str| -> Result<Option<Timestamp>, OktaError> {
        match q.get(k).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse::<Timestamp>().map(Some).map_err(|_| {
                bad_log_query(format!(
                    "{k}: {v:?} is not an ISO 8601 timestamp such as 2024-01-01T00:00:00.000Z"
                ))
            }),
        }
    };
    let (since, until) = (time("since")?, time("until")?);
    let after = q.get("after").filter(|a| !a.is_empty());
    if since.is_some() && after.is_some() {
        return Err(bad_log_query(
            "since and after cannot be used together; follow the next link as it is",
        ));
    }
    let descending = match q.get("sortOrder").map(String::as_str) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(other) => {
            return Err(bad_log_query(format!(
                "sortOrder: {other:?} must be ASCENDING or DESCENDING"
            )));
        }
    };
    let now = shared.now();
    let week = jiff::SignedDuration::from_hours(24 * 7);
    let until_ts = until.unwrap_or(now);
    let since_ts = since.unwrap_or_else(|| until_ts.checked_sub(week).unwrap_or(until_ts));
    if since_ts
        < now
            .checked_sub(jiff::SignedDuration::from_hours(24 * 180))
            .unwrap_or(now)
    {
        return Err(bad_log_query(
            "since: the System Log keeps events for 90 days; since may be at most 180 days ago",
        ));
    }
    if since_ts > until_ts {
        return Err(bad_log_query("since must be before until"));
    }
    let filter = match q.get("filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(f) => {
            let e = parse_expr(f).ok_or_else(|| bad_log_query(format!("filter: {f:?} is not a valid filter expression such as eventType eq \"group.user_membership.add\"")))?;
            let mut attrs = Vec::new();
            e.attrs(&mut attrs);
            if attrs.iter().any(|a| a == "published") {
                return Err(bad_log_query(
                    "filter: published cannot be filtered on; use since and until",
                ));
            }
            Some(e)
        }
    };
    let keywords: Vec<String> = q
        .get("q")
        .map(|s| s.split_whitespace().map(str::to_lowercase).collect())
        .unwrap_or_default();
    if keywords.len() > 10 || keywords.iter().any(|k| k.chars().count() > 40) {
        return Err(bad_log_query(
            "q: at most 10 keywords of at most 40 characters each",
        ));
    }
    let polling = until.is_none() && !descending;
    let start = match after {
        Some(a) => parse_log_cursor(a).ok_or_else(|| {
            bad_log_query("after: not a cursor from a next link; follow the next link as it is")
        })?,
        None => 0,
    };
    let st = shared.state.read().await;
    let in_window = |e: &LogEvent| {
        e.published
            .parse::<Timestamp>()
            .is_ok_and(|p| (after.is_some() || p >= since_ts) && (polling || p < until_ts))
    };
    let selected = |e: &LogEvent| {
        let v = render_event(e);
        let text = v.to_string().to_lowercase();
        in_window(e)
            && filter.as_ref().is_none_or(|f| f.matches(&v))
            && keywords.iter().all(|k| text.contains(k.as_str()))
    };
    let mut items = Vec::new();
    let link_base = |pos: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        ser.append_pair("after", &log_cursor(pos));
        ser.append_pair("limit", &limit.to_string());
        for k in ["filter", "q", "sortOrder", "until"] {
            if let Some(v) = q.get(k) {
                ser.append_pair(k, v);
            }
        }
        shared.url(&format!("/api/v1/logs?{}", ser.finish()))
    };
    let self_url = match query.raw.as_deref() {
        Some(r) if !r.is_empty() => shared.url(&format!("/api/v1/logs?{r}")),
        _ => shared.url("/api/v1/logs"),
    };
    let mut link = format!("<{self_url}>; rel=\"self\"");
    if polling {
        // Persistence order; the cursor is the position after the last event looked at.
        let mut pos = start.min(st.okta.events.len());
        while pos < st.okta.events.len() && items.len() < limit {
            let e = &st.okta.events[pos];
            if selected(e) {
                items.push(render_event(e));
            }
            pos += 1;
        }
        link.push_str(&format!(", <{}>; rel=\"next\"", link_base(pos)));
    } else {
        let mut matching: Vec<&LogEvent> = st.okta.events.iter().filter(|e| selected(e)).collect();
        matching.sort_by(|a, b| a.published.cmp(&b.published));
        if descending {
            matching.reverse();
        }
        let end = (start + limit).min(matching.len());
        items = matching[start.min(end)..end]
            .iter()
            .map(|e| render_event(e))
            .collect();
        if end < matching.len() {
            link.push_str(&format!(", <{}>; rel=\"next\"", link_base(end)));
        }
    }
    Ok(Page { items, link }.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_expressions_parse_and_match_like_okta() {
        let g = json!({ "id": "00g1", "type": "OKTA_GROUP", "profile": { "name": "Office 365 Assignments" } });
        let cases = [
            (r#"profile.name eq "office 365 assignments""#, true),
            (r#"profile.name sw "Office""#, true),
            (r#"profile.name co "365""#, true),
            (r#"profile.name sw "Office" and type eq "APP_GROUP""#, false),
            (
                r#"profile.name sw "Nope" or (type eq "OKTA_GROUP" and id eq "00g1")"#,
                true,
            ),
            (r#"profile.description pr"#, false),
        ];
        for (expr, expected) in cases {
            let e = parse_expr(expr).unwrap_or_else(|| panic!("{expr} should parse"));
            assert_eq!(e.matches(&g), expected, "{expr}");
        }
        for bad in [
            r#"profile.name eq"#,
            r#"profile.name is "x""#,
            r#"profile.name eq "x" and"#,
            r#"(id eq "1""#,
        ] {
            assert!(parse_expr(bad).is_none(), "{bad} should be rejected");
        }
    }

    #[test]
    fn rate_limit_windows_reset_each_minute() {
        let mut r = RateLimits::default();
        r.set_limit("groups", 2).unwrap();
        let t0 = Timestamp::from_second(1_700_000_040).unwrap();
        assert!(!r.hit("groups", t0).exceeded);
        let second = r.hit("groups", t0);
        assert_eq!((second.remaining, second.exceeded), (0, false));
        assert!(
            r.hit("groups", t0).exceeded,
            "the third call in a minute exceeds a limit of 2"
        );
        let next_minute = Timestamp::from_second(1_700_000_100).unwrap();
        assert!(
            !r.hit("groups", next_minute).exceeded,
            "a new minute starts a new window"
        );
        assert!(r.set_limit("nope", 1).unwrap_err().contains("groups"));
    }
}
