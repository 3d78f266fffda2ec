//! `okta365 watch`: provisioning from the Okta System Log, headless. At start the runs a crash left
//! behind are resumed; then every `pollIntervalSecs` the System Log is polled (membership and profile
//! events become runs, applied unless the blast-radius guard stops them) and every
//! `reconcileEveryMins` (when set) every member is reconciled, and each round runs the delayed stages
//! that came due (the license removals of staged deactivations; late ones are reported). One line per round on stderr; with
//! `--json` one JSON object per round on stdout too. SIGTERM or Ctrl-C stops it between rounds.
//!
//! `okta365 test-run`: the one-click test run for one user (named, or a throwaway test user), with an
//! optional cleanup.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use clap::{ArgGroup, Args, ValueEnum};
use okta365_engine::{Engine, OperationId, Result, RunStatus, RunSummary, Stage, TestRunRequest};
use serde::Serialize;
use serde_json::Value;

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One round (resume, poll, reconcile when due), then exit.
    #[arg(long)]
    once: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

/// One round, as `--json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Round {
    round: u64,
    events: Option<u32>,
    runs: Vec<RunSummary>,
    reconciled: Option<Vec<RunSummary>>,
    /// Delayed stages that came due and ran this round (license removals of staged deactivations).
    stages: Vec<RunSummary>,
    /// Of those, the ones that ran late (came due while nothing ran), with how late.
    late: Vec<Stage>,
    /// Scheduled imports that came due this round.
    imports: Vec<okta365_engine::DueImport>,
    cursor: Option<String>,
    error: Option<String>,
}

fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Planned => {
            "planned (stopped by the guard: confirm it in the app or with `okta365 run`)"
        }
        RunStatus::Running => "running",
        RunStatus::Succeeded => "succeeded",
        RunStatus::Partial => "partial",
        RunStatus::Failed => "failed",
        RunStatus::Interrupted => "interrupted",
        RunStatus::Cancelled => "cancelled",
        RunStatus::Discarded => "discarded",
    }
}

fn describe(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "no runs".into();
    }
    runs.iter()
        .map(|r| {
            format!(
                "{} {}: {} user{}, {}/{} done, {} failed",
                r.operation.as_str(),
                status_word(r.status),
                r.users,
                if r.users == 1 { "" } else { "s" },
                r.done,
                r.changes,
                r.failed
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn watch(engine: &Engine, json: bool, args: WatchArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let notify = Arc::new(tokio::sync::Notify::new());
    {
        let (stop, notify) = (stop.clone(), notify.clone());
        tokio::spawn(async move {
            crate::wait_for_stop_signal().await;
            stop.store(true, Ordering::SeqCst);
            notify.notify_one();
        });
    }
    let resumed = match progress_sink(json) {
        Some(sink) => engine.resume_runs(&sink).await?,
        None => engine.resume_runs(&()).await?,
    };
    if !resumed.is_empty() {
        eprintln!("resumed: {}", describe(&resumed));
    }
    eprintln!(
        "Watching the Okta System Log of profile \"{}\"{}.",
        profile.name,
        if args.once {
            " (one round)"
        } else {
            "; SIGTERM or Ctrl-C stops"
        }
    );
    let mut last_reconcile: Option<Instant> = None;
    let mut round = 0u64;
    loop {
        round += 1;
        let settings = engine.provisioning_settings(&profile.id).await?;
        // The first error of the round: a failed poll or reconcile does not stop the round's due
        // stages; `--once` exits with it after them, a long-running watch logs it and goes on.
        let mut failure = None;
        let mut out = Round {
            round,
            events: None,
            runs: Vec::new(),
            reconciled: None,
            stages: Vec::new(),
            late: Vec::new(),
            imports: Vec::new(),
            cursor: None,
            error: None,
        };
        let polled = match progress_sink(json) {
            Some(sink) => engine.poll_system_log(&profile.id, &sink).await,
            None => engine.poll_system_log(&profile.id, &()).await,
        };
        let mut line = match polled {
            Ok(report) => {
                let line = format!(
                    "round {round}: {} event{}, {}",
                    report.events,
                    if report.events == 1 { "" } else { "s" },
                    describe(&report.runs)
                );
                out.events = Some(report.events);
                out.runs = report.runs;
                out.cursor = Some(report.cursor);
                line
            }
            Err(e) => {
                out.error = Some(e.to_string());
                let line = format!("round {round}: the poll failed: {e}");
                // With --once the round still runs the due stages, then fails with this error.
                failure.get_or_insert(e);
                line
            }
        };
        if let Some(mins) = settings.reconcile_every_mins
            && last_reconcile
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(u64::from(mins) * 60))
        {
            last_reconcile = Some(Instant::now());
            match engine.reconcile(&profile.id, None).await {
                Ok(runs) => {
                    line.push_str(&format!("; reconcile: {}", describe(&runs)));
                    out.reconciled = Some(runs);
                }
                Err(e) => {
                    line.push_str(&format!("; reconcile failed: {e}"));
                    out.error.get_or_insert_with(|| e.to_string());
                    failure.get_or_insert(e);
                }
            }
        }
        let due = match progress_sink(json) {
            Some(sink) => engine.run_due_stages(Some(&profile.id), &sink).await,
            None => engine.run_due_stages(Some(&profile.id), &()).await,
        };
        match due {
            Ok(report) => {
                if !report.ran.is_empty() {
                    line.push_str(&format!("; due stages: {}", describe(&report.ran)));
                }
                for stage in &report.late {
                    line.push_str(&format!(
                        "; the license removal of {} ran {} late",
                        stage.user_label,
                        crate::lifecycle::duration_words(stage.late_secs.unwrap_or(0).max(0) as u64)
                    ));
                }
                out.stages = report.ran;
                out.late = report.late;
            }
            Err(e) => {
                line.push_str(&format!("; due stages failed: {e}"));
                out.error.get_or_insert_with(|| e.to_string());
                failure.get_or_insert(e);
            }
        }
        let imports = match progress_sink(json) {
            Some(sink) => engine.run_due_imports(Some(&profile.id), &sink).await,
            None => engine.run_due_imports(Some(&profile.id), &()).await,
        };
        match imports {
            Ok(due) => {
                for d in &due {
                    let what = match (&d.applied, &d.problem) {
                        (Some(s), _) => status_word(s.status).to_owned(),
                        (None, Some(p)) => p.clone(),
                        (None, None) => "planned".to_owned(),
                    };
                    line.push_str(&format!("; import {}: {what}", d.source_name));
                }
                out.imports = due;
            }
            Err(e) => {
                line.push_str(&format!("; scheduled imports failed: {e}"));
                out.error.get_or_insert_with(|| e.to_string());
                failure.get_or_insert(e);
            }
        }
        eprintln!("{line}");
        if json {
            println!("{}", serde_json::to_string(&out).expect("serializes"));
        }
        if args.once
            && let Some(e) = failure.take()
        {
            return Err(e);
        }
        if args.once || stop.load(Ordering::SeqCst) {
            break;
        }
        let wait = Duration::from_secs(u64::from(settings.poll_interval_secs.max(1)));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = notify.notified() => {}
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    if !args.once {
        eprintln!("Stopped watching.");
    }
    Ok(())
}

/// The operations a test run is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestOperation {
    /// Create or link the user's Microsoft account.
    MemberAccounts,
    /// Invite or link the user as a guest.
    Guests,
    /// Copy the user's mapped Okta attributes to their linked Microsoft account.
    ProfileSync,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).args(["user", "create_test_user"])))]
pub struct TestRunArgs {
    /// The operation.
    #[arg(value_enum)]
    operation: TestOperation,
    /// The Okta user (login or id).
    #[arg(long, value_name = "LOGIN")]
    user: Option<String>,
    /// Create a throwaway Okta user `okta365-test-<n>@…` in the operation's group.
    #[arg(long)]
    create_test_user: bool,
    /// Afterwards remove the throwaway user again (its Microsoft account and the Okta user).
    #[arg(long)]
    cleanup: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TestRunOutput {
    run: RunSummary,
    read_back: Value,
    created_test_user: Option<String>,
    cleaned_up: bool,
}

pub async fn test_run(engine: &Engine, json: bool, args: TestRunArgs) -> Result<()> {
    if args.cleanup && !args.create_test_user {
        return Err(okta365_engine::Error::invalid(
            "--cleanup removes only a throwaway test user; use it with --create-test-user (a named \
             user is never removed).",
        ));
    }
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    let operation = match args.operation {
        TestOperation::MemberAccounts => OperationId::MemberAccounts,
        TestOperation::Guests => OperationId::Guests,
        TestOperation::ProfileSync => OperationId::ProfileSync,
    };
    let request = TestRunRequest {
        profile_id: profile.id.clone(),
        operation,
        okta_user_id: args.user.clone(),
    };
    let result = match progress_sink(json) {
        Some(sink) => engine.test_run(request, &sink).await?,
        None => engine.test_run(request, &()).await?,
    };
    let mut cleaned_up = false;
    if args.cleanup
        && let Some(user) = &result.created_test_user
    {
        engine.cleanup_test_user(&profile.id, user).await?;
        cleaned_up = true;
    }
    if json {
        print_json(&TestRunOutput {
            run: result.run.summary.clone(),
            read_back: result.read_back.clone(),
            created_test_user: result.created_test_user.clone(),
            cleaned_up,
        });
        return Ok(());
    }
    let s = &result.run.summary;
    println!(
        "Test run {} ({}): {}, {}/{} done, {} failed.",
        s.run_id,
        s.operation.as_str(),
        status_word(s.status),
        s.done,
        s.changes,
        s.failed
    );
    for step in &result.run.steps {
        println!(
            "  {:>2}. {:?} {} for {}: {:?}{}",
            step.seq,
            step.kind,
            step.target,
            step.user_label,
            step.status,
            step.fix
                .as_deref()
                .map(|f| format!(" ({f})"))
                .unwrap_or_default()
        );
    }
    match &result.read_back {
        Value::Null => println!("No Microsoft account is linked to the user."),
        user => println!(
            "Microsoft account: {} ({})",
            user["userPrincipalName"].as_str().unwrap_or("?"),
            user["id"].as_str().unwrap_or("?")
        ),
    }
    if let Some(user) = &result.created_test_user {
        if cleaned_up {
            println!("The test user {user} and its Microsoft account were removed.");
        } else {
            println!(
                "Test user {user} created and kept; clean it up in the app's test run, or use \
                 --cleanup next time."
            );
        }
    }
    Ok(())
}
