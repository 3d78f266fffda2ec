// The wizard's steps, in rail order, and the pure navigation rules the rail and the step footers use.
import type { StepId } from "../ipc";

export interface StepInfo {
  id: StepId;
  /** Rail label. */
  label: string;
  /** One line under the label: what the step is for. */
  hint: string;
  /** True once the step does real work; the rest say plainly what they will do. */
  available: boolean;
}

export const STEPS: readonly StepInfo[] = [
  { id: "welcome", label: "Welcome", hint: "Sandbox or your tenants", available: true },
  { id: "microsoft", label: "Microsoft tenant", hint: "Entra ID app and Graph", available: true },
  { id: "okta", label: "Okta", hint: "Org URL and API access", available: true },
  { id: "groups", label: "Groups", hint: "Licensed and guest groups", available: true },
  { id: "licenses", label: "Licenses", hint: "SKUs, seats and their groups", available: true },
  { id: "provisioning", label: "Provisioning", hint: "Joiners, leavers, returners", available: true },
  { id: "lifecycle", label: "Lifecycle", hint: "Leavers, returners, licenses", available: true },
  { id: "imports", label: "Imports", hint: "Anything-as-a-Source", available: true },
  { id: "review", label: "Review & run", hint: "Preview, then apply", available: true },
  { id: "history", label: "History", hint: "Runs, step by step", available: true },
  { id: "credentials", label: "Credentials", hint: "Secrets in the OS keychain", available: true },
];

export const STEP_IDS: readonly StepId[] = STEPS.map((s) => s.id);

export function stepIndex(id: StepId): number {
  return STEP_IDS.indexOf(id);
}

export function stepInfo(id: StepId): StepInfo {
  const info = STEPS[stepIndex(id)];
  if (!info) throw new Error(`Unknown wizard step "${id}"`);
  return info;
}

/** The step after `id`, or null on the last one. */
export function nextStep(id: StepId): StepId | null {
  return STEP_IDS[stepIndex(id) + 1] ?? null;
}

/** The step before `id`, or null on the first one. */
export function previousStep(id: StepId): StepId | null {
  const i = stepIndex(id);
  return i > 0 ? STEP_IDS[i - 1] : null;
}

export function isStepId(value: unknown): value is StepId {
  return typeof value === "string" && (STEP_IDS as readonly string[]).includes(value);
}

/**
 * Where a key press on rail item `index` (of `count`) moves the focus, or null when the key is not a
 * rail navigation key. Up/Down wrap around like a menu; Home/End jump to the ends.
 */
export function railFocusTarget(key: string, index: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case "ArrowDown":
    case "ArrowRight":
      return (index + 1) % count;
    case "ArrowUp":
    case "ArrowLeft":
      return (index - 1 + count) % count;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    default:
      return null;
  }
}
