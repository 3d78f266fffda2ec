//! Credentials and connection settings through the engine with the real OS keychain and a real SQLite
//! file: tenant profiles, operations, the Credentials screen (list, expiry, delete), removing a profile
//! deletes every kind of keychain entry, and a failed save says what was and was not saved. Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use okta365_engine::{
    CredentialKind, Engine, ErrorCode, MicrosoftCredentialInput, MicrosoftCredentialKind,
    OktaAuthInput, OperationId, Paths, ProfileKind, SaveMicrosoftRequest, SaveOktaRequest, StepId,
};
use okta365_secrets::{CredentialKind as Kind, Keychain, Secret};

const SECRET: &str = "abc8Q~Zx4yW1vU2tS3rQ4pO5nM6lK7jI8hG9fE0d";
const TOKEN: &str = "00abcdefghijABCDEFGHIJ0123456789klmnopqrst";

async fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    (dir, engine)
}

#[tokio::test]
async fn a_tenant_profile_connects_and_lists_its_credentials() {
    let (dir, engine) = engine().await;
    let profile = engine.create_tenant_profile("Contoso").await.unwrap();
    assert_eq!(profile.kind, ProfileKind::Tenant);
    assert_eq!(profile.entra_login_url, "https://login.microsoftonline.com");
    assert_eq!(profile.graph_url, "https://graph.microsoft.com");
    assert_eq!(
        profile.okta.org_url, "",
        "the Okta org is set on the Okta step"
    );
    assert_eq!(profile.microsoft, None);
    assert_eq!(profile.wizard_step, StepId::Microsoft);
    assert_eq!(
        profile.operations,
        [
            OperationId::Licenses,
            OperationId::MemberAccounts,
            OperationId::ProfileSync,
            OperationId::Guests,
            OperationId::Deactivation,
            OperationId::Activation,
            OperationId::ManagerEmail
        ],
        "every operation but imports is on by default"
    );
    assert_eq!(
        engine
            .app_info()
            .await
            .unwrap()
            .active_profile_id
            .as_deref(),
        Some(profile.id.as_str()),
        "the new profile is the active one"
    );
    let taken = engine.create_tenant_profile("contoso").await.unwrap_err();
    assert_eq!(taken.code(), ErrorCode::AlreadyExists);

    let saved = engine
        .save_microsoft(SaveMicrosoftRequest {
            profile_id: profile.id.clone(),
            tenant: "Contoso.onmicrosoft.com".into(),
            client_id: "{4F1C2E3A-5B6D-4E7F-8A9B-0C1D2E3F4A5B}".into(),
            credential: Some(MicrosoftCredentialInput::Secret {
                secret: Secret::new(SECRET),
                expires_at: Some("2026-10-01".into()),
            }),
        })
        .await
        .unwrap();
    let microsoft = saved.microsoft.unwrap();
    assert_eq!(
        microsoft.tenant, "contoso.onmicrosoft.com",
        "saved normalized"
    );
    assert_eq!(microsoft.client_id, "4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b");
    assert_eq!(
        microsoft.credential_kind,
        Some(MicrosoftCredentialKind::Secret)
    );

    let saved = engine
        .save_okta(SaveOktaRequest {
            profile_id: "Contoso".into(),
            org_url: "https://acme-admin.okta.com/admin/dashboard".into(),
            auth: OktaAuthInput::ApiToken {
                token: Some(Secret::new(TOKEN)),
            },
            identity_source_id: None,
        })
        .await
        .unwrap();
    assert_eq!(
        saved.okta.org_url, "https://acme.okta.com",
        "-admin and the path are dropped"
    );

    // The keychain holds the values; the store and the DTOs do not.
    let keychain = Keychain::for_build();
    assert_eq!(
        keychain
            .get(&profile.id, Kind::EntraClientSecret)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        SECRET
    );
    assert_eq!(
        keychain
            .get(&profile.id, Kind::OktaApiToken)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        TOKEN
    );
    let db = std::fs::read(dir.path().join("okta365.sqlite3")).unwrap();
    let wal = std::fs::read(dir.path().join("okta365.sqlite3-wal")).unwrap_or_default();
    for value in [SECRET, TOKEN] {
        for bytes in [&db, &wal] {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "no secret value in SQLite"
            );
        }
    }

    let credentials = engine.list_credentials().await.unwrap();
    let json = serde_json::to_string(&credentials).unwrap();
    assert!(
        !json.contains(SECRET) && !json.contains(TOKEN),
        "no secret over IPC"
    );
    assert_eq!(credentials.len(), 2);
    let secret = &credentials[0];
    assert_eq!(secret.kind, CredentialKind::EntraClientSecret);
    assert_eq!(secret.label, "Entra client secret");
    assert_eq!(secret.hint.as_deref(), Some("abc"));
    assert_eq!(secret.expires_at.as_deref(), Some("2026-10-01T00:00:00Z"));
    assert!(secret.days_left.is_some());
    assert_eq!(secret.last_used_at, None);
    assert_eq!(credentials[1].kind, CredentialKind::OktaApiToken);
    assert_eq!(credentials[1].expires_at, None);
    assert_eq!(credentials[1].days_left, None);
    assert!(!credentials[1].expiry_warning);

    // Expiry: entered, cleared, refused when malformed, and for an unknown credential.
    let soon = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 5))
        .unwrap()
        .to_string();
    let info = engine
        .set_credential_expiry(&profile.id, CredentialKind::EntraClientSecret, Some(&soon))
        .await
        .unwrap();
    assert!(
        info.expiry_warning && matches!(info.days_left, Some(4 | 5)),
        "{info:?}"
    );
    let info = engine
        .set_credential_expiry(&profile.id, CredentialKind::EntraClientSecret, None)
        .await
        .unwrap();
    assert_eq!(
        (info.expires_at, info.days_left, info.expiry_warning),
        (None, None, false)
    );
    let bad = engine
        .set_credential_expiry(&profile.id, CredentialKind::EntraClientSecret, Some("soon"))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), ErrorCode::InvalidInput);
    let missing = engine
        .set_credential_expiry(
            &profile.id,
            CredentialKind::OktaPrivateKey,
            Some("2030-01-01"),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), ErrorCode::NotFound);
    assert_eq!(
        missing.to_string(),
        "No Okta service app private key is stored for profile \"Contoso\"."
    );

    // Deleting the credential in use leaves the connection without one.
    engine
        .delete_credential(&profile.id, CredentialKind::EntraClientSecret)
        .await
        .unwrap();
    assert!(
        keychain
            .get(&profile.id, Kind::EntraClientSecret)
            .await
            .unwrap()
            .is_none()
    );
    let after = engine.profile(&profile.id).await.unwrap();
    assert_eq!(after.microsoft.unwrap().credential_kind, None);
    let again = engine
        .delete_credential(&profile.id, CredentialKind::EntraClientSecret)
        .await
        .unwrap_err();
    assert_eq!(again.code(), ErrorCode::NotFound);
    assert_eq!(engine.list_credentials().await.unwrap().len(), 1);
}

#[tokio::test]
async fn operations_are_saved_in_table_order_without_repeats() {
    let (_dir, engine) = engine().await;
    let profile = engine.create_tenant_profile("Ops").await.unwrap();
    let saved = engine
        .set_operations(
            &profile.id,
            vec![
                OperationId::Imports,
                OperationId::Licenses,
                OperationId::Imports,
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        saved.operations,
        [OperationId::Licenses, OperationId::Imports]
    );
    assert_eq!(
        engine.profile("Ops").await.unwrap().operations,
        [OperationId::Licenses, OperationId::Imports],
        "read back from the store"
    );
    let none = engine.set_operations(&profile.id, vec![]).await.unwrap();
    assert!(none.operations.is_empty());
}

#[tokio::test]
async fn removing_a_profile_deletes_every_kind_of_keychain_entry() {
    let (_dir, engine) = engine().await;
    let profile = engine.create_tenant_profile("Gone").await.unwrap();
    engine.generate_okta_key(&profile.id).await.unwrap();
    engine
        .save_microsoft(SaveMicrosoftRequest {
            profile_id: profile.id.clone(),
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b".into(),
            credential: Some(MicrosoftCredentialInput::Secret {
                secret: Secret::new(SECRET),
                expires_at: None,
            }),
        })
        .await
        .unwrap();
    let keychain = Keychain::for_build();
    // An entry the index never recorded (as after a crash) goes too.
    keychain
        .set(
            &profile.id,
            Kind::EntraClientCertificate,
            &Secret::new("orphan"),
        )
        .await
        .unwrap();
    engine.remove_profile(&profile.id).await.unwrap();
    for kind in Kind::ALL {
        assert!(
            keychain.get(&profile.id, kind).await.unwrap().is_none(),
            "{} is deleted with the profile",
            kind.label()
        );
    }
    assert!(engine.list_credentials().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_save_that_fails_after_the_keychain_write_puts_the_previous_secret_back() {
    let (dir, engine) = engine().await;
    let profile = engine.create_tenant_profile("Atomic").await.unwrap();
    let save = |secret: &str| SaveMicrosoftRequest {
        profile_id: profile.id.clone(),
        tenant: "contoso.onmicrosoft.com".into(),
        client_id: "4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b".into(),
        credential: Some(MicrosoftCredentialInput::Secret {
            secret: Secret::new(secret),
            expires_at: None,
        }),
    };
    engine.save_microsoft(save(SECRET)).await.unwrap();

    // Another connection to the same file holds the write lock past the busy timeout.
    let blocker = rusqlite::Connection::open(dir.path().join("okta365.sqlite3")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let replacement = "xyz8Q~Zx4yW1vU2tS3rQ4pO5nM6lK7jI8hG9fE0d";
    let error = engine.save_microsoft(save(replacement)).await.unwrap_err();
    blocker.execute_batch("ROLLBACK").unwrap();
    let message = error.to_string();
    assert!(
        message.ends_with(
            "Nothing was saved: the settings were not written and the previous Entra client secret is back in the OS keychain."
        ),
        "{message}"
    );
    assert!(!message.contains(replacement) && !message.contains(SECRET));
    assert_eq!(
        Keychain::for_build()
            .get(&profile.id, Kind::EntraClientSecret)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        SECRET,
        "the previous secret is back"
    );
}
