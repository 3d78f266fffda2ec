//! The Tauri commands: each one calls the `Engine` method of the same name and maps its error to the
//! one [`ApiError`] that crosses IPC (docs/architecture.md, "The IPC contract"). No logic lives here.

use okta365_engine::{ApiError, AppInfo, CreateSandboxProfileRequest, Engine, Profile, StepId};
use tauri::State;

/// What a command returns to the front end.
type Answer<T> = Result<T, ApiError>;

#[tauri::command]
pub async fn app_info(engine: State<'_, Engine>) -> Answer<AppInfo> {
    engine.app_info().await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_profiles(engine: State<'_, Engine>) -> Answer<Vec<Profile>> {
    engine.list_profiles().await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn create_sandbox_profile(
    engine: State<'_, Engine>,
    request: CreateSandboxProfileRequest,
) -> Answer<Profile> {
    engine
        .create_sandbox_profile(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn select_profile(engine: State<'_, Engine>, id: String) -> Answer<Profile> {
    engine.select_profile(&id).await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn remove_profile(engine: State<'_, Engine>, id: String) -> Answer<()> {
    engine.remove_profile(&id).await.map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_wizard_step(
    engine: State<'_, Engine>,
    id: String,
    step: StepId,
) -> Answer<Profile> {
    engine
        .set_wizard_step(&id, step)
        .await
        .map_err(ApiError::from)
}
