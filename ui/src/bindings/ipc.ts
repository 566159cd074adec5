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
export type OutboxStateId = "pending" | "sending" | "done" | "conflict" | "failed" | "held" | "discarded";

/**
 * One queued write as the outbox shows it. The payload stays in the cache: the screen
 * needs only what happened to the write.
 */
export type OutboxRow = { id: number, system: SystemId, system_name: string, 
/**
 * The operation's stable name (`submit_attendance`, `set_grades`, …).
 */
operation: string, entity_key: string, 
/**
 * What the write does, in words.
 */
description: string, state: OutboxStateId, attempts: number, 
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
 * Where the first sync stands. The shell emits `app-status` when it changes.
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

/**
 * A problem shown on the Today screen: a sentence and whether trying again can help.
 */
export type ProblemView = { code: string, message: string, retryable: boolean, };

/**
 * One connected system as the status strip shows it.
 */
export type SystemActivityView = { system: SystemId, system_name: string, syncing: boolean, 
/**
 * The phase running ("students", "guardian links"…) while syncing.
 */
phase: string | null, rows: number, 
/**
 * Requests still expected in the running sync, from its estimate.
 */
requests_left: number | null, 
/**
 * Today's registers are in the cache: a register can be taken now.
 */
register_ready: boolean, 
/**
 * RFC 3339, UTC.
 */
last_sync_at: string | null, 
/**
 * RFC 3339, UTC.
 */
next_sync_at: string | null, 
/**
 * False while the system does not answer (work continues from the cache).
 */
reachable: boolean, problem: ProblemView | null, };

/**
 * Where the desk stands: every connected system and the outbox.
 */
export type ActivityView = { systems: Array<SystemActivityView>, 
/**
 * The outbox is being sent right now.
 */
sending: boolean, 
/**
 * Writes waiting to be sent.
 */
waiting: number, conflicts: number, failed: number, 
/**
 * No connected system answers: everything shown comes from the cache.
 */
offline: boolean, };

/**
 * What changed in the cache (one batch of the engine's change events).
 */
export type ChangesView = { 
/**
 * Who changed it: `user` (this desk), `sync`, `replay`, `other_process`.
 */
origins: Array<string>, 
/**
 * The tables written (`students`, `attendance_marks`, `outbox`, …). With
 * `other_process` anything may have changed: re-read everything shown.
 */
tables: Array<string>, };

/**
 * Where Schooldesk's own update stands (`update_status`, then `update-status` events).
 */
export type UpdateStatus = { "state": "none" } | { "state": "checking" } | { "state": "available", version: string, } | { "state": "staged", version: string, 
/**
 * The release notes the update server gave, as plain text.
 */
notes: string | null, } | { "state": "failed", 
/**
 * `update.unreachable`, `update.refused`, `update.endpoint`, `update.install_failed`, …
 */
code: string, message: string, };

/**
 * A section the Documents panel can pick (`list_sections`).
 */
export type SectionOption = { 
/**
 * `system:id`: what the document requests take back.
 */
id: string, name: string, code: string | null, 
/**
 * The school's name, when the school is cached.
 */
school: string | null, system: SystemId, system_name: string, 
/**
 * Students on its roster in the cache.
 */
students: number, };

/**
 * Which document to make, with what it needs. Ids are `system:id` (or an id found in one
 * system only); dates are `YYYY-MM-DD`.
 */
export type DocumentRequest = { "kind": "roster", section: string, } | { "kind": "register", section: string, from: string, to: string, } | { "kind": "emergency", section: string | null, } | { "kind": "checklist", checklist: string, } | { "kind": "learning_support", student: string | null, year_group: string | null, } | { "kind": "submission", record: string, };

/**
 * The file formats the app writes.
 */
export type DocumentFormat = "pdf" | "xlsx" | "csv" | "csv_excel";

/**
 * The paper a PDF is laid out on.
 */
export type PaperSize = "a4" | "letter";

/**
 * What `export_document` and `print_document` wrote.
 */
export type ExportedDocument = { 
/**
 * The file, absolute.
 */
path: string, 
/**
 * Its name alone, for a short result line.
 */
file_name: string, 
/**
 * The document's title ("Class roster — Homeroom 7B").
 */
title: string, bytes: number, 
/**
 * How many students the document names.
 */
students: number, };

/** The events the shell emits (src-tauri/src/ipc.rs `events`). */
export const EVENTS = { deskChanged: "desk-changed", deskActivity: "desk-activity", appStatus: "app-status", updateStatus: "update-status" } as const;
