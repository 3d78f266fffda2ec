//! The Review step (docs/setup.md "Review"): what the profile is set to do and what is missing, live.
//! It runs Test connection on both sides, re-plans the groups and reads the licenses table, and names
//! for each missing item the wizard step that fixes it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;

use super::groups::{GROUPS_MANAGE_SCOPE, GROUPS_READ_SCOPE, GroupAction, GroupRole};
use crate::{
    connect::{okta_scopes, operations, requirements},
    dto::{CheckStatus, CheckStep, ConnectionTest, OperationId, StepId},
    engine::Engine,
    error::{Error, Result},
    progress::{ProgressSink, Steps},
};

/// How one review item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ReviewStatus {
    /// Done.
    Ready,
    /// Not done: the profile is not ready until it is.
    Missing,
    /// Works, but worth a look.
    Warning,
}

/// One thing the review checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    /// Stable id: `microsoft-connection`, `okta-connection`, `microsoft-permissions`, `okta-scopes`,
    /// `credential-expiry`, `group-{role}`, `licenses-synced`, `licenses-mapped`, `usage-location`,
    /// `seat-{skuPartNumber}`.
    pub id: String,
    /// What it is, for people.
    pub label: String,
    /// How it stands.
    pub status: ReviewStatus,
    /// What was found.
    pub detail: String,
    /// The wizard step that fixes it, when it needs fixing.
    pub fix_step: Option<StepId>,
}

/// A Graph permission or Okta scope the profile needs, and whether it is granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GrantRow {
    /// The permission (e.g. `User.ReadWrite.All`) or scope (e.g. `okta.users.read`).
    pub value: String,
    /// The enabled operations that need it (empty for `okta.groups.manage`, needed by the Groups step).
    pub operations: Vec<OperationId>,
    /// Whether the app has it.
    pub granted: bool,
}

/// What a profile is ready to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Review {
    /// The profile.
    pub profile_id: String,
    /// True when no item is `missing`.
    pub ready: bool,
    /// Every item checked.
    pub items: Vec<ReviewItem>,
    /// The enabled operations.
    pub operations: Vec<OperationId>,
    /// The Graph application permissions the operations need.
    pub permissions: Vec<GrantRow>,
    /// The Okta scopes the operations (and the Groups step) need.
    pub scopes: Vec<GrantRow>,
    /// When it ran (RFC 3339).
    pub reviewed_at: String,
}

fn item(
    id: impl Into<String>,
    label: &str,
    status: ReviewStatus,
    detail: impl Into<String>,
    fix: StepId,
) -> ReviewItem {
    ReviewItem {
        id: id.into(),
        label: label.to_owned(),
        status,
        detail: detail.into(),
        fix_step: (status != ReviewStatus::Ready).then_some(fix),
    }
}

/// A check's detail, or its label when it has none.
fn said(step: &CheckStep) -> String {
    let mut s = step.detail.clone().unwrap_or_else(|| step.label.clone());
    if let Some(fix) = &step.fix {
        s.push(' ');
        s.push_str(fix);
    }
    s
}

/// One item summing up the checks whose id matches `which`: missing when one failed, a warning when
/// one warned (or was skipped and `skipped_warns`), else ready.
fn summed(
    test: &ConnectionTest,
    which: impl Fn(&str) -> bool,
    id: &str,
    label: &str,
    fix: StepId,
    none: &str,
) -> ReviewItem {
    let steps: Vec<&CheckStep> = test.steps.iter().filter(|s| which(&s.id)).collect();
    if steps.is_empty() {
        return item(id, label, ReviewStatus::Ready, none, fix);
    }
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s.status == CheckStatus::Failed)
        .map(|s| said(s))
        .collect();
    if !failed.is_empty() {
        return item(id, label, ReviewStatus::Missing, failed.join(" "), fix);
    }
    let skipped: Vec<String> = steps
        .iter()
        .filter(|s| s.status == CheckStatus::Skipped)
        .map(|s| said(s))
        .collect();
    if steps.iter().all(|s| s.status == CheckStatus::Skipped) {
        return item(id, label, ReviewStatus::Missing, skipped.join(" "), fix);
    }
    let warned: Vec<String> = steps
        .iter()
        .filter(|s| matches!(s.status, CheckStatus::Warning | CheckStatus::Skipped))
        .map(|s| said(s))
        .collect();
    if !warned.is_empty() {
        return item(id, label, ReviewStatus::Warning, warned.join(" "), fix);
    }
    let ok: Vec<String> = steps.iter().map(|s| said(s)).collect();
    item(id, label, ReviewStatus::Ready, merge_granted(&ok), fix)
}

/// One check per operation says "Granted: A, B." for its own roles; the review says each role once.
fn merge_granted(sentences: &[String]) -> String {
    let lists: Option<Vec<&str>> = sentences
        .iter()
        .map(|s| {
            s.strip_prefix("Granted: ")
                .and_then(|l| l.strip_suffix('.'))
        })
        .collect();
    match lists {
        Some(lists) if !lists.is_empty() => {
            let mut seen: Vec<&str> = Vec::new();
            for value in lists.iter().flat_map(|l| l.split(", ")) {
                if !seen.contains(&value) {
                    seen.push(value);
                }
            }
            format!("Granted: {}.", seen.join(", "))
        }
        _ => sentences.join(" "),
    }
}

impl Engine {
    /// Reviews a profile live: Test connection on both sides, the groups re-planned, the licenses
    /// table. Reports operation `review`, steps `microsoft`, `okta`, `groups`, `licenses`, then `done`.
    /// Fails only when the profile does not exist; everything else becomes an item.
    #[instrument(skip(self, progress), err)]
    pub async fn review(&self, profile_id: &str, progress: &dyn ProgressSink) -> Result<Review> {
        let record = self.find(profile_id).await?;
        let ops = operations(&record)?;
        let mut steps = Steps::new(progress, "review", 4);
        let mut items = Vec::new();

        // Microsoft: connection, permissions, credential expiry; the token's roles for the table.
        steps.start("microsoft", "Testing the Microsoft connection");
        let mut roles: Option<Vec<String>> = None;
        match self.test_microsoft(&record.id.to_string(), &()).await {
            Ok(test) => {
                items.push(summed(
                    &test,
                    |id| id == "token" || id == "tenant",
                    "microsoft-connection",
                    "Microsoft connection",
                    StepId::Microsoft,
                    "",
                ));
                items.push(summed(
                    &test,
                    |id| id.starts_with("permissions:"),
                    "microsoft-permissions",
                    "Microsoft Graph permissions",
                    StepId::Microsoft,
                    "The enabled operations need no Microsoft Graph permission.",
                ));
                items.push(summed(
                    &test,
                    |id| id == "expiry",
                    "credential-expiry",
                    "Credential expiry",
                    StepId::Microsoft,
                    "",
                ));
                if test
                    .steps
                    .iter()
                    .any(|s| s.id == "token" && s.status == CheckStatus::Ok)
                    && let Ok(graph) = self.graph_client_for(&record).await
                    && let Ok(claims) = graph.provider().claims().await
                {
                    roles = Some(claims.roles);
                }
            }
            Err(e) => {
                let detail = e.to_string();
                for (id, label) in [
                    ("microsoft-connection", "Microsoft connection"),
                    ("microsoft-permissions", "Microsoft Graph permissions"),
                    ("credential-expiry", "Credential expiry"),
                ] {
                    items.push(item(
                        id,
                        label,
                        ReviewStatus::Missing,
                        detail.clone(),
                        StepId::Microsoft,
                    ));
                }
            }
        }
        let permissions = grant_rows(&ops, roles.as_deref().unwrap_or_default());

        // Okta: connection and scopes.
        steps.start("okta", "Testing the Okta connection");
        let needed_scopes = okta_scopes(&ops);
        let mut scopes: Vec<GrantRow> = needed_scopes
            .iter()
            .map(|scope| GrantRow {
                value: scope.to_string(),
                operations: ops
                    .iter()
                    .copied()
                    .filter(|op| requirements(*op).okta_scopes.contains(scope))
                    .collect(),
                granted: false,
            })
            .collect();
        let okta_ok = match self.test_okta(&record.id.to_string(), &()).await {
            Ok(test) => {
                items.push(summed(
                    &test,
                    |id| id == "token",
                    "okta-connection",
                    "Okta connection",
                    StepId::Okta,
                    "",
                ));
                items.push(summed(
                    &test,
                    |id| id.starts_with("scope:"),
                    "okta-scopes",
                    "Okta API scopes",
                    StepId::Okta,
                    "The enabled operations need no Okta scope.",
                ));
                for row in &mut scopes {
                    row.granted = test.steps.iter().any(|s| {
                        s.id == format!("scope:{}", row.value) && s.status == CheckStatus::Ok
                    });
                }
                test.steps
                    .iter()
                    .any(|s| s.id == "token" && s.status == CheckStatus::Ok)
            }
            Err(e) => {
                let detail = e.to_string();
                for (id, label) in [
                    ("okta-connection", "Okta connection"),
                    ("okta-scopes", "Okta API scopes"),
                ] {
                    items.push(item(
                        id,
                        label,
                        ReviewStatus::Missing,
                        detail.clone(),
                        StepId::Okta,
                    ));
                }
                false
            }
        };

        // Groups: re-planned, asking for okta.groups.manage first (the Groups step creates groups).
        steps.start("groups", "Looking up the Okta groups");
        let mut manage = GrantRow {
            value: GROUPS_MANAGE_SCOPE.to_owned(),
            operations: Vec::new(),
            granted: false,
        };
        let plan = if okta_ok {
            match self.okta_client(&record, &[GROUPS_MANAGE_SCOPE]).await {
                Ok(client) => {
                    match self
                        .plan_groups_with(&record, &client, GROUPS_MANAGE_SCOPE)
                        .await
                    {
                        Ok(plan) => {
                            manage.granted = true;
                            Ok(plan)
                        }
                        Err(Error::PermissionDenied { .. }) => {
                            // No okta.groups.manage: plan with read access, and say so.
                            match self.okta_client(&record, &[GROUPS_READ_SCOPE]).await {
                                Ok(read) => {
                                    self.plan_groups_with(&record, &read, GROUPS_READ_SCOPE)
                                        .await
                                }
                                Err(e) => Err(e),
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        } else {
            Err(Error::invalid(
                "The Okta connection does not work yet, so the groups could not be looked up.",
            ))
        };
        scopes.push(manage);
        match plan {
            Ok(plan) => {
                for i in &plan.items {
                    let id = format!("group-{}", i.role);
                    let label = format!("Okta group for {}", role_label(i.role));
                    items.push(match i.action {
                        GroupAction::Exists => item(
                            id,
                            &label,
                            ReviewStatus::Ready,
                            format!(
                                "\"{}\" exists ({}, {} members).",
                                i.name,
                                i.group_id.as_deref().unwrap_or_default(),
                                i.member_count.unwrap_or_default()
                            ),
                            StepId::Groups,
                        ),
                        GroupAction::Create => item(
                            id,
                            &label,
                            ReviewStatus::Missing,
                            format!(
                                "The Okta org has no group named \"{}\"; the Groups step creates it.",
                                i.name
                            ),
                            StepId::Groups,
                        ),
                    });
                }
            }
            Err(e) => {
                let settings = self.group_settings(record.id).await?;
                for s in settings {
                    items.push(item(
                        format!("group-{}", s.role),
                        &format!("Okta group for {}", role_label(s.role)),
                        ReviewStatus::Missing,
                        format!("\"{}\" could not be looked up: {e}", s.name),
                        StepId::Groups,
                    ));
                }
            }
        }

        // Licenses.
        steps.start("licenses", "Reading the licenses table");
        let view = self.licenses_view(record.id).await?;
        let licensing = ops.contains(&OperationId::Licenses);
        items.push(match (&view.refreshed_at, licensing) {
            (Some(at), _) => item(
                "licenses-synced",
                "Licenses stored",
                ReviewStatus::Ready,
                format!(
                    "{} licenses, read from the tenant at {at}.",
                    view.licenses.len()
                ),
                StepId::Licenses,
            ),
            (None, true) => item(
                "licenses-synced",
                "Licenses stored",
                ReviewStatus::Missing,
                "The tenant's licenses were never read. Refresh them on the Licenses step.",
                StepId::Licenses,
            ),
            (None, false) => item(
                "licenses-synced",
                "Licenses stored",
                ReviewStatus::Ready,
                "Not needed: the licenses operation is off.",
                StepId::Licenses,
            ),
        });
        let mapped: Vec<String> = view
            .assignments
            .iter()
            .filter(|a| a.role == GroupRole::Assignments)
            .filter_map(|a| {
                view.licenses
                    .iter()
                    .find(|l| l.sku_id == a.sku_id)
                    .map(|l| l.sku_part_number.clone())
            })
            .collect();
        items.push(if !mapped.is_empty() {
            item(
                "licenses-mapped",
                "Licenses for the assignments group",
                ReviewStatus::Ready,
                format!("Members get {}.", mapped.join(", ")),
                StepId::Licenses,
            )
        } else if licensing {
            item(
                "licenses-mapped",
                "Licenses for the assignments group",
                ReviewStatus::Missing,
                "No license is associated with the assignments group. Choose its SKUs on the Licenses \
                 step.",
                StepId::Licenses,
            )
        } else {
            item(
                "licenses-mapped",
                "Licenses for the assignments group",
                ReviewStatus::Ready,
                "Not needed: the licenses operation is off.",
                StepId::Licenses,
            )
        });
        items.push(match &view.usage_location {
            Some(code) => item(
                "usage-location",
                "Default usage location",
                ReviewStatus::Ready,
                format!(
                    "{code} ({}) for users who have none.",
                    super::licenses::country_name(code).unwrap_or(code)
                ),
                StepId::Licenses,
            ),
            None => item(
                "usage-location",
                "Default usage location",
                if licensing {
                    ReviewStatus::Warning
                } else {
                    ReviewStatus::Ready
                },
                "None is set: Microsoft cannot license users without a usage location, so users who \
                 have none in Okta would stay unlicensed.",
                StepId::Licenses,
            ),
        });
        for w in &view.warnings {
            let part = view
                .licenses
                .iter()
                .find(|l| l.sku_id == w.sku_id)
                .map(|l| l.sku_part_number.clone())
                .unwrap_or_else(|| w.sku_id.clone());
            items.push(item(
                format!("seat-{part}"),
                &format!("Seats of {part}"),
                ReviewStatus::Warning,
                w.message.clone(),
                StepId::Licenses,
            ));
        }

        let ready = items.iter().all(|i| i.status != ReviewStatus::Missing);
        steps.finish(if ready {
            "The profile is ready"
        } else {
            "Some items are missing"
        });
        tracing::info!(profile_id = %record.id, ready, missing = items.iter().filter(|i| i.status == ReviewStatus::Missing).count(), "reviewed the profile");
        Ok(Review {
            profile_id: record.id.to_string(),
            ready,
            items,
            operations: ops,
            permissions,
            scopes,
            reviewed_at: Timestamp::now().to_string(),
        })
    }
}

fn role_label(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Assignments => "licensed accounts",
        GroupRole::Guests => "guest accounts",
    }
}

/// The Graph permissions the operations need: per role group, the role granted, else its first
/// (least-privileged) role.
fn grant_rows(ops: &[OperationId], granted: &[String]) -> Vec<GrantRow> {
    let mut rows: Vec<GrantRow> = Vec::new();
    for op in ops {
        for group in requirements(*op).graph_roles {
            let have = group.iter().find(|r| granted.iter().any(|g| g == *r));
            let value = have.copied().unwrap_or(group[0]);
            match rows.iter_mut().find(|r| r.value == value) {
                Some(row) => {
                    if !row.operations.contains(op) {
                        row.operations.push(*op);
                    }
                }
                None => rows.push(GrantRow {
                    value: value.to_owned(),
                    operations: vec![*op],
                    granted: have.is_some(),
                }),
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    #[test]
    fn granted_roles_are_said_once() {
        let said = super::merge_granted(&[
            "Granted: Organization.Read.All.".into(),
            "Granted: User.ReadWrite.All, Organization.Read.All.".into(),
            "Granted: Mail.Send.".into(),
        ]);
        assert_eq!(
            said,
            "Granted: Organization.Read.All, User.ReadWrite.All, Mail.Send."
        );
        assert_eq!(
            super::merge_granted(&["Signed in.".into(), "Granted: A.".into()]),
            "Signed in. Granted: A."
        );
    }

    use super::*;

    #[test]
    fn grant_rows_name_the_role_granted_or_the_least_privileged_one() {
        let rows = grant_rows(
            &[OperationId::Licenses, OperationId::Deactivation],
            &["Directory.Read.All".to_owned()],
        );
        let directory = rows
            .iter()
            .find(|r| r.value == "Directory.Read.All")
            .expect("the granted alternative is shown");
        assert!(directory.granted);
        assert!(directory.operations.contains(&OperationId::Licenses));
        assert!(
            !rows.iter().any(|r| r.value == "Organization.Read.All"),
            "an alternative already satisfied is not listed as missing"
        );
        let none = grant_rows(&[OperationId::Licenses], &[]);
        assert_eq!(none.len(), 1);
        assert_eq!(none[0].value, "Organization.Read.All");
        assert!(!none[0].granted);
    }
}
