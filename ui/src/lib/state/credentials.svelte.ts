// The Credentials screen's state: every credential in the keychain (metadata only, from
// list_credentials), and what the admin does to one: replace, test, set its expiry, delete.
import type { ApiError, Backend, CredentialInfo, CredentialKind, Profile } from "../ipc";
import { asApiError, ConnectionRun } from "./connect.svelte";
import { daysUntil, expiryState, toDateInput, WARNING_DAYS, type ExpiryTone } from "./format";

/** One row's identity: a profile holds at most one credential of each kind. */
export function rowKey(c: Pick<CredentialInfo, "profileId" | "kind">): string {
  return `${c.profileId}:${c.kind}`;
}

/** Which connection a kind belongs to (the step to go to, the test to run). */
export function targetOf(kind: CredentialKind): "microsoft" | "okta" {
  return kind.startsWith("entra.") ? "microsoft" : "okta";
}

/** Kinds replaced inline by pasting a new value; the others are replaced on their step's field. */
export function replacedInline(kind: CredentialKind): boolean {
  return kind === "entra.client_secret" || kind === "okta.api_token";
}

/** The field a kind is replaced at on its step. */
export function replaceField(kind: CredentialKind): string {
  switch (kind) {
    case "entra.client_secret":
      return "ms-secret";
    case "entra.client_certificate":
      return "ms-certificate";
    case "okta.api_token":
      return "okta-api-token";
    case "okta.private_key":
      return "okta-private-key";
  }
}

/** The non-secret hint that helps recognise a credential, as a short phrase ("abc••••", "key id k1"). */
export function hintText(kind: CredentialKind, hint: string | null): string {
  if (!hint) return "•••• in the OS keychain";
  // Thumbprints and key ids are long; their start is enough to tell two apart.
  if (hint.length > 16) hint = `${hint.slice(0, 12)}…`;
  switch (kind) {
    case "entra.client_certificate":
      return `thumbprint ${hint}`;
    case "okta.private_key":
      return `key id ${hint}`;
    default:
      return `${hint}••••`;
  }
}

/** The days left the engine computed, or else from the expiry date; null when no date is known. */
export function daysLeft(c: Pick<CredentialInfo, "daysLeft" | "expiresAt">, now?: Date): number | null {
  if (c.daysLeft !== null && c.daysLeft !== undefined) return c.daysLeft;
  return c.expiresAt ? daysUntil(c.expiresAt, now) : null;
}

/** The countdown and its tone; flagged from 30 days before (or when the engine says so). */
export function expiryOf(c: Pick<CredentialInfo, "daysLeft" | "expiresAt" | "expiryWarning">, now?: Date): { text: string; tone: ExpiryTone } {
  const state = expiryState(daysLeft(c, now));
  if (state.tone === "ok" && c.expiryWarning) return { ...state, tone: "warning" };
  return state;
}

/** What the delete confirmation says: what goes, and what stops working. */
export function deleteQuestion(c: CredentialInfo): string {
  const target = targetOf(c.kind) === "microsoft" ? "Microsoft" : "Okta";
  return `Delete the ${c.label} of “${c.profileName}” from the OS keychain? okta365 can no longer sign in to ${target} for this profile until you save a new one.`;
}

export { WARNING_DAYS };

export class CredentialsBoard {
  items = $state<CredentialInfo[]>([]);
  loaded = $state(false);
  error = $state<ApiError | null>(null);
  /** The row whose delete is waiting for confirmation. */
  confirming = $state<string | null>(null);
  /** The row whose new secret is being typed, and the text. */
  replacing = $state<string | null>(null);
  replacement = $state("");
  /** The row whose action is in flight. */
  working = $state<string | null>(null);
  /** Per-row errors of the last action. */
  rowErrors = $state<Record<string, string>>({});
  /** Per-row test runs. */
  runs = $state<Record<string, ConnectionRun>>({});
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  async load(): Promise<void> {
    try {
      this.items = await this.#backend.listCredentials();
      this.error = null;
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.loaded = true;
    }
  }

  #fail(key: string, error: unknown): void {
    this.rowErrors = { ...this.rowErrors, [key]: asApiError(error).message };
  }

  #clear(key: string): void {
    if (key in this.rowErrors) {
      const { [key]: _gone, ...rest } = this.rowErrors;
      this.rowErrors = rest;
    }
  }

  askDelete(c: CredentialInfo): void {
    this.confirming = rowKey(c);
    this.replacing = null;
  }

  cancelDelete(): void {
    this.confirming = null;
  }

  async confirmDelete(c: CredentialInfo): Promise<void> {
    const key = rowKey(c);
    this.working = key;
    this.#clear(key);
    try {
      await this.#backend.deleteCredential(c.profileId, c.kind);
      this.confirming = null;
      await this.load();
    } catch (error) {
      this.#fail(key, error);
    } finally {
      this.working = null;
    }
  }

  /** Sets (or with "" clears) the expiry from a date input. */
  async setExpiry(c: CredentialInfo, date: string): Promise<void> {
    const key = rowKey(c);
    if (date === toDateInput(c.expiresAt)) return;
    this.working = key;
    this.#clear(key);
    try {
      const updated = await this.#backend.setCredentialExpiry(c.profileId, c.kind, date === "" ? null : date);
      this.items = this.items.map((x) => (rowKey(x) === key ? updated : x));
    } catch (error) {
      this.#fail(key, error);
    } finally {
      this.working = null;
    }
  }

  startReplace(c: CredentialInfo): void {
    this.replacing = rowKey(c);
    this.replacement = "";
    this.confirming = null;
  }

  cancelReplace(): void {
    this.replacing = null;
    this.replacement = "";
  }

  /** Saves a pasted client secret or API token over the stored one, through the profile's save command. */
  async saveReplacement(c: CredentialInfo, profile: Profile | undefined): Promise<Profile | null> {
    const key = rowKey(c);
    const value = this.replacement.trim();
    this.#clear(key);
    if (!profile) {
      this.#fail(key, { code: "not_found", message: `The profile “${c.profileName}” is no longer there.` });
      return null;
    }
    if (value === "") {
      this.#fail(key, { code: "invalid_input", message: `Paste the new ${c.label} first.` });
      return null;
    }
    this.working = key;
    try {
      let saved: Profile;
      if (c.kind === "entra.client_secret") {
        saved = await this.#backend.saveMicrosoft({
          profileId: profile.id,
          tenant: profile.microsoft?.tenant ?? profile.msTenant ?? "",
          clientId: profile.microsoft?.clientId ?? profile.msClientId ?? "",
          credential: { kind: "secret", secret: value, expiresAt: null },
        });
      } else {
        saved = await this.#backend.saveOkta({
          profileId: profile.id,
          orgUrl: profile.okta?.orgUrl || profile.oktaOrgUrl,
          auth: { kind: "apiToken", token: value },
        });
      }
      this.replacing = null;
      this.replacement = "";
      await this.load();
      return saved;
    } catch (error) {
      this.#fail(key, error);
      return null;
    } finally {
      this.working = null;
    }
  }

  /** Runs the test of the connection the credential belongs to; the result shows under its row. */
  async test(c: CredentialInfo): Promise<void> {
    const key = rowKey(c);
    const run = this.runs[key] ?? new ConnectionRun();
    this.runs = { ...this.runs, [key]: run };
    await run.run((onProgress) =>
      targetOf(c.kind) === "microsoft"
        ? this.#backend.testMicrosoft(c.profileId, onProgress)
        : this.#backend.testOkta(c.profileId, onProgress),
    );
    // The test touched the credential: its "last used" (and maybe its expiry) changed.
    await this.load();
  }
}
