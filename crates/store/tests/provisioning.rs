//! The provisioning settings table against a real SQLite file in a temp dir.

use jiff::Timestamp;
use okta365_store::{ProfileKind, ProfileRecord, Store};
use uuid::Uuid;

fn profile(name: &str) -> ProfileRecord {
    let now = Timestamp::now();
    ProfileRecord {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        kind: ProfileKind::Sandbox,
        okta_org_url: "http://127.0.0.1:4000".into(),
        entra_login_url: "http://127.0.0.1:4000".into(),
        graph_url: "http://127.0.0.1:4000".into(),
        ms_tenant: None,
        ms_client_id: None,
        embedded_sandbox: true,
        wizard_step: "groups".into(),
        created_at: now,
        updated_at: now,
        ms_credential_kind: None,
        okta_auth: None,
        okta_client_id: None,
        okta_key_id: None,
        okta_identity_source_id: None,
        operations: vec!["memberAccounts".into()],
    }
}

#[test]
fn settings_are_saved_per_profile_replaced_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    let store = Store::open(&path).unwrap();
    let a = profile("A");
    let b = profile("B");
    store.insert_profile(&a).unwrap();
    store.insert_profile(&b).unwrap();

    assert_eq!(
        store.provisioning_settings(a.id).unwrap(),
        None,
        "never saved: the engine's defaults apply"
    );
    assert!(
        store
            .set_provisioning_settings(a.id, r#"{"guardMaxUsers":3}"#)
            .unwrap()
    );
    assert!(
        store
            .set_provisioning_settings(a.id, r#"{"guardMaxUsers":4}"#)
            .unwrap()
    );
    assert!(
        store
            .set_provisioning_settings(b.id, r#"{"guardMaxUsers":9}"#)
            .unwrap()
    );
    assert!(
        !store
            .set_provisioning_settings(Uuid::new_v4(), "{}")
            .unwrap(),
        "an unknown profile saves nothing"
    );
    drop(store);

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.provisioning_settings(a.id).unwrap().as_deref(),
        Some(r#"{"guardMaxUsers":4}"#),
        "the second save replaced the first"
    );
    assert_eq!(
        store.provisioning_settings(b.id).unwrap().as_deref(),
        Some(r#"{"guardMaxUsers":9}"#)
    );
    assert!(
        store.set_provisioning_settings(a.id, "not json").is_err(),
        "the column holds JSON only"
    );
}
