//! User lookups and writes of provisioning: find a user by UPN or mail, the tenant's domains
//! (`GET /domains`, with `authenticationType`), and the write requests for creating, updating and
//! deleting users (sent through [`GraphClient::write`] or [`GraphClient::batch`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::GraphWrite;
use crate::client::{GraphClient, Page, encode_segment};
use crate::error::Result;
use crate::models::User;

/// The user properties provisioning reads back.
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,mail,accountEnabled,userType,givenName,surname,jobTitle,department,mobilePhone,officeLocation,city,state,country,postalCode,streetAddress,companyName,employeeId,usageLocation,mailNickname,externalUserState";

/// A domain of the tenant (`GET /domains`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    /// The domain name, e.g. `contoso.com`.
    pub id: String,
    /// `Managed` or `Federated`.
    #[serde(default)]
    pub authentication_type: Option<String>,
    /// Whether it is the default domain for new users.
    #[serde(default)]
    pub is_default: bool,
    /// Whether it is the initial `*.onmicrosoft.com` domain.
    #[serde(default)]
    pub is_initial: bool,
    /// Whether ownership was verified.
    #[serde(default)]
    pub is_verified: bool,
}

impl Domain {
    /// Whether sign-in for the domain is federated to another identity provider (users of a federated
    /// domain never use their Entra password).
    pub fn is_federated(&self) -> bool {
        self.authentication_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("Federated"))
    }
}

/// Quotes a `$filter` string literal (doubling any `'`).
pub fn odata_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl GraphClient {
    /// The tenant's domains. Needs Domain.Read.All or Directory.Read.All.
    pub async fn domains(&self) -> Result<Vec<Domain>> {
        let url = self.url("domains", &[])?;
        self.page::<Domain>(&url).await?.all().await
    }

    /// The users whose `property` equals `value` (`userPrincipalName`, `mail`), with the
    /// [`USER_SELECT`] properties; `guests_only` adds `userType eq 'Guest'`.
    pub async fn users_where(
        &self,
        property: &str,
        value: &str,
        guests_only: bool,
    ) -> Result<Vec<User>> {
        let mut filter = format!("{property} eq {}", odata_literal(value));
        if guests_only {
            filter.push_str(" and userType eq 'Guest'");
        }
        let url = self.url(
            "users",
            &[("$filter", filter), ("$select", USER_SELECT.to_owned())],
        )?;
        self.page::<User>(&url).await?.all().await
    }

    /// The users whose `property` is one of `values` (`property in (…)`, 15 values per request, the
    /// most Graph takes in one `in`), with the [`USER_SELECT`] properties.
    pub async fn users_in(&self, property: &str, values: &[String]) -> Result<Vec<User>> {
        let mut out = Vec::new();
        for chunk in values.chunks(15) {
            let list: Vec<String> = chunk.iter().map(|v| odata_literal(v)).collect();
            let url = self.url(
                "users",
                &[
                    ("$filter", format!("{property} in ({})", list.join(", "))),
                    ("$select", USER_SELECT.to_owned()),
                ],
            )?;
            out.extend(self.page::<User>(&url).await?.all().await?);
        }
        Ok(out)
    }

    /// Every user with the [`USER_SELECT`] properties (`$top=999`, all pages).
    pub async fn all_users(&self) -> Result<Vec<User>> {
        let url = self.url(
            "users",
            &[
                ("$select", USER_SELECT.to_owned()),
                ("$top", "999".to_owned()),
            ],
        )?;
        let page: Page<User> = self.page(&url).await?;
        page.all().await
    }
}

/// `POST /users` with `body` (the caller builds it, including the password profile).
pub fn create_user(body: Value) -> GraphWrite {
    GraphWrite::post("users", body)
}

/// `PATCH /users/{id}` with only the properties to change.
pub fn update_user(id: &str, patch: Value) -> GraphWrite {
    GraphWrite::patch(format!("users/{}", encode_segment(id)), patch)
}

/// `DELETE /users/{id}`.
pub fn delete_user(id: &str) -> GraphWrite {
    GraphWrite::delete(format!("users/{}", encode_segment(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_literals_double_quotes_and_paths_are_encoded() {
        assert_eq!(odata_literal("o'brien@x.com"), "'o''brien@x.com'");
        let w = update_user("a_b#EXT#@t.onmicrosoft.com", serde_json::json!({}));
        assert_eq!(w.path, "users/a_b%23EXT%23%40t.onmicrosoft.com");
        assert_eq!(delete_user("id-1").method, reqwest::Method::DELETE);
    }
}
