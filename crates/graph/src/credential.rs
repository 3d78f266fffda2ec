//! Entra app credentials: a client secret, or a certificate with its private key for the
//! certificate-assertion flow (PEM, or a PFX opened with its password and kept as PEM).
//!
//! What must stay true: the private key and the secret never appear in `Debug`, `Display` or an
//! error message; [`ClientCertificate::to_pem`] returns a [`Secret`]; an assertion is signed fresh for
//! every token request (new `jti`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use okta365_secrets::Secret;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How the app proves who it is to the token endpoint.
#[derive(Debug, Clone)]
pub enum EntraCredential {
    /// A client secret's Value (not its Secret ID).
    ClientSecret(Secret),
    /// A certificate registered on the app, with its private key.
    Certificate(ClientCertificate),
}

/// A certificate with its RSA private key, for signing client assertions. `Debug` shows only the
/// subject, the thumbprint and the end date.
#[derive(Clone)]
pub struct ClientCertificate {
    cert_der: Vec<u8>,
    key: rsa::RsaPrivateKey,
    subject: String,
    not_before: Timestamp,
    not_after: Timestamp,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("subject", &self.subject)
            .field("thumbprint_sha1", &self.thumbprint_sha1())
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

fn cert_error(message: impl Into<String>) -> Error {
    Error::Certificate(message.into())
}

fn hex(bytes: &[u8], upper: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect()
}

/// What a certificate holds that matters here.
struct CertInfo {
    subject: String,
    not_before: Timestamp,
    not_after: Timestamp,
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

fn cert_info(der: &[u8]) -> Result<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| cert_error(format!("The certificate could not be read as X.509 ({e}).")))?;
    let (modulus, exponent) = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => (
            strip_zeros(k.modulus).to_vec(),
            strip_zeros(k.exponent).to_vec(),
        ),
        _ => {
            return Err(cert_error(
                "The certificate's key is not RSA. Entra client certificates for okta365 must use an RSA key (2048 bits or more); create one with an RSA key.",
            ));
        }
    };
    let time = |t: x509_parser::time::ASN1Time| {
        Timestamp::from_second(t.timestamp())
            .map_err(|_| cert_error("The certificate's validity dates are out of range."))
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        modulus,
        exponent,
    })
}

impl ClientCertificate {
    /// Reads a PEM text holding the certificate (`BEGIN CERTIFICATE`) and its unencrypted RSA
    /// private key (`BEGIN PRIVATE KEY`, PKCS#8, or `BEGIN RSA PRIVATE KEY`, PKCS#1), in any order.
    /// With a chain, the certificate that matches the key is used.
    pub fn from_pem(pem: &str) -> Result<ClientCertificate> {
        let mut certs = Vec::new();
        let mut key = None;
        let mut saw_block = false;
        for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
            let Ok(block) = block else { break };
            saw_block = true;
            match block.label.as_str() {
                "CERTIFICATE" => certs.push(block.contents),
                "PRIVATE KEY" => {
                    let contents = Zeroizing::new(block.contents);
                    key = Some(rsa::RsaPrivateKey::from_pkcs8_der(&contents).map_err(|_| {
                        cert_error(
                            "The private key (BEGIN PRIVATE KEY) is not an RSA key. Entra client certificates for okta365 must use an RSA key.",
                        )
                    })?);
                }
                "RSA PRIVATE KEY" => {
                    let contents = Zeroizing::new(block.contents);
                    key = Some(rsa::RsaPrivateKey::from_pkcs1_der(&contents).map_err(|_| {
                        cert_error("The RSA private key (BEGIN RSA PRIVATE KEY) could not be read; export it again.")
                    })?);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(cert_error(
                        "The private key is encrypted with a password. Export it without a password (PEM), or give the PFX file and its password instead.",
                    ));
                }
                "EC PRIVATE KEY" => {
                    return Err(cert_error(
                        "The private key is an EC key. Entra client certificates for okta365 must use an RSA key.",
                    ));
                }
                _ => {}
            }
        }
        if !saw_block {
            return Err(cert_error(
                "This is not PEM text: expected -----BEGIN CERTIFICATE----- and -----BEGIN PRIVATE KEY----- blocks. For a .pfx/.p12 file, give the file and its password instead.",
            ));
        }
        let key = key.ok_or_else(|| {
            cert_error(
                "The PEM text has no private key. Add the -----BEGIN PRIVATE KEY----- block of this certificate (the public certificate alone cannot sign in).",
            )
        })?;
        if certs.is_empty() {
            return Err(cert_error(
                "The PEM text has a private key but no certificate. Add the -----BEGIN CERTIFICATE----- block registered on the app.",
            ));
        }
        ClientCertificate::from_parts(certs, key)
    }

    /// Opens a PFX (PKCS#12) file with its password; the certificate and key are kept in memory (use
    /// [`to_pem`](Self::to_pem) to store them without the password).
    pub fn from_pfx(bytes: &[u8], password: &str) -> Result<ClientCertificate> {
        use p12_keystore::error::Error as P12Error;
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| match e {
            P12Error::MacError(_) => Error::PfxPassword,
            _ => cert_error(
                "This file is not a readable PFX (PKCS#12) file. Export the certificate again with its private key as .pfx, or give it as PEM.",
            ),
        })?;
        let (_, chain) = store.private_key_chain().ok_or_else(|| {
            cert_error(
                "The PFX file holds no private key with its certificate. Export the certificate again and choose 'Yes, export the private key'.",
            )
        })?;
        let key_der = Zeroizing::new(chain.key().as_der().to_vec());
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&key_der).map_err(|_| {
            cert_error(
                "The PFX file's private key is not an RSA key. Entra client certificates for okta365 must use an RSA key.",
            )
        })?;
        let certs: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
        if certs.is_empty() {
            return Err(cert_error(
                "The PFX file holds a private key but no certificate. Export it again with the certificate.",
            ));
        }
        ClientCertificate::from_parts(certs, key)
    }

    fn from_parts(certs: Vec<Vec<u8>>, key: rsa::RsaPrivateKey) -> Result<ClientCertificate> {
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let mut first_error = None;
        for der in certs {
            match cert_info(&der) {
                Ok(info) if info.modulus == n && info.exponent == e => {
                    return Ok(ClientCertificate {
                        cert_der: der,
                        key,
                        subject: info.subject,
                        not_before: info.not_before,
                        not_after: info.not_after,
                    });
                }
                Ok(_) => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        Err(first_error.unwrap_or_else(|| {
            cert_error(
                "The private key does not belong to the certificate. Give the certificate together with its own private key.",
            )
        }))
    }

    /// The certificate and its private key as PEM (certificate first, then a PKCS#8 key), to keep
    /// in the keychain. A secret: never log or return it.
    pub fn to_pem(&self) -> Secret {
        let cert = pem_block("CERTIFICATE", &self.cert_der);
        let key = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an RSA key read from a certificate file encodes as PKCS#8");
        Secret::new(format!("{cert}{}", key.as_str()))
    }

    /// The public certificate alone as PEM (what is uploaded to the app registration).
    pub fn certificate_pem(&self) -> String {
        pem_block("CERTIFICATE", &self.cert_der)
    }

    /// SHA-256 of the certificate, lower-case hex (what `x5t#S256` carries, base64url-encoded).
    pub fn thumbprint_sha256(&self) -> String {
        hex(&Sha256::digest(&self.cert_der), false)
    }

    /// SHA-1 of the certificate, upper-case hex: the "Thumbprint" the Entra admin center shows.
    pub fn thumbprint_sha1(&self) -> String {
        hex(&Sha1::digest(&self.cert_der), true)
    }

    /// The certificate's subject, e.g. `CN=okta365`.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Start of the certificate's validity.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of the certificate's validity (Entra stops accepting it then).
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// A signed client assertion for `client_id` addressed to `token_url` (api-facts §3: PS256,
    /// `x5t#S256`, `aud` = the token URL, `iss` = `sub` = client id, `jti`, `nbf`, `iat`, `exp` 10
    /// minutes ahead).
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        token_url: &str,
        now: Timestamp,
    ) -> Result<Secret> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: i64,
            iat: i64,
            exp: i64,
        }
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(Sha256::digest(&self.cert_der)));
        let iat = now.as_second();
        let claims = Claims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: iat,
            iat,
            exp: iat + 600,
        };
        let der = self.key.to_pkcs1_der().map_err(|_| {
            cert_error("The certificate's private key could not be used for signing.")
        })?;
        let key = jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes());
        jsonwebtoken::encode(&header, &claims, &key)
            .map(Secret::new)
            .map_err(|_| {
                cert_error(
                    "The client assertion could not be signed with the certificate's private key.",
                )
            })
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_pem_gets_a_clear_message() {
        let e = ClientCertificate::from_pem("hello")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not PEM text"), "{e}");
    }

    #[test]
    fn an_encrypted_key_is_refused_with_the_fix() {
        let pem =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = ClientCertificate::from_pem(pem).unwrap_err().to_string();
        assert!(e.contains("without a password"), "{e}");
    }

    #[test]
    fn a_pfx_that_is_not_one_is_refused() {
        let e = ClientCertificate::from_pfx(b"not a pfx", "pw")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a readable PFX"), "{e}");
    }
}
