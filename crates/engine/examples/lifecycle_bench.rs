//! Benchmark: the staged deactivation and activation of 1,000 licensed users against the sandbox
//! tenant with its default budgets (Graph directory writes 3,000 per 150 s per app + tenant; Outlook
//! 10,000 mails per 600 s per app + mailbox).
//!
//! Setup (timed, not the subject): 1,000 new Okta members of the assignments group (each with a
//! manager), their member accounts, and a licenses run giving each Office 365 E3 without Teams. Then,
//! measured:
//! 1. stage 1 of the deactivation of all 1,000 (after they leave the group): block sign-in, revoke
//!    sessions, save the licenses, email the manager, schedule the removal;
//! 2. stage 2, after the sandbox clock is moved past the delay: the due stages remove the licenses and
//!    email the manager again;
//! 3. the activation of all 1,000 (back in the group): enable, restore their own licenses, email.
//!
//! For each it prints the measured time, the writes of each budget, the lower bound the budgets allow
//! at their sustained rates (directory writes ÷ (3,000 / 150 s), mails ÷ (10,000 / 600 s), the larger
//! of the two), and the ratio. Budgets also allow a burst of a full window, so a phase of fewer writes
//! than a window may finish below the sustained bound (a ratio below 1). It checks the outcome: every
//! user disabled, unlicensed, then enabled with the same SKU and disabled plan, three emails each.
//!
//! Needs the OS keychain (the profile's demo credentials), like the engine's tests:
//!
//! ```sh
//! dbus-run-session -- bash -c 'echo -n pw | gnome-keyring-daemon -r -d --unlock --components=secrets >/dev/null;
//!   cargo run --release -p okta365-engine --example lifecycle_bench'
//! ```
//!
//! `LIFECYCLE_BENCH_USERS=n` changes the number of users.

use std::time::{Duration, Instant};

use okta365_engine::{
    ChangeKind, CreateSandboxProfileRequest, Engine, GroupRole, LicenseAssignment, OperationId,
    Paths, PlanRunRequest, RunPlan, RunStatus, RunTrigger,
};
use okta365_graph::batch::{DIRECTORY_WRITE_WINDOW, DIRECTORY_WRITES, WriteBudget};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use serde_json::{Value, json};

/// Outlook's sustained budget per app and mailbox.
const MAILS: u32 = 10_000;
const MAIL_WINDOW: Duration = Duration::from_secs(600);
/// A seeded Okta member with an email, the managers of the new users.
const MANAGER: &str = "00uPXXjfarw9Gz3jW2F3";
const SENDER: &str = "admin@contoso-sandbox.onmicrosoft.com";

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("LIFECYCLE_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let sandbox = Sandbox::start(SandboxConfig {
        port: None,
        state: StateLocation::Memory,
        seed: Seed::demo(),
    })
    .await
    .expect("the sandbox starts");
    let base = sandbox.urls().base.clone();
    let engine = Engine::open(Paths::at(dir.path()))
        .await
        .expect("the engine opens");
    let profile = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("Bench".into()),
                url: Some(base.to_string()),
                ..Default::default()
            },
            &(),
        )
        .await
        .expect("a sandbox profile (is the OS keychain unlocked?)");
    let token = okta365_sandbox::mint_demo_credentials(&base)
        .await
        .expect("demo credentials")
        .okta_api_token;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let okta = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{}", path.trim_start_matches('/')))
            .header("authorization", format!("SSWS {token}"))
            .header("accept", "application/json")
    };

    // Seats for everyone, E3 without Teams for the assignments group, the sender and the delay.
    let seats = http
        .put(format!("{base}_sandbox/skus/ENTERPRISEPACK"))
        .json(&json!({ "enabled": users + 100 }))
        .send()
        .await
        .unwrap();
    assert!(seats.status().is_success(), "seats bought");
    let view = engine.sync_licenses(&profile.id, &()).await.unwrap();
    let e3 = view
        .licenses
        .iter()
        .find(|l| l.sku_part_number == "ENTERPRISEPACK")
        .expect("E3 in the seed");
    let teams = e3
        .service_plans
        .iter()
        .find(|p| p.service_plan_name == "TEAMS1")
        .expect("Teams in E3")
        .service_plan_id
        .clone();
    let e3_id = e3.sku_id.clone();
    engine
        .set_license_assignments(
            &profile.id,
            vec![LicenseAssignment {
                role: GroupRole::Assignments,
                sku_id: e3_id.clone(),
                disabled_plans: vec![teams.clone()],
            }],
        )
        .await
        .unwrap();
    engine
        .set_usage_location(&profile.id, Some("US".into()))
        .await
        .unwrap();
    let mut life = engine.lifecycle_settings(&profile.id).await.unwrap();
    life.sender_mailbox = Some(SENDER.into());
    life.delay_secs = 3_600;
    engine
        .set_lifecycle_settings(&profile.id, life)
        .await
        .unwrap();

    let groups: Value = okta(
        reqwest::Method::GET,
        "api/v1/groups?q=Office%20365%20Assignments",
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let gid = groups[0]["id"].as_str().expect("the group").to_owned();
    let seeding = Instant::now();
    let mut ids = Vec::with_capacity(users);
    // Directory writes since the setup's first one: the budget's window carries over from phase to
    // phase, so the figure that counts is the whole sequence's.
    let mut all_writes = 0u64;
    for i in 0..users {
        let body = json!({
            "profile": {
                "firstName": "Bench", "lastName": format!("Leaver{i:04}"),
                "email": format!("bench.leaver{i:04}@corp.example"),
                "login": format!("bench.leaver{i:04}@corp.example"),
                "countryCode": "US", "managerId": MANAGER,
            },
            "groupIds": [gid],
        });
        let user: Value =
            send_okta(okta(reqwest::Method::POST, "api/v1/users?activate=true").json(&body)).await;
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let measured_from = Instant::now();
    let accounts = run(&engine, &profile.id, OperationId::MemberAccounts, None).await;
    let licensed = run(&engine, &profile.id, OperationId::Licenses, None).await;
    all_writes += (count(&accounts.0, ChangeKind::CreateUser)
        + count(&licensed.0, ChangeKind::AssignLicense)
        + count(&licensed.0, ChangeKind::SetUsageLocation)) as u64;
    let setup_writes = all_writes;
    eprintln!(
        "setup: {users} Okta members, {} accounts and {} license assignments in {:.1} s",
        count(&accounts.0, ChangeKind::CreateUser),
        count(&licensed.0, ChangeKind::AssignLicense),
        seeding.elapsed().as_secs_f64()
    );

    // 1. They leave: stage 1 for all of them.
    admins_change_memberships(&http, &base, true).await;
    for id in &ids {
        send_okta(
            okta(
                reqwest::Method::DELETE,
                &format!("api/v1/groups/{gid}/users/{id}"),
            )
            .header("content-length", "0"),
        )
        .await;
    }
    admins_change_memberships(&http, &base, false).await;
    let mails_before = mails(&http, &base).await;
    let (plan, took) = run(&engine, &profile.id, OperationId::Deactivation, None).await;
    let disabled = count(&plan, ChangeKind::DisableUser);
    let revoked = count(&plan, ChangeKind::RevokeSessions);
    let emailed = count(&plan, ChangeKind::EmailManager);
    assert!(disabled >= users, "every leaver disabled: {disabled}");
    all_writes += (disabled + revoked) as u64;
    report(
        "stage 1 (disable, sign out, save licenses, email, schedule)",
        took,
        (disabled + revoked) as u64,
        emailed as u64,
    );

    // 2. The delay passes: the due stages remove the licenses.
    let advanced = http
        .post(format!("{base}_sandbox/clock"))
        .json(&json!({ "advance_secs": 3_700 }))
        .send()
        .await
        .unwrap();
    assert!(advanced.status().is_success());
    let start = Instant::now();
    let due = engine
        .run_due_stages(Some(&profile.id), &())
        .await
        .expect("the due stages");
    let took = start.elapsed();
    let stage_users: u32 = due.ran.iter().map(|r| r.users).sum();
    assert!(
        stage_users as usize >= users,
        "every leaver's stage ran: {stage_users}"
    );
    assert!(
        due.ran.iter().all(|r| r.status == RunStatus::Succeeded),
        "every stage run succeeds"
    );
    let removals: u64 = due.ran.iter().map(|r| u64::from(r.changes)).sum();
    all_writes += removals / 2;
    report(
        "stage 2 (remove licenses, email), the due stages of one round as one run",
        took,
        removals / 2,
        removals / 2,
    );

    // 3. They come back: activation for all of them.
    admins_change_memberships(&http, &base, true).await;
    for id in &ids {
        send_okta(
            okta(
                reqwest::Method::PUT,
                &format!("api/v1/groups/{gid}/users/{id}"),
            )
            .header("content-length", "0"),
        )
        .await;
    }
    admins_change_memberships(&http, &base, false).await;
    let (plan, took) = run(&engine, &profile.id, OperationId::Activation, None).await;
    let enabled = count(&plan, ChangeKind::EnableUser);
    let assigned = count(&plan, ChangeKind::AssignLicense);
    let emailed = count(&plan, ChangeKind::EmailManager);
    assert!(
        enabled >= users && assigned >= users,
        "every returner enabled and relicensed"
    );
    all_writes += (enabled + assigned) as u64;
    report(
        "activation (enable, restore licenses, email)",
        took,
        (enabled + assigned) as u64,
        emailed as u64,
    );

    // The outcome: three emails per user, the same SKU and disabled plan back.
    let sent = mails(&http, &base).await - mails_before;
    assert!(sent >= 3 * users, "three manager emails per user: {sent}");
    let graph = okta365_sandbox::mint_demo_credentials(&base).await.unwrap();
    let token: Value = http
        .post(format!("{base}{}/oauth2/v2.0/token", graph.entra_tenant_id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", graph.entra_client_id.as_str()),
            ("client_secret", graph.entra_client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let last = format!("bench.leaver{:04}@contoso.example", users - 1);
    let user: Value = http
        .get(format!(
            "{base}v1.0/users/{last}?$select=accountEnabled,licenseAssignmentStates"
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["accountEnabled"], true, "{user}");
    assert_eq!(
        user["licenseAssignmentStates"][0]["skuId"],
        e3_id.as_str(),
        "{user}"
    );
    assert_eq!(
        user["licenseAssignmentStates"][0]["disabledPlans"][0],
        teams.as_str(),
        "{user}"
    );
    println!("manager emails sent:     {sent} (3 per user)");
    // The whole sequence against the budget, from the setup's first write (its accounts and licenses
    // runs) to the end of the activation: the first window allows a burst of 3,000 writes, every later
    // write waits for the sustained rate.
    let total = measured_from.elapsed();
    let sustained = f64::from(DIRECTORY_WRITES) / DIRECTORY_WRITE_WINDOW.as_secs_f64();
    let bound =
        (all_writes.saturating_sub(u64::from(DIRECTORY_WRITES)) as f64 / sustained).max(0.0);
    println!("whole sequence (accounts, licenses, both stages, activation)");
    println!("  measured:              {:.2} s", total.as_secs_f64());
    println!(
        "  directory writes:      {all_writes} ({setup_writes} by the setup), bound {bound:.1} s \
         (a first window of {DIRECTORY_WRITES}, then {sustained:.0}/s)"
    );
    println!(
        "  measured / bound:      {:.2}",
        total.as_secs_f64() / bound.max(f64::EPSILON)
    );
}

/// Plans and applies a run (confirming the guard's count), returning the plan and the time taken.
async fn run(
    engine: &Engine,
    profile: &str,
    operation: OperationId,
    users: Option<Vec<String>>,
) -> (RunPlan, Duration) {
    let start = Instant::now();
    let plan = engine
        .plan_run(PlanRunRequest {
            profile_id: profile.to_owned(),
            operation,
            users,
            trigger: RunTrigger::Manual,
        })
        .await
        .expect("the plan");
    eprintln!(
        "  {} planned in {:.2} s",
        operation.as_str(),
        start.elapsed().as_secs_f64()
    );
    let confirm = plan.guard.as_ref().map(|g| g.destructive);
    let summary = engine
        .apply_run(&plan.run_id, confirm, &())
        .await
        .expect("the apply");
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    (plan, start.elapsed())
}

fn count(plan: &RunPlan, kind: ChangeKind) -> usize {
    plan.changes.iter().filter(|c| c.kind == kind).count()
}

/// The 1,000 membership changes the bench makes stand for admins' work spread over time, not for
/// okta365's: while they are made (`lifting`) the sandbox's Okta groups bucket is raised out of the
/// way; afterwards it is back at Okta's 500 a minute in a fresh window, so the measured runs neither
/// pay for the bench's calls nor get extra room.
async fn admins_change_memberships(http: &reqwest::Client, base: &url::Url, lifting: bool) {
    let limit = if lifting { 1_000_000 } else { 500 };
    let resp = http
        .post(format!("{base}_sandbox/rate-limits"))
        .json(&json!({ "bucket": "groups", "limit": limit, "window_secs": 60 }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "the groups bucket is set");
}

async fn send_okta(request: reqwest::RequestBuilder) -> Value {
    loop {
        let resp = request
            .try_clone()
            .expect("a cloneable request")
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            200..=204 => {
                let text = resp.text().await.unwrap_or_default();
                return serde_json::from_str(&text).unwrap_or(Value::Null);
            }
            429 => tokio::time::sleep(Duration::from_secs(1)).await,
            other => panic!(
                "Okta answered {other}: {}",
                resp.text().await.unwrap_or_default()
            ),
        }
    }
}

async fn mails(http: &reqwest::Client, base: &url::Url) -> usize {
    let all: Value = http
        .get(format!("{base}_sandbox/mail"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.as_array()
        .map(|m| m.iter().filter(|m| m["kind"] == "mail").count())
        .unwrap_or(0)
}

fn report(phase: &str, took: Duration, directory_writes: u64, mails: u64) {
    let writes_bound =
        WriteBudget::new(DIRECTORY_WRITES, DIRECTORY_WRITE_WINDOW).lower_bound(directory_writes);
    let mail_bound = WriteBudget::new(MAILS, MAIL_WINDOW).lower_bound(mails);
    let bound = writes_bound.max(mail_bound);
    println!("{phase}");
    println!("  measured:              {:.2} s", took.as_secs_f64());
    println!(
        "  directory writes:      {directory_writes}  (sustained bound {:.1} s)",
        writes_bound.as_secs_f64()
    );
    println!(
        "  manager emails:        {mails}  (sustained bound {:.1} s)",
        mail_bound.as_secs_f64()
    );
    println!(
        "  measured / bound:      {:.2}",
        took.as_secs_f64() / bound.as_secs_f64().max(f64::EPSILON)
    );
}
