//! The client as an API service app against the sandbox: private_key_jwt, DPoP (nonce round trip,
//! `ath`), scopes, admin roles, the token cache, and the error table.

mod common;

use common::{Env, rsa_key};
use okta365_okta::{OAuthErrorCode, OktaErrorCode, PrivateKey, generate_key_pair};

#[tokio::test]
async fn without_dpop_a_bearer_token_is_used_and_cached() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(key, &["okta.users.read"], &["READ_ONLY_ADMIN"], false)
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read"]);
    let info = okta
        .token_info()
        .await
        .unwrap()
        .expect("a service app has a token");
    assert_eq!(
        (info.token_type.as_str(), info.dpop, info.dpop_nonce_used),
        ("Bearer", false, false)
    );
    assert_eq!(info.scopes, ["okta.users.read"]);
    assert_eq!(okta.users().list(Some(3)).await.unwrap().items().len(), 3);
    // Concurrent calls from clones share the one cached token: no stampede.
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let c = okta.clone();
            tokio::spawn(async move { c.users().list(Some(1)).await.map(|p| p.items().len()) })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), 1);
    }
    assert_eq!(
        env.tokens_issued(&client_id).await,
        1,
        "one token for all calls"
    );
}

#[tokio::test]
async fn concurrent_first_calls_fetch_one_token() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(key, &["okta.users.read"], &["READ_ONLY_ADMIN"], true)
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read"]);
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let c = okta.clone();
            tokio::spawn(async move { c.users().list(Some(1)).await.map(|p| p.items().len()) })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), 1);
    }
    assert_eq!(
        env.tokens_issued(&client_id).await,
        1,
        "the cache lock holds back the others"
    );
}

#[tokio::test]
async fn with_dpop_the_proof_and_nonce_round_trip_happen_and_api_calls_carry_ath() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(
            key,
            &["okta.users.read", "okta.groups.read"],
            &["READ_ONLY_ADMIN"],
            true,
        )
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read", "okta.groups.read"]);
    let info = okta.token_info().await.unwrap().unwrap();
    assert_eq!(info.token_type, "DPoP");
    assert!(info.dpop, "the org required DPoP for this app");
    assert!(
        info.dpop_nonce_used,
        "Okta's use_dpop_nonce was answered with the nonce"
    );
    // The sandbox checks every API call's proof (htm, htu, ath, key binding).
    let me_login = okta
        .users()
        .get("dmitri.nakamura@corp.example")
        .await
        .unwrap()
        .profile
        .login;
    assert_eq!(me_login, "dmitri.nakamura@corp.example");
    let groups = okta.groups().list(&Default::default()).await.unwrap();
    assert!(!groups.items().is_empty());
    let members = okta.groups().members(&groups.items()[0].id).await.unwrap();
    let _ = members.collect_all().await.unwrap();
}

#[tokio::test]
async fn an_ec_p256_key_works_too() {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    let env = Env::start().await;
    let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
    let key = PrivateKey::parse(&pem, Some("ec-1")).unwrap();
    let client_id = env
        .service_app(&key, &["okta.users.read"], &["READ_ONLY_ADMIN"], true)
        .await;
    let okta = env.app_client(&client_id, &key, &["okta.users.read"]);
    assert_eq!(okta.users().list(Some(2)).await.unwrap().items().len(), 2);
}

#[tokio::test]
async fn a_wrong_key_is_invalid_client_and_the_message_has_no_assertion() {
    let env = Env::start().await;
    let (registered, _) = rsa_key();
    let client_id = env
        .service_app(
            registered,
            &["okta.users.read"],
            &["READ_ONLY_ADMIN"],
            false,
        )
        .await;
    let (other, _) = generate_key_pair().unwrap();
    // Same kid as the registered key, different key material.
    let pem = other.to_pkcs8_pem().unwrap();
    let wrong = PrivateKey::parse(pem.expose(), registered.kid()).unwrap();
    let err = env
        .app_client(&client_id, &wrong, &["okta.users.read"])
        .users()
        .list(Some(1))
        .await
        .unwrap_err();
    assert_eq!(
        err.oauth_error(),
        Some(&OAuthErrorCode::InvalidClient),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(401));
    let msg = err.to_string();
    assert!(
        msg.contains("public JWK") && msg.contains("signature"),
        "{msg}"
    );
    assert!(
        !msg.contains("eyJ"),
        "no JWT (assertion or proof) in the message: {msg}"
    );
    assert!(!msg.contains("BEGIN"), "no key in the message");
}

#[tokio::test]
async fn a_scope_not_granted_is_invalid_scope_naming_it() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(key, &["okta.users.read"], &["READ_ONLY_ADMIN"], true)
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read", "okta.logs.read"]);
    let err = okta.token_info().await.unwrap_err();
    assert_eq!(
        err.oauth_error(),
        Some(&OAuthErrorCode::InvalidScope),
        "{err:?}"
    );
    assert_eq!(err.scopes_not_allowed(), ["okta.logs.read"]);
    let msg = err.to_string();
    assert!(
        msg.contains("okta.logs.read") && msg.contains("Okta API Scopes"),
        "{msg}"
    );
}

#[tokio::test]
async fn no_admin_role_is_e0000006_with_the_two_causes() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(key, &["okta.users.read", "okta.logs.read"], &[], false)
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read"]);
    let err = okta.users().list(Some(1)).await.unwrap_err();
    assert_eq!(
        err.okta_code(),
        Some(&OktaErrorCode::AccessDenied),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(403));
    let msg = err.to_string();
    assert!(
        msg.contains("Okta API Scopes") && msg.contains("admin role"),
        "both usual causes are named: {msg}"
    );
    // With a role, a token that lacks the scope for the call names that scope.
    env.control(
        reqwest::Method::PATCH,
        &format!("/_sandbox/okta/service-apps/{client_id}"),
        serde_json::json!({ "adminRoles": ["READ_ONLY_ADMIN"] }),
    )
    .await;
    assert!(
        okta.users().list(Some(1)).await.is_ok(),
        "the role is checked live"
    );
    let err = okta.logs().list(&Default::default()).await.unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::AccessDenied));
    assert!(
        matches!(&err, okta365_okta::Error::Api { missing_scope: Some(s), .. } if s == "okta.logs.read"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("does not hold the scope okta.logs.read"),
        "{err}"
    );
}

#[tokio::test]
async fn a_service_app_has_no_me_and_an_expired_token_is_replaced() {
    let env = Env::start().await;
    let (key, _) = rsa_key();
    let client_id = env
        .service_app(key, &["okta.users.read"], &["READ_ONLY_ADMIN"], true)
        .await;
    let okta = env.app_client(&client_id, key, &["okta.users.read"]);
    let err = okta.users().me().await.unwrap_err();
    assert_eq!(err.okta_code(), Some(&OktaErrorCode::NotFound));
    assert_eq!(env.tokens_issued(&client_id).await, 1);
    // The tenant's clock passes the token's hour; our cache still thinks it is valid. The 401 makes the
    // client fetch a new one and the call succeeds.
    env.control(
        reqwest::Method::POST,
        "/_sandbox/clock",
        serde_json::json!({ "advance_secs": 3700 }),
    )
    .await;
    let before = okta.stats();
    assert_eq!(okta.users().list(Some(1)).await.unwrap().items().len(), 1);
    assert_eq!(
        okta.stats().requests - before.requests,
        3,
        "the call refused with 401, one token request, the call again"
    );
    assert_eq!(
        env.tokens_issued(&client_id).await,
        1,
        "the sandbox dropped the expired token and holds the new one"
    );
}
