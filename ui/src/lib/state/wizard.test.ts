import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ipc, type Progress } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { Wizard } from "./wizard.svelte";

let engine: FakeEngine;

beforeEach(() => {
  engine = installFakeEngine();
});
afterEach(() => clearMocks());

describe("loading", () => {
  it("without profiles: ready on the welcome step, no active profile", async () => {
    const w = new Wizard();
    expect(w.ready).toBe(false);
    await w.load();
    expect(w.ready).toBe(true);
    expect(w.step).toBe("welcome");
    expect(w.active).toBeNull();
    expect(w.info?.buildKind).toBe("debug");
  });

  it("with an active profile: opens at the profile's saved step", async () => {
    engine.addProfile({ wizardStep: "okta" });
    const second = engine.addProfile({ name: "Work", kind: "tenant", wizardStep: "licenses" });
    engine.activeId = second.id;
    const w = new Wizard();
    await w.load();
    expect(w.active?.name).toBe("Work");
    expect(w.isSandbox).toBe(false);
    expect(w.step).toBe("licenses");
  });

  it("an active id the list does not contain is treated as no profile", async () => {
    engine.addProfile();
    engine.activeId = "gone";
    const w = new Wizard();
    await w.load();
    expect(w.active).toBeNull();
    expect(w.step).toBe("welcome");
  });

  it("a failing first load is a start-up error, not a banner, and does not claim to be ready", async () => {
    const details = { dataDir: "/x", logDir: "/x/logs" };
    engine.failNext.set("app_info", { code: "internal", message: "The store at /x is not readable.", details });
    const w = new Wizard();
    await w.load();
    expect(w.ready).toBe(false);
    expect(w.startupError).toEqual({ code: "internal", message: "The store at /x is not readable.", details });
    expect(w.error).toBeNull();
    expect(w.busy).toBeNull();
  });
});

describe("use the sandbox", () => {
  it("starts an empty sandbox profile when asked (no demo credentials: the apps get created for it)", async () => {
    const w = new Wizard();
    await w.load();
    await w.useSandbox(true);
    expect(engine.callsOf("create_sandbox_profile")[0]?.args).toMatchObject({
      request: { name: null, url: null, blank: true },
    });
    expect(w.step).toBe("microsoft");
  });

  it("creates a sandbox profile, makes it active, moves to Microsoft and persists that step", async () => {
    const w = new Wizard();
    await w.load();
    await w.useSandbox();

    expect(engine.callsOf("create_sandbox_profile")).toEqual([
      {
        cmd: "create_sandbox_profile",
        args: { request: { name: null, url: null }, onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) },
      },
    ]);
    expect(w.active?.kind).toBe("sandbox");
    expect(w.isSandbox).toBe(true);
    expect(w.step).toBe("microsoft");
    expect(engine.callsOf("set_wizard_step").map((c) => c.args)).toEqual([
      { id: w.active?.id, step: "microsoft" },
    ]);
    expect(engine.profiles[0].wizardStep).toBe("microsoft");
    expect(w.active?.wizardStep).toBe("microsoft");
  });

  it("is busy while the profile is created, and a second click does nothing", async () => {
    const gate = deferred();
    engine.gate.set("create_sandbox_profile", gate.promise);
    const w = new Wizard();
    await w.load();
    const first = w.useSandbox();
    expect(w.busy).toBe("sandbox");
    await w.useSandbox();
    gate.resolve();
    await first;
    expect(w.busy).toBeNull();
    expect(engine.callsOf("create_sandbox_profile")).toHaveLength(1);
  });

  it("follows the engine's progress reports while creating, and clears them when done", async () => {
    const hold = deferred();
    engine.progressGate.set("keychain", hold.promise);
    const w = new Wizard();
    await w.load();
    expect(w.progress).toBeNull();
    const creating = w.useSandbox();
    await vi.waitFor(() => expect(w.progress?.step).toBe("keychain"));
    expect(w.progress).toMatchObject({ operation: "create_sandbox_profile", done: 2, total: 4 });
    expect(w.busy).toBe("sandbox");
    hold.resolve();
    await creating;
    expect(w.progress).toBeNull();
    expect(w.step).toBe("microsoft");
  });

  it("ignores a progress report that arrives after the call answered", async () => {
    let late: ((p: Progress) => void) | undefined;
    const profile = engine.addProfile({ name: "Late" });
    const w = new Wizard({
      ...ipc,
      createSandboxProfile: async (_request, onProgress) => {
        late = onProgress;
        return profile;
      },
    });
    await w.load();
    await w.useSandbox();
    late?.({ operation: "create_sandbox_profile", step: "done", done: 4, total: 4, message: "ready" });
    expect(late).toBeDefined();
    expect(w.progress).toBeNull();
  });

  it("a keychain failure stays on Welcome with the engine's message", async () => {
    engine.failNext.set("create_sandbox_profile", {
      code: "keychain_unavailable",
      message: "The OS keychain is locked. Unlock it and try again.",
    });
    const w = new Wizard();
    await w.load();
    await w.useSandbox();
    expect(w.step).toBe("welcome");
    expect(w.active).toBeNull();
    expect(w.busy).toBeNull();
    expect(w.error?.code).toBe("keychain_unavailable");
    expect(w.error?.message).toBe("The OS keychain is locked. Unlock it and try again.");
    w.dismissError();
    expect(w.error).toBeNull();
  });
});

describe("navigation", () => {
  it("goTo persists each step on the active profile", async () => {
    engine.activeId = engine.addProfile({ wizardStep: "microsoft" }).id;
    const w = new Wizard();
    await w.load();
    await w.next();
    await w.next();
    await w.back();
    expect(w.step).toBe("okta");
    expect(engine.callsOf("set_wizard_step").map((c) => c.args.step)).toEqual(["okta", "groups", "okta"]);
    expect(engine.profiles[0].wizardStep).toBe("okta");
  });

  it("without a profile, navigation is local and nothing is persisted", async () => {
    const w = new Wizard();
    await w.load();
    await w.goTo("history");
    expect(w.step).toBe("history");
    expect(engine.callsOf("set_wizard_step")).toHaveLength(0);
  });

  it("next on the last step and back on the first stay put", async () => {
    const w = new Wizard();
    await w.load();
    await w.back();
    expect(w.step).toBe("welcome");
    await w.goTo("credentials");
    await w.next();
    expect(w.step).toBe("credentials");
  });

  it("a slow, older set_wizard_step answer does not overwrite a newer one", async () => {
    engine.activeId = engine.addProfile({ wizardStep: "welcome" }).id;
    const w = new Wizard();
    await w.load();
    const gate = deferred();
    engine.gate.set("set_wizard_step", gate.promise);
    const slow = w.goTo("okta");
    engine.gate.delete("set_wizard_step");
    await w.goTo("groups");
    gate.resolve();
    await slow;
    expect(w.step).toBe("groups");
    // The fake applies calls in arrival order, so the engine holds "okta" last; the UI must not
    // have copied that stale profile over its newer one.
    expect(w.active?.wizardStep).toBe("groups");
  });

  it("a failed save keeps the step shown and reports the error", async () => {
    engine.activeId = engine.addProfile().id;
    const w = new Wizard();
    await w.load();
    engine.failNext.set("set_wizard_step", { code: "not_found", message: "That profile was removed." });
    await w.goTo("okta");
    expect(w.step).toBe("okta");
    expect(w.error?.code).toBe("not_found");
  });
});

describe("connect my tenants", () => {
  it("creates a tenant profile with the given name, makes it active and opens its Microsoft step", async () => {
    engine.activeId = engine.addProfile({ wizardStep: "welcome" }).id;
    const w = new Wizard();
    await w.load();
    expect(await w.connectTenants("  Contoso  ")).toBe(true);
    expect(engine.callsOf("create_tenant_profile").map((c) => c.args)).toEqual([{ name: "Contoso" }]);
    expect(w.active?.name).toBe("Contoso");
    expect(w.active?.kind).toBe("tenant");
    expect(w.active?.microsoft).toBeNull();
    expect(w.step).toBe("microsoft");
    expect(engine.callsOf("set_wizard_step").map((c) => c.args)).toEqual([{ id: w.active?.id, step: "microsoft" }]);
    expect(w.busy).toBeNull();
  });

  it("a refused name stays on Welcome with the engine's message", async () => {
    const w = new Wizard();
    await w.load();
    engine.failNext.set("create_tenant_profile", { code: "already_exists", message: 'A profile named "Lab" exists already.' });
    expect(await w.connectTenants("Lab")).toBe(false);
    expect(w.step).toBe("welcome");
    expect(w.active).toBeNull();
    expect(w.error?.code).toBe("already_exists");
  });

  it("suggests a profile name no profile has yet", async () => {
    engine.addProfile({ name: "My tenants" });
    engine.addProfile({ name: "my tenants 2" });
    const w = new Wizard();
    await w.load();
    expect(w.suggestProfileName()).toBe("My tenants 3");
    expect(w.suggestProfileName("Contoso")).toBe("Contoso");
  });
});

describe("connection tests in this session", () => {
  it("keeps the last test per profile and target", async () => {
    const w = new Wizard();
    await w.load();
    expect(w.lastTest("okta", "p1")).toBeNull();
    const test = { target: "okta" as const, ok: true, steps: [], testedAt: "2026-03-01T10:00:00Z" };
    w.recordTest("p1", test);
    expect(w.lastTest("okta", "p1")).toEqual(test);
    expect(w.lastTest("microsoft", "p1")).toBeNull();
  });
});

describe("openField", () => {
  it("switches to the profile, opens the step and asks it to focus the field", async () => {
    const a = engine.addProfile({ wizardStep: "credentials" });
    const b = engine.addProfile({ name: "Other", wizardStep: "welcome" });
    engine.activeId = a.id;
    const w = new Wizard();
    await w.load();
    await w.openField(b.id, "okta", "okta-private-key");
    expect(w.active?.id).toBe(b.id);
    expect(w.step).toBe("okta");
    expect(w.focusField).toBe("okta-private-key");
  });
});

describe("profiles", () => {
  it("selecting a profile activates it and opens its saved step", async () => {
    const a = engine.addProfile({ wizardStep: "microsoft" });
    const b = engine.addProfile({ name: "Second", wizardStep: "imports" });
    engine.activeId = a.id;
    const w = new Wizard();
    await w.load();
    await w.selectProfile(b.id);
    expect(w.active?.name).toBe("Second");
    expect(w.step).toBe("imports");
    expect(engine.activeId).toBe(b.id);
  });

  it("selecting the active profile again makes no call", async () => {
    engine.activeId = engine.addProfile().id;
    const w = new Wizard();
    await w.load();
    await w.selectProfile(engine.activeId);
    expect(engine.callsOf("select_profile")).toHaveLength(0);
  });

  it("a failed selection keeps the current profile", async () => {
    const a = engine.addProfile();
    engine.activeId = a.id;
    const w = new Wizard();
    await w.load();
    await w.selectProfile("missing");
    expect(w.active?.id).toBe(a.id);
    expect(w.error?.code).toBe("not_found");
  });
});

describe("connected steps", () => {
  it("are the active profile's steps whose last test passed", async () => {
    engine.activeId = engine.addProfile().id;
    const w = new Wizard();
    await w.load();
    expect(w.connectedSteps).toEqual([]);
    w.recordTest(engine.activeId, { target: "okta", ok: true, steps: [], testedAt: "2026-03-01T10:00:00Z" });
    w.recordTest(engine.activeId, { target: "microsoft", ok: false, steps: [], testedAt: "2026-03-01T10:00:00Z" });
    w.recordTest("other", { target: "microsoft", ok: true, steps: [], testedAt: "2026-03-01T10:00:00Z" });
    expect(w.connectedSteps).toEqual(["okta"]);
  });
});
