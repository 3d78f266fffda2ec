//! What the engine needs from the Okta and Microsoft clients to save credentials: certificate parsing
//! (`okta365_graph::ClientCertificate`) and Okta key pairs (`okta365_okta`).

use okta365_secrets::Secret;

use super::save::NewCredential;
use crate::error::{Error, Result};

/// A key pair generated for an Okta API service app.
pub(crate) struct GeneratedOktaKey {
    pub key_id: String,
    pub private_key: Secret,
    pub public_jwk: String,
}

pub(crate) fn certificate_from_pem(_pem: &Secret) -> Result<NewCredential> {
    Err(Error::invalid(
        "Certificates cannot be saved by this build yet; use a client secret.",
    ))
}

pub(crate) fn certificate_from_pfx(_der: &[u8], _password: &Secret) -> Result<NewCredential> {
    Err(Error::invalid(
        "Certificates cannot be saved by this build yet; use a client secret.",
    ))
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
