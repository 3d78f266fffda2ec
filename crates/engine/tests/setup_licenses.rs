//! The Licenses step against a real sandbox tenant on loopback, the real OS keychain and a real SQLite
//! file: refreshing the licenses table, assigning SKUs to group roles, the usage location and seat
//! warnings. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{ErrorCode, GroupRole, LicenseAssignment};
use setup_common::Env;

const E3_SKU: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const EXCHANGE_PLAN: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";

#[tokio::test]
async fn sync_stores_the_skus_and_when_and_list_reads_them_without_the_network() {
    let env = Env::new().await;
    let before = env.engine.list_licenses(&env.profile.id).await.unwrap();
    assert_eq!(before.refreshed_at, None, "never refreshed");
    assert!(before.licenses.is_empty());

    let view = env
        .engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();
    let at = view.refreshed_at.clone().expect("the refresh time is kept");
    let parts: Vec<&str> = view
        .licenses
        .iter()
        .map(|l| l.sku_part_number.as_str())
        .collect();
    assert_eq!(parts, ["ENTERPRISEPACK", "EXCHANGESTANDARD", "SPE_E3"]);
    let e3 = &view.licenses[0];
    assert_eq!(e3.sku_id, E3_SKU);
    assert_eq!(e3.product_name.as_deref(), Some("Office 365 E3"));
    assert_eq!(e3.enabled, 50);
    assert_eq!(e3.available, e3.enabled - e3.consumed);
    assert_eq!(e3.capability_status, "Enabled");
    assert!(
        e3.service_plans
            .iter()
            .any(|p| p.service_plan_name == "EXCHANGE_S_ENTERPRISE"
                && p.service_plan_id == EXCHANGE_PLAN),
        "service plans are stored: {:?}",
        e3.service_plans
    );
    assert_eq!(
        view.licenses[1].product_name.as_deref(),
        Some("Exchange Online (Plan 1)")
    );

    // The sandbox goes away: the stored table still answers.
    let Env {
        engine,
        sandbox,
        profile,
        dir,
        ..
    } = env;
    sandbox.shutdown().await;
    let listed = engine.list_licenses(&profile.id).await.unwrap();
    assert_eq!(listed.refreshed_at.as_deref(), Some(at.as_str()));
    assert_eq!(listed.licenses, view.licenses);
    drop(dir);
}

#[tokio::test]
async fn assignments_take_known_skus_and_plans_only() {
    let env = Env::new().await;
    let assign = |sku: &str, plans: &[&str]| {
        env.engine.set_license_assignments(
            &env.profile.id,
            vec![LicenseAssignment {
                role: GroupRole::Assignments,
                sku_id: sku.into(),
                disabled_plans: plans.iter().map(|p| p.to_string()).collect(),
            }],
        )
    };
    let e = assign("ENTERPRISEPACK", &[]).await.unwrap_err();
    assert!(
        e.to_string().contains("refresh it first"),
        "before a refresh the table is empty: {e}"
    );
    env.engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();

    let e = assign("SPE_E5", &[]).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(
        e.to_string(),
        "No stored license is \"SPE_E5\". Known SKUs: ENTERPRISEPACK, EXCHANGESTANDARD, SPE_E3."
    );
    let e = assign("ENTERPRISEPACK", &["YAMMER"]).await.unwrap_err();
    assert!(
        e.to_string().starts_with(
            "ENTERPRISEPACK has no service plan \"YAMMER\". Its plans: EXCHANGE_S_ENTERPRISE,"
        ),
        "{e}"
    );

    let view = assign("enterprisepack", &["EXCHANGE_S_ENTERPRISE"])
        .await
        .unwrap();
    assert_eq!(
        view.assignments,
        vec![LicenseAssignment {
            role: GroupRole::Assignments,
            sku_id: E3_SKU.into(),
            disabled_plans: vec![EXCHANGE_PLAN.into()],
        }],
        "a part number is stored as the SKU id, a plan name as the plan id"
    );
    assert_eq!(
        env.engine
            .list_licenses(&env.profile.id)
            .await
            .unwrap()
            .assignments,
        view.assignments
    );
}

#[tokio::test]
async fn the_usage_location_is_an_iso_code_and_a_wrong_one_is_explained() {
    let env = Env::new().await;
    let set = |code: Option<&str>| {
        env.engine
            .set_usage_location(&env.profile.id, code.map(str::to_owned))
    };
    let e = set(Some("UK")).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(
        e.to_string(),
        "\"UK\" is not an ISO 3166-1 alpha-2 country code. For United Kingdom use GB."
    );
    let e = set(Some("XY")).await.unwrap_err();
    assert!(e.to_string().contains("no country has it"), "{e}");
    assert_eq!(
        env.engine
            .list_licenses(&env.profile.id)
            .await
            .unwrap()
            .usage_location,
        None,
        "a refused code is not stored"
    );
    assert_eq!(
        set(Some(" de ")).await.unwrap().usage_location.as_deref(),
        Some("DE")
    );
    assert_eq!(set(None).await.unwrap().usage_location, None);
}

#[tokio::test]
async fn a_group_with_more_members_than_seats_warns() {
    let env = Env::new().await;
    env.engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();
    // The seed's "Office 365 Assignments" has 40 members; SPE_E3 has 25 seats.
    env.engine.plan_groups(&env.profile.id).await.unwrap();
    let view = env
        .engine
        .set_license_assignments(
            &env.profile.id,
            vec![
                LicenseAssignment {
                    role: GroupRole::Assignments,
                    sku_id: "SPE_E3".into(),
                    disabled_plans: vec![],
                },
                LicenseAssignment {
                    role: GroupRole::Guests,
                    sku_id: "EXCHANGESTANDARD".into(),
                    disabled_plans: vec![],
                },
            ],
        )
        .await
        .unwrap();
    let spe = view
        .licenses
        .iter()
        .find(|l| l.sku_part_number == "SPE_E3")
        .unwrap();
    assert_eq!(
        view.warnings.len(),
        1,
        "only the group bigger than its SKU's free seats warns (O365Guest has 3 members): {:?}",
        view.warnings
    );
    let w = &view.warnings[0];
    assert_eq!(w.role, GroupRole::Assignments);
    assert_eq!(w.sku_id, spe.sku_id);
    assert_eq!(w.group_members, 40);
    assert_eq!(w.available, spe.available);
    assert_eq!(
        w.message,
        format!(
            "Office 365 Assignments has 40 members but SPE_E3 has only {} seats available.",
            spe.available
        )
    );
}
