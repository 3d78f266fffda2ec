//! The staged deactivation below the UI, against a real sandbox tenant on loopback, a real SQLite
//! file and the real OS keychain: stage 1 (account disabled, sessions revoked, licenses saved, the
//! manager emailed, license removal scheduled at the sandbox's now + the delay), stage 2 (licenses
//! removed, the second email), then activation (enabled, the snapshot restored exactly, the third
//! email); one email per stage, never two. A user without a manager is reported. Run inside a D-Bus
//! session with an unlocked gnome-keyring.

mod lifecycle_common;
mod setup_common;

use jiff::Timestamp;
use lifecycle_common::*;
use okta365_engine::{ChangeKind, OperationId, StepStatus};
use serde_json::Value;

const ISABELLA: &str = "isabella.singh@corp.example";

fn kinds(plan: &okta365_engine::RunPlan, okta: &str) -> Vec<ChangeKind> {
    plan.changes
        .iter()
        .filter(|c| c.okta_user_id == okta)
        .map(|c| c.kind)
        .collect()
}

async fn sandbox_now(env: &setup_common::Env) -> Timestamp {
    let state: Value = reqwest::get(env.url("_sandbox/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let offset = state["clock"]["offsetSecs"].as_i64().unwrap_or(0);
    Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(offset))
        .unwrap()
}

#[tokio::test]
async fn stage_one_stage_two_then_activation_restore_exactly_with_one_email_each() {
    let env = with_accounts(&[E3]).await;
    lifecycle(&env, 3600).await;
    let group = assignments_group(&env).await;
    let okta = okta_id(&env, ISABELLA).await;
    let entra = entra_of(&env, &okta);
    let manager_id = env
        .okta(reqwest::Method::GET, &format!("api/v1/users/{okta}"), None)
        .await["profile"]["managerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let manager_email = env
        .okta(
            reqwest::Method::GET,
            &format!("api/v1/users/{manager_id}"),
            None,
        )
        .await["profile"]["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = direct(&licensed(&env, &entra).await);
    assert!(!before.is_empty(), "the seeded user holds a direct license");

    // Stage 1.
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{okta}"),
        None,
    )
    .await;
    let stage1 = plan(&env, OperationId::Deactivation, Some(vec![ISABELLA.into()])).await;
    assert_eq!(
        kinds(&stage1, &okta),
        vec![
            ChangeKind::DisableUser,
            ChangeKind::RevokeSessions,
            ChangeKind::SnapshotLicenses,
            ChangeKind::EmailManager,
            ChangeKind::ScheduleStage
        ],
        "{stage1:?}"
    );
    let email = stage1
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::EmailManager)
        .unwrap();
    assert_eq!(email.target, manager_email);
    assert_eq!(email.detail.as_ref().unwrap()["stage"], "disabled");
    assert_eq!(email.detail.as_ref().unwrap()["sender"], SENDER);
    let planned_at = sandbox_now(&env).await;
    apply(&env, &stage1).await;

    let user = licensed(&env, &entra).await;
    assert_eq!(user["accountEnabled"], false, "{user}");
    let pid = env.profile.id.parse().unwrap();
    let snapshot = env
        .store()
        .snapshot(pid, &okta)
        .unwrap()
        .expect("a snapshot");
    let saved: Vec<Value> = serde_json::from_str(&snapshot.licenses).unwrap();
    assert_eq!(saved.len(), before.len());
    assert!(saved[0]["disabledPlans"].is_array(), "{saved:?}");
    let outbox = mails(&env).await;
    assert_eq!(outbox.len(), 1, "one email for stage 1: {outbox:?}");
    assert!(
        outbox[0]["to"].to_string().contains(&manager_email),
        "{outbox:?}"
    );
    let detail = env.engine.run_detail(&stage1.run_id).await.unwrap();
    let sent = detail
        .steps
        .iter()
        .find(|s| s.kind == ChangeKind::EmailManager)
        .unwrap();
    assert_eq!(sent.status, StepStatus::Done, "{sent:?}");
    assert!(sent.request["body"].is_string() && sent.request["subject"].is_string());
    let revoke = detail
        .steps
        .iter()
        .find(|s| s.kind == ChangeKind::RevokeSessions)
        .unwrap();
    assert_eq!(revoke.status, StepStatus::Done, "{revoke:?}");
    let stage = env
        .store()
        .pending_stage_for(pid, &okta)
        .unwrap()
        .expect("a pending stage");
    let due = stage.due_at.duration_since(planned_at).as_secs();
    assert!(
        (3590..=3660).contains(&due),
        "due at the sandbox's now + 1 hour: {due}"
    );

    // A second deactivation plan has nothing for the user: disabled and its removal pending.
    let again = plan(&env, OperationId::Deactivation, Some(vec![ISABELLA.into()])).await;
    assert!(again.changes.is_empty(), "{:?}", again.changes);

    // Stage 2.
    let summary = env.engine.run_stage_now(stage.id, &()).await.unwrap();
    assert_eq!(summary.failed, 0, "{summary:?}");
    let user = licensed(&env, &entra).await;
    assert!(direct(&user).is_empty(), "direct licenses removed: {user}");
    let outbox = mails(&env).await;
    assert_eq!(outbox.len(), 2, "one email per stage: {outbox:?}");

    // Activation.
    env.okta(
        reqwest::Method::PUT,
        &format!("api/v1/groups/{group}/users/{okta}"),
        Some(serde_json::json!({})),
    )
    .await;
    let activation = plan(&env, OperationId::Activation, Some(vec![ISABELLA.into()])).await;
    assert_eq!(
        kinds(&activation, &okta),
        vec![
            ChangeKind::EnableUser,
            ChangeKind::AssignLicense,
            ChangeKind::EmailManager
        ],
        "{activation:?}"
    );
    let assign = activation
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::AssignLicense)
        .unwrap();
    assert_eq!(assign.detail.as_ref().unwrap()["source"], "snapshot");
    apply(&env, &activation).await;
    let user = licensed(&env, &entra).await;
    assert_eq!(user["accountEnabled"], true);
    let mut after = direct(&user);
    let mut expected = before.clone();
    after.sort_by(|a, b| a.0.cmp(&b.0));
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(after, expected, "the snapshot restored exactly");
    let snapshot = env.store().snapshot(pid, &okta).unwrap().unwrap();
    assert!(
        snapshot.restored_at.is_some(),
        "the snapshot is marked restored"
    );
    let outbox = mails(&env).await;
    assert_eq!(
        outbox.len(),
        3,
        "one email per stage, none twice: {outbox:?}"
    );
    let subjects: std::collections::HashSet<String> =
        outbox.iter().map(|m| m["subject"].to_string()).collect();
    assert_eq!(subjects.len(), 3, "three different emails: {outbox:?}");
}

#[tokio::test]
async fn a_user_without_a_manager_is_deactivated_and_the_email_reported() {
    let env = with_accounts(&[E3]).await;
    lifecycle(&env, 3600).await;
    let group = assignments_group(&env).await;
    // marcus.thompson is the top of the hierarchy: no managerId.
    let okta = okta_id(&env, "marcus.thompson@corp.example").await;
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{okta}"),
        None,
    )
    .await;
    let stage1 = plan(&env, OperationId::Deactivation, None).await;
    assert!(kinds(&stage1, &okta).contains(&ChangeKind::DisableUser));
    assert!(!kinds(&stage1, &okta).contains(&ChangeKind::EmailManager));
    let report = stage1
        .skipped
        .iter()
        .find(|c| c.okta_user_id == okta && c.kind == ChangeKind::EmailManager)
        .expect("the missing manager is reported");
    assert_eq!(
        report.warning.as_deref(),
        Some("No manager in Okta (managerId is empty): nobody is emailed")
    );
    apply(&env, &stage1).await;
    assert!(mails(&env).await.is_empty(), "nobody was emailed");
}
