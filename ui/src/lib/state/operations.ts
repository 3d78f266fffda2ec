// What each operation does, in one line, and what it needs from each tenant: the table of
// docs/connections.md ("Operations and what they need"), which the engine's `connect::requirements`
// enforces when it tests a connection. The UI uses it only to explain: which Graph permissions to
// grant and which Okta scopes to tick before the first Test.
import type { OperationId } from "../ipc";

export interface OperationInfo {
  id: OperationId;
  label: string;
  description: string;
  /** Microsoft Graph application permissions: every group is needed, any one role of a group will do. */
  graph: string[][];
  /** Okta API scopes, all needed. */
  okta: string[];
}

export const OPERATIONS: readonly OperationInfo[] = [
  {
    id: "licenses",
    label: "Licenses",
    description: "Read your license SKUs and seat counts and assign licenses through groups.",
    graph: [["Organization.Read.All", "Directory.Read.All"]],
    okta: ["okta.groups.read"],
  },
  {
    id: "memberAccounts",
    label: "Member accounts",
    description: "Create and update Microsoft accounts for the members of your Okta groups.",
    graph: [["User.ReadWrite.All"]],
    okta: ["okta.users.read", "okta.groups.read", "okta.logs.read"],
  },
  {
    id: "profileSync",
    label: "Profile sync",
    description: "Keep names, job titles and other profile fields in step with Okta.",
    graph: [["User.ReadWrite.All"]],
    okta: ["okta.users.read", "okta.logs.read"],
  },
  {
    id: "guests",
    label: "Guest accounts",
    description: "Invite partners as guests and remove them when they leave the Okta group.",
    graph: [["User.Invite.All"], ["User.ReadWrite.All"]],
    okta: ["okta.users.read", "okta.groups.read", "okta.logs.read"],
  },
  {
    id: "deactivation",
    label: "Staged deactivation",
    description: "When someone leaves: block sign-in, then free the license, then delete, on your schedule.",
    graph: [["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"], ["Organization.Read.All", "Directory.Read.All"]],
    okta: ["okta.users.read", "okta.groups.read", "okta.logs.read"],
  },
  {
    id: "activation",
    label: "Returners",
    description: "When someone comes back: unblock the account and give its licenses back.",
    graph: [["User.ReadWrite.All", "LicenseAssignment.ReadWrite.All"], ["Organization.Read.All", "Directory.Read.All"]],
    okta: ["okta.users.read", "okta.groups.read", "okta.logs.read"],
  },
  {
    id: "managerEmail",
    label: "Manager email",
    description: "Email a leaver's manager before the account is removed.",
    graph: [["Mail.Send"]],
    okta: ["okta.users.read"],
  },
  {
    id: "imports",
    label: "User imports",
    description: "Import users from another system into Okta through a custom identity source.",
    graph: [],
    okta: ["okta.identitySources.manage", "okta.users.read"],
  },
];

export const OPERATION_IDS: readonly OperationId[] = OPERATIONS.map((o) => o.id);

/** A new profile's operations: all but imports (docs/connections.md). */
export const DEFAULT_OPERATIONS: readonly OperationId[] = OPERATION_IDS.filter((id) => id !== "imports");

/** The Okta scopes the given operations need, each once, in a stable order. */
export function oktaScopesFor(operations: readonly OperationId[]): string[] {
  const scopes = new Set<string>();
  for (const op of OPERATIONS) if (operations.includes(op.id)) op.okta.forEach((s) => scopes.add(s));
  return [...scopes].sort();
}

/** The Graph permissions the given operations need, as "A or B" lines, each once. */
export function graphPermissionsFor(operations: readonly OperationId[]): string[] {
  const lines = new Set<string>();
  for (const op of OPERATIONS)
    if (operations.includes(op.id)) op.graph.forEach((group) => lines.add(group.join(" or ")));
  return [...lines].sort();
}

/** `operations` in table order, so a saved list does not depend on the order of the clicks. */
export function ordered(operations: Iterable<OperationId>): OperationId[] {
  const set = new Set(operations);
  return OPERATION_IDS.filter((id) => set.has(id));
}
