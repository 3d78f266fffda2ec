//! The identity-source import sessions of the sandbox checked against Okta's OpenAPI description
//! (`okta-management.yaml`, `/api/v1/identity-sources/*`): each response's status is declared by the
//! operation and its body matches the schema (`IdentitySourceSession`, `Error`), and the request bodies
//! these tests send match `BulkUpsertRequestBody`, `IdentitySourceUserProfileForUpsertRequired` and
//! `BulkDeleteRequestBody`. The validator is the one of `conformance.rs`.

mod common;

use common::Env;
use common::openapi::OpenApi;
use reqwest::Method;
use serde_json::{Value, json};

const SOURCE: &str = "0oa5hrsrc0sandbox1d7";
const LIST: &str = "/api/v1/identity-sources/{identitySourceId}/sessions";
const ONE: &str = "/api/v1/identity-sources/{identitySourceId}/sessions/{sessionId}";

fn op(rest: &str) -> String {
    format!("{ONE}{rest}")
}

fn url(rest: &str) -> String {
    format!("/api/v1/identity-sources/{SOURCE}/sessions{rest}")
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Validation errors of `v` against the named component schema.
fn errors(api: &OpenApi, name: &str, v: &Value) -> Vec<String> {
    let mut e = Vec::new();
    api.validate(&schema(name), v, "$", &mut e);
    e
}

/// Checks a request body against the spec before it is sent.
fn checked_upsert(api: &OpenApi, body: Value) -> Value {
    let mut e = errors(api, "BulkUpsertRequestBody", &body);
    for p in body["profiles"].as_array().unwrap() {
        e.extend(errors(
            api,
            "IdentitySourceUserProfileForUpsertRequired",
            &p["profile"],
        ));
    }
    assert!(e.is_empty(), "the upsert body drifted from the spec: {e:?}");
    body
}

fn checked_delete(api: &OpenApi, body: Value) -> Value {
    let e = errors(api, "BulkDeleteRequestBody", &body);
    assert!(e.is_empty(), "the delete body drifted from the spec: {e:?}");
    body
}

fn post(env: &Env, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
    let req = env.okta(Method::POST, path);
    match body {
        Some(b) => req.json(b),
        None => req.header("content-length", "0"),
    }
}

/// A 400 the spec does not declare for the operation (Okta answers it anyway): its body must still
/// be Okta's `Error` with the code E0000001.
async fn undeclared_400(api: &OpenApi, resp: reqwest::Response) {
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let e = errors(api, "Error", &body);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(body["errorCode"], "E0000001");
    assert!(!body["errorCauses"].as_array().unwrap().is_empty());
}

/// `api.check` for a response without a body (the spec's 202 Accepted of the bulk uploads).
async fn check_empty(
    api: &OpenApi,
    path: &str,
    method: &str,
    resp: reqwest::Response,
    checked: &mut Vec<String>,
) {
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap();
    let schema = api
        .response_schema(path, method, status)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(schema.is_none(), "{method} {path} {status} declares a body");
    assert!(
        body.is_empty(),
        "{method} {path} {status} must have no body: {body}"
    );
    checked.push(format!("{method} {path} {status}"));
}

#[tokio::test]
async fn identity_source_sessions_match_the_openapi_description() {
    let api = OpenApi::load("okta-management.yaml");
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/identity-sources/rules",
        Some(json!({"minGapSecs": 0, "processingSecs": 1})),
    )
    .await;
    let mut checked = Vec::new();
    let get = |p: String| env.okta(Method::GET, &p).send();

    api.check(LIST, "get", get(url("")).await.unwrap(), &mut checked)
        .await;
    let created = post(&env, &url(""), None).send().await.unwrap();
    let session: Value = created.json().await.unwrap();
    let id = session["id"].as_str().unwrap().to_owned();
    assert!(errors(&api, "IdentitySourceSession", &session).is_empty());
    // A second create while one is active: 400, which the spec does not declare for the operation.
    undeclared_400(&api, post(&env, &url(""), None).send().await.unwrap()).await;
    api.check(LIST, "get", get(url("")).await.unwrap(), &mut checked)
        .await;
    api.check(
        ONE,
        "get",
        get(url(&format!("/{id}"))).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        ONE,
        "get",
        get(url("/apsMissing0000000000")).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        LIST,
        "get",
        get("/api/v1/identity-sources/0oaMissing0000000000/sessions".into())
            .await
            .unwrap(),
        &mut checked,
    )
    .await;

    let upsert = checked_upsert(
        &api,
        json!({"entityType": "USERS", "profiles": [
            {"externalId": "1001", "profile": {"userName": "zoe.szabo@corp.example", "email": "zoe.szabo@corp.example",
             "firstName": "Zoë", "lastName": "Szabó", "mobilePhone": "+44 744 627 411", "secondEmail": "zoe@home.example",
             "title": "Recruiter", "displayName": "Zoë Szabó", "primaryPhone": "+44 555 6884",
             "streetAddress": "88 Baker Street", "city": "London", "state": "England", "zipCode": "NW1 6XE",
             "countryCode": "GB"}},
            {"externalId": "1002", "profile": {"userName": "renee.nunez@corp.example", "email": "renee.nunez@corp.example"}}
        ]}),
    );
    check_empty(
        &api,
        &op("/bulk-upsert"),
        "post",
        post(&env, &url(&format!("/{id}/bulk-upsert")), Some(&upsert))
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        &op("/bulk-upsert"),
        "post",
        post(
            &env,
            &url(&format!("/{id}/bulk-upsert")),
            Some(&json!({"entityType": "USERS", "profiles": []})),
        )
        .send()
        .await
        .unwrap(),
        &mut checked,
    )
    .await;
    let delete = checked_delete(
        &api,
        json!({"entityType": "USERS", "profiles": [{"externalId": "1010"}]}),
    );
    check_empty(
        &api,
        &op("/bulk-delete"),
        "post",
        post(&env, &url(&format!("/{id}/bulk-delete")), Some(&delete))
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        &op("/bulk-delete"),
        "post",
        post(
            &env,
            &url(&format!("/{id}/bulk-delete")),
            Some(&json!({"entityType": "USERS", "profiles": [{}]})),
        )
        .send()
        .await
        .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        &op("/start-import"),
        "post",
        post(&env, &url(&format!("/{id}/start-import")), None)
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    undeclared_400(
        &api,
        post(&env, &url(&format!("/{id}/start-import")), None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    undeclared_400(
        &api,
        env.okta(Method::DELETE, &url(&format!("/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 2})),
    )
    .await;
    let done = get(url(&format!("/{id}"))).await.unwrap();
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["status"], "COMPLETED");
    assert!(errors(&api, "IdentitySourceSession", &done).is_empty());

    // A second session, cancelled.
    let second: Value = post(&env, &url(""), None)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id2 = second["id"].as_str().unwrap().to_owned();
    api.check(
        ONE,
        "delete",
        env.okta(Method::DELETE, &url(&format!("/{id2}")))
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        ONE,
        "get",
        get(url(&format!("/{id2}"))).await.unwrap(),
        &mut checked,
    )
    .await;

    api.check(
        LIST,
        "post",
        post(&env, &url(""), None).send().await.unwrap(),
        &mut checked,
    )
    .await;

    // 403 for a read-only admin's token, 429 from the rate limits.
    let read_only = env
        .control(
            Method::POST,
            "/_sandbox/okta/api-tokens",
            Some(json!({"role": "READ_ONLY_ADMIN"})),
        )
        .await;
    let denied = env
        .http
        .post(env.url(&url("")))
        .header(
            "authorization",
            format!("SSWS {}", read_only["token"].as_str().unwrap()),
        )
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    api.check(LIST, "post", denied, &mut checked).await;
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 429, "count": 1, "path_prefix": "/api/v1/identity-sources"})),
    )
    .await;
    api.check(LIST, "get", get(url("")).await.unwrap(), &mut checked)
        .await;
    assert_eq!(checked.len(), 15, "{checked:#?}");

    // Guards: the schemas really constrain sessions and request bodies.
    let mut tampered = done.clone();
    tampered["status"] = json!("RUNNING");
    tampered["created"] = json!("yesterday");
    assert_eq!(
        errors(&api, "IdentitySourceSession", &tampered).len(),
        2,
        "a wrong status and date must fail the spec"
    );
    let bad =
        json!({"entityType": "GROUPS", "profiles": [{"externalId": 1, "profile": {"email": 5}}]});
    assert_eq!(
        errors(&api, "BulkUpsertRequestBody", &bad).len(),
        3,
        "entityType, externalId and email types: {:?}",
        errors(&api, "BulkUpsertRequestBody", &bad)
    );
    assert_eq!(
        errors(
            &api,
            "IdentitySourceUserProfileForUpsertRequired",
            &json!({"firstName": "x"})
        )
        .len(),
        2,
        "email and userName are required"
    );
}
