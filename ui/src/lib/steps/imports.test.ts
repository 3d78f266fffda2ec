// The Imports step rendered in the app frame against the fake engine (docs/imports.md, "App and
// test ids"): the source preview, suggestions edited and saved, the mapped preview with a reject and
// its reason, a plan stopped by rejects, a plan over the deactivation guard confirmed and applied
// with records uploaded, session status and result, and the past imports with their chart.
import { fireEvent, render, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import App from "../../App.svelte";
import type { ImportMapping, Profile, Progress, SourceSpec } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { suggestMapping, HR_COLUMNS } from "../../test/fake-imports";
import { readProgress } from "../state/imports.svelte";

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
const select = (id: string) => byTestId(id)?.querySelector("select.column") as HTMLSelectElement;
const text = (id: string) => byTestId(id)?.textContent?.replace(/\s+/g, " ").trim() ?? null;
const attr = (id: string, name: string) => byTestId(id)?.getAttribute(name) ?? null;
const blobText = (blob: Blob) =>
  new Promise<string>((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.readAsText(blob);
  });

const CSV = "/home/admin/hr-export.csv";
const csv: SourceSpec = { kind: "csv", path: CSV, delimiter: null };

function profile(): Profile {
  const p = engine.addProfile({ wizardStep: "imports" });
  p.okta.identitySourceId = "0oa1hrsource";
  engine.activeId = p.id;
  return p;
}

async function open(before: (p: Profile) => unknown = () => {}): Promise<Profile> {
  const p = profile();
  await before(p);
  render(App);
  await waitFor(() => expect(byTestId("step-imports")).not.toBeNull());
  await waitFor(() => expect(engine.callsOf("import_mapping").length).toBeGreaterThan(0));
  return p;
}

/** Saves the suggested mapping of the HR CSV as "hr" (what a test plans from). */
function saveHr(p: Profile, edit: (m: ImportMapping) => void = () => {}): void {
  const mapping = suggestMapping(HR_COLUMNS);
  edit(mapping);
  engine.imports.saveMapping(p.id, "hr", csv, mapping);
}

describe("Imports step", () => {
  it("is available on the rail and previews a CSV source's columns and first rows", async () => {
    await open();
    const rail = [...document.querySelectorAll(".rail li")].map((li) => li.textContent ?? "");
    const imports = rail.find((t) => t.includes("Imports"))!;
    expect(imports).not.toContain("Soon");
    expect((byTestId("import-source-kind") as HTMLSelectElement).value).toBe("csv");
    expect(button("import-preview").disabled, "no path yet").toBe(true);

    await fireEvent.input(input("import-csv-path"), { target: { value: CSV } });
    await fireEvent.click(button("import-preview"));
    await waitFor(() => expect(byTestId("import-columns")).not.toBeNull());
    expect([...byTestId("import-columns")!.querySelectorAll("li")].map((li) => li.textContent)).toEqual(HR_COLUMNS);
    expect(text("import-preview-row-0")).toContain("E1001");
    expect(text("import-preview-row-0")).toContain("Ada");
    expect(byTestId("import-preview-row-19")).not.toBeNull();
    expect(byTestId("import-preview-row-20"), "the first 20 rows").toBeNull();
    expect(engine.callsOf("preview_source")[0].args).toMatchObject({ source: csv });

    // HTTP: the pointer and next field travel as the contract names them; a wrong pointer says what to fix.
    await fireEvent.change(byTestId("import-source-kind")!, { target: { value: "http" } });
    expect(byTestId("import-columns"), "the old preview is gone").toBeNull();
    await fireEvent.input(input("import-http-url"), { target: { value: "http://127.0.0.1:41234/_sandbox/hr/users" } });
    await fireEvent.input(input("import-http-pointer"), { target: { value: "/records" } });
    await fireEvent.click(button("import-preview"));
    await waitFor(() => expect(text("import-error")).toContain("set the records pointer"));
    await fireEvent.input(input("import-http-pointer"), { target: { value: "/data" } });
    await fireEvent.input(input("import-http-next"), { target: { value: "/next" } });
    await fireEvent.click(button("import-preview"));
    await waitFor(() => expect(byTestId("import-columns")).not.toBeNull());
    expect(engine.callsOf("preview_source").at(-1)?.args.source).toEqual({
      kind: "http",
      url: "http://127.0.0.1:41234/_sandbox/hr/users",
      recordsPointer: "/data",
      nextField: "/next",
      authHeader: null,
    });
  });

  it("keeps an HTTP source's auth header value in the keychain under the source name, never in the page", async () => {
    await open();
    const KEY = "Bearer hr-5ecret-77a1";
    await fireEvent.change(byTestId("import-source-kind")!, { target: { value: "http" } });
    await fireEvent.input(input("import-http-url"), { target: { value: "http://127.0.0.1:41234/_sandbox/hr/users" } });
    await fireEvent.input(input("import-http-pointer"), { target: { value: "/data" } });
    expect(byTestId("import-http-auth-value"), "no header, no value field").toBeNull();
    await fireEvent.input(input("import-http-auth"), { target: { value: "Authorization" } });
    expect(input("import-http-auth-value").type).toBe("password");
    expect(button("import-http-auth-save").disabled, "nothing typed yet").toBe(true);

    await fireEvent.click(button("import-preview"));
    await waitFor(() => expect(text("import-error")).toContain("no value is saved"));
    expect(engine.callsOf("preview_source").at(-1)?.args.sourceName).toBe("hr");

    await fireEvent.input(input("import-http-auth-value"), { target: { value: KEY } });
    await fireEvent.click(button("import-http-auth-save"));
    await waitFor(() => expect(byTestId("import-http-auth-saved")).not.toBeNull());
    expect(engine.callsOf("set_import_source_secret").at(-1)?.args).toMatchObject({ sourceName: "hr", value: KEY });
    expect(input("import-http-auth-value").value, "the typed value is cleared once saved").toBe("");
    expect(document.body.innerHTML).not.toContain("hr-5ecret");

    await fireEvent.click(button("import-preview"));
    await waitFor(() => expect(byTestId("import-columns")).not.toBeNull());
    expect(engine.callsOf("preview_source").at(-1)?.args).toMatchObject({ sourceName: "hr", source: { authHeader: "Authorization" } });

    await fireEvent.click(button("import-http-auth-forget"));
    await waitFor(() => expect(byTestId("import-http-auth-saved")).toBeNull());
    expect(engine.callsOf("set_import_source_secret").at(-1)?.args).toMatchObject({ sourceName: "hr", value: null });
    expect(byTestId("import-columns"), "the preview read with the forgotten value is gone").toBeNull();
  });

  it("suggests a mapping, takes edits with transforms and saves it under the source name", async () => {
    const p = await open();
    await fireEvent.input(input("import-csv-path"), { target: { value: CSV } });
    await fireEvent.click(button("import-suggest"));
    await waitFor(() => expect(select("import-map-email").value).toBe("email"));
    expect(select("import-external-id").value).toBe("id");
    expect(select("import-map-userName").value, "email doubles as userName without a username column").toBe("email");
    expect(select("import-map-firstName").value).toBe("first_name");
    expect(select("import-map-mobilePhone").value).toBe("cell");
    expect(select("import-map-primaryPhone").value).toBe("phone");
    expect(select("import-map-zipCode").value).toBe("postcode");
    expect(attr("import-map-streetAddress", "data-kind"), "street_number + street_name").toBe("concat");
    expect((byTestId("import-map-streetAddress-column2") as HTMLSelectElement).value).toBe("street_name");
    expect((byTestId("import-active-column") as HTMLSelectElement).value).toBe("active");
    await waitFor(() => expect(byTestId("import-mapped-row-0")).not.toBeNull());

    // userName: the part of the email before "@", lower case is its own rule; displayName: first + last.
    await fireEvent.change(byTestId("import-map-userName-kind")!, { target: { value: "beforeAt" } });
    await fireEvent.change(byTestId("import-map-displayName-kind")!, { target: { value: "concat" } });
    await fireEvent.change(select("import-map-displayName"), { target: { value: "first_name" } });
    await fireEvent.change(byTestId("import-map-displayName-column2")!, { target: { value: "last_name" } });
    await fireEvent.change(byTestId("import-map-countryCode-kind")!, { target: { value: "constant" } });
    await fireEvent.input(input("import-map-countryCode-value"), { target: { value: "DE" } });
    await fireEvent.change(select("import-map-title"), { target: { value: "" } });
    expect(attr("import-map-title", "data-kind"), "no column: not mapped").toBe("none");

    await waitFor(() => expect(text("import-mapped-row-0")).toContain("Ada Lovelace"));
    expect(text("import-mapped-row-0")).toContain("ada.lovelace1");
    expect(text("import-mapped-row-0")).not.toContain("ada.lovelace1@example.com ada.lovelace1@example.com");

    await fireEvent.input(input("import-source-name"), { target: { value: "hr-csv" } });
    await fireEvent.click(button("import-mapping-save"));
    await waitFor(() => expect(byTestId("import-mapping-saved")).not.toBeNull());
    const saved = engine.imports.savedMapping(p.id, "hr-csv")!;
    expect(saved.source).toEqual(csv);
    const rule = (a: string) => saved.mapping.attributes.find((r) => r.attribute === a)?.value;
    expect(saved.mapping.externalId).toEqual({ kind: "column", column: "id" });
    expect(rule("userName")).toEqual({ kind: "beforeAt", of: { kind: "column", column: "email" } });
    expect(rule("displayName")).toEqual({ kind: "concat", parts: [{ kind: "column", column: "first_name" }, { kind: "column", column: "last_name" }], separator: " " });
    expect(rule("countryCode")).toEqual({ kind: "constant", value: "DE" });
    expect(rule("title"), "unmapped rows are left out").toBeUndefined();
    expect(saved.mapping.active).toMatchObject({ column: "active", active: expect.arrayContaining(["true", "yes"]), inactive: expect.arrayContaining(["terminated"]) });

    // An edit after saving is not saved until Save again.
    await fireEvent.change(select("import-map-title"), { target: { value: "title" } });
    await waitFor(() => expect(byTestId("import-mapping-saved")).toBeNull());
  });

  it("loads the saved mapping of the last imported source and shows a reject with its reason", async () => {
    await open((p) => {
      engine.imports.seed(p);
      saveHr(p);
    });
    await waitFor(() => expect(byTestId("import-mapped-row-4")).not.toBeNull());
    expect(input("import-csv-path").value).toBe(CSV);
    expect(input("import-source-name").value).toBe("hr");
    expect(attr("import-mapped-row-0", "data-reject")).toBe("false");
    expect(attr("import-mapped-row-4", "data-reject"), "record 5 has no @ in its email").toBe("true");
    expect(text("import-mapped-reject-4")).toContain('email "margaret.allen.example.com" is not an address');
    expect(text("import-mapped-summary")).toContain("1 reject");
    expect(text("import-mapped-row-11"), "every 12th record is inactive").toContain("no");

    // A record whose active value is in neither list is a reject naming the value.
    await fireEvent.input(input("import-inactive-values"), { target: { value: "terminated" } });
    await waitFor(() => expect(attr("import-mapped-row-11", "data-reject")).toBe("true"));
    expect(text("import-mapped-reject-11")).toContain('active "false" is neither active');

    // Without userName the mapping is incomplete: no preview call, Save disabled.
    const calls = engine.callsOf("preview_mapping").length;
    await fireEvent.change(select("import-map-userName"), { target: { value: "" } });
    await waitFor(() => expect(text("import-mapping-incomplete")).toContain("Map userName"));
    expect(button("import-mapping-save").disabled).toBe(true);
    expect(engine.callsOf("preview_mapping")).toHaveLength(calls);
  });

  it("stops the plan when rejects pass the limit, lists them, exports them as CSV and offers no apply", async () => {
    const created: Blob[] = [];
    URL.createObjectURL = vi.fn((blob: Blob) => {
      created.push(blob);
      return "blob:rejects";
    }) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    const clicked: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push(this.download);
    });
    engine.imports.hr[9].email = "";
    engine.imports.hr[20].id = "E1001";
    const p = await open((p) => saveHr(p));
    await waitFor(() => expect(button("import-plan").disabled).toBe(false));
    await fireEvent.click(button("import-plan"));
    await waitFor(() => expect(byTestId("import-plan-counts")).not.toBeNull());
    expect(attr("import-plan-counts", "data-rejected")).toBe("3");
    expect(attr("import-plan-counts", "data-records")).toBe("100");
    expect(text("import-stopped")).toContain("3 of 100 records are rejects, more than 1 %");
    expect(byTestId("import-apply"), "a stopped plan has no apply").toBeNull();
    expect(byTestId("import-guard-confirm")).toBeNull();
    expect(text("import-rejects"), "the email is the userName too").toContain("userName is empty");
    expect(text("import-reject-22")).toContain("externalId E1001 was already used by the record at 2");
    expect(engine.callsOf("plan_import")[0].args.request).toEqual({
      profileId: expect.any(String),
      sourceName: "hr",
      delta: true,
      fullResync: false,
      maxRejectPercent: 1,
      maxDeactivations: 10,
    });

    await fireEvent.click(button("import-rejects-export"));
    await waitFor(() => expect(clicked).toHaveLength(1));
    expect(clicked[0]).toMatch(/^okta365-import-rejects-hr-.+\.csv$/);
    const csvText = await blobText(created[0]);
    expect(created[0].type).toBe("text/csv");
    expect(csvText.split("\n")[0]).toBe("position,externalId,reason");
    expect(csvText).toContain("11,E1010,userName is empty");

    // The engine refuses too, with the count, and uploads nothing.
    const [stopped] = (await engine.handle("list_imports", { profileId: p.id })) as Array<{ importId: string; status: string }>;
    expect(stopped.status).toBe("planned");
    await expect(engine.handle("apply_import", { importId: stopped.importId, confirmDeactivations: null, onProgress: { id: -1 } })).rejects.toMatchObject({
      code: "invalid_input",
      message: expect.stringContaining("3 of 100 records are rejects"),
    });

    // Raising the limit to 5 % lets the same source through.
    await fireEvent.input(input("import-max-reject"), { target: { value: "5" } });
    await fireEvent.click(button("import-plan"));
    await waitFor(() => expect(byTestId("import-apply")).not.toBeNull());
    expect(byTestId("import-stopped")).toBeNull();
  });

  it("plans over the deactivation guard, needs the count typed, and applies with records uploaded, session status and result", async () => {
    const gate = deferred();
    engine.imports.applyGate = gate.promise;
    const p = await open((p) => {
      saveHr(p);
      engine.imports.seed(p);
    });
    await waitFor(() => expect(button("import-plan").disabled).toBe(false));
    await fireEvent.input(input("import-max-deactivations"), { target: { value: "5" } });
    await fireEvent.click(byTestId("import-mode-full")!);
    await fireEvent.click(button("import-plan"));
    await waitFor(() => expect(byTestId("import-plan-counts")).not.toBeNull());
    expect(engine.callsOf("plan_import")[0].args.request).toMatchObject({ delta: false, fullResync: true, maxDeactivations: 5 });
    expect(text("import-count-active")).toBe("91");
    expect(text("import-count-inactive")).toBe("8");
    expect(text("import-count-rejected")).toBe("1");
    expect(text("import-plan-counts")).toContain("1 import session · 2 bulk requests");
    expect(byTestId("import-stopped"), "1 % is not more than 1 %").toBeNull();
    expect(text("import-guard")).toContain("8 users will be deactivated");

    expect(button("import-apply").disabled).toBe(true);
    await fireEvent.input(input("import-guard-confirm"), { target: { value: "7" } });
    expect(button("import-apply").disabled).toBe(true);
    await fireEvent.input(input("import-guard-confirm"), { target: { value: "8" } });
    expect(button("import-apply").disabled).toBe(false);
    await fireEvent.click(button("import-apply"));

    // Held after the first chunk: 91 of 99 uploaded into a CREATED session.
    await waitFor(() => expect(attr("import-progress", "data-done")).toBe("91"));
    expect(attr("import-progress", "data-total")).toBe("99");
    expect(text("import-session-status")).toBe("CREATED");
    expect(text("import-chunk")).toBe("1 of 2");
    expect(text("import-session")).toBe("1 of 1");
    expect(text("import-eta")).toMatch(/^about \d+ s$/);
    expect(engine.callsOf("apply_import")[0].args).toMatchObject({ confirmDeactivations: 8 });

    gate.resolve();
    await waitFor(() => expect(attr("import-result", "data-status")).toBe("succeeded"));
    expect(attr("import-progress", "data-done")).toBe("99");
    expect(text("import-session-status")).toBe("COMPLETED");
    expect(text("import-eta")).toBe("done");
    expect(byTestId("import-apply")).toBeNull();

    // The finished import heads the monitoring list.
    const id = (engine.callsOf("apply_import")[0].args.importId as string);
    await waitFor(() => expect(attr(`import-run-${id}`, "data-status")).toBe("succeeded"));
    expect(text(`import-run-${id}`)).toContain("91 upserted, 8 deactivated, 0 unchanged, 1 rejected");
    expect(document.querySelector('[data-testid="import-history"] tbody tr')?.getAttribute("data-testid")).toBe(`import-run-${id}`);

    // Planned again with delta: everything uploaded is unchanged now.
    await fireEvent.click(byTestId("import-mode-delta")!);
    await fireEvent.click(button("import-plan"));
    await waitFor(() => expect(text("import-count-unchanged")).toBe("99"));
    expect(text("import-nothing")).toContain("Nothing to upload");
    void p;
  });

  it("ends partial when a session ends in ERROR", async () => {
    engine.imports.failNextSession = true;
    await open((p) => saveHr(p));
    await waitFor(() => expect(button("import-plan").disabled).toBe(false));
    await fireEvent.click(button("import-plan"));
    await waitFor(() => expect(byTestId("import-apply")).not.toBeNull());
    await fireEvent.click(button("import-apply"));
    await waitFor(() => expect(attr("import-result", "data-status")).toBe("partial"));
    expect(text("import-session-status")).toBe("ERROR");
  });

  it("lists past imports with counts, duration and outcome, and charts them per import", async () => {
    await open((p) => engine.imports.seed(p));
    await waitFor(() => expect(byTestId("import-history")).not.toBeNull());
    const rows = [...document.querySelectorAll('[data-testid^="import-run-"]')];
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.getAttribute("data-status")), "newest first").toEqual(["succeeded", "partial", "succeeded"]);
    expect(rows[0].textContent).toContain("6 upserted, 93 unchanged, 1 rejected");
    expect(rows[0].textContent).toContain("12.5 s");
    expect(rows[1].textContent).toContain("session 1 ended in ERROR");

    expect(byTestId("import-chart")).not.toBeNull();
    const groups = [...byTestId("import-chart")!.querySelectorAll('g[data-testid^="import-chart-"]')];
    expect(groups).toHaveLength(3);
    const oldest = groups[0].getAttribute("data-testid")!.replace("import-chart-", "");
    expect(rows[2].getAttribute("data-testid")).toBe(`import-run-${oldest}`);
    expect(attr(`import-bar-${oldest}-upserted`, "data-value")).toBe("91");
    expect(attr(`import-bar-${oldest}-deactivated`, "data-value")).toBe("8");
    expect(attr(`import-bar-${oldest}-rejected`, "data-value")).toBe("1");
    const h = (k: string) => Number(attr(`import-bar-${oldest}-${k}`, "height"));
    expect(h("upserted")).toBeGreaterThan(h("deactivated"));
    expect(h("deactivated")).toBeGreaterThan(h("rejected"));
    expect(h("rejected")).toBeGreaterThan(0);
  });

  it("schedules the saved source daily or every N minutes, refusing more often than every 5 minutes", async () => {
    const p = await open((p) => saveHr(p));
    await waitFor(() => expect(button("import-schedule-save").disabled).toBe(false));
    await fireEvent.change(byTestId("import-schedule-kind")!, { target: { value: "daily" } });
    await fireEvent.input(input("import-schedule-daily"), { target: { value: "03:30" } });
    await fireEvent.input(input("import-schedule-zone"), { target: { value: "Europe/Berlin" } });
    await fireEvent.click(button("import-schedule-save"));
    await waitFor(() => expect(byTestId("import-schedule-saved")).not.toBeNull());
    expect(engine.imports.schedule(p.id, "hr")).toEqual({ everyMins: null, dailyAt: "03:30", timeZone: "Europe/Berlin" });

    await fireEvent.change(byTestId("import-schedule-kind")!, { target: { value: "every" } });
    await fireEvent.input(input("import-schedule-every"), { target: { value: "2" } });
    expect(button("import-schedule-save").disabled).toBe(true);
    await fireEvent.input(input("import-schedule-every"), { target: { value: "60" } });
    await fireEvent.click(button("import-schedule-save"));
    await waitFor(() => expect(engine.imports.schedule(p.id, "hr")).toMatchObject({ everyMins: 60, dailyAt: null }));

    await fireEvent.change(byTestId("import-schedule-kind")!, { target: { value: "off" } });
    await fireEvent.click(button("import-schedule-save"));
    await waitFor(() => expect(engine.imports.schedule(p.id, "hr")).toBeNull());
    expect(engine.callsOf("set_import_schedule").at(-1)?.args).toEqual({ profileId: p.id, sourceName: "hr", schedule: null });
  });

  it("runs a due scheduled import while the app is open, and shows one left planned by its rejects", async () => {
    await open((p) => {
      saveHr(p);
      engine.imports.saveMapping(p.id, "hr-bad", csv, suggestMapping(HR_COLUMNS));
      engine.imports.schedules.set(`${p.id}\u0000hr`, { everyMins: 60, dailyAt: null, timeZone: null });
    });
    // The first round ran at start: "hr" was applied and heads the history.
    await waitFor(() => expect(document.querySelector('[data-testid^="import-run-"]')?.getAttribute("data-status")).toBe("succeeded"));
    expect(engine.callsOf("run_due_imports")[0].args).toMatchObject({ profileId: null });
    expect(byTestId("import-due")).toBeNull();

    engine.imports.hr[9].email = "";
    engine.imports.hr[20].id = "E1001";
    const p = engine.profiles[0];
    engine.imports.schedules.set(`${p.id}\u0000hr-bad`, { everyMins: 60, dailyAt: null, timeZone: null });
    const due = (await engine.handle("run_due_imports", { profileId: p.id, onProgress: { id: -1 } })) as Array<{ sourceName: string; problem: string | null }>;
    expect(due).toEqual([expect.objectContaining({ sourceName: "hr-bad", problem: "Stopped: 3 of 100 records rejected; nothing uploaded" })]);
  });

  it("says when there is no import yet", async () => {
    await open();
    await waitFor(() => expect(byTestId("import-history-empty")).not.toBeNull());
    expect(byTestId("import-chart")).toBeNull();
  });
});

describe("readProgress", () => {
  const report = (message: string, done = 10, total: number | null = 100, step = "bulkUpsert"): Progress => ({ operation: "import", step, done, total, message });

  it("reads the session, its status, the chunk and the engine's ETA from the message", () => {
    expect(readProgress(report("Chunk 3 of 50: upserted 200 users in session 2 of 11 (aps1): CREATED; etaSecs 42"))).toEqual({
      done: 10,
      total: 100,
      session: "2 of 11",
      sessionStatus: "CREATED",
      chunk: "3 of 50",
      etaSecs: 42,
    });
  });

  it("reads the engine's own wording: the session from the target, the status from the step, the ETA", () => {
    const view = readProgress(report("Upload users: session 2 of 11 — 400 of 2000 records uploaded, about 12 s left (etaSecs 12)", 400, 2000, "7"));
    expect(view).toMatchObject({ done: 400, total: 2000, session: "2 of 11", sessionStatus: "CREATED", etaSecs: 12 });
    expect(readProgress(report("Start the import: session 2 of 11 — 2000 of 2000 records uploaded", 2000, 2000, "9")).sessionStatus).toBe("TRIGGERED");
    expect(readProgress(report("Wait for the import to finish: session 2 of 11 — 2000 of 2000 records uploaded", 2000, 2000, "10")).sessionStatus).toBe("IN_PROGRESS");
  });

  it("estimates the time left from the rate when the message carries none, and 0 when done", () => {
    expect(readProgress(report("Uploading session 1", 25, 100), 10_000).etaSecs).toBe(30);
    expect(readProgress(report("Imported", 100, 100, "done"), 10_000).etaSecs).toBe(0);
    expect(readProgress(report("Uploading", 0, null)).etaSecs).toBeNull();
  });
});
