//! Licenses of users (docs/licensing.md): a user's license states (direct or inherited from a group),
//! the license details with each service plan's status, and the write requests of the licensing
//! lifecycle (assign and remove licenses, revoke sign-in sessions, enable or disable the account, set
//! the usage location), sent through [`GraphClient::write`] or [`GraphClient::batch`].
//!
//! [`GraphClient::write`]: crate::GraphClient::write
//! [`GraphClient::batch`]: crate::GraphClient::batch

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::batch::GraphWrite;
use crate::client::{UsersHandler, encode_segment};
use crate::error::Result;
use crate::skus::ServicePlanInfo;
use crate::users::odata_literal;

/// The user properties the licensing operations read (`$select`).
pub const LICENSED_SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,usageLocation,assignedLicenses,licenseAssignmentStates";

/// The most ids Graph takes in one `id in (…)` filter.
const IN_CHUNK: usize = 15;

/// A `null` list reads as empty (Graph writes `disabledPlans: null` in places).
fn null_as_empty<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// A license as `assignLicense` takes it and `assignedLicenses` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// The SKU's id (a GUID).
    pub sku_id: String,
    /// The service plan ids turned off in this SKU.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub disabled_plans: Vec<String>,
}

/// One entry of a user's `licenseAssignmentStates`: a SKU held directly (`assigned_by_group` is
/// `None`) or through an Entra group (group-based licensing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseState {
    /// The SKU's id.
    pub sku_id: String,
    /// The service plan ids turned off.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub disabled_plans: Vec<String>,
    /// The id of the Entra group the license comes from; `None` for a direct license.
    #[serde(default)]
    pub assigned_by_group: Option<String>,
    /// `Active`, `ActiveWithSolutions`, `Error`, …
    #[serde(default)]
    pub state: Option<String>,
    /// `None` (the text), `CountViolation`, `MutuallyExclusiveViolation`, …
    #[serde(default)]
    pub error: Option<String>,
}

impl LicenseState {
    /// True for a license assigned to the user directly (not inherited from a group).
    pub fn is_direct(&self) -> bool {
        self.assigned_by_group.is_none()
    }
}

/// A user with what the licensing operations need (the [`LICENSED_SELECT`] properties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicensedUser {
    /// The object id.
    pub id: String,
    /// The user principal name.
    #[serde(default)]
    pub user_principal_name: String,
    /// Whether sign-in is allowed.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// The two-letter country code licenses need, e.g. `GB`.
    #[serde(default)]
    pub usage_location: Option<String>,
    /// The primary SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Each license with where it comes from (direct or a group).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub license_assignment_states: Vec<LicenseState>,
    /// Every license the user holds, direct and inherited together.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub assigned_licenses: Vec<AssignedLicense>,
}

impl LicensedUser {
    /// The licenses assigned to the user directly: the only ones okta365 adds or removes.
    pub fn direct_licenses(&self) -> impl Iterator<Item = &LicenseState> {
        self.license_assignment_states
            .iter()
            .filter(|s| s.is_direct())
    }

    /// The direct license of this SKU, if the user has one.
    pub fn direct_license(&self, sku_id: &str) -> Option<&LicenseState> {
        self.direct_licenses()
            .find(|s| s.sku_id.eq_ignore_ascii_case(sku_id))
    }

    /// The licenses inherited from Entra groups (left alone by okta365).
    pub fn inherited_licenses(&self) -> impl Iterator<Item = &LicenseState> {
        self.license_assignment_states
            .iter()
            .filter(|s| !s.is_direct())
    }
}

/// One license of a user with each service plan's status (`GET /users/{id}/licenseDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseDetail {
    /// The SKU's id.
    pub sku_id: String,
    /// e.g. `ENTERPRISEPACK`.
    #[serde(default)]
    pub sku_part_number: String,
    /// The SKU's service plans; a disabled plan has `provisioning_status` `Disabled`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub service_plans: Vec<ServicePlanInfo>,
}

/// `id in ('a', 'b', …)` for one chunk of ids.
pub(crate) fn id_in_filter(ids: &[String]) -> String {
    let list: Vec<String> = ids.iter().map(|id| odata_literal(id)).collect();
    format!("id in ({})", list.join(", "))
}

impl UsersHandler<'_> {
    /// One user's license states, account status and usage location (`GET /users/{id}?$select=…`).
    /// A missing user is [`crate::Error::Graph`] 404 `Request_ResourceNotFound`. Needs User.Read.All.
    pub async fn licensed(&self, id: &str) -> Result<LicensedUser> {
        let url = self.client.url(
            &format!("users/{}", encode_segment(id)),
            &[("$select", LICENSED_SELECT.to_owned())],
        )?;
        self.client.get_json(&url).await
    }

    /// The license states of these users by object id (`$filter=id in (…)`, 15 ids per request, every
    /// page). Ids Graph does not know are left out of the answer; no id, no request.
    pub async fn licensed_in(&self, ids: &[String]) -> Result<Vec<LicensedUser>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let url = self.client.url(
                "users",
                &[
                    ("$filter", id_in_filter(chunk)),
                    ("$select", LICENSED_SELECT.to_owned()),
                ],
            )?;
            out.extend(self.client.page::<LicensedUser>(&url).await?.all().await?);
        }
        Ok(out)
    }

    /// A user's licenses, direct and inherited, with each service plan's status
    /// (`GET /users/{id}/licenseDetails`, every page).
    pub async fn license_details(&self, id: &str) -> Result<Vec<LicenseDetail>> {
        let url = self
            .client
            .url(&format!("users/{}/licenseDetails", encode_segment(id)), &[])?;
        self.client.page::<LicenseDetail>(&url).await?.all().await
    }
}

/// `POST /users/{id}/assignLicense` adding `add` (a SKU the user already has directly gets the new
/// disabled plans) and removing the SKU ids in `remove`; both arrays are always sent, empty or not.
pub fn assign_license(user_id: &str, add: &[AssignedLicense], remove: &[String]) -> GraphWrite {
    let add: Vec<_> = add
        .iter()
        .map(|l| json!({ "skuId": l.sku_id, "disabledPlans": l.disabled_plans }))
        .collect();
    GraphWrite::post(
        format!("users/{}/assignLicense", encode_segment(user_id)),
        json!({ "addLicenses": add, "removeLicenses": remove }),
    )
}

/// `POST /users/{id}/revokeSignInSessions` (no body): refresh tokens and session cookies issued
/// before now stop working.
pub fn revoke_sessions(user_id: &str) -> GraphWrite {
    GraphWrite {
        method: reqwest::Method::POST,
        path: format!("users/{}/revokeSignInSessions", encode_segment(user_id)),
        body: None,
    }
}

/// `PATCH /users/{id}` `{"accountEnabled": enabled}`: allows or blocks sign-in.
pub fn set_account_enabled(user_id: &str, enabled: bool) -> GraphWrite {
    GraphWrite::patch(
        format!("users/{}", encode_segment(user_id)),
        json!({ "accountEnabled": enabled }),
    )
}

/// `PATCH /users/{id}` `{"usageLocation": code}` (a two-letter country code such as `GB`, which
/// licenses need).
pub fn set_usage_location(user_id: &str, code: &str) -> GraphWrite {
    GraphWrite::patch(
        format!("users/{}", encode_segment(user_id)),
        json!({ "usageLocation": code }),
    )
}

/// An Entra group as `GET /groups/{id}?$select=id,displayName` returns it: what names the group a
/// user inherits a license from (group-based licensing).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupName {
    /// The group's object id.
    pub id: String,
    /// Its display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl crate::GraphClient {
    /// A group's id and display name (`GET /groups/{id}?$select=id,displayName`). Needs
    /// Group.Read.All, GroupMember.Read.All or Directory.Read.All: without one Graph answers 403; an
    /// unknown id is 404.
    pub async fn group_name(&self, id: &str) -> Result<GroupName> {
        let url = self.url(
            &format!("groups/{}", encode_segment(id)),
            &[("$select", "id,displayName".to_owned())],
        )?;
        self.get_json(&url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;

    #[test]
    fn assign_license_always_sends_both_arrays() {
        let w = assign_license("u#1", &[], &["sku-1".to_owned()]);
        assert_eq!(w.method, Method::POST);
        assert_eq!(w.path, "users/u%231/assignLicense");
        assert_eq!(
            w.body,
            Some(json!({ "addLicenses": [], "removeLicenses": ["sku-1"] }))
        );
        let w = assign_license(
            "u1",
            &[AssignedLicense {
                sku_id: "sku-2".into(),
                disabled_plans: vec!["plan-a".into()],
            }],
            &[],
        );
        assert_eq!(
            w.body,
            Some(json!({
                "addLicenses": [{ "skuId": "sku-2", "disabledPlans": ["plan-a"] }],
                "removeLicenses": []
            }))
        );
    }

    #[test]
    fn account_session_and_location_writes() {
        let w = revoke_sessions("a'b@x.example");
        assert_eq!(
            (w.method, w.path.as_str(), w.body),
            (
                Method::POST,
                "users/a%27b%40x.example/revokeSignInSessions",
                None
            )
        );
        let w = set_account_enabled("u1", false);
        assert_eq!(w.method, Method::PATCH);
        assert_eq!(w.path, "users/u1");
        assert_eq!(w.body, Some(json!({ "accountEnabled": false })));
        let w = set_usage_location("u1", "GB");
        assert_eq!(w.body, Some(json!({ "usageLocation": "GB" })));
    }

    #[test]
    fn the_in_filter_quotes_each_id() {
        assert_eq!(
            id_in_filter(&["a".into(), "o'b".into()]),
            "id in ('a', 'o''b')"
        );
    }

    #[test]
    fn license_states_read_direct_and_inherited_and_null_lists() {
        let user: LicensedUser = serde_json::from_value(json!({
            "id": "u1",
            "userPrincipalName": "ada@x",
            "accountEnabled": true,
            "usageLocation": null,
            "licenseAssignmentStates": [
                { "skuId": "S1", "disabledPlans": null, "assignedByGroup": null, "state": "Active",
                  "error": "None", "lastUpdatedDateTime": "2026-01-01T00:00:00Z" },
                { "skuId": "s2", "disabledPlans": ["p"], "assignedByGroup": "g1", "state": "Active",
                  "error": "None" }
            ],
            "assignedLicenses": [{ "skuId": "S1", "disabledPlans": [] }]
        }))
        .unwrap();
        assert_eq!(user.direct_licenses().count(), 1);
        assert!(
            user.direct_license("s1").is_some(),
            "SKU ids compare ignoring case"
        );
        assert!(user.direct_license("s2").is_none());
        let inherited: Vec<_> = user.inherited_licenses().collect();
        assert_eq!(inherited[0].assigned_by_group.as_deref(), Some("g1"));
        assert!(user.license_assignment_states[0].disabled_plans.is_empty());
        assert_eq!(user.mail, None);
    }
}
