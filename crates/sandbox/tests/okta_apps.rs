//! Creating an Okta API service app the way an admin's API token does (docs/setup.md): apps, keys,
//! scope grants and admin roles, checked for behaviour over real loopback HTTP and against
//! `okta-management.yaml` (the validator of `common/openapi.rs`).

mod common;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Env;
use common::openapi::OpenApi;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct Key {
    encoding: EncodingKey,
    jwk: Value,
}

/// Keys 0 and 1 sign client assertions, key 2 DPoP proofs.
fn key(i: usize) -> &'static Key {
    static KEYS: OnceLock<Vec<Key>> = OnceLock::new();
    &KEYS.get_or_init(|| {
        (0..3)
            .map(|i| {
                let private =
                    rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA key");
                let der = private.to_pkcs1_der().unwrap();
                Key {
                    encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                    jwk: json!({
                        "kty": "RSA", "kid": format!("setup-key{i}"), "alg": "RS256", "use": "sig",
                        "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
                        "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
                    }),
                }
            })
            .collect()
    })[i]
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn proof(method: &str, url: &str, nonce: Option<&str>, token: Option<&str>) -> String {
    let mut claims =
        json!({ "htm": method, "htu": url, "iat": now(), "jti": uuid::Uuid::new_v4().to_string() });
    if let Some(n) = nonce {
        claims["nonce"] = json!(n);
    }
    if let Some(t) = token {
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes())));
    }
    let mut h = Header::new(Algorithm::RS256);
    h.typ = Some("dpop+jwt".into());
    h.jwk = Some(serde_json::from_value(key(2).jwk.clone()).unwrap());
    jsonwebtoken::encode(&h, &claims, &key(2).encoding).unwrap()
}

/// A token call with a client assertion signed by `k` and a DPoP proof (nonce retry included).
async fn dpop_token(env: &Env, client_id: &str, k: &Key, scope: &str) -> (StatusCode, Value) {
    let mut nonce: Option<String> = None;
    loop {
        let claims = json!({
            "iss": client_id, "sub": client_id, "aud": env.url("/oauth2/v1/token"),
            "iat": now(), "exp": now() + 300, "jti": uuid::Uuid::new_v4().to_string(),
        });
        let mut h = Header::new(Algorithm::RS256);
        h.kid = k.jwk["kid"].as_str().map(str::to_owned);
        let assertion = jsonwebtoken::encode(&h, &claims, &k.encoding).unwrap();
        let resp = env
            .http
            .post(env.url("/oauth2/v1/token"))
            .header(
                "dpop",
                proof("POST", &env.url("/oauth2/v1/token"), nonce.as_deref(), None),
            )
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let header_nonce = resp
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body: Value = resp.json().await.unwrap();
        if body["error"] == "use_dpop_nonce" && nonce.is_none() {
            nonce = header_nonce;
            continue;
        }
        return (status, body);
    }
}

/// A DPoP-bound API call.
async fn dpop_get(env: &Env, token: &str, path: &str) -> (StatusCode, Value) {
    let url = env.url(path);
    let resp = env
        .http
        .get(&url)
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof("GET", &url, None, Some(token)))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

fn service_app_body(label: &str, k: &Key) -> Value {
    json!({
        "name": "oidc_client",
        "label": label,
        "signOnMode": "OPENID_CONNECT",
        "credentials": { "oauthClient": { "token_endpoint_auth_method": "private_key_jwt" } },
        "settings": { "oauthClient": {
            "application_type": "service",
            "grant_types": ["client_credentials"],
            "response_types": ["token"],
            "dpop_bound_access_tokens": true,
            "jwks": { "keys": [k.jwk] },
        } },
    })
}

/// A token of an admin with `role`, from the control endpoint.
async fn admin_token(env: &Env, role: &str) -> Value {
    env.control(
        Method::POST,
        "/_sandbox/okta/api-tokens",
        Some(json!({ "name": "setup", "role": role })),
    )
    .await
}

fn ssws(env: &Env, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
    env.http
        .request(method, env.url(path))
        .header("authorization", format!("SSWS {token}"))
        .header("accept", "application/json")
}

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_created_service_app_issues_tokens_with_exactly_what_was_granted() {
    let env = Env::start().await;
    let admin = env.creds.okta_api_token.clone();
    let (status, app) = send(
        ssws(&env, &admin, Method::POST, "/api/v1/apps").json(&service_app_body("okta365", key(0))),
    )
    .await;
    assert_eq!(status, 200, "creating the app: {app}");
    let id = app["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app["credentials"]["oauthClient"]["client_id"], id,
        "an OIDC app's id is its client id"
    );
    assert_eq!(
        app["settings"]["oauthClient"]["dpop_bound_access_tokens"],
        true
    );
    let key_id = app["settings"]["oauthClient"]["jwks"]["keys"][0]["id"]
        .as_str()
        .unwrap();
    assert!(key_id.starts_with("pks"), "keys get Okta ids: {key_id}");

    // Nothing granted yet: the token endpoint refuses the scope.
    let (status, body) = dpop_token(&env, &id, key(0), "okta.users.read").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_scope");

    for scope in ["okta.users.read", "okta.groups.manage"] {
        let (status, grant) = send(
            ssws(
                &env,
                &admin,
                Method::POST,
                &format!("/api/v1/apps/{id}/grants"),
            )
            .json(&json!({ "scopeId": scope, "issuer": env.url("") })),
        )
        .await;
        assert_eq!(status, 201, "a grant answers 201: {grant}");
        assert_eq!(grant["scopeId"], scope);
        assert_eq!(grant["clientId"], id);
    }
    let (status, again) = send(
        ssws(
            &env,
            &admin,
            Method::POST,
            &format!("/api/v1/apps/{id}/grants"),
        )
        .json(&json!({ "scopeId": "okta.users.read", "issuer": env.url("/") })),
    )
    .await;
    assert_eq!(status, 400, "a scope is granted once: {again}");
    assert_eq!(again["errorCode"], "E0000001");
    let (_, grants) = send(ssws(
        &env,
        &admin,
        Method::GET,
        &format!("/api/v1/apps/{id}/grants"),
    ))
    .await;
    let scopes: Vec<&str> = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["scopeId"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["okta.users.read", "okta.groups.manage"]);

    // Granted scopes come in the token; others are still refused.
    let (status, token) = dpop_token(&env, &id, key(0), "okta.users.read okta.groups.manage").await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "DPoP");
    assert_eq!(token["scope"], "okta.users.read okta.groups.manage");
    let (status, _) = dpop_token(&env, &id, key(0), "okta.logs.read").await;
    assert_eq!(status, 400, "okta.logs.read was never granted");

    // Without an admin role every API call is refused, as in Okta.
    let access = token["access_token"].as_str().unwrap().to_owned();
    let (status, body) = dpop_get(&env, &access, "/api/v1/users?limit=1").await;
    assert_eq!(status, 403, "no admin role yet: {body}");
    assert_eq!(body["errorCode"], "E0000006");

    let (status, role) = send(
        ssws(
            &env,
            &admin,
            Method::POST,
            &format!("/oauth2/v1/clients/{id}/roles"),
        )
        .json(&json!({ "type": "ORG_ADMIN" })),
    )
    .await;
    assert_eq!(status, 200, "{role}");
    assert_eq!(role["type"], "ORG_ADMIN");
    assert_eq!(role["assignmentType"], "CLIENT");
    let (status, dup) = send(
        ssws(
            &env,
            &admin,
            Method::POST,
            &format!("/oauth2/v1/clients/{id}/roles"),
        )
        .json(&json!({ "type": "ORG_ADMIN" })),
    )
    .await;
    assert_eq!(status, 409, "a role is assigned once: {dup}");
    let (status, users) = dpop_get(&env, &access, "/api/v1/users?limit=1").await;
    assert_eq!(
        status, 200,
        "with a role and the scope the call works: {users}"
    );
    let (status, _) = dpop_get(&env, &access, "/api/v1/logs?limit=1").await;
    assert_eq!(status, 403, "the token lacks okta.logs.read");

    // A second key: assertions signed with it work too; a duplicate kid is refused.
    let (status, added) = send(
        ssws(
            &env,
            &admin,
            Method::POST,
            &format!("/api/v1/apps/{id}/credentials/jwks"),
        )
        .json(&key(1).jwk),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["kid"], "setup-key1");
    assert_eq!(added["status"], "ACTIVE");
    let (status, dup) = send(
        ssws(
            &env,
            &admin,
            Method::POST,
            &format!("/api/v1/apps/{id}/credentials/jwks"),
        )
        .json(&key(1).jwk),
    )
    .await;
    assert_eq!(status, 400, "{dup}");
    let (status, body) = dpop_token(&env, &id, key(1), "okta.users.read").await;
    assert_eq!(status, 200, "the added key signs assertions: {body}");

    // The control view shows the same app the token endpoint uses.
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    let apps = state["okta"]["serviceApps"].as_array().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["clientId"], id);
    assert_eq!(apps[0]["adminRoles"], json!(["ORG_ADMIN"]));
    assert_eq!(apps[0]["keys"], 2);
    let events = env.control(Method::GET, "/_sandbox/events", None).await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types[0], "application.lifecycle.create");
    assert_eq!(
        types.len(),
        5,
        "create, two grants, a role, a key: {types:?}"
    );
}

#[tokio::test]
async fn apps_are_found_by_label_prefix_and_paged() {
    let env = Env::start().await;
    let admin = env.creds.okta_api_token.clone();
    for label in ["okta365", "okta365 staging", "other"] {
        let (status, _) = send(
            ssws(&env, &admin, Method::POST, "/api/v1/apps").json(&service_app_body(label, key(0))),
        )
        .await;
        assert_eq!(status, 200);
    }
    let resp = ssws(&env, &admin, Method::GET, "/api/v1/apps?q=OKTA365&limit=1")
        .send()
        .await
        .unwrap();
    let link = resp
        .headers()
        .get("link")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let first: Value = resp.json().await.unwrap();
    assert_eq!(first.as_array().unwrap().len(), 1);
    assert!(link.contains("rel=\"next\""), "more apps match: {link}");
    let next = link
        .split(',')
        .find(|l| l.contains("rel=\"next\""))
        .and_then(|l| l.split('<').nth(1))
        .and_then(|l| l.split('>').next())
        .unwrap()
        .to_owned();
    let resp = env.okta_url(Method::GET, &next).send().await.unwrap();
    assert!(
        !resp
            .headers()
            .get("link")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("next"),
        "two apps start with okta365"
    );
    let second: Value = resp.json().await.unwrap();
    let mut labels: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .chain(second.as_array().unwrap())
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        ["okta365", "okta365 staging"],
        "q is a case-insensitive prefix"
    );

    let (status, missing) = send(ssws(
        &env,
        &admin,
        Method::GET,
        "/api/v1/apps/0oaMissing0000000000",
    ))
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing["errorCode"], "E0000007");
}

#[tokio::test]
async fn tokens_act_with_their_admins_roles() {
    let env = Env::start().await;
    let (_, me) = send(ssws(
        &env,
        &env.creds.okta_api_token,
        Method::GET,
        "/api/v1/users/me",
    ))
    .await;
    let (status, roles) = send(ssws(
        &env,
        &env.creds.okta_api_token,
        Method::GET,
        &format!("/api/v1/users/{}/roles", me["id"].as_str().unwrap()),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        roles[0]["type"], "SUPER_ADMIN",
        "the demo token is a super admin's: {roles}"
    );

    let read_only = admin_token(&env, "READ_ONLY_ADMIN").await;
    let token = read_only["token"].as_str().unwrap().to_owned();
    let (_, me) = send(ssws(&env, &token, Method::GET, "/api/v1/users/me")).await;
    assert_eq!(
        me["id"], read_only["userId"],
        "users/me is the token's admin"
    );
    let (_, roles) = send(ssws(
        &env,
        &token,
        Method::GET,
        &format!("/api/v1/users/{}/roles", me["id"].as_str().unwrap()),
    ))
    .await;
    let types: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["READ_ONLY_ADMIN"]);
    assert_eq!(roles[0]["assignmentType"], "USER");
    let again = admin_token(&env, "READ_ONLY_ADMIN").await;
    assert_eq!(
        again["userId"], read_only["userId"],
        "one read-only admin holds the role"
    );

    // A read-only admin reads but never writes.
    let (status, _) = send(ssws(&env, &token, Method::GET, "/api/v1/apps")).await;
    assert_eq!(status, 200);
    let (status, body) = send(
        ssws(&env, &token, Method::POST, "/api/v1/apps").json(&service_app_body("okta365", key(0))),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errorCode"], "E0000006");
    let (status, _) = send(
        ssws(&env, &token, Method::POST, "/api/v1/groups").json(&json!({"profile": {"name": "X"}})),
    )
    .await;
    assert_eq!(status, 403, "no group writes either");

    // Grants and roles need a super admin: an org admin is refused.
    let (_, app) = send(
        ssws(
            &env,
            &env.creds.okta_api_token,
            Method::POST,
            "/api/v1/apps",
        )
        .json(&service_app_body("okta365", key(0))),
    )
    .await;
    let id = app["id"].as_str().unwrap();
    let org_admin = admin_token(&env, "ORG_ADMIN").await;
    let org_token = org_admin["token"].as_str().unwrap();
    assert_ne!(org_admin["userId"], read_only["userId"]);
    let (status, body) = send(
        ssws(
            &env,
            org_token,
            Method::POST,
            &format!("/api/v1/apps/{id}/grants"),
        )
        .json(&json!({ "scopeId": "okta.users.read", "issuer": env.url("") })),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["errorCode"], "E0000006");
    let (status, _) = send(
        ssws(
            &env,
            org_token,
            Method::POST,
            &format!("/oauth2/v1/clients/{id}/roles"),
        )
        .json(&json!({ "type": "READ_ONLY_ADMIN" })),
    )
    .await;
    assert_eq!(status, 403);

    let bad = env
        .http
        .post(env.url("/_sandbox/okta/api-tokens"))
        .json(&json!({ "role": "KING" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let msg: Value = bad.json().await.unwrap();
    assert!(
        msg["error"].as_str().unwrap().contains("SUPER_ADMIN"),
        "{msg}"
    );
}

#[tokio::test]
async fn create_requests_are_checked_with_okta_errors() {
    let env = Env::start().await;
    let admin = env.creds.okta_api_token.clone();
    type Tweak = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Tweak, &str)> = vec![
        (Box::new(|b| b["label"] = json!("")), "label"),
        (
            Box::new(|b| b["signOnMode"] = json!("SAML_2_0")),
            "OPENID_CONNECT",
        ),
        (
            Box::new(|b| b["settings"]["oauthClient"]["application_type"] = json!("web")),
            "service",
        ),
        (
            Box::new(|b| {
                b["settings"]["oauthClient"]["grant_types"] = json!(["authorization_code"])
            }),
            "client_credentials",
        ),
        (
            Box::new(|b| {
                b["credentials"]["oauthClient"]["token_endpoint_auth_method"] =
                    json!("client_secret_basic")
            }),
            "private_key_jwt",
        ),
        (
            Box::new(|b| {
                b["settings"]["oauthClient"]["jwks"]["keys"][0]["d"] = json!("secret");
            }),
            "private",
        ),
    ];
    for (tweak, needle) in cases {
        let mut body = service_app_body("okta365", key(0));
        tweak(&mut body);
        let (status, err) =
            send(ssws(&env, &admin, Method::POST, "/api/v1/apps").json(&body)).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["errorCode"], "E0000001");
        let cause = err["errorCauses"][0]["errorSummary"].as_str().unwrap();
        assert!(cause.contains(needle), "{needle:?} expected in {cause}");
    }
    let state = env.control(Method::GET, "/_sandbox/state", None).await;
    assert_eq!(
        state["okta"]["serviceApps"].as_array().unwrap().len(),
        0,
        "refused requests create nothing"
    );
}

#[tokio::test]
async fn app_setup_answers_match_okta_management_yaml() {
    let api = OpenApi::load("okta-management.yaml");
    let env = Env::start().await;
    let admin = env.creds.okta_api_token.clone();
    let mut checked = Vec::new();
    let created = ssws(&env, &admin, Method::POST, "/api/v1/apps")
        .json(&service_app_body("okta365", key(0)))
        .send()
        .await
        .unwrap();
    let app: Value = created.json().await.unwrap();
    // The Application schema is a discriminator on signOnMode; check the OPENID_CONNECT branch too.
    let schema = json!({ "$ref": "#/components/schemas/OpenIdConnectApplication" });
    let mut errors = Vec::new();
    api.validate(&schema, &app, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "the app is an OpenIdConnectApplication: {errors:#?}"
    );
    let id = app["id"].as_str().unwrap().to_owned();
    let again = ssws(&env, &admin, Method::POST, "/api/v1/apps")
        .json(&service_app_body("okta365 2", key(0)))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/apps", "post", again, &mut checked).await;
    let bad = ssws(&env, &admin, Method::POST, "/api/v1/apps")
        .json(&json!({ "signOnMode": "OPENID_CONNECT" }))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/apps", "post", bad, &mut checked).await;
    let get = |p: String| ssws(&env, &admin, Method::GET, &p).send();
    api.check(
        "/api/v1/apps",
        "get",
        get("/api/v1/apps?q=okta&limit=5".into()).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/apps/{appId}",
        "get",
        get(format!("/api/v1/apps/{id}")).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/apps/{appId}",
        "get",
        get("/api/v1/apps/0oaMissing0000000000".into())
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    let added = ssws(
        &env,
        &admin,
        Method::POST,
        &format!("/api/v1/apps/{id}/credentials/jwks"),
    )
    .json(&key(1).jwk)
    .send()
    .await
    .unwrap();
    api.check(
        "/api/v1/apps/{appId}/credentials/jwks",
        "post",
        added,
        &mut checked,
    )
    .await;
    let dup = ssws(
        &env,
        &admin,
        Method::POST,
        &format!("/api/v1/apps/{id}/credentials/jwks"),
    )
    .json(&key(1).jwk)
    .send()
    .await
    .unwrap();
    api.check(
        "/api/v1/apps/{appId}/credentials/jwks",
        "post",
        dup,
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/apps/{appId}/credentials/jwks",
        "get",
        get(format!("/api/v1/apps/{id}/credentials/jwks"))
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    let granted = ssws(
        &env,
        &admin,
        Method::POST,
        &format!("/api/v1/apps/{id}/grants"),
    )
    .json(&json!({ "scopeId": "okta.users.read", "issuer": env.url("") }))
    .send()
    .await
    .unwrap();
    api.check("/api/v1/apps/{appId}/grants", "post", granted, &mut checked)
        .await;
    api.check(
        "/api/v1/apps/{appId}/grants",
        "get",
        get(format!("/api/v1/apps/{id}/grants")).await.unwrap(),
        &mut checked,
    )
    .await;
    let read_only = admin_token(&env, "READ_ONLY_ADMIN").await;
    let denied = ssws(
        &env,
        read_only["token"].as_str().unwrap(),
        Method::POST,
        &format!("/api/v1/apps/{id}/grants"),
    )
    .json(&json!({ "scopeId": "okta.logs.read", "issuer": env.url("") }))
    .send()
    .await
    .unwrap();
    api.check("/api/v1/apps/{appId}/grants", "post", denied, &mut checked)
        .await;
    let assigned = ssws(
        &env,
        &admin,
        Method::POST,
        &format!("/oauth2/v1/clients/{id}/roles"),
    )
    .json(&json!({ "type": "READ_ONLY_ADMIN" }))
    .send()
    .await
    .unwrap();
    api.check(
        "/oauth2/v1/clients/{clientId}/roles",
        "post",
        assigned,
        &mut checked,
    )
    .await;
    api.check(
        "/oauth2/v1/clients/{clientId}/roles",
        "get",
        get(format!("/oauth2/v1/clients/{id}/roles")).await.unwrap(),
        &mut checked,
    )
    .await;
    let me: Value = get("/api/v1/users/me".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    api.check(
        "/api/v1/users/{userId}/roles",
        "get",
        get(format!(
            "/api/v1/users/{}/roles",
            me["id"].as_str().unwrap()
        ))
        .await
        .unwrap(),
        &mut checked,
    )
    .await;
    assert_eq!(checked.len(), 14, "{checked:#?}");
    for expected in [
        "post /api/v1/apps 200",
        "post /api/v1/apps 400",
        "post /api/v1/apps/{appId}/credentials/jwks 201",
        "post /api/v1/apps/{appId}/grants 201",
        "post /api/v1/apps/{appId}/grants 403",
        "post /oauth2/v1/clients/{clientId}/roles 200",
    ] {
        assert!(
            checked.contains(&expected.to_owned()),
            "{expected} in {checked:#?}"
        );
    }
}
