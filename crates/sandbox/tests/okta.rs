//! The Okta management API of the sandbox, over real loopback HTTP.

mod common;

use std::collections::HashSet;

use common::Env;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn next_link(resp: &reqwest::Response) -> Option<String> {
    let link = resp.headers().get("link")?.to_str().unwrap().to_owned();
    assert!(
        link.contains("rel=\"self\""),
        "every page has rel=self: {link}"
    );
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

#[tokio::test]
async fn paging_users_follows_link_to_the_end_and_sees_each_user_once() {
    let env = Env::start().await;
    let mut url = env.url("/api/v1/users?limit=7");
    let (mut seen, mut pages) = (HashSet::new(), 0);
    loop {
        let resp = env.okta_url(Method::GET, &url).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let next = next_link(&resp);
        let users: Vec<Value> = resp.json().await.unwrap();
        assert!(users.len() <= 7, "a page never exceeds the limit");
        for u in users {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_owned()),
                "user {} seen twice",
                u["id"]
            );
            assert_ne!(
                u["status"], "DEPROVISIONED",
                "a plain list leaves out deprovisioned users"
            );
        }
        pages += 1;
        match next {
            Some(n) => {
                assert!(
                    n.starts_with(&env.url("/api/v1/users?")) && n.contains("after="),
                    "absolute next URL: {n}"
                );
                url = n;
            }
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        113,
        "114 seeded users less the deprovisioned one"
    );
    assert_eq!(pages, 17, "113 users in pages of 7");
}

#[tokio::test]
async fn members_page_and_search_finds_groups() {
    let env = Env::start().await;
    let groups: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups")
        .query(&[("search", r#"profile.name eq "Office 365 Assignments""#)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    let gid = groups[0]["id"].as_str().unwrap();
    assert_eq!(groups[0]["type"], "OKTA_GROUP");
    let mut url = env.url(&format!("/api/v1/groups/{gid}/users?limit=15"));
    let mut members = HashSet::new();
    loop {
        let resp = env.okta_url(Method::GET, &url).send().await.unwrap();
        let next = next_link(&resp);
        for u in resp.json::<Vec<Value>>().await.unwrap() {
            assert!(members.insert(u["id"].as_str().unwrap().to_owned()));
        }
        let Some(n) = next else { break };
        url = n;
    }
    assert_eq!(
        members.len(),
        40,
        "the seed puts 40 users in Office 365 Assignments"
    );

    let sw: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups")
        .query(&[(
            "search",
            r#"profile.name sw "o365" and type eq "OKTA_GROUP""#,
        )])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        sw.iter()
            .map(|g| g["profile"]["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["O365Guest"]
    );
    let q: reqwest::Response = env
        .okta(Method::GET, "/api/v1/groups?q=o")
        .send()
        .await
        .unwrap();
    let link = q
        .headers()
        .get("link")
        .map(|v| v.to_str().unwrap().to_owned());
    let names: Vec<String> = q
        .json::<Vec<Value>>()
        .await
        .unwrap()
        .iter()
        .map(|g| g["profile"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(link.is_none(), "q results are not paged");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["O365Guest", "Office 365 Assignments"],
        "q is a name prefix match"
    );
    let bad = env
        .okta(Method::GET, "/api/v1/groups")
        .query(&[("search", "profile.name eq")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["errorCode"], "E0000031");
}

#[tokio::test]
async fn users_are_found_by_id_login_and_shortname() {
    let env = Env::start().await;
    let all: Vec<Value> = env
        .okta(Method::GET, "/api/v1/users?limit=1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user = &all[0];
    let login = user["profile"]["login"].as_str().unwrap();
    for key in [
        user["id"].as_str().unwrap(),
        login,
        login.split('@').next().unwrap(),
    ] {
        let got: Value = env
            .okta(Method::GET, &format!("/api/v1/users/{key}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["id"], user["id"], "lookup by {key}");
    }
    let managed: Vec<Value> = env
        .okta(Method::GET, "/api/v1/users")
        .query(&[("search", r#"profile.title eq "Chief Executive Officer""#)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(managed.len(), 1);
    assert!(
        managed[0]["profile"].get("managerId").is_none(),
        "the CEO has no manager"
    );
}

#[tokio::test]
async fn errors_look_like_okta() {
    let env = Env::start().await;
    // 401 without a token, with a wrong token, and with a non-SSWS scheme.
    for auth in [None, Some("SSWS 00wrongwrongwrong"), Some("Bearer abc")] {
        let mut req = env.http.get(env.url("/api/v1/users"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        assert!(
            resp.headers().contains_key("x-rate-limit-remaining"),
            "rate-limit headers on errors too"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000011");
        assert_eq!(body["errorSummary"], "Invalid token provided");
        assert_eq!(body["errorLink"], "E0000011");
        assert!(body["errorId"].as_str().unwrap().starts_with("oae"));
        assert_eq!(body["errorCauses"], json!([]));
    }
    let resp = env
        .okta(Method::GET, "/api/v1/users/00uNoSuchUser0000000")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000007");
    assert_eq!(
        body["errorSummary"],
        "Not found: Resource not found: 00uNoSuchUser0000000 (User)"
    );
    let resp = env
        .okta(Method::GET, "/api/v1/groups/00gNoSuchGroup000000/users")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // Bad POST bodies.
    let resp = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"description": "no name"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000001");
    assert_eq!(
        body["errorCauses"][0]["errorSummary"],
        "name: The field cannot be left blank"
    );
    let resp = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"name": "O365Guest"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "a duplicate OKTA_GROUP name is refused");
    let resp = env
        .okta(Method::POST, "/api/v1/groups")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000003");
}

async fn group_id(env: &Env, name: &str) -> String {
    let groups: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups")
        .query(&[("q", name)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    groups
        .iter()
        .find(|g| g["profile"]["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn membership_changes_return_204_and_are_logged() {
    let env = Env::start().await;
    let created = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"name": "Pilot", "description": "pilot users"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "POST /groups answers 200, not 201");
    let group: Value = created.json().await.unwrap();
    assert_eq!(group["type"], "OKTA_GROUP");
    assert_eq!(group["objectClass"], json!(["okta:user_group"]));
    let gid = group["id"].as_str().unwrap();
    assert!(gid.starts_with("00g") && gid.len() == 20);
    let users: Vec<Value> = env
        .okta(Method::GET, "/api/v1/users?limit=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uid = users[1]["id"].as_str().unwrap();

    let path = format!("/api/v1/groups/{gid}/users/{uid}");
    let put = env
        .okta(Method::PUT, &path)
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let members: Vec<Value> = env
        .okta(Method::GET, &format!("/api/v1/groups/{gid}/users"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["id"], uid);
    let no_length = env.okta(Method::PUT, &path).send().await.unwrap();
    assert_eq!(
        no_length.status(),
        411,
        "Okta wants Content-Length: 0 on a body-less PUT"
    );
    let del = env.okta(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);

    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["group.user_membership.add", "group.user_membership.remove"]
    );
    let targets = &events[0]["target"];
    assert_eq!(targets[0]["id"], uid);
    assert_eq!(targets[1]["id"], gid);
    assert_eq!(targets[1]["type"], "UserGroup");

    for (name, code) in [("Salesforce Users", "APP_GROUP"), ("Everyone", "BUILT_IN")] {
        let gid = group_id(&env, name).await;
        let resp = env
            .okta(Method::PUT, &format!("/api/v1/groups/{gid}/users/{uid}"))
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            403,
            "membership of a {code} cannot be changed"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000006");
        assert!(
            body["errorCauses"][0]["errorSummary"]
                .as_str()
                .unwrap()
                .contains(code)
        );
    }
    let resp = env
        .okta(
            Method::PUT,
            &format!("/api/v1/groups/{gid}/users/00uNoSuchUser0000000"),
        )
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_429_after_the_limit() {
    let env = Env::start().await;
    // Keep all six calls inside one minute window (the sandbox clock starts at the wall clock).
    let second_of_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if second_of_minute > 55 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - second_of_minute)).await;
    }
    env.control(
        Method::POST,
        "/_sandbox/rate-limits",
        Some(json!({"bucket": "groups", "limit": 5})),
    )
    .await;
    let mut remaining = Vec::new();
    for _ in 0..5 {
        let resp = env
            .okta(Method::GET, "/api/v1/groups?limit=1")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-rate-limit-limit"], "5");
        remaining.push(
            resp.headers()["x-rate-limit-remaining"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0]);
    let resp = env
        .okta(Method::GET, "/api/v1/groups")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["x-rate-limit-remaining"], "0");
    let reset: i64 = resp.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(reset % 60, 0, "the window resets on a minute boundary");
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000047");
    let users = env
        .okta(Method::GET, "/api/v1/users?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200, "buckets are separate");
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 60})),
    )
    .await;
    let resp = env
        .okta(Method::GET, "/api/v1/groups?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        200,
        "the next minute (on the sandbox clock) opens a new window"
    );
}

#[tokio::test]
async fn injected_faults_hit_the_next_n_matching_responses() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 429, "count": 2, "path_prefix": "/api/v1/groups", "retry_after": 7})),
    )
    .await;
    let other = env
        .okta(Method::GET, "/api/v1/users?limit=1")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "faults only hit their path prefix");
    for _ in 0..2 {
        let resp = env
            .okta(Method::GET, "/api/v1/groups")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["x-rate-limit-remaining"], "0");
        assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000047");
    }
    assert_eq!(
        env.okta(Method::GET, "/api/v1/groups")
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "only N responses fail"
    );

    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 503, "count": 1})),
    )
    .await;
    let resp = env.okta(Method::GET, "/api/v1/users").send().await.unwrap();
    assert_eq!(resp.status(), 503);
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"latency_ms": 150})),
    )
    .await;
    let t = std::time::Instant::now();
    env.okta(Method::GET, "/api/v1/users?limit=1")
        .send()
        .await
        .unwrap();
    assert!(t.elapsed().as_millis() >= 150, "latency is added");
    env.control(Method::DELETE, "/_sandbox/faults", None).await;
    let t = std::time::Instant::now();
    env.okta(Method::GET, "/api/v1/users?limit=1")
        .send()
        .await
        .unwrap();
    assert!(t.elapsed().as_millis() < 150, "DELETE clears latency");
    let health = env
        .http
        .get(env.url("/_sandbox/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_fault_limited_to_a_method_spares_the_reads_before_it() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 500, "count": 1, "path_prefix": "/api/v1/groups", "method": "post"})),
    )
    .await;
    let search = env
        .okta(
            Method::GET,
            "/api/v1/groups?search=profile.name%20eq%20%22Faulted%22",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200, "a GET is not a POST: it goes through");
    let create = |env: &Env| {
        env.okta(Method::POST, "/api/v1/groups")
            .json(&json!({"profile": {"name": "Faulted"}}))
            .send()
    };
    let failed = create(&env).await.unwrap();
    assert_eq!(failed.status(), 500, "the POST gets the injected fault");
    assert_eq!(
        failed.json::<Value>().await.unwrap()["errorCode"],
        "E0000009",
        "an injected 500 is Okta-shaped"
    );
    assert_eq!(
        create(&env).await.unwrap().status(),
        200,
        "the fault is used up; the group is created by the next POST (not by the failed one)"
    );
}
