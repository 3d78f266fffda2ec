//! The Microsoft Graph client, its resource handlers and [`Page`].

use std::fmt;
use std::sync::Arc;

use reqwest::{Method, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, Result};
use crate::ids::{ClientId, UserId};
use crate::models::{Application, Organization, SubscribedSku, User};
use crate::token::TokenProvider;
use crate::transport::{self, Repeat, RetryPolicy};

/// Application permissions that allow reading app registrations (least privileged first): with one
/// of these the app can read its own secrets' end dates.
pub const APPLICATION_READ_ROLES: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

struct Inner {
    /// `{graph}/v1.0/`.
    api: Url,
    provider: TokenProvider,
    http: reqwest::Client,
    retry: RetryPolicy,
    /// The directory write budget of this app + tenant, shared by every write of the client.
    writes: Arc<crate::batch::WriteBudget>,
}

/// A Microsoft Graph v1.0 client for one app registration. Cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("api", &self.inner.api.as_str())
            .field("provider", &self.inner.provider)
            .finish()
    }
}

impl GraphClient {
    /// A client for Graph at `graph_url` (e.g. `https://graph.microsoft.com`, or the sandbox's
    /// origin), with tokens from `provider`.
    pub fn new(
        graph_url: &Url,
        provider: TokenProvider,
        http: reqwest::Client,
    ) -> Result<GraphClient> {
        let base = transport::base_url(graph_url, "Graph URL")?;
        let api = base.join("v1.0/").map_err(|e| {
            Error::InvalidInput(format!("The Graph URL {base} cannot take /v1.0 ({e})."))
        })?;
        Ok(GraphClient {
            inner: Arc::new(Inner {
                api,
                provider,
                http,
                retry: RetryPolicy::default(),
                writes: Arc::new(crate::batch::WriteBudget::default()),
            }),
        })
    }

    /// Changes how Graph requests are retried (429 waits, 5xx/connection backoff).
    pub fn with_retry_policy(self, retry: RetryPolicy) -> GraphClient {
        GraphClient {
            inner: Arc::new(Inner {
                api: self.inner.api.clone(),
                provider: self.inner.provider.clone(),
                http: self.inner.http.clone(),
                retry,
                writes: self.inner.writes.clone(),
            }),
        }
    }

    /// The token provider.
    pub fn provider(&self) -> &TokenProvider {
        &self.inner.provider
    }

    /// `/organization`.
    pub fn organization(&self) -> OrganizationHandler<'_> {
        OrganizationHandler { client: self }
    }

    /// `/users`.
    pub fn users(&self) -> UsersHandler<'_> {
        UsersHandler { client: self }
    }

    /// `/subscribedSkus`.
    pub fn subscribed_skus(&self) -> SubscribedSkusHandler<'_> {
        SubscribedSkusHandler { client: self }
    }

    /// `/applications`.
    pub fn applications(&self) -> ApplicationsHandler<'_> {
        ApplicationsHandler { client: self }
    }

    /// The directory write budget every write of this client waits for.
    pub fn write_budget(&self) -> &crate::batch::WriteBudget {
        &self.inner.writes
    }

    /// Sends one authenticated request with an optional JSON body and extra headers (a write, or a
    /// `$batch`); the caller reads the answer. A token Graph refuses once is replaced and the request
    /// sent again.
    pub(crate) async fn send_with(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        headers: &[(&str, String)],
        repeat: Repeat,
    ) -> Result<Response> {
        let mut refreshed = false;
        loop {
            let token = self.inner.provider.token().await?;
            let response = transport::send(&self.inner.retry, repeat, url, || {
                let mut request = self
                    .inner
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.secret().expose())
                    .header("accept", "application/json");
                for (name, value) in headers {
                    request = request.header(*name, value);
                }
                match body {
                    Some(body) => request.json(body),
                    None if method != Method::GET && method != Method::DELETE => {
                        request.header("content-length", "0")
                    }
                    None => request,
                }
            })
            .await?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                self.inner.provider.invalidate().await;
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    pub(crate) fn url(&self, path: &str, query: &[(&str, String)]) -> Result<Url> {
        let mut url =
            self.inner.api.join(path).map_err(|e| {
                Error::InvalidInput(format!("{path} is not a valid Graph path ({e})."))
            })?;
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends one authenticated request; a token Graph refuses once is replaced and the request sent
    /// again.
    async fn send(&self, method: Method, url: &Url, repeat: Repeat) -> Result<Response> {
        let mut refreshed = false;
        loop {
            let token = self.inner.provider.token().await?;
            let response = transport::send(&self.inner.retry, repeat, url, || {
                self.inner
                    .http
                    .request(method.clone(), url.clone())
                    .bearer_auth(token.secret().expose())
                    .header("accept", "application/json")
            })
            .await?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED && !refreshed {
                self.inner.provider.invalidate().await;
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// GETs `url` and reads the JSON answer as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T> {
        let response = self.send(Method::GET, url, Repeat::Safe).await?;
        read_json(url, response).await
    }

    /// GETs one page of a collection.
    pub(crate) async fn page<T: DeserializeOwned>(&self, url: &Url) -> Result<Page<T>> {
        #[derive(Deserialize)]
        struct Raw<T> {
            value: Vec<T>,
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<String>,
        }
        let raw: Raw<T> = self.get_json(url).await?;
        let next_link = match raw.next_link {
            None => None,
            Some(link) => {
                let next = Url::parse(&link).map_err(|_| Error::UnexpectedResponse {
                    url: url.to_string(),
                    status: 200,
                    reason: "@odata.nextLink is not a URL".into(),
                })?;
                // The bearer token goes only to the configured Graph origin.
                if next.origin() != self.inner.api.origin() {
                    return Err(Error::UnexpectedResponse {
                        url: url.to_string(),
                        status: 200,
                        reason: format!(
                            "@odata.nextLink points at another host ({})",
                            next.origin().ascii_serialization()
                        ),
                    });
                }
                Some(next)
            }
        };
        Ok(Page {
            items: raw.value,
            next_link,
            client: self.clone(),
        })
    }
}

/// Reads a Graph answer: the JSON body on success, [`Error::Graph`] otherwise.
pub(crate) async fn read_json<T: DeserializeOwned>(url: &Url, response: Response) -> Result<T> {
    let status = response.status();
    let header_request_id = response
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.map_err(|e| Error::Transport {
        url: url.to_string(),
        reason: format!("the answer could not be read ({e})"),
    })?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| Error::UnexpectedResponse {
            url: url.to_string(),
            status: status.as_u16(),
            reason: format!("the JSON is not what Graph returns here ({e})"),
        });
    }
    #[derive(Deserialize)]
    struct Body {
        error: ErrorBody,
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        code: String,
        #[serde(default)]
        message: String,
        #[serde(default, rename = "innerError")]
        inner: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Body>(&bytes) {
        Ok(b) => Err(Error::Graph {
            status: status.as_u16(),
            code: b.error.code,
            message: b.error.message,
            request_id: b
                .error
                .inner
                .as_ref()
                .and_then(|i| i.get("request-id"))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .or(header_request_id),
        }),
        Err(_) => Err(Error::UnexpectedResponse {
            url: url.to_string(),
            status: status.as_u16(),
            reason: "not a Graph error body".into(),
        }),
    }
}

/// One page of a Graph collection, able to fetch the next one through `@odata.nextLink`.
pub struct Page<T> {
    /// The items on this page (a page may be empty and still have a next one).
    pub items: Vec<T>,
    next_link: Option<Url>,
    client: GraphClient,
}

impl<T: fmt::Debug> fmt::Debug for Page<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("items", &self.items)
            .field("next_link", &self.next_link.as_ref().map(Url::as_str))
            .finish()
    }
}

impl<T: DeserializeOwned> Page<T> {
    /// The full next-page URL, if there is one.
    pub fn next_link(&self) -> Option<&Url> {
        self.next_link.as_ref()
    }

    /// The next page, or `None` on the last one.
    pub async fn next(&self) -> Result<Option<Page<T>>> {
        match &self.next_link {
            None => Ok(None),
            Some(url) => self.client.page(url).await.map(Some),
        }
    }

    /// This page's items and those of every following page.
    pub async fn all(self) -> Result<Vec<T>> {
        let mut items = self.items;
        let mut next = self.next_link;
        while let Some(url) = next {
            let page: Page<T> = self.client.page(&url).await?;
            items.extend(page.items);
            next = page.next_link;
        }
        Ok(items)
    }
}

/// `/organization`.
#[derive(Debug)]
pub struct OrganizationHandler<'a> {
    client: &'a GraphClient,
}

impl OrganizationHandler<'_> {
    /// The tenant: name and verified domains. Needs Organization.Read.All or Directory.Read.All.
    pub async fn get(&self) -> Result<Organization> {
        let url = self.client.url("organization", &[])?;
        let page: Page<Organization> = self.client.page(&url).await?;
        page.items
            .into_iter()
            .next()
            .ok_or_else(|| Error::UnexpectedResponse {
                url: url.to_string(),
                status: 200,
                reason: "no organization in the answer".into(),
            })
    }
}

/// `/users`.
#[derive(Debug)]
pub struct UsersHandler<'a> {
    pub(crate) client: &'a GraphClient,
}

impl<'a> UsersHandler<'a> {
    /// A users query; add `filter`, `select`, `top`, then `send`.
    pub fn list(&self) -> ListUsers<'a> {
        ListUsers {
            client: self.client,
            filter: None,
            select: Vec::new(),
            top: None,
        }
    }

    /// One user by object id or user principal name. A missing user is [`Error::Graph`] with
    /// `Request_ResourceNotFound`.
    pub async fn get(&self, id: &UserId) -> Result<User> {
        let url = self
            .client
            .url(&format!("users/{}", encode_segment(id.as_str())), &[])?;
        self.client.get_json(&url).await
    }
}

/// A `GET /users` query being built.
#[derive(Debug)]
pub struct ListUsers<'a> {
    client: &'a GraphClient,
    filter: Option<String>,
    select: Vec<String>,
    top: Option<u16>,
}

impl ListUsers<'_> {
    /// `$filter`, e.g. `mail eq 'a@contoso.com'` (double any `'` inside a literal).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// `$select`: the properties to return.
    pub fn select<I, S>(mut self, properties: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select = properties.into_iter().map(Into::into).collect();
        self
    }

    /// `$top`: the page size (1–999).
    pub fn top(mut self, n: u16) -> Self {
        self.top = Some(n);
        self
    }

    /// The first page.
    pub async fn send(self) -> Result<Page<User>> {
        let mut query = Vec::new();
        if let Some(f) = self.filter {
            query.push(("$filter", f));
        }
        if !self.select.is_empty() {
            query.push(("$select", self.select.join(",")));
        }
        if let Some(n) = self.top {
            if !(1..=999).contains(&n) {
                return Err(Error::InvalidInput(format!(
                    "A Graph page holds 1 to 999 users, not {n}."
                )));
            }
            query.push(("$top", n.to_string()));
        }
        let url = self.client.url("users", &query)?;
        self.client.page(&url).await
    }
}

/// `/subscribedSkus`.
#[derive(Debug)]
pub struct SubscribedSkusHandler<'a> {
    client: &'a GraphClient,
}

impl SubscribedSkusHandler<'_> {
    /// Every subscribed SKU (all pages). Needs Organization.Read.All, Directory.Read.All or
    /// LicenseAssignment.Read.All.
    pub async fn list(&self) -> Result<Vec<SubscribedSku>> {
        let url = self.client.url("subscribedSkus", &[])?;
        self.client.page::<SubscribedSku>(&url).await?.all().await
    }
}

/// `/applications`.
#[derive(Debug)]
pub struct ApplicationsHandler<'a> {
    client: &'a GraphClient,
}

impl ApplicationsHandler<'_> {
    /// The app registration with this client id (`$filter=appId eq '…'`), or `None` when the
    /// tenant has none. Needs one of [`APPLICATION_READ_ROLES`]; without it the error is
    /// [`Error::Graph`] 403 `Authorization_RequestDenied`.
    pub async fn by_app_id(&self, app_id: &ClientId) -> Result<Option<Application>> {
        let url = self.client.url(
            "applications",
            &[
                (
                    "$filter",
                    format!("appId eq '{}'", app_id.as_str().replace('\'', "''")),
                ),
                (
                    "$select",
                    "id,appId,displayName,passwordCredentials,keyCredentials".to_owned(),
                ),
            ],
        )?;
        let page: Page<Application> = self.client.page(&url).await?;
        Ok(page.items.into_iter().next())
    }
}

/// Percent-encodes one path segment (a UPN may hold `#` or `'`).
pub(crate) fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
