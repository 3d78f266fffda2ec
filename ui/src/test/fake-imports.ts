// Anything-as-a-Source imports (docs/imports.md) in the fake engine: a 100-record HR source served
// as a CSV file or an HTTP JSON endpoint, the engine's mapping suggestions, mapping and validation
// with rejects, saved mappings, plans (delta, counts, sessions, bulk requests, the rejects stop and
// the deactivation guard), applies that report records uploaded chunk by chunk with the session's
// status, the rejects as CSV and the past imports. Same command names, argument names, JSON shapes
// and error codes as the engine.
import type {
  ApiError,
  DueImport,
  ImportMapping,
  ImportPlan,
  ImportRequest,
  ImportSchedule,
  ImportSummary,
  MappedPreviewRow,
  Profile,
  Progress,
  Reject,
  RunSummary,
  RunTrigger,
  SourcePreview,
  SourceSpec,
  Transform,
} from "../lib/ipc";
import type { FakeEngine } from "./fake-engine";

function fail(code: ApiError["code"], message: string): never {
  throw { code, message } satisfies ApiError;
}

/** The attributes of the Custom Identity Source (docs/imports.md, "Mapping"). */
export const ATTRIBUTES = [
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
];

const ACTIVE = ["true", "1", "yes", "y", "active", "enabled"];
const INACTIVE = ["false", "0", "no", "n", "inactive", "disabled", "terminated"];
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s.]+$/;
const LIMITS: Record<string, number> = { userName: 100, email: 100, secondEmail: 100, firstName: 50, lastName: 50, mobilePhone: 100 };

/** The columns of the HR sample (flows.md §4.5). */
export const HR_COLUMNS = ["id", "active", "title", "first_name", "last_name", "street_number", "street_name", "city", "state", "country", "postcode", "email", "phone", "cell", "dob"];

const FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger", "Radia", "Tim", "Hedy", "John", "Katherine", "Guido", "Anita", "Bjarne", "Sophie", "Niklaus"];
const LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Backus", "Johnson", "van Rossum", "Borg", "Stroustrup", "Wilson", "Wirth"];
const TITLES = ["Engineer", "Analyst", "Accountant", "Designer", "Recruiter", "Sales Manager", "Support Lead", "Product Owner"];
const CITIES: Array<[string, string, string, string]> = [
  ["Berlin", "BE", "DE", "10115"],
  ["Munich", "BY", "DE", "80331"],
  ["Seattle", "WA", "US", "98101"],
  ["Austin", "TX", "US", "73301"],
  ["Dublin", "D", "IE", "D02"],
  ["Lyon", "ARA", "FR", "69001"],
];
const STREETS = ["Main Street", "Station Road", "Lindenstraße", "Rue de la Paix", "Harbour Way"];

/**
 * The HR sample: 100 records, every 12th inactive (8 in all), and record 5 (line 6 of the CSV) with
 * an email that is not an address (one reject, 1 % of the records: within the default limit).
 */
export function hrRecords(): Record<string, string>[] {
  return Array.from({ length: 100 }, (_, i) => {
    const n = i + 1;
    const first = FIRST[i % FIRST.length];
    const last = LAST[(i * 7) % LAST.length];
    const [city, state, country, postcode] = CITIES[i % CITIES.length];
    const local = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, "");
    return {
      id: `E${String(1000 + n)}`,
      active: n % 12 === 0 ? "false" : "true",
      title: TITLES[i % TITLES.length],
      first_name: first,
      last_name: last,
      street_number: String(10 + ((i * 13) % 90)),
      street_name: STREETS[i % STREETS.length],
      city,
      state,
      country,
      postcode,
      email: n === 5 ? `${local}.example.com` : `${local}${n}@example.com`,
      phone: `+49 30 5550${String(n).padStart(3, "0")}`,
      cell: `+49 170 55${String(n).padStart(4, "0")}`,
      dob: `19${70 + (i % 30)}-0${1 + (i % 9)}-1${i % 10}`,
    };
  });
}

/** Where records come from: the fake's files and endpoints. */
interface Loaded {
  records: Record<string, string>[];
  /** Each record's position (CSV line or index from 1). */
  positions: number[];
  columns: string[];
  problems: string[];
}

interface StoredImport {
  plan: ImportPlan;
  /** Records to upload, in spool order. */
  spool: Array<{ externalId: string; active: boolean; profile: Record<string, string>; hash: string }>;
  rejects: Reject[];
  summary: ImportSummary;
  run: RunSummary | null;
}

/** The engine's `suggest`: normalised names (lower case, no `_ - space`) to attributes. */
export function suggestMapping(columns: string[]): ImportMapping {
  const norm = (c: string) => c.toLowerCase().replace(/[_\-\s]/g, "");
  const find = (...names: string[]) => columns.find((c) => names.map(norm).includes(norm(c))) ?? null;
  const col = (column: string): Transform => ({ kind: "column", column });
  const attributes: ImportMapping["attributes"] = [];
  const add = (attribute: string, column: string | null) => {
    if (column) attributes.push({ attribute, value: col(column) });
  };
  const email = find("email", "mail", "work_email");
  const login = find("username", "login");
  add("userName", login ?? email);
  add("firstName", find("first_name", "firstname", "given_name"));
  add("lastName", find("last_name", "surname", "family_name"));
  add("email", email);
  add("mobilePhone", find("cell", "mobile", "mobile_phone"));
  add("title", find("title", "job_title"));
  add("displayName", find("display_name", "name"));
  add("primaryPhone", find("phone", "work_phone"));
  const num = find("street_number");
  const street = find("street_name");
  if (num && street) attributes.push({ attribute: "streetAddress", value: { kind: "concat", parts: [col(num), col(street)], separator: " " } });
  else add("streetAddress", find("street", "address"));
  add("city", find("city"));
  add("state", find("state", "region"));
  add("zipCode", find("postcode", "zip", "zip_code", "postal_code"));
  add("countryCode", find("country", "country_code"));
  const id = find("id", "employee_id", "emp_id", "externalid", "uid");
  const active = find("active", "status", "enabled");
  return {
    externalId: col(id ?? columns[0] ?? "id"),
    attributes,
    active: active ? { column: active, active: [...ACTIVE], inactive: [...INACTIVE] } : null,
  };
}

/** A transform applied to a record (a missing column reads as ""). */
export function evaluate(t: Transform, record: Record<string, string>): string {
  switch (t.kind) {
    case "column":
      return record[t.column] ?? "";
    case "constant":
      return t.value;
    case "concat":
      return t.parts
        .map((p) => evaluate(p, record))
        .filter((v) => v !== "")
        .join(t.separator);
    case "lower":
      return evaluate(t.of, record).toLowerCase();
    case "beforeAt":
      return evaluate(t.of, record).split("@")[0];
  }
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export class FakeImports {
  /** CSV files of the fake machine, by path: their records. */
  files = new Map<string, Record<string, string>[]>();
  /** The sandbox's HR records (`/_sandbox/hr/users`, JSON pages of 50 under /data, next URL at /next). */
  hr: Record<string, string>[] = hrRecords();
  /** When set, apply_import waits for the promise after its first chunk. */
  applyGate: Promise<void> | null = null;
  /** Pause between reports, for trying the UI in a browser. */
  stepDelayMs = 0;
  /** The next triggered session ends in ERROR (the sandbox's fail-next). */
  failNextSession = false;
  readonly schedules = new Map<string, ImportSchedule | null>();
  /** When each schedule last started an import. */
  readonly lastRun = new Map<string, Date>();
  now: () => Date = () => new Date();
  readonly #engine: FakeEngine;
  readonly #mappings = new Map<string, { source: SourceSpec; mapping: ImportMapping }>();
  /** Auth header values by profile and source name (the keychain's part). */
  readonly #sourceSecrets = new Map<string, string>();
  readonly #hashes = new Map<string, Map<string, string>>();
  readonly #imports = new Map<string, StoredImport>();
  #seq = 0;
  #sessions = 0;

  constructor(engine: FakeEngine) {
    this.#engine = engine;
    this.files.set("/home/admin/hr-export.csv", this.hr);
  }

  handles(cmd: string): boolean {
    return [
      "preview_source",
      "set_import_source_secret",
      "suggest_mapping",
      "preview_mapping",
      "import_mapping",
      "save_import_mapping",
      "plan_import",
      "apply_import",
      "import_rejects",
      "list_imports",
      "set_import_schedule",
      "import_schedule",
      "run_due_imports",
    ].includes(cmd);
  }

  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "preview_source": {
        this.#engine.profile(args.profileId);
        const loaded = this.#load(args.source as SourceSpec, this.#secretOf(args));
        return {
          columns: loaded.columns,
          rows: structuredClone(loaded.records.slice(0, 20)),
          total: loaded.records.length,
          problems: loaded.problems,
        } satisfies SourcePreview;
      }
      case "suggest_mapping": {
        this.#engine.profile(args.profileId);
        return suggestMapping(this.#load(args.source as SourceSpec, this.#secretOf(args)).columns);
      }
      case "preview_mapping": {
        this.#engine.profile(args.profileId);
        const mapping = this.#checkMapping(args.mapping as ImportMapping);
        const loaded = this.#load(args.source as SourceSpec, this.#secretOf(args));
        return this.#mapAll(loaded, mapping).slice(0, 20);
      }
      case "import_mapping": {
        const p = this.#engine.profile(args.profileId);
        const key = this.#key(p.id, String(args.sourceName));
        const saved = this.#mappings.get(key);
        return saved ? { ...structuredClone(saved), authValueSaved: saved.source.kind === "http" && !!saved.source.authHeader && this.#sourceSecrets.has(key) } : null;
      }
      case "set_import_source_secret": {
        const p = this.#engine.profile(args.profileId);
        const key = this.#key(p.id, String(args.sourceName ?? "").trim());
        const value = args.value as string | null;
        if (value === null) {
          this.#sourceSecrets.delete(key);
          return false;
        }
        if (!value.trim()) fail("invalid_input", "The auth header value is empty; paste the value the source expects (e.g. Bearer …), or forget the saved one.");
        this.#sourceSecrets.set(key, value);
        return true;
      }
      case "save_import_mapping": {
        const p = this.#engine.profile(args.profileId);
        const name = String(args.sourceName ?? "").trim();
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name))
          fail("invalid_input", `"${name}" is not a source name: use 1 to 64 letters, digits, "-", "_" or ".", such as hr.`);
        const source = args.source as SourceSpec;
        this.#checkSource(source);
        const mapping = this.#checkMapping(args.mapping as ImportMapping);
        this.#mappings.set(this.#key(p.id, name), structuredClone({ source, mapping }));
        return null;
      }
      case "plan_import":
        return this.#plan(args.request as ImportRequest);
      case "apply_import":
        return this.#apply(String(args.importId), (args.confirmDeactivations as number | null) ?? null, args.onProgress);
      case "import_rejects": {
        const stored = this.#imports.get(String(args.importId)) ?? fail("not_found", `No import with id ${String(args.importId)}.`);
        return ["position,externalId,reason", ...stored.rejects.map((r) => [String(r.position), r.externalId ?? "", r.reason].map(csvCell).join(","))].join("\n") + "\n";
      }
      case "list_imports": {
        const p = this.#engine.profile(args.profileId);
        return [...this.#imports.values()]
          .filter((i) => i.plan.profileId === p.id)
          .map((i) => structuredClone(i.summary))
          .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      }
      case "set_import_schedule": {
        const p = this.#engine.profile(args.profileId);
        const name = String(args.sourceName ?? "").trim();
        if (!this.#mappings.has(this.#key(p.id, name))) fail("invalid_input", `No source named "${name}" is saved; save its mapping first.`);
        const schedule = (args.schedule as ImportSchedule | null) ?? null;
        if (schedule) {
          if ((schedule.everyMins === null) === (schedule.dailyAt === null))
            fail("invalid_input", "A schedule is either every N minutes or daily at HH:MM, not both (and not neither).");
          if (schedule.everyMins !== null && !(Number.isInteger(schedule.everyMins) && schedule.everyMins >= 5))
            fail("invalid_input", "Import at most every 5 minutes: Okta allows one import session per 5 minutes.");
          if (schedule.dailyAt !== null && !/^([01]\d|2[0-3]):[0-5]\d$/.test(schedule.dailyAt))
            fail("invalid_input", `"${schedule.dailyAt}" is not a time of day; use HH:MM such as 02:00.`);
        }
        const stored = schedule ? { ...schedule, timeZone: schedule.timeZone ?? "UTC" } : null;
        this.schedules.set(this.#key(p.id, name), stored);
        return structuredClone(stored);
      }
      case "run_due_imports":
        return this.#runDue((args.profileId as string | null) ?? null, args.onProgress);
      case "import_schedule": {
        const p = this.#engine.profile(args.profileId);
        return structuredClone(this.schedules.get(this.#key(p.id, String(args.sourceName ?? "").trim())) ?? null);
      }
    }
    return fail("internal", `unhandled ${cmd}`);
  }

  /** Saves a source and mapping for a profile directly (what a test or the dev preview starts from). */
  saveMapping(profileId: string, sourceName: string, source: SourceSpec, mapping: ImportMapping): void {
    this.#mappings.set(this.#key(profileId, sourceName), structuredClone({ source, mapping }));
  }

  /** The schedule of a source name. */
  schedule(profileId: string, sourceName: string): ImportSchedule | null {
    return structuredClone(this.schedules.get(this.#key(profileId, sourceName)) ?? null);
  }

  /** The saved mapping of a source name. */
  savedMapping(profileId: string, sourceName: string): { source: SourceSpec; mapping: ImportMapping } | null {
    return structuredClone(this.#mappings.get(this.#key(profileId, sourceName)) ?? null);
  }

  /** Three past imports of the HR source for the monitoring card, oldest first. */
  seed(profile: Profile): void {
    const past: Array<Partial<ImportSummary>> = [
      { status: "succeeded", records: 100, upserted: 91, deactivated: 8, unchanged: 0, rejected: 1, sessions: 1, durationMs: 41_000, outcome: "91 upserted, 8 deactivated, 1 rejected" },
      { status: "partial", records: 100, upserted: 0, deactivated: 0, unchanged: 93, rejected: 1, sessions: 1, durationMs: 38_000, outcome: "session 1 ended in ERROR; 6 records to upload again" },
      { status: "succeeded", records: 100, upserted: 6, deactivated: 0, unchanged: 93, rejected: 1, sessions: 1, durationMs: 12_500, outcome: "6 upserted, 93 unchanged, 1 rejected" },
    ];
    for (const [i, s] of past.entries()) {
      const importId = this.#nextId();
      const createdAt = new Date(Date.UTC(2026, 2, 1 + i, 2, 0, 0)).toISOString();
      const source: SourceSpec = { kind: "csv", path: "/home/admin/hr-export.csv", delimiter: null };
      this.#imports.set(importId, {
        plan: { ...this.#emptyPlan(profile.id, "hr", source), importId, plannedAt: createdAt },
        spool: [],
        rejects: [{ position: 6, externalId: "E1005", reason: 'email "margaret.allen.example.com" is not an address like name@example.com' }],
        summary: { importId, sourceName: "hr", createdAt, ...s } as ImportSummary,
        run: null,
      });
    }
  }

  #key(profileId: string, sourceName: string): string {
    return `${profileId}\u0000${sourceName}`;
  }

  #nextId(): string {
    return `00000007-0000-4000-8000-${String(++this.#seq).padStart(12, "0")}`;
  }

  #checkSource(source: SourceSpec): void {
    if (!source || (source.kind !== "csv" && source.kind !== "http")) fail("invalid_input", 'A source is a CSV file (kind "csv") or an HTTP JSON endpoint (kind "http").');
    if (source.kind === "csv" && !source.path.trim()) fail("invalid_input", "Enter the path of the CSV file.");
    if (source.kind === "http") {
      const url = source.url.trim();
      const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(url);
      if (!/^https:\/\//.test(url) && !loopback) fail("invalid_input", `${url} is not https: okta365 reads sources over https (http only on 127.0.0.1 or localhost).`);
    }
  }

  #checkMapping(mapping: ImportMapping): ImportMapping {
    const unknown = mapping.attributes.find((r) => !ATTRIBUTES.includes(r.attribute));
    if (unknown) fail("invalid_input", `"${unknown.attribute}" is not an attribute of the Custom Identity Source; use one of ${ATTRIBUTES.join(", ")}.`);
    return mapping;
  }

  /** Reads a source the way the engine does (the fake's files and the sandbox's HR endpoint). */
  /** The auth header value saved for the call's source name, if any. */
  #secretOf(args: Record<string, unknown>): string | undefined {
    const name = String(args.sourceName ?? "").trim();
    if (!name) return undefined;
    return this.#sourceSecrets.get(this.#key(this.#engine.profile(args.profileId).id, name));
  }

  #load(source: SourceSpec, secret?: string): Loaded {
    this.#checkSource(source);
    if (source.kind === "http" && source.authHeader?.trim() && secret === undefined)
      fail("invalid_input", `The source sends the header ${source.authHeader.trim()}, but no value is saved for it. Save the value with the source, or clear the auth header.`);
    if (source.kind === "csv") {
      const records = this.files.get(source.path.trim());
      if (!records) fail("not_found", `No file at ${source.path}: check the path (the file must be readable by okta365).`);
      if (source.delimiter !== null && source.delimiter !== ",")
        return { records: [], positions: [], columns: [HR_COLUMNS.join(",")], problems: [`The header has one column with the delimiter "${source.delimiter}"; leave the delimiter empty to detect it.`] };
      return { records: structuredClone(records), positions: records.map((_, i) => i + 2), columns: this.#columns(records), problems: [] };
    }
    if (!source.url.includes("/_sandbox/hr/users"))
      fail("invalid_input", `GET ${source.url} answered 404 Not Found; check the URL of the endpoint.`);
    if (source.recordsPointer !== "/data")
      fail("invalid_input", `The body of ${source.url} is an object, not an array${source.recordsPointer ? ` at ${source.recordsPointer}` : ""}; set the records pointer to where the array is, such as /data.`);
    const records = source.nextField === "/next" ? this.hr : this.hr.slice(0, 50);
    const problems = source.nextField === "/next" ? [] : ["Only the first page was read: the body has a next URL at /next; set the next field to /next to read every page."];
    return { records: structuredClone(records), positions: records.map((_, i) => i + 1), columns: this.#columns(records), problems };
  }

  #columns(records: Record<string, string>[]): string[] {
    const cols: string[] = [];
    for (const r of records) for (const c of Object.keys(r)) if (!cols.includes(c)) cols.push(c);
    return cols.length ? cols : [...HR_COLUMNS];
  }

  /** Maps and validates every record (duplicates of an externalId rejected, naming the first). */
  #mapAll(loaded: Loaded, mapping: ImportMapping): MappedPreviewRow[] {
    const seen = new Map<string, number>();
    return loaded.records.map((record, i) => {
      const position = loaded.positions[i];
      const externalId = evaluate(mapping.externalId, record).trim() || null;
      const profile: Record<string, string> = {};
      for (const r of mapping.attributes) {
        const v = evaluate(r.value, record);
        if (v !== "") profile[r.attribute] = v;
      }
      let active: boolean | null = true;
      let reject: string | null = null;
      if (mapping.active) {
        const raw = (record[mapping.active.column] ?? "").trim().toLowerCase();
        if (mapping.active.active.some((v) => v.trim().toLowerCase() === raw)) active = true;
        else if (mapping.active.inactive.some((v) => v.trim().toLowerCase() === raw)) active = false;
        else {
          active = null;
          reject = `${mapping.active.column} "${record[mapping.active.column] ?? ""}" is neither active (${mapping.active.active.join(", ")}) nor inactive (${mapping.active.inactive.join(", ")})`;
        }
      }
      reject ??= this.#validate(externalId, profile);
      if (!reject && externalId) {
        const first = seen.get(externalId);
        if (first !== undefined) reject = `externalId ${externalId} was already used by the record at ${first}`;
        else seen.set(externalId, position);
      }
      return { position, externalId, active, profile, reject };
    });
  }

  #validate(externalId: string | null, profile: Record<string, string>): string | null {
    if (!externalId) return "externalId is empty";
    if (externalId.length > 512) return `externalId is ${externalId.length} characters long; at most 512`;
    if (!profile.userName) return "userName is empty";
    if (!profile.email) return "email is empty";
    if (!EMAIL.test(profile.email)) return `email "${profile.email}" is not an address like name@example.com`;
    if (profile.email.length < 5) return `email "${profile.email}" is shorter than 5 characters`;
    if (profile.secondEmail && !EMAIL.test(profile.secondEmail)) return `secondEmail "${profile.secondEmail}" is not an address like name@example.com`;
    for (const [attribute, value] of Object.entries(profile)) {
      const max = LIMITS[attribute] ?? 1024;
      if (value.length > max) return `${attribute} is ${value.length} characters long; at most ${max}`;
    }
    return null;
  }

  #emptyPlan(profileId: string, sourceName: string, source: SourceSpec): ImportPlan {
    return {
      importId: "",
      profileId,
      sourceName,
      source,
      records: 0,
      active: 0,
      inactive: 0,
      unchanged: 0,
      rejected: 0,
      rejects: [],
      stopped: null,
      deactivationGuard: null,
      staleSessions: [],
      activeSession: null,
      sessions: 0,
      bulkRequests: 0,
      expectedSecs: 0,
      plannedAt: this.now().toISOString(),
    };
  }

  #plan(request: ImportRequest): ImportPlan {
    const p = this.#engine.profile(request.profileId);
    if (!p.okta.identitySourceId)
      fail("invalid_input", "This profile has no Custom Identity Source id; enter it on the Okta step (Identity source id, 0oa…).");
    const saved = this.#mappings.get(this.#key(p.id, request.sourceName)) ?? fail("not_found", `No saved mapping for the source "${request.sourceName}"; save one first.`);
    const maxReject = request.maxRejectPercent ?? 1;
    const maxDeactivations = request.maxDeactivations ?? 10;
    if (!(maxReject >= 0 && maxReject <= 100)) fail("invalid_input", "maxRejectPercent is a percentage from 0 to 100.");
    if (!(Number.isInteger(maxDeactivations) && maxDeactivations >= 0)) fail("invalid_input", "maxDeactivations is a whole number, 0 or more.");
    const loaded = this.#load(saved.source, this.#sourceSecrets.get(this.#key(p.id, request.sourceName)));
    const rows = this.#mapAll(loaded, saved.mapping);
    const hashes = this.#hashes.get(this.#key(p.id, request.sourceName)) ?? new Map<string, string>();
    const rejects: Reject[] = [];
    const spool: StoredImport["spool"] = [];
    let unchanged = 0;
    for (const r of rows) {
      if (r.reject || !r.externalId) {
        rejects.push({ position: r.position, externalId: r.externalId, reason: r.reject ?? "externalId is empty" });
        continue;
      }
      const hash = JSON.stringify([r.active, Object.entries(r.profile).sort(([a], [b]) => a.localeCompare(b))]);
      if (request.delta && !request.fullResync && hashes.get(r.externalId) === hash) {
        unchanged++;
        continue;
      }
      spool.push({ externalId: r.externalId, active: r.active !== false, profile: r.profile, hash });
    }
    const active = spool.filter((s) => s.active).length;
    const inactive = spool.length - active;
    const sessions = spool.length === 0 ? 0 : Math.ceil(spool.length / 10_000);
    const bulkRequests = Math.ceil(active / 200) + Math.ceil(inactive / 200);
    const importId = this.#nextId();
    const plan: ImportPlan = {
      ...this.#emptyPlan(p.id, request.sourceName, saved.source),
      importId,
      records: rows.length,
      active,
      inactive,
      unchanged,
      rejected: rejects.length,
      rejects: rejects.slice(0, 200),
      stopped: rows.length > 0 && (rejects.length / rows.length) * 100 > maxReject ? "rejects" : null,
      deactivationGuard: inactive > maxDeactivations ? { count: inactive, max: maxDeactivations } : null,
      sessions,
      bulkRequests,
      // One GET /sessions, then per session create + start + polls; half a second a request, plus
      // Okta's processing (5 s + 2 s per 1,000 users).
      expectedSecs: Math.ceil(0.5 * (1 + bulkRequests + 2 * sessions) + sessions * 5 + (spool.length / 1000) * 2),
    };
    this.#imports.set(importId, {
      plan,
      spool,
      rejects,
      summary: {
        importId,
        sourceName: request.sourceName,
        status: "planned",
        records: rows.length,
        upserted: 0,
        deactivated: 0,
        unchanged,
        rejected: rejects.length,
        sessions,
        createdAt: plan.plannedAt,
        durationMs: null,
        outcome: plan.stopped ? `stopped: ${rejects.length} rejects` : "planned",
      },
      run: null,
    });
    return structuredClone(plan);
  }

  /** The scheduled imports that are due: planned with the defaults, applied unless stopped. */
  async #runDue(profileId: string | null, channel: unknown): Promise<DueImport[]> {
    const now = this.now();
    const out: DueImport[] = [];
    for (const [key, schedule] of this.schedules) {
      const [pid, sourceName] = key.split("\u0000");
      if (!schedule || (profileId !== null && pid !== profileId)) continue;
      const last = this.lastRun.get(key) ?? null;
      const due = schedule.everyMins !== null
        ? last === null || now.getTime() - last.getTime() >= schedule.everyMins * 60_000
        : schedule.dailyAt !== null &&
          now.toISOString().slice(11, 16) >= schedule.dailyAt &&
          (last === null || last.toISOString().slice(0, 10) !== now.toISOString().slice(0, 10));
      if (!due) continue;
      this.lastRun.set(key, now);
      let plan: ImportPlan | null = null;
      try {
        plan = this.#plan({ profileId: pid, sourceName, delta: true, fullResync: false, maxRejectPercent: 1, maxDeactivations: 10 });
        if (plan.stopped) {
          out.push({ sourceName, plan, applied: null, problem: `Stopped: ${plan.rejected} of ${plan.records} records rejected; nothing uploaded` });
          continue;
        }
        if (plan.deactivationGuard) {
          out.push({
            sourceName,
            plan,
            applied: null,
            problem: `It deactivates ${plan.deactivationGuard.count} users, more than ${plan.deactivationGuard.max}; confirm it on the Imports step`,
          });
          continue;
        }
        const applied = plan.active + plan.inactive > 0 ? await this.#apply(plan.importId, null, channel, "schedule") : null;
        out.push({ sourceName, plan, applied, problem: null });
      } catch (error) {
        out.push({ sourceName, plan, applied: null, problem: (error as ApiError).message ?? String(error) });
      }
    }
    return out;
  }

  async #apply(importId: string, confirm: number | null, channel: unknown, trigger: RunTrigger = "manual"): Promise<RunSummary> {
    const stored = this.#imports.get(importId) ?? fail("not_found", `No import with id ${importId}.`);
    const { plan, summary } = stored;
    if (summary.status !== "planned") fail("invalid_input", `Import ${importId} is ${summary.status}; plan it again to apply.`);
    if (plan.stopped === "rejects")
      fail("invalid_input", `The plan was stopped: ${plan.rejected} of ${plan.records} records are rejects, more than the limit; fix the source (or raise the limit) and plan again. Nothing was uploaded.`);
    if (plan.deactivationGuard && confirm !== plan.deactivationGuard.count)
      fail(
        "invalid_input",
        `This import deactivates ${plan.deactivationGuard.count} users, more than ${plan.deactivationGuard.max}; confirm with ${plan.deactivationGuard.count} (${confirm === null ? "nothing was typed" : `${confirm} was typed`}).`,
      );
    if (!channel) fail("invalid_input", "missing onProgress channel");
    const started = this.now();
    summary.status = "running";
    const total = stored.spool.length;
    let index = 0;
    let done = 0;
    // As the engine words them: "{what}: session n of m (…) — X of Y records uploaded, about N s left (etaSecs N)".
    const report = async (step: string, what: string) => {
      const left = eta();
      const message =
        step === "done"
          ? what
          : `${what} — ${done} of ${total} records uploaded${done > 0 && done < total ? `, about ${left} s left (etaSecs ${left})` : ""}`;
      const progress: Progress = { operation: "import", step, done, total, message };
      this.#engine.send(channel, index++, progress);
      if (this.stepDelayMs) await new Promise((r) => setTimeout(r, this.stepDelayMs));
    };
    const eta = () => Math.max(0, Math.round(((total - done) / 200) * 0.5 + 5 + (total / 1000) * 2));
    const fails = this.failNextSession;
    this.failNextSession = false;
    let upserted = 0;
    let deactivated = 0;
    let steps = 0;
    let failedSteps = 0;
    const hashes = this.#hashes.get(this.#key(plan.profileId, plan.sourceName)) ?? new Map<string, string>();
    for (let s = 0; s < plan.sessions; s++) {
      const users = stored.spool.slice(s * 10_000, (s + 1) * 10_000);
      const id = `aps${String(++this.#sessions).padStart(17, "0")}`;
      const of = `session ${s + 1} of ${plan.sessions}`;
      await report("createSession", `Create an import session: ${of} (${id}, CREATED)`);
      steps++;
      const chunks = [
        ...chunk(users.filter((u) => u.active), 200).map((c) => ({ kind: "upsert" as const, c })),
        ...chunk(users.filter((u) => !u.active), 200).map((c) => ({ kind: "delete" as const, c })),
      ];
      for (const [i, { kind, c }] of chunks.entries()) {
        done += c.length;
        if (kind === "upsert") upserted += c.length;
        else deactivated += c.length;
        steps++;
        await report(kind === "upsert" ? "bulkUpsert" : "bulkDelete", `${kind === "upsert" ? "Upload users" : "Deactivate users"}: ${of} (chunk ${i + 1} of ${chunks.length}, ${c.length} users, CREATED)`);
        if (i === 0 && this.applyGate) await this.applyGate;
      }
      await report("startImport", `Start the import: ${of} (TRIGGERED)`);
      await report("awaitSession", `Wait for the import to finish: ${of} (IN_PROGRESS)`);
      steps += 2;
      if (fails) {
        failedSteps++;
        await report("awaitSession", `Wait for the import to finish: ${of} (ERROR: its users are uploaded again by the next import)`);
        upserted -= users.filter((u) => u.active).length;
        deactivated -= users.filter((u) => !u.active).length;
        continue;
      }
      for (const u of users) hashes.set(u.externalId, u.hash);
      await report("awaitSession", `Wait for the import to finish: ${of} (COMPLETED)`);
    }
    this.#hashes.set(this.#key(plan.profileId, plan.sourceName), hashes);
    done = total;
    const status = failedSteps ? "partial" : "succeeded";
    await report("done", status === "succeeded" ? `Imported ${total} records: ${upserted} upserted, ${deactivated} deactivated` : "The import ended partly: a session ended in ERROR");
    const finished = this.now();
    const durationMs = Math.max(1, finished.getTime() - started.getTime());
    Object.assign(summary, {
      status,
      upserted,
      deactivated,
      durationMs,
      outcome:
        status === "succeeded"
          ? `${upserted} upserted, ${deactivated} deactivated, ${plan.unchanged} unchanged, ${plan.rejected} rejected`
          : `a session ended in ERROR; ${total - upserted - deactivated} records to upload again`,
    } satisfies Partial<ImportSummary>);
    const run: RunSummary = {
      runId: importId,
      profileId: plan.profileId,
      operation: "imports",
      trigger,
      status,
      users: total,
      changes: steps,
      done: steps - failedSteps,
      failed: failedSteps,
      createdAt: plan.plannedAt,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationMs,
      undoOf: null,
      undoneBy: null,
    };
    stored.run = run;
    return structuredClone(run);
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
