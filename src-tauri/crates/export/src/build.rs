//! The document builders: each reads the cache only (no network, so they work during an
//! outage) and returns a [`Document`] that any writer can lay out.
//!
//! Every builder takes `now` (when the document is made) from its caller, fills `school`,
//! `data_as_of` (the newest `fetched_at` of the rows it used) and `students` (every child it
//! names, `system:id`, for the access log), and refuses an unknown id with a sentence saying
//! where to find the right one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schooldesk_cache::Cache;
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, Checklist, EnrollmentRecord, EnrollmentRecordKind, MarkState,
    Section, Student, System,
};
use schooldesk_sync::persons;
use schooldesk_sync::reads::{parse_id, qualified_id, SectionInfo};
use schooldesk_sync::Desk;
use serde_json::Value;

use crate::error::{ExportError, Result};
use crate::model::{Cell, Column, ColumnKind, Document, DocumentKind, Table};

/// The longest register one document covers: a school year and a little.
pub const MAX_REGISTER_DAYS: i64 = 400;

/// The newest `fetched_at` seen: the document's "data as of".
#[derive(Debug, Default, Clone, Copy)]
struct Freshness(Option<DateTime<Utc>>);

impl Freshness {
    fn see(&mut self, at: DateTime<Utc>) {
        if self.0.is_none_or(|t| at > t) {
            self.0 = Some(at);
        }
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::text(s)
}

fn opt_text(s: &Option<String>) -> Cell {
    s.as_deref().map_or(Cell::Empty, Cell::text)
}

fn number(n: impl Into<f64>) -> Cell {
    Cell::Number(n.into())
}

fn col(title: &str, kind: ColumnKind) -> Column {
    Column::new(title, kind)
}

/// A section found by id, with the school it belongs to.
struct FoundSection {
    info: SectionInfo,
    section: Section,
}

fn find_section(desk: &Desk, id: &str) -> Result<FoundSection> {
    // The desk's roster read resolves `system:id` and bare ids, and says what to do when the
    // id is unknown or names sections in two systems.
    let info = desk.roster(id)?.section;
    let section = desk
        .cache()
        .section(info.system, &info.source_id)?
        .ok_or_else(|| missing("section", id, SECTIONS_HINT))?;
    Ok(FoundSection { info, section })
}

const SECTIONS_HINT: &str =
    "List the sections and their ids with `schooldesk sections`; sync first if the section is new.";

fn missing(what: &str, id: &str, how: &str) -> ExportError {
    ExportError::InvalidInput(format!(
        "There is no {what} '{}' in the cache. {how}",
        id.trim()
    ))
}

/// The school a document is about, for the top of every page: the section's own school, or
/// the schools the system's cache holds (a district-wide list names them all).
fn school_name(cache: &Cache, system: Option<System>, school: Option<&str>) -> Result<String> {
    let schools = cache.schools(system)?;
    if let (Some(sys), Some(id)) = (system, school) {
        if let Some(s) = schools
            .iter()
            .find(|s| s.source.system == sys && s.source.source_id == id)
        {
            return Ok(s.name.clone());
        }
    }
    let names: BTreeSet<&str> = schools.iter().map(|s| s.name.as_str()).collect();
    Ok(match names.len() {
        0 => system
            .map_or("All schools", System::display_name)
            .to_string(),
        1..=3 => names.into_iter().collect::<Vec<_>>().join(", "),
        n => format!("{n} schools"),
    })
}

fn document(kind: DocumentKind, title: String, school: String, now: DateTime<Utc>) -> Document {
    Document {
        kind,
        title,
        school,
        subtitle: None,
        data_as_of: None,
        generated_at: now,
        tables: Vec::new(),
        students: Vec::new(),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---- class roster ------------------------------------------------------------------------

/// The class roster of `section` (`system:id`, or an id found in one system): one row per
/// student with their ids, grade, date of birth and first contact's phone.
pub fn roster(desk: &Desk, section: &str, now: DateTime<Utc>) -> Result<Document> {
    let cache = desk.cache();
    let found = find_section(desk, section)?;
    let system = found.info.system;
    let mut fresh = Freshness::default();
    fresh.see(found.section.source.fetched_at);
    for e in cache.enrollments(system, &found.info.source_id)? {
        fresh.see(e.fetched_at);
    }
    let students = cache.roster(system, &found.info.source_id)?;
    let known_as = students.iter().any(|s| s.preferred_name.is_some());
    let mut columns = vec![
        col("Family name", ColumnKind::Text),
        col("Given name", ColumnKind::Text),
    ];
    if known_as {
        columns.push(col("Known as", ColumnKind::Text));
    }
    columns.extend([
        col("Student ID", ColumnKind::Text),
        col("District ID", ColumnKind::Text),
        col("Grade", ColumnKind::Code),
        col("Date of birth", ColumnKind::Date),
        col("First contact", ColumnKind::Text),
        col("Phone", ColumnKind::Text),
    ]);
    let mut rows = Vec::with_capacity(students.len());
    let mut named = Vec::with_capacity(students.len());
    for s in &students {
        fresh.see(s.source.fetched_at);
        named.push(qualified_id(system, &s.source.source_id));
        let contacts = cache.guardians_of(system, &s.source.source_id)?;
        let first = contacts.first();
        if let Some((g, _)) = first {
            fresh.see(g.source.fetched_at);
        }
        let mut row = vec![text(&s.family_name), text(&s.given_name)];
        if known_as {
            row.push(opt_text(&s.preferred_name));
        }
        row.extend([
            text(&s.source.source_id),
            opt_text(&s.external_id),
            opt_text(&s.grade),
            s.date_of_birth.map_or(Cell::Empty, Cell::Date),
            first.map_or(Cell::Empty, |(g, _)| text(guardian_name(g))),
            first.map_or(Cell::Empty, |(g, _)| opt_text(&g.phone)),
        ]);
        rows.push(row);
    }
    let name = found.info.name.clone();
    let mut doc = document(
        DocumentKind::Roster,
        format!("Class roster — {name}"),
        school_name(
            cache,
            Some(system),
            found.section.school_source_id.as_deref(),
        )?,
        now,
    );
    doc.subtitle = Some(format!(
        "{} · {}{}",
        plural(rows.len(), "student", "students"),
        system.display_name(),
        found
            .info
            .code
            .as_deref()
            .map(|c| format!(" · code {c}"))
            .unwrap_or_default()
    ));
    doc.tables.push(Table {
        name,
        columns,
        rows,
        totals: Vec::new(),
    });
    doc.data_as_of = fresh.0;
    doc.students = named;
    Ok(doc)
}

fn guardian_name(g: &schooldesk_domain::Guardian) -> String {
    format!("{} {}", g.given_name, g.family_name)
        .trim()
        .to_string()
}

// ---- attendance register -----------------------------------------------------------------

/// Per-student totals of a register.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    present: u32,
    absent: u32,
    late: u32,
    excused: u32,
    minutes_late: i64,
}

impl Tally {
    fn add(&mut self, m: &AttendanceMark) {
        match m.status {
            AttendanceStatus::Present => self.present += 1,
            AttendanceStatus::Absent => self.absent += 1,
            AttendanceStatus::Tardy => {
                self.late += 1;
                self.minutes_late += m.minutes.unwrap_or(0).max(0);
            }
            AttendanceStatus::Excused => self.excused += 1,
        }
    }

    fn cells(&self) -> [Cell; 5] {
        [
            number(self.present),
            number(self.absent),
            number(self.late),
            number(self.excused),
            number(self.minutes_late as f64),
        ]
    }

    fn merge(&mut self, o: &Tally) {
        self.present += o.present;
        self.absent += o.absent;
        self.late += o.late;
        self.excused += o.excused;
        self.minutes_late += o.minutes_late;
    }
}

/// The short mark printed in a US register cell.
fn status_letter(status: AttendanceStatus) -> &'static str {
    match status {
        AttendanceStatus::Present => "P",
        AttendanceStatus::Absent => "A",
        AttendanceStatus::Tardy => "L",
        AttendanceStatus::Excused => "E",
    }
}

/// Marks not yet confirmed by their system carry a `*`, so a printed register shows what
/// may still change.
fn unconfirmed(m: &AttendanceMark) -> bool {
    matches!(m.state, MarkState::Pending | MarkState::Conflict)
}

/// The attendance register of `section` from `from` to `to` (inclusive): one row per
/// student, one column per school day (Monday to Friday, and any other day with marks),
/// then each student's totals (present, absent, late, excused, minutes late) and a totals
/// row. A HUBmis tutor group gets the UK register instead: two columns per day, AM and PM,
/// with the school's own codes ([`DocumentKind::SessionRegister`]).
pub fn register(
    desk: &Desk,
    section: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Document> {
    if from > to {
        return Err(ExportError::InvalidInput(format!(
            "The register would start on {from}, after it ends on {to}. Give the earlier date \
             first."
        )));
    }
    if (to - from).num_days() >= MAX_REGISTER_DAYS {
        return Err(ExportError::InvalidInput(format!(
            "A register covers at most {MAX_REGISTER_DAYS} days; {from} to {to} is longer. \
             Export it in parts (one term at a time)."
        )));
    }
    let cache = desk.cache();
    let found = find_section(desk, section)?;
    let system = found.info.system;
    let sessions = system == System::Hubmis;
    let mut fresh = Freshness::default();
    fresh.see(found.section.source.fetched_at);
    for e in cache.enrollments(system, &found.info.source_id)? {
        fresh.see(e.fetched_at);
    }
    let students = cache.roster(system, &found.info.source_id)?;
    let on_roll: HashMap<&str, usize> = students
        .iter()
        .enumerate()
        .map(|(i, s)| (s.source.source_id.as_str(), i))
        .collect();

    // Marks of each student per day: the section's own, and marks that belong to no
    // section (daily attendance, UK sessions), which are the student's wherever they sit.
    let mut marks: BTreeMap<(usize, NaiveDate), Vec<AttendanceMark>> = BTreeMap::new();
    let mut days: BTreeSet<NaiveDate> = BTreeSet::new();
    let mut any_unconfirmed = false;
    for day in from.iter_days().take_while(|d| *d <= to) {
        if day.weekday().number_from_monday() <= 5 {
            days.insert(day);
        }
        for m in cache.attendance_marks(day, None)? {
            if m.source.system != system {
                continue;
            }
            let ours = match m.section_source_id.as_deref() {
                Some(s) => s == found.info.source_id,
                None => true,
            };
            let Some(&i) = on_roll.get(m.student_source_id.as_str()) else {
                continue;
            };
            if !ours {
                continue;
            }
            fresh.see(m.source.fetched_at);
            any_unconfirmed |= unconfirmed(&m);
            days.insert(day);
            marks.entry((i, day)).or_default().push(m);
        }
    }
    // A section's own mark wins over a daily one for the same period.
    for list in marks.values_mut() {
        if list.iter().any(|m| m.section_source_id.is_some()) {
            list.retain(|m| m.section_source_id.is_some());
        }
        list.sort_by(|a, b| a.period.cmp(&b.period));
    }
    let days: Vec<NaiveDate> = days.into_iter().collect();

    let mut columns = vec![
        col("Name", ColumnKind::Text),
        col("Student ID", ColumnKind::Text),
    ];
    for d in &days {
        let label = d.format("%a %-d %b").to_string();
        if sessions {
            columns.push(col(&format!("{label} AM"), ColumnKind::Code));
            columns.push(col(&format!("{label} PM"), ColumnKind::Code));
        } else {
            columns.push(col(&label, ColumnKind::Code));
        }
    }
    for t in ["Present", "Absent", "Late", "Excused", "Minutes late"] {
        columns.push(col(t, ColumnKind::Number));
    }
    let per_day = if sessions { 2 } else { 1 };
    let mut day_present = vec![0u32; days.len() * per_day];
    let mut all = Tally::default();
    let mut rows = Vec::with_capacity(students.len());
    let mut named = Vec::with_capacity(students.len());
    for (i, s) in students.iter().enumerate() {
        fresh.see(s.source.fetched_at);
        named.push(qualified_id(system, &s.source.source_id));
        let mut row = vec![text(s.display_name()), text(&s.source.source_id)];
        let mut tally = Tally::default();
        for (di, d) in days.iter().enumerate() {
            let list = marks.get(&(i, *d)).map(Vec::as_slice).unwrap_or(&[]);
            for m in list {
                tally.add(m);
            }
            if sessions {
                for (si, session) in ["am", "pm"].into_iter().enumerate() {
                    let m = list.iter().find(|m| {
                        m.period
                            .as_deref()
                            .is_some_and(|p| p.eq_ignore_ascii_case(session))
                    });
                    if m.is_some_and(|m| {
                        matches!(
                            m.status,
                            AttendanceStatus::Present | AttendanceStatus::Tardy
                        )
                    }) {
                        day_present[di * 2 + si] += 1;
                    }
                    row.push(m.map_or(Cell::Empty, |m| {
                        let code = m
                            .code
                            .clone()
                            .filter(|c| !c.trim().is_empty())
                            .unwrap_or_else(|| status_letter(m.status).to_string());
                        text(if unconfirmed(m) {
                            format!("{code}*")
                        } else {
                            code
                        })
                    }));
                }
            } else {
                if list.iter().any(|m| {
                    matches!(
                        m.status,
                        AttendanceStatus::Present | AttendanceStatus::Tardy
                    )
                }) {
                    day_present[di] += 1;
                }
                let cell: Vec<String> = list
                    .iter()
                    .map(|m| {
                        let l = status_letter(m.status);
                        if unconfirmed(m) {
                            format!("{l}*")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                row.push(text(cell.join(" ")));
            }
        }
        row.extend(tally.cells());
        all.merge(&tally);
        rows.push(row);
    }
    let mut totals = vec![text("Present or late"), Cell::Empty];
    totals.extend(day_present.iter().map(|n| number(*n)));
    totals.extend(all.cells());

    let name = found.info.name.clone();
    let (kind, title, legend) = if sessions {
        (
            DocumentKind::SessionRegister,
            format!("Attendance register (AM/PM) — {name}"),
            "the school's own codes".to_string(),
        )
    } else {
        (
            DocumentKind::Register,
            format!("Attendance register — {name}"),
            "P present · L late · A absent · E excused".to_string(),
        )
    };
    let mut doc = document(
        kind,
        title,
        school_name(
            cache,
            Some(system),
            found.section.school_source_id.as_deref(),
        )?,
        now,
    );
    let mut subtitle = format!(
        "{from} to {to} · {} · {} · {legend}",
        plural(days.len(), "school day", "school days"),
        plural(students.len(), "student", "students"),
    );
    if any_unconfirmed {
        subtitle.push_str(" · * not yet confirmed by the system");
    }
    doc.subtitle = Some(subtitle);
    doc.tables.push(Table {
        name,
        columns,
        rows,
        totals: vec![totals],
    });
    doc.data_as_of = fresh.0;
    doc.students = named;
    Ok(doc)
}

// ---- emergency list ----------------------------------------------------------------------

/// Where a child on the emergency roll stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollStatus {
    /// Marked present today (in any system).
    Present,
    /// Marked late today, and present nowhere.
    Late,
    /// Unmarked in a group whose register is taken: may be in school, so listed.
    NotMarked,
    /// The group's register is not taken yet: everyone on roll is listed.
    NoRegister,
}

impl RollStatus {
    /// The words the emergency list prints.
    pub fn label(self) -> &'static str {
        match self {
            RollStatus::Present => "present",
            RollStatus::Late => "late",
            RollStatus::NotMarked => "not marked",
            RollStatus::NoRegister => "on roll (no register yet)",
        }
    }
}

/// One of a child's contacts, each once across the child's records.
#[derive(Debug, Clone, PartialEq)]
pub struct RollContact {
    pub name: String,
    pub relationship: Option<String>,
    pub phone: Option<String>,
    /// `Some(false)` when any system says they may NOT collect the child.
    pub may_collect: Option<bool>,
}

/// One child who may be on site today, with every system's record of them (the first
/// decides their group and name).
#[derive(Debug, Clone, PartialEq)]
pub struct RollChild {
    pub records: Vec<Student>,
    pub status: RollStatus,
    pub contacts: Vec<RollContact>,
}

impl RollChild {
    pub fn first(&self) -> &Student {
        &self.records[0]
    }
}

/// A homeroom or tutor group (or the section asked for) and its children on the roll.
#[derive(Debug, Clone, PartialEq)]
pub struct RollGroup {
    /// As printed: the school is added when two groups share a name.
    pub name: String,
    /// `system:id` of the section, or empty for children with no homeroom.
    pub id: String,
    pub children: Vec<RollChild>,
}

/// Everyone who may be on site today, read from the cache alone (see [`emergency_roll`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmergencyRoll {
    pub school: String,
    pub today: NaiveDate,
    /// Groups with at least one child listed, by name.
    pub groups: Vec<RollGroup>,
    /// Children left out because they are marked absent or excused today.
    pub absent: usize,
    /// Groups (listed or not) whose register is not taken today.
    pub unregistered_groups: usize,
    /// The newest `fetched_at` of the rows used.
    pub data_as_of: Option<DateTime<Utc>>,
}

impl EmergencyRoll {
    /// How many children are listed.
    pub fn listed(&self) -> usize {
        self.groups.iter().map(|g| g.children.len()).sum()
    }

    /// The line under the title: how many are listed, on what basis, how many left out.
    pub fn summary(&self) -> String {
        let basis = if self.unregistered_groups == 0 {
            "marked present or late today".to_string()
        } else {
            format!(
                "marked present or late today; {} with no register yet list everyone on roll",
                plural(self.unregistered_groups, "group", "groups")
            )
        };
        let mut summary = format!("{} — {basis}", plural(self.listed(), "student", "students"));
        if self.absent > 0 {
            summary.push_str(&format!(
                " · {} marked absent or excused not listed",
                plural(self.absent, "student", "students")
            ));
        }
        summary
    }
}

/// A child while the roll is gathered.
struct Child {
    records: Vec<Student>,
}

impl Child {
    fn first(&self) -> &Student {
        &self.records[0]
    }
}

/// The order in which a child's records decide their group: the systems that keep
/// homerooms and registers first.
fn group_rank(system: System) -> u8 {
    match system {
        System::OmniForge => 0,
        System::Hubmis => 1,
        System::Matrix => 2,
        System::PowerSchool => 3,
    }
}

/// The emergency list for `today`: everyone in school with their contacts' phones and
/// whether each contact may collect them. One table per homeroom or tutor group (or only
/// `section`'s students, when given). Who is listed is [`emergency_roll`]'s.
pub fn emergency(
    desk: &Desk,
    section: Option<&str>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Document> {
    let roll = emergency_roll(desk, section, today)?;
    let columns = vec![
        col("Student", ColumnKind::Text),
        col("Student ID", ColumnKind::Text),
        col("Status", ColumnKind::Text),
        col("Contact", ColumnKind::Text),
        col("Relationship", ColumnKind::Text),
        col("Phone", ColumnKind::Text),
        col("May collect", ColumnKind::Text),
    ];
    let mut doc = document(
        DocumentKind::Emergency,
        format!("Emergency list — {}", today.format("%A %-d %B %Y")),
        roll.school.clone(),
        now,
    );
    doc.subtitle = Some(roll.summary());
    doc.data_as_of = roll.data_as_of;
    for group in roll.groups {
        let mut rows = Vec::new();
        for child in group.children {
            let first = child.first();
            doc.students.extend(
                child
                    .records
                    .iter()
                    .map(|s| qualified_id(s.source.system, &s.source.source_id)),
            );
            let who = vec![
                text(first.display_name()),
                text(&first.source.source_id),
                text(child.status.label()),
            ];
            if child.contacts.is_empty() {
                let mut row = who.clone();
                row.extend([
                    text("(none recorded)"),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                ]);
                rows.push(row);
            }
            for c in child.contacts {
                let mut row = who.clone();
                row.extend([
                    text(c.name),
                    opt_text(&c.relationship),
                    opt_text(&c.phone),
                    text(match c.may_collect {
                        Some(true) => "yes",
                        Some(false) => "NO — may not collect",
                        None => "not recorded",
                    }),
                ]);
                rows.push(row);
            }
        }
        doc.tables.push(Table {
            name: group.name,
            columns: columns.clone(),
            rows,
            totals: Vec::new(),
        });
    }
    Ok(doc)
}

/// Everyone who may be on site on `today`, from the cache alone: the data of the emergency
/// list, for the app's emergency roll and for [`emergency`].
///
/// "In school" is a child marked present or late today; in a group whose register is not
/// taken yet, everyone on roll is listed (their status says so), and a child left unmarked
/// in a taken register is listed as "not marked" — an emergency list must not miss anyone.
/// Children marked absent or excused are left out (and counted). A child known to several
/// systems (same district id) is listed once, with every system's contacts.
pub fn emergency_roll(
    desk: &Desk,
    section: Option<&str>,
    today: NaiveDate,
) -> Result<EmergencyRoll> {
    let cache = desk.cache();
    let mut fresh = Freshness::default();
    let (students, only, school) = match section {
        Some(id) => {
            let found = find_section(desk, id)?;
            fresh.see(found.section.source.fetched_at);
            let students = cache.roster(found.info.system, &found.info.source_id)?;
            let school = school_name(
                cache,
                Some(found.info.system),
                found.section.school_source_id.as_deref(),
            )?;
            (students, Some(found), school)
        }
        None => {
            let all = desk.cache().students(&Default::default())?;
            (all, None, school_name(cache, None, None)?)
        }
    };

    // The same child in several systems, by district id.
    let mut children: Vec<Child> = Vec::new();
    let mut by_external: HashMap<String, usize> = HashMap::new();
    for s in students.into_iter().filter(|s| s.active) {
        match s.external_id.clone().filter(|e| !e.trim().is_empty()) {
            Some(ext) => match by_external.get(&ext) {
                Some(&i) => children[i].records.push(s),
                None => {
                    by_external.insert(ext, children.len());
                    children.push(Child { records: vec![s] });
                }
            },
            None => children.push(Child { records: vec![s] }),
        }
    }
    if only.is_none() {
        // Records of the listed children in other systems bring their contacts and marks.
        for child in &mut children {
            child.records.sort_by_key(|s| group_rank(s.source.system));
        }
    } else if let Some(found) = &only {
        for child in &mut children {
            if let Some(ext) = child.first().external_id.clone() {
                for other in cache.students_by_external_id(&ext)? {
                    if other.source.system != found.info.system && other.active {
                        child.records.push(other);
                    }
                }
            }
        }
    }

    // Today's marks, per (system, student).
    let mut marks: HashMap<(System, String), Vec<AttendanceMark>> = HashMap::new();
    for m in cache.attendance_marks(today, None)? {
        marks
            .entry((m.source.system, m.student_source_id.clone()))
            .or_default()
            .push(m);
    }

    // Groups: the section asked for, or each child's homeroom in their first system.
    let mut section_names: HashMap<(System, String), String> = HashMap::new();
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, child) in children.iter().enumerate() {
        let key = match &only {
            Some(found) => (found.info.name.clone(), found.info.id.clone()),
            None => {
                let s = child.first();
                match &s.homeroom {
                    Some(h) => {
                        let k = (s.source.system, h.clone());
                        if !section_names.contains_key(&k) {
                            let name = cache
                                .section(k.0, h)?
                                .map_or_else(|| h.clone(), |sec| sec.name);
                            section_names.insert(k.clone(), name);
                        }
                        (section_names[&k].clone(), qualified_id(k.0, h))
                    }
                    None => ("No homeroom".to_string(), String::new()),
                }
            }
        };
        groups.entry(key).or_default().push(i);
    }

    // Two schools may both have a "Homeroom 10A": name the school where it helps.
    let mut name_count: HashMap<&str, usize> = HashMap::new();
    for (name, _) in groups.keys() {
        *name_count.entry(name.as_str()).or_default() += 1;
    }
    let mut groups_in_order = Vec::with_capacity(groups.len());
    for ((name, id), members) in &groups {
        let shown = if name_count[name.as_str()] > 1 {
            let (system, bare) = parse_id(id);
            let school = match system {
                Some(system) => cache
                    .section(system, bare)?
                    .and_then(|sec| sec.school_source_id)
                    .map(|school| school_name(cache, Some(system), Some(&school)))
                    .transpose()?,
                None => None,
            };
            match school {
                Some(school) => format!("{name} ({school})"),
                None => format!("{name} ({id})"),
            }
        } else {
            name.clone()
        };
        groups_in_order.push((shown, id.clone(), members.clone()));
    }

    let mut slots: Vec<Option<Child>> = children.into_iter().map(Some).collect();
    let mut roll = EmergencyRoll {
        school,
        today,
        groups: Vec::new(),
        absent: 0,
        unregistered_groups: 0,
        data_as_of: None,
    };
    for (name, id, members) in groups_in_order {
        let register_taken = members.iter().any(|&i| {
            slots[i].as_ref().is_some_and(|c| {
                c.records
                    .iter()
                    .any(|s| marks.contains_key(&(s.source.system, s.source.source_id.clone())))
            })
        });
        if !register_taken {
            roll.unregistered_groups += 1;
        }
        let mut listed = Vec::new();
        for &i in &members {
            let Some(child) = slots[i].take() else {
                continue;
            };
            let today_marks: Vec<&AttendanceMark> = child
                .records
                .iter()
                .flat_map(|s| {
                    marks
                        .get(&(s.source.system, s.source.source_id.clone()))
                        .into_iter()
                        .flatten()
                })
                .collect();
            let status = if today_marks.is_empty() {
                if register_taken {
                    RollStatus::NotMarked
                } else {
                    RollStatus::NoRegister
                }
            } else if today_marks
                .iter()
                .any(|m| m.status == AttendanceStatus::Present)
            {
                RollStatus::Present
            } else if today_marks
                .iter()
                .any(|m| m.status == AttendanceStatus::Tardy)
            {
                RollStatus::Late
            } else {
                roll.absent += 1;
                continue;
            };
            for m in &today_marks {
                fresh.see(m.source.fetched_at);
            }
            fresh.see(child.first().source.fetched_at);
            let contacts = contacts_of(cache, &child, &mut fresh)?;
            listed.push(RollChild {
                records: child.records,
                status,
                contacts,
            });
        }
        if !listed.is_empty() {
            roll.groups.push(RollGroup {
                name,
                id,
                children: listed,
            });
        }
    }
    roll.data_as_of = fresh.0;
    Ok(roll)
}

/// A child's contacts across their records, each once (same name and phone). A contact one
/// system says may NOT collect stays "may not", whatever another says.
fn contacts_of(cache: &Cache, child: &Child, fresh: &mut Freshness) -> Result<Vec<RollContact>> {
    let mut listed = Vec::new();
    for s in &child.records {
        for (g, link) in cache.guardians_of(s.source.system, &s.source.source_id)? {
            fresh.see(g.source.fetched_at);
            listed.push(persons::contact(s.source.system, g, link));
        }
    }
    // The student page's rule: each person once, a "may NOT collect" anywhere wins.
    Ok(persons::merge_contacts(listed)
        .into_iter()
        .map(|c| RollContact {
            name: c.name,
            relationship: c.relationship,
            phone: c.phones.into_iter().next(),
            may_collect: c.may_collect,
        })
        .collect())
}

// ---- checklist status --------------------------------------------------------------------

fn find_checklist(cache: &Cache, id: &str) -> Result<Checklist> {
    let (system, bare) = parse_id(id);
    let mut found: Vec<Checklist> = cache
        .checklists(system)?
        .into_iter()
        .filter(|c| c.source.source_id == bare)
        .collect();
    match found.len() {
        0 => Err(missing(
            "checklist",
            id,
            "List the checklists with `schooldesk checklists`; sync PowerSchool Enrollment first \
             if it is new.",
        )),
        1 => Ok(found.remove(0)),
        _ => Err(ExportError::InvalidInput(format!(
            "'{}' names more than one checklist ({}): give one of these ids instead.",
            id.trim(),
            found
                .iter()
                .map(|c| qualified_id(c.source.system, &c.source.source_id))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Who is missing which item of `checklist` (`system:id` or id): one row per family missing
/// at least one required item, one column per item ("done", "MISSING" for a required item,
/// "not done" for an optional one), then how many required items are missing. The totals
/// row counts the families missing each item. Families are named from their enrollment
/// record (or student record) with the same district id.
pub fn checklist(desk: &Desk, checklist: &str, now: DateTime<Utc>) -> Result<Document> {
    let cache = desk.cache();
    let list = find_checklist(cache, checklist)?;
    let system = list.source.system;
    let mut fresh = Freshness::default();
    fresh.see(list.source.fetched_at);
    let mut columns = vec![
        col("Family name", ColumnKind::Text),
        col("Given name", ColumnKind::Text),
        col("District ID", ColumnKind::Text),
        col("Grade", ColumnKind::Code),
    ];
    for item in &list.items {
        let title = if item.required {
            item.name.clone()
        } else {
            format!("{} (optional)", item.name)
        };
        columns.push(col(&title, ColumnKind::Code));
    }
    columns.push(col("Missing", ColumnKind::Number));

    // The family entries missing something, in the cache's order (by entry).
    let mut entries_missing: Vec<String> = Vec::new();
    for m in cache.missing_items(system, None)? {
        if m.checklist_source_id == list.source.source_id
            && entries_missing.last() != Some(&m.record_source_id)
        {
            entries_missing.push(m.record_source_id);
        }
    }
    // Names by district id: the enrollment record (roster records first), else a student.
    let mut records: HashMap<String, EnrollmentRecord> = HashMap::new();
    for r in cache.enrollment_records(system, None)? {
        if let Some(ext) = r.external_student_id.clone() {
            let keep = records
                .get(&ext)
                .is_none_or(|old| old.kind != EnrollmentRecordKind::Roster);
            if keep {
                records.insert(ext, r);
            }
        }
    }

    let mut rows = Vec::new();
    let mut named = Vec::new();
    let mut missing_per_item = vec![0u32; list.items.len()];
    for entry in &entries_missing {
        let entries: Vec<_> = cache
            .checklist_entries(system, entry)?
            .into_iter()
            .filter(|e| e.checklist_source_id == list.source.source_id)
            .collect();
        for e in &entries {
            fresh.see(e.source.fetched_at);
        }
        let ext = entries.iter().find_map(|e| e.external_student_id.clone());
        let record = ext.as_ref().and_then(|x| records.get(x));
        let (family, given, grade) = match record {
            Some(r) => {
                fresh.see(r.source.fetched_at);
                named.push(qualified_id(r.source.system, &r.source.source_id));
                (r.family_name.clone(), r.given_name.clone(), r.grade.clone())
            }
            None => match ext.as_deref() {
                Some(x) => match cache.students_by_external_id(x)?.into_iter().next() {
                    Some(s) => {
                        named.push(qualified_id(s.source.system, &s.source.source_id));
                        (Some(s.family_name), Some(s.given_name), s.grade)
                    }
                    None => (None, None, None),
                },
                None => (None, None, None),
            },
        };
        let mut row = vec![
            opt_text(&family),
            opt_text(&given),
            opt_text(&ext),
            opt_text(&grade),
        ];
        let mut missing_here = 0u32;
        for (i, item) in list.items.iter().enumerate() {
            let done = entries
                .iter()
                .any(|e| e.item_source_id == item.source_id && e.completed);
            row.push(text(if done {
                "done"
            } else if item.required {
                missing_here += 1;
                missing_per_item[i] += 1;
                "MISSING"
            } else {
                "not done"
            }));
        }
        row.push(number(missing_here));
        rows.push(row);
    }
    let mut totals = vec![
        text("Families missing it"),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
    ];
    totals.extend(list.items.iter().zip(&missing_per_item).map(|(item, n)| {
        if item.required {
            number(*n)
        } else {
            Cell::Empty
        }
    }));
    totals.push(number(missing_per_item.iter().sum::<u32>()));
    let mut doc = document(
        DocumentKind::Checklist,
        format!("Checklist status — {}", list.name),
        school_name(cache, Some(system), None)?,
        now,
    );
    doc.subtitle = Some(format!(
        "{} missing at least one required item · {}",
        plural(rows.len(), "family", "families"),
        system.display_name()
    ));
    doc.tables.push(Table {
        name: list.name.clone(),
        columns,
        rows,
        totals: vec![totals],
    });
    doc.data_as_of = fresh.0;
    doc.students = named;
    Ok(doc)
}

// ---- learning support --------------------------------------------------------------------

/// Whose learning-support records to summarise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupportScope {
    /// One student (`system:id`, an id, or the district id).
    Student(String),
    /// One year group, by its id, code or name ("Year 7", "Y7", "7").
    YearGroup(String),
    /// Every student with a record, one table per year group.
    All,
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
    let wanted = wanted.trim();
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

/// A learning-support summary: each record (type, severity, status, notes) with the
/// student's latest review, for one student, one year group, or everyone with a record.
///
/// Only from systems whose connection has learning support switched on; otherwise (or when
/// none has) [`ExportError::LearningSupportDisabled`]. Callers record every export of it in
/// the access log.
pub fn learning_support(desk: &Desk, scope: &SupportScope, now: DateTime<Utc>) -> Result<Document> {
    let cache = desk.cache();
    let enabled: Vec<System> = cache
        .connections()?
        .into_iter()
        .filter(|c| c.learning_support_enabled)
        .map(|c| c.system)
        .collect();
    let mut students: Vec<Student> = match scope {
        SupportScope::Student(id) => {
            let s = desk.find_student(id)?;
            if !enabled.contains(&s.source.system) {
                return Err(ExportError::LearningSupportDisabled(
                    s.source.system.display_name().to_string(),
                ));
            }
            vec![s]
        }
        SupportScope::YearGroup(_) | SupportScope::All => {
            if enabled.is_empty() {
                return Err(ExportError::LearningSupportDisabled(
                    "any connected school system".into(),
                ));
            }
            let mut all = Vec::new();
            for system in &enabled {
                all.extend(cache.students(&schooldesk_cache::StudentQuery {
                    system: Some(*system),
                    ..Default::default()
                })?);
            }
            all
        }
    };
    if let SupportScope::YearGroup(wanted) = scope {
        let known: BTreeSet<String> = students.iter().filter_map(year_group).collect();
        students.retain(|s| in_year_group(s, wanted));
        if students.is_empty() {
            return Err(missing(
                "year group",
                wanted,
                &format!(
                    "The year groups are: {}.",
                    if known.is_empty() {
                        "none yet (sync first)".to_string()
                    } else {
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    }
                ),
            ));
        }
    }
    let school = school_name(
        cache,
        (enabled.len() == 1).then(|| enabled[0]),
        match scope {
            SupportScope::Student(_) => students[0].school_source_id.as_deref(),
            _ => None,
        },
    )?;

    let columns = vec![
        col("Name", ColumnKind::Text),
        col("Student ID", ColumnKind::Text),
        col("Year group", ColumnKind::Text),
        col("Support", ColumnKind::Text),
        col("Severity", ColumnKind::Text),
        col("Status", ColumnKind::Text),
        col("Last review", ColumnKind::Date),
        col("Review", ColumnKind::Text),
        col("Outcome", ColumnKind::Text),
        col("Notes", ColumnKind::Text),
    ];
    let mut fresh = Freshness::default();
    let mut tables: BTreeMap<String, Vec<Vec<Cell>>> = BTreeMap::new();
    let mut with_records = 0usize;
    let mut named = Vec::new();
    // Records and reviews per system, read once (a year group is hundreds of students).
    let mut records_by_system = HashMap::new();
    let mut reviews_by_system = HashMap::new();
    for system in students
        .iter()
        .map(|s| s.source.system)
        .collect::<BTreeSet<_>>()
    {
        let only = match scope {
            SupportScope::Student(_) => Some(students[0].source.source_id.as_str()),
            _ => None,
        };
        let mut recs: HashMap<String, Vec<_>> = HashMap::new();
        for r in cache.learning_support_records(system, only)? {
            recs.entry(r.student_source_id.clone()).or_default().push(r);
        }
        let mut revs: HashMap<String, Vec<_>> = HashMap::new();
        for r in cache.learning_support_reviews(system, only)? {
            if let Some(s) = r.student_source_id.clone() {
                revs.entry(s).or_default().push(r);
            }
        }
        records_by_system.insert(system, recs);
        reviews_by_system.insert(system, revs);
    }
    students.sort_by(|a, b| {
        (a.family_name.to_lowercase(), a.given_name.to_lowercase())
            .cmp(&(b.family_name.to_lowercase(), b.given_name.to_lowercase()))
    });
    for s in &students {
        let system = s.source.system;
        let sid = &s.source.source_id;
        let records = records_by_system
            .get(&system)
            .and_then(|m| m.get(sid))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let reviews = reviews_by_system
            .get(&system)
            .and_then(|m| m.get(sid))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let group = year_group(s).unwrap_or_else(|| "No year group".into());
        if records.is_empty() {
            if matches!(scope, SupportScope::Student(_)) {
                named.push(qualified_id(system, sid));
            }
            continue;
        }
        with_records += 1;
        named.push(qualified_id(system, sid));
        fresh.see(s.source.fetched_at);
        for r in records {
            fresh.see(r.source.fetched_at);
            // Reviews come newest first; a review of this record, else of the student.
            let review = reviews
                .iter()
                .find(|v| v.record_source_id.as_deref() == Some(r.source.source_id.as_str()))
                .or_else(|| reviews.iter().find(|v| v.record_source_id.is_none()));
            if let Some(v) = review {
                fresh.see(v.source.fetched_at);
            }
            tables.entry(group.clone()).or_default().push(vec![
                text(s.display_name()),
                text(sid),
                text(&group),
                opt_text(&r.support_type),
                opt_text(&r.severity),
                opt_text(&r.status),
                review
                    .and_then(|v| v.review_date)
                    .map_or(Cell::Empty, Cell::Date),
                review.map_or(Cell::Empty, |v| opt_text(&v.review_type)),
                review.map_or(Cell::Empty, |v| opt_text(&v.outcome)),
                opt_text(&r.notes),
            ]);
        }
    }
    let (title, table_name) = match scope {
        SupportScope::Student(_) => {
            let s = &students[0];
            (
                format!("Learning support — {}", s.display_name()),
                s.display_name(),
            )
        }
        SupportScope::YearGroup(_) => {
            let g = year_group(&students[0]).unwrap_or_default();
            (format!("Learning support — {g}"), g)
        }
        SupportScope::All => (
            "Learning support — all year groups".to_string(),
            String::new(),
        ),
    };
    let mut doc = document(DocumentKind::LearningSupport, title, school, now);
    doc.subtitle = Some(match scope {
        SupportScope::Student(_) if with_records == 0 => {
            "No learning-support record is held for this student.".to_string()
        }
        SupportScope::Student(_) => "Confidential: learning-support information.".to_string(),
        _ => format!(
            "{} of {} have a learning-support record · Confidential",
            with_records,
            plural(students.len(), "student", "students")
        ),
    });
    if tables.is_empty() {
        doc.tables.push(Table {
            name: table_name,
            columns,
            rows: Vec::new(),
            totals: Vec::new(),
        });
    } else {
        let single = !matches!(scope, SupportScope::All);
        for (group, rows) in tables {
            doc.tables.push(Table {
                name: if single { table_name.clone() } else { group },
                columns: columns.clone(),
                rows,
                totals: Vec::new(),
            });
        }
    }
    doc.data_as_of = fresh.0;
    doc.students = named;
    Ok(doc)
}

// ---- enrollment submission record --------------------------------------------------------

fn find_record(cache: &Cache, id: &str) -> Result<EnrollmentRecord> {
    let (system, bare) = parse_id(id);
    let system = system.unwrap_or(System::PowerSchool);
    let hint = "Enrollment records come from PowerSchool Enrollment: find the id in \
                `schooldesk submissions`, or sync PowerSchool Enrollment first.";
    if system != System::PowerSchool {
        return Err(missing("enrollment record", id, hint));
    }
    let mut found: Vec<EnrollmentRecord> = cache
        .enrollment_records(system, None)?
        .into_iter()
        .filter(|r| r.source.source_id == bare)
        .collect();
    // A submission and a roster record may share an id; the family's form is what is asked.
    found.sort_by_key(|r| r.kind != EnrollmentRecordKind::Submission);
    found
        .into_iter()
        .next()
        .ok_or_else(|| missing("enrollment record", id, hint))
}

/// Scalar fields of a record's source, `a.b` for nested ones, in order.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Cell)>) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, &map[k], out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{}]", i + 1), item, out);
            }
        }
        Value::Null => {}
        Value::Bool(b) => out.push((prefix.to_string(), text(if *b { "yes" } else { "no" }))),
        Value::Number(n) => out.push((
            prefix.to_string(),
            n.as_f64().map_or_else(|| text(n.to_string()), Cell::Number),
        )),
        Value::String(s) => out.push((prefix.to_string(), text(s))),
    }
}

/// An enrollment submission (or roster) record as the family sent it: a field/value table,
/// then its checklist items and its documents.
pub fn submission(desk: &Desk, record: &str, now: DateTime<Utc>) -> Result<Document> {
    let cache = desk.cache();
    let r = find_record(cache, record)?;
    let system = r.source.system;
    let rid = &r.source.source_id;
    let mut fresh = Freshness::default();
    fresh.see(r.source.fetched_at);
    let mut fields: Vec<(String, Cell)> = vec![
        ("Record ID".into(), text(rid)),
        ("Kind".into(), text(r.kind.as_str())),
        ("Status".into(), opt_text(&r.status)),
        ("Given name".into(), opt_text(&r.given_name)),
        ("Family name".into(), opt_text(&r.family_name)),
        (
            "Date of birth".into(),
            r.date_of_birth.map_or(Cell::Empty, Cell::Date),
        ),
        ("Grade".into(), opt_text(&r.grade)),
        ("District ID".into(), opt_text(&r.external_student_id)),
        ("Form".into(), opt_text(&r.published_action_id)),
    ];
    let mut form = Vec::new();
    flatten("", &r.source.raw, &mut form);
    fields.extend(form.into_iter().map(|(k, v)| (format!("Form: {k}"), v)));
    let fields_table = Table {
        name: "Record".into(),
        columns: vec![
            col("Field", ColumnKind::Text),
            col("Value", ColumnKind::Text),
        ],
        rows: fields.into_iter().map(|(k, v)| vec![text(k), v]).collect(),
        totals: Vec::new(),
    };

    let lists: HashMap<String, Checklist> = cache
        .checklists(Some(system))?
        .into_iter()
        .map(|c| (c.source.source_id.clone(), c))
        .collect();
    let mut items = Vec::new();
    for e in cache.checklist_entries(system, rid)? {
        fresh.see(e.source.fetched_at);
        let list = lists.get(&e.checklist_source_id);
        let item = list.and_then(|l| l.items.iter().find(|i| i.source_id == e.item_source_id));
        items.push(vec![
            list.map_or_else(|| text(&e.checklist_source_id), |l| text(&l.name)),
            item.map_or_else(|| text(&e.item_source_id), |i| text(&i.name)),
            text(if item.is_some_and(|i| i.required) {
                "required"
            } else {
                "optional"
            }),
            text(if e.completed { "done" } else { "not done" }),
            e.date_completed.map_or(Cell::Empty, Cell::Date),
        ]);
    }
    let docs: Vec<Vec<Cell>> = cache
        .documents_of(system, rid)?
        .into_iter()
        .map(|d| {
            fresh.see(d.source.fetched_at);
            vec![
                text(d.name),
                opt_text(&d.content_type),
                text(&d.source.source_id),
            ]
        })
        .collect();

    let who = format!(
        "{} {}",
        r.given_name.as_deref().unwrap_or(""),
        r.family_name.as_deref().unwrap_or("")
    )
    .trim()
    .to_string();
    let mut doc = document(
        DocumentKind::Submission,
        format!(
            "Enrollment {} — {}",
            match r.kind {
                EnrollmentRecordKind::Submission => "submission",
                EnrollmentRecordKind::Roster => "record",
            },
            if who.is_empty() {
                rid.as_str()
            } else {
                who.as_str()
            }
        ),
        school_name(cache, Some(system), None)?,
        now,
    );
    doc.subtitle = Some(format!(
        "Record {rid} · {} · {} · {}",
        system.display_name(),
        plural(items.len(), "checklist item", "checklist items"),
        plural(docs.len(), "document", "documents")
    ));
    doc.tables.push(fields_table);
    if !items.is_empty() {
        doc.tables.push(Table {
            name: "Checklist".into(),
            columns: vec![
                col("Checklist", ColumnKind::Text),
                col("Item", ColumnKind::Text),
                col("Required", ColumnKind::Code),
                col("Status", ColumnKind::Code),
                col("Completed on", ColumnKind::Date),
            ],
            rows: items,
            totals: Vec::new(),
        });
    }
    if !docs.is_empty() {
        doc.tables.push(Table {
            name: "Documents".into(),
            columns: vec![
                col("Document", ColumnKind::Text),
                col("Type", ColumnKind::Text),
                col("Document ID", ColumnKind::Text),
            ],
            rows: docs,
            totals: Vec::new(),
        });
    }
    doc.data_as_of = fresh.0;
    doc.students = vec![qualified_id(system, rid)];
    Ok(doc)
}
