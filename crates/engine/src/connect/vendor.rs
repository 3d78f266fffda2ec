//! What the engine needs from the Okta and Microsoft clients to save credentials: certificate parsing
//! (`okta365_graph::ClientCertificate`) and Okta key pairs (`okta365_okta`).

use okta365_graph::ClientCertificate;
use okta365_secrets::{CredentialKind, Secret};

use super::save::NewCredential;
use crate::error::{Error, Result};

/// A key pair generated for an Okta API service app.
pub(crate) struct GeneratedOktaKey {
    pub key_id: String,
    pub private_key: Secret,
    pub public_jwk: String,
}

/// A certificate (with its private key) from PEM text, ready to store as PEM.
pub(crate) fn certificate_from_pem(pem: &Secret) -> Result<NewCredential> {
    let certificate = ClientCertificate::from_pem(pem.expose()).map_err(certificate_error)?;
    Ok(certificate_credential(&certificate))
}

/// A certificate (with its private key) from a PFX file and its password, converted to PEM so the
/// password is never needed again.
pub(crate) fn certificate_from_pfx(der: &[u8], password: &Secret) -> Result<NewCredential> {
    let certificate =
        ClientCertificate::from_pfx(der, password.expose()).map_err(certificate_error)?;
    Ok(certificate_credential(&certificate))
}

fn certificate_credential(certificate: &ClientCertificate) -> NewCredential {
    NewCredential {
        kind: CredentialKind::EntraClientCertificate,
        secret: certificate.to_pem(),
        // The thumbprint the Entra admin center shows, so the admin can tell certificates apart.
        hint: Some(certificate.thumbprint_sha1()),
        expires_at: Some(certificate.not_after()),
    }
}

/// The certificate errors are about what the admin gave: say so with the client's sentence.
fn certificate_error(error: okta365_graph::Error) -> Error {
    Error::invalid(error.to_string())
}

/// Checks that Okta's client can use a private key (PEM or JWK) and returns its `kid`, if the key
/// carries one.
pub(crate) fn okta_key_id(key: &Secret) -> Result<Option<String>> {
    let parsed = okta365_okta::PrivateKey::parse(key.expose(), None)
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(parsed.kid().map(str::to_owned))
}

/// A new RSA key pair for an Okta service app, its private half as PKCS#8 PEM for the keychain.
pub(crate) fn generate_okta_key() -> Result<GeneratedOktaKey> {
    let (key, public_jwk) = okta365_okta::generate_key_pair()
        .map_err(|e| Error::Task(format!("the key pair could not be generated ({e})")))?;
    let key_id = key
        .kid()
        .map(str::to_owned)
        .ok_or_else(|| Error::Task("the generated key has no key id".into()))?;
    let private_key = key
        .to_pkcs8_pem()
        .map_err(|e| Error::Task(format!("the key pair could not be generated ({e})")))?;
    Ok(GeneratedOktaKey {
        key_id,
        private_key,
        public_jwk,
    })
}
