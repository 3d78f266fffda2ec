//! Entra app credentials in the sandbox over real loopback HTTP: certificate assertions (every check
//! the token endpoint makes), secrets with end dates, the seeded expired secret, and Graph
//! `applications` with their credentials' metadata.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::Env;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{Value, json};
use sha2::Digest;

const EXPIRED_APP: &str = "0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95";
const EXPIRED_SECRET: &str = "xpr8Q~SandboxExpiredSecret.okta365.demo0";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An RSA key and a self-signed certificate for it.
struct TestCert {
    key: rsa::RsaPrivateKey,
    pem: String,
    der: Vec<u8>,
}

fn make_cert(expired: bool) -> TestCert {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
    let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["okta365.test".to_owned()]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "okta365 test");
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&pair).unwrap();
    TestCert {
        key,
        pem: cert.pem(),
        der: cert.der().to_vec(),
    }
}

struct Assertion<'a> {
    alg: Algorithm,
    sha256_thumbprint: bool,
    aud: String,
    iss: &'a str,
    sub: &'a str,
    exp_in: i64,
    jti: String,
}

impl Assertion<'_> {
    fn sign(&self, cert_der: &[u8], signing_key: &rsa::RsaPrivateKey) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("JWT".into());
        if self.sha256_thumbprint {
            header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert_der)));
        } else {
            header.x5t = Some(URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert_der)));
        }
        let now = jiff::Timestamp::now().as_second();
        let claims = json!({
            "aud": self.aud, "iss": self.iss, "sub": self.sub, "jti": self.jti,
            "nbf": now, "iat": now, "exp": now + self.exp_in,
        });
        let der = signing_key.to_pkcs1_der().unwrap();
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
    }
}

impl Env {
    fn token_url(&self, tenant: &str) -> String {
        self.url(&format!("/{tenant}/oauth2/v2.0/token"))
    }

    fn assertion<'a>(&'a self, tenant: &str) -> Assertion<'a> {
        Assertion {
            alg: Algorithm::PS256,
            sha256_thumbprint: true,
            aud: self.token_url(tenant),
            iss: &self.creds.entra_client_id,
            sub: &self.creds.entra_client_id,
            exp_in: 600,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    async fn token_with(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .http
            .post(self.token_url(tenant))
            .form(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    async fn token_by_assertion(&self, tenant: &str, assertion: &str) -> (u16, Value) {
        self.token_with(
            tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", self.creds.entra_client_id.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", assertion),
            ],
        )
        .await
    }

    async fn register(&self, cert: &TestCert) -> Value {
        self.control(
            Method::POST,
            &format!(
                "/_sandbox/entra/apps/{}/certificates",
                self.creds.entra_client_id
            ),
            Some(json!({ "certificatePem": cert.pem })),
        )
        .await
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn a_registered_certificate_signs_in_with_ps256_or_rs256() {
    let env = Env::start().await;
    let cert = make_cert(false);
    let registered = env.register(&cert).await;
    let sha1_hex: String = sha1::Sha1::digest(&cert.der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(
        registered["thumbprint"], sha1_hex,
        "the thumbprint is the portal's SHA-1 form"
    );
    assert!(uuid::Uuid::parse_str(registered["keyId"].as_str().unwrap()).is_ok());

    let tenant = env.creds.entra_tenant_id.clone();
    let a = env.assertion(&tenant);
    let (status, body) = env
        .token_by_assertion(&tenant, &a.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        status, 200,
        "a PS256 assertion with x5t#S256 gets a token: {body}"
    );
    let t = claims(body["access_token"].as_str().unwrap());
    assert_eq!(t["appidacr"], "2", "a certificate sign-in is appidacr 2");
    assert_eq!(t["appid"], env.creds.entra_client_id);

    // By verified domain, with aud naming that domain's token URL; RS256 with the SHA-1 x5t.
    let domain = env.creds.entra_tenant_domain.clone();
    let mut a = env.assertion(&domain);
    a.alg = Algorithm::RS256;
    a.sha256_thumbprint = false;
    let (status, body) = env
        .token_by_assertion(&domain, &a.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        status, 200,
        "an RS256 assertion with x5t, by domain: {body}"
    );

    // aud by GUID while the request went to the domain path is fine too.
    let a = env.assertion(&tenant);
    let (status, body) = env
        .token_by_assertion(&domain, &a.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        status, 200,
        "aud by tenant GUID is accepted on the domain path: {body}"
    );
}

#[tokio::test]
async fn every_assertion_check_has_its_aadsts_code() {
    let env = Env::start().await;
    let cert = make_cert(false);
    env.register(&cert).await;
    let stranger = make_cert(false);
    let tenant = env.creds.entra_tenant_id.clone();

    // A certificate that is not registered on the app.
    let a = env.assertion(&tenant);
    let (status, body) = env
        .token_by_assertion(&tenant, &a.sign(&stranger.der, &stranger.key))
        .await;
    assert_eq!((status, aadsts(&body)), (401, 700027), "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("The key was not found."),
        "{body}"
    );

    // The header names the registered certificate but another key signed it.
    let (status, body) = env
        .token_by_assertion(&tenant, &a.sign(&cert.der, &stranger.key))
        .await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 700027),
        "a wrong signature: {body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("did not match the expected signature")
    );

    // aud for another tenant.
    let mut bad = env.assertion(&tenant);
    bad.aud = env.token_url("contoso.onmicrosoft.com");
    let (status, body) = env
        .token_by_assertion(&tenant, &bad.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 50012),
        "a foreign audience: {body}"
    );

    // iss/sub naming another app.
    let other = "11111111-2222-3333-4444-555555555555";
    let mut bad = env.assertion(&tenant);
    bad.iss = other;
    let (status, body) = env
        .token_by_assertion(&tenant, &bad.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 700021),
        "iss is not the client: {body}"
    );

    // Expired more than the 5 minutes of allowed skew ago.
    let mut bad = env.assertion(&tenant);
    bad.exp_in = -400;
    let (status, body) = env
        .token_by_assertion(&tenant, &bad.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 700024),
        "an expired assertion: {body}"
    );
    // …but within the skew it is accepted.
    let mut skewed = env.assertion(&tenant);
    skewed.exp_in = -60;
    let (status, body) = env
        .token_by_assertion(&tenant, &skewed.sign(&cert.der, &cert.key))
        .await;
    assert_eq!(
        status, 200,
        "one minute past exp is within the clock skew: {body}"
    );

    // The same jti twice.
    let once = env.assertion(&tenant).sign(&cert.der, &cert.key);
    assert_eq!(env.token_by_assertion(&tenant, &once).await.0, 200);
    let (status, body) = env.token_by_assertion(&tenant, &once).await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 50027),
        "a replayed assertion: {body}"
    );

    // No client_assertion_type.
    let a = env.assertion(&tenant).sign(&cert.der, &cert.key);
    let (status, body) = env
        .token_with(
            &tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", env.creds.entra_client_id.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
                ("client_assertion", a.as_str()),
            ],
        )
        .await;
    assert_eq!((status, aadsts(&body)), (400, 900144), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("client_assertion_type")
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let env = Env::start().await;
    let cert = make_cert(true);
    let registered = env.register(&cert).await;
    assert!(
        registered["endDateTime"]
            .as_str()
            .unwrap()
            .starts_with("2021-01-01"),
        "{registered}"
    );
    let tenant = env.creds.entra_tenant_id.clone();
    let a = env.assertion(&tenant);
    let (status, body) = env
        .token_by_assertion(&tenant, &a.sign(&cert.der, &cert.key))
        .await;
    assert_eq!((status, aadsts(&body)), (401, 700027), "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("The key used is expired.")
    );
}

#[tokio::test]
async fn secrets_have_end_dates_and_expired_ones_get_7000222() {
    let env = Env::start().await;
    let app = env.creds.entra_client_id.clone();
    let tenant = env.creds.entra_tenant_id.clone();
    let minted = env
        .control(
            Method::POST,
            &format!("/_sandbox/entra/apps/{app}/secrets"),
            Some(json!({ "displayName": "old", "endDateTime": "2025-01-31T00:00:00Z" })),
        )
        .await;
    let secret = minted["secretText"].as_str().unwrap().to_owned();
    assert_eq!(
        minted["hint"],
        secret[..3],
        "the hint is the first 3 characters"
    );
    assert_eq!(minted["endDateTime"], "2025-01-31T00:00:00Z");
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.as_str()),
        ("client_secret", secret.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (status, body) = env.token_with(&tenant, &form).await;
    assert_eq!((status, aadsts(&body)), (401, 7000222), "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!(
            "AADSTS7000222: The provided client secret keys for app '{app}' are expired."
        )),
        "Microsoft's wording: {description}"
    );

    // The seeded app whose only secret expired on 2024-06-30.
    let (status, body) = env
        .token_with(
            &tenant,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", EXPIRED_APP),
                ("client_secret", EXPIRED_SECRET),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(
        (status, aadsts(&body)),
        (401, 7000222),
        "the seeded expired secret: {body}"
    );

    // A default secret lasts two years and works; the control endpoint counts tokens.
    let fresh = env
        .control(
            Method::POST,
            &format!("/_sandbox/entra/apps/{app}/secrets"),
            None,
        )
        .await;
    let end: jiff::Timestamp = fresh["endDateTime"].as_str().unwrap().parse().unwrap();
    let days = (end.as_second() - jiff::Timestamp::now().as_second()) / 86_400;
    assert!(
        (729..=731).contains(&days),
        "about two years, got {days} days"
    );
    let before = env
        .control(Method::GET, &format!("/_sandbox/entra/apps/{app}"), None)
        .await["tokensIssued"]
        .as_u64()
        .unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app.as_str()),
        ("client_secret", fresh["secretText"].as_str().unwrap()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    assert_eq!(env.token_with(&tenant, &form).await.0, 200);
    let shown = env
        .control(Method::GET, &format!("/_sandbox/entra/apps/{app}"), None)
        .await;
    assert_eq!(
        shown["tokensIssued"].as_u64().unwrap(),
        before + 1,
        "{shown}"
    );
    assert!(
        !shown
            .to_string()
            .contains(fresh["secretText"].as_str().unwrap()),
        "the app view never shows a secret"
    );
}

#[tokio::test]
async fn graph_applications_show_credentials_metadata_and_need_a_permission() {
    let env = Env::start().await;
    let app = env.creds.entra_client_id.clone();
    let cert = make_cert(false);
    env.register(&cert).await;
    let token = env.graph_token().await;
    let get = |path: String| {
        let req = env.http.get(env.url(&path)).bearer_auth(&token);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };

    let (status, list) = get(format!("/v1.0/applications?$filter=appId eq '{app}'")).await;
    assert_eq!(status, 200, "{list}");
    let apps = list["value"].as_array().unwrap();
    assert_eq!(apps.len(), 1, "the filter finds exactly the app: {list}");
    let a = &apps[0];
    assert_eq!(a["appId"], app);
    let secret = &a["passwordCredentials"][0];
    assert_eq!(secret["hint"], env.creds.entra_client_secret[..3]);
    assert_eq!(
        secret["secretText"],
        Value::Null,
        "the secret is never returned"
    );
    assert!(secret["endDateTime"].as_str().is_some());
    let key = &a["keyCredentials"][0];
    assert_eq!(key["type"], "AsymmetricX509Cert");
    assert_eq!(key["usage"], "Verify");
    assert_eq!(
        STANDARD
            .decode(key["customKeyIdentifier"].as_str().unwrap())
            .unwrap(),
        sha1::Sha1::digest(&cert.der).to_vec(),
        "customKeyIdentifier is the SHA-1 thumbprint"
    );
    assert!(!list.to_string().contains(&env.creds.entra_client_secret));

    let (status, one) = get(format!("/v1.0/applications(appId='{app}')")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["id"], a["id"]);
    let (status, by_id) = get(format!("/v1.0/applications/{}", a["id"].as_str().unwrap())).await;
    assert_eq!((status, by_id["appId"].as_str()), (200, Some(app.as_str())));
    let (status, missing) =
        get("/v1.0/applications(appId='11111111-2222-3333-4444-555555555555')".into()).await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("Request_ResourceNotFound"))
    );
    let (status, _) = get("/v1.0/nonsense".into()).await;
    assert_eq!(
        status, 400,
        "an unknown segment is still Graph's BadRequest"
    );

    // Without Application.Read.All (and no directory role) reading apps is denied.
    env.control(
        Method::PUT,
        &format!("/_sandbox/apps/{app}/roles"),
        Some(json!({ "roles": ["User.Read.All"] })),
    )
    .await;
    let token = env.graph_token().await;
    let r = env
        .http
        .get(env.url(&format!("/v1.0/applications?$filter=appId eq '{app}'")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
}

#[tokio::test]
async fn bad_certificate_registrations_say_what_is_wrong() {
    let env = Env::start().await;
    let app = env.creds.entra_client_id.clone();
    let r = env
        .http
        .post(env.url(&format!("/_sandbox/entra/apps/{app}/certificates")))
        .json(&json!({ "certificatePem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE"),
        "{body}"
    );
    let cert = make_cert(false);
    env.register(&cert).await;
    let again = env
        .http
        .post(env.url(&format!("/_sandbox/entra/apps/{app}/certificates")))
        .json(&json!({ "certificatePem": cert.pem }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        409,
        "the same certificate twice is a conflict"
    );
}
