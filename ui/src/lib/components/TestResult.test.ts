// The verdict of a connection test as the admin reads it, and as the e2e suite finds it
// (test-result and check-{id}, each with data-status).
import { render } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { ConnectionTest } from "../ipc";
import { ConnectionRun } from "../state/connect.svelte";
import TestResult from "./TestResult.svelte";

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);

const link = "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/4f1c";
const failed: ConnectionTest = {
  target: "microsoft",
  ok: false,
  testedAt: "2026-03-01T10:00:00Z",
  steps: [
    { id: "token", label: "Token obtained", status: "ok", detail: "Signed in as okta365", fix: null, link: null },
    {
      id: "permissions:guests",
      label: "Permissions for guest accounts",
      status: "failed",
      detail: "Missing: User.Invite.All",
      fix: "API permissions → Add a permission → Microsoft Graph → Application permissions → User.Invite.All → Grant admin consent",
      link,
    },
    { id: "expiry", label: "Secret expiry", status: "warning", detail: "Expires in 12 days", fix: "Create a new secret.", link: null },
    { id: "permissions:imports", label: "Permissions for imports", status: "skipped", detail: null, fix: null, link: null },
  ],
};

describe("TestResult", () => {
  it("marks the result and every check with its status, in the engine's order", () => {
    render(TestResult, { run: new ConnectionRun(failed), label: "Microsoft test" });
    expect(byTestId("test-result")?.getAttribute("data-status")).toBe("failed");
    const rows = [...document.querySelectorAll("[data-testid^='check-']")].filter((e) => e.tagName === "LI");
    expect(rows.map((r) => [r.getAttribute("data-testid"), r.getAttribute("data-status")])).toEqual([
      ["check-token", "ok"],
      ["check-permissions:guests", "failed"],
      ["check-expiry", "warning"],
      ["check-permissions:imports", "skipped"],
    ]);
    expect(rows.map((r) => r.querySelector(".icon")?.textContent)).toEqual(["✓", "✗", "!", "–"]);
    expect(document.querySelector(".summary")?.textContent).toContain("1 of 4 checks failed");
  });

  it("a failed row shows what was found, the fix in plain words, and the link to copy", () => {
    render(TestResult, { run: new ConnectionRun(failed), label: "Microsoft test" });
    const row = byTestId("check-permissions:guests")!;
    expect(row.textContent).toContain("Missing: User.Invite.All");
    expect(row.textContent).toContain("How to fix: API permissions → Add a permission");
    expect(byTestId("check-permissions:guests-link")?.textContent).toBe(link);
    expect(row.querySelector("button")?.getAttribute("aria-label")).toBe(`Copy link: ${link}`);
    expect(row.querySelector(".visually-hidden")?.textContent).toContain("Failed");
    // A passing row keeps to its detail.
    expect(byTestId("check-token")?.textContent).not.toContain("How to fix");
    expect(byTestId("check-expiry")?.textContent).toContain("How to fix: Create a new secret.");
  });

  it("a run with only warnings is ok and says so", () => {
    const warned: ConnectionTest = { ...failed, ok: true, steps: [failed.steps[0], failed.steps[2]] };
    render(TestResult, { run: new ConnectionRun(warned), label: "t" });
    expect(byTestId("test-result")?.getAttribute("data-status")).toBe("ok");
    expect(document.querySelector(".summary")?.textContent).toContain("Connected, with 1 warning");
  });

  it("while running, lists the checks announced so far with the last one in progress", async () => {
    const run = new ConnectionRun();
    let finish!: (t: ConnectionTest) => void;
    const done = run.run((onProgress) => {
      onProgress({ operation: "test_microsoft", step: "token", done: 0, total: 3, message: "Getting a token" });
      onProgress({ operation: "test_microsoft", step: "tenant", done: 1, total: 3, message: "Reading the tenant" });
      return new Promise<ConnectionTest>((resolve) => (finish = resolve));
    });
    render(TestResult, { run, label: "t" });
    expect(byTestId("test-live")?.textContent).toContain("Getting a token");
    expect(byTestId("live-tenant")?.querySelector(".spinner")).not.toBeNull();
    expect(byTestId("live-token")?.querySelector(".spinner")).toBeNull();
    expect(byTestId("test-result")).toBeNull();
    finish(failed);
    await done;
    await Promise.resolve();
    expect(byTestId("test-live")).toBeNull();
    expect(byTestId("test-result")).not.toBeNull();
  });
});
