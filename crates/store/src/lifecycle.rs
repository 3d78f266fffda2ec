//! The licensing lifecycle (docs/licensing.md): the lifecycle settings per profile, the license snapshots
//! taken when an account is disabled, the stages (delayed work run when due) and the seat counts over time.
//!
//! Kinds and statuses are stored as the contract's strings; the engine validates them and the schema's
//! `CHECK` constraints are the last line. JSON columns hold text the caller serialized; never a secret.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use crate::{Result, Store, parse_time, parse_uuid};

/// A user's direct licenses saved when the account was disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// The profile.
    pub profile_id: Uuid,
    /// The Okta user the snapshot is of.
    pub okta_user_id: String,
    /// The Entra user whose licenses were saved.
    pub entra_id: String,
    /// The direct licenses, as JSON text `[{skuId, skuPartNumber, disabledPlans}]`.
    pub licenses: String,
    /// When the snapshot was taken.
    pub taken_at: Timestamp,
    /// The run that took it.
    pub run_id: Option<Uuid>,
    /// When an activation restored it.
    pub restored_at: Option<Timestamp>,
}

/// One stage: a delayed piece of work (today `removeLicenses`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRecord {
    /// The row id (ignored by [`Store::insert_stage`]).
    pub id: i64,
    /// The profile.
    pub profile_id: Uuid,
    /// The Okta user the stage is for.
    pub okta_user_id: String,
    /// The user in words (login or name).
    pub user_label: String,
    /// The Entra user written.
    pub entra_id: String,
    /// The kind of work, e.g. `removeLicenses`.
    pub kind: String,
    /// When the stage comes due.
    pub due_at: Timestamp,
    /// `pending`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    /// The run whose step scheduled the stage.
    pub scheduled_by_run: Uuid,
    /// The sequence number of that step.
    pub scheduled_by_seq: i64,
    /// The stage's own run, once claimed.
    pub run_id: Option<Uuid>,
    /// When the stage was scheduled.
    pub created_at: Timestamp,
    /// When the stage was claimed.
    pub started_at: Option<Timestamp>,
    /// When the stage finished (done, failed or cancelled).
    pub finished_at: Option<Timestamp>,
    /// How late the stage started, in seconds.
    pub late_secs: Option<i64>,
    /// Why the stage was cancelled.
    pub cancel_reason: Option<String>,
}

/// One point of a SKU's seat counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatPointRecord {
    /// The profile.
    pub profile_id: Uuid,
    /// The SKU id.
    pub sku_id: String,
    /// The SKU part number, e.g. `ENTERPRISEPACK`.
    pub sku_part_number: String,
    /// Seats in use.
    pub consumed: i64,
    /// Seats bought and enabled.
    pub enabled: i64,
    /// When the counts were read.
    pub taken_at: Timestamp,
    /// The run after which they were read.
    pub run_id: Option<Uuid>,
}

fn opt_time(column: &'static str, value: Option<String>) -> Result<Option<Timestamp>> {
    value.map(|t| parse_time(column, &t)).transpose()
}

fn opt_uuid(column: &'static str, value: Option<String>) -> Result<Option<Uuid>> {
    value.map(|id| parse_uuid(column, &id)).transpose()
}

const SNAPSHOT_SELECT: &str =
    "SELECT profile_id, okta_user_id, entra_id, licenses, taken_at, run_id,
    restored_at FROM license_snapshots";

type RawSnapshot = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

fn raw_snapshot(row: &Row<'_>) -> rusqlite::Result<RawSnapshot> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn snapshot_record(
    (profile_id, okta_user_id, entra_id, licenses, taken_at, run_id, restored_at): RawSnapshot,
) -> Result<SnapshotRecord> {
    Ok(SnapshotRecord {
        profile_id: parse_uuid("license_snapshots.profile_id", &profile_id)?,
        okta_user_id,
        entra_id,
        licenses,
        taken_at: parse_time("license_snapshots.taken_at", &taken_at)?,
        run_id: opt_uuid("license_snapshots.run_id", run_id)?,
        restored_at: opt_time("license_snapshots.restored_at", restored_at)?,
    })
}

const STAGE_SELECT: &str = "SELECT id, profile_id, okta_user_id, user_label, entra_id, kind, due_at,
    status, scheduled_by_run, scheduled_by_seq, run_id, created_at, started_at, finished_at, late_secs,
    cancel_reason FROM stages";

/// A stage row before its typed columns are parsed.
struct RawStage {
    id: i64,
    profile_id: String,
    okta_user_id: String,
    user_label: String,
    entra_id: String,
    kind: String,
    due_at: String,
    status: String,
    scheduled_by_run: String,
    scheduled_by_seq: i64,
    run_id: Option<String>,
    created_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    late_secs: Option<i64>,
    cancel_reason: Option<String>,
}

fn raw_stage(row: &Row<'_>) -> rusqlite::Result<RawStage> {
    Ok(RawStage {
        id: row.get(0)?,
        profile_id: row.get(1)?,
        okta_user_id: row.get(2)?,
        user_label: row.get(3)?,
        entra_id: row.get(4)?,
        kind: row.get(5)?,
        due_at: row.get(6)?,
        status: row.get(7)?,
        scheduled_by_run: row.get(8)?,
        scheduled_by_seq: row.get(9)?,
        run_id: row.get(10)?,
        created_at: row.get(11)?,
        started_at: row.get(12)?,
        finished_at: row.get(13)?,
        late_secs: row.get(14)?,
        cancel_reason: row.get(15)?,
    })
}

impl RawStage {
    fn into_record(self) -> Result<StageRecord> {
        Ok(StageRecord {
            id: self.id,
            profile_id: parse_uuid("stages.profile_id", &self.profile_id)?,
            okta_user_id: self.okta_user_id,
            user_label: self.user_label,
            entra_id: self.entra_id,
            kind: self.kind,
            due_at: parse_time("stages.due_at", &self.due_at)?,
            status: self.status,
            scheduled_by_run: parse_uuid("stages.scheduled_by_run", &self.scheduled_by_run)?,
            scheduled_by_seq: self.scheduled_by_seq,
            run_id: opt_uuid("stages.run_id", self.run_id)?,
            created_at: parse_time("stages.created_at", &self.created_at)?,
            started_at: opt_time("stages.started_at", self.started_at)?,
            finished_at: opt_time("stages.finished_at", self.finished_at)?,
            late_secs: self.late_secs,
            cancel_reason: self.cancel_reason,
        })
    }
}

/// Timestamps are stored as RFC 3339 text in UTC with the precision jiff prints; text comparison orders
/// them only when their lengths line up, so due times are compared after parsing.
fn sort_by_due(stages: &mut [StageRecord]) {
    stages.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.id.cmp(&b.id)));
}

impl Store {
    // ---- settings ----

    /// The profile's lifecycle settings as saved (JSON text), or `None` when never saved.
    pub fn lifecycle_settings(&self, profile_id: Uuid) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT json FROM lifecycle_settings WHERE profile_id = ?1",
                [profile_id.to_string()],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Saves the profile's lifecycle settings (JSON text, replacing any saved before). Returns false
    /// (saving nothing) when no such profile exists.
    pub fn set_lifecycle_settings(&self, profile_id: Uuid, json: &str) -> Result<bool> {
        let conn = self.conn();
        let exists: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM profiles WHERE id = ?1",
                [profile_id.to_string()],
                |row| row.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO lifecycle_settings (profile_id, json) VALUES (?1, ?2)
             ON CONFLICT (profile_id) DO UPDATE SET json = excluded.json",
            params![profile_id.to_string(), json],
        )?;
        Ok(true)
    }

    // ---- snapshots ----

    /// The license snapshot of one Okta user, if one was taken.
    pub fn snapshot(&self, profile_id: Uuid, okta_user_id: &str) -> Result<Option<SnapshotRecord>> {
        let raw = self
            .conn()
            .query_row(
                &format!("{SNAPSHOT_SELECT} WHERE profile_id = ?1 AND okta_user_id = ?2"),
                params![profile_id.to_string(), okta_user_id],
                raw_snapshot,
            )
            .optional()?;
        raw.map(snapshot_record).transpose()
    }

    /// Records (or replaces) the snapshot of one Okta user, `restored_at` included.
    pub fn upsert_snapshot(&self, snapshot: &SnapshotRecord) -> Result<()> {
        self.conn().execute(
            "INSERT INTO license_snapshots (profile_id, okta_user_id, entra_id, licenses, taken_at, run_id,
                 restored_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (profile_id, okta_user_id) DO UPDATE SET entra_id = excluded.entra_id,
                 licenses = excluded.licenses, taken_at = excluded.taken_at, run_id = excluded.run_id,
                 restored_at = excluded.restored_at",
            params![
                snapshot.profile_id.to_string(),
                snapshot.okta_user_id,
                snapshot.entra_id,
                snapshot.licenses,
                snapshot.taken_at.to_string(),
                snapshot.run_id.map(|id| id.to_string()),
                snapshot.restored_at.map(|t| t.to_string()),
            ],
        )?;
        Ok(())
    }

    /// Records that an activation restored a user's snapshot; returns false when there is none.
    pub fn mark_snapshot_restored(
        &self,
        profile_id: Uuid,
        okta_user_id: &str,
        at: Timestamp,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE license_snapshots SET restored_at = ?3 WHERE profile_id = ?1 AND okta_user_id = ?2",
            params![profile_id.to_string(), okta_user_id, at.to_string()],
        )?;
        Ok(changed > 0)
    }

    // ---- stages ----

    /// Schedules a stage, at most once per scheduling step: when a stage with the same
    /// (`scheduled_by_run`, `scheduled_by_seq`) exists, nothing is written. Returns the row id either way.
    /// The record's `id` is ignored.
    pub fn insert_stage(&self, stage: &StageRecord) -> Result<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO stages (profile_id, okta_user_id, user_label, entra_id, kind, due_at, status,
                 scheduled_by_run, scheduled_by_seq, run_id, created_at, started_at, finished_at, late_secs,
                 cancel_reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (scheduled_by_run, scheduled_by_seq) DO NOTHING",
            params![
                stage.profile_id.to_string(),
                stage.okta_user_id,
                stage.user_label,
                stage.entra_id,
                stage.kind,
                stage.due_at.to_string(),
                stage.status,
                stage.scheduled_by_run.to_string(),
                stage.scheduled_by_seq,
                stage.run_id.map(|id| id.to_string()),
                stage.created_at.to_string(),
                stage.started_at.map(|t| t.to_string()),
                stage.finished_at.map(|t| t.to_string()),
                stage.late_secs,
                stage.cancel_reason,
            ],
        )?;
        let id: i64 = tx.query_row(
            "SELECT id FROM stages WHERE scheduled_by_run = ?1 AND scheduled_by_seq = ?2",
            params![stage.scheduled_by_run.to_string(), stage.scheduled_by_seq],
            |row| row.get(0),
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The stage with this id, if any.
    pub fn stage(&self, id: i64) -> Result<Option<StageRecord>> {
        let raw = self
            .conn()
            .query_row(&format!("{STAGE_SELECT} WHERE id = ?1"), [id], raw_stage)
            .optional()?;
        raw.map(RawStage::into_record).transpose()
    }

    /// A profile's stages in one of these statuses (every status when empty), by due time.
    pub fn stages(&self, profile_id: Uuid, statuses: &[&str]) -> Result<Vec<StageRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("{STAGE_SELECT} WHERE profile_id = ?1"))?;
        let rows = stmt
            .query_map([profile_id.to_string()], raw_stage)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stages = rows
            .into_iter()
            .filter(|s| statuses.is_empty() || statuses.contains(&s.status.as_str()))
            .map(RawStage::into_record)
            .collect::<Result<Vec<_>>>()?;
        sort_by_due(&mut stages);
        Ok(stages)
    }

    /// The `pending` stages due at `now` (due time ≤ now) of one profile or of every profile, earliest
    /// due first.
    pub fn due_stages(&self, profile_id: Option<Uuid>, now: Timestamp) -> Result<Vec<StageRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{STAGE_SELECT} WHERE status = 'pending' AND (?1 IS NULL OR profile_id = ?1)"
        ))?;
        let rows = stmt
            .query_map([profile_id.map(|id| id.to_string())], raw_stage)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stages = rows
            .into_iter()
            .map(RawStage::into_record)
            .collect::<Result<Vec<_>>>()?;
        stages.retain(|s| s.due_at <= now);
        sort_by_due(&mut stages);
        Ok(stages)
    }

    /// The `pending` stage of one Okta user, if any (the earliest due when there are several).
    pub fn pending_stage_for(
        &self,
        profile_id: Uuid,
        okta_user_id: &str,
    ) -> Result<Option<StageRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{STAGE_SELECT} WHERE status = 'pending' AND profile_id = ?1 AND okta_user_id = ?2"
        ))?;
        let rows = stmt
            .query_map(params![profile_id.to_string(), okta_user_id], raw_stage)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut stages = rows
            .into_iter()
            .map(RawStage::into_record)
            .collect::<Result<Vec<_>>>()?;
        sort_by_due(&mut stages);
        Ok(stages.into_iter().next())
    }

    /// Takes a `pending` stage to `running` with its own run, atomically: returns false (changing
    /// nothing) when the stage is not pending, so two schedulers cannot both run it.
    pub fn claim_stage(
        &self,
        id: i64,
        run_id: Uuid,
        started_at: Timestamp,
        late_secs: Option<i64>,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE stages SET status = 'running', run_id = ?2, started_at = ?3, late_secs = ?4
             WHERE id = ?1 AND status = 'pending'",
            params![id, run_id.to_string(), started_at.to_string(), late_secs],
        )?;
        Ok(changed > 0)
    }

    /// Puts a stage claimed by `run_id` back to `pending` (its run was thrown away before it wrote
    /// anything); returns false when the stage is not running with that run.
    pub fn release_stage(&self, id: i64, run_id: Uuid) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE stages SET status = 'pending', run_id = NULL, started_at = NULL, late_secs = NULL
             WHERE id = ?1 AND status = 'running' AND run_id = ?2",
            params![id, run_id.to_string()],
        )?;
        Ok(changed > 0)
    }

    /// Finishes a stage with its final status (`done`, `failed` or `cancelled`); returns false when no
    /// such stage exists.
    pub fn finish_stage(&self, id: i64, status: &str, at: Timestamp) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE stages SET status = ?2, finished_at = ?3 WHERE id = ?1",
            params![id, status, at.to_string()],
        )?;
        Ok(changed > 0)
    }

    /// Cancels a `pending` stage with the reason in plain words; returns false (changing nothing) when the
    /// stage is not pending.
    pub fn cancel_stage(&self, id: i64, reason: &str, at: Timestamp) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE stages SET status = 'cancelled', cancel_reason = ?2, finished_at = ?3
             WHERE id = ?1 AND status = 'pending'",
            params![id, reason, at.to_string()],
        )?;
        Ok(changed > 0)
    }

    // ---- seats over time ----

    /// Appends seat points, in one transaction.
    pub fn insert_seat_points(&self, points: &[SeatPointRecord]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for point in points {
            tx.execute(
                "INSERT INTO seat_history (profile_id, sku_id, sku_part_number, consumed, enabled, taken_at,
                     run_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    point.profile_id.to_string(),
                    point.sku_id,
                    point.sku_part_number,
                    point.consumed,
                    point.enabled,
                    point.taken_at.to_string(),
                    point.run_id.map(|id| id.to_string()),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A profile's seat points taken at or after `since` (every point when `None`), oldest first.
    pub fn seat_history(
        &self,
        profile_id: Uuid,
        since: Option<Timestamp>,
    ) -> Result<Vec<SeatPointRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT profile_id, sku_id, sku_part_number, consumed, enabled, taken_at, run_id
             FROM seat_history WHERE profile_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut points = rows
            .into_iter()
            .map(
                |(profile_id, sku_id, sku_part_number, consumed, enabled, taken_at, run_id)| {
                    Ok(SeatPointRecord {
                        profile_id: parse_uuid("seat_history.profile_id", &profile_id)?,
                        sku_id,
                        sku_part_number,
                        consumed,
                        enabled,
                        taken_at: parse_time("seat_history.taken_at", &taken_at)?,
                        run_id: opt_uuid("seat_history.run_id", run_id)?,
                    })
                },
            )
            .collect::<Result<Vec<_>>>()?;
        if let Some(since) = since {
            points.retain(|p| p.taken_at >= since);
        }
        points.sort_by_key(|p| p.taken_at);
        Ok(points)
    }
}
