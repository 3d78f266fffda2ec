import { describe, expect, it } from "vitest";
import { checkClientId, checkOrgUrl, checkTenant } from "./validation";

describe("checkTenant", () => {
  it("accepts a tenant ID GUID or a verified domain", () => {
    expect(checkTenant("72f988bf-86f1-41af-91ab-2d7cd011db47")).toBeNull();
    expect(checkTenant(" contoso.onmicrosoft.com ")).toBeNull();
    expect(checkTenant("corp.example.co.uk")).toBeNull();
  });

  it("says what is wrong with an empty value, a truncated GUID and free text", () => {
    expect(checkTenant("")).toMatch(/Enter the directory \(tenant\) ID/);
    expect(checkTenant("72f988bf-86f1-41af")).toMatch(/GUID .*36 characters/);
    expect(checkTenant("my tenant")).toMatch(/contoso\.onmicrosoft\.com/);
  });
});

describe("checkClientId", () => {
  it("accepts a GUID in either case", () => {
    expect(checkClientId("4F1C2A9E-0B7D-4C55-9A31-6E2F8D0C7B14")).toBeNull();
  });

  it("rejects anything else and says where to find the value", () => {
    expect(checkClientId("")).toMatch(/Overview page/);
    expect(checkClientId("okta365-app")).toMatch(/is a GUID/);
  });
});

describe("checkOrgUrl", () => {
  it("accepts an https org URL, with or without a trailing slash", () => {
    expect(checkOrgUrl("https://acme.okta.com")).toBeNull();
    expect(checkOrgUrl("https://acme.okta.com/")).toBeNull();
    expect(checkOrgUrl("https://login.acme.example")).toBeNull();
  });

  it("accepts plain http only on loopback", () => {
    expect(checkOrgUrl("http://127.0.0.1:41234")).toBeNull();
    expect(checkOrgUrl("http://acme.okta.com")).toMatch(/only for this computer/);
  });

  it("rejects an admin console URL, a path and non-URLs with a fix", () => {
    expect(checkOrgUrl("https://acme-admin.okta.com")).toMatch(/remove “-admin”/);
    expect(checkOrgUrl("https://acme.okta.com/admin/dashboard")).toMatch(/without a path/);
    expect(checkOrgUrl("acme.okta.com")).toMatch(/not a URL/);
    expect(checkOrgUrl("ftp://acme.okta.com")).toMatch(/start with https/);
    expect(checkOrgUrl("")).toMatch(/Enter your Okta org URL/);
  });
});
