//! Guests below the UI, against a real sandbox tenant on loopback, a real SQLite file and the real OS
//! keychain: members of the guests group are linked to the existing guest with their mail or invited
//! (`POST /invitations`), never twice; a second plan is empty; a member who left the group is deleted
//! (behind the blast-radius guard), or with disableThenDelete first disabled and deleted by the next
//! run. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{
    ChangeKind, GuestRemoval, OperationId, PlanRunRequest, RunStatus, RunTrigger, StepStatus,
};
use serde_json::{Value, json};
use setup_common::Env;

const GUESTS_GROUP: &str = "00gikTVJy2QLxJZDcfno";
const ABIGAIL_OKTA: &str = "00uUGk7YsrJ5QwzRWFfK";
const ABIGAIL_ENTRA: &str = "1fb0ab2a-8e2c-419c-b992-61654172fa53";
const GABRIEL_OKTA: &str = "00ucv8kDlp3UEr5E31kS";
const GABRIEL_MAIL: &str = "gabriel.lindqvist@corp.example";
const ISABELLA_OKTA: &str = "00uxowQkpLhPo3PRoagg";
const ISABELLA_MAIL: &str = "isabella.novak@corp.example";

fn request(env: &Env) -> PlanRunRequest {
    PlanRunRequest {
        profile_id: env.profile.id.clone(),
        operation: OperationId::Guests,
        users: None,
        trigger: RunTrigger::Manual,
    }
}

/// Graph as the demo app (its own token), for reading and writing behind the engine's back.
struct Graph {
    http: reqwest::Client,
    token: String,
    base: String,
}

impl Graph {
    async fn new(env: &Env) -> Graph {
        let creds = okta365_sandbox::mint_demo_credentials(&env.sandbox.urls().base)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(env.url(&format!("{}/oauth2/v2.0/token", creds.entra_tenant_id)))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", creds.entra_client_id.as_str()),
                ("client_secret", creds.entra_client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Graph {
            http,
            token: token["access_token"].as_str().unwrap().to_owned(),
            base: env.url("v1.0/"),
        }
    }

    /// The users whose mail is `mail`.
    async fn with_mail(&self, mail: &str) -> Vec<Value> {
        let page: Value = self
            .http
            .get(format!("{}users", self.base))
            .query(&[
                ("$filter", format!("mail eq '{mail}'")),
                (
                    "$select",
                    "id,userPrincipalName,mail,userType,accountEnabled".to_owned(),
                ),
            ])
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["value"].as_array().cloned().unwrap_or_default()
    }

    async fn invite(&self, mail: &str) {
        let resp = self
            .http
            .post(format!("{}invitations", self.base))
            .bearer_auth(&self.token)
            .json(&json!({
                "invitedUserEmailAddress": mail,
                "inviteRedirectUrl": "https://myapps.microsoft.com",
                "sendInvitationMessage": false
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    }
}

fn guest_links(env: &Env) -> Vec<String> {
    let mut ids: Vec<String> = env
        .store()
        .links(env.profile.id.parse().unwrap(), Some("guest"))
        .unwrap()
        .into_iter()
        .map(|l| l.okta_user_id)
        .collect();
    ids.sort();
    ids
}

async fn leave_group(env: &Env, okta_user: &str) {
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{GUESTS_GROUP}/users/{okta_user}"),
        None,
    )
    .await;
}

/// Plans and applies the guests operation, confirming `confirm` destructive changes.
async fn plan_and_apply(env: &Env, confirm: Option<u32>) -> okta365_engine::RunSummary {
    let plan = env.engine.plan_run(request(env)).await.unwrap();
    env.engine
        .apply_run(&plan.run_id, confirm, &())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_existing_guest_is_linked_others_invited_once_then_a_second_plan_is_empty() {
    let env = Env::new().await;
    let graph = Graph::new(&env).await;

    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    let kinds: Vec<(&str, ChangeKind, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.okta_user_id.as_str(), c.kind, c.target.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                ABIGAIL_OKTA,
                ChangeKind::LinkGuest,
                "abigail.yamamoto@corp.example"
            ),
            (GABRIEL_OKTA, ChangeKind::InviteGuest, GABRIEL_MAIL),
            (ISABELLA_OKTA, ChangeKind::InviteGuest, ISABELLA_MAIL),
        ],
        "the guest already in the tenant (matched by mail) is linked, the others invited"
    );
    assert!(
        plan.changes[0]
            .fields
            .iter()
            .any(|f| f.field == "id" && f.to.as_deref() == Some(ABIGAIL_ENTRA))
    );
    assert!(plan.guard.is_none(), "invites are not destructive");

    // Someone invites Isabella by hand between the plan and the apply: the re-check finds her guest
    // account, so she is linked to it and not invited a second time.
    graph.invite(ISABELLA_MAIL).await;

    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.done, 3);
    for mail in ["abigail.yamamoto@corp.example", GABRIEL_MAIL, ISABELLA_MAIL] {
        let found = graph.with_mail(mail).await;
        assert_eq!(found.len(), 1, "one account with mail {mail}: {found:#?}");
        assert_eq!(found[0]["userType"], "Guest");
    }
    assert_eq!(guest_links(&env), {
        let mut v = vec![
            ABIGAIL_OKTA.to_owned(),
            GABRIEL_OKTA.to_owned(),
            ISABELLA_OKTA.to_owned(),
        ];
        v.sort();
        v
    });

    let detail = env.engine.run_detail(&plan.run_id).await.unwrap();
    let status_of = |okta: &str| {
        detail
            .steps
            .iter()
            .find(|s| s.okta_user_id == okta)
            .unwrap()
            .clone()
    };
    assert_eq!(status_of(ISABELLA_OKTA).status, StepStatus::Superseded);
    let gabriel = status_of(GABRIEL_OKTA);
    assert_eq!(gabriel.status, StepStatus::Done);
    assert_eq!(gabriel.http_status, Some(201));
    assert_eq!(
        gabriel.request["body"]["invitedUserEmailAddress"], GABRIEL_MAIL,
        "the invitation request is journaled"
    );
    let journal = serde_json::to_string(&detail).unwrap();
    assert!(
        !journal.contains("inviteRedeemUrl") && !journal.contains("redeem"),
        "the redeem URL (it lets anyone redeem the invitation) is never journaled"
    );

    let again = env.engine.plan_run(request(&env)).await.unwrap();
    assert!(
        again.changes.is_empty() && again.skipped.is_empty(),
        "a second plan is empty: {:#?}",
        again.changes
    );
}

#[tokio::test]
async fn a_guest_who_left_the_group_is_deleted_behind_the_guard() {
    let env = Env::new().await;
    let graph = Graph::new(&env).await;
    assert_eq!(
        plan_and_apply(&env, None).await.status,
        RunStatus::Succeeded
    );
    assert_eq!(graph.with_mail(GABRIEL_MAIL).await.len(), 1);

    leave_group(&env, GABRIEL_OKTA).await;
    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "{:#?}", plan.changes);
    assert_eq!(plan.changes[0].kind, ChangeKind::DeleteUser);
    assert_eq!(plan.changes[0].okta_user_id, GABRIEL_OKTA);
    let guard = plan
        .guard
        .as_ref()
        .expect("1 delete of a 2-member group is over 5 %");
    assert_eq!(guard.destructive, 1);
    let refused = env
        .engine
        .apply_run(&plan.run_id, None, &())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains('1'),
        "the guard's message: {refused}"
    );
    assert_eq!(
        graph.with_mail(GABRIEL_MAIL).await.len(),
        1,
        "nothing deleted unconfirmed"
    );

    let summary = env
        .engine
        .apply_run(&plan.run_id, Some(1), &())
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert!(
        graph.with_mail(GABRIEL_MAIL).await.is_empty(),
        "the guest account is deleted"
    );
    assert!(!guest_links(&env).contains(&GABRIEL_OKTA.to_owned()));
    let again = env.engine.plan_run(request(&env)).await.unwrap();
    assert!(again.changes.is_empty(), "{:#?}", again.changes);
}

#[tokio::test]
async fn disable_then_delete_blocks_sign_in_first_and_deletes_on_the_next_run() {
    let env = Env::new().await;
    let graph = Graph::new(&env).await;
    let mut settings = env
        .engine
        .provisioning_settings(&env.profile.id)
        .await
        .unwrap();
    settings.guest_removal = GuestRemoval::DisableThenDelete;
    settings.guard_max_percent = 100;
    env.engine
        .set_provisioning_settings(&env.profile.id, settings)
        .await
        .unwrap();
    assert_eq!(
        plan_and_apply(&env, None).await.status,
        RunStatus::Succeeded
    );

    leave_group(&env, ISABELLA_OKTA).await;
    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "{:#?}", plan.changes);
    assert_eq!(plan.changes[0].kind, ChangeKind::DisableUser);
    assert!(plan.guard.is_none(), "within the raised percentage");
    env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    let isabella = graph.with_mail(ISABELLA_MAIL).await;
    assert_eq!(isabella.len(), 1, "disabled, not deleted yet");
    assert_eq!(isabella[0]["accountEnabled"], false);
    assert!(
        guest_links(&env).contains(&ISABELLA_OKTA.to_owned()),
        "the link stays until the delete"
    );

    let plan = env.engine.plan_run(request(&env)).await.unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        plan.changes[0].kind,
        ChangeKind::DeleteUser,
        "the next run deletes the disabled account"
    );
    env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert!(graph.with_mail(ISABELLA_MAIL).await.is_empty());
    assert!(!guest_links(&env).contains(&ISABELLA_OKTA.to_owned()));
    assert!(
        env.engine
            .plan_run(request(&env))
            .await
            .unwrap()
            .changes
            .is_empty()
    );
}
