//! The one-click test run (docs/provisioning.md "One-click test run"): one user — given, or a throwaway
//! `okta365-test-<n>@…` Okta user created in the operation's group — planned and applied alone
//! (trigger `testRun`), then the Microsoft account read back through its link. `cleanup_test_user`
//! removes a throwaway user again: its Microsoft account (journaled as a run, like every write to a
//! tenant) and the Okta user (deactivated, then deleted).

use std::time::Instant;

use jiff::Timestamp;
use okta365_okta::{OktaClient, UserId};
use okta365_store::{
    ProfileRecord,
    runs::{RunRecord, RunStepRecord, StepOutcome},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::instrument;
use ts_rs::TS;
use uuid::Uuid;

use super::{
    ChangeKind, PlannedChange, RUN_OPERATIONS, RunDetail, RunPlan, RunTrigger, StepResult,
    context::{OKTA_SCOPES, RunContext, Scope},
    settings::UsernameFormat,
    triggers::group_id,
};
use crate::{
    dto::OperationId,
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
    setup::groups::{GroupRole, okta_error},
};

/// The login prefix of throwaway test users; only such users are removed by a cleanup.
pub const TEST_USER_PREFIX: &str = "okta365-test-";

/// A request for a test run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestRunRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// The operation.
    pub operation: OperationId,
    /// The Okta user (id or login); `null`: create a throwaway `okta365-test-<n>@…` user in the group.
    pub okta_user_id: Option<String>,
}

/// What a test run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestRunResult {
    /// The run, with its journal.
    pub run: RunDetail,
    /// The Microsoft user as read back through the link (`null` when there is none).
    #[ts(type = "unknown")]
    pub read_back: Value,
    /// The Okta user id of the throwaway user created for the run (clean it up afterwards).
    pub created_test_user: Option<String>,
}

/// An Okta client that may create and delete users and change memberships.
async fn writer(engine: &Engine, profile: &ProfileRecord) -> Result<OktaClient> {
    let mut scopes = OKTA_SCOPES.to_vec();
    scopes.extend(["okta.users.manage", "okta.groups.manage"]);
    engine.okta_client(profile, &scopes).await
}

fn role_of(operation: OperationId) -> GroupRole {
    match operation {
        OperationId::Guests => GroupRole::Guests,
        _ => GroupRole::Assignments,
    }
}

/// The domain of a throwaway user's login: a verified domain for members (the username format's,
/// else the default one); for guests an outside domain (inviting an address of a verified domain is
/// refused).
fn test_domain(ctx: &RunContext, operation: OperationId) -> Result<String> {
    if operation == OperationId::Guests {
        return Ok(["example.com", "example.org", "example.net"]
            .into_iter()
            .find(|d| !ctx.domains.verified.iter().any(|v| v == d))
            .unwrap_or("example.com")
            .to_owned());
    }
    if let UsernameFormat::EmailLocalPart { domain } = &ctx.settings.username
        && ctx
            .domains
            .verified
            .iter()
            .any(|v| v.eq_ignore_ascii_case(domain))
    {
        return Ok(domain.to_ascii_lowercase());
    }
    ctx.domains
        .default
        .clone()
        .or_else(|| ctx.domains.verified.first().cloned())
        .ok_or_else(|| {
            Error::invalid(
                "The tenant has no verified domain for a test user's login; verify a domain in \
                 Microsoft Entra, or name an existing Okta user for the test run.",
            )
        })
}

impl Engine {
    /// Runs one operation for one user: the given Okta user, or a throwaway user created in the
    /// operation's group. The run (trigger `testRun`) is applied unless the guard stops it; the result
    /// holds its journal and the Microsoft user read back through the link.
    #[instrument(skip(self, progress), err)]
    pub async fn test_run(
        &self,
        req: TestRunRequest,
        progress: &dyn ProgressSink,
    ) -> Result<TestRunResult> {
        if !RUN_OPERATIONS.contains(&req.operation) {
            return Err(Error::invalid(format!(
                "{} has no test run; use memberAccounts, profileSync or guests.",
                req.operation.as_str()
            )));
        }
        let record = self.find(&req.profile_id).await?;
        let ctx = RunContext::load(self, record.clone()).await?;
        let (user_id, created) = match req
            .okta_user_id
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(user) => match ctx.okta.users().get(user).await {
                Ok(found) => (found.id.as_str().to_owned(), None),
                Err(e) if e.status() == Some(404) => {
                    return Err(Error::invalid(format!(
                        "No Okta user has the login or id \"{user}\". Check the spelling (logins are \
                         usually email addresses)."
                    )));
                }
                Err(e) => {
                    return Err(okta_error(
                        &format!("Looking up the Okta user \"{user}\""),
                        e,
                        "okta.users.read",
                    ));
                }
            },
            None if req.operation == OperationId::ProfileSync => {
                return Err(Error::invalid(
                    "A profile sync test needs a user who already has a Microsoft account: name an Okta \
                     user who is linked (run Member accounts for them first).",
                ));
            }
            None => {
                let id = self.create_test_user(&ctx, req.operation).await?;
                (id.clone(), Some(id))
            }
        };
        let plan = self
            .plan_with(
                &ctx,
                req.operation,
                RunTrigger::TestRun,
                &Scope::Users(vec![user_id.clone()]),
            )
            .await?;
        if plan.guard.is_none() {
            self.apply_run(&plan.run_id, None, progress).await?;
        }
        let kind = if req.operation == OperationId::Guests {
            "guest"
        } else {
            "member"
        };
        let (pid, uid) = (record.id, user_id.clone());
        let link = self.db(move |store| store.link(pid, &uid, kind)).await?;
        let read_back = match link {
            Some(link) => match ctx
                .graph
                .users()
                .get(&okta365_graph::UserId::new(link.entra_id.clone()))
                .await
            {
                Ok(user) => serde_json::to_value(user).unwrap_or(Value::Null),
                Err(e) => json!({ "error": e.explanation().sentence() }),
            },
            None => Value::Null,
        };
        Ok(TestRunResult {
            run: self.run_detail(&plan.run_id).await?,
            read_back,
            created_test_user: created,
        })
    }

    /// Creates `okta365-test-<n>@<domain>` (the first free `n`) in the operation's group.
    async fn create_test_user(&self, ctx: &RunContext, operation: OperationId) -> Result<String> {
        let domain = test_domain(ctx, operation)?;
        let okta = writer(self, &ctx.profile).await?;
        let group = group_id(self, &ctx.profile, &okta, role_of(operation)).await?;
        for n in 1..=200u32 {
            let login = format!("{TEST_USER_PREFIX}{n}@{domain}");
            match okta.users().get(&login).await {
                Ok(_) => continue,
                Err(e) if e.status() == Some(404) => {}
                Err(e) => {
                    return Err(okta_error(
                        "Looking for a free test login",
                        e,
                        "okta.users.read",
                    ));
                }
            }
            let profile = json!({
                "login": login,
                "email": login,
                "firstName": "okta365",
                "lastName": format!("Test {n}"),
                "displayName": format!("okta365 Test {n}"),
            });
            let user = okta
                .user_writes()
                .create(&profile, std::slice::from_ref(&group))
                .await
                .map_err(|e| {
                    okta_error(
                        &format!("Creating the test user {login} in Okta"),
                        e,
                        "okta.users.manage",
                    )
                })?;
            tracing::info!(okta_user_id = %user.id, "test user created");
            return Ok(user.id.as_str().to_owned());
        }
        Err(Error::invalid(format!(
            "Every test login {TEST_USER_PREFIX}1…200@{domain} is taken in Okta; clean up earlier test \
             users first."
        )))
    }

    /// Removes a throwaway test user: its Microsoft accounts (each delete journaled as a run with
    /// trigger `testRun`) and the Okta user (deactivated, then deleted). Only users whose login starts
    /// with `okta365-test-` are removed.
    #[instrument(skip(self), err)]
    pub async fn cleanup_test_user(&self, profile_id: &str, okta_user_id: &str) -> Result<()> {
        let record = self.find(profile_id).await?;
        let ctx = RunContext::load(self, record.clone()).await?;
        let user = match ctx.okta.users().get(okta_user_id.trim()).await {
            Ok(u) => Some(u),
            Err(e) if e.status() == Some(404) => None,
            Err(e) => {
                return Err(okta_error(
                    &format!("Looking up the Okta user \"{okta_user_id}\""),
                    e,
                    "okta.users.read",
                ));
            }
        };
        let uid = user
            .as_ref()
            .map(|u| u.id.as_str().to_owned())
            .unwrap_or_else(|| okta_user_id.trim().to_owned());
        let is_test = |login: &str| login.to_ascii_lowercase().starts_with(TEST_USER_PREFIX);
        if let Some(u) = &user
            && !is_test(&u.profile.login)
        {
            return Err(Error::invalid(format!(
                "{} is not a throwaway test user (their login does not start with {TEST_USER_PREFIX}); \
                 okta365 removes only the users it created for a test run.",
                u.profile.login
            )));
        }
        let (pid, id) = (record.id, uid.clone());
        let links = self
            .db(move |store| {
                Ok(store
                    .links(pid, None)?
                    .into_iter()
                    .filter(|l| l.okta_user_id == id)
                    .collect::<Vec<_>>())
            })
            .await?;
        for link in links {
            self.journaled_delete(&ctx, &link).await?;
        }
        if user.is_some() {
            let okta = writer(self, &record).await?;
            okta.user_writes()
                .deactivate_and_delete(&UserId::new(uid.clone()))
                .await
                .map_err(|e| {
                    okta_error(
                        "Deactivating and deleting the test user in Okta",
                        e,
                        "okta.users.manage",
                    )
                })?;
            tracing::info!(okta_user_id = %uid, "test user removed");
        }
        Ok(())
    }

    /// Deletes a linked Microsoft account as a one-step run (trigger `testRun`), journaled before and
    /// after the write; the link is forgotten when the account is gone.
    async fn journaled_delete(
        &self,
        ctx: &RunContext,
        link: &okta365_store::runs::LinkRecord,
    ) -> Result<()> {
        let operation = if link.kind == "guest" {
            OperationId::Guests
        } else {
            OperationId::MemberAccounts
        };
        let run_id = Uuid::new_v4();
        let now = Timestamp::now();
        let label = link
            .upn
            .clone()
            .or_else(|| link.mail.clone())
            .unwrap_or_else(|| link.okta_user_id.clone());
        let change = PlannedChange {
            seq: 1,
            okta_user_id: link.okta_user_id.clone(),
            user_label: label.clone(),
            kind: ChangeKind::DeleteUser,
            target: label.clone(),
            fields: Vec::new(),
            warning: Some("Cleanup of a test run's throwaway user.".into()),
            detail: None,
        };
        let plan = RunPlan {
            run_id: run_id.to_string(),
            profile_id: ctx.profile.id.to_string(),
            operation,
            trigger: RunTrigger::TestRun,
            changes: vec![change.clone()],
            skipped: Vec::new(),
            guard: None,
            planned_at: now.to_string(),
            undo_of: None,
        };
        let step = RunStepRecord {
            run_id,
            seq: 1,
            okta_user_id: change.okta_user_id.clone(),
            user_label: change.user_label.clone(),
            kind: ChangeKind::DeleteUser.as_str().to_owned(),
            target: change.target.clone(),
            status: "pending".into(),
            ..Default::default()
        };
        let run = RunRecord {
            id: run_id,
            profile_id: ctx.profile.id,
            operation: operation.as_str().to_owned(),
            trigger: RunTrigger::TestRun.as_str().to_owned(),
            scope: Scope::Users(vec![link.okta_user_id.clone()]).to_json(),
            status: "planned".into(),
            plan: serde_json::to_string(&plan).expect("a plan serializes"),
            guard: None,
            created_at: now,
            started_at: None,
            finished_at: None,
            counts: None,
            undo_of: None,
        };
        self.db(move |store| {
            store.insert_run(&run, &[step])?;
            store.start_run(run_id, &["planned"], Timestamp::now())?;
            Ok(())
        })
        .await?;
        let entra_id = link.entra_id.clone();
        let summary = json!({ "method": "DELETE", "path": format!("/users/{entra_id}") });
        let request = summary.to_string();
        self.db(move |store| store.step_started(run_id, 1, Some(&request), Timestamp::now()))
            .await?;
        let start = Instant::now();
        let answer = ctx
            .graph
            .write(&okta365_graph::users::delete_user(&entra_id))
            .await;
        let duration = start.elapsed().as_millis() as i64;
        let result = match &answer {
            Ok(a) if a.status == 404 => StepResult {
                request: summary.clone(),
                http_status: Some(404),
                request_id: a.request_id.clone(),
                ..StepResult::superseded(json!({ "id": entra_id, "gone": true }), None)
            },
            Ok(a) => StepResult::from_write(summary.clone(), a, Value::Null),
            Err(e) => StepResult::from_graph_error(summary.clone(), e),
        };
        let gone = matches!(&answer, Ok(a) if a.is_success() || a.status == 404);
        let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
        let out = StepOutcome {
            status: result.status.as_str().to_owned(),
            request: text(&result.request),
            response: text(&result.response),
            http_status: result.http_status.map(i64::from),
            vendor_code: result.vendor_code.clone(),
            vendor_message: result.vendor_message.clone(),
            request_id: result.request_id.clone(),
            fix: result.fix.clone(),
            duration_ms: Some(duration),
        };
        let (pid, okta_user, kind) = (ctx.profile.id, link.okta_user_id.clone(), link.kind.clone());
        let status = if gone { "succeeded" } else { "failed" };
        let counts = json!({
            "changes": 1,
            "done": u32::from(gone && result.status.as_str() == "done"),
            "superseded": u32::from(result.status.as_str() == "superseded"),
            "failed": u32::from(!gone),
            "skipped": 0,
        })
        .to_string();
        self.db(move |store| {
            store.step_finished(run_id, 1, &out, Timestamp::now())?;
            if gone {
                store.delete_link(pid, &okta_user, &kind)?;
            }
            store.finish_run(run_id, status, &counts, Timestamp::now())?;
            Ok(())
        })
        .await?;
        if !gone {
            return Err(Error::Vendor {
                message: format!(
                    "Deleting the Microsoft account {label} failed: {}. See run {run_id} in the history.",
                    result
                        .vendor_message
                        .unwrap_or_else(|| "no answer".to_owned())
                ),
            });
        }
        Ok(())
    }
}
