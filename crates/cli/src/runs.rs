//! `okta365 runs list|show|export|delete|resume`: the run history and its journal.

use clap::{Args, Subcommand, ValueEnum};
use okta365_engine::{
    Engine, Error, ExportFormat, OperationId, Result, RunFilter, RunStatus, RunSummary,
};

use std::io::IsTerminal;

use crate::run::{Confirm, apply_planned, print_summary};
use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List the runs, newest first.
    List(ListArgs),
    /// Show one run: its summary, plan and every journaled step.
    Show {
        /// The run id.
        run: String,
    },
    /// Export one run as JSON or CSV (on stdout).
    Export {
        /// The run id.
        run: String,
        /// json or csv.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
    /// Delete one run and its journal from the history.
    Delete {
        /// The run id.
        run: String,
    },
    /// Resume the runs a crash left running: interrupted writes are checked on the tenant first.
    Resume,
    /// Undo a finished run: plan its inverse (re-enable what it disabled, give back the licenses it
    /// removed, remove the ones it added, cancel the stage it scheduled), show it, and apply it after a
    /// confirmation (or --yes). Emails already sent are listed as not undoable.
    Undo(UndoArgs),
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The run to undo.
    run: String,
    /// Only plan: show (and store) the undo plan; write nothing.
    #[arg(long)]
    plan: bool,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Confirm an undo plan the blast-radius guard stopped: the number of destructive changes it shows.
    #[arg(long, value_name = "N")]
    confirm_destructive: Option<u32>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// The run as JSON.
    Json,
    /// One CSV row per step.
    Csv,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this operation (memberAccounts, profileSync, guests).
    #[arg(long, value_name = "OP")]
    operation: Option<String>,
    /// Only this status (planned, running, succeeded, partial, failed, interrupted, discarded).
    #[arg(long, value_name = "S")]
    status: Option<String>,
    /// Only runs touching this Okta user (id, or part of the login).
    #[arg(long, value_name = "LOGIN")]
    user: Option<String>,
    /// At most this many.
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

pub async fn run(engine: &Engine, json: bool, command: RunsCommand) -> Result<()> {
    match command {
        RunsCommand::List(args) => {
            let profile = target_profile(engine, args.profile.as_deref()).await?;
            let operation = args
                .operation
                .as_deref()
                .map(|o| {
                    OperationId::ALL
                        .into_iter()
                        .find(|id| id.as_str().eq_ignore_ascii_case(o.trim()))
                        .ok_or_else(|| {
                            Error::invalid(format!(
                                "--operation {o} is not an operation; use memberAccounts, profileSync or \
                                 guests."
                            ))
                        })
                })
                .transpose()?;
            let status = args
                .status
                .as_deref()
                .map(|s| {
                    RunStatus::parse(s.trim()).ok_or_else(|| {
                        Error::invalid(format!(
                            "--status {s} is not a run status; use planned, running, succeeded, partial, \
                             failed, interrupted, cancelled or discarded."
                        ))
                    })
                })
                .transpose()?;
            let runs = engine
                .list_runs(
                    &profile.id,
                    RunFilter {
                        operation,
                        status,
                        user: args.user,
                        limit: args.limit,
                    },
                )
                .await?;
            if json {
                print_json(&runs);
            } else {
                print_list(&runs);
            }
        }
        RunsCommand::Show { run } => {
            let detail = engine.run_detail(&run).await?;
            if json {
                print_json(&detail);
            } else {
                print_summary(&detail.summary);
                for s in &detail.steps {
                    println!(
                        "{:>4}  {:<10} {:<11} {:<36} {}{}{}",
                        s.seq,
                        s.kind.as_str(),
                        s.status.as_str(),
                        s.user_label,
                        s.target,
                        s.http_status
                            .map(|h| format!("  HTTP {h}"))
                            .unwrap_or_default(),
                        match (&s.vendor_code, &s.fix) {
                            (Some(code), Some(fix)) => format!("  {code}: {fix}"),
                            (None, Some(fix)) => format!("  {fix}"),
                            _ => String::new(),
                        }
                    );
                }
            }
        }
        RunsCommand::Export { run, format } => {
            let format = match format {
                Format::Json => ExportFormat::Json,
                Format::Csv => ExportFormat::Csv,
            };
            print!("{}", engine.export_run(&run, format).await?);
        }
        RunsCommand::Delete { run } => {
            engine.delete_run(&run).await?;
            if json {
                print_json(&serde_json::json!({ "deleted": run }));
            } else {
                println!("Deleted run {run}.");
            }
        }
        RunsCommand::Undo(args) => {
            if !args.plan && !args.yes && !std::io::stdin().is_terminal() {
                return Err(Error::invalid(
                    "Applying an undo needs a confirmation and standard input is not a terminal; nothing \
                     was changed. Review it with --plan, then run again with --yes.",
                ));
            }
            let plan = engine.plan_undo(&args.run).await?;
            let hint = format!("okta365 runs undo {} --yes", args.run);
            apply_planned(
                engine,
                json,
                &[],
                plan,
                Confirm {
                    plan_only: args.plan,
                    yes: args.yes,
                    confirm_destructive: args.confirm_destructive,
                    apply_hint: &hint,
                },
            )
            .await?;
        }
        RunsCommand::Resume => {
            let resumed = match progress_sink(json) {
                Some(sink) => engine.resume_runs(&sink).await?,
                None => engine.resume_runs(&()).await?,
            };
            if json {
                print_json(&resumed);
            } else if resumed.is_empty() {
                println!("No run to resume.");
            } else {
                resumed.iter().for_each(print_summary);
            }
        }
    }
    Ok(())
}

fn print_list(runs: &[RunSummary]) {
    if runs.is_empty() {
        println!("No runs.");
        return;
    }
    for r in runs {
        println!(
            "{}  {:<15} {:<11} {:<10} {:>4} changes  {:>4} done  {:>4} failed  {}",
            r.run_id,
            r.operation.as_str(),
            r.status.as_str(),
            r.trigger.as_str(),
            r.changes,
            r.done,
            r.failed,
            r.created_at
        );
        if let Some(of) = &r.undo_of {
            println!("      undoes run {of}");
        }
        if let Some(by) = &r.undone_by {
            println!("      undone by run {by}");
        }
    }
}
