//! The Graph resources okta365 reads, with Graph's property names (camelCase on the wire).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::credential::ClientCertificate;
use crate::ids::{ApplicationObjectId, ClientId, SkuId, UserId};

/// The tenant (`GET /organization`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The tenant id (GUID).
    pub id: String,
    /// The tenant's name, e.g. `Contoso`.
    pub display_name: Option<String>,
    /// `AAD`, `AAD B2C`, …
    #[serde(default)]
    pub tenant_type: Option<String>,
    /// The tenant's verified domains.
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
}

impl Organization {
    /// The default domain (new users' UPN suffix), if marked.
    pub fn default_domain(&self) -> Option<&VerifiedDomain> {
        self.verified_domains.iter().find(|d| d.is_default)
    }

    /// The initial `*.onmicrosoft.com` domain.
    pub fn initial_domain(&self) -> Option<&VerifiedDomain> {
        self.verified_domains.iter().find(|d| d.is_initial)
    }
}

/// A verified domain of the tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    /// The domain name.
    pub name: String,
    /// The default domain for new users.
    #[serde(default)]
    pub is_default: bool,
    /// The initial `*.onmicrosoft.com` domain.
    #[serde(default)]
    pub is_initial: bool,
    /// `Managed` or `Federated`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// A Graph user. With `$select` only the selected properties are present; the others are `None`
/// and any selected property not modelled here is in `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The object id (absent only when `$select` leaves it out).
    #[serde(default)]
    pub id: Option<UserId>,
    /// The user principal name.
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The primary SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// Whether sign-in is allowed (only with `$select`).
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest` (only with `$select`).
    #[serde(default)]
    pub user_type: Option<String>,
    /// Other properties returned.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// A licence subscription (`GET /subscribedSkus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// The SKU's id.
    pub sku_id: SkuId,
    /// e.g. `ENTERPRISEPACK`.
    pub sku_part_number: String,
    /// Licences assigned.
    #[serde(default)]
    pub consumed_units: i64,
    /// Licences bought, by state.
    #[serde(default)]
    pub prepaid_units: PrepaidUnits,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    #[serde(default)]
    pub capability_status: Option<String>,
    /// `User` or `Company`.
    #[serde(default)]
    pub applies_to: Option<String>,
    /// The service plans the SKU includes.
    #[serde(default)]
    pub service_plans: Vec<crate::skus::ServicePlanInfo>,
}

/// Licence counts of a SKU by state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrepaidUnits {
    /// Active licences.
    #[serde(default)]
    pub enabled: i64,
    /// Suspended licences.
    #[serde(default)]
    pub suspended: i64,
    /// Licences in their grace period.
    #[serde(default)]
    pub warning: i64,
    /// Locked-out licences.
    #[serde(default)]
    pub locked_out: i64,
}

/// An app registration (`GET /applications`), with its credentials' metadata (never secret values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The application object's id.
    pub id: ApplicationObjectId,
    /// The Application (client) id.
    pub app_id: ClientId,
    /// The app's name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Client secrets (metadata and a 3-character hint).
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    /// Certificates (metadata).
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
}

impl Application {
    /// The client secrets whose `hint` (the first 3 characters Entra shows) matches `secret_value`.
    /// More than one may match; the one ending last is first.
    pub fn secrets_matching(&self, secret_value: &str) -> Vec<&PasswordCredential> {
        let hint: String = secret_value.chars().take(3).collect();
        let mut found: Vec<&PasswordCredential> = self
            .password_credentials
            .iter()
            .filter(|p| p.hint.as_deref() == Some(hint.as_str()))
            .collect();
        found.sort_by_key(|p| std::cmp::Reverse(p.end_date_time));
        found
    }

    /// The registered certificate that is `certificate` (by its SHA-1 thumbprint, which Graph
    /// returns as `customKeyIdentifier`).
    pub fn certificate(&self, certificate: &ClientCertificate) -> Option<&KeyCredential> {
        let want = certificate.thumbprint_sha1();
        self.key_credentials
            .iter()
            .find(|k| k.thumbprint_sha1().is_some_and(|t| t == want))
    }
}

/// A client secret's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    /// The secret's id (what the portal calls Secret ID; not the secret).
    pub key_id: String,
    /// The first 3 characters of the secret's value.
    #[serde(default)]
    pub hint: Option<String>,
    /// The secret's description.
    #[serde(default)]
    pub display_name: Option<String>,
    /// When it became valid.
    #[serde(default)]
    pub start_date_time: Option<Timestamp>,
    /// When it expires.
    #[serde(default)]
    pub end_date_time: Option<Timestamp>,
}

/// A certificate's metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// The credential's id.
    pub key_id: String,
    /// Base64 of the certificate's SHA-1 thumbprint (for certificates uploaded in the portal).
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// The certificate's description (often its subject).
    #[serde(default)]
    pub display_name: Option<String>,
    /// `AsymmetricX509Cert`, …
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `Verify` for sign-in certificates.
    #[serde(default)]
    pub usage: Option<String>,
    /// When it became valid.
    #[serde(default)]
    pub start_date_time: Option<Timestamp>,
    /// When it expires.
    #[serde(default)]
    pub end_date_time: Option<Timestamp>,
}

impl KeyCredential {
    /// The SHA-1 thumbprint (upper-case hex) from `customKeyIdentifier`.
    pub fn thumbprint_sha1(&self) -> Option<String> {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(self.custom_key_identifier.as_deref()?)
            .ok()?;
        (raw.len() == 20).then(|| raw.iter().map(|b| format!("{b:02X}")).collect())
    }
}
