//! Connecting a profile to its Microsoft tenant and Okta org (docs/connections.md): the field checks,
//! the operation → requirement table, saving connection settings with their credentials (secrets in the
//! OS keychain, metadata in the store), Test connection, and the Credentials screen.
//!
//! Saving is all-or-nothing: the secret goes to the keychain first (the value it replaces is kept in
//! memory), then the profile row and the credential's metadata in one store transaction. When the store
//! fails, the previous secret is put back, and the error says exactly what was and was not saved.

mod check;
mod credentials;
pub mod fields;
pub mod requirements;
mod save;
mod vendor;

use jiff::Timestamp;
use okta365_store::ProfileRecord;

pub use fields::validate_field;
pub use requirements::{Requirement, missing_roles, okta_scopes, requirements};
pub(crate) use save::NewCredential;
pub(crate) use vendor::certificate_from_pem;

use crate::{
    dto::{
        FieldId, MicrosoftConnection, MicrosoftCredentialKind, OktaAuthKind, OktaConnection,
        OperationId,
    },
    error::{Error, Result},
};

impl crate::Engine {
    /// Checks one form value ([`validate_field`]); the desktop app calls it as the admin types.
    pub fn validate_field(&self, field: FieldId, value: &str) -> crate::dto::FieldCheck {
        validate_field(field, value)
    }

    /// The operation → requirement table ([`requirements::table`]): what each operation does and
    /// the Graph permissions and Okta scopes it needs. The desktop app explains the connection steps
    /// with it, so it never keeps a copy of its own.
    pub fn requirements(&self) -> Vec<crate::dto::OperationRequirement> {
        requirements::table()
    }
}

/// Stored value of a Microsoft connection using a client secret.
pub(crate) const MS_SECRET: &str = "secret";
/// Stored value of a Microsoft connection using a certificate.
pub(crate) const MS_CERTIFICATE: &str = "certificate";
/// Stored value of an Okta connection using an API token.
pub(crate) const OKTA_API_TOKEN: &str = "apiToken";
/// Stored value of an Okta connection using an API service app.
pub(crate) const OKTA_SERVICE_APP: &str = "serviceApp";

/// Real Microsoft endpoints a tenant profile starts with.
pub const MICROSOFT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Microsoft Graph.
pub const MICROSOFT_GRAPH_URL: &str = "https://graph.microsoft.com";

/// The default operations, as stored.
pub(crate) fn default_operation_ids() -> Vec<String> {
    requirements::default_operations()
        .into_iter()
        .map(|op| op.as_str().to_owned())
        .collect()
}

/// The connection parts of a profile's DTO.
pub(crate) struct Connections {
    pub microsoft: Option<MicrosoftConnection>,
    pub okta: OktaConnection,
    pub operations: Vec<OperationId>,
}

fn corrupt(column: &'static str, value: &str) -> Error {
    Error::Store(okta365_store::Error::Corrupt {
        column,
        value: value.to_owned(),
    })
}

pub(crate) fn ms_credential_kind(
    record: &ProfileRecord,
) -> Result<Option<MicrosoftCredentialKind>> {
    match record.ms_credential_kind.as_deref() {
        None => Ok(None),
        Some(MS_SECRET) => Ok(Some(MicrosoftCredentialKind::Secret)),
        Some(MS_CERTIFICATE) => Ok(Some(MicrosoftCredentialKind::Certificate)),
        Some(other) => Err(corrupt("profiles.ms_credential_kind", other)),
    }
}

pub(crate) fn okta_auth(record: &ProfileRecord) -> Result<Option<OktaAuthKind>> {
    match record.okta_auth.as_deref() {
        None => Ok(None),
        Some(OKTA_API_TOKEN) => Ok(Some(OktaAuthKind::ApiToken)),
        Some(OKTA_SERVICE_APP) => Ok(Some(OktaAuthKind::ServiceApp)),
        Some(other) => Err(corrupt("profiles.okta_auth", other)),
    }
}

pub(crate) fn operations(record: &ProfileRecord) -> Result<Vec<OperationId>> {
    record
        .operations
        .iter()
        .map(|op| OperationId::parse(op).ok_or_else(|| corrupt("profiles.operations", op)))
        .collect()
}

pub(crate) fn connections_of(record: &ProfileRecord) -> Result<Connections> {
    let microsoft = match (&record.ms_tenant, &record.ms_client_id) {
        (Some(tenant), Some(client_id)) => Some(MicrosoftConnection {
            tenant: tenant.clone(),
            client_id: client_id.clone(),
            credential_kind: ms_credential_kind(record)?,
        }),
        _ => None,
    };
    Ok(Connections {
        microsoft,
        okta: OktaConnection {
            org_url: record.okta_org_url.trim_end_matches('/').to_owned(),
            auth: okta_auth(record)?,
            client_id: record.okta_client_id.clone(),
            key_id: record.okta_key_id.clone(),
            identity_source_id: record.okta_identity_source_id.clone(),
        },
        operations: operations(record)?,
    })
}

/// Runs [`validate_field`] and turns a failure into [`Error::InvalidInput`]; returns the normalized
/// value (or the trimmed input for secret fields).
pub(crate) fn checked(field: FieldId, value: &str) -> Result<String> {
    let check = validate_field(field, value);
    if check.ok {
        Ok(check.normalized.unwrap_or_else(|| value.trim().to_owned()))
    } else {
        Err(Error::invalid(check.message.unwrap_or_default()))
    }
}

/// Parses an expiry date typed by a person: `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp.
pub fn parse_expiry(value: &str) -> Result<Timestamp> {
    let v = value.trim();
    if let Ok(ts) = v.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(date) = v.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|_| Error::invalid(format!("The date \"{v}\" is out of range.")));
    }
    Err(Error::invalid(format!(
        "\"{v}\" is not a date. Enter it as YYYY-MM-DD (for example 2026-10-01), as shown in the \
         Expires column."
    )))
}

/// Whole days from `now` until `expires` (negative once it passed; -1 on the day after).
pub(crate) fn days_left(expires: Timestamp, now: Timestamp) -> i32 {
    let seconds = expires.as_second() - now.as_second();
    seconds.div_euclid(86_400) as i32
}

/// Credentials warn from this many days before they expire.
pub const EXPIRY_WARNING_DAYS: i32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_parse_from_dates_and_timestamps() {
        assert_eq!(
            parse_expiry("2026-10-01").unwrap().to_string(),
            "2026-10-01T00:00:00Z"
        );
        assert_eq!(
            parse_expiry(" 2026-10-01T10:11:12Z ").unwrap().to_string(),
            "2026-10-01T10:11:12Z"
        );
        let e = parse_expiry("01/10/2026").unwrap_err().to_string();
        assert!(e.contains("Enter it as YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn days_left_counts_whole_days() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(days_left(at("2026-01-31T12:00:00Z"), now), 30);
        assert_eq!(days_left(at("2026-01-31T11:59:59Z"), now), 29);
        assert_eq!(days_left(at("2026-01-01T13:00:00Z"), now), 0);
        assert_eq!(
            days_left(at("2026-01-01T11:00:00Z"), now),
            -1,
            "expired an hour ago"
        );
    }
}
