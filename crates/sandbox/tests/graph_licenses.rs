//! Graph license assignment, license details, group-based licensing, seat accounting and session
//! revocation of the sandbox, over real loopback HTTP.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

const E3: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";
const E3_EXCHANGE_PLAN: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const EXCHANGE_STANDARD: &str = "4b9405b0-7788-4568-add1-99614e613b69";
const STAFF_GROUP: &str = "2f6c9a41-7d3e-4b85-9e20-c4a1d8f35b76";
/// Holds SPE_E3 directly and through "All Staff Licensing".
const MARCUS: &str = "038f0c5e-76f4-4e48-a9fd-6d25ce7302ae";
/// Holds SPE_E3 only through "All Staff Licensing".
const TARIQ: &str = "7b275515-6b56-4c67-bd4d-9be6f6274bc4";
/// No license, usage location US.
const FINN: &str = "17728cc8-46bb-4213-a0b3-df56fe56c257";
/// No license, usage location US.
const HIROSHI_UPN: &str = "hiroshi.singh@contoso.example";
/// A guest without a usage location.
const GUEST: &str = "1fb0ab2a-8e2c-419c-b992-61654172fa53";

/// One Graph call: (status, headers, body or null).
async fn call(
    env: &Env,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = env.http.request(method, env.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, headers, body)
}

async fn assign(env: &Env, token: &str, user: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = call(
        env,
        token,
        Method::POST,
        &format!("/v1.0/users/{user}/assignLicense"),
        Some(body),
    )
    .await;
    (status, body)
}

fn add(sku: &str, disabled: &[&str]) -> Value {
    json!({"addLicenses": [{"skuId": sku, "disabledPlans": disabled}], "removeLicenses": []})
}

fn remove(sku: &str) -> Value {
    json!({"addLicenses": [], "removeLicenses": [sku]})
}

/// (consumedUnits, prepaidUnits.enabled) of a SKU.
async fn seats(env: &Env, token: &str, sku: &str) -> (u64, u64) {
    let (status, _, body) = call(env, token, Method::GET, "/v1.0/subscribedSkus", None).await;
    assert_eq!(status, 200, "{body}");
    let s = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuId"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {body}"));
    (
        s["consumedUnits"].as_u64().unwrap(),
        s["prepaidUnits"]["enabled"].as_u64().unwrap(),
    )
}

fn assert_graph_error(status: u16, body: &Value, want_status: u16, code: &str, message: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["message"], message, "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "Graph's innerError: {body}"
    );
}

async fn token_with(env: &Env, roles: &[&str]) -> String {
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({ "roles": roles })),
    )
    .await;
    env.graph_token().await
}

#[tokio::test]
async fn the_seed_has_a_nearly_full_sku_an_unused_one_and_counts_group_licenses_once_per_user() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    assert_eq!(seats(&env, &token, E3).await, (5, 50));
    assert_eq!(
        seats(&env, &token, SPE_E3).await,
        (7, 8),
        "5 direct (one of them a disabled account) and 2 more through the group; the member who \
         holds it both ways counts once"
    );
    assert_eq!(seats(&env, &token, EXCHANGE_STANDARD).await, (0, 30));
}

#[tokio::test]
async fn assign_replace_and_remove_move_the_seats_and_answer_with_the_user() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, user) = assign(&env, &token, FINN, add(EXCHANGE_STANDARD, &[])).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["id"], FINN);
    assert_eq!(user["userPrincipalName"], "finn.novak@contoso.example");
    assert_eq!(
        user["assignedLicenses"],
        json!([{"disabledPlans": [], "skuId": EXCHANGE_STANDARD}])
    );
    assert_eq!(
        user["@odata.context"],
        env.url("/v1.0/$metadata#users/$entity")
    );
    assert_eq!(seats(&env, &token, EXCHANGE_STANDARD).await.0, 1);

    // By UPN, adding E3 with a disabled plan; then again with other plans: replaced, one seat.
    let upn = "finn.novak@contoso.example";
    let (status, _) = assign(&env, &token, upn, add(E3, &[E3_EXCHANGE_PLAN])).await;
    assert_eq!(status, 200);
    assert_eq!(seats(&env, &token, E3).await.0, 6);
    let (_, _, details) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{FINN}/licenseDetails"),
        None,
    )
    .await;
    let e3 = details["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["skuId"] == E3)
        .unwrap_or_else(|| panic!("{details}"));
    assert_eq!(e3["skuPartNumber"], "ENTERPRISEPACK");
    assert!(e3["id"].as_str().is_some_and(|s| !s.is_empty()));
    let status_of = |d: &Value, plan: &str| {
        d["servicePlans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["servicePlanId"] == plan)
            .map(|p| p["provisioningStatus"].clone())
    };
    assert_eq!(status_of(e3, E3_EXCHANGE_PLAN), Some(json!("Disabled")));
    assert_eq!(
        status_of(e3, "5dbe027f-2339-4123-9542-606e4d348a72"),
        Some(json!("Success"))
    );
    assert_eq!(details["value"].as_array().unwrap().len(), 2, "{details}");

    let (status, user) = assign(&env, &token, FINN, add(E3, &[])).await;
    assert_eq!(status, 200);
    let e3 = user["assignedLicenses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["skuId"] == E3)
        .cloned();
    assert_eq!(e3, Some(json!({"disabledPlans": [], "skuId": E3})));
    assert_eq!(
        seats(&env, &token, E3).await.0,
        6,
        "adding a SKU held directly replaces its plans"
    );

    // Remove both in one call.
    let (status, user) = assign(
        &env,
        &token,
        FINN,
        json!({"addLicenses": [], "removeLicenses": [E3, EXCHANGE_STANDARD]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(user["assignedLicenses"], json!([]));
    assert_eq!(seats(&env, &token, E3).await.0, 5);
    assert_eq!(seats(&env, &token, EXCHANGE_STANDARD).await.0, 0);
}

#[tokio::test]
async fn a_full_sku_refuses_a_new_holder_but_not_one_who_holds_it_through_a_group() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, _) = assign(&env, &token, FINN, add(SPE_E3, &[])).await;
    assert_eq!(status, 200, "the last free seat");
    assert_eq!(seats(&env, &token, SPE_E3).await, (8, 8));

    let (status, body) = assign(&env, &token, HIROSHI_UPN, add(SPE_E3, &[])).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        &format!("Subscription with SKU {SPE_E3} does not have any available licenses."),
    );
    // The refused call changed nothing, even the part that would fit.
    let (status, body) = assign(
        &env,
        &token,
        HIROSHI_UPN,
        json!({"addLicenses": [{"skuId": EXCHANGE_STANDARD, "disabledPlans": []}, {"skuId": SPE_E3, "disabledPlans": []}], "removeLicenses": []}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(seats(&env, &token, EXCHANGE_STANDARD).await.0, 0);

    // Tariq already uses a seat through the group: a direct assignment takes none.
    let (status, body) = assign(&env, &token, TARIQ, add(SPE_E3, &[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seats(&env, &token, SPE_E3).await, (8, 8));

    // Freeing a seat lets the refused user in.
    let (status, _) = assign(&env, &token, FINN, remove(SPE_E3)).await;
    assert_eq!(status, 200);
    let (status, _) = assign(&env, &token, HIROSHI_UPN, add(SPE_E3, &[])).await;
    assert_eq!(status, 200);
    assert_eq!(seats(&env, &token, SPE_E3).await, (8, 8));
}

#[tokio::test]
async fn assign_license_errors_have_graphs_status_code_and_words() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, body) = assign(&env, &token, GUEST, add(E3, &[])).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        "License assignment cannot be done for user with invalid usage location.",
    );
    let unknown = "11111111-2222-3333-4444-555555555555";
    let (status, body) = assign(&env, &token, FINN, add(unknown, &[])).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        &format!("License {unknown} does not correspond to a valid company License."),
    );
    let (status, body) = assign(&env, &token, FINN, remove(E3)).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        "User does not have a corresponding license.",
    );
    let (status, body) = assign(&env, &token, TARIQ, remove(SPE_E3)).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        "User does not have a corresponding license.",
    );
    let (status, body) = assign(&env, &token, FINN, add(E3, &[unknown])).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        &format!("Plan {unknown} is not part of license {E3}."),
    );
    let (status, body) = assign(&env, &token, FINN, json!({"addLicenses": []})).await;
    assert_graph_error(
        status,
        &body,
        400,
        "Request_BadRequest",
        "Invalid value specified for property 'removeLicenses' of resource 'User'.",
    );
    let (status, body) = assign(&env, &token, "nobody@contoso.example", add(E3, &[])).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        seats(&env, &token, E3).await.0,
        5,
        "no error changed a seat"
    );

    let reader = token_with(&env, &["User.Read.All", "Organization.Read.All"]).await;
    let (status, body) = assign(&env, &reader, FINN, add(E3, &[])).await;
    assert_graph_error(
        status,
        &body,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    );
    let licenser = token_with(&env, &["LicenseAssignment.ReadWrite.All"]).await;
    let (status, body) = assign(&env, &licenser, FINN, add(E3, &[])).await;
    assert_eq!(
        status, 200,
        "LicenseAssignment.ReadWrite.All suffices: {body}"
    );
}

#[tokio::test]
async fn users_serve_direct_and_inherited_license_states() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let select = "id,userPrincipalName,accountEnabled,usageLocation,assignedLicenses,licenseAssignmentStates";
    let (status, _, marcus) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{MARCUS}?$select={select}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{marcus}");
    let states = marcus["licenseAssignmentStates"].as_array().unwrap();
    assert_eq!(states.len(), 2, "{marcus}");
    assert_eq!(states[0]["assignedByGroup"], Value::Null);
    assert_eq!(states[0]["skuId"], SPE_E3);
    assert_eq!(states[1]["assignedByGroup"], STAFF_GROUP);
    assert_eq!(states[1]["skuId"], SPE_E3);
    for s in states {
        assert_eq!(s["state"], "Active");
        assert_eq!(s["error"], "None");
        assert!(s["lastUpdatedDateTime"].is_string());
        assert_eq!(s["disabledPlans"], json!([]));
    }
    assert_eq!(
        marcus["assignedLicenses"],
        json!([{"disabledPlans": [], "skuId": SPE_E3}]),
        "the union holds each SKU once"
    );

    let (status, _, list) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users?$filter=id in ('{TARIQ}','{FINN}')&$select={select}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let users = list["value"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let tariq = users.iter().find(|u| u["id"] == TARIQ).unwrap();
    assert_eq!(
        tariq["licenseAssignmentStates"][0]["assignedByGroup"],
        STAFF_GROUP
    );
    assert_eq!(
        tariq["assignedLicenses"],
        json!([{"disabledPlans": [], "skuId": SPE_E3}])
    );
    let finn = users.iter().find(|u| u["id"] == FINN).unwrap();
    assert_eq!(finn["licenseAssignmentStates"], json!([]));
    assert_eq!(finn["usageLocation"], "US");

    // After a direct assignment, the direct state comes first with its assignment time.
    let (status, _) = assign(&env, &token, TARIQ, add(SPE_E3, &[E3_EXCHANGE_PLAN])).await;
    assert_eq!(status, 200);
    let (_, _, tariq) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{TARIQ}?$select={select}"),
        None,
    )
    .await;
    let states = tariq["licenseAssignmentStates"].as_array().unwrap();
    assert_eq!(states.len(), 2, "{tariq}");
    assert_eq!(states[0]["assignedByGroup"], Value::Null);
    assert_eq!(states[0]["disabledPlans"], json!([E3_EXCHANGE_PLAN]));
    assert_eq!(
        tariq["assignedLicenses"],
        json!([{"disabledPlans": [], "skuId": SPE_E3}]),
        "the group enables the plan the direct license disables"
    );
    // licenseDetails lists inherited SKUs too.
    let (_, _, details) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{MARCUS}/licenseDetails"),
        None,
    )
    .await;
    assert_eq!(details["value"].as_array().unwrap().len(), 1, "{details}");
    assert_eq!(details["value"][0]["skuPartNumber"], "SPE_E3");
}

#[tokio::test]
async fn revoking_sessions_answers_true_and_records_the_time() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 86_400 * 400})),
    )
    .await;
    let token = env.graph_token().await;
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    let now: jiff::Timestamp = state["clock"]["now"].as_str().unwrap().parse().unwrap();
    let (status, _, body) = call(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/users/{FINN}/revokeSignInSessions"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"], true);
    assert_eq!(
        body["@odata.context"],
        env.url("/v1.0/$metadata#Edm.Boolean")
    );
    let (_, _, user) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{FINN}?$select=id,signInSessionsValidFromDateTime"),
        None,
    )
    .await;
    let valid_from: jiff::Timestamp = user["signInSessionsValidFromDateTime"]
        .as_str()
        .unwrap_or_else(|| panic!("{user}"))
        .parse()
        .unwrap();
    let drift = (valid_from.as_second() - now.as_second()).abs();
    assert!(
        drift <= 5,
        "the sandbox clock (400 days ahead) sets it: {valid_from} vs {now}"
    );

    let reader = token_with(&env, &["User.Read.All"]).await;
    let (status, _, body) = call(
        &env,
        &reader,
        Method::POST,
        &format!("/v1.0/users/{FINN}/revokeSignInSessions"),
        None,
    )
    .await;
    assert_graph_error(
        status,
        &body,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    );
    let revoker = token_with(&env, &["User.RevokeSessions.All"]).await;
    let (status, _, _) = call(
        &env,
        &revoker,
        Method::POST,
        &format!("/v1.0/users/{HIROSHI_UPN}/revokeSignInSessions"),
        None,
    )
    .await;
    assert_eq!(status, 200, "User.RevokeSessions.All suffices");
    let (status, _, body) = call(
        &env,
        &revoker,
        Method::POST,
        "/v1.0/users/nobody@contoso.example/revokeSignInSessions",
        None,
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn batches_carry_license_assignments_and_revocations_with_faults_and_the_write_budget() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let json_header = json!({"Content-Type": "application/json"});
    let (status, _, batch) = call(
        &env,
        &token,
        Method::POST,
        "/v1.0/$batch",
        Some(json!({"requests": [
            {"id": "1", "method": "PATCH", "url": format!("/users/{FINN}"), "headers": json_header, "body": {"accountEnabled": false}},
            {"id": "2", "method": "POST", "url": format!("/users/{FINN}/assignLicense"), "headers": json_header, "body": add(EXCHANGE_STANDARD, &[])},
            {"id": "3", "method": "POST", "url": format!("/users/{FINN}/revokeSignInSessions")},
            {"id": "4", "method": "POST", "url": format!("/users/{GUEST}/assignLicense"), "headers": json_header, "body": add(E3, &[])},
        ]})),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    let by_id = |id: &str| {
        batch["responses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_id("1")["status"], 204);
    assert_eq!(by_id("2")["status"], 200);
    assert_eq!(
        by_id("2")["body"]["assignedLicenses"],
        json!([{"disabledPlans": [], "skuId": EXCHANGE_STANDARD}])
    );
    assert_eq!(by_id("3")["status"], 200);
    assert_eq!(by_id("3")["body"]["value"], true);
    assert_eq!(by_id("4")["status"], 400);
    assert_eq!(
        by_id("4")["body"]["error"]["message"],
        "License assignment cannot be done for user with invalid usage location."
    );
    assert_eq!(
        seats(&env, &token, EXCHANGE_STANDARD).await.0,
        1,
        "a disabled account keeps its seat"
    );

    // An injected fault on POSTs to one user's assignLicense hits that item alone.
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 503, "count": 1, "path_prefix": format!("/v1.0/users/{FINN}/assignLicense"), "method": "POST"})),
    )
    .await;
    let (_, _, batch) = call(
        &env,
        &token,
        Method::POST,
        "/v1.0/$batch",
        Some(json!({"requests": [
            {"id": "a", "method": "POST", "url": format!("/users/{FINN}/assignLicense"), "headers": json_header, "body": remove(EXCHANGE_STANDARD)},
            {"id": "b", "method": "POST", "url": format!("/users/{FINN}/revokeSignInSessions")},
        ]})),
    )
    .await;
    let statuses: Vec<(String, u64)> = batch["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(statuses.contains(&("a".into(), 503)), "{statuses:?}");
    assert!(statuses.contains(&("b".into(), 200)), "{statuses:?}");
    assert_eq!(seats(&env, &token, EXCHANGE_STANDARD).await.0, 1);

    // Both count as directory writes.
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"bucket": "graph.directoryWrites", "limit": 1, "window_secs": 3600})),
    )
    .await;
    let (status, _) = assign(&env, &token, FINN, remove(EXCHANGE_STANDARD)).await;
    assert_eq!(status, 200);
    let (status, headers, body) = call(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/users/{FINN}/revokeSignInSessions"),
        None,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(headers.contains_key("retry-after"));
}

#[tokio::test]
async fn buying_seats_through_the_control_endpoint_lets_a_full_sku_take_new_holders() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, _) = assign(&env, &token, FINN, add(SPE_E3, &[])).await;
    assert_eq!(status, 200, "the last free seat");
    let (status, _) = assign(&env, &token, HIROSHI_UPN, add(SPE_E3, &[])).await;
    assert_eq!(status, 400, "the SKU is full");

    let answer = env
        .control(
            Method::PUT,
            "/_sandbox/skus/spe_e3",
            Some(json!({ "enabled": 1000 })),
        )
        .await;
    assert_eq!(answer["skuId"], SPE_E3, "found by part number: {answer}");
    assert_eq!(seats(&env, &token, SPE_E3).await, (8, 1000));
    let (status, body) = assign(&env, &token, HIROSHI_UPN, add(SPE_E3, &[])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(seats(&env, &token, SPE_E3).await, (9, 1000));
}
