//! A real crash in the middle of a run: a child process (this test binary, re-run in "child" mode)
//! applies a member accounts run and is killed with SIGKILL at a journal step — right after the step
//! was journaled `started` (the write not sent) or right after the write answered (the write made, its
//! outcome not journaled). Then [`Engine::resume_runs`] finishes the run: a write found on the tenant is
//! `superseded`, one not found is written again. The sandbox tenant shows nothing created twice and
//! nothing lost. Debug builds only (the pause points are compiled out of release builds). Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use okta365_engine::{
    ChangeKind, Engine, OperationId, Paths, PlanRunRequest, RunPlan, RunStatus, RunTrigger,
    StepStatus,
};
use serde_json::Value;
use setup_common::Env;

const CHILD_RUN: &str = "OKTA365_TEST_CHILD_RUN";
const CHILD_DIR: &str = "OKTA365_TEST_CHILD_DIR";

/// The child: applies the run named in the environment (a no-op in a normal test run).
#[tokio::test]
async fn child_apply() {
    let (Ok(run_id), Ok(dir)) = (std::env::var(CHILD_RUN), std::env::var(CHILD_DIR)) else {
        return;
    };
    let engine = Engine::open(Paths::at(std::path::Path::new(&dir)))
        .await
        .unwrap();
    engine.apply_run(&run_id, None, &()).await.unwrap();
    eprintln!("child finished without pausing");
}

/// Where the child is killed.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// After step n was journaled `started`, before its write was sent.
    BeforeWrite(u32),
    /// After step n's write answered, before its outcome was journaled.
    AfterWrite(u32),
}

/// Applies `run_id` in a child process and SIGKILLs it at `at`.
async fn apply_and_kill(env: &Env, run_id: &str, at: KillAt) {
    let (var, n) = match at {
        KillAt::BeforeWrite(n) => ("OKTA365_TEST_PAUSE_BEFORE_STEP", n),
        KillAt::AfterWrite(n) => ("OKTA365_TEST_PAUSE_AFTER_STEP", n),
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_apply", "--nocapture", "--test-threads=1"])
        .env(CHILD_RUN, run_id)
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
            if seen.iter().any(|l| l.contains("panicked")) && seen.len() > 3 {
                let _ = tx.send(format!("the child failed: {}", seen.join("\n")));
                return;
            }
        }
        let _ = tx.send(format!("the child ended: {}", seen.join("\n")));
    });
    // Waited for off the runtime: the sandbox serving the child runs on this test's runtime.
    let line = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap();
    // SIGKILL: no destructor, no journal write, no lock release but the OS's.
    child.kill().unwrap();
    child.wait().unwrap();
    let line = line.unwrap_or_else(|e| panic!("the child never reached {at:?}: {e}"));
    assert!(
        line.contains(&format!("paused at step {n}")),
        "the child pauses at {at:?}, not: {line}"
    );
}

async fn plan(env: &Env, users: Option<Vec<String>>) -> RunPlan {
    env.engine
        .plan_run(PlanRunRequest {
            profile_id: env.profile.id.clone(),
            operation: OperationId::MemberAccounts,
            users,
            trigger: RunTrigger::Manual,
        })
        .await
        .unwrap()
}

async fn graph_upns(env: &Env) -> HashMap<String, usize> {
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
    let mut counts = HashMap::new();
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
        for u in page["value"].as_array().cloned().unwrap_or_default() {
            if let Some(upn) = u["userPrincipalName"].as_str() {
                *counts.entry(upn.to_ascii_lowercase()).or_default() += 1;
            }
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
    }
    counts
}

/// Kills the apply of `plan` at `at`, resumes, and checks the tenant and the journal. Returns the
/// status of each step after the resume.
async fn kill_then_resume(env: &Env, plan: &RunPlan, at: KillAt) -> HashMap<u32, StepStatus> {
    let before = graph_upns(env).await;
    apply_and_kill(env, &plan.run_id, at).await;

    let killed = env.engine.run_detail(&plan.run_id).await.unwrap();
    assert_eq!(
        killed.summary.status,
        RunStatus::Running,
        "a killed apply leaves its run running"
    );
    let started: Vec<u32> = killed
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Started)
        .map(|s| s.seq)
        .collect();
    let n = match at {
        KillAt::BeforeWrite(n) | KillAt::AfterWrite(n) => n,
    };
    assert!(
        started.contains(&n),
        "step {n} is journaled started when the process dies: {started:?}"
    );

    let resumed = env.engine.resume_runs(&()).await.unwrap();
    assert_eq!(resumed.len(), 1, "the killed run is resumed");
    assert_eq!(
        resumed[0].status,
        RunStatus::Succeeded,
        "the resumed run finishes: {:?}",
        resumed[0]
    );
    assert_eq!(resumed[0].failed, 0);

    let after = graph_upns(env).await;
    let creates: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::CreateUser)
        .map(|c| c.target.to_ascii_lowercase())
        .collect();
    for upn in &creates {
        assert_eq!(
            after.get(upn),
            Some(&1),
            "{upn} exists exactly once after the crash and the resume (nothing lost, nothing twice)"
        );
    }
    let total_before: usize = before.values().sum();
    let total_after: usize = after.values().sum();
    assert_eq!(total_after, total_before + creates.len());

    let users: Vec<String> = plan
        .changes
        .iter()
        .map(|c| c.okta_user_id.clone())
        .collect();
    assert!(
        plan_again_is_empty(env, users).await,
        "every user of the run is linked after the resume"
    );
    assert!(
        env.engine.resume_runs(&()).await.unwrap().is_empty(),
        "nothing left to resume"
    );
    env.engine
        .run_detail(&plan.run_id)
        .await
        .unwrap()
        .steps
        .into_iter()
        .map(|s| (s.seq, s.status))
        .collect()
}

async fn plan_again_is_empty(env: &Env, users: Vec<String>) -> bool {
    let again = plan(env, Some(users)).await;
    let empty = again.changes.is_empty();
    env.engine.discard_run(&again.run_id).await.unwrap();
    empty
}

#[tokio::test]
async fn killed_after_the_write_of_a_single_create_the_resume_finds_it_and_supersedes_the_step() {
    let env = Env::new().await;
    let full = plan(&env, None).await;
    let user = full
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::CreateUser)
        .unwrap()
        .okta_user_id
        .clone();
    env.engine.discard_run(&full.run_id).await.unwrap();
    let one = plan(&env, Some(vec![user])).await;
    assert_eq!(one.changes.len(), 1);

    let statuses = kill_then_resume(&env, &one, KillAt::AfterWrite(1)).await;
    assert_eq!(
        statuses[&1],
        StepStatus::Superseded,
        "the account made before the crash is found, not created again"
    );
    let detail = env.engine.run_detail(&one.run_id).await.unwrap();
    assert!(
        detail.steps[0].response["found"]["id"].is_string(),
        "the superseded step records what was found: {:?}",
        detail.steps[0].response
    );
    // The rest of the members (not in this run's scope) are still to do: link only the one.
    let rest = plan(&env, None).await;
    assert_eq!(rest.changes.len(), full.changes.len() - 1);
    env.engine.discard_run(&rest.run_id).await.unwrap();
}

#[tokio::test]
async fn killed_before_the_write_of_a_single_create_the_resume_writes_it_once() {
    let env = Env::new().await;
    let full = plan(&env, None).await;
    let user = full
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::CreateUser)
        .unwrap()
        .okta_user_id
        .clone();
    env.engine.discard_run(&full.run_id).await.unwrap();
    let one = plan(&env, Some(vec![user])).await;
    let statuses = kill_then_resume(&env, &one, KillAt::BeforeWrite(1)).await;
    assert_eq!(
        statuses[&1],
        StepStatus::Done,
        "the write never sent is sent by the resume"
    );
}

#[tokio::test]
async fn killed_after_a_batch_answered_the_whole_batch_is_found_and_the_rest_applied() {
    let env = Env::new().await;
    let full = plan(&env, None).await;
    assert!(
        full.changes.len() > 21,
        "two batches: {}",
        full.changes.len()
    );
    let first_create = full
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::CreateUser)
        .unwrap()
        .seq;
    let statuses = kill_then_resume(&env, &full, KillAt::AfterWrite(first_create)).await;
    let superseded = statuses
        .values()
        .filter(|s| **s == StepStatus::Superseded)
        .count();
    assert!(
        superseded >= 1,
        "the batch made before the crash is found: {statuses:?}"
    );
    assert!(
        statuses.values().any(|s| *s == StepStatus::Done),
        "the changes after the crash point are written by the resume"
    );
}

#[tokio::test]
async fn killed_before_the_second_batch_was_sent_the_first_stays_done_and_the_second_is_written() {
    let env = Env::new().await;
    let full = plan(&env, None).await;
    let creates: Vec<u32> = full
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::CreateUser)
        .map(|c| c.seq)
        .collect();
    assert!(creates.len() > 20, "two batches of creates");
    let in_second = creates[20];
    let statuses = kill_then_resume(&env, &full, KillAt::BeforeWrite(in_second)).await;
    assert_eq!(
        statuses[&creates[0]],
        StepStatus::Done,
        "the first batch was journaled done before the crash"
    );
    assert_eq!(
        statuses[&in_second],
        StepStatus::Done,
        "the unsent batch is sent by the resume"
    );
    assert!(
        !statuses.values().any(|s| *s == StepStatus::Superseded),
        "nothing was on the tenant ahead of the journal: {statuses:?}"
    );
}
