//! Creating the Okta API service app through the engine (docs/setup.md) against a real sandbox tenant
//! on loopback, the real OS keychain and a real SQLite file: from a blank profile with a pasted Super
//! Administrator token, re-runs that change nothing, a read-only admin refused before any write, a
//! failed grant resumed without a second app, and partial state (a grant, the role or the private key
//! missing) completed. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test`
//! does.

use std::sync::Mutex;

use okta365_engine::{
    ApiError, CheckStatus, CreateSandboxProfileRequest, Engine, ErrorCode, OktaAppPlan,
    OktaAppRequest, OktaAuthKind, OktaTokenSource, Paths, PlanAction, Profile, Progress,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_secrets::{CredentialKind, Keychain, Secret};
use okta365_store::{
    Store,
    setup::{SetupStepRecord, StepStatus},
};
use serde_json::{Value, json};

struct Env {
    _dir: tempfile::TempDir,
    engine: Engine,
    sandbox: Sandbox,
    profile: Profile,
    http: reqwest::Client,
}

impl Env {
    /// A blank sandbox profile (no credentials, no app) on a fresh in-memory sandbox.
    async fn blank() -> Env {
        Env::new(true).await
    }

    async fn new(blank: bool) -> Env {
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
                    name: Some("Okta app".into()),
                    url: Some(sandbox.urls().base.to_string()),
                    blank: Some(blank),
                },
                &(),
            )
            .await
            .unwrap();
        Env {
            _dir: dir,
            engine,
            sandbox,
            profile,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(
            method,
            format!("{}_sandbox/{path}", self.sandbox.urls().base),
        );
        req = match body {
            Some(b) => req.json(&b),
            None => req.header("content-length", "0"),
        };
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// An API token of an admin holding `role`.
    async fn token(&self, role: &str) -> Secret {
        let v = self
            .control(
                reqwest::Method::POST,
                "okta/api-tokens",
                Some(json!({ "name": "setup", "role": role })),
            )
            .await;
        Secret::new(v["token"].as_str().unwrap())
    }

    fn request(&self, token: Option<&Secret>) -> OktaAppRequest {
        OktaAppRequest {
            profile_id: self.profile.id.clone(),
            api_token: token.map(|t| Secret::new(t.expose())),
            app_name: "okta365".into(),
        }
    }

    /// The sandbox's service apps (`GET /_sandbox/state`).
    async fn apps(&self) -> Vec<Value> {
        let state = self.control(reqwest::Method::GET, "state", None).await;
        state["okta"]["serviceApps"].as_array().unwrap().clone()
    }

    async fn events(&self) -> usize {
        let events = self.control(reqwest::Method::GET, "events", None).await;
        events.as_array().unwrap().len()
    }

    fn journal(&self) -> Vec<SetupStepRecord> {
        let store = Store::open(&self.engine.paths().db_path).unwrap();
        let mut rows = store
            .journal(self.profile.id.parse().unwrap(), Some("okta_app"), 100)
            .unwrap();
        rows.reverse();
        rows
    }
}

fn code(e: okta365_engine::Error) -> ErrorCode {
    ApiError::from(e).code
}

fn to_grant(plan: &OktaAppPlan) -> Vec<&str> {
    plan.scopes
        .iter()
        .filter(|s| !s.granted)
        .map(|s| s.scope.as_str())
        .collect()
}

#[tokio::test]
async fn a_blank_profile_gets_a_working_service_app_and_a_rerun_changes_nothing() {
    let env = Env::blank().await;
    let token = env.token("SUPER_ADMIN").await;
    let plan = env
        .engine
        .plan_okta_app(env.request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(plan.app, PlanAction::Create);
    assert_eq!(plan.key, PlanAction::Create);
    assert_eq!(plan.token_source, OktaTokenSource::Pasted);
    assert_eq!(plan.role, "ORG_ADMIN", "okta.groups.manage writes");
    assert!(
        plan.role_reason.contains("okta.groups.manage"),
        "{}",
        plan.role_reason
    );
    assert!(plan.admin.contains("Super Administrator"), "{}", plan.admin);
    let scopes: Vec<&str> = plan.scopes.iter().map(|s| s.scope.as_str()).collect();
    assert_eq!(
        scopes,
        [
            "okta.groups.read",
            "okta.users.read",
            "okta.logs.read",
            "okta.groups.manage"
        ],
        "the default operations' scopes plus okta.groups.manage"
    );
    assert_eq!(plan.changes, 1 + 4 + 1, "the app, four grants, the role");
    assert!(env.apps().await.is_empty(), "planning writes nothing");

    let seen = Mutex::new(Vec::<Progress>::new());
    let sink = |p: &Progress| seen.lock().unwrap().push(p.clone());
    let result = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &sink)
        .await
        .unwrap();
    assert_eq!(
        result.plan.changes, 0,
        "the plan after applying: {:?}",
        result.plan
    );
    assert_eq!(result.plan.app, PlanAction::Exists);
    assert_eq!(result.plan.key, PlanAction::Keep);
    assert!(result.plan.role_assigned);
    assert!(result.dpop, "the new app is DPoP-bound");
    assert_eq!(
        result.verified_scopes,
        [
            "okta.groups.read",
            "okta.users.read",
            "okta.logs.read",
            "okta.groups.manage"
        ]
    );
    assert!(!result.api_token_stored, "a pasted token is never stored");
    let okta = &result.profile.okta;
    assert_eq!(okta.auth, Some(OktaAuthKind::ServiceApp));
    assert_eq!(okta.client_id, result.plan.client_id);
    assert!(okta.key_id.is_some());
    let progress = seen.into_inner().unwrap();
    assert_eq!(progress.last().unwrap().step, "done");
    assert!(progress.iter().any(|p| p.step == "grant:okta.logs.read"));

    let apps = env.apps().await;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["clientId"].as_str(), okta.client_id.as_deref());
    assert_eq!(apps[0]["adminRoles"], json!(["ORG_ADMIN"]));
    assert_eq!(apps[0]["scopes"].as_array().unwrap().len(), 4);
    let keychain = Keychain::for_build();
    assert!(
        keychain
            .get(&env.profile.id, CredentialKind::OktaPrivateKey)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        keychain
            .get(&env.profile.id, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .is_none()
    );
    let steps: Vec<(String, StepStatus)> = env
        .journal()
        .into_iter()
        .map(|r| (r.step, r.status))
        .collect();
    assert_eq!(steps.len(), 6, "{steps:?}");
    assert_eq!(steps[0], ("create_app".to_owned(), StepStatus::Done));
    assert!(
        steps.iter().all(|(_, s)| *s == StepStatus::Done),
        "{steps:?}"
    );
    for row in env.journal() {
        assert!(
            !row.request.contains(token.expose()),
            "no secret in the journal"
        );
    }

    // Test connection agrees.
    let test = env.engine.test_okta(&env.profile.id, &()).await.unwrap();
    assert!(test.ok, "{test:#?}");

    // A re-run plans nothing and writes nothing.
    let (apps_before, events_before, rows_before) =
        (env.apps().await, env.events().await, env.journal().len());
    let again = env
        .engine
        .plan_okta_app(env.request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(again.changes, 0, "{again:?}");
    let rerun = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap();
    assert_eq!(rerun.plan.changes, 0);
    assert_eq!(rerun.profile.okta.client_id, okta.client_id, "the same app");
    let mut apps_after = env.apps().await;
    for a in apps_after.iter_mut().chain(apps_before.clone().iter_mut()) {
        a.as_object_mut().unwrap().remove("accessTokens");
    }
    let mut apps_before = apps_before;
    for a in apps_before.iter_mut() {
        a.as_object_mut().unwrap().remove("accessTokens");
    }
    assert_eq!(apps_after, apps_before, "the re-run changed no app");
    assert_eq!(
        env.events().await,
        events_before,
        "the re-run wrote nothing to Okta"
    );
    assert_eq!(env.journal().len(), rows_before, "and journaled no write");

    // Nothing to forget: the pasted token was never stored.
    let profile = env
        .engine
        .forget_okta_api_token(&env.profile.id)
        .await
        .unwrap();
    assert_eq!(profile.okta.auth, Some(OktaAuthKind::ServiceApp));
}

#[tokio::test]
async fn the_stored_api_token_is_used_then_forgotten() {
    let env = Env::new(false).await;
    assert_eq!(env.profile.okta.auth, Some(OktaAuthKind::ApiToken));
    let refused = env
        .engine
        .forget_okta_api_token(&env.profile.id)
        .await
        .unwrap_err();
    assert_eq!(
        code(refused),
        ErrorCode::InvalidInput,
        "the profile still uses the token"
    );
    let result = env
        .engine
        .apply_okta_app(env.request(None), &())
        .await
        .unwrap();
    assert_eq!(result.plan.token_source, OktaTokenSource::Keychain);
    assert!(
        result.api_token_stored,
        "the stored token is still there to forget"
    );
    let profile = env
        .engine
        .forget_okta_api_token(&env.profile.id)
        .await
        .unwrap();
    assert_eq!(profile.okta.auth, Some(OktaAuthKind::ServiceApp));
    let keychain = Keychain::for_build();
    assert!(
        keychain
            .get(&env.profile.id, CredentialKind::OktaApiToken)
            .await
            .unwrap()
            .is_none(),
        "forgetting deletes the token from the keychain"
    );
    let credentials = env.engine.list_credentials().await.unwrap();
    assert!(
        credentials
            .iter()
            .filter(|c| c.profile_id == env.profile.id)
            .all(|c| c.kind != okta365_engine::CredentialKind::OktaApiToken),
        "{credentials:?}"
    );
    let test = env.engine.test_okta(&env.profile.id, &()).await.unwrap();
    assert!(
        test.ok,
        "the service app works without the token: {test:#?}"
    );
    let err = env
        .engine
        .plan_okta_app(env.request(None))
        .await
        .unwrap_err();
    assert_eq!(
        code(err),
        ErrorCode::InvalidInput,
        "no token left to plan with"
    );
}

#[tokio::test]
async fn a_read_only_admin_is_refused_before_any_write() {
    let env = Env::blank().await;
    let token = env.token("READ_ONLY_ADMIN").await;
    let err = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert_eq!(code(err), ErrorCode::PermissionDenied);
    assert!(message.contains("Read-only Administrator"), "{message}");
    assert!(message.contains("Super Administrator"), "{message}");
    assert!(env.apps().await.is_empty(), "nothing was created");
    assert_eq!(env.events().await, 0);
    assert!(env.journal().is_empty(), "no write was even started");
    let keychain = Keychain::for_build();
    assert!(
        keychain
            .get(&env.profile.id, CredentialKind::OktaPrivateKey)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_failed_grant_is_journaled_and_a_rerun_completes_the_same_app() {
    let env = Env::blank().await;
    let token = env.token("SUPER_ADMIN").await;
    // Listing apps is /api/v1/apps; the first call under /api/v1/apps/ is the first grant.
    env.control(
        reqwest::Method::POST,
        "faults",
        Some(json!({ "status": 500, "count": 1, "path_prefix": "/api/v1/apps/" })),
    )
    .await;
    let err = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("okta.groups.read"), "{err}");
    let rows = env.journal();
    let summary: Vec<(&str, StepStatus)> =
        rows.iter().map(|r| (r.step.as_str(), r.status)).collect();
    assert_eq!(
        summary,
        [
            ("create_app", StepStatus::Done),
            ("grant:okta.groups.read", StepStatus::Failed)
        ]
    );
    assert!(
        rows[1].error.as_deref().unwrap_or("").contains("E0000009"),
        "{:?}",
        rows[1].error
    );
    let apps = env.apps().await;
    assert_eq!(apps.len(), 1);
    let profile = env.engine.profile(&env.profile.id).await.unwrap();
    assert_eq!(
        profile.okta.auth, None,
        "the profile switches only once the app works"
    );

    let plan = env
        .engine
        .plan_okta_app(env.request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(plan.app, PlanAction::Exists, "found again by its label");
    assert_eq!(plan.key, PlanAction::Keep, "its key is in the keychain");
    assert_eq!(plan.changes, 5, "four grants and the role");
    let result = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0);
    let apps = env.apps().await;
    assert_eq!(apps.len(), 1, "never a second app");
    assert_eq!(
        result.profile.okta.client_id.as_deref(),
        apps[0]["clientId"].as_str()
    );
    assert_eq!(
        env.journal()
            .iter()
            .filter(|r| r.step == "create_app")
            .count(),
        1
    );
}

#[tokio::test]
async fn partial_state_is_completed() {
    let env = Env::blank().await;
    let token = env.token("SUPER_ADMIN").await;
    let first = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap();
    let client_id = first.profile.okta.client_id.clone().unwrap();
    let first_kid = first.profile.okta.key_id.clone().unwrap();

    // A grant and the role went missing.
    env.control(
        reqwest::Method::PATCH,
        &format!("okta/service-apps/{client_id}"),
        Some(json!({ "scopes": ["okta.groups.read", "okta.users.read", "okta.groups.manage"], "adminRoles": [] })),
    )
    .await;
    let plan = env
        .engine
        .plan_okta_app(env.request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(to_grant(&plan), ["okta.logs.read"]);
    assert!(!plan.role_assigned);
    assert_eq!(plan.changes, 2);
    let done = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap();
    assert_eq!(done.plan.changes, 0);
    let apps = env.apps().await;
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["adminRoles"], json!(["ORG_ADMIN"]));

    // The keychain lost the private key: a new one is added to the same app.
    Keychain::for_build()
        .delete(&env.profile.id, CredentialKind::OktaPrivateKey)
        .await
        .unwrap();
    let plan = env
        .engine
        .plan_okta_app(env.request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(plan.app, PlanAction::Exists);
    assert_eq!(plan.key, PlanAction::Create);
    assert_eq!(plan.changes, 1);
    let done = env
        .engine
        .apply_okta_app(env.request(Some(&token)), &())
        .await
        .unwrap();
    assert_eq!(done.plan.changes, 0);
    assert_eq!(
        done.profile.okta.client_id.as_deref(),
        Some(client_id.as_str())
    );
    assert_ne!(
        done.profile.okta.key_id.as_deref(),
        Some(first_kid.as_str()),
        "a new key"
    );
    let apps = env.apps().await;
    assert_eq!(apps.len(), 1, "still one app");
    assert_eq!(apps[0]["keys"], 2);
    assert!(
        env.journal()
            .iter()
            .any(|r| r.step == "add_key" && r.status == StepStatus::Done)
    );
    let test = env.engine.test_okta(&env.profile.id, &()).await.unwrap();
    assert!(
        test.steps.iter().all(|s| s.status != CheckStatus::Failed),
        "{test:#?}"
    );
}
