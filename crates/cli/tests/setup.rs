//! `okta365 setup groups`, `okta365 licenses …` and `okta365 review` with the real binary, the data
//! dir's sandbox served by a real `okta365 sandbox serve`, the real OS keychain and a real data dir.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_okta365");

fn run(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the okta365 binary runs")
}

fn ok_json(data_dir: &Path, args: &[&str]) -> Value {
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

fn error_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}

/// `okta365 sandbox serve` for the data dir, stopped (SIGTERM) when dropped.
struct Serve(Child);

impl Serve {
    fn start(data_dir: &Path) -> Serve {
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
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => Serve(child),
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn groups_licenses_and_review_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _serve = Serve::start(data);
    let profile = ok_json(data, &["profile", "add-sandbox", "CLI", "--json"]);
    assert_eq!(profile["groups"][0]["name"], "Office 365 Assignments");

    // Plan with new names: nothing written, both to create.
    let plan = ok_json(
        data,
        &[
            "setup",
            "groups",
            "--plan",
            "--assignments",
            "cli Licensed",
            "--guests",
            "cli Guests",
            "--json",
            "--profile",
            "CLI",
        ],
    );
    let actions: Vec<&str> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "create"]);
    let again = ok_json(data, &["setup", "groups", "--plan", "--json"]);
    assert_eq!(
        again["items"][0]["action"], "create",
        "--plan wrote nothing to the org"
    );

    // Apply, then apply again: the same ids.
    let applied = ok_json(data, &["setup", "groups", "--json"]);
    let ids: Vec<&str> = applied["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(i["action"], "exists");
            i["groupId"].as_str().unwrap()
        })
        .collect();
    assert!(ids.iter().all(|id| id.starts_with("00g")), "{ids:?}");
    let second = ok_json(data, &["setup", "groups", "--json"]);
    assert_eq!(
        second["items"][0]["groupId"], ids[0],
        "the second run finds the group it created"
    );
    let text = run(data, &["setup", "groups", "--plan"]);
    assert!(text.status.success());
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("cli Licensed") && stdout.contains("Nothing to create"),
        "{stdout}"
    );

    // Licenses.
    let view = ok_json(data, &["licenses", "sync", "--json"]);
    assert!(view["refreshedAt"].is_string());
    assert_eq!(view["licenses"].as_array().unwrap().len(), 3);
    let view = ok_json(
        data,
        &[
            "licenses",
            "assign",
            "assignments",
            "ENTERPRISEPACK",
            "--disable",
            "TEAMS1",
            "--json",
        ],
    );
    assert_eq!(
        view["assignments"][0]["skuId"],
        "6fd2c87f-b296-42f0-b197-1e91e994b900"
    );
    assert_eq!(
        view["assignments"][0]["disabledPlans"][0],
        "57ff2da0-773e-42df-b2af-ffb7a2317929"
    );
    let unknown = run(data, &["licenses", "assign", "assignments", "SPE_E5"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        error_line(&unknown),
        "error: No stored license is \"SPE_E5\". Known SKUs: ENTERPRISEPACK, EXCHANGESTANDARD, SPE_E3."
    );
    let bad = run(data, &["licenses", "usage-location", "UK"]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(
        error_line(&bad),
        "error: \"UK\" is not an ISO 3166-1 alpha-2 country code. For United Kingdom use GB."
    );
    let view = ok_json(data, &["licenses", "usage-location", "us", "--json"]);
    assert_eq!(view["usageLocation"], "US");
    let listed = ok_json(data, &["licenses", "list", "--json"]);
    assert_eq!(listed["assignments"], view["assignments"]);
    let text = run(data, &["licenses", "list"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("Office 365 E3") && stdout.contains("disabled: TEAMS1"),
        "{stdout}"
    );

    // Review: ready now (the groups exist, licenses are stored and mapped).
    let out = run(data, &["review", "--json"]);
    let review: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        review["ready"],
        true,
        "{}",
        serde_json::to_string_pretty(&review["items"]).unwrap()
    );
    assert!(out.status.success(), "exit 0 when ready");

    // A group renamed to one that is not on the org: not ready, exit 1.
    ok_json(
        data,
        &[
            "setup",
            "groups",
            "--plan",
            "--guests",
            "cli Elsewhere",
            "--json",
        ],
    );
    let out = run(data, &["review", "--json"]);
    assert_eq!(out.status.code(), Some(1), "exit 1 when not ready");
    let review: Value = serde_json::from_slice(&out.stdout).unwrap();
    let guests = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "group-guests")
        .unwrap();
    assert_eq!(guests["status"], "missing");
    assert_eq!(guests["fixStep"], "groups");
}
