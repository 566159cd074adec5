// Generated from src-tauri/src/ipc.rs by ts-rs. Do not edit by hand:
// run `UPDATE_BINDINGS=1 cargo test -p schooldesk-app bindings` instead.

/**
 * A school system, by the stable id used in the cache, the CLI and here.
 */
export type SystemId = "omniforge" | "powerschool" | "matrix" | "hubmis";

/**
 * One student as the student list shows it.
 */
export type StudentRow = { system: SystemId, 
/**
 * The name the office knows the system by ("OmniForge SIS").
 */
system_name: string, 
/**
 * The student's id in that system.
 */
source_id: string, 
/**
 * The id shared across systems, used to match the same child.
 */
external_id: string | null, 
/**
 * "Given Family", as it is read out.
 */
name: string, given_name: string, family_name: string, preferred_name: string | null, grade: string | null, homeroom: string | null, active: boolean, };

/**
 * One page of the student list: at most [`STUDENT_PAGE`] rows, and whether more matched.
 */
export type StudentList = { students: Array<StudentRow>, 
/**
 * More students matched than are listed; the person should narrow the search.
 */
more: boolean, };

/**
 * The life of a queued write (see `schooldesk_domain::OutboxState`).
 */
export type OutboxStateId = "pending" | "sending" | "done" | "conflict" | "failed";

/**
 * One queued write as the outbox shows it. The payload stays in the cache: the screen
 * needs only what happened to the write.
 */
export type OutboxRow = { id: number, system: SystemId, system_name: string, 
/**
 * The operation's stable name (`submit_attendance`, `set_grades`, …).
 */
operation: string, entity_key: string, state: OutboxStateId, attempts: number, 
/**
 * RFC 3339, UTC.
 */
next_attempt_at: string, last_error: string | null, 
/**
 * RFC 3339, UTC.
 */
created_at: string, 
/**
 * RFC 3339, UTC.
 */
updated_at: string, };

/**
 * Where the first sync stands. The UI polls `app_status` until it leaves `starting`.
 */
export type SyncPhase = { "state": "starting", 
/**
 * What is being synced right now ("OmniForge SIS: students (120 rows)").
 */
detail: string | null, } | { "state": "ready" } | { "state": "failed", error: ErrorPayload, };

/**
 * What the header and status line show.
 */
export type AppStatus = { version: string, 
/**
 * True when no system is configured and the app runs against its built-in simulators.
 */
demo: boolean, 
/**
 * The folder holding the encrypted cache.
 */
data_dir: string, sync: SyncPhase, };

/**
 * The `{code, message, retryable}` every failed command rejects with.
 */
export type ErrorPayload = { 
/**
 * A stable dotted code from the core (`cache.key_missing`, `connector.offline`,
 * `desk.data_dir`, …) or the shell (`shell.…`): the UI branches on it, never on text.
 */
code: string, 
/**
 * A sentence for the person at the desk, saying what to do next.
 */
message: string, 
/**
 * Whether trying the same thing again later can succeed.
 */
retryable: boolean, };
