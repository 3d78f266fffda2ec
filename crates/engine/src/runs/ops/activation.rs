//! activation (docs/licensing.md "Operations" 3): linked members of the assignments group (in scope)
//! whose Microsoft account is disabled, or who have a pending stage. Per user: `cancelStage` (when one
//! is pending), `enableUser` (when disabled), `setUsageLocation`? (pre-flight), `assignLicense` of the
//! snapshot's SKUs the user lacks (source `snapshot`; the group's mapping when there is no snapshot to
//! restore, source `mapping`; seats checked as for licenses) and `emailManager` (stage `activated`).
//! The snapshot is marked restored once its `assignLicense` is done, or, when the user still holds
//! every license of the snapshot, once the user's enable (else the stage's cancellation) is done.

use okta365_graph::licenses::AssignedLicense;
use serde_json::json;

use super::{
    Planned,
    lifecycle_steps::{self, Inputs, MailTimes, change},
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

/// Plans the activation of the members in `scope`.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx
        .group_members(crate::setup::groups::GroupRole::Assignments)
        .await?;
    let mut planned = Planned {
        members: members.len() as u32,
        ..Planned::default()
    };
    let linked: Vec<(String, String, String)> = members
        .iter()
        .filter(|m| scope.includes(m.id.as_str()))
        .filter_map(|m| {
            let link = ctx.member_links.get(m.id.as_str())?;
            Some((
                m.id.as_str().to_owned(),
                m.profile.login.clone(),
                link.entra_id.clone(),
            ))
        })
        .collect();
    if linked.is_empty() {
        return Ok(planned);
    }
    let ids: Vec<String> = linked.iter().map(|(_, _, e)| e.clone()).collect();
    let mut inputs = Inputs::load_with(ctx, members, &ids).await?;
    let now = lifecycle_steps::tenant_now(ctx).await?;
    for (okta_id, label, entra) in linked {
        let Some(user) = inputs.users.get(&entra).cloned() else {
            continue;
        };
        let profile = ctx.profile.id;
        let (okta, okta2) = (okta_id.clone(), okta_id.clone());
        let (pending, snapshot) = ctx
            .engine
            .db(move |store| {
                Ok((
                    store.pending_stage_for(profile, &okta)?,
                    store.snapshot(profile, &okta2)?,
                ))
            })
            .await?;
        let disabled = user.account_enabled == Some(false);
        if !disabled && pending.is_none() {
            continue;
        }
        let upn = user.user_principal_name.clone();
        let snapshot = snapshot.filter(|s| s.restored_at.is_none());
        let (wanted, source) = match &snapshot {
            Some(s) => (
                lifecycle_steps::snapshot_licenses(s)
                    .into_iter()
                    .map(|l| AssignedLicense {
                        sku_id: l.sku_id,
                        disabled_plans: l.disabled_plans,
                    })
                    .collect::<Vec<_>>(),
                "snapshot",
            ),
            None => (inputs.mapping.clone(), "mapping"),
        };
        // The user still holds every license of the snapshot: nothing is assigned, so the user's last
        // change here (the enable, else the cancellation) marks the snapshot restored once done; a later
        // deactivation then saves the licenses afresh.
        let restores = snapshot.is_some() && lifecycle_steps::needs(&user, &wanted).add.is_empty();
        if let Some(stage) = &pending {
            let mut detail = json!({ "stageId": stage.id, "dueAt": stage.due_at.to_string() });
            if restores && !disabled {
                detail[lifecycle_steps::RESTORES_SNAPSHOT] = json!(true);
            }
            planned.changes.push(change(
                &okta_id,
                &label,
                ChangeKind::CancelStage,
                &upn,
                detail,
            ));
        }
        if disabled {
            let mut detail = json!({ "entraId": user.id });
            if restores {
                detail[lifecycle_steps::RESTORES_SNAPSHOT] = json!(true);
            }
            planned.changes.push(change(
                &okta_id,
                &label,
                ChangeKind::EnableUser,
                &upn,
                detail,
            ));
        }
        super::licenses::plan_user(
            ctx,
            &mut inputs,
            &mut planned,
            &okta_id,
            &label,
            &user,
            &wanted,
            source,
        )
        .await;
        let licenses: Vec<lifecycle_steps::SnapLicense> = wanted
            .iter()
            .map(|l| lifecycle_steps::SnapLicense {
                sku_id: l.sku_id.clone(),
                sku_part_number: inputs.part_number(&l.sku_id),
                disabled_plans: l.disabled_plans.clone(),
            })
            .collect();
        let okta_user = inputs
            .members
            .iter()
            .find(|m| m.id.as_str() == okta_id)
            .cloned();
        match lifecycle_steps::plan_email(
            ctx,
            &inputs,
            okta_user.as_ref(),
            &okta_id,
            &label,
            MailStage::Activated,
            MailTimes {
                disabled_at: snapshot.as_ref().map(|s| s.taken_at),
                activated_at: Some(now),
                ..MailTimes::default()
            },
            &licenses,
        )
        .await?
        {
            Ok(email) => planned.changes.push(email),
            Err(report) => planned.skipped.push(report),
        }
    }
    Ok(planned)
}
