//! `okta365 setup groups`: plan or create the Okta groups that drive the operations (docs/setup.md
//! "Groups").

use std::io::IsTerminal;

use clap::Args;
use okta365_engine::{
    Engine, Error, GroupAction, GroupRole, GroupSetting, GroupsPlan, Profile, Progress, Result,
};
use serde::Serialize;

#[derive(Debug, Args)]
pub struct GroupsArgs {
    /// Only show the plan (what would be created, what exists); write nothing.
    #[arg(long)]
    plan: bool,
    /// The name of the group whose members get a licensed Microsoft 365 account.
    #[arg(long, value_name = "NAME")]
    assignments: Option<String>,
    /// The name of the group whose members get a guest account.
    #[arg(long, value_name = "NAME")]
    guests: Option<String>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

/// The profile named, or the active one.
pub async fn target_profile(engine: &Engine, name: Option<&str>) -> Result<Profile> {
    if let Some(name) = name {
        return engine.profile(name).await;
    }
    match engine.app_info().await?.active_profile_id {
        Some(id) => engine.profile(&id).await,
        None => Err(Error::invalid(
            "No profile is active. Create one with `okta365 profile add-tenant NAME` (or `okta365 \
             profile add-sandbox`), or name one with --profile.",
        )),
    }
}

/// Prints a DTO as pretty JSON.
pub fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("DTOs serialize")
    );
}

/// Prints a step of a long command on stderr, as `[2/4] Creating …`, when a person watches.
pub fn progress_sink(json: bool) -> Option<impl Fn(&Progress) + Send + Sync> {
    (!json && std::io::stderr().is_terminal()).then_some(|p: &Progress| {
        if p.step == okta365_engine::progress::DONE_STEP {
            return;
        }
        match p.total {
            Some(total) => eprintln!("[{}/{total}] {}…", p.done + 1, p.message),
            None => eprintln!("{}…", p.message),
        }
    })
}

pub async fn run(engine: &Engine, json: bool, args: GroupsArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    let mut names = Vec::new();
    if let Some(name) = args.assignments {
        names.push(GroupSetting {
            role: GroupRole::Assignments,
            name,
        });
    }
    if let Some(name) = args.guests {
        names.push(GroupSetting {
            role: GroupRole::Guests,
            name,
        });
    }
    if !names.is_empty() {
        engine.set_group_names(&profile.id, names).await?;
    }
    let plan = if args.plan {
        engine.plan_groups(&profile.id).await?
    } else {
        match progress_sink(json) {
            Some(sink) => engine.apply_groups(&profile.id, &sink).await?,
            None => engine.apply_groups(&profile.id, &()).await?,
        }
    };
    if json {
        print_json(&plan);
    } else {
        print_plan(&plan, args.plan);
    }
    Ok(())
}

fn print_plan(plan: &GroupsPlan, planning: bool) {
    for item in &plan.items {
        let what = match (item.action, &item.group_id) {
            (GroupAction::Create, _) => "create".to_owned(),
            (GroupAction::Exists, Some(id)) => format!(
                "exists  {id}  {} members",
                item.member_count.unwrap_or_default()
            ),
            (GroupAction::Exists, None) => "exists".to_owned(),
        };
        println!("{:<12} {:<32} {what}", item.role.to_string(), item.name);
    }
    let creates = plan.changes();
    if planning {
        if creates == 0 {
            println!("Nothing to create: every group exists.");
        } else {
            println!(
                "{creates} group{} to create. Run `okta365 setup groups` to create {}.",
                if creates == 1 { "" } else { "s" },
                if creates == 1 { "it" } else { "them" }
            );
        }
    } else {
        println!("The groups are ready.");
    }
}
