//! Review against a real sandbox tenant on loopback, the real OS keychain and a real SQLite file: a
//! fresh sandbox profile is not ready (licenses never read), and it is once the Licenses step is done.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod setup_common;

use okta365_engine::{GroupRole, LicenseAssignment, Review, ReviewStatus, StepId};
use setup_common::Env;

fn status(review: &Review, id: &str) -> ReviewStatus {
    review
        .items
        .iter()
        .find(|i| i.id == id)
        .unwrap_or_else(|| panic!("no item {id} in {:#?}", review.items))
        .status
}

#[tokio::test]
async fn a_profile_is_ready_once_licenses_are_stored_and_mapped() {
    let env = Env::new().await;
    let review = env.engine.review(&env.profile.id, &()).await.unwrap();
    for id in [
        "microsoft-connection",
        "okta-connection",
        "microsoft-permissions",
        "okta-scopes",
        "group-assignments",
        "group-guests",
    ] {
        assert_eq!(
            status(&review, id),
            ReviewStatus::Ready,
            "{id} is ready on the demo sandbox: {:#?}",
            review.items
        );
    }
    let synced = review
        .items
        .iter()
        .find(|i| i.id == "licenses-synced")
        .unwrap();
    assert_eq!(synced.status, ReviewStatus::Missing);
    assert_eq!(synced.fix_step, Some(StepId::Licenses));
    assert!(!review.ready, "a missing item makes the profile not ready");
    assert!(
        review
            .permissions
            .iter()
            .any(|p| p.value == "Organization.Read.All" && p.granted),
        "{:?}",
        review.permissions
    );
    assert!(
        review
            .scopes
            .iter()
            .any(|s| s.value == "okta.groups.manage" && s.granted && s.operations.is_empty()),
        "the Groups step's scope is listed: {:?}",
        review.scopes
    );

    env.engine
        .sync_licenses(&env.profile.id, &())
        .await
        .unwrap();
    env.engine
        .set_license_assignments(
            &env.profile.id,
            vec![LicenseAssignment {
                role: GroupRole::Assignments,
                sku_id: "SPE_E3".into(),
                disabled_plans: vec![],
            }],
        )
        .await
        .unwrap();
    env.engine
        .set_usage_location(&env.profile.id, Some("US".into()))
        .await
        .unwrap();
    let review = env.engine.review(&env.profile.id, &()).await.unwrap();
    assert_eq!(status(&review, "licenses-synced"), ReviewStatus::Ready);
    assert_eq!(status(&review, "licenses-mapped"), ReviewStatus::Ready);
    assert_eq!(status(&review, "usage-location"), ReviewStatus::Ready);
    assert_eq!(
        status(&review, "seat-SPE_E3"),
        ReviewStatus::Warning,
        "40 members, 25 seats: a warning, not a blocker"
    );
    assert!(
        review.ready,
        "nothing is missing any more: {:#?}",
        review.items
    );

    // A renamed group that is not on the org is missing again, fixed on the Groups step.
    env.name_groups("okta365 Licensed", "O365Guest").await;
    let review = env.engine.review(&env.profile.id, &()).await.unwrap();
    let group = review
        .items
        .iter()
        .find(|i| i.id == "group-assignments")
        .unwrap();
    assert_eq!(group.status, ReviewStatus::Missing);
    assert_eq!(group.fix_step, Some(StepId::Groups));
    assert!(!review.ready);
}
