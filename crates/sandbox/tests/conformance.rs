//! The sandbox checked against the vendors' own contracts in `shared/specs/`: Okta's OpenAPI description
//! (status code declared by the operation, body valid against the response schema) and Graph's CSDL
//! metadata (every property the sandbox returns exists on the entity, with a compatible type).
//!
//! The OpenAPI check uses the small validator in `common/openapi.rs`.

mod common;

use common::Env;
use common::csdl::Csdl;
use common::openapi::OpenApi;
use reqwest::Method;
use serde_json::{Value, json};

// ------------------------------------------------------------------------------------------------
// Okta OpenAPI

#[test]
fn the_validator_catches_what_it_should() {
    let api = OpenApi { doc: json!({}) };
    let schema = json!({"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "n": {"type": "integer", "nullable": true},
        "kind": {"type": "string", "enum": ["A", "B"]}, "at": {"type": "string", "format": "date-time"},
        "tags": {"type": "array", "items": {"type": "string"}}}});
    let mut e = Vec::new();
    api.validate(&schema, &json!({"id": "x", "n": null, "kind": "A", "at": "2024-01-01T00:00:00.000Z", "tags": ["a"]}), "$", &mut e);
    assert!(e.is_empty(), "{e:?}");
    api.validate(
        &schema,
        &json!({"n": "1", "kind": "C", "at": "yesterday", "tags": [1]}),
        "$",
        &mut e,
    );
    assert_eq!(
        e.len(),
        5,
        "missing id, wrong n, bad enum, bad date, bad item: {e:?}"
    );
}

#[tokio::test]
async fn okta_responses_match_the_openapi_description() {
    let api = OpenApi::load("okta-management.yaml");
    let env = Env::start().await;
    let mut checked = Vec::new();
    let get = |p: &str| env.okta(Method::GET, p).send();

    api.check(
        "/api/v1/users",
        "get",
        get("/api/v1/users?limit=50").await.unwrap(),
        &mut checked,
    )
    .await;
    let users: Vec<Value> = get("/api/v1/users?search=status%20pr")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uid = users[0]["id"].as_str().unwrap().to_owned();
    api.check(
        "/api/v1/users/{id}",
        "get",
        get(&format!("/api/v1/users/{uid}")).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/users/{id}",
        "get",
        get("/api/v1/users/00uMissing0000000000").await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/groups",
        "get",
        get("/api/v1/groups?expand=stats").await.unwrap(),
        &mut checked,
    )
    .await;
    let created = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"name": "Spec Check"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let gid = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let created = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {"name": "Spec Check 2", "description": "d"}}))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/groups", "post", created, &mut checked)
        .await;
    let bad = env
        .okta(Method::POST, "/api/v1/groups")
        .json(&json!({"profile": {}}))
        .send()
        .await
        .unwrap();
    api.check("/api/v1/groups", "post", bad, &mut checked).await;
    api.check(
        "/api/v1/groups/{groupId}",
        "get",
        get(&format!("/api/v1/groups/{gid}")).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/groups/{groupId}",
        "get",
        get("/api/v1/groups/00gMissing0000000000").await.unwrap(),
        &mut checked,
    )
    .await;
    let member = format!("/api/v1/groups/{gid}/users/{uid}");
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "put",
        env.okta(Method::PUT, &member)
            .header("content-length", "0")
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/groups/{groupId}/users",
        "get",
        get(&format!("/api/v1/groups/{gid}/users")).await.unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "delete",
        env.okta(Method::DELETE, &member).send().await.unwrap(),
        &mut checked,
    )
    .await;
    let everyone: Vec<Value> = get("/api/v1/groups?q=Everyone")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let built_in = format!(
        "/api/v1/groups/{}/users/{uid}",
        everyone[0]["id"].as_str().unwrap()
    );
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "put",
        env.okta(Method::PUT, &built_in)
            .header("content-length", "0")
            .send()
            .await
            .unwrap(),
        &mut checked,
    )
    .await;
    api.check(
        "/api/v1/groups/{groupId}/users/{userId}",
        "delete",
        env.okta(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/users/00uMissing0000000000"),
        )
        .send()
        .await
        .unwrap(),
        &mut checked,
    )
    .await;
    env.control(
        Method::POST,
        "/_sandbox/faults",
        Some(json!({"status": 429, "count": 1})),
    )
    .await;
    api.check(
        "/api/v1/groups",
        "get",
        get("/api/v1/groups").await.unwrap(),
        &mut checked,
    )
    .await;
    assert_eq!(checked.len(), 14, "{checked:#?}");

    // Guard: the resolved schemas really constrain the body (a wrong status enum and type are caught).
    let schema = api
        .response_schema("/api/v1/users", "get", 200)
        .unwrap()
        .unwrap();
    let mut users: Value = get("/api/v1/users?limit=1")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    users[0]["status"] = json!("NOT_A_STATUS");
    users[0]["profile"]["login"] = json!(42);
    let mut errors = Vec::new();
    api.validate(schema, &users, "$", &mut errors);
    assert_eq!(
        errors.len(),
        2,
        "tampered users must fail the spec: {errors:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// Graph CSDL metadata (the checker is common::csdl, shared with the other Graph conformance tests)

#[tokio::test]
async fn graph_responses_use_the_metadata_properties_and_types() {
    let csdl = Csdl::load();
    assert!(
        csdl.property("user", "id").is_some(),
        "user inherits id from entity via directoryObject"
    );
    let env = Env::start().await;
    let token = env.graph_token().await;
    let get = |p: String| {
        let req = env.http.get(env.url(&p)).bearer_auth(&token);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let all_user_props = "id,userPrincipalName,displayName,givenName,surname,mail,mailNickname,jobTitle,department,accountEnabled,usageLocation,userType,businessPhones,mobilePhone,officeLocation,preferredLanguage,createdDateTime,assignedLicenses,deletedDateTime,city,country,state,streetAddress,postalCode,companyName,employeeId,employeeType,faxNumber,otherMails,proxyAddresses,imAddresses,onPremisesImmutableId,onPremisesSyncEnabled,externalUserState,creationType,ageGroup,showInAddressList,passwordPolicies,assignedPlans,identities";
    let mut errors = Vec::new();
    let mut checked = 0;
    for page in [
        get("/v1.0/users".into()).await,
        get(format!("/v1.0/users?$select={all_user_props}")).await,
    ] {
        for u in page["value"].as_array().expect("a users page") {
            csdl.check("user", u, "user", &mut errors);
            checked += 1;
        }
    }
    let one = get(format!(
        "/v1.0/users/admin@contoso-sandbox.onmicrosoft.com?$select={all_user_props}"
    ))
    .await;
    csdl.check("user", &one, "user", &mut errors);
    let org = get("/v1.0/organization".into()).await;
    csdl.check(
        "organization",
        &org["value"][0],
        "organization",
        &mut errors,
    );
    let skus = get("/v1.0/subscribedSkus".into()).await;
    for s in skus["value"].as_array().unwrap() {
        csdl.check("subscribedSku", s, "subscribedSku", &mut errors);
    }
    // Applications, with a certificate registered so that keyCredentials is checked too.
    let cert_pem = {
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["okta365.test".to_owned()]).unwrap();
        params.self_signed(&pair).unwrap().pem()
    };
    env.control(
        reqwest::Method::POST,
        &format!(
            "/_sandbox/entra/apps/{}/certificates",
            env.creds.entra_client_id
        ),
        Some(json!({ "certificatePem": cert_pem })),
    )
    .await;
    let apps = get("/v1.0/applications".into()).await;
    let (mut secrets, mut keys) = (0, 0);
    for a in apps["value"]
        .as_array()
        .expect("an applications collection")
    {
        csdl.check("application", a, "application", &mut errors);
        secrets += a["passwordCredentials"].as_array().map_or(0, Vec::len);
        keys += a["keyCredentials"].as_array().map_or(0, Vec::len);
    }
    assert!(
        secrets >= 2 && keys == 1,
        "passwordCredential and keyCredential were both checked ({secrets} secrets, {keys} keys)"
    );
    let one = get(format!(
        "/v1.0/applications(appId='{}')",
        env.creds.entra_client_id
    ))
    .await;
    csdl.check("application", &one, "application", &mut errors);
    assert!(
        errors.is_empty(),
        "the sandbox drifted from Graph's metadata:\n{}",
        errors.join("\n")
    );
    assert_eq!(checked, 28, "both pages of 14 users were checked");
    // The checker itself must catch drift.
    let mut e = Vec::new();
    csdl.check(
        "user",
        &json!({"mail": 3, "madeUp": true, "assignedLicenses": [{"skuId": "nope"}]}),
        "user",
        &mut e,
    );
    assert_eq!(e.len(), 3, "{e:?}");
}
