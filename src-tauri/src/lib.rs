//! # okta365 desktop app
//!
//! The Tauri v2 shell over the okta365 engine: it opens the [`Engine`](okta365_engine::Engine) for
//! the data dir (`OKTA365_DATA_DIR` or the platform default for this build's identifier), installs
//! logging, serves the Svelte front end built into `ui/dist`, and exposes one-line commands over the
//! engine. All behaviour lives in `crates/engine`; nothing here talks to Okta, Microsoft, SQLite or
//! the keychain.
//!
//! When the engine cannot open, the window opens anyway and shows why ([`AppState`]).

mod commands;
mod error;
mod state;

pub use error::{Error, Result};
pub use state::AppState;

use okta365_engine::Paths;
use tauri::RunEvent;

/// Starts the app and blocks until its window closes; returns the process exit code.
///
/// Fails before any window opens only when there is no display ([`Error::NoDisplay`]) or the window
/// cannot be created. An engine that cannot open is shown in the window instead.
pub fn run() -> Result<i32> {
    ensure_display()?;

    let paths = Paths::from_env();
    // Held until the event loop returns, so buffered log lines are flushed on exit.
    let _log_guard = okta365_engine::logging::init_or_stderr(paths.as_ref().ok(), "okta365-app");

    let state = tauri::async_runtime::block_on(AppState::open(paths));
    let engine = state.engine().ok().cloned();

    let mut context = tauri::generate_context!();
    // Debug builds run as a different app (com.okta365.app.dev), so their webview storage never
    // mixes with a release install's; the engine picks its data dir by the same rule.
    context.config_mut().identifier = okta365_engine::app_identifier().to_owned();

    let resume = engine.as_ref().map(|engine| {
        let sandbox = engine.resume();
        let engine = engine.clone();
        async move {
            // Runs a crash left half-applied are finished first thing, each started step checked
            // against the live state before it is written again (docs/provisioning.md).
            let _ = sandbox.await;
            match engine.resume_runs(&()).await {
                Ok(runs) if !runs.is_empty() => {
                    tracing::info!(runs = runs.len(), "resumed interrupted runs")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "interrupted runs could not be resumed"),
            }
            // Delayed stages that came due while the app was closed run now, reported as late
            // (docs/licensing.md); the front end runs the later ones every 15 s while it is open.
            match engine.run_due_stages(None, &()).await {
                Ok(report) if !report.ran.is_empty() => {
                    tracing::info!(
                        ran = report.ran.len(),
                        late = report.late.len(),
                        "ran due stages"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "due stages could not be run"),
            }
        }
    });
    let app = tauri::Builder::default()
        .manage(state)
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            // The active profile's embedded sandbox comes back in the background; commands that show
            // its URLs wait for it. A failure is logged by the engine and reported again by the next
            // command that needs the sandbox. Interrupted runs are resumed after it.
            if let Some(resume) = resume {
                tauri::async_runtime::spawn(resume);
            }
            // SIGTERM / Ctrl-C close the app the same way its window does, so the exit hook below
            // still stops the sandbox server this process owns.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                termination().await;
                tracing::info!("termination signal received, closing");
                handle.exit(0);
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_profiles,
            commands::create_sandbox_profile,
            commands::select_profile,
            commands::remove_profile,
            commands::set_wizard_step,
            commands::validate_field,
            commands::requirements,
            commands::create_tenant_profile,
            commands::save_microsoft,
            commands::save_okta,
            commands::generate_okta_key,
            commands::set_operations,
            commands::test_microsoft,
            commands::test_okta,
            commands::list_credentials,
            commands::delete_credential,
            commands::set_credential_expiry,
            commands::open_in_browser,
            commands::set_group_names,
            commands::plan_groups,
            commands::apply_groups,
            commands::sync_licenses,
            commands::list_licenses,
            commands::set_license_assignments,
            commands::set_usage_location,
            commands::review,
            commands::plan_okta_app,
            commands::apply_okta_app,
            commands::forget_okta_api_token,
            commands::start_microsoft_sign_in,
            commands::finish_microsoft_sign_in,
            commands::cancel_microsoft_sign_in,
            commands::plan_microsoft_app,
            commands::apply_microsoft_app,
            commands::provisioning_settings,
            commands::set_provisioning_settings,
            commands::preview_usernames,
            commands::plan_run,
            commands::apply_run,
            commands::discard_run,
            commands::list_runs,
            commands::run_detail,
            commands::export_run,
            commands::delete_run,
            commands::resume_runs,
            commands::poll_system_log,
            commands::reconcile,
            commands::test_run,
            commands::cleanup_test_user,
            commands::lifecycle_settings,
            commands::set_lifecycle_settings,
            commands::preview_manager_email,
            commands::list_stages,
            commands::cancel_stage,
            commands::run_stage_now,
            commands::run_due_stages,
            commands::plan_undo,
            commands::seat_history,
            commands::preview_source,
            commands::suggest_mapping,
            commands::preview_mapping,
            commands::import_mapping,
            commands::save_import_mapping,
            commands::set_import_source_secret,
            commands::plan_import,
            commands::apply_import,
            commands::import_rejects,
            commands::list_imports,
            commands::set_import_schedule,
            commands::run_due_imports,
            commands::import_schedule,
        ])
        .build(context)?;

    let code = app.run_return(move |_app, event| {
        if let RunEvent::Exit = event {
            // Stops a sandbox server this process owns, so the next start (app or CLI) finds the
            // data dir's sandbox free.
            if let Some(engine) = &engine {
                tauri::async_runtime::block_on(engine.shutdown());
            }
            tracing::info!("okta365 desktop app stopped");
        }
    });
    Ok(code)
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT); never, if the signals cannot be watched.
async fn termination() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// On Linux and the BSDs a webview needs X11 or Wayland; say so instead of letting GTK panic.
fn ensure_display() -> Result<()> {
    if cfg!(any(
        target_os = "windows",
        target_os = "macos",
        target_os = "ios",
        target_os = "android"
    )) {
        return Ok(());
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("DISPLAY") || set("WAYLAND_DISPLAY") {
        Ok(())
    } else {
        Err(Error::NoDisplay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_display_message_points_to_the_cli_and_exits_with_2() {
        let e = Error::NoDisplay;
        let message = e.to_string();
        assert!(
            message.contains("needs a graphical display"),
            "says what is missing: {message}"
        );
        assert!(
            message.contains("`okta365 --help`"),
            "points to the CLI: {message}"
        );
        assert_eq!(e.exit_code(), 2, "no display is a usage error, exit code 2");
    }
}
