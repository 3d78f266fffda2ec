//! What the licensing lifecycle tests share: a sandbox profile whose assignments group is mapped to
//! Office 365 E3, member accounts created, the sandbox's Graph read with the demo app, the outbox.

#![allow(dead_code)]

use okta365_engine::{
    GroupRole, LicenseAssignment, OperationId, PlanRunRequest, RunPlan, RunStatus, RunTrigger,
};
use serde_json::Value;

use crate::setup_common::Env;

/// Office 365 E3 in the demo seed (plenty of seats).
pub const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
/// Microsoft 365 E3 in the demo seed (nearly full; held by the "All Staff Licensing" group).
pub const M365_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
/// The sender mailbox of the tests (the seeded admin has a mailbox).
pub const SENDER: &str = "admin@contoso-sandbox.onmicrosoft.com";

pub async fn plan(env: &Env, operation: OperationId, users: Option<Vec<String>>) -> RunPlan {
    env.engine
        .plan_run(PlanRunRequest {
            profile_id: env.profile.id.clone(),
            operation,
            users,
            trigger: RunTrigger::Manual,
        })
        .await
        .unwrap()
}

pub async fn apply(env: &Env, plan: &RunPlan) {
    let summary = env.engine.apply_run(&plan.run_id, None, &()).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
}

/// Maps the assignments group to these SKUs and creates the member accounts.
pub async fn with_accounts(skus: &[&str]) -> Env {
    let env = Env::new().await;
    env.engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();
    env.engine
        .set_license_assignments(
            &env.profile.id,
            skus.iter()
                .map(|s| LicenseAssignment {
                    role: GroupRole::Assignments,
                    sku_id: (*s).to_owned(),
                    disabled_plans: vec![],
                })
                .collect(),
        )
        .await
        .unwrap();
    let accounts = plan(&env, OperationId::MemberAccounts, None).await;
    apply(&env, &accounts).await;
    env
}

/// A Graph call as the demo app.
pub async fn graph(env: &Env, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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
    let mut req = http
        .request(method, env.url(&format!("v1.0/{path}")))
        .bearer_auth(token["access_token"].as_str().unwrap());
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A user's license states and account status.
pub async fn licensed(env: &Env, entra_id: &str) -> Value {
    graph(
        env,
        reqwest::Method::GET,
        &format!(
            "users/{entra_id}?$select=id,userPrincipalName,accountEnabled,usageLocation,assignedLicenses,licenseAssignmentStates"
        ),
        None,
    )
    .await
}

/// The direct SKUs of a user with their disabled plans.
pub fn direct(user: &Value) -> Vec<(String, Vec<Value>)> {
    user["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["assignedByGroup"].is_null())
        .map(|s| {
            (
                s["skuId"].as_str().unwrap_or_default().to_ascii_lowercase(),
                s["disabledPlans"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// The Okta user id of a login.
pub async fn okta_id(env: &Env, login: &str) -> String {
    env.okta(reqwest::Method::GET, &format!("api/v1/users/{login}"), None)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The assignments group's id.
pub async fn assignments_group(env: &Env) -> String {
    env.groups_named("Office 365 Assignments").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The member link of an Okta user: the Entra id.
pub fn entra_of(env: &Env, okta_user_id: &str) -> String {
    let pid = env.profile.id.parse().unwrap();
    env.store()
        .links(pid, None)
        .unwrap()
        .into_iter()
        .find(|l| l.okta_user_id == okta_user_id && l.kind == "member")
        .expect("a member link")
        .entra_id
}

/// The manager emails of the outbox (`kind: mail`).
pub async fn mails(env: &Env) -> Vec<Value> {
    let all: Value = reqwest::get(env.url("_sandbox/mail"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = all
        .as_array()
        .cloned()
        .or_else(|| all["messages"].as_array().cloned())
        .or_else(|| all["value"].as_array().cloned())
        .unwrap_or_default();
    list.into_iter().filter(|m| m["kind"] == "mail").collect()
}

/// Sets the sender mailbox and the delay.
pub async fn lifecycle(env: &Env, delay_secs: u64) {
    let mut settings = env
        .engine
        .lifecycle_settings(&env.profile.id)
        .await
        .unwrap();
    settings.sender_mailbox = Some(SENDER.into());
    settings.delay_secs = delay_secs;
    env.engine
        .set_lifecycle_settings(&env.profile.id, settings)
        .await
        .unwrap();
}

/// Grants the demo Entra app one more Graph application permission (its tokens from now on carry it).
pub async fn grant_graph_role(env: &Env, role: &str) {
    let app = okta365_sandbox::mint_demo_credentials(&env.sandbox.urls().base)
        .await
        .unwrap()
        .entra_client_id;
    let http = reqwest::Client::new();
    let shown: Value = http
        .get(env.url(&format!("_sandbox/entra/apps/{app}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut roles: Vec<Value> = shown["roles"].as_array().cloned().unwrap_or_default();
    roles.push(Value::String(role.to_owned()));
    let resp = http
        .put(env.url(&format!("_sandbox/apps/{app}/roles")))
        .json(&serde_json::json!({ "roles": roles }))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "roles: {}", resp.status());
}
