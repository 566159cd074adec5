//! Learning support (SEN records and reviews) and the access log. Children's special needs
//! are the most sensitive data the desk holds, so the shell — not the page — enforces:
//! locked at start; unlocked only by an explicit `support_unlock`, for this run of the app
//! (kept in memory, never written anywhere); locked again once no learning-support command
//! or activity ping came within the idle time; every read written to the access log (OS
//! user, when, which students, what) before it is answered; refused while learning support
//! is switched off on every connection. Nothing of the records reaches `tracing`: this
//! module logs nothing at all, and its errors name only what the person asked for.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Local, NaiveDate, Utc};
use schooldesk_cache::{AccessAction, AccessEntry, NewAccess, StudentQuery};
use schooldesk_domain::{LearningSupportRecord, LearningSupportReview, Student, System};
use schooldesk_export::{audit, csv as export_csv, Cell, Column, ColumnKind, Document};
use schooldesk_sync::persons::person_id;
use schooldesk_sync::reads::{parse_id, qualified_id};
use schooldesk_sync::{Desk, DeskError};
use serde::Serialize;
use serde_json::Value;
use tauri::State;
use ts_rs::TS;

use crate::error::AppError;
use crate::exports::Exports;
use crate::ipc::{
    DocumentFormat, DocumentRequest, ErrorPayload, ExportedDocument, PaperSize, SystemId,
};
use crate::Shell;

/// How long an unlocked session lasts without any learning-support command or activity.
pub const IDLE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The access log's name for a view of learning-support records.
pub const WHAT_VIEW: &str = "learning_support";

/// The access log's name for an export of the access log itself.
pub const WHAT_LOG_EXPORT: &str = "access_log";

/// Longest id or year group accepted: anything longer was not picked from a list.
const MAX_ID_LEN: usize = 300;

/// Most access-log entries one call returns.
const MAX_LOG_LIMIT: u32 = 5000;

/// What tells the time; replaceable so tests prove the idle lock without sleeping.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Unlocked {
    /// Whom the views of this session are logged as.
    by_whom: Option<String>,
    last_activity: DateTime<Utc>,
}

/// The unlock of this run of the app: managed state, in memory only.
pub struct SupportLock {
    clock: Mutex<Clock>,
    idle: Mutex<Duration>,
    unlocked: Mutex<Option<Unlocked>>,
}

impl Default for SupportLock {
    fn default() -> Self {
        SupportLock {
            clock: Mutex::new(Arc::new(Utc::now)),
            idle: Mutex::new(Duration::from_std(IDLE_DEFAULT).expect("five minutes")),
            unlocked: Mutex::new(None),
        }
    }
}

impl SupportLock {
    /// Tells the time with `clock` instead of the system's (tests).
    pub fn set_clock(&self, clock: Clock) {
        *self.clock.lock().expect("support lock poisoned") = clock;
    }

    /// Locks after `idle` without activity instead of five minutes.
    pub fn set_idle(&self, idle: std::time::Duration) {
        *self.idle.lock().expect("support lock poisoned") =
            Duration::from_std(idle).unwrap_or(Duration::days(36_500));
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock.lock().expect("support lock poisoned"))()
    }

    fn idle(&self) -> Duration {
        *self.idle.lock().expect("support lock poisoned")
    }

    /// Until when the session stays unlocked, or `None` when locked (an expired unlock is
    /// forgotten here, so it cannot come back).
    fn until(&self) -> Option<DateTime<Utc>> {
        let now = self.now();
        let idle = self.idle();
        let mut unlocked = self.unlocked.lock().expect("support lock poisoned");
        match unlocked.as_ref() {
            Some(u) if now < u.last_activity + idle => Some(u.last_activity + idle),
            Some(_) => {
                *unlocked = None;
                None
            }
            None => None,
        }
    }

    fn unlock(&self) {
        let now = self.now();
        *self.unlocked.lock().expect("support lock poisoned") = Some(Unlocked {
            by_whom: audit::signed_in_user(),
            last_activity: now,
        });
    }

    pub fn lock(&self) {
        *self.unlocked.lock().expect("support lock poisoned") = None;
    }

    /// Counts as activity and answers whom to log as; refused when locked (or expired).
    fn touch(&self) -> Result<Option<String>, AppError> {
        if self.until().is_none() {
            return Err(locked());
        }
        let now = self.now();
        let mut unlocked = self.unlocked.lock().expect("support lock poisoned");
        match unlocked.as_mut() {
            Some(u) => {
                u.last_activity = now;
                Ok(u.by_whom.clone())
            }
            None => Err(locked()),
        }
    }

    pub fn is_unlocked(&self) -> bool {
        self.until().is_some()
    }
}

fn refused(code: &str, message: impl Into<String>) -> AppError {
    AppError::Refused(ErrorPayload {
        code: code.into(),
        message: message.into(),
        retryable: false,
    })
}

fn locked() -> AppError {
    refused(
        "shell.support_locked",
        "Learning support is locked. Choose \"Unlock for this session\" to see it again; it \
         locks itself after a few minutes without use.",
    )
}

fn disabled() -> AppError {
    refused(
        "shell.support_disabled",
        "Learning support is switched off. To use it, turn on \"Learning support\" for WCBS \
         HUBmis in Settings (only if your school has that module and you may see it), then sync.",
    )
}

fn not_found(message: String) -> AppError {
    refused("shell.support_not_found", message)
}

fn invalid(message: impl Into<String>) -> AppError {
    refused("shell.support_invalid", message)
}

// ---- IPC types ---------------------------------------------------------------------------

/// Whether learning support can be shown, and whether this session has unlocked it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SupportStatus {
    /// Some connection has learning support switched on.
    pub enabled: bool,
    /// The systems it is on for (only their children can be searched).
    pub systems: Vec<SystemId>,
    /// The same, by name.
    pub system_names: Vec<String>,
    pub unlocked: bool,
    /// When it locks itself unless used before then (RFC 3339), while unlocked.
    pub until: Option<String>,
    /// Minutes without use after which it locks itself.
    pub idle_minutes: u32,
    /// The computer's user every view is logged as.
    pub by_whom: Option<String>,
}

/// One review meeting.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SupportReviewView {
    pub id: String,
    pub review_type: Option<String>,
    /// `YYYY-MM-DD`.
    pub date: Option<String>,
    /// Scheduled, Completed, Cancelled, as the system says.
    pub status: Option<String>,
    /// Agreed actions.
    pub outcome: Option<String>,
    /// `YYYY-MM-DD`.
    pub next_review: Option<String>,
}

/// One learning-support record with its reviews.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SupportRecordView {
    /// `system:id`.
    pub id: String,
    pub support_type: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    /// Whether the record is closed (inactive): it needs no review.
    pub closed: bool,
    /// `YYYY-MM-DD`: since when.
    pub since: Option<String>,
    pub ehcp: Option<bool>,
    pub notes: Option<String>,
    /// `YYYY-MM-DD`: the scheduled review, else the date the last review set.
    pub next_review: Option<String>,
    /// The next review date has passed and the record is open.
    pub overdue: bool,
    /// Reviews of this record, newest first (the student's reviews when the system does not
    /// tie them to one record).
    pub reviews: Vec<SupportReviewView>,
}

/// One child with their records.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SupportStudentView {
    /// The person id (`ext:…` or `system:id`).
    pub person: String,
    /// `system:id` of the record the learning support belongs to.
    pub student: String,
    pub name: String,
    pub year_group: Option<String>,
    pub records: Vec<SupportRecordView>,
    /// Some open record's review is overdue.
    pub overdue: bool,
}

/// What one learning-support read shows (it is in the access log by the time it arrives).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct SupportView {
    /// The student's name or the year group.
    pub title: String,
    /// Children with records (for a student: that child, with or without records).
    pub students: Vec<SupportStudentView>,
    /// Records across them.
    #[ts(type = "number")]
    pub records: u64,
    #[ts(type = "number")]
    pub overdue: u64,
    /// Today as the overdue flags see it, `YYYY-MM-DD`.
    pub today: String,
    /// When the newest of it was fetched (RFC 3339).
    pub as_of: Option<String>,
    /// The access log entry that records this view.
    #[ts(type = "number")]
    pub access_id: i64,
}

/// A year group to pick, with how many children are in it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct YearGroupOption {
    pub name: String,
    #[ts(type = "number")]
    pub students: u64,
    /// How many of them have a learning-support record.
    #[ts(type = "number")]
    pub with_records: u64,
}

/// A student named in the access log: the id as logged, with the name the cache knows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct LoggedStudent {
    pub id: String,
    pub name: Option<String>,
}

/// One access: who, when, viewed or exported what, which students, where to.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AccessEntryView {
    #[ts(type = "number")]
    pub id: i64,
    /// RFC 3339.
    pub at: String,
    /// `view` or `export`.
    pub action: String,
    /// `learning_support`, `roster`, `access_log`, …
    pub what: String,
    pub detail: String,
    pub students: Vec<LoggedStudent>,
    pub destination: Option<String>,
    pub by_whom: Option<String>,
}

/// The access log, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct AccessLogView {
    pub entries: Vec<AccessEntryView>,
    /// Older entries exist beyond the limit.
    pub more: bool,
}

// ---- reading ------------------------------------------------------------------------------

/// The Documents panel's learning-support summary is a view of the same records: while
/// learning support is on, it is made only in an unlocked session (and counts as use).
/// With it off everywhere, the export's own refusal says so.
pub(crate) fn export_allowed(desk: &Desk, lock: &SupportLock) -> Result<(), AppError> {
    if enabled_systems(desk)?.is_empty() {
        return Ok(());
    }
    lock.touch().map(|_| ())
}

fn enabled_systems(desk: &Desk) -> Result<Vec<System>, DeskError> {
    Ok(desk
        .cache()
        .connections()?
        .into_iter()
        .filter(|c| c.learning_support_enabled)
        .map(|c| c.system)
        .collect())
}

fn checked(value: &str, what: &str) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!(
            "No {what} was chosen. Pick one from the list on the Learning support screen first."
        )));
    }
    if v.len() > MAX_ID_LEN || v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "That is not a {what} Schooldesk knows. Pick the {what} from the list instead."
        )));
    }
    Ok(v.to_string())
}

/// A student's year group as the system names it ("Year 7"), else their grade.
fn year_group(s: &Student) -> Option<String> {
    s.source
        .raw
        .get("year_group")
        .and_then(|y| y.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| s.grade.as_ref().map(|g| format!("Grade {g}")))
}

fn in_year_group(s: &Student, wanted: &str) -> bool {
    let raw = s.source.raw.get("year_group");
    let field = |name: &str| -> Option<String> {
        raw.and_then(|y| y.get(name)).and_then(|v| match v {
            Value::String(t) => Some(t.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    ["id", "code", "name"]
        .iter()
        .filter_map(|f| field(f))
        .chain(year_group(s))
        .any(|v| v.eq_ignore_ascii_case(wanted))
}

fn raw_date(raw: &Value, key: &str) -> Option<NaiveDate> {
    let s = raw.get(key)?.as_str()?;
    let day = s.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn raw_name(raw: &Value, key: &str) -> Option<String> {
    raw.get(key)
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn review_view(r: &LearningSupportReview) -> SupportReviewView {
    SupportReviewView {
        id: qualified_id(r.source.system, &r.source.source_id),
        review_type: r.review_type.clone(),
        date: r.review_date.map(day),
        status: raw_name(&r.source.raw, "review_status"),
        outcome: r.outcome.clone(),
        next_review: raw_date(&r.source.raw, "next_review").map(day),
    }
}

/// The next review of a record from its reviews: the earliest still scheduled, else the date
/// the newest review set. `reviews` come newest first.
fn next_review(reviews: &[&LearningSupportReview]) -> Option<NaiveDate> {
    let scheduled = reviews
        .iter()
        .filter(|r| {
            raw_name(&r.source.raw, "review_status")
                .is_some_and(|s| s.eq_ignore_ascii_case("scheduled"))
        })
        .filter_map(|r| r.review_date)
        .min();
    scheduled.or_else(|| {
        reviews
            .iter()
            .find_map(|r| raw_date(&r.source.raw, "next_review"))
    })
}

fn is_closed(r: &LearningSupportRecord) -> bool {
    r.status.as_deref().is_some_and(|s| {
        ["inactive", "closed", "archived"]
            .iter()
            .any(|c| s.eq_ignore_ascii_case(c))
    }) || r
        .source
        .raw
        .get("inactive_date")
        .is_some_and(|v| !v.is_null())
}

fn record_view(
    r: &LearningSupportRecord,
    reviews: &[LearningSupportReview],
    today: NaiveDate,
) -> SupportRecordView {
    let own: Vec<&LearningSupportReview> = reviews
        .iter()
        .filter(|v| v.record_source_id.as_deref() == Some(r.source.source_id.as_str()))
        .collect();
    // HUBmis may not tie a review to a record; then the student's reviews are the record's.
    let mine: Vec<&LearningSupportReview> = if own.is_empty() {
        reviews
            .iter()
            .filter(|v| v.record_source_id.is_none())
            .collect()
    } else {
        own
    };
    let closed = is_closed(r);
    let next = next_review(&mine);
    SupportRecordView {
        id: qualified_id(r.source.system, &r.source.source_id),
        support_type: r.support_type.clone(),
        severity: r.severity.clone(),
        status: r.status.clone(),
        closed,
        since: raw_date(&r.source.raw, "learning_support_date").map(day),
        ehcp: r.source.raw.get("ehcp").and_then(Value::as_bool),
        notes: r.notes.clone(),
        next_review: next.map(day),
        overdue: !closed && next.is_some_and(|d| d < today),
        reviews: mine.into_iter().map(review_view).collect(),
    }
}

/// Every child of `students` (all of one system) with their records, read in one go.
fn students_view(
    desk: &Desk,
    system: System,
    students: &[Student],
    only_one: bool,
    today: NaiveDate,
    fresh: &mut Option<DateTime<Utc>>,
) -> Result<Vec<SupportStudentView>, DeskError> {
    let cache = desk.cache();
    let only = if only_one {
        students.first().map(|s| s.source.source_id.as_str())
    } else {
        None
    };
    let mut records: HashMap<String, Vec<LearningSupportRecord>> = HashMap::new();
    for r in cache.learning_support_records(system, only)? {
        records
            .entry(r.student_source_id.clone())
            .or_default()
            .push(r);
    }
    let mut reviews: HashMap<String, Vec<LearningSupportReview>> = HashMap::new();
    for r in cache.learning_support_reviews(system, only)? {
        if let Some(s) = r.student_source_id.clone() {
            reviews.entry(s).or_default().push(r);
        }
    }
    let mut see = |at: DateTime<Utc>| {
        if fresh.is_none_or(|f| at > f) {
            *fresh = Some(at);
        }
    };
    let mut out = Vec::new();
    for s in students {
        let sid = &s.source.source_id;
        let recs = records.remove(sid).unwrap_or_default();
        if recs.is_empty() && !only_one {
            continue;
        }
        let revs = reviews.remove(sid).unwrap_or_default();
        for r in &recs {
            see(r.source.fetched_at);
        }
        for r in &revs {
            see(r.source.fetched_at);
        }
        let views: Vec<SupportRecordView> =
            recs.iter().map(|r| record_view(r, &revs, today)).collect();
        out.push(SupportStudentView {
            person: person_id(system, sid, s.external_id.as_deref()),
            student: qualified_id(system, sid),
            name: s.display_name(),
            year_group: year_group(s),
            overdue: views.iter().any(|r| r.overdue),
            records: views,
        });
    }
    Ok(out)
}

/// The records of the child `person` names that come from systems with learning support on.
fn student_records(
    desk: &Desk,
    person: &str,
    enabled: &[System],
) -> Result<Vec<Student>, AppError> {
    let cache = desk.cache();
    let unknown = || {
        not_found(format!(
            "There is no student '{person}' in the cache. Pick the child from the student list; \
             if they joined today, sync first. Nothing was shown or logged."
        ))
    };
    let found = if let Some(ext) = person.strip_prefix(schooldesk_sync::persons::EXTERNAL_PREFIX) {
        cache
            .students_by_external_id(ext.trim())
            .map_err(DeskError::from)?
    } else {
        let (Some(system), id) = parse_id(person) else {
            return Err(unknown());
        };
        match cache.student(system, id).map_err(DeskError::from)? {
            Some(s) => match s.external_id.as_deref().map(str::trim) {
                Some(ext) if !ext.is_empty() => cache
                    .students_by_external_id(ext)
                    .map_err(DeskError::from)?,
                _ => vec![s],
            },
            None => Vec::new(),
        }
    };
    if found.is_empty() {
        return Err(unknown());
    }
    let mut with_support: Vec<Student> = found
        .into_iter()
        .filter(|s| enabled.contains(&s.source.system))
        .collect();
    if with_support.is_empty() {
        let names: Vec<&str> = enabled.iter().map(|s| s.display_name()).collect();
        return Err(not_found(format!(
            "This child has no record in {}, where learning support comes from, so there is \
             nothing to show. Nothing was logged.",
            names.join(" or ")
        )));
    }
    with_support.sort_by_key(|s| s.source.system);
    Ok(with_support)
}

fn log_view(
    desk: &Desk,
    detail: String,
    students: &[SupportStudentView],
    by_whom: Option<String>,
    now: DateTime<Utc>,
) -> Result<i64, DeskError> {
    Ok(desk.cache().record_access(&NewAccess {
        at: now,
        action: AccessAction::View,
        what: WHAT_VIEW.into(),
        detail,
        students: students.iter().map(|s| s.student.clone()).collect(),
        destination: None,
        by_whom,
    })?)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn view_of(
    title: String,
    students: Vec<SupportStudentView>,
    today: NaiveDate,
    fresh: Option<DateTime<Utc>>,
    access_id: i64,
) -> SupportView {
    SupportView {
        title,
        records: students.iter().map(|s| s.records.len() as u64).sum(),
        overdue: students
            .iter()
            .flat_map(|s| &s.records)
            .filter(|r| r.overdue)
            .count() as u64,
        students,
        today: day(today),
        as_of: fresh.map(|f| f.to_rfc3339()),
        access_id,
    }
}

/// One child's view, logged before it is returned.
pub fn read_student(
    desk: &Desk,
    person: &str,
    by_whom: Option<String>,
    now: DateTime<Utc>,
) -> Result<SupportView, AppError> {
    let person = checked(person, "student")?;
    let enabled = enabled_systems(desk)?;
    if enabled.is_empty() {
        return Err(disabled());
    }
    let records = student_records(desk, &person, &enabled)?;
    let today = now.with_timezone(&Local).date_naive();
    let mut fresh = None;
    let mut students = Vec::new();
    for s in &records {
        students.extend(students_view(
            desk,
            s.source.system,
            std::slice::from_ref(s),
            true,
            today,
            &mut fresh,
        )?);
    }
    let title = students.first().map(|s| s.name.clone()).unwrap_or_default();
    let n: usize = students.iter().map(|s| s.records.len()).sum();
    let detail = format!(
        "Viewed learning support — {title} ({})",
        plural(n, "record", "records")
    );
    let access_id = log_view(desk, detail, &students, by_whom, now)?;
    Ok(view_of(title, students, today, fresh, access_id))
}

/// One year group's children with records, logged before it is returned.
pub fn read_year_group(
    desk: &Desk,
    group: &str,
    by_whom: Option<String>,
    now: DateTime<Utc>,
) -> Result<SupportView, AppError> {
    let group = checked(group, "year group")?;
    let enabled = enabled_systems(desk)?;
    if enabled.is_empty() {
        return Err(disabled());
    }
    let today = now.with_timezone(&Local).date_naive();
    let mut fresh = None;
    let mut students = Vec::new();
    let mut known = BTreeSet::new();
    let mut title = None;
    for system in &enabled {
        let all = desk
            .cache()
            .students(&StudentQuery {
                system: Some(*system),
                ..Default::default()
            })
            .map_err(DeskError::from)?;
        known.extend(all.iter().filter_map(year_group));
        let mut in_group: Vec<Student> = all
            .into_iter()
            .filter(|s| in_year_group(s, &group))
            .collect();
        if in_group.is_empty() {
            continue;
        }
        title = title.or_else(|| year_group(&in_group[0]));
        in_group
            .sort_by_cached_key(|s| (s.family_name.to_lowercase(), s.given_name.to_lowercase()));
        students.extend(students_view(
            desk, *system, &in_group, false, today, &mut fresh,
        )?);
    }
    let Some(title) = title else {
        return Err(not_found(format!(
            "There is no year group '{group}' in the cache. The year groups are: {}. Nothing was \
             shown or logged.",
            if known.is_empty() {
                "none yet (sync first)".to_string()
            } else {
                known.into_iter().collect::<Vec<_>>().join(", ")
            }
        )));
    };
    let n: usize = students.iter().map(|s| s.records.len()).sum();
    let detail = format!(
        "Viewed learning support — {title} ({}, {})",
        plural(students.len(), "student", "students"),
        plural(n, "record", "records")
    );
    let access_id = log_view(desk, detail, &students, by_whom, now)?;
    Ok(view_of(title, students, today, fresh, access_id))
}

/// The year groups of the systems with learning support on, in school order.
fn year_groups(desk: &Desk) -> Result<Vec<YearGroupOption>, AppError> {
    let enabled = enabled_systems(desk)?;
    if enabled.is_empty() {
        return Err(disabled());
    }
    let mut counts: BTreeMap<(u32, String), (u64, u64)> = BTreeMap::new();
    for system in enabled {
        let supported: BTreeSet<String> = desk
            .cache()
            .learning_support_records(system, None)
            .map_err(DeskError::from)?
            .into_iter()
            .map(|r| r.student_source_id)
            .collect();
        for s in desk
            .cache()
            .students(&StudentQuery {
                system: Some(system),
                ..Default::default()
            })
            .map_err(DeskError::from)?
        {
            if let Some(g) = year_group(&s) {
                // "Year 10" after "Year 9": by the number in the name, then the name.
                let n = g
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse::<u32>()
                    .unwrap_or(0);
                let count = counts.entry((n, g)).or_default();
                count.0 += 1;
                count.1 += u64::from(supported.contains(&s.source.source_id));
            }
        }
    }
    Ok(counts
        .into_iter()
        .map(|((_, name), (students, with_records))| YearGroupOption {
            name,
            students,
            with_records,
        })
        .collect())
}

/// The access log with every student's name looked up (once per student).
pub fn log_view_of(desk: &Desk, limit: Option<u32>) -> Result<AccessLogView, AppError> {
    let limit = limit.unwrap_or(200).clamp(1, MAX_LOG_LIMIT) as usize;
    let mut entries = desk
        .cache()
        .access_log(Some(limit + 1))
        .map_err(DeskError::from)?;
    let more = entries.len() > limit;
    entries.truncate(limit);
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let out = entries
        .into_iter()
        .map(|e| entry_view(desk, e, &mut names))
        .collect::<Result<Vec<_>, DeskError>>()?;
    Ok(AccessLogView { entries: out, more })
}

fn entry_view(
    desk: &Desk,
    e: AccessEntry,
    names: &mut HashMap<String, Option<String>>,
) -> Result<AccessEntryView, DeskError> {
    let mut students = Vec::with_capacity(e.access.students.len());
    for id in e.access.students {
        let name = match names.get(&id) {
            Some(n) => n.clone(),
            None => {
                let n = match parse_id(&id) {
                    (Some(system), sid) => {
                        desk.cache().student(system, sid)?.map(|s| s.display_name())
                    }
                    _ => None,
                };
                names.insert(id.clone(), n.clone());
                n
            }
        };
        students.push(LoggedStudent { id, name });
    }
    Ok(AccessEntryView {
        id: e.id,
        at: e.access.at.to_rfc3339(),
        action: match e.access.action {
            AccessAction::View => "view".into(),
            AccessAction::Export => "export".into(),
        },
        what: e.access.what,
        detail: e.access.detail,
        students,
        destination: e.access.destination,
        by_whom: e.access.by_whom,
    })
}

/// The whole access log as a document (one table), for CSV.
fn log_document(view: &AccessLogView, now: DateTime<Utc>) -> Document {
    let columns = [
        ("When", ColumnKind::Text),
        ("Action", ColumnKind::Text),
        ("What", ColumnKind::Text),
        ("Detail", ColumnKind::Text),
        ("Students", ColumnKind::Text),
        ("Student ids", ColumnKind::Text),
        ("Where to", ColumnKind::Text),
        ("Computer user", ColumnKind::Text),
    ]
    .into_iter()
    .map(|(t, k)| Column::new(t, k))
    .collect();
    let rows = view
        .entries
        .iter()
        .map(|e| {
            let at = DateTime::parse_from_rfc3339(&e.at)
                .map(|t| {
                    t.with_timezone(&Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_else(|_| e.at.clone());
            vec![
                Cell::text(at),
                Cell::text(e.action.clone()),
                Cell::text(e.what.clone()),
                Cell::text(e.detail.clone()),
                Cell::text(
                    e.students
                        .iter()
                        .map(|s| s.name.clone().unwrap_or_else(|| s.id.clone()))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Cell::text(
                    e.students
                        .iter()
                        .map(|s| s.id.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Cell::text(e.destination.clone().unwrap_or_default()),
                Cell::text(e.by_whom.clone().unwrap_or_default()),
            ]
        })
        .collect();
    let mut students: BTreeSet<String> = BTreeSet::new();
    for e in &view.entries {
        students.extend(e.students.iter().map(|s| s.id.clone()));
    }
    Document {
        // The CSV writer does not look at the kind; the access log has none of its own.
        kind: schooldesk_export::DocumentKind::LearningSupport,
        title: "Access log".into(),
        school: String::new(),
        subtitle: None,
        data_as_of: None,
        generated_at: now,
        tables: vec![schooldesk_export::Table {
            name: "Access log".into(),
            columns,
            rows,
            totals: Vec::new(),
        }],
        students: students.into_iter().collect(),
    }
}

// ---- commands -----------------------------------------------------------------------------

fn status_of(desk: &Desk, lock: &SupportLock) -> Result<SupportStatus, AppError> {
    let enabled = enabled_systems(desk)?;
    let until = if enabled.is_empty() {
        // Switched off while unlocked: nothing may be shown, so the unlock goes too.
        lock.lock();
        None
    } else {
        lock.until()
    };
    Ok(SupportStatus {
        enabled: !enabled.is_empty(),
        systems: enabled.iter().map(|s| SystemId::from(*s)).collect(),
        system_names: enabled
            .iter()
            .map(|s| s.display_name().to_string())
            .collect(),
        unlocked: until.is_some(),
        until: until.map(|u| u.to_rfc3339()),
        idle_minutes: (lock.idle().num_seconds().max(60) / 60).min(u32::MAX as i64) as u32,
        by_whom: audit::signed_in_user(),
    })
}

/// Whether learning support is on, and whether (and until when) this session unlocked it.
#[tauri::command]
pub async fn support_status(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
) -> Result<SupportStatus, AppError> {
    let lock = lock.inner().clone();
    shell.read(move |desk| Ok(status_of(desk, &lock))).await?
}

/// "Unlock for this session": explicit, in memory only; every view after it is logged as
/// the computer's user. Refused while learning support is off.
#[tauri::command]
pub async fn support_unlock(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
) -> Result<SupportStatus, AppError> {
    let lock = lock.inner().clone();
    shell
        .read(move |desk| {
            Ok((|| {
                if enabled_systems(desk)?.is_empty() {
                    return Err(disabled());
                }
                lock.unlock();
                status_of(desk, &lock)
            })())
        })
        .await?
}

/// "Lock now".
#[tauri::command]
pub async fn support_lock(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
) -> Result<SupportStatus, AppError> {
    lock.lock();
    let lock = lock.inner().clone();
    shell.read(move |desk| Ok(status_of(desk, &lock))).await?
}

/// The person is still at the screen (keys or pointer): keeps the session unlocked.
#[tauri::command]
pub async fn support_touch(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
) -> Result<SupportStatus, AppError> {
    let lock = lock.inner().clone();
    shell
        .read(move |desk| {
            Ok((|| {
                if enabled_systems(desk)?.is_empty() {
                    lock.lock();
                    return Err(disabled());
                }
                lock.touch()?;
                status_of(desk, &lock)
            })())
        })
        .await?
}

/// Runs a learning-support read: refused when off or locked, counts as activity, and hands
/// the read the user to log the view as and the time.
async fn guarded<T: Send + 'static>(
    shell: &Shell,
    lock: &Arc<SupportLock>,
    read: impl FnOnce(&Desk, Option<String>, DateTime<Utc>) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let lock = lock.clone();
    shell
        .read(move |desk| {
            Ok((|| {
                if enabled_systems(desk)?.is_empty() {
                    lock.lock();
                    return Err(disabled());
                }
                let by_whom = lock.touch()?;
                read(desk, by_whom, lock.now())
            })())
        })
        .await?
}

/// One child's records and reviews (`person`: a person id or `system:id`). Logged first.
#[tauri::command]
pub async fn support_student(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
    person: String,
) -> Result<SupportView, AppError> {
    guarded(&shell, &lock, move |desk, by_whom, now| {
        read_student(desk, &person, by_whom, now)
    })
    .await
}

/// A year group's children with records (`group`: its name, code or id). Logged first.
#[tauri::command]
pub async fn support_year_group(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
    group: String,
) -> Result<SupportView, AppError> {
    guarded(&shell, &lock, move |desk, by_whom, now| {
        read_year_group(desk, &group, by_whom, now)
    })
    .await
}

/// The year groups to pick from (no child named, so nothing to log).
#[tauri::command]
pub async fn support_year_groups(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
) -> Result<Vec<YearGroupOption>, AppError> {
    guarded(&shell, &lock, |desk, _, _| year_groups(desk)).await
}

/// The access log names which children's learning support was seen, so while learning
/// support is on it is shown only in an unlocked session; with it off everywhere it holds
/// only exports and is shown as the CLI's `schooldesk audit` shows it.
fn log_allowed(desk: &Desk, lock: &SupportLock) -> Result<(), AppError> {
    if !enabled_systems(desk)?.is_empty() {
        lock.touch()?;
    }
    Ok(())
}

/// The access log, newest first, at most `limit` entries (1 to 5,000).
#[tauri::command]
pub async fn access_log(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
    limit: u32,
) -> Result<AccessLogView, AppError> {
    let lock = lock.inner().clone();
    shell
        .read(move |desk| {
            Ok((|| {
                log_allowed(desk, &lock)?;
                log_view_of(desk, Some(limit))
            })())
        })
        .await?
}

/// Saves the whole access log as CSV (for Excel) into Documents/Schooldesk under a new name,
/// and logs that export too.
#[tauri::command]
pub async fn export_access_log(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
    exports: State<'_, Exports>,
) -> Result<ExportedDocument, AppError> {
    let lock = lock.inner().clone();
    let folder = exports.documents_folder(&shell.data_dir);
    shell
        .read(move |desk| {
            Ok((|| {
                log_allowed(desk, &lock)?;
                let view = log_view_of(desk, Some(MAX_LOG_LIMIT))?;
                let now = lock.now();
                let doc = log_document(&view, now);
                let bytes = export_csv::render(&doc, export_csv::Dialect::Excel)?;
                crate::exports::ensure_folder(&folder, false)?;
                let stem = crate::exports::file_stem(
                    "access-log",
                    "",
                    now.with_timezone(&Local).date_naive(),
                );
                let path = crate::exports::claim_name(&folder, &stem, "csv")?;
                let written = schooldesk_export::write_atomically(&path, &bytes).and_then(|()| {
                    desk.cache()
                        .record_access(&NewAccess {
                            at: now,
                            action: AccessAction::Export,
                            what: WHAT_LOG_EXPORT.into(),
                            detail: format!(
                                "Access log ({}, CSV for Excel)",
                                plural(view.entries.len(), "entry", "entries")
                            ),
                            students: doc.students.clone(),
                            destination: Some(path.display().to_string()),
                            by_whom: audit::signed_in_user(),
                        })
                        .map_err(schooldesk_export::ExportError::Cache)
                });
                if let Err(e) = written {
                    // Not in the log (or not complete): it must not stay.
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
                Ok(crate::exports::result(&path, &doc, bytes.len()))
            })())
        })
        .await?
}

/// Saves the learning-support summary of one student or one year group (as the Documents
/// panel does, logged as an export), only from an unlocked session.
#[tauri::command]
pub async fn support_export(
    shell: State<'_, Shell>,
    lock: State<'_, Arc<SupportLock>>,
    exports: State<'_, Exports>,
    student: Option<String>,
    year_group: Option<String>,
    format: DocumentFormat,
    paper: PaperSize,
) -> Result<ExportedDocument, AppError> {
    guarded(&shell, &lock, |_, _, _| Ok(())).await?;
    let request = DocumentRequest::LearningSupport {
        student,
        year_group,
    };
    crate::exports::export_document(shell, exports, lock, request, format, paper).await
}
