//! Import runs (docs/imports.md "Plan and apply"): the import-specific part of a run of operation
//! `imports` — the source name, the `ImportPlan` (JSON text the engine serialized) and the spool file.
//! The run itself and its steps live in `runs` / `run_steps`; deleting the run deletes this row.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use crate::{Result, Store, parse_time, parse_uuid};

/// One import run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRunRecord {
    /// The run (`runs.id`).
    pub run_id: Uuid,
    /// The profile.
    pub profile_id: Uuid,
    /// The source imported (the saved mapping's name).
    pub source_name: String,
    /// The `ImportPlan` as JSON text.
    pub plan: String,
    /// The spool file (`{data dir}/imports/{importId}.jsonl`).
    pub spool_path: String,
    /// When it was planned.
    pub created_at: Timestamp,
}

struct RawImportRun {
    run_id: String,
    profile_id: String,
    source_name: String,
    plan: String,
    spool_path: String,
    created_at: String,
}

impl RawImportRun {
    fn into_record(self) -> Result<ImportRunRecord> {
        Ok(ImportRunRecord {
            run_id: parse_uuid("import_runs.run_id", &self.run_id)?,
            profile_id: parse_uuid("import_runs.profile_id", &self.profile_id)?,
            source_name: self.source_name,
            plan: self.plan,
            spool_path: self.spool_path,
            created_at: parse_time("import_runs.created_at", &self.created_at)?,
        })
    }
}

const SELECT: &str =
    "SELECT run_id, profile_id, source_name, plan, spool_path, created_at FROM import_runs";

fn raw(row: &Row<'_>) -> rusqlite::Result<RawImportRun> {
    Ok(RawImportRun {
        run_id: row.get(0)?,
        profile_id: row.get(1)?,
        source_name: row.get(2)?,
        plan: row.get(3)?,
        spool_path: row.get(4)?,
        created_at: row.get(5)?,
    })
}

impl Store {
    /// Records the import part of a run (the run must exist).
    pub fn insert_import_run(&self, record: &ImportRunRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO import_runs (run_id, profile_id, source_name, plan, spool_path, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                record.run_id.to_string(),
                record.profile_id.to_string(),
                record.source_name,
                record.plan,
                record.spool_path,
                record.created_at.to_string(),
            ],
        )?;
        Ok(())
    }

    /// The import part of a run, if the run is an import.
    pub fn import_run(&self, run_id: Uuid) -> Result<Option<ImportRunRecord>> {
        let raw = self
            .conn()
            .query_row(
                &format!("{SELECT} WHERE run_id = ?1"),
                [run_id.to_string()],
                raw,
            )
            .optional()?;
        raw.map(RawImportRun::into_record).transpose()
    }

    /// A profile's import runs, newest first (at most `limit`).
    pub fn import_runs(&self, profile_id: Uuid, limit: u32) -> Result<Vec<ImportRunRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{SELECT} WHERE profile_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![profile_id.to_string(), i64::from(limit)], raw)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(RawImportRun::into_record).collect()
    }

    /// Replaces the stored plan of an import run (e.g. after a resume re-chunked it).
    pub fn set_import_plan(&self, run_id: Uuid, plan: &str) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE import_runs SET plan = ?2 WHERE run_id = ?1",
            params![run_id.to_string(), plan],
        )?;
        Ok(n > 0)
    }
}
