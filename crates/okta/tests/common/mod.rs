//! Helpers for the client's tests against a real sandbox tenant over loopback HTTP.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use okta365_okta::{
    ClientId, OktaAuth, OktaClient, PrivateKey, RetryPolicy, Secret, generate_key_pair,
};
use okta365_sandbox::{DemoCredentials, Sandbox, SandboxConfig, mint_demo_credentials};
use serde_json::{Value, json};

pub struct Env {
    pub sandbox: Sandbox,
    pub creds: DemoCredentials,
    pub http: reqwest::Client,
}

/// One RSA key pair for the process (generating one per test is slow in debug builds), plus its
/// public JWK text.
pub fn rsa_key() -> &'static (PrivateKey, String) {
    static KEY: OnceLock<(PrivateKey, String)> = OnceLock::new();
    KEY.get_or_init(|| generate_key_pair().expect("a key pair"))
}

/// Retries fast enough for tests; rate-limit waits stay as Okta's headers say.
pub fn fast_retries() -> RetryPolicy {
    let mut p = RetryPolicy::default();
    p.min_delay = Duration::from_millis(20);
    p.max_delay = Duration::from_millis(100);
    p.max_rate_limit_wait = Duration::from_secs(10);
    p
}

impl Env {
    pub async fn start() -> Env {
        let sandbox = Sandbox::start(SandboxConfig::in_memory())
            .await
            .expect("sandbox starts");
        let creds = mint_demo_credentials(&sandbox.urls().base)
            .await
            .expect("demo credentials");
        Env {
            sandbox,
            creds,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    pub fn org(&self) -> String {
        self.sandbox.urls().okta_org.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.urls().base.as_str().trim_end_matches('/'),
            path
        )
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, self.url(path))
            .json(&body)
            .send()
            .await
            .expect("control call");
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "control call {path} failed: {status} {v}"
        );
        v
    }

    /// Registers a service app with `key`'s public JWK.
    pub async fn service_app(
        &self,
        key: &PrivateKey,
        scopes: &[&str],
        roles: &[&str],
        dpop: bool,
    ) -> ClientId {
        let app = self
            .control(
                reqwest::Method::POST,
                "/_sandbox/okta/service-apps",
                json!({ "name": "okta365", "jwks": { "keys": [key.public_jwk()] }, "scopes": scopes,
                        "adminRoles": roles, "dpopBound": dpop }),
            )
            .await;
        ClientId::parse(app["clientId"].as_str().unwrap()).expect("an Okta client id")
    }

    pub fn ssws(&self) -> OktaClient {
        self.ssws_with(&self.creds.okta_api_token)
    }

    pub fn ssws_with(&self, token: &str) -> OktaClient {
        OktaClient::builder(self.org())
            .auth(OktaAuth::ApiToken(Secret::new(token)))
            .retry_policy(fast_retries())
            .build()
            .expect("client")
    }

    pub fn app_client(
        &self,
        client_id: &ClientId,
        key: &PrivateKey,
        scopes: &[&str],
    ) -> OktaClient {
        OktaClient::builder(self.org())
            .auth(OktaAuth::ServiceApp {
                client_id: client_id.clone(),
                key: key.clone(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            })
            .retry_policy(fast_retries())
            .build()
            .expect("client")
    }

    /// How many access tokens the sandbox has issued to `client_id`.
    pub async fn tokens_issued(&self, client_id: &ClientId) -> u64 {
        let state = self
            .control(reqwest::Method::GET, "/_sandbox/state", Value::Null)
            .await;
        state["okta"]["serviceApps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["clientId"] == client_id.as_str())
            .and_then(|a| a["accessTokens"].as_u64())
            .unwrap_or(0)
    }
}
