//! The real `okta365` binary, run with a temp `OKTA365_DATA_DIR`, against real sandbox servers on
//! loopback and the real OS keychain. Run inside a D-Bus session with an unlocked gnome-keyring, as
//! `scripts/test` does.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use okta365_secrets::{CredentialKind, Keychain};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_okta365");

fn okta365(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .env_remove("OKTA365_LOG")
        .output()
        .expect("the okta365 binary runs")
}

/// Runs a command that must succeed and returns its stdout.
fn ok(data_dir: &Path, args: &[&str]) -> String {
    let out = okta365(data_dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "okta365 {args:?} should succeed; stderr:\n{stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ok_json(data_dir: &Path, args: &[&str]) -> Value {
    let stdout = ok(data_dir, args);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("okta365 {args:?} --json prints JSON ({e}):\n{stdout}"))
}

/// Runs a command that must fail with exit code 1 and exactly this message on stderr.
fn fails_with(data_dir: &Path, args: &[&str], message: &str) {
    let out = okta365(data_dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "okta365 {args:?} exits with 1; stderr:\n{stderr}"
    );
    assert_eq!(
        stderr,
        format!("error: {message}\n"),
        "okta365 {args:?} prints exactly one error line"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout when failing: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A running `okta365 sandbox serve`, stopped with SIGTERM (or killed if a test fails first).
struct Serve {
    child: Child,
    line: Value,
    data_dir: PathBuf,
}

impl Serve {
    fn start(data_dir: &Path, extra: &[&str]) -> Serve {
        let mut child = Command::new(BIN)
            .args(["sandbox", "serve"])
            .args(extra)
            .env("OKTA365_DATA_DIR", data_dir)
            .env_remove("OKTA365_LOG")
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
            // Keep reading so the server never blocks on a full pipe.
            let mut rest = String::new();
            while reader.read_line(&mut rest).is_ok_and(|n| n > 0) {
                rest.clear();
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => line,
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        };
        let line: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the serve line is JSON ({e}): {line}"));
        Serve {
            child,
            line,
            data_dir: data_dir.to_owned(),
        }
    }

    fn get(&self, key: &str) -> &str {
        self.line[key]
            .as_str()
            .unwrap_or_else(|| panic!("the serve line has a string {key:?}: {}", self.line))
    }

    /// Stops it like a service manager would and checks it shut down cleanly.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "SIGTERM was delivered");
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "serve exits 0 on SIGTERM, got {exit}");
        assert!(
            !self.data_dir.join("sandbox/server.json").exists(),
            "a clean shutdown removes server.json"
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Status of `GET {okta}api/v1/users` with this Okta API token.
fn okta_status(okta_org_url: &str, token: &str) -> u16 {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .get(format!("{okta_org_url}api/v1/users?limit=1"))
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

fn okta_create_group(okta_org_url: &str, token: &str, name: &str) -> u16 {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .post(format!("{okta_org_url}api/v1/groups"))
            .header("Authorization", format!("SSWS {token}"))
            .json(&serde_json::json!({ "profile": { "name": name, "description": "test" } }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// How many Okta groups are named exactly `name`.
fn okta_group_count(okta_org_url: &str, token: &str, name: &str) -> usize {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let groups: Vec<Value> = reqwest::Client::new()
            .get(format!("{okta_org_url}api/v1/groups?limit=200"))
            .header("Authorization", format!("SSWS {token}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        groups
            .iter()
            .filter(|g| g["profile"]["name"] == name)
            .count()
    })
}

fn keychain_get(profile_id: &str, kind: CredentialKind) -> Option<String> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Keychain::for_build().get(profile_id, kind))
        .expect("the keychain answers")
        .map(|s| s.expose().to_owned())
}

#[test]
fn help_lists_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let help = ok(dir.path(), &["--help"]);
    for command in ["info", "profile", "sandbox", "--json"] {
        assert!(
            help.contains(command),
            "okta365 --help lists {command}:\n{help}"
        );
    }
    let help = ok(dir.path(), &["profile", "--help"]);
    for command in ["add-sandbox", "list", "show", "select", "remove"] {
        assert!(
            help.contains(command),
            "okta365 profile --help lists {command}:\n{help}"
        );
    }
    let help = ok(dir.path(), &["sandbox", "--help"]);
    for command in ["serve", "reset"] {
        assert!(
            help.contains(command),
            "okta365 sandbox --help lists {command}:\n{help}"
        );
    }
    let help = ok(dir.path(), &["sandbox", "serve", "--help"]);
    for option in [
        "--port",
        "--seed",
        "--reset",
        "okta_api_token",
        "entra_client_secret",
    ] {
        assert!(
            help.contains(option),
            "okta365 sandbox serve --help documents {option}:\n{help}"
        );
    }
    let out = okta365(dir.path(), &["profile", "frobnicate"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed command line exits with 2"
    );
}

#[test]
fn serve_then_a_profile_on_it_by_url() {
    let served_dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(served_dir.path(), &[]);
    for key in [
        "okta_org_url",
        "entra_login_url",
        "graph_url",
        "control_url",
        "okta_api_token",
        "entra_tenant_id",
        "entra_tenant_domain",
        "entra_client_id",
        "entra_client_secret",
    ] {
        assert!(
            !serve.get(key).is_empty(),
            "the serve line has a non-empty {key}"
        );
    }
    let base = serve.get("okta_org_url").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(serve.get("control_url"), format!("{base}_sandbox/"));
    assert_eq!(
        okta_status(&base, serve.get("okta_api_token")),
        200,
        "the printed token is a working Okta token"
    );

    // One server per data dir: a second serve says who serves it.
    fails_with(
        served_dir.path(),
        &["sandbox", "serve"],
        &format!(
            "The sandbox of this data dir ({}) is already served by another okta365 process at {base}. Use that \
             one, or stop it (quit the app, or Ctrl-C that `okta365 sandbox serve`) and try again.",
            served_dir
                .path()
                .join("sandbox")
                .canonicalize()
                .unwrap()
                .display()
        ),
    );

    // A profile in another data dir, on that sandbox.
    let dir = tempfile::tempdir().unwrap();
    let created = ok_json(
        dir.path(),
        &["profile", "add-sandbox", "Remote", "--url", &base, "--json"],
    );
    assert_eq!(created["name"], "Remote");
    assert_eq!(created["kind"], "sandbox");
    assert_eq!(created["embeddedSandbox"], false);
    assert_eq!(created["oktaOrgUrl"], base.as_str());
    assert_eq!(
        created["msTenant"],
        serve.get("entra_tenant_id"),
        "the profile records the demo tenant"
    );
    assert_eq!(
        created["msClientId"],
        serve.get("entra_client_id"),
        "and the demo app's client id"
    );
    assert_eq!(created["wizardStep"], "microsoft");
    let id = created["id"].as_str().unwrap().to_owned();

    let list = ok_json(dir.path(), &["profile", "list", "--json"]);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "one profile listed: {list}"
    );
    assert_eq!(list[0]["id"], id.as_str());
    let shown = ok_json(dir.path(), &["--json", "profile", "show", "remote"]);
    assert_eq!(
        shown, created,
        "show (by name, any case) gives the created profile"
    );
    let info = ok_json(dir.path(), &["info", "--json"]);
    assert_eq!(
        info["activeProfileId"],
        id.as_str(),
        "the new profile is active"
    );
    assert_eq!(
        info["dataDir"],
        dir.path().display().to_string(),
        "OKTA365_DATA_DIR moves the data dir"
    );
    let table = ok(dir.path(), &["profile", "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with('*') && l.contains("Remote")),
        "the table marks the active profile:\n{table}"
    );

    let token =
        keychain_get(&id, CredentialKind::OktaApiToken).expect("the token is in the OS keychain");
    assert_eq!(
        okta_status(&base, &token),
        200,
        "the stored token works on the sandbox"
    );
    assert!(
        keychain_get(&id, CredentialKind::EntraClientSecret).is_some(),
        "so is the client secret"
    );

    let removed = ok_json(dir.path(), &["profile", "remove", "Remote", "--json"]);
    assert_eq!(removed["removed"]["id"], id.as_str());
    assert!(
        keychain_get(&id, CredentialKind::OktaApiToken).is_none(),
        "remove deleted the token from the keychain"
    );
    assert!(
        keychain_get(&id, CredentialKind::EntraClientSecret).is_none(),
        "and the client secret"
    );
    assert_eq!(
        ok_json(dir.path(), &["profile", "list", "--json"]),
        serde_json::json!([])
    );

    serve.stop();
}

#[test]
fn a_profile_on_the_data_dirs_own_sandbox() {
    let dir = tempfile::tempdir().unwrap();
    let created = ok_json(dir.path(), &["profile", "add-sandbox", "--json"]);
    assert_eq!(created["name"], "Sandbox", "the default name");
    assert_eq!(created["embeddedSandbox"], true);
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        !dir.path().join("sandbox/server.json").exists(),
        "the sandbox this command started stopped when it exited"
    );
    let token =
        keychain_get(&id, CredentialKind::OktaApiToken).expect("the token is in the OS keychain");

    // Serving the data dir's sandbox again: the stored token is a credential of that tenant, and the
    // profile's URLs follow the server.
    let serve = Serve::start(dir.path(), &[]);
    let base = serve.get("okta_org_url").to_owned();
    assert_eq!(
        okta_status(&base, &token),
        200,
        "the keychain token works on the data dir's sandbox"
    );
    let shown = ok_json(dir.path(), &["profile", "show", "Sandbox", "--json"]);
    assert_eq!(
        shown["oktaOrgUrl"],
        base.as_str(),
        "the profile points at the served sandbox"
    );
    let second = ok_json(dir.path(), &["profile", "add-sandbox", "--json"]);
    assert_eq!(second["name"], "Sandbox 2", "the next default name");
    assert_eq!(
        second["oktaOrgUrl"],
        base.as_str(),
        "add-sandbox attached to the running server"
    );
    serve.stop();

    ok(dir.path(), &["profile", "remove", "Sandbox"]);
    assert!(
        keychain_get(&id, CredentialKind::OktaApiToken).is_none(),
        "remove deleted the token"
    );
    assert!(
        keychain_get(&id, CredentialKind::EntraClientSecret).is_none(),
        "remove deleted the client secret"
    );
    ok(
        dir.path(),
        &["profile", "remove", second["id"].as_str().unwrap()],
    );
}

#[test]
fn serve_with_port_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox/seed/demo.json");
    let seed = seed.to_str().unwrap();
    let serve = Serve::start(dir.path(), &["--port", &port.to_string(), "--seed", seed]);
    let base = serve.get("okta_org_url").to_owned();
    assert_eq!(
        base,
        format!("http://127.0.0.1:{port}/"),
        "--port is honoured"
    );
    let token = serve.get("okta_api_token").to_owned();
    assert_eq!(
        okta_create_group(&base, &token, "Made before reset"),
        200,
        "a group is created"
    );
    assert_eq!(okta_group_count(&base, &token, "Made before reset"), 1);
    serve.stop();

    fails_with(
        dir.path(),
        &["sandbox", "serve", "--seed", seed],
        &format!(
            "The sandbox in {} already has state, so --seed would be ignored. Add --reset to discard that state \
             (including its minted credentials) and start from the seed file.",
            dir.path().join("sandbox").canonicalize().unwrap().display()
        ),
    );
    let serve = Serve::start(
        dir.path(),
        &["--seed", seed, "--reset", "--port", &port.to_string()],
    );
    let token = serve.get("okta_api_token").to_owned();
    assert_eq!(
        okta_group_count(&base, &token, "Made before reset"),
        0,
        "--reset started again from the seed"
    );
    serve.stop();

    ok(dir.path(), &["sandbox", "reset"]);
}

#[test]
fn bad_input_gets_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    fails_with(
        path,
        &["profile", "add-sandbox", "--url", "not a url"],
        "The sandbox URL \"not a url\" is not a valid URL (relative URL without a base). Enter a full address such \
         as https://example.okta.com.",
    );
    fails_with(
        path,
        &[
            "profile",
            "add-sandbox",
            "--url",
            "http://sandbox.example.com:8080",
        ],
        "The sandbox URL \"http://sandbox.example.com:8080\" uses plain http://, which is only allowed for loopback \
         addresses (127.0.0.1, ::1, localhost). Use https:// instead.",
    );
    fails_with(
        path,
        &["profile", "add-sandbox", "--url", "http://127.0.0.1:9"],
        "No okta365 sandbox answered at http://127.0.0.1:9/: nothing is listening there. Start one with `okta365 \
         sandbox serve`, or check the URL.",
    );
    fails_with(
        path,
        &["profile", "add-sandbox", "   "],
        "A profile name cannot be empty.",
    );
    fails_with(
        path,
        &["profile", "show", "Prod"],
        "No profile is named or has the id \"Prod\".",
    );
    fails_with(
        path,
        &["profile", "remove", "Prod"],
        "No profile is named or has the id \"Prod\".",
    );
    fails_with(
        path,
        &["profile", "select", "Prod"],
        "No profile is named or has the id \"Prod\".",
    );
    let missing = path.join("no-such-seed.json");
    let out = okta365(
        path,
        &["sandbox", "serve", "--seed", missing.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with(&format!(
            "error: Could not read the sandbox seed file {}: ",
            missing.display()
        )),
        "a missing seed file is named: {stderr}"
    );

    // Duplicate names, against a sandbox served by another data dir.
    let served_dir = tempfile::tempdir().unwrap();
    let serve = Serve::start(served_dir.path(), &[]);
    let base = serve.get("okta_org_url").to_owned();
    ok(path, &["profile", "add-sandbox", "Dup", "--url", &base]);
    fails_with(
        path,
        &["profile", "add-sandbox", "dup", "--url", &base],
        "A profile named \"Dup\" already exists. Choose another name, or remove that profile first.",
    );
    // A port someone else holds.
    let busy = base
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches('/')
        .to_owned();
    let other = tempfile::tempdir().unwrap();
    let out = okta365(other.path(), &["sandbox", "serve", "--port", &busy]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a busy port fails: {stderr}");
    assert!(
        stderr.starts_with(&format!("error: Could not listen on 127.0.0.1:{busy}: ")),
        "names the port: {stderr}"
    );
    ok(path, &["profile", "remove", "Dup"]);
    serve.stop();
}
