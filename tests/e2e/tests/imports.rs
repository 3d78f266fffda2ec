//! Anything-as-a-Source through the real app (issue #7): the sandbox's sample HR source as a 100-row
//! CSV file is imported into the sandbox org through import sessions; a changed row is re-imported
//! (one profile updated), a row turned inactive is re-imported (that user deactivated); the Import
//! Monitoring view lists the three imports.

mod common;

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use common::{Tenant, active_profile_id, wait_for};
use okta365_e2e::{App, Harness, READY_TIMEOUT, STEP_TIMEOUT};
use serde_json::{Value, json};

/// A plan reads the file and Okta; an apply uploads, starts and follows the session.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn an_hr_csv_is_imported_then_a_change_and_a_leaver_are_imported_again() -> Result<()> {
    let harness = Harness::from_env()?;
    let scenario =
        harness.scenario("an_hr_csv_is_imported_then_a_change_and_a_leaver_are_imported_again")?;
    let data_dir = scenario.data_dir().to_path_buf();
    let csv_path = data_dir.join("hr-export.csv");

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    let profile_id = active_profile_id(&data_dir)?;
    let tenant = Tenant::of(&data_dir, &profile_id).await?;
    // Okta's 5-minute rule between sessions and its processing time, scaled down for the test.
    tenant
        .sandbox_post(
            "identity-sources/rules",
            json!({ "minGapSecs": 2, "processingSecs": 1, "secsPer1000Users": 0 }),
        )
        .await?;
    let records = tenant.sandbox_get("hr/users?size=100").await?;
    let records = records["data"]
        .as_array()
        .context("the HR source lists its records")?
        .clone();
    ensure!(records.len() == 100, "100 HR records: {}", records.len());
    let active: Vec<&Value> = records.iter().filter(|r| r["active"] == true).collect();
    let changed = active[0];
    let leaver = active[1];
    let email = |r: &Value| r["email"].as_str().unwrap_or_default().to_owned();
    let id = |r: &Value| r["id"].to_string().trim_matches('"').to_owned();

    // ---- 1. The first import: every active record becomes an Okta user. ----
    tenant.save_hr_csv(&csv_path).await?;
    app.click("rail-step-imports").await?;
    app.wait_for("step-imports", STEP_TIMEOUT).await?;
    app.type_into("import-source-name", "HR").await?;
    app.type_into(
        "import-csv-path",
        csv_path.to_str().context("a UTF-8 path")?,
    )
    .await?;
    app.click("import-preview").await?;
    app.wait_for("import-columns", STEP_TIMEOUT).await?;
    app.click("import-suggest").await?;
    app.wait_for("import-mapped-row-0", STEP_TIMEOUT).await?;
    app.screenshot("mapping-suggested").await?;
    app.scroll_to("import-mapping-save", true).await?;
    app.click("import-mapping-save").await?;
    import(&app, "first").await?;
    for r in &active {
        let user = tenant.okta_user(&email(r)).await?;
        ensure!(
            user.as_ref().is_some_and(|u| u["status"] == "ACTIVE"),
            "{} is an active Okta user after the import: {user:?}",
            email(r)
        );
    }

    // ---- 2. A changed row: one profile updated. ----
    tenant
        .sandbox_put(
            &format!("hr/users/{}", id(changed)),
            json!({ "title": "Chief Import Tester" }),
        )
        .await?;
    tenant.save_hr_csv(&csv_path).await?;
    import(&app, "changed").await?;
    let counts = app.text("import-plan-counts").await?;
    ensure!(
        counts.contains('1'),
        "the delta plan uploads the one changed record: {counts}"
    );
    let user = tenant
        .okta_user(&email(changed))
        .await?
        .context("the changed user")?;
    ensure!(
        user["profile"]["title"] == "Chief Import Tester",
        "the title reached Okta: {user}"
    );

    // ---- 3. A row turned inactive: that user is deactivated. ----
    tenant
        .sandbox_put(
            &format!("hr/users/{}", id(leaver)),
            json!({ "active": false }),
        )
        .await?;
    tenant.save_hr_csv(&csv_path).await?;
    import(&app, "leaver").await?;
    let user = tenant
        .okta_user(&email(leaver))
        .await?
        .context("the leaver")?;
    ensure!(
        user["status"] == "DEPROVISIONED",
        "the leaver is deactivated in Okta: {user}"
    );

    // ---- Import Monitoring: the three imports. ----
    app.scroll_to("import-history", true).await?;
    wait_for(
        STEP_TIMEOUT,
        "three imports in the monitoring view",
        || async {
            let rows = app.test_ids("[data-testid^=\"import-run-\"]").await?;
            Ok((rows.len() >= 3).then_some(rows))
        },
    )
    .await?;
    app.screenshot("monitoring").await?;
    app.close().await?;
    Ok(())
}

/// Plans the saved source and applies it, waiting for the import to succeed.
async fn import(app: &App, what: &str) -> Result<()> {
    app.scroll_to("import-plan", true).await?;
    app.click("import-plan").await?;
    app.wait_for("import-plan-counts", IMPORT_TIMEOUT).await?;
    app.wait_for("import-apply", STEP_TIMEOUT).await?;
    app.screenshot(&format!("plan-{what}")).await?;
    app.click("import-apply").await?;
    app.wait_for_css(
        "[data-testid=\"import-result\"][data-status=\"succeeded\"]",
        IMPORT_TIMEOUT,
    )
    .await
    .with_context(|| format!("the {what} import succeeds"))?;
    app.screenshot(&format!("result-{what}")).await?;
    Ok(())
}
