//! Control endpoints, persistence and the one-server-per-data-dir rule, over real loopback HTTP.

mod common;

use std::path::Path;

use common::Env;
use okta365_sandbox::{
    LocalSandbox, Sandbox, SandboxConfig, Seed, StateLocation, ensure_local, reset_local,
};
use reqwest::Method;
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get_json(url: String) -> Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_names_the_instance_and_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = SandboxConfig {
        port: None,
        state: StateLocation::File(file.clone()),
        seed: Seed::demo(),
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let base = sandbox.urls().base.clone();
    assert_eq!(
        base.host_str(),
        Some("127.0.0.1"),
        "the sandbox listens on loopback only"
    );
    assert_ne!(
        base.port(),
        Some(0),
        "port 0 means the OS chooses a real port"
    );
    assert_eq!(
        sandbox.urls().okta_org,
        base,
        "all vendor URLs are the one origin"
    );
    let health = get_json(format!("{base}_sandbox/health")).await;
    assert_eq!(health["ok"], true);
    assert!(
        health["instanceId"].as_str().is_some_and(|s| s.len() == 36),
        "{health}"
    );
    assert_eq!(health["stateFile"], file.display().to_string());
    assert!(
        file.exists(),
        "a file-backed sandbox writes its state file at start"
    );
    sandbox.shutdown().await;
    assert!(
        client()
            .get(format!("{base}_sandbox/health"))
            .send()
            .await
            .is_err(),
        "shutdown stops serving"
    );
}

#[tokio::test]
async fn demo_credentials_are_returned_once_and_only_hashes_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = SandboxConfig {
        port: None,
        state: StateLocation::File(file.clone()),
        seed: Seed::demo(),
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let creds = okta365_sandbox::mint_demo_credentials(&sandbox.urls().base)
        .await
        .unwrap();
    assert_eq!(
        creds.okta_api_token.len(),
        42,
        "Okta API tokens are 42 characters"
    );
    assert_eq!(
        &creds.entra_client_secret[4..6],
        "Q~",
        "Entra secrets have Q~ at index 4"
    );
    assert_eq!(creds.entra_tenant_domain, "contoso-sandbox.onmicrosoft.com");
    let debug = format!("{creds:?}");
    assert!(
        !debug.contains(&creds.okta_api_token) && !debug.contains(&creds.entra_client_secret),
        "{debug}"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(&creds.okta_api_token),
        "the state file must not hold the API token"
    );
    assert!(
        !text.contains(&creds.entra_client_secret),
        "the state file must not hold the client secret"
    );
    let state = get_json(format!("{}_sandbox/state", sandbox.urls().base)).await;
    assert!(
        !state.to_string().contains("Hash"),
        "the state summary shows no hashes: {state}"
    );
    assert_eq!(state["okta"]["apiTokens"][0]["name"], "okta365 demo");
    let again = okta365_sandbox::mint_demo_credentials(&sandbox.urls().base)
        .await
        .unwrap();
    assert_ne!(
        again.okta_api_token, creds.okta_api_token,
        "each call mints new values"
    );
}

#[tokio::test]
async fn state_survives_a_restart_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let config = || SandboxConfig {
        port: None,
        state: StateLocation::File(file.clone()),
        seed: Seed::demo(),
    };
    let sandbox = Sandbox::start(config()).await.unwrap();
    let creds = okta365_sandbox::mint_demo_credentials(&sandbox.urls().base)
        .await
        .unwrap();
    let http = client();
    let created: Value = http
        .post(format!("{}api/v1/groups", sandbox.urls().base))
        .header("authorization", format!("SSWS {}", creds.okta_api_token))
        .json(&json!({"profile": {"name": "Survives Restart", "description": "x"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gid = created["id"].as_str().expect("group created").to_owned();
    sandbox.shutdown().await;

    let sandbox = Sandbox::start(config()).await.unwrap();
    let resp = http
        .get(format!("{}api/v1/groups/{gid}", sandbox.urls().base))
        .header("authorization", format!("SSWS {}", creds.okta_api_token))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the group and the API token survive a restart"
    );
    let group: Value = resp.json().await.unwrap();
    assert_eq!(group["profile"]["name"], "Survives Restart");
}

#[tokio::test]
async fn reset_restores_the_seed_and_keeps_credentials() {
    let env = Env::start().await;
    let resp = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"name": "Temporary"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 600})),
    )
    .await;
    let before = env.control(Method::GET, "/_sandbox/state", None).await;
    assert_eq!(before["okta"]["groups"], 8);
    assert_eq!(before["clock"]["offsetSecs"], 600);
    env.control(Method::POST, "/_sandbox/reset", None).await;
    let after = env.control(Method::GET, "/_sandbox/state", None).await;
    assert_eq!(
        after["okta"]["groups"], 7,
        "reset removes groups that are not in the seed"
    );
    assert_eq!(after["clock"]["offsetSecs"], 0, "reset puts the clock back");
    let resp = env
        .okta(Method::GET, "/api/v1/groups?q=Temporary")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the API token minted before the reset still works"
    );
    assert_eq!(resp.json::<Value>().await.unwrap(), json!([]));
}

#[tokio::test]
async fn bad_control_requests_say_what_to_send() {
    let env = Env::start().await;
    let resp = env
        .http
        .post(env.url("/_sandbox/faults"))
        .json(&json!({"status": 418}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("429, 500"),
        "{body}"
    );
    let resp = env
        .http
        .post(env.url("/_sandbox/clock"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("advance_secs"),
        "{body}"
    );
}

fn server_json(dir: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(dir.join("server.json")).ok()?).ok()
}

#[tokio::test]
async fn ensure_local_starts_once_then_attaches_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let first = ensure_local(dir.path()).await.unwrap();
    assert!(
        matches!(first, LocalSandbox::Owned(_)),
        "the first call starts the server"
    );
    let info = server_json(dir.path()).expect("server.json is written");
    assert_eq!(info["pid"], std::process::id());
    assert_eq!(info["baseUrl"], first.urls().base.as_str());
    assert!(
        info["startedAt"].is_string() && info["port"].is_u64(),
        "{info}"
    );

    let second = ensure_local(dir.path()).await.unwrap();
    assert!(
        matches!(second, LocalSandbox::Attached(_)),
        "a second call attaches to the running server"
    );
    assert_eq!(second.urls(), first.urls());

    let err = reset_local(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("being served"),
        "reset refuses while the server runs: {err}"
    );

    let port = first.urls().base.port();
    let LocalSandbox::Owned(sandbox) = first else {
        unreachable!()
    };
    sandbox.shutdown().await;
    assert!(
        server_json(dir.path()).is_none(),
        "shutdown removes server.json"
    );

    // Stale server.json from a crashed process: the next call takes over, on the same port if free.
    std::fs::write(
        dir.path().join("server.json"),
        json!({"pid": 1, "port": port, "baseUrl": "x", "startedAt": "x"}).to_string(),
    )
    .unwrap();
    let third = ensure_local(dir.path()).await.unwrap();
    assert!(
        matches!(third, LocalSandbox::Owned(_)),
        "a stale server.json does not block a new owner"
    );
    assert_eq!(
        third.urls().base.port(),
        port,
        "the previous port is reused so profile URLs stay stable"
    );
    drop(third);
    reset_local(dir.path()).expect("reset works once nobody serves the directory");
}

#[test]
fn two_racing_ensure_local_calls_end_with_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Arc::new(std::sync::Mutex::new(release_rx));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.path().to_owned();
            let barrier = barrier.clone();
            let done_tx = done_tx.clone();
            let release_rx = release_rx.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    barrier.wait();
                    let local = ensure_local(&dir)
                        .await
                        .expect("ensure_local succeeds in both threads");
                    let owned = matches!(local, LocalSandbox::Owned(_));
                    done_tx.send((owned, local.urls().clone())).unwrap();
                    if owned {
                        // Keep serving until both threads have checked.
                        let rx = release_rx.clone();
                        tokio::task::spawn_blocking(move || rx.lock().unwrap().recv())
                            .await
                            .unwrap()
                            .ok();
                    }
                    drop(local);
                });
            })
        })
        .collect();
    let results: Vec<_> = (0..2).map(|_| done_rx.recv().unwrap()).collect();
    let _ = release_tx.send(());
    for t in threads {
        t.join().unwrap();
    }
    let owners = results.iter().filter(|(owned, _)| *owned).count();
    assert_eq!(
        owners, 1,
        "exactly one of two racing callers starts a server: {results:?}"
    );
    assert_eq!(
        results[0].1, results[1].1,
        "both callers end up with the same URLs"
    );
}
