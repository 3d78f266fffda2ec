//! Planning and applying runs, with the run journal (docs/provisioning.md "Plans and runs").
//!
//! Every write is recorded `started` (with its request summary, never a password) and committed before
//! it is sent, then `done` / `failed` with the HTTP status, vendor code and message, request id,
//! duration and, for failures, the fix in plain words. Just before a write the change is re-checked
//! against the live tenant (the operation's `found`): a change already made is `superseded` with what
//! was found, not written. Graph writes of a run with more than one go through `$batch`, 20 at a time,
//! under the client's write budget.
//!
//! A crash leaves the run `running` with its last steps `started`. [`Engine::resume_runs`] takes each
//! such run (one process at a time: a run being applied holds a lock file), asks `found` for each
//! `started` step (found → `superseded` with what was found; not found → written again), then applies
//! the rest. Nothing is created twice and nothing is lost.

use std::{
    collections::{BTreeMap, HashSet},
    fs::File,
    path::PathBuf,
    time::Instant,
};

use jiff::Timestamp;
use okta365_store::runs::{LinkRecord, RunRecord, RunStepRecord, StepOutcome};
use serde_json::{Value, json};
use tracing::instrument;
use uuid::Uuid;

use super::{
    GuardStop, PLAN_MAX_AGE_MINS, PlanRunRequest, PlannedChange, RUN_OPERATIONS, RunPlan,
    RunStatus, RunSummary, RunTrigger, StepStatus,
    context::{RunContext, Scope},
    ops::{self, LinkChange, Prepared, StepResult},
    parse_operation,
};
use crate::{
    dto::{OperationId, Progress},
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
};

/// Writes per `$batch`.
const BATCH: usize = okta365_graph::batch::MAX_BATCH;

/// The guard: destructive changes over the maximum of users or of the percentage of members.
pub(crate) fn guard(
    destructive: u32,
    members: u32,
    max_users: u32,
    max_percent: u32,
) -> Option<GuardStop> {
    let over_users = destructive > max_users;
    let over_percent = u64::from(destructive) * 100 > u64::from(max_percent) * u64::from(members);
    if destructive == 0 || !(over_users || over_percent) {
        return None;
    }
    Some(GuardStop {
        destructive,
        members,
        max_users,
        max_percent,
        message: format!(
            "This plan removes or disables {destructive} Microsoft account{s}, more than the guard allows \
             ({max_users} users or {max_percent}% of the {members} members). Check the Okta group first; \
             to apply anyway, confirm with the number {destructive}.",
            s = if destructive == 1 { "" } else { "s" }
        ),
    })
}

fn run_not_found(run_id: &str) -> Error {
    Error::invalid(format!(
        "No run has the id \"{run_id}\". List the runs with `okta365 runs list`."
    ))
}

pub(crate) fn parse_run_id(run_id: &str) -> Result<Uuid> {
    Uuid::parse_str(run_id.trim()).map_err(|_| run_not_found(run_id))
}

/// A run's plan as stored.
pub(crate) fn stored_plan(record: &RunRecord) -> Result<RunPlan> {
    serde_json::from_str(&record.plan).map_err(|e| {
        Error::invalid(format!(
            "The plan of run {} cannot be read ({e}); delete the run and plan again.",
            record.id
        ))
    })
}

/// The summary of a run from its record and steps.
pub(crate) fn summary(record: &RunRecord, steps: &[RunStepRecord]) -> Result<RunSummary> {
    let operation = parse_operation(&record.operation)
        .ok_or_else(|| Error::invalid(format!("Run {} has an unknown operation.", record.id)))?;
    let counted: Vec<&RunStepRecord> = steps.iter().filter(|s| s.status != "skipped").collect();
    let users: HashSet<&str> = counted.iter().map(|s| s.okta_user_id.as_str()).collect();
    let count = |wanted: &[&str]| {
        counted
            .iter()
            .filter(|s| wanted.contains(&s.status.as_str()))
            .count() as u32
    };
    Ok(RunSummary {
        run_id: record.id.to_string(),
        profile_id: record.profile_id.to_string(),
        operation,
        trigger: RunTrigger::parse(&record.trigger).unwrap_or(RunTrigger::Manual),
        status: RunStatus::parse(&record.status).unwrap_or(RunStatus::Failed),
        users: users.len() as u32,
        changes: counted.len() as u32,
        done: count(&["done", "superseded"]),
        failed: count(&["failed"]),
        created_at: record.created_at.to_string(),
        started_at: record.started_at.map(|t| t.to_string()),
        finished_at: record.finished_at.map(|t| t.to_string()),
        duration_ms: match (record.started_at, record.finished_at) {
            (Some(s), Some(f)) => Some(f.duration_since(s).as_millis().max(0) as u64),
            _ => None,
        },
        undo_of: record.undo_of.map(|id| id.to_string()),
        undone_by: None,
    })
}

/// Test hooks (debug builds only): stop the process right after step `n` was journaled `started`
/// (`OKTA365_TEST_PAUSE_BEFORE_STEP=n`: the write not sent) or right after its write answered
/// (`OKTA365_TEST_PAUSE_AFTER_STEP=n`: the write made, its outcome not journaled), so a test can kill
/// it there. The pause prints `paused at step n` on stderr and sleeps.
async fn test_pause(which: &str, seqs: &[u32]) {
    #[cfg(debug_assertions)]
    {
        let Some(n) = std::env::var(which)
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok())
        else {
            return;
        };
        if seqs.contains(&n) {
            eprintln!("paused at step {n} ({which})");
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
    }
    #[cfg(not(debug_assertions))]
    {
        let _ = (which, seqs);
    }
}

/// A lock held while a run is applied, so two processes never apply (or resume) it at once. The OS
/// releases it when the process dies, so a killed run can be resumed.
struct RunLock {
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Releases the lock of a run that is no longer running, removing its file.
    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn try_take(engine: &Engine, run_id: Uuid) -> Result<Option<RunLock>> {
        let dir: PathBuf = engine.paths().data_dir.join("runs");
        std::fs::create_dir_all(&dir).map_err(|source| Error::Dir {
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(format!("{run_id}.lock"));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Dir {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file, path })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Dir { path, source }),
        }
    }
}

fn outcome(result: &StepResult, duration_ms: Option<i64>) -> StepOutcome {
    let text = |v: &Value| (!v.is_null()).then(|| v.to_string());
    StepOutcome {
        status: result.status.as_str().to_owned(),
        request: text(&result.request),
        response: text(&result.response),
        http_status: result.http_status.map(i64::from),
        vendor_code: result.vendor_code.clone(),
        vendor_message: result.vendor_message.clone(),
        request_id: result.request_id.clone(),
        fix: result.fix.clone(),
        duration_ms,
    }
}

/// One apply (or resume) of one run.
struct Apply<'a> {
    engine: &'a Engine,
    ctx: &'a RunContext,
    run_id: Uuid,
    operation: OperationId,
    progress: &'a dyn ProgressSink,
    total: u32,
    finished: u32,
}

impl Apply<'_> {
    fn report(&self, change: &PlannedChange, what: &str) {
        self.progress.report(&Progress {
            operation: "run".into(),
            step: change.seq.to_string(),
            done: self.finished,
            total: Some(self.total),
            message: format!(
                "{what}: {} for {} ({})",
                change.kind.verb(),
                change.user_label,
                change.target
            ),
        });
    }

    async fn started(&self, change: &PlannedChange, request: Option<&Value>) -> Result<()> {
        let (run_id, seq, request) = (
            self.run_id,
            i64::from(change.seq),
            request.map(Value::to_string),
        );
        self.engine
            .db(move |store| store.step_started(run_id, seq, request.as_deref(), Timestamp::now()))
            .await?;
        Ok(())
    }

    async fn finish(
        &mut self,
        change: &PlannedChange,
        result: StepResult,
        duration_ms: Option<i64>,
    ) -> Result<()> {
        if let Some(link) = &result.link {
            let profile_id = self.ctx.profile.id;
            let okta_user_id = change.okta_user_id.clone();
            match link.clone() {
                LinkChange::Set {
                    kind,
                    entra_id,
                    upn,
                    mail,
                } => {
                    let record = LinkRecord {
                        profile_id,
                        okta_user_id,
                        kind: kind.to_owned(),
                        entra_id,
                        upn,
                        mail,
                        linked_at: Timestamp::now(),
                    };
                    self.engine
                        .db(move |store| store.upsert_link(&record))
                        .await?;
                }
                LinkChange::Remove { kind } => {
                    self.engine
                        .db(move |store| store.delete_link(profile_id, &okta_user_id, kind))
                        .await?;
                }
            }
        }
        let (run_id, seq, out) = (
            self.run_id,
            i64::from(change.seq),
            outcome(&result, duration_ms),
        );
        self.engine
            .db(move |store| store.step_finished(run_id, seq, &out, Timestamp::now()))
            .await?;
        self.finished += 1;
        let what = match result.status {
            StepStatus::Done => "Done",
            StepStatus::Superseded => "Already done",
            _ => "Failed",
        };
        if result.status == StepStatus::Failed {
            tracing::warn!(run_id = %self.run_id, seq = change.seq, code = ?result.vendor_code, request_id = ?result.request_id, "run step failed");
        }
        self.report(change, what);
        Ok(())
    }

    /// Sends the queued writes (one `$batch`, or one request), journaling each before and after.
    async fn flush(
        &mut self,
        queue: &mut Vec<(PlannedChange, okta365_graph::batch::GraphWrite, Value)>,
    ) -> Result<()> {
        if queue.is_empty() {
            return Ok(());
        }
        let queued = std::mem::take(queue);
        // The live re-check just before the writes: a change already made is superseded, not sent.
        let changes: Vec<PlannedChange> = queued.iter().map(|(c, _, _)| c.clone()).collect();
        let found = match ops::found_many(self.operation, self.ctx, &changes).await {
            Ok(found) => found,
            Err(e) => {
                for (change, _, summary) in &queued {
                    self.started(change, Some(summary)).await?;
                    let failed = StepResult::failed(
                        e.to_string(),
                        "Check the connection, then apply again.",
                    );
                    self.finish(change, failed, None).await?;
                }
                return Ok(());
            }
        };
        let mut items = Vec::with_capacity(queued.len());
        for (item, found) in queued.into_iter().zip(found) {
            match found {
                Some(found) => {
                    let (change, _, summary) = &item;
                    let link = ops::link_from_found(change, &found);
                    self.started(change, Some(summary)).await?;
                    self.finish(change, StepResult::superseded(found, link), None)
                        .await?;
                }
                None => items.push(item),
            }
        }
        if items.is_empty() {
            return Ok(());
        }
        for (change, _, summary) in &items {
            self.started(change, Some(summary)).await?;
        }
        let seqs: Vec<u32> = items.iter().map(|(c, _, _)| c.seq).collect();
        test_pause("OKTA365_TEST_PAUSE_BEFORE_STEP", &seqs).await;
        let writes: Vec<_> = items.iter().map(|(_, w, _)| w.clone()).collect();
        let start = Instant::now();
        let answers = if writes.len() == 1 {
            self.ctx.graph.write(&writes[0]).await.map(|a| vec![a])
        } else {
            self.ctx.graph.batch(&writes).await
        };
        let duration = Some(start.elapsed().as_millis() as i64);
        test_pause("OKTA365_TEST_PAUSE_AFTER_STEP", &seqs).await;
        match answers {
            Ok(answers) => {
                for ((change, _, summary), answer) in items.into_iter().zip(answers) {
                    let result = ops::complete(self.operation, self.ctx, &change, summary, &answer);
                    self.finish(&change, result, duration).await?;
                }
            }
            Err(e) => {
                // No answer: the writes may or may not have been made. Record the failure; a later
                // run re-plans from the live state (and the re-check finds what was made).
                for (change, _, summary) in items {
                    let result = StepResult::from_graph_error(summary, &e);
                    self.finish(&change, result, duration).await?;
                }
            }
        }
        Ok(())
    }

    /// Applies every `pending` step of the run, in order.
    async fn run_pending(&mut self, plan: &RunPlan) -> Result<()> {
        let run_id = self.run_id;
        let steps = self.engine.db(move |store| store.run_steps(run_id)).await?;
        let pending: HashSet<i64> = steps
            .iter()
            .filter(|s| s.status == "pending")
            .map(|s| s.seq)
            .collect();
        self.total = plan.changes.len() as u32;
        self.finished = steps
            .iter()
            .filter(|s| s.status != "pending" && s.status != "skipped" && s.status != "started")
            .count() as u32;
        let mut queue = Vec::new();
        for change in plan
            .changes
            .iter()
            .filter(|c| pending.contains(&i64::from(c.seq)))
        {
            match ops::prepare(self.operation, self.ctx, change).await {
                None => {
                    // The operation writes one change at a time.
                    self.flush(&mut queue).await?;
                    match ops::found(self.operation, self.ctx, change).await {
                        Ok(Some(found)) => {
                            let link = ops::link_from_found(change, &found);
                            self.started(change, None).await?;
                            self.finish(change, StepResult::superseded(found, link), None)
                                .await?;
                            continue;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            self.started(change, None).await?;
                            self.finish(
                                change,
                                StepResult::failed(
                                    e.to_string(),
                                    "Check the connection, then apply again.",
                                ),
                                None,
                            )
                            .await?;
                            continue;
                        }
                    }
                    self.started(change, None).await?;
                    test_pause("OKTA365_TEST_PAUSE_BEFORE_STEP", &[change.seq]).await;
                    let start = Instant::now();
                    let result = ops::execute(self.operation, self.ctx, change).await;
                    test_pause("OKTA365_TEST_PAUSE_AFTER_STEP", &[change.seq]).await;
                    self.finish(change, result, Some(start.elapsed().as_millis() as i64))
                        .await?;
                }
                Some(Prepared::Finished(result)) => {
                    self.started(change, None).await?;
                    self.finish(change, result, Some(0)).await?;
                }
                Some(Prepared::Write { write, summary }) => {
                    // Re-checked against the live tenant with the rest of its batch, just before
                    // the batch is sent (see `flush`).
                    queue.push((change.clone(), write, summary));
                    if queue.len() >= BATCH {
                        self.flush(&mut queue).await?;
                    }
                }
            }
        }
        self.flush(&mut queue).await
    }
}

/// How [`Engine::record_plan`] records a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PlanOptions {
    /// The run the plan undoes.
    pub undo_of: Option<Uuid>,
    /// No blast-radius guard: a stage run, whose destructive change the guard already counted when
    /// the deactivation that scheduled it was planned.
    pub skip_guard: bool,
}

impl Engine {
    /// Plans a run: reads Okta and the tenant, stores the run as `planned` with its changes and skipped
    /// users, and returns the plan. Nothing is written to a tenant.
    #[instrument(skip(self), err)]
    pub async fn plan_run(&self, req: PlanRunRequest) -> Result<RunPlan> {
        if !RUN_OPERATIONS.contains(&req.operation) {
            return Err(Error::invalid(format!(
                "{} is not an operation runs are planned for; use memberAccounts, profileSync, guests, \
                 licenses, deactivation or activation.",
                req.operation.as_str()
            )));
        }
        let record = self.find(&req.profile_id).await?;
        let ctx = RunContext::load(self, record).await?;
        let scope = match &req.users {
            None => Scope::All,
            Some(users) => Scope::Users(resolve_users(&ctx, users).await?),
        };
        self.plan_with(&ctx, req.operation, req.trigger, &scope)
            .await
    }

    pub(crate) async fn plan_with(
        &self,
        ctx: &RunContext,
        operation: OperationId,
        trigger: RunTrigger,
        scope: &Scope,
    ) -> Result<RunPlan> {
        let planned = ops::plan(operation, ctx, scope).await?;
        self.record_plan(
            ctx,
            operation,
            trigger,
            scope,
            planned,
            PlanOptions::default(),
        )
        .await
    }

    /// Numbers the changes of `planned`, applies the guard (unless `options.skip_guard`) and stores
    /// the run as `planned`: how every plan is recorded, including stage runs (trigger `schedule`) and
    /// undo runs (`options.undo_of`), whose changes come from elsewhere than [`ops::plan`].
    pub(crate) async fn record_plan(
        &self,
        ctx: &RunContext,
        operation: OperationId,
        trigger: RunTrigger,
        scope: &Scope,
        planned: ops::Planned,
        options: PlanOptions,
    ) -> Result<RunPlan> {
        let mut seq = 0u32;
        let mut number = |mut c: PlannedChange| {
            seq += 1;
            c.seq = seq;
            c
        };
        let changes: Vec<PlannedChange> = planned.changes.into_iter().map(&mut number).collect();
        let skipped: Vec<PlannedChange> = planned.skipped.into_iter().map(&mut number).collect();
        let destructive = changes.iter().filter(|c| c.kind.is_destructive()).count() as u32;
        let guard = if options.skip_guard {
            None
        } else {
            guard(
                destructive,
                planned.members,
                ctx.settings.guard_max_users,
                ctx.settings.guard_max_percent,
            )
        };
        let run_id = Uuid::new_v4();
        let now = Timestamp::now();
        let plan = RunPlan {
            run_id: run_id.to_string(),
            profile_id: ctx.profile.id.to_string(),
            operation,
            trigger,
            changes,
            skipped,
            guard,
            planned_at: now.to_string(),
            undo_of: options.undo_of.map(|id| id.to_string()),
        };
        let step = |c: &PlannedChange, status: &str| RunStepRecord {
            run_id,
            seq: i64::from(c.seq),
            okta_user_id: c.okta_user_id.clone(),
            user_label: c.user_label.clone(),
            kind: c.kind.as_str().to_owned(),
            target: c.target.clone(),
            status: status.to_owned(),
            fix: if status == "skipped" {
                c.warning.clone()
            } else {
                None
            },
            ..Default::default()
        };
        let steps: Vec<RunStepRecord> = plan
            .changes
            .iter()
            .map(|c| step(c, "pending"))
            .chain(plan.skipped.iter().map(|c| step(c, "skipped")))
            .collect();
        let record = RunRecord {
            id: run_id,
            profile_id: ctx.profile.id,
            operation: operation.as_str().to_owned(),
            trigger: trigger.as_str().to_owned(),
            scope: scope.to_json(),
            status: "planned".into(),
            plan: serde_json::to_string(&plan).expect("a plan serializes"),
            guard: plan
                .guard
                .as_ref()
                .map(|g| serde_json::to_string(g).expect("serializes")),
            created_at: now,
            started_at: None,
            finished_at: None,
            counts: None,
            undo_of: options.undo_of,
        };
        self.db(move |store| store.insert_run(&record, &steps))
            .await?;
        tracing::info!(%run_id, operation = operation.as_str(), changes = plan.changes.len(), skipped = plan.skipped.len(), guard = plan.guard.is_some(), "run planned");
        Ok(plan)
    }

    /// Applies a planned run. Refuses a plan older than 15 minutes, and a plan the guard stopped unless
    /// `confirm_destructive` equals its number of destructive changes. Each change is re-checked against
    /// the live tenant just before it is written. Progress: operation `run`, step = the change's `seq`.
    #[instrument(skip(self, progress), err)]
    pub async fn apply_run(
        &self,
        run_id: &str,
        confirm_destructive: Option<u32>,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        let id = parse_run_id(run_id)?;
        let record = self
            .db(move |store| store.run(id))
            .await?
            .ok_or_else(|| run_not_found(run_id))?;
        if record.status != "planned" {
            return Err(Error::invalid(format!(
                "Run {id} is {}, not planned, so it cannot be applied. Plan again to apply the changes now \
                 needed.",
                record.status
            )));
        }
        let plan = stored_plan(&record)?;
        // The plan's text is not needed any more (a large import's is a few hundred kB).
        let record = RunRecord {
            plan: String::new(),
            ..record
        };
        let age = Timestamp::now().duration_since(record.created_at);
        if age.as_secs() > PLAN_MAX_AGE_MINS * 60 {
            return Err(Error::invalid(format!(
                "This plan was made {} minutes ago; plans older than {PLAN_MAX_AGE_MINS} minutes are not \
                 applied because Okta or the tenant may have changed since. Plan again, then apply.",
                age.as_secs() / 60
            )));
        }
        if let Some(stop) = &plan.guard {
            match confirm_destructive {
                Some(n) if n == stop.destructive => {}
                Some(n) => {
                    return Err(Error::invalid(format!(
                        "The confirmation {n} does not match the {} destructive changes of this plan; nothing \
                         was applied. Check the plan and confirm with {}.",
                        stop.destructive, stop.destructive
                    )));
                }
                None => return Err(Error::invalid(stop.message.clone())),
            }
        }
        let Some(lock) = RunLock::try_take(self, id)? else {
            return Err(Error::invalid(format!(
                "Run {id} is being applied by another okta365 process."
            )));
        };
        if !self
            .db(move |store| store.start_run(id, &["planned"], Timestamp::now()))
            .await?
        {
            return Err(Error::invalid(format!(
                "Run {id} was applied or discarded meanwhile."
            )));
        }
        let profile = self.find_by_id(record.profile_id).await?;
        let ctx = match RunContext::load_for(self, profile, plan.operation).await {
            Ok(ctx) => RunContext {
                run_id: Some(id),
                ..ctx
            },
            Err(e) => {
                self.db(move |store| store.set_run_status(id, "interrupted"))
                    .await?;
                return Err(e);
            }
        };
        let summary = self.apply_loaded(&ctx, id, &plan, progress).await;
        if summary.is_ok() {
            lock.release();
        }
        summary
    }

    async fn apply_loaded(
        &self,
        ctx: &RunContext,
        id: Uuid,
        plan: &RunPlan,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        let mut apply = Apply {
            engine: self,
            ctx,
            run_id: id,
            operation: plan.operation,
            progress,
            total: plan.changes.len() as u32,
            finished: 0,
        };
        if let Err(e) = apply.run_pending(plan).await {
            self.db(move |store| store.set_run_status(id, "interrupted"))
                .await?;
            return Err(e);
        }
        let steps = self.db(move |store| store.run_step_outcomes(id)).await?;
        let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
        for s in &steps {
            *counts.entry(s.status.as_str()).or_default() += 1;
        }
        let get = |k: &str| counts.get(k).copied().unwrap_or(0);
        let status = match (get("done") + get("superseded"), get("failed")) {
            (_, 0) => "succeeded",
            (0, _) => "failed",
            _ => "partial",
        };
        let counts_json = json!({
            "changes": plan.changes.len(),
            "done": get("done"),
            "superseded": get("superseded"),
            "failed": get("failed"),
            "skipped": get("skipped"),
        })
        .to_string();
        self.db(move |store| store.finish_run(id, status, &counts_json, Timestamp::now()))
            .await?;
        let record = self
            .db(move |store| store.run(id))
            .await?
            .ok_or_else(|| run_not_found(&id.to_string()))?;
        let summary = summary(&record, &steps)?;
        self.run_finished(ctx, plan, &summary, &steps).await;
        progress.report(&Progress {
            operation: "run".into(),
            step: crate::progress::DONE_STEP.into(),
            done: summary.changes,
            total: Some(summary.changes),
            message: format!(
                "Run {status}: {} done, {} failed of {} changes",
                summary.done, summary.failed, summary.changes
            ),
        });
        tracing::info!(run_id = %id, status, "run finished");
        Ok(summary)
    }

    /// Throws a planned run away (it stays in the history as `discarded`).
    #[instrument(skip(self), err)]
    pub async fn discard_run(&self, run_id: &str) -> Result<()> {
        let id = parse_run_id(run_id)?;
        let record = self
            .db(move |store| store.run(id))
            .await?
            .ok_or_else(|| run_not_found(run_id))?;
        if record.status != "planned" {
            return Err(Error::invalid(format!(
                "Run {id} is {}; only a planned run can be discarded.",
                record.status
            )));
        }
        self.db(move |store| store.set_run_status(id, "discarded"))
            .await?;
        Ok(())
    }

    /// Resumes every run a crash left `running` (or that stopped `interrupted`): each step left
    /// `started` is checked against the live tenant (found → `superseded` with what was found; not
    /// found → written again), then the rest of the run is applied. Runs another process is applying
    /// are left alone. Returns the resumed runs' summaries.
    #[instrument(skip(self, progress), err)]
    pub async fn resume_runs(&self, progress: &dyn ProgressSink) -> Result<Vec<RunSummary>> {
        let mut runs = self.db(|store| store.runs_with_status("running")).await?;
        runs.extend(
            self.db(|store| store.runs_with_status("interrupted"))
                .await?,
        );
        let mut out = Vec::new();
        for record in runs {
            let id = record.id;
            let Some(lock) = RunLock::try_take(self, id)? else {
                continue;
            };
            let plan = stored_plan(&record)?;
            let profile = match self.find_by_id(record.profile_id).await {
                Ok(p) => p,
                Err(_) => continue,
            };
            let ctx = match RunContext::load_for(self, profile, plan.operation).await {
                Ok(ctx) => RunContext {
                    run_id: Some(id),
                    ..ctx
                },
                Err(e) => {
                    tracing::warn!(run_id = %id, error = %e, "an interrupted run cannot be resumed now");
                    self.db(move |store| store.set_run_status(id, "interrupted"))
                        .await?;
                    continue;
                }
            };
            self.db(move |store| {
                store.start_run(id, &["running", "interrupted"], Timestamp::now())
            })
            .await?;
            let steps = self.db(move |store| store.run_steps(id)).await?;
            let started: HashSet<i64> = steps
                .iter()
                .filter(|s| s.status == "started")
                .map(|s| s.seq)
                .collect();
            for change in plan
                .changes
                .iter()
                .filter(|c| started.contains(&i64::from(c.seq)))
            {
                let seq = i64::from(change.seq);
                match ops::found(plan.operation, &ctx, change).await {
                    Ok(Some(found)) => {
                        tracing::info!(run_id = %id, seq, "resume: the interrupted write is on the tenant");
                        // `resumed`: the write this run sent before the interruption is on the tenant
                        // (the run made the change; an undo takes it back).
                        let result = StepResult {
                            request: Value::Null,
                            response: json!({ "found": found, "resumed": true }),
                            ..StepResult::superseded(
                                found.clone(),
                                ops::link_from_found(change, &found),
                            )
                        };
                        let mut apply = Apply {
                            engine: self,
                            ctx: &ctx,
                            run_id: id,
                            operation: plan.operation,
                            progress,
                            total: plan.changes.len() as u32,
                            finished: 0,
                        };
                        apply.finish(change, result, None).await?;
                    }
                    Ok(None) => {
                        tracing::info!(run_id = %id, seq, "resume: the interrupted write is not on the tenant; writing it again");
                        self.db(move |store| store.reset_step(id, seq)).await?;
                    }
                    Err(e) => {
                        tracing::warn!(run_id = %id, seq, error = %e, "resume: the live check failed");
                        self.db(move |store| store.set_run_status(id, "interrupted"))
                            .await?;
                        return Err(e);
                    }
                }
            }
            out.push(self.apply_loaded(&ctx, id, &plan, progress).await?);
            lock.release();
        }
        Ok(out)
    }
}

/// Okta user ids for what the user typed (ids or logins).
async fn resolve_users(ctx: &RunContext, users: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    for user in users.iter().map(|u| u.trim()).filter(|u| !u.is_empty()) {
        match ctx.okta.users().get(user).await {
            Ok(found) => ids.push(found.id.as_str().to_owned()),
            Err(e) if e.status() == Some(404) => {
                return Err(Error::invalid(format!(
                    "No Okta user has the login or id \"{user}\". Check the spelling (logins are usually email \
                     addresses)."
                )));
            }
            Err(e) => {
                return Err(crate::setup::groups::okta_error(
                    &format!("Looking up the Okta user \"{user}\""),
                    e,
                    "okta.users.read",
                ));
            }
        }
    }
    if ids.is_empty() {
        return Err(Error::invalid(
            "No user was given; name at least one Okta login or user id.",
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_stops_over_either_limit_and_never_without_destructive_changes() {
        assert!(guard(0, 0, 10, 5).is_none(), "nothing destructive, no stop");
        assert!(
            guard(3, 100, 10, 5).is_none(),
            "3 of 100 is within 10 users and 5%"
        );
        let stop = guard(11, 1000, 10, 5).expect("over the maximum of users");
        assert_eq!(stop.destructive, 11);
        assert!(stop.message.contains("11"));
        assert!(guard(6, 100, 10, 5).is_some(), "6% of 100 is over 5%");
        assert!(guard(1, 4, 10, 5).is_some(), "1 of 4 members is 25%");
    }
}
