//! Durable stages against a real sandbox tenant on loopback, a real SQLite file and the real OS
//! keychain: listing, cancelling and running a stage now; a stage due in 400 days not run until the
//! sandbox clock passes its due time, then run and reported late; a stage whose user is back in the
//! assignments group cancelled by its run; seats recorded after the stage's license removal. Run inside
//! a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;
mod stages_common;

use okta365_engine::{ChangeKind, OperationId, RunStatus, RunTrigger, StageStatus};
use setup_common::Env;
use stages_common::*;

const DAY: i64 = 86_400;

#[tokio::test]
async fn stages_are_listed_cancelled_and_run_now() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let gone = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        400 * DAY,
    );
    let back = insert_stage(
        &env,
        MARCUS,
        MARCUS_ENTRA,
        "marcus.thompson@corp.example",
        400 * DAY,
    );
    let admin = insert_stage(
        &env,
        AALIYAH,
        AALIYAH_ENTRA,
        "aaliyah.hughes@corp.example",
        400 * DAY,
    );

    let listed = env.engine.list_stages(&id, false).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().all(|s| s.status == StageStatus::Pending
            && s.late_secs.is_none()
            && s.kind == "removeLicenses"),
        "{listed:?}"
    );

    let cancelled = env.engine.cancel_stage(admin).await.unwrap();
    assert_eq!(cancelled.status, StageStatus::Cancelled);
    assert!(cancelled.cancel_reason.is_some() && cancelled.finished_at.is_some());
    let e = env.engine.cancel_stage(admin).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("only a pending stage can be cancelled"),
        "{e}"
    );
    let e = env.engine.cancel_stage(987_654).await.unwrap_err();
    assert!(e.to_string().contains("No stage has the id 987654"), "{e}");
    assert_eq!(env.engine.list_stages(&id, false).await.unwrap().len(), 2);
    assert_eq!(
        env.engine.list_stages(&id, true).await.unwrap().len(),
        3,
        "finished stages with --all"
    );

    // Marcus is still in the assignments group: his stage is cancelled, nothing is removed.
    let (_, marcus_before) = entra_user(&env, MARCUS_ENTRA).await;
    let run = env.engine.run_stage_now(back, &()).await.unwrap();
    assert_eq!(run.trigger, RunTrigger::Schedule);
    assert_eq!(run.changes, 0, "the run has no changes");
    let stage = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == back)
        .unwrap();
    assert_eq!(stage.status, StageStatus::Cancelled);
    assert_eq!(
        stage.cancel_reason.as_deref(),
        Some("back in the assignments group")
    );
    assert_eq!(entra_user(&env, MARCUS_ENTRA).await.1, marcus_before);

    // Isabella left: her direct licenses are removed now, long before the due time.
    let (_, before) = entra_user(&env, ISABELLA_ENTRA).await;
    assert!(before.contains(&ENTERPRISEPACK.to_owned()), "{before:?}");
    let run = env.engine.run_stage_now(gone, &()).await.unwrap();
    assert_eq!(run.operation, OperationId::Deactivation);
    assert_eq!(run.trigger, RunTrigger::Schedule);
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let detail = env.engine.run_detail(&run.run_id).await.unwrap();
    assert!(
        detail
            .plan
            .changes
            .iter()
            .any(|c| c.kind == ChangeKind::RemoveLicenses),
        "{:?}",
        detail.plan.changes
    );
    assert!(detail.plan.guard.is_none(), "stage runs are not guarded");
    let (_, after) = entra_user(&env, ISABELLA_ENTRA).await;
    assert!(after.is_empty(), "no direct license left: {after:?}");
    let stage = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == gone)
        .unwrap();
    assert_eq!(stage.status, StageStatus::Done);
    assert_eq!(stage.run_id.as_deref(), Some(run.run_id.as_str()));
    assert!(stage.started_at.is_some() && stage.finished_at.is_some());
    assert_eq!(
        stage.late_secs,
        Some(0),
        "run before its due time: not late"
    );
    let e = env.engine.run_stage_now(gone, &()).await.unwrap_err();
    assert!(e.to_string().contains("only a pending stage"), "{e}");

    // The removal freed a seat: the history has a point per SKU for that run.
    let seats = env.engine.seat_history(&id, None).await.unwrap();
    let point = seats
        .iter()
        .find(|p| p.sku_id == ENTERPRISEPACK)
        .expect("a point for ENTERPRISEPACK");
    assert_eq!(point.sku_part_number, "ENTERPRISEPACK");
    assert!(
        point.enabled >= point.consumed && point.enabled > 0,
        "{point:?}"
    );
    assert!(
        env.engine.list_stages(&id, false).await.unwrap().is_empty(),
        "nothing pending any more"
    );
}

#[tokio::test]
async fn a_stage_due_in_400_days_runs_when_the_tenant_clock_passes_it_and_is_reported_late() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let stage = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        400 * DAY,
    );

    let report = env.engine.run_due_stages(Some(&id), &()).await.unwrap();
    assert!(
        report.ran.is_empty() && report.late.is_empty(),
        "{report:?}"
    );
    assert_eq!(
        env.engine.list_stages(&id, false).await.unwrap()[0].status,
        StageStatus::Pending
    );

    advance_clock(&env, 400 * DAY + 120).await;
    let listed = env.engine.list_stages(&id, false).await.unwrap();
    let overdue = listed[0].late_secs.expect("overdue on the tenant clock");
    assert!((110..=300).contains(&overdue), "{overdue}");

    let report = env.engine.run_due_stages(None, &()).await.unwrap();
    assert_eq!(report.ran.len(), 1, "{report:?}");
    assert_eq!(report.ran[0].status, RunStatus::Succeeded);
    assert_eq!(report.late.len(), 1);
    let late = &report.late[0];
    assert_eq!(late.id, stage);
    let secs = late.late_secs.unwrap();
    assert!(
        (110..=300).contains(&secs),
        "late by about 120 s, not {secs}"
    );
    assert!(entra_user(&env, ISABELLA_ENTRA).await.1.is_empty());
    let done = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == stage)
        .unwrap();
    assert_eq!(done.status, StageStatus::Done);

    // Nothing due any more: a second round runs nothing.
    let report = env.engine.run_due_stages(Some(&id), &()).await.unwrap();
    assert!(report.ran.is_empty());
}

#[tokio::test]
async fn a_due_stage_whose_user_is_back_in_the_group_is_cancelled() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let stage = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        10,
    );
    join_group(&env, ISABELLA).await;
    advance_clock(&env, 60).await;
    let report = env.engine.run_due_stages(Some(&id), &()).await.unwrap();
    assert_eq!(report.ran.len(), 1);
    assert_eq!(report.ran[0].changes, 0);
    let s = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == stage)
        .unwrap();
    assert_eq!(s.status, StageStatus::Cancelled);
    assert_eq!(
        s.cancel_reason.as_deref(),
        Some("back in the assignments group")
    );
    assert!(
        entra_user(&env, ISABELLA_ENTRA)
            .await
            .1
            .contains(&ENTERPRISEPACK.to_owned()),
        "the licenses are kept"
    );
}

#[tokio::test]
async fn a_stage_whose_run_fails_is_failed_and_keeps_its_run() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let stage = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        -5,
    );
    env.control(
        "faults",
        serde_json::json!({
            "status": 503,
            "count": 50,
            "path_prefix": format!("/v1.0/users/{ISABELLA_ENTRA}/assignLicense"),
            "method": "POST",
        }),
    )
    .await;
    let report = env.engine.run_due_stages(Some(&id), &()).await.unwrap();
    assert_eq!(report.ran.len(), 1);
    assert_eq!(report.ran[0].status, RunStatus::Failed, "{report:?}");
    assert!(report.late.is_empty(), "5 s past due is on time");
    let s = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == stage)
        .unwrap();
    assert_eq!(s.status, StageStatus::Failed);
    assert_eq!(s.run_id.as_deref(), Some(report.ran[0].run_id.as_str()));
    assert!(
        entra_user(&env, ISABELLA_ENTRA)
            .await
            .1
            .contains(&ENTERPRISEPACK.to_owned()),
        "nothing was removed"
    );
    let e = env.engine.run_stage_now(stage, &()).await.unwrap_err();
    assert!(e.to_string().contains("is failed"), "{e}");
}

const CHILD_STAGE: &str = "OKTA365_TEST_CHILD_STAGE";
const CHILD_DIR: &str = "OKTA365_TEST_CHILD_DIR";

/// The child: runs the stage named in the environment now (a no-op in a normal test run).
#[tokio::test]
async fn child_stage_now() {
    let (Ok(stage), Ok(dir)) = (std::env::var(CHILD_STAGE), std::env::var(CHILD_DIR)) else {
        return;
    };
    let engine =
        okta365_engine::Engine::open(okta365_engine::Paths::at(std::path::Path::new(&dir)))
            .await
            .unwrap();
    engine
        .run_stage_now(stage.parse().unwrap(), &())
        .await
        .unwrap();
    eprintln!("child finished without pausing");
}

#[tokio::test]
async fn a_stage_run_killed_mid_write_is_finished_by_resume() {
    use std::io::{BufRead, BufReader};
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    let stage = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        400 * DAY,
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_stage_now",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_STAGE, stage.to_string())
        .env(CHILD_DIR, env.dir.path())
        .env("OKTA365_TEST_PAUSE_BEFORE_STEP", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at step") || line.contains("child finished") {
                let _ = tx.send(line);
                return;
            }
            seen.push(line);
        }
        let _ = tx.send(format!("the child ended: {}", seen.join("\n")));
    });
    let line =
        tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(120)))
            .await
            .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.unwrap();
    assert!(line.contains("paused at step 1"), "{line}");

    let running = env.engine.list_stages(&id, false).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(
        running[0].status,
        StageStatus::Running,
        "the crash leaves it running"
    );
    let run_id = running[0].run_id.clone().expect("with its run");
    assert!(
        entra_user(&env, ISABELLA_ENTRA)
            .await
            .1
            .contains(&ENTERPRISEPACK.to_owned()),
        "the write was not sent"
    );

    let resumed = env.engine.resume_runs(&()).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].run_id, run_id);
    assert_eq!(resumed[0].status, RunStatus::Succeeded);
    let s = env
        .engine
        .list_stages(&id, true)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.id == stage)
        .unwrap();
    assert_eq!(s.status, StageStatus::Done, "resume finished the stage");
    assert!(entra_user(&env, ISABELLA_ENTRA).await.1.is_empty());
}

#[tokio::test]
async fn the_stages_due_in_one_round_run_as_one_run_and_each_is_settled_on_its_own() {
    let env = Env::new().await;
    let id = env.profile.id.clone();
    leave_group(&env, ISABELLA).await;
    leave_group(&env, MARCUS).await;
    leave_group(&env, AALIYAH).await;
    let isabella = insert_stage(
        &env,
        ISABELLA,
        ISABELLA_ENTRA,
        "isabella.singh@corp.example",
        10,
    );
    let marcus = insert_stage(
        &env,
        MARCUS,
        MARCUS_ENTRA,
        "marcus.thompson@corp.example",
        20,
    );
    // Aaliyah returns before her stage is due: hers is cancelled, the others run.
    let aaliyah = insert_stage(
        &env,
        AALIYAH,
        AALIYAH_ENTRA,
        "aaliyah.hughes@corp.example",
        30,
    );
    join_group(&env, AALIYAH).await;
    advance_clock(&env, 120).await;

    let report = env.engine.run_due_stages(Some(&id), &()).await.unwrap();
    assert_eq!(report.ran.len(), 1, "one run for the round: {report:?}");
    let run = &report.ran[0];
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    assert_eq!(run.trigger, RunTrigger::Schedule);
    assert_eq!(run.users, 2, "Isabella's and Marcus's changes: {run:?}");

    let stages = env.engine.list_stages(&id, true).await.unwrap();
    let status = |stage: i64| stages.iter().find(|s| s.id == stage).unwrap().clone();
    assert_eq!(status(isabella).status, StageStatus::Done);
    assert_eq!(status(marcus).status, StageStatus::Done);
    assert_eq!(
        status(isabella).run_id.as_deref(),
        Some(run.run_id.as_str())
    );
    assert_eq!(status(marcus).run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(status(aaliyah).status, StageStatus::Cancelled);
    assert!(entra_user(&env, ISABELLA_ENTRA).await.1.is_empty());
    assert!(
        !entra_user(&env, AALIYAH_ENTRA).await.1.is_empty(),
        "the returner keeps her licenses"
    );
}
