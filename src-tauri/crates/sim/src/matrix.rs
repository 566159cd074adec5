//! Matrix LMS "API 1.0": every call is `GET /api/{function}?api_key=…&…`, array arguments as
//! `name[]=v`, JSON replies, 401 `{"message":"Invalid API key"}` for a bad key and 400
//! `{"message":…}` for anything else. Paginated functions answer 100 results a page and an
//! empty array past the last page.
//!
//! Quirks kept on purpose, because the app must cope with them:
//! - over 120 calls in any minute disables the key for a minute (by the [`SimClock`]); the
//!   document calls this a "rate limit exception", so it is a 400 with a message;
//! - user info carries `password` and `ssn`, which the app must drop;
//! - times are `YYYY-MM-DDThh:mmZ` (no seconds), as the document says;
//! - in attendance records `student_id` is the Matrix *user id*, while in user info
//!   `student_id` is the district's student number (`ST000042`);
//! - `add_students_to_class` is all-or-nothing: one bad id and nothing is enrolled; a student
//!   already enrolled is an error unless `ignore_already_enrolled=true`.
//!
//! Users, organizations and classes come from the [`District`] (classes are its taught
//! sections; homerooms are not LMS classes). Assignments, grades and class attendance exist
//! only here and are derived from the district seed.
//!
//! [`SimClock`]: crate::SimClock

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::data::{District, Section};
use crate::{Shared, SystemKind, WriteRecord};

/// How the simulated Matrix site is set up.
#[derive(Clone, Debug)]
pub struct Config {
    /// The administrator's API key, passed as `api_key=` on every call.
    pub api_key: String,
    /// Calls a key may make in any 60 seconds; the next call disables it.
    pub calls_per_minute: usize,
    /// How long a key stays disabled once it went over the limit.
    pub disabled_for: std::time::Duration,
    /// Results per page of paginated functions.
    pub page_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: "23-34-d315a3421".to_string(),
            calls_per_minute: 120,
            disabled_for: std::time::Duration::from_secs(60),
            page_size: 100,
        }
    }
}

const USER_BASE: u64 = 4_100_000;
const ORG_BASE: u64 = 52_000;
const CLASS_BASE: u64 = 810_000;
const ASSIGNMENT_BASE: u64 = 2_000_000;
const SITE: &str = "https://riverside.matrixlms.com";

/// The assignments every class has: name, type, points, days after the school year starts,
/// and whether the district's own roster already has scores for it.
const ASSIGNMENTS: [(&str, &str, f64, i64, bool); 4] = [
    ("Homework 1", "Freeform", 20.0, 14, true),
    ("Quiz 1", "Quiz", 50.0, 42, true),
    ("Project", "Offline", 100.0, 150, true),
    ("Final exam", "Offline", 100.0, 270, false),
];
/// The second grading period starts this many days into the school year.
const SEMESTER_2_DAY: i64 = 133;
const GRADEMAP: [(&str, f64); 5] = [
    ("A", 90.0),
    ("B", 80.0),
    ("C", 70.0),
    ("D", 60.0),
    ("F", 0.0),
];

/// One call's failure: 401 for the key, 400 for everything else (as the document says).
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

type ApiResult = Result<Value, ApiError>;

fn reply(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Matrix's time format: `YYYY-MM-DDThh:mmTZD`, minutes only.
fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%MZ").to_string()
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let t = NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time");
    Utc.from_utc_datetime(&date.and_time(t))
}

/// A stable pseudo-random number for a tuple: same seed, same answer, in any order of calls.
fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed ^ 0x4d41_5452_4958_4c4d; // "MATRIXLM"
    for p in parts {
        h = splitmix(h ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The arguments of one call, in the order sent.
struct Args(Vec<(String, String)>);

impl Args {
    fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.one(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad(format!("Missing argument: {name}")))
    }

    fn id(&self, name: &str) -> Result<u64, ApiError> {
        let v = self.required(name)?;
        v.parse()
            .map_err(|_| ApiError::bad(format!("Argument {name} must be an integer id, not '{v}'")))
    }

    /// An array argument, sent as `name[]=a&name[]=b` (a plain `name=a,b` is accepted too).
    fn ids(&self, name: &str) -> Result<Vec<u64>, ApiError> {
        let key = format!("{name}[]");
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            if *k == key || k == name {
                for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    out.push(part.parse().map_err(|_| {
                        ApiError::bad(format!(
                            "Argument {name} must hold integer ids, not '{part}'"
                        ))
                    })?);
                }
            }
        }
        if out.is_empty() {
            return Err(ApiError::bad(format!("Missing argument: {name}")));
        }
        Ok(out)
    }

    fn flag(&self, name: &str) -> Result<bool, ApiError> {
        let nested = format!("options[{name}]");
        match self.one(name).or_else(|| self.one(&nested)) {
            None => Ok(false),
            Some(v) => parse_bool(v)
                .ok_or_else(|| ApiError::bad(format!("Argument {name} must be true or false"))),
        }
    }

    fn page(&self) -> Result<usize, ApiError> {
        match self.one("page") {
            None => Ok(1),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| ApiError::bad(format!("Invalid page '{v}': pages start at 1"))),
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// Which kind of account a user id belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Admin,
    Staff(usize),
    Student(usize),
    Parent(usize),
}

#[derive(Clone, Debug)]
struct Enrolment {
    enrolled_at: DateTime<Utc>,
    enroll_type: &'static str,
    enrolled_by: u64,
}

#[derive(Clone, Debug, PartialEq)]
struct Grade {
    grade: String,
    score: Option<f64>,
    percent: Option<f64>,
    submitted_at: DateTime<Utc>,
    grader_id: u64,
}

#[derive(Debug, Default)]
struct KeyUse {
    calls: VecDeque<DateTime<Utc>>,
    disabled_until: Option<DateTime<Utc>>,
}

/// What writes change.
#[derive(Debug)]
struct Mutable {
    /// Attributes changed by `update_user`, laid over what the district says.
    overrides: HashMap<u64, Map<String, Value>>,
    by_userid: HashMap<String, u64>,
    by_student_id: HashMap<String, u64>,
    by_teacher_id: HashMap<String, u64>,
    /// Per class (by position): who is enrolled.
    rosters: Vec<BTreeMap<u64, Enrolment>>,
    /// Grades set through the API; `None` is a grade cleared with a blank.
    grades: HashMap<(u64, u64), Option<Grade>>,
    /// Marks a teacher took or changed in the LMS: (class position, day, user id).
    attendance: HashMap<(usize, NaiveDate, u64), TakenMark>,
    keys: HashMap<String, KeyUse>,
}

/// One attendance record as a teacher entered it.
#[derive(Clone, Debug, PartialEq)]
struct TakenMark {
    status: &'static str,
    details: Option<u32>,
    note: Option<String>,
}

struct Lms {
    shared: Shared,
    district: Arc<District>,
    config: Config,
    /// Class position → section index (taught sections only).
    classes: Vec<usize>,
    /// Section index → class position.
    class_of_section: Vec<Option<usize>>,
    state: Mutex<Mutable>,
}

/// Test controls and a view of the simulated site's state.
#[derive(Clone)]
pub struct Admin {
    lms: Arc<Lms>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("matrix::Admin")
            .field("classes", &self.lms.classes.len())
            .field("users", &self.lms.user_count())
            .finish()
    }
}

/// Builds the Matrix simulator: its router (serving `/api/{function}`) and its controls.
pub fn build(shared: Shared, district: Arc<District>, config: Config) -> (Router, Admin) {
    let lms = Arc::new(Lms::new(shared, district, config));
    let router = Router::new()
        .route("/api/{function}", get(call))
        .with_state(lms.clone());
    (router, Admin { lms })
}

impl Admin {
    /// The key the site accepts.
    pub fn api_key(&self) -> String {
        self.lms.config.api_key.clone()
    }

    /// The user id of the administrator account the key belongs to.
    pub fn admin_user_id(&self) -> u64 {
        self.lms.uid(Who::Admin)
    }

    pub fn user_id_of_student(&self, student: usize) -> u64 {
        self.lms.uid(Who::Student(student))
    }

    pub fn user_id_of_staff(&self, staff: usize) -> u64 {
        self.lms.uid(Who::Staff(staff))
    }

    pub fn user_id_of_guardian(&self, guardian: usize) -> u64 {
        self.lms.uid(Who::Parent(guardian))
    }

    pub fn organization_id(&self, school: usize) -> u64 {
        ORG_BASE + school as u64
    }

    /// The Matrix class of a district section; `None` for homerooms, which are not classes.
    pub fn class_id_of_section(&self, section: usize) -> Option<u64> {
        self.lms
            .class_of_section
            .get(section)
            .copied()
            .flatten()
            .map(|p| CLASS_BASE + p as u64)
    }

    /// Every class id, in order.
    pub fn class_ids(&self) -> Vec<u64> {
        (0..self.lms.classes.len())
            .map(|p| CLASS_BASE + p as u64)
            .collect()
    }

    pub fn assignment_ids(&self, class_id: u64) -> Vec<u64> {
        self.lms
            .class_pos(class_id)
            .map(|p| {
                (0..ASSIGNMENTS.len())
                    .map(|k| assignment_id(p, k))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// User ids enrolled in a class now.
    pub fn roster(&self, class_id: u64) -> Vec<u64> {
        let Some(pos) = self.lms.class_pos(class_id) else {
            return Vec::new();
        };
        self.lms.lock().rosters[pos].keys().copied().collect()
    }

    /// The user info the API would send now (password and ssn included).
    pub fn user(&self, user_id: u64) -> Option<Value> {
        let m = self.lms.lock();
        self.lms.user_info(&m, user_id).map(Value::Object)
    }

    /// The grade a user has for an assignment now, as the gradebook shows it.
    pub fn grade(&self, assignment_id: u64, user_id: u64) -> Option<String> {
        let m = self.lms.lock();
        let (pos, k) = self.lms.assignment_pos(assignment_id)?;
        self.lms.grade_of(&m, pos, k, user_id).map(|g| g.grade)
    }

    /// Until when the key is disabled, if it is.
    pub fn disabled_until(&self) -> Option<DateTime<Utc>> {
        let now = self.lms.shared.clock.now();
        self.lms
            .lock()
            .keys
            .get(&self.lms.config.api_key)
            .and_then(|k| k.disabled_until)
            .filter(|until| *until > now)
    }

    /// Calls the key made in the last minute.
    pub fn calls_in_last_minute(&self) -> usize {
        let now = self.lms.shared.clock.now();
        self.lms
            .lock()
            .keys
            .get(&self.lms.config.api_key)
            .map(|k| {
                k.calls
                    .iter()
                    .filter(|t| now - **t < Duration::minutes(1))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Forgets every call counted and re-enables the key.
    pub fn reset_rate_limit(&self) {
        self.lms.lock().keys.clear();
    }

    /// A teacher enrols a student in a class in the LMS (not through the API, so nothing is
    /// recorded as the app's write). False if the class or student is unknown, or the student
    /// is already enrolled.
    pub fn enrol(&self, class_id: u64, user_id: u64) -> bool {
        let (Some(pos), Some(Who::Student(_))) =
            (self.lms.class_pos(class_id), self.lms.who(user_id))
        else {
            return false;
        };
        let now = self.lms.shared.clock.now();
        let teacher = self.lms.uid(Who::Staff(self.lms.section(pos).teacher));
        let mut m = self.lms.lock();
        if m.rosters[pos].contains_key(&user_id) {
            return false;
        }
        m.rosters[pos].insert(
            user_id,
            Enrolment {
                enrolled_at: now,
                enroll_type: "Direct",
                enrolled_by: teacher,
            },
        );
        true
    }

    /// A teacher drops a student from a class in the LMS. False if they were not enrolled.
    pub fn unenrol(&self, class_id: u64, user_id: u64) -> bool {
        let Some(pos) = self.lms.class_pos(class_id) else {
            return false;
        };
        self.lms.lock().rosters[pos].remove(&user_id).is_some()
    }

    /// A teacher takes (or changes) a student's mark for a class's meeting on `day`:
    /// `status` is one of the document's (`OnTime`, `Late`, `Early`, `Absent`, `Excuse`,
    /// `NoExcuse`). The meeting must be a school day of the class; the student must be on
    /// its roster.
    pub fn set_attendance(
        &self,
        class_id: u64,
        day: NaiveDate,
        user_id: u64,
        status: &str,
    ) -> bool {
        const STATUSES: [&str; 6] = ["OnTime", "Late", "Early", "Absent", "Excuse", "NoExcuse"];
        let (Some(pos), Some(status)) = (
            self.lms.class_pos(class_id),
            STATUSES.iter().find(|s| **s == status),
        ) else {
            return false;
        };
        let (_, h, mi) = self.lms.class_period(pos);
        let started = at(day, h, mi);
        if !self.lms.meetings(pos, started).contains(&started) {
            return false;
        }
        let mut m = self.lms.lock();
        if !m.rosters[pos].contains_key(&user_id) {
            return false;
        }
        let details = matches!(*status, "Late" | "Early").then_some(10);
        m.attendance.insert(
            (pos, day, user_id),
            TakenMark {
                status,
                details,
                note: None,
            },
        );
        true
    }

    /// A teacher grades (or regrades) a student's assignment in the gradebook. False if the
    /// assignment is unknown, the student not on the class roster or the grade unreadable.
    pub fn set_grade(&self, assignment_id: u64, user_id: u64, grade: &str) -> bool {
        let Some((pos, k)) = self.lms.assignment_pos(assignment_id) else {
            return false;
        };
        let Some(value) = parse_grade(grade, ASSIGNMENTS[k].2) else {
            return false;
        };
        let now = self.lms.shared.clock.now();
        let teacher = self.lms.uid(Who::Staff(self.lms.section(pos).teacher));
        let mut m = self.lms.lock();
        if !m.rosters[pos].contains_key(&user_id) {
            return false;
        }
        let new = value.map(|(score, percent)| Grade {
            grade: grade.trim().to_string(),
            score,
            percent,
            submitted_at: now,
            grader_id: teacher,
        });
        m.grades.insert((assignment_id, user_id), new);
        true
    }
}

fn assignment_id(class_pos: usize, k: usize) -> u64 {
    ASSIGNMENT_BASE + (class_pos * ASSIGNMENTS.len() + k) as u64
}

impl Lms {
    fn new(shared: Shared, district: Arc<District>, config: Config) -> Lms {
        let mut classes = Vec::new();
        let mut class_of_section = vec![None; district.sections.len()];
        for s in district.sections.iter().filter(|s| !s.is_homeroom) {
            class_of_section[s.index] = Some(classes.len());
            classes.push(s.index);
        }
        let mut lms = Lms {
            shared,
            district,
            config,
            classes,
            class_of_section,
            state: Mutex::new(Mutable {
                overrides: HashMap::new(),
                by_userid: HashMap::new(),
                by_student_id: HashMap::new(),
                by_teacher_id: HashMap::new(),
                rosters: Vec::new(),
                grades: HashMap::new(),
                attendance: HashMap::new(),
                keys: HashMap::new(),
            }),
        };
        let mut m = Mutable {
            overrides: HashMap::new(),
            by_userid: HashMap::with_capacity(lms.user_count()),
            by_student_id: HashMap::with_capacity(lms.district.students.len()),
            by_teacher_id: HashMap::with_capacity(lms.district.staff.len()),
            rosters: Vec::with_capacity(lms.classes.len()),
            grades: HashMap::new(),
            attendance: HashMap::new(),
            keys: HashMap::new(),
        };
        for pos in 0..lms.user_count() {
            let uid = USER_BASE + pos as u64;
            let who = lms.who(uid).expect("user in range");
            m.by_userid.insert(lms.base_userid(who), uid);
        }
        for s in &lms.district.students {
            m.by_student_id
                .insert(s.external_id.clone(), lms.uid(Who::Student(s.index)));
        }
        for s in &lms.district.staff {
            m.by_teacher_id
                .insert(s.external_id.clone(), lms.uid(Who::Staff(s.index)));
        }
        let admin = lms.uid(Who::Admin);
        for &sec in &lms.classes {
            let roster = lms.district.sections[sec]
                .students
                .iter()
                .map(|&i| {
                    let s = &lms.district.students[i];
                    let day = s.enrolled_on.max(lms.district.school_year_start);
                    let e = Enrolment {
                        enrolled_at: at(day, 7, 30),
                        enroll_type: "SIS",
                        enrolled_by: admin,
                    };
                    (lms.uid(Who::Student(i)), e)
                })
                .collect();
            m.rosters.push(roster);
        }
        lms.state = Mutex::new(m);
        lms
    }

    fn lock(&self) -> MutexGuard<'_, Mutable> {
        self.state.lock().expect("matrix state lock")
    }

    fn user_count(&self) -> usize {
        1 + self.district.staff.len() + self.district.students.len() + self.district.guardians.len()
    }

    fn uid(&self, who: Who) -> u64 {
        let d = &self.district;
        let pos = match who {
            Who::Admin => 0,
            Who::Staff(i) => 1 + i,
            Who::Student(i) => 1 + d.staff.len() + i,
            Who::Parent(i) => 1 + d.staff.len() + d.students.len() + i,
        };
        USER_BASE + pos as u64
    }

    fn who(&self, uid: u64) -> Option<Who> {
        let d = &self.district;
        let pos = usize::try_from(uid.checked_sub(USER_BASE)?).ok()?;
        let staff = d.staff.len();
        let students = d.students.len();
        Some(match pos {
            0 => Who::Admin,
            p if p <= staff => Who::Staff(p - 1),
            p if p <= staff + students => Who::Student(p - 1 - staff),
            p if p < self.user_count() => Who::Parent(p - 1 - staff - students),
            _ => return None,
        })
    }

    fn class_pos(&self, class_id: u64) -> Option<usize> {
        let pos = usize::try_from(class_id.checked_sub(CLASS_BASE)?).ok()?;
        (pos < self.classes.len()).then_some(pos)
    }

    fn assignment_pos(&self, assignment_id: u64) -> Option<(usize, usize)> {
        let n = usize::try_from(assignment_id.checked_sub(ASSIGNMENT_BASE)?).ok()?;
        let (pos, k) = (n / ASSIGNMENTS.len(), n % ASSIGNMENTS.len());
        (pos < self.classes.len()).then_some((pos, k))
    }

    fn section(&self, class_pos: usize) -> &Section {
        &self.district.sections[self.classes[class_pos]]
    }

    fn base_userid(&self, who: Who) -> String {
        let d = &self.district;
        match who {
            Who::Admin => format!("api.admin@{}", d.domain),
            Who::Staff(i) => d.staff[i].email.clone(),
            Who::Student(i) => d.students[i].email.clone(),
            Who::Parent(i) => d.guardians[i].email.clone(),
        }
    }

    /// The school year the data lives in, by the clock: Matrix numbers graduation years from it.
    fn year_of_graduation(&self, grade: u8) -> i32 {
        self.district.school_year_start.year() + 1 + (12 - i32::from(grade.min(12)))
    }

    /// User info as the district says, before any `update_user`.
    fn base_user(&self, who: Who, uid: u64) -> Map<String, Value> {
        let d = &self.district;
        let h = mix(d.seed, &[uid]);
        let password = format!(
            "{}{:04}!",
            ["Maple", "Harbor", "Summit", "Cobalt", "Meadow", "Falcon"][(h % 6) as usize],
            (h >> 8) % 10_000
        );
        let ssn = format!(
            "{:03}-{:02}-{:04}",
            100 + (h >> 16) % 800,
            10 + (h >> 28) % 89,
            1000 + (h >> 36) % 9000
        );
        let year_start = d.school_year_start;
        let joined = |day: NaiveDate| time(at(day, 7, 0));
        let mut u = Map::new();
        let (first, last, email, org) = match who {
            Who::Admin => (
                "API".to_string(),
                "Administrator".to_string(),
                format!("api.admin@{}", d.domain),
                None,
            ),
            Who::Staff(i) => {
                let s = &d.staff[i];
                (
                    s.given_name.clone(),
                    s.family_name.clone(),
                    s.email.clone(),
                    Some(s.school),
                )
            }
            Who::Student(i) => {
                let s = &d.students[i];
                (
                    s.given_name.clone(),
                    s.family_name_in(SystemKind::Matrix).to_string(),
                    s.email.clone(),
                    Some(s.school),
                )
            }
            Who::Parent(i) => {
                let g = &d.guardians[i];
                let school = g.students.first().map(|&s| d.students[s].school);
                (
                    g.given_name.clone(),
                    g.family_name.clone(),
                    g.email.clone(),
                    school,
                )
            }
        };
        u.insert("id".into(), json!(uid));
        u.insert("first_name".into(), json!(first));
        u.insert("last_name".into(), json!(last));
        u.insert("userid".into(), json!(self.base_userid(who)));
        u.insert("password".into(), json!(password));
        u.insert("email".into(), json!(email));
        u.insert("sms_email".into(), Value::Null);
        u.insert("student".into(), json!(matches!(who, Who::Student(_))));
        u.insert("teacher".into(), json!(matches!(who, Who::Staff(_))));
        u.insert("assistant".into(), json!(false));
        u.insert("administrator".into(), json!(who == Who::Admin));
        u.insert("monitor".into(), json!(false));
        u.insert("manager".into(), json!(false));
        u.insert("parent".into(), json!(matches!(who, Who::Parent(_))));
        u.insert("year_of_graduation".into(), Value::Null);
        u.insert("student_id".into(), Value::Null);
        u.insert("teacher_id".into(), Value::Null);
        u.insert(
            "organization_id".into(),
            json!(org.map(|o| ORG_BASE + o as u64)),
        );
        u.insert("birthdate".into(), Value::Null);
        u.insert("nick_name".into(), Value::Null);
        u.insert("skype".into(), Value::Null);
        u.insert("phone".into(), Value::Null);
        u.insert("gender".into(), Value::Null);
        u.insert("street_1".into(), Value::Null);
        u.insert("street_2".into(), Value::Null);
        u.insert("city".into(), Value::Null);
        u.insert("state".into(), Value::Null);
        u.insert("zip".into(), Value::Null);
        u.insert("country".into(), Value::Null);
        u.insert(
            "picture".into(),
            json!(format!("{SITE}/images/default_user.png")),
        );
        u.insert(
            "joined_at".into(),
            json!(joined(year_start - Duration::days(30))),
        );
        let logins = (h >> 40) % 300;
        let (first_login, last_login) = if logins == 0 {
            (Value::Null, Value::Null)
        } else {
            (
                json!(joined(year_start + Duration::days(((h >> 12) % 5) as i64))),
                json!(time(at(
                    year_start + Duration::days(20 + ((h >> 20) % 60) as i64),
                    8 + ((h >> 4) % 9) as u32,
                    ((h >> 30) % 60) as u32
                ))),
            )
        };
        u.insert("first_login_at".into(), first_login);
        u.insert("last_login_at".into(), last_login);
        u.insert("logins".into(), json!(logins));
        u.insert("archived".into(), json!(false));
        u.insert("archived_at".into(), Value::Null);
        u.insert("job_title_id".into(), Value::Null);
        u.insert("ssn".into(), json!(ssn));
        match who {
            Who::Admin => {}
            Who::Staff(i) => {
                u.insert("teacher_id".into(), json!(d.staff[i].external_id));
            }
            Who::Student(i) => {
                let s = &d.students[i];
                let grade = s.grade_in(SystemKind::Matrix);
                u.insert("student_id".into(), json!(s.external_id));
                u.insert(
                    "year_of_graduation".into(),
                    json!(self.year_of_graduation(grade)),
                );
                u.insert(
                    "birthdate".into(),
                    json!(s
                        .date_of_birth_in(SystemKind::Matrix)
                        .format("%Y-%m-%d")
                        .to_string()),
                );
                u.insert("nick_name".into(), json!(s.preferred_name));
                u.insert(
                    "gender".into(),
                    json!(match s.gender.as_str() {
                        "M" => Some("Male"),
                        "F" => Some("Female"),
                        _ => None,
                    }),
                );
                u.insert("street_1".into(), json!(s.address.line1));
                u.insert("city".into(), json!(s.address.city));
                u.insert("zip".into(), json!(s.address.postcode));
                u.insert("joined_at".into(), json!(joined(s.enrolled_on)));
                let parents: Vec<u64> = s
                    .guardians
                    .iter()
                    .map(|&g| self.uid(Who::Parent(g)))
                    .collect();
                u.insert("parent_ids".into(), json!(parents));
                // A custom field the district defined.
                u.insert("grade_level".into(), json!(grade.to_string()));
            }
            Who::Parent(i) => {
                let g = &d.guardians[i];
                u.insert("phone".into(), json!(g.phone));
                if let Some(&first) = g.students.first() {
                    let a = &d.students[first].address;
                    u.insert("street_1".into(), json!(a.line1));
                    u.insert("city".into(), json!(a.city));
                    u.insert("zip".into(), json!(a.postcode));
                }
                let children: Vec<u64> = g
                    .students
                    .iter()
                    .map(|&s| self.uid(Who::Student(s)))
                    .collect();
                u.insert("children_ids".into(), json!(children));
                if h.is_multiple_of(2) {
                    u.insert("ssn".into(), Value::Null);
                }
            }
        }
        u
    }

    /// Whether a user has this name and birth date now, without building their whole info.
    fn has_name_and_birthdate(
        &self,
        m: &Mutable,
        uid: u64,
        first: &str,
        last: &str,
        birthdate: &str,
    ) -> bool {
        let d = &self.district;
        let Some(who) = self.who(uid) else {
            return false;
        };
        let (f, l, b): (&str, &str, Option<String>) = match who {
            Who::Admin => ("API", "Administrator", None),
            Who::Staff(i) => (&d.staff[i].given_name, &d.staff[i].family_name, None),
            Who::Student(i) => {
                let s = &d.students[i];
                (
                    &s.given_name,
                    s.family_name_in(SystemKind::Matrix),
                    Some(
                        s.date_of_birth_in(SystemKind::Matrix)
                            .format("%Y-%m-%d")
                            .to_string(),
                    ),
                )
            }
            Who::Parent(i) => (
                &d.guardians[i].given_name,
                &d.guardians[i].family_name,
                None,
            ),
        };
        let o = m.overrides.get(&uid);
        let now = |key: &str, base: Option<&str>| -> bool {
            let want = match key {
                "first_name" => first,
                "last_name" => last,
                _ => birthdate,
            };
            match o.and_then(|o| o.get(key)) {
                Some(v) => v.as_str() == Some(want),
                None => base == Some(want),
            }
        };
        now("first_name", Some(f)) && now("last_name", Some(l)) && now("birthdate", b.as_deref())
    }

    /// User info as the API sends it now: the district's, with updates laid over.
    fn user_info(&self, m: &Mutable, uid: u64) -> Option<Map<String, Value>> {
        let who = self.who(uid)?;
        let mut u = self.base_user(who, uid);
        if let Some(o) = m.overrides.get(&uid) {
            for (k, v) in o {
                u.insert(k.clone(), v.clone());
            }
        }
        Some(u)
    }

    /// Counts a call against the key; `Err` when the key is (or has just become) disabled.
    fn admit(&self, key: &str, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut m = self.lock();
        let usage = m.keys.entry(key.to_string()).or_default();
        let disabled = || {
            ApiError::bad(format!(
                "Rate limit exceeded: more than {} API calls in a minute. API access is disabled for a minute.",
                self.config.calls_per_minute
            ))
        };
        if let Some(until) = usage.disabled_until {
            if now < until {
                return Err(disabled());
            }
            usage.disabled_until = None;
            usage.calls.clear();
        }
        while usage
            .calls
            .front()
            .is_some_and(|t| now - *t >= Duration::minutes(1))
        {
            usage.calls.pop_front();
        }
        if usage.calls.len() >= self.config.calls_per_minute {
            usage.disabled_until = Some(
                now + Duration::from_std(self.config.disabled_for).unwrap_or(Duration::minutes(1)),
            );
            usage.calls.clear();
            return Err(disabled());
        }
        usage.calls.push_back(now);
        Ok(())
    }

    fn page<T: Clone>(&self, items: &[T], page: usize) -> Vec<T> {
        let size = self.config.page_size.max(1);
        items
            .iter()
            .skip((page - 1).saturating_mul(size))
            .take(size)
            .cloned()
            .collect()
    }

    fn record(&self, kind: &str, key: String, body: Value) {
        self.shared.recorder.write(WriteRecord {
            system: SystemKind::Matrix,
            kind: kind.to_string(),
            key: Some(key),
            body,
            at: self.shared.clock.now(),
        });
    }

    // ---- courses ------------------------------------------------------------------------

    fn grademap() -> Value {
        Value::Array(
            GRADEMAP
                .iter()
                .map(|(g, p)| json!({"grade": g, "minimum_percent": p}))
                .collect(),
        )
    }

    fn grading_periods(&self) -> Value {
        let start = self.district.school_year_start;
        json!([
            {"name": "Semester 1", "percent": 50.0, "start": start.format("%Y-%m-%d").to_string()},
            {"name": "Semester 2", "percent": 50.0,
             "start": (start + Duration::days(SEMESTER_2_DAY)).format("%Y-%m-%d").to_string()},
        ])
    }

    /// Period the class meets in (1–6) and its start time.
    fn class_period(&self, pos: usize) -> (u32, u32, u32) {
        let period = (self.classes[pos] % 6) as u32;
        let minutes = 8 * 60 + 30 + period * 55;
        (period + 1, minutes / 60, minutes % 60)
    }

    fn class_info(&self, pos: usize) -> Value {
        let s = self.section(pos);
        let d = &self.district;
        let start = d.school_year_start;
        let finish = start + Duration::days(290);
        let (_, h, mi) = self.class_period(pos);
        let end = h * 60 + mi + 50;
        let course = s.code.split('-').next().unwrap_or(&s.code);
        let times: Vec<Value> = ["Mon", "Tue", "Wed", "Thu", "Fri"]
            .iter()
            .map(|day| {
                json!({"day": day, "from": format!("{h}:{mi:02}"),
                       "to": format!("{}:{:02}", end / 60, end % 60),
                       "location": format!("Room {}", 100 + s.index % 40)})
            })
            .collect();
        json!({
            "id": CLASS_BASE + pos as u64,
            "name": s.name,
            "style": "Instructor",
            "course_code": format!("{course}-{}", s.grade),
            "section_code": s.code,
            "picture": format!("{SITE}/images/default_class.png"),
            "semester": format!("{}/{}", start.year(), (start.year() + 1) % 100),
            "start": start.format("%Y-%m-%d").to_string(),
            "finish": finish.format("%Y-%m-%d").to_string(),
            "class_times": times,
            "weighting_using_categories": false,
            "weighting_style": "Points",
            "display_in_catalog": false,
            "archived": false,
            "catalog_category": null,
            "grademap": Lms::grademap(),
            "grading_periods": self.grading_periods(),
            // Custom fields the district defined on its classes.
            "sis_id": s.uuid,
            "organization_id": ORG_BASE + s.school as u64,
        })
    }

    fn assignment_info(&self, pos: usize, k: usize) -> Value {
        let (name, kind, points, day, _) = ASSIGNMENTS[k];
        let begin = self.district.school_year_start + Duration::days(day);
        json!({
            "id": assignment_id(pos, k),
            "name": name,
            "type": kind,
            "points": points,
            "category": null,
            "grading": "Normal",
            "begin": time(at(begin, 8, 0)),
            "end": time(at(begin + Duration::days(7), 23, 59)),
            "given": true,
            "gateway": false,
            "lesson": null,
        })
    }

    // ---- grades -------------------------------------------------------------------------

    /// The grade a student has for assignment `k` of class `pos`: set through the API, or the
    /// one the district's own roster came with.
    fn grade_of(&self, m: &Mutable, pos: usize, k: usize, uid: u64) -> Option<Grade> {
        if let Some(set) = m.grades.get(&(assignment_id(pos, k), uid)) {
            return set.clone();
        }
        let (_, _, points, day, graded) = ASSIGNMENTS[k];
        let Some(Who::Student(i)) = self.who(uid) else {
            return None;
        };
        if !graded || !self.section(pos).students.contains(&i) {
            return None;
        }
        let h = mix(self.district.seed, &[uid, assignment_id(pos, k)]);
        let percent = 55.0 + (h % 4500) as f64 / 100.0;
        let score = (points * percent / 100.0 * 10.0).round() / 10.0;
        let percent = (score / points * 1000.0).round() / 10.0;
        let teacher = self.uid(Who::Staff(self.section(pos).teacher));
        Some(Grade {
            grade: letter(percent).to_string(),
            score: Some(score),
            percent: Some(percent),
            submitted_at: at(
                self.district.school_year_start + Duration::days(day + 3),
                16,
                (h >> 20) as u32 % 60,
            ),
            grader_id: teacher,
        })
    }

    fn grades_for_student(&self, m: &Mutable, pos: usize, uid: u64) -> Value {
        let semester_2 = self.district.school_year_start + Duration::days(SEMESTER_2_DAY);
        let mut periods = Vec::new();
        let mut all = (0.0, 0.0);
        for (name, in_period) in [("Semester 1", false), ("Semester 2", true)] {
            let mut items = Vec::new();
            let mut sum = (0.0, 0.0);
            for (k, &(_, _, points, day, _)) in ASSIGNMENTS.iter().enumerate() {
                let begin = self.district.school_year_start + Duration::days(day);
                if (begin >= semester_2) != in_period {
                    continue;
                }
                let Some(g) = self.grade_of(m, pos, k, uid) else {
                    continue;
                };
                if let Some(p) = g.percent {
                    sum.0 += p / 100.0 * points;
                    sum.1 += points;
                }
                items.push(json!({
                    "id": assignment_id(pos, k),
                    "percent": g.percent,
                    "grade": g.grade,
                    "score": g.score,
                    "points": points,
                    "comment": null,
                    "submitted_at": time(g.submitted_at),
                    "grader_id": g.grader_id,
                }));
            }
            all.0 += sum.0;
            all.1 += sum.1;
            let percent = (sum.1 > 0.0).then(|| (sum.0 / sum.1 * 1000.0).round() / 10.0);
            periods.push(json!({
                "name": name,
                "percent": percent,
                "grade": percent.map(letter),
                "assignments": items,
            }));
        }
        let percent = (all.1 > 0.0).then(|| (all.0 / all.1 * 1000.0).round() / 10.0);
        json!({
            "user_id": uid,
            "percent": percent,
            "grade": percent.map(letter),
            "grading_periods": periods,
        })
    }

    // ---- attendance ---------------------------------------------------------------------

    /// Class meetings that have started by `now`: school days of the school year.
    fn meetings(&self, pos: usize, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let start = self.district.school_year_start;
        let end = NaiveDate::from_ymd_opt(start.year() + 1, 6, 19).expect("valid date");
        let (_, h, mi) = self.class_period(pos);
        District::school_days(start, end.min(now.date_naive()))
            .into_iter()
            .map(|d| at(d, h, mi))
            .filter(|t| *t <= now)
            .collect()
    }

    fn attendance_data(&self, m: &Mutable, pos: usize, started_at: DateTime<Utc>) -> Value {
        let records: Vec<Value> = m.rosters[pos]
            .iter()
            .filter(|(_, e)| e.enrolled_at.date_naive() <= started_at.date_naive())
            .map(|(&uid, _)| {
                if let Some(t) = m.attendance.get(&(pos, started_at.date_naive(), uid)) {
                    return json!({"student_id": uid, "status": t.status, "details": t.details,
                                  "excused": t.status == "Excuse", "note": t.note});
                }
                let h = mix(
                    self.district.seed,
                    &[uid, CLASS_BASE + pos as u64, started_at.timestamp() as u64],
                );
                let roll = h % 1000;
                let minutes = 1 + (h >> 12) % 25;
                let (status, details, excused, note) = match roll {
                    0..=904 => ("OnTime", Value::Null, false, Value::Null),
                    905..=944 => ("Late", json!(minutes), false, Value::Null),
                    945..=954 => ("Early", json!(minutes), false, json!("Collected early")),
                    955..=974 => ("Absent", Value::Null, false, Value::Null),
                    975..=989 => ("Excuse", Value::Null, true, json!("Parent called")),
                    _ => ("NoExcuse", Value::Null, false, Value::Null),
                };
                json!({"student_id": uid, "status": status, "details": details,
                       "excused": excused, "note": note})
            })
            .collect();
        json!({"started_at": time(started_at), "records": records})
    }

    // ---- functions ----------------------------------------------------------------------

    fn dispatch(&self, function: &str, args: &Args, now: DateTime<Utc>) -> ApiResult {
        match function {
            "get_version" => Ok(json!({"version": 1})),
            "get_my_account" => {
                let m = self.lock();
                Ok(Value::Object(
                    self.user_info(&m, self.uid(Who::Admin))
                        .expect("admin exists"),
                ))
            }
            "get_all_users" => self.get_all_users(args),
            "get_users_with_ids" => self.get_users_with_ids(args),
            "get_all_organizations" => self.get_all_organizations(args),
            "get_all_classes" => self.get_all_classes(args),
            "get_students_for_class" => self.get_students_for_class(args),
            "get_teachers_for_class" => self.get_teachers_for_class(args),
            "get_assignments_for_class" => {
                let pos = self.class_arg(args)?;
                Ok(Value::Array(
                    (0..ASSIGNMENTS.len())
                        .map(|k| self.assignment_info(pos, k))
                        .collect(),
                ))
            }
            "get_attendance" => self.get_attendance(args, now),
            "get_all_attendance" => {
                let pos = self.class_arg(args)?;
                let m = self.lock();
                Ok(Value::Array(
                    self.meetings(pos, now)
                        .into_iter()
                        .map(|t| self.attendance_data(&m, pos, t))
                        .collect(),
                ))
            }
            "get_grades_for_class" => {
                let pos = self.class_arg(args)?;
                let m = self.lock();
                Ok(Value::Array(
                    m.rosters[pos]
                        .keys()
                        .map(|&uid| self.grades_for_student(&m, pos, uid))
                        .collect(),
                ))
            }
            "update_user" => self.update_user(args),
            "add_students_to_class" => self.add_students_to_class(args, now),
            "remove_students_from_class" => self.remove_students_from_class(args),
            "set_grades_for_assignment" => self.set_grades_for_assignment(args, now),
            other => Err(ApiError::bad(format!("Unknown API function '{other}'"))),
        }
    }

    fn class_arg(&self, args: &Args) -> Result<usize, ApiError> {
        let id = args.id("class_id")?;
        self.class_pos(id)
            .ok_or_else(|| ApiError::bad(format!("Class {id} not found")))
    }

    fn get_all_users(&self, args: &Args) -> ApiResult {
        let page = args.page()?;
        let size = self.config.page_size.max(1);
        let m = self.lock();
        let first = (page - 1).saturating_mul(size);
        let users: Vec<Value> = (first..self.user_count().min(first.saturating_add(size)))
            .filter_map(|p| self.user_info(&m, USER_BASE + p as u64))
            .map(Value::Object)
            .collect();
        Ok(Value::Array(users))
    }

    fn get_users_with_ids(&self, args: &Args) -> ApiResult {
        let ids = args.ids("user_ids")?;
        let m = self.lock();
        Ok(Value::Array(
            ids.into_iter()
                .filter_map(|id| self.user_info(&m, id))
                .map(Value::Object)
                .collect(),
        ))
    }

    fn get_all_organizations(&self, args: &Args) -> ApiResult {
        let orgs: Vec<Value> = self
            .district
            .schools
            .iter()
            .map(|s| {
                json!({"id": ORG_BASE + s.index as u64, "name": s.name,
                       "description": format!("School code {}", s.code), "internal": false})
            })
            .collect();
        Ok(Value::Array(self.page(&orgs, args.page()?)))
    }

    fn get_all_classes(&self, args: &Args) -> ApiResult {
        let page = args.page()?;
        let archived = match args.one("archived") {
            None | Some("") => None,
            Some(v) => Some(
                parse_bool(v)
                    .ok_or_else(|| ApiError::bad("Argument archived must be true or false"))?,
            ),
        };
        if archived == Some(true) {
            return Ok(json!([]));
        }
        let size = self.config.page_size.max(1);
        let first = (page - 1).saturating_mul(size);
        Ok(Value::Array(
            (first..self.classes.len().min(first.saturating_add(size)))
                .map(|p| self.class_info(p))
                .collect(),
        ))
    }

    fn get_students_for_class(&self, args: &Args) -> ApiResult {
        let pos = self.class_arg(args)?;
        let m = self.lock();
        let students = m.rosters[pos]
            .iter()
            .filter_map(|(&uid, e)| {
                let mut u = self.user_info(&m, uid)?;
                u.insert("notes".into(), json!([]));
                u.insert("enroll_type".into(), json!(e.enroll_type));
                u.insert("enrolled_at".into(), json!(time(e.enrolled_at)));
                u.insert("enrolled_by_id".into(), json!(e.enrolled_by));
                u.insert(
                    "started_at".into(),
                    json!(time(e.enrolled_at + Duration::hours(1))),
                );
                u.insert(
                    "last_visited_at".into(),
                    json!(time(e.enrolled_at + Duration::days(3))),
                );
                u.insert("time_spent".into(), json!(mix(uid, &[pos as u64]) % 40_000));
                u.insert("completed_at".into(), Value::Null);
                u.insert("unenrolled".into(), json!(false));
                u.insert("unenrolled_at".into(), Value::Null);
                u.insert("unenrolled_by_id".into(), Value::Null);
                u.insert("deactivated".into(), json!(false));
                u.insert("deactivated_at".into(), Value::Null);
                u.insert("reactivated_at".into(), Value::Null);
                u.insert("percent".into(), Value::Null);
                u.insert("grade".into(), Value::Null);
                Some(Value::Object(u))
            })
            .collect();
        Ok(Value::Array(students))
    }

    fn get_teachers_for_class(&self, args: &Args) -> ApiResult {
        let pos = self.class_arg(args)?;
        let m = self.lock();
        let teacher = self.uid(Who::Staff(self.section(pos).teacher));
        let mut u = self.user_info(&m, teacher).expect("teacher exists");
        u.insert("coteacher".into(), json!(false));
        Ok(json!([u]))
    }

    fn get_attendance(&self, args: &Args, now: DateTime<Utc>) -> ApiResult {
        let pos = self.class_arg(args)?;
        let meetings = self.meetings(pos, now);
        let m = self.lock();
        if let Some(v) = args.one("date_and_time").filter(|v| !v.is_empty()) {
            let when = parse_time(v).ok_or_else(|| {
                ApiError::bad(format!(
                    "Argument date_and_time must be YYYY-MM-DDThh:mmTZD, not '{v}'"
                ))
            })?;
            return Ok(match meetings.iter().find(|t| **t == when) {
                Some(t) => self.attendance_data(&m, pos, *t),
                None => json!({"started_at": time(when), "records": []}),
            });
        }
        let v = args
            .one("date")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::bad("Missing argument: date_and_time (or date)"))?;
        let day = NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| ApiError::bad(format!("Argument date must be YYYY-MM-DD, not '{v}'")))?;
        Ok(match meetings.iter().find(|t| t.date_naive() == day) {
            Some(t) => self.attendance_data(&m, pos, *t),
            None => json!({"started_at": time(at(day, 0, 0)), "records": []}),
        })
    }

    fn update_user(&self, args: &Args) -> ApiResult {
        const SETTABLE: &[&str] = &[
            "first_name",
            "last_name",
            "userid",
            "password",
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
            "grade_level",
        ];
        const SPECIAL: &[&str] = &[
            "api_key",
            "api_version",
            "account_types",
            "change_password",
            "update_password",
            "send_login_instructions",
            "from_name",
        ];
        for (k, _) in &args.0 {
            if !SETTABLE.contains(&k.as_str()) && !SPECIAL.contains(&k.as_str()) {
                return Err(ApiError::bad(format!("Unknown user attribute '{k}'")));
            }
        }
        let mut m = self.lock();
        // Matched on userid, student ID, teacher ID, or name and birth date, in that order.
        let (uid, matched_on) = if let Some(v) = args.one("userid") {
            (m.by_userid.get(v).copied(), "userid")
        } else if let Some(v) = args.one("student_id") {
            (m.by_student_id.get(v).copied(), "student_id")
        } else if let Some(v) = args.one("teacher_id") {
            (m.by_teacher_id.get(v).copied(), "teacher_id")
        } else if let (Some(f), Some(l), Some(b)) = (
            args.one("first_name"),
            args.one("last_name"),
            args.one("birthdate"),
        ) {
            let found = (0..self.user_count())
                .map(|p| USER_BASE + p as u64)
                .find(|&uid| self.has_name_and_birthdate(&m, uid, f, l, b));
            (found, "first_name,last_name,birthdate")
        } else {
            return Err(ApiError::bad(
                "Cannot match a user: give userid, student_id, teacher_id, or first_name, last_name and birthdate",
            ));
        };
        let uid =
            uid.ok_or_else(|| ApiError::bad(format!("No user matches the given {matched_on}")))?;
        let current = self.user_info(&m, uid).expect("matched user exists");
        let update_password = args.flag("update_password")?;
        let keys: Vec<&str> = matched_on.split(',').collect();
        let mut changes = Map::new();
        for (k, v) in &args.0 {
            let k = k.as_str();
            if !SETTABLE.contains(&k) || keys.contains(&k) {
                continue;
            }
            if k == "password" && !update_password {
                continue;
            }
            let value = match k {
                "year_of_graduation" | "organization_id" | "job_title_id" => {
                    if v.is_empty() {
                        Value::Null
                    } else {
                        json!(v.parse::<i64>().map_err(|_| ApiError::bad(format!(
                            "Attribute {k} must be a number, not '{v}'"
                        )))?)
                    }
                }
                "birthdate" => {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                        ApiError::bad(format!("Attribute birthdate must be YYYY-MM-DD, not '{v}'"))
                    })?;
                    json!(v)
                }
                "gender" => match v.as_str() {
                    "Male" | "Female" => json!(v),
                    "" => Value::Null,
                    _ => return Err(ApiError::bad("Attribute gender must be Male or Female")),
                },
                _ if v.is_empty() => Value::Null,
                _ => json!(v),
            };
            if current.get(k) != Some(&value) {
                changes.insert(k.to_string(), value);
            }
        }
        for attr in ["userid", "student_id", "teacher_id"] {
            let Some(new) = changes.get(attr) else {
                continue;
            };
            let map = match attr {
                "userid" => &m.by_userid,
                "student_id" => &m.by_student_id,
                _ => &m.by_teacher_id,
            };
            if let Some(other) = new.as_str().and_then(|s| map.get(s)) {
                if *other != uid {
                    return Err(ApiError::bad(format!(
                        "Another user already has {attr} {}",
                        new.as_str().unwrap_or_default()
                    )));
                }
            }
        }
        if !changes.is_empty() {
            for attr in ["userid", "student_id", "teacher_id"] {
                let Some(new) = changes.get(attr) else {
                    continue;
                };
                let map = match attr {
                    "userid" => &mut m.by_userid,
                    "student_id" => &mut m.by_student_id,
                    _ => &mut m.by_teacher_id,
                };
                if let Some(old) = current.get(attr).and_then(Value::as_str) {
                    map.remove(old);
                }
                if let Some(new) = new.as_str() {
                    map.insert(new.to_string(), uid);
                }
            }
            let o = m.overrides.entry(uid).or_default();
            for (k, v) in &changes {
                o.insert(k.clone(), v.clone());
            }
            let mut body = changes.clone();
            if body.contains_key("password") {
                body.insert("password".into(), json!("[changed]"));
            }
            drop(m);
            self.record(
                "user.update",
                uid.to_string(),
                json!({"id": uid, "matched_on": matched_on, "changes": body}),
            );
            let m = self.lock();
            let u = self.user_info(&m, uid).expect("user exists");
            return Ok(json!({"id": uid, "userid": u.get("userid")}));
        }
        Ok(json!({"id": uid, "userid": current.get("userid")}))
    }

    fn add_students_to_class(&self, args: &Args, now: DateTime<Utc>) -> ApiResult {
        let pos = self.class_arg(args)?;
        let ids = args.ids("user_ids")?;
        let ignore_enrolled = args.flag("ignore_already_enrolled")?;
        args.flag("send_notification")?;
        let mut m = self.lock();
        // All or nothing: every id is checked before any is enrolled.
        let mut fresh = Vec::new();
        for &id in &ids {
            match self.who(id) {
                Some(Who::Student(_)) => {}
                Some(_) => return Err(ApiError::bad(format!("User {id} is not a student"))),
                None => return Err(ApiError::bad(format!("User {id} not found"))),
            }
            if m.rosters[pos].contains_key(&id) {
                if !ignore_enrolled {
                    return Err(ApiError::bad(format!(
                        "User {id} is already enrolled in class {}",
                        CLASS_BASE + pos as u64
                    )));
                }
            } else if !fresh.contains(&id) {
                fresh.push(id);
            }
        }
        let admin = self.uid(Who::Admin);
        for &id in &fresh {
            m.rosters[pos].insert(
                id,
                Enrolment {
                    enrolled_at: now,
                    enroll_type: "API",
                    enrolled_by: admin,
                },
            );
        }
        drop(m);
        let class_id = CLASS_BASE + pos as u64;
        if !fresh.is_empty() {
            self.record(
                "class.add_students",
                class_id.to_string(),
                json!({"class_id": class_id, "user_ids": fresh}),
            );
        }
        Ok(json!(fresh.len()))
    }

    fn remove_students_from_class(&self, args: &Args) -> ApiResult {
        let pos = self.class_arg(args)?;
        let ids = args.ids("user_ids")?;
        args.flag("send_notification")?;
        let mut m = self.lock();
        for &id in &ids {
            if self.who(id).is_none() {
                return Err(ApiError::bad(format!("User {id} not found")));
            }
        }
        let removed: Vec<u64> = ids
            .into_iter()
            .filter(|id| m.rosters[pos].remove(id).is_some())
            .collect();
        drop(m);
        let class_id = CLASS_BASE + pos as u64;
        if !removed.is_empty() {
            self.record(
                "class.remove_students",
                class_id.to_string(),
                json!({"class_id": class_id, "user_ids": removed}),
            );
        }
        Ok(json!(removed.len()))
    }

    fn set_grades_for_assignment(&self, args: &Args, now: DateTime<Utc>) -> ApiResult {
        let aid = args.id("assignment_id")?;
        let (pos, k) = self
            .assignment_pos(aid)
            .ok_or_else(|| ApiError::bad(format!("Assignment {aid} not found")))?;
        let entries = grades_arg(args)?;
        let points = ASSIGNMENTS[k].2;
        let mut m = self.lock();
        // Every entry is checked before any grade is stored.
        let mut parsed = Vec::with_capacity(entries.len());
        for (uid, grade) in entries {
            if !m.rosters[pos].contains_key(&uid) {
                return Err(ApiError::bad(format!(
                    "User {uid} is not a student of class {}",
                    CLASS_BASE + pos as u64
                )));
            }
            let value = parse_grade(&grade, points).ok_or_else(|| {
                ApiError::bad(format!(
                    "Invalid grade '{grade}' for user {uid}: use a letter (B+), a number (3.1), a percentage (15%), a blank or X/M/I/AB"
                ))
            })?;
            parsed.push((uid, grade, value));
        }
        let mut applied = Vec::new();
        for (uid, text, value) in parsed {
            let new = value.map(|(score, percent)| Grade {
                grade: text.trim().to_string(),
                score,
                percent,
                submitted_at: now,
                grader_id: self.uid(Who::Admin),
            });
            let old = self.grade_of(&m, pos, k, uid);
            let same = match (&old, &new) {
                (None, None) => true,
                (Some(a), Some(b)) => a.grade == b.grade && a.score == b.score,
                _ => false,
            };
            m.grades.insert((aid, uid), new);
            if !same {
                applied.push(json!({"user_id": uid, "grade": text.trim()}));
            }
        }
        let count = applied.len();
        drop(m);
        if count > 0 {
            self.record(
                "grades.set",
                aid.to_string(),
                json!({"assignment_id": aid, "grades": applied}),
            );
        }
        Ok(json!(count))
    }
}

fn letter(percent: f64) -> &'static str {
    GRADEMAP
        .iter()
        .find(|(_, min)| percent >= *min)
        .map(|(g, _)| *g)
        .unwrap_or("F")
}

/// A grade as Matrix accepts it: a letter (B+), a number of points (3.1), a percentage (15%),
/// a blank (clears it) or a special grade (X/M/I/AB). `Some(None)` is the blank; the inner
/// pair is (score, percent).
#[allow(clippy::type_complexity)]
fn parse_grade(text: &str, points: f64) -> Option<Option<(Option<f64>, Option<f64>)>> {
    let t = text.trim();
    if t.is_empty() {
        return Some(None);
    }
    if ["X", "M", "I", "AB"].contains(&t) {
        return Some(Some((None, None)));
    }
    if let Some(p) = t.strip_suffix('%') {
        let p: f64 = p
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && *p >= 0.0)?;
        return Some(Some((Some(points * p / 100.0), Some(p))));
    }
    if let Ok(score) = t.parse::<f64>() {
        if !score.is_finite() || score < 0.0 {
            return None;
        }
        return Some(Some((Some(score), Some(score / points * 100.0))));
    }
    let mut chars = t.chars();
    let base = match chars.next()? {
        'A' => 95.0,
        'B' => 85.0,
        'C' => 75.0,
        'D' => 65.0,
        'F' => 50.0,
        _ => return None,
    };
    let adjust = match chars.as_str() {
        "" => 0.0,
        "+" if base > 50.0 => 3.0,
        "-" if base > 50.0 => -3.0,
        _ => return None,
    };
    let percent = base + adjust;
    Some(Some((Some(points * percent / 100.0), Some(percent))))
}

/// `grades` is an array of `{user_id, grade}`: sent Rails-style as
/// `grades[][user_id]=1&grades[][grade]=B+` (or indexed, `grades[0][user_id]=1`).
fn grades_arg(args: &Args) -> Result<Vec<(u64, String)>, ApiError> {
    let mut rows: Vec<(Option<String>, Option<u64>, Option<String>)> = Vec::new();
    for (k, v) in &args.0 {
        let Some(rest) = k.strip_prefix("grades[") else {
            continue;
        };
        let (index, field) = rest
            .split_once("][")
            .and_then(|(i, f)| f.strip_suffix(']').map(|f| (i, f)))
            .ok_or_else(|| ApiError::bad(format!("Cannot read argument '{k}'")))?;
        let slot = if index.is_empty() {
            // A new element starts whenever the field is already set in the last one.
            let start_new = match rows.last() {
                None => true,
                Some((Some(_), _, _)) => true,
                Some((None, u, g)) => match field {
                    "user_id" => u.is_some(),
                    "grade" => g.is_some(),
                    _ => false,
                },
            };
            if start_new {
                rows.push((None, None, None));
            }
            rows.len() - 1
        } else {
            match rows.iter().position(|r| r.0.as_deref() == Some(index)) {
                Some(i) => i,
                None => {
                    rows.push((Some(index.to_string()), None, None));
                    rows.len() - 1
                }
            }
        };
        match field {
            "user_id" => {
                rows[slot].1 = Some(v.parse().map_err(|_| {
                    ApiError::bad(format!("grades user_id must be an integer id, not '{v}'"))
                })?);
            }
            "grade" => rows[slot].2 = Some(v.clone()),
            other => return Err(ApiError::bad(format!("Unknown grade field '{other}'"))),
        }
    }
    if rows.is_empty() {
        return Err(ApiError::bad("Missing argument: grades"));
    }
    rows.into_iter()
        .map(|(_, u, g)| match (u, g) {
            (Some(u), Some(g)) => Ok((u, g)),
            _ => Err(ApiError::bad("Each grade needs a user_id and a grade")),
        })
        .collect()
}

fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(t) = DateTime::parse_from_str(v, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let v = v.strip_suffix('Z')?;
    chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .ok()
        .map(|t| Utc.from_utc_datetime(&t))
}

async fn call(
    State(lms): State<Arc<Lms>>,
    Path(function): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let args = match query {
        Ok(Query(pairs)) => Args(pairs),
        Err(e) => {
            return reply(
                StatusCode::BAD_REQUEST,
                &json!({"message": format!("Cannot read the arguments: {e}")}),
            )
        }
    };
    let now = lms.shared.clock.now();
    if args.one("api_key") != Some(lms.config.api_key.as_str()) {
        return reply(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "Invalid API key"}),
        );
    }
    let result = lms
        .admit(&lms.config.api_key, now)
        .and_then(|()| match args.one("api_version") {
            None | Some("" | "1") => Ok(()),
            Some(v) => Err(ApiError::bad(format!(
                "Unsupported api_version '{v}': this site serves version 1"
            ))),
        })
        .and_then(|()| lms.dispatch(&function, &args, now));
    match result {
        Ok(body) => reply(StatusCode::OK, &body),
        Err(e) => reply(e.status, &json!({"message": e.message})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_as_the_document_lists_them() {
        assert_eq!(parse_grade("", 20.0), Some(None));
        assert_eq!(parse_grade("AB", 20.0), Some(Some((None, None))));
        assert_eq!(
            parse_grade("50%", 20.0),
            Some(Some((Some(10.0), Some(50.0))))
        );
        assert_eq!(
            parse_grade("10", 20.0),
            Some(Some((Some(10.0), Some(50.0))))
        );
        assert!(parse_grade("B+", 100.0).is_some());
        assert!(parse_grade("Q", 100.0).is_none());
        assert!(parse_grade("F+", 100.0).is_none());
        assert!(parse_grade("-3", 100.0).is_none());
    }

    #[test]
    fn rails_style_grade_arrays_are_read_in_order() {
        let args = Args(vec![
            ("grades[][user_id]".into(), "1".into()),
            ("grades[][grade]".into(), "B+".into()),
            ("grades[][user_id]".into(), "2".into()),
            ("grades[][grade]".into(), "".into()),
        ]);
        assert_eq!(
            grades_arg(&args).unwrap(),
            vec![(1, "B+".to_string()), (2, String::new())]
        );
        let indexed = Args(vec![
            ("grades[1][grade]".into(), "C".into()),
            ("grades[0][user_id]".into(), "7".into()),
            ("grades[0][grade]".into(), "A".into()),
            ("grades[1][user_id]".into(), "8".into()),
        ]);
        assert_eq!(
            grades_arg(&indexed).unwrap(),
            vec![(8, "C".to_string()), (7, "A".to_string())]
        );
    }

    #[test]
    fn times_are_read_with_or_without_seconds() {
        let t = parse_time("2025-09-02T09:25Z").unwrap();
        assert_eq!(time(t), "2025-09-02T09:25Z");
        assert_eq!(parse_time("2025-09-02T09:25:00Z"), Some(t));
        assert_eq!(parse_time("2025-09-02T10:25+01:00"), Some(t));
        assert!(parse_time("yesterday").is_none());
    }
}
