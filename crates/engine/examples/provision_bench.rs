//! Benchmark: member accounts for 1,000 new Okta members against the sandbox tenant with its default
//! budgets (Graph directory writes 3,000 per 150 s per app + tenant).
//!
//! Creates 1,000 users in the sandbox's Okta org (`POST /api/v1/users?activate=true` into the assignments
//! group), then plans and applies a member accounts run and prints the measured time, the lower bound
//! the write budget allows for that many writes at its sustained rate (writes ÷ (3,000 / 150 s)), and
//! their ratio. The budget also allows a burst of 3,000 writes in a fresh window, so a run of fewer
//! writes may finish faster than the sustained bound (a ratio below 1).
//!
//! Needs the OS keychain (the profile's demo credentials), like the engine's tests:
//!
//! ```sh
//! dbus-run-session -- bash -c 'echo -n pw | gnome-keyring-daemon -r -d --unlock --components=secrets >/dev/null;
//!   cargo run --release -p okta365-engine --example provision_bench'
//! ```
//!
//! `PROVISION_BENCH_USERS=n` changes the number of new members.

use std::time::{Duration, Instant};

use okta365_engine::{
    CreateSandboxProfileRequest, Engine, OperationId, Paths, PlanRunRequest, RunStatus, RunTrigger,
};
use okta365_graph::batch::{DIRECTORY_WRITE_WINDOW, DIRECTORY_WRITES, WriteBudget};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let users: usize = std::env::var("PROVISION_BENCH_USERS")
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

    // The assignments group, and 1,000 new members in it.
    let http = reqwest::Client::new();
    let okta = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{base}{}", path.trim_start_matches('/')))
            .header("authorization", format!("SSWS {token}"))
            .header("accept", "application/json")
    };
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
    let gid = groups[0]["id"]
        .as_str()
        .expect("the seed has the assignments group")
        .to_owned();
    let seeding = Instant::now();
    for i in 0..users {
        let body = json!({
            "profile": {
                "firstName": "Bench",
                "lastName": format!("User{i:04}"),
                "email": format!("bench.user{i:04}@corp.example"),
                "login": format!("bench.user{i:04}@corp.example"),
                "title": "Engineer",
                "department": "Benchmarks",
                "countryCode": "US",
            },
            "groupIds": [gid],
        });
        loop {
            let resp = okta(reqwest::Method::POST, "api/v1/users?activate=true")
                .json(&body)
                .send()
                .await
                .unwrap();
            match resp.status().as_u16() {
                200 => break,
                429 => {
                    // The org's rate limit: wait for its reset and send again.
                    let reset: u64 = resp
                        .headers()
                        .get("x-rate-limit-reset")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_secs();
                    tokio::time::sleep(Duration::from_secs(reset.saturating_sub(now).clamp(1, 60)))
                        .await;
                }
                other => panic!(
                    "creating Okta user {i} failed: {other} {}",
                    resp.text().await.unwrap_or_default()
                ),
            }
        }
    }
    eprintln!(
        "seeded {users} Okta members in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let plan = engine
        .plan_run(PlanRunRequest {
            profile_id: profile.id.clone(),
            operation: OperationId::MemberAccounts,
            users: None,
            trigger: RunTrigger::Manual,
        })
        .await
        .expect("the plan");
    let planned = start.elapsed();
    let writes = plan
        .changes
        .iter()
        .filter(|c| c.kind == okta365_engine::ChangeKind::CreateUser)
        .count();
    let summary = engine
        .apply_run(&plan.run_id, None, &())
        .await
        .expect("the apply");
    let total = start.elapsed();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(summary.failed, 0);

    let bound =
        WriteBudget::new(DIRECTORY_WRITES, DIRECTORY_WRITE_WINDOW).lower_bound(writes as u64);
    println!(
        "members planned:         {}",
        plan.changes.len() + plan.skipped.len()
    );
    println!("accounts created:        {writes} (directory writes)");
    println!("plan:                    {:.2} s", planned.as_secs_f64());
    println!("plan + apply measured:   {:.2} s", total.as_secs_f64());
    println!(
        "budget lower bound:      {:.2} s  ({writes} writes / ({DIRECTORY_WRITES} / {} s))",
        bound.as_secs_f64(),
        DIRECTORY_WRITE_WINDOW.as_secs()
    );
    println!(
        "measured / lower bound:  {:.2}",
        total.as_secs_f64() / bound.as_secs_f64().max(f64::EPSILON)
    );
}
