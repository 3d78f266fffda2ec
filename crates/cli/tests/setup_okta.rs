//! `okta365 setup okta-app` with the real binary, the data dir's sandbox served by a real `okta365
//! sandbox serve`, the real OS keychain and a real data dir: the plan as JSON, a refusal without
//! --yes, a full run from a blank profile with the token on stdin, and a re-run that changes nothing.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use std::{
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_okta365");

/// Runs okta365 with `stdin` piped in.
fn run(data_dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the okta365 binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok_json(data_dir: &Path, args: &[&str], stdin: &str) -> Value {
    let out = run(data_dir, args, stdin);
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

/// `okta365 sandbox serve` for the data dir (its first stdout line kept), stopped when dropped.
struct Serve(Child, Value);

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
            Ok(line) if !line.is_empty() => Serve(child, serde_json::from_str(&line).unwrap()),
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        }
    }

    fn base(&self) -> String {
        self.1["okta_org_url"]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
            .to_owned()
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

/// A control call on the served sandbox.
fn control(serve: &Serve, method: &str, path: &str, body: Option<Value>) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{}/_sandbox/{path}", serve.base());
        let req = match method {
            "POST" => http.post(url).json(&body.unwrap_or(json!({}))),
            _ => http.get(url),
        };
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    })
}

fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && String::from_utf8_lossy(&bytes).contains(needle)
        {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[test]
fn setup_okta_app_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(
        data,
        &["profile", "add-sandbox", "Blank", "--blank", "--json"],
        "",
    );
    let minted = control(
        &serve,
        "POST",
        "okta/api-tokens",
        Some(json!({ "name": "cli setup", "role": "SUPER_ADMIN" })),
    );
    let token = minted["token"].as_str().unwrap().to_owned();

    // The plan, as JSON: nothing written.
    let plan = ok_json(
        data,
        &["setup", "okta-app", "--plan", "--api-token-stdin", "--json"],
        &format!("{token}\n"),
    );
    assert_eq!(plan["app"], "create");
    assert_eq!(plan["key"], "create");
    assert_eq!(plan["tokenSource"], "pasted");
    assert_eq!(plan["role"], "ORG_ADMIN");
    assert_eq!(plan["changes"], 6, "{plan}");
    let scopes: Vec<&str> = plan["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scope"].as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"okta.groups.manage"), "{scopes:?}");

    // Applying needs --yes when the token comes on stdin.
    let refused = run(data, &["setup", "okta-app", "--api-token-stdin"], &token);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        error_line(&refused).contains("--yes"),
        "{}",
        error_line(&refused)
    );
    let state = control(&serve, "GET", "state", None);
    assert_eq!(
        state["okta"]["serviceApps"].as_array().unwrap().len(),
        0,
        "--plan and a refused run write nothing"
    );

    // A run without a token on a blank profile says what to do.
    let no_token = run(data, &["setup", "okta-app", "--yes"], "");
    assert_eq!(no_token.status.code(), Some(1));
    assert!(
        error_line(&no_token).contains("Paste a Super Administrator's API token"),
        "{}",
        error_line(&no_token)
    );

    // The full run.
    let result = ok_json(
        data,
        &["setup", "okta-app", "--api-token-stdin", "--yes", "--json"],
        &token,
    );
    assert_eq!(result["plan"]["changes"], 0, "{result}");
    assert_eq!(result["dpop"], true);
    assert_eq!(result["apiTokenStored"], false);
    assert_eq!(result["profile"]["okta"]["auth"], "serviceApp");
    let client_id = result["profile"]["okta"]["clientId"].as_str().unwrap();
    let state = control(&serve, "GET", "state", None);
    let apps = state["okta"]["serviceApps"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["clientId"], client_id);

    // A second run in text: nothing to change, the same app.
    let again = run(
        data,
        &["setup", "okta-app", "--plan", "--api-token-stdin"],
        &token,
    );
    assert!(again.status.success());
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("Nothing to change in Okta.") && text.contains(client_id),
        "{text}"
    );
    let tests = ok_json(data, &["connect", "test", "--okta", "--json"], "");
    assert_eq!(tests[0]["target"], "okta");
    assert_eq!(tests[0]["ok"], true, "{tests}");

    // The pasted token is nowhere in the data dir (store, logs, sandbox state).
    assert_eq!(files_containing(data, &token), Vec::<String>::new());
}
