//! The store against a real SQLite file in a temp dir.

use jiff::Timestamp;
use okta365_store::{CredentialRecord, Error, ProfileKind, ProfileRecord, SCHEMA_VERSION, Store};
use uuid::Uuid;

fn profile(name: &str, embedded: bool) -> ProfileRecord {
    let now = Timestamp::now();
    ProfileRecord {
        id: Uuid::new_v4(),
        name: name.to_owned(),
        kind: ProfileKind::Sandbox,
        okta_org_url: "http://127.0.0.1:4000".into(),
        entra_login_url: "http://127.0.0.1:4000".into(),
        graph_url: "http://127.0.0.1:4000".into(),
        ms_tenant: Some("tenant".into()),
        ms_client_id: None,
        embedded_sandbox: embedded,
        wizard_step: "microsoft".into(),
        created_at: now,
        updated_at: now,
        ms_credential_kind: None,
        okta_auth: None,
        okta_client_id: None,
        okta_key_id: None,
        okta_identity_source_id: None,
        operations: okta365_store::DEFAULT_OPERATIONS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

fn credential(profile_id: Uuid, kind: &str) -> CredentialRecord {
    CredentialRecord {
        profile_id,
        kind: kind.into(),
        label: "Okta API token".into(),
        hint: Some("ab12".into()),
        created_at: Timestamp::now(),
        last_used_at: None,
        expires_at: None,
    }
}

#[test]
fn migrates_a_new_file_and_reopens_it_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    let p = profile("Sandbox", true);
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SCHEMA_VERSION,
            "a new file is migrated to the latest version"
        );
        assert_eq!(
            store.journal_mode().unwrap(),
            "wal",
            "the store runs in WAL mode so app and CLI can share it"
        );
        store.insert_profile(&p).unwrap();
        store.set_active_profile_id(Some(p.id)).unwrap();
    }

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        SCHEMA_VERSION,
        "reopening does not re-run or lose migrations"
    );
    assert_eq!(
        store.journal_mode().unwrap(),
        "wal",
        "WAL mode persists across reopen"
    );
    assert_eq!(
        store.list_profiles().unwrap(),
        vec![p.clone()],
        "the profile written before survives reopening"
    );
    assert_eq!(
        store.active_profile_id().unwrap(),
        Some(p.id),
        "the active profile survives reopening"
    );

    // Foreign keys must be on for this connection too (the pragma is per connection).
    let stray = credential(Uuid::new_v4(), "okta.api_token");
    assert!(
        matches!(store.upsert_credential(&stray), Err(Error::Sqlite(_))),
        "credential metadata for a profile that does not exist is refused by the foreign key"
    );
}

#[test]
fn refuses_a_database_from_a_newer_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite3");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, Error::TooNew { found, .. } if found == SCHEMA_VERSION + 1),
        "got {err}"
    );
    assert!(
        err.to_string()
            .contains("newer than this build understands"),
        "message says what is wrong: {err}"
    );
}

#[test]
fn names_are_unique_ignoring_case() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite3")).unwrap();
    store.insert_profile(&profile("Sandbox", true)).unwrap();
    let err = store
        .insert_profile(&profile("sandBOX", false))
        .unwrap_err();
    match err {
        Error::NameTaken { name } => assert_eq!(
            name, "Sandbox",
            "the error names the existing profile as stored"
        ),
        other => panic!("expected NameTaken, got {other}"),
    }
    assert_eq!(
        store.profile_by_name("SANDBOX").unwrap().unwrap().name,
        "Sandbox",
        "lookup by name ignores case"
    );
    assert_eq!(
        store.list_profiles().unwrap().len(),
        1,
        "the duplicate was not inserted"
    );
}

#[test]
fn deleting_a_profile_cascades_to_credentials_and_clears_active() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite3")).unwrap();
    let a = profile("A", false);
    let b = profile("B", false);
    store.insert_profile(&a).unwrap();
    store.insert_profile(&b).unwrap();
    store
        .upsert_credential(&credential(a.id, "okta.api_token"))
        .unwrap();
    store
        .upsert_credential(&credential(a.id, "entra.client_secret"))
        .unwrap();
    store
        .upsert_credential(&credential(b.id, "okta.api_token"))
        .unwrap();
    store.set_active_profile_id(Some(a.id)).unwrap();

    let kinds: Vec<_> = store
        .credentials(a.id)
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        ["entra.client_secret", "okta.api_token"],
        "both credential kinds are indexed for A"
    );

    assert!(
        store.delete_profile(a.id).unwrap(),
        "deleting an existing profile reports it"
    );
    assert!(
        !store.delete_profile(a.id).unwrap(),
        "deleting it again reports nothing deleted"
    );
    assert!(
        store.credentials(a.id).unwrap().is_empty(),
        "A's credential metadata went with it"
    );
    assert_eq!(
        store.credentials(b.id).unwrap().len(),
        1,
        "B's credential metadata is untouched"
    );
    assert_eq!(
        store.active_profile_id().unwrap(),
        None,
        "the removed profile is no longer active"
    );
}

#[test]
fn embedded_sandbox_urls_follow_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite3")).unwrap();
    let embedded = profile("Mine", true);
    let other = profile("Other", false);
    store.insert_profile(&embedded).unwrap();
    store.insert_profile(&other).unwrap();
    let url = "http://127.0.0.1:5555";
    assert_eq!(
        store.update_embedded_sandbox_urls(url, url, url).unwrap(),
        1,
        "only the embedded profile changes"
    );
    assert_eq!(
        store.update_embedded_sandbox_urls(url, url, url).unwrap(),
        0,
        "no change when already in step"
    );
    assert_eq!(
        store.profile_by_id(embedded.id).unwrap().unwrap().graph_url,
        url
    );
    assert_eq!(
        store.profile_by_id(other.id).unwrap().unwrap().graph_url,
        "http://127.0.0.1:4000"
    );
    assert!(store.set_wizard_step(other.id, "okta").unwrap());
    assert_eq!(
        store.profile_by_id(other.id).unwrap().unwrap().wizard_step,
        "okta"
    );
}

#[test]
fn migration_2_backfills_the_connections_of_existing_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("okta365.sqlite3");
    {
        // A file as version 1 left it: a sandbox profile with its two secrets indexed.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO profiles VALUES ('6f0c1f8e-3f43-4d7c-9f51-1c2b3d4e5f60', 'Sandbox', 'sandbox',
                 'http://127.0.0.1:4000/', 'http://127.0.0.1:4000/', 'http://127.0.0.1:4000/', 't',
                 'c', 1, 'okta', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
             INSERT INTO profiles VALUES ('0b9e4a3c-1d2e-4f5a-8b7c-6d5e4f3a2b10', 'Bare', 'tenant',
                 '', 'https://login.microsoftonline.com', 'https://graph.microsoft.com', NULL,
                 NULL, 0, 'microsoft', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z');
             INSERT INTO credentials VALUES ('6f0c1f8e-3f43-4d7c-9f51-1c2b3d4e5f60', 'okta.api_token',
                 'Okta API token', NULL, '2026-01-01T00:00:00Z', NULL, NULL);
             INSERT INTO credentials VALUES ('6f0c1f8e-3f43-4d7c-9f51-1c2b3d4e5f60',
                 'entra.client_secret', 'Entra client secret', NULL, '2026-01-01T00:00:00Z', NULL, NULL);",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let profiles = store.list_profiles().unwrap();
    let sandbox = &profiles[0];
    assert_eq!(sandbox.ms_credential_kind.as_deref(), Some("secret"));
    assert_eq!(sandbox.okta_auth.as_deref(), Some("apiToken"));
    assert_eq!(
        sandbox.operations,
        okta365_store::DEFAULT_OPERATIONS,
        "every operation but imports"
    );
    let bare = &profiles[1];
    assert_eq!(
        (
            bare.ms_credential_kind.as_deref(),
            bare.okta_auth.as_deref()
        ),
        (None, None),
        "a profile without credentials gets no credential kind"
    );
}

#[test]
fn a_connection_is_saved_with_its_credentials_in_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("okta365.sqlite3")).unwrap();
    let mut record = profile("Conn", false);
    store.insert_profile(&record).unwrap();
    store
        .upsert_credential(&credential(record.id, "okta.api_token"))
        .unwrap();
    record.okta_org_url = "https://acme.okta.com".into();
    record.okta_auth = Some("serviceApp".into());
    record.okta_client_id = Some("0oa1b2c3d4e5f6g7h8i9".into());
    record.okta_key_id = Some("kid-1".into());
    record.operations = vec!["imports".into()];
    let key = credential(record.id, "okta.private_key");
    assert!(
        store
            .save_connection(&record, &[key], &["okta.api_token"])
            .unwrap()
    );
    let back = store.profile_by_id(record.id).unwrap().unwrap();
    assert_eq!(back.okta_org_url, "https://acme.okta.com");
    assert_eq!(back.okta_auth.as_deref(), Some("serviceApp"));
    assert_eq!(back.okta_key_id.as_deref(), Some("kid-1"));
    assert_eq!(back.operations, ["imports"]);
    let kinds: Vec<String> = store
        .credentials(record.id)
        .unwrap()
        .into_iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        ["okta.private_key"],
        "the new one in, the retired one out"
    );

    let when: Timestamp = "2026-10-01T00:00:00Z".parse().unwrap();
    assert!(
        store
            .set_credential_expiry(record.id, "okta.private_key", Some(when))
            .unwrap()
    );
    assert_eq!(
        store
            .credential(record.id, "okta.private_key")
            .unwrap()
            .unwrap()
            .expires_at,
        Some(when)
    );
    assert!(
        !store
            .set_credential_expiry(record.id, "okta.api_token", None)
            .unwrap(),
        "nothing to update for a credential not recorded"
    );
    let mut ghost = profile("Ghost", false);
    ghost.id = Uuid::new_v4();
    assert!(
        !store.save_connection(&ghost, &[], &[]).unwrap(),
        "no such profile"
    );
}
