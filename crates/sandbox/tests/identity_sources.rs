//! Okta's Identity Sources API (import sessions) of the sandbox, over real loopback HTTP: the status
//! machine, Okta's session and upload rules with their error bodies, processing on the sandbox clock
//! into the org's users, and the control endpoints.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Env;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// The seeded Custom Identity Source ("HR import").
const SOURCE: &str = "0oa5hrsrc0sandbox1d7";

fn sessions(rest: &str) -> String {
    format!("/api/v1/identity-sources/{SOURCE}/sessions{rest}")
}

async fn call(env: &Env, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let req = env.okta(method, path);
    let req = match body {
        Some(b) => req.json(&b),
        None => req.header("content-length", "0"),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    };
    (status, body)
}

async fn create(env: &Env) -> String {
    let (status, s) = call(env, Method::POST, &sessions(""), None).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "CREATED");
    s["id"].as_str().unwrap().to_owned()
}

async fn session(env: &Env, id: &str) -> Value {
    let (status, s) = call(env, Method::GET, &sessions(&format!("/{id}")), None).await;
    assert_eq!(status, 200, "{s}");
    s
}

async fn upsert(env: &Env, id: &str, profiles: Vec<Value>) -> (StatusCode, Value) {
    call(
        env,
        Method::POST,
        &sessions(&format!("/{id}/bulk-upsert")),
        Some(json!({ "entityType": "USERS", "profiles": profiles })),
    )
    .await
}

async fn delete_users(env: &Env, id: &str, external_ids: &[&str]) -> (StatusCode, Value) {
    let profiles: Vec<Value> = external_ids
        .iter()
        .map(|e| json!({ "externalId": e }))
        .collect();
    call(
        env,
        Method::POST,
        &sessions(&format!("/{id}/bulk-delete")),
        Some(json!({ "entityType": "USERS", "profiles": profiles })),
    )
    .await
}

async fn start(env: &Env, id: &str) -> (StatusCode, Value) {
    call(
        env,
        Method::POST,
        &sessions(&format!("/{id}/start-import")),
        None,
    )
    .await
}

async fn advance(env: &Env, secs: i64) {
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({ "advance_secs": secs })),
    )
    .await;
}

async fn rules(env: &Env, rules: Value) -> Value {
    env.control(
        Method::POST,
        "/_sandbox/identity-sources/rules",
        Some(rules),
    )
    .await
}

/// One identity-source user, `hr-{n}` / `person{n}@hr.example`.
fn person(n: usize) -> Value {
    json!({ "externalId": format!("hr-{n}"), "profile": {
        "userName": format!("person{n}@hr.example"), "email": format!("person{n}@hr.example"),
        "firstName": "Person", "lastName": format!("Number {n}") } })
}

/// The `errorCauses` summaries of an Okta error body.
fn causes(body: &Value) -> Vec<String> {
    body["errorCauses"]
        .as_array()
        .unwrap_or_else(|| panic!("no errorCauses in {body}"))
        .iter()
        .map(|c| c["errorSummary"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 400 E0000001 with a cause containing `needle`.
fn assert_invalid(status: StatusCode, body: &Value, needle: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errorCode"], "E0000001", "{body}");
    assert!(
        causes(body).iter().any(|c| c.contains(needle)),
        "no cause mentions {needle:?}: {body}"
    );
}

async fn user(env: &Env, login: &str) -> (StatusCode, Value) {
    call(env, Method::GET, &format!("/api/v1/users/{login}"), None).await
}

async fn stats(env: &Env) -> Value {
    env.control(
        Method::GET,
        &format!("/_sandbox/identity-sources/{SOURCE}/stats"),
        None,
    )
    .await
}

#[tokio::test]
async fn a_session_imports_creates_updates_deactivates_and_reactivates_users() {
    let env = Env::start().await;
    let id = create(&env).await;
    assert!(id.starts_with("aps"), "{id}");
    let s = session(&env, &id).await;
    assert_eq!(s["identitySourceId"], SOURCE);
    assert_eq!(s["importType"], "INCREMENTAL");
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "the CREATED one is active"
    );

    let mut rich = person(1);
    rich["profile"]
        .as_object_mut()
        .unwrap()
        .extend(json!({ "title": "Recruiter", "city": "Kraków", "countryCode": "PL",
            "streetAddress": "12 ulica Długa", "zipCode": "31-042", "mobilePhone": "+48 700 100 200",
            "displayName": "Zoë Müller", "primaryPhone": "+48 555 0101", "state": "Małopolskie",
            "secondEmail": "zoe@home.example" }).as_object().unwrap().clone());
    let (status, body) = upsert(&env, &id, vec![rich, person(2), person(3)]).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.is_null(), "202 has no body: {body}");
    let (status, _) = delete_users(&env, &id, &["hr-unknown"]).await;
    assert_eq!(
        status, 202,
        "unknown external ids are accepted (and ignored)"
    );

    let (status, s) = start(&env, &id).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["status"], "TRIGGERED");
    assert_eq!(session(&env, &id).await["status"], "TRIGGERED");
    let (status, _) = user(&env, "person1@hr.example").await;
    assert_eq!(status, 404, "nothing is applied while processing");
    // 5 s + 2 s per 1,000 users.
    advance(&env, 6).await;
    // Reading the list is enough to finish processing.
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(list, json!([]), "a completed session is not active");
    let s = session(&env, &id).await;
    assert_eq!(s["status"], "COMPLETED");
    assert!(s["lastUpdated"].as_str().unwrap() > s["created"].as_str().unwrap());

    let (status, u) = user(&env, "person1@hr.example").await;
    assert_eq!(status, 200, "{u}");
    assert_eq!(u["status"], "ACTIVE");
    let p = &u["profile"];
    assert_eq!(p["login"], "person1@hr.example");
    assert_eq!(p["email"], "person1@hr.example");
    assert_eq!(p["firstName"], "Person");
    assert_eq!(p["title"], "Recruiter");
    assert_eq!(p["city"], "Kraków");
    assert_eq!(p["displayName"], "Zoë Müller");
    assert_eq!(p["secondEmail"], "zoe@home.example");
    assert_eq!(p["zipCode"], "31-042");
    assert!(p.get("userName").is_none(), "userName becomes login");
    let uid = u["id"].as_str().unwrap().to_owned();
    let listed: Vec<Value> = env
        .okta(
            Method::GET,
            "/api/v1/users?search=profile.email%20sw%20%22person%22",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3, "the three users are in GET /api/v1/users");
    let st = stats(&env).await;
    assert_eq!(
        st,
        json!({"sessions": 1, "bulkRequests": 2, "usersUpserted": 3, "usersDeleted": 1})
    );
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let created = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "user.lifecycle.create")
        .count();
    assert_eq!(created, 3, "one user.lifecycle.create per new user");

    // A second session (after the 5 minutes): update one, deactivate another.
    advance(&env, 300).await;
    let id2 = create(&env).await;
    let mut changed = person(1);
    changed["profile"]["title"] = json!("Head of Recruiting");
    changed["profile"]["mobilePhone"] = Value::Null;
    assert_eq!(upsert(&env, &id2, vec![changed]).await.0, 202);
    assert_eq!(delete_users(&env, &id2, &["hr-2"]).await.0, 202);
    assert_eq!(start(&env, &id2).await.0, 200);
    advance(&env, 6).await;
    assert_eq!(session(&env, &id2).await["status"], "COMPLETED");
    let (_, u) = user(&env, &uid).await;
    assert_eq!(
        u["id"], uid,
        "the linked user is updated, not created again"
    );
    assert_eq!(u["profile"]["title"], "Head of Recruiting");
    assert!(
        u["profile"].get("mobilePhone").is_none(),
        "null clears: {u}"
    );
    let (_, gone) = user(&env, "person2@hr.example").await;
    assert_eq!(gone["status"], "DEPROVISIONED", "bulk-delete deactivates");
    let active: Vec<Value> = env
        .okta(Method::GET, "/api/v1/users?limit=200")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !active
            .iter()
            .any(|u| u["profile"]["login"] == "person2@hr.example"),
        "a deactivated user leaves the default user list"
    );

    // A third one brings the deactivated user back.
    advance(&env, 300).await;
    let id3 = create(&env).await;
    assert_eq!(upsert(&env, &id3, vec![person(2)]).await.0, 202);
    assert_eq!(start(&env, &id3).await.0, 200);
    advance(&env, 6).await;
    assert_eq!(session(&env, &id3).await["status"], "COMPLETED");
    let (_, back) = user(&env, "person2@hr.example").await;
    assert_eq!(back["status"], "ACTIVE");
    let st = stats(&env).await;
    assert_eq!(
        st,
        json!({"sessions": 3, "bulkRequests": 5, "usersUpserted": 5, "usersDeleted": 2})
    );
}

#[tokio::test]
async fn one_active_session_and_one_new_session_every_five_minutes() {
    let env = Env::start().await;
    let id = create(&env).await;
    let (status, body) = call(&env, Method::POST, &sessions(""), None).await;
    assert_invalid(status, &body, &id);
    assert_invalid(status, &body, "Only one active import session");
    let (status, _) = call(&env, Method::DELETE, &sessions(&format!("/{id}")), None).await;
    assert_eq!(status, 204);
    assert_eq!(session(&env, &id).await["status"], "CLOSED");
    let (status, body) = call(&env, Method::POST, &sessions(""), None).await;
    assert_invalid(status, &body, "every 300 seconds");
    advance(&env, 290).await;
    let (status, _) = call(&env, Method::POST, &sessions(""), None).await;
    assert_eq!(status, 400, "still within 5 minutes");
    advance(&env, 11).await;
    let id2 = create(&env).await;

    // Scaled down for tests.
    let r = rules(&env, json!({ "minGapSecs": 10 })).await;
    assert_eq!(
        r,
        json!({"minGapSecs": 10.0, "processingSecs": 5.0, "secsPer1000Users": 2.0})
    );
    assert_eq!(
        call(&env, Method::DELETE, &sessions(&format!("/{id2}")), None)
            .await
            .0,
        204
    );
    let (status, body) = call(&env, Method::POST, &sessions(""), None).await;
    assert_invalid(status, &body, "every 10 seconds");
    advance(&env, 10).await;
    create(&env).await;

    // The rules endpoint checks what it is given.
    let (status, _) = call(
        &env,
        Method::POST,
        "/_sandbox/identity-sources/rules",
        Some(json!({"minGapSecs": -1})),
    )
    .await;
    assert_eq!(status, 400, "negative rules are refused");
    let (status, _) = call(
        &env,
        Method::POST,
        "/_sandbox/identity-sources/rules",
        Some(json!({"minGap": 1})),
    )
    .await;
    assert_eq!(status, 400, "unknown rules are refused");
}

#[tokio::test]
async fn delete_and_start_import_only_work_on_created_sessions() {
    let env = Env::start().await;
    rules(&env, json!({ "minGapSecs": 0 })).await;
    let id = create(&env).await;
    assert_eq!(upsert(&env, &id, vec![person(1)]).await.0, 202);
    let (status, s) = start(&env, &id).await;
    assert_eq!(
        (status, s["status"].as_str()),
        (StatusCode::OK, Some("TRIGGERED"))
    );
    let (status, body) = call(&env, Method::POST, &sessions(""), None).await;
    assert_invalid(status, &body, "TRIGGERED");
    let (status, body) = call(&env, Method::DELETE, &sessions(&format!("/{id}")), None).await;
    assert_invalid(status, &body, "only a CREATED session can be deleted");
    let (status, body) = start(&env, &id).await;
    assert_invalid(status, &body, "only be started from a CREATED session");
    let (status, body) = upsert(&env, &id, vec![person(2)]).await;
    assert_invalid(status, &body, "only be uploaded to a CREATED session");
    let (status, body) = delete_users(&env, &id, &["hr-1"]).await;
    assert_invalid(status, &body, "TRIGGERED");
    advance(&env, 6).await;
    assert_eq!(session(&env, &id).await["status"], "COMPLETED");
    let (status, body) = call(&env, Method::DELETE, &sessions(&format!("/{id}")), None).await;
    assert_invalid(status, &body, "COMPLETED");
    let (status, body) = start(&env, &id).await;
    assert_invalid(status, &body, "COMPLETED");
    // A closed session takes nothing either.
    let closed = create(&env).await;
    assert_eq!(
        call(&env, Method::DELETE, &sessions(&format!("/{closed}")), None)
            .await
            .0,
        204
    );
    let (status, body) = upsert(&env, &closed, vec![person(3)]).await;
    assert_invalid(status, &body, "CLOSED");
    let (status, body) = call(&env, Method::DELETE, &sessions(&format!("/{closed}")), None).await;
    assert_invalid(status, &body, "CLOSED");
}

#[tokio::test]
async fn unknown_sources_and_sessions_are_404() {
    let env = Env::start().await;
    let id = create(&env).await;
    for (method, path) in [
        (
            Method::GET,
            "/api/v1/identity-sources/0oaNoSuchSource00000/sessions".to_owned(),
        ),
        (
            Method::POST,
            "/api/v1/identity-sources/0oaNoSuchSource00000/sessions".to_owned(),
        ),
        (
            Method::GET,
            format!("/api/v1/identity-sources/0oaNoSuchSource00000/sessions/{id}"),
        ),
        (Method::GET, sessions("/apsNoSuchSession0000")),
        (Method::DELETE, sessions("/apsNoSuchSession0000")),
        (Method::POST, sessions("/apsNoSuchSession0000/start-import")),
    ] {
        let (status, body) = call(&env, method.clone(), &path, None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(body["errorCode"], "E0000007", "{body}");
    }
    let (status, body) = upsert(&env, "apsNoSuchSession0000", vec![person(1)]).await;
    assert_eq!(
        (status.as_u16(), body["errorCode"].as_str()),
        (404, Some("E0000007"))
    );
    let (status, _) = delete_users(&env, "apsNoSuchSession0000", &["x"]).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &env,
        Method::GET,
        "/_sandbox/identity-sources/0oaNoSuchSource00000/stats",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bulk_bodies_are_checked_with_one_cause_per_problem() {
    let env = Env::start().await;
    let id = create(&env).await;
    let path = sessions(&format!("/{id}/bulk-upsert"));
    let post = |body: Value| call(&env, Method::POST, &path, Some(body));

    let (s, b) = post(json!({"entityType": "USERS", "profiles": []})).await;
    assert_invalid(s, &b, "1 to 200 profiles, this one has 0");
    let (s, b) = post(json!({"entityType": "USERS"})).await;
    assert_invalid(s, &b, "profiles: The field cannot be left blank");
    let (s, b) = post(json!({"entityType": "USERS", "profiles": {"externalId": "1"}})).await;
    assert_invalid(s, &b, "profiles: must be an array");
    let many: Vec<Value> = (0..201).map(person).collect();
    let (s, b) = post(json!({"entityType": "USERS", "profiles": many})).await;
    assert_invalid(s, &b, "this one has 201");
    let (s, b) = post(json!({"entityType": "GROUPS", "profiles": [person(1)]})).await;
    assert_invalid(s, &b, "entityType: must be USERS");

    let mut number = person(1);
    number["profile"]["title"] = json!(7);
    let mut boolean = person(2);
    boolean["profile"]["firstName"] = json!(true);
    let mut long_id = person(3);
    long_id["externalId"] = json!("x".repeat(513));
    let mut no_email = person(4);
    no_email["profile"].as_object_mut().unwrap().remove("email");
    let mut no_user = person(5);
    no_user["profile"]
        .as_object_mut()
        .unwrap()
        .remove("userName");
    let mut bad_email = person(6);
    bad_email["profile"]["email"] = json!("not an email");
    let no_external = json!({"profile": person(7)["profile"]});
    let no_profile = json!({"externalId": "hr-8"});
    let (s, b) = post(json!({"entityType": "USERS", "profiles": [
        person(0), number, boolean, long_id, no_email, no_user, bad_email, no_external, no_profile]}))
    .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["errorCode"], "E0000001");
    assert_eq!(b["errorSummary"], "Api validation failed: profiles");
    let c = causes(&b);
    for needle in [
        "profiles[1].profile.title: must be a string",
        "profiles[2].profile.firstName: must be a string",
        "profiles[3].externalId: is 513 characters long; at most 512",
        "profiles[4].profile.email: The field cannot be left blank",
        "profiles[5].profile.userName: The field cannot be left blank",
        "profiles[6].profile.email: \"not an email\" does not match",
        "profiles[7].externalId: The field cannot be left blank",
        "profiles[8].profile: The field cannot be left blank",
    ] {
        assert!(
            c.iter().any(|x| x.contains(needle)),
            "{needle:?} not in {c:#?}"
        );
    }
    assert!(
        !c.iter().any(|x| x.contains("profiles[0]")),
        "the valid profile has no cause: {c:#?}"
    );
    assert_eq!(c.len(), 8, "{c:#?}");

    let (s, b) = call(
        &env,
        Method::POST,
        &path,
        None, // Content-Length: 0, no JSON
    )
    .await;
    assert_eq!(
        (s.as_u16(), b["errorCode"].as_str()),
        (400, Some("E0000003"))
    );

    let del = sessions(&format!("/{id}/bulk-delete"));
    let (s, b) = call(
        &env,
        Method::POST,
        &del,
        Some(json!({"entityType": "USERS", "profiles": []})),
    )
    .await;
    assert_invalid(s, &b, "1 to 200 profiles");
    let (s, b) = call(
        &env,
        Method::POST,
        &del,
        Some(json!({"entityType": "USERS", "profiles": [{"externalId": "ok"}, {"externalId": 5}, {}]})),
    )
    .await;
    assert_invalid(s, &b, "profiles[1].externalId: must be a string");
    assert_invalid(
        s,
        &b,
        "profiles[2].externalId: The field cannot be left blank",
    );

    // Refused requests are not counted; exactly 512 characters is fine.
    assert_eq!(stats(&env).await["bulkRequests"], 0);
    let mut max_id = person(9);
    max_id["externalId"] = json!("é".repeat(512));
    let mut nullable = person(10);
    nullable["profile"]["lastName"] = Value::Null;
    let (s, b) = upsert(&env, &id, vec![max_id, nullable]).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(stats(&env).await["bulkRequests"], 1);
}

#[tokio::test]
async fn a_session_takes_at_most_50_requests_and_10000_users() {
    let env = Env::start().await;
    let id = create(&env).await;
    for chunk in 0..50 {
        let profiles: Vec<Value> = (chunk * 200..(chunk + 1) * 200).map(person).collect();
        let (s, b) = upsert(&env, &id, profiles).await;
        assert_eq!(s, 202, "request {} of 50: {b}", chunk + 1);
    }
    // 10,001 distinct users.
    let (s, b) = upsert(&env, &id, vec![person(10_000)]).await;
    assert_invalid(s, &b, "at most 10000 distinct users");
    // The 51st request, naming a user the session already has.
    let (s, b) = upsert(&env, &id, vec![person(5)]).await;
    assert_invalid(s, &b, "at most 50 bulk requests");
    let (s, b) = delete_users(&env, &id, &["hr-6"]).await;
    assert_invalid(s, &b, "at most 50 bulk requests");

    let (s, _) = start(&env, &id).await;
    assert_eq!(s, 200);
    // 5 s + 2 s × 10,000 / 1,000 = 25 s.
    advance(&env, 22).await;
    assert_eq!(
        session(&env, &id).await["status"],
        "IN_PROGRESS",
        "past half of its processing, a session's users are being applied"
    );
    advance(&env, 4).await;
    assert_eq!(session(&env, &id).await["status"], "COMPLETED");
    let st = stats(&env).await;
    assert_eq!(st["usersUpserted"], 10_000);
    assert_eq!(st["bulkRequests"], 50);
    for n in [0, 4_999, 9_999] {
        let (status, u) = user(&env, &format!("person{n}@hr.example")).await;
        assert_eq!(
            (status.as_u16(), u["status"].as_str()),
            (200, Some("ACTIVE"))
        );
    }
}

#[tokio::test]
async fn fifty_small_requests_then_the_51st_is_refused() {
    let env = Env::start().await;
    let id = create(&env).await;
    for n in 0..50 {
        let (s, b) = if n % 2 == 0 {
            upsert(&env, &id, vec![person(n)]).await
        } else {
            delete_users(&env, &id, &[&format!("gone-{n}")]).await
        };
        assert_eq!(s, 202, "request {}: {b}", n + 1);
    }
    let (s, b) = upsert(&env, &id, vec![person(100)]).await;
    assert_invalid(s, &b, "at most 50 bulk requests; session");
    assert_eq!(stats(&env).await["bulkRequests"], 50);
}

#[tokio::test]
async fn fail_next_ends_the_next_session_in_error_without_changes() {
    let env = Env::start().await;
    rules(
        &env,
        json!({"minGapSecs": 0, "processingSecs": 1, "secsPer1000Users": 0}),
    )
    .await;
    let failed = env
        .control(Method::POST, "/_sandbox/identity-sources/fail-next", None)
        .await;
    assert_eq!(failed["failNext"], 1);
    let id = create(&env).await;
    assert_eq!(upsert(&env, &id, vec![person(1)]).await.0, 202);
    assert_eq!(start(&env, &id).await.0, 200);
    advance(&env, 2).await;
    assert_eq!(session(&env, &id).await["status"], "ERROR");
    assert_eq!(
        user(&env, "person1@hr.example").await.0,
        404,
        "nothing applied"
    );
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(list, json!([]), "an ERROR session is not active");
    let (status, body) = call(&env, Method::DELETE, &sessions(&format!("/{id}")), None).await;
    assert_invalid(status, &body, "ERROR");
    // Only the next one fails.
    let id2 = create(&env).await;
    assert_eq!(upsert(&env, &id2, vec![person(1)]).await.0, 202);
    assert_eq!(start(&env, &id2).await.0, 200);
    advance(&env, 2).await;
    assert_eq!(session(&env, &id2).await["status"], "COMPLETED");
    assert_eq!(user(&env, "person1@hr.example").await.0, 200);
    assert_eq!(
        stats(&env).await["usersUpserted"],
        1,
        "the failed session counts no users"
    );
}

#[tokio::test]
async fn an_idle_created_session_expires_after_24_hours() {
    let env = Env::start().await;
    let id = create(&env).await;
    advance(&env, 20 * 3600).await;
    assert_eq!(
        upsert(&env, &id, vec![person(1)]).await.0,
        202,
        "an upload is activity"
    );
    advance(&env, 23 * 3600).await;
    assert_eq!(
        session(&env, &id).await["status"],
        "CREATED",
        "idle for 23 h only"
    );
    advance(&env, 3600).await;
    assert_eq!(session(&env, &id).await["status"], "EXPIRED");
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(list, json!([]));
    let (status, body) = upsert(&env, &id, vec![person(2)]).await;
    assert_invalid(status, &body, "EXPIRED");
    let (status, body) = start(&env, &id).await;
    assert_invalid(status, &body, "EXPIRED");
    create(&env).await;
}

#[tokio::test]
async fn rules_and_sessions_are_reset_with_the_sandbox() {
    let env = Env::start().await;
    rules(&env, json!({"minGapSecs": 1, "processingSecs": 0})).await;
    env.control(Method::POST, "/_sandbox/identity-sources/fail-next", None)
        .await;
    create(&env).await;
    env.control(Method::POST, "/_sandbox/reset", None).await;
    let r = env
        .control(Method::GET, "/_sandbox/identity-sources/rules", None)
        .await;
    assert_eq!(
        r,
        json!({"minGapSecs": 300.0, "processingSecs": 5.0, "secsPer1000Users": 2.0})
    );
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(list, json!([]));
    assert_eq!(stats(&env).await["sessions"], 0);
    let again = env
        .control(Method::POST, "/_sandbox/identity-sources/fail-next", None)
        .await;
    assert_eq!(again["failNext"], 1, "the pending failure was reset too");
}

#[tokio::test]
async fn okta_rate_limits_apply_to_identity_sources() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"bucket": "default", "limit": 2})),
    )
    .await;
    let mut last = None;
    for _ in 0..3 {
        let resp = env.okta(Method::GET, &sessions("")).send().await.unwrap();
        assert!(resp.headers().contains_key("x-rate-limit-remaining"));
        last = Some((resp.status(), resp.json::<Value>().await.unwrap()));
    }
    let (status, body) = last.unwrap();
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errorCode"], "E0000047");
}

// ---- OAuth: the identity-sources scopes

async fn read_only_token(env: &Env) -> String {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "k1", "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
                     "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be())});
    let app = env
        .control(
            Method::POST,
            "/_sandbox/okta/service-apps",
            Some(
                json!({"jwks": {"keys": [jwk]}, "scopes": ["okta.identitySources.read"],
                        "adminRoles": ["SUPER_ADMIN"], "dpopBound": false}),
            ),
        )
        .await;
    let client_id = app["clientId"].as_str().unwrap();
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": env.url("/oauth2/v1/token"),
                        "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()});
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let key = EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes());
    let assertion = jsonwebtoken::encode(&h, &claims, &key).unwrap();
    let token: Value = env
        .http
        .post(env.url("/oauth2/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "okta.identitySources.read"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {token}"))
        .to_owned()
}

#[tokio::test]
async fn writes_need_the_manage_scope() {
    let env = Env::start().await;
    let token = read_only_token(&env).await;
    let read = env
        .http
        .get(env.url(&sessions("")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.status(),
        200,
        "okta.identitySources.read lists sessions"
    );
    let write = env
        .http
        .post(env.url(&sessions("")))
        .bearer_auth(&token)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 403);
    let body: Value = write.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000006", "{body}");
    let (_, list) = call(&env, Method::GET, &sessions(""), None).await;
    assert_eq!(list, json!([]), "the refused create made no session");
}

#[tokio::test]
async fn sessions_survive_a_restart_of_a_file_backed_sandbox() {
    use okta365_sandbox::{Sandbox, SandboxConfig, StateLocation, mint_demo_credentials};
    let dir = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        state: StateLocation::File(dir.path().join("state.json")),
        ..SandboxConfig::in_memory()
    };
    let sandbox = Sandbox::start(config.clone()).await.unwrap();
    let creds = mint_demo_credentials(&sandbox.urls().base).await.unwrap();
    let env = Env {
        sandbox,
        creds,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    let id = create(&env).await;
    assert_eq!(upsert(&env, &id, vec![person(1)]).await.0, 202);
    let Env {
        sandbox,
        creds,
        http,
    } = env;
    sandbox.shutdown().await;
    let env = Env {
        sandbox: Sandbox::start(config).await.unwrap(),
        creds,
        http,
    };
    assert_eq!(session(&env, &id).await["status"], "CREATED");
    assert_eq!(start(&env, &id).await.0, 200);
    advance(&env, 6).await;
    assert_eq!(session(&env, &id).await["status"], "COMPLETED");
    assert_eq!(
        user(&env, "person1@hr.example").await.0,
        200,
        "the data uploaded before the restart was applied"
    );
}

#[test]
fn the_demo_identity_source_id_is_the_seeded_one() {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../seed/demo.json")).expect("the demo seed is JSON");
    assert_eq!(
        json["okta"]["identitySources"][0]["id"],
        okta365_sandbox::DEMO_IDENTITY_SOURCE_ID
    );
}

#[tokio::test]
async fn a_session_is_applied_and_completed_on_time_without_being_polled() {
    use okta365_sandbox::{Sandbox, SandboxConfig, StateLocation, mint_demo_credentials};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state.json");
    let sandbox = Sandbox::start(SandboxConfig {
        state: StateLocation::File(file.clone()),
        ..SandboxConfig::in_memory()
    })
    .await
    .unwrap();
    let creds = mint_demo_credentials(&sandbox.urls().base).await.unwrap();
    let env = Env {
        sandbox,
        creds,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };
    rules(
        &env,
        json!({ "processingSecs": 0.8, "secsPer1000Users": 0, "minGapSecs": 1 }),
    )
    .await;
    let id = create(&env).await;
    assert_eq!(upsert(&env, &id, vec![person(1)]).await.0, 202);
    assert_eq!(start(&env, &id).await.0, 200);
    assert_eq!(user(&env, "person1@hr.example").await.0, 404);
    let saved_status = || {
        let state: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        let text = state.to_string();
        ["TRIGGERED", "IN_PROGRESS", "COMPLETED"]
            .into_iter()
            .find(|s| text.contains(&format!("\"status\":\"{s}\"")))
            .map(str::to_owned)
    };
    assert_eq!(saved_status().as_deref(), Some("TRIGGERED"));
    // Half way through (0.4 s), with no request about sessions: the Users API does not touch them.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        user(&env, "person1@hr.example").await.0,
        200,
        "the users are applied half way through processing"
    );
    assert_eq!(saved_status().as_deref(), Some("IN_PROGRESS"));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        saved_status().as_deref(),
        Some("COMPLETED"),
        "the session completes at the end of its processing, saved without any request"
    );
    assert_eq!(session(&env, &id).await["status"], "COMPLETED");
}
