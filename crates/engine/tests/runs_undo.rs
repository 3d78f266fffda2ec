//! Undo against a real sandbox tenant on loopback, a real SQLite file and the real OS keychain: the undo
//! of a licenses run removes exactly the SKUs it added, assigns a replaced SKU back with its old disabled
//! plans, and leaves alone what was already so when the run applied it; the undo of a deactivation enables the account
//! and cancels the pending stage, or gives the removed licenses back once the stage ran; a profile sync
//! is undone to the old values; a planned run, an undo run and a run already undone are refused. Run
//! inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;
mod stages_common;

use okta365_engine::{
    ChangeKind, GroupRole, LicenseAssignment, OperationId, PlanRunRequest, RunFilter, RunPlan,
    RunStatus, RunSummary, RunTrigger, StageStatus, StepStatus,
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

/// TEAMS1, a service plan of ENTERPRISEPACK.
const TEAMS1: &str = "57ff2da0-773e-42df-b2af-ffb7a2317929";

/// The disabled plans of a user's direct license of `sku` (lower case), `None` when not held directly.
async fn direct_plans(env: &Env, id: &str, sku: &str) -> Option<Vec<String>> {
    let u = graph_get(
        env,
        &format!("users/{id}?$select=id,licenseAssignmentStates"),
    )
    .await;
    u["licenseAssignmentStates"]
        .as_array()?
        .iter()
        .find(|s| {
            s["assignedByGroup"].is_null()
                && s["skuId"]
                    .as_str()
                    .is_some_and(|k| k.eq_ignore_ascii_case(sku))
        })
        .map(|s| {
            s["disabledPlans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
}

#[tokio::test]
async fn undoing_a_replaced_license_assigns_it_back_with_the_old_disabled_plans() {
    let env = linked(TARIQ).await;
    // Tariq holds ENTERPRISEPACK directly without Teams; the mapping wants it whole.
    graph_post(
        &env,
        &format!("users/{TARIQ_ENTRA}/assignLicense"),
        json!({ "addLicenses": [{ "skuId": ENTERPRISEPACK, "disabledPlans": [TEAMS1] }], "removeLicenses": [] }),
    )
    .await;
    let licenses = plan(&env, OperationId::Licenses, TARIQ).await;
    assert_eq!(
        kinds(&licenses),
        vec![ChangeKind::AssignLicense],
        "{licenses:?}"
    );
    let entry = &licenses.changes[0].detail.as_ref().unwrap()["add"][0];
    assert_eq!(
        entry["skuId"].as_str().unwrap().to_ascii_lowercase(),
        ENTERPRISEPACK
    );
    assert_eq!(
        entry["replaces"]["disabledPlans"],
        json!([TEAMS1]),
        "the plans held before are recorded: {entry}"
    );
    let run = apply(&env, &licenses).await;
    assert_eq!(
        direct_plans(&env, TARIQ_ENTRA, ENTERPRISEPACK).await,
        Some(vec![]),
        "the mapping's plans replaced the old ones"
    );

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert_eq!(
        kinds(&undo),
        vec![ChangeKind::AssignLicense],
        "a replaced SKU is assigned back, not removed: {undo:?}"
    );
    let back = &undo.changes[0].detail.as_ref().unwrap()["add"][0];
    assert_eq!(back["disabledPlans"], json!([TEAMS1]), "{back}");
    apply(&env, &undo).await;
    assert_eq!(
        direct_plans(&env, TARIQ_ENTRA, ENTERPRISEPACK).await,
        Some(vec![TEAMS1.to_owned()]),
        "the license is still held, with its old disabled plans"
    );
}

#[tokio::test]
async fn a_change_already_made_when_the_run_applied_it_is_not_undone() {
    let env = linked(TARIQ).await;
    let licenses = plan(&env, OperationId::Licenses, TARIQ).await;
    assert_eq!(
        kinds(&licenses),
        vec![ChangeKind::AssignLicense],
        "{licenses:?}"
    );
    // Someone assigns the same license between the plan and the apply.
    graph_post(
        &env,
        &format!("users/{TARIQ_ENTRA}/assignLicense"),
        json!({ "addLicenses": [{ "skuId": ENTERPRISEPACK, "disabledPlans": [] }], "removeLicenses": [] }),
    )
    .await;
    let run = apply(&env, &licenses).await;
    let detail = env.engine.run_detail(&run.run_id).await.unwrap();
    assert_eq!(
        detail.steps[0].status,
        StepStatus::Superseded,
        "{:?}",
        detail.steps
    );

    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert!(undo.changes.is_empty(), "nothing to take back: {undo:?}");
    let skipped = undo
        .skipped
        .iter()
        .find(|s| s.kind == ChangeKind::AssignLicense)
        .expect("the superseded assignment is listed");
    assert!(
        skipped
            .warning
            .as_deref()
            .is_some_and(|w| w.contains("already so")),
        "{skipped:?}"
    );
    env.engine.discard_run(&undo.run_id).await.unwrap();
    assert!(
        entra_user(&env, TARIQ_ENTRA)
            .await
            .1
            .contains(&ENTERPRISEPACK.to_owned()),
        "the license stays"
    );

    // The same for an account someone disabled between the plan and the apply.
    leave_group(&env, TARIQ).await;
    let deactivation = plan(&env, OperationId::Deactivation, TARIQ).await;
    assert!(
        kinds(&deactivation).contains(&ChangeKind::DisableUser),
        "{deactivation:?}"
    );
    graph_patch(
        &env,
        &format!("users/{TARIQ_ENTRA}"),
        json!({ "accountEnabled": false }),
    )
    .await;
    let run = apply(&env, &deactivation).await;
    let undo = env.engine.plan_undo(&run.run_id).await.unwrap();
    assert!(
        !kinds(&undo).contains(&ChangeKind::EnableUser),
        "the account was disabled by someone else: {undo:?}"
    );
    assert!(
        undo.skipped
            .iter()
            .any(|s| s.kind == ChangeKind::DisableUser
                && s.warning
                    .as_deref()
                    .is_some_and(|w| w.contains("already so"))),
        "{:?}",
        undo.skipped
    );
    assert!(
        kinds(&undo).contains(&ChangeKind::CancelStage),
        "the stage it scheduled is still cancelled: {undo:?}"
    );
}
