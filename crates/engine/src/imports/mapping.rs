//! How a source record becomes an identity-source user (docs/imports.md "Mapping"): transforms of
//! columns, the attribute rules, the active rule, applying a mapping to a record, checking a mapping
//! against the attributes and the source's columns, and suggesting a mapping from column names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::source::Record;
use super::validate::Reject;
use crate::error::{Error, Result};

/// How a value is computed from a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Transform {
    /// A column's value, trimmed.
    Column {
        /// The column name, as in the source.
        column: String,
    },
    /// The non-empty parts joined with `separator`, e.g. street_number + " " + street_name.
    Concat {
        /// The parts.
        parts: Vec<Transform>,
        /// Put between two non-empty parts.
        separator: String,
    },
    /// The value in lower case.
    Lower {
        /// The value.
        of: Box<Transform>,
    },
    /// The part before `@` (the whole value when it has none).
    BeforeAt {
        /// The value.
        of: Box<Transform>,
    },
    /// A fixed value.
    Constant {
        /// The value.
        value: String,
    },
}

impl Transform {
    /// A column.
    pub fn column(name: impl Into<String>) -> Transform {
        Transform::Column {
            column: name.into(),
        }
    }

    /// The value for `record` (missing columns read as empty).
    pub fn eval(&self, record: &Record) -> String {
        match self {
            Transform::Column { column } => record.get(column).unwrap_or("").trim().to_owned(),
            Transform::Concat { parts, separator } => parts
                .iter()
                .map(|p| p.eval(record))
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
                .join(separator),
            Transform::Lower { of } => of.eval(record).to_lowercase(),
            Transform::BeforeAt { of } => {
                let v = of.eval(record);
                match v.split_once('@') {
                    Some((before, _)) => before.to_owned(),
                    None => v,
                }
            }
            Transform::Constant { value } => value.clone(),
        }
    }

    /// Every column the transform reads, in order.
    pub fn columns(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_columns(&mut out);
        out
    }

    fn collect_columns<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Transform::Column { column } => out.push(column),
            Transform::Concat { parts, .. } => parts.iter().for_each(|p| p.collect_columns(out)),
            Transform::Lower { of } | Transform::BeforeAt { of } => of.collect_columns(out),
            Transform::Constant { .. } => {}
        }
    }
}

/// One identity-source attribute and how its value is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttributeRule {
    /// A Custom Identity Source attribute, one of [`ATTRIBUTES`].
    pub attribute: String,
    /// Its value.
    pub value: Transform,
}

/// Which column says whether a user is active, and its values (compared trimmed, ignoring case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActiveRule {
    /// The column.
    pub column: String,
    /// Values meaning active (empty: [`DEFAULT_ACTIVE`]).
    pub active: Vec<String>,
    /// Values meaning inactive (empty: [`DEFAULT_INACTIVE`]).
    pub inactive: Vec<String>,
}

impl ActiveRule {
    /// A rule on `column` with the default values.
    pub fn with_defaults(column: impl Into<String>) -> ActiveRule {
        ActiveRule {
            column: column.into(),
            active: DEFAULT_ACTIVE.iter().map(|s| (*s).to_owned()).collect(),
            inactive: DEFAULT_INACTIVE.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// A source's mapping to identity-source users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportMapping {
    /// The user's id in the source.
    pub external_id: Transform,
    /// The profile attributes.
    pub attributes: Vec<AttributeRule>,
    /// The active flag; `null`: every user is active.
    pub active: Option<ActiveRule>,
}

/// One record of a mapping preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct MappedPreviewRow {
    /// The record's position (line or index).
    #[ts(type = "number")]
    pub position: u64,
    /// The externalId, unless rejected before it was known.
    pub external_id: Option<String>,
    /// Active or not; `null` when rejected.
    pub active: Option<bool>,
    /// The mapped attributes (empty when rejected).
    pub profile: BTreeMap<String, String>,
    /// Why the record would be rejected.
    pub reject: Option<String>,
}

/// A record after the mapping: what one spool line holds (`{"externalId","active","profile"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mapped {
    /// The user's id in the source.
    pub external_id: String,
    /// False: the user is deactivated (bulk delete).
    pub active: bool,
    /// The attributes, empty values left out.
    pub profile: BTreeMap<String, String>,
}

/// The attributes a mapping may set: the base ones, then the custom ones of a Custom Identity Source.
pub const ATTRIBUTES: [&str; 14] = [
    "userName",
    "firstName",
    "lastName",
    "email",
    "secondEmail",
    "mobilePhone",
    "title",
    "displayName",
    "primaryPhone",
    "streetAddress",
    "city",
    "state",
    "zipCode",
    "countryCode",
];

/// Values meaning active, by default.
pub const DEFAULT_ACTIVE: [&str; 6] = ["true", "1", "yes", "y", "active", "enabled"];

/// Values meaning inactive, by default.
pub const DEFAULT_INACTIVE: [&str; 7] = [
    "false",
    "0",
    "no",
    "n",
    "inactive",
    "disabled",
    "terminated",
];

fn matches(list: &[String], defaults: &[&str], value: &str) -> bool {
    if list.is_empty() {
        defaults.iter().any(|d| d.eq_ignore_ascii_case(value))
    } else {
        list.iter().any(|d| d.trim().to_lowercase() == value)
    }
}

/// Applies `mapping` to `record`: the externalId, the active flag and the non-empty attributes. A
/// value of the active column in neither list is a reject naming it; the other rules are checked by
/// [`validate`](super::validate).
pub fn apply(mapping: &ImportMapping, record: &Record) -> std::result::Result<Mapped, Reject> {
    let external_id = mapping.external_id.eval(record);
    let active = match &mapping.active {
        None => true,
        Some(rule) => {
            let raw = record.get(&rule.column).unwrap_or("").trim();
            let value = raw.to_lowercase();
            if matches(&rule.active, &DEFAULT_ACTIVE, &value) {
                true
            } else if matches(&rule.inactive, &DEFAULT_INACTIVE, &value) {
                false
            } else {
                let list = |l: &[String], d: &[&str]| {
                    if l.is_empty() {
                        d.join(", ")
                    } else {
                        l.join(", ")
                    }
                };
                return Err(Reject::new(
                    record.position,
                    (!external_id.is_empty()).then(|| external_id.clone()),
                    format!(
                        "{} \"{raw}\" is neither an active value ({}) nor an inactive one ({})",
                        rule.column,
                        list(&rule.active, &DEFAULT_ACTIVE),
                        list(&rule.inactive, &DEFAULT_INACTIVE)
                    ),
                ));
            }
        }
    };
    let mut profile = BTreeMap::new();
    for rule in &mapping.attributes {
        let v = rule.value.eval(record);
        if !v.is_empty() {
            profile.insert(rule.attribute.clone(), v);
        }
    }
    Ok(Mapped {
        external_id,
        active,
        profile,
    })
}

/// The preview row of one record: mapped and validated alone (no duplicate check).
pub fn preview_row(mapping: &ImportMapping, record: &Record) -> MappedPreviewRow {
    match apply(mapping, record)
        .and_then(|m| super::validate::check_record(record.position, &m).map(|()| m))
    {
        Ok(m) => MappedPreviewRow {
            position: record.position,
            external_id: Some(m.external_id),
            active: Some(m.active),
            profile: m.profile,
            reject: None,
        },
        Err(r) => MappedPreviewRow {
            position: record.position,
            external_id: r.external_id,
            active: None,
            profile: BTreeMap::new(),
            reject: Some(r.reason),
        },
    }
}

/// Checks a mapping: known attributes, each at most once, `userName` and `email` mapped, and — when
/// `columns` is given — every column it reads exists in the source. Refusals list the valid values.
pub fn check(mapping: &ImportMapping, columns: Option<&[String]>) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for rule in &mapping.attributes {
        if !ATTRIBUTES.contains(&rule.attribute.as_str()) {
            return Err(Error::invalid(format!(
                "\"{}\" is not an attribute of the identity source; use one of: {}.",
                rule.attribute,
                ATTRIBUTES.join(", ")
            )));
        }
        if seen.contains(&rule.attribute.as_str()) {
            return Err(Error::invalid(format!(
                "The attribute \"{}\" is mapped twice; keep one rule for it.",
                rule.attribute
            )));
        }
        seen.push(&rule.attribute);
    }
    for required in ["userName", "email"] {
        if !seen.contains(&required) {
            return Err(Error::invalid(format!(
                "The mapping has no {required}; Okta needs it for every user. Map a column to {required}."
            )));
        }
    }
    if mapping.external_id.columns().is_empty()
        && !matches!(&mapping.external_id, Transform::Column { .. })
    {
        return Err(Error::invalid(
            "The externalId must come from a column (a fixed value would give every user the same id).",
        ));
    }
    if let Some(rule) = &mapping.active {
        let norm =
            |l: &[String]| -> Vec<String> { l.iter().map(|v| v.trim().to_lowercase()).collect() };
        let (a, i) = (norm(&rule.active), norm(&rule.inactive));
        if let Some(both) = a.iter().find(|v| i.contains(v)) {
            return Err(Error::invalid(format!(
                "\"{both}\" is in both the active and the inactive values of {}; keep it in one list.",
                rule.column
            )));
        }
    }
    if let Some(columns) = columns {
        let mut used: Vec<(&str, &str)> = mapping
            .external_id
            .columns()
            .into_iter()
            .map(|c| ("externalId", c))
            .collect();
        for rule in &mapping.attributes {
            used.extend(
                rule.value
                    .columns()
                    .into_iter()
                    .map(|c| (rule.attribute.as_str(), c)),
            );
        }
        if let Some(rule) = &mapping.active {
            used.push(("the active flag", rule.column.as_str()));
        }
        for (what, column) in used {
            if !columns.iter().any(|c| c == column) {
                return Err(Error::invalid(format!(
                    "The mapping reads the column \"{column}\" for {what}, but the source has no such column. \
                     Its columns are: {}.",
                    columns.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// A column name normalised for matching: lower case, without `_`, `-` and spaces.
pub fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Suggests a mapping from the source's column names (docs/imports.md "Mapping": `id` → externalId,
/// `first_name` → firstName, `email` → email and userName, `street_number` + `street_name` →
/// streetAddress, `active` → the active rule, …). Attributes come in the order of [`ATTRIBUTES`]; the
/// externalId falls back to the first column when none matches.
pub fn suggest(columns: &[String]) -> ImportMapping {
    let find = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|n| {
            let n = normalize(n);
            columns.iter().find(|c| normalize(c) == n).cloned()
        })
    };
    let external_id = find(&["id", "employee_id", "emp_id", "externalid", "uid"])
        .or_else(|| columns.first().cloned())
        .map(Transform::column)
        .unwrap_or_else(|| Transform::column("id"));
    let email = find(&["email", "mail", "work_email"]);
    let street = match (find(&["street_number"]), find(&["street_name"])) {
        (Some(n), Some(s)) => Some(Transform::Concat {
            parts: vec![Transform::column(n), Transform::column(s)],
            separator: " ".into(),
        }),
        _ => find(&["street", "address"]).map(Transform::column),
    };
    let col = |names: &[&str]| find(names).map(Transform::column);
    let candidates: [(&str, Option<Transform>); 14] = [
        (
            "userName",
            col(&["username", "login"]).or_else(|| email.clone().map(Transform::column)),
        ),
        ("firstName", col(&["first_name", "firstname", "given_name"])),
        ("lastName", col(&["last_name", "surname", "family_name"])),
        ("email", email.map(Transform::column)),
        ("secondEmail", None),
        ("mobilePhone", col(&["cell", "mobile", "mobile_phone"])),
        ("title", col(&["title", "job_title"])),
        ("displayName", col(&["display_name", "name"])),
        ("primaryPhone", col(&["phone", "work_phone"])),
        ("streetAddress", street),
        ("city", col(&["city"])),
        ("state", col(&["state", "region"])),
        (
            "zipCode",
            col(&["postcode", "zip", "zip_code", "postal_code"]),
        ),
        ("countryCode", col(&["country", "country_code"])),
    ];
    ImportMapping {
        external_id,
        attributes: candidates
            .into_iter()
            .filter_map(|(attribute, value)| {
                value.map(|value| AttributeRule {
                    attribute: attribute.to_owned(),
                    value,
                })
            })
            .collect(),
        active: find(&["active", "status", "enabled"]).map(ActiveRule::with_defaults),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(fields: &[(&str, &str)]) -> Record {
        Record {
            position: 2,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn transforms() {
        let r = rec(&[("n", "12"), ("s", " Main St "), ("e", "Ann.Lee@X.io")]);
        let concat = Transform::Concat {
            parts: vec![Transform::column("n"), Transform::column("s")],
            separator: " ".into(),
        };
        assert_eq!(concat.eval(&r), "12 Main St");
        let lower_local = Transform::Lower {
            of: Box::new(Transform::BeforeAt {
                of: Box::new(Transform::column("e")),
            }),
        };
        assert_eq!(lower_local.eval(&r), "ann.lee");
        assert_eq!(Transform::column("missing").eval(&r), "");
        let half = Transform::Concat {
            parts: vec![Transform::column("missing"), Transform::column("s")],
            separator: " ".into(),
        };
        assert_eq!(half.eval(&r), "Main St");
    }

    #[test]
    fn normalizes_names() {
        assert_eq!(normalize("First-Name"), "firstname");
        assert_eq!(normalize("zip code"), "zipcode");
    }
}
