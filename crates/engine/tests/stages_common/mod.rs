//! Helpers of the stage and undo tests: the seeded users they use, the sandbox's Graph read with the
//! demo app's own token, Okta group membership changes, the sandbox clock, and stages inserted through
//! the store.

#![allow(dead_code)]

use okta365_store::lifecycle::StageRecord;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::setup_common::Env;

/// The assignments group of the demo seed ("Office 365 Assignments").
pub const ASSIGNMENTS: &str = "00gGRqfkJbifL01lbl0b";
/// Isabella Singh (Okta), in the assignments group, managed by Marcus Thompson.
pub const ISABELLA: &str = "00uvVcLmnVPr1nYuHcaj";
/// Isabella Singh's Entra account (ENTERPRISEPACK, direct).
pub const ISABELLA_ENTRA: &str = "8840334c-e4de-4109-95ad-13e3c5dd64d9";
/// Marcus Thompson (Okta), in the assignments group, no manager.
pub const MARCUS: &str = "00u7TWjsMmGyKyQJlbmW";
/// Marcus Thompson's Entra account.
pub const MARCUS_ENTRA: &str = "038f0c5e-76f4-4e48-a9fd-6d25ce7302ae";
/// Aaliyah Hughes (Okta), in the assignments group.
pub const AALIYAH: &str = "00uoYrjZUxlUPDRvxBHn";
/// Aaliyah Hughes's Entra account (ENTERPRISEPACK, direct).
pub const AALIYAH_ENTRA: &str = "ccb05538-5d9f-4906-bb97-cfcce291293e";
/// The ENTERPRISEPACK SKU of the seed.
pub const ENTERPRISEPACK: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

/// A Graph GET with the demo app's own token.
pub async fn graph_get(env: &Env, path: &str) -> Value {
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
    let resp = http
        .get(env.url(&format!("v1.0/{}", path.trim_start_matches('/'))))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// An Entra user's account status and direct SKUs (lower case).
pub async fn entra_user(env: &Env, id: &str) -> (bool, Vec<String>) {
    let u = graph_get(
        env,
        &format!("users/{id}?$select=id,accountEnabled,licenseAssignmentStates"),
    )
    .await;
    let direct = u["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|s| s["assignedByGroup"].is_null())
        .filter_map(|s| s["skuId"].as_str().map(str::to_ascii_lowercase))
        .collect();
    (u["accountEnabled"].as_bool().unwrap_or(false), direct)
}

/// Removes an Okta user from the assignments group.
pub async fn leave_group(env: &Env, user: &str) {
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{ASSIGNMENTS}/users/{user}"),
        None,
    )
    .await;
}

/// Adds an Okta user to the assignments group (an empty body, as Okta wants a length).
pub async fn join_group(env: &Env, user: &str) {
    let token = okta365_sandbox::mint_demo_credentials(&env.sandbox.urls().base)
        .await
        .unwrap()
        .okta_api_token;
    let resp = reqwest::Client::new()
        .put(env.url(&format!("api/v1/groups/{ASSIGNMENTS}/users/{user}")))
        .header("authorization", format!("SSWS {token}"))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "join: {}", resp.status());
}

/// Moves the sandbox clock forward.
pub async fn advance_clock(env: &Env, secs: i64) {
    env.control("clock", json!({ "advance_secs": secs })).await;
}

/// Inserts a pending `removeLicenses` stage for a user, due `due_in_secs` from now; returns its id.
pub fn insert_stage(
    env: &Env,
    okta_user_id: &str,
    entra_id: &str,
    label: &str,
    due_in_secs: i64,
) -> i64 {
    let now = jiff::Timestamp::now();
    let record = StageRecord {
        id: 0,
        profile_id: env.profile.id.parse().unwrap(),
        okta_user_id: okta_user_id.into(),
        user_label: label.into(),
        entra_id: entra_id.into(),
        kind: "removeLicenses".into(),
        due_at: now
            .checked_add(jiff::SignedDuration::from_secs(due_in_secs))
            .unwrap(),
        status: "pending".into(),
        scheduled_by_run: Uuid::new_v4(),
        scheduled_by_seq: 1,
        run_id: None,
        created_at: now,
        started_at: None,
        finished_at: None,
        late_secs: None,
        cancel_reason: None,
    };
    env.store().insert_stage(&record).unwrap()
}

/// A Graph POST with the demo app's own token.
pub async fn graph_post(env: &Env, path: &str, body: Value) -> Value {
    graph_send(env, reqwest::Method::POST, path, body).await
}

/// A Graph PATCH with the demo app's own token.
pub async fn graph_patch(env: &Env, path: &str, body: Value) -> Value {
    graph_send(env, reqwest::Method::PATCH, path, body).await
}

/// A Graph write with the demo app's own token; asserts it succeeded.
pub async fn graph_send(env: &Env, method: reqwest::Method, path: &str, body: Value) -> Value {
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
    let resp = http
        .request(
            method,
            env.url(&format!("v1.0/{}", path.trim_start_matches('/'))),
        )
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
