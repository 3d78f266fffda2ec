//! `okta365 import preview|mapping|run|list|rejects|schedule`: users from a CSV file or an HTTP JSON
//! endpoint pushed into Okta through the profile's Custom Identity Source (docs/imports.md "CLI").
//! A source is saved by name with its mapping (`import mapping`); `import run` plans it (spool, rejects,
//! sessions), shows the plan and applies it after a confirmation (--yes, or a terminal prompt).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use okta365_engine::{
    ActiveRule, AttributeRule, Engine, Error, ImportMapping, ImportPlan, ImportRequest,
    ImportSchedule, ImportStop, ImportSummary, MappedPreviewRow, Result, RunStatus, RunSummary,
    SourcePreview, SourceSpec, Transform,
};
use serde::Serialize;

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Show a source's columns, first rows and problems.
    Preview(PreviewArgs),
    /// Show a saved source's mapping, or save a source and its mapping (suggested with --auto-map,
    /// changed with --set, --external-id, --active).
    Mapping(MappingArgs),
    /// Plan an import of a saved source and apply it.
    Run(RunArgs),
    /// The profile's imports, newest first.
    List {
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// The records an import rejected (with --csv: as CSV, every one).
    Rejects {
        /// The import id (see `okta365 import list`).
        import: String,
        /// Print CSV (position,externalId,reason).
        #[arg(long)]
        csv: bool,
    },
    /// Import a saved source on its own (by `okta365 watch` and the app): every N minutes or daily.
    Schedule(ScheduleArgs),
}

/// Where records come from, on the command line.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A CSV file with a header row.
    #[arg(long, value_name = "FILE", conflicts_with = "url")]
    csv: Option<PathBuf>,
    /// The CSV delimiter (, ; tab or |); default: sniffed from the header.
    #[arg(long, value_name = "D", requires = "csv")]
    delimiter: Option<String>,
    /// An HTTP endpoint answering JSON (https, or http on loopback).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// JSON pointer to the array of records in each page (e.g. /data); default: the body is the array.
    #[arg(long = "records", value_name = "POINTER", requires = "url")]
    records: Option<String>,
    /// JSON pointer to the next page's URL in the body (e.g. /next); default: Link rel="next".
    #[arg(long = "next", value_name = "POINTER", requires = "url")]
    next: Option<String>,
    /// A header sent with every request to the URL (e.g. Authorization); its value is saved in the
    /// OS keychain with `import mapping --auth-value-stdin`.
    #[arg(long, value_name = "HEADER", requires = "url")]
    auth_header: Option<String>,
}

impl SourceArgs {
    fn spec(&self) -> Option<SourceSpec> {
        if let Some(path) = &self.csv {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            return Some(SourceSpec::Csv {
                path: path.display().to_string(),
                delimiter: self.delimiter.clone(),
            });
        }
        self.url.as_ref().map(|url| SourceSpec::Http {
            url: url.clone(),
            records_pointer: self.records.clone(),
            next_field: self.next.clone(),
            auth_header: self.auth_header.clone(),
        })
    }
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("from").required(true).args(["csv", "url"])))]
pub struct PreviewArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// Read the URL with the auth header value saved for this source.
    #[arg(long = "source", value_name = "NAME")]
    name: Option<String>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct MappingArgs {
    /// The source's name (e.g. hr).
    #[arg(long, value_name = "NAME")]
    source: String,
    #[command(flatten)]
    from: SourceArgs,
    /// Start from the mapping suggested by the column names.
    #[arg(long)]
    auto_map: bool,
    /// Map an attribute to a column, as ATTR=COLUMN (e.g. title=job_title); repeatable.
    #[arg(long = "set", value_name = "ATTR=COLUMN")]
    set: Vec<String>,
    /// The column holding the user's id in the source.
    #[arg(long, value_name = "COLUMN")]
    external_id: Option<String>,
    /// The column saying whether the user is active (true/false, active/inactive, …).
    #[arg(long, value_name = "COLUMN")]
    active: Option<String>,
    /// Read the auth header's value from standard input (one line) and save it in the OS keychain.
    #[arg(long, conflicts_with = "forget_auth_value")]
    auth_value_stdin: bool,
    /// Delete the auth header value saved for the source.
    #[arg(long)]
    forget_auth_value: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The saved source to import.
    #[arg(long, value_name = "NAME")]
    source: String,
    /// Only plan: show (and store) the plan; upload nothing.
    #[arg(long)]
    plan: bool,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Upload every record, changed or not (default: only records changed since the last import).
    #[arg(long)]
    full: bool,
    /// Confirm the deactivations of a plan over the guard: the number it shows.
    #[arg(long, value_name = "N")]
    confirm_deactivations: Option<u32>,
    /// Stop when more than P % of the records are rejected (default 1).
    #[arg(long, value_name = "P")]
    max_reject_percent: Option<f64>,
    /// Deactivations above this need --confirm-deactivations (default 10).
    #[arg(long, value_name = "N")]
    max_deactivations: Option<u32>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("when").required(true).args(["every", "daily", "off"])))]
pub struct ScheduleArgs {
    /// The saved source.
    #[arg(long, value_name = "NAME")]
    source: String,
    /// Every N minutes or hours: 60m, 2h (at least 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_every)]
    every: Option<u32>,
    /// Daily at HH:MM.
    #[arg(long, value_name = "HH:MM")]
    daily: Option<String>,
    /// The time zone of --daily (IANA name; default UTC).
    #[arg(long, value_name = "TZ", requires = "daily")]
    time_zone: Option<String>,
    /// Remove the schedule.
    #[arg(long)]
    off: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

/// `60m`, `2h` or a number of minutes.
fn parse_every(value: &str) -> std::result::Result<u32, String> {
    let v = value.trim().to_ascii_lowercase();
    let (n, unit) = match v.strip_suffix('h') {
        Some(n) => (n, 60),
        None => (v.strip_suffix('m').unwrap_or(&v), 1),
    };
    n.trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|m| *m > 0)
        .ok_or_else(|| {
            format!("\"{value}\" is not a duration; use minutes or hours, e.g. 60m or 2h")
        })
}

pub async fn run(engine: &Engine, json: bool, command: ImportCommand) -> Result<()> {
    match command {
        ImportCommand::Preview(args) => {
            let profile = target_profile(engine, args.profile.as_deref()).await?;
            let spec = args
                .source
                .spec()
                .ok_or_else(|| Error::invalid("Name the source with --csv FILE or --url URL."))?;
            let preview = engine
                .preview_source(&profile.id, spec, args.name.as_deref())
                .await?;
            if json {
                print_json(&preview);
            } else {
                print_preview(&preview);
            }
        }
        ImportCommand::Mapping(args) => mapping(engine, json, args).await?,
        ImportCommand::Run(args) => run_import(engine, json, args).await?,
        ImportCommand::List { profile } => {
            let profile = target_profile(engine, profile.as_deref()).await?;
            let list = engine.list_imports(&profile.id).await?;
            if json {
                print_json(&list);
            } else {
                print_list(&list);
            }
        }
        ImportCommand::Rejects { import, csv } => {
            let text = engine.import_rejects(&import).await?;
            if csv || json {
                if json {
                    print_json(&text);
                } else {
                    print!("{text}");
                }
            } else {
                let rows = text
                    .lines()
                    .skip(1)
                    .filter(|l| !l.trim().is_empty())
                    .count();
                if rows == 0 {
                    println!("No record was rejected.");
                } else {
                    println!("{rows} record(s) rejected (position,externalId,reason):");
                    for line in text.lines().skip(1) {
                        println!("  {line}");
                    }
                }
            }
        }
        ImportCommand::Schedule(args) => {
            let profile = target_profile(engine, args.profile.as_deref()).await?;
            let schedule = (!args.off).then(|| ImportSchedule {
                every_mins: args.every,
                daily_at: args.daily.clone(),
                time_zone: args.time_zone.clone(),
            });
            let saved = engine
                .set_import_schedule(&profile.id, &args.source, schedule)
                .await?;
            if json {
                print_json(&saved);
            } else {
                match saved {
                    None => println!(
                        "Source {} is no longer imported on a schedule.",
                        args.source
                    ),
                    Some(s) => match (s.every_mins, s.daily_at) {
                        (Some(m), _) => println!(
                            "Source {} is imported every {m} minutes while `okta365 watch` (or the app) runs.",
                            args.source
                        ),
                        (_, Some(at)) => println!(
                            "Source {} is imported daily at {at} ({}) while `okta365 watch` (or the app) runs.",
                            args.source,
                            s.time_zone.as_deref().unwrap_or("UTC")
                        ),
                        _ => {}
                    },
                }
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MappingOutput<'a> {
    source_name: &'a str,
    source: &'a SourceSpec,
    mapping: &'a ImportMapping,
    saved: bool,
    preview: &'a [MappedPreviewRow],
}

async fn mapping(engine: &Engine, json: bool, args: MappingArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    let saved = engine.import_mapping(&profile.id, &args.source).await?;
    let new_source = args.from.spec();
    let changing = new_source.is_some()
        || args.auto_map
        || !args.set.is_empty()
        || args.external_id.is_some()
        || args.active.is_some();
    let source = match (new_source, &saved) {
        (Some(s), _) => s,
        (None, Some(saved)) => saved.source.clone(),
        (None, None) => {
            return Err(Error::invalid(format!(
                "No source named \"{}\" is saved. Save it with `okta365 import mapping --source {} --csv FILE \
                 --auto-map` (or --url URL).",
                args.source, args.source
            )));
        }
    };
    if args.auth_value_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map_err(|e| {
            Error::invalid(format!(
                "The auth header value could not be read from standard input: {e}"
            ))
        })?;
        let value = okta365_secrets::Secret::new(line.trim_end_matches(['\r', '\n']));
        engine
            .set_import_source_secret(&profile.id, &args.source, Some(value))
            .await?;
        eprintln!(
            "The auth header value of source {} is saved in the OS keychain.",
            args.source
        );
    } else if args.forget_auth_value {
        engine
            .set_import_source_secret(&profile.id, &args.source, None)
            .await?;
        eprintln!("Source {} has no saved auth header value now.", args.source);
    }
    let mut mapping = match (&saved, args.auto_map) {
        (Some(saved), false) => saved.mapping.clone(),
        _ => {
            engine
                .suggest_mapping(&profile.id, source.clone(), Some(&args.source))
                .await?
        }
    };
    for pair in &args.set {
        let Some((attr, column)) = pair.split_once('=') else {
            return Err(Error::invalid(format!(
                "--set {pair} is not ATTR=COLUMN (e.g. --set title=job_title)."
            )));
        };
        let (attr, column) = (attr.trim().to_owned(), column.trim().to_owned());
        mapping.attributes.retain(|r| r.attribute != attr);
        if !column.is_empty() {
            mapping.attributes.push(AttributeRule {
                attribute: attr,
                value: Transform::column(column),
            });
        }
    }
    if let Some(col) = &args.external_id {
        mapping.external_id = Transform::column(col.trim());
    }
    if let Some(col) = &args.active {
        mapping.active = Some(ActiveRule::with_defaults(col.trim()));
    }
    if changing {
        engine
            .save_import_mapping(&profile.id, &args.source, source.clone(), mapping.clone())
            .await?;
    }
    let preview = engine
        .preview_mapping(
            &profile.id,
            source.clone(),
            mapping.clone(),
            Some(&args.source),
        )
        .await
        .unwrap_or_default();
    if json {
        print_json(&MappingOutput {
            source_name: &args.source,
            source: &source,
            mapping: &mapping,
            saved: changing,
            preview: &preview,
        });
        return Ok(());
    }
    match &source {
        SourceSpec::Csv { path, .. } => println!("Source {}: CSV file {path}", args.source),
        SourceSpec::Http {
            url, auth_header, ..
        } => {
            println!("Source {}: {url}", args.source);
            if let Some(h) = auth_header.as_deref().filter(|h| !h.trim().is_empty()) {
                let saved = engine
                    .import_mapping(&profile.id, &args.source)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|s| s.auth_value_saved);
                println!(
                    "  sent with the header {h}: {}",
                    if saved {
                        "its value is saved in the OS keychain"
                    } else {
                        "no value saved yet (save it with --auth-value-stdin)"
                    }
                );
            }
        }
    }
    println!("  externalId    ← {}", describe(&mapping.external_id));
    for rule in &mapping.attributes {
        println!("  {:<13} ← {}", rule.attribute, describe(&rule.value));
    }
    match &mapping.active {
        Some(rule) => println!(
            "  active        ← {} (active: true, yes, active…; inactive: false, no, terminated…)",
            rule.column
        ),
        None => println!("  active        ← every user is active"),
    }
    for row in preview.iter().take(5) {
        match &row.reject {
            Some(reason) => println!("  #{}: rejected: {reason}", row.position),
            None => println!(
                "  #{}: {} {}",
                row.position,
                row.external_id.as_deref().unwrap_or("?"),
                row.profile
                    .get("userName")
                    .map(String::as_str)
                    .unwrap_or("")
            ),
        }
    }
    if changing {
        println!(
            "Saved. Import it with `okta365 import run --source {}`.",
            args.source
        );
    }
    Ok(())
}

fn describe(t: &Transform) -> String {
    match t {
        Transform::Column { column } => column.clone(),
        Transform::Concat { parts, separator } => parts
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(&format!(" + {separator:?} + ")),
        Transform::Lower { of } => format!("lower({})", describe(of)),
        Transform::BeforeAt { of } => format!("beforeAt({})", describe(of)),
        Transform::Constant { value } => format!("{value:?}"),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunOutput<'a> {
    resumed: &'a [RunSummary],
    plan: &'a ImportPlan,
    result: Option<&'a RunSummary>,
}

async fn run_import(engine: &Engine, json: bool, args: RunArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    if !args.plan && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "Applying needs a confirmation and standard input is not a terminal; nothing was uploaded. \
             Review the plan with --plan, then run again with --yes.",
        ));
    }
    // An import (or run) a crash left behind is finished first.
    let resumed = match progress_sink(json) {
        Some(sink) => engine.resume_runs(&sink).await?,
        None => engine.resume_runs(&()).await?,
    };
    let plan = engine
        .plan_import(ImportRequest {
            profile_id: profile.id.clone(),
            source_name: args.source.clone(),
            delta: true,
            full_resync: args.full,
            max_reject_percent: args.max_reject_percent,
            max_deactivations: args.max_deactivations,
        })
        .await?;
    let nothing = plan.sessions == 0 && plan.stale_sessions.is_empty();
    if args.plan || nothing {
        if json {
            print_json(&RunOutput {
                resumed: &resumed,
                plan: &plan,
                result: None,
            });
        } else {
            print_plan(&plan);
            if nothing {
                println!("Nothing to upload.");
            } else {
                println!(
                    "Planned as import {}. Apply it with `okta365 import run --source {} --yes`{}.",
                    plan.import_id,
                    args.source,
                    plan.deactivation_guard
                        .map(|g| format!(" --confirm-deactivations {}", g.count))
                        .unwrap_or_default()
                );
            }
        }
        if nothing && !args.plan {
            engine.discard_run(&plan.import_id).await.ok();
        }
        return Ok(());
    }
    let refuse = |message: String| {
        if !json {
            print_plan_to(&mut std::io::stderr(), &plan);
        }
        Error::invalid(message)
    };
    if plan.stopped == Some(ImportStop::Rejects) {
        engine.discard_run(&plan.import_id).await.ok();
        return Err(refuse(format!(
            "{} of {} records were rejected, more than allowed; nothing was uploaded. See them with `okta365 \
             import rejects {} --csv`, fix the source (or raise --max-reject-percent), then run again.",
            plan.rejected, plan.records, plan.import_id
        )));
    }
    if let Some(g) = plan.deactivation_guard
        && args.confirm_deactivations != Some(g.count)
    {
        engine.discard_run(&plan.import_id).await.ok();
        return Err(refuse(match args.confirm_deactivations {
            None => format!(
                "This import deactivates {} users, more than {} without a confirmation; nothing was uploaded. \
                 Check the inactive records, then run again with --confirm-deactivations {}.",
                g.count, g.max, g.count
            ),
            Some(n) => format!(
                "--confirm-deactivations {n} does not match the {} users this import deactivates; nothing was \
                 uploaded.",
                g.count
            ),
        }));
    }
    if !args.yes {
        print_plan_to(&mut std::io::stderr(), &plan);
        eprint!(
            "Upload {} and deactivate {} user(s) in Okta? [y/N] ",
            plan.active, plan.inactive
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::invalid(format!("Could not read the answer ({e}).")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            engine.discard_run(&plan.import_id).await.ok();
            return Err(Error::Cancelled {
                message: "Nothing was uploaded to Okta.".into(),
            });
        }
    }
    let summary = match progress_sink(json) {
        Some(sink) => {
            engine
                .apply_import(&plan.import_id, args.confirm_deactivations, &sink)
                .await?
        }
        None => {
            engine
                .apply_import(&plan.import_id, args.confirm_deactivations, &())
                .await?
        }
    };
    if json {
        print_json(&RunOutput {
            resumed: &resumed,
            plan: &plan,
            result: Some(&summary),
        });
    } else {
        println!(
            "Import {}: {:?}, {} of {} steps done, {} failed.",
            summary.run_id, summary.status, summary.done, summary.changes, summary.failed
        );
    }
    if summary.status != RunStatus::Succeeded {
        return Err(Error::invalid(format!(
            "{} of {} import steps failed; see `okta365 runs show {}` for each step's error and fix, then run \
             the import again (its users are uploaded again).",
            summary.failed, summary.changes, summary.run_id
        )));
    }
    Ok(())
}

fn print_plan(plan: &ImportPlan) {
    print_plan_to(&mut std::io::stdout(), plan);
}

fn print_plan_to(out: &mut dyn Write, plan: &ImportPlan) {
    let _ = writeln!(
        out,
        "Import {} of source {}: {} records: {} to upload, {} to deactivate, {} unchanged, {} rejected.",
        plan.import_id,
        plan.source_name,
        plan.records,
        plan.active,
        plan.inactive,
        plan.unchanged,
        plan.rejected
    );
    let _ = writeln!(
        out,
        "{} session(s), {} bulk request(s), about {} s.",
        plan.sessions, plan.bulk_requests, plan.expected_secs
    );
    for id in &plan.stale_sessions {
        let _ = writeln!(out, "A stale session {id} (CREATED) is deleted first.");
    }
    if let Some(id) = &plan.active_session {
        let _ = writeln!(
            out,
            "Session {id} is being imported; this import waits for it."
        );
    }
    for r in plan.rejects.iter().take(10) {
        let _ = writeln!(
            out,
            "  rejected #{} {}: {}",
            r.position,
            r.external_id.as_deref().unwrap_or(""),
            r.reason
        );
    }
    if plan.rejected as usize > plan.rejects.len().min(10) {
        let _ = writeln!(
            out,
            "  … see every reject with `okta365 import rejects {} --csv`",
            plan.import_id
        );
    }
    if plan.stopped.is_some() {
        let _ = writeln!(out, "Stopped: too many rejects; nothing is uploaded.");
    }
    if let Some(g) = plan.deactivation_guard {
        let _ = writeln!(
            out,
            "Deactivates {} users, more than {}: confirm with --confirm-deactivations {}.",
            g.count, g.max, g.count
        );
    }
}

fn print_preview(p: &SourcePreview) {
    println!("Columns: {}", p.columns.join(", "));
    for row in &p.rows {
        let cells: Vec<String> = p
            .columns
            .iter()
            .map(|c| row.get(c).cloned().unwrap_or_default())
            .collect();
        println!("  {}", cells.join(" | "));
    }
    match p.total {
        Some(n) => println!("{n} record(s)."),
        None => println!("More pages follow."),
    }
    for problem in &p.problems {
        println!("Problem: {problem}");
    }
}

fn print_list(list: &[ImportSummary]) {
    if list.is_empty() {
        println!("No imports yet.");
        return;
    }
    for i in list {
        println!(
            "{}  {:<12} {:<11} {}  {}",
            i.import_id,
            i.source_name,
            format!("{:?}", i.status).to_lowercase(),
            i.created_at,
            i.outcome
        );
    }
}

#[cfg(test)]
mod tests {
    use super::parse_every;

    #[test]
    fn intervals() {
        assert_eq!(parse_every("60m"), Ok(60));
        assert_eq!(parse_every("2h"), Ok(120));
        assert_eq!(parse_every("15"), Ok(15));
        assert!(parse_every("0m").is_err());
        assert!(parse_every("soon").is_err());
    }
}
