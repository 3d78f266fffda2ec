//! The Groups step (docs/setup.md "Groups"): the Okta groups that drive the operations, one per role,
//! with configurable names kept per profile. Planning matches existing groups by exact name; applying
//! creates the missing ones (`POST /api/v1/groups`, an `OKTA_GROUP`), each write journaled before and
//! after it is sent, so a second apply creates nothing and an interrupted one is never repeated.

use jiff::Timestamp;
use okta365_okta::{ClientId, OktaAuth, OktaClient, PrivateKey};
use okta365_secrets::CredentialKind as SecretKind;
use okta365_store::{ProfileRecord, setup::GroupSettingRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;
use ts_rs::TS;
use uuid::Uuid;

use super::journal::{Journal, Operation};
use crate::{
    connect::okta_auth,
    dto::{OktaAuthKind, Profile},
    engine::{Engine, to_dto},
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

/// The default name of the `assignments` group.
pub const DEFAULT_ASSIGNMENTS_GROUP: &str = "Office 365 Assignments";
/// The default name of the `guests` group.
pub const DEFAULT_GUESTS_GROUP: &str = "O365Guest";
/// The Okta scope that creates groups (it includes reading them).
pub const GROUPS_MANAGE_SCOPE: &str = "okta.groups.manage";
/// The Okta scope that reads groups and their members.
pub const GROUPS_READ_SCOPE: &str = "okta.groups.read";
/// Okta's longest group name.
pub const MAX_GROUP_NAME_CHARS: usize = 255;

/// What an Okta group is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum GroupRole {
    /// Members get an active, licensed Microsoft 365 account.
    Assignments,
    /// Members get a guest account.
    Guests,
}

impl GroupRole {
    /// Every role, in screen order.
    pub const ALL: [GroupRole; 2] = [GroupRole::Assignments, GroupRole::Guests];

    /// The stored value, e.g. `assignments`.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Assignments => "assignments",
            GroupRole::Guests => "guests",
        }
    }

    /// Parses [`GroupRole::as_str`] back.
    pub fn parse(value: &str) -> Option<GroupRole> {
        GroupRole::ALL
            .into_iter()
            .find(|r| r.as_str() == value.trim())
    }

    /// The name a profile starts with.
    pub fn default_name(self) -> &'static str {
        match self {
            GroupRole::Assignments => DEFAULT_ASSIGNMENTS_GROUP,
            GroupRole::Guests => DEFAULT_GUESTS_GROUP,
        }
    }

    /// What its members get, for sentences ("the group whose members get …").
    pub fn purpose(self) -> &'static str {
        match self {
            GroupRole::Assignments => "a licensed Microsoft 365 account",
            GroupRole::Guests => "a Microsoft 365 guest account",
        }
    }
}

impl std::fmt::Display for GroupRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Okta group name of one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupSetting {
    /// The role.
    pub role: GroupRole,
    /// The group's name in Okta (matched exactly).
    pub name: String,
}

/// What applying does with a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum GroupAction {
    /// The org has no group of that exact name: applying creates it.
    Create,
    /// The org has it: nothing to do.
    Exists,
}

/// One group of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlanItem {
    /// The role.
    pub role: GroupRole,
    /// The group name.
    pub name: String,
    /// Create it or it exists.
    pub action: GroupAction,
    /// The Okta group id when it exists.
    pub group_id: Option<String>,
    /// How many members it has, when it exists.
    pub member_count: Option<u32>,
}

/// What applying the Groups step would do (or, after applying, what is there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GroupsPlan {
    /// The profile.
    pub profile_id: String,
    /// One item per role.
    pub items: Vec<GroupPlanItem>,
    /// When the org was read (RFC 3339).
    pub planned_at: String,
}

impl GroupsPlan {
    /// How many groups applying creates.
    pub fn changes(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.action == GroupAction::Create)
            .count()
    }
}

/// The group names every profile starts with.
pub fn default_group_settings() -> Vec<GroupSetting> {
    GroupRole::ALL
        .into_iter()
        .map(|role| GroupSetting {
            role,
            name: role.default_name().to_owned(),
        })
        .collect()
}

/// Checks a group name and returns it trimmed.
pub fn validate_group_name(role: GroupRole, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(format!(
            "The {role} group needs a name (the Okta group whose members get {}).",
            role.purpose()
        )));
    }
    let chars = name.chars().count();
    if chars > MAX_GROUP_NAME_CHARS {
        return Err(Error::invalid(format!(
            "An Okta group name can be at most {MAX_GROUP_NAME_CHARS} characters; the {role} group's \
             name has {chars}."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "The {role} group's name cannot contain control characters such as tabs or line breaks."
        )));
    }
    Ok(name.to_owned())
}

/// The stored settings merged over the defaults, in role order.
fn merged(stored: &[GroupSettingRecord]) -> Vec<(GroupRole, String)> {
    GroupRole::ALL
        .into_iter()
        .map(|role| {
            let name = stored
                .iter()
                .find(|s| s.role == role.as_str())
                .map(|s| s.name.clone())
                .unwrap_or_else(|| role.default_name().to_owned());
            (role, name)
        })
        .collect()
}

/// An Okta error met while doing `doing` (a sentence start such as `Creating the Okta group "X"`) as
/// the engine's error: refusals are `permission_denied` with the fix.
pub(crate) fn okta_error(doing: &str, error: okta365_okta::Error, scope: &str) -> Error {
    use okta365_okta::OAuthErrorCode;
    if error.oauth_error() == Some(&OAuthErrorCode::InvalidScope) {
        return Error::PermissionDenied {
            message: format!(
                "{doing} needs the Okta scope {scope}, which the service app is not granted ({error}). \
                 Grant {scope} on the app's Okta API Scopes tab (or re-run `okta365 setup okta-app`), \
                 then try again."
            ),
        };
    }
    match error.status() {
        Some(401 | 403) => Error::PermissionDenied {
            message: format!(
                "{doing} was refused: {error} It needs the Okta scope {scope} and an admin role that \
                 covers it (Organization Administrator or Group Administrator for creating groups)."
            ),
        },
        _ => Error::Vendor {
            message: format!("{doing} failed: {error}"),
        },
    }
}

impl Engine {
    /// The profile's group settings (defaults for roles never set), in role order.
    pub(crate) async fn group_settings(&self, profile_id: Uuid) -> Result<Vec<GroupSetting>> {
        let stored = self
            .db(move |store| store.group_settings(profile_id))
            .await?;
        Ok(merged(&stored)
            .into_iter()
            .map(|(role, name)| GroupSetting { role, name })
            .collect())
    }

    /// A profile's DTO with its group settings.
    pub(crate) async fn profile_out(&self, record: ProfileRecord) -> Result<Profile> {
        let id = record.id;
        let mut profile = to_dto(record)?;
        profile.groups = self.group_settings(id).await?;
        Ok(profile)
    }

    /// An Okta client for the profile's stored connection: its API token, or its service app asking
    /// for `scopes`.
    pub(crate) async fn okta_client(
        &self,
        record: &ProfileRecord,
        scopes: &[&str],
    ) -> Result<OktaClient> {
        let no_connection = || {
            Error::invalid(format!(
                "Profile \"{}\" has no Okta connection yet. Save an API token or an API service app on \
                 the Okta step (or create the service app with `okta365 setup okta-app`) first.",
                record.name
            ))
        };
        if record.okta_org_url.trim().is_empty() {
            return Err(no_connection());
        }
        let auth = okta_auth(record)?.ok_or_else(no_connection)?;
        let kind = match auth {
            OktaAuthKind::ApiToken => SecretKind::OktaApiToken,
            OktaAuthKind::ServiceApp => SecretKind::OktaPrivateKey,
        };
        let secret = self
            .inner
            .keychain
            .get(&record.id.to_string(), kind)
            .await?
            .ok_or_else(|| Error::CredentialNotFound {
                profile: record.name.clone(),
                label: kind.label(),
            })?;
        let invalid = |e: okta365_okta::Error| {
            Error::invalid(format!(
                "{e} Correct the Okta connection on the Okta step and save it."
            ))
        };
        let auth = match auth {
            OktaAuthKind::ApiToken => OktaAuth::ApiToken(secret),
            OktaAuthKind::ServiceApp => OktaAuth::ServiceApp {
                client_id: ClientId::parse(record.okta_client_id.as_deref().unwrap_or_default())
                    .map_err(invalid)?,
                key: PrivateKey::parse(secret.expose(), record.okta_key_id.as_deref())
                    .map_err(invalid)?,
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
            },
        };
        OktaClient::builder(record.okta_org_url.clone())
            .auth(auth)
            .http(self.inner.vendor.for_base(&record.okta_org_url))
            .build()
            .map_err(invalid)
    }

    /// Sets the Okta group names of the roles given (the others keep theirs). Names are trimmed, 1–255
    /// characters, and the two roles need different groups.
    #[instrument(skip(self), err)]
    pub async fn set_group_names(
        &self,
        profile_id: &str,
        groups: Vec<GroupSetting>,
    ) -> Result<Profile> {
        let record = self.find(profile_id).await?;
        let id = record.id;
        let mut settings = self.group_settings(id).await?;
        for wanted in &groups {
            let name = validate_group_name(wanted.role, &wanted.name)?;
            if let Some(s) = settings.iter_mut().find(|s| s.role == wanted.role) {
                s.name = name;
            }
        }
        if let [a, b] = settings.as_slice()
            && a.name.to_lowercase() == b.name.to_lowercase()
        {
            return Err(Error::invalid(format!(
                "The {} and {} groups cannot both be \"{}\": members of one get {}, of the other {}. \
                 Give them different names.",
                a.role,
                b.role,
                b.name,
                a.role.purpose(),
                b.role.purpose()
            )));
        }
        let pairs: Vec<(String, String)> = settings
            .iter()
            .map(|s| (s.role.as_str().to_owned(), s.name.clone()))
            .collect();
        self.db(move |store| {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(r, n)| (r.as_str(), n.as_str()))
                .collect();
            store.set_group_names(id, &pairs)
        })
        .await?;
        tracing::info!(profile_id = %id, ?groups, "set the group names");
        self.profile_out(self.find_by_id(id).await?).await
    }

    /// Plans the Groups step from the org's live state: per role, the group of that exact name with
    /// its id and member count (`exists`), or `create`. Writes nothing to the org (it records the ids
    /// and counts found, for seat warnings).
    #[instrument(skip(self), err)]
    pub async fn plan_groups(&self, profile_id: &str) -> Result<GroupsPlan> {
        let record = self.find(profile_id).await?;
        let client = self.okta_client(&record, &[GROUPS_READ_SCOPE]).await?;
        self.plan_groups_with(&record, &client, GROUPS_READ_SCOPE)
            .await
    }

    pub(crate) async fn plan_groups_with(
        &self,
        record: &ProfileRecord,
        client: &OktaClient,
        scope: &str,
    ) -> Result<GroupsPlan> {
        let settings = self.group_settings(record.id).await?;
        let mut items = Vec::new();
        for setting in settings {
            let (role, name) = (setting.role, setting.name);
            let doing = format!("Looking up the Okta group \"{name}\"");
            let named = client
                .group_named(&name)
                .await
                .map_err(|e| okta_error(&doing, e, scope))?;
            let item = match named.exact {
                Some(group) => {
                    let count = client.group_member_count(&group.id).await.map_err(|e| {
                        okta_error(
                            &format!("Counting the members of the Okta group \"{name}\""),
                            e,
                            scope,
                        )
                    })?;
                    GroupPlanItem {
                        role,
                        name,
                        action: GroupAction::Exists,
                        group_id: Some(group.id.as_str().to_owned()),
                        member_count: Some(u32::try_from(count).unwrap_or(u32::MAX)),
                    }
                }
                None => {
                    if let Some(other) = named.differing_in_case.first() {
                        return Err(Error::invalid(format!(
                            "The Okta org has a group named \"{}\" ({}), which differs from \"{name}\" only \
                             in case. Okta group names are unique ignoring case, so okta365 cannot create \
                             \"{name}\". Use \"{}\" as the {role} group's name, or rename that group in Okta.",
                            other.profile.name,
                            other.id.as_str(),
                            other.profile.name
                        )));
                    }
                    GroupPlanItem {
                        role,
                        name,
                        action: GroupAction::Create,
                        group_id: None,
                        member_count: None,
                    }
                }
            };
            self.remember_group(record.id, &item).await?;
            items.push(item);
        }
        Ok(GroupsPlan {
            profile_id: record.id.to_string(),
            items,
            planned_at: Timestamp::now().to_string(),
        })
    }

    async fn remember_group(&self, profile_id: Uuid, item: &GroupPlanItem) -> Result<()> {
        let (role, name, group_id, count) = (
            item.role.as_str(),
            item.name.clone(),
            item.group_id.clone(),
            item.member_count.map(u64::from),
        );
        self.db(move |store| {
            store.set_group_found(profile_id, role, &name, group_id.as_deref(), count)
        })
        .await
    }

    /// Applies the Groups step: re-plans from the org's live state, supersedes the journal rows an
    /// interrupted apply left `started`, then creates each missing group (`okta.groups.manage`),
    /// journaled before and after. Returns the plan after applying (every item `exists`). Reports
    /// operation `apply_groups`, one step per group created (step = its role), then `done`.
    #[instrument(skip(self, progress), err)]
    pub async fn apply_groups(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<GroupsPlan> {
        let record = self.find(profile_id).await?;
        let client = self.okta_client(&record, &[GROUPS_MANAGE_SCOPE]).await?;
        let mut plan = self
            .plan_groups_with(&record, &client, GROUPS_MANAGE_SCOPE)
            .await?;
        let journal = Journal::begin(self, record.id, Operation::Groups);
        journal
            .resolve_unfinished(|row| {
                plan.items.iter().any(|i| {
                    i.action == GroupAction::Exists
                        && row.step == create_step(i.role)
                        && row.target == i.name
                })
            })
            .await?;
        let mut steps = Steps::new(progress, "apply_groups", plan.changes() as u32);
        for item in plan
            .items
            .iter_mut()
            .filter(|i| i.action == GroupAction::Create)
        {
            steps.start(
                item.role.as_str(),
                format!("Creating the Okta group \"{}\"", item.name),
            );
            let description = format!("okta365: members get {}.", item.role.purpose());
            let guard = journal
                .step(
                    &create_step(item.role),
                    &item.name,
                    &json!({ "name": item.name, "description": description, "type": "OKTA_GROUP" }),
                )
                .await?;
            match client.groups().create(&item.name, Some(&description)).await {
                Ok(group) => {
                    guard
                        .done(&json!({ "id": group.id.as_str(), "name": group.profile.name }))
                        .await?;
                    item.action = GroupAction::Exists;
                    item.group_id = Some(group.id.as_str().to_owned());
                    item.member_count = Some(0);
                    self.remember_group(record.id, item).await?;
                    tracing::info!(profile_id = %record.id, role = %item.role, group_id = group.id.as_str(), "created the Okta group");
                }
                Err(e) => {
                    let server_side = e.status().is_some_and(|s| s >= 500);
                    let mut error = okta_error(
                        &format!("Creating the Okta group \"{}\"", item.name),
                        e,
                        GROUPS_MANAGE_SCOPE,
                    );
                    guard.failed(&error).await?;
                    if server_side && let Error::Vendor { message } = &mut error {
                        message.push_str(
                            " The group may have been created anyway: apply again, and okta365 finds it \
                             by name instead of creating it twice.",
                        );
                    }
                    return Err(error);
                }
            }
        }
        steps.finish("The groups are ready");
        plan.planned_at = Timestamp::now().to_string();
        Ok(plan)
    }
}

/// The journal step of creating a role's group, e.g. `create_group:assignments`.
fn create_step(role: GroupRole) -> String {
    format!("create_group:{role}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_checked() {
        assert_eq!(
            validate_group_name(GroupRole::Guests, "  O365Guest ").unwrap(),
            "O365Guest"
        );
        let e = validate_group_name(GroupRole::Assignments, " ")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "The assignments group needs a name (the Okta group whose members get a licensed Microsoft \
             365 account)."
        );
        assert!(validate_group_name(GroupRole::Guests, &"x".repeat(256)).is_err());
        assert!(validate_group_name(GroupRole::Guests, &"é".repeat(255)).is_ok());
        assert!(validate_group_name(GroupRole::Guests, "a\nb").is_err());
    }

    #[test]
    fn stored_names_override_the_defaults_per_role() {
        let merged = merged(&[GroupSettingRecord {
            role: "guests".into(),
            name: "Guests".into(),
            okta_group_id: None,
            member_count: None,
        }]);
        assert_eq!(
            merged,
            vec![
                (GroupRole::Assignments, DEFAULT_ASSIGNMENTS_GROUP.to_owned()),
                (GroupRole::Guests, "Guests".to_owned())
            ]
        );
    }

    #[test]
    fn plan_json_is_camel_case() {
        let plan = GroupsPlan {
            profile_id: "p".into(),
            items: vec![GroupPlanItem {
                role: GroupRole::Assignments,
                name: "Office 365 Assignments".into(),
                action: GroupAction::Create,
                group_id: None,
                member_count: None,
            }],
            planned_at: "2026-01-01T00:00:00Z".into(),
        };
        assert_eq!(
            serde_json::to_string(&plan).unwrap(),
            r#"{"profileId":"p","items":[{"role":"assignments","name":"Office 365 Assignments","action":"create","groupId":null,"memberCount":null}],"plannedAt":"2026-01-01T00:00:00Z"}"#
        );
    }
}
