//! `okta365 provisioning settings|preview-usernames` with the real binary, the data dir's sandbox
//! served by a real `okta365 sandbox serve`, the real OS keychain and a real data dir. Run inside a
//! D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

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
fn provisioning_settings_and_the_username_preview_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "CLI", "--json"]);

    let defaults = ok_json(data, &["provisioning", "settings", "--json"]);
    assert_eq!(
        defaults["username"],
        serde_json::json!({ "kind": "emailLocalPart", "domain": "contoso.example" }),
        "the default: the email's local part at the tenant's default verified domain"
    );
    assert_eq!(defaults["guardMaxUsers"], 10);
    assert_eq!(defaults["reconcileEveryMins"], Value::Null);

    let saved = ok_json(
        data,
        &[
            "provisioning",
            "settings",
            "--domain",
            "fabrikam.example",
            "--map",
            "employeeNumber=employeeId",
            "--unmap",
            "mobilePhone",
            "--guest-removal",
            "disableThenDelete",
            "--guard-users",
            "3",
            "--reconcile-every",
            "60",
            "--json",
            "--profile",
            "CLI",
        ],
    );
    assert_eq!(saved["username"]["domain"], "fabrikam.example");
    assert_eq!(saved["guestRemoval"], "disableThenDelete");
    assert_eq!(saved["guardMaxUsers"], 3);
    assert_eq!(saved["reconcileEveryMins"], 60);
    let graph: Vec<&str> = saved["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["graph"].as_str().unwrap())
        .collect();
    assert!(
        graph.contains(&"employeeId") && !graph.contains(&"mobilePhone"),
        "{graph:?}"
    );
    assert_eq!(
        ok_json(data, &["provisioning", "settings", "--json"]),
        saved,
        "a later command reads what was saved"
    );

    // Refusals: one error line saying what to fix, and nothing saved.
    let out = run(
        data,
        &[
            "provisioning",
            "settings",
            "--domain",
            "corp.example",
            "--json",
        ],
    );
    assert!(!out.status.success());
    let line = error_line(&out);
    assert!(
        line.contains("corp.example is not a verified domain") && line.contains("contoso.example"),
        "{line}"
    );
    let out = run(data, &["provisioning", "settings", "--poll-interval", "1"]);
    assert!(
        error_line(&out).contains("between 10 and 3600"),
        "{}",
        error_line(&out)
    );
    let out = run(
        data,
        &["provisioning", "settings", "--username-format", "upn"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a malformed option is a usage error"
    );
    assert_eq!(
        ok_json(data, &["provisioning", "settings", "--json"]),
        saved
    );

    // The preview of the saved format, then of another one given on the command line.
    let preview = ok_json(data, &["provisioning", "preview-usernames", "--json"]);
    let rows = preview["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 40);
    let finn = rows
        .iter()
        .find(|r| r["login"] == "finn.novak@corp.example")
        .unwrap();
    assert_eq!(finn["upn"], "finn.novak@fabrikam.example");
    assert_eq!(finn["verifiedDomain"], true);
    assert_eq!(finn["problem"], Value::Null);
    let preview = ok_json(
        data,
        &[
            "provisioning",
            "preview-usernames",
            "--username-format",
            "email",
            "--json",
        ],
    );
    assert!(
        preview["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["verifiedDomain"] == false
                && r["problem"].as_str().unwrap().contains("corp.example")),
        "corp.example is not verified"
    );
    assert_eq!(
        preview["domains"],
        serde_json::json!([
            "contoso.example",
            "contoso-sandbox.onmicrosoft.com",
            "fabrikam.example"
        ])
    );

    // Text output for a person.
    let out = run(data, &["provisioning", "preview-usernames"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("finn.novak@fabrikam.example") && text.contains("40 rows, 0 with a problem"),
        "{text}"
    );
}
