//! `okta365 setup microsoft-app`: sign in as a Microsoft admin (device code, or the browser with a
//! loopback redirect), plan the Entra app registration, then create or complete it and switch the
//! profile to it (docs/setup.md "Create the Entra app registration for the admin").
//!
//! The sign-in lives in the engine's memory for this run only: the session is cancelled (and its
//! token forgotten) before the command returns, whatever happens.

use std::io::{IsTerminal, Write};

use clap::Args;
use okta365_engine::{
    AppCredentialChoice, Engine, Error, MicrosoftAdmin, MicrosoftAppPlan, MicrosoftAppRequest,
    MicrosoftSignIn, MicrosoftSignInRequest, PlanAction, Result, SignInMethod,
};

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Args)]
pub struct MicrosoftAppArgs {
    /// Sign in with the browser (a redirect to this computer) instead of a device code.
    #[arg(long)]
    browser: bool,
    /// The tenant to sign in to (id or domain; default: the profile's, else `organizations`).
    #[arg(long, value_name = "T")]
    tenant: Option<String>,
    /// The public client to sign in with (default: Microsoft Graph Command Line Tools).
    #[arg(long, value_name = "ID")]
    public_client_id: Option<String>,
    /// The app registration's display name.
    #[arg(long, value_name = "NAME", default_value = "okta365")]
    name: String,
    /// Give the app a certificate generated on this computer (private key to the OS keychain)
    /// instead of a client secret.
    #[arg(long)]
    certificate: bool,
    /// The lifetime of a new secret or certificate, in months (1 to 24).
    #[arg(long, value_name = "N", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=24))]
    months: u32,
    /// Sign in and only show the plan; write nothing.
    #[arg(long)]
    plan: bool,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

pub async fn run(engine: &Engine, json: bool, args: MicrosoftAppArgs) -> Result<()> {
    let profile = target_profile(engine, args.profile.as_deref()).await?;
    if args.name.trim().is_empty() {
        return Err(Error::invalid(
            "--name is empty; give the app registration a name, e.g. --name okta365.",
        ));
    }
    // Refuse before the admin signs in for nothing: only a terminal can answer the question.
    if !args.plan && !args.yes && !std::io::stdin().is_terminal() {
        return Err(Error::invalid(
            "Applying needs a confirmation and standard input is not a terminal; nothing was changed. \
             Review the changes with --plan, then run again with --yes.",
        ));
    }
    let started = engine
        .start_microsoft_sign_in(MicrosoftSignInRequest {
            profile_id: profile.id.clone(),
            method: if args.browser {
                SignInMethod::Browser
            } else {
                SignInMethod::DeviceCode
            },
            tenant: args.tenant.clone(),
            public_client_id: args.public_client_id.clone(),
        })
        .await?;
    let session = started.session_id.clone();
    let result = signed_in_run(engine, json, &args, &profile.id, &started).await;
    // The delegated token is for this run only.
    let _ = engine.cancel_microsoft_sign_in(&session).await;
    result
}

async fn signed_in_run(
    engine: &Engine,
    json: bool,
    args: &MicrosoftAppArgs,
    profile_id: &str,
    started: &MicrosoftSignIn,
) -> Result<()> {
    show_sign_in(started);
    let admin = wait_for_sign_in(engine, json, &started.session_id).await?;
    show_admin(&admin);

    let months = args.months;
    let request = MicrosoftAppRequest {
        profile_id: profile_id.to_owned(),
        session_id: started.session_id.clone(),
        app_name: args.name.trim().to_owned(),
        credential: if args.certificate {
            AppCredentialChoice::Certificate {
                lifetime_months: months,
            }
        } else {
            AppCredentialChoice::Secret {
                lifetime_months: months,
            }
        },
    };
    let plan = engine.plan_microsoft_app(request.clone()).await?;
    if args.plan {
        if json {
            print_json(&plan);
        } else {
            print_plan(&mut std::io::stdout(), &plan);
        }
        return Ok(());
    }
    if plan.changes > 0 && !args.yes {
        // `run` refused already when stdin is not a terminal.
        print_plan(&mut std::io::stderr(), &plan);
        eprint!(
            "Make these {} change(s) in Microsoft Entra ID? [y/N] ",
            plan.changes
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Error::invalid(format!("Could not read the answer ({e}).")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(Error::Cancelled {
                message: "Nothing was changed in Microsoft Entra ID.".into(),
            });
        }
    }
    let result = match progress_sink(json) {
        Some(sink) => engine.apply_microsoft_app(request, &sink).await?,
        None => engine.apply_microsoft_app(request, &()).await?,
    };
    if json {
        print_json(&result);
        return Ok(());
    }
    println!(
        "The app registration \"{}\" ({}) works: its token carries {}.",
        result.plan.app_name,
        result.plan.app_id.as_deref().unwrap_or("?"),
        if result.token_roles.is_empty() {
            "no role".to_owned()
        } else {
            result.token_roles.join(", ")
        }
    );
    println!(
        "Profile \"{}\" now connects to Microsoft with it; check it with `okta365 connect test --microsoft`.",
        result.profile.name
    );
    for warning in &result.plan.warnings {
        println!("warning: {warning}");
    }
    Ok(())
}

/// What the admin has to do, on stderr at once (stdout is for the plan or the result).
fn show_sign_in(started: &MicrosoftSignIn) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", started.message);
    if let (Some(code), Some(uri)) = (&started.user_code, &started.verification_uri) {
        let _ = writeln!(err, "  Code: {code}");
        let _ = writeln!(err, "  Open: {uri}");
    }
    if let Some(url) = &started.authorize_url {
        let _ = writeln!(err, "  Open: {url}");
        if std::io::stderr().is_terminal() && open_in_browser(url) {
            let _ = writeln!(err, "  (opened in the system browser)");
        }
    }
    // RFC 3339 to the second is enough for a person.
    let until = match started.expires_at.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => started.expires_at.clone(),
    };
    let _ = writeln!(
        err,
        "Waiting for the sign-in (until {until}; Ctrl-C cancels)…"
    );
    let _ = err.flush();
}

/// Waits for the admin; Ctrl-C cancels the sign-in (the engine closes the loopback listener).
async fn wait_for_sign_in(engine: &Engine, json: bool, session_id: &str) -> Result<MicrosoftAdmin> {
    let finish = async {
        match progress_sink(json) {
            Some(sink) => engine.finish_microsoft_sign_in(session_id, &sink).await,
            None => engine.finish_microsoft_sign_in(session_id, &()).await,
        }
    };
    tokio::select! {
        admin = finish => admin,
        _ = tokio::signal::ctrl_c() => {
            let _ = engine.cancel_microsoft_sign_in(session_id).await;
            Err(Error::Cancelled { message: "The Microsoft sign-in was cancelled; nothing was changed.".into() })
        }
    }
}

fn show_admin(admin: &MicrosoftAdmin) {
    let tenant = match &admin.tenant_name {
        Some(name) => format!("{name} ({})", admin.tenant_id),
        None => admin.tenant_id.clone(),
    };
    let roles = if admin.roles.is_empty() {
        "no directory role".to_owned()
    } else {
        admin.roles.join(", ")
    };
    eprintln!("Signed in as {} to {tenant}: {roles}.", admin.account);
}

/// Opens `url` with the system's browser opener when there is an obvious one; true when started.
fn open_in_browser(url: &str) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        std::process::Command::new("xdg-open")
    } else {
        return false;
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

fn action(a: PlanAction) -> &'static str {
    match a {
        PlanAction::Create => "create",
        PlanAction::Exists => "exists",
        PlanAction::Update => "update",
        PlanAction::Keep => "keep",
    }
}

fn print_plan(out: &mut dyn Write, plan: &MicrosoftAppPlan) {
    let _ = writeln!(
        out,
        "App:               {:<8} {}{}",
        action(plan.app),
        plan.app_name,
        plan.app_id
            .as_deref()
            .map(|id| format!("  {id}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Service principal: {}", action(plan.service_principal));
    let (kind, months) = match plan.credential {
        AppCredentialChoice::Secret { lifetime_months } => ("client secret", lifetime_months),
        AppCredentialChoice::Certificate { lifetime_months } => ("certificate", lifetime_months),
    };
    let _ = writeln!(
        out,
        "Credential:        {:<8} {kind}, {months} months: {}",
        action(plan.credential_action),
        plan.credential_note
    );
    let _ = writeln!(out, "Graph permissions:");
    for p in &plan.permissions {
        let operations: Vec<String> = p.operations.iter().map(|o| o.to_string()).collect();
        let _ = writeln!(
            out,
            "  {:<8} {:<34} {}",
            if p.granted { "granted" } else { "grant" },
            p.value,
            operations.join(", ")
        );
    }
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    let _ = if plan.changes == 0 {
        writeln!(out, "Nothing to change in Microsoft Entra ID.")
    } else {
        writeln!(
            out,
            "{} change(s) to make in Microsoft Entra ID.",
            plan.changes
        )
    };
}
