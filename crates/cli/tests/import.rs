//! `okta365 import` end to end with the real binary, a real data dir, the real OS keychain and the data
//! dir's sandbox served by `okta365 sandbox serve`: a 100-row CSV previewed, mapped (suggested and
//! saved), planned, applied through the sandbox's identity-source sessions (rules scaled down), the
//! users read back from the Okta API; a second run finds nothing changed; list, rejects, schedule and
//! the refusals. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does.

mod common;

use std::io::Write;

use common::*;
use serde_json::{Value, json};

const SOURCE_ID: &str = "0oa5hrsrc0sandbox1d7";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_csv_of_100_users_is_imported_into_okta() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "Imports", "--json"]);
    let org = serve.info["okta_org_url"].as_str().unwrap().to_owned();

    let csv = data.join("people.csv");
    {
        let mut f = std::fs::File::create(&csv).unwrap();
        writeln!(f, "employee_id,first_name,last_name,email,status").unwrap();
        for n in 1..=100 {
            writeln!(
                f,
                "E{n:03},\"Lee, Ann{n}\",Park,ann.{n}@people.example.com,active"
            )
            .unwrap();
        }
    }
    let csv_path = csv.display().to_string();
    let saved = ok_json(
        data,
        &[
            "import",
            "mapping",
            "--source",
            "hr",
            "--csv",
            &csv_path,
            "--auto-map",
            "--json",
        ],
    );
    assert_eq!(saved["saved"], true);
    assert_eq!(saved["mapping"]["externalId"]["column"], "employee_id");
    assert_eq!(saved["preview"].as_array().unwrap().len(), 20);
    assert_eq!(saved["preview"][0]["profile"]["firstName"], "Lee, Ann1");
    // A sandbox profile imports into the demo identity source; without one the import says how to
    // set it.
    ok_json(
        data,
        &[
            "connect",
            "okta",
            "--org",
            &org,
            "--identity-source",
            "",
            "--json",
        ],
    );
    let out = run(data, &["import", "run", "--source", "hr", "--plan"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("okta365 connect okta --identity-source"),
        "{}",
        stderr(&out)
    );

    ok_json(
        data,
        &[
            "connect",
            "okta",
            "--org",
            &org,
            "--identity-source",
            SOURCE_ID,
            "--json",
        ],
    );
    serve.control(
        reqwest::Method::POST,
        "identity-sources/rules",
        Some(json!({ "minGapSecs": 2, "processingSecs": 1, "secsPer1000Users": 0 })),
    );

    let preview = ok_json(data, &["import", "preview", "--csv", &csv_path, "--json"]);
    assert_eq!(preview["columns"].as_array().unwrap().len(), 5);
    assert_eq!(preview["total"], 100);
    assert_eq!(preview["rows"].as_array().unwrap().len(), 20);

    let planned = ok_json(
        data,
        &["import", "run", "--source", "hr", "--plan", "--json"],
    );
    let plan = &planned["plan"];
    assert_eq!(plan["records"], 100, "{plan}");
    assert_eq!(plan["active"], 100);
    assert_eq!(
        (plan["sessions"].clone(), plan["bulkRequests"].clone()),
        (json!(1), json!(1))
    );

    // Applying needs --yes when stdin is not a terminal.
    let out = run(data, &["import", "run", "--source", "hr"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));

    let applied = ok_json(
        data,
        &["import", "run", "--source", "hr", "--yes", "--json"],
    );
    assert_eq!(applied["result"]["status"], "succeeded", "{applied}");
    let user = serve.okta(
        reqwest::Method::GET,
        "api/v1/users/ann.57@people.example.com",
        None,
    );
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(user["profile"]["lastName"], "Park");
    let stats = serve.control(
        reqwest::Method::GET,
        &format!("identity-sources/{SOURCE_ID}/stats"),
        None,
    );
    assert_eq!(stats["usersUpserted"], 100);
    assert_eq!(stats["bulkRequests"], 1);

    // Nothing changed: nothing is uploaded the second time.
    let again = ok_json(
        data,
        &["import", "run", "--source", "hr", "--yes", "--json"],
    );
    assert_eq!(again["plan"]["unchanged"], 100, "{again}");
    assert_eq!(again["result"], Value::Null);

    let list = ok_json(data, &["import", "list", "--json"]);
    let list = list.as_array().unwrap();
    let done: Vec<&Value> = list.iter().filter(|i| i["status"] == "succeeded").collect();
    assert_eq!(done.len(), 1, "{list:?}");
    assert_eq!(done[0]["upserted"], 100);
    let import_id = done[0]["importId"].as_str().unwrap();
    let rejects = run(data, &["import", "rejects", import_id, "--csv"]);
    assert!(rejects.status.success());
    assert_eq!(
        String::from_utf8_lossy(&rejects.stdout).trim(),
        "position,externalId,reason"
    );

    // The sandbox's HR system as an HTTP source: paged JSON, the records under /data, the next page
    // at /next.
    let hr_url = format!(
        "{}/hr/users?size=50",
        serve.info["control_url"]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
    );
    let mapped = ok_json(
        data,
        &[
            "import",
            "mapping",
            "--source",
            "hrapi",
            "--url",
            &hr_url,
            "--records",
            "/data",
            "--next",
            "/next",
            "--auto-map",
            "--json",
        ],
    );
    assert_eq!(mapped["mapping"]["externalId"]["column"], "id", "{mapped}");
    let hr = ok_json(
        data,
        &[
            "import",
            "run",
            "--source",
            "hrapi",
            "--yes",
            "--max-deactivations",
            "100",
            "--max-reject-percent",
            "100",
            "--json",
        ],
    );
    assert_eq!(hr["plan"]["records"], 100, "both pages read: {hr}");
    assert_eq!(hr["result"]["status"], "succeeded", "{hr}");
    let after = serve.control(
        reqwest::Method::GET,
        &format!("identity-sources/{SOURCE_ID}/stats"),
        None,
    );
    assert_eq!(
        after["usersUpserted"].as_u64().unwrap(),
        100 + hr["plan"]["active"].as_u64().unwrap()
    );

    let scheduled = ok_json(
        data,
        &[
            "import", "schedule", "--source", "hr", "--every", "60m", "--json",
        ],
    );
    assert_eq!(scheduled["everyMins"], 60);
    // `watch` runs the due import (never run: due at once): nothing changed, nothing uploaded.
    let out = run(data, &["watch", "--once", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rounds = json_lines(&out);
    let round = rounds.last().unwrap();
    assert_eq!(round["imports"][0]["sourceName"], "hr", "{round}");
    assert_eq!(round["imports"][0]["plan"]["unchanged"], 100, "{round}");
    assert_eq!(
        round["imports"][0]["applied"]["status"], "succeeded",
        "{round}"
    );
    assert!(
        stderr(&out).contains("import hr: succeeded"),
        "{}",
        stderr(&out)
    );
    let out = run(
        data,
        &["import", "schedule", "--source", "hr", "--every", "2m"],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("5 minutes"), "{}", stderr(&out));
    let out = run(data, &["import", "run", "--source", "nosuch", "--plan"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("No source named \"nosuch\""),
        "{}",
        stderr(&out)
    );
}

/// `okta365 ARGS` with `input` on standard input.
fn run_with_stdin(data: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every file under `dir`, read as bytes (for the secret scan).
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn an_http_source_behind_an_api_key_is_read_with_the_value_saved_in_the_keychain() {
    const KEY: &str = "hr-Ap1-k3y-5dd1f0e2";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    ok_json(data, &["profile", "add-sandbox", "Imports", "--json"]);
    serve.control(
        reqwest::Method::PUT,
        "hr/auth",
        Some(json!({ "header": "X-Api-Key", "value": KEY })),
    );
    let hr_url = format!(
        "{}/hr/users?size=50",
        serve.info["control_url"]
            .as_str()
            .unwrap()
            .trim_end_matches('/')
    );
    let source = ["--url", &hr_url, "--records", "/data", "--next", "/next"];

    // Without the header the source answers 401, and the message says what to check.
    let mut args = vec!["import", "preview"];
    args.extend(source);
    let out = run(data, &args);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("401") && stderr(&out).contains("auth header"),
        "{}",
        stderr(&out)
    );

    // The header named, no value saved yet: refused before any request, saying how to save one.
    let mut mapping = vec![
        "import",
        "mapping",
        "--source",
        "hrapi",
        "--auth-header",
        "X-Api-Key",
        "--auto-map",
    ];
    mapping.extend(source);
    let out = run(data, &mapping);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no value is saved"),
        "{}",
        stderr(&out)
    );

    // The value from standard input goes to the keychain; the mapping is suggested from the pages.
    let mut saving = mapping.clone();
    saving.extend(["--auth-value-stdin", "--json"]);
    let out = run_with_stdin(data, &saving, &format!("{KEY}\n"));
    assert!(out.status.success(), "{}", stderr(&out));
    let mapped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(mapped["mapping"]["externalId"]["column"], "id", "{mapped}");
    assert_eq!(mapped["source"]["authHeader"], "X-Api-Key", "{mapped}");
    assert!(
        mapped["preview"].as_array().is_some_and(|p| p.len() == 20),
        "the mapping preview read the source with the header: {mapped}"
    );
    let shown = run(data, &["import", "mapping", "--source", "hrapi"]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("its value is saved in the OS keychain"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );

    let plan = ok_json(
        data,
        &["import", "run", "--source", "hrapi", "--plan", "--json"],
    );
    assert_eq!(plan["plan"]["records"], 100, "both pages read: {plan}");
    let mut preview = vec![
        "import",
        "preview",
        "--source",
        "hrapi",
        "--auth-header",
        "X-Api-Key",
        "--json",
    ];
    preview.extend(source);
    let previewed = ok_json(data, &preview);
    assert!(
        previewed["columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "first_name"),
        "{previewed}"
    );

    // The value is nowhere in the data dir: not in SQLite, the logs, the plan or the spool.
    assert_eq!(files_holding(data, KEY), Vec::<std::path::PathBuf>::new());

    // A wrong value: the source's 401, naming the header to check.
    let mut wrong = vec![
        "import",
        "mapping",
        "--source",
        "hrapi",
        "--auth-value-stdin",
    ];
    wrong.extend(["--json"]);
    let out = run_with_stdin(data, &wrong, "not-the-key\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(data, &["import", "run", "--source", "hrapi", "--plan"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("401") && stderr(&out).contains("auth header"),
        "{}",
        stderr(&out)
    );

    // Forgotten: the run is refused with what to do.
    let out = run(
        data,
        &[
            "import",
            "mapping",
            "--source",
            "hrapi",
            "--forget-auth-value",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(data, &["import", "run", "--source", "hrapi", "--plan"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no value is saved"),
        "{}",
        stderr(&out)
    );

    // Removing the profile deletes a saved value with it.
    let out = run_with_stdin(
        data,
        &[
            "import",
            "mapping",
            "--source",
            "hrapi",
            "--auth-value-stdin",
        ],
        &format!("{KEY}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let profile = ok_json(data, &["profile", "show", "Imports", "--json"]);
    let profile_id = profile["id"].as_str().unwrap().to_owned();
    let out = run(data, &["profile", "remove", "Imports"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let left = rt.block_on(async {
        okta365_secrets::Keychain::for_build()
            .get_named(
                &profile_id,
                okta365_secrets::CredentialKind::ImportSourceSecret,
                "hrapi",
            )
            .await
            .unwrap()
    });
    assert!(left.is_none(), "the source's value went with the profile");
}
