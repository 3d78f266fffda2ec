//! Anything-as-a-Source imports (docs/imports.md): the saved source and mapping per profile and source
//! name, the content hashes of the records last imported (delta imports), and the import schedules.
//!
//! Sources and mappings are the JSON text the engine serialized and validated (`SourceSpec`,
//! `ImportMapping`); a source's credential is never here (it is in the OS keychain).

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

use crate::{Error, Result, Store, parse_time, parse_uuid};

/// A saved source and its mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportMappingRecord {
    /// The profile.
    pub profile_id: Uuid,
    /// The source's name, unique per profile.
    pub source_name: String,
    /// The `SourceSpec` as JSON text.
    pub source: String,
    /// The `ImportMapping` as JSON text.
    pub mapping: String,
    /// When it was last saved.
    pub updated_at: Timestamp,
}

/// When a source is imported on its own: every `every_mins` minutes, or daily at `daily_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportScheduleRecord {
    /// The profile.
    pub profile_id: Uuid,
    /// The source's name.
    pub source_name: String,
    /// Minutes between two imports (exclusive with `daily_at`).
    pub every_mins: Option<u32>,
    /// `HH:MM` in `time_zone` (exclusive with `every_mins`).
    pub daily_at: Option<String>,
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// When a scheduled import last started.
    pub last_run_at: Option<Timestamp>,
    /// When the schedule was set.
    pub set_at: Timestamp,
}

impl ImportScheduleRecord {
    /// Whether an import is due at `now`: an interval schedule when it never ran or `every_mins` have
    /// passed since it last ran; a daily one when today's (or yesterday's) `HH:MM` in its time zone has
    /// come since it last ran and since it was set. An unknown time zone reads as UTC.
    pub fn is_due(&self, now: Timestamp) -> bool {
        if let Some(every) = self.every_mins {
            return match self.last_run_at {
                None => true,
                Some(last) => last + SignedDuration::from_mins(i64::from(every)) <= now,
            };
        }
        let Some(at) = self.daily_at.as_deref() else {
            return false;
        };
        let Some(occurrence) = last_occurrence(at, &self.time_zone, now) else {
            return false;
        };
        let since = self.last_run_at.map_or(self.set_at, |l| l.max(self.set_at));
        occurrence > since && occurrence <= now
    }
}

/// The latest `HH:MM` in `time_zone` at or before `now`.
fn last_occurrence(at: &str, time_zone: &str, now: Timestamp) -> Option<Timestamp> {
    let (h, m) = at.split_once(':')?;
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let today = now.to_zoned(tz.clone()).date();
    let at_day = |d: jiff::civil::Date| {
        d.at(h, m, 0, 0)
            .to_zoned(tz.clone())
            .ok()
            .map(|z| z.timestamp())
    };
    match at_day(today)? {
        t if t <= now => Some(t),
        _ => at_day(today.yesterday().ok()?),
    }
}

fn mapping_record(row: &Row<'_>) -> rusqlite::Result<(String, String, String, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_mapping(
    (profile_id, source_name, source, mapping, updated_at): (
        String,
        String,
        String,
        String,
        String,
    ),
) -> Result<ImportMappingRecord> {
    Ok(ImportMappingRecord {
        profile_id: parse_uuid("import_mappings.profile_id", &profile_id)?,
        source_name,
        source,
        mapping,
        updated_at: parse_time("import_mappings.updated_at", &updated_at)?,
    })
}

type RawSchedule = (
    String,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    String,
);

fn raw_schedule(row: &Row<'_>) -> rusqlite::Result<RawSchedule> {
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

fn to_schedule(
    (profile_id, source_name, every_mins, daily_at, time_zone, last_run_at, set_at): RawSchedule,
) -> Result<ImportScheduleRecord> {
    Ok(ImportScheduleRecord {
        profile_id: parse_uuid("import_schedules.profile_id", &profile_id)?,
        source_name,
        every_mins: every_mins
            .map(|n| {
                u32::try_from(n).map_err(|_| Error::Corrupt {
                    column: "import_schedules.every_mins",
                    value: n.to_string(),
                })
            })
            .transpose()?,
        daily_at,
        time_zone,
        last_run_at: last_run_at
            .map(|t| parse_time("import_schedules.last_run_at", &t))
            .transpose()?,
        set_at: parse_time("import_schedules.set_at", &set_at)?,
    })
}

const SCHEDULE_SELECT: &str = "SELECT profile_id, source_name, every_mins, daily_at, time_zone,
    last_run_at, set_at FROM import_schedules";

impl Store {
    fn profile_exists(conn: &rusqlite::Connection, profile_id: Uuid) -> Result<bool> {
        Ok(conn
            .query_row(
                "SELECT 1 FROM profiles WHERE id = ?1",
                [profile_id.to_string()],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
            .is_some())
    }

    // ---- mappings ----

    /// The saved source and mapping named `source_name`, if any.
    pub fn import_mapping(
        &self,
        profile_id: Uuid,
        source_name: &str,
    ) -> Result<Option<ImportMappingRecord>> {
        self.conn()
            .query_row(
                "SELECT profile_id, source_name, source, mapping, updated_at FROM import_mappings
                 WHERE profile_id = ?1 AND source_name = ?2",
                params![profile_id.to_string(), source_name],
                mapping_record,
            )
            .optional()?
            .map(to_mapping)
            .transpose()
    }

    /// Every saved source of the profile, by name.
    pub fn import_mappings(&self, profile_id: Uuid) -> Result<Vec<ImportMappingRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT profile_id, source_name, source, mapping, updated_at FROM import_mappings
             WHERE profile_id = ?1 ORDER BY source_name",
        )?;
        let rows = stmt
            .query_map([profile_id.to_string()], mapping_record)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_mapping).collect()
    }

    /// Saves a source and its mapping (JSON text), replacing what was saved under that name. Returns
    /// false (saving nothing) when no such profile exists.
    pub fn save_import_mapping(
        &self,
        profile_id: Uuid,
        source_name: &str,
        source: &str,
        mapping: &str,
    ) -> Result<bool> {
        let conn = self.conn();
        if !Self::profile_exists(&conn, profile_id)? {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO import_mappings (profile_id, source_name, source, mapping, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (profile_id, source_name) DO UPDATE SET source = excluded.source,
                 mapping = excluded.mapping, updated_at = excluded.updated_at",
            params![
                profile_id.to_string(),
                source_name,
                source,
                mapping,
                Timestamp::now().to_string()
            ],
        )?;
        Ok(true)
    }

    /// Forgets a saved source: its mapping, hashes and schedule. Returns whether it existed.
    pub fn delete_import_mapping(&self, profile_id: Uuid, source_name: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let p = params![profile_id.to_string(), source_name];
        let n = tx.execute(
            "DELETE FROM import_mappings WHERE profile_id = ?1 AND source_name = ?2",
            p,
        )?;
        tx.execute(
            "DELETE FROM import_hashes WHERE profile_id = ?1 AND source_name = ?2",
            p,
        )?;
        tx.execute(
            "DELETE FROM import_schedules WHERE profile_id = ?1 AND source_name = ?2",
            p,
        )?;
        tx.commit()?;
        Ok(n > 0)
    }

    // ---- hashes ----

    /// Calls `f` with the externalId and content hash of every record last imported from the source,
    /// one row at a time (the caller keeps what it needs, e.g. a compact map); returns how many.
    pub fn each_import_hash(
        &self,
        profile_id: Uuid,
        source_name: &str,
        mut f: impl FnMut(&str, &[u8; 32]),
    ) -> Result<usize> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT external_id, hash FROM import_hashes WHERE profile_id = ?1 AND source_name = ?2",
        )?;
        let mut rows = stmt.query(params![profile_id.to_string(), source_name])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let corrupt = |column: &'static str, what: String| Error::Corrupt {
                column,
                value: what,
            };
            let id = row
                .get_ref(0)?
                .as_str()
                .map_err(|e| corrupt("import_hashes.external_id", e.to_string()))?;
            let blob = row
                .get_ref(1)?
                .as_blob()
                .map_err(|e| corrupt("import_hashes.hash", e.to_string()))?;
            let hash: &[u8; 32] = blob
                .try_into()
                .map_err(|_| corrupt("import_hashes.hash", format!("{} bytes", blob.len())))?;
            f(id, hash);
            n += 1;
        }
        Ok(n)
    }

    /// Writes the content hashes of the records a completed session carried, in one transaction.
    pub fn upsert_import_hashes(
        &self,
        profile_id: Uuid,
        source_name: &str,
        import_id: &str,
        hashes: &[(String, [u8; 32])],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO import_hashes (profile_id, source_name, external_id, hash, import_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (profile_id, source_name, external_id) DO UPDATE SET
                     hash = excluded.hash, import_id = excluded.import_id",
            )?;
            let profile = profile_id.to_string();
            for (id, hash) in hashes {
                stmt.execute(params![profile, source_name, id, &hash[..], import_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets the source's hashes (the next delta import uploads every record).
    pub fn clear_import_hashes(&self, profile_id: Uuid, source_name: &str) -> Result<usize> {
        Ok(self.conn().execute(
            "DELETE FROM import_hashes WHERE profile_id = ?1 AND source_name = ?2",
            params![profile_id.to_string(), source_name],
        )?)
    }

    // ---- schedules ----

    /// The source's schedule, if it has one.
    pub fn import_schedule(
        &self,
        profile_id: Uuid,
        source_name: &str,
    ) -> Result<Option<ImportScheduleRecord>> {
        self.conn()
            .query_row(
                &format!("{SCHEDULE_SELECT} WHERE profile_id = ?1 AND source_name = ?2"),
                params![profile_id.to_string(), source_name],
                raw_schedule,
            )
            .optional()?
            .map(to_schedule)
            .transpose()
    }

    /// Sets (`Some`: `every_mins`, `daily_at`, `time_zone` of the record are used; `set_at` becomes now,
    /// `last_run_at` is kept) or removes (`None`) the source's schedule. Returns false (changing
    /// nothing) when no such profile exists.
    pub fn set_import_schedule(
        &self,
        profile_id: Uuid,
        source_name: &str,
        schedule: Option<&ImportScheduleRecord>,
    ) -> Result<bool> {
        let conn = self.conn();
        if !Self::profile_exists(&conn, profile_id)? {
            return Ok(false);
        }
        match schedule {
            None => {
                conn.execute(
                    "DELETE FROM import_schedules WHERE profile_id = ?1 AND source_name = ?2",
                    params![profile_id.to_string(), source_name],
                )?;
            }
            Some(s) => {
                conn.execute(
                    "INSERT INTO import_schedules (profile_id, source_name, every_mins, daily_at, time_zone, set_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (profile_id, source_name) DO UPDATE SET every_mins = excluded.every_mins,
                         daily_at = excluded.daily_at, time_zone = excluded.time_zone, set_at = excluded.set_at",
                    params![
                        profile_id.to_string(),
                        source_name,
                        s.every_mins.map(i64::from),
                        s.daily_at,
                        s.time_zone,
                        Timestamp::now().to_string()
                    ],
                )?;
            }
        }
        Ok(true)
    }

    /// Every schedule of every profile.
    pub fn import_schedules(&self) -> Result<Vec<ImportScheduleRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "{SCHEDULE_SELECT} ORDER BY profile_id, source_name"
        ))?;
        let rows = stmt
            .query_map([], raw_schedule)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_schedule).collect()
    }

    /// The schedules due at `now` ([`ImportScheduleRecord::is_due`]).
    pub fn due_import_schedules(&self, now: Timestamp) -> Result<Vec<ImportScheduleRecord>> {
        Ok(self
            .import_schedules()?
            .into_iter()
            .filter(|s| s.is_due(now))
            .collect())
    }

    /// Records that a scheduled import of the source started at `at`.
    pub fn mark_import_schedule_run(
        &self,
        profile_id: Uuid,
        source_name: &str,
        at: Timestamp,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE import_schedules SET last_run_at = ?3 WHERE profile_id = ?1 AND source_name = ?2",
            params![profile_id.to_string(), source_name, at.to_string()],
        )?;
        Ok(())
    }
}
