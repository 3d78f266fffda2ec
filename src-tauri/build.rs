//! Build script: embeds tauri.conf.json and the capabilities, and generates the command permissions.

// Declaring the app's commands makes Tauri generate an `allow-<command>` permission for each one, so
// capabilities/default.json can grant exactly the commands the front end calls and nothing else.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_profiles",
    "create_sandbox_profile",
    "select_profile",
    "remove_profile",
    "set_wizard_step",
    "validate_field",
    "requirements",
    "create_tenant_profile",
    "save_microsoft",
    "save_okta",
    "generate_okta_key",
    "set_operations",
    "test_microsoft",
    "test_okta",
    "list_credentials",
    "delete_credential",
    "set_credential_expiry",
    "open_in_browser",
    "set_group_names",
    "plan_groups",
    "apply_groups",
    "sync_licenses",
    "list_licenses",
    "set_license_assignments",
    "set_usage_location",
    "review",
    "plan_okta_app",
    "apply_okta_app",
    "forget_okta_api_token",
    "start_microsoft_sign_in",
    "finish_microsoft_sign_in",
    "cancel_microsoft_sign_in",
    "plan_microsoft_app",
    "apply_microsoft_app",
    "provisioning_settings",
    "set_provisioning_settings",
    "preview_usernames",
    "plan_run",
    "apply_run",
    "discard_run",
    "list_runs",
    "run_detail",
    "export_run",
    "delete_run",
    "resume_runs",
    "poll_system_log",
    "reconcile",
    "test_run",
    "cleanup_test_user",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed: check src-tauri/tauri.conf.json and src-tauri/capabilities/");
}
