//! # okta365 sandbox tenant
//!
//! A loopback HTTP server that behaves like an Okta org plus a Microsoft Entra tenant with Microsoft
//! Graph, used by every okta365 test and by sandbox profiles in the app and the CLI. One origin
//! `http://127.0.0.1:{port}` serves every vendor path as the vendors lay them out:
//!
//! | prefix | vendor |
//! |---|---|
//! | `/api/v1/...` | Okta management API (`Authorization: SSWS {token}`, or an access token from below: `Bearer`, or `DPoP` with a proof) |
//! | `/oauth2/v1/clients/{clientId}/roles` | an app's admin roles (with the apps, keys and scope grants under `/api/v1/apps`: `okta_apps`) |
//! | `/oauth2/v1/token` | Okta org authorization server: client credentials for API service apps (`private_key_jwt`, DPoP) |
//! | `/{tenant}/oauth2/v2.0/token` | Entra ID token endpoint (client credentials: a client secret, or a certificate assertion signed with a certificate registered on the app) |
//! | `/v1.0/...` | Microsoft Graph (`Authorization: Bearer {token}` from the endpoint above) |
//! | `/v1.0/users/{id}/assignLicense`, `/licenseDetails`, `/revokeSignInSessions` | licenses with seat accounting (direct and Entra group-based: `licenseAssignmentStates`, `consumedUnits` once per user) and session revocation: `graph_licenses` |
//! | `/v1.0/users/{id}/sendMail`, `/mailFolders/sentitems/messages` | Outlook mail: 202, the sender's Sent Items (`$filter` on `sentDateTime` and `subject`), `Mail.Send` / `Mail.ReadBasic.All`: `graph_mail` |
//! | `GET /v1.0/groups/{id}` | the Entra groups of group-based licensing, read only (`$select`; Group.Read.All, GroupMember.Read.All or Directory.Read.All): `graph_groups` |
//! | `/api/v1/identity-sources/{sourceId}/sessions[/{id}[/bulk-upsert\|/bulk-delete\|/start-import]]` | Anything-as-a-Source import sessions with Okta's rules (one active session, one new session per 5 minutes, 1–200 profiles per request, ≤ 50 requests and ≤ 10,000 users per session), processed on the sandbox clock into the org's users: `okta_identity_sources`. The seeded Custom Identity Source is **`0oa5hrsrc0sandbox1d7`** ("HR import") |
//! | `/_sandbox/...` | control endpoints (below); never under a vendor path |
//!
//! Responses copy the vendors' status codes, headers and error bodies: Okta `link` paging and
//! `X-Rate-Limit-*` headers with a real per-minute counter per bucket, Okta `E0000…` errors, AADSTS
//! token errors, Graph errors with `innerError`, `@odata.nextLink` paging. The tests check the Okta
//! responses against Okta's OpenAPI description and the Graph properties against Graph's metadata.
//!
//! ## Credentials
//! A fresh sandbox has no usable credential. `POST /_sandbox/demo-credentials` (or
//! [`mint_demo_credentials`]) mints an Okta API token named "okta365 demo" and a client secret (valid for
//! two years) on the demo Entra app, returns their values once, and keeps only their SHA-256 hashes, as
//! the real services do.
//!
//! The demo seed also has the app `0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95` ("okta365 expired secret"), whose
//! only secret, `xpr8Q~SandboxExpiredSecret.okta365.demo0`, expired on 2024-06-30: it always gets
//! AADSTS7000222. The demo app has Application.Read.All, so it can read its own secrets' end dates.
//!
//! ## Control endpoints (JSON)
//! | request | what it does |
//! |---|---|
//! | `GET /_sandbox/health` | `{ok, instanceId, stateFile}`; `stateFile` is `null` for in-memory sandboxes |
//! | `GET /_sandbox/state` | summary counts, clock, faults and rate-limit buckets (no credential hashes) |
//! | `POST /_sandbox/faults` | `{"status":429\|500\|503,"count":N,"path_prefix":"/api/v1"?,"method":"POST"?,"retry_after":s?}`: the next N matching vendor responses fail that way (Okta-shaped on Okta paths, Graph-shaped on Graph paths); or `{"latency_ms":N}`: add latency to every vendor response |
//! | `DELETE /_sandbox/faults` | clear faults and latency |
//! | `POST /_sandbox/rate-limits` | `{"bucket":"groups","limit":N,"window_secs":S?}`: change an Okta rate-limit bucket's per-minute limit, and optionally shorten its window to S seconds (buckets: `users`, `users.get`, `groups`, `logs`, `oauth2`, `default`); or a Graph budget: `graph.directoryWrites` (3,000 writes per 150 s per app+tenant), `graph.invitations` (150 per 5 s per tenant) or `graph.mail` (10,000 per 600 s per app+mailbox), `window_secs` 1..3600 |
//! | `POST /_sandbox/okta/service-apps` | `{name?, jwks, scopes, adminRoles, dpopBound}` (camelCase): register an Okta API service app with its public keys, granted scopes and admin roles; returns it with its `clientId` (`0oa…`). `GET` lists them |
//! | `PATCH /_sandbox/okta/service-apps/{clientId}` | change any of `scopes`, `adminRoles`, `dpopBound`, `jwks`, `name` |
//! | `POST /_sandbox/okta/api-tokens` | `{"name"?, "role"?}`: mint an Okta API token of an admin with that standard role (`SUPER_ADMIN` by default: the seed's super admin; another role goes to a seeded user who then holds it) → `{token, id, name, role, userId, login}` |
//! | `POST /_sandbox/demo-credentials` | mint and return [`DemoCredentials`] (camelCase JSON) |
//! | `PUT /_sandbox/apps/{appId}/roles` | `{"roles":["User.Read.All",…]}`: the app's granted Graph application permissions |
//! | `GET /_sandbox/entra/apps/{appId}` | the Entra app: roles, secrets (`keyId`, `hint`, dates), certificates (thumbprints, dates) and `tokensIssued` by this server |
//! | `POST /_sandbox/entra/apps/{appId}/secrets` | `{displayName?, endDateTime?}`: a new client secret (default: two years; a past `endDateTime` makes an expired one) → `{keyId, secretText, hint, displayName, startDateTime, endDateTime}` |
//! | `POST /_sandbox/entra/apps/{appId}/certificates` | `{certificatePem, displayName?}`: register an RSA certificate (public part) for client assertions → `{keyId, thumbprint, thumbprintSha256, displayName, startDateTime, endDateTime}` |
//! | `POST /_sandbox/reset` | restore the seed's directory data (minted credentials and the signing key are kept) |
//! | `POST /_sandbox/clock` | `{"advance_secs":N}`: move the sandbox clock (token expiry, rate-limit windows, timestamps) |
//! | `GET /_sandbox/events` | the Okta System Log events recorded so far (e.g. `group.user_membership.add`) |
//! | `GET /_sandbox/mail` | the outbox: mail sent through Graph, invitation mails (`kind: "invitation"`) and sendMail (`{"kind":"mail","from","to":[…],"subject","body","contentType","sentAt","messageId"}`) |
//! | `DELETE /_sandbox/mail` | empty the outbox (mailboxes' Sent Items stay) |
//! | `PUT /_sandbox/skus/{skuId or skuPartNumber}` | `{"enabled": N}`: the seats bought of a subscribed SKU |
//! | `GET /_sandbox/entra/device-codes` | pending device codes of delegated sign-ins (`userCode`, `clientId`, `scopes`, `expiresAt`) |
//! | `POST /_sandbox/entra/device-codes/{userCode}` | `{"user": "<upn>", "decision": "approve" \| "decline"}`: what the user does on the sign-in page |
//! | `POST /_sandbox/entra/sign-in-settings` | `{"interval": s, "expiresIn": s}` of device codes issued from now on (defaults 5 and 900; expiry follows the sandbox clock) |
//! | `POST /_sandbox/entra/replication-delay` | `{"notFoundCalls": n}`: the next n Graph calls naming an object created since answer 404 `Request_ResourceNotFound` |
//! | `POST /_sandbox/entra/policies` | `{"conditionalAccessBlocksPublicClients": bool, "userConsentBlocked": bool}`: delegated tokens fail with AADSTS53003, or AADSTS90094 for a non-admin |
//! | `GET /_sandbox/entra/graph-writes` | every Graph write served on applications and service principals (`method`, `path`, `status`) |
//! | `POST /_sandbox/identity-sources/rules` | `{"minGapSecs","processingSecs","secsPer1000Users"}` (any of them; defaults 300, 5 and 2): the gap between session creations and how long a triggered session processes (`processingSecs` + `secsPer1000Users` × users / 1000); `GET` reads them; reset by `/_sandbox/reset` |
//! | `POST /_sandbox/identity-sources/fail-next` | the next session to finish processing ends in ERROR (each call adds one) → `{failNext}` |
//! | `GET /_sandbox/identity-sources/{sourceId}/stats` | `{sessions, bulkRequests, usersUpserted, usersDeleted}`: sessions created, bulk requests accepted, distinct users upserted / deleted by sessions that completed |
//! | `GET /_sandbox/hr/users?page=N&size=50` | the sample HR source: `{"data": [records], "next": url \| null}`; 100 seeded records (`id`, `active`, `title`, `first_name`, `last_name`, `street_number`, `street_name`, `city`, `state`, `country`, `postcode`, `email`, `phone`, `cell`, `dob`), ids 1001–1100, every tenth inactive |
//! | `PUT /_sandbox/hr/users/{id}` | merge fields into a record (`null` removes one); `POST /_sandbox/hr/users` `{"records": [...]}` replaces them all |
//! | `GET /_sandbox/hr/users.csv` | the same records as CSV (header row, RFC 4180 quoting) |
//!
//! ## Delegated sign-in (creating the app registration for the admin)
//! Public clients `14d82eec-204b-4c2f-b7e8-296a70dab67e` (Microsoft Graph Command Line Tools) and
//! `04b07795-8ddb-461a-bbee-02f9e1bf7b46` (Azure CLI, which gets AADSTS65002 for admin scopes) sign in
//! with `/{tenant}/oauth2/v2.0/devicecode` or `/{tenant}/oauth2/v2.0/authorize` (an HTML page: pick a
//! user, Accept or Cancel; the POST redirects to the loopback `redirect_uri`), then the token endpoint's
//! `device_code` or `authorization_code` grant (PKCE S256 checked; a secret sent is AADSTS700025).
//! The seed's `admin@contoso-sandbox.onmicrosoft.com` is a Global Administrator; every other seeded
//! user (e.g. `isabella.singh@contoso.example`) holds no directory role, so may create applications and
//! service principals but not grant application permissions (403 `Authorization_RequestDenied`).
//! Graph's service principal (appId `00000003-0000-0000-c000-000000000000`) lists its `appRoles` with
//! Graph's real ids; a role granted through `appRoleAssignedTo` is in the app's client-credentials
//! token `roles` at once.
//!
//! ## State and the one-server-per-data-dir rule
//! The state lives in memory behind a lock and, for [`StateLocation::File`], is written atomically
//! (temp file, fsync, rename) after every change, before the response goes out. [`ensure_local`] finds or
//! starts the data dir's server through `server.json` and the OS lock on `server.lock`, so the app and
//! the CLI share one server and never write the state file at the same time.

mod control;
mod entra;
mod entra_control;
mod entra_delegated;
mod entra_setup_control;
mod error;
mod graph;
mod graph_apps;
mod graph_batch;
mod graph_budget;
mod graph_groups;
mod graph_invitations;
mod graph_licenses;
mod graph_mail;
mod graph_users;
mod hr_source;
mod local;
mod okta;
mod okta_apps;
mod okta_identity_sources;
mod okta_oauth;
mod okta_users;
mod seed;
mod server;
mod state;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use url::Url;

pub use error::{Error, Result};
pub use local::{
    LocalSandbox, ServeOptions, ensure_local, ensure_local_preferring, reset_local, serve_local,
};
pub use seed::Seed;

/// The Custom Identity Source of the demo seed ("HR import"): the one sandbox profiles import into.
pub const DEMO_IDENTITY_SOURCE_ID: &str = "0oa5hrsrc0sandbox1d7";

/// How to start a sandbox server.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The loopback port; `None` or `Some(0)` lets the OS choose a free one.
    pub port: Option<u16>,
    /// Where the tenant's state lives.
    pub state: StateLocation,
    /// The data a new state starts from (and `reset` returns to).
    pub seed: Seed,
}

impl SandboxConfig {
    /// An in-memory sandbox on a free port with the demo seed: what most tests want.
    pub fn in_memory() -> SandboxConfig {
        SandboxConfig {
            port: None,
            state: StateLocation::Memory,
            seed: Seed::demo(),
        }
    }
}

/// Where a sandbox keeps its state.
#[derive(Debug, Clone)]
pub enum StateLocation {
    /// Only in memory: gone when the server stops (for tests).
    Memory,
    /// In this JSON file, created from the seed if missing and rewritten after every change.
    File(PathBuf),
}

/// The base URLs of a running sandbox. They are all the same origin, `http://127.0.0.1:{port}/`,
/// because the sandbox lays out each vendor's paths as the vendor does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxUrls {
    /// The origin; control endpoints are under `{base}_sandbox/`.
    pub base: Url,
    /// The Okta org URL (`{oktaOrg}api/v1/...`).
    pub okta_org: Url,
    /// The Entra login URL (`{entraLogin}{tenant}/oauth2/v2.0/token`).
    pub entra_login: Url,
    /// The Microsoft Graph URL (`{graph}v1.0/...`).
    pub graph: Url,
}

impl SandboxUrls {
    /// The URLs of a sandbox listening on `127.0.0.1:port`.
    pub fn for_port(port: u16) -> SandboxUrls {
        let base =
            Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a loopback URL is valid");
        SandboxUrls {
            okta_org: base.clone(),
            entra_login: base.clone(),
            graph: base.clone(),
            base,
        }
    }
}

/// Credentials minted by `POST /_sandbox/demo-credentials`. `Debug` hides the secret values.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoCredentials {
    /// An Okta API token (`Authorization: SSWS {token}`), named "okta365 demo".
    pub okta_api_token: String,
    /// The Entra tenant id (a GUID).
    pub entra_tenant_id: String,
    /// The tenant's initial domain (`contoso-sandbox.onmicrosoft.com` in the demo seed).
    pub entra_tenant_domain: String,
    /// The demo app registration's client id.
    pub entra_client_id: String,
    /// A new client secret for the demo app, valid for two years.
    pub entra_client_secret: String,
}

impl std::fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("okta_api_token", &"<redacted>")
            .field("entra_tenant_id", &self.entra_tenant_id)
            .field("entra_tenant_domain", &self.entra_tenant_domain)
            .field("entra_client_id", &self.entra_client_id)
            .field("entra_client_secret", &"<redacted>")
            .finish()
    }
}

/// A running sandbox server. Dropping it or calling [`Sandbox::shutdown`] stops it.
#[derive(Debug)]
pub struct Sandbox {
    urls: SandboxUrls,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// For a server started by [`ensure_local`]: the held `server.lock` (released on drop).
    pub(crate) owner: Option<local::Ownership>,
}

impl Sandbox {
    /// Binds `127.0.0.1:{port}`, loads (or creates from the seed) the state, and serves in a task on the
    /// current Tokio runtime.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox> {
        let port = config.port.unwrap_or(0);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|source| Error::Bind { port, source })?;
        let port = listener
            .local_addr()
            .map_err(|source| Error::Bind { port, source })?
            .port();
        let urls = SandboxUrls::for_port(port);
        let (state, state_file) = match &config.state {
            StateLocation::Memory => (state::State::from_seed(&config.seed), None),
            StateLocation::File(path) => (
                state::State::load_or_create(path, &config.seed)?,
                Some(path.clone()),
            ),
        };
        let instance_id = uuid::Uuid::new_v4().to_string();
        let shared = Arc::new(server::Shared {
            clock_offset: AtomicI64::new(state.clock_offset_secs),
            state: tokio::sync::RwLock::new(state),
            state_file,
            seed: config.seed,
            base: urls.base.clone(),
            instance_id,
            faults: Default::default(),
            rate_limits: Default::default(),
            graph_budgets: Default::default(),
            keys: Default::default(),
            entra: Default::default(),
        });
        let app = server::router(shared);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the sandbox server stopped with an error");
            }
        });
        tracing::info!(base = %urls.base, "sandbox server started");
        Ok(Sandbox {
            urls,
            stop: Some(stop),
            task: Some(task),
            owner: None,
        })
    }

    /// The server's base URLs.
    pub fn urls(&self) -> &SandboxUrls {
        &self.urls
    }

    /// Stops accepting connections, lets requests in flight finish (for at most 5 s), and for a server
    /// started by [`ensure_local`] removes `server.json` and releases `server.lock`.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.owner.take();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// POST {base}/_sandbox/demo-credentials mints a fresh Okta API token and a fresh client secret for the
/// demo Entra app (the tenant keeps only their hashes) and returns them; this helper calls it over HTTP.
pub async fn mint_demo_credentials(base: &Url) -> Result<DemoCredentials> {
    let url = base
        .join("_sandbox/demo-credentials")
        .map_err(|e| Error::Unreachable {
            url: base.to_string(),
            message: format!("not a usable base URL ({e})"),
        })?;
    let response = local::http_client(std::time::Duration::from_secs(30))
        .post(url.clone())
        .header("content-length", "0")
        .send()
        .await
        .map_err(|e| Error::Unreachable {
            url: url.to_string(),
            message: e.to_string(),
        })?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(Error::BadAnswer {
            url: url.to_string(),
            status: status.as_u16(),
            message: body,
        });
    }
    response
        .json::<DemoCredentials>()
        .await
        .map_err(|e| Error::BadAnswer {
            url: url.to_string(),
            status: status.as_u16(),
            message: format!("not demo credentials ({e})"),
        })
}
