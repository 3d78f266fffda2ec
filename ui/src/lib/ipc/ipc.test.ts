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

describe("automated setup and review commands (docs/setup.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return cmd === "cancel_microsoft_sign_in" ? null : { cmd };
    });
    const channel = expect.stringMatching(/^__CHANNEL__:\d+$/);
    const signIn = { profileId: "p1", method: "deviceCode" as const, tenant: null, publicClientId: null };
    const app = { profileId: "p1", sessionId: "s1", appName: "okta365", credential: { kind: "secret" as const, lifetimeMonths: 12 } };
    const okta = { profileId: "p1", apiToken: null, appName: "okta365" };

    await ipc.startMicrosoftSignIn(signIn);
    await ipc.finishMicrosoftSignIn("s1");
    await expect(ipc.cancelMicrosoftSignIn("s1")).resolves.toBeNull();
    await ipc.planMicrosoftApp(app);
    await ipc.applyMicrosoftApp(app);
    await ipc.planOktaApp(okta);
    await ipc.applyOktaApp(okta);
    await ipc.forgetOktaApiToken("p1");
    await ipc.review("p1");
    await ipc.openInBrowser("https://microsoft.com/devicelogin");

    expect(seen).toEqual([
      ["start_microsoft_sign_in", { request: signIn }],
      ["finish_microsoft_sign_in", { sessionId: "s1", onProgress: channel }],
      ["cancel_microsoft_sign_in", { sessionId: "s1" }],
      ["plan_microsoft_app", { request: app }],
      ["apply_microsoft_app", { request: app, onProgress: channel }],
      ["plan_okta_app", { request: okta }],
      ["apply_okta_app", { request: okta, onProgress: channel }],
      ["forget_okta_api_token", { profileId: "p1" }],
      ["review", { profileId: "p1", onProgress: channel }],
      ["open_in_browser", { url: "https://microsoft.com/devicelogin" }],
    ]);
  });

  it("the long ones stream their reports to onProgress", async () => {
    mockIPC((cmd, args) => {
      sendOnChannel((args as { onProgress: { id: number } }).onProgress, 0, { operation: cmd, step: "done", done: 1, total: 1, message: "Done" });
      return { cmd };
    });
    const heard: string[] = [];
    const hear = (p: Progress) => heard.push(p.operation);
    const app = { profileId: "p1", sessionId: "s1", appName: "a", credential: { kind: "certificate" as const, lifetimeMonths: 24 } };
    await ipc.finishMicrosoftSignIn("s1", hear);
    await ipc.applyMicrosoftApp(app, hear);
    await ipc.applyOktaApp({ profileId: "p1", apiToken: "t", appName: "a" }, hear);
    await ipc.review("p1", hear);
    expect(heard).toEqual(["finish_microsoft_sign_in", "apply_microsoft_app", "apply_okta_app", "review"]);
  });

  it("the setup's error codes are kept: permission_denied, sign_in_failed, cancelled", async () => {
    for (const code of ["permission_denied", "sign_in_failed", "cancelled"] as const) {
      mockIPC(() => {
        throw { code, message: `because ${code}` };
      });
      const error = await ipc.finishMicrosoftSignIn("s1").catch((e: unknown) => e);
      expect(error, `${code} is a code the UI branches on, not an internal error`).toMatchObject({ code, message: `because ${code}` });
    }
  });
});

describe("provisioning commands (docs/provisioning.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return cmd === "list_runs" || cmd === "resume_runs" || cmd === "reconcile" ? [] : { cmd };
    });
    const channel = expect.stringMatching(/^__CHANNEL__:\d+$/);
    const settings = {
      username: { kind: "emailLocalPart" as const, domain: "contoso.com" },
      attributes: [{ okta: "title", graph: "jobTitle" }],
      guestRedirectUrl: "https://myapps.microsoft.com",
      guestSendInvitation: true,
      guestRemoval: "delete" as const,
      guardMaxUsers: 10,
      guardMaxPercent: 5,
      pollIntervalSecs: 60,
      reconcileEveryMins: null,
    };
    const filter = { operation: "guests" as const, status: null, user: "ada", limit: 50 };

    await ipc.provisioningSettings("p1");
    await ipc.setProvisioningSettings("p1", settings);
    await ipc.previewUsernames("p1", { kind: "email" });
    await ipc.planRun({ profileId: "p1", operation: "memberAccounts", users: null, trigger: "manual" });
    await ipc.applyRun("r1", 12);
    await ipc.discardRun("r1");
    await ipc.listRuns("p1", filter);
    await ipc.runDetail("r1");
    await ipc.exportRun("r1", "csv");
    await ipc.deleteRun("r1");
    await ipc.resumeRuns();
    await ipc.pollSystemLog("p1");
    await ipc.reconcile("p1", null);
    await ipc.testRun({ profileId: "p1", operation: "memberAccounts", oktaUserId: null });
    await ipc.cleanupTestUser("p1", "00u1");

    expect(seen).toEqual([
      ["provisioning_settings", { profileId: "p1" }],
      ["set_provisioning_settings", { profileId: "p1", settings }],
      ["preview_usernames", { profileId: "p1", format: { kind: "email" } }],
      ["plan_run", { request: { profileId: "p1", operation: "memberAccounts", users: null, trigger: "manual" } }],
      ["apply_run", { runId: "r1", confirmDestructive: 12, onProgress: channel }],
      ["discard_run", { runId: "r1" }],
      ["list_runs", { profileId: "p1", filter }],
      ["run_detail", { runId: "r1" }],
      ["export_run", { runId: "r1", format: "csv" }],
      ["delete_run", { runId: "r1" }],
      ["resume_runs", { onProgress: channel }],
      ["poll_system_log", { profileId: "p1", onProgress: channel }],
      ["reconcile", { profileId: "p1", operation: null }],
      ["test_run", { request: { profileId: "p1", operation: "memberAccounts", oktaUserId: null }, onProgress: channel }],
      ["cleanup_test_user", { profileId: "p1", oktaUserId: "00u1" }],
    ]);
  });

  it("applyRun streams each step to onProgress and answers the run summary", async () => {
    const summary = { runId: "r1", status: "succeeded" };
    mockIPC((_cmd, args) => {
      const { onProgress } = args as { onProgress: { id: number } };
      sendOnChannel(onProgress, 0, { operation: "run", step: "1", done: 0, total: 2, message: "Creating ada" });
      sendOnChannel(onProgress, 1, { operation: "run", step: "2", done: 1, total: 2, message: "Creating bob" });
      return summary;
    });
    const seen: Progress[] = [];
    await expect(ipc.applyRun("r1", null, (p) => seen.push(p))).resolves.toEqual(summary);
    await new Promise((r) => setTimeout(r, 0));
    expect(seen.map((p) => p.step)).toEqual(["1", "2"]);
  });
});


describe("lifecycle commands (docs/licensing.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return { cmd };
    });
    const channel = expect.stringMatching(/^__CHANNEL__:\d+$/);
    const template = { subject: "Gone: {{user.displayName}}", body: "Bye" };
    const settings = { delaySecs: 34_560_000, revokeSessions: true, senderMailbox: "it@contoso.com", templates: { disabled: template, licensesRemoved: template, activated: template } };
    const request = { profileId: "p1", stage: "disabled" as const, oktaUserId: null, template };

    await ipc.lifecycleSettings("p1");
    await ipc.setLifecycleSettings("p1", settings);
    await ipc.previewManagerEmail(request);
    await ipc.listStages("p1", true);
    await ipc.cancelStage(7);
    await ipc.runStageNow(7);
    await ipc.runDueStages(null);
    await ipc.runDueStages("p1");
    await ipc.planUndo("r1");
    await ipc.seatHistory("p1", 90);

    expect(seen).toEqual([
      ["lifecycle_settings", { profileId: "p1" }],
      ["set_lifecycle_settings", { profileId: "p1", settings }],
      ["preview_manager_email", { request }],
      ["list_stages", { profileId: "p1", includeFinished: true }],
      ["cancel_stage", { stageId: 7 }],
      ["run_stage_now", { stageId: 7, onProgress: channel }],
      ["run_due_stages", { profileId: null, onProgress: channel }],
      ["run_due_stages", { profileId: "p1", onProgress: channel }],
      ["plan_undo", { runId: "r1" }],
      ["seat_history", { profileId: "p1", days: 90 }],
    ]);
    expect(typeof (seen[1][1].settings as { delaySecs: unknown }).delaySecs, "the delay travels as a JSON number").toBe("number");
  });
});

describe("import commands (docs/imports.md)", () => {
  it("call each command with the argument names the Tauri commands take", async () => {
    const seen: Array<[string, Record<string, unknown>]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, JSON.parse(JSON.stringify(args ?? {})) as Record<string, unknown>]);
      return cmd === "list_imports" || cmd === "preview_mapping" ? [] : null;
    });
    const channel = expect.stringMatching(/^__CHANNEL__:\d+$/);
    const source = { kind: "http" as const, url: "https://hr.example.com/users", recordsPointer: "/data", nextField: "/next", authHeader: "Authorization" };
    const mapping = { externalId: { kind: "column" as const, column: "id" }, attributes: [], active: null };
    const request = { profileId: "p1", sourceName: "hr", delta: true, fullResync: false, maxRejectPercent: 1, maxDeactivations: 10 };

    await ipc.previewSource("p1", source);
    await ipc.suggestMapping("p1", source, "hr");
    await ipc.previewMapping("p1", source, mapping, "hr");
    await ipc.setImportSourceSecret("p1", "hr", "Bearer x");
    await ipc.setImportSourceSecret("p1", "hr", null);
    await ipc.importMapping("p1", "hr");
    await ipc.saveImportMapping("p1", "hr", source, mapping);
    await ipc.planImport(request);
    await ipc.applyImport("i1", 8);
    await ipc.importRejects("i1");
    await ipc.listImports("p1");
    await ipc.setImportSchedule("p1", "hr", null);
    await ipc.importSchedule("p1", "hr");

    expect(seen).toEqual([
      ["preview_source", { profileId: "p1", source, sourceName: null }],
      ["suggest_mapping", { profileId: "p1", source, sourceName: "hr" }],
      ["preview_mapping", { profileId: "p1", source, mapping, sourceName: "hr" }],
      ["set_import_source_secret", { profileId: "p1", sourceName: "hr", value: "Bearer x" }],
      ["set_import_source_secret", { profileId: "p1", sourceName: "hr", value: null }],
      ["import_mapping", { profileId: "p1", sourceName: "hr" }],
      ["save_import_mapping", { profileId: "p1", sourceName: "hr", source, mapping }],
      ["plan_import", { request }],
      ["apply_import", { importId: "i1", confirmDeactivations: 8, onProgress: channel }],
      ["import_rejects", { importId: "i1" }],
      ["list_imports", { profileId: "p1" }],
      ["set_import_schedule", { profileId: "p1", sourceName: "hr", schedule: null }],
      ["import_schedule", { profileId: "p1", sourceName: "hr" }],
    ]);
  });

  it("applyImport streams records uploaded to onProgress and answers the run summary", async () => {
    mockIPC((_cmd, args) => {
      const { onProgress } = args as { onProgress: { id: number } };
      sendOnChannel(onProgress, 0, { operation: "import", step: "3", done: 200, total: 400, message: "Upload users: session 1 of 1" });
      sendOnChannel(onProgress, 1, { operation: "import", step: "4", done: 400, total: 400, message: "Upload users: session 1 of 1" });
      return { runId: "i1", status: "succeeded" };
    });
    const reports: Progress[] = [];
    const summary = await ipc.applyImport("i1", null, (p) => reports.push(p));
    expect(summary).toMatchObject({ runId: "i1", status: "succeeded" });
    await new Promise((r) => setTimeout(r, 0));
    expect(reports.map((r) => r.done)).toEqual([200, 400]);
  });
});
