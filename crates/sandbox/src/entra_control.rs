//! Control endpoints for Entra app registrations (under `/_sandbox/entra/`), and the certificate
//! parsing they and the token endpoint share.
//!
//! | request | what it does |
//! |---|---|
//! | `GET /_sandbox/entra/apps/{appId}` | the app: roles, secrets (`keyId`, `hint`, dates), certificates (thumbprints, dates) and `tokensIssued` by this server |
//! | `POST /_sandbox/entra/apps/{appId}/secrets` | `{displayName?, endDateTime?}` → `{keyId, secretText, hint, displayName, startDateTime, endDateTime}`; `endDateTime` may be in the past (an expired secret) |
//! | `POST /_sandbox/entra/apps/{appId}/certificates` | `{certificatePem, displayName?}` (an RSA X.509 certificate, public part only) → `{keyId, thumbprint, thumbprintSha256, displayName, startDateTime, endDateTime}` |

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::server::Shared;
use crate::state::{AppCertificate, ClientSecret, sha256_hex};

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/entra/apps/{app_id}", get(show_app))
        .route("/entra/apps/{app_id}/secrets", post(add_secret))
        .route("/entra/apps/{app_id}/certificates", post(add_certificate))
}

/// Graph's timestamp form for credentials: `2026-01-31T12:00:00Z`.
pub(crate) fn graph_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn no_app(app_id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("No app registration with appId {app_id}"),
    )
}

async fn show_app(AxState(shared): AxState<Arc<Shared>>, Path(app_id): Path<String>) -> Response {
    let st = shared.state.read().await;
    let Some(app) = st
        .microsoft
        .apps
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
    else {
        return no_app(&app_id);
    };
    axum::Json(json!({
        "appId": app.app_id,
        "displayName": app.display_name,
        "roles": app.roles,
        "tokensIssued": shared.entra.tokens_issued(&app.app_id),
        "secrets": app.secrets.iter().map(|s| json!({
            "keyId": s.key_id, "hint": s.hint, "displayName": s.display_name,
            "startDateTime": s.start_date_time, "endDateTime": s.end_date_time,
        })).collect::<Vec<_>>(),
        "certificates": app.certificates.iter().map(|c| json!({
            "keyId": c.key_id, "thumbprint": c.thumbprint_sha1, "thumbprintSha256": c.thumbprint_sha256,
            "displayName": c.display_name, "startDateTime": c.start_date_time, "endDateTime": c.end_date_time,
        })).collect::<Vec<_>>(),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretRequest {
    display_name: Option<String>,
    end_date_time: Option<String>,
}

async fn add_secret(
    AxState(shared): AxState<Arc<Shared>>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let body: &[u8] = if body.is_empty() { b"{}" } else { &body };
    let req: SecretRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The request body is not valid here ({e}). Send JSON like {{\"displayName\":\"ci\",\"endDateTime\":\"2027-01-31T00:00:00Z\"}}."
                ),
            );
        }
    };
    let now = shared.now();
    let end = match req.end_date_time.as_deref() {
        None => now
            .checked_add(jiff::SignedDuration::from_hours(2 * 365 * 24))
            .unwrap_or(now),
        Some(s) => match s.parse::<Timestamp>() {
            Ok(t) => t,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "endDateTime {s:?} is not an RFC 3339 time; write it like 2027-01-31T00:00:00Z"
                    ),
                );
            }
        },
    };
    let secret = crate::control::client_secret_value();
    let record = ClientSecret {
        key_id: uuid::Uuid::new_v4().to_string(),
        display_name: req.display_name.unwrap_or_else(|| "okta365 sandbox".into()),
        hint: secret.chars().take(3).collect(),
        secret_hash: sha256_hex(&secret),
        start_date_time: graph_time(now.min(end)),
        end_date_time: graph_time(end),
    };
    let answer = json!({
        "keyId": record.key_id,
        "secretText": secret,
        "hint": record.hint,
        "displayName": record.display_name,
        "startDateTime": record.start_date_time,
        "endDateTime": record.end_date_time,
    });
    let result = shared
        .mutate(|st| {
            let app = st
                .microsoft
                .apps
                .iter_mut()
                .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                .ok_or(())?;
            app.secrets.push(record);
            Ok::<_, ()>(())
        })
        .await;
    match result {
        Err(e) => e.into_response(),
        Ok(Err(())) => no_app(&app_id),
        Ok(Ok(())) => axum::Json(answer).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CertificateRequest {
    certificate_pem: String,
    display_name: Option<String>,
}

async fn add_certificate(
    AxState(shared): AxState<Arc<Shared>>,
    Path(app_id): Path<String>,
    body: Bytes,
) -> Response {
    let req: CertificateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "The request body is not valid here ({e}). Send JSON like {{\"certificatePem\":\"-----BEGIN CERTIFICATE-----\\n…\"}}."
                ),
            );
        }
    };
    let parsed = match parse_certificate_pem(&req.certificate_pem) {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let record = AppCertificate {
        key_id: uuid::Uuid::new_v4().to_string(),
        display_name: req.display_name.unwrap_or(parsed.subject),
        der_base64: STANDARD.encode(&parsed.der),
        thumbprint_sha1: parsed.thumbprint_sha1,
        thumbprint_sha256: parsed.thumbprint_sha256,
        start_date_time: graph_time(parsed.not_before),
        end_date_time: graph_time(parsed.not_after),
    };
    let answer = json!({
        "keyId": record.key_id,
        "thumbprint": record.thumbprint_sha1,
        "thumbprintSha256": record.thumbprint_sha256,
        "displayName": record.display_name,
        "startDateTime": record.start_date_time,
        "endDateTime": record.end_date_time,
    });
    let result = shared
        .mutate(|st| {
            let app = st
                .microsoft
                .apps
                .iter_mut()
                .find(|a| a.app_id.eq_ignore_ascii_case(&app_id))
                .ok_or(StatusCode::NOT_FOUND)?;
            if app
                .certificates
                .iter()
                .any(|c| c.thumbprint_sha256 == record.thumbprint_sha256)
            {
                return Err(StatusCode::CONFLICT);
            }
            app.certificates.push(record);
            Ok(())
        })
        .await;
    match result {
        Err(e) => e.into_response(),
        Ok(Err(StatusCode::NOT_FOUND)) => no_app(&app_id),
        Ok(Err(status)) => error(
            status,
            "This certificate is already registered on the app; its keyId is listed by GET /_sandbox/entra/apps/{appId}.",
        ),
        Ok(Ok(())) => axum::Json(answer).into_response(),
    }
}

/// What the sandbox needs from an X.509 certificate.
#[derive(Debug)]
pub(crate) struct ParsedCertificate {
    pub der: Vec<u8>,
    pub subject: String,
    pub thumbprint_sha1: String,
    pub thumbprint_sha256: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
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

/// Parses the first `CERTIFICATE` block of a PEM text (other blocks, such as a private key sent by
/// mistake, are ignored and never stored). Only RSA certificates are accepted, as Entra requires
/// for client assertions.
pub(crate) fn parse_certificate_pem(pem: &str) -> Result<ParsedCertificate, String> {
    let der = x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .filter_map(Result::ok)
        .find(|p| p.label == "CERTIFICATE")
        .map(|p| p.contents)
        .ok_or_else(|| {
            "certificatePem holds no -----BEGIN CERTIFICATE----- block; send the public certificate in PEM form"
                .to_owned()
        })?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("the certificate could not be read as X.509 ({e})"))?;
    if !matches!(
        cert.public_key().parsed(),
        Ok(x509_parser::public_key::PublicKey::RSA(_))
    ) {
        return Err(
            "the certificate's key is not RSA; Entra client assertions need an RSA certificate"
                .into(),
        );
    }
    let time = |t: x509_parser::time::ASN1Time| {
        Timestamp::from_second(t.timestamp())
            .map_err(|e| format!("a validity date is out of range ({e})"))
    };
    Ok(ParsedCertificate {
        subject: cert.subject().to_string(),
        not_before: time(cert.validity().not_before)?,
        not_after: time(cert.validity().not_after)?,
        thumbprint_sha1: hex(&Sha1::digest(&der), true),
        thumbprint_sha256: hex(&Sha256::digest(&der), false),
        der,
    })
}

/// The RSA modulus and exponent (big-endian) of a stored certificate.
pub(crate) fn rsa_components(der_base64: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let der = STANDARD
        .decode(der_base64)
        .map_err(|e| format!("stored certificate is not base64 ({e})"))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| format!("stored certificate is not X.509 ({e})"))?;
    match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(k)) => Ok((
            strip_zeros(k.modulus).to_vec(),
            strip_zeros(k.exponent).to_vec(),
        )),
        _ => Err("stored certificate has no RSA key".into()),
    }
}

fn strip_zeros(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

/// Graph `keyCredential` of a registered certificate (never the key material itself).
pub(crate) fn key_credential(c: &AppCertificate) -> Value {
    let sha1: Vec<u8> = (0..c.thumbprint_sha1.len() / 2)
        .filter_map(|i| u8::from_str_radix(&c.thumbprint_sha1[2 * i..2 * i + 2], 16).ok())
        .collect();
    json!({
        "customKeyIdentifier": STANDARD.encode(sha1),
        "displayName": c.display_name,
        "endDateTime": c.end_date_time,
        "key": null,
        "keyId": c.key_id,
        "startDateTime": c.start_date_time,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    })
}

/// Graph `passwordCredential` of a client secret (`secretText` is only ever returned at creation).
pub(crate) fn password_credential(s: &ClientSecret) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": s.display_name,
        "endDateTime": s.end_date_time,
        "hint": s.hint,
        "keyId": s.key_id,
        "secretText": null,
        "startDateTime": s.start_date_time,
    })
}
