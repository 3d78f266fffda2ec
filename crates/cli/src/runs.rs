//! `okta365 runs list|show|export|delete|resume`: the run history and its journal.

use clap::{Args, Subcommand, ValueEnum};
use okta365_engine::{
    Engine, Error, ExportFormat, OperationId, Result, RunFilter, RunStatus, RunSummary,
};

use crate::run::print_summary;
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
    }
}
