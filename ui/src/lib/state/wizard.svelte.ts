// The wizard's state: what the backend told us (app info, profiles, the active one), which step is
// shown, what is in flight, and the last error. Components read it and call its methods; the steps'
// own work (forms, tests, credentials) goes through `wizard.backend`, never straight to Tauri.
import {
  ipc,
  toIpcError,
  type ApiError,
  type AppInfo,
  type Backend,
  type ConnectionTest,
  type Profile,
  type Progress,
  type StepId,
  type ConnectionTarget,
} from "../ipc";
import { DueImports } from "./imports.svelte";
import { DueStages } from "./lifecycle.svelte";
import type { Triggers } from "./provisioning.svelte";
import { Requirements } from "./requirements.svelte";
import { nextStep, previousStep } from "./steps";

/** What the wizard is waiting for, so the right control can show progress and stay disabled. */
export type Busy = "loading" | "sandbox" | "tenant" | "select" | null;

export class Wizard {
  info = $state<AppInfo | null>(null);
  profiles = $state<Profile[]>([]);
  activeId = $state<string | null>(null);
  step = $state<StepId>("welcome");
  /** True once the first `app_info` and `list_profiles` answered. */
  ready = $state(false);
  busy = $state<Busy>(null);
  /** The latest progress report of the long call in flight (creating a sandbox profile), if any. */
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);
  /**
   * The first load failed: the backend cannot work at all (typically the engine could not open its
   * data dir or database). The app shows this full-page instead of the wizard.
   */
  startupError = $state<ApiError | null>(null);
  /**
   * The last connection test of each profile and target in this session (memory only): a step shows
   * it again when the admin comes back, and the rail marks a step whose test passed.
   */
  tests = $state<Record<string, Partial<Record<ConnectionTarget, ConnectionTest>>>>({});
  /** The `data-testid` of a field the next step should focus (Credentials → Replace). */
  focusField = $state<string | null>(null);

  readonly active: Profile | null = $derived(
    this.profiles.find((p) => p.id === this.activeId) ?? null,
  );
  readonly isSandbox: boolean = $derived(this.active?.kind === "sandbox");

  /** The engine's operation → requirement table, asked for once by the first step that shows it. */
  readonly requirements: Requirements;

  /**
   * The System Log triggers of each profile turned on in this session: they belong to the app, not
   * to the Provisioning step, so they keep polling while the admin looks at other steps.
   */
  readonly triggers = new Map<string, Triggers>();

  /**
   * The app's round of due stages (docs/licensing.md, "Stages"): started once the profiles have
   * loaded, every 15 s while the app is open, whichever step is shown.
   */
  readonly dueStages: DueStages;

  /**
   * The app's round of scheduled imports (docs/imports.md, "Schedules"): started with the due
   * stages, every minute while the app is open.
   */
  readonly dueImports: DueImports;

  readonly #backend: Backend;
  /** Bumped on every step change so a slow, older `set_wizard_step` answer cannot win. */
  #stepSeq = 0;

  constructor(backend: Backend = ipc) {
    this.#backend = backend;
    this.requirements = new Requirements(backend);
    this.dueStages = new DueStages(backend);
    this.dueImports = new DueImports(backend);
  }

  /** The backend the steps call for their own work (saving forms, tests, credentials). */
  get backend(): Backend {
    return this.#backend;
  }

  /** The connection steps of the active profile whose last test in this session passed. */
  get connectedSteps(): StepId[] {
    return (["microsoft", "okta"] as const).filter((t) => this.lastTest(t)?.ok === true);
  }

  /** The last test of `target` on the active profile in this session, if any. */
  lastTest(target: ConnectionTarget, profileId = this.activeId): ConnectionTest | null {
    return profileId ? (this.tests[profileId]?.[target] ?? null) : null;
  }

  /** Keeps a test result for this session. */
  recordTest(profileId: string, test: ConnectionTest): void {
    this.tests[profileId] = { ...this.tests[profileId], [test.target]: test };
  }

  /** A name for a new tenant profile that no profile has yet: "My tenants", "My tenants 2", … */
  suggestProfileName(base = "My tenants"): string {
    const taken = new Set(this.profiles.map((p) => p.name.toLowerCase()));
    if (!taken.has(base.toLowerCase())) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base} ${i}`.toLowerCase())) return `${base} ${i}`;
  }

  /** Loads app info and profiles; opens the active profile at its saved step. */
  async load(): Promise<void> {
    this.busy = "loading";
    this.error = null;
    try {
      const [info, profiles] = await Promise.all([
        this.#backend.appInfo(),
        this.#backend.listProfiles(),
      ]);
      this.info = info;
      this.profiles = profiles;
      this.activeId = profiles.some((p) => p.id === info.activeProfileId)
        ? info.activeProfileId
        : null;
      this.step = this.active?.wizardStep ?? "welcome";
      this.ready = true;
    } catch (error) {
      this.startupError = asApiError(error);
    } finally {
      this.busy = null;
    }
  }

  /** Shows `step` and, when a profile is active, remembers it there so a restart reopens it. */
  async goTo(step: StepId): Promise<void> {
    this.step = step;
    const profile = this.active;
    if (!profile || profile.wizardStep === step) return;
    const seq = ++this.#stepSeq;
    try {
      const saved = await this.#backend.setWizardStep(profile.id, step);
      if (seq === this.#stepSeq) this.#upsert(saved);
    } catch (error) {
      this.#fail(error);
    }
  }

  async next(): Promise<void> {
    const to = nextStep(this.step);
    if (to) await this.goTo(to);
  }

  async back(): Promise<void> {
    const to = previousStep(this.step);
    if (to) await this.goTo(to);
  }

  /**
   * "Use the built-in sandbox tenant": creates a sandbox profile, makes it active, moves on. `blank`
   * starts it without demo credentials, so okta365 creates the Entra app and the Okta service app.
   */
  async useSandbox(blank = false): Promise<void> {
    if (this.busy) return;
    this.busy = "sandbox";
    this.error = null;
    this.progress = null;
    try {
      const request = blank ? { name: null, url: null, blank: true } : { name: null, url: null };
      const profile = await this.#backend.createSandboxProfile(request, (progress) => {
        // A report that arrives after the call answered is stale.
        if (this.busy === "sandbox") this.progress = progress;
      });
      this.#upsert(profile);
      this.activeId = profile.id;
      this.busy = null;
      this.progress = null;
      await this.goTo("microsoft");
    } catch (error) {
      this.#fail(error);
    } finally {
      this.busy = null;
      this.progress = null;
    }
  }

  /**
   * "Connect my tenants": creates a profile named `name` on the real Microsoft and Okta endpoints,
   * makes it active and opens its (empty) Microsoft step. Resolves true once that is done.
   */
  async connectTenants(name: string): Promise<boolean> {
    if (this.busy) return false;
    this.busy = "tenant";
    this.error = null;
    try {
      const profile = await this.#backend.createTenantProfile(name.trim());
      this.#upsert(profile);
      this.activeId = profile.id;
      this.busy = null;
      await this.goTo("microsoft");
      return true;
    } catch (error) {
      this.#fail(error);
      return false;
    } finally {
      this.busy = null;
    }
  }

  /** Takes a profile the backend answered with (after a save) as the current truth. */
  updateProfile(profile: Profile): void {
    this.#upsert(profile);
  }

  /** Opens `step` of `profileId` (switching profiles first when needed) and focuses a field there. */
  async openField(profileId: string, step: StepId, testid: string): Promise<void> {
    if (profileId !== this.activeId) await this.selectProfile(profileId);
    if (this.activeId !== profileId) return;
    this.focusField = testid;
    await this.goTo(step);
  }

  /** Switches the active profile and opens it at its saved step. */
  async selectProfile(id: string): Promise<void> {
    if (this.busy || id === this.activeId) return;
    this.busy = "select";
    this.error = null;
    try {
      const profile = await this.#backend.selectProfile(id);
      this.#upsert(profile);
      this.activeId = profile.id;
      this.#stepSeq++;
      this.step = profile.wizardStep;
    } catch (error) {
      this.#fail(error);
    } finally {
      this.busy = null;
    }
  }

  dismissError(): void {
    this.error = null;
  }

  #upsert(profile: Profile): void {
    const i = this.profiles.findIndex((p) => p.id === profile.id);
    if (i === -1) this.profiles.push(profile);
    else this.profiles[i] = profile;
  }

  #fail(error: unknown): void {
    this.error = asApiError(error);
  }
}

function asApiError(error: unknown): ApiError {
  const e = toIpcError(error);
  return { code: e.code, message: e.message, details: e.details };
}
