//! The run history: list, show, export (JSON or CSV) and delete runs.

use okta365_store::runs::{RunQuery, RunStepRecord};
use serde_json::Value;
use tracing::instrument;

use super::{
    ChangeKind, ExportFormat, RunDetail, RunFilter, RunStatus, RunStep, RunSummary, StepStatus,
    journal::{parse_run_id, stored_plan, summary},
};
use crate::{
    engine::Engine,
    error::{Error, Result},
};

fn step_out(s: RunStepRecord) -> RunStep {
    let json = |v: Option<String>| {
        v.and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null)
    };
    RunStep {
        seq: s.seq as u32,
        okta_user_id: s.okta_user_id,
        user_label: s.user_label,
        kind: ChangeKind::parse(&s.kind).unwrap_or(ChangeKind::UpdateUser),
        target: s.target,
        status: StepStatus::parse(&s.status).unwrap_or(StepStatus::Failed),
        request: json(s.request),
        response: json(s.response),
        http_status: s.http_status.and_then(|h| u16::try_from(h).ok()),
        vendor_code: s.vendor_code,
        vendor_message: s.vendor_message,
        request_id: s.request_id,
        fix: s.fix,
        started_at: s.started_at.map(|t| t.to_string()),
        finished_at: s.finished_at.map(|t| t.to_string()),
        duration_ms: s.duration_ms.map(|d| d.max(0) as u64),
    }
}

impl Engine {
    /// A profile's runs, newest first, filtered by operation, status and user.
    #[instrument(skip(self), err)]
    pub async fn list_runs(&self, profile_id: &str, filter: RunFilter) -> Result<Vec<RunSummary>> {
        let profile = self.find(profile_id).await?;
        let query = RunQuery {
            operation: filter.operation.map(|o| o.as_str().to_owned()),
            status: filter.status.map(|s| s.as_str().to_owned()),
            user: filter
                .user
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty()),
            limit: filter.limit,
        };
        let id = profile.id;
        let rows = self
            .db(move |store| {
                let runs = store.list_runs(id, &query)?;
                runs.into_iter()
                    .map(|r| {
                        let steps = store.run_steps(r.id)?;
                        let undone_by = store.undo_of_run(r.id)?.map(|u| u.id.to_string());
                        Ok((r, steps, undone_by))
                    })
                    .collect::<okta365_store::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(r, steps, undone_by)| {
                Ok(RunSummary {
                    undone_by,
                    ..summary(&r, &steps)?
                })
            })
            .collect()
    }

    /// One run: summary, plan and journal.
    #[instrument(skip(self), err)]
    pub async fn run_detail(&self, run_id: &str) -> Result<RunDetail> {
        let id = parse_run_id(run_id)?;
        let (record, steps, undone_by) = self
            .db(move |store| {
                Ok((
                    store.run(id)?,
                    store.run_steps(id)?,
                    store.undo_of_run(id)?.map(|u| u.id.to_string()),
                ))
            })
            .await?;
        let record = record.ok_or_else(|| {
            Error::invalid(format!(
                "No run has the id \"{run_id}\". List the runs with `okta365 runs list`."
            ))
        })?;
        Ok(RunDetail {
            summary: RunSummary {
                undone_by,
                ..summary(&record, &steps)?
            },
            plan: stored_plan(&record)?,
            steps: steps.into_iter().map(step_out).collect(),
        })
    }

    /// One run as a JSON document ([`RunDetail`]) or a CSV table (one row per step).
    #[instrument(skip(self), err)]
    pub async fn export_run(&self, run_id: &str, format: ExportFormat) -> Result<String> {
        let detail = self.run_detail(run_id).await?;
        match format {
            ExportFormat::Json => {
                Ok(serde_json::to_string_pretty(&detail).expect("a run serializes"))
            }
            ExportFormat::Csv => csv_of(&detail),
        }
    }

    /// Deletes a run and its journal from the history. A run being applied cannot be deleted.
    #[instrument(skip(self), err)]
    pub async fn delete_run(&self, run_id: &str) -> Result<()> {
        let detail = self.run_detail(run_id).await?;
        if detail.summary.status == RunStatus::Running {
            return Err(Error::invalid(format!(
                "Run {run_id} is running; wait for it to finish (or resume it with `okta365 runs resume`) \
                 before deleting it."
            )));
        }
        let id = parse_run_id(run_id)?;
        self.db(move |store| store.delete_run(id)).await?;
        Ok(())
    }
}

fn csv_of(detail: &RunDetail) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::Task(format!("writing the CSV export failed ({e})"));
    w.write_record([
        "runId",
        "operation",
        "seq",
        "oktaUserId",
        "user",
        "kind",
        "target",
        "status",
        "httpStatus",
        "vendorCode",
        "vendorMessage",
        "requestId",
        "fix",
        "startedAt",
        "finishedAt",
        "durationMs",
        "request",
        "response",
    ])
    .map_err(fail)?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let json = |v: &Value| {
        if v.is_null() {
            String::new()
        } else {
            v.to_string()
        }
    };
    for s in &detail.steps {
        w.write_record([
            detail.summary.run_id.clone(),
            detail.summary.operation.as_str().to_owned(),
            s.seq.to_string(),
            s.okta_user_id.clone(),
            s.user_label.clone(),
            s.kind.as_str().to_owned(),
            s.target.clone(),
            s.status.as_str().to_owned(),
            s.http_status.map(|h| h.to_string()).unwrap_or_default(),
            opt(&s.vendor_code),
            opt(&s.vendor_message),
            opt(&s.request_id),
            opt(&s.fix),
            opt(&s.started_at),
            opt(&s.finished_at),
            s.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            json(&s.request),
            json(&s.response),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Task(format!("writing the CSV export failed ({e})")))?;
    Ok(String::from_utf8(bytes).expect("CSV of strings is UTF-8"))
}
