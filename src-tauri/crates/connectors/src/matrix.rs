//! Matrix LMS API 1.0: every call is `GET {base}/api/{function}?api_key=…`, array arguments as
//! `name[]=v`, 100 results a page. Over 120 calls a minute disables the key for a minute, so
//! the client paces itself well below (see [`crate::connection::default_limits`]).
//!
//! The key travels in the query string: it is added at the last moment by [`Http`], never
//! appears in a [`Call`], and is scrubbed from every error and log line.
//!
//! User info carries `password` and `ssn`. The wire types here have no such fields and the raw
//! JSON is stripped of them as it is decoded ([`Reply::json`]), so they are never stored.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, Enrollment, Grade, Guardian, MarkState, School, Section,
    Source, Student, StudentGuardian, System, Write, MATRIX_USER_FIELDS,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::error::{AuthProblem, ConnectorError, ReplyProblem};
use crate::http::{items, Auth, Call, Http, Item, Reply, Retry};
use crate::redact::Secret;
use crate::routes::Route;
use crate::wire::{normalise_grade, opt_string, parse_date, string};
use crate::{SendOutcome, Settled};

const SYSTEM: System = System::Matrix;

/// Every Matrix function Schooldesk calls.
pub struct Routes {
    pub prefix: &'static str,
    pub get_version: Route,
    pub get_all_users: Route,
    pub get_users_with_ids: Route,
    pub get_all_organizations: Route,
    pub get_all_classes: Route,
    pub get_students_for_class: Route,
    pub get_teachers_for_class: Route,
    pub get_attendance: Route,
    pub get_all_attendance: Route,
    pub get_grades_for_class: Route,
    pub update_user: Route,
    pub add_students_to_class: Route,
    pub remove_students_from_class: Route,
    pub set_grades_for_assignment: Route,
}

pub const ROUTES: Routes = Routes {
    prefix: "/api",
    get_version: Route::get("get_version", "/get_version"),
    get_all_users: Route::get("get_all_users", "/get_all_users"),
    get_users_with_ids: Route::get("get_users_with_ids", "/get_users_with_ids"),
    get_all_organizations: Route::get("get_all_organizations", "/get_all_organizations"),
    get_all_classes: Route::get("get_all_classes", "/get_all_classes"),
    get_students_for_class: Route::get("get_students_for_class", "/get_students_for_class"),
    get_teachers_for_class: Route::get("get_teachers_for_class", "/get_teachers_for_class"),
    get_attendance: Route::get("get_attendance", "/get_attendance"),
    get_all_attendance: Route::get("get_all_attendance", "/get_all_attendance"),
    get_grades_for_class: Route::get("get_grades_for_class", "/get_grades_for_class"),
    // Writes are GETs too, as the document has it.
    update_user: Route::get("update_user", "/update_user"),
    add_students_to_class: Route::get("add_students_to_class", "/add_students_to_class"),
    remove_students_from_class: Route::get(
        "remove_students_from_class",
        "/remove_students_from_class",
    ),
    set_grades_for_assignment: Route::get(
        "set_grades_for_assignment",
        "/set_grades_for_assignment",
    ),
};

/// Fields Schooldesk never holds, so never sends either.
const NEVER_SENT: &[&str] = &["password", "ssn"];

/// Paginated functions serve this many results a page.
pub const PAGE_SIZE: usize = 100;

// ---- wire types ----

/// User info, without `password` and `ssn` (never read, never kept).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct User {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub nick_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub student: bool,
    #[serde(default)]
    pub teacher: bool,
    #[serde(default)]
    pub parent: bool,
    #[serde(default, deserialize_with = "opt_string")]
    pub student_id: Option<String>,
    #[serde(default)]
    pub birthdate: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub organization_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub year_of_graduation: Option<String>,
    /// A custom field districts commonly define (`"0"` is kindergarten).
    #[serde(default, alias = "grade", deserialize_with = "opt_string")]
    pub grade_level: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub parent_ids: Vec<Value>,
    #[serde(default)]
    pub children_ids: Vec<Value>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Organization {
    #[serde(deserialize_with = "string")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Class {
    #[serde(deserialize_with = "string")]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub course_code: Option<String>,
    #[serde(default)]
    pub section_code: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub organization_id: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub finish: Option<String>,
}

/// Student info: user info plus enrolment fields.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ClassStudent {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub enrolled_at: Option<String>,
    #[serde(default)]
    pub unenrolled: bool,
    #[serde(default)]
    pub unenrolled_at: Option<String>,
    #[serde(default)]
    pub deactivated: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AttendanceSet {
    pub started_at: String,
    #[serde(default)]
    pub records: Vec<AttendanceRecord>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AttendanceRecord {
    #[serde(deserialize_with = "string")]
    pub student_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub details: Option<String>,
    #[serde(default)]
    pub excused: Option<bool>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GradeInfo {
    #[serde(deserialize_with = "string")]
    pub user_id: String,
    #[serde(default)]
    pub grading_periods: Vec<GradingPeriod>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct GradingPeriod {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub assignments: Vec<AssignmentGrade>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AssignmentGrade {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub grade: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub score: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub points: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub percent: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    message: String,
}

fn is_lockout(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("rate limit") || m.contains("too many") || m.contains("disabled")
}

/// Matrix answers 401 for a bad key and 400 for everything else, with `{"message": …}`.
pub fn classify(system: System, reply: &Reply) -> Option<ConnectorError> {
    let status = reply.status.as_u16();
    if reply.status.is_success() {
        return None;
    }
    let message = serde_json::from_slice::<Message>(&reply.body)
        .map(|m| m.message)
        .unwrap_or_else(|_| reply.text_snippet());
    let detail = format!("HTTP {status}: {message}");
    Some(match status {
        429 => ConnectorError::RateLimited {
            system,
            retry_after: None,
            detail,
        },
        _ if is_lockout(&message) => ConnectorError::RateLimited {
            system,
            retry_after: None,
            detail,
        },
        401 => ConnectorError::Auth {
            system,
            problem: AuthProblem::Unknown,
            detail,
        },
        403 => ConnectorError::Forbidden {
            system,
            ip_not_allowed: false,
            detail,
        },
        404 => ConnectorError::NotFound { system, detail },
        400 if message.to_ascii_lowercase().contains("not found")
            || message.to_ascii_lowercase().contains("no such") =>
        {
            ConnectorError::NotFound { system, detail }
        }
        400 | 422 => ConnectorError::Validation {
            system,
            messages: vec![message],
        },
        _ => ConnectorError::Server {
            system,
            status,
            detail,
        },
    })
}

/// The Matrix LMS client.
#[derive(Debug)]
pub struct Matrix {
    http: Http,
    key: Secret,
}

impl Matrix {
    pub(crate) fn new(http: Http, key: Secret) -> Self {
        Matrix { http, key }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    async fn call(&self, call: Call) -> Result<Value, ConnectorError> {
        let reply = self
            .http
            .send(&call, Auth::QueryKey(&self.key), classify)
            .await?;
        reply.json(SYSTEM)
    }

    fn function(route: &Route) -> Call {
        Call::new(route, route.path.into())
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Vec<Item<T>>, ConnectorError> {
        items(SYSTEM, self.call(call).await?)
    }

    /// `get_version`: the key works.
    pub async fn verify(&self) -> Result<(), ConnectorError> {
        self.call(Self::function(&ROUTES.get_version))
            .await
            .map(|_| ())
    }

    /// One page (from 1) of all users; past the last page, an empty list.
    pub async fn users(&self, page: u32) -> Result<Vec<Item<User>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_all_users).query("page", page.max(1)))
            .await
    }

    pub async fn users_with_ids(&self, ids: &[String]) -> Result<Vec<Item<User>>, ConnectorError> {
        let mut call = Self::function(&ROUTES.get_users_with_ids);
        for id in ids {
            call = call.query("user_ids[]", id);
        }
        self.list(call).await
    }

    pub async fn organizations(
        &self,
        page: u32,
    ) -> Result<Vec<Item<Organization>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_all_organizations).query("page", page.max(1)))
            .await
    }

    pub async fn classes(&self, page: u32) -> Result<Vec<Item<Class>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_all_classes).query("page", page.max(1)))
            .await
    }

    pub async fn students_for_class(
        &self,
        class_id: &str,
    ) -> Result<Vec<Item<ClassStudent>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_students_for_class).query("class_id", class_id))
            .await
    }

    pub async fn teachers_for_class(
        &self,
        class_id: &str,
    ) -> Result<Vec<Item<User>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_teachers_for_class).query("class_id", class_id))
            .await
    }

    /// Attendance of a class on one date: one set of records (the meeting that day).
    pub async fn attendance(
        &self,
        class_id: &str,
        date: NaiveDate,
    ) -> Result<Vec<Item<AttendanceSet>>, ConnectorError> {
        let call = Self::function(&ROUTES.get_attendance)
            .query("class_id", class_id)
            .query("date", date.format("%Y-%m-%d"));
        // One meeting's data is an object; accept a list too, as `get_all_attendance` gives.
        match self.call(call).await? {
            v @ Value::Array(_) => items(SYSTEM, v),
            v => items(SYSTEM, Value::Array(vec![v])),
        }
    }

    pub async fn all_attendance(
        &self,
        class_id: &str,
    ) -> Result<Vec<Item<AttendanceSet>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_all_attendance).query("class_id", class_id))
            .await
    }

    pub async fn grades_for_class(
        &self,
        class_id: &str,
    ) -> Result<Vec<Item<GradeInfo>>, ConnectorError> {
        self.list(Self::function(&ROUTES.get_grades_for_class).query("class_id", class_id))
            .await
    }

    /// The request for a write.
    pub(crate) fn write_call(&self, write: &Write) -> Result<Call, ConnectorError> {
        let call = match write {
            Write::UpdateUser {
                match_field,
                match_value,
                set,
                ..
            } => {
                check_user_update(match_field, match_value, set)?;
                let mut call = Self::function(&ROUTES.update_user).query(match_field, match_value);
                for (k, v) in set {
                    call = call.query(k, v);
                }
                call
            }
            Write::AddStudents {
                class_id,
                student_ids,
            }
            | Write::RemoveStudents {
                class_id,
                student_ids,
            } => {
                let add = matches!(write, Write::AddStudents { .. });
                if student_ids.is_empty() {
                    return Err(payload_error("name at least one student"));
                }
                let route = if add {
                    &ROUTES.add_students_to_class
                } else {
                    &ROUTES.remove_students_from_class
                };
                let mut call = Self::function(route).query("class_id", class_id);
                for id in student_ids {
                    call = call.query("user_ids[]", id);
                }
                if add {
                    // Enrolling someone already in the class is then not an error, so the
                    // same change twice is harmless.
                    call = call.query("ignore_already_enrolled", "true");
                }
                call
            }
            Write::SetGrade {
                assignment_id,
                student_id,
                grade,
                ..
            } => Self::function(&ROUTES.set_grades_for_assignment)
                .query("assignment_id", assignment_id)
                .query("grades[][user_id]", student_id)
                .query("grades[][grade]", grade),
            other => {
                return Err(ConnectorError::Unsupported {
                    system: SYSTEM,
                    operation: other.operation().as_str().to_string(),
                })
            }
        };
        // Matrix's writes are GETs, but not reads: network trouble is never retried here
        // (the outbox settles it by reading first); a 429 or lockout is refused before
        // anything is done and is.
        Ok(call.retry(Retry::OnlyRateLimited))
    }

    pub(crate) async fn send_write(&self, write: &Write) -> Result<SendOutcome, ConnectorError> {
        let call = self.write_call(write)?;
        Ok(SendOutcome::Applied(self.call(call).await?))
    }

    /// After an uncertain outcome: was the write applied? (See the crate's table.)
    pub(crate) async fn settle(&self, write: &Write) -> Result<Settled, ConnectorError> {
        match write {
            Write::UpdateUser {
                user_id, set, seen, ..
            } => {
                let users = self.users_with_ids(std::slice::from_ref(user_id)).await?;
                let Some(user) = users.into_iter().find(|u| u.wire.id == *user_id) else {
                    return Err(ConnectorError::NotFound {
                        system: SYSTEM,
                        detail: format!("user {user_id} is not in Matrix"),
                    });
                };
                let current = |k: &str| text(user.raw.get(k));
                if set.iter().all(|(k, v)| current(k) == v.trim()) {
                    return Ok(Settled::Applied(user.raw));
                }
                let untouched = set.keys().all(|k| match seen.get(k) {
                    Some(was) => current(k) == was.trim(),
                    None => true,
                });
                if untouched {
                    return Ok(Settled::NotApplied);
                }
                Ok(Settled::Conflict(Value::Object(
                    set.keys()
                        .map(|k| (k.clone(), user.raw.get(k).cloned().unwrap_or(Value::Null)))
                        .collect(),
                )))
            }
            Write::AddStudents {
                class_id,
                student_ids,
            }
            | Write::RemoveStudents {
                class_id,
                student_ids,
            } => {
                let add = matches!(write, Write::AddStudents { .. });
                let roster = self.students_for_class(class_id).await?;
                let enrolled = |id: &String| {
                    roster
                        .iter()
                        .any(|s| s.wire.id == *id && !s.wire.unenrolled)
                };
                let done = student_ids.iter().all(|id| enrolled(id) == add);
                Ok(if done {
                    Settled::Applied(serde_json::json!({
                        "class_id": class_id,
                        "user_ids": student_ids,
                    }))
                } else {
                    Settled::NotApplied
                })
            }
            Write::SetGrade {
                class_id,
                assignment_id,
                student_id,
                grade,
                seen,
            } => {
                let grades = self.grades_for_class(class_id).await?;
                let server = grades
                    .iter()
                    .filter(|g| g.wire.user_id == *student_id)
                    .find_map(|g| assignment_raw(&g.raw, assignment_id));
                let server_grade = server
                    .as_ref()
                    .map(|a| text(a.get("grade")))
                    .filter(|g| !g.is_empty());
                let ours = Some(grade.trim()).filter(|g| !g.is_empty());
                let was = seen.as_deref().map(str::trim).filter(|g| !g.is_empty());
                if server_grade.as_deref() == ours {
                    return Ok(Settled::Applied(server.unwrap_or(Value::Null)));
                }
                if server_grade.as_deref() == was {
                    return Ok(Settled::NotApplied);
                }
                let mut conflict = serde_json::Map::new();
                conflict.insert(
                    "grade".into(),
                    server_grade.map_or(Value::Null, Value::from),
                );
                for (from, to) in [("submitted_at", "at"), ("grader_id", "by")] {
                    if let Some(v) = server.as_ref().and_then(|a| a.get(from)) {
                        if !v.is_null() {
                            conflict.insert(to.into(), v.clone());
                        }
                    }
                }
                Ok(Settled::Conflict(Value::Object(conflict)))
            }
            other => Err(ConnectorError::Unsupported {
                system: SYSTEM,
                operation: other.operation().as_str().to_string(),
            }),
        }
    }
}

/// Checks a user update before it goes out: documented fields only (never `password` or
/// `ssn`), and a way of finding the user that Matrix will actually use.
fn check_user_update(
    match_field: &str,
    match_value: &str,
    set: &BTreeMap<String, String>,
) -> Result<(), ConnectorError> {
    // Matrix finds the user by the first of these it is given.
    const MATCH_ORDER: [&str; 3] = ["userid", "student_id", "teacher_id"];
    let Some(rank) = MATCH_ORDER.iter().position(|f| *f == match_field) else {
        return Err(payload_error(&format!(
            "Matrix finds a user by userid, student_id or teacher_id, not by '{match_field}'"
        )));
    };
    if match_value.trim().is_empty() {
        return Err(payload_error(&format!("the user's {match_field} is empty")));
    }
    if set.is_empty() {
        return Err(payload_error("name at least one field to change"));
    }
    for field in set.keys() {
        if NEVER_SENT.iter().any(|f| field.eq_ignore_ascii_case(f)) {
            return Err(payload_error(&format!(
                "'{field}' is never sent by Schooldesk; change it in Matrix itself"
            )));
        }
        if !MATRIX_USER_FIELDS.contains(&field.as_str()) {
            return Err(payload_error(&format!(
                "'{field}' is not a user field Schooldesk can change (it can change {})",
                MATRIX_USER_FIELDS.join(", ")
            )));
        }
        if let Some(r) = MATCH_ORDER.iter().position(|f| f == field) {
            if r <= rank {
                return Err(payload_error(&format!(
                    "'{field}' cannot be changed in a write that finds the user by {match_field}: Matrix would look the user up by the new value"
                )));
            }
        }
    }
    Ok(())
}

/// A value as text, the way Matrix's arguments carry it (`null` is empty).
fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => other.to_string(),
    }
}

/// One assignment of a student's grade info (`grading_periods[].assignments[]`).
fn assignment_raw(raw: &Value, assignment_id: &str) -> Option<Value> {
    raw.get("grading_periods")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("assignments").and_then(Value::as_array))
        .flatten()
        .find(|a| text(a.get("id")) == assignment_id.trim())
        .cloned()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn payload_error(detail: &str) -> ConnectorError {
    ConnectorError::Validation {
        system: SYSTEM,
        messages: vec![detail.to_string()],
    }
}

// ---- mapping to the domain model ----

pub fn to_school(item: &Item<Organization>, fetched_at: DateTime<Utc>) -> School {
    School {
        source: Source::new(SYSTEM, &item.wire.id, fetched_at, item.raw.clone()),
        name: item.wire.name.clone(),
        code: None,
    }
}

/// The grade a student is in, from the year they graduate (grade 12 graduates the summer the
/// school year ends).
pub fn grade_from_graduation(year_of_graduation: &str, school_year_end: i32) -> Option<String> {
    let yog: i32 = year_of_graduation.trim().parse().ok()?;
    let grade = 12 - (yog - school_year_end);
    (0..=12)
        .contains(&grade)
        .then(|| normalise_grade(&grade.to_string()))?
}

pub fn to_student(item: &Item<User>, fetched_at: DateTime<Utc>, school_year_end: i32) -> Student {
    let u = &item.wire;
    Student {
        source: Source::new(SYSTEM, &u.id, fetched_at, item.raw.clone()),
        external_id: u.student_id.clone().filter(|s| !s.is_empty()),
        given_name: u.first_name.clone().unwrap_or_default(),
        family_name: u.last_name.clone().unwrap_or_default(),
        preferred_name: u.nick_name.clone().filter(|s| !s.is_empty()),
        date_of_birth: u.birthdate.as_deref().and_then(parse_date),
        grade: u
            .grade_level
            .as_deref()
            .and_then(normalise_grade)
            .or_else(|| {
                u.year_of_graduation
                    .as_deref()
                    .and_then(|y| grade_from_graduation(y, school_year_end))
            }),
        school_source_id: u.organization_id.clone(),
        homeroom: None,
        active: !u.archived,
    }
}

pub fn to_guardian(item: &Item<User>, fetched_at: DateTime<Utc>) -> Guardian {
    let u = &item.wire;
    Guardian {
        source: Source::new(SYSTEM, &u.id, fetched_at, item.raw.clone()),
        given_name: u.first_name.clone().unwrap_or_default(),
        family_name: u.last_name.clone().unwrap_or_default(),
        phone: u.phone.clone(),
        email: u.email.clone(),
    }
}

/// Parent links, from a student's `parent_ids`.
pub fn to_student_guardians(item: &Item<User>) -> Vec<StudentGuardian> {
    item.wire
        .parent_ids
        .iter()
        .enumerate()
        .map(|(i, p)| StudentGuardian {
            system: SYSTEM,
            student_source_id: item.wire.id.clone(),
            guardian_source_id: scalar(p),
            relationship: None,
            is_primary: i == 0,
            can_pick_up: None,
            emergency_contact: None,
        })
        .collect()
}

pub fn to_section(item: &Item<Class>, fetched_at: DateTime<Utc>) -> Section {
    let c = &item.wire;
    Section {
        source: Source::new(SYSTEM, &c.id, fetched_at, item.raw.clone()),
        school_source_id: c.organization_id.clone(),
        name: c.name.clone(),
        code: c.section_code.clone().or_else(|| c.course_code.clone()),
    }
}

pub fn to_enrollment(
    class_id: &str,
    item: &Item<ClassStudent>,
    fetched_at: DateTime<Utc>,
) -> Option<Enrollment> {
    let s = &item.wire;
    if s.unenrolled {
        return None;
    }
    Some(Enrollment {
        system: SYSTEM,
        student_source_id: s.id.clone(),
        section_source_id: class_id.to_string(),
        grade_level: None,
        start_date: s.enrolled_at.as_deref().and_then(parse_date),
        end_date: s.unenrolled_at.as_deref().and_then(parse_date),
        fetched_at,
    })
}

/// Matrix's statuses in Schooldesk's terms; the original stays in `code`.
pub fn status_of(status: &str) -> Option<AttendanceStatus> {
    Some(match status {
        "OnTime" | "Early" => AttendanceStatus::Present,
        "Late" => AttendanceStatus::Tardy,
        "Absent" | "NoExcuse" => AttendanceStatus::Absent,
        "Excuse" => AttendanceStatus::Excused,
        _ => return None,
    })
}

pub fn to_marks(
    class_id: &str,
    item: &Item<AttendanceSet>,
    fetched_at: DateTime<Utc>,
) -> Result<Vec<AttendanceMark>, ConnectorError> {
    let set = &item.wire;
    let date = parse_date(&set.started_at).ok_or_else(|| ConnectorError::BadReply {
        system: SYSTEM,
        kind: ReplyProblem::Malformed,
        detail: format!("attendance started_at '{}' is not a time", set.started_at),
    })?;
    let period = set
        .started_at
        .get(11..16)
        .map(str::to_string)
        .filter(|s| s.contains(':'));
    let raw_records = item.raw.get("records").and_then(Value::as_array);
    Ok(set
        .records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let code = r.status.clone()?;
            let mut status = status_of(&code)?;
            if r.excused == Some(true) && status == AttendanceStatus::Absent {
                status = AttendanceStatus::Excused;
            }
            let raw = raw_records
                .and_then(|list| list.get(i))
                .cloned()
                .unwrap_or(Value::Null);
            Some(AttendanceMark {
                source: Source::new(
                    SYSTEM,
                    format!("{class_id}:{}:{}", set.started_at, r.student_id),
                    fetched_at,
                    serde_json::json!({"class_id": class_id, "started_at": set.started_at, "record": raw}),
                ),
                student_source_id: r.student_id.clone(),
                section_source_id: Some(class_id.to_string()),
                period: period.clone(),
                date,
                status,
                code: Some(code),
                note: r.note.clone().filter(|n| !n.is_empty()),
                minutes: r.details.as_deref().and_then(|d| d.trim().parse().ok()),
                version: None,
                state: MarkState::Synced,
            })
        })
        .collect())
}

pub fn to_grades(class_id: &str, item: &Item<GradeInfo>, fetched_at: DateTime<Utc>) -> Vec<Grade> {
    let g = &item.wire;
    g.grading_periods
        .iter()
        .flat_map(|p| p.assignments.iter())
        .map(|a| Grade {
            source: Source::new(
                SYSTEM,
                format!("{class_id}:{}:{}", a.id, g.user_id),
                fetched_at,
                serde_json::to_value(AssignmentRaw::from(a)).unwrap_or(Value::Null),
            ),
            student_source_id: g.user_id.clone(),
            section_source_id: class_id.to_string(),
            assignment: a.id.clone(),
            score: a.score.clone().or_else(|| a.grade.clone()),
            max_score: a.points.clone(),
        })
        .collect()
}

#[derive(serde::Serialize)]
struct AssignmentRaw<'a> {
    id: &'a str,
    grade: Option<&'a str>,
    score: Option<&'a str>,
    points: Option<&'a str>,
    percent: Option<&'a str>,
}

impl<'a> From<&'a AssignmentGrade> for AssignmentRaw<'a> {
    fn from(a: &'a AssignmentGrade) -> Self {
        AssignmentRaw {
            id: &a.id,
            grade: a.grade.as_deref(),
            score: a.score.as_deref(),
            points: a.points.as_deref(),
            percent: a.percent.as_deref(),
        }
    }
}
