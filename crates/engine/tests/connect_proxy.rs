//! Calls to the loopback sandbox never go through a proxy; calls to real tenants honour the system
//! proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`).
//!
//! The proxy variables must not leak into other tests, and `reqwest` reads them when a client is
//! built, so the test runs its body in a child process of this test binary with the variables set
//! (pointing at a recording "proxy" that answers nothing), while this process records what reached
//! the proxy. Run inside a D-Bus session with an unlocked gnome-keyring, as `scripts/test` does: the
//! child saves credentials in the OS keychain.

use std::{
    io::{BufRead, BufReader},
    net::{TcpListener, TcpStream},
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use okta365_engine::{
    CheckStatus, ConnectionTest, CreateSandboxProfileRequest, Engine, MicrosoftCredentialInput,
    OktaAuthInput, Paths, SaveMicrosoftRequest, SaveOktaRequest,
};
use okta365_sandbox::{Sandbox, SandboxConfig, Seed, StateLocation};
use okta365_secrets::Secret;

/// Set in the child process: run the body instead of spawning.
const CHILD: &str = "OKTA365_TEST_PROXY_CHILD";
/// The sandbox base URL the control request of the child went to, reported on stdout.
const CONTROL_MARK: &str = "control-request-to ";
const TEST_NAME: &str = "loopback_calls_skip_the_proxy_and_real_tenants_use_it";

#[test]
fn loopback_calls_skip_the_proxy_and_real_tenants_use_it() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }

    // A "proxy" that records the request line of each connection, then hangs up without answering:
    // anything sent through it fails.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in proxy.incoming().flatten() {
                seen.lock().unwrap().push(request_line(stream));
            }
        });
    }

    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env(name, &proxy_url);
    }
    let output = child
        .output()
        .expect("the test binary runs again as a child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the child (with every proxy variable set to {proxy_url}) should pass:\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    println!(
        "child with the proxy variables set passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for line in stdout.lines().filter(|l| l.contains("through the proxy")) {
        println!("{line}");
    }

    let control = stdout
        .lines()
        // libtest may print "test <name> ... " before the line.
        .find_map(|l| l.split_once(CONTROL_MARK).map(|(_, url)| url))
        .unwrap_or_else(|| panic!("the child reports its control request:\n{stdout}"))
        .trim()
        .trim_end_matches('/')
        .to_owned();
    let seen = seen.lock().unwrap().clone();
    let through_proxy_to_sandbox: Vec<&String> =
        seen.iter().filter(|line| line.contains(&control)).collect();
    assert_eq!(
        through_proxy_to_sandbox,
        vec![&format!("GET {control}/_sandbox/health HTTP/1.1")],
        "only the child's control request (a plain reqwest client) reached the proxy on its way to the \
         sandbox; the engine's own calls to it went direct. Seen by the proxy: {seen:#?}"
    );
    for tenant in ["login.microsoftonline.com:443", "acme.okta.com:443"] {
        assert!(
            seen.iter()
                .any(|line| line == &format!("CONNECT {tenant} HTTP/1.1")),
            "the engine asked the system proxy for a tunnel to {tenant}; seen by the proxy: {seen:#?}"
        );
    }
}

/// The first line of what a client sent, or what went wrong reading it.
fn request_line(stream: TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut line = String::new();
    match BufReader::new(&stream).read_line(&mut line) {
        Ok(_) => line.trim_end().to_owned(),
        Err(e) => format!("<unreadable: {e}>"),
    }
    // Dropping the stream hangs up without an answer.
}

fn child() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(child_body());
}

fn failed_token(test: &ConnectionTest) -> String {
    let token = test
        .steps
        .iter()
        .find(|s| s.id == "token")
        .expect("every test has a token step");
    assert_eq!(
        token.status,
        CheckStatus::Failed,
        "the proxy answers nothing, so no token: {token:#?}"
    );
    token.detail.clone().unwrap_or_default()
}

async fn child_body() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::start(SandboxConfig {
        port: None,
        state: StateLocation::Memory,
        seed: Seed::demo(),
    })
    .await
    .unwrap();
    let base = sandbox.urls().base.clone();

    // Control: the proxy variables are in effect in this process. A client built without the
    // engine's routing sends even a loopback request to the proxy, and fails.
    println!("{CONTROL_MARK}{base}");
    let plain = reqwest::Client::new()
        .get(base.join("_sandbox/health").unwrap())
        .send()
        .await;
    assert!(
        plain.is_err(),
        "with HTTP_PROXY set, a plain reqwest client goes through the (silent) proxy and fails: {plain:?}"
    );

    // The engine reaches the sandbox directly: health check, Microsoft token and Graph, Okta API.
    let engine = Engine::open(Paths::at(dir.path())).await.unwrap();
    let profile = engine
        .create_sandbox_profile(
            CreateSandboxProfileRequest {
                name: Some("Behind a proxy".into()),
                url: Some(base.to_string()),
                ..Default::default()
            },
            &(),
        )
        .await
        .expect("the sandbox's health check goes direct, not through the proxy");
    let microsoft = engine.test_microsoft(&profile.id, &()).await.unwrap();
    assert!(
        microsoft.ok,
        "Test connection (Microsoft) passes against the loopback sandbox: {microsoft:#?}"
    );
    let okta = engine.test_okta(&profile.id, &()).await.unwrap();
    assert!(
        okta.ok,
        "Test connection (Okta) passes against the loopback sandbox: {okta:#?}"
    );

    // Real tenants go through the proxy (the parent checks it saw the tunnels); this one answers
    // nothing, so the sign-in fails and says so.
    let tenant = engine
        .create_tenant_profile("Real tenants behind a proxy")
        .await
        .unwrap();
    engine
        .save_microsoft(SaveMicrosoftRequest {
            profile_id: tenant.id.clone(),
            tenant: "contoso.onmicrosoft.com".into(),
            client_id: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14".into(),
            credential: Some(MicrosoftCredentialInput::Secret {
                secret: Secret::new("Xy7Q~proxytest.secret.value.0123456789abcd"),
                expires_at: None,
            }),
        })
        .await
        .unwrap();
    let microsoft = engine.test_microsoft(&tenant.id, &()).await.unwrap();
    println!("Microsoft through the proxy: {}", failed_token(&microsoft));
    engine
        .save_okta(SaveOktaRequest {
            profile_id: tenant.id.clone(),
            org_url: "https://acme.okta.com".into(),
            auth: OktaAuthInput::ApiToken {
                token: Some(Secret::new("00aProxyTestTokenValue0123456789abcdefghij")),
            },
            identity_source_id: None,
        })
        .await
        .unwrap();
    let okta = engine.test_okta(&tenant.id, &()).await.unwrap();
    println!("Okta through the proxy: {}", failed_token(&okta));

    // Leave no keychain entries behind.
    engine.remove_profile(&tenant.id).await.unwrap();
    engine.remove_profile(&profile.id).await.unwrap();
    sandbox.shutdown().await;
}
