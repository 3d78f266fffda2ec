//! `okta365 watch` and `okta365 test-run` with the real binary, the data dir's sandbox served by a real
//! `okta365 sandbox serve`, the real OS keychain and a real data dir. Run inside a D-Bus session with
//! an unlocked gnome-keyring, as `scripts/test` does.

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

fn ok(data_dir: &Path, args: &[&str]) -> Output {
    let out = run(data_dir, args);
    assert!(
        out.status.success(),
        "okta365 {args:?} should succeed; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON lines a command printed on stdout.
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a JSON line ({e}): {l}")))
        .collect()
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
fn watch_once_polls_and_test_run_creates_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let _serve = Serve::start(data);
    ok(data, &["profile", "add-sandbox", "Watch", "--json"]);

    // The first round saves a cursor at now and replays nothing.
    let first = ok(data, &["watch", "--once", "--json", "--profile", "Watch"]);
    let rounds = json_lines(&first);
    assert_eq!(rounds.len(), 1, "one round");
    assert_eq!(rounds[0]["events"], 0);
    assert!(
        rounds[0]["cursor"]
            .as_str()
            .unwrap()
            .contains("/api/v1/logs")
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("round 1: 0 events, no runs"), "{stderr}");

    // A throwaway user: created in Okta, its account created by the test run and read back.
    let test = ok(
        data,
        &[
            "test-run",
            "member-accounts",
            "--create-test-user",
            "--json",
        ],
    );
    let result: Value = serde_json::from_slice(&test.stdout).unwrap();
    assert_eq!(result["run"]["trigger"], "testRun");
    assert_eq!(result["run"]["status"], "succeeded", "{result}");
    assert!(
        result["readBack"]["userPrincipalName"]
            .as_str()
            .unwrap()
            .starts_with("okta365-test-1@")
    );
    let created = result["createdTestUser"].as_str().unwrap().to_owned();

    // The next round reads the test user's membership event; the account exists, so no run.
    let second = ok(data, &["watch", "--once", "--json"]);
    let rounds = json_lines(&second);
    assert!(rounds[0]["events"].as_u64().unwrap() >= 1, "{rounds:?}");
    assert_eq!(
        rounds[0]["runs"],
        Value::Array(Vec::new()),
        "nothing is created twice"
    );

    // --cleanup removes the throwaway user and its account again.
    let cleaned = ok(
        data,
        &[
            "test-run",
            "member-accounts",
            "--create-test-user",
            "--cleanup",
            "--json",
        ],
    );
    let result: Value = serde_json::from_slice(&cleaned.stdout).unwrap();
    assert_eq!(result["cleanedUp"], true);
    assert_ne!(result["createdTestUser"].as_str().unwrap(), created);
    let runs: Value = serde_json::from_slice(&ok(data, &["runs", "list", "--json"]).stdout)
        .unwrap_or(Value::Null);
    if let Some(runs) = runs.as_array() {
        assert!(
            runs.iter().filter(|r| r["trigger"] == "testRun").count() >= 3,
            "two test runs and the journaled cleanup: {runs:?}"
        );
    }

    // A real user is never cleaned up; --cleanup needs --create-test-user.
    let refused = run(
        data,
        &[
            "test-run",
            "member-accounts",
            "--user",
            "x@y.z",
            "--cleanup",
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--cleanup removes only a throwaway test user"),
        "{stderr}"
    );

    // Without --once: rounds until SIGTERM, which stops it cleanly between rounds.
    let mut child = Command::new(BIN)
        .args(["watch"])
        .env("OKTA365_DATA_DIR", data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        let round = line.starts_with("round 1:");
        lines.push(line);
        if round {
            break;
        }
    }
    assert!(
        lines.iter().any(|l| l.starts_with("round 1:")),
        "a first round: {lines:?}"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    assert!(status.success(), "a clean stop: {status:?} {lines:?}");
    assert!(lines.iter().any(|l| l == "Stopped watching."), "{lines:?}");
}
