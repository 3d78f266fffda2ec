// The one module that talks to the Rust side. Components and state never import
// `@tauri-apps/api/core`; they call the typed functions below, and tests swap the transport with
// `mockIPC` (or hand the wizard a fake `Backend`).
import { Channel, invoke, type InvokeArgs } from "@tauri-apps/api/core";
import type {
  ApiError,
  AppInfo,
  ConnectionTest,
  CreateSandboxProfileRequest,
  CredentialInfo,
  CredentialKind,
  DueImport,
  DueReport,
  ErrorCode,
  ExportFormat,
  FieldCheck,
  FieldId,
  GeneratedKey,
  GroupSetting,
  GroupsPlan,
  ImportMapping,
  ImportPlan,
  ImportRequest,
  ImportSchedule,
  ImportSummary,
  LicenseAssignment,
  LicensesView,
  LifecycleSettings,
  MailPreview,
  MailPreviewRequest,
  MappedPreviewRow,
  MicrosoftAdmin,
  MicrosoftAppPlan,
  MicrosoftAppRequest,
  MicrosoftAppResult,
  MicrosoftSignIn,
  MicrosoftSignInRequest,
  OktaAppPlan,
  OktaAppRequest,
  OktaAppResult,
  OperationId,
  OperationRequirement,
  PlanRunRequest,
  Profile,
  Progress,
  ProvisioningSettings,
  Review,
  RunDetail,
  RunFilter,
  RunPlan,
  RunSummary,
  SavedImport,
  SaveMicrosoftRequest,
  SaveOktaRequest,
  SeatPoint,
  SourcePreview,
  SourceSpec,
  Stage,
  StepId,
  TestRunRequest,
  TestRunResult,
  TriggerReport,
  UsernameFormat,
  UsernamePreview,
} from "./types";

export type * from "./types";


const ERROR_CODES: readonly ErrorCode[] = [
  "invalid_input",
  "not_found",
  "already_exists",
  "keychain_unavailable",
  "sandbox_unavailable",
  "permission_denied",
  "sign_in_failed",
  "cancelled",
  "internal",
];

/** An `ApiError` from the backend, thrown as a real `Error` so it keeps a stack and works with `instanceof`. */
export class IpcError extends Error implements ApiError {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(error: ApiError) {
    super(error.message);
    this.name = "IpcError";
    this.code = error.code;
    if (error.details !== undefined) this.details = error.details;
  }
}

function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.message === "string" &&
    typeof v.code === "string" &&
    (ERROR_CODES as readonly string[]).includes(v.code)
  );
}

/**
 * Turns whatever a failed call produced into an `IpcError`. The backend only ever rejects with an
 * `ApiError`; anything else (a missing command, a bridge failure) becomes `internal` with a message
 * that still says what went wrong.
 */
export function toIpcError(error: unknown): IpcError {
  if (error instanceof IpcError) return error;
  if (isApiError(error)) return new IpcError(error);
  const text =
    typeof error === "string" ? error : error instanceof Error ? error.message : JSON.stringify(error);
  return new IpcError({
    code: "internal",
    message: `The app's backend did not answer as expected: ${text}`,
  });
}

async function call<T>(command: string, args?: InvokeArgs): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toIpcError(error);
  }
}

/**
 * A Tauri channel for one call's progress reports: the backend streams `Progress` into it while the
 * command runs (in order; Tauri numbers the messages). Without a handler the reports are dropped.
 */
function progressChannel(onProgress?: (progress: Progress) => void): Channel<Progress> {
  return new Channel<Progress>(onProgress);
}

/** The typed commands of the desktop shell (src-tauri), one per `Engine` method. */
export const ipc = {
  appInfo: (): Promise<AppInfo> => call("app_info"),
  listProfiles: (): Promise<Profile[]> => call("list_profiles"),
  /**
   * Creates a sandbox profile on the built-in sandbox tenant (or `request.url`) and makes it active.
   * `onProgress` hears each step (start the sandbox, mint credentials, store them, save) as it starts.
   */
  createSandboxProfile: (
    request: CreateSandboxProfileRequest,
    onProgress?: (progress: Progress) => void,
  ): Promise<Profile> =>
    call("create_sandbox_profile", { request, onProgress: progressChannel(onProgress) }),
  selectProfile: (id: string): Promise<Profile> => call("select_profile", { id }),
  removeProfile: (id: string): Promise<void> => call("remove_profile", { id }),
  setWizardStep: (id: string, step: StepId): Promise<Profile> =>
    call("set_wizard_step", { id, step }),

  // Connecting the tenants (docs/connections.md).
  /** Checks one form value the way the engine (and the CLI) will: a specific message, a normalized value, a note. */
  validateField: (field: FieldId, value: string): Promise<FieldCheck> =>
    call("validate_field", { field, value }),
  /**
   * The engine's operation → requirement table: what each operation does and the Graph permissions
   * and Okta scopes it needs (the same rows Test connection checks). The UI keeps no copy of its own.
   */
  requirements: (): Promise<OperationRequirement[]> => call("requirements"),
  /** "Connect my tenants": a profile on the real Microsoft and Okta endpoints, made active. */
  createTenantProfile: (name: string): Promise<Profile> => call("create_tenant_profile", { name }),
  /** Saves the Microsoft tenant, client id and (unless null) a new credential into the OS keychain. */
  saveMicrosoft: (request: SaveMicrosoftRequest): Promise<Profile> => call("save_microsoft", { request }),
  /** Saves the Okta org URL and how okta365 signs in to it. */
  saveOkta: (request: SaveOktaRequest): Promise<Profile> => call("save_okta", { request }),
  /** Generates (and keeps in the OS keychain) a key pair for the Okta API service app; returns its public JWK. */
  generateOktaKey: (profileId: string): Promise<GeneratedKey> => call("generate_okta_key", { profileId }),
  setOperations: (profileId: string, operations: OperationId[]): Promise<Profile> =>
    call("set_operations", { profileId, operations }),
  /** Runs the Microsoft checks; `onProgress` hears each one as it starts. */
  testMicrosoft: (profileId: string, onProgress?: (progress: Progress) => void): Promise<ConnectionTest> =>
    call("test_microsoft", { profileId, onProgress: progressChannel(onProgress) }),
  /** Runs the Okta checks; `onProgress` hears each one as it starts. */
  testOkta: (profileId: string, onProgress?: (progress: Progress) => void): Promise<ConnectionTest> =>
    call("test_okta", { profileId, onProgress: progressChannel(onProgress) }),
  /** Every stored credential of every profile (metadata only; never a secret). */
  listCredentials: (): Promise<CredentialInfo[]> => call("list_credentials"),
  deleteCredential: (profileId: string, kind: CredentialKind): Promise<void> =>
    call("delete_credential", { profileId, kind }),
  setCredentialExpiry: (profileId: string, kind: CredentialKind, expiresAt: string | null): Promise<CredentialInfo> =>
    call("set_credential_expiry", { profileId, kind, expiresAt }),

  // Groups and licenses (docs/setup.md).
  /** Saves the names of the Okta groups behind each role. */
  setGroupNames: (profileId: string, groups: GroupSetting[]): Promise<Profile> =>
    call("set_group_names", { profileId, groups }),
  /** What applying the groups would do (create or exists, with ids and member counts); changes nothing. */
  planGroups: (profileId: string): Promise<GroupsPlan> => call("plan_groups", { profileId }),
  /** Creates the missing groups; answers the plan afterwards (every item `exists`). `onProgress` hears each write. */
  applyGroups: (profileId: string, onProgress?: (progress: Progress) => void): Promise<GroupsPlan> =>
    call("apply_groups", { profileId, onProgress: progressChannel(onProgress) }),
  /** "Store all Microsoft licenses": reads the tenant's subscribed SKUs into the local table. */
  syncLicenses: (profileId: string, onProgress?: (progress: Progress) => void): Promise<LicensesView> =>
    call("sync_licenses", { profileId, onProgress: progressChannel(onProgress) }),
  /** The stored licenses, assignments, usage location and seat warnings (local; no network). */
  listLicenses: (profileId: string): Promise<LicensesView> => call("list_licenses", { profileId }),
  /** Replaces which SKUs (and disabled service plans) each group role receives. */
  setLicenseAssignments: (profileId: string, assignments: LicenseAssignment[]): Promise<LicensesView> =>
    call("set_license_assignments", { profileId, assignments }),
  /** Sets (or with null clears) the default usage location, an ISO 3166 alpha-2 code. */
  setUsageLocation: (profileId: string, code: string | null): Promise<LicensesView> =>
    call("set_usage_location", { profileId, code }),

  // Creating the Entra app registration for the admin (docs/setup.md).
  /**
   * Starts the admin's delegated sign-in: a device code to type at `verificationUri`, or an
   * `authorizeUrl` to open in the browser. The token stays in engine memory for this setup only.
   */
  startMicrosoftSignIn: (request: MicrosoftSignInRequest): Promise<MicrosoftSignIn> =>
    call("start_microsoft_sign_in", { request }),
  /**
   * Waits for the device code approval or the browser redirect; answers the signed-in admin. Rejects
   * with `sign_in_failed` (declined, expired, blocked) or `cancelled`. `onProgress` hears each poll.
   */
  finishMicrosoftSignIn: (sessionId: string, onProgress?: (progress: Progress) => void): Promise<MicrosoftAdmin> =>
    call("finish_microsoft_sign_in", { sessionId, onProgress: progressChannel(onProgress) }),
  /** Stops waiting for a sign-in (the pending finish rejects with `cancelled`) and forgets it. */
  cancelMicrosoftSignIn: (sessionId: string): Promise<void> => call("cancel_microsoft_sign_in", { sessionId }),
  /** What creating (or completing) the app registration would write; changes nothing. */
  planMicrosoftApp: (request: MicrosoftAppRequest): Promise<MicrosoftAppPlan> => call("plan_microsoft_app", { request }),
  /** Writes the plan (each write journaled), waits for the token to carry every role, saves the profile. */
  applyMicrosoftApp: (request: MicrosoftAppRequest, onProgress?: (progress: Progress) => void): Promise<MicrosoftAppResult> =>
    call("apply_microsoft_app", { request, onProgress: progressChannel(onProgress) }),

  // Creating the Okta API service app for the admin (docs/setup.md).
  /** What creating (or completing) the service app would write; changes nothing. */
  planOktaApp: (request: OktaAppRequest): Promise<OktaAppPlan> => call("plan_okta_app", { request }),
  /** Writes the plan, proves a DPoP token per scope, and switches the profile to the service app. */
  applyOktaApp: (request: OktaAppRequest, onProgress?: (progress: Progress) => void): Promise<OktaAppResult> =>
    call("apply_okta_app", { request, onProgress: progressChannel(onProgress) }),
  /** Deletes the profile's Okta API token from the OS keychain once the service app works. */
  forgetOktaApiToken: (profileId: string): Promise<Profile> => call("forget_okta_api_token", { profileId }),

  /**
   * Opens a sign-in page or a portal link in the system browser (https://, or http:// on loopback
   * for the sandbox). Rejects when no browser could be started; the page then offers the link to copy.
   */
  openInBrowser: (url: string): Promise<void> => call("open_in_browser", { url }),

  /** What the profile is set to do and what is missing, live, each missing item with the step that fixes it. */
  review: (profileId: string, onProgress?: (progress: Progress) => void): Promise<Review> =>
    call("review", { profileId, onProgress: progressChannel(onProgress) }),

  // Provisioning from the Okta groups: settings, runs, triggers, history (docs/provisioning.md).
  /** The profile's provisioning settings (the engine's defaults until saved). */
  provisioningSettings: (profileId: string): Promise<ProvisioningSettings> =>
    call("provisioning_settings", { profileId }),
  /** Saves the provisioning settings; answers them as stored. */
  setProvisioningSettings: (profileId: string, settings: ProvisioningSettings): Promise<ProvisioningSettings> =>
    call("set_provisioning_settings", { profileId, settings }),
  /** The UPN each member of the assignments group would get with `format` (first 50 and every problem). */
  previewUsernames: (profileId: string, format: UsernameFormat): Promise<UsernamePreview> =>
    call("preview_usernames", { profileId, format }),
  /** Plans one operation for everyone (users null) or some Okta users; stores the run as planned, writes nothing. */
  planRun: (request: PlanRunRequest): Promise<RunPlan> => call("plan_run", { request }),
  /**
   * Applies a planned run, each change journaled before and after its write. A guard-stopped plan
   * needs `confirmDestructive` equal to its destructive count. `onProgress` hears each step (`step` = seq).
   */
  applyRun: (runId: string, confirmDestructive: number | null, onProgress?: (progress: Progress) => void): Promise<RunSummary> =>
    call("apply_run", { runId, confirmDestructive, onProgress: progressChannel(onProgress) }),
  /** Drops a planned run (kept in the history as discarded). */
  discardRun: (runId: string): Promise<void> => call("discard_run", { runId }),
  listRuns: (profileId: string, filter: RunFilter): Promise<RunSummary[]> => call("list_runs", { profileId, filter }),
  /** A run with its plan and every step as journaled. */
  runDetail: (runId: string): Promise<RunDetail> => call("run_detail", { runId }),
  /** The run as JSON or CSV text (secrets never included). */
  exportRun: (runId: string, format: ExportFormat): Promise<string> => call("export_run", { runId, format }),
  deleteRun: (runId: string): Promise<void> => call("delete_run", { runId }),
  /** Finishes runs left `running` by a crash (each started step checked against the live state first). */
  resumeRuns: (onProgress?: (progress: Progress) => void): Promise<RunSummary[]> =>
    call("resume_runs", { onProgress: progressChannel(onProgress) }),
  /** Reads the Okta System Log from the saved cursor; events of the configured groups become runs. */
  pollSystemLog: (profileId: string, onProgress?: (progress: Progress) => void): Promise<TriggerReport> =>
    call("poll_system_log", { profileId, onProgress: progressChannel(onProgress) }),
  /** A full compare of one operation (or every enabled one with null): plans and applies the differences. */
  reconcile: (profileId: string, operation: OperationId | null): Promise<RunSummary[]> =>
    call("reconcile", { profileId, operation }),
  /** Plans and applies one operation for one user (or a throwaway test user), then reads the account back. */
  testRun: (request: TestRunRequest, onProgress?: (progress: Progress) => void): Promise<TestRunResult> =>
    call("test_run", { request, onProgress: progressChannel(onProgress) }),
  /** Removes a test run's Okta user and its Microsoft account. */
  cleanupTestUser: (profileId: string, oktaUserId: string): Promise<void> =>
    call("cleanup_test_user", { profileId, oktaUserId }),

  // The licensing lifecycle: settings and manager emails, delayed stages, undo, seats over time
  // (docs/licensing.md).
  /** The profile's lifecycle settings (the engine's defaults until saved). */
  lifecycleSettings: (profileId: string): Promise<LifecycleSettings> => call("lifecycle_settings", { profileId }),
  /** Saves the lifecycle settings (refusing an unknown placeholder, an empty subject, a bad sender); answers them as stored. */
  setLifecycleSettings: (profileId: string, settings: LifecycleSettings): Promise<LifecycleSettings> =>
    call("set_lifecycle_settings", { profileId, settings }),
  /** One manager email rendered for a user (or the first member), with an unsaved template when given. */
  previewManagerEmail: (request: MailPreviewRequest): Promise<MailPreview> => call("preview_manager_email", { request }),
  /** The profile's pending (and running) stages, or every stage with `includeFinished`. */
  listStages: (profileId: string, includeFinished: boolean): Promise<Stage[]> =>
    call("list_stages", { profileId, includeFinished }),
  /** Cancels a pending stage; answers it as stored. */
  cancelStage: (stageId: number): Promise<Stage> => call("cancel_stage", { stageId }),
  /** Plans and applies a stage's run at once, whatever its due time. `onProgress` hears each step. */
  runStageNow: (stageId: number, onProgress?: (progress: Progress) => void): Promise<RunSummary> =>
    call("run_stage_now", { stageId, onProgress: progressChannel(onProgress) }),
  /** Runs every due pending stage of the profile (of every profile with null); reports the late ones. */
  runDueStages: (profileId: string | null, onProgress?: (progress: Progress) => void): Promise<DueReport> =>
    call("run_due_stages", { profileId, onProgress: progressChannel(onProgress) }),
  /** Plans the undo of a finished run: a new planned run (trigger `undo`) applied with `applyRun`. */
  planUndo: (runId: string): Promise<RunPlan> => call("plan_undo", { runId }),
  /** Seats used and bought per SKU over the last `days` days (all with null), oldest first. */
  seatHistory: (profileId: string, days: number | null): Promise<SeatPoint[]> => call("seat_history", { profileId, days }),

  // Anything-as-a-Source imports: a CSV file or an HTTP JSON endpoint pushed into Okta through a
  // Custom Identity Source's import sessions (docs/imports.md).
  /** The source's columns, its first 20 records and what is wrong with it; reads nothing else. */
  previewSource: (profileId: string, source: SourceSpec, sourceName: string | null = null): Promise<SourcePreview> =>
    call("preview_source", { profileId, source, sourceName }),
  /** A mapping guessed from the source's column names. */
  suggestMapping: (profileId: string, source: SourceSpec, sourceName: string | null = null): Promise<ImportMapping> =>
    call("suggest_mapping", { profileId, source, sourceName }),
  /** The first 20 records as the mapping makes them, each with its reject reason (or null). */
  previewMapping: (profileId: string, source: SourceSpec, mapping: ImportMapping, sourceName: string | null = null): Promise<MappedPreviewRow[]> =>
    call("preview_mapping", { profileId, source, mapping, sourceName }),
  /**
   * Saves the value of an HTTP source's auth header in the OS keychain under the source name (null
   * forgets it); answers whether a value is saved. The value never comes back.
   */
  setImportSourceSecret: (profileId: string, sourceName: string, value: string | null): Promise<boolean> =>
    call("set_import_source_secret", { profileId, sourceName, value }),
  /** The saved source and mapping of a source name, or null. */
  importMapping: (profileId: string, sourceName: string): Promise<SavedImport | null> =>
    call("import_mapping", { profileId, sourceName }),
  /** Saves the source and its mapping under the source name. */
  saveImportMapping: (profileId: string, sourceName: string, source: SourceSpec, mapping: ImportMapping): Promise<void> =>
    call("save_import_mapping", { profileId, sourceName, source, mapping }),
  /** Reads the saved source through its mapping into a plan (counts, rejects, sessions); uploads nothing. */
  planImport: (request: ImportRequest): Promise<ImportPlan> => call("plan_import", { request }),
  /**
   * Uploads a planned import session by session. A plan over the deactivation guard needs
   * `confirmDeactivations` equal to its count. `onProgress` hears records uploaded of the total.
   */
  applyImport: (importId: string, confirmDeactivations: number | null, onProgress?: (progress: Progress) => void): Promise<RunSummary> =>
    call("apply_import", { importId, confirmDeactivations, onProgress: progressChannel(onProgress) }),
  /** The import's rejects as CSV text. */
  importRejects: (importId: string): Promise<string> => call("import_rejects", { importId }),
  /** The profile's imports, newest first. */
  listImports: (profileId: string): Promise<ImportSummary[]> => call("list_imports", { profileId }),
  /** Imports the saved source every N minutes or daily at a time (null: only by hand); answers it as stored. */
  setImportSchedule: (profileId: string, sourceName: string, schedule: ImportSchedule | null): Promise<ImportSchedule | null> =>
    call("set_import_schedule", { profileId, sourceName, schedule }),
  /** Plans and applies every scheduled import that is due (of one profile, or of all with null). */
  runDueImports: (profileId: string | null, onProgress?: (progress: Progress) => void): Promise<DueImport[]> =>
    call("run_due_imports", { profileId, onProgress: progressChannel(onProgress) }),
  /** The schedule of a saved source, or null. */
  importSchedule: (profileId: string, sourceName: string): Promise<ImportSchedule | null> =>
    call("import_schedule", { profileId, sourceName }),
};

/** What the wizard state needs from the backend; `ipc` in the app, a fake in some tests. */
export type Backend = typeof ipc;
