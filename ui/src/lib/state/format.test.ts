import { describe, expect, it } from "vitest";
import { countdown, daysUntil, expiryState, formatDate, toDateInput } from "./format";
import { daysLeft, deleteQuestion, expiryOf, hintText, replaceField, replacedInline, targetOf } from "./credentials.svelte";
import type { CredentialInfo } from "../ipc";

const now = new Date(2026, 2, 1, 15, 30); // 1 March 2026, afternoon, local time

describe("countdown", () => {
  it("reads as days to go, or days since", () => {
    expect(countdown(23)).toBe("in 23 days");
    expect(countdown(1)).toBe("in 1 day");
    expect(countdown(0)).toBe("expires today");
    expect(countdown(-1)).toBe("expired yesterday");
    expect(countdown(-3)).toBe("expired 3 days ago");
  });

  it("counts calendar days, whatever the time of day", () => {
    expect(daysUntil("2026-03-24", now)).toBe(23);
    expect(daysUntil("2026-03-02T00:30:00", now)).toBe(1);
    expect(daysUntil("2026-02-26", now)).toBe(-3);
    expect(daysUntil("not a date", now)).toBeNull();
  });
});

describe("expiry tone", () => {
  it("flags from 30 days before, marks expired after, and says when no date is known", () => {
    expect(expiryState(31)).toEqual({ text: "in 31 days", tone: "ok" });
    expect(expiryState(30)).toEqual({ text: "in 30 days", tone: "warning" });
    expect(expiryState(0).tone).toBe("warning");
    expect(expiryState(-3)).toEqual({ text: "expired 3 days ago", tone: "expired" });
    expect(expiryState(null)).toEqual({ text: "No expiry date known", tone: "unknown" });
  });

  const info = (partial: Partial<CredentialInfo>): CredentialInfo => ({
    profileId: "p1",
    profileName: "Contoso",
    kind: "entra.client_secret",
    label: "Entra client secret",
    hint: "abc",
    createdAt: "2026-01-01T00:00:00Z",
    lastUsedAt: null,
    expiresAt: null,
    daysLeft: null,
    expiryWarning: false,
    ...partial,
  });

  it("prefers the engine's days left, else counts from the expiry date", () => {
    expect(daysLeft(info({ daysLeft: 12, expiresAt: "2027-01-01" }), now)).toBe(12);
    expect(daysLeft(info({ expiresAt: "2026-03-24" }), now)).toBe(23);
    expect(daysLeft(info({}), now)).toBeNull();
    expect(expiryOf(info({ expiresAt: "2026-03-24" }), now)).toEqual({ text: "in 23 days", tone: "warning" });
    expect(expiryOf(info({ daysLeft: 200 }), now).tone).toBe("ok");
    expect(expiryOf(info({ daysLeft: 200, expiryWarning: true }), now).tone, "the engine's warning wins").toBe("warning");
    expect(expiryOf(info({ daysLeft: -3, expiryWarning: true }), now)).toEqual({ text: "expired 3 days ago", tone: "expired" });
  });

  it("the delete question names the credential, the profile and what stops working", () => {
    expect(deleteQuestion(info({}))).toBe(
      "Delete the Entra client secret of “Contoso” from the OS keychain? okta365 can no longer sign in to Microsoft for this profile until you save a new one.",
    );
    expect(deleteQuestion(info({ kind: "okta.api_token", label: "Okta API token" }))).toContain("sign in to Okta");
  });
});

describe("credential kinds", () => {
  it("map to their step, their field, and how they are replaced", () => {
    expect(targetOf("entra.client_certificate")).toBe("microsoft");
    expect(targetOf("okta.private_key")).toBe("okta");
    expect(replaceField("okta.private_key")).toBe("okta-private-key");
    expect(replaceField("entra.client_secret")).toBe("ms-secret");
    expect(replacedInline("entra.client_secret")).toBe(true);
    expect(replacedInline("okta.api_token")).toBe(true);
    expect(replacedInline("entra.client_certificate")).toBe(false);
  });

  it("show their hint without the secret", () => {
    expect(hintText("entra.client_secret", "abc")).toBe("abc••••");
    expect(hintText("entra.client_certificate", "3A4F")).toBe("thumbprint 3A4F");
    expect(hintText("okta.private_key", "k1")).toBe("key id k1");
    expect(hintText("okta.api_token", null)).toBe("•••• in the OS keychain");
  });
});

describe("dates", () => {
  it("a date input takes YYYY-MM-DD; unknown stays empty", () => {
    expect(toDateInput("2026-10-01")).toBe("2026-10-01");
    expect(toDateInput(new Date(2026, 9, 1, 12).toISOString())).toBe("2026-10-01");
    expect(toDateInput(null)).toBe("");
    expect(toDateInput("garbage")).toBe("");
  });

  it("formats for people, 'Never' for none", () => {
    expect(formatDate(null)).toBe("Never");
    expect(formatDate("2026-03-12", "en-GB")).toBe("12 Mar 2026");
    expect(formatDate("nonsense")).toBe("nonsense");
  });
});
