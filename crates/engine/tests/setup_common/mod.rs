//! A sandbox profile for the guided-setup tests: a real sandbox tenant on loopback (in memory), a real
//! SQLite file, the real OS keychain, plus an Okta API token of the sandbox for the test's own look at
//! the org.

#![allow(dead_code)]

use okta365_engine::{
    CreateSandboxProfileRequest, Engine, GroupRole, GroupSetting, Paths, Profile,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_store::{Store, setup::SetupStepRecord};
use serde_json::{Value, json};

pub struct Env {
    pub dir: tempfile::TempDir,
    pub engine: Engine,
    pub sandbox: Sandbox,
    pub profile: Profile,
    token: String,
    http: reqwest::Client,
}

impl Env {
    pub async fn new() -> Env {
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
                    name: Some("Setup".into()),
                    url: Some(sandbox.urls().base.to_string()),
                    ..Default::default()
                },
                &(),
            )
            .await
            .unwrap();
        let token = okta365_sandbox::mint_demo_credentials(&sandbox.urls().base)
            .await
            .unwrap()
            .okta_api_token;
        Env {
            dir,
            engine,
            sandbox,
            profile,
            token,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.urls().base,
            path.trim_start_matches('/')
        )
    }

    /// An Okta API call as the sandbox's admin.
    pub async fn okta(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("authorization", format!("SSWS {}", self.token))
            .header("accept", "application/json");
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// A control call (`/_sandbox/...`).
    pub async fn control(&self, path: &str, body: Value) -> Value {
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

    /// Every Okta group whose name is exactly `name`, as the org lists them (`q` is a prefix match).
    pub async fn groups_named(&self, name: &str) -> Vec<Value> {
        let q: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
        let all = self
            .okta(reqwest::Method::GET, &format!("api/v1/groups?q={q}"), None)
            .await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|g| g["profile"]["name"] == name)
            .cloned()
            .collect()
    }

    /// Creates an Okta group directly on the org; returns its id.
    pub async fn create_group(&self, name: &str) -> String {
        let g = self
            .okta(
                reqwest::Method::POST,
                "api/v1/groups",
                Some(json!({ "profile": { "name": name } })),
            )
            .await;
        g["id"].as_str().unwrap().to_owned()
    }

    /// The store of the engine's data dir (a second connection, as the CLI would open).
    pub fn store(&self) -> Store {
        Store::open(&self.engine.paths().db_path).unwrap()
    }

    /// The profile's journal rows of the groups operation, oldest first.
    pub fn journal(&self) -> Vec<SetupStepRecord> {
        let id = self.profile.id.parse().unwrap();
        let mut rows = self.store().journal(id, Some("groups"), 100).unwrap();
        rows.reverse();
        rows
    }

    pub async fn name_groups(&self, assignments: &str, guests: &str) -> Profile {
        self.engine
            .set_group_names(
                &self.profile.id,
                vec![
                    GroupSetting {
                        role: GroupRole::Assignments,
                        name: assignments.into(),
                    },
                    GroupSetting {
                        role: GroupRole::Guests,
                        name: guests.into(),
                    },
                ],
            )
            .await
            .unwrap()
    }
}
