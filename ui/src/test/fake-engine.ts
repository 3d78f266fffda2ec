// An in-memory stand-in for the Rust engine behind the Tauri commands, for front-end unit tests.
// It follows docs/architecture.md: the same command names, argument names, JSON shapes and error
// codes. Install it with `installFakeEngine()`, which routes `invoke` to it through `mockIPC`.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type {
  ApiError,
  AppInfo,
  CheckStep,
  ConnectionTarget,
  ConnectionTest,
  CredentialInfo,
  CredentialKind,
  FieldCheck,
  FieldId,
  GroupSetting,
  GroupsPlan,
  License,
  LicenseAssignment,
  LicensesView,
  OperationId,
  OperationRequirement,
  Profile,
  Progress,
  SaveMicrosoftRequest,
  SaveOktaRequest,
  StepId,
} from "../lib/ipc";
import { isStepId } from "../lib/state/steps";
import { FakeImports } from "./fake-imports";
import { FakeLifecycle } from "./fake-lifecycle";
import { FakeRuns } from "./fake-runs";
import { FakeSetup } from "./fake-setup";
import { REQUIREMENTS } from "./requirements";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LABELS: Record<CredentialKind, string> = {
  "okta.api_token": "Okta API token",
  "okta.private_key": "Okta private key",
  "entra.client_secret": "Entra client secret",
  "entra.client_certificate": "Entra certificate",
};

/**
 * A few of the engine's field rules, enough to drive the forms (the real ones are tested in Rust):
 * GUIDs, the client id that is really a secret ID, `-admin` in an Okta URL, `0oa` client ids.
 */
export function fakeCheck(field: FieldId, value: string): FieldCheck {
  const v = value.trim();
  const ok = (normalized: string | null = null, note: string | null = null): FieldCheck => ({ field, ok: true, message: null, normalized, note });
  const bad = (message: string): FieldCheck => ({ field, ok: false, message, normalized: null, note: null });
  switch (field) {
    case "msTenant":
      return GUID.test(v) || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(v)
        ? ok(v.toLowerCase())
        : bad("Use the directory (tenant) ID GUID or a domain such as contoso.onmicrosoft.com.");
    case "msClientId":
      if (GUID.test(v)) return ok(v.toLowerCase());
      if (v.includes("~")) return bad("A client id is a GUID like 4f1c…; you pasted the secret value.");
      return bad("A client id is a GUID like 4f1c…; you pasted the secret ID from Certificates & secrets");
    case "msClientSecret":
      return GUID.test(v) ? bad("That is a secret ID; paste the secret's Value instead.") : ok();
    case "msCertificate":
      return v.includes("BEGIN CERTIFICATE") && v.includes("PRIVATE KEY")
        ? ok()
        : bad("The PEM needs both the certificate and its private key.");
    case "oktaOrgUrl": {
      if (!/^https?:\/\//.test(v)) return bad("That is not a URL; use the form https://acme.okta.com.");
      if (v.includes("-admin.")) return ok(v.replace("-admin.", "."), "“-admin” was removed: that is the admin console's address.");
      return ok(v.replace(/\/+$/, ""));
    }
    case "oktaApiToken":
      return v.length >= 20 ? ok() : bad("An Okta API token is 42 characters long; this one is too short.");
    case "oktaClientId":
      return v.startsWith("0oa") ? ok(v) : bad("An Okta client id starts with 0oa.");
    case "oktaPrivateKey":
      return v.includes("PRIVATE KEY") || v.includes('"d"') ? ok() : bad("Paste a private key: PEM or a JWK with its private part.");
  }
}

/** A passing test of `target` with the usual check ids. */
export function passingTest(target: ConnectionTarget): ConnectionTest {
  const ids = target === "microsoft" ? ["token", "tenant", "permissions:guests", "expiry"] : ["token", "scope:okta.users.read", "scope:okta.logs.read"];
  return {
    target,
    ok: true,
    testedAt: "2026-03-01T10:00:00Z",
    steps: ids.map((id): CheckStep => ({ id, label: `Check ${id}`, status: "ok", detail: `${id} fine`, fix: null, link: null })),
  };
}

/** The engine's default group names (docs/setup.md). */
export const DEFAULT_GROUPS: GroupSetting[] = [
  { role: "assignments", name: "Office 365 Assignments" },
  { role: "guests", name: "O365Guest" },
];

/** A subscribed SKU as the sandbox tenant serves it, stored the way `sync_licenses` stores it. */
export function sku(partNumber: string, enabled: number, consumed: number, extra: Partial<License> = {}): License {
  const n = partNumber.length;
  return {
    skuId: `${String(n).padStart(8, "0")}-0000-4000-8000-${partNumber.toLowerCase().replace(/[^a-z0-9]/g, "").padEnd(12, "0").slice(0, 12)}`,
    skuPartNumber: partNumber,
    productName: null,
    enabled,
    consumed,
    available: Math.max(0, enabled - consumed),
    suspended: 0,
    warning: 0,
    capabilityStatus: "Enabled",
    servicePlans: [],
    ...extra,
  };
}

/** An Okta group of the fake org. */
export interface FakeGroup {
  id: string;
  name: string;
  members: number;
}

/** What the fake engine keeps per profile for the Licenses step. */
interface LicenseState {
  refreshedAt: string | null;
  licenses: License[];
  assignments: LicenseAssignment[];
  usageLocation: string | null;
}

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

export class FakeEngine {
  profiles: Profile[] = [];
  activeId: string | null = null;
  calls: Call[] = [];
  /** When set, the next call of that command rejects with this error (once). */
  failNext = new Map<string, ApiError>();
  /** When set, calls of that command wait for the returned promise before answering. */
  gate = new Map<string, Promise<void>>();
  /** What `create_sandbox_profile` reports on its progress channel, in order (the engine's real steps). */
  progress: Progress[] = [
    ["sandbox", "Starting the built-in sandbox tenant"],
    ["credentials", "Creating demo credentials on the sandbox tenant"],
    ["keychain", "Storing the Okta API token and the client secret in the OS keychain"],
    ["profile", 'Saving the profile "Sandbox"'],
    ["done", 'The sandbox profile "Sandbox" is ready'],
  ].map(([step, message], done) => ({ operation: "create_sandbox_profile", step, done, total: 4, message }));
  /** When set, `create_sandbox_profile` waits for the promise right after reporting that step. */
  progressGate = new Map<string, Promise<void>>();
  credentials: CredentialInfo[] = [];
  /** What test_microsoft / test_okta answer, and the checks they report while running. */
  tests: Record<ConnectionTarget, ConnectionTest> = { microsoft: passingTest("microsoft"), okta: passingTest("okta") };
  /** When set, a test waits for the promise after reporting its first check. */
  testGate: Promise<void> | null = null;
  check: (field: FieldId, value: string) => FieldCheck = fakeCheck;
  /** What `requirements` answers: the engine's own table (generated from Rust), unless a test changes it. */
  requirements: OperationRequirement[] = structuredClone(REQUIREMENTS);
  /** The Okta org's groups (what plan_groups matches names against, apply_groups adds to). */
  oktaGroups: FakeGroup[] = [];
  /** Each profile's group names; a profile without an entry has the defaults. */
  groupNames = new Map<string, GroupSetting[]>();
  /** The Microsoft tenant's subscribed SKUs: what sync_licenses stores. */
  tenantSkus: License[] = [];
  /**
   * When set, sync_licenses, apply_groups, apply_microsoft_app, apply_okta_app and review wait for
   * the promise after their first report.
   */
  setupGate: Promise<void> | null = null;
  /** The automated setup and the review: the fake tenants' apps, the sign-in, what apply writes. */
  readonly setup: FakeSetup = new FakeSetup(this);
  /** Provisioning: settings, plans and applies of runs, their history, triggers, test runs. */
  readonly runs: FakeRuns = new FakeRuns(this);
  /** The licensing lifecycle: settings, manager emails, stages on a tenant clock, undo, seats over time. */
  readonly lifecycle: FakeLifecycle = new FakeLifecycle(this);
  /** Anything-as-a-Source imports: sources, mappings, plans, applies with import sessions, monitoring. */
  readonly imports: FakeImports = new FakeImports(this);
  /** The links open_in_browser opened, in order. */
  opened: string[] = [];
  #licenses = new Map<string, LicenseState>();
  #keys = 0;
  #seq = 0;
  #groupSeq = 0;

  info(): AppInfo {
    return {
      version: "0.1.0",
      buildKind: "debug",
      dataDir: "/tmp/okta365-test",
      logDir: "/tmp/okta365-test/logs",
      activeProfileId: this.activeId,
    };
  }

  addProfile(partial: Partial<Profile> = {}): Profile {
    this.#seq += 1;
    const profile: Profile = {
      id: `p${this.#seq}`,
      name: this.#seq === 1 ? "Sandbox" : `Sandbox ${this.#seq}`,
      kind: "sandbox",
      oktaOrgUrl: "http://127.0.0.1:41234",
      entraLoginUrl: "http://127.0.0.1:41234",
      graphUrl: "http://127.0.0.1:41234",
      msTenant: "contoso.onmicrosoft.com",
      msClientId: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
      embeddedSandbox: true,
      wizardStep: "welcome",
      createdAt: "2026-01-01T00:00:00Z",
      microsoft: {
        tenant: partial.msTenant ?? "contoso.onmicrosoft.com",
        clientId: partial.msClientId ?? "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
        credentialKind: "secret",
      },
      okta: { orgUrl: "http://127.0.0.1:41234", auth: "apiToken", clientId: null, keyId: null, identitySourceId: null },
      // The engine's default: every operation but imports.
      operations: REQUIREMENTS.map((r) => r.operation).filter((op) => op !== "imports"),
      // The engine's default group names until the Groups step changes them.
      groups: [
        { role: "assignments", name: "Office 365 Assignments" },
        { role: "guests", name: "O365Guest" },
      ],
      ...partial,
    };
    this.profiles.push(profile);
    return profile;
  }

  /** Stores credential metadata the way the engine's keychain save does (replacing one of the same kind). */
  store(profileId: string, kind: CredentialKind, extra: Partial<CredentialInfo> = {}): CredentialInfo {
    const p = this.#find(profileId);
    const info: CredentialInfo = {
      profileId: p.id,
      profileName: p.name,
      kind,
      label: LABELS[kind],
      hint: null,
      createdAt: "2026-02-01T09:00:00Z",
      lastUsedAt: null,
      expiresAt: null,
      daysLeft: null,
      expiryWarning: false,
      ...extra,
    };
    this.credentials = [...this.credentials.filter((c) => !(c.profileId === p.id && c.kind === kind)), info];
    return info;
  }

  /** The Licenses step's stored state of a profile (what list_licenses reads). */
  licenseState(profileId: string): LicenseState {
    let state = this.#licenses.get(profileId);
    if (!state) {
      state = { refreshedAt: null, licenses: [], assignments: [], usageLocation: null };
      this.#licenses.set(profileId, state);
    }
    return state;
  }

  groupsOf(profileId: string): GroupSetting[] {
    return structuredClone(this.groupNames.get(profileId) ?? DEFAULT_GROUPS);
  }

  /** A profile by id or name, or the engine's not_found error. */
  profile(id: unknown): Profile {
    return this.#find(id);
  }

  /** A profile as the engine answers it: with its group names. */
  out(p: Profile): Profile {
    return this.#out(p);
  }

  /** What plan_groups answers for a profile. */
  groupsPlan(profileId: string): GroupsPlan {
    return this.#plan(profileId);
  }

  /** What list_licenses answers for a profile. */
  licensesView(profileId: string): LicensesView {
    return this.#view(profileId);
  }

  /** Sends one message on a command's progress channel. */
  send(channel: unknown, index: number, message: unknown): void {
    sendOnChannel(channel, index, message);
  }

  /** A profile as the engine answers it: with its group names. */
  #out(p: Profile): Profile {
    return { ...structuredClone(p), groups: this.groupsOf(p.id) } as Profile;
  }

  #plan(profileId: string): GroupsPlan {
    return {
      profileId,
      plannedAt: "2026-03-01T10:00:00Z",
      items: this.groupsOf(profileId).map((g) => {
        const found = this.oktaGroups.find((x) => x.name === g.name);
        return {
          role: g.role,
          name: g.name,
          action: found ? "exists" : "create",
          groupId: found?.id ?? null,
          memberCount: found?.members ?? null,
        };
      }),
    };
  }

  #view(profileId: string): LicensesView {
    const state = this.licenseState(profileId);
    const groups = this.groupsOf(profileId);
    const warnings = state.assignments.flatMap((a) => {
      const license = state.licenses.find((l) => l.skuId === a.skuId);
      const name = groups.find((g) => g.role === a.role)?.name;
      const members = this.oktaGroups.find((g) => g.name === name)?.members ?? 0;
      if (!license || members <= license.available) return [];
      return [
        {
          skuId: a.skuId,
          role: a.role,
          groupMembers: members,
          available: license.available,
          message: `${name} has ${members} members but ${license.skuPartNumber} has only ${license.available} seats available.`,
        },
      ];
    });
    return structuredClone({ profileId, ...state, warnings });
  }

  #requireOkta(p: Profile): void {
    if (!p.okta.orgUrl || p.okta.auth === null)
      throw { code: "invalid_input", message: "This profile has no Okta connection yet; save one on the Okta step." } satisfies ApiError;
  }

  #find(id: unknown): Profile {
    const p = this.profiles.find((x) => x.id === id || x.name === id);
    if (!p) throw { code: "not_found", message: `No profile named or with id "${String(id)}".` } satisfies ApiError;
    return p;
  }

  async handle(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    // Recorded as they cross the wire (JSON): a channel is its `__CHANNEL__:<id>` reference.
    this.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) as Record<string, unknown> });
    const gate = this.gate.get(cmd);
    if (gate) await gate;
    const failure = this.failNext.get(cmd);
    if (failure) {
      this.failNext.delete(cmd);
      throw failure;
    }
    switch (cmd) {
      case "app_info":
        return this.info();
      case "list_profiles":
        return this.profiles.map((p) => this.#out(p));
      case "create_sandbox_profile": {
        const request = args.request as { name: string | null; url: string | null } | undefined;
        if (!request || !("name" in request) || !("url" in request))
          throw { code: "invalid_input", message: "missing request" } satisfies ApiError;
        if (!args.onProgress) throw { code: "invalid_input", message: "missing onProgress channel" } satisfies ApiError;
        for (const [i, report] of this.progress.entries()) {
          sendOnChannel(args.onProgress, i, structuredClone(report));
          const hold = this.progressGate.get(report.step);
          if (hold) await hold;
        }
        const p = this.addProfile(request.name ? { name: request.name } : {});
        this.activeId = p.id;
        return this.#out(p);
      }
      case "select_profile": {
        const p = this.#find(args.id);
        this.activeId = p.id;
        return this.#out(p);
      }
      case "remove_profile": {
        const p = this.#find(args.id);
        this.profiles = this.profiles.filter((x) => x !== p);
        if (this.activeId === p.id) this.activeId = null;
        return null;
      }
      case "set_wizard_step": {
        const p = this.#find(args.id);
        if (!isStepId(args.step))
          throw { code: "invalid_input", message: `Unknown step "${String(args.step)}".` } satisfies ApiError;
        p.wizardStep = args.step as StepId;
        return this.#out(p);
      }
      case "requirements":
        return structuredClone(this.requirements);
      case "validate_field":
        return this.check(args.field as FieldId, String(args.value));
      case "create_tenant_profile": {
        const name = String(args.name ?? "").trim();
        if (this.profiles.some((p) => p.name.toLowerCase() === name.toLowerCase()))
          throw { code: "already_exists", message: `A profile named "${name}" exists already.` } satisfies ApiError;
        const p = this.addProfile({
          name,
          kind: "tenant",
          oktaOrgUrl: "",
          entraLoginUrl: "https://login.microsoftonline.com",
          graphUrl: "https://graph.microsoft.com",
          msTenant: null,
          msClientId: null,
          embeddedSandbox: false,
          microsoft: null,
          okta: { orgUrl: "", auth: null, clientId: null, keyId: null, identitySourceId: null },
        });
        this.activeId = p.id;
        return this.#out(p);
      }
      case "save_microsoft": {
        const r = args.request as SaveMicrosoftRequest;
        const p = this.#find(r.profileId);
        const c = r.credential;
        const kind = c === null ? (p.microsoft?.credentialKind ?? null) : c.kind === "secret" ? "secret" : "certificate";
        if (c?.kind === "secret") this.store(p.id, "entra.client_secret", { hint: c.secret.slice(0, 3), expiresAt: c.expiresAt });
        if (c && c.kind !== "secret") this.store(p.id, "entra.client_certificate", { hint: "3A4F" });
        p.microsoft = { tenant: r.tenant, clientId: r.clientId, credentialKind: kind };
        p.msTenant = r.tenant;
        p.msClientId = r.clientId;
        return this.#out(p);
      }
      case "save_okta": {
        const r = args.request as SaveOktaRequest;
        const p = this.#find(r.profileId);
        if (r.auth.kind === "apiToken" && r.auth.token) this.store(p.id, "okta.api_token", { hint: r.auth.token.slice(0, 3) });
        if (r.auth.kind === "serviceApp" && r.auth.privateKey) this.store(p.id, "okta.private_key", { hint: "pasted" });
        p.oktaOrgUrl = r.orgUrl;
        p.okta = {
          ...p.okta,
          orgUrl: r.orgUrl,
          auth: r.auth.kind,
          clientId: r.auth.kind === "serviceApp" ? r.auth.clientId : null,
          keyId: r.auth.kind === "serviceApp" ? (r.auth.keyId ?? p.okta.keyId) : null,
          // Left out keeps the stored one; "" clears it.
          identitySourceId:
            r.identitySourceId === undefined || r.identitySourceId === null ? p.okta.identitySourceId : r.identitySourceId.trim() || null,
        };
        return this.#out(p);
      }
      case "generate_okta_key": {
        const p = this.#find(args.profileId);
        const keyId = `k${++this.#keys}`;
        this.store(p.id, "okta.private_key", { hint: keyId });
        p.okta = { ...p.okta, keyId };
        return { keyId, publicJwk: JSON.stringify({ kty: "EC", crv: "P-256", kid: keyId, x: "x", y: "y" }, null, 2) };
      }
      case "set_operations": {
        const p = this.#find(args.profileId);
        p.operations = [...(args.operations as OperationId[])];
        return this.#out(p);
      }
      case "test_microsoft":
      case "test_okta": {
        const target: ConnectionTarget = cmd === "test_microsoft" ? "microsoft" : "okta";
        this.#find(args.profileId);
        if (!args.onProgress) throw { code: "invalid_input", message: "missing onProgress channel" } satisfies ApiError;
        const result = this.tests[target];
        for (const [i, step] of result.steps.entries()) {
          sendOnChannel(args.onProgress, i, { operation: cmd, step: step.id, done: i, total: result.steps.length, message: step.label });
          if (i === 0 && this.testGate) await this.testGate;
        }
        return structuredClone(result);
      }
      case "list_credentials":
        return structuredClone(this.credentials);
      case "delete_credential": {
        const before = this.credentials.length;
        this.credentials = this.credentials.filter((c) => !(c.profileId === args.profileId && c.kind === args.kind));
        if (this.credentials.length === before)
          throw { code: "not_found", message: `No ${String(args.kind)} is stored for that profile.` } satisfies ApiError;
        return null;
      }
      case "set_credential_expiry": {
        const c = this.credentials.find((x) => x.profileId === args.profileId && x.kind === args.kind);
        if (!c) throw { code: "not_found", message: `No ${String(args.kind)} is stored for that profile.` } satisfies ApiError;
        c.expiresAt = (args.expiresAt as string | null) ?? null;
        c.daysLeft = null;
        return structuredClone(c);
      }
      case "set_group_names": {
        const p = this.#find(args.profileId);
        const groups = args.groups as GroupSetting[];
        for (const g of groups)
          if (!g.name.trim())
            throw { code: "invalid_input", message: `The ${g.role} group needs a name.` } satisfies ApiError;
        this.groupNames.set(p.id, groups.map((g) => ({ role: g.role, name: g.name.trim() })));
        return this.#out(p);
      }
      case "plan_groups": {
        const p = this.#find(args.profileId);
        this.#requireOkta(p);
        return this.#plan(p.id);
      }
      case "apply_groups": {
        const p = this.#find(args.profileId);
        this.#requireOkta(p);
        if (!args.onProgress) throw { code: "invalid_input", message: "missing onProgress channel" } satisfies ApiError;
        const missing = this.#plan(p.id).items.filter((i) => i.action === "create");
        for (const [i, item] of missing.entries()) {
          sendOnChannel(args.onProgress, i, { operation: cmd, step: item.role, done: i, total: missing.length, message: `Creating ${item.name}` });
          if (i === 0 && this.setupGate) await this.setupGate;
          this.oktaGroups.push({ id: `00g${++this.#groupSeq}`, name: item.name, members: 0 });
        }
        sendOnChannel(args.onProgress, missing.length, { operation: cmd, step: "done", done: missing.length, total: missing.length, message: "The groups are ready" });
        return this.#plan(p.id);
      }
      case "sync_licenses": {
        const p = this.#find(args.profileId);
        if (!args.onProgress) throw { code: "invalid_input", message: "missing onProgress channel" } satisfies ApiError;
        sendOnChannel(args.onProgress, 0, { operation: cmd, step: "skus", done: 0, total: 2, message: "Reading the subscribed SKUs" });
        if (this.setupGate) await this.setupGate;
        const state = this.licenseState(p.id);
        state.licenses = structuredClone(this.tenantSkus);
        state.refreshedAt = "2026-03-01T10:05:00Z";
        sendOnChannel(args.onProgress, 1, { operation: cmd, step: "done", done: 2, total: 2, message: "Licenses stored" });
        return this.#view(p.id);
      }
      case "list_licenses":
        return this.#view(this.#find(args.profileId).id);
      case "set_license_assignments": {
        const p = this.#find(args.profileId);
        const state = this.licenseState(p.id);
        const assignments = args.assignments as LicenseAssignment[];
        for (const a of assignments)
          if (!state.licenses.some((l) => l.skuId === a.skuId))
            throw { code: "not_found", message: `No stored license has the SKU id ${a.skuId}; refresh the licenses.` } satisfies ApiError;
        state.assignments = structuredClone(assignments);
        return this.#view(p.id);
      }
      case "set_usage_location": {
        const p = this.#find(args.profileId);
        const code = args.code as string | null;
        if (code !== null && !/^[A-Z]{2}$/.test(code))
          throw { code: "invalid_input", message: `"${code}" is not an ISO 3166 alpha-2 country code; use two letters such as US or DE.` } satisfies ApiError;
        this.licenseState(p.id).usageLocation = code;
        return this.#view(p.id);
      }
      case "open_in_browser": {
        const url = String(args.url);
        if (!/^https:\/\//.test(url) && !/^http:\/\/127\.0\.0\.1[:/]/.test(url))
          throw { code: "invalid_input", message: `okta365 opens only https:// links (or the sandbox on 127.0.0.1), not "${url}".` } satisfies ApiError;
        this.opened.push(url);
        return null;
      }
      default:
        if (this.setup.handles(cmd)) return this.setup.handle(cmd, args);
        if (this.runs.handles(cmd)) return this.runs.handle(cmd, args);
        if (this.lifecycle.handles(cmd)) return this.lifecycle.handle(cmd, args);
        if (this.imports.handles(cmd)) return this.imports.handle(cmd, args);
        throw `command ${cmd} not found`;
    }
  }

  callsOf(cmd: string): Call[] {
    return this.calls.filter((c) => c.cmd === cmd);
  }
}

/**
 * Delivers one message on a Tauri channel the way the Rust side does (`Channel::send` evaluates
 * `runCallback(id, { message, index })` in the webview); `mockIPC` installs that callback registry.
 */
export function sendOnChannel(channel: unknown, index: number, message: unknown): void {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } })
    .__TAURI_INTERNALS__;
  internals.runCallback((channel as { id: number }).id, { message, index });
}

export function installFakeEngine(engine = new FakeEngine()): FakeEngine {
  mockIPC((cmd, args) => engine.handle(cmd, args as Record<string, unknown>));
  return engine;
}

export { clearMocks };

/** A promise plus the function that resolves it, to hold a fake command open mid-test. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
