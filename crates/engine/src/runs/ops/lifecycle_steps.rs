//! The change kinds of the licensing lifecycle (docs/licensing.md "Operations"), shared by the
//! licenses, deactivation and activation operations and by undo runs of any of them: what each kind
//! plans with (the planning inputs, seats, usage location and email pre-flights), writes (`prepare` /
//! `complete` for the `$batch` path, `execute` alone) and finds already done (`found`).
//!
//! - Graph writes: `enableUser` / `disableUser` / `setUsageLocation` (PATCH), `assignLicense` /
//!   `removeLicenses` (assignLicense), `revokeSessions`. An `assignLicense` restoring a snapshot (or an
//!   activation change flagged `restoresSnapshot`) is sent alone, so the snapshot is marked restored
//!   once the write is done (or found done).
//! - Local steps (no write; idempotent): `snapshotLicenses` (upsert), `scheduleStage` (insert-or-ignore
//!   on the scheduling step), `cancelStage` (only from pending).
//! - `emailManager`: sent alone with `sendMail`; the body is rendered at execute time, the subject is
//!   the planned one (what the Sent Items search of a resume looks for). Never sent twice: a resumed
//!   step is looked up in the sender's Sent Items; when they cannot be read it fails without re-sending.

use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};
use okta365_graph::{
    SubscribedSku,
    batch::{GraphWrite, WriteResponse},
    licenses::{AssignedLicense, LicensedUser, assign_license, revoke_sessions},
    licenses::{set_account_enabled, set_usage_location},
    mail::MailMessage,
};
use okta365_store::{
    lifecycle::{SnapshotRecord, StageRecord},
    runs::RunStepRecord,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Prepared, StepResult};
use crate::{
    dto::OperationId,
    error::{Error, Result},
    runs::{
        ChangeKind, FieldChange, PlannedChange, StepStatus,
        context::{RunContext, graph_error},
        lifecycle_dto::{LifecycleSettings, MailStage},
    },
    setup::groups::GroupRole,
};

/// The fix of an email step whose sending could not be checked after an interruption.
pub(crate) const UNVERIFIED_EMAIL_FIX: &str = "okta365 could not tell whether this email went out \
     before the interruption (reading the sender's Sent Items needs Mail.ReadBasic.All); it was not sent \
     again. Check the sender's Sent Items.";

/// The kind a stage of a staged deactivation has.
pub(crate) const REMOVE_LICENSES_STAGE: &str = "removeLicenses";

// ---- the lifecycle settings, managers and mail rendering (runs/lifecycle.rs), in one place ----

mod lc {
    use super::*;
    pub(crate) use crate::runs::lifecycle::{MailValues, Manager};

    pub(crate) async fn settings(ctx: &RunContext) -> Result<LifecycleSettings> {
        crate::runs::lifecycle::load_settings(&ctx.engine, &ctx.profile).await
    }

    pub(crate) async fn manager(
        ctx: &RunContext,
        user: &okta365_okta::User,
    ) -> Result<std::result::Result<Manager, String>> {
        let key = user.profile.manager_id.clone().unwrap_or_default();
        if !key.trim().is_empty()
            && let Some(known) = ctx.managers.lock().expect("manager cache lock").get(&key)
        {
            return Ok(known.clone());
        }
        let found = crate::runs::lifecycle::manager_of(&ctx.okta, user).await?;
        if !key.trim().is_empty() {
            ctx.managers
                .lock()
                .expect("manager cache lock")
                .insert(key, found.clone());
        }
        Ok(found)
    }

    pub(crate) fn render(
        settings: &LifecycleSettings,
        stage: MailStage,
        values: &MailValues,
    ) -> (String, String) {
        crate::runs::lifecycle::render(settings.templates.of(stage), values)
    }

    pub(crate) async fn now(ctx: &RunContext) -> Result<Timestamp> {
        ctx.engine.tenant_now(&ctx.profile).await
    }
}

// ---- planning ----

/// One license of a snapshot (`license_snapshots.licenses`) or of a `removeLicenses` detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SnapLicense {
    pub sku_id: String,
    #[serde(default)]
    pub sku_part_number: String,
    #[serde(default)]
    pub disabled_plans: Vec<String>,
}

/// What the three operations plan with: the assignments group, the linked users' license states,
/// the live SKUs with seats counted down along the plan, the group's license mapping and the
/// lifecycle settings.
pub(crate) struct Inputs {
    /// Members of the assignments group.
    pub members: Vec<okta365_okta::User>,
    /// The linked Entra users read, by object id.
    pub users: HashMap<String, LicensedUser>,
    /// Live `subscribedSkus`.
    pub skus: Vec<SubscribedSku>,
    /// Seats free per SKU id (lower case), counted down along the plan.
    free: HashMap<String, i64>,
    /// The assignments role's SKUs (the Licenses step's mapping).
    pub mapping: Vec<AssignedLicense>,
    /// The lifecycle settings.
    pub settings: LifecycleSettings,
    /// Entra group names by id (lower case), read once each: `None` when the group cannot be read.
    group_names: HashMap<String, Option<String>>,
    /// The app cannot read groups (403): the ids are reported without asking again.
    groups_unreadable: bool,
}

impl Inputs {
    /// Reads the given linked Entra users, the SKUs, the mapping and the settings (the members
    /// already read).
    pub(crate) async fn load_with(
        ctx: &RunContext,
        members: Vec<okta365_okta::User>,
        entra_ids: &[String],
    ) -> Result<Inputs> {
        let users = if entra_ids.is_empty() {
            HashMap::new()
        } else {
            ctx.graph
                .users()
                .licensed_in(entra_ids)
                .await
                .map_err(|e| graph_error("Reading the users' licenses (GET /users)", e))?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect()
        };
        let skus =
            ctx.graph.subscribed_skus().list().await.map_err(|e| {
                graph_error("Reading the tenant's licenses (GET /subscribedSkus)", e)
            })?;
        let free = skus
            .iter()
            .map(|s| {
                (
                    s.sku_id.as_str().to_ascii_lowercase(),
                    s.prepaid_units.enabled - s.consumed_units,
                )
            })
            .collect();
        let id = ctx.profile.id;
        let mapping = ctx
            .engine
            .db(move |store| store.license_assignments(id))
            .await?
            .into_iter()
            .filter(|a| a.role == GroupRole::Assignments.as_str())
            .map(|a| AssignedLicense {
                sku_id: a.sku_id,
                disabled_plans: a.disabled_plans,
            })
            .collect();
        let settings = lc::settings(ctx).await?;
        Ok(Inputs {
            members,
            users,
            skus,
            free,
            mapping,
            settings,
            group_names: HashMap::new(),
            groups_unreadable: false,
        })
    }

    /// The Entra group a license is inherited from, in words: its display name, else its id (an app
    /// without a group read permission, a group gone, or any other problem reading it).
    pub(crate) async fn group_label(&mut self, ctx: &RunContext, id: &str) -> String {
        let key = id.to_ascii_lowercase();
        if let Some(name) = self.group_names.get(&key) {
            return name.clone().unwrap_or_else(|| id.to_owned());
        }
        if self.groups_unreadable {
            return id.to_owned();
        }
        let name = match ctx.graph.group_name(id).await {
            Ok(group) => group.display_name.filter(|n| !n.trim().is_empty()),
            Err(e) => {
                if matches!(e.status(), Some(401 | 403)) {
                    self.groups_unreadable = true;
                } else if e.status() != Some(404) {
                    tracing::warn!(group = id, error = %e, "the Entra group could not be read; reported by id");
                }
                None
            }
        };
        self.group_names.insert(key, name.clone());
        name.unwrap_or_else(|| id.to_owned())
    }

    /// The live SKU with this id.
    pub(crate) fn sku(&self, sku_id: &str) -> Option<&SubscribedSku> {
        self.skus
            .iter()
            .find(|s| s.sku_id.as_str().eq_ignore_ascii_case(sku_id))
    }

    /// The SKU's part number ("" when the tenant no longer has it).
    pub(crate) fn part_number(&self, sku_id: &str) -> String {
        self.sku(sku_id)
            .map(|s| s.sku_part_number.clone())
            .unwrap_or_default()
    }

    /// The SKU in words: the product name, else the part number, else the id.
    pub(crate) fn friendly(&self, sku_id: &str) -> String {
        let part = self.part_number(sku_id);
        friendly_name(&part, sku_id)
    }

    /// Takes one seat of each SKU in `new_skus` (SKUs the user does not hold at all), or says which
    /// SKU has none left (taking nothing).
    pub(crate) fn take_seats(&mut self, new_skus: &[String]) -> std::result::Result<(), String> {
        for sku in new_skus {
            let free = self
                .free
                .get(&sku.to_ascii_lowercase())
                .copied()
                .unwrap_or(0);
            if free <= 0 {
                let (consumed, enabled) = self
                    .sku(sku)
                    .map(|s| (s.consumed_units, s.prepaid_units.enabled))
                    .unwrap_or((0, 0));
                let taken = enabled - free.max(0);
                return Err(format!(
                    "No free seat in {} ({} of {enabled} used)",
                    self.friendly(sku),
                    taken.max(consumed)
                ));
            }
        }
        for sku in new_skus {
            if let Some(free) = self.free.get_mut(&sku.to_ascii_lowercase()) {
                *free -= 1;
            }
        }
        Ok(())
    }

    /// The `add` entry of an `assignLicense` detail.
    pub(crate) fn add_entry(&self, license: &AssignedLicense) -> Value {
        let names: Vec<String> = license
            .disabled_plans
            .iter()
            .map(|plan| {
                self.sku(&license.sku_id)
                    .and_then(|s| {
                        s.service_plans
                            .iter()
                            .find(|p| p.service_plan_id.eq_ignore_ascii_case(plan))
                    })
                    .map(|p| p.service_plan_name.clone())
                    .unwrap_or_else(|| plan.clone())
            })
            .collect();
        json!({
            "skuId": license.sku_id,
            "skuPartNumber": self.part_number(&license.sku_id),
            "disabledPlans": license.disabled_plans,
            "disabledPlanNames": names,
        })
    }
}

/// A SKU in words: the product name of its part number, else the part number, else the id.
pub(crate) fn friendly_name(part_number: &str, sku_id: &str) -> String {
    match okta365_graph::product_name(part_number) {
        Some(name) => name.to_owned(),
        None if !part_number.is_empty() => part_number.to_owned(),
        None => sku_id.to_owned(),
    }
}

fn same_plans(a: &[String], b: &[String]) -> bool {
    let lower =
        |v: &[String]| -> HashSet<String> { v.iter().map(|p| p.to_ascii_lowercase()).collect() };
    lower(a) == lower(b)
}

/// Which of the wanted licenses a user needs added, and the inherited-only ones left alone (with the
/// group each comes from).
pub(crate) struct LicenseNeeds {
    /// To add (or to replace: direct with other disabled plans).
    pub add: Vec<AssignedLicense>,
    /// Of those, the SKUs the user does not hold at all (each takes a seat).
    pub new_skus: Vec<String>,
    /// Of those, the SKUs the user holds directly with other disabled plans: (SKU id, the disabled
    /// plans held now), what an undo assigns back.
    pub replaces: Vec<(String, Vec<String>)>,
    /// (SKU id, group id) of wanted SKUs held only through a group.
    pub inherited: Vec<(String, String)>,
}

/// The licenses of `wanted` the user lacks.
pub(crate) fn needs(user: &LicensedUser, wanted: &[AssignedLicense]) -> LicenseNeeds {
    let mut out = LicenseNeeds {
        add: Vec::new(),
        new_skus: Vec::new(),
        replaces: Vec::new(),
        inherited: Vec::new(),
    };
    for license in wanted {
        match user.direct_license(&license.sku_id) {
            Some(direct) if same_plans(&direct.disabled_plans, &license.disabled_plans) => {}
            Some(direct) => {
                out.add.push(license.clone());
                out.replaces
                    .push((license.sku_id.clone(), direct.disabled_plans.clone()));
            }
            None => {
                let group = user
                    .inherited_licenses()
                    .find(|s| s.sku_id.eq_ignore_ascii_case(&license.sku_id))
                    .and_then(|s| s.assigned_by_group.clone());
                match group {
                    Some(group) => out.inherited.push((license.sku_id.clone(), group)),
                    None => {
                        out.add.push(license.clone());
                        out.new_skus.push(license.sku_id.clone());
                    }
                }
            }
        }
    }
    out
}

/// A planned change of a lifecycle kind (no fields, no warning).
pub(crate) fn change(
    okta_user_id: &str,
    label: &str,
    kind: ChangeKind,
    target: &str,
    detail: Value,
) -> PlannedChange {
    PlannedChange {
        seq: 0,
        okta_user_id: okta_user_id.to_owned(),
        user_label: label.to_owned(),
        kind,
        target: target.to_owned(),
        fields: Vec::new(),
        warning: None,
        detail: Some(detail),
    }
}

/// A skipped change with its warning.
pub(crate) fn skipped(
    okta_user_id: &str,
    label: &str,
    kind: ChangeKind,
    target: &str,
    warning: impl Into<String>,
) -> PlannedChange {
    PlannedChange {
        warning: Some(warning.into()),
        detail: None,
        ..change(okta_user_id, label, kind, target, Value::Null)
    }
}

/// The `setUsageLocation` change.
pub(crate) fn usage_location_change(
    okta_user_id: &str,
    label: &str,
    user: &LicensedUser,
    code: &str,
) -> PlannedChange {
    PlannedChange {
        fields: vec![FieldChange {
            field: "usageLocation".into(),
            from: None,
            to: Some(code.to_owned()),
        }],
        ..change(
            okta_user_id,
            label,
            ChangeKind::SetUsageLocation,
            &user.user_principal_name,
            json!({ "entraId": user.id }),
        )
    }
}

/// Whether the user has a usage location.
pub(crate) fn has_usage_location(user: &LicensedUser) -> bool {
    user.usage_location
        .as_deref()
        .is_some_and(|u| !u.trim().is_empty())
}

/// The report of a user without a usage location and no default.
pub(crate) const NO_USAGE_LOCATION: &str =
    "No usage location and no default set in the Licenses step";

/// The Okta user of a change (a member, or read from Okta); `None` when Okta no longer has it.
pub(crate) async fn okta_user(
    ctx: &RunContext,
    members: &[okta365_okta::User],
    okta_user_id: &str,
) -> Result<Option<okta365_okta::User>> {
    if let Some(m) = members.iter().find(|m| m.id.as_str() == okta_user_id) {
        return Ok(Some(m.clone()));
    }
    match ctx.okta.users().get(okta_user_id).await {
        Ok(user) => Ok(Some(user)),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(crate::setup::groups::okta_error(
            &format!("Reading the Okta user {okta_user_id}"),
            e,
            "okta.users.read",
        )),
    }
}

/// The friendly names of a user's licenses for an email: the snapshot's, else the live direct ones.
fn license_names(inputs_skus: &[SubscribedSku], licenses: &[SnapLicense]) -> Vec<String> {
    licenses
        .iter()
        .map(|l| {
            let part = if l.sku_part_number.is_empty() {
                inputs_skus
                    .iter()
                    .find(|s| s.sku_id.as_str().eq_ignore_ascii_case(&l.sku_id))
                    .map(|s| s.sku_part_number.clone())
                    .unwrap_or_default()
            } else {
                l.sku_part_number.clone()
            };
            friendly_name(&part, &l.sku_id)
        })
        .collect()
}

/// The user's direct licenses as snapshot entries.
pub(crate) fn direct_snapshot(skus: &[SubscribedSku], user: &LicensedUser) -> Vec<SnapLicense> {
    user.direct_licenses()
        .map(|l| SnapLicense {
            sku_id: l.sku_id.clone(),
            sku_part_number: skus
                .iter()
                .find(|s| s.sku_id.as_str().eq_ignore_ascii_case(&l.sku_id))
                .map(|s| s.sku_part_number.clone())
                .unwrap_or_default(),
            disabled_plans: l.disabled_plans.clone(),
        })
        .collect()
}

/// The licenses a snapshot holds.
pub(crate) fn snapshot_licenses(snapshot: &SnapshotRecord) -> Vec<SnapLicense> {
    serde_json::from_str(&snapshot.licenses).unwrap_or_default()
}

/// What an email is rendered with, besides the user, manager and stage.
#[derive(Debug, Clone, Default)]
pub(crate) struct MailTimes {
    pub disabled_at: Option<Timestamp>,
    pub due_at: Option<Timestamp>,
    pub licenses_removed_at: Option<Timestamp>,
    pub activated_at: Option<Timestamp>,
}

/// Plans the manager email of `stage` for a user: the change, or the skipped report (the operation
/// not enabled, no sender, no manager).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn plan_email(
    ctx: &RunContext,
    inputs: &Inputs,
    user: Option<&okta365_okta::User>,
    okta_user_id: &str,
    label: &str,
    stage: MailStage,
    times: MailTimes,
    licenses: &[SnapLicense],
) -> Result<std::result::Result<PlannedChange, PlannedChange>> {
    let skip = |warning: String| {
        Ok(Err(skipped(
            okta_user_id,
            label,
            ChangeKind::EmailManager,
            label,
            warning,
        )))
    };
    if !ctx
        .profile
        .operations
        .iter()
        .any(|o| o == OperationId::ManagerEmail.as_str())
    {
        return skip(
            "Manager emails are off: the Manager email operation is not enabled on this profile, so the \
             manager is not told."
                .into(),
        );
    }
    let Some(sender) = inputs
        .settings
        .sender_mailbox
        .clone()
        .filter(|s| !s.trim().is_empty())
    else {
        return skip(
            "No sender mailbox is set in the lifecycle settings, so the manager is not emailed."
                .into(),
        );
    };
    let Some(user) = user else {
        return skip(
            "The Okta user no longer exists, so its manager is unknown: nobody is emailed".into(),
        );
    };
    let manager = match lc::manager(ctx, user).await? {
        Ok(m) => m,
        Err(problem) => return skip(problem),
    };
    let values = lc::MailValues {
        user: user.clone(),
        manager: Some(manager.clone()),
        stage,
        disabled_at: times.disabled_at,
        due_at: times.due_at,
        licenses_removed_at: times.licenses_removed_at,
        activated_at: times.activated_at,
        licenses: license_names(&inputs.skus, licenses),
        delay_secs: inputs.settings.delay_secs,
    };
    let (subject, _) = lc::render(&inputs.settings, stage, &values);
    Ok(Ok(change(
        okta_user_id,
        label,
        ChangeKind::EmailManager,
        &manager.email,
        json!({
            "stage": stage.as_str(),
            "to": manager.email,
            "managerLabel": manager.display_name,
            "subject": subject,
            "sender": sender,
        }),
    )))
}

/// The tenant's now, for plans.
pub(crate) async fn tenant_now(ctx: &RunContext) -> Result<Timestamp> {
    lc::now(ctx).await
}

// ---- execution ----

fn detail_str<'a>(change: &'a PlannedChange, key: &str) -> Option<&'a str> {
    change.detail.as_ref()?.get(key)?.as_str()
}

fn entra_id(change: &PlannedChange) -> Option<&str> {
    detail_str(change, "entraId")
}

fn adds(change: &PlannedChange) -> Vec<AssignedLicense> {
    change
        .detail
        .as_ref()
        .and_then(|d| d.get("add"))
        .and_then(|a| serde_json::from_value::<Vec<SnapLicense>>(a.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|l| AssignedLicense {
            sku_id: l.sku_id,
            disabled_plans: l.disabled_plans,
        })
        .collect()
}

fn removes(change: &PlannedChange) -> Vec<String> {
    change
        .detail
        .as_ref()
        .and_then(|d| d.get("remove"))
        .and_then(|a| serde_json::from_value::<Vec<SnapLicense>>(a.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|l| l.sku_id)
        .collect()
}

/// The detail key of an activation change that marks the snapshot restored once done (the user
/// still held every license of the snapshot, so no `assignLicense` does).
pub(crate) const RESTORES_SNAPSHOT: &str = "restoresSnapshot";

/// Whether the change marks the user's snapshot restored once done (or found done): an
/// `assignLicense` restoring it, or an activation change flagged [`RESTORES_SNAPSHOT`].
fn restores_snapshot(change: &PlannedChange) -> bool {
    (change.kind == ChangeKind::AssignLicense && detail_str(change, "source") == Some("snapshot"))
        || change
            .detail
            .as_ref()
            .and_then(|d| d.get(RESTORES_SNAPSHOT))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

fn summary_of(write: &GraphWrite) -> Value {
    json!({
        "method": write.method.as_str(),
        "path": format!("/{}", write.path),
        "body": write.body,
    })
}

/// The Graph write of a change of a Graph kind (`None` for the local kinds and emails).
fn graph_write(change: &PlannedChange) -> Option<std::result::Result<GraphWrite, StepResult>> {
    let missing = || {
        StepResult::failed(
            format!(
                "The planned change \"{}\" for {} lacks the Microsoft account it is for.",
                change.kind.verb(),
                change.user_label
            ),
            "Plan again.",
        )
    };
    let write = |f: &dyn Fn(&str) -> GraphWrite| Some(entra_id(change).map(f).ok_or_else(missing));
    match change.kind {
        ChangeKind::EnableUser => write(&|id| set_account_enabled(id, true)),
        ChangeKind::DisableUser => write(&|id| set_account_enabled(id, false)),
        ChangeKind::RevokeSessions => write(&|id| revoke_sessions(id)),
        ChangeKind::SetUsageLocation => {
            let code = change
                .fields
                .iter()
                .find(|f| f.field == "usageLocation")
                .and_then(|f| f.to.clone());
            match code {
                Some(code) => write(&|id| set_usage_location(id, &code)),
                None => Some(Err(missing())),
            }
        }
        ChangeKind::AssignLicense => {
            let add = adds(change);
            write(&|id| assign_license(id, &add, &[]))
        }
        ChangeKind::RemoveLicenses => {
            let remove = removes(change);
            write(&|id| assign_license(id, &[], &remove))
        }
        _ => None,
    }
}

/// The write of a change for the `$batch` path; `None`: execute it alone (emails, snapshot restores,
/// and the local steps, so that they too are journaled `started` before they act, after the writes
/// queued before them, with the journal's test pauses around them).
pub(crate) async fn prepare(_ctx: &RunContext, change: &PlannedChange) -> Option<Prepared> {
    match change.kind {
        ChangeKind::EmailManager => None,
        _ if restores_snapshot(change) => None,
        ChangeKind::SnapshotLicenses | ChangeKind::ScheduleStage | ChangeKind::CancelStage => None,
        _ => match graph_write(change) {
            Some(Ok(write)) => {
                let summary = summary_of(&write);
                Some(Prepared::Write { write, summary })
            }
            Some(Err(failed)) => Some(Prepared::Finished(failed)),
            None => Some(Prepared::Finished(StepResult::failed(
                format!(
                    "A licensing run cannot {}.",
                    change.kind.verb().to_lowercase()
                ),
                "Plan again.",
            ))),
        },
    }
}

/// The result of a Graph write from its answer.
pub(crate) fn complete(
    change: &PlannedChange,
    summary: Value,
    answer: &WriteResponse,
) -> StepResult {
    let body = &answer.body;
    let response = match change.kind {
        ChangeKind::EnableUser => json!({ "accountEnabled": true }),
        ChangeKind::DisableUser => json!({ "accountEnabled": false }),
        ChangeKind::SetUsageLocation => {
            json!({ "usageLocation": change.fields.first().and_then(|f| f.to.clone()) })
        }
        ChangeKind::AssignLicense | ChangeKind::RemoveLicenses => {
            json!({ "assignedLicenses": body.get("assignedLicenses").cloned().unwrap_or(Value::Null) })
        }
        ChangeKind::RevokeSessions => {
            json!({ "value": body.get("value").cloned().unwrap_or(Value::Null) })
        }
        _ => body.clone(),
    };
    StepResult::from_write(summary, answer, response)
}

/// Executes one change alone.
pub(crate) async fn execute(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    if change.kind == ChangeKind::EmailManager {
        return send_email(ctx, change).await;
    }
    if matches!(
        change.kind,
        ChangeKind::SnapshotLicenses | ChangeKind::ScheduleStage | ChangeKind::CancelStage
    ) {
        let result = local(ctx, change).await;
        if result.status == StepStatus::Done && restores_snapshot(change) {
            mark_restored(ctx, change).await;
        }
        return result;
    }
    let (write, summary) = match graph_write(change) {
        Some(Ok(write)) => {
            let summary = summary_of(&write);
            (write, summary)
        }
        Some(Err(failed)) => return failed,
        None => {
            return StepResult::failed(
                format!(
                    "A licensing run cannot {}.",
                    change.kind.verb().to_lowercase()
                ),
                "Plan again.",
            );
        }
    };
    let result = match ctx.graph.write(&write).await {
        Ok(answer) => complete(change, summary, &answer),
        Err(e) => StepResult::from_graph_error(summary, &e),
    };
    if result.status == StepStatus::Done && restores_snapshot(change) {
        mark_restored(ctx, change).await;
    }
    result
}

async fn mark_restored(ctx: &RunContext, change: &PlannedChange) {
    let (id, okta) = (ctx.profile.id, change.okta_user_id.clone());
    if let Err(e) = ctx
        .engine
        .db(move |store| store.mark_snapshot_restored(id, &okta, Timestamp::now()))
        .await
    {
        tracing::warn!(error = %e, "the restored snapshot could not be marked restored");
    }
}

/// The journal row of this change in the run being applied or resumed (`ctx.run_id`, set by the
/// journal), at the change's `seq`: the run id of local steps and the start time of a resumed email.
/// `None` outside an apply, or when the run has no such step.
async fn current_step(ctx: &RunContext, change: &PlannedChange) -> Result<Option<RunStepRecord>> {
    let Some(run_id) = ctx.run_id else {
        return Ok(None);
    };
    let seq = i64::from(change.seq);
    ctx.engine
        .db(move |store| store.run_step(run_id, seq))
        .await
}

fn local_failed(e: Error) -> StepResult {
    StepResult::failed(e.to_string(), "Check the message, then apply again.")
}

/// The local steps: snapshot, schedule, cancel.
async fn local(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    let result = match change.kind {
        ChangeKind::SnapshotLicenses => snapshot(ctx, change).await,
        ChangeKind::ScheduleStage => schedule(ctx, change).await,
        ChangeKind::CancelStage => cancel(ctx, change).await,
        _ => return StepResult::failed("Not a local step.", "Plan again."),
    };
    result.unwrap_or_else(local_failed)
}

async fn snapshot(ctx: &RunContext, change: &PlannedChange) -> Result<StepResult> {
    let Some(entra) = entra_id(change) else {
        return Ok(StepResult::failed(
            "The planned snapshot lacks the Microsoft account.",
            "Plan again.",
        ));
    };
    let user = ctx
        .graph
        .users()
        .licensed(entra)
        .await
        .map_err(|e| graph_error("Reading the user's licenses", e))?;
    let skus = ctx
        .graph
        .subscribed_skus()
        .list()
        .await
        .map_err(|e| graph_error("Reading the tenant's licenses (GET /subscribedSkus)", e))?;
    let licenses = direct_snapshot(&skus, &user);
    let run_id = ctx.run_id;
    let (profile, okta) = (ctx.profile.id, change.okta_user_id.clone());
    let existing = {
        let okta = okta.clone();
        ctx.engine
            .db(move |store| store.snapshot(profile, &okta))
            .await?
    };
    // Taken again (a resume): the same run's snapshot is kept; no licenses left: an older snapshot is
    // not replaced by an empty one.
    if let Some(existing) = existing.filter(|s| s.restored_at.is_none())
        && (licenses.is_empty() || (run_id.is_some() && existing.run_id == run_id))
    {
        return Ok(StepResult::done(
            json!({ "licenses": snapshot_licenses(&existing), "takenAt": existing.taken_at.to_string(), "kept": true }),
            None,
        ));
    }
    let now = Timestamp::now();
    let record = SnapshotRecord {
        profile_id: profile,
        okta_user_id: okta,
        entra_id: entra.to_owned(),
        licenses: serde_json::to_string(&licenses).expect("licenses serialize"),
        taken_at: now,
        run_id,
        restored_at: None,
    };
    ctx.engine
        .db(move |store| store.upsert_snapshot(&record))
        .await?;
    Ok(StepResult::done(
        json!({ "licenses": licenses, "takenAt": now.to_string() }),
        None,
    ))
}

async fn schedule(ctx: &RunContext, change: &PlannedChange) -> Result<StepResult> {
    let Some(entra) = entra_id(change).map(str::to_owned) else {
        return Ok(StepResult::failed(
            "The planned stage lacks the Microsoft account.",
            "Plan again.",
        ));
    };
    let Some(run_id) = ctx.run_id else {
        return Ok(StepResult::failed(
            "A stage is scheduled only while its run is applied.",
            "Plan again, then apply.",
        ));
    };
    let delay = match change
        .detail
        .as_ref()
        .and_then(|d| d.get("delaySecs"))
        .and_then(Value::as_u64)
    {
        Some(d) => d,
        None => lc::settings(ctx).await?.delay_secs,
    };
    let now = lc::now(ctx).await?;
    let due = now
        .checked_add(SignedDuration::from_secs(
            i64::try_from(delay).unwrap_or(i64::MAX),
        ))
        .unwrap_or(Timestamp::MAX);
    let record = StageRecord {
        id: 0,
        profile_id: ctx.profile.id,
        okta_user_id: change.okta_user_id.clone(),
        user_label: change.user_label.clone(),
        entra_id: entra,
        kind: REMOVE_LICENSES_STAGE.to_owned(),
        due_at: due,
        status: "pending".into(),
        scheduled_by_run: run_id,
        scheduled_by_seq: i64::from(change.seq),
        run_id: None,
        created_at: Timestamp::now(),
        started_at: None,
        finished_at: None,
        late_secs: None,
        cancel_reason: None,
    };
    let stored = ctx
        .engine
        .db(move |store| {
            let id = store.insert_stage(&record)?;
            store.stage(id)
        })
        .await?;
    Ok(match stored {
        Some(stage) => StepResult::done(
            json!({ "stageId": stage.id, "dueAt": stage.due_at.to_string(), "status": stage.status }),
            None,
        ),
        None => StepResult::failed("The stage was not stored.", "Apply again."),
    })
}

async fn cancel(ctx: &RunContext, change: &PlannedChange) -> Result<StepResult> {
    let Some(stage_id) = change
        .detail
        .as_ref()
        .and_then(|d| d.get("stageId"))
        .and_then(Value::as_i64)
    else {
        return Ok(StepResult::failed(
            "The planned cancellation lacks the stage.",
            "Plan again.",
        ));
    };
    let reason = detail_str(change, "reason")
        .unwrap_or("back in the assignments group")
        .to_owned();
    let (cancelled, stage) = ctx
        .engine
        .db(move |store| {
            let cancelled = store.cancel_stage(stage_id, &reason, Timestamp::now())?;
            Ok((cancelled, store.stage(stage_id)?))
        })
        .await?;
    Ok(match stage {
        None => StepResult::failed(
            format!("Stage {stage_id} no longer exists."),
            "Nothing to cancel; list the stages with `okta365 stages list`.",
        ),
        Some(stage) => StepResult::done(
            json!({ "stageId": stage_id, "cancelled": cancelled, "status": stage.status }),
            None,
        ),
    })
}

/// Sends a manager email: the body rendered now, the planned subject, recipient and sender.
async fn send_email(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    if ctx
        .unverified_emails
        .lock()
        .is_ok_and(|set| set.contains(&change.seq))
    {
        return StepResult::failed(
            "The email may have gone out before the interruption.",
            UNVERIFIED_EMAIL_FIX,
        );
    }
    match render_email(ctx, change).await {
        Ok(Ok((sender, message))) => {
            let summary = json!({
                "sender": sender,
                "to": message.to.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
                "subject": message.subject,
                "body": message.body,
            });
            match ctx.graph.send_mail(&sender, &message).await {
                Ok(answer) => StepResult::from_write(
                    summary,
                    &answer,
                    json!({ "status": answer.status, "sentTo": message.to.first().map(|(a, _)| a.clone()) }),
                ),
                Err(e) => {
                    let mut result = StepResult::from_graph_error(summary, &e);
                    if matches!(e.status(), Some(404)) {
                        result.fix = Some(format!(
                            "The sender mailbox {sender} cannot send mail (no such user, or no mailbox). Set a \
                             mailbox that exists in the lifecycle settings."
                        ));
                    } else if matches!(e.status(), Some(401 | 403)) {
                        result.fix = Some(
                            "okta365's app needs the Microsoft Graph application permission Mail.Send, with \
                             admin consent."
                                .into(),
                        );
                    }
                    result
                }
            }
        }
        Ok(Err(failed)) => failed,
        Err(e) => local_failed(e),
    }
}

async fn render_email(
    ctx: &RunContext,
    change: &PlannedChange,
) -> Result<std::result::Result<(String, MailMessage), StepResult>> {
    let stage = detail_str(change, "stage").and_then(MailStage::parse);
    let (Some(stage), Some(to), Some(subject), Some(sender)) = (
        stage,
        detail_str(change, "to"),
        detail_str(change, "subject"),
        detail_str(change, "sender"),
    ) else {
        return Ok(Err(StepResult::failed(
            "The planned email lacks its stage, recipient, subject or sender.",
            "Plan again.",
        )));
    };
    let settings = lc::settings(ctx).await?;
    let Some(user) = okta_user(ctx, &[], &change.okta_user_id).await? else {
        return Ok(Err(StepResult::failed(
            "The Okta user no longer exists, so the email cannot be written.",
            "Nothing to do; the manager is not emailed.",
        )));
    };
    let manager = match lc::manager(ctx, &user).await? {
        Ok(m) => m,
        Err(problem) => {
            return Ok(Err(StepResult::failed(
                problem,
                "Set the user's manager (with an email) in Okta, then plan again.",
            )));
        }
    };
    let now = lc::now(ctx).await?;
    let (profile, okta) = (ctx.profile.id, change.okta_user_id.clone());
    let snap = ctx
        .engine
        .db(move |store| store.snapshot(profile, &okta))
        .await?;
    let skus = ctx.graph.subscribed_skus().list().await.unwrap_or_default();
    let mut licenses: Vec<SnapLicense> = snap.as_ref().map(snapshot_licenses).unwrap_or_default();
    if licenses.is_empty()
        && let Some(link) = ctx.member_links.get(&change.okta_user_id)
        && let Ok(live) = ctx.graph.users().licensed(&link.entra_id).await
    {
        licenses = direct_snapshot(&skus, &live);
    }
    let delay = settings.delay_secs;
    let later = |at: Timestamp| {
        at.checked_add(SignedDuration::from_secs(
            i64::try_from(delay).unwrap_or(i64::MAX),
        ))
        .ok()
    };
    let taken = snap.as_ref().map(|s| s.taken_at);
    let times = match stage {
        MailStage::Disabled => MailTimes {
            disabled_at: Some(now),
            due_at: later(now),
            ..MailTimes::default()
        },
        MailStage::LicensesRemoved => MailTimes {
            disabled_at: taken,
            due_at: Some(now),
            licenses_removed_at: Some(now),
            ..MailTimes::default()
        },
        MailStage::Activated => MailTimes {
            disabled_at: taken,
            activated_at: Some(now),
            ..MailTimes::default()
        },
    };
    let values = lc::MailValues {
        user,
        manager: Some(manager.clone()),
        stage,
        disabled_at: times.disabled_at,
        due_at: times.due_at,
        licenses_removed_at: times.licenses_removed_at,
        activated_at: times.activated_at,
        licenses: license_names(&skus, &licenses),
        delay_secs: delay,
    };
    let (_, body) = lc::render(&settings, stage, &values);
    Ok(Ok((
        sender.to_owned(),
        MailMessage {
            to: vec![(to.to_owned(), Some(manager.display_name))],
            subject: subject.to_owned(),
            body,
        },
    )))
}

// ---- found ----

/// Whether a change of a Graph kind is already made on this user.
fn found_on(change: &PlannedChange, user: &LicensedUser) -> Option<Value> {
    match change.kind {
        ChangeKind::EnableUser => (user.account_enabled == Some(true))
            .then(|| json!({ "id": user.id, "accountEnabled": true })),
        ChangeKind::DisableUser => (user.account_enabled == Some(false))
            .then(|| json!({ "id": user.id, "accountEnabled": false })),
        ChangeKind::SetUsageLocation => has_usage_location(user)
            .then(|| json!({ "id": user.id, "usageLocation": user.usage_location })),
        ChangeKind::AssignLicense => {
            let add = adds(change);
            let all = !add.is_empty()
                && add.iter().all(|l| {
                    user.direct_license(&l.sku_id)
                        .is_some_and(|d| same_plans(&d.disabled_plans, &l.disabled_plans))
                });
            all.then(|| json!({ "id": user.id, "assignedLicenses": user.assigned_licenses }))
        }
        ChangeKind::RemoveLicenses => {
            let none = removes(change)
                .iter()
                .all(|sku| user.direct_license(sku).is_none());
            none.then(|| json!({ "id": user.id, "assignedLicenses": user.assigned_licenses }))
        }
        _ => None,
    }
}

fn checks_user(kind: ChangeKind) -> bool {
    matches!(
        kind,
        ChangeKind::EnableUser
            | ChangeKind::DisableUser
            | ChangeKind::SetUsageLocation
            | ChangeKind::AssignLicense
            | ChangeKind::RemoveLicenses
    )
}

/// Whether the change is already made (docs/licensing.md "found").
pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    if checks_user(change.kind) {
        let Some(entra) = entra_id(change) else {
            return Ok(None);
        };
        let user = match ctx.graph.users().licensed(entra).await {
            Ok(u) => u,
            Err(e) if e.status() == Some(404) => {
                return Ok((change.kind == ChangeKind::RemoveLicenses)
                    .then(|| json!({ "id": entra, "deleted": true })));
            }
            Err(e) => return Err(graph_error("Checking the user (GET /users)", e)),
        };
        let hit = found_on(change, &user);
        if hit.is_some() && restores_snapshot(change) {
            mark_restored(ctx, change).await;
        }
        return Ok(hit);
    }
    match change.kind {
        ChangeKind::EmailManager => email_found(ctx, change).await,
        // Revoking twice is harmless; the local steps are idempotent.
        _ => Ok(None),
    }
}

/// [`found`] for several changes: the users read 15 per request.
pub(crate) async fn found_many(
    ctx: &RunContext,
    changes: &[PlannedChange],
) -> Result<Vec<Option<Value>>> {
    let ids: Vec<String> = changes
        .iter()
        .filter(|c| checks_user(c.kind))
        .filter_map(|c| entra_id(c).map(str::to_owned))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let users: HashMap<String, LicensedUser> = if ids.is_empty() {
        HashMap::new()
    } else {
        ctx.graph
            .users()
            .licensed_in(&ids)
            .await
            .map_err(|e| graph_error("Checking the users (GET /users)", e))?
            .into_iter()
            .map(|u| (u.id.to_ascii_lowercase(), u))
            .collect()
    };
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        if checks_user(change.kind)
            && let Some(user) = entra_id(change).and_then(|id| users.get(&id.to_ascii_lowercase()))
        {
            let hit = found_on(change, user);
            if hit.is_some() && restores_snapshot(change) {
                mark_restored(ctx, change).await;
            }
            out.push(hit);
        } else {
            out.push(found(ctx, change).await?);
        }
    }
    Ok(out)
}

/// An email step left `started` by an interruption: found when the sender's Sent Items hold it (to
/// the manager, with the subject, since the step started less a minute). A step that never started
/// was not sent. Sent Items that cannot be read (403): the step fails without re-sending.
async fn email_found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    let Some(step) = current_step(ctx, change).await? else {
        return Ok(None);
    };
    let Some(started) = step.started_at.filter(|_| step.status == "started") else {
        return Ok(None);
    };
    let (Some(sender), Some(subject), Some(to)) = (
        detail_str(change, "sender"),
        detail_str(change, "subject"),
        detail_str(change, "to"),
    ) else {
        return Ok(None);
    };
    let since = started
        .checked_sub(SignedDuration::from_secs(60))
        .unwrap_or(started);
    match ctx.graph.sent_messages(sender, subject, since).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .find(|m| m.to.iter().any(|a| a.eq_ignore_ascii_case(to)))
            .map(|m| {
                json!({
                    "messageId": m.id,
                    "subject": m.subject,
                    "sentDateTime": m.sent_date_time.map(|t| t.to_string()),
                    "to": m.to,
                })
            })),
        Err(e) if matches!(e.status(), Some(401 | 403)) => {
            if let Ok(mut set) = ctx.unverified_emails.lock() {
                set.insert(change.seq);
            }
            Ok(None)
        }
        Err(e) => Err(graph_error("Reading the sender's Sent Items", e)),
    }
}
