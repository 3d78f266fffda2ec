//! `okta365 connect` and `okta365 credentials` with the real binary, a real `okta365 sandbox serve`, the
//! real OS keychain and a real data dir; the sandbox's control endpoints play the tenant admin (new
//! secrets, service apps, removed roles and scopes). Ends with a scan of the data dir and the log files
//! for every secret value used. Run inside a D-Bus session with an unlocked gnome-keyring, as
//! `scripts/test` does.

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use okta365_secrets::{CredentialKind, Keychain};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_okta365");
const DEMO_APP: &str = "7c1e4b52-93d8-4f0a-b6e1-2d5a9c83f417";
const EXPIRED_APP: &str = "0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95";
const EXPIRED_SECRET: &str = "xpr8Q~SandboxExpiredSecret.okta365.demo0";
const WRONG_SECRET: &str = "wrg8Q~ThisIsNotTheSecretOfTheDemoApp.0123";
const PFX_PASSWORD: &str = "pfx-Pass-7731";

/// Runs okta365 with `stdin` piped in, logging at debug level (so the scan at the end has the most
/// log lines to look through).
fn run(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("OKTA365_DATA_DIR", data_dir)
        .env("OKTA365_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the okta365 binary runs");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// The last line on stderr (log lines at debug level come before it), with its line break.
fn error_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    format!("{}\n", stderr.lines().last().unwrap_or_default())
}

fn ok_json(data_dir: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let out = run(data_dir, args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "okta365 {args:?} should succeed; stderr:\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "okta365 {args:?} prints JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `connect test … --json`: the tests printed and whether the command exited 0 (it exits 1, with one
/// error line, when a check failed).
fn connect_test(data_dir: &Path, extra: &[&str]) -> (Vec<Value>, bool) {
    let mut args = vec!["connect", "test", "--json"];
    args.extend_from_slice(extra);
    let out = run(data_dir, &args, None);
    let tests: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "connect test prints JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let passed = out.status.success();
    if passed {
        assert!(!String::from_utf8_lossy(&out.stderr).contains("error:"));
    } else {
        assert_eq!(out.status.code(), Some(1), "a failed check exits with 1");
        assert_eq!(
            error_line(&out),
            "error: A connection check failed; its fix is shown with it above.\n"
        );
    }
    (tests, passed)
}

fn step<'a>(test: &'a Value, id: &str) -> &'a Value {
    test["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("a step {id} in {test:#}"))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

struct Serve {
    child: Child,
    line: Value,
}

impl Serve {
    fn start(data_dir: &Path) -> Serve {
        let mut child = Command::new(BIN)
            .args(["sandbox", "serve"])
            .env("OKTA365_DATA_DIR", data_dir)
            .env("OKTA365_LOG", "debug")
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
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if !line.is_empty() => line,
            other => {
                let _ = child.kill();
                panic!("sandbox serve printed no line within 60 s: {other:?}");
            }
        };
        Serve {
            child,
            line: serde_json::from_str(&line).unwrap(),
        }
    }

    fn get(&self, key: &str) -> String {
        text(&self.line[key]).to_owned()
    }

    /// A control call as the tenant admin.
    fn control(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.get("control_url"));
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let response = reqwest::Client::new()
                .request(method.parse().unwrap(), url)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            assert!(status.is_success(), "{method} {path}: {status} {body}");
            serde_json::from_str(&body).unwrap_or(Value::Null)
        })
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

fn keychain_get(profile_id: &str, kind: CredentialKind) -> Option<String> {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Keychain::for_build().get(profile_id, kind))
        .expect("the keychain answers")
        .map(|s| s.expose().to_owned())
}

/// A self-signed certificate (PEM, public part only) and a PFX of it with its key, made by openssl.
fn certificate(dir: &Path) -> (String, PathBuf) {
    let (key, cert, pfx) = (
        dir.join("key.pem"),
        dir.join("cert.pem"),
        dir.join("cert.pfx"),
    );
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "200",
        ])
        .args(["-subj", "/CN=okta365 cli test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl makes a certificate");
    let made = Command::new("openssl")
        .args(["pkcs12", "-export", "-passout"])
        .arg(format!("pass:{PFX_PASSWORD}"))
        .arg("-inkey")
        .arg(&key)
        .arg("-in")
        .arg(&cert)
        .arg("-out")
        .arg(&pfx)
        .output()
        .unwrap();
    assert!(made.status.success(), "openssl makes a PFX");
    std::fs::remove_file(&key).unwrap();
    (std::fs::read_to_string(&cert).unwrap(), pfx)
}

/// The base64 lines of the second half of a PEM private key's body: they encode the private
/// exponent and primes (the first lines hold the public modulus, which a certificate or JWK shows too).
fn private_lines(pem: &str) -> Vec<String> {
    let body: Vec<&str> = pem
        .lines()
        .skip_while(|l| !l.contains("PRIVATE KEY-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----"))
        .collect();
    assert!(body.len() > 10, "a PEM private key body: {}", body.len());
    body[body.len() / 2..body.len() - 1]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn connect_both_tenants_test_them_and_leave_no_secret_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let serve = Serve::start(data);
    let org = serve.get("okta_org_url");
    let tenant = serve.get("entra_tenant_id");
    let profile = ok_json(data, &["profile", "add-sandbox", "Demo", "--json"], None);
    let profile_id = text(&profile["id"]).to_owned();
    let demo_token = keychain_get(&profile_id, CredentialKind::OktaApiToken).unwrap();
    let mut secrets_used = vec![
        demo_token.clone(),
        WRONG_SECRET.to_owned(),
        EXPIRED_SECRET.to_owned(),
        PFX_PASSWORD.to_owned(),
        serve.get("entra_client_secret"),
        serve.get("okta_api_token"),
    ];

    // Microsoft: a new client secret made by the admin, given on stdin.
    let minted = serve.control(
        "POST",
        &format!("entra/apps/{DEMO_APP}/secrets"),
        json!({ "displayName": "okta365 cli" }),
    );
    let secret = text(&minted["secretText"]).to_owned();
    secrets_used.push(secret.clone());
    let saved = ok_json(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            DEMO_APP,
            "--secret-stdin",
            "--json",
        ],
        Some(&format!("{secret}\n")),
    );
    assert_eq!(saved["microsoft"]["credentialKind"], "secret");
    assert_eq!(
        keychain_get(&profile_id, CredentialKind::EntraClientSecret).as_deref(),
        Some(secret.as_str()),
        "the trailing line break is not part of the secret"
    );

    // Okta: a key pair made by okta365, registered by the admin on a DPoP-bound service app.
    let generated = ok_json(
        data,
        &["connect", "okta", "--org", &org, "--generate-key", "--json"],
        None,
    );
    assert_eq!(generated["profile"], Value::Null, "only the key was made");
    let jwk: Value = serde_json::from_str(text(&generated["generatedKey"]["publicJwk"])).unwrap();
    assert!(jwk.get("d").is_none(), "the public JWK has no private part");
    let private_key = keychain_get(&profile_id, CredentialKind::OktaPrivateKey).unwrap();
    secrets_used.extend(private_lines(&private_key));
    let app = serve.control(
        "POST",
        "okta/service-apps",
        json!({
            "name": "okta365 cli",
            "jwks": { "keys": [jwk] },
            "scopes": ["okta.groups.read", "okta.users.read", "okta.logs.read"],
            "adminRoles": ["SUPER_ADMIN"],
            "dpopBound": true,
        }),
    );
    let client_id = text(&app["clientId"]).to_owned();
    let saved = ok_json(
        data,
        &[
            "connect",
            "okta",
            "--org",
            &org,
            "--client-id",
            &client_id,
            "--json",
        ],
        None,
    );
    assert_eq!(saved["profile"]["okta"]["auth"], "serviceApp");
    assert_eq!(saved["profile"]["okta"]["clientId"], client_id.as_str());

    // All ✓.
    let (tests, passed) = connect_test(data, &[]);
    assert!(passed, "{tests:#?}");
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0]["target"], "microsoft");
    assert_eq!(tests[1]["target"], "okta");
    for test in &tests {
        assert_eq!(test["ok"], true);
        for s in test["steps"].as_array().unwrap() {
            assert_eq!(s["status"], "ok", "{s:#}");
        }
    }
    assert!(text(&step(&tests[1], "token")["detail"]).contains("DPoP"));

    // A wrong secret: AADSTS7000215, and the rest skipped.
    ok_json(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            DEMO_APP,
            "--secret-stdin",
            "--json",
        ],
        Some(WRONG_SECRET),
    );
    let (tests, passed) = connect_test(data, &["--microsoft"]);
    assert!(!passed);
    assert_eq!(tests.len(), 1, "--microsoft tests only Microsoft");
    let token = step(&tests[0], "token");
    assert_eq!(token["status"], "failed");
    assert!(
        text(&token["detail"]).contains("AADSTS7000215"),
        "{token:#}"
    );
    assert_eq!(step(&tests[0], "tenant")["status"], "skipped");

    // A removed role: ✗ on the operation needing it, with its fix.
    ok_json(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            DEMO_APP,
            "--secret-stdin",
            "--json",
        ],
        Some(&secret),
    );
    serve.control(
        "PUT",
        &format!("apps/{DEMO_APP}/roles"),
        json!({ "roles": ["User.ReadWrite.All", "Organization.Read.All", "Mail.Send", "LicenseAssignment.ReadWrite.All", "Application.Read.All"] }),
    );
    let (tests, passed) = connect_test(data, &["--microsoft"]);
    assert!(!passed);
    let guests = step(&tests[0], "permissions:guests");
    assert_eq!(guests["status"], "failed");
    assert_eq!(
        text(&guests["fix"]),
        "API permissions → Add a permission → Microsoft Graph → Application permissions → User.Invite.All → Grant admin consent."
    );
    assert_eq!(step(&tests[0], "permissions:licenses")["status"], "ok");

    // A removed scope: ✗ with the two usual causes.
    serve.control(
        "PATCH",
        &format!("okta/service-apps/{client_id}"),
        json!({ "scopes": ["okta.groups.read", "okta.users.read"] }),
    );
    let (tests, passed) = connect_test(data, &["--okta"]);
    assert!(!passed);
    let logs = step(&tests[0], "scope:okta.logs.read");
    assert_eq!(logs["status"], "failed");
    let fix = text(&logs["fix"]);
    assert!(
        fix.contains("Okta API Scopes") && fix.contains("Admin roles tab"),
        "{fix}"
    );
    assert_eq!(step(&tests[0], "scope:okta.users.read")["status"], "ok");

    // An expired secret, with the end date the admin entered.
    ok_json(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            EXPIRED_APP,
            "--secret-stdin",
            "--secret-expires",
            "2024-06-30",
            "--json",
        ],
        Some(EXPIRED_SECRET),
    );
    let (tests, passed) = connect_test(data, &["--microsoft"]);
    assert!(!passed);
    let detail = text(&step(&tests[0], "token")["detail"]).to_owned();
    assert!(
        detail.contains("AADSTS7000222") && detail.contains("2024-06-30"),
        "{detail}"
    );

    // A certificate from a PFX whose password comes on stdin.
    let certs = tempfile::tempdir().unwrap();
    let (cert_pem, pfx) = certificate(certs.path());
    serve.control(
        "POST",
        &format!("entra/apps/{DEMO_APP}/certificates"),
        json!({ "certificatePem": cert_pem }),
    );
    let saved = ok_json(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            DEMO_APP,
            "--certificate",
            pfx.to_str().unwrap(),
            "--pfx-password-stdin",
            "--json",
        ],
        Some(PFX_PASSWORD),
    );
    assert_eq!(saved["microsoft"]["credentialKind"], "certificate");
    let stored_cert = keychain_get(&profile_id, CredentialKind::EntraClientCertificate).unwrap();
    secrets_used.extend(private_lines(
        &stored_cert[stored_cert.find("-----BEGIN PRIVATE KEY-----").unwrap()..],
    ));
    serve.control(
        "PUT",
        &format!("apps/{DEMO_APP}/roles"),
        json!({ "roles": ["User.ReadWrite.All", "User.Invite.All", "Organization.Read.All", "Mail.Send", "LicenseAssignment.ReadWrite.All", "Application.Read.All"] }),
    );
    let (tests, passed) = connect_test(data, &["--microsoft"]);
    assert!(passed, "{tests:#?}");

    // Credentials: listed without values, expiry entered, one deleted.
    let list = ok_json(data, &["credentials", "list", "--json"], None);
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| text(&c["kind"]))
        .collect();
    assert_eq!(kinds, ["entra.client_certificate", "okta.private_key"]);
    let cert = &list[0];
    assert!(cert["daysLeft"].as_i64().unwrap() >= 198, "{cert:#}");
    assert!(cert["lastUsedAt"].is_string(), "the test used it");
    let info = ok_json(
        data,
        &[
            "credentials",
            "set-expiry",
            "okta.private_key",
            "2030-01-01",
            "--json",
        ],
        None,
    );
    assert_eq!(info[0]["expiresAt"], "2030-01-01T00:00:00Z");
    let out = run(data, &["credentials", "delete", "okta.api_token"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        error_line(&out),
        "error: No Okta API token is stored for profile \"Demo\".\n"
    );
    let out = run(data, &["credentials", "delete", "okta.password"], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown kind is a malformed command line"
    );
    ok_json(
        data,
        &["credentials", "delete", "okta.private_key", "--json"],
        None,
    );
    assert_eq!(
        keychain_get(&profile_id, CredentialKind::OktaPrivateKey),
        None
    );
    let profile = ok_json(data, &["profile", "show", "Demo", "--json"], None);
    assert_eq!(
        profile["okta"]["auth"],
        Value::Null,
        "the deleted key was in use"
    );

    // Secrets only from stdin or files: there is no flag that takes one.
    let out = run(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            &tenant,
            "--client-id",
            DEMO_APP,
            "--secret",
            "x",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));

    // The data dir and the logs hold none of the secret values used.
    drop(serve);
    let all = files(data);
    assert!(
        all.iter()
            .any(|p| p.to_string_lossy().contains("okta365.log")),
        "the scan covers the log files: {all:?}"
    );
    for file in &all {
        let bytes = std::fs::read(file).unwrap();
        for value in &secrets_used {
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "{} holds a secret value ({}…)",
                file.display(),
                &value[..4]
            );
        }
    }
}

#[test]
fn connect_needs_a_profile_and_valid_values() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let out = run(data, &["connect", "test"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        error_line(&out).starts_with("error: No profile is active."),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = ok_json(data, &["profile", "add-tenant", "Contoso", "--json"], None);
    assert_eq!(profile["kind"], "tenant");
    assert_eq!(profile["graphUrl"], "https://graph.microsoft.com");

    let out = run(data, &["connect", "test"], None);
    assert_eq!(
        error_line(&out),
        "error: Profile \"Contoso\" has no connection to test yet. Save one with `okta365 connect microsoft` or `okta365 connect okta`.\n"
    );
    let out = run(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            "contoso",
            "--client-id",
            DEMO_APP,
            "--secret-stdin",
        ],
        Some("abc8Q~Zx4yW1vU2tS3rQ4pO5nM6lK7jI8hG9fE0d"),
    );
    assert_eq!(
        error_line(&out),
        "error: \"contoso\" is neither a tenant ID nor a domain. Did you mean contoso.onmicrosoft.com?\n"
    );
    let out = run(
        data,
        &[
            "connect",
            "microsoft",
            "--tenant",
            "contoso.onmicrosoft.com",
            "--client-id",
            DEMO_APP,
            "--secret-stdin",
        ],
        Some(""),
    );
    assert!(
        error_line(&out).contains("No client secret was given on stdin"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ops = ok_json(
        data,
        &["connect", "operations", "licenses", "imports", "--json"],
        None,
    );
    assert_eq!(ops["operations"], json!(["licenses", "imports"]));
    let out = run(
        data,
        &[
            "connect",
            "okta",
            "--org",
            "https://acme-admin.okta.com",
            "--api-token-stdin",
            "--json",
        ],
        Some("00abcdefghijABCDEFGHIJ0123456789klmnopqrst"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(saved["profile"]["okta"]["orgUrl"], "https://acme.okta.com");
    let list = ok_json(
        data,
        &["credentials", "list", "--profile", "Contoso", "--json"],
        None,
    );
    assert_eq!(list[0]["kind"], "okta.api_token");
    ok_json(data, &["profile", "remove", "Contoso", "--json"], None);
}
