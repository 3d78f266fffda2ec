// The automated setup's state against the fake engine: the Microsoft sign-in (device code pending then
// approved, declined, cancelled), the app plan and apply (a second plan has 0 changes), the Okta
// service app with a pasted or stored API token, and forgetting the token.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ipc, type Profile } from "../ipc";
import { FakeEngine, clearMocks, deferred, installFakeEngine } from "../../test/fake-engine";
import { NON_ADMIN } from "../../test/fake-setup";
import { MicrosoftAppSetup, OktaAppSetup, changesText, checkMonths } from "./app-setup.svelte";
import { ReviewRun, byUrgency } from "./review.svelte";

let engine: FakeEngine;
let profile: Profile;

beforeEach(() => {
  engine = installFakeEngine();
  profile = engine.out(engine.addProfile({ operations: ["licenses", "memberAccounts"] }));
});
afterEach(() => clearMocks());

async function signedIn(setup: MicrosoftAppSetup) {
  const admin = await setup.startSignIn();
  expect(admin, "the fake approves the sign-in").not.toBeNull();
  return admin!;
}

describe("MicrosoftAppSetup: sign-in", () => {
  it("device code: the code and link are shown while pending, then the signed-in admin and roles", async () => {
    const gate = deferred();
    engine.setup.signInGate = gate.promise;
    const setup = new MicrosoftAppSetup(ipc, profile);
    const done = setup.startSignIn();
    await expect.poll(() => setup.waiting).toBe(true);
    expect(setup.signIn?.userCode).toMatch(/^GB4KQ9ZL\d+$/);
    expect(setup.signIn?.verificationUri).toBe("http://127.0.0.1:41234/devicelogin");
    await expect.poll(() => setup.waitProgress?.step).toBe("pending");
    expect(setup.busy).toBe(true);
    gate.resolve();
    const admin = await done;
    expect(admin).toMatchObject({ account: "admin@contoso.onmicrosoft.com", roles: ["Global Administrator"], canGrantConsent: true });
    expect(setup.signIn, "the code is gone once used").toBeNull();
    expect(setup.waiting).toBe(false);
    expect(engine.callsOf("start_microsoft_sign_in")[0].args.request).toEqual({
      profileId: profile.id,
      method: "deviceCode",
      tenant: null,
      publicClientId: null,
    });
  });

  it("browser: the authorize URL is shown; the typed tenant is sent when the profile has none", async () => {
    const blank = engine.out(engine.addProfile({ msTenant: null, microsoft: null }));
    const gate = deferred();
    engine.setup.signInGate = gate.promise;
    const setup = new MicrosoftAppSetup(ipc, blank);
    setup.method = "browser";
    setup.tenant = " fabrikam.onmicrosoft.com ";
    const done = setup.startSignIn();
    await expect.poll(() => setup.signIn?.authorizeUrl ?? "").toContain("/fabrikam.onmicrosoft.com/oauth2/v2.0/authorize?");
    expect(setup.signIn?.userCode).toBeNull();
    gate.resolve();
    await done;
    expect(engine.callsOf("start_microsoft_sign_in")[0].args.request).toMatchObject({ method: "browser", tenant: "fabrikam.onmicrosoft.com" });
  });

  it("a typed public client id is sent; one the tenant refuses shows why", async () => {
    const setup = new MicrosoftAppSetup(ipc, profile);
    setup.publicClientId = " 04b07795-8ddb-461a-bbee-02f9e1bf7b46 ";
    expect(await setup.startSignIn()).toBeNull();
    expect(engine.callsOf("start_microsoft_sign_in")[0].args.request).toMatchObject({
      publicClientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    });
    expect(setup.signInError?.message).toContain("AADSTS65002");
  });

  it("a declined sign-in shows the engine's message; nothing is signed in", async () => {
    engine.setup.outcome = "decline";
    const setup = new MicrosoftAppSetup(ipc, profile);
    expect(await setup.startSignIn()).toBeNull();
    expect(setup.signInError?.code).toBe("sign_in_failed");
    expect(setup.signInError?.message).toContain("declined");
    expect(setup.admin).toBeNull();
    expect(setup.cancelled).toBe(false);
  });

  it("Cancel stops the wait: cancelled, not an error, and the engine forgets the session", async () => {
    engine.setup.signInGate = new Promise(() => {});
    const setup = new MicrosoftAppSetup(ipc, profile);
    const done = setup.startSignIn();
    await expect.poll(() => setup.waiting).toBe(true);
    const session = setup.signIn!.sessionId;
    await setup.cancelSignIn();
    expect(await done).toBeNull();
    expect(setup.cancelled).toBe(true);
    expect(setup.signInError).toBeNull();
    expect(engine.callsOf("cancel_microsoft_sign_in").map((c) => c.args)).toEqual([{ sessionId: session }]);
    expect(engine.setup.sessions.has(session)).toBe(false);
  });
});

describe("MicrosoftAppSetup: plan and apply", () => {
  it("Plan needs a sign-in and valid months; it lists every permission with its operations", async () => {
    const setup = new MicrosoftAppSetup(ipc, profile);
    expect(setup.blocked, "no admin yet").toBe(true);
    await signedIn(setup);
    setup.months = "36";
    expect(setup.monthsError).toBe("A credential lasts 1 to 24 months, not 36.");
    expect(await setup.makePlan()).toBeNull();
    setup.months = "6";
    const plan = await setup.makePlan();
    expect(plan).toMatchObject({ appName: "okta365", app: "create", servicePrincipal: "create", credentialAction: "create", appId: null });
    expect(plan?.permissions.map((p) => [p.value, p.operations, p.granted])).toEqual([
      ["Organization.Read.All", ["licenses"], false],
      ["User.ReadWrite.All", ["memberAccounts"], false],
    ]);
    expect(plan?.changes).toBe(5);
    expect(engine.callsOf("plan_microsoft_app")[0].args.request).toMatchObject({ credential: { kind: "secret", lifetimeMonths: 6 } });
  });

  it("Apply reports progress, saves the profile, answers 0 changes; planning again also says 0", async () => {
    const profiles: Profile[] = [];
    const setup = new MicrosoftAppSetup(ipc, profile, (p) => profiles.push(p));
    await signedIn(setup);
    setup.credentialKind = "certificate";
    await setup.makePlan();
    const gate = deferred();
    engine.setupGate = gate.promise;
    const applying = setup.apply();
    await expect.poll(() => setup.progress?.step).toBe("create_app");
    gate.resolve();
    const result = await applying;
    expect(result?.plan.changes).toBe(0);
    expect(result?.plan.credentialAction).toBe("keep");
    expect(result?.tokenRoles).toEqual(["Organization.Read.All", "User.ReadWrite.All"]);
    expect(setup.plan?.changes).toBe(0);
    expect(profiles.at(-1)?.microsoft).toMatchObject({ clientId: result?.plan.appId, credentialKind: "certificate" });

    engine.setupGate = null;
    const again = await setup.makePlan();
    expect(again?.changes, "a re-run changes nothing").toBe(0);
    expect(again?.app).toBe("exists");
    expect(again?.permissions.every((p) => p.granted)).toBe(true);
  });

  it("an admin who cannot grant consent gets a warning in the plan and a permission_denied error on apply", async () => {
    engine.setup.user = { ...NON_ADMIN };
    const setup = new MicrosoftAppSetup(ipc, profile);
    const admin = await signedIn(setup);
    expect(admin.canGrantConsent).toBe(false);
    const plan = await setup.makePlan();
    expect(plan?.warnings[0]).toContain("403 Authorization_RequestDenied");
    expect(await setup.apply()).toBeNull();
    expect(setup.error?.code).toBe("permission_denied");
    expect(setup.error?.message).toContain("Granting Organization.Read.All was refused");
  });
});

describe("OktaAppSetup", () => {
  it("without a stored token a pasted one is needed; with one it is used by default", async () => {
    const setup = new OktaAppSetup(ipc, profile);
    setup.setStored(await ipc.listCredentials());
    expect(setup.useStored).toBe(false);
    expect(setup.blocked).toBe(true);
    setup.apiToken = "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd";
    expect(setup.request()).toEqual({ profileId: profile.id, apiToken: "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd", appName: "okta365" });

    engine.store(profile.id, "okta.api_token", { hint: "00a" });
    const stored = new OktaAppSetup(ipc, profile);
    stored.setStored(await ipc.listCredentials());
    expect(stored.useStored).toBe(true);
    expect(stored.blocked).toBe(false);
    expect(stored.request().apiToken).toBeNull();
  });

  it("plan, apply with progress (0 changes after), then forget the stored API token", async () => {
    engine.store(profile.id, "okta.api_token", { hint: "00a" });
    const profiles: Profile[] = [];
    const setup = new OktaAppSetup(ipc, profile, (p) => profiles.push(p));
    setup.setStored(await ipc.listCredentials());
    const plan = await setup.makePlan();
    expect(plan).toMatchObject({ app: "create", key: "create", role: "ORG_ADMIN", roleAssigned: false, tokenSource: "keychain" });
    expect(plan?.scopes.map((s) => s.scope)).toEqual(["okta.groups.manage", "okta.groups.read", "okta.logs.read", "okta.users.read"]);
    expect(plan?.changes).toBe(7);

    const result = await setup.apply();
    expect(result).toMatchObject({ dpop: true, apiTokenStored: true });
    expect(result?.verifiedScopes).toEqual(plan?.scopes.map((s) => s.scope));
    expect(setup.plan?.changes).toBe(0);
    expect(profiles.at(-1)?.okta).toMatchObject({ auth: "serviceApp", clientId: result?.plan.clientId });

    expect((await setup.makePlan())?.changes, "a re-run changes nothing").toBe(0);

    expect(await setup.forgetToken()).toBe(true);
    expect(setup.forgotten).toBe(true);
    expect(setup.result?.apiTokenStored).toBe(false);
    expect(engine.credentials.some((c) => c.kind === "okta.api_token")).toBe(false);
  });

  it("a token of an admin who is not a Super Administrator is refused before anything is written", async () => {
    engine.setup.oktaAdmin = { login: "helpdesk@example.okta.com", roles: ["HELP_DESK_ADMIN"] };
    const setup = new OktaAppSetup(ipc, profile);
    setup.apiToken = "00aBCdefGHijKLmnOPqrSTuvWXyz0123456789abcd";
    expect(await setup.makePlan()).toBeNull();
    expect(setup.error?.code).toBe("permission_denied");
    expect(setup.error?.message).toContain("not a Super Administrator");
    expect(engine.setup.oktaApps).toHaveLength(0);
  });
});

describe("ReviewRun", () => {
  it("runs the review with progress; ready only when nothing is missing", async () => {
    const run = new ReviewRun(ipc, profile.id);
    const gate = deferred();
    engine.setupGate = gate.promise;
    const running = run.run();
    await expect.poll(() => run.progress?.step).toBe("microsoft");
    gate.resolve();
    const review = await running;
    expect(review?.ready).toBe(false);
    expect(review?.items.find((i) => i.id === "group-assignments")).toMatchObject({ status: "missing", fixStep: "groups" });
    expect(run.counts.missing).toBeGreaterThan(0);
    expect(byUrgency(review!.items)[0].status).toBe("missing");
  });

  it("an engine error is kept with its message", async () => {
    engine.failNext.set("review", { code: "internal", message: "The store is locked." });
    const run = new ReviewRun(ipc, profile.id);
    expect(await run.run()).toBeNull();
    expect(run.error?.message).toBe("The store is locked.");
  });
});

describe("helpers", () => {
  it("checkMonths and changesText", () => {
    expect(checkMonths("12")).toEqual({ months: 12, error: null });
    expect(checkMonths("0").error).toContain("1 to 24");
    expect(checkMonths("1.5").error).toBe("Type a number of months, 1 to 24.");
    expect(changesText(0)).toBe("Nothing to change: everything is in place.");
    expect(changesText(1)).toBe("1 change will be written.");
    expect(changesText(4)).toBe("4 changes will be written.");
  });
});
