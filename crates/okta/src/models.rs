//! Domain types for what the handlers return (the parts of Okta's objects okta365 reads; everything
//! else of a profile is kept in `extra`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::org::{GroupId, IdentitySourceId, UserId};

/// An Okta user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// `00u…`.
    pub id: UserId,
    /// `ACTIVE`, `STAGED`, `PROVISIONED`, `SUSPENDED`, `DEPROVISIONED`, …
    pub status: String,
    /// When the user was created.
    #[serde(default)]
    pub created: Option<String>,
    /// When the user last changed.
    #[serde(default)]
    pub last_updated: Option<String>,
    /// The profile.
    pub profile: UserProfile,
}

/// An Okta user's profile: the base attributes okta365 uses, the rest in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserProfile {
    /// Sign-in name (≤ 100 characters, usually an email address).
    pub login: String,
    /// Primary email.
    #[serde(default)]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The manager's Okta user id.
    #[serde(default)]
    pub manager_id: Option<String>,
    /// The manager's display name.
    #[serde(default)]
    pub manager: Option<String>,
    /// Department.
    #[serde(default)]
    pub department: Option<String>,
    /// Every other attribute, as Okta sent it.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An Okta group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    /// `00g…`.
    pub id: GroupId,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Name and description.
    pub profile: GroupProfile,
    /// When the group was created.
    #[serde(default)]
    pub created: Option<String>,
    /// When its membership last changed.
    #[serde(default)]
    pub last_membership_updated: Option<String>,
}

/// An Okta group's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupProfile {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// A System Log event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogEvent {
    /// Event id.
    pub uuid: String,
    /// When it happened (ISO 8601).
    pub published: String,
    /// e.g. `group.user_membership.add`.
    pub event_type: String,
    /// Human-readable summary.
    #[serde(default)]
    pub display_message: Option<String>,
    /// `INFO`, `WARN`, …
    #[serde(default)]
    pub severity: Option<String>,
    /// Who did it.
    #[serde(default)]
    pub actor: Option<LogEntity>,
    /// What it was done to.
    #[serde(default)]
    pub target: Vec<LogEntity>,
    /// `{result, reason}`.
    #[serde(default)]
    pub outcome: Option<Value>,
}

/// An actor or target of a System Log event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogEntity {
    /// Id.
    pub id: String,
    /// `User`, `UserGroup`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Login or other alternate id.
    #[serde(default)]
    pub alternate_id: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// An identity-source import session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImportSession {
    /// `aps…`.
    pub id: String,
    /// The identity source.
    pub identity_source_id: IdentitySourceId,
    /// `CREATED`, `IN_PROGRESS`, `TRIGGERED`, `COMPLETED`, `CLOSED`, `EXPIRED`, `ERROR`.
    pub status: String,
    /// `INCREMENTAL`.
    #[serde(default)]
    pub import_type: Option<String>,
    /// When the session was created.
    #[serde(default)]
    pub created: Option<String>,
}

/// Sort order of a System Log query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Oldest first (the default; with no `until` this makes a polling query).
    #[default]
    Ascending,
    /// Newest first.
    Descending,
}

/// A System Log query (`GET /api/v1/logs`). Leave `until` empty to poll: the next link is then always
/// present and can be saved to resume later ([`LogsHandler::follow`](crate::LogsHandler::follow)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogQuery {
    /// Lower bound (`since`); Okta's default is 7 days before `until`.
    pub since: Option<jiff::Timestamp>,
    /// Upper bound (`until`): makes the query bounded.
    pub until: Option<jiff::Timestamp>,
    /// A filter expression such as `eventType eq "group.user_membership.add"`.
    pub filter: Option<String>,
    /// Keywords.
    pub q: Option<String>,
    /// Page size, at most 1000 (Okta's default 100).
    pub limit: Option<u32>,
    /// Sort order.
    pub sort_order: SortOrder,
}

impl LogQuery {
    /// An empty query (polling from 7 days back).
    pub fn new() -> LogQuery {
        LogQuery::default()
    }

    /// Sets `since`.
    pub fn since(mut self, t: jiff::Timestamp) -> LogQuery {
        self.since = Some(t);
        self
    }

    /// Sets `until` (a bounded query).
    pub fn until(mut self, t: jiff::Timestamp) -> LogQuery {
        self.until = Some(t);
        self
    }

    /// Sets the filter expression.
    pub fn filter(mut self, f: impl Into<String>) -> LogQuery {
        self.filter = Some(f.into());
        self
    }

    /// Sets the page size (capped at 1000).
    pub fn limit(mut self, n: u32) -> LogQuery {
        self.limit = Some(n.min(1000));
        self
    }

    /// Sets the sort order.
    pub fn sort(mut self, order: SortOrder) -> LogQuery {
        self.sort_order = order;
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let ts = |t: &jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        if let Some(t) = &self.since {
            out.push(("since", ts(t)));
        }
        if let Some(t) = &self.until {
            out.push(("until", ts(t)));
        }
        if let Some(f) = &self.filter {
            out.push(("filter", f.clone()));
        }
        if let Some(q) = &self.q {
            out.push(("q", q.clone()));
        }
        if let Some(l) = self.limit {
            out.push(("limit", l.min(1000).to_string()));
        }
        if self.sort_order == SortOrder::Descending {
            out.push(("sortOrder", "DESCENDING".into()));
        }
        out
    }
}

/// A group list query (`GET /api/v1/groups`): `q` (name prefix, not paged, ≤ 300) or `search`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupQuery {
    /// Name prefix.
    pub q: Option<String>,
    /// Search expression such as `profile.name eq "Office 365 Assignments"`.
    pub search: Option<String>,
    /// Page size (200 recommended).
    pub limit: Option<u32>,
}

impl GroupQuery {
    /// All groups.
    pub fn new() -> GroupQuery {
        GroupQuery::default()
    }

    /// Groups whose name starts with `prefix`.
    pub fn q(mut self, prefix: impl Into<String>) -> GroupQuery {
        self.q = Some(prefix.into());
        self
    }

    /// Groups matching a search expression.
    pub fn search(mut self, expr: impl Into<String>) -> GroupQuery {
        self.search = Some(expr.into());
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, n: u32) -> GroupQuery {
        self.limit = Some(n);
        self
    }

    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(q) = &self.q {
            out.push(("q", q.clone()));
        }
        if let Some(s) = &self.search {
            out.push(("search", s.clone()));
        }
        if let Some(l) = self.limit {
            out.push(("limit", l.to_string()));
        }
        out
    }
}
