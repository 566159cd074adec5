//! Class work in Matrix LMS at the desk: the classes, one class's page (its roster with the
//! changes queued for it, and its assignments with each student's grade), and the two writes
//! a person makes there — enrolling or unenrolling students, and entering a grade — checked
//! against that page before anything is queued.
//!
//! # What the page shows while writes are on their way
//! Matrix's roster and grades come from the last sync, and a write sent since then is not in
//! them until the next sync reads them again. So the page lays the outbox over the cache: a
//! write not yet sent (or waiting for a person: a conflict, a failure) is shown on its row or
//! cell with its state; a write the system confirmed is shown as sent until a sync has read
//! the class again after it. A discarded write is not shown.
//!
//! # Assignments
//! The cache holds Matrix's grades (`get_grades_for_class`), which name each assignment by
//! its id and give its points; a class's assignments are the ones its grades mention. An
//! assignment no student has a grade for yet is not known to the desk.

use chrono::{DateTime, Utc};
use schooldesk_domain::{Grade, OutboxEntry, OutboxState, Student, System, Write};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

use crate::desk::{Desk, DeskError, Result};
use crate::persons::{person_id, EXTERNAL_PREFIX};
use crate::reads::{parse_id, qualified_id};

const SYSTEM: System = System::Matrix;

/// The grades Matrix calls special: excused, missing, incomplete, absent.
pub const SPECIAL_GRADES: [&str; 4] = ["X", "M", "I", "AB"];

fn invalid(msg: impl Into<String>) -> DeskError {
    DeskError::InvalidInput(msg.into())
}

/// A Matrix class as the class picker lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassInfo {
    /// `matrix:<class id>`.
    pub id: String,
    pub source_id: String,
    pub name: String,
    /// Course and section code ("MATH-7 · B"), when Matrix gives them.
    pub code: Option<String>,
    pub school: Option<String>,
    /// The teacher's name, when the cache holds it (Matrix's teachers are not synced yet).
    pub teacher: Option<String>,
    /// Students on the roster in the cache.
    pub students: u64,
    pub archived: bool,
}

/// Enrol or unenrol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RosterAction {
    Add,
    Remove,
}

impl RosterAction {
    fn verb(self) -> &'static str {
        match self {
            RosterAction::Add => "added to",
            RosterAction::Remove => "removed from",
        }
    }
}

/// A queued write as the class page shows it beside a row or a cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuedChange {
    /// The outbox entry (for a link to its receipt).
    pub outbox_id: i64,
    pub state: OutboxState,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl QueuedChange {
    fn of(e: &OutboxEntry) -> QueuedChange {
        QueuedChange {
            outbox_id: e.id,
            state: e.state,
            last_error: e.last_error.clone(),
            updated_at: e.updated_at,
        }
    }

    /// Not sent yet, or waiting for a person.
    fn open(&self) -> bool {
        !matches!(self.state, OutboxState::Done | OutboxState::Discarded)
    }
}

/// A roster change queued for one student.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RosterChange {
    pub action: RosterAction,
    pub change: QueuedChange,
}

/// One assignment of a class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignmentInfo {
    /// Matrix's assignment id.
    pub id: String,
    /// The most points it is marked out of, when Matrix says.
    pub points: Option<f64>,
    /// Students with a grade for it in the cache.
    pub graded: u64,
}

/// One student's grade for one assignment, with the newest grade queued for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradeCell {
    pub assignment: String,
    /// Matrix's grade as last synced (a letter, a number, a percentage or X/M/I/AB).
    pub grade: Option<String>,
    /// The points score as last synced.
    pub score: Option<String>,
    /// The grade queued (shown until a sync has read the grades again after it was sent).
    pub queued: Option<String>,
    pub change: Option<QueuedChange>,
}

/// One child on (or being added to) a class roster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassMember {
    /// The person id (`ext:<id>` or `matrix:<id>`), as the student page takes it.
    pub person: String,
    /// Matrix's user id.
    pub user_id: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub grade_level: Option<String>,
    /// On the roster as last synced.
    pub on_roster: bool,
    pub roster_change: Option<RosterChange>,
    /// One per assignment of the page, in its order.
    pub grades: Vec<GradeCell>,
}

/// One class: its roster with the changes queued, its assignments and grades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassPage {
    pub class: ClassInfo,
    pub assignments: Vec<AssignmentInfo>,
    /// By family then given name.
    pub members: Vec<ClassMember>,
    /// When the roster was last read from Matrix.
    pub roster_as_of: Option<DateTime<Utc>>,
}

/// A grade as Matrix takes it, or why not.
pub fn checked_grade(grade: &str, points: Option<f64>) -> std::result::Result<String, String> {
    let g = grade.trim();
    let kinds = "a letter (A to D, with + or −, or F), a number of points, a percentage (85%) \
                 or X, M, I or AB";
    if g.is_empty() {
        return Err(format!(
            "The grade is empty. Type {kinds}; to clear a grade, clear it in Matrix itself."
        ));
    }
    let upper = g.to_ascii_uppercase();
    if SPECIAL_GRADES.contains(&upper.as_str()) {
        return Ok(upper);
    }
    if let Some(p) = g.strip_suffix('%') {
        return match p.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && (0.0..=100.0).contains(&p) => {
                Ok(format!("{}%", p.trim_num()))
            }
            _ => Err(format!(
                "'{g}' is not a percentage from 0% to 100%. Type {kinds}."
            )),
        };
    }
    if let Some(n) = g.parse::<f64>().ok().filter(|n| n.is_finite()) {
        if n < 0.0 {
            return Err(format!("'{g}' is below zero. Type {kinds}."));
        }
        if let Some(max) = points.filter(|p| *p > 0.0) {
            if n > max {
                return Err(format!(
                    "This assignment is marked out of {} points, so {g} is too many. Type a \
                     score from 0 to {}, a percentage or a letter.",
                    max.trim_num(),
                    max.trim_num()
                ));
            }
        }
        return Ok(n.trim_num());
    }
    let mut chars = upper.chars();
    let letter_ok = matches!(
        (chars.next(), chars.as_str()),
        (Some('A'..='D'), "" | "+" | "-") | (Some('F'), "")
    );
    if letter_ok {
        return Ok(upper);
    }
    Err(format!("'{g}' is not a grade Matrix takes. Type {kinds}."))
}

trait TrimNum {
    fn trim_num(&self) -> String;
}

impl TrimNum for f64 {
    /// `12.0` → `12`, `12.5` → `12.5`.
    fn trim_num(&self) -> String {
        let s = format!("{self}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    }
}

fn raw_text(raw: &Value, key: &str) -> Option<String> {
    match raw.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn grade_text(g: &Grade) -> Option<String> {
    raw_text(&g.source.raw, "grade")
}

fn points_of(g: &Grade) -> Option<f64> {
    raw_text(&g.source.raw, "points")
        .or_else(|| g.max_score.clone())
        .and_then(|p| p.parse().ok())
}

/// The class's queued roster and grade writes, oldest first.
struct ClassWrites {
    /// Per Matrix user: each roster write naming them.
    roster: BTreeMap<String, Vec<(RosterAction, QueuedChange)>>,
    /// Per (assignment, user): each grade write with its grade.
    grades: BTreeMap<(String, String), Vec<(String, QueuedChange)>>,
}

impl Desk {
    fn class_writes(&self, class_id: &str) -> Result<ClassWrites> {
        let mut out = ClassWrites {
            roster: BTreeMap::new(),
            grades: BTreeMap::new(),
        };
        let mut entries = self.cache().outbox_list(None)?;
        entries.sort_by_key(|e| e.id);
        for e in entries {
            if e.system != SYSTEM || e.state == OutboxState::Discarded {
                continue;
            }
            match &e.write {
                Write::AddStudents {
                    class_id: c,
                    student_ids,
                }
                | Write::RemoveStudents {
                    class_id: c,
                    student_ids,
                } if c == class_id => {
                    let action = if matches!(e.write, Write::AddStudents { .. }) {
                        RosterAction::Add
                    } else {
                        RosterAction::Remove
                    };
                    for s in student_ids {
                        out.roster
                            .entry(s.clone())
                            .or_default()
                            .push((action, QueuedChange::of(&e)));
                    }
                }
                Write::SetGrade {
                    class_id: c,
                    assignment_id,
                    student_id,
                    grade,
                    ..
                } if c == class_id => out
                    .grades
                    .entry((assignment_id.clone(), student_id.clone()))
                    .or_default()
                    .push((grade.clone(), QueuedChange::of(&e))),
                _ => {}
            }
        }
        Ok(out)
    }

    /// A Matrix class id from `matrix:<id>` or a bare id, known to the cache.
    fn known_class(&self, class: &str) -> Result<schooldesk_domain::Section> {
        let given = class.trim();
        if given.is_empty() {
            return Err(invalid("Choose a class first."));
        }
        let (system, id) = parse_id(given);
        if system.is_some_and(|s| s != SYSTEM) {
            return Err(invalid(format!(
                "'{given}' is not a Matrix LMS class: class work is done in Matrix classes \
                 only. Pick the class from the list. Nothing was changed."
            )));
        }
        self.cache().section(SYSTEM, id)?.ok_or_else(|| {
            invalid(format!(
                "There is no Matrix class '{id}' in the cache. Pick the class from the list; \
                 if it is new in Matrix, sync first. Nothing was changed."
            ))
        })
    }

    /// The Matrix record of a child: a person id (`ext:…`), a Matrix user id (bare or
    /// `matrix:…`), or another system's `system:id` of a child Matrix also knows.
    fn matrix_record(&self, student: &str) -> Result<Student> {
        let given = student.trim();
        if given.is_empty() {
            return Err(invalid("Choose a student first. Nothing was changed."));
        }
        let cache = self.cache();
        let by_external = |ext: &str| -> Result<Option<Student>> {
            Ok(cache
                .students_by_external_id(ext.trim())?
                .into_iter()
                .find(|s| s.source.system == SYSTEM))
        };
        let no_account = |name: &str| {
            invalid(format!(
                "{name} has no Matrix LMS account in the cache, so Matrix cannot take this \
                 change. Create the account in Matrix (or sync, if it is new), then try again. \
                 Nothing was changed."
            ))
        };
        if let Some(ext) = given.strip_prefix(EXTERNAL_PREFIX) {
            if let Some(s) = by_external(ext)? {
                return Ok(s);
            }
            let other = cache.students_by_external_id(ext.trim())?;
            return Err(match other.first() {
                Some(s) => no_account(&s.display_name()),
                None => unknown_student(given),
            });
        }
        match parse_id(given) {
            (Some(SYSTEM) | None, id) => match cache.student(SYSTEM, id)? {
                Some(s) => Ok(s),
                None => Err(unknown_student(given)),
            },
            (Some(system), id) => {
                let other = cache
                    .student(system, id)?
                    .ok_or_else(|| unknown_student(given))?;
                match other.external_id.as_deref().map(str::trim) {
                    Some(ext) if !ext.is_empty() => {
                        by_external(ext)?.ok_or_else(|| no_account(&other.display_name()))
                    }
                    _ => Err(no_account(&other.display_name())),
                }
            }
        }
    }

    /// Every Matrix class in the cache, by name, with its school and roster size.
    pub fn matrix_classes(&self) -> Result<Vec<ClassInfo>> {
        let cache = self.cache();
        let schools: BTreeMap<String, String> = cache
            .schools(Some(SYSTEM))?
            .into_iter()
            .map(|s| (s.source.source_id, s.name))
            .collect();
        let sizes = cache.section_sizes()?;
        Ok(cache
            .sections(Some(SYSTEM))?
            .into_iter()
            .map(|sec| class_info(sec, &schools, &sizes))
            .collect())
    }

    /// One Matrix class (`matrix:<id>` or its id): roster, queued changes, assignments and
    /// grades (see the module docs for what is shown while writes are on their way).
    pub fn class_page(&self, class: &str) -> Result<ClassPage> {
        let sec = self.known_class(class)?;
        let cache = self.cache();
        let class_id = sec.source.source_id.clone();
        let schools: BTreeMap<String, String> = cache
            .schools(Some(SYSTEM))?
            .into_iter()
            .map(|s| (s.source.source_id, s.name))
            .collect();
        let sizes = cache.section_sizes()?;
        let section_fetched = sec.source.fetched_at;
        let info = class_info(sec, &schools, &sizes);

        // When the roster itself was last read (a sync reads the class record earlier, and
        // may stop in between). Nothing read: every write is shown.
        let roster_read = cache
            .enrollments(SYSTEM, &class_id)?
            .iter()
            .map(|e| e.fetched_at)
            .max();
        let roster_as_of = roster_read.or(Some(section_fetched));
        let roster_read = roster_read.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let on_roster: BTreeMap<String, Student> = cache
            .roster(SYSTEM, &class_id)?
            .into_iter()
            .map(|s| (s.source.source_id.clone(), s))
            .collect();

        let grades = cache.grades(SYSTEM, &class_id)?;
        let grades_read = grades
            .iter()
            .map(|g| g.source.fetched_at)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut assignments: BTreeMap<String, AssignmentInfo> = BTreeMap::new();
        let mut cells: BTreeMap<(String, String), &Grade> = BTreeMap::new();
        for g in &grades {
            let a = assignments
                .entry(g.assignment.clone())
                .or_insert_with(|| AssignmentInfo {
                    id: g.assignment.clone(),
                    points: None,
                    graded: 0,
                });
            a.points = a.points.or_else(|| points_of(g));
            if grade_text(g).is_some() || g.score.is_some() {
                a.graded += 1;
            }
            cells.insert((g.assignment.clone(), g.student_source_id.clone()), g);
        }
        let mut assignments: Vec<AssignmentInfo> = assignments.into_values().collect();
        // Matrix numbers assignments in the order they were made.
        assignments.sort_by(|a, b| {
            (a.id.parse::<u64>().ok(), &a.id).cmp(&(b.id.parse::<u64>().ok(), &b.id))
        });

        let writes = self.class_writes(&class_id)?;
        let mut users: BTreeSet<String> = on_roster.keys().cloned().collect();
        let mut roster_changes: BTreeMap<String, RosterChange> = BTreeMap::new();
        for (user, list) in &writes.roster {
            let Some((action, change)) = list.last() else {
                continue;
            };
            // Sent, and the roster read since: the roster shows it.
            if !change.open() && change.updated_at <= roster_read {
                continue;
            }
            roster_changes.insert(
                user.clone(),
                RosterChange {
                    action: *action,
                    change: change.clone(),
                },
            );
            if *action == RosterAction::Add {
                users.insert(user.clone());
            }
        }

        let mut members = Vec::new();
        for user in users {
            let student = match on_roster.get(&user) {
                Some(s) => Some(s.clone()),
                None => cache.student(SYSTEM, &user)?,
            };
            let (name, given, family, ext, level) = match &student {
                Some(s) => (
                    s.display_name(),
                    s.given_name.clone(),
                    s.family_name.clone(),
                    s.external_id.clone(),
                    s.grade.clone(),
                ),
                None => (
                    format!("Matrix user {user}"),
                    String::new(),
                    user.clone(),
                    None,
                    None,
                ),
            };
            let row_grades = assignments
                .iter()
                .map(|a| {
                    let key = (a.id.clone(), user.clone());
                    let cached = cells.get(&key);
                    let fetched = cached.map_or(grades_read, |g| g.source.fetched_at);
                    let queued = writes
                        .grades
                        .get(&key)
                        .and_then(|l| l.last())
                        .filter(|(_, c)| c.open() || c.updated_at > fetched);
                    GradeCell {
                        assignment: a.id.clone(),
                        grade: cached.and_then(|g| grade_text(g)),
                        score: cached.and_then(|g| g.score.clone()),
                        queued: queued.map(|(g, _)| g.clone()),
                        change: queued.map(|(_, c)| c.clone()),
                    }
                })
                .collect();
            members.push(ClassMember {
                person: person_id(SYSTEM, &user, ext.as_deref()),
                on_roster: on_roster.contains_key(&user),
                roster_change: roster_changes.get(&user).cloned(),
                user_id: user,
                name,
                given_name: given,
                family_name: family,
                grade_level: level,
                grades: row_grades,
            });
        }
        members.sort_by_cached_key(|m| {
            (
                m.family_name.to_lowercase(),
                m.given_name.to_lowercase(),
                m.user_id.clone(),
            )
        });
        Ok(ClassPage {
            class: info,
            assignments,
            members,
            roster_as_of,
        })
    }

    /// Queues enrolling (`Add`) or unenrolling students in a Matrix class, after checking each
    /// against the class page: a child already on the roster is not added again, one not on
    /// it is not removed, and a child with a roster change still waiting in the outbox gets
    /// no second one. Any refusal and nothing is queued.
    pub fn class_change(
        &self,
        class: &str,
        action: RosterAction,
        students: &[String],
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let page = self.class_page(class)?;
        if students.is_empty() {
            return Err(invalid("Choose at least one student. Nothing was changed."));
        }
        if students.len() > 200 {
            return Err(invalid(
                "Change at most 200 students at a time. Nothing was changed.",
            ));
        }
        let mut ids: Vec<String> = Vec::new();
        for s in students {
            let record = self.matrix_record(s)?;
            let user = record.source.source_id.clone();
            let name = record.display_name();
            let member = page.members.iter().find(|m| m.user_id == user);
            if let Some(waiting) = member
                .and_then(|m| m.roster_change.as_ref())
                .filter(|c| c.change.open())
            {
                return Err(invalid(format!(
                    "{name} already has a change waiting for this class (to be {} it, write \
                     {} in the Outbox, {}). Wait for it to be sent, or settle it in the \
                     Outbox. Nothing was changed.",
                    waiting.action.verb(),
                    waiting.change.outbox_id,
                    state_words(waiting.change.state)
                )));
            }
            // On the roster now: as synced, with any change Matrix has confirmed since.
            let enrolled = member.is_some_and(|m| match &m.roster_change {
                Some(c) => c.action == RosterAction::Add,
                None => m.on_roster,
            });
            match action {
                RosterAction::Add if enrolled => {
                    return Err(invalid(format!(
                        "{name} is already on the roster of {}. Nothing was changed.",
                        page.class.name
                    )))
                }
                RosterAction::Remove if !enrolled => {
                    return Err(invalid(format!(
                        "{name} is not on the roster of {}, so there is nothing to remove. \
                         Nothing was changed.",
                        page.class.name
                    )))
                }
                _ => {}
            }
            if !ids.contains(&user) {
                ids.push(user);
            }
        }
        self.change_class(
            action == RosterAction::Add,
            &page.class.source_id,
            &ids,
            now,
            key,
        )
    }

    /// Queues one student's grade for one assignment of a Matrix class, after checking the
    /// class, that the student is on its roster (or being added), that the assignment is the
    /// class's and that the grade is one Matrix takes for it. The grade is written as Matrix
    /// keeps it (`b+` → `B+`). Any refusal and nothing is queued.
    pub fn class_grade(
        &self,
        class: &str,
        assignment: &str,
        student: &str,
        grade: &str,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let page = self.class_page(class)?;
        let assignment = assignment.trim();
        let Some(a) = page.assignments.iter().position(|x| x.id == assignment) else {
            return Err(invalid(if assignment.is_empty() {
                "Choose the assignment first. Nothing was changed.".to_string()
            } else {
                format!(
                    "{} has no assignment '{assignment}' in the cache. Pick the assignment from \
                     the class page; if it is new in Matrix, sync first. Nothing was changed.",
                    page.class.name
                )
            }));
        };
        let record = self.matrix_record(student)?;
        let name = record.display_name();
        let member = page
            .members
            .iter()
            .find(|m| m.user_id == record.source.source_id)
            .filter(|m| match &m.roster_change {
                Some(c) => c.action == RosterAction::Add,
                None => m.on_roster,
            })
            .ok_or_else(|| {
                invalid(format!(
                    "{name} is not on the roster of {}, so Matrix would refuse a grade for \
                     them. Add them to the class first. Nothing was changed.",
                    page.class.name
                ))
            })?;
        let grade = checked_grade(grade, page.assignments[a].points)
            .map_err(|why| invalid(format!("{why} Nothing was changed.")))?;
        let cell = &member.grades[a];
        if let Some(c) = cell
            .change
            .as_ref()
            .filter(|c| matches!(c.state, OutboxState::Conflict | OutboxState::Failed))
        {
            return Err(invalid(format!(
                "{name}'s grade for this assignment is waiting for a decision (write {} in the \
                 Outbox, {}). Settle it there first. Nothing was changed.",
                c.outbox_id,
                state_words(c.state)
            )));
        }
        let current = cell.queued.as_ref().or(cell.grade.as_ref());
        if current.is_some_and(|g| g.eq_ignore_ascii_case(&grade)) {
            return Err(invalid(format!(
                "{name} already has {grade} for this assignment. Nothing was changed."
            )));
        }
        self.set_grade(
            &page.class.source_id,
            assignment,
            &record.source.source_id,
            &grade,
            now,
            key,
        )
    }
}

fn unknown_student(given: &str) -> DeskError {
    invalid(format!(
        "There is no student '{given}' in the cache. Pick the student from the list; if they \
         are new, sync first. Nothing was changed."
    ))
}

fn state_words(state: OutboxState) -> &'static str {
    match state {
        OutboxState::Pending | OutboxState::Sending => "not sent yet",
        OutboxState::Held => "held until Matrix's connection is fixed",
        OutboxState::Conflict => "in conflict with a change made in Matrix",
        OutboxState::Failed => "refused or failed",
        OutboxState::Done => "sent",
        OutboxState::Discarded => "discarded",
    }
}

fn class_info(
    sec: schooldesk_domain::Section,
    schools: &BTreeMap<String, String>,
    sizes: &BTreeMap<(System, String), u64>,
) -> ClassInfo {
    let raw = &sec.source.raw;
    let codes: Vec<String> = ["course_code", "section_code"]
        .iter()
        .filter_map(|k| raw_text(raw, k))
        .collect();
    let code = if codes.is_empty() {
        sec.code.clone()
    } else {
        Some(codes.join(" · "))
    };
    let id = sec.source.source_id.clone();
    ClassInfo {
        id: qualified_id(SYSTEM, &id),
        school: sec
            .school_source_id
            .as_ref()
            .and_then(|s| schools.get(s).cloned()),
        teacher: raw_text(raw, "teacher_name"),
        students: sizes.get(&(SYSTEM, id.clone())).copied().unwrap_or(0),
        archived: raw.get("archived").and_then(Value::as_bool) == Some(true),
        source_id: id,
        name: sec.name,
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_matrix_takes_are_written_as_it_keeps_them() {
        assert_eq!(checked_grade(" b+ ", Some(20.0)), Ok("B+".into()));
        assert_eq!(checked_grade("F", None), Ok("F".into()));
        assert_eq!(checked_grade("ab", None), Ok("AB".into()));
        assert_eq!(checked_grade("17.50", Some(20.0)), Ok("17.5".into()));
        assert_eq!(checked_grade("20", Some(20.0)), Ok("20".into()));
        assert_eq!(checked_grade("85 %", Some(20.0)), Ok("85%".into()));
        assert_eq!(checked_grade("85%", None), Ok("85%".into()));
    }

    #[test]
    fn grades_matrix_would_refuse_are_refused_with_what_to_type() {
        for (grade, words) in [
            ("", "empty"),
            ("F+", "not a grade"),
            ("E", "not a grade"),
            ("A++", "not a grade"),
            ("-3", "below zero"),
            ("21", "out of 20 points"),
            ("120%", "percentage from 0% to 100%"),
            ("good", "not a grade"),
            ("NaN", "not a grade"),
        ] {
            let err = checked_grade(grade, Some(20.0)).expect_err(grade);
            assert!(err.contains(words), "{grade}: {err}");
        }
        // Without points known, any score from zero up is Matrix's to judge.
        assert_eq!(checked_grade("250", None), Ok("250".into()));
    }
}
