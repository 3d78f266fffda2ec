// The Groups and Licenses state against the fake engine: names saved before a plan, plan then apply,
// a second plan with nothing to create, licenses refreshed and associated, the usage location checked.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ipc, type Profile } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine, sku } from "../../test/fake-engine";
import { GroupsSetup, LicensesSetup, checkUsageLocation, groupNames, seatPercent } from "./setup.svelte";

let engine: FakeEngine;
let profile: Profile;

beforeEach(() => {
  engine = installFakeEngine();
  profile = engine.out(engine.addProfile());
});
afterEach(() => clearMocks());

describe("GroupsSetup", () => {
  it("starts from the profile's names, the engine's defaults where none is saved", () => {
    expect(groupNames(profile)).toEqual({ assignments: "Office 365 Assignments", guests: "O365Guest" });
    engine.groupNames.set(profile.id, [{ role: "guests", name: "Partners" }]);
    const g = new GroupsSetup(ipc, engine.out(engine.profile(profile.id)));
    expect(g.names).toEqual({ assignments: "Office 365 Assignments", guests: "Partners" });
  });

  it("an empty name or the same group twice blocks Plan with a message", async () => {
    const g = new GroupsSetup(ipc, profile);
    g.names.guests = "  ";
    expect(g.nameError("guests")).toBe("Type a group name.");
    expect(g.blocked).toBe(true);
    g.names.guests = "office 365 assignments";
    expect(g.nameError("guests")).toBe("The two roles need different groups.");
    expect(await g.makePlan(), "a blocked plan asks nothing").toBeNull();
    expect(engine.callsOf("plan_groups")).toHaveLength(0);
  });

  it("Plan saves changed names first; unchanged names are not saved again", async () => {
    const saved: Profile[] = [];
    const g = new GroupsSetup(ipc, profile, (p) => saved.push(p));
    await g.makePlan();
    expect(engine.callsOf("set_group_names"), "the defaults need no save").toHaveLength(0);
    g.names.assignments = " M365 Licensed ";
    g.edited();
    await g.makePlan();
    expect(engine.callsOf("set_group_names").map((c) => c.args.groups)).toEqual([
      [
        { role: "assignments", name: "M365 Licensed" },
        { role: "guests", name: "O365Guest" },
      ],
    ]);
    expect(saved).toHaveLength(1);
    expect(g.plan?.items.map((i) => [i.name, i.action])).toEqual([
      ["M365 Licensed", "create"],
      ["O365Guest", "create"],
    ]);
  });

  it("Apply reports progress, answers every group as existing, and a new plan creates nothing", async () => {
    engine.oktaGroups.push({ id: "00gGuests", name: "O365Guest", members: 4 });
    const g = new GroupsSetup(ipc, profile);
    await g.makePlan();
    expect(g.toCreate).toEqual(["Office 365 Assignments"]);

    const gate = deferred();
    engine.setupGate = gate.promise;
    const applying = g.apply();
    await expect.poll(() => g.progress?.step).toBe("assignments");
    expect(g.busy).toBe(true);
    gate.resolve();
    await applying;

    expect(g.applied).toBe(true);
    expect(g.created).toEqual(["Office 365 Assignments"]);
    expect(g.progress).toBeNull();
    expect(g.plan?.items.every((i) => i.action === "exists" && i.groupId)).toBe(true);
    expect(g.plan?.items.find((i) => i.role === "guests")?.memberCount).toBe(4);

    engine.setupGate = null;
    await g.makePlan();
    expect(g.toCreate, "a second run creates nothing").toEqual([]);
    expect(engine.oktaGroups).toHaveLength(2);
  });

  it("an engine refusal is shown with its message and the plan is kept", async () => {
    const g = new GroupsSetup(ipc, profile);
    await g.makePlan();
    engine.failNext.set("apply_groups", { code: "permission_denied", message: "okta.groups.manage is not granted to the service app." });
    expect(await g.apply()).toBeNull();
    expect(g.error).toMatchObject({ code: "permission_denied", message: "okta.groups.manage is not granted to the service app." });
    expect(g.plan?.items).toHaveLength(2);
    expect(g.applied).toBe(false);
  });
});

describe("LicensesSetup", () => {
  it("refresh stores the tenant's SKUs with their time; load reads them back without the network", async () => {
    engine.tenantSkus = [sku("ENTERPRISEPACK", 25, 20), sku("EXCHANGESTANDARD", 10, 2)];
    const l = new LicensesSetup(ipc, profile.id);
    await l.load();
    expect(l.loaded).toBe(true);
    expect(l.licenses).toEqual([]);
    expect(l.view?.refreshedAt).toBeNull();

    const gate = deferred();
    engine.setupGate = gate.promise;
    const refreshing = l.refresh();
    await expect.poll(() => l.progress?.step).toBe("skus");
    expect(l.progress?.message).toBe("Reading the subscribed SKUs");
    gate.resolve();
    await refreshing;
    expect(l.licenses.map((x) => x.skuPartNumber)).toEqual(["ENTERPRISEPACK", "EXCHANGESTANDARD"]);
    expect(l.view?.refreshedAt).toBe("2026-03-01T10:05:00Z");
    expect(l.syncing).toBe(false);

    const again = new LicensesSetup(ipc, profile.id);
    await again.load();
    expect(again.licenses).toHaveLength(2);
    expect(engine.callsOf("sync_licenses")).toHaveLength(1);
  });

  it("ticking a SKU for a role associates it; a service plan can be left disabled; unticking removes it", async () => {
    engine.tenantSkus = [sku("ENTERPRISEPACK", 25, 20, { servicePlans: [{ servicePlanId: "sp-teams", servicePlanName: "TEAMS1" }] })];
    const l = new LicensesSetup(ipc, profile.id);
    await l.refresh();
    const id = l.licenses[0].skuId;
    await l.toggle("assignments", id, true);
    expect(l.assignment("assignments", id)).toEqual({ role: "assignments", skuId: id, disabledPlans: [] });
    await l.togglePlan("assignments", id, "sp-teams", true);
    expect(l.assignment("assignments", id)?.disabledPlans).toEqual(["sp-teams"]);
    await l.togglePlan("assignments", id, "sp-teams", false);
    expect(l.assignment("assignments", id)?.disabledPlans).toEqual([]);
    await l.toggle("assignments", id, false);
    expect(l.assignment("assignments", id)).toBeNull();
    expect(engine.callsOf("set_license_assignments").at(-1)?.args.assignments).toEqual([]);
  });

  it("a role's group larger than the available seats shows the engine's seat warning", async () => {
    engine.tenantSkus = [sku("ENTERPRISEPACK", 25, 23)];
    engine.oktaGroups.push({ id: "00g1", name: "Office 365 Assignments", members: 5 });
    const l = new LicensesSetup(ipc, profile.id);
    await l.refresh();
    await l.toggle("assignments", l.licenses[0].skuId, true);
    expect(l.warningsOf(l.licenses[0].skuId).map((w) => w.message)).toEqual([
      "Office 365 Assignments has 5 members but ENTERPRISEPACK has only 2 seats available.",
    ]);
  });

  it("the usage location is checked before it is saved: two letters, upper-cased; empty clears it", async () => {
    const l = new LicensesSetup(ipc, profile.id);
    await l.load();
    l.usageLocation = "Germany";
    expect(await l.saveUsageLocation()).toBe(false);
    expect(l.usageError).toContain("“Germany” is not a country code");
    expect(engine.callsOf("set_usage_location")).toHaveLength(0);

    l.usageLocation = " de ";
    expect(await l.saveUsageLocation()).toBe(true);
    expect(l.usageLocation).toBe("DE");
    expect(l.view?.usageLocation).toBe("DE");
    expect(l.usageSaved).toBe(true);

    l.usageLocation = "";
    await l.saveUsageLocation();
    expect(engine.callsOf("set_usage_location").map((c) => c.args.code)).toEqual(["DE", null]);
  });

  it("a code the engine refuses shows the engine's message under the field", async () => {
    engine.failNext.set("set_usage_location", { code: "invalid_input", message: '"XX" is not an ISO 3166 alpha-2 country code.' });
    const l = new LicensesSetup(ipc, profile.id);
    l.usageLocation = "XX";
    expect(await l.saveUsageLocation()).toBe(false);
    expect(l.usageError).toBe('"XX" is not an ISO 3166 alpha-2 country code.');
  });
});

describe("helpers", () => {
  it("checkUsageLocation", () => {
    expect(checkUsageLocation("us")).toEqual({ code: "US", error: null });
    expect(checkUsageLocation("")).toEqual({ code: null, error: null });
    expect(checkUsageLocation("U5").error).toContain("two letters of ISO 3166");
    expect(checkUsageLocation("USA").code).toBeNull();
  });

  it("seatPercent: used of bought, capped at 100", () => {
    expect(seatPercent({ enabled: 25, consumed: 20 })).toBe(80);
    expect(seatPercent({ enabled: 10, consumed: 12 })).toBe(100);
    expect(seatPercent({ enabled: 0, consumed: 0 })).toBe(0);
    expect(seatPercent({ enabled: 0, consumed: 1 })).toBe(100);
  });
});
