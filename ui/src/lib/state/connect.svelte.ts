// The state behind the Microsoft and Okta steps: the forms (values checked by the engine as they are
// typed, secrets never read back), saving them, and running a connection test with its live
// checklist. Components render these and call their methods; the backend is injected, so the logic
// runs in unit tests against the fake engine.
import {
  toIpcError,
  type ApiError,
  type Backend,
  type ConnectionTest,
  type CredentialInfo,
  type GeneratedKey,
  type MicrosoftCredentialInput,
  type MicrosoftCredentialKind,
  type OktaAuthInput,
  type OktaAuthKind,
  type Profile,
  type Progress,
} from "../ipc";
import { FieldValidator } from "./field.svelte";
import { toDateInput } from "./format";

export function asApiError(error: unknown): ApiError {
  const e = toIpcError(error);
  return { code: e.code, message: e.message, details: e.details };
}

/** One "Test connection": the checks announced so far while it runs, then the engine's verdict. */
export class ConnectionRun {
  running = $state(false);
  /** The checks started so far, in order (one entry per step id; the last one is running). */
  live = $state<Progress[]>([]);
  result = $state<ConnectionTest | null>(null);
  error = $state<ApiError | null>(null);

  constructor(initial: ConnectionTest | null = null) {
    this.result = initial;
  }

  async run(start: (onProgress: (progress: Progress) => void) => Promise<ConnectionTest>): Promise<ConnectionTest | null> {
    if (this.running) return null;
    this.running = true;
    this.live = [];
    this.result = null;
    this.error = null;
    try {
      const result = await start((progress) => {
        // Reports after the answer are stale; "done" closes the run and is not a check.
        if (!this.running || progress.step === "done") return;
        const i = this.live.findIndex((p) => p.step === progress.step);
        if (i === -1) this.live.push(progress);
        else this.live[i] = progress;
      });
      this.result = result;
      return result;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.running = false;
      this.live = [];
    }
  }
}


/** A PFX file chosen in the form, read in the browser (it leaves only in the save request). */
export interface PfxFile {
  name: string;
  base64: string;
}

/** The credential of a kind already in the keychain, as the form shows it ("•••• abc"). */
export interface StoredCredential {
  hint: string | null;
  expiresAt: string | null;
}

function credentialOf(credentials: CredentialInfo[], profileId: string, kind: CredentialInfo["kind"]): StoredCredential | null {
  const c = credentials.find((x) => x.profileId === profileId && x.kind === kind);
  return c ? { hint: c.hint, expiresAt: c.expiresAt } : null;
}

/** The date of a date input as the engine takes an expiry: `YYYY-MM-DD`, or null when empty. */
export function expiryFromDateInput(date: string): string | null {
  return date.trim() === "" ? null : date.trim();
}

export class MicrosoftForm {
  readonly profileId: string;
  readonly tenant: FieldValidator;
  readonly clientId: FieldValidator;
  readonly secret: FieldValidator;
  readonly certificate: FieldValidator;
  kind = $state<MicrosoftCredentialKind>("secret");
  secretExpiry = $state("");
  pfx = $state<PfxFile | null>(null);
  pfxPassword = $state("");
  /** What the keychain holds for this profile, by kind. */
  storedSecret = $state<StoredCredential | null>(null);
  storedCertificate = $state<StoredCredential | null>(null);
  saving = $state(false);
  saveError = $state<ApiError | null>(null);
  /** Set when a save succeeded and nothing was typed since. */
  saved = $state(false);
  readonly #backend: Backend;
  #storedExpiry = "";

  constructor(backend: Backend, profile: Profile, credentials: CredentialInfo[] = []) {
    this.#backend = backend;
    this.profileId = profile.id;
    const validate = backend.validateField;
    this.tenant = new FieldValidator("msTenant", validate, profile.microsoft?.tenant ?? profile.msTenant ?? "");
    this.clientId = new FieldValidator("msClientId", validate, profile.microsoft?.clientId ?? profile.msClientId ?? "");
    this.secret = new FieldValidator("msClientSecret", validate);
    this.certificate = new FieldValidator("msCertificate", validate);
    this.kind = profile.microsoft?.credentialKind ?? "secret";
    this.setStored(credentials);
  }

  /** Takes what the keychain holds (from `list_credentials`); secrets already stored may be left empty. */
  setStored(credentials: CredentialInfo[]): void {
    this.storedSecret = credentialOf(credentials, this.profileId, "entra.client_secret");
    this.storedCertificate = credentialOf(credentials, this.profileId, "entra.client_certificate");
    this.#storedExpiry = toDateInput(this.storedSecret?.expiresAt ?? null);
    this.secretExpiry = this.#storedExpiry;
    this.#sync();
  }

  setKind(kind: MicrosoftCredentialKind): void {
    this.kind = kind;
    this.saved = false;
    this.#sync();
  }

  /** A PFX file takes the place of pasted PEM text (which is dropped). */
  setPfx(file: PfxFile | null): void {
    this.pfx = file;
    if (file) this.certificate.clear();
    this.saved = false;
    this.#sync();
  }

  /** The stored credential the current kind would keep, if any. */
  get stored(): StoredCredential | null {
    return this.kind === "secret" ? this.storedSecret : this.storedCertificate;
  }

  /** Some value is known to be wrong: Save stays disabled until it is fixed. */
  get blocked(): boolean {
    const fields = [this.tenant, this.clientId];
    if (this.kind === "secret") fields.push(this.secret);
    else if (!this.pfx) fields.push(this.certificate);
    return fields.some((f) => f.invalid);
  }

  /** Whether a test can run: the tenant, the client id and a credential are saved. */
  get testable(): boolean {
    return this.stored !== null;
  }

  #sync(): void {
    this.secret.optional = this.storedSecret !== null;
    this.certificate.optional = this.storedCertificate !== null || this.pfx !== null;
  }

  #credential(): MicrosoftCredentialInput | null {
    if (this.kind === "secret") {
      const secret = this.secret.value.trim();
      return secret ? { kind: "secret", secret, expiresAt: expiryFromDateInput(this.secretExpiry) } : null;
    }
    if (this.pfx) return { kind: "certificatePfx", pfxBase64: this.pfx.base64, password: this.pfxPassword };
    const pem = this.certificate.value.trim();
    return pem ? { kind: "certificatePem", pem } : null;
  }

  /**
   * Checks every field, then saves. Empty secret fields keep what the keychain holds. Answers the
   * saved profile, or null when a value is wrong (shown under its field) or the save failed (`saveError`).
   */
  async save(): Promise<Profile | null> {
    if (this.saving) return null;
    this.saveError = null;
    const fields = [this.tenant, this.clientId];
    if (this.kind === "secret") fields.push(this.secret);
    else if (!this.pfx) fields.push(this.certificate);
    const checks = await Promise.all(fields.map((f) => f.flush()));
    if (!checks.every(Boolean)) return null;
    this.saving = true;
    try {
      const credential = this.#credential();
      const profile = await this.#backend.saveMicrosoft({
        profileId: this.profileId,
        tenant: this.tenant.normalized,
        clientId: this.clientId.normalized,
        credential,
      });
      // The secret was kept but its end date changed: that is metadata of the stored credential.
      if (this.kind === "secret" && credential === null && this.secretExpiry !== this.#storedExpiry) {
        await this.#backend.setCredentialExpiry(this.profileId, "entra.client_secret", expiryFromDateInput(this.secretExpiry));
      }
      const credentials = await this.#backend.listCredentials();
      this.secret.clear();
      this.certificate.clear();
      this.pfx = null;
      this.pfxPassword = "";
      this.setStored(credentials);
      this.saved = true;
      return profile;
    } catch (error) {
      this.saveError = asApiError(error);
      return null;
    } finally {
      this.saving = false;
    }
  }
}


/** What copying the public JWK did: copied to the clipboard, or only selected for Ctrl+C. */
export type CopyOutcome = "copied" | "selected" | null;

export class OktaForm {
  readonly profileId: string;
  readonly orgUrl: FieldValidator;
  readonly apiToken: FieldValidator;
  readonly clientId: FieldValidator;
  readonly privateKey: FieldValidator;
  auth = $state<OktaAuthKind>("serviceApp");
  /** The identity source imports write to (`0oa…`); optional, not a secret. */
  identitySourceId = $state("");
  storedToken = $state<StoredCredential | null>(null);
  storedKey = $state<StoredCredential | null>(null);
  /** A key pair generated in this form (its private half is already in the keychain). */
  generated = $state<GeneratedKey | null>(null);
  generating = $state(false);
  copied = $state<CopyOutcome>(null);
  saving = $state(false);
  saveError = $state<ApiError | null>(null);
  saved = $state(false);
  readonly #backend: Backend;
  /** The identity source id the engine has, so an unchanged one is left out of the save. */
  #storedIdentitySource = "";

  constructor(backend: Backend, profile: Profile, credentials: CredentialInfo[] = []) {
    this.#backend = backend;
    this.profileId = profile.id;
    this.#storedIdentitySource = profile.okta?.identitySourceId ?? "";
    this.identitySourceId = this.#storedIdentitySource;
    const validate = backend.validateField;
    this.orgUrl = new FieldValidator("oktaOrgUrl", validate, profile.okta?.orgUrl || profile.oktaOrgUrl || "");
    this.apiToken = new FieldValidator("oktaApiToken", validate);
    this.clientId = new FieldValidator("oktaClientId", validate, profile.okta?.clientId ?? "");
    this.privateKey = new FieldValidator("oktaPrivateKey", validate);
    this.auth = profile.okta?.auth ?? "serviceApp";
    this.setStored(credentials);
  }

  setStored(credentials: CredentialInfo[]): void {
    this.storedToken = credentialOf(credentials, this.profileId, "okta.api_token");
    this.storedKey = credentialOf(credentials, this.profileId, "okta.private_key");
    this.#sync();
  }

  setAuth(auth: OktaAuthKind): void {
    this.auth = auth;
    this.saved = false;
    this.#sync();
  }

  get blocked(): boolean {
    const fields = this.auth === "apiToken" ? [this.orgUrl, this.apiToken] : [this.orgUrl, this.clientId, this.privateKey];
    return fields.some((f) => f.invalid);
  }

  get testable(): boolean {
    return this.auth === "apiToken" ? this.storedToken !== null : this.storedKey !== null;
  }

  #sync(): void {
    this.apiToken.optional = this.storedToken !== null;
    this.privateKey.optional = this.storedKey !== null || this.generated !== null;
  }

  /** Generates a key pair for the service app; the admin pastes its public JWK into Okta. */
  async generateKey(): Promise<GeneratedKey | null> {
    if (this.generating) return null;
    this.generating = true;
    this.saveError = null;
    this.copied = null;
    try {
      this.generated = await this.#backend.generateOktaKey(this.profileId);
      this.privateKey.clear();
      this.setStored(await this.#backend.listCredentials());
      this.#sync();
      return this.generated;
    } catch (error) {
      this.saveError = asApiError(error);
      return null;
    } finally {
      this.generating = false;
    }
  }

  #auth(): OktaAuthInput {
    if (this.auth === "apiToken") {
      const token = this.apiToken.value.trim();
      return { kind: "apiToken", token: token || null };
    }
    const pasted = this.privateKey.value.trim();
    return {
      kind: "serviceApp",
      clientId: this.clientId.normalized,
      privateKey: pasted || null,
      keyId: pasted ? null : (this.generated?.keyId ?? null),
    };
  }

  async save(): Promise<Profile | null> {
    if (this.saving) return null;
    this.saveError = null;
    const fields = this.auth === "apiToken" ? [this.orgUrl, this.apiToken] : [this.orgUrl, this.clientId, this.privateKey];
    const checks = await Promise.all(fields.map((f) => f.flush()));
    if (!checks.every(Boolean)) return null;
    this.saving = true;
    try {
      const identitySourceId = this.identitySourceId.trim();
      const profile = await this.#backend.saveOkta({
        profileId: this.profileId,
        orgUrl: this.orgUrl.normalized,
        auth: this.#auth(),
        // Left out when unchanged (the engine keeps it); "" clears it.
        ...(identitySourceId !== this.#storedIdentitySource ? { identitySourceId } : {}),
      });
      this.#storedIdentitySource = profile.okta.identitySourceId ?? "";
      this.identitySourceId = this.#storedIdentitySource;
      this.apiToken.clear();
      this.privateKey.clear();
      this.setStored(await this.#backend.listCredentials());
      this.saved = true;
      return profile;
    } catch (error) {
      this.saveError = asApiError(error);
      return null;
    } finally {
      this.saving = false;
    }
  }
}

/**
 * Copies `text` with the Clipboard API; where that is refused (no permission, an insecure context),
 * selects the text of `element` so Ctrl+C copies it.
 */
export async function copyText(text: string, element: HTMLElement | null): Promise<CopyOutcome> {
  try {
    if (!navigator.clipboard?.writeText) throw new Error("no Clipboard API");
    await navigator.clipboard.writeText(text);
    return "copied";
  } catch {
    if (!element) return null;
    const selection = window.getSelection();
    const range = document.createRange();
    range.selectNodeContents(element);
    selection?.removeAllRanges();
    selection?.addRange(range);
    return "selected";
  }
}

function read(file: File, as: "text" | "dataUrl"): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error(`${file.name} could not be read`));
    if (as === "text") reader.readAsText(file);
    else reader.readAsDataURL(file);
  });
}

/** Reads a chosen file as text (a .pem), in the browser. */
export function readText(file: File): Promise<string> {
  return read(file, "text");
}

/** Reads a chosen file as base64 (a .pfx), in the browser. */
export async function readBase64(file: File): Promise<string> {
  const url = await read(file, "dataUrl");
  return url.slice(url.indexOf(",") + 1);
}
