//! Okta user writes and System Log polling of the sandbox, over real loopback HTTP.

mod common;

use common::Env;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn next_link(resp: &reqwest::Response) -> Option<String> {
    let link = resp.headers().get("link")?.to_str().unwrap().to_owned();
    link.split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        })
}

fn profile(login: &str) -> Value {
    json!({ "firstName": "Test", "lastName": "Person", "email": login, "login": login, "title": "Tester" })
}

async fn create(env: &Env, query: &str, body: Value) -> (StatusCode, Value) {
    let resp = env
        .okta(Method::POST, &format!("/api/v1/users{query}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

async fn event_types(env: &Env) -> Vec<String> {
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect()
}

async fn assignments_group(env: &Env) -> String {
    let groups: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups?q=Office%20365%20Assignments")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    groups[0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn users_are_created_active_provisioned_or_staged() {
    let env = Env::start().await;
    let (status, user) = create(
        &env,
        "?activate=true",
        json!({ "profile": profile("okta365-test-1@corp.example"), "credentials": { "password": { "value": "Str0ng!Passw0rd" } } }),
    )
    .await;
    assert_eq!(status, 200, "Okta answers 200 to a create: {user}");
    assert_eq!(user["status"], "ACTIVE");
    assert!(user["id"].as_str().unwrap().starts_with("00u"));
    assert_eq!(user["profile"]["login"], "okta365-test-1@corp.example");
    assert!(
        !user.to_string().contains("Str0ng!Passw0rd"),
        "the password is never echoed"
    );
    let (_, provisioned) = create(
        &env,
        "?activate=true",
        json!({ "profile": profile("t2@corp.example") }),
    )
    .await;
    assert_eq!(
        provisioned["status"], "PROVISIONED",
        "activated without a password"
    );
    let (_, staged) = create(
        &env,
        "?activate=false",
        json!({ "profile": profile("t3@corp.example") }),
    )
    .await;
    assert_eq!(staged["status"], "STAGED");
    assert_eq!(staged["activated"], Value::Null);

    // Into a group at creation: a membership event with the user and the group as targets.
    let gid = assignments_group(&env).await;
    let (status, member) = create(
        &env,
        "",
        json!({ "profile": profile("t4@corp.example"), "groupIds": [gid] }),
    )
    .await;
    assert_eq!(status, 200);
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let add = events
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["eventType"] == "group.user_membership.add")
        .unwrap();
    assert_eq!(add["target"][0]["id"], member["id"]);
    assert_eq!(add["target"][1]["id"], gid.as_str());

    let read: Value = env
        .okta(Method::GET, "/api/v1/users/okta365-test-1@corp.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["id"], user["id"]);
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    assert!(!state.to_string().contains("Str0ng!Passw0rd"));
    assert!(
        event_types(&env)
            .await
            .contains(&"user.lifecycle.create".to_owned())
    );
}

#[tokio::test]
async fn creating_a_user_is_validated_like_okta() {
    let env = Env::start().await;
    let mut no_login = profile("x@corp.example");
    no_login.as_object_mut().unwrap().remove("login");
    let cases = [
        (json!({ "profile": no_login }), "login"),
        (json!({ "profile": profile("not-an-email") }), "login"),
        (
            json!({ "profile": profile("marcus.thompson@corp.example") }),
            "login",
        ),
        (
            json!({ "profile": { "login": "y@corp.example", "email": "y@corp.example", "lastName": "P" } }),
            "firstName",
        ),
        (json!({ "nothing": true }), "profile"),
    ];
    for (body, field) in cases {
        let (status, e) = create(&env, "", body.clone()).await;
        assert_eq!(status, 400, "{body}: {e}");
        assert_eq!(e["errorCode"], "E0000001");
        assert_eq!(
            e["errorSummary"],
            format!("Api validation failed: {field}"),
            "{body}"
        );
        assert!(e["errorCauses"][0]["errorSummary"].is_string());
    }
    let resp = env
        .okta(Method::POST, "/api/v1/users")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn a_partial_update_changes_only_the_given_attributes_and_is_logged() {
    let env = Env::start().await;
    let before: Value = env
        .okta(Method::GET, "/api/v1/users/marcus.thompson@corp.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uid = before["id"].as_str().unwrap();
    let resp = env
        .okta(Method::POST, &format!("/api/v1/users/{uid}"))
        .json(&json!({ "profile": { "title": "Chair", "mobilePhone": null } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let after: Value = resp.json().await.unwrap();
    assert_eq!(after["profile"]["title"], "Chair");
    assert!(after["profile"].get("mobilePhone").is_none(), "null clears");
    assert_eq!(
        after["profile"]["department"], before["profile"]["department"],
        "other attributes stay"
    );
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let update = &events[0];
    assert_eq!(update["eventType"], "user.account.update_profile");
    assert_eq!(update["target"][0]["id"], uid);
    assert_eq!(update["target"][0]["type"], "User");
    // Nothing changed: no event.
    env.okta(Method::POST, &format!("/api/v1/users/{uid}"))
        .json(&json!({ "profile": { "title": "Chair" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(event_types(&env).await.len(), 1);
    let resp = env
        .okta(Method::POST, "/api/v1/users/00uMissing0000000000")
        .json(&json!({ "profile": { "title": "x" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = env
        .okta(Method::POST, &format!("/api/v1/users/{uid}"))
        .json(&json!({ "profile": { "login": "isabella.singh@corp.example" } }))
        .send()
        .await
        .unwrap();
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["errorCode"], "E0000001", "a login must stay unique: {e}");
}

#[tokio::test]
async fn delete_deactivates_first_then_deletes() {
    let env = Env::start().await;
    let gid = assignments_group(&env).await;
    let (_, user) = create(
        &env,
        "",
        json!({ "profile": profile("gone@corp.example"), "groupIds": [gid] }),
    )
    .await;
    let path = format!("/api/v1/users/{}", user["id"].as_str().unwrap());
    let first = env.okta(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    let read: Value = env
        .okta(Method::GET, &path)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["status"], "DEPROVISIONED",
        "the first DELETE deactivates"
    );
    let second = env.okta(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(second.status(), StatusCode::NO_CONTENT);
    let gone = env.okta(Method::GET, &path).send().await.unwrap();
    assert_eq!(gone.status(), 404, "the second DELETE deletes");
    let members: Vec<Value> = env
        .okta(
            Method::GET,
            &format!("/api/v1/groups/{gid}/users?limit=1000"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        members.iter().all(|m| m["id"] != user["id"]),
        "memberships go too"
    );
    let types = event_types(&env).await;
    assert!(
        types.ends_with(&[
            "user.lifecycle.deactivate".to_owned(),
            "user.lifecycle.delete.initiated".to_owned()
        ]),
        "{types:?}"
    );
    assert_eq!(
        env.okta(Method::DELETE, &path)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn system_log_polling_sees_later_events_on_the_saved_next_link() {
    let env = Env::start().await;
    let gid = assignments_group(&env).await;
    let now = env.control(Method::GET, "/_sandbox/state", None).await["clock"]["now"]
        .as_str()
        .unwrap()
        .to_owned();
    // An event before `since` is not replayed.
    let (_, early) = create(
        &env,
        "",
        json!({ "profile": profile("early@corp.example") }),
    )
    .await;
    env.okta(
        Method::PUT,
        &format!(
            "/api/v1/groups/{gid}/users/{}",
            early["id"].as_str().unwrap()
        ),
    )
    .header("content-length", "0")
    .send()
    .await
    .unwrap();
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 5})),
    )
    .await;
    let since = env.control(Method::GET, "/_sandbox/state", None).await["clock"]["now"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(since > now);
    let filter = format!(
        "(eventType eq \"group.user_membership.add\" or eventType eq \"group.user_membership.remove\" or eventType eq \"user.account.update_profile\") and target.id eq \"{gid}\""
    );
    let first = env
        .okta(Method::GET, "/api/v1/logs")
        .query(&[
            ("filter", filter.as_str()),
            ("since", since.as_str()),
            ("sortOrder", "ASCENDING"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let saved = next_link(&first).expect("polling always has a next link");
    let page: Vec<Value> = first.json().await.unwrap();
    assert!(page.is_empty(), "nothing since `since`: {page:?}");
    // An empty page still has next.
    let again = env.okta_url(Method::GET, &saved).send().await.unwrap();
    assert!(next_link(&again).is_some());
    assert!(again.json::<Vec<Value>>().await.unwrap().is_empty());

    // Later events: an add and a remove for the group, a profile update (no group target: filtered out),
    // and an add to another group (filtered out).
    let (_, later) = create(
        &env,
        "",
        json!({ "profile": profile("later@corp.example") }),
    )
    .await;
    let uid = later["id"].as_str().unwrap();
    let member = format!("/api/v1/groups/{gid}/users/{uid}");
    env.okta(Method::PUT, &member)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    env.okta(Method::POST, &format!("/api/v1/users/{uid}"))
        .json(&json!({"profile": {"title": "Changed"}}))
        .send()
        .await
        .unwrap();
    env.okta(Method::DELETE, &member).send().await.unwrap();
    let resp = env.okta_url(Method::GET, &saved).send().await.unwrap();
    let next = next_link(&resp).expect("next is always present");
    let events: Vec<Value> = resp.json().await.unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["group.user_membership.add", "group.user_membership.remove"],
        "{events:?}"
    );
    assert!(events.iter().all(|e| e["target"][0]["id"] == uid));
    // The next link of that page sees nothing new until something happens.
    let resp = env.okta_url(Method::GET, &next).send().await.unwrap();
    assert!(resp.json::<Vec<Value>>().await.unwrap().is_empty());

    // The profile update is found by its own filter.
    let resp = env
        .okta(Method::GET, "/api/v1/logs")
        .query(&[
            (
                "filter",
                format!("eventType eq \"user.account.update_profile\" and target.id eq \"{uid}\"")
                    .as_str(),
            ),
            ("since", since.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let found: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(found.len(), 1);
    let bad = env
        .okta(Method::GET, "/api/v1/logs")
        .query(&[("filter", "eventType eq")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let e: Value = bad.json().await.unwrap();
    assert_eq!(e["errorCode"], "E0000053");
}
