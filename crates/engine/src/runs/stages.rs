//! Durable delays (docs/licensing.md "Stages, durable delays"): the second stage of a staged
//! deactivation kept in SQLite until it comes due on the tenant clock, then run as its own run
//! (trigger `schedule`, scope = the user, no guard).
//!
//! A due stage is claimed (pending → running with its run id and how late it started) before its run is
//! applied, so two schedulers never run it twice; a crash leaves it `running` with its run id, and the
//! run's end (also after `resume_runs`) finishes it `done` or `failed` ([`Engine::run_finished`]).

use jiff::{SignedDuration, Timestamp};
use okta365_store::{ProfileKind, ProfileRecord, lifecycle::StageRecord, runs::RunStepRecord};
use tracing::instrument;
use url::Url;
use uuid::Uuid;

use super::{
    RunPlan, RunStatus, RunSummary, RunTrigger,
    context::{RunContext, Scope},
    journal::PlanOptions,
    ops::Planned,
};
use crate::{
    dto::{DueReport, OperationId, Stage, StageStatus},
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
};

/// A stage that starts more than this many seconds after its due time ran late.
pub const LATE_AFTER_SECS: i64 = 60;

/// What stage 2 of a staged deactivation does for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StagePlan {
    /// Nothing to do: the stage is cancelled with this reason (e.g. "back in the assignments group").
    Cancel(String),
    /// These changes (`removeLicenses`, `emailManager`).
    Run(Planned),
}

fn stage_out(record: StageRecord, now: Option<Timestamp>) -> Stage {
    let status = StageStatus::parse(&record.status).unwrap_or(StageStatus::Failed);
    let late_secs = match (status, now) {
        (StageStatus::Pending, Some(now)) => {
            let past = now.duration_since(record.due_at).as_secs();
            (past > 0).then_some(past)
        }
        _ => record.late_secs,
    };
    Stage {
        id: record.id,
        profile_id: record.profile_id.to_string(),
        okta_user_id: record.okta_user_id,
        user_label: record.user_label,
        entra_id: record.entra_id,
        kind: record.kind,
        due_at: record.due_at.to_string(),
        status,
        created_at: record.created_at.to_string(),
        scheduled_by_run: record.scheduled_by_run.to_string(),
        run_id: record.run_id.map(|id| id.to_string()),
        started_at: record.started_at.map(|t| t.to_string()),
        finished_at: record.finished_at.map(|t| t.to_string()),
        late_secs,
        cancel_reason: record.cancel_reason,
    }
}

fn stage_not_found(id: i64) -> Error {
    Error::invalid(format!(
        "No stage has the id {id}. List the stages with `okta365 stages list --all`."
    ))
}

impl Engine {
    /// The engine's "now" for the stages of a profile: the wall clock for a real tenant; for a sandbox
    /// profile the sandbox's clock (wall clock + `clock.offsetSecs` of `GET /_sandbox/state`).
    pub(crate) async fn tenant_now(&self, profile: &ProfileRecord) -> Result<Timestamp> {
        let now = Timestamp::now();
        if profile.kind != ProfileKind::Sandbox {
            return Ok(now);
        }
        let unreachable = |detail: String| Error::SandboxUnreachable {
            url: profile.okta_org_url.clone(),
            detail,
        };
        let url = Url::parse(&profile.okta_org_url)
            .and_then(|base| base.join("/_sandbox/state"))
            .map_err(|e| unreachable(e.to_string()))?;
        let response = self
            .inner
            .vendor
            .for_url(&url)
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unreachable(format!(
                "its state answered HTTP {}",
                response.status().as_u16()
            )));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|_| unreachable("its state did not answer JSON".to_owned()))?;
        let offset = body
            .pointer("/clock/offsetSecs")
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        Ok(now
            .checked_add(SignedDuration::from_secs(offset))
            .unwrap_or(now))
    }

    /// A profile's stages by due time: pending and running ones, or every one with `include_finished`.
    /// A pending stage past its due time shows how late it is now (`lateSecs`).
    #[instrument(skip(self), err)]
    pub async fn list_stages(
        &self,
        profile_id: &str,
        include_finished: bool,
    ) -> Result<Vec<Stage>> {
        let profile = self.find(profile_id).await?;
        let id = profile.id;
        let statuses: &'static [&'static str] = if include_finished {
            &[]
        } else {
            &["pending", "running"]
        };
        let records = self.db(move |store| store.stages(id, statuses)).await?;
        let now = if records.iter().any(|s| s.status == "pending") {
            Some(self.tenant_now(&profile).await?)
        } else {
            None
        };
        Ok(records.into_iter().map(|r| stage_out(r, now)).collect())
    }

    /// Cancels a pending stage (the licenses are then not removed).
    #[instrument(skip(self), err)]
    pub async fn cancel_stage(&self, stage_id: i64) -> Result<Stage> {
        let record = self
            .db(move |store| store.stage(stage_id))
            .await?
            .ok_or_else(|| stage_not_found(stage_id))?;
        let profile = self.find_by_id(record.profile_id).await?;
        let now = self.tenant_now(&profile).await?;
        let cancelled = self
            .db(move |store| store.cancel_stage(stage_id, "Cancelled by an administrator", now))
            .await?;
        if !cancelled {
            return Err(Error::invalid(format!(
                "Stage {stage_id} is {}; only a pending stage can be cancelled.",
                record.status
            )));
        }
        tracing::info!(stage_id, "cancelled a stage");
        let record = self
            .db(move |store| store.stage(stage_id))
            .await?
            .ok_or_else(|| stage_not_found(stage_id))?;
        Ok(stage_out(record, Some(now)))
    }

    /// Plans and applies a pending stage at once, whatever its due time.
    #[instrument(skip(self, progress), err)]
    pub async fn run_stage_now(
        &self,
        stage_id: i64,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        let record = self
            .db(move |store| store.stage(stage_id))
            .await?
            .ok_or_else(|| stage_not_found(stage_id))?;
        if record.status != "pending" {
            return Err(Error::invalid(format!(
                "Stage {stage_id} is {}; only a pending stage can be run.",
                record.status
            )));
        }
        let profile = self.find_by_id(record.profile_id).await?;
        let now = self.tenant_now(&profile).await?;
        self.run_stage(profile, record, now, progress).await
    }

    /// Runs every pending stage that is due on its profile's tenant clock (one profile, or every
    /// profile): claim, plan stage 2, apply. Returns the runs applied and the stages that started late
    /// (more than a minute past due). A stage that cannot be run now is logged and left for the next
    /// round.
    #[instrument(skip(self, progress), err)]
    pub async fn run_due_stages(
        &self,
        profile_id: Option<&str>,
        progress: &dyn ProgressSink,
    ) -> Result<DueReport> {
        let profiles = match profile_id {
            Some(p) => vec![self.find(p).await?],
            None => self.db(|store| store.list_profiles()).await?,
        };
        let mut report = DueReport {
            ran: Vec::new(),
            late: Vec::new(),
        };
        for profile in profiles {
            let id = profile.id;
            let pending = self.db(move |store| store.stages(id, &["pending"])).await?;
            if pending.is_empty() {
                continue;
            }
            let now = match self.tenant_now(&profile).await {
                Ok(now) => now,
                Err(e) if profile_id.is_none() => {
                    tracing::warn!(profile_id = %id, error = %e, "the tenant clock cannot be read; stages wait");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let due = self
                .db(move |store| store.due_stages(Some(id), now))
                .await?;
            if due.is_empty() {
                continue;
            }
            let stage_ids: Vec<i64> = due.iter().map(|s| s.id).collect();
            match self.run_stages(profile.clone(), due, now, progress).await {
                Ok(summary) => {
                    report.ran.push(summary);
                    for stage_id in stage_ids {
                        if let Some(record) = self.db(move |store| store.stage(stage_id)).await?
                            && record.late_secs.unwrap_or(0) > LATE_AFTER_SECS
                        {
                            report.late.push(stage_out(record, None));
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(profile_id = %id, error = %e, "due stages could not be run; they are retried next round");
                }
            }
        }
        Ok(report)
    }

    /// One stage's run: [`Engine::run_stages`] with one stage.
    async fn run_stage(
        &self,
        profile: ProfileRecord,
        stage: StageRecord,
        now: Timestamp,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        self.run_stages(profile, vec![stage], now, progress).await
    }

    /// The run of stages of one profile: plan stage 2 of each (the group, SKUs and users read once for
    /// all), cancel the stages whose plan cancels them, record one run (trigger `schedule`, no guard)
    /// with every other stage's changes, claim those stages with it, apply. A round with only
    /// cancelled stages still records its (empty) run, so the round shows in the history.
    async fn run_stages(
        &self,
        profile: ProfileRecord,
        stages: Vec<StageRecord>,
        now: Timestamp,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        let ctx = RunContext::load(self, profile).await?;
        let plans = super::ops::deactivation::plan_stages(&ctx, &stages).await?;
        let mut planned = Planned::default();
        let mut claimed_stages = Vec::new();
        let mut users = Vec::new();
        for (stage, (_, plan)) in stages.iter().zip(plans) {
            users.push(stage.okta_user_id.clone());
            match plan {
                StagePlan::Run(one) => {
                    planned.members = planned.members.max(one.members);
                    if one.changes.is_empty() && one.skipped.is_empty() {
                        continue;
                    }
                    planned.changes.extend(one.changes);
                    planned.skipped.extend(one.skipped);
                    claimed_stages.push(stage);
                }
                StagePlan::Cancel(reason) => {
                    let stage_id = stage.id;
                    let cancelled = self
                        .db(move |store| store.cancel_stage(stage_id, &reason, now))
                        .await?;
                    if cancelled {
                        tracing::info!(stage_id, "a due stage was cancelled by its plan");
                    } else {
                        tracing::info!(stage_id, "a stage was run or cancelled meanwhile");
                    }
                }
            }
        }
        let plan: RunPlan = self
            .record_plan(
                &ctx,
                OperationId::Deactivation,
                RunTrigger::Schedule,
                &Scope::Users(users),
                planned,
                PlanOptions {
                    skip_guard: true,
                    ..Default::default()
                },
            )
            .await?;
        let run_id = super::journal::parse_run_id(&plan.run_id)?;
        let mut claimed: Vec<i64> = Vec::new();
        for stage in claimed_stages {
            let late = now.duration_since(stage.due_at).as_secs().max(0);
            let stage_id = stage.id;
            let ok = self
                .db(move |store| store.claim_stage(stage_id, run_id, now, Some(late)))
                .await?;
            if !ok {
                // Another okta365 process ran or cancelled it: this run is thrown away before it
                // writes anything, the stages it claimed go back to pending, and the next round
                // plans again.
                self.db(move |store| {
                    for id in &claimed {
                        store.release_stage(*id, run_id)?;
                    }
                    store.set_run_status(run_id, "discarded")?;
                    Ok(())
                })
                .await?;
                return Err(Error::invalid(format!(
                    "Stage {stage_id} is no longer pending; another okta365 process ran or cancelled it."
                )));
            }
            tracing::info!(stage_id, %run_id, late_secs = late, "stage claimed");
            claimed.push(stage_id);
        }
        self.apply_run(&plan.run_id, None, progress).await
    }

    /// Called at the end of every apply (and resume): a `schedule` run finishes its stage (`done`, or
    /// `failed` when a change failed); a licenses, deactivation or activation run that wrote anything
    /// records the seats. Never fails the run: problems are logged.
    pub(crate) async fn run_finished(
        &self,
        ctx: &RunContext,
        plan: &RunPlan,
        summary: &RunSummary,
        steps: &[RunStepRecord],
    ) {
        let Ok(run_id) = Uuid::parse_str(&plan.run_id) else {
            return;
        };
        let settled = matches!(
            summary.status,
            RunStatus::Succeeded | RunStatus::Partial | RunStatus::Failed
        );
        if plan.trigger == RunTrigger::Schedule && settled {
            // A stage run carries the stages of one round: each is done, or failed when one of its
            // user's changes failed.
            let profile_id = ctx.profile.id;
            let failed_users: std::collections::HashSet<String> = steps
                .iter()
                .filter(|s| s.status == "failed")
                .map(|s| s.okta_user_id.clone())
                .collect();
            let whole_run_failed = summary.status == RunStatus::Failed && failed_users.is_empty();
            let at = self
                .tenant_now(&ctx.profile)
                .await
                .unwrap_or_else(|_| Timestamp::now());
            let finished = self
                .db(move |store| {
                    let mut n = 0;
                    for s in store.stages(profile_id, &["running"])? {
                        if s.run_id == Some(run_id) {
                            let status =
                                if whole_run_failed || failed_users.contains(&s.okta_user_id) {
                                    "failed"
                                } else {
                                    "done"
                                };
                            store.finish_stage(s.id, status, at)?;
                            n += 1;
                        }
                    }
                    Ok(n)
                })
                .await;
            match finished {
                Ok(n) if n > 0 => tracing::info!(%run_id, stages = n, "stages finished"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(%run_id, error = %e, "the stages of a finished run could not be updated")
                }
            }
        }
        let licensing = matches!(
            plan.operation,
            OperationId::Licenses | OperationId::Deactivation | OperationId::Activation
        );
        if licensing
            && steps.iter().any(|s| s.status == "done")
            && let Err(e) = self.record_seats(&ctx.profile, Some(run_id)).await
        {
            tracing::warn!(%run_id, error = %e, "the seats after a run could not be recorded");
        }
    }
}
