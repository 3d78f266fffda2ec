//! Guest invitations (`POST /invitations`, User.Invite.All): the write request and the invitation
//! Graph returns. The invited guest is a user with `userType: Guest`, a UPN like
//! `jane_corp.example#EXT#@contoso.onmicrosoft.com` and `mail` set to the invited address, so it is
//! found again by `mail` ([`GraphClient::users_where`](crate::GraphClient::users_where) with
//! `guests_only`), never by UPN.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::batch::GraphWrite;

/// What an invitation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The guest's email address (`invitedUserEmailAddress`).
    pub email: String,
    /// The guest's display name (`invitedUserDisplayName`), if known.
    pub display_name: Option<String>,
    /// Where the guest lands after redeeming (`inviteRedirectUrl`).
    pub redirect_url: String,
    /// Whether Microsoft emails the invitation (`sendInvitationMessage`).
    pub send_message: bool,
}

impl Invitation {
    /// The JSON body of `POST /invitations`.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "invitedUserEmailAddress": self.email,
            "inviteRedirectUrl": self.redirect_url,
            "sendInvitationMessage": self.send_message,
        });
        if let Some(name) = self
            .display_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            body["invitedUserDisplayName"] = Value::String(name.trim().to_owned());
        }
        body
    }
}

/// `POST /invitations` for `invitation`.
pub fn invite_guest(invitation: &Invitation) -> GraphWrite {
    GraphWrite::post("invitations", invitation.body())
}

/// The invitation Graph created (the 201 body). `inviteRedeemUrl` is kept out on purpose: it lets
/// whoever holds it redeem the invitation, so it is never journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationCreated {
    /// The invitation's id.
    #[serde(default)]
    pub id: Option<String>,
    /// `PendingAcceptance` or `Completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `Guest`.
    #[serde(default)]
    pub invited_user_type: Option<String>,
    /// The guest user created.
    #[serde(default)]
    pub invited_user: Option<InvitedUser>,
}

/// The user an invitation created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitedUser {
    /// The guest's object id.
    pub id: String,
}

impl InvitationCreated {
    /// Reads a `POST /invitations` answer body; `None` when it is not one.
    pub fn from_body(body: &Value) -> Option<InvitationCreated> {
        serde_json::from_value(body.clone()).ok()
    }

    /// The guest's object id.
    pub fn guest_id(&self) -> Option<&str> {
        self.invited_user.as_ref().map(|u| u.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_graphs_names_and_no_blank_display_name() {
        let mut inv = Invitation {
            email: "abby@corp.example".into(),
            display_name: Some("Abby Y".into()),
            redirect_url: "https://myapps.microsoft.com".into(),
            send_message: false,
        };
        let w = invite_guest(&inv);
        assert_eq!(w.path, "invitations");
        assert_eq!(w.method, reqwest::Method::POST);
        assert_eq!(
            w.body.unwrap(),
            json!({
                "invitedUserEmailAddress": "abby@corp.example",
                "inviteRedirectUrl": "https://myapps.microsoft.com",
                "sendInvitationMessage": false,
                "invitedUserDisplayName": "Abby Y"
            })
        );
        inv.display_name = Some("  ".into());
        assert!(inv.body().get("invitedUserDisplayName").is_none());
    }

    #[test]
    fn the_answer_gives_the_guest_id_and_drops_the_redeem_url() {
        let body = json!({
            "id": "inv-1", "status": "PendingAcceptance", "invitedUserType": "Guest",
            "inviteRedeemUrl": "https://login.microsoftonline.com/redeem?secret",
            "invitedUser": { "id": "guest-1" }
        });
        let created = InvitationCreated::from_body(&body).unwrap();
        assert_eq!(created.guest_id(), Some("guest-1"));
        let back = serde_json::to_string(&created).unwrap();
        assert!(
            !back.contains("redeem"),
            "the redeem URL is not kept: {back}"
        );
    }
}
