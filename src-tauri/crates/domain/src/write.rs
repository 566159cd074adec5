//! The writes Schooldesk queues, one typed value per system and operation, from the moment a
//! person makes one to the moment its system confirms it. The cache stores a [`Write`] as
//! JSON and hands it back unchanged; only the connectors turn it into a request.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::{AttendanceStatus, Operation, System};

/// Matrix `update_user` attributes people may change through Schooldesk: the documented user
/// info fields that are not read-only. `password` and `ssn` are never among them.
pub const MATRIX_USER_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "userid",
    "email",
    "sms_email",
    "year_of_graduation",
    "student_id",
    "teacher_id",
    "organization_id",
    "birthdate",
    "nick_name",
    "skype",
    "phone",
    "gender",
    "street_1",
    "street_2",
    "city",
    "state",
    "zip",
    "country",
    "job_title_id",
];

/// One attendance mark for OmniForge `POST /attendance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkWrite {
    pub student_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub date: NaiveDate,
    pub status: AttendanceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Kept with the mark; OmniForge's body has no field for it, so it goes out in the note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes_late: Option<u32>,
    /// The server's version of this mark the desk last saw; `None` when the desk has no copy
    /// (the connector then reads the server's mark before writing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<i64>,
}

/// Every write, per system and operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Write {
    /// OmniForge: one attendance mark.
    Mark(MarkWrite),
    /// PowerSchool: create or update one roster record through an import schema.
    ImportRosterRecord {
        action_id: String,
        schema_id: String,
        /// Field name → value, exactly the schema's fields.
        record: BTreeMap<String, String>,
    },
    /// PowerSchool: one family's form submitted on their behalf.
    SubmitForm {
        action_id: String,
        /// Field name → value (`dataItems`).
        data_items: BTreeMap<String, String>,
    },
    /// PowerSchool: fetch the next delivery batch (records leave the delivery pool).
    CreateBatch { target_id: String },
    /// PowerSchool: put a delivered batch's records back in the pool.
    ResetBatch { target_id: String, batch_id: String },
    /// Matrix: change a user's attributes ("set to").
    UpdateUser {
        /// Matrix's `id` of the user.
        user_id: String,
        /// How `update_user` finds the user (`userid` or `student_id`) and the value it had
        /// when the write was made.
        match_field: String,
        match_value: String,
        /// Attribute → new value.
        set: BTreeMap<String, String>,
        /// Attribute → the value the desk held when the write was made (absent: unknown).
        #[serde(default)]
        seen: BTreeMap<String, String>,
    },
    /// Matrix: enrol students in a class.
    AddStudents {
        class_id: String,
        student_ids: Vec<String>,
    },
    /// Matrix: unenrol students from a class.
    RemoveStudents {
        class_id: String,
        student_ids: Vec<String>,
    },
    /// Matrix: one student's grade for one assignment ("set to").
    SetGrade {
        class_id: String,
        assignment_id: String,
        student_id: String,
        grade: String,
        /// The grade the desk held when the write was made (`None`: none, or unknown).
        #[serde(default)]
        seen: Option<String>,
    },
}

impl Write {
    pub fn operation(&self) -> Operation {
        match self {
            Write::Mark(_) => Operation::SubmitAttendance,
            Write::ImportRosterRecord { .. } => Operation::ImportRosterRecord,
            Write::SubmitForm { .. } => Operation::SubmitForm,
            Write::CreateBatch { .. } => Operation::CreateBatch,
            Write::ResetBatch { .. } => Operation::ResetBatch,
            Write::UpdateUser { .. } => Operation::UpdateUser,
            Write::AddStudents { .. } => Operation::AddStudentsToClass,
            Write::RemoveStudents { .. } => Operation::RemoveStudentsFromClass,
            Write::SetGrade { .. } => Operation::SetGrades,
        }
    }

    pub fn system(&self) -> System {
        self.operation().system()
    }

    /// What the write is about: writes with the same key reach the system strictly in the
    /// order they were made. Submissions are each their own thing (`key` makes them unique).
    pub fn entity_key(&self, key: Uuid) -> String {
        match self {
            Write::Mark(m) => mark_entity_key(
                &m.student_id,
                m.section_id.as_deref(),
                m.period.as_deref(),
                m.date,
            ),
            Write::ImportRosterRecord {
                action_id, record, ..
            } => format!(
                "powerschool:roster:{action_id}:{}",
                record
                    .get("stu_ExternalID")
                    .map(String::as_str)
                    .unwrap_or("")
            ),
            Write::SubmitForm { action_id, .. } => {
                format!("powerschool:submission:{action_id}:{key}")
            }
            // A reset and the next fetch for one target must not overtake each other.
            Write::CreateBatch { target_id } | Write::ResetBatch { target_id, .. } => {
                format!("powerschool:target:{target_id}")
            }
            Write::UpdateUser { user_id, .. } => format!("matrix:user:{user_id}"),
            Write::AddStudents { class_id, .. } | Write::RemoveStudents { class_id, .. } => {
                format!("matrix:class:{class_id}")
            }
            Write::SetGrade {
                assignment_id,
                student_id,
                ..
            } => format!("matrix:grade:{assignment_id}:{student_id}"),
        }
    }

    /// One line for a person: what this write does (students by their ids).
    pub fn describe(&self) -> String {
        self.describe_with(|_| None)
    }

    /// One line for a person, each student named by `name_of(id)` where it knows them.
    pub fn describe_with(&self, name_of: impl Fn(&str) -> Option<String>) -> String {
        let who = |id: &str| name_of(id).unwrap_or_else(|| id.to_string());
        let everyone = |ids: &[String]| ids.iter().map(|id| who(id)).collect::<Vec<_>>().join(", ");
        match self {
            Write::Mark(m) => {
                let mut s = format!("{} {} on {}", who(&m.student_id), m.status, m.date);
                if let Some(sec) = &m.section_id {
                    s.push_str(&format!(" in {sec}"));
                }
                if let Some(p) = &m.period {
                    s.push_str(&format!(" period {p}"));
                }
                if let Some(c) = &m.code {
                    s.push_str(&format!(" (code {c})"));
                }
                if let Some(n) = m.minutes_late {
                    s.push_str(&format!(", {n} min late"));
                }
                s
            }
            Write::ImportRosterRecord {
                action_id,
                schema_id,
                record,
            } => format!(
                "import roster record {} into action {action_id} (schema {schema_id})",
                record
                    .get("stu_ExternalID")
                    .map(String::as_str)
                    .unwrap_or("?")
            ),
            Write::SubmitForm {
                action_id,
                data_items,
            } => format!(
                "submit a form for {} {} to action {action_id}",
                data_items
                    .get("stu_FirstName")
                    .map(String::as_str)
                    .unwrap_or(""),
                data_items
                    .get("stu_LastName")
                    .map(String::as_str)
                    .unwrap_or("")
            ),
            Write::CreateBatch { target_id } => {
                format!("fetch the next delivery batch for target {target_id}")
            }
            Write::ResetBatch {
                target_id,
                batch_id,
            } => format!("reset delivery batch {batch_id} of target {target_id}"),
            Write::UpdateUser { user_id, set, .. } => format!(
                "update user {user_id}: {}",
                set.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Write::AddStudents {
                class_id,
                student_ids,
            } => format!("add {} to class {class_id}", everyone(student_ids)),
            Write::RemoveStudents {
                class_id,
                student_ids,
            } => format!("remove {} from class {class_id}", everyone(student_ids)),
            Write::SetGrade {
                assignment_id,
                student_id,
                grade,
                ..
            } => format!(
                "grade {grade} for {} on assignment {assignment_id}",
                who(student_id)
            ),
        }
    }
}

/// The entity key of one attendance mark.
pub fn mark_entity_key(
    student: &str,
    section: Option<&str>,
    period: Option<&str>,
    date: NaiveDate,
) -> String {
    format!(
        "attendance:{student}:{}:{}:{date}",
        section.unwrap_or(""),
        period.unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_round_trip_as_json_and_name_their_system() {
        let w = Write::SetGrade {
            class_id: "c1".into(),
            assignment_id: "a1".into(),
            student_id: "u1".into(),
            grade: "B".into(),
            seen: Some("C".into()),
        };
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["kind"], "set_grade");
        assert_eq!(serde_json::from_value::<Write>(json).unwrap(), w);
        assert_eq!(w.system(), System::Matrix);
        assert_eq!(w.entity_key(Uuid::nil()), "matrix:grade:a1:u1");
    }

    #[test]
    fn submissions_are_each_their_own_entity() {
        let w = Write::SubmitForm {
            action_id: "102".into(),
            data_items: BTreeMap::new(),
        };
        assert_ne!(
            w.entity_key(Uuid::from_u128(1)),
            w.entity_key(Uuid::from_u128(2))
        );
    }
}
