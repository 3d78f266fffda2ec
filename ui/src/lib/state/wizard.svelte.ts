// The wizard's state: what the backend told us (app info, profiles, the active one), which step is
// shown, what is in flight, and the last error. Components read it and call its methods; only this
// class talks to the backend.
import {
  ipc,
  toIpcError,
  type ApiError,
  type AppInfo,
  type Backend,
  type Profile,
  type Progress,
  type StepId,
} from "../ipc";
import { nextStep, previousStep } from "./steps";

/** How okta365 will sign in to Okta. */
export type OktaAuth = "private_key_jwt" | "api_token";

/** What the admin typed into the empty tenant forms. Memory only; never a secret, never saved yet. */
export interface TenantDraft {
  msTenant: string;
  msClientId: string;
  oktaOrgUrl: string;
  oktaAuth: OktaAuth;
}

/** What the wizard is waiting for, so the right control can show progress and stay disabled. */
export type Busy = "loading" | "sandbox" | "select" | null;

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
   * The admin chose "Connect my tenants": the tenant steps show empty forms instead of the active
   * profile's values. Nothing is saved from them until the connector steps arrive.
   */
  connecting = $state(false);
  draft = $state<TenantDraft>({ msTenant: "", msClientId: "", oktaOrgUrl: "", oktaAuth: "private_key_jwt" });

  readonly active: Profile | null = $derived(
    this.profiles.find((p) => p.id === this.activeId) ?? null,
  );
  readonly isSandbox: boolean = $derived(this.active?.kind === "sandbox");

  readonly #backend: Backend;
  /** Bumped on every step change so a slow, older `set_wizard_step` answer cannot win. */
  #stepSeq = 0;

  constructor(backend: Backend = ipc) {
    this.#backend = backend;
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
    if (step === "welcome") this.connecting = false;
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

  /** "Use the built-in sandbox tenant": creates a sandbox profile, makes it active, moves on. */
  async useSandbox(): Promise<void> {
    if (this.busy) return;
    this.busy = "sandbox";
    this.error = null;
    this.progress = null;
    try {
      const profile = await this.#backend.createSandboxProfile({ name: null, url: null }, (progress) => {
        // A report that arrives after the call answered is stale.
        if (this.busy === "sandbox") this.progress = progress;
      });
      this.#upsert(profile);
      this.activeId = profile.id;
      this.connecting = false;
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
   * "Connect my tenants": shows the Microsoft step with an empty form. No profile is created and the
   * active profile's saved step is left alone, because nothing from that form is saved yet.
   */
  connectTenants(): void {
    this.error = null;
    this.connecting = true;
    this.step = "microsoft";
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
      this.connecting = false;
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
