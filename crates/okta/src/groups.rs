//! Finding a group by its exact name and counting its members: what the guided setup's Groups step needs
//! to match existing groups and to warn about license seats (docs/setup.md "Groups").
//!
//! Okta's `search=profile.name eq "…"` is case-insensitive and eventually consistent, and `q` is a
//! prefix match, so the answer is always compared exactly here, on every page Okta returns.

use serde::de::IgnoredAny;

use crate::client::OktaClient;
use crate::error::Result;
use crate::models::{Group, GroupQuery};
use crate::org::GroupId;
use crate::page::Page;

/// The groups a name search found.
#[derive(Debug, Clone, Default)]
pub struct GroupsNamed {
    /// The group whose name is exactly the one asked for (an `OKTA_GROUP` when several are).
    pub exact: Option<Group>,
    /// Groups whose name equals it ignoring case only (Okta refuses to create a second `OKTA_GROUP`
    /// with such a name).
    pub differing_in_case: Vec<Group>,
}

/// The search expression matching a group name, with `"` and `\` escaped.
pub fn name_search(name: &str) -> String {
    let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
    format!("profile.name eq \"{escaped}\"")
}

impl OktaClient {
    /// The group named exactly `name` (`okta.groups.read`): `GET /api/v1/groups?search=profile.name eq
    /// "…"`, following every page, compared exactly (case and all) on the client.
    pub async fn group_named(&self, name: &str) -> Result<GroupsNamed> {
        let found = self
            .groups()
            .list(&GroupQuery::new().search(name_search(name)).limit(200))
            .await?
            .collect_all()
            .await?;
        let mut out = GroupsNamed::default();
        let (exact, others): (Vec<Group>, Vec<Group>) =
            found.into_iter().partition(|g| g.profile.name == name);
        out.exact = exact
            .iter()
            .find(|g| g.kind == "OKTA_GROUP")
            .or(exact.first())
            .cloned();
        out.differing_in_case = others
            .into_iter()
            .filter(|g| g.profile.name.to_lowercase() == name.to_lowercase())
            .collect();
        Ok(out)
    }

    /// How many users are members of a group (`okta.groups.read`): `GET /api/v1/groups/{id}/users`
    /// with pages of 1000, counted without keeping the users.
    pub async fn group_member_count(&self, group: &GroupId) -> Result<u64> {
        let segment: String = url::form_urlencoded::byte_serialize(group.as_str().as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let url = self.url(
            &format!("api/v1/groups/{segment}/users"),
            &[("limit", "1000".to_owned())],
        )?;
        let mut page: Page<IgnoredAny> =
            Page::fetch(self, url, "GET /api/v1/groups/{id}/users").await?;
        let mut count = 0u64;
        loop {
            count += page.items().len() as u64;
            if page.items().is_empty() {
                return Ok(count);
            }
            match page.next_page().await? {
                Some(next) => page = next,
                None => return Ok(count),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_for_search() {
        assert_eq!(
            name_search("Office 365 Assignments"),
            r#"profile.name eq "Office 365 Assignments""#
        );
        assert_eq!(
            name_search(r#"A "quoted" \ name"#),
            r#"profile.name eq "A \"quoted\" \\ name""#
        );
    }
}
