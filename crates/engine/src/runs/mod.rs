//! Provisioning runs (docs/provisioning.md): one plan of one operation for a scope, then its apply,
//! every vendor write journaled before and after it is sent.
//!
//! - [`context`]: the [`RunContext`] an operation plans and writes with (profile, Okta and Graph
//!   clients, settings, links, domains) and the [`Scope`] of a run.
//! - [`ops`]: the operation planners (`plan` / `execute` / `found` per operation) and the dispatch by
//!   [`OperationId`].
//! - [`journal`]: applying a run: the guard, the staleness check, the live re-check, `$batch`, the
//!   `started` / `done` / `failed` rows, and resuming runs a crash left `running`.
//! - [`history`]: listing, showing, exporting and deleting runs.
//! - [`settings`] and [`usernames`]: the provisioning settings and the username mapping.
//! - [`triggers`]: System Log polling and reconcile; [`test_run`]: the one-click test run.

pub mod context;
pub mod history;
pub mod journal;
pub mod lifecycle;
pub mod lifecycle_dto;
pub mod ops;
pub mod seats;
pub mod settings;
pub mod stages;
pub mod test_run;
pub mod triggers;
pub mod undo;
pub mod usernames;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use context::{RunContext, Scope};
pub use ops::{Planned, StepResult};

use crate::dto::OperationId;

/// How old a plan may be when it is applied.
pub const PLAN_MAX_AGE_MINS: i64 = 15;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RunTrigger {
    /// The app or the CLI, on request.
    Manual,
    /// A full compare, on demand or scheduled.
    Reconcile,
    /// Okta System Log events (membership or profile changes).
    SystemLog,
    /// A one-user test run.
    TestRun,
    /// A delayed stage that came due (the second stage of a staged deactivation).
    Schedule,
    /// The inverse of a finished run (`RunPlan::undo_of` names it).
    Undo,
}

impl RunTrigger {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Reconcile => "reconcile",
            RunTrigger::SystemLog => "systemLog",
            RunTrigger::TestRun => "testRun",
            RunTrigger::Schedule => "schedule",
            RunTrigger::Undo => "undo",
        }
    }

    /// Parses [`RunTrigger::as_str`].
    pub fn parse(value: &str) -> Option<RunTrigger> {
        [
            RunTrigger::Manual,
            RunTrigger::Reconcile,
            RunTrigger::SystemLog,
            RunTrigger::TestRun,
            RunTrigger::Schedule,
            RunTrigger::Undo,
        ]
        .into_iter()
        .find(|t| t.as_str() == value)
    }
}

/// What one planned change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    /// `POST /users`: a new member account.
    CreateUser,
    /// An existing Entra user matched by UPN or mail is linked (no write to the tenant).
    LinkUser,
    /// `PATCH /users/{id}` with the differing attributes.
    UpdateUser,
    /// `POST /invitations`: a new guest.
    InviteGuest,
    /// An existing guest matched by mail is linked.
    LinkGuest,
    /// `DELETE /users/{id}`.
    DeleteUser,
    /// `PATCH /users/{id}` `{accountEnabled: false}`.
    DisableUser,
    /// `PATCH /users/{id}` `{accountEnabled: true}`.
    EnableUser,
    /// `PATCH /users/{id}` `{usageLocation}`: needed before a license can be assigned.
    SetUsageLocation,
    /// `POST /users/{id}/assignLicense` adding SKUs (with their disabled plans); `detail.add`.
    AssignLicense,
    /// `POST /users/{id}/assignLicense` removing the user's direct SKUs; `detail.remove`.
    RemoveLicenses,
    /// `POST /users/{id}/revokeSignInSessions`.
    RevokeSessions,
    /// Saves the user's direct licenses (SKUs with disabled plans) as the user's snapshot (local).
    SnapshotLicenses,
    /// `POST /users/{sender}/sendMail` to the user's manager; `detail.stage`.
    EmailManager,
    /// Schedules a later stage (local): `detail.dueAt`.
    ScheduleStage,
    /// Cancels the user's pending stage (local).
    CancelStage,
    /// Deletes a stale CREATED import session (`DELETE /identity-sources/{id}/sessions/{sid}`).
    DeleteSession,
    /// Creates an import session (`POST /identity-sources/{id}/sessions`); the session id is journaled
    /// in the step's response.
    CreateSession,
    /// Uploads a chunk of active users (`bulk-upsert`); `detail` = `{session, from, to, count}`.
    BulkUpsert,
    /// Deactivates a chunk of inactive users (`bulk-delete`); `detail` as for [`ChangeKind::BulkUpsert`].
    BulkDelete,
    /// Starts the session's import (`start-import`).
    StartImport,
    /// Waits for the session to finish (polls `GET …/sessions/{sid}`); writes the delta hashes.
    AwaitSession,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 22] = [
        ChangeKind::CreateUser,
        ChangeKind::LinkUser,
        ChangeKind::UpdateUser,
        ChangeKind::InviteGuest,
        ChangeKind::LinkGuest,
        ChangeKind::DeleteUser,
        ChangeKind::DisableUser,
        ChangeKind::EnableUser,
        ChangeKind::SetUsageLocation,
        ChangeKind::AssignLicense,
        ChangeKind::RemoveLicenses,
        ChangeKind::RevokeSessions,
        ChangeKind::SnapshotLicenses,
        ChangeKind::EmailManager,
        ChangeKind::ScheduleStage,
        ChangeKind::CancelStage,
        ChangeKind::DeleteSession,
        ChangeKind::CreateSession,
        ChangeKind::BulkUpsert,
        ChangeKind::BulkDelete,
        ChangeKind::StartImport,
        ChangeKind::AwaitSession,
    ];

    /// The stored value, e.g. `createUser`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::CreateUser => "createUser",
            ChangeKind::LinkUser => "linkUser",
            ChangeKind::UpdateUser => "updateUser",
            ChangeKind::InviteGuest => "inviteGuest",
            ChangeKind::LinkGuest => "linkGuest",
            ChangeKind::DeleteUser => "deleteUser",
            ChangeKind::DisableUser => "disableUser",
            ChangeKind::EnableUser => "enableUser",
            ChangeKind::SetUsageLocation => "setUsageLocation",
            ChangeKind::AssignLicense => "assignLicense",
            ChangeKind::RemoveLicenses => "removeLicenses",
            ChangeKind::RevokeSessions => "revokeSessions",
            ChangeKind::SnapshotLicenses => "snapshotLicenses",
            ChangeKind::EmailManager => "emailManager",
            ChangeKind::ScheduleStage => "scheduleStage",
            ChangeKind::CancelStage => "cancelStage",
            ChangeKind::DeleteSession => "deleteSession",
            ChangeKind::CreateSession => "createSession",
            ChangeKind::BulkUpsert => "bulkUpsert",
            ChangeKind::BulkDelete => "bulkDelete",
            ChangeKind::StartImport => "startImport",
            ChangeKind::AwaitSession => "awaitSession",
        }
    }

    /// Parses [`ChangeKind::as_str`].
    pub fn parse(value: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// Whether the blast-radius guard counts it.
    pub fn is_destructive(self) -> bool {
        matches!(
            self,
            ChangeKind::DeleteUser | ChangeKind::DisableUser | ChangeKind::RemoveLicenses
        )
    }

    /// The verb in words, for progress and history ("Create", "Link", …).
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::CreateUser => "Create the Microsoft account",
            ChangeKind::LinkUser => "Link the existing Microsoft account",
            ChangeKind::UpdateUser => "Update the Microsoft account",
            ChangeKind::InviteGuest => "Invite as a guest",
            ChangeKind::LinkGuest => "Link the existing guest account",
            ChangeKind::DeleteUser => "Delete the Microsoft account",
            ChangeKind::DisableUser => "Block sign-in to the Microsoft account",
            ChangeKind::EnableUser => "Allow sign-in to the Microsoft account again",
            ChangeKind::SetUsageLocation => "Set the usage location",
            ChangeKind::AssignLicense => "Assign licenses",
            ChangeKind::RemoveLicenses => "Remove licenses",
            ChangeKind::RevokeSessions => "Sign the user out everywhere",
            ChangeKind::SnapshotLicenses => "Save the user's licenses",
            ChangeKind::EmailManager => "Email the manager",
            ChangeKind::ScheduleStage => "Schedule license removal",
            ChangeKind::CancelStage => "Cancel the pending license removal",
            ChangeKind::DeleteSession => "Delete the stale import session",
            ChangeKind::CreateSession => "Create an import session",
            ChangeKind::BulkUpsert => "Upload users",
            ChangeKind::BulkDelete => "Deactivate users",
            ChangeKind::StartImport => "Start the import",
            ChangeKind::AwaitSession => "Wait for the import to finish",
        }
    }
}

/// One field a change sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The Graph property, e.g. `jobTitle`.
    pub field: String,
    /// The live value (`null` when unset or on create).
    pub from: Option<String>,
    /// The value written (`null` clears it).
    pub to: Option<String>,
}

/// One planned change for one user: one vendor write (or one `$batch` item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    /// Its number in the run, from 1.
    pub seq: u32,
    /// The Okta user.
    pub okta_user_id: String,
    /// The Okta user in words (login).
    pub user_label: String,
    /// What the change does.
    pub kind: ChangeKind,
    /// What is written: the UPN, mail or Entra object id.
    pub target: String,
    /// The fields set.
    pub fields: Vec<FieldChange>,
    /// Why the user is skipped, or something to know about the change.
    pub warning: Option<String>,
    /// Machine-readable particulars of kinds that need them (licenses, emails, stages); see
    /// docs/licensing.md. `null` for the provisioning kinds.
    #[serde(default)]
    #[ts(type = "unknown")]
    pub detail: Option<serde_json::Value>,
}

/// Why the blast-radius guard stopped a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GuardStop {
    /// Destructive changes planned (deletes and disables).
    pub destructive: u32,
    /// Members of the group the percentage is taken of.
    pub members: u32,
    /// The settings' maximum of users.
    pub max_users: u32,
    /// The settings' maximum percentage.
    pub max_percent: u32,
    /// The stop in words, with how to confirm.
    pub message: String,
}

/// A run's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunPlan {
    /// The run.
    pub run_id: String,
    /// The profile.
    pub profile_id: String,
    /// The operation.
    pub operation: OperationId,
    /// What started it.
    pub trigger: RunTrigger,
    /// The changes applying makes, in order.
    pub changes: Vec<PlannedChange>,
    /// Users with a problem, not changed (each with its warning).
    pub skipped: Vec<PlannedChange>,
    /// Set when the guard stops the plan.
    pub guard: Option<GuardStop>,
    /// When the plan was made (RFC 3339).
    pub planned_at: String,
    /// The run this plan undoes (trigger `undo`).
    #[serde(default)]
    pub undo_of: Option<String>,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    /// Planned, not applied.
    Planned,
    /// Being applied (or left so by a crash, until resumed).
    Running,
    /// Every change done.
    Succeeded,
    /// Some changes failed.
    Partial,
    /// Every change failed.
    Failed,
    /// Stopped part-way; resumable.
    Interrupted,
    /// Cancelled by the user.
    Cancelled,
    /// The plan was thrown away.
    Discarded,
}

impl RunStatus {
    /// Every status.
    pub const ALL: [RunStatus; 8] = [
        RunStatus::Planned,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Partial,
        RunStatus::Failed,
        RunStatus::Interrupted,
        RunStatus::Cancelled,
        RunStatus::Discarded,
    ];

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Planned => "planned",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Discarded => "discarded",
        }
    }

    /// Parses [`RunStatus::as_str`].
    pub fn parse(value: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// One run in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The run.
    pub run_id: String,
    /// The profile.
    pub profile_id: String,
    /// The operation.
    pub operation: OperationId,
    /// What started it.
    pub trigger: RunTrigger,
    /// Where it stands.
    pub status: RunStatus,
    /// Distinct Okta users with a change.
    pub users: u32,
    /// Planned changes.
    pub changes: u32,
    /// Changes done (including those found already done on the tenant).
    pub done: u32,
    /// Changes failed.
    pub failed: u32,
    /// When it was planned (RFC 3339).
    pub created_at: String,
    /// When the apply started.
    pub started_at: Option<String>,
    /// When the apply finished.
    pub finished_at: Option<String>,
    /// How long the apply took.
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    /// The run this one undoes.
    #[serde(default)]
    pub undo_of: Option<String>,
    /// The run that undoes this one (planned or applied).
    #[serde(default)]
    pub undone_by: Option<String>,
}

/// Where one step of the run journal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    /// Not sent yet.
    Pending,
    /// Recorded before the write was sent; the outcome is not known yet.
    Started,
    /// The write succeeded.
    Done,
    /// The write failed (see the step's code, message and fix).
    Failed,
    /// The user was skipped (a problem, see the warning).
    Skipped,
    /// The live re-check found the change already made; nothing was written.
    Superseded,
}

impl StepStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Superseded => "superseded",
        }
    }

    /// Parses [`StepStatus::as_str`].
    pub fn parse(value: &str) -> Option<StepStatus> {
        [
            StepStatus::Pending,
            StepStatus::Started,
            StepStatus::Done,
            StepStatus::Failed,
            StepStatus::Skipped,
            StepStatus::Superseded,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// One step of the run journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunStep {
    /// The planned change's number.
    pub seq: u32,
    /// The Okta user.
    pub okta_user_id: String,
    /// The Okta user in words.
    pub user_label: String,
    /// The change kind.
    pub kind: ChangeKind,
    /// What is written.
    pub target: String,
    /// Where it stands.
    pub status: StepStatus,
    /// The request summary (never a password).
    #[ts(type = "unknown")]
    pub request: serde_json::Value,
    /// The response summary.
    #[ts(type = "unknown")]
    pub response: serde_json::Value,
    /// The HTTP status.
    pub http_status: Option<u16>,
    /// The vendor's error code.
    pub vendor_code: Option<String>,
    /// The vendor's error message.
    pub vendor_message: Option<String>,
    /// The vendor's request id.
    pub request_id: Option<String>,
    /// What to do about a failure.
    pub fix: Option<String>,
    /// When it was sent.
    pub started_at: Option<String>,
    /// When it returned.
    pub finished_at: Option<String>,
    /// How long it took.
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
}

/// A run with its plan and journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The summary.
    pub summary: RunSummary,
    /// The plan.
    pub plan: RunPlan,
    /// The journal, by `seq`.
    pub steps: Vec<RunStep>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RunFilter {
    /// Only this operation.
    pub operation: Option<OperationId>,
    /// Only this status.
    pub status: Option<RunStatus>,
    /// Only runs touching this Okta user (id, or part of the login).
    pub user: Option<String>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
}

/// A request to plan a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanRunRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// The operation.
    pub operation: OperationId,
    /// Okta user ids or logins; `null`: every member.
    pub users: Option<Vec<String>>,
    /// What starts it.
    pub trigger: RunTrigger,
}

/// The format of an exported run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ExportFormat {
    /// The [`RunDetail`] as JSON.
    Json,
    /// One CSV row per step.
    Csv,
}

impl ExportFormat {
    /// Parses `json` or `csv` (ignoring case).
    pub fn parse(value: &str) -> Option<ExportFormat> {
        match value.trim().to_ascii_lowercase().as_str() {
            "json" => Some(ExportFormat::Json),
            "csv" => Some(ExportFormat::Csv),
            _ => None,
        }
    }
}

/// The operations runs exist for (this issue's; #6 and #7 add more).
pub const RUN_OPERATIONS: [OperationId; 7] = [
    OperationId::MemberAccounts,
    OperationId::ProfileSync,
    OperationId::Guests,
    OperationId::Licenses,
    OperationId::Deactivation,
    OperationId::Activation,
    OperationId::Imports,
];

/// The stored operation id parsed back.
pub(crate) fn parse_operation(value: &str) -> Option<OperationId> {
    OperationId::ALL.into_iter().find(|o| o.as_str() == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_match_the_json() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str()),
                "the stored value is the JSON value"
            );
        }
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(
            serde_json::to_value(RunTrigger::SystemLog).unwrap(),
            "systemLog"
        );
        assert!(
            ChangeKind::DeleteUser.is_destructive() && !ChangeKind::CreateUser.is_destructive()
        );
    }
}
