//! Provisioning runs (docs/provisioning.md): runs, the run journal (`run_steps`), the links between Okta
//! users and Entra users, and the saved System Log cursors.
//!
//! Statuses, kinds and operations are stored as the contract's strings; the engine validates them and the
//! schema's `CHECK` constraints are the last line. JSON columns hold text the caller serialized; never a
//! secret (no initial password, no token).

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use crate::{Result, Store, parse_time, parse_uuid};

/// One run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run id.
    pub id: Uuid,
    /// The profile whose tenant the run writes.
    pub profile_id: Uuid,
    /// The operation id, e.g. `memberAccounts`.
    pub operation: String,
    /// `manual`, `reconcile`, `systemLog` or `testRun`.
    pub trigger: String,
    /// JSON array of Okta user ids, or `None` for every member.
    pub scope: Option<String>,
    /// `planned`, `running`, `succeeded`, `partial`, `failed`, `interrupted`, `cancelled`, `discarded`.
    pub status: String,
    /// The plan, as JSON text.
    pub plan: String,
    /// The guard stop, as JSON text, when the guard stopped the plan.
    pub guard: Option<String>,
    /// When the run was planned.
    pub created_at: Timestamp,
    /// When the apply started.
    pub started_at: Option<Timestamp>,
    /// When the apply finished.
    pub finished_at: Option<Timestamp>,
    /// Counts, as JSON text.
    pub counts: Option<String>,
    /// For an undo run (trigger `undo`), the run it undoes.
    pub undo_of: Option<Uuid>,
}

/// One row of the run journal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunStepRecord {
    /// The run.
    pub run_id: Uuid,
    /// The planned change's sequence number (unique in its run).
    pub seq: i64,
    /// The Okta user the change is for.
    pub okta_user_id: String,
    /// The user in words (login or name).
    pub user_label: String,
    /// The change kind, e.g. `createUser`.
    pub kind: String,
    /// What is written: a UPN, a mail, an Entra id.
    pub target: String,
    /// `pending`, `started`, `done`, `failed`, `skipped` or `superseded`.
    pub status: String,
    /// Request summary as JSON text (never a password).
    pub request: Option<String>,
    /// Response summary as JSON text.
    pub response: Option<String>,
    /// The HTTP status of the write.
    pub http_status: Option<i64>,
    /// The vendor's error code.
    pub vendor_code: Option<String>,
    /// The vendor's error message.
    pub vendor_message: Option<String>,
    /// The vendor's request id.
    pub request_id: Option<String>,
    /// What to do about a failure, in plain words.
    pub fix: Option<String>,
    /// When the write was recorded, before it was sent.
    pub started_at: Option<Timestamp>,
    /// When it returned.
    pub finished_at: Option<Timestamp>,
    /// How long the write took.
    pub duration_ms: Option<i64>,
}

/// The outcome of one journaled write, recorded after it returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StepOutcome {
    /// `done`, `failed`, `skipped` or `superseded`.
    pub status: String,
    /// Request summary as JSON text (replaces the one recorded at start when set).
    pub request: Option<String>,
    /// Response summary as JSON text.
    pub response: Option<String>,
    /// HTTP status.
    pub http_status: Option<i64>,
    /// Vendor error code.
    pub vendor_code: Option<String>,
    /// Vendor error message.
    pub vendor_message: Option<String>,
    /// Vendor request id.
    pub request_id: Option<String>,
    /// The fix in plain words.
    pub fix: Option<String>,
    /// How long the write took.
    pub duration_ms: Option<i64>,
}

/// A link between an Okta user and the Entra user it was provisioned to or matched with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkRecord {
    /// The profile.
    pub profile_id: Uuid,
    /// The Okta user id.
    pub okta_user_id: String,
    /// `member` or `guest`.
    pub kind: String,
    /// The Entra object id.
    pub entra_id: String,
    /// The Entra user principal name.
    pub upn: Option<String>,
    /// The Entra mail.
    pub mail: Option<String>,
    /// When the link was made.
    pub linked_at: Timestamp,
}

/// Which runs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunQuery {
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only runs with a step for this Okta user id or whose step label contains this text.
    pub user: Option<String>,
    /// At most this many (newest first).
    pub limit: Option<u32>,
}

const RUN_SELECT: &str =
    "SELECT id, profile_id, operation, trigger, scope, status, plan, guard, created_at,
    started_at, finished_at, counts, undo_of FROM runs";

fn run_record(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    Ok(RawRun {
        id: row.get(0)?,
        profile_id: row.get(1)?,
        operation: row.get(2)?,
        trigger: row.get(3)?,
        scope: row.get(4)?,
        status: row.get(5)?,
        plan: row.get(6)?,
        guard: row.get(7)?,
        created_at: row.get(8)?,
        started_at: row.get(9)?,
        finished_at: row.get(10)?,
        counts: row.get(11)?,
        undo_of: row.get(12)?,
    })
}

struct RawRun {
    id: String,
    profile_id: String,
    operation: String,
    trigger: String,
    scope: Option<String>,
    status: String,
    plan: String,
    guard: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    counts: Option<String>,
    undo_of: Option<String>,
}

impl RawRun {
    fn into_record(self) -> Result<RunRecord> {
        Ok(RunRecord {
            id: parse_uuid("runs.id", &self.id)?,
            profile_id: parse_uuid("runs.profile_id", &self.profile_id)?,
            operation: self.operation,
            trigger: self.trigger,
            scope: self.scope,
            status: self.status,
            plan: self.plan,
            guard: self.guard,
            created_at: parse_time("runs.created_at", &self.created_at)?,
            started_at: opt_time("runs.started_at", self.started_at)?,
            finished_at: opt_time("runs.finished_at", self.finished_at)?,
            counts: self.counts,
            undo_of: self
                .undo_of
                .map(|id| parse_uuid("runs.undo_of", &id))
                .transpose()?,
        })
    }
}

fn opt_time(column: &'static str, value: Option<String>) -> Result<Option<Timestamp>> {
    value.map(|t| parse_time(column, &t)).transpose()
}

const STEP_SELECT: &str = "SELECT run_id, seq, okta_user_id, user_label, kind, target, status, request,
    response, http_status, vendor_code, vendor_message, request_id, fix, started_at, finished_at, duration_ms
    FROM run_steps";

/// [`STEP_SELECT`] with NULL for the request and response summaries.
const STEP_OUTCOME_SELECT: &str = "SELECT run_id, seq, okta_user_id, user_label, kind, target, status, NULL,
    NULL, http_status, vendor_code, vendor_message, request_id, fix, started_at, finished_at, duration_ms
    FROM run_steps";

type RawStep = (RunStepRecord, String, Option<String>, Option<String>);

fn raw_step(row: &Row<'_>) -> rusqlite::Result<RawStep> {
    Ok((
        RunStepRecord {
            run_id: Uuid::nil(),
            seq: row.get(1)?,
            okta_user_id: row.get(2)?,
            user_label: row.get(3)?,
            kind: row.get(4)?,
            target: row.get(5)?,
            status: row.get(6)?,
            request: row.get(7)?,
            response: row.get(8)?,
            http_status: row.get(9)?,
            vendor_code: row.get(10)?,
            vendor_message: row.get(11)?,
            request_id: row.get(12)?,
            fix: row.get(13)?,
            started_at: None,
            finished_at: None,
            duration_ms: row.get(16)?,
        },
        row.get(0)?,
        row.get(14)?,
        row.get(15)?,
    ))
}

fn step_record((mut step, run_id, started_at, finished_at): RawStep) -> Result<RunStepRecord> {
    step.run_id = parse_uuid("run_steps.run_id", &run_id)?;
    step.started_at = opt_time("run_steps.started_at", started_at)?;
    step.finished_at = opt_time("run_steps.finished_at", finished_at)?;
    Ok(step)
}

impl Store {
    // ---- runs ----

    /// Stores a new run and its steps (as `pending` or `skipped`) in one transaction.
    pub fn insert_run(&self, run: &RunRecord, steps: &[RunStepRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (id, profile_id, operation, trigger, scope, status, plan, guard, created_at,
                 started_at, finished_at, counts, undo_of)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![
                run.id.to_string(),
                run.profile_id.to_string(),
                run.operation,
                run.trigger,
                run.scope,
                run.status,
                run.plan,
                run.guard,
                run.created_at.to_string(),
                run.started_at.map(|t| t.to_string()),
                run.finished_at.map(|t| t.to_string()),
                run.counts,
                run.undo_of.map(|id| id.to_string()),
            ],
        )?;
        for step in steps {
            tx.execute(
                "INSERT INTO run_steps (run_id, seq, okta_user_id, user_label, kind, target, status, request,
                     response, http_status, vendor_code, vendor_message, request_id, fix, started_at,
                     finished_at, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    run.id.to_string(),
                    step.seq,
                    step.okta_user_id,
                    step.user_label,
                    step.kind,
                    step.target,
                    step.status,
                    step.request,
                    step.response,
                    step.http_status,
                    step.vendor_code,
                    step.vendor_message,
                    step.request_id,
                    step.fix,
                    step.started_at.map(|t| t.to_string()),
                    step.finished_at.map(|t| t.to_string()),
                    step.duration_ms,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The run with this id, if any.
    pub fn run(&self, id: Uuid) -> Result<Option<RunRecord>> {
        let raw = self
            .conn()
            .query_row(
                &format!("{RUN_SELECT} WHERE id = ?1"),
                [id.to_string()],
                run_record,
            )
            .optional()?;
        raw.map(RawRun::into_record).transpose()
    }

    /// A profile's runs, newest first, filtered.
    pub fn list_runs(&self, profile_id: Uuid, query: &RunQuery) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let user_like = query.user.as_ref().map(|u| format!("%{u}%"));
        let mut stmt = conn.prepare(&format!(
            "{RUN_SELECT} WHERE profile_id = ?1
               AND (?2 IS NULL OR operation = ?2)
               AND (?3 IS NULL OR status = ?3)
               AND (?4 IS NULL OR EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = runs.id
                    AND (s.okta_user_id = ?4 OR s.user_label LIKE ?5 OR s.target LIKE ?5)))
             ORDER BY created_at DESC, rowid DESC LIMIT ?6"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    profile_id.to_string(),
                    query.operation,
                    query.status,
                    query.user,
                    user_like,
                    query.limit.map(i64::from).unwrap_or(-1),
                ],
                run_record,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(RawRun::into_record).collect()
    }

    /// Every run with this status, oldest first (e.g. `running` runs left by a crash).
    pub fn runs_with_status(&self, status: &str) -> Result<Vec<RunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{RUN_SELECT} WHERE status = ?1 ORDER BY created_at, rowid"
        ))?;
        let rows = stmt
            .query_map([status], run_record)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(RawRun::into_record).collect()
    }

    /// Sets a run's status; returns false when no such run exists.
    pub fn set_run_status(&self, id: Uuid, status: &str) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE runs SET status = ?2 WHERE id = ?1",
            params![id.to_string(), status],
        )?;
        Ok(changed > 0)
    }

    /// Marks a run `running`, keeping its first start time. Returns false when it was not in one of
    /// `from` (so two applies cannot both take it).
    pub fn start_run(&self, id: Uuid, from: &[&str], at: Timestamp) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let status: Option<String> = tx
            .query_row(
                "SELECT status FROM runs WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        if !status.is_some_and(|s| from.contains(&s.as_str())) {
            return Ok(false);
        }
        tx.execute(
            "UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?2), finished_at = NULL
             WHERE id = ?1",
            params![id.to_string(), at.to_string()],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Finishes a run with its final status and counts.
    pub fn finish_run(&self, id: Uuid, status: &str, counts: &str, at: Timestamp) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE runs SET status = ?2, counts = ?3, finished_at = ?4 WHERE id = ?1",
            params![id.to_string(), status, counts, at.to_string()],
        )?;
        Ok(changed > 0)
    }

    /// Records the run an undo run undoes (or clears it with `None`); returns false when no such run
    /// exists.
    pub fn set_run_undo_of(&self, run_id: Uuid, undo_of: Option<Uuid>) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE runs SET undo_of = ?2 WHERE id = ?1",
            params![run_id.to_string(), undo_of.map(|id| id.to_string())],
        )?;
        Ok(changed > 0)
    }

    /// The run that undoes this one: a run, not `discarded`, whose `undo_of` is `run_id` (the newest when
    /// there are several).
    pub fn undo_of_run(&self, run_id: Uuid) -> Result<Option<RunRecord>> {
        let raw = self
            .conn()
            .query_row(
                &format!(
                    "{RUN_SELECT} WHERE undo_of = ?1 AND status <> 'discarded'
                     ORDER BY created_at DESC, rowid DESC LIMIT 1"
                ),
                [run_id.to_string()],
                run_record,
            )
            .optional()?;
        raw.map(RawRun::into_record).transpose()
    }

    /// Deletes a run and its journal; returns false when no such run exists.
    pub fn delete_run(&self, id: Uuid) -> Result<bool> {
        let changed = self
            .conn()
            .execute("DELETE FROM runs WHERE id = ?1", [id.to_string()])?;
        Ok(changed > 0)
    }

    // ---- run steps ----

    /// A run's steps in `seq` order.
    pub fn run_steps(&self, run_id: Uuid) -> Result<Vec<RunStepRecord>> {
        self.steps_of(STEP_SELECT, run_id)
    }

    /// The steps of a run in order, without their request and response summaries: what a finished
    /// run is counted from, at a fraction of the memory of [`run_steps`](Self::run_steps).
    pub fn run_step_outcomes(&self, run_id: Uuid) -> Result<Vec<RunStepRecord>> {
        self.steps_of(STEP_OUTCOME_SELECT, run_id)
    }

    /// The steps of a run in order, read with `select` (a `SELECT … FROM run_steps` of [`raw_step`]'s
    /// columns).
    fn steps_of(&self, select: &str, run_id: Uuid) -> Result<Vec<RunStepRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{select} WHERE run_id = ?1 ORDER BY seq"))?;
        let rows = stmt
            .query_map([run_id.to_string()], raw_step)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(step_record).collect()
    }

    /// One step of a run, by its number.
    pub fn run_step(&self, run_id: Uuid, seq: i64) -> Result<Option<RunStepRecord>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("{STEP_SELECT} WHERE run_id = ?1 AND seq = ?2"))?;
        let row = stmt
            .query_map(rusqlite::params![run_id.to_string(), seq], raw_step)?
            .next()
            .transpose()?;
        row.map(step_record).transpose()
    }

    /// Records that a step's write is about to be sent (`started`, with its request summary). Committed
    /// before the call returns, so a crash after it leaves the step `started`.
    pub fn step_started(
        &self,
        run_id: Uuid,
        seq: i64,
        request: Option<&str>,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE run_steps SET status = 'started', request = COALESCE(?3, request), started_at = ?4,
                 finished_at = NULL, response = NULL, http_status = NULL, vendor_code = NULL,
                 vendor_message = NULL, request_id = NULL, fix = NULL, duration_ms = NULL
             WHERE run_id = ?1 AND seq = ?2",
            params![run_id.to_string(), seq, request, at.to_string()],
        )?;
        Ok(changed > 0)
    }

    /// Records the outcome of a step's write.
    pub fn step_finished(
        &self,
        run_id: Uuid,
        seq: i64,
        outcome: &StepOutcome,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE run_steps SET status = ?3, request = COALESCE(?4, request), response = ?5,
                 http_status = ?6, vendor_code = ?7, vendor_message = ?8, request_id = ?9, fix = ?10,
                 finished_at = ?11, duration_ms = ?12
             WHERE run_id = ?1 AND seq = ?2",
            params![
                run_id.to_string(),
                seq,
                outcome.status,
                outcome.request,
                outcome.response,
                outcome.http_status,
                outcome.vendor_code,
                outcome.vendor_message,
                outcome.request_id,
                outcome.fix,
                at.to_string(),
                outcome.duration_ms,
            ],
        )?;
        Ok(changed > 0)
    }

    /// Puts a step back to `pending` (its write will be sent again), clearing what a previous attempt
    /// recorded.
    pub fn reset_step(&self, run_id: Uuid, seq: i64) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE run_steps SET status = 'pending', started_at = NULL, finished_at = NULL, response = NULL,
                 http_status = NULL, vendor_code = NULL, vendor_message = NULL, request_id = NULL, fix = NULL,
                 duration_ms = NULL
             WHERE run_id = ?1 AND seq = ?2",
            params![run_id.to_string(), seq],
        )?;
        Ok(changed > 0)
    }

    // ---- links ----

    /// Records (or replaces) a link.
    pub fn upsert_link(&self, link: &LinkRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO links (profile_id, okta_user_id, kind, entra_id, upn, mail, linked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (profile_id, okta_user_id, kind) DO UPDATE SET entra_id = excluded.entra_id,
                 upn = excluded.upn, mail = excluded.mail, linked_at = excluded.linked_at",
            params![
                link.profile_id.to_string(),
                link.okta_user_id,
                link.kind,
                link.entra_id,
                link.upn,
                link.mail,
                link.linked_at.to_string(),
            ],
        )?;
        Ok(())
    }

    /// A profile's links of one kind (`member` or `guest`), or of every kind.
    pub fn links(&self, profile_id: Uuid, kind: Option<&str>) -> Result<Vec<LinkRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT profile_id, okta_user_id, kind, entra_id, upn, mail, linked_at FROM links
             WHERE profile_id = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY okta_user_id, kind",
        )?;
        let rows = stmt
            .query_map(params![profile_id.to_string(), kind], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, Option<String>>(5)?,
                    row.get::<_, String>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(
                |(profile_id, okta_user_id, kind, entra_id, upn, mail, linked_at)| {
                    Ok(LinkRecord {
                        profile_id: parse_uuid("links.profile_id", &profile_id)?,
                        okta_user_id,
                        kind,
                        entra_id,
                        upn,
                        mail,
                        linked_at: parse_time("links.linked_at", &linked_at)?,
                    })
                },
            )
            .collect()
    }

    /// The link of one Okta user of one kind, if any.
    pub fn link(
        &self,
        profile_id: Uuid,
        okta_user_id: &str,
        kind: &str,
    ) -> Result<Option<LinkRecord>> {
        Ok(self
            .links(profile_id, Some(kind))?
            .into_iter()
            .find(|l| l.okta_user_id == okta_user_id))
    }

    /// Removes a link; returns false when there was none.
    pub fn delete_link(&self, profile_id: Uuid, okta_user_id: &str, kind: &str) -> Result<bool> {
        let changed = self.conn().execute(
            "DELETE FROM links WHERE profile_id = ?1 AND okta_user_id = ?2 AND kind = ?3",
            params![profile_id.to_string(), okta_user_id, kind],
        )?;
        Ok(changed > 0)
    }

    // ---- cursors ----

    /// A saved cursor (e.g. the System Log `next` URL), if any.
    pub fn cursor(&self, profile_id: Uuid, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM cursors WHERE profile_id = ?1 AND name = ?2",
                params![profile_id.to_string(), name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Saves a cursor.
    pub fn set_cursor(&self, profile_id: Uuid, name: &str, value: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO cursors (profile_id, name, value, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value,
                 updated_at = excluded.updated_at",
            params![
                profile_id.to_string(),
                name,
                value,
                Timestamp::now().to_string()
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_profile() -> (tempfile::TempDir, Store, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        let id = Uuid::new_v4();
        let now = Timestamp::now();
        store
            .insert_profile(&crate::ProfileRecord {
                id,
                name: "p".into(),
                kind: crate::ProfileKind::Sandbox,
                okta_org_url: "http://127.0.0.1:1".into(),
                entra_login_url: "http://127.0.0.1:1".into(),
                graph_url: "http://127.0.0.1:1".into(),
                ms_tenant: None,
                ms_client_id: None,
                embedded_sandbox: true,
                wizard_step: "connect".into(),
                created_at: now,
                updated_at: now,
                ms_credential_kind: None,
                okta_auth: None,
                okta_client_id: None,
                okta_key_id: None,
                okta_identity_source_id: None,
                operations: vec![],
            })
            .unwrap();
        (dir, store, id)
    }

    #[test]
    fn a_run_and_its_journal_round_trip() {
        let (_dir, store, profile) = store_with_profile();
        let run = RunRecord {
            id: Uuid::new_v4(),
            profile_id: profile,
            operation: "memberAccounts".into(),
            trigger: "manual".into(),
            scope: None,
            status: "planned".into(),
            plan: "{}".into(),
            guard: None,
            created_at: Timestamp::now(),
            started_at: None,
            finished_at: None,
            counts: None,
            undo_of: None,
        };
        let step = RunStepRecord {
            seq: 1,
            okta_user_id: "00u1".into(),
            user_label: "ada@example.com".into(),
            kind: "createUser".into(),
            target: "ada@example.com".into(),
            status: "pending".into(),
            ..Default::default()
        };
        store.insert_run(&run, &[step]).unwrap();
        assert!(
            store
                .start_run(run.id, &["planned"], Timestamp::now())
                .unwrap()
        );
        assert!(
            !store
                .start_run(run.id, &["planned"], Timestamp::now())
                .unwrap(),
            "a running run cannot be started twice"
        );
        store
            .step_started(run.id, 1, Some(r#"{"upn":"ada"}"#), Timestamp::now())
            .unwrap();
        assert_eq!(store.run_steps(run.id).unwrap()[0].status, "started");
        store
            .step_finished(
                run.id,
                1,
                &StepOutcome {
                    status: "done".into(),
                    http_status: Some(201),
                    request_id: Some("r-1".into()),
                    ..Default::default()
                },
                Timestamp::now(),
            )
            .unwrap();
        let steps = store.run_steps(run.id).unwrap();
        assert_eq!(steps[0].status, "done");
        assert_eq!(steps[0].request.as_deref(), Some(r#"{"upn":"ada"}"#));
        assert_eq!(steps[0].run_id, run.id);
        let outcomes = store.run_step_outcomes(run.id).unwrap();
        assert_eq!(
            (outcomes[0].status.as_str(), outcomes[0].http_status),
            ("done", Some(201))
        );
        assert_eq!(outcomes[0].okta_user_id, "00u1");
        assert_eq!(outcomes[0].request, None, "outcomes leave the request out");
        assert_eq!(store.runs_with_status("running").unwrap().len(), 1);
        let by_user = store
            .list_runs(
                profile,
                &RunQuery {
                    user: Some("ada".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(by_user.len(), 1, "the user filter matches the step label");
        let none = store
            .list_runs(
                profile,
                &RunQuery {
                    user: Some("grace".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(none.is_empty());
        assert!(store.delete_run(run.id).unwrap());
        assert!(
            store.run_steps(run.id).unwrap().is_empty(),
            "steps go with their run"
        );
    }

    #[test]
    fn links_and_cursors() {
        let (_dir, store, profile) = store_with_profile();
        let link = LinkRecord {
            profile_id: profile,
            okta_user_id: "00u1".into(),
            kind: "member".into(),
            entra_id: "e1".into(),
            upn: Some("ada@x".into()),
            mail: None,
            linked_at: Timestamp::now(),
        };
        store.upsert_link(&link).unwrap();
        store
            .upsert_link(&LinkRecord {
                entra_id: "e2".into(),
                ..link.clone()
            })
            .unwrap();
        let links = store.links(profile, Some("member")).unwrap();
        assert_eq!(links.len(), 1, "one link per user and kind");
        assert_eq!(links[0].entra_id, "e2");
        assert!(store.link(profile, "00u1", "guest").unwrap().is_none());
        assert!(store.delete_link(profile, "00u1", "member").unwrap());
        assert_eq!(store.cursor(profile, "systemLog").unwrap(), None);
        store
            .set_cursor(profile, "systemLog", "http://x/next")
            .unwrap();
        store
            .set_cursor(profile, "systemLog", "http://x/next2")
            .unwrap();
        assert_eq!(
            store.cursor(profile, "systemLog").unwrap().as_deref(),
            Some("http://x/next2")
        );
    }
}
