//! The operation planners, one module per operation, each with
//!
//! ```text
//! pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned>;
//! pub(crate) async fn execute(ctx: &RunContext, change: &PlannedChange) -> StepResult;
//! pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>>;
//! ```
//!
//! and the dispatch by [`OperationId`]. `found` answers whether the change is already made on the live
//! tenant (an account with the UPN exists, the attributes already match, the account is gone): the
//! apply calls it just before writing, and resume calls it for each step a crash left `started`.
//!
//! An operation whose writes can go through `$batch` also has `prepare` (the Graph write of a change,
//! or a result without a write) and `complete` (the step's result from the write's answer); the apply
//! then sends its writes 20 at a time. Operations without them are executed one change at a time.

pub(crate) mod activation;
pub(crate) mod deactivation;
pub(crate) mod guests;
pub(crate) mod imports;
pub(crate) mod licenses;
pub(crate) mod lifecycle_steps;
pub(crate) mod member_accounts;
pub(crate) mod profile_sync;

use okta365_graph::batch::{GraphWrite, WriteResponse};
use serde_json::{Value, json};

use super::{ChangeKind, PlannedChange, StepStatus, context::RunContext, context::Scope};
use crate::{
    dto::OperationId,
    error::{Error, Result},
};

/// What a planner found to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Planned {
    /// The changes, in order (`seq` is renumbered by the caller).
    pub changes: Vec<PlannedChange>,
    /// Users with a problem, each with its warning.
    pub skipped: Vec<PlannedChange>,
    /// Members of the operation's group (the guard's percentage base).
    pub members: u32,
}

/// A link to record or remove after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkChange {
    /// Link the Okta user to this Entra user.
    Set {
        /// `member` or `guest`.
        kind: &'static str,
        /// The Entra object id.
        entra_id: String,
        /// Its UPN.
        upn: Option<String>,
        /// Its mail.
        mail: Option<String>,
    },
    /// Remove the Okta user's link of this kind.
    Remove {
        /// `member` or `guest`.
        kind: &'static str,
    },
}

/// The outcome of one step, journaled after the write returns.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// `Done`, `Failed` or `Superseded`.
    pub status: StepStatus,
    /// The request summary (never a password); `Null` keeps the one recorded at start.
    pub request: Value,
    /// The response summary.
    pub response: Value,
    /// The HTTP status.
    pub http_status: Option<u16>,
    /// The vendor's error code.
    pub vendor_code: Option<String>,
    /// The vendor's error message.
    pub vendor_message: Option<String>,
    /// The vendor's request id.
    pub request_id: Option<String>,
    /// What to do about a failure, in plain words.
    pub fix: Option<String>,
    /// The link to record or remove.
    pub link: Option<LinkChange>,
}

impl StepResult {
    /// A step done with this response and no write (e.g. a link).
    pub fn done(response: Value, link: Option<LinkChange>) -> StepResult {
        StepResult {
            status: StepStatus::Done,
            request: Value::Null,
            response,
            http_status: None,
            vendor_code: None,
            vendor_message: None,
            request_id: None,
            fix: None,
            link,
        }
    }

    /// A step that failed before or without an answer from the vendor.
    pub fn failed(message: impl Into<String>, fix: impl Into<String>) -> StepResult {
        StepResult {
            status: StepStatus::Failed,
            request: Value::Null,
            response: Value::Null,
            http_status: None,
            vendor_code: None,
            vendor_message: Some(message.into()),
            request_id: None,
            fix: Some(fix.into()),
            link: None,
        }
    }

    /// A step whose change the live re-check found already made.
    pub fn superseded(found: Value, link: Option<LinkChange>) -> StepResult {
        StepResult {
            status: StepStatus::Superseded,
            response: json!({ "found": found }),
            ..StepResult::done(Value::Null, link)
        }
    }

    /// A step from a Graph error (a failed answer or no answer).
    pub fn from_graph_error(request: Value, e: &okta365_graph::Error) -> StepResult {
        let explanation = e.explanation();
        let (code, message, request_id) = match e {
            okta365_graph::Error::Graph {
                code,
                message,
                request_id,
                ..
            } => (
                Some(code.clone()),
                Some(message.clone()),
                request_id.clone(),
            ),
            other => (None, Some(other.to_string()), None),
        };
        StepResult {
            status: StepStatus::Failed,
            request,
            response: Value::Null,
            http_status: e.status(),
            vendor_code: code,
            vendor_message: message,
            request_id,
            fix: explanation.fix.or(Some(
                "Check the message, fix the cause on the tenant, then plan and apply again.".into(),
            )),
            link: None,
        }
    }

    /// A step from a write's answer: done with `response` on success, failed with Graph's code,
    /// message and fix otherwise.
    pub fn from_write(request: Value, answer: &WriteResponse, response: Value) -> StepResult {
        match answer.error() {
            Some(e) => StepResult {
                http_status: Some(answer.status),
                request_id: answer.request_id.clone(),
                ..StepResult::from_graph_error(request, &e)
            },
            None => StepResult {
                status: StepStatus::Done,
                request,
                response,
                http_status: Some(answer.status),
                vendor_code: None,
                vendor_message: None,
                request_id: answer.request_id.clone(),
                fix: None,
                link: None,
            },
        }
    }
}

/// What a change needs: a Graph write (with the journal's request summary), or nothing to send.
#[derive(Debug)]
pub enum Prepared {
    /// Send this write; `summary` is journaled (never a password).
    Write {
        /// The write.
        write: GraphWrite,
        /// The request summary.
        summary: Value,
    },
    /// No write: the step's result.
    Finished(StepResult),
}

fn not_available(operation: OperationId) -> Error {
    Error::invalid(format!(
        "The {} operation cannot be planned as a run yet.",
        operation.as_str()
    ))
}

/// Plans `operation`.
pub(crate) async fn plan(
    operation: OperationId,
    ctx: &RunContext,
    scope: &Scope,
) -> Result<Planned> {
    match operation {
        OperationId::MemberAccounts => member_accounts::plan(ctx, scope).await,
        OperationId::ProfileSync => profile_sync::plan(ctx, scope).await,
        OperationId::Guests => guests::plan(ctx, scope).await,
        OperationId::Licenses => licenses::plan(ctx, scope).await,
        OperationId::Deactivation => deactivation::plan(ctx, scope).await,
        OperationId::Activation => activation::plan(ctx, scope).await,
        OperationId::Imports => imports::plan(ctx, scope).await,
        other => Err(not_available(other)),
    }
}

/// Executes one change of `operation` (one write).
pub(crate) async fn execute(
    operation: OperationId,
    ctx: &RunContext,
    change: &PlannedChange,
) -> StepResult {
    match operation {
        OperationId::MemberAccounts => member_accounts::execute(ctx, change).await,
        OperationId::ProfileSync => profile_sync::execute(ctx, change).await,
        OperationId::Guests => guests::execute(ctx, change).await,
        OperationId::Licenses => licenses::execute(ctx, change).await,
        OperationId::Deactivation => deactivation::execute(ctx, change).await,
        OperationId::Activation => activation::execute(ctx, change).await,
        OperationId::Imports => imports::execute(ctx, change).await,
        other => StepResult::failed(
            not_available(other).to_string(),
            "Update okta365 to a version that provisions this operation.",
        ),
    }
}

/// Whether the change is already made on the live tenant (what was found), for the re-check before a
/// write and for resume.
pub(crate) async fn found(
    operation: OperationId,
    ctx: &RunContext,
    change: &PlannedChange,
) -> Result<Option<Value>> {
    match operation {
        OperationId::MemberAccounts => member_accounts::found(ctx, change).await,
        OperationId::ProfileSync => profile_sync::found(ctx, change).await,
        OperationId::Guests => guests::found(ctx, change).await,
        OperationId::Licenses => licenses::found(ctx, change).await,
        OperationId::Deactivation => deactivation::found(ctx, change).await,
        OperationId::Activation => activation::found(ctx, change).await,
        OperationId::Imports => imports::found(ctx, change).await,
        other => Err(not_available(other)),
    }
}

/// [`found`] for several changes (the re-check before a batch of writes); operations that can look
/// many users up at once do, the others check one change at a time.
pub(crate) async fn found_many(
    operation: OperationId,
    ctx: &RunContext,
    changes: &[PlannedChange],
) -> Result<Vec<Option<Value>>> {
    if operation == OperationId::MemberAccounts {
        return member_accounts::found_many(ctx, changes).await;
    }
    if matches!(
        operation,
        OperationId::Licenses | OperationId::Deactivation | OperationId::Activation
    ) {
        return lifecycle_steps::found_many(ctx, changes).await;
    }
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        out.push(found(operation, ctx, change).await?);
    }
    Ok(out)
}

/// The write of a change, when the operation batches its writes (`None`: execute it alone).
pub(crate) async fn prepare(
    operation: OperationId,
    ctx: &RunContext,
    change: &PlannedChange,
) -> Option<Prepared> {
    match operation {
        OperationId::MemberAccounts => Some(member_accounts::prepare(ctx, change).await),
        OperationId::ProfileSync => Some(profile_sync::prepare(ctx, change).await),
        OperationId::Guests => Some(guests::prepare(ctx, change).await),
        OperationId::Licenses => licenses::prepare(ctx, change).await,
        OperationId::Deactivation => deactivation::prepare(ctx, change).await,
        OperationId::Activation => activation::prepare(ctx, change).await,
        _ => None,
    }
}

/// The result of a prepared write from its answer.
pub(crate) fn complete(
    operation: OperationId,
    ctx: &RunContext,
    change: &PlannedChange,
    summary: Value,
    answer: &WriteResponse,
) -> StepResult {
    match operation {
        OperationId::MemberAccounts => member_accounts::complete(ctx, change, summary, answer),
        OperationId::ProfileSync => profile_sync::complete(ctx, change, summary, answer),
        OperationId::Guests => guests::complete(ctx, change, summary, answer),
        OperationId::Licenses | OperationId::Deactivation | OperationId::Activation => {
            lifecycle_steps::complete(change, summary, answer)
        }
        _ => StepResult::from_write(summary, answer, answer.body.clone()),
    }
}

/// The link a `found` value stands for, by change kind: the found Entra user (`id`,
/// `userPrincipalName`, `mail`) for creates, invites and links; the link removed for deletes.
pub(crate) fn link_from_found(change: &PlannedChange, found: &Value) -> Option<LinkChange> {
    let text = |k: &str| found.get(k).and_then(Value::as_str).map(str::to_owned);
    let kind = match change.kind {
        ChangeKind::CreateUser | ChangeKind::LinkUser => "member",
        ChangeKind::InviteGuest | ChangeKind::LinkGuest => "guest",
        ChangeKind::DeleteUser => return Some(LinkChange::Remove { kind: "guest" }),
        // Updates and the licensing kinds never change a link.
        _ => return None,
    };
    Some(LinkChange::Set {
        kind,
        entra_id: text("id")?,
        upn: text("userPrincipalName"),
        mail: text("mail"),
    })
}
