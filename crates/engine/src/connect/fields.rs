//! Field checks of the connection forms: [`validate_field`], the one source of truth for the desktop app
//! (as the admin types) and the CLI (before saving). Every failure says what is wrong and what to paste
//! instead; the usual mix-ups (a secret ID or a secret value in the wrong box, an admin-console URL, a
//! public key instead of the private one) get their own message.
//!
//! These are shape checks only. Whether a credential works is what Test connection finds out.

use base64::Engine as _;
use url::{Host, Url};

use crate::{
    dto::{FieldCheck, FieldId},
    urls::is_loopback,
};

/// The Okta domains an org URL normally lives on; any other host is taken as a custom domain.
pub const OKTA_DOMAINS: [&str; 4] = [
    "okta.com",
    "oktapreview.com",
    "okta-emea.com",
    "okta-gov.com",
];

/// Checks one form value. Secret fields never get a `normalized` value back.
pub fn validate_field(field: FieldId, value: &str) -> FieldCheck {
    let outcome = match field {
        FieldId::MsTenant => ms_tenant(value),
        FieldId::MsClientId => ms_client_id(value),
        FieldId::MsClientSecret => ms_client_secret(value),
        FieldId::MsCertificate => ms_certificate(value),
        FieldId::OktaOrgUrl => okta_org_url(value),
        FieldId::OktaApiToken => okta_api_token(value),
        FieldId::OktaClientId => okta_client_id(value),
        FieldId::OktaPrivateKey => okta_private_key(value),
    };
    match outcome {
        Ok(Valid { normalized, note }) => FieldCheck {
            field,
            ok: true,
            message: None,
            normalized,
            note,
        },
        Err(message) => FieldCheck {
            field,
            ok: false,
            message: Some(message),
            normalized: None,
            note: None,
        },
    }
}

/// A value that can be saved.
struct Valid {
    normalized: Option<String>,
    note: Option<String>,
}

impl Valid {
    fn as_is(normalized: impl Into<String>) -> Valid {
        Valid {
            normalized: Some(normalized.into()),
            note: None,
        }
    }

    /// A secret: fine, and never echoed back.
    fn secret() -> Valid {
        Valid {
            normalized: None,
            note: None,
        }
    }
}

type Outcome = Result<Valid, String>;

/// `8-4-4-4-12` hex digits, any case.
pub fn is_guid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Shaped like an Entra client secret value: about 40 characters of the secret alphabet with a `~`
/// (current secrets have `Q~` after a 3-character prefix and a digit).
pub fn looks_like_client_secret(value: &str) -> bool {
    (30..=48).contains(&value.len())
        && value.contains('~')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "~._-".contains(c))
}

fn ms_tenant(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Enter the Directory (tenant) ID from the app registration's Overview page in the \
                    Entra admin center, or a verified domain such as contoso.onmicrosoft.com."
                .into(),
        );
    }
    let unbraced = v.trim_start_matches('{').trim_end_matches('}');
    if is_guid(unbraced) {
        return Ok(Valid::as_is(unbraced.to_ascii_lowercase()));
    }
    if v.contains("://") {
        return Err(format!(
            "Enter only the tenant ID or domain, not a URL (\"{v}\"). The Directory (tenant) ID is on the \
             app registration's Overview page."
        ));
    }
    if let Some((_, domain)) = v.split_once('@') {
        return Err(format!(
            "\"{v}\" is an email address. Enter the domain after the @ ({domain}) or the Directory \
             (tenant) ID."
        ));
    }
    if v.len() == 36 || (v.contains('-') && v.chars().all(|c| c.is_ascii_hexdigit() || c == '-')) {
        return Err(format!(
            "\"{v}\" is not a valid GUID: a tenant ID has 36 characters, 8-4-4-4-12 hex digits, like \
             72f988bf-86f1-41af-91ab-2d7cd011db47. Copy it again from the Overview page."
        ));
    }
    let domain = v.trim_end_matches('.').to_ascii_lowercase();
    if !domain.contains('.') {
        return Err(format!(
            "\"{v}\" is neither a tenant ID nor a domain. Did you mean {domain}.onmicrosoft.com?"
        ));
    }
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let tld_ok = domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !labels_ok || !tld_ok || domain.len() > 253 {
        return Err(format!(
            "\"{v}\" is not a valid domain. Enter a verified domain of the tenant such as \
             contoso.onmicrosoft.com, or the Directory (tenant) ID."
        ));
    }
    Ok(Valid::as_is(domain))
}

fn ms_client_id(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Enter the Application (client) ID from the app registration's Overview page: a \
                    GUID like 4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b."
                .into(),
        );
    }
    let unbraced = v.trim_start_matches('{').trim_end_matches('}');
    if is_guid(unbraced) {
        return Ok(Valid::as_is(unbraced.to_ascii_lowercase()));
    }
    if looks_like_client_secret(v) {
        return Err("A client id is a GUID like 4f1c…; you pasted the secret value from Certificates & \
                    secrets. The client id is the Application (client) ID on the app registration's \
                    Overview page; the secret value goes in the client secret field."
            .into());
    }
    Err(format!(
        "A client id is a GUID like 4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b (36 characters, 8-4-4-4-12 hex \
         digits); this value has {} characters. Copy the Application (client) ID from the app \
         registration's Overview page.",
        v.chars().count()
    ))
}

fn ms_client_secret(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Paste the client secret's Value from Certificates & secrets (it is shown only \
                    once, right after the secret is created)."
                .into(),
        );
    }
    if is_guid(v) {
        return Err("That looks like the secret ID; paste the secret's Value instead (the Value column \
                    under Certificates & secrets, shown only right after you create the secret). If it \
                    is no longer shown, create a new client secret."
            .into());
    }
    if v.chars().any(char::is_whitespace) {
        return Err(
            "A client secret has no spaces or line breaks; copy just the Value again.".into(),
        );
    }
    let chars = v.chars().count();
    if chars < 20 {
        return Err(format!(
            "A client secret's Value is about 40 characters; this one has {chars}. Copy the whole \
             Value under Certificates & secrets."
        ));
    }
    if chars > 100 {
        return Err(format!(
            "A client secret's Value is about 40 characters; this one has {chars}. Paste only the \
             Value, not the whole row."
        ));
    }
    Ok(Valid::secret())
}

/// What a PEM text holds, by its `-----BEGIN …-----` labels.
#[derive(Debug, Default)]
struct PemBlocks {
    certificate: bool,
    private_key: bool,
    encrypted_key: bool,
    public_key: bool,
}

fn pem_blocks(text: &str) -> PemBlocks {
    let mut blocks = PemBlocks::default();
    for line in text.lines() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        match label {
            "CERTIFICATE" => blocks.certificate = true,
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => blocks.private_key = true,
            "ENCRYPTED PRIVATE KEY" => blocks.encrypted_key = true,
            "PUBLIC KEY" | "RSA PUBLIC KEY" => blocks.public_key = true,
            _ => {}
        }
    }
    blocks
}

fn ms_certificate(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Paste the certificate as PEM (-----BEGIN CERTIFICATE----- with its private key), \
                    or choose its .pfx file."
                .into(),
        );
    }
    if v.contains("-----BEGIN") {
        let blocks = pem_blocks(v);
        if blocks.encrypted_key {
            return Err("The private key in this PEM is encrypted with a passphrase. Export it \
                        unencrypted (e.g. `openssl pkey -in key.pem -out plain.pem`), or choose the PFX \
                        file and enter its password."
                .into());
        }
        return match (blocks.certificate, blocks.private_key) {
            (true, true) => Ok(Valid::secret()),
            (true, false) => Err("This PEM has the certificate but not its private key, which okta365 \
                                  signs with. Paste the certificate and its private key together (two \
                                  -----BEGIN blocks), or choose the PFX file."
                .into()),
            (false, true) => Err("This PEM has a private key but no certificate. Paste the certificate \
                                  (-----BEGIN CERTIFICATE-----) together with its private key."
                .into()),
            (false, false) => Err("This PEM holds neither a certificate nor a private key. Paste the \
                                   certificate (-----BEGIN CERTIFICATE-----) with its private key."
                .into()),
        };
    }
    let compact: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        // A PKCS #12 file is one DER SEQUENCE.
        Ok(der) if der.len() > 64 && der[0] == 0x30 => Ok(Valid {
            normalized: None,
            note: Some("A PFX file: its password is checked when you save.".into()),
        }),
        _ => Err(
            "This is neither a PEM certificate nor a PFX file. Paste the PEM text (-----BEGIN \
                  CERTIFICATE----- with its private key), or choose the .pfx file."
                .into(),
        ),
    }
}

fn okta_org_url(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Enter your Okta org URL, such as https://acme.okta.com (the address you sign in to \
                    Okta at)."
                .into(),
        );
    }
    let with_scheme = if v.contains("://") {
        v.to_owned()
    } else {
        format!("https://{v}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| {
        format!(
            "\"{v}\" is not a valid URL. Enter your Okta org URL, such as https://acme.okta.com."
        )
    })?;
    let Some(host) = url.host() else {
        return Err(format!(
            "\"{v}\" has no host name. Enter your Okta org URL, such as https://acme.okta.com."
        ));
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "Okta org URLs use https://; \"{v}\" uses plain http://, which okta365 allows only for \
                 loopback addresses such as a sandbox on 127.0.0.1. Use https:// instead."
            ));
        }
        other => {
            return Err(format!(
                "\"{v}\" has the scheme \"{other}:\". Enter an https:// address such as https://acme.okta.com."
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "The org URL must not contain a user name or password; okta365 keeps credentials in \
             the OS keychain."
                .into(),
        );
    }
    let mut notes = Vec::new();
    let mut host_text = match host {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => format!("[{ip}]"),
    };
    if let Host::Domain(_) = host
        && !is_loopback(&url)
    {
        if !host_text.contains('.') {
            return Err(format!(
                "\"{v}\" is not a full host name. Did you mean https://{host_text}.okta.com?"
            ));
        }
        if let Some(base) = OKTA_DOMAINS
            .iter()
            .find(|d| host_text.ends_with(&format!(".{d}")))
        {
            let sub = &host_text[..host_text.len() - base.len() - 1];
            if let Some(org) = sub.strip_suffix("-admin") {
                notes.push(format!(
                    "Removed \"-admin\": {host_text} is the Admin Console; the org URL is https://{org}.{base}."
                ));
                host_text = format!("{org}.{base}");
            }
            if host_text
                .trim_end_matches(&format!(".{base}"))
                .contains('.')
            {
                // e.g. login.acme.okta.com: not an org subdomain okta.com hands out.
                notes.push(format!(
                    "{host_text} is not the usual form acme.{base}; check that it is your org's address."
                ));
            }
        } else if OKTA_DOMAINS.contains(&host_text.as_str()) {
            return Err(format!(
                "{host_text} is Okta's own site, not your org. Enter your org's address, such as \
                 https://acme.{host_text}."
            ));
        }
    }
    let normalized = match url.port() {
        Some(port) => format!("{}://{host_text}:{port}", url.scheme()),
        None => format!("{}://{host_text}", url.scheme()),
    };
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        notes.push(format!(
            "Kept only the org address {normalized}; the rest of the pasted URL is not needed."
        ));
    }
    if !v.contains("://") {
        notes.push(format!("Added https://, so the org URL is {normalized}."));
    }
    Ok(Valid {
        normalized: Some(normalized),
        note: (!notes.is_empty()).then(|| notes.join(" ")),
    })
}

fn okta_api_token(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Paste an Okta API token (Security → API → Tokens → Create token; it is shown only \
                    once)."
                .into(),
        );
    }
    if v.len() > 5 && v[..5].eq_ignore_ascii_case("SSWS ") {
        return Err(
            "Paste the token without the \"SSWS \" prefix; okta365 adds it when it calls Okta."
                .into(),
        );
    }
    if v.starts_with("eyJ") {
        return Err(
            "That is an OAuth access token, which expires within an hour. Create an API token \
                    under Security → API → Tokens, or use an API service app instead."
                .into(),
        );
    }
    if v.starts_with("0oa") && v.len() == 20 {
        return Err(
            "That is a client id (0oa…), not an API token. For an API service app, choose \
                    \"API service app\" and paste it as the client id."
                .into(),
        );
    }
    if v.chars().any(char::is_whitespace) {
        return Err("An API token has no spaces or line breaks; copy it again.".into());
    }
    let chars = v.chars().count();
    if chars < 20 {
        return Err(format!(
            "An Okta API token is 42 characters; this one has {chars}. Copy the whole token."
        ));
    }
    if chars > 200 {
        return Err(format!(
            "An Okta API token is 42 characters; this one has {chars}. Paste only the token."
        ));
    }
    Ok(Valid::secret())
}

fn okta_client_id(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Enter the API service app's Client ID (General tab in the Okta Admin Console; it \
                    starts with 0oa)."
                .into(),
        );
    }
    if is_guid(v) {
        return Err(
            "That is a Microsoft-style GUID. The Okta client id starts with 0oa: copy it from the \
                    API service app's General tab in the Okta Admin Console."
                .into(),
        );
    }
    if !v.starts_with("0oa") {
        return Err(format!(
            "An Okta client id starts with 0oa (like 0oa1b2c3d4e5f6g7h8i9); \"{}\" does not. Copy the \
             Client ID from the API service app's General tab.",
            v.chars().take(24).collect::<String>()
        ));
    }
    if !v.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(
            "An Okta client id has only letters and digits (like 0oa1b2c3d4e5f6g7h8i9); copy it again."
                .into(),
        );
    }
    if v.len() != 20 {
        return Err(format!(
            "An Okta client id has 20 characters (like 0oa1b2c3d4e5f6g7h8i9); this one has {}. Copy it \
             again from the General tab.",
            v.len()
        ));
    }
    Ok(Valid::as_is(v))
}

fn okta_private_key(value: &str) -> Outcome {
    let v = value.trim();
    if v.is_empty() {
        return Err(
            "Paste the service app's private key (PEM or JWK), or let okta365 generate a key \
                    pair."
                .into(),
        );
    }
    if v.contains("-----BEGIN") {
        let blocks = pem_blocks(v);
        if blocks.encrypted_key {
            return Err("This private key is encrypted with a passphrase. Export it unencrypted (e.g. \
                        `openssl pkey -in key.pem -out plain.pem`), or let okta365 generate a key pair."
                .into());
        }
        if blocks.private_key {
            return Ok(Valid::secret());
        }
        if blocks.public_key || blocks.certificate {
            return Err(
                "That is the public key (or a certificate). Paste the private key that belongs \
                        to the public key registered in Okta, or let okta365 generate a key pair."
                    .into(),
            );
        }
        return Err(
            "This PEM holds no private key. Paste -----BEGIN PRIVATE KEY----- … or a JWK.".into(),
        );
    }
    if v.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(v).map_err(|_| {
            "This looks like a JWK but is not valid JSON; copy the whole key again.".to_owned()
        })?;
        if json.get("keys").is_some() {
            return Err(
                "That is a key set (JWKS, with \"keys\"). Paste the single private JWK inside it."
                    .into(),
            );
        }
        let kty = json.get("kty").and_then(|k| k.as_str());
        if !matches!(kty, Some("RSA") | Some("EC")) {
            return Err(
                "A JWK for Okta needs \"kty\": \"RSA\" or \"EC\"; this one has none of them."
                    .into(),
            );
        }
        if json.get("d").is_none() {
            return Err(
                "This JWK has no private part (\"d\"): it is the public key you register in \
                        Okta. Paste the private JWK, or let okta365 generate a key pair."
                    .into(),
            );
        }
        return Ok(Valid {
            normalized: None,
            note: json
                .get("kid")
                .and_then(|k| k.as_str())
                .map(|kid| format!("Key id (kid) {kid}.")),
        });
    }
    Err("Paste the private key as PEM (-----BEGIN PRIVATE KEY-----) or as a JWK (JSON with \"d\"), or \
         let okta365 generate a key pair."
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(field: FieldId, value: &str) -> String {
        let check = validate_field(field, value);
        assert!(!check.ok, "{field:?} {value:?} should be rejected");
        assert!(
            check.normalized.is_none() && check.note.is_none(),
            "a failed check has only a message"
        );
        check.message.expect("a failed check says why")
    }

    fn ok(field: FieldId, value: &str) -> FieldCheck {
        let check = validate_field(field, value);
        assert!(
            check.ok,
            "{field:?} {value:?} should be accepted: {:?}",
            check.message
        );
        assert_eq!(check.field, field);
        check
    }

    const SECRET: &str = "abc8Q~Zx4yW1vU2tS3rQ4pO5nM6lK7jI8hG9fE0d";
    const GUID: &str = "4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b";

    #[test]
    fn tenant_is_a_guid_or_a_domain() {
        assert_eq!(
            ok(FieldId::MsTenant, " 4F1C2E3A-5B6D-4E7F-8A9B-0C1D2E3F4A5B ").normalized,
            Some(GUID.into()),
            "GUIDs are trimmed and lower-cased"
        );
        assert_eq!(
            ok(FieldId::MsTenant, "{4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5b}").normalized,
            Some(GUID.into()),
            "braces are dropped"
        );
        assert_eq!(
            ok(FieldId::MsTenant, "Contoso.onmicrosoft.com").normalized,
            Some("contoso.onmicrosoft.com".into())
        );
        assert!(message(FieldId::MsTenant, "").contains("Directory (tenant) ID"));
        assert!(
            message(FieldId::MsTenant, "contoso").contains("Did you mean contoso.onmicrosoft.com?")
        );
        assert!(message(FieldId::MsTenant, "admin@contoso.com").contains("email address"));
        assert!(
            message(
                FieldId::MsTenant,
                "https://login.microsoftonline.com/contoso.com"
            )
            .contains("not a URL")
        );
        assert!(
            message(FieldId::MsTenant, "4f1c2e3a-5b6d-4e7f-8a9b-0c1d2e3f4a5")
                .contains("not a valid GUID")
        );
        assert!(message(FieldId::MsTenant, "con_toso.com").contains("not a valid domain"));
    }

    #[test]
    fn client_id_is_a_guid_and_a_secret_value_is_named() {
        assert_eq!(ok(FieldId::MsClientId, GUID).normalized, Some(GUID.into()));
        assert!(
            message(FieldId::MsClientId, SECRET).starts_with(
                "A client id is a GUID like 4f1c…; you pasted the secret value from Certificates & secrets."
            ),
            "a secret value in the client id box is recognised"
        );
        let short = message(FieldId::MsClientId, "okta365");
        assert!(short.contains("this value has 7 characters"), "{short}");
        assert!(message(FieldId::MsClientId, " ").contains("Application (client) ID"));
    }

    #[test]
    fn client_secret_is_not_its_secret_id() {
        assert!(
            message(FieldId::MsClientSecret, GUID)
                .starts_with("That looks like the secret ID; paste the secret's Value"),
            "a GUID in the secret box is the secret ID"
        );
        let check = ok(FieldId::MsClientSecret, SECRET);
        assert_eq!(check.normalized, None, "a secret is never echoed back");
        assert!(message(FieldId::MsClientSecret, "short").contains("this one has 5"));
        assert!(
            message(FieldId::MsClientSecret, "abc def ghi jkl mno pqr stu").contains("no spaces")
        );
        assert!(
            message(FieldId::MsClientSecret, &"x".repeat(101)).contains("Paste only the Value")
        );
        assert!(message(FieldId::MsClientSecret, "").contains("Certificates & secrets"));
    }

    #[test]
    fn certificate_needs_its_private_key() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            ok(FieldId::MsCertificate, &format!("{cert}{key}")).normalized,
            None
        );
        assert!(message(FieldId::MsCertificate, cert).contains("not its private key"));
        assert!(message(FieldId::MsCertificate, key).contains("no certificate"));
        assert!(
            message(
                FieldId::MsCertificate,
                &format!("{cert}-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----")
            )
            .contains("encrypted")
        );
        let pfx = base64::engine::general_purpose::STANDARD.encode([0x30u8; 100]);
        assert!(
            ok(FieldId::MsCertificate, &pfx)
                .note
                .unwrap()
                .contains("password is checked when you save")
        );
        assert!(
            message(FieldId::MsCertificate, "hello")
                .contains("neither a PEM certificate nor a PFX")
        );
        assert!(message(FieldId::MsCertificate, "").contains(".pfx"));
    }

    #[test]
    fn org_url_rules() {
        assert_eq!(
            ok(FieldId::OktaOrgUrl, "https://acme.okta.com/").normalized,
            Some("https://acme.okta.com".into())
        );
        let admin = ok(
            FieldId::OktaOrgUrl,
            "https://acme-admin.okta.com/admin/dashboard",
        );
        assert_eq!(admin.normalized, Some("https://acme.okta.com".into()));
        let note = admin.note.unwrap();
        assert!(note.contains("Removed \"-admin\""), "{note}");
        assert!(note.contains("Kept only the org address"), "{note}");
        assert_eq!(
            ok(FieldId::OktaOrgUrl, "https://acme-admin.oktapreview.com").normalized,
            Some("https://acme.oktapreview.com".into())
        );
        for base in OKTA_DOMAINS {
            assert!(
                ok(FieldId::OktaOrgUrl, &format!("https://acme.{base}"))
                    .note
                    .is_none()
            );
        }
        let bare = ok(FieldId::OktaOrgUrl, "acme.okta.com");
        assert_eq!(bare.normalized, Some("https://acme.okta.com".into()));
        assert!(bare.note.unwrap().contains("Added https://"));
        assert_eq!(
            ok(FieldId::OktaOrgUrl, "https://login.example.com").normalized,
            Some("https://login.example.com".into()),
            "custom domains are accepted"
        );
        assert_eq!(
            ok(FieldId::OktaOrgUrl, "http://127.0.0.1:4100/").normalized,
            Some("http://127.0.0.1:4100".into()),
            "plain http is fine on loopback"
        );
        assert!(message(FieldId::OktaOrgUrl, "http://acme.okta.com").contains("use https://"));
        assert!(message(FieldId::OktaOrgUrl, "https://okta.com").contains("Okta's own site"));
        assert!(
            message(FieldId::OktaOrgUrl, "acme").contains("Did you mean https://acme.okta.com?")
        );
        assert!(message(FieldId::OktaOrgUrl, "ftp://acme.okta.com").contains("scheme \"ftp:\""));
        assert!(message(FieldId::OktaOrgUrl, "https://u:p@acme.okta.com").contains("user name"));
        assert!(message(FieldId::OktaOrgUrl, "").contains("https://acme.okta.com"));
    }

    #[test]
    fn api_token_shape() {
        assert_eq!(
            ok(
                FieldId::OktaApiToken,
                "00abcdefghijABCDEFGHIJ0123456789klmnopqrst"
            )
            .normalized,
            None
        );
        assert!(
            message(
                FieldId::OktaApiToken,
                "SSWS 00abcdefghijABCDEFGHIJ0123456789klmnop"
            )
            .contains("without the \"SSWS \" prefix")
        );
        assert!(
            message(FieldId::OktaApiToken, "eyJhbGciOiJSUzI1NiJ9.e30.sig")
                .contains("OAuth access token")
        );
        assert!(message(FieldId::OktaApiToken, "0oa1b2c3d4e5f6g7h8i9").contains("client id"));
        assert!(message(FieldId::OktaApiToken, "00abc").contains("42 characters; this one has 5"));
        assert!(message(FieldId::OktaApiToken, "").contains("Security → API → Tokens"));
    }

    #[test]
    fn okta_client_id_starts_with_0oa() {
        assert_eq!(
            ok(FieldId::OktaClientId, " 0oa1b2c3d4e5f6g7h8i9 ").normalized,
            Some("0oa1b2c3d4e5f6g7h8i9".into())
        );
        assert!(message(FieldId::OktaClientId, GUID).contains("Microsoft-style GUID"));
        assert!(message(FieldId::OktaClientId, "abc").contains("starts with 0oa"));
        assert!(message(FieldId::OktaClientId, "0oa123").contains("this one has 6"));
        assert!(
            message(FieldId::OktaClientId, "0oa1b2c3d4e5f6g7h8-9")
                .contains("only letters and digits")
        );
    }

    #[test]
    fn okta_private_key_is_private() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----";
        assert_eq!(ok(FieldId::OktaPrivateKey, pem).normalized, None);
        assert!(
            ok(
                FieldId::OktaPrivateKey,
                "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----"
            )
            .ok
        );
        assert!(
            message(
                FieldId::OktaPrivateKey,
                "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----"
            )
            .contains("public key")
        );
        assert!(
            message(
                FieldId::OktaPrivateKey,
                r#"{"kty":"RSA","n":"x","e":"AQAB"}"#
            )
            .contains("no private part")
        );
        assert_eq!(
            ok(
                FieldId::OktaPrivateKey,
                r#"{"kty":"RSA","kid":"k1","n":"x","e":"AQAB","d":"y"}"#
            )
            .note,
            Some("Key id (kid) k1.".into())
        );
        assert!(message(FieldId::OktaPrivateKey, r#"{"keys":[]}"#).contains("key set"));
        assert!(
            message(FieldId::OktaPrivateKey, r#"{"kty":"oct","k":"x"}"#)
                .contains("\"RSA\" or \"EC\"")
        );
        assert!(message(FieldId::OktaPrivateKey, "{nope").contains("not valid JSON"));
        assert!(message(FieldId::OktaPrivateKey, "hello").contains("PEM"));
        assert!(
            message(
                FieldId::OktaPrivateKey,
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nx\n-----END ENCRYPTED PRIVATE KEY-----"
            )
            .contains("encrypted")
        );
    }
}
