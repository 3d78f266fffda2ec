//! Helpers for the Graph client tests: a real sandbox over loopback HTTP, providers with short
//! retry delays, and self-signed RSA certificates.
#![allow(dead_code)]

use std::time::Duration;

use okta365_graph::{
    ClientCertificate, ClientId, EntraCredential, GraphClient, RetryPolicy, TenantId, TokenProvider,
};
use okta365_sandbox::{DemoCredentials, Sandbox, SandboxConfig, mint_demo_credentials};
use okta365_secrets::Secret;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::Value;

/// The seeded app whose only secret expired on 2024-06-30.
pub const EXPIRED_APP: &str = "0e7d2c4b-5a61-4f38-9c2d-7b8e1f0a3d95";
pub const EXPIRED_SECRET: &str = "xpr8Q~SandboxExpiredSecret.okta365.demo0";

pub struct Env {
    pub sandbox: Sandbox,
    pub creds: DemoCredentials,
    pub http: reqwest::Client,
}

/// Short waits so retry tests stay quick; `Retry-After` is still honoured up to 5 s.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    }
}

impl Env {
    pub async fn start() -> Env {
        let sandbox = Sandbox::start(SandboxConfig::in_memory())
            .await
            .expect("sandbox starts");
        let creds = mint_demo_credentials(&sandbox.urls().base)
            .await
            .expect("demo credentials");
        Env {
            sandbox,
            creds,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    pub fn provider_for(
        &self,
        tenant: &str,
        client_id: &str,
        credential: EntraCredential,
    ) -> TokenProvider {
        TokenProvider::new(
            &self.sandbox.urls().entra_login,
            TenantId::parse(tenant).unwrap(),
            ClientId::parse(client_id).unwrap(),
            credential,
            self.http.clone(),
        )
        .unwrap()
        .with_retry_policy(fast_retry())
    }

    /// The demo app with its freshly minted secret.
    pub fn provider(&self) -> TokenProvider {
        self.provider_for(
            &self.creds.entra_tenant_id,
            &self.creds.entra_client_id,
            EntraCredential::ClientSecret(Secret::new(self.creds.entra_client_secret.clone())),
        )
    }

    pub fn graph(&self, provider: TokenProvider) -> GraphClient {
        GraphClient::new(&self.sandbox.urls().graph, provider, self.http.clone())
            .unwrap()
            .with_retry_policy(fast_retry())
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.sandbox.urls().base.as_str().trim_end_matches('/'),
            path
        )
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, self.url(path));
        req = match body {
            Some(b) => req.json(&b),
            None => req.header("content-length", "0"),
        };
        let resp = req.send().await.expect("control call");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        assert!(
            status.is_success(),
            "control call {path} failed: {status} {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Tokens the sandbox issued to the demo app so far.
    pub async fn tokens_issued(&self) -> u64 {
        self.control(
            reqwest::Method::GET,
            &format!("/_sandbox/entra/apps/{}", self.creds.entra_client_id),
            None,
        )
        .await["tokensIssued"]
            .as_u64()
            .unwrap()
    }

    pub async fn register_certificate(&self, cert: &TestCert) -> Value {
        self.control(
            reqwest::Method::POST,
            &format!(
                "/_sandbox/entra/apps/{}/certificates",
                self.creds.entra_client_id
            ),
            Some(serde_json::json!({ "certificatePem": cert.cert_pem })),
        )
        .await
    }
}

/// A self-signed RSA certificate with its key in the forms admins bring them.
pub struct TestCert {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    pub key_pkcs8_pem: String,
    pub key_pkcs1_pem: String,
    pub key_pkcs8_der: Vec<u8>,
}

impl TestCert {
    pub fn new() -> TestCert {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
        let pair = rcgen::KeyPair::from_pem_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["okta365.test".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "okta365 graph test");
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let cert = params.self_signed(&pair).unwrap();
        TestCert {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pkcs1_pem: key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string(),
            key_pkcs8_der: key.to_pkcs8_der().unwrap().as_bytes().to_vec(),
            key_pkcs8_pem: pkcs8,
        }
    }

    /// Certificate and key as one PEM text (key first, as some tools write it).
    pub fn combined_pem(&self) -> String {
        format!("{}{}", self.key_pkcs8_pem, self.cert_pem)
    }

    /// A PFX file protected by `password`.
    pub fn pfx(&self, password: &str) -> Vec<u8> {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let chain = PrivateKeyChain::new(
            vec![1u8; 20],
            PrivateKey::from_der(&self.key_pkcs8_der).unwrap(),
            [Certificate::from_der(&self.cert_der).unwrap()],
        );
        let mut store = KeyStore::new();
        store.add_entry("okta365", KeyStoreEntry::PrivateKeyChain(chain));
        store.writer(password).write().unwrap()
    }

    pub fn credential(&self) -> EntraCredential {
        EntraCredential::Certificate(ClientCertificate::from_pem(&self.combined_pem()).unwrap())
    }
}
