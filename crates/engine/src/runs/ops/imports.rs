//! The steps of an import run (docs/imports.md "Plan and apply"): `deleteSession`, `createSession`,
//! `bulkUpsert`, `bulkDelete`, `startImport`, `awaitSession`, each one Okta call (or a wait), executed
//! one at a time by the journal (`prepare` answers `None` for every import kind).
//!
//! - `createSession` waits out Okta's rules (another session open, or less than 5 minutes since the last
//!   one: a 400) by retrying with a backoff capped at the moment the rule allows it; it never fails on
//!   them. Its session id is journaled in the step's response; the later steps of that session read it
//!   from the journal (`createSeq` in their detail).
//! - A chunk reads its spool lines (`from..=to`, only the records of its kind) and sends them.
//! - `awaitSession` polls the session (every 100 ms at first, then every 5 % of the time waited so far,
//!   at most every 10 s, so it notices the end at most 5 % late) until it ends: COMPLETED writes the delta
//!   hashes of the records of that session's chunks that were sent; ERROR / EXPIRED closes it if it can
//!   and fails the step (the import ends `partial`; re-planning uploads those users again).
//! - `found` (the resume check of a step left `started`): a `createSession` is looked up among the
//!   CREATED sessions created after the step started; a chunk is sent again unless its session was
//!   started meanwhile; a `startImport` is found when the session is no longer CREATED.

use std::{path::PathBuf, time::Duration};

use jiff::{SignedDuration, Timestamp};
use okta365_okta::{IdentitySourceId, OktaClient, Session, SessionStatus, UpsertProfile};
use serde_json::{Value, json};

use super::{Planned, StepResult};
use crate::{
    error::{Error, Result},
    runs::{ChangeKind, PlannedChange, StepStatus, context::RunContext, context::Scope},
};

/// The Okta scope imports need.
pub(crate) const IMPORT_SCOPES: &[&str] = &["okta.identitySources.manage"];

/// The longest an import waits for Okta's session rules or a session to finish.
const MAX_WAIT: Duration = Duration::from_secs(6 * 3600);

/// How long a 400 on creating a session is taken for the 5-minute rule when no session is open.
const GAP_REFUSAL: Duration = Duration::from_secs(390);

/// What the steps of one import run share: the identity-source client, the source, the spool.
#[derive(Debug)]
pub(crate) struct ImportCtx {
    okta: OktaClient,
    source: IdentitySourceId,
    spool: PathBuf,
    source_name: String,
    /// The spool opened for reading (chunks read it in order, so it is read once).
    reader: std::sync::Mutex<Option<crate::imports::SpoolReader>>,
    /// The tenant clock minus the local one (the sandbox's clock may be moved).
    offset: SignedDuration,
}

/// The identity source id of a profile, or the error naming how to set it.
pub(crate) fn source_id(profile: &okta365_store::ProfileRecord) -> Result<IdentitySourceId> {
    match profile.okta_identity_source_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(IdentitySourceId::new(id)),
        _ => Err(Error::invalid(format!(
            "Profile \"{}\" has no Okta identity source for imports. Create a Custom Identity Source in the \
             Okta Admin Console (Integrations → Identity Sources), then save its id with `okta365 connect \
             okta --identity-source ID` (or on the Okta step of the app).",
            profile.name
        ))),
    }
}

async fn import_ctx(ctx: &RunContext) -> Result<&ImportCtx> {
    ctx.import
        .get_or_try_init(|| async {
            let run_id = ctx.run_id.ok_or_else(|| {
                Error::invalid("An import step runs only as part of an import run.")
            })?;
            let record = ctx
                .engine
                .db(move |store| store.import_run(run_id))
                .await?
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Run {run_id} has no import plan stored; plan the import again."
                    ))
                })?;
            let okta = ctx.engine.okta_client(&ctx.profile, IMPORT_SCOPES).await?;
            let now = Timestamp::now();
            let offset = ctx
                .engine
                .tenant_now(&ctx.profile)
                .await
                .map(|t| t.duration_since(now))
                .unwrap_or(SignedDuration::ZERO);
            Ok(ImportCtx {
                okta,
                source: source_id(&ctx.profile)?,
                spool: PathBuf::from(record.spool_path),
                source_name: record.source_name,
                reader: std::sync::Mutex::new(None),
                offset,
            })
        })
        .await
}

fn detail_u64(change: &PlannedChange, key: &str) -> Option<u64> {
    change.detail.as_ref()?.get(key)?.as_u64()
}

fn detail_str<'a>(change: &'a PlannedChange, key: &str) -> Option<&'a str> {
    change.detail.as_ref()?.get(key)?.as_str()
}

/// A step from an Okta error.
fn from_okta(request: Value, e: &okta365_okta::Error, fix: &str) -> StepResult {
    let (code, message) = match e {
        okta365_okta::Error::Api {
            code,
            summary,
            causes,
            ..
        } => {
            let mut m = summary.clone();
            if !causes.is_empty() {
                m.push_str(&format!(" ({})", causes.join("; ")));
            }
            (Some(code.as_str().to_owned()), m)
        }
        other => (None, other.to_string()),
    };
    let request_id = match e {
        okta365_okta::Error::Api { error_id, .. } => error_id.clone(),
        _ => None,
    };
    StepResult {
        status: StepStatus::Failed,
        request,
        response: Value::Null,
        http_status: e.status(),
        vendor_code: code,
        vendor_message: Some(message),
        request_id,
        fix: Some(fix.to_owned()),
        link: None,
    }
}

fn session_json(s: &Session) -> Value {
    json!({
        "sessionId": s.id,
        "status": s.status.as_str(),
        "created": s.created.map(|t| t.to_string()),
    })
}

/// The session id journaled by the `createSession` step `seq` (done, or found on resume).
async fn session_of(ctx: &RunContext, seq: u64) -> Result<Option<String>> {
    let Some(run_id) = ctx.run_id else {
        return Ok(None);
    };
    let step = ctx
        .engine
        .db(move |store| store.run_step(run_id, seq as i64))
        .await?;
    let Some(step) = step else {
        return Ok(None);
    };
    if !matches!(step.status.as_str(), "done" | "superseded") {
        return Ok(None);
    }
    let response: Value = step
        .response
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or(Value::Null);
    Ok(response
        .get("sessionId")
        .or_else(|| response.pointer("/found/sessionId"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// When the `createSession` step `seq` created its session (tenant clock).
async fn created_at(ctx: &RunContext, seq: u64) -> Option<Timestamp> {
    let run_id = ctx.run_id?;
    let step = ctx
        .engine
        .db(move |store| store.run_step(run_id, seq as i64))
        .await
        .ok()??;
    let response: Value = serde_json::from_str(step.response.as_deref()?).ok()?;
    response
        .get("created")
        .or_else(|| response.pointer("/found/created"))?
        .as_str()?
        .parse()
        .ok()
}

pub(crate) async fn plan(_ctx: &RunContext, _scope: &Scope) -> Result<Planned> {
    Err(Error::invalid(
        "Imports are planned from a saved source: `okta365 import run --source NAME` (or the app's Imports \
         step).",
    ))
}

/// Executes one import step.
pub(crate) async fn execute(ctx: &RunContext, change: &PlannedChange) -> StepResult {
    let ic = match import_ctx(ctx).await {
        Ok(ic) => ic,
        Err(e) => {
            return StepResult::failed(
                e.to_string(),
                "Fix the Okta connection or the identity source id, then resume the import.",
            );
        }
    };
    match change.kind {
        ChangeKind::DeleteSession => delete_session(ic, change).await,
        ChangeKind::CreateSession => create_session(ctx, ic, change).await,
        ChangeKind::BulkUpsert | ChangeKind::BulkDelete => send_chunk(ctx, ic, change).await,
        ChangeKind::StartImport => start_import(ctx, ic, change).await,
        ChangeKind::AwaitSession => await_session(ctx, ic, change).await,
        other => StepResult::failed(
            format!("{} is not a step of an import.", other.as_str()),
            "Plan the import again.",
        ),
    }
}

async fn delete_session(ic: &ImportCtx, change: &PlannedChange) -> StepResult {
    let Some(id) = detail_str(change, "sessionId") else {
        return StepResult::failed("The step names no session.", "Plan the import again.");
    };
    let request = json!({ "sessionId": id });
    match ic.okta.identity_source(&ic.source).delete_session(id).await {
        Ok(()) => StepResult {
            request,
            ..StepResult::done(json!({ "sessionId": id, "status": "CLOSED" }), None)
        },
        // Already started, closed or gone: nothing left to delete.
        Err(e) if matches!(e.status(), Some(400 | 404)) => StepResult {
            request,
            ..StepResult::done(json!({ "sessionId": id, "alreadyClosed": true }), None)
        },
        Err(e) => from_okta(
            request,
            &e,
            "Check the Okta connection, then resume the import.",
        ),
    }
}

/// A CREATED, TRIGGERED or IN_PROGRESS session blocks a new one.
fn blocking(sessions: &[Session]) -> Option<&Session> {
    sessions
        .iter()
        .find(|s| s.status == SessionStatus::Created || s.status.is_running())
}

async fn create_session(ctx: &RunContext, ic: &ImportCtx, change: &PlannedChange) -> StepResult {
    let is = ic.okta.identity_source(&ic.source);
    let previous = match detail_u64(change, "prevCreateSeq") {
        Some(seq) => created_at(ctx, seq).await,
        None => None,
    };
    let begun = std::time::Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        match is.create_session().await {
            Ok(s) => {
                tracing::info!(session = %s.id, target = %change.target, "import session created");
                return StepResult::done(session_json(&s), None);
            }
            Err(e) if e.status() == Some(400) && begun.elapsed() < MAX_WAIT => {
                // Okta's rules: another session open, or too soon after the last one. Wait until the
                // rule allows it (retrying with a backoff, never later than the 5-minute mark).
                let open = is.sessions().await.ok();
                let why = match open.as_deref().and_then(blocking) {
                    Some(s) => format!("session {} is {}", s.id, s.status),
                    // Refused for longer than the 5-minute rule with no session in the way: the 400
                    // is about something else.
                    None if begun.elapsed() > GAP_REFUSAL => {
                        return from_okta(
                            Value::Null,
                            &e,
                            "Okta keeps refusing a new import session although no session is open; check \
                             the identity source in the Okta Admin Console, then resume the import.",
                        );
                    }
                    None => "the last session is less than 5 minutes old".to_owned(),
                };
                let mut wait = delay;
                if let Some(prev) = previous
                    && open.as_deref().and_then(blocking).is_none()
                {
                    let allowed = prev
                        .checked_add(SignedDuration::from_secs(
                            crate::imports::run::SESSION_GAP_SECS as i64,
                        ))
                        .unwrap_or(prev);
                    let now = Timestamp::now()
                        .checked_add(ic.offset)
                        .unwrap_or_else(|_| Timestamp::now());
                    let left = allowed.duration_since(now).as_secs().max(0) as u64;
                    wait = wait.min(Duration::from_secs(left.max(1)));
                }
                tracing::info!(target = %change.target, %why, wait_secs = wait.as_secs(), "waiting before creating the import session");
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            Err(e) => {
                return from_okta(
                    Value::Null,
                    &e,
                    "Check the identity source id and the Okta connection (scope okta.identitySources.manage), \
                     then resume the import.",
                );
            }
        }
    }
}

/// The spool lines of a chunk, as the profiles (upsert) or external ids (delete) to send.
fn chunk_records(
    ic: &ImportCtx,
    change: &PlannedChange,
) -> Result<Vec<crate::imports::mapping::Mapped>> {
    let (Some(from), Some(to)) = (detail_u64(change, "from"), detail_u64(change, "to")) else {
        return Err(Error::invalid(
            "The step names no spool lines; plan the import again.",
        ));
    };
    read_spool(ic, from, to, change.kind == ChangeKind::BulkUpsert)
}

/// The records of spool lines `from..=to` that are `active` (or not), through the import's reader
/// (kept open between chunks).
fn read_spool(
    ic: &ImportCtx,
    from: u64,
    to: u64,
    active: bool,
) -> Result<Vec<crate::imports::Mapped>> {
    let mut guard = ic
        .reader
        .lock()
        .map_err(|_| Error::Task("the spool reader was poisoned".into()))?;
    if guard.is_none() {
        *guard = Some(crate::imports::SpoolReader::open(&ic.spool)?);
    }
    match guard.as_mut() {
        Some(reader) => reader.read_lines_of(from, to, Some(active)),
        None => Err(Error::Task("the spool could not be opened".into())),
    }
}

async fn send_chunk(ctx: &RunContext, ic: &ImportCtx, change: &PlannedChange) -> StepResult {
    let Some(session) = (match detail_u64(change, "createSeq") {
        Some(seq) => session_of(ctx, seq).await.ok().flatten(),
        None => None,
    }) else {
        return StepResult::failed(
            "The session of this chunk was not created.",
            "See the createSession step; plan the import again to upload these users.",
        );
    };
    let records = match chunk_records(ic, change) {
        Ok(r) => r,
        Err(e) => {
            return StepResult::failed(
                e.to_string(),
                "The import's spool file is missing or damaged; plan the import again.",
            );
        }
    };
    let request = json!({
        "sessionId": session,
        "from": detail_u64(change, "from"),
        "to": detail_u64(change, "to"),
        "count": records.len(),
    });
    if records.is_empty() {
        return StepResult {
            request,
            ..StepResult::done(json!({ "sent": 0 }), None)
        };
    }
    let is = ic.okta.identity_source(&ic.source);
    let sent = if change.kind == ChangeKind::BulkUpsert {
        let profiles: Vec<UpsertProfile> = records
            .into_iter()
            .map(|m| UpsertProfile::new(m.external_id, m.profile))
            .collect();
        is.bulk_upsert(&session, &profiles)
            .await
            .map(|()| profiles.len())
    } else {
        let ids: Vec<String> = records.into_iter().map(|m| m.external_id).collect();
        is.bulk_delete(&session, &ids).await.map(|()| ids.len())
    };
    match sent {
        Ok(n) => StepResult {
            request,
            ..StepResult::done(json!({ "sessionId": session, "sent": n }), None)
        },
        Err(e) => from_okta(
            request,
            &e,
            "Check the records named in the message (fix them in the source), then plan the import again.",
        ),
    }
}

async fn start_import(ctx: &RunContext, ic: &ImportCtx, change: &PlannedChange) -> StepResult {
    let Some(session) = (match detail_u64(change, "createSeq") {
        Some(seq) => session_of(ctx, seq).await.ok().flatten(),
        None => None,
    }) else {
        return StepResult::failed(
            "The session was not created, so there is nothing to start.",
            "See the createSession step; plan the import again.",
        );
    };
    let request = json!({ "sessionId": session });
    let is = ic.okta.identity_source(&ic.source);
    match is.start_import(&session).await {
        Ok(s) => StepResult {
            request,
            ..StepResult::done(session_json(&s), None)
        },
        Err(e) if e.status() == Some(400) => match is.session(&session).await {
            // Started already (e.g. by a resumed step): nothing more to do.
            Ok(s) if s.status != SessionStatus::Created => StepResult {
                request,
                ..StepResult::done(session_json(&s), None)
            },
            _ => from_okta(
                request,
                &e,
                "Okta did not start the import; plan the import again.",
            ),
        },
        Err(e) => from_okta(
            request,
            &e,
            "Check the Okta connection, then resume the import.",
        ),
    }
}

/// The pause before the next poll of a session waited on for `waited`: 5 % of it, from 100 ms to 10 s
/// (a session of a few seconds costs a few dozen cheap GETs; one of 5 minutes about 100).
fn poll_delay(waited: Duration) -> Duration {
    (waited / 20).clamp(Duration::from_millis(100), Duration::from_secs(10))
}

async fn await_session(ctx: &RunContext, ic: &ImportCtx, change: &PlannedChange) -> StepResult {
    let Some(session) = (match detail_u64(change, "createSeq") {
        Some(seq) => session_of(ctx, seq).await.ok().flatten(),
        None => None,
    }) else {
        return StepResult::failed(
            "The session was not created, so there is nothing to wait for.",
            "See the createSession step; plan the import again.",
        );
    };
    let request = json!({ "sessionId": session });
    let is = ic.okta.identity_source(&ic.source);
    let begun = std::time::Instant::now();
    let mut failures = 0u32;
    // The delta hashes of the session's records, worked out while it is processed (saved once it
    // completes).
    let mut hashes = None;
    let s = loop {
        let polled = std::time::Instant::now();
        match is.session(&session).await {
            Ok(s) if s.status.is_final() => break s,
            Ok(s) if s.status == SessionStatus::Created => {
                return StepResult {
                    request,
                    ..StepResult::failed(
                        format!("Session {session} was never started (it is still CREATED)."),
                        "See the startImport step; plan the import again.",
                    )
                };
            }
            Ok(_) => failures = 0,
            Err(e) if e.status() == Some(404) => {
                return from_okta(
                    request,
                    &e,
                    "The session is gone; plan the import again to upload its users.",
                );
            }
            Err(e) => {
                failures += 1;
                if failures > 10 {
                    return from_okta(
                        request,
                        &e,
                        "Check the Okta connection, then resume the import.",
                    );
                }
            }
        }
        if begun.elapsed() > MAX_WAIT {
            return StepResult {
                request,
                ..StepResult::failed(
                    format!("Session {session} did not finish within 6 hours."),
                    "Check the session in the Okta Admin Console, then resume the import.",
                )
            };
        }
        if hashes.is_none() {
            hashes = Some(session_hashes(ctx, ic, change).await);
        }
        let pause = poll_delay(begun.elapsed()).saturating_sub(polled.elapsed());
        tokio::time::sleep(pause).await;
    };
    match s.status {
        SessionStatus::Completed => match write_hashes(ctx, ic, change, hashes).await {
            Ok(n) => StepResult {
                request,
                ..StepResult::done(
                    json!({ "sessionId": session, "status": "COMPLETED", "hashes": n }),
                    None,
                )
            },
            Err(e) => StepResult {
                request,
                response: json!({ "sessionId": session, "status": "COMPLETED" }),
                ..StepResult::failed(
                    format!("The session completed, but the delta hashes could not be saved: {e}"),
                    "The next import uploads these users again; nothing else to do.",
                )
            },
        },
        ref other => {
            // Close it if it can be (Okta answers 400 for a session that is not CREATED).
            let _ = is.delete_session(&session).await;
            StepResult {
                request,
                response: session_json(&s),
                vendor_code: Some(other.as_str().to_owned()),
                ..StepResult::failed(
                    format!("Import session {session} ended {other}."),
                    "Plan the import again: the users of this session are uploaded again.",
                )
            }
        }
    }
}

/// Writes the delta hashes of the records of a completed session's chunks that were sent: `hashes`
/// when worked out while waiting, else worked out now.
async fn write_hashes(
    ctx: &RunContext,
    ic: &ImportCtx,
    change: &PlannedChange,
    hashes: Option<Result<Vec<(String, [u8; 32])>>>,
) -> Result<usize> {
    let Some(run_id) = ctx.run_id else {
        return Ok(0);
    };
    let rows = match hashes {
        Some(rows) => rows?,
        None => session_hashes(ctx, ic, change).await?,
    };
    let written = rows.len();
    if !rows.is_empty() {
        let (profile_id, source, import_id) =
            (ctx.profile.id, ic.source_name.clone(), run_id.to_string());
        ctx.engine
            .db(move |store| store.upsert_import_hashes(profile_id, &source, &import_id, &rows))
            .await?;
    }
    Ok(written)
}

/// The delta hashes (externalId, content hash) of the records of the session's chunks that were sent.
async fn session_hashes(
    ctx: &RunContext,
    ic: &ImportCtx,
    change: &PlannedChange,
) -> Result<Vec<(String, [u8; 32])>> {
    let Some(run_id) = ctx.run_id else {
        return Ok(Vec::new());
    };
    let chunks: Vec<Value> = change
        .detail
        .as_ref()
        .and_then(|d| d.get("chunks"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The whole session's hashes go in one transaction (one commit, not one per chunk).
    let mut rows: Vec<(String, [u8; 32])> = Vec::new();
    for chunk in chunks {
        let (Some(seq), Some(from), Some(to)) = (
            chunk.get("seq").and_then(Value::as_u64),
            chunk.get("from").and_then(Value::as_u64),
            chunk.get("to").and_then(Value::as_u64),
        ) else {
            continue;
        };
        let active = chunk.get("active").and_then(Value::as_bool).unwrap_or(true);
        let step = ctx
            .engine
            .db(move |store| store.run_step(run_id, seq as i64))
            .await?;
        // Only chunks sent by this run: a chunk found with its session already started may not have
        // been sent, so its users are uploaded again next time.
        if step.is_none_or(|s| s.status != "done") {
            continue;
        }
        rows.extend(read_spool(ic, from, to, active)?.into_iter().map(|m| {
            let hash = crate::imports::content_hash(&m);
            (m.external_id, hash)
        }));
    }
    Ok(rows)
}

/// Whether an import step left `started` by an interruption is already done on Okta (what was found).
/// A step still `pending` is never looked up.
pub(crate) async fn found(ctx: &RunContext, change: &PlannedChange) -> Result<Option<Value>> {
    let Some(run_id) = ctx.run_id else {
        return Ok(None);
    };
    let seq = i64::from(change.seq);
    let step = ctx
        .engine
        .db(move |store| store.run_step(run_id, seq))
        .await?;
    let Some(step) = step.filter(|s| s.status == "started") else {
        return Ok(None);
    };
    let ic = import_ctx(ctx).await?;
    let is = ic.okta.identity_source(&ic.source);
    let okta = |e: okta365_okta::Error| {
        crate::setup::groups::okta_error(
            "Reading the import sessions",
            e,
            "okta.identitySources.manage",
        )
    };
    match change.kind {
        ChangeKind::DeleteSession => {
            let Some(id) = detail_str(change, "sessionId") else {
                return Ok(None);
            };
            match is.session(id).await {
                Ok(s) if s.status != SessionStatus::Created => Ok(Some(session_json(&s))),
                Ok(_) => Ok(None),
                Err(e) if e.status() == Some(404) => {
                    Ok(Some(json!({ "sessionId": id, "gone": true })))
                }
                Err(e) => Err(okta(e)),
            }
        }
        ChangeKind::CreateSession => {
            // A CREATED session created after the step started (tenant clock, a little slack).
            let since = step
                .started_at
                .unwrap_or_else(Timestamp::now)
                .checked_add(ic.offset)
                .ok()
                .and_then(|t| t.checked_sub(SignedDuration::from_secs(5)).ok());
            let sessions = is.sessions().await.map_err(okta)?;
            Ok(sessions
                .iter()
                .filter(|s| s.status == SessionStatus::Created)
                .find(|s| match (s.created, since) {
                    (Some(c), Some(since)) => c >= since,
                    _ => true,
                })
                .map(session_json))
        }
        ChangeKind::BulkUpsert | ChangeKind::BulkDelete | ChangeKind::StartImport => {
            let Some(session) = (match detail_u64(change, "createSeq") {
                Some(seq) => session_of(ctx, seq).await?,
                None => None,
            }) else {
                return Ok(None);
            };
            match is.session(&session).await {
                // Started (or ended) meanwhile: a chunk can no longer be sent, a start was made.
                Ok(s) if s.status != SessionStatus::Created => Ok(Some(session_json(&s))),
                Ok(_) => Ok(None),
                Err(e) if e.status() == Some(404) => Ok(None),
                Err(e) => Err(okta(e)),
            }
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_notice_the_end_at_most_5_percent_late() {
        assert_eq!(poll_delay(Duration::ZERO), Duration::from_millis(100));
        assert_eq!(
            poll_delay(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
        assert_eq!(
            poll_delay(Duration::from_secs(4)),
            Duration::from_millis(200)
        );
        assert_eq!(poll_delay(Duration::from_secs(60)), Duration::from_secs(3));
        assert_eq!(
            poll_delay(Duration::from_secs(3600)),
            Duration::from_secs(10)
        );
    }
}
