// Generated from src-tauri/src/ipc.rs by ts-rs. Do not edit by hand:
// run `UPDATE_BINDINGS=1 cargo test -p schooldesk-app bindings` instead.

/**
 * A school system, by the stable id used in the cache, the CLI and here.
 */
export type SystemId = "omniforge" | "powerschool" | "matrix" | "hubmis";

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
 * Nothing is connected and the demo was not chosen: show first run (connect a system,
 * or `choose_demo`). The engine runs no demo until then.
 */
first_run: boolean, 
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
 * Seconds the running sync still needs, at the pace it has kept so far (none until it
 * has sent enough requests to tell).
 */
seconds_left: number | null, 
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
reachable: boolean, problem: ProblemView | null, 
/**
 * Writes to this system held until its connection is fixed (credentials, permission):
 * they go once it answers again.
 */
held: number, 
/**
 * Why they are held and what to fix, in words, while any are.
 */
held_reason: string | null, };

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
 * Writes held until their system's connection is fixed (see each system's `held`).
 */
held: number, 
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

/**
 * One child as the student list shows it: every system's record of the same child (same
 * external id) folded into one row.
 */
export type PersonRow = { 
/**
 * Stable id for `student_page`: `ext:<external id>`, or `<system>:<id>` for a record
 * that carries no external id (a child only that system knows).
 */
id: string, 
/**
 * "Preferred-or-given Family", as it is read out.
 */
name: string, family_name: string, given_name: string, grade: string | null, 
/**
 * The homeroom, tutor group or form, by name where the section is cached.
 */
homeroom: string | null, 
/**
 * The systems that hold a record of this child, in system order.
 */
systems: Array<SystemId>, 
/**
 * Every id the child has: each system's `<system>:<id>`, the bare ids and the external
 * id, for searching by any of them.
 */
ids: Array<string>, 
/**
 * The systems disagree about this child (name, date of birth, grade, …): the student
 * page shows each system's value.
 */
flagged: boolean, 
/**
 * Any system lists the child as active.
 */
active: boolean, };

/**
 * Every child in the cache, one row each (`list_people`).
 */
export type PeopleIndex = { 
/**
 * Sorted by family name, then given name.
 */
people: Array<PersonRow>, 
/**
 * When the newest student record was fetched (RFC 3339, UTC); null with no students.
 */
as_of: string | null, };

/**
 * A school of one system with its sections (`roster_tree`).
 */
export type SchoolNode = { 
/**
 * `system:id`; `system:` alone for the "Other sections" node of sections whose school
 * is not cached.
 */
id: string, name: string, system: SystemId, system_name: string, 
/**
 * Sorted by name.
 */
sections: Array<SectionNode>, };

/**
 * A section, class, tutor group or homeroom in the roster tree.
 */
export type SectionNode = { 
/**
 * `system:id`, the same ids `list_sections` and `section_members` use.
 */
id: string, name: string, code: string | null, 
/**
 * What its system calls it: "Section", "Class", "Tutor group" or "Homeroom".
 */
kind: string, 
/**
 * Students on its roster in the cache.
 */
students: number, };

/**
 * One system's record of the child, as that system holds it.
 */
export type StudentRecordView = { system: SystemId, system_name: string, 
/**
 * The child's id in that system.
 */
source_id: string, given_name: string, family_name: string, preferred_name: string | null, 
/**
 * YYYY-MM-DD.
 */
date_of_birth: string | null, grade: string | null, 
/**
 * By name where the section is cached.
 */
homeroom: string | null, active: boolean, };

/**
 * One system's value for a field the systems disagree on.
 */
export type SystemValue = { system_name: string, value: string, };

/**
 * A field on which the systems disagree about the child: nothing is merged, each value is
 * shown.
 */
export type DisagreementView = { 
/**
 * The field, in words ("Family name").
 */
field: string, values: Array<SystemValue>, };

/**
 * A guardian or contact of the child, as one system records the link.
 */
export type ContactView = { name: string, relationship: string | null, 
/**
 * Every phone number the cache holds for them.
 */
phones: Array<string>, email: string | null, 
/**
 * The system's primary contact for the child.
 */
primary: boolean, 
/**
 * Whether they may collect the child: `false` is a "may NOT collect" the office must
 * see; null when the system does not say.
 */
may_collect: boolean | null, 
/**
 * Whether the child lives with them; null when the system does not say.
 */
lives_with: boolean | null, 
/**
 * Whether they are an emergency contact; null when the system does not say.
 */
emergency: boolean | null, 
/**
 * The systems that list them, by name ("OmniForge SIS, WCBS HUBmis"): one contact
 * however many systems know them.
 */
system_name: string, };

/**
 * A section the child is on the roster of.
 */
export type EnrollmentView = { 
/**
 * `system:id`, as `section_members` takes it.
 */
section_id: string, section_name: string, code: string | null, system_name: string, };

/**
 * One attendance mark of the child.
 */
export type AttendanceView = { 
/**
 * YYYY-MM-DD.
 */
date: string, 
/**
 * The period, or "AM"/"PM" for a UK session.
 */
period: string | null, section_name: string | null, 
/**
 * The system's own code ("/", "L", "T", …), or the status when it has none.
 */
code: string, 
/**
 * In words: "Present", "Absent", "Late", "Excused".
 */
status: string, minutes_late: number | null, note: string | null, 
/**
 * `synced` (the system's record), `pending` (waiting in the outbox), `conflict` (the
 * system changed it too: resolve it in the outbox) or `local_only` (kept on this
 * computer: the system takes no writes, or the write was discarded).
 */
state: string, system_name: string, };

/**
 * One item of a registration checklist, for this child.
 */
export type ChecklistItemView = { 
/**
 * The checklist's name.
 */
checklist: string, 
/**
 * The item's name.
 */
item: string, complete: boolean, required: boolean, 
/**
 * YYYY-MM-DD, when completed and the system says when.
 */
completed_on: string | null, };

/**
 * A registration document attached to the child's enrollment records.
 */
export type DocumentView = { 
/**
 * `system:id`.
 */
id: string, name: string, 
/**
 * The file type ("application/pdf"), when the system says.
 */
kind: string | null, 
/**
 * The file itself is in the cache (it can be opened offline).
 */
downloaded: boolean, };

/**
 * Everything the cache knows about one child (`student_page`).
 */
export type StudentPage = { 
/**
 * The person id (`PersonRow.id`).
 */
id: string, name: string, external_id: string | null, 
/**
 * The systems disagree about this child.
 */
flagged: boolean, 
/**
 * Each system's record, in system order.
 */
records: Array<StudentRecordView>, disagreements: Array<DisagreementView>, 
/**
 * Primary contacts first.
 */
contacts: Array<ContactView>, enrollments: Array<EnrollmentView>, 
/**
 * Most recent first, over the last [`ATTENDANCE_DAYS`] days that have marks.
 */
attendance: Array<AttendanceView>, checklists: Array<ChecklistItemView>, documents: Array<DocumentView>, };

/**
 * One request sent for a queued write, and what came back.
 */
export type AttemptView = { 
/**
 * When it was sent (RFC 3339, UTC).
 */
at: string, 
/**
 * What was sent (method, path and body; credentials are never recorded).
 */
request: string, 
/**
 * What the system answered, when it answered.
 */
answer: string | null, 
/**
 * How it ended, in words ("Accepted", "Conflict", "No answer yet", …).
 */
outcome: string, };

/**
 * A conflict: the desk's value beside the system's.
 */
export type ConflictView = { 
/**
 * What the two disagree on ("Attendance of stu_12 on 2025-09-01", "Grade", …).
 */
field_or_what: string, 
/**
 * The value made at this desk.
 */
yours: string, 
/**
 * The value the system holds now.
 */
theirs: string, 
/**
 * Who changed it in the system, when it says.
 */
theirs_by: string | null, 
/**
 * When it was changed in the system (as the system gave it), when it says.
 */
theirs_at: string | null, };

/**
 * One queued write with its whole history (`outbox_receipt`).
 */
export type ReceiptView = { entry: OutboxRow, 
/**
 * Oldest first.
 */
attempts: Array<AttemptView>, 
/**
 * Set while the entry is a conflict.
 */
conflict: ConflictView | null, 
/**
 * The system's answer to the write once done, as text.
 */
answer: string | null, 
/**
 * `outbox_retry` applies (failed or held).
 */
can_retry: boolean, 
/**
 * `outbox_discard` applies (not sent yet, failed, held or a conflict, and not possibly
 * already received by the system).
 */
can_discard: boolean, 
/**
 * `outbox_resolve` applies (a conflict).
 */
can_resolve: boolean, };

/**
 * How a person resolves a conflict.
 */
export type ResolveChoice = "keep_mine" | "take_theirs";

/**
 * One school system as Settings and first run show it, connected or not. Never the secret.
 */
export type ConnectionView = { 
/**
 * Which system.
 */
system: SystemId, 
/**
 * The name the office knows the system by ("OmniForge SIS").
 */
system_name: string, 
/**
 * Settings for this system are saved (its secret may still be missing: `has_secret`).
 */
connected: boolean, 
/**
 * The address saved (`https://…`), when connected.
 */
base_url: string | null, 
/**
 * The account the secret belongs to (HUBmis: the client id), when the system uses one.
 */
account: string | null, 
/**
 * The HUBmis realm (the school), when the system uses one.
 */
realm: string | null, 
/**
 * The keychain holds this system's secret (the secret itself never crosses).
 */
has_secret: boolean, 
/**
 * What the secret is called for this system ("API key", "Client secret").
 */
secret_label: string, 
/**
 * The form asks for an account (`ConnectionInput.account`): HUBmis's client id.
 */
uses_account: boolean, 
/**
 * The form asks for a realm (`ConnectionInput.realm`): HUBmis only.
 */
uses_realm: boolean, 
/**
 * The pace Schooldesk keeps to for this system, in words ("At most 60 requests a
 * minute"), from the connector's limits and any override saved.
 */
rate_limit: string | null, 
/**
 * A slower pace the school asked for, in requests a minute; none: the system's own limit.
 */
requests_per_minute: number | null, 
/**
 * The school chose to copy learning-support (SEN) records from this system.
 */
learning_support: boolean, 
/**
 * The school chose to keep medical conditions at hand (set with the command line).
 */
medical_alerts: boolean, 
/**
 * The school's time zone (IANA name) used for "today"; none: this computer's zone.
 */
time_zone: string | null, 
/**
 * When the settings were last saved, RFC 3339, UTC.
 */
updated_at: string | null, };

/**
 * A connection as typed into Settings or first run (`test_connection`, `save_connection`).
 */
export type ConnectionInput = { 
/**
 * Which system.
 */
system: SystemId, 
/**
 * The system's address, `https://…` (plain `http://` only on this computer).
 */
base_url: string, 
/**
 * HUBmis: the client id. Other systems sign in with the secret alone: leave it out.
 */
account: string | null, 
/**
 * HUBmis: the realm (the school). Leave it out for other systems.
 */
realm: string | null, 
/**
 * The API key or client secret. Empty keeps the one already in the keychain (to change
 * an option of a connected system); it goes to the keychain only when saved.
 */
secret: string, 
/**
 * Copy learning-support records; left out keeps what is saved (off for a new one).
 * Turning it off deletes the records already copied.
 */
learning_support: boolean | null, 
/**
 * The school's time zone (IANA name, such as `Europe/London`); left out keeps what is
 * saved, empty goes back to this computer's zone.
 */
time_zone: string | null, 
/**
 * Requests a minute to keep to, for a school whose server needs a gentler pace: 0 goes
 * back to the system's own limit, left out keeps what is saved. Never above what the
 * system documents (Matrix's 120 a minute stays the ceiling).
 */
requests_per_minute: number | null, };

/**
 * What a first sync of one system will take, before it starts.
 */
export type EstimateView = { 
/**
 * Requests the sync will make.
 */
requests: number, 
/**
 * The least minutes the system's rate limit allows for them (rounded up; 0: under a minute).
 */
minutes: number, 
/**
 * The same in words ("OmniForge SIS: about 40 requests, at least 1 min at 60 a minute").
 */
text: string, 
/**
 * The estimate assumed a district of this many students (nothing is cached yet).
 */
assumed_students: number | null, };

/**
 * The answer of `test_connection`: whether the system answered and took the secret.
 * Nothing is saved either way.
 */
export type ConnectionTest = { 
/**
 * The system answered its cheapest call and accepted the secret.
 */
ok: boolean, 
/**
 * A sentence for the person: what happened and what to do next.
 */
message: string, 
/**
 * Why it failed (`connector.auth`, `connector.offline`, …), when it did.
 */
error: ErrorPayload | null, 
/**
 * What the first sync will take, when the test passed.
 */
estimate: EstimateView | null, };

/**
 * Where the data of the desk in use lives (`data_location`).
 */
export type DataLocation = { 
/**
 * The data folder (the demo's own folder while the demo runs).
 */
data_dir: string, 
/**
 * The encrypted cache file.
 */
cache_file: string, 
/**
 * The cache's size on disk, its write-ahead log included (0: not created yet).
 */
bytes: number, 
/**
 * Where its key is kept: the keychain's service and account (never the key).
 */
keychain_entry: string, 
/**
 * This is the demo profile's data, apart from any school's.
 */
demo: boolean, };

/**
 * Whether learning support can be shown, and whether this session has unlocked it.
 */
export type SupportStatus = { 
/**
 * Some connection has learning support switched on.
 */
enabled: boolean, 
/**
 * The systems it is on for (only their children can be searched).
 */
systems: Array<SystemId>, 
/**
 * The same, by name.
 */
system_names: Array<string>, unlocked: boolean, 
/**
 * When it locks itself unless used before then (RFC 3339), while unlocked.
 */
until: string | null, 
/**
 * Minutes without use after which it locks itself.
 */
idle_minutes: number, 
/**
 * The computer's user every view is logged as.
 */
by_whom: string | null, };

/**
 * One review meeting.
 */
export type SupportReviewView = { id: string, review_type: string | null, 
/**
 * `YYYY-MM-DD`.
 */
date: string | null, 
/**
 * Scheduled, Completed, Cancelled, as the system says.
 */
status: string | null, 
/**
 * Agreed actions.
 */
outcome: string | null, 
/**
 * `YYYY-MM-DD`.
 */
next_review: string | null, };

/**
 * One learning-support record with its reviews.
 */
export type SupportRecordView = { 
/**
 * `system:id`.
 */
id: string, support_type: string | null, severity: string | null, status: string | null, 
/**
 * Whether the record is closed (inactive): it needs no review.
 */
closed: boolean, 
/**
 * `YYYY-MM-DD`: since when.
 */
since: string | null, ehcp: boolean | null, notes: string | null, 
/**
 * `YYYY-MM-DD`: the scheduled review, else the date the last review set.
 */
next_review: string | null, 
/**
 * The next review date has passed and the record is open.
 */
overdue: boolean, 
/**
 * Reviews of this record, newest first (the student's reviews when the system does not
 * tie them to one record).
 */
reviews: Array<SupportReviewView>, };

/**
 * One child with their records.
 */
export type SupportStudentView = { 
/**
 * The person id (`ext:…` or `system:id`).
 */
person: string, 
/**
 * `system:id` of the record the learning support belongs to.
 */
student: string, name: string, year_group: string | null, records: Array<SupportRecordView>, 
/**
 * Some open record's review is overdue.
 */
overdue: boolean, };

/**
 * What one learning-support read shows (it is in the access log by the time it arrives).
 */
export type SupportView = { 
/**
 * The student's name or the year group.
 */
title: string, 
/**
 * Children with records (for a student: that child, with or without records).
 */
students: Array<SupportStudentView>, 
/**
 * Records across them.
 */
records: number, overdue: number, 
/**
 * Today as the overdue flags see it, `YYYY-MM-DD`.
 */
today: string, 
/**
 * When the newest of it was fetched (RFC 3339).
 */
as_of: string | null, 
/**
 * The access log entry that records this view.
 */
access_id: number, };

/**
 * A year group to pick, with how many children are in it.
 */
export type YearGroupOption = { name: string, students: number, 
/**
 * How many of them have a learning-support record.
 */
with_records: number, };

/**
 * A student named in the access log: the id as logged, with the name the cache knows.
 */
export type LoggedStudent = { id: string, name: string | null, };

/**
 * One access: who, when, viewed or exported what, which students, where to.
 */
export type AccessEntryView = { id: number, 
/**
 * RFC 3339.
 */
at: string, 
/**
 * `view` or `export`.
 */
action: string, 
/**
 * `learning_support`, `roster`, `access_log`, …
 */
what: string, detail: string, students: Array<LoggedStudent>, destination: string | null, by_whom: string | null, };

/**
 * The access log, newest first.
 */
export type AccessLogView = { entries: Array<AccessEntryView>, 
/**
 * Older entries exist beyond the limit.
 */
more: boolean, };

/**
 * Where a child on the roll stands today.
 */
export type RollState = "present" | "late" | "not_marked" | "no_register";

/**
 * One contact of a child on the roll (each once across the child's systems).
 */
export type RollContactView = { name: string, relationship: string | null, phone: string | null, 
/**
 * `false` when any system says they may NOT collect the child; null when none says.
 */
may_collect: boolean | null, };

/**
 * One child who may be on site today.
 */
export type RollPerson = { 
/**
 * The person id (`PersonRow.id`): `ext:<district id>` or `system:id`.
 */
id: string, name: string, given_name: string, family_name: string, 
/**
 * The homeroom or tutor group, as the printed list names it.
 */
group: string, 
/**
 * `system:id` of that group (what a document request takes), or empty for none.
 */
group_id: string, state: RollState, 
/**
 * The state in words ("present", "not marked", …).
 */
state_label: string, contacts: Array<RollContactView>, 
/**
 * Medical alerts, one line each; empty unless the school turned them on.
 */
medical: Array<string>, 
/**
 * `system:id` of each of the child's records.
 */
records: Array<string>, };

/**
 * Everyone who may be on site today, from the cache.
 */
export type EmergencyRoll = { 
/**
 * The school day, `YYYY-MM-DD`, in the school's time zone.
 */
date: string, school: string, 
/**
 * RFC 3339, UTC: the newest copy of the data used; null when nothing was read.
 */
data_as_of: string | null, 
/**
 * The section asked for (`system:id`), or null for everyone.
 */
section: string | null, 
/**
 * By group, then family and given name.
 */
people: Array<RollPerson>, 
/**
 * Children left out because they are marked absent or excused today.
 */
absent: number, 
/**
 * Groups whose register is not taken yet (their children are all listed).
 */
groups_without_register: number, 
/**
 * A connection has medical alerts turned on (so their absence means none recorded).
 */
medical_alerts_on: boolean, 
/**
 * The printed list's line: how many are listed, on what basis, how many left out.
 */
summary: string, };

/**
 * A mark's meaning, as the register keys name it.
 */
export type MarkStatus = "present" | "absent" | "late" | "excused";

/**
 * Where one pupil's mark stands (see `schooldesk_sync::register::LineState`).
 */
export type RegisterState = "unmarked" | "pending" | "sent" | "synced" | "conflict" | "failed" | "held" | "discarded" | "local";

/**
 * A school code the register can record.
 */
export type RegisterCodeView = { code: string, description: string, status: MarkStatus | null, };

/**
 * The code each quick key records at this school (null: the status alone).
 */
export type QuickCodesView = { present: string | null, absent: string | null, late: string | null, excused: string | null, };

/**
 * One pupil's mark.
 */
export type RegisterMarkView = { status: MarkStatus, code: string | null, minutes_late: number | null, note: string | null, 
/**
 * Another period's mark of the day, shown because this register has none of its own.
 */
period: string | null, marked_here: boolean, 
/**
 * RFC 3339, UTC: when it was taken here, or when the system last changed it.
 */
marked_at: string | null, 
/**
 * This computer's user for a mark taken here; the system's word for a synced one.
 */
marked_by: string | null, 
/**
 * The outbox entry of the latest write of this mark (its receipt: `#/outbox/<id>`).
 */
outbox_id: number | null, last_error: string | null, };

/**
 * One pupil on the register, in roster order.
 */
export type RegisterRow = { 
/**
 * `system:id`, what `take_mark` takes back.
 */
student: string, name: string, external_id: string | null, state: RegisterState, mark: RegisterMarkView | null, };

/**
 * One register: a section's pupils with the day's marks.
 */
export type RegisterSheet = { section: SectionOption, 
/**
 * YYYY-MM-DD.
 */
date: string, 
/**
 * The school's today, YYYY-MM-DD.
 */
today: string, 
/**
 * `am` / `pm` for a HUBmis session register.
 */
session: string | null, sessions: Array<string>, 
/**
 * False: the system takes no attendance writes; marks are kept on this computer only.
 */
takes_writes: boolean, 
/**
 * False for a day still to come.
 */
can_mark: boolean, codes: Array<RegisterCodeView>, quick: QuickCodesView, rows: Array<RegisterRow>, };

/**
 * What "Mark the rest present" did.
 */
export type RestPresent = { marked: number, sheet: RegisterSheet, };

/**
 * A mark the clerk takes.
 */
export type MarkInput = { section: string, 
/**
 * YYYY-MM-DD.
 */
date: string, session: string | null, 
/**
 * A `RegisterRow.student`.
 */
student: string, status: MarkStatus, code: string | null, minutes_late: number | null, note: string | null, };

/**
 * A checklist in the picker, with how far its students are.
 */
export type ChecklistSummaryView = { id: string, name: string, items: number, students: number, 
/**
 * Students with at least one required item not completed.
 */
incomplete: number, };

/**
 * An import schema of a published action: the fields a roster record may carry.
 */
export type ImportSchemaView = { action_id: string, schema_id: string, title: string, fields: Array<string>, 
/**
 * The field PowerSchool matches records on (required), when the schema has one.
 */
key_field: string | null, };

/**
 * A published action, with its import schemas and the fields a form may carry.
 */
export type PublishedActionView = { id: string, schemas: Array<ImportSchemaView>, 
/**
 * Every field of its schemas, for a submission form (empty: not checked).
 */
form_fields: Array<string>, roster_records: number, submission_records: number, };

/**
 * A delivery target a batch can be fetched for.
 */
export type DeliveryTargetView = { id: string, title: string, };

/**
 * What the Enrollment screen opens with (`enrollment_overview`).
 */
export type EnrollmentOverview = { 
/**
 * PowerSchool is connected on this computer.
 */
connected: boolean, checklists: Array<ChecklistSummaryView>, actions: Array<PublishedActionView>, targets: Array<DeliveryTargetView>, documents: number, };

/**
 * An item (a column) of a checklist.
 */
export type GridItemView = { id: string, name: string, required: boolean, };

/**
 * One item for one student.
 */
export type GridCellView = { item_id: string, completed: boolean, 
/**
 * PowerSchool lists this item for the student at all.
 */
listed: boolean, 
/**
 * YYYY-MM-DD.
 */
completed_on: string | null, };

/**
 * One student's line of a checklist.
 */
export type GridRowView = { record_id: string, external_id: string | null, 
/**
 * The person id (`PersonRow.id`) when the cache knows the child.
 */
person: string | null, name: string, cells: Array<GridCellView>, };

/**
 * A checklist as students × items (`enrollment_checklist`).
 */
export type ChecklistGridView = { id: string, name: string, items: Array<GridItemView>, rows: Array<GridRowView>, };

/**
 * A child with enrollment documents (`enrollment_document_owners`).
 */
export type DocumentOwnerView = { 
/**
 * The person id (`PersonRow.id`): `ext:<external id>`.
 */
person: string, name: string, documents: number, };

/**
 * One child's enrollment documents (`enrollment_documents`).
 */
export type PersonDocumentsView = { person: string, name: string, documents: Array<DocumentView>, };

/**
 * One page of a PDF, drawn as a PNG.
 */
export type PageImage = { 
/**
 * `data:image/png;base64,…`.
 */
data_url: string, width: number, height: number, };

/**
 * A document's file, ready to show (`open_enrollment_document`). Nothing is written to disk.
 */
export type OpenedDocumentView = { 
/**
 * `powerschool:<id>`.
 */
id: string, name: string, 
/**
 * `pdf`, `jpeg`, `png` or `other`.
 */
kind: string, bytes: number, 
/**
 * A photo or scan: `data:image/…;base64,…`.
 */
image: string | null, 
/**
 * A PDF: its pages drawn as images (at most `MAX_PAGES`).
 */
pages: Array<PageImage>, 
/**
 * How many pages the PDF has.
 */
page_count: number, 
/**
 * What cannot be shown, and what to do instead.
 */
note: string | null, 
/**
 * Fetched from PowerSchool just now (it is now kept in the cache for offline use).
 */
downloaded_now: boolean, };

/**
 * A roster or submission record (`enrollment_records`).
 */
export type EnrollmentRecordView = { id: string, 
/**
 * `roster` or `submission`.
 */
kind: string, action_id: string | null, external_id: string | null, name: string, date_of_birth: string | null, grade: string | null, status: string | null, person: string | null, };

/**
 * One record a delivery batch brought.
 */
export type BatchRecordView = { id: string, submitted: string | null, name: string, external_id: string | null, grade: string | null, };

/**
 * A delivery batch as fetched (`enrollment_batches`).
 */
export type BatchView = { target_id: string, batch_id: string, created_at: string, 
/**
 * RFC 3339, UTC.
 */
fetched_at: string, outbox_id: number | null, records: Array<BatchRecordView>, reset_at: string | null, };

/**
 * One filled-in box of an import or submission form (`queue_roster_import`,
 * `queue_enrollment_submission`).
 */
export type FieldValue = { name: string, value: string, };

/**
 * A Matrix class in the class picker (`list_classes`).
 */
export type ClassOption = { 
/**
 * `matrix:<class id>`: what `class_page`, `class_change` and `set_grade` take.
 */
id: string, name: string, 
/**
 * Course and section code, when Matrix gives them.
 */
code: string | null, school: string | null, 
/**
 * The teacher, when the cache holds them (null until Matrix's teachers are synced).
 */
teacher: string | null, 
/**
 * Students on the roster as last synced.
 */
students: number, archived: boolean, };

/**
 * Enrol (`add`) or unenrol (`remove`) students.
 */
export type RosterChangeKind = "add" | "remove";

/**
 * A queued write beside a roster row or a grade: its outbox entry and where it stands.
 */
export type QueuedWriteView = { 
/**
 * The outbox entry (`#/outbox/<id>` shows its receipt; a conflict is settled there).
 */
outbox_id: number, 
/**
 * `pending`/`sending`/`held`: not sent yet; `done`: sent; `conflict`, `failed`: waiting
 * for a person in the Outbox.
 */
state: OutboxStateId, last_error: string | null, 
/**
 * RFC 3339, UTC.
 */
updated_at: string, };

/**
 * An assignment of the class (a column of the grade grid).
 */
export type AssignmentView = { 
/**
 * Matrix's assignment id: what `set_grade` takes.
 */
id: string, 
/**
 * "Assignment 2000001", until Matrix's assignment names are synced.
 */
label: string, 
/**
 * The most points it is marked out of, when Matrix says.
 */
points: number | null, 
/**
 * Students with a grade for it.
 */
graded: number, };

/**
 * One student's grade for one assignment.
 */
export type GradeCellView = { assignment: string, 
/**
 * Matrix's grade as last synced.
 */
grade: string | null, 
/**
 * The points score as last synced.
 */
score: string | null, 
/**
 * The newest grade queued for this cell, while it is shown (see `change`).
 */
queued: string | null, change: QueuedWriteView | null, };

/**
 * One child on the class roster, or being added to it.
 */
export type ClassMemberView = { 
/**
 * The person id (`#/student/<person>`); also what `class_change` and `set_grade` take.
 */
person: string, 
/**
 * Matrix's user id.
 */
user_id: string, name: string, grade_level: string | null, 
/**
 * On the roster as last synced.
 */
on_roster: boolean, 
/**
 * The roster change queued for this child, while it is shown.
 */
roster_change: RosterChangeKind | null, roster_write: QueuedWriteView | null, 
/**
 * One per assignment of the page, in its order.
 */
grades: Array<GradeCellView>, };

/**
 * One Matrix class (`class_page`).
 */
export type ClassPageView = { class: ClassOption, assignments: Array<AssignmentView>, 
/**
 * By family then given name.
 */
members: Array<ClassMemberView>, 
/**
 * When the roster was last read from Matrix (RFC 3339, UTC).
 */
roster_as_of: string | null, };

/** The events the shell emits (src-tauri/src/ipc.rs `events`). */
export const EVENTS = { deskChanged: "desk-changed", deskActivity: "desk-activity", appStatus: "app-status", updateStatus: "update-status" } as const;

/** What the person types to confirm `wipe_cache` (src-tauri/src/ipc.rs `WIPE_PHRASE`). */
export const WIPE_PHRASE = "delete everything";

/** The shell's own error codes (src-tauri/src/ipc.rs `ERROR_CODES`): the codes the UI may
 * branch on. The core's codes (`cache.…`, `connector.…`, `desk.…`) come through as other
 * strings in `ErrorPayload.code`. */
export const ERROR_CODES = ["shell.starting","shell.task","shell.no_system","shell.writes_waiting","shell.not_connected","shell.wipe_unconfirmed","shell.first_run","shell.no_demo","shell.connected","update.refused","update.no_build","update.bad_answer","update.unreachable","update.install_failed","update.endpoint","update.endpoint_managed","update.settings","update.none_staged","update.failed","export.open_failed","shell.support_locked","shell.support_disabled","shell.support_not_found","shell.support_invalid"] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
