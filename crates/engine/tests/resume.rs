//! `Engine::resume`: after a start, the active profile's embedded sandbox is served again and its URLs
//! are right before anything reads them. Real SQLite, the real keychain (run inside a D-Bus session with
//! an unlocked gnome-keyring) and real sandbox servers on loopback.

use okta365_engine::{CreateSandboxProfileRequest, Engine, ErrorCode, Paths};
use okta365_sandbox::{Sandbox, SandboxConfig};
use url::Url;

fn named(name: &str, url: Option<&str>) -> CreateSandboxProfileRequest {
    CreateSandboxProfileRequest {
        name: Some(name.into()),
        url: url.map(Into::into),
        ..Default::default()
    }
}

/// Whether a sandbox answers `/_sandbox/health` with `{"ok": true}` at `base`.
async fn healthy(base: &str) -> bool {
    let Ok(response) = reqwest::get(format!("{base}_sandbox/health")).await else {
        return false;
    };
    response.status().is_success()
        && response
            .json::<serde_json::Value>()
            .await
            .is_ok_and(|body| body["ok"] == true)
}

fn port(url: &str) -> u16 {
    Url::parse(url).unwrap().port().unwrap()
}

#[tokio::test]
async fn resume_serves_the_active_embedded_sandbox_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());

    let first = Engine::open(paths.clone()).await.unwrap();
    let profile = first
        .create_sandbox_profile(named("Lab", None), &())
        .await
        .unwrap();
    first.shutdown().await;
    assert!(
        !healthy(&profile.okta_org_url).await,
        "after shutdown nothing serves the old URL"
    );

    // A new start: resume brings the sandbox back, and the profile's URLs answer.
    let second = Engine::open(paths.clone()).await.unwrap();
    let urls = second
        .resume()
        .await
        .unwrap()
        .expect("the active profile is on the embedded sandbox, so resume serves it");
    let listed = second.profile("Lab").await.unwrap();
    assert_eq!(
        listed.okta_org_url,
        urls.okta_org.to_string(),
        "the profile points at the sandbox resume started"
    );
    assert_eq!(
        listed.okta_org_url, profile.okta_org_url,
        "after a clean shutdown the sandbox comes back on the port its profiles use, so their URLs stay put"
    );
    assert!(
        healthy(&listed.okta_org_url).await,
        "after resume the profile's URL answers /_sandbox/health"
    );
    assert!(
        dir.path().join("sandbox/server.json").exists(),
        "this process publishes the server it serves"
    );
    let old_port = port(&listed.okta_org_url);
    second.shutdown().await;

    // Once more, with the old port taken: the sandbox comes back on another port, and a list asked for
    // while resume runs already shows the new URLs (it waits for resume, not for luck).
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", old_port)).unwrap();
    let third = Engine::open(paths).await.unwrap();
    let resume = third.resume();
    let (listed, resumed) = tokio::join!(third.list_profiles(), resume);
    let urls = resumed.unwrap().unwrap();
    let listed = listed.unwrap();
    assert_ne!(
        port(&listed[0].okta_org_url),
        old_port,
        "the old port is taken, so the sandbox moved"
    );
    assert_eq!(
        listed[0].okta_org_url,
        urls.okta_org.to_string(),
        "a list asked for during resume shows the URLs resume settled on"
    );
    assert!(healthy(&listed[0].graph_url).await);

    third.remove_profile("Lab").await.unwrap();
    third.shutdown().await;
}

#[tokio::test]
async fn resume_does_nothing_without_an_active_embedded_profile() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    assert!(
        engine.resume().await.unwrap().is_none(),
        "no profile at all: nothing to resume"
    );

    let served = Sandbox::start(SandboxConfig::in_memory()).await.unwrap();
    let base = served.urls().base.to_string();
    let remote = engine
        .create_sandbox_profile(named("Remote", Some(&base)), &())
        .await
        .unwrap();
    assert!(
        engine.resume().await.unwrap().is_none(),
        "a sandbox given by URL is not ours to start"
    );
    assert!(
        !dir.path().join("sandbox/server.json").exists(),
        "the data dir's own sandbox was not started"
    );

    engine.remove_profile(&remote.id).await.unwrap();
    served.shutdown().await;
}

#[tokio::test]
async fn a_failed_resume_is_not_fatal_and_the_next_sandbox_command_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::at(dir.path());
    let first = Engine::open(paths.clone()).await.unwrap();
    let profile = first
        .create_sandbox_profile(named("Broken", None), &())
        .await
        .unwrap();
    first.shutdown().await;

    // The sandbox's folder becomes unusable.
    std::fs::remove_dir_all(&paths.sandbox_dir).unwrap();
    std::fs::write(&paths.sandbox_dir, "not a folder").unwrap();

    let engine = Engine::open(paths).await.unwrap();
    let error = engine.resume().await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::SandboxUnavailable, "{error}");

    let listed = engine.list_profiles().await.unwrap();
    assert_eq!(
        listed.len(),
        1,
        "the engine still answers after a failed resume"
    );
    let again = engine.select_profile(&profile.id).await.unwrap_err();
    assert_eq!(
        again.code(),
        ErrorCode::SandboxUnavailable,
        "selecting the profile needs the sandbox, tries again and reports why it cannot: {again}"
    );

    engine.remove_profile(&profile.id).await.unwrap();
}
