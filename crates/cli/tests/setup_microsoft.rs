//! `okta365 setup microsoft-app` with the real binary, the data dir's sandbox served by a real
//! `okta365 sandbox serve`, the real OS keychain and a real data dir. The test plays the admin: it
//! reads the device code the command prints on stderr and approves (or declines) it through the
//! sandbox's control API, or follows the browser sign-in page to the command's loopback redirect.
//! Covered: a refusal without --yes on a non-terminal stdin, a declined code, Ctrl-C while waiting,
//! the plan as JSON (nothing written), a full run from a blank profile, Test connection afterwards,
//! a re-run with 0 changes, and no secret in the data dir.
//! Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use okta365_secrets::{CredentialKind, Keychain};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_okta365");
const ADMIN: &str = "admin@contoso-sandbox.onmicrosoft.com";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs okta365 to the end with stdin closed (not a terminal).
fn run(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .stdin(Stdio::null())
        .output()
        .expect("the okta365 binary runs")
}

fn parse_json(args: &[&str], out: &Output) -> Value {
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

    /// A control call on the served sandbox.
    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        runtime().block_on(async {
            let http = reqwest::Client::builder().no_proxy().build().unwrap();
            let url = format!("{}/_sandbox/{path}", self.base());
            let req = match method {
                "POST" => http.post(url).json(&body.unwrap_or(json!({}))),
                _ => http.get(url),
            };
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let text = resp.text().await.unwrap();
            assert!(status.is_success(), "{path}: {status} {text}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        })
    }

    fn pending_codes(&self) -> Vec<String> {
        self.control("GET", "entra/device-codes", None)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["userCode"].as_str().unwrap().to_owned())
            .collect()
    }

    fn graph_writes(&self) -> usize {
        self.control("GET", "entra/graph-writes", None)
            .as_array()
            .unwrap()
            .len()
    }

    fn apps_named(&self, name: &str) -> usize {
        let state = self.control("GET", "state", None);
        state["microsoft"]["apps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["displayName"] == name)
            .count()
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

/// A running `okta365 setup microsoft-app …`, its stderr read line by line as it comes.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Running {
    fn start(data_dir: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .env("OKTA365_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the okta365 binary runs");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// The text after `prefix` on the first stderr line holding it, while the command still runs.
    fn wait_for_line(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.stderr.push(line.clone());
                    if let Some(at) = line.find(prefix) {
                        return line[at + prefix.len()..].trim().to_owned();
                    }
                }
                Err(e) => panic!(
                    "no stderr line with {prefix:?} ({e}); stderr so far:\n{}",
                    self.stderr.join("\n")
                ),
            }
        }
    }

    /// Waits for the end; stderr is everything the command printed there.
    fn finish(self) -> Output {
        let Running {
            child,
            lines,
            mut stderr,
        } = self;
        let out = child.wait_with_output().unwrap();
        stderr.extend(lines.iter());
        Output {
            status: out.status,
            stdout: out.stdout,
            stderr: stderr.join("\n").into_bytes(),
        }
    }
}

/// Runs the command and, as the admin, decides on the device code it prints.
fn with_device_code(serve: &Serve, data_dir: &Path, args: &[&str], decision: &str) -> Output {
    let mut running = Running::start(data_dir, args);
    let code = running.wait_for_line("Code:");
    assert!(
        serve.pending_codes().contains(&code),
        "the code printed on stderr ({code}) is the sandbox's pending one"
    );
    let uri = running.wait_for_line("Open:");
    assert!(uri.starts_with("http"), "a verification URI: {uri}");
    serve.control(
        "POST",
        &format!("entra/device-codes/{code}"),
        Some(json!({ "user": ADMIN, "decision": decision })),
    );
    running.finish()
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
fn setup_microsoft_app_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    let add = ["profile", "add-sandbox", "Blank", "--blank", "--json"];
    let profile = parse_json(&add, &run(data, &add));
    assert!(
        profile["microsoft"].is_null(),
        "a blank profile has no Microsoft connection: {profile}"
    );
    let profile_id = profile["id"].as_str().unwrap().to_owned();
    serve.control(
        "POST",
        "entra/sign-in-settings",
        Some(json!({ "interval": 1 })),
    );

    // Without --yes and with stdin not a terminal: refused before anyone signs in.
    let refused = run(data, &["setup", "microsoft-app"]);
    assert_eq!(refused.status.code(), Some(1));
    let line = error_line(&refused);
    assert!(
        line.starts_with("error: ") && line.contains("--yes") && line.contains("--plan"),
        "{line}"
    );
    assert!(
        serve.pending_codes().is_empty(),
        "a refused run starts no sign-in"
    );

    // A declined code: a clear error, exit 1.
    let declined = with_device_code(
        &serve,
        data,
        &["setup", "microsoft-app", "--plan"],
        "decline",
    );
    assert_eq!(declined.status.code(), Some(1));
    let line = error_line(&declined);
    assert!(
        line.starts_with("error: ") && line.contains("declined"),
        "{line}"
    );

    // Ctrl-C while waiting cancels the sign-in.
    let mut waiting = Running::start(data, &["setup", "microsoft-app", "--plan"]);
    waiting.wait_for_line("Code:");
    waiting.wait_for_line("Waiting for the sign-in");
    let status = Command::new("kill")
        .args(["-INT", &waiting.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let interrupted = waiting.finish();
    assert_eq!(interrupted.status.code(), Some(1));
    assert!(
        error_line(&interrupted).contains("cancelled"),
        "{}",
        error_line(&interrupted)
    );

    // The plan, as JSON: nothing written.
    let args = ["setup", "microsoft-app", "--plan", "--json"];
    let plan = parse_json(&args, &with_device_code(&serve, data, &args, "approve"));
    assert_eq!(plan["app"], "create", "{plan}");
    assert_eq!(plan["servicePrincipal"], "create");
    assert_eq!(plan["credentialAction"], "create");
    assert_eq!(plan["credential"]["kind"], "secret");
    assert_eq!(plan["credential"]["lifetimeMonths"], 12);
    let permissions = plan["permissions"].as_array().unwrap();
    assert!(
        permissions
            .iter()
            .any(|p| p["value"] == "User.ReadWrite.All" && p["granted"] == false),
        "{plan}"
    );
    assert_eq!(
        plan["changes"],
        3 + permissions.len(),
        "app, credential, service principal and one grant per permission: {plan}"
    );
    assert_eq!(serve.graph_writes(), 0, "--plan writes nothing to Graph");
    assert_eq!(serve.apps_named("okta365"), 0);

    // The full run.
    let args = ["setup", "microsoft-app", "--yes", "--json"];
    let out = with_device_code(&serve, data, &args, "approve");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let result = parse_json(&args, &out);
    assert!(
        stderr.contains(&format!("Signed in as {ADMIN}")),
        "the admin is named on stderr:\n{stderr}"
    );
    assert_eq!(result["plan"]["changes"], 0, "{result}");
    let app_id = result["plan"]["appId"].as_str().unwrap().to_owned();
    assert_eq!(result["profile"]["microsoft"]["clientId"], app_id.as_str());
    assert_eq!(result["profile"]["microsoft"]["credentialKind"], "secret");
    let roles: Vec<&str> = result["tokenRoles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(roles.contains(&"User.ReadWrite.All"), "{roles:?}");
    assert_eq!(serve.apps_named("okta365"), 1);

    // Test connection with what was saved.
    let args = ["connect", "test", "--microsoft", "--json"];
    let tests = parse_json(&args, &run(data, &args));
    assert_eq!(tests[0]["target"], "microsoft");
    assert_eq!(tests[0]["ok"], true, "{tests}");

    // A re-run, in text: nothing to change, the same app, no write.
    let writes = serve.graph_writes();
    let again = with_device_code(
        &serve,
        data,
        &["setup", "microsoft-app", "--plan"],
        "approve",
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("Nothing to change in Microsoft Entra ID.")
            && text.contains(&app_id)
            && text.contains("granted  User.ReadWrite.All"),
        "{text}"
    );
    assert_eq!(serve.graph_writes(), writes, "a re-run writes nothing");
    assert_eq!(serve.apps_named("okta365"), 1, "not created twice");

    // The browser sign-in: the authorize URL on stderr, the sandbox's sign-in page, and the redirect
    // to the command's loopback listener.
    let args = ["setup", "microsoft-app", "--browser", "--plan", "--json"];
    let mut running = Running::start(data, &args);
    let authorize = running.wait_for_line("Open:");
    let tenant = result["profile"]["microsoft"]["tenant"].as_str().unwrap();
    assert!(
        authorize.starts_with(&format!("{}/{tenant}/oauth2/v2.0/authorize?", serve.base())),
        "the profile's tenant, now saved, is signed in to: {authorize}"
    );
    runtime().block_on(async {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let page = http.get(&authorize).send().await.unwrap();
        assert_eq!(page.status(), 200, "the sign-in page");
        let url = reqwest::Url::parse(&authorize).unwrap();
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let mut post = url.clone();
        post.set_query(None);
        form.push(("user".into(), ADMIN.into()));
        form.push(("decision".into(), "accept".into()));
        let landed = http.post(post).form(&form).send().await.unwrap();
        assert_eq!(landed.status(), 200, "the loopback redirect is answered");
    });
    let plan = parse_json(&args, &running.finish());
    assert_eq!(plan["changes"], 0, "{plan}");
    assert_eq!(plan["appId"], app_id.as_str());

    // The client secret is in the keychain and nowhere in the data dir (store, logs, sandbox state).
    let secret = runtime()
        .block_on(Keychain::for_build().get(&profile_id, CredentialKind::EntraClientSecret))
        .unwrap()
        .expect("the new client secret is in the OS keychain");
    assert_eq!(
        files_containing(data, secret.expose()),
        Vec::<String>::new()
    );
}
