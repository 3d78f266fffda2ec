//! The Okta OAuth side of the sandbox checked against Okta's own contracts: the token endpoint's
//! answers against `okta-oauth.yaml` (`POST /oauth2/v1/token`), and `users/me`, the System Log and
//! identity-source sessions against `okta-management.yaml`. The validator is the one of
//! `conformance.rs` (the subset of OpenAPI 3.0 these schemas use), loading either spec.

mod common;

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::Env;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

fn specs_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs");
    assert!(
        dir.join("okta-oauth.yaml").exists() && dir.join("okta-management.yaml").exists(),
        "the vendor specs are missing: expected okta-oauth.yaml and okta-management.yaml in {}. \
         Check out the shared/ folder beside the repository.",
        dir.display()
    );
    dir
}

struct OpenApi {
    doc: Value,
}

impl OpenApi {
    fn load(file: &str) -> OpenApi {
        let text = std::fs::read_to_string(specs_dir().join(file)).unwrap();
        let mut doc: Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} parses as YAML: {e}"));
        // Some examples hold $refs that do not resolve; they play no part in validation.
        if let Some(c) = doc.get_mut("components").and_then(Value::as_object_mut) {
            c.remove("examples");
        }
        OpenApi { doc }
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut v = v;
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            v = self
                .doc
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {r}"));
        }
        v
    }

    /// The JSON schema of `status` for the operation, or a failure if the status is not declared.
    fn response_schema(
        &self,
        path: &str,
        method: &str,
        status: u16,
    ) -> Result<Option<&Value>, String> {
        let op = self
            .doc
            .pointer(&format!(
                "/paths/{}/{method}",
                path.replace('~', "~0").replace('/', "~1")
            ))
            .unwrap_or_else(|| panic!("the spec has no {method} {path}"));
        let responses = &op["responses"];
        let Some(resp) = responses.get(status.to_string()) else {
            let declared: Vec<&String> = responses.as_object().unwrap().keys().collect();
            return Err(format!(
                "{method} {path} answered {status}, which the spec does not declare ({declared:?})"
            ));
        };
        Ok(self
            .resolve(resp)
            .pointer("/content/application~1json/schema"))
    }

    fn validate(&self, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if v.is_null() {
            if schema.get("nullable") != Some(&json!(true)) && schema.get("type").is_some() {
                errors.push(format!("{at}: null but the schema is not nullable"));
            }
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, v, at, errors);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alts) = schema.get(key).and_then(Value::as_array) {
                let ok = alts.iter().any(|s| {
                    let mut e = Vec::new();
                    self.validate(s, v, at, &mut e);
                    e.is_empty()
                });
                if !ok {
                    errors.push(format!("{at}: matches none of the {key} alternatives"));
                }
            }
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            };
            if !ok {
                errors.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array)
            && !values.contains(v)
        {
            errors.push(format!("{at}: {v} is not one of {values:?}"));
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && let Some(s) = v.as_str()
            && s.parse::<jiff::Timestamp>().is_err()
        {
            errors.push(format!("{at}: {s:?} is not an RFC 3339 date-time"));
        }
        if let Some(obj) = v.as_object() {
            if let Some(req) = schema.get("required").and_then(Value::as_array) {
                for r in req.iter().filter_map(Value::as_str) {
                    if !obj.contains_key(r) {
                        errors.push(format!("{at}: required property {r} is missing"));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            for (k, val) in obj {
                match props.and_then(|p| p.get(k)) {
                    Some(s) => self.validate(s, val, &format!("{at}.{k}"), errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => {
                            errors.push(format!("{at}: property {k} is not allowed"))
                        }
                        Some(s @ Value::Object(_)) => {
                            self.validate(s, val, &format!("{at}.{k}"), errors)
                        }
                        _ => {}
                    },
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), errors);
            }
        }
    }

    /// Checks one real response against `method path` of the spec.
    async fn check(
        &self,
        path: &str,
        method: &str,
        resp: reqwest::Response,
        checked: &mut Vec<String>,
    ) {
        let status = resp.status().as_u16();
        let body: Value = if status == 204 {
            Value::Null
        } else {
            resp.json().await.unwrap()
        };
        let schema = self
            .response_schema(path, method, status)
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some(schema) = schema {
            let mut errors = Vec::new();
            self.validate(schema, &body, "$", &mut errors);
            assert!(
                errors.is_empty(),
                "{method} {path} {status} does not match the spec:\n{}",
                errors.join("\n")
            );
        } else {
            assert!(
                body.is_null(),
                "{method} {path} {status} declares no body but got {body}"
            );
        }
        checked.push(format!("{method} {path} {status}"));
    }
}

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
