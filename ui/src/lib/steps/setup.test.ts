// The Groups, Licenses and Review steps rendered in the app frame against the fake engine: the test
// ids of docs/setup.md, what reaches the backend, a second apply with nothing to create, errors shown.
import { fireEvent, render, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "../../App.svelte";
import type { Profile, StepId } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine, sku } from "../../test/fake-engine";

let engine: FakeEngine;

beforeEach(() => {
  engine = installFakeEngine();
});
afterEach(() => clearMocks());

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);
const input = (id: string) => byTestId(id) as HTMLInputElement;
const button = (id: string) => byTestId(id) as HTMLButtonElement;
const text = (id: string) => byTestId(id)?.textContent?.replace(/\s+/g, " ").trim() ?? null;

async function open(step: StepId, partial: Partial<Profile> = {}) {
  const profile = engine.addProfile({ wizardStep: step, ...partial });
  engine.activeId = profile.id;
  render(App);
  await waitFor(() => expect(byTestId(`step-${step}`)).not.toBeNull());
  return profile;
}

describe("Groups step", () => {
  it("Plan previews, Apply creates with progress, and planning again shows both groups existing", async () => {
    engine.oktaGroups.push({ id: "00gG1", name: "O365Guest", members: 3 });
    await open("groups");
    expect(input("group-name-assignments").value).toBe("Office 365 Assignments");
    expect(input("group-name-guests").value).toBe("O365Guest");
    expect(button("groups-apply").disabled, "nothing to apply before a plan").toBe(true);

    await fireEvent.click(button("groups-plan"));
    await waitFor(() => expect(byTestId("group-row-assignments")).not.toBeNull());
    expect(byTestId("group-row-assignments")?.getAttribute("data-action")).toBe("create");
    expect(byTestId("group-row-guests")?.getAttribute("data-action")).toBe("exists");
    expect(text("group-id-guests")).toBe("00gG1");
    expect(text("group-members-guests")).toBe("3");
    expect(text("group-id-assignments")).toBe("—");
    expect(text("groups-summary")).toContain("Apply creates “Office 365 Assignments” in Okta.");
    expect(engine.oktaGroups, "a plan writes nothing").toHaveLength(1);

    const gate = deferred();
    engine.setupGate = gate.promise;
    await fireEvent.click(button("groups-apply"));
    await waitFor(() => expect(byTestId("progress")).not.toBeNull());
    expect(text("progress-step")).toContain("Creating Office 365 Assignments");
    gate.resolve();
    await waitFor(() => expect(byTestId("group-row-assignments")?.getAttribute("data-action")).toBe("exists"));
    expect(text("group-id-assignments")).toMatch(/^00g\d+$/);
    expect(text("group-members-assignments")).toBe("0");
    expect(text("groups-summary")).toContain("Created “Office 365 Assignments”.");

    engine.setupGate = null;
    await fireEvent.click(button("groups-plan"));
    await waitFor(() => expect(text("groups-summary")).toBe("Both groups exist: applying changes nothing."));
    await fireEvent.click(button("groups-apply"));
    await waitFor(() => expect(text("groups-summary")).toBe("Nothing was created: both groups existed already."));
    expect(engine.oktaGroups, "a second apply creates nothing").toHaveLength(2);
  });

  it("a renamed group is saved before the plan; a name used twice blocks Plan", async () => {
    const p = await open("groups");
    await fireEvent.input(input("group-name-guests"), { target: { value: "office 365 assignments" } });
    await waitFor(() => expect(text("group-name-guests-message")).toBe("The two roles need different groups."));
    expect(button("groups-plan").disabled).toBe(true);
    await fireEvent.input(input("group-name-guests"), { target: { value: "Partners" } });
    await fireEvent.click(button("groups-plan"));
    await waitFor(() => expect(byTestId("group-row-guests")).not.toBeNull());
    expect(engine.callsOf("set_group_names").map((c) => c.args)).toEqual([
      { profileId: p.id, groups: [{ role: "assignments", name: "Office 365 Assignments" }, { role: "guests", name: "Partners" }] },
    ]);
    expect(byTestId("group-row-guests")?.textContent).toContain("Partners");
  });

  it("an engine error is shown with its message", async () => {
    await open("groups", { okta: { orgUrl: "", auth: null, clientId: null, keyId: null, identitySourceId: null } });
    expect(document.body.textContent).toContain("Connect Okta first");
    await fireEvent.click(button("groups-plan"));
    await waitFor(() => expect(text("groups-error")).toBe("This profile has no Okta connection yet; save one on the Okta step."));
  });
});

describe("Licenses step", () => {
  const teams = { servicePlanId: "57ff2da0-773e-42df-b2af-ffb7a2317929", servicePlanName: "TEAMS1" };

  it("Refresh stores the SKUs: rows, seat bars, refresh time; assignments and disabled plans are saved", async () => {
    engine.tenantSkus = [
      sku("ENTERPRISEPACK", 25, 20, { productName: "Office 365 E3", servicePlans: [teams] }),
      sku("EXCHANGESTANDARD", 10, 10),
    ];
    const p = await open("licenses");
    await waitFor(() => expect(text("licenses-refreshed-at")).toBe("Never refreshed"));
    expect(byTestId("licenses-empty")).not.toBeNull();

    await fireEvent.click(button("licenses-refresh"));
    await waitFor(() => expect(byTestId("license-row-ENTERPRISEPACK")).not.toBeNull());
    expect(text("licenses-refreshed-at")).toMatch(/^Last refreshed .*2026/);
    expect(byTestId("license-row-ENTERPRISEPACK")?.textContent).toContain("Office 365 E3");
    expect(byTestId("license-row-EXCHANGESTANDARD")?.textContent, "no friendly name: the part number").toContain("EXCHANGESTANDARD");
    const bar = byTestId("license-bar-ENTERPRISEPACK")!;
    expect([bar.getAttribute("aria-valuenow"), bar.getAttribute("aria-valuemax")]).toEqual(["20", "25"]);
    expect(bar.getAttribute("aria-valuetext")).toBe("20 of 25 used · 5 available");
    expect((bar.firstElementChild as HTMLElement).style.width).toBe("80%");

    const id = engine.tenantSkus[0].skuId;
    await fireEvent.click(input("license-assign-assignments-ENTERPRISEPACK"));
    await waitFor(() => expect(input("license-assign-assignments-ENTERPRISEPACK").checked).toBe(true));
    expect(engine.callsOf("set_license_assignments")[0].args).toEqual({
      profileId: p.id,
      assignments: [{ role: "assignments", skuId: id, disabledPlans: [] }],
    });
    const plan = () => input("license-plan-assignments-ENTERPRISEPACK-TEAMS1");
    await waitFor(() => expect(plan()?.checked).toBe(true));
    await fireEvent.click(plan());
    await waitFor(() => expect(plan().checked).toBe(false));
    expect(engine.callsOf("set_license_assignments").at(-1)?.args.assignments).toEqual([
      { role: "assignments", skuId: id, disabledPlans: [teams.servicePlanId] },
    ]);
  });

  it("a group with more members than available seats shows a seat warning", async () => {
    engine.tenantSkus = [sku("SPE_E5", 10, 9)];
    engine.oktaGroups.push({ id: "00g1", name: "O365Guest", members: 4 });
    await open("licenses");
    await fireEvent.click(button("licenses-refresh"));
    await waitFor(() => expect(byTestId("license-assign-guests-SPE_E5")).not.toBeNull());
    expect(byTestId("seat-warning-SPE_E5")).toBeNull();
    await fireEvent.click(input("license-assign-guests-SPE_E5"));
    await waitFor(() => expect(text("seat-warning-SPE_E5")).toBe("O365Guest has 4 members but SPE_E5 has only 1 seats available."));
  });

  it("the usage location is validated: a wrong code shows a message and is not saved; a good one is", async () => {
    const p = await open("licenses");
    await waitFor(() => expect(text("licenses-refreshed-at")).toBe("Never refreshed"));
    await fireEvent.input(input("usage-location"), { target: { value: "Deutschland" } });
    await fireEvent.click(button("usage-location-save"));
    await waitFor(() => expect(text("usage-location-message")).toContain("is not a country code"));
    expect(input("usage-location").getAttribute("aria-invalid")).toBe("true");
    expect(engine.callsOf("set_usage_location")).toHaveLength(0);

    await fireEvent.input(input("usage-location"), { target: { value: "de" } });
    expect(byTestId("usage-location-message"), "typing clears the message").toBeNull();
    await fireEvent.click(button("usage-location-save"));
    await waitFor(() => expect(byTestId("usage-location-saved")).not.toBeNull());
    expect(input("usage-location").value).toBe("DE");
    expect(engine.callsOf("set_usage_location").map((c) => c.args)).toEqual([{ profileId: p.id, code: "DE" }]);
  });

  it("a failed refresh shows the engine's message", async () => {
    engine.failNext.set("sync_licenses", { code: "permission_denied", message: "Organization.Read.All is not granted to the app." });
    await open("licenses");
    await fireEvent.click(button("licenses-refresh"));
    await waitFor(() => expect(text("licenses-error")).toBe("Organization.Read.All is not granted to the app."));
  });
});

describe("Review step", () => {
  it("Run review shows the verdict, the items with their status, and the fix link opens the step", async () => {
    await open("review");
    expect(byTestId("review-ready")).toBeNull();
    await fireEvent.click(button("review-run"));
    await waitFor(() => expect(byTestId("review-ready")).not.toBeNull());
    expect(byTestId("review-ready")?.getAttribute("data-ready")).toBe("false");
    expect(byTestId("review-item-group-assignments")?.getAttribute("data-status")).toBe("missing");
    expect(byTestId("review-item-microsoft-connection")?.getAttribute("data-status")).toBe("ready");
    expect(byTestId("review-fix-microsoft-connection"), "a ready item has no fix link").toBeNull();
    expect(byTestId("review-permission-User.ReadWrite.All")?.getAttribute("data-granted")).toBe("true");
    expect(byTestId("review-scope-okta.users.read")).not.toBeNull();

    await fireEvent.click(button("review-fix-group-assignments"));
    await waitFor(() => expect(byTestId("step-groups")).not.toBeNull());
    await waitFor(() => expect(engine.profiles[0].wizardStep).toBe("groups"));
  });

  it("once everything is in place the review is ready, with seat warnings still listed", async () => {
    const p = engine.addProfile({ wizardStep: "review", operations: ["licenses"] });
    engine.activeId = p.id;
    engine.oktaGroups.push({ id: "00g1", name: "Office 365 Assignments", members: 9 }, { id: "00g2", name: "O365Guest", members: 0 });
    const state = engine.licenseState(p.id);
    state.licenses = [sku("ENTERPRISEPACK", 10, 5)];
    state.refreshedAt = "2026-03-01T10:05:00Z";
    state.assignments = [{ role: "assignments", skuId: state.licenses[0].skuId, disabledPlans: [] }];
    state.usageLocation = "US";
    render(App);
    await waitFor(() => expect(byTestId("review-run")).not.toBeNull());
    await fireEvent.click(button("review-run"));
    await waitFor(() => expect(byTestId("review-ready")?.getAttribute("data-ready")).toBe("true"));
    expect(text("review-ready")).toContain("Ready");
    expect(byTestId("review-item-seat-ENTERPRISEPACK")?.getAttribute("data-status")).toBe("warning");
    expect(byTestId("review-fix-seat-ENTERPRISEPACK")).not.toBeNull();
  });

  it("a failed review shows the engine's message", async () => {
    engine.failNext.set("review", { code: "internal", message: "The Okta org did not answer." });
    await open("review");
    await fireEvent.click(button("review-run"));
    await waitFor(() => expect(text("review-error")).toBe("The Okta org did not answer."));
  });
});
