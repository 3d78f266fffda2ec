//! Creating the Entra app registration for the admin through the engine, against a real sandbox on
//! loopback, a real SQLite file and the real OS keychain: device code and browser sign-ins (approved
//! through the sandbox's control endpoints or its sign-in page), plan, apply, a re-run that writes
//! nothing, replication 404s, a non-admin, expired and declined sign-ins, and the certificate path.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use std::time::Duration;

use okta365_engine::{
    AppCredentialChoice, CreateSandboxProfileRequest, Engine, ErrorCode, MicrosoftAdmin,
    MicrosoftAppRequest, MicrosoftCredentialKind, MicrosoftSignInRequest, Paths, PlanAction,
    Profile, SignInMethod,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_secrets::{CredentialKind, Keychain};
use okta365_store::{Store, setup::StepStatus};
use serde_json::{Value, json};

const ADMIN: &str = "admin@contoso-sandbox.onmicrosoft.com";
const NON_ADMIN: &str = "isabella.singh@contoso.example";

struct Env {
    _dir: tempfile::TempDir,
    engine: Engine,
    sandbox: Sandbox,
    profile: Profile,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
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
                    name: Some("Entra setup".into()),
                    url: Some(sandbox.urls().base.to_string()),
                    blank: Some(true),
                },
                &(),
            )
            .await
            .unwrap();
        assert!(
            profile.microsoft.is_none(),
            "a blank profile has no Microsoft connection"
        );
        let env = Env {
            _dir: dir,
            engine,
            sandbox,
            profile,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        };
        env.control("entra/sign-in-settings", json!({"interval": 1}))
            .await;
        env
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.urls().base,
            path.trim_start_matches('/')
        )
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(self.url(&format!("_sandbox/{path}")))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn graph_writes(&self) -> usize {
        self.get("_sandbox/entra/graph-writes")
            .await
            .as_array()
            .unwrap()
            .len()
    }

    /// Approves (or declines) the newest pending device code as `user`, from a concurrent task.
    fn decide_later(
        &self,
        user: &'static str,
        decision: &'static str,
    ) -> tokio::task::JoinHandle<()> {
        let http = self.http.clone();
        let base = self.sandbox.urls().base.clone();
        tokio::spawn(async move {
            for _ in 0..100 {
                let pending: Value = http
                    .get(format!("{base}_sandbox/entra/device-codes"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if let Some(code) = pending.as_array().unwrap().last() {
                    let r = http
                        .post(format!(
                            "{base}_sandbox/entra/device-codes/{}",
                            code["userCode"].as_str().unwrap()
                        ))
                        .json(&json!({"user": user, "decision": decision}))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no device code showed up");
        })
    }

    async fn sign_in(&self, user: &'static str) -> MicrosoftAdmin {
        let started = self
            .engine
            .start_microsoft_sign_in(MicrosoftSignInRequest {
                profile_id: self.profile.id.clone(),
                method: SignInMethod::DeviceCode,
                tenant: None,
                public_client_id: None,
            })
            .await
            .unwrap();
        assert_eq!(
            started.tenant, "organizations",
            "a blank profile signs in to organizations"
        );
        assert!(started.user_code.is_some() && started.verification_uri.is_some());
        assert_eq!(started.interval, Some(1));
        let approver = self.decide_later(user, "approve");
        let admin = self
            .engine
            .finish_microsoft_sign_in(&started.session_id, &())
            .await
            .unwrap();
        approver.await.unwrap();
        admin
    }

    fn request(
        &self,
        admin: &MicrosoftAdmin,
        credential: AppCredentialChoice,
    ) -> MicrosoftAppRequest {
        MicrosoftAppRequest {
            profile_id: self.profile.id.clone(),
            session_id: admin.session_id.clone(),
            app_name: "okta365".into(),
            credential,
        }
    }

    fn journal(&self) -> Vec<okta365_store::setup::SetupStepRecord> {
        let store = Store::open(&self.engine.paths().db_path).unwrap();
        let mut rows = store
            .journal(self.profile.id.parse().unwrap(), Some("microsoft_app"), 100)
            .unwrap();
        rows.reverse();
        rows
    }

    async fn apps_named(&self, name: &str) -> usize {
        let state = self.get("_sandbox/state").await;
        state["microsoft"]["apps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["displayName"] == name)
            .count()
    }
}

const SECRET: AppCredentialChoice = AppCredentialChoice::Secret {
    lifetime_months: 12,
};

#[tokio::test]
async fn an_admin_signs_in_with_a_device_code_and_the_app_is_created_granted_and_saved() {
    let env = Env::new().await;
    let admin = env.sign_in(ADMIN).await;
    assert_eq!(admin.account, ADMIN);
    assert!(admin.can_grant_consent);
    assert_eq!(admin.roles, vec!["Global Administrator".to_owned()]);
    assert_eq!(admin.tenant_name.as_deref(), Some("Contoso Sandbox"));

    let plan = env
        .engine
        .plan_microsoft_app(env.request(&admin, SECRET))
        .await
        .unwrap();
    assert_eq!(plan.app, PlanAction::Create);
    assert_eq!(plan.service_principal, PlanAction::Create);
    assert_eq!(plan.credential_action, PlanAction::Create);
    let values: Vec<&str> = plan.permissions.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(
        values,
        vec![
            "Organization.Read.All",
            "User.ReadWrite.All",
            "User.Invite.All",
            "Mail.Send"
        ],
        "the default operations' permissions, each group's first role"
    );
    assert!(plan.permissions.iter().all(|p| !p.granted));
    assert_eq!(
        plan.permissions[1].id,
        "741f803b-c850-494e-b5df-cde7c675a1ca"
    );
    assert_eq!(
        plan.changes,
        3 + 4,
        "app, credential, service principal, four grants"
    );
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(env.graph_writes().await, 0, "planning writes nothing");

    let result = env
        .engine
        .apply_microsoft_app(env.request(&admin, SECRET), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0, "{:?}", result.plan);
    let app_id = result.plan.app_id.clone().unwrap();
    let ms = result.profile.microsoft.clone().unwrap();
    assert_eq!(ms.client_id, app_id);
    assert_eq!(ms.tenant, "b3f1c0de-5a1e-4d2b-9c3a-7e8f60a1d2c4");
    assert_eq!(ms.credential_kind, Some(MicrosoftCredentialKind::Secret));
    for v in &values {
        assert!(
            result.token_roles.iter().any(|r| r == v),
            "{v} in {:?}",
            result.token_roles
        );
    }
    let secret = Keychain::for_build()
        .get(&env.profile.id, CredentialKind::EntraClientSecret)
        .await
        .unwrap()
        .expect("the new secret is in the keychain");
    let state = env.get("_sandbox/state").await;
    assert!(!state.to_string().contains(secret.expose()));
    let journal = env.journal();
    assert_eq!(journal.len(), 7, "{journal:#?}");
    assert!(journal.iter().all(|r| r.status == StepStatus::Done));
    for row in &journal {
        let text = format!("{} {}", row.request, row.result.clone().unwrap_or_default());
        assert!(!text.contains(secret.expose()), "no secret in the journal");
    }

    // Test connection with what was saved.
    let test = env
        .engine
        .test_microsoft(&env.profile.id, &())
        .await
        .unwrap();
    assert!(test.ok, "{test:#?}");

    // A re-run changes nothing and writes nothing.
    let writes = env.graph_writes().await;
    let again = env
        .engine
        .plan_microsoft_app(env.request(&admin, SECRET))
        .await
        .unwrap();
    assert_eq!(again.changes, 0, "{again:?}");
    assert_eq!(again.credential_action, PlanAction::Keep);
    let result = env
        .engine
        .apply_microsoft_app(env.request(&admin, SECRET), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0);
    assert_eq!(env.graph_writes().await, writes, "a re-run sends no write");
    assert_eq!(env.journal().len(), 7, "and journals none");
    assert_eq!(env.apps_named("okta365").await, 1);
}

#[tokio::test]
async fn replication_404s_are_retried_and_the_apply_succeeds() {
    let env = Env::new().await;
    let admin = env.sign_in(ADMIN).await;
    env.control("entra/replication-delay", json!({"notFoundCalls": 4}))
        .await;
    let result = env
        .engine
        .apply_microsoft_app(env.request(&admin, SECRET), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0);
    let writes = env.get("_sandbox/entra/graph-writes").await;
    let not_found = writes
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["status"] == 404)
        .count();
    assert_eq!(
        not_found, 4,
        "four 404s were answered and retried: {writes}"
    );
}

#[tokio::test]
async fn a_non_admin_gets_a_warning_then_permission_denied_and_an_admin_finishes_the_job() {
    let env = Env::new().await;
    let user = env.sign_in(NON_ADMIN).await;
    assert!(!user.can_grant_consent);
    let plan = env
        .engine
        .plan_microsoft_app(env.request(&user, SECRET))
        .await
        .unwrap();
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("Global Administrator") && w.contains("403")),
        "{:?}",
        plan.warnings
    );
    let e = env
        .engine
        .apply_microsoft_app(env.request(&user, SECRET), &())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::PermissionDenied, "{e}");
    assert!(
        e.to_string().contains("Authorization_RequestDenied") && e.to_string().contains(NON_ADMIN),
        "{e}"
    );
    let journal = env.journal();
    let steps: Vec<(&str, StepStatus)> = journal
        .iter()
        .map(|r| (r.step.as_str(), r.status))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("create_app", StepStatus::Done),
            ("add_password", StepStatus::Done),
            ("create_service_principal", StepStatus::Done),
            ("grant:Organization.Read.All", StepStatus::Failed),
        ],
        "the journal shows what was done"
    );
    let profile = env.engine.profile(&env.profile.id).await.unwrap();
    assert!(
        profile.microsoft.is_none(),
        "nothing saved before the app works"
    );

    let admin = env.sign_in(ADMIN).await;
    let plan = env
        .engine
        .plan_microsoft_app(env.request(&admin, SECRET))
        .await
        .unwrap();
    assert_eq!(plan.app, PlanAction::Exists, "found by name: {plan:?}");
    assert_eq!(plan.service_principal, PlanAction::Exists);
    let result = env
        .engine
        .apply_microsoft_app(env.request(&admin, SECRET), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0);
    assert_eq!(env.apps_named("okta365").await, 1, "not created twice");
    assert!(result.profile.microsoft.is_some());
}

#[tokio::test]
async fn expired_declined_and_cancelled_sign_ins_fail_with_their_codes() {
    let env = Env::new().await;
    env.control(
        "entra/sign-in-settings",
        json!({"interval": 1, "expiresIn": 30}),
    )
    .await;
    let request = MicrosoftSignInRequest {
        profile_id: env.profile.id.clone(),
        method: SignInMethod::DeviceCode,
        tenant: None,
        public_client_id: None,
    };
    let started = env
        .engine
        .start_microsoft_sign_in(request.clone())
        .await
        .unwrap();
    env.control("clock", json!({"advance_secs": 31})).await;
    let e = env
        .engine
        .finish_microsoft_sign_in(&started.session_id, &())
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SignInFailed, "{e}");
    assert!(e.to_string().contains("expired"), "{e}");

    let started = env
        .engine
        .start_microsoft_sign_in(request.clone())
        .await
        .unwrap();
    let decline = env.decide_later(ADMIN, "decline");
    let e = env
        .engine
        .finish_microsoft_sign_in(&started.session_id, &())
        .await
        .unwrap_err();
    decline.await.unwrap();
    assert_eq!(e.code(), ErrorCode::SignInFailed, "{e}");
    assert!(e.to_string().contains("declined"), "{e}");

    let started = env
        .engine
        .start_microsoft_sign_in(request.clone())
        .await
        .unwrap();
    let engine = env.engine.clone();
    let session = started.session_id.clone();
    let cancel = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        engine.cancel_microsoft_sign_in(&session).await.unwrap();
    });
    let e = env
        .engine
        .finish_microsoft_sign_in(&started.session_id, &())
        .await
        .unwrap_err();
    cancel.await.unwrap();
    assert_eq!(e.code(), ErrorCode::Cancelled, "{e}");

    env.control(
        "entra/policies",
        json!({"conditionalAccessBlocksPublicClients": true}),
    )
    .await;
    let started = env
        .engine
        .start_microsoft_sign_in(request.clone())
        .await
        .unwrap();
    let approve = env.decide_later(ADMIN, "approve");
    let e = env
        .engine
        .finish_microsoft_sign_in(&started.session_id, &())
        .await
        .unwrap_err();
    approve.await.unwrap();
    assert_eq!(e.code(), ErrorCode::SignInFailed);
    assert!(
        e.to_string().contains("Conditional Access") && e.to_string().contains("AADSTS53003"),
        "{e}"
    );

    // An unknown session.
    let e = env
        .engine
        .plan_microsoft_app(MicrosoftAppRequest {
            profile_id: env.profile.id.clone(),
            session_id: "nope".into(),
            app_name: "okta365".into(),
            credential: SECRET,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SignInFailed);
}

#[tokio::test]
async fn the_browser_path_uses_pkce_and_the_certificate_path_stores_the_key_in_the_keychain() {
    let env = Env::new().await;
    let started = env
        .engine
        .start_microsoft_sign_in(MicrosoftSignInRequest {
            profile_id: env.profile.id.clone(),
            method: SignInMethod::Browser,
            tenant: Some("contoso-sandbox.onmicrosoft.com".into()),
            public_client_id: None,
        })
        .await
        .unwrap();
    let authorize = url::Url::parse(started.authorize_url.as_deref().unwrap()).unwrap();
    assert!(
        authorize
            .path()
            .starts_with("/contoso-sandbox.onmicrosoft.com/oauth2/v2.0/authorize")
    );
    let engine = env.engine.clone();
    let session = started.session_id.clone();
    let finish = tokio::spawn(async move { engine.finish_microsoft_sign_in(&session, &()).await });
    // The browser: the sign-in page, Accept, and the redirect to the engine's loopback listener.
    let page = env.http.get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user".into(), ADMIN.into()));
    form.push(("decision".into(), "accept".into()));
    let mut post = authorize.clone();
    post.set_query(None);
    let landed = env.http.post(post).form(&form).send().await.unwrap();
    assert_eq!(landed.status(), 200);
    assert!(landed.text().await.unwrap().contains("Signed in"));
    let admin = finish.await.unwrap().unwrap();
    assert_eq!(admin.account, ADMIN);

    let cert = AppCredentialChoice::Certificate { lifetime_months: 6 };
    let result = env
        .engine
        .apply_microsoft_app(env.request(&admin, cert), &())
        .await
        .unwrap();
    assert_eq!(result.plan.changes, 0);
    let ms = result.profile.microsoft.unwrap();
    assert_eq!(
        ms.credential_kind,
        Some(MicrosoftCredentialKind::Certificate)
    );
    let pem = Keychain::for_build()
        .get(&env.profile.id, CredentialKind::EntraClientCertificate)
        .await
        .unwrap()
        .expect("the certificate and its key are in the keychain");
    assert!(pem.expose().contains("BEGIN CERTIFICATE") && pem.expose().contains("PRIVATE KEY"));
    let app = env
        .get(&format!("_sandbox/entra/apps/{}", ms.client_id))
        .await;
    assert_eq!(app["certificates"].as_array().unwrap().len(), 1, "{app}");
    assert_eq!(app["secrets"].as_array().unwrap().len(), 0);
    let test = env
        .engine
        .test_microsoft(&env.profile.id, &())
        .await
        .unwrap();
    assert!(test.ok, "{test:#?}");
}
