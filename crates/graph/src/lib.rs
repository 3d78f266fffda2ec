//! # okta365 Microsoft client
//!
//! Signs in to Microsoft Entra ID as an app registration (client credentials, with a client secret
//! or a certificate assertion) and calls Microsoft Graph v1.0.
//!
//! ```no_run
//! # async fn demo() -> okta365_graph::Result<()> {
//! use okta365_graph::{ClientId, EntraCredential, GraphClient, TenantId, TokenProvider};
//! use okta365_secrets::Secret;
//! let http = reqwest::Client::new();
//! let provider = TokenProvider::new(
//!     &"https://login.microsoftonline.com".parse().unwrap(),
//!     TenantId::parse("contoso.onmicrosoft.com")?,
//!     ClientId::parse("4f1c2a3b-0000-4000-8000-000000000000")?,
//!     EntraCredential::ClientSecret(Secret::new("…")),
//!     http.clone(),
//! )?;
//! let graph = GraphClient::new(&"https://graph.microsoft.com".parse().unwrap(), provider, http)?;
//! let org = graph.organization().get().await?;
//! let roles = graph.provider().claims().await?.roles;
//! let users = graph.users().list().select(["id", "mail"]).top(100).send().await?.all().await?;
//! # Ok(()) }
//! ```
//!
//! | piece | what it does |
//! |---|---|
//! | [`TokenProvider`] | `POST {login}/{tenant}/oauth2/v2.0/token` with scope `https://graph.microsoft.com/.default`; the token is cached in memory until 5 minutes before it expires, one refresh at a time, and never written anywhere; [`TokenClaims`] reads `roles`, `tid`, `appid`/`azp`, `oid`, `appidacr` |
//! | [`EntraCredential`] | a client secret, or a [`ClientCertificate`] from PEM (certificate + PKCS#1/PKCS#8 RSA key) or PFX (with its password), kept as PEM with [`ClientCertificate::to_pem`]; assertions are PS256 with `x5t#S256` |
//! | [`GraphClient`] | handlers `organization()`, `users()`, `subscribed_skus()`, `applications()`; [`Page`] follows the full `@odata.nextLink` |
//! | retries | every 429 waits `Retry-After` (capped by [`RetryPolicy::max_retry_after`]) and is sent again; 5xx answers and connection errors back off exponentially with jitter, only for requests safe to repeat (GETs and token requests) |
//! | errors | [`Error::Identity`] explains AADSTS codes from the one table in [`aadsts`]; [`Error::Graph`] explains Graph codes from [`graph_codes`]; [`Error::explanation`] splits a message into what happened and the fix |
//!
//! Base URLs must be `https://`; plain `http://` is accepted only for loopback addresses (the
//! sandbox tenant). No token, secret, assertion or private key is ever logged or put in an error.
//!
//! ## Sandbox apps
//! The sandbox's demo seed has two app registrations in tenant `b3f1c0de-5a1e-4d2b-9c3a-7e8f60a1d2c4`
//! (`contoso-sandbox.onmicrosoft.com`):
//!
//! | client id | app | credentials |
//! |---|---|---|
//! | `7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417` | okta365 demo (roles include Application.Read.All) | secrets minted by `POST /_sandbox/demo-credentials` or `POST /_sandbox/entra/apps/{appId}/secrets`; certificates added by `POST /_sandbox/entra/apps/{appId}/certificates` |
//! | `0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95` | okta365 expired secret | one secret, `xpr8Q~SandboxExpiredSecret.okta365.demo0`, which expired on 2024-06-30 (AADSTS7000222) |

// Errors carry Microsoft's codes and trace ids for a support case; they are built only on failure
// paths next to a network round trip, so their size does not matter. A certificate credential is
// used by value for the life of a provider, so boxing it would buy nothing either.
#![allow(clippy::result_large_err, clippy::large_enum_variant)]

pub mod aadsts;
pub mod apps;
pub mod batch;
mod client;
mod credential;
pub mod delegated;
mod error;
pub mod graph_codes;
mod ids;
pub mod invitations;
pub mod licenses;
pub mod mail;
mod models;
mod skus;
mod token;
mod transport;
pub mod users;

pub use client::{
    APPLICATION_READ_ROLES, ApplicationsHandler, GraphClient, ListUsers, OrganizationHandler, Page,
    SubscribedSkusHandler, UsersHandler,
};
pub use credential::{ClientCertificate, EntraCredential};
pub use error::{Error, Explanation, Result};
pub use ids::{ApplicationObjectId, ClientId, SkuId, TenantId, UserId};
pub use licenses::{AssignedLicense, LicenseDetail, LicenseState, LicensedUser};
pub use mail::{MailMessage, SentMessage};
pub use models::{
    Application, KeyCredential, Organization, PasswordCredential, PrepaidUnits, SubscribedSku,
    User, VerifiedDomain,
};
pub use skus::{ServicePlanInfo, product_name};
pub use token::{AccessToken, GRAPH_SCOPE, TokenClaims, TokenProvider};
pub use transport::{Repeat, RetryPolicy};
