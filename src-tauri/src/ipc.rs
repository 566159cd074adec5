//! The IPC surface: every type that crosses to the UI, declared once here.
//!
//! `ui/src/bindings/ipc.ts` is generated from these declarations
//! (`UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings`); a test fails while the
//! committed file is stale. The commands are declared in `command_table.rs`, typed with
//! these declarations into `ui/src/bindings/commands.ts` by [`typescript_commands`]. The rows are views made for the screen, not the domain types
//! themselves, so the cache's shape can change without breaking the UI.

use schooldesk_domain::{OutboxEntry, OutboxState, System};
use serde::Serialize;
use ts_rs::TS;

/// Where the generated TypeScript is committed, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/bindings/ipc.ts";

/// A school system, by the stable id used in the cache, the CLI and here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum SystemId {
    OmniForge,
    PowerSchool,
    Matrix,
    Hubmis,
}

impl From<SystemId> for System {
    fn from(system: SystemId) -> Self {
        match system {
            SystemId::OmniForge => System::OmniForge,
            SystemId::PowerSchool => System::PowerSchool,
            SystemId::Matrix => System::Matrix,
            SystemId::Hubmis => System::Hubmis,
        }
    }
}

impl From<System> for SystemId {
    fn from(system: System) -> Self {
        match system {
            System::OmniForge => SystemId::OmniForge,
            System::PowerSchool => SystemId::PowerSchool,
            System::Matrix => SystemId::Matrix,
            System::Hubmis => SystemId::Hubmis,
        }
    }
}

/// The life of a queued write (see `schooldesk_domain::OutboxState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OutboxStateId {
    Pending,
    Sending,
    Done,
    Conflict,
    Failed,
    Held,
    Discarded,
}

impl From<OutboxState> for OutboxStateId {
    fn from(state: OutboxState) -> Self {
        match state {
            OutboxState::Pending => OutboxStateId::Pending,
            OutboxState::Sending => OutboxStateId::Sending,
            OutboxState::Done => OutboxStateId::Done,
            OutboxState::Conflict => OutboxStateId::Conflict,
            OutboxState::Failed => OutboxStateId::Failed,
            OutboxState::Held => OutboxStateId::Held,
            OutboxState::Discarded => OutboxStateId::Discarded,
        }
    }
}

/// One queued write as the outbox shows it. The payload stays in the cache: the screen
/// needs only what happened to the write.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct OutboxRow {
    #[ts(type = "number")]
    pub id: i64,
    pub system: SystemId,
    pub system_name: String,
    /// The operation's stable name (`submit_attendance`, `set_grades`, …).
    pub operation: String,
    pub entity_key: String,
    /// What the write does, in words.
    pub description: String,
    pub state: OutboxStateId,
    pub attempts: u32,
    /// RFC 3339, UTC.
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

impl OutboxRow {
    /// The row with its students named (`Desk::describe_write`).
    pub fn named(desk: &schooldesk_sync::Desk, entry: OutboxEntry) -> OutboxRow {
        let description = desk.describe_write(&entry);
        OutboxRow {
            description,
            ..OutboxRow::from(entry)
        }
    }
}

impl From<OutboxEntry> for OutboxRow {
    fn from(e: OutboxEntry) -> Self {
        OutboxRow {
            id: e.id,
            system: e.system.into(),
            system_name: e.system.display_name().to_string(),
            operation: e.operation.as_str().to_string(),
            entity_key: e.entity_key,
            description: e.write.describe(),
            state: e.state.into(),
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at.to_rfc3339(),
            last_error: e.last_error,
            created_at: e.created_at.to_rfc3339(),
            updated_at: e.updated_at.to_rfc3339(),
        }
    }
}

/// Where the first sync stands. The shell emits `app-status` when it changes.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncPhase {
    /// The cache is open and the first sync (or the demo) is under way.
    Starting {
        /// What is being synced right now ("OmniForge SIS: students (120 rows)").
        detail: Option<String>,
    },
    /// The cache holds what the systems last said.
    Ready,
    /// The app could not open its cache or start syncing; `error` says what to do.
    Failed { error: ErrorPayload },
}

/// What the header and status line show.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AppStatus {
    pub version: String,
    /// True when no system is configured and the app runs against its built-in simulators.
    pub demo: bool,
    /// Nothing is connected and the demo was not chosen: show first run (connect a system,
    /// or `choose_demo`). The engine runs no demo until then.
    pub first_run: bool,
    /// The folder holding the encrypted cache.
    pub data_dir: String,
    pub sync: SyncPhase,
}

/// The `{code, message, retryable}` every failed command rejects with.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ErrorPayload {
    /// A stable dotted code from the core (`cache.key_missing`, `connector.offline`,
    /// `desk.data_dir`, …) or the shell (`shell.…`): the UI branches on it, never on text.
    pub code: String,
    /// A sentence for the person at the desk, saying what to do next.
    pub message: String,
    /// Whether trying the same thing again later can succeed.
    pub retryable: bool,
}

/// The events the shell emits, by name. The UI subscribes to these instead of polling.
pub mod events {
    /// [`super::ChangesView`]: data changed; re-read what shows these tables.
    pub const DESK_CHANGED: &str = "desk-changed";
    /// [`super::ActivityView`]: syncs, sending and reachability moved on.
    pub const DESK_ACTIVITY: &str = "desk-activity";
    /// [`super::AppStatus`]: the first sync (or the demo) started, finished or failed.
    pub const APP_STATUS: &str = "app-status";
    /// [`super::UpdateStatus`]: an update check started, found, staged or refused something.
    pub const UPDATE_STATUS: &str = "update-status";
}

/// Where Schooldesk's own update stands (`update_status`, then `update-status` events).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UpdateStatus {
    /// Nothing to install: the last check found no newer version, or this computer does
    /// not check (no update server set, or IT turned checks off).
    None,
    /// Asking the update server.
    Checking,
    /// A newer version was found and is being downloaded and verified.
    Available { version: String },
    /// A newer version is downloaded and its signature verified: "Restart to update".
    Staged {
        version: String,
        /// The release notes the update server gave, as plain text.
        notes: Option<String>,
    },
    /// The check, download, verification or install failed; nothing was changed and this
    /// version keeps working. `message` says why, for the person at the desk.
    Failed {
        /// `update.unreachable`, `update.refused`, `update.endpoint`, `update.install_failed`, …
        code: String,
        message: String,
    },
}

/// A problem shown on the Today screen: a sentence and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ProblemView {
    pub code: String,
    pub message: String,
    pub retryable: bool,
}

/// Fewer requests than this say too little about a sync's pace to promise a time.
const PACE_SAMPLE: u64 = 5;

/// The time a running sync still needs at the pace it has kept: the rate limits, the
/// server's speed and the network all show in that pace, so no table of limits is needed.
pub fn seconds_left(p: &schooldesk_sync::pull::Progress) -> Option<u64> {
    let left = p.remaining_estimate?;
    if p.requests < PACE_SAMPLE {
        return None;
    }
    let per_request = p.elapsed.as_secs_f64() / p.requests as f64;
    Some((per_request * left as f64).ceil() as u64)
}

/// One connected system as the status strip shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SystemActivityView {
    pub system: SystemId,
    pub system_name: String,
    pub syncing: bool,
    /// The phase running ("students", "guardian links"…) while syncing.
    pub phase: Option<String>,
    #[ts(type = "number")]
    pub rows: u64,
    /// Requests still expected in the running sync, from its estimate.
    #[ts(type = "number | null")]
    pub requests_left: Option<u64>,
    /// Seconds the running sync still needs, at the pace it has kept so far (none until it
    /// has sent enough requests to tell).
    #[ts(type = "number | null")]
    pub seconds_left: Option<u64>,
    /// Today's registers are in the cache: a register can be taken now.
    pub register_ready: bool,
    /// RFC 3339, UTC.
    pub last_sync_at: Option<String>,
    /// RFC 3339, UTC.
    pub next_sync_at: Option<String>,
    /// False while the system does not answer (work continues from the cache).
    pub reachable: bool,
    pub problem: Option<ProblemView>,
    /// Writes to this system held until its connection is fixed (credentials, permission):
    /// they go once it answers again.
    pub held: u32,
    /// Why they are held and what to fix, in words, while any are.
    pub held_reason: Option<String>,
}

/// Where the desk stands: every connected system and the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ActivityView {
    pub systems: Vec<SystemActivityView>,
    /// The outbox is being sent right now.
    pub sending: bool,
    /// Writes waiting to be sent.
    #[ts(type = "number")]
    pub waiting: u64,
    #[ts(type = "number")]
    pub conflicts: u64,
    #[ts(type = "number")]
    pub failed: u64,
    /// Writes held until their system's connection is fixed (see each system's `held`).
    #[ts(type = "number")]
    pub held: u64,
    /// No connected system answers: everything shown comes from the cache.
    pub offline: bool,
}

impl From<schooldesk_sync::DeskActivity> for ActivityView {
    fn from(a: schooldesk_sync::DeskActivity) -> Self {
        let count = |state: &str| a.outbox.get(state).copied().unwrap_or(0);
        ActivityView {
            waiting: count("pending") + count("sending"),
            conflicts: count("conflict"),
            failed: count("failed"),
            held: count("held"),
            sending: a.sending,
            offline: a.offline,
            systems: a
                .systems
                .into_iter()
                .map(|s| SystemActivityView {
                    system: s.system.into(),
                    system_name: s.system.display_name().to_string(),
                    syncing: s.syncing,
                    phase: s.progress.as_ref().map(|p| p.phase.clone()),
                    rows: s.progress.as_ref().map_or(0, |p| p.rows),
                    requests_left: s.progress.as_ref().and_then(|p| p.remaining_estimate),
                    seconds_left: s.progress.as_ref().and_then(seconds_left),
                    register_ready: s.register_ready,
                    last_sync_at: s.last_sync_at.map(|t| t.to_rfc3339()),
                    next_sync_at: s.next_sync_at.map(|t| t.to_rfc3339()),
                    reachable: s.reachable,
                    problem: s.problem.map(|p| ProblemView {
                        code: p.code,
                        message: p.message,
                        retryable: p.retryable,
                    }),
                    // Filled in by the shell from the cache (`Shell::held_by_system`).
                    held: 0,
                    held_reason: None,
                })
                .collect(),
        }
    }
}

impl ActivityView {
    /// Fills each system's `held` and `held_reason` from the held outbox entries (the
    /// engine's activity counts them for the whole outbox only).
    pub fn fill_held(&mut self, held: &[OutboxEntry]) {
        for system in &mut self.systems {
            let mine: Vec<&OutboxEntry> = held
                .iter()
                .filter(|e| SystemId::from(e.system) == system.system)
                .collect();
            system.held = u32::try_from(mine.len()).unwrap_or(u32::MAX);
            system.held_reason = mine.iter().find_map(|e| e.last_error.clone());
        }
    }
}

/// What changed in the cache (one batch of the engine's change events).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ChangesView {
    /// Who changed it: `user` (this desk), `sync`, `replay`, `other_process`.
    pub origins: Vec<String>,
    /// The tables written (`students`, `attendance_marks`, `outbox`, …). With
    /// `other_process` anything may have changed: re-read everything shown.
    pub tables: Vec<String>,
}

impl From<schooldesk_sync::engine::Changes> for ChangesView {
    fn from(c: schooldesk_sync::engine::Changes) -> Self {
        ChangesView {
            origins: c
                .origins
                .iter()
                .map(|o| {
                    serde_json::to_value(o)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect(),
            tables: c.tables.keys().cloned().collect(),
        }
    }
}

/// The generated TypeScript for the whole surface, in a stable order.
pub fn typescript_bindings() -> String {
    fn push<T: TS>(out: &mut String, cfg: &ts_rs::Config) {
        out.push('\n');
        if let Some(docs) = T::docs() {
            out.push_str(&docs);
        }
        out.push_str("export ");
        out.push_str(&T::decl(cfg));
        out.push('\n');
    }
    let cfg = ts_rs::Config::default();
    let mut out = String::from(
        "// Generated from src-tauri/src/ipc.rs by ts-rs. Do not edit by hand:\n\
         // run `UPDATE_BINDINGS=1 cargo test -p schooldesk-app bindings` instead.\n",
    );
    push::<SystemId>(&mut out, &cfg);
    push::<OutboxStateId>(&mut out, &cfg);
    push::<OutboxRow>(&mut out, &cfg);
    push::<SyncPhase>(&mut out, &cfg);
    push::<AppStatus>(&mut out, &cfg);
    push::<ErrorPayload>(&mut out, &cfg);
    push::<ProblemView>(&mut out, &cfg);
    push::<SystemActivityView>(&mut out, &cfg);
    push::<ActivityView>(&mut out, &cfg);
    push::<ChangesView>(&mut out, &cfg);
    push::<UpdateStatus>(&mut out, &cfg);
    push::<SectionOption>(&mut out, &cfg);
    push::<DocumentRequest>(&mut out, &cfg);
    push::<DocumentFormat>(&mut out, &cfg);
    push::<PaperSize>(&mut out, &cfg);
    push::<ExportedDocument>(&mut out, &cfg);
    push::<PersonRow>(&mut out, &cfg);
    push::<PeopleIndex>(&mut out, &cfg);
    push::<SchoolNode>(&mut out, &cfg);
    push::<SectionNode>(&mut out, &cfg);
    push::<StudentRecordView>(&mut out, &cfg);
    push::<SystemValue>(&mut out, &cfg);
    push::<DisagreementView>(&mut out, &cfg);
    push::<ContactView>(&mut out, &cfg);
    push::<EnrollmentView>(&mut out, &cfg);
    push::<AttendanceView>(&mut out, &cfg);
    push::<ChecklistItemView>(&mut out, &cfg);
    push::<DocumentView>(&mut out, &cfg);
    push::<StudentPage>(&mut out, &cfg);
    push::<AttemptView>(&mut out, &cfg);
    push::<ConflictView>(&mut out, &cfg);
    push::<ReceiptView>(&mut out, &cfg);
    push::<ResolveChoice>(&mut out, &cfg);
    push::<ConnectionView>(&mut out, &cfg);
    push::<ConnectionInput>(&mut out, &cfg);
    push::<EstimateView>(&mut out, &cfg);
    push::<ConnectionTest>(&mut out, &cfg);
    push::<DataLocation>(&mut out, &cfg);
    push::<crate::support::SupportStatus>(&mut out, &cfg);
    push::<crate::support::SupportReviewView>(&mut out, &cfg);
    push::<crate::support::SupportRecordView>(&mut out, &cfg);
    push::<crate::support::SupportStudentView>(&mut out, &cfg);
    push::<crate::support::SupportView>(&mut out, &cfg);
    push::<crate::support::YearGroupOption>(&mut out, &cfg);
    push::<crate::support::LoggedStudent>(&mut out, &cfg);
    push::<crate::support::AccessEntryView>(&mut out, &cfg);
    push::<crate::support::AccessLogView>(&mut out, &cfg);
    push::<crate::emergency::RollState>(&mut out, &cfg);
    push::<crate::emergency::RollContactView>(&mut out, &cfg);
    push::<crate::emergency::RollPerson>(&mut out, &cfg);
    push::<crate::emergency::EmergencyRoll>(&mut out, &cfg);
    // register
    push::<crate::register::MarkStatus>(&mut out, &cfg);
    push::<crate::register::RegisterState>(&mut out, &cfg);
    push::<crate::register::RegisterCodeView>(&mut out, &cfg);
    push::<crate::register::QuickCodesView>(&mut out, &cfg);
    push::<crate::register::RegisterMarkView>(&mut out, &cfg);
    push::<crate::register::RegisterRow>(&mut out, &cfg);
    push::<crate::register::RegisterSheet>(&mut out, &cfg);
    push::<crate::register::RestPresent>(&mut out, &cfg);
    push::<crate::register::MarkInput>(&mut out, &cfg);
    // enrollment
    push::<crate::enrollment::ChecklistSummaryView>(&mut out, &cfg);
    push::<crate::enrollment::ImportSchemaView>(&mut out, &cfg);
    push::<crate::enrollment::PublishedActionView>(&mut out, &cfg);
    push::<crate::enrollment::DeliveryTargetView>(&mut out, &cfg);
    push::<crate::enrollment::EnrollmentOverview>(&mut out, &cfg);
    push::<crate::enrollment::GridItemView>(&mut out, &cfg);
    push::<crate::enrollment::GridCellView>(&mut out, &cfg);
    push::<crate::enrollment::GridRowView>(&mut out, &cfg);
    push::<crate::enrollment::ChecklistGridView>(&mut out, &cfg);
    push::<crate::enrollment::DocumentOwnerView>(&mut out, &cfg);
    push::<crate::enrollment::PersonDocumentsView>(&mut out, &cfg);
    push::<crate::enrollment::PageImage>(&mut out, &cfg);
    push::<crate::enrollment::OpenedDocumentView>(&mut out, &cfg);
    push::<crate::enrollment::EnrollmentRecordView>(&mut out, &cfg);
    push::<crate::enrollment::BatchRecordView>(&mut out, &cfg);
    push::<crate::enrollment::BatchView>(&mut out, &cfg);
    push::<crate::enrollment::FieldValue>(&mut out, &cfg);
    // classes
    push::<crate::classes::ClassOption>(&mut out, &cfg);
    push::<crate::classes::RosterChangeKind>(&mut out, &cfg);
    push::<crate::classes::QueuedWriteView>(&mut out, &cfg);
    push::<crate::classes::AssignmentView>(&mut out, &cfg);
    push::<crate::classes::GradeCellView>(&mut out, &cfg);
    push::<crate::classes::ClassMemberView>(&mut out, &cfg);
    push::<crate::classes::ClassPageView>(&mut out, &cfg);
    out.push_str(&format!(
        "\n/** The events the shell emits (src-tauri/src/ipc.rs `events`). */\nexport const EVENTS = {{ deskChanged: \"{}\", deskActivity: \"{}\", appStatus: \"{}\", updateStatus: \"{}\" }} as const;\n",
        events::DESK_CHANGED,
        events::DESK_ACTIVITY,
        events::APP_STATUS,
        events::UPDATE_STATUS
    ));
    out.push_str(&format!(
        "\n/** What the person types to confirm `wipe_cache` (src-tauri/src/ipc.rs `WIPE_PHRASE`). */\nexport const WIPE_PHRASE = {};\n",
        serde_json::Value::from(WIPE_PHRASE)
    ));
    out.push_str(&format!(
        "\n/** The shell's own error codes (src-tauri/src/ipc.rs `ERROR_CODES`): the codes the UI may\n \
         * branch on. The core's codes (`cache.…`, `connector.…`, `desk.…`) come through as other\n \
         * strings in `ErrorPayload.code`. */\nexport const ERROR_CODES = {} as const;\n\
         \nexport type ErrorCode = (typeof ERROR_CODES)[number];\n",
        serde_json::Value::from(ERROR_CODES)
    ));
    out
}

// ---- documents (exports and printing) --------------------------------------------------

/// A section the Documents panel can pick (`list_sections`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SectionOption {
    /// `system:id`: what the document requests take back.
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// The school's name, when the school is cached.
    pub school: Option<String>,
    pub system: SystemId,
    pub system_name: String,
    /// Students on its roster in the cache.
    #[ts(type = "number")]
    pub students: u64,
}

impl From<schooldesk_sync::reads::SectionInfo> for SectionOption {
    fn from(s: schooldesk_sync::reads::SectionInfo) -> Self {
        SectionOption {
            system: s.system.into(),
            system_name: s.system.display_name().to_string(),
            id: s.id,
            name: s.name,
            code: s.code,
            school: s.school,
            students: s.students,
        }
    }
}

/// Which document to make, with what it needs. Ids are `system:id` (or an id found in one
/// system only); dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocumentRequest {
    /// A class roster.
    Roster { section: String },
    /// The attendance register over a date range (the AM/PM register for a HUBmis group).
    Register {
        section: String,
        from: String,
        to: String,
    },
    /// Everyone in school today with their contacts; only one section's when given.
    Emergency {
        #[serde(default)]
        section: Option<String>,
    },
    /// Who is missing which item of one registration checklist.
    Checklist { checklist: String },
    /// Learning support for one student, one year group, or (neither given) everyone.
    LearningSupport {
        #[serde(default)]
        student: Option<String>,
        #[serde(default)]
        year_group: Option<String>,
    },
    /// One enrollment submission record, as the family sent it.
    Submission { record: String },
}

/// The file formats the app writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    Pdf,
    Xlsx,
    /// UTF-8 CSV for other programs.
    Csv,
    /// CSV that Excel opens with accents intact.
    CsvExcel,
}

/// The paper a PDF is laid out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PaperSize {
    A4,
    Letter,
}

/// What `export_document` and `print_document` wrote.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ExportedDocument {
    /// The file, absolute.
    pub path: String,
    /// Its name alone, for a short result line.
    pub file_name: String,
    /// The document's title ("Class roster — Homeroom 7B").
    pub title: String,
    #[ts(type = "number")]
    pub bytes: u64,
    /// How many students the document names.
    #[ts(type = "number")]
    pub students: u64,
}

// ---- people, rosters and the student page ---------------------------------------------

/// One child as the student list shows it: every system's record of the same child (same
/// external id) folded into one row.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PersonRow {
    /// Stable id for `student_page`: `ext:<external id>`, or `<system>:<id>` for a record
    /// that carries no external id (a child only that system knows).
    pub id: String,
    /// "Preferred-or-given Family", as it is read out.
    pub name: String,
    pub family_name: String,
    pub given_name: String,
    pub grade: Option<String>,
    /// The homeroom, tutor group or form, by name where the section is cached.
    pub homeroom: Option<String>,
    /// The systems that hold a record of this child, in system order.
    pub systems: Vec<SystemId>,
    /// Every id the child has: each system's `<system>:<id>`, the bare ids and the external
    /// id, for searching by any of them.
    pub ids: Vec<String>,
    /// The systems disagree about this child (name, date of birth, grade, …): the student
    /// page shows each system's value.
    pub flagged: bool,
    /// Any system lists the child as active.
    pub active: bool,
}

/// Every child in the cache, one row each (`list_people`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PeopleIndex {
    /// Sorted by family name, then given name.
    pub people: Vec<PersonRow>,
    /// When the newest student record was fetched (RFC 3339, UTC); null with no students.
    pub as_of: Option<String>,
}

/// A school of one system with its sections (`roster_tree`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SchoolNode {
    /// `system:id`; `system:` alone for the "Other sections" node of sections whose school
    /// is not cached.
    pub id: String,
    pub name: String,
    pub system: SystemId,
    pub system_name: String,
    /// Sorted by name.
    pub sections: Vec<SectionNode>,
}

/// A section, class, tutor group or homeroom in the roster tree.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SectionNode {
    /// `system:id`, the same ids `list_sections` and `section_members` use.
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// What its system calls it: "Section", "Class", "Tutor group" or "Homeroom".
    pub kind: String,
    /// Students on its roster in the cache.
    pub students: u32,
}

/// One system's record of the child, as that system holds it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StudentRecordView {
    pub system: SystemId,
    pub system_name: String,
    /// The child's id in that system.
    pub source_id: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: Option<String>,
    pub grade: Option<String>,
    /// By name where the section is cached.
    pub homeroom: Option<String>,
    pub active: bool,
}

/// One system's value for a field the systems disagree on.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SystemValue {
    pub system_name: String,
    pub value: String,
}

/// A field on which the systems disagree about the child: nothing is merged, each value is
/// shown.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DisagreementView {
    /// The field, in words ("Family name").
    pub field: String,
    pub values: Vec<SystemValue>,
}

/// A guardian or contact of the child, as one system records the link.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ContactView {
    pub name: String,
    pub relationship: Option<String>,
    /// Every phone number the cache holds for them.
    pub phones: Vec<String>,
    pub email: Option<String>,
    /// The system's primary contact for the child.
    pub primary: bool,
    /// Whether they may collect the child: `false` is a "may NOT collect" the office must
    /// see; null when the system does not say.
    pub may_collect: Option<bool>,
    /// Whether the child lives with them; null when the system does not say.
    pub lives_with: Option<bool>,
    /// Whether they are an emergency contact; null when the system does not say.
    pub emergency: Option<bool>,
    /// The systems that list them, by name ("OmniForge SIS, WCBS HUBmis"): one contact
    /// however many systems know them.
    pub system_name: String,
}

/// A section the child is on the roster of.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EnrollmentView {
    /// `system:id`, as `section_members` takes it.
    pub section_id: String,
    pub section_name: String,
    pub code: Option<String>,
    pub system_name: String,
}

/// One attendance mark of the child.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AttendanceView {
    /// YYYY-MM-DD.
    pub date: String,
    /// The period, or "AM"/"PM" for a UK session.
    pub period: Option<String>,
    pub section_name: Option<String>,
    /// The system's own code ("/", "L", "T", …), or the status when it has none.
    pub code: String,
    /// In words: "Present", "Absent", "Late", "Excused".
    pub status: String,
    pub minutes_late: Option<u32>,
    pub note: Option<String>,
    /// `synced` (the system's record), `pending` (waiting in the outbox), `conflict` (the
    /// system changed it too: resolve it in the outbox) or `local_only` (kept on this
    /// computer: the system takes no writes, or the write was discarded).
    pub state: String,
    pub system_name: String,
}

/// One item of a registration checklist, for this child.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ChecklistItemView {
    /// The checklist's name.
    pub checklist: String,
    /// The item's name.
    pub item: String,
    pub complete: bool,
    pub required: bool,
    /// YYYY-MM-DD, when completed and the system says when.
    pub completed_on: Option<String>,
}

/// A registration document attached to the child's enrollment records.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DocumentView {
    /// `system:id`.
    pub id: String,
    pub name: String,
    /// The file type ("application/pdf"), when the system says.
    pub kind: Option<String>,
    /// The file itself is in the cache (it can be opened offline).
    pub downloaded: bool,
}

/// Everything the cache knows about one child (`student_page`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StudentPage {
    /// The person id (`PersonRow.id`).
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    /// The systems disagree about this child.
    pub flagged: bool,
    /// Each system's record, in system order.
    pub records: Vec<StudentRecordView>,
    pub disagreements: Vec<DisagreementView>,
    /// Primary contacts first.
    pub contacts: Vec<ContactView>,
    pub enrollments: Vec<EnrollmentView>,
    /// Most recent first, over the last [`ATTENDANCE_DAYS`] days that have marks.
    pub attendance: Vec<AttendanceView>,
    pub checklists: Vec<ChecklistItemView>,
    pub documents: Vec<DocumentView>,
}

/// How many days of attendance the student page shows (back from the child's newest mark).
pub const ATTENDANCE_DAYS: u32 = schooldesk_sync::persons::ATTENDANCE_DAYS;

// ---- outbox actions ---------------------------------------------------------------------

/// One request sent for a queued write, and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AttemptView {
    /// When it was sent (RFC 3339, UTC).
    pub at: String,
    /// What was sent (method, path and body; credentials are never recorded).
    pub request: String,
    /// What the system answered, when it answered.
    pub answer: Option<String>,
    /// How it ended, in words ("Accepted", "Conflict", "No answer yet", …).
    pub outcome: String,
}

/// A conflict: the desk's value beside the system's.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConflictView {
    /// What the two disagree on ("Attendance of stu_12 on 2025-09-01", "Grade", …).
    pub field_or_what: String,
    /// The value made at this desk.
    pub yours: String,
    /// The value the system holds now.
    pub theirs: String,
    /// Who changed it in the system, when it says.
    pub theirs_by: Option<String>,
    /// When it was changed in the system (as the system gave it), when it says.
    pub theirs_at: Option<String>,
}

/// One queued write with its whole history (`outbox_receipt`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ReceiptView {
    pub entry: OutboxRow,
    /// Oldest first.
    pub attempts: Vec<AttemptView>,
    /// Set while the entry is a conflict.
    pub conflict: Option<ConflictView>,
    /// The system's answer to the write once done, as text.
    pub answer: Option<String>,
    /// `outbox_retry` applies (failed or held).
    pub can_retry: bool,
    /// `outbox_discard` applies (not sent yet, failed, held or a conflict, and not possibly
    /// already received by the system).
    pub can_discard: bool,
    /// `outbox_resolve` applies (a conflict).
    pub can_resolve: bool,
}

/// How a person resolves a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ResolveChoice {
    /// Send the desk's value again, over the system's current one.
    KeepMine,
    /// The system's value becomes the desk's; nothing is sent.
    TakeTheirs,
}

// ---- conversions from the core -----------------------------------------------------------

fn system_name(system: System) -> String {
    system.display_name().to_string()
}

impl From<schooldesk_sync::persons::Person> for PersonRow {
    fn from(p: schooldesk_sync::persons::Person) -> Self {
        PersonRow {
            id: p.id,
            name: p.name,
            family_name: p.family_name,
            given_name: p.given_name,
            grade: p.grade,
            homeroom: p.homeroom,
            systems: p.systems.into_iter().map(SystemId::from).collect(),
            ids: p.ids,
            flagged: p.flagged,
            active: p.active,
        }
    }
}

impl From<schooldesk_sync::persons::People> for PeopleIndex {
    fn from(p: schooldesk_sync::persons::People) -> Self {
        PeopleIndex {
            people: p.people.into_iter().map(PersonRow::from).collect(),
            as_of: p.as_of.map(|t| t.to_rfc3339()),
        }
    }
}

impl From<schooldesk_sync::persons::SchoolBranch> for SchoolNode {
    fn from(b: schooldesk_sync::persons::SchoolBranch) -> Self {
        SchoolNode {
            id: b.id,
            name: b.name,
            system: b.system.into(),
            system_name: system_name(b.system),
            sections: b
                .sections
                .into_iter()
                .map(|s| SectionNode {
                    id: s.id,
                    name: s.name,
                    code: s.code,
                    kind: s.kind.to_string(),
                    students: u32::try_from(s.students).unwrap_or(u32::MAX),
                })
                .collect(),
        }
    }
}

/// A compared field's name in words.
fn field_in_words(field: &str) -> String {
    match field {
        "given_name" => "Given name".into(),
        "family_name" => "Family name".into(),
        "date_of_birth" => "Date of birth".into(),
        "grade" => "Grade".into(),
        other => {
            let words = other.replace('_', " ");
            let mut chars = words.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

fn status_in_words(status: schooldesk_domain::AttendanceStatus) -> &'static str {
    use schooldesk_domain::AttendanceStatus as S;
    match status {
        S::Present => "Present",
        S::Absent => "Absent",
        S::Tardy => "Late",
        S::Excused => "Excused",
    }
}

/// "am"/"pm" sessions as the register writes them.
fn period_in_words(period: String) -> String {
    match period.to_ascii_lowercase().as_str() {
        "am" => "AM".into(),
        "pm" => "PM".into(),
        _ => period,
    }
}

impl From<schooldesk_cache::StudentMark> for AttendanceView {
    fn from(m: schooldesk_cache::StudentMark) -> Self {
        use schooldesk_domain::AttendanceStatus as S;
        AttendanceView {
            date: m.date.format("%Y-%m-%d").to_string(),
            period: m.period.map(period_in_words),
            section_name: m.section_name.or(m.section_source_id),
            code: m.code.unwrap_or_else(|| m.status.as_str().to_string()),
            status: status_in_words(m.status).to_string(),
            minutes_late: match m.status {
                S::Tardy => m
                    .minutes
                    .and_then(|n| u32::try_from(n).ok())
                    .filter(|n| *n > 0),
                _ => None,
            },
            note: m.note,
            state: m.state,
            system_name: system_name(m.system),
        }
    }
}

impl From<schooldesk_sync::persons::PersonPage> for StudentPage {
    fn from(p: schooldesk_sync::persons::PersonPage) -> Self {
        StudentPage {
            id: p.person.id,
            name: p.person.name,
            external_id: p.person.external_id,
            flagged: p.person.flagged,
            records: p
                .records
                .into_iter()
                .map(|s| StudentRecordView {
                    system: s.source.system.into(),
                    system_name: system_name(s.source.system),
                    source_id: s.source.source_id,
                    given_name: s.given_name,
                    family_name: s.family_name,
                    preferred_name: s.preferred_name,
                    date_of_birth: s.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()),
                    grade: s.grade,
                    homeroom: s.homeroom,
                    active: s.active,
                })
                .collect(),
            disagreements: p
                .disagreements
                .into_iter()
                .map(|(field, values)| DisagreementView {
                    field: field_in_words(&field),
                    values: values
                        .into_iter()
                        .map(|(system, value)| SystemValue {
                            system_name: system_name(system),
                            value,
                        })
                        .collect(),
                })
                .collect(),
            contacts: p
                .contacts
                .into_iter()
                .map(|c| ContactView {
                    name: c.name,
                    relationship: c.relationship,
                    phones: c.phones,
                    email: c.email,
                    primary: c.primary,
                    may_collect: c.may_collect,
                    // No system Schooldesk reads says who the child lives with.
                    lives_with: None,
                    emergency: c.emergency,
                    system_name: c
                        .systems
                        .iter()
                        .map(|s| system_name(*s))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
            enrollments: p
                .enrollments
                .into_iter()
                .map(|e| EnrollmentView {
                    section_id: e.section_id,
                    section_name: e.name,
                    code: e.code,
                    system_name: system_name(e.system),
                })
                .collect(),
            attendance: p.attendance.into_iter().map(AttendanceView::from).collect(),
            checklists: p
                .checklists
                .into_iter()
                .map(|c| ChecklistItemView {
                    checklist: c.checklist,
                    item: c.item,
                    complete: c.complete,
                    required: c.required,
                    completed_on: c.completed_on.map(|d| d.format("%Y-%m-%d").to_string()),
                })
                .collect(),
            documents: p
                .documents
                .into_iter()
                .map(|d| DocumentView {
                    id: schooldesk_sync::reads::qualified_id(d.system, &d.source_id),
                    name: d.name,
                    kind: d.content_type,
                    downloaded: d.downloaded,
                })
                .collect(),
        }
    }
}

impl From<ResolveChoice> for schooldesk_sync::Resolution {
    fn from(c: ResolveChoice) -> Self {
        match c {
            ResolveChoice::KeepMine => schooldesk_sync::Resolution::KeepMine,
            ResolveChoice::TakeTheirs => schooldesk_sync::Resolution::TakeTheirs,
        }
    }
}

/// A JSON value as one line of text: strings as they are.
fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a request was: "POST /attendance {…}", or why it could not be made.
fn request_text(request: &serde_json::Value) -> String {
    let field = |k: &str| request.get(k).and_then(serde_json::Value::as_str);
    match (field("method"), field("route").or_else(|| field("path"))) {
        (Some(method), Some(route)) => {
            let mut s = format!("{method} {route}");
            if let Some(body) = request.get("body").filter(|b| !b.is_null()) {
                s.push(' ');
                s.push_str(&json_text(body));
            }
            s
        }
        _ => field("problem").map_or_else(|| json_text(request), str::to_string),
    }
}

fn outcome_in_words(outcome: Option<&str>) -> String {
    match outcome {
        None => "No answer yet",
        Some("applied") => "Accepted",
        Some("conflict") => "Conflict: the system holds a different value",
        Some("refused") => "Refused",
        Some("retry") => "Not reached; will try again",
        Some("held") => "Held until the connection is fixed",
        Some("uncertain") => "No answer; Schooldesk checks before sending again",
        Some("settled_applied") => "Checked: it had arrived",
        Some("settled_absent") => "Checked: it had not arrived",
        Some("settled_conflict") => "Checked: the system holds a different value",
        Some(other) => other,
    }
    .to_string()
}

/// The system's record inside a reply (OmniForge wraps it as `{"data": …}`).
fn unwrap_data(v: &serde_json::Value) -> &serde_json::Value {
    v.get("data").filter(|d| d.is_object()).unwrap_or(v)
}

fn text_of(v: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| v.get(*k).filter(|x| !x.is_null()).map(json_text))
}

/// The desk's value beside the system's, for a conflict.
fn conflict_view(write: &schooldesk_domain::Write, server: &serde_json::Value) -> ConflictView {
    use schooldesk_domain::Write;
    let theirs_rec = unwrap_data(server);
    let theirs_by = text_of(
        theirs_rec,
        &[
            "updatedBy",
            "updated_by",
            "modifiedBy",
            "modified_by",
            "recordedBy",
        ],
    );
    let theirs_at = text_of(theirs_rec, &["updatedAt", "updated_at", "modifiedAt"]);
    let (field_or_what, yours, theirs) = match write {
        Write::Mark(m) => {
            let mut what = format!("Attendance of {} on {}", m.student_id, m.date);
            if let Some(p) = &m.period {
                what.push_str(&format!(", period {p}"));
            }
            let mark = |status: Option<String>, code: Option<String>| match (status, code) {
                (Some(s), Some(c)) => format!("{s} ({c})"),
                (Some(s), None) => s,
                (None, Some(c)) => c,
                (None, None) => "(none)".to_string(),
            };
            (
                what,
                mark(Some(m.status.as_str().to_string()), m.code.clone()),
                mark(
                    text_of(theirs_rec, &["status"]),
                    text_of(theirs_rec, &["code"]),
                ),
            )
        }
        Write::SetGrade {
            student_id,
            assignment_id,
            grade,
            ..
        } => (
            format!("Grade of {student_id} for assignment {assignment_id}"),
            grade.clone(),
            text_of(theirs_rec, &["grade"]).unwrap_or_else(|| "(none)".into()),
        ),
        Write::UpdateUser { user_id, set, .. } => (
            format!(
                "User {user_id}: {}",
                set.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            set.iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            set.keys()
                .map(|k| format!("{k}: {}", text_of(theirs_rec, &[k]).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        other => (other.describe(), other.describe(), json_text(theirs_rec)),
    };
    ConflictView {
        field_or_what,
        yours,
        theirs,
        theirs_by,
        theirs_at,
    }
}

impl From<schooldesk_sync::Receipt> for ReceiptView {
    fn from(r: schooldesk_sync::Receipt) -> Self {
        let state = r.entry.state;
        let conflict = match (state, &r.answer) {
            (OutboxState::Conflict, Some(server)) => Some(conflict_view(&r.entry.write, server)),
            (OutboxState::Conflict, None) => {
                Some(conflict_view(&r.entry.write, &serde_json::Value::Null))
            }
            _ => None,
        };
        let uncertain = r.entry.uncertain;
        ReceiptView {
            attempts: r
                .attempts
                .iter()
                .map(|a| AttemptView {
                    at: a.started_at.to_rfc3339(),
                    request: request_text(&a.request),
                    answer: a.answer.as_ref().map(json_text),
                    outcome: outcome_in_words(a.outcome.as_deref()),
                })
                .collect(),
            answer: match state {
                OutboxState::Done => r.answer.as_ref().map(json_text),
                _ => None,
            },
            can_retry: matches!(state, OutboxState::Failed | OutboxState::Held),
            can_discard: !uncertain
                && matches!(
                    state,
                    OutboxState::Pending
                        | OutboxState::Failed
                        | OutboxState::Conflict
                        | OutboxState::Held
                ),
            can_resolve: state == OutboxState::Conflict,
            conflict,
            entry: r.entry.into(),
        }
    }
}

// ---- settings and first run --------------------------------------------------------------

/// What the person types to confirm `wipe_cache`: words, not a click, because the cache,
/// its key and any writes not yet sent go for good.
pub const WIPE_PHRASE: &str = "delete everything";

/// One school system as Settings and first run show it, connected or not. Never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConnectionView {
    /// Which system.
    pub system: SystemId,
    /// The name the office knows the system by ("OmniForge SIS").
    pub system_name: String,
    /// Settings for this system are saved (its secret may still be missing: `has_secret`).
    pub connected: bool,
    /// The address saved (`https://…`), when connected.
    pub base_url: Option<String>,
    /// The account the secret belongs to (HUBmis: the client id), when the system uses one.
    pub account: Option<String>,
    /// The HUBmis realm (the school), when the system uses one.
    pub realm: Option<String>,
    /// The keychain holds this system's secret (the secret itself never crosses).
    pub has_secret: bool,
    /// What the secret is called for this system ("API key", "Client secret").
    pub secret_label: String,
    /// The form asks for an account (`ConnectionInput.account`): HUBmis's client id.
    pub uses_account: bool,
    /// The form asks for a realm (`ConnectionInput.realm`): HUBmis only.
    pub uses_realm: bool,
    /// The pace Schooldesk keeps to for this system, in words ("At most 60 requests a
    /// minute"), from the connector's limits and any override saved.
    pub rate_limit: Option<String>,
    /// A slower pace the school asked for, in requests a minute; none: the system's own limit.
    pub requests_per_minute: Option<u32>,
    /// The school chose to copy learning-support (SEN) records from this system.
    pub learning_support: bool,
    /// The school chose to keep medical conditions at hand (set with the command line).
    pub medical_alerts: bool,
    /// The school's time zone (IANA name) used for "today"; none: this computer's zone.
    pub time_zone: Option<String>,
    /// When the settings were last saved, RFC 3339, UTC.
    pub updated_at: Option<String>,
}

/// A connection as typed into Settings or first run (`test_connection`, `save_connection`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize, Serialize, TS)]
pub struct ConnectionInput {
    /// Which system.
    pub system: SystemId,
    /// The system's address, `https://…` (plain `http://` only on this computer).
    pub base_url: String,
    /// HUBmis: the client id. Other systems sign in with the secret alone: leave it out.
    #[serde(default)]
    pub account: Option<String>,
    /// HUBmis: the realm (the school). Leave it out for other systems.
    #[serde(default)]
    pub realm: Option<String>,
    /// The API key or client secret. Empty keeps the one already in the keychain (to change
    /// an option of a connected system); it goes to the keychain only when saved.
    #[serde(default)]
    pub secret: String,
    /// Copy learning-support records; left out keeps what is saved (off for a new one).
    /// Turning it off deletes the records already copied.
    #[serde(default)]
    pub learning_support: Option<bool>,
    /// The school's time zone (IANA name, such as `Europe/London`); left out keeps what is
    /// saved, empty goes back to this computer's zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Requests a minute to keep to, for a school whose server needs a gentler pace: 0 goes
    /// back to the system's own limit, left out keeps what is saved. Never above what the
    /// system documents (Matrix's 120 a minute stays the ceiling).
    pub requests_per_minute: Option<u32>,
}

/// What a first sync of one system will take, before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EstimateView {
    /// Requests the sync will make.
    #[ts(type = "number")]
    pub requests: u64,
    /// The least minutes the system's rate limit allows for them (rounded up; 0: under a minute).
    #[ts(type = "number")]
    pub minutes: u64,
    /// The same in words ("OmniForge SIS: about 40 requests, at least 1 min at 60 a minute").
    pub text: String,
    /// The estimate assumed a district of this many students (nothing is cached yet).
    #[ts(type = "number | null")]
    pub assumed_students: Option<u64>,
}

impl From<schooldesk_sync::estimate::Estimate> for EstimateView {
    fn from(e: schooldesk_sync::estimate::Estimate) -> Self {
        EstimateView {
            requests: e.requests,
            minutes: e.floor.as_secs().div_ceil(60),
            text: e.to_string(),
            assumed_students: match e.basis {
                schooldesk_sync::estimate::Basis::Assumed(n) => Some(n),
                schooldesk_sync::estimate::Basis::Cache => None,
            },
        }
    }
}

/// The answer of `test_connection`: whether the system answered and took the secret.
/// Nothing is saved either way.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ConnectionTest {
    /// The system answered its cheapest call and accepted the secret.
    pub ok: bool,
    /// A sentence for the person: what happened and what to do next.
    pub message: String,
    /// Why it failed (`connector.auth`, `connector.offline`, …), when it did.
    pub error: Option<ErrorPayload>,
    /// What the first sync will take, when the test passed.
    pub estimate: Option<EstimateView>,
}

/// Where the data of the desk in use lives (`data_location`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DataLocation {
    /// The data folder (the demo's own folder while the demo runs).
    pub data_dir: String,
    /// The encrypted cache file.
    pub cache_file: String,
    /// The cache's size on disk, its write-ahead log included (0: not created yet).
    #[ts(type = "number")]
    pub bytes: u64,
    /// Where its key is kept: the keychain's service and account (never the key).
    pub keychain_entry: String,
    /// This is the demo profile's data, apart from any school's.
    pub demo: bool,
}

// ---- commands and error codes ------------------------------------------------------------

/// Where the generated command wrappers are committed, relative to this crate.
pub const COMMANDS_BINDINGS_PATH: &str = "../ui/src/bindings/commands.ts";

/// The capability that grants the main window its commands, relative to this crate. Tauri
/// cannot generate it, so the bindings test keeps its app permissions equal to the table.
pub const CAPABILITY_PATH: &str = "capabilities/default.json";

/// The shell's own error codes (`shell.…`, `update.…`, `export.open_failed`): the codes the UI
/// may branch on. The core's codes (`cache.…`, `connector.…`, `desk.…`, `export.…`) cross as
/// plain strings in the same `code` field. The bindings test fails when a code written in
/// `src/` is missing here, or one listed here is no longer written anywhere.
pub const ERROR_CODES: &[&str] = &[
    // The engine is not running yet: try again in a moment.
    "shell.starting",
    // A background task stopped unexpectedly.
    "shell.task",
    // A lean build with nothing connected: connect a system with the command line.
    "shell.no_system",
    // Removing a connection refused: writes to it are still waiting.
    "shell.writes_waiting",
    // The system named is not connected.
    "shell.not_connected",
    // `wipe_cache` without the typed confirmation (`WIPE_PHRASE`).
    "shell.wipe_unconfirmed",
    // First run has not been finished (nothing connected, demo not chosen).
    "shell.first_run",
    // This build has no demo district.
    "shell.no_demo",
    // The demo was asked for while a school system is connected.
    "shell.connected",
    // Updates (see `update.rs`).
    "update.refused",
    "update.no_build",
    "update.bad_answer",
    "update.unreachable",
    "update.install_failed",
    "update.endpoint",
    "update.endpoint_managed",
    "update.settings",
    "update.none_staged",
    "update.failed",
    // The documents folder or a printed PDF could not be opened.
    "export.open_failed",
    // Learning support (see `support.rs`): locked (unlock for this session first), switched
    // off on every connection, an unknown student or year group, a malformed request.
    "shell.support_locked",
    "shell.support_disabled",
    "shell.support_not_found",
    "shell.support_invalid",
];

/// A type as the generated TypeScript writes it, with the `ipc.ts` types it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsType {
    pub text: String,
    /// The declared types (from `ipc.ts`) the text names, to import.
    pub imports: Vec<String>,
}

impl TsType {
    /// The TypeScript of `T` as ts-rs writes it, except: `()` answers nothing (`void`), and
    /// 64-bit integers are `number` because they cross as JSON numbers (as the fields of
    /// this module say with `#[ts(type = "number")]`).
    pub fn of<T: TS + 'static + ?Sized>() -> TsType {
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
            return TsType {
                text: "void".into(),
                imports: Vec::new(),
            };
        }
        struct Named<'a> {
            cfg: &'a ts_rs::Config,
            names: Vec<String>,
        }
        impl ts_rs::TypeVisitor for Named<'_> {
            fn visit<U: TS + 'static + ?Sized>(&mut self) {
                // Only declared types have a file of their own; `Vec`, `Option`, primitives
                // are written inline, and their parameters are visited as generics.
                if let Some(dep) = ts_rs::Dependency::from_ty::<U>(self.cfg) {
                    self.names.push(dep.ts_name);
                }
                U::visit_generics(self);
            }
        }
        let cfg = ts_rs::Config::default().with_large_int("number");
        let mut named = Named {
            cfg: &cfg,
            names: Vec::new(),
        };
        ts_rs::TypeVisitor::visit::<T>(&mut named);
        // `Option<T>` visits `T` both as itself and through its generics.
        named.names.sort_unstable();
        named.names.dedup();
        TsType {
            text: T::name(&cfg),
            imports: named.names,
        }
    }
}

/// One command as the UI calls it, from `command_table.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSignature {
    /// The Rust function's name, which is what `invoke` sends.
    pub name: &'static str,
    /// The arguments the UI passes, by the Rust parameter's name, in order.
    pub args: Vec<(&'static str, TsType)>,
    /// What the command answers on success.
    pub ok: TsType,
}

/// `snake_case` to `camelCase`: Tauri takes a command's arguments from the JS object under
/// the camelCase of each Rust parameter.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The generated `commands.ts`: one typed wrapper per command of the table, and their names.
pub fn typescript_commands(commands: &[CommandSignature]) -> String {
    let mut imports: Vec<&str> = commands
        .iter()
        .flat_map(|c| c.args.iter().map(|(_, t)| t).chain([&c.ok]))
        .flat_map(|t| t.imports.iter().map(String::as_str))
        .collect();
    imports.sort_unstable();
    imports.dedup();

    let mut out = String::from(
        "// Generated from src-tauri/src/command_table.rs. Do not edit by hand:\n\
         // run `UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings` instead.\n\
         import { invoke as tauriInvoke } from \"@tauri-apps/api/core\";\n",
    );
    if !imports.is_empty() {
        out.push_str(&format!(
            "import type {{ {} }} from \"./ipc\";\n",
            imports.join(", ")
        ));
    }
    out.push_str(
        "\n/** Every command the shell registers, by the name `invoke` sends. */\n\
         export const COMMAND_NAMES = [\n",
    );
    for c in commands {
        out.push_str(&format!("  \"{}\",\n", c.name));
    }
    out.push_str(
        "] as const;\n\
         \n\
         export type CommandName = (typeof COMMAND_NAMES)[number];\n\
         \n\
         /** How a command is sent: Tauri's `invoke`, or a wrapper around it (one that turns a\n \
         * rejection into the UI's own error, or a mock at the IPC boundary in tests). */\n\
         export type Invoke = <T>(cmd: CommandName, args?: Record<string, unknown>) => Promise<T>;\n\
         \n\
         /** One typed function per command, sending through `invoke`. */\n\
         export function makeCommands(invoke: Invoke) {\n  return {\n",
    );
    for c in commands {
        let params: Vec<String> = c
            .args
            .iter()
            .map(|(name, t)| format!("{}: {}", camel_case(name), t.text))
            .collect();
        let fields: Vec<String> = c.args.iter().map(|(name, _)| camel_case(name)).collect();
        let args = if fields.is_empty() {
            String::new()
        } else {
            format!(", {{ {} }}", fields.join(", "))
        };
        out.push_str(&format!(
            "    {}: ({}): Promise<{}> => invoke(\"{}\"{}),\n",
            camel_case(c.name),
            params.join(", "),
            c.ok.text,
            c.name,
            args
        ));
    }
    out.push_str(
        "  } as const;\n}\n\
         \n\
         /** The commands sent with Tauri's `invoke` as it is (rejections are the shell's\n \
         * `ErrorPayload`). */\n\
         export const commands = makeCommands(tauriInvoke);\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use schooldesk_sync::pull::Progress;
    use std::time::Duration;

    fn progress(requests: u64, left: Option<u64>, elapsed_secs: u64) -> Progress {
        Progress {
            system: System::Matrix,
            phase: "rosters".into(),
            rows: 0,
            requests,
            remaining_estimate: left,
            elapsed: Duration::from_secs(elapsed_secs),
            register_ready: false,
        }
    }

    #[test]
    fn time_left_follows_the_pace_kept_so_far() {
        // 60 requests in 30 s: half a second each, so 120 more take a minute.
        assert_eq!(seconds_left(&progress(60, Some(120), 30)), Some(60));
        // A part of a second still shows as a second, never as "done".
        assert_eq!(seconds_left(&progress(10, Some(1), 1)), Some(1));
    }

    #[test]
    fn no_time_is_promised_without_an_estimate_or_enough_requests() {
        assert_eq!(seconds_left(&progress(60, None, 30)), None);
        assert_eq!(seconds_left(&progress(PACE_SAMPLE - 1, Some(100), 2)), None);
    }
}
