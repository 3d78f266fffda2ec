//! `okta365 run member-accounts|profile-sync|guests|licenses|deactivation|activation`: plan a run of one
//! operation for every member (or
//! the users named with --user), show it, then apply it after a confirmation (--yes, or a terminal
//! prompt). Runs left `running` by a crash are resumed first. With --plan only the plan is shown and
//! stored (to apply later from the app); nothing is written to the tenant.

use std::io::{IsTerminal, Write};

use clap::{Args, ValueEnum};
use okta365_engine::{
    ChangeKind, Engine, Error, OperationId, PlanRunRequest, PlannedChange, Result, RunPlan,
    RunStatus, RunSummary, RunTrigger,
};
use serde::Serialize;

use crate::setup_groups::{print_json, progress_sink, target_profile};

/// The operations `okta365 run` plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunOperation {
    /// Create or link a Microsoft account for each member of the assignments group.
    MemberAccounts,
    /// Copy the mapped Okta attributes to the linked Microsoft accounts.
    ProfileSync,
    /// Invite or link the members of the guests group as guests; remove guests who left it.
    Guests,
    /// Assign the group's licenses to the linked members (usage location, seats and inherited
    /// licenses checked per user first).
    Licenses,
    /// Staged deactivation of users who left the assignments group: block sign-in, sign out, save
    /// their licenses, email the manager, and schedule the license removal after the delay.
    Deactivation,
    /// Users back in the assignments group: allow sign-in, restore their own licenses, email the
    /// manager, cancel a pending license removal.
    Activation,
}

impl RunOperation {
    fn id(self) -> OperationId {
        match self {
            RunOperation::MemberAccounts => OperationId::MemberAccounts,
            RunOperation::ProfileSync => OperationId::ProfileSync,
            RunOperation::Guests => OperationId::Guests,
            RunOperation::Licenses => OperationId::Licenses,
            RunOperation::Deactivation => OperationId::Deactivation,
            RunOperation::Activation => OperationId::Activation,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The operation.
    #[arg(value_enum)]
    operation: RunOperation,
    /// Only this Okta user (login or id); repeat for several. Default: every member.
    #[arg(long = "user", value_name = "LOGIN")]
    users: Vec<String>,
    /// Only plan: show (and store) the plan; write nothing.
    #[arg(long)]
    plan: bool,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Confirm a plan the blast-radius guard stopped: the number of destructive changes it shows.
    #[arg(long, value_name = "N")]
    confirm_destructive: Option<u32>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunOutput<'a> {
    resumed: &'a [RunSummary],
    plan: &'a RunPlan,
    result: Option<&'a RunSummary>,
}

pub async fn run(engine: &Engine, json: bool, args: RunArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    if !args.plan && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "Applying needs a confirmation and standard input is not a terminal; nothing was changed. \
             Review the changes with --plan, then run again with --yes.",
        ));
    }
    // A run a crash left behind is finished first, so this plan starts from a settled state.
    let resumed = match progress_sink(json) {
        Some(sink) => engine.resume_runs(&sink).await?,
        None => engine.resume_runs(&()).await?,
    };
    if !json {
        for r in &resumed {
            eprintln!(
                "Resumed run {} ({}): {:?}, {} done, {} failed.",
                r.run_id,
                r.operation.as_str(),
                r.status,
                r.done,
                r.failed
            );
        }
    }
    let plan = engine
        .plan_run(PlanRunRequest {
            profile_id: profile.id.clone(),
            operation: args.operation.id(),
            users: (!args.users.is_empty()).then(|| args.users.clone()),
            trigger: RunTrigger::Manual,
        })
        .await?;
    let hint = format!("okta365 run {} --yes", cli_name(args.operation));
    apply_planned(
        engine,
        json,
        &resumed,
        plan,
        Confirm {
            plan_only: args.plan,
            yes: args.yes,
            confirm_destructive: args.confirm_destructive,
            apply_hint: &hint,
        },
    )
    .await
}

/// How `apply_planned` confirms.
pub(crate) struct Confirm<'a> {
    /// Only show (and keep) the plan.
    pub plan_only: bool,
    /// Apply without asking.
    pub yes: bool,
    /// The guard's count, typed back.
    pub confirm_destructive: Option<u32>,
    /// The command that applies the plan, for the message after --plan.
    pub apply_hint: &'a str,
}

/// Shows a stored plan and applies it after the confirmation: `okta365 run` and `okta365 runs undo`.
pub(crate) async fn apply_planned(
    engine: &Engine,
    json: bool,
    resumed: &[RunSummary],
    plan: RunPlan,
    confirm: Confirm<'_>,
) -> Result<()> {
    let nothing = plan.changes.is_empty();
    if confirm.plan_only || nothing {
        if json {
            print_json(&RunOutput {
                resumed,
                plan: &plan,
                result: None,
            });
        } else {
            print_plan(&mut std::io::stdout(), &plan);
            if nothing {
                println!("Nothing to change.");
            } else {
                println!(
                    "Planned as run {}. Apply it with `{}`{}.",
                    plan.run_id,
                    confirm.apply_hint,
                    plan.guard
                        .as_ref()
                        .map(|g| format!(" --confirm-destructive {}", g.destructive))
                        .unwrap_or_default()
                );
            }
        }
        if nothing && !confirm.plan_only {
            engine.discard_run(&plan.run_id).await.ok();
        }
        return Ok(());
    }
    if let Some(stop) = &plan.guard
        && confirm.confirm_destructive != Some(stop.destructive)
    {
        if !json {
            print_plan(&mut std::io::stderr(), &plan);
        }
        engine.discard_run(&plan.run_id).await.ok();
        return Err(match confirm.confirm_destructive {
            None => Error::invalid(format!(
                "{} Nothing was changed; run again with --confirm-destructive {}.",
                stop.message, stop.destructive
            )),
            Some(n) => Error::invalid(format!(
                "--confirm-destructive {n} does not match the {} destructive changes of this plan; nothing \
                 was changed.",
                stop.destructive
            )),
        });
    }
    if !confirm.yes {
        print_plan(&mut std::io::stderr(), &plan);
        eprint!(
            "Make these {} change(s) in Microsoft 365? [y/N] ",
            plan.changes.len()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::invalid(format!("Could not read the answer ({e}).")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            engine.discard_run(&plan.run_id).await.ok();
            return Err(Error::Cancelled {
                message: "Nothing was changed in Microsoft 365.".into(),
            });
        }
    }
    let summary = match progress_sink(json) {
        Some(sink) => {
            engine
                .apply_run(&plan.run_id, confirm.confirm_destructive, &sink)
                .await?
        }
        None => {
            engine
                .apply_run(&plan.run_id, confirm.confirm_destructive, &())
                .await?
        }
    };
    if json {
        print_json(&RunOutput {
            resumed,
            plan: &plan,
            result: Some(&summary),
        });
    } else {
        print_summary(&summary);
    }
    if summary.status != RunStatus::Succeeded {
        return Err(Error::invalid(format!(
            "{} of {} changes failed; see `okta365 runs show {}` for each step's error and fix.",
            summary.failed, summary.changes, summary.run_id
        )));
    }
    Ok(())
}

fn cli_name(op: RunOperation) -> &'static str {
    match op {
        RunOperation::MemberAccounts => "member-accounts",
        RunOperation::ProfileSync => "profile-sync",
        RunOperation::Guests => "guests",
        RunOperation::Licenses => "licenses",
        RunOperation::Deactivation => "deactivation",
        RunOperation::Activation => "activation",
    }
}

fn kind_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::CreateUser => "create",
        ChangeKind::LinkUser => "link",
        ChangeKind::UpdateUser => "update",
        ChangeKind::InviteGuest => "invite",
        ChangeKind::LinkGuest => "link guest",
        ChangeKind::DeleteUser => "delete",
        ChangeKind::DisableUser => "disable",
        ChangeKind::EnableUser => "enable",
        ChangeKind::SetUsageLocation => "location",
        ChangeKind::AssignLicense => "license +",
        ChangeKind::RemoveLicenses => "license −",
        ChangeKind::RevokeSessions => "sign out",
        ChangeKind::SnapshotLicenses => "snapshot",
        ChangeKind::EmailManager => "email",
        ChangeKind::ScheduleStage => "schedule",
        ChangeKind::CancelStage => "unschedule",
        ChangeKind::DeleteSession => "del session",
        ChangeKind::CreateSession => "session",
        ChangeKind::BulkUpsert => "upsert",
        ChangeKind::BulkDelete => "deactivate",
        ChangeKind::StartImport => "start",
        ChangeKind::AwaitSession => "await",
    }
}

/// The particulars of a licensing-lifecycle change in words (docs/licensing.md, `detail`).
fn detail_words(c: &PlannedChange) -> Option<String> {
    let detail = c.detail.as_ref()?;
    let skus = |key: &str| -> Option<String> {
        let list = detail.get(key)?.as_array()?;
        Some(
            list.iter()
                .map(|l| {
                    let name = l
                        .get("skuPartNumber")
                        .and_then(|v| v.as_str())
                        .or_else(|| l.get("skuId").and_then(|v| v.as_str()))
                        .unwrap_or("?");
                    let disabled = l
                        .get("disabledPlanNames")
                        .or_else(|| l.get("disabledPlans"))
                        .and_then(|v| v.as_array())
                        .map(|a| a.iter().filter_map(|p| p.as_str()).collect::<Vec<_>>())
                        .unwrap_or_default();
                    if disabled.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{name} without {}", disabled.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    let text = |key: &str| detail.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    match c.kind {
        ChangeKind::AssignLicense => skus("add").map(|s| format!("add {s}")),
        ChangeKind::RemoveLicenses => skus("remove").map(|s| format!("remove {s}")),
        ChangeKind::EmailManager => Some(format!(
            "{} email: {}",
            text("stage").unwrap_or_default(),
            text("subject").unwrap_or_default()
        )),
        ChangeKind::ScheduleStage => text("dueAt").map(|d| format!("licenses removed at {d}")),
        ChangeKind::CancelStage => text("dueAt").map(|d| format!("was due {d}")),
        _ => None,
    }
}

pub(crate) fn print_plan(out: &mut dyn Write, plan: &RunPlan) {
    for c in &plan.changes {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}: {} → {}",
                    f.field,
                    f.from.as_deref().unwrap_or("∅"),
                    f.to.as_deref().unwrap_or("∅")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{:>4}  {:<10} {:<36} {}{}",
            c.seq,
            kind_word(c.kind),
            c.user_label,
            c.target,
            if let Some(words) = detail_words(c) {
                format!("  ({words})")
            } else if fields.is_empty() || c.kind == ChangeKind::CreateUser {
                String::new()
            } else {
                format!("  ({})", fields.join(", "))
            }
        );
    }
    for s in &plan.skipped {
        let _ = writeln!(
            out,
            "{:>4}  {:<10} {:<36} {}",
            s.seq,
            "skipped",
            s.user_label,
            s.warning.as_deref().unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "{} change(s), {} skipped.",
        plan.changes.len(),
        plan.skipped.len()
    );
    if let Some(g) = &plan.guard {
        let _ = writeln!(out, "Guard: {}", g.message);
    }
}

pub(crate) fn print_summary(s: &RunSummary) {
    println!(
        "Run {} {}: {} of {} change(s) done, {} failed{}.",
        s.run_id,
        s.status.as_str_word(),
        s.done,
        s.changes,
        s.failed,
        s.duration_ms
            .map(|d| format!(" in {:.1} s", d as f64 / 1000.0))
            .unwrap_or_default()
    );
}

trait StatusWord {
    fn as_str_word(&self) -> &'static str;
}

impl StatusWord for RunStatus {
    fn as_str_word(&self) -> &'static str {
        match self {
            RunStatus::Planned => "planned",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Partial => "partly failed",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Discarded => "discarded",
        }
    }
}
