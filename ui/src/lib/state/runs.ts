// Words and small pure helpers the Provisioning and History steps share: what an operation, a kind
// of change, a status or a trigger is called, durations, and the live step statuses of an apply
// worked out from its progress reports (docs/provisioning.md, "Progress").
import type { ChangeKind, OperationId, PlannedChange, Progress, RunStatus, RunStep, RunTrigger, StepStatus } from "../ipc";

/** The provisioning operations a run plans and applies, in the order the Provisioning step shows them. */
export const RUN_OPERATIONS = ["memberAccounts", "profileSync", "guests"] as const satisfies readonly OperationId[];
/** The licensing lifecycle's operations, in the order the Lifecycle step shows them (docs/licensing.md). */
export const LIFECYCLE_OPERATIONS = ["licenses", "deactivation", "activation"] as const satisfies readonly OperationId[];
/** Every operation that runs as a planned, journaled run (the History step's filter); imports are runs too (docs/imports.md). */
export const ALL_RUN_OPERATIONS = [...RUN_OPERATIONS, ...LIFECYCLE_OPERATIONS, "imports"] as const;
export type RunOperation = (typeof ALL_RUN_OPERATIONS)[number];

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
  licenses: {
    title: "Licenses",
    lead: "Linked members of the assignments group get the licenses mapped to the group on the Licenses step; licenses from an Entra group are left alone.",
  },
  deactivation: {
    title: "Deactivation",
    lead: "Accounts of people who left the assignments group are disabled (sessions revoked, licenses remembered, manager emailed); their licenses are removed after the delay.",
  },
  imports: {
    title: "Import",
    lead: "Records of a CSV file or an HTTP JSON endpoint uploaded to the Okta Custom Identity Source in import sessions: active ones upserted, inactive ones deactivated.",
  },
  activation: {
    title: "Activation",
    lead: "Returners are enabled again: a pending license removal is cancelled and the licenses they had are given back.",
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
  enableUser: "Enable account",
  setUsageLocation: "Set usage location",
  assignLicense: "Assign licenses",
  removeLicenses: "Remove licenses",
  revokeSessions: "Revoke sessions",
  snapshotLicenses: "Remember licenses",
  emailManager: "Email manager",
  scheduleStage: "Schedule license removal",
  cancelStage: "Cancel license removal",
  deleteSession: "Delete stale import session",
  createSession: "Create import session",
  bulkUpsert: "Upload users",
  bulkDelete: "Deactivate users",
  startImport: "Start import",
  awaitSession: "Wait for import",
};

/** The tag class of a change kind in the shared `.tag` styles. */
export function changeTone(kind: ChangeKind): "create" | "update" | "exists" | "missing" {
  if (kind === "deleteUser" || kind === "disableUser" || kind === "removeLicenses" || kind === "revokeSessions" || kind === "bulkDelete" || kind === "deleteSession") return "missing";
  if (kind === "linkUser" || kind === "linkGuest" || kind === "snapshotLicenses" || kind === "emailManager" || kind === "awaitSession") return "exists";
  if (kind === "updateUser" || kind === "setUsageLocation" || kind === "scheduleStage" || kind === "cancelStage") return "update";
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
  schedule: "Scheduled stage",
  undo: "Undo",
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

/** One SKU of an `assignLicense` or `removeLicenses` change. */
export interface ChangeSku {
  skuId: string;
  skuPartNumber: string;
  disabledPlans: string[];
  disabledPlanNames: string[];
}

/** A planned change's `detail` read for display (docs/licensing.md, "Operations"); unknown shapes read as empty. */
export interface ChangeDetailView {
  skus: ChangeSku[];
  removing: boolean;
  source: string | null;
  email: { to: string | null; managerLabel: string | null; subject: string } | null;
  dueAt: string | null;
  /** The stage's delay in words ("30 days"), when the detail has one. */
  delay: string | null;
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

export function changeDetail(change: PlannedChange): ChangeDetailView {
  const d = (typeof change.detail === "object" && change.detail !== null ? change.detail : {}) as Record<string, unknown>;
  const list = change.kind === "removeLicenses" ? d.remove : change.kind === "assignLicense" ? d.add : null;
  const skus = (Array.isArray(list) ? list : [])
    .filter((s): s is Record<string, unknown> => typeof s === "object" && s !== null && typeof s.skuId === "string")
    .map((s) => {
      const disabledPlans = strings(s.disabledPlans);
      const names = strings(s.disabledPlanNames);
      return { skuId: String(s.skuId), skuPartNumber: str(s.skuPartNumber) ?? String(s.skuId), disabledPlans, disabledPlanNames: names.length ? names : disabledPlans };
    });
  const email =
    change.kind === "emailManager" ? { to: str(d.to), managerLabel: str(d.managerLabel), subject: str(d.subject) ?? "" } : null;
  const dueAt = change.kind === "scheduleStage" || change.kind === "cancelStage" ? str(d.dueAt) : null;
  const secs = typeof d.delaySecs === "number" ? d.delaySecs : null;
  return { skus, removing: change.kind === "removeLicenses", source: str(d.source), email, dueAt, delay: secs === null ? null : spanWords(secs) };
}

/** "30 days", "90 minutes", "1 hour" for a whole number of seconds. */
function spanWords(secs: number): string {
  for (const [size, one] of [[86_400, "day"], [3_600, "hour"], [60, "minute"]] as const)
    if (secs >= size && secs % size === 0) return `${secs / size} ${one}${secs / size === 1 ? "" : "s"}`;
  return `${secs} second${secs === 1 ? "" : "s"}`;
}
