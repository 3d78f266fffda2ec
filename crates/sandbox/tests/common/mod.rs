//! Helpers shared by the sandbox integration tests.
#![allow(dead_code)]

pub mod csdl;
pub mod openapi;

use okta365_sandbox::{DemoCredentials, Sandbox, SandboxConfig, mint_demo_credentials};
use serde_json::Value;

/// An in-memory sandbox with freshly minted demo credentials and a client.
pub struct Env {
    pub sandbox: Sandbox,
    pub creds: DemoCredentials,
    pub http: reqwest::Client,
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

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.urls().base.as_str().trim_end_matches('/'),
            path
        )
    }

    pub fn okta(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.okta_url(method, &self.url(path))
    }

    pub fn okta_url(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(
                "authorization",
                format!("SSWS {}", self.creds.okta_api_token),
            )
            .header("accept", "application/json")
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, self.url(path));
        req = match body {
            Some(b) => req.json(&b),
            None => req.header("content-length", "0"),
        };
        let resp = req.send().await.expect("control call");
        assert!(
            resp.status().is_success(),
            "control call {path} failed: {}",
            resp.status()
        );
        if resp.status() == 204 {
            Value::Null
        } else {
            resp.json().await.expect("control JSON")
        }
    }

    /// A Graph access token for the demo app.
    pub async fn graph_token(&self) -> String {
        let body: Value = self
            .http
            .post(self.url(&format!(
                "/{}/oauth2/v2.0/token",
                self.creds.entra_tenant_id
            )))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.creds.entra_client_id.as_str()),
                ("client_secret", self.creds.entra_client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token in {body}"))
            .to_owned()
    }
}
