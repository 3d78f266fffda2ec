// As-you-type checks of one form value through the engine's `validate_field` (docs/connections.md,
// "Field checks"), so the app shows exactly what the CLI would say. Calls are debounced while the
// admin types, answers to older values are dropped, and the last message stays on screen until the
// next answer arrives, so nothing jumps while a check is in flight.
import type { FieldCheck, FieldId } from "../ipc";

/** What a field shows under its input: the engine's message for a bad value, or its note for a good one. */
export interface FieldMessage {
  text: string;
  tone: "error" | "note";
}

export type ValidateFn = (field: FieldId, value: string) => Promise<FieldCheck>;

export interface FieldOptions {
  /** An empty value is acceptable (e.g. a secret already in the keychain: empty keeps it). */
  optional?: boolean;
  /** Milliseconds of quiet typing before the engine is asked. */
  delay?: number;
}

export class FieldValidator {
  value = $state("");
  /** The engine's answer for `checkedValue`. */
  check = $state<FieldCheck | null>(null);
  checkedValue = $state<string | null>(null);
  pending = $state(false);
  /** Set on blur or on a save attempt: from then on an empty required value is reported too. */
  touched = $state(false);
  /** The engine could not be asked (not the value's fault); shown instead of a verdict. */
  failure = $state<string | null>(null);
  optional = $state(false);

  readonly field: FieldId;
  readonly #validate: ValidateFn;
  readonly #delay: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #seq = 0;
  #inflight: Promise<void> | null = null;

  constructor(field: FieldId, validate: ValidateFn, initial = "", options: FieldOptions = {}) {
    this.field = field;
    this.#validate = validate;
    this.#delay = options.delay ?? 300;
    this.optional = options.optional ?? false;
    this.value = initial;
    // A pre-filled value (a saved profile, a sandbox) is checked at once so Save knows where it stands.
    if (initial.trim() !== "") void this.#run();
  }

  /** True when there is nothing to check: an empty optional value. */
  get skipped(): boolean {
    return this.optional && this.value.trim() === "";
  }

  /** The value was checked and the engine said no; what Save is disabled on. */
  get invalid(): boolean {
    if (this.skipped) return false;
    if (this.value.trim() === "") return this.touched;
    return this.check !== null && !this.check.ok;
  }

  /** The engine's verdict on exactly the current value (false while unknown). */
  get valid(): boolean {
    if (this.skipped) return true;
    return this.check !== null && this.check.ok && this.checkedValue === this.value;
  }

  /** The message to show: the last verdict's, kept while a newer check runs. */
  get message(): FieldMessage | null {
    if (this.failure) return { text: this.failure, tone: "error" };
    if (this.skipped) return null;
    if (this.check === null) return null;
    if (!this.check.ok) {
      if (this.value.trim() === "" && !this.touched) return null;
      return this.check.message ? { text: this.check.message, tone: "error" } : null;
    }
    return this.check.note ? { text: this.check.note, tone: "note" } : null;
  }

  /** The engine's normalized form of the value when it gave one, else the trimmed value. */
  get normalized(): string {
    if (this.valid && this.check?.normalized) return this.check.normalized;
    return this.value.trim();
  }

  /** Call on every keystroke: the check runs once typing pauses. */
  input(): void {
    this.#clearTimer();
    this.pending = true;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#run();
    }, this.#delay);
  }

  /** Call when the field loses focus: checks right away and reports an empty required value. */
  blur(): void {
    this.touched = true;
    if (this.#timer !== null || this.checkedValue !== this.value) {
      this.#clearTimer();
      void this.#run();
    }
  }

  /** Replaces the value (e.g. read from a file) and checks it at once. */
  set(value: string): void {
    this.value = value;
    this.#clearTimer();
    void this.#run();
  }

  /** Empties the field without a check (after a secret was saved). */
  clear(): void {
    this.#clearTimer();
    this.#seq++;
    this.value = "";
    this.check = null;
    this.checkedValue = null;
    this.pending = false;
    this.failure = null;
    this.touched = false;
  }

  /** Checks the current value now unless that is already done; true when it is acceptable. */
  async flush(): Promise<boolean> {
    this.touched = true;
    if (this.#timer !== null || this.checkedValue !== this.value) {
      this.#clearTimer();
      await this.#run();
    } else if (this.#inflight) {
      await this.#inflight;
    }
    return this.valid;
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #run(): Promise<void> {
    const seq = ++this.#seq;
    const value = this.value;
    if (value.trim() === "") {
      this.pending = false;
      this.failure = null;
      this.checkedValue = value;
      this.check = this.optional
        ? null
        : { field: this.field, ok: false, message: emptyMessage(this.field), normalized: null, note: null };
      return Promise.resolve();
    }
    this.pending = true;
    const run = this.#validate(this.field, value).then(
      (check) => {
        if (seq !== this.#seq) return;
        this.check = check;
        this.checkedValue = value;
        this.failure = null;
        this.pending = false;
      },
      (error: unknown) => {
        if (seq !== this.#seq) return;
        this.check = null;
        this.checkedValue = null;
        this.failure = `This value could not be checked: ${error instanceof Error ? error.message : String(error)}`;
        this.pending = false;
      },
    );
    this.#inflight = run;
    return run;
  }
}

/** What an empty required field says; the engine is not asked about an empty value. */
export function emptyMessage(field: FieldId): string {
  switch (field) {
    case "msTenant":
      return "Enter the directory (tenant) ID or a verified domain such as contoso.onmicrosoft.com (Entra admin center → Overview).";
    case "msClientId":
      return "Enter the application (client) ID from App registrations → your app → Overview.";
    case "msClientSecret":
      return "Paste the client secret's Value (shown once, when it is created under Certificates & secrets).";
    case "msCertificate":
      return "Paste the certificate and its private key as PEM, or choose a .pem or .pfx file.";
    case "oktaOrgUrl":
      return "Enter your Okta org URL, for example https://acme.okta.com.";
    case "oktaApiToken":
      return "Paste the API token from Security → API → Tokens in the Okta admin console.";
    case "oktaClientId":
      return "Enter the service app's client ID (it starts with 0oa), from Applications → the app → General.";
    case "oktaPrivateKey":
      return "Paste the private key (PEM or JWK), or generate a key pair below.";
  }
}
