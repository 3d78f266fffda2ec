// The Provisioning and History state against the fake engine: settings and the username preview,
// a run's plan, the guard's confirmation, live steps from progress, the journal's outcome, the
// System Log polling on a clock, the test run, and the history's filters, export and delete.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ipc, type Progress, type RunStep } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { History, type Download } from "./history.svelte";
import { RunDesk, SettingsEditor, TestRun, Triggers, type Clock } from "./provisioning.svelte";
import { advance, formatDuration, liveSteps, settle, startNext } from "./runs";

let engine: FakeEngine;
let profileId: string;

beforeEach(() => {
  engine = installFakeEngine();
  const p = engine.addProfile();
  profileId = p.id;
  engine.runs.seed(p);
});
afterEach(() => clearMocks());

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("run helpers", () => {
  const changes = [1, 2, 3].map((seq) => ({ seq, oktaUserId: `u${seq}`, userLabel: `u${seq}`, kind: "createUser" as const, target: `t${seq}`, fields: [], warning: null, detail: null }));
  const report = (step: string, message: string): Progress => ({ operation: "run", step, done: 0, total: 3, message });

  it("a progress report returns its step with the outcome its message names and starts the next one", () => {
    let steps = startNext(liveSteps(changes));
    expect(steps.map((s) => s.status), "the apply starts with the first step").toEqual(["started", "pending", "pending"]);
    steps = advance(steps, report("1", "Done: Create the Microsoft account for u1 (t1)"));
    expect(steps.map((s) => s.status)).toEqual(["done", "started", "pending"]);
    steps = advance(steps, report("2", "Failed: Create the Microsoft account for u2 (t2)"));
    expect(steps.map((s) => s.status)).toEqual(["done", "failed", "started"]);
    steps = advance(steps, report("3", "Already done: Create the Microsoft account for u3 (t3)"));
    expect(steps.map((s) => s.status)).toEqual(["done", "failed", "superseded"]);
    expect(advance(steps, report("9", "Done: x")), "an unknown seq changes nothing").toBe(steps);
    expect(advance(steps, { ...report("3", "Done: x"), operation: "review" }), "another operation's report changes nothing").toBe(steps);
  });

  it("the final report ends the writing; the journal settles each step's real outcome", () => {
    const running = advance(startNext(liveSteps(changes)), report("done", "Run partial: 1 done, 1 failed of 3 changes"));
    expect(running.map((s) => s.status)).toEqual(["done", "pending", "pending"]);
    const failed = { seq: 2, status: "failed", vendorCode: "Request_BadRequest" } as RunStep;
    const steps = settle(running, [failed]);
    expect(steps[1].status).toBe("failed");
    expect(steps[1].step?.vendorCode).toBe("Request_BadRequest");
    expect(steps[2].status, "a step the journal does not list keeps its live status").toBe("pending");
  });

  it("durations read as ms, seconds or minutes", () => {
    expect([formatDuration(null), formatDuration(850), formatDuration(4200), formatDuration(185_000)]).toEqual(["—", "850 ms", "4.2 s", "3 min 05 s"]);
  });
});

describe("SettingsEditor", () => {
  it("loads the defaults, previews usernames with problems, and saves edits", async () => {
    const editor = new SettingsEditor(ipc, profileId);
    await editor.load();
    expect(editor.settings?.username).toEqual({ kind: "emailLocalPart", domain: "contoso.com" });
    expect(editor.settings?.attributes).toHaveLength(9);
    const upns = Object.fromEntries(editor.preview!.rows.map((r) => [r.login, r.upn]));
    expect(upns["ada.lovelace@example.com"]).toBe("ada.lovelace@contoso.com");
    expect(editor.problems, "the member without an email is a problem").toBe(1);

    editor.setKind("email");
    await tick();
    await tick();
    expect(engine.callsOf("preview_usernames").at(-1)?.args.format).toEqual({ kind: "email" });
    expect(editor.problems, "example.com is not verified in the tenant, and one has no email").toBe(6);

    editor.setKind("emailLocalPart");
    editor.setDomain("contoso.onmicrosoft.com");
    editor.addAttribute();
    expect(editor.attributeError(9), "a new row needs its Okta attribute").toBe("Name the Okta attribute.");
    expect(editor.blocked).toBe(true);
    editor.settings!.attributes[9].okta = "employeeNumber";
    editor.settings!.attributes[9].graph = "employeeId";
    editor.removeAttribute(8);
    expect(editor.blocked).toBe(false);
    expect(await editor.save()).toBe(true);
    const saved = engine.callsOf("set_provisioning_settings")[0].args.settings as { username: unknown; attributes: Array<{ graph: string }> };
    expect(saved.username).toEqual({ kind: "emailLocalPart", domain: "contoso.onmicrosoft.com" });
    expect(saved.attributes.map((a) => a.graph)).toContain("employeeId");
    expect(saved.attributes.map((a) => a.graph)).not.toContain("usageLocation");
  });

  it("a poll interval out of range blocks Save", async () => {
    const editor = new SettingsEditor(ipc, profileId);
    await editor.load();
    editor.settings!.pollIntervalSecs = 5;
    expect(editor.numbersError).toBe("Poll every 10 to 3600 seconds.");
    expect(await editor.save()).toBe(false);
    expect(engine.callsOf("set_provisioning_settings")).toHaveLength(0);
  });
});

describe("RunDesk", () => {
  it("plans member accounts: creates, a link to the matching account, the skipped user", async () => {
    const desk = new RunDesk(ipc, profileId);
    const plan = await desk.makePlan("memberAccounts");
    expect(plan?.changes.map((c) => [c.userLabel, c.kind])).toEqual([
      ["ada.lovelace@example.com", "createUser"],
      ["grace.hopper@example.com", "createUser"],
      ["alan.turing@example.com", "createUser"],
      ["barbara.liskov@example.com", "createUser"],
      ["linus.torvalds@example.com", "linkUser"],
    ]);
    expect(plan?.skipped.map((c) => c.userLabel)).toEqual(["edsger.dijkstra@example.com"]);
    expect(plan?.guard).toBeNull();
    expect(engine.runs.entraUsers, "a plan writes nothing").toHaveLength(5);
  });

  it("apply moves the live steps as progress arrives, then shows the journal's outcome", async () => {
    const desk = new RunDesk(ipc, profileId);
    await desk.makePlan("memberAccounts");
    engine.runs.failures.set("grace.hopper@example.com", { httpStatus: 400, vendorCode: "Request_BadRequest", vendorMessage: "Property usageLocation is invalid.", fix: "Set a two-letter country code in Okta." });
    const gate = deferred();
    engine.runs.applyGate = gate.promise;
    const done = desk.apply();
    await tick();
    await tick();
    expect(desk.steps.map((s) => s.status), "the first step returned, the second is being written").toEqual(["done", "started", "pending", "pending", "pending"]);
    expect(desk.progress?.message).toBe("Done: Create the Microsoft account for ada.lovelace@example.com (ada.lovelace@contoso.com)");
    gate.resolve();
    const summary = await done;
    expect(summary?.status).toBe("partial");
    expect(desk.steps.map((s) => s.status)).toEqual(["done", "failed", "done", "done", "done"]);
    expect(desk.steps[1].step?.fix).toBe("Set a two-letter country code in Okta.");
    expect(engine.runs.links(profileId).filter((l) => l.kind === "member")).toHaveLength(4);
  });

  it("a guard-stopped plan applies only once its count is typed, and sends that count", async () => {
    const desk = new RunDesk(ipc, profileId);
    const plan = await desk.makePlan("guests");
    expect(plan?.guard?.destructive).toBe(4);
    expect(desk.canApply).toBe(false);
    desk.confirm = "3";
    expect(desk.canApply).toBe(false);
    desk.confirm = " 4 ";
    expect(desk.canApply).toBe(true);
    expect((await desk.apply())?.status).toBe("succeeded");
    expect(engine.callsOf("apply_run")[0].args.confirmDestructive).toBe(4);
    expect(engine.runs.entraUsers.filter((u) => u.userType === "Guest").map((u) => u.mail).sort()).toEqual(["marie@partner.example", "rosalind@partner.example"]);
  });

  it("discard drops the plan; the engine keeps it as discarded", async () => {
    const desk = new RunDesk(ipc, profileId);
    const plan = await desk.makePlan("memberAccounts");
    await desk.discard();
    expect(desk.plan).toBeNull();
    expect(engine.runs.runs.find((r) => r.summary.runId === plan!.runId)?.summary.status).toBe("discarded");
  });
});

describe("Triggers", () => {
  function fakeClock() {
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const clock: Clock = {
      setInterval: (fn, ms) => timers.push({ fn, ms }),
      clearInterval: () => timers.splice(0),
      now: () => new Date("2026-03-01T10:00:00Z"),
    };
    return { clock, timers };
  }

  it("on: polls at once and every interval; events become runs; off stops the timer", async () => {
    const { clock, timers } = fakeClock();
    const triggers = new Triggers(ipc, profileId, () => ({ pollIntervalSecs: 30, reconcileEveryMins: null }), clock);
    triggers.toggle(true);
    await tick();
    await tick();
    expect(engine.callsOf("poll_system_log")).toHaveLength(1);
    expect(timers.map((t) => t.ms)).toEqual([30_000]);
    expect(triggers.lastPoll).toBe("2026-03-01T10:00:00.000Z");

    const ada = engine.runs.oktaUsers[0];
    engine.runs.logEvents.push({ eventType: "group.user_membership.add", oktaUserId: ada.id, group: "Office 365 Assignments" });
    timers[0].fn();
    await tick();
    await tick();
    expect(triggers.events).toBe(1);
    expect(triggers.runs.map((r) => [r.operation, r.trigger, r.status])).toEqual([["memberAccounts", "systemLog", "succeeded"]]);

    triggers.toggle(false);
    expect(timers, "off clears the interval").toHaveLength(0);
  });

  it("with a reconcile schedule, the toggle also reconciles on that schedule", async () => {
    const { clock, timers } = fakeClock();
    let schedule: { pollIntervalSecs: number; reconcileEveryMins: number | null } = { pollIntervalSecs: 60, reconcileEveryMins: 15 };
    const triggers = new Triggers(ipc, profileId, () => schedule, clock);
    triggers.toggle(true);
    expect(timers.map((t) => t.ms)).toEqual([60_000, 900_000]);
    timers[1].fn();
    await tick();
    await tick();
    expect(engine.callsOf("reconcile").map((c) => c.args)).toEqual([{ profileId, operation: null }]);
    schedule = { pollIntervalSecs: 120, reconcileEveryMins: null };
    triggers.reschedule();
    expect(timers.map((t) => t.ms), "saved settings replace the timers").toEqual([120_000]);
    expect(engine.callsOf("poll_system_log"), "rescheduling does not poll again").toHaveLength(1);
    triggers.stop();
    expect(timers).toHaveLength(0);
  });

  it("Reconcile now: accounts made, the linked one synced, the guests run stopped at the guard stays planned", async () => {
    const triggers = new Triggers(ipc, profileId, () => ({ pollIntervalSecs: 60, reconcileEveryMins: null }), fakeClock().clock);
    await triggers.reconcile();
    const byOp = Object.fromEntries(triggers.reconciled!.map((r) => [r.operation, r.status]));
    // profileSync finds the matched account of Linus Torvalds without the mapped attributes.
    expect(byOp).toEqual({ memberAccounts: "succeeded", profileSync: "succeeded", guests: "planned" });
  });
});

describe("TestRun", () => {
  it("a throwaway user: created, provisioned, read back, then cleaned up", async () => {
    const test = new TestRun(ipc, profileId);
    expect(test.canStart).toBe(false);
    test.createUser = true;
    const result = await test.start();
    expect(engine.callsOf("test_run")[0].args.request).toEqual({ profileId, operation: "memberAccounts", oktaUserId: null });
    expect(result?.createdTestUser).toMatch(/^00u/);
    expect((result?.readBack as { userPrincipalName: string }).userPrincipalName).toBe("okta365-test-1@contoso.com");
    expect(test.live.length).toBeGreaterThan(0);
    await test.cleanup();
    expect(test.cleaned).toBe(true);
    expect(engine.runs.entraUsers.some((u) => u.userPrincipalName === "okta365-test-1@contoso.com")).toBe(false);
  });

  it("a login is sent as its Okta user id when known", async () => {
    const test = new TestRun(ipc, profileId);
    test.login = "Alan.Turing@example.com";
    const ada = engine.runs.oktaUsers.find((u) => u.login === "alan.turing@example.com")!;
    await test.start(new Map([["alan.turing@example.com", ada.id]]));
    expect((engine.callsOf("test_run")[0].args.request as { oktaUserId: string }).oktaUserId).toBe(ada.id);
    expect(test.result?.createdTestUser).toBeNull();
  });
});

describe("History", () => {
  async function twoRuns() {
    const desk = new RunDesk(ipc, profileId);
    await desk.makePlan("memberAccounts");
    await desk.apply();
    await desk.makePlan("guests");
  }

  it("lists newest first and filters by operation, status and user", async () => {
    await twoRuns();
    const history = new History(ipc, profileId);
    await history.load();
    expect(history.runs.map((r) => [r.operation, r.status])).toEqual([["guests", "planned"], ["memberAccounts", "succeeded"]]);
    history.operation = "memberAccounts";
    await history.load();
    expect(history.runs.map((r) => r.operation)).toEqual(["memberAccounts"]);
    history.operation = null;
    history.status = "planned";
    await history.load();
    expect(history.runs.map((r) => r.operation)).toEqual(["guests"]);
    history.status = null;
    history.user = "marie";
    await history.load();
    expect(engine.callsOf("list_runs").at(-1)?.args.filter).toEqual({ operation: null, status: null, user: "marie", limit: 200 });
    expect(history.runs.map((r) => r.operation)).toEqual(["guests"]);
  });

  it("a running run keeps the history refreshing until it ends", async () => {
    const desk = new RunDesk(ipc, profileId);
    await desk.makePlan("memberAccounts");
    const gate = deferred();
    engine.runs.applyGate = gate.promise;
    const applying = desk.apply();
    await tick();
    const history = new History(ipc, profileId);
    await history.load();
    await history.open(history.runs[0].runId);
    expect(history.running, "the run is being applied").toBe(true);
    gate.resolve();
    await applying;
    await history.refresh();
    expect(history.running).toBe(false);
    expect(history.detail?.summary.status, "the open run is read again too").toBe("succeeded");
  });

  it("opens a run, exports it, and deletes it only after confirming", async () => {
    await twoRuns();
    const saved: Download[] = [];
    const history = new History(ipc, profileId, (f) => saved.push(f));
    await history.load();
    const run = history.runs[1];
    await history.open(run.runId);
    expect(history.detail?.steps.map((s) => s.status)).toEqual(["done", "done", "done", "done", "done", "skipped"]);
    await history.export("csv");
    expect(saved[0].name).toBe(`okta365-run-memberAccounts-${run.runId}.csv`);
    expect(saved[0].text.split("\n")[0]).toBe("seq,user,kind,target,status,httpStatus,vendorCode,vendorMessage,requestId,fix,startedAt,durationMs");
    await history.export("json");
    expect(JSON.parse(saved[1].text).summary.runId).toBe(run.runId);

    expect(await history.remove()).toBe(false);
    expect(history.confirmingDelete).toBe(true);
    expect(engine.callsOf("delete_run"), "nothing deleted before the confirmation").toHaveLength(0);
    expect(await history.remove(true)).toBe(true);
    expect(history.runs.map((r) => r.runId)).not.toContain(run.runId);
    expect(history.detail).toBeNull();
  });
});
