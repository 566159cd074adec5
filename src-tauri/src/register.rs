//! The Register screen's commands: the sections a register can be taken for, one register
//! (a section on a date, and an AM/PM session for HUBmis), taking a mark, and marking the rest
//! present. Each is a one-line adapter over `schooldesk_sync::register`, which checks every
//! input and saves through the one path marks take (`Desk::mark_attendance`).

use chrono::Utc;
use schooldesk_domain::AttendanceStatus;
use schooldesk_export::audit::signed_in_user;
use schooldesk_sync::register::{self as core, LineState, RegisterMark};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;
use uuid::Uuid;

use crate::error::AppError;
use crate::ipc::SectionOption;
use crate::Shell;

/// A mark's meaning, as the register keys name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum MarkStatus {
    Present,
    Absent,
    Late,
    Excused,
}

impl From<AttendanceStatus> for MarkStatus {
    fn from(s: AttendanceStatus) -> Self {
        match s {
            AttendanceStatus::Present => MarkStatus::Present,
            AttendanceStatus::Absent => MarkStatus::Absent,
            AttendanceStatus::Tardy => MarkStatus::Late,
            AttendanceStatus::Excused => MarkStatus::Excused,
        }
    }
}

/// Where one pupil's mark stands (see `schooldesk_sync::register::LineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum RegisterState {
    Unmarked,
    Pending,
    Sent,
    Synced,
    Conflict,
    Failed,
    Held,
    Discarded,
    Local,
}

impl From<LineState> for RegisterState {
    fn from(s: LineState) -> Self {
        match s {
            LineState::Unmarked => RegisterState::Unmarked,
            LineState::Pending => RegisterState::Pending,
            LineState::Sent => RegisterState::Sent,
            LineState::Synced => RegisterState::Synced,
            LineState::Conflict => RegisterState::Conflict,
            LineState::Failed => RegisterState::Failed,
            LineState::Held => RegisterState::Held,
            LineState::Discarded => RegisterState::Discarded,
            LineState::Local => RegisterState::Local,
        }
    }
}

/// A school code the register can record.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RegisterCodeView {
    pub code: String,
    pub description: String,
    pub status: Option<MarkStatus>,
}

/// The code each quick key records at this school (null: the status alone).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct QuickCodesView {
    pub present: Option<String>,
    pub absent: Option<String>,
    pub late: Option<String>,
    pub excused: Option<String>,
}

/// One pupil's mark.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RegisterMarkView {
    pub status: MarkStatus,
    pub code: Option<String>,
    pub minutes_late: Option<u32>,
    pub note: Option<String>,
    /// Another period's mark of the day, shown because this register has none of its own.
    pub period: Option<String>,
    pub marked_here: bool,
    /// RFC 3339, UTC: when it was taken here, or when the system last changed it.
    pub marked_at: Option<String>,
    /// This computer's user for a mark taken here; the system's word for a synced one.
    pub marked_by: Option<String>,
    /// The outbox entry of the latest write of this mark (its receipt: `#/outbox/<id>`).
    #[ts(type = "number | null")]
    pub outbox_id: Option<i64>,
    pub last_error: Option<String>,
}

/// One pupil on the register, in roster order.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RegisterRow {
    /// `system:id`, what `take_mark` takes back.
    pub student: String,
    pub name: String,
    pub external_id: Option<String>,
    pub state: RegisterState,
    pub mark: Option<RegisterMarkView>,
}

/// One register: a section's pupils with the day's marks.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RegisterSheet {
    pub section: SectionOption,
    /// YYYY-MM-DD.
    pub date: String,
    /// The school's today, YYYY-MM-DD.
    pub today: String,
    /// `am` / `pm` for a HUBmis session register.
    pub session: Option<String>,
    pub sessions: Vec<String>,
    /// False: the system takes no attendance writes; marks are kept on this computer only.
    pub takes_writes: bool,
    /// False for a day still to come.
    pub can_mark: bool,
    pub codes: Vec<RegisterCodeView>,
    pub quick: QuickCodesView,
    pub rows: Vec<RegisterRow>,
}

/// What "Mark the rest present" did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct RestPresent {
    pub marked: u32,
    pub sheet: RegisterSheet,
}

/// A mark the clerk takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MarkInput {
    pub section: String,
    /// YYYY-MM-DD.
    pub date: String,
    #[serde(default)]
    pub session: Option<String>,
    /// A `RegisterRow.student`.
    pub student: String,
    pub status: MarkStatus,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub minutes_late: Option<u32>,
    #[serde(default)]
    pub note: Option<String>,
}

fn row(line: core::RegisterLine, me: &Option<String>) -> RegisterRow {
    RegisterRow {
        student: line.student,
        name: line.name,
        external_id: line.external_id,
        state: line.state.into(),
        mark: line.mark.map(|m| RegisterMarkView {
            status: m.status.into(),
            code: m.code,
            minutes_late: m.minutes_late,
            note: m.note,
            period: m.period,
            marked_by: if m.marked_here {
                me.clone()
            } else {
                m.marked_by
            },
            marked_here: m.marked_here,
            marked_at: m.marked_at.map(|t| t.to_rfc3339()),
            outbox_id: m.outbox_id,
            last_error: m.last_error,
        }),
    }
}

impl From<core::RegisterSheet> for RegisterSheet {
    fn from(s: core::RegisterSheet) -> Self {
        let me = signed_in_user();
        RegisterSheet {
            section: s.section.into(),
            date: s.date.to_string(),
            today: s.today.to_string(),
            session: s.session,
            sessions: s.sessions,
            takes_writes: s.takes_writes,
            can_mark: s.can_mark,
            codes: s
                .codes
                .into_iter()
                .map(|c| RegisterCodeView {
                    code: c.code,
                    description: c.description,
                    status: c.status.map(Into::into),
                })
                .collect(),
            quick: QuickCodesView {
                present: s.quick.present,
                absent: s.quick.absent,
                late: s.quick.late,
                excused: s.quick.excused,
            },
            rows: s.lines.into_iter().map(|l| row(l, &me)).collect(),
        }
    }
}

fn status_word(s: MarkStatus) -> &'static str {
    match s {
        MarkStatus::Present => "present",
        MarkStatus::Absent => "absent",
        MarkStatus::Late => "late",
        MarkStatus::Excused => "excused",
    }
}

/// The classes, homerooms and tutor groups a register can be taken for, by school.
#[tauri::command]
pub async fn register_sections(shell: State<'_, Shell>) -> Result<Vec<SectionOption>, AppError> {
    shell
        .read(|desk| desk.register_sections())
        .await
        .map(|s| s.into_iter().map(SectionOption::from).collect())
}

/// One register: `date` YYYY-MM-DD (null: the school's today), `session` am/pm for HUBmis.
#[tauri::command]
pub async fn register_sheet(
    shell: State<'_, Shell>,
    section: String,
    date: Option<String>,
    session: Option<String>,
) -> Result<RegisterSheet, AppError> {
    shell
        .read(move |desk| {
            desk.register_sheet(&section, date.as_deref(), session.as_deref(), Utc::now())
        })
        .await
        .map(RegisterSheet::from)
}

/// Takes one mark (saved at once; queued once where the system takes writes).
#[tauri::command]
pub async fn take_mark(shell: State<'_, Shell>, mark: MarkInput) -> Result<RegisterRow, AppError> {
    let me = signed_in_user();
    shell
        .read(move |desk| {
            desk.take_register_mark(
                &RegisterMark {
                    section: mark.section,
                    date: mark.date,
                    session: mark.session,
                    student: mark.student,
                    status: status_word(mark.status).into(),
                    code: mark.code,
                    minutes_late: mark.minutes_late,
                    note: mark.note,
                },
                Utc::now(),
                Uuid::new_v4(),
            )
        })
        .await
        .map(|line| row(line, &me))
}

/// Marks every pupil not yet marked on this register present.
#[tauri::command]
pub async fn mark_rest_present(
    shell: State<'_, Shell>,
    section: String,
    date: String,
    session: Option<String>,
) -> Result<RestPresent, AppError> {
    shell
        .read(move |desk| desk.mark_rest_present(&section, &date, session.as_deref(), Utc::now()))
        .await
        .map(|(sheet, marked)| RestPresent {
            marked: u32::try_from(marked).unwrap_or(u32::MAX),
            sheet: sheet.into(),
        })
}
