// The History step's state (docs/provisioning.md, "History"): the runs of a profile with filters
// (operation, status, user), one run's timeline, its export as JSON or CSV, and deleting it after
// a confirmation.
import type { ApiError, Backend, ExportFormat, OperationId, RunDetail, RunFilter, RunStatus, RunSummary } from "../ipc";
import { asApiError } from "./connect.svelte";

/** A file for the browser to save. */
export interface Download {
  name: string;
  mime: string;
  text: string;
}

/** Saves `file` through a Blob link (the webview's download), where the page can make one. */
export function saveFile(file: Download, doc: Document = document): void {
  if (typeof URL.createObjectURL !== "function") return;
  const url = URL.createObjectURL(new Blob([file.text], { type: file.mime }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = file.name;
  a.style.display = "none";
  doc.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export class History {
  readonly profileId: string;
  operation = $state<OperationId | null>(null);
  status = $state<RunStatus | null>(null);
  user = $state("");
  runs = $state<RunSummary[]>([]);
  loaded = $state(false);
  loading = $state(false);
  /** The run shown as a timeline. */
  detail = $state<RunDetail | null>(null);
  opening = $state(false);
  exporting = $state<ExportFormat | null>(null);
  /** The last export, for the page to say what was saved. */
  exported = $state<Download | null>(null);
  /** True while the delete asks for confirmation. */
  confirmingDelete = $state(false);
  deleting = $state(false);
  resuming = $state(false);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #save: (file: Download) => void;
  #seq = 0;

  constructor(backend: Backend, profileId: string, save: (file: Download) => void = (file) => saveFile(file)) {
    this.#backend = backend;
    this.profileId = profileId;
    this.#save = save;
  }

  get filter(): RunFilter {
    const user = this.user.trim();
    return { operation: this.operation, status: this.status, user: user === "" ? null : user, limit: 200 };
  }

  /** Reads the runs with the current filters; an older answer never wins. */
  async load(): Promise<void> {
    const seq = ++this.#seq;
    this.loading = true;
    this.error = null;
    try {
      const runs = await this.#backend.listRuns(this.profileId, this.filter);
      if (seq !== this.#seq) return;
      this.runs = runs;
      this.loaded = true;
    } catch (error) {
      if (seq === this.#seq) this.error = asApiError(error);
    } finally {
      if (seq === this.#seq) this.loading = false;
    }
  }

  /** True while a listed or the open run is still running (the page then refreshes on its own). */
  get running(): boolean {
    return this.runs.some((r) => r.status === "running") || this.detail?.summary.status === "running";
  }

  /** True when a listed run was interrupted (the app closed or crashed mid-apply). */
  get interrupted(): boolean {
    return this.runs.some((r) => r.status === "interrupted");
  }

  /** Finishes the interrupted runs (each started step checked against the live state first). */
  async resume(): Promise<void> {
    if (this.resuming) return;
    this.resuming = true;
    this.error = null;
    try {
      await this.#backend.resumeRuns();
      await this.refresh();
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.resuming = false;
    }
  }

  /** Reads the list again and, quietly, the open run. */
  async refresh(): Promise<void> {
    await this.load();
    const open = this.detail;
    if (!open) return;
    try {
      const detail = await this.#backend.runDetail(open.summary.runId);
      if (this.detail?.summary.runId === detail.summary.runId) this.detail = detail;
    } catch {
      // Deleted meanwhile: the list no longer has it either.
    }
  }

  async open(runId: string): Promise<void> {
    this.opening = true;
    this.error = null;
    this.confirmingDelete = false;
    this.exported = null;
    try {
      this.detail = await this.#backend.runDetail(runId);
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.opening = false;
    }
  }

  close(): void {
    this.detail = null;
    this.confirmingDelete = false;
    this.exported = null;
  }

  async export(format: ExportFormat): Promise<Download | null> {
    const run = this.detail;
    if (!run || this.exporting) return null;
    this.exporting = format;
    this.error = null;
    try {
      const text = await this.#backend.exportRun(run.summary.runId, format);
      const file: Download = {
        name: `okta365-run-${run.summary.operation}-${run.summary.runId}.${format}`,
        mime: format === "json" ? "application/json" : "text/csv",
        text,
      };
      this.#save(file);
      this.exported = file;
      return file;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.exporting = null;
    }
  }

  /** First call asks for confirmation; the second (confirmed) deletes the open run. */
  async remove(confirmed = false): Promise<boolean> {
    const run = this.detail;
    if (!run || this.deleting) return false;
    if (!confirmed) {
      this.confirmingDelete = true;
      return false;
    }
    this.deleting = true;
    this.error = null;
    try {
      await this.#backend.deleteRun(run.summary.runId);
      this.runs = this.runs.filter((r) => r.runId !== run.summary.runId);
      this.detail = null;
      this.confirmingDelete = false;
      return true;
    } catch (error) {
      this.error = asApiError(error);
      return false;
    } finally {
      this.deleting = false;
    }
  }
}
