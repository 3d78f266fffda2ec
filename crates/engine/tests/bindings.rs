//! The TypeScript bindings in `ui/src/lib/ipc/bindings/` must match the Rust DTOs.
//!
//! Regenerate them after changing a DTO with:
//!
//! ```sh
//! UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings
//! ```
//!
//! The same command rewrites `ui/src/test/requirements.ts`, the operation → requirement table the
//! front end's fake engine serves, so its unit tests run on the engine's real table.

use std::{collections::BTreeMap, path::PathBuf};

use okta365_engine::dto::*;
use ts_rs::{Config, TS};

/// Every type exported to TypeScript, by file stem.
fn rendered() -> BTreeMap<String, String> {
    fn render<T: TS + 'static>(cfg: &Config, out: &mut BTreeMap<String, String>) {
        let code = T::export_to_string(cfg).expect("ts-rs renders every DTO");
        out.insert(T::ident(cfg), code);
    }
    let cfg = Config::new();
    let mut out = BTreeMap::new();
    render::<BuildKind>(&cfg, &mut out);
    render::<StepId>(&cfg, &mut out);
    render::<ProfileKind>(&cfg, &mut out);
    render::<AppInfo>(&cfg, &mut out);
    render::<Profile>(&cfg, &mut out);
    render::<CreateSandboxProfileRequest>(&cfg, &mut out);
    render::<ErrorCode>(&cfg, &mut out);
    render::<ApiError>(&cfg, &mut out);
    render::<Progress>(&cfg, &mut out);
    render::<MicrosoftConnection>(&cfg, &mut out);
    render::<MicrosoftCredentialKind>(&cfg, &mut out);
    render::<OktaConnection>(&cfg, &mut out);
    render::<OktaAuthKind>(&cfg, &mut out);
    render::<OperationId>(&cfg, &mut out);
    render::<OperationRequirement>(&cfg, &mut out);
    render::<FieldId>(&cfg, &mut out);
    render::<FieldCheck>(&cfg, &mut out);
    render::<MicrosoftCredentialInput>(&cfg, &mut out);
    render::<SaveMicrosoftRequest>(&cfg, &mut out);
    render::<OktaAuthInput>(&cfg, &mut out);
    render::<SaveOktaRequest>(&cfg, &mut out);
    render::<GeneratedKey>(&cfg, &mut out);
    render::<CheckStatus>(&cfg, &mut out);
    render::<CheckStep>(&cfg, &mut out);
    render::<ConnectionTarget>(&cfg, &mut out);
    render::<ConnectionTest>(&cfg, &mut out);
    render::<CredentialKind>(&cfg, &mut out);
    render::<CredentialInfo>(&cfg, &mut out);
    render::<SignInMethod>(&cfg, &mut out);
    render::<MicrosoftSignInRequest>(&cfg, &mut out);
    render::<MicrosoftSignIn>(&cfg, &mut out);
    render::<MicrosoftAdmin>(&cfg, &mut out);
    render::<AppCredentialChoice>(&cfg, &mut out);
    render::<MicrosoftAppRequest>(&cfg, &mut out);
    render::<PlannedPermission>(&cfg, &mut out);
    render::<MicrosoftAppPlan>(&cfg, &mut out);
    render::<MailStage>(&cfg, &mut out);
    render::<MailTemplate>(&cfg, &mut out);
    render::<MailTemplates>(&cfg, &mut out);
    render::<LifecycleSettings>(&cfg, &mut out);
    render::<MailPreviewRequest>(&cfg, &mut out);
    render::<MailPreview>(&cfg, &mut out);
    render::<StageStatus>(&cfg, &mut out);
    render::<Stage>(&cfg, &mut out);
    render::<DueReport>(&cfg, &mut out);
    render::<SeatPoint>(&cfg, &mut out);
    render::<MicrosoftAppResult>(&cfg, &mut out);
    render::<PlanAction>(&cfg, &mut out);
    render::<OktaTokenSource>(&cfg, &mut out);
    render::<OktaAppRequest>(&cfg, &mut out);
    render::<PlannedScope>(&cfg, &mut out);
    render::<OktaAppPlan>(&cfg, &mut out);
    render::<OktaAppResult>(&cfg, &mut out);
    render::<GroupRole>(&cfg, &mut out);
    render::<GroupSetting>(&cfg, &mut out);
    render::<GroupAction>(&cfg, &mut out);
    render::<GroupPlanItem>(&cfg, &mut out);
    render::<GroupsPlan>(&cfg, &mut out);
    render::<ServicePlan>(&cfg, &mut out);
    render::<License>(&cfg, &mut out);
    render::<LicenseAssignment>(&cfg, &mut out);
    render::<SeatWarning>(&cfg, &mut out);
    render::<LicensesView>(&cfg, &mut out);
    render::<ReviewStatus>(&cfg, &mut out);
    render::<ReviewItem>(&cfg, &mut out);
    render::<GrantRow>(&cfg, &mut out);
    render::<Review>(&cfg, &mut out);
    render::<UsernameFormat>(&cfg, &mut out);
    render::<AttributeMapping>(&cfg, &mut out);
    render::<GuestRemoval>(&cfg, &mut out);
    render::<ProvisioningSettings>(&cfg, &mut out);
    render::<UsernamePreviewRow>(&cfg, &mut out);
    render::<UsernamePreview>(&cfg, &mut out);
    render::<RunTrigger>(&cfg, &mut out);
    render::<ChangeKind>(&cfg, &mut out);
    render::<FieldChange>(&cfg, &mut out);
    render::<PlannedChange>(&cfg, &mut out);
    render::<GuardStop>(&cfg, &mut out);
    render::<RunPlan>(&cfg, &mut out);
    render::<RunStatus>(&cfg, &mut out);
    render::<RunSummary>(&cfg, &mut out);
    render::<StepStatus>(&cfg, &mut out);
    render::<RunStep>(&cfg, &mut out);
    render::<RunDetail>(&cfg, &mut out);
    render::<RunFilter>(&cfg, &mut out);
    render::<PlanRunRequest>(&cfg, &mut out);
    render::<ExportFormat>(&cfg, &mut out);
    render::<TriggerReport>(&cfg, &mut out);
    render::<TestRunRequest>(&cfg, &mut out);
    render::<TestRunResult>(&cfg, &mut out);
    render::<SourceSpec>(&cfg, &mut out);
    render::<SourcePreview>(&cfg, &mut out);
    render::<Transform>(&cfg, &mut out);
    render::<AttributeRule>(&cfg, &mut out);
    render::<ActiveRule>(&cfg, &mut out);
    render::<ImportMapping>(&cfg, &mut out);
    render::<MappedPreviewRow>(&cfg, &mut out);
    render::<Reject>(&cfg, &mut out);
    render::<ImportRequest>(&cfg, &mut out);
    render::<ImportStop>(&cfg, &mut out);
    render::<DeactivationGuard>(&cfg, &mut out);
    render::<ImportPlan>(&cfg, &mut out);
    render::<ImportSummary>(&cfg, &mut out);
    render::<SavedImport>(&cfg, &mut out);
    render::<ImportSchedule>(&cfg, &mut out);
    render::<DueImport>(&cfg, &mut out);

    let mut index = String::from(
        "// Generated from crates/engine/src/dto.rs by crates/engine/tests/bindings.rs. Do not edit.\n",
    );
    for name in out.keys() {
        index.push_str(&format!("export type {{ {name} }} from \"./{name}\";\n"));
    }
    out.insert("index".to_owned(), index);
    out
}

fn bindings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/ipc/bindings")
}

/// `ui/src/test/requirements.ts` as the engine's table renders it.
fn fake_engine_table() -> String {
    let table = serde_json::to_string_pretty(&okta365_engine::connect::requirements::table())
        .expect("the table serializes");
    format!(
        "// Generated from crates/engine/src/connect/requirements.rs by crates/engine/tests/bindings.rs. Do not edit.\n\
         // The operation → requirement table as the `requirements` command answers it; the fake engine serves it.\n\
         import type {{ OperationRequirement }} from \"../lib/ipc\";\n\
         \n\
         export const REQUIREMENTS: OperationRequirement[] = {table};\n"
    )
}

#[test]
fn the_fake_engine_serves_the_engine_table() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/test/requirements.ts");
    let expected = fake_engine_table();
    if std::env::var_os("UPDATE_BINDINGS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}). Regenerate it with `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings`.",
            path.display()
        )
    });
    assert!(
        committed == expected,
        "{} differs from connect::requirements, so the UI tests would run on a stale table. Regenerate it \
         with `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings`.\n--- expected ---\n{expected}",
        path.display()
    );
}

#[test]
fn typescript_bindings_are_up_to_date() {
    let dir = bindings_dir();
    let expected = rendered();
    if std::env::var_os("UPDATE_BINDINGS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ts") {
                std::fs::remove_file(path).unwrap();
            }
        }
        for (name, code) in &expected {
            std::fs::write(dir.join(format!("{name}.ts")), code).unwrap();
        }
        return;
    }

    let how = "Regenerate them with `UPDATE_BINDINGS=1 cargo test -p okta365-engine --test bindings` and commit ui/src/lib/ipc/bindings/.";
    for (name, code) in &expected {
        let path = dir.join(format!("{name}.ts"));
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} is missing ({e}). {how}", path.display()));
        assert!(
            committed == *code,
            "{} is stale: it differs from the Rust DTOs.\n{how}\n--- expected ---\n{code}\n--- committed ---\n{committed}",
            path.display()
        );
    }
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "ts") && !expected.contains_key(&stem) {
            stray.push(path.display().to_string());
        }
    }
    assert!(
        stray.is_empty(),
        "bindings without a Rust DTO: {stray:?}. {how}"
    );
}

#[test]
fn bindings_have_the_shapes_of_the_ipc_contract() {
    let all = rendered();
    assert!(all["StepId"].contains(r#"export type StepId = "welcome" | "microsoft" | "okta" | "groups" | "licenses" | "provisioning" | "lifecycle" | "imports" | "review" | "history" | "credentials";"#), "{}", all["StepId"]);
    assert!(all["ErrorCode"].contains(r#"export type ErrorCode = "invalid_input" | "not_found" | "already_exists" | "keychain_unavailable" | "sandbox_unavailable" | "permission_denied" | "sign_in_failed" | "cancelled" | "internal";"#), "{}", all["ErrorCode"]);
    assert!(
        all["ApiError"].contains("details?: unknown"),
        "details is optional and unknown: {}",
        all["ApiError"]
    );
    assert!(
        all["Profile"].contains("msTenant: string | null"),
        "camelCase, nullable: {}",
        all["Profile"]
    );
    assert!(
        all["Profile"].contains("wizardStep: StepId"),
        "{}",
        all["Profile"]
    );
    assert!(
        all["Progress"].contains("done: number")
            && all["Progress"].contains("total: number | null")
            && all["Progress"].contains("operation: string")
            && all["Progress"].contains("step: string")
            && all["Progress"].contains("message: string"),
        "counts are plain numbers (not bigint), total is nullable: {}",
        all["Progress"]
    );
    assert!(
        all["AppInfo"].contains("activeProfileId: string | null"),
        "{}",
        all["AppInfo"]
    );
}

/// TypeScript without `/** … */` and `// …` comments, each whitespace run as one space.
fn without_comments(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(start) = rest.find("/**") {
        out.push_str(&rest[..start]);
        rest = rest[start..]
            .find("*/")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    lines
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shapes docs/connections.md ("IPC (added)") promises the front end.
#[test]
fn connection_bindings_have_the_documented_shapes() {
    // Compare without the doc comments and with single spaces.
    let all: BTreeMap<String, String> = rendered()
        .into_iter()
        .map(|(name, code)| (name, without_comments(&code)))
        .collect();
    let has = |name: &str, text: &str| {
        assert!(
            all[name].contains(text),
            "{name} should contain `{text}`:\n{}",
            all[name]
        )
    };
    has(
        "OperationId",
        r#"export type OperationId = "licenses" | "memberAccounts" | "profileSync" | "guests" | "deactivation" | "activation" | "managerEmail" | "imports";"#,
    );
    has(
        "OperationRequirement",
        "{ operation: OperationId, label: string, description: string, graphRoles: Array<Array<string>>, oktaScopes: Array<string>, }",
    );
    has(
        "FieldId",
        r#"export type FieldId = "msTenant" | "msClientId" | "msClientSecret" | "msCertificate" | "oktaOrgUrl" | "oktaApiToken" | "oktaClientId" | "oktaPrivateKey";"#,
    );
    has(
        "FieldCheck",
        "{ field: FieldId, ok: boolean, message: string | null, normalized: string | null, note: string | null, }",
    );
    has(
        "MicrosoftCredentialInput",
        r#"{ "kind": "secret", secret: string, expiresAt: string | null, } | { "kind": "certificatePem", pem: string, } | { "kind": "certificatePfx", pfxBase64: string, password: string, }"#,
    );
    has(
        "SaveMicrosoftRequest",
        "{ profileId: string, tenant: string, clientId: string, credential: MicrosoftCredentialInput | null, }",
    );
    has(
        "OktaAuthInput",
        r#"{ "kind": "apiToken", token: string | null, } | { "kind": "serviceApp", clientId: string, privateKey: string | null, keyId: string | null, }"#,
    );
    has(
        "SaveOktaRequest",
        "{ profileId: string, orgUrl: string, auth: OktaAuthInput, identitySourceId?: string | null, }",
    );
    has("GeneratedKey", "{ keyId: string, publicJwk: string, }");
    has(
        "CheckStatus",
        r#"export type CheckStatus = "ok" | "failed" | "warning" | "skipped";"#,
    );
    has(
        "CheckStep",
        "{ id: string, label: string, status: CheckStatus, detail: string | null, fix: string | null, link: string | null, }",
    );
    has(
        "ConnectionTest",
        "{ target: ConnectionTarget, ok: boolean, steps: Array<CheckStep>, testedAt: string, }",
    );
    has(
        "ConnectionTarget",
        r#"export type ConnectionTarget = "microsoft" | "okta";"#,
    );
    has(
        "CredentialKind",
        r#"export type CredentialKind = "okta.api_token" | "okta.private_key" | "entra.client_secret" | "entra.client_certificate";"#,
    );
    has(
        "CredentialInfo",
        "{ profileId: string, profileName: string, kind: CredentialKind, label: string, hint: string | null, createdAt: string, lastUsedAt: string | null, expiresAt: string | null, daysLeft: number | null, expiryWarning: boolean, }",
    );
    has("Profile", "microsoft: MicrosoftConnection | null");
    has("Profile", "okta: OktaConnection");
    has("Profile", "operations: Array<OperationId>");
    has(
        "MicrosoftConnection",
        "{ tenant: string, clientId: string, credentialKind: MicrosoftCredentialKind | null, }",
    );
    has(
        "MicrosoftCredentialKind",
        r#"export type MicrosoftCredentialKind = "secret" | "certificate";"#,
    );
    has(
        "OktaConnection",
        "{ orgUrl: string, auth: OktaAuthKind | null, clientId: string | null, keyId: string | null, identitySourceId: string | null, }",
    );
    has(
        "OktaAuthKind",
        r#"export type OktaAuthKind = "apiToken" | "serviceApp";"#,
    );
}

/// The shapes docs/setup.md ("Create the Okta API service app for the admin") promises the front end.
#[test]
fn microsoft_app_bindings_have_the_documented_shapes() {
    let all: BTreeMap<String, String> = rendered()
        .into_iter()
        .map(|(name, code)| (name, without_comments(&code)))
        .collect();
    let has = |name: &str, text: &str| {
        assert!(
            all[name].contains(text),
            "{name} should contain `{text}`:\n{}",
            all[name]
        )
    };
    has(
        "SignInMethod",
        r#"export type SignInMethod = "deviceCode" | "browser";"#,
    );
    has(
        "MicrosoftSignInRequest",
        "{ profileId: string, method: SignInMethod, tenant: string | null, publicClientId: string | null, }",
    );
    has(
        "MicrosoftSignIn",
        "{ sessionId: string, method: SignInMethod, tenant: string, userCode: string | null, verificationUri: string | null, authorizeUrl: string | null, message: string, expiresAt: string, interval: number | null, }",
    );
    has(
        "MicrosoftAdmin",
        "{ sessionId: string, account: string, tenantId: string, tenantName: string | null, roles: Array<string>, canGrantConsent: boolean, }",
    );
    has(
        "AppCredentialChoice",
        r#"{ "kind": "secret", lifetimeMonths: number, } | { "kind": "certificate", lifetimeMonths: number, }"#,
    );
    has(
        "MicrosoftAppRequest",
        "{ profileId: string, sessionId: string, appName: string, credential: AppCredentialChoice, }",
    );
    has(
        "PlannedPermission",
        "{ value: string, id: string, operations: Array<OperationId>, granted: boolean, }",
    );
    has(
        "MicrosoftAppPlan",
        "{ profileId: string, appName: string, appId: string | null, app: PlanAction, servicePrincipal: PlanAction, permissions: Array<PlannedPermission>, credential: AppCredentialChoice, credentialAction: PlanAction, credentialNote: string, warnings: Array<string>, changes: number, plannedAt: string, }",
    );
    has(
        "MicrosoftAppResult",
        "{ plan: MicrosoftAppPlan, profile: Profile, tokenRoles: Array<string>, }",
    );
}

#[test]
fn okta_app_bindings_have_the_documented_shapes() {
    let all: BTreeMap<String, String> = rendered()
        .into_iter()
        .map(|(name, code)| (name, without_comments(&code)))
        .collect();
    let has = |name: &str, text: &str| {
        assert!(
            all[name].contains(text),
            "{name} should contain `{text}`:\n{}",
            all[name]
        )
    };
    has(
        "PlanAction",
        r#"export type PlanAction = "create" | "exists" | "update" | "keep";"#,
    );
    has(
        "OktaAppRequest",
        "{ profileId: string, apiToken: string | null, appName: string, }",
    );
    has(
        "PlannedScope",
        "{ scope: string, operations: Array<OperationId>, reason: string, granted: boolean, }",
    );
    has(
        "OktaAppPlan",
        "{ profileId: string, appName: string, clientId: string | null, app: PlanAction, key: PlanAction, scopes: Array<PlannedScope>, role: string, roleReason: string, roleAssigned: boolean, admin: string, tokenSource: OktaTokenSource, warnings: Array<string>, changes: number, plannedAt: string, }",
    );
    has(
        "OktaTokenSource",
        r#"export type OktaTokenSource = "pasted" | "keychain";"#,
    );
    has(
        "OktaAppResult",
        "{ plan: OktaAppPlan, profile: Profile, verifiedScopes: Array<string>, dpop: boolean, apiTokenStored: boolean, }",
    );
}
