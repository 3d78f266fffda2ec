//! Activation below the UI, against a real sandbox tenant on loopback, a real SQLite file and the real
//! OS keychain: a member re-added before the license removal comes due gets the account back and the
//! pending stage cancelled, with the manager told once; the saved licenses count as restored even when
//! nothing needed assigning, so the next deactivation saves them afresh. Run inside a D-Bus session with
//! an unlocked gnome-keyring.

mod lifecycle_common;
mod setup_common;

use lifecycle_common::*;
use okta365_engine::{ChangeKind, OperationId};

const LOGIN: &str = "aaliyah.hughes@corp.example";

#[tokio::test]
async fn a_user_back_before_stage_two_is_enabled_and_the_stage_cancelled() {
    let env = with_accounts(&[E3]).await;
    lifecycle(&env, 86_400).await;
    let group = assignments_group(&env).await;
    let okta = okta_id(&env, LOGIN).await;
    let entra = entra_of(&env, &okta);
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{okta}"),
        None,
    )
    .await;
    let stage1 = plan(&env, OperationId::Deactivation, Some(vec![LOGIN.into()])).await;
    apply(&env, &stage1).await;
    let pid = env.profile.id.parse().unwrap();
    let stage = env
        .store()
        .pending_stage_for(pid, &okta)
        .unwrap()
        .expect("a pending stage");
    assert_eq!(licensed(&env, &entra).await["accountEnabled"], false);

    // Nothing to activate while the user is out of the group.
    let none = plan(&env, OperationId::Activation, Some(vec![LOGIN.into()])).await;
    assert!(none.changes.is_empty(), "{:?}", none.changes);

    env.okta(
        reqwest::Method::PUT,
        &format!("api/v1/groups/{group}/users/{okta}"),
        Some(serde_json::json!({})),
    )
    .await;
    let back = plan(&env, OperationId::Activation, Some(vec![LOGIN.into()])).await;
    let kinds: Vec<ChangeKind> = back.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![
            ChangeKind::CancelStage,
            ChangeKind::EnableUser,
            ChangeKind::EmailManager
        ],
        "licenses still held: nothing to assign; {back:?}"
    );
    assert_eq!(
        back.changes[0].detail.as_ref().unwrap()["stageId"],
        stage.id
    );
    apply(&env, &back).await;
    assert_eq!(licensed(&env, &entra).await["accountEnabled"], true);
    let stage = env.store().stage(stage.id).unwrap().unwrap();
    assert_eq!(stage.status, "cancelled");
    assert!(env.store().pending_stage_for(pid, &okta).unwrap().is_none());
    let outbox = mails(&env).await;
    assert_eq!(outbox.len(), 2, "disabled, then activated: {outbox:?}");

    // A deactivation plan now has nothing for the user; a second activation neither.
    let again = plan(&env, OperationId::Activation, Some(vec![LOGIN.into()])).await;
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    let deact = plan(&env, OperationId::Deactivation, Some(vec![LOGIN.into()])).await;
    assert!(deact.changes.is_empty(), "{:?}", deact.changes);
}

#[tokio::test]
async fn the_snapshot_is_restored_when_the_user_still_holds_every_license() {
    let env = with_accounts(&[E3]).await;
    lifecycle(&env, 86_400).await;
    let group = assignments_group(&env).await;
    let okta = okta_id(&env, LOGIN).await;
    let entra = entra_of(&env, &okta);
    let pid = env.profile.id.parse().unwrap();
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{okta}"),
        None,
    )
    .await;
    let stage1 = plan(&env, OperationId::Deactivation, Some(vec![LOGIN.into()])).await;
    assert!(
        stage1
            .changes
            .iter()
            .any(|c| c.kind == ChangeKind::SnapshotLicenses),
        "{stage1:?}"
    );
    apply(&env, &stage1).await;
    let first = env.store().snapshot(pid, &okta).unwrap().expect("saved");
    assert!(first.restored_at.is_none());

    env.okta(
        reqwest::Method::PUT,
        &format!("api/v1/groups/{group}/users/{okta}"),
        Some(serde_json::json!({})),
    )
    .await;
    let back = plan(&env, OperationId::Activation, Some(vec![LOGIN.into()])).await;
    assert!(
        !back
            .changes
            .iter()
            .any(|c| c.kind == ChangeKind::AssignLicense),
        "every license of the snapshot is still held: {back:?}"
    );
    let enable = back
        .changes
        .iter()
        .find(|c| c.kind == ChangeKind::EnableUser)
        .expect("the account is enabled again");
    assert_eq!(enable.detail.as_ref().unwrap()["restoresSnapshot"], true);
    apply(&env, &back).await;
    assert_eq!(licensed(&env, &entra).await["accountEnabled"], true);
    let restored = env.store().snapshot(pid, &okta).unwrap().expect("kept");
    assert!(
        restored.restored_at.is_some(),
        "marked restored though nothing was assigned: {restored:?}"
    );

    // Leaving again: the licenses are saved afresh (a new snapshot, not the restored one).
    env.okta(
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{group}/users/{okta}"),
        None,
    )
    .await;
    let again = plan(&env, OperationId::Deactivation, Some(vec![LOGIN.into()])).await;
    assert!(
        again
            .changes
            .iter()
            .any(|c| c.kind == ChangeKind::SnapshotLicenses),
        "a fresh snapshot is planned: {again:?}"
    );
    apply(&env, &again).await;
    let fresh = env
        .store()
        .snapshot(pid, &okta)
        .unwrap()
        .expect("saved again");
    assert!(fresh.restored_at.is_none(), "{fresh:?}");
    assert!(fresh.taken_at > first.taken_at, "{fresh:?} after {first:?}");
    assert_eq!(
        fresh.run_id.map(|r| r.to_string()),
        Some(again.run_id.clone())
    );
}
