// Provisioning from the Okta groups (docs/provisioning.md) in the fake engine: per-profile settings,
// the username preview, plans made from the fake Okta org's group members against the fake Entra
// users and links, applies that report each step and journal it, the run history (filter, detail,
// export, delete), System Log polling, reconcile and the one-click test run. Same command names,
// argument names, JSON shapes and error codes as the engine.
import type {
  ApiError,
  AttributeMapping,
  ChangeKind,
  FieldChange,
  GuardStop,
  OperationId,
  PlanRunRequest,
  PlannedChange,
  Profile,
  Progress,
  ProvisioningSettings,
  RunDetail,
  RunFilter,
  RunPlan,
  RunStep,
  RunSummary,
  RunTrigger,
  TestRunRequest,
  TestRunResult,
  TriggerReport,
  UsernameFormat,
  UsernamePreview,
  UsernamePreviewRow,
} from "../lib/ipc";
import type { FakeEngine } from "./fake-engine";
import { LIFECYCLE_OPERATIONS, type Drafts } from "./fake-lifecycle";

/** The operations this contract plans and applies. */
export const RUN_OPERATIONS: readonly OperationId[] = ["memberAccounts", "profileSync", "guests", ...LIFECYCLE_OPERATIONS];

/** A change as a planner makes it, before FakeRuns numbers it (detail defaults to null). */
type Draft = Omit<PlannedChange, "seq" | "detail"> & { detail?: unknown };

/** The engine's default attribute mapping (Okta profile → Graph user). */
export const DEFAULT_ATTRIBUTES: AttributeMapping[] = [
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
export const GRAPH_PROPERTIES = [
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
] as const;

/** A user of the fake Okta org; `groups` are group names. */
export interface FakeOktaUser {
  id: string;
  login: string;
  email: string | null;
  profile: Record<string, string>;
  groups: string[];
}

/** A user of the fake Entra tenant (the properties the planners read and write). */
export interface FakeEntraUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  userType: "Member" | "Guest";
  accountEnabled: boolean;
  [property: string]: string | boolean | null;
}

export interface FakeLink {
  oktaUserId: string;
  kind: "member" | "guest";
  entraId: string;
  upn: string;
  mail: string | null;
  linkedAt: string;
}

/** A vendor failure the fake answers for one user's write. */
export interface FakeFailure {
  httpStatus: number;
  vendorCode: string;
  vendorMessage: string;
  fix: string;
}

/** A System Log event waiting for the next poll. */
export interface FakeLogEvent {
  eventType: "group.user_membership.add" | "group.user_membership.remove" | "user.account.update_profile";
  oktaUserId: string;
  /** The group's name (membership events). */
  group: string | null;
}

interface StoredRun {
  detail: RunDetail;
}

function fail(code: ApiError["code"], message: string): never {
  throw { code, message } satisfies ApiError;
}

const DESTRUCTIVE: readonly ChangeKind[] = ["deleteUser", "disableUser", "removeLicenses"];
const PLAN_TTL_MS = 15 * 60 * 1000;

function guid(prefix: number, n: number): string {
  return `${String(prefix).padStart(8, "0")}-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

function localPart(address: string): string {
  return address.split("@")[0];
}

function domainOf(address: string): string {
  return address.split("@")[1]?.toLowerCase() ?? "";
}

export class FakeRuns {
  /** The fake Okta org's users (members of groups by name). */
  oktaUsers: FakeOktaUser[] = [];
  /** The fake Entra tenant's users. */
  entraUsers: FakeEntraUser[] = [];
  /** Verified domains of the tenant; the first is the default. */
  domains: Array<{ name: string; federated: boolean }> = [
    { name: "contoso.com", federated: false },
    { name: "contoso.onmicrosoft.com", federated: false },
  ];
  /** Writes for these Okta user ids (or logins) fail with the given vendor error. */
  failures = new Map<string, FakeFailure>();
  /** System Log events the next poll reads. */
  logEvents: FakeLogEvent[] = [];
  /** When set, apply_run and test_run wait for the promise after their first step returned. */
  applyGate: Promise<void> | null = null;
  /** Called at the start of each System Log poll (the dev preview adds a joiner now and then). */
  beforePoll: (() => void) | null = null;
  /** Pause between writes, for trying the UI in a browser. */
  stepDelayMs = 0;
  /** The clock; tests move it to age a plan. */
  now: () => Date = () => new Date();
  readonly #engine: FakeEngine;
  readonly #settings = new Map<string, ProvisioningSettings>();
  readonly #links = new Map<string, FakeLink[]>();
  readonly #runs = new Map<string, StoredRun>();
  readonly #cursors = new Map<string, string>();
  #seq = 0;
  #testUsers = 0;

  constructor(engine: FakeEngine) {
    this.#engine = engine;
  }

  handles(cmd: string): boolean {
    return [
      "provisioning_settings",
      "set_provisioning_settings",
      "preview_usernames",
      "plan_run",
      "apply_run",
      "discard_run",
      "list_runs",
      "run_detail",
      "export_run",
      "delete_run",
      "resume_runs",
      "poll_system_log",
      "reconcile",
      "test_run",
      "cleanup_test_user",
    ].includes(cmd);
  }

  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "provisioning_settings":
        return structuredClone(this.settings(this.#engine.profile(args.profileId).id));
      case "set_provisioning_settings": {
        const p = this.#engine.profile(args.profileId);
        const settings = this.#check(args.settings as ProvisioningSettings);
        this.#settings.set(p.id, structuredClone(settings));
        return structuredClone(settings);
      }
      case "preview_usernames": {
        const p = this.#engine.profile(args.profileId);
        return this.preview(p, args.format as UsernameFormat);
      }
      case "plan_run": {
        const request = args.request as PlanRunRequest;
        const p = this.#engine.profile(request.profileId);
        return structuredClone(this.#plan(p, request.operation, request.users, request.trigger).detail.plan);
      }
      case "apply_run": {
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        const run = this.#run(args.runId);
        return this.#apply(run, (args.confirmDestructive as number | null) ?? null, args.onProgress);
      }
      case "discard_run": {
        const run = this.#run(args.runId);
        if (run.detail.summary.status !== "planned")
          fail("invalid_input", `Run ${run.detail.summary.runId} is ${run.detail.summary.status}; only a planned run can be discarded.`);
        run.detail.summary.status = "discarded";
        return null;
      }
      case "list_runs":
        return this.list(this.#engine.profile(args.profileId).id, args.filter as RunFilter);
      case "run_detail": {
        const detail = this.#run(args.runId).detail;
        return { ...structuredClone(detail), summary: this.#summary(detail) };
      }
      case "export_run": {
        const run = this.#run(args.runId);
        if (args.format === "json") return JSON.stringify(run.detail, null, 2);
        if (args.format === "csv") return toCsv(run.detail);
        return fail("invalid_input", `Export as json or csv, not "${String(args.format)}".`);
      }
      case "delete_run": {
        const run = this.#run(args.runId);
        if (run.detail.summary.status === "running") fail("invalid_input", "A running run cannot be deleted; wait until it ends.");
        this.#runs.delete(run.detail.summary.runId);
        return null;
      }
      case "resume_runs": {
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        const out: RunSummary[] = [];
        for (const run of this.#runs.values())
          if (run.detail.summary.status === "interrupted" || run.detail.summary.status === "running")
            out.push(await this.#execute(run, args.onProgress));
        return out;
      }
      case "poll_system_log":
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        return this.#poll(this.#engine.profile(args.profileId), args.onProgress);
      case "reconcile":
        return this.#reconcile(this.#engine.profile(args.profileId), (args.operation as OperationId | null) ?? null);
      case "test_run":
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        return this.#testRun(args.request as TestRunRequest, args.onProgress);
      case "cleanup_test_user": {
        const p = this.#engine.profile(args.profileId);
        this.#cleanup(p, String(args.oktaUserId));
        return null;
      }
      default:
        throw `command ${cmd} not found`;
    }
  }

  // --- Data --------------------------------------------------------------------------------------

  /** A demo org: members, guests, an account to match, a username problem, stale guest links. */
  seed(profile: Profile): void {
    const assignments = this.#groupName(profile, "assignments");
    const guests = this.#groupName(profile, "guests");
    const person = (first: string, last: string, extra: Record<string, string> = {}, email?: string | null) => {
      const login = `${first.toLowerCase()}.${last.toLowerCase()}@example.com`;
      return this.addOktaUser({
        login,
        email: email === undefined ? login : email,
        profile: { firstName: first, lastName: last, displayName: `${first} ${last}`, title: "Engineer", department: "R&D", city: "Berlin", countryCode: "DE", ...extra },
        groups: [assignments],
      });
    };
    person("Ada", "Lovelace", { title: "Chief Analyst" });
    person("Grace", "Hopper", { department: "Navy" });
    person("Alan", "Turing");
    person("Edsger", "Dijkstra", {}, null);
    person("Barbara", "Liskov", { title: "Professor" });
    const linus = person("Linus", "Torvalds");
    // Already in the tenant: matched by UPN and linked, never duplicated.
    this.addEntraUser({ userPrincipalName: "linus.torvalds@contoso.com", mail: "linus.torvalds@example.com", displayName: "Linus Torvalds" });
    void linus;
    for (const [first, last] of [["Marie", "Curie"], ["Rosalind", "Franklin"]])
      this.addOktaUser({
        login: `${first.toLowerCase()}@partner.example`,
        email: `${first.toLowerCase()}@partner.example`,
        profile: { firstName: first, lastName: last, displayName: `${first} ${last}` },
        groups: [guests],
      });
    // Guests who left the group: their accounts are deleted (enough to stop at the guard).
    for (const n of [1, 2, 3, 4]) {
      const gone = this.addOktaUser({ login: `former${n}@partner.example`, email: `former${n}@partner.example`, profile: { firstName: "Former", lastName: `Guest ${n}`, displayName: `Former Guest ${n}` }, groups: [] });
      const entra = this.addEntraUser({ userPrincipalName: `former${n}_partner.example#EXT#@contoso.onmicrosoft.com`, mail: gone.email, userType: "Guest", displayName: `Former Guest ${n}` });
      this.link(profile.id, { oktaUserId: gone.id, kind: "guest", entraId: entra.id, upn: entra.userPrincipalName, mail: gone.email, linkedAt: "2026-01-10T09:00:00Z" });
    }
  }

  addOktaUser(user: Omit<FakeOktaUser, "id"> & { id?: string }): FakeOktaUser {
    const added: FakeOktaUser = { id: user.id ?? `00u${++this.#seq}`, ...user } as FakeOktaUser;
    this.oktaUsers.push(added);
    return added;
  }

  addEntraUser(user: Partial<FakeEntraUser> & { userPrincipalName: string }): FakeEntraUser {
    const added: FakeEntraUser = { id: guid(7, ++this.#seq), mail: null, userType: "Member", accountEnabled: true, ...user } as FakeEntraUser;
    this.entraUsers.push(added);
    return added;
  }

  link(profileId: string, link: FakeLink): void {
    const links = this.links(profileId).filter((l) => !(l.oktaUserId === link.oktaUserId && l.kind === link.kind));
    this.#links.set(profileId, [...links, link]);
  }

  links(profileId: string): FakeLink[] {
    return this.#links.get(profileId) ?? [];
  }

  settings(profileId: string): ProvisioningSettings {
    return (
      this.#settings.get(profileId) ?? {
        username: { kind: "emailLocalPart", domain: this.domains[0]?.name ?? "contoso.onmicrosoft.com" },
        attributes: structuredClone(DEFAULT_ATTRIBUTES),
        guestRedirectUrl: "https://myapps.microsoft.com",
        guestSendInvitation: true,
        guestRemoval: "delete",
        guardMaxUsers: 10,
        guardMaxPercent: 5,
        pollIntervalSecs: 60,
        reconcileEveryMins: null,
      }
    );
  }

  /** Every run of every profile, newest first. */
  get runs(): RunDetail[] {
    return [...this.#runs.values()].map((r) => r.detail).reverse();
  }

  #groupName(profile: Profile, role: "assignments" | "guests"): string {
    return this.#engine.groupsOf(profile.id).find((g) => g.role === role)!.name;
  }

  #members(profile: Profile, role: "assignments" | "guests"): FakeOktaUser[] {
    const name = this.#groupName(profile, role);
    return this.oktaUsers.filter((u) => u.groups.includes(name));
  }

  #check(s: ProvisioningSettings): ProvisioningSettings {
    if (!Number.isInteger(s.pollIntervalSecs) || s.pollIntervalSecs < 10 || s.pollIntervalSecs > 3600)
      fail("invalid_input", `Poll the System Log every 10 to 3600 seconds, not ${s.pollIntervalSecs}.`);
    if (!Number.isInteger(s.guardMaxUsers) || s.guardMaxUsers < 0) fail("invalid_input", "The guard's user limit is a whole number of 0 or more.");
    if (!(s.guardMaxPercent >= 0 && s.guardMaxPercent <= 100)) fail("invalid_input", "The guard's percentage is between 0 and 100.");
    if (s.reconcileEveryMins !== null && (!Number.isInteger(s.reconcileEveryMins) || s.reconcileEveryMins < 1))
      fail("invalid_input", "Reconcile every 1 minute or more, or leave it off.");
    const seen = new Set<string>();
    for (const a of s.attributes) {
      if (!a.okta.trim()) fail("invalid_input", `The mapping to ${a.graph} needs an Okta attribute.`);
      if (!(GRAPH_PROPERTIES as readonly string[]).includes(a.graph))
        fail("invalid_input", `${a.graph} is not a Graph user property okta365 writes; use one of ${GRAPH_PROPERTIES.join(", ")}.`);
      if (seen.has(a.graph)) fail("invalid_input", `${a.graph} is mapped twice; keep one mapping per Graph property.`);
      seen.add(a.graph);
    }
    const u = s.username;
    if (u.kind === "emailLocalPart" && !this.domains.some((d) => d.name === u.domain))
      fail("invalid_input", `${u.domain} is not a verified domain of the tenant (verified: ${this.domains.map((d) => d.name).join(", ")}).`);
    if (!/^https:\/\//.test(s.guestRedirectUrl)) fail("invalid_input", "The guests' redirect URL must start with https://.");
    return s;
  }

  // --- Usernames ---------------------------------------------------------------------------------

  #upn(user: FakeOktaUser, format: UsernameFormat): string | null {
    switch (format.kind) {
      case "oktaLogin":
        return user.login.toLowerCase();
      case "email":
        return user.email?.toLowerCase() ?? null;
      case "emailLocalPart":
        return user.email ? `${localPart(user.email).toLowerCase()}@${format.domain}` : null;
    }
  }

  #usernames(profile: Profile, format: UsernameFormat): UsernamePreviewRow[] {
    const verified = this.domains.map((d) => d.name);
    const rows = this.#members(profile, "assignments").map((u): UsernamePreviewRow => {
      const upn = this.#upn(u, format);
      const domain = upn ? domainOf(upn) : "";
      const ok = verified.includes(domain);
      let problem: string | null = null;
      if (!u.email && format.kind !== "oktaLogin") problem = `${u.login} has no email in Okta; add one or use the Okta login as username.`;
      else if (upn && !ok) problem = `The domain ${domain} is not verified in the tenant (verified: ${verified.join(", ")}).`;
      return { oktaUserId: u.id, login: u.login, email: u.email ?? "", upn, verifiedDomain: upn !== null && ok, problem };
    });
    for (const row of rows) {
      if (row.problem || !row.upn) continue;
      const twin = rows.find((r) => r !== row && r.upn === row.upn);
      if (twin) row.problem = `${row.upn} would be the username of both ${row.login} and ${twin.login}.`;
    }
    return rows;
  }

  preview(profile: Profile, format: UsernameFormat): UsernamePreview {
    const rows = this.#usernames(profile, format);
    return {
      rows: rows.filter((r, i) => i < 50 || r.problem !== null),
      domains: this.domains.map((d) => d.name),
    };
  }

  // --- Plans -------------------------------------------------------------------------------------

  #mapped(user: FakeOktaUser, settings: ProvisioningSettings): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const a of settings.attributes) {
      let value: string | null = a.okta === "email" ? user.email : (user.profile[a.okta] ?? null);
      if (a.graph === "displayName" && !value) value = `${user.profile.firstName ?? ""} ${user.profile.lastName ?? ""}`.trim() || null;
      out[a.graph] = value || null;
    }
    return out;
  }

  #changes(profile: Profile, operation: OperationId, users: string[] | null): { changes: Draft[]; skipped: Draft[]; members: number } {
    const settings = this.settings(profile.id);
    const links = this.links(profile.id);
    const inScope = (u: { id: string }) => users === null || users.includes(u.id);
    const changes: Draft[] = [];
    const skipped: Draft[] = [];
    const label = (u: FakeOktaUser) => u.login;
    switch (operation) {
      case "memberAccounts": {
        const members = this.#members(profile, "assignments");
        const names = this.#usernames(profile, settings.username);
        for (const u of members.filter(inScope)) {
          if (links.some((l) => l.oktaUserId === u.id && l.kind === "member")) continue;
          const row = names.find((r) => r.oktaUserId === u.id)!;
          if (row.problem || !row.upn) {
            skipped.push({ oktaUserId: u.id, userLabel: label(u), kind: "createUser", target: row.upn ?? "—", fields: [], warning: row.problem ?? "No username could be made." });
            continue;
          }
          const match =
            this.entraUsers.find((e) => e.userType === "Member" && e.userPrincipalName.toLowerCase() === row.upn) ??
            this.entraUsers.find((e) => e.userType === "Member" && u.email && e.mail?.toLowerCase() === u.email.toLowerCase());
          if (match) {
            changes.push({ oktaUserId: u.id, userLabel: label(u), kind: "linkUser", target: match.userPrincipalName, fields: [], warning: match.userPrincipalName.toLowerCase() === row.upn ? null : `Matched by mail: the account's UPN ${match.userPrincipalName} is kept.` });
            continue;
          }
          const mapped = this.#mapped(u, settings);
          const fields: FieldChange[] = [
            { field: "userPrincipalName", from: null, to: row.upn },
            { field: "mailNickname", from: null, to: localPart(row.upn) },
            ...Object.entries(mapped).filter(([, v]) => v !== null).map(([field, to]) => ({ field, from: null, to })),
          ];
          const warning = mapped.usageLocation ? null : "No country code in Okta: the profile's default usage location is used.";
          changes.push({ oktaUserId: u.id, userLabel: label(u), kind: "createUser", target: row.upn, fields, warning });
        }
        return { changes, skipped, members: members.length };
      }
      case "profileSync": {
        const members = this.#members(profile, "assignments");
        for (const u of members.filter(inScope)) {
          const link = links.find((l) => l.oktaUserId === u.id && l.kind === "member");
          const entra = link && this.entraUsers.find((e) => e.id === link.entraId);
          if (!link || !entra) continue;
          const fields = Object.entries(this.#mapped(u, settings))
            .filter(([field, to]) => (entra[field] ?? null) !== to)
            .map(([field, to]) => ({ field, from: (entra[field] as string | null | undefined) ?? null, to }));
          if (fields.length) changes.push({ oktaUserId: u.id, userLabel: label(u), kind: "updateUser", target: entra.userPrincipalName, fields, warning: null });
        }
        return { changes, skipped, members: members.length };
      }
      case "guests": {
        const members = this.#members(profile, "guests");
        const tenant = this.domains.find((d) => d.name.endsWith(".onmicrosoft.com"))?.name ?? "contoso.onmicrosoft.com";
        for (const u of members.filter(inScope)) {
          if (links.some((l) => l.oktaUserId === u.id && l.kind === "guest")) continue;
          if (!u.email) {
            skipped.push({ oktaUserId: u.id, userLabel: label(u), kind: "inviteGuest", target: "—", fields: [], warning: `${u.login} has no email in Okta: a guest is invited by email.` });
            continue;
          }
          const match = this.entraUsers.find((e) => e.userType === "Guest" && e.mail?.toLowerCase() === u.email!.toLowerCase());
          if (match) {
            changes.push({ oktaUserId: u.id, userLabel: label(u), kind: "linkGuest", target: match.userPrincipalName, fields: [], warning: null });
            continue;
          }
          const upn = `${u.email.replace("@", "_")}#EXT#@${tenant}`;
          changes.push({
            oktaUserId: u.id,
            userLabel: label(u),
            kind: "inviteGuest",
            target: u.email,
            fields: [
              { field: "invitedUserEmailAddress", from: null, to: u.email },
              { field: "invitedUserDisplayName", from: null, to: u.profile.displayName ?? u.login },
              { field: "userPrincipalName", from: null, to: upn },
            ],
            warning: settings.guestSendInvitation ? null : "No invitation email is sent: share the redemption link yourself.",
          });
        }
        const memberIds = new Set(members.map((m) => m.id));
        for (const l of links.filter((l) => l.kind === "guest" && !memberIds.has(l.oktaUserId) && inScope({ id: l.oktaUserId }))) {
          const entra = this.entraUsers.find((e) => e.id === l.entraId);
          if (!entra) continue;
          const who = this.oktaUsers.find((o) => o.id === l.oktaUserId)?.login ?? l.mail ?? l.oktaUserId;
          const disable = settings.guestRemoval === "disableThenDelete" && entra.accountEnabled;
          changes.push({
            oktaUserId: l.oktaUserId,
            userLabel: who,
            kind: disable ? "disableUser" : "deleteUser",
            target: entra.userPrincipalName,
            fields: disable ? [{ field: "accountEnabled", from: "true", to: "false" }] : [],
            warning: "Left the guests group in Okta.",
          });
        }
        return { changes, skipped, members: members.length };
      }
      default:
        if (LIFECYCLE_OPERATIONS.includes(operation)) return this.#engine.lifecycle.changes(profile, operation, users);
        return fail("invalid_input", `${operation} is not planned by this version; plan ${RUN_OPERATIONS.join(", ")}.`);
    }
  }

  #guard(settings: ProvisioningSettings, changes: PlannedChange[], members: number): GuardStop | null {
    // Each user counts once (a leaver's disable and later unlicense are one destructive change).
    const destructive = new Set(changes.filter((c) => DESTRUCTIVE.includes(c.kind)).map((c) => c.oktaUserId)).size;
    if (destructive < 1) return null;
    const overUsers = destructive > settings.guardMaxUsers;
    const overPercent = destructive > (members * settings.guardMaxPercent) / 100;
    if (!overUsers && !overPercent) return null;
    const why = overUsers
      ? `more than the ${settings.guardMaxUsers} users allowed`
      : `more than ${settings.guardMaxPercent} % of the group's ${members} members`;
    return {
      destructive,
      members,
      maxUsers: settings.guardMaxUsers,
      maxPercent: settings.guardMaxPercent,
      message: `This plan deletes or disables ${destructive} accounts, ${why}. Check the plan, then type ${destructive} to apply it anyway.`,
    };
  }

  #plan(profile: Profile, operation: OperationId, users: string[] | null, trigger: RunTrigger, preset: Drafts | null = null, undoOf: string | null = null): StoredRun {
    if (!RUN_OPERATIONS.includes(operation)) fail("invalid_input", `${operation} is not planned by this version; plan ${RUN_OPERATIONS.join(", ")}.`);
    if (!profile.microsoft) fail("invalid_input", "This profile has no Microsoft connection yet; save one on the Microsoft tenant step.");
    const planned = preset ?? this.#changes(profile, operation, users);
    const changes: PlannedChange[] = planned.changes.map((c, i) => ({ ...c, detail: c.detail ?? null, seq: i + 1 }));
    const skipped: PlannedChange[] = planned.skipped.map((c, i) => ({ ...c, detail: c.detail ?? null, seq: changes.length + i + 1 }));
    const runId = guid(9, ++this.#seq);
    const at = this.now().toISOString();
    // A stage's own run (trigger schedule) has no guard: its user was counted when it was scheduled.
    const guard = trigger === "schedule" ? null : this.#guard(this.settings(profile.id), changes, planned.members);
    const plan: RunPlan = { runId, profileId: profile.id, operation, trigger, changes, skipped, guard, plannedAt: at, undoOf };
    const step = (c: PlannedChange, status: RunStep["status"]): RunStep => ({
      seq: c.seq,
      oktaUserId: c.oktaUserId,
      userLabel: c.userLabel,
      kind: c.kind,
      target: c.target,
      status,
      request: null,
      response: status === "skipped" ? { reason: c.warning } : null,
      httpStatus: null,
      vendorCode: null,
      vendorMessage: null,
      requestId: null,
      fix: null,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
    });
    const detail: RunDetail = {
      summary: {
        runId,
        profileId: profile.id,
        operation,
        trigger,
        status: "planned",
        users: new Set([...changes, ...skipped].map((c) => c.oktaUserId)).size,
        changes: changes.length,
        done: 0,
        failed: 0,
        createdAt: at,
        startedAt: null,
        finishedAt: null,
        durationMs: null,
        undoOf,
        undoneBy: null,
      },
      plan,
      steps: [...changes.map((c) => step(c, "pending")), ...skipped.map((c) => step(c, "skipped"))],
    };
    const run = { detail };
    this.#runs.set(runId, run);
    return run;
  }

  /** Stores a planned run made from `preset` changes (stage runs and undo plans) or planned now. */
  createRun(profile: Profile, operation: OperationId, users: string[] | null, trigger: RunTrigger, preset: Drafts | null, undoOf: string | null): RunDetail {
    return this.#plan(profile, operation, users, trigger, preset, undoOf).detail;
  }

  /** Applies a stored run without the guard's confirmation (stage runs). */
  executeRun(runId: string, channel: unknown): Promise<RunSummary> {
    return this.#execute(this.#run(runId), channel);
  }

  /** A stored run (live, not a copy). */
  detailOf(runId: string): RunDetail {
    return this.#run(runId).detail;
  }

  /** A run's summary as answered: with the run that undoes it. */
  #summary(detail: RunDetail): RunSummary {
    const undo = [...this.#runs.values()].find((r) => r.detail.summary.undoOf === detail.summary.runId && r.detail.summary.status !== "discarded");
    return { ...structuredClone(detail.summary), undoneBy: undo?.detail.summary.runId ?? null };
  }

  /** Reports on a progress channel (null: nowhere). */
  send(channel: unknown, index: number, progress: Progress): void {
    this.#send(channel, index, progress);
  }

  #run(runId: unknown): StoredRun {
    const run = this.#runs.get(String(runId));
    if (!run) fail("not_found", `No run with the id ${String(runId)}; it may have been deleted.`);
    return run;
  }

  // --- Apply -------------------------------------------------------------------------------------

  async #apply(run: StoredRun, confirm: number | null, channel: unknown): Promise<RunSummary> {
    const { summary, plan } = run.detail;
    if (summary.status !== "planned") fail("invalid_input", `Run ${summary.runId} is ${summary.status}; plan again to apply.`);
    if (this.now().getTime() - new Date(plan.plannedAt).getTime() > PLAN_TTL_MS)
      fail("invalid_input", "This plan is more than 15 minutes old; plan again so it matches the tenants now.");
    if (plan.guard && confirm !== plan.guard.destructive)
      fail("invalid_input", `${plan.guard.message} (${confirm === null ? "nothing was typed" : `${confirm} was typed`}).`);
    return this.#execute(run, channel);
  }

  /** Reports on a command's progress channel; triggered runs without a listener report nowhere. */
  #send(channel: unknown, index: number, progress: Progress): void {
    if (channel) this.#engine.send(channel, index, progress);
  }

  #profileOf(run: StoredRun): Profile {
    return this.#engine.profile(run.detail.summary.profileId);
  }

  async #execute(run: StoredRun, channel: unknown): Promise<RunSummary> {
    const { summary, plan } = run.detail;
    summary.status = "running";
    summary.startedAt ??= this.now().toISOString();
    const total = plan.changes.length;
    const profile = this.#profileOf(run);
    for (const [i, change] of plan.changes.entries()) {
      const step = run.detail.steps.find((s) => s.seq === change.seq)!;
      if (step.status === "done" || step.status === "superseded") continue;
      step.status = "started";
      step.startedAt = this.now().toISOString();
      if (this.stepDelayMs > 0) await new Promise((r) => setTimeout(r, this.stepDelayMs));
      this.#write(profile, change, step, run.detail);
      step.finishedAt = this.now().toISOString();
      step.durationMs = 80 + ((change.seq * 37) % 200);
      // Like the engine: each step is reported as it returns, its outcome first in the message.
      const outcome = step.status as RunStep["status"]; // set by #write
      const what = outcome === "failed" ? "Failed" : outcome === "superseded" ? "Already done" : "Done";
      this.#send(channel, i, { operation: "run", step: String(change.seq), done: i + 1, total, message: `${what}: ${VERBS[change.kind]} for ${change.userLabel} (${change.target})` } satisfies Progress);
      if (i === 0 && this.applyGate) await this.applyGate;
    }
    summary.done = run.detail.steps.filter((s) => s.status === "done" || s.status === "superseded").length;
    summary.failed = run.detail.steps.filter((s) => s.status === "failed").length;
    summary.status = summary.failed === 0 ? "succeeded" : summary.done === 0 ? "failed" : "partial";
    summary.finishedAt = this.now().toISOString();
    summary.durationMs = run.detail.steps.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
    this.#engine.lifecycle.afterRun(run.detail);
    this.#send(channel, total, {
      operation: "run",
      step: "done",
      done: total,
      total,
      message: `Run ${summary.status}: ${summary.done} done, ${summary.failed} failed of ${total} changes`,
    } satisfies Progress);
    return structuredClone(summary);
  }

  /** One vendor write (and its journal entry) for one change. */
  #write(profile: Profile, change: PlannedChange, step: RunStep, run: RunDetail): void {
    const settings = this.settings(profile.id);
    const okta = this.oktaUsers.find((u) => u.id === change.oktaUserId);
    const failure = this.failures.get(change.oktaUserId) ?? (okta ? this.failures.get(okta.login) : undefined);
    const requestId = guid(5, ++this.#seq);
    const body = Object.fromEntries(change.fields.map((f) => [f.field, f.to]));
    const ok = (httpStatus: number, response: unknown) => Object.assign(step, { status: "done", httpStatus, response, requestId });
    switch (change.kind) {
      case "createUser":
        // The initial password is never journaled: only that one was set.
        step.request = { method: "POST", path: "/v1.0/users", body: { accountEnabled: true, ...body, passwordProfile: { forceChangePasswordNextSignIn: true } } };
        break;
      case "updateUser":
        step.request = { method: "PATCH", path: `/v1.0/users/${change.target}`, body };
        break;
      case "inviteGuest":
        step.request = { method: "POST", path: "/v1.0/invitations", body: { invitedUserEmailAddress: body.invitedUserEmailAddress, invitedUserDisplayName: body.invitedUserDisplayName, inviteRedirectUrl: settings.guestRedirectUrl, sendInvitationMessage: settings.guestSendInvitation } };
        break;
      case "deleteUser":
        step.request = { method: "DELETE", path: `/v1.0/users/${change.target}` };
        break;
      case "disableUser":
        step.request = { method: "PATCH", path: `/v1.0/users/${change.target}`, body: { accountEnabled: false } };
        break;
      case "linkUser":
      case "linkGuest":
        step.request = { method: "GET", path: `/v1.0/users?$filter=userPrincipalName eq '${change.target}'` };
        break;
      default:
        step.request = this.#engine.lifecycle.request(change);
    }
    if (failure) {
      Object.assign(step, { status: "failed", httpStatus: failure.httpStatus, vendorCode: failure.vendorCode, vendorMessage: failure.vendorMessage, fix: failure.fix, requestId, response: { error: { code: failure.vendorCode, message: failure.vendorMessage } } });
      return;
    }
    switch (change.kind) {
      case "createUser":
      case "linkUser":
      case "linkGuest":
      case "updateUser":
      case "inviteGuest":
      case "deleteUser":
      case "disableUser":
        break;
      default:
        step.requestId = requestId;
        this.#engine.lifecycle.write(profile, run, change, step);
        return;
    }
    const link = (kind: FakeLink["kind"], e: FakeEntraUser) =>
      this.link(profile.id, { oktaUserId: change.oktaUserId, kind, entraId: e.id, upn: e.userPrincipalName, mail: e.mail, linkedAt: this.now().toISOString() });
    switch (change.kind) {
      case "createUser": {
        if (this.entraUsers.some((e) => e.userPrincipalName.toLowerCase() === change.target.toLowerCase())) {
          Object.assign(step, {
            status: "failed",
            httpStatus: 400,
            vendorCode: "Request_BadRequest",
            vendorMessage: "Another object with the same value for property userPrincipalName already exists.",
            fix: `An account named ${change.target} was created since the plan; plan again and it is linked instead.`,
            requestId,
          });
          return;
        }
        const e = this.addEntraUser({ userPrincipalName: change.target, ...(body as Record<string, string>) });
        link("member", e);
        ok(201, { id: e.id, userPrincipalName: e.userPrincipalName });
        return;
      }
      case "linkUser":
      case "linkGuest": {
        const e = this.entraUsers.find((x) => x.userPrincipalName === change.target)!;
        link(change.kind === "linkUser" ? "member" : "guest", e);
        ok(200, { id: e.id, userPrincipalName: e.userPrincipalName, matched: true });
        return;
      }
      case "updateUser": {
        const e = this.entraUsers.find((x) => x.userPrincipalName === change.target)!;
        for (const f of change.fields) e[f.field] = f.to;
        ok(204, null);
        return;
      }
      case "inviteGuest": {
        const e = this.addEntraUser({
          userPrincipalName: String(body.userPrincipalName),
          mail: String(body.invitedUserEmailAddress),
          displayName: String(body.invitedUserDisplayName),
          userType: "Guest",
          externalUserState: "PendingAcceptance",
        });
        link("guest", e);
        ok(201, { invitedUser: { id: e.id }, status: "PendingAcceptance", inviteRedeemUrl: "https://login.microsoftonline.com/redeem?…" });
        return;
      }
      case "deleteUser": {
        const e = this.entraUsers.find((x) => x.userPrincipalName === change.target);
        this.entraUsers = this.entraUsers.filter((x) => x !== e);
        this.#links.set(profile.id, this.links(profile.id).filter((l) => !(l.oktaUserId === change.oktaUserId && l.kind === "guest")));
        ok(204, null);
        return;
      }
      case "disableUser": {
        const e = this.entraUsers.find((x) => x.userPrincipalName === change.target);
        if (e) e.accountEnabled = false;
        ok(204, null);
        return;
      }
    }
  }

  // --- History -----------------------------------------------------------------------------------

  list(profileId: string, filter: RunFilter): RunSummary[] {
    const user = filter.user?.trim().toLowerCase() ?? "";
    const rows = [...this.#runs.values()]
      .map((r) => r.detail)
      .filter((d) => d.summary.profileId === profileId)
      .filter((d) => filter.operation === null || d.summary.operation === filter.operation)
      .filter((d) => filter.status === null || d.summary.status === filter.status)
      .filter((d) => !user || d.steps.some((s) => s.userLabel.toLowerCase().includes(user) || s.oktaUserId.toLowerCase() === user))
      .map((d) => this.#summary(d))
      .reverse();
    return filter.limit === null ? rows : rows.slice(0, filter.limit);
  }

  // --- Triggers ----------------------------------------------------------------------------------

  async #poll(profile: Profile, channel: unknown): Promise<TriggerReport> {
    this.beforePoll?.();
    const events = this.logEvents.splice(0);
    this.#send(channel, 0, { operation: "poll_system_log", step: "logs", done: 0, total: null, message: "Reading the Okta System Log" } satisfies Progress);
    const assignments = this.#groupName(profile, "assignments");
    const guests = this.#groupName(profile, "guests");
    const byOp = new Map<OperationId, Set<string>>();
    const add = (op: OperationId, id: string) => byOp.set(op, new Set([...(byOp.get(op) ?? []), id]));
    for (const e of events) {
      if (e.eventType === "user.account.update_profile") {
        if (this.links(profile.id).some((l) => l.oktaUserId === e.oktaUserId && l.kind === "member")) add("profileSync", e.oktaUserId);
      } else if (e.group === assignments) add("memberAccounts", e.oktaUserId);
      else if (e.group === guests) add("guests", e.oktaUserId);
    }
    const runs: RunSummary[] = [];
    for (const [op, users] of byOp) {
      const summary = await this.#triggered(profile, op, [...users], "systemLog", channel);
      if (summary) runs.push(summary);
    }
    const cursor = `${profile.okta.orgUrl || profile.oktaOrgUrl}/api/v1/logs?after=${this.now().getTime()}`;
    this.#cursors.set(profile.id, cursor);
    return { events: events.length, runs, cursor };
  }

  /** Plans and (unless the guard stops it) applies a triggered run; null when nothing changes. */
  async #triggered(profile: Profile, operation: OperationId, users: string[] | null, trigger: RunTrigger, channel: unknown): Promise<RunSummary | null> {
    const run = this.#plan(profile, operation, users, trigger);
    const { plan } = run.detail;
    if (plan.changes.length === 0 && plan.skipped.length === 0) {
      this.#runs.delete(plan.runId);
      return null;
    }
    if (plan.guard || plan.changes.length === 0) return structuredClone(run.detail.summary);
    return this.#execute(run, channel);
  }

  async #reconcile(profile: Profile, operation: OperationId | null): Promise<RunSummary[]> {
    const ops = operation ? [operation] : RUN_OPERATIONS.filter((op) => profile.operations.includes(op));
    const out: RunSummary[] = [];
    for (const op of ops) {
      const summary = await this.#triggered(profile, op, null, "reconcile", null);
      if (summary) out.push(summary);
    }
    return out;
  }

  // --- Test run ----------------------------------------------------------------------------------

  async #testRun(request: TestRunRequest, channel: unknown): Promise<TestRunResult> {
    const profile = this.#engine.profile(request.profileId);
    let oktaUserId = request.oktaUserId;
    let created: string | null = null;
    if (oktaUserId === null) {
      const role = request.operation === "guests" ? "guests" : "assignments";
      const n = ++this.#testUsers;
      const login = `okta365-test-${n}@example.com`;
      const user = this.addOktaUser({ login, email: login, profile: { firstName: "okta365", lastName: `Test ${n}`, displayName: `okta365 Test ${n}`, countryCode: "US" }, groups: [this.#groupName(profile, role)] });
      oktaUserId = user.id;
      created = user.id;
    } else {
      const wanted = oktaUserId.toLowerCase();
      const user = this.oktaUsers.find((u) => u.id === oktaUserId || u.login.toLowerCase() === wanted);
      if (!user) fail("not_found", `No Okta user with the login or id ${oktaUserId}.`);
      oktaUserId = user.id;
    }
    const run = this.#plan(profile, request.operation, [oktaUserId], "testRun");
    if (run.detail.plan.changes.length > 0) await this.#execute(run, channel);
    else {
      run.detail.summary.status = "succeeded";
      run.detail.summary.finishedAt = this.now().toISOString();
      this.#send(channel, 0, { operation: "run", step: "done", done: 0, total: 0, message: "Nothing to change for this user" } satisfies Progress);
    }
    const link = this.links(profile.id).find((l) => l.oktaUserId === oktaUserId && l.kind === (request.operation === "guests" ? "guest" : "member"));
    const readBack = link ? (this.entraUsers.find((e) => e.id === link.entraId) ?? null) : null;
    return { run: structuredClone(run.detail), readBack: structuredClone(readBack), createdTestUser: created };
  }

  #cleanup(profile: Profile, oktaUserId: string): void {
    const user = this.oktaUsers.find((u) => u.id === oktaUserId);
    if (!user) fail("not_found", `No Okta user with the id ${oktaUserId}; it may have been cleaned up already.`);
    const links = this.links(profile.id).filter((l) => l.oktaUserId === oktaUserId);
    const ids = new Set(links.map((l) => l.entraId));
    this.entraUsers = this.entraUsers.filter((e) => !ids.has(e.id));
    this.#links.set(profile.id, this.links(profile.id).filter((l) => l.oktaUserId !== oktaUserId));
    this.oktaUsers = this.oktaUsers.filter((u) => u !== user);
  }
}

/** Each change kind in words, as the engine's progress messages say it (`ChangeKind::verb`). */
const VERBS: Record<ChangeKind, string> = {
  createUser: "Create the Microsoft account",
  linkUser: "Link the existing Microsoft account",
  updateUser: "Update the Microsoft account",
  inviteGuest: "Invite as a guest",
  linkGuest: "Link the existing guest account",
  deleteUser: "Delete the Microsoft account",
  disableUser: "Block sign-in to the Microsoft account",
  enableUser: "Allow sign-in to the Microsoft account",
  setUsageLocation: "Set the usage location",
  assignLicense: "Assign licenses",
  removeLicenses: "Remove licenses",
  revokeSessions: "Revoke sign-in sessions",
  snapshotLicenses: "Remember the licenses",
  emailManager: "Email the manager",
  scheduleStage: "Schedule the license removal",
  cancelStage: "Cancel the license removal",
  deleteSession: "Delete the stale import session",
  createSession: "Create an import session",
  bulkUpsert: "Upload users",
  bulkDelete: "Deactivate users",
  startImport: "Start the import",
  awaitSession: "Wait for the import to finish",
};

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(detail: RunDetail): string {
  const head = ["seq", "user", "kind", "target", "status", "httpStatus", "vendorCode", "vendorMessage", "requestId", "fix", "startedAt", "durationMs"];
  const rows = detail.steps.map((s) =>
    [s.seq, s.userLabel, s.kind, s.target, s.status, s.httpStatus, s.vendorCode, s.vendorMessage, s.requestId, s.fix, s.startedAt, s.durationMs].map(csvCell).join(","),
  );
  return [head.join(","), ...rows].join("\n") + "\n";
}

