// The Groups and Licenses steps' state (docs/setup.md): the group names, their plan and apply, the
// stored licenses, which SKUs each group role receives, and the default usage location. Every call
// goes through the wizard's backend; the engine's answers are the truth shown on screen.
import type {
  ApiError,
  Backend,
  GroupRole,
  GroupSetting,
  GroupsPlan,
  License,
  LicenseAssignment,
  LicensesView,
  Profile,
  Progress,
  SeatWarning,
} from "../ipc";
import { asApiError } from "./connect.svelte";

/** The two group roles, in the order the steps show them. */
export const ROLES: readonly GroupRole[] = ["assignments", "guests"];

/** The engine's default name of each role's group. */
export const DEFAULT_GROUP_NAMES: Record<GroupRole, string> = {
  assignments: "Office 365 Assignments",
  guests: "O365Guest",
};

/** What each role's group does, in one line. */
export const ROLE_PURPOSE: Record<GroupRole, string> = {
  assignments: "Members get an active, licensed Microsoft 365 account.",
  guests: "Members get a guest account in your Microsoft tenant.",
};

/** The group names of a profile, by role (the engine's defaults where none is saved). */
export function groupNames(profile: Profile): Record<GroupRole, string> {
  const saved = profile.groups ?? [];
  const names = { ...DEFAULT_GROUP_NAMES };
  for (const g of saved) names[g.role] = g.name;
  return names;
}

/** True when the profile has an Okta org and a way to sign in to it saved. */
export function hasOkta(profile: Profile): boolean {
  return profile.okta.orgUrl !== "" && profile.okta.auth !== null;
}

/** True when the profile has a Microsoft tenant and app registration saved. */
export function hasMicrosoft(profile: Profile): boolean {
  return profile.microsoft !== null;
}

/** The Groups step: names per role, Plan (a preview that changes nothing), then Apply. */
export class GroupsSetup {
  readonly profileId: string;
  names = $state<Record<GroupRole, string>>({ ...DEFAULT_GROUP_NAMES });
  /** The names the engine has, to know whether a plan must save first. */
  savedNames = $state<Record<GroupRole, string>>({ ...DEFAULT_GROUP_NAMES });
  plan = $state<GroupsPlan | null>(null);
  /** True once the shown plan is the answer of an apply. */
  applied = $state(false);
  /** The groups the last apply created (what its plan said it would create). */
  created = $state<string[]>([]);
  planning = $state(false);
  applying = $state(false);
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);
  readonly #backend: Backend;
  readonly #onProfile: (profile: Profile) => void;

  constructor(backend: Backend, profile: Profile, onProfile: (profile: Profile) => void = () => {}) {
    this.#backend = backend;
    this.#onProfile = onProfile;
    this.profileId = profile.id;
    this.names = groupNames(profile);
    this.savedNames = { ...this.names };
  }

  /** A message for a role's name, or null when it is fine. */
  nameError(role: GroupRole): string | null {
    const name = this.names[role].trim();
    if (name === "") return "Type a group name.";
    const other = ROLES.find((r) => r !== role)!;
    if (name.toLowerCase() === this.names[other].trim().toLowerCase()) return "The two roles need different groups.";
    return null;
  }

  get blocked(): boolean {
    return ROLES.some((r) => this.nameError(r) !== null);
  }

  get busy(): boolean {
    return this.planning || this.applying;
  }

  /** What applying would create, from the current plan. */
  get toCreate(): string[] {
    return (this.plan?.items ?? []).filter((i) => i.action === "create").map((i) => i.name);
  }

  /** A name changed: the shown plan no longer says what Apply would do. */
  edited(): void {
    this.plan = null;
    this.applied = false;
    this.created = [];
  }

  async #saveNames(): Promise<void> {
    if (ROLES.every((r) => this.names[r].trim() === this.savedNames[r])) return;
    const groups: GroupSetting[] = ROLES.map((role) => ({ role, name: this.names[role].trim() }));
    const profile = await this.#backend.setGroupNames(this.profileId, groups);
    this.savedNames = groupNames(profile);
    this.#onProfile(profile);
  }

  /** Saves changed names, then asks the engine what applying would do. */
  async makePlan(): Promise<GroupsPlan | null> {
    if (this.busy || this.blocked) return null;
    this.planning = true;
    this.error = null;
    try {
      await this.#saveNames();
      this.plan = await this.#backend.planGroups(this.profileId);
      this.applied = false;
      this.created = [];
      return this.plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.planning = false;
    }
  }

  /** Creates the missing groups of the shown plan; the answer (every group with its id) replaces it. */
  async apply(): Promise<GroupsPlan | null> {
    if (this.busy || !this.plan) return null;
    const creating = this.toCreate;
    this.applying = true;
    this.error = null;
    this.progress = null;
    try {
      const plan = await this.#backend.applyGroups(this.profileId, (progress) => {
        if (this.applying) this.progress = progress;
      });
      this.plan = plan;
      this.applied = true;
      this.created = creating;
      return plan;
    } catch (error) {
      this.error = asApiError(error);
      return null;
    } finally {
      this.applying = false;
      this.progress = null;
    }
  }
}

/** Two letters, A–Z: the shape of an ISO 3166 alpha-2 code (the engine checks it is a real one). */
export function checkUsageLocation(value: string): { code: string | null; error: string | null } {
  const v = value.trim().toUpperCase();
  if (v === "") return { code: null, error: null };
  if (!/^[A-Z]{2}$/.test(v))
    return { code: null, error: `“${value.trim()}” is not a country code: use the two letters of ISO 3166, such as US, DE or FR.` };
  return { code: v, error: null };
}

/** Share of a SKU's bought seats in use, 0–100 (over 100 is shown full). */
export function seatPercent(license: Pick<License, "enabled" | "consumed">): number {
  if (license.enabled <= 0) return license.consumed > 0 ? 100 : 0;
  return Math.min(100, Math.round((license.consumed / license.enabled) * 100));
}

/** The Licenses step: the stored table, refreshing it, assignments per role, usage location. */
export class LicensesSetup {
  readonly profileId: string;
  view = $state<LicensesView | null>(null);
  /** True once the stored table was read (even when empty). */
  loaded = $state(false);
  loading = $state(false);
  syncing = $state(false);
  saving = $state(false);
  progress = $state<Progress | null>(null);
  error = $state<ApiError | null>(null);
  usageLocation = $state("");
  usageError = $state<string | null>(null);
  usageSaved = $state(false);
  readonly #backend: Backend;

  constructor(backend: Backend, profileId: string) {
    this.#backend = backend;
    this.profileId = profileId;
  }

  #show(view: LicensesView): void {
    this.view = view;
  }

  async load(): Promise<void> {
    this.loading = true;
    this.error = null;
    try {
      this.#show(await this.#backend.listLicenses(this.profileId));
      this.usageLocation = this.view?.usageLocation ?? "";
      this.loaded = true;
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.loading = false;
    }
  }

  /** "Store all Microsoft licenses": reads the tenant's SKUs into the local table. */
  async refresh(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    this.error = null;
    this.progress = null;
    try {
      this.#show(
        await this.#backend.syncLicenses(this.profileId, (progress) => {
          if (this.syncing) this.progress = progress;
        }),
      );
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.syncing = false;
      this.progress = null;
    }
  }

  get licenses(): License[] {
    return this.view?.licenses ?? [];
  }

  assignment(role: GroupRole, skuId: string): LicenseAssignment | null {
    return this.view?.assignments.find((a) => a.role === role && a.skuId === skuId) ?? null;
  }

  /** The seat warnings of one SKU (one per group role over its available seats). */
  warningsOf(skuId: string): SeatWarning[] {
    return (this.view?.warnings ?? []).filter((w) => w.skuId === skuId);
  }

  async #assign(assignments: LicenseAssignment[]): Promise<void> {
    this.saving = true;
    this.error = null;
    try {
      this.#show(await this.#backend.setLicenseAssignments(this.profileId, assignments));
    } catch (error) {
      this.error = asApiError(error);
    } finally {
      this.saving = false;
    }
  }

  /** Ticks or unticks a SKU for a role's group (a new association disables no plan). */
  async toggle(role: GroupRole, skuId: string, on: boolean): Promise<void> {
    if (!this.view || this.saving) return;
    const others = this.view.assignments.filter((a) => !(a.role === role && a.skuId === skuId));
    const current = this.assignment(role, skuId);
    const next = on ? [...others, current ?? { role, skuId, disabledPlans: [] }] : others;
    await this.#assign(next.map((a) => ({ ...a, disabledPlans: [...a.disabledPlans] })));
  }

  /** Leaves a service plan of an associated SKU disabled (or enables it again). */
  async togglePlan(role: GroupRole, skuId: string, planId: string, disabled: boolean): Promise<void> {
    if (!this.view || this.saving) return;
    const next = this.view.assignments.map((a) => {
      if (a.role !== role || a.skuId !== skuId) return { ...a, disabledPlans: [...a.disabledPlans] };
      const rest = a.disabledPlans.filter((p) => p !== planId);
      return { ...a, disabledPlans: disabled ? [...rest, planId] : rest };
    });
    await this.#assign(next);
  }

  /** Checks the typed code (two letters) and saves it; an empty field clears it. */
  async saveUsageLocation(): Promise<boolean> {
    this.usageSaved = false;
    const { code, error } = checkUsageLocation(this.usageLocation);
    this.usageError = error;
    if (error) return false;
    this.saving = true;
    try {
      this.#show(await this.#backend.setUsageLocation(this.profileId, code));
      this.usageLocation = code ?? "";
      this.usageSaved = true;
      return true;
    } catch (error) {
      this.usageError = asApiError(error).message;
      return false;
    } finally {
      this.saving = false;
    }
  }
}
