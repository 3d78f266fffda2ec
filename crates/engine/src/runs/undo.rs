//! Undo (docs/licensing.md "Undo"): the inverse of a finished run as a new plan of the same operation
//! (trigger `undo`, linked to the run it undoes), built from the run's `done` / `superseded` steps — and,
//! for a deactivation, those of the stage runs it scheduled — in reverse order. Kinds without an
//! inverse (emails, sign-outs, snapshots, creations, links) are listed as skipped with the reason, and so
//! is a write the live re-check found already made (`superseded`: the run changed nothing). A license
//! the run assigned over the same SKU held with other disabled plans is assigned back with those plans,
//! never removed. The plan is guarded and applied like any other.

use std::collections::{BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use okta365_store::{
    lifecycle::StageRecord,
    runs::{RunRecord, RunStepRecord},
};
use serde_json::{Value, json};
use tracing::instrument;
use uuid::Uuid;

use super::{
    ChangeKind, FieldChange, PlannedChange, RunPlan, RunTrigger,
    context::{RunContext, Scope},
    journal::{PlanOptions, parse_run_id, stored_plan},
    ops::Planned,
};
use crate::{
    dto::OperationId,
    engine::Engine,
    error::{Error, Result},
    setup::groups::GroupRole,
};

/// The seconds from now a stage whose old due time has passed is scheduled at again.
const RESCHEDULE_SECS: i64 = 60;

/// One change a run made, with the run it belongs to.
struct Made {
    run_id: Uuid,
    change: PlannedChange,
    /// The step was `superseded` by the live re-check before its write: the tenant was already so,
    /// and this run changed nothing. (A step a resume found on the tenant is the run's own write,
    /// journaled with `"resumed": true`, and counts as made.)
    already_so: bool,
}

/// Whether a `superseded` step's response says a resume found the run's own interrupted write.
fn resumed(step: &RunStepRecord) -> bool {
    step.response
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .and_then(|r| r.get("resumed").and_then(Value::as_bool))
        .unwrap_or(false)
}

/// The changes a run made (`done` or `superseded`), in order.
fn made(record: &RunRecord, steps: &[RunStepRecord]) -> Result<Vec<Made>> {
    let plan = stored_plan(record)?;
    let by_seq: HashMap<i64, &RunStepRecord> = steps.iter().map(|s| (s.seq, s)).collect();
    Ok(plan
        .changes
        .into_iter()
        .filter_map(|change| {
            let step = by_seq.get(&i64::from(change.seq))?;
            let already_so = match step.status.as_str() {
                "done" => false,
                "superseded" => !resumed(step),
                _ => return None,
            };
            Some(Made {
                run_id: record.id,
                change,
                already_so,
            })
        })
        .collect())
}

/// Whether undoing a change of this kind would write to the tenant (kinds an undo inverts there).
fn writes_tenant(kind: ChangeKind) -> bool {
    matches!(
        kind,
        ChangeKind::EnableUser
            | ChangeKind::DisableUser
            | ChangeKind::AssignLicense
            | ChangeKind::RemoveLicenses
            | ChangeKind::SetUsageLocation
            | ChangeKind::UpdateUser
    )
}

fn entra_id(change: &PlannedChange) -> Option<String> {
    change
        .detail
        .as_ref()
        .and_then(|d| d.get("entraId"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn detail_entra(change: &PlannedChange) -> Value {
    match entra_id(change) {
        Some(id) => json!({ "entraId": id }),
        None => json!({}),
    }
}

/// What undoing one change needs: the inverse change(s), or why there is none.
enum Inverse {
    Change(PlannedChange),
    Changes(Vec<PlannedChange>),
    Skip(String),
    Nothing,
}

/// The reason a superseded step is not undone.
const ALREADY_SO: &str = "It was already so when the run applied it; the run changed nothing, so there is nothing to undo";

fn inverse(made: &Made, stages: &[StageRecord], now: Timestamp) -> Inverse {
    let c = &made.change;
    if made.already_so && writes_tenant(c.kind) {
        return Inverse::Skip(ALREADY_SO.into());
    }
    let base = |kind: ChangeKind, fields: Vec<FieldChange>, detail: Value| PlannedChange {
        seq: 0,
        okta_user_id: c.okta_user_id.clone(),
        user_label: c.user_label.clone(),
        kind,
        target: c.target.clone(),
        fields,
        warning: None,
        detail: Some(detail),
    };
    match c.kind {
        ChangeKind::DisableUser => {
            Inverse::Change(base(ChangeKind::EnableUser, Vec::new(), detail_entra(c)))
        }
        ChangeKind::EnableUser => {
            Inverse::Change(base(ChangeKind::DisableUser, Vec::new(), detail_entra(c)))
        }
        ChangeKind::RemoveLicenses => {
            let removed = c
                .detail
                .as_ref()
                .and_then(|d| d.get("remove"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if removed.is_empty() {
                return Inverse::Skip("The run recorded no license it removed".into());
            }
            let add: Vec<Value> = removed
                .iter()
                .map(|l| {
                    json!({
                        "skuId": l.get("skuId").cloned().unwrap_or(Value::Null),
                        "skuPartNumber": l.get("skuPartNumber").cloned().unwrap_or(Value::Null),
                        "disabledPlans": l.get("disabledPlans").cloned().unwrap_or_else(|| json!([])),
                        "disabledPlanNames": l.get("disabledPlanNames").cloned().unwrap_or_else(|| json!([])),
                    })
                })
                .collect();
            let mut detail = json!({ "add": add, "source": "snapshot" });
            if let Some(id) = entra_id(c) {
                detail["entraId"] = json!(id);
            }
            Inverse::Change(base(ChangeKind::AssignLicense, Vec::new(), detail))
        }
        ChangeKind::AssignLicense => {
            let added = c
                .detail
                .as_ref()
                .and_then(|d| d.get("add"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if added.is_empty() {
                return Inverse::Skip("The run recorded no license it added".into());
            }
            // A SKU the user already held directly with other disabled plans (`replaces`) is
            // assigned back with those plans; only the SKUs the run added are removed.
            let (replaced, new): (Vec<&Value>, Vec<&Value>) =
                added.iter().partition(|l| l.get("replaces").is_some());
            let remove: Vec<Value> = new
                .iter()
                .map(|l| {
                    json!({
                        "skuId": l.get("skuId").cloned().unwrap_or(Value::Null),
                        "skuPartNumber": l.get("skuPartNumber").cloned().unwrap_or(Value::Null),
                        "disabledPlans": l.get("disabledPlans").cloned().unwrap_or_else(|| json!([])),
                    })
                })
                .collect();
            let restore: Vec<Value> = replaced
                .iter()
                .map(|l| {
                    json!({
                        "skuId": l.get("skuId").cloned().unwrap_or(Value::Null),
                        "skuPartNumber": l.get("skuPartNumber").cloned().unwrap_or(Value::Null),
                        "disabledPlans": l
                            .get("replaces")
                            .and_then(|r| r.get("disabledPlans"))
                            .cloned()
                            .unwrap_or_else(|| json!([])),
                        "disabledPlanNames": [],
                    })
                })
                .collect();
            let with_entra = |mut detail: Value| {
                if let Some(id) = entra_id(c) {
                    detail["entraId"] = json!(id);
                }
                detail
            };
            let mut changes = Vec::new();
            if !remove.is_empty() {
                changes.push(base(
                    ChangeKind::RemoveLicenses,
                    Vec::new(),
                    with_entra(json!({ "remove": remove })),
                ));
            }
            if !restore.is_empty() {
                changes.push(base(
                    ChangeKind::AssignLicense,
                    Vec::new(),
                    with_entra(json!({ "add": restore, "source": "undo" })),
                ));
            }
            Inverse::Changes(changes)
        }
        ChangeKind::ScheduleStage => {
            let stage = stages.iter().find(|s| {
                s.scheduled_by_run == made.run_id && s.scheduled_by_seq == i64::from(c.seq)
            });
            match stage {
                Some(s) if s.status == "pending" => Inverse::Change(base(
                    ChangeKind::CancelStage,
                    Vec::new(),
                    json!({ "stageId": s.id, "dueAt": s.due_at.to_string() }),
                )),
                // It ran: its license removal is undone with the stage run's steps.
                Some(_) => Inverse::Nothing,
                None => Inverse::Skip("The stage this run scheduled is no longer recorded".into()),
            }
        }
        ChangeKind::CancelStage => {
            let stage_id = c
                .detail
                .as_ref()
                .and_then(|d| d.get("stageId"))
                .and_then(Value::as_i64);
            let Some(stage) = stage_id.and_then(|id| stages.iter().find(|s| s.id == id)) else {
                return Inverse::Skip("The stage this run cancelled is no longer recorded".into());
            };
            let due = if stage.due_at > now {
                stage.due_at
            } else {
                now.checked_add(SignedDuration::from_secs(RESCHEDULE_SECS))
                    .unwrap_or(now)
            };
            let delay = now.duration_since(due).as_secs().unsigned_abs().max(1);
            Inverse::Change(PlannedChange {
                target: c.target.clone(),
                ..base(
                    ChangeKind::ScheduleStage,
                    Vec::new(),
                    json!({
                        "kind": stage.kind,
                        "dueAt": due.to_string(),
                        "delaySecs": delay,
                        "entraId": stage.entra_id,
                    }),
                )
            })
        }
        ChangeKind::SetUsageLocation => {
            let field = c.fields.iter().find(|f| f.field == "usageLocation");
            match field.and_then(|f| f.from.clone()) {
                Some(old) => Inverse::Change(base(
                    ChangeKind::SetUsageLocation,
                    vec![FieldChange {
                        field: "usageLocation".into(),
                        from: field.and_then(|f| f.to.clone()),
                        to: Some(old),
                    }],
                    detail_entra(c),
                )),
                None => Inverse::Skip(
                    "The user had no usage location before; Microsoft 365 cannot clear it while \
                     licenses need it, so it is left as set"
                        .into(),
                ),
            }
        }
        ChangeKind::UpdateUser => {
            let fields: Vec<FieldChange> = c
                .fields
                .iter()
                .map(|f| FieldChange {
                    field: f.field.clone(),
                    from: f.to.clone(),
                    to: f.from.clone(),
                })
                .collect();
            Inverse::Change(PlannedChange {
                detail: c.detail.clone(),
                ..base(ChangeKind::UpdateUser, fields, Value::Null)
            })
        }
        ChangeKind::RevokeSessions => Inverse::Skip(
            "Signing the user out cannot be undone; the user signs in again once the account is enabled"
                .into(),
        ),
        ChangeKind::SnapshotLicenses => {
            Inverse::Skip("The saved licenses are kept; saving them changed nothing on the tenant".into())
        }
        ChangeKind::EmailManager => Inverse::Skip("An email cannot be unsent".into()),
        ChangeKind::DeleteSession
        | ChangeKind::CreateSession
        | ChangeKind::BulkUpsert
        | ChangeKind::BulkDelete
        | ChangeKind::StartImport
        | ChangeKind::AwaitSession => Inverse::Skip(
            "An import is not undone; import the source again with the records changed back".into(),
        ),
        ChangeKind::CreateUser => Inverse::Skip(
            "A created account is not deleted by an undo; delete it in Entra if it is not wanted".into(),
        ),
        ChangeKind::InviteGuest => Inverse::Skip(
            "An invitation cannot be taken back by an undo; delete the guest in Entra if it is not wanted"
                .into(),
        ),
        ChangeKind::LinkUser | ChangeKind::LinkGuest => {
            Inverse::Skip("A link to an existing account is kept".into())
        }
        ChangeKind::DeleteUser => Inverse::Skip(
            "A deleted account is not restored by an undo; restore it from Entra's deleted users \
             (within 30 days)"
                .into(),
        ),
    }
}

fn skipped_of(made: &Made, reason: String) -> PlannedChange {
    PlannedChange {
        seq: 0,
        warning: Some(reason),
        ..made.change.clone()
    }
}

impl Engine {
    /// Plans the undo of a finished run: a new run of the same operation and profile (trigger `undo`,
    /// stored `planned`, guarded as usual) with the inverse of each change the run made, newest first.
    /// Refused for a run that is not finished, an undo run, and a run already undone.
    #[instrument(skip(self), err)]
    pub async fn plan_undo(&self, run_id: &str) -> Result<RunPlan> {
        let id = parse_run_id(run_id)?;
        let (record, steps, undone_by) = self
            .db(move |store| Ok((store.run(id)?, store.run_steps(id)?, store.undo_of_run(id)?)))
            .await?;
        let record = record.ok_or_else(|| {
            Error::invalid(format!(
                "No run has the id \"{run_id}\". List the runs with `okta365 runs list`."
            ))
        })?;
        if !matches!(record.status.as_str(), "succeeded" | "partial" | "failed") {
            return Err(Error::invalid(format!(
                "Run {id} is {}; only a finished run (succeeded, partial or failed) can be undone.",
                record.status
            )));
        }
        if record.trigger == RunTrigger::Undo.as_str() || record.undo_of.is_some() {
            return Err(Error::invalid(format!(
                "Run {id} is itself an undo; plan the original run's operation again instead of undoing \
                 the undo."
            )));
        }
        if let Some(by) = undone_by {
            return Err(Error::invalid(format!(
                "Run {id} was already undone by run {} ({}). Discard that run first to plan a new undo.",
                by.id, by.status
            )));
        }
        let plan = stored_plan(&record)?;
        let profile = self.find_by_id(record.profile_id).await?;
        let profile_id = profile.id;
        let stages = self.db(move |store| store.stages(profile_id, &[])).await?;
        let mut made_all = made(&record, &steps)?;
        if plan.operation == OperationId::Deactivation {
            // The stage runs this run scheduled: their license removals are undone too.
            let stage_runs: Vec<Uuid> = stages
                .iter()
                .filter(|s| s.scheduled_by_run == id)
                .filter_map(|s| s.run_id)
                .collect();
            for stage_run in stage_runs {
                let (r, s) = self
                    .db(move |store| Ok((store.run(stage_run)?, store.run_steps(stage_run)?)))
                    .await?;
                if let Some(r) = r {
                    made_all.extend(made(&r, &s)?);
                }
            }
        }
        let ctx = RunContext::load(self, profile).await?;
        let now = self.tenant_now(&ctx.profile).await?;
        let mut planned = Planned::default();
        for m in made_all.iter().rev() {
            match inverse(m, &stages, now) {
                Inverse::Change(c) => planned.changes.push(c),
                Inverse::Changes(cs) => planned.changes.extend(cs),
                Inverse::Skip(reason) => planned.skipped.push(skipped_of(m, reason)),
                Inverse::Nothing => {}
            }
        }
        if planned.changes.iter().any(|c| c.kind.is_destructive()) {
            let role = if plan.operation == OperationId::Guests {
                GroupRole::Guests
            } else {
                GroupRole::Assignments
            };
            planned.members = ctx.group_members(role).await?.len() as u32;
        }
        let users: BTreeSet<String> = planned
            .changes
            .iter()
            .chain(planned.skipped.iter())
            .map(|c| c.okta_user_id.clone())
            .collect();
        let undo = self
            .record_plan(
                &ctx,
                plan.operation,
                RunTrigger::Undo,
                &Scope::Users(users.into_iter().collect()),
                planned,
                PlanOptions {
                    undo_of: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        let undo_id = parse_run_id(&undo.run_id)?;
        self.db(move |store| store.set_run_undo_of(undo_id, Some(id)))
            .await?;
        tracing::info!(run_id = %id, undo_run_id = %undo_id, changes = undo.changes.len(), "undo planned");
        Ok(undo)
    }
}
