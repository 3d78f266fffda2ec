//! The Tauri commands: each one calls the `Engine` method of the same name and maps its error to the
//! one [`ApiError`] that crosses IPC (docs/architecture.md, "The IPC contract"). No logic lives here.
//! When the engine could not open, every command answers with that start-up error ([`AppState`]).

use okta365_engine::dto::{
    DueImport, ImportMapping, ImportPlan, ImportRequest, ImportSchedule, ImportSummary,
    MappedPreviewRow, SavedImport, Secret, SourcePreview, SourceSpec,
};
use okta365_engine::dto::{
    DueReport, LifecycleSettings, MailPreview, MailPreviewRequest, SeatPoint, Stage,
};
use okta365_engine::dto::{
    ExportFormat, GroupSetting, GroupsPlan, LicenseAssignment, LicensesView, MicrosoftAdmin,
    MicrosoftAppPlan, MicrosoftAppRequest, MicrosoftAppResult, MicrosoftSignIn,
    MicrosoftSignInRequest, OktaAppPlan, OktaAppRequest, OktaAppResult, PlanRunRequest,
    ProvisioningSettings, Review, RunDetail, RunFilter, RunPlan, RunSummary, TestRunRequest,
    TestRunResult, TriggerReport, UsernameFormat, UsernamePreview,
};
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

/// Opens a sign-in page or a portal link in the system browser; only https:// links, or http:// on
/// loopback (the sandbox), are opened.
#[tauri::command]
pub async fn open_in_browser(app: tauri::AppHandle, url: String) -> Answer<()> {
    use tauri_plugin_opener::OpenerExt as _;
    let url = okta365_engine::urls::validate_browser_url(&url).map_err(ApiError::from)?;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(|e| ApiError {
            code: okta365_engine::ErrorCode::Internal,
            message: format!(
                "The browser could not be opened ({e}). Copy the link and open it in a browser yourself."
            ),
            details: None,
        })
}

#[tauri::command]
pub async fn set_group_names(
    app: State<'_, AppState>,
    profile_id: String,
    groups: Vec<GroupSetting>,
) -> Answer<Profile> {
    app.engine()?
        .set_group_names(&profile_id, groups)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn plan_groups(app: State<'_, AppState>, profile_id: String) -> Answer<GroupsPlan> {
    app.engine()?
        .plan_groups(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn apply_groups(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<GroupsPlan> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .apply_groups(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn sync_licenses(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<LicensesView> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .sync_licenses(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_licenses(app: State<'_, AppState>, profile_id: String) -> Answer<LicensesView> {
    app.engine()?
        .list_licenses(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_license_assignments(
    app: State<'_, AppState>,
    profile_id: String,
    assignments: Vec<LicenseAssignment>,
) -> Answer<LicensesView> {
    app.engine()?
        .set_license_assignments(&profile_id, assignments)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_usage_location(
    app: State<'_, AppState>,
    profile_id: String,
    code: Option<String>,
) -> Answer<LicensesView> {
    app.engine()?
        .set_usage_location(&profile_id, code)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn review(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<Review> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .review(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

/// `request.apiToken` (a pasted one-time token) is used for this call only, never stored.
#[tauri::command]
pub async fn plan_okta_app(
    app: State<'_, AppState>,
    request: OktaAppRequest,
) -> Answer<OktaAppPlan> {
    app.engine()?
        .plan_okta_app(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn apply_okta_app(
    app: State<'_, AppState>,
    request: OktaAppRequest,
    on_progress: Channel<Progress>,
) -> Answer<OktaAppResult> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .apply_okta_app(request, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn forget_okta_api_token(
    app: State<'_, AppState>,
    profile_id: String,
) -> Answer<Profile> {
    app.engine()?
        .forget_okta_api_token(&profile_id)
        .await
        .map_err(ApiError::from)
}

/// The delegated sign-in of the Entra app setup: its token stays in the engine's memory, for this
/// setup only.
#[tauri::command]
pub async fn start_microsoft_sign_in(
    app: State<'_, AppState>,
    request: MicrosoftSignInRequest,
) -> Answer<MicrosoftSignIn> {
    app.engine()?
        .start_microsoft_sign_in(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn finish_microsoft_sign_in(
    app: State<'_, AppState>,
    session_id: String,
    on_progress: Channel<Progress>,
) -> Answer<MicrosoftAdmin> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .finish_microsoft_sign_in(&session_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn cancel_microsoft_sign_in(app: State<'_, AppState>, session_id: String) -> Answer<()> {
    app.engine()?
        .cancel_microsoft_sign_in(&session_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn plan_microsoft_app(
    app: State<'_, AppState>,
    request: MicrosoftAppRequest,
) -> Answer<MicrosoftAppPlan> {
    app.engine()?
        .plan_microsoft_app(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn apply_microsoft_app(
    app: State<'_, AppState>,
    request: MicrosoftAppRequest,
    on_progress: Channel<Progress>,
) -> Answer<MicrosoftAppResult> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .apply_microsoft_app(request, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn provisioning_settings(
    app: State<'_, AppState>,
    profile_id: String,
) -> Answer<ProvisioningSettings> {
    app.engine()?
        .provisioning_settings(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_provisioning_settings(
    app: State<'_, AppState>,
    profile_id: String,
    settings: ProvisioningSettings,
) -> Answer<ProvisioningSettings> {
    app.engine()?
        .set_provisioning_settings(&profile_id, settings)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn preview_usernames(
    app: State<'_, AppState>,
    profile_id: String,
    format: UsernameFormat,
) -> Answer<UsernamePreview> {
    app.engine()?
        .preview_usernames(&profile_id, format)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn plan_run(app: State<'_, AppState>, request: PlanRunRequest) -> Answer<RunPlan> {
    app.engine()?
        .plan_run(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn apply_run(
    app: State<'_, AppState>,
    run_id: String,
    confirm_destructive: Option<u32>,
    on_progress: Channel<Progress>,
) -> Answer<RunSummary> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .apply_run(&run_id, confirm_destructive, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn discard_run(app: State<'_, AppState>, run_id: String) -> Answer<()> {
    app.engine()?
        .discard_run(&run_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_runs(
    app: State<'_, AppState>,
    profile_id: String,
    filter: RunFilter,
) -> Answer<Vec<RunSummary>> {
    app.engine()?
        .list_runs(&profile_id, filter)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn run_detail(app: State<'_, AppState>, run_id: String) -> Answer<RunDetail> {
    app.engine()?
        .run_detail(&run_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn export_run(
    app: State<'_, AppState>,
    run_id: String,
    format: ExportFormat,
) -> Answer<String> {
    app.engine()?
        .export_run(&run_id, format)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn delete_run(app: State<'_, AppState>, run_id: String) -> Answer<()> {
    app.engine()?
        .delete_run(&run_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn resume_runs(
    app: State<'_, AppState>,
    on_progress: Channel<Progress>,
) -> Answer<Vec<RunSummary>> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .resume_runs(&forward)
        .await
        .map_err(ApiError::from)
}

/// Reads the Okta System Log from the saved cursor; membership and profile events of the configured
/// groups become runs (docs/provisioning.md, "Triggers").
#[tauri::command]
pub async fn poll_system_log(
    app: State<'_, AppState>,
    profile_id: String,
    on_progress: Channel<Progress>,
) -> Answer<TriggerReport> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .poll_system_log(&profile_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn reconcile(
    app: State<'_, AppState>,
    profile_id: String,
    operation: Option<OperationId>,
) -> Answer<Vec<RunSummary>> {
    app.engine()?
        .reconcile(&profile_id, operation)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn test_run(
    app: State<'_, AppState>,
    request: TestRunRequest,
    on_progress: Channel<Progress>,
) -> Answer<TestRunResult> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .test_run(request, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn cleanup_test_user(
    app: State<'_, AppState>,
    profile_id: String,
    okta_user_id: String,
) -> Answer<()> {
    app.engine()?
        .cleanup_test_user(&profile_id, &okta_user_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn lifecycle_settings(
    app: State<'_, AppState>,
    profile_id: String,
) -> Answer<LifecycleSettings> {
    app.engine()?
        .lifecycle_settings(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_lifecycle_settings(
    app: State<'_, AppState>,
    profile_id: String,
    settings: LifecycleSettings,
) -> Answer<LifecycleSettings> {
    app.engine()?
        .set_lifecycle_settings(&profile_id, settings)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn preview_manager_email(
    app: State<'_, AppState>,
    request: MailPreviewRequest,
) -> Answer<MailPreview> {
    app.engine()?
        .preview_manager_email(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_stages(
    app: State<'_, AppState>,
    profile_id: String,
    include_finished: bool,
) -> Answer<Vec<Stage>> {
    app.engine()?
        .list_stages(&profile_id, include_finished)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn cancel_stage(app: State<'_, AppState>, stage_id: i64) -> Answer<Stage> {
    app.engine()?
        .cancel_stage(stage_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn run_stage_now(
    app: State<'_, AppState>,
    stage_id: i64,
    on_progress: Channel<Progress>,
) -> Answer<RunSummary> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .run_stage_now(stage_id, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn run_due_stages(
    app: State<'_, AppState>,
    profile_id: Option<String>,
    on_progress: Channel<Progress>,
) -> Answer<DueReport> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .run_due_stages(profile_id.as_deref(), &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn plan_undo(app: State<'_, AppState>, run_id: String) -> Answer<RunPlan> {
    app.engine()?
        .plan_undo(&run_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn seat_history(
    app: State<'_, AppState>,
    profile_id: String,
    days: Option<u32>,
) -> Answer<Vec<SeatPoint>> {
    app.engine()?
        .seat_history(&profile_id, days)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn preview_source(
    app: State<'_, AppState>,
    profile_id: String,
    source: SourceSpec,
    source_name: Option<String>,
) -> Answer<SourcePreview> {
    app.engine()?
        .preview_source(&profile_id, source, source_name.as_deref())
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn suggest_mapping(
    app: State<'_, AppState>,
    profile_id: String,
    source: SourceSpec,
    source_name: Option<String>,
) -> Answer<ImportMapping> {
    app.engine()?
        .suggest_mapping(&profile_id, source, source_name.as_deref())
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn preview_mapping(
    app: State<'_, AppState>,
    profile_id: String,
    source: SourceSpec,
    mapping: ImportMapping,
    source_name: Option<String>,
) -> Answer<Vec<MappedPreviewRow>> {
    app.engine()?
        .preview_mapping(&profile_id, source, mapping, source_name.as_deref())
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn import_mapping(
    app: State<'_, AppState>,
    profile_id: String,
    source_name: String,
) -> Answer<Option<SavedImport>> {
    app.engine()?
        .import_mapping(&profile_id, &source_name)
        .await
        .map_err(ApiError::from)
}

/// Saves (`value`) or forgets (`null`) the auth header value of a saved HTTP source, in the OS
/// keychain; answers whether a value is saved. The value never comes back over IPC.
#[tauri::command]
pub async fn set_import_source_secret(
    app: State<'_, AppState>,
    profile_id: String,
    source_name: String,
    value: Option<Secret>,
) -> Answer<bool> {
    app.engine()?
        .set_import_source_secret(&profile_id, &source_name, value)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn save_import_mapping(
    app: State<'_, AppState>,
    profile_id: String,
    source_name: String,
    source: SourceSpec,
    mapping: ImportMapping,
) -> Answer<SavedImport> {
    app.engine()?
        .save_import_mapping(&profile_id, &source_name, source, mapping)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn plan_import(app: State<'_, AppState>, request: ImportRequest) -> Answer<ImportPlan> {
    app.engine()?
        .plan_import(request)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn apply_import(
    app: State<'_, AppState>,
    import_id: String,
    confirm_deactivations: Option<u32>,
    on_progress: Channel<Progress>,
) -> Answer<RunSummary> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .apply_import(&import_id, confirm_deactivations, &forward)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn import_rejects(app: State<'_, AppState>, import_id: String) -> Answer<String> {
    app.engine()?
        .import_rejects(&import_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn list_imports(
    app: State<'_, AppState>,
    profile_id: String,
) -> Answer<Vec<ImportSummary>> {
    app.engine()?
        .list_imports(&profile_id)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn set_import_schedule(
    app: State<'_, AppState>,
    profile_id: String,
    source_name: String,
    schedule: Option<ImportSchedule>,
) -> Answer<Option<ImportSchedule>> {
    app.engine()?
        .set_import_schedule(&profile_id, &source_name, schedule)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn import_schedule(
    app: State<'_, AppState>,
    profile_id: String,
    source_name: String,
) -> Answer<Option<ImportSchedule>> {
    app.engine()?
        .import_schedule(&profile_id, &source_name)
        .await
        .map_err(ApiError::from)
}

#[tauri::command]
pub async fn run_due_imports(
    app: State<'_, AppState>,
    profile_id: Option<String>,
    on_progress: Channel<Progress>,
) -> Answer<Vec<DueImport>> {
    let forward = |progress: &Progress| drop(on_progress.send(progress.clone()));
    app.engine()?
        .run_due_imports(profile_id.as_deref(), &forward)
        .await
        .map_err(ApiError::from)
}
