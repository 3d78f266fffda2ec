//! Triggers (docs/provisioning.md "Triggers"): polling the Okta System Log for membership and profile
//! events, and the full compare (reconcile).
//!
//! A poll reads `GET /api/v1/logs` from the `next` link saved in the `cursors` table (the first poll
//! starts at `since` = now, so nothing older is replayed), following `next` until an empty page. The
//! events of the configured groups become runs for those users, one run per operation with all of its
//! users: added to / removed from the assignments group → memberAccounts; the guests group → guests;
//! a profile update of a linked member → profileSync. Each run is planned (stored), then the new `next`
//! link is saved, then the runs are applied without confirmation, except those the blast-radius guard
//! stops: they stay `planned` for a person to confirm. A crash after the cursor was saved leaves the
//! runs `planned` or `running`; nothing is read twice and `resume_runs` finishes a `running` one.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use okta365_okta::{GroupId, LogEvent, LogQuery, OktaClient};
use okta365_store::ProfileRecord;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;

use super::{
    RUN_OPERATIONS, RunPlan, RunSummary, RunTrigger,
    context::{OKTA_SCOPES, RunContext, Scope},
    journal::{parse_run_id, summary},
};
use crate::{
    dto::{OperationId, Progress},
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
    setup::groups::{GroupRole, okta_error},
};

/// The cursor's name in the `cursors` table.
pub const CURSOR: &str = "systemLog";

/// The System Log filter of a poll.
pub const LOG_FILTER: &str = "eventType eq \"group.user_membership.add\" or eventType eq \
     \"group.user_membership.remove\" or eventType eq \"user.account.update_profile\"";

/// Pages read by one poll at most (1,000 events each); the rest is read by the next poll.
const MAX_PAGES: usize = 20;

/// What one System Log poll did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TriggerReport {
    /// Events read (membership and profile events of any group or user).
    pub events: u32,
    /// The runs the events started: applied, or `planned` when the guard stopped them.
    pub runs: Vec<RunSummary>,
    /// The saved `next` link the following poll resumes from.
    pub cursor: String,
}

/// The Okta client of a poll: provisioning's read scopes and the System Log's.
pub(crate) async fn log_client(engine: &Engine, profile: &ProfileRecord) -> Result<OktaClient> {
    let mut scopes = OKTA_SCOPES.to_vec();
    scopes.push("okta.logs.read");
    engine.okta_client(profile, &scopes).await
}

/// The Okta group id of a role: the one the Groups step stored, else the group found by its name.
pub(crate) async fn group_id(
    engine: &Engine,
    profile: &ProfileRecord,
    okta: &OktaClient,
    role: GroupRole,
) -> Result<GroupId> {
    let id = profile.id;
    let stored = engine.db(move |store| store.group_settings(id)).await?;
    let name = engine
        .group_settings(id)
        .await?
        .into_iter()
        .find(|g| g.role == role)
        .map(|g| g.name)
        .unwrap_or_else(|| role.default_name().to_owned());
    if let Some(gid) = stored
        .iter()
        .find(|g| g.role == role.as_str() && g.name == name)
        .and_then(|g| g.okta_group_id.clone())
    {
        return Ok(GroupId::new(gid));
    }
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
    })
}

/// The users each operation has events for: membership events of the two groups, profile updates of
/// linked members. Pure.
pub(crate) fn runs_for_events(
    events: &[LogEvent],
    assignments: Option<&str>,
    guests: Option<&str>,
    linked_member: &dyn Fn(&str) -> bool,
) -> BTreeMap<OperationId, BTreeSet<String>> {
    let mut out: BTreeMap<OperationId, BTreeSet<String>> = BTreeMap::new();
    for event in events {
        let user = event.target.iter().find(|t| t.kind == "User");
        let Some(user) = user else { continue };
        match event.event_type.as_str() {
            "group.user_membership.add" | "group.user_membership.remove" => {
                for group in event.target.iter().filter(|t| t.kind == "UserGroup") {
                    let operation = if Some(group.id.as_str()) == assignments {
                        OperationId::MemberAccounts
                    } else if Some(group.id.as_str()) == guests {
                        OperationId::Guests
                    } else {
                        continue;
                    };
                    out.entry(operation).or_default().insert(user.id.clone());
                }
            }
            "user.account.update_profile" if linked_member(&user.id) => {
                out.entry(OperationId::ProfileSync)
                    .or_default()
                    .insert(user.id.clone());
            }
            _ => {}
        }
    }
    out
}

/// The users added to and removed from the assignments group by these events (docs/licensing.md
/// "Triggers": added → activation, then licenses, after their member accounts; removed →
/// deactivation). Pure.
pub(crate) fn assignment_changes(
    events: &[LogEvent],
    assignments: Option<&str>,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut added, mut removed) = (BTreeSet::new(), BTreeSet::new());
    let Some(assignments) = assignments else {
        return (added, removed);
    };
    for event in events {
        let Some(user) = event.target.iter().find(|t| t.kind == "User") else {
            continue;
        };
        if !event
            .target
            .iter()
            .any(|t| t.kind == "UserGroup" && t.id == assignments)
        {
            continue;
        }
        match event.event_type.as_str() {
            "group.user_membership.add" => {
                added.insert(user.id.clone());
            }
            "group.user_membership.remove" => {
                removed.insert(user.id.clone());
            }
            _ => {}
        }
    }
    (added, removed)
}

/// The order reconcile runs the operations in: accounts first, then what depends on them.
const RECONCILE_ORDER: [OperationId; 6] = [
    OperationId::MemberAccounts,
    OperationId::ProfileSync,
    OperationId::Guests,
    OperationId::Deactivation,
    OperationId::Activation,
    OperationId::Licenses,
];

fn log_error(e: okta365_okta::Error) -> Error {
    okta_error("Reading the Okta System Log", e, "okta.logs.read")
}

impl Engine {
    /// Polls the Okta System Log of a profile once and turns its membership and profile events into
    /// runs (trigger `systemLog`), applied at once unless the blast-radius guard stops them.
    #[instrument(skip(self, progress), err)]
    pub async fn poll_system_log(
        &self,
        profile_id: &str,
        progress: &dyn ProgressSink,
    ) -> Result<TriggerReport> {
        let record = self.find(profile_id).await?;
        let okta = log_client(self, &record).await?;
        let id = record.id;
        let saved = self.db(move |store| store.cursor(id, CURSOR)).await?;
        progress.report(&Progress {
            operation: "poll_system_log".into(),
            step: "logs".into(),
            done: 0,
            total: None,
            message: "Reading the Okta System Log".into(),
        });
        let first = match &saved {
            Some(next) => match okta.logs().follow(next).await {
                Ok(page) => Some(page),
                // The org's URL changed since the cursor was saved: start again from now.
                Err(okta365_okta::Error::ForeignLink { .. }) => {
                    tracing::warn!(
                        "the saved System Log cursor is for another org; starting from now"
                    );
                    None
                }
                Err(e) => return Err(log_error(e)),
            },
            None => None,
        };
        let first_poll = first.is_none();
        // The first poll starts at the org's "now": for a sandbox profile that is the sandbox clock,
        // which tests move ahead (Okta refuses a `since` more than 180 days back).
        let since = match first {
            Some(_) => Timestamp::now(),
            None => self
                .tenant_now(&record)
                .await
                .unwrap_or_else(|_| Timestamp::now()),
        };
        let mut page = match first {
            Some(page) => page,
            None => okta
                .logs()
                .list(&LogQuery::new().since(since).filter(LOG_FILTER).limit(1000))
                .await
                .map_err(log_error)?,
        };
        let mut events: Vec<LogEvent> = Vec::new();
        let mut cursor = saved.clone();
        for _ in 0..MAX_PAGES {
            let empty = page.items().is_empty();
            if let Some(next) = page.next_url() {
                cursor = Some(next.to_string());
            }
            let next = if empty || page.next_url().is_none() {
                None
            } else {
                page.next_page().await.map_err(log_error)?
            };
            events.extend(page.into_items());
            match next {
                Some(p) => page = p,
                None => break,
            }
        }
        let Some(cursor) = cursor else {
            return Err(Error::Vendor {
                message:
                    "The Okta System Log answered without a next link to poll from; try again \
                          later."
                        .into(),
            });
        };
        // The first poll saves where "now" is and replays nothing older (events recorded since the
        // poll started are new, so they are handled).
        let count = events.len() as u32;
        let mut planned: Vec<RunPlan> = Vec::new();
        // Planned after the member accounts are applied: activation, then licenses, of added users.
        let mut follow_ups: Vec<(OperationId, BTreeSet<String>)> = Vec::new();
        if !events.is_empty() {
            let ctx = RunContext::load(self, record.clone()).await?;
            let enabled = self.profile(profile_id).await?.operations;
            let assignments = group_id(self, &record, &okta, GroupRole::Assignments)
                .await
                .ok();
            let guests = group_id(self, &record, &okta, GroupRole::Guests).await.ok();
            let linked = |uid: &str| ctx.member_links.contains_key(uid);
            let mut wanted = runs_for_events(
                &events,
                assignments.as_ref().map(GroupId::as_str),
                guests.as_ref().map(GroupId::as_str),
                &linked,
            );
            let (added, removed) =
                assignment_changes(&events, assignments.as_ref().map(GroupId::as_str));
            if !removed.is_empty() {
                wanted.insert(OperationId::Deactivation, removed);
            }
            for op in [OperationId::Activation, OperationId::Licenses] {
                if !added.is_empty() && enabled.contains(&op) {
                    follow_ups.push((op, added.clone()));
                }
            }
            for (operation, users) in wanted {
                if !enabled.contains(&operation) {
                    tracing::info!(
                        operation = operation.as_str(),
                        "System Log events for an operation not enabled on the profile; ignored"
                    );
                    continue;
                }
                let scope = Scope::Users(users.into_iter().collect());
                planned.push(
                    self.plan_with(&ctx, operation, RunTrigger::SystemLog, &scope)
                        .await?,
                );
            }
        }
        let saved_cursor = cursor.clone();
        self.db(move |store| store.set_cursor(id, CURSOR, &saved_cursor))
            .await?;
        let mut runs = Vec::new();
        for plan in planned {
            if let Some(summary) = self.settle(&plan, progress).await? {
                runs.push(summary);
            }
        }
        if !follow_ups.is_empty() {
            // A fresh context: the member accounts just created are linked now.
            let ctx = RunContext::load(self, record.clone()).await?;
            for (operation, users) in follow_ups {
                let scope = Scope::Users(users.into_iter().collect());
                let plan = self
                    .plan_with(&ctx, operation, RunTrigger::SystemLog, &scope)
                    .await?;
                if let Some(summary) = self.settle(&plan, progress).await? {
                    runs.push(summary);
                }
            }
        }
        tracing::info!(
            events = count,
            runs = runs.len(),
            first_poll,
            "System Log polled"
        );
        Ok(TriggerReport {
            events: count,
            runs,
            cursor,
        })
    }

    /// Plans every member of each operation enabled on the profile (or only `operation`) as a run
    /// with trigger `reconcile`, applied at once unless the guard stops it.
    #[instrument(skip(self), err)]
    pub async fn reconcile(
        &self,
        profile_id: &str,
        operation: Option<OperationId>,
    ) -> Result<Vec<RunSummary>> {
        let profile = self.profile(profile_id).await?;
        let operations: Vec<OperationId> = match operation {
            Some(op) if RUN_OPERATIONS.contains(&op) => vec![op],
            Some(op) => {
                return Err(Error::invalid(format!(
                    "{} is not an operation runs are planned for; use memberAccounts, profileSync, \
                     guests, licenses, deactivation or activation.",
                    op.as_str()
                )));
            }
            None => RECONCILE_ORDER
                .into_iter()
                .filter(|op| RUN_OPERATIONS.contains(op) && profile.operations.contains(op))
                .collect(),
        };
        let record = self.find(profile_id).await?;
        let mut out = Vec::new();
        // Each operation is planned once the one before it is applied (licenses see the accounts
        // just created), with a context read afresh.
        for op in operations {
            let ctx = RunContext::load(self, record.clone()).await?;
            let plan = self
                .plan_with(&ctx, op, RunTrigger::Reconcile, &Scope::All)
                .await?;
            if let Some(summary) = self.settle(&plan, &()).await? {
                out.push(summary);
            }
        }
        Ok(out)
    }

    /// A triggered plan: thrown away when it is empty (no run to show), kept `planned` when the guard
    /// stopped it or it has nothing to write, applied otherwise.
    pub(crate) async fn settle(
        &self,
        plan: &RunPlan,
        progress: &dyn ProgressSink,
    ) -> Result<Option<RunSummary>> {
        let id = parse_run_id(&plan.run_id)?;
        if plan.changes.is_empty() && plan.skipped.is_empty() {
            self.db(move |store| store.delete_run(id)).await?;
            return Ok(None);
        }
        if plan.guard.is_some() || plan.changes.is_empty() {
            if let Some(g) = &plan.guard {
                tracing::warn!(run_id = %id, destructive = g.destructive, "a triggered run was stopped by the guard; it stays planned");
            }
            return self.stored_summary(id).await.map(Some);
        }
        self.apply_run(&plan.run_id, None, progress).await.map(Some)
    }

    pub(crate) async fn stored_summary(&self, id: uuid::Uuid) -> Result<RunSummary> {
        let (record, steps) = self
            .db(move |store| Ok((store.run(id)?, store.run_steps(id)?)))
            .await?;
        let record = record.ok_or_else(|| Error::invalid(format!("Run {id} is gone.")))?;
        summary(&record, &steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, user: &str, group: Option<&str>) -> LogEvent {
        let mut target = vec![serde_json::json!({ "id": user, "type": "User" })];
        if let Some(g) = group {
            target.push(serde_json::json!({ "id": g, "type": "UserGroup" }));
        }
        serde_json::from_value(serde_json::json!({
            "uuid": "x", "published": "2026-01-01T00:00:00.000Z", "eventType": kind, "target": target
        }))
        .unwrap()
    }

    #[test]
    fn membership_of_the_assignments_group_splits_into_added_and_removed() {
        let events = vec![
            event("group.user_membership.add", "u1", Some("gA")),
            event("group.user_membership.remove", "u2", Some("gA")),
            event("group.user_membership.add", "u3", Some("gOther")),
            event("user.account.update_profile", "u4", None),
        ];
        let (added, removed) = assignment_changes(&events, Some("gA"));
        assert_eq!(added, ["u1"].into_iter().map(String::from).collect());
        assert_eq!(removed, ["u2"].into_iter().map(String::from).collect());
        let (added, removed) = assignment_changes(&events, None);
        assert!(added.is_empty() && removed.is_empty());
    }

    #[test]
    fn events_become_one_run_per_operation_with_all_its_users() {
        let events = vec![
            event("group.user_membership.add", "u1", Some("gA")),
            event("group.user_membership.add", "u2", Some("gA")),
            event("group.user_membership.remove", "u1", Some("gA")),
            event("group.user_membership.add", "u3", Some("gOther")),
            event("group.user_membership.remove", "u4", Some("gG")),
            event("user.account.update_profile", "u5", None),
            event("user.account.update_profile", "u6", None),
        ];
        let linked = |u: &str| u == "u5";
        let runs = runs_for_events(&events, Some("gA"), Some("gG"), &linked);
        assert_eq!(runs.len(), 3);
        assert_eq!(
            runs[&OperationId::MemberAccounts],
            ["u1", "u2"].into_iter().map(String::from).collect()
        );
        assert_eq!(
            runs[&OperationId::Guests],
            ["u4"].into_iter().map(String::from).collect()
        );
        assert_eq!(
            runs[&OperationId::ProfileSync],
            ["u5"].into_iter().map(String::from).collect(),
            "only linked users' profile updates"
        );
    }
}
