// An in-memory stand-in for the Rust engine behind the Tauri commands, for front-end unit tests.
// It follows docs/architecture.md: the same command names, argument names, JSON shapes and error
// codes. Install it with `installFakeEngine()`, which routes `invoke` to it through `mockIPC`.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ApiError, AppInfo, Profile, Progress, StepId } from "../lib/ipc";
import { isStepId } from "../lib/state/steps";

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

export class FakeEngine {
  profiles: Profile[] = [];
  activeId: string | null = null;
  calls: Call[] = [];
  /** When set, the next call of that command rejects with this error (once). */
  failNext = new Map<string, ApiError>();
  /** When set, calls of that command wait for the returned promise before answering. */
  gate = new Map<string, Promise<void>>();
  /** What `create_sandbox_profile` reports on its progress channel, in order (the engine's real steps). */
  progress: Progress[] = [
    ["sandbox", "Starting the built-in sandbox tenant"],
    ["credentials", "Creating demo credentials on the sandbox tenant"],
    ["keychain", "Storing the Okta API token and the client secret in the OS keychain"],
    ["profile", 'Saving the profile "Sandbox"'],
    ["done", 'The sandbox profile "Sandbox" is ready'],
  ].map(([step, message], done) => ({ operation: "create_sandbox_profile", step, done, total: 4, message }));
  /** When set, `create_sandbox_profile` waits for the promise right after reporting that step. */
  progressGate = new Map<string, Promise<void>>();
  #seq = 0;

  info(): AppInfo {
    return {
      version: "0.1.0",
      buildKind: "debug",
      dataDir: "/tmp/okta365-test",
      logDir: "/tmp/okta365-test/logs",
      activeProfileId: this.activeId,
    };
  }

  addProfile(partial: Partial<Profile> = {}): Profile {
    this.#seq += 1;
    const profile: Profile = {
      id: `p${this.#seq}`,
      name: this.#seq === 1 ? "Sandbox" : `Sandbox ${this.#seq}`,
      kind: "sandbox",
      oktaOrgUrl: "http://127.0.0.1:41234",
      entraLoginUrl: "http://127.0.0.1:41234",
      graphUrl: "http://127.0.0.1:41234",
      msTenant: "contoso.onmicrosoft.com",
      msClientId: "4f1c2a9e-0b7d-4c55-9a31-6e2f8d0c7b14",
      embeddedSandbox: true,
      wizardStep: "welcome",
      createdAt: "2026-01-01T00:00:00Z",
      ...partial,
    };
    this.profiles.push(profile);
    return profile;
  }

  #find(id: unknown): Profile {
    const p = this.profiles.find((x) => x.id === id || x.name === id);
    if (!p) throw { code: "not_found", message: `No profile named or with id "${String(id)}".` } satisfies ApiError;
    return p;
  }

  async handle(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    // Recorded as they cross the wire (JSON): a channel is its `__CHANNEL__:<id>` reference.
    this.calls.push({ cmd, args: JSON.parse(JSON.stringify(args)) as Record<string, unknown> });
    const gate = this.gate.get(cmd);
    if (gate) await gate;
    const failure = this.failNext.get(cmd);
    if (failure) {
      this.failNext.delete(cmd);
      throw failure;
    }
    switch (cmd) {
      case "app_info":
        return this.info();
      case "list_profiles":
        return structuredClone(this.profiles);
      case "create_sandbox_profile": {
        const request = args.request as { name: string | null; url: string | null } | undefined;
        if (!request || !("name" in request) || !("url" in request))
          throw { code: "invalid_input", message: "missing request" } satisfies ApiError;
        if (!args.onProgress) throw { code: "invalid_input", message: "missing onProgress channel" } satisfies ApiError;
        for (const [i, report] of this.progress.entries()) {
          sendOnChannel(args.onProgress, i, structuredClone(report));
          const hold = this.progressGate.get(report.step);
          if (hold) await hold;
        }
        const p = this.addProfile(request.name ? { name: request.name } : {});
        this.activeId = p.id;
        return structuredClone(p);
      }
      case "select_profile": {
        const p = this.#find(args.id);
        this.activeId = p.id;
        return structuredClone(p);
      }
      case "remove_profile": {
        const p = this.#find(args.id);
        this.profiles = this.profiles.filter((x) => x !== p);
        if (this.activeId === p.id) this.activeId = null;
        return null;
      }
      case "set_wizard_step": {
        const p = this.#find(args.id);
        if (!isStepId(args.step))
          throw { code: "invalid_input", message: `Unknown step "${String(args.step)}".` } satisfies ApiError;
        p.wizardStep = args.step as StepId;
        return structuredClone(p);
      }
      default:
        throw `command ${cmd} not found`;
    }
  }

  callsOf(cmd: string): Call[] {
    return this.calls.filter((c) => c.cmd === cmd);
  }
}

/**
 * Delivers one message on a Tauri channel the way the Rust side does (`Channel::send` evaluates
 * `runCallback(id, { message, index })` in the webview); `mockIPC` installs that callback registry.
 */
export function sendOnChannel(channel: unknown, index: number, message: unknown): void {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback(id: number, data: unknown): void } })
    .__TAURI_INTERNALS__;
  internals.runCallback((channel as { id: number }).id, { message, index });
}

export function installFakeEngine(engine = new FakeEngine()): FakeEngine {
  mockIPC((cmd, args) => engine.handle(cmd, args as Record<string, unknown>));
  return engine;
}

export { clearMocks };

/** A promise plus the function that resolves it, to hold a fake command open mid-test. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
