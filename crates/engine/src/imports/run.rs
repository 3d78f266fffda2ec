//! Planning and applying an import (docs/imports.md "Plan and apply") on the run machinery: the plan
//! reads the source into the spool (mapped, validated, delta), lays the records out into sessions and
//! bulk requests, and records the steps as a run of operation `imports`; the apply goes through the run
//! journal one step at a time (runs/ops/imports.rs executes each step).
//!
//! Memory stays flat: records stream from the source to the spool; the plan keeps counts, the first
//! 200 rejects (all of them go to `{importId}.rejects.csv`) and the chunks of the layout (one per 200
//! records).

use std::{
    path::{Path, PathBuf},
    sync::Mutex,
    time::Instant,
};

use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use jiff::Timestamp;
use okta365_store::import_runs::ImportRunRecord;
use uuid::Uuid;

use super::{
    SourceReader, SpoolWriter, Validator, content_hash, mapping, spool_path,
    validate::{KnownHashes, Reject},
};
use crate::{
    dto::{OperationId, Progress},
    engine::Engine,
    error::{Error, Result},
    progress::ProgressSink,
    runs::{
        ChangeKind, PlannedChange, RunStatus, RunSummary, RunTrigger,
        context::{RunContext, Scope},
        journal::{PlanOptions, parse_run_id, stored_plan},
        ops::{Planned, imports::IMPORT_SCOPES, imports::source_id},
    },
};

/// Users per bulk request.
pub const CHUNK: u32 = 200;
/// Bulk requests per session.
pub const MAX_REQUESTS: u32 = 50;
/// Distinct users per session.
pub const MAX_USERS: u32 = 10_000;

// A session of full chunks never holds more users than Okta allows.
const _: () = assert!(CHUNK * MAX_REQUESTS <= MAX_USERS);
/// Okta's minimum time between two sessions of one source.
pub const SESSION_GAP_SECS: u64 = 300;
/// Rejects kept in the plan (all of them are in the rejects file).
pub const REJECTS_KEPT: usize = 200;
/// The default maximum of rejects, in percent of the records.
pub const DEFAULT_MAX_REJECT_PERCENT: f64 = 1.0;
/// The default maximum of deactivations before the apply needs a confirmation.
pub const DEFAULT_MAX_DEACTIVATIONS: u32 = 10;

/// A request to plan an import of a saved source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    /// The profile (id or name).
    pub profile_id: String,
    /// The saved source (and mapping) to import.
    pub source_name: String,
    /// Leave out records unchanged since the last completed import (default true).
    #[serde(default = "yes")]
    pub delta: bool,
    /// Upload every record, changed or not.
    #[serde(default)]
    pub full_resync: bool,
    /// Rejects over this percentage of the records stop the plan (default 1).
    #[serde(default)]
    pub max_reject_percent: Option<f64>,
    /// Inactive records over this need a confirmation (default 10).
    #[serde(default)]
    pub max_deactivations: Option<u32>,
}

fn yes() -> bool {
    true
}

/// Why a plan is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ImportStop {
    /// Too many rejects: nothing is uploaded.
    Rejects,
}

/// The deactivation guard of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeactivationGuard {
    /// Inactive records planned (users deactivated).
    pub count: u32,
    /// The request's maximum.
    pub max: u32,
}

/// An import's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportPlan {
    /// The import (its run id).
    pub import_id: String,
    /// The profile.
    pub profile_id: String,
    /// The source's name.
    pub source_name: String,
    /// The source read.
    pub source: super::SourceSpec,
    /// Records read (uploaded, unchanged and rejected).
    pub records: u32,
    /// Active records to upload.
    pub active: u32,
    /// Inactive records to deactivate.
    pub inactive: u32,
    /// Records left out because they did not change since the last completed import.
    pub unchanged: u32,
    /// Records refused.
    pub rejected: u32,
    /// The first 200 rejects.
    pub rejects: Vec<Reject>,
    /// Set when the plan is stopped (nothing is uploaded).
    pub stopped: Option<ImportStop>,
    /// Set when the apply needs `confirmDeactivations`.
    pub deactivation_guard: Option<DeactivationGuard>,
    /// CREATED sessions the apply deletes first.
    pub stale_sessions: Vec<String>,
    /// A TRIGGERED / IN_PROGRESS session the apply waits for.
    pub active_session: Option<String>,
    /// Import sessions planned.
    pub sessions: u32,
    /// Bulk requests planned.
    pub bulk_requests: u32,
    /// How long the apply is expected to take.
    pub expected_secs: u32,
    /// When it was planned (RFC 3339).
    pub planned_at: String,
}

/// One import in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportSummary {
    /// The import (its run id).
    pub import_id: String,
    /// The source's name.
    pub source_name: String,
    /// Where its run stands.
    pub status: RunStatus,
    /// Records read.
    pub records: u32,
    /// Active users uploaded (in sessions that completed or are running).
    pub upserted: u32,
    /// Inactive users deactivated.
    pub deactivated: u32,
    /// Records left out as unchanged.
    pub unchanged: u32,
    /// Records refused.
    pub rejected: u32,
    /// Import sessions.
    pub sessions: u32,
    /// When it was planned (RFC 3339).
    pub created_at: String,
    /// How long the apply took.
    #[ts(type = "number | null")]
    pub duration_ms: Option<u64>,
    /// The outcome in words.
    pub outcome: String,
}

// ---- layout: sessions and bulk requests ----

/// One bulk request: the spool lines it reads (`from..=to`; only the records of its kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chunk {
    /// Upsert (active users) or delete (inactive ones).
    pub active: bool,
    /// The first spool line.
    pub from: u64,
    /// The last spool line.
    pub to: u64,
    /// Records in it.
    pub count: u32,
}

/// Lays the spool's records out into bulk requests and sessions with the fewest of both: records of
/// each kind fill chunks of 200 as they stream by (so at most one chunk per kind is short), then the
/// chunks fill sessions of 50 in the order they were closed (50 chunks hold at most 10,000 users, so
/// the request limit is the only one that binds): `ceil(active/200) + ceil(inactive/200)` bulk
/// requests in `ceil(requests/50)` sessions. Memory: the chunks only (a few bytes per 200 records).
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Chunks closed so far, in the order they filled up.
    closed: Vec<Chunk>,
    open_active: Option<Chunk>,
    open_inactive: Option<Chunk>,
}

impl Layout {
    /// Adds the record on spool line `line`.
    pub(crate) fn push(&mut self, line: u64, active: bool) {
        let open = if active {
            &mut self.open_active
        } else {
            &mut self.open_inactive
        };
        match open {
            Some(c) => {
                c.to = line;
                c.count += 1;
            }
            None => {
                *open = Some(Chunk {
                    active,
                    from: line,
                    to: line,
                    count: 1,
                })
            }
        }
        if let Some(c) = open.as_ref()
            && c.count >= CHUNK
        {
            self.closed.push(*c);
            *open = None;
        }
    }

    /// Closes the short chunks and returns every session, each its chunks (upserts, then deletes,
    /// each in spool order).
    pub(crate) fn finish(mut self) -> Vec<Vec<Chunk>> {
        self.closed.extend(self.open_active.take());
        self.closed.extend(self.open_inactive.take());
        self.closed
            .chunks(MAX_REQUESTS as usize)
            .map(|session| {
                let mut chunks = session.to_vec();
                chunks.sort_by_key(|c| (!c.active, c.from));
                chunks
            })
            .collect()
    }
}

/// The steps of a laid-out import: one `deleteSession` per stale session, then per session
/// `createSession` → chunks → `startImport` → `awaitSession`. `seq` is numbered from 1 in order (as
/// `record_plan` numbers them), so a chunk names its session's `createSession` step.
pub(crate) fn steps(
    source_name: &str,
    stale: &[String],
    sessions: &[Vec<Chunk>],
) -> Vec<PlannedChange> {
    let mut out = Vec::new();
    let n = sessions.len();
    let change =
        |seq: usize, kind: ChangeKind, target: String, detail: serde_json::Value| PlannedChange {
            seq: seq as u32,
            okta_user_id: String::new(),
            user_label: source_name.to_owned(),
            kind,
            target,
            fields: Vec::new(),
            warning: None,
            detail: Some(detail),
        };
    for id in stale {
        let seq = out.len() + 1;
        out.push(change(
            seq,
            ChangeKind::DeleteSession,
            format!("stale session {id}"),
            json!({ "sessionId": id }),
        ));
    }
    let mut previous: Option<usize> = None;
    for (i, chunks) in sessions.iter().enumerate() {
        let number = i + 1;
        let target = format!("session {number} of {n}");
        let users: u32 = chunks.iter().map(|c| c.count).sum();
        let create_seq = out.len() + 1;
        out.push(change(
            create_seq,
            ChangeKind::CreateSession,
            target.clone(),
            json!({ "session": number, "users": users, "prevCreateSeq": previous }),
        ));
        previous = Some(create_seq);
        let mut listed = Vec::new();
        for c in chunks {
            let seq = out.len() + 1;
            let kind = if c.active {
                ChangeKind::BulkUpsert
            } else {
                ChangeKind::BulkDelete
            };
            out.push(change(
                seq,
                kind,
                target.clone(),
                json!({ "session": number, "from": c.from, "to": c.to, "count": c.count, "createSeq": create_seq }),
            ));
            listed.push(json!({ "seq": seq, "from": c.from, "to": c.to, "active": c.active, "count": c.count }));
        }
        let seq = out.len() + 1;
        out.push(change(
            seq,
            ChangeKind::StartImport,
            target.clone(),
            json!({ "session": number, "createSeq": create_seq }),
        ));
        let seq = out.len() + 1;
        out.push(change(
            seq,
            ChangeKind::AwaitSession,
            target.clone(),
            json!({ "session": number, "createSeq": create_seq, "users": users, "chunks": listed }),
        ));
    }
    out
}

/// The apply's expected duration: the 5-minute rule between sessions (and before the first, when the
/// last session is recent), the active session's wait, about a second per request and Okta's
/// processing (about 2 s per 1,000 users, at least 5 s per session).
pub(crate) fn expected_secs(sessions: &[Vec<Chunk>], first_wait_secs: u64) -> u32 {
    if sessions.is_empty() {
        return 0;
    }
    let requests: u64 = sessions.iter().map(|s| s.len() as u64 + 2).sum();
    let users: u64 = sessions.iter().flatten().map(|c| u64::from(c.count)).sum();
    let processing = sessions.len() as u64 * 5 + users * 2 / 1000;
    let secs =
        first_wait_secs + (sessions.len() as u64 - 1) * SESSION_GAP_SECS + requests + processing;
    secs.min(u64::from(u32::MAX)) as u32
}

/// Where an import's rejects are (CSV: position, externalId, reason).
pub(crate) fn rejects_path(data_dir: &Path, import_id: &str) -> PathBuf {
    data_dir
        .join("imports")
        .join(format!("{import_id}.rejects.csv"))
}

fn import_not_found(import_id: &str) -> Error {
    Error::invalid(format!(
        "No import has the id \"{import_id}\". List the imports with `okta365 import list`."
    ))
}

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Task(format!(
        "Could not {what} {} ({e}). Check the disk space and the data folder's permissions.",
        path.display()
    ))
}

/// A reader the plan writes rejects to: every one to the rejects file, the first 200 kept.
struct Rejects {
    out: csv::Writer<std::fs::File>,
    path: PathBuf,
    kept: Vec<Reject>,
    count: u32,
}

impl Rejects {
    fn create(path: &Path) -> Result<Rejects> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(path, "create the folder of", e))?;
        }
        let mut out = csv::Writer::from_path(path).map_err(|e| io(path, "create", e))?;
        out.write_record(["position", "externalId", "reason"])
            .map_err(|e| io(path, "write", e))?;
        Ok(Rejects {
            out,
            path: path.to_owned(),
            kept: Vec::new(),
            count: 0,
        })
    }

    fn push(&mut self, r: Reject) -> Result<()> {
        self.out
            .write_record([
                r.position.to_string().as_str(),
                r.external_id.as_deref().unwrap_or(""),
                r.reason.as_str(),
            ])
            .map_err(|e| io(&self.path, "write", e))?;
        self.count += 1;
        if self.kept.len() < REJECTS_KEPT {
            self.kept.push(r);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<Reject>> {
        self.out.flush().map_err(|e| io(&self.path, "write", e))?;
        Ok(self.kept)
    }
}

/// What reading the source produced.
struct Read {
    records: u32,
    active: u32,
    inactive: u32,
    unchanged: u32,
    rejected: u32,
    rejects: Vec<Reject>,
    sessions: Vec<Vec<Chunk>>,
}

impl Engine {
    /// Plans an import of a saved source (`trigger` manual or schedule): reads the source into the
    /// spool (mapped, validated, delta), lists the source's sessions, lays the records out into
    /// sessions and bulk requests and records the run. Nothing is uploaded.
    pub(crate) async fn plan_import_as(
        &self,
        req: &ImportRequest,
        trigger: RunTrigger,
    ) -> Result<ImportPlan> {
        let profile = self.find(&req.profile_id).await?;
        let source_id = source_id(&profile)?;
        let name = req.source_name.trim().to_owned();
        let saved = self.saved_import(&profile, &name).await?.ok_or_else(|| {
            Error::invalid(format!(
                "No source named \"{name}\" is saved for profile \"{}\". Save it with `okta365 import mapping \
                 --source {name} --csv FILE --auto-map` (or on the app's Imports step) first.",
                profile.name
            ))
        })?;
        mapping::check(&saved.mapping, None)?;
        let max_percent = req.max_reject_percent.unwrap_or(DEFAULT_MAX_REJECT_PERCENT);
        if !(0.0..=100.0).contains(&max_percent) || max_percent.is_nan() {
            return Err(Error::invalid(format!(
                "The maximum of rejects must be a percentage from 0 to 100, not {max_percent}."
            )));
        }
        let max_deactivations = req.max_deactivations.unwrap_or(DEFAULT_MAX_DEACTIVATIONS);
        let okta = self.okta_client(&profile, IMPORT_SCOPES).await?;
        let open = okta
            .identity_source(&source_id)
            .sessions()
            .await
            .map_err(|e| {
                crate::setup::groups::okta_error(
                    "Listing the identity source's import sessions",
                    e,
                    "okta.identitySources.manage",
                )
            })?;
        let stale: Vec<String> = open
            .iter()
            .filter(|s| s.status == okta365_okta::SessionStatus::Created)
            .map(|s| s.id.clone())
            .collect();
        let active_session = open
            .iter()
            .find(|s| s.status.is_running())
            .map(|s| s.id.clone());
        let ctx = RunContext::load_for(self, profile.clone(), OperationId::Imports).await?;
        self.clean_import_files().await;

        // Files are written under a temporary name, then named after the run once it is recorded.
        let dir = self.paths().data_dir.join("imports");
        let temp = format!("plan-{}", Uuid::new_v4());
        let temp_spool = spool_path(&self.paths().data_dir, &temp);
        let temp_rejects = rejects_path(&self.paths().data_dir, &temp);
        let delta = req.delta && !req.full_resync;
        let read = self
            .read_into_spool(&profile, &name, &saved, delta, &temp_spool, &temp_rejects)
            .await;
        let read = match read {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_file(&temp_spool);
                let _ = std::fs::remove_file(&temp_rejects);
                return Err(e);
            }
        };
        let stopped = super::validate::rejects_exceed(
            u64::from(read.rejected),
            u64::from(read.records),
            max_percent,
        )
        .then_some(ImportStop::Rejects);
        let deactivation_guard = (read.inactive > max_deactivations).then_some(DeactivationGuard {
            count: read.inactive,
            max: max_deactivations,
        });
        let changes = steps(&name, &stale, &read.sessions);
        let bulk_requests: u32 = read.sessions.iter().map(|s| s.len() as u32).sum();
        let plan = self
            .record_plan(
                &ctx,
                OperationId::Imports,
                trigger,
                &Scope::All,
                Planned {
                    changes,
                    skipped: Vec::new(),
                    members: 0,
                },
                PlanOptions {
                    skip_guard: true,
                    ..Default::default()
                },
            )
            .await?;
        let run_id = parse_run_id(&plan.run_id)?;
        let spool = spool_path(&self.paths().data_dir, &plan.run_id);
        std::fs::rename(&temp_spool, &spool).map_err(|e| io(&dir, "name the spool in", e))?;
        std::fs::rename(
            &temp_rejects,
            rejects_path(&self.paths().data_dir, &plan.run_id),
        )
        .map_err(|e| io(&dir, "name the rejects file in", e))?;
        let import = ImportPlan {
            import_id: plan.run_id.clone(),
            profile_id: profile.id.to_string(),
            source_name: name.clone(),
            source: saved.source.clone(),
            records: read.records,
            active: read.active,
            inactive: read.inactive,
            unchanged: read.unchanged,
            rejected: read.rejected,
            rejects: read.rejects,
            stopped,
            deactivation_guard,
            stale_sessions: stale,
            active_session,
            sessions: read.sessions.len() as u32,
            bulk_requests,
            expected_secs: expected_secs(&read.sessions, 0),
            planned_at: plan.planned_at.clone(),
        };
        let record = ImportRunRecord {
            run_id,
            profile_id: profile.id,
            source_name: name,
            plan: serde_json::to_string(&import).expect("a plan serializes"),
            spool_path: spool.display().to_string(),
            created_at: Timestamp::now(),
        };
        self.db(move |store| store.insert_import_run(&record))
            .await?;
        tracing::info!(import_id = %run_id, records = import.records, sessions = import.sessions, bulk_requests, stopped = import.stopped.is_some(), "import planned");
        Ok(import)
    }

    /// Deletes the spool and rejects files of imports that were deleted, or that finished more than 30
    /// days ago (and plan files left by an interrupted plan a day ago). Never fails a plan.
    async fn clean_import_files(&self) {
        let dir = self.paths().data_dir.join("imports");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let now = Timestamp::now();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".rejects.csv")
                .or_else(|| name.strip_suffix(".jsonl"));
            let Some(stem) = stem else { continue };
            let remove = if stem.starts_with("plan-") {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > std::time::Duration::from_secs(86_400))
            } else if let Ok(id) = Uuid::parse_str(stem) {
                match self.db(move |store| store.run(id)).await {
                    Ok(None) => true,
                    Ok(Some(run)) => run
                        .finished_at
                        .is_some_and(|f| now.duration_since(f).as_secs() > 30 * 86_400),
                    Err(_) => false,
                }
            } else {
                false
            };
            if remove {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Streams the source through the mapping and the validation into the spool and the rejects file,
    /// leaving out unchanged records (delta), and lays the spool out into sessions.
    async fn read_into_spool(
        &self,
        profile: &okta365_store::ProfileRecord,
        name: &str,
        saved: &super::api::SavedImport,
        delta: bool,
        spool: &Path,
        rejects_file: &Path,
    ) -> Result<Read> {
        let secret = self
            .import_source_secret(profile, name, &saved.source)
            .await?;
        let mut reader = SourceReader::open(&saved.source, secret.as_ref())?;
        let mut out = SpoolWriter::create(spool)?;
        let mut rejects = Rejects::create(rejects_file)?;
        let mut validator = Validator::new();
        let mut layout = Layout::default();
        let mut read = Read {
            records: 0,
            active: 0,
            inactive: 0,
            unchanged: 0,
            rejected: 0,
            rejects: Vec::new(),
            sessions: Vec::new(),
        };
        // The hashes saved after the last completed imports (16 bytes per record, see KnownHashes).
        let known = if delta {
            let (id, source) = (profile.id, name.to_owned());
            self.db(move |store| {
                let mut known = KnownHashes::default();
                store.each_import_hash(id, &source, |external_id, hash| {
                    known.insert(external_id, hash)
                })?;
                Ok(known)
            })
            .await?
        } else {
            KnownHashes::default()
        };
        while let Some(item) = reader.next().await? {
            read.records += 1;
            let mapped = item.and_then(|record| {
                let position = record.position;
                mapping::apply(&saved.mapping, &record)
                    .and_then(|m| validator.check(position, &m).map(|()| m))
            });
            let m = match mapped {
                Ok(m) => m,
                Err(r) => {
                    rejects.push(r)?;
                    continue;
                }
            };
            if known.unchanged(&m.external_id, &content_hash(&m)) {
                read.unchanged += 1;
                continue;
            }
            let line = out.write(&m)?;
            layout.push(line, m.active);
            if m.active {
                read.active += 1;
            } else {
                read.inactive += 1;
            }
        }
        out.finish()?;
        read.rejected = rejects.count;
        read.rejects = rejects.finish()?;
        read.sessions = layout.finish();
        Ok(read)
    }

    /// Applies a planned import through the run journal. Refuses an import stopped by its rejects, and
    /// one over its deactivation guard unless `confirm_deactivations` equals its count. Progress:
    /// operation `import`, records uploaded of the records to upload.
    pub(crate) async fn apply_import_as(
        &self,
        import_id: &str,
        confirm_deactivations: Option<u32>,
        progress: &dyn ProgressSink,
    ) -> Result<RunSummary> {
        let id = parse_run_id(import_id).map_err(|_| import_not_found(import_id))?;
        let record = self
            .db(move |store| store.import_run(id))
            .await?
            .ok_or_else(|| import_not_found(import_id))?;
        let plan: ImportPlan = serde_json::from_str(&record.plan).map_err(|e| {
            Error::invalid(format!(
                "The plan of import {id} cannot be read ({e}); plan the import again."
            ))
        })?;
        if plan.stopped == Some(ImportStop::Rejects) {
            return Err(Error::invalid(format!(
                "Import {id} is stopped: {} of its {} records were rejected, more than allowed; nothing was \
                 uploaded. See them with `okta365 import rejects {id}`, fix the source (or raise \
                 --max-reject-percent), then plan again.",
                plan.rejected, plan.records
            )));
        }
        if let Some(g) = plan.deactivation_guard {
            match confirm_deactivations {
                Some(n) if n == g.count => {}
                Some(n) => {
                    return Err(Error::invalid(format!(
                        "The confirmation {n} does not match the {} users this import deactivates; nothing \
                         was uploaded. Check the plan and confirm with {}.",
                        g.count, g.count
                    )));
                }
                None => {
                    return Err(Error::invalid(format!(
                        "This import deactivates {} users, more than the {} allowed without a confirmation. \
                         Check the source's inactive records; to apply anyway, confirm with the number {}.",
                        g.count, g.max, g.count
                    )));
                }
            }
        }
        let run = self
            .db(move |store| store.run(id))
            .await?
            .ok_or_else(|| import_not_found(import_id))?;
        // Only what the progress needs is kept: the run reads its own copy of the plan.
        let sink = ImportProgress::new(progress, &stored_plan(&run)?.changes, 0);
        drop((run, record, plan));
        self.apply_run(import_id, None, &sink).await
    }

    /// The rejects of an import as CSV (`position,externalId,reason`), all of them.
    pub(crate) async fn import_rejects_csv(&self, import_id: &str) -> Result<String> {
        let id = parse_run_id(import_id).map_err(|_| import_not_found(import_id))?;
        let record = self
            .db(move |store| store.import_run(id))
            .await?
            .ok_or_else(|| import_not_found(import_id))?;
        let path = rejects_path(&self.paths().data_dir, &id.to_string());
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The file is gone (cleaned up): the rejects kept in the plan.
                let plan: ImportPlan = serde_json::from_str(&record.plan).map_err(|e| {
                    Error::invalid(format!("The plan of import {id} cannot be read ({e})."))
                })?;
                Ok(super::validate::rejects_csv(&plan.rejects))
            }
            Err(e) => Err(io(&path, "read", e)),
        }
    }
}

// ---- progress ----

/// Turns the journal's `run` reports of an import into `import` reports: records uploaded of the
/// records to upload, the chunk and session in words, and the ETA.
pub(crate) struct ImportProgress<'a> {
    pub sink: &'a dyn ProgressSink,
    /// Records per step seq (chunks), and the target per seq.
    pub counts: std::collections::HashMap<u32, (ChangeKind, u32, String)>,
    pub total: u32,
    pub state: Mutex<(u32, Option<Instant>)>,
}

impl ImportProgress<'_> {
    pub(crate) fn new<'a>(
        sink: &'a dyn ProgressSink,
        changes: &[PlannedChange],
        already: u32,
    ) -> ImportProgress<'a> {
        let mut counts = std::collections::HashMap::new();
        let mut total = 0;
        for c in changes {
            let count = c
                .detail
                .as_ref()
                .and_then(|d| d.get("count"))
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as u32;
            if matches!(c.kind, ChangeKind::BulkUpsert | ChangeKind::BulkDelete) {
                total += count;
            }
            counts.insert(c.seq, (c.kind, count, c.target.clone()));
        }
        ImportProgress {
            sink,
            counts,
            total,
            state: Mutex::new((already, None)),
        }
    }
}

impl ProgressSink for ImportProgress<'_> {
    fn report(&self, progress: &Progress) {
        let seq: Option<u32> = progress.step.parse().ok();
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let started = *state.1.get_or_insert_with(Instant::now);
        let mut message = progress.message.clone();
        if let Some((kind, count, target)) = seq.and_then(|s| self.counts.get(&s)) {
            if matches!(kind, ChangeKind::BulkUpsert | ChangeKind::BulkDelete) {
                state.0 = (state.0 + count).min(self.total);
            }
            message = format!("{}: {target}", kind.verb());
        }
        let uploaded = state.0;
        let eta = if uploaded > 0 && uploaded < self.total {
            let per = started.elapsed().as_secs_f64() / f64::from(uploaded);
            Some((per * f64::from(self.total - uploaded)).ceil() as u64)
        } else {
            None
        };
        let message = match eta {
            Some(eta) => format!(
                "{message} — {uploaded} of {} records uploaded, about {eta} s left (etaSecs {eta})",
                self.total
            ),
            None => format!("{message} — {uploaded} of {} records uploaded", self.total),
        };
        self.sink.report(&Progress {
            operation: "import".into(),
            step: progress.step.clone(),
            done: uploaded,
            total: Some(self.total),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lay(active: &[bool]) -> Vec<Vec<Chunk>> {
        let mut layout = Layout::default();
        for (i, a) in active.iter().enumerate() {
            layout.push(i as u64 + 1, *a);
        }
        layout.finish()
    }

    #[test]
    fn chunks_hold_200_and_sessions_10000_users_or_50_requests() {
        assert_eq!(lay(&[true; 199])[0].len(), 1);
        assert_eq!(lay(&[true; 200])[0].len(), 1);
        assert_eq!(lay(&[true; 201])[0].len(), 2);
        let s = lay(&vec![true; 10_000]);
        assert_eq!((s.len(), s[0].len()), (1, 50));
        let s = lay(&vec![true; 10_001]);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1][0].count, 1);
        // 9,900 active and 200 inactive: 50 upserts and 1 delete would be 51 requests.
        let mut mixed = vec![true; 9_900];
        mixed.extend([false; 100]);
        let s = lay(&mixed);
        assert_eq!(
            s.len(),
            2,
            "active and inactive chunks are counted together"
        );
        assert!(s.iter().all(|c| c.len() as u32 <= MAX_REQUESTS));
        let users: u32 = s.iter().flatten().map(|c| c.count).sum();
        assert_eq!(users, 10_000);
        assert!(lay(&[]).is_empty());
    }

    #[test]
    fn requests_and_sessions_are_the_fewest_possible_for_interleaved_kinds() {
        // 10 % inactive, interleaved: every session boundary falls inside open chunks of both kinds.
        for n in [10_000usize, 99_700, 100_000, 123_457] {
            let active: Vec<bool> = (0..n).map(|i| i % 10 != 9).collect();
            let a = active.iter().filter(|x| **x).count();
            let i = n - a;
            let s = lay(&active);
            let requests: usize = s.iter().map(Vec::len).sum();
            assert_eq!(requests, a.div_ceil(200) + i.div_ceil(200), "n = {n}");
            assert_eq!(s.len(), requests.div_ceil(50), "n = {n}");
            for session in &s {
                assert!(session.len() as u32 <= MAX_REQUESTS);
                assert!(session.iter().map(|c| c.count).sum::<u32>() <= MAX_USERS);
                assert!(
                    session
                        .windows(2)
                        .all(|w| (!w[0].active, w[0].from) < (!w[1].active, w[1].from)),
                    "upserts first, each kind in spool order"
                );
            }
            let users: u32 = s.iter().flatten().map(|c| c.count).sum();
            assert_eq!(users as usize, n);
        }
    }

    #[test]
    fn interleaved_records_keep_their_kind_per_chunk() {
        let s = lay(&[true, false, true, false, false]);
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0],
            vec![
                Chunk {
                    active: true,
                    from: 1,
                    to: 3,
                    count: 2
                },
                Chunk {
                    active: false,
                    from: 2,
                    to: 5,
                    count: 3
                },
            ]
        );
        let steps = steps("hr", &["aps1".into()], &s);
        let kinds: Vec<_> = steps.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            vec![
                ChangeKind::DeleteSession,
                ChangeKind::CreateSession,
                ChangeKind::BulkUpsert,
                ChangeKind::BulkDelete,
                ChangeKind::StartImport,
                ChangeKind::AwaitSession
            ]
        );
        assert_eq!(steps[2].detail.as_ref().unwrap()["createSeq"], 2);
        assert_eq!(steps[2].target, "session 1 of 1");
    }

    #[test]
    fn the_expected_time_counts_the_gap_between_sessions() {
        let two = lay(&vec![true; 10_001]);
        assert!(expected_secs(&two, 0) >= 300);
        assert!(expected_secs(&lay(&[true; 10]), 0) < 60);
        assert_eq!(expected_secs(&[], 100), 0);
    }
}
