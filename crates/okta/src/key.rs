//! Private keys for the service app's client assertion (RSA or EC P-256, from PEM or JWK), key-pair
//! generation, and the per-process DPoP key.
//!
//! okta365 generates **RSA 2048** key pairs: it is what Okta's own Admin Console generates for API
//! service apps, what every Okta guide and SDK shows, and what any admin pasting a key recognises. EC
//! P-256 keys are accepted when an admin brings one. The DPoP proof key is a separate, ephemeral EC
//! P-256 key made once per process (small, fast proofs), never stored.

use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use okta365_secrets::Secret;
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(field: &str, s: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| Error::InvalidKey(format!("the JWK member \"{field}\" is not base64url")))
}

#[derive(Clone)]
enum Material {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::SecretKey),
}

/// A private signing key for the client assertion, with its key id. `Debug` never shows the key.
#[derive(Clone)]
pub struct PrivateKey {
    material: Material,
    kid: Option<String>,
    encoding: EncodingKey,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Parses a PEM private key (RSA PKCS#1 or PKCS#8, EC P-256 SEC1 or PKCS#8) or a private JWK (with
    /// `d`; a JWK set with one key also works). `kid` overrides the key id; without it a JWK's own `kid`
    /// is used, and a PEM key has none (the assertion then carries no `kid` and Okta tries the app's keys).
    pub fn parse(text: &str, kid: Option<&str>) -> Result<PrivateKey> {
        let t = text.trim();
        let mut key = if t.starts_with('{') {
            PrivateKey::from_jwk(t)?
        } else if t.contains("-----BEGIN") {
            PrivateKey::from_pem(t)?
        } else {
            return Err(Error::InvalidKey(
                "it is neither a PEM key (-----BEGIN PRIVATE KEY-----) nor a JWK ({\"kty\":…}); paste the private key \
                 file's whole text"
                    .into(),
            ));
        };
        if let Some(k) = kid.map(str::trim).filter(|k| !k.is_empty()) {
            key.kid = Some(k.to_owned());
        }
        Ok(key)
    }

    fn from_pem(pem: &str) -> Result<PrivateKey> {
        use p256::pkcs8::DecodePrivateKey as _;
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        let material = if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(Error::InvalidKey(
                "it is encrypted with a passphrase; export it unencrypted (openssl pkcs8 -topk8 -nocrypt -in key.pem)".into(),
            ));
        } else if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
            Material::Rsa(Box::new(rsa::RsaPrivateKey::from_pkcs1_pem(pem).map_err(
                |e| Error::InvalidKey(format!("the RSA PRIVATE KEY block does not parse ({e})")),
            )?))
        } else if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
            Material::Ec(p256::SecretKey::from_sec1_pem(pem).map_err(|_| {
                Error::InvalidKey(
                    "the EC PRIVATE KEY block is not a P-256 key; Okta service apps take RSA or EC P-256 keys".into(),
                )
            })?)
        } else if pem.contains("-----BEGIN PRIVATE KEY-----") {
            if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
                Material::Rsa(Box::new(k))
            } else if let Ok(k) = p256::SecretKey::from_pkcs8_pem(pem) {
                Material::Ec(k)
            } else {
                return Err(Error::InvalidKey(
                    "the PRIVATE KEY block is neither an RSA nor an EC P-256 key".into(),
                ));
            }
        } else if pem.contains("PUBLIC KEY-----") || pem.contains("CERTIFICATE-----") {
            return Err(Error::InvalidKey(
                "it is a public key or certificate; okta365 needs the private key (the public key goes into Okta)".into(),
            ));
        } else {
            return Err(Error::InvalidKey(
                "the PEM block is not a private key; expected BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY".into(),
            ));
        };
        PrivateKey::new(material, None)
    }

    fn from_jwk(text: &str) -> Result<PrivateKey> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::InvalidKey(format!("the JWK is not valid JSON ({e})")))?;
        let jwk = match v.get("keys").and_then(Value::as_array) {
            Some(keys) if keys.len() == 1 => keys[0].clone(),
            Some(_) => {
                return Err(Error::InvalidKey(
                    "the JWK set holds several keys; paste the one private key okta365 should use"
                        .into(),
                ));
            }
            None => v,
        };
        let s = |k: &str| jwk.get(k).and_then(Value::as_str);
        if s("d").is_none() {
            return Err(Error::InvalidKey(
                "the JWK has no private part (\"d\"): it is the public key, which goes into Okta; paste the private JWK"
                    .into(),
            ));
        }
        let need = |k: &str| {
            s(k).ok_or_else(|| Error::InvalidKey(format!("the JWK lacks the member \"{k}\"")))
        };
        let material = match s("kty") {
            Some("RSA") => {
                let int = |k: &str| -> Result<rsa::BigUint> {
                    Ok(rsa::BigUint::from_bytes_be(&unb64(k, need(k)?)?))
                };
                let key = rsa::RsaPrivateKey::from_components(
                    int("n")?,
                    int("e")?,
                    int("d")?,
                    vec![int("p")?, int("q")?],
                )
                .map_err(|e| Error::InvalidKey(format!("the RSA JWK is inconsistent ({e})")))?;
                Material::Rsa(Box::new(key))
            }
            Some("EC") => {
                if s("crv") != Some("P-256") {
                    return Err(Error::InvalidKey(format!(
                        "the EC JWK's curve is {:?}; okta365 takes P-256 EC keys (or RSA)",
                        s("crv").unwrap_or("missing")
                    )));
                }
                let d = unb64("d", need("d")?)?;
                Material::Ec(p256::SecretKey::from_slice(&d).map_err(|_| {
                    Error::InvalidKey("the EC JWK's \"d\" is not a P-256 private key".into())
                })?)
            }
            other => {
                return Err(Error::InvalidKey(format!(
                    "the JWK's kty is {:?}; use an RSA or EC (P-256) key",
                    other.unwrap_or("missing")
                )));
            }
        };
        PrivateKey::new(material, s("kid").map(str::to_owned))
    }

    fn new(material: Material, kid: Option<String>) -> Result<PrivateKey> {
        use p256::pkcs8::EncodePrivateKey as _;
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let encoding = match &material {
            Material::Rsa(k) => {
                if k.size() * 8 < 2048 {
                    return Err(Error::InvalidKey(format!(
                        "the RSA key has {} bits; Okta requires at least 2048",
                        k.size() * 8
                    )));
                }
                let der = k.to_pkcs1_der().map_err(|e| {
                    Error::InvalidKey(format!("the RSA key cannot be encoded ({e})"))
                })?;
                EncodingKey::from_rsa_der(der.as_bytes())
            }
            Material::Ec(k) => {
                let der = k.to_pkcs8_der().map_err(|e| {
                    Error::InvalidKey(format!("the EC key cannot be encoded ({e})"))
                })?;
                EncodingKey::from_ec_der(der.as_bytes())
            }
        };
        Ok(PrivateKey {
            material,
            kid,
            encoding,
        })
    }

    /// The key id sent in the assertion's `kid` header, if known.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JWS algorithm used with this key: `RS256` or `ES256`.
    pub fn algorithm(&self) -> &'static str {
        match self.material {
            Material::Rsa(_) => "RS256",
            Material::Ec(_) => "ES256",
        }
    }

    fn jws_algorithm(&self) -> Algorithm {
        match self.material {
            Material::Rsa(_) => Algorithm::RS256,
            Material::Ec(_) => Algorithm::ES256,
        }
    }

    /// The public JWK (with `kid` when known, `alg` and `use: sig`): what goes into Okta.
    pub fn public_jwk(&self) -> Value {
        let mut jwk = public_members(&self.material);
        if let Some(kid) = &self.kid {
            jwk["kid"] = json!(kid);
        }
        jwk["alg"] = json!(self.algorithm());
        jwk["use"] = json!("sig");
        jwk
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn thumbprint(&self) -> String {
        thumbprint(&public_members(&self.material))
    }

    /// The private key as PKCS#8 PEM, to keep in the OS keychain.
    pub fn to_pkcs8_pem(&self) -> Result<Secret> {
        use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
        let pem = match &self.material {
            Material::Rsa(k) => {
                rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(k.as_ref(), LineEnding::LF)
            }
            Material::Ec(k) => k.to_pkcs8_pem(LineEnding::LF),
        }
        .map_err(|e| Error::InvalidKey(format!("the key cannot be written as PEM ({e})")))?;
        Ok(Secret::new(pem.as_str()))
    }

    /// Signs `claims` as a compact JWS with this key.
    pub(crate) fn sign(&self, claims: &impl Serialize) -> Result<String> {
        let mut header = Header::new(self.jws_algorithm());
        header.kid = self.kid.clone();
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| Error::InvalidKey(format!("signing with it failed ({e})")))
    }
}

fn public_members(material: &Material) -> Value {
    match material {
        Material::Rsa(k) => json!({
            "kty": "RSA",
            "e": b64(&k.e().to_bytes_be()),
            "n": b64(&k.n().to_bytes_be()),
        }),
        Material::Ec(k) => {
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            let point = k.public_key().to_encoded_point(false);
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(point.x().map(|x| &x[..]).unwrap_or_default()),
                "y": b64(point.y().map(|y| &y[..]).unwrap_or_default()),
            })
        }
    }
}

/// RFC 7638 SHA-256 thumbprint of a public JWK (RSA or EC), base64url.
pub(crate) fn thumbprint(jwk: &Value) -> String {
    let s = |k: &str| jwk.get(k).and_then(Value::as_str).unwrap_or_default();
    let canonical = if s("kty") == "RSA" {
        format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n"))
    } else {
        format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        )
    };
    b64(&Sha256::digest(canonical.as_bytes()))
}

/// Generates an RSA 2048 key pair for a service app: the private key (its `kid` is the public key's
/// thumbprint) and the public JWK as pretty JSON, to paste into the app's Public keys in Okta.
pub fn generate_key_pair() -> Result<(PrivateKey, String)> {
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| Error::InvalidKey(format!("key generation failed ({e})")))?;
    let material = Material::Rsa(Box::new(private));
    let kid = thumbprint(&public_members(&material));
    let key = PrivateKey::new(material, Some(kid))?;
    let public = serde_json::to_string_pretty(&key.public_jwk())
        .map_err(|e| Error::InvalidKey(format!("the public JWK cannot be written ({e})")))?;
    Ok((key, public))
}

/// The ephemeral DPoP proof key of this process (EC P-256), separate from any assertion key.
pub(crate) struct DpopKey {
    encoding: EncodingKey,
    jwk: jsonwebtoken::jwk::Jwk,
}

impl DpopKey {
    /// The process's DPoP key, made on first use.
    pub(crate) fn get() -> &'static DpopKey {
        static KEY: OnceLock<DpopKey> = OnceLock::new();
        KEY.get_or_init(|| {
            use p256::pkcs8::EncodePrivateKey as _;
            let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
            let der = secret
                .to_pkcs8_der()
                .expect("a fresh P-256 key always encodes as PKCS#8");
            let jwk = serde_json::from_value(public_members(&Material::Ec(secret)))
                .expect("a P-256 public JWK always parses");
            DpopKey {
                encoding: EncodingKey::from_ec_der(der.as_bytes()),
                jwk,
            }
        })
    }

    /// A DPoP proof for `method url` (`htu` without query or fragment, path percent-decoded as Okta
    /// compares it), with the server's `nonce` when known and `ath` when presenting `access_token`.
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &url::Url,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = json!({
            "htm": method,
            "htu": htu(url),
            "iat": jiff::Timestamp::now().as_second(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(n) = nonce {
            claims["nonce"] = json!(n);
        }
        if let Some(t) = access_token {
            claims["ath"] = json!(b64(&Sha256::digest(t.as_bytes())));
        }
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| Error::Config(format!("the DPoP proof could not be signed ({e})")))
    }
}

/// `scheme://host[:port]/path` with the path percent-decoded.
fn htu(url: &url::Url) -> String {
    let path = url.path();
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    format!(
        "{}{}",
        url.origin().ascii_serialization(),
        String::from_utf8_lossy(&out)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pem_and_keep_their_thumbprint() {
        let (key, public) = generate_key_pair().unwrap();
        let jwk: Value = serde_json::from_str(&public).unwrap();
        assert_eq!(jwk["kty"], "RSA");
        assert!(jwk.get("d").is_none(), "the public JWK has no private part");
        assert_eq!(jwk["kid"].as_str(), Some(key.thumbprint().as_str()));
        let pem = key.to_pkcs8_pem().unwrap();
        let back = PrivateKey::parse(pem.expose(), None).unwrap();
        assert_eq!(back.thumbprint(), key.thumbprint());
        assert_eq!(back.kid(), None, "a PEM carries no kid");
        assert_eq!(
            PrivateKey::parse(pem.expose(), Some("k9")).unwrap().kid(),
            Some("k9")
        );
    }

    #[test]
    fn ec_keys_parse_from_sec1_pkcs8_and_jwk() {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
        let secret = p256::SecretKey::random(&mut rsa::rand_core::OsRng);
        let sec1 = secret.to_sec1_pem(LineEnding::LF).unwrap();
        let pkcs8 = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let point = secret.public_key().to_encoded_point(false);
        let jwk = json!({"kty":"EC","crv":"P-256","kid":"ec1",
            "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap()), "d": b64(&secret.to_bytes())});
        let a = PrivateKey::parse(&sec1, None).unwrap();
        let b = PrivateKey::parse(&pkcs8, None).unwrap();
        let c = PrivateKey::parse(&jwk.to_string(), None).unwrap();
        assert_eq!(a.algorithm(), "ES256");
        assert_eq!(a.thumbprint(), b.thumbprint());
        assert_eq!(b.thumbprint(), c.thumbprint());
        assert_eq!(c.kid(), Some("ec1"), "a JWK keeps its kid");
    }

    #[test]
    fn bad_keys_get_a_reason_and_never_echo_the_input() {
        let (key, public) = generate_key_pair().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        let cases = [
            (public.clone(), "no private part"),
            ("hello".to_owned(), "neither a PEM"),
            (
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".to_owned(),
                "public key",
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"
                    .to_owned(),
                "passphrase",
            ),
            (
                pem.expose().replace("MII", "XXX"),
                "neither an RSA nor an EC",
            ),
            (r#"{"kty":"OKP","d":"x"}"#.to_owned(), "kty"),
        ];
        for (input, needle) in cases {
            let msg = PrivateKey::parse(&input, None).unwrap_err().to_string();
            assert!(msg.contains(needle), "{needle:?} expected in {msg}");
            assert!(
                !msg.contains("MII") && !msg.contains("XXX"),
                "no key material in {msg}"
            );
        }
        assert!(!format!("{key:?}").contains("MII"), "Debug hides the key");
    }

    #[test]
    fn htu_drops_the_query_and_decodes_the_path() {
        let u = url::Url::parse("https://acme.okta.com/api/v1/users/a%40b.c?limit=1#x").unwrap();
        assert_eq!(htu(&u), "https://acme.okta.com/api/v1/users/a@b.c");
    }
}
