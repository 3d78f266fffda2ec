//! Graph JSON batching (`POST /v1.0/$batch`) of the sandbox, over real loopback HTTP.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

async fn batch(env: &Env, token: &str, body: Value) -> (u16, Value) {
    let resp = env
        .http
        .post(env.url("/v1.0/$batch"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn create(id: &str, nick: &str) -> Value {
    json!({
        "id": id, "method": "POST", "url": "/users",
        "headers": { "Content-Type": "application/json" },
        "body": {
            "accountEnabled": true, "displayName": nick, "mailNickname": nick,
            "userPrincipalName": format!("{nick}@contoso.example"),
            "passwordProfile": { "password": "Bt7#kLp2!xQz9", "forceChangePasswordNextSignIn": true },
        },
    })
}

fn by_id(responses: &Value, id: &str) -> Value {
    responses["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no response {id} in {responses}"))
}

#[tokio::test]
async fn items_run_with_their_own_status_headers_and_body_in_a_shuffled_order() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, body) = batch(
        &env,
        &token,
        json!({"requests": [
            create("1", "batch.one"),
            { "id": "2", "method": "GET", "url": "/users/batch.one@contoso.example?$select=id,displayName", "dependsOn": ["1"] },
            { "id": "3", "method": "PATCH", "url": "users/batch.one@contoso.example",
              "headers": { "Content-Type": "application/json" }, "body": { "jobTitle": "Batcher" }, "dependsOn": ["1"] },
            { "id": "4", "method": "GET", "url": "/users/nobody@contoso.example" },
            create("5", "isabella.singh"),
        ]}),
    )
    .await;
    assert_eq!(
        status, 200,
        "the outer status is 200 even when items fail: {body}"
    );
    let order: Vec<&str> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(order.len(), 5);
    assert_ne!(
        order,
        ["1", "2", "3", "4", "5"],
        "clients must not rely on the order"
    );
    let created = by_id(&body, "1");
    assert_eq!(created["status"], 201, "{created}");
    assert!(created["headers"]["Location"].is_string(), "{created}");
    assert!(
        created["headers"]["Content-Type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        created["body"]["userPrincipalName"],
        "batch.one@contoso.example"
    );
    let read = by_id(&body, "2");
    assert_eq!(read["status"], 200, "{read}");
    assert_eq!(read["body"]["displayName"], "batch.one");
    let patched = by_id(&body, "3");
    assert_eq!(patched["status"], 204);
    assert!(patched.get("body").is_none(), "204 has no body: {patched}");
    let missing = by_id(&body, "4");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["body"]["error"]["code"], "Request_ResourceNotFound");
    let conflict = by_id(&body, "5");
    assert_eq!(conflict["status"], 400);
    assert_eq!(
        conflict["body"]["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );
}

#[tokio::test]
async fn a_failed_dependency_gives_424_and_the_dependent_does_not_run() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, body) = batch(
        &env,
        &token,
        json!({"requests": [
            create("a", "isabella.singh"),
            { "id": "b", "method": "DELETE", "url": "/users/isabella.singh@contoso.example", "dependsOn": ["a"] },
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(by_id(&body, "a")["status"], 400);
    let dependent = by_id(&body, "b");
    assert_eq!(dependent["status"], 424, "{dependent}");
    let resp = env
        .http
        .get(env.url("/v1.0/users/isabella.singh@contoso.example"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the dependent DELETE was not run");
}

#[tokio::test]
async fn malformed_batches_are_refused_whole() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let many: Vec<Value> = (1..=21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/users?$top=1"}))
        .collect();
    let (status, e) = batch(&env, &token, json!({ "requests": many })).await;
    assert_eq!(status, 400, "21 requests: {e}");
    assert_eq!(e["error"]["code"], "BadRequest");
    let (status, e) = batch(
        &env,
        &token,
        json!({"requests": [
            {"id": "1", "method": "GET", "url": "/users"},
            {"id": "1", "method": "GET", "url": "/users"},
        ]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["message"],
        "Request Id 1 has to be unique in a batch."
    );
    let mut no_type = create("1", "typeless");
    no_type.as_object_mut().unwrap().remove("headers");
    let (status, e) = batch(&env, &token, json!({ "requests": [no_type] })).await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["message"],
        "Write request id : 1 does not contain Content-Type header or body."
    );
    let (status, _) = batch(
        &env,
        &token,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["7"]}]}),
    )
    .await;
    assert_eq!(status, 400, "dependsOn must name a request of the batch");
    // Nothing of a refused batch ran.
    let resp = env
        .http
        .get(env.url("/v1.0/users/typeless@contoso.example"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn each_item_is_throttled_on_its_own() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"bucket": "graph.directoryWrites", "limit": 2, "window_secs": 60})),
    )
    .await;
    let requests: Vec<Value> = (1..=4)
        .map(|i| create(&i.to_string(), &format!("throttled.{i}")))
        .collect();
    let (status, body) = batch(&env, &token, json!({ "requests": requests })).await;
    assert_eq!(status, 200);
    let statuses: Vec<u64> = (1..=4)
        .map(|i| by_id(&body, &i.to_string())["status"].as_u64().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [201, 201, 429, 429],
        "the budget runs out mid-batch: {body}"
    );
    let throttled = by_id(&body, "3");
    let retry: u64 = throttled["headers"]["Retry-After"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{throttled}");
    assert_eq!(throttled["body"]["error"]["code"], "TooManyRequests");

    // An injected fault hits one item, not the batch.
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 503, "count": 1, "path_prefix": "/v1.0/users/isabella", "retry_after": 4})),
    )
    .await;
    let (status, body) = batch(
        &env,
        &token,
        json!({"requests": [
            {"id": "x", "method": "GET", "url": "/users/isabella.singh@contoso.example"},
            {"id": "y", "method": "GET", "url": "/users/marcus.thompson@contoso.example"},
        ]}),
    )
    .await;
    assert_eq!(status, 200);
    let x = by_id(&body, "x");
    assert_eq!(x["status"], 503, "{x}");
    assert_eq!(x["headers"]["Retry-After"], "4");
    assert_eq!(by_id(&body, "y")["status"], 200);
}

#[tokio::test]
async fn items_are_authorized_like_direct_calls() {
    let env = Env::start().await;
    let resp = env
        .http
        .post(env.url("/v1.0/$batch"))
        .json(&json!({"requests": [{"id": "1", "method": "GET", "url": "/users"}]}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        by_id(&body, "1")["status"],
        401,
        "an item without a token is refused: {body}"
    );
}
