//! Scheduled imports (docs/imports.md "Schedules"): `okta365 watch` (each round) and the app (every
//! minute while open) start the imports that are due: plan with the saved mapping (trigger
//! `schedule`), then apply unless the plan is stopped by its rejects or its deactivation guard (it is
//! then left planned and shown).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;

use super::run::{ImportPlan, ImportRequest};
use crate::{
    engine::Engine,
    error::Result,
    progress::ProgressSink,
    runs::{RunSummary, RunTrigger},
};

/// One scheduled import that came due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DueImport {
    /// The source.
    pub source_name: String,
    /// Its plan (absent when planning failed).
    pub plan: Option<ImportPlan>,
    /// The apply's summary; absent when the plan was stopped (left planned) or failed.
    pub applied: Option<RunSummary>,
    /// Why the import did not run or stopped, in words.
    pub problem: Option<String>,
}

impl Engine {
    /// Plans and applies every scheduled import that is due (of one profile, or of every profile).
    /// A schedule is marked run when its import starts, so one that fails waits for its next time.
    #[instrument(skip(self, progress), err)]
    pub async fn run_due_imports(
        &self,
        profile_id: Option<&str>,
        progress: &dyn ProgressSink,
    ) -> Result<Vec<DueImport>> {
        let only = match profile_id {
            Some(p) => Some(self.find(p).await?.id),
            None => None,
        };
        let now = Timestamp::now();
        let due = self
            .db(move |store| store.due_import_schedules(now))
            .await?;
        let mut out = Vec::new();
        for schedule in due
            .into_iter()
            .filter(|s| only.is_none_or(|id| id == s.profile_id))
        {
            let (id, name) = (schedule.profile_id, schedule.source_name.clone());
            self.db(move |store| store.mark_import_schedule_run(id, &name, now))
                .await?;
            let req = ImportRequest {
                profile_id: schedule.profile_id.to_string(),
                source_name: schedule.source_name.clone(),
                delta: true,
                full_resync: false,
                max_reject_percent: None,
                max_deactivations: None,
            };
            let plan = match self.plan_import_as(&req, RunTrigger::Schedule).await {
                Ok(plan) => plan,
                Err(e) => {
                    tracing::warn!(source = %schedule.source_name, error = %e, "a scheduled import could not be planned");
                    out.push(DueImport {
                        source_name: schedule.source_name,
                        plan: None,
                        applied: None,
                        problem: Some(e.to_string()),
                    });
                    continue;
                }
            };
            let stop = if plan.stopped.is_some() {
                Some(format!(
                    "stopped: {} of {} records rejected; left planned",
                    plan.rejected, plan.records
                ))
            } else {
                plan.deactivation_guard.map(|g| {
                    format!(
                        "left planned: it deactivates {} users (more than {}); confirm it to apply",
                        g.count, g.max
                    )
                })
            };
            if stop.is_some() {
                out.push(DueImport {
                    source_name: schedule.source_name,
                    plan: Some(plan),
                    applied: None,
                    problem: stop,
                });
                continue;
            }
            let applied = self.apply_import_as(&plan.import_id, None, progress).await;
            let (applied, problem) = match applied {
                Ok(summary) => (Some(summary), None),
                Err(e) => (None, Some(e.to_string())),
            };
            out.push(DueImport {
                source_name: schedule.source_name,
                plan: Some(plan),
                applied,
                problem,
            });
        }
        Ok(out)
    }
}
