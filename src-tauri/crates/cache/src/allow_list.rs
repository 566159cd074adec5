//! What of each system's JSON the cache keeps: an allow-list per system and kind of row.
//!
//! Every copied row keeps the JSON its system sent (`source_json`), but only the fields
//! Schooldesk uses: those its connectors read, plus the few read back from the stored JSON.
//! A field a system adds tomorrow is dropped until someone puts it on a list here, so no
//! connector or pull can store a pupil's faith by forgetting to remove it. Nested objects
//! are reduced the same way; a list of objects is reduced element by element.
//!
//! Two kinds of data are kept only when the school turned them on for the connection
//! ([`Sensitive`], from the `connections` table):
//! - learning support (`learning_support_enabled`): HUBmis learning-support records and
//!   reviews (whole rows) and the summary with EHCP flags on each student;
//! - medical alerts (`medical_alerts_enabled`): HUBmis `medical_condition_severity`, kept on
//!   the student's source JSON so the student page can show it ([`medical_alerts`]).
//!
//! Faith, religion and ethnicity are on no list, whatever the options ([`NEVER_KEPT`]).
//!
//! A table with no list here keeps only each row's `id`: a new kind of row must get its list
//! before its JSON is stored.

use rusqlite::{Connection, OptionalExtension};
use schooldesk_domain::{Student, System};
use serde_json::{Map, Value};

use crate::error::Result;

/// The options of a connection that let sensitive data into the cache. Both off unless the
/// school turned them on; a system with no saved connection has both off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sensitive {
    pub learning_support: bool,
    pub medical_alerts: bool,
}

/// Keys never kept at any depth, whatever the options (special-category data the office
/// never needs at the desk).
pub const NEVER_KEPT: &[&str] = &["faith", "religion", "ethnicity", "ethnic_origin"];

/// The kinds of copied row, one per table holding a `source_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    School,
    Student,
    Guardian,
    Section,
    AttendanceMark,
    AttendanceCode,
    Checklist,
    ChecklistEntry,
    EnrollmentRecord,
    Document,
    LearningSupportRecord,
    LearningSupportReview,
    Grade,
}

impl RowKind {
    pub const ALL: [RowKind; 13] = [
        RowKind::School,
        RowKind::Student,
        RowKind::Guardian,
        RowKind::Section,
        RowKind::AttendanceMark,
        RowKind::AttendanceCode,
        RowKind::Checklist,
        RowKind::ChecklistEntry,
        RowKind::EnrollmentRecord,
        RowKind::Document,
        RowKind::LearningSupportRecord,
        RowKind::LearningSupportReview,
        RowKind::Grade,
    ];

    pub fn table(self) -> &'static str {
        match self {
            RowKind::School => "schools",
            RowKind::Student => "students",
            RowKind::Guardian => "guardians",
            RowKind::Section => "sections",
            RowKind::AttendanceMark => "attendance_marks",
            RowKind::AttendanceCode => "attendance_codes",
            RowKind::Checklist => "checklists",
            RowKind::ChecklistEntry => "checklist_entries",
            RowKind::EnrollmentRecord => "enrollment_records",
            RowKind::Document => "documents",
            RowKind::LearningSupportRecord => "learning_support_records",
            RowKind::LearningSupportReview => "learning_support_reviews",
            RowKind::Grade => "grades",
        }
    }

    pub fn of_table(table: &str) -> Option<RowKind> {
        RowKind::ALL.into_iter().find(|k| k.table() == table)
    }

    /// What a whole row of this kind needs to be stored at all.
    fn needs(self) -> Need {
        match self {
            RowKind::LearningSupportRecord | RowKind::LearningSupportReview => {
                Need::LearningSupport
            }
            _ => Need::Always,
        }
    }

    /// Whether rows of this kind may be stored under `options`.
    pub fn allowed(self, options: Sensitive) -> bool {
        self.needs().met(options)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Always,
    LearningSupport,
    MedicalAlerts,
}

impl Need {
    fn met(self, o: Sensitive) -> bool {
        match self {
            Need::Always => true,
            Need::LearningSupport => o.learning_support,
            Need::MedicalAlerts => o.medical_alerts,
        }
    }
}

#[derive(Debug)]
enum Shape {
    /// A scalar, or a list of scalars; an object here is dropped.
    Scalar,
    /// An object reduced to these fields (a list: each element reduced; a scalar kept).
    Fields(&'static [Field]),
    /// Kept whole, less [`NEVER_KEPT`] keys: for data whose shape the system does not
    /// document and which is kept only by the school's choice (medical conditions).
    Whole,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    need: Need,
    shape: Shape,
}

const fn keep(name: &'static str) -> Field {
    Field {
        name,
        need: Need::Always,
        shape: Shape::Scalar,
    }
}

const fn nested(name: &'static str, fields: &'static [Field]) -> Field {
    Field {
        name,
        need: Need::Always,
        shape: Shape::Fields(fields),
    }
}

const fn only(need: Need, field: Field) -> Field {
    Field {
        name: field.name,
        need,
        shape: field.shape,
    }
}

const ID_ONLY: &[Field] = &[keep("id")];

/// A mark's list: `$field`s, then the fields of a mark taken at this desk (the body queued
/// for the system), kept on every system's marks until the system's own version replaces it.
macro_rules! mark_fields {
    ($($field:expr),* $(,)?) => {
        &[
            $($field,)*
            keep("studentId"),
            keep("sectionId"),
            keep("period"),
            keep("date"),
            keep("status"),
            keep("code"),
            keep("note"),
            keep("baseVersion"),
        ]
    };
}

mod omniforge {
    use super::*;

    pub const SCHOOL: &[Field] = &[keep("id"), keep("name"), keep("code")];
    // Aliases the connector accepts are kept too: whichever spelling the district's server
    // uses is the one read again.
    pub const STUDENT: &[Field] = &[
        keep("id"),
        keep("personType"),
        keep("firstName"),
        keep("givenName"),
        keep("lastName"),
        keep("familyName"),
        keep("preferredName"),
        keep("dateOfBirth"),
        keep("birthDate"),
        keep("externalId"),
        keep("externalStudentId"),
        keep("studentNumber"),
        keep("gradeLevel"),
        keep("grade"),
        keep("organizationId"),
        keep("schoolId"),
        keep("homeroomId"),
        keep("homeroomSectionId"),
        keep("status"),
        keep("active"),
        keep("updatedAt"),
    ];
    pub const GUARDIAN: &[Field] = &[
        keep("id"),
        keep("personType"),
        keep("firstName"),
        keep("givenName"),
        keep("lastName"),
        keep("familyName"),
        keep("preferredName"),
        keep("email"),
        keep("phone"),
        keep("status"),
        keep("active"),
        keep("updatedAt"),
    ];
    pub const SECTION: &[Field] = &[
        keep("id"),
        keep("organizationId"),
        keep("name"),
        keep("code"),
    ];
    pub const MARK: &[Field] = mark_fields!(keep("id"), keep("version"), keep("updatedAt"));
}

mod matrix {
    use super::*;

    pub const SCHOOL: &[Field] = &[keep("id"), keep("name"), keep("description")];
    pub const STUDENT: &[Field] = &[
        keep("id"),
        keep("first_name"),
        keep("last_name"),
        keep("nick_name"),
        keep("student"),
        keep("teacher"),
        keep("parent"),
        keep("student_id"),
        keep("birthdate"),
        keep("organization_id"),
        keep("year_of_graduation"),
        keep("grade_level"),
        keep("grade"),
        keep("archived"),
        nested("parent_ids", ID_ONLY),
    ];
    pub const GUARDIAN: &[Field] = &[
        keep("id"),
        keep("first_name"),
        keep("last_name"),
        keep("nick_name"),
        keep("email"),
        keep("phone"),
        keep("student"),
        keep("teacher"),
        keep("parent"),
        keep("archived"),
        nested("children_ids", ID_ONLY),
    ];
    pub const SECTION: &[Field] = &[
        keep("id"),
        keep("name"),
        keep("course_code"),
        keep("section_code"),
        keep("organization_id"),
        keep("archived"),
        keep("start"),
        keep("finish"),
    ];
    const RECORD: &[Field] = &[
        keep("student_id"),
        keep("status"),
        keep("details"),
        keep("excused"),
        keep("note"),
    ];
    pub const MARK: &[Field] = mark_fields!(
        keep("class_id"),
        keep("started_at"),
        nested("record", RECORD),
    );
    pub const GRADE: &[Field] = &[
        keep("id"),
        keep("grade"),
        keep("score"),
        keep("points"),
        keep("percent"),
    ];
}

mod powerschool {
    use super::*;

    pub const ENROLLMENT_RECORD: &[Field] = &[
        keep("id"),
        keep("status"),
        keep("firstName"),
        keep("lastName"),
        keep("dateOfBirth"),
        keep("externalStudentID"),
        keep("grade"),
        keep("school"),
        keep("enrollStatus"),
    ];
    const CHECKLIST_ITEM: &[Field] =
        &[keep("id"), keep("name"), keep("itemType"), keep("required")];
    pub const CHECKLIST: &[Field] = &[
        keep("id"),
        keep("title"),
        keep("academicYear"),
        nested("items", CHECKLIST_ITEM),
    ];
    const ENTRY_ITEM: &[Field] = &[
        keep("checklistItemID"),
        keep("status"),
        keep("dateCompleted"),
        keep("documentObjectId"),
    ];
    pub const CHECKLIST_ENTRY: &[Field] = &[
        keep("entry"),
        keep("externalStudentID"),
        nested("item", ENTRY_ITEM),
    ];
    // `externalStudentID` names the folder a downloaded document is saved in.
    pub const DOCUMENT: &[Field] = &[
        keep("documentObjectId"),
        keep("checklistItemID"),
        keep("entry"),
        keep("externalStudentID"),
    ];
}

mod hubmis {
    use super::*;

    /// `{id, name}` look-ups embedded in records (form, year group, type, severity, …).
    const NAMED: &[Field] = &[
        keep("id"),
        keep("name"),
        keep("description"),
        keep("title"),
        keep("code"),
    ];
    const SUMMARY: &[Field] = &[
        keep("id"),
        nested("learning_support_type", NAMED),
        nested("severity", NAMED),
        nested("status", NAMED),
        keep("ehcp"),
    ];
    pub const STUDENT: &[Field] = &[
        keep("id"),
        keep("first_name"),
        keep("last_name"),
        keep("preferred_name"),
        keep("date_of_birth"),
        keep("external_id"),
        keep("enrolment_status"),
        nested("form", NAMED),
        nested("year_group", NAMED),
        nested("tutor_group", NAMED),
        nested("section", NAMED),
        only(
            Need::LearningSupport,
            nested("learning_support_record_summary", SUMMARY),
        ),
        only(
            Need::MedicalAlerts,
            Field {
                name: MEDICAL_ALERTS_KEY,
                need: Need::Always,
                shape: Shape::Whole,
            },
        ),
    ];
    const PHONE: &[Field] = &[keep("number"), keep("is_primary")];
    pub const GUARDIAN: &[Field] = &[
        keep("id"),
        keep("first_name"),
        keep("last_name"),
        keep("primary_email"),
        keep("email"),
        nested("phones", PHONE),
    ];
    pub const SCHOOL: &[Field] = &[keep("id"), keep("name"), keep("code")];
    pub const SECTION: &[Field] = &[keep("id"), keep("name"), keep("code")];
    pub const ATTENDANCE_CODE: &[Field] = &[
        keep("id"),
        keep("code"),
        keep("name"),
        keep("description"),
        keep("statistical_meaning"),
    ];
    pub const MARK: &[Field] = mark_fields!(
        keep("id"),
        keep("date"),
        keep("date_time"),
        keep("attendance_session"),
        nested("attendance_code", ATTENDANCE_CODE),
        keep("description"),
        keep("minutes_late"),
        nested("student", ID_ONLY),
    );
    pub const LEARNING_SUPPORT_RECORD: &[Field] = &[
        keep("id"),
        keep("description"),
        nested("learning_support_type", NAMED),
        nested("severity", NAMED),
        nested("status", NAMED),
        nested("student", ID_ONLY),
        keep("student_id"),
        keep("ehcp"),
        keep("ehcp_date"),
        // Learning support screen: since when, and whether the record is closed.
        keep("learning_support_date"),
        keep("inactive_date"),
    ];
    pub const LEARNING_SUPPORT_REVIEW: &[Field] = &[
        keep("id"),
        nested("review_type", NAMED),
        keep("review_date_time"),
        // Learning support screen: when the next review is due, and whether this one is
        // still scheduled, so an overdue review can be flagged.
        keep("next_review"),
        nested("review_status", NAMED),
        keep("agreed_actions"),
        keep("description"),
        keep("learning_support_record_id"),
        nested("student", ID_ONLY),
    ];
}

/// Where a HUBmis student's medical conditions are kept (when medical alerts are on): this
/// key of the student's source JSON, as HUBmis sends it.
pub const MEDICAL_ALERTS_KEY: &str = "medical_condition_severity";

fn fields(system: System, kind: RowKind) -> &'static [Field] {
    use RowKind as K;
    match (system, kind) {
        (System::OmniForge, K::School) => omniforge::SCHOOL,
        (System::OmniForge, K::Student) => omniforge::STUDENT,
        (System::OmniForge, K::Guardian) => omniforge::GUARDIAN,
        (System::OmniForge, K::Section) => omniforge::SECTION,
        (System::OmniForge, K::AttendanceMark) => omniforge::MARK,
        (System::Matrix, K::School) => matrix::SCHOOL,
        (System::Matrix, K::Student) => matrix::STUDENT,
        (System::Matrix, K::Guardian) => matrix::GUARDIAN,
        (System::Matrix, K::Section) => matrix::SECTION,
        (System::Matrix, K::AttendanceMark) => matrix::MARK,
        (System::Matrix, K::Grade) => matrix::GRADE,
        (System::PowerSchool, K::EnrollmentRecord) => powerschool::ENROLLMENT_RECORD,
        (System::PowerSchool, K::Checklist) => powerschool::CHECKLIST,
        (System::PowerSchool, K::ChecklistEntry) => powerschool::CHECKLIST_ENTRY,
        (System::PowerSchool, K::Document) => powerschool::DOCUMENT,
        (System::Hubmis, K::School) => hubmis::SCHOOL,
        (System::Hubmis, K::Student) => hubmis::STUDENT,
        (System::Hubmis, K::Guardian) => hubmis::GUARDIAN,
        (System::Hubmis, K::Section) => hubmis::SECTION,
        (System::Hubmis, K::AttendanceCode) => hubmis::ATTENDANCE_CODE,
        (System::Hubmis, K::AttendanceMark) => hubmis::MARK,
        (System::Hubmis, K::LearningSupportRecord) => hubmis::LEARNING_SUPPORT_RECORD,
        (System::Hubmis, K::LearningSupportReview) => hubmis::LEARNING_SUPPORT_REVIEW,
        _ => ID_ONLY,
    }
}

/// `raw` reduced to what the cache keeps of a `kind` row from `system` under `options`. Pulls
/// that compare what they fetched with what is stored compare this, not the raw reply.
pub fn minimise(system: System, kind: RowKind, raw: &Value, options: Sensitive) -> Value {
    let mut out = reduce(&Shape::Fields(fields(system, kind)), raw, options);
    schooldesk_domain::strip_never_stored(&mut out);
    out
}

/// The same, for a table named by its SQL name (a table with no list keeps only `id`).
pub(crate) fn minimise_for_table(
    system: System,
    table: &str,
    raw: &Value,
    options: Sensitive,
) -> Value {
    match RowKind::of_table(table) {
        Some(kind) => minimise(system, kind, raw, options),
        None => {
            let mut out = reduce(&Shape::Fields(ID_ONLY), raw, options);
            schooldesk_domain::strip_never_stored(&mut out);
            out
        }
    }
}

fn reduce(shape: &Shape, value: &Value, options: Sensitive) -> Value {
    match (shape, value) {
        (Shape::Scalar, Value::Object(_)) => Value::Null,
        (Shape::Scalar, Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter(|v| !matches!(v, Value::Object(_) | Value::Array(_)))
                .cloned()
                .collect(),
        ),
        (Shape::Fields(fields), Value::Object(map)) => {
            let mut out = Map::new();
            for f in fields.iter().filter(|f| f.need.met(options)) {
                if let Some(v) = map.get(f.name) {
                    out.insert(f.name.to_string(), reduce(&f.shape, v, options));
                }
            }
            Value::Object(out)
        }
        (Shape::Fields(_), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| reduce(shape, v, options)).collect())
        }
        (Shape::Whole, v) => {
            let mut v = v.clone();
            strip_never_kept(&mut v);
            v
        }
        (_, scalar) => scalar.clone(),
    }
}

fn strip_never_kept(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !NEVER_KEPT.iter().any(|f| k.eq_ignore_ascii_case(f)));
            map.values_mut().for_each(strip_never_kept);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_never_kept),
        _ => {}
    }
}

/// Whether any field of the list depends on an option (then stored rows must be reduced
/// again when the option is turned off).
fn depends_on_options(fields: &[Field]) -> bool {
    fields.iter().any(|f| {
        f.need != Need::Always
            || matches!(f.shape, Shape::Fields(inner) if depends_on_options(inner))
    })
}

/// The HUBmis medical conditions kept on a student (medical alerts on), for the student page.
pub fn medical_alerts(student: &Student) -> Option<&Value> {
    student
        .source
        .raw
        .get(MEDICAL_ALERTS_KEY)
        .filter(|v| !v.is_null())
}

/// The sensitive options saved for `system` (both off when it has no connection).
pub(crate) fn options_of(conn: &Connection, system: System) -> Result<Sensitive> {
    Ok(conn
        .prepare_cached(
            "SELECT learning_support_enabled, medical_alerts_enabled FROM connections \
             WHERE system = ?1",
        )?
        .query_row([system.as_str()], |r| {
            Ok(Sensitive {
                learning_support: r.get(0)?,
                medical_alerts: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// Options looked up once per system for a batch of rows.
#[derive(Default)]
pub(crate) struct OptionsBySystem(Vec<(System, Sensitive)>);

impl OptionsBySystem {
    pub(crate) fn get(&mut self, conn: &Connection, system: System) -> Result<Sensitive> {
        if let Some((_, o)) = self.0.iter().find(|(s, _)| *s == system) {
            return Ok(*o);
        }
        let o = options_of(conn, system)?;
        self.0.push((system, o));
        Ok(o)
    }
}

/// Makes what the cache holds for `system` match `options`: rows of kinds no longer allowed
/// are deleted, rows whose list depends on an option are reduced again. Returns how many
/// rows were deleted or changed. Call it in the transaction that saved the options.
pub(crate) fn apply_to_stored(
    conn: &Connection,
    system: System,
    options: Sensitive,
) -> Result<usize> {
    let mut touched = 0;
    for kind in RowKind::ALL {
        let table = kind.table();
        if !kind.allowed(options) {
            touched += conn.execute(
                &format!("DELETE FROM {table} WHERE system = ?1"),
                [system.as_str()],
            )?;
            continue;
        }
        if !depends_on_options(fields(system, kind)) {
            continue;
        }
        let rows: Vec<(i64, String)> = {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT id, source_json FROM {table} WHERE system = ?1"
            ))?;
            let rows = stmt.query_map([system.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut update = conn.prepare_cached(&format!(
            "UPDATE {table} SET source_json = ?2 WHERE id = ?1"
        ))?;
        for (id, json) in rows {
            let raw: Value = serde_json::from_str(&json)?;
            let kept = serde_json::to_string(&minimise(system, kind, &raw, options))?;
            if kept != json {
                touched += update.execute((id, kept))?;
            }
        }
    }
    Ok(touched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL_ON: Sensitive = Sensitive {
        learning_support: true,
        medical_alerts: true,
    };

    fn hubmis_pupil() -> Value {
        json!({
            "id": 7, "first_name": "Ann", "last_name": "Lee", "external_id": "X1",
            "faith": {"id": 3, "name": "Quaker"},
            "ethnicity": {"id": 9, "name": "White British", "code": "WBRI"},
            "religion": "Quaker",
            "access_status": "active", "last_login": "2026-09-01T08:00:00Z",
            "primary_email": "ann@example.org",
            "form": {"id": 40, "code": "7A", "name": "7A", "staff": [{"id": 1, "last_name": "Tutor"}]},
            "learning_support_record_summary": [{"id": 1, "ehcp": true,
                "severity": {"id": 2, "name": "High", "colour": "red"}}],
            "medical_condition_severity": [{"condition": "Epilepsy",
                "note": "rescue medication in office", "faith": "x"}],
        })
    }

    #[test]
    fn a_pupil_keeps_only_listed_fields_and_nested_objects_are_reduced() {
        let kept = minimise(
            System::Hubmis,
            RowKind::Student,
            &hubmis_pupil(),
            Sensitive::default(),
        );
        assert_eq!(
            kept,
            json!({"id": 7, "first_name": "Ann", "last_name": "Lee", "external_id": "X1",
                   "form": {"id": 40, "code": "7A", "name": "7A"}})
        );
    }

    #[test]
    fn learning_support_and_medical_fields_follow_their_own_option() {
        let ls = minimise(
            System::Hubmis,
            RowKind::Student,
            &hubmis_pupil(),
            Sensitive {
                learning_support: true,
                medical_alerts: false,
            },
        );
        assert_eq!(
            ls["learning_support_record_summary"],
            json!([{"id": 1, "ehcp": true, "severity": {"id": 2, "name": "High"}}])
        );
        assert!(ls.get(MEDICAL_ALERTS_KEY).is_none());

        let medical = minimise(
            System::Hubmis,
            RowKind::Student,
            &hubmis_pupil(),
            Sensitive {
                learning_support: false,
                medical_alerts: true,
            },
        );
        assert!(medical.get("learning_support_record_summary").is_none());
        // Kept whole (HUBmis does not document its shape), less faith at any depth.
        assert_eq!(
            medical[MEDICAL_ALERTS_KEY],
            json!([{"condition": "Epilepsy", "note": "rescue medication in office"}])
        );
    }

    #[test]
    fn faith_religion_and_ethnicity_are_never_kept_whatever_the_options() {
        for system in System::ALL {
            for kind in RowKind::ALL {
                let text = minimise(system, kind, &hubmis_pupil(), ALL_ON).to_string();
                for word in ["Quaker", "WBRI", "White British", "faith", "ethnicity"] {
                    assert!(!text.contains(word), "{system} {kind:?}: {text}");
                }
            }
        }
        fn no_forbidden(fields: &[Field]) {
            for f in fields {
                assert!(!NEVER_KEPT.contains(&f.name), "{} is on a list", f.name);
                if let Shape::Fields(inner) = f.shape {
                    no_forbidden(inner);
                }
            }
        }
        for system in System::ALL {
            for kind in RowKind::ALL {
                no_forbidden(fields(system, kind));
            }
        }
    }

    #[test]
    fn learning_support_rows_are_stored_only_when_it_is_on() {
        for kind in [
            RowKind::LearningSupportRecord,
            RowKind::LearningSupportReview,
        ] {
            assert!(!kind.allowed(Sensitive::default()));
            assert!(kind.allowed(Sensitive {
                learning_support: true,
                medical_alerts: false
            }));
        }
        assert!(RowKind::Student.allowed(Sensitive::default()));
    }

    #[test]
    fn matrix_secrets_and_unlisted_fields_go_and_what_the_app_reads_stays() {
        let user = json!({"id": 5, "first_name": "Bo", "password": "hunter2", "ssn": "1",
                          "student_id": "S5", "parent_ids": [9, {"id": 10, "name": "x"}],
                          "address": {"street": "1 Main St"}});
        assert_eq!(
            minimise(System::Matrix, RowKind::Student, &user, ALL_ON),
            json!({"id": 5, "first_name": "Bo", "student_id": "S5",
                   "parent_ids": [9, {"id": 10}]})
        );
        // The document download reads `externalStudentID` back from the stored JSON.
        let doc = json!({"documentObjectId": "o1", "externalStudentID": "S5", "url": "x"});
        assert_eq!(
            minimise(System::PowerSchool, RowKind::Document, &doc, ALL_ON),
            json!({"documentObjectId": "o1", "externalStudentID": "S5"})
        );
    }

    #[test]
    fn a_scalar_field_that_arrives_as_an_object_is_dropped_and_lists_are_reduced() {
        let mark = json!({"id": "m1", "status": {"secret": "x"}, "note": ["a", {"b": 1}]});
        assert_eq!(
            minimise(System::OmniForge, RowKind::AttendanceMark, &mark, ALL_ON),
            json!({"id": "m1", "status": null, "note": ["a"]})
        );
    }

    #[test]
    fn a_table_without_a_list_keeps_only_ids() {
        let raw = json!({"id": 1, "name": "x"});
        assert_eq!(
            minimise_for_table(System::Matrix, "new_table", &raw, ALL_ON),
            json!({"id": 1})
        );
        assert_eq!(
            minimise(System::OmniForge, RowKind::Grade, &raw, ALL_ON),
            json!({"id": 1})
        );
    }

    #[test]
    fn only_hubmis_students_depend_on_options() {
        for system in System::ALL {
            for kind in RowKind::ALL {
                assert_eq!(
                    depends_on_options(fields(system, kind)),
                    system == System::Hubmis && kind == RowKind::Student,
                    "{system} {kind:?}"
                );
            }
        }
    }
}
