// The automated setup and the review of docs/setup.md in the fake engine: the admin's delegated
// Microsoft sign-in (a device code that is pending, then approved, declined or expired; a browser
// sign-in), the Entra app registration and the Okta API service app planned from the fake tenants'
// state and written by apply (so planning again answers 0 changes), forgetting the API token, and the
// review. Same command names, argument names, JSON shapes and error codes as the engine.
import type {
  ApiError,
  AppCredentialChoice,
  GrantRow,
  MicrosoftAdmin,
  MicrosoftAppPlan,
  MicrosoftAppRequest,
  MicrosoftAppResult,
  MicrosoftSignIn,
  MicrosoftSignInRequest,
  OktaAppPlan,
  OktaAppRequest,
  OktaAppResult,
  OperationId,
  PlannedPermission,
  PlannedScope,
  Profile,
  Progress,
  Review,
  ReviewItem,
} from "../lib/ipc";
import type { FakeEngine } from "./fake-engine";

/** Microsoft Graph Command Line Tools: the default public client of the sign-in. */
export const GRAPH_CLI_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
/** Azure CLI: not pre-authorized for the setup's scopes (AADSTS65002). */
export const AZURE_CLI_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TENANT_ID = "9b1c6f3e-2d4a-4e8b-a1c7-5f0e3d2b6a94";

/** The Graph application roles' ids (docs/api-facts §5); the fake service principal's `appRoles`. */
export const GRAPH_ROLE_IDS: Record<string, string> = {
  "User.ReadWrite.All": "741f803b-c850-494e-b5df-cde7c675a1ca",
  "User.Invite.All": "09850681-111b-4a89-9bed-3f2cae46d706",
  "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
  "Directory.ReadWrite.All": "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
  "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
  "Group.ReadWrite.All": "62a82d76-70ea-41e2-9197-370581804d09",
  "GroupMember.ReadWrite.All": "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
  "Organization.Read.All": "498476ce-e0fe-48b0-b801-37ba7e2685c6",
  "Mail.Send": "b633e1c5-b582-4048-a93e-9f11b44c7e96",
  "LicenseAssignment.ReadWrite.All": "5facf0c1-8979-4e95-abcf-ff3d079771c0",
  "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
};

/** Who approves the device code (or signs in in the browser). */
export interface FakeMicrosoftUser {
  account: string;
  roles: string[];
  canGrantConsent: boolean;
}

export const GLOBAL_ADMIN: FakeMicrosoftUser = {
  account: "admin@contoso.onmicrosoft.com",
  roles: ["Global Administrator"],
  canGrantConsent: true,
};
export const NON_ADMIN: FakeMicrosoftUser = { account: "adele@contoso.onmicrosoft.com", roles: [], canGrantConsent: false };

/** How the next sign-in ends once it is no longer pending. */
export type SignInOutcome = "approve" | "decline" | "expire" | "blocked";

/** An app registration of the fake Entra tenant. */
export interface FakeEntraApp {
  id: string;
  appId: string;
  displayName: string;
  /** Permissions in `requiredResourceAccess`. */
  required: string[];
  /** Permissions with admin consent (an `appRoleAssignedTo` on the Graph service principal). */
  granted: string[];
  servicePrincipal: boolean;
  credential: AppCredentialChoice["kind"] | null;
}

/** An OIDC service app of the fake Okta org. */
export interface FakeOktaApp {
  id: string;
  clientId: string;
  label: string;
  keyId: string | null;
  grants: string[];
  role: string | null;
}

/** The admin the fake org's API tokens belong to. */
export interface FakeOktaAdmin {
  login: string;
  roles: string[];
}

interface Session {
  id: string;
  profileId: string;
  method: MicrosoftSignInRequest["method"];
  tenant: string;
  state: "pending" | "signedIn" | "cancelled" | "failed";
  admin: MicrosoftAdmin | null;
  cancel: () => void;
  cancelled: Promise<void>;
}

type Fail = ApiError;

function fail(code: ApiError["code"], message: string): never {
  throw { code, message } satisfies Fail;
}

/** A stable GUID-shaped id for a name, for roles the fake has no real id of. */
function fakeId(seed: string): string {
  let h = 0;
  for (const c of seed) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const hex = h.toString(16).padStart(8, "0");
  return `${hex}-0000-4000-8000-${hex}${hex.slice(0, 4)}`;
}

const MONTHS = 30 * 24 * 60 * 60 * 1000;

export class FakeSetup {
  /** Who approves the next sign-in. */
  user: FakeMicrosoftUser = { ...GLOBAL_ADMIN };
  outcome: SignInOutcome = "approve";
  /** When set, finish_microsoft_sign_in reports "pending" and waits for it (or for a cancel). */
  signInGate: Promise<void> | null = null;
  /**
   * For trying the UI in a browser (`npm run dev`): how long the device code stays pending before
   * the fake admin approves it, and the pause between the writes of an apply or the checks of a review.
   */
  signInDelayMs = 0;
  stepDelayMs = 0;
  entraApps: FakeEntraApp[] = [];
  oktaApps: FakeOktaApp[] = [];
  oktaAdmin: FakeOktaAdmin = { login: "admin@example.okta.com", roles: ["SUPER_ADMIN"] };
  /** Okta API tokens the fake org knows; any other pasted token is refused (401). Empty: any of 20+ characters. */
  oktaTokens: string[] = [];
  sessions = new Map<string, Session>();
  readonly #engine: FakeEngine;
  #seq = 0;

  constructor(engine: FakeEngine) {
    this.#engine = engine;
  }

  /** True for the commands this part of the fake engine answers. */
  handles(cmd: string): boolean {
    return [
      "start_microsoft_sign_in",
      "finish_microsoft_sign_in",
      "cancel_microsoft_sign_in",
      "plan_microsoft_app",
      "apply_microsoft_app",
      "plan_okta_app",
      "apply_okta_app",
      "forget_okta_api_token",
      "review",
    ].includes(cmd);
  }

  async handle(cmd: string, args: Record<string, unknown>): Promise<unknown> {
    switch (cmd) {
      case "start_microsoft_sign_in":
        return this.#start(args.request as MicrosoftSignInRequest);
      case "finish_microsoft_sign_in":
        return this.#finish(String(args.sessionId), args.onProgress);
      case "cancel_microsoft_sign_in": {
        const session = this.sessions.get(String(args.sessionId));
        if (session && session.state === "pending") {
          session.state = "cancelled";
          session.cancel();
        }
        this.sessions.delete(String(args.sessionId));
        return null;
      }
      case "plan_microsoft_app": {
        const request = args.request as MicrosoftAppRequest;
        const { profile, admin } = this.#checkMicrosoft(request);
        return this.#msPlan(profile, admin, request);
      }
      case "apply_microsoft_app":
        return this.#applyMicrosoft(args.request as MicrosoftAppRequest, args.onProgress);
      case "plan_okta_app": {
        const request = args.request as OktaAppRequest;
        return this.#oktaPlan(this.#engine.profile(request.profileId), request);
      }
      case "apply_okta_app":
        return this.#applyOkta(args.request as OktaAppRequest, args.onProgress);
      case "forget_okta_api_token": {
        const p = this.#engine.profile(args.profileId);
        if (!this.#engine.credentials.some((c) => c.profileId === p.id && c.kind === "okta.api_token"))
          fail("not_found", "No Okta API token is stored for this profile.");
        if (p.okta.auth === "apiToken")
          fail("invalid_input", "This profile still signs in to Okta with the API token. Create the service app first, then forget the token.");
        this.#engine.credentials = this.#engine.credentials.filter((c) => !(c.profileId === p.id && c.kind === "okta.api_token"));
        return this.#engine.out(p);
      }
      case "review":
        return this.#review(this.#engine.profile(args.profileId), args.onProgress);
      default:
        throw `command ${cmd} not found`;
    }
  }

  #pause(): Promise<void> {
    return this.stepDelayMs > 0 ? new Promise((r) => setTimeout(r, this.stepDelayMs)) : Promise.resolve();
  }

  #report(channel: unknown, index: number, progress: Progress): void {
    if (!channel) fail("invalid_input", "missing onProgress channel");
    this.#engine.send(channel, index, progress);
  }

  // --- Microsoft sign-in -------------------------------------------------------------------------

  #start(request: MicrosoftSignInRequest): MicrosoftSignIn {
    const p = this.#engine.profile(request.profileId);
    const client = request.publicClientId?.trim() || GRAPH_CLI_CLIENT_ID;
    if (!GUID.test(client)) fail("invalid_input", `The public client id "${client}" is not a GUID; leave it empty to use Microsoft Graph Command Line Tools.`);
    if (client === AZURE_CLI_CLIENT_ID)
      fail("sign_in_failed", "AADSTS65002: Azure CLI is not pre-authorized for Application.ReadWrite.All. Leave the public client id empty to use Microsoft Graph Command Line Tools.");
    if (client !== GRAPH_CLI_CLIENT_ID)
      fail("sign_in_failed", `AADSTS700016: no application with the id ${client} exists in the tenant. Check the public client id, or leave it empty.`);
    const tenant = p.msTenant ?? (request.tenant?.trim() || "organizations");
    const id = `signin-${++this.#seq}`;
    let cancel!: () => void;
    const cancelled = new Promise<void>((resolve) => (cancel = resolve));
    this.sessions.set(id, { id, profileId: p.id, method: request.method, tenant, state: "pending", admin: null, cancel, cancelled });
    const expiresAt = new Date(Date.now() + 15 * 60 * 1000).toISOString();
    const login = p.kind === "sandbox" ? p.entraLoginUrl : "https://login.microsoftonline.com";
    if (request.method === "deviceCode") {
      const userCode = `GB4KQ9ZL${this.#seq}`;
      const verificationUri = p.kind === "sandbox" ? `${login}/devicelogin` : "https://microsoft.com/devicelogin";
      return {
        sessionId: id,
        method: "deviceCode",
        tenant,
        userCode,
        verificationUri,
        authorizeUrl: null,
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
        expiresAt,
        interval: 5,
      };
    }
    const authorizeUrl =
      `${login}/${tenant}/oauth2/v2.0/authorize?client_id=${client}&response_type=code` +
      `&redirect_uri=${encodeURIComponent("http://127.0.0.1:53682/")}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`;
    return {
      sessionId: id,
      method: "browser",
      tenant,
      userCode: null,
      verificationUri: null,
      authorizeUrl,
      message: "Open the address in your browser and sign in as an administrator of the tenant.",
      expiresAt,
      interval: null,
    };
  }

  async #finish(sessionId: string, channel: unknown): Promise<MicrosoftAdmin> {
    const session = this.sessions.get(sessionId);
    if (!session || session.state !== "pending") fail("not_found", "No sign-in with that id is waiting; start the sign-in again.");
    this.#report(channel, 0, {
      operation: "finish_microsoft_sign_in",
      step: "pending",
      done: 0,
      total: null,
      message: session.method === "deviceCode" ? "Waiting for you to enter the code and approve the sign-in" : "Waiting for the sign-in in your browser",
    });
    const approval = this.signInDelayMs > 0 ? new Promise<void>((r) => setTimeout(r, this.signInDelayMs)) : Promise.resolve();
    await Promise.race([Promise.all([this.signInGate, approval]), session.cancelled]);
    // A cancel may have come in while waiting.
    if ((session.state as Session["state"]) === "cancelled") fail("cancelled", "The sign-in was cancelled.");
    const outcome = this.outcome;
    if (outcome !== "approve") {
      session.state = "failed";
      this.sessions.delete(sessionId);
      switch (outcome) {
        case "decline":
          fail("sign_in_failed", "The sign-in was declined (authorization_declined). Start it again and choose Continue when Microsoft asks.");
        case "expire":
          fail("sign_in_failed", "The code expired before it was used (expired_token). Start the sign-in again and enter the new code within 15 minutes.");
        case "blocked":
          fail("sign_in_failed", "A Conditional Access policy blocked the sign-in (AADSTS53003). Ask for an exception for Microsoft Graph Command Line Tools, or type the app registration's values in by hand.");
      }
    }
    const admin: MicrosoftAdmin = {
      sessionId,
      account: this.user.account,
      tenantId: TENANT_ID,
      tenantName: "Contoso",
      roles: [...this.user.roles],
      canGrantConsent: this.user.canGrantConsent,
    };
    session.state = "signedIn";
    session.admin = admin;
    this.#report(channel, 1, { operation: "finish_microsoft_sign_in", step: "done", done: 1, total: 1, message: `Signed in as ${admin.account}` });
    return structuredClone(admin);
  }

  // --- The Entra app registration ----------------------------------------------------------------

  #checkMicrosoft(request: MicrosoftAppRequest): { profile: Profile; admin: MicrosoftAdmin } {
    const profile = this.#engine.profile(request.profileId);
    const session = this.sessions.get(request.sessionId);
    if (!session || session.state !== "signedIn" || !session.admin)
      fail("invalid_input", "Sign in to Microsoft first: that sign-in is over or was cancelled.");
    if (!request.appName.trim()) fail("invalid_input", "The app needs a name.");
    const months = request.credential.lifetimeMonths;
    if (!Number.isInteger(months) || months < 1 || months > 24)
      fail("invalid_input", `A credential lasts 1 to 24 months, not ${months}.`);
    return { profile, admin: session.admin };
  }

  #findEntraApp(p: Profile, name: string): FakeEntraApp | null {
    const byId = this.entraApps.find((a) => a.appId === p.msClientId);
    if (byId) return byId;
    const named = this.entraApps.filter((a) => a.displayName === name);
    if (named.length > 1)
      fail("invalid_input", `${named.length} app registrations are named "${name}" (appIds ${named.map((a) => a.appId).join(", ")}); choose another name or delete the extra ones.`);
    return named[0] ?? null;
  }

  /** Every Graph role the profile's operations need, by value, with the operations needing it. */
  #permissions(p: Profile, granted: string[]): PlannedPermission[] {
    const needed = new Map<string, OperationId[]>();
    for (const row of this.#engine.requirements) {
      if (!p.operations.includes(row.operation)) continue;
      for (const group of row.graphRoles) {
        const role = group.find((r) => granted.includes(r)) ?? group[0];
        needed.set(role, [...(needed.get(role) ?? []), row.operation]);
      }
    }
    return [...needed].map(([value, operations]) => ({
      value,
      id: GRAPH_ROLE_IDS[value] ?? fakeId(value),
      operations,
      granted: granted.includes(value),
    }));
  }

  #storedCredential(p: Profile, kind: AppCredentialChoice["kind"]) {
    const k = kind === "secret" ? "entra.client_secret" : "entra.client_certificate";
    return this.#engine.credentials.find((c) => c.profileId === p.id && c.kind === k) ?? null;
  }

  #msPlan(p: Profile, admin: MicrosoftAdmin, request: MicrosoftAppRequest): MicrosoftAppPlan {
    const name = request.appName.trim();
    const app = this.#findEntraApp(p, name);
    const permissions = this.#permissions(p, app?.granted ?? []);
    const appAction = !app ? "create" : permissions.some((x) => !app.required.includes(x.value)) ? "update" : "exists";
    const sp = app?.servicePrincipal ? "exists" : "create";
    const kind = request.credential.kind;
    const stored = app && app.credential === kind && app.appId === p.msClientId ? this.#storedCredential(p, kind) : null;
    const credentialAction = stored ? "keep" : "create";
    const what = kind === "secret" ? "client secret" : "certificate";
    const credentialNote = stored
      ? `The ${what} in the OS keychain works for this app${stored.expiresAt ? ` until ${stored.expiresAt.slice(0, 10)}` : ""}; it is kept.`
      : kind === "secret"
        ? `A new client secret valid ${request.credential.lifetimeMonths} months goes straight to the OS keychain; its value never leaves okta365.`
        : `A new certificate (RSA 2048, self-signed, valid ${request.credential.lifetimeMonths} months) is made on this computer; its private key goes straight to the OS keychain.`;
    const missing = permissions.filter((x) => !x.granted);
    const warnings: string[] = [];
    if (!admin.canGrantConsent && missing.length > 0)
      warnings.push(
        `${admin.account} is neither a Global Administrator nor a Privileged Role Administrator, so granting the ${missing.length} application permissions (admin consent) will fail with 403 Authorization_RequestDenied. Sign in as one of them, or ask one to grant consent.`,
      );
    const changes = (appAction === "exists" ? 0 : 1) + (sp === "create" ? 1 : 0) + (credentialAction === "create" ? 1 : 0) + missing.length;
    return {
      profileId: p.id,
      appName: name,
      appId: app?.appId ?? null,
      app: appAction,
      servicePrincipal: sp,
      permissions,
      credential: structuredClone(request.credential),
      credentialAction,
      credentialNote,
      warnings,
      changes,
      plannedAt: new Date().toISOString(),
    };
  }

  async #applyMicrosoft(request: MicrosoftAppRequest, channel: unknown): Promise<MicrosoftAppResult> {
    const { profile: p, admin } = this.#checkMicrosoft(request);
    if (!channel) fail("invalid_input", "missing onProgress channel");
    const plan = this.#msPlan(p, admin, request);
    let app = this.#findEntraApp(p, plan.appName);
    const writes: Array<[string, string, () => void]> = [];
    if (plan.app === "create")
      writes.push(["create_app", `Creating the app registration ${plan.appName}`, () => {
        const n = ++this.#seq;
        app = {
          id: `a${n}`,
          appId: `${String(n).padStart(8, "0")}-7a1e-4c3b-9f2d-0e8a5b6c4d21`,
          displayName: plan.appName,
          required: plan.permissions.map((x) => x.value),
          granted: [],
          servicePrincipal: false,
          credential: null,
        };
        this.entraApps.push(app);
      }]);
    if (plan.app === "update")
      writes.push(["update_app", `Adding the missing permissions to ${plan.appName}`, () => {
        app!.required = [...new Set([...app!.required, ...plan.permissions.map((x) => x.value)])];
      }]);
    if (plan.credentialAction === "create")
      writes.push([request.credential.kind === "secret" ? "add_password" : "add_key", `Adding a ${request.credential.kind === "secret" ? "client secret" : "certificate"}`, () => {
        app!.credential = request.credential.kind;
        const expiresAt = new Date(Date.now() + request.credential.lifetimeMonths * MONTHS).toISOString();
        if (request.credential.kind === "secret") this.#engine.store(p.id, "entra.client_secret", { hint: "Xq8", expiresAt });
        else this.#engine.store(p.id, "entra.client_certificate", { hint: "5E2A91C04F7B", expiresAt });
      }]);
    if (plan.servicePrincipal === "create")
      writes.push(["create_service_principal", "Creating the app's service principal", () => (app!.servicePrincipal = true)]);
    for (const x of plan.permissions.filter((x) => !x.granted))
      writes.push([`grant:${x.value}`, `Granting ${x.value}`, () => {
        if (!admin.canGrantConsent)
          fail("permission_denied", `Granting ${x.value} was refused (403 Authorization_RequestDenied): ${admin.account} is neither a Global Administrator nor a Privileged Role Administrator. Sign in as one and run the setup again; what was created is kept and found by the next plan.`);
        app!.granted.push(x.value);
      }]);
    writes.push(["token", "Waiting until the app's token carries every permission", () => {}]);
    writes.push(["save", "Saving the tenant, the client id and the credential in the profile", () => {
      p.msTenant = admin.tenantId;
      p.msClientId = app!.appId;
      p.microsoft = { tenant: admin.tenantId, clientId: app!.appId, credentialKind: request.credential.kind };
    }]);
    for (const [i, [step, message, write]] of writes.entries()) {
      this.#report(channel, i, { operation: "apply_microsoft_app", step, done: i, total: writes.length, message });
      if (i === 0 && this.#engine.setupGate) await this.#engine.setupGate;
      await this.#pause();
      write();
    }
    this.#report(channel, writes.length, { operation: "apply_microsoft_app", step: "done", done: writes.length, total: writes.length, message: "The app registration is ready" });
    return {
      plan: this.#msPlan(p, admin, request),
      profile: this.#engine.out(p),
      tokenRoles: [...app!.granted].sort(),
    };
  }

  // --- The Okta API service app ------------------------------------------------------------------

  #tokenSource(p: Profile, request: OktaAppRequest): "pasted" | "keychain" {
    const pasted = request.apiToken?.trim() ?? "";
    if (pasted) {
      if (pasted.length < 20) fail("invalid_input", "That is not an Okta API token: they are 42 characters long. Copy it again from Security → API → Tokens.");
      if (this.oktaTokens.length > 0 && !this.oktaTokens.includes(pasted))
        fail("invalid_input", "Okta refused the API token (401 Invalid token provided). It may be revoked or from another org; create a new one.");
      return "pasted";
    }
    if (this.#engine.credentials.some((c) => c.profileId === p.id && c.kind === "okta.api_token")) return "keychain";
    fail("invalid_input", "Paste an Okta API token of a Super Administrator (Security → API → Tokens → Create token).");
  }

  #oktaPlan(p: Profile, request: OktaAppRequest): OktaAppPlan {
    if (!p.okta.orgUrl && !p.oktaOrgUrl) fail("invalid_input", "This profile has no Okta org URL yet; save it on the Okta step first.");
    const name = request.appName.trim();
    if (!name) fail("invalid_input", "The service app needs a name.");
    const tokenSource = this.#tokenSource(p, request);
    if (!this.oktaAdmin.roles.includes("SUPER_ADMIN"))
      fail("permission_denied", `The API token belongs to ${this.oktaAdmin.login}, who is not a Super Administrator (roles: ${this.oktaAdmin.roles.join(", ") || "none"}). Creating a service app and giving it an admin role needs a Super Administrator's token.`);
    const app = this.oktaApps.find((a) => a.clientId === p.okta.clientId) ?? this.oktaApps.find((a) => a.label === name) ?? null;
    const key = app?.keyId && app.keyId === p.okta.keyId ? "keep" : "create";
    const byScope = new Map<string, OperationId[]>();
    for (const row of this.#engine.requirements)
      if (p.operations.includes(row.operation))
        for (const s of row.oktaScopes) byScope.set(s, [...(byScope.get(s) ?? []), row.operation]);
    if (!byScope.has("okta.groups.manage")) byScope.set("okta.groups.manage", []);
    const scopes: PlannedScope[] = [...byScope].sort(([a], [b]) => a.localeCompare(b)).map(([scope, operations]) => ({
      scope,
      operations,
      reason: operations.length ? `Needed by ${operations.join(", ")}` : "The Groups step creates the groups",
      granted: app?.grants.includes(scope) ?? false,
    }));
    const writes = scopes.filter((s) => s.scope.endsWith(".manage")).map((s) => s.scope);
    const role = writes.length ? "ORG_ADMIN" : "READ_ONLY_ADMIN";
    const roleReason = writes.length
      ? `${writes.join(" and ")} change the org (creating groups, importing users): that takes the Organization Administrator role; Read-only Administrator would be refused.`
      : "Every scope only reads, so the Read-only Administrator role is enough.";
    const roleAssigned = app?.role === role;
    const warnings = tokenSource === "keychain" ? ["The stored API token acts with all the rights of its admin; forget it once the service app works."] : [];
    const changes = (app ? 0 : 1) + (key === "create" ? 1 : 0) + scopes.filter((s) => !s.granted).length + (roleAssigned ? 0 : 1);
    return {
      profileId: p.id,
      appName: name,
      clientId: app?.clientId ?? null,
      app: app ? "exists" : "create",
      key,
      scopes,
      role,
      roleReason,
      roleAssigned,
      admin: this.oktaAdmin.login,
      tokenSource,
      warnings,
      changes,
      plannedAt: new Date().toISOString(),
    };
  }

  async #applyOkta(request: OktaAppRequest, channel: unknown): Promise<OktaAppResult> {
    const p = this.#engine.profile(request.profileId);
    if (!channel) fail("invalid_input", "missing onProgress channel");
    const plan = this.#oktaPlan(p, request);
    let app = this.oktaApps.find((a) => a.clientId === plan.clientId) ?? null;
    const writes: Array<[string, string, () => void]> = [];
    if (plan.app === "create")
      writes.push(["create_app", `Creating the API service app ${plan.appName}`, () => {
        const n = ++this.#seq;
        app = { id: `0oa${n}svc`, clientId: `0oa${n}svc`, label: plan.appName, keyId: null, grants: [], role: null };
        this.oktaApps.push(app);
      }]);
    if (plan.key === "create")
      writes.push(["add_key", "Adding a new public key (the private key goes to the OS keychain)", () => {
        const kid = `kid-${++this.#seq}`;
        app!.keyId = kid;
        this.#engine.store(p.id, "okta.private_key", { hint: kid });
        p.okta = { ...p.okta, keyId: kid };
      }]);
    for (const s of plan.scopes.filter((s) => !s.granted))
      writes.push([`grant:${s.scope}`, `Granting ${s.scope}`, () => app!.grants.push(s.scope)]);
    if (!plan.roleAssigned) writes.push([`role:${plan.role}`, `Assigning the ${plan.role} role`, () => (app!.role = plan.role)]);
    writes.push(["verify", "Getting a DPoP token and trying each scope", () => {}]);
    writes.push(["save", "Switching the profile to the service app", () => {
      p.okta = { ...p.okta, orgUrl: p.okta.orgUrl || p.oktaOrgUrl, auth: "serviceApp", clientId: app!.clientId, keyId: app!.keyId };
    }]);
    for (const [i, [step, message, write]] of writes.entries()) {
      this.#report(channel, i, { operation: "apply_okta_app", step, done: i, total: writes.length, message });
      if (i === 0 && this.#engine.setupGate) await this.#engine.setupGate;
      await this.#pause();
      write();
    }
    this.#report(channel, writes.length, { operation: "apply_okta_app", step: "done", done: writes.length, total: writes.length, message: "The service app is ready" });
    return {
      plan: this.#oktaPlan(p, request),
      profile: this.#engine.out(p),
      verifiedScopes: [...app!.grants].sort(),
      dpop: true,
      apiTokenStored: this.#engine.credentials.some((c) => c.profileId === p.id && c.kind === "okta.api_token"),
    };
  }

  // --- Review ------------------------------------------------------------------------------------

  async #review(p: Profile, channel: unknown): Promise<Review> {
    const steps = [
      ["microsoft", "Testing the Microsoft connection"],
      ["okta", "Testing the Okta connection"],
      ["groups", "Planning the groups"],
      ["licenses", "Reading the stored licenses"],
    ];
    for (const [i, [step, message]] of steps.entries()) {
      this.#report(channel, i, { operation: "review", step, done: i, total: steps.length, message });
      if (i === 0 && this.#engine.setupGate) await this.#engine.setupGate;
      await this.#pause();
    }
    this.#report(channel, steps.length, { operation: "review", step: "done", done: steps.length, total: steps.length, message: "Reviewed" });

    const tests = this.#engine.tests;
    const msApp = this.entraApps.find((a) => a.appId === p.msClientId) ?? null;
    const permissions: GrantRow[] = this.#permissions(p, msApp?.granted ?? []).map((x) => ({
      value: x.value,
      operations: x.operations,
      granted: msApp ? x.granted : tests.microsoft.ok,
    }));
    const oktaApp = this.oktaApps.find((a) => a.clientId === p.okta.clientId) ?? null;
    const byScope = new Map<string, OperationId[]>();
    for (const row of this.#engine.requirements)
      if (p.operations.includes(row.operation))
        for (const s of row.oktaScopes) byScope.set(s, [...(byScope.get(s) ?? []), row.operation]);
    const scopes: GrantRow[] = [...byScope].sort(([a], [b]) => a.localeCompare(b)).map(([value, operations]) => ({
      value,
      operations,
      granted: oktaApp ? oktaApp.grants.includes(value) : tests.okta.ok,
    }));

    const items: ReviewItem[] = [];
    const item = (id: string, label: string, ok: boolean, detail: string, missing: string, fixStep: ReviewItem["fixStep"]) =>
      items.push({ id, label, status: ok ? "ready" : "missing", detail: ok ? detail : missing, fixStep: ok ? null : fixStep });
    const msOk = p.microsoft !== null && tests.microsoft.ok;
    item("microsoft-connection", "Microsoft connection", msOk, `The app ${p.microsoft?.clientId ?? ""} signs in to ${p.microsoft?.tenant ?? ""}.`, p.microsoft ? "Test connection fails; see the Microsoft step." : "No app registration is saved.", "microsoft");
    const oktaOk = p.okta.orgUrl !== "" && p.okta.auth !== null && tests.okta.ok;
    item("okta-connection", "Okta connection", oktaOk, `Signed in to ${p.okta.orgUrl}${p.okta.auth === "serviceApp" ? " as a service app with DPoP" : " with an API token"}.`, p.okta.auth ? "Test connection fails; see the Okta step." : "No Okta connection is saved.", "okta");
    const msMissing = permissions.filter((x) => !x.granted).map((x) => x.value);
    item("microsoft-permissions", "Graph permissions", msMissing.length === 0, `All ${permissions.length} permissions are granted.`, `Not granted: ${msMissing.join(", ")}.`, "microsoft");
    const scopesMissing = scopes.filter((x) => !x.granted).map((x) => x.value);
    item("okta-scopes", "Okta scopes", scopesMissing.length === 0, `All ${scopes.length} scopes are granted.`, `Not granted: ${scopesMissing.join(", ")}.`, "okta");
    const expiring = this.#engine.credentials.filter((c) => c.profileId === p.id && c.expiryWarning);
    items.push({
      id: "credential-expiry",
      label: "Credential expiry",
      status: expiring.length ? "warning" : "ready",
      detail: expiring.length ? `${expiring.map((c) => c.label).join(", ")} expire${expiring.length === 1 ? "s" : ""} within 30 days.` : "No credential expires within 30 days.",
      fixStep: expiring.length ? "credentials" : null,
    });
    for (const g of this.#engine.groupsPlan(p.id).items)
      item(`group-${g.role}`, `Group “${g.name}”`, g.action === "exists", `Exists (${g.groupId}, ${g.memberCount ?? 0} members).`, "Not created yet.", "groups");
    const view = this.#engine.licensesView(p.id);
    if (p.operations.includes("licenses")) {
      item("licenses-synced", "Licenses stored", view.refreshedAt !== null, `${view.licenses.length} SKUs, refreshed ${view.refreshedAt ?? ""}.`, "The licenses were never read from Microsoft.", "licenses");
      item("licenses-mapped", "Licenses per group", view.assignments.length > 0, `${view.assignments.length} SKU associations.`, "No group receives a license yet.", "licenses");
      item("usage-location", "Default usage location", view.usageLocation !== null, `Users without one get ${view.usageLocation ?? ""}.`, "Set one: Microsoft assigns no license to a user without a usage location.", "licenses");
    }
    for (const w of view.warnings) {
      const license = view.licenses.find((l) => l.skuId === w.skuId);
      items.push({ id: `seat-${license?.skuPartNumber ?? w.skuId}`, label: `Seats of ${license?.skuPartNumber ?? w.skuId}`, status: "warning", detail: w.message, fixStep: "licenses" });
    }
    return {
      profileId: p.id,
      ready: !items.some((i) => i.status === "missing"),
      items,
      operations: [...p.operations],
      permissions,
      scopes,
      reviewedAt: new Date().toISOString(),
    };
  }
}
