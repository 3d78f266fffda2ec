// The Groups and Licenses DTOs of docs/setup.md, written from that contract until ts-rs generates
// them into ./bindings/ (then this file goes away).
export type GroupRole = "assignments" | "guests";
export type GroupSetting = { role: GroupRole; name: string };
export type GroupPlanItem = {
  role: GroupRole;
  name: string;
  action: "create" | "exists";
  groupId: string | null;
  memberCount: number | null;
};
export type GroupsPlan = { profileId: string; items: GroupPlanItem[]; plannedAt: string };
export type ServicePlan = { servicePlanId: string; servicePlanName: string };
export type License = {
  skuId: string;
  skuPartNumber: string;
  productName: string | null;
  enabled: number;
  consumed: number;
  available: number;
  suspended: number;
  warning: number;
  capabilityStatus: string;
  servicePlans: ServicePlan[];
};
export type LicenseAssignment = { role: GroupRole; skuId: string; disabledPlans: string[] };
export type SeatWarning = { skuId: string; role: GroupRole; groupMembers: number; available: number; message: string };
export type LicensesView = {
  profileId: string;
  refreshedAt: string | null;
  licenses: License[];
  assignments: LicenseAssignment[];
  usageLocation: string | null;
  warnings: SeatWarning[];
};
