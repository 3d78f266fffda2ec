//! Provisioning settings per profile (docs/provisioning.md "Settings"): the username format, the
//! attribute mapping Okta profile → Graph user, the guest settings, the blast-radius guard and the
//! trigger intervals; their validation; and the username preview over the assignments group.
//!
//! A profile that never saved settings gets the defaults, whose username domain is the tenant's default
//! verified domain, read live (so a tenant that changes its default domain is followed until the admin
//! saves a choice). Saved settings are validated first: an unknown Graph property, a domain the tenant
//! has not verified, an interval or guard number out of range are refused with the fix.

use std::collections::HashSet;

use okta365_graph::GraphClient;
use okta365_okta::{GroupId, OktaClient};
use okta365_store::ProfileRecord;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;
use url::Url;

use super::usernames::{self, OktaName};
use crate::{
    engine::Engine,
    error::{Error, Result},
    setup::groups::{GroupRole, okta_error},
};

/// How an Okta user's Microsoft 365 sign-in name (`userPrincipalName`) is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum UsernameFormat {
    /// The Okta login as is.
    OktaLogin,
    /// The Okta email as is.
    Email,
    /// The Okta email's part before `@`, then `@domain`.
    EmailLocalPart {
        /// A verified domain of the tenant, e.g. `contoso.com`.
        domain: String,
    },
}

/// One Okta profile attribute copied to one Graph user property, e.g. `title` → `jobTitle`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttributeMapping {
    /// The Okta profile attribute, e.g. `title`.
    pub okta: String,
    /// The Graph user property, one of [`GRAPH_PROPERTIES`], e.g. `jobTitle`.
    pub graph: String,
}

/// What happens to a guest account whose Okta user left the guests group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum GuestRemoval {
    /// Delete it (restorable in Entra for 30 days).
    Delete,
    /// Disable it (sign-in blocked) at once, delete it on a later reconcile.
    DisableThenDelete,
}

/// A profile's provisioning settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningSettings {
    /// The username format; default: email local part + the tenant's default verified domain.
    pub username: UsernameFormat,
    /// Okta attribute → Graph property, applied on create and by profile sync.
    #[serde(default = "default_attributes")]
    pub attributes: Vec<AttributeMapping>,
    /// Where an invited guest lands after redeeming the invitation.
    #[serde(default = "default_guest_redirect_url")]
    pub guest_redirect_url: String,
    /// Whether Microsoft emails the invitation to the guest.
    #[serde(default = "default_true")]
    pub guest_send_invitation: bool,
    /// What happens to a guest who left the guests group.
    #[serde(default = "default_guest_removal")]
    pub guest_removal: GuestRemoval,
    /// The guard stops a plan with more destructive changes than this.
    #[serde(default = "default_guard_max_users")]
    pub guard_max_users: u32,
    /// The guard stops a plan whose destructive changes exceed this percentage of the group's members.
    #[serde(default = "default_guard_max_percent")]
    pub guard_max_percent: u32,
    /// How often the System Log is polled while triggers are on, in seconds (10–3600).
    #[serde(default = "default_poll_interval_secs")]
    pub poll_interval_secs: u32,
    /// How often a full reconcile runs, in minutes (5–10080); `null`: never on its own.
    #[serde(default)]
    pub reconcile_every_mins: Option<u32>,
}

/// The Graph user properties the attribute mapping may write.
pub const GRAPH_PROPERTIES: &[&str] = &[
    "givenName",
    "surname",
    "displayName",
    "mail",
    "jobTitle",
    "department",
    "mobilePhone",
    "officeLocation",
    "city",
    "state",
    "country",
    "postalCode",
    "streetAddress",
    "companyName",
    "employeeId",
    "usageLocation",
];

/// The default mapping (Okta attribute, Graph property).
pub const DEFAULT_ATTRIBUTES: &[(&str, &str)] = &[
    ("firstName", "givenName"),
    ("lastName", "surname"),
    ("displayName", "displayName"),
    ("email", "mail"),
    ("title", "jobTitle"),
    ("department", "department"),
    ("mobilePhone", "mobilePhone"),
    ("city", "city"),
    ("countryCode", "usageLocation"),
];

/// The default redirect of invited guests.
pub const DEFAULT_GUEST_REDIRECT_URL: &str = "https://myapps.microsoft.com";

/// The range of [`ProvisioningSettings::poll_interval_secs`].
pub const POLL_INTERVAL_SECS: std::ops::RangeInclusive<u32> = 10..=3600;
/// The range of [`ProvisioningSettings::reconcile_every_mins`] when set.
pub const RECONCILE_EVERY_MINS: std::ops::RangeInclusive<u32> = 5..=10080;
/// The largest [`ProvisioningSettings::guard_max_users`].
pub const MAX_GUARD_USERS: u32 = 100_000;

/// How many preview rows are shown besides the problem rows.
pub const PREVIEW_ROWS: usize = 50;

fn default_attributes() -> Vec<AttributeMapping> {
    DEFAULT_ATTRIBUTES
        .iter()
        .map(|(okta, graph)| AttributeMapping {
            okta: (*okta).to_owned(),
            graph: (*graph).to_owned(),
        })
        .collect()
}
fn default_guest_redirect_url() -> String {
    DEFAULT_GUEST_REDIRECT_URL.to_owned()
}
fn default_true() -> bool {
    true
}
fn default_guest_removal() -> GuestRemoval {
    GuestRemoval::Delete
}
fn default_guard_max_users() -> u32 {
    10
}
fn default_guard_max_percent() -> u32 {
    5
}
fn default_poll_interval_secs() -> u32 {
    60
}

impl ProvisioningSettings {
    /// The defaults, with the username built from the email's local part and `default_domain`.
    pub fn defaults(default_domain: &str) -> ProvisioningSettings {
        ProvisioningSettings {
            username: UsernameFormat::EmailLocalPart {
                domain: default_domain.to_owned(),
            },
            attributes: default_attributes(),
            guest_redirect_url: default_guest_redirect_url(),
            guest_send_invitation: true,
            guest_removal: GuestRemoval::Delete,
            guard_max_users: default_guard_max_users(),
            guard_max_percent: default_guard_max_percent(),
            poll_interval_secs: default_poll_interval_secs(),
            reconcile_every_mins: None,
        }
    }

    /// The Graph property `okta` attribute maps to, if mapped.
    pub fn graph_property_of(&self, okta: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.okta == okta)
            .map(|a| a.graph.as_str())
    }

    /// Trims what the admin typed (domain lower-cased) and checks everything but the domain's
    /// verification; returns the settings to save or every problem in one message.
    pub fn normalized(mut self) -> Result<ProvisioningSettings> {
        let mut problems = Vec::new();
        if let UsernameFormat::EmailLocalPart { domain } = &mut self.username {
            *domain = domain.trim().trim_start_matches('@').to_ascii_lowercase();
            if domain.is_empty() {
                problems.push(
                    "The username format \"email local part + domain\" needs a domain: choose one of the \
                     tenant's verified domains."
                        .to_owned(),
                );
            }
        }
        let mut seen_graph = HashSet::new();
        for a in &mut self.attributes {
            a.okta = a.okta.trim().to_owned();
            a.graph = a.graph.trim().to_owned();
            if a.okta.is_empty()
                || !a
                    .okta
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                problems.push(format!(
                    "\"{}\" is not an Okta profile attribute name (letters, digits and _ only, e.g. \
                     title or costCenter); it is mapped to {}.",
                    a.okta,
                    if a.graph.is_empty() {
                        "nothing"
                    } else {
                        &a.graph
                    }
                ));
            }
            match GRAPH_PROPERTIES.iter().find(|p| p.eq_ignore_ascii_case(&a.graph)) {
                None => problems.push(format!(
                    "Unknown Graph property \"{}\" in the attribute mapping (from Okta's {}). okta365 can \
                     write: {}.",
                    a.graph,
                    a.okta,
                    GRAPH_PROPERTIES.join(", ")
                )),
                Some(p) => {
                    a.graph = (*p).to_owned();
                    if !seen_graph.insert(*p) {
                        problems.push(format!(
                            "The Graph property {p} is mapped from more than one Okta attribute; keep one."
                        ));
                    }
                }
            }
        }
        self.guest_redirect_url = self.guest_redirect_url.trim().to_owned();
        match Url::parse(&self.guest_redirect_url) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {}
            _ => problems.push(format!(
                "The guest redirect URL \"{}\" is not a web address; use an https:// URL such as {}.",
                self.guest_redirect_url, DEFAULT_GUEST_REDIRECT_URL
            )),
        }
        if self.guard_max_users > MAX_GUARD_USERS {
            problems.push(format!(
                "The guard's maximum of users ({}) is more than {MAX_GUARD_USERS}; use a smaller number \
                 (0 stops every plan that deletes or disables anyone).",
                self.guard_max_users
            ));
        }
        if self.guard_max_percent > 100 {
            problems.push(format!(
                "The guard's maximum percentage ({}) must be between 0 and 100.",
                self.guard_max_percent
            ));
        }
        if !POLL_INTERVAL_SECS.contains(&self.poll_interval_secs) {
            problems.push(format!(
                "The System Log poll interval ({} s) must be between {} and {} seconds.",
                self.poll_interval_secs,
                POLL_INTERVAL_SECS.start(),
                POLL_INTERVAL_SECS.end()
            ));
        }
        if let Some(m) = self.reconcile_every_mins
            && !RECONCILE_EVERY_MINS.contains(&m)
        {
            problems.push(format!(
                "The reconcile interval ({m} min) must be between {} minutes and {} minutes (a week), or \
                 off.",
                RECONCILE_EVERY_MINS.start(),
                RECONCILE_EVERY_MINS.end()
            ));
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(Error::invalid(problems.join(" ")))
        }
    }
}

/// An Okta profile value as text: trimmed, `None` when absent or empty; numbers and booleans as
/// written, a list joined with ", ".
fn okta_text(value: Option<&serde_json::Value>) -> Option<String> {
    use serde_json::Value;
    let text = match value? {
        Value::Null => return None,
        Value::String(s) => s.trim().to_owned(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| okta_text(Some(v)))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    (!text.is_empty()).then_some(text)
}

/// A Graph user's property as text (`None` when absent, null or empty), for comparing with
/// the mapped values of an Okta user (`RunContext::mapped_attributes`).
pub fn graph_text(user: &okta365_graph::User, property: &str) -> Option<String> {
    let value = serde_json::to_value(user).unwrap_or_default();
    okta_text(value.get(property))
}

/// Whether a Graph property's live value already is the wanted one (mail and usageLocation compare
/// ignoring case, as Entra does).
pub fn same_value(property: &str, live: Option<&str>, wanted: Option<&str>) -> bool {
    match (live, wanted) {
        (None, None) => true,
        (Some(a), Some(b)) if matches!(property, "mail" | "usageLocation") => {
            a.eq_ignore_ascii_case(b)
        }
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The tenant's verified domains as provisioning needs them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantDomains {
    /// Every verified domain's name, lower-cased, default first.
    pub verified: Vec<String>,
    /// The default domain for new users.
    pub default: Option<String>,
    /// Verified domains whose authentication is federated (new users there need no password change).
    pub federated: Vec<String>,
}

impl TenantDomains {
    /// Whether `domain` is verified (ignoring case).
    pub fn is_verified(&self, domain: &str) -> bool {
        self.verified.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// Whether `domain` is federated (ignoring case).
    pub fn is_federated(&self, domain: &str) -> bool {
        self.federated
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Reads the tenant's verified domains: `GET /domains` (Domain.Read.All or Directory.Read.All, with
/// each domain's authentication type), else `GET /organization` (Organization.Read.All), which the
/// Licenses step needs anyway.
pub(crate) async fn tenant_domains(graph: &GraphClient) -> Result<TenantDomains> {
    match graph.domains().await {
        Ok(list) => {
            let mut verified: Vec<&okta365_graph::users::Domain> =
                list.iter().filter(|d| d.is_verified).collect();
            verified.sort_by_key(|d| (!d.is_default, d.id.to_ascii_lowercase()));
            let default = verified
                .iter()
                .find(|d| d.is_default)
                .or_else(|| verified.iter().find(|d| d.is_initial))
                .map(|d| d.id.to_ascii_lowercase());
            return Ok(TenantDomains {
                verified: verified.iter().map(|d| d.id.to_ascii_lowercase()).collect(),
                default,
                federated: verified
                    .iter()
                    .filter(|d| d.is_federated())
                    .map(|d| d.id.to_ascii_lowercase())
                    .collect(),
            });
        }
        Err(e) if matches!(e.status(), Some(403 | 404)) => {
            tracing::debug!(error = %e, "GET /domains refused; reading the domains of /organization");
        }
        Err(e) => return Err(domains_error(e)),
    }
    let org = graph.organization().get().await.map_err(domains_error)?;
    let mut domains = org.verified_domains.clone();
    domains.sort_by_key(|d| (!d.is_default, d.name.to_ascii_lowercase()));
    Ok(TenantDomains {
        verified: domains
            .iter()
            .map(|d| d.name.to_ascii_lowercase())
            .collect(),
        default: org
            .default_domain()
            .or(org.initial_domain())
            .map(|d| d.name.to_ascii_lowercase()),
        federated: domains
            .iter()
            .filter(|d| {
                d.kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("Federated"))
            })
            .map(|d| d.name.to_ascii_lowercase())
            .collect(),
    })
}

fn domains_error(e: okta365_graph::Error) -> Error {
    let message = format!(
        "Reading the Microsoft tenant's verified domains failed: {}",
        e.explanation().sentence()
    );
    match e.status() {
        Some(401 | 403) => Error::PermissionDenied {
            message: format!(
                "{message} okta365's app needs the Microsoft Graph application permission \
                 Organization.Read.All, Domain.Read.All or Directory.Read.All, with admin consent."
            ),
        },
        _ => Error::Vendor { message },
    }
}

/// Checks that the username format's domain (if it names one) is verified in the tenant.
pub(crate) fn check_domain(format: &UsernameFormat, domains: &TenantDomains) -> Result<()> {
    if let UsernameFormat::EmailLocalPart { domain } = format
        && !domains.is_verified(domain)
    {
        return Err(Error::invalid(format!(
            "The domain {domain} is not a verified domain of the Microsoft tenant (verified: {}). \
             Choose one of those, or verify {domain} under Settings > Domain names in the Microsoft 365 \
             admin center first.",
            if domains.verified.is_empty() {
                "none".to_owned()
            } else {
                domains.verified.join(", ")
            }
        )));
    }
    Ok(())
}

/// The profile's settings: as saved, or the defaults with the tenant's default domain read live
/// through `graph`.
pub(crate) async fn load(
    engine: &Engine,
    record: &ProfileRecord,
    graph: &GraphClient,
) -> Result<ProvisioningSettings> {
    if let Some(saved) = load_saved(engine, record).await? {
        return Ok(saved);
    }
    let domains = tenant_domains(graph).await?;
    Ok(defaults_for(&domains))
}

/// The settings the profile saved, if it did.
pub(crate) async fn load_saved(
    engine: &Engine,
    record: &ProfileRecord,
) -> Result<Option<ProvisioningSettings>> {
    let id = record.id;
    let Some(json) = engine
        .db(move |store| store.provisioning_settings(id))
        .await?
    else {
        return Ok(None);
    };
    serde_json::from_str(&json).map(Some).map_err(|e| {
        Error::invalid(format!(
            "The saved provisioning settings of profile \"{}\" cannot be read ({e}). Save the \
             provisioning settings again (`okta365 provisioning settings`) to replace them.",
            record.name
        ))
    })
}

/// The defaults for a tenant with these domains.
pub(crate) fn defaults_for(domains: &TenantDomains) -> ProvisioningSettings {
    ProvisioningSettings::defaults(domains.default.as_deref().unwrap_or_default())
}

/// One row of the username preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UsernamePreviewRow {
    /// The Okta user id.
    pub okta_user_id: String,
    /// The Okta login.
    pub login: String,
    /// The Okta email (empty when the user has none).
    pub email: String,
    /// The sign-in name the format gives, also when its domain is not verified; `null` when none can
    /// be built.
    pub upn: Option<String>,
    /// Whether the UPN's domain is a verified domain of the tenant.
    pub verified_domain: bool,
    /// Why this user cannot be provisioned with this format, with the fix.
    pub problem: Option<String>,
}

/// A username format applied to the members of the assignments group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct UsernamePreview {
    /// The first 50 members, then every other member with a problem, in group order.
    pub rows: Vec<UsernamePreviewRow>,
    /// The tenant's verified domains, default first.
    pub domains: Vec<String>,
}

/// The members of a role's Okta group (all pages): the stored group id, else the group found by name.
pub(crate) async fn group_members(
    engine: &Engine,
    record: &ProfileRecord,
    okta: &OktaClient,
    role: GroupRole,
) -> Result<Vec<okta365_okta::User>> {
    let id = record.id;
    let stored = engine.db(move |store| store.group_settings(id)).await?;
    let name = engine
        .group_settings(id)
        .await?
        .into_iter()
        .find(|g| g.role == role)
        .map(|g| g.name)
        .unwrap_or_else(|| role.default_name().to_owned());
    let stored_id = stored
        .iter()
        .find(|g| g.role == role.as_str() && g.name == name)
        .and_then(|g| g.okta_group_id.clone());
    let group_id = match stored_id {
        Some(gid) => GroupId::new(gid),
        None => {
            let found = okta.group_named(&name).await.map_err(|e| {
                okta_error(
                    &format!("Finding the Okta group \"{name}\""),
                    e,
                    "okta.groups.read",
                )
            })?;
            found.exact.map(|g| g.id).ok_or_else(|| {
                Error::invalid(format!(
                    "The Okta org has no group named \"{name}\" ({}). Create it on the Groups step \
                     (`okta365 setup groups`), or choose the group there.",
                    role.purpose()
                ))
            })?
        }
    };
    let doing = format!("Listing the members of the Okta group \"{name}\"");
    okta.groups()
        .members(&group_id)
        .await
        .map_err(|e| okta_error(&doing, e, "okta.groups.read"))?
        .collect_all()
        .await
        .map_err(|e| okta_error(&doing, e, "okta.groups.read"))
}

/// The username preview of `format` over `members` with the tenant's `domains` (pure).
pub fn preview(
    format: &UsernameFormat,
    members: &[okta365_okta::User],
    domains: &TenantDomains,
) -> UsernamePreview {
    let names: Vec<OktaName> = members
        .iter()
        .map(|u| OktaName {
            okta_user_id: u.id.as_str().to_owned(),
            login: u.profile.login.clone(),
            email: u.profile.email.clone(),
        })
        .collect();
    let rows = usernames::map_usernames(format, &names, &domains.verified)
        .into_iter()
        .enumerate()
        .filter(|(i, m)| *i < PREVIEW_ROWS || m.problem.is_some())
        .map(|(_, m)| UsernamePreviewRow {
            okta_user_id: m.user.okta_user_id,
            login: m.user.login,
            email: m.user.email.unwrap_or_default(),
            upn: m.upn,
            verified_domain: m.verified_domain,
            problem: m.problem.map(|p| p.message()),
        })
        .collect();
    UsernamePreview {
        rows,
        domains: domains.verified.clone(),
    }
}

/// The Okta scopes reading group members needs.
pub(crate) const OKTA_READ_SCOPES: &[&str] = &["okta.groups.read", "okta.users.read"];

impl Engine {
    /// The profile's provisioning settings: as saved, or the defaults (username: email local part + the
    /// tenant's default verified domain, read live).
    #[instrument(skip(self), err)]
    pub async fn provisioning_settings(&self, profile_id: &str) -> Result<ProvisioningSettings> {
        let record = self.find(profile_id).await?;
        if let Some(saved) = load_saved(self, &record).await? {
            return Ok(saved);
        }
        let graph = self.graph_client_for(&record).await?;
        load(self, &record, &graph).await
    }

    /// Validates and saves the profile's provisioning settings; returns them as saved. The username
    /// domain must be verified in the tenant (checked live).
    #[instrument(skip(self, settings), err)]
    pub async fn set_provisioning_settings(
        &self,
        profile_id: &str,
        settings: ProvisioningSettings,
    ) -> Result<ProvisioningSettings> {
        let record = self.find(profile_id).await?;
        let settings = settings.normalized()?;
        if matches!(settings.username, UsernameFormat::EmailLocalPart { .. }) {
            let graph = self.graph_client_for(&record).await?;
            check_domain(&settings.username, &tenant_domains(&graph).await?)?;
        }
        let json = serde_json::to_string(&settings).expect("settings serialize");
        let id = record.id;
        let saved = self
            .db(move |store| store.set_provisioning_settings(id, &json))
            .await?;
        if !saved {
            return Err(Error::ProfileNotFound {
                query: profile_id.to_owned(),
            });
        }
        tracing::info!(profile_id = %id, "saved the provisioning settings");
        Ok(settings)
    }

    /// Applies a username format to the members of the profile's assignments group: the first 50 rows
    /// and every problem (no email, a domain the tenant has not verified, two users on one UPN), with
    /// the tenant's verified domains. Writes nothing.
    #[instrument(skip(self), err)]
    pub async fn preview_usernames(
        &self,
        profile_id: &str,
        format: UsernameFormat,
    ) -> Result<UsernamePreview> {
        let record = self.find(profile_id).await?;
        let format = match format {
            UsernameFormat::EmailLocalPart { domain } => UsernameFormat::EmailLocalPart {
                domain: domain.trim().trim_start_matches('@').to_ascii_lowercase(),
            },
            other => other,
        };
        let graph = self.graph_client_for(&record).await?;
        let okta = self.okta_client(&record, OKTA_READ_SCOPES).await?;
        let domains = tenant_domains(&graph).await?;
        let members = group_members(self, &record, &okta, GroupRole::Assignments).await?;
        Ok(preview(&format, &members, &domains))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ProvisioningSettings {
        ProvisioningSettings::defaults("contoso.example")
    }

    #[test]
    fn the_json_is_the_contracts() {
        let json = serde_json::to_value(valid()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "username": { "kind": "emailLocalPart", "domain": "contoso.example" },
                "attributes": [
                    { "okta": "firstName", "graph": "givenName" },
                    { "okta": "lastName", "graph": "surname" },
                    { "okta": "displayName", "graph": "displayName" },
                    { "okta": "email", "graph": "mail" },
                    { "okta": "title", "graph": "jobTitle" },
                    { "okta": "department", "graph": "department" },
                    { "okta": "mobilePhone", "graph": "mobilePhone" },
                    { "okta": "city", "graph": "city" },
                    { "okta": "countryCode", "graph": "usageLocation" }
                ],
                "guestRedirectUrl": "https://myapps.microsoft.com",
                "guestSendInvitation": true,
                "guestRemoval": "delete",
                "guardMaxUsers": 10,
                "guardMaxPercent": 5,
                "pollIntervalSecs": 60,
                "reconcileEveryMins": null
            })
        );
        let other: UsernameFormat = serde_json::from_str(r#"{"kind":"oktaLogin"}"#).unwrap();
        assert_eq!(other, UsernameFormat::OktaLogin);
        let removal: GuestRemoval = serde_json::from_str(r#""disableThenDelete""#).unwrap();
        assert_eq!(removal, GuestRemoval::DisableThenDelete);
    }

    #[test]
    fn saved_settings_missing_newer_fields_read_with_defaults() {
        let s: ProvisioningSettings =
            serde_json::from_str(r#"{"username":{"kind":"email"}}"#).unwrap();
        assert_eq!(s.guard_max_users, 10);
        assert_eq!(s.attributes.len(), DEFAULT_ATTRIBUTES.len());
    }

    #[test]
    fn normalizing_trims_and_fixes_case() {
        let mut s = valid();
        s.username = UsernameFormat::EmailLocalPart {
            domain: " @Contoso.Example ".into(),
        };
        s.attributes = vec![AttributeMapping {
            okta: " costCenter ".into(),
            graph: "COMPANYNAME".into(),
        }];
        let n = s.normalized().unwrap();
        assert_eq!(
            n.username,
            UsernameFormat::EmailLocalPart {
                domain: "contoso.example".into()
            }
        );
        assert_eq!(n.attributes[0].okta, "costCenter");
        assert_eq!(n.attributes[0].graph, "companyName", "Graph's spelling");
    }

    #[test]
    fn every_problem_is_named_with_its_fix() {
        let mut s = valid();
        s.attributes.push(AttributeMapping {
            okta: "manager".into(),
            graph: "managerName".into(),
        });
        s.attributes.push(AttributeMapping {
            okta: "title2".into(),
            graph: "jobTitle".into(),
        });
        s.guest_redirect_url = "myapps".into();
        s.guard_max_percent = 101;
        s.poll_interval_secs = 5;
        s.reconcile_every_mins = Some(1);
        let e = s.normalized().unwrap_err().to_string();
        for part in [
            "Unknown Graph property \"managerName\"",
            "usageLocation",
            "jobTitle is mapped from more than one",
            "\"myapps\" is not a web address",
            "between 0 and 100",
            "(5 s) must be between 10 and 3600",
            "(1 min) must be between 5",
        ] {
            assert!(e.contains(part), "the message names {part:?}: {e}");
        }
        let mut s = valid();
        s.username = UsernameFormat::EmailLocalPart { domain: " ".into() };
        assert!(
            s.normalized()
                .unwrap_err()
                .to_string()
                .contains("needs a domain")
        );
        let mut s = valid();
        s.poll_interval_secs = 3600;
        s.reconcile_every_mins = Some(10080);
        s.guard_max_users = 0;
        assert!(s.normalized().is_ok(), "the bounds are allowed");
    }

    #[test]
    fn graph_values_read_as_text_and_compare_like_entra() {
        let user: okta365_graph::User = serde_json::from_value(serde_json::json!({
            "id": "e1", "mail": "A@x.example", "jobTitle": " ", "employeeId": 1042
        }))
        .unwrap();
        assert_eq!(graph_text(&user, "mail").as_deref(), Some("A@x.example"));
        assert_eq!(graph_text(&user, "jobTitle"), None, "blank is no value");
        assert_eq!(graph_text(&user, "employeeId").as_deref(), Some("1042"));
        assert_eq!(graph_text(&user, "city"), None);
        assert!(same_value("mail", Some("A@x.example"), Some("a@x.example")));
        assert!(same_value("usageLocation", Some("us"), Some("US")));
        assert!(!same_value("jobTitle", Some("CEO"), Some("ceo")));
        assert!(!same_value("city", None, Some("Paris")));
        assert!(same_value("city", None, None));
    }

    #[test]
    fn a_domain_not_verified_is_named_with_the_verified_ones() {
        let domains = TenantDomains {
            verified: vec!["contoso.example".into(), "contoso.onmicrosoft.com".into()],
            default: Some("contoso.example".into()),
            federated: vec![],
        };
        let e = check_domain(
            &UsernameFormat::EmailLocalPart {
                domain: "corp.example".into(),
            },
            &domains,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("corp.example is not a verified domain")
                && e.contains("contoso.example, contoso.onmicrosoft.com"),
            "{e}"
        );
        assert!(check_domain(&UsernameFormat::Email, &domains).is_ok());
        assert!(
            check_domain(
                &UsernameFormat::EmailLocalPart {
                    domain: "CONTOSO.example".into()
                },
                &domains
            )
            .is_ok()
        );
    }
}
