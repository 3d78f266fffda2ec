// The Lifecycle, History (undo) and Licenses (seats chart) steps rendered in the app frame against
// the fake engine: the test ids of docs/licensing.md, the delay's conversion and validation, the
// manager-email preview of unsaved text, saving, the plan tables of the new change kinds, the
// pending license removals with cancel, run now and lateness, undo from the history, and the seats
// chart's series.
import { fireEvent, render, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../../App.svelte";
import type { Profile, StepId } from "../ipc";
import { FakeEngine, clearMocks, installFakeEngine } from "../../test/fake-engine";

let engine: FakeEngine;

beforeEach(() => {
  engine = installFakeEngine();
});
afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);
const input = (id: string) => byTestId(id) as HTMLInputElement;
const button = (id: string) => byTestId(id) as HTMLButtonElement;
const text = (id: string) => byTestId(id)?.textContent?.replace(/\s+/g, " ").trim() ?? null;
const attr = (id: string, name: string) => byTestId(id)?.getAttribute(name) ?? null;
const kinds = () => [...document.querySelectorAll('[data-testid^="run-change-"][data-kind]')].map((r) => r.getAttribute("data-kind"));

function seeded(step: StepId): Profile {
  const profile = engine.addProfile({ wizardStep: step });
  engine.activeId = profile.id;
  engine.runs.seed(profile);
  engine.lifecycle.seed(profile);
  return profile;
}

async function open(step: StepId, before: (p: Profile) => unknown = () => {}) {
  const profile = seeded(step);
  await before(profile);
  render(App);
  await waitFor(() => expect(byTestId(`step-${step}`)).not.toBeNull());
  return profile;
}

const login = (l: string) => engine.runs.oktaUsers.find((u) => u.login === l)!;

/** Plans and applies a deactivation for Ken (the seeded leaver) through the engine, as the app would. */
async function deactivateKen(p: Profile) {
  const plan = (await engine.handle("plan_run", { request: { profileId: p.id, operation: "deactivation", users: null, trigger: "manual" } })) as { runId: string; guard: { destructive: number } | null };
  await engine.handle("apply_run", { runId: plan.runId, confirmDestructive: plan.guard?.destructive ?? null, onProgress: { id: -1 } }).catch(() => undefined);
  return plan.runId;
}

describe("Lifecycle step", () => {
  it("sits after Provisioning on the rail and shows every control by its test id", async () => {
    await open("lifecycle");
    await waitFor(() => expect(byTestId("life-save")).not.toBeNull());
    const rail = [...document.querySelectorAll(".rail li")].map((li) => li.textContent ?? "");
    const prov = rail.findIndex((t) => t.includes("Provisioning"));
    expect(rail[prov + 1]).toContain("Lifecycle");
    expect(rail[prov + 1]).toContain("Leavers, returners, licenses");
    for (const id of ["life-delay-value", "life-delay-unit", "life-revoke", "life-sender", "life-template-stage", "life-subject", "life-body", "life-preview", "life-save"])
      expect(byTestId(id), id).not.toBeNull();
    for (const op of ["licenses", "deactivation", "activation"]) expect(byTestId(`run-plan-${op}`), op).not.toBeNull();
    await waitFor(() => expect(byTestId("stages-list")).not.toBeNull());
    expect(text("life-placeholders")).toContain("{{manager.firstName}}");
  });

  it("shows the delay as value and unit, converts it to seconds on save, and refuses 0 and more than 10 years", async () => {
    const p = await open("lifecycle");
    await waitFor(() => expect(input("life-delay-value").value).toBe("30"));
    expect((byTestId("life-delay-unit") as HTMLSelectElement).value).toBe("days");
    expect(text("life-delay-words")).toContain("30 days later");

    await fireEvent.input(input("life-delay-value"), { target: { value: "400" } });
    await waitFor(() => expect(text("life-delay-words")).toContain("400 days later"));
    await fireEvent.click(button("life-save"));
    await waitFor(() => expect(byTestId("life-saved")).not.toBeNull());
    expect(engine.lifecycle.settings(p.id).delaySecs, "400 days, not capped at 30").toBe(34_560_000);

    await fireEvent.input(input("life-delay-value"), { target: { value: "0" } });
    await waitFor(() => expect(text("life-delay-words")).toContain("at least 1 second"));
    expect(button("life-save").disabled).toBe(true);
    await fireEvent.input(input("life-delay-value"), { target: { value: "3651" } });
    await waitFor(() => expect(text("life-delay-words")).toContain("at most 10 years"));
    expect(button("life-save").disabled).toBe(true);

    await fireEvent.input(input("life-delay-value"), { target: { value: "90" } });
    await fireEvent.change(byTestId("life-delay-unit")!, { target: { value: "minutes" } });
    await waitFor(() => expect(text("life-delay-words")).toContain("90 minutes later"));
    await fireEvent.click(input("life-revoke"));
    await fireEvent.input(input("life-sender"), { target: { value: "" } });
    await fireEvent.click(button("life-save"));
    await waitFor(() => expect(engine.lifecycle.settings(p.id).delaySecs).toBe(5_400));
    expect(engine.lifecycle.settings(p.id).revokeSessions).toBe(false);
    expect(engine.lifecycle.settings(p.id).senderMailbox, "an empty sender sends no manager emails").toBeNull();
    await waitFor(() => expect(text("life-delay-words")).toContain("90 minutes"));
  });

  it("previews the unsaved template on the first member and says when nobody would be emailed", async () => {
    await open("lifecycle");
    await waitFor(() => expect(byTestId("life-subject")).not.toBeNull());
    await fireEvent.change(byTestId("life-template-stage")!, { target: { value: "activated" } });
    await waitFor(() => expect(input("life-subject").value).toContain("active again"));
    await fireEvent.input(input("life-subject"), { target: { value: "Welcome back, {{user.firstName}}" } });
    await fireEvent.input(byTestId("life-body")!, { target: { value: "Dear {{manager.displayName}}, {{user.displayName}} is back." } });
    await fireEvent.click(button("life-preview"));
    await waitFor(() => expect(text("life-preview-subject")).toBe("Welcome back, Ada"));
    expect(text("life-preview-to")).toBe("margaret.hamilton@example.com");
    expect(text("life-preview-body")).toBe("Dear Margaret Hamilton, Ada Lovelace is back.");
    expect(byTestId("life-preview-problem")).toBeNull();
    expect(engine.callsOf("preview_manager_email").at(-1)?.args.request).toMatchObject({ stage: "activated", oktaUserId: null, template: { subject: "Welcome back, {{user.firstName}}" } });

    delete login("ada.lovelace@example.com").profile.managerId;
    await fireEvent.click(button("life-preview"));
    await waitFor(() => expect(text("life-preview-problem")).toContain("No manager in Okta"));
    expect(text("life-preview-to")).toBe("nobody");
  });

  it("saving refuses an unknown placeholder with the engine's message, naming it", async () => {
    const p = await open("lifecycle");
    await waitFor(() => expect(byTestId("life-subject")).not.toBeNull());
    await fireEvent.input(byTestId("life-body")!, { target: { value: "Call {{user.phone}} now" } });
    await waitFor(() => expect(text("life-template-error")).toContain("{{user.phone}}"));
    await fireEvent.click(button("life-save"));
    await waitFor(() => expect(text("life-error")).toContain("Unknown placeholder {{user.phone}}"));
    expect(text("life-error")).toContain("{{user.displayName}}");
    expect(byTestId("life-saved")).toBeNull();
    expect(engine.lifecycle.settings(p.id).templates.disabled.body).not.toContain("user.phone");
  });

  it("plans licenses with the SKUs, disabled plans, usage location and the users left alone", async () => {
    await open("lifecycle");
    await fireEvent.click(button("run-plan-licenses"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    expect(kinds()).toEqual(["assignLicense", "setUsageLocation", "assignLicense"]);
    expect(text("run-change-1")).toContain("grace.hopper@example.com");
    expect(text("run-change-1")).toContain("+ ENTERPRISEPACK without TEAMS1");
    expect(text("run-change-2")).toMatch(/usageLocation: — → DE/);
    expect(text("run-skipped")).toContain("Licensed by the Entra group All Staff Licensing");
    expect(text("run-skipped")).toContain("No Microsoft account yet");
    expect(byTestId("run-guard")).toBeNull();
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("succeeded"));
  });

  it("deactivation plans disable, revoke, remember, email and schedule; applying it adds a pending removal", async () => {
    await open("lifecycle");
    await waitFor(() => expect(byTestId("stages-list")).not.toBeNull());
    expect(document.querySelectorAll('[data-testid^="stage-"][data-status="pending"]')).toHaveLength(1);
    await fireEvent.click(button("run-plan-deactivation"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    expect(kinds()).toEqual(["disableUser", "revokeSessions", "snapshotLicenses", "emailManager", "scheduleStage"]);
    expect(text("run-change-4")).toContain("To margaret.hamilton@example.com");
    expect(text("run-change-4")).toContain("Subject: Ken Thompson's Microsoft 365 account is disabled");
    expect(text("run-change-5")).toMatch(/Due .* \(after 30 days\)/);
    expect(text("run-guard"), "one leaver of 7 members is above the 5 % guard").toContain("1 accounts");
    await fireEvent.input(input("run-guard-confirm"), { target: { value: "1" } });
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("succeeded"));
    await waitFor(() => expect(document.querySelectorAll('[data-testid^="stage-"][data-status="pending"]')).toHaveLength(2));
    expect(engine.lifecycle.outbox.map((m) => m.to[0])).toEqual(["margaret.hamilton@example.com"]);
    const ken = engine.lifecycle.stages.find((s) => s.userLabel === "ken.thompson@example.com")!;
    expect(text(`stage-due-${ken.id}`)).toContain("in 30 days");
  });

  it("activation cancels the returner's pending removal, enables the account and gives the snapshot back", async () => {
    await open("lifecycle");
    await fireEvent.click(button("run-plan-activation"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    expect(kinds(), "Dennis still holds his licenses; Bjarne gets his back").toEqual(["cancelStage", "enableUser", "emailManager", "enableUser", "assignLicense", "emailManager"]);
    expect(text("run-change-5")).toContain("+ ENTERPRISEPACK without TEAMS1");
    expect(text("run-change-5")).toContain("As the user had them before");
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("succeeded"));
    await waitFor(() => expect(byTestId("stages-empty")).not.toBeNull());
  });

  it("lists pending removals with due times; Cancel and Run now act on one and the list follows", async () => {
    await open("lifecycle", (p) => deactivateKen(p));
    const dennis = engine.lifecycle.stages.find((s) => s.userLabel === "dennis.ritchie@example.com")!;
    const ken = engine.lifecycle.stages.find((s) => s.userLabel === "ken.thompson@example.com")!;
    await waitFor(() => expect(byTestId(`stage-${ken.id}`)).not.toBeNull());
    expect(text(`stage-due-${dennis.id}`)).toContain("in 3 days");
    expect(attr(`stage-${dennis.id}`, "data-late")).toBe("false");

    await fireEvent.click(button(`stage-cancel-${dennis.id}`));
    await waitFor(() => expect(byTestId(`stage-${dennis.id}`)).toBeNull());
    expect(engine.lifecycle.stages.find((s) => s.id === dennis.id)?.status).toBe("cancelled");

    await fireEvent.click(button(`stage-run-now-${ken.id}`));
    await waitFor(() => expect(byTestId("stages-empty")).not.toBeNull());
    expect(text("stages-last-run")).toContain("Succeeded, 2 of 2 done");
    const entra = engine.runs.links(ken.profileId).find((l) => l.oktaUserId === ken.oktaUserId)!.entraId;
    expect(engine.lifecycle.direct_(entra), "the direct licenses are removed").toEqual([]);
    expect(engine.lifecycle.outbox.at(-1)?.subject).toContain("licenses were removed");

    await fireEvent.click(input("stages-show-finished"));
    await waitFor(() => expect(attr(`stage-${ken.id}`, "data-status")).toBe("done"));
    expect(attr(`stage-${dennis.id}`, "data-status")).toBe("cancelled");
    expect(byTestId(`stage-cancel-${ken.id}`), "a finished stage has no buttons").toBeNull();
  });

  it("a pending removal past due shows how late it is", async () => {
    await open("lifecycle");
    const dennis = engine.lifecycle.stages[0];
    await waitFor(() => expect(byTestId(`stage-${dennis.id}`)).not.toBeNull());
    engine.lifecycle.advance(3 * 86_400 + 2 * 3_600);
    await fireEvent.click(input("stages-show-finished"));
    await waitFor(() => expect(attr(`stage-${dennis.id}`, "data-late")).toBe("true"));
    expect(text(`stage-due-${dennis.id}`)).toContain("2 h late");
  });

  it("the app runs stages that came due while it was closed at start, and reports them late", async () => {
    await open("lifecycle", async (p) => {
      await deactivateKen(p);
      engine.lifecycle.advance(30 * 86_400 + 5 * 3_600);
    });
    await waitFor(() => expect(text("stages-late")).toContain("ken.thompson@example.com's license removal ran 5 h late"));
    expect(engine.callsOf("run_due_stages")[0].args.profileId, "every profile").toBeNull();
    await fireEvent.click(input("stages-show-finished"));
    const ken = engine.lifecycle.stages.find((s) => s.userLabel === "ken.thompson@example.com")!;
    await waitFor(() => expect(attr(`stage-${ken.id}`, "data-status")).toBe("done"));
    expect(attr(`stage-${ken.id}`, "data-late")).toBe("true");
    expect(text(`stage-due-${ken.id}`)).toContain("ran 5 h late");
  });
});

describe("History undo", () => {
  it("plans the undo of a finished run, applies it, and links the two runs", async () => {
    let original = "";
    await open("history", async (p) => {
      const plan = (await engine.handle("plan_run", { request: { profileId: p.id, operation: "licenses", users: null, trigger: "manual" } })) as { runId: string };
      await engine.handle("apply_run", { runId: plan.runId, confirmDestructive: null, onProgress: { id: -1 } }).catch(() => undefined);
      original = plan.runId;
    });
    await waitFor(() => expect(byTestId(`history-run-${original}`)).not.toBeNull());
    await fireEvent.click(byTestId(`history-run-${original}`)!);
    await waitFor(() => expect(byTestId("history-undo")).not.toBeNull());
    await fireEvent.click(button("history-undo"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    expect(kinds(), "the licenses that run added, removed again, newest first").toEqual(["removeLicenses", "removeLicenses"]);
    expect(text("run-change-1")).toContain("− ENTERPRISEPACK");
    expect(text("run-skipped"), "the usage location had no value before").toContain("kept");
    expect(text("run-guard"), "removing licenses counts against the guard like any plan").toContain("2 accounts");
    await fireEvent.input(input("run-guard-confirm"), { target: { value: "2" } });
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("succeeded"));
    expect(engine.callsOf("apply_run").at(-1)?.args.confirmDestructive).toBe(2);
    const undo = engine.runs.runs.find((r) => r.summary.undoOf === original)!;
    await waitFor(() => expect(attr(`history-run-${undo.summary.runId}`, "data-undo-of")).toBe(original));
    expect(text(`history-run-${original}`)).toContain(`undone by ${undo.summary.runId.slice(0, 8)}`);
    await waitFor(() => expect(byTestId("history-undo"), "an undone run cannot be undone again").toBeNull());
    expect(text("history-undone-by")).toContain(undo.summary.runId.slice(0, 8));
  });

  it("offers no undo on a run that is only planned or is itself an undo", async () => {
    let planned = "";
    await open("history", async (p) => {
      const plan = (await engine.handle("plan_run", { request: { profileId: p.id, operation: "licenses", users: null, trigger: "manual" } })) as { runId: string };
      planned = plan.runId;
    });
    await waitFor(() => expect(byTestId(`history-run-${planned}`)).not.toBeNull());
    await fireEvent.click(byTestId(`history-run-${planned}`)!);
    await waitFor(() => expect(byTestId("history-detail")).not.toBeNull());
    expect(byTestId("history-undo")).toBeNull();
  });
});

describe("Licenses step seats chart", () => {
  it("draws one used series per SKU with its bought line, a legend and a table", async () => {
    await open("licenses");
    await waitFor(() => expect(byTestId("seats-chart")).not.toBeNull());
    for (const sku of ["ENTERPRISEPACK", "EXCHANGESTANDARD", "SPE_E5"]) {
      expect(byTestId(`seats-series-${sku}`), sku).not.toBeNull();
      expect(byTestId(`seats-bought-${sku}`), sku).not.toBeNull();
      expect(attr(`seats-series-${sku}`, "points")?.split(" ").length, "one vertex per stored point").toBe(7);
    }
    expect(text("seats-legend")).toContain("Office 365 E3");
    expect(text("seats-legend")).toContain("20 of 25 used");
    expect(byTestId("seats-table")?.querySelectorAll("tbody tr")).toHaveLength(21);
    expect(engine.callsOf("seat_history")[0].args).toMatchObject({ days: 90 });
  });

  it("says when there is no history yet", async () => {
    const profile = engine.addProfile({ wizardStep: "licenses" });
    engine.activeId = profile.id;
    render(App);
    await waitFor(() => expect(byTestId("seats-chart-empty")).not.toBeNull());
    expect(byTestId("seats-chart")).toBeNull();
  });
});
