use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

use crate::System;

/// Where a cached row came from: every row keeps its source system, its id there, when it
/// was fetched and the source JSON (with never-stored fields removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub system: System,
    pub source_id: String,
    pub fetched_at: DateTime<Utc>,
    pub raw: Value,
}

impl Source {
    /// Builds a source reference, removing never-stored fields from `raw` on the way in.
    pub fn new(
        system: System,
        source_id: impl Into<String>,
        fetched_at: DateTime<Utc>,
        mut raw: Value,
    ) -> Self {
        crate::strip_never_stored(&mut raw);
        Source {
            system,
            source_id: source_id.into(),
            fetched_at,
            raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct School {
    pub source: Source,
    pub name: String,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Student {
    pub source: Source,
    /// The id shared across systems (PowerSchool `externalStudentID`, Matrix `student_id`,
    /// HUBmis `external_id`, OmniForge person id), used to match the same child.
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub grade: Option<String>,
    pub school_source_id: Option<String>,
    /// Homeroom / tutor group / form.
    pub homeroom: Option<String>,
    pub active: bool,
}

impl Student {
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// A parent, carer or emergency contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Guardian {
    pub source: Source,
    pub given_name: String,
    pub family_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The link between a student and a guardian, with what the guardian may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentGuardian {
    pub system: System,
    pub student_source_id: String,
    pub guardian_source_id: String,
    pub relationship: Option<String>,
    pub is_primary: bool,
    pub can_pick_up: Option<bool>,
    pub emergency_contact: Option<bool>,
}

/// A taught class, homeroom or tutor group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub source: Source,
    pub school_source_id: Option<String>,
    pub name: String,
    pub code: Option<String>,
}

/// One roster row: a student enrolled in a section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enrollment {
    pub system: System,
    pub student_source_id: String,
    pub section_source_id: String,
    pub grade_level: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub fetched_at: DateTime<Utc>,
}

/// The attendance statuses Schooldesk records; each system's own vocabulary maps onto these,
/// and its original code is kept beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttendanceStatus {
    Present,
    Absent,
    Tardy,
    Excused,
}

impl AttendanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttendanceStatus::Present => "present",
            AttendanceStatus::Absent => "absent",
            AttendanceStatus::Tardy => "tardy",
            AttendanceStatus::Excused => "excused",
        }
    }
}

impl fmt::Display for AttendanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown attendance status '{0}': expected present, absent, tardy or excused")]
pub struct UnknownStatus(pub String);

impl FromStr for AttendanceStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "present" => Ok(AttendanceStatus::Present),
            "absent" => Ok(AttendanceStatus::Absent),
            "tardy" | "late" => Ok(AttendanceStatus::Tardy),
            "excused" => Ok(AttendanceStatus::Excused),
            _ => Err(UnknownStatus(s.to_string())),
        }
    }
}

/// Whether a mark is the system's truth or a local change still in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkState {
    Synced,
    Pending,
    Conflict,
    /// Kept locally only: the system takes no writes (HUBmis); exported as a register.
    LocalOnly,
}

impl MarkState {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkState::Synced => "synced",
            MarkState::Pending => "pending",
            MarkState::Conflict => "conflict",
            MarkState::LocalOnly => "local_only",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "synced" => MarkState::Synced,
            "pending" => MarkState::Pending,
            "conflict" => MarkState::Conflict,
            "local_only" => MarkState::LocalOnly,
            _ => return None,
        })
    }
}

/// One student's attendance for one date (and period or AM/PM session).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceMark {
    pub source: Source,
    pub student_source_id: String,
    pub section_source_id: Option<String>,
    /// Period, or `am`/`pm` for UK sessions.
    pub period: Option<String>,
    pub date: NaiveDate,
    pub status: AttendanceStatus,
    /// The system's own code ("/", "L", "OnTime", …).
    pub code: Option<String>,
    pub note: Option<String>,
    /// Minutes late or early, where the system records them.
    pub minutes: Option<i64>,
    /// The server's version of the mark, for conflict detection on writes.
    pub version: Option<i64>,
    pub state: MarkState,
}

/// A school's attendance code (UK "/" present AM, "L" late, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttendanceCode {
    pub source: Source,
    pub code: String,
    pub description: String,
    pub status: Option<AttendanceStatus>,
}

/// A list of documents or steps each family must complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checklist {
    pub source: Source,
    pub name: String,
    pub items: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub source_id: String,
    pub name: String,
    pub required: bool,
}

/// One family's progress on one checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChecklistEntry {
    pub source: Source,
    pub checklist_source_id: String,
    pub item_source_id: String,
    /// The roster or submission record the entry belongs to.
    pub record_source_id: Option<String>,
    pub external_student_id: Option<String>,
    pub completed: bool,
    pub date_completed: Option<NaiveDate>,
}

/// Whether an enrollment record is a pre-registration (roster) or a family's submitted form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnrollmentRecordKind {
    Roster,
    Submission,
}

impl EnrollmentRecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentRecordKind::Roster => "roster",
            EnrollmentRecordKind::Submission => "submission",
        }
    }
}

/// A PowerSchool Enrollment roster record or submission record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentRecord {
    pub source: Source,
    pub kind: EnrollmentRecordKind,
    pub published_action_id: Option<String>,
    pub external_student_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub grade: Option<String>,
    pub status: Option<String>,
}

/// A document attached to an enrollment record (birth certificate, proof of address, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub source: Source,
    pub record_source_id: Option<String>,
    pub name: String,
    pub content_type: Option<String>,
    /// The file itself, once downloaded into the cache.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub content: Option<Vec<u8>>,
}

/// A learning-support (SEN) record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningSupportRecord {
    pub source: Source,
    pub student_source_id: String,
    pub support_type: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningSupportReview {
    pub source: Source,
    pub record_source_id: Option<String>,
    pub student_source_id: Option<String>,
    pub review_type: Option<String>,
    pub review_date: Option<NaiveDate>,
    pub outcome: Option<String>,
}

/// One score for one assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub source: Source,
    pub student_source_id: String,
    pub section_source_id: String,
    pub assignment: String,
    pub score: Option<String>,
    pub max_score: Option<String>,
}

/// Who made a write, so every window can show the truth and replay can be told from the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A person at this desk (a mark, a connection, a resolved conflict).
    User,
    /// A sync storing what a system said.
    Sync,
    /// The outbox being sent.
    Replay,
    /// Another process on the same cache (the CLI while the app is open).
    OtherProcess,
}

/// A field on which two systems disagree about the same child (matched by external id),
/// listed for a person to review — never silently merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disagreement {
    pub external_id: String,
    pub field: String,
    pub values: Vec<(System, String)>,
}
