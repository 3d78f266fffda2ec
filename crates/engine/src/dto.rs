//! The types that cross the IPC boundary, serialized as camelCase JSON and exported to TypeScript
//! (`ui/src/lib/ipc/bindings/`) with ts-rs. The engine works on store and domain types; these stay at the
//! boundary.
//!
//! Changing one of these changes the front end's types: run
//! `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings` and commit the regenerated files.

pub use okta365_secrets::Secret;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use crate::setup::microsoft_app::{
    AppCredentialChoice, MicrosoftAdmin, MicrosoftAppPlan, MicrosoftAppRequest, MicrosoftAppResult,
    MicrosoftSignIn, MicrosoftSignInRequest, PlannedPermission, SignInMethod,
};
pub use crate::setup::okta_app::{
    OktaAppPlan, OktaAppRequest, OktaAppResult, OktaTokenSource, PlanAction, PlannedScope,
};

pub use crate::imports::{
    ActiveRule, AttributeRule, ImportMapping, MappedPreviewRow, Reject, SourcePreview, SourceSpec,
    Transform,
};
pub use crate::imports::{
    api::{ImportSchedule, SavedImport},
    run::{DeactivationGuard, ImportPlan, ImportRequest, ImportStop, ImportSummary},
    schedule::DueImport,
};
pub use crate::runs::lifecycle_dto::{
    DueReport, LifecycleSettings, MailPreview, MailPreviewRequest, MailStage, MailTemplate,
    MailTemplates, SeatPoint, Stage, StageStatus,
};
pub use crate::runs::settings::{
    AttributeMapping, GuestRemoval, ProvisioningSettings, UsernameFormat, UsernamePreview,
    UsernamePreviewRow,
};
pub use crate::runs::{
    ChangeKind, ExportFormat, FieldChange, GuardStop, PlanRunRequest, PlannedChange, RunDetail,
    RunFilter, RunPlan, RunStatus, RunStep, RunSummary, RunTrigger, StepStatus,
};
pub use crate::runs::{
    test_run::{TestRunRequest, TestRunResult},
    triggers::TriggerReport,
};

pub use crate::setup::{
    groups::{GroupAction, GroupPlanItem, GroupRole, GroupSetting, GroupsPlan},
    licenses::{License, LicenseAssignment, LicensesView, SeatWarning, ServicePlan},
    review::{GrantRow, Review, ReviewItem, ReviewStatus},
};

/// Whether this is a debug or a release build (they use different data dirs and keychain services).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum BuildKind {
    /// A debug build (`com.okta365.app.dev`, keychain service `okta365-dev`).
    Debug,
    /// A release build (`com.okta365.app`, keychain service `okta365`).
    Release,
}

impl BuildKind {
    /// The kind of the running build.
    pub fn current() -> BuildKind {
        if cfg!(debug_assertions) {
            BuildKind::Debug
        } else {
            BuildKind::Release
        }
    }
}

/// A step of the setup wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StepId {
    /// Welcome and profile choice.
    Welcome,
    /// Connect the Microsoft tenant.
    Microsoft,
    /// Connect the Okta org.
    Okta,
    /// Choose the groups to push.
    Groups,
    /// Map groups to licenses.
    Licenses,
    /// Configure provisioning.
    Provisioning,
    /// Licenses, staged deactivation and activation, pending stages.
    Lifecycle,
    /// Configure imports.
    Imports,
    /// Review the plan.
    Review,
    /// Run history.
    History,
    /// Stored credentials.
    Credentials,
}

impl StepId {
    /// Every step, in wizard order.
    pub const ALL: [StepId; 11] = [
        StepId::Welcome,
        StepId::Microsoft,
        StepId::Okta,
        StepId::Groups,
        StepId::Licenses,
        StepId::Provisioning,
        StepId::Lifecycle,
        StepId::Imports,
        StepId::Review,
        StepId::History,
        StepId::Credentials,
    ];

    /// The identifier used in JSON and the store, e.g. `"microsoft"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepId::Welcome => "welcome",
            StepId::Microsoft => "microsoft",
            StepId::Okta => "okta",
            StepId::Groups => "groups",
            StepId::Licenses => "licenses",
            StepId::Provisioning => "provisioning",
            StepId::Lifecycle => "lifecycle",
            StepId::Imports => "imports",
            StepId::Review => "review",
            StepId::History => "history",
            StepId::Credentials => "credentials",
        }
    }

    /// Parses [`StepId::as_str`] back.
    pub fn parse(value: &str) -> Option<StepId> {
        StepId::ALL.into_iter().find(|step| step.as_str() == value)
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a profile points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// A sandbox tenant on loopback.
    Sandbox,
    /// A real Okta org and Microsoft tenant.
    Tenant,
}

/// Facts about the running app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// The okta365 version.
    pub version: String,
    /// Debug or release build.
    pub build_kind: BuildKind,
    /// Where the store, sandbox and logs live.
    pub data_dir: String,
    /// Where the daily log files are written.
    pub log_dir: String,
    /// The active profile, if any.
    pub active_profile_id: Option<String>,
}

/// One Okta org + Microsoft tenant pair (non-secret settings only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Stable id (a UUID).
    pub id: String,
    /// Display name, unique ignoring case.
    pub name: String,
    /// Sandbox or real tenant.
    pub kind: ProfileKind,
    /// Okta org base URL.
    pub okta_org_url: String,
    /// Entra login base URL.
    pub entra_login_url: String,
    /// Microsoft Graph base URL.
    pub graph_url: String,
    /// Microsoft tenant id or domain, once known.
    pub ms_tenant: Option<String>,
    /// Client id of the Entra app registration, once known.
    pub ms_client_id: Option<String>,
    /// True for the data dir's own sandbox (its URLs follow the sandbox's port).
    pub embedded_sandbox: bool,
    /// The wizard step the profile was left at.
    pub wizard_step: StepId,
    /// When the profile was created (RFC 3339).
    pub created_at: String,
    /// The Microsoft connection, once a tenant and client id are saved.
    pub microsoft: Option<MicrosoftConnection>,
    /// The Okta connection (`orgUrl` is empty until the Okta step saved one).
    pub okta: OktaConnection,
    /// The operations enabled on this profile; they decide what Test connection checks.
    pub operations: Vec<OperationId>,
    /// The Okta group name of each role (the defaults until the Groups step changes them).
    pub groups: Vec<GroupSetting>,
}

/// How a profile connects to Microsoft (non-secret settings only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MicrosoftConnection {
    /// Tenant id (GUID) or verified domain.
    pub tenant: String,
    /// Client id (GUID) of the Entra app registration.
    pub client_id: String,
    /// Which credential is stored for it; `null` when none is.
    pub credential_kind: Option<MicrosoftCredentialKind>,
}

/// The kind of credential a Microsoft connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum MicrosoftCredentialKind {
    /// A client secret (`entra.client_secret`).
    Secret,
    /// A certificate with its private key (`entra.client_certificate`).
    Certificate,
}

/// How a profile connects to Okta (non-secret settings only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OktaConnection {
    /// The org URL, e.g. `https://acme.okta.com`; empty until set.
    pub org_url: String,
    /// The auth method; `null` until one is saved (or after its credential was deleted).
    pub auth: Option<OktaAuthKind>,
    /// Client id (`0oa…`) of the API service app, when one was saved.
    pub client_id: Option<String>,
    /// Key id (`kid`) of the service app's private key, when known.
    pub key_id: Option<String>,
    /// The Okta identity source used by imports, when set.
    pub identity_source_id: Option<String>,
}

/// How okta365 authenticates to Okta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OktaAuthKind {
    /// An API token (`SSWS`), acting as the admin who created it.
    ApiToken,
    /// An OAuth 2.0 API service app: `private_key_jwt` client credentials, DPoP when the org asks.
    ServiceApp,
}

/// Something okta365 does; each needs Graph roles and Okta scopes (`connect::requirements`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum OperationId {
    /// Assign licenses by Okta group.
    Licenses,
    /// Create and update member accounts in Entra.
    MemberAccounts,
    /// Keep Entra profiles in sync with Okta.
    ProfileSync,
    /// Invite and manage guest accounts.
    Guests,
    /// Block sign-in and remove licenses when a user leaves.
    Deactivation,
    /// Restore sign-in and licenses when a user returns.
    Activation,
    /// Send the manager an email about a change.
    ManagerEmail,
    /// Import users into Okta through an identity source.
    Imports,
}

impl OperationId {
    /// Every operation, in display order.
    pub const ALL: [OperationId; 8] = [
        OperationId::Licenses,
        OperationId::MemberAccounts,
        OperationId::ProfileSync,
        OperationId::Guests,
        OperationId::Deactivation,
        OperationId::Activation,
        OperationId::ManagerEmail,
        OperationId::Imports,
    ];

    /// The identifier used in JSON, check ids and the store, e.g. `"memberAccounts"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationId::Licenses => "licenses",
            OperationId::MemberAccounts => "memberAccounts",
            OperationId::ProfileSync => "profileSync",
            OperationId::Guests => "guests",
            OperationId::Deactivation => "deactivation",
            OperationId::Activation => "activation",
            OperationId::ManagerEmail => "managerEmail",
            OperationId::Imports => "imports",
        }
    }

    /// Parses [`OperationId::as_str`] back.
    pub fn parse(value: &str) -> Option<OperationId> {
        OperationId::ALL.into_iter().find(|op| op.as_str() == value)
    }

    /// What it is, in the middle of a sentence, e.g. "guest accounts" in "Permissions for guest
    /// accounts". The name on screen and the description are in `connect::requirements`.
    pub fn label(self) -> &'static str {
        match self {
            OperationId::Licenses => "licenses",
            OperationId::MemberAccounts => "member accounts",
            OperationId::ProfileSync => "profile sync",
            OperationId::Guests => "guest accounts",
            OperationId::Deactivation => "deactivation",
            OperationId::Activation => "activation",
            OperationId::ManagerEmail => "manager email",
            OperationId::Imports => "imports",
        }
    }
}

impl std::fmt::Display for OperationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one operation does and what it needs from each tenant: a row of the engine's table
/// (`connect::requirements`), which Test connection enforces and the desktop app shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OperationRequirement {
    /// The operation.
    pub operation: OperationId,
    /// Its name on screen, e.g. "Guest accounts".
    pub label: String,
    /// What it does, in one sentence.
    pub description: String,
    /// Microsoft Graph application permissions: every group is needed, any one role of a group
    /// satisfies it (`[["User.Invite.All"], ["User.ReadWrite.All"]]` needs both).
    pub graph_roles: Vec<Vec<String>>,
    /// Okta API scopes, all needed.
    pub okta_scopes: Vec<String>,
}

/// A form field checked by `validate_field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum FieldId {
    /// Microsoft tenant id or domain.
    MsTenant,
    /// Entra app client id.
    MsClientId,
    /// Entra client secret value.
    MsClientSecret,
    /// Entra certificate (PEM with private key, or base64 of a PFX).
    MsCertificate,
    /// Okta org URL.
    OktaOrgUrl,
    /// Okta API token.
    OktaApiToken,
    /// Okta service app client id.
    OktaClientId,
    /// Okta service app private key (PEM or JWK).
    OktaPrivateKey,
}

/// The result of checking one field value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldCheck {
    /// The field checked.
    pub field: FieldId,
    /// Whether the value can be saved.
    pub ok: bool,
    /// What is wrong and how to fix it, when not ok.
    pub message: Option<String>,
    /// The value as it will be saved (trimmed, `-admin` stripped, …); never set for secret fields.
    pub normalized: Option<String>,
    /// Something worth knowing even though the value is fine (e.g. "`-admin` was removed").
    pub note: Option<String>,
}

/// The credential to store for a Microsoft connection. Secret values are only ever read from the
/// front end, never sent back (no `Serialize`).
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum MicrosoftCredentialInput {
    /// A client secret's value, with its end date when the admin knows it.
    Secret {
        /// The secret's Value (not its Secret ID).
        #[ts(type = "string")]
        secret: Secret,
        /// When it expires (`YYYY-MM-DD` or RFC 3339), if known.
        expires_at: Option<String>,
    },
    /// A PEM with the certificate and its private key.
    CertificatePem {
        /// The PEM text.
        #[ts(type = "string")]
        pem: Secret,
    },
    /// A PFX (PKCS #12) file and its password; converted to PEM when saved, the password is not kept.
    CertificatePfx {
        /// The PFX file, base64-encoded.
        #[ts(type = "string")]
        pfx_base64: Secret,
        /// The PFX password.
        #[ts(type = "string")]
        password: Secret,
    },
}

/// Save a profile's Microsoft connection.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SaveMicrosoftRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// Tenant id (GUID) or verified domain.
    pub tenant: String,
    /// Client id (GUID) of the app registration.
    pub client_id: String,
    /// The credential to store; `null` keeps the stored one.
    pub credential: Option<MicrosoftCredentialInput>,
}

/// How to authenticate to Okta, as entered.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum OktaAuthInput {
    /// An API token; `null` keeps the stored one.
    ApiToken {
        /// The token.
        #[ts(type = "string | null")]
        token: Option<Secret>,
    },
    /// An API service app.
    ServiceApp {
        /// Its client id (`0oa…`).
        client_id: String,
        /// Its private key (PEM or JWK); `null` keeps the stored or generated one.
        #[ts(type = "string | null")]
        private_key: Option<Secret>,
        /// The key id (`kid`) registered in Okta; `null` keeps the stored one (or takes the JWK's `kid`).
        key_id: Option<String>,
    },
}

/// Save a profile's Okta connection.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SaveOktaRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// The org URL (an admin-console URL's `-admin` is removed).
    pub org_url: String,
    /// The auth method and its credential.
    pub auth: OktaAuthInput,
    /// The identity source used by imports; left out keeps the stored one, `""` clears it.
    #[serde(default)]
    #[ts(optional = nullable)]
    pub identity_source_id: Option<String>,
}

/// A key pair generated for an Okta service app: the private key went to the OS keychain, the public
/// JWK is for the admin to paste into Okta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GeneratedKey {
    /// The key id (`kid`).
    pub key_id: String,
    /// Pretty JSON of the public JWK to paste into the app's Public keys in Okta.
    pub public_jwk: String,
}

/// The outcome of one check of Test connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CheckStatus {
    /// It works.
    Ok,
    /// It does not work; `fix` says what to do.
    Failed,
    /// It works but needs attention soon (or could not be fully checked).
    Warning,
    /// Not run (not needed, or an earlier check failed).
    Skipped,
}

/// One check of Test connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CheckStep {
    /// Stable id, e.g. `token`, `permissions:guests`, `scope:okta.logs.read`.
    pub id: String,
    /// What is checked, for people.
    pub label: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was found (a tenant name, the roles granted, the vendor's error in plain words).
    pub detail: Option<String>,
    /// What to do about a failure or warning.
    pub fix: Option<String>,
    /// Where to do it (an admin console page).
    pub link: Option<String>,
}

/// Which side a connection test checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionTarget {
    /// The Microsoft tenant (Entra + Graph).
    Microsoft,
    /// The Okta org.
    Okta,
}

/// The result of Test connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionTest {
    /// What was tested.
    pub target: ConnectionTarget,
    /// True when no check failed (warnings and skipped checks are fine).
    pub ok: bool,
    /// Every check, in order.
    pub steps: Vec<CheckStep>,
    /// When it ran (RFC 3339).
    pub tested_at: String,
}

/// What a stored credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum CredentialKind {
    /// An Okta API token.
    #[serde(rename = "okta.api_token")]
    OktaApiToken,
    /// An Okta service app's private key.
    #[serde(rename = "okta.private_key")]
    OktaPrivateKey,
    /// An Entra client secret.
    #[serde(rename = "entra.client_secret")]
    EntraClientSecret,
    /// An Entra certificate with its private key.
    #[serde(rename = "entra.client_certificate")]
    EntraClientCertificate,
}

impl CredentialKind {
    /// The keychain kind.
    pub fn to_secrets(self) -> okta365_secrets::CredentialKind {
        use okta365_secrets::CredentialKind as K;
        match self {
            CredentialKind::OktaApiToken => K::OktaApiToken,
            CredentialKind::OktaPrivateKey => K::OktaPrivateKey,
            CredentialKind::EntraClientSecret => K::EntraClientSecret,
            CredentialKind::EntraClientCertificate => K::EntraClientCertificate,
        }
    }

    /// The DTO of a keychain kind.
    pub fn from_secrets(kind: okta365_secrets::CredentialKind) -> Option<CredentialKind> {
        use okta365_secrets::CredentialKind as K;
        Some(match kind {
            K::OktaApiToken => CredentialKind::OktaApiToken,
            K::OktaPrivateKey => CredentialKind::OktaPrivateKey,
            K::EntraClientSecret => CredentialKind::EntraClientSecret,
            K::EntraClientCertificate => CredentialKind::EntraClientCertificate,
            _ => return None,
        })
    }

    /// Parses `okta.api_token` etc.
    pub fn parse(value: &str) -> Option<CredentialKind> {
        okta365_secrets::CredentialKind::parse(value).and_then(CredentialKind::from_secrets)
    }

    /// The stable identifier, e.g. `okta.api_token`.
    pub fn as_str(self) -> &'static str {
        self.to_secrets().as_str()
    }
}

/// A stored credential's metadata (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialInfo {
    /// The profile it belongs to.
    pub profile_id: String,
    /// That profile's name.
    pub profile_name: String,
    /// What it is.
    pub kind: CredentialKind,
    /// A label for people, e.g. "Entra client secret".
    pub label: String,
    /// A non-secret hint to recognise it: the first 3 characters Microsoft shows for a client secret,
    /// a certificate's thumbprint, an Okta key id.
    pub hint: Option<String>,
    /// When it was stored (RFC 3339).
    pub created_at: String,
    /// When it was last used (RFC 3339).
    pub last_used_at: Option<String>,
    /// When it expires (RFC 3339), when known.
    pub expires_at: Option<String>,
    /// Whole days until it expires (negative once expired).
    pub days_left: Option<i32>,
    /// True from 30 days before it expires (and after).
    pub expiry_warning: bool,
}

/// Create a profile on a sandbox tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CreateSandboxProfileRequest {
    /// The profile name; `null` picks "Sandbox" (or "Sandbox 2", … when taken).
    pub name: Option<String>,
    /// A sandbox served elsewhere (`http://127.0.0.1:PORT`); `null` uses the data dir's own sandbox.
    pub url: Option<String>,
    /// `true`: no demo credentials, no app registration and no Okta connection, so the admin can try the
    /// automated setup (creating the Entra app and the Okta service app) from scratch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub blank: Option<bool>,
}

/// One report of long work in progress, streamed to the front end while a command runs (the app sends
/// them over a Tauri channel, the CLI prints them on stderr).
///
/// Generic on purpose, so every long operation (creating a sandbox profile, provisioning runs, imports)
/// reports the same way: `done` of `total` steps or items are finished and `step` is starting now. The
/// last report of a successful operation has `step: "done"` and `done == total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// The operation reporting, named like its command, e.g. `"create_sandbox_profile"`.
    pub operation: String,
    /// A stable id of the step now running, e.g. `"keychain"`; `"done"` once the operation finished.
    pub step: String,
    /// How many steps (or items) are finished.
    pub done: u32,
    /// How many there are in all, when known in advance.
    pub total: Option<u32>,
    /// What is happening, as a sentence for the user.
    pub message: String,
}

/// What kind of failure an [`ApiError`] is; the front end branches on this, never on the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed or a value was invalid; the message says which and how to fix it.
    InvalidInput,
    /// The profile (or other item) asked for does not exist.
    NotFound,
    /// Something with that name already exists.
    AlreadyExists,
    /// The OS keychain could not be used.
    KeychainUnavailable,
    /// The sandbox tenant could not be started or reached.
    SandboxUnavailable,
    /// The signed-in admin (or the token used) lacks a role or permission the step needs; the message
    /// names it and who can grant it.
    PermissionDenied,
    /// A sign-in did not complete: declined, expired, cancelled, or blocked by a Conditional Access or
    /// consent policy; the message says which and what to do.
    SignInFailed,
    /// The user cancelled the operation.
    Cancelled,
    /// Anything else; the message says what happened.
    Internal,
}

/// The one error that crosses IPC: `{code, message, details?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// What kind of failure this is.
    pub code: ErrorCode,
    /// A sentence for the user saying what went wrong and what to do.
    pub message: String,
    /// Structured facts about the failure, when there are any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "unknown")]
    pub details: Option<serde_json::Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}
