//! Provisioning from Okta groups through the real app (issue #5), with the sandbox playing both
//! tenants and this test playing the Okta admin through the sandbox's Okta API:
//!
//! 1. The app polls the System Log (triggers on, every 10 s). A new Okta user added to the assignments
//!    group gets a Microsoft 365 account; a title changed in Okta is synced; a user added to the guest
//!    group is invited as a guest, and removed from it, the guest is deleted.
//! 2. History lists each run; a run opens as its timeline of steps.
//! 3. The one-click test run creates a throwaway Okta user, provisions it with steps shown live, reads
//!    the account back from Microsoft and cleans up.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use okta365_e2e::{Harness, READY_TIMEOUT, STEP_TIMEOUT};
use okta365_secrets::{CredentialKind, Keychain};
use serde_json::{Value, json};

/// A poll every 10 s, then the run: allow a few rounds.
const TRIGGER_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn okta_group_changes_provision_microsoft_accounts_and_guests() -> Result<()> {
    let harness = Harness::from_env()?;
    let scenario =
        harness.scenario("okta_group_changes_provision_microsoft_accounts_and_guests")?;
    let data_dir = scenario.data_dir().to_path_buf();

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    let profile_id = active_profile_id(&data_dir)?;
    let tenant = Tenant::of(&data_dir, &profile_id).await?;

    app.click("rail-step-provisioning").await?;
    app.wait_for("step-provisioning", STEP_TIMEOUT).await?;
    app.type_into("prov-poll-interval", "10").await?;
    // The guest group is small: one removal is more than 5 % of it. Triggered runs that the guard
    // stops wait for a person, so this test allows any share (the guard has its own tests).
    app.type_into("prov-guard-percent", "100").await?;
    app.click("prov-save").await?;
    app.wait_for("prov-saved", STEP_TIMEOUT).await?;
    app.click("triggers-toggle").await?;
    app.wait_for_text("triggers-last-poll", ":", STEP_TIMEOUT)
        .await?;
    app.screenshot("triggers-on").await?;

    // ---- A joiner: a new Okta user added to the assignments group gets a Microsoft account. ----
    let assignments = tenant.group_id("Office 365 Assignments").await?;
    let guests = tenant.group_id("O365Guest").await?;
    let joiner = tenant
        .okta_post(
            "api/v1/users?activate=true",
            json!({ "profile": {
                "firstName": "Jo", "lastName": "Inerson", "email": "jo.inerson@corp.example",
                "login": "jo.inerson@corp.example", "title": "Analyst", "department": "Finance" } }),
        )
        .await?;
    let joiner_id = str_field(&joiner, "id")?;
    tenant
        .okta_put(&format!("api/v1/groups/{assignments}/users/{joiner_id}"))
        .await?;
    let account = wait_for(
        TRIGGER_TIMEOUT,
        "the joiner's Microsoft account",
        || async {
            tenant
                .graph_user_by_mail("jo.inerson@corp.example", "Member")
                .await
        },
    )
    .await?;
    ensure!(
        account["jobTitle"] == "Analyst",
        "the new account carries the Okta title: {account}"
    );
    ensure!(
        account["accountEnabled"] == true,
        "the new account is enabled: {account}"
    );
    app.screenshot("joiner-provisioned").await?;

    // ---- Profile sync: a title changed in Okta reaches Microsoft. ----
    tenant
        .okta_post(
            &format!("api/v1/users/{joiner_id}"),
            json!({ "profile": { "title": "Senior Analyst" } }),
        )
        .await?;
    wait_for(TRIGGER_TIMEOUT, "the synced title", || async {
        let user = tenant
            .graph_user_by_mail("jo.inerson@corp.example", "Member")
            .await?;
        Ok(user.filter(|u| u["jobTitle"] == "Senior Analyst"))
    })
    .await?;

    // ---- Guests: added to the guest group → invited; removed → deleted. ----
    let partner = tenant
        .okta_post(
            "api/v1/users?activate=true",
            json!({ "profile": {
                "firstName": "Pat", "lastName": "Partner", "email": "pat@partner.example",
                "login": "pat@partner.example" } }),
        )
        .await?;
    let partner_id = str_field(&partner, "id")?;
    tenant
        .okta_put(&format!("api/v1/groups/{guests}/users/{partner_id}"))
        .await?;
    let guest = wait_for(TRIGGER_TIMEOUT, "the partner's guest account", || async {
        tenant
            .graph_user_by_mail("pat@partner.example", "Guest")
            .await
    })
    .await?;
    ensure!(
        str_field(&guest, "userPrincipalName")?.contains("#EXT#"),
        "a guest has an #EXT# sign-in name: {guest}"
    );
    tenant
        .okta_delete(&format!("api/v1/groups/{guests}/users/{partner_id}"))
        .await?;
    wait_for(TRIGGER_TIMEOUT, "the guest's deletion", || async {
        let gone = tenant
            .graph_user_by_mail("pat@partner.example", "Guest")
            .await?
            .is_none();
        Ok(gone.then_some(()))
    })
    .await?;
    app.scroll_to("triggers-runs", true).await?;
    app.screenshot("trigger-runs").await?;
    app.click("triggers-toggle").await?;

    // ---- History: every run, and one opened as its timeline. ----
    app.click("rail-step-history").await?;
    app.wait_for("history-list", STEP_TIMEOUT).await?;
    let runs = app.test_ids("[data-testid^=\"history-run-\"]").await?;
    let mut operations = Vec::new();
    for id in &runs {
        operations.push(app.attr(id, "data-operation").await?.unwrap_or_default());
    }
    for needed in ["memberAccounts", "profileSync", "guests"] {
        ensure!(
            operations.iter().any(|o| o == needed),
            "History should list a {needed} run: {operations:?}"
        );
    }
    ensure!(
        runs.len() >= 4,
        "History should list the joiner, sync, invite and removal runs: {runs:?}"
    );
    // A row opens on a click anywhere in it; WebKitWebDriver clicks a cell, not the row element.
    let open = runs[0].replace("history-run-", "history-open-");
    app.scroll_to(&open, true).await?;
    app.click(&open).await?;
    app.wait_for("history-step-1", STEP_TIMEOUT).await?;
    ensure!(
        app.attr("history-step-1", "data-status").await?.as_deref() == Some("done"),
        "the newest run's first step is done"
    );
    app.screenshot("history-timeline").await?;

    // ---- One-click test run with a throwaway user. ----
    app.click("rail-step-provisioning").await?;
    app.wait_for("step-provisioning", STEP_TIMEOUT).await?;
    app.scroll_to("test-run-start", true).await?;
    app.select("test-run-operation", "memberAccounts").await?;
    app.click("test-run-create-user").await?;
    app.click("test-run-start").await?;
    app.wait_for("test-run-result", TRIGGER_TIMEOUT).await?;
    ensure!(
        app.attr("test-run-result", "data-status").await?.as_deref() == Some("succeeded"),
        "the test run succeeds"
    );
    let readback = app.text("test-run-readback").await?;
    ensure!(
        readback.contains("userPrincipalName"),
        "the account is read back from Microsoft: {readback}"
    );
    app.scroll_to("test-run-result", true).await?;
    app.screenshot("test-run").await?;
    app.click("test-run-cleanup").await?;
    app.close().await?;
    Ok(())
}

async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if Instant::now() > deadline {
            bail!("{what} did not appear within {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The sandbox tenant as the admin sees it: the Okta API with the profile's demo API token, Graph with
/// a client-credentials token of the profile's app.
struct Tenant {
    base: String,
    okta_token: String,
    graph_token: String,
    http: reqwest::Client,
}

impl Tenant {
    async fn of(data_dir: &std::path::Path, profile_id: &str) -> Result<Tenant> {
        let info: Value =
            serde_json::from_slice(&std::fs::read(data_dir.join("sandbox/server.json"))?)?;
        let base = str_field(&info, "baseUrl")?
            .trim_end_matches('/')
            .to_string();
        let http = reqwest::Client::builder().no_proxy().build()?;
        let keychain = Keychain::with_service("okta365-dev");
        let okta_token = keychain
            .get(profile_id, CredentialKind::OktaApiToken)
            .await?
            .context("the sandbox profile has its demo API token in the keychain")?
            .expose()
            .to_string();
        let secret = keychain
            .get(profile_id, CredentialKind::EntraClientSecret)
            .await?
            .context("the sandbox profile has its demo client secret in the keychain")?
            .expose()
            .to_string();
        let store = okta365_store::Store::open(&data_dir.join("okta365.sqlite3"))?;
        let profile = store
            .profile_by_id(profile_id.parse()?)?
            .context("the active profile is in the store")?;
        let tenant = profile
            .ms_tenant
            .context("the sandbox profile has a tenant")?;
        let client_id = profile
            .ms_client_id
            .context("the sandbox profile has an app")?;
        let token: Value = http
            .post(format!("{base}/{tenant}/oauth2/v2.0/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await?
            .json()
            .await?;
        let graph_token = str_field(&token, "access_token")?;
        Ok(Tenant {
            base,
            okta_token,
            graph_token,
            http,
        })
    }

    async fn okta(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}/{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header("Authorization", format!("SSWS {}", self.okta_token))
            .header("Accept", "application/json");
        request = match body {
            Some(body) => request.json(&body),
            None => request.header("Content-Length", "0"),
        };
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(
            status.is_success(),
            "{method} {url} answered {status}: {text}"
        );
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    async fn okta_post(&self, path: &str, body: Value) -> Result<Value> {
        self.okta(reqwest::Method::POST, path, Some(body)).await
    }

    async fn okta_put(&self, path: &str) -> Result<Value> {
        self.okta(reqwest::Method::PUT, path, None).await
    }

    async fn okta_delete(&self, path: &str) -> Result<Value> {
        self.okta(reqwest::Method::DELETE, path, None).await
    }

    async fn group_id(&self, name: &str) -> Result<String> {
        let url = format!("{}/api/v1/groups", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[("search", format!("profile.name eq \"{name}\""))])
            .header("Authorization", format!("SSWS {}", self.okta_token))
            .header("Accept", "application/json")
            .send()
            .await?;
        let groups: Value = response.json().await?;
        let group = groups
            .as_array()
            .and_then(|g| g.iter().find(|g| g["profile"]["name"] == name))
            .with_context(|| format!("the sandbox org has a group named {name:?}: {groups}"))?;
        str_field(group, "id")
    }

    /// The Microsoft user (of `user_type`) whose mail is `mail`, if any.
    async fn graph_user_by_mail(&self, mail: &str, user_type: &str) -> Result<Option<Value>> {
        let url = format!("{}/v1.0/users", self.base);
        let response = self
            .http
            .get(&url)
            .query(&[
                (
                    "$filter",
                    format!("mail eq '{mail}' and userType eq '{user_type}'"),
                ),
                (
                    "$select",
                    "id,userPrincipalName,mail,jobTitle,accountEnabled,userType".to_string(),
                ),
            ])
            .bearer_auth(&self.graph_token)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        ensure!(status.is_success(), "GET {url} answered {status}: {body}");
        Ok(body["value"].as_array().and_then(|v| v.first()).cloned())
    }
}

fn str_field(value: &Value, name: &str) -> Result<String> {
    value
        .get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("no string {name:?} in {value}"))
}

fn active_profile_id(data_dir: &std::path::Path) -> Result<String> {
    let store = okta365_store::Store::open(&data_dir.join("okta365.sqlite3"))?;
    let id = store
        .active_profile_id()?
        .context("choosing the sandbox makes its profile the active one")?;
    Ok(id.to_string())
}
