//! The types that cross the IPC boundary, serialized as camelCase JSON and exported to TypeScript
//! (`ui/src/lib/ipc/bindings/`) with ts-rs. The engine works on store and domain types; these stay at the
//! boundary.
//!
//! Changing one of these changes the front end's types: run
//! `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings` and commit the regenerated files.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

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
    pub const ALL: [StepId; 10] = [
        StepId::Welcome,
        StepId::Microsoft,
        StepId::Okta,
        StepId::Groups,
        StepId::Licenses,
        StepId::Provisioning,
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
}

/// Create a profile on a sandbox tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CreateSandboxProfileRequest {
    /// The profile name; `null` picks "Sandbox" (or "Sandbox 2", … when taken).
    pub name: Option<String>,
    /// A sandbox served elsewhere (`http://127.0.0.1:PORT`); `null` uses the data dir's own sandbox.
    pub url: Option<String>,
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
