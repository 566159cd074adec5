//! The register as an attendance clerk takes it: one section's (or, for HUBmis, one tutor
//! group's AM or PM session's) pupils in roster order, each with the mark of the day, where
//! that mark stands (waiting in the outbox, sent, in conflict, kept here only) and who took
//! it when; and the checked ways to take a mark or mark the rest present.
//!
//! Marks go through [`Desk::mark_attendance`], so a mark is saved at once and queued once for
//! the systems that take attendance writes (OmniForge); HUBmis is read-only and Matrix takes
//! no attendance writes, so their marks are kept here (and exported as a register).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schooldesk_cache::attendance_write_operation;
use schooldesk_domain::{
    mark_entity_key, AttendanceMark, AttendanceStatus, MarkState, OutboxEntry, OutboxState, System,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::desk::{Desk, DeskError, MarkRequest, Result};
use crate::reads::{qualified_id, SectionInfo};

/// Longest note kept with a mark (OmniForge's own limit).
pub const MAX_NOTE_CHARS: usize = 1000;
/// Most minutes late a mark can carry: a whole school day.
pub const MAX_MINUTES_LATE: u32 = 480;

/// A school code the register can use, with what it means in Schooldesk's terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterCode {
    pub code: String,
    pub description: String,
    /// The status the code records, when known.
    pub status: Option<AttendanceStatus>,
}

/// The code each of the four quick marks records at this school (none: status only).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuickCodes {
    pub present: Option<String>,
    pub absent: Option<String>,
    pub late: Option<String>,
    pub excused: Option<String>,
}

impl QuickCodes {
    pub fn for_status(&self, status: AttendanceStatus) -> Option<&String> {
        match status {
            AttendanceStatus::Present => self.present.as_ref(),
            AttendanceStatus::Absent => self.absent.as_ref(),
            AttendanceStatus::Tardy => self.late.as_ref(),
            AttendanceStatus::Excused => self.excused.as_ref(),
        }
    }
}

/// Where one pupil's mark stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    /// Not marked yet.
    Unmarked,
    /// Saved here, waiting to be sent (or being sent).
    Pending,
    /// Taken here and confirmed by the system.
    Sent,
    /// The system's own mark, from a sync.
    Synced,
    /// The system holds another version: a person chooses in the Outbox.
    Conflict,
    /// The system refused it; see the Outbox.
    Failed,
    /// Kept until the system's connection is fixed.
    Held,
    /// A person chose not to send it.
    Discarded,
    /// Kept here only: the system takes no attendance writes.
    Local,
}

impl LineState {
    fn of(mark: &AttendanceMark, entry: Option<&OutboxEntry>) -> LineState {
        if let Some(e) = entry {
            // The mark's own state wins when it says the system's value was taken since.
            if mark.state == MarkState::Synced && e.state != OutboxState::Done {
                return LineState::Synced;
            }
            return match e.state {
                OutboxState::Pending | OutboxState::Sending => LineState::Pending,
                OutboxState::Done => LineState::Sent,
                OutboxState::Conflict => LineState::Conflict,
                OutboxState::Failed => LineState::Failed,
                OutboxState::Held => LineState::Held,
                OutboxState::Discarded => LineState::Discarded,
            };
        }
        match mark.state {
            MarkState::Synced => LineState::Synced,
            MarkState::Pending => LineState::Pending,
            MarkState::Conflict => LineState::Conflict,
            MarkState::LocalOnly => LineState::Local,
        }
    }
}

/// One pupil's mark on the register.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineMark {
    pub status: AttendanceStatus,
    pub code: Option<String>,
    pub minutes_late: Option<u32>,
    pub note: Option<String>,
    /// Another period's mark of the day, shown because this register has none (Matrix
    /// classes meet at times of day).
    pub period: Option<String>,
    /// Taken at this desk (not synced from the system).
    pub marked_here: bool,
    /// When it was taken (here), or when the system last changed it, if it says.
    pub marked_at: Option<DateTime<Utc>>,
    /// Who took it, when the system says (marks taken here: the shell names this desk's user).
    pub marked_by: Option<String>,
    /// The latest outbox entry for this mark.
    pub outbox_id: Option<i64>,
    pub last_error: Option<String>,
}

/// One pupil on the register.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterLine {
    /// `system:id`: what [`RegisterMark::student`] takes back.
    pub student: String,
    pub name: String,
    pub external_id: Option<String>,
    pub state: LineState,
    pub mark: Option<LineMark>,
}

/// One register: a section on a date (and a session for HUBmis).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterSheet {
    pub section: SectionInfo,
    pub date: NaiveDate,
    /// The school's today (in the connection's time zone).
    pub today: NaiveDate,
    /// `am` or `pm` for a HUBmis session register; none for a class register.
    pub session: Option<String>,
    /// The sessions this register has (`["am", "pm"]` for HUBmis, else none).
    pub sessions: Vec<String>,
    /// Whether marks go to the system (OmniForge) or are kept here only.
    pub takes_writes: bool,
    /// Whether marks may be taken for this date (not a day still to come).
    pub can_mark: bool,
    pub codes: Vec<RegisterCode>,
    pub quick: QuickCodes,
    pub lines: Vec<RegisterLine>,
}

/// A mark a person takes on the register.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterMark {
    pub section: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub session: Option<String>,
    /// `system:id` of the pupil (a [`RegisterLine::student`]).
    pub student: String,
    /// `present`, `absent`, `late` (or `tardy`), `excused`.
    pub status: String,
    pub code: Option<String>,
    pub minutes_late: Option<u32>,
    pub note: Option<String>,
}

fn invalid(msg: impl Into<String>) -> DeskError {
    DeskError::InvalidInput(msg.into())
}

/// A register's date, as `YYYY-MM-DD`.
pub fn parse_date(value: &str) -> Result<NaiveDate> {
    let v = value.trim();
    let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "'{v}' is not a date Schooldesk understands for a register. Give it as \
             year-month-day, for example 2025-09-01. Nothing was saved."
        ))
    })?;
    if !(1990..=2100).contains(&date.year()) {
        return Err(invalid(format!(
            "{date} is not a school day Schooldesk keeps registers for. Check the year. \
             Nothing was saved."
        )));
    }
    Ok(date)
}

/// The codes Schooldesk prefers for the four quick marks, per system: the DfE's `/` and `\`
/// (present AM / PM), `N`, `L` and `C` for HUBmis; OmniForge's own letters; Matrix's statuses.
fn preferred(system: System, session: Option<&str>, status: AttendanceStatus) -> &'static str {
    use AttendanceStatus::*;
    match (system, status) {
        (System::Hubmis, Present) if session == Some("pm") => "\\",
        (System::Hubmis, Present) => "/",
        (System::Hubmis, Absent) => "N",
        (System::Hubmis, Tardy) => "L",
        (System::Hubmis, Excused) => "C",
        (System::Matrix, Present) => "OnTime",
        (System::Matrix, Absent) => "Absent",
        (System::Matrix, Tardy) => "Late",
        (System::Matrix, Excused) => "Excuse",
        (_, Present) => "P",
        (_, Absent) => "A",
        (_, Tardy) => "T",
        (_, Excused) => "E",
    }
}

/// The code a quick mark records: the preferred one when the school uses it, else the first
/// of the school's codes with that meaning; none when the desk knows no codes (the system
/// then records its own).
pub fn quick_code(
    system: System,
    session: Option<&str>,
    status: AttendanceStatus,
    codes: &[RegisterCode],
) -> Option<String> {
    let want = preferred(system, session, status);
    if codes.iter().any(|c| c.code == want) {
        return Some(want.to_string());
    }
    codes
        .iter()
        .find(|c| c.status == Some(status))
        .map(|c| c.code.clone())
}

fn known_status(system: System, code: &str) -> Option<(AttendanceStatus, &'static str)> {
    use AttendanceStatus::*;
    Some(match (system, code) {
        (System::Matrix, "OnTime") => (Present, "On time"),
        (System::Matrix, "Early") => (Present, "Left early"),
        (System::Matrix, "Late") => (Tardy, "Late"),
        (System::Matrix, "Absent") => (Absent, "Absent"),
        (System::Matrix, "NoExcuse") => (Absent, "Absent, no excuse"),
        (System::Matrix, "Excuse") => (Excused, "Excused"),
        (System::OmniForge, "P") => (Present, "Present"),
        (System::OmniForge, "A") => (Absent, "Absent"),
        (System::OmniForge, "T") => (Tardy, "Tardy"),
        (System::OmniForge, "E") => (Excused, "Excused"),
        _ => return None,
    })
}

/// Who changed a synced mark, when its system says (none of the four documents it today;
/// the fields are the ones such APIs use).
fn system_author(raw: &Value) -> Option<String> {
    let raw = raw.get("record").unwrap_or(raw);
    [
        "updatedBy",
        "recordedBy",
        "createdBy",
        "recorded_by",
        "teacher",
    ]
    .iter()
    .find_map(|k| match raw.get(*k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Object(o)) => o
            .get("name")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_string()),
        _ => None,
    })
}

fn system_time(raw: &Value) -> Option<DateTime<Utc>> {
    ["updatedAt", "updated_at", "dateTime", "date_time"]
        .iter()
        .filter_map(|k| raw.get(*k).and_then(Value::as_str))
        .find_map(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl Desk {
    /// The school's today for `system` (its connection's time zone, else this computer's).
    pub fn school_today(&self, system: System, now: DateTime<Utc>) -> Result<NaiveDate> {
        let zone = self
            .connections()?
            .into_iter()
            .find(|c| c.system == system)
            .and_then(|c| c.settings.time_zone);
        Ok(crate::pull::school_day(now, zone.as_deref()))
    }

    /// The codes a register of `system` may use: the school's code list where the system
    /// publishes one (HUBmis's DfE codes), and the codes on the marks synced from it.
    pub fn register_codes(&self, system: System) -> Result<Vec<RegisterCode>> {
        let mut out: BTreeMap<String, RegisterCode> = BTreeMap::new();
        for c in self.cache().attendance_codes(Some(system))? {
            out.entry(c.code.clone()).or_insert(RegisterCode {
                description: if c.description.trim().is_empty() {
                    c.code.clone()
                } else {
                    c.description.clone()
                },
                code: c.code,
                status: c.status,
            });
        }
        for code in self.cache().codes_in_use(system)? {
            let known = known_status(system, &code);
            out.entry(code.clone()).or_insert(RegisterCode {
                description: known.map_or_else(|| code.clone(), |(_, d)| d.to_string()),
                status: known.map(|(s, _)| s),
                code,
            });
        }
        Ok(out.into_values().collect())
    }

    /// The sections a register can be taken for (every system but PowerSchool Enrollment,
    /// which keeps no registers), grouped by school.
    pub fn register_sections(&self) -> Result<Vec<SectionInfo>> {
        Ok(self
            .sections(None)?
            .into_iter()
            .filter(|s| s.system != System::PowerSchool)
            .collect())
    }

    /// One section's register for `date` (`None`: the school's today). HUBmis registers are
    /// per session: `session` is `am` or `pm` (default `am`); other systems take none.
    pub fn register_sheet(
        &self,
        section: &str,
        date: Option<&str>,
        session: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<RegisterSheet> {
        let section = section.trim();
        if section.is_empty() {
            return Err(invalid(
                "Choose the class or tutor group to take the register for.",
            ));
        }
        let roster = self.roster(section)?;
        let system = roster.section.system;
        if system == System::PowerSchool {
            return Err(invalid(format!(
                "{} is a PowerSchool Enrollment list, and PowerSchool Enrollment keeps no \
                 registers. Choose a class, homeroom or tutor group from OmniForge, Matrix or \
                 HUBmis.",
                roster.section.name
            )));
        }
        let session = checked_session(system, session)?;
        let today = self.school_today(system, now)?;
        let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => parse_date(d)?,
            None => today,
        };
        let codes = self.register_codes(system)?;
        let quick = QuickCodes {
            present: quick_code(
                system,
                session.as_deref(),
                AttendanceStatus::Present,
                &codes,
            ),
            absent: quick_code(system, session.as_deref(), AttendanceStatus::Absent, &codes),
            late: quick_code(system, session.as_deref(), AttendanceStatus::Tardy, &codes),
            excused: quick_code(
                system,
                session.as_deref(),
                AttendanceStatus::Excused,
                &codes,
            ),
        };

        // HUBmis marks are the pupil's session marks, with no section; the others' are the
        // section's, with no period for a class register.
        let section_key = (system != System::Hubmis).then(|| roster.section.source_id.clone());
        let day = match &section_key {
            Some(sec) => self
                .cache()
                .attendance_marks(date, Some((system, sec.as_str())))?,
            None => self
                .cache()
                .attendance_marks(date, None)?
                .into_iter()
                .filter(|m| m.source.system == system && m.section_source_id.is_none())
                .collect(),
        };
        let mut by_student: HashMap<&str, Vec<&AttendanceMark>> = HashMap::new();
        for m in &day {
            by_student
                .entry(m.student_source_id.as_str())
                .or_default()
                .push(m);
        }
        let mut entries: HashMap<String, OutboxEntry> = HashMap::new();
        if attendance_write_operation(system).is_some() {
            for e in self.outbox(None)? {
                if e.system != system {
                    continue;
                }
                // The newest entry per mark (ids grow).
                match entries.get(&e.entity_key) {
                    Some(seen) if seen.id > e.id => {}
                    _ => {
                        entries.insert(e.entity_key.clone(), e);
                    }
                }
            }
        }

        let lines = roster
            .students
            .into_iter()
            .map(|s| {
                let marks = by_student.get(s.source_id.as_str());
                let exact = marks.and_then(|ms| {
                    ms.iter()
                        .find(|m| m.period.as_deref() == session.as_deref())
                        .copied()
                });
                // A class register with no mark of its own shows another period's of the day
                // (HUBmis sessions are never mixed).
                let shown = exact.or_else(|| {
                    if system == System::Hubmis {
                        return None;
                    }
                    marks.and_then(|ms| ms.first().copied())
                });
                let (state, mark) = match shown {
                    None => (LineState::Unmarked, None),
                    Some(m) => {
                        let key = mark_entity_key(
                            &m.student_source_id,
                            m.section_source_id.as_deref(),
                            m.period.as_deref(),
                            m.date,
                        );
                        let entry = entries.get(&key);
                        let marked_here = entry.is_some() || m.state != MarkState::Synced;
                        let (marked_at, marked_by) = if marked_here {
                            (
                                Some(entry.map_or(m.source.fetched_at, |e| e.created_at)),
                                None,
                            )
                        } else {
                            (system_time(&m.source.raw), system_author(&m.source.raw))
                        };
                        (
                            LineState::of(m, entry),
                            Some(LineMark {
                                status: m.status,
                                code: m.code.clone(),
                                minutes_late: m.minutes.and_then(|n| u32::try_from(n).ok()),
                                note: m.note.clone(),
                                period: if exact.is_some() {
                                    None
                                } else {
                                    m.period.clone()
                                },
                                marked_here,
                                marked_at,
                                marked_by,
                                outbox_id: entry.map(|e| e.id),
                                last_error: entry.and_then(|e| e.last_error.clone()),
                            }),
                        )
                    }
                };
                RegisterLine {
                    student: s.id,
                    name: s.name,
                    external_id: s.external_id,
                    state,
                    mark,
                }
            })
            .collect();

        Ok(RegisterSheet {
            sessions: if system == System::Hubmis {
                vec!["am".into(), "pm".into()]
            } else {
                Vec::new()
            },
            takes_writes: attendance_write_operation(system).is_some(),
            can_mark: date <= today,
            section: roster.section,
            date,
            today,
            session,
            codes,
            quick,
            lines,
        })
    }

    /// Takes one mark on a register, checked first: the section, date, session, pupil (on
    /// the roster), status, code, minutes late and note. Saved at once and, where the system
    /// takes attendance writes, queued once under a new key; a second mark of the same pupil
    /// on the same register replaces the first. Returns the pupil's line as it now stands.
    pub fn take_register_mark(
        &self,
        mark: &RegisterMark,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<RegisterLine> {
        let section = mark.section.trim();
        let sheet = self.register_sheet(section, Some(&mark.date), mark.session.as_deref(), now)?;
        let request = self.checked_mark(&sheet, mark)?;
        self.mark_attendance(&request, now, key)?;
        self.register_line(&sheet, &request.student, now)
    }

    /// Marks every pupil without a mark on this register present (with the school's present
    /// code); returns the register as it now stands and how many were marked.
    pub fn mark_rest_present(
        &self,
        section: &str,
        date: &str,
        session: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(RegisterSheet, usize)> {
        let sheet = self.register_sheet(section, Some(date), session, now)?;
        self.check_can_mark(&sheet)?;
        let mut marked = 0;
        for line in sheet
            .lines
            .iter()
            .filter(|l| l.state == LineState::Unmarked)
        {
            let request = MarkRequest {
                student: line.student.clone(),
                date: sheet.date,
                status: AttendanceStatus::Present,
                section: (sheet.section.system != System::Hubmis)
                    .then(|| sheet.section.source_id.clone()),
                period: sheet.session.clone(),
                note: None,
                code: sheet.quick.present.clone(),
                minutes_late: None,
            };
            self.mark_attendance(&request, now, Uuid::new_v4())?;
            marked += 1;
        }
        let after = self.register_sheet(section, Some(date), session, now)?;
        Ok((after, marked))
    }

    fn check_can_mark(&self, sheet: &RegisterSheet) -> Result<()> {
        if !sheet.can_mark {
            return Err(invalid(format!(
                "{} has not come yet at the school (today is {}), so its register cannot be \
                 taken. Choose today or an earlier day. Nothing was saved.",
                sheet.date, sheet.today
            )));
        }
        Ok(())
    }

    fn checked_mark(&self, sheet: &RegisterSheet, mark: &RegisterMark) -> Result<MarkRequest> {
        self.check_can_mark(sheet)?;
        let system = sheet.section.system;
        let student = mark.student.trim();
        let line = sheet
            .lines
            .iter()
            .find(|l| l.student == student || l.student == qualified_id(system, student))
            .ok_or_else(|| {
                invalid(format!(
                    "'{student}' is not on the roster of {}. Mark pupils from the register's own \
                     list; if the pupil joined today, sync first. Nothing was saved.",
                    sheet.section.name
                ))
            })?;
        let status: AttendanceStatus = mark.status.parse().map_err(|_| {
            invalid(format!(
                "'{}' is not a mark Schooldesk knows. Use present, absent, late or excused \
                 (or one of the school's codes). Nothing was saved.",
                mark.status.trim()
            ))
        })?;
        let code = mark
            .code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        if let Some(code) = &code {
            if let Some(known) = sheet.codes.iter().find(|c| &c.code == code) {
                if let Some(means) = known.status.filter(|s| *s != status) {
                    return Err(invalid(format!(
                        "Code '{code}' ({}) records {}, not {}. Choose the code that matches \
                         the mark. Nothing was saved.",
                        known.description,
                        word(means),
                        word(status)
                    )));
                }
            }
        }
        if let Some(minutes) = mark.minutes_late {
            if status != AttendanceStatus::Tardy {
                return Err(invalid(format!(
                    "Minutes late go with a late mark only, and {} is marked {}. Mark them \
                     late first, or leave the minutes empty. Nothing was saved.",
                    line.name,
                    word(status)
                )));
            }
            if minutes == 0 || minutes > MAX_MINUTES_LATE {
                return Err(invalid(format!(
                    "{minutes} minutes late is not possible on a register: give a number from 1 \
                     to {MAX_MINUTES_LATE}. Nothing was saved."
                )));
            }
        }
        let note = mark
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        if let Some(n) = &note {
            if n.chars().count() > MAX_NOTE_CHARS {
                return Err(invalid(format!(
                    "The note is {} characters long; a register note holds up to \
                     {MAX_NOTE_CHARS}. Shorten it. Nothing was saved.",
                    n.chars().count()
                )));
            }
            if n.chars().any(|c| c.is_control() && c != '\n') {
                return Err(invalid(
                    "The note holds characters that cannot be kept (control characters). \
                     Type it again. Nothing was saved.",
                ));
            }
        }
        Ok(MarkRequest {
            student: line.student.clone(),
            date: sheet.date,
            status,
            section: (system != System::Hubmis).then(|| sheet.section.source_id.clone()),
            period: sheet.session.clone(),
            note,
            // A bare status takes the school's code for it, as the quick keys do.
            code: code.or_else(|| sheet.quick.for_status(status).cloned()),
            minutes_late: mark.minutes_late,
        })
    }

    fn register_line(
        &self,
        before: &RegisterSheet,
        student: &str,
        now: DateTime<Utc>,
    ) -> Result<RegisterLine> {
        let sheet = self.register_sheet(
            &before.section.id,
            Some(&before.date.to_string()),
            before.session.as_deref(),
            now,
        )?;
        sheet
            .lines
            .into_iter()
            .find(|l| l.student == student)
            .ok_or_else(|| DeskError::Internal("a pupil left the roster while marked".into()))
    }
}

fn word(status: AttendanceStatus) -> &'static str {
    match status {
        AttendanceStatus::Present => "present",
        AttendanceStatus::Absent => "absent",
        AttendanceStatus::Tardy => "late",
        AttendanceStatus::Excused => "excused",
    }
}

fn checked_session(system: System, session: Option<&str>) -> Result<Option<String>> {
    let session = session
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    match (system, session) {
        (System::Hubmis, None) => Ok(Some("am".into())),
        (System::Hubmis, Some(s)) if s == "am" || s == "pm" => Ok(Some(s)),
        (System::Hubmis, Some(s)) => Err(invalid(format!(
            "'{s}' is not a HUBmis session: a HUBmis register is taken for the morning (am) or \
             the afternoon (pm). Nothing was saved."
        ))),
        (_, None) => Ok(None),
        (other, Some(_)) => Err(invalid(format!(
            "{} registers are taken per class and day, without an AM/PM session (those are \
             HUBmis's). Leave the session empty. Nothing was saved.",
            other.display_name()
        ))),
    }
}
