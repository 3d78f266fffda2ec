//! The licensing lifecycle through the real app (issue #6), with the sandbox playing both tenants and
//! this test playing the Okta admin through the sandbox's Okta API:
//!
//! 1. Licenses: the assignments group gets Office 365 E3 without Teams; member accounts, then a
//!    licenses run from the Lifecycle step.
//! 2. A leaver with a one-day delay: removed from the group → sign-in blocked, a pending license
//!    removal shown, cancelled from the stages card; then the deactivation is undone from History.
//! 3. A leaver with a 20-second delay: blocked at once with the first manager email; the licenses go
//!    after the delay with the second email; added back → enabled with the same licenses and disabled
//!    plans as before, third email.

mod common;

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use common::{Tenant, active_profile_id, wait_for};
use okta365_e2e::{App, Harness, READY_TIMEOUT, STEP_TIMEOUT};
use serde_json::Value;

/// A System Log poll every 10 s, then the run.
const TRIGGER_TIMEOUT: Duration = Duration::from_secs(60);
/// A run started from the app on the whole assignments group.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// The 20-second delay, the app's 15-second round of due stages, and the run.
const STAGE_TIMEOUT: Duration = Duration::from_secs(90);

/// Okta users of the seed (members of Office 365 Assignments with an E3 account in Microsoft).
const AALIYAH: &str = "00uoYrjZUxlUPDRvxBHn";
const AALIYAH_UPN: &str = "aaliyah.hughes@contoso.example";
const HIROSHI: &str = "00urBxADznUWDBx9GZQq";
const HIROSHI_UPN: &str = "hiroshi.singh@contoso.example";
/// Aaliyah's manager in Okta (managerId), and his email there.
const AALIYAH_MANAGER_MAIL: &str = "tariq.rossi@corp.example";
const SENDER: &str = "admin@contoso-sandbox.onmicrosoft.com";

#[tokio::test]
async fn leavers_are_disabled_then_unlicensed_and_returners_get_their_own_licenses_back()
-> Result<()> {
    let harness = Harness::from_env()?;
    let scenario = harness.scenario(
        "leavers_are_disabled_then_unlicensed_and_returners_get_their_own_licenses_back",
    )?;
    let data_dir = scenario.data_dir().to_path_buf();

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    let profile_id = active_profile_id(&data_dir)?;
    let tenant = Tenant::of(&data_dir, &profile_id).await?;
    let assignments = tenant.group_id("Office 365 Assignments").await?;

    // ---- Licenses: E3 without Teams for the assignments group. ----
    app.click("rail-step-licenses").await?;
    app.wait_for("step-licenses", STEP_TIMEOUT).await?;
    app.click("licenses-refresh").await?;
    app.wait_for("license-row-ENTERPRISEPACK", RUN_TIMEOUT)
        .await?;
    app.click("license-assign-assignments-ENTERPRISEPACK")
        .await?;
    app.click("license-plans-ENTERPRISEPACK").await?;
    app.wait_for(
        "license-plan-assignments-ENTERPRISEPACK-TEAMS1",
        STEP_TIMEOUT,
    )
    .await?;
    app.click("license-plan-assignments-ENTERPRISEPACK-TEAMS1")
        .await?;
    app.screenshot("licenses-mapped").await?;

    // ---- Provisioning: poll every 10 s, any share for the guard, accounts linked. ----
    app.click("rail-step-provisioning").await?;
    app.wait_for("step-provisioning", STEP_TIMEOUT).await?;
    // The username preview inserts its table above the Save button when it arrives: wait for it, so
    // the click is not moved onto another field by the layout shift.
    app.find("prov-preview", STEP_TIMEOUT).await?;
    app.type_into("prov-poll-interval", "10").await?;
    app.type_into("prov-guard-percent", "100").await?;
    app.click("prov-save").await?;
    app.wait_for("prov-saved", STEP_TIMEOUT).await?;
    plan_and_apply(&app, "memberAccounts").await?;

    // ---- Lifecycle: a one-day delay, the sender, and the licenses run. ----
    app.click("rail-step-lifecycle").await?;
    app.wait_for("step-lifecycle", STEP_TIMEOUT).await?;
    set_delay(&app, "1", "days").await?;
    plan_and_apply(&app, "licenses").await?;
    let teams = plan_id(&tenant, "ENTERPRISEPACK", "TEAMS1").await?;
    let e3 = sku_id(&tenant, "ENTERPRISEPACK").await?;
    let before = direct_licenses(&tenant, AALIYAH_UPN).await?;
    ensure!(
        before == vec![(e3.clone(), vec![teams.clone()])],
        "the licenses run gave Aaliyah E3 without Teams: {before:?}"
    );
    app.screenshot("licensed").await?;

    app.click("rail-step-provisioning").await?;
    app.wait_for("step-provisioning", STEP_TIMEOUT).await?;
    app.click("triggers-toggle").await?;
    app.wait_for_text("triggers-last-poll", ":", STEP_TIMEOUT)
        .await?;

    // ---- A leaver, one-day delay: blocked, pending stage cancelled, then undone. ----
    tenant
        .okta_delete(&format!("api/v1/groups/{assignments}/users/{HIROSHI}"))
        .await?;
    wait_for(TRIGGER_TIMEOUT, "Hiroshi's account blocked", || async {
        let user = tenant
            .graph_get(&format!("users/{HIROSHI_UPN}?$select=accountEnabled"))
            .await?;
        Ok((user["accountEnabled"] == false).then_some(()))
    })
    .await?;
    app.click("rail-step-lifecycle").await?;
    app.wait_for("step-lifecycle", STEP_TIMEOUT).await?;
    let stage = app
        .wait_for_css(
            "[data-testid^=\"stage-\"][data-status=\"pending\"]",
            STAGE_TIMEOUT,
        )
        .await?;
    let stage_id = stage
        .attr("data-testid")
        .await?
        .context("the stage row has its test id")?;
    let id = stage_id.trim_start_matches("stage-").to_string();
    app.scroll_to(&stage_id, true).await?;
    app.screenshot("pending-stage").await?;
    app.click(&format!("stage-cancel-{id}")).await?;
    // The pending list drops it; with finished stages shown it is there, cancelled.
    wait_for(
        STEP_TIMEOUT,
        "the stage to leave the pending list",
        || async { Ok((!app.is_visible(&stage_id).await.unwrap_or(false)).then_some(())) },
    )
    .await?;
    app.click("stages-show-finished").await?;
    app.wait_for_css(
        &format!("[data-testid=\"{stage_id}\"][data-status=\"cancelled\"]"),
        STEP_TIMEOUT,
    )
    .await?;
    ensure!(
        !direct_licenses(&tenant, HIROSHI_UPN).await?.is_empty(),
        "a cancelled stage leaves the licenses"
    );

    app.click("rail-step-history").await?;
    app.wait_for("history-list", STEP_TIMEOUT).await?;
    let runs = app.test_ids("[data-testid^=\"history-run-\"]").await?;
    let mut deactivation = None;
    for run in &runs {
        if app.attr(run, "data-operation").await?.as_deref() == Some("deactivation") {
            deactivation = Some(run.trim_start_matches("history-run-").to_string());
            break;
        }
    }
    let deactivation = deactivation.context("History lists the deactivation run")?;
    app.scroll_to(&format!("history-open-{deactivation}"), true)
        .await?;
    app.click(&format!("history-open-{deactivation}")).await?;
    app.wait_for("history-undo", STEP_TIMEOUT).await?;
    app.click("history-undo").await?;
    app.wait_for("history-undo-plan", STEP_TIMEOUT).await?;
    app.wait_for("run-apply", STEP_TIMEOUT).await?;
    app.screenshot("undo-plan").await?;
    app.click("run-apply").await?;
    wait_for(
        RUN_TIMEOUT,
        "Hiroshi's account enabled by the undo",
        || async {
            let user = tenant
                .graph_get(&format!("users/{HIROSHI_UPN}?$select=accountEnabled"))
                .await?;
            Ok((user["accountEnabled"] == true).then_some(()))
        },
    )
    .await?;
    app.screenshot("undone").await?;

    // ---- A leaver, 20-second delay: blocked + email, unlicensed + email; back: restored + email. ----
    app.click("rail-step-lifecycle").await?;
    app.wait_for("step-lifecycle", STEP_TIMEOUT).await?;
    set_delay(&app, "20", "seconds").await?;
    tenant
        .okta_delete(&format!("api/v1/groups/{assignments}/users/{AALIYAH}"))
        .await?;
    wait_for(TRIGGER_TIMEOUT, "Aaliyah's account blocked", || async {
        let user = tenant
            .graph_get(&format!("users/{AALIYAH_UPN}?$select=accountEnabled"))
            .await?;
        Ok((user["accountEnabled"] == false).then_some(()))
    })
    .await?;
    let first = wait_for(STEP_TIMEOUT, "the first manager email", || async {
        let mails = tenant.mails_to(AALIYAH_MANAGER_MAIL).await?;
        Ok((!mails.is_empty()).then_some(mails))
    })
    .await?;
    ensure!(first.len() == 1, "one email at the first stage: {first:?}");
    ensure!(
        direct_licenses(&tenant, AALIYAH_UPN).await? == before,
        "the licenses stay until the delay has passed"
    );
    wait_for(STAGE_TIMEOUT, "Aaliyah's licenses removed", || async {
        Ok(direct_licenses(&tenant, AALIYAH_UPN)
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;
    let second = wait_for(STEP_TIMEOUT, "the second manager email", || async {
        let mails = tenant.mails_to(AALIYAH_MANAGER_MAIL).await?;
        Ok((mails.len() >= 2).then_some(mails))
    })
    .await?;
    ensure!(
        second.len() == 2,
        "one more email at the second stage: {second:?}"
    );
    app.screenshot("stage-done").await?;

    tenant
        .okta_put(&format!("api/v1/groups/{assignments}/users/{AALIYAH}"))
        .await?;
    wait_for(
        TRIGGER_TIMEOUT,
        "Aaliyah's account enabled again",
        || async {
            let user = tenant
                .graph_get(&format!("users/{AALIYAH_UPN}?$select=accountEnabled"))
                .await?;
            Ok((user["accountEnabled"] == true).then_some(()))
        },
    )
    .await?;
    wait_for(STEP_TIMEOUT, "Aaliyah's own licenses back", || async {
        Ok((direct_licenses(&tenant, AALIYAH_UPN).await? == before).then_some(()))
    })
    .await?;
    let third = wait_for(STEP_TIMEOUT, "the third manager email", || async {
        let mails = tenant.mails_to(AALIYAH_MANAGER_MAIL).await?;
        Ok((mails.len() >= 3).then_some(mails))
    })
    .await?;
    ensure!(
        third.len() == 3,
        "one email per stage, none twice: {third:?}"
    );
    app.screenshot("returned").await?;
    app.close().await?;
    Ok(())
}

/// Plans `operation` on its card, applies it and waits for it to succeed.
async fn plan_and_apply(app: &App, operation: &str) -> Result<()> {
    let button = format!("run-plan-{operation}");
    app.scroll_to(&button, true).await?;
    app.click(&button).await?;
    app.wait_for("run-apply", RUN_TIMEOUT).await?;
    app.scroll_to("run-apply", true).await?;
    app.click("run-apply").await?;
    app.wait_for("run-result", RUN_TIMEOUT).await?;
    app.scroll_to("run-result", true).await?;
    let status = app.attr("run-result", "data-status").await?;
    ensure!(
        status.as_deref() == Some("succeeded"),
        "the {operation} run succeeds: {status:?}"
    );
    Ok(())
}

/// Saves the lifecycle settings with this delay and the sender mailbox.
async fn set_delay(app: &App, value: &str, unit: &str) -> Result<()> {
    app.scroll_to("life-delay-value", true).await?;
    app.type_into("life-delay-value", value).await?;
    app.select("life-delay-unit", unit).await?;
    app.type_into("life-sender", SENDER).await?;
    app.click("life-save").await?;
    app.wait_for("life-saved", STEP_TIMEOUT).await?;
    Ok(())
}

/// The user's direct licenses: (skuId, disabled plans, sorted).
async fn direct_licenses(tenant: &Tenant, upn: &str) -> Result<Vec<(String, Vec<String>)>> {
    let user = tenant
        .graph_get(&format!("users/{upn}?$select=licenseAssignmentStates"))
        .await?;
    let mut out: Vec<(String, Vec<String>)> = user["licenseAssignmentStates"]
        .as_array()
        .map(|states| {
            states
                .iter()
                .filter(|s| s["assignedByGroup"].is_null())
                .map(|s| {
                    let mut plans: Vec<String> = s["disabledPlans"]
                        .as_array()
                        .map(|p| {
                            p.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    plans.sort();
                    (s["skuId"].as_str().unwrap_or_default().to_owned(), plans)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    Ok(out)
}

async fn sku(tenant: &Tenant, part: &str) -> Result<Value> {
    let skus = tenant.graph_get("subscribedSkus").await?;
    skus["value"]
        .as_array()
        .and_then(|v| v.iter().find(|s| s["skuPartNumber"] == part))
        .cloned()
        .with_context(|| format!("the sandbox tenant has {part}"))
}

async fn sku_id(tenant: &Tenant, part: &str) -> Result<String> {
    Ok(sku(tenant, part).await?["skuId"]
        .as_str()
        .context("a skuId")?
        .to_owned())
}

async fn plan_id(tenant: &Tenant, part: &str, plan: &str) -> Result<String> {
    sku(tenant, part).await?["servicePlans"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["servicePlanName"] == plan))
        .and_then(|p| p["servicePlanId"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("{part} has the plan {plan}"))
}
