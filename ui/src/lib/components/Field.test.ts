// A field checked by the engine as the admin types: the message under it, the ARIA wiring, the
// note for a good value, and no flicker while a newer check is in flight.
import { fireEvent, render } from "@testing-library/svelte";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FieldCheck, FieldId } from "../ipc";
import { FieldValidator } from "../state/field.svelte";
import { fakeCheck } from "../../test/fake-engine";
import Field from "./Field.svelte";

const byTestId = (id: string) => document.querySelector(`[data-testid="${id}"]`);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A validate function that answers like the engine, and records what it was asked. */
function engineLike() {
  const asked: string[] = [];
  const validate = vi.fn(async (field: FieldId, value: string): Promise<FieldCheck> => {
    asked.push(value);
    return fakeCheck(field, value);
  });
  return { validate, asked };
}

async function type(input: Element, value: string) {
  await fireEvent.input(input, { target: { value } });
}

describe("Field with a validator", () => {
  it("asks the engine once typing pauses and shows its specific message, wired for assistive tech", async () => {
    const { validate, asked } = engineLike();
    const validator = new FieldValidator("msClientId", validate);
    render(Field, { id: "ms-client-id", label: "Client ID", validator, testid: "ms-client-id", hint: "From Overview." });
    const input = byTestId("ms-client-id") as HTMLInputElement;
    expect(input.getAttribute("aria-describedby")).toBe("ms-client-id-hint");

    await type(input, "8a");
    await type(input, "8a1Q~secret");
    expect(asked, "nothing is sent while the admin is still typing").toEqual([]);
    expect(input.getAttribute("aria-busy")).toBe("true");

    await vi.advanceTimersByTimeAsync(300);
    expect(asked, "one check, for the last value").toEqual(["8a1Q~secret"]);
    const message = byTestId("ms-client-id-message");
    expect(message?.textContent?.trim()).toBe("A client id is a GUID like 4f1c…; you pasted the secret value.");
    expect(message?.id).toBe("ms-client-id-message");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(input.getAttribute("aria-describedby")).toBe("ms-client-id-message");
    expect(input.hasAttribute("aria-busy")).toBe(false);
    expect(validator.invalid).toBe(true);
  });

  it("keeps the last message on screen while the next check runs, then clears it for a good value", async () => {
    let release!: () => void;
    const validate = vi.fn(async (field: FieldId, value: string): Promise<FieldCheck> => {
      if (value.startsWith("4f1c")) await new Promise<void>((r) => (release = r));
      return fakeCheck(field, value);
    });
    const validator = new FieldValidator("msClientId", validate);
    render(Field, { id: "c", label: "Client ID", validator, testid: "ms-client-id" });
    const input = byTestId("ms-client-id") as HTMLInputElement;

    await type(input, "not-a-guid");
    await vi.advanceTimersByTimeAsync(300);
    expect(byTestId("ms-client-id-message")?.textContent).toContain("secret ID");

    await type(input, "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14");
    await vi.advanceTimersByTimeAsync(300);
    expect(byTestId("ms-client-id-message")?.textContent, "no flicker while checking").toContain("secret ID");

    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(byTestId("ms-client-id-message")).toBeNull();
    expect(input.hasAttribute("aria-invalid")).toBe(false);
    expect(validator.valid).toBe(true);
    expect(validator.normalized).toBe("4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14");
  });

  it("shows the engine's note for an accepted value and saves its normalized form", async () => {
    const { validate } = engineLike();
    const validator = new FieldValidator("oktaOrgUrl", validate);
    render(Field, { id: "o", label: "Org URL", validator, testid: "okta-org-url" });
    await type(byTestId("okta-org-url")!, "https://acme-admin.okta.com");
    await vi.advanceTimersByTimeAsync(300);
    const message = byTestId("okta-org-url-message");
    expect(message?.textContent).toContain("“-admin” was removed");
    expect(message?.classList.contains("note")).toBe(true);
    expect(byTestId("okta-org-url")?.hasAttribute("aria-invalid")).toBe(false);
    expect(validator.normalized).toBe("https://acme.okta.com");
  });

  it("an answer for an older value never overwrites the newer one", async () => {
    const answers: Array<() => void> = [];
    const validate = (field: FieldId, value: string) =>
      new Promise<FieldCheck>((resolve) => answers.push(() => resolve(fakeCheck(field, value))));
    const validator = new FieldValidator("oktaClientId", validate, "", { delay: 10 });
    validator.value = "bad";
    validator.input();
    await vi.advanceTimersByTimeAsync(10);
    validator.value = "0oa123";
    validator.input();
    await vi.advanceTimersByTimeAsync(10);
    answers[1]();
    answers[0]();
    await vi.advanceTimersByTimeAsync(0);
    expect(validator.check?.ok).toBe(true);
    expect(validator.message).toBeNull();
  });

  it("an empty required field says what to enter only after the admin leaves it", async () => {
    const { validate, asked } = engineLike();
    const validator = new FieldValidator("msTenant", validate);
    render(Field, { id: "t", label: "Tenant", validator, testid: "ms-tenant" });
    const input = byTestId("ms-tenant") as HTMLInputElement;
    expect(byTestId("ms-tenant-message")).toBeNull();
    await fireEvent.blur(input);
    await vi.advanceTimersByTimeAsync(0);
    expect(asked, "the engine is not asked about an empty value").toEqual([]);
    expect(byTestId("ms-tenant-message")?.textContent).toContain("Enter the directory (tenant) ID");
    expect(input.getAttribute("aria-invalid")).toBe("true");
  });

  it("an optional secret left empty (one is in the keychain) is fine and shows nothing", async () => {
    const { validate } = engineLike();
    const validator = new FieldValidator("msClientSecret", validate, "", { optional: true });
    await expect(validator.flush()).resolves.toBe(true);
    expect(validator.message).toBeNull();
    expect(validator.invalid).toBe(false);
  });

  it("a check that cannot run says so instead of blaming the value", async () => {
    const validator = new FieldValidator("msTenant", async () => {
      throw new Error("the backend is gone");
    });
    validator.value = "contoso.onmicrosoft.com";
    await validator.flush();
    expect(validator.message).toEqual({ text: "This value could not be checked: the backend is gone", tone: "error" });
  });
});
