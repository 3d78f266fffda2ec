//! What the licensing lifecycle's CLI tests share: the real `okta365` binary on a data dir, a real
//! `okta365 sandbox serve` for it (whose printed demo credentials read the tenant back over HTTP: Graph
//! with a client-credentials token of the demo app, Okta with the demo API token, the sandbox's
//! control endpoints), and a run killed (SIGKILL) where a debug-only pause hook stopped it.

#![allow(dead_code)]

use std::{
    cell::RefCell,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_okta365");

/// The seeded member of "Office 365 Assignments" the lifecycle tests deactivate: her Entra account
/// holds Office 365 E3 (ENTERPRISEPACK) directly and her Okta manager is Marcus Thompson.
pub const ISABELLA: &str = "isabella.singh@corp.example";
/// Her Entra account.
pub const ISABELLA_UPN: &str = "isabella.singh@contoso.example";
/// Her manager's address (Okta `managerId` → `profile.email`).
pub const MANAGER: &str = "marcus.thompson@corp.example";
/// The mailbox that sends manager emails (the seeded admin has one).
pub const SENDER: &str = "admin@contoso-sandbox.onmicrosoft.com";
/// Office 365 E3 in the demo seed.
pub const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

/// Runs `okta365 ARGS` on the data dir, stdin not a terminal.
pub fn run(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the okta365 binary runs")
}

/// Runs `okta365 ARGS`, which must succeed and print one JSON document.
pub fn ok_json(data_dir: &Path, args: &[&str]) -> Value {
    let out = run(data_dir, args);
    assert!(
        out.status.success(),
        "okta365 {args:?} should succeed; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "okta365 {args:?} prints JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The JSON lines a command printed on stdout.
pub fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON line ({e}): {l}")))
        .collect()
}

/// `okta365 sandbox serve` for the data dir (its JSON line kept), stopped (SIGTERM) when dropped.
pub struct Serve {
    child: Child,
    pub info: Value,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    token: RefCell<Option<String>>,
}

impl Serve {
    pub fn start(data_dir: &Path) -> Serve {
        let mut child = Command::new(BIN)
            .args(["sandbox", "serve"])
            .env("OKTA365_DATA_DIR", data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("okta365 sandbox serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let info = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => {
                serde_json::from_str(&line).expect("serve prints one JSON line")
            }
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        };
        Serve {
            child,
            info,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
            token: RefCell::new(None),
        }
    }

    fn text(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
            .to_owned()
    }

    /// One HTTP call; the answer's status must be a success; its JSON body (null when empty).
    fn call(
        &self,
        method: reqwest::Method,
        url: String,
        auth: Option<String>,
        body: Option<Value>,
    ) -> Value {
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header("accept", "application/json");
            if let Some(auth) = auth {
                req = req.header("authorization", auth);
            }
            req = match body {
                Some(body) => req.json(&body),
                None => req.header("content-length", "0"),
            };
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            assert!(status.is_success(), "{method} {url}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    /// An Okta API call as the sandbox's admin (the demo API token).
    pub fn okta(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "{}/{}",
            self.text("okta_org_url"),
            path.trim_start_matches('/')
        );
        let auth = format!("SSWS {}", self.text("okta_api_token"));
        self.call(method, url, Some(auth), body)
    }

    /// A Graph call (`/v1.0/…`) as the demo app, with a client-credentials token.
    pub fn graph(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        if self.token.borrow().is_none() {
            let url = format!(
                "{}/{}/oauth2/v2.0/token",
                self.text("entra_login_url"),
                self.text("entra_tenant_id")
            );
            let token: Value = self.rt.block_on(async {
                self.http
                    .post(url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", self.text("entra_client_id").as_str()),
                        ("client_secret", self.text("entra_client_secret").as_str()),
                        ("scope", "https://graph.microsoft.com/.default"),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            });
            *self.token.borrow_mut() = Some(
                token["access_token"]
                    .as_str()
                    .expect("a client-credentials token")
                    .to_owned(),
            );
        }
        let auth = format!("Bearer {}", self.token.borrow().as_deref().unwrap());
        let url = format!(
            "{}/v1.0/{}",
            self.text("graph_url"),
            path.trim_start_matches('/')
        );
        self.call(method, url, Some(auth), body)
    }

    /// A call to the sandbox's control endpoints (`/_sandbox/…`).
    pub fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "{}/{}",
            self.text("control_url"),
            path.trim_start_matches('/')
        );
        self.call(method, url, None, body)
    }

    /// Moves the sandbox's clock on (`POST /_sandbox/clock`); the Graph token is taken again after it
    /// (the old one has expired on the new clock).
    pub fn advance_clock(&self, secs: i64) {
        self.control(
            reqwest::Method::POST,
            "clock",
            Some(serde_json::json!({ "advance_secs": secs })),
        );
        *self.token.borrow_mut() = None;
    }

    /// The manager emails of the outbox (`kind: mail`), oldest first.
    pub fn mails(&self) -> Vec<Value> {
        let all = self.control(reqwest::Method::GET, "mail", None);
        all.as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["kind"] == "mail")
            .collect()
    }

    /// The sandbox's now (wall clock + the offset `POST /_sandbox/clock` added).
    pub fn now(&self) -> jiff::Timestamp {
        let state = self.control(reqwest::Method::GET, "state", None);
        state["clock"]["now"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("the sandbox state has clock.now: {}", state["clock"]))
    }

    /// An Entra user (by id or UPN) with its account status and license states.
    pub fn user(&self, id: &str) -> Value {
        self.graph(
            reqwest::Method::GET,
            &format!(
                "users/{id}?$select=id,userPrincipalName,accountEnabled,usageLocation,assignedLicenses,licenseAssignmentStates"
            ),
            None,
        )
    }

    /// The tenant's SKUs by id (lowercase): (consumedUnits, prepaidUnits.enabled).
    pub fn seats(&self) -> std::collections::BTreeMap<String, (i64, i64)> {
        let skus = self.graph(reqwest::Method::GET, "subscribedSkus", None);
        skus["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|s| {
                (
                    s["skuId"].as_str().unwrap_or_default().to_ascii_lowercase(),
                    (
                        s["consumedUnits"].as_i64().unwrap_or(-1),
                        s["prepaidUnits"]["enabled"].as_i64().unwrap_or(-1),
                    ),
                )
            })
            .collect()
    }

    /// The service plan ids of a SKU, by name.
    pub fn service_plans(&self, sku_id: &str) -> Vec<(String, String)> {
        let skus = self.graph(reqwest::Method::GET, "subscribedSkus", None);
        skus["value"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|s| {
                s["skuId"]
                    .as_str()
                    .is_some_and(|i| i.eq_ignore_ascii_case(sku_id))
            })
            .flat_map(|s| s["servicePlans"].as_array().cloned().unwrap_or_default())
            .map(|p| {
                (
                    p["servicePlanName"].as_str().unwrap_or_default().to_owned(),
                    p["servicePlanId"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The id of an Okta group, by exact name.
    pub fn group_id(&self, name: &str) -> String {
        let groups = self.okta(
            reqwest::Method::GET,
            &format!("api/v1/groups?q={}", name.replace(' ', "%20")),
            None,
        );
        groups
            .as_array()
            .and_then(|g| g.iter().find(|g| g["profile"]["name"] == name))
            .and_then(|g| g["id"].as_str())
            .unwrap_or_else(|| panic!("an Okta group named {name}: {groups}"))
            .to_owned()
    }

    /// The Okta user id of a login.
    pub fn okta_id(&self, login: &str) -> String {
        self.okta(reqwest::Method::GET, &format!("api/v1/users/{login}"), None)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Removes an Okta user from a group, or adds them back.
    pub fn set_member(&self, group: &str, user: &str, member: bool) {
        let path = format!("api/v1/groups/{group}/users/{user}");
        if member {
            self.okta(reqwest::Method::PUT, &path, Some(serde_json::json!({})));
        } else {
            self.okta(reqwest::Method::DELETE, &path, None);
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The direct licenses of an Entra user (`assignedByGroup: null`): (skuId lowercase, sorted disabled
/// plan ids), sorted.
pub fn direct(user: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = user["licenseAssignmentStates"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s["assignedByGroup"].is_null())
        .map(|s| {
            let mut plans: Vec<String> = s["disabledPlans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p.as_str().map(str::to_ascii_lowercase))
                .collect();
            plans.sort();
            (
                s["skuId"].as_str().unwrap_or_default().to_ascii_lowercase(),
                plans,
            )
        })
        .collect();
    out.sort();
    out
}

/// The same shape from a snapshot's `[{skuId, disabledPlans}]`.
pub fn snapshot_licenses(list: &Value) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = list
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let mut plans: Vec<String> = l["disabledPlans"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p.as_str().map(str::to_ascii_lowercase))
                .collect();
            plans.sort();
            (
                l["skuId"].as_str().unwrap_or_default().to_ascii_lowercase(),
                plans,
            )
        })
        .collect();
    out.sort();
    out
}

/// Where a run is stopped: right after step n was journaled `started` (its write not sent), or right
/// after its write answered (the outcome not journaled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Before,
    After,
}

impl Hook {
    pub fn var(self) -> &'static str {
        match self {
            Hook::Before => "OKTA365_TEST_PAUSE_BEFORE_STEP",
            Hook::After => "OKTA365_TEST_PAUSE_AFTER_STEP",
        }
    }
}

/// Starts `okta365 ARGS` with a pause hook at step `step`, waits for `paused at step n` on its stderr
/// and SIGKILLs it there. `Err` (with its stderr) when the command ended without pausing.
pub fn run_and_kill(data_dir: &Path, args: &[&str], hook: Hook, step: u32) -> Result<(), String> {
    let mut child = Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .env(hook.var(), step.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("okta365 starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at step") {
                let _ = tx.send(Ok(line));
                return;
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
    });
    let got = rx.recv_timeout(Duration::from_secs(120));
    // SIGKILL: nothing of the process runs after this (no destructor, no journal write).
    let _ = child.kill();
    let status = child.wait().unwrap();
    match got {
        Ok(Ok(line)) => {
            assert!(
                line.contains(&format!("paused at step {step} ")),
                "paused at the wrong step: {line}"
            );
            Ok(())
        }
        Ok(Err(stderr)) => Err(format!(
            "okta365 {args:?} ended ({status}) without pausing at step {step} ({}): {stderr}",
            hook.var()
        )),
        Err(e) => panic!("okta365 {args:?} never reached step {step}: {e}"),
    }
}
