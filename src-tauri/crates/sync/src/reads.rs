//! What the desk shows from the cache: the sections of every system, one section's roster,
//! one child across systems, the disagreements to review, and where each system stands.
//!
//! Everything here reads the cache only (no network). Every item carries an `id` that the
//! other reads accept back: `system:id` (e.g. `omniforge:stu_12`), because two systems may
//! use the same id for different things.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_domain::{AttendanceMark, EnrollmentRecordKind, Student, System};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::desk::{Desk, DeskError, Result, Status};
use crate::pull::{SyncMode, SyncProblem, SyncReport};

/// `system:id`, the form every read prints and accepts.
pub fn qualified_id(system: System, source_id: &str) -> String {
    format!("{}:{source_id}", system.as_str())
}

/// Splits `system:id`; an id without a known system prefix is returned whole (`None`).
pub fn parse_id(id: &str) -> (Option<System>, &str) {
    let id = id.trim();
    match id.split_once(':') {
        Some((system, rest)) if !rest.trim().is_empty() => match system.parse::<System>() {
            Ok(system) => (Some(system), rest.trim()),
            Err(_) => (None, id),
        },
        _ => (None, id),
    }
}

/// A section (class, homeroom, tutor group) as listed by `schooldesk sections`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectionInfo {
    /// `system:id`.
    pub id: String,
    pub system: System,
    pub source_id: String,
    pub name: String,
    pub code: Option<String>,
    /// `system:id` of its school, when the system says.
    pub school_id: Option<String>,
    /// The school's name, when the school is cached.
    pub school: Option<String>,
    /// Cached students on its roster.
    pub students: u64,
}

/// One student on a roster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RosterEntry {
    /// `system:id`.
    pub id: String,
    pub system: System,
    pub source_id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub grade: Option<String>,
}

/// One section's roster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roster {
    pub section: SectionInfo,
    pub students: Vec<RosterEntry>,
}

/// One system's record of a child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentRecord {
    /// `system:id`.
    pub id: String,
    pub system: System,
    pub source_id: String,
    /// `student`, or `enrollment record` (PowerSchool Enrollment's roster records).
    pub kind: &'static str,
    pub name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub grade: Option<String>,
    pub homeroom: Option<String>,
    pub active: bool,
}

/// A guardian or contact of a child, with what they may do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactInfo {
    /// `system:id` of the guardian or contact.
    pub id: String,
    pub system: System,
    /// `system:id` of the child's record this link belongs to.
    pub student_id: String,
    pub name: String,
    pub relationship: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub primary: bool,
    /// Whether they may collect the child: `false` is a "may NOT collect" the office must
    /// see; `null` when the system does not say.
    pub may_collect: Option<bool>,
    pub emergency_contact: Option<bool>,
}

/// A section a child is enrolled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnrollmentInfo {
    /// `system:id` of the section.
    pub id: String,
    pub system: System,
    pub name: String,
    pub code: Option<String>,
}

/// One attendance mark of a child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkInfo {
    /// `system:id` of the mark once its system confirmed it; until then
    /// `system:local:<student>/<section>/<period>/<date>`.
    pub id: String,
    pub system: System,
    pub date: NaiveDate,
    /// `system:id` of the section, when the mark has one.
    pub section_id: Option<String>,
    pub period: Option<String>,
    pub status: String,
    pub code: Option<String>,
    pub note: Option<String>,
    /// `synced`, `pending`, `conflict` or `local_only`.
    pub state: &'static str,
}

/// One child, across every system that knows them (matched by the district's external id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentCard {
    /// `system:id` of the first record (in system order).
    pub id: String,
    pub name: String,
    pub external_id: Option<String>,
    /// Each system's record: the ids to use with that system.
    pub records: Vec<StudentRecord>,
    pub contacts: Vec<ContactInfo>,
    pub enrollments: Vec<EnrollmentInfo>,
    /// The day `marks` are of.
    pub today: NaiveDate,
    pub marks: Vec<MarkInfo>,
}

/// One value a system holds for a disagreeing field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemValue {
    pub system: System,
    pub value: String,
}

/// A field on which systems disagree about the same child.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisagreementItem {
    /// `<external id>/<field>`.
    pub id: String,
    pub external_id: String,
    pub field: String,
    /// The child's name, as the first system that has them writes it.
    pub name: Option<String>,
    pub values: Vec<SystemValue>,
    /// `system:id` of every record of this child.
    pub records: Vec<String>,
}

/// The last sync of one system, from the cache's sync state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastSync {
    pub run: u64,
    pub mode: SyncMode,
    pub started_at: DateTime<Utc>,
    /// When it finished, or last stored a page if it did not finish.
    pub updated_at: DateTime<Utc>,
    pub completed: bool,
}

/// Something about a system that a person should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attention {
    pub code: String,
    /// The sentence for the person at the desk.
    pub message: String,
    pub retryable: bool,
    pub at: DateTime<Utc>,
}

/// Outbox entries of one system, per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxTally {
    pub pending: u64,
    pub sending: u64,
    pub conflict: u64,
    pub failed: u64,
    pub done: u64,
}

/// Where one system stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemStatus {
    /// The system's name (`omniforge`, …).
    pub id: String,
    pub system: System,
    pub connected: bool,
    pub last_sync: Option<LastSync>,
    /// The problem that stopped the last sync, if it has not been followed by a good one.
    pub needs_attention: Option<Attention>,
    pub outbox: OutboxTally,
    /// Removals the last sync held back until a person confirms them
    /// (`sync --confirm-removals`). Filled by the removal guardrail; 0 until then.
    pub held_removals: u64,
}

/// `schooldesk status`: [`Status`] and where each system stands.
#[derive(Debug, Clone, Serialize)]
pub struct DeskStatus {
    #[serde(flatten)]
    pub base: Status,
    pub systems: Vec<SystemStatus>,
}

/// The `run` row the pull keeps per system (see `pull::state`); only what status shows.
#[derive(Debug, Deserialize)]
struct StoredRun {
    id: u64,
    mode: SyncMode,
    complete: bool,
    started_at: DateTime<Utc>,
}

/// What [`Desk::remember_sync`] stores per system.
#[derive(Debug, Serialize, Deserialize)]
struct StoredOutcome {
    mode: SyncMode,
    completed: bool,
    cancelled: bool,
    problem: Option<StoredProblem>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredProblem {
    code: String,
    message: String,
    retryable: bool,
}

impl From<&SyncProblem> for StoredProblem {
    fn from(p: &SyncProblem) -> Self {
        StoredProblem {
            code: p.code.clone(),
            message: p.message.clone(),
            retryable: p.retryable,
        }
    }
}

fn not_found(what: &str, id: &str, how: &str) -> DeskError {
    DeskError::InvalidInput(format!("There is no {what} '{id}' in the cache. {how}"))
}

fn ambiguous(what: &str, id: &str, ids: &[String]) -> DeskError {
    DeskError::InvalidInput(format!(
        "'{id}' names more than one {what} ({}): give one of these ids instead.",
        ids.join(", ")
    ))
}

impl Desk {
    /// Every cached section (class, homeroom, tutor group) of every system, with its school
    /// and how many students its roster holds; only one school's when `school` is given
    /// (`system:id`, or an id in any system).
    pub fn sections(&self, school: Option<&str>) -> Result<Vec<SectionInfo>> {
        let cache = self.cache();
        let schools: BTreeMap<(System, String), String> = cache
            .schools(None)?
            .into_iter()
            .map(|s| ((s.source.system, s.source.source_id), s.name))
            .collect();
        let sizes = cache.section_sizes()?;
        let filter = school.map(parse_id);
        if let Some((system, id)) = filter {
            let known = schools
                .keys()
                .any(|(s, sid)| sid == id && system.is_none_or(|want| want == *s));
            let named = cache.sections(system)?.iter().any(|sec| {
                sec.school_source_id.as_deref() == Some(id)
                    && system.is_none_or(|want| want == sec.source.system)
            });
            if !known && !named {
                return Err(not_found(
                    "school",
                    school.unwrap_or_default().trim(),
                    "The school ids are in the school column of `schooldesk sections`; \
                     sync first if it is empty.",
                ));
            }
        }
        let mut out: Vec<SectionInfo> = cache
            .sections(None)?
            .into_iter()
            .filter(|sec| match filter {
                None => true,
                Some((system, id)) => {
                    sec.school_source_id.as_deref() == Some(id)
                        && system.is_none_or(|want| want == sec.source.system)
                }
            })
            .map(|sec| {
                let system = sec.source.system;
                let key = (system, sec.source.source_id.clone());
                SectionInfo {
                    id: qualified_id(system, &sec.source.source_id),
                    students: sizes.get(&key).copied().unwrap_or(0),
                    school: sec
                        .school_source_id
                        .as_ref()
                        .and_then(|s| schools.get(&(system, s.clone())).cloned()),
                    school_id: sec
                        .school_source_id
                        .as_deref()
                        .map(|s| qualified_id(system, s)),
                    system,
                    source_id: sec.source.source_id,
                    name: sec.name,
                    code: sec.code,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.school, a.name.to_lowercase(), a.system, &a.source_id).cmp(&(
                &b.school,
                b.name.to_lowercase(),
                b.system,
                &b.source_id,
            ))
        });
        Ok(out)
    }

    /// The students of one section (`system:id`, or an id found in one system only).
    pub fn roster(&self, section: &str) -> Result<Roster> {
        let cache = self.cache();
        let (system, id) = parse_id(section);
        let systems: Vec<System> = match system {
            Some(s) => vec![s],
            None => System::ALL.to_vec(),
        };
        let mut found = Vec::new();
        for s in systems {
            if let Some(sec) = cache.section(s, id)? {
                found.push(sec);
            }
        }
        let sec = match found.len() {
            0 => {
                return Err(not_found(
                    "section",
                    section.trim(),
                    "List the sections and their ids with `schooldesk sections`; sync first \
                     if the section is new.",
                ))
            }
            1 => found.remove(0),
            _ => {
                let ids: Vec<String> = found
                    .iter()
                    .map(|s| qualified_id(s.source.system, &s.source.source_id))
                    .collect();
                return Err(ambiguous("section", section.trim(), &ids));
            }
        };
        let system = sec.source.system;
        let students: Vec<RosterEntry> = cache
            .roster(system, &sec.source.source_id)?
            .into_iter()
            .map(|s| RosterEntry {
                id: qualified_id(system, &s.source.source_id),
                system,
                name: s.display_name(),
                source_id: s.source.source_id,
                external_id: s.external_id,
                grade: s.grade,
            })
            .collect();
        let school = match &sec.school_source_id {
            Some(s) => cache
                .schools(Some(system))?
                .into_iter()
                .find(|sch| &sch.source.source_id == s)
                .map(|sch| sch.name),
            None => None,
        };
        Ok(Roster {
            section: SectionInfo {
                id: qualified_id(system, &sec.source.source_id),
                students: students.len() as u64,
                school,
                school_id: sec
                    .school_source_id
                    .as_deref()
                    .map(|s| qualified_id(system, s)),
                system,
                source_id: sec.source.source_id,
                name: sec.name,
                code: sec.code,
            },
            students,
        })
    }

    /// One child across systems: `id` is `system:id`, an id in any system, or the district's
    /// external id. Records sharing the child's external id are the same child. `today` is the
    /// day whose marks are shown.
    pub fn student_card(&self, id: &str, today: NaiveDate) -> Result<StudentCard> {
        let cache = self.cache();
        let asked = id.trim();
        let (system, bare) = parse_id(asked);
        let mut found: Vec<Student> = Vec::new();
        match system {
            Some(s) => found.extend(cache.student(s, bare)?),
            None => {
                for s in System::ALL {
                    found.extend(cache.student(s, bare)?);
                }
                if found.is_empty() {
                    found = cache.students_by_external_id(bare)?;
                }
            }
        }
        if found.is_empty() && system.is_none() {
            // A child PowerSchool Enrollment knows only by its roster record.
            let record = cache
                .enrollment_records(System::PowerSchool, Some(EnrollmentRecordKind::Roster))?
                .into_iter()
                .find(|r| r.source.source_id == bare);
            if let Some(ext) = record.and_then(|r| r.external_student_id) {
                found = cache.students_by_external_id(&ext)?;
            }
        }
        let Some(first) = found.first() else {
            return Err(not_found(
                "student",
                asked,
                "Find the id with `schooldesk students --search NAME`, or sync first.",
            ));
        };
        let external = first.external_id.clone().filter(|e| !e.trim().is_empty());
        let same_child = found
            .iter()
            .all(|s| s.external_id.is_some() && s.external_id == first.external_id);
        if found.len() > 1 && !same_child {
            let ids: Vec<String> = found
                .iter()
                .map(|s| qualified_id(s.source.system, &s.source.source_id))
                .collect();
            return Err(ambiguous("student", asked, &ids));
        }
        let students = match &external {
            Some(ext) => cache.students_by_external_id(ext)?,
            None => found,
        };
        let mut records: Vec<StudentRecord> = Vec::new();
        let mut contacts = Vec::new();
        let mut enrollments = Vec::new();
        let mut marks = Vec::new();
        let day_marks = cache.attendance_marks(today, None)?;
        for s in &students {
            let system = s.source.system;
            let sid = &s.source.source_id;
            let homeroom = match &s.homeroom {
                Some(h) => Some(cache.section(system, h)?.map_or(h.clone(), |sec| sec.name)),
                None => None,
            };
            records.push(StudentRecord {
                id: qualified_id(system, sid),
                system,
                source_id: sid.clone(),
                kind: "student",
                name: s.display_name(),
                date_of_birth: s.date_of_birth,
                grade: s.grade.clone(),
                homeroom,
                active: s.active,
            });
            for (g, link) in cache.guardians_of(system, sid)? {
                contacts.push(ContactInfo {
                    id: qualified_id(system, &g.source.source_id),
                    system,
                    student_id: qualified_id(system, sid),
                    name: format!("{} {}", g.given_name, g.family_name)
                        .trim()
                        .to_string(),
                    relationship: link.relationship,
                    phone: g.phone,
                    email: g.email,
                    primary: link.is_primary,
                    may_collect: link.can_pick_up,
                    emergency_contact: link.emergency_contact,
                });
            }
            for sec in cache.sections_of(system, sid)? {
                enrollments.push(EnrollmentInfo {
                    id: qualified_id(system, &sec.source.source_id),
                    system,
                    name: sec.name,
                    code: sec.code,
                });
            }
            marks.extend(
                day_marks
                    .iter()
                    .filter(|m| m.source.system == system && &m.student_source_id == sid)
                    .map(mark_info),
            );
        }
        if let Some(ext) = &external {
            for r in cache
                .enrollment_records(System::PowerSchool, Some(EnrollmentRecordKind::Roster))?
                .into_iter()
                .filter(|r| r.external_student_id.as_deref() == Some(ext.as_str()))
            {
                records.push(StudentRecord {
                    id: qualified_id(System::PowerSchool, &r.source.source_id),
                    system: System::PowerSchool,
                    kind: "enrollment record",
                    name: format!(
                        "{} {}",
                        r.given_name.clone().unwrap_or_default(),
                        r.family_name.clone().unwrap_or_default()
                    )
                    .trim()
                    .to_string(),
                    date_of_birth: r.date_of_birth,
                    grade: r.grade.clone(),
                    homeroom: None,
                    active: true,
                    source_id: r.source.source_id,
                });
            }
        }
        records.sort_by(|a, b| (a.system, &a.source_id).cmp(&(b.system, &b.source_id)));
        let first = &records[0];
        Ok(StudentCard {
            id: first.id.clone(),
            name: first.name.clone(),
            external_id: external,
            records,
            contacts,
            enrollments,
            today,
            marks,
        })
    }

    /// The details that differ between systems for the same child, for a person to review
    /// (found by the last sync; nothing is merged or overwritten).
    pub fn disagreement_list(&self) -> Result<Vec<DisagreementItem>> {
        let cache = self.cache();
        let mut children: BTreeMap<String, Vec<Student>> = BTreeMap::new();
        let mut out = Vec::new();
        for d in cache.disagreements()? {
            if !children.contains_key(&d.external_id) {
                let found = cache.students_by_external_id(&d.external_id)?;
                children.insert(d.external_id.clone(), found);
            }
            let students = &children[&d.external_id];
            out.push(DisagreementItem {
                id: format!("{}/{}", d.external_id, d.field),
                name: students.first().map(Student::display_name),
                records: students
                    .iter()
                    .map(|s| qualified_id(s.source.system, &s.source.source_id))
                    .collect(),
                values: d
                    .values
                    .into_iter()
                    .map(|(system, value)| SystemValue { system, value })
                    .collect(),
                external_id: d.external_id,
                field: d.field,
            });
        }
        Ok(out)
    }

    /// [`Desk::status`] with, per system, the last sync, what needs attention and the
    /// outbox counts.
    pub fn desk_status(&self) -> Result<DeskStatus> {
        let base = self.status()?;
        let cache = self.cache();
        let outbox = cache.outbox_counts_by_system()?;
        let mut systems = Vec::new();
        for system in System::ALL {
            let connected = base.connections.iter().any(|c| c.system == system);
            let run = cache.sync_state(system, "run")?.and_then(|s| {
                let run: StoredRun = serde_json::from_value(s.progress).ok()?;
                Some(LastSync {
                    run: run.id,
                    mode: run.mode,
                    started_at: run.started_at,
                    updated_at: s.updated_at,
                    completed: run.complete,
                })
            });
            let outcome = cache.last_sync_outcome(system)?.and_then(|s| {
                let o: StoredOutcome = serde_json::from_value(s.progress).ok()?;
                Some((o, s.updated_at))
            });
            let needs_attention = outcome.and_then(|(o, at)| {
                let p = o.problem?;
                // A complete run recorded after the problem (by a process that did not
                // record its outcome) has answered it.
                let answered = run
                    .as_ref()
                    .is_some_and(|r| r.completed && r.updated_at > at);
                (!answered).then_some(Attention {
                    code: p.code,
                    message: p.message,
                    retryable: p.retryable,
                    at,
                })
            });
            let counts = outbox.get(&system);
            let n = |state: &str| counts.and_then(|c| c.get(state)).copied().unwrap_or(0);
            let tally = OutboxTally {
                pending: n("pending"),
                sending: n("sending"),
                conflict: n("conflict"),
                failed: n("failed"),
                done: n("done"),
            };
            if !connected && run.is_none() && counts.is_none() {
                continue;
            }
            systems.push(SystemStatus {
                id: system.as_str().to_string(),
                system,
                connected,
                last_sync: run,
                needs_attention,
                outbox: tally,
                held_removals: self
                    .cache()
                    .held_removals(system)?
                    .iter()
                    .map(|(_, n)| n)
                    .sum(),
            });
        }
        Ok(DeskStatus { base, systems })
    }

    /// Keeps how each system's sync in `report` ended, so that `status` can say what needs
    /// attention after this process is gone. A good sync clears an earlier problem.
    pub fn remember_sync(&self, report: &SyncReport, now: DateTime<Utc>) -> Result<()> {
        for s in &report.systems {
            let outcome = StoredOutcome {
                mode: s.mode,
                completed: s.completed,
                cancelled: s.cancelled,
                problem: s.error.as_ref().map(StoredProblem::from),
            };
            let value =
                serde_json::to_value(&outcome).map_err(schooldesk_cache::CacheError::from)?;
            self.cache().set_last_sync_outcome(s.system, &value, now)?;
        }
        Ok(())
    }
}

fn mark_info(m: &AttendanceMark) -> MarkInfo {
    let system = m.source.system;
    let id = if m.source.source_id.is_empty() {
        format!(
            "{}:local:{}/{}/{}/{}",
            system.as_str(),
            m.student_source_id,
            m.section_source_id.as_deref().unwrap_or(""),
            m.period.as_deref().unwrap_or(""),
            m.date
        )
    } else {
        qualified_id(system, &m.source.source_id)
    };
    MarkInfo {
        id,
        system,
        date: m.date,
        section_id: m
            .section_source_id
            .as_deref()
            .map(|s| qualified_id(system, s)),
        period: m.period.clone(),
        status: m.status.to_string(),
        code: m.code.clone(),
        note: m.note.clone(),
        state: m.state.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_with_and_without_a_system() {
        assert_eq!(
            parse_id("omniforge:stu-1"),
            (Some(System::OmniForge), "stu-1")
        );
        assert_eq!(parse_id(" Matrix:42 "), (Some(System::Matrix), "42"));
        assert_eq!(parse_id("stu-1"), (None, "stu-1"));
        // A colon that does not follow a system's name is part of the id.
        assert_eq!(parse_id("urn:x"), (None, "urn:x"));
        assert_eq!(parse_id("hubmis:"), (None, "hubmis:"));
        assert_eq!(qualified_id(System::Hubmis, "P1"), "hubmis:P1");
    }
}
