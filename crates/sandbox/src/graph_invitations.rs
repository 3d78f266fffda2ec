//! Microsoft Graph `POST /invitations`: B2B guest invitations. An invitation creates a guest user (UPN
//! `local_domain#EXT#@{initial domain}`, `userType: Guest`, `externalUserState: PendingAcceptance`,
//! `mail` = the invited address) or re-invites the guest who already has that address, answers 201
//! with the invitation, and with `sendInvitationMessage: true` puts the invitation mail in the sandbox
//! outbox (`GET /_sandbox/mail`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use crate::graph::{Caller, GraphError};
use crate::graph_users::{graph_time, json_object, user_from};
use crate::server::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new().route("/v1.0/invitations", post(create_invitation))
}

const INVITE: &[&str] = &[
    "User.Invite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];

const INVITATION_PROPERTIES: &[&str] = &[
    "invitedUserDisplayName",
    "invitedUserEmailAddress",
    "invitedUserMessageInfo",
    "invitedUserType",
    "inviteRedirectUrl",
    "resetRedemption",
    "sendInvitationMessage",
    "invitedUser",
];

fn invalid(property: &str) -> GraphError {
    GraphError::bad_request(
        "BadRequest",
        format!("Invalid value specified for property '{property}' of resource 'Invitation'."),
    )
}

fn string<'a>(body: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, GraphError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(key)),
    }
}

/// A plain `local@domain.tld` address.
fn is_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !local.contains(char::is_whitespace)
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        }
        None => false,
    }
}

async fn create_invitation(
    AxState(shared): AxState<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, Response> {
    caller.require(INVITE)?;
    crate::graph_budget::invitation(&shared, &caller).await?;
    let body = json_object(&body)?;
    if let Some(unknown) = body
        .keys()
        .find(|k| !k.starts_with("@odata.") && !INVITATION_PROPERTIES.contains(&k.as_str()))
    {
        return Err(GraphError::bad_request(
            "BadRequest",
            format!(
                "Property '{unknown}' does not exist as a declared property or extension property."
            ),
        )
        .into());
    }
    let email = string(&body, "invitedUserEmailAddress")?
        .map(str::trim)
        .filter(|e| is_email(e))
        .ok_or_else(|| invalid("invitedUserEmailAddress"))?
        .to_owned();
    let redirect = string(&body, "inviteRedirectUrl")?
        .filter(|u| url::Url::parse(u).is_ok())
        .ok_or_else(|| invalid("inviteRedirectUrl"))?
        .to_owned();
    let display_name = string(&body, "invitedUserDisplayName")?.map(str::to_owned);
    let send = match body.get("sendInvitationMessage") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("sendInvitationMessage").into()),
    };
    let user_type = string(&body, "invitedUserType")?
        .unwrap_or("Guest")
        .to_owned();
    if user_type != "Guest" && user_type != "Member" {
        return Err(invalid("invitedUserType").into());
    }
    let message_info = body
        .get("invitedUserMessageInfo")
        .cloned()
        .unwrap_or(Value::Null);
    let now = shared.now();
    let invitation_id = uuid::Uuid::new_v4().to_string();
    let redeem_url = shared.url(&format!(
        "/redeem?rd={}",
        url::form_urlencoded::byte_serialize(invitation_id.as_bytes()).collect::<String>()
    ));
    let result = shared
        .mutate(|st| {
            let (local, domain) = email.rsplit_once('@').unwrap_or((&email, ""));
            if st
                .microsoft
                .tenant
                .verified_domains
                .iter()
                .any(|d| d.name.eq_ignore_ascii_case(domain))
            {
                return Err(GraphError::bad_request(
                    "BadRequest",
                    format!(
                        "The invited user's email domain '{domain}' is a verified domain of this organization; create a member user instead of inviting a guest."
                    ),
                ));
            }
            let tenant_name = st.microsoft.tenant.display_name.clone();
            // A guest with this address already exists: Graph re-invites that user.
            let existing = st.microsoft.users.iter().find(|u| {
                u.mail.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(&email))
                    || u.extra
                        .get("otherMails")
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|m| m.as_str().is_some_and(|m| m.eq_ignore_ascii_case(&email))))
            });
            let (user_id, status) = match existing {
                Some(u) => (
                    u.id.clone(),
                    u.extra
                        .get("externalUserState")
                        .and_then(Value::as_str)
                        .unwrap_or(if u.user_type == "Guest" { "Accepted" } else { "Completed" })
                        .to_owned(),
                ),
                None => {
                    let initial = st
                        .microsoft
                        .tenant
                        .verified_domains
                        .iter()
                        .find(|d| d.is_initial)
                        .map(|d| d.name.clone())
                        .unwrap_or_default();
                    let alias = format!("{local}_{domain}#EXT#");
                    let mut nick = alias.clone();
                    let mut n = 1;
                    while st.microsoft.users.iter().any(|u| u.mail_nickname.eq_ignore_ascii_case(&nick)) {
                        n += 1;
                        nick = format!("{local}_{domain}{n}#EXT#");
                    }
                    let id = uuid::Uuid::new_v4().to_string();
                    let user = user_from(
                        json!({
                            "id": id,
                            "userPrincipalName": format!("{nick}@{initial}"),
                            "displayName": display_name.clone().unwrap_or_else(|| local.to_owned()),
                            "mail": email,
                            "mailNickname": nick,
                            "accountEnabled": true,
                            "userType": user_type,
                            "createdDateTime": graph_time(now),
                            "otherMails": [email],
                            "externalUserState": "PendingAcceptance",
                            "externalUserStateChangeDateTime": graph_time(now),
                            "creationType": "Invitation",
                        })
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    )?;
                    st.microsoft.users.push(user);
                    (id, "PendingAcceptance".to_owned())
                }
            };
            if send {
                st.mail.push(json!({
                    "kind": "invitation",
                    "from": { "emailAddress": {
                        "address": "invites@microsoft.com",
                        "name": format!("Microsoft Invitations on behalf of {tenant_name}"),
                    }},
                    "toRecipients": [{ "emailAddress": { "address": email } }],
                    "ccRecipients": message_info.get("ccRecipients").cloned().unwrap_or(json!([])),
                    "subject": format!("You're invited to the {tenant_name} organization"),
                    "body": { "contentType": "Text", "content": format!(
                        "{}Accept the invitation: {redeem_url}",
                        message_info.get("customizedMessageBody").and_then(Value::as_str).map(|m| format!("{m}\n\n")).unwrap_or_default()
                    )},
                    "inviteRedeemUrl": redeem_url,
                    "invitedUserId": user_id,
                    "sentDateTime": graph_time(now),
                }));
            }
            Ok((user_id, status))
        })
        .await
        .map_err(IntoResponse::into_response)?;
    let (user_id, status) = result?;
    shared.entra.setup.created(&[&user_id]);
    let info = match message_info {
        Value::Object(m) => json!({
            "messageLanguage": m.get("messageLanguage").cloned().unwrap_or(Value::Null),
            "ccRecipients": m.get("ccRecipients").cloned().unwrap_or(json!([])),
            "customizedMessageBody": m.get("customizedMessageBody").cloned().unwrap_or(Value::Null),
        }),
        _ => json!({ "messageLanguage": null, "ccRecipients": [], "customizedMessageBody": null }),
    };
    let answer = json!({
        "@odata.context": shared.url("/v1.0/$metadata#invitations/$entity"),
        "id": invitation_id,
        "inviteRedeemUrl": redeem_url,
        "invitedUserDisplayName": display_name,
        "invitedUserType": user_type,
        "invitedUserEmailAddress": email,
        "sendInvitationMessage": send,
        "resetRedemption": false,
        "inviteRedirectUrl": redirect,
        "status": status,
        "invitedUserMessageInfo": info,
        "invitedUser": { "id": user_id },
    });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}
