// The full-page start-up error: the backend's message and, when it sends them, the data and log
// folders; nothing else (no stack, no raw details).
import { render } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import StartupError from "./StartupError.svelte";

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

describe("StartupError", () => {
  it("shows the message and the folders from details", () => {
    render(StartupError, {
      error: {
        code: "internal",
        message: "/home/ann/okta365 is a file, but okta365 needs a folder there for its data.",
        details: { dataDir: "/home/ann/okta365", logDir: "/home/ann/okta365/logs" },
      },
    });
    expect(byTestId("startup-error")).not.toBeNull();
    expect(byTestId("startup-error-message")?.textContent).toBe(
      "/home/ann/okta365 is a file, but okta365 needs a folder there for its data.",
    );
    expect(byTestId("startup-error-data-dir")?.textContent).toBe("/home/ann/okta365");
    expect(byTestId("startup-error-log-dir")?.textContent).toBe("/home/ann/okta365/logs");
    expect(document.querySelector('[role="alert"]')?.textContent).toContain("okta365 could not start");
  });

  it("without known folders shows just the message, and ignores details of another shape", () => {
    render(StartupError, {
      error: { code: "internal", message: "No home folder is known.", details: { dataDir: 42, stack: "at foo (x.rs:1)" } },
    });
    expect(byTestId("startup-error-message")?.textContent).toBe("No home folder is known.");
    expect(byTestId("startup-error-data-dir")).toBeNull();
    expect(byTestId("startup-error-log-dir")).toBeNull();
    expect(byTestId("startup-error")?.textContent).not.toContain("x.rs");
  });
});
