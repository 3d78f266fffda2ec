//! Member accounts (docs/provisioning.md): every member of the assignments group without a member link
//! gets a Microsoft account. An existing account is matched first, by the mapped `userPrincipalName`
//! then by `mail`, and linked (`linkUser`), never duplicated; otherwise it is created (`createUser`,
//! `POST /users`) with the mapped attributes and a strong random initial password that is never
//! logged, stored or returned, to be changed at first sign-in unless the UPN's domain is federated.
//! Users whose username cannot be mapped are skipped with the problem as their warning.

use std::collections::{HashMap, HashSet};

use okta365_graph::{User, batch::WriteResponse, users::create_user};
use okta365_secrets::Secret;
use rand::{Rng, TryRngCore, rngs::OsRng, seq::SliceRandom};
use serde_json::{Map, Value, json};

use super::{LinkChange, Planned, Prepared, StepResult};
use crate::{
    error::Result,
    runs::{
        ChangeKind, FieldChange, PlannedChange,
        context::{RunContext, Scope, graph_error},
        usernames::{self, OktaName},
    },
    setup::groups::GroupRole,
};

/// Length of the initial passwords (Entra allows 8–256; 16+ is the contract's minimum).
pub const PASSWORD_LEN: usize = 20;

/// Plans the member accounts of the users in `scope`.
pub(crate) async fn plan(ctx: &RunContext, scope: &Scope) -> Result<Planned> {
    let members = ctx.group_members(GroupRole::Assignments).await?;
    let member_count = members.len() as u32;
    let todo: Vec<&okta365_okta::User> = members
        .iter()
        .filter(|m| scope.includes(m.id.as_str()))
        .filter(|m| !ctx.member_links.contains_key(m.id.as_str()))
        .collect();
    if todo.is_empty() {
        return Ok(Planned {
            members: member_count,
            ..Planned::default()
        });
    }
    let tenant = ctx
        .graph
        .all_users()
        .await
        .map_err(|e| graph_error("Reading the tenant's users (GET /users)", e))?;
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut by_upn: HashMap<String, &User> = HashMap::new();
    let mut by_mail: HashMap<String, &User> = HashMap::new();
    let mut nicknames: HashSet<String> = HashSet::new();
    for user in &tenant {
        if let Some(nick) = user.other.get("mailNickname").and_then(Value::as_str) {
            nicknames.insert(lower(nick));
        }
        if user.user_type.as_deref() == Some("Guest") {
            continue;
        }
        if let Some(upn) = &user.user_principal_name {
            by_upn.insert(lower(upn), user);
        }
        if let Some(mail) = &user.mail {
            by_mail.insert(lower(mail), user);
        }
    }
    let linked: HashMap<&str, &str> = ctx
        .member_links
        .values()
        .map(|l| (l.entra_id.as_str(), l.okta_user_id.as_str()))
        .collect();
    // The usernames of every member, so collisions with members out of scope are seen too.
    let names: Vec<OktaName> = members
        .iter()
        .map(|u| OktaName {
            okta_user_id: u.id.as_str().to_owned(),
            login: u.profile.login.clone(),
            email: u.profile.email.clone(),
        })
        .collect();
    let mapped: HashMap<String, usernames::Mapped> =
        usernames::map_usernames(&ctx.settings.username, &names, &ctx.domains.verified)
            .into_iter()
            .map(|m| (m.user.okta_user_id.clone(), m))
            .collect();

    let mut planned = Planned {
        members: member_count,
        ..Planned::default()
    };
    let mut claimed: HashSet<String> = HashSet::new();
    for member in todo {
        let id = member.id.as_str().to_owned();
        let label = member.profile.login.clone();
        let map = mapped.get(&id);
        let upn = map.and_then(|m| m.upn.clone());
        let email = member.profile.email.clone();
        let change = |kind, target: String, fields, warning| PlannedChange {
            seq: 0,
            okta_user_id: id.clone(),
            user_label: label.clone(),
            kind,
            target,
            fields,
            warning,
            detail: None,
        };
        // An existing account, by the mapped UPN then by mail.
        let existing = upn
            .as_deref()
            .and_then(|u| by_upn.get(&lower(u)))
            .or_else(|| email.as_deref().and_then(|m| by_mail.get(&lower(m))));
        if let Some(user) = existing {
            let entra_id = user.id.as_ref().map(|i| i.as_str().to_owned());
            let target = user
                .user_principal_name
                .clone()
                .or(entra_id.clone())
                .unwrap_or_default();
            let taken_by = entra_id
                .as_deref()
                .and_then(|e| linked.get(e).copied())
                .filter(|other| *other != id);
            let twice = entra_id
                .as_ref()
                .is_some_and(|e| !claimed.insert(e.clone()));
            if let Some(other) = taken_by {
                planned.skipped.push(change(
                    ChangeKind::LinkUser,
                    target.clone(),
                    vec![],
                    Some(format!(
                        "The Microsoft account {target} is already linked to another Okta user ({other}); \
                         fix the Okta user's email or username so each maps to its own account."
                    )),
                ));
            } else if twice {
                planned.skipped.push(change(
                    ChangeKind::LinkUser,
                    target.clone(),
                    vec![],
                    Some(format!(
                        "Another Okta user of this plan matches the Microsoft account {target} too; \
                         fix the Okta users' emails so each maps to its own account."
                    )),
                ));
            } else {
                planned.changes.push(change(
                    ChangeKind::LinkUser,
                    target,
                    vec![FieldChange {
                        field: "id".into(),
                        from: None,
                        to: entra_id,
                    }],
                    None,
                ));
            }
            continue;
        }
        let problem = map.and_then(|m| m.problem.as_ref()).map(|p| p.message());
        let Some(upn) = upn.filter(|_| problem.is_none()) else {
            planned.skipped.push(change(
                ChangeKind::CreateUser,
                map.and_then(|m| m.upn.clone()).unwrap_or(label.clone()),
                vec![],
                Some(problem.unwrap_or_else(|| {
                    "No Microsoft username could be built for this user; check the username format."
                        .into()
                })),
            ));
            continue;
        };
        let nickname = usernames::mail_nickname(&upn, &nicknames);
        nicknames.insert(lower(&nickname));
        let mut fields = vec![
            FieldChange {
                field: "userPrincipalName".into(),
                from: None,
                to: Some(upn.clone()),
            },
            FieldChange {
                field: "mailNickname".into(),
                from: None,
                to: Some(nickname),
            },
        ];
        let attributes = ctx.mapped_attributes(member);
        if !attributes.contains_key("displayName") {
            let name = member
                .profile
                .display_name
                .clone()
                .unwrap_or_else(|| upn.split('@').next().unwrap_or(&upn).to_owned());
            fields.push(FieldChange {
                field: "displayName".into(),
                from: None,
                to: Some(name),
            });
        }
        for (graph, value) in attributes {
            let value = match (graph.as_str(), value) {
                // displayName is required: fall back to the UPN's local part.
                ("displayName", None) => Some(upn.split('@').next().unwrap_or(&upn).to_owned()),
                (_, v) => v,
            };
            if value.is_some() {
                fields.push(FieldChange {
                    field: graph,
                    from: None,
                    to: value,
                });
            }
        }
        planned
            .changes
            .push(change(ChangeKind::CreateUser, upn, fields, None));
    }
    Ok(planned)
}

/// A strong random password: [`PASSWORD_LEN`] characters from the OS CSPRNG with upper and lower case
/// letters, digits and symbols (Entra's complexity rule asks for three of the four).
pub(crate) fn random_password() -> Secret {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"23456789";
    const SYMBOLS: &[u8] = b"!@#$%^&*-_=+?";
    let mut rng = OsRng.unwrap_err();
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS]
        .iter()
        .map(|set| set[rng.random_range(0..set.len())])
        .collect();
    while chars.len() < PASSWORD_LEN {
        chars.push(all[rng.random_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    Secret::new(String::from_utf8(chars).expect("ASCII"))
}

fn field<'a>(change: &'a PlannedChange, name: &str) -> Option<&'a str> {
    change
        .fields
        .iter()
        .find(|f| f.field == name)
        .and_then(|f| f.to.as_deref())
}

/// The write of a change: `POST /users` for a create; a link needs no write (the account is looked up
/// by id to make sure it still exists).
pub(crate) async fn prepare(ctx: &RunContext, change: &PlannedChange) -> Prepared {
    match change.kind {
        ChangeKind::CreateUser => {
            let upn = change.target.clone();
            let federated = upn
                .rsplit_once('@')
                .is_some_and(|(_, d)| ctx.domains.is_federated(d));
            let mut body = Map::new();
            body.insert("accountEnabled".into(), json!(true));
            for f in &change.fields {
                if let Some(to) = &f.to {
                    body.insert(f.field.clone(), json!(to));
                }
            }
            body.insert("userPrincipalName".into(), json!(upn));
            let mut summary = Value::Object(body.clone());
            summary["passwordProfile"] = json!({ "forceChangePasswordNextSignIn": !federated });
            let password = random_password();
            body.insert(
                "passwordProfile".into(),
                json!({ "password": password.expose(), "forceChangePasswordNextSignIn": !federated }),
            );
            Prepared::Write {
                write: create_user(Value::Object(body)),
                summary: json!({ "method": "POST", "path": "/users", "body": summary }),
            }
        }
        ChangeKind::LinkUser => match found(ctx, change).await {
            Ok(Some(user)) => {
                let link = super::link_from_found(change, &user);
                StepResult::done(user, link).into_prepared()
            }
            Ok(None) => StepResult::failed(
                format!("The Microsoft account {} no longer exists.", change.target),
                "Plan again: the user will get a new account or be matched with another one.",
            )
            .into_prepared(),
            Err(e) => StepResult::failed(e.to_string(), "Check the connection, then apply again.")
                .into_prepared(),
        },
        other => StepResult::failed(
            format!("A member accounts run cannot {}.", other.as_str()),
            "Plan again.",
        )
        .into_prepared(),
    }
}

impl StepResult {
    fn into_prepared(self) -> Prepared {
        Prepared::Finished(self)
    }
}

/// The result of a create from Graph's answer: the new account is linked.
pub(crate) fn complete(
    _ctx: &RunContext,
    _change: &PlannedChange,
    summary: Value,
    answer: &WriteResponse,
) -> StepResult {
    let text = |k: &str| {
        answer
            .body
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let response = json!({
        "id": text("id"),
        "userPrincipalName": text("userPrincipalName"),
        "mail": text("mail"),
    });
    let mut result = StepResult::from_write(summary, answer, response);
    if answer.is_success()
        && let Some(id) = text("id")
    {
        result.link = Some(LinkChange::Set {
            kind: "member",
            entra_id: id,
            upn: text("userPrincipalName"),
            mail: text("mail"),
        });
    }
    result
}

/// Executes one change alone.
pub(crate) async fn execute(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    match prepare(ctx, change).await {
        Prepared::Finished(result) => result,
        Prepared::Write { write, summary } => match ctx.graph.write(&write).await {
            Ok(answer) => complete(ctx, change, summary, &answer),
            Err(e) => StepResult::from_graph_error(summary, &e),
        },
    }
}

fn found_value(user: &User) -> Value {
    json!({
        "id": user.id.as_ref().map(|i| i.as_str()),
        "userPrincipalName": user.user_principal_name,
        "mail": user.mail,
        "displayName": user.display_name,
    })
}

/// The account the change would create or link, if it exists on the live tenant: by the UPN, then by
/// the mail planned (members only).
pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    let doing = "Checking the tenant for the account (GET /users)";
    let by_upn = ctx
        .graph
        .users_where("userPrincipalName", &change.target, false)
        .await
        .map_err(|e| graph_error(doing, e))?;
    if let Some(user) = by_upn.first() {
        return Ok(Some(found_value(user)));
    }
    if let Some(mail) = field(change, "mail") {
        let by_mail = ctx
            .graph
            .users_where("mail", mail, false)
            .await
            .map_err(|e| graph_error(doing, e))?;
        if let Some(user) = by_mail
            .iter()
            .find(|u| u.user_type.as_deref() != Some("Guest"))
        {
            return Ok(Some(found_value(user)));
        }
    }
    // A linkUser's target may be an object id when the account had no UPN to show.
    if change.kind == ChangeKind::LinkUser
        && let Some(id) = field(change, "id")
    {
        match ctx.graph.users().get(&okta365_graph::UserId::new(id)).await {
            Ok(user) => return Ok(Some(found_value(&user))),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(graph_error(doing, e)),
        }
    }
    Ok(None)
}

/// [`found`] for many changes at once: the UPNs, then the mails of those not found, looked up 15 per
/// request (`in`), so the re-check before a batch of writes costs a few reads, not two per user.
pub(crate) async fn found_many(
    ctx: &RunContext,
    changes: &[PlannedChange],
) -> Result<Vec<Option<Value>>> {
    let doing = "Checking the tenant for the accounts (GET /users)";
    let lower = |s: &str| s.to_ascii_lowercase();
    let upns: Vec<String> = changes.iter().map(|c| c.target.clone()).collect();
    let by_upn: HashMap<String, User> = ctx
        .graph
        .users_in("userPrincipalName", &upns)
        .await
        .map_err(|e| graph_error(doing, e))?
        .into_iter()
        .filter_map(|u| Some((lower(u.user_principal_name.as_deref()?), u)))
        .collect();
    let mails: Vec<String> = changes
        .iter()
        .filter(|c| !by_upn.contains_key(&lower(&c.target)))
        .filter_map(|c| field(c, "mail").map(str::to_owned))
        .collect();
    let by_mail: HashMap<String, User> = if mails.is_empty() {
        HashMap::new()
    } else {
        ctx.graph
            .users_in("mail", &mails)
            .await
            .map_err(|e| graph_error(doing, e))?
            .into_iter()
            .filter(|u| u.user_type.as_deref() != Some("Guest"))
            .filter_map(|u| Some((lower(u.mail.as_deref()?), u)))
            .collect()
    };
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let hit = by_upn
            .get(&lower(&change.target))
            .or_else(|| field(change, "mail").and_then(|m| by_mail.get(&lower(m))));
        out.push(match hit {
            Some(user) => Some(found_value(user)),
            None if change.kind == ChangeKind::LinkUser => found(ctx, change).await?,
            None => None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_mixed_and_different() {
        let a = random_password();
        let b = random_password();
        let s = a.expose();
        assert_eq!(s.chars().count(), PASSWORD_LEN);
        assert!(s.chars().any(|c| c.is_ascii_uppercase()));
        assert!(s.chars().any(|c| c.is_ascii_lowercase()));
        assert!(s.chars().any(|c| c.is_ascii_digit()));
        assert!(s.chars().any(|c| !c.is_ascii_alphanumeric()));
        assert_ne!(s, b.expose(), "two passwords from the CSPRNG differ");
        assert!(!format!("{a:?}").contains(s), "Debug never shows it");
    }
}
