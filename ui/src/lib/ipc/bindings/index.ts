// Generated from crates/engine/src/dto.rs by crates/engine/tests/bindings.rs. Do not edit.
export type { ApiError } from "./ApiError";
export type { AppInfo } from "./AppInfo";
export type { BuildKind } from "./BuildKind";
export type { CreateSandboxProfileRequest } from "./CreateSandboxProfileRequest";
export type { ErrorCode } from "./ErrorCode";
export type { Profile } from "./Profile";
export type { ProfileKind } from "./ProfileKind";
export type { Progress } from "./Progress";
export type { StepId } from "./StepId";
