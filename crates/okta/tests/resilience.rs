//! Rate limits and retries against the sandbox's fault injection: a 429 waits until its reset, 5xx
//! is retried for GET but not for POST, and a bucket at zero pauses the next call.

mod common;

use std::time::Instant;

use common::Env;
use okta365_okta::{GroupQuery, OktaErrorCode};
use reqwest::Method;
use serde_json::json;

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[tokio::test]
async fn an_injected_429_is_waited_out_until_its_reset() {
    let env = Env::start().await;
    let okta = env.ssws();
    okta.groups().list(&GroupQuery::new()).await.unwrap();
    env.control(
        Method::POST,
        "/_sandbox/faults",
        json!({"status": 429, "count": 1, "path_prefix": "/api/v1/groups", "retry_after": 2}),
    )
    .await;
    let (start, started) = (now(), Instant::now());
    let groups = okta.groups().list(&GroupQuery::new()).await.unwrap();
    assert!(
        !groups.items().is_empty(),
        "the call succeeds after the wait"
    );
    // The 429 said Reset = (sandbox now, whole seconds) + 2; the retry went out after that.
    assert!(
        now() >= start + 2,
        "finished at {} but the reset was at least {}",
        now(),
        start + 2
    );
    assert!(
        started.elapsed().as_secs_f64() >= 1.0,
        "{:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed().as_secs_f64() < 8.0,
        "no needless waiting: {:?}",
        started.elapsed()
    );
    assert_eq!(okta.stats().throttled, 1);
}

#[tokio::test]
async fn repeated_429s_end_in_e0000047() {
    let env = Env::start().await;
    let mut policy = common::fast_retries();
    policy.max_throttled = 1;
    let okta = okta365_okta::OktaClient::builder(env.org())
        .auth(okta365_okta::OktaAuth::ApiToken(okta365_okta::Secret::new(
            env.creds.okta_api_token.clone(),
        )))
        .retry_policy(policy)
        .build()
        .unwrap();
    env.control(
        Method::POST,
        "/_sandbox/faults",
        json!({"status": 429, "count": 2, "path_prefix": "/api/v1/users", "retry_after": 1}),
    )
    .await;
    let err = okta.users().list(Some(1)).await.unwrap_err();
    assert_eq!(
        err.okta_code(),
        Some(&OktaErrorCode::RateLimited),
        "{err:?}"
    );
    assert!(err.to_string().contains("rate limit"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_for_get_but_not_for_post() {
    let env = Env::start().await;
    let okta = env.ssws();
    env.control(
        Method::POST,
        "/_sandbox/faults",
        json!({"status": 503, "count": 2, "path_prefix": "/api/v1/users"}),
    )
    .await;
    let before = okta.stats();
    assert_eq!(okta.users().list(Some(2)).await.unwrap().items().len(), 2);
    assert_eq!(
        okta.stats().retries - before.retries,
        2,
        "two 503s, two retries"
    );

    env.control(
        Method::POST,
        "/_sandbox/faults",
        json!({"status": 500, "count": 1, "path_prefix": "/api/v1/groups"}),
    )
    .await;
    let before = okta.stats();
    let err = okta.groups().create("Never twice", None).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::InternalError));
    assert_eq!(
        okta.stats().retries,
        before.retries,
        "a POST is not repeated"
    );
    assert_eq!(okta.stats().requests - before.requests, 1);
    // The fault is used up and nothing was created: a deliberate second try creates the group once.
    let created = okta
        .groups()
        .create("Never twice", Some("created once"))
        .await
        .unwrap();
    assert_eq!(created.profile.name, "Never twice");
}

/// Lists users until the users bucket (set to 2 a window) has nothing remaining; a fresh window may
/// start between calls, then there is one more to go. Answers the bucket's status.
async fn use_up_the_users_window(okta: &okta365_okta::OktaClient) -> okta365_okta::RateLimitStatus {
    let mut status = None;
    for _ in 0..3 {
        okta.users().list(Some(1)).await.unwrap();
        status = okta.rate_limit("GET /api/v1/users");
        if status.is_some_and(|s| s.remaining == 0) {
            break;
        }
    }
    let s = status.expect("the headers were recorded");
    assert_eq!((s.limit, s.remaining), (2, 0), "{s:?}");
    s
}

#[tokio::test]
async fn a_bucket_at_zero_pauses_the_next_call_until_its_reset() {
    let env = Env::start().await;
    let okta = env.ssws();
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        json!({"bucket": "users", "limit": 2, "window_secs": 3}),
    )
    .await;
    let s = use_up_the_users_window(&okta).await;
    let before = okta.stats();
    let started = Instant::now();
    okta.users().list(Some(1)).await.unwrap();
    assert!(
        now() >= s.reset,
        "the call went out only after the reset at {}",
        s.reset
    );
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "{:?}",
        started.elapsed()
    );
    let after = okta.stats();
    assert_eq!(
        after.rate_limit_pauses - before.rate_limit_pauses,
        1,
        "the limiter paused once"
    );
    assert_eq!(after.throttled, before.throttled, "no 429 was needed");
}

#[tokio::test]
async fn a_server_clock_days_ahead_does_not_stretch_the_wait_for_a_reset() {
    let env = Env::start().await;
    let okta = env.ssws();
    // The sandbox clock two days ahead (as after a test moves it past a stage's delay): its resets are
    // two days in this machine's future, its `Date` says what time it is there.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        json!({"advance_secs": 2 * 24 * 3600}),
    )
    .await;
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        json!({"bucket": "users", "limit": 2, "window_secs": 3}),
    )
    .await;
    let s = use_up_the_users_window(&okta).await;
    assert!(
        (s.server_offset - 2 * 24 * 3600).abs() <= 2,
        "the server's clock is read from its Date: {s:?}"
    );
    let before = okta.stats();
    let started = Instant::now();
    okta.users().list(Some(1)).await.unwrap();
    assert!(
        started.elapsed().as_secs_f64() < 5.0,
        "waited {:?} for a window of 3 s",
        started.elapsed()
    );
    assert_eq!(okta.stats().rate_limit_pauses - before.rate_limit_pauses, 1);
}

#[tokio::test]
async fn an_unreachable_org_is_a_transport_error_after_retries() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let okta = okta365_okta::OktaClient::builder(format!("http://127.0.0.1:{port}"))
        .auth(okta365_okta::OktaAuth::ApiToken(okta365_okta::Secret::new(
            "00secret-token-value",
        )))
        .retry_policy(common::fast_retries())
        .build()
        .unwrap();
    let err = okta.users().list(Some(1)).await.unwrap_err();
    assert!(
        matches!(err, okta365_okta::Error::Transport { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("Could not reach Okta"), "{msg}");
    assert!(!msg.contains("00secret-token-value"), "{msg}");
    assert_eq!(okta.stats().retries, 3, "four tries in all");
}
