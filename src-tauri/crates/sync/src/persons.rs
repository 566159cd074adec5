//! The desk's view of children rather than records: each system keeps its own record of a
//! child, and records sharing the district's external id are the same child, shown once.
//!
//! # Person ids
//! `ext:<external id>` for a child with an external id (however many systems know them), or
//! `<system>:<id>` for a record without one (a child only that system knows). Ids stay the
//! same across syncs, so a screen can keep a selection.
//!
//! # Which value is shown when the systems disagree
//! The first system in the order OmniForge SIS, PowerSchool Enrollment, Matrix LMS, WCBS
//! HUBmis that has a value: the district SIS is the record of truth for who a child is, the
//! registration system comes next, and the class tools last. The child is then flagged, and
//! the student page lists every system's value; nothing is merged.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use schooldesk_cache::{DocumentListing, PersonRecord, StudentMark};
use schooldesk_domain::{Guardian, Student, StudentGuardian, System};
use serde_json::Value;

use crate::desk::{Desk, DeskError, Result};
use crate::reads::{parse_id, qualified_id};

/// The prefix of a person id made from an external id.
pub const EXTERNAL_PREFIX: &str = "ext:";

/// Longest person or section id accepted: anything longer was not picked from a list.
const MAX_ID_LEN: usize = 300;

/// How many days of a child's attendance the student page shows, back from their newest mark.
pub const ATTENDANCE_DAYS: u32 = 60;

/// The person id of a record.
pub fn person_id(system: System, source_id: &str, external_id: Option<&str>) -> String {
    match external_id.map(str::trim).filter(|e| !e.is_empty()) {
        Some(ext) => format!("{EXTERNAL_PREFIX}{ext}"),
        None => qualified_id(system, source_id),
    }
}

/// One child, from all of their records.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: String,
    pub external_id: Option<String>,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub grade: Option<String>,
    pub homeroom: Option<String>,
    /// In system order.
    pub systems: Vec<System>,
    /// `system:id` of each record, each bare id, and the external id.
    pub ids: Vec<String>,
    pub flagged: bool,
    pub active: bool,
}

/// Every child, sorted by family name then given name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct People {
    pub people: Vec<Person>,
    pub as_of: Option<DateTime<Utc>>,
}

/// A section in the roster tree.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionLeaf {
    pub id: String,
    pub name: String,
    pub code: Option<String>,
    /// What its system calls it.
    pub kind: &'static str,
    pub students: u64,
}

/// A school (or a system's sections without a cached school) with its sections.
#[derive(Debug, Clone, PartialEq)]
pub struct SchoolBranch {
    pub id: String,
    pub name: String,
    pub system: System,
    pub sections: Vec<SectionLeaf>,
}

/// The name of the branch holding a system's sections whose school is not cached.
pub const OTHER_SECTIONS: &str = "Other sections";

/// A guardian or contact of the child, once however many systems list them
/// ([`merge_contacts`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonContact {
    /// The systems that list them, in the order met.
    pub systems: Vec<System>,
    pub name: String,
    pub relationship: Option<String>,
    pub phones: Vec<String>,
    pub email: Option<String>,
    pub primary: bool,
    pub may_collect: Option<bool>,
    pub emergency: Option<bool>,
}

/// A registration checklist item for the child.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonChecklistItem {
    pub checklist: String,
    pub item: String,
    pub complete: bool,
    pub required: bool,
    pub completed_on: Option<chrono::NaiveDate>,
}

/// A section the child is on the roster of.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonEnrollment {
    pub system: System,
    pub section_id: String,
    pub name: String,
    pub code: Option<String>,
}

/// Everything the cache holds about one child.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonPage {
    pub person: Person,
    /// Each system's record (homerooms by name where known).
    pub records: Vec<Student>,
    /// Field name (`family_name`, …) and each system's value.
    pub disagreements: Vec<(String, Vec<(System, String)>)>,
    pub contacts: Vec<PersonContact>,
    pub enrollments: Vec<PersonEnrollment>,
    /// Newest first.
    pub attendance: Vec<StudentMark>,
    pub checklists: Vec<PersonChecklistItem>,
    pub documents: Vec<DocumentListing>,
}

fn invalid(msg: impl Into<String>) -> DeskError {
    DeskError::InvalidInput(msg.into())
}

/// A required id as given: trimmed, present, of a sensible length.
fn checked_id<'a>(id: &'a str, what: &str) -> Result<&'a str> {
    let id = id.trim();
    if id.is_empty() {
        return Err(invalid(format!("Choose a {what} first.")));
    }
    if id.len() > MAX_ID_LEN || id.chars().any(char::is_control) {
        return Err(invalid(format!(
            "That is not a {what} id Schooldesk knows. Pick the {what} from the list instead."
        )));
    }
    Ok(id)
}

/// Folds records (sorted by name) into people, in the same order.
fn fold(records: Vec<PersonRecord>, flagged: &BTreeSet<String>) -> Vec<Person> {
    // Index of each external id's person, so the records of one child (possibly apart in
    // the sort when the systems spell the name differently) land on one row.
    let mut by_external: BTreeMap<String, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<PersonRecord>> = Vec::new();
    for r in records {
        match r.external_id.clone() {
            Some(ext) => match by_external.get(&ext) {
                Some(&i) => groups[i].push(r),
                None => {
                    by_external.insert(ext, groups.len());
                    groups.push(vec![r]);
                }
            },
            None => groups.push(vec![r]),
        }
    }
    let mut people: Vec<Person> = groups
        .into_iter()
        .map(|mut group| {
            group.sort_by(|a, b| (a.system, &a.source_id).cmp(&(b.system, &b.source_id)));
            person_of(&group, flagged)
        })
        .collect();
    people.sort_by_cached_key(|p| {
        (
            p.family_name.to_lowercase(),
            p.given_name.to_lowercase(),
            p.id.clone(),
        )
    });
    people
}

/// First value in system order (`group` is sorted by system).
fn first<T: Clone>(group: &[PersonRecord], f: impl Fn(&PersonRecord) -> Option<T>) -> Option<T> {
    group.iter().find_map(f)
}

fn nonblank(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn person_of(group: &[PersonRecord], flagged: &BTreeSet<String>) -> Person {
    let lead = &group[0];
    let external_id = lead.external_id.clone();
    let given_name = first(group, |r| nonblank(&r.given_name)).unwrap_or_default();
    let family_name = first(group, |r| nonblank(&r.family_name)).unwrap_or_default();
    let called = first(group, |r| r.preferred_name.as_deref().and_then(nonblank))
        .unwrap_or_else(|| given_name.clone());
    let mut systems: Vec<System> = group.iter().map(|r| r.system).collect();
    systems.dedup();
    let mut ids: Vec<String> = Vec::with_capacity(group.len() * 2 + 1);
    for r in group {
        ids.push(qualified_id(r.system, &r.source_id));
    }
    for r in group {
        if !ids.contains(&r.source_id) {
            ids.push(r.source_id.clone());
        }
    }
    if let Some(ext) = &external_id {
        if !ids.contains(ext) {
            ids.push(ext.clone());
        }
    }
    Person {
        id: person_id(lead.system, &lead.source_id, external_id.as_deref()),
        name: format!("{called} {family_name}").trim().to_string(),
        flagged: external_id.as_ref().is_some_and(|e| flagged.contains(e)),
        grade: first(group, |r| r.grade.clone()),
        homeroom: first(group, |r| r.homeroom.clone()),
        active: group.iter().any(|r| r.active),
        external_id,
        given_name,
        family_name,
        systems,
        ids,
    }
}

/// What each system calls a section; a section that is some student's homeroom is one.
fn section_kind(system: System, homeroom: bool) -> &'static str {
    match (system, homeroom) {
        (System::Hubmis, _) => "Tutor group",
        (_, true) => "Homeroom",
        (System::Matrix, false) => "Class",
        _ => "Section",
    }
}

/// Every phone number of a contact: the one Schooldesk keeps, then any others the system's
/// record lists (HUBmis contacts carry a list).
fn phones(g: &Guardian) -> Vec<String> {
    let mut out: Vec<String> = g.phone.iter().filter_map(|p| nonblank(p)).collect();
    if let Some(Value::Array(list)) = g.source.raw.get("phones") {
        for p in list {
            let number = match p {
                Value::String(s) => nonblank(s),
                Value::Object(m) => m.get("number").and_then(Value::as_str).and_then(nonblank),
                _ => None,
            };
            if let Some(n) = number {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// One system's link of a contact to the child.
pub fn contact(system: System, g: Guardian, link: StudentGuardian) -> PersonContact {
    PersonContact {
        systems: vec![system],
        name: format!("{} {}", g.given_name.trim(), g.family_name.trim())
            .trim()
            .to_string(),
        phones: phones(&g),
        email: g.email.as_deref().and_then(nonblank),
        relationship: link.relationship,
        primary: link.is_primary,
        may_collect: link.can_pick_up,
        emergency: link.emergency_contact,
    }
}

/// The same person listed by several systems is one contact: the same name (case and
/// spacing aside) with no phone number that says otherwise (a shared number, or none on one
/// side). Their numbers and systems are gathered; a "may NOT collect" from any system wins,
/// as does any system's "emergency contact"; primary if any system says so.
pub fn merge_contacts(contacts: impl IntoIterator<Item = PersonContact>) -> Vec<PersonContact> {
    fn key(name: &str) -> String {
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }
    let mut out: Vec<PersonContact> = Vec::new();
    for c in contacts {
        let same = out.iter_mut().find(|o| {
            key(&o.name) == key(&c.name)
                && (o.phones.is_empty()
                    || c.phones.is_empty()
                    || o.phones.iter().any(|p| c.phones.contains(p)))
        });
        let Some(o) = same else {
            out.push(c);
            continue;
        };
        for s in c.systems {
            if !o.systems.contains(&s) {
                o.systems.push(s);
            }
        }
        for p in c.phones {
            if !o.phones.contains(&p) {
                o.phones.push(p);
            }
        }
        o.email = o.email.take().or(c.email);
        o.relationship = o.relationship.take().or(c.relationship);
        o.primary |= c.primary;
        o.may_collect = match (o.may_collect, c.may_collect) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), _) | (_, Some(true)) => Some(true),
            _ => None,
        };
        o.emergency = match (o.emergency, c.emergency) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            _ => None,
        };
    }
    out
}

impl Desk {
    /// Every child in the cache, one row each (see the module docs for ids and precedence).
    pub fn people(&self) -> Result<People> {
        let cache = self.cache();
        let records = cache.person_records()?;
        let flagged = cache.disagreeing_external_ids()?;
        Ok(People {
            people: fold(records.records, &flagged),
            as_of: records.newest_fetch,
        })
    }

    /// Schools, each system's own, with their sections; a system's sections whose school is
    /// not cached go under an "Other sections" branch of that system (id `system:`).
    pub fn roster_tree(&self) -> Result<Vec<SchoolBranch>> {
        let cache = self.cache();
        let homerooms = cache.homeroom_sections()?;
        let sizes = cache.section_sizes()?;
        let mut branches: BTreeMap<(System, Option<String>), SchoolBranch> = BTreeMap::new();
        for school in cache.schools(None)? {
            let system = school.source.system;
            branches.insert(
                (system, Some(school.source.source_id.clone())),
                SchoolBranch {
                    id: qualified_id(system, &school.source.source_id),
                    name: school.name,
                    system,
                    sections: Vec::new(),
                },
            );
        }
        for sec in cache.sections(None)? {
            let system = sec.source.system;
            let key = (system, sec.school_source_id.clone());
            let key = if branches.contains_key(&key) {
                key
            } else {
                (system, None)
            };
            let id = sec.source.source_id;
            let leaf = SectionLeaf {
                id: qualified_id(system, &id),
                kind: section_kind(system, homerooms.contains(&(system, id.clone()))),
                students: sizes.get(&(system, id)).copied().unwrap_or(0),
                name: sec.name,
                code: sec.code,
            };
            branches
                .entry(key)
                .or_insert_with(|| SchoolBranch {
                    id: format!("{}:", system.as_str()),
                    name: OTHER_SECTIONS.to_string(),
                    system,
                    sections: Vec::new(),
                })
                .sections
                .push(leaf);
        }
        let mut out: Vec<SchoolBranch> = branches.into_values().collect();
        for b in &mut out {
            b.sections
                .sort_by_cached_key(|s| (s.name.to_lowercase(), s.id.clone()));
        }
        // Schools by name, the "Other sections" of each system after every school.
        out.sort_by_cached_key(|b| {
            (
                b.id.ends_with(':'),
                b.name.to_lowercase(),
                b.system,
                b.id.clone(),
            )
        });
        Ok(out)
    }

    /// The person ids of one section's roster (`system:id`), by name; a roster row whose
    /// student is not cached is left out, as on the roster itself.
    pub fn section_members(&self, section: &str) -> Result<Vec<String>> {
        let section = checked_id(section, "section")?;
        let roster = self.roster(section)?;
        let mut out: Vec<String> = Vec::with_capacity(roster.students.len());
        for s in roster.students {
            let id = person_id(s.system, &s.source_id, s.external_id.as_deref());
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The records of the child `person` names (a person id; a record's `system:id` is
    /// accepted too and means its whole child).
    fn person_records(&self, person: &str) -> Result<Vec<Student>> {
        let cache = self.cache();
        let asked = checked_id(person, "student")?;
        let unknown = || {
            invalid(format!(
                "There is no student '{asked}' in the cache. Pick the child from the student \
                 list; if they were added today, sync first."
            ))
        };
        let students = if let Some(ext) = asked.strip_prefix(EXTERNAL_PREFIX) {
            cache.students_by_external_id(ext.trim())?
        } else {
            let (Some(system), id) = parse_id(asked) else {
                return Err(unknown());
            };
            match cache.student(system, id)? {
                Some(s) => match s.external_id.as_deref().map(str::trim) {
                    Some(ext) if !ext.is_empty() => cache.students_by_external_id(ext)?,
                    _ => vec![s],
                },
                None => Vec::new(),
            }
        };
        if students.is_empty() {
            return Err(unknown());
        }
        Ok(students)
    }

    /// Everything the cache holds about one child: each system's record, where they
    /// disagree, contacts, sections, recent attendance, checklists and documents.
    pub fn person_page(&self, person: &str) -> Result<PersonPage> {
        let cache = self.cache();
        let mut students = self.person_records(person)?;
        students.sort_by(|a, b| {
            (a.source.system, &a.source.source_id).cmp(&(b.source.system, &b.source.source_id))
        });
        let external_id = students[0]
            .external_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(str::to_string);
        let mut disagreements = Vec::new();
        if let Some(ext) = &external_id {
            for d in cache.disagreements()? {
                if &d.external_id == ext {
                    disagreements.push((d.field, d.values));
                }
            }
        }
        let mut contacts = Vec::new();
        let mut enrollments = Vec::new();
        let mut attendance = Vec::new();
        for s in &mut students {
            let system = s.source.system;
            let sid = s.source.source_id.clone();
            if let Some(h) = &s.homeroom {
                if let Some(sec) = cache.section(system, h)? {
                    s.homeroom = Some(sec.name);
                }
            }
            for (g, link) in cache.guardians_of(system, &sid)? {
                contacts.push(contact(system, g, link));
            }
            for sec in cache.sections_of(system, &sid)? {
                enrollments.push(PersonEnrollment {
                    system,
                    section_id: qualified_id(system, &sec.source.source_id),
                    name: sec.name,
                    code: sec.code,
                });
            }
            attendance.extend(cache.student_marks(system, &sid, ATTENDANCE_DAYS)?);
        }
        // Each person once; primary contacts first, otherwise as each system lists them.
        let mut contacts = merge_contacts(contacts);
        contacts.sort_by_key(|c| !c.primary);
        attendance.sort_by(|a, b| {
            b.date
                .cmp(&a.date)
                .then_with(|| a.period.cmp(&b.period))
                .then_with(|| a.system.cmp(&b.system))
        });
        let (checklists, documents) = match &external_id {
            Some(ext) => {
                let lists: BTreeMap<(System, String), schooldesk_domain::Checklist> = cache
                    .checklists(None)?
                    .into_iter()
                    .map(|c| ((c.source.system, c.source.source_id.clone()), c))
                    .collect();
                let items = cache
                    .checklist_entries_of(ext)?
                    .into_iter()
                    .map(|e| {
                        let list = lists.get(&(e.source.system, e.checklist_source_id.clone()));
                        let item = list
                            .and_then(|l| l.items.iter().find(|i| i.source_id == e.item_source_id));
                        PersonChecklistItem {
                            checklist: list
                                .map_or_else(|| e.checklist_source_id.clone(), |l| l.name.clone()),
                            item: item.map_or_else(|| e.item_source_id.clone(), |i| i.name.clone()),
                            required: item.is_some_and(|i| i.required),
                            complete: e.completed,
                            completed_on: e.date_completed,
                        }
                    })
                    .collect();
                (items, cache.documents_of_child(ext)?)
            }
            None => (Vec::new(), Vec::new()),
        };
        let records: Vec<PersonRecord> = students
            .iter()
            .map(|s| PersonRecord {
                system: s.source.system,
                source_id: s.source.source_id.clone(),
                external_id: external_id.clone(),
                given_name: s.given_name.clone(),
                family_name: s.family_name.clone(),
                preferred_name: s.preferred_name.clone(),
                grade: s.grade.clone(),
                homeroom: s.homeroom.clone(),
                active: s.active,
            })
            .collect();
        let flagged: BTreeSet<String> = if disagreements.is_empty() {
            BTreeSet::new()
        } else {
            external_id.iter().cloned().collect()
        };
        Ok(PersonPage {
            person: person_of(&records, &flagged),
            records: students,
            disagreements,
            contacts,
            enrollments,
            attendance,
            checklists,
            documents,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(
        system: System,
        name: &str,
        phones: &[&str],
        may_collect: Option<bool>,
    ) -> PersonContact {
        PersonContact {
            systems: vec![system],
            name: name.into(),
            relationship: None,
            phones: phones.iter().map(|p| p.to_string()).collect(),
            email: None,
            primary: false,
            may_collect,
            emergency: None,
        }
    }

    /// REGRESSION: a parent known to OmniForge and HUBmis was listed twice on the student
    /// page, once per system, and a "may NOT collect" from one system sat beside a "may
    /// collect" from the other.
    #[test]
    fn a_contact_listed_by_several_systems_is_one_and_may_not_collect_wins() {
        let merged = merge_contacts([
            listed(
                System::OmniForge,
                "Daniel Bello",
                &["+1 555 0100"],
                Some(true),
            ),
            listed(
                System::Hubmis,
                "daniel  BELLO",
                &["+1 555 0100", "+1 555 0199"],
                Some(false),
            ),
            listed(System::PowerSchool, "Daniel Bello", &[], None),
            // Same name, other numbers only: another person (a namesake), kept apart.
            listed(System::Matrix, "Daniel Bello", &["+1 555 0777"], Some(true)),
            listed(System::Hubmis, "Grace Okafor", &["+1 555 0103"], Some(true)),
        ]);
        assert_eq!(merged.len(), 3, "{merged:#?}");
        let daniel = &merged[0];
        assert_eq!(
            daniel.systems,
            vec![System::OmniForge, System::Hubmis, System::PowerSchool]
        );
        assert_eq!(daniel.phones, vec!["+1 555 0100", "+1 555 0199"]);
        assert_eq!(daniel.may_collect, Some(false));
        assert_eq!(merged[1].phones, vec!["+1 555 0777"]);
        assert_eq!(merged[1].may_collect, Some(true));
        assert_eq!(merged[2].name, "Grace Okafor");
    }

    fn record(
        system: System,
        id: &str,
        ext: Option<&str>,
        given: &str,
        family: &str,
    ) -> PersonRecord {
        PersonRecord {
            system,
            source_id: id.into(),
            external_id: ext.map(str::to_string),
            given_name: given.into(),
            family_name: family.into(),
            preferred_name: None,
            grade: Some(format!("{system}")),
            homeroom: None,
            active: system != System::Matrix,
        }
    }

    #[test]
    fn records_of_one_child_fold_into_one_person_with_the_sis_value_first() {
        let flagged: BTreeSet<String> = ["E1".to_string()].into();
        // Sorted by name as the cache returns them: the HUBmis spelling sorts apart.
        let people = fold(
            vec![
                record(System::Hubmis, "h1", Some("E1"), "Ana", "Aardvark"),
                record(System::Matrix, "m1", Some("E1"), "Ana", "Zeta"),
                record(System::OmniForge, "o1", Some("E1"), "Ana", "Zeta"),
                record(System::Matrix, "m2", None, "Bo", "Zeta"),
            ],
            &flagged,
        );
        assert_eq!(people.len(), 2, "{people:#?}");
        let ana = people.iter().find(|p| p.id == "ext:E1").unwrap();
        assert_eq!(ana.family_name, "Zeta", "OmniForge's spelling wins");
        assert_eq!(ana.grade.as_deref(), Some("omniforge"));
        assert_eq!(
            ana.systems,
            [System::OmniForge, System::Matrix, System::Hubmis]
        );
        assert!(ana.flagged && ana.active);
        for id in ["omniforge:o1", "matrix:m1", "hubmis:h1", "o1", "E1"] {
            assert!(
                ana.ids.iter().any(|i| i == id),
                "{id} missing: {:?}",
                ana.ids
            );
        }
        let bo = people.iter().find(|p| p.id == "matrix:m2").unwrap();
        assert!(!bo.flagged && !bo.active);
        assert_eq!(bo.name, "Bo Zeta");
    }

    #[test]
    fn fifty_thousand_children_in_three_systems_fold_into_fifty_thousand_rows() {
        let systems = [System::OmniForge, System::PowerSchool, System::Matrix];
        let mut records = Vec::new();
        for i in 0..50_000 {
            for system in systems {
                let ext = format!("E{i}");
                records.push(record(
                    system,
                    &format!("{i}"),
                    Some(&ext),
                    "Ana",
                    &format!("F{i:05}"),
                ));
            }
        }
        let flagged: BTreeSet<String> = ["E7".to_string()].into();
        let people = fold(records, &flagged);
        assert_eq!(people.len(), 50_000);
        assert!(people.iter().all(|p| p.systems == systems));
        assert_eq!(people.iter().filter(|p| p.flagged).count(), 1);
        assert!(people
            .windows(2)
            .all(|w| w[0].family_name < w[1].family_name));
    }
}
