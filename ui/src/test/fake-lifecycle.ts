// The licensing lifecycle (docs/licensing.md) in the fake engine: per-profile lifecycle settings with
// template validation, the manager-email preview, the plans of `licenses`, `deactivation` and
// `activation` (with the writes their changes make on the fake tenant), the delayed stages on a
// tenant clock the tests can move, undo plans and seats over time. Same command names, argument
// names, JSON shapes and error codes as the engine; runs themselves are kept by `FakeRuns`.
import type {
  ApiError,
  License,
  LicenseAssignment,
  MailPreview,
  MailPreviewRequest,
  MailStage,
  MailTemplate,
  OperationId,
  PlannedChange,
  Profile,
  Progress,
  RunDetail,
  RunStep,
  RunSummary,
  SeatPoint,
  Stage,
  LifecycleSettings,
} from "../lib/ipc";
import type { FakeEngine } from "./fake-engine";
import type { FakeEntraUser, FakeOktaUser } from "./fake-runs";

/** A change as a planner makes it (FakeRuns numbers them). */
export type Draft = Omit<PlannedChange, "seq">;
export interface Drafts {
  changes: Draft[];
  skipped: Draft[];
  members: number;
}

/** A direct license of an Entra user. */
export interface DirectLicense {
  skuId: string;
  disabledPlans: string[];
}

interface Snapshot {
  profileId: string;
  oktaUserId: string;
  entraId: string;
  licenses: Array<{ skuId: string; skuPartNumber: string; disabledPlans: string[] }>;
  takenAt: string;
  runId: string | null;
  restoredAt: string | null;
}

/** A manager email the fake tenant sent (the sandbox's outbox). */
export interface SentMail {
  from: string;
  to: string[];
  subject: string;
  body: string;
  sentAt: string;
}

/** The lifecycle's run operations. */
export const LIFECYCLE_OPERATIONS: readonly OperationId[] = ["licenses", "deactivation", "activation"];

/** The placeholders a template may use (docs/licensing.md, "Settings"). */
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

const MAX_DELAY_SECS = 315_360_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const DEFAULT_TEMPLATES: Record<MailStage, MailTemplate> = {
  disabled: {
    subject: "{{user.displayName}}'s Microsoft 365 account is disabled",
    body:
      "Hello {{manager.firstName}},\n\n{{user.displayName}} ({{user.email}}) left the Office 365 group in Okta, so sign-in to Microsoft 365 is blocked as of {{disabledAt}}.\n" +
      "Their licenses ({{licenses}}) will be removed on {{dueAt}}, {{delay}} later.\n\nIf this is a mistake, ask your IT administrator to add them back to the group before then.",
  },
  licensesRemoved: {
    subject: "{{user.displayName}}'s Microsoft 365 licenses were removed",
    body: "Hello {{manager.firstName}},\n\nThe Microsoft 365 licenses of {{user.displayName}} ({{licenses}}) were removed on {{licensesRemovedAt}}.\n\nAsk your IT administrator if they should come back.",
  },
  activated: {
    subject: "{{user.displayName}}'s Microsoft 365 account is active again",
    body: "Hello {{manager.firstName}},\n\n{{user.displayName}} is back in the Office 365 group: their Microsoft 365 account was enabled on {{activatedAt}} with the licenses {{licenses}}.",
  },
};

const STAGE_WORDS: Record<MailStage, string> = { disabled: "disabled", licensesRemoved: "licenses removed", activated: "activated" };

function fail(code: ApiError["code"], message: string): never {
  throw { code, message } satisfies ApiError;
}

/** "2026-11-23 14:05 UTC", as the engine writes dates into emails. */
export function mailDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "30 days", "90 minutes", "1 hour". */
export function delayWords(secs: number): string {
  const units: Array<[number, string]> = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  const [size, name] = units.find(([size]) => secs % size === 0) ?? [1, "second"];
  const n = secs / size;
  return `${n} ${name}${n === 1 ? "" : "s"}`;
}

/** The unknown placeholders of a text. */
function unknownPlaceholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]).filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

export class FakeLifecycle {
  /** Direct licenses of the fake Entra users, by Entra id. */
  direct = new Map<string, DirectLicense[]>();
  /** Licenses the Entra users get from an Entra group (group-based licensing), by Entra id. */
  inherited = new Map<string, Array<{ skuId: string; group: string }>>();
  stages: Stage[] = [];
  snapshots: Snapshot[] = [];
  /** Manager emails sent, oldest first. */
  outbox: SentMail[] = [];
  /** Seconds the tenant clock is ahead of `runs.now()` (the sandbox's clock offset). */
  offsetSecs = 0;
  readonly #engine: FakeEngine;
  readonly #settings = new Map<string, LifecycleSettings>();
  readonly #seats = new Map<string, SeatPoint[]>();
  #stageSeq = 0;

  constructor(engine: FakeEngine) {
    this.#engine = engine;
  }

  handles(cmd: string): boolean {
    return [
      "lifecycle_settings",
      "set_lifecycle_settings",
      "preview_manager_email",
      "list_stages",
      "cancel_stage",
      "run_stage_now",
      "run_due_stages",
      "plan_undo",
      "seat_history",
    ].includes(cmd);
  }

  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "lifecycle_settings":
        return structuredClone(this.settings(this.#engine.profile(args.profileId).id));
      case "set_lifecycle_settings": {
        const p = this.#engine.profile(args.profileId);
        const settings = this.#check(args.settings as LifecycleSettings);
        this.#settings.set(p.id, structuredClone(settings));
        return structuredClone(settings);
      }
      case "preview_manager_email":
        return this.preview(args.request as MailPreviewRequest);
      case "list_stages": {
        const p = this.#engine.profile(args.profileId);
        const all = args.includeFinished === true;
        return this.stages
          .filter((s) => s.profileId === p.id && (all || s.status === "pending" || s.status === "running"))
          .map((s) => this.#out(s))
          .sort((a, b) => a.dueAt.localeCompare(b.dueAt));
      }
      case "cancel_stage": {
        const stage = this.#stage(args.stageId);
        if (stage.status !== "pending") fail("invalid_input", `Stage ${stage.id} is ${stage.status}; only a pending stage can be cancelled.`);
        stage.status = "cancelled";
        stage.cancelReason = "Cancelled by hand";
        stage.finishedAt = this.now().toISOString();
        return this.#out(stage);
      }
      case "run_stage_now": {
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        const stage = this.#stage(args.stageId);
        if (stage.status !== "pending") fail("invalid_input", `Stage ${stage.id} is ${stage.status}; only a pending stage runs.`);
        return this.#runStage(stage, args.onProgress);
      }
      case "run_due_stages": {
        if (!args.onProgress) fail("invalid_input", "missing onProgress channel");
        const profileId = args.profileId == null ? null : this.#engine.profile(args.profileId).id;
        const ran: RunSummary[] = [];
        const late: Stage[] = [];
        for (const stage of this.due(profileId)) {
          ran.push(await this.#runStage(stage, args.onProgress));
          if ((stage.lateSecs ?? 0) > 60) late.push(this.#out(stage));
        }
        return { ran, late };
      }
      case "plan_undo":
        return this.#planUndo(String(args.runId));
      case "seat_history": {
        const p = this.#engine.profile(args.profileId);
        const days = args.days as number | null;
        const since = days === null ? 0 : this.now().getTime() - days * 86_400_000;
        return structuredClone(this.seatPoints(p.id).filter((pt) => new Date(pt.takenAt).getTime() >= since));
      }
      default:
        throw `command ${cmd} not found`;
    }
  }

  // --- Clock, settings, data ---------------------------------------------------------------------

  /** The tenant clock: the runs' clock plus the sandbox offset. */
  now(): Date {
    return new Date(this.#engine.runs.now().getTime() + this.offsetSecs * 1000);
  }

  /** Moves the tenant clock forward (`POST /_sandbox/clock {"advance_secs": N}`). */
  advance(secs: number): void {
    this.offsetSecs += secs;
  }

  settings(profileId: string): LifecycleSettings {
    return this.#settings.get(profileId) ?? { delaySecs: 2_592_000, revokeSessions: true, senderMailbox: "it-notices@contoso.com", templates: structuredClone(DEFAULT_TEMPLATES) };
  }

  #check(s: LifecycleSettings): LifecycleSettings {
    if (!Number.isInteger(s.delaySecs) || s.delaySecs < 1 || s.delaySecs > MAX_DELAY_SECS)
      fail("invalid_input", `The delay is 1 second to 10 years (315360000 seconds), not ${s.delaySecs}.`);
    if (s.senderMailbox !== null && !ADDRESS.test(s.senderMailbox) && !GUID.test(s.senderMailbox))
      fail("invalid_input", `The sender "${s.senderMailbox}" is neither an email address nor an object id; use the mailbox's address, such as it-notices@contoso.com.`);
    for (const stage of ["disabled", "licensesRemoved", "activated"] as const) {
      const t = s.templates[stage];
      if (!t.subject.trim()) fail("invalid_input", `The ${STAGE_WORDS[stage]} email needs a subject.`);
      for (const [part, text] of [["subject", t.subject], ["body", t.body]] as const) {
        const unknown = unknownPlaceholders(text);
        if (unknown.length)
          fail("invalid_input", `Unknown placeholder {{${unknown[0]}}} in the ${part} of the ${STAGE_WORDS[stage]} email; use one of ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")}.`);
      }
    }
    return s;
  }

  direct_(entraId: string): DirectLicense[] {
    return this.direct.get(entraId) ?? [];
  }

  /** A demo: licensed members, one without a usage location, a leaver, a returner, an overdue stage. */
  seed(profile: Profile): void {
    const runs = this.#engine.runs;
    const engine = this.#engine;
    if (engine.tenantSkus.length === 0)
      engine.tenantSkus = [
        skuOf("ENTERPRISEPACK", 25, 20, "Office 365 E3", [
          ["57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"],
          ["efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"],
        ]),
        skuOf("EXCHANGESTANDARD", 10, 10, "Exchange Online (Plan 1)"),
        skuOf("SPE_E5", 5, 0, "Microsoft 365 E5"),
      ];
    const state = engine.licenseState(profile.id);
    state.licenses = structuredClone(engine.tenantSkus);
    state.refreshedAt = this.now().toISOString();
    const e3 = engine.tenantSkus[0];
    const teams = e3.servicePlans[0]?.servicePlanId;
    state.assignments = [{ role: "assignments", skuId: e3.skuId, disabledPlans: teams ? [teams] : [] } satisfies LicenseAssignment];
    state.usageLocation = "DE";
    const group = engine.groupsOf(profile.id).find((g) => g.role === "assignments")!.name;

    const manager = runs.addOktaUser({ login: "margaret.hamilton@example.com", email: "margaret.hamilton@example.com", profile: { firstName: "Margaret", lastName: "Hamilton", displayName: "Margaret Hamilton" }, groups: [] });
    for (const u of runs.oktaUsers) if (u.groups.includes(group) && u.login !== "barbara.liskov@example.com") u.profile.managerId = manager.id;

    const linked = (login: string, extra: Partial<FakeEntraUser> = {}, licenses: DirectLicense[] = []) => {
      const okta = runs.oktaUsers.find((u) => u.login === login)!;
      const upn = `${login.split("@")[0]}@contoso.com`;
      const entra = runs.addEntraUser({ userPrincipalName: upn, mail: okta.email, displayName: okta.profile.displayName ?? login, usageLocation: "DE", ...extra });
      runs.link(profile.id, { oktaUserId: okta.id, kind: "member", entraId: entra.id, upn, mail: okta.email, linkedAt: "2026-01-05T09:00:00Z" });
      if (licenses.length) this.direct.set(entra.id, licenses);
      return { okta, entra };
    };
    const mapped = (): DirectLicense[] => [{ skuId: e3.skuId, disabledPlans: teams ? [teams] : [] }];
    linked("ada.lovelace@example.com", {}, mapped());
    linked("grace.hopper@example.com");
    linked("alan.turing@example.com", { usageLocation: null });
    const barbara = linked("barbara.liskov@example.com");
    this.inherited.set(barbara.entra.id, [{ skuId: e3.skuId, group: "All Staff Licensing" }]);

    const person = (first: string, last: string, groups: string[]) =>
      runs.addOktaUser({ login: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`, email: `${first.toLowerCase()}.${last.toLowerCase()}@example.com`, profile: { firstName: first, lastName: last, displayName: `${first} ${last}`, managerId: manager.id, countryCode: "DE" }, groups });
    // A leaver: out of the group, still enabled and licensed.
    person("Ken", "Thompson", []);
    linked("ken.thompson@example.com", {}, [{ skuId: e3.skuId, disabledPlans: [] }]);
    // A returner: back in the group, disabled, licenses remembered, the removal still pending.
    person("Dennis", "Ritchie", [group]);
    const dennis = linked("dennis.ritchie@example.com", { accountEnabled: false }, [{ skuId: e3.skuId, disabledPlans: [] }]);
    const now = this.now().getTime();
    this.snapshots.push({ profileId: profile.id, oktaUserId: dennis.okta.id, entraId: dennis.entra.id, licenses: [{ skuId: e3.skuId, skuPartNumber: e3.skuPartNumber, disabledPlans: [] }], takenAt: new Date(now - 5 * 86_400_000).toISOString(), runId: null, restoredAt: null });
    this.addStage(profile.id, dennis.okta, dennis.entra.id, new Date(now + 3 * 86_400_000).toISOString());
    // A returner whose licenses were already removed: activation gives back what the snapshot kept.
    person("Bjarne", "Stroustrup", [group]);
    const bjarne = linked("bjarne.stroustrup@example.com", { accountEnabled: false });
    this.snapshots.push({ profileId: profile.id, oktaUserId: bjarne.okta.id, entraId: bjarne.entra.id, licenses: [{ skuId: e3.skuId, skuPartNumber: e3.skuPartNumber, disabledPlans: teams ? [teams] : [] }], takenAt: new Date(now - 60 * 86_400_000).toISOString(), runId: null, restoredAt: null });
    const removed = this.addStage(profile.id, bjarne.okta, bjarne.entra.id, new Date(now - 30 * 86_400_000).toISOString(), { run: "00000000-0000-4000-8000-00000000seed", seq: 2 });
    Object.assign(removed, { status: "done", startedAt: removed.dueAt, finishedAt: removed.dueAt, lateSecs: 0 });
    // Seats over the last month, a point every few days.
    const points: SeatPoint[] = [];
    for (let d = 30; d >= 0; d -= 5)
      for (const s of engine.tenantSkus)
        points.push({ skuId: s.skuId, skuPartNumber: s.skuPartNumber, name: s.productName ?? s.skuPartNumber, takenAt: new Date(now - d * 86_400_000).toISOString(), consumed: Math.max(0, s.consumed - Math.round(d / 10)), enabled: s.enabled });
    this.#seats.set(profile.id, points);
  }

  /** A pending stage for a leaver (as a deactivation run schedules it). */
  addStage(profileId: string, okta: FakeOktaUser, entraId: string, dueAt: string, scheduledBy = { run: "00000000-0000-4000-8000-00000000seed", seq: 1 }): Stage {
    const existing = this.stages.find((s) => s.scheduledByRun === scheduledBy.run && (s as Stage & { seq?: number }).seq === scheduledBy.seq);
    if (existing) return existing;
    const stage: Stage & { seq?: number } = {
      id: ++this.#stageSeq,
      profileId,
      oktaUserId: okta.id,
      userLabel: okta.login,
      entraId,
      kind: "removeLicenses",
      dueAt,
      status: "pending",
      createdAt: this.now().toISOString(),
      scheduledByRun: scheduledBy.run,
      runId: null,
      startedAt: null,
      finishedAt: null,
      lateSecs: null,
      cancelReason: null,
      seq: scheduledBy.seq,
    };
    this.stages.push(stage);
    return stage;
  }

  seatPoints(profileId: string): SeatPoint[] {
    return this.#seats.get(profileId) ?? [];
  }

  // --- Stages ------------------------------------------------------------------------------------

  /** Pending stages whose due time has come on the tenant clock (of one profile or all). */
  due(profileId: string | null): Stage[] {
    const now = this.now().getTime();
    return this.stages.filter((s) => s.status === "pending" && (profileId === null || s.profileId === profileId) && new Date(s.dueAt).getTime() <= now);
  }

  /** A stage as answered: a pending, overdue one carries how late it is now. */
  #out(stage: Stage): Stage {
    const { seq: _seq, ...out } = structuredClone(stage) as Stage & { seq?: number };
    if (out.status === "pending") {
      const late = Math.floor((this.now().getTime() - new Date(out.dueAt).getTime()) / 1000);
      out.lateSecs = late > 0 ? late : null;
    }
    return out;
  }

  #stage(id: unknown): Stage {
    const stage = this.stages.find((s) => s.id === Number(id));
    if (!stage) fail("not_found", `No stage with the id ${String(id)}.`);
    return stage;
  }

  /** Claims a stage and plans and applies its run (stage 2 of a deactivation). */
  async #runStage(stage: Stage, channel: unknown): Promise<RunSummary> {
    const now = this.now();
    stage.status = "running";
    stage.startedAt = now.toISOString();
    stage.lateSecs = Math.max(0, Math.floor((now.getTime() - new Date(stage.dueAt).getTime()) / 1000));
    const profile = this.#engine.profile(stage.profileId);
    const runs = this.#engine.runs;
    const drafts = this.#stageChanges(profile, stage);
    const detail = runs.createRun(profile, "deactivation", [stage.oktaUserId], "schedule", drafts, null);
    stage.runId = detail.summary.runId;
    if (drafts.changes.length === 0) {
      stage.status = "cancelled";
      stage.cancelReason = "back in the assignments group";
      stage.finishedAt = now.toISOString();
      Object.assign(detail.summary, { status: "succeeded", startedAt: stage.startedAt, finishedAt: stage.finishedAt, durationMs: 0 });
      runs.send(channel, 0, { operation: "run", step: "done", done: 0, total: 0, message: `${stage.userLabel} is back in the assignments group: the license removal is cancelled` } satisfies Progress);
      return structuredClone(detail.summary);
    }
    const summary = await runs.executeRun(detail.summary.runId, channel);
    stage.status = summary.status === "succeeded" ? "done" : "failed";
    stage.finishedAt = this.now().toISOString();
    return summary;
  }

  #stageChanges(profile: Profile, stage: Stage): Drafts {
    const okta = this.#engine.runs.oktaUsers.find((u) => u.id === stage.oktaUserId);
    const group = this.#group(profile);
    if (!okta || okta.groups.includes(group)) return { changes: [], skipped: [], members: 0 };
    const entra = this.#engine.runs.entraUsers.find((e) => e.id === stage.entraId);
    const changes: Draft[] = [];
    const remove = this.direct_(stage.entraId).map((l) => ({ ...l, skuPartNumber: this.#sku(l.skuId)?.skuPartNumber ?? l.skuId }));
    const target = entra?.userPrincipalName ?? stage.entraId;
    if (remove.length) changes.push({ oktaUserId: okta.id, userLabel: okta.login, kind: "removeLicenses", target, fields: [], warning: null, detail: { remove, entraId: stage.entraId } });
    const mail = this.#mail(profile, okta, "licensesRemoved", { licenses: remove.map((r) => this.#friendly(r.skuId)).join(", ") });
    if (mail.change) changes.push(mail.change);
    return { changes, skipped: mail.skipped ? [mail.skipped] : [], members: 0 };
  }

  // --- Plans -------------------------------------------------------------------------------------

  #group(profile: Profile): string {
    return this.#engine.groupsOf(profile.id).find((g) => g.role === "assignments")!.name;
  }

  #sku(skuId: string): License | undefined {
    return this.#engine.tenantSkus.find((s) => s.skuId === skuId);
  }

  #friendly(skuId: string): string {
    const s = this.#sku(skuId);
    return s?.productName ?? s?.skuPartNumber ?? skuId;
  }

  #planNames(skuId: string, plans: string[]): string[] {
    const s = this.#sku(skuId);
    return plans.map((id) => s?.servicePlans.find((p) => p.servicePlanId === id)?.servicePlanName ?? id);
  }

  #manager(okta: FakeOktaUser): FakeOktaUser | null {
    const id = okta.profile.managerId;
    if (!id) return null;
    return this.#engine.runs.oktaUsers.find((u) => u.id === id || u.login === id) ?? null;
  }

  #values(profile: Profile, okta: FakeOktaUser, stage: MailStage, extra: Record<string, string>): Record<string, string> {
    const manager = this.#manager(okta);
    const settings = this.settings(profile.id);
    const now = this.now();
    const due = new Date(now.getTime() + settings.delaySecs * 1000).toISOString();
    return {
      "user.displayName": okta.profile.displayName ?? okta.login,
      "user.firstName": okta.profile.firstName ?? "",
      "user.lastName": okta.profile.lastName ?? "",
      "user.email": okta.email ?? "",
      "user.login": okta.login,
      "manager.displayName": manager?.profile.displayName ?? "",
      "manager.firstName": manager?.profile.firstName ?? "",
      "manager.email": manager?.email ?? "",
      stage: STAGE_WORDS[stage],
      disabledAt: mailDate(now.toISOString()),
      dueAt: mailDate(due),
      licensesRemovedAt: mailDate(now.toISOString()),
      activatedAt: mailDate(now.toISOString()),
      licenses: "",
      delay: delayWords(settings.delaySecs),
      ...extra,
    };
  }

  #render(text: string, values: Record<string, string>): string {
    return text.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (all, name: string) => values[name] ?? all);
  }

  /** Why nobody is emailed about `okta`, or null. */
  #mailProblem(profile: Profile, okta: FakeOktaUser): string | null {
    const settings = this.settings(profile.id);
    if (!profile.operations.includes("managerEmail")) return "Manager emails are turned off for this profile (Microsoft tenant step).";
    if (!settings.senderMailbox) return "No sender mailbox is set: nobody is emailed.";
    if (!okta.profile.managerId) return "No manager in Okta (managerId is empty): nobody is emailed";
    const manager = this.#manager(okta);
    if (!manager) return `The manager ${okta.profile.managerId} was not found in Okta: nobody is emailed`;
    if (!manager.email) return `The manager ${manager.login} has no email in Okta: nobody is emailed`;
    return null;
  }

  #mail(profile: Profile, okta: FakeOktaUser, stage: MailStage, extra: Record<string, string>): { change: Draft | null; skipped: Draft | null } {
    const problem = this.#mailProblem(profile, okta);
    const settings = this.settings(profile.id);
    const manager = this.#manager(okta);
    const subject = this.#render(settings.templates[stage].subject, this.#values(profile, okta, stage, extra));
    const draft: Draft = {
      oktaUserId: okta.id,
      userLabel: okta.login,
      kind: "emailManager",
      target: manager?.email ?? "—",
      fields: [],
      warning: problem,
      detail: { stage, to: manager?.email ?? null, managerLabel: manager?.profile.displayName ?? manager?.login ?? null, subject, sender: settings.senderMailbox },
    };
    return problem ? { change: null, skipped: draft } : { change: draft, skipped: null };
  }

  preview(request: MailPreviewRequest): MailPreview {
    const profile = this.#engine.profile(request.profileId);
    const group = this.#group(profile);
    const runs = this.#engine.runs;
    const okta =
      request.oktaUserId === null
        ? runs.oktaUsers.find((u) => u.groups.includes(group))
        : runs.oktaUsers.find((u) => u.id === request.oktaUserId || u.login === request.oktaUserId);
    if (!okta) fail("not_found", request.oktaUserId === null ? `${group} has no members to preview an email for.` : `No Okta user with the login or id ${request.oktaUserId}.`);
    const template = request.template ?? this.settings(profile.id).templates[request.stage];
    for (const [part, text] of [["subject", template.subject], ["body", template.body]] as const) {
      const unknown = unknownPlaceholders(text);
      if (unknown.length) fail("invalid_input", `Unknown placeholder {{${unknown[0]}}} in the ${part}; use one of ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")}.`);
    }
    const link = runs.links(profile.id).find((l) => l.oktaUserId === okta.id && l.kind === "member");
    const licenses = (link ? this.direct_(link.entraId) : []).map((l) => this.#friendly(l.skuId)).join(", ") || "Office 365 E3";
    const values = this.#values(profile, okta, request.stage, { licenses });
    return {
      to: this.#manager(okta)?.email ?? null,
      from: this.settings(profile.id).senderMailbox,
      subject: this.#render(template.subject, values),
      body: this.#render(template.body, values),
      problem: this.#mailProblem(profile, okta),
    };
  }

  /** The changes of one lifecycle operation (docs/licensing.md, "Operations"). */
  changes(profile: Profile, operation: OperationId, users: string[] | null): Drafts {
    const runs = this.#engine.runs;
    const group = this.#group(profile);
    const links = runs.links(profile.id).filter((l) => l.kind === "member");
    const inScope = (id: string) => users === null || users.includes(id);
    const members = runs.oktaUsers.filter((u) => u.groups.includes(group));
    const changes: Draft[] = [];
    const skipped: Draft[] = [];
    const state = this.#engine.licenseState(profile.id);
    const mapping = state.assignments.filter((a) => a.role === "assignments");
    const free = new Map(this.#engine.tenantSkus.map((s) => [s.skuId, s.enabled - s.consumed]));
    const settings = this.settings(profile.id);
    const entraOf = (oktaId: string) => {
      const link = links.find((l) => l.oktaUserId === oktaId);
      return link ? (runs.entraUsers.find((e) => e.id === link.entraId) ?? null) : null;
    };
    const pendingStage = (oktaId: string) => this.stages.find((s) => s.profileId === profile.id && s.oktaUserId === oktaId && s.status === "pending") ?? null;
    /** Usage location and seat pre-flight, then the assign; false when the user is skipped. */
    const assign = (u: FakeOktaUser, entra: FakeEntraUser, wanted: DirectLicense[], source: "mapping" | "snapshot"): void => {
      const have = this.direct_(entra.id);
      const inherited = this.inherited.get(entra.id) ?? [];
      const add: DirectLicense[] = [];
      for (const w of wanted) {
        const direct = have.find((h) => h.skuId === w.skuId);
        if (direct && [...direct.disabledPlans].sort().join() === [...w.disabledPlans].sort().join()) continue;
        const group = inherited.find((i) => i.skuId === w.skuId);
        if (!direct && group) {
          skipped.push({ oktaUserId: u.id, userLabel: u.login, kind: "assignLicense", target: entra.userPrincipalName, fields: [], warning: `Licensed by the Entra group ${group.group}; left alone`, detail: null });
          continue;
        }
        add.push(w);
      }
      if (add.length === 0) return;
      const usage = entra.usageLocation as string | null | undefined;
      if (!usage && !state.usageLocation) {
        skipped.push({ oktaUserId: u.id, userLabel: u.login, kind: "assignLicense", target: entra.userPrincipalName, fields: [], warning: "No usage location and no default set in the Licenses step", detail: null });
        return;
      }
      for (const a of add) {
        if (have.some((h) => h.skuId === a.skuId)) continue;
        const left = free.get(a.skuId) ?? 0;
        if (left <= 0) {
          const s = this.#sku(a.skuId);
          skipped.push({ oktaUserId: u.id, userLabel: u.login, kind: "assignLicense", target: entra.userPrincipalName, fields: [], warning: `No free seat in ${this.#friendly(a.skuId)} (${s?.consumed ?? 0} of ${s?.enabled ?? 0} used)`, detail: null });
          return;
        }
      }
      for (const a of add) if (!have.some((h) => h.skuId === a.skuId)) free.set(a.skuId, (free.get(a.skuId) ?? 0) - 1);
      if (!usage)
        changes.push({ oktaUserId: u.id, userLabel: u.login, kind: "setUsageLocation", target: entra.userPrincipalName, fields: [{ field: "usageLocation", from: null, to: state.usageLocation }], warning: null, detail: { entraId: entra.id } });
      changes.push({
        oktaUserId: u.id,
        userLabel: u.login,
        kind: "assignLicense",
        target: entra.userPrincipalName,
        fields: [],
        warning: null,
        detail: {
          add: add.map((a) => ({ skuId: a.skuId, skuPartNumber: this.#sku(a.skuId)?.skuPartNumber ?? a.skuId, disabledPlans: a.disabledPlans, disabledPlanNames: this.#planNames(a.skuId, a.disabledPlans) })),
          source,
          entraId: entra.id,
        },
      });
    };

    switch (operation) {
      case "licenses":
        // No SKU mapped to the assignments group (Licenses step): nothing to assign, nobody to report.
        if (mapping.length === 0) break;
        for (const u of members.filter((m) => inScope(m.id))) {
          const entra = entraOf(u.id);
          if (!entra) {
            skipped.push({ oktaUserId: u.id, userLabel: u.login, kind: "assignLicense", target: "—", fields: [], warning: "No Microsoft account yet: run Member accounts first", detail: null });
            continue;
          }
          if (!entra.accountEnabled) continue;
          assign(u, entra, mapping.map((m) => ({ skuId: m.skuId, disabledPlans: [...m.disabledPlans] })), "mapping");
        }
        break;
      case "deactivation":
        for (const link of links.filter((l) => inScope(l.oktaUserId))) {
          const u = runs.oktaUsers.find((o) => o.id === link.oktaUserId);
          const entra = runs.entraUsers.find((e) => e.id === link.entraId);
          if (!u || !entra || u.groups.includes(group)) continue;
          const have = this.direct_(entra.id);
          if (!entra.accountEnabled && (have.length === 0 || pendingStage(u.id))) continue;
          const who = { oktaUserId: u.id, userLabel: u.login, target: entra.userPrincipalName, fields: [], warning: null };
          if (entra.accountEnabled) changes.push({ ...who, kind: "disableUser", fields: [{ field: "accountEnabled", from: "true", to: "false" }], detail: { entraId: entra.id } });
          if (settings.revokeSessions) changes.push({ ...who, kind: "revokeSessions", detail: { entraId: entra.id } });
          const snap = this.snapshots.find((s) => s.profileId === profile.id && s.oktaUserId === u.id && s.restoredAt === null);
          if (have.length && !snap) changes.push({ ...who, kind: "snapshotLicenses", detail: { entraId: entra.id } });
          const due = new Date(this.now().getTime() + settings.delaySecs * 1000).toISOString();
          const mail = this.#mail(profile, u, "disabled", { licenses: have.map((h) => this.#friendly(h.skuId)).join(", "), dueAt: mailDate(due) });
          if (mail.change) changes.push(mail.change);
          if (mail.skipped) skipped.push(mail.skipped);
          if (!pendingStage(u.id)) changes.push({ ...who, kind: "scheduleStage", detail: { kind: "removeLicenses", dueAt: due, delaySecs: settings.delaySecs, entraId: entra.id } });
        }
        break;
      case "activation":
        for (const u of members.filter((m) => inScope(m.id))) {
          const entra = entraOf(u.id);
          const stage = pendingStage(u.id);
          if (!entra || (entra.accountEnabled && !stage)) continue;
          const who = { oktaUserId: u.id, userLabel: u.login, target: entra.userPrincipalName, fields: [], warning: null };
          if (stage) changes.push({ ...who, kind: "cancelStage", detail: { stageId: stage.id, dueAt: stage.dueAt } });
          if (!entra.accountEnabled) changes.push({ ...who, kind: "enableUser", fields: [{ field: "accountEnabled", from: "false", to: "true" }], detail: { entraId: entra.id } });
          const snap = this.snapshots.find((s) => s.profileId === profile.id && s.oktaUserId === u.id && s.restoredAt === null);
          const wanted = snap ? snap.licenses.map((l) => ({ skuId: l.skuId, disabledPlans: l.disabledPlans })) : mapping.map((m) => ({ skuId: m.skuId, disabledPlans: [...m.disabledPlans] }));
          assign(u, entra, wanted, snap ? "snapshot" : "mapping");
          const mail = this.#mail(profile, u, "activated", { licenses: wanted.map((w) => this.#friendly(w.skuId)).join(", ") });
          if (mail.change) changes.push(mail.change);
          if (mail.skipped) skipped.push(mail.skipped);
        }
        break;
      default:
        fail("invalid_input", `${operation} is not a lifecycle operation.`);
    }
    return { changes, skipped, members: members.length };
  }

  // --- Writes ------------------------------------------------------------------------------------

  /** The journaled request of a lifecycle change. */
  request(change: PlannedChange): unknown {
    const d = (change.detail ?? {}) as Record<string, unknown>;
    const user = `/v1.0/users/${String(d.entraId ?? change.target)}`;
    switch (change.kind) {
      case "enableUser":
        return { method: "PATCH", path: user, body: { accountEnabled: true } };
      case "setUsageLocation":
        return { method: "PATCH", path: user, body: { usageLocation: change.fields[0]?.to ?? null } };
      case "assignLicense":
        return { method: "POST", path: `${user}/assignLicense`, body: { addLicenses: ((d.add as DirectLicense[]) ?? []).map((a) => ({ skuId: a.skuId, disabledPlans: a.disabledPlans })), removeLicenses: [] } };
      case "removeLicenses":
        return { method: "POST", path: `${user}/assignLicense`, body: { addLicenses: [], removeLicenses: ((d.remove as DirectLicense[]) ?? []).map((r) => r.skuId) } };
      case "revokeSessions":
        return { method: "POST", path: `${user}/revokeSignInSessions` };
      case "emailManager":
        return { method: "POST", path: `/v1.0/users/${String(d.sender)}/sendMail`, body: { message: { subject: d.subject, toRecipients: [{ emailAddress: { address: d.to } }] }, saveToSentItems: true } };
      default:
        return null;
    }
  }

  /** Applies one lifecycle change to the fake tenant and journals its outcome on `step`. */
  write(profile: Profile, run: RunDetail, change: PlannedChange, step: RunStep): void {
    const runs = this.#engine.runs;
    const d = (change.detail ?? {}) as Record<string, unknown>;
    const entra = runs.entraUsers.find((e) => e.id === d.entraId || e.userPrincipalName === change.target);
    const now = this.now().toISOString();
    const ok = (httpStatus: number | null, response: unknown) => Object.assign(step, { status: "done", httpStatus, response });
    const failed = (httpStatus: number, vendorCode: string, vendorMessage: string, fix: string) =>
      Object.assign(step, { status: "failed", httpStatus, vendorCode, vendorMessage, fix, response: { error: { code: vendorCode, message: vendorMessage } } });
    switch (change.kind) {
      case "enableUser":
        if (entra) entra.accountEnabled = true;
        return void ok(204, null);
      case "setUsageLocation":
        if (entra) entra.usageLocation = change.fields[0]?.to ?? null;
        return void ok(204, null);
      case "revokeSessions":
        if (entra) entra.signInSessionsValidFromDateTime = now;
        return void ok(200, { value: true });
      case "assignLicense": {
        if (!entra) return void failed(404, "Request_ResourceNotFound", `Resource '${change.target}' does not exist.`, "The account was deleted since the plan; plan again.");
        const have = this.direct_(entra.id);
        for (const a of (d.add as DirectLicense[]) ?? []) {
          const sku = this.#sku(a.skuId);
          const existing = have.find((h) => h.skuId === a.skuId);
          if (!existing && sku && sku.consumed >= sku.enabled)
            return void failed(400, "Request_BadRequest", `Subscription with SKU ${a.skuId} does not have any available licenses.`, `Buy more ${this.#friendly(a.skuId)} seats or free one, then run Licenses again.`);
        }
        for (const a of (d.add as DirectLicense[]) ?? []) {
          const existing = have.find((h) => h.skuId === a.skuId);
          if (existing) existing.disabledPlans = [...a.disabledPlans];
          else {
            have.push({ skuId: a.skuId, disabledPlans: [...a.disabledPlans] });
            this.#consume(a.skuId, 1);
          }
        }
        this.direct.set(entra.id, have);
        return void ok(200, { id: entra.id, userPrincipalName: entra.userPrincipalName, assignedLicenses: have });
      }
      case "removeLicenses": {
        if (!entra) return void ok(200, null);
        const remove = ((d.remove as DirectLicense[]) ?? []).map((r) => r.skuId);
        const have = this.direct_(entra.id);
        for (const id of remove) if (have.some((h) => h.skuId === id)) this.#consume(id, -1);
        this.direct.set(entra.id, have.filter((h) => !remove.includes(h.skuId)));
        return void ok(200, { id: entra.id, userPrincipalName: entra.userPrincipalName, assignedLicenses: this.direct_(entra.id) });
      }
      case "snapshotLicenses": {
        const licenses = this.direct_(entra?.id ?? "").map((l) => ({ skuId: l.skuId, skuPartNumber: this.#sku(l.skuId)?.skuPartNumber ?? l.skuId, disabledPlans: [...l.disabledPlans] }));
        this.snapshots = this.snapshots.filter((s) => !(s.profileId === profile.id && s.oktaUserId === change.oktaUserId));
        this.snapshots.push({ profileId: profile.id, oktaUserId: change.oktaUserId, entraId: entra?.id ?? "", licenses, takenAt: now, runId: run.summary.runId, restoredAt: null });
        return void ok(null, { licenses });
      }
      case "emailManager": {
        const okta = runs.oktaUsers.find((u) => u.id === change.oktaUserId);
        const stage = d.stage as MailStage;
        const body = okta ? this.#render(this.settings(profile.id).templates[stage].body, this.#values(profile, okta, stage, {})) : "";
        step.request = { ...(step.request as object), body: { message: { subject: d.subject, body: { contentType: "Text", content: body }, toRecipients: [{ emailAddress: { address: d.to } }] }, saveToSentItems: true } };
        this.outbox.push({ from: String(d.sender), to: [String(d.to)], subject: String(d.subject), body, sentAt: now });
        return void ok(202, null);
      }
      case "scheduleStage": {
        const okta = runs.oktaUsers.find((u) => u.id === change.oktaUserId)!;
        const delay = Number(d.delaySecs ?? this.settings(profile.id).delaySecs);
        const dueAt = new Date(this.now().getTime() + delay * 1000).toISOString();
        const stage = this.addStage(profile.id, okta, String(d.entraId ?? entra?.id ?? ""), dueAt, { run: run.summary.runId, seq: change.seq });
        return void ok(null, { stageId: stage.id, dueAt: stage.dueAt });
      }
      case "cancelStage": {
        const stage = this.stages.find((s) => s.id === Number(d.stageId));
        if (!stage || stage.status !== "pending") return void Object.assign(step, { status: "superseded", response: { stageId: d.stageId, status: stage?.status ?? "gone" } });
        stage.status = "cancelled";
        stage.cancelReason = run.summary.trigger === "undo" ? "undone" : "activated again";
        stage.finishedAt = now;
        return void ok(null, { stageId: stage.id, status: "cancelled" });
      }
      default:
        return void ok(null, null);
    }
  }

  #consume(skuId: string, by: number): void {
    const sku = this.#sku(skuId);
    if (!sku) return;
    sku.consumed = Math.max(0, sku.consumed + by);
    sku.available = Math.max(0, sku.enabled - sku.consumed);
  }

  /** After a lifecycle run: seats read again (one point per SKU), an activation's snapshot restored. */
  afterRun(run: RunDetail): void {
    if (!LIFECYCLE_OPERATIONS.includes(run.summary.operation)) return;
    const wrote = run.steps.some((s) => s.status === "done");
    if (!wrote) return;
    const now = this.now().toISOString();
    if (run.summary.operation === "activation")
      for (const s of run.steps.filter((s) => s.kind === "assignLicense" && s.status === "done"))
        for (const snap of this.snapshots) if (snap.profileId === run.summary.profileId && snap.oktaUserId === s.oktaUserId && snap.restoredAt === null) snap.restoredAt = now;
    const state = this.#engine.licenseState(run.summary.profileId);
    if (state.licenses.length) state.licenses = structuredClone(this.#engine.tenantSkus);
    const points = this.seatPoints(run.summary.profileId);
    for (const s of this.#engine.tenantSkus)
      points.push({ skuId: s.skuId, skuPartNumber: s.skuPartNumber, name: s.productName ?? s.skuPartNumber, takenAt: now, consumed: s.consumed, enabled: s.enabled });
    this.#seats.set(run.summary.profileId, points);
  }

  // --- Undo --------------------------------------------------------------------------------------

  #planUndo(runId: string) {
    const runs = this.#engine.runs;
    const detail = runs.detailOf(runId);
    const { summary } = detail;
    if (summary.trigger === "undo") fail("invalid_input", `Run ${runId} is itself an undo; plan the original run's changes again instead.`);
    if (!["succeeded", "partial", "failed"].includes(summary.status))
      fail("invalid_input", `Run ${runId} is ${summary.status}; only a finished run (succeeded, partly done or failed) can be undone.`);
    const undone = runs.runs.find((r) => r.summary.undoOf === runId && r.summary.status !== "discarded");
    if (undone) fail("invalid_input", `Run ${runId} is already undone by run ${undone.summary.runId}.`);
    const profile = this.#engine.profile(summary.profileId);
    const sources: RunDetail[] = [detail];
    if (summary.operation === "deactivation")
      for (const stage of this.stages.filter((s) => s.scheduledByRun === runId && s.runId)) sources.push(runs.detailOf(stage.runId!));
    const done: Array<{ change: PlannedChange; run: RunDetail }> = [];
    for (const src of sources)
      for (const step of src.steps)
        if (step.status === "done" || step.status === "superseded") {
          const change = src.plan.changes.find((c) => c.seq === step.seq);
          if (change) done.push({ change, run: src });
        }
    const changes: Draft[] = [];
    const skipped: Draft[] = [];
    const now = this.now().getTime();
    for (const { change, run } of done.reverse()) {
      const d = (change.detail ?? {}) as Record<string, unknown>;
      const base = { oktaUserId: change.oktaUserId, userLabel: change.userLabel, target: change.target, warning: null };
      const swap = change.fields.map((f) => ({ field: f.field, from: f.to, to: f.from }));
      switch (change.kind) {
        case "disableUser":
          changes.push({ ...base, kind: "enableUser", fields: swap, detail: { entraId: d.entraId ?? null } });
          break;
        case "enableUser":
          changes.push({ ...base, kind: "disableUser", fields: swap, detail: { entraId: d.entraId ?? null } });
          break;
        case "removeLicenses":
          changes.push({ ...base, kind: "assignLicense", fields: [], detail: { add: ((d.remove as Array<DirectLicense & { skuPartNumber: string }>) ?? []).map((r) => ({ ...r, disabledPlanNames: this.#planNames(r.skuId, r.disabledPlans) })), source: "snapshot", entraId: d.entraId } });
          break;
        case "assignLicense":
          changes.push({ ...base, kind: "removeLicenses", fields: [], detail: { remove: ((d.add as Array<DirectLicense & { skuPartNumber: string }>) ?? []).map(({ skuId, skuPartNumber, disabledPlans }) => ({ skuId, skuPartNumber, disabledPlans })), entraId: d.entraId } });
          break;
        case "scheduleStage": {
          const stage = this.stages.find((s) => s.scheduledByRun === run.summary.runId && (s as Stage & { seq?: number }).seq === change.seq);
          if (stage?.status === "pending") changes.push({ ...base, kind: "cancelStage", fields: [], detail: { stageId: stage.id, dueAt: stage.dueAt } });
          else skipped.push({ ...base, kind: "cancelStage", fields: [], warning: `The license removal is ${stage?.status ?? "gone"}; nothing to cancel`, detail: null });
          break;
        }
        case "cancelStage": {
          const old = new Date(String(d.dueAt)).getTime();
          const dueAt = new Date(Number.isNaN(old) || old < now ? now + 60_000 : old).toISOString();
          const entraId = this.stages.find((s) => s.id === Number(d.stageId))?.entraId ?? null;
          changes.push({ ...base, kind: "scheduleStage", fields: [], detail: { kind: "removeLicenses", dueAt, delaySecs: Math.max(60, Math.round((new Date(dueAt).getTime() - now) / 1000)), entraId } });
          break;
        }
        case "setUsageLocation":
          if (change.fields[0]?.from) changes.push({ ...base, kind: "setUsageLocation", fields: swap, detail: d });
          else skipped.push({ ...base, kind: "setUsageLocation", fields: [], warning: "The usage location had no value before; it is kept", detail: null });
          break;
        case "updateUser":
          changes.push({ ...base, kind: "updateUser", fields: swap, detail: null });
          break;
        case "emailManager":
          skipped.push({ ...base, kind: change.kind, fields: [], warning: "An email cannot be unsent", detail: null });
          break;
        default:
          skipped.push({ ...base, kind: change.kind, fields: [], warning: `${change.kind} has no inverse; it is left as it is`, detail: null });
      }
    }
    const members = runs.oktaUsers.filter((u) => u.groups.includes(this.#group(profile))).length;
    return structuredClone(runs.createRun(profile, summary.operation, null, "undo", { changes, skipped, members }, runId).plan);
  }
}

function skuOf(partNumber: string, enabled: number, consumed: number, productName: string, plans: Array<[string, string]> = []): License {
  const n = partNumber.length;
  return {
    skuId: `${String(n).padStart(8, "0")}-0000-4000-8000-${partNumber.toLowerCase().replace(/[^a-z0-9]/g, "").padEnd(12, "0").slice(0, 12)}`,
    skuPartNumber: partNumber,
    productName,
    enabled,
    consumed,
    available: Math.max(0, enabled - consumed),
    suspended: 0,
    warning: 0,
    capabilityStatus: "Enabled",
    servicePlans: plans.map(([servicePlanId, servicePlanName]) => ({ servicePlanId, servicePlanName })),
  };
}
