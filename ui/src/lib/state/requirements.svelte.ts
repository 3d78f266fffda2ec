// The engine's operation → requirement table (`connect::requirements`, served by the `requirements`
// command): what each operation does and the Graph permissions and Okta scopes it needs. Test
// connection checks exactly these rows; the connection steps only explain them, so the table is
// asked for once and kept here, never copied into the front end.
import type { ApiError, Backend, OperationId, OperationRequirement } from "../ipc";
import { asApiError } from "./connect.svelte";

export class Requirements {
  /** The table, once the engine answered; rows in the engine's display order. */
  table = $state<OperationRequirement[] | null>(null);
  /** Why the last load failed, until one succeeds. */
  error = $state<ApiError | null>(null);

  readonly #backend: Backend;
  #loading: Promise<void> | null = null;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Asks the engine for the table the first time; later calls reuse it (a failed load may be retried). */
  load(): Promise<void> {
    if (this.table) return Promise.resolve();
    this.#loading ??= this.#fetch();
    return this.#loading;
  }

  async #fetch(): Promise<void> {
    try {
      this.table = await this.#backend.requirements();
      this.error = null;
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.#loading = null;
    }
  }

  /** The Okta scopes the given operations need, each once, sorted; empty until the table is loaded. */
  oktaScopesFor(operations: readonly OperationId[]): string[] {
    const scopes = new Set<string>();
    for (const row of this.table ?? []) if (operations.includes(row.operation)) row.oktaScopes.forEach((s) => scopes.add(s));
    return [...scopes].sort();
  }

  /**
   * `operations` in the table's order, so a saved list does not depend on the order of the clicks
   * (the engine orders them the same way when it saves).
   */
  ordered(operations: Iterable<OperationId>): OperationId[] {
    const set = new Set(operations);
    return (this.table ?? []).map((row) => row.operation).filter((id) => set.has(id));
  }
}
