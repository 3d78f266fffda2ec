//! profileSync (docs/provisioning.md "Plans and runs"): the linked members of the assignments group
//! whose mapped attributes differ from their Microsoft account get one `updateUser` each, a
//! `PATCH /users/{id}` of only the differing properties (an empty Okta value clears the property).
//!
//! Members without a link are memberAccounts' business and are left out; a link whose Microsoft account
//! is gone is skipped with the fix. The live check before a write (and on resume) reads the account
//! again: when every planned field already has its value, the change is found made.

use std::collections::HashMap;

use okta365_graph::{User as GraphUser, users::update_user};
use okta365_store::runs::LinkRecord;
use serde_json::{Map, Value, json};

use super::{Planned, Prepared, StepResult};
use crate::{
    error::Result,
    runs::{
        ChangeKind, FieldChange, PlannedChange,
        context::{RunContext, Scope, graph_error},
        settings::{graph_text, same_value},
    },
    setup::groups::GroupRole,
};

/// Above this many linked users a plan reads every user once instead of one query per user.
const READ_ONE_BY_ONE: usize = 20;

/// The live Microsoft accounts of these links, by Entra object id (absent: the account is gone).
pub(crate) async fn live_accounts(
    ctx: &RunContext,
    links: &[&LinkRecord],
) -> Result<HashMap<String, GraphUser>> {
    let users = if links.len() > READ_ONE_BY_ONE {
        ctx.graph
            .all_users()
            .await
            .map_err(|e| graph_error("Reading the Microsoft users (GET /users)", e))?
    } else {
        let mut found = Vec::new();
        for link in links {
            found.extend(
                ctx.graph
                    .users_where("id", &link.entra_id, false)
                    .await
                    .map_err(|e| {
                        graph_error(&format!("Reading the Microsoft account {}", label(link)), e)
                    })?,
            );
        }
        found
    };
    Ok(users
        .into_iter()
        .filter_map(|u| u.id.clone().map(|id| (id.as_str().to_owned(), u)))
        .collect())
}

fn label(link: &LinkRecord) -> String {
    link.upn.clone().unwrap_or_else(|| link.entra_id.clone())
}

/// The fields of `wanted` whose live value on `account` differs, in mapping order.
pub(crate) fn differing(
    wanted: impl IntoIterator<Item = (String, Option<String>)>,
    account: &GraphUser,
) -> Vec<FieldChange> {
    wanted
        .into_iter()
        .filter_map(|(field, to)| {
            let from = graph_text(account, &field);
            (!same_value(&field, from.as_deref(), to.as_deref())).then_some(FieldChange {
                field,
                from,
                to,
            })
        })
        .collect()
}

/// Plans the updates of the linked members in scope.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx.group_members(GroupRole::Assignments).await?;
    let linked: Vec<(&okta365_okta::User, &LinkRecord)> = members
        .iter()
        .filter(|u| scope.includes(u.id.as_str()))
        .filter_map(|u| ctx.member_links.get(u.id.as_str()).map(|l| (u, l)))
        .collect();
    let links: Vec<&LinkRecord> = linked.iter().map(|(_, l)| *l).collect();
    let live = live_accounts(ctx, &links).await?;
    let mut planned = Planned {
        members: members.len() as u32,
        ..Planned::default()
    };
    for (user, link) in linked {
        let base = PlannedChange {
            seq: 0,
            okta_user_id: user.id.as_str().to_owned(),
            user_label: user.profile.login.clone(),
            kind: ChangeKind::UpdateUser,
            target: label(link),
            fields: Vec::new(),
            warning: None,
            detail: None,
        };
        let Some(account) = live.get(&link.entra_id) else {
            planned.skipped.push(PlannedChange {
                warning: Some(format!(
                    "The Microsoft account {} linked to this Okta user no longer exists (deleted in \
                     Entra?). Run Member accounts to match or create it again; restore it from Deleted \
                     users within 30 days to keep its mailbox.",
                    label(link)
                )),
                ..base
            });
            continue;
        };
        // In the settings' mapping order, as the admin reads the mapping.
        let mut wanted = ctx.mapped_attributes(user);
        let ordered: Vec<(String, Option<String>)> = ctx
            .settings
            .attributes
            .iter()
            .filter_map(|a| wanted.remove(&a.graph).map(|v| (a.graph.clone(), v)))
            .collect();
        let fields = differing(ordered, account);
        if !fields.is_empty() {
            planned.changes.push(PlannedChange {
                target: account
                    .user_principal_name
                    .clone()
                    .unwrap_or_else(|| label(link)),
                fields,
                ..base
            });
        }
    }
    Ok(planned)
}

/// The `PATCH` body of a change: each planned field with its new value (`null` clears it).
fn patch_body(change: &PlannedChange) -> Value {
    let mut body = Map::new();
    for f in &change.fields {
        body.insert(
            f.field.clone(),
            f.to.clone().map(Value::String).unwrap_or(Value::Null),
        );
    }
    Value::Object(body)
}

/// The write of a change: `PATCH /users/{id}` of the linked account.
pub(crate) async fn prepare(ctx: &RunContext, change: &PlannedChange) -> Prepared {
    let Some(link) = ctx.member_links.get(&change.okta_user_id) else {
        return Prepared::Finished(StepResult::failed(
            format!(
                "{} has no linked Microsoft account any more, so there is nothing to update.",
                change.user_label
            ),
            "Run Member accounts for this user, then plan Profile sync again.",
        ));
    };
    let body = patch_body(change);
    let summary = json!({
        "method": "PATCH",
        "path": format!("/users/{}", link.entra_id),
        "body": body,
    });
    Prepared::Write {
        write: update_user(&link.entra_id, body),
        summary,
    }
}

/// The step's result from the `PATCH` answer (204 on success).
pub(crate) fn complete(
    _ctx: &RunContext,
    change: &PlannedChange,
    summary: Value,
    answer: &okta365_graph::batch::WriteResponse,
) -> StepResult {
    let fields: Vec<&str> = change.fields.iter().map(|f| f.field.as_str()).collect();
    StepResult::from_write(summary, answer, json!({ "updated": fields }))
}

/// Sends the change alone.
pub(crate) async fn execute(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    match prepare(ctx, change).await {
        Prepared::Finished(result) => result,
        Prepared::Write { write, summary } => match ctx.graph.write(&write).await {
            Ok(answer) => complete(ctx, change, summary, &answer),
            Err(e) => StepResult::from_graph_error(summary, &e),
        },
    }
}

/// The account when every planned field already has its planned value.
pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    let Some(link) = ctx.member_links.get(&change.okta_user_id) else {
        return Ok(None);
    };
    let live = live_accounts(ctx, &[link]).await?;
    let Some(account) = live.get(&link.entra_id) else {
        return Ok(None);
    };
    let done = change.fields.iter().all(|f| {
        same_value(
            &f.field,
            graph_text(account, &f.field).as_deref(),
            f.to.as_deref(),
        )
    });
    Ok(done.then(|| {
        let mut found = json!({
            "id": link.entra_id,
            "userPrincipalName": account.user_principal_name,
        });
        for f in &change.fields {
            found[&f.field] = f.to.clone().map(Value::String).unwrap_or(Value::Null);
        }
        found
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(v: Value) -> GraphUser {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_differing_fields_are_planned_and_empty_clears() {
        let live = account(json!({
            "id": "e1", "userPrincipalName": "jane@contoso.example",
            "displayName": "Jane Doe", "mail": "JANE@corp.example", "jobTitle": "Engineer",
            "city": null, "usageLocation": "US", "department": "R&D"
        }));
        let wanted = vec![
            ("displayName".to_owned(), Some("Jane Doe".to_owned())),
            ("mail".to_owned(), Some("jane@corp.example".to_owned())),
            ("jobTitle".to_owned(), Some("Staff Engineer".to_owned())),
            ("city".to_owned(), None),
            ("department".to_owned(), None),
            ("usageLocation".to_owned(), Some("us".to_owned())),
        ];
        let fields = differing(wanted, &live);
        assert_eq!(
            fields,
            vec![
                FieldChange {
                    field: "jobTitle".into(),
                    from: Some("Engineer".into()),
                    to: Some("Staff Engineer".into())
                },
                FieldChange {
                    field: "department".into(),
                    from: Some("R&D".into()),
                    to: None
                },
            ],
            "equal values (mail and usageLocation ignoring case) and null = null are not changes"
        );
        let change = PlannedChange {
            seq: 1,
            okta_user_id: "00u1".into(),
            user_label: "jane".into(),
            kind: ChangeKind::UpdateUser,
            target: "jane@contoso.example".into(),
            fields,
            warning: None,
            detail: None,
        };
        assert_eq!(
            patch_body(&change),
            json!({ "jobTitle": "Staff Engineer", "department": null }),
            "only the differing fields; an empty Okta value sends null"
        );
    }
}
