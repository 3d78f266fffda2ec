//! Provisioning from Okta groups through the real app (issue #5), with the sandbox playing both
//! tenants and this test playing the Okta admin through the sandbox's Okta API:
//!
//! 1. The app polls the System Log (triggers on, every 10 s). A new Okta user added to the assignments
//!    group gets a Microsoft 365 account; a title changed in Okta is synced; a user added to the guest
//!    group is invited as a guest, and removed from it, the guest is deleted.
//! 2. History lists each run; a run opens as its timeline of steps.
//! 3. The one-click test run creates a throwaway Okta user, provisions it with steps shown live, reads
//!    the account back from Microsoft and cleans up.

use std::time::Duration;

mod common;

use anyhow::{Result, ensure};
use common::{Tenant, active_profile_id, str_field, wait_for};
use okta365_e2e::{Harness, READY_TIMEOUT, STEP_TIMEOUT};
use serde_json::json;

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
    // The username preview inserts its table above the Save button when it arrives: wait for it, so
    // the click is not moved onto another field by the layout shift.
    app.find("prov-preview", STEP_TIMEOUT).await?;
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
    // The username preview loads above the test run and moves it down when it appears.
    app.find("prov-preview", STEP_TIMEOUT).await?;
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
