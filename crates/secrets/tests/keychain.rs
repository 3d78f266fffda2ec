//! The keychain against the real OS Secret Service.
//!
//! Run under a throwaway gnome-keyring (these tests fail, not skip, when no Secret Service is reachable):
//!
//! ```sh
//! export XDG_DATA_HOME=$(mktemp -d)
//! dbus-run-session -- bash -c 'echo -n test-password | gnome-keyring-daemon -r -d --unlock --components=secrets >/dev/null; cargo test -p okta365-secrets'
//! ```

use okta365_secrets::{CredentialKind, Keychain, Secret};
use uuid::Uuid;

fn profile() -> String {
    Uuid::new_v4().to_string()
}

#[tokio::test]
async fn stores_reads_replaces_and_deletes() {
    let keychain = Keychain::for_build();
    let id = profile();
    let kind = CredentialKind::OktaApiToken;

    assert!(
        keychain.get(&id, kind).await.unwrap().is_none(),
        "a new profile has no token in the keychain"
    );

    keychain
        .set(&id, kind, &Secret::new("00first-token"))
        .await
        .unwrap();
    let read = keychain
        .get(&id, kind)
        .await
        .unwrap()
        .expect("the token just stored is found");
    assert_eq!(
        read.expose(),
        "00first-token",
        "the keychain returns exactly what was stored"
    );

    keychain
        .set(&id, kind, &Secret::new("00second-token"))
        .await
        .unwrap();
    let read = keychain
        .get(&id, kind)
        .await
        .unwrap()
        .expect("the replaced token is found");
    assert_eq!(
        read.expose(),
        "00second-token",
        "storing again replaces the value"
    );

    assert!(
        keychain.delete(&id, kind).await.unwrap(),
        "deleting an existing entry reports it"
    );
    assert!(
        keychain.get(&id, kind).await.unwrap().is_none(),
        "a deleted entry is gone"
    );
    assert!(
        !keychain.delete(&id, kind).await.unwrap(),
        "deleting a missing entry is not an error"
    );
}

#[tokio::test]
async fn profiles_and_kinds_are_isolated() {
    let keychain = Keychain::for_build();
    let (a, b) = (profile(), profile());
    keychain
        .set(&a, CredentialKind::OktaApiToken, &Secret::new("token-a"))
        .await
        .unwrap();
    keychain
        .set(
            &a,
            CredentialKind::EntraClientSecret,
            &Secret::new("secret-a"),
        )
        .await
        .unwrap();
    keychain
        .set(&b, CredentialKind::OktaApiToken, &Secret::new("token-b"))
        .await
        .unwrap();

    assert_eq!(
        keychain
            .get(&a, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "token-a"
    );
    assert_eq!(
        keychain
            .get(&b, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "token-b"
    );
    assert!(
        keychain
            .get(&b, CredentialKind::EntraClientSecret)
            .await
            .unwrap()
            .is_none(),
        "B never stored a client secret, and must not see A's"
    );

    let deleted = keychain
        .delete_all_for_profile(&a, &CredentialKind::ALL)
        .await
        .unwrap();
    assert_eq!(deleted, 2, "both of A's secrets were deleted");
    assert!(
        keychain
            .get(&a, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        keychain
            .get(&a, CredentialKind::EntraClientSecret)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        keychain
            .get(&b, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "token-b",
        "deleting A's secrets leaves B's alone"
    );
    keychain
        .delete_all_for_profile(&b, &CredentialKind::ALL)
        .await
        .unwrap();
}

#[tokio::test]
async fn build_kinds_do_not_share_entries() {
    let dev = Keychain::with_service("okta365-dev");
    let release = Keychain::with_service("okta365");
    let id = profile();
    dev.set(&id, CredentialKind::OktaApiToken, &Secret::new("dev-token"))
        .await
        .unwrap();
    assert!(
        release
            .get(&id, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .is_none(),
        "a release build never reads a dev build's entry"
    );
    dev.delete(&id, CredentialKind::OktaApiToken).await.unwrap();
}

#[tokio::test]
async fn named_entries_are_apart_from_each_other_and_from_the_plain_kind() {
    let keychain = Keychain::for_build();
    let id = profile();
    let kind = CredentialKind::ImportSourceSecret;
    keychain
        .set_named(&id, kind, "hr", &Secret::new("hr-key"))
        .await
        .unwrap();
    keychain
        .set_named(&id, kind, "payroll", &Secret::new("payroll-key"))
        .await
        .unwrap();
    let get = |name: &'static str| {
        let (keychain, id) = (keychain.clone(), id.clone());
        async move {
            keychain
                .get_named(&id, kind, name)
                .await
                .unwrap()
                .map(|s| s.expose().to_owned())
        }
    };
    assert_eq!(get("hr").await.as_deref(), Some("hr-key"));
    assert_eq!(get("payroll").await.as_deref(), Some("payroll-key"));
    assert!(
        keychain.get(&id, kind).await.unwrap().is_none(),
        "the unnamed account of the kind is another entry"
    );
    assert!(keychain.delete_named(&id, kind, "hr").await.unwrap());
    assert!(!keychain.delete_named(&id, kind, "hr").await.unwrap());
    assert_eq!(get("hr").await, None);
    assert_eq!(
        get("payroll").await.as_deref(),
        Some("payroll-key"),
        "deleting one name leaves the other"
    );
    assert!(keychain.delete_named(&id, kind, "payroll").await.unwrap());
}
