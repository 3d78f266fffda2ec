//! The Entra token endpoint and Microsoft Graph of the sandbox, over real loopback HTTP.

mod common;

use std::collections::HashSet;

use base64::Engine as _;
use common::Env;
use reqwest::Method;
use serde_json::{Value, json};

async fn token_call(env: &Env, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = env
        .http
        .post(env.url(&format!("/{tenant}/oauth2/v2.0/token")))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn client_credentials_issue_a_signed_graph_token_with_roles() {
    let env = Env::start().await;
    let c = &env.creds;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", c.entra_client_id.as_str()),
        ("client_secret", c.entra_client_secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    for tenant in [
        c.entra_tenant_id.as_str(),
        c.entra_tenant_domain.as_str(),
        "contoso.example",
    ] {
        let (status, body) = token_call(&env, tenant, &form).await;
        assert_eq!(
            status, 200,
            "tenant by GUID or verified domain ({tenant}): {body}"
        );
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3599);
        let t = claims(body["access_token"].as_str().unwrap());
        assert_eq!(t["aud"], "https://graph.microsoft.com");
        assert_eq!(t["tid"], c.entra_tenant_id);
        assert_eq!(t["appid"], c.entra_client_id);
        assert_eq!(t["azp"], c.entra_client_id);
        assert_eq!(t["appidacr"], "1");
        assert_eq!(
            t["iss"],
            format!("https://sts.windows.net/{}/", c.entra_tenant_id)
        );
        assert_eq!(
            t["exp"].as_i64().unwrap() - t["iat"].as_i64().unwrap(),
            3599
        );
        let roles: HashSet<&str> = t["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert!(
            roles.contains("User.ReadWrite.All") && roles.contains("Mail.Send"),
            "{roles:?}"
        );
        let header: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(
                    body["access_token"]
                        .as_str()
                        .unwrap()
                        .split('.')
                        .next()
                        .unwrap(),
                )
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
    }
    // HTTP Basic client authentication works too.
    let resp = env
        .http
        .post(env.url(&format!("/{}/oauth2/v2.0/token", c.entra_tenant_id)))
        .basic_auth(&c.entra_client_id, Some(&c.entra_client_secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn token_errors_carry_aadsts_codes() {
    let env = Env::start().await;
    let c = &env.creds;
    let (tid, cid, secret) = (
        c.entra_tenant_id.as_str(),
        c.entra_client_id.as_str(),
        c.entra_client_secret.as_str(),
    );
    let scope = "https://graph.microsoft.com/.default";
    let cc = "client_credentials";
    // (tenant, form, status, error, AADSTS code)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str, u64);
    let cases: Vec<Case> = vec![
        (
            "nosuch.example",
            vec![
                ("grant_type", cc),
                ("client_id", cid),
                ("client_secret", secret),
                ("scope", scope),
            ],
            400,
            "invalid_request",
            90002,
        ),
        (
            "00000000-0000-0000-0000-000000000001",
            vec![
                ("grant_type", cc),
                ("client_id", cid),
                ("client_secret", secret),
                ("scope", scope),
            ],
            400,
            "invalid_request",
            90002,
        ),
        (
            tid,
            vec![
                ("grant_type", cc),
                ("client_id", "11111111-2222-3333-4444-555555555555"),
                ("client_secret", secret),
                ("scope", scope),
            ],
            400,
            "unauthorized_client",
            700016,
        ),
        (
            tid,
            vec![
                ("grant_type", cc),
                ("client_id", cid),
                ("client_secret", "wrong"),
                ("scope", scope),
            ],
            401,
            "invalid_client",
            7000215,
        ),
        (
            tid,
            vec![("grant_type", cc), ("client_id", cid), ("scope", scope)],
            401,
            "invalid_client",
            7000216,
        ),
        (
            tid,
            vec![
                ("grant_type", cc),
                ("client_id", cid),
                ("client_secret", ""),
                ("scope", scope),
            ],
            401,
            "invalid_client",
            7000218,
        ),
        (
            tid,
            vec![
                ("grant_type", cc),
                ("client_id", cid),
                ("client_secret", secret),
                ("scope", "User.Read"),
            ],
            400,
            "invalid_scope",
            70011,
        ),
    ];
    for (tenant, form, status, error, code) in cases {
        let (got, body) = token_call(&env, tenant, &form).await;
        assert_eq!(
            (got, body["error"].as_str().unwrap()),
            (status, error),
            "{form:?}: {body}"
        );
        assert_eq!(body["error_codes"], json!([code]));
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}: ")),
            "{body}"
        );
        for key in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(body[key].is_string(), "{key} missing in {body}");
        }
    }
    // Secrets expire: two years and a bit later the same secret gets 7000222.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 3 * 365 * 86400})),
    )
    .await;
    let (got, body) = token_call(
        &env,
        tid,
        &[
            ("grant_type", cc),
            ("client_id", cid),
            ("client_secret", secret),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(got, 401);
    assert_eq!(body["error_codes"], json!([7000222]));
}

async fn graph(env: &Env, token: &str, path: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = env
        .http
        .get(env.url(path))
        .bearer_auth(token)
        .header("client-request-id", "test-123")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

#[tokio::test]
async fn graph_users_page_select_and_filter() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, headers, body) = graph(&env, &token, "/v1.0/users?$top=5").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["client-request-id"], "test-123");
    assert!(headers.contains_key("request-id"));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(body["@odata.context"], env.url("/v1.0/$metadata#users"));
    let first = &body["value"][0];
    let keys: HashSet<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let default: HashSet<&str> = [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ]
    .into();
    assert_eq!(keys, default, "the default projection is Graph's");

    let mut seen = HashSet::new();
    let mut next = Some(env.url("/v1.0/users?$top=4&$select=id,mail,accountEnabled"));
    while let Some(url) = next {
        let resp = env.http.get(&url).bearer_auth(&token).send().await.unwrap();
        let body: Value = resp.json().await.unwrap();
        for u in body["value"].as_array().unwrap() {
            assert_eq!(
                u.as_object().unwrap().len(),
                3,
                "$select limits the properties: {u}"
            );
            assert!(seen.insert(u["id"].as_str().unwrap().to_owned()));
        }
        next = body["@odata.nextLink"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 14, "paging sees every Microsoft user once");

    let (_, _, body) = graph(&env, &token, "/v1.0/users?$filter=startsWith(userPrincipalName,'admin@')&$select=userPrincipalName,assignedLicenses").await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(
        body["value"][0]["assignedLicenses"][0]["skuId"],
        "6fd2c87f-b296-42f0-b197-1e91e994b900"
    );
    let upn = body["value"][0]["userPrincipalName"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _, one) = graph(&env, &token, &format!("/v1.0/users/{upn}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["userPrincipalName"], upn);
    let (_, _, guests) = graph(
        &env,
        &token,
        "/v1.0/users?$filter=userType eq 'Guest'&$select=mail,userPrincipalName",
    )
    .await;
    assert!(
        guests["value"][0]["userPrincipalName"]
            .as_str()
            .unwrap()
            .contains("#EXT#")
    );
}

#[tokio::test]
async fn graph_errors_look_like_graph() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, headers, body) = graph(
        &env,
        &token,
        "/v1.0/users/00000000-0000-0000-0000-00000000dead",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
    assert_eq!(
        body["error"]["message"],
        "Resource '00000000-0000-0000-0000-00000000dead' does not exist or one of its queried reference-property objects are not present."
    );
    assert_eq!(body["error"]["innerError"]["client-request-id"], "test-123");
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        headers["request-id"].to_str().unwrap()
    );
    let (status, _, body) = graph(&env, &token, "/v1.0/users?$filter=endsWith(mail,'x')").await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = graph(&env, &token, "/v1.0/users?$filter=city eq 'Paris'").await;
    assert_eq!(
        (status, body["error"]["code"].as_str().unwrap()),
        (400, "Request_UnsupportedQuery")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'city'")
    );
    let (status, _, _) = graph(&env, &token, "/v1.0/users?$top=1000").await;
    assert_eq!(status, 400, "$top is 1..999");

    let (status, headers, body) = graph(&env, "", "/v1.0/users").await;
    assert_eq!(
        (status, body["error"]["code"].as_str().unwrap()),
        (401, "InvalidAuthenticationToken")
    );
    assert!(headers.contains_key("www-authenticate"));
    // A token signed by another key (a different sandbox) fails signature verification.
    let other = Env::start().await;
    let foreign = other.graph_token().await;
    let (status, _, body) = graph(&env, &foreign, "/v1.0/users").await;
    assert_eq!(status, 401, "{body}");
    // Expiry follows the sandbox clock.
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 3600})),
    )
    .await;
    let (status, _, body) = graph(&env, &token, "/v1.0/users").await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );

    // Without the needed role: 403.
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": ["Mail.Send"]})),
    )
    .await;
    let limited = env.graph_token().await;
    let (status, _, body) = graph(&env, &limited, "/v1.0/organization").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{}/roles", env.creds.entra_client_id),
        Some(json!({"roles": []})),
    )
    .await;
    assert!(
        claims(&env.graph_token().await).get("roles").is_none(),
        "roles is absent when none are granted"
    );
}

#[tokio::test]
async fn organization_skus_and_graph_throttling() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, _, org) = graph(&env, &token, "/v1.0/organization").await;
    assert_eq!(status, 200);
    let o = &org["value"][0];
    assert_eq!(o["id"], env.creds.entra_tenant_id);
    let domains = o["verifiedDomains"].as_array().unwrap();
    assert!(
        domains
            .iter()
            .any(|d| d["name"] == "contoso-sandbox.onmicrosoft.com" && d["isInitial"] == true)
    );
    assert!(
        domains
            .iter()
            .any(|d| d["name"] == "contoso.example" && d["isDefault"] == true)
    );
    let (status, _, skus) = graph(&env, &token, "/v1.0/subscribedSkus").await;
    assert_eq!(status, 200);
    let parts: HashSet<&str> = skus["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["skuPartNumber"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        ["ENTERPRISEPACK", "SPE_E3", "EXCHANGESTANDARD"].into()
    );
    let e3 = skus["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skuPartNumber"] == "ENTERPRISEPACK")
        .unwrap();
    assert_eq!(
        e3["consumedUnits"], 5,
        "consumed units are counted from users' licences"
    );
    assert_eq!(e3["prepaidUnits"]["enabled"], 50);

    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 429, "count": 1, "path_prefix": "/v1.0", "retry_after": 3})),
    )
    .await;
    let (status, headers, body) = graph(&env, &token, "/v1.0/users").await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(headers["retry-after"], "3");
    assert_eq!(graph(&env, &token, "/v1.0/users").await.0, 200);
}
