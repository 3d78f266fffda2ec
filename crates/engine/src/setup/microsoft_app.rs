//! Creating the Entra app registration for the admin (docs/setup.md, "Create the Entra app
//! registration for the admin"): one delegated sign-in (device code or browser with PKCE), held in
//! engine memory for this setup only, then a plan from the tenant's live state, then the writes,
//! each journaled before and after: the app (or its missing permissions), a credential (a client
//! secret, or a certificate generated here), the service principal, one grant per missing
//! permission; then a wait until a client-credentials token carries every role, and the profile's
//! Microsoft connection saved.
//!
//! What must stay true: the delegated token is never stored or logged (it lives in a [`Secret`] in
//! [`SignIns`] until the session expires or is cancelled); a new secret or certificate key goes to
//! the keychain the moment it exists (a pending entry), and the profile's previous credential stays
//! until the new one got a token with every role; a re-run of a finished setup plans 0 changes and
//! writes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use okta365_graph::apps::{
    AppRegistration, AppsClient, GRAPH_APP_ID, NewKeyCredential, RequiredResourceAccess,
    ResourceAccess, ServicePrincipal,
};
use okta365_graph::delegated::{
    APP_SETUP_SCOPES, BrowserSignIn, DelegatedToken, DeviceCode, GRAPH_COMMAND_LINE_TOOLS,
    PublicClient,
};
use okta365_graph::{ClientCertificate, ClientId, EntraCredential, TenantId, TokenProvider};
use okta365_secrets::{CredentialKind as SecretKind, Secret};
use okta365_store::ProfileRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use ts_rs::TS;
use url::Url;
use uuid::Uuid;

use super::journal::{Journal, Operation};
use super::okta_app::PlanAction;
use crate::{
    connect::{MS_CERTIFICATE, MS_SECRET, NewCredential, operations, requirements},
    dto::{OperationId, Profile},
    engine::{Engine, to_dto},
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

// ---------------------------------------------------------------------------------------------------
// DTOs

/// How the admin signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SignInMethod {
    /// A code typed on Microsoft's device login page.
    DeviceCode,
    /// The browser, with a redirect to a loopback listener of this computer.
    Browser,
}

/// Start a delegated sign-in for the app setup.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftSignInRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// Device code or browser.
    pub method: SignInMethod,
    /// The tenant; `null`: the profile's, else `organizations`.
    pub tenant: Option<String>,
    /// The public client; `null`: Microsoft Graph Command Line Tools.
    pub public_client_id: Option<String>,
}

/// A sign-in waiting for the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftSignIn {
    /// Names the session in the next calls.
    pub session_id: String,
    /// How the admin signs in.
    pub method: SignInMethod,
    /// The tenant signed in to (`organizations` when none is known).
    pub tenant: String,
    /// Device code: the code to type.
    pub user_code: Option<String>,
    /// Device code: where to type it.
    pub verification_uri: Option<String>,
    /// Browser: the URL to open.
    pub authorize_url: Option<String>,
    /// What to do, as a sentence.
    pub message: String,
    /// When the sign-in expires (RFC 3339).
    pub expires_at: String,
    /// Device code: seconds between polls.
    pub interval: Option<u32>,
}

/// The signed-in admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftAdmin {
    /// The session.
    pub session_id: String,
    /// The account (UPN).
    pub account: String,
    /// The tenant id.
    pub tenant_id: String,
    /// The tenant's name, when Graph told it.
    pub tenant_name: Option<String>,
    /// Directory roles by name.
    pub roles: Vec<String>,
    /// Global Administrator or Privileged Role Administrator: may grant application permissions.
    pub can_grant_consent: bool,
}

/// The credential the app gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AppCredentialChoice {
    /// A client secret.
    Secret {
        /// 1 to 24 months.
        lifetime_months: u32,
    },
    /// A certificate generated on this computer (RSA 2048, self-signed).
    Certificate {
        /// 1 to 24 months.
        lifetime_months: u32,
    },
}

impl AppCredentialChoice {
    fn months(self) -> u32 {
        match self {
            AppCredentialChoice::Secret { lifetime_months }
            | AppCredentialChoice::Certificate { lifetime_months } => lifetime_months,
        }
    }

    fn is_secret(self) -> bool {
        matches!(self, AppCredentialChoice::Secret { .. })
    }
}

/// Plan or apply the app registration.
#[derive(Debug, Clone, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftAppRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// The signed-in session.
    pub session_id: String,
    /// The app's name (default `okta365`).
    pub app_name: String,
    /// The credential to make when one is needed.
    pub credential: AppCredentialChoice,
}

/// One Graph application permission of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedPermission {
    /// e.g. `User.ReadWrite.All`.
    pub value: String,
    /// Its id in this tenant's Graph service principal.
    pub id: String,
    /// The enabled operations that need it.
    pub operations: Vec<OperationId>,
    /// Already granted (admin consent given).
    pub granted: bool,
}

/// What applying would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftAppPlan {
    /// The profile id.
    pub profile_id: String,
    /// The app's name.
    pub app_name: String,
    /// The app's client id when it exists.
    pub app_id: Option<String>,
    /// `create`, `update` (permissions to add) or `exists`.
    pub app: PlanAction,
    /// `create` or `exists`.
    pub service_principal: PlanAction,
    /// Every permission the enabled operations need.
    pub permissions: Vec<PlannedPermission>,
    /// The credential chosen.
    pub credential: AppCredentialChoice,
    /// `create` or `keep`.
    pub credential_action: PlanAction,
    /// Why.
    pub credential_note: String,
    /// What may go wrong.
    pub warnings: Vec<String>,
    /// Writes applying would send; 0: nothing to do.
    pub changes: u32,
    /// When (RFC 3339).
    pub planned_at: String,
}

/// The outcome of applying.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftAppResult {
    /// The plan after applying (`changes: 0`).
    pub plan: MicrosoftAppPlan,
    /// The profile with its Microsoft connection saved.
    pub profile: Profile,
    /// The roles of the client-credentials token of the app.
    pub token_roles: Vec<String>,
}

// ---------------------------------------------------------------------------------------------------
// Sessions

/// Graph application-permission ids okta365 knows (api-facts §5), to cross-check the live ones.
const KNOWN_ROLE_IDS: &[(&str, &str)] = &[
    ("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca"),
    ("User.Invite.All", "09850681-111b-4a89-9bed-3f2cae46d706"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    (
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
    (
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
    ),
    (
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
    ),
    (
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
    ),
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    (
        "LicenseAssignment.ReadWrite.All",
        "5facf0c1-8979-4e95-abcf-ff3d079771c0",
    ),
    ("AuditLog.Read.All", "b0afded3-3588-46d8-8b3d-9842eff778da"),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    (
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
    ),
];

/// A browser sign-in waits this long for its redirect.
const BROWSER_TIMEOUT: SignedDuration = SignedDuration::from_mins(10);
/// How long the client-credentials token may take to carry every role.
const TOKEN_WAIT: Duration = Duration::from_secs(120);

enum Flow {
    Device(PublicClient, DeviceCode),
    Browser(BrowserSignIn),
    /// `finish_microsoft_sign_in` is waiting on it.
    Waiting,
    SignedIn(DelegatedToken, MicrosoftAdmin),
}

struct Session {
    profile_id: Uuid,
    graph_url: Url,
    expires_at: Timestamp,
    flow: Flow,
    cancelled: Arc<AtomicBool>,
    cancel: Arc<tokio::sync::Notify>,
}

/// The delegated sign-ins in progress or done, by session id. Only in memory.
#[derive(Default)]
pub(crate) struct SignIns {
    sessions: tokio::sync::Mutex<HashMap<String, Session>>,
}

impl std::fmt::Debug for SignIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIns").finish_non_exhaustive()
    }
}

fn now_text() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn sign_in_failed(message: impl Into<String>) -> Error {
    Error::SignInFailed {
        message: message.into(),
    }
}

/// A sign-in error from Microsoft, said the way the admin acts on it.
fn sign_in_error(e: okta365_graph::Error) -> Error {
    let what = match &e {
        okta365_graph::Error::Identity { error, aadsts, .. } => match (error.as_str(), aadsts) {
            ("expired_token", _) => "The sign-in code expired.",
            ("authorization_declined", _) | ("access_denied", _) => "The sign-in was declined.",
            ("bad_verification_code", _) => "Microsoft did not recognise the sign-in code.",
            (_, Some(53003)) => "The sign-in was blocked by a Conditional Access policy.",
            (_, Some(90094)) => "The sign-in was blocked by the tenant's consent policy.",
            _ => "The sign-in failed.",
        },
        okta365_graph::Error::Transport { .. } => "The sign-in could not reach Microsoft.",
        _ => "The sign-in failed.",
    };
    sign_in_failed(format!("{what} {e}"))
}

/// A Graph error during planning or applying, as an engine error.
fn graph_error(e: okta365_graph::Error) -> Error {
    match e.status() {
        Some(403) => Error::PermissionDenied {
            message: e.to_string(),
        },
        Some(401) => sign_in_failed(format!(
            "Microsoft no longer accepts the sign-in ({e}). Sign in again."
        )),
        _ => Error::invalid(e.to_string()),
    }
}

fn parse_url(value: &str, what: &str) -> Result<Url> {
    Url::parse(value).map_err(|_| {
        Error::invalid(format!(
            "The profile's Microsoft {what} URL \"{value}\" is not a valid URL."
        ))
    })
}

fn check_request(req: &MicrosoftAppRequest) -> Result<String> {
    let name = req.app_name.trim();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::invalid(
            "The app name must be 1 to 120 characters, for example okta365.",
        ));
    }
    let months = req.credential.months();
    if !(1..=24).contains(&months) {
        return Err(Error::invalid(format!(
            "A credential lifetime of {months} months is not allowed; choose 1 to 24 months (12 is usual)."
        )));
    }
    Ok(name.to_owned())
}

/// The pending keychain entry of a credential just made, until it is saved as the profile's.
fn pending_key(profile_id: Uuid) -> String {
    format!("{profile_id}.pending")
}

/// What the plan read from the tenant, for applying.
struct Live {
    apps: AppsClient,
    graph_sp: ServicePrincipal,
    app: Option<AppRegistration>,
    sp: Option<ServicePrincipal>,
    tenant_id: String,
    account: String,
    can_grant: bool,
}

impl Engine {
    /// Starts a delegated sign-in for the app setup: a device code to show, or a browser URL to
    /// open (the loopback listener is already waiting).
    #[instrument(skip(self), err)]
    pub async fn start_microsoft_sign_in(
        &self,
        request: MicrosoftSignInRequest,
    ) -> Result<MicrosoftSignIn> {
        self.resumed().await;
        let record = self.find(&request.profile_id).await?;
        let tenant = request
            .tenant
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .or_else(|| record.ms_tenant.clone())
            .unwrap_or_else(|| "organizations".to_owned());
        let client_id = request
            .public_client_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or(GRAPH_COMMAND_LINE_TOOLS)
            .to_owned();
        let login = parse_url(&record.entra_login_url, "login")?;
        let graph_url = parse_url(&record.graph_url, "Graph")?;
        let client = PublicClient::new(
            &login,
            &tenant,
            &client_id,
            APP_SETUP_SCOPES,
            self.inner.vendor.for_url(&login),
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        let session_id = Uuid::new_v4().to_string();
        let (flow, answer, expires_at) = match request.method {
            SignInMethod::DeviceCode => {
                let code = client.start_device_code().await.map_err(sign_in_error)?;
                let answer = MicrosoftSignIn {
                    session_id: session_id.clone(),
                    method: SignInMethod::DeviceCode,
                    tenant: tenant.clone(),
                    user_code: Some(code.user_code.clone()),
                    verification_uri: Some(code.verification_uri.clone()),
                    authorize_url: None,
                    message: if code.message.is_empty() {
                        format!(
                            "Open {} and enter the code {}.",
                            code.verification_uri, code.user_code
                        )
                    } else {
                        code.message.clone()
                    },
                    expires_at: code.expires_at.to_string(),
                    interval: Some(code.interval.as_secs() as u32),
                };
                let expires_at = code.expires_at;
                (Flow::Device(client, code), answer, expires_at)
            }
            SignInMethod::Browser => {
                let browser = client.start_browser().await.map_err(sign_in_error)?;
                let expires_at = Timestamp::now()
                    .checked_add(BROWSER_TIMEOUT)
                    .unwrap_or_else(|_| Timestamp::now());
                let answer = MicrosoftSignIn {
                    session_id: session_id.clone(),
                    method: SignInMethod::Browser,
                    tenant: tenant.clone(),
                    user_code: None,
                    verification_uri: None,
                    authorize_url: Some(browser.authorize_url().to_string()),
                    message: "Sign in as a Global Administrator in the browser window that opened (or open the link), then return here.".into(),
                    expires_at: expires_at.to_string(),
                    interval: None,
                };
                (Flow::Browser(browser), answer, expires_at)
            }
        };
        let mut sessions = self.inner.ms_sign_ins.sessions.lock().await;
        sessions.retain(|_, s| s.expires_at > Timestamp::now());
        sessions.insert(
            session_id,
            Session {
                profile_id: record.id,
                graph_url,
                expires_at,
                flow,
                cancelled: Arc::new(AtomicBool::new(false)),
                cancel: Arc::new(tokio::sync::Notify::new()),
            },
        );
        tracing::info!(profile_id = %record.id, method = ?request.method, tenant = %tenant, "started a Microsoft sign-in for the app setup");
        Ok(answer)
    }

    /// Waits until the admin approved the device code or the browser came back, and returns who
    /// signed in. Reports operation `microsoft_sign_in`.
    #[instrument(skip(self, progress), err)]
    pub async fn finish_microsoft_sign_in(
        &self,
        session_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<MicrosoftAdmin> {
        let (flow, cancelled, cancel, expires_at, graph_url) = {
            let mut sessions = self.inner.ms_sign_ins.sessions.lock().await;
            let session = sessions
                .get_mut(session_id)
                .ok_or_else(|| no_session(session_id))?;
            if let Flow::SignedIn(_, admin) = &session.flow {
                return Ok(admin.clone());
            }
            if matches!(session.flow, Flow::Waiting) {
                return Err(Error::invalid(
                    "This sign-in is already being waited for; wait for that call to finish.",
                ));
            }
            (
                std::mem::replace(&mut session.flow, Flow::Waiting),
                session.cancelled.clone(),
                session.cancel.clone(),
                session.expires_at,
                session.graph_url.clone(),
            )
        };
        let mut steps = Steps::new(progress, "microsoft_sign_in", 2);
        steps.start("sign_in", "Waiting for the admin to sign in");
        let wait = async {
            match flow {
                Flow::Device(client, code) => client.wait_for_device_code(&code).await,
                Flow::Browser(browser) => browser.finish().await,
                Flow::Waiting | Flow::SignedIn(..) => unreachable!("taken above"),
            }
        };
        let left = (expires_at.as_second() - Timestamp::now().as_second()).max(1) as u64;
        let outcome = if cancelled.load(Ordering::SeqCst) {
            None
        } else {
            tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(left + 5), wait) => Some(r),
                _ = cancel.notified() => None,
            }
        };
        let token = match outcome {
            None => {
                self.forget_session(session_id).await;
                return Err(Error::Cancelled {
                    message: "The Microsoft sign-in was cancelled.".into(),
                });
            }
            Some(Err(_)) => {
                self.forget_session(session_id).await;
                return Err(sign_in_failed(
                    "The sign-in expired before it was completed. Start it again and finish signing in within the time shown.",
                ));
            }
            Some(Ok(Err(e))) => {
                self.forget_session(session_id).await;
                return Err(sign_in_error(e));
            }
            Some(Ok(Ok(token))) => token,
        };
        steps.start("admin", "Reading the signed-in admin and the tenant");
        let claims = token.claims().clone();
        let tenant_name =
            match AppsClient::new(&graph_url, &token, self.inner.vendor.for_url(&graph_url)) {
                Ok(apps) => apps.tenant_name().await.unwrap_or(None),
                Err(_) => None,
            };
        let admin = MicrosoftAdmin {
            session_id: session_id.to_owned(),
            account: claims.upn.clone().unwrap_or_default(),
            tenant_id: claims.tenant_id.clone().unwrap_or_default(),
            tenant_name,
            roles: claims.role_names(),
            can_grant_consent: claims.can_grant_consent(),
        };
        {
            let mut sessions = self.inner.ms_sign_ins.sessions.lock().await;
            let Some(session) = sessions.get_mut(session_id) else {
                return Err(Error::Cancelled {
                    message: "The Microsoft sign-in was cancelled.".into(),
                });
            };
            session.expires_at = token.expires_at();
            session.flow = Flow::SignedIn(token, admin.clone());
        }
        tracing::info!(account = %admin.account, tenant_id = %admin.tenant_id, can_grant_consent = admin.can_grant_consent, "signed in to Microsoft for the app setup");
        steps.finish(format!("Signed in as {}", admin.account));
        Ok(admin)
    }

    /// Cancels a sign-in: a wait in progress ends with `cancelled`, the loopback listener closes and
    /// the session (and any token) is forgotten.
    #[instrument(skip(self), err)]
    pub async fn cancel_microsoft_sign_in(&self, session_id: &str) -> Result<()> {
        let mut sessions = self.inner.ms_sign_ins.sessions.lock().await;
        if let Some(session) = sessions.remove(session_id) {
            session.cancelled.store(true, Ordering::SeqCst);
            session.cancel.notify_one();
        }
        Ok(())
    }

    async fn forget_session(&self, session_id: &str) {
        self.inner
            .ms_sign_ins
            .sessions
            .lock()
            .await
            .remove(session_id);
    }

    /// The signed-in session's token and admin for `profile_id`.
    async fn signed_in(
        &self,
        session_id: &str,
        profile_id: Uuid,
    ) -> Result<(DelegatedToken, MicrosoftAdmin, Url)> {
        let mut sessions = self.inner.ms_sign_ins.sessions.lock().await;
        sessions.retain(|_, s| s.expires_at > Timestamp::now());
        let session = sessions
            .get(session_id)
            .ok_or_else(|| no_session(session_id))?;
        if session.profile_id != profile_id {
            return Err(Error::invalid(
                "This sign-in was started for another profile; sign in again for this one.",
            ));
        }
        match &session.flow {
            Flow::SignedIn(token, admin) => {
                Ok((token.clone(), admin.clone(), session.graph_url.clone()))
            }
            _ => Err(Error::invalid(
                "The admin has not finished signing in yet; finish the sign-in first.",
            )),
        }
    }

    /// Plans the app registration from the tenant's live state; writes nothing.
    #[instrument(skip(self), err)]
    pub async fn plan_microsoft_app(
        &self,
        request: MicrosoftAppRequest,
    ) -> Result<MicrosoftAppPlan> {
        self.resumed().await;
        let record = self.find(&request.profile_id).await?;
        let name = check_request(&request)?;
        let (token, admin, graph_url) = self.signed_in(&request.session_id, record.id).await?;
        let (plan, _) = self
            .plan_live(
                &record,
                &token,
                &admin,
                &graph_url,
                &name,
                request.credential,
            )
            .await?;
        Ok(plan)
    }

    async fn plan_live(
        &self,
        record: &ProfileRecord,
        token: &DelegatedToken,
        admin: &MicrosoftAdmin,
        graph_url: &Url,
        name: &str,
        credential: AppCredentialChoice,
    ) -> Result<(MicrosoftAppPlan, Live)> {
        let apps = AppsClient::new(graph_url, token, self.inner.vendor.for_url(graph_url))
            .map_err(|e| Error::invalid(e.to_string()))?;
        let graph_sp = apps.graph_service_principal().await.map_err(graph_error)?;
        let mut app = None;
        if let Some(client_id) = &record.ms_client_id {
            app = apps
                .application_by_app_id(client_id)
                .await
                .map_err(graph_error)?;
        }
        if app.is_none() {
            let mut named = apps.applications_named(name).await.map_err(graph_error)?;
            if named.len() > 1 {
                return Err(Error::invalid(format!(
                    "{} app registrations are named \"{name}\" (appIds {}). Rename or delete the extra ones in the Entra admin center, or choose another name.",
                    named.len(),
                    named
                        .iter()
                        .map(|a| a.app_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            app = named.pop();
        }
        let sp = match &app {
            Some(a) => apps
                .service_principal(&a.app_id)
                .await
                .map_err(graph_error)?,
            None => None,
        };
        let granted: Vec<String> = match &sp {
            Some(sp) => apps
                .role_assignments(&graph_sp.id)
                .await
                .map_err(graph_error)?
                .into_iter()
                .filter(|a| a.principal_id.eq_ignore_ascii_case(&sp.id))
                .map(|a| a.app_role_id.to_ascii_lowercase())
                .collect(),
            None => Vec::new(),
        };
        let live_id = |value: &str| {
            graph_sp
                .app_roles
                .iter()
                .find(|r| r.value.as_deref() == Some(value))
                .map(|r| r.id.to_ascii_lowercase())
        };
        let granted_values: Vec<String> = graph_sp
            .app_roles
            .iter()
            .filter(|r| granted.contains(&r.id.to_ascii_lowercase()))
            .filter_map(|r| r.value.clone())
            .collect();
        // Permission value → the operations needing it, in table order.
        let mut wanted: BTreeMap<usize, (String, Vec<OperationId>)> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for op in operations(record)? {
            for group in requirements(op).graph_roles {
                let value = group
                    .iter()
                    .find(|r| granted_values.iter().any(|g| g == *r))
                    .unwrap_or(&group[0])
                    .to_string();
                let at = match order.iter().position(|v| *v == value) {
                    Some(i) => i,
                    None => {
                        order.push(value.clone());
                        order.len() - 1
                    }
                };
                let entry = wanted.entry(at).or_insert_with(|| (value, Vec::new()));
                if !entry.1.contains(&op) {
                    entry.1.push(op);
                }
            }
        }
        let mut warnings = Vec::new();
        let mut permissions = Vec::new();
        for (_, (value, ops)) in wanted {
            let Some(id) = live_id(&value) else {
                return Err(Error::invalid(format!(
                    "Microsoft Graph in this tenant has no application permission {value}, which {} needs.",
                    ops.iter().map(|o| o.label()).collect::<Vec<_>>().join(", ")
                )));
            };
            if let Some((_, known)) = KNOWN_ROLE_IDS.iter().find(|(v, _)| *v == value)
                && !known.eq_ignore_ascii_case(&id)
            {
                warnings.push(format!(
                    "Microsoft Graph lists {value} with id {id}, not the documented {known}; the tenant's id is used."
                ));
            }
            permissions.push(PlannedPermission {
                granted: granted.contains(&id),
                value,
                id,
                operations: ops,
            });
        }
        let app_action = match &app {
            None => PlanAction::Create,
            Some(a) => {
                let requested = a.graph_roles_requested();
                if permissions.iter().all(|p| requested.contains(&p.id)) {
                    PlanAction::Exists
                } else {
                    PlanAction::Update
                }
            }
        };
        let sp_action = if sp.is_some() {
            PlanAction::Exists
        } else {
            PlanAction::Create
        };
        let (credential_action, credential_note) = self
            .credential_plan(record, app.as_ref(), credential)
            .await?;
        let ungranted = permissions.iter().filter(|p| !p.granted).count() as u32;
        if ungranted > 0 && !admin.can_grant_consent {
            warnings.push(format!(
                "{} is not a Global Administrator or Privileged Role Administrator, so granting the {ungranted} missing permission(s) (admin consent) will fail with 403 Authorization_RequestDenied. The app and its credential can still be created; sign in as a Global Administrator to grant them.",
                admin.account
            ));
        }
        let changes = u32::from(app_action != PlanAction::Exists)
            + u32::from(sp_action == PlanAction::Create)
            + u32::from(credential_action == PlanAction::Create)
            + ungranted;
        let plan = MicrosoftAppPlan {
            profile_id: record.id.to_string(),
            app_name: name.to_owned(),
            app_id: app.as_ref().map(|a| a.app_id.clone()),
            app: app_action,
            service_principal: sp_action,
            permissions,
            credential,
            credential_action,
            credential_note,
            warnings,
            changes,
            planned_at: now_text(),
        };
        let live = Live {
            apps,
            graph_sp,
            app,
            sp,
            tenant_id: admin.tenant_id.clone(),
            account: admin.account.clone(),
            can_grant: admin.can_grant_consent,
        };
        Ok((plan, live))
    }

    /// Whether the profile already holds a usable credential of the chosen kind for this app.
    async fn credential_plan(
        &self,
        record: &ProfileRecord,
        app: Option<&AppRegistration>,
        choice: AppCredentialChoice,
    ) -> Result<(PlanAction, String)> {
        let Some(app) = app else {
            return Ok((PlanAction::Create, "The new app needs a credential.".into()));
        };
        if record.ms_client_id.as_deref() != Some(app.app_id.as_str()) {
            return Ok((
                PlanAction::Create,
                "This profile holds no credential for this app.".into(),
            ));
        }
        let (stored_kind, kind) = if choice.is_secret() {
            (MS_SECRET, SecretKind::EntraClientSecret)
        } else {
            (MS_CERTIFICATE, SecretKind::EntraClientCertificate)
        };
        if record.ms_credential_kind.as_deref() != Some(stored_kind) {
            return Ok((
                PlanAction::Create,
                format!("The profile uses no {} for this app yet.", kind.label()),
            ));
        }
        let id = record.id;
        let row = self
            .db(move |store| store.credential(id, kind.as_str()))
            .await?;
        let in_keychain = self
            .inner
            .keychain
            .get(&id.to_string(), kind)
            .await?
            .is_some();
        match row {
            Some(row) if in_keychain => match row.expires_at {
                Some(end) if end.as_second() - Timestamp::now().as_second() < 30 * 86_400 => Ok((
                    PlanAction::Create,
                    format!(
                        "The stored {} expires on {}, within 30 days.",
                        kind.label(),
                        end.strftime("%Y-%m-%d")
                    ),
                )),
                Some(end) => Ok((
                    PlanAction::Keep,
                    format!(
                        "The stored {} is kept (it expires on {}).",
                        kind.label(),
                        end.strftime("%Y-%m-%d")
                    ),
                )),
                None => Ok((
                    PlanAction::Keep,
                    format!("The stored {} is kept.", kind.label()),
                )),
            },
            _ => Ok((
                PlanAction::Create,
                format!("The {} is not in the OS keychain.", kind.label()),
            )),
        }
    }

    /// Applies the plan: each write journaled; then waits for a token with every role and saves the
    /// profile's Microsoft connection. Reports operation `apply_microsoft_app`.
    #[instrument(skip(self, progress), err)]
    pub async fn apply_microsoft_app(
        &self,
        request: MicrosoftAppRequest,
        progress: &dyn ProgressSink,
    ) -> Result<MicrosoftAppResult> {
        self.resumed().await;
        let mut record = self.find(&request.profile_id).await?;
        let name = check_request(&request)?;
        let (token, admin, graph_url) = self.signed_in(&request.session_id, record.id).await?;
        let (plan, live) = self
            .plan_live(
                &record,
                &token,
                &admin,
                &graph_url,
                &name,
                request.credential,
            )
            .await?;
        let journal = Journal::begin(self, record.id, Operation::MicrosoftApp);
        journal
            .resolve_unfinished(|row| match row.step.as_str() {
                "create_app" => plan.app != PlanAction::Create,
                "create_service_principal" => plan.service_principal == PlanAction::Exists,
                s if s.starts_with("grant:") => plan
                    .permissions
                    .iter()
                    .any(|p| p.granted && s == format!("grant:{}", p.value)),
                _ => false,
            })
            .await?;
        let mut steps = Steps::new(progress, "apply_microsoft_app", plan.changes + 2);
        let apps = &live.apps;
        let rra = |perms: &[PlannedPermission], existing: Option<&AppRegistration>| {
            let mut list: Vec<RequiredResourceAccess> = existing
                .map(|a| a.required_resource_access.clone())
                .unwrap_or_default();
            let graph = match list
                .iter()
                .position(|r| r.resource_app_id.eq_ignore_ascii_case(GRAPH_APP_ID))
            {
                Some(i) => i,
                None => {
                    list.push(RequiredResourceAccess {
                        resource_app_id: GRAPH_APP_ID.into(),
                        resource_access: Vec::new(),
                    });
                    list.len() - 1
                }
            };
            for p in perms {
                if !list[graph]
                    .resource_access
                    .iter()
                    .any(|a| a.id.eq_ignore_ascii_case(&p.id) && a.kind == "Role")
                {
                    list[graph].resource_access.push(ResourceAccess {
                        id: p.id.clone(),
                        kind: "Role".into(),
                    });
                }
            }
            list
        };

        // The app.
        let mut app = match (plan.app, live.app.clone()) {
            (PlanAction::Create, _) | (_, None) => {
                steps.start(
                    "create_app",
                    format!("Creating the app registration \"{name}\""),
                );
                let body = rra(&plan.permissions, None);
                let request = json!({
                    "displayName": name,
                    "signInAudience": "AzureADMyOrg",
                    "permissions": plan.permissions.iter().map(|p| &p.value).collect::<Vec<_>>(),
                });
                let guard = journal.step("create_app", &name, &request).await?;
                match apps.create_application(&name, &body).await {
                    Ok(app) => {
                        guard
                            .done(&json!({"id": app.id, "appId": app.app_id}))
                            .await?;
                        app
                    }
                    Err(e) => {
                        guard.failed(&e).await?;
                        return Err(graph_error(e));
                    }
                }
            }
            (PlanAction::Update, Some(existing)) => {
                steps.start(
                    "update_permissions",
                    "Adding the missing API permissions to the app",
                );
                let body = rra(&plan.permissions, Some(&existing));
                let guard = journal
                    .step(
                        "update_permissions",
                        &name,
                        &json!({"appId": existing.app_id, "permissions": plan.permissions.iter().map(|p| &p.value).collect::<Vec<_>>()}),
                    )
                    .await?;
                match apps.set_required_resource_access(&existing.id, &body).await {
                    Ok(()) => guard.done(&json!({"appId": existing.app_id})).await?,
                    Err(e) => {
                        guard.failed(&e).await?;
                        return Err(graph_error(e));
                    }
                }
                existing
            }
            (_, Some(existing)) => existing,
        };
        record.ms_client_id = Some(app.app_id.clone());

        // The credential: straight to a pending keychain entry.
        let pending = pending_key(record.id);
        let mut new_credential: Option<NewCredential> = None;
        if plan.credential_action == PlanAction::Create {
            let months = request.credential.months();
            let end = Timestamp::now()
                .checked_add(SignedDuration::from_hours(i64::from(months) * 30 * 24 + 24))
                .unwrap_or_else(|_| Timestamp::now());
            if request.credential.is_secret() {
                steps.start("add_password", "Creating a client secret");
                let guard = journal
                    .step(
                        "add_password",
                        &name,
                        &json!({"appId": app.app_id, "months": months}),
                    )
                    .await?;
                let added = match apps.add_password(&app.id, "okta365", end).await {
                    Ok(a) => a,
                    Err(e) => {
                        guard.failed(&e).await?;
                        return Err(graph_error(e));
                    }
                };
                self.inner
                    .keychain
                    .set(&pending, SecretKind::EntraClientSecret, &added.secret_text)
                    .await?;
                guard
                    .done(&json!({"keyId": added.key_id, "hint": added.hint, "endDateTime": added.end_date_time}))
                    .await?;
                new_credential = Some(NewCredential {
                    kind: SecretKind::EntraClientSecret,
                    hint: added
                        .hint
                        .clone()
                        .or_else(|| Some(added.secret_text.expose().chars().take(3).collect())),
                    secret: added.secret_text,
                    expires_at: added.end_date_time.or(Some(end)),
                });
            } else {
                steps.start(
                    "add_certificate",
                    "Creating a certificate on this computer and registering it",
                );
                let (pem, der) = generate_certificate(&name, end).await?;
                self.inner
                    .keychain
                    .set(&pending, SecretKind::EntraClientCertificate, &pem)
                    .await?;
                let stored = crate::connect::certificate_from_pem(&pem)?;
                let guard = journal
                    .step(
                        "add_certificate",
                        &name,
                        &json!({"appId": app.app_id, "thumbprint": stored.hint, "months": months}),
                    )
                    .await?;
                let key = NewKeyCredential {
                    display_name: format!("okta365 {}", stored.hint.clone().unwrap_or_default()),
                    certificate_der: der,
                };
                if let Err(e) = apps.add_key_credential(&app, &key).await {
                    guard.failed(&e).await?;
                    return Err(graph_error(e));
                }
                guard.done(&json!({"thumbprint": stored.hint})).await?;
                new_credential = Some(stored);
            }
        }

        // The service principal.
        let sp = match live.sp.clone() {
            Some(sp) => sp,
            None => {
                steps.start(
                    "create_service_principal",
                    "Creating the app's service principal",
                );
                let guard = journal
                    .step(
                        "create_service_principal",
                        &name,
                        &json!({"appId": app.app_id}),
                    )
                    .await?;
                match apps.create_service_principal(&app.app_id).await {
                    Ok(sp) => {
                        guard.done(&json!({"id": sp.id})).await?;
                        sp
                    }
                    Err(e) => {
                        guard.failed(&e).await?;
                        return Err(graph_error(e));
                    }
                }
            }
        };

        // Admin consent, one permission at a time.
        for p in plan.permissions.iter().filter(|p| !p.granted) {
            steps.start(
                &format!("grant:{}", p.value),
                format!("Granting {}", p.value),
            );
            let guard = journal
                .step(
                    &format!("grant:{}", p.value),
                    &p.value,
                    &json!({"principalId": sp.id, "resourceId": live.graph_sp.id, "appRoleId": p.id}),
                )
                .await?;
            match apps.grant(&live.graph_sp.id, &sp.id, &p.id).await {
                Ok(a) => guard.done(&json!({"id": a.id})).await?,
                Err(e) => {
                    guard.failed(&e).await?;
                    if e.status() == Some(403) {
                        return Err(Error::PermissionDenied {
                            message: format!(
                                "{} may not grant application permissions in this tenant: Microsoft answered 403 Authorization_RequestDenied when granting {}{}. Sign in as a Global Administrator or Privileged Role Administrator and run this step again; the app \"{name}\" ({}) and what was already written are kept and reused.",
                                live.account,
                                p.value,
                                if live.can_grant {
                                    ""
                                } else {
                                    " (the account is not a Global Administrator or Privileged Role Administrator)"
                                },
                                app.app_id,
                            ),
                        });
                    }
                    return Err(graph_error(e));
                }
            }
        }

        // Wait for a client-credentials token with every role.
        steps.start(
            "verify",
            "Waiting until the app's token carries every permission",
        );
        let credential = match &new_credential {
            Some(n) => n.secret.clone(),
            None => {
                let kind = if request.credential.is_secret() {
                    SecretKind::EntraClientSecret
                } else {
                    SecretKind::EntraClientCertificate
                };
                self.inner
                    .keychain
                    .get(&record.id.to_string(), kind)
                    .await?
                    .ok_or_else(|| Error::invalid("The stored credential is no longer in the OS keychain; run the setup again to make a new one."))?
            }
        };
        let wanted: Vec<String> = plan.permissions.iter().map(|p| p.value.clone()).collect();
        let tenant_id = if live.tenant_id.is_empty() {
            record.ms_tenant.clone().unwrap_or_default()
        } else {
            live.tenant_id.clone()
        };
        let token_roles = self
            .wait_for_roles(
                &record,
                &tenant_id,
                &app.app_id,
                request.credential,
                &credential,
                &wanted,
            )
            .await?;

        // Save the profile's connection; the old credential is replaced only now.
        steps.start("save", "Saving the Microsoft connection");
        record.ms_tenant = Some(tenant_id);
        record.ms_client_id = Some(app.app_id.clone());
        let retire = if request.credential.is_secret() {
            SecretKind::EntraClientCertificate
        } else {
            SecretKind::EntraClientSecret
        };
        let retire = new_credential.as_ref().map(|_| retire);
        record.ms_credential_kind = Some(
            if request.credential.is_secret() {
                MS_SECRET
            } else {
                MS_CERTIFICATE
            }
            .to_owned(),
        );
        let had_new = new_credential.is_some();
        let saved = self
            .commit_connection(record, new_credential, retire)
            .await?;
        if had_new {
            for kind in [
                SecretKind::EntraClientSecret,
                SecretKind::EntraClientCertificate,
            ] {
                if let Err(e) = self.inner.keychain.delete(&pending, kind).await {
                    tracing::warn!(error = %e, "could not delete the pending credential entry");
                }
            }
        }
        app.display_name = Some(name.clone());
        let (after, _) = self
            .plan_live(
                &saved,
                &token,
                &admin,
                &graph_url,
                &name,
                request.credential,
            )
            .await?;
        tracing::info!(profile_id = %saved.id, app_id = %app.app_id, changes = plan.changes, "created the Entra app registration");
        steps.finish(format!("The app \"{name}\" is ready"));
        Ok(MicrosoftAppResult {
            plan: after,
            profile: to_dto(saved)?,
            token_roles,
        })
    }

    async fn wait_for_roles(
        &self,
        record: &ProfileRecord,
        tenant_id: &str,
        app_id: &str,
        choice: AppCredentialChoice,
        credential: &Secret,
        wanted: &[String],
    ) -> Result<Vec<String>> {
        let login = parse_url(&record.entra_login_url, "login")?;
        let credential = if choice.is_secret() {
            EntraCredential::ClientSecret(credential.clone())
        } else {
            EntraCredential::Certificate(
                ClientCertificate::from_pem(credential.expose())
                    .map_err(|e| Error::invalid(e.to_string()))?,
            )
        };
        let provider = TokenProvider::new(
            &login,
            TenantId::parse(tenant_id).map_err(|e| Error::invalid(e.to_string()))?,
            ClientId::parse(app_id).map_err(|e| Error::invalid(e.to_string()))?,
            credential,
            self.inner.vendor.for_url(&login),
        )
        .map_err(|e| Error::invalid(e.to_string()))?;
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            provider.invalidate().await;
            let last = match provider.claims().await {
                Ok(claims) => {
                    let missing: Vec<&String> =
                        wanted.iter().filter(|w| !claims.has_role(w)).collect();
                    if missing.is_empty() {
                        return Ok(claims.roles);
                    }
                    format!(
                        "its token still lacks {}",
                        missing
                            .iter()
                            .map(|m| m.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                // Not replicated to the token service yet.
                Err(e) if matches!(e.aadsts(), Some(700016 | 7000215 | 7000229 | 700027)) => {
                    e.to_string()
                }
                Err(e) => return Err(Error::invalid(e.to_string())),
            };
            if started.elapsed() + delay > TOKEN_WAIT {
                return Err(Error::PermissionDenied {
                    message: format!(
                        "The app {app_id} did not get a working token with every permission within {} s: {last}. Microsoft may still be replicating; run this step again in a few minutes (nothing is created twice).",
                        TOKEN_WAIT.as_secs()
                    ),
                });
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(8));
        }
    }
}

fn no_session(session_id: &str) -> Error {
    Error::SignInFailed {
        message: format!(
            "The Microsoft sign-in {session_id} is unknown or expired (sign-ins are kept in memory only). Sign in again."
        ),
    }
}

/// A self-signed RSA 2048 certificate for `end`, as PEM (certificate + PKCS#8 key) and DER.
async fn generate_certificate(name: &str, end: Timestamp) -> Result<(Secret, Vec<u8>)> {
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || {
        let failed =
            |e: String| Error::Task(format!("the certificate could not be generated ({e})"));
        let (key, _) = okta365_okta::generate_key_pair().map_err(|e| failed(e.to_string()))?;
        let key_pem = key.to_pkcs8_pem().map_err(|e| failed(e.to_string()))?;
        let pair =
            rcgen::KeyPair::from_pem_and_sign_algo(key_pem.expose(), &rcgen::PKCS_RSA_SHA256)
                .map_err(|e| failed(e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| failed(e.to_string()))?;
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CommonName, format!("okta365 {name}"));
        params.distinguished_name = dn;
        let start = Timestamp::now() - SignedDuration::from_hours(1);
        let date = |t: Timestamp| {
            let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
            rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
        };
        params.not_before = date(start);
        params.not_after = date(end);
        let cert = params
            .self_signed(&pair)
            .map_err(|e| failed(e.to_string()))?;
        let pem = Secret::new(format!("{}{}", cert.pem(), key_pem.expose()));
        Ok((pem, cert.der().to_vec()))
    })
    .await?
}
