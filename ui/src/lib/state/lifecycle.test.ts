// The Lifecycle state against the fake engine (docs/licensing.md): the delay's value and unit, the
// relative due times, the settings editor's preview and save, the stages list, the app's round of
// due stages on a clock, and the fake engine's own stage logic (due on the tenant clock, late,
// cancelled when the user is back, undo).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ipc, type Profile, type RunPlan, type RunSummary, type DueReport, type Stage } from "../ipc";
import { FakeEngine, clearMocks, installFakeEngine } from "../../test/fake-engine";
import { DueStages, LifecycleEditor, StagesList, STAGES_EVERY_MS, delayError, delayText, dueRelative, splitDelay, toDelaySecs, unknownPlaceholders } from "./lifecycle.svelte";
import type { Clock } from "./provisioning.svelte";
import { changeDetail } from "./runs";

let engine: FakeEngine;
let profile: Profile;

beforeEach(() => {
  engine = installFakeEngine();
  profile = engine.addProfile();
  engine.runs.seed(profile);
  engine.lifecycle.seed(profile);
});
afterEach(() => clearMocks());

const channel = { id: -1 };
const DAY = 86_400;

async function plan(operation: "licenses" | "deactivation" | "activation"): Promise<RunPlan> {
  return (await engine.handle("plan_run", { request: { profileId: profile.id, operation, users: null, trigger: "manual" } })) as RunPlan;
}
async function apply(p: RunPlan): Promise<RunSummary> {
  return (await engine.handle("apply_run", { runId: p.runId, confirmDestructive: p.guard?.destructive ?? null, onProgress: channel })) as RunSummary;
}
const due = () => engine.handle("run_due_stages", { profileId: profile.id, onProgress: channel }) as Promise<DueReport>;
const ken = () => engine.runs.oktaUsers.find((u) => u.login === "ken.thompson@example.com")!;
/** Cancels the seeded returner's removal (due in 3 days), so only the stages a test makes come due. */
const cancelSeeded = () => engine.handle("cancel_stage", { stageId: engine.lifecycle.stages[0].id });

describe("delay helpers", () => {
  it("split seconds into the largest whole unit and read them back", () => {
    expect(splitDelay(2_592_000)).toEqual({ value: 30, unit: "days" });
    expect(splitDelay(34_560_000)).toEqual({ value: 400, unit: "days" });
    expect(splitDelay(5_400)).toEqual({ value: 90, unit: "minutes" });
    expect(splitDelay(7_200)).toEqual({ value: 2, unit: "hours" });
    expect(splitDelay(3_601)).toEqual({ value: 3_601, unit: "seconds" });
    expect(delayText(34_560_000)).toBe("400 days");
    expect(delayText(3_600)).toBe("1 hour");
    expect(delayText(1)).toBe("1 second");
    expect(toDelaySecs(400, "days")).toBe(34_560_000);
    expect(toDelaySecs(90, "minutes")).toBe(5_400);
  });

  it("refuse 0, fractions and more than 10 years with a message that says why", () => {
    expect(delayError(1, "seconds")).toBeNull();
    expect(delayError(3650, "days"), "exactly 10 years").toBeNull();
    expect(delayError(0, "days")).toMatch(/at least 1 second/);
    expect(delayError(-3, "hours")).toMatch(/at least 1 second/);
    expect(delayError(1.5, "days")).toMatch(/whole number of days/);
    expect(delayError(3651, "days")).toMatch(/at most 10 years \(3650 days\)/);
    expect(delayError(87_601, "hours")).toMatch(/at most 10 years/);
    expect(delayError(Number.NaN, "days")).toMatch(/as a number/);
  });

  it("say due times relative to now, late ones too", () => {
    const now = new Date("2026-03-01T12:00:00Z");
    expect(dueRelative("2026-03-04T12:00:00Z", now)).toBe("in 3 days");
    expect(dueRelative("2026-03-01T17:00:00Z", now)).toBe("in 5 h");
    expect(dueRelative("2026-03-01T12:12:00Z", now)).toBe("in 12 min");
    expect(dueRelative("2026-03-01T10:00:00Z", now)).toBe("2 h late");
    expect(dueRelative("2026-02-26T12:00:00Z", now)).toBe("3 days late");
    expect(dueRelative("2026-03-01T12:00:20Z", now)).toBe("due now");
  });

  it("find unknown placeholders", () => {
    expect(unknownPlaceholders("Hi {{user.firstName}}, {{ manager.email }} and {{user.phone}}")).toEqual(["user.phone"]);
  });

  it("read a change's licensing detail for the plan table", () => {
    const d = changeDetail({
      seq: 1,
      oktaUserId: "u",
      userLabel: "u",
      kind: "assignLicense",
      target: "u@x",
      fields: [],
      warning: null,
      detail: { add: [{ skuId: "s1", skuPartNumber: "ENTERPRISEPACK", disabledPlans: ["p1"], disabledPlanNames: ["TEAMS1"] }], source: "mapping", entraId: "e" },
    });
    expect(d.skus).toEqual([{ skuId: "s1", skuPartNumber: "ENTERPRISEPACK", disabledPlans: ["p1"], disabledPlanNames: ["TEAMS1"] }]);
    expect(d.removing).toBe(false);
    const odd = changeDetail({ seq: 2, oktaUserId: "u", userLabel: "u", kind: "scheduleStage", target: "u@x", fields: [], warning: null, detail: "not an object" });
    expect(odd, "an unexpected detail reads as empty, never throws").toMatchObject({ skus: [], email: null, dueAt: null });
  });
});

describe("LifecycleEditor", () => {
  it("loads the defaults as 30 days, previews unsaved text and saves the delay in seconds", async () => {
    const editor = new LifecycleEditor(ipc, profile.id);
    await editor.load();
    expect([editor.delayValue, editor.delayUnit, editor.delayWords]).toEqual([30, "days", "30 days"]);
    editor.delayValue = 2;
    editor.delayUnit = "hours";
    editor.settings!.templates.disabled.subject = "Gone: {{user.login}}";
    const preview = await editor.previewEmail();
    expect(preview?.subject).toBe("Gone: ada.lovelace@example.com");
    expect(engine.lifecycle.settings(profile.id).templates.disabled.subject, "a preview saves nothing").not.toContain("Gone");
    expect(await editor.save()).toBe(true);
    expect(engine.lifecycle.settings(profile.id).delaySecs).toBe(7_200);
    expect(engine.lifecycle.settings(profile.id).templates.disabled.subject).toBe("Gone: {{user.login}}");
    expect([editor.delayValue, editor.delayUnit]).toEqual([2, "hours"]);
  });

  it("does not send an invalid delay; the engine's refusal of a bad sender is shown", async () => {
    const editor = new LifecycleEditor(ipc, profile.id);
    await editor.load();
    editor.delayValue = 0;
    expect(await editor.save()).toBe(false);
    expect(editor.error?.message).toMatch(/at least 1 second/);
    expect(engine.callsOf("set_lifecycle_settings")).toHaveLength(0);
    editor.delayValue = 1;
    editor.sender = "not a mailbox";
    expect(await editor.save()).toBe(false);
    expect(editor.error?.message).toMatch(/neither an email address nor an object id/);
  });
});

describe("DueStages (the app's round every 15 s)", () => {
  function fakeClock() {
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const clock: Clock = {
      setInterval: (fn, ms) => timers.push({ fn, ms }),
      clearInterval: () => timers.splice(0),
      now: () => new Date("2026-03-01T10:00:00Z"),
    };
    return { clock, timers };
  }

  it("runs once at start and every 15 s; a second start adds no timer; stop ends it", async () => {
    await cancelSeeded();
    const { clock, timers } = fakeClock();
    const rounds = new DueStages(ipc, clock);
    rounds.start();
    rounds.start();
    expect(timers.map((t) => t.ms)).toEqual([STAGES_EVERY_MS]);
    await new Promise((r) => setTimeout(r, 0));
    expect(engine.callsOf("run_due_stages")).toHaveLength(1);
    expect(rounds.lastRound).toBe("2026-03-01T10:00:00.000Z");
    expect(rounds.version, "nothing was due").toBe(0);

    const p = await plan("deactivation");
    await apply(p);
    engine.lifecycle.advance(30 * DAY + 3 * 3_600);
    timers[0].fn();
    await new Promise((r) => setTimeout(r, 0));
    expect(engine.callsOf("run_due_stages")).toHaveLength(2);
    expect(rounds.version).toBe(1);
    expect(rounds.ran).toHaveLength(1);
    const late = rounds.lateOf(profile.id);
    expect(late.map((s) => s.userLabel)).toEqual(["ken.thompson@example.com"]);
    expect(late[0].lateSecs).toBeGreaterThanOrEqual(3 * 3_600);
    rounds.stop();
    expect(timers).toHaveLength(0);
    expect(rounds.started).toBe(false);
  });
});

describe("fake engine stages", () => {
  it("a deactivation schedules the removal on the tenant clock; it runs only once due, late when overdue", async () => {
    await cancelSeeded();
    const p = await plan("deactivation");
    expect(p.changes.map((c) => c.kind)).toEqual(["disableUser", "revokeSessions", "snapshotLicenses", "emailManager", "scheduleStage"]);
    expect(p.guard?.destructive, "each leaver counts once").toBe(1);
    await apply(p);
    const stage = engine.lifecycle.stages.find((s) => s.oktaUserId === ken().id)!;
    expect(stage.status).toBe("pending");
    const scheduled = new Date(stage.dueAt).getTime() - engine.lifecycle.now().getTime();
    expect(Math.round(scheduled / 1000 / DAY)).toBe(30);

    expect((await due()).ran, "not due yet").toEqual([]);
    engine.lifecycle.advance(30 * DAY - 120);
    expect((await due()).ran, "two minutes early").toEqual([]);
    const listed = (await engine.handle("list_stages", { profileId: profile.id, includeFinished: false })) as Stage[];
    expect(listed.find((s) => s.id === stage.id)?.lateSecs, "pending and not yet due").toBeNull();

    engine.lifecycle.advance(120 + 7_200);
    const seatsBefore = engine.lifecycle.seatPoints(profile.id).length;
    const consumed = engine.tenantSkus[0].consumed;
    const report = await due();
    expect(report.ran.map((r) => [r.operation, r.trigger, r.status])).toEqual([["deactivation", "schedule", "succeeded"]]);
    expect(report.late.map((s) => s.id)).toEqual([stage.id]);
    expect(report.late[0].lateSecs).toBeGreaterThanOrEqual(7_200);
    expect(stage.status).toBe("done");
    expect(engine.tenantSkus[0].consumed, "the seat is free again").toBe(consumed - 1);
    expect(engine.lifecycle.seatPoints(profile.id).length, "one new point per SKU").toBe(seatsBefore + engine.tenantSkus.length);
    expect(engine.lifecycle.outbox.map((m) => m.subject)).toEqual([
      "Ken Thompson's Microsoft 365 account is disabled",
      "Ken Thompson's Microsoft 365 licenses were removed",
    ]);
    expect((await due()).ran, "a stage runs once").toEqual([]);
  });

  it("a leaver back in the group before the due time: the stage is cancelled and removes nothing", async () => {
    await apply(await plan("deactivation"));
    ken().groups.push("Office 365 Assignments");
    engine.lifecycle.advance(31 * DAY);
    const report = await due();
    const stage = engine.lifecycle.stages.find((s) => s.oktaUserId === ken().id)!;
    expect(stage.status).toBe("cancelled");
    expect(stage.cancelReason).toBe("back in the assignments group");
    expect(report.ran[0].changes).toBe(0);
    const entra = engine.runs.links(profile.id).find((l) => l.oktaUserId === ken().id)!.entraId;
    expect(engine.lifecycle.direct_(entra)).toHaveLength(1);
  });

  it("undo of a deactivation whose removal ran: licenses back, account enabled, the email listed as skipped", async () => {
    const p = await plan("deactivation");
    await apply(p);
    engine.lifecycle.advance(31 * DAY);
    await due();
    const undo = (await engine.handle("plan_undo", { runId: p.runId })) as RunPlan;
    expect(undo.undoOf).toBe(p.runId);
    expect(undo.trigger).toBe("undo");
    expect(undo.changes.map((c) => c.kind)).toEqual(["assignLicense", "enableUser"]);
    expect(undo.skipped.map((c) => c.warning)).toContain("An email cannot be unsent");
    await apply(undo);
    const entra = engine.runs.entraUsers.find((e) => e.userPrincipalName === "ken.thompson@contoso.com")!;
    expect(entra.accountEnabled).toBe(true);
    expect(engine.lifecycle.direct_(entra.id).map((l) => l.skuId)).toEqual([engine.tenantSkus[0].skuId]);
    await expect(engine.handle("plan_undo", { runId: p.runId })).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("already undone") });
    await expect(engine.handle("plan_undo", { runId: undo.runId })).rejects.toMatchObject({ message: expect.stringContaining("itself an undo") });
  });

  it("cancel and run now work only on a pending stage", async () => {
    const list = new StagesList(ipc, profile.id);
    await list.load();
    expect(list.stages.map((s) => s.userLabel)).toEqual(["dennis.ritchie@example.com"]);
    const id = list.stages[0].id;
    await list.cancel(id);
    expect(list.stages).toEqual([]);
    await list.runNow(id);
    expect(list.error?.message).toMatch(/cancelled; only a pending stage runs/);
    await list.toggleFinished(true);
    expect(list.stages.map((s) => s.status).sort()).toEqual(["cancelled", "done"]);
  });
});
