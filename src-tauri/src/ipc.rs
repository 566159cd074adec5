//! The IPC surface: every type that crosses to the UI, declared once here.
//!
//! `ui/src/bindings/ipc.ts` is generated from these declarations
//! (`UPDATE_BINDINGS=1 cargo test -p schooldesk-app bindings`); a test fails while the
//! committed file is stale. The rows are views made for the screen, not the domain types
//! themselves, so the cache's shape can change without breaking the UI.

use schooldesk_domain::{OutboxEntry, OutboxState, Student, System};
use serde::Serialize;
use ts_rs::TS;

/// Where the generated TypeScript is committed, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/bindings/ipc.ts";

/// A school system, by the stable id used in the cache, the CLI and here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum SystemId {
    OmniForge,
    PowerSchool,
    Matrix,
    Hubmis,
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

/// One student as the student list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StudentRow {
    pub system: SystemId,
    /// The name the office knows the system by ("OmniForge SIS").
    pub system_name: String,
    /// The student's id in that system.
    pub source_id: String,
    /// The id shared across systems, used to match the same child.
    pub external_id: Option<String>,
    /// "Given Family", as it is read out.
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub grade: Option<String>,
    pub homeroom: Option<String>,
    pub active: bool,
}

impl From<Student> for StudentRow {
    fn from(s: Student) -> Self {
        StudentRow {
            system: s.source.system.into(),
            system_name: s.source.system.display_name().to_string(),
            name: s.display_name(),
            source_id: s.source.source_id,
            external_id: s.external_id,
            given_name: s.given_name,
            family_name: s.family_name,
            preferred_name: s.preferred_name,
            grade: s.grade,
            homeroom: s.homeroom,
            active: s.active,
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

/// One page of the student list: at most [`STUDENT_PAGE`] rows, and whether more matched.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct StudentList {
    pub students: Vec<StudentRow>,
    /// More students matched than are listed; the person should narrow the search.
    pub more: bool,
}

/// How many students one `list_students` answer carries at most: the demo district (200
/// children, each in up to four systems) fits; a 50,000-student district is searched instead.
pub const STUDENT_PAGE: usize = 1000;

impl StudentList {
    /// From up to `STUDENT_PAGE + 1` students (the extra one only says that more exist).
    pub fn from_students(mut students: Vec<Student>) -> Self {
        let more = students.len() > STUDENT_PAGE;
        students.truncate(STUDENT_PAGE);
        StudentList {
            students: students.into_iter().map(StudentRow::from).collect(),
            more,
        }
    }
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
    /// Today's registers are in the cache: a register can be taken now.
    pub register_ready: bool,
    /// RFC 3339, UTC.
    pub last_sync_at: Option<String>,
    /// RFC 3339, UTC.
    pub next_sync_at: Option<String>,
    /// False while the system does not answer (work continues from the cache).
    pub reachable: bool,
    pub problem: Option<ProblemView>,
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
                    register_ready: s.register_ready,
                    last_sync_at: s.last_sync_at.map(|t| t.to_rfc3339()),
                    next_sync_at: s.next_sync_at.map(|t| t.to_rfc3339()),
                    reachable: s.reachable,
                    problem: s.problem.map(|p| ProblemView {
                        code: p.code,
                        message: p.message,
                        retryable: p.retryable,
                    }),
                })
                .collect(),
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
    push::<StudentRow>(&mut out, &cfg);
    push::<StudentList>(&mut out, &cfg);
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
    out.push_str(&format!(
        "\n/** The events the shell emits (src-tauri/src/ipc.rs `events`). */\nexport const EVENTS = {{ deskChanged: \"{}\", deskActivity: \"{}\", appStatus: \"{}\", updateStatus: \"{}\" }} as const;\n",
        events::DESK_CHANGED,
        events::DESK_ACTIVITY,
        events::APP_STATUS,
        events::UPDATE_STATUS
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
