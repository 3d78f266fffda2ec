//! The DTOs of the licensing lifecycle (docs/licensing.md): lifecycle settings and manager-email
//! templates, the email preview, delayed stages and the seats-over-time points.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::RunSummary;

/// Which manager email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum MailStage {
    /// The account was disabled (stage 1 of a staged deactivation).
    Disabled,
    /// The licenses were removed (stage 2, after the delay).
    LicensesRemoved,
    /// The account was enabled again with its licenses.
    Activated,
}

impl MailStage {
    /// Every stage.
    pub const ALL: [MailStage; 3] = [
        MailStage::Disabled,
        MailStage::LicensesRemoved,
        MailStage::Activated,
    ];

    /// The stored and displayed value, e.g. `licensesRemoved`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStage::Disabled => "disabled",
            MailStage::LicensesRemoved => "licensesRemoved",
            MailStage::Activated => "activated",
        }
    }

    /// Parses [`MailStage::as_str`].
    pub fn parse(value: &str) -> Option<MailStage> {
        MailStage::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// One email template (plain text, with `{{placeholders}}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailTemplate {
    /// The subject line.
    pub subject: String,
    /// The body, plain text.
    pub body: String,
}

/// The template of each stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailTemplates {
    /// Sent when the account is disabled.
    pub disabled: MailTemplate,
    /// Sent when the licenses are removed.
    pub licenses_removed: MailTemplate,
    /// Sent when the account is enabled again.
    pub activated: MailTemplate,
}

/// A profile's lifecycle settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleSettings {
    /// Seconds between disabling an account and removing its licenses (1 s to 10 years).
    #[ts(type = "number")]
    pub delay_secs: u64,
    /// Whether disabling also revokes the user's sign-in sessions.
    pub revoke_sessions: bool,
    /// The mailbox (UPN or object id) manager emails are sent from; `null`: none are sent.
    pub sender_mailbox: Option<String>,
    /// The email of each stage.
    pub templates: MailTemplates,
}

/// Asks for a rendered manager email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailPreviewRequest {
    /// The profile.
    pub profile_id: String,
    /// Which email.
    pub stage: MailStage,
    /// The Okta user it is about; `null`: the first member of the assignments group.
    pub okta_user_id: Option<String>,
    /// An unsaved template to render instead of the saved one.
    pub template: Option<MailTemplate>,
}

/// A rendered manager email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MailPreview {
    /// The manager's address; `null` when the user has none.
    pub to: Option<String>,
    /// The sender mailbox; `null` when none is set.
    pub from: Option<String>,
    /// The subject.
    pub subject: String,
    /// The body.
    pub body: String,
    /// Why this email would not be sent, in plain words.
    pub problem: Option<String>,
}

/// Where a delayed stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum StageStatus {
    /// Waiting for its due time.
    Pending,
    /// Its run is being applied.
    Running,
    /// Its run finished.
    Done,
    /// Its run failed.
    Failed,
    /// Cancelled (by the admin, an activation or an undo).
    Cancelled,
}

impl StageStatus {
    /// Every status.
    pub const ALL: [StageStatus; 5] = [
        StageStatus::Pending,
        StageStatus::Running,
        StageStatus::Done,
        StageStatus::Failed,
        StageStatus::Cancelled,
    ];

    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Pending => "pending",
            StageStatus::Running => "running",
            StageStatus::Done => "done",
            StageStatus::Failed => "failed",
            StageStatus::Cancelled => "cancelled",
        }
    }

    /// Parses [`StageStatus::as_str`].
    pub fn parse(value: &str) -> Option<StageStatus> {
        StageStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// A delayed stage: the license removal of a staged deactivation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// Its id.
    #[ts(type = "number")]
    pub id: i64,
    /// The profile.
    pub profile_id: String,
    /// The Okta user.
    pub okta_user_id: String,
    /// The Okta user in words.
    pub user_label: String,
    /// The Entra user.
    pub entra_id: String,
    /// Today always `removeLicenses`.
    pub kind: String,
    /// When it is due (RFC 3339).
    pub due_at: String,
    /// Where it stands.
    pub status: StageStatus,
    /// When it was scheduled.
    pub created_at: String,
    /// The run that scheduled it.
    pub scheduled_by_run: String,
    /// Its own run, once started.
    pub run_id: Option<String>,
    /// When its run started.
    pub started_at: Option<String>,
    /// When it finished or was cancelled.
    pub finished_at: Option<String>,
    /// Pending and overdue: seconds past due now; started: how late it started.
    #[ts(type = "number | null")]
    pub late_secs: Option<i64>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
}

/// What a round of due stages did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DueReport {
    /// The stage runs applied.
    pub ran: Vec<RunSummary>,
    /// The stages that ran late (more than a minute past due), with how late.
    pub late: Vec<Stage>,
}

/// Seats of one SKU at one time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SeatPoint {
    /// The SKU id.
    pub sku_id: String,
    /// Its part number.
    pub sku_part_number: String,
    /// Its product name, when known.
    pub name: String,
    /// When the seats were read (RFC 3339).
    pub taken_at: String,
    /// Seats used.
    pub consumed: u32,
    /// Seats bought (enabled).
    pub enabled: u32,
}
