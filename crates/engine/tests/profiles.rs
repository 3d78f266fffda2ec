//! Profiles end to end through the engine: a real SQLite file, the real OS keychain (Secret Service) and
//! real sandbox servers on loopback. Run inside a D-Bus session with an unlocked gnome-keyring, as
//! `scripts/test` does.

use okta365_engine::{CreateSandboxProfileRequest, Engine, ErrorCode, Paths, ProfileKind, StepId};
use okta365_sandbox::{Sandbox, SandboxConfig};
use okta365_secrets::{CredentialKind, Keychain};

fn request(name: Option<&str>, url: Option<&str>) -> CreateSandboxProfileRequest {
    CreateSandboxProfileRequest {
        name: name.map(Into::into),
        url: url.map(Into::into),
        ..Default::default()
    }
}

/// Status of an Okta API call with this token against the sandbox at `base`.
async fn okta_status(base: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{base}api/v1/users?limit=1"))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn embedded_sandbox_profile_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    assert!(
        engine.list_profiles().await.unwrap().is_empty(),
        "a new data dir has no profiles"
    );
    assert_eq!(engine.app_info().await.unwrap().active_profile_id, None);

    let profile = engine
        .create_sandbox_profile(request(None, None), &())
        .await
        .unwrap();
    assert_eq!(profile.name, "Sandbox", "the default name");
    assert_eq!(profile.kind, ProfileKind::Sandbox);
    assert!(
        profile.embedded_sandbox,
        "no URL means the data dir's own sandbox"
    );
    assert_eq!(
        profile.wizard_step,
        StepId::Microsoft,
        "a sandbox profile starts at the Microsoft step"
    );
    assert!(
        profile.okta_org_url.starts_with("http://127.0.0.1:"),
        "{}",
        profile.okta_org_url
    );
    assert_eq!(
        profile.okta_org_url, profile.graph_url,
        "one origin serves every vendor"
    );
    assert!(
        profile.ms_tenant.is_some() && profile.ms_client_id.is_some(),
        "the demo tenant and app are recorded"
    );
    assert_eq!(
        engine
            .app_info()
            .await
            .unwrap()
            .active_profile_id
            .as_deref(),
        Some(profile.id.as_str())
    );
    assert!(
        dir.path().join("sandbox/server.json").exists(),
        "this process serves the data dir's sandbox"
    );

    // The keychain holds working credentials; SQLite holds none of them.
    let keychain = Keychain::for_build();
    let token = keychain
        .get(&profile.id, CredentialKind::OktaApiToken)
        .await
        .unwrap()
        .expect("token in keychain");
    let secret = keychain
        .get(&profile.id, CredentialKind::EntraClientSecret)
        .await
        .unwrap()
        .expect("secret in keychain");
    assert_eq!(
        okta_status(&profile.okta_org_url, token.expose()).await,
        200,
        "the stored Okta token is accepted"
    );
    let entra = reqwest::Client::new()
        .post(format!(
            "{}{}/oauth2/v2.0/token",
            profile.entra_login_url,
            profile.ms_tenant.as_deref().unwrap()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", profile.ms_client_id.as_deref().unwrap()),
            ("client_secret", secret.expose()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        entra.status().as_u16(),
        200,
        "the stored client secret gets a Graph token"
    );
    let db = std::fs::read(dir.path().join("okta365.sqlite3")).unwrap();
    let wal = std::fs::read(dir.path().join("okta365.sqlite3-wal")).unwrap_or_default();
    for haystack in [&db, &wal] {
        for needle in [token.expose(), secret.expose()] {
            assert!(
                !haystack
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes()),
                "no secret in the SQLite files"
            );
        }
    }

    // Names: duplicates (ignoring case) are refused by name; the default name moves on.
    let duplicate = okta365_engine::ApiError::from(
        engine
            .create_sandbox_profile(request(Some("sandBOX"), None), &())
            .await
            .unwrap_err(),
    );
    assert_eq!(duplicate.code, ErrorCode::AlreadyExists);
    assert_eq!(
        duplicate.message,
        "A profile named \"Sandbox\" already exists. Choose another name, or remove that profile first."
    );
    let second = engine
        .create_sandbox_profile(request(None, None), &())
        .await
        .unwrap();
    assert_eq!(second.name, "Sandbox 2", "the next default name");
    assert_eq!(
        second.okta_org_url, profile.okta_org_url,
        "the same sandbox serves both"
    );

    // Wizard step, selection and lookup by name or id.
    let moved = engine
        .set_wizard_step("sandbox", StepId::Okta)
        .await
        .unwrap();
    assert_eq!(moved.wizard_step, StepId::Okta);
    assert_eq!(
        engine.profile(&profile.id).await.unwrap().wizard_step,
        StepId::Okta,
        "the step is stored"
    );
    engine.select_profile(&profile.id).await.unwrap();
    assert_eq!(
        engine
            .app_info()
            .await
            .unwrap()
            .active_profile_id
            .as_deref(),
        Some(profile.id.as_str())
    );

    // Removal deletes the keychain entries, then the row.
    engine.remove_profile("Sandbox").await.unwrap();
    assert!(
        keychain
            .get(&profile.id, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .is_none(),
        "token deleted"
    );
    assert!(
        keychain
            .get(&profile.id, CredentialKind::EntraClientSecret)
            .await
            .unwrap()
            .is_none(),
        "secret deleted"
    );
    let names: Vec<_> = engine
        .list_profiles()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Sandbox 2"]);
    assert_eq!(
        engine.app_info().await.unwrap().active_profile_id,
        None,
        "the removed profile was active"
    );
    let gone = okta365_engine::ApiError::from(engine.profile("Sandbox").await.unwrap_err());
    assert_eq!(
        (gone.code, gone.message.as_str()),
        (
            ErrorCode::NotFound,
            "No profile is named or has the id \"Sandbox\"."
        )
    );

    engine.remove_profile(&second.id).await.unwrap();
    engine.shutdown().await;
    assert!(
        !dir.path().join("sandbox/server.json").exists(),
        "shutdown stops the owned sandbox and removes server.json"
    );
}

#[tokio::test]
async fn embedded_profiles_follow_the_sandbox_port() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let engine = Engine::open(paths.clone()).await.unwrap();
    let profile = engine
        .create_sandbox_profile(request(Some("Moving"), None), &())
        .await
        .unwrap();
    engine.shutdown().await;

    // Hold the old port so the next start has to pick another one.
    let old_port: u16 = url::Url::parse(&profile.okta_org_url)
        .unwrap()
        .port()
        .unwrap();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", old_port)).unwrap();

    let engine = Engine::open(paths).await.unwrap();
    let selected = engine.select_profile("moving").await.unwrap();
    assert_ne!(
        selected.okta_org_url, profile.okta_org_url,
        "the sandbox restarted on another port"
    );
    assert_eq!(selected.graph_url, selected.okta_org_url);
    let token = engine
        .keychain()
        .get(&profile.id, CredentialKind::OktaApiToken)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        okta_status(&selected.okta_org_url, token.expose()).await,
        200,
        "state (and the token) survived the restart"
    );
    engine.remove_profile("Moving").await.unwrap();
    engine.shutdown().await;
}

#[tokio::test]
async fn sandbox_by_url_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    let served = Sandbox::start(SandboxConfig::in_memory()).await.unwrap();
    let base = served.urls().base.to_string();

    let profile = engine
        .create_sandbox_profile(request(Some("  Remote  "), Some(&base)), &())
        .await
        .unwrap();
    assert_eq!(profile.name, "Remote", "names are trimmed");
    assert!(
        !profile.embedded_sandbox,
        "a sandbox given by URL is not the data dir's own"
    );
    assert_eq!(profile.okta_org_url, base);
    assert!(
        !dir.path().join("sandbox/server.json").exists(),
        "the data dir's sandbox was not started"
    );

    let error = |e| okta365_engine::ApiError::from(e);
    let bad = error(
        engine
            .create_sandbox_profile(request(Some("X"), Some("http://example.com:8080")), &())
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, ErrorCode::InvalidInput);
    assert_eq!(
        bad.message,
        "The sandbox URL \"http://example.com:8080\" uses plain http://, which is only allowed for loopback addresses \
         (127.0.0.1, ::1, localhost). Use https:// instead."
    );
    let nobody = error(
        engine
            .create_sandbox_profile(request(Some("X"), Some("http://127.0.0.1:9")), &())
            .await
            .unwrap_err(),
    );
    assert_eq!(nobody.code, ErrorCode::SandboxUnavailable);
    assert_eq!(
        nobody.message,
        "No okta365 sandbox answered at http://127.0.0.1:9/: nothing is listening there. Start one with \
         `okta365 sandbox serve`, or check the URL."
    );
    let long = error(
        engine
            .create_sandbox_profile(request(Some(&"n".repeat(65)), Some(&base)), &())
            .await
            .unwrap_err(),
    );
    assert_eq!(long.code, ErrorCode::InvalidInput);
    assert_eq!(
        engine.list_profiles().await.unwrap().len(),
        1,
        "failed attempts leave nothing behind"
    );

    engine.remove_profile("remote").await.unwrap();
    served.shutdown().await;
}

#[tokio::test]
async fn a_blank_sandbox_profile_has_no_app_and_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    let seen = std::sync::Mutex::new(Vec::<String>::new());
    let sink = |p: &okta365_engine::Progress| seen.lock().unwrap().push(p.step.clone());
    let profile = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("From scratch".into()),
                blank: Some(true),
                ..Default::default()
            },
            &sink,
        )
        .await
        .unwrap();
    assert_eq!(
        profile.ms_tenant, None,
        "no tenant until the admin signs in"
    );
    assert_eq!(profile.ms_client_id, None, "no app registration yet");
    assert!(profile.microsoft.is_none(), "{:?}", profile.microsoft);
    assert_eq!(profile.okta.auth, None, "no Okta connection yet");
    assert_eq!(
        *seen.lock().unwrap(),
        ["sandbox", "profile", "done"],
        "no demo credentials are minted and nothing goes to the keychain"
    );
    let keychain = Keychain::for_build();
    for kind in [
        CredentialKind::OktaApiToken,
        CredentialKind::EntraClientSecret,
    ] {
        assert!(
            keychain.get(&profile.id, kind).await.unwrap().is_none(),
            "{kind:?} is not stored for a blank profile"
        );
    }
    let summary: serde_json::Value = reqwest::get(format!("{}_sandbox/state", profile.graph_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        summary["okta"]["apiTokens"].as_array().map(Vec::len),
        Some(0),
        "no demo API token was minted: {summary}"
    );
    engine.shutdown().await;
}
