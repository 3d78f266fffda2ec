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
    // A sandbox profile's form is filled in and editable.
    expect((byTestId("ms-tenant") as HTMLInputElement).value).toBe("contoso.onmicrosoft.com");
    expect((byTestId("ms-tenant") as HTMLInputElement).readOnly).toBe(false);
    expect((byTestId("ms-client-id") as HTMLInputElement).value).toBe("4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14");
    expect((byTestId("profile-switcher") as HTMLSelectElement).value).toBe(engine.activeId);
    await waitFor(() => expect(engine.profiles[0].wizardStep).toBe("microsoft"));
  });

  it("Use the sandbox: the progress component follows the engine's steps on Welcome, then goes", async () => {
    const atCredentials = deferred();
    const atProfile = deferred();
    engine.progressGate.set("credentials", atCredentials.promise);
    engine.progressGate.set("profile", atProfile.promise);
    render(App);
    await ready();
    expect(byTestId("progress")).toBeNull();

    await fireEvent.click(byTestId("welcome-use-sandbox")!);
    await waitFor(() => expect(byTestId("progress-count")?.textContent).toBe("1 of 4"));
    expect(byTestId("step-welcome")?.contains(byTestId("progress"))).toBe(true);
    expect(byTestId("progress-step")?.textContent).toContain("Creating demo credentials on the sandbox tenant");

    atCredentials.resolve();
    await waitFor(() => expect(byTestId("progress-count")?.textContent).toBe("3 of 4"));
    expect(byTestId("progress-step")?.textContent).toContain('Saving the profile "Sandbox"');
    expect(byTestId("progress")?.getAttribute("aria-valuenow")).toBe("3");

    atProfile.resolve();
    await waitFor(() => expect(byTestId("step-microsoft")).not.toBeNull());
    expect(byTestId("progress")).toBeNull();
  });

  it("when the backend cannot start, shows the full-page start-up error instead of the wizard", async () => {
    engine.failNext.set("app_info", {
      code: "internal",
      message:
        "The okta365 database is at version 7, newer than this build understands (version 1). Update okta365, or point OKTA365_DATA_DIR at another folder.",
      details: { dataDir: "/home/ann/.local/share/com.okta365.app", logDir: "/home/ann/.local/share/com.okta365.app/logs" },
    });
    render(App);
    await waitFor(() => expect(byTestId("startup-error")).not.toBeNull());
    expect(byTestId("startup-error-message")?.textContent).toContain("newer than this build understands");
    expect(byTestId("startup-error-data-dir")?.textContent).toBe("/home/ann/.local/share/com.okta365.app");
    expect(byTestId("startup-error-log-dir")?.textContent).toBe("/home/ann/.local/share/com.okta365.app/logs");
    for (const gone of ["app-ready", "app-loading", "rail-step-welcome", "step-welcome", "status-bar", "error-banner"])
      expect(byTestId(gone), `${gone} is not shown`).toBeNull();
  });

  it("opens an active profile at its saved step", async () => {
    engine.activeId = engine.addProfile({ name: "Lab", wizardStep: "okta" }).id;
    render(App);
    await ready();
    expect(byTestId("step-okta")).not.toBeNull();
    expect((byTestId("okta-org-url") as HTMLInputElement).value).toBe("http://127.0.0.1:41234");
    expect(byTestId("status-profile")?.textContent).toBe("Lab");
  });

  it("Connect my tenants: asks for a profile name, creates the profile, then an empty Microsoft form", async () => {
    engine.addProfile({ name: "My tenants" });
    render(App);
    await ready();
    await fireEvent.click(byTestId("welcome-connect-tenants")!);
    const name = byTestId("welcome-profile-name") as HTMLInputElement;
    expect(name.value, "the default name is one no profile has").toBe("My tenants 2");
    expect(engine.callsOf("create_tenant_profile")).toHaveLength(0);

    await fireEvent.input(name, { target: { value: "my tenants" } });
    expect(screen.getByText(/exists already; choose another name/)).toBeTruthy();
    expect((byTestId("welcome-create-profile") as HTMLButtonElement).disabled).toBe(true);

    await fireEvent.input(name, { target: { value: "Contoso" } });
    await fireEvent.click(byTestId("welcome-create-profile")!);
    await waitFor(() => expect(byTestId("step-microsoft")).not.toBeNull());
    expect(engine.callsOf("create_tenant_profile").map((c) => c.args)).toEqual([{ name: "Contoso" }]);
    expect(byTestId("status-profile")?.textContent).toBe("Contoso");
    const tenant = byTestId("ms-tenant") as HTMLInputElement;
    expect(tenant.value).toBe("");
    expect(tenant.readOnly).toBe(false);
    expect((byTestId("ms-test") as HTMLButtonElement).disabled, "nothing to test before a save").toBe(true);
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
    await fireEvent.click(byTestId("rail-step-imports")!);
    expect(byTestId("step-imports")).not.toBeNull();

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
