//! Graph user writes, domains and the directory write budget of the sandbox, over real loopback HTTP.

mod common;

use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

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

fn new_user(upn: &str, nick: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": "Nora Quist",
        "mailNickname": nick,
        "userPrincipalName": upn,
        "passwordProfile": { "password": "Xk4!rT9#qLm2$vB7", "forceChangePasswordNextSignIn": true },
        "givenName": "Nora",
        "surname": "Quist",
        "jobTitle": "Analyst",
        "city": "Oslo",
        "usageLocation": "NO",
    })
}

#[tokio::test]
async fn create_read_update_and_delete_a_user() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, headers, created) = call(
        &env,
        &token,
        Method::POST,
        "/v1.0/users",
        Some(new_user("nora.quist@contoso.example", "nora.quist")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert!(
        headers.contains_key("location"),
        "a created user has a Location"
    );
    assert_eq!(created["userPrincipalName"], "nora.quist@contoso.example");
    assert_eq!(
        created["@odata.context"],
        env.url("/v1.0/$metadata#users/$entity")
    );
    assert!(
        !created.to_string().contains("Xk4!rT9"),
        "the password is never echoed: {created}"
    );
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, _, read) = call(
        &env,
        &token,
        Method::GET,
        &format!(
            "/v1.0/users/{id}?$select=city,usageLocation,userType,accountEnabled,mailNickname"
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["city"], "Oslo", "extra properties are kept");
    assert_eq!(read["usageLocation"], "NO");
    assert_eq!(read["userType"], "Member", "userType defaults to Member");
    assert_eq!(read["mailNickname"], "nora.quist");

    // PATCH by UPN: 204, the change is visible; null clears a property.
    let (status, _, body) = call(
        &env,
        &token,
        Method::PATCH,
        "/v1.0/users/NORA.QUIST@contoso.example",
        Some(json!({ "jobTitle": "Lead Analyst", "city": null, "accountEnabled": false })),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    assert!(body.is_null(), "204 has no body");
    let (_, _, read) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{id}?$select=jobTitle,city,accountEnabled"),
        None,
    )
    .await;
    assert_eq!(read["jobTitle"], "Lead Analyst");
    assert_eq!(read["city"], Value::Null);
    assert_eq!(read["accountEnabled"], false);

    let (status, _, _) = call(
        &env,
        &token,
        Method::DELETE,
        &format!("/v1.0/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, body) = call(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/users/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 404, "a deleted user is gone");
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    let (status, _, body) = call(
        &env,
        &token,
        Method::DELETE,
        &format!("/v1.0/users/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("Request_ResourceNotFound"))
    );
}

#[tokio::test]
async fn creating_a_user_is_validated_like_graph() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let post = |body: Value| {
        let (env, token) = (&env, &token);
        async move { call(env, token, Method::POST, "/v1.0/users", Some(body)).await }
    };
    for missing in [
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
    ] {
        let mut body = new_user("a.b@contoso.example", "a.b");
        body.as_object_mut().unwrap().remove(missing);
        let (status, _, e) = post(body).await;
        assert_eq!(status, 400, "{missing} is required: {e}");
        assert_eq!(e["error"]["code"], "Request_BadRequest");
        assert_eq!(
            e["error"]["message"],
            format!("Invalid value specified for property '{missing}' of resource 'User'."),
        );
        assert!(e["error"]["innerError"]["request-id"].is_string());
    }
    let (status, _, e) = post(new_user("a.b@not-ours.example", "a.b")).await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["code"], "Request_BadRequest");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("The domain portion of the userPrincipalName property is invalid"),
        "{e}"
    );
    // Unique UPN (case-insensitive) and mailNickname.
    let (status, _, e) = post(new_user("Isabella.Singh@contoso.example", "someone.new")).await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );
    let (status, _, e) = post(new_user("someone.new@contoso.example", "isabella.singh")).await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["message"],
        "Another object with the same value for property mailNickname already exists."
    );
    let mut weak = new_user("weak.pw@contoso.example", "weak.pw");
    weak["passwordProfile"]["password"] = json!("password");
    let (status, _, e) = post(weak).await;
    assert_eq!(status, 400);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("password complexity"),
        "{e}"
    );
    let mut bad_loc = new_user("loc@contoso.example", "loc");
    bad_loc["usageLocation"] = json!("Norway");
    let (status, _, e) = post(bad_loc).await;
    assert_eq!(
        (status, e["error"]["message"].as_str()),
        (
            400,
            Some("Invalid value specified for property 'usageLocation' of resource 'User'.")
        )
    );
    let mut unknown = new_user("x@contoso.example", "x");
    unknown["favouriteColour"] = json!("teal");
    let (status, _, e) = post(unknown).await;
    assert_eq!(status, 400);
    assert_eq!(
        e["error"]["message"],
        "Property 'favouriteColour' does not exist as a declared property or extension property."
    );
    // A federated domain is a verified domain too.
    let (status, _, e) = post(new_user("fed.user@fabrikam.example", "fed.user")).await;
    assert_eq!(status, 201, "{e}");
    // Nothing invalid was created.
    let (_, _, all) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/users?$top=999&$select=id",
        None,
    )
    .await;
    assert_eq!(
        all["value"].as_array().unwrap().len(),
        15,
        "14 seeded + the federated user"
    );
}

#[tokio::test]
async fn patch_checks_property_names_types_and_usage_location() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let upn = "/v1.0/users/isabella.singh@contoso.example";
    let cases = [
        (
            json!({"favouriteColour": "x"}),
            "Property 'favouriteColour' does not exist as a declared property or extension property.",
        ),
        (
            json!({"usageLocation": "USA"}),
            "Invalid value specified for property 'usageLocation' of resource 'User'.",
        ),
        (
            json!({"displayName": null}),
            "Invalid value specified for property 'displayName' of resource 'User'.",
        ),
        (
            json!({"userPrincipalName": "isabella.singh@elsewhere.example"}),
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ),
        (
            json!({"userPrincipalName": "marcus.thompson@contoso.example"}),
            "Another object with the same value for property userPrincipalName already exists.",
        ),
    ];
    for (body, message) in cases {
        let (status, _, e) = call(&env, &token, Method::PATCH, upn, Some(body.clone())).await;
        assert_eq!(status, 400, "{body} must be refused: {e}");
        assert_eq!(e["error"]["message"], message, "{body}");
    }
    let (status, _, e) = call(
        &env,
        &token,
        Method::PATCH,
        upn,
        Some(json!({"accountEnabled": "no"})),
    )
    .await;
    assert_eq!(status, 400, "a string is not a boolean: {e}");
    let (status, _, _) = call(
        &env,
        &token,
        Method::PATCH,
        upn,
        Some(json!({"usageLocation": "DE", "passwordProfile": {"password": "N3w!Passw0rd#x", "forceChangePasswordNextSignIn": false}})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, _) = call(
        &env,
        &token,
        Method::PATCH,
        "/v1.0/users/00000000-0000-0000-0000-000000000000",
        Some(json!({"city": "x"})),
    )
    .await;
    assert_eq!(status, 404);
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    assert!(
        !state.to_string().contains("N3w!Passw0rd"),
        "passwords are never kept"
    );
}

#[tokio::test]
async fn filters_combine_with_and_and_pages_follow_next_links() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (_, _, page) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/users?$filter=userType%20eq%20'Guest'%20and%20mail%20eq%20'ABIGAIL.YAMAMOTO@corp.example'&$select=id,mail,userType",
        None,
    )
    .await;
    let found = page["value"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{page}");
    assert_eq!(found[0]["userType"], "Guest");
    let (_, _, page) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/users?$filter=userPrincipalName%20eq%20'isabella.singh@contoso.example'%20and%20userType%20eq%20'Guest'",
        None,
    )
    .await;
    assert_eq!(page["value"].as_array().unwrap().len(), 0);
    // $top and @odata.nextLink paging: every member exactly once.
    let mut next = Some(env.url("/v1.0/users?$filter=userType%20eq%20'Member'&$top=4&$select=id"));
    let mut ids = Vec::new();
    while let Some(url) = next {
        let resp = env.http.get(&url).bearer_auth(&token).send().await.unwrap();
        let body: Value = resp.json().await.unwrap();
        let page = body["value"].as_array().unwrap();
        assert!(page.len() <= 4);
        ids.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (ids.len(), unique.len()),
        (13, 13),
        "13 members, none twice"
    );
}

#[tokio::test]
async fn domains_list_the_verified_domains_with_their_authentication_type() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, _, e) = call(&env, &token, Method::GET, "/v1.0/domains", None).await;
    assert_eq!(status, 403, "the demo app has no Domain.Read.All: {e}");
    assert_eq!(e["error"]["code"], "Authorization_RequestDenied");
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["Domain.Read.All", "User.ReadWrite.All"]})),
    )
    .await;
    let token = env.graph_token().await;
    let (status, _, body) = call(&env, &token, Method::GET, "/v1.0/domains", None).await;
    assert_eq!(status, 200, "{body}");
    let domains = body["value"].as_array().unwrap();
    let find = |name: &str| {
        domains
            .iter()
            .find(|d| d["id"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
    };
    assert_eq!(find("contoso.example")["isDefault"], true);
    assert_eq!(find("contoso.example")["authenticationType"], "Managed");
    assert_eq!(find("contoso-sandbox.onmicrosoft.com")["isInitial"], true);
    assert_eq!(find("fabrikam.example")["authenticationType"], "Federated");
    assert!(domains.iter().all(|d| d["isVerified"] == true));
    let (status, _, one) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/domains/FABRIKAM.example?$select=id,authenticationType",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["authenticationType"], "Federated");
    let (status, _, _) = call(
        &env,
        &token,
        Method::GET,
        "/v1.0/domains/nope.example",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn writes_need_user_read_write_all() {
    let env = Env::start().await;
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["User.Read.All"]})),
    )
    .await;
    let token = env.graph_token().await;
    for (method, path, body) in [
        (
            Method::POST,
            "/v1.0/users",
            Some(new_user("r@contoso.example", "r")),
        ),
        (
            Method::PATCH,
            "/v1.0/users/isabella.singh@contoso.example",
            Some(json!({"city": "x"})),
        ),
        (
            Method::DELETE,
            "/v1.0/users/isabella.singh@contoso.example",
            None,
        ),
    ] {
        let (status, _, e) = call(&env, &token, method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path} needs User.ReadWrite.All");
        assert_eq!(e["error"]["code"], "Authorization_RequestDenied");
        assert_eq!(
            e["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }
}

#[tokio::test]
async fn the_directory_write_budget_throttles_per_app_and_is_scalable() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let state = env
        .control(
            Method::POST,
            "/_sandbox/rate-limits",
            Some(json!({"bucket": "graph.directoryWrites", "limit": 2, "window_secs": 30})),
        )
        .await;
    assert_eq!(state["graph.directoryWrites"]["limit"], 2, "{state}");
    let patch = || {
        call(
            &env,
            &token,
            Method::PATCH,
            "/v1.0/users/isabella.singh@contoso.example",
            Some(json!({"city": "Bergen"})),
        )
    };
    assert_eq!(patch().await.0, 204);
    assert_eq!(patch().await.0, 204);
    let (status, headers, e) = patch().await;
    assert_eq!(
        status, 429,
        "the third write in the window is throttled: {e}"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(
        (1..=30).contains(&retry),
        "Retry-After {retry} is within the window"
    );
    assert_eq!(e["error"]["code"], "TooManyRequests");
    assert!(headers.contains_key("x-ms-throttle-scope"));
    // Reads are not writes.
    let (status, _, _) = call(&env, &token, Method::GET, "/v1.0/users?$top=1", None).await;
    assert_eq!(status, 200);
    // The window passes on the sandbox clock.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 31})),
    )
    .await;
    let token = env.graph_token().await;
    let (status, _, e) = call(
        &env,
        &token,
        Method::PATCH,
        "/v1.0/users/isabella.singh@contoso.example",
        Some(json!({"city": "Bergen"})),
    )
    .await;
    assert_eq!(status, 204, "a new window: {e}");
    // Bad control requests are explained.
    let resp = env
        .http
        .post(env.url("/_sandbox/rate-limits"))
        .json(&json!({"bucket": "graph.directoryWrites", "limit": 5, "window_secs": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let summary = env.control(Method::GET, "/_sandbox/state", None).await;
    assert!(
        summary["graphBudgets"]["graph.directoryWrites"].is_object(),
        "{summary}"
    );
}

#[tokio::test]
async fn a_replication_delay_hides_a_new_user_for_the_next_calls() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    env.control(
        Method::POST,
        "/_sandbox/entra/replication-delay",
        Some(json!({"notFoundCalls": 2})),
    )
    .await;
    let (status, _, created) = call(
        &env,
        &token,
        Method::POST,
        "/v1.0/users",
        Some(new_user("late.replica@contoso.example", "late.replica")),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1.0/users/{id}");
    let (first, _, e) = call(&env, &token, Method::GET, &path, None).await;
    assert_eq!(first, 404, "not replicated yet: {e}");
    assert_eq!(e["error"]["code"], "Request_ResourceNotFound");
    let (second, _, _) = call(
        &env,
        &token,
        Method::PATCH,
        "/v1.0/users/late.replica@contoso.example",
        Some(json!({"city": "x"})),
    )
    .await;
    assert_eq!(second, 404, "by UPN too");
    let (third, _, _) = call(&env, &token, Method::GET, &path, None).await;
    assert_eq!(third, 200, "replicated after the configured calls");
}
