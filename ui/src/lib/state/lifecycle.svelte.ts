// The Lifecycle step's state (docs/licensing.md): the lifecycle settings (the delay as a value and a
// unit, revoking sessions, the sender mailbox, the manager-email templates with a preview of the
// unsaved text), the delayed stages (pending and recent, cancel, run now, how late), and the app's
// round of due stages every 15 s while it is open, whichever step is shown.
import type { ApiError, Backend, LifecycleSettings, MailPreview, MailStage, RunSummary, Stage } from "../ipc";
import { asApiError } from "./connect.svelte";
import type { Clock } from "./provisioning.svelte";

export type DelayUnit = "seconds" | "minutes" | "hours" | "days";

/** The delay's units, largest last; `secs` is one unit in seconds. */
export const DELAY_UNITS: ReadonlyArray<{ unit: DelayUnit; secs: number; one: string }> = [
  { unit: "seconds", secs: 1, one: "second" },
  { unit: "minutes", secs: 60, one: "minute" },
  { unit: "hours", secs: 3_600, one: "hour" },
  { unit: "days", secs: 86_400, one: "day" },
];

/** The longest delay the engine accepts: 10 years (docs/licensing.md, "Settings"). */
export const MAX_DELAY_SECS = 315_360_000;

/** The placeholders a manager-email template may use. */
export const PLACEHOLDERS = [
  "user.displayName",
  "user.firstName",
  "user.lastName",
  "user.email",
  "user.login",
  "manager.displayName",
  "manager.firstName",
  "manager.email",
  "stage",
  "disabledAt",
  "dueAt",
  "licensesRemovedAt",
  "activatedAt",
  "licenses",
  "delay",
] as const;

export const MAIL_STAGES: ReadonlyArray<{ stage: MailStage; label: string }> = [
  { stage: "disabled", label: "Account disabled" },
  { stage: "licensesRemoved", label: "Licenses removed" },
  { stage: "activated", label: "Account active again" },
];

const UNIT_SECS: Record<DelayUnit, number> = { seconds: 1, minutes: 60, hours: 3_600, days: 86_400 };

/** A delay in seconds as the largest unit that divides it: 34560000 → 400 days, 5400 → 90 minutes. */
export function splitDelay(secs: number): { value: number; unit: DelayUnit } {
  for (const u of [...DELAY_UNITS].reverse()) if (secs > 0 && secs % u.secs === 0) return { value: secs / u.secs, unit: u.unit };
  return { value: secs, unit: "seconds" };
}

/** "400 days", "1 hour", "90 minutes". */
export function delayText(secs: number): string {
  const { value, unit } = splitDelay(secs);
  const one = DELAY_UNITS.find((u) => u.unit === unit)!.one;
  return `${value} ${value === 1 ? one : unit}`;
}

/** The delay in seconds for a value and unit (NaN when the value is not a number). */
export function toDelaySecs(value: number, unit: DelayUnit): number {
  return value * UNIT_SECS[unit];
}

/** Why a delay cannot be saved, in plain words, or null. */
export function delayError(value: number, unit: DelayUnit): string | null {
  if (!Number.isFinite(value)) return "Enter the delay as a number.";
  if (!Number.isInteger(value)) return `Enter a whole number of ${unit}.`;
  if (value <= 0) return "The delay must be at least 1 second: licenses are removed after it, not at once.";
  if (toDelaySecs(value, unit) > MAX_DELAY_SECS) return `The delay can be at most 10 years (3650 days); ${value} ${unit} is longer.`;
  return null;
}

/** The placeholders of `text` that are not in the list. */
export function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]).filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
}

/** "in 3 days", "in 5 h", "in 12 min", "now", "2 h late", "3 days late" for a due time. */
export function dueRelative(dueAt: string, now: Date): string {
  const secs = Math.round((new Date(dueAt).getTime() - now.getTime()) / 1000);
  if (Number.isNaN(secs)) return "";
  const span = spanText(Math.abs(secs));
  if (Math.abs(secs) < 60) return "due now";
  return secs > 0 ? `in ${span}` : `${span} late`;
}

/** "45 s", "12 min", "5 h", "3 days". */
export function spanText(secs: number): string {
  if (secs < 60) return `${Math.round(secs)} s`;
  if (secs < 3_570) return `${Math.round(secs / 60)} min`;
  if (secs < 84_600) return `${Math.round(secs / 3_600)} h`;
  const days = Math.round(secs / 86_400);
  return `${days} ${days === 1 ? "day" : "days"}`;
}

/** The settings form: delay value + unit, revoke, sender, one template at a time, preview, save. */
export class LifecycleEditor {
  readonly profileId: string;
  settings = $state<LifecycleSettings | null>(null);
  delayValue = $state<number>(30);
  delayUnit = $state<DelayUnit>("days");
  /** The sender as typed ("" = no manager emails). */
  sender = $state("");
  stage = $state<MailStage>("disabled");
  preview = $state<MailPreview | null>(null);
  previewing = $state(false);
  loading = $state(false);
  saving = $state(false);
  saved = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  #previewSeq = 0;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.#take(await this.#backend.lifecycleSettings(this.profileId));
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.loading = false;
    }
  }

  #take(settings: LifecycleSettings): void {
    const secs = Number(settings.delaySecs);
    this.settings = { ...settings, delaySecs: secs };
    const { value, unit } = splitDelay(secs);
    this.delayValue = value;
    this.delayUnit = unit;
    this.sender = settings.senderMailbox ?? "";
  }

  get delaySecs(): number {
    return toDelaySecs(this.delayValue, this.delayUnit);
  }

  /** What the delay reads as ("400 days"), or null when it is not valid. */
  get delayWords(): string | null {
    return this.delayError === null ? delayText(this.delaySecs) : null;
  }

  get delayError(): string | null {
    return delayError(Number(this.delayValue), this.delayUnit);
  }

  /** The template being edited (of `stage`). */
  get template(): { subject: string; body: string } | null {
    return this.settings?.templates[this.stage] ?? null;
  }

  /** Unknown placeholders of the edited template, found before the engine is asked. */
  get templateError(): string | null {
    const t = this.template;
    if (!t) return null;
    if (!t.subject.trim()) return "The subject is empty; every email needs one.";
    const unknown = [...unknownPlaceholders(t.subject), ...unknownPlaceholders(t.body)];
    return unknown.length ? `Unknown placeholder {{${unknown[0]}}}; use one of the placeholders listed below.` : null;
  }

  get blocked(): boolean {
    return this.settings === null || this.delayError !== null;
  }

  edited(): void {
    this.saved = false;
  }

  setStage(stage: MailStage): void {
    this.stage = stage;
    this.preview = null;
  }

  /** Renders the edited (unsaved) template of `stage` for the first member of the assignments group. */
  async previewEmail(): Promise<MailPreview | null> {
    const t = this.template;
    if (!t) return null;
    const seq = ++this.#previewSeq;
    this.previewing = true;
    this.error = null;
    try {
      const preview = await this.#backend.previewManagerEmail({
        profileId: this.profileId,
        stage: this.stage,
        oktaUserId: null,
        template: { subject: t.subject, body: t.body },
      });
      if (seq === this.#previewSeq) this.preview = preview;
      return preview;
    } catch (error) {
      if (seq === this.#previewSeq) {
        this.preview = null;
        this.error = asApiError(error);
      }
      return null;
    } finally {
      if (seq === this.#previewSeq) this.previewing = false;
    }
  }

  async save(): Promise<boolean> {
    if (!this.settings || this.saving) return false;
    if (this.delayError) {
      this.error = { code: "invalid_input", message: this.delayError };
      return false;
    }
    this.saving = true;
    this.error = null;
    try {
      const sender = this.sender.trim();
      const settings: LifecycleSettings = {
        ...($state.snapshot(this.settings) as LifecycleSettings),
        delaySecs: this.delaySecs,
        senderMailbox: sender === "" ? null : sender,
      };
      this.#take(await this.#backend.setLifecycleSettings(this.profileId, settings));
      this.saved = true;
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.saving = false;
    }
  }
}

const realClock: Clock = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof setInterval>),
  now: () => new Date(),
};

/** How often the app runs due stages and the stages card reads the list again. */
export const STAGES_EVERY_MS = 15_000;

/**
 * The app's round of due stages: once at start and every 15 s while okta365 is open (every profile),
 * whichever step is shown. Keeps the late stages it reported and counts the rounds that ran
 * something, so the stages card can read its list again.
 */
export class DueStages {
  running = $state(false);
  lastRound = $state<string | null>(null);
  /** Late stages reported by the rounds, by id (the latest report of each). */
  late = $state<Record<number, Stage>>({});
  /** Runs the rounds applied, newest first. */
  ran = $state<RunSummary[]>([]);
  /** Bumped each time a round ran a stage. */
  version = $state(0);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #clock: Clock;
  #timer: unknown = null;

  constructor(backend: Backend, clock: Clock = realClock) {
    this.#backend = backend;
    this.#clock = clock;
  }

  get started(): boolean {
    return this.#timer !== null;
  }

  /** Starts the rounds (once; a second call does nothing). */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#clock.setInterval(() => void this.round(), STAGES_EVERY_MS);
    void this.round();
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One round (skipped while one is in flight). */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const report = await this.#backend.runDueStages(null);
      this.lastRound = this.#clock.now().toISOString();
      this.error = null;
      if (report.late.length) this.late = { ...this.late, ...Object.fromEntries(report.late.map((s) => [s.id, s])) };
      if (report.ran.length) {
        this.ran = [...report.ran.slice().reverse(), ...this.ran].slice(0, 20);
        this.version++;
      }
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.running = false;
    }
  }

  /** The late stages of one profile. */
  lateOf(profileId: string): Stage[] {
    return Object.values(this.late).filter((s) => s.profileId === profileId);
  }
}

/** The stages card: pending (and, toggled, finished) stages with cancel and run now. */
export class StagesList {
  readonly profileId: string;
  stages = $state<Stage[]>([]);
  includeFinished = $state(false);
  loaded = $state(false);
  loading = $state(false);
  /** The stage a Cancel or Run now is working on. */
  busyId = $state<number | null>(null);
  /** The last run a Run now applied. */
  lastRun = $state<RunSummary | null>(null);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  #seq = 0;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    try {
      const stages = await this.#backend.listStages(this.profileId, this.includeFinished);
      if (seq !== this.#seq) return;
      this.stages = stages;
      this.loaded = true;
    } catch (error) {
      if (seq === this.#seq) this.error = asApiError(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  toggleFinished(on: boolean): Promise<void> {
    this.includeFinished = on;
    return this.load();
  }

  async cancel(id: number): Promise<void> {
    if (this.busyId !== null) return;
    this.busyId = id;
    this.error = null;
    try {
      await this.#backend.cancelStage(id);
      await this.load();
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.busyId = null;
    }
  }

  async runNow(id: number): Promise<void> {
    if (this.busyId !== null) return;
    this.busyId = id;
    this.error = null;
    try {
      this.lastRun = await this.#backend.runStageNow(id);
      await this.load();
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.busyId = null;
    }
  }
}
