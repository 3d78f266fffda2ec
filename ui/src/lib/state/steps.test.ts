import { describe, expect, it } from "vitest";
import type { StepId } from "../ipc";
import { STEPS, STEP_IDS, isStepId, nextStep, previousStep, railFocusTarget, stepInfo } from "./steps";

describe("steps", () => {
  it("lists the eleven wizard steps in rail order, each once", () => {
    const expected: StepId[] = [
      "welcome",
      "microsoft",
      "okta",
      "groups",
      "licenses",
      "provisioning",
      "lifecycle",
      "imports",
      "review",
      "history",
      "credentials",
    ];
    expect(STEP_IDS).toEqual(expected);
    expect(new Set(STEPS.map((s) => s.label)).size).toBe(STEPS.length);
  });

  it("marks every step as available in this version", () => {
    expect(STEPS.filter((s) => s.available).map((s) => s.id)).toEqual([
      "welcome",
      "microsoft",
      "okta",
      "groups",
      "licenses",
      "provisioning",
      "lifecycle",
      "imports",
      "review",
      "history",
      "credentials",
    ]);
  });

  it("next and previous walk the rail and stop at the ends", () => {
    expect(nextStep("welcome")).toBe("microsoft");
    expect(nextStep("review")).toBe("history");
    expect(nextStep("credentials")).toBeNull();
    expect(previousStep("microsoft")).toBe("welcome");
    expect(previousStep("welcome")).toBeNull();
  });

  it("stepInfo names the step and rejects an unknown id", () => {
    expect(stepInfo("review").label).toBe("Review & run");
    expect(() => stepInfo("nope" as StepId)).toThrow(/Unknown wizard step "nope"/);
  });

  it("isStepId accepts exactly the ten ids", () => {
    expect(isStepId("okta")).toBe(true);
    expect(isStepId("Okta")).toBe(false);
    expect(isStepId(3)).toBe(false);
  });
});

describe("rail keyboard navigation", () => {
  it("Down and Up move by one and wrap around", () => {
    expect(railFocusTarget("ArrowDown", 0, 10)).toBe(1);
    expect(railFocusTarget("ArrowDown", 9, 10)).toBe(0);
    expect(railFocusTarget("ArrowUp", 0, 10)).toBe(9);
    expect(railFocusTarget("ArrowUp", 5, 10)).toBe(4);
  });

  it("Home and End jump to the ends", () => {
    expect(railFocusTarget("Home", 6, 10)).toBe(0);
    expect(railFocusTarget("End", 2, 10)).toBe(9);
  });

  it("other keys are left to the browser (Tab, Enter, letters)", () => {
    expect(railFocusTarget("Tab", 3, 10)).toBeNull();
    expect(railFocusTarget("Enter", 3, 10)).toBeNull();
    expect(railFocusTarget("a", 3, 10)).toBeNull();
    expect(railFocusTarget("ArrowDown", 0, 0)).toBeNull();
  });
});
