// "Create the app for me" on the Microsoft and Okta steps (docs/setup.md): the admin's one sign-in
// (or one API token), a plan that shows every write and changes nothing, then Apply with progress.
// The engine holds the sign-in's token and the API token; nothing secret is kept here except an API
// token pasted in this step, and only until the step is left.
import type {
  ApiError,
  AppCredentialChoice,
  Backend,
  CredentialInfo,
  MicrosoftAdmin,
  MicrosoftAppPlan,
  MicrosoftAppRequest,
  MicrosoftAppResult,
  MicrosoftSignIn,
  OktaAppPlan,
  OktaAppRequest,
  OktaAppResult,
  PlanAction,
  Profile,
  Progress,
  SignInMethod,
} from "../ipc";
import { asApiError } from "./connect.svelte";

/** The name the engine gives both apps unless the admin types another. */
export const DEFAULT_APP_NAME = "okta365";

/** What a plan row's action means, for people. */
export const ACTION_WORDS: Record<PlanAction, string> = {
  create: "Create",
  exists: "Exists",
  update: "Update",
  keep: "Keep",
};

/** The lifetime of a new client secret or certificate: a whole number of months, 1 to 24. */
export function checkMonths(value: string): { months: number | null; error: string | null } {
  const v = value.trim();
  if (!/^\d+$/.test(v)) return { months: null, error: "Type a number of months, 1 to 24." };
  const months = Number(v);
  if (months < 1 || months > 24) return { months: null, error: `A credential lasts 1 to 24 months, not ${months}.` };
  return { months, error: null };
}

/** A plan's count of writes as a sentence; 0 means a re-run would change nothing. */
export function changesText(changes: number): string {
  if (changes === 0) return "Nothing to change: everything is in place.";
  return changes === 1 ? "1 change will be written." : `${changes} changes will be written.`;
}

/** The Microsoft step's automated path: sign in, plan the app registration, create it. */
export class MicrosoftAppSetup {
  readonly profileId: string;
  /** The profile's tenant; when it has none the admin may type one (else "organizations"). */
  readonly profileTenant: string | null;
  method = $state<SignInMethod>("deviceCode");
  tenant = $state("");
  /** The public client to sign in with; empty: the engine's default (Microsoft Graph Command Line Tools). */
  publicClientId = $state("");
  /** The sign-in in progress: the code to type, or the address to open. */
  signIn = $state<MicrosoftSignIn | null>(null);
  /** The latest report while waiting for the admin. */
  waitProgress = $state<Progress | null>(null);
  admin = $state<MicrosoftAdmin | null>(null);
  starting = $state(false);
  waiting = $state(false);
  /** True after the admin cancelled the last sign-in (not an error). */
  cancelled = $state(false);
  signInError = $state<ApiError | null>(null);
  /** Why the browser could not be opened (the link is still there to copy). */
  openError = $state<string | null>(null);

  appName = $state(DEFAULT_APP_NAME);
  credentialKind = $state<AppCredentialChoice["kind"]>("secret");
  months = $state("12");

  plan = $state<MicrosoftAppPlan | null>(null);
  result = $state<MicrosoftAppResult | null>(null);
  planning = $state(false);
  applying = $state(false);
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);

  readonly #backend: Backend;
  readonly #onProfile: (profile: Profile) => void;
  #cancelling = false;

  constructor(backend: Backend, profile: Profile, onProfile: (profile: Profile) => void = () => {}) {
    this.#backend = backend;
    this.#onProfile = onProfile;
    this.profileId = profile.id;
    this.profileTenant = profile.microsoft?.tenant ?? profile.msTenant ?? null;
  }

  get signingIn(): boolean {
    return this.starting || this.waiting;
  }

  get busy(): boolean {
    return this.signingIn || this.planning || this.applying;
  }

  get monthsError(): string | null {
    return checkMonths(this.months).error;
  }

  get appNameError(): string | null {
    return this.appName.trim() === "" ? "Type a name for the app registration." : null;
  }

  /** Plan and Apply need a signed-in admin and valid values. */
  get blocked(): boolean {
    return this.admin === null || this.monthsError !== null || this.appNameError !== null;
  }

  request(): MicrosoftAppRequest | null {
    const { months } = checkMonths(this.months);
    if (!this.admin || months === null || this.appNameError) return null;
    return {
      profileId: this.profileId,
      sessionId: this.admin.sessionId,
      appName: this.appName.trim(),
      credential: { kind: this.credentialKind, lifetimeMonths: months },
    };
  }

  /** A value changed: the shown plan no longer says what Apply would do. */
  edited(): void {
    this.plan = null;
    this.error = null;
  }

  /**
   * Starts the sign-in and waits for it: shows the code (or the address) as soon as the engine has
   * it, then the signed-in admin once approved. Resolves with the admin, or null when it failed
   * (`signInError`) or was cancelled (`cancelled`).
   */
  async startSignIn(): Promise<MicrosoftAdmin | null> {
    if (this.busy) return null;
    this.starting = true;
    this.signInError = null;
    this.cancelled = false;
    this.openError = null;
    this.#cancelling = false;
    this.admin = null;
    this.plan = null;
    this.result = null;
    this.error = null;
    try {
      const signIn = await this.#backend.startMicrosoftSignIn({
        profileId: this.profileId,
        method: this.method,
        tenant: this.profileTenant ? null : this.tenant.trim() || null,
        publicClientId: this.publicClientId.trim() || null,
      });
      this.signIn = signIn;
      this.starting = false;
      this.waiting = true;
      // The browser method's page is opened for the admin; the wait starts at once either way.
      if (signIn.method === "browser" && signIn.authorizeUrl) void this.openInBrowser(signIn.authorizeUrl);
      this.admin = await this.#backend.finishMicrosoftSignIn(signIn.sessionId, (progress) => {
        if (this.waiting) this.waitProgress = progress;
      });
      return this.admin;
    } catch (error) {
      const e = asApiError(error);
      if (e.code === "cancelled" || this.#cancelling) this.cancelled = true;
      else this.signInError = e;
      return null;
    } finally {
      this.starting = false;
      this.waiting = false;
      this.signIn = null;
      this.waitProgress = null;
    }
  }

  /** Opens a link of the sign-in in the system browser; a failure is shown, the link stays to copy. */
  async openInBrowser(url: string): Promise<void> {
    this.openError = null;
    try {
      await this.#backend.openInBrowser(url);
    } catch (error) {
      this.openError = asApiError(error).message;
    }
  }

  /** Stops waiting for the sign-in; the engine closes it and the wait ends as cancelled. */
  async cancelSignIn(): Promise<void> {
    const signIn = this.signIn;
    if (!signIn || !this.waiting) return;
    this.#cancelling = true;
    try {
      await this.#backend.cancelMicrosoftSignIn(signIn.sessionId);
    } catch (error) {
      this.signInError = asApiError(error);
    }
  }

  /** Leaving the step: a sign-in still waiting is cancelled so the engine stops polling. */
  dispose(): void {
    if (this.waiting) void this.cancelSignIn();
  }

  async makePlan(): Promise<MicrosoftAppPlan | null> {
    const request = this.request();
    if (this.busy || !request) return null;
    this.planning = true;
    this.error = null;
    try {
      this.plan = await this.#backend.planMicrosoftApp(request);
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  /** Writes the shown plan; the answer's plan (0 changes) replaces it, and the profile is updated. */
  async apply(): Promise<MicrosoftAppResult | null> {
    const request = this.request();
    if (this.busy || !request || !this.plan) return null;
    this.applying = true;
    this.error = null;
    this.progress = null;
    try {
      const result = await this.#backend.applyMicrosoftApp(request, (progress) => {
        if (this.applying) this.progress = progress;
      });
      this.result = result;
      this.plan = result.plan;
      this.#onProfile(result.profile);
      return result;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.applying = false;
      this.progress = null;
    }
  }
}

/** The Okta step's automated path: an API token, plan the service app, create it, forget the token. */
export class OktaAppSetup {
  readonly profileId: string;
  /** The profile has an API token in the OS keychain. */
  storedToken = $state(false);
  /** Use the stored token instead of pasting one. */
  useStored = $state(false);
  /** A pasted token: kept in memory for this step only, sent with each plan and apply. */
  apiToken = $state("");
  appName = $state(DEFAULT_APP_NAME);

  plan = $state<OktaAppPlan | null>(null);
  result = $state<OktaAppResult | null>(null);
  planning = $state(false);
  applying = $state(false);
  forgetting = $state(false);
  /** True once the API token was deleted from the keychain. */
  forgotten = $state(false);
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);

  readonly #backend: Backend;
  readonly #onProfile: (profile: Profile) => void;

  constructor(backend: Backend, profile: Profile, onProfile: (profile: Profile) => void = () => {}) {
    this.#backend = backend;
    this.#onProfile = onProfile;
    this.profileId = profile.id;
  }

  /** Takes what the keychain holds; a stored API token is used unless the admin pastes another. */
  setStored(credentials: CredentialInfo[]): void {
    const had = this.storedToken;
    this.storedToken = credentials.some((c) => c.profileId === this.profileId && c.kind === "okta.api_token");
    if (this.storedToken && !had && this.apiToken.trim() === "") this.useStored = true;
    if (!this.storedToken) this.useStored = false;
  }

  get busy(): boolean {
    return this.planning || this.applying || this.forgetting;
  }

  get appNameError(): string | null {
    return this.appName.trim() === "" ? "Type a name for the service app." : null;
  }

  /** Plan needs a name and a token (pasted, or the stored one). */
  get blocked(): boolean {
    return this.appNameError !== null || (!this.useStored && this.apiToken.trim() === "");
  }

  request(): OktaAppRequest {
    return {
      profileId: this.profileId,
      apiToken: this.useStored ? null : this.apiToken.trim() || null,
      appName: this.appName.trim(),
    };
  }

  edited(): void {
    this.plan = null;
    this.error = null;
  }

  async makePlan(): Promise<OktaAppPlan | null> {
    if (this.busy || this.blocked) return null;
    this.planning = true;
    this.error = null;
    try {
      this.plan = await this.#backend.planOktaApp(this.request());
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  async apply(): Promise<OktaAppResult | null> {
    if (this.busy || this.blocked || !this.plan) return null;
    this.applying = true;
    this.error = null;
    this.progress = null;
    this.forgotten = false;
    try {
      const result = await this.#backend.applyOktaApp(this.request(), (progress) => {
        if (this.applying) this.progress = progress;
      });
      this.result = result;
      this.plan = result.plan;
      this.#onProfile(result.profile);
      return result;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.applying = false;
      this.progress = null;
    }
  }

  /** Deletes the API token from the keychain once the service app works. */
  async forgetToken(): Promise<boolean> {
    if (this.busy) return false;
    this.forgetting = true;
    this.error = null;
    try {
      const profile = await this.#backend.forgetOktaApiToken(this.profileId);
      this.#onProfile(profile);
      this.forgotten = true;
      this.storedToken = false;
      this.useStored = false;
      if (this.result) this.result = { ...this.result, apiTokenStored: false };
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.forgetting = false;
    }
  }
}
