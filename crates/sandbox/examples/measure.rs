//! Rough request throughput of an in-memory sandbox over loopback, sequential and with 8 concurrent
//! clients. Run: `cargo run -p okta365-sandbox --release --example measure`.

use std::time::Instant;

use okta365_sandbox::{Sandbox, SandboxConfig, mint_demo_credentials};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(SandboxConfig::in_memory()).await?;
    let base = sandbox.urls().base.clone();
    let creds = mint_demo_credentials(&base).await?;
    // Raise the Okta limit so the measurement is not throttled.
    let http = reqwest::Client::builder().no_proxy().build()?;
    http.post(base.join("_sandbox/rate-limits")?)
        .json(&serde_json::json!({"bucket": "users.get", "limit": 1_000_000}))
        .send()
        .await?;
    let url = base.join("api/v1/users/")?;
    let ids: Vec<serde_json::Value> = http
        .get(base.join("api/v1/users?limit=50")?)
        .header("authorization", format!("SSWS {}", creds.okta_api_token))
        .send()
        .await?
        .json()
        .await?;
    let ids: Vec<String> = ids
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let n = 5000;
    for concurrency in [1usize, 8] {
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|c| {
                let (http, url, ids, token) = (
                    http.clone(),
                    url.clone(),
                    ids.clone(),
                    creds.okta_api_token.clone(),
                );
                tokio::spawn(async move {
                    for i in (c..n).step_by(concurrency) {
                        let resp = http
                            .get(url.join(&ids[i % ids.len()]).expect("url"))
                            .header("authorization", format!("SSWS {token}"))
                            .send()
                            .await
                            .expect("request");
                        assert_eq!(resp.status(), 200);
                        resp.bytes().await.expect("body");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await?;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "GET /api/v1/users/{{id}}: {n} requests, {concurrency} clients: {:.0} req/s",
            n as f64 / secs
        );
    }
    sandbox.shutdown().await;
    Ok(())
}
