//! Delegated sign-in (device code, browser with PKCE and the loopback listener) and the app
//! registration calls, against the sandbox over real loopback HTTP.

mod common;

use std::time::Duration;

use common::Env;
use okta365_graph::apps::{AppsClient, GRAPH_APP_ID, RequiredResourceAccess, ResourceAccess};
use okta365_graph::delegated::{APP_SETUP_SCOPES, GRAPH_COMMAND_LINE_TOOLS, Poll, PublicClient};
use okta365_graph::{Error, TokenProvider};
use serde_json::{Value, json};

const ADMIN: &str = "admin@contoso-sandbox.onmicrosoft.com";

impl Env {
    async fn ctl(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!(
                "{}{}",
                self.sandbox.urls().base,
                path.trim_start_matches('/')
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.unwrap()
    }

    fn public_client(&self, client_id: &str) -> PublicClient {
        PublicClient::new(
            &self.sandbox.urls().entra_login,
            "organizations",
            client_id,
            APP_SETUP_SCOPES,
            self.http.clone(),
        )
        .unwrap()
    }
}

#[tokio::test]
async fn device_code_sign_in_waits_for_approval_and_reads_the_admin() {
    let env = Env::start().await;
    env.ctl("/_sandbox/entra/sign-in-settings", json!({"interval": 1}))
        .await;
    let client = env.public_client(GRAPH_COMMAND_LINE_TOOLS);
    let code = client.start_device_code().await.unwrap();
    assert_eq!(code.interval, Duration::from_secs(1));
    assert!(code.message.contains(&code.user_code));
    assert!(
        !format!("{code:?}").contains("DAQAB"),
        "Debug hides the device code"
    );
    assert!(matches!(
        client.poll_device_code(&code).await.unwrap(),
        Poll::Pending
    ));
    assert!(
        matches!(
            client.poll_device_code(&code).await.unwrap(),
            Poll::SlowDown
        ),
        "polling at once is too fast"
    );
    let base = env.sandbox.urls().base.clone();
    let http = env.http.clone();
    let user_code = code.user_code.clone();
    let approver = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        http.post(format!("{base}_sandbox/entra/device-codes/{user_code}"))
            .json(&json!({"user": ADMIN, "decision": "approve"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    let started = std::time::Instant::now();
    let token = client.wait_for_device_code(&code).await.unwrap();
    assert!(approver.await.unwrap().is_success());
    assert!(started.elapsed() >= Duration::from_millis(1400));
    let claims = token.claims();
    assert_eq!(claims.upn.as_deref(), Some(ADMIN));
    assert_eq!(
        claims.tenant_id.as_deref(),
        Some(env.creds.entra_tenant_id.as_str())
    );
    assert!(claims.can_grant_consent());
    assert_eq!(claims.role_names(), vec!["Global Administrator".to_owned()]);
    assert!(!format!("{token:?}").contains(token.secret().expose()));
}

#[tokio::test]
async fn declined_expired_and_blocked_sign_ins_stop_with_their_codes() {
    let env = Env::start().await;
    env.ctl(
        "/_sandbox/entra/sign-in-settings",
        json!({"interval": 1, "expiresIn": 30}),
    )
    .await;
    let client = env.public_client(GRAPH_COMMAND_LINE_TOOLS);
    let code = client.start_device_code().await.unwrap();
    env.ctl(
        &format!("/_sandbox/entra/device-codes/{}", code.user_code),
        json!({"user": ADMIN, "decision": "decline"}),
    )
    .await;
    let e = client.wait_for_device_code(&code).await.unwrap_err();
    assert_eq!(e.aadsts(), Some(65004), "{e}");
    assert!(e.to_string().contains("declined"), "{e}");

    let code = client.start_device_code().await.unwrap();
    env.ctl("/_sandbox/clock", json!({"advance_secs": 31}))
        .await;
    let e = client.wait_for_device_code(&code).await.unwrap_err();
    assert!(
        matches!(&e, Error::Identity { error, .. } if error == "expired_token"),
        "{e:?}"
    );
    assert!(e.to_string().contains("expired"), "{e}");

    let azure_cli = env.public_client("04b07795-8ddb-461a-bbee-02f9e1bf7b46");
    let e = azure_cli.start_device_code().await.unwrap_err();
    assert_eq!(e.aadsts(), Some(65002), "{e}");

    env.ctl(
        "/_sandbox/entra/policies",
        json!({"conditionalAccessBlocksPublicClients": true}),
    )
    .await;
    let code = client.start_device_code().await.unwrap();
    env.ctl(
        &format!("/_sandbox/entra/device-codes/{}", code.user_code),
        json!({"user": ADMIN, "decision": "approve"}),
    )
    .await;
    let e = client.wait_for_device_code(&code).await.unwrap_err();
    assert_eq!(e.aadsts(), Some(53003), "{e}");
    assert!(e.to_string().contains("Conditional Access"), "{e}");
}

/// Plays the browser: opens the authorize page, posts the form, follows the redirect to the
/// loopback listener and returns the page it answered.
async fn browse(env: &Env, authorize_url: &url::Url, decision: &str) -> String {
    let page = env.http.get(authorize_url.clone()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let mut form: Vec<(String, String)> = authorize_url.query_pairs().into_owned().collect();
    form.push(("user".into(), ADMIN.into()));
    form.push(("decision".into(), decision.into()));
    let mut post_url = authorize_url.clone();
    post_url.set_query(None);
    let r = env.http.post(post_url).form(&form).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "the redirect reached the loopback listener"
    );
    r.text().await.unwrap()
}

#[tokio::test]
async fn browser_sign_in_uses_pkce_and_a_one_shot_loopback_listener() {
    let env = Env::start().await;
    let client = env.public_client(GRAPH_COMMAND_LINE_TOOLS);
    let sign_in = client.start_browser().await.unwrap();
    let url = sign_in.authorize_url().clone();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], sign_in.redirect_uri());
    assert!(sign_in.redirect_uri().starts_with("http://127.0.0.1:"));
    let redirect = sign_in.redirect_uri().to_owned();
    let finish = tokio::spawn(sign_in.finish());
    let page = browse(&env, &url, "accept").await;
    assert!(page.contains("Signed in"), "{page}");
    let token = finish.await.unwrap().unwrap();
    assert_eq!(token.claims().upn.as_deref(), Some(ADMIN));
    assert!(
        env.http.get(&redirect).send().await.is_err(),
        "the listener is closed after the redirect"
    );

    let sign_in = client.start_browser().await.unwrap();
    let url = sign_in.authorize_url().clone();
    let finish = tokio::spawn(sign_in.finish());
    let page = browse(&env, &url, "cancel").await;
    assert!(page.contains("did not complete"), "{page}");
    let e = finish.await.unwrap().unwrap_err();
    assert_eq!(e.aadsts(), Some(65004), "{e}");
}

#[tokio::test]
async fn apps_client_creates_grants_and_retries_replication_404s() {
    let env = Env::start().await;
    env.ctl("/_sandbox/entra/sign-in-settings", json!({"interval": 1}))
        .await;
    let client = env.public_client(GRAPH_COMMAND_LINE_TOOLS);
    let code = client.start_device_code().await.unwrap();
    env.ctl(
        &format!("/_sandbox/entra/device-codes/{}", code.user_code),
        json!({"user": ADMIN, "decision": "approve"}),
    )
    .await;
    let token = client.wait_for_device_code(&code).await.unwrap();
    let apps = AppsClient::new(&env.sandbox.urls().graph, &token, env.http.clone())
        .unwrap()
        .with_replication_wait(Duration::from_secs(20));
    assert_eq!(
        apps.tenant_name().await.unwrap().as_deref(),
        Some("Contoso Sandbox")
    );
    let graph_sp = apps.graph_service_principal().await.unwrap();
    let role = graph_sp
        .app_roles
        .iter()
        .find(|r| r.value.as_deref() == Some("Organization.Read.All"))
        .unwrap()
        .id
        .clone();
    assert!(
        apps.applications_named("okta365 test")
            .await
            .unwrap()
            .is_empty()
    );
    env.ctl(
        "/_sandbox/entra/replication-delay",
        json!({"notFoundCalls": 3}),
    )
    .await;
    let rra = vec![RequiredResourceAccess {
        resource_app_id: GRAPH_APP_ID.into(),
        resource_access: vec![ResourceAccess {
            id: role.clone(),
            kind: "Role".into(),
        }],
    }];
    let app = apps.create_application("okta365 test", &rra).await.unwrap();
    assert_eq!(app.graph_roles_requested(), vec![role.clone()]);
    // The next three calls naming the new app get 404; the client retries through them.
    let end = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    let password = apps.add_password(&app.id, "okta365", end).await.unwrap();
    assert!(!format!("{password:?}").contains(password.secret_text.expose()));
    let sp = apps.create_service_principal(&app.app_id).await.unwrap();
    apps.grant(&graph_sp.id, &sp.id, &role).await.unwrap();
    let granted = apps.role_assignments(&graph_sp.id).await.unwrap();
    assert!(
        granted
            .iter()
            .any(|a| a.principal_id == sp.id && a.app_role_id == role)
    );
    assert_eq!(
        apps.application_by_app_id(&app.app_id)
            .await
            .unwrap()
            .unwrap()
            .password_credentials
            .len(),
        1
    );
    let writes: Value = env
        .http
        .get(format!(
            "{}_sandbox/entra/graph-writes",
            env.sandbox.urls().base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let not_found = writes
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["status"] == 404)
        .count();
    assert_eq!(
        not_found, 3,
        "three replication 404s were retried: {writes}"
    );

    // The new app works for client credentials with what was granted.
    let provider = TokenProvider::new(
        &env.sandbox.urls().entra_login,
        okta365_graph::TenantId::parse(&env.creds.entra_tenant_id).unwrap(),
        okta365_graph::ClientId::parse(&app.app_id).unwrap(),
        okta365_graph::EntraCredential::ClientSecret(password.secret_text.clone()),
        env.http.clone(),
    )
    .unwrap();
    assert_eq!(
        provider.claims().await.unwrap().roles,
        vec!["Organization.Read.All".to_owned()]
    );
}
