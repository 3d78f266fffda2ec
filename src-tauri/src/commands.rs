//! The Tauri commands: each one calls the `Engine` method of the same name and maps its error to the
//! one [`ApiError`] that crosses IPC (docs/architecture.md, "The IPC contract"). No logic lives here.
//! When the engine could not open, every command answers with that start-up error ([`AppState`]).

use okta365_engine::{
    ApiError, AppInfo, ConnectionTest, CreateSandboxProfileRequest, CredentialInfo, CredentialKind,
    FieldCheck, FieldId, GeneratedKey, OperationId, OperationRequirement, Profile, Progress,
    SaveMicrosoftRequest, SaveOktaRequest, StepId,
};
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

#[tauri::command]
pub fn validate_field(
    app: State<'_, AppState>,
    field: FieldId,
    value: String,
) -> Answer<FieldCheck> {
    Ok(app.engine()?.validate_field(field, &value))
}

/// The operation → requirement table the connection steps explain.
#[tauri::command]
pub fn requirements(app: State<'_, AppState>) -> Answer<Vec<OperationRequirement>> {
    Ok(app.engine()?.requirements())
}

#[tauri::command]
pub async fn create_tenant_profile(app: State<'_, AppState>, name: String) -> Answer<Profile> {
    app.engine()?
        .create_tenant_profile(&name)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn save_microsoft(
    app: State<'_, AppState>,
    request: SaveMicrosoftRequest,
) -> Answer<Profile> {
    app.engine()?
        .save_microsoft(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn save_okta(app: State<'_, AppState>, request: SaveOktaRequest) -> Answer<Profile> {
    app.engine()?
        .save_okta(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn generate_okta_key(
    app: State<'_, AppState>,
    profile_id: String,
) -> Answer<GeneratedKey> {
    app.engine()?
        .generate_okta_key(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_operations(
    app: State<'_, AppState>,
    profile_id: String,
    operations: Vec<OperationId>,
) -> Answer<Profile> {
    app.engine()?
        .set_operations(&profile_id, operations)
        .await
        .map_err(ApiError::from)
}

/// Streams one report per check to `on_progress`.
#[tauri::command]
pub async fn test_microsoft(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<ConnectionTest> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .test_microsoft(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

/// Streams one report per check to `on_progress`.
#[tauri::command]
pub async fn test_okta(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<ConnectionTest> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .test_okta(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_credentials(app: State<'_, AppState>) -> Answer<Vec<CredentialInfo>> {
    app.engine()?
        .list_credentials()
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn delete_credential(
    app: State<'_, AppState>,
    profile_id: String,
    kind: CredentialKind,
) -> Answer<()> {
    app.engine()?
        .delete_credential(&profile_id, kind)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_credential_expiry(
    app: State<'_, AppState>,
    profile_id: String,
    kind: CredentialKind,
    expires_at: Option<String>,
) -> Answer<CredentialInfo> {
    app.engine()?
        .set_credential_expiry(&profile_id, kind, expires_at.as_deref())
        .await
        .map_err(ApiError::from)
}
