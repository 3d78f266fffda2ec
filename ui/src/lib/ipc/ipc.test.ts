import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { sendOnChannel } from "../../test/fake-engine";
import { IpcError, ipc, toIpcError, type Progress } from "./index";

afterEach(() => clearMocks());

describe("ipc commands", () => {
  it("call the Tauri commands of docs/architecture.md with camelCase argument names", async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      return cmd === "list_profiles" ? [] : cmd === "remove_profile" ? null : { ok: cmd };
    });

    await ipc.appInfo();
    await ipc.listProfiles();
    await ipc.createSandboxProfile({ name: null, url: null });
    await ipc.selectProfile("p1");
    await ipc.removeProfile("p1");
    await ipc.setWizardStep("p1", "okta");

    expect(seen.map(([cmd]) => cmd)).toEqual([
      "app_info",
      "list_profiles",
      "create_sandbox_profile",
      "select_profile",
      "remove_profile",
      "set_wizard_step",
    ]);
    expect(seen[2][1]).toMatchObject({ request: { name: null, url: null } });
    expect(seen[3][1]).toEqual({ id: "p1" });
    expect(seen[5][1]).toEqual({ id: "p1", step: "okta" });
  });

  it("return the backend's answer unchanged", async () => {
    const info = {
      version: "0.1.0",
      buildKind: "release",
      dataDir: "/d",
      logDir: "/d/logs",
      activeProfileId: null,
    };
    mockIPC(() => info);
    await expect(ipc.appInfo()).resolves.toEqual(info);
  });
});

describe("connection commands (docs/connections.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return cmd === "list_credentials" ? [] : { cmd };
    });

    await ipc.validateField("msClientId", "abc");
    await ipc.requirements();
    await ipc.createTenantProfile("Contoso");
    await ipc.saveMicrosoft({
      profileId: "p1",
      tenant: "contoso.onmicrosoft.com",
      clientId: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
      credential: { kind: "secret", secret: "s3cr3t", expiresAt: "2026-10-01" },
    });
    await ipc.saveOkta({ profileId: "p1", orgUrl: "https://acme.okta.com", auth: { kind: "apiToken", token: null } });
    await ipc.generateOktaKey("p1");
    await ipc.setOperations("p1", ["licenses", "guests"]);
    await ipc.testMicrosoft("p1");
    await ipc.testOkta("p1");
    await ipc.listCredentials();
    await ipc.deleteCredential("p1", "okta.api_token");
    await ipc.setCredentialExpiry("p1", "entra.client_secret", null);

    expect(seen).toEqual([
      ["validate_field", { field: "msClientId", value: "abc" }],
      ["requirements", {}],
      ["create_tenant_profile", { name: "Contoso" }],
      [
        "save_microsoft",
        {
          request: {
            profileId: "p1",
            tenant: "contoso.onmicrosoft.com",
            clientId: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
            credential: { kind: "secret", secret: "s3cr3t", expiresAt: "2026-10-01" },
          },
        },
      ],
      ["save_okta", { request: { profileId: "p1", orgUrl: "https://acme.okta.com", auth: { kind: "apiToken", token: null } } }],
      ["generate_okta_key", { profileId: "p1" }],
      ["set_operations", { profileId: "p1", operations: ["licenses", "guests"] }],
      ["test_microsoft", { profileId: "p1", onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) }],
      ["test_okta", { profileId: "p1", onProgress: expect.stringMatching(/^__CHANNEL__:\d+$/) }],
      ["list_credentials", {}],
      ["delete_credential", { profileId: "p1", kind: "okta.api_token" }],
      ["set_credential_expiry", { profileId: "p1", kind: "entra.client_secret", expiresAt: null }],
    ]);
  });

  it("testOkta streams each check to onProgress and answers the ConnectionTest", async () => {
    const heard: string[] = [];
    const result = { target: "okta", ok: false, steps: [], testedAt: "2026-03-01T10:00:00Z" };
    mockIPC((_cmd, args) => {
      const { onProgress } = args as { onProgress: { id: number } };
      sendOnChannel(onProgress, 0, { operation: "test_okta", step: "token", done: 0, total: 2, message: "Token" });
      sendOnChannel(onProgress, 1, { operation: "test_okta", step: "scope:okta.users.read", done: 1, total: 2, message: "Users" });
      return result;
    });
    await expect(ipc.testOkta("p1", (p) => heard.push(p.step))).resolves.toEqual(result);
    expect(heard).toEqual(["token", "scope:okta.users.read"]);
  });

  it("a refused save rejects with the engine's code and message", async () => {
    mockIPC(() => {
      throw { code: "invalid_input", message: "The PFX password is wrong; type it again." };
    });
    const error = await ipc
      .saveMicrosoft({ profileId: "p1", tenant: "t", clientId: "c", credential: { kind: "certificatePfx", pfxBase64: "AA==", password: "x" } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({ code: "invalid_input", message: "The PFX password is wrong; type it again." });
  });
});

describe("progress", () => {
  const report = (step: string, done: number): Progress => ({
    operation: "create_sandbox_profile",
    step,
    done,
    total: 4,
    message: `step ${step}`,
  });

  const send = sendOnChannel;

  it("createSandboxProfile hands the command a channel named onProgress and calls back with each report, in order", async () => {
    const heard: Progress[] = [];
    let wire: unknown;
    mockIPC((cmd, args) => {
      const { onProgress } = args as { onProgress: { id: number; toJSON(): string } };
      wire = JSON.parse(JSON.stringify(args));
      // Out of order on purpose: Tauri numbers channel messages and the channel reorders them.
      send(onProgress, 1, report("credentials", 1));
      send(onProgress, 0, report("sandbox", 0));
      send(onProgress, 2, report("keychain", 2));
      return { id: "p1", cmd };
    });

    const profile = await ipc.createSandboxProfile({ name: "Lab", url: null }, (p) => heard.push(p));

    expect(profile).toEqual({ id: "p1", cmd: "create_sandbox_profile" });
    expect(heard.map((p) => [p.step, p.done])).toEqual([
      ["sandbox", 0],
      ["credentials", 1],
      ["keychain", 2],
    ]);
    // On the wire the channel is the reference Tauri's `Channel<Progress>` argument deserializes.
    expect(wire).toMatchObject({ request: { name: "Lab", url: null } });
    expect((wire as { onProgress: string }).onProgress).toMatch(/^__CHANNEL__:\d+$/);
  });

  it("without a handler the reports are dropped and the call still answers", async () => {
    mockIPC((_cmd, args) => {
      send((args as { onProgress: { id: number } }).onProgress, 0, report("sandbox", 0));
      return { id: "p1" };
    });
    await expect(ipc.createSandboxProfile({ name: null, url: null })).resolves.toEqual({ id: "p1" });
  });
});

describe("errors", () => {
  it("an ApiError rejection becomes an IpcError with the same code, message and details", async () => {
    mockIPC(() => {
      throw {
        code: "keychain_unavailable",
        message: "No Secret Service is running; start gnome-keyring.",
        details: { backend: "secret-service" },
      };
    });
    const error = await ipc.createSandboxProfile({ name: null, url: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect(error).toMatchObject({
      code: "keychain_unavailable",
      message: "No Secret Service is running; start gnome-keyring.",
      details: { backend: "secret-service" },
    });
  });

  it("a bare string rejection (e.g. an unknown command) becomes an internal error that keeps the text", async () => {
    mockIPC(() => {
      throw "command app_info not found";
    });
    const error = await ipc.appInfo().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe("internal");
    expect((error as IpcError).message).toContain("command app_info not found");
  });

  it("an object with an unknown code is not trusted as an ApiError", () => {
    const e = toIpcError({ code: "teapot", message: "short and stout" });
    expect(e.code).toBe("internal");
    expect(e.message).toContain("teapot");
  });

  it("an IpcError passes through untouched", () => {
    const original = new IpcError({ code: "not_found", message: "gone" });
    expect(toIpcError(original)).toBe(original);
  });
});

describe("groups and licenses commands (docs/setup.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return { cmd };
    });
    const channel = expect.stringMatching(/^__CHANNEL__:\d+$/);

    await ipc.setGroupNames("p1", [
      { role: "assignments", name: "M365 Licensed" },
      { role: "guests", name: "O365Guest" },
    ]);
    await ipc.planGroups("p1");
    await ipc.applyGroups("p1");
    await ipc.syncLicenses("p1");
    await ipc.listLicenses("p1");
    await ipc.setLicenseAssignments("p1", [{ role: "guests", skuId: "sku-1", disabledPlans: ["plan-a"] }]);
    await ipc.setUsageLocation("p1", "DE");
    await ipc.setUsageLocation("p1", null);

    expect(seen).toEqual([
      [
        "set_group_names",
        {
          profileId: "p1",
          groups: [
            { role: "assignments", name: "M365 Licensed" },
            { role: "guests", name: "O365Guest" },
          ],
        },
      ],
      ["plan_groups", { profileId: "p1" }],
      ["apply_groups", { profileId: "p1", onProgress: channel }],
      ["sync_licenses", { profileId: "p1", onProgress: channel }],
      ["list_licenses", { profileId: "p1" }],
      ["set_license_assignments", { profileId: "p1", assignments: [{ role: "guests", skuId: "sku-1", disabledPlans: ["plan-a"] }] }],
      ["set_usage_location", { profileId: "p1", code: "DE" }],
      ["set_usage_location", { profileId: "p1", code: null }],
    ]);
  });

  it("applyGroups and syncLicenses stream their reports to onProgress and answer the engine's result", async () => {
    mockIPC((cmd, args) => {
      const { onProgress } = args as { onProgress: { id: number } };
      sendOnChannel(onProgress, 0, { operation: cmd, step: "first", done: 0, total: 1, message: "First" });
      sendOnChannel(onProgress, 1, { operation: cmd, step: "done", done: 1, total: 1, message: "Done" });
      return { cmd };
    });
    const heard: string[] = [];
    await expect(ipc.applyGroups("p1", (p) => heard.push(`${p.operation}:${p.step}`))).resolves.toEqual({ cmd: "apply_groups" });
    await expect(ipc.syncLicenses("p1", (p) => heard.push(`${p.operation}:${p.step}`))).resolves.toEqual({ cmd: "sync_licenses" });
    expect(heard).toEqual(["apply_groups:first", "apply_groups:done", "sync_licenses:first", "sync_licenses:done"]);
  });

  it("a refused usage location rejects with the engine's message", async () => {
    mockIPC(() => {
      throw { code: "invalid_input", message: '"XX" is not an ISO 3166 alpha-2 country code.' };
    });
    await expect(ipc.setUsageLocation("p1", "XX")).rejects.toMatchObject({ code: "invalid_input", message: '"XX" is not an ISO 3166 alpha-2 country code.' });
  });
});
