// The wizard frame rendered in jsdom against the fake engine: the data-testid contract the
// end-to-end tests rely on, the sandbox flow, and keyboard navigation through the rail.
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "./App.svelte";
import { STEP_IDS } from "./lib/state/steps";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "./test/fake-engine";

let engine: FakeEngine;

beforeEach(() => {
  engine = installFakeEngine();
});
afterEach(() => clearMocks());

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);

async function ready() {
  await waitFor(() => expect(byTestId("app-ready")).not.toBeNull());
}

describe("App", () => {
  it("marks the root app-ready after loading, on Welcome, with every rail item and no profile", async () => {
    render(App);
    expect(byTestId("app-ready")).toBeNull();
    await ready();
    for (const id of STEP_IDS) expect(byTestId(`rail-step-${id}`), `rail item for ${id}`).not.toBeNull();
    expect(byTestId("step-welcome")).not.toBeNull();
    expect(byTestId("rail-step-welcome")?.getAttribute("aria-current")).toBe("step");
    expect(byTestId("rail-step-okta")?.hasAttribute("aria-current")).toBe(false);
    expect(byTestId("status-profile")?.textContent).toBe("No profile");
    expect(byTestId("status-sandbox")).toBeNull();
    expect(byTestId("profile-switcher")?.tagName).toBe("SELECT");
  });

  it("Use the sandbox: button shows progress and is disabled, then Microsoft step with sandbox values", async () => {
    const gate = deferred();
    engine.gate.set("create_sandbox_profile", gate.promise);
    render(App);
    await ready();

    const button = byTestId("welcome-use-sandbox") as HTMLButtonElement;
    await fireEvent.click(button);
    expect(button.disabled).toBe(true);
    expect(button.getAttribute("aria-busy")).toBe("true");
    expect(button.textContent).toContain("Starting the sandbox");

    gate.resolve();
    await waitFor(() => expect(byTestId("step-microsoft")).not.toBeNull());
    expect(byTestId("rail-step-microsoft")?.getAttribute("aria-current")).toBe("step");
    expect(byTestId("status-profile")?.textContent).toBe("Sandbox");
    expect(byTestId("status-sandbox")?.textContent).toBe("Sandbox");
    expect((byTestId("ms-tenant") as HTMLInputElement).value).toBe("contoso.onmicrosoft.com");
    expect((byTestId("ms-tenant") as HTMLInputElement).readOnly).toBe(true);
    expect((byTestId("ms-credential") as HTMLInputElement).value).toBe("Stored in the OS keychain");
    expect((byTestId("profile-switcher") as HTMLSelectElement).value).toBe(engine.activeId);
    await waitFor(() => expect(engine.profiles[0].wizardStep).toBe("microsoft"));
  });

  it("opens an active profile at its saved step", async () => {
    engine.activeId = engine.addProfile({ name: "Lab", wizardStep: "okta" }).id;
    render(App);
    await ready();
    expect(byTestId("step-okta")).not.toBeNull();
    expect((byTestId("okta-org-url") as HTMLInputElement).value).toBe("http://127.0.0.1:41234");
    expect(byTestId("status-profile")?.textContent).toBe("Lab");
  });

  it("Connect my tenants: empty, editable Microsoft form that says it is not saved", async () => {
    render(App);
    await ready();
    await fireEvent.click(byTestId("welcome-connect-tenants")!);
    await waitFor(() => expect(byTestId("step-microsoft")).not.toBeNull());
    const tenant = byTestId("ms-tenant") as HTMLInputElement;
    expect(tenant.value).toBe("");
    expect(tenant.readOnly).toBe(false);
    expect(screen.getByText("Not saved yet")).toBeTruthy();
    expect(screen.queryByRole("button", { name: /save/i })).toBeNull();

    await fireEvent.input(tenant, { target: { value: "not a tenant" } });
    await fireEvent.blur(tenant);
    expect(tenant.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText(/Use the directory \(tenant\) ID GUID or a domain/)).toBeTruthy();
    expect(engine.calls.map((c) => c.cmd)).toEqual(["app_info", "list_profiles"]);
  });

  it("shows the engine's message in the error banner", async () => {
    engine.failNext.set("create_sandbox_profile", {
      code: "keychain_unavailable",
      message: "No Secret Service answered on the session bus.",
    });
    render(App);
    await ready();
    await fireEvent.click(byTestId("welcome-use-sandbox")!);
    await waitFor(() => expect(byTestId("error-banner")).not.toBeNull());
    expect(byTestId("error-banner")?.textContent).toContain("No Secret Service answered on the session bus.");
    expect(byTestId("step-welcome")).not.toBeNull();
  });

  it("rail: click opens a step; arrow keys, Home and End move the focus", async () => {
    render(App);
    await ready();
    await fireEvent.click(byTestId("rail-step-licenses")!);
    expect(byTestId("step-licenses")).not.toBeNull();
    expect(screen.getByText("Not available yet")).toBeTruthy();

    const welcome = byTestId("rail-step-welcome") as HTMLButtonElement;
    welcome.focus();
    await fireEvent.keyDown(welcome, { key: "ArrowDown" });
    expect(document.activeElement).toBe(byTestId("rail-step-microsoft"));
    await fireEvent.keyDown(document.activeElement!, { key: "End" });
    expect(document.activeElement).toBe(byTestId("rail-step-credentials"));
    await fireEvent.keyDown(document.activeElement!, { key: "ArrowDown" });
    expect(document.activeElement).toBe(welcome);
  });

  it("switching profiles through the select opens the other profile's step", async () => {
    const a = engine.addProfile({ name: "First", wizardStep: "microsoft" });
    engine.addProfile({ name: "Second", wizardStep: "history" });
    engine.activeId = a.id;
    render(App);
    await ready();
    const select = byTestId("profile-switcher") as HTMLSelectElement;
    expect(select.value).toBe(a.id);
    await fireEvent.change(select, { target: { value: "p2" } });
    await waitFor(() => expect(byTestId("step-history")).not.toBeNull());
    expect(byTestId("status-profile")?.textContent).toBe("Second");
  });
});
