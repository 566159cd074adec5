// placeholder until generated
export type SystemId = "omniforge" | "powerschool" | "matrix" | "hubmis";
export type StudentRow = { system: SystemId, system_name: string, source_id: string, external_id: string | null, name: string, given_name: string, family_name: string, preferred_name: string | null, grade: string | null, homeroom: string | null, active: boolean, };
export type OutboxStateId = "pending" | "sending" | "done" | "conflict" | "failed";
export type OutboxRow = { id: number, system: SystemId, system_name: string, operation: string, entity_key: string, state: OutboxStateId, attempts: number, next_attempt_at: string, last_error: string | null, created_at: string, updated_at: string, };
export type SyncPhase = { "state": "starting" } | { "state": "ready" } | { "state": "failed", error: ErrorPayload, };
export type AppStatus = { version: string, demo: boolean, data_dir: string, sync: SyncPhase, };
export type ErrorCode = "cache_unavailable" | "demo_failed" | "internal";
export type ErrorPayload = { code: ErrorCode, message: string, retryable: boolean, };
