//! guests (docs/provisioning.md "Plans and runs", flows.md §4.2): members of the guests group without a
//! guest link are matched by `mail` among the tenant's guests (`userType eq 'Guest'`) and linked, else
//! invited (`POST /invitations`); guest links whose Okta user left the group are removed from the tenant:
//! `deleteUser`, or with `disableThenDelete` first `disableUser` (sign-in blocked) and, on a later
//! reconcile, `deleteUser`.
//!
//! What must stay true: a guest is never invited twice (the match by mail runs at plan time and again
//! just before the write), an invitation's redeem URL is never journaled (whoever holds it can redeem
//! the invitation), and an address in one of the tenant's own verified domains is not invited (Entra
//! refuses to invite its own users).

use std::collections::HashSet;

use okta365_graph::{
    User as GraphUser,
    invitations::{Invitation, InvitationCreated, invite_guest},
    users::{delete_user, update_user},
};
use okta365_store::runs::LinkRecord;
use serde_json::{Value, json};

use super::{LinkChange, Planned, Prepared, StepResult, profile_sync::live_accounts};
use crate::{
    error::Result,
    runs::{
        ChangeKind, FieldChange, PlannedChange, StepStatus,
        context::{RunContext, Scope, graph_error},
        settings::GuestRemoval,
    },
    setup::groups::GroupRole,
};

fn field(name: &str, to: Option<String>) -> FieldChange {
    FieldChange {
        field: name.to_owned(),
        from: None,
        to,
    }
}

fn field_value<'a>(change: &'a PlannedChange, name: &str) -> Option<&'a str> {
    change
        .fields
        .iter()
        .find(|f| f.field == name)
        .and_then(|f| f.to.as_deref())
}

/// The guests of the tenant whose `mail` is `email`.
async fn guests_with_mail(ctx: &RunContext, email: &str) -> Result<Vec<GraphUser>> {
    ctx.graph
        .users_where("mail", email, true)
        .await
        .map_err(|e| graph_error(&format!("Looking for a guest with mail {email}"), e))
}

fn found_json(user: &GraphUser) -> Value {
    json!({
        "id": user.id,
        "userPrincipalName": user.user_principal_name,
        "mail": user.mail,
        "userType": user.user_type,
        "accountEnabled": user.account_enabled,
    })
}

/// Plans the invites, links and removals of the guests in scope.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx.group_members(GroupRole::Guests).await?;
    let mut planned = Planned {
        members: members.len() as u32,
        ..Planned::default()
    };
    let member_ids: HashSet<&str> = members.iter().map(|u| u.id.as_str()).collect();
    let s = &ctx.settings;
    for user in members.iter().filter(|u| scope.includes(u.id.as_str())) {
        if ctx.guest_links.contains_key(user.id.as_str()) {
            continue;
        }
        let email = user
            .profile
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_ascii_lowercase);
        let base = PlannedChange {
            seq: 0,
            okta_user_id: user.id.as_str().to_owned(),
            user_label: user.profile.login.clone(),
            kind: ChangeKind::InviteGuest,
            target: email.clone().unwrap_or_default(),
            fields: Vec::new(),
            warning: None,
            detail: None,
        };
        let Some(email) = email else {
            planned.skipped.push(PlannedChange {
                warning: Some(
                    "The Okta user has no email, and a guest is invited by email. Add an email to the \
                     Okta profile, or remove the user from the guests group."
                        .to_owned(),
                ),
                ..base
            });
            continue;
        };
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        if domain.is_empty() || ctx.domains.is_verified(domain) {
            planned.skipped.push(PlannedChange {
                warning: Some(if domain.is_empty() {
                    format!("The Okta email {email:?} is not an email address; fix it in Okta.")
                } else {
                    format!(
                        "{email} is in {domain}, a verified domain of the Microsoft tenant, so it cannot be \
                         invited as a guest. Give the user a member account (the assignments group) \
                         instead, or use the person's external address."
                    )
                }),
                ..base
            });
            continue;
        }
        let found = guests_with_mail(ctx, &email).await?;
        if let Some(guest) = found.first() {
            planned.changes.push(PlannedChange {
                kind: ChangeKind::LinkGuest,
                fields: vec![
                    field("id", guest.id.as_ref().map(|i| i.as_str().to_owned())),
                    field("userPrincipalName", guest.user_principal_name.clone()),
                ],
                warning: (found.len() > 1).then(|| {
                    format!(
                        "{} guests have the mail {email}; the first one ({}) is linked. Delete the others \
                         in Entra if they are duplicates.",
                        found.len(),
                        guest.user_principal_name.as_deref().unwrap_or("?")
                    )
                }),
                ..base
            });
            continue;
        }
        let display_name = user
            .profile
            .display_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| {
                let full = [
                    user.profile.first_name.clone(),
                    user.profile.last_name.clone(),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                (!full.trim().is_empty()).then_some(full)
            });
        planned.changes.push(PlannedChange {
            kind: ChangeKind::InviteGuest,
            fields: vec![
                field("invitedUserEmailAddress", Some(email.clone())),
                field("invitedUserDisplayName", display_name),
                field("inviteRedirectUrl", Some(s.guest_redirect_url.clone())),
                field(
                    "sendInvitationMessage",
                    Some(s.guest_send_invitation.to_string()),
                ),
            ],
            ..base
        });
    }

    // Guest links whose Okta user left the group.
    let mut leaving: Vec<&LinkRecord> = ctx
        .guest_links
        .values()
        .filter(|l| {
            scope.includes(&l.okta_user_id) && !member_ids.contains(l.okta_user_id.as_str())
        })
        .collect();
    leaving.sort_by(|a, b| a.okta_user_id.cmp(&b.okta_user_id));
    if leaving.is_empty() {
        return Ok(planned);
    }
    let live = live_accounts(ctx, &leaving).await?;
    for link in leaving {
        let label_of = |l: &LinkRecord| {
            l.mail
                .clone()
                .or_else(|| l.upn.clone())
                .unwrap_or_else(|| l.entra_id.clone())
        };
        let account = live.get(&link.entra_id);
        let disable_first = s.guest_removal == GuestRemoval::DisableThenDelete
            && account.is_some_and(|a| a.account_enabled != Some(false));
        let (kind, fields) = if disable_first {
            (
                ChangeKind::DisableUser,
                vec![FieldChange {
                    field: "accountEnabled".into(),
                    from: Some("true".into()),
                    to: Some("false".into()),
                }],
            )
        } else {
            (ChangeKind::DeleteUser, Vec::new())
        };
        planned.changes.push(PlannedChange {
            seq: 0,
            okta_user_id: link.okta_user_id.clone(),
            user_label: label_of(link),
            kind,
            target: account
                .and_then(|a| a.user_principal_name.clone())
                .or_else(|| link.upn.clone())
                .unwrap_or_else(|| label_of(link)),
            fields,
            warning: match (account, kind) {
                (None, _) => Some(
                    "The guest account is already gone from the tenant; applying only forgets the link."
                        .to_owned(),
                ),
                (Some(_), ChangeKind::DisableUser) => Some(
                    "Sign-in is blocked now; the account is deleted by a later reconcile (guest removal: \
                     disable, then delete)."
                        .to_owned(),
                ),
                _ => None,
            },
            detail: None,
        });
    }
    Ok(planned)
}

/// The write of a change (an invitation, a delete, a disable), or a link without a write.
pub(crate) async fn prepare(ctx: &RunContext, change: &PlannedChange) -> Prepared {
    match change.kind {
        ChangeKind::LinkGuest => {
            let Some(id) = field_value(change, "id") else {
                return Prepared::Finished(StepResult::failed(
                    "The plan has no Entra object id for the guest to link.",
                    "Plan Guests again.",
                ));
            };
            Prepared::Finished(StepResult::done(
                json!({ "linked": id }),
                Some(LinkChange::Set {
                    kind: "guest",
                    entra_id: id.to_owned(),
                    upn: field_value(change, "userPrincipalName").map(str::to_owned),
                    mail: Some(change.target.clone()),
                }),
            ))
        }
        ChangeKind::InviteGuest => {
            let invitation = Invitation {
                email: field_value(change, "invitedUserEmailAddress")
                    .unwrap_or(&change.target)
                    .to_owned(),
                display_name: field_value(change, "invitedUserDisplayName").map(str::to_owned),
                redirect_url: field_value(change, "inviteRedirectUrl")
                    .map(str::to_owned)
                    .unwrap_or_else(|| ctx.settings.guest_redirect_url.clone()),
                send_message: field_value(change, "sendInvitationMessage")
                    .map(|v| v == "true")
                    .unwrap_or(ctx.settings.guest_send_invitation),
            };
            Prepared::Write {
                summary: json!({ "method": "POST", "path": "/invitations", "body": invitation.body() }),
                write: invite_guest(&invitation),
            }
        }
        ChangeKind::DeleteUser | ChangeKind::DisableUser => {
            let Some(link) = ctx.guest_links.get(&change.okta_user_id) else {
                return Prepared::Finished(StepResult::done(
                    json!({ "note": "no guest link any more; nothing to remove" }),
                    None,
                ));
            };
            let id = &link.entra_id;
            if change.kind == ChangeKind::DeleteUser {
                Prepared::Write {
                    summary: json!({ "method": "DELETE", "path": format!("/users/{id}") }),
                    write: delete_user(id),
                }
            } else {
                let body = json!({ "accountEnabled": false });
                Prepared::Write {
                    summary: json!({ "method": "PATCH", "path": format!("/users/{id}"), "body": body }),
                    write: update_user(id, body),
                }
            }
        }
        other => Prepared::Finished(StepResult::failed(
            format!("A {} change is not a guests change.", other.as_str()),
            "Plan Guests again.",
        )),
    }
}

/// The step's result from the write's answer.
pub(crate) fn complete(
    ctx: &RunContext,
    change: &PlannedChange,
    summary: Value,
    answer: &okta365_graph::batch::WriteResponse,
) -> StepResult {
    match change.kind {
        ChangeKind::InviteGuest => {
            // Only the fields kept by InvitationCreated: never the redeem URL.
            let created = InvitationCreated::from_body(&answer.body);
            let response = created
                .as_ref()
                .map(|c| serde_json::to_value(c).expect("an invitation serializes"))
                .unwrap_or(Value::Null);
            let mut result = StepResult::from_write(summary, answer, response);
            if result.status == StepStatus::Done {
                match created.as_ref().and_then(|c| c.guest_id()) {
                    Some(id) => {
                        result.link = Some(LinkChange::Set {
                            kind: "guest",
                            entra_id: id.to_owned(),
                            upn: None,
                            mail: Some(change.target.clone()),
                        });
                    }
                    None => {
                        result.status = StepStatus::Failed;
                        result.vendor_message = Some(
                            "Graph answered the invitation without the invited user's id.".into(),
                        );
                        result.fix = Some(
                            "Plan Guests again: the guest is then found by mail and linked.".into(),
                        );
                    }
                }
            }
            result
        }
        ChangeKind::DeleteUser => {
            if answer.status == 404 {
                // Gone already (deleted in Entra since the plan): the removal is made.
                let id = ctx
                    .guest_links
                    .get(&change.okta_user_id)
                    .map(|l| l.entra_id.clone());
                return StepResult {
                    request: summary,
                    http_status: Some(404),
                    request_id: answer.request_id.clone(),
                    ..StepResult::superseded(
                        json!({ "id": id, "deleted": true }),
                        Some(LinkChange::Remove { kind: "guest" }),
                    )
                };
            }
            let mut result = StepResult::from_write(summary, answer, json!({ "deleted": true }));
            if result.status == StepStatus::Done {
                result.link = Some(LinkChange::Remove { kind: "guest" });
            }
            result
        }
        ChangeKind::DisableUser => {
            StepResult::from_write(summary, answer, json!({ "accountEnabled": false }))
        }
        _ => StepResult::from_write(summary, answer, Value::Null),
    }
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

/// Whether the change is already made: a guest with the mail exists (invite, link), the account is
/// gone (delete), sign-in is already blocked (disable).
pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    match change.kind {
        ChangeKind::InviteGuest | ChangeKind::LinkGuest => {
            let email = field_value(change, "invitedUserEmailAddress").unwrap_or(&change.target);
            Ok(guests_with_mail(ctx, email).await?.first().map(found_json))
        }
        ChangeKind::DeleteUser | ChangeKind::DisableUser => {
            let Some(link) = ctx.guest_links.get(&change.okta_user_id) else {
                return Ok(Some(json!({ "note": "no guest link any more" })));
            };
            let live = live_accounts(ctx, &[link]).await?;
            Ok(match live.get(&link.entra_id) {
                None => Some(json!({ "id": link.entra_id, "deleted": true })),
                Some(a)
                    if change.kind == ChangeKind::DisableUser
                        && a.account_enabled == Some(false) =>
                {
                    Some(found_json(a))
                }
                Some(_) => None,
            })
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_fields_read_back_from_the_plan() {
        let change = PlannedChange {
            seq: 1,
            okta_user_id: "00u1".into(),
            user_label: "gabriel@corp.example".into(),
            kind: ChangeKind::InviteGuest,
            target: "gabriel@corp.example".into(),
            fields: vec![
                field(
                    "invitedUserEmailAddress",
                    Some("gabriel@corp.example".into()),
                ),
                field("invitedUserDisplayName", None),
                field("sendInvitationMessage", Some("false".into())),
            ],
            warning: None,
            detail: None,
        };
        assert_eq!(
            field_value(&change, "invitedUserEmailAddress"),
            Some("gabriel@corp.example")
        );
        assert_eq!(field_value(&change, "invitedUserDisplayName"), None);
        assert_eq!(field_value(&change, "inviteRedirectUrl"), None);
    }
}
