//! Creating an app registration for the admin: delegated sign-in (device code, authorization code
//! with PKCE), Graph app registration writes, grants, policies and replication delay, over real
//! loopback HTTP; and the new Graph entities checked against Graph's CSDL metadata.

mod common;

use base64::Engine as _;
use common::Env;
use common::csdl::Csdl;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
const AZURE_CLI: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const SCOPES: &str = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All https://graph.microsoft.com/Directory.Read.All";
const ADMIN: &str = "admin@contoso-sandbox.onmicrosoft.com";
const NON_ADMIN: &str = "isabella.singh@contoso.example";
const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn post_form(env: &Env, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = env
        .http
        .post(env.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn start_device(env: &Env, client: &str) -> (u16, Value) {
    post_form(
        env,
        "/organizations/oauth2/v2.0/devicecode",
        &[("client_id", client), ("scope", SCOPES)],
    )
    .await
}

async fn poll(env: &Env, device_code: &str) -> (u16, Value) {
    post_form(
        env,
        "/organizations/oauth2/v2.0/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", GRAPH_CLI),
            ("device_code", device_code),
        ],
    )
    .await
}

async fn control(env: &Env, method: Method, path: &str, body: Value) -> (u16, Value) {
    let resp = env
        .http
        .request(method, env.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// A delegated Graph token for `upn` through the device code flow.
async fn sign_in(env: &Env, upn: &str) -> String {
    env.control(
        Method::POST,
        "/_sandbox/entra/sign-in-settings",
        Some(json!({"interval": 1})),
    )
    .await;
    let (status, dc) = start_device(env, GRAPH_CLI).await;
    assert_eq!(status, 200, "{dc}");
    let user_code = dc["user_code"].as_str().unwrap();
    env.control(
        Method::POST,
        &format!("/_sandbox/entra/device-codes/{user_code}"),
        Some(json!({"user": upn, "decision": "approve"})),
    )
    .await;
    let (status, tok) = poll(env, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 200, "an approved code gives a token: {tok}");
    tok["access_token"].as_str().unwrap().to_owned()
}

async fn graph(
    env: &Env,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = env.http.request(method, env.url(path)).bearer_auth(token);
    req = match body {
        Some(b) => req.json(&b),
        None => req.header("content-length", "0"),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn assert_aad(body: &Value, error: &str, code: u64) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], json!([code]), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("AADSTS{code}: ")),
        "{body}"
    );
    assert!(body["trace_id"].is_string() && body["correlation_id"].is_string());
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

#[tokio::test]
async fn device_code_flow_issues_a_delegated_token_once_approved() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/entra/sign-in-settings",
        Some(json!({"interval": 1, "expiresIn": 120})),
    )
    .await;
    let (status, dc) = start_device(&env, GRAPH_CLI).await;
    assert_eq!(status, 200, "{dc}");
    assert_eq!(dc["interval"], 1);
    assert_eq!(dc["expires_in"], 120);
    let user_code = dc["user_code"].as_str().unwrap().to_owned();
    assert!(
        dc["message"].as_str().unwrap().contains(&user_code)
            && dc["verification_uri"]
                .as_str()
                .unwrap()
                .ends_with("/devicelogin")
    );
    let device_code = dc["device_code"].as_str().unwrap().to_owned();

    let (status, body) = poll(&env, &device_code).await;
    assert_eq!(status, 400);
    assert_aad(&body, "authorization_pending", 70016);
    // Polling again at once is faster than the interval.
    let (_, body) = poll(&env, &device_code).await;
    assert_eq!(body["error"], "slow_down", "{body}");

    let pending = env
        .control(Method::GET, "/_sandbox/entra/device-codes", None)
        .await;
    assert!(
        pending
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["userCode"] == user_code.as_str() && c["clientId"] == GRAPH_CLI),
        "{pending}"
    );
    env.control(
        Method::POST,
        &format!("/_sandbox/entra/device-codes/{user_code}"),
        Some(json!({"user": ADMIN, "decision": "approve"})),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let (status, tok) = poll(&env, &device_code).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    let c = claims(tok["access_token"].as_str().unwrap());
    assert_eq!(c["upn"], ADMIN);
    assert_eq!(c["tid"], env.creds.entra_tenant_id.as_str());
    assert_eq!(c["appid"], GRAPH_CLI);
    assert_eq!(c["idtyp"], "user");
    assert_eq!(
        c["scp"],
        "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All Directory.Read.All"
    );
    assert!(
        c["wids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == GLOBAL_ADMIN),
        "the seeded admin is a Global Administrator: {c}"
    );
    assert_eq!(c["oid"], "168e37e9-82e3-4252-8528-a726a6349364");
    assert!(
        c.get("roles").is_none(),
        "a delegated token has no roles: {c}"
    );

    // A code is redeemed once.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let (status, body) = poll(&env, &device_code).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 70000);
    // The delegated token reads the tenant through Graph (Directory.Read.All).
    let (status, org) = graph(
        &env,
        tok["access_token"].as_str().unwrap(),
        Method::GET,
        "/v1.0/organization",
        None,
    )
    .await;
    assert_eq!(status, 200, "{org}");
}

#[tokio::test]
async fn device_codes_expire_on_the_sandbox_clock_and_can_be_declined() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/entra/sign-in-settings",
        Some(json!({"interval": 1, "expiresIn": 60})),
    )
    .await;
    let (_, dc) = start_device(&env, GRAPH_CLI).await;
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 61})),
    )
    .await;
    let (status, body) = poll(&env, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_aad(&body, "expired_token", 70019);
    let (status, body) = control(
        &env,
        Method::POST,
        &format!(
            "/_sandbox/entra/device-codes/{}",
            dc["user_code"].as_str().unwrap()
        ),
        json!({"user": ADMIN, "decision": "approve"}),
    )
    .await;
    assert_eq!(status, 400, "an expired code cannot be approved: {body}");

    let (_, dc) = start_device(&env, GRAPH_CLI).await;
    env.control(
        Method::POST,
        &format!(
            "/_sandbox/entra/device-codes/{}",
            dc["user_code"].as_str().unwrap()
        ),
        Some(json!({"user": ADMIN, "decision": "decline"})),
    )
    .await;
    let (status, body) = poll(&env, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_aad(&body, "authorization_declined", 65004);

    let (_, body) = poll(&env, "not-a-device-code").await;
    assert_aad(&body, "bad_verification_code", 70018);
    let (status, body) = control(
        &env,
        Method::POST,
        "/_sandbox/entra/device-codes/NOPE",
        json!({"user": ADMIN, "decision": "approve"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = control(
        &env,
        Method::POST,
        &format!(
            "/_sandbox/entra/device-codes/{}",
            dc["user_code"].as_str().unwrap()
        ),
        json!({"user": "nobody@contoso.example", "decision": "approve"}),
    )
    .await;
    assert_eq!(status, 400, "an unknown user is refused");
}

#[tokio::test]
async fn public_clients_are_checked() {
    let env = Env::start().await;
    let (status, body) = start_device(&env, AZURE_CLI).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_client", 65002);
    let (status, body) = start_device(&env, "11111111-2222-3333-4444-555555555555").await;
    assert_eq!(status, 400);
    assert_aad(&body, "unauthorized_client", 700016);
    let (status, body) = post_form(
        &env,
        "/contoso.example.invalid/oauth2/v2.0/devicecode",
        &[("client_id", GRAPH_CLI), ("scope", SCOPES)],
    )
    .await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_request", 90002);
    let (_, dc) = start_device(&env, GRAPH_CLI).await;
    let (status, body) = post_form(
        &env,
        "/organizations/oauth2/v2.0/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", GRAPH_CLI),
            ("client_secret", "x"),
            ("device_code", dc["device_code"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_aad(&body, "invalid_client", 700025);
}

#[tokio::test]
async fn policies_block_tokens_with_their_codes() {
    let env = Env::start().await;
    env.control(
        Method::POST,
        "/_sandbox/entra/policies",
        Some(json!({"userConsentBlocked": true})),
    )
    .await;
    env.control(
        Method::POST,
        "/_sandbox/entra/sign-in-settings",
        Some(json!({"interval": 1})),
    )
    .await;
    let (_, dc) = start_device(&env, GRAPH_CLI).await;
    env.control(
        Method::POST,
        &format!(
            "/_sandbox/entra/device-codes/{}",
            dc["user_code"].as_str().unwrap()
        ),
        Some(json!({"user": NON_ADMIN, "decision": "approve"})),
    )
    .await;
    let (status, body) = poll(&env, dc["device_code"].as_str().unwrap()).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 90094);
    // An admin may still consent.
    let token = sign_in(&env, ADMIN).await;
    assert_eq!(claims(&token)["upn"], ADMIN);

    env.control(
        Method::POST,
        "/_sandbox/entra/policies",
        Some(json!({"conditionalAccessBlocksPublicClients": true, "userConsentBlocked": false})),
    )
    .await;
    let (_, dc) = start_device(&env, GRAPH_CLI).await;
    env.control(
        Method::POST,
        &format!(
            "/_sandbox/entra/device-codes/{}",
            dc["user_code"].as_str().unwrap()
        ),
        Some(json!({"user": ADMIN, "decision": "approve"})),
    )
    .await;
    let (_, body) = poll(&env, dc["device_code"].as_str().unwrap()).await;
    assert_aad(&body, "invalid_grant", 53003);
}

#[tokio::test]
async fn authorization_code_with_pkce_redirects_to_the_loopback_and_checks_the_verifier() {
    let env = Env::start().await;
    let verifier = "a".repeat(20) + &"Zz9-._~".repeat(5);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect = "http://127.0.0.1:49152/";
    let params = [
        ("client_id", GRAPH_CLI),
        ("response_type", "code"),
        ("redirect_uri", redirect),
        ("response_mode", "query"),
        ("scope", SCOPES),
        ("state", "st-42"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let page = env
        .http
        .get(env.url("/organizations/oauth2/v2.0/authorize"))
        .query(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(ADMIN) && html.contains("name=\"decision\" value=\"accept\""),
        "the page lists users and Accept: {html}"
    );
    let no_redirect = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.push(("user", ADMIN));
    form.push(("decision", "accept"));
    let resp = no_redirect
        .post(env.url("/organizations/oauth2/v2.0/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect), "{location}");
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st-42");
    let code = q["code"].clone();
    let redeem = |verifier: String, code: String| {
        let env = &env;
        async move {
            post_form(
                env,
                "/organizations/oauth2/v2.0/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", GRAPH_CLI),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                    ("scope", SCOPES),
                ],
            )
            .await
        }
    };
    let (status, body) = redeem("wrong-verifier".repeat(4), code.clone()).await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_grant", 501481);

    // The wrong verifier used the code up; sign in again.
    let resp = no_redirect
        .post(env.url("/organizations/oauth2/v2.0/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let (status, body) = redeem(verifier.clone(), code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["access_token"].as_str().unwrap())["upn"], ADMIN);

    // Cancel redirects with the error.
    let mut cancel: Vec<(&str, &str)> = params.to_vec();
    cancel.push(("decision", "cancel"));
    let resp = no_redirect
        .post(env.url("/organizations/oauth2/v2.0/authorize"))
        .form(&cancel)
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("error=access_denied") && location.contains("state=st-42"),
        "{location}"
    );
    // Only loopback redirects.
    let mut bad = params.to_vec();
    bad[2] = ("redirect_uri", "https://evil.example/");
    let page = env
        .http
        .get(env.url("/organizations/oauth2/v2.0/authorize"))
        .query(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
}

/// Creates an app with a secret and the given roles granted; returns (app, secretText, sp id).
async fn create_granted_app(
    env: &Env,
    token: &str,
    name: &str,
    roles: &[(&str, &str)],
) -> (Value, String, String) {
    let rra = json!([{
        "resourceAppId": GRAPH_APP,
        "resourceAccess": roles.iter().map(|(_, id)| json!({"id": id, "type": "Role"})).collect::<Vec<_>>(),
    }]);
    let (status, app) = graph(
        env,
        token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": name, "signInAudience": "AzureADMyOrg", "requiredResourceAccess": rra})),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    let object_id = app["id"].as_str().unwrap();
    let (status, pw) = graph(
        env,
        token,
        Method::POST,
        &format!("/v1.0/applications/{object_id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "okta365"}})),
    )
    .await;
    assert_eq!(status, 200, "{pw}");
    let secret = pw["secretText"].as_str().unwrap().to_owned();
    let (status, sp) = graph(
        env,
        token,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app["appId"]})),
    )
    .await;
    assert_eq!(status, 201, "{sp}");
    let sp_id = sp["id"].as_str().unwrap().to_owned();
    let (_, graph_sp) = graph(
        env,
        token,
        Method::GET,
        &format!("/v1.0/servicePrincipals(appId='{GRAPH_APP}')?$select=id,appRoles"),
        None,
    )
    .await;
    for (_, id) in roles {
        let (status, a) = graph(
            env,
            token,
            Method::POST,
            &format!(
                "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
                graph_sp["id"].as_str().unwrap()
            ),
            Some(json!({"principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": id})),
        )
        .await;
        assert_eq!(status, 201, "{a}");
    }
    (app, secret, sp_id)
}

#[tokio::test]
async fn an_admin_creates_an_app_that_works_for_client_credentials_with_the_granted_roles() {
    let env = Env::start().await;
    let token = sign_in(&env, ADMIN).await;
    let (status, graph_sp) = graph(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/servicePrincipals(appId='{GRAPH_APP}')?$select=id,appRoles"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{graph_sp}");
    let roles = graph_sp["appRoles"].as_array().unwrap();
    let id_of = |v: &str| {
        roles
            .iter()
            .find(|r| r["value"] == v)
            .unwrap_or_else(|| panic!("{v} is a Graph app role"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        id_of("User.ReadWrite.All"),
        "741f803b-c850-494e-b5df-cde7c675a1ca"
    );
    assert_eq!(id_of("Mail.Send"), "b633e1c5-b582-4048-a93e-9f11b44c7e96");
    let _ = id_of("SynchronizationData-User.Upload");
    let wanted = [
        ("User.ReadWrite.All", id_of("User.ReadWrite.All")),
        ("Organization.Read.All", id_of("Organization.Read.All")),
    ];
    let wanted: Vec<(&str, &str)> = wanted.iter().map(|(v, i)| (*v, i.as_str())).collect();
    let (app, secret, sp_id) = create_granted_app(&env, &token, "okta365", &wanted).await;
    let app_id = app["appId"].as_str().unwrap();

    // Found by display name and by appId.
    let (_, list) = graph(
        &env,
        &token,
        Method::GET,
        "/v1.0/applications?$filter=displayName%20eq%20'okta365'",
        None,
    )
    .await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        list["value"][0]["requiredResourceAccess"][0]["resourceAccess"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, one) = graph(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/applications(appId='{app_id}')"),
        None,
    )
    .await;
    assert_eq!(
        one["passwordCredentials"][0]["secretText"],
        Value::Null,
        "never the secret again"
    );
    let (_, sps) = graph(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{app_id}'"),
        None,
    )
    .await;
    assert_eq!(sps["value"][0]["id"], sp_id.as_str());

    // The state keeps the hash only.
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    assert!(!state.to_string().contains(&secret));

    // client credentials with the new secret: roles are what was granted.
    let (status, tok) = post_form(
        &env,
        &format!("/{}/oauth2/v2.0/token", env.creds.entra_tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tok}");
    let c = claims(tok["access_token"].as_str().unwrap());
    assert_eq!(
        c["roles"],
        json!(["User.ReadWrite.All", "Organization.Read.All"])
    );
    assert_eq!(c["oid"], sp_id.as_str());

    // Granting again is refused as Graph does; the assignment list shows both.
    let (status, body) = graph(
        &env,
        &token,
        Method::POST,
        &format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
            graph_sp["id"].as_str().unwrap()
        ),
        Some(json!({"principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": wanted[0].1})),
    )
    .await;
    assert_eq!(status, 400);
    assert_graph_error(&body, "Request_BadRequest");
    let (_, assigned) = graph(
        &env,
        &token,
        Method::GET,
        &format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
            graph_sp["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let mine: Vec<_> = assigned["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["principalId"] == sp_id.as_str())
        .collect();
    assert_eq!(mine.len(), 2, "{assigned}");

    // PATCH and removePassword.
    let object_id = app["id"].as_str().unwrap();
    let (status, _) = graph(
        &env,
        &token,
        Method::PATCH,
        &format!("/v1.0/applications/{object_id}"),
        Some(json!({"displayName": "okta365 renamed"})),
    )
    .await;
    assert_eq!(status, 204);
    let key_id = one["passwordCredentials"][0]["keyId"].as_str().unwrap();
    let (status, _) = graph(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/applications/{object_id}/removePassword"),
        Some(json!({"keyId": key_id})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, tok) = post_form(
        &env,
        &format!("/{}/oauth2/v2.0/token", env.creds.entra_tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 401, "a removed secret no longer works: {tok}");

    let writes = env
        .control(Method::GET, "/_sandbox/entra/graph-writes", None)
        .await;
    assert_eq!(
        writes.as_array().unwrap().len(),
        8,
        "create, addPassword, SP, 2 grants, a refused grant, PATCH, removePassword: {writes}"
    );
    // Unknown properties are refused like Graph does.
    let (status, body) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x", "madeUp": 1})),
    )
    .await;
    assert_eq!(status, 400);
    assert_graph_error(&body, "Request_BadRequest");
}

#[tokio::test]
async fn an_app_without_a_service_principal_cannot_get_a_token() {
    let env = Env::start().await;
    let token = sign_in(&env, ADMIN).await;
    let (_, app) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "no sp"})),
    )
    .await;
    let (_, pw) = graph(
        &env,
        &token,
        Method::POST,
        &format!(
            "/v1.0/applications/{}/addPassword",
            app["id"].as_str().unwrap()
        ),
        Some(json!({"passwordCredential": {"displayName": "x"}})),
    )
    .await;
    let (status, body) = post_form(
        &env,
        &format!("/{}/oauth2/v2.0/token", env.creds.entra_tenant_id),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app["appId"].as_str().unwrap()),
            ("client_secret", pw["secretText"].as_str().unwrap()),
            ("scope", "https://graph.microsoft.com/.default"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_aad(&body, "invalid_client", 7000229);
}

#[tokio::test]
async fn a_non_admin_creates_apps_but_cannot_grant_application_permissions() {
    let env = Env::start().await;
    let token = sign_in(&env, NON_ADMIN).await;
    let c = claims(&token);
    assert!(
        !c["wids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == GLOBAL_ADMIN),
        "{c}"
    );
    let (status, app) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "by a user"})),
    )
    .await;
    assert_eq!(status, 201, "{app}");
    let (status, sp) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app["appId"]})),
    )
    .await;
    assert_eq!(status, 201, "{sp}");
    let (status, body) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/servicePrincipals/3c1e8a5d-7b24-4f6e-9a0d-52c8e1f7b3a9/appRoleAssignedTo",
        Some(json!({
            "principalId": sp["id"],
            "resourceId": "3c1e8a5d-7b24-4f6e-9a0d-52c8e1f7b3a9",
            "appRoleId": "741f803b-c850-494e-b5df-cde7c675a1ca",
        })),
    )
    .await;
    assert_eq!(status, 403);
    assert_graph_error(&body, "Authorization_RequestDenied");
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    // A second SP for the same app is a conflict.
    let (status, body) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/servicePrincipals",
        Some(json!({"appId": app["appId"]})),
    )
    .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn replication_delay_hides_new_objects_for_the_next_calls() {
    let env = Env::start().await;
    let token = sign_in(&env, ADMIN).await;
    env.control(
        Method::POST,
        "/_sandbox/entra/replication-delay",
        Some(json!({"notFoundCalls": 2})),
    )
    .await;
    let (_, app) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "fresh"})),
    )
    .await;
    let path = format!(
        "/v1.0/applications/{}/addPassword",
        app["id"].as_str().unwrap()
    );
    for attempt in 0..2 {
        let (status, body) = graph(&env, &token, Method::POST, &path, Some(json!({}))).await;
        assert_eq!(status, 404, "attempt {attempt}: {body}");
        assert_graph_error(&body, "Request_ResourceNotFound");
    }
    let (status, body) = graph(&env, &token, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 200, "replicated after two calls: {body}");
    // Objects that existed before are never hidden.
    env.control(
        Method::POST,
        "/_sandbox/entra/replication-delay",
        Some(json!({"notFoundCalls": 1})),
    )
    .await;
    let (status, _) = graph(&env, &token, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn seeded_app_registrations_keep_working() {
    let env = Env::start().await;
    let token = env.graph_token().await;
    let (status, list) = graph(
        &env,
        &token,
        Method::GET,
        &format!(
            "/v1.0/applications?$filter=appId%20eq%20'{}'",
            env.creds.entra_client_id
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["value"][0]["displayName"], "okta365 demo");
    // The demo app (Application.Read.All only) may not write.
    let (status, body) = graph(
        &env,
        &token,
        Method::POST,
        "/v1.0/applications",
        Some(json!({"displayName": "x"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_graph_error(&body, "Authorization_RequestDenied");
    let (_, sps) = graph(
        &env,
        &token,
        Method::GET,
        &format!(
            "/v1.0/servicePrincipals?$filter=appId%20eq%20'{}'",
            env.creds.entra_client_id
        ),
        None,
    )
    .await;
    assert_eq!(
        sps["value"][0]["id"],
        "e2a7d6c1-0b3f-4c59-8e14-6f9b2a7d5c30"
    );
}

#[tokio::test]
async fn new_graph_entities_use_the_metadata_properties_and_types() {
    let csdl = Csdl::load();
    let env = Env::start().await;
    let token = sign_in(&env, ADMIN).await;
    let mut errors = Vec::new();
    let (app, _, sp_id) = create_granted_app(
        &env,
        &token,
        "spec check",
        &[("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca")],
    )
    .await;
    csdl.check("application", &app, "application", &mut errors);
    // A certificate through PATCH keyCredentials.
    let cert_der = {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["okta365.test".to_owned()]).unwrap();
        params.self_signed(&pair).unwrap().der().to_vec()
    };
    let object_id = app["id"].as_str().unwrap();
    let (status, body) = graph(
        &env,
        &token,
        Method::PATCH,
        &format!("/v1.0/applications/{object_id}"),
        Some(json!({"keyCredentials": [{
            "type": "AsymmetricX509Cert", "usage": "Verify", "displayName": "okta365",
            "key": base64::engine::general_purpose::STANDARD.encode(&cert_der),
        }]})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, one) = graph(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(one["keyCredentials"].as_array().unwrap().len(), 1, "{one}");
    csdl.check("application", &one, "application", &mut errors);
    let (_, pw) = graph(
        &env,
        &token,
        Method::POST,
        &format!("/v1.0/applications/{object_id}/addPassword"),
        Some(json!({"passwordCredential": {"displayName": "x"}})),
    )
    .await;
    csdl.check("passwordCredential", &pw, "passwordCredential", &mut errors);
    let (_, sps) = graph(&env, &token, Method::GET, "/v1.0/servicePrincipals", None).await;
    for sp in sps["value"].as_array().unwrap() {
        csdl.check("servicePrincipal", sp, "servicePrincipal", &mut errors);
    }
    assert!(
        sps["value"].as_array().unwrap().len() >= 3,
        "Graph, the seeded apps and the new one"
    );
    let (_, sp) = graph(
        &env,
        &token,
        Method::GET,
        &format!("/v1.0/servicePrincipals/{sp_id}"),
        None,
    )
    .await;
    csdl.check("servicePrincipal", &sp, "servicePrincipal", &mut errors);
    let (_, assigned) = graph(
        &env,
        &token,
        Method::GET,
        "/v1.0/servicePrincipals/3c1e8a5d-7b24-4f6e-9a0d-52c8e1f7b3a9/appRoleAssignedTo",
        None,
    )
    .await;
    let assignments = assigned["value"].as_array().unwrap();
    assert!(
        assignments.len() >= 7,
        "the seeded apps' roles and the new grant: {assigned}"
    );
    for a in assignments {
        csdl.check("appRoleAssignment", a, "appRoleAssignment", &mut errors);
    }
    assert!(
        errors.is_empty(),
        "the sandbox drifted from Graph's metadata:\n{}",
        errors.join("\n")
    );
}
