//! The Classes screen's commands (Matrix LMS class work): the classes, one class's page, and
//! the two writes made there — roster changes and grades. Each is a one-line adapter over
//! `schooldesk_sync::classes`, which checks everything against the cache before anything is
//! queued; the outbox sends it (once) when Matrix answers.
//!
//! The types below cross to the UI; their TypeScript is generated into `ui/src/bindings/ipc.ts`
//! with the rest of the surface (`ipc::typescript_bindings`).

use chrono::Utc;
use schooldesk_sync::classes::{self as core, RosterAction};
use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;

use crate::error::AppError;
use crate::ipc::{OutboxRow, OutboxStateId};
use crate::Shell;

/// A Matrix class in the class picker (`list_classes`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ClassOption {
    /// `matrix:<class id>`: what `class_page`, `class_change` and `set_grade` take.
    pub id: String,
    pub name: String,
    /// Course and section code, when Matrix gives them.
    pub code: Option<String>,
    pub school: Option<String>,
    /// The teacher, when the cache holds them (null until Matrix's teachers are synced).
    pub teacher: Option<String>,
    /// Students on the roster as last synced.
    #[ts(type = "number")]
    pub students: u64,
    pub archived: bool,
}

impl From<core::ClassInfo> for ClassOption {
    fn from(c: core::ClassInfo) -> Self {
        ClassOption {
            id: c.id,
            name: c.name,
            code: c.code,
            school: c.school,
            teacher: c.teacher,
            students: c.students,
            archived: c.archived,
        }
    }
}

/// Enrol (`add`) or unenrol (`remove`) students.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum RosterChangeKind {
    Add,
    Remove,
}

impl From<RosterChangeKind> for RosterAction {
    fn from(k: RosterChangeKind) -> Self {
        match k {
            RosterChangeKind::Add => RosterAction::Add,
            RosterChangeKind::Remove => RosterAction::Remove,
        }
    }
}

impl From<RosterAction> for RosterChangeKind {
    fn from(a: RosterAction) -> Self {
        match a {
            RosterAction::Add => RosterChangeKind::Add,
            RosterAction::Remove => RosterChangeKind::Remove,
        }
    }
}

/// A queued write beside a roster row or a grade: its outbox entry and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct QueuedWriteView {
    /// The outbox entry (`#/outbox/<id>` shows its receipt; a conflict is settled there).
    #[ts(type = "number")]
    pub outbox_id: i64,
    /// `pending`/`sending`/`held`: not sent yet; `done`: sent; `conflict`, `failed`: waiting
    /// for a person in the Outbox.
    pub state: OutboxStateId,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

impl From<core::QueuedChange> for QueuedWriteView {
    fn from(c: core::QueuedChange) -> Self {
        QueuedWriteView {
            outbox_id: c.outbox_id,
            state: c.state.into(),
            last_error: c.last_error,
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// An assignment of the class (a column of the grade grid).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AssignmentView {
    /// Matrix's assignment id: what `set_grade` takes.
    pub id: String,
    /// "Assignment 2000001", until Matrix's assignment names are synced.
    pub label: String,
    /// The most points it is marked out of, when Matrix says.
    pub points: Option<f64>,
    /// Students with a grade for it.
    #[ts(type = "number")]
    pub graded: u64,
}

/// One student's grade for one assignment.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct GradeCellView {
    pub assignment: String,
    /// Matrix's grade as last synced.
    pub grade: Option<String>,
    /// The points score as last synced.
    pub score: Option<String>,
    /// The newest grade queued for this cell, while it is shown (see `change`).
    pub queued: Option<String>,
    pub change: Option<QueuedWriteView>,
}

/// One child on the class roster, or being added to it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ClassMemberView {
    /// The person id (`#/student/<person>`); also what `class_change` and `set_grade` take.
    pub person: String,
    /// Matrix's user id.
    pub user_id: String,
    pub name: String,
    pub grade_level: Option<String>,
    /// On the roster as last synced.
    pub on_roster: bool,
    /// The roster change queued for this child, while it is shown.
    pub roster_change: Option<RosterChangeKind>,
    pub roster_write: Option<QueuedWriteView>,
    /// One per assignment of the page, in its order.
    pub grades: Vec<GradeCellView>,
}

/// One Matrix class (`class_page`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ClassPageView {
    pub class: ClassOption,
    pub assignments: Vec<AssignmentView>,
    /// By family then given name.
    pub members: Vec<ClassMemberView>,
    /// When the roster was last read from Matrix (RFC 3339, UTC).
    pub roster_as_of: Option<String>,
}

impl From<core::ClassPage> for ClassPageView {
    fn from(p: core::ClassPage) -> Self {
        ClassPageView {
            class: p.class.into(),
            assignments: p
                .assignments
                .into_iter()
                .map(|a| AssignmentView {
                    label: format!("Assignment {}", a.id),
                    id: a.id,
                    points: a.points,
                    graded: a.graded,
                })
                .collect(),
            members: p
                .members
                .into_iter()
                .map(|m| ClassMemberView {
                    person: m.person,
                    user_id: m.user_id,
                    name: m.name,
                    grade_level: m.grade_level,
                    on_roster: m.on_roster,
                    roster_change: m.roster_change.as_ref().map(|c| c.action.into()),
                    roster_write: m.roster_change.map(|c| c.change.into()),
                    grades: m
                        .grades
                        .into_iter()
                        .map(|g| GradeCellView {
                            assignment: g.assignment,
                            grade: g.grade,
                            score: g.score,
                            queued: g.queued,
                            change: g.change.map(Into::into),
                        })
                        .collect(),
                })
                .collect(),
            roster_as_of: p.roster_as_of.map(|t| t.to_rfc3339()),
        }
    }
}

/// Every Matrix class in the cache, by name, with its school and roster size.
#[tauri::command]
pub async fn list_classes(shell: State<'_, Shell>) -> Result<Vec<ClassOption>, AppError> {
    shell
        .read(|desk| desk.matrix_classes())
        .await
        .map(|list| list.into_iter().map(ClassOption::from).collect())
}

/// One class: its roster with the changes queued for it, its assignments and grades.
#[tauri::command]
pub async fn class_page(
    shell: State<'_, Shell>,
    class_id: String,
) -> Result<ClassPageView, AppError> {
    shell
        .read(move |desk| desk.class_page(&class_id))
        .await
        .map(ClassPageView::from)
}

/// Queues adding or removing students (person ids or Matrix user ids), checked first.
#[tauri::command]
pub async fn class_change(
    shell: State<'_, Shell>,
    class_id: String,
    action: RosterChangeKind,
    students: Vec<String>,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            let entry = desk.class_change(
                &class_id,
                action.into(),
                &students,
                Utc::now(),
                uuid::Uuid::new_v4(),
            )?;
            Ok(OutboxRow::named(desk, entry))
        })
        .await
}

/// Queues one student's grade for one assignment, checked first.
#[tauri::command]
pub async fn set_grade(
    shell: State<'_, Shell>,
    class_id: String,
    assignment: String,
    student: String,
    grade: String,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            let entry = desk.class_grade(
                &class_id,
                &assignment,
                &student,
                &grade,
                Utc::now(),
                uuid::Uuid::new_v4(),
            )?;
            Ok(OutboxRow::named(desk, entry))
        })
        .await
}
