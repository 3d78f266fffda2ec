// Words and small pure helpers the Provisioning and History steps share: what an operation, a kind
// of change, a status or a trigger is called, durations, and the live step statuses of an apply
// worked out from its progress reports (docs/provisioning.md, "Progress").
import type { ChangeKind, OperationId, PlannedChange, Progress, RunStatus, RunStep, RunTrigger, StepStatus } from "../ipc";

/** The operations a run plans and applies, in the order the steps show them. */
export const RUN_OPERATIONS = ["memberAccounts", "profileSync", "guests"] as const satisfies readonly OperationId[];
export type RunOperation = (typeof RUN_OPERATIONS)[number];

export const OPERATION_WORDS: Record<RunOperation, { title: string; lead: string }> = {
  memberAccounts: {
    title: "Member accounts",
    lead: "Members of the assignments group get a Microsoft 365 account; an existing account with the same username or mail is linked, never duplicated.",
  },
  profileSync: {
    title: "Profile sync",
    lead: "Linked accounts get the mapped Okta attributes; only the fields that differ are written.",
  },
  guests: {
    title: "Guests",
    lead: "Members of the guests group are invited as guests; guests who left the group are removed.",
  },
};

/** What an operation is called, for any operation id (the three above or another one). */
export function operationTitle(op: OperationId): string {
  return (OPERATION_WORDS as Partial<Record<OperationId, { title: string }>>)[op]?.title ?? op;
}

export const CHANGE_WORDS: Record<ChangeKind, string> = {
  createUser: "Create account",
  linkUser: "Link account",
  updateUser: "Update",
  inviteGuest: "Invite guest",
  linkGuest: "Link guest",
  deleteUser: "Delete account",
  disableUser: "Disable account",
};

/** The tag class of a change kind in the shared `.tag` styles. */
export function changeTone(kind: ChangeKind): "create" | "update" | "exists" | "missing" {
  if (kind === "deleteUser" || kind === "disableUser") return "missing";
  if (kind === "linkUser" || kind === "linkGuest") return "exists";
  if (kind === "updateUser") return "update";
  return "create";
}

export const RUN_STATUS_WORDS: Record<RunStatus, string> = {
  planned: "Planned",
  running: "Running",
  succeeded: "Succeeded",
  partial: "Partly done",
  failed: "Failed",
  interrupted: "Interrupted",
  cancelled: "Cancelled",
  discarded: "Discarded",
};

export const RUN_STATUSES = Object.keys(RUN_STATUS_WORDS) as RunStatus[];

export const STEP_STATUS_WORDS: Record<StepStatus, string> = {
  pending: "Waiting",
  started: "Writing",
  done: "Done",
  failed: "Failed",
  skipped: "Skipped",
  superseded: "Found already done",
};

export const TRIGGER_WORDS: Record<RunTrigger, string> = {
  manual: "Manual",
  reconcile: "Reconcile",
  systemLog: "System Log",
  testRun: "Test run",
};

/** "850 ms", "4.2 s", "3 min 05 s"; "—" when unknown. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/** One row of an apply's live step list. */
export interface LiveStep {
  seq: number;
  userLabel: string;
  kind: ChangeKind;
  target: string;
  status: StepStatus;
  /** The journaled step once the run's detail is read after the apply. */
  step: RunStep | null;
}

export function liveSteps(changes: PlannedChange[]): LiveStep[] {
  return changes.map((c) => ({ seq: c.seq, userLabel: c.userLabel, kind: c.kind, target: c.target, status: "pending", step: null }));
}

/**
 * The outcome a run's progress report names. The engine reports each step when it returns (writes
 * go out in `$batch` requests, so several may return at once), with `step` = the change's seq and
 * the message starting "Done:", "Already done:" or "Failed:" (crates/engine/src/runs/journal.rs).
 * The journal read after the apply is the record; this only keeps the rows moving meanwhile.
 */
export function reportedStatus(message: string): StepStatus {
  if (/^failed\b/i.test(message)) return "failed";
  if (/^already done\b/i.test(message)) return "superseded";
  return "done";
}

/** Marks the first waiting step as being written, unless one is already. */
export function startNext(steps: LiveStep[]): LiveStep[] {
  if (steps.some((s) => s.status === "started")) return steps;
  const next = steps.findIndex((s) => s.status === "pending");
  return next < 0 ? steps : steps.map((s, i) => (i === next ? { ...s, status: "started" } : s));
}

/**
 * Applies one progress report of a run to its live steps: the step it names has returned with the
 * outcome its message says, and the next waiting step is shown as being written. The final `done`
 * report ends the writing.
 */
export function advance(steps: LiveStep[], progress: Progress): LiveStep[] {
  if (progress.operation !== "run") return steps;
  if (progress.step === "done") return steps.map((s) => (s.status === "started" ? { ...s, status: "done" } : s));
  const seq = Number(progress.step);
  if (!Number.isInteger(seq) || !steps.some((s) => s.seq === seq)) return steps;
  const status = reportedStatus(progress.message);
  return startNext(steps.map((s) => (s.seq === seq ? { ...s, status } : s)));
}

/** The live steps with each journaled step's real outcome. */
export function settle(steps: LiveStep[], journal: RunStep[]): LiveStep[] {
  return steps.map((s) => {
    const step = journal.find((j) => j.seq === s.seq) ?? null;
    return step ? { ...s, status: step.status, step } : s;
  });
}
