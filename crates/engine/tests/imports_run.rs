//! Imports on the run journal against the real sandbox (docs/imports.md "Plan and apply"): a CSV source
//! planned into sessions and bulk requests and applied through Okta's identity-source sessions, with
//! the sandbox's session rules scaled down (2 s between sessions, 1 s processing). What Okta received
//! is read back from `/_sandbox/identity-sources/{id}/stats` and the org's users.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use std::{
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use okta365_engine::{
    ChangeKind, Engine, ImportPlan, ImportRequest, ImportStop, OktaAuthInput, Paths, RunStatus,
    SaveOktaRequest, SourceSpec,
};
use reqwest::Method;
use serde_json::{Value, json};
use setup_common::Env;

const SOURCE_ID: &str = "0oa5hrsrc0sandbox1d7";
const CHILD_IMPORT: &str = "OKTA365_TEST_CHILD_IMPORT";
const CHILD_DIR: &str = "OKTA365_TEST_CHILD_DIR";

/// A user row of the test CSV.
#[derive(Clone)]
struct Row {
    id: String,
    first: String,
    email: String,
    status: &'static str,
}

fn row(n: usize) -> Row {
    Row {
        id: format!("E{n:05}"),
        first: format!("Ann{n}"),
        email: format!("ann.{n}@hr.example.com"),
        status: "active",
    }
}

fn rows(n: usize) -> Vec<Row> {
    (1..=n).map(row).collect()
}

/// Writes the rows as a CSV file; returns its path.
fn write_csv(env: &Env, name: &str, rows: &[Row]) -> PathBuf {
    let path = env.dir.path().join(format!("{name}.csv"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "employee_id,first_name,last_name,email,status").unwrap();
    for r in rows {
        writeln!(f, "{},{},Lee,{},{}", r.id, r.first, r.email, r.status).unwrap();
    }
    f.flush().unwrap();
    path
}

/// The profile imports into the sandbox's identity source; the session rules are scaled down.
async fn ready(env: &Env) {
    env.engine
        .save_okta(SaveOktaRequest {
            profile_id: env.profile.id.clone(),
            org_url: env.sandbox.urls().okta_org.to_string(),
            auth: OktaAuthInput::ApiToken { token: None },
            identity_source_id: Some(SOURCE_ID.into()),
        })
        .await
        .unwrap();
    env.control(
        "identity-sources/rules",
        json!({ "minGapSecs": 2, "processingSecs": 1, "secsPer1000Users": 0 }),
    )
    .await;
}

/// Saves the CSV as source `hr` with the suggested mapping.
async fn save_source(env: &Env, path: &std::path::Path) {
    let source = SourceSpec::Csv {
        path: path.display().to_string(),
        delimiter: None,
    };
    let mapping = env
        .engine
        .suggest_mapping(&env.profile.id, source.clone(), None)
        .await
        .unwrap();
    assert!(mapping.active.is_some(), "status is the active column");
    env.engine
        .save_import_mapping(&env.profile.id, "hr", source, mapping)
        .await
        .unwrap();
}

fn request(env: &Env) -> ImportRequest {
    ImportRequest {
        profile_id: env.profile.id.clone(),
        source_name: "hr".into(),
        delta: true,
        full_resync: false,
        max_reject_percent: None,
        max_deactivations: None,
    }
}

async fn plan(env: &Env) -> ImportPlan {
    env.engine.plan_import(request(env)).await.unwrap()
}

async fn stats(env: &Env) -> Value {
    env.okta(
        Method::GET,
        &format!("_sandbox/identity-sources/{SOURCE_ID}/stats"),
        None,
    )
    .await
}

async fn okta_user(env: &Env, login: &str) -> Value {
    env.okta(Method::GET, &format!("api/v1/users/{login}"), None)
        .await
}

async fn sessions(env: &Env) -> Vec<Value> {
    env.okta(
        Method::GET,
        &format!("api/v1/identity-sources/{SOURCE_ID}/sessions"),
        None,
    )
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

async fn kinds(env: &Env, import_id: &str) -> Vec<ChangeKind> {
    env.engine
        .run_detail(import_id)
        .await
        .unwrap()
        .plan
        .changes
        .iter()
        .map(|c| c.kind)
        .collect()
}

#[tokio::test]
async fn chunks_of_200_at_199_200_and_201_users() {
    let env = Env::new().await;
    ready(&env).await;
    let mut sent = 0;
    for (n, requests) in [(199, 1), (200, 1), (201, 2)] {
        // Fresh users each round (a full resync would count the earlier ones as unchanged anyway).
        let batch: Vec<Row> = (1..=n).map(|i| row(sent + i)).collect();
        sent += n;
        let path = write_csv(&env, "hr", &batch);
        save_source(&env, &path).await;
        let plan = plan(&env).await;
        assert_eq!(
            (plan.records, plan.active, plan.sessions, plan.bulk_requests),
            (n as u32, n as u32, 1, requests),
            "{n} users"
        );
        let steps = kinds(&env, &plan.import_id).await;
        assert_eq!(steps[0], ChangeKind::CreateSession);
        assert_eq!(
            steps
                .iter()
                .filter(|k| **k == ChangeKind::BulkUpsert)
                .count(),
            requests as usize
        );
        let before = stats(&env).await;
        let done = env
            .engine
            .apply_import(&plan.import_id, None, &())
            .await
            .unwrap();
        assert_eq!(done.status, RunStatus::Succeeded, "{n} users");
        let after = stats(&env).await;
        assert_eq!(
            after["bulkRequests"].as_u64().unwrap() - before["bulkRequests"].as_u64().unwrap(),
            u64::from(requests)
        );
        assert_eq!(
            after["usersUpserted"].as_u64().unwrap() - before["usersUpserted"].as_u64().unwrap(),
            n as u64
        );
    }
    let user = okta_user(&env, "ann.1@hr.example.com").await;
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(user["profile"]["firstName"], "Ann1");
    let list = env.engine.list_imports(&env.profile.id).await.unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].upserted, 201, "newest first: {:?}", list[0]);
    assert!(
        list[0].outcome.starts_with("Succeeded"),
        "{}",
        list[0].outcome
    );
}

#[tokio::test]
async fn ten_thousand_users_are_one_session_and_one_more_needs_a_second() {
    let env = Env::new().await;
    ready(&env).await;
    let path = write_csv(&env, "hr", &rows(10_000));
    save_source(&env, &path).await;
    let one = plan(&env).await;
    assert_eq!((one.sessions, one.bulk_requests), (1, 50));
    env.engine.discard_run(&one.import_id).await.unwrap();

    let path = write_csv(&env, "hr", &rows(10_001));
    save_source(&env, &path).await;
    let two = plan(&env).await;
    assert_eq!((two.sessions, two.bulk_requests), (2, 51));
    assert!(
        two.expected_secs >= 300,
        "the 5-minute rule between sessions is in the estimate: {}",
        two.expected_secs
    );
    let steps = kinds(&env, &two.import_id).await;
    assert_eq!(
        steps
            .iter()
            .filter(|k| **k == ChangeKind::CreateSession)
            .count(),
        2
    );
    let started = std::time::Instant::now();
    let done = env
        .engine
        .apply_import(&two.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    let s = stats(&env).await;
    assert_eq!(s["sessions"], 2);
    assert_eq!(s["bulkRequests"], 51);
    assert_eq!(s["usersUpserted"], 10_001);
    assert!(
        started.elapsed() < Duration::from_secs(240),
        "the scaled gap is waited out, not 5 minutes"
    );
    let last = okta_user(&env, "ann.10001@hr.example.com").await;
    assert_eq!(last["status"], "ACTIVE");
}

#[tokio::test]
async fn a_stale_created_session_is_deleted_and_an_active_one_waited_for() {
    let env = Env::new().await;
    ready(&env).await;
    let path = write_csv(&env, "hr", &rows(3));
    save_source(&env, &path).await;

    // A stale CREATED session left by someone else.
    let stale = env
        .okta(
            Method::POST,
            &format!("api/v1/identity-sources/{SOURCE_ID}/sessions"),
            Some(json!({})),
        )
        .await;
    let stale_id = stale["id"].as_str().unwrap().to_owned();
    let p = plan(&env).await;
    assert_eq!(p.stale_sessions, vec![stale_id.clone()]);
    assert_eq!(
        kinds(&env, &p.import_id).await[0],
        ChangeKind::DeleteSession
    );
    let done = env
        .engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    let closed = env
        .okta(
            Method::GET,
            &format!("api/v1/identity-sources/{SOURCE_ID}/sessions/{stale_id}"),
            None,
        )
        .await;
    assert_eq!(closed["status"], "CLOSED");

    // An active (TRIGGERED) session, processing for 4 s: the import waits for it.
    env.control(
        "identity-sources/rules",
        json!({ "minGapSecs": 0, "processingSecs": 4 }),
    )
    .await;
    let running = env
        .okta(
            Method::POST,
            &format!("api/v1/identity-sources/{SOURCE_ID}/sessions"),
            Some(json!({})),
        )
        .await;
    let running_id = running["id"].as_str().unwrap().to_owned();
    env.okta(
        Method::POST,
        &format!("api/v1/identity-sources/{SOURCE_ID}/sessions/{running_id}/bulk-upsert"),
        Some(json!({ "entityType": "USERS", "profiles": [{ "externalId": "X1", "profile": {
            "userName": "x1@hr.example.com", "email": "x1@hr.example.com", "firstName": "X", "lastName": "One" } }] })),
    )
    .await;
    env.okta(
        Method::POST,
        &format!("api/v1/identity-sources/{SOURCE_ID}/sessions/{running_id}/start-import"),
        Some(json!({})),
    )
    .await;
    let path = write_csv(&env, "hr", &[row(1), row(2), row(3), row(4)]);
    save_source(&env, &path).await;
    let p = plan(&env).await;
    assert_eq!(p.active_session.as_deref(), Some(running_id.as_str()));
    assert_eq!(p.active, 1, "the three imported users are unchanged");
    assert_eq!(p.unchanged, 3);
    let done = env
        .engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded, "waited, never failed");
    assert_eq!(
        okta_user(&env, "ann.4@hr.example.com").await["status"],
        "ACTIVE"
    );
    assert!(sessions(&env).await.is_empty(), "no session left open");
}

#[tokio::test]
async fn a_session_that_errors_leaves_the_import_partial_and_its_users_planned_again() {
    let env = Env::new().await;
    ready(&env).await;
    let path = write_csv(&env, "hr", &rows(5));
    save_source(&env, &path).await;
    env.control("identity-sources/fail-next", json!({})).await;
    let p = plan(&env).await;
    let done = env
        .engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Partial);
    let detail = env.engine.run_detail(&p.import_id).await.unwrap();
    let wait = detail
        .steps
        .iter()
        .find(|s| s.kind == ChangeKind::AwaitSession)
        .unwrap();
    assert_eq!(wait.vendor_code.as_deref(), Some("ERROR"));
    assert!(
        wait.fix
            .as_deref()
            .unwrap()
            .contains("Plan the import again")
    );
    let again = plan(&env).await;
    assert_eq!(
        (again.active, again.unchanged),
        (5, 0),
        "no hash was written for the failed session"
    );
    let done = env
        .engine
        .apply_import(&again.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(
        okta_user(&env, "ann.5@hr.example.com").await["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn delta_uploads_only_the_changed_record_and_an_inactive_one_deactivates_its_user() {
    let env = Env::new().await;
    ready(&env).await;
    let mut people = rows(20);
    let path = write_csv(&env, "hr", &people);
    save_source(&env, &path).await;
    let first = plan(&env).await;
    env.engine
        .apply_import(&first.import_id, None, &())
        .await
        .unwrap();
    let before = stats(&env).await;

    people[3].first = "Annabel".into();
    write_csv(&env, "hr", &people);
    let second = plan(&env).await;
    assert_eq!(
        (second.active, second.inactive, second.unchanged),
        (1, 0, 19)
    );
    env.engine
        .apply_import(&second.import_id, None, &())
        .await
        .unwrap();
    let after = stats(&env).await;
    assert_eq!(
        after["usersUpserted"].as_u64().unwrap() - before["usersUpserted"].as_u64().unwrap(),
        1,
        "only the changed record was uploaded"
    );
    assert_eq!(
        okta_user(&env, "ann.4@hr.example.com").await["profile"]["firstName"],
        "Annabel"
    );

    people[7].status = "terminated";
    write_csv(&env, "hr", &people);
    let third = plan(&env).await;
    assert_eq!((third.active, third.inactive), (0, 1));
    assert!(
        kinds(&env, &third.import_id)
            .await
            .contains(&ChangeKind::BulkDelete)
    );
    let done = env
        .engine
        .apply_import(&third.import_id, None, &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(
        okta_user(&env, "ann.8@hr.example.com").await["status"],
        "DEPROVISIONED"
    );

    let full = env
        .engine
        .plan_import(ImportRequest {
            full_resync: true,
            ..request(&env)
        })
        .await
        .unwrap();
    assert_eq!((full.active, full.inactive, full.unchanged), (19, 1, 0));
}

#[tokio::test]
async fn too_many_rejects_stop_the_import_and_deactivations_need_a_confirmation() {
    let env = Env::new().await;
    ready(&env).await;
    let mut people = rows(100);
    people[10].email = "not-an-email".into();
    people[20].id = people[21].id.clone();
    let path = write_csv(&env, "hr", &people);
    save_source(&env, &path).await;
    let p = plan(&env).await;
    assert_eq!(p.rejected, 2);
    assert_eq!(p.stopped, Some(ImportStop::Rejects), "2 of 100 is over 1 %");
    assert_eq!(p.rejects.len(), 2);
    assert_eq!(p.rejects[0].position, 12, "line 12: the header is line 1");
    let refused = env
        .engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("2 of its 100"), "{refused}");
    assert_eq!(stats(&env).await["bulkRequests"], 0, "nothing uploaded");
    let csv = env.engine.import_rejects(&p.import_id).await.unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("already used at position 22"), "{csv}");
    // A deleted import's files go at the next plan.
    let files = env.dir.path().join("imports");
    let spool = files.join(format!("{}.jsonl", p.import_id));
    let rejects_file = files.join(format!("{}.rejects.csv", p.import_id));
    assert!(spool.exists() && rejects_file.exists());
    env.engine.delete_run(&p.import_id).await.unwrap();

    // Allowed with a higher maximum; then 11 inactive users need the confirmation.
    let p = env
        .engine
        .plan_import(ImportRequest {
            max_reject_percent: Some(5.0),
            ..request(&env)
        })
        .await
        .unwrap();
    assert_eq!(p.stopped, None);
    assert!(!spool.exists() && !rejects_file.exists(), "cleaned up");
    env.engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap();
    for person in people.iter_mut().skip(40).take(11) {
        person.status = "inactive";
    }
    write_csv(&env, "hr", &people);
    let p = env
        .engine
        .plan_import(ImportRequest {
            max_reject_percent: Some(5.0),
            ..request(&env)
        })
        .await
        .unwrap();
    let guard = p.deactivation_guard.expect("11 deactivations are over 10");
    assert_eq!((guard.count, guard.max), (11, 10));
    let refused = env
        .engine
        .apply_import(&p.import_id, None, &())
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("confirm with the number 11"),
        "{refused}"
    );
    let wrong = env
        .engine
        .apply_import(&p.import_id, Some(3), &())
        .await
        .unwrap_err();
    assert!(wrong.to_string().contains("does not match"), "{wrong}");
    let done = env
        .engine
        .apply_import(&p.import_id, Some(11), &())
        .await
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(stats(&env).await["usersDeleted"], 11);
}

// ---- resume after a kill ----

/// The child: applies the import named in the environment (a no-op in a normal test run).
#[tokio::test]
async fn child_apply_import() {
    let (Ok(import_id), Ok(dir)) = (std::env::var(CHILD_IMPORT), std::env::var(CHILD_DIR)) else {
        return;
    };
    let engine = Engine::open(Paths::at(std::path::Path::new(&dir)))
        .await
        .unwrap();
    engine.apply_import(&import_id, None, &()).await.unwrap();
    eprintln!("child finished without pausing");
}

/// Applies `import_id` in a child process and SIGKILLs it at the pause `var` = `n`.
async fn apply_and_kill(env: &Env, import_id: &str, var: &str, n: u32) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_apply_import",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_IMPORT, import_id)
        .env(CHILD_DIR, env.dir.path())
        .env(var, n.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary runs as the child");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at step") || line.contains("child finished") {
                let _ = tx.send(line);
                continue;
            }
            seen.push(line);
        }
        let _ = tx.send(format!("the child ended: {}", seen.join("\n")));
    });
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.unwrap_or_else(|e| panic!("the child never paused: {e}"));
    assert!(line.contains(&format!("paused at step {n}")), "{line}");
}

#[tokio::test]
async fn a_kill_mid_upload_resumes_without_sending_anything_twice() {
    let env = Env::new().await;
    ready(&env).await;
    let path = write_csv(&env, "hr", &rows(600));
    save_source(&env, &path).await;
    // Steps: 1 createSession, 2–4 chunks, 5 startImport, 6 awaitSession.
    let p = plan(&env).await;
    assert_eq!(
        kinds(&env, &p.import_id).await,
        vec![
            ChangeKind::CreateSession,
            ChangeKind::BulkUpsert,
            ChangeKind::BulkUpsert,
            ChangeKind::BulkUpsert,
            ChangeKind::StartImport,
            ChangeKind::AwaitSession
        ]
    );
    // Killed after the session was created but before its id was journaled.
    apply_and_kill(&env, &p.import_id, "OKTA365_TEST_PAUSE_AFTER_STEP", 1).await;
    assert_eq!(stats(&env).await["sessions"], 1);
    let resumed = env.engine.resume_runs(&()).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].status, RunStatus::Succeeded);
    let s = stats(&env).await;
    assert_eq!(
        s["sessions"], 1,
        "the created session was found, not created again"
    );
    assert_eq!(s["bulkRequests"], 3);
    assert_eq!(s["usersUpserted"], 600);

    // A second import of 600 new users, killed with chunk 2 journaled started but not sent.
    let path = write_csv(&env, "hr", &(601..=1200).map(row).collect::<Vec<_>>());
    save_source(&env, &path).await;
    let p = plan(&env).await;
    apply_and_kill(&env, &p.import_id, "OKTA365_TEST_PAUSE_BEFORE_STEP", 3).await;
    let mid = stats(&env).await;
    assert_eq!(mid["bulkRequests"], 4, "chunk 1 sent, chunk 2 not");
    let detail = env.engine.run_detail(&p.import_id).await.unwrap();
    assert_eq!(detail.summary.status, RunStatus::Running);
    let resumed = env.engine.resume_runs(&()).await.unwrap();
    assert_eq!(resumed[0].status, RunStatus::Succeeded);
    let s = stats(&env).await;
    assert_eq!(s["sessions"], 2);
    assert_eq!(s["bulkRequests"], 6, "chunk 1 was never sent again");
    assert_eq!(s["usersUpserted"], 1200);
    assert_eq!(
        okta_user(&env, "ann.1200@hr.example.com").await["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn a_due_schedule_is_planned_and_applied_with_progress_in_records() {
    let env = Env::new().await;
    ready(&env).await;
    let path = write_csv(&env, "hr", &rows(450));
    save_source(&env, &path).await;
    let bad = env
        .engine
        .set_import_schedule(
            &env.profile.id,
            "hr",
            Some(okta365_engine::ImportSchedule {
                every_mins: Some(60),
                daily_at: Some("02:00".into()),
                time_zone: None,
            }),
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("not both"), "{bad}");
    env.engine
        .set_import_schedule(
            &env.profile.id,
            "hr",
            Some(okta365_engine::ImportSchedule {
                every_mins: Some(60),
                daily_at: None,
                time_zone: None,
            }),
        )
        .await
        .unwrap();
    let reports = std::sync::Mutex::new(Vec::new());
    let sink = |p: &okta365_engine::Progress| reports.lock().unwrap().push(p.clone());
    let due = env
        .engine
        .run_due_imports(Some(&env.profile.id), &sink)
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "never run: due at once");
    let plan = due[0].plan.as_ref().unwrap();
    assert_eq!(plan.active, 450);
    assert_eq!(
        due[0].applied.as_ref().unwrap().status,
        RunStatus::Succeeded
    );
    let detail = env.engine.run_detail(&plan.import_id).await.unwrap();
    assert_eq!(detail.summary.trigger, okta365_engine::RunTrigger::Schedule);
    let reports = reports.into_inner().unwrap();
    let uploads: Vec<_> = reports
        .iter()
        .filter(|p| p.operation == "import" && p.step != "done")
        .collect();
    assert!(uploads.iter().all(|p| p.total == Some(450)), "{uploads:?}");
    let done: Vec<u32> = uploads.iter().map(|p| p.done).collect();
    assert!(done.contains(&200) && done.contains(&450), "{done:?}");
    assert!(
        uploads
            .iter()
            .any(|p| p.message.contains("Upload users: session 1 of 1")),
        "{uploads:?}"
    );
    // Ran this round: not due again for an hour.
    let again = env
        .engine
        .run_due_imports(Some(&env.profile.id), &())
        .await
        .unwrap();
    assert!(again.is_empty());
}
