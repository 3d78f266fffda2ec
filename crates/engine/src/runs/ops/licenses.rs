//! licenses (docs/licensing.md "Operations" 1): every linked member of the assignments group (in
//! scope) whose Microsoft account is enabled gets the group's SKUs (the Licenses step's mapping) as
//! direct licenses. A SKU held directly with the same disabled plans is left as is; with other disabled
//! plans it is assigned again (which replaces them; the plans held before are recorded in the entry's
//! `replaces`, for undo); held only through an Entra group it is left alone and reported (the group
//! named when the app can read groups, else its id). Before the assignment a user without a usage location gets the profile's default one
//! (none: reported); seats are counted down along the plan from the live `subscribedSkus`, and a user
//! who would exceed them is reported, not planned.

use serde_json::{Value, json};

use super::{
    Planned,
    lifecycle_steps::{self, Inputs, NO_USAGE_LOCATION, change, skipped},
};
use crate::{
    error::Result,
    runs::{ChangeKind, context::RunContext, context::Scope},
};

/// Plans the licenses of the members in `scope`.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx
        .group_members(crate::setup::groups::GroupRole::Assignments)
        .await?;
    let mut planned = Planned {
        members: members.len() as u32,
        ..Planned::default()
    };
    let mut linked = Vec::new();
    for member in members.iter().filter(|m| scope.includes(m.id.as_str())) {
        let id = member.id.as_str();
        let label = &member.profile.login;
        match ctx.member_links.get(id) {
            Some(link) => linked.push((id.to_owned(), label.clone(), link.entra_id.clone())),
            None => planned.skipped.push(skipped(
                id,
                label,
                ChangeKind::AssignLicense,
                label,
                "No Microsoft account yet: run Member accounts first",
            )),
        }
    }
    if linked.is_empty() {
        return Ok(planned);
    }
    let ids: Vec<String> = linked.iter().map(|(_, _, e)| e.clone()).collect();
    let mut inputs = Inputs::load_with(ctx, members.clone(), &ids).await?;
    if inputs.mapping.is_empty() {
        tracing::info!("no license is mapped to the assignments group; nothing to assign");
        return Ok(planned);
    }
    let wanted = inputs.mapping.clone();
    for (okta_id, label, entra) in linked {
        let Some(user) = inputs.users.get(&entra).cloned() else {
            planned.skipped.push(skipped(
                &okta_id,
                &label,
                ChangeKind::AssignLicense,
                &entra,
                "The linked Microsoft account no longer exists; run Member accounts again.",
            ));
            continue;
        };
        if user.account_enabled == Some(false) {
            continue;
        }
        plan_user(
            ctx,
            &mut inputs,
            &mut planned,
            &okta_id,
            &label,
            &user,
            &wanted,
            "mapping",
        )
        .await;
    }
    Ok(planned)
}

/// Plans the licenses `wanted` for one user (the pre-flights, then `setUsageLocation`? and
/// `assignLicense`); returns whether an assignment was planned. Shared with activation.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn plan_user(
    ctx: &RunContext,
    inputs: &mut Inputs,
    planned: &mut Planned,
    okta_id: &str,
    label: &str,
    user: &okta365_graph::licenses::LicensedUser,
    wanted: &[okta365_graph::licenses::AssignedLicense],
    source: &str,
) -> bool {
    let upn = user.user_principal_name.as_str();
    let needs = lifecycle_steps::needs(user, wanted);
    for (sku, group) in &needs.inherited {
        // Named when the app can read groups (GET /groups/{id}); else the group's id.
        let group = inputs.group_label(ctx, group).await;
        planned.skipped.push(skipped(
            okta_id,
            label,
            ChangeKind::AssignLicense,
            upn,
            format!(
                "{}: licensed by the Entra group {group}; left alone",
                inputs.friendly(sku)
            ),
        ));
    }
    let unknown: Vec<&str> = needs
        .add
        .iter()
        .filter(|l| inputs.sku(&l.sku_id).is_none())
        .map(|l| l.sku_id.as_str())
        .collect();
    if !unknown.is_empty() {
        planned.skipped.push(skipped(
            okta_id,
            label,
            ChangeKind::AssignLicense,
            upn,
            format!(
                "The license {} is not among the tenant's subscriptions; refresh the Licenses step and \
                 choose the group's licenses again.",
                unknown.join(", ")
            ),
        ));
        return false;
    }
    if needs.add.is_empty() {
        return false;
    }
    let location = if lifecycle_steps::has_usage_location(user) {
        None
    } else {
        match ctx
            .default_usage_location
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            Some(code) => Some(code.to_owned()),
            None => {
                planned.skipped.push(skipped(
                    okta_id,
                    label,
                    ChangeKind::AssignLicense,
                    upn,
                    NO_USAGE_LOCATION,
                ));
                return false;
            }
        }
    };
    if let Err(report) = inputs.take_seats(&needs.new_skus) {
        planned.skipped.push(skipped(
            okta_id,
            label,
            ChangeKind::AssignLicense,
            upn,
            report,
        ));
        return false;
    }
    if let Some(code) = location {
        planned.changes.push(lifecycle_steps::usage_location_change(
            okta_id, label, user, &code,
        ));
    }
    // A SKU held directly with other disabled plans is replaced: the plans held now are recorded, so
    // an undo assigns them back instead of removing a license the run did not add.
    let add: Vec<Value> = needs
        .add
        .iter()
        .map(|l| {
            let mut entry = inputs.add_entry(l);
            if let Some((_, old)) = needs
                .replaces
                .iter()
                .find(|(sku, _)| sku.eq_ignore_ascii_case(&l.sku_id))
            {
                entry["replaces"] = json!({ "disabledPlans": old });
            }
            entry
        })
        .collect();
    planned.changes.push(change(
        okta_id,
        label,
        ChangeKind::AssignLicense,
        upn,
        json!({ "add": add, "source": source, "entraId": user.id }),
    ));
    true
}

pub(crate) use super::lifecycle_steps::{execute, found, prepare};
