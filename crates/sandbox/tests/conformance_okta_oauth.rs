//! The Okta OAuth side of the sandbox checked against Okta's own contracts: the token endpoint's
//! answers against `okta-oauth.yaml` (`POST /oauth2/v1/token`), and `users/me`, the System Log and
//! identity-source sessions against `okta-management.yaml`. The validator is the one of
//! `conformance.rs` (the subset of OpenAPI 3.0 these schemas use), loading either spec.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Env;
use common::openapi::OpenApi;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

struct App {
    client_id: String,
    key: EncodingKey,
}

async fn service_app(env: &Env, dpop: bool) -> App {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let jwk = json!({"kty": "RSA", "kid": "k1", "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
                     "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be())});
    let app = env
        .control(
            Method::POST,
            "/_sandbox/okta/service-apps",
            Some(
                json!({"jwks": {"keys": [jwk]}, "scopes": ["okta.users.read", "okta.logs.read"],
                        "adminRoles": ["READ_ONLY_ADMIN"], "dpopBound": dpop}),
            ),
        )
        .await;
    App {
        client_id: app["clientId"].as_str().unwrap().to_owned(),
        key: EncodingKey::from_rsa_der(private.to_pkcs1_der().unwrap().as_bytes()),
    }
}

async fn token_request(env: &Env, app: &App, scope: &str) -> reqwest::Response {
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({"iss": app.client_id, "sub": app.client_id, "aud": env.url("/oauth2/v1/token"),
                        "iat": now, "exp": now + 300, "jti": uuid::Uuid::new_v4().to_string()});
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let assertion = jsonwebtoken::encode(&h, &claims, &app.key).unwrap();
    env.http
        .post(env.url("/oauth2/v1/token"))
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
        .unwrap()
}

#[tokio::test]
async fn token_endpoint_answers_match_okta_oauth_yaml() {
    let api = OpenApi::load("okta-oauth.yaml");
    let env = Env::start().await;
    let mut checked = Vec::new();
    let app = service_app(&env, false).await;
    let ok = token_request(&env, &app, "okta.users.read").await;
    api.check("/oauth2/v1/token", "post", ok, &mut checked)
        .await;
    let scope = token_request(&env, &app, "okta.groups.manage").await;
    api.check("/oauth2/v1/token", "post", scope, &mut checked)
        .await;
    let unknown = App {
        client_id: "0oaUnknownClient0000".into(),
        key: app.key.clone(),
    };
    let client = token_request(&env, &unknown, "okta.users.read").await;
    api.check("/oauth2/v1/token", "post", client, &mut checked)
        .await;

    // DPoP: the first answer is a declared 400 with an OAuthError body.
    let dpop_app = service_app(&env, true).await;
    let missing = token_request(&env, &dpop_app, "okta.users.read").await;
    api.check("/oauth2/v1/token", "post", missing, &mut checked)
        .await;
    assert_eq!(checked.len(), 4, "{checked:?}");
    assert!(
        checked.contains(&"post /oauth2/v1/token 200".to_owned()),
        "{checked:?}"
    );
    assert!(
        checked.contains(&"post /oauth2/v1/token 401".to_owned()),
        "{checked:?}"
    );

    // The spec's TokenResponseTokenType enum lists only Bearer and N_A, yet Okta's DPoP guide documents
    // token_type "DPoP" for DPoP-bound tokens: the sandbox follows the guide. The rest of a DPoP token
    // response is checked against the schema with that one member set aside.
    let schema = api
        .response_schema("/oauth2/v1/token", "post", 200)
        .unwrap()
        .unwrap()
        .clone();
    let body = json!({"token_type": "DPoP", "expires_in": 3600, "access_token": "x", "scope": "okta.users.read"});
    let mut errors = Vec::new();
    api.validate(&schema, &body, "$", &mut errors);
    assert_eq!(errors.len(), 1, "only token_type differs: {errors:?}");
    assert!(errors[0].contains("token_type"), "{errors:?}");
}

#[tokio::test]
async fn me_logs_and_sessions_match_okta_management_yaml() {
    let api = OpenApi::load("okta-management.yaml");
    let env = Env::start().await;
    let mut checked = Vec::new();
    let get = |p: &str| env.okta(Method::GET, p).send();
    api.check(
        "/api/v1/users/{id}",
        "get",
        get("/api/v1/users/me").await.unwrap(),
        &mut checked,
    )
    .await;

    // Record events to list: add and remove a member.
    let groups: Vec<Value> = get("/api/v1/groups?q=Office")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users: Vec<Value> = get("/api/v1/users?limit=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/v1/groups/{}/users/{}",
        groups[0]["id"].as_str().unwrap(),
        users[0]["id"].as_str().unwrap()
    );
    for m in [Method::PUT, Method::DELETE] {
        let r = env
            .okta(m, &path)
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let logs = get("/api/v1/logs?limit=10").await.unwrap();
    let body: Value = get("/api/v1/logs?limit=10")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(2),
        "two events recorded: {body}"
    );
    api.check("/api/v1/logs", "get", logs, &mut checked).await;
    api.check(
        "/api/v1/logs",
        "get",
        get("/api/v1/logs?since=yesterday").await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/identity-sources/{identitySourceId}/sessions",
        "get",
        get("/api/v1/identity-sources/0oa5hrsrc0sandbox1d7/sessions")
            .await
            .unwrap(),
        &mut checked,
    )
    .await;

    // OAuth denials: 403 E0000006 (scope or role) on the System Log.
    let app = service_app(&env, false).await;
    let token: Value = token_request(&env, &app, "okta.users.read")
        .await
        .json()
        .await
        .unwrap();
    let denied = env
        .http
        .get(env.url("/api/v1/logs"))
        .header(
            "authorization",
            format!("Bearer {}", token["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap();
    api.check("/api/v1/logs", "get", denied, &mut checked).await;
    assert_eq!(checked.len(), 5, "{checked:?}");
}
