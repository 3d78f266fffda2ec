//! The guided first-time setup through the real app (issue #4), from a blank sandbox profile (no app
//! registration, no Okta service app, no groups) to a Review step that shows everything ready, by the
//! automated paths only, with this test playing the admins through the sandbox's control API:
//!
//! 1. Microsoft: "Create the app for me", device code sign-in (the "admin" approves the code), the plan
//!    lists every permission as to be granted, apply creates the app; a second plan has 0 changes.
//! 2. Okta: "Create the service app for me" with a one-time Super Administrator API token: plan, apply,
//!    the profile switches to the service app (DPoP), the token is forgotten; a second plan has 0 changes.
//! 3. Groups: two new names, plan (create both), apply: both exist with their ids.
//! 4. Licenses: refresh the licenses table, map the assignments group to a SKU, set a usage location.
//! 5. Review: ready.
//! 6. No secret used on the way is in any file of the data dir or of the test's artifacts.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use okta365_e2e::{App, Harness, READY_TIMEOUT, STEP_TIMEOUT, SecretValue, scan_for_secrets};
use okta365_secrets::{CredentialKind, Keychain};
use serde_json::{Value, json};

/// Creating the app waits for directory replication and for a token that carries every role.
const APPLY_TIMEOUT: Duration = Duration::from_secs(120);
/// A sign-in, a plan or a review makes a few signed calls (RSA in a debug build).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn from_a_blank_sandbox_to_ready_by_the_automated_paths() -> Result<()> {
    let harness = Harness::from_env()?;
    let scenario = harness.scenario("from_a_blank_sandbox_to_ready_by_the_automated_paths")?;
    let data_dir = scenario.data_dir().to_path_buf();
    let mut secrets: Vec<SecretValue> = Vec::new();

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-sandbox-blank").await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    app.wait_for("status-sandbox", STEP_TIMEOUT).await?;
    let sandbox = Sandbox::of(&data_dir)?;
    let profile_id = active_profile_id(&data_dir)?;
    let state = sandbox.get("state").await?;
    let apps_before = state["microsoft"]["apps"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    ensure!(
        state["okta"]["groups"].as_u64().is_some(),
        "the sandbox state should count its Okta groups: {state}"
    );
    ensure!(
        keychain_secrets(&profile_id, "blank").await?.is_empty(),
        "a blank sandbox profile should have nothing in the keychain"
    );
    sandbox
        .post("entra/sign-in-settings", json!({ "interval": 1 }))
        .await?;
    sandbox
        .post("entra/replication-delay", json!({ "notFoundCalls": 2 }))
        .await?;

    // ---- Microsoft: one device-code sign-in, a plan, then the app. ----
    app.click("ms-create-app").await?;
    app.click("ms-signin-method-deviceCode").await?;
    app.click("ms-signin-start").await?;
    app.wait_for("ms-user-code", CALL_TIMEOUT).await?;
    let user_code = app.text("ms-user-code").await?.trim().to_string();
    let verification = app.text("ms-verification-uri").await?;
    ensure!(
        verification.contains("devicelogin"),
        "the verification link should be shown: {verification:?}"
    );
    app.screenshot("microsoft-device-code").await?;
    sandbox
        .post(
            &format!("entra/device-codes/{user_code}"),
            json!({ "user": ADMIN_UPN, "decision": "approve" }),
        )
        .await?;
    app.wait_for_text("ms-signin-account", ADMIN_UPN, CALL_TIMEOUT)
        .await?;
    app.click("ms-credential-secret").await?;
    app.click("ms-app-plan").await?;
    app.wait_for_css("[data-testid^=\"ms-plan-permission-\"]", CALL_TIMEOUT)
        .await?;
    let rows = app
        .test_ids("[data-testid^=\"ms-plan-permission-\"]")
        .await?;
    for needed in ["User.ReadWrite.All", "User.Invite.All", "Mail.Send"] {
        let id = format!("ms-plan-permission-{needed}");
        ensure!(
            rows.contains(&id),
            "the plan should grant {needed}; it lists {rows:?}"
        );
        ensure!(
            app.attr(&id, "data-granted").await?.as_deref() == Some("false"),
            "{needed} is not granted before the app exists"
        );
    }
    app.screenshot("microsoft-plan").await?;
    app.click("ms-app-apply").await?;
    app.wait_for("ms-app-result", APPLY_TIMEOUT).await?;
    app.scroll_to("ms-app-result", true).await?;
    app.screenshot("microsoft-app-created").await?;
    let state = sandbox.get("state").await?;
    let apps = state["microsoft"]["apps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(
        apps.len() == apps_before + 1,
        "exactly one app registration should have been created: {apps:?}"
    );
    // Running it again changes nothing.
    app.click("ms-app-plan").await?;
    app.wait_for_text("ms-app-changes", "0", CALL_TIMEOUT)
        .await?;
    secrets.extend(keychain_secrets(&profile_id, "the created app's").await?);
    ensure!(
        !secrets.is_empty(),
        "the new client secret should be in the keychain"
    );

    // ---- Okta: a one-time API token, then the service app. ----
    let token = sandbox
        .post(
            "okta/api-tokens",
            json!({ "name": "setup", "role": "SUPER_ADMIN" }),
        )
        .await?;
    let token = str_field(&token, "token")?;
    secrets.push(SecretValue::new("the one-time Okta API token", &token));
    app.click("rail-step-okta").await?;
    app.wait_for("step-okta", STEP_TIMEOUT).await?;
    app.click("okta-create-app").await?;
    app.type_into("okta-setup-token", &token).await?;
    app.scroll_to("okta-app-plan", true).await?;
    app.screenshot("okta-token-pasted").await?;
    app.click("okta-app-plan").await?;
    app.wait_for_css("[data-testid^=\"okta-plan-scope-\"]", CALL_TIMEOUT)
        .await?;
    let scopes = app.test_ids("[data-testid^=\"okta-plan-scope-\"]").await?;
    for needed in ["okta.groups.manage", "okta.users.read", "okta.logs.read"] {
        ensure!(
            scopes.contains(&format!("okta-plan-scope-{needed}")),
            "the plan should grant {needed}: {scopes:?}"
        );
    }
    let role = app.text("okta-plan-role").await?;
    ensure!(
        role.contains("ORG_ADMIN") || role.contains("Org"),
        "creating groups needs the Org Administrator role: {role:?}"
    );
    app.screenshot("okta-plan").await?;
    app.click("okta-app-apply").await?;
    app.wait_for("okta-app-result", APPLY_TIMEOUT).await?;
    app.screenshot("okta-app-created").await?;
    // The pasted token was used for this setup only: nothing to forget, it never reached the keychain.
    ensure!(
        !app.is_visible("okta-forget-token").await.unwrap_or(false),
        "a pasted API token is never stored, so there should be no token to forget"
    );
    app.scroll_to("okta-app-plan", true).await?;
    app.click("okta-app-plan").await?;
    app.wait_for_text("okta-app-changes", "0", CALL_TIMEOUT)
        .await?;
    let key = Keychain::with_service(keychain_service())
        .get(&profile_id, CredentialKind::OktaPrivateKey)
        .await?
        .context("the service app's private key should be in the keychain")?;
    secrets.extend(SecretValue::key_parts(
        "the service app's private key",
        key.expose(),
    ));
    ensure!(
        Keychain::with_service(keychain_service())
            .get(&profile_id, CredentialKind::OktaApiToken)
            .await?
            .is_none(),
        "the pasted API token should never be stored"
    );

    // ---- Groups ----
    app.click("rail-step-groups").await?;
    app.wait_for("step-groups", STEP_TIMEOUT).await?;
    // The demo org already has groups of the default names; new names make the step create them.
    app.type_into("group-name-assignments", "M365 Licensed (e2e)")
        .await?;
    app.type_into("group-name-guests", "M365 Guests (e2e)")
        .await?;
    app.click("groups-plan").await?;
    app.wait_for("group-row-assignments", CALL_TIMEOUT).await?;
    for role in ["assignments", "guests"] {
        ensure!(
            app.attr(&format!("group-row-{role}"), "data-action")
                .await?
                .as_deref()
                == Some("create"),
            "the {role} group does not exist yet"
        );
    }
    app.click("groups-apply").await?;
    for role in ["assignments", "guests"] {
        wait_attr(&app, &format!("group-row-{role}"), "data-action", "exists").await?;
        ensure!(
            app.text(&format!("group-id-{role}"))
                .await?
                .starts_with("00g"),
            "the {role} group shows its id"
        );
    }
    app.screenshot("groups-created").await?;

    // ---- Licenses ----
    app.click("rail-step-licenses").await?;
    app.wait_for("step-licenses", STEP_TIMEOUT).await?;
    app.click("licenses-refresh").await?;
    app.wait_for_css("[data-testid^=\"license-row-\"]", CALL_TIMEOUT)
        .await?;
    let skus = app.test_ids("[data-testid^=\"license-row-\"]").await?;
    let first = skus
        .first()
        .context("the sandbox tenant has licenses")?
        .trim_start_matches("license-row-")
        .to_string();
    app.click(&format!("license-assign-assignments-{first}"))
        .await?;
    app.type_into("usage-location", "US").await?;
    app.click("usage-location-save").await?;
    app.screenshot("licenses").await?;

    // ---- Review ----
    app.click("rail-step-review").await?;
    app.wait_for("step-review", STEP_TIMEOUT).await?;
    app.click("review-run").await?;
    wait_attr(&app, "review-ready", "data-ready", "true").await?;
    for id in [
        "microsoft-connection",
        "microsoft-permissions",
        "okta-connection",
        "okta-scopes",
        "group-assignments",
        "group-guests",
        "licenses-synced",
        "licenses-mapped",
        "usage-location",
    ] {
        let status = app
            .attr(&format!("review-item-{id}"), "data-status")
            .await?;
        ensure!(
            status.as_deref() == Some("ready"),
            "the review item {id} should be ready; it is {status:?}"
        );
    }
    let permissions = app.text("review-item-microsoft-permissions").await?;
    ensure!(
        permissions.matches("User.ReadWrite.All").count() == 1,
        "the review should name each granted permission once: {permissions:?}"
    );
    app.screenshot("review-ready").await?;

    assert_no_secrets(&data_dir, scenario.artifacts_dir(), &secrets)?;
    app.close().await?;
    assert_no_secrets(&data_dir, scenario.artifacts_dir(), &secrets)?;
    Ok(())
}

/// The seeded sandbox admin (Global Administrator), docs/architecture.md.
const ADMIN_UPN: &str = "admin@contoso-sandbox.onmicrosoft.com";

async fn wait_attr(app: &App, id: &str, name: &str, want: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + APPLY_TIMEOUT;
    loop {
        let got = app.attr(id, name).await.ok().flatten();
        if got.as_deref() == Some(want) {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "{id} should get {name}={want:?}; it has {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_no_secrets(data_dir: &Path, artifacts: &Path, secrets: &[SecretValue]) -> Result<()> {
    let scan = scan_for_secrets(&[data_dir, artifacts], secrets)?;
    ensure!(
        scan.files.len() > 3,
        "the scan should read the store, the logs and the page sources: {:?}",
        scan.files
    );
    ensure!(
        scan.hits.is_empty(),
        "secret values were found in files: {:?}",
        scan.hits
    );
    Ok(())
}

/// The data dir's sandbox, reached over loopback HTTP like the app reaches it.
struct Sandbox {
    base: String,
    http: reqwest::Client,
}

impl Sandbox {
    /// Finds the sandbox the app serves for this data dir through `sandbox/server.json`.
    fn of(data_dir: &Path) -> Result<Sandbox> {
        let path = data_dir.join("sandbox/server.json");
        let info: Value =
            serde_json::from_slice(&std::fs::read(&path).with_context(|| {
                format!("the app should serve the sandbox ({})", path.display())
            })?)?;
        let base = str_field(&info, "baseUrl")?
            .trim_end_matches('/')
            .to_string();
        let http = reqwest::Client::builder().no_proxy().build()?;
        Ok(Sandbox { base, http })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        answer(self.http.get(&url).send().await, &url).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        answer(self.http.post(&url).json(&body).send().await, &url).await
    }
}

async fn answer(sent: reqwest::Result<reqwest::Response>, url: &str) -> Result<Value> {
    let response = sent.with_context(|| format!("calling {url}"))?;
    let status = response.status();
    let body = response.text().await?;
    ensure!(status.is_success(), "{url} answered {status}: {body}");
    serde_json::from_str(&body).with_context(|| format!("{url} answered non-JSON: {body}"))
}

fn str_field(value: &Value, name: &str) -> Result<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no string {name:?} in {value}"))
}

/// The active profile's id, from the app's store (the sandbox profile just created).
fn active_profile_id(data_dir: &Path) -> Result<String> {
    let store = okta365_store::Store::open(&data_dir.join("okta365.sqlite3"))?;
    let id = store
        .active_profile_id()?
        .context("choosing the sandbox should make its profile the active one")?;
    Ok(id.to_string())
}

/// The keychain service of the app under test: the suite drives a debug build (`okta365-dev`).
fn keychain_service() -> &'static str {
    "okta365-dev"
}

/// Every secret the keychain holds for the profile, named `{what} {label}`.
async fn keychain_secrets(profile_id: &str, what: &str) -> Result<Vec<SecretValue>> {
    let keychain = Keychain::with_service(keychain_service());
    let mut found = Vec::new();
    for kind in CredentialKind::ALL {
        if let Some(secret) = keychain.get(profile_id, kind).await? {
            found.push(SecretValue::new(
                format!("{what} {}", kind.label()),
                secret.expose(),
            ));
        }
    }
    Ok(found)
}
