//! Member accounts end to end below the UI, against a real sandbox tenant on loopback, a real SQLite
//! file and the real OS keychain: plan → apply → re-plan empty; existing accounts matched and linked,
//! never duplicated; the journal of every write (status, request id, no password); the 15-minute
//! staleness and the guard; `$batch` partial failures and 429s; history, export and delete. Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use std::collections::HashMap;

use okta365_engine::{
    ChangeKind, ExportFormat, OperationId, PlanRunRequest, RunFilter, RunStatus, RunTrigger,
    StepStatus,
};
use serde_json::{Value, json};
use setup_common::Env;

fn plan_request(env: &Env, users: Option<Vec<String>>) -> PlanRunRequest {
    PlanRunRequest {
        profile_id: env.profile.id.clone(),
        operation: OperationId::MemberAccounts,
        users,
        trigger: RunTrigger::Manual,
    }
}

/// Every Graph user of the sandbox tenant (read with the demo app's own token).
async fn graph_users(env: &Env) -> Vec<Value> {
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
    let token = token["access_token"].as_str().unwrap().to_owned();
    let mut users = Vec::new();
    let mut next = Some(env.url("v1.0/users?$top=999"));
    while let Some(url) = next {
        let page: Value = http
            .get(url)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        users.extend(page["value"].as_array().cloned().unwrap_or_default());
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    users
}

fn upn_counts(users: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for u in users {
        if let Some(upn) = u["userPrincipalName"].as_str() {
            *counts.entry(upn.to_ascii_lowercase()).or_default() += 1;
        }
    }
    counts
}

#[tokio::test]
async fn plan_apply_then_a_second_plan_is_empty_and_nothing_is_duplicated() {
    let env = Env::new().await;
    let before = graph_users(&env).await;

    let plan = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    assert!(
        !plan.changes.is_empty(),
        "the seeded assignments group has members without accounts"
    );
    assert!(plan.guard.is_none(), "creating accounts is not destructive");
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::CreateUser)
        .count();
    let links = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::LinkUser)
        .count();
    assert_eq!(
        creates + links,
        plan.changes.len(),
        "member accounts only create or link: {:?}",
        plan.changes
    );
    let seqs: Vec<u32> = plan.changes.iter().map(|c| c.seq).collect();
    assert_eq!(
        seqs,
        (1..=plan.changes.len() as u32).collect::<Vec<_>>(),
        "changes are numbered from 1"
    );
    assert!(
        plan.changes.iter().all(|c| c
            .fields
            .iter()
            .all(|f| !f.field.to_lowercase().contains("password"))),
        "no password in a plan"
    );

    // Nothing is written by planning.
    assert_eq!(graph_users(&env).await.len(), before.len());
    let listed = env
        .engine
        .list_runs(&env.profile.id, RunFilter::default())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, RunStatus::Planned);

    let progress = std::sync::Mutex::new(Vec::new());
    let sink = |p: &okta365_engine::Progress| progress.lock().unwrap().push(p.clone());
    let summary = env
        .engine
        .apply_run(&plan.run_id, None, &sink)
        .await
        .unwrap();
    assert_eq!(
        summary.status,
        RunStatus::Succeeded,
        "every change applied: {summary:?}"
    );
    assert_eq!(summary.failed, 0);
    assert_eq!(summary.done as usize, plan.changes.len());
    let progress = progress.into_inner().unwrap();
    assert!(progress.iter().all(|p| p.operation == "run"));
    assert_eq!(progress.last().unwrap().step, "done");

    let after = graph_users(&env).await;
    assert_eq!(
        after.len(),
        before.len() + creates,
        "one account per create, none for a link"
    );
    let counts = upn_counts(&after);
    assert!(
        counts.values().all(|n| *n == 1),
        "no UPN twice on the tenant"
    );

    // The journal: every step done (or superseded), with a request id and never a password.
    let detail = env.engine.run_detail(&plan.run_id).await.unwrap();
    for step in &detail.steps {
        if step.status == StepStatus::Skipped {
            continue;
        }
        assert_eq!(step.status, StepStatus::Done, "{step:?}");
        if step.kind == ChangeKind::CreateUser {
            assert_eq!(step.http_status, Some(201), "{step:?}");
            assert!(step.request_id.is_some(), "a request id per write");
            assert_eq!(
                step.request["body"]["passwordProfile"]["forceChangePasswordNextSignIn"],
                json!(true),
                "a managed domain: the password must be changed at first sign-in"
            );
            assert!(step.request["body"]["passwordProfile"]["password"].is_null());
            assert!(step.started_at.is_some() && step.finished_at.is_some());
        }
    }
    let export = env
        .engine
        .export_run(&plan.run_id, ExportFormat::Json)
        .await
        .unwrap();
    assert!(
        !export.contains("\"password\""),
        "the export holds no password"
    );
    let csv = env
        .engine
        .export_run(&plan.run_id, ExportFormat::Csv)
        .await
        .unwrap();
    assert_eq!(
        csv.lines().count(),
        detail.steps.len() + 1,
        "a header and one row per step"
    );
    assert!(csv.starts_with("runId,operation,seq,"));

    // A second plan finds nothing to do.
    let again = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    assert!(
        again.changes.is_empty(),
        "every member is linked now: {:?}",
        again.changes
    );

    // A plan applied cannot be applied twice; the history lists both runs, filters by status.
    let err = env
        .engine
        .apply_run(&plan.run_id, None, &())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not planned"), "{err}");
    let succeeded = env
        .engine
        .list_runs(
            &env.profile.id,
            RunFilter {
                status: Some(RunStatus::Succeeded),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(succeeded.len(), 1);
    env.engine.discard_run(&again.run_id).await.unwrap();
    env.engine.delete_run(&again.run_id).await.unwrap();
    assert!(env.engine.run_detail(&again.run_id).await.is_err());
}

#[tokio::test]
async fn an_existing_account_is_matched_by_upn_and_linked_not_duplicated() {
    let env = Env::new().await;
    let first = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    let create = first
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::CreateUser)
        .expect("some member needs an account")
        .clone();
    env.engine.discard_run(&first.run_id).await.unwrap();

    // Someone creates the account by hand with the UPN the mapping gives.
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
    let nick = create.target.split('@').next().unwrap();
    let resp = http
        .post(env.url("v1.0/users"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&json!({
            "accountEnabled": true, "displayName": "By hand", "mailNickname": format!("{nick}hand"),
            "userPrincipalName": create.target,
            "passwordProfile": {"password": "Xy7!handmade-Pass", "forceChangePasswordNextSignIn": true}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());

    let plan = env
        .engine
        .plan_run(plan_request(&env, Some(vec![create.okta_user_id.clone()])))
        .await
        .unwrap();
    assert_eq!(plan.changes.len(), 1, "only the user asked for");
    assert_eq!(plan.changes[0].kind, ChangeKind::LinkUser);
    assert_eq!(
        plan.changes[0].target.to_lowercase(),
        create.target.to_lowercase()
    );
    let users_before = graph_users(&env).await.len();
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(
        graph_users(&env).await.len(),
        users_before,
        "a link writes nothing"
    );
    let again = env
        .engine
        .plan_run(plan_request(&env, Some(vec![create.okta_user_id.clone()])))
        .await
        .unwrap();
    assert!(again.changes.is_empty(), "the user is linked");
}

#[tokio::test]
async fn a_stale_plan_and_a_guard_stop_are_refused_until_confirmed_with_the_right_count() {
    let env = Env::new().await;
    let plan = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    let db = rusqlite::Connection::open(&env.engine.paths().db_path).unwrap();

    // Staleness: a plan made 20 minutes ago.
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(20);
    db.execute(
        "UPDATE runs SET created_at = ?2 WHERE id = ?1",
        rusqlite::params![plan.run_id, old.to_string()],
    )
    .unwrap();
    let err = env
        .engine
        .apply_run(&plan.run_id, None, &())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("15 minutes"),
        "a stale plan is refused: {err}"
    );

    // The guard: the stored plan says the guard stopped it (3 destructive changes).
    let mut stored: Value = serde_json::from_str(
        &db.query_row("SELECT plan FROM runs WHERE id = ?1", [&plan.run_id], |r| {
            r.get::<_, String>(0)
        })
        .unwrap(),
    )
    .unwrap();
    stored["guard"] = json!({"destructive": 3, "members": 40, "maxUsers": 2, "maxPercent": 5,
        "message": "This plan removes 3 accounts; confirm with 3."});
    db.execute(
        "UPDATE runs SET created_at = ?2, plan = ?3 WHERE id = ?1",
        rusqlite::params![
            plan.run_id,
            jiff::Timestamp::now().to_string(),
            stored.to_string()
        ],
    )
    .unwrap();
    let users = graph_users(&env).await.len();
    let stop = env
        .engine
        .apply_run(&plan.run_id, None, &())
        .await
        .unwrap_err();
    assert!(stop.to_string().contains("confirm with 3"), "{stop}");
    let wrong = env
        .engine
        .apply_run(&plan.run_id, Some(2), &())
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("does not match"),
        "a wrong count is refused: {wrong}"
    );
    assert_eq!(
        graph_users(&env).await.len(),
        users,
        "nothing written while refused"
    );
    let summary = env
        .engine
        .apply_run(&plan.run_id, Some(3), &())
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn batch_item_failures_are_journaled_per_item_and_throttled_items_are_retried() {
    let env = Env::new().await;
    // One create fails with 503 inside the batch; the rest succeed.
    env.control(
        "faults",
        json!({"status": 503, "count": 1, "path_prefix": "/v1.0/users", "method": "POST"}),
    )
    .await;
    let plan = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::CreateUser)
        .count();
    assert!(creates > 1, "the plan batches several creates");
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(
        summary.status,
        RunStatus::Partial,
        "one item failed, the others were made: {summary:?}"
    );
    assert_eq!(summary.failed, 1);
    let detail = env.engine.run_detail(&plan.run_id).await.unwrap();
    let failed: Vec<_> = detail
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].http_status, Some(503));
    assert!(
        failed[0].fix.as_deref().is_some_and(|f| !f.is_empty()),
        "a failed step says what to do: {:?}",
        failed[0]
    );

    // The next plan has exactly the failed user.
    let retry = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    assert_eq!(retry.changes.len(), 1, "{:?}", retry.changes);
    assert_eq!(retry.changes[0].okta_user_id, failed[0].okta_user_id);
    let summary = env
        .engine
        .apply_run(&retry.run_id, None, &())
        .await
        .unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let counts = upn_counts(&graph_users(&env).await);
    assert!(counts.values().all(|n| *n == 1), "no UPN twice");
}

#[tokio::test]
async fn batch_items_throttled_by_the_write_budget_wait_and_are_retried_alone() {
    let env = Env::new().await;
    // The tenant's write budget is far smaller than a batch: items past it answer 429 + Retry-After.
    env.control(
        "rate-limits",
        json!({"bucket": "graph.directoryWrites", "limit": 12, "window_secs": 1}),
    )
    .await;
    let plan = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    let creates = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::CreateUser)
        .count();
    assert!(creates > 12, "more creates than the budget holds at once");
    let before = graph_users(&env).await.len();
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(
        summary.status,
        RunStatus::Succeeded,
        "throttled items wait and are sent again: {summary:?}"
    );
    let after = graph_users(&env).await;
    assert_eq!(after.len(), before + creates, "each account made once");
    assert!(upn_counts(&after).values().all(|n| *n == 1));
}

#[tokio::test]
async fn accounts_in_a_federated_domain_need_no_password_change_and_problems_are_skipped() {
    let env = Env::new().await;
    let mut settings = env
        .engine
        .provisioning_settings(&env.profile.id)
        .await
        .unwrap();
    settings.username = okta365_engine::UsernameFormat::EmailLocalPart {
        domain: "fabrikam.example".into(),
    };
    env.engine
        .set_provisioning_settings(&env.profile.id, settings)
        .await
        .unwrap();
    // Two Okta members whose emails share a local part map to one UPN: both are skipped.
    let gid = env.groups_named("Office 365 Assignments").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for email in ["dup.user@corp.example", "dup.user@elsewhere.example"] {
        env.okta(
            reqwest::Method::POST,
            "api/v1/users?activate=true",
            Some(json!({
                "profile": {"firstName": "Dup", "lastName": "User", "email": email, "login": email},
                "groupIds": [gid],
            })),
        )
        .await;
    }
    let plan = env.engine.plan_run(plan_request(&env, None)).await.unwrap();
    let create = plan
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::CreateUser)
        .expect("members get accounts in the federated domain")
        .clone();
    assert!(create.target.ends_with("@fabrikam.example"), "{create:?}");
    let mut skipped: Vec<&str> = plan.skipped.iter().map(|c| c.user_label.as_str()).collect();
    skipped.sort();
    assert_eq!(
        skipped,
        ["dup.user@corp.example", "dup.user@elsewhere.example"],
        "both colliding users are skipped, nobody else"
    );
    assert!(
        plan.skipped.iter().all(|c| c
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("dup.user@fabrikam.example"))),
        "the warning names the shared UPN: {:?}",
        plan.skipped
    );
    env.engine.discard_run(&plan.run_id).await.unwrap();
    let one = env
        .engine
        .plan_run(plan_request(&env, Some(vec![create.okta_user_id.clone()])))
        .await
        .unwrap();
    let summary = env.engine.apply_run(&one.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let detail = env.engine.run_detail(&one.run_id).await.unwrap();
    assert_eq!(
        detail.steps[0].request["body"]["passwordProfile"]["forceChangePasswordNextSignIn"],
        json!(false),
        "a federated domain signs in elsewhere: no password change asked"
    );
    assert_eq!(
        upn_counts(&graph_users(&env).await).get(&create.target.to_ascii_lowercase()),
        Some(&1)
    );
}
