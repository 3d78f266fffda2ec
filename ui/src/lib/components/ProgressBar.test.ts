// The progress component: step text, done/total counts and an accessible progressbar, for both a
// known and an unknown total.
import { render } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { Progress } from "../ipc";
import ProgressBar from "./ProgressBar.svelte";

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

const progress = (partial: Partial<Progress>): Progress => ({
  operation: "create_sandbox_profile",
  step: "credentials",
  done: 1,
  total: 4,
  message: "Creating demo credentials on the sandbox tenant",
  ...partial,
});

describe("ProgressBar", () => {
  it("shows the running step, the count and a bar at done/total", () => {
    render(ProgressBar, { progress: progress({ step: "keychain", done: 2, message: "Storing the secrets" }), label: "Setup" });
    const root = byTestId("progress")!;
    expect(root.getAttribute("role")).toBe("progressbar");
    expect(root.getAttribute("aria-label")).toBe("Setup");
    expect(root.getAttribute("aria-valuemin")).toBe("0");
    expect(root.getAttribute("aria-valuemax")).toBe("4");
    expect(root.getAttribute("aria-valuenow")).toBe("2");
    expect(root.getAttribute("aria-valuetext")).toBe("Storing the secrets (2 of 4)");
    expect(byTestId("progress-step")?.textContent?.trim()).toBe("Storing the secrets…");
    expect(byTestId("progress-count")?.textContent).toBe("2 of 4");
    expect(root.querySelector<HTMLElement>(".bar")?.style.width).toBe("50%");
  });

  it("follows new reports", async () => {
    const view = render(ProgressBar, { progress: progress({}), label: "Setup" });
    expect(byTestId("progress-count")?.textContent).toBe("1 of 4");
    await view.rerender({ progress: progress({ step: "done", done: 4, message: "Ready" }), label: "Setup" });
    expect(byTestId("progress-count")?.textContent).toBe("4 of 4");
    expect(byTestId("progress-step")?.textContent?.trim()).toBe("Ready");
    expect(byTestId("progress")?.querySelector<HTMLElement>(".bar")?.style.width).toBe("100%");
  });

  it("without a total: a count of what is done, an indeterminate bar, no value for assistive tech", () => {
    render(ProgressBar, { progress: progress({ done: 37, total: null, message: "Importing users" }), label: "Import" });
    const root = byTestId("progress")!;
    expect(byTestId("progress-count")?.textContent).toBe("37 done");
    expect(root.hasAttribute("aria-valuenow")).toBe(false);
    expect(root.hasAttribute("aria-valuemax")).toBe(false);
    expect(root.querySelector(".bar.indeterminate")).not.toBeNull();
  });
});
