//! Connecting Microsoft through the engine against a real sandbox tenant on loopback, the real OS
//! keychain (Secret Service) and a real SQLite file: saving a secret or a certificate, and every check
//! of Test connection with its failures (wrong secret, expired secret, a removed permission, an end
//! date coming soon). Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use std::{path::Path, process::Command, sync::Mutex};

use base64::Engine as _;
use okta365_engine::{
    CheckStatus, CheckStep, ConnectionTest, CreateSandboxProfileRequest, CredentialKind, Engine,
    ErrorCode, MicrosoftCredentialInput, MicrosoftCredentialKind, Paths, Profile, Progress,
    SaveMicrosoftRequest,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_secrets::{Keychain, Secret};
use serde_json::{Value, json};

const DEMO_APP: &str = "7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417";
const EXPIRED_APP: &str = "0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95";
const EXPIRED_SECRET: &str = "xpr8Q~SandboxExpiredSecret.okta365.demo0";
const DEMO_ROLES: [&str; 6] = [
    "User.ReadWrite.All",
    "User.Invite.All",
    "Organization.Read.All",
    "Mail.Send",
    "LicenseAssignment.ReadWrite.All",
    "Application.Read.All",
];

struct Setup {
    _dir: tempfile::TempDir,
    engine: Engine,
    sandbox: Sandbox,
    profile: Profile,
}

impl Setup {
    async fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(SandboxConfig {
            port: None,
            state: StateLocation::Memory,
            seed: Seed::demo(),
        })
        .await
        .unwrap();
        let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
        let profile = engine
            .create_sandbox_profile(
                CreateSandboxProfileRequest {
                    name: Some("Connect".into()),
                    url: Some(sandbox.urls().base.to_string()),
                    ..Default::default()
                },
                &(),
            )
            .await
            .unwrap();
        Setup {
            _dir: dir,
            engine,
            sandbox,
            profile,
        }
    }

    fn control(&self, path: &str) -> String {
        format!("{}_sandbox/{path}", self.sandbox.urls().base)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(self.control(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "POST {path} should succeed: {}",
            response.text().await.unwrap()
        );
        response.json().await.unwrap()
    }

    async fn set_roles(&self, app: &str, roles: &[&str]) {
        let response = reqwest::Client::new()
            .put(self.control(&format!("apps/{app}/roles")))
            .json(&json!({ "roles": roles }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "the sandbox takes the roles"
        );
    }

    async fn save_secret(&self, client_id: &str, secret: &str) -> Profile {
        self.engine
            .save_microsoft(SaveMicrosoftRequest {
                profile_id: self.profile.id.clone(),
                tenant: self.profile.ms_tenant.clone().unwrap(),
                client_id: client_id.into(),
                credential: Some(MicrosoftCredentialInput::Secret {
                    secret: Secret::new(secret),
                    expires_at: None,
                }),
            })
            .await
            .unwrap()
    }

    async fn test(&self) -> ConnectionTest {
        self.engine
            .test_microsoft(&self.profile.id, &())
            .await
            .unwrap()
    }
}

fn step<'a>(test: &'a ConnectionTest, id: &str) -> &'a CheckStep {
    test.steps
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("the test has a step {id}: {:#?}", test.steps))
}

fn ids(test: &ConnectionTest) -> Vec<&str> {
    test.steps.iter().map(|s| s.id.as_str()).collect()
}

#[tokio::test]
async fn the_demo_secret_passes_every_check_with_progress_and_the_end_date_is_stored() {
    let setup = Setup::new().await;
    let seen = Mutex::new(Vec::<Progress>::new());
    let sink = |p: &Progress| seen.lock().unwrap().push(p.clone());
    let test = setup
        .engine
        .test_microsoft(&setup.profile.id, &sink)
        .await
        .unwrap();
    assert!(test.ok, "every check passes: {:#?}", test.steps);
    assert_eq!(
        ids(&test),
        [
            "token",
            "tenant",
            "permissions:licenses",
            "permissions:memberAccounts",
            "permissions:profileSync",
            "permissions:guests",
            "permissions:deactivation",
            "permissions:activation",
            "permissions:managerEmail",
            "expiry"
        ],
        "the checks of docs/connections.md, one per enabled operation (imports are off by default)"
    );
    assert!(
        test.steps.iter().all(|s| s.status == CheckStatus::Ok),
        "{:#?}",
        test.steps
    );
    let tenant = step(&test, "tenant").detail.clone().unwrap();
    assert!(
        tenant.contains("contoso-sandbox.onmicrosoft.com"),
        "the tenant step names the verified domains: {tenant}"
    );
    let expiry = step(&test, "expiry").detail.clone().unwrap();
    assert!(
        expiry.contains("read from the app registration"),
        "{expiry}"
    );

    let seen = seen.into_inner().unwrap();
    let reported: Vec<&str> = seen.iter().map(|p| p.step.as_str()).collect();
    let mut expected = ids(&test);
    expected.push("done");
    assert_eq!(
        reported, expected,
        "one progress report per check, then done"
    );
    assert!(
        seen.iter()
            .all(|p| p.operation == "test_microsoft" && p.total == Some(10))
    );

    let credentials = setup.engine.list_credentials().await.unwrap();
    let secret = credentials
        .iter()
        .find(|c| c.kind == CredentialKind::EntraClientSecret)
        .expect("the demo secret is listed");
    assert!(
        secret.last_used_at.is_some(),
        "a successful sign-in marks the secret as used"
    );
    let days = secret
        .days_left
        .expect("the end date read from Graph is stored");
    assert!(
        (720..=740).contains(&days),
        "the demo secret ends in about two years: {days}"
    );
    assert!(!secret.expiry_warning);
    assert_eq!(secret.profile_name, "Connect");
    assert_eq!(
        secret.hint.as_deref().map(str::len),
        Some(3),
        "the hint is the 3 characters Microsoft shows"
    );
}

#[tokio::test]
async fn a_wrong_secret_gets_the_aadsts_7000215_explanation_and_the_rest_is_skipped() {
    let setup = Setup::new().await;
    setup
        .save_secret(DEMO_APP, "abc8Q~ThisIsNotTheRightSecretValue.12345")
        .await;
    let test = setup.test().await;
    assert!(!test.ok);
    let token = step(&test, "token");
    assert_eq!(token.status, CheckStatus::Failed);
    let detail = token.detail.clone().unwrap();
    assert!(detail.contains("AADSTS7000215"), "{detail}");
    assert!(
        token.fix.as_deref().unwrap_or_default().contains("Value"),
        "the fix talks about the secret's Value (often the secret ID was pasted): {:?}",
        token.fix
    );
    assert_eq!(
        token.link.as_deref(),
        Some(
            "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Credentials/appId/7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417"
        )
    );
    assert!(
        test.steps[1..]
            .iter()
            .all(|s| s.status == CheckStatus::Skipped),
        "without a token nothing else can be checked: {:#?}",
        test.steps
    );
}

#[tokio::test]
async fn an_expired_secret_says_since_when() {
    let setup = Setup::new().await;
    setup.save_secret(EXPIRED_APP, EXPIRED_SECRET).await;
    let test = setup.test().await;
    let token = step(&test, "token");
    assert_eq!(token.status, CheckStatus::Failed);
    let detail = token.detail.clone().unwrap();
    assert!(detail.contains("AADSTS7000222"), "{detail}");
    assert!(
        token
            .fix
            .as_deref()
            .unwrap()
            .contains("Create a new client secret"),
        "{:?}",
        token.fix
    );

    // With the end date entered (Microsoft's error does not carry it), the message names it.
    setup
        .engine
        .save_microsoft(SaveMicrosoftRequest {
            profile_id: setup.profile.id.clone(),
            tenant: setup.profile.ms_tenant.clone().unwrap(),
            client_id: EXPIRED_APP.into(),
            credential: Some(MicrosoftCredentialInput::Secret {
                secret: Secret::new(EXPIRED_SECRET),
                expires_at: Some("2024-06-30".into()),
            }),
        })
        .await
        .unwrap();
    let test = setup.test().await;
    let detail = step(&test, "token").detail.clone().unwrap();
    assert!(
        detail.contains("expired on 2024-06-30") && detail.contains("AADSTS7000222"),
        "the end date is named: {detail}"
    );
    let info = setup.engine.list_credentials().await.unwrap();
    let secret = info
        .iter()
        .find(|c| c.kind == CredentialKind::EntraClientSecret)
        .unwrap();
    assert!(secret.days_left.unwrap() < 0 && secret.expiry_warning);
    assert_eq!(secret.last_used_at, None, "a refused sign-in is not a use");
}

#[tokio::test]
async fn a_removed_role_fails_the_operations_that_need_it_with_the_fix() {
    let setup = Setup::new().await;
    let without_invite: Vec<&str> = DEMO_ROLES
        .iter()
        .copied()
        .filter(|r| *r != "User.Invite.All")
        .collect();
    setup.set_roles(DEMO_APP, &without_invite).await;
    let test = setup.test().await;
    assert!(!test.ok, "a missing permission fails the test");
    let guests = step(&test, "permissions:guests");
    assert_eq!(guests.status, CheckStatus::Failed);
    assert!(
        guests
            .detail
            .as_deref()
            .unwrap()
            .starts_with("Missing: User.Invite.All."),
        "{:?}",
        guests.detail
    );
    assert_eq!(
        guests.fix.as_deref(),
        Some(
            "API permissions → Add a permission → Microsoft Graph → Application permissions → User.Invite.All → Grant admin consent."
        )
    );
    assert!(
        guests
            .link
            .as_deref()
            .unwrap()
            .ends_with(&format!("/CallAnAPI/appId/{DEMO_APP}"))
    );
    let failed: Vec<&str> = test
        .steps
        .iter()
        .filter(|s| s.status == CheckStatus::Failed)
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(failed, ["permissions:guests"], "only guests need that role");

    // Without Application.Read.All the end date cannot be read: a warning, unless it was entered.
    let no_app_read: Vec<&str> = DEMO_ROLES
        .iter()
        .copied()
        .filter(|r| *r != "Application.Read.All")
        .collect();
    setup.set_roles(DEMO_APP, &no_app_read).await;
    setup
        .engine
        .set_credential_expiry(&setup.profile.id, CredentialKind::EntraClientSecret, None)
        .await
        .unwrap();
    let test = setup.test().await;
    assert!(
        test.ok,
        "a warning does not fail the test: {:#?}",
        test.steps
    );
    let expiry = step(&test, "expiry");
    assert_eq!(expiry.status, CheckStatus::Warning);
    assert!(
        expiry
            .fix
            .as_deref()
            .unwrap()
            .contains("Enter the end date"),
        "{:?}",
        expiry.fix
    );
    let entered = setup
        .engine
        .set_credential_expiry(
            &setup.profile.id,
            CredentialKind::EntraClientSecret,
            Some("2099-01-01"),
        )
        .await
        .unwrap();
    assert_eq!(entered.expires_at.as_deref(), Some("2099-01-01T00:00:00Z"));
    let test = setup.test().await;
    let expiry = step(&test, "expiry");
    assert_eq!(expiry.status, CheckStatus::Ok);
    assert!(expiry.detail.as_deref().unwrap().contains("as entered"));
}

#[tokio::test]
async fn a_secret_ending_within_30_days_warns() {
    let setup = Setup::new().await;
    let soon = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 10))
        .unwrap();
    let minted = setup
        .post(
            &format!("entra/apps/{DEMO_APP}/secrets"),
            json!({ "displayName": "short", "endDateTime": soon.to_string() }),
        )
        .await;
    let secret = minted["secretText"].as_str().unwrap();
    setup.save_secret(DEMO_APP, secret).await;
    let test = setup.test().await;
    assert!(test.ok, "{:#?}", test.steps);
    let expiry = step(&test, "expiry");
    assert_eq!(expiry.status, CheckStatus::Warning, "{expiry:#?}");
    let credentials = setup.engine.list_credentials().await.unwrap();
    let info = credentials
        .iter()
        .find(|c| c.kind == CredentialKind::EntraClientSecret)
        .unwrap();
    assert!(info.expiry_warning, "the Credentials screen warns too");
    assert!(
        matches!(info.days_left, Some(9 | 10)),
        "{:?}",
        info.days_left
    );
}

/// A self-signed certificate and its key (PEM), made by openssl, plus the same as a PFX.
fn certificate(dir: &Path) -> (String, Vec<u8>) {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
        ])
        .args(["-subj", "/CN=okta365 test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(status.status.success(), "openssl makes a certificate");
    let pfx = dir.join("cert.pfx");
    let status = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout", "pass:pfx-pass-1"])
        .arg("-inkey")
        .arg(&key)
        .arg("-in")
        .arg(&cert)
        .arg("-out")
        .arg(&pfx)
        .output()
        .unwrap();
    assert!(status.status.success(), "openssl makes a PFX");
    let pem = std::fs::read_to_string(&cert).unwrap() + &std::fs::read_to_string(&key).unwrap();
    (pem, std::fs::read(pfx).unwrap())
}

#[tokio::test]
async fn a_certificate_from_pem_or_pfx_signs_in_and_replaces_the_secret() {
    let setup = Setup::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (pem, pfx) = certificate(tmp.path());
    let cert_only: String = pem
        .split("-----BEGIN PRIVATE KEY-----")
        .next()
        .unwrap()
        .to_owned();
    setup
        .post(
            &format!("entra/apps/{DEMO_APP}/certificates"),
            json!({ "certificatePem": cert_only }),
        )
        .await;

    let request = |credential| SaveMicrosoftRequest {
        profile_id: setup.profile.id.clone(),
        tenant: setup.profile.ms_tenant.clone().unwrap(),
        client_id: DEMO_APP.into(),
        credential: Some(credential),
    };
    // A wrong PFX password is named, and nothing changes.
    let wrong = setup
        .engine
        .save_microsoft(request(MicrosoftCredentialInput::CertificatePfx {
            pfx_base64: Secret::new(base64::engine::general_purpose::STANDARD.encode(&pfx)),
            password: Secret::new("not-it"),
        }))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), ErrorCode::InvalidInput);
    assert!(
        wrong.to_string().contains("PFX password is wrong"),
        "{wrong}"
    );

    let saved = setup
        .engine
        .save_microsoft(request(MicrosoftCredentialInput::CertificatePfx {
            pfx_base64: Secret::new(base64::engine::general_purpose::STANDARD.encode(&pfx)),
            password: Secret::new("pfx-pass-1"),
        }))
        .await
        .unwrap();
    assert_eq!(
        saved.microsoft.unwrap().credential_kind,
        Some(MicrosoftCredentialKind::Certificate)
    );
    let keychain = Keychain::for_build();
    let stored = keychain
        .get(
            &setup.profile.id,
            okta365_secrets::CredentialKind::EntraClientCertificate,
        )
        .await
        .unwrap()
        .expect("the certificate is in the keychain");
    assert!(
        stored.expose().contains("-----BEGIN CERTIFICATE-----")
            && stored.expose().contains("PRIVATE KEY-----"),
        "kept as PEM: certificate and key"
    );
    assert!(
        !stored.expose().contains("pfx-pass-1"),
        "the PFX password is not kept"
    );
    assert_eq!(
        keychain
            .get(
                &setup.profile.id,
                okta365_secrets::CredentialKind::EntraClientSecret
            )
            .await
            .unwrap()
            .map(|_| ()),
        None,
        "switching to a certificate deletes the secret"
    );
    let credentials = setup.engine.list_credentials().await.unwrap();
    let kinds: Vec<CredentialKind> = credentials.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CredentialKind::EntraClientCertificate,
            CredentialKind::OktaApiToken
        ]
    );
    let cert_info = &credentials[0];
    assert_eq!(
        cert_info.hint.as_deref().map(str::len),
        Some(40),
        "the hint is the SHA-1 thumbprint"
    );
    assert!(
        matches!(cert_info.days_left, Some(363..=365)),
        "the expiry is the certificate's end date: {:?}",
        cert_info.days_left
    );

    let test = setup.test().await;
    assert!(test.ok, "{:#?}", test.steps);
    assert!(
        step(&test, "token")
            .detail
            .as_deref()
            .unwrap()
            .contains("certificate"),
        "{:?}",
        step(&test, "token").detail
    );
    assert_eq!(step(&test, "expiry").status, CheckStatus::Ok);

    // The PEM form works the same.
    setup
        .engine
        .save_microsoft(request(MicrosoftCredentialInput::CertificatePem {
            pem: Secret::new(pem.clone()),
        }))
        .await
        .unwrap();
    assert!(setup.test().await.ok);
}

#[tokio::test]
async fn a_certificate_not_registered_on_the_app_is_refused_with_aadsts_700027() {
    let setup = Setup::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (pem, _) = certificate(tmp.path());
    setup
        .engine
        .save_microsoft(SaveMicrosoftRequest {
            profile_id: setup.profile.id.clone(),
            tenant: setup.profile.ms_tenant.clone().unwrap(),
            client_id: DEMO_APP.into(),
            credential: Some(MicrosoftCredentialInput::CertificatePem {
                pem: Secret::new(pem),
            }),
        })
        .await
        .unwrap();
    let test = setup.test().await;
    let token = step(&test, "token");
    assert_eq!(token.status, CheckStatus::Failed);
    assert!(
        token.detail.as_deref().unwrap().contains("AADSTS700027"),
        "{token:#?}"
    );
}

#[tokio::test]
async fn bad_values_are_refused_before_anything_is_stored() {
    let setup = Setup::new().await;
    let save = |tenant: &str, client_id: &str, secret: &str| SaveMicrosoftRequest {
        profile_id: setup.profile.id.clone(),
        tenant: tenant.into(),
        client_id: client_id.into(),
        credential: Some(MicrosoftCredentialInput::Secret {
            secret: Secret::new(secret),
            expires_at: None,
        }),
    };
    let secret_in_client_id = setup
        .engine
        .save_microsoft(save(
            "contoso-sandbox.onmicrosoft.com",
            "abc8Q~ThisIsNotTheRightSecretValue.12345",
            "abc8Q~ThisIsNotTheRightSecretValue.12345",
        ))
        .await
        .unwrap_err();
    assert_eq!(secret_in_client_id.code(), ErrorCode::InvalidInput);
    assert!(
        secret_in_client_id
            .to_string()
            .starts_with("A client id is a GUID like 4f1c…; you pasted the secret value"),
        "{secret_in_client_id}"
    );
    let secret_id = setup
        .engine
        .save_microsoft(save(
            "contoso-sandbox.onmicrosoft.com",
            DEMO_APP,
            "0f5d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95",
        ))
        .await
        .unwrap_err();
    assert!(
        secret_id
            .to_string()
            .starts_with("That looks like the secret ID; paste the secret's Value"),
        "{secret_id}"
    );
    let bad_date = setup
        .engine
        .save_microsoft(SaveMicrosoftRequest {
            credential: Some(MicrosoftCredentialInput::Secret {
                secret: Secret::new("abc8Q~ThisIsNotTheRightSecretValue.12345"),
                expires_at: Some("next year".into()),
            }),
            ..save("contoso-sandbox.onmicrosoft.com", DEMO_APP, "x")
        })
        .await
        .unwrap_err();
    assert!(bad_date.to_string().contains("YYYY-MM-DD"), "{bad_date}");

    // Nothing changed: the demo secret still works.
    assert!(setup.test().await.ok);
}
