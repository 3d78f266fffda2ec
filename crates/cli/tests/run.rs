//! `okta365 run member-accounts` and `okta365 runs …` with the real binary, the data dir's sandbox
//! served by a real `okta365 sandbox serve`, the real OS keychain and a real data dir: the plan, the
//! refusal without a terminal or --yes, a real crash (SIGKILL of `okta365 run member-accounts --yes` at
//! a journal step) finished by `okta365 runs resume` or by the next `okta365 run`, nothing created twice
//! on the tenant, and the history commands. Run inside a D-Bus session with an unlocked gnome-keyring, as
//! `scripts/test` does. The pause points the crash test uses exist in debug builds only.

use std::{
    collections::HashMap,
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

/// `okta365 sandbox serve` for the data dir (its JSON line kept), stopped (SIGTERM) when dropped.
struct Serve {
    child: Child,
    info: Value,
}

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
            Ok(line) if !line.is_empty() => Serve {
                child,
                info: serde_json::from_str(&line).expect("serve prints one JSON line"),
            },
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        }
    }

    /// Every userPrincipalName on the sandbox tenant with its count.
    fn upns(&self) -> HashMap<String, usize> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(self.read_upns())
    }

    async fn read_upns(&self) -> HashMap<String, usize> {
        let text = |k: &str| self.info[k].as_str().unwrap().to_owned();
        let graph = text("graph_url");
        let login = text("entra_login_url");
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                login.trim_end_matches('/'),
                text("entra_tenant_id")
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", text("entra_client_id").as_str()),
                ("client_secret", text("entra_client_secret").as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_owned();
        let mut counts = HashMap::new();
        let mut next = Some(format!(
            "{}/v1.0/users?$top=999",
            graph.trim_end_matches('/')
        ));
        while let Some(url) = next {
            let page: Value = http
                .get(url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            for u in page["value"].as_array().cloned().unwrap_or_default() {
                if let Some(upn) = u["userPrincipalName"].as_str() {
                    *counts.entry(upn.to_ascii_lowercase()).or_default() += 1;
                }
            }
            next = page["@odata.nextLink"].as_str().map(str::to_owned);
        }
        counts
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

/// Starts `okta365 run member-accounts --yes` with a pause at a journal step and SIGKILLs it there.
fn run_and_kill(data_dir: &Path, extra: &[&str], pause_var: &str, step: u32) {
    let mut child = Command::new(BIN)
        .args(["run", "member-accounts", "--yes"])
        .args(extra)
        .env("OKTA365_DATA_DIR", data_dir)
        .env(pause_var, step.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("okta365 run starts");
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
    child.kill().expect("SIGKILL the run");
    child.wait().unwrap();
    match got {
        Ok(Ok(line)) => assert!(line.contains(&format!("paused at step {step}")), "{line}"),
        Ok(Err(stderr)) => panic!("the run ended before step {step}: {stderr}"),
        Err(e) => panic!("the run never reached step {step}: {e}"),
    }
}

fn creates(plan: &Value) -> Vec<(String, String)> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "createUser")
        .map(|c| {
            (
                c["oktaUserId"].as_str().unwrap().to_owned(),
                c["target"].as_str().unwrap().to_ascii_lowercase(),
            )
        })
        .collect()
}

#[test]
fn member_accounts_from_the_command_line_survive_a_kill_at_each_kind_of_journal_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "CLI", "--json"]);
    let upns_before = serve.upns();

    // The plan: shown and stored, nothing written.
    let planned = ok_json(data, &["run", "member-accounts", "--plan", "--json"]);
    let plan = &planned["plan"];
    let all_creates = creates(plan);
    assert!(all_creates.len() > 21, "two batches of creates to make");
    assert_eq!(serve.upns(), upns_before, "--plan writes nothing");

    // Applying needs a terminal or --yes.
    let refused = run(data, &["run", "member-accounts"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a terminal"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // 1. Killed after the write of one user's create answered, resumed with `runs resume`.
    let (first_user, first_upn) = all_creates[0].clone();
    run_and_kill(
        data,
        &["--user", &first_user],
        "OKTA365_TEST_PAUSE_AFTER_STEP",
        1,
    );
    assert_eq!(
        serve.upns().get(&first_upn),
        Some(&1),
        "the write was made before the kill"
    );
    let resumed = ok_json(data, &["runs", "resume", "--json"]);
    assert_eq!(resumed.as_array().unwrap().len(), 1, "{resumed}");
    assert_eq!(resumed[0]["status"], "succeeded");
    let run_id = resumed[0]["runId"].as_str().unwrap().to_owned();
    let shown = ok_json(data, &["runs", "show", &run_id, "--json"]);
    assert_eq!(
        shown["steps"][0]["status"], "superseded",
        "the account found on the tenant is not created again: {shown}"
    );
    assert_eq!(serve.upns().get(&first_upn), Some(&1));

    // 2. Killed after step 1 was journaled but before its write, resumed by the next `okta365 run`.
    let (second_user, second_upn) = all_creates[1].clone();
    run_and_kill(
        data,
        &["--user", &second_user],
        "OKTA365_TEST_PAUSE_BEFORE_STEP",
        1,
    );
    assert_eq!(
        serve.upns().get(&second_upn),
        None,
        "the write was not sent before the kill"
    );

    // 3. The next `okta365 run` (here with --plan) resumes that run first: its write is sent once.
    let replanned = ok_json(data, &["run", "member-accounts", "--plan", "--json"]);
    assert_eq!(
        replanned["resumed"].as_array().unwrap().len(),
        1,
        "{:?}",
        replanned["resumed"]
    );
    assert_eq!(replanned["resumed"][0]["status"], "succeeded");
    assert_eq!(
        serve.upns().get(&second_upn),
        Some(&1),
        "the run killed before its write was resumed by the next run and wrote it once"
    );

    // 4. The rest of the members, killed after the first batch answered; the next run resumes it.
    let seq = replanned["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "createUser")
        .map(|c| c["seq"].as_u64().unwrap() as u32)
        .unwrap();
    run_and_kill(data, &[], "OKTA365_TEST_PAUSE_AFTER_STEP", seq);
    let next = ok_json(data, &["run", "member-accounts", "--yes", "--json"]);
    let resumed = next["resumed"].as_array().unwrap();
    assert_eq!(
        resumed.len(),
        1,
        "the killed run is resumed: {:?}",
        next["resumed"]
    );
    assert_eq!(resumed[0]["status"], "succeeded", "{resumed:?}");
    assert!(
        resumed[0]["changes"].as_u64().unwrap() > 20,
        "it was the run of the remaining members"
    );
    assert!(
        next["plan"]["changes"].as_array().unwrap().is_empty(),
        "after the resumes nothing is left to do: {:?}",
        next["plan"]["changes"].as_array().map(|c| c.len())
    );

    // The tenant: every planned account exactly once, nothing lost.
    let after = serve.upns();
    for (_, upn) in &all_creates {
        assert_eq!(after.get(upn), Some(&1), "{upn} exists exactly once");
    }
    assert_eq!(
        after.values().sum::<usize>(),
        upns_before.values().sum::<usize>() + all_creates.len()
    );

    // The history.
    let runs = ok_json(data, &["runs", "list", "--json"]);
    let statuses: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.iter().filter(|s| **s == "succeeded").count() >= 3,
        "{statuses:?}"
    );
    let csv = run(data, &["runs", "export", &run_id, "--format", "csv"]);
    assert!(csv.status.success());
    let csv = String::from_utf8_lossy(&csv.stdout);
    assert!(csv.starts_with("runId,operation,seq,"), "{csv}");
    assert!(
        !csv.to_lowercase().contains("\"password\""),
        "no password in an export"
    );
    let filtered = ok_json(
        data,
        &[
            "runs",
            "list",
            "--status",
            "succeeded",
            "--user",
            &first_user,
            "--json",
        ],
    );
    assert!(
        filtered
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["runId"] == run_id.as_str()),
        "{filtered}"
    );
    // No initial password anywhere okta365 writes: the database (with its WAL) and the logs.
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(data.join("logs"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    for name in ["okta365.sqlite3", "okta365.sqlite3-wal"] {
        files.push(data.join(name));
    }
    for file in files.iter().filter(|f| f.is_file()) {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("\"password\":\""),
            "{} holds a password value",
            file.display()
        );
    }
    assert!(
        data.join("okta365.sqlite3").is_file(),
        "the database is where the check looked"
    );

    ok_json(data, &["runs", "delete", &run_id, "--json"]);
    let gone = run(data, &["runs", "show", &run_id]);
    assert_eq!(gone.status.code(), Some(1));
    let bad = run(data, &["runs", "list", "--status", "finished"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a run status"));
}

/// One Okta API call as the sandbox's admin (the token `sandbox serve` printed).
fn okta(serve: &Serve, method: reqwest::Method, path: &str) -> Value {
    let base = serve.info["okta_org_url"].as_str().unwrap().to_owned();
    let token = serve.info["okta_api_token"].as_str().unwrap().to_owned();
    let path = path.to_owned();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let resp = reqwest::Client::new()
                .request(
                    method,
                    format!(
                        "{}/{}",
                        base.trim_end_matches('/'),
                        path.trim_start_matches('/')
                    ),
                )
                .header("authorization", format!("SSWS {token}"))
                .header("accept", "application/json")
                .header("content-length", "0")
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json::<Value>().await.unwrap_or(Value::Null)
        })
}

#[test]
fn a_guests_run_that_removes_accounts_stops_at_the_guard_until_confirmed_with_the_right_count() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "CLI", "--json"]);

    // Every member of the guests group gets a guest account (nothing destructive, no guard).
    let first = ok_json(data, &["run", "guests", "--yes", "--json"]);
    assert_eq!(
        first["result"]["status"], "succeeded",
        "{}",
        first["result"]
    );
    assert!(first["plan"]["guard"].is_null());
    let invited = first["plan"]["changes"].as_array().unwrap().len();
    assert!(invited >= 2, "the seeded guests group has members");

    // One member leaves the group: removing their guest account is 1 of the remaining members, over
    // the default 5 %.
    let groups = okta(&serve, reqwest::Method::GET, "api/v1/groups?q=O365Guest");
    let gid = groups[0]["id"].as_str().unwrap().to_owned();
    let leaver = first["plan"]["changes"][0]["oktaUserId"]
        .as_str()
        .unwrap()
        .to_owned();
    okta(
        &serve,
        reqwest::Method::DELETE,
        &format!("api/v1/groups/{gid}/users/{leaver}"),
    );
    let before = serve.upns();

    let stopped = run(data, &["run", "guests", "--yes"]);
    assert_eq!(stopped.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stopped.stderr);
    assert!(
        stderr.contains("--confirm-destructive 1"),
        "the guard says how to confirm: {stderr}"
    );
    let wrong = run(
        data,
        &["run", "guests", "--yes", "--confirm-destructive", "2"],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("does not match"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert_eq!(
        serve.upns(),
        before,
        "nothing removed while the guard stops"
    );

    let confirmed = ok_json(
        data,
        &[
            "run",
            "guests",
            "--yes",
            "--confirm-destructive",
            "1",
            "--json",
        ],
    );
    assert_eq!(confirmed["plan"]["guard"]["destructive"], 1);
    assert_eq!(
        confirmed["result"]["status"], "succeeded",
        "{}",
        confirmed["result"]
    );
    assert_eq!(
        serve.upns().values().sum::<usize>(),
        before.values().sum::<usize>() - 1,
        "the leaver's guest account is removed"
    );
    let discarded = ok_json(data, &["runs", "list", "--status", "discarded", "--json"]);
    assert_eq!(
        discarded.as_array().unwrap().len(),
        2,
        "the refused plans stay in the history as discarded"
    );
}
