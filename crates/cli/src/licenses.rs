//! `okta365 licenses sync|list|assign|usage-location`: the Licenses step (docs/setup.md "Licenses").

use clap::Subcommand;
use okta365_engine::{Engine, GroupRole, LicenseAssignment, LicensesView, Result};

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Subcommand)]
pub enum LicensesCommand {
    /// Read the Microsoft tenant's subscribed SKUs (GET /subscribedSkus) into the licenses table.
    Sync {
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Show the stored licenses, what each group role gets, the usage location and seat warnings
    /// (no network).
    List {
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Give a group role's members a SKU (replacing that SKU's disabled plans for the role).
    Assign {
        /// `assignments` or `guests`.
        #[arg(value_parser = parse_role)]
        role: GroupRole,
        /// The SKU part number, e.g. ENTERPRISEPACK (see `okta365 licenses list`).
        sku_part_number: String,
        /// A service plan of the SKU to leave disabled (name or id); repeat for more.
        #[arg(long = "disable", value_name = "PLAN")]
        disable: Vec<String>,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Seats used and bought per SKU over time (one point per SKU after each licensing run).
    History {
        /// Only the last N days.
        #[arg(long, value_name = "N")]
        days: Option<u32>,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Set the usage location given to users who have none (ISO 3166-1 alpha-2, e.g. US); `none`
    /// clears it.
    UsageLocation {
        /// The country code, or `none`.
        code: String,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
}

fn parse_role(value: &str) -> std::result::Result<GroupRole, String> {
    GroupRole::parse(value)
        .ok_or_else(|| format!("\"{value}\" is not a group role; use assignments or guests"))
}

pub async fn run(engine: &Engine, json: bool, command: LicensesCommand) -> Result<()> {
    let view = match command {
        LicensesCommand::History { days, profile } => {
            let target = target_profile(engine, profile.as_deref()).await?;
            let points = engine.seat_history(&target.id, days).await?;
            if json {
                print_json(&points);
            } else if points.is_empty() {
                println!("No seat history yet: it grows with each licensing run.");
            } else {
                println!(
                    "{:<26} {:<24} {:>8} {:>8}",
                    "taken at", "sku", "used", "bought"
                );
                for p in &points {
                    println!(
                        "{:<26} {:<24} {:>8} {:>8}",
                        p.taken_at, p.sku_part_number, p.consumed, p.enabled
                    );
                }
            }
            return Ok(());
        }
        LicensesCommand::Sync { profile } => {
            let target = target_profile(engine, profile.as_deref()).await?;
            match progress_sink(json) {
                Some(sink) => engine.sync_licenses(&target.id, &sink).await?,
                None => engine.sync_licenses(&target.id, &()).await?,
            }
        }
        LicensesCommand::List { profile } => {
            let target = target_profile(engine, profile.as_deref()).await?;
            engine.list_licenses(&target.id).await?
        }
        LicensesCommand::Assign {
            role,
            sku_part_number,
            disable,
            profile,
        } => {
            let target = target_profile(engine, profile.as_deref()).await?;
            let current = engine.list_licenses(&target.id).await?;
            let sku_id = current
                .licenses
                .iter()
                .find(|l| {
                    l.sku_part_number
                        .eq_ignore_ascii_case(sku_part_number.trim())
                })
                .map(|l| l.sku_id.clone())
                // Unknown part numbers go to the engine, which lists the known ones.
                .unwrap_or(sku_part_number);
            let mut assignments: Vec<LicenseAssignment> = current
                .assignments
                .into_iter()
                .filter(|a| !(a.role == role && a.sku_id == sku_id))
                .collect();
            assignments.push(LicenseAssignment {
                role,
                sku_id,
                disabled_plans: disable,
            });
            engine
                .set_license_assignments(&target.id, assignments)
                .await?
        }
        LicensesCommand::UsageLocation { code, profile } => {
            let target = target_profile(engine, profile.as_deref()).await?;
            let code = (!code.trim().eq_ignore_ascii_case("none")).then_some(code);
            engine.set_usage_location(&target.id, code).await?
        }
    };
    if json {
        print_json(&view);
    } else {
        print_view(&view);
    }
    Ok(())
}

fn print_view(view: &LicensesView) {
    match &view.refreshed_at {
        Some(at) => println!("refreshed at: {at}"),
        None => println!("refreshed at: never (run `okta365 licenses sync`)"),
    }
    if !view.licenses.is_empty() {
        println!(
            "{:<24} {:<40} {:>8} {:>8} {:>9}  status",
            "sku", "product", "enabled", "consumed", "available"
        );
    }
    for l in &view.licenses {
        println!(
            "{:<24} {:<40} {:>8} {:>8} {:>9}  {}",
            l.sku_part_number,
            l.product_name.as_deref().unwrap_or("-"),
            l.enabled,
            l.consumed,
            l.available,
            l.capability_status
        );
    }
    for a in &view.assignments {
        let part = view
            .licenses
            .iter()
            .find(|l| l.sku_id == a.sku_id)
            .map(|l| l.sku_part_number.as_str())
            .unwrap_or(a.sku_id.as_str());
        let disabled = if a.disabled_plans.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = a
                .disabled_plans
                .iter()
                .map(|id| {
                    view.licenses
                        .iter()
                        .flat_map(|l| &l.service_plans)
                        .find(|p| &p.service_plan_id == id)
                        .map(|p| p.service_plan_name.as_str())
                        .unwrap_or(id.as_str())
                })
                .collect();
            format!(" (disabled: {})", names.join(", "))
        };
        println!("assign: {} -> {part}{disabled}", a.role);
    }
    println!(
        "usage location: {}",
        view.usage_location.as_deref().unwrap_or("(not set)")
    );
    for w in &view.warnings {
        println!("warning: {}", w.message);
    }
}
