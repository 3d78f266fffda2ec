//! Microsoft Graph v1.0: `organization`, `users` (with `$select`, `$top`, `$filter` and
//! `@odata.nextLink` paging), `subscribedSkus` and `applications` (by `$filter=appId eq '…'`, by
//! object id, or `applications(appId='…')`, with their `passwordCredentials` and `keyCredentials`
//! but never a secret), behind bearer tokens from the Entra endpoint and per-endpoint application
//! permissions.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::entra::{self, TokenProblem};
use crate::server::{Shared, parse_form};
use crate::state::{AppRegistration, GraphUser, State};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1.0/organization", get(organization))
        .route("/v1.0/users", get(list_users))
        .route("/v1.0/users/{id}", get(get_user))
        .route("/v1.0/subscribedSkus", get(subscribed_skus))
        .route("/v1.0/applications", get(list_applications))
        .route("/v1.0/applications/{id}", get(get_application))
        // `applications(appId='…')`: the router has no suffix matching, so the whole segment is read.
        .route("/v1.0/{segment}", get(application_by_app_id))
        .merge(crate::graph_apps::router())
        .merge(crate::graph_users::router())
        .merge(crate::graph_invitations::router())
        .merge(crate::graph_batch::router())
        .merge(crate::graph_licenses::router())
        .merge(crate::graph_mail::router())
        .merge(crate::graph_groups::router())
        .layer(middleware::from_fn(graph_layer))
}

// ---------------------------------------------------------------------------------------------------
// Errors and common headers

/// A Graph error: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
#[derive(Debug, Clone)]
pub(crate) struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl GraphError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> GraphError {
        GraphError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Renders the error completely, for responses that do not pass through the Graph router.
    pub(crate) fn respond(self, shared: &Shared, request_headers: &HeaderMap) -> Response {
        let ids = RequestIds::new(request_headers);
        let mut response = render_error(&self, &ids, shared.now());
        ids.apply(response.headers_mut());
        response
    }
}

/// Handlers return the error; [`graph_layer`] fills in the body with the request's ids.
impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

fn render_error(e: &GraphError, ids: &RequestIds, now: jiff::Timestamp) -> Response {
    let body = json!({
        "error": {
            "code": e.code,
            "message": e.message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    let mut response = (e.status, axum::Json(body)).into_response();
    if e.status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static(
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            ),
        );
    }
    response
}

struct RequestIds {
    request_id: String,
    client_request_id: String,
}

impl RequestIds {
    fn new(headers: &HeaderMap) -> RequestIds {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 200)
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        RequestIds {
            request_id,
            client_request_id,
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("request-id", &self.request_id),
            ("client-request-id", &self.client_request_id),
        ] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
    }
}

/// Adds `request-id`/`client-request-id`, renders deferred errors with them, and sets Graph's JSON
/// content type on successful responses.
async fn graph_layer(req: Request, next: Next) -> Response {
    let ids = RequestIds::new(req.headers());
    let mut response = next.run(req).await;
    if let Some(error) = response.extensions_mut().remove::<GraphError>() {
        // The sandbox clock is not reachable here; Graph's innerError date is informational.
        // Headers the handler set (e.g. `Retry-After` on a throttled write) are kept.
        let kept = std::mem::take(response.headers_mut());
        response = render_error(&error, &ids, jiff::Timestamp::now());
        for (name, value) in &kept {
            if name != axum::http::header::CONTENT_TYPE
                && name != axum::http::header::CONTENT_LENGTH
            {
                response.headers_mut().insert(name.clone(), value.clone());
            }
        }
    } else if response.status().is_success() {
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_static(
                "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
            ),
        );
    }
    ids.apply(response.headers_mut());
    response
}

/// An injected fault on a Graph path, shaped like Graph's throttling and outage answers.
pub(crate) fn injected_fault(shared: &Shared, headers: &HeaderMap, status: StatusCode) -> Response {
    let error = match status {
        StatusCode::TOO_MANY_REQUESTS => GraphError::new(
            status,
            "TooManyRequests",
            "Too many requests. Application or tenant is being throttled; retry after the interval in Retry-After.",
        ),
        StatusCode::SERVICE_UNAVAILABLE => GraphError::new(
            status,
            "serviceNotAvailable",
            "Service unavailable. Retry later.",
        ),
        _ => GraphError::new(
            status,
            "generalException",
            "An internal server error occurred. Retry later.",
        ),
    };
    let mut response = error.respond(shared, headers);
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(1u32));
    }
    response
}

// ---------------------------------------------------------------------------------------------------
// Authentication and permissions

/// The app calling Graph, from a verified access token.
pub(crate) struct Caller {
    /// Application roles, or a delegated token's scopes.
    pub(crate) roles: Vec<String>,
    /// A delegated token's directory roles (`wids`); `None` for an app-only token.
    pub(crate) wids: Option<Vec<String>>,
    /// The calling app's client id (the token's `appid`): throttling budgets are per app.
    pub(crate) app_id: String,
}

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = GraphError;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Caller, GraphError> {
        let unauthorized =
            |m: &str| GraphError::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", m);
        let header = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim();
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ if header.is_empty() => return Err(unauthorized("Access token is empty.")),
            _ => {
                return Err(unauthorized(
                    "Access token validation failure. Only Bearer tokens are accepted.",
                ));
            }
        };
        if token.is_empty() {
            return Err(unauthorized("Access token is empty."));
        }
        let tenant_id = shared.state.read().await.microsoft.tenant.id.clone();
        let claims = entra::verify(shared, token, &tenant_id).await.map_err(|p| match p {
            TokenProblem::Malformed => unauthorized(
                "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EncodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
            ),
            TokenProblem::BadSignature => unauthorized("Access token validation failure. Invalid signature."),
            TokenProblem::BadAudience => unauthorized("Access token validation failure. Invalid audience."),
            TokenProblem::Expired => unauthorized("Lifetime validation failed, the token is expired."),
            TokenProblem::NotYetValid => unauthorized("Lifetime validation failed, the token is not yet valid."),
            TokenProblem::WrongTenant => unauthorized("Access token validation failure. Invalid issuer or tenant."),
        })?;
        // A delegated token's scopes count like an app's roles here; what a signed-in user may do
        // beyond that (directory roles) is checked where it matters (graph_apps).
        let mut roles = claims.roles.unwrap_or_default();
        roles.extend(
            claims
                .scp
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned),
        );
        Ok(Caller {
            roles,
            wids: claims.wids,
            app_id: claims.appid,
        })
    }
}

impl Caller {
    /// 403 `Authorization_RequestDenied` unless the token has one of `any_of`.
    pub(crate) fn require(&self, any_of: &[&str]) -> Result<(), GraphError> {
        if self.roles.iter().any(|r| any_of.contains(&r.as_str())) {
            Ok(())
        } else {
            Err(GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ))
        }
    }
}

const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_SKUS: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "LicenseAssignment.Read.All",
    "LicenseAssignment.ReadWrite.All",
];

// ---------------------------------------------------------------------------------------------------
// Query options

pub(crate) struct Query {
    raw: HashMap<String, String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Query, Self::Rejection> {
        // Graph accepts system query options with or without the `$`.
        let raw = parse_form(parts.uri.query().unwrap_or(""))
            .into_iter()
            .map(|(k, v)| {
                (
                    if k.starts_with('$') {
                        k
                    } else {
                        format!("${k}")
                    },
                    v,
                )
            })
            .collect();
        Ok(Query { raw })
    }
}

impl Query {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.raw.get(name).map(String::as_str)
    }

    pub(crate) fn reject_unsupported(&self, allowed: &[&str]) -> Result<(), GraphError> {
        for key in self.raw.keys() {
            if [
                "$orderby", "$search", "$expand", "$count", "$skip", "$format", "$apply",
            ]
            .contains(&key.as_str())
                && !allowed.contains(&key.as_str())
            {
                return Err(GraphError::bad_request(
                    "Request_UnsupportedQuery",
                    format!(
                        "The sandbox does not support the query option '{key}' on this resource yet; leave it out."
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `$select`: the listed properties, each checked against the type's known properties.
pub(crate) fn parse_select(
    query: &Query,
    known: &[&str],
    type_name: &str,
) -> Result<Option<Vec<String>>, GraphError> {
    let Some(select) = query.get("$select") else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for p in select.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some(k) = known.iter().find(|k| k.eq_ignore_ascii_case(p)) else {
            return Err(GraphError::bad_request(
                "BadRequest",
                format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
                ),
            ));
        };
        out.push((*k).to_owned());
    }
    Ok((!out.is_empty()).then_some(out))
}

pub(crate) fn project(full: &Value, select: Option<&[String]>, default: &[&str]) -> Value {
    let mut out = Map::new();
    match select {
        Some(props) => {
            for p in props {
                out.insert(p.clone(), full.get(p).cloned().unwrap_or(Value::Null));
            }
        }
        None => {
            for p in default {
                out.insert(
                    (*p).to_owned(),
                    full.get(*p).cloned().unwrap_or(Value::Null),
                );
            }
        }
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------------------------------
// organization

const ORG_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "assignedPlans",
    "businessPhones",
    "city",
    "country",
    "countryLetterCode",
    "createdDateTime",
    "defaultUsageLocation",
    "displayName",
    "marketingNotificationEmails",
    "onPremisesLastSyncDateTime",
    "onPremisesSyncEnabled",
    "postalCode",
    "preferredLanguage",
    "privacyProfile",
    "provisionedPlans",
    "securityComplianceNotificationMails",
    "securityComplianceNotificationPhones",
    "state",
    "street",
    "technicalNotificationMails",
    "tenantType",
    "verifiedDomains",
];

fn render_organization(st: &State) -> Value {
    let t = &st.microsoft.tenant;
    json!({
        "id": t.id,
        "deletedDateTime": null,
        "assignedPlans": [],
        "businessPhones": [],
        "city": t.city,
        "country": null,
        "countryLetterCode": t.country_letter_code,
        "createdDateTime": t.created_date_time,
        "defaultUsageLocation": null,
        "displayName": t.display_name,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": null,
        "onPremisesSyncEnabled": null,
        "postalCode": t.postal_code,
        "preferredLanguage": t.preferred_language,
        "privacyProfile": null,
        "provisionedPlans": [],
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": t.state,
        "street": t.street,
        "technicalNotificationMails": [],
        "tenantType": t.tenant_type,
        "verifiedDomains": t.verified_domains,
    })
}

async fn organization(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_ORG)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, ORG_PROPERTIES, "organization")?;
    let st = shared.state.read().await;
    let org = project(&render_organization(&st), select.as_deref(), ORG_PROPERTIES);
    Ok(axum::Json(json!({
        "@odata.context": context(&shared, "organization", select.as_deref()),
        "value": [org],
    }))
    .into_response())
}

pub(crate) fn context(shared: &Shared, entity_set: &str, select: Option<&[String]>) -> String {
    match select {
        Some(s) => shared.url(&format!("/v1.0/$metadata#{entity_set}({})", s.join(","))),
        None => shared.url(&format!("/v1.0/$metadata#{entity_set}")),
    }
}

// ---------------------------------------------------------------------------------------------------
// users

/// Graph's default projection of a user when no `$select` is given.
pub(crate) const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Properties the sandbox keeps, plus common ones it has no data for (served as null or empty).
pub(crate) const USER_PROPERTIES: &[&str] = &[
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "jobTitle",
    "department",
    "accountEnabled",
    "usageLocation",
    "userType",
    "businessPhones",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "createdDateTime",
    "assignedLicenses",
    "deletedDateTime",
    "city",
    "country",
    "state",
    "streetAddress",
    "postalCode",
    "companyName",
    "employeeId",
    "employeeType",
    "faxNumber",
    "otherMails",
    "proxyAddresses",
    "imAddresses",
    "onPremisesImmutableId",
    "onPremisesSyncEnabled",
    "externalUserState",
    "creationType",
    "ageGroup",
    "showInAddressList",
    "passwordPolicies",
    "assignedPlans",
    "identities",
    "licenseAssignmentStates",
    "signInSessionsValidFromDateTime",
];

pub(crate) fn render_user(u: &GraphUser) -> Value {
    let mut v = serde_json::to_value(u).expect("a Graph user serializes");
    let obj = v.as_object_mut().expect("a Graph user is an object");
    for (k, empty) in [
        ("deletedDateTime", Value::Null),
        ("city", Value::Null),
        ("country", Value::Null),
        ("state", Value::Null),
        ("streetAddress", Value::Null),
        ("postalCode", Value::Null),
        ("companyName", Value::Null),
        ("employeeId", Value::Null),
        ("employeeType", Value::Null),
        ("faxNumber", Value::Null),
        ("otherMails", json!([])),
        ("proxyAddresses", json!([])),
        ("imAddresses", json!([])),
        ("onPremisesImmutableId", Value::Null),
        ("onPremisesSyncEnabled", Value::Null),
        ("externalUserState", Value::Null),
        ("creationType", Value::Null),
        ("ageGroup", Value::Null),
        ("showInAddressList", Value::Null),
        ("passwordPolicies", Value::Null),
        ("assignedPlans", json!([])),
        ("identities", json!([])),
    ] {
        obj.entry(k).or_insert(empty);
    }
    if u.user_type == "Guest" && !u.extra.contains_key("externalUserState") {
        obj.insert("externalUserState".into(), json!("Accepted"));
        obj.insert("creationType".into(), json!("Invitation"));
    }
    // The stored assignment time is served in `licenseAssignmentStates`, not here.
    if let Some(Value::Array(licenses)) = obj.get_mut("assignedLicenses") {
        for l in licenses.iter_mut().filter_map(Value::as_object_mut) {
            l.remove("assignedDateTime");
        }
    }
    v
}

/// A user as `GET /users` serves it: [`render_user`] plus the licenses inherited from Entra groups
/// and the license assignment states (`graph_licenses`).
pub(crate) fn render_user_in(st: &State, u: &GraphUser) -> Value {
    let mut v = render_user(u);
    crate::graph_licenses::add_license_fields(st, u, &mut v);
    v
}

/// A `$filter` on users: `eq`, `ne`, `in`, `startsWith`, joined with `and`/`or`, parentheses.
#[derive(Debug)]
enum Filter {
    Eq(String, Value),
    Ne(String, Value),
    In(String, Vec<Value>),
    StartsWith(String, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

const FILTER_EQ: &[&str] = &[
    "id",
    "mail",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "jobTitle",
    "department",
    "userType",
    "accountEnabled",
    "usageLocation",
];
const FILTER_STARTS_WITH: &[&str] = &[
    "mail",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mailNickname",
    "jobTitle",
    "department",
];

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn filter_tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            ',' => {
                chars.next();
                out.push(Tok::Comma);
            }
            '\'' => {
                chars.next();
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a string literal is not closed; end it with '".into()),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            lit.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => lit.push(ch),
                    }
                }
                out.push(Tok::Str(lit));
            }
            _ => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_whitespace() || "(),'".contains(ch) {
                        break;
                    }
                    w.push(ch);
                    chars.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

struct FilterParser {
    toks: Vec<Tok>,
    pos: usize,
}

impl FilterParser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: Tok, what: &str) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            _ => Err(format!("expected {what}")),
        }
    }

    fn or(&mut self) -> Result<Filter, GraphError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, GraphError> {
        let mut left = self.term()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.term()?));
        }
        Ok(left)
    }

    fn literal(&mut self) -> Result<Value, GraphError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Value::String(s)),
            Some(Tok::Word(w)) if w == "true" || w == "false" => Ok(Value::Bool(w == "true")),
            Some(Tok::Word(w)) if w == "null" => Ok(Value::Null),
            _ => Err(syntax(
                "a literal such as 'text' (double any ' inside it), true, false or null",
            )),
        }
    }

    fn term(&mut self) -> Result<Filter, GraphError> {
        match self.next() {
            Some(Tok::Open) => {
                let f = self.or()?;
                self.expect(Tok::Close, ")").map_err(|m| syntax(&m))?;
                Ok(f)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("startsWith") => {
                self.expect(Tok::Open, "( after startsWith")
                    .map_err(|m| syntax(&m))?;
                let Some(Tok::Word(prop)) = self.next() else {
                    return Err(syntax("a property name"));
                };
                let prop = property(&prop, FILTER_STARTS_WITH)?;
                self.expect(Tok::Comma, ", after the property")
                    .map_err(|m| syntax(&m))?;
                let Some(Tok::Str(prefix)) = self.next() else {
                    return Err(syntax("a 'prefix' string"));
                };
                self.expect(Tok::Close, ")").map_err(|m| syntax(&m))?;
                Ok(Filter::StartsWith(prop, prefix))
            }
            Some(Tok::Word(prop)) => {
                let Some(Tok::Word(op)) = self.next() else {
                    return Err(syntax("an operator such as eq"));
                };
                let op = op.to_ascii_lowercase();
                if !["eq", "ne", "in"].contains(&op.as_str()) {
                    return Err(GraphError::bad_request(
                        "Request_UnsupportedQuery",
                        format!(
                            "The sandbox supports eq, ne, in and startsWith in $filter on users, not '{op}'."
                        ),
                    ));
                }
                let prop = property(&prop, FILTER_EQ)?;
                match op.as_str() {
                    "in" => {
                        self.expect(Tok::Open, "( after in")
                            .map_err(|m| syntax(&m))?;
                        let mut values = vec![self.literal()?];
                        while self.toks.get(self.pos) == Some(&Tok::Comma) {
                            self.pos += 1;
                            values.push(self.literal()?);
                        }
                        self.expect(Tok::Close, ")").map_err(|m| syntax(&m))?;
                        Ok(Filter::In(prop, values))
                    }
                    "eq" => Ok(Filter::Eq(prop, self.literal()?)),
                    _ => Ok(Filter::Ne(prop, self.literal()?)),
                }
            }
            _ => Err(syntax("a condition")),
        }
    }
}

fn syntax(expected: &str) -> GraphError {
    GraphError::bad_request(
        "BadRequest",
        format!("Invalid filter clause: {expected} was expected."),
    )
}

fn property(name: &str, allowed: &[&str]) -> Result<String, GraphError> {
    allowed.iter().find(|p| p.eq_ignore_ascii_case(name)).map(|p| (*p).to_owned()).ok_or_else(|| {
        GraphError::bad_request(
            "Request_UnsupportedQuery",
            format!("Unsupported or invalid query filter clause specified for property '{name}' of resource 'User'."),
        )
    })
}

fn parse_filter(s: &str) -> Result<Filter, GraphError> {
    let toks = filter_tokens(s).map_err(|m| {
        GraphError::bad_request("BadRequest", format!("Invalid filter clause: {m}"))
    })?;
    let mut p = FilterParser { toks, pos: 0 };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err(syntax("and, or, or the end of the filter"));
    }
    Ok(f)
}

/// Directory string comparisons are case-insensitive.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (a, b) => a == b,
    }
}

impl Filter {
    fn matches(&self, u: &Value) -> bool {
        let get = |p: &str| u.get(p).unwrap_or(&Value::Null);
        match self {
            Filter::Eq(p, v) => same(get(p), v),
            Filter::Ne(p, v) => !same(get(p), v),
            Filter::In(p, vs) => vs.iter().any(|v| same(get(p), v)),
            Filter::StartsWith(p, prefix) => get(p)
                .as_str()
                .is_some_and(|s| s.to_lowercase().starts_with(&prefix.to_lowercase())),
            Filter::And(a, b) => a.matches(u) && b.matches(u),
            Filter::Or(a, b) => a.matches(u) || b.matches(u),
        }
    }
}

async fn list_users(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_USERS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, USER_PROPERTIES, "user")?;
    let top = match query.get("$top") {
        None => 100,
        Some(t) => match t.trim().parse::<i64>() {
            Ok(n) if (1..=999).contains(&n) => n as usize,
            _ => {
                return Err(GraphError::bad_request(
                    "Request_BadRequest",
                    format!(
                        "Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."
                    ),
                ));
            }
        },
    };
    let filter = query
        .get("$filter")
        .filter(|f| !f.trim().is_empty())
        .map(parse_filter)
        .transpose()?;
    let after = match query.get("$skiptoken") {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| GraphError::bad_request("Request_BadRequest", "The specified page token value has expired or is invalid. Start again from the first page."))?,
        ),
    };
    let st = shared.state.read().await;
    let mut users: Vec<&GraphUser> = st.microsoft.users.iter().collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    let mut matching = users
        .into_iter()
        .filter(|u| after.as_deref().is_none_or(|a| u.id.as_str() > a))
        .map(|u| render_user_in(&st, u))
        .filter(|v| filter.as_ref().is_none_or(|f| f.matches(v)))
        .peekable();
    let mut page = Vec::new();
    let mut last_id = None;
    while page.len() < top {
        let Some(v) = matching.next() else { break };
        last_id = v["id"].as_str().map(str::to_owned);
        page.push(project(&v, select.as_deref(), USER_DEFAULT));
    }
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context(&shared, "users", select.as_deref())),
    );
    if matching.peek().is_some()
        && let Some(last) = last_id
    {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for key in ["$filter", "$select"] {
            if let Some(v) = query.get(key) {
                ser.append_pair(key, v);
            }
        }
        ser.append_pair("$top", &top.to_string());
        ser.append_pair("$skiptoken", &URL_SAFE_NO_PAD.encode(last.as_bytes()));
        body.insert(
            "@odata.nextLink".into(),
            json!(shared.url(&format!("/v1.0/users?{}", ser.finish()))),
        );
    }
    body.insert("value".into(), Value::Array(page));
    Ok(axum::Json(Value::Object(body)).into_response())
}

async fn get_user(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_USERS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, USER_PROPERTIES, "user")?;
    crate::graph_users::not_replicated_yet(&shared, &id)?;
    let st = shared.state.read().await;
    let user = st
        .microsoft
        .users
        .iter()
        .find(|u| u.id.eq_ignore_ascii_case(&id) || u.user_principal_name.eq_ignore_ascii_case(&id))
        .ok_or_else(|| {
            GraphError::new(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
            )
        })?;
    let mut v = project(&render_user_in(&st, user), select.as_deref(), USER_DEFAULT);
    let ctx = match &select {
        Some(s) => shared.url(&format!("/v1.0/$metadata#users({})/$entity", s.join(","))),
        None => shared.url("/v1.0/$metadata#users/$entity"),
    };
    if let Some(obj) = v.as_object_mut() {
        let mut with_ctx = Map::new();
        with_ctx.insert("@odata.context".into(), json!(ctx));
        with_ctx.append(obj);
        v = Value::Object(with_ctx);
    }
    Ok(axum::Json(v).into_response())
}

// ---------------------------------------------------------------------------------------------------
// subscribedSkus

async fn subscribed_skus(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_SKUS)?;
    if query.get("$filter").is_some() {
        return Err(GraphError::bad_request(
            "Request_UnsupportedQuery",
            "subscribedSkus does not support $filter; read them all and filter on the client.",
        ));
    }
    query.reject_unsupported(&[])?;
    let st = shared.state.read().await;
    let tenant = &st.microsoft.tenant;
    let account_name = tenant
        .verified_domains
        .iter()
        .find(|d| d.is_initial)
        .map(|d| d.name.split('.').next().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let value: Vec<Value> = st
        .microsoft
        .subscribed_skus
        .iter()
        .map(|s| {
            // Users holding the SKU directly or through a group, each once.
            let consumed = crate::graph_licenses::consumed(&st, &s.sku_id);
            json!({
                "accountId": tenant.id,
                "accountName": account_name,
                "appliesTo": s.applies_to,
                "capabilityStatus": s.capability_status,
                "consumedUnits": consumed,
                "id": format!("{}_{}", tenant.id, s.sku_id),
                "skuId": s.sku_id,
                "skuPartNumber": s.sku_part_number,
                "subscriptionIds": [],
                "prepaidUnits": s.prepaid_units,
                "servicePlans": s.service_plans,
            })
        })
        .collect();
    Ok(axum::Json(
        json!({ "@odata.context": context(&shared, "subscribedSkus", None), "value": value }),
    )
    .into_response())
}

// ---------------------------------------------------------------------------------------------------
// applications

/// Reading app registrations (Graph's least privileged first).
pub(crate) const READ_APPLICATIONS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

pub(crate) const APPLICATION_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "appId",
    "createdDateTime",
    "description",
    "displayName",
    "identifierUris",
    "isFallbackPublicClient",
    "keyCredentials",
    "notes",
    "passwordCredentials",
    "publisherDomain",
    "requiredResourceAccess",
    "signInAudience",
    "tags",
];

/// The application object id: stored, or derived from the appId for apps saved without one.
pub(crate) fn application_object_id(app: &AppRegistration) -> String {
    app.object_id.clone().unwrap_or_else(|| {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(app.app_id.to_ascii_lowercase().as_bytes());
        uuid::Uuid::from_slice(&digest[..16])
            .map(|u| u.to_string())
            .unwrap_or_else(|_| app.app_id.clone())
    })
}

pub(crate) fn render_application(st: &State, app: &AppRegistration) -> Value {
    let tenant = &st.microsoft.tenant;
    json!({
        "id": application_object_id(app),
        "deletedDateTime": null,
        "appId": app.app_id,
        "createdDateTime": app.created_date_time.as_deref().unwrap_or(&tenant.created_date_time),
        "description": null,
        "displayName": app.display_name,
        "identifierUris": [],
        "isFallbackPublicClient": null,
        "keyCredentials": app.certificates.iter().map(crate::entra_control::key_credential).collect::<Vec<_>>(),
        "notes": null,
        "passwordCredentials": app.secrets.iter().map(crate::entra_control::password_credential).collect::<Vec<_>>(),
        "publisherDomain": tenant.verified_domains.iter().find(|d| d.is_initial).map(|d| d.name.clone()),
        "requiredResourceAccess": app.required_resource_access,
        "signInAudience": "AzureADMyOrg",
        "tags": [],
    })
}

pub(crate) fn application_not_found(id: &str) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// `$filter` on applications: `appId eq '…'` or `displayName eq '…'`.
fn application_filter(f: &str) -> Result<(&'static str, String), GraphError> {
    let toks = filter_tokens(f).map_err(|m| {
        GraphError::bad_request("BadRequest", format!("Invalid filter clause: {m}"))
    })?;
    match toks.as_slice() {
        [Tok::Word(prop), Tok::Word(op), Tok::Str(value)] if op.eq_ignore_ascii_case("eq") => {
            let prop = ["appId", "displayName"]
                .into_iter()
                .find(|p| p.eq_ignore_ascii_case(prop))
                .ok_or_else(|| {
                    GraphError::bad_request(
                        "Request_UnsupportedQuery",
                        format!("Unsupported or invalid query filter clause specified for property '{prop}' of resource 'Application'."),
                    )
                })?;
            Ok((prop, value.clone()))
        }
        _ => Err(GraphError::bad_request(
            "Request_UnsupportedQuery",
            "The sandbox supports $filter=appId eq '…' or displayName eq '…' on applications.",
        )),
    }
}

async fn list_applications(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_APPLICATIONS)?;
    query.reject_unsupported(&[])?;
    let select = parse_select(&query, APPLICATION_PROPERTIES, "application")?;
    let filter = query
        .get("$filter")
        .filter(|f| !f.trim().is_empty())
        .map(application_filter)
        .transpose()?;
    let st = shared.state.read().await;
    let value: Vec<Value> = st
        .microsoft
        .apps
        .iter()
        .filter(|a| match &filter {
            None => true,
            Some(("appId", v)) => a.app_id.eq_ignore_ascii_case(v),
            Some((_, v)) => a.display_name.eq_ignore_ascii_case(v),
        })
        .map(|a| {
            project(
                &render_application(&st, a),
                select.as_deref(),
                APPLICATION_PROPERTIES,
            )
        })
        .collect();
    Ok(axum::Json(json!({
        "@odata.context": context(&shared, "applications", select.as_deref()),
        "value": value,
    }))
    .into_response())
}

pub(crate) fn one_application(
    shared: &Shared,
    st: &State,
    app: &AppRegistration,
    query: &Query,
) -> Result<Response, GraphError> {
    query.reject_unsupported(&[])?;
    let select = parse_select(query, APPLICATION_PROPERTIES, "application")?;
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(shared.url("/v1.0/$metadata#applications/$entity")),
    );
    if let Value::Object(mut v) = project(
        &render_application(st, app),
        select.as_deref(),
        APPLICATION_PROPERTIES,
    ) {
        body.append(&mut v);
    }
    Ok(axum::Json(Value::Object(body)).into_response())
}

async fn get_application(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Query,
) -> Result<Response, GraphError> {
    caller.require(READ_APPLICATIONS)?;
    let st = shared.state.read().await;
    let app = st
        .microsoft
        .apps
        .iter()
        .find(|a| application_object_id(a).eq_ignore_ascii_case(&id))
        .ok_or_else(|| application_not_found(&id))?;
    one_application(&shared, &st, app, &query)
}

async fn application_by_app_id(
    AxState(shared): AxState<Arc<Shared>>,
    Path(segment): Path<String>,
    parts: Parts,
) -> Result<Response, GraphError> {
    if segment.starts_with("servicePrincipals(") {
        return crate::graph_apps::service_principal_by_app_id(shared, segment, parts).await;
    }
    let Some(key) = segment
        .strip_prefix("applications(")
        .and_then(|s| s.strip_suffix(')'))
    else {
        return Err(GraphError::bad_request(
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        ));
    };
    let mut parts = parts;
    let caller = Caller::from_request_parts(&mut parts, &shared).await?;
    caller.require(READ_APPLICATIONS)?;
    let query = Query::from_request_parts(&mut parts, &shared)
        .await
        .unwrap_or_else(|never| match never {});
    let app_id = key
        .strip_prefix("appId=")
        .map(|v| v.trim_matches('\''))
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            GraphError::bad_request(
                "BadRequest",
                format!(
                    "The key '{key}' is not supported here; address an application as applications(appId='{{appId}}')."
                ),
            )
        })?;
    let st = shared.state.read().await;
    let app = st
        .microsoft
        .apps
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(app_id))
        .ok_or_else(|| application_not_found(app_id))?;
    one_application(&shared, &st, app, &query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_with_quote_escaping_and_match_case_insensitively() {
        let u = json!({ "mail": "Pat.O'Brien@contoso.example", "userPrincipalName": "pat@contoso.example", "accountEnabled": true });
        let cases = [
            ("mail eq 'pat.o''brien@contoso.example'", true),
            ("startsWith(userPrincipalName,'PAT@')", true),
            ("mail in ('x@y', 'Pat.O''Brien@contoso.example')", true),
            ("accountEnabled eq false or startsWith(mail, 'zz')", false),
            ("(mail ne 'a') and accountEnabled eq true", true),
        ];
        for (f, expected) in cases {
            let parsed = parse_filter(f).unwrap_or_else(|e| panic!("{f}: {}", e.message));
            assert_eq!(parsed.matches(&u), expected, "{f}");
        }
    }

    #[test]
    fn unsupported_filters_name_the_problem() {
        let e = parse_filter("city eq 'x'").unwrap_err();
        assert_eq!(e.code, "Request_UnsupportedQuery");
        assert!(e.message.contains("'city'"), "{}", e.message);
        let e = parse_filter("endsWith(mail,'x')").unwrap_err();
        assert!(e.message.contains("operator"), "{}", e.message);
        let e = parse_filter("mail eq 'open").unwrap_err();
        assert_eq!(e.code, "BadRequest");
    }
}
