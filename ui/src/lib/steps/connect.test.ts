// The connection steps rendered in the app frame against the fake engine: what the admin does on the
// Microsoft, Okta and Credentials steps, and what reaches the backend.
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
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
  vi.unstubAllGlobals();
});

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);
const input = (id: string) => byTestId(id) as HTMLInputElement;
const button = (id: string) => byTestId(id) as HTMLButtonElement;

async function open(step: StepId, setup: (profileId: string) => void = () => {}) {
  const profile = engine.addProfile({ wizardStep: step });
  engine.activeId = profile.id;
  setup(profile.id);
  render(App);
  await waitFor(() => expect(byTestId(`step-${step}`)).not.toBeNull());
  return profile;
}

async function type(id: string, value: string) {
  await fireEvent.input(byTestId(id)!, { target: { value } });
  await fireEvent.blur(byTestId(id)!);
}

describe("Microsoft step", () => {
  it("a sandbox profile's values are filled in and checked; an empty secret keeps the stored one", async () => {
    const p = await open("microsoft", (id) => engine.store(id, "entra.client_secret", { hint: "Xy7" }));
    await waitFor(() => expect(input("ms-secret").placeholder).toContain("Xy7••••"));
    expect(input("ms-secret").placeholder).toContain("•••• stored in the OS keychain");
    expect(input("ms-secret").value).toBe("");
    await waitFor(() => expect(engine.callsOf("validate_field").map((c) => c.args.field)).toEqual(["msTenant", "msClientId"]));

    await fireEvent.click(button("ms-save"));
    await waitFor(() => expect(engine.callsOf("save_microsoft")).toHaveLength(1));
    expect(engine.callsOf("save_microsoft")[0].args).toEqual({
      request: {
        profileId: p.id,
        tenant: "contoso.onmicrosoft.com",
        clientId: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
        credential: null,
      },
    });
    await waitFor(() => expect(byTestId("ms-save-status")?.textContent).toContain("Saved"));
  });

  it("a client id that is really a secret ID is named as such and Save stays disabled until fixed", async () => {
    await open("microsoft");
    await type("ms-client-id", "b3c1f0e2-secret-id");
    await waitFor(() => expect(byTestId("ms-client-id-message")?.textContent).toContain("you pasted the secret ID from Certificates & secrets"));
    expect(input("ms-client-id").getAttribute("aria-invalid")).toBe("true");
    expect(button("ms-save").disabled).toBe(true);
    await type("ms-client-id", "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14");
    await waitFor(() => expect(button("ms-save").disabled).toBe(false));
    expect(byTestId("ms-client-id-message")).toBeNull();
  });

  it("a new secret and its expiry are saved, then the field is emptied and never shows the secret again", async () => {
    const p = await open("microsoft");
    await type("ms-secret", "Q~new-secret-value");
    await fireEvent.input(byTestId("ms-secret-expiry")!, { target: { value: "2026-10-01" } });
    await fireEvent.click(button("ms-save"));
    await waitFor(() => expect(engine.callsOf("save_microsoft")).toHaveLength(1));
    expect(engine.callsOf("save_microsoft")[0].args.request).toMatchObject({
      profileId: p.id,
      credential: { kind: "secret", secret: "Q~new-secret-value", expiresAt: "2026-10-01" },
    });
    await waitFor(() => expect(input("ms-secret").value).toBe(""));
    expect(input("ms-secret").placeholder).toContain("Q~n••••");
    expect(document.body.innerHTML).not.toContain("Q~new-secret-value");
  });

  it("certificate: the PEM textarea is checked, a PFX file takes its place with a password", async () => {
    const p = await open("microsoft");
    await fireEvent.change(byTestId("ms-credential-kind")!, { target: { value: "certificate" } });
    expect(byTestId("ms-certificate")?.tagName).toBe("TEXTAREA");
    await type("ms-certificate", "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----");
    await waitFor(() => expect(byTestId("ms-certificate-message")?.textContent).toContain("both the certificate and its private key"));

    const pfx = new File([new Uint8Array([0x30, 0x82, 0x01])], "okta365.pfx", { type: "application/x-pkcs12" });
    await fireEvent.change(byTestId("ms-pfx-file")!, { target: { files: [pfx] } });
    await waitFor(() => expect(byTestId("ms-pfx-password")).not.toBeNull());
    expect((byTestId("ms-certificate") as HTMLTextAreaElement).disabled).toBe(true);
    await fireEvent.input(byTestId("ms-pfx-password")!, { target: { value: "pfx-pass" } });
    await waitFor(() => expect(button("ms-save").disabled).toBe(false));
    await fireEvent.click(button("ms-save"));
    await waitFor(() => expect(engine.callsOf("save_microsoft")).toHaveLength(1));
    expect(engine.callsOf("save_microsoft")[0].args.request).toMatchObject({
      profileId: p.id,
      credential: { kind: "certificatePfx", pfxBase64: "MIIB", password: "pfx-pass" },
    });
  });

  it("Test connection shows the live checklist, then the result; it is kept when coming back", async () => {
    await open("microsoft", (id) => engine.store(id, "entra.client_secret", { hint: "abc" }));
    const gate = deferred();
    engine.testGate = gate.promise;
    engine.tests.microsoft.ok = false;
    engine.tests.microsoft.steps[2] = {
      id: "permissions:guests",
      label: "Permissions for guest accounts",
      status: "failed",
      detail: "Missing: User.Invite.All",
      fix: "Grant User.Invite.All",
      link: "https://entra.microsoft.com/x",
    };
    await waitFor(() => expect(button("ms-test").disabled).toBe(false));
    await fireEvent.click(button("ms-test"));
    await waitFor(() => expect(byTestId("live-token")).not.toBeNull());
    expect(button("ms-test").getAttribute("aria-busy")).toBe("true");
    gate.resolve();
    await waitFor(() => expect(byTestId("test-result")?.getAttribute("data-status")).toBe("failed"));
    expect(byTestId("check-permissions:guests")?.textContent).toContain("How to fix: Grant User.Invite.All");

    await fireEvent.click(byTestId("rail-step-okta")!);
    await waitFor(() => expect(byTestId("step-okta")).not.toBeNull());
    await fireEvent.click(byTestId("rail-step-microsoft")!);
    await waitFor(() => expect(byTestId("test-result")?.getAttribute("data-status")).toBe("failed"));
  });

  it("operations are checkboxes saved at once", async () => {
    const p = await open("microsoft");
    await waitFor(() => expect(byTestId("operation-imports")).not.toBeNull());
    expect(input("operation-imports").checked).toBe(false);
    expect(input("operation-guests").checked).toBe(true);
    await fireEvent.click(input("operation-guests"));
    await waitFor(() => expect(engine.callsOf("set_operations")).toHaveLength(1));
    expect(engine.callsOf("set_operations")[0].args).toEqual({
      profileId: p.id,
      operations: ["licenses", "memberAccounts", "profileSync", "deactivation", "activation", "managerEmail"],
    });
    await waitFor(() => expect(input("operation-guests").checked).toBe(false));
  });

  it("the operations, what they do and what they need come from the engine's table, asked for once", async () => {
    engine.requirements = engine.requirements.map((row) =>
      row.operation === "guests"
        ? { ...row, label: "Partner guests", description: "Served by the engine.", graphRoles: [["User.Invite.All"], ["Directory.ReadWrite.All", "User.ReadWrite.All"]] }
        : row,
    );
    await open("microsoft");
    await waitFor(() => expect(byTestId("operation-guests")).not.toBeNull());
    const ids = [...document.querySelectorAll("[data-testid^='operation-']")].map((e) => e.getAttribute("data-testid"));
    expect(ids, "one checkbox per row, in the engine's order").toEqual(engine.requirements.map((r) => `operation-${r.operation}`));
    const guests = byTestId("operation-guests")!.closest("label")!.textContent!;
    expect(guests).toContain("Partner guests");
    expect(guests).toContain("Served by the engine.");
    expect(guests).toContain("User.Invite.All + Directory.ReadWrite.All or User.ReadWrite.All");
    expect(byTestId("operation-imports")!.closest("label")!.textContent).toContain("No Microsoft permission");

    await fireEvent.click(byTestId("rail-step-okta")!);
    await waitFor(() => expect(byTestId("step-okta")).not.toBeNull());
    await fireEvent.change(byTestId("okta-auth-kind")!, { target: { value: "serviceApp" } });
    await waitFor(() => expect(byTestId("okta-scopes")).not.toBeNull());
    expect(engine.callsOf("requirements"), "the table is cached after the first answer").toHaveLength(1);
  });

  it("when the table cannot be loaded, the card says why and Try again asks once more", async () => {
    engine.failNext.set("requirements", { code: "internal", message: "The engine is not ready." });
    await open("microsoft");
    await waitFor(() => expect(byTestId("operations-error")).not.toBeNull());
    expect(byTestId("operations-error")!.textContent).toContain("The engine is not ready.");
    expect(byTestId("operation-guests")).toBeNull();
    await fireEvent.click(screen.getByRole("button", { name: "Try again" }));
    await waitFor(() => expect(byTestId("operation-guests")).not.toBeNull());
    expect(byTestId("operations-error")).toBeNull();
    expect(engine.callsOf("requirements")).toHaveLength(2);
  });
});

describe("Okta step", () => {
  it("Generate key pair shows the public JWK, the console steps and the scopes; Copy uses the clipboard", async () => {
    const writeText = vi.fn(async () => {});
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    const p = await open("okta");
    await fireEvent.change(byTestId("okta-auth-kind")!, { target: { value: "serviceApp" } });
    expect(byTestId("okta-public-jwk")).toBeNull();

    await fireEvent.click(button("okta-generate-key"));
    await waitFor(() => expect(byTestId("okta-public-jwk")).not.toBeNull());
    expect(engine.callsOf("generate_okta_key").map((c) => c.args)).toEqual([{ profileId: p.id }]);
    const jwk = byTestId("okta-public-jwk")!.textContent!;
    expect(JSON.parse(jwk)).toMatchObject({ kty: "EC", kid: "k1" });
    expect(screen.getByText(/Okta API Scopes/)).toBeTruthy();
    expect(screen.getByText(/Admin roles/)).toBeTruthy();
    expect([...document.querySelectorAll("[data-testid='okta-scopes'] code")].map((c) => c.textContent)).toEqual([
      "okta.groups.read",
      "okta.logs.read",
      "okta.users.read",
    ]);

    await fireEvent.click(button("okta-copy-jwk"));
    await waitFor(() => expect(button("okta-copy-jwk").textContent).toContain("Copied"));
    expect(writeText).toHaveBeenCalledWith(jwk);

    // The generated key is stored: Save sends the client id and the key id, no private key.
    await type("okta-client-id", "0oa1service");
    await fireEvent.click(button("okta-save"));
    await waitFor(() => expect(engine.callsOf("save_okta")).toHaveLength(1));
    expect(engine.callsOf("save_okta")[0].args.request).toEqual({
      profileId: p.id,
      orgUrl: "http://127.0.0.1:41234",
      auth: { kind: "serviceApp", clientId: "0oa1service", privateKey: null, keyId: "k1" },
    });
  });

  it("lists the scopes the enabled operations need, taken from the engine's table", async () => {
    await open("okta", (id) => {
      engine.profiles.find((p) => p.id === id)!.operations = ["licenses", "imports"];
    });
    await fireEvent.change(byTestId("okta-auth-kind")!, { target: { value: "serviceApp" } });
    const scopes = () => [...document.querySelectorAll("[data-testid='okta-scopes'] code")].map((c) => c.textContent);
    // licenses: okta.groups.read; imports: okta.identitySources.manage, okta.users.read.
    await waitFor(() => expect(scopes()).toEqual(["okta.groups.read", "okta.identitySources.manage", "okta.users.read"]));
    expect(scopes(), "okta.logs.read belongs to operations that are not enabled").not.toContain("okta.logs.read");

    // The step shows what the engine serves, not a copy of its own.
    cleanup();
    clearMocks();
    engine = installFakeEngine();
    engine.requirements = engine.requirements.map((row) =>
      row.operation === "licenses" ? { ...row, oktaScopes: ["okta.groups.read", "okta.apps.read"] } : row,
    );
    await open("okta", (id) => {
      engine.profiles.find((p) => p.id === id)!.operations = ["licenses"];
    });
    await fireEvent.change(byTestId("okta-auth-kind")!, { target: { value: "serviceApp" } });
    await waitFor(() => expect(scopes()).toEqual(["okta.apps.read", "okta.groups.read"]));
  });

  it("without a usable Clipboard API, Copy selects the JWK for Ctrl+C", async () => {
    vi.stubGlobal("navigator", { ...navigator, clipboard: undefined });
    await open("okta");
    await fireEvent.change(byTestId("okta-auth-kind")!, { target: { value: "serviceApp" } });
    await fireEvent.click(button("okta-generate-key"));
    await waitFor(() => expect(byTestId("okta-public-jwk")).not.toBeNull());
    await fireEvent.click(button("okta-copy-jwk"));
    await waitFor(() => expect(screen.getByText(/press Ctrl\+C/)).toBeTruthy());
    expect(window.getSelection()?.toString()).toBe(byTestId("okta-public-jwk")!.textContent);
  });

  it("an admin console URL is accepted with a note, and saved without -admin", async () => {
    const p = await open("okta");
    await type("okta-org-url", "https://acme-admin.okta.com");
    await waitFor(() => expect(byTestId("okta-org-url-message")?.textContent).toContain("“-admin” was removed"));
    await type("okta-api-token", "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd");
    await fireEvent.click(button("okta-save"));
    await waitFor(() => expect(engine.callsOf("save_okta")).toHaveLength(1));
    expect(engine.callsOf("save_okta")[0].args.request).toEqual({
      profileId: p.id,
      orgUrl: "https://acme.okta.com",
      auth: { kind: "apiToken", token: "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd" },
    });
  });
});

describe("Credentials step", () => {
  it("says so when nothing is stored", async () => {
    await open("credentials");
    await waitFor(() => expect(byTestId("credentials-empty")).not.toBeNull());
    expect(byTestId("credentials-empty")?.textContent).toContain("No credentials stored yet");
  });

  it("lists each credential with its countdown and a warning from 30 days", async () => {
    const p = engine.addProfile({ name: "Contoso" });
    engine.store(p.id, "entra.client_secret", { hint: "abc", expiresAt: "2026-03-24T00:00:00Z", daysLeft: 23, expiryWarning: true });
    engine.store(p.id, "okta.api_token", { expiresAt: "2026-02-26T00:00:00Z", daysLeft: -3, expiryWarning: true });
    engine.store(p.id, "okta.private_key", { hint: "k9" });
    await open("credentials");
    await waitFor(() => expect(byTestId("credential-entra.client_secret")).not.toBeNull());
    const secret = byTestId("credential-entra.client_secret")!;
    expect(secret.textContent).toContain("Contoso");
    expect(secret.textContent).toContain("abc••••");
    expect(byTestId("credential-countdown-entra.client_secret")?.textContent).toMatch(/Soon\s*in 23 days/);
    expect(byTestId("credential-countdown-okta.api_token")?.textContent).toMatch(/Expired\s*expired 3 days ago/);
    expect(byTestId("credential-countdown-okta.private_key")?.textContent).toContain("No expiry date known");
    expect(input("credential-expiry-entra.client_secret").value).toBe("2026-03-24");
  });

  it("Delete asks first, naming what goes; Keep it cancels, Delete removes it", async () => {
    const p = engine.addProfile({ name: "Contoso" });
    engine.store(p.id, "entra.client_secret", { hint: "abc" });
    await open("credentials");
    await waitFor(() => expect(byTestId("credential-delete-entra.client_secret")).not.toBeNull());

    await fireEvent.click(button("credential-delete-entra.client_secret"));
    const question = byTestId("credential-confirm-entra.client_secret");
    expect(question?.textContent).toContain("Delete the Entra client secret of “Contoso” from the OS keychain?");
    expect(engine.callsOf("delete_credential"), "nothing is deleted before the confirmation").toHaveLength(0);
    await fireEvent.click(button("credential-delete-cancel-entra.client_secret"));
    expect(byTestId("credential-confirm-entra.client_secret")).toBeNull();
    expect(engine.callsOf("delete_credential")).toHaveLength(0);

    await fireEvent.click(button("credential-delete-entra.client_secret"));
    await fireEvent.click(button("credential-delete-confirm-entra.client_secret"));
    await waitFor(() => expect(byTestId("credentials-empty")).not.toBeNull());
    expect(engine.callsOf("delete_credential").map((c) => c.args)).toEqual([{ profileId: p.id, kind: "entra.client_secret" }]);
  });

  it("Set expiry saves the date; Test runs the matching test and shows it under the row", async () => {
    const p = engine.addProfile({ name: "Contoso" });
    engine.store(p.id, "okta.api_token", { hint: "00a" });
    await open("credentials");
    await waitFor(() => expect(byTestId("credential-expiry-okta.api_token")).not.toBeNull());
    await fireEvent.change(byTestId("credential-expiry-okta.api_token")!, { target: { value: "2026-12-31" } });
    await waitFor(() => expect(engine.callsOf("set_credential_expiry")).toHaveLength(1));
    expect(engine.callsOf("set_credential_expiry")[0].args).toEqual({ profileId: p.id, kind: "okta.api_token", expiresAt: "2026-12-31" });

    await fireEvent.click(button("credential-test-okta.api_token"));
    await waitFor(() => expect(byTestId("test-result")?.getAttribute("data-status")).toBe("ok"));
    expect(engine.callsOf("test_okta").map((c) => c.args.profileId)).toEqual([p.id]);
    expect(engine.callsOf("test_microsoft")).toHaveLength(0);
  });

  it("Replace: a client secret inline; a private key on the Okta step's field", async () => {
    const p = await open("credentials", (id) => {
      engine.store(id, "entra.client_secret", { hint: "abc" });
      engine.store(id, "okta.private_key", { hint: "k1" });
    });
    await waitFor(() => expect(byTestId("credential-replace-entra.client_secret")).not.toBeNull());

    await fireEvent.click(button("credential-replace-entra.client_secret"));
    await fireEvent.input(byTestId("credential-new-entra.client_secret")!, { target: { value: "Q~replaced" } });
    await fireEvent.click(button("credential-save-entra.client_secret"));
    await waitFor(() => expect(engine.callsOf("save_microsoft")).toHaveLength(1));
    expect(engine.callsOf("save_microsoft")[0].args.request).toMatchObject({
      profileId: p.id,
      tenant: "contoso.onmicrosoft.com",
      credential: { kind: "secret", secret: "Q~replaced", expiresAt: null },
    });
    await waitFor(() => expect(byTestId("credential-new-entra.client_secret")).toBeNull());

    engine.profiles[0].okta = { ...engine.profiles[0].okta, auth: "serviceApp" };
    await fireEvent.click(button("credential-replace-okta.private_key"));
    await waitFor(() => expect(byTestId("step-okta")).not.toBeNull());
  });
});
