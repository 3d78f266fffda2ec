//! The Licenses step (docs/setup.md "Licenses"): the Microsoft tenant's subscribed SKUs stored per
//! profile (`GET /subscribedSkus`), which SKUs (and disabled service plans) each group role gets, the
//! default `usageLocation`, and seat warnings (a role's group has more members than its SKU has seats
//! available; member counts as last seen on the Okta org by the Groups step).

use jiff::Timestamp;
use okta365_graph::{
    ClientCertificate, ClientId, EntraCredential, GraphClient, TenantId, TokenProvider,
};
use okta365_secrets::CredentialKind as SecretKind;
use okta365_store::{
    ProfileRecord,
    setup::{LicenseAssignmentRecord, LicenseRecord},
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;
use url::Url;
use uuid::Uuid;

use super::groups::GroupRole;
use crate::{
    connect::ms_credential_kind,
    dto::MicrosoftCredentialKind,
    engine::Engine,
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

/// One service plan of a SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlan {
    /// Its id (a GUID).
    pub service_plan_id: String,
    /// Its name, e.g. `EXCHANGE_S_ENTERPRISE`.
    pub service_plan_name: String,
}

/// One subscribed SKU of the Microsoft tenant, as of the last refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// The SKU id (a GUID).
    pub sku_id: String,
    /// The part number, e.g. `ENTERPRISEPACK`.
    pub sku_part_number: String,
    /// The product name people know it by (e.g. "Office 365 E3"), for the common SKUs.
    pub product_name: Option<String>,
    /// Seats bought and active.
    pub enabled: i32,
    /// Seats assigned.
    pub consumed: i32,
    /// Seats left to assign (never below 0).
    pub available: i32,
    /// Seats suspended.
    pub suspended: i32,
    /// Seats in their grace period.
    pub warning: i32,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    pub capability_status: String,
    /// The service plans it includes.
    pub service_plans: Vec<ServicePlan>,
}

/// A SKU a group role is licensed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAssignment {
    /// The role whose group members get the SKU.
    pub role: GroupRole,
    /// The SKU id (a part number is accepted on input and stored as the id).
    pub sku_id: String,
    /// Service plans left disabled, by id (names are accepted on input and stored as ids: what
    /// Graph's `assignLicense` takes).
    pub disabled_plans: Vec<String>,
}

/// A SKU associated with a group that has more members than the SKU has seats available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SeatWarning {
    /// The SKU.
    pub sku_id: String,
    /// The role it is associated with.
    pub role: GroupRole,
    /// Members of the role's group (as last seen on the Okta org).
    pub group_members: u32,
    /// Seats available.
    pub available: i32,
    /// The warning, as a sentence.
    pub message: String,
}

/// The Licenses step: the stored licenses and what each role gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LicensesView {
    /// The profile.
    pub profile_id: String,
    /// When the licenses were last read from the tenant (RFC 3339); `null` before the first refresh.
    pub refreshed_at: Option<String>,
    /// The subscribed SKUs, by part number.
    pub licenses: Vec<License>,
    /// The SKUs of each role.
    pub assignments: Vec<LicenseAssignment>,
    /// The usage location given to users who have none (ISO 3166-1 alpha-2).
    pub usage_location: Option<String>,
    /// Seat warnings.
    pub warnings: Vec<SeatWarning>,
}

/// ISO 3166-1 alpha-2 codes with their short names (Debian iso-codes).
const COUNTRIES: &[(&str, &str)] = &[
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo, The Democratic Republic of the"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia, Federated States of"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Laos"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syria"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See (Vatican City State)"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela"),
    ("VG", "Virgin Islands, British"),
    ("VI", "Virgin Islands, U.S."),
    ("VN", "Vietnam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

/// Codes people often type that are not ISO 3166-1 alpha-2, with the one they mean.
const NOT_ISO: &[(&str, &str)] = &[("UK", "GB"), ("EL", "GR"), ("EN", "GB")];

/// The country name of an ISO 3166-1 alpha-2 code.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Checks a usage location: an ISO 3166-1 alpha-2 code (any case; returned upper-case). The message
/// says what is wrong and which code was probably meant.
pub fn validate_usage_location(code: &str) -> Result<String> {
    let trimmed = code.trim();
    let upper = trimmed.to_uppercase();
    if trimmed.is_empty() {
        return Err(Error::invalid(
            "The usage location is empty. Enter a two-letter ISO 3166-1 country code such as US, GB or \
             DE, or clear it.",
        ));
    }
    if country_name(&upper).is_some() {
        return Ok(upper);
    }
    if let Some((_, meant)) = NOT_ISO.iter().find(|(c, _)| *c == upper) {
        return Err(Error::invalid(format!(
            "\"{trimmed}\" is not an ISO 3166-1 alpha-2 country code. For {} use {meant}.",
            country_name(meant).unwrap_or(meant)
        )));
    }
    if !upper.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(Error::invalid(format!(
            "\"{trimmed}\" is not a country code: use two letters (ISO 3166-1 alpha-2) such as US, GB \
             or DE."
        )));
    }
    if upper.chars().count() != 2 {
        let hint = COUNTRIES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(trimmed))
            .map(|(c, name)| format!(" For {name} use {c}."))
            .unwrap_or_default();
        return Err(Error::invalid(format!(
            "\"{trimmed}\" has {} letters; a usage location is a two-letter ISO 3166-1 alpha-2 code such \
             as US, GB or DE.{hint}",
            upper.chars().count()
        )));
    }
    Err(Error::invalid(format!(
        "\"{trimmed}\" is not an ISO 3166-1 alpha-2 country code (no country has it). Use a code such \
         as US, GB or DE."
    )))
}

fn to_i32(n: i64) -> i32 {
    i32::try_from(n.max(0)).unwrap_or(i32::MAX)
}

fn license_dto(record: &LicenseRecord) -> License {
    License {
        sku_id: record.sku_id.clone(),
        sku_part_number: record.sku_part_number.clone(),
        product_name: record.product_name.clone(),
        enabled: to_i32(record.enabled),
        consumed: to_i32(record.consumed),
        available: to_i32(record.available),
        suspended: to_i32(record.suspended),
        warning: to_i32(record.warning),
        capability_status: record.capability_status.clone(),
        service_plans: serde_json::from_str(&record.service_plans).unwrap_or_default(),
    }
}

/// The known part numbers, for error messages.
fn known_part_numbers(licenses: &[License]) -> String {
    if licenses.is_empty() {
        return "none: the licenses table is empty; refresh it first (`okta365 licenses sync`, or \
                Refresh on the Licenses step)"
            .to_owned();
    }
    licenses
        .iter()
        .map(|l| l.sku_part_number.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Finds a stored SKU by id or part number (ignoring case).
pub(crate) fn find_license<'a>(licenses: &'a [License], sku: &str) -> Option<&'a License> {
    let sku = sku.trim();
    licenses
        .iter()
        .find(|l| l.sku_id.eq_ignore_ascii_case(sku) || l.sku_part_number.eq_ignore_ascii_case(sku))
}

impl Engine {
    /// A Graph client for the profile's stored Microsoft connection.
    pub(crate) async fn graph_client_for(&self, record: &ProfileRecord) -> Result<GraphClient> {
        let (Some(tenant), Some(client_id)) = (&record.ms_tenant, &record.ms_client_id) else {
            return Err(Error::invalid(format!(
                "Profile \"{}\" has no Microsoft connection yet. Save the tenant, client id and a client \
                 secret or certificate on the Microsoft step (or create the app with `okta365 setup \
                 microsoft-app`) first.",
                record.name
            )));
        };
        let kind = ms_credential_kind(record)?.ok_or_else(|| {
            Error::invalid(format!(
                "Profile \"{}\" has no client secret or certificate stored. Save one on the Microsoft \
                 step first.",
                record.name
            ))
        })?;
        let secret_kind = match kind {
            MicrosoftCredentialKind::Secret => SecretKind::EntraClientSecret,
            MicrosoftCredentialKind::Certificate => SecretKind::EntraClientCertificate,
        };
        let secret = self
            .inner
            .keychain
            .get(&record.id.to_string(), secret_kind)
            .await?
            .ok_or_else(|| Error::CredentialNotFound {
                profile: record.name.clone(),
                label: secret_kind.label(),
            })?;
        let invalid = |e: okta365_graph::Error| {
            Error::invalid(format!(
                "{e} Correct the Microsoft connection on the Microsoft step and save it."
            ))
        };
        let credential = match kind {
            MicrosoftCredentialKind::Secret => EntraCredential::ClientSecret(secret),
            MicrosoftCredentialKind::Certificate => EntraCredential::Certificate(
                ClientCertificate::from_pem(secret.expose()).map_err(invalid)?,
            ),
        };
        let url = |value: &str, what: &str| {
            Url::parse(value).map_err(|_| {
                Error::invalid(format!(
                    "The profile's Microsoft {what} URL \"{value}\" is not a valid URL."
                ))
            })
        };
        let login = url(&record.entra_login_url, "login")?;
        let graph = url(&record.graph_url, "Graph")?;
        let provider = TokenProvider::new(
            &login,
            TenantId::parse(tenant).map_err(invalid)?,
            ClientId::parse(client_id).map_err(invalid)?,
            credential,
            self.inner.vendor.for_url(&login),
        )
        .map_err(invalid)?;
        GraphClient::new(&graph, provider, self.inner.vendor.for_url(&graph)).map_err(invalid)
    }

    /// Reads the tenant's subscribed SKUs (`GET /subscribedSkus`, Organization.Read.All or
    /// Directory.Read.All) into the profile's licenses table, replacing the previous snapshot, and
    /// returns the Licenses view. Reports operation `sync_licenses`, steps `skus`, `store`, then `done`.
    #[instrument(skip(self, progress), err)]
    pub async fn sync_licenses(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<LicensesView> {
        let record = self.find(profile_id).await?;
        let graph = self.graph_client_for(&record).await?;
        let mut steps = Steps::new(progress, "sync_licenses", 2);
        steps.start("skus", "Reading the subscribed SKUs (GET /subscribedSkus)");
        let skus = graph.subscribed_skus().list().await.map_err(|e| {
            let explained = e.explanation();
            let message = format!(
                "Reading the Microsoft licenses (GET /subscribedSkus) failed: {}",
                explained.sentence()
            );
            match e.status() {
                Some(401 | 403) => Error::PermissionDenied {
                    message: format!(
                        "{message} okta365's app needs the Microsoft Graph application permission \
                         Organization.Read.All (or Directory.Read.All), with admin consent."
                    ),
                },
                _ => Error::Vendor { message },
            }
        })?;
        steps.start("store", format!("Storing {} licenses", skus.len()));
        let now = Timestamp::now();
        let rows: Vec<LicenseRecord> = skus
            .iter()
            .map(|s| {
                let plans: Vec<ServicePlan> = s
                    .service_plans
                    .iter()
                    .map(|p| ServicePlan {
                        service_plan_id: p.service_plan_id.clone(),
                        service_plan_name: p.service_plan_name.clone(),
                    })
                    .collect();
                LicenseRecord {
                    sku_id: s.sku_id.as_str().to_owned(),
                    sku_part_number: s.sku_part_number.clone(),
                    product_name: okta365_graph::product_name(&s.sku_part_number)
                        .map(str::to_owned),
                    enabled: s.prepaid_units.enabled,
                    consumed: s.consumed_units,
                    available: (s.prepaid_units.enabled - s.consumed_units).max(0),
                    suspended: s.prepaid_units.suspended,
                    warning: s.prepaid_units.warning,
                    capability_status: s
                        .capability_status
                        .clone()
                        .unwrap_or_else(|| "Enabled".to_owned()),
                    service_plans: serde_json::to_string(&plans).expect("plans serialize"),
                    refreshed_at: now,
                }
            })
            .collect();
        let id = record.id;
        let count = rows.len();
        self.db(move |store| store.replace_licenses(id, &rows, now))
            .await?;
        tracing::info!(profile_id = %id, skus = count, "stored the Microsoft licenses");
        steps.finish(format!("Stored {count} licenses"));
        self.licenses_view(id).await
    }

    /// The Licenses view from the store (no network).
    #[instrument(skip(self), err)]
    pub async fn list_licenses(&self, profile_id: &str) -> Result<LicensesView> {
        let id = self.find(profile_id).await?.id;
        self.licenses_view(id).await
    }

    /// Replaces the SKUs each role gets. Each `skuId` must be a stored SKU (its id or part number);
    /// each disabled plan one of its service plans (id or name). Returns the Licenses view.
    #[instrument(skip(self), err)]
    pub async fn set_license_assignments(
        &self,
        profile_id: &str,
        assignments: Vec<LicenseAssignment>,
    ) -> Result<LicensesView> {
        let id = self.find(profile_id).await?.id;
        let licenses: Vec<License> = self
            .db(move |store| store.licenses(id))
            .await?
            .iter()
            .map(license_dto)
            .collect();
        let mut records: Vec<LicenseAssignmentRecord> = Vec::new();
        for a in &assignments {
            let license = find_license(&licenses, &a.sku_id).ok_or_else(|| {
                Error::invalid(format!(
                    "No stored license is \"{}\". Known SKUs: {}.",
                    a.sku_id.trim(),
                    known_part_numbers(&licenses)
                ))
            })?;
            let mut disabled = Vec::new();
            for plan in &a.disabled_plans {
                let found = license.service_plans.iter().find(|p| {
                    p.service_plan_id.eq_ignore_ascii_case(plan.trim())
                        || p.service_plan_name.eq_ignore_ascii_case(plan.trim())
                });
                let Some(found) = found else {
                    return Err(Error::invalid(format!(
                        "{} has no service plan \"{}\". Its plans: {}.",
                        license.sku_part_number,
                        plan.trim(),
                        license
                            .service_plans
                            .iter()
                            .map(|p| p.service_plan_name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                if !disabled.contains(&found.service_plan_id) {
                    disabled.push(found.service_plan_id.clone());
                }
            }
            let role = a.role.as_str().to_owned();
            match records
                .iter_mut()
                .find(|r| r.role == role && r.sku_id == license.sku_id)
            {
                Some(existing) => existing.disabled_plans = disabled,
                None => records.push(LicenseAssignmentRecord {
                    role,
                    sku_id: license.sku_id.clone(),
                    disabled_plans: disabled,
                }),
            }
        }
        self.db(move |store| store.set_license_assignments(id, &records))
            .await?;
        tracing::info!(profile_id = %id, assignments = assignments.len(), "set the license assignments");
        self.licenses_view(id).await
    }

    /// Sets (or, with `None`, clears) the usage location given to users who have none: an ISO 3166-1
    /// alpha-2 code, stored upper-case. Returns the Licenses view.
    #[instrument(skip(self), err)]
    pub async fn set_usage_location(
        &self,
        profile_id: &str,
        code: Option<String>,
    ) -> Result<LicensesView> {
        let id = self.find(profile_id).await?.id;
        let code = code
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(validate_usage_location)
            .transpose()?;
        let stored = code.clone();
        self.db(move |store| store.set_usage_location(id, stored.as_deref()))
            .await?;
        tracing::info!(profile_id = %id, usage_location = ?code, "set the usage location");
        self.licenses_view(id).await
    }

    pub(crate) async fn licenses_view(&self, id: Uuid) -> Result<LicensesView> {
        let (licenses, refreshed_at, assignments, usage_location, groups) = self
            .db(move |store| {
                Ok((
                    store.licenses(id)?,
                    store.licenses_refreshed_at(id)?,
                    store.license_assignments(id)?,
                    store.usage_location(id)?,
                    store.group_settings(id)?,
                ))
            })
            .await?;
        let licenses: Vec<License> = licenses.iter().map(license_dto).collect();
        let assignments: Vec<LicenseAssignment> = assignments
            .into_iter()
            .filter_map(|a| {
                Some(LicenseAssignment {
                    role: GroupRole::parse(&a.role)?,
                    sku_id: a.sku_id,
                    disabled_plans: a.disabled_plans,
                })
            })
            .collect();
        let settings = self.group_settings(id).await?;
        let mut warnings = Vec::new();
        for a in &assignments {
            let Some(license) = licenses.iter().find(|l| l.sku_id == a.sku_id) else {
                continue;
            };
            let name = settings
                .iter()
                .find(|s| s.role == a.role)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let Some(members) = groups
                .iter()
                .find(|g| g.role == a.role.as_str() && g.name == name)
                .and_then(|g| g.member_count)
            else {
                continue;
            };
            let members = u32::try_from(members).unwrap_or(u32::MAX);
            if i64::from(members) > i64::from(license.available) {
                warnings.push(SeatWarning {
                    sku_id: license.sku_id.clone(),
                    role: a.role,
                    group_members: members,
                    available: license.available,
                    message: format!(
                        "{name} has {members} members but {} has only {} seats available.",
                        license.sku_part_number, license.available
                    ),
                });
            }
        }
        Ok(LicensesView {
            profile_id: id.to_string(),
            refreshed_at: refreshed_at.map(|t| t.to_string()),
            licenses,
            assignments,
            usage_location,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_locations_are_iso_codes_with_a_message_saying_what_is_wrong() {
        assert_eq!(validate_usage_location(" de ").unwrap(), "DE");
        assert_eq!(validate_usage_location("GB").unwrap(), "GB");
        assert_eq!(COUNTRIES.len(), 249, "every ISO 3166-1 alpha-2 code");
        let msg = |c: &str| validate_usage_location(c).unwrap_err().to_string();
        assert_eq!(
            msg("UK"),
            "\"UK\" is not an ISO 3166-1 alpha-2 country code. For United Kingdom use GB."
        );
        assert!(msg("USA").contains("has 3 letters"), "{}", msg("USA"));
        assert!(
            msg("Germany").contains("For Germany use DE."),
            "{}",
            msg("Germany")
        );
        assert!(msg("QQ").contains("no country has it"), "{}", msg("QQ"));
        assert!(msg("4").contains("use two letters"), "{}", msg("4"));
        assert!(msg("").contains("is empty"));
    }

    #[test]
    fn licenses_are_found_by_id_or_part_number() {
        let l = License {
            sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900".into(),
            sku_part_number: "ENTERPRISEPACK".into(),
            product_name: Some("Office 365 E3".into()),
            enabled: 1,
            consumed: 0,
            available: 1,
            suspended: 0,
            warning: 0,
            capability_status: "Enabled".into(),
            service_plans: vec![],
        };
        let all = vec![l];
        assert!(find_license(&all, "enterprisepack").is_some());
        assert!(find_license(&all, "6FD2C87F-B296-42F0-B197-1E91E994B900").is_some());
        assert!(find_license(&all, "SPE_E3").is_none());
        assert_eq!(known_part_numbers(&all), "ENTERPRISEPACK");
    }
}
