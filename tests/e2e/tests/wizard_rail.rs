//! The rail: every wizard step can be reached by clicking its rail item, which is then marked current.

use okta365_e2e::{Harness, READY_TIMEOUT, STEP_TIMEOUT};

/// Every step of the wizard, in rail order (the `StepId` values of docs/architecture.md).
const STEPS: [&str; 11] = [
    "welcome",
    "microsoft",
    "okta",
    "groups",
    "licenses",
    "provisioning",
    "lifecycle",
    "imports",
    "review",
    "history",
    "credentials",
];

#[tokio::test]
async fn rail_reaches_every_step() -> anyhow::Result<()> {
    let harness = Harness::from_env()?;
    let scenario = harness.scenario("rail_reaches_every_step")?;

    let app = scenario.launch().await?;
    app.wait_for("app-ready", READY_TIMEOUT).await?;
    app.click("welcome-use-sandbox").await?;
    app.wait_for("step-microsoft", STEP_TIMEOUT).await?;

    for step in STEPS {
        app.click(&format!("rail-step-{step}")).await?;
        app.wait_for(&format!("step-{step}"), STEP_TIMEOUT).await?;
        assert_eq!(
            app.attr(&format!("rail-step-{step}"), "aria-current")
                .await?
                .as_deref(),
            Some("step"),
            "after clicking the rail item for {step}, it should be marked aria-current=\"step\""
        );
        for other in STEPS.iter().filter(|s| **s != step) {
            assert!(
                !app.is_visible(&format!("step-{other}")).await?,
                "only the {step} step should be shown, but {other} is visible too"
            );
        }
        app.screenshot(step).await?;
    }
    app.close().await?;
    Ok(())
}
