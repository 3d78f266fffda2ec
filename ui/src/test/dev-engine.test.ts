// The browser preview's engine (npm run dev outside Tauri) answers like the app: an active demo
// profile, licenses to read, and a device code that stays pending before it is approved.
import { afterEach, describe, expect, it, vi } from "vitest";
import { ipc } from "../lib/ipc";
import { installDevEngine } from "./dev-engine";
import { clearMocks } from "./fake-engine";

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

describe("dev engine", () => {
  it("has an active demo profile with licenses to read", async () => {
    installDevEngine();
    const info = await ipc.appInfo();
    const [profile] = await ipc.listProfiles();
    expect(info.activeProfileId).toBe(profile.id);
    const view = await ipc.syncLicenses(profile.id);
    expect(view.licenses.map((l) => l.skuPartNumber)).toEqual(["ENTERPRISEPACK", "EXCHANGESTANDARD", "SPE_E5"]);
  });

  it("keeps the device code pending for a while, then approves it", async () => {
    vi.useFakeTimers();
    installDevEngine();
    const [profile] = await ipc.listProfiles();
    const signIn = await ipc.startMicrosoftSignIn({ profileId: profile.id, method: "deviceCode", tenant: null, publicClientId: null });
    let admin: unknown = null;
    const waiting = ipc.finishMicrosoftSignIn(signIn.sessionId).then((a) => (admin = a));
    await vi.advanceTimersByTimeAsync(1000);
    expect(admin, "still pending after a second").toBeNull();
    await vi.advanceTimersByTimeAsync(4000);
    await waiting;
    expect(admin).toMatchObject({ account: "admin@contoso.onmicrosoft.com", canGrantConsent: true });
  });

  it("has a demo org to provision: plans with a skipped user and a guard stop, and joiners in the System Log", async () => {
    installDevEngine();
    const [profile] = await ipc.listProfiles();
    const members = await ipc.planRun({ profileId: profile.id, operation: "memberAccounts", users: null, trigger: "manual" });
    expect(members.changes.length).toBeGreaterThan(0);
    expect(members.skipped).toHaveLength(1);
    const guests = await ipc.planRun({ profileId: profile.id, operation: "guests", users: null, trigger: "manual" });
    expect(guests.guard?.destructive).toBe(4);
    const polls = [];
    for (let i = 0; i < 3; i++) polls.push(await ipc.pollSystemLog(profile.id));
    expect(polls.map((p) => p.events)).toEqual([0, 0, 1]);
  });
});
