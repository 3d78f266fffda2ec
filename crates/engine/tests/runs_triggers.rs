//! System Log triggers and reconcile below the UI, against a real sandbox tenant on loopback, a real
//! SQLite file and the real OS keychain: the first poll replays nothing and saves a cursor; members
//! added to the assignments group through Okta's API get accounts on the next poll (one run for all of
//! them); a profile change of a linked user is synced; a guest removed from the guests group is
//! deleted, or, over the blast-radius guard, left planned; the cursor survives an engine restart; and
//! reconcile. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{
    ChangeKind, Engine, OperationId, Paths, PlanRunRequest, RunFilter, RunStatus, RunTrigger,
};
use serde_json::{Value, json};
use setup_common::Env;

const GUESTS_GROUP: &str = "00gikTVJy2QLxJZDcfno";
const ABIGAIL_OKTA: &str = "00uUGk7YsrJ5QwzRWFfK";
const ABIGAIL_ENTRA: &str = "1fb0ab2a-8e2c-419c-b992-61654172fa53";
const GABRIEL_OKTA: &str = "00ucv8kDlp3UEr5E31kS";

/// A Graph call as the demo app (its own token): status and body.
async fn graph(env: &Env, path: &str) -> (u16, Value) {
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
    let resp = http
        .get(env.url(&format!("v1.0/{path}")))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn assignments_group(env: &Env) -> String {
    env.groups_named("Office 365 Assignments").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The email domain of the assignments group's first member (a verified domain of the tenant).
async fn member_domain(env: &Env, group: &str) -> String {
    let members = env
        .okta(
            reqwest::Method::GET,
            &format!("api/v1/groups/{group}/users"),
            None,
        )
        .await;
    members[0]["profile"]["email"]
        .as_str()
        .unwrap()
        .rsplit_once('@')
        .unwrap()
        .1
        .to_owned()
}

/// Creates an Okta user in no group; returns its id.
async fn okta_user(env: &Env, local: &str, domain: &str) -> String {
    let login = format!("{local}@{domain}");
    let user = env
        .okta(
            reqwest::Method::POST,
            "api/v1/users?activate=true",
            Some(json!({ "profile": {
                "login": login, "email": login, "firstName": "Trigger", "lastName": local,
            }})),
        )
        .await;
    user["id"].as_str().unwrap().to_owned()
}

async fn join(env: &Env, group: &str, user: &str) {
    // An empty JSON body: the request then has a Content-Length, as Okta requires of a PUT.
    env.okta(
        reqwest::Method::PUT,
        &format!("api/v1/groups/{group}/users/{user}"),
        Some(json!({})),
    )
    .await;
}

async fn leave(env: &Env, group: &str, user: &str) {
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{user}"),
        None,
    )
    .await;
}

fn member_link(env: &Env, okta_user: &str) -> Option<String> {
    env.store()
        .link(env.profile.id.parse().unwrap(), okta_user, "member")
        .unwrap()
        .map(|l| l.entra_id)
}

async fn triggered_runs(engine: &Engine, env: &Env) -> usize {
    engine
        .list_runs(&env.profile.id, RunFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.trigger == RunTrigger::SystemLog)
        .count()
}

#[tokio::test]
async fn added_members_get_accounts_on_the_next_poll_and_the_cursor_survives_a_restart() {
    let env = Env::new().await;
    let group = assignments_group(&env).await;
    let domain = member_domain(&env, &group).await;

    // Added before the first poll: not replayed.
    let early = okta_user(&env, "early.bird", &domain).await;
    join(&env, &group, &early).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;

    let first = env
        .engine
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert_eq!(first.events, 0, "the first poll replays nothing");
    assert!(first.runs.is_empty());
    let pid = env.profile.id.parse().unwrap();
    assert_eq!(
        env.store().cursor(pid, "systemLog").unwrap().as_deref(),
        Some(first.cursor.as_str()),
        "the first poll saves its cursor"
    );
    assert!(first.cursor.contains("/api/v1/logs"));

    // Two members added (and one of them edited) between polls: one memberAccounts run for both.
    let ada = okta_user(&env, "ada.trigger", &domain).await;
    let bob = okta_user(&env, "bob.trigger", &domain).await;
    join(&env, &group, &ada).await;
    join(&env, &group, &bob).await;
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{ada}"),
        Some(json!({ "profile": { "title": "Engineer" } })),
    )
    .await;

    let second = env
        .engine
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert!(second.events >= 2, "{second:?}");
    assert_eq!(
        second.runs.len(),
        1,
        "one run per operation (the profile update of an unlinked user is no run): {second:?}"
    );
    let run = &second.runs[0];
    assert_eq!(run.operation, OperationId::MemberAccounts);
    assert_eq!(run.trigger, RunTrigger::SystemLog);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.users, 2, "both users in the one run");
    assert_ne!(second.cursor, first.cursor, "the cursor moved on");
    for user in [&ada, &bob] {
        let entra = member_link(&env, user).expect("an account was created and linked");
        let (status, body) = graph(&env, &format!("users/{entra}")).await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(
        member_link(&env, &early).is_none(),
        "the member added before the first poll was not replayed"
    );

    // A new engine on the same data dir (a restart) resumes from the saved cursor: nothing twice.
    let restarted = Engine::open(Paths::at(env.dir.path())).await.unwrap();
    let third = restarted
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert_eq!(third.events, 0, "no event is read twice: {third:?}");
    assert!(third.runs.is_empty());
    assert_eq!(triggered_runs(&restarted, &env).await, 1);

    // A profile change of a linked user: a profileSync run patches the field.
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{bob}"),
        Some(json!({ "profile": { "title": "Chief Tester" } })),
    )
    .await;
    let fourth = restarted
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert_eq!(fourth.events, 1, "{fourth:?}");
    assert_eq!(fourth.runs.len(), 1, "{fourth:?}");
    assert_eq!(fourth.runs[0].operation, OperationId::ProfileSync);
    assert_eq!(fourth.runs[0].status, RunStatus::Succeeded);
    let detail = restarted.run_detail(&fourth.runs[0].run_id).await.unwrap();
    assert!(
        detail
            .plan
            .changes
            .iter()
            .all(|c| c.okta_user_id == bob && c.kind == ChangeKind::UpdateUser),
        "{:?}",
        detail.plan.changes
    );
    let entra = member_link(&env, &bob).unwrap();
    let (_, user) = graph(&env, &format!("users/{entra}?$select=id,jobTitle")).await;
    assert_eq!(user["jobTitle"], "Chief Tester");
}

async fn link_guests(env: &Env) {
    let plan = env
        .engine
        .plan_run(PlanRunRequest {
            profile_id: env.profile.id.clone(),
            operation: OperationId::Guests,
            users: None,
            trigger: RunTrigger::Manual,
        })
        .await
        .unwrap();
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
}

#[tokio::test]
async fn a_guest_removed_from_the_group_is_deleted_and_over_the_guard_the_run_stays_planned() {
    let env = Env::new().await;
    link_guests(&env).await;
    env.engine
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();

    // With the default guard (5 %), one removal of three guests stops the run: it stays planned.
    leave(&env, GUESTS_GROUP, GABRIEL_OKTA).await;
    let stopped = env
        .engine
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert_eq!(stopped.runs.len(), 1, "{stopped:?}");
    assert_eq!(stopped.runs[0].operation, OperationId::Guests);
    assert_eq!(
        stopped.runs[0].status,
        RunStatus::Planned,
        "the guard stops a triggered run"
    );
    let detail = env
        .engine
        .run_detail(&stopped.runs[0].run_id)
        .await
        .unwrap();
    assert!(detail.plan.guard.is_some(), "the report says why");
    let gabriel = env
        .store()
        .link(env.profile.id.parse().unwrap(), GABRIEL_OKTA, "guest")
        .unwrap()
        .expect("still linked");
    let (status, _) = graph(&env, &format!("users/{}", gabriel.entra_id)).await;
    assert_eq!(status, 200, "nothing was deleted");

    // A guard that allows it: the next removal is applied at once.
    let mut settings = env
        .engine
        .provisioning_settings(&env.profile.id)
        .await
        .unwrap();
    settings.guard_max_percent = 100;
    env.engine
        .set_provisioning_settings(&env.profile.id, settings)
        .await
        .unwrap();
    leave(&env, GUESTS_GROUP, ABIGAIL_OKTA).await;
    let applied = env
        .engine
        .poll_system_log(&env.profile.id, &())
        .await
        .unwrap();
    assert_eq!(applied.runs.len(), 1, "{applied:?}");
    assert_eq!(applied.runs[0].status, RunStatus::Succeeded);
    let (status, _) = graph(&env, &format!("users/{ABIGAIL_ENTRA}")).await;
    assert_eq!(status, 404, "the guest account is deleted");
    assert!(
        env.store()
            .link(env.profile.id.parse().unwrap(), ABIGAIL_OKTA, "guest")
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn reconcile_plans_every_member_and_applies_then_finds_nothing() {
    let env = Env::new().await;
    let runs = env
        .engine
        .reconcile(&env.profile.id, Some(OperationId::MemberAccounts))
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, RunTrigger::Reconcile);
    assert_eq!(runs[0].status, RunStatus::Succeeded, "{:?}", runs[0]);
    assert!(runs[0].changes > 0);

    let again = env
        .engine
        .reconcile(&env.profile.id, Some(OperationId::MemberAccounts))
        .await
        .unwrap();
    assert!(again.is_empty(), "nothing left to do: {again:?}");

    let all = env.engine.reconcile(&env.profile.id, None).await.unwrap();
    assert!(
        all.iter().all(|r| r.trigger == RunTrigger::Reconcile),
        "{all:?}"
    );
    assert!(
        all.iter().any(|r| r.operation == OperationId::Guests),
        "every enabled operation is reconciled: {all:?}"
    );
    let err = env
        .engine
        .reconcile(&env.profile.id, Some(OperationId::Imports))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("okta365 import run --source"),
        "imports are not reconciled; the message says how to run one: {err}"
    );
}
