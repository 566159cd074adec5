//! The same child across systems, matched by the id the district shares (PowerSchool
//! `externalStudentID` on its roster records, Matrix `student_id`, HUBmis `external_id`,
//! OmniForge `externalId`).
//! Where the systems disagree on a name, the date of birth or the grade, the disagreement is
//! listed for a person to review: nothing is merged or overwritten.

use chrono::{DateTime, Utc};
use schooldesk_cache::{Cache, CacheError, StudentQuery};
use schooldesk_connectors::wire::normalise_grade;
use schooldesk_domain::{Disagreement, EnrollmentRecord, EnrollmentRecordKind, Student, System};
use serde::Serialize;
use std::collections::BTreeMap;

/// One child seen in several systems.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    pub external_id: String,
    /// (system, id in that system) of every record with this external id.
    pub records: Vec<(System, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MatchReport {
    /// Children found in two or more systems.
    pub matched: Vec<Match>,
    /// Student records with no shared id: they cannot be matched and are left as they are.
    pub without_external_id: usize,
    pub disagreements: Vec<Disagreement>,
}

/// A child as one system's record describes them: a student, or a PowerSchool roster record.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub system: System,
    pub source_id: String,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Option<chrono::NaiveDate>,
    pub grade: Option<String>,
}

impl From<&Student> for Person {
    fn from(s: &Student) -> Person {
        Person {
            system: s.source.system,
            source_id: s.source.source_id.clone(),
            external_id: s.external_id.clone(),
            given_name: s.given_name.clone(),
            family_name: s.family_name.clone(),
            date_of_birth: s.date_of_birth,
            grade: s.grade.clone(),
        }
    }
}

impl From<&EnrollmentRecord> for Person {
    fn from(r: &EnrollmentRecord) -> Person {
        Person {
            system: r.source.system,
            source_id: r.source.source_id.clone(),
            external_id: r.external_student_id.clone(),
            given_name: r.given_name.clone().unwrap_or_default(),
            family_name: r.family_name.clone().unwrap_or_default(),
            date_of_birth: r.date_of_birth,
            grade: r.grade.clone(),
        }
    }
}

/// One compared field: its name, and (comparison key, value as shown) when the record has it.
type Field = (&'static str, Option<(String, String)>);

/// The fields compared, with how a value is written for comparison (case, spacing and the
/// way each system writes a grade do not count as disagreement).
fn fields(s: &Person) -> [Field; 4] {
    let text = |v: &str| {
        let shown = v.trim().to_string();
        let key = v
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        (!key.is_empty()).then_some((key, shown))
    };
    [
        ("given_name", text(&s.given_name)),
        ("family_name", text(&s.family_name)),
        (
            "date_of_birth",
            s.date_of_birth.map(|d| {
                let v = d.format("%Y-%m-%d").to_string();
                (v.clone(), v)
            }),
        ),
        (
            "grade",
            s.grade.as_deref().and_then(|g| {
                let n = normalise_grade(g)?;
                Some((n.clone(), n))
            }),
        ),
    ]
}

/// Groups students by external id and lists every field on which two systems disagree.
pub fn match_students(students: &[Student]) -> MatchReport {
    let people: Vec<Person> = students.iter().map(Person::from).collect();
    match_people(&people)
}

/// [`match_students`] over any records that describe a child.
pub fn match_people(students: &[Person]) -> MatchReport {
    let mut groups: BTreeMap<String, Vec<&Person>> = BTreeMap::new();
    let mut report = MatchReport::default();
    for s in students {
        match s
            .external_id
            .as_deref()
            .map(str::trim)
            .filter(|x| !x.is_empty())
        {
            Some(id) => groups.entry(id.to_string()).or_default().push(s),
            None => report.without_external_id += 1,
        }
    }
    for (external_id, group) in groups {
        let mut systems: Vec<System> = group.iter().map(|s| s.system).collect();
        systems.sort();
        systems.dedup();
        if systems.len() < 2 {
            continue;
        }
        let mut records: Vec<(System, String)> = group
            .iter()
            .map(|s| (s.system, s.source_id.clone()))
            .collect();
        records.sort();
        report.matched.push(Match {
            external_id: external_id.clone(),
            records,
        });
        let per_record: Vec<(System, [Field; 4])> =
            group.iter().map(|s| (s.system, fields(s))).collect();
        for f in 0..4 {
            let name = per_record[0].1[f].0;
            let mut values: Vec<(System, String)> = Vec::new();
            let mut keys: Vec<&str> = Vec::new();
            for (system, fs) in &per_record {
                if let Some((key, shown)) = &fs[f].1 {
                    keys.push(key);
                    values.push((*system, shown.clone()));
                }
            }
            keys.sort_unstable();
            keys.dedup();
            if keys.len() > 1 {
                values.sort();
                values.dedup();
                report.disagreements.push(Disagreement {
                    external_id: external_id.clone(),
                    field: name.to_string(),
                    values,
                });
            }
        }
    }
    report
}

/// Matches every student (and PowerSchool roster record) in the cache and makes the cache's
/// list of disagreements the one found now (those resolved at the source disappear).
pub fn refresh(cache: &Cache, now: DateTime<Utc>) -> Result<MatchReport, CacheError> {
    let mut people: Vec<Person> = cache
        .students(&StudentQuery::default())?
        .iter()
        .map(Person::from)
        .collect();
    people.extend(
        cache
            .enrollment_records(System::PowerSchool, Some(EnrollmentRecordKind::Roster))?
            .iter()
            .map(Person::from),
    );
    let report = match_people(&people);
    cache.with_transaction(|tx| tx.replace_disagreements(&report.disagreements, now))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use schooldesk_domain::Source;

    fn student(system: System, id: &str, ext: Option<&str>, family: &str, grade: &str) -> Student {
        Student {
            source: Source::new(system, id, Utc::now(), serde_json::json!({})),
            external_id: ext.map(str::to_string),
            given_name: "Maya".into(),
            family_name: family.into(),
            preferred_name: None,
            date_of_birth: NaiveDate::from_ymd_opt(2015, 3, 4),
            grade: Some(grade.into()),
            school_source_id: None,
            homeroom: None,
            active: true,
        }
    }

    #[test]
    fn disagreements_are_listed_not_merged_and_formatting_is_not_a_disagreement() {
        let students = vec![
            student(System::OmniForge, "a", Some("ST1"), "Patel", "K"),
            student(System::Matrix, "4100", Some("ST1"), "patel ", "0"),
            student(System::Hubmis, "1001", Some("ST1"), "Patel-Smith", "K"),
            student(System::PowerSchool, "9", Some("ST2"), "Khan", "3"),
            student(System::Matrix, "4101", Some("ST2"), "Khan", "4"),
            student(System::Matrix, "4102", None, "Nobody", "5"),
            student(System::Hubmis, "1002", Some("ST3"), "Alone", "5"),
        ];
        let r = match_students(&students);
        assert_eq!(r.matched.len(), 2);
        assert_eq!(r.without_external_id, 1);
        assert_eq!(r.disagreements.len(), 2, "{:?}", r.disagreements);
        let name = &r.disagreements[0];
        assert_eq!(
            (name.external_id.as_str(), name.field.as_str()),
            ("ST1", "family_name")
        );
        assert!(name
            .values
            .contains(&(System::Hubmis, "Patel-Smith".to_string())));
        let grade = &r.disagreements[1];
        assert_eq!(
            (grade.external_id.as_str(), grade.field.as_str()),
            ("ST2", "grade")
        );
        assert_eq!(
            grade.values,
            vec![
                (System::PowerSchool, "3".into()),
                (System::Matrix, "4".into())
            ]
        );
    }
}
