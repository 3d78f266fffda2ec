//! # okta365 engine
//!
//! The one engine behind the desktop app, the `okta365` CLI and the tests. It never depends on Tauri.
//!
//! - [`Paths`]: where everything lives; `OKTA365_DATA_DIR` moves every path.
//! - [`Engine`]: the facade every front door calls: profiles (one Okta org + one Microsoft tenant
//!   pair), their secrets in the OS keychain, and the data dir's own sandbox tenant.
//! - [`dto`]: the types that cross IPC, exported to TypeScript in `ui/src/lib/ipc/bindings/`.
//! - [`Error`] and [`ApiError`]: the engine's error, and the one `{code, message, details?}` error that
//!   crosses IPC.
//! - [`progress`]: how long operations report [`Progress`] to a [`ProgressSink`] the caller hands in
//!   (a Tauri channel in the app, stderr in the CLI), without the engine knowing either.
//! - [`logging`]: the binaries' tracing setup, with redaction of anything secret-shaped.
//! - [`urls`]: HTTPS-except-loopback checks for tenant URLs. Calls to loopback (the sandbox) never go
//!   through a proxy; calls to real tenants honour the system proxy settings.
//! - [`connect`]: connecting a profile to its Microsoft tenant and Okta org: field checks, the
//!   operation → requirement table, saving credentials, Test connection, the Credentials screen.
//! - [`setup`]: the guided setup: groups, licenses, creating the Entra and Okta apps, review.

#![warn(missing_docs)]

pub mod connect;
pub mod dto;
mod engine;
mod error;
pub mod imports;
pub mod logging;
mod paths;
pub mod progress;
pub mod runs;
pub mod setup;
mod transport;
pub mod urls;

pub use dto::{
    ActiveRule, AttributeRule, ImportMapping, MappedPreviewRow, Reject, SourcePreview, SourceSpec,
    Transform,
};
pub use dto::{
    ApiError, AppInfo, BuildKind, CheckStatus, CheckStep, ConnectionTarget, ConnectionTest,
    CreateSandboxProfileRequest, CredentialInfo, CredentialKind, ErrorCode, FieldCheck, FieldId,
    GeneratedKey, MicrosoftConnection, MicrosoftCredentialInput, MicrosoftCredentialKind,
    OktaAuthInput, OktaAuthKind, OktaConnection, OperationId, OperationRequirement, Profile,
    ProfileKind, Progress, SaveMicrosoftRequest, SaveOktaRequest, StepId,
};
pub use dto::{
    AppCredentialChoice, MicrosoftAdmin, MicrosoftAppPlan, MicrosoftAppRequest, MicrosoftAppResult,
    MicrosoftSignIn, MicrosoftSignInRequest, PlannedPermission, SignInMethod,
};
pub use dto::{
    AttributeMapping, GuestRemoval, ProvisioningSettings, UsernameFormat, UsernamePreview,
    UsernamePreviewRow,
};
pub use dto::{
    ChangeKind, ExportFormat, FieldChange, GuardStop, PlanRunRequest, PlannedChange, RunDetail,
    RunFilter, RunPlan, RunStatus, RunStep, RunSummary, RunTrigger, StepStatus,
};
pub use dto::{
    DeactivationGuard, DueImport, ImportPlan, ImportRequest, ImportSchedule, ImportStop,
    ImportSummary, SavedImport,
};
pub use dto::{
    DueReport, LifecycleSettings, MailPreview, MailPreviewRequest, MailStage, MailTemplate,
    MailTemplates, SeatPoint, Stage, StageStatus,
};
pub use dto::{
    GrantRow, GroupAction, GroupPlanItem, GroupRole, GroupSetting, GroupsPlan, License,
    LicenseAssignment, LicensesView, Review, ReviewItem, ReviewStatus, SeatWarning, ServicePlan,
};
pub use dto::{
    OktaAppPlan, OktaAppRequest, OktaAppResult, OktaTokenSource, PlanAction, PlannedScope,
};
pub use dto::{TestRunRequest, TestRunResult, TriggerReport};
pub use engine::{
    DEFAULT_SANDBOX_PROFILE_NAME, Engine, MAX_PROFILE_NAME_CHARS, validate_profile_name,
};
pub use error::{Error, Result};
pub use okta365_sandbox::SandboxUrls;
pub use okta365_sandbox::ServeOptions;
pub use paths::{APP_IDENTIFIER, DATA_DIR_ENV, Paths, app_identifier};
pub use progress::ProgressSink;
