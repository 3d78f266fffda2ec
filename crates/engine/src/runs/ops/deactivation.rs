//! deactivation (docs/licensing.md "Operations" 2), a staged deactivation.
//!
//! Stage 1 ([`plan`]): linked member accounts (in scope) whose Okta user is not in the assignments
//! group and whose Microsoft account is enabled, or which still hold direct licenses and have no
//! pending stage. Per user, in order: `disableUser` (when enabled), `revokeSessions` (the setting),
//! `snapshotLicenses` (direct licenses and no unrestored snapshot), `emailManager` (stage `disabled`),
//! `scheduleStage` (due at the tenant's now + the delay, computed when the step executes).
//!
//! Stage 2 ([`plan_stage`], a run with trigger `schedule` started by the stage scheduler): the user back
//! in the group → the stage is cancelled; else `removeLicenses` (the direct licenses, never inherited
//! ones) and `emailManager` (stage `licensesRemoved`).

use jiff::SignedDuration;
use okta365_store::{lifecycle::StageRecord, runs::LinkRecord};
use serde_json::json;

use super::{
    Planned,
    lifecycle_steps::{self, Inputs, MailTimes, change, skipped},
};
use crate::{
    error::Result,
    runs::{
        ChangeKind,
        context::{RunContext, Scope},
        lifecycle_dto::MailStage,
    },
};

pub(crate) use super::lifecycle_steps::{execute, found, prepare};

/// What stage 2 does for one stage.
pub(crate) use crate::runs::stages::StagePlan;

/// Plans stage 1 for the users in `scope`.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx
        .group_members(crate::setup::groups::GroupRole::Assignments)
        .await?;
    let member_ids: std::collections::HashSet<&str> =
        members.iter().map(|m| m.id.as_str()).collect();
    let mut leaving: Vec<&LinkRecord> = ctx
        .member_links
        .values()
        .filter(|l| {
            scope.includes(&l.okta_user_id) && !member_ids.contains(l.okta_user_id.as_str())
        })
        .collect();
    leaving.sort_by(|a, b| a.okta_user_id.cmp(&b.okta_user_id));
    let mut planned = Planned {
        members: members.len() as u32,
        ..Planned::default()
    };
    if leaving.is_empty() {
        return Ok(planned);
    }
    let ids: Vec<String> = leaving.iter().map(|l| l.entra_id.clone()).collect();
    let inputs = Inputs::load_with(ctx, members.clone(), &ids).await?;
    let now = lifecycle_steps::tenant_now(ctx).await?;
    let delay = inputs.settings.delay_secs;
    let due = now
        .checked_add(SignedDuration::from_secs(
            i64::try_from(delay).unwrap_or(i64::MAX),
        ))
        .unwrap_or(jiff::Timestamp::MAX);
    for link in leaving {
        let okta_id = link.okta_user_id.as_str();
        let Some(user) = inputs.users.get(&link.entra_id) else {
            // The Microsoft account is gone: nothing to disable or unlicense.
            continue;
        };
        let profile = ctx.profile.id;
        let (okta, okta2) = (okta_id.to_owned(), okta_id.to_owned());
        let (pending, snapshot) = ctx
            .engine
            .db(move |store| {
                Ok((
                    store.pending_stage_for(profile, &okta)?,
                    store.snapshot(profile, &okta2)?,
                ))
            })
            .await?;
        let enabled = user.account_enabled != Some(false);
        let direct = lifecycle_steps::direct_snapshot(&inputs.skus, user);
        if !(enabled || (!direct.is_empty() && pending.is_none())) {
            continue;
        }
        let okta_user = lifecycle_steps::okta_user(ctx, &inputs.members, okta_id).await?;
        let label = okta_user
            .as_ref()
            .map(|u| u.profile.login.clone())
            .or_else(|| link.upn.clone())
            .unwrap_or_else(|| okta_id.to_owned());
        let upn = user.user_principal_name.as_str();
        let entra = json!({ "entraId": user.id });
        if enabled {
            planned.changes.push(change(
                okta_id,
                &label,
                ChangeKind::DisableUser,
                upn,
                entra.clone(),
            ));
        }
        if inputs.settings.revoke_sessions {
            planned.changes.push(change(
                okta_id,
                &label,
                ChangeKind::RevokeSessions,
                upn,
                entra.clone(),
            ));
        }
        let unrestored = snapshot.as_ref().is_some_and(|s| s.restored_at.is_none());
        if !direct.is_empty() && !unrestored {
            planned.changes.push(change(
                okta_id,
                &label,
                ChangeKind::SnapshotLicenses,
                upn,
                entra.clone(),
            ));
        }
        let licenses = if direct.is_empty() {
            snapshot
                .as_ref()
                .map(lifecycle_steps::snapshot_licenses)
                .unwrap_or_default()
        } else {
            direct.clone()
        };
        match lifecycle_steps::plan_email(
            ctx,
            &inputs,
            okta_user.as_ref(),
            okta_id,
            &label,
            MailStage::Disabled,
            MailTimes {
                disabled_at: Some(now),
                due_at: Some(due),
                ..MailTimes::default()
            },
            &licenses,
        )
        .await?
        {
            Ok(email) => planned.changes.push(email),
            Err(report) => planned.skipped.push(report),
        }
        if pending.is_none() {
            planned.changes.push(change(
                okta_id,
                &label,
                ChangeKind::ScheduleStage,
                upn,
                json!({
                    "kind": lifecycle_steps::REMOVE_LICENSES_STAGE,
                    "dueAt": due.to_string(),
                    "delaySecs": delay,
                    "entraId": user.id,
                }),
            ));
        }
    }
    Ok(planned)
}

/// Plans stage 2 of many stages of one profile at once (the group, the SKUs and the settings read
/// once, the users' licenses 15 per request): each stage's plan, by stage id, in the given order.
pub(crate) async fn plan_stages(
    ctx: &RunContext,
    stages: &[StageRecord],
) -> Result<Vec<(i64, StagePlan)>> {
    let members = ctx
        .group_members(crate::setup::groups::GroupRole::Assignments)
        .await?;
    let member_ids: std::collections::HashSet<String> =
        members.iter().map(|m| m.id.as_str().to_owned()).collect();
    let wanted: Vec<String> = stages
        .iter()
        .filter(|s| !member_ids.contains(&s.okta_user_id))
        .map(|s| s.entra_id.clone())
        .collect();
    let inputs = Inputs::load_with(ctx, members, &wanted).await?;
    let mut out = Vec::with_capacity(stages.len());
    for stage in stages {
        let plan = if member_ids.contains(&stage.okta_user_id) {
            StagePlan::Cancel("back in the assignments group".into())
        } else {
            match inputs.users.get(&stage.entra_id).cloned() {
                None => StagePlan::Cancel("the Microsoft account no longer exists".into()),
                Some(user) => plan_one_stage(ctx, &inputs, stage, user).await?,
            }
        };
        out.push((stage.id, plan));
    }
    Ok(out)
}

/// Stage 2 of one stage whose user is still out of the group, with the inputs read for all.
async fn plan_one_stage(
    ctx: &RunContext,
    inputs: &Inputs,
    stage: &StageRecord,
    user: okta365_graph::licenses::LicensedUser,
) -> Result<StagePlan> {
    let okta_id = stage.okta_user_id.as_str();
    let okta_user = lifecycle_steps::okta_user(ctx, &inputs.members, okta_id).await?;
    let label = okta_user
        .as_ref()
        .map(|u| u.profile.login.clone())
        .unwrap_or_else(|| stage.user_label.clone());
    let upn = user.user_principal_name.as_str();
    let mut planned = Planned {
        members: inputs.members.len() as u32,
        ..Planned::default()
    };
    for inherited in user.inherited_licenses() {
        planned.skipped.push(skipped(
            okta_id,
            &label,
            ChangeKind::RemoveLicenses,
            upn,
            format!(
                "{}: licensed by the Entra group {}; left alone",
                inputs.friendly(&inherited.sku_id),
                inherited.assigned_by_group.as_deref().unwrap_or("?")
            ),
        ));
    }
    let direct = lifecycle_steps::direct_snapshot(&inputs.skus, &user);
    if !direct.is_empty() {
        planned.changes.push(change(
            okta_id,
            &label,
            ChangeKind::RemoveLicenses,
            upn,
            json!({ "remove": direct, "entraId": user.id }),
        ));
    }
    let now = lifecycle_steps::tenant_now(ctx).await?;
    let profile = ctx.profile.id;
    let okta = okta_id.to_owned();
    let snapshot = ctx
        .engine
        .db(move |store| store.snapshot(profile, &okta))
        .await?;
    let licenses = if direct.is_empty() {
        snapshot
            .as_ref()
            .map(lifecycle_steps::snapshot_licenses)
            .unwrap_or_default()
    } else {
        direct
    };
    match lifecycle_steps::plan_email(
        ctx,
        inputs,
        okta_user.as_ref(),
        okta_id,
        &label,
        MailStage::LicensesRemoved,
        MailTimes {
            disabled_at: snapshot
                .as_ref()
                .map(|s| s.taken_at)
                .or(Some(stage.created_at)),
            due_at: Some(stage.due_at),
            licenses_removed_at: Some(now),
            ..MailTimes::default()
        },
        &licenses,
    )
    .await?
    {
        Ok(email) => planned.changes.push(email),
        Err(report) => planned.skipped.push(report),
    }
    Ok(StagePlan::Run(planned))
}
