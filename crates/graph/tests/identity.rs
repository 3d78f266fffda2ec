//! Signing in to the sandbox's Entra tenant over real loopback HTTP: client secrets, certificates
//! from PEM and PFX, and every AADSTS error the sandbox produces, explained without secrets.

mod common;

use common::{EXPIRED_APP, EXPIRED_SECRET, Env, TestCert};
use okta365_graph::{ClientCertificate, EntraCredential, Error};
use okta365_secrets::Secret;

/// The error's message and debug form must never show `secret`.
fn assert_no_secret(e: &Error, secret: &str) {
    let shown = format!("{e} {e:?} {:?}", e.explanation());
    assert!(!shown.contains(secret), "an error showed a secret: {shown}");
}

#[tokio::test]
async fn a_client_secret_gets_a_token_with_the_granted_roles() {
    let env = Env::start().await;
    let claims = env
        .provider()
        .claims()
        .await
        .expect("the demo secret signs in");
    for role in [
        "User.ReadWrite.All",
        "Organization.Read.All",
        "Application.Read.All",
    ] {
        assert!(
            claims.has_role(role),
            "{role} is granted to the demo app: {:?}",
            claims.roles
        );
    }
    assert_eq!(
        claims.tenant_id.as_deref(),
        Some(env.creds.entra_tenant_id.as_str())
    );
    assert_eq!(
        claims.app_id.as_deref(),
        Some(env.creds.entra_client_id.as_str())
    );
    assert_eq!(
        claims.app_id_acr.as_deref(),
        Some("1"),
        "a secret sign-in is appidacr 1"
    );
    assert!(
        claims.object_id.is_some(),
        "oid names the service principal"
    );

    // The tenant may be given by verified domain.
    let by_domain = env.provider_for(
        &env.creds.entra_tenant_domain,
        &env.creds.entra_client_id,
        EntraCredential::ClientSecret(Secret::new(env.creds.entra_client_secret.clone())),
    );
    let token = by_domain.token().await.expect("by verified domain");
    assert!(token.expires_at() > jiff::Timestamp::now());
    assert!(
        !format!("{token:?}").contains(token.secret().expose()),
        "Debug hides the token"
    );
}

#[tokio::test]
async fn certificates_from_pem_and_pfx_sign_in() {
    let env = Env::start().await;
    let cert = TestCert::new();
    let registered = env.register_certificate(&cert).await;

    let from_pem = ClientCertificate::from_pem(&cert.combined_pem()).expect("PKCS#8 PEM");
    assert_eq!(
        registered["thumbprint"].as_str(),
        Some(from_pem.thumbprint_sha1().as_str()),
        "our SHA-1 thumbprint is the one Entra shows"
    );
    assert_eq!(
        registered["thumbprintSha256"].as_str(),
        Some(from_pem.thumbprint_sha256().as_str())
    );
    assert_eq!(
        from_pem.not_after().strftime("%Y-%m-%d").to_string(),
        "2040-01-01"
    );
    assert!(
        from_pem.subject().contains("okta365 graph test"),
        "{}",
        from_pem.subject()
    );
    assert!(
        !format!("{from_pem:?}").contains("PRIVATE"),
        "Debug shows no key"
    );

    let provider = env.provider_for(
        &env.creds.entra_tenant_id,
        &env.creds.entra_client_id,
        EntraCredential::Certificate(from_pem.clone()),
    );
    let claims = provider.claims().await.expect("a PEM certificate signs in");
    assert_eq!(
        claims.app_id_acr.as_deref(),
        Some("2"),
        "a certificate sign-in is appidacr 2"
    );

    // PKCS#1 key, certificate first.
    let pkcs1 = format!("{}{}", cert.cert_pem, cert.key_pkcs1_pem);
    let c = ClientCertificate::from_pem(&pkcs1).expect("PKCS#1 PEM");
    env.provider_for(
        &env.creds.entra_tenant_domain,
        &env.creds.entra_client_id,
        EntraCredential::Certificate(c),
    )
    .token()
    .await
    .expect("a PKCS#1 key signs in, by domain");

    // PFX with its password, then kept as PEM without the password.
    let pfx = cert.pfx("correct horse");
    let from_pfx = ClientCertificate::from_pfx(&pfx, "correct horse").expect("the PFX opens");
    assert_eq!(from_pfx.thumbprint_sha256(), from_pem.thumbprint_sha256());
    let kept = from_pfx.to_pem();
    assert!(
        format!("{kept:?}").contains("redacted"),
        "to_pem is a Secret"
    );
    let reloaded = ClientCertificate::from_pem(kept.expose()).expect("to_pem reads back");
    env.provider_for(
        &env.creds.entra_tenant_id,
        &env.creds.entra_client_id,
        EntraCredential::Certificate(reloaded),
    )
    .token()
    .await
    .expect("the PFX's certificate, kept as PEM, signs in");

    let wrong = ClientCertificate::from_pfx(&pfx, "wrong password").unwrap_err();
    assert!(matches!(wrong, Error::PfxPassword), "{wrong:?}");
    assert!(
        wrong.to_string().contains("PFX password is wrong"),
        "{wrong}"
    );
    assert_no_secret(&wrong, "correct horse");
}

#[tokio::test]
async fn pem_mistakes_are_named() {
    let cert = TestCert::new();
    let other = TestCert::new();
    let only_cert = ClientCertificate::from_pem(&cert.cert_pem)
        .unwrap_err()
        .to_string();
    assert!(only_cert.contains("no private key"), "{only_cert}");
    let only_key = ClientCertificate::from_pem(&cert.key_pkcs8_pem)
        .unwrap_err()
        .to_string();
    assert!(only_key.contains("no certificate"), "{only_key}");
    let mismatched = format!("{}{}", cert.cert_pem, other.key_pkcs8_pem);
    let e = ClientCertificate::from_pem(&mismatched).unwrap_err();
    assert!(e.to_string().contains("does not belong"), "{e}");
    assert_no_secret(&e, other.key_pkcs8_pem.lines().nth(1).unwrap());
}

#[tokio::test]
async fn an_unregistered_certificate_is_aadsts700027() {
    let env = Env::start().await;
    let cert = TestCert::new();
    let e = env
        .provider_for(
            &env.creds.entra_tenant_id,
            &env.creds.entra_client_id,
            cert.credential(),
        )
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(700027), "{e:?}");
    let x = e.explanation();
    assert!(
        x.fix
            .unwrap()
            .contains("Certificates & secrets > Certificates")
    );
    assert_eq!(x.code.as_deref(), Some("AADSTS700027"));
    assert!(
        x.reference.is_some(),
        "the trace id is kept for a support case"
    );
}

#[tokio::test]
async fn each_aadsts_error_the_sandbox_produces_is_explained() {
    let env = Env::start().await;
    let secret = env.creds.entra_client_secret.clone();
    let tenant = env.creds.entra_tenant_id.clone();
    let client = env.creds.entra_client_id.clone();
    let with_secret = |s: &str| EntraCredential::ClientSecret(Secret::new(s));

    // 90002: unknown tenant.
    let e = env
        .provider_for(
            "nosuchtenant.onmicrosoft.com",
            &client,
            with_secret(&secret),
        )
        .token()
        .await
        .unwrap_err();
    assert_eq!((e.aadsts(), e.status()), (Some(90002), Some(400)), "{e:?}");
    assert!(
        e.to_string()
            .contains("Microsoft does not know the tenant 'nosuchtenant.onmicrosoft.com'"),
        "{e}"
    );
    assert_no_secret(&e, &secret);

    // 700016: a client id that is not an app in the tenant.
    let e = env
        .provider_for(
            &tenant,
            "11111111-2222-3333-4444-555555555555",
            with_secret(&secret),
        )
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(700016), "{e:?}");
    assert!(
        e.to_string()
            .contains("11111111-2222-3333-4444-555555555555"),
        "{e}"
    );
    assert_no_secret(&e, &secret);

    // 7000215: the secret ID (a GUID) pasted instead of the value.
    let app = env
        .control(
            reqwest::Method::GET,
            &format!("/_sandbox/entra/apps/{client}"),
            None,
        )
        .await;
    let secret_id = app["secrets"][0]["keyId"].as_str().unwrap().to_owned();
    let e = env
        .provider_for(&tenant, &client, with_secret(&secret_id))
        .token()
        .await
        .unwrap_err();
    assert_eq!(
        (e.aadsts(), e.status()),
        (Some(7000215), Some(401)),
        "{e:?}"
    );
    assert!(e.to_string().contains("Value, not its Secret ID"), "{e}");
    assert_no_secret(&e, &secret_id);

    // 7000222: the seeded expired secret, with the date when the caller knows it.
    let e = env
        .provider_for(&tenant, EXPIRED_APP, with_secret(EXPIRED_SECRET))
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(7000222), "{e:?}");
    assert!(e.to_string().contains("has expired."), "{e}");
    assert_no_secret(&e, EXPIRED_SECRET);
    let known: jiff::Timestamp = "2024-06-30T00:00:00Z".parse().unwrap();
    let e = env
        .provider_for(&tenant, EXPIRED_APP, with_secret(EXPIRED_SECRET))
        .with_credential_expiry(Some(known))
        .token()
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("has expired on 2024-06-30") && text.contains("Create a new client secret"),
        "{text}"
    );
    assert_no_secret(&e, EXPIRED_SECRET);

    // 7000218: an empty secret.
    let e = env
        .provider_for(&tenant, &client, with_secret(""))
        .token()
        .await
        .unwrap_err();
    assert_eq!(e.aadsts(), Some(7000218), "{e:?}");
    assert!(
        e.to_string()
            .contains("no client secret or certificate assertion"),
        "{e}"
    );

    // 70011: a scope the tenant does not issue tokens for.
    let e = env
        .provider()
        .with_scope("https://graph.microsoft.us/.default")
        .token()
        .await
        .unwrap_err();
    assert_eq!((e.aadsts(), e.status()), (Some(70011), Some(400)), "{e:?}");
    assert!(
        e.explanation()
            .fix
            .unwrap()
            .contains("https://graph.microsoft.com")
    );
    assert_no_secret(&e, &secret);
}

#[tokio::test]
async fn bad_ids_and_urls_are_refused_before_any_request() {
    let env = Env::start().await;
    let e = okta365_graph::TokenProvider::new(
        &"http://login.example.com".parse().unwrap(),
        okta365_graph::TenantId::parse("contoso.onmicrosoft.com").unwrap(),
        okta365_graph::ClientId::parse(&env.creds.entra_client_id).unwrap(),
        EntraCredential::ClientSecret(Secret::new("x")),
        env.http.clone(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("plain http"), "{e}");
    let e = okta365_graph::ClientId::parse(&env.creds.entra_client_secret).unwrap_err();
    assert_no_secret(&e, &env.creds.entra_client_secret);
}
