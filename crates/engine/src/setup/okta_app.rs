//! Creating the Okta API service app for the admin (docs/setup.md, "Create the Okta API service app
//! for the admin"): with a Super Administrator's API token (pasted for this call only, or the
//! profile's stored one), plan the app, its key, its Okta API scopes and its admin role from the
//! org's live state, write what is missing (each write journaled), prove the app works (a
//! client-credentials token with DPoP and one probe per scope), then switch the profile to it.
//!
//! What must stay true:
//! - A pasted API token lives in memory for the call only: never stored, logged or returned.
//! - Nothing is written before the plan showed the token's admin is a Super Administrator.
//! - The app is found again by the profile's client id, else by its exact label among OIDC service
//!   apps, so a re-run or a resumed run completes the same app and never creates a second one.
//! - The private key goes to the keychain (`okta.private_key`) before its public half goes to Okta, so
//!   an interrupted run never leaves a key on the app that okta365 cannot use.

use std::time::Duration;

use jiff::Timestamp;
use okta365_okta::{
    Application, ClientId, GroupQuery, IdentitySourceId, LogQuery, NewServiceApp, OAuthErrorCode,
    OktaAuth, OktaClient, OktaErrorCode, PrivateKey,
};
use okta365_secrets::{CredentialKind as SecretKind, Secret};
use okta365_store::ProfileRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use ts_rs::TS;

use super::journal::{Journal, Operation};
use crate::{
    connect::{
        NewCredential, OKTA_API_TOKEN, OKTA_SERVICE_APP, okta_scopes, operations, requirements,
    },
    dto::{FieldId, OperationId, Profile},
    engine::Engine,
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

/// The label of the app when none is given.
pub const DEFAULT_OKTA_APP_NAME: &str = "okta365";

/// The scope the Groups step needs to create the Okta groups; always granted.
const GROUPS_MANAGE: &str = "okta.groups.manage";

// ---------------------------------------------------------------------------------------------------
// DTOs

/// What a plan will do with one thing on the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum PlanAction {
    /// It does not exist yet and will be created.
    Create,
    /// It exists and is used as it is.
    Exists,
    /// It exists and will be changed.
    Update,
    /// A credential okta365 holds is kept.
    Keep,
}

/// Where the Okta API token used for the setup comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OktaTokenSource {
    /// Pasted for this setup; never stored.
    Pasted,
    /// The profile's API token in the OS keychain.
    Keychain,
}

/// Plan or apply the Okta API service app.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OktaAppRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// A Super Administrator's API token, used for this call only; `null` uses the profile's stored one.
    #[ts(type = "string | null")]
    pub api_token: Option<Secret>,
    /// The app's label in Okta (default `okta365`).
    pub app_name: String,
}

/// One Okta API scope of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedScope {
    /// E.g. `okta.users.read`.
    pub scope: String,
    /// The enabled operations that need it (empty for `okta.groups.manage`, which the Groups step needs).
    pub operations: Vec<OperationId>,
    /// Why it is asked for, as a sentence.
    pub reason: String,
    /// The app holds it already.
    pub granted: bool,
}

/// What applying would do, read from the org's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OktaAppPlan {
    /// The profile's id.
    pub profile_id: String,
    /// The app's label.
    pub app_name: String,
    /// The app's client id, once it exists.
    pub client_id: Option<String>,
    /// `create` or `exists`.
    pub app: PlanAction,
    /// `create` (a new key pair) or `keep` (the app has the key the keychain holds).
    pub key: PlanAction,
    /// The scopes, each granted or to grant.
    pub scopes: Vec<PlannedScope>,
    /// The admin role the app needs (`READ_ONLY_ADMIN` or `ORG_ADMIN`).
    pub role: String,
    /// Why that role, as a sentence.
    pub role_reason: String,
    /// The app holds that role (or one covering it).
    pub role_assigned: bool,
    /// The token's admin (login) and roles.
    pub admin: String,
    /// Where the API token comes from.
    pub token_source: OktaTokenSource,
    /// What the admin should know.
    pub warnings: Vec<String>,
    /// The number of writes applying would make; 0 means a re-run changes nothing.
    pub changes: u32,
    /// When it was planned (RFC 3339).
    pub planned_at: String,
}

/// The outcome of applying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OktaAppResult {
    /// The plan after applying (`changes: 0`).
    pub plan: OktaAppPlan,
    /// The profile, now connected with the service app.
    pub profile: Profile,
    /// The scopes a probe showed working.
    pub verified_scopes: Vec<String>,
    /// The app's token is DPoP-bound.
    pub dpop: bool,
    /// An Okta API token is still stored for the profile (offer to forget it).
    pub api_token_stored: bool,
}

// ---------------------------------------------------------------------------------------------------
// Planning

/// The plan with what applying needs.
struct Planned {
    plan: OktaAppPlan,
    record: ProfileRecord,
    client: OktaClient,
    app: Option<Application>,
    /// The keychain's private key with the `kid` the app knows it by, when the app has it.
    key: Option<(PrivateKey, String)>,
}

/// Every scope the profile's operations need, plus `okta.groups.manage`, with the operations.
fn wanted_scopes(ops: &[OperationId]) -> Vec<(String, Vec<OperationId>)> {
    let mut scopes: Vec<(String, Vec<OperationId>)> = okta_scopes(ops)
        .into_iter()
        .map(|s| {
            let users = ops
                .iter()
                .copied()
                .filter(|op| requirements(*op).okta_scopes.contains(&s))
                .collect();
            (s.to_owned(), users)
        })
        .collect();
    if !scopes.iter().any(|(s, _)| s == GROUPS_MANAGE) {
        scopes.push((GROUPS_MANAGE.to_owned(), Vec::new()));
    }
    scopes
}

fn scope_reason(scope: &str, ops: &[OperationId]) -> String {
    if ops.is_empty() && scope == GROUPS_MANAGE {
        return "The Groups step creates the Okta groups that drive the operations.".into();
    }
    let names: Vec<&str> = ops.iter().map(|op| requirements(*op).label).collect();
    format!("Needed by {}.", names.join(", "))
}

/// The smallest standard role covering the scopes, and why.
fn role_for(scopes: &[String]) -> (&'static str, String) {
    let writes: Vec<&str> = scopes
        .iter()
        .filter(|s| s.ends_with(".manage"))
        .map(String::as_str)
        .collect();
    if writes.is_empty() {
        (
            "READ_ONLY_ADMIN",
            "Every scope only reads, so the app needs no role that can change the org.".into(),
        )
    } else {
        (
            "ORG_ADMIN",
            format!(
                "{} write{} (creating the Okta groups{}), which a \
                 Read-only Administrator may not; it is the smallest standard role that covers \
                 {} without Super Administrator rights.",
                writes.join(", "),
                if writes.len() == 1 { "s" } else { "" },
                if writes.contains(&"okta.identitySources.manage") {
                    ", identity-source imports"
                } else {
                    ""
                },
                if writes.len() == 1 { "it" } else { "them" }
            ),
        )
    }
}

/// Whether holding `held` gives the app what `needed` allows.
fn covers(held: &str, needed: &str) -> bool {
    held == needed || held == "SUPER_ADMIN" || (held == "ORG_ADMIN" && needed == "READ_ONLY_ADMIN")
}

fn role_label(role: &str) -> &str {
    match role {
        "SUPER_ADMIN" => "Super Administrator",
        "ORG_ADMIN" => "Organization Administrator",
        "READ_ONLY_ADMIN" => "Read-only Administrator",
        "APP_ADMIN" => "Application Administrator",
        "USER_ADMIN" => "User Administrator",
        "GROUP_MEMBERSHIP_ADMIN" => "Group Membership Administrator",
        "HELP_DESK_ADMIN" => "Help Desk Administrator",
        "REPORT_ADMIN" => "Report Administrator",
        other => other,
    }
}

/// An Okta error met while `doing` something with the admin's API token.
fn okta_error(doing: &str, error: okta365_okta::Error) -> Error {
    match (error.status(), error.okta_code()) {
        (Some(401), _) | (_, Some(OktaErrorCode::InvalidToken)) => Error::invalid(format!(
            "{doing} failed: Okta refused the API token ({error}). It may be revoked or expired; create \
             a new one as a Super Administrator (Security → API → Tokens) and paste it."
        )),
        (Some(403), _) => Error::PermissionDenied {
            message: format!(
                "{doing} was refused ({error}). Creating the service app needs a Super \
                 Administrator's API token."
            ),
        },
        _ => Error::Vendor {
            message: format!("{doing} failed: {error}"),
        },
    }
}

fn clean_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(DEFAULT_OKTA_APP_NAME.to_owned());
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(
            "The app name is longer than Okta allows (100 characters). Choose a shorter one.",
        ));
    }
    Ok(name.to_owned())
}

impl Engine {
    /// Plans the Okta API service app (nothing is written): the token's admin, the app, its key, the
    /// scopes and the admin role. A token whose admin is not a Super Administrator is refused with
    /// `permission_denied`.
    #[instrument(skip(self, request), fields(profile = %request.profile_id), err)]
    pub async fn plan_okta_app(&self, request: OktaAppRequest) -> Result<OktaAppPlan> {
        self.resumed().await;
        Ok(self.plan_okta_app_inner(&request).await?.plan)
    }

    async fn plan_okta_app_inner(&self, request: &OktaAppRequest) -> Result<Planned> {
        let record = self.find(&request.profile_id).await?;
        let app_name = clean_name(&request.app_name)?;
        if record.okta_org_url.trim().is_empty() {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no Okta org yet. Enter the org URL on the Okta step and save it, \
                 then create the service app.",
                record.name
            )));
        }
        let profile_key = record.id.to_string();
        let (token, token_source) = match request
            .api_token
            .as_ref()
            .filter(|t| !t.expose().trim().is_empty())
        {
            Some(t) => {
                crate::connect::checked(FieldId::OktaApiToken, t.expose())?;
                (Secret::new(t.expose().trim()), OktaTokenSource::Pasted)
            }
            None => match self
                .inner
                .keychain
                .get(&profile_key, SecretKind::OktaApiToken)
                .await?
            {
                Some(t) => (t, OktaTokenSource::Keychain),
                None => {
                    return Err(Error::invalid(format!(
                        "No Okta API token is stored for profile \"{}\". Paste a Super Administrator's \
                         API token (Okta Admin Console → Security → API → Tokens → Create token); it is \
                         used for this setup only.",
                        record.name
                    )));
                }
            },
        };
        let org = record.okta_org_url.clone();
        let client = OktaClient::builder(org.clone())
            .auth(OktaAuth::ApiToken(token))
            .http(self.inner.vendor.for_base(&org))
            .build()
            .map_err(|e| {
                Error::invalid(format!("{e} Correct the Okta org URL on the Okta step."))
            })?;

        // The token's admin must be a Super Administrator: only they grant Okta API scopes.
        let me =
            client.users().me().await.map_err(|e| {
                okta_error("Reading the API token's admin (GET /api/v1/users/me)", e)
            })?;
        let roles: Vec<String> = client
            .roles()
            .of_user(&me.id)
            .await
            .map_err(|e| okta_error("Reading the admin's roles", e))?
            .into_iter()
            .filter(|r| r.is_active())
            .map(|r| r.role_type)
            .collect();
        let login = me.profile.login.clone();
        let labels: Vec<&str> = roles.iter().map(|r| role_label(r)).collect();
        let admin = if labels.is_empty() {
            login.clone()
        } else {
            format!("{login} ({})", labels.join(", "))
        };
        if !roles.iter().any(|r| r == "SUPER_ADMIN") {
            return Err(Error::PermissionDenied {
                message: format!(
                    "The Okta API token belongs to {login}, who is {}, not a Super Administrator. \
                     Granting Okta API scopes to an app needs a Super Administrator: create the token \
                     while signed in as one (Security → API → Tokens), or ask a Super Administrator to \
                     run this step. Nothing was changed.",
                    if labels.is_empty() {
                        "no administrator".to_owned()
                    } else {
                        labels.join(", ")
                    }
                ),
            });
        }

        // The app: by the profile's client id, else by its exact label among OIDC service apps.
        let mut warnings = Vec::new();
        let mut app = None;
        if let Some(id) = record.okta_client_id.as_deref() {
            match client.apps().get(id).await {
                Ok(a) if a.is_service_app() && a.label == app_name => app = Some(a),
                Ok(a) if a.is_service_app() => warnings.push(format!(
                    "The profile's service app {id} is labelled \"{}\", not \"{app_name}\"; okta365 \
                     looks for \"{app_name}\" instead.",
                    a.label
                )),
                Ok(_) => warnings.push(format!(
                    "The profile's client id {id} is not an API service app; okta365 looks for \
                     \"{app_name}\" instead."
                )),
                Err(e) if e.status() == Some(404) => warnings.push(format!(
                    "The profile's service app {id} is no longer in Okta; okta365 looks for \
                     \"{app_name}\" instead."
                )),
                Err(e) => return Err(okta_error("Reading the profile's service app", e)),
            }
        }
        if app.is_none() {
            let found: Vec<Application> = client
                .apps()
                .list(Some(&app_name), Some(200))
                .await
                .map_err(|e| okta_error("Looking for the service app", e))?
                .collect_all()
                .await
                .map_err(|e| okta_error("Looking for the service app", e))?
                .into_iter()
                .filter(|a| a.is_service_app() && a.label == app_name)
                .collect();
            if found.len() > 1 {
                let ids: Vec<&str> = found.iter().map(|a| a.id.as_str()).collect();
                return Err(Error::invalid(format!(
                    "Okta has {} API service apps labelled \"{app_name}\" ({}). Rename or delete the \
                     extra ones in the Admin Console, or choose another app name.",
                    found.len(),
                    ids.join(", ")
                )));
            }
            app = found.into_iter().next();
        }
        if let Some(a) = &app {
            if a.token_endpoint_auth_method() != Some("private_key_jwt") {
                return Err(Error::invalid(format!(
                    "The Okta app \"{app_name}\" ({}) authenticates with {}, not private_key_jwt. \
                     Choose another app name, or switch the app's client authentication to Public key \
                     / Private key in the Admin Console.",
                    a.id,
                    a.token_endpoint_auth_method().unwrap_or("a client secret")
                )));
            }
            if !a.dpop_bound() {
                warnings.push(
                    "The app does not require DPoP; okta365 uses DPoP whenever Okta asks for it."
                        .into(),
                );
            }
        }

        // The key: kept when the app has the key the keychain holds.
        let stored = self
            .inner
            .keychain
            .get(&profile_key, SecretKind::OktaPrivateKey)
            .await?;
        let key = match (&app, stored) {
            (Some(a), Some(pem)) => match PrivateKey::parse(pem.expose(), None) {
                Ok(k) => {
                    let thumbprint = k.thumbprint();
                    a.keys()
                        .iter()
                        .find(|j| j.is_active() && j.thumbprint() == thumbprint)
                        .map(|j| {
                            let kid = j.kid.clone().unwrap_or(thumbprint.clone());
                            (
                                PrivateKey::parse(pem.expose(), Some(&kid)).unwrap_or(k.clone()),
                                kid,
                            )
                        })
                }
                Err(_) => None,
            },
            _ => None,
        };
        if app.is_some() && key.is_none() {
            warnings.push(
                "The OS keychain holds no private key for this app's public keys, so a new key pair \
                 is made and its public key added to the app."
                    .into(),
            );
        }

        let (granted, held_roles) = match &app {
            Some(a) => {
                let grants = client
                    .apps()
                    .grants(&a.id)
                    .await
                    .map_err(|e| okta_error("Reading the app's granted scopes", e))?;
                let roles = client
                    .roles()
                    .of_client(&ClientId::new(a.client_id()))
                    .await
                    .map_err(|e| okta_error("Reading the app's admin roles", e))?;
                (
                    grants
                        .into_iter()
                        .filter(|g| g.is_active())
                        .map(|g| g.scope_id)
                        .collect::<Vec<_>>(),
                    roles
                        .into_iter()
                        .filter(|r| r.is_active())
                        .map(|r| r.role_type)
                        .collect::<Vec<_>>(),
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let ops = operations(&record)?;
        let scopes: Vec<PlannedScope> = wanted_scopes(&ops)
            .into_iter()
            .map(|(scope, users)| PlannedScope {
                reason: scope_reason(&scope, &users),
                granted: granted.contains(&scope),
                operations: users,
                scope,
            })
            .collect();
        let names: Vec<String> = scopes.iter().map(|s| s.scope.clone()).collect();
        let (role, role_reason) = role_for(&names);
        let role_assigned = held_roles.iter().any(|h| covers(h, role));
        let app_action = if app.is_some() {
            PlanAction::Exists
        } else {
            PlanAction::Create
        };
        let key_action = if key.is_some() {
            PlanAction::Keep
        } else {
            PlanAction::Create
        };
        let changes = u32::from(app.is_none())
            + u32::from(app.is_some() && key.is_none())
            + scopes.iter().filter(|s| !s.granted).count() as u32
            + u32::from(!role_assigned);
        let plan = OktaAppPlan {
            profile_id: record.id.to_string(),
            app_name,
            client_id: app.as_ref().map(|a| a.client_id().to_owned()),
            app: app_action,
            key: key_action,
            scopes,
            role: role.to_owned(),
            role_reason,
            role_assigned,
            admin,
            token_source,
            warnings,
            changes,
            planned_at: Timestamp::now().to_string(),
        };
        Ok(Planned {
            plan,
            record,
            client,
            app,
            key,
        })
    }

    // -----------------------------------------------------------------------------------------------
    // Applying

    /// Applies the plan: creates the app (or adds a new key), grants the missing scopes, assigns the
    /// role, each journaled; then proves the app with a DPoP client-credentials token and one probe
    /// per scope, and switches the profile to it. Reports each step to `progress` (operation
    /// `apply_okta_app`).
    #[instrument(skip(self, request, progress), fields(profile = %request.profile_id), err)]
    pub async fn apply_okta_app(
        &self,
        request: OktaAppRequest,
        progress: &dyn ProgressSink,
    ) -> Result<OktaAppResult> {
        self.resumed().await;
        let Planned {
            plan,
            record,
            client,
            app,
            key,
        } = self.plan_okta_app_inner(&request).await?;
        let total = 3 + plan.changes;
        let mut steps = Steps::new(progress, "apply_okta_app", total);
        steps.start(
            "plan",
            format!("Planned {} change(s) in Okta", plan.changes),
        );
        let journal = Journal::begin(self, record.id, Operation::OktaApp);
        journal
            .resolve_unfinished(|row| match row.step.as_str() {
                "create_app" => plan.app == PlanAction::Exists,
                "add_key" => plan.key == PlanAction::Keep,
                s if s.starts_with("grant:") => plan
                    .scopes
                    .iter()
                    .any(|p| p.granted && p.scope == row.target),
                s if s.starts_with("assign_role:") => plan.role_assigned,
                _ => false,
            })
            .await?;
        let issuer = record.okta_org_url.trim_end_matches('/').to_owned();

        // The key: a new pair goes to the keychain before its public half goes to Okta.
        let (key, kid) = match key {
            Some(k) => k,
            None => {
                let (key, _) = okta365_okta::generate_key_pair().map_err(|e| {
                    Error::Task(format!("the key pair could not be generated ({e})"))
                })?;
                let kid = key
                    .kid()
                    .map(str::to_owned)
                    .ok_or_else(|| Error::Task("the generated key has no key id".into()))?;
                let pem = key
                    .to_pkcs8_pem()
                    .map_err(|e| Error::Task(format!("the key pair could not be stored ({e})")))?;
                let current = self.find_by_id(record.id).await?;
                self.commit_connection(
                    current,
                    Some(NewCredential {
                        kind: SecretKind::OktaPrivateKey,
                        secret: pem,
                        hint: Some(kid.clone()),
                        expires_at: None,
                    }),
                    None,
                )
                .await?;
                (key, kid)
            }
        };

        let client_id = match &app {
            Some(a) => {
                if plan.key == PlanAction::Create {
                    steps.start(
                        "add_key",
                        format!("Adding a new public key to \"{}\"", a.label),
                    );
                    let guard = journal
                        .step("add_key", &kid, &json!({ "appId": a.id, "kid": kid }))
                        .await?;
                    match client.apps().add_key(&a.id, &key.public_jwk()).await {
                        Ok(j) => guard.done(&json!({ "keyId": j.id, "kid": j.kid })).await?,
                        Err(e) => {
                            let err = okta_error("Adding the public key to the app", e);
                            guard.failed(&err).await?;
                            return Err(err);
                        }
                    }
                }
                a.client_id().to_owned()
            }
            None => {
                steps.start(
                    "create_app",
                    format!("Creating the service app \"{}\"", plan.app_name),
                );
                let new = NewServiceApp {
                    label: plan.app_name.clone(),
                    public_jwk: key.public_jwk(),
                    dpop_bound: true,
                };
                let guard = journal
                    .step(
                        "create_app",
                        &plan.app_name,
                        &json!({ "label": plan.app_name, "signOnMode": "OPENID_CONNECT",
                                 "applicationType": "service", "grantTypes": ["client_credentials"],
                                 "tokenEndpointAuthMethod": "private_key_jwt", "dpopBound": true, "kid": kid }),
                    )
                    .await?;
                match client.apps().create_service_app(&new).await {
                    Ok(a) => {
                        guard
                            .done(&json!({ "appId": a.id, "clientId": a.client_id() }))
                            .await?;
                        a.client_id().to_owned()
                    }
                    Err(e) => {
                        let err = okta_error("Creating the service app", e);
                        guard.failed(&err).await?;
                        return Err(err);
                    }
                }
            }
        };

        for scope in plan.scopes.iter().filter(|s| !s.granted) {
            steps.start(
                &format!("grant:{}", scope.scope),
                format!("Granting {}", scope.scope),
            );
            let guard = journal
                .step(
                    &format!("grant:{}", scope.scope),
                    &scope.scope,
                    &json!({ "appId": client_id, "scopeId": scope.scope, "issuer": issuer }),
                )
                .await?;
            match client.apps().grant(&client_id, &scope.scope, &issuer).await {
                Ok(g) => guard.done(&json!({ "grantId": g.id })).await?,
                Err(e) => {
                    let err = okta_error(&format!("Granting {}", scope.scope), e);
                    guard.failed(&err).await?;
                    return Err(err);
                }
            }
        }

        if !plan.role_assigned {
            steps.start(
                &format!("assign_role:{}", plan.role),
                format!("Assigning the admin role {}", role_label(&plan.role)),
            );
            let guard = journal
                .step(
                    &format!("assign_role:{}", plan.role),
                    &plan.role,
                    &json!({ "clientId": client_id, "type": plan.role }),
                )
                .await?;
            match client
                .roles()
                .assign_to_client(&ClientId::new(client_id.as_str()), &plan.role)
                .await
            {
                Ok(r) => guard.done(&json!({ "assignmentId": r.id })).await?,
                Err(e) => {
                    let err = okta_error(&format!("Assigning the role {}", plan.role), e);
                    guard.failed(&err).await?;
                    return Err(err);
                }
            }
        }

        steps.start(
            "verify",
            "Signing in as the service app and checking each scope",
        );
        let scopes: Vec<String> = plan.scopes.iter().map(|s| s.scope.clone()).collect();
        let (verified, dpop) = self
            .verify_okta_app(&record, &client_id, &key, &scopes)
            .await?;

        steps.start("profile", "Switching the profile to the service app");
        let mut current = self.find_by_id(record.id).await?;
        current.okta_auth = Some(OKTA_SERVICE_APP.to_owned());
        current.okta_client_id = Some(client_id.clone());
        current.okta_key_id = Some(kid.clone());
        let saved = self.commit_connection(current, None, None).await?;
        tracing::info!(profile_id = %saved.id, client_id = %client_id, "the profile now connects to Okta with its service app");

        let after = self.plan_okta_app_inner(&request).await.map(|p| p.plan)?;
        let api_token_stored = self
            .inner
            .keychain
            .get(&saved.id.to_string(), SecretKind::OktaApiToken)
            .await?
            .is_some();
        steps.finish("The Okta service app works");
        Ok(OktaAppResult {
            plan: after,
            profile: self.profile_out(saved).await?,
            verified_scopes: verified,
            dpop,
            api_token_stored,
        })
    }

    /// A client-credentials token for the app (retried briefly while Okta applies new grants), then
    /// one harmless probe per scope. Returns the scopes shown to work and whether the token is DPoP.
    async fn verify_okta_app(
        &self,
        record: &ProfileRecord,
        client_id: &str,
        key: &PrivateKey,
        scopes: &[String],
    ) -> Result<(Vec<String>, bool)> {
        let org = record.okta_org_url.clone();
        let mut delay = Duration::from_millis(500);
        let mut tries = 0;
        let (app, info) = loop {
            tries += 1;
            let app = OktaClient::builder(org.clone())
                .auth(OktaAuth::ServiceApp {
                    client_id: ClientId::parse(client_id).map_err(|e| Error::Vendor {
                        message: format!("Okta gave the app an unexpected client id: {e}"),
                    })?,
                    key: key.clone(),
                    scopes: scopes.to_vec(),
                })
                .http(self.inner.vendor.for_base(&org))
                .build()
                .map_err(|e| Error::Task(e.to_string()))?;
            match app.token_info().await {
                Ok(Some(info)) => break (app, info),
                Ok(None) => return Err(Error::Task("the service app got no token".into())),
                Err(e)
                    if tries < 6
                        && matches!(
                            e.oauth_error(),
                            Some(OAuthErrorCode::InvalidScope | OAuthErrorCode::InvalidClient)
                        ) =>
                {
                    tracing::info!(error = %e, "the new service app is not ready yet; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                Err(e) => {
                    return Err(Error::Vendor {
                        message: format!(
                            "The service app {client_id} was set up, but Okta gave it no token: {e} \
                             Run the setup again; it completes what is missing."
                        ),
                    });
                }
            }
        };
        let mut verified = Vec::new();
        for scope in scopes {
            let probe = match scope.as_str() {
                "okta.groups.read" => app
                    .groups()
                    .list(&GroupQuery::new().limit(1))
                    .await
                    .map(|_| ()),
                "okta.users.read" => app.users().list(Some(1)).await.map(|_| ()),
                "okta.logs.read" => app.logs().list(&LogQuery::new().limit(1)).await.map(|_| ()),
                "okta.groups.manage" => app.probe_group_create().await,
                "okta.identitySources.manage" => match record.okta_identity_source_id.as_deref() {
                    Some(source) => app
                        .identity_sources()
                        .sessions(&IdentitySourceId::new(source))
                        .await
                        .map(|_| ()),
                    // Nothing to probe without an identity source; Test connection checks it later.
                    None => continue,
                },
                _ => continue,
            };
            match probe {
                Ok(()) => verified.push(scope.clone()),
                Err(e) => {
                    return Err(Error::Vendor {
                        message: format!(
                            "The service app {client_id} has a token, but the check of {scope} failed: \
                             {e} Run the setup again; it completes what is missing."
                        ),
                    });
                }
            }
        }
        Ok((verified, info.dpop))
    }

    /// Deletes the profile's Okta API token from the OS keychain (once the service app works). The
    /// profile must no longer connect with it. Forgetting a token that is not stored changes nothing.
    #[instrument(skip(self), err)]
    pub async fn forget_okta_api_token(&self, profile_id: &str) -> Result<Profile> {
        let record = self.find(profile_id).await?;
        if record.okta_auth.as_deref() == Some(OKTA_API_TOKEN) {
            return Err(Error::invalid(format!(
                "Profile \"{}\" still connects to Okta with its API token. Create the service app \
                 first (`okta365 setup okta-app`), then forget the token.",
                record.name
            )));
        }
        let id = record.id;
        let stored = self
            .inner
            .keychain
            .get(&id.to_string(), SecretKind::OktaApiToken)
            .await?
            .is_some();
        let recorded = self
            .db(move |store| store.credential(id, SecretKind::OktaApiToken.as_str()))
            .await?
            .is_some();
        if stored || recorded {
            self.delete_credential(&id.to_string(), crate::dto::CredentialKind::OktaApiToken)
                .await?;
            tracing::info!(profile_id = %id, "forgot the Okta API token");
        }
        self.profile_out(self.find_by_id(id).await?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_is_the_smallest_that_covers_the_scopes() {
        let reads = vec!["okta.users.read".to_owned(), "okta.groups.read".to_owned()];
        assert_eq!(role_for(&reads).0, "READ_ONLY_ADMIN");
        let mut writes = reads.clone();
        writes.push(GROUPS_MANAGE.to_owned());
        let (role, reason) = role_for(&writes);
        assert_eq!(role, "ORG_ADMIN");
        assert!(reason.contains("okta.groups.manage"), "{reason}");
        assert!(covers("SUPER_ADMIN", "ORG_ADMIN"));
        assert!(covers("ORG_ADMIN", "READ_ONLY_ADMIN"));
        assert!(!covers("READ_ONLY_ADMIN", "ORG_ADMIN"));
    }

    #[test]
    fn scopes_always_include_groups_manage_with_their_operations() {
        let scopes = wanted_scopes(&[OperationId::Licenses]);
        assert_eq!(
            scopes,
            vec![
                ("okta.groups.read".to_owned(), vec![OperationId::Licenses]),
                (GROUPS_MANAGE.to_owned(), vec![]),
            ]
        );
        assert!(scope_reason("okta.groups.read", &[OperationId::Licenses]).contains("Licenses"));
    }

    #[test]
    fn plan_json_is_camel_case() {
        let plan = OktaAppPlan {
            profile_id: "p".into(),
            app_name: "okta365".into(),
            client_id: None,
            app: PlanAction::Create,
            key: PlanAction::Create,
            scopes: vec![],
            role: "ORG_ADMIN".into(),
            role_reason: "r".into(),
            role_assigned: false,
            admin: "a".into(),
            token_source: OktaTokenSource::Pasted,
            warnings: vec![],
            changes: 2,
            planned_at: "t".into(),
        };
        let v = serde_json::to_value(&plan).unwrap();
        assert_eq!(v["tokenSource"], "pasted");
        assert_eq!(v["app"], "create");
        assert_eq!(v["roleAssigned"], false);
        let req: OktaAppRequest =
            serde_json::from_str(r#"{"profileId":"p","apiToken":null,"appName":"okta365"}"#)
                .unwrap();
        assert!(req.api_token.is_none());
    }
}
