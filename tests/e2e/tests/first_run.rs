//! First run: the Welcome step offers the built-in sandbox tenant; choosing it creates a sandbox profile,
//! moves on to the Microsoft step, and both survive a restart of the app.

use okta365_e2e::{Harness, READY_TIMEOUT, STEP_TIMEOUT};

#[tokio::test]
async fn first_run_sandbox_profile_survives_restart() -> anyhow::Result<()> {
    let harness = Harness::from_env()?;
    let scenario = harness.scenario("first_run_sandbox_profile_survives_restart")?;

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.wait_for("step-welcome", STEP_TIMEOUT).await?;
    assert!(
        app.is_visible("welcome-connect-tenants").await?,
        "a first run should offer both choices: the sandbox and connecting real tenants"
    );
    assert!(
        !app.is_visible("status-sandbox").await?,
        "a fresh data dir has no profile yet, so the status bar should show no sandbox badge"
    );
    app.screenshot("welcome").await?;

    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    app.wait_for("status-sandbox", STEP_TIMEOUT).await?;
    let profile = app.text("status-profile").await?.trim().to_string();
    assert!(
        !profile.is_empty(),
        "choosing the sandbox should create a profile named in the status bar"
    );
    app.assert_on_screen("status-profile").await?;
    assert_eq!(
        app.attr("rail-step-microsoft", "aria-current")
            .await?
            .as_deref(),
        Some("step"),
        "the rail should mark the Microsoft step as current after choosing the sandbox"
    );
    app.screenshot("microsoft-sandbox").await?;
    app.close().await?;

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;
    app.wait_for("status-sandbox", STEP_TIMEOUT).await?;
    let after_restart = app.text("status-profile").await?.trim().to_string();
    app.assert_on_screen("status-profile").await?;
    assert_eq!(
        after_restart, profile,
        "the profile chosen before the restart should still be the active one"
    );
    assert!(
        !app.is_visible("step-welcome").await?,
        "with a profile kept, a restart should open on the profile's step, not on Welcome"
    );
    app.screenshot("after-restart").await?;
    app.close().await?;
    Ok(())
}
