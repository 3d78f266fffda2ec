//! The seed a sandbox tenant starts from (and returns to on reset).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::state::{MicrosoftState, OktaGroup, OktaUser};

/// The demo org shipped in the repository (`crates/sandbox/seed/demo.json`).
const DEMO: &str = include_str!("../seed/demo.json");

/// The initial data of a sandbox tenant: an Okta org (users, groups, memberships) and a Microsoft tenant
/// (organization, users, subscribed SKUs, app registrations). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Seed(Arc<SeedData>);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SeedData {
    pub okta: SeedOkta,
    pub microsoft: MicrosoftState,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SeedOkta {
    pub org_name: String,
    pub users: Vec<OktaUser>,
    pub groups: Vec<OktaGroup>,
    /// Login of the super admin who owns the org's API tokens (`GET /api/v1/users/me` with SSWS).
    #[serde(default)]
    pub super_admin: Option<String>,
    /// Custom identity sources (Anything-as-a-Source app instances, `0oa…`).
    #[serde(default)]
    pub identity_sources: Vec<crate::okta::IdentitySource>,
}

impl Seed {
    /// The demo org: 114 Okta users in a CEO → directors → managers hierarchy, a few groups (including
    /// "Office 365 Assignments" and "O365Guest"), and the Microsoft tenant `contoso-sandbox.onmicrosoft.com`
    /// with some users, three SKUs and the demo app registration.
    pub fn demo() -> Seed {
        Seed::parse(DEMO)
            .map(|d| Seed(Arc::new(d)))
            .expect("the embedded demo seed is valid (checked by a unit test)")
    }

    /// Reads a seed from a JSON file laid out like `crates/sandbox/seed/demo.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Seed> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::SeedRead {
            path: path.to_owned(),
            source,
        })?;
        Seed::parse(&text)
            .map(|d| Seed(Arc::new(d)))
            .map_err(|message| Error::SeedInvalid {
                path: path.to_owned(),
                message,
            })
    }

    fn parse(text: &str) -> std::result::Result<SeedData, String> {
        let data: SeedData = serde_json::from_str(text).map_err(|e| e.to_string())?;
        data.check()?;
        Ok(data)
    }

    pub(crate) fn data(&self) -> &SeedData {
        &self.0
    }
}

impl SeedData {
    /// Checks what serde cannot: unique ids, references that resolve, the vendors' id shapes.
    fn check(&self) -> std::result::Result<(), String> {
        let mut ids = HashSet::new();
        for u in &self.okta.users {
            if !(u.id.starts_with("00u") && u.id.len() == 20) {
                return Err(format!(
                    "Okta user id {:?} should look like Okta's: \"00u\" and 17 more characters",
                    u.id
                ));
            }
            if !ids.insert(u.id.as_str()) {
                return Err(format!("Okta user id {} appears twice", u.id));
            }
            if !u.profile.get("login").is_some_and(|v| v.is_string()) {
                return Err(format!("Okta user {} has no profile.login", u.id));
            }
        }
        for u in &self.okta.users {
            if let Some(m) = u.profile.get("managerId").and_then(|v| v.as_str())
                && !ids.contains(m)
            {
                return Err(format!(
                    "Okta user {} has managerId {m}, which is not a user in the seed",
                    u.id
                ));
            }
        }
        if let Some(admin) = &self.okta.super_admin
            && !self
                .okta
                .users
                .iter()
                .any(|u| u.profile.get("login").and_then(|v| v.as_str()) == Some(admin.as_str()))
        {
            return Err(format!(
                "okta.superAdmin {admin:?} is not the login of a user in the seed"
            ));
        }
        if let Some(s) = self
            .okta
            .identity_sources
            .iter()
            .find(|s| !(s.id.starts_with("0oa") && s.id.len() == 20))
        {
            return Err(format!(
                "identity source id {:?} should look like Okta's: \"0oa\" and 17 more characters",
                s.id
            ));
        }
        let mut names = HashSet::new();
        for g in &self.okta.groups {
            if !(g.id.starts_with("00g") && g.id.len() == 20) {
                return Err(format!(
                    "Okta group id {:?} should look like Okta's: \"00g\" and 17 more characters",
                    g.id
                ));
            }
            if !["OKTA_GROUP", "APP_GROUP", "BUILT_IN"].contains(&g.kind.as_str()) {
                return Err(format!(
                    "group {} has type {:?}; use OKTA_GROUP, APP_GROUP or BUILT_IN",
                    g.id, g.kind
                ));
            }
            if !names.insert(g.profile.name.to_lowercase()) {
                return Err(format!("two groups are named {:?}", g.profile.name));
            }
            if let Some(m) = g.members.iter().find(|m| !ids.contains(m.as_str())) {
                return Err(format!(
                    "group {:?} lists member {m}, which is not a user in the seed",
                    g.profile.name
                ));
            }
        }
        let ms = &self.microsoft;
        if uuid::Uuid::parse_str(&ms.tenant.id).is_err() {
            return Err(format!(
                "microsoft.tenant.id {:?} is not a GUID",
                ms.tenant.id
            ));
        }
        if !ms.tenant.verified_domains.iter().any(|d| d.is_initial) {
            return Err(
                "microsoft.tenant.verifiedDomains needs one domain with isInitial: true".into(),
            );
        }
        let mut graph_ids = HashSet::new();
        for u in &ms.users {
            if uuid::Uuid::parse_str(&u.id).is_err() || !graph_ids.insert(u.id.as_str()) {
                return Err(format!("Microsoft user id {:?} is not a unique GUID", u.id));
            }
        }
        for g in &ms.entra_groups {
            if uuid::Uuid::parse_str(&g.id).is_err() {
                return Err(format!("Entra group id {:?} is not a GUID", g.id));
            }
            if let Some(m) = g.members.iter().find(|m| !graph_ids.contains(m.as_str())) {
                return Err(format!(
                    "Entra group {:?} lists member {m}, which is not a Microsoft user in the seed",
                    g.display_name
                ));
            }
            if let Some(l) = g.assigned_licenses.iter().find(|l| {
                !ms.subscribed_skus
                    .iter()
                    .any(|s| s.sku_id.eq_ignore_ascii_case(&l.sku_id))
            }) {
                return Err(format!(
                    "Entra group {:?} licenses SKU {}, which is not a subscribed SKU of the seed",
                    g.display_name, l.sku_id
                ));
            }
        }
        for app in &ms.apps {
            if uuid::Uuid::parse_str(&app.app_id).is_err() {
                return Err(format!(
                    "app {:?} has appId {:?}, which is not a GUID",
                    app.display_name, app.app_id
                ));
            }
            // A seed holds no usable credential: only secrets that have already expired (the
            // AADSTS7000222 example), and only their hashes.
            let now = jiff::Timestamp::now();
            if app.secrets.iter().any(|s| {
                s.end_date_time
                    .parse::<jiff::Timestamp>()
                    .map_or(true, |end| end > now)
            }) || !app.certificates.is_empty()
            {
                return Err(format!(
                    "app {:?} has a secret that has not expired, or a certificate; a seed never holds usable credentials",
                    app.display_name
                ));
            }
        }
        if ms.apps.is_empty() {
            return Err("microsoft.apps needs the demo app registration".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_seed_is_valid_and_big_enough() {
        let seed = Seed::demo();
        let okta = &seed.data().okta;
        assert!(
            okta.users.len() >= 100,
            "the demo org needs at least 100 users, has {}",
            okta.users.len()
        );
        for name in ["Office 365 Assignments", "O365Guest"] {
            let g = okta.groups.iter().find(|g| g.profile.name == name);
            assert_eq!(
                g.map(|g| g.kind.as_str()),
                Some("OKTA_GROUP"),
                "{name} must be an OKTA_GROUP"
            );
        }
        let ceo: Vec<_> = okta
            .users
            .iter()
            .filter(|u| !u.profile.contains_key("managerId"))
            .collect();
        assert_eq!(ceo.len(), 1, "exactly one user (the CEO) has no manager");
        assert_eq!(seed.data().microsoft.subscribed_skus.len(), 3);
        let staff = seed
            .data()
            .microsoft
            .entra_groups
            .iter()
            .find(|g| g.display_name == "All Staff Licensing")
            .expect("the group-based licensing example");
        assert_eq!(staff.assigned_licenses.len(), 1);
        assert!(staff.members.len() >= 2);
    }

    #[test]
    fn a_seed_with_a_dangling_member_is_rejected_with_the_reason() {
        let mut v: serde_json::Value = serde_json::from_str(DEMO).unwrap();
        v["okta"]["groups"][1]["members"][0] = "00uDoesNotExist00000".into();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.json");
        std::fs::write(&path, v.to_string()).unwrap();
        let err = Seed::from_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("00uDoesNotExist00000") && err.contains("not a user"),
            "{err}"
        );
    }
}
