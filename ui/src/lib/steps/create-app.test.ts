// "Create the app for me" on the Microsoft and Okta steps, rendered in the app frame against the fake
// engine: the test ids of docs/setup.md, the device code pending then approved, cancel, the plan
// tables, apply with progress and a result whose re-run has 0 changes, errors with their messages,
// forgetting the API token, and the Okta identity source field.
import { fireEvent, render, waitFor } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import App from "../../App.svelte";
import type { Profile, StepId } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { NON_ADMIN } from "../../test/fake-setup";

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
  const profile = engine.addProfile({ wizardStep: step, operations: ["licenses", "memberAccounts"], ...partial });
  engine.activeId = profile.id;
  render(App);
  await waitFor(() => expect(byTestId(`step-${step}`)).not.toBeNull());
  return profile;
}

describe("Microsoft step: create the app for me", () => {
  it("device code: code and link while pending, then the account, the plan, apply, and a result with 0 changes", async () => {
    const p = await open("microsoft");
    expect(byTestId("ms-tenant"), "the typed-in form is the default").not.toBeNull();
    await fireEvent.click(button("ms-create-app"));
    expect(button("ms-create-app").getAttribute("aria-pressed")).toBe("true");
    expect(byTestId("ms-tenant")).toBeNull();
    expect(input("ms-signin-method-deviceCode").checked, "device code is the default").toBe(true);

    const gate = deferred();
    engine.setup.signInGate = gate.promise;
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(byTestId("ms-user-code")).not.toBeNull());
    expect(text("ms-user-code")).toMatch(/^GB4KQ9ZL\d+$/);
    expect(text("ms-verification-uri")).toBe("http://127.0.0.1:41234/devicelogin");
    expect(byTestId("ms-authorize-url")).toBeNull();
    await waitFor(() => expect(text("ms-signin-pending")).toContain("Waiting for you to enter the code"));
    expect(engine.opened, "a device code opens nothing by itself").toEqual([]);
    await fireEvent.click(button("ms-open-verification-uri"));
    await waitFor(() => expect(engine.opened).toEqual(["http://127.0.0.1:41234/devicelogin"]));
    expect(button("ms-signin-start").disabled).toBe(true);

    gate.resolve();
    await waitFor(() => expect(byTestId("ms-signin-account")).not.toBeNull());
    expect(text("ms-signin-account")).toContain("admin@contoso.onmicrosoft.com");
    expect(text("ms-signin-account")).toContain("Global Administrator");
    expect(byTestId("ms-signin-consent-warning")).toBeNull();
    expect(byTestId("ms-user-code"), "the code is gone once used").toBeNull();

    // The first plan comes by itself after the sign-in.
    await waitFor(() => expect(byTestId("ms-plan-permission-User.ReadWrite.All")).not.toBeNull());
    expect(input("ms-app-name").value).toBe("okta365");
    expect(byTestId("ms-plan-permission-User.ReadWrite.All")?.getAttribute("data-granted")).toBe("false");
    expect(text("ms-plan-permission-User.ReadWrite.All")).toContain("Member accounts");
    expect(text("ms-plan-permission-Organization.Read.All")).toContain("Licenses");
    expect(byTestId("ms-plan-app")?.getAttribute("data-action")).toBe("create");
    expect(text("ms-app-changes")).toBe("5");
    expect(engine.setup.entraApps, "a plan writes nothing").toHaveLength(0);

    await fireEvent.click(input("ms-credential-certificate"));
    await waitFor(() => expect(byTestId("ms-app-changes")).toBeNull());
    await fireEvent.click(button("ms-app-plan"));
    await waitFor(() => expect(byTestId("ms-plan-credential")?.textContent).toContain("Certificate"));

    const applyGate = deferred();
    engine.setupGate = applyGate.promise;
    await fireEvent.click(button("ms-app-apply"));
    await waitFor(() => expect(text("progress-step")).toContain("Creating the app registration okta365"));
    applyGate.resolve();
    await waitFor(() => expect(byTestId("ms-app-result")).not.toBeNull());
    const app = engine.setup.entraApps[0];
    expect(text("ms-app-result-id")).toBe(app.appId);
    expect(text("ms-app-token-roles")).toContain("User.ReadWrite.All");
    expect(text("ms-app-changes"), "the answer's plan changes nothing").toBe("0");
    expect(byTestId("ms-plan-permission-User.ReadWrite.All")?.getAttribute("data-granted")).toBe("true");
    expect(engine.callsOf("apply_microsoft_app")[0].args.request).toMatchObject({
      profileId: p.id,
      appName: "okta365",
      credential: { kind: "certificate", lifetimeMonths: 12 },
    });

    engine.setupGate = null;
    await fireEvent.click(button("ms-app-plan"));
    await waitFor(() => expect(engine.callsOf("plan_microsoft_app")).toHaveLength(3));
    await waitFor(() => expect(text("ms-app-changes"), "a re-run changes nothing").toBe("0"));
    expect(byTestId("ms-plan-app")?.getAttribute("data-action")).toBe("exists");

    // The saved values show on the typed-in form.
    await fireEvent.click(button("ms-app-show-saved"));
    await waitFor(() => expect(input("ms-client-id")?.value).toBe(app.appId));
  });

  it("browser: the authorize URL is shown with a copy button; Cancel ends the wait without an error", async () => {
    await open("microsoft");
    await fireEvent.click(button("ms-create-app"));
    await fireEvent.click(input("ms-signin-method-browser"));
    engine.setup.signInGate = new Promise(() => {});
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(byTestId("ms-authorize-url")).not.toBeNull());
    expect(text("ms-authorize-url")).toContain("/oauth2/v2.0/authorize?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e");
    expect(byTestId("ms-authorize-url")?.parentElement?.textContent).toContain("Copy address");
    expect(byTestId("ms-user-code")).toBeNull();
    await waitFor(() => expect(engine.opened, "the browser method opens the page for the admin").toEqual([text("ms-authorize-url")]));

    engine.failNext.set("open_in_browser", { code: "internal", message: "The browser could not be opened (no xdg-open). Copy the link and open it in a browser yourself." });
    await fireEvent.click(button("ms-open-authorize-url"));
    await waitFor(() => expect(text("ms-open-error")).toContain("Copy the link and open it in a browser yourself."));

    await fireEvent.click(button("ms-signin-cancel"));
    await waitFor(() => expect(byTestId("ms-signin-cancelled")).not.toBeNull());
    expect(byTestId("ms-signin-error")).toBeNull();
    expect(byTestId("ms-authorize-url")).toBeNull();
    expect(engine.callsOf("cancel_microsoft_sign_in")).toHaveLength(1);
    expect(button("ms-signin-start").disabled).toBe(false);
  });

  it("a declined or expired sign-in shows the engine's message", async () => {
    await open("microsoft");
    await fireEvent.click(button("ms-create-app"));
    engine.setup.outcome = "expire";
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(text("ms-signin-error")).toContain("The code expired before it was used (expired_token)"));
    engine.setup.outcome = "blocked";
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(text("ms-signin-error")).toContain("Conditional Access"));
    expect(byTestId("ms-signin-account")).toBeNull();
  });

  it("an admin who cannot grant consent: a warning after sign-in, in the plan, and permission denied on apply", async () => {
    engine.setup.user = { ...NON_ADMIN };
    await open("microsoft");
    await fireEvent.click(button("ms-create-app"));
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(byTestId("ms-signin-consent-warning")).not.toBeNull());
    expect(text("ms-signin-account")).toContain("Directory roles: none");
    await waitFor(() => expect(text("ms-app-warnings")).toContain("403 Authorization_RequestDenied"));
    await fireEvent.click(button("ms-app-apply"));
    await waitFor(() => expect(text("ms-app-error")).toContain("Granting Organization.Read.All was refused"));
    expect(byTestId("ms-app-result")).toBeNull();
  });

  it("a credential lifetime out of range blocks Plan with a message", async () => {
    await open("microsoft");
    await fireEvent.click(button("ms-create-app"));
    await fireEvent.click(button("ms-signin-start"));
    await waitFor(() => expect(byTestId("ms-app-changes")).not.toBeNull());
    await fireEvent.input(input("ms-credential-months"), { target: { value: "30" } });
    await waitFor(() => expect(text("ms-credential-months-message")).toBe("A credential lasts 1 to 24 months, not 30."));
    expect(button("ms-app-plan").disabled).toBe(true);
    expect(byTestId("ms-app-changes"), "the old plan is gone").toBeNull();
  });
});

describe("Okta step: create the service app for me", () => {
  const token = "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd";

  it("pasted token: plan with scopes and role, apply with progress, result with DPoP; a re-run has 0 changes", async () => {
    const p = await open("okta", { okta: { orgUrl: "http://127.0.0.1:41234", auth: null, clientId: null, keyId: null, identitySourceId: null } });
    await fireEvent.click(button("okta-create-app"));
    expect(input("okta-setup-token").type).toBe("password");
    expect(byTestId("okta-setup-use-stored"), "no stored token to offer").toBeNull();
    expect(button("okta-app-plan").disabled).toBe(true);
    await fireEvent.input(input("okta-setup-token"), { target: { value: token } });
    await fireEvent.input(input("okta-app-name"), { target: { value: "okta365 sync" } });
    await fireEvent.click(button("okta-app-plan"));
    await waitFor(() => expect(byTestId("okta-plan-scope-okta.groups.manage")).not.toBeNull());
    expect(byTestId("okta-plan-scope-okta.users.read")?.getAttribute("data-granted")).toBe("false");
    expect(text("okta-plan-scope-okta.groups.manage")).toContain("The Groups step creates the groups");
    expect(text("okta-plan-role")).toContain("ORG_ADMIN");
    expect(text("okta-plan-role")).toContain("Organization Administrator");
    expect(text("okta-app-changes")).toBe("7");
    expect(engine.callsOf("plan_okta_app")[0].args.request).toEqual({ profileId: p.id, apiToken: token, appName: "okta365 sync" });

    const gate = deferred();
    engine.setupGate = gate.promise;
    await fireEvent.click(button("okta-app-apply"));
    await waitFor(() => expect(text("progress-step")).toContain("Creating the API service app okta365 sync"));
    gate.resolve();
    await waitFor(() => expect(byTestId("okta-app-result")).not.toBeNull());
    expect(text("okta-app-result")).toContain("with DPoP-bound tokens");
    expect(text("okta-app-verified-scopes")).toContain("okta.users.read");
    expect(text("okta-app-changes")).toBe("0");
    expect(byTestId("okta-forget-token"), "a pasted token is not stored: nothing to forget").toBeNull();
    expect(engine.profiles[0].okta).toMatchObject({ auth: "serviceApp", clientId: engine.setup.oktaApps[0].clientId });
    expect(document.body.innerHTML, "the token never reaches the page").not.toContain(token);

    engine.setupGate = null;
    await fireEvent.click(button("okta-app-plan"));
    await waitFor(() => expect(engine.callsOf("plan_okta_app")).toHaveLength(2));
    await waitFor(() => expect(text("okta-app-changes")).toBe("0"));
    expect(byTestId("okta-plan-scope-okta.users.read")?.getAttribute("data-granted")).toBe("true");
  });

  it("the stored API token is used by default; after apply it can be forgotten", async () => {
    const p = engine.addProfile({ wizardStep: "okta" });
    engine.activeId = p.id;
    engine.store(p.id, "okta.api_token", { hint: "00a" });
    render(App);
    await waitFor(() => expect(byTestId("okta-create-app")).not.toBeNull());
    await fireEvent.click(button("okta-create-app"));
    await waitFor(() => expect(input("okta-setup-use-stored")?.checked).toBe(true));
    await fireEvent.click(button("okta-app-plan"));
    await waitFor(() => expect(byTestId("okta-app-changes")).not.toBeNull());
    expect(engine.callsOf("plan_okta_app")[0].args.request).toMatchObject({ apiToken: null });
    expect(text("okta-app-plan-table")).toContain("stored in the OS keychain");
    await fireEvent.click(button("okta-app-apply"));
    await waitFor(() => expect(byTestId("okta-forget-token")).not.toBeNull());

    await fireEvent.click(button("okta-forget-token"));
    await waitFor(() => expect(byTestId("okta-token-forgotten")).not.toBeNull());
    expect(engine.callsOf("forget_okta_api_token").map((c) => c.args)).toEqual([{ profileId: p.id }]);
    expect(engine.credentials.some((c) => c.kind === "okta.api_token")).toBe(false);
    expect(byTestId("okta-forget-token")).toBeNull();
  });

  it("a token of an admin who is not a Super Administrator is refused with the engine's message", async () => {
    engine.setup.oktaAdmin = { login: "helpdesk@example.okta.com", roles: ["HELP_DESK_ADMIN"] };
    await open("okta");
    await fireEvent.click(button("okta-create-app"));
    await fireEvent.input(input("okta-setup-token"), { target: { value: token } });
    await fireEvent.click(button("okta-app-plan"));
    await waitFor(() => expect(text("okta-app-error")).toContain("helpdesk@example.okta.com, who is not a Super Administrator"));
    expect(byTestId("okta-app-changes")).toBeNull();
  });
});

describe("Okta step: identity source", () => {
  it("the identity source id is shown, sent only when changed, and cleared with an empty field", async () => {
    const p = engine.addProfile({
      wizardStep: "okta",
      okta: { orgUrl: "http://127.0.0.1:41234", auth: "apiToken", clientId: null, keyId: null, identitySourceId: "0oaSRC1" },
    });
    engine.activeId = p.id;
    engine.store(p.id, "okta.api_token", { hint: "00a" });
    render(App);
    await waitFor(() => expect(input("okta-identity-source-id")?.value).toBe("0oaSRC1"));
    await waitFor(() => expect(input("okta-api-token").placeholder).toContain("stored in the OS keychain"));
    await fireEvent.click(button("okta-save"));
    await waitFor(() => expect(engine.callsOf("save_okta")).toHaveLength(1));
    expect(engine.callsOf("save_okta")[0].args.request, "unchanged: left out").not.toHaveProperty("identitySourceId");
    await waitFor(() => expect(text("okta-save-status")).toContain("Saved"));

    await fireEvent.input(input("okta-identity-source-id"), { target: { value: " 0oaSRC2 " } });
    await fireEvent.click(button("okta-save"));
    await waitFor(() => expect(engine.callsOf("save_okta")).toHaveLength(2));
    expect(engine.callsOf("save_okta")[1].args.request).toMatchObject({ identitySourceId: "0oaSRC2" });
    await waitFor(() => expect(input("okta-identity-source-id").value).toBe("0oaSRC2"));
    await waitFor(() => expect(text("okta-save-status")).toContain("Saved"));

    await fireEvent.input(input("okta-identity-source-id"), { target: { value: "" } });
    await fireEvent.click(button("okta-save"));
    await waitFor(() => expect(engine.callsOf("save_okta")).toHaveLength(3));
    expect(engine.callsOf("save_okta")[2].args.request).toMatchObject({ identitySourceId: "" });
    expect(engine.profiles[0].okta.identitySourceId).toBeNull();
  });
});
