//! The setup journal (docs/setup.md "The setup journal"): every tenant write of the guided setup is
//! recorded `started` before it is sent and `done` / `failed` after, in the store's `setup_steps` table.
//!
//! A crash between the two leaves a `started` row. The next run re-plans from the tenant's live state
//! (matching by exact name or appId), so it finds what the interrupted write did; it then marks the old
//! rows `superseded` ([`Journal::resolve_unfinished`]) with [`FOUND_ON_TENANT`] or [`WRITTEN_AGAIN`].
//! Nothing is ever created twice.
//!
//! ```text
//! let journal = Journal::begin(&engine, profile.id, Operation::Groups);
//! journal.resolve_unfinished(|row| plan.exists(&row.target)).await?;
//! let guard = journal.step("create_group:assignments", name, &json!({ "name": name })).await?;
//! match okta.groups().create(name, None).await {
//!     Ok(group) => guard.done(&json!({ "id": group.id })).await?,
//!     Err(e) => { guard.failed(&e).await?; return Err(…) }
//! }
//! ```

use okta365_store::setup::SetupStepRecord;
use serde_json::Value;
use uuid::Uuid;

use crate::{engine::Engine, error::Result};

/// Note on a superseded row whose write the re-plan found on the tenant.
pub const FOUND_ON_TENANT: &str = "found on the tenant when re-planned";
/// Note on a superseded row whose write the re-plan did not find, so this run writes it again.
pub const WRITTEN_AGAIN: &str = "not on the tenant; written again";

/// The setup operations that write to a tenant (the `operation` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Creating the Okta groups.
    Groups,
    /// Creating or updating the Entra app registration.
    MicrosoftApp,
    /// Creating or updating the Okta API service app.
    OktaApp,
}

impl Operation {
    /// The stored value: `groups`, `microsoft_app` or `okta_app`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Groups => "groups",
            Operation::MicrosoftApp => "microsoft_app",
            Operation::OktaApp => "okta_app",
        }
    }
}

/// One apply run of one setup operation for one profile: its writes share a run id.
#[derive(Debug, Clone)]
pub struct Journal {
    engine: Engine,
    profile_id: Uuid,
    run_id: Uuid,
    operation: Operation,
}

impl Journal {
    /// Starts a run (a new run id). Writes nothing until the first [`Journal::step`].
    pub fn begin(engine: &Engine, profile_id: Uuid, operation: Operation) -> Journal {
        Journal {
            engine: engine.clone(),
            profile_id,
            run_id: Uuid::new_v4(),
            operation,
        }
    }

    /// This run's id.
    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Records a write about to be sent (`started`): call it right before sending, and finish the guard
    /// with [`StepGuard::done`] or [`StepGuard::failed`] right after. `request` is JSON that never holds
    /// a secret.
    pub async fn step(&self, step: &str, target: &str, request: &Value) -> Result<StepGuard> {
        let (profile_id, run_id, operation) = (self.profile_id, self.run_id, self.operation);
        let (step_owned, target_owned, request) =
            (step.to_owned(), target.to_owned(), request.to_string());
        let id = self
            .engine
            .db(move |store| {
                store.journal_start(
                    profile_id,
                    run_id,
                    operation.as_str(),
                    &step_owned,
                    &target_owned,
                    &request,
                )
            })
            .await?;
        tracing::info!(profile_id = %self.profile_id, run_id = %self.run_id, operation = operation.as_str(), step, target, journal_id = id, "setup write started");
        Ok(StepGuard {
            engine: self.engine.clone(),
            id,
            step: step.to_owned(),
            finished: false,
        })
    }

    /// The rows of earlier runs of this operation still `started` (writes whose outcome is unknown).
    pub async fn unfinished(&self) -> Result<Vec<SetupStepRecord>> {
        let (profile_id, operation, run_id) = (self.profile_id, self.operation, self.run_id);
        let rows = self
            .engine
            .db(move |store| store.journal_unfinished(profile_id, operation.as_str()))
            .await?;
        Ok(rows.into_iter().filter(|r| r.run_id != run_id).collect())
    }

    /// Marks one row `superseded` with a note.
    pub async fn supersede(&self, id: i64, note: &str) -> Result<()> {
        let note = note.to_owned();
        self.engine
            .db(move |store| store.journal_supersede(id, &note))
            .await?;
        Ok(())
    }

    /// Marks every `started` row of earlier runs `superseded`, after this run re-planned from the
    /// tenant's live state: [`FOUND_ON_TENANT`] when `found(row)` says the plan found what the row was
    /// writing, else [`WRITTEN_AGAIN`] (this run writes it). Returns the rows it superseded.
    pub async fn resolve_unfinished(
        &self,
        found: impl Fn(&SetupStepRecord) -> bool,
    ) -> Result<Vec<SetupStepRecord>> {
        let rows = self.unfinished().await?;
        for row in &rows {
            let note = if found(row) {
                FOUND_ON_TENANT
            } else {
                WRITTEN_AGAIN
            };
            tracing::info!(profile_id = %self.profile_id, journal_id = row.id, step = %row.step, target = %row.target, note, "superseding an interrupted setup write");
            self.supersede(row.id, note).await?;
        }
        Ok(rows)
    }
}

/// A journaled write in flight. Dropping it unfinished leaves its row `started`, which is what a crash
/// leaves too: the next run re-plans and supersedes it.
#[derive(Debug)]
pub struct StepGuard {
    engine: Engine,
    id: i64,
    step: String,
    finished: bool,
}

impl StepGuard {
    /// The journal row's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The tenant accepted the write; `result` (JSON, ids, never a secret) is recorded.
    pub async fn done(mut self, result: &Value) -> Result<()> {
        let (id, result) = (self.id, result.to_string());
        self.finished = true;
        self.engine
            .db(move |store| store.journal_finish(id, &result))
            .await?;
        tracing::info!(journal_id = id, step = %self.step, "setup write done");
        Ok(())
    }

    /// The write failed; `error` (a sentence, never a secret) is recorded.
    ///
    /// The message is taken before the returned future starts, so the future stays `Send` whatever
    /// `error` is (the desktop app's commands need that).
    pub fn failed(
        mut self,
        error: &dyn std::fmt::Display,
    ) -> impl std::future::Future<Output = Result<()>> + Send + use<> {
        let (id, error) = (self.id, error.to_string());
        self.finished = true;
        tracing::warn!(journal_id = id, step = %self.step, error = %error, "setup write failed");
        async move {
            self.engine
                .db(move |store| store.journal_fail(id, &error))
                .await?;
            Ok(())
        }
    }
}

impl Drop for StepGuard {
    fn drop(&mut self) {
        if !self.finished {
            tracing::warn!(
                journal_id = self.id,
                step = %self.step,
                "a setup write was left unfinished; the next run re-plans it"
            );
        }
    }
}
