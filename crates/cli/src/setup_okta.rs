//! `okta365 setup okta-app`: create (or complete) the Okta API service app with a Super
//! Administrator's API token, read from stdin only (docs/setup.md "Create the Okta API service app
//! for the admin").

use std::io::{IsTerminal, Read, Write};

use clap::Args;
use okta365_engine::{
    Engine, Error, OktaAppPlan, OktaAppRequest, OktaTokenSource, PlanAction, Result,
};
use okta365_secrets::Secret;

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Args)]
pub struct OktaAppArgs {
    /// The app's label in Okta.
    #[arg(long, value_name = "NAME", default_value = "okta365")]
    name: String,
    /// Read a Super Administrator's Okta API token from stdin (used for this run only, never stored).
    /// Without it the profile's stored API token is used.
    #[arg(long)]
    api_token_stdin: bool,
    /// Only show the plan; write nothing.
    #[arg(long)]
    plan: bool,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Once the service app works, delete the profile's stored Okta API token from the OS keychain.
    #[arg(long)]
    forget_token: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

fn read_token() -> Result<Secret> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Error::invalid(format!("Could not read the API token from stdin ({e}).")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::invalid(
            "--api-token-stdin read nothing. Pipe the token in, e.g. `okta365 setup okta-app \
             --api-token-stdin < token.txt`.",
        ));
    }
    Ok(Secret::new(token))
}

pub async fn run(engine: &Engine, json: bool, args: OktaAppArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    let api_token = if args.api_token_stdin {
        Some(read_token()?)
    } else {
        None
    };
    let request = OktaAppRequest {
        profile_id: profile.id.clone(),
        api_token,
        app_name: args.name.clone(),
    };
    let plan = engine.plan_okta_app(request.clone()).await?;
    if args.plan {
        if json {
            print_json(&plan);
        } else {
            print_plan(&mut std::io::stdout(), &plan);
        }
        return Ok(());
    }
    if plan.changes > 0 && !args.yes {
        // stdin holds the token when it was piped in, so only a terminal can answer.
        if args.api_token_stdin || !std::io::stdin().is_terminal() {
            return Err(Error::invalid(format!(
                "Applying makes {} change(s) in Okta; nothing was changed. Review them with --plan, \
                 then run again with --yes.",
                plan.changes
            )));
        }
        print_plan(&mut std::io::stderr(), &plan);
        eprint!("Make these {} change(s) in Okta? [y/N] ", plan.changes);
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::invalid(format!("Could not read the answer ({e}).")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::Cancelled {
                message: "Nothing was changed in Okta.".into(),
            });
        }
    }
    let mut result = match progress_sink(json) {
        Some(sink) => engine.apply_okta_app(request, &sink).await?,
        None => engine.apply_okta_app(request, &()).await?,
    };
    if args.forget_token && result.api_token_stored {
        result.profile = engine.forget_okta_api_token(&result.profile.id).await?;
        result.api_token_stored = false;
    }
    if json {
        print_json(&result);
        return Ok(());
    }
    println!(
        "The Okta service app \"{}\" ({}) works: a {} token with {}.",
        result.plan.app_name,
        result.plan.client_id.as_deref().unwrap_or("?"),
        if result.dpop { "DPoP-bound" } else { "Bearer" },
        result.verified_scopes.join(", ")
    );
    println!(
        "Profile \"{}\" now connects to Okta with it.",
        result.profile.name
    );
    for warning in &result.plan.warnings {
        println!("warning: {warning}");
    }
    if result.api_token_stored {
        println!(
            "The profile's Okta API token is still in the OS keychain; delete it with `okta365 setup \
             okta-app --forget-token`."
        );
    }
    Ok(())
}

fn action(a: PlanAction) -> &'static str {
    match a {
        PlanAction::Create => "create",
        PlanAction::Exists => "exists",
        PlanAction::Update => "update",
        PlanAction::Keep => "keep",
    }
}

fn print_plan(out: &mut dyn Write, plan: &OktaAppPlan) {
    let source = match plan.token_source {
        OktaTokenSource::Pasted => "pasted, used for this run only",
        OktaTokenSource::Keychain => "the profile's stored token",
    };
    let _ = writeln!(out, "Okta admin:  {} ({source})", plan.admin);
    let _ = writeln!(
        out,
        "App:         {:<8} {}{}",
        action(plan.app),
        plan.app_name,
        plan.client_id
            .as_deref()
            .map(|c| format!("  {c}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Key:         {}", action(plan.key));
    let _ = writeln!(out, "Scopes:");
    for s in &plan.scopes {
        let _ = writeln!(
            out,
            "  {:<8} {:<30} {}",
            if s.granted { "granted" } else { "grant" },
            s.scope,
            s.reason
        );
    }
    let _ = writeln!(
        out,
        "Role:        {:<8} {}: {}",
        if plan.role_assigned {
            "assigned"
        } else {
            "assign"
        },
        plan.role,
        plan.role_reason
    );
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = if plan.changes == 0 {
        writeln!(out, "Nothing to change in Okta.")
    } else {
        writeln!(out, "{} change(s) to make in Okta.", plan.changes)
    };
}
