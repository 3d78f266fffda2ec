//! The Tauri commands: each one calls the `Engine` method of the same name and maps its error to the
//! one [`ApiError`] that crosses IPC (docs/architecture.md, "The IPC contract"). No logic lives here.
//! When the engine could not open, every command answers with that start-up error ([`AppState`]).

use okta365_engine::{ApiError, AppInfo, CreateSandboxProfileRequest, Profile, Progress, StepId};
use tauri::{State, ipc::Channel};

use crate::state::AppState;

/// What a command returns to the front end.
type Answer<T> = Result<T, ApiError>;

#[tauri::command]
pub async fn app_info(app: State<'_, AppState>) -> Answer<AppInfo> {
    app.engine()?.app_info().await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_profiles(app: State<'_, AppState>) -> Answer<Vec<Profile>> {
    app.engine()?.list_profiles().await.map_err(ApiError::from)
}

/// Streams the steps to `on_progress`, a channel that lives as long as this one call (a closed
/// window just drops the reports).
#[tauri::command]
pub async fn create_sandbox_profile(
    app: State<'_, AppState>,
    request: CreateSandboxProfileRequest,
    on_progress: Channel<Progress>,
) -> Answer<Profile> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .create_sandbox_profile(request, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn select_profile(app: State<'_, AppState>, id: String) -> Answer<Profile> {
    app.engine()?
        .select_profile(&id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn remove_profile(app: State<'_, AppState>, id: String) -> Answer<()> {
    app.engine()?
        .remove_profile(&id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_wizard_step(
    app: State<'_, AppState>,
    id: String,
    step: StepId,
) -> Answer<Profile> {
    app.engine()?
        .set_wizard_step(&id, step)
        .await
        .map_err(ApiError::from)
}
