//! What the guided setup keeps (docs/setup.md): the setup journal of every tenant write, the Okta group per
//! role, the Microsoft licenses table, the license assignments of each role and the default usage location.
//!
//! Values are validated by the engine (roles, SKU ids, country codes); the schema's `CHECK` constraints
//! are the last line. JSON columns hold text the caller serialized; never a secret.

use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use crate::{Error, Result, Store, parse_time, parse_uuid};

/// Where a journaled setup write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    /// Recorded before the request was sent; still `started` means the outcome is unknown (a crash).
    Started,
    /// The tenant accepted the write.
    Done,
    /// The write failed; `error` says why.
    Failed,
    /// A later run re-planned from the tenant's live state and took over this row.
    Superseded,
}

impl StepStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "started",
            StepStatus::Done => "done",
            StepStatus::Failed => "failed",
            StepStatus::Superseded => "superseded",
        }
    }

    fn parse(value: &str) -> Result<Self> {
        match value {
            "started" => Ok(StepStatus::Started),
            "done" => Ok(StepStatus::Done),
            "failed" => Ok(StepStatus::Failed),
            "superseded" => Ok(StepStatus::Superseded),
            other => Err(Error::Corrupt {
                column: "setup_steps.status",
                value: other.to_owned(),
            }),
        }
    }
}

/// One row of the setup journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupStepRecord {
    /// Row id.
    pub id: i64,
    /// The profile whose tenant was written.
    pub profile_id: Uuid,
    /// The apply run the write belongs to.
    pub run_id: Uuid,
    /// `groups`, `microsoft_app` or `okta_app`.
    pub operation: String,
    /// What kind of write, e.g. `create_group:assignments`.
    pub step: String,
    /// What is written: a group name, an app name, a permission.
    pub target: String,
    /// Where it stands.
    pub status: StepStatus,
    /// The request, as JSON text (never a secret).
    pub request: String,
    /// The result (ids), as JSON text, once done; a superseded row's note as `{"note": …}`.
    pub result: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was recorded, before the request was sent.
    pub started_at: Timestamp,
    /// When it was finished, failed or superseded.
    pub finished_at: Option<Timestamp>,
}

/// The Okta group of one role, as kept for a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettingRecord {
    /// `assignments` or `guests`.
    pub role: String,
    /// The group's name on the Okta org (matched exactly).
    pub name: String,
    /// The group id last seen on the org for this name, if any.
    pub okta_group_id: Option<String>,
    /// How many members the group had when last planned, if known.
    pub member_count: Option<u64>,
}

/// One subscribed SKU of the Microsoft tenant, as of the last refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRecord {
    /// The SKU id (a GUID).
    pub sku_id: String,
    /// The SKU part number, e.g. `ENTERPRISEPACK`.
    pub sku_part_number: String,
    /// A friendly product name, for the common SKUs.
    pub product_name: Option<String>,
    /// Seats enabled (prepaid units).
    pub enabled: i64,
    /// Seats assigned.
    pub consumed: i64,
    /// Seats left to assign.
    pub available: i64,
    /// Seats suspended.
    pub suspended: i64,
    /// Seats in warning.
    pub warning: i64,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted`, `LockedOut`.
    pub capability_status: String,
    /// The service plans, as a JSON array text.
    pub service_plans: String,
    /// When this row was fetched.
    pub refreshed_at: Timestamp,
}

/// A SKU a group role is licensed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseAssignmentRecord {
    /// `assignments` or `guests`.
    pub role: String,
    /// The SKU id.
    pub sku_id: String,
    /// Service plan names left disabled.
    pub disabled_plans: Vec<String>,
}

const STEP_SELECT: &str =
    "SELECT id, profile_id, run_id, operation, step, target, status, request, result,
    error, started_at, finished_at FROM setup_steps";

type RawStep = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

fn raw_step(row: &Row<'_>) -> rusqlite::Result<RawStep> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
        row.get(11)?,
    ))
}

fn step_record(raw: RawStep) -> Result<SetupStepRecord> {
    let (
        id,
        profile_id,
        run_id,
        operation,
        step,
        target,
        status,
        request,
        result,
        error,
        started_at,
        finished_at,
    ) = raw;
    Ok(SetupStepRecord {
        id,
        profile_id: parse_uuid("setup_steps.profile_id", &profile_id)?,
        run_id: parse_uuid("setup_steps.run_id", &run_id)?,
        operation,
        step,
        target,
        status: StepStatus::parse(&status)?,
        request,
        result,
        error,
        started_at: parse_time("setup_steps.started_at", &started_at)?,
        finished_at: finished_at
            .map(|t| parse_time("setup_steps.finished_at", &t))
            .transpose()?,
    })
}

impl Store {
    // ---- the setup journal ----

    /// Records a write about to be sent (`started`); returns the row id to finish it with.
    pub fn journal_start(
        &self,
        profile_id: Uuid,
        run_id: Uuid,
        operation: &str,
        step: &str,
        target: &str,
        request_json: &str,
    ) -> Result<i64> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO setup_steps (profile_id, run_id, operation, step, target, status, request, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'started', ?6, ?7)",
            params![
                profile_id.to_string(),
                run_id.to_string(),
                operation,
                step,
                target,
                request_json,
                Timestamp::now().to_string(),
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Marks a write `done` with its result (JSON text). Returns false when no such row exists.
    pub fn journal_finish(&self, id: i64, result_json: &str) -> Result<bool> {
        self.journal_close(id, StepStatus::Done, Some(result_json), None)
    }

    /// Marks a write `failed` with what went wrong. Returns false when no such row exists.
    pub fn journal_fail(&self, id: i64, error: &str) -> Result<bool> {
        self.journal_close(id, StepStatus::Failed, None, Some(error))
    }

    /// Marks a row `superseded` by a later run, with a note saying what that run found (kept in `result`
    /// as `{"note": …}`). Returns false when no such row exists.
    pub fn journal_supersede(&self, id: i64, note: &str) -> Result<bool> {
        let result = serde_json::json!({ "note": note }).to_string();
        self.journal_close(id, StepStatus::Superseded, Some(&result), None)
    }

    fn journal_close(
        &self,
        id: i64,
        status: StepStatus,
        result: Option<&str>,
        error: Option<&str>,
    ) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE setup_steps SET status = ?2, result = COALESCE(?3, result), error = ?4, finished_at = ?5
             WHERE id = ?1",
            params![
                id,
                status.as_str(),
                result,
                error,
                Timestamp::now().to_string()
            ],
        )?;
        Ok(changed > 0)
    }

    /// The rows of a profile's operation still `started` (writes whose outcome is unknown), oldest first.
    pub fn journal_unfinished(
        &self,
        profile_id: Uuid,
        operation: &str,
    ) -> Result<Vec<SetupStepRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{STEP_SELECT} WHERE profile_id = ?1 AND operation = ?2 AND status = 'started' ORDER BY id"
        ))?;
        let rows = stmt
            .query_map(params![profile_id.to_string(), operation], raw_step)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(step_record).collect()
    }

    /// A profile's journal (of one operation, or all), newest first, at most `limit` rows.
    pub fn journal(
        &self,
        profile_id: Uuid,
        operation: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SetupStepRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{STEP_SELECT} WHERE profile_id = ?1 AND (?2 IS NULL OR operation = ?2) ORDER BY id DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![profile_id.to_string(), operation, limit], raw_step)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(step_record).collect()
    }

    // ---- groups ----

    /// The Okta group settings a profile stored, by role. Roles never set are absent (the engine supplies
    /// the defaults).
    pub fn group_settings(&self, profile_id: Uuid) -> Result<Vec<GroupSettingRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT role, name, okta_group_id, member_count FROM setup_groups WHERE profile_id = ?1
             ORDER BY role",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], |row| {
                Ok(GroupSettingRecord {
                    role: row.get(0)?,
                    name: row.get(1)?,
                    okta_group_id: row.get(2)?,
                    member_count: row.get::<_, Option<i64>>(3)?.map(|n| n.max(0) as u64),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Sets the group name of each role given, in one transaction. A role whose name changes forgets the
    /// group id and member count it had seen (they were another group's).
    pub fn set_group_names(&self, profile_id: Uuid, groups: &[(&str, &str)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for (role, name) in groups {
            tx.execute(
                "INSERT INTO setup_groups (profile_id, role, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (profile_id, role) DO UPDATE SET name = excluded.name,
                     okta_group_id = CASE WHEN setup_groups.name = excluded.name
                                          THEN setup_groups.okta_group_id END,
                     member_count = CASE WHEN setup_groups.name = excluded.name
                                         THEN setup_groups.member_count END",
                params![profile_id.to_string(), role, name],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records what the org has for a role's group name: its id and member count (`None` when the org
    /// has no such group), inserting the role's row when absent.
    pub fn set_group_found(
        &self,
        profile_id: Uuid,
        role: &str,
        name: &str,
        okta_group_id: Option<&str>,
        member_count: Option<u64>,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO setup_groups (profile_id, role, name, okta_group_id, member_count)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (profile_id, role) DO UPDATE SET name = excluded.name,
                 okta_group_id = excluded.okta_group_id, member_count = excluded.member_count",
            params![
                profile_id.to_string(),
                role,
                name,
                okta_group_id,
                member_count.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
            ],
        )?;
        Ok(())
    }

    // ---- licenses ----

    /// Replaces a profile's licenses table with a fresh snapshot, in one transaction, and records when.
    pub fn replace_licenses(
        &self,
        profile_id: Uuid,
        licenses: &[LicenseRecord],
        refreshed_at: Timestamp,
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let pid = profile_id.to_string();
        tx.execute("DELETE FROM licenses WHERE profile_id = ?1", [&pid])?;
        for l in licenses {
            tx.execute(
                "INSERT INTO licenses (profile_id, sku_id, sku_part_number, product_name, enabled, consumed,
                     available, suspended, warning, capability_status, service_plans, refreshed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    pid,
                    l.sku_id,
                    l.sku_part_number,
                    l.product_name,
                    l.enabled,
                    l.consumed,
                    l.available,
                    l.suspended,
                    l.warning,
                    l.capability_status,
                    l.service_plans,
                    l.refreshed_at.to_string(),
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO license_settings (profile_id, refreshed_at) VALUES (?1, ?2)
             ON CONFLICT (profile_id) DO UPDATE SET refreshed_at = excluded.refreshed_at",
            params![pid, refreshed_at.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A profile's licenses table, by part number.
    pub fn licenses(&self, profile_id: Uuid) -> Result<Vec<LicenseRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT sku_id, sku_part_number, product_name, enabled, consumed, available, suspended, warning,
                 capability_status, service_plans, refreshed_at
             FROM licenses WHERE profile_id = ?1 ORDER BY sku_part_number, sku_id",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], |row| {
                Ok((
                    LicenseRecord {
                        sku_id: row.get(0)?,
                        sku_part_number: row.get(1)?,
                        product_name: row.get(2)?,
                        enabled: row.get(3)?,
                        consumed: row.get(4)?,
                        available: row.get(5)?,
                        suspended: row.get(6)?,
                        warning: row.get(7)?,
                        capability_status: row.get(8)?,
                        service_plans: row.get(9)?,
                        refreshed_at: Timestamp::UNIX_EPOCH,
                    },
                    row.get::<_, String>(10)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(mut record, refreshed_at)| {
                record.refreshed_at = parse_time("licenses.refreshed_at", &refreshed_at)?;
                Ok(record)
            })
            .collect()
    }

    /// When the profile's licenses table was last refreshed, if ever.
    pub fn licenses_refreshed_at(&self, profile_id: Uuid) -> Result<Option<Timestamp>> {
        let value: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT refreshed_at FROM license_settings WHERE profile_id = ?1",
                [profile_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        value
            .flatten()
            .map(|t| parse_time("license_settings.refreshed_at", &t))
            .transpose()
    }

    /// Replaces the license assignments of a profile (every role), in one transaction.
    pub fn set_license_assignments(
        &self,
        profile_id: Uuid,
        assignments: &[LicenseAssignmentRecord],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let pid = profile_id.to_string();
        tx.execute(
            "DELETE FROM license_assignments WHERE profile_id = ?1",
            [&pid],
        )?;
        for a in assignments {
            tx.execute(
                "INSERT INTO license_assignments (profile_id, role, sku_id, disabled_plans)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (profile_id, role, sku_id) DO UPDATE SET disabled_plans = excluded.disabled_plans",
                params![
                    pid,
                    a.role,
                    a.sku_id,
                    serde_json::to_string(&a.disabled_plans).expect("a list of strings serializes"),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The license assignments of a profile, by role then SKU id.
    pub fn license_assignments(&self, profile_id: Uuid) -> Result<Vec<LicenseAssignmentRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT role, sku_id, disabled_plans FROM license_assignments WHERE profile_id = ?1
             ORDER BY role, sku_id",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(role, sku_id, plans)| {
                Ok(LicenseAssignmentRecord {
                    role,
                    sku_id,
                    disabled_plans: serde_json::from_str(&plans).map_err(|_| Error::Corrupt {
                        column: "license_assignments.disabled_plans",
                        value: plans.clone(),
                    })?,
                })
            })
            .collect()
    }

    /// Sets (or clears) the profile's default usage location.
    pub fn set_usage_location(&self, profile_id: Uuid, code: Option<&str>) -> Result<()> {
        self.conn().execute(
            "INSERT INTO license_settings (profile_id, usage_location) VALUES (?1, ?2)
             ON CONFLICT (profile_id) DO UPDATE SET usage_location = excluded.usage_location",
            params![profile_id.to_string(), code],
        )?;
        Ok(())
    }

    /// The profile's default usage location, if set.
    pub fn usage_location(&self, profile_id: Uuid) -> Result<Option<String>> {
        let value: Option<Option<String>> = self
            .conn()
            .query_row(
                "SELECT usage_location FROM license_settings WHERE profile_id = ?1",
                [profile_id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(value.flatten())
    }
}
