//! Graph guest invitations of the sandbox, over real loopback HTTP.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

async fn invite(env: &Env, token: &str, body: Value) -> (u16, Value) {
    let resp = env
        .http
        .post(env.url("/v1.0/invitations"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn an_invitation_creates_a_pending_guest_and_sends_the_mail() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, inv) = invite(
        &env,
        &token,
        json!({
            "invitedUserEmailAddress": "Kai.Berg@partner.example",
            "inviteRedirectUrl": "https://myapps.microsoft.com",
            "sendInvitationMessage": true,
            "invitedUserDisplayName": "Kai Berg",
        }),
    )
    .await;
    assert_eq!(status, 201, "{inv}");
    assert_eq!(inv["invitedUserType"], "Guest");
    assert_eq!(inv["status"], "PendingAcceptance");
    assert!(inv["inviteRedeemUrl"].as_str().unwrap().starts_with("http"));
    let guest_id = inv["invitedUser"]["id"].as_str().unwrap().to_owned();

    let resp = env
        .http
        .get(env.url(&format!(
            "/v1.0/users/{guest_id}?$select=userPrincipalName,userType,externalUserState,mail,displayName,creationType"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let guest: Value = resp.json().await.unwrap();
    assert_eq!(
        guest["userPrincipalName"], "Kai.Berg_partner.example#EXT#@contoso-sandbox.onmicrosoft.com",
        "{guest}"
    );
    assert_eq!(guest["userType"], "Guest");
    assert_eq!(guest["externalUserState"], "PendingAcceptance");
    assert_eq!(guest["mail"], "Kai.Berg@partner.example");
    assert_eq!(guest["displayName"], "Kai Berg");
    assert_eq!(guest["creationType"], "Invitation");

    // Guests are found by mail.
    let resp = env
        .http
        .get(env.url("/v1.0/users?$filter=mail%20eq%20'kai.berg@partner.example'%20and%20userType%20eq%20'Guest'"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let found: Value = resp.json().await.unwrap();
    assert_eq!(found["value"][0]["id"], guest_id.as_str());

    let mail = env.control(Method::GET, "/_sandbox/mail", None).await;
    let mails = mail.as_array().unwrap();
    assert_eq!(mails.len(), 1, "{mail}");
    assert_eq!(mails[0]["kind"], "invitation");
    assert_eq!(
        mails[0]["toRecipients"][0]["emailAddress"]["address"],
        "Kai.Berg@partner.example"
    );
    assert!(
        mails[0]["body"]["content"]
            .as_str()
            .unwrap()
            .contains(inv["inviteRedeemUrl"].as_str().unwrap())
    );

    // Inviting the same address again re-invites the same guest; no mail when not asked for.
    let (status, again) = invite(
        &env,
        &token,
        json!({"invitedUserEmailAddress": "kai.berg@partner.example", "inviteRedirectUrl": "https://myapps.microsoft.com"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(again["invitedUser"]["id"], guest_id.as_str());
    assert_eq!(again["sendInvitationMessage"], false);
    let mail = env.control(Method::GET, "/_sandbox/mail", None).await;
    assert_eq!(mail.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn invitations_are_validated_and_need_user_invite_all() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    for body in [
        json!({"inviteRedirectUrl": "https://myapps.microsoft.com"}),
        json!({"invitedUserEmailAddress": "not an address", "inviteRedirectUrl": "https://myapps.microsoft.com"}),
        json!({"invitedUserEmailAddress": "a@partner.example"}),
        json!({"invitedUserEmailAddress": "a@partner.example", "inviteRedirectUrl": "https://x", "sendInvitationMessage": "yes"}),
        json!({"invitedUserEmailAddress": "a@partner.example", "inviteRedirectUrl": "https://x", "colour": 1}),
        json!({"invitedUserEmailAddress": "someone@contoso.example", "inviteRedirectUrl": "https://x"}),
    ] {
        let (status, e) = invite(&env, &token, body.clone()).await;
        assert_eq!(status, 400, "{body} must be refused: {e}");
        assert!(e["error"]["message"].is_string());
    }
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["User.Read.All"]})),
    )
    .await;
    let token = env.graph_token().await;
    let (status, e) = invite(
        &env,
        &token,
        json!({"invitedUserEmailAddress": "a@partner.example", "inviteRedirectUrl": "https://x"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(e["error"]["code"], "Authorization_RequestDenied");
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["User.Invite.All"]})),
    )
    .await;
    let token = env.graph_token().await;
    let (status, e) = invite(
        &env,
        &token,
        json!({"invitedUserEmailAddress": "a@partner.example", "inviteRedirectUrl": "https://x"}),
    )
    .await;
    assert_eq!(status, 201, "User.Invite.All is enough: {e}");
}

#[tokio::test]
async fn the_invitation_budget_throttles_per_tenant() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"bucket": "graph.invitations", "limit": 1, "window_secs": 60})),
    )
    .await;
    let body = |n: u32| json!({"invitedUserEmailAddress": format!("g{n}@partner.example"), "inviteRedirectUrl": "https://x"});
    assert_eq!(invite(&env, &token, body(1)).await.0, 201);
    let resp = env
        .http
        .post(env.url("/v1.0/invitations"))
        .bearer_auth(&token)
        .json(&body(2))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["code"], "TooManyRequests");
}
