//! The Graph client against the sandbox over real loopback HTTP: organization, users paging,
//! SKUs, applications (with and without permission), throttling, retries and the token cache.

mod common;

use std::time::{Duration, Instant};

use common::{Env, TestCert};
use okta365_graph::{ClientCertificate, ClientId, Error, UserId};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn organization_shows_the_tenant_and_its_domains() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let org = graph.organization().get().await.unwrap();
    assert_eq!(org.id, env.creds.entra_tenant_id);
    assert_eq!(org.display_name.as_deref(), Some("Contoso Sandbox"));
    let names: Vec<&str> = org
        .verified_domains
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "contoso-sandbox.onmicrosoft.com",
            "contoso.example",
            "fabrikam.example"
        ]
    );
    assert_eq!(
        org.initial_domain().unwrap().name,
        "contoso-sandbox.onmicrosoft.com"
    );
    assert_eq!(org.default_domain().unwrap().name, "contoso.example");
    let skus = graph.subscribed_skus().list().await.unwrap();
    assert_eq!(skus.len(), 3, "the demo tenant has three SKUs");
    assert!(skus.iter().all(|s| s.prepaid_units.enabled > 0));
}

#[tokio::test]
async fn users_page_to_the_end_and_filter_select_and_get_work() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    let first = graph
        .users()
        .list()
        .select(["id", "userPrincipalName", "accountEnabled"])
        .top(4)
        .send()
        .await
        .unwrap();
    assert_eq!(first.items.len(), 4);
    assert!(
        first.next_link().is_some(),
        "4 of 14 users leaves more pages"
    );
    let second = first.next().await.unwrap().expect("a second page");
    assert_eq!(second.items.len(), 4);
    let all = first.all().await.unwrap();
    assert_eq!(all.len(), 14, "every user of the demo tenant, once");
    let mut ids: Vec<_> = all.iter().map(|u| u.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 14, "no user twice across pages");
    assert!(
        all.iter().all(|u| u.account_enabled.is_some()),
        "$select brought accountEnabled"
    );

    let admin = graph
        .users()
        .list()
        .filter("userPrincipalName eq 'admin@contoso-sandbox.onmicrosoft.com'")
        .send()
        .await
        .unwrap();
    assert_eq!(admin.items.len(), 1);
    let by_upn = graph
        .users()
        .get(&UserId::new("admin@contoso-sandbox.onmicrosoft.com"))
        .await
        .unwrap();
    assert_eq!(by_upn.id, admin.items[0].id);
    let e = graph
        .users()
        .get(&UserId::new("nobody@contoso-sandbox.onmicrosoft.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(404), Some("Request_ResourceNotFound")),
        "{e:?}"
    );
    let e = graph.users().list().top(0).send().await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e:?}");
}

#[tokio::test]
async fn the_app_reads_its_own_credentials_with_application_read_all() {
    let env = Env::start().await;
    let cert = TestCert::new();
    env.register_certificate(&cert).await;
    let graph = env.graph(env.provider());
    let client_id = ClientId::parse(&env.creds.entra_client_id).unwrap();
    let app = graph
        .applications()
        .by_app_id(&client_id)
        .await
        .unwrap()
        .expect("the demo app");
    assert_eq!(app.app_id, client_id);
    let secret = app.secrets_matching(&env.creds.entra_client_secret);
    assert_eq!(
        secret.len(),
        1,
        "the minted secret is found by its hint: {app:?}"
    );
    let end = secret[0].end_date_time.expect("an end date");
    let days = (end.as_second() - jiff::Timestamp::now().as_second()) / 86_400;
    assert!(
        (729..=732).contains(&days),
        "a demo secret lasts two years, got {days} days"
    );
    let ours = ClientCertificate::from_pem(&cert.combined_pem()).unwrap();
    let key = app
        .certificate(&ours)
        .expect("the registered certificate is found by thumbprint");
    assert_eq!(key.end_date_time.unwrap(), ours.not_after());
    let unknown = ClientId::parse("11111111-2222-3333-4444-555555555555").unwrap();
    assert!(
        graph
            .applications()
            .by_app_id(&unknown)
            .await
            .unwrap()
            .is_none()
    );

    // Without Application.Read.All the read is denied, and the error says how to grant it.
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": ["User.ReadWrite.All", "Organization.Read.All"] })),
    )
    .await;
    let graph = env.graph(env.provider());
    let e = graph
        .applications()
        .by_app_id(&client_id)
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(403), Some("Authorization_RequestDenied")),
        "{e:?}"
    );
    let x = e.explanation();
    assert!(x.fix.unwrap().contains("Grant admin consent"));
    assert!(x.reference.is_some(), "the request id is kept");
    assert!(!e.to_string().contains(&env.creds.entra_client_secret));
}

#[tokio::test]
async fn a_429_waits_retry_after_then_succeeds() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    graph.organization().get().await.unwrap(); // token first, so only Graph is timed
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 429, "count": 1, "path_prefix": "/v1.0", "retry_after": 2 })),
    )
    .await;
    let started = Instant::now();
    graph
        .organization()
        .get()
        .await
        .expect("the retry succeeds");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2),
        "Retry-After: 2 must be honoured, waited {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "one wait only, waited {waited:?}"
    );

    // A long Retry-After is capped by the policy (5 s in these tests).
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 429, "count": 1, "path_prefix": "/v1.0", "retry_after": 30 })),
    )
    .await;
    let started = Instant::now();
    graph
        .organization()
        .get()
        .await
        .expect("the capped retry succeeds");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(8),
        "a 30 s Retry-After is capped at 5 s, waited {waited:?}"
    );

    // Throttled for longer than the retries allow: the 429 is reported.
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 429, "count": 10, "path_prefix": "/v1.0", "retry_after": 0 })),
    )
    .await;
    let e = graph.organization().get().await.unwrap_err();
    assert_eq!(
        (e.status(), e.graph_code()),
        (Some(429), Some("TooManyRequests")),
        "{e:?}"
    );
    env.control(Method::DELETE, "/_sandbox/faults", None).await;
}

#[tokio::test]
async fn server_errors_are_retried_for_gets_until_the_retries_run_out() {
    let env = Env::start().await;
    let graph = env.graph(env.provider());
    graph.organization().get().await.unwrap();
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 503, "count": 2, "path_prefix": "/v1.0" })),
    )
    .await;
    let users = graph
        .users()
        .list()
        .top(2)
        .send()
        .await
        .expect("two 503s, then the answer");
    assert_eq!(users.items.len(), 2);

    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({ "status": 500, "count": 10, "path_prefix": "/v1.0" })),
    )
    .await;
    let e = graph.organization().get().await.unwrap_err();
    assert_eq!(e.status(), Some(500), "{e:?}");
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    let left = state["faults"]["pending"][0]["count"].as_u64().unwrap();
    assert_eq!(
        left,
        10 - 4,
        "one attempt plus three retries (the policy's max), got {left} left"
    );
    env.control(Method::DELETE, "/_sandbox/faults", None).await;
}

#[tokio::test]
async fn the_token_is_cached_across_calls_and_concurrent_callers() {
    let env = Env::start().await;
    let before = env.tokens_issued().await;
    let provider = env.provider();
    let graph = env.graph(provider.clone());
    let mut calls = Vec::new();
    for _ in 0..5 {
        let g = graph.clone();
        calls.push(tokio::spawn(async move {
            g.organization().get().await.map(|o| o.id)
        }));
    }
    for c in calls {
        c.await.unwrap().expect("each call succeeds");
    }
    graph.users().list().top(3).send().await.unwrap();
    graph.subscribed_skus().list().await.unwrap();
    assert!(!provider.claims().await.unwrap().roles.is_empty());
    assert_eq!(
        env.tokens_issued().await - before,
        1,
        "one token for all the calls"
    );
    assert_eq!(provider.token_requests(), 1);

    // A refused token (here: the sandbox clock moves past its expiry) is replaced once.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({ "advance_secs": 3700 })),
    )
    .await;
    graph
        .organization()
        .get()
        .await
        .expect("a new token after Graph refused the old one");
    assert_eq!(provider.token_requests(), 2);
}
