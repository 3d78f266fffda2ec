// The Provisioning and History steps rendered in the app frame against the fake engine: the test ids
// of docs/provisioning.md, the preview's problem rows, the plan table, the guard's confirmation, the
// live steps of an apply, the triggers, the test run, and the history's filters, timeline, export
// and delete.
import { fireEvent, render, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../../App.svelte";
import type { StepId } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";

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
/** A Blob's text (jsdom's Blob has no text()). */
const blobText = (blob: Blob) =>
  new Promise<string>((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.readAsText(blob);
  });

async function open(step: StepId) {
  const profile = engine.addProfile({ wizardStep: step });
  engine.activeId = profile.id;
  engine.runs.seed(profile);
  render(App);
  await waitFor(() => expect(byTestId(`step-${step}`)).not.toBeNull());
  return profile;
}

describe("Provisioning step", () => {
  it("is available on the rail and shows every settings control by its test id", async () => {
    await open("provisioning");
    await waitFor(() => expect(byTestId("prov-preview")).not.toBeNull());
    for (const id of ["prov-username-format", "prov-username-domain", "prov-guest-redirect", "prov-guest-send", "prov-guard-users", "prov-guard-percent", "prov-poll-interval", "prov-save", "triggers-toggle", "triggers-last-poll", "test-run-user", "test-run-create-user", "test-run-start"])
      expect(byTestId(id), id).not.toBeNull();
    for (const op of ["memberAccounts", "profileSync", "guests"]) expect(byTestId(`run-plan-${op}`), op).not.toBeNull();
    for (const graph of ["givenName", "surname", "jobTitle", "usageLocation"]) expect(byTestId(`prov-attr-${graph}`), graph).not.toBeNull();
    expect(document.querySelector(".rail")?.textContent, "no step but Imports says Soon").not.toMatch(/Provisioning\s*Soon/);
  });

  it("the preview marks problem rows and follows the username format and domain", async () => {
    const p = await open("provisioning");
    await waitFor(() => expect(byTestId("prov-preview-row-ada.lovelace@example.com")).not.toBeNull());
    expect(attr("prov-preview-row-ada.lovelace@example.com", "data-problem")).toBe("false");
    expect(text("prov-preview-row-ada.lovelace@example.com")).toContain("ada.lovelace@contoso.com");
    expect(attr("prov-preview-row-edsger.dijkstra@example.com", "data-problem")).toBe("true");
    expect(text("prov-preview-row-edsger.dijkstra@example.com")).toContain("has no email in Okta");

    await fireEvent.change(byTestId("prov-username-domain")!, { target: { value: "contoso.onmicrosoft.com" } });
    await waitFor(() => expect(text("prov-preview-row-ada.lovelace@example.com")).toContain("ada.lovelace@contoso.onmicrosoft.com"));

    await fireEvent.change(byTestId("prov-username-format")!, { target: { value: "email" } });
    await waitFor(() => expect(attr("prov-preview-row-ada.lovelace@example.com", "data-problem")).toBe("true"));
    expect(text("prov-preview-row-ada.lovelace@example.com")).toContain("example.com is not verified");
    expect(byTestId("prov-username-domain"), "no domain to choose for the email as is").toBeNull();

    await fireEvent.change(byTestId("prov-username-format")!, { target: { value: "emailLocalPart" } });
    await fireEvent.input(input("prov-poll-interval"), { target: { value: "120" } });
    await fireEvent.click(input("prov-guest-send"));
    await fireEvent.click(button("prov-attr-add"));
    await waitFor(() => expect(button("prov-save").disabled, "a mapping row without an Okta attribute blocks Save").toBe(true));
    const rows = document.querySelectorAll('[data-testid^="prov-attr-"] input');
    await fireEvent.input(rows[rows.length - 1], { target: { value: "officeName" } });
    await fireEvent.click(button("prov-save"));
    await waitFor(() => expect(byTestId("prov-saved")).not.toBeNull());
    const saved = engine.runs.settings(p.id);
    expect(saved.username).toEqual({ kind: "emailLocalPart", domain: "contoso.onmicrosoft.com" });
    expect(saved.pollIntervalSecs).toBe(120);
    expect(saved.guestSendInvitation).toBe(false);
    expect(saved.attributes.at(-1)).toEqual({ okta: "officeName", graph: "officeLocation" });
  });

  it("Plan shows the plan table; Apply shows each step live, then the result", async () => {
    await open("provisioning");
    await waitFor(() => expect(byTestId("prov-preview")).not.toBeNull());
    await fireEvent.click(button("run-plan-memberAccounts"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    expect(attr("run-change-1", "data-kind")).toBe("createUser");
    expect(text("run-change-1")).toContain("ada.lovelace@example.com");
    expect(text("run-change-1")).toMatch(/jobTitle: — → Chief Analyst/);
    expect(attr("run-change-5", "data-kind")).toBe("linkUser");
    expect(text("run-skipped")).toContain("edsger.dijkstra@example.com");
    expect(byTestId("run-guard"), "creating accounts is not destructive").toBeNull();

    engine.runs.failures.set("alan.turing@example.com", { httpStatus: 400, vendorCode: "Request_BadRequest", vendorMessage: "Invalid value specified for property 'mailNickname'.", fix: "Rename the Okta login." });
    const gate = deferred();
    engine.runs.applyGate = gate.promise;
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-step-1", "data-status")).toBe("done"));
    expect(attr("run-step-2", "data-status"), "the next step shows as being written").toBe("started");
    expect(attr("run-step-3", "data-status")).toBe("pending");
    expect(text("progress-step")).toContain("Done: Create the Microsoft account for ada.lovelace@example.com");
    gate.resolve();
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("partial"));
    expect([1, 2, 3, 4, 5].map((n) => attr(`run-step-${n}`, "data-status"))).toEqual(["done", "done", "failed", "done", "done"]);
    expect(text("run-step-3")).toContain("Request_BadRequest");
    expect(text("run-step-3")).toContain("Rename the Okta login.");
    expect(text("run-result")).toContain("4 of 5 done, 1 failed");
    expect(byTestId("run-apply"), "an applied plan cannot be applied again").toBeNull();
  });

  it("a plan stopped by the guard applies only after its count is typed", async () => {
    await open("provisioning");
    await fireEvent.click(button("run-plan-guests"));
    await waitFor(() => expect(byTestId("run-guard")).not.toBeNull());
    expect(text("run-guard")).toContain("deletes or disables 4 accounts");
    expect(attr("run-change-3", "data-kind")).toBe("deleteUser");
    expect(button("run-apply").disabled).toBe(true);
    await fireEvent.input(input("run-guard-confirm"), { target: { value: "5" } });
    expect(button("run-apply").disabled).toBe(true);
    await fireEvent.input(input("run-guard-confirm"), { target: { value: "4" } });
    await waitFor(() => expect(button("run-apply").disabled).toBe(false));
    await fireEvent.click(button("run-apply"));
    await waitFor(() => expect(attr("run-result", "data-status")).toBe("succeeded"));
    expect(engine.callsOf("apply_run")[0].args.confirmDestructive).toBe(4);
    expect([3, 4, 5, 6].map((n) => attr(`run-step-${n}`, "data-status"))).toEqual(["done", "done", "done", "done"]);
  });

  it("planning another operation replaces the shown plan, so each test id is on the page once", async () => {
    await open("provisioning");
    await fireEvent.click(button("run-plan-memberAccounts"));
    await waitFor(() => expect(byTestId("run-plan")).not.toBeNull());
    await fireEvent.click(button("run-plan-guests"));
    await waitFor(() => expect(byTestId("run-guard")).not.toBeNull());
    expect(document.querySelectorAll('[data-testid="run-plan"]')).toHaveLength(1);
    expect(attr("run-change-1", "data-kind")).toBe("inviteGuest");
  });

  it("the triggers toggle polls the System Log and shows the last poll and the runs it started", async () => {
    await open("provisioning");
    await waitFor(() => expect(text("triggers-last-poll")).toBe("Not polled yet."));
    const joiner = engine.runs.addOktaUser({ login: "joiner@example.com", email: "joiner@example.com", profile: { firstName: "Jo", lastName: "Iner", countryCode: "US" }, groups: ["Office 365 Assignments"] });
    engine.runs.logEvents.push({ eventType: "group.user_membership.add", oktaUserId: joiner.id, group: "Office 365 Assignments" });
    await fireEvent.click(input("triggers-toggle"));
    await waitFor(() => expect(text("triggers-last-poll")).toMatch(/^Last poll .* · 1 event since on$/));
    expect(input("triggers-toggle").checked).toBe(true);
    expect(byTestId("triggers-runs")?.textContent).toContain("System Log");
    const lastPoll = text("triggers-last-poll");

    // The triggers belong to the app: another step and back, they are still on.
    await fireEvent.click(button("rail-step-history"));
    await waitFor(() => expect(byTestId("step-history")).not.toBeNull());
    await fireEvent.click(button("rail-step-provisioning"));
    await waitFor(() => expect(byTestId("triggers-toggle")).not.toBeNull());
    expect(input("triggers-toggle").checked).toBe(true);
    expect(text("triggers-last-poll")).toBe(lastPoll);
    expect(engine.callsOf("poll_system_log"), "coming back does not poll again").toHaveLength(1);

    await fireEvent.click(input("triggers-toggle"));
    expect(input("triggers-toggle").checked).toBe(false);
  });

  it("Reconcile now lists the runs it started; one stopped by the guard says how to go on", async () => {
    await open("provisioning");
    await fireEvent.click(button("triggers-reconcile"));
    await waitFor(() => expect(text("triggers-reconciled")).toBe("Reconcile started 3 runs."));
    const stopped = engine.runs.runs.find((r) => r.summary.operation === "guests")!.summary;
    expect(attr(`triggers-run-${stopped.runId}`, "data-status")).toBe("planned");
    expect(text(`triggers-run-${stopped.runId}`)).toContain("Stopped by the guard");
    expect(text("triggers-guard-hint")).toContain("type the count");
  });

  it("the test run: a throwaway user, its steps, the read-back, then Clean up", async () => {
    await open("provisioning");
    expect(button("test-run-start").disabled, "no user chosen yet").toBe(true);
    await fireEvent.click(input("test-run-create-user"));
    await fireEvent.click(button("test-run-start"));
    await waitFor(() => expect(byTestId("test-run-readback")).not.toBeNull());
    expect(byTestId("test-run-steps")?.querySelector('[data-testid="test-run-step-1"]')?.getAttribute("data-status")).toBe("done");
    expect(text("test-run-readback")).toContain('"userPrincipalName": "okta365-test-1@contoso.com"');
    await fireEvent.click(button("test-run-cleanup"));
    await waitFor(() => expect(button("test-run-cleanup").disabled).toBe(true));
    expect(engine.callsOf("cleanup_test_user")).toHaveLength(1);
  });

  it("an engine error is shown with its message", async () => {
    engine.failNext.set("plan_run", { code: "permission_denied", message: "User.ReadWrite.All is not granted to the app." });
    await open("provisioning");
    await fireEvent.click(button("run-plan-memberAccounts"));
    await waitFor(() => expect(text("run-error")).toBe("User.ReadWrite.All is not granted to the app."));
  });
});

describe("History step", () => {
  async function withRuns() {
    const p = engine.addProfile({ wizardStep: "history" });
    engine.activeId = p.id;
    engine.runs.seed(p);
    engine.runs.failures.set("grace.hopper@example.com", { httpStatus: 403, vendorCode: "Authorization_RequestDenied", vendorMessage: "Insufficient privileges to complete the operation.", fix: "Grant User.ReadWrite.All to the app." });
    await engine.handle("reconcile", { profileId: p.id, operation: null });
    render(App);
    await waitFor(() => expect(byTestId("history-list")?.querySelectorAll("tbody tr").length).toBe(3));
    return engine.runs.runs;
  }

  it("lists the runs with status and operation, filtered by operation, status and user", async () => {
    const runs = await withRuns();
    const members = runs.find((r) => r.summary.operation === "memberAccounts")!.summary;
    expect(attr(`history-run-${members.runId}`, "data-status")).toBe("partial");
    expect(attr(`history-run-${members.runId}`, "data-operation")).toBe("memberAccounts");
    expect(text(`history-run-${members.runId}`)).toContain("Reconcile");

    await fireEvent.change(byTestId("history-filter-operation")!, { target: { value: "guests" } });
    await waitFor(() => expect(byTestId("history-list")?.querySelectorAll("tbody tr").length).toBe(1));
    expect(document.querySelector('[data-testid^="history-run-"]')?.getAttribute("data-operation")).toBe("guests");

    await fireEvent.change(byTestId("history-filter-operation")!, { target: { value: "" } });
    await fireEvent.change(byTestId("history-filter-status")!, { target: { value: "partial" } });
    await waitFor(() => expect(byTestId("history-list")?.querySelectorAll("tbody tr").length).toBe(1));
    expect(byTestId(`history-run-${members.runId}`)).not.toBeNull();

    await fireEvent.change(byTestId("history-filter-status")!, { target: { value: "" } });
    await fireEvent.input(input("history-filter-user"), { target: { value: "former3" } });
    await waitFor(() => expect(engine.callsOf("list_runs").at(-1)?.args.filter).toMatchObject({ user: "former3" }));
    await waitFor(() => expect(byTestId("history-list")?.querySelectorAll("tbody tr").length).toBe(1));
  });

  it("a run opens as its timeline; a failed step shows the vendor code, message, request id and fix", async () => {
    const runs = await withRuns();
    const members = runs.find((r) => r.summary.operation === "memberAccounts")!;
    await fireEvent.click(byTestId(`history-run-${members.summary.runId}`)!);
    await waitFor(() => expect(byTestId("history-step-1")).not.toBeNull());
    expect(attr("history-step-1", "data-status")).toBe("done");
    expect(text("history-step-1")).toContain("POST /v1.0/users");
    expect(text("history-step-1"), "the initial password is never shown").not.toMatch(/password"\s*:/i);
    expect(attr("history-step-2", "data-status")).toBe("failed");
    expect(text("history-step-2")).toContain("Authorization_RequestDenied");
    expect(text("history-step-2")).toContain("Insufficient privileges to complete the operation.");
    expect(text("history-step-2")).toContain("Grant User.ReadWrite.All to the app.");
    expect(text("history-step-2")).toContain(members.steps[1].requestId!);
    expect(attr("history-step-6", "data-status")).toBe("skipped");
  });

  it("exports JSON and CSV through a Blob link, and deletes only after a confirmation", async () => {
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return "blob:run";
    }) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    const runs = await withRuns();
    const guests = runs.find((r) => r.summary.operation === "guests")!.summary;
    await fireEvent.click(byTestId(`history-run-${guests.runId}`)!);
    await waitFor(() => expect(byTestId("history-export-json")).not.toBeNull());

    await fireEvent.click(button("history-export-json"));
    await waitFor(() => expect(clicked).toEqual([`okta365-run-guests-${guests.runId}.json`]));
    expect(JSON.parse(await blobText(created[0])).summary.runId).toBe(guests.runId);
    await fireEvent.click(button("history-export-csv"));
    await waitFor(() => expect(clicked).toHaveLength(2));
    expect(created[1].type).toBe("text/csv");
    expect((await blobText(created[1])).split("\n")[0]).toMatch(/^seq,user,kind,target,status/);
    expect(text("history-exported")).toContain(".csv");

    await fireEvent.click(button("history-delete"));
    await waitFor(() => expect(byTestId("history-delete-confirm")).not.toBeNull());
    expect(engine.callsOf("delete_run")).toHaveLength(0);
    await fireEvent.click(button("history-delete"));
    await waitFor(() => expect(byTestId(`history-run-${guests.runId}`)).toBeNull());
    expect(engine.callsOf("delete_run").map((c) => c.args)).toEqual([{ runId: guests.runId }]);
    expect(byTestId("history-detail")).toBeNull();
  });

  it("an interrupted run offers Resume, which finishes it", async () => {
    const p = engine.addProfile({ wizardStep: "history" });
    engine.activeId = p.id;
    engine.runs.seed(p);
    const plan = (await engine.handle("plan_run", { request: { profileId: p.id, operation: "memberAccounts", users: null, trigger: "manual" } })) as { runId: string };
    engine.runs.runs[0].summary.status = "interrupted";
    render(App);
    await waitFor(() => expect(attr(`history-run-${plan.runId}`, "data-status")).toBe("interrupted"));
    await fireEvent.click(button("history-resume"));
    await waitFor(() => expect(attr(`history-run-${plan.runId}`, "data-status")).toBe("succeeded"));
    expect(engine.callsOf("resume_runs")).toHaveLength(1);
    expect(byTestId("history-resume"), "nothing left to resume").toBeNull();
  });
});
