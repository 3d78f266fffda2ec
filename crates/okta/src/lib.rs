//! # okta365 Okta client
//!
//! An Okta management API client in the style of octocrab: build an [`OktaClient`] for an org with a
//! credential, then call a handler per resource.
//!
//! ```no_run
//! # async fn run() -> okta365_okta::Result<()> {
//! use okta365_okta::{OktaAuth, OktaClient, ClientId, PrivateKey, GroupQuery};
//! # let pem = String::new();
//! let okta = OktaClient::builder("https://acme.okta.com")
//!     .auth(OktaAuth::ServiceApp {
//!         client_id: ClientId::parse("0oa1b2c3d4e5f6g7h8i9")?,
//!         key: PrivateKey::parse(&pem, None)?,
//!         scopes: vec!["okta.users.read".into(), "okta.groups.read".into()],
//!     })
//!     .build()?;
//! let groups = okta.groups().list(&GroupQuery::new().q("Office")).await?;
//! let members = okta.groups().members(&groups.items()[0].id).await?.collect_all().await?;
//! # Ok(()) }
//! ```
//!
//! | concern | how |
//! |---|---|
//! | credentials | `SSWS` API token, or an API service app: `private_key_jwt` assertion (RS256/ES256, `kid`, 5-minute `exp`, uuid4 `jti`) to `{org}/oauth2/v1/token` |
//! | DPoP | used when the org asks (`invalid_dpop_proof`): an ephemeral per-process EC P-256 key, the nonce retry on `use_dpop_nonce`, `ath` on API calls |
//! | tokens | cached until 5 minutes before expiry, renewed under a lock (no stampede), renewed once more on a 401 |
//! | paging | [`Page`] follows `link: <…>; rel="next"` verbatim, within the org only |
//! | rate limits | one limiter per org, fed by every `X-Rate-Limit-*`; waits for the reset before a bucket at zero and after a 429 |
//! | retries | jittered exponential backoff (`backon`) for 5xx and connection errors, only for idempotent requests unless [`Repeat::Safe`] |
//! | setup | `okta.apps()` and `okta.roles()`: create an API service app, add keys, grant scopes, assign admin roles (an admin's API token) |
//! | errors | [`Error`], with Okta's codes and OAuth errors explained by the one table in [`codes`] |
//!
//! Plain `http://` org URLs are accepted only for loopback addresses (the sandbox tenant). Tokens,
//! keys, assertions and proofs never reach a log line or an error message.

#![warn(missing_docs)]

mod apps;
mod auth;
mod client;
pub mod codes;
mod error;
mod groups;
mod handlers;
pub mod identity_sources;
mod key;
mod models;
mod org;
mod page;
mod ratelimit;
mod user_writes;

pub use apps::{
    AppCredentials, AppSettings, Application, AppsHandler, Jwk, JwkSet, NewServiceApp,
    OAuthClientCredentials, OAuthClientSettings, RoleAssignment, RolesHandler, ScopeGrant,
};
pub use auth::{OktaAuth, TokenInfo, is_credential_error};
pub use client::{OktaClient, OktaClientBuilder, Repeat, RetryPolicy};
pub use codes::{Explanation, OAuthErrorCode, OktaErrorCode};
pub use error::{AuthKind, Error, Result};
pub use groups::{GroupsNamed, name_search};
pub use handlers::{GroupsHandler, IdentitySourcesHandler, LogsHandler, UsersHandler};
pub use identity_sources::{IdentitySourceHandler, Session, SessionStatus, UpsertProfile};
pub use key::{PrivateKey, generate_key_pair};
pub use models::{
    Group, GroupProfile, GroupQuery, ImportSession, LogEntity, LogEvent, LogQuery, SortOrder, User,
    UserProfile,
};
pub use okta365_secrets::Secret;
pub use org::{ClientId, GroupId, IdentitySourceId, OrgUrl, UserId};
pub use page::{DEFAULT_COLLECT_CAP, Page};
pub use ratelimit::{ClientStats, RateLimitStatus};
pub use user_writes::UserWritesHandler;
