// `npm run dev` in a plain browser (no Tauri shell): the fake engine with a demo sandbox profile, a
// few licenses and slow enough sign-ins and applies to watch, so every step can be tried by hand.
// Loaded only by the dev server outside Tauri (see main.ts); never part of a build.
import { installFakeEngine, sku, type FakeEngine } from "./fake-engine";

export function installDevEngine(): FakeEngine {
  const engine = installFakeEngine();
  const profile = engine.addProfile({ name: "Sandbox (browser preview)" });
  engine.activeId = profile.id;
  engine.store(profile.id, "okta.api_token", { hint: "00a" });
  engine.store(profile.id, "entra.client_secret", { hint: "Xq8", expiresAt: "2026-12-31T00:00:00Z", daysLeft: 300 });
  engine.oktaGroups.push({ id: "00g1demo", name: "O365Guest", members: 12 });
  engine.tenantSkus = [
    sku("ENTERPRISEPACK", 25, 21, {
      productName: "Office 365 E3",
      servicePlans: [
        { servicePlanId: "57ff2da0-773e-42df-b2af-ffb7a2317929", servicePlanName: "TEAMS1" },
        { servicePlanId: "efb87545-963c-4e0d-99df-69c6916d9eb0", servicePlanName: "EXCHANGE_S_ENTERPRISE" },
        { servicePlanId: "5dbe027f-2339-4123-9542-606e4d348a72", servicePlanName: "SHAREPOINTENTERPRISE" },
      ],
    }),
    sku("EXCHANGESTANDARD", 10, 10, { productName: "Exchange Online (Plan 1)" }),
    sku("SPE_E5", 5, 1, { productName: "Microsoft 365 E5" }),
  ];
  engine.setup.signInDelayMs = 4000;
  engine.setup.stepDelayMs = 400;
  engine.runs.seed(profile);
  engine.lifecycle.seed(profile);
  engine.runs.stepDelayMs = 500;
  // Imports: the HR sample at /home/admin/hr-export.csv (or the sandbox's /_sandbox/hr/users), an
  // identity source to upload to, three past imports and slow enough chunks to watch.
  profile.okta.identitySourceId = "0oa1hrsourcedemo";
  engine.imports.seed(profile);
  engine.imports.stepDelayMs = 700;
  // Every third System Log poll finds someone who joined the assignments group, so the triggers'
  // toggle has something to do.
  let polls = 0;
  engine.runs.beforePoll = () => {
    if (++polls % 3 !== 0) return;
    const n = polls / 3;
    const user = engine.runs.addOktaUser({
      login: `joiner${n}@example.com`,
      email: `joiner${n}@example.com`,
      profile: { firstName: "Joiner", lastName: String(n), displayName: `Joiner ${n}`, countryCode: "DE" },
      groups: ["Office 365 Assignments"],
    });
    engine.runs.logEvents.push({ eventType: "group.user_membership.add", oktaUserId: user.id, group: "Office 365 Assignments" });
  };
  return engine;
}
