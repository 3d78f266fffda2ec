// The import DTOs of docs/imports.md ("Sources", "Mapping", "Plan and apply"), written from the
// contract until the engine's generated bindings carry them.
import type { RunStatus } from "./bindings";

export type SourceSpec =
  | { kind: "csv"; path: string; delimiter: string | null }
  | { kind: "http"; url: string; recordsPointer: string | null; nextField: string | null; authHeader: string | null };

export interface SourcePreview {
  columns: string[];
  rows: Record<string, string>[];
  total: number | null;
  problems: string[];
}

export type Transform =
  | { kind: "column"; column: string }
  | { kind: "concat"; parts: Transform[]; separator: string }
  | { kind: "lower"; of: Transform }
  | { kind: "beforeAt"; of: Transform }
  | { kind: "constant"; value: string };

export interface AttributeRule {
  attribute: string;
  value: Transform;
}

export interface ActiveRule {
  column: string;
  active: string[];
  inactive: string[];
}

export interface ImportMapping {
  externalId: Transform;
  attributes: AttributeRule[];
  active: ActiveRule | null;
}

export interface MappedPreviewRow {
  position: number;
  externalId: string | null;
  active: boolean | null;
  profile: Record<string, string>;
  reject: string | null;
}

export interface Reject {
  position: number;
  externalId: string | null;
  reason: string;
}

export interface ImportPlan {
  importId: string;
  profileId: string;
  sourceName: string;
  source: SourceSpec;
  records: number;
  active: number;
  inactive: number;
  unchanged: number;
  rejected: number;
  rejects: Reject[];
  stopped: "rejects" | null;
  deactivationGuard: { count: number; max: number } | null;
  staleSessions: string[];
  activeSession: string | null;
  sessions: number;
  bulkRequests: number;
  expectedSecs: number;
  plannedAt: string;
}

export interface ImportRequest {
  profileId: string;
  sourceName: string;
  delta: boolean;
  fullResync: boolean;
  maxRejectPercent: number;
  maxDeactivations: number;
}

export interface ImportSummary {
  importId: string;
  sourceName: string;
  status: RunStatus;
  records: number;
  upserted: number;
  deactivated: number;
  unchanged: number;
  rejected: number;
  sessions: number;
  createdAt: string;
  durationMs: number | null;
  outcome: string;
}

/** A saved source and mapping (`import_mapping`). */
export interface SavedImportMapping {
  source: SourceSpec;
  mapping: ImportMapping;
}

/** When a source is imported on its own (`set_import_schedule`): every N minutes or daily at HH:MM in a time zone. */
export interface ImportSchedule {
  everyMins: number | null;
  dailyAt: string | null;
  timeZone: string | null;
}
