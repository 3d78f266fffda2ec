// The Provisioning step's state (docs/provisioning.md): the settings with a live username preview,
// one operation's run at a time (plan → guard → apply with live steps → result), the System Log
// triggers the app polls while they are on, and the one-click test run. Every call goes through the
// wizard's backend; the engine's answers are what the screen shows.
import type {
  ApiError,
  AttributeMapping,
  Backend,
  OperationId,
  Progress,
  ProvisioningSettings,
  RunDetail,
  RunPlan,
  RunSummary,
  TestRunResult,
  UsernameFormat,
  UsernamePreview,
} from "../ipc";
import { asApiError } from "./connect.svelte";
import { advance, liveSteps, settle, startNext, type LiveStep } from "./runs";

/** The engine's default mapping, shown by "Restore defaults" (docs/provisioning.md, "Settings"). */
export const DEFAULT_ATTRIBUTES: readonly AttributeMapping[] = [
  { okta: "firstName", graph: "givenName" },
  { okta: "lastName", graph: "surname" },
  { okta: "displayName", graph: "displayName" },
  { okta: "email", graph: "mail" },
  { okta: "title", graph: "jobTitle" },
  { okta: "department", graph: "department" },
  { okta: "mobilePhone", graph: "mobilePhone" },
  { okta: "city", graph: "city" },
  { okta: "countryCode", graph: "usageLocation" },
];

/** The Graph user properties a mapping may write. */
export const GRAPH_PROPERTIES: readonly string[] = [
  "givenName",
  "surname",
  "displayName",
  "mail",
  "jobTitle",
  "department",
  "mobilePhone",
  "officeLocation",
  "city",
  "state",
  "country",
  "postalCode",
  "streetAddress",
  "companyName",
  "employeeId",
  "usageLocation",
];

export type UsernameKind = UsernameFormat["kind"];

export const USERNAME_KINDS: Array<{ value: UsernameKind; label: string }> = [
  { value: "emailLocalPart", label: "Email name @ a tenant domain" },
  { value: "email", label: "Okta email as is" },
  { value: "oktaLogin", label: "Okta login as is" },
];

/** The settings form: load, edit, live username preview, attribute rows, save. */
export class SettingsEditor {
  readonly profileId: string;
  settings = $state<ProvisioningSettings | null>(null);
  /** The domain last chosen, kept while another format is shown. */
  domain = $state("");
  preview = $state<UsernamePreview | null>(null);
  previewing = $state(false);
  loading = $state(false);
  saving = $state(false);
  saved = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #onSaved: (settings: ProvisioningSettings) => void;
  #previewSeq = 0;

  constructor(backend: Backend, profileId: string, onSaved: (settings: ProvisioningSettings) => void = () => {}) {
    this.#backend = backend;
    this.profileId = profileId;
    this.#onSaved = onSaved;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.settings = await this.#backend.provisioningSettings(this.profileId);
      if (this.settings.username.kind === "emailLocalPart") this.domain = this.settings.username.domain;
      await this.refreshPreview();
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.loading = false;
    }
  }

  get kind(): UsernameKind {
    return this.settings?.username.kind ?? "emailLocalPart";
  }

  /** The tenant's verified domains (from the last preview), for the domain select. */
  get domains(): string[] {
    const known = this.preview?.domains ?? [];
    return this.domain && !known.includes(this.domain) ? [this.domain, ...known] : known;
  }

  /** Switches the username format and previews it. */
  setKind(kind: UsernameKind): void {
    if (!this.settings) return;
    if (kind === "emailLocalPart") {
      const domain = this.domain || this.preview?.domains[0] || "";
      this.domain = domain;
      this.settings.username = { kind, domain };
    } else this.settings.username = { kind };
    this.edited();
    void this.refreshPreview();
  }

  setDomain(domain: string): void {
    if (!this.settings) return;
    this.domain = domain;
    this.settings.username = { kind: "emailLocalPart", domain };
    this.edited();
    void this.refreshPreview();
  }

  /** Asks the engine for the usernames of the current format; an older answer never wins. */
  async refreshPreview(): Promise<void> {
    if (!this.settings) return;
    const seq = ++this.#previewSeq;
    this.previewing = true;
    try {
      const preview = await this.#backend.previewUsernames(this.profileId, $state.snapshot(this.settings.username));
      if (seq !== this.#previewSeq) return;
      this.preview = preview;
      if (!this.domain && preview.domains[0] && this.settings.username.kind === "emailLocalPart" && !this.settings.username.domain) {
        this.domain = preview.domains[0];
        this.settings.username = { kind: "emailLocalPart", domain: this.domain };
      }
    } catch (error) {
      if (seq === this.#previewSeq) this.error = asApiError(error);
    } finally {
      if (seq === this.#previewSeq) this.previewing = false;
    }
  }

  get problems(): number {
    return (this.preview?.rows ?? []).filter((r) => r.problem !== null).length;
  }

  addAttribute(): void {
    if (!this.settings) return;
    const used = new Set(this.settings.attributes.map((a) => a.graph));
    const graph = GRAPH_PROPERTIES.find((p) => !used.has(p)) ?? GRAPH_PROPERTIES[0];
    this.settings.attributes.push({ okta: "", graph });
    this.edited();
  }

  removeAttribute(index: number): void {
    this.settings?.attributes.splice(index, 1);
    this.edited();
  }

  resetAttributes(): void {
    if (!this.settings) return;
    this.settings.attributes = DEFAULT_ATTRIBUTES.map((a) => ({ ...a }));
    this.edited();
  }

  /** A message for one mapping row, or null. */
  attributeError(index: number): string | null {
    const rows = this.settings?.attributes ?? [];
    const row = rows[index];
    if (!row) return null;
    if (!row.okta.trim()) return "Name the Okta attribute.";
    if (rows.findIndex((r) => r.graph === row.graph) !== index) return `${row.graph} is mapped twice.`;
    return null;
  }

  /** A message for the numbers, or null. */
  get numbersError(): string | null {
    const s = this.settings;
    if (!s) return null;
    if (!Number.isInteger(s.pollIntervalSecs) || s.pollIntervalSecs < 10 || s.pollIntervalSecs > 3600)
      return "Poll every 10 to 3600 seconds.";
    if (!Number.isInteger(s.guardMaxUsers) || s.guardMaxUsers < 0) return "The guard's user limit is a whole number.";
    if (!(s.guardMaxPercent >= 0 && s.guardMaxPercent <= 100)) return "The guard's percentage is between 0 and 100.";
    if (s.reconcileEveryMins !== null && (!Number.isInteger(s.reconcileEveryMins) || s.reconcileEveryMins < 1))
      return "Reconcile every 1 minute or more.";
    return null;
  }

  get blocked(): boolean {
    if (!this.settings) return true;
    if (this.settings.username.kind === "emailLocalPart" && !this.settings.username.domain) return true;
    return this.numbersError !== null || this.settings.attributes.some((_, i) => this.attributeError(i) !== null);
  }

  edited(): void {
    this.saved = false;
  }

  async save(): Promise<boolean> {
    if (!this.settings || this.blocked || this.saving) return false;
    this.saving = true;
    this.error = null;
    try {
      const settings = $state.snapshot(this.settings) as ProvisioningSettings;
      settings.attributes = settings.attributes.map((a) => ({ okta: a.okta.trim(), graph: a.graph }));
      this.settings = await this.#backend.setProvisioningSettings(this.profileId, settings);
      this.saved = true;
      this.#onSaved(this.settings);
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.saving = false;
    }
  }
}

/** One operation's run at a time: Plan, the guard's confirmation, Apply with live steps, the result. */
export class RunDesk {
  readonly profileId: string;
  operation = $state<OperationId | null>(null);
  plan = $state<RunPlan | null>(null);
  steps = $state<LiveStep[]>([]);
  progress = $state<Progress | null>(null);
  summary = $state<RunSummary | null>(null);
  detail = $state<RunDetail | null>(null);
  /** What the admin typed into the guard's box. */
  confirm = $state("");
  planning = $state(false);
  applying = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  get busy(): boolean {
    return this.planning || this.applying;
  }

  /** True when the typed count equals the guard's destructive count (or there is no guard). */
  get guardConfirmed(): boolean {
    const guard = this.plan?.guard;
    return !guard || this.confirm.trim() === String(guard.destructive);
  }

  get canApply(): boolean {
    return this.plan !== null && this.summary === null && this.plan.changes.length > 0 && this.guardConfirmed && !this.busy;
  }

  /** Plans `operation` for every member (or `users`); drops the shown plan of another operation. */
  async makePlan(operation: OperationId, users: string[] | null = null): Promise<RunPlan | null> {
    if (this.busy) return null;
    this.operation = operation;
    this.planning = true;
    this.error = null;
    this.plan = null;
    this.summary = null;
    this.detail = null;
    this.steps = [];
    this.confirm = "";
    try {
      this.plan = await this.#backend.planRun({ profileId: this.profileId, operation, users, trigger: "manual" });
      this.steps = liveSteps(this.plan.changes);
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  /** Plans the undo of a finished run (docs/licensing.md, "Undo"): a new planned run shown like any plan. */
  async planUndo(runId: string): Promise<RunPlan | null> {
    if (this.busy) return null;
    this.planning = true;
    this.error = null;
    this.plan = null;
    this.summary = null;
    this.detail = null;
    this.steps = [];
    this.confirm = "";
    try {
      this.plan = await this.#backend.planUndo(runId);
      this.operation = this.plan.operation;
      this.steps = liveSteps(this.plan.changes);
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  /** Forgets the shown plan and outcome (a planned run stays in the history as planned). */
  clear(): void {
    if (this.busy) return;
    this.plan = null;
    this.summary = null;
    this.detail = null;
    this.steps = [];
    this.operation = null;
    this.error = null;
  }

  /** Applies the shown plan; each progress report moves the live steps, then the journal settles them. */
  async apply(): Promise<RunSummary | null> {
    const plan = this.plan;
    if (!plan || !this.canApply) return null;
    this.applying = true;
    this.error = null;
    this.progress = null;
    this.steps = startNext(this.steps);
    try {
      const confirm = plan.guard ? plan.guard.destructive : null;
      const summary = await this.#backend.applyRun(plan.runId, confirm, (progress) => {
        if (!this.applying) return;
        this.progress = progress;
        this.steps = advance(this.steps, progress);
      });
      // The outcome shows together with each step's journaled result; without the journal, the
      // summary alone.
      try {
        this.detail = await this.#backend.runDetail(plan.runId);
        this.steps = settle(this.steps, this.detail.steps);
        this.summary = this.detail.summary;
      } catch (error) {
        this.summary = summary;
        this.error = asApiError(error);
      }
      return this.summary;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.applying = false;
      this.progress = null;
    }
  }

  /** Drops the shown plan (kept in the history as discarded). */
  async discard(): Promise<void> {
    const plan = this.plan;
    if (!plan || this.busy || this.summary) return;
    try {
      await this.#backend.discardRun(plan.runId);
      this.plan = null;
      this.steps = [];
      this.operation = null;
    } catch (error) {
      this.error = asApiError(error);
    }
  }
}

/** Timers, injectable so a test can drive the polling. */
export interface Clock {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): Date;
}

const realClock: Clock = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof setInterval>),
  now: () => new Date(),
};

/**
 * The System Log trigger while the app is open: on, it polls at once and then every
 * `pollIntervalSecs` (and reconciles every `reconcileEveryMins` when that is set); each poll's
 * events become runs the engine applies (unless its guard stops them). "Reconcile now" compares
 * everything at once.
 */
export class Triggers {
  readonly profileId: string;
  on = $state(false);
  polling = $state(false);
  reconciling = $state(false);
  lastPoll = $state<string | null>(null);
  /** Events read by the polls since the toggle went on. */
  events = $state(0);
  /** Runs the polls and reconciles started, newest first. */
  runs = $state<RunSummary[]>([]);
  /** What the last reconcile did (null before one). */
  reconciled = $state<RunSummary[] | null>(null);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #clock: Clock;
  #schedule: () => { pollIntervalSecs: number; reconcileEveryMins: number | null };
  #timers: unknown[] = [];

  /** `schedule` answers the saved settings' poll interval and reconcile schedule when the toggle goes on. */
  constructor(
    backend: Backend,
    profileId: string,
    schedule: () => { pollIntervalSecs: number; reconcileEveryMins: number | null },
    clock: Clock = realClock,
  ) {
    this.#backend = backend;
    this.profileId = profileId;
    this.#schedule = schedule;
    this.#clock = clock;
  }

  toggle(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    if (on) {
      this.events = 0;
      void this.poll();
      this.#start();
    } else this.stop();
  }

  /** Where the schedule comes from (the Provisioning step's settings, each time the step opens). */
  useSchedule(schedule: () => { pollIntervalSecs: number; reconcileEveryMins: number | null }): void {
    this.#schedule = schedule;
  }

  /** Saved settings changed: while on, the timers follow the new schedule (no extra poll). */
  reschedule(): void {
    if (!this.on) return;
    for (const timer of this.#timers) this.#clock.clearInterval(timer);
    this.#timers = [];
    this.#start();
  }

  #start(): void {
    const { pollIntervalSecs, reconcileEveryMins } = this.#schedule();
    this.#timers.push(this.#clock.setInterval(() => void this.poll(), Math.max(10, pollIntervalSecs) * 1000));
    if (reconcileEveryMins !== null && reconcileEveryMins > 0)
      this.#timers.push(this.#clock.setInterval(() => void this.reconcile(), reconcileEveryMins * 60_000));
  }

  stop(): void {
    this.on = false;
    for (const timer of this.#timers) this.#clock.clearInterval(timer);
    this.#timers = [];
  }

  /** One poll of the System Log (skipped while one is in flight). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    this.error = null;
    try {
      const report = await this.#backend.pollSystemLog(this.profileId);
      this.lastPoll = this.#clock.now().toISOString();
      this.events += report.events;
      this.runs = [...report.runs.slice().reverse(), ...this.runs].slice(0, 20);
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.polling = false;
    }
  }

  async reconcile(): Promise<void> {
    if (this.reconciling) return;
    this.reconciling = true;
    this.error = null;
    try {
      const runs = await this.#backend.reconcile(this.profileId, null);
      this.reconciled = runs;
      this.runs = [...runs.slice().reverse(), ...this.runs].slice(0, 20);
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.reconciling = false;
    }
  }
}

/** The one-click test run: one user (by login) or a throwaway test user, steps live, read-back, clean-up. */
export class TestRun {
  readonly profileId: string;
  operation = $state<OperationId>("memberAccounts");
  login = $state("");
  createUser = $state(false);
  running = $state(false);
  live = $state<Progress[]>([]);
  result = $state<TestRunResult | null>(null);
  cleaning = $state(false);
  cleaned = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  get canStart(): boolean {
    return !this.running && (this.createUser || this.login.trim() !== "");
  }

  /**
   * Starts the test run. `ids` maps logins to Okta user ids where known (the username preview); an
   * unknown login is sent as typed, which Okta also accepts as a user id.
   */
  async start(ids: Map<string, string> = new Map()): Promise<TestRunResult | null> {
    if (!this.canStart) return null;
    const login = this.login.trim();
    const oktaUserId = this.createUser ? null : (ids.get(login.toLowerCase()) ?? login);
    this.running = true;
    this.error = null;
    this.result = null;
    this.cleaned = false;
    this.live = [];
    try {
      this.result = await this.#backend.testRun({ profileId: this.profileId, operation: this.operation, oktaUserId }, (progress) => {
        if (this.running && progress.step !== "done") this.live = [...this.live, progress];
      });
      return this.result;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.running = false;
    }
  }

  /** Removes the throwaway Okta user and its Microsoft account. */
  async cleanup(): Promise<void> {
    const id = this.result?.createdTestUser;
    if (!id || this.cleaning) return;
    this.cleaning = true;
    this.error = null;
    try {
      await this.#backend.cleanupTestUser(this.profileId, id);
      this.cleaned = true;
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.cleaning = false;
    }
  }
}
