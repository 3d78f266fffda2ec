//! The engine's import API (docs/imports.md "Plan and apply", "Schedules"): sources and their preview,
//! mappings (suggested, previewed, saved), plans and applies, rejects, the history and schedules.

use std::collections::HashMap;

use jiff::Timestamp;
use okta365_secrets::CredentialKind;
use okta365_store::{ProfileRecord, imports::ImportScheduleRecord};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;

use super::{
    ImportMapping, MappedPreviewRow, SourcePreview, SourceReader, SourceSpec, mapping,
    run::{ImportPlan, ImportRequest, ImportStop, ImportSummary},
    source,
};
use crate::{
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
    runs::{ChangeKind, RunStatus, RunSummary, RunTrigger, journal::stored_plan},
};

/// Longest source name.
pub const MAX_SOURCE_NAME: usize = 100;

/// A saved source and its mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SavedImport {
    /// Where the records come from.
    pub source: SourceSpec,
    /// How a record becomes an identity-source user.
    pub mapping: ImportMapping,
    /// Whether the keychain holds the value of the HTTP source's auth header (false for a CSV file
    /// or a source without one).
    #[serde(default)]
    pub auth_value_saved: bool,
}

/// When a source is imported on its own: every `everyMins`, or daily at `dailyAt` in `timeZone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportSchedule {
    /// Every N minutes (5 or more).
    pub every_mins: Option<u32>,
    /// Daily at `HH:MM`.
    pub daily_at: Option<String>,
    /// The IANA time zone of `dailyAt` (default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
}

fn check_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "Name the source (e.g. \"hr\"): its mapping, schedule and history are kept under that name.",
        ));
    }
    if name.chars().count() > MAX_SOURCE_NAME {
        return Err(Error::invalid(format!(
            "A source name has at most {MAX_SOURCE_NAME} characters."
        )));
    }
    Ok(name.to_owned())
}

/// Checks a schedule and turns it into the store's record.
fn schedule_record(
    profile_id: uuid::Uuid,
    name: &str,
    schedule: &ImportSchedule,
) -> Result<ImportScheduleRecord> {
    let time_zone = schedule
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC")
        .to_owned();
    if jiff::tz::TimeZone::get(&time_zone).is_err() {
        return Err(Error::invalid(format!(
            "\"{time_zone}\" is not a time zone; use an IANA name such as Europe/Berlin or UTC."
        )));
    }
    let daily_at = schedule
        .daily_at
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    match (schedule.every_mins, daily_at) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(Error::invalid(
                "A schedule is either every N minutes or daily at HH:MM, not both (and not neither).",
            ));
        }
        (Some(m), None) if m < 5 => {
            return Err(Error::invalid(
                "An import runs at most every 5 minutes (Okta allows one session per 5 minutes).",
            ));
        }
        (None, Some(at)) => {
            let ok = at.len() == 5
                && at.as_bytes()[2] == b':'
                && at[..2].parse::<u8>().is_ok_and(|h| h < 24)
                && at[3..].parse::<u8>().is_ok_and(|m| m < 60);
            if !ok {
                return Err(Error::invalid(format!(
                    "\"{at}\" is not a time of day; use HH:MM, e.g. 02:00."
                )));
            }
        }
        _ => {}
    }
    Ok(ImportScheduleRecord {
        profile_id,
        source_name: name.to_owned(),
        every_mins: schedule.every_mins,
        daily_at: daily_at.map(str::to_owned),
        time_zone,
        last_run_at: None,
        set_at: Timestamp::now(),
    })
}

impl Engine {
    /// A saved source and mapping of a profile.
    pub(crate) async fn saved_import(
        &self,
        profile: &ProfileRecord,
        name: &str,
    ) -> Result<Option<SavedImport>> {
        let (id, name) = (profile.id, name.to_owned());
        let Some(record) = self
            .db(move |store| store.import_mapping(id, &name))
            .await?
        else {
            return Ok(None);
        };
        let corrupt = |what: &str, e: serde_json::Error| {
            Error::invalid(format!(
                "The saved {what} of source \"{}\" cannot be read ({e}); save it again.",
                record.source_name
            ))
        };
        let source: SourceSpec =
            serde_json::from_str(&record.source).map_err(|e| corrupt("source", e))?;
        let mapping = serde_json::from_str(&record.mapping).map_err(|e| corrupt("mapping", e))?;
        let auth_value_saved = self
            .auth_value_saved(profile, &record.source_name, &source)
            .await?;
        Ok(Some(SavedImport {
            source,
            mapping,
            auth_value_saved,
        }))
    }

    /// The value of an HTTP source's auth header, from the keychain entry of the source named `name`
    /// (none for a CSV file, a source without an auth header, or an unnamed source).
    pub(crate) async fn import_source_secret(
        &self,
        profile: &ProfileRecord,
        name: &str,
        source: &SourceSpec,
    ) -> Result<Option<okta365_secrets::Secret>> {
        let SourceSpec::Http { auth_header, .. } = source else {
            return Ok(None);
        };
        let name = name.trim();
        if auth_header.as_deref().is_none_or(|h| h.trim().is_empty()) || name.is_empty() {
            return Ok(None);
        }
        Ok(self
            .inner
            .keychain
            .get_named(
                &profile.id.to_string(),
                CredentialKind::ImportSourceSecret,
                name,
            )
            .await?)
    }

    /// Saves (or with `None` forgets) the value of the auth header the HTTP source named `source_name`
    /// is read with, in the OS keychain (never in the store). Returns whether a value is now saved.
    #[instrument(skip(self, value), err)]
    pub async fn set_import_source_secret(
        &self,
        profile_id: &str,
        source_name: &str,
        value: Option<okta365_secrets::Secret>,
    ) -> Result<bool> {
        let profile = self.find(profile_id).await?;
        let name = check_name(source_name)?;
        let key = profile.id.to_string();
        let kind = CredentialKind::ImportSourceSecret;
        match value {
            Some(value) => {
                let v = value.expose();
                if v.trim().is_empty() {
                    return Err(Error::invalid(
                        "The auth header value is empty; paste the value the source expects (e.g. Bearer …), or forget the saved one.",
                    ));
                }
                if v.len() > 8192 || v.chars().any(|c| c.is_control() && c != '\t') {
                    return Err(Error::invalid(
                        "The auth header value must be one line of at most 8,192 characters; paste it again without line breaks.",
                    ));
                }
                self.inner
                    .keychain
                    .set_named(&key, kind, &name, &value)
                    .await?;
                tracing::info!(profile_id = %profile.id, source = %name, "saved an import source's auth header value in the keychain");
                Ok(true)
            }
            None => {
                let existed = self.inner.keychain.delete_named(&key, kind, &name).await?;
                tracing::info!(profile_id = %profile.id, source = %name, existed, "forgot an import source's auth header value");
                Ok(false)
            }
        }
    }

    /// Whether the keychain holds an auth header value for the source named `name`.
    async fn auth_value_saved(
        &self,
        profile: &ProfileRecord,
        name: &str,
        source: &SourceSpec,
    ) -> Result<bool> {
        Ok(self
            .import_source_secret(profile, name, source)
            .await?
            .is_some())
    }

    /// Deletes the auth header values of a profile's saved sources (when the profile is removed).
    pub(crate) async fn forget_import_source_secrets(&self, profile: &ProfileRecord) -> Result<()> {
        let id = profile.id;
        let saved = self.db(move |store| store.import_mappings(id)).await?;
        for record in saved {
            self.inner
                .keychain
                .delete_named(
                    &id.to_string(),
                    CredentialKind::ImportSourceSecret,
                    &record.source_name,
                )
                .await?;
        }
        Ok(())
    }

    /// The columns, the first 20 records and the problems of a source. `source_name` names the saved
    /// source whose auth header value (if any) an HTTP source is read with.
    #[instrument(skip(self), err)]
    pub async fn preview_source(
        &self,
        profile_id: &str,
        source: SourceSpec,
        source_name: Option<&str>,
    ) -> Result<SourcePreview> {
        let profile = self.find(profile_id).await?;
        let secret = self
            .import_source_secret(&profile, source_name.unwrap_or(""), &source)
            .await?;
        source::preview(&source, source::PREVIEW_ROWS, secret.as_ref()).await
    }

    /// The mapping suggested from a source's column names.
    #[instrument(skip(self), err)]
    pub async fn suggest_mapping(
        &self,
        profile_id: &str,
        source: SourceSpec,
        source_name: Option<&str>,
    ) -> Result<ImportMapping> {
        let preview = self.preview_source(profile_id, source, source_name).await?;
        Ok(mapping::suggest(&preview.columns))
    }

    /// The first 20 records of a source as `mapping` maps them, each with its reject (if any).
    #[instrument(skip(self, mapping), err)]
    pub async fn preview_mapping(
        &self,
        profile_id: &str,
        source: SourceSpec,
        mapping: ImportMapping,
        source_name: Option<&str>,
    ) -> Result<Vec<MappedPreviewRow>> {
        let profile = self.find(profile_id).await?;
        mapping::check(&mapping, None)?;
        let secret = self
            .import_source_secret(&profile, source_name.unwrap_or(""), &source)
            .await?;
        let mut reader = SourceReader::open(&source, secret.as_ref())?;
        let mut rows = Vec::new();
        while rows.len() < source::PREVIEW_ROWS {
            let Some(item) = reader.next().await? else {
                break;
            };
            rows.push(match item {
                Ok(record) => mapping::preview_row(&mapping, &record),
                Err(r) => MappedPreviewRow {
                    position: r.position,
                    external_id: r.external_id,
                    active: None,
                    profile: Default::default(),
                    reject: Some(r.reason),
                },
            });
        }
        Ok(rows)
    }

    /// The saved source and mapping named `source_name`, if any.
    #[instrument(skip(self), err)]
    pub async fn import_mapping(
        &self,
        profile_id: &str,
        source_name: &str,
    ) -> Result<Option<SavedImport>> {
        let profile = self.find(profile_id).await?;
        self.saved_import(&profile, source_name.trim()).await
    }

    /// Saves a source and its mapping under `source_name` (checked first: the attributes, and for a
    /// CSV file the columns it names).
    #[instrument(skip(self, source, mapping), err)]
    pub async fn save_import_mapping(
        &self,
        profile_id: &str,
        source_name: &str,
        source: SourceSpec,
        mapping: ImportMapping,
    ) -> Result<SavedImport> {
        let profile = self.find(profile_id).await?;
        let name = check_name(source_name)?;
        let columns = match &source {
            SourceSpec::Csv { path, delimiter } => Some(
                source::CsvSource::open(std::path::Path::new(path), delimiter.as_deref())?
                    .columns()
                    .to_vec(),
            ),
            SourceSpec::Http { url, .. } => {
                source::check_url(url)?;
                None
            }
        };
        mapping::check(&mapping, columns.as_deref())?;
        let (source_json, mapping_json) = (
            serde_json::to_string(&source).expect("a source serializes"),
            serde_json::to_string(&mapping).expect("a mapping serializes"),
        );
        let (id, n) = (profile.id, name.clone());
        let saved = self
            .db(move |store| store.save_import_mapping(id, &n, &source_json, &mapping_json))
            .await?;
        if !saved {
            return Err(Error::ProfileNotFound {
                query: profile_id.to_owned(),
            });
        }
        tracing::info!(profile_id = %profile.id, source = %name, "saved an import source and mapping");
        let auth_value_saved = self.auth_value_saved(&profile, &name, &source).await?;
        Ok(SavedImport {
            source,
            mapping,
            auth_value_saved,
        })
    }

    /// Plans an import of a saved source (see [`ImportPlan`]); nothing is uploaded.
    #[instrument(skip(self), err)]
    pub async fn plan_import(&self, req: ImportRequest) -> Result<ImportPlan> {
        self.plan_import_as(&req, RunTrigger::Manual).await
    }

    /// Applies a planned import (the run journal; resumable). `confirm_deactivations` must equal the
    /// plan's deactivation guard count when it has one.
    #[instrument(skip(self, progress), err)]
    pub async fn apply_import(
        &self,
        import_id: &str,
        confirm_deactivations: Option<u32>,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        self.apply_import_as(import_id, confirm_deactivations, progress)
            .await
    }

    /// The rejects of an import as CSV (`position,externalId,reason`).
    #[instrument(skip(self), err)]
    pub async fn import_rejects(&self, import_id: &str) -> Result<String> {
        self.import_rejects_csv(import_id).await
    }

    /// A profile's imports, newest first (at most 200).
    #[instrument(skip(self), err)]
    pub async fn list_imports(&self, profile_id: &str) -> Result<Vec<ImportSummary>> {
        let profile = self.find(profile_id).await?;
        let id = profile.id;
        let records = self.db(move |store| store.import_runs(id, 200)).await?;
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let run_id = record.run_id;
            let (run, steps) = self
                .db(move |store| Ok((store.run(run_id)?, store.run_steps(run_id)?)))
                .await?;
            let Some(run) = run else { continue };
            let Ok(plan) = serde_json::from_str::<ImportPlan>(&record.plan) else {
                continue;
            };
            let run_plan = stored_plan(&run)?;
            let counts: HashMap<i64, (ChangeKind, u32)> = run_plan
                .changes
                .iter()
                .map(|c| {
                    let n = c
                        .detail
                        .as_ref()
                        .and_then(|d| d.get("count"))
                        .and_then(|v| v.as_u64())
                        .unwrap_or(0) as u32;
                    (i64::from(c.seq), (c.kind, n))
                })
                .collect();
            let (mut upserted, mut deactivated, mut failed_sessions) = (0, 0, 0);
            for s in &steps {
                let Some((kind, n)) = counts.get(&s.seq) else {
                    continue;
                };
                match (kind, s.status.as_str()) {
                    (ChangeKind::BulkUpsert, "done") => upserted += n,
                    (ChangeKind::BulkDelete, "done") => deactivated += n,
                    (ChangeKind::AwaitSession, "failed") => failed_sessions += 1,
                    _ => {}
                }
            }
            let status = RunStatus::parse(&run.status).unwrap_or(RunStatus::Failed);
            let outcome = outcome(&plan, status, upserted, deactivated, failed_sessions);
            out.push(ImportSummary {
                import_id: run_id.to_string(),
                source_name: record.source_name,
                status,
                records: plan.records,
                upserted,
                deactivated,
                unchanged: plan.unchanged,
                rejected: plan.rejected,
                sessions: plan.sessions,
                created_at: run.created_at.to_string(),
                duration_ms: match (run.started_at, run.finished_at) {
                    (Some(s), Some(f)) => Some(f.duration_since(s).as_millis().max(0) as u64),
                    _ => None,
                },
                outcome,
            });
        }
        Ok(out)
    }

    /// Sets (or with `None` removes) the schedule of a saved source.
    #[instrument(skip(self), err)]
    pub async fn set_import_schedule(
        &self,
        profile_id: &str,
        source_name: &str,
        schedule: Option<ImportSchedule>,
    ) -> Result<Option<ImportSchedule>> {
        let profile = self.find(profile_id).await?;
        let name = check_name(source_name)?;
        if self.saved_import(&profile, &name).await?.is_none() {
            return Err(Error::invalid(format!(
                "No source named \"{name}\" is saved; save its mapping first (`okta365 import mapping --source \
                 {name} …`)."
            )));
        }
        let record = schedule
            .as_ref()
            .map(|s| schedule_record(profile.id, &name, s))
            .transpose()?;
        let id = profile.id;
        self.db(move |store| store.set_import_schedule(id, &name, record.as_ref()))
            .await?;
        Ok(schedule)
    }

    /// The schedule of a saved source, if it has one.
    #[instrument(skip(self), err)]
    pub async fn import_schedule(
        &self,
        profile_id: &str,
        source_name: &str,
    ) -> Result<Option<ImportSchedule>> {
        let profile = self.find(profile_id).await?;
        let (id, name) = (profile.id, source_name.trim().to_owned());
        Ok(self
            .db(move |store| store.import_schedule(id, &name))
            .await?
            .map(|s| ImportSchedule {
                every_mins: s.every_mins,
                daily_at: s.daily_at,
                time_zone: Some(s.time_zone),
            }))
    }
}

/// An import's outcome in words.
fn outcome(
    plan: &ImportPlan,
    status: RunStatus,
    upserted: u32,
    deactivated: u32,
    failed_sessions: u32,
) -> String {
    let counts = format!(
        "{upserted} uploaded, {deactivated} deactivated, {} unchanged, {} rejected",
        plan.unchanged, plan.rejected
    );
    match status {
        RunStatus::Planned if plan.stopped == Some(ImportStop::Rejects) => format!(
            "Stopped: {} of {} records rejected; nothing uploaded",
            plan.rejected, plan.records
        ),
        RunStatus::Planned => match plan.deactivation_guard {
            Some(g) => format!(
                "Waiting for confirmation: deactivates {} users (more than {})",
                g.count, g.max
            ),
            None => format!(
                "Planned: {} to upload, {} to deactivate in {} session(s)",
                plan.active, plan.inactive, plan.sessions
            ),
        },
        RunStatus::Running => format!("Running: {counts}"),
        RunStatus::Succeeded => format!("Succeeded: {counts}"),
        RunStatus::Partial => format!(
            "Partly done: {counts}; {failed_sessions} session(s) failed — plan again to upload the rest"
        ),
        RunStatus::Failed => format!("Failed: {counts}"),
        RunStatus::Interrupted => format!("Interrupted: {counts}; resumes at the next start"),
        RunStatus::Cancelled => "Cancelled".to_owned(),
        RunStatus::Discarded => "Discarded".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked() {
        let p = uuid::Uuid::nil();
        let every = |m| ImportSchedule {
            every_mins: Some(m),
            daily_at: None,
            time_zone: None,
        };
        assert!(schedule_record(p, "hr", &every(60)).is_ok());
        assert!(schedule_record(p, "hr", &every(1)).is_err());
        let daily = |d: &str, tz: Option<&str>| ImportSchedule {
            every_mins: None,
            daily_at: Some(d.into()),
            time_zone: tz.map(str::to_owned),
        };
        assert_eq!(
            schedule_record(p, "hr", &daily("02:00", Some("Europe/Berlin")))
                .unwrap()
                .time_zone,
            "Europe/Berlin"
        );
        for bad in ["2:00", "24:00", "12:60", "ab:cd"] {
            assert!(
                schedule_record(p, "hr", &daily(bad, None)).is_err(),
                "{bad}"
            );
        }
        assert!(schedule_record(p, "hr", &daily("02:00", Some("Mars/Base"))).is_err());
        assert!(check_name("  ").is_err());
        assert_eq!(check_name(" hr ").unwrap(), "hr");
    }
}
