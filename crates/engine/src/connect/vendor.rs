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

/// The `kid` of a JWK private key, if it has one.
pub(crate) fn okta_key_id(key: &Secret) -> Result<Option<String>> {
    let text = key.expose().trim();
    if !text.starts_with('{') {
        return Ok(None);
    }
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| Error::invalid("The private key JWK is not valid JSON; copy it again."))?;
    Ok(json.get("kid").and_then(|k| k.as_str()).map(str::to_owned))
}

pub(crate) fn generate_okta_key() -> Result<GeneratedOktaKey> {
    Err(Error::invalid(
        "Key generation is not available in this build yet; paste a private key.",
    ))
}
