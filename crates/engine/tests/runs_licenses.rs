//! The licenses operation below the UI, against a real sandbox tenant on loopback, a real SQLite file
//! and the real OS keychain: plan → apply → an empty re-plan; a missing usage location set from the
//! profile's default (or reported without one); a full SKU reported per user; a license inherited from
//! an Entra group left alone and reported (by the group's name when the app can read groups, else its
//! id). Run inside a D-Bus session with an unlocked gnome-keyring.

mod lifecycle_common;
mod setup_common;

use lifecycle_common::*;
use okta365_engine::{ChangeKind, OperationId, StepStatus};
use serde_json::json;

/// "All Staff Licensing", the Entra group of the demo seed that licenses Microsoft 365 E3.
const STAFF_GROUP: &str = "2f6c9a41-7d3e-4b85-9e20-c4a1d8f35b76";

#[tokio::test]
async fn licenses_are_assigned_once_and_a_second_plan_is_empty() {
    let env = with_accounts(&[E3]).await;
    let first = plan(&env, OperationId::Licenses, None).await;
    let assigns: Vec<_> = first
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::AssignLicense)
        .collect();
    assert!(assigns.len() > 20, "most members lack E3: {first:?}");
    assert!(
        first.guard.is_none(),
        "assigning licenses is not destructive"
    );
    let detail = assigns[0].detail.as_ref().unwrap();
    assert_eq!(detail["source"], "mapping");
    assert_eq!(detail["add"][0]["skuId"], E3);
    assert_eq!(detail["add"][0]["skuPartNumber"], "ENTERPRISEPACK");
    assert!(detail["add"][0]["disabledPlanNames"].is_array());
    assert!(detail["entraId"].is_string());
    apply(&env, &first).await;

    let detail = env.engine.run_detail(&first.run_id).await.unwrap();
    let step = detail
        .steps
        .iter()
        .find(|s| s.kind == ChangeKind::AssignLicense)
        .unwrap();
    assert_eq!(step.status, StepStatus::Done, "{step:?}");
    assert_eq!(step.http_status, Some(200));
    assert!(step.request_id.is_some());
    let entra = assigns[0].detail.as_ref().unwrap()["entraId"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = licensed(&env, &entra).await;
    assert!(
        direct(&user).iter().any(|(sku, _)| sku == E3),
        "E3 is a direct license now: {user}"
    );

    let again = plan(&env, OperationId::Licenses, None).await;
    assert!(
        again.changes.is_empty(),
        "nothing left to assign: {:?}",
        again.changes
    );
}

#[tokio::test]
async fn a_missing_usage_location_comes_from_the_default_or_is_reported() {
    let env = with_accounts(&[E3]).await;
    let login = "finn.novak@corp.example";
    let okta = okta_id(&env, login).await;
    let entra = entra_of(&env, &okta);
    graph(
        &env,
        reqwest::Method::PATCH,
        &format!("users/{entra}"),
        Some(json!({ "usageLocation": null })),
    )
    .await;
    env.engine
        .set_usage_location(&env.profile.id, None)
        .await
        .unwrap();

    let without = plan(&env, OperationId::Licenses, Some(vec![login.into()])).await;
    assert!(without.changes.is_empty(), "{:?}", without.changes);
    let report = without
        .skipped
        .iter()
        .find(|c| c.okta_user_id == okta)
        .expect("the user is reported");
    assert_eq!(
        report.warning.as_deref(),
        Some("No usage location and no default set in the Licenses step")
    );

    env.engine
        .set_usage_location(&env.profile.id, Some("GB".into()))
        .await
        .unwrap();
    let with = plan(&env, OperationId::Licenses, Some(vec![login.into()])).await;
    let kinds: Vec<ChangeKind> = with.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![ChangeKind::SetUsageLocation, ChangeKind::AssignLicense]
    );
    assert_eq!(with.changes[0].fields[0].to.as_deref(), Some("GB"));
    apply(&env, &with).await;
    let user = licensed(&env, &entra).await;
    assert_eq!(user["usageLocation"], "GB");
    assert!(direct(&user).iter().any(|(sku, _)| sku == E3));
}

#[tokio::test]
async fn a_full_sku_and_an_inherited_license_are_reported_not_planned() {
    let env = with_accounts(&[M365_E3]).await;
    let first = plan(&env, OperationId::Licenses, None).await;
    let assigned = first
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::AssignLicense)
        .count();
    let full: Vec<_> = first
        .skipped
        .iter()
        .filter(|c| {
            c.warning
                .as_deref()
                .is_some_and(|w| w.starts_with("No free seat in Microsoft 365 E3 ("))
        })
        .collect();
    assert!(assigned <= 1, "the SKU has one free seat: {first:?}");
    assert!(
        full.len() > 10,
        "the others are reported: {:?}",
        first.skipped
    );
    assert!(
        full[0].warning.as_deref().unwrap().ends_with(" used)"),
        "{:?}",
        full[0].warning
    );

    // tariq.rossi holds Microsoft 365 E3 through the "All Staff Licensing" group only.
    let tariq = okta_id(&env, "tariq.rossi@corp.example").await;
    let inherited = first
        .skipped
        .iter()
        .find(|c| c.okta_user_id == tariq)
        .expect("the inherited license is reported");
    assert!(
        inherited
            .warning
            .as_deref()
            .unwrap()
            .contains("licensed by the Entra group"),
        "{inherited:?}"
    );
    // The demo app cannot read groups (no Group.Read.All): the group is named by its id.
    assert!(
        inherited.warning.as_deref().unwrap().contains(STAFF_GROUP),
        "{inherited:?}"
    );
    assert!(
        !first.changes.iter().any(|c| c.okta_user_id == tariq),
        "an inherited license is left alone"
    );
    apply(&env, &first).await;
    let user = licensed(&env, &entra_of(&env, &tariq)).await;
    assert!(
        !direct(&user).iter().any(|(sku, _)| sku == M365_E3),
        "no direct copy of the inherited license: {user}"
    );

    // With a group read permission the report names the group.
    grant_graph_role(&env, "Group.Read.All").await;
    let named = plan(
        &env,
        OperationId::Licenses,
        Some(vec!["tariq.rossi@corp.example".into()]),
    )
    .await;
    let report = named
        .skipped
        .iter()
        .find(|c| c.okta_user_id == tariq)
        .expect("still reported");
    assert_eq!(
        report.warning.as_deref(),
        Some("Microsoft 365 E3: licensed by the Entra group All Staff Licensing; left alone"),
        "{report:?}"
    );
}
