//! Undo against a real sandbox tenant on loopback, a real SQLite file and the real OS keychain: the undo
//! of a licenses run removes exactly the SKUs it added; the undo of a deactivation enables the account
//! and cancels the pending stage, or gives the removed licenses back once the stage ran; a profile sync
//! is undone to the old values; a planned run, an undo run and a run already undone are refused. Run
//! inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;
mod stages_common;

use okta365_engine::{
    ChangeKind, GroupRole, LicenseAssignment, OperationId, PlanRunRequest, RunFilter, RunPlan,
    RunStatus, RunSummary, RunTrigger, StageStatus,
};
use serde_json::json;
use setup_common::Env;
use stages_common::*;

/// Tariq Rossi (Okta): in the assignments group, his Entra account has no direct license.
const TARIQ: &str = "00uPXXjfarw9Gz3jW2F3";
const TARIQ_ENTRA: &str = "7b275515-6b56-4c67-bd4d-9be6f6274bc4";
/// EXCHANGESTANDARD of the seed.
const EXCHANGE: &str = "4b9405b0-7788-4568-add1-99614e613b69";

async fn plan(env: &Env, operation: OperationId, user: &str) -> RunPlan {
    env.engine
        .plan_run(PlanRunRequest {
            profile_id: env.profile.id.clone(),
            operation,
            users: Some(vec![user.into()]),
            trigger: RunTrigger::Manual,
        })
        .await
        .unwrap()
}

async fn apply(env: &Env, plan: &RunPlan) -> RunSummary {
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    summary
}

/// The assignments group licensed with ENTERPRISEPACK, and the user's member account linked.
async fn linked(user: &str) -> Env {
    let env = Env::new().await;
    env.engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();
    env.engine
        .set_license_assignments(
            &env.profile.id,
            vec![LicenseAssignment {
                role: GroupRole::Assignments,
                sku_id: ENTERPRISEPACK.into(),
                disabled_plans: vec![],
            }],
        )
        .await
        .unwrap();
    let accounts = plan(&env, OperationId::MemberAccounts, user).await;
    assert!(
        accounts
            .changes
            .iter()
            .all(|c| c.kind == ChangeKind::LinkUser),
        "the seeded account is linked: {:?}",
        accounts.changes
    );
    apply(&env, &accounts).await;
    env
}

fn kinds(plan: &RunPlan) -> Vec<ChangeKind> {
    plan.changes.iter().map(|c| c.kind).collect()
}

#[tokio::test]
async fn undoing_a_licenses_run_removes_exactly_the_skus_it_added() {
    let env = linked(TARIQ).await;
    let id = env.profile.id.clone();
    // A license the user already had directly is not the run's to take back.
    graph_post(
        &env,
        &format!("users/{TARIQ_ENTRA}/assignLicense"),
        json!({ "addLicenses": [{ "skuId": EXCHANGE, "disabledPlans": [] }], "removeLicenses": [] }),
    )
    .await;
    let licenses = plan(&env, OperationId::Licenses, TARIQ).await;
    assert!(
        kinds(&licenses).contains(&ChangeKind::AssignLicense),
        "{licenses:?}"
    );
    let run = apply(&env, &licenses).await;
    let (_, direct) = entra_user(&env, TARIQ_ENTRA).await;
    assert!(direct.contains(&ENTERPRISEPACK.to_owned()) && direct.contains(&EXCHANGE.to_owned()));
    let seats = env.engine.seat_history(&id, Some(1)).await.unwrap();
    assert!(
        seats.iter().any(|p| p.sku_id == ENTERPRISEPACK),
        "seats recorded after the licenses run: {seats:?}"
    );

    // A planned run cannot be undone.
    let pending = plan(&env, OperationId::Licenses, TARIQ).await;
    let e = env.engine.plan_undo(&pending.run_id).await.unwrap_err();
    assert!(
        e.to_string().contains("is planned") && e.to_string().contains("only a finished run"),
        "{e}"
    );
    env.engine.discard_run(&pending.run_id).await.unwrap();

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert_eq!(undo.trigger, RunTrigger::Undo);
    assert_eq!(undo.operation, OperationId::Licenses);
    assert_eq!(undo.undo_of.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(kinds(&undo), vec![ChangeKind::RemoveLicenses], "{undo:?}");
    let removed: Vec<String> = undo.changes[0].detail.as_ref().unwrap()["remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["skuId"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(removed, vec![ENTERPRISEPACK.to_owned()]);
    let undone = apply(&env, &undo).await;
    assert_eq!(undone.undo_of.as_deref(), Some(run.run_id.as_str()));
    let (_, direct) = entra_user(&env, TARIQ_ENTRA).await;
    assert_eq!(
        direct,
        vec![EXCHANGE.to_owned()],
        "only the added SKU is gone"
    );

    let runs = env
        .engine
        .list_runs(&id, RunFilter::default())
        .await
        .unwrap();
    let original = runs.iter().find(|r| r.run_id == run.run_id).unwrap();
    assert_eq!(original.undone_by.as_deref(), Some(undo.run_id.as_str()));
    let detail = env.engine.run_detail(&undo.run_id).await.unwrap();
    assert_eq!(detail.summary.undo_of.as_deref(), Some(run.run_id.as_str()));

    let e = env.engine.plan_undo(&run.run_id).await.unwrap_err();
    assert!(
        e.to_string().contains("already undone") && e.to_string().contains(&undo.run_id),
        "{e}"
    );
    let e = env.engine.plan_undo(&undo.run_id).await.unwrap_err();
    assert!(e.to_string().contains("itself an undo"), "{e}");
    let e = env
        .engine
        .plan_undo("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("No run has the id"), "{e}");
}

#[tokio::test]
async fn undoing_a_deactivation_enables_the_account_and_cancels_the_pending_stage() {
    let env = linked(ISABELLA).await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let deactivation = plan(&env, OperationId::Deactivation, ISABELLA).await;
    assert!(
        kinds(&deactivation).contains(&ChangeKind::DisableUser)
            && kinds(&deactivation).contains(&ChangeKind::ScheduleStage),
        "{deactivation:?}"
    );
    let run = apply(&env, &deactivation).await;
    assert!(!entra_user(&env, ISABELLA_ENTRA).await.0, "disabled");
    let stages = env.engine.list_stages(&id, false).await.unwrap();
    assert_eq!(stages.len(), 1);
    let stage = stages[0].id;

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert_eq!(
        kinds(&undo),
        vec![ChangeKind::CancelStage, ChangeKind::EnableUser],
        "newest first: {undo:?}"
    );
    assert!(
        undo.skipped
            .iter()
            .any(|s| s.kind == ChangeKind::RevokeSessions && s.warning.is_some()),
        "kinds without an inverse are listed: {:?}",
        undo.skipped
    );
    apply(&env, &undo).await;
    let (enabled, direct) = entra_user(&env, ISABELLA_ENTRA).await;
    assert!(enabled, "enabled again");
    assert!(direct.contains(&ENTERPRISEPACK.to_owned()), "licenses kept");
    let s = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == stage)
        .unwrap();
    assert_eq!(s.status, StageStatus::Cancelled);
}

#[tokio::test]
async fn undoing_a_deactivation_whose_stage_ran_gives_the_licenses_back() {
    let env = linked(ISABELLA).await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let run = apply(&env, &plan(&env, OperationId::Deactivation, ISABELLA).await).await;
    let stage = env.engine.list_stages(&id, false).await.unwrap()[0].id;
    let stage_run = env.engine.run_stage_now(stage, &()).await.unwrap();
    assert_eq!(stage_run.status, RunStatus::Succeeded);
    assert!(entra_user(&env, ISABELLA_ENTRA).await.1.is_empty());

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert_eq!(
        kinds(&undo),
        vec![ChangeKind::AssignLicense, ChangeKind::EnableUser],
        "the stage run's removal first, then the disable: {undo:?}"
    );
    let added: Vec<String> = undo.changes[0].detail.as_ref().unwrap()["add"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["skuId"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(added, vec![ENTERPRISEPACK.to_owned()]);
    apply(&env, &undo).await;
    let (enabled, direct) = entra_user(&env, ISABELLA_ENTRA).await;
    assert!(enabled);
    assert_eq!(direct, vec![ENTERPRISEPACK.to_owned()]);
}

#[tokio::test]
async fn undoing_a_profile_sync_restores_the_old_values() {
    let env = linked(TARIQ).await;
    let before = graph_get(&env, &format!("users/{TARIQ_ENTRA}?$select=id,jobTitle")).await;
    let old = before["jobTitle"].clone();
    env.okta(
        reqwest::Method::POST,
        &format!("api/v1/users/{TARIQ}"),
        Some(json!({ "profile": { "title": "Chief Undo Officer" } })),
    )
    .await;
    let sync = plan(&env, OperationId::ProfileSync, TARIQ).await;
    assert_eq!(kinds(&sync), vec![ChangeKind::UpdateUser], "{sync:?}");
    let run = apply(&env, &sync).await;
    let now = graph_get(&env, &format!("users/{TARIQ_ENTRA}?$select=id,jobTitle")).await;
    assert_eq!(now["jobTitle"], "Chief Undo Officer");

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert_eq!(kinds(&undo), vec![ChangeKind::UpdateUser]);
    let title = undo.changes[0]
        .fields
        .iter()
        .find(|f| f.field == "jobTitle")
        .expect("the title goes back");
    assert_eq!(title.from.as_deref(), Some("Chief Undo Officer"));
    apply(&env, &undo).await;
    let after = graph_get(&env, &format!("users/{TARIQ_ENTRA}?$select=id,jobTitle")).await;
    assert_eq!(after["jobTitle"], old, "the old value is back");
}
