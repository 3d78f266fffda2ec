//! Connecting both tenants through the real app (issue #3), with the sandbox playing Microsoft and Okta
//! and this test playing their admins through the sandbox's control API:
//!
//! 1. Microsoft, client secret: a fresh secret from "Certificates & secrets", saved and tested: every
//!    check passes. The secret ID pasted by mistake is caught in the field; a wrong secret is saved and
//!    the test shows AADSTS7000215 with its fix.
//! 2. Okta, API service app with DPoP: okta365 generates the key pair, the "admin" registers the public
//!    JWK with the scopes the UI lists and an admin role; every check passes and sign-in names DPoP.
//!    The admin then takes `okta.logs.read` away: its check fails with the fix (Okta API Scopes tab).
//! 3. The Credentials screen lists what the keychain holds for the profile.
//! 4. No secret value used on the way — typed, minted, or generated into the keychain — is in any file
//!    of the data dir (store, WAL, logs, sandbox state) or of this test's artifacts (page sources,
//!    driver and app logs).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use okta365_e2e::{App, Harness, READY_TIMEOUT, STEP_TIMEOUT, SecretValue, scan_for_secrets};
use okta365_secrets::{CredentialKind, Keychain};
use rand::Rng as _;
use serde_json::{Value, json};

/// A connection test signs in (RSA signatures checked by a debug-build sandbox) and makes a few calls.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The scopes the default operations (all but imports) need, from the engine's requirement table
/// (docs/connections.md).
const DEFAULT_SCOPES: [&str; 3] = ["okta.groups.read", "okta.users.read", "okta.logs.read"];

#[tokio::test]
async fn connect_microsoft_and_okta_to_the_sandbox() -> Result<()> {
    let harness = Harness::from_env()?;
    let scenario = harness.scenario("connect_microsoft_and_okta_to_the_sandbox")?;
    let data_dir = scenario.data_dir().to_path_buf();
    let mut secrets: Vec<SecretValue> = Vec::new();

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    app.wait_for("status-sandbox", STEP_TIMEOUT).await?;

    let sandbox = Sandbox::of(&data_dir)?;
    let profile_id = active_profile_id(&data_dir)?;
    // The sandbox profile starts with demo credentials (an Okta API token, an Entra client secret)
    // that only the keychain holds; they must stay out of every file too.
    let demo = keychain_secrets(&profile_id, "the demo").await?;
    ensure!(
        demo.iter()
            .any(|s| s.name.contains(CredentialKind::OktaApiToken.label()))
            && demo
                .iter()
                .any(|s| s.name.contains(CredentialKind::EntraClientSecret.label())),
        "a new sandbox profile should have an Okta API token and an Entra client secret in the \
         keychain; found {demo:?}"
    );
    secrets.extend(demo);

    // ---- Microsoft: the admin creates a client secret, okta365 saves and tests it. ----
    let tenant = app.value("ms-tenant").await?;
    let client_id = app.value("ms-client-id").await?;
    ensure!(
        !tenant.is_empty() && !client_id.is_empty(),
        "the Microsoft step of a sandbox profile should be filled with the sandbox's tenant and app"
    );
    let minted = sandbox
        .post(
            &format!("entra/apps/{client_id}/secrets"),
            json!({ "displayName": "okta365 e2e" }),
        )
        .await?;
    let secret = str_field(&minted, "secretText")?;
    let secret_id = str_field(&minted, "keyId")?;
    secrets.push(SecretValue::new(
        "the Entra client secret minted for this test",
        &secret,
    ));

    app.type_into("ms-tenant", &tenant).await?;
    app.type_into("ms-client-id", &client_id).await?;
    app.select("ms-credential-kind", "secret").await?;
    // The usual slip: the Secret ID column instead of the Value. The field says so; Save stays off.
    app.type_into("ms-secret", &secret_id).await?;
    app.wait_for_text("ms-secret-message", "secret ID", STEP_TIMEOUT)
        .await?;
    ensure!(
        !app.find("ms-save", STEP_TIMEOUT)
            .await?
            .is_enabled()
            .await?,
        "Save should stay disabled while the secret field holds a secret ID"
    );
    app.screenshot("microsoft-secret-id-pasted").await?;

    app.type_into("ms-secret", &secret).await?;
    save(&app, "ms").await?;
    ensure!(
        app.value("ms-secret").await?.is_empty(),
        "after saving, the secret field should be emptied: the secret lives in the keychain only"
    );
    let steps = run_test(&app, "ms-test").await?;
    assert_all_ok(&steps, "the Microsoft test with the new secret")?;
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    for needed in ["check-token", "check-tenant", "check-expiry"] {
        ensure!(
            ids.contains(&needed),
            "the Microsoft test should have the step {needed}; it has {ids:?}"
        );
    }
    ensure!(
        ids.iter().any(|id| id.starts_with("check-permissions:")),
        "the Microsoft test should check the permissions of each enabled operation; it has {ids:?}"
    );
    let tenant_step = step(&steps, "check-tenant")?;
    ensure!(
        tenant_step.text.contains(".onmicrosoft.com"),
        "the tenant check should name the tenant's verified domains: {:?}",
        tenant_step.text
    );
    app.scroll_to("test-result", false).await?;
    app.screenshot("microsoft-all-checks-pass").await?;

    // A wrong secret: Entra answers AADSTS7000215, shown in plain words with the fix.
    let wrong = random_secret();
    secrets.push(SecretValue::new(
        "the wrong Entra client secret typed by this test",
        &wrong,
    ));
    app.type_into("ms-secret", &wrong).await?;
    save(&app, "ms").await?;
    let steps = run_test(&app, "ms-test").await?;
    ensure!(
        app.attr("test-result", "data-status").await?.as_deref() == Some("failed"),
        "with a wrong secret the Microsoft test should fail"
    );
    let token = step(&steps, "check-token")?;
    ensure!(
        token.status == "failed",
        "with a wrong secret the token step should fail: {token:?}"
    );
    // The graph crate's AADSTS table (crates/graph/src/aadsts.rs), filled in for this app.
    for expected in [
        "AADSTS7000215".to_string(),
        format!("The client secret is wrong for app {client_id}."),
        "Paste the secret's Value, not its Secret ID".to_string(),
        // The link to the app's Certificates & secrets page.
        format!("/Credentials/appId/{client_id}"),
    ] {
        ensure!(
            token.text.contains(&expected),
            "the token step should say {expected:?}; it says {:?}",
            token.text
        );
    }
    ensure!(
        steps
            .iter()
            .filter(|s| s.id != "check-token")
            .all(|s| s.status == "skipped"),
        "without a token the later Microsoft checks should be skipped: {steps:?}"
    );
    app.scroll_to("test-result", false).await?;
    app.screenshot("microsoft-wrong-secret").await?;

    app.type_into("ms-secret", &secret).await?;
    save(&app, "ms").await?;
    let steps = run_test(&app, "ms-test").await?;
    assert_all_ok(
        &steps,
        "the Microsoft test after putting the right secret back",
    )?;

    // ---- Okta: okta365 generates a key pair; the admin registers the service app with it. ----
    app.click("rail-step-okta").await?;
    app.wait_for("step-okta", STEP_TIMEOUT).await?;
    app.type_into("okta-org-url", &sandbox.base).await?;
    app.select("okta-auth-kind", "serviceApp").await?;
    app.click("okta-generate-key").await?;
    app.wait_for("okta-public-jwk", STEP_TIMEOUT).await?;
    let jwk: Value = serde_json::from_str(&app.text("okta-public-jwk").await?)
        .context("the public key shown on the Okta step should be JSON (a JWK)")?;
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        ensure!(
            jwk.get(private).is_none(),
            "the public JWK shown must not carry the private member {private:?}"
        );
    }
    let key_id = str_field(&jwk, "kid")?;
    let scopes = app
        .texts(&format!("{} code", okta365_e2e::tid("okta-scopes")))
        .await?;
    ensure!(
        scopes.iter().map(String::as_str).collect::<BTreeSet<_>>()
            == BTreeSet::from(DEFAULT_SCOPES),
        "the Okta step should list the scopes of the default operations {DEFAULT_SCOPES:?}; it lists {scopes:?}"
    );
    app.scroll_to("okta-public-jwk", true).await?;
    app.screenshot("okta-key-generated").await?;

    let registered = sandbox
        .post(
            "okta/service-apps",
            json!({
                "name": "okta365 e2e",
                "jwks": { "keys": [jwk] },
                "scopes": scopes,
                "adminRoles": ["READ_ONLY_ADMIN"],
                "dpopBound": true,
            }),
        )
        .await?;
    let okta_client_id = str_field(&registered, "clientId")?;
    app.type_into("okta-client-id", &okta_client_id).await?;
    save(&app, "okta").await?;
    let steps = run_test(&app, "okta-test").await?;
    assert_all_ok(&steps, "the Okta test of the service app")?;
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    let mut expected = vec!["check-token".to_string()];
    expected.extend(DEFAULT_SCOPES.iter().map(|s| format!("check-scope:{s}")));
    ensure!(
        ids.iter().copied().collect::<BTreeSet<_>>()
            == expected.iter().map(String::as_str).collect(),
        "the Okta test should sign in and probe each scope: expected {expected:?}, got {ids:?}"
    );
    let token = step(&steps, "check-token")?;
    ensure!(
        token.text.contains("DPoP") && token.text.contains(&okta_client_id),
        "the Okta sign-in step should name the app and say the token is DPoP-bound: {:?}",
        token.text
    );
    app.scroll_to("test-result", true).await?;
    app.screenshot("okta-all-checks-pass").await?;

    // The generated private key is in the keychain only; its pieces go on the list to search for.
    let key = Keychain::with_service(keychain_service())
        .get(&profile_id, CredentialKind::OktaPrivateKey)
        .await?
        .context("after generating a key pair the private key should be in the OS keychain")?;
    let key_parts = SecretValue::key_parts("the generated Okta private key", key.expose());
    ensure!(
        !key_parts.is_empty(),
        "the stored private key should be a PEM or a JWK with a private part"
    );
    secrets.extend(key_parts);

    // The admin takes okta.logs.read away from the app: its probe fails and says how to fix it.
    let fewer: Vec<&String> = scopes.iter().filter(|s| *s != "okta.logs.read").collect();
    sandbox
        .patch(
            &format!("okta/service-apps/{okta_client_id}"),
            json!({ "scopes": fewer }),
        )
        .await?;
    let steps = run_test(&app, "okta-test").await?;
    ensure!(
        app.attr("test-result", "data-status").await?.as_deref() == Some("failed"),
        "without okta.logs.read the Okta test should fail"
    );
    let logs = step(&steps, "check-scope:okta.logs.read")?;
    ensure!(
        logs.status == "failed",
        "the okta.logs.read probe should fail once the scope is gone: {logs:?}"
    );
    for expected in ["okta.logs.read", "Okta API Scopes", "admin role", "403"] {
        ensure!(
            logs.text.contains(expected),
            "the failed okta.logs.read step should say {expected:?} (the fix names the Okta API Scopes \
             tab and the admin role); it says {:?}",
            logs.text
        );
    }
    for other in steps
        .iter()
        .filter(|s| s.id != "check-scope:okta.logs.read")
    {
        ensure!(
            other.status == "ok",
            "only the okta.logs.read probe should fail: {other:?}"
        );
    }
    app.scroll_to("check-scope:okta.logs.read", true).await?;
    app.screenshot("okta-scope-missing").await?;

    // ---- Credentials: what the keychain holds for the profile. ----
    app.click("rail-step-credentials").await?;
    app.wait_for("credentials-table", STEP_TIMEOUT).await?;
    let rows: BTreeSet<String> = app
        .test_ids("tr[data-testid^=\"credential-\"]")
        .await?
        .into_iter()
        .collect();
    let expected_rows = BTreeSet::from([
        "credential-entra.client_secret".to_string(),
        "credential-okta.private_key".to_string(),
    ]);
    ensure!(
        rows == expected_rows,
        "the Credentials screen should list the client secret and the service app key (the demo API \
         token was replaced by the key); it lists {rows:?}"
    );
    let key_row = app.text("credential-okta.private_key").await?;
    let kid_start: String = key_id.chars().take(12).collect();
    ensure!(
        key_row.contains(&kid_start),
        "the key's row should show its key id {kid_start}…: {key_row:?}"
    );
    let secret_row = app.text("credential-entra.client_secret").await?;
    let hint: String = secret.chars().take(3).collect();
    ensure!(
        secret_row.contains(&format!("{hint}••••")),
        "the secret's row should show only Microsoft's hint ({hint}••••): {secret_row:?}"
    );
    // The Microsoft test read the secret's end date from the app registration (two years ahead).
    let countdown = app.text("credential-countdown-entra.client_secret").await?;
    let days: Option<i64> = countdown
        .split_whitespace()
        .skip_while(|w| *w != "in")
        .nth(1)
        .and_then(|n| n.parse().ok());
    ensure!(
        days.is_some_and(|d| (728..=731).contains(&d)),
        "the secret's row should count down the two years the sandbox gave it (\"in 729 days\"): {countdown:?}"
    );
    app.screenshot("credentials").await?;

    // ---- No secret in any file: while the app runs (SQLite WAL and all) and after it closed. ----
    assert_no_secrets(&data_dir, scenario.artifacts_dir(), &secrets, true)?;
    app.close().await?;
    assert_no_secrets(&data_dir, scenario.artifacts_dir(), &secrets, false)?;
    Ok(())
}

/// Saves the form of `prefix` ("ms" or "okta") and waits for "Saved".
async fn save(app: &App, prefix: &str) -> Result<()> {
    let status = format!("{prefix}-save-status");
    app.click(&format!("{prefix}-save")).await?;
    match app.wait_for_text(&status, "Saved", STEP_TIMEOUT).await {
        Ok(_) => Ok(()),
        Err(_)
            if app
                .is_visible(&format!("{prefix}-save-error"))
                .await
                .unwrap_or(false) =>
        {
            bail!(
                "saving failed: {}",
                app.text(&format!("{prefix}-save-error")).await?
            )
        }
        Err(e) => Err(e),
    }
}

/// One check row of a test result.
#[derive(Debug)]
struct Step {
    id: String,
    status: String,
    text: String,
}

/// Clicks a Test button, waits for the new result and reads its check rows.
async fn run_test(app: &App, button: &str) -> Result<Vec<Step>> {
    app.click_for_new(button, "test-result", "test-error", TEST_TIMEOUT)
        .await?;
    let css = "[data-testid=\"test-result\"] [data-testid^=\"check-\"][data-status]";
    let ids = app.test_ids(css).await?;
    let texts = app.texts(css).await?;
    ensure!(
        !ids.is_empty() && ids.len() == texts.len(),
        "the test result should list its checks ({ids:?})"
    );
    let mut steps = Vec::new();
    for (id, text) in ids.into_iter().zip(texts) {
        let status = app.attr(&id, "data-status").await?.unwrap_or_default();
        steps.push(Step { id, status, text });
    }
    Ok(steps)
}

fn step<'a>(steps: &'a [Step], id: &str) -> Result<&'a Step> {
    steps
        .iter()
        .find(|s| s.id == id)
        .with_context(|| format!("the test result has no {id}; it has {steps:?}"))
}

fn assert_all_ok(steps: &[Step], what: &str) -> Result<()> {
    let bad: Vec<&Step> = steps.iter().filter(|s| s.status != "ok").collect();
    ensure!(
        bad.is_empty(),
        "{what} should pass every check; these did not: {bad:?}"
    );
    Ok(())
}

/// Searches the data dir and this test's artifacts for every secret; `running` says whether the app
/// is still up (then the SQLite WAL is there too).
fn assert_no_secrets(
    data_dir: &Path,
    artifacts: &Path,
    secrets: &[SecretValue],
    running: bool,
) -> Result<()> {
    let scan = scan_for_secrets(&[data_dir, artifacts], secrets)?;
    let has = |suffix: &str| {
        scan.files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(suffix))
    };
    let mut expected = vec!["okta365.sqlite3", "sandbox/state.json", ".html"];
    if running {
        expected.push("okta365.sqlite3-wal");
    }
    for file in expected {
        ensure!(
            has(file),
            "the secret scan should have read a file ending in {file}; it read {:?}",
            scan.files
        );
    }
    ensure!(
        scan.files
            .iter()
            .any(|f| f.starts_with(data_dir.join("logs"))),
        "the secret scan should have read the app's log files; it read {:?}",
        scan.files
    );
    println!(
        "secret scan ({}): {} values searched for in {} files",
        if running { "app running" } else { "app closed" },
        secrets.len(),
        scan.files.len()
    );
    ensure!(
        scan.hits.is_empty(),
        "secret values were found in files ({} secrets searched, {} files read): {:?}",
        secrets.len(),
        scan.files.len(),
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

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        answer(self.http.post(&url).json(&body).send().await, &url).await
    }

    async fn patch(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}/_sandbox/{path}", self.base);
        answer(self.http.patch(&url).json(&body).send().await, &url).await
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

/// A value shaped like an Entra client secret (`abc8Q~` and 34 more) that no app has.
fn random_secret() -> String {
    let mut rng = rand::rng();
    let tail: String = (&mut rng)
        .sample_iter(rand::distr::Alphanumeric)
        .take(34)
        .map(char::from)
        .collect();
    let head: String = (&mut rng)
        .sample_iter(rand::distr::Alphanumeric)
        .take(3)
        .map(char::from)
        .collect();
    format!("{head}{}Q~{tail}", rng.random_range(0..10))
}
