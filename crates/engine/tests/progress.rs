//! Long operations report their real steps, in order, to the sink the caller hands in. Run inside a
//! D-Bus session with an unlocked gnome-keyring (creating a profile stores secrets in the keychain).

use std::sync::Mutex;

use okta365_engine::{CreateSandboxProfileRequest, Engine, ErrorCode, Paths, Progress};
use okta365_sandbox::{Sandbox, SandboxConfig};
use okta365_secrets::CredentialKind;

/// A sink that keeps every report.
#[derive(Default)]
struct Collect(Mutex<Vec<Progress>>);

impl Collect {
    fn sink(&self) -> impl Fn(&Progress) + Send + Sync + '_ {
        |p: &Progress| self.0.lock().unwrap().push(p.clone())
    }

    fn take(&self) -> Vec<Progress> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn steps(reports: &[Progress]) -> Vec<(&str, u32)> {
    reports.iter().map(|p| (p.step.as_str(), p.done)).collect()
}

const ALL_STEPS: [(&str, u32); 5] = [
    ("sandbox", 0),
    ("credentials", 1),
    ("keychain", 2),
    ("profile", 3),
    ("done", 4),
];

#[tokio::test]
async fn creating_an_embedded_sandbox_profile_reports_each_step_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    let seen = Collect::default();

    let profile = engine
        .create_sandbox_profile(CreateSandboxProfileRequest::default(), &seen.sink())
        .await
        .unwrap();
    let reports = seen.take();

    assert_eq!(
        steps(&reports),
        ALL_STEPS,
        "start the sandbox, mint credentials, store them, save the profile, then done: {reports:#?}"
    );
    assert!(
        reports
            .iter()
            .all(|p| p.operation == "create_sandbox_profile" && p.total == Some(4)),
        "one operation of four steps: {reports:#?}"
    );
    assert_eq!(reports[0].message, "Starting the built-in sandbox tenant");
    assert_eq!(reports[3].message, "Saving the profile \"Sandbox\"");
    assert_eq!(
        reports[4].message,
        "The sandbox profile \"Sandbox\" is ready"
    );

    // Reports cross IPC and reach the screen: no secret may be in them.
    let keychain = engine.keychain();
    for kind in [
        CredentialKind::OktaApiToken,
        CredentialKind::EntraClientSecret,
    ] {
        let secret = keychain.get(&profile.id, kind).await.unwrap().unwrap();
        let json = serde_json::to_string(&reports).unwrap();
        assert!(
            !json.contains(secret.expose()),
            "the {} is not in any progress report",
            kind.as_str()
        );
    }

    engine.remove_profile(&profile.id).await.unwrap();
    engine.shutdown().await;
}

#[tokio::test]
async fn a_sandbox_by_url_reports_its_health_check_and_a_failure_stops_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    let served = Sandbox::start(SandboxConfig::in_memory()).await.unwrap();
    let base = served.urls().base.to_string();
    let seen = Collect::default();

    let profile = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("Remote".into()),
                url: Some(base.clone()),
                ..Default::default()
            },
            &seen.sink(),
        )
        .await
        .unwrap();
    let reports = seen.take();
    assert_eq!(steps(&reports), ALL_STEPS, "{reports:#?}");
    assert_eq!(
        reports[0].message,
        format!("Checking the sandbox tenant at {base}"),
        "the first step names the URL being checked"
    );

    // Nothing listens there: the health check step is reported, then the error; no later step.
    let error = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("Nobody".into()),
                url: Some("http://127.0.0.1:9".into()),
                ..Default::default()
            },
            &seen.sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::SandboxUnavailable);
    assert_eq!(
        steps(&seen.take()),
        [("sandbox", 0)],
        "a failed step is the last one reported"
    );

    // Rejected before any work starts: nothing to report.
    let error = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("remote".into()),
                url: Some(base),
                ..Default::default()
            },
            &seen.sink(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
    assert!(
        seen.take().is_empty(),
        "a request rejected up front reports no progress"
    );

    engine.remove_profile(&profile.id).await.unwrap();
    served.shutdown().await;
}
