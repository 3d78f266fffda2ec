// The Imports step's state (docs/imports.md): the source (a CSV file or an HTTP JSON endpoint) with
// its preview, the mapping of its columns to the Custom Identity Source's attributes (suggested,
// edited with simple transforms, previewed live on the first records with their rejects, saved per
// source name), the import itself (plan with counts, rejects and the deactivation guard, apply with
// records uploaded, chunk, session status and ETA) and the past imports with a chart across them.
import type {
  ApiError,
  Backend,
  DueImport,
  ImportMapping,
  ImportPlan,
  ImportSchedule,
  ImportSummary,
  MappedPreviewRow,
  Progress,
  RunSummary,
  SourcePreview,
  SourceSpec,
  Transform,
} from "../ipc";
import { asApiError } from "./connect.svelte";
import { saveFile, type Download } from "./history.svelte";
import type { Clock } from "./provisioning.svelte";

/** The Custom Identity Source attributes a mapping may fill, in the order the mapping card lists them. */
export const IMPORT_ATTRIBUTES = [
  "userName",
  "firstName",
  "lastName",
  "email",
  "secondEmail",
  "mobilePhone",
  "title",
  "displayName",
  "primaryPhone",
  "streetAddress",
  "city",
  "state",
  "zipCode",
  "countryCode",
] as const;
export type ImportAttribute = (typeof IMPORT_ATTRIBUTES)[number];

/** The attributes every upserted user needs (docs/imports.md, "Validation"). */
export const REQUIRED_ATTRIBUTES: readonly ImportAttribute[] = ["userName", "email"];

/** The engine's default values of the active column (compared trimmed, case-insensitive). */
export const DEFAULT_ACTIVE = ["true", "1", "yes", "y", "active", "enabled"];
export const DEFAULT_INACTIVE = ["false", "0", "no", "n", "inactive", "disabled", "terminated"];

/** An Okta import session holds at most this many users. */
export const SESSION_USERS = 10_000;

// ---------------------------------------------------------------------------------------------
// Transforms as the mapping card edits them.

/** What a mapping row does: nothing, one column, two columns joined, a column lower-cased or cut at "@", a constant, or a transform the card cannot edit (kept as it is). */
export type RuleKind = "none" | "column" | "concat" | "lower" | "beforeAt" | "constant" | "custom";

export const RULE_KINDS: ReadonlyArray<{ kind: Exclude<RuleKind, "custom">; label: string }> = [
  { kind: "none", label: "Not mapped" },
  { kind: "column", label: "Column" },
  { kind: "concat", label: "Two columns joined" },
  { kind: "lower", label: "Column, lower case" },
  { kind: "beforeAt", label: "Column, before @" },
  { kind: "constant", label: "Constant" },
];

/** One mapping row being edited. */
export interface RuleDraft {
  kind: RuleKind;
  column: string;
  /** The second column of a concat. */
  column2: string;
  /** What goes between the two columns of a concat. */
  separator: string;
  /** A constant's value. */
  value: string;
  /** A transform the card has no editor for (kept unchanged while `kind` is "custom"). */
  custom: Transform | null;
}

export function emptyDraft(kind: RuleKind = "none"): RuleDraft {
  return { kind, column: "", column2: "", separator: " ", value: "", custom: null };
}

/** The draft that edits `t` (a transform the card cannot edit becomes "custom", kept as is). */
export function draftOf(t: Transform | null | undefined): RuleDraft {
  const d = emptyDraft();
  if (!t) return d;
  switch (t.kind) {
    case "column":
      return { ...d, kind: "column", column: t.column };
    case "constant":
      return { ...d, kind: "constant", value: t.value };
    case "concat": {
      const [a, b] = t.parts;
      if (t.parts.length === 2 && a.kind === "column" && b.kind === "column")
        return { ...d, kind: "concat", column: a.column, column2: b.column, separator: t.separator };
      break;
    }
    case "lower":
    case "beforeAt":
      if (t.of.kind === "column") return { ...d, kind: t.kind, column: t.of.column };
      break;
  }
  return { ...d, kind: "custom", custom: t };
}

/** The transform a draft stands for, or null when it maps nothing or is missing a column. */
export function transformOf(d: RuleDraft): Transform | null {
  const col = (column: string): Transform => ({ kind: "column", column });
  switch (d.kind) {
    case "none":
      return null;
    case "column":
      return d.column ? col(d.column) : null;
    case "concat":
      return d.column && d.column2 ? { kind: "concat", parts: [col(d.column), col(d.column2)], separator: d.separator } : null;
    case "lower":
      return d.column ? { kind: "lower", of: col(d.column) } : null;
    case "beforeAt":
      return d.column ? { kind: "beforeAt", of: col(d.column) } : null;
    case "constant":
      return { kind: "constant", value: d.value };
    case "custom":
      return d.custom;
  }
}

/** A transform in words: `street_number + " " + street_name`, `lower(email)`, `"Staff"`. */
export function describeTransform(t: Transform): string {
  switch (t.kind) {
    case "column":
      return t.column;
    case "constant":
      return JSON.stringify(t.value);
    case "concat":
      return t.parts.map(describeTransform).join(` + ${JSON.stringify(t.separator)} + `);
    case "lower":
      return `lower(${describeTransform(t.of)})`;
    case "beforeAt":
      return `before @ (${describeTransform(t.of)})`;
  }
}

/** The columns a transform reads. */
export function columnsOf(t: Transform | null): string[] {
  if (!t) return [];
  switch (t.kind) {
    case "column":
      return [t.column];
    case "constant":
      return [];
    case "concat":
      return t.parts.flatMap(columnsOf);
    case "lower":
    case "beforeAt":
      return columnsOf(t.of);
  }
}

/** "true, 1, yes" → ["true", "1", "yes"] (trimmed, empty ones dropped). */
export function splitValues(text: string): string[] {
  return text
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

// ---------------------------------------------------------------------------------------------
// Progress of an apply.

/** What an apply's progress message says about the session and chunk, and how long is left. */
export interface ImportProgressView {
  done: number;
  total: number | null;
  /** "2 of 11" when the message names it. */
  session: string | null;
  /** Okta's status of the session (CREATED, TRIGGERED, IN_PROGRESS, COMPLETED, ERROR, EXPIRED). */
  sessionStatus: string | null;
  /** "3 of 50" or "3". */
  chunk: string | null;
  /** Seconds left: the engine's estimate when the message carries one, else from the rate so far. */
  etaSecs: number | null;
}

const SESSION_STATUS = /\b(CREATED|TRIGGERED|IN_PROGRESS|COMPLETED|ERROR|EXPIRED|CLOSED)\b/;

/** The session's status implied by the step the engine reports (its words for each step kind), when the message names none. */
const STEP_STATUS: ReadonlyArray<[RegExp, string]> = [
  [/^Create an import session/i, "CREATED"],
  [/^(Upload|Deactivate) users/i, "CREATED"],
  [/^Start the import/i, "TRIGGERED"],
  [/^Wait for the import/i, "IN_PROGRESS"],
];

/** True when the report is about a chunk (a bulk upsert or bulk delete). */
export function isChunkReport(progress: Progress): boolean {
  return /^(Upload|Deactivate) users|\bchunk \d+/i.test(progress.message) || progress.step === "bulkUpsert" || progress.step === "bulkDelete";
}

/** Reads the session, its status, the chunk and the ETA out of an apply's progress report. */
export function readProgress(progress: Progress, elapsedMs: number | null = null): ImportProgressView {
  const m = progress.message;
  const session = /session (\d+)(?: of (\d+))?/i.exec(m);
  const chunk = /chunk (\d+)(?: of (\d+))?/i.exec(m);
  const eta = /eta(?:Secs)?\W{0,3}(\d+)/i.exec(m) ?? /(\d+)\s*s(?:ec(?:ond)?s?)? left/i.exec(m);
  let etaSecs = eta ? Number(eta[1]) : null;
  if (etaSecs === null && elapsedMs !== null && progress.total && progress.done > 0 && progress.done < progress.total)
    etaSecs = Math.round(((elapsedMs / progress.done) * (progress.total - progress.done)) / 1000);
  if (progress.step === "done") etaSecs = 0;
  return {
    done: progress.done,
    total: progress.total,
    session: session ? (session[2] ? `${session[1]} of ${session[2]}` : session[1]) : null,
    sessionStatus: SESSION_STATUS.exec(m)?.[1] ?? STEP_STATUS.find(([re]) => re.test(m))?.[1] ?? null,
    chunk: chunk ? (chunk[2] ? `${chunk[1]} of ${chunk[2]}` : chunk[1]) : null,
    etaSecs,
  };
}

/** "about 45 s", "about 3 min", "about 2 h". */
export function etaText(secs: number | null): string {
  if (secs === null) return "estimating…";
  if (secs <= 0) return "done";
  if (secs < 90) return `about ${secs} s`;
  if (secs < 5_400) return `about ${Math.round(secs / 60)} min`;
  return `about ${Math.round(secs / 3_600)} h`;
}

// ---------------------------------------------------------------------------------------------
// The source and its mapping.

export type SourceKind = "csv" | "http";

/** The source card and the mapping card: what to read, how each record maps, the live preview. */
export class ImportEditor {
  readonly profileId: string;
  kind = $state<SourceKind>("csv");
  csvPath = $state("");
  /** "" sniffs the delimiter from the header. */
  delimiter = $state("");
  httpUrl = $state("");
  recordsPointer = $state("");
  nextField = $state("");
  authHeader = $state("");
  /** The auth header value being typed; cleared once it is in the keychain. */
  authValue = $state("");
  /** Whether the keychain holds a value for the source name. */
  authValueSaved = $state(false);
  savingAuthValue = $state(false);
  sourceName = $state("hr");

  preview = $state<SourcePreview | null>(null);
  previewing = $state(false);

  externalId = $state<RuleDraft>(emptyDraft("column"));
  rules = $state<Record<ImportAttribute, RuleDraft>>(
    Object.fromEntries(IMPORT_ATTRIBUTES.map((a) => [a, emptyDraft()])) as Record<ImportAttribute, RuleDraft>,
  );
  /** "" = every record is active. */
  activeColumn = $state("");
  activeValues = $state(DEFAULT_ACTIVE.join(", "));
  inactiveValues = $state(DEFAULT_INACTIVE.join(", "));

  mapped = $state<MappedPreviewRow[]>([]);
  /** True once a saved mapping was read for the source name. */
  fromSaved = $state(false);
  suggesting = $state(false);
  mappingPreviewing = $state(false);
  saving = $state(false);
  saved = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  #mappedSeq = 0;
  #loadSeq = 0;
  #edits = 0;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  /** What is missing from the source form, in words, or null. */
  get sourceError(): string | null {
    if (this.kind === "csv") {
      if (!this.csvPath.trim()) return "Enter the path of the CSV file.";
      if (this.delimiter.length > 1 && this.delimiter !== "\\t") return "The delimiter is one character (or empty to detect it).";
      return null;
    }
    const url = this.httpUrl.trim();
    if (!url) return "Enter the URL of the JSON endpoint.";
    if (!/^https?:\/\//i.test(url)) return "The URL starts with https:// (http:// only on 127.0.0.1 or localhost).";
    for (const [label, v] of [
      ["records pointer", this.recordsPointer],
      ["next-page field", this.nextField],
    ] as const)
      if (v.trim() && !v.trim().startsWith("/")) return `The ${label} is a JSON pointer: it starts with "/", like /data.`;
    return null;
  }

  /** The source as the engine takes it, or null while the form is incomplete. */
  get source(): SourceSpec | null {
    if (this.sourceError) return null;
    const opt = (v: string) => (v.trim() === "" ? null : v.trim());
    if (this.kind === "csv") {
      const d = this.delimiter === "\\t" ? "\t" : this.delimiter;
      return { kind: "csv", path: this.csvPath.trim(), delimiter: d === "" ? null : d };
    }
    return {
      kind: "http",
      url: this.httpUrl.trim(),
      recordsPointer: opt(this.recordsPointer),
      nextField: opt(this.nextField),
      authHeader: opt(this.authHeader),
    };
  }

  /** The columns the selects offer: the preview's, plus any a saved mapping reads. */
  get columns(): string[] {
    const cols = [...(this.preview?.columns ?? [])];
    const used = [
      ...columnsOf(transformOf(this.externalId)),
      ...IMPORT_ATTRIBUTES.flatMap((a) => columnsOf(transformOf(this.rules[a]))),
      ...(this.activeColumn ? [this.activeColumn] : []),
    ];
    for (const c of used) if (!cols.includes(c)) cols.push(c);
    return cols;
  }

  /** Why the mapping cannot be previewed or saved yet, or null. */
  get mappingError(): string | null {
    if (!transformOf(this.externalId)) return "Choose the column that holds each record's external id.";
    const missing = REQUIRED_ATTRIBUTES.filter((a) => !transformOf(this.rules[a]));
    if (missing.length) return `Map ${missing.join(" and ")}: Okta needs them for every user.`;
    if (this.activeColumn && (splitValues(this.activeValues).length === 0 || splitValues(this.inactiveValues).length === 0))
      return "List at least one active and one inactive value of the active column.";
    return null;
  }

  /** The mapping as the engine takes it, or null while it is incomplete. */
  get mapping(): ImportMapping | null {
    const externalId = transformOf(this.externalId);
    if (!externalId || this.mappingError) return null;
    return {
      externalId,
      attributes: IMPORT_ATTRIBUTES.flatMap((attribute) => {
        const value = transformOf(this.rules[attribute]);
        return value ? [{ attribute, value }] : [];
      }),
      active: this.activeColumn
        ? { column: this.activeColumn, active: splitValues(this.activeValues), inactive: splitValues(this.inactiveValues) }
        : null,
    };
  }

  get rejectsShown(): number {
    return this.mapped.filter((r) => r.reject !== null).length;
  }

  /** Takes a mapping into the rows of the card. */
  take(mapping: ImportMapping): void {
    this.externalId = draftOf(mapping.externalId);
    const rules = Object.fromEntries(IMPORT_ATTRIBUTES.map((a) => [a, emptyDraft()])) as Record<ImportAttribute, RuleDraft>;
    for (const r of mapping.attributes) if ((IMPORT_ATTRIBUTES as readonly string[]).includes(r.attribute)) rules[r.attribute as ImportAttribute] = draftOf(r.value);
    this.rules = rules;
    this.activeColumn = mapping.active?.column ?? "";
    this.activeValues = (mapping.active?.active ?? DEFAULT_ACTIVE).join(", ");
    this.inactiveValues = (mapping.active?.inactive ?? DEFAULT_INACTIVE).join(", ");
  }

  #takeSource(source: SourceSpec): void {
    this.kind = source.kind;
    if (source.kind === "csv") {
      this.csvPath = source.path;
      this.delimiter = source.delimiter === "\t" ? "\\t" : (source.delimiter ?? "");
    } else {
      this.httpUrl = source.url;
      this.recordsPointer = source.recordsPointer ?? "";
      this.nextField = source.nextField ?? "";
      this.authHeader = source.authHeader ?? "";
    }
  }

  /** Reads the saved source and mapping of the source name (if any) into the cards. */
  async load(sourceName: string = this.sourceName): Promise<boolean> {
    const name = sourceName.trim();
    if (!name) return false;
    const seq = ++this.#loadSeq;
    const edits = this.#edits;
    try {
      const saved = await this.#backend.importMapping(this.profileId, name);
      // A newer load, or an edit made while this one read, wins.
      if (seq !== this.#loadSeq || edits !== this.#edits) return false;
      if (!saved) {
        this.fromSaved = false;
        return false;
      }
      this.sourceName = name;
      this.#takeSource(saved.source);
      this.authValueSaved = saved.authValueSaved;
      this.take(saved.mapping);
      this.fromSaved = true;
      this.saved = true;
      await this.previewSource();
      return true;
    } catch (error) {
      if (seq === this.#loadSeq) this.error = asApiError(error);
      return false;
    }
  }

  /** Reads the source's columns and first records. */
  async previewSource(): Promise<SourcePreview | null> {
    const source = this.source;
    if (!source) {
      this.error = { code: "invalid_input", message: this.sourceError ?? "The source is incomplete." };
      return null;
    }
    this.previewing = true;
    this.error = null;
    try {
      this.preview = await this.#backend.previewSource(this.profileId, source, this.#name);
      await this.refreshMapped();
      return this.preview;
    } catch (error) {
      this.preview = null;
      this.error = asApiError(error);
      return null;
    } finally {
      this.previewing = false;
    }
  }

  /** Fills the mapping from the source's column names (the engine's suggestions). */
  async suggest(): Promise<ImportMapping | null> {
    const source = this.source;
    if (!source) {
      this.error = { code: "invalid_input", message: this.sourceError ?? "The source is incomplete." };
      return null;
    }
    this.suggesting = true;
    this.error = null;
    try {
      const mapping = await this.#backend.suggestMapping(this.profileId, source, this.#name);
      this.take(mapping);
      this.saved = false;
      if (!this.preview) await this.previewSource();
      else await this.refreshMapped();
      return mapping;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.suggesting = false;
    }
  }

  /** The source name the auth header value is kept under, or null. */
  get #name(): string | null {
    return this.sourceName.trim() || null;
  }

  /** Puts the typed auth header value into the keychain under the source name (then forgets it here). */
  async saveAuthValue(): Promise<boolean> {
    const name = this.#name;
    if (!name) {
      this.error = { code: "invalid_input", message: "Give the source a name first: its auth header value is kept under it." };
      return false;
    }
    if (!this.authValue.trim()) {
      this.error = { code: "invalid_input", message: "Paste the value of the auth header (for example Bearer …)." };
      return false;
    }
    return this.#storeAuthValue(name, this.authValue);
  }

  /** Deletes the source's auth header value from the keychain. */
  async forgetAuthValue(): Promise<boolean> {
    const name = this.#name;
    if (!name) return false;
    return this.#storeAuthValue(name, null);
  }

  /** Saves (or with null deletes) the keychain entry; the typed value is cleared once saved. */
  async #storeAuthValue(name: string, value: string | null): Promise<boolean> {
    this.savingAuthValue = true;
    this.error = null;
    try {
      this.authValueSaved = await this.#backend.setImportSourceSecret(this.profileId, name, value);
      if (value !== null) this.authValue = "";
      this.sourceEdited();
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.savingAuthValue = false;
    }
  }

  /** A source field changed: the preview and the mapped rows are of the old source. */
  sourceEdited(): void {
    this.#edits++;
    this.saved = false;
    this.preview = null;
    this.mapped = [];
  }

  /** A mapping row changed: not saved any more, and the mapped rows follow. */
  edited(): void {
    this.#edits++;
    this.saved = false;
    void this.refreshMapped();
  }

  /** The first records as the mapping makes them (the latest answer wins). */
  async refreshMapped(): Promise<MappedPreviewRow[] | null> {
    const source = this.source;
    const mapping = this.mapping;
    if (!source || !mapping || !this.preview) {
      this.mapped = [];
      return null;
    }
    const seq = ++this.#mappedSeq;
    this.mappingPreviewing = true;
    try {
      const rows = await this.#backend.previewMapping(this.profileId, source, mapping, this.#name);
      if (seq === this.#mappedSeq) this.mapped = rows;
      return rows;
    } catch (error) {
      if (seq === this.#mappedSeq) {
        this.mapped = [];
        this.error = asApiError(error);
      }
      return null;
    } finally {
      if (seq === this.#mappedSeq) this.mappingPreviewing = false;
    }
  }

  get canSave(): boolean {
    return this.source !== null && this.mapping !== null && this.sourceName.trim() !== "" && !this.saving;
  }

  /** Saves the source and mapping under the source name. */
  async save(): Promise<boolean> {
    const source = this.source;
    const mapping = this.mapping;
    const name = this.sourceName.trim();
    if (!name) {
      this.error = { code: "invalid_input", message: "Give the source a name, such as hr: imports and their mapping are kept under it." };
      return false;
    }
    if (!source || !mapping) {
      this.error = { code: "invalid_input", message: this.sourceError ?? this.mappingError ?? "The mapping is incomplete." };
      return false;
    }
    this.saving = true;
    this.error = null;
    try {
      await this.#backend.saveImportMapping(this.profileId, name, source, mapping);
      this.saved = true;
      this.fromSaved = true;
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.saving = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Plan and apply.

export type ImportMode = "delta" | "full";

/** The run card: delta or full resync, the limits, the plan, the guard, the apply and its outcome. */
export class ImportDesk {
  readonly profileId: string;
  mode = $state<ImportMode>("delta");
  maxRejectPercent = $state(1);
  maxDeactivations = $state(10);
  plan = $state<ImportPlan | null>(null);
  /** What the admin typed into the deactivation guard's box. */
  confirm = $state("");
  progress = $state<Progress | null>(null);
  /** Session and status seen last (kept while later reports do not name them). */
  view = $state<ImportProgressView | null>(null);
  summary = $state<RunSummary | null>(null);
  planning = $state(false);
  applying = $state(false);
  exporting = $state(false);
  exported = $state<Download | null>(null);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #now: () => number;
  #startedAt = 0;

  constructor(backend: Backend, profileId: string, now: () => number = () => Date.now()) {
    this.#backend = backend;
    this.profileId = profileId;
    this.#now = now;
  }

  get busy(): boolean {
    return this.planning || this.applying;
  }

  get limitsError(): string | null {
    const p = Number(this.maxRejectPercent);
    const d = Number(this.maxDeactivations);
    if (!Number.isFinite(p) || p < 0 || p > 100) return "The reject limit is a percentage from 0 to 100.";
    if (!Number.isInteger(d) || d < 0) return "The deactivation limit is a whole number, 0 or more.";
    return null;
  }

  get guardConfirmed(): boolean {
    const guard = this.plan?.deactivationGuard;
    return !guard || this.confirm.trim() === String(guard.count);
  }

  /** Records the plan would upload (active ones upserted, inactive ones deactivated). */
  get toUpload(): number {
    return this.plan ? this.plan.active + this.plan.inactive : 0;
  }

  get canApply(): boolean {
    return this.plan !== null && this.plan.stopped === null && this.summary === null && this.toUpload > 0 && this.guardConfirmed && !this.busy;
  }

  async makePlan(sourceName: string): Promise<ImportPlan | null> {
    if (this.busy) return null;
    const name = sourceName.trim();
    if (!name) {
      this.error = { code: "invalid_input", message: "Save a source and its mapping first: the plan reads them by the source name." };
      return null;
    }
    if (this.limitsError) {
      this.error = { code: "invalid_input", message: this.limitsError };
      return null;
    }
    this.planning = true;
    this.error = null;
    this.plan = null;
    this.summary = null;
    this.progress = null;
    this.view = null;
    this.confirm = "";
    this.exported = null;
    try {
      this.plan = await this.#backend.planImport({
        profileId: this.profileId,
        sourceName: name,
        delta: this.mode === "delta",
        fullResync: this.mode === "full",
        maxRejectPercent: Number(this.maxRejectPercent),
        maxDeactivations: Number(this.maxDeactivations),
      });
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  /** Uploads the plan; each progress report moves the bar, the session status and the ETA. */
  async apply(): Promise<RunSummary | null> {
    const plan = this.plan;
    if (!plan || !this.canApply) return null;
    this.applying = true;
    this.error = null;
    this.progress = { operation: "import", step: "start", done: 0, total: this.toUpload, message: "Starting the import" };
    this.view = readProgress(this.progress);
    this.#startedAt = this.#now();
    try {
      const confirm = plan.deactivationGuard ? plan.deactivationGuard.count : null;
      let chunks = 0;
      let lastDone = 0;
      this.summary = await this.#backend.applyImport(plan.importId, confirm, (progress) => {
        if (!this.applying) return;
        this.progress = progress;
        const next = readProgress(progress, this.#now() - this.#startedAt);
        const last = this.view;
        // Without a chunk number in the message, chunks are counted as the records uploaded grow.
        if (isChunkReport(progress) && progress.done > lastDone) chunks++;
        lastDone = Math.max(lastDone, progress.done);
        const counted = chunks > 0 ? `${chunks} of ${plan.bulkRequests}` : null;
        this.view = {
          ...next,
          session: next.session ?? last?.session ?? null,
          sessionStatus: next.sessionStatus ?? last?.sessionStatus ?? null,
          chunk: next.chunk ?? counted ?? last?.chunk ?? null,
        };
      });
      if (this.view && this.summary.status === "succeeded") this.view = { ...this.view, sessionStatus: "COMPLETED", etaSecs: 0 };
      return this.summary;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.applying = false;
    }
  }

  /** Downloads the plan's rejects as CSV (every reject, not only the first 200 shown). */
  async exportRejects(save: (file: Download) => void = (f) => saveFile(f)): Promise<Download | null> {
    const plan = this.plan;
    if (!plan || this.exporting) return null;
    this.exporting = true;
    this.error = null;
    try {
      const text = await this.#backend.importRejects(plan.importId);
      const file: Download = { name: `okta365-import-rejects-${plan.sourceName}-${plan.importId}.csv`, mime: "text/csv", text };
      save(file);
      this.exported = file;
      return file;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.exporting = false;
    }
  }

  clear(): void {
    if (this.busy) return;
    this.plan = null;
    this.summary = null;
    this.progress = null;
    this.view = null;
    this.confirm = "";
    this.error = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Schedule.

export type ScheduleKind = "off" | "every" | "daily";

function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** When the saved source is imported on its own (okta365 watch, or the app while it is open). */
export class ImportScheduleForm {
  readonly profileId: string;
  kind = $state<ScheduleKind>("off");
  everyMins = $state(60);
  dailyAt = $state("02:00");
  timeZone = $state(localTimeZone());
  saving = $state(false);
  saved = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  #edits = 0;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  get problem(): string | null {
    if (this.kind === "every" && !(Number.isInteger(Number(this.everyMins)) && Number(this.everyMins) >= 5))
      return "Every 5 minutes at most often: Okta allows one import session per 5 minutes.";
    if (this.kind === "daily" && !/^([01]\d|2[0-3]):[0-5]\d$/.test(this.dailyAt)) return "Enter the time as HH:MM, such as 02:00.";
    return null;
  }

  get schedule(): ImportSchedule | null {
    if (this.kind === "off") return null;
    return this.kind === "every"
      ? { everyMins: Number(this.everyMins), dailyAt: null, timeZone: null }
      : { everyMins: null, dailyAt: this.dailyAt, timeZone: this.timeZone };
  }

  #take(s: ImportSchedule | null): void {
    this.kind = s === null ? "off" : s.everyMins !== null ? "every" : "daily";
    if (s?.everyMins != null) this.everyMins = s.everyMins;
    if (s?.dailyAt) this.dailyAt = s.dailyAt;
    if (s?.timeZone) this.timeZone = s.timeZone;
  }

  /**
   * Reads the source's schedule (a source without one, or an engine without schedules: off); an
   * edit made while it is read wins.
   */
  async load(sourceName: string): Promise<void> {
    const edits = this.#edits;
    let stored: ImportSchedule | null = null;
    try {
      stored = await this.#backend.importSchedule(this.profileId, sourceName.trim());
    } catch {
      stored = null;
    }
    if (edits === this.#edits) this.#take(stored);
  }

  edited(): void {
    this.#edits++;
    this.saved = false;
  }

  async save(sourceName: string): Promise<boolean> {
    if (this.problem) {
      this.error = { code: "invalid_input", message: this.problem };
      return false;
    }
    this.saving = true;
    this.error = null;
    try {
      this.#take(await this.#backend.setImportSchedule(this.profileId, sourceName.trim(), this.schedule));
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

// ---------------------------------------------------------------------------------------------
// Monitoring.

/** The past imports of a profile, newest first. */
export class ImportHistory {
  readonly profileId: string;
  imports = $state<ImportSummary[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  #seq = 0;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const imports = await this.#backend.listImports(this.profileId);
      if (seq !== this.#seq) return;
      this.imports = imports;
      this.loaded = true;
      this.error = null;
    } catch (error) {
      if (seq === this.#seq) this.error = asApiError(error);
    }
  }
}

export const CHART_SERIES = [
  { key: "upserted", label: "Upserted", color: "#2563eb" },
  { key: "deactivated", label: "Deactivated", color: "#d97706" },
  { key: "rejected", label: "Rejected", color: "#dc2626" },
] as const;
export type ChartKey = (typeof CHART_SERIES)[number]["key"];

export interface ImportBar {
  key: ChartKey;
  value: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ImportBarGroup {
  importId: string;
  createdAt: string;
  /** Centre of the group, for its label. */
  x: number;
  bars: ImportBar[];
}

/** "Nice" tick step for a maximum: 1, 2, 5 × 10^n, about four ticks. */
function tickStep(max: number): number {
  const raw = Math.max(1, max) / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (raw <= m * pow) return m * pow;
  return 10 * pow;
}

/**
 * Grouped bars of upserted, deactivated and rejected records per import, oldest on the left (the
 * list is newest first; the last `limit` imports are drawn), with y ticks.
 */
export function importBars(
  imports: ImportSummary[],
  box: { width: number; height: number; left: number; right: number; top: number; bottom: number },
  limit = 12,
): { groups: ImportBarGroup[]; yTicks: Array<{ value: number; y: number }>; max: number } {
  const shown = imports.filter((i) => i.status !== "planned" && i.status !== "discarded").slice(0, limit).reverse();
  const peak = Math.max(0, ...shown.flatMap((i) => [i.upserted, i.deactivated, i.rejected]));
  const step = tickStep(peak);
  const max = Math.max(step, Math.ceil(peak / step) * step);
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const slot = shown.length ? plotW / shown.length : plotW;
  const barW = Math.max(2, Math.min(24, (slot * 0.7) / CHART_SERIES.length));
  const y = (v: number) => box.top + plotH - (v / max) * plotH;
  const groups = shown.map((imp, i) => {
    const centre = box.left + slot * i + slot / 2;
    const start = centre - (barW * CHART_SERIES.length) / 2;
    return {
      importId: imp.importId,
      createdAt: imp.createdAt,
      x: centre,
      bars: CHART_SERIES.map((s, j) => {
        const value = imp[s.key];
        return { key: s.key, value, x: start + j * barW, y: y(value), width: barW - 1, height: box.top + plotH - y(value) };
      }),
    };
  });
  const yTicks: Array<{ value: number; y: number }> = [];
  for (let v = 0; v <= max; v += step) yTicks.push({ value: v, y: y(v) });
  return { groups, yTicks, max };
}

// ---------------------------------------------------------------------------------------------
// Scheduled imports while the app is open.

/** How often the app starts the scheduled imports that are due. */
export const DUE_IMPORTS_EVERY_MS = 60_000;

const systemClock: Clock = {
  setInterval: (fn, ms) => globalThis.setInterval(fn, ms),
  clearInterval: (handle) => globalThis.clearInterval(handle as ReturnType<typeof setInterval>),
  now: () => new Date(),
};

/**
 * The app's round of scheduled imports (docs/imports.md, "Schedules"): once at start and every
 * minute while okta365 is open (every profile). Keeps what the rounds did, newest first, and counts
 * the rounds that did something so the Imports step can read its history again.
 */
export class DueImports {
  running = $state(false);
  /** Imports the rounds started (applied, or left planned with the reason), newest first. */
  ran = $state<DueImport[]>([]);
  /** Bumped each time a round started an import. */
  version = $state(0);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #clock: Clock;
  #timer: unknown = null;

  constructor(backend: Backend, clock: Clock = systemClock) {
    this.#backend = backend;
    this.#clock = clock;
  }

  get started(): boolean {
    return this.#timer !== null;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#clock.setInterval(() => void this.round(), DUE_IMPORTS_EVERY_MS);
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
      const due = await this.#backend.runDueImports(null);
      this.error = null;
      if (due.length) {
        this.ran = [...due.slice().reverse(), ...this.ran].slice(0, 20);
        this.version++;
      }
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.running = false;
    }
  }
}
