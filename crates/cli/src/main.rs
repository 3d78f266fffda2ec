//! # okta365 CLI
//!
//! The okta365 engine, headless: the same store, keychain and sandbox as the desktop app (both honour
//! `OKTA365_DATA_DIR`). Every command that returns data prints it as JSON with `--json` (a table or
//! `key: value` lines otherwise). Errors go to stderr as one `error: …` line and the exit code is 1
//! (2 for a malformed command line).

mod connect;
mod import;
mod licenses;
mod lifecycle;
mod output;
mod provisioning;
mod review;
mod run;
mod runs;
mod setup_groups;
mod setup_microsoft;
mod setup_okta;
mod watch;

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use okta365_engine::{CreateSandboxProfileRequest, Engine, Paths, Progress, ServeOptions};

/// okta365 connects an Okta org to Microsoft 365 / Entra ID. This is its command-line interface.
///
/// Data, logs and the sandbox tenant live in the data dir (OKTA365_DATA_DIR, or the platform's data
/// folder); secrets live in the OS keychain. Set OKTA365_LOG (e.g. `debug`) for more log output.
#[derive(Debug, Parser)]
#[command(name = "okta365", version, propagate_version = true)]
struct Cli {
    /// Print results as JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the version, build kind, data dir, log dir and active profile.
    Info,
    /// Manage profiles (one Okta org + one Microsoft tenant each).
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Run or reset the sandbox tenant of the data dir.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Connect a profile to its Microsoft tenant and Okta org, and test the connections.
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// The credentials kept in the OS keychain: list, delete, record expiry dates.
    #[command(subcommand)]
    Credentials(connect::CredentialsCommand),
    /// The guided setup: create the Okta groups, the Entra app registration and the Okta API service app.
    #[command(subcommand)]
    Setup(SetupCommand),
    /// The Microsoft licenses: read them from the tenant, choose what each group role gets, the default
    /// usage location.
    #[command(subcommand)]
    Licenses(licenses::LicensesCommand),
    /// Review what the profile is set to do and what is missing (live). Exits 1 when not ready.
    Review(review::ReviewArgs),
    /// Provisioning settings (username format, attribute mapping, guests, guard, intervals) and the
    /// username preview over the assignments group.
    #[command(subcommand)]
    Provisioning(provisioning::ProvisioningCommand),
    /// Plan and apply a provisioning run (member-accounts, profile-sync, guests); runs a crash left
    /// behind are resumed first. Applying asks for a confirmation (or --yes).
    Run(run::RunArgs),
    /// The run history: list, show, export, delete; resume runs a crash left running.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Provision from the Okta System Log: poll every pollIntervalSecs (membership and profile events
    /// become runs), reconcile every reconcileEveryMins, resume interrupted runs at start. SIGTERM or
    /// Ctrl-C stops it between rounds.
    Watch(watch::WatchArgs),
    /// Run one operation for one user (named, or a throwaway test user) and read the account back.
    TestRun(watch::TestRunArgs),
    /// The licensing lifecycle's settings: the delay before licenses are removed, signing out,
    /// the sender mailbox and the manager email templates (with a preview).
    #[command(subcommand)]
    Lifecycle(lifecycle::LifecycleCommand),
    /// The delayed stages (license removals of staged deactivations): list, cancel, run now, run due.
    #[command(subcommand)]
    Stages(lifecycle::StagesCommand),
    /// Import users into Okta from a CSV file or an HTTP JSON endpoint (Anything-as-a-Source).
    #[command(subcommand)]
    Import(import::ImportCommand),
}

#[derive(Debug, Subcommand)]
enum SetupCommand {
    /// Create the Okta groups that drive the operations (matched by exact name; a second run creates
    /// nothing). With --plan only show what would be created.
    Groups(setup_groups::GroupsArgs),
    /// Create (or complete) the Okta API service app with a Super Administrator's API token, read from
    /// stdin with --api-token-stdin (else the profile's stored one), then switch the profile to it.
    /// With --plan only show what would change.
    OktaApp(setup_okta::OktaAppArgs),
    /// Sign in as a Microsoft admin (a device code, or --browser), then create (or complete) the Entra
    /// app registration, grant its Graph permissions and switch the profile to it. The code and URL go
    /// to stderr; Ctrl-C cancels the sign-in. With --plan only show what would change.
    MicrosoftApp(setup_microsoft::MicrosoftAppArgs),
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Create a profile on a sandbox tenant, store its demo credentials in the OS keychain and make it
    /// the active profile.
    AddSandbox {
        /// The profile name (default "Sandbox", or "Sandbox 2", … when taken).
        name: Option<String>,
        /// The base URL of a sandbox served elsewhere, e.g. by `okta365 sandbox serve` (default: the data
        /// dir's own sandbox, started for the duration of this command if nothing serves it).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// Start without demo credentials, app registration or Okta connection, to try the automated
        /// setup (`okta365 setup microsoft-app`, `okta365 setup okta-app`) from scratch.
        #[arg(long)]
        blank: bool,
    },
    /// Create a profile for a real Okta org and Microsoft tenant and make it the active profile;
    /// connect it with `okta365 connect microsoft` and `okta365 connect okta`.
    AddTenant {
        /// The profile name.
        name: String,
    },
    /// List the profiles (`*` marks the active one).
    List,
    /// Show one profile, by name or id.
    Show {
        /// Profile name or id.
        name: String,
    },
    /// Make a profile the active one.
    Select {
        /// Profile name or id.
        name: String,
    },
    /// Remove a profile and delete its secrets from the OS keychain.
    Remove {
        /// Profile name or id.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum SandboxCommand {
    /// Serve the data dir's sandbox in the foreground until Ctrl-C.
    ///
    /// Prints exactly one JSON line on stdout with snake_case keys: okta_org_url, entra_login_url,
    /// graph_url, control_url, okta_api_token, entra_tenant_id, entra_tenant_domain, entra_client_id,
    /// entra_client_secret. The token and the client secret are freshly minted demo credentials of this
    /// sandbox tenant (printing them is the point of this command). The desktop app and other okta365
    /// commands using the same data dir attach to this server.
    Serve(ServeArgs),
    /// Restore the seed of the data dir's sandbox (users, groups, Microsoft tenant); it must not be running.
    Reset,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The loopback port to listen on (default: the previous one if free, else any free port).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// A seed JSON file (laid out like crates/sandbox/seed/demo.json) to start from when the data dir has
    /// no sandbox state yet, or with --reset.
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Discard the sandbox's current state and start again from the seed (--seed, or the demo seed).
    #[arg(long)]
    reset: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => return fail(&e.to_string()),
    };
    // The CLI still works without its log file; say why there is none.
    let _log_guard = match okta365_engine::logging::init(&paths, "okta365") {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("warning: {e}");
            None
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("Could not start the async runtime: {e}")),
    };
    let result = runtime.block_on(run(cli, paths));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    tracing::error!("{message}");
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Runs one command; the error is the message for stderr.
async fn run(cli: Cli, paths: Paths) -> Result<(), String> {
    if let Command::Sandbox(SandboxCommand::Reset) = &cli.command {
        okta365_sandbox::reset_local(&paths.sandbox_dir).map_err(|e| e.to_string())?;
        output::done(
            cli.json,
            &format!(
                "Restored the seed of the sandbox in {}.",
                paths.sandbox_dir.display()
            ),
        );
        return Ok(());
    }
    let engine = Engine::open(paths).await.map_err(|e| e.to_string())?;
    let result = dispatch(&engine, cli).await;
    // Stops a sandbox this command started (add-sandbox, select, serve), releasing the data dir's lock.
    engine.shutdown().await;
    result.map_err(|e| e.to_string())
}

async fn dispatch(engine: &Engine, cli: Cli) -> okta365_engine::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Info => output::info(json, &engine.app_info().await?),
        Command::Profile(command) => match command {
            ProfileCommand::AddSandbox { name, url, blank } => {
                let request = CreateSandboxProfileRequest {
                    name,
                    url,
                    blank: blank.then_some(true),
                };
                // Steps go to stderr for a person watching a terminal; scripts (--json, pipes) get
                // only the result and, on failure, the one error line.
                let profile = if !json && std::io::stderr().is_terminal() {
                    engine.create_sandbox_profile(request, &print_step).await?
                } else {
                    engine.create_sandbox_profile(request, &()).await?
                };
                let active = Some(profile.id.clone());
                output::profile(json, &profile, active.as_deref());
            }
            ProfileCommand::AddTenant { name } => {
                let profile = engine.create_tenant_profile(&name).await?;
                output::profile(json, &profile, Some(&profile.id));
            }
            ProfileCommand::List => {
                let profiles = engine.list_profiles().await?;
                let active = engine.app_info().await?.active_profile_id;
                output::profiles(json, &profiles, active.as_deref());
            }
            ProfileCommand::Show { name } => {
                let profile = engine.profile(&name).await?;
                let active = engine.app_info().await?.active_profile_id;
                output::profile(json, &profile, active.as_deref());
            }
            ProfileCommand::Select { name } => {
                let profile = engine.select_profile(&name).await?;
                output::profile(json, &profile, Some(&profile.id));
            }
            ProfileCommand::Remove { name } => {
                let profile = engine.profile(&name).await?;
                engine.remove_profile(&profile.id).await?;
                output::removed(json, &profile);
            }
        },
        Command::Sandbox(SandboxCommand::Serve(args)) => serve(engine, args).await?,
        Command::Connect(command) => {
            if !connect::connect(engine, json, command).await? {
                return Err(okta365_engine::Error::invalid(
                    "A connection check failed; its fix is shown with it above.",
                ));
            }
        }
        Command::Credentials(command) => connect::credentials(engine, json, command).await?,
        Command::Licenses(command) => licenses::run(engine, json, command).await?,
        Command::Provisioning(command) => provisioning::run(engine, json, command).await?,
        Command::Run(args) => run::run(engine, json, args).await?,
        Command::Runs(command) => runs::run(engine, json, command).await?,
        Command::Watch(args) => watch::watch(engine, json, args).await?,
        Command::TestRun(args) => watch::test_run(engine, json, args).await?,
        Command::Lifecycle(command) => lifecycle::run(engine, json, command).await?,
        Command::Stages(command) => lifecycle::stages(engine, json, command).await?,
        Command::Import(command) => import::run(engine, json, command).await?,
        Command::Review(args) => {
            if !review::run(engine, json, args).await? {
                return Err(okta365_engine::Error::invalid(
                    "The profile is not ready: see the missing items above.",
                ));
            }
        }
        Command::Setup(command) => match command {
            SetupCommand::Groups(args) => setup_groups::run(engine, json, args).await?,
            SetupCommand::OktaApp(args) => setup_okta::run(engine, json, args).await?,
            SetupCommand::MicrosoftApp(args) => setup_microsoft::run(engine, json, args).await?,
        },
        Command::Sandbox(SandboxCommand::Reset) => unreachable!("handled before the engine opens"),
    }
    Ok(())
}

/// Prints a step of a long command on stderr, as `[2/4] Creating demo credentials…`.
fn print_step(progress: &Progress) {
    if progress.step == okta365_engine::progress::DONE_STEP {
        return;
    }
    match progress.total {
        Some(total) => eprintln!("[{}/{total}] {}…", progress.done + 1, progress.message),
        None => eprintln!("{}…", progress.message),
    }
}

async fn serve(engine: &Engine, args: ServeArgs) -> okta365_engine::Result<()> {
    // Read the seed first: a bad file is the user's to fix, before anything changes on disk.
    let seed = args
        .seed
        .as_deref()
        .map(okta365_sandbox::Seed::from_file)
        .transpose()?;
    let options = ServeOptions {
        port: args.port,
        usual_port: None,
        seed,
        reset: args.reset,
    };
    let urls = engine.serve_local_sandbox(options).await?;
    let demo = okta365_sandbox::mint_demo_credentials(&urls.base).await?;
    output::serving(&urls, &demo);
    eprintln!(
        "Serving the sandbox of {} at {}. Press Ctrl-C to stop.",
        engine.paths().data_dir.display(),
        urls.base
    );
    wait_for_stop_signal().await;
    eprintln!("Stopping the sandbox.");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
