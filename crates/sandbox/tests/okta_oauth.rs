//! OAuth 2.0 for Okta APIs in the sandbox, over real loopback HTTP: the token endpoint's checks of
//! `private_key_jwt` assertions and DPoP proofs, and API calls with `Bearer`/`DPoP` tokens (scopes,
//! admin roles), plus `users/me`, the System Log and identity-source sessions.

mod common;

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Env;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// An RSA key pair for tests: the signing key and its public JWK.
struct Key {
    encoding: EncodingKey,
    jwk: Value,
}

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
                        "kty": "RSA", "kid": format!("key{i}"), "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
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

fn sign(header: Header, claims: &Value, k: &Key) -> String {
    jsonwebtoken::encode(&header, claims, &k.encoding).unwrap()
}

fn assertion(env: &Env, client_id: &str, k: &Key, tweak: impl FnOnce(&mut Value)) -> String {
    let mut claims = json!({
        "iss": client_id, "sub": client_id, "aud": env.url("/oauth2/v1/token"),
        "iat": now(), "exp": now() + 300, "jti": uuid::Uuid::new_v4().to_string(),
    });
    tweak(&mut claims);
    let mut h = Header::new(Algorithm::RS256);
    h.kid = k.jwk["kid"].as_str().map(str::to_owned);
    sign(h, &claims, k)
}

/// A DPoP proof signed with key 2 (the "DPoP key", separate from the assertion key).
fn proof(method: &str, url: &str, nonce: Option<&str>, token: Option<&str>) -> String {
    let k = key(2);
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
    sign(h, &claims, k)
}

async fn create_app(env: &Env, scopes: &[&str], roles: &[&str], dpop: bool) -> String {
    let app = env
        .control(
            Method::POST,
            "/_sandbox/okta/service-apps",
            Some(
                json!({ "name": "okta365 test", "jwks": { "keys": [key(0).jwk] }, "scopes": scopes,
                         "adminRoles": roles, "dpopBound": dpop }),
            ),
        )
        .await;
    let id = app["clientId"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("0oa") && id.len() == 20,
        "client ids look like Okta's: {id}"
    );
    id
}

async fn token_call(
    env: &Env,
    form: &[(&str, &str)],
    dpop: Option<String>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = env.http.post(env.url("/oauth2/v1/token")).form(form);
    if let Some(p) = dpop {
        req = req.header("dpop", p);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.json().await.unwrap())
}

fn form<'a>(assertion: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("scope", scope),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
    ]
}

/// A Bearer token for a non-DPoP app.
async fn bearer(env: &Env, client: &str, scope: &str) -> String {
    let a = assertion(env, client, key(0), |_| {});
    let (status, _, body) = token_call(env, &form(&a, scope), None).await;
    assert_eq!(status, 200, "token: {body}");
    assert_eq!(body["token_type"], "Bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn assertions_are_checked_like_okta_does() {
    let env = Env::start().await;
    let client = create_app(&env, &["okta.users.read"], &["READ_ONLY_ADMIN"], false).await;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "aud",
            assertion(&env, &client, key(0), |c| {
                c["aud"] = json!("https://example.okta.com/oauth2/v1/token")
            }),
            "audience",
        ),
        (
            "exp past",
            assertion(&env, &client, key(0), |c| c["exp"] = json!(now() - 600)),
            "expired",
        ),
        (
            "exp > 1 h",
            assertion(&env, &client, key(0), |c| c["exp"] = json!(now() + 7200)),
            "too far",
        ),
        (
            "iss != sub",
            assertion(&env, &client, key(0), |c| {
                c["sub"] = json!("0oaSomeoneElse000000")
            }),
            "iss",
        ),
        (
            "no jti",
            assertion(&env, &client, key(0), |c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti",
        ),
        (
            "wrong key",
            {
                // Signed by key 1 but naming key 0's kid.
                let mut h = Header::new(Algorithm::RS256);
                h.kid = Some("key0".into());
                sign(
                    h,
                    &json!({"iss": client, "sub": client, "aud": env.url("/oauth2/v1/token"), "exp": now() + 60, "jti": "x1"}),
                    key(1),
                )
            },
            "signature",
        ),
        (
            "unknown client",
            assertion(&env, "0oaUnknownClient0000", key(0), |_| {}),
            "client_id",
        ),
    ];
    for (name, a, needle) in cases {
        let (status, _, body) = token_call(&env, &form(&a, "okta.users.read"), None).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"], "invalid_client", "{name}: {body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(needle),
            "{name}: the description should mention {needle}: {body}"
        );
    }
    // Replay: the same assertion twice.
    let a = assertion(&env, &client, key(0), |_| {});
    let (first, _, _) = token_call(&env, &form(&a, "okta.users.read"), None).await;
    let (second, _, body) = token_call(&env, &form(&a, "okta.users.read"), None).await;
    assert_eq!((first, second), (StatusCode::OK, StatusCode::UNAUTHORIZED));
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{body}"
    );
    // No credentials at all.
    let (status, _, body) = token_call(
        &env,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "okta.users.read"),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (
            StatusCode::UNAUTHORIZED,
            Some("No client credentials found")
        )
    );
}

#[tokio::test]
async fn scopes_must_be_granted_and_are_named_when_not() {
    let env = Env::start().await;
    let client = create_app(&env, &["okta.users.read"], &["READ_ONLY_ADMIN"], false).await;
    let a = assertion(&env, &client, key(0), |_| {});
    let (status, _, body) = token_call(
        &env,
        &form(&a, "okta.users.read okta.logs.read okta.groups.read"),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");
    assert_eq!(
        body["error_description"],
        "The following scopes are not allowed: okta.logs.read, okta.groups.read"
    );
    let a = assertion(&env, &client, key(0), |_| {});
    let (status, _, body) = token_call(&env, &form(&a, ""), None).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("No scopes were requested."))
    );
}

#[tokio::test]
async fn dpop_apps_need_a_proof_then_a_nonce_and_bind_the_token() {
    let env = Env::start().await;
    let client = create_app(&env, &["okta.users.read"], &["READ_ONLY_ADMIN"], true).await;
    let token_url = env.url("/oauth2/v1/token");
    let a = assertion(&env, &client, key(0), |_| {});
    let (status, _, body) = token_call(&env, &form(&a, "okta.users.read"), None).await;
    assert_eq!(
        (status, &body),
        (
            StatusCode::BAD_REQUEST,
            &json!({"error": "invalid_dpop_proof", "error_description": "The DPoP proof JWT header is missing."})
        )
    );
    // A proof without a nonce: use_dpop_nonce and the nonce in a header. The same assertion is reused.
    let (status, headers, body) = token_call(
        &env,
        &form(&a, "okta.users.read"),
        Some(proof("POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "use_dpop_nonce");
    let nonce = headers["dpop-nonce"].to_str().unwrap().to_owned();
    // Proof checks.
    for (name, p, needle) in [
        ("htm", proof("GET", &token_url, Some(&nonce), None), "'htm'"),
        (
            "htu",
            proof("POST", &env.url("/oauth2/v1/authorize"), Some(&nonce), None),
            "'htu'",
        ),
        ("garbage", "not.a.jwt".to_owned(), "cannot be parsed"),
    ] {
        let (status, _, body) = token_call(&env, &form(&a, "okta.users.read"), Some(p)).await;
        assert_eq!(status, 400, "{name}");
        assert_eq!(body["error"], "invalid_dpop_proof", "{name}");
        assert!(
            body["error_description"].as_str().unwrap().contains(needle),
            "{name}: {body}"
        );
    }
    let (status, _, body) = token_call(
        &env,
        &form(&a, "okta.users.read"),
        Some(proof("POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "okta.users.read");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let users_url = env.url("/api/v1/users");
    let call = |scheme: &str, p: Option<String>| {
        let mut r = env
            .http
            .get(&users_url)
            .header("authorization", format!("{scheme} {token}"));
        if let Some(p) = p {
            r = r.header("dpop", p);
        }
        r.send()
    };
    let ok = call("DPoP", Some(proof("GET", &users_url, None, Some(&token))))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "a DPoP call with a good proof succeeds");
    let bearer = call("Bearer", None).await.unwrap();
    assert_eq!(
        bearer.status(),
        401,
        "a DPoP-bound token is refused as a Bearer token"
    );
    let missing = call("DPoP", None).await.unwrap();
    assert_eq!(missing.status(), 400);
    let challenge = missing.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP ") && challenge.contains("error=\"invalid_dpop_proof\""),
        "{challenge}"
    );
    let no_ath = call("DPoP", Some(proof("GET", &users_url, None, None)))
        .await
        .unwrap();
    assert_eq!(no_ath.status(), 400);
    let body: Value = no_ath.json().await.unwrap();
    assert!(
        body["errorSummary"].as_str().unwrap().contains("'ath'"),
        "{body}"
    );
    let wrong_htu = call(
        "DPoP",
        Some(proof("GET", &env.url("/api/v1/groups"), None, Some(&token))),
    )
    .await
    .unwrap();
    assert_eq!(wrong_htu.status(), 400);
}

#[tokio::test]
async fn api_calls_need_the_scope_and_an_admin_role() {
    let env = Env::start().await;
    let client = create_app(&env, &["okta.users.read", "okta.logs.read"], &[], false).await;
    let token = bearer(&env, &client, "okta.users.read").await;
    let get = |path: &str| {
        env.http
            .get(env.url(path))
            .header("authorization", format!("Bearer {token}"))
            .send()
    };
    let no_role = get("/api/v1/users?limit=1").await.unwrap();
    assert_eq!(no_role.status(), 403);
    assert!(
        !no_role.headers().contains_key("www-authenticate"),
        "a missing admin role is not a scope problem"
    );
    let body: Value = no_role.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000006");
    assert_eq!(
        body["errorSummary"],
        "You do not have permission to perform the requested action"
    );

    env.http
        .patch(env.url(&format!("/_sandbox/okta/service-apps/{client}")))
        .json(&json!({ "adminRoles": ["READ_ONLY_ADMIN"] }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(get("/api/v1/users?limit=1").await.unwrap().status(), 200);
    let logs = get("/api/v1/logs").await.unwrap();
    assert_eq!(
        logs.status(),
        403,
        "the token was not issued with okta.logs.read"
    );
    let challenge = logs.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("scope=\"okta.logs.read\"")
            && challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    let me = get("/api/v1/users/me").await.unwrap();
    assert_eq!(me.status(), 404, "a service app has no user behind it");
    let body: Value = me.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000007");

    // An unknown token, and an expired one (the sandbox clock moves past its hour).
    let bad = env
        .http
        .get(env.url("/api/v1/users"))
        .header("authorization", "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    env.control(
        Method::POST,
        "/_sandbox/clock",
        Some(json!({"advance_secs": 3601})),
    )
    .await;
    let expired = get("/api/v1/users?limit=1").await.unwrap();
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000011");
}

#[tokio::test]
async fn ssws_me_is_the_super_admin_and_identity_source_sessions_list() {
    let env = Env::start().await;
    let me: Value = env
        .okta(Method::GET, "/api/v1/users/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["profile"]["login"], "dmitri.nakamura@corp.example");
    let sessions = env
        .okta(
            Method::GET,
            "/api/v1/identity-sources/0oa5hrsrc0sandbox1d7/sessions",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.status(), 200);
    assert_eq!(sessions.json::<Value>().await.unwrap(), json!([]));
    let unknown = env
        .okta(
            Method::GET,
            "/api/v1/identity-sources/0oaNoSuchSource00000/sessions",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

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

#[tokio::test]
async fn logs_poll_with_an_ever_present_next_link_and_filter_on_event_type() {
    let env = Env::start().await;
    let groups: Vec<Value> = env
        .okta(Method::GET, "/api/v1/groups?q=Office")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gid = groups[0]["id"].as_str().unwrap().to_owned();
    let users: Vec<Value> = env
        .okta(Method::GET, "/api/v1/users?limit=3")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = env
        .okta(Method::GET, "/api/v1/logs?limit=2")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let next = next_link(&first).expect("polling always returns next, even when empty");
    assert_eq!(first.json::<Vec<Value>>().await.unwrap().len(), 0);
    // Changes after the first poll show up on the next link; add then remove one member.
    for u in &users[..2] {
        let uid = u["id"].as_str().unwrap();
        for method in [Method::PUT, Method::DELETE] {
            let r = env
                .okta(method, &format!("/api/v1/groups/{gid}/users/{uid}"))
                .header("content-length", "0")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 204);
        }
    }
    let page = env.okta_url(Method::GET, &next).send().await.unwrap();
    let next2 = next_link(&page).unwrap();
    let events: Vec<Value> = page.json().await.unwrap();
    assert_eq!(events.len(), 2, "limit=2 carries over on the next link");
    let page = env.okta_url(Method::GET, &next2).send().await.unwrap();
    let next3 = next_link(&page).unwrap();
    assert_eq!(page.json::<Vec<Value>>().await.unwrap().len(), 2);
    let page = env.okta_url(Method::GET, &next3).send().await.unwrap();
    assert!(
        next_link(&page).is_some(),
        "an empty polling page still has next"
    );
    assert!(page.json::<Vec<Value>>().await.unwrap().is_empty());

    let filter = format!("eventType eq \"group.user_membership.add\" and target.id eq \"{gid}\"");
    let url =
        reqwest::Url::parse_with_params(&env.url("/api/v1/logs"), &[("filter", filter.as_str())])
            .unwrap();
    let adds: Vec<Value> = env
        .okta_url(Method::GET, url.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(adds.len(), 2);
    assert!(
        adds.iter()
            .all(|e| e["eventType"] == "group.user_membership.add")
    );
    let bad = env
        .okta(
            Method::GET,
            "/api/v1/logs?filter=published%20gt%20%222024-01-01%22",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["errorCode"], "E0000053");
}

#[tokio::test]
async fn control_refuses_private_keys_and_unknown_roles() {
    let env = Env::start().await;
    for (body, needle) in [
        (
            json!({"jwks": {"keys": [{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}}),
            "private",
        ),
        (
            json!({"jwks": {"keys": [key(0).jwk]}, "adminRoles": ["GOD"]}),
            "GOD",
        ),
        (
            json!({"jwks": {"keys": [key(0).jwk]}, "scopes": ["users.read"]}),
            "users.read",
        ),
        (json!({"scopes": ["okta.users.read"]}), "jwks"),
    ] {
        let r = env
            .http
            .post(env.url("/_sandbox/okta/service-apps"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let msg = r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(msg.contains(needle), "{msg}");
    }
    let r = env
        .http
        .patch(env.url("/_sandbox/okta/service-apps/0oaNope"))
        .json(&json!({"dpopBound": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
