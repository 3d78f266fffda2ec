// The IPC types, re-exported from one place so the rest of the front end never cares where they come
// from. They mirror the Rust DTOs in crates/engine/src/dto.rs (docs/architecture.md, "The IPC contract").
// When the ts-rs bindings land in ./bindings/, this file re-exports them instead of declaring them.

export type BuildKind = "debug" | "release";

export type StepId =
  | "welcome"
  | "microsoft"
  | "okta"
  | "groups"
  | "licenses"
  | "provisioning"
  | "imports"
  | "review"
  | "history"
  | "credentials";

export type ProfileKind = "sandbox" | "tenant";

export interface AppInfo {
  version: string;
  buildKind: BuildKind;
  dataDir: string;
  logDir: string;
  activeProfileId: string | null;
}

export interface Profile {
  id: string;
  name: string;
  kind: ProfileKind;
  oktaOrgUrl: string;
  entraLoginUrl: string;
  graphUrl: string;
  msTenant: string | null;
  msClientId: string | null;
  embeddedSandbox: boolean;
  wizardStep: StepId;
  createdAt: string;
}

export interface CreateSandboxProfileRequest {
  name: string | null;
  url: string | null;
}

export type ErrorCode =
  | "invalid_input"
  | "not_found"
  | "already_exists"
  | "keychain_unavailable"
  | "sandbox_unavailable"
  | "internal";

export interface ApiError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}
