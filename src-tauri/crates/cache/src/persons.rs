//! Reads for the desk's people views: every student record in one pass (the desk folds the
//! records of one child together), which sections are homerooms, and one child's marks,
//! checklist entries and registration documents.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_domain::{ChecklistEntry, EnrollmentRecord, System};

use crate::codec::{get_date, get_status, get_system, none_if_empty, parse_ts};
use crate::error::Result;
use crate::rows;
use crate::store::Cache;

/// One student record as the people list needs it (no source JSON: 150,000 of these are read
/// at once).
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRecord {
    pub system: System,
    pub source_id: String,
    /// Trimmed; `None` when empty.
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub grade: Option<String>,
    /// The homeroom's name where its section is cached, else the system's homeroom value.
    pub homeroom: Option<String>,
    pub active: bool,
}

/// Every student record and when the newest was fetched.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PersonRecords {
    /// By family name, given name (case-insensitive), then system id (as text) and id.
    pub records: Vec<PersonRecord>,
    pub newest_fetch: Option<DateTime<Utc>>,
}

/// One attendance mark of a student, with its section's name.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentMark {
    pub system: System,
    pub date: NaiveDate,
    pub section_source_id: Option<String>,
    pub section_name: Option<String>,
    pub period: Option<String>,
    pub status: schooldesk_domain::AttendanceStatus,
    pub code: Option<String>,
    pub note: Option<String>,
    pub minutes: Option<i64>,
    /// `synced`, `pending`, `conflict` or `local_only`.
    pub state: String,
}

/// A registration document's listing (never its content).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentListing {
    pub system: System,
    pub source_id: String,
    pub name: String,
    pub content_type: Option<String>,
    /// The file itself is in the cache.
    pub downloaded: bool,
}

impl Cache {
    /// Every cached student record in ONE query, homeroom names joined in, sorted for the
    /// people list.
    pub fn person_records(&self) -> Result<PersonRecords> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT s.system, s.source_id, s.external_id, s.given_name, s.family_name, \
                 s.preferred_name, s.grade, COALESCE(h.name, s.homeroom), s.active, s.fetched_at \
                 FROM students s \
                 LEFT JOIN sections h ON h.system = s.system AND h.source_id = s.homeroom \
                 ORDER BY s.family_name COLLATE NOCASE, s.given_name COLLATE NOCASE, \
                 s.system, s.source_id",
            )?;
            let mut newest: Option<String> = None;
            let mut records = Vec::new();
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let fetched: String = r.get(9)?;
                // Stored fixed-width, so text order is time order.
                if newest.as_ref().is_none_or(|n| fetched > *n) {
                    newest = Some(fetched);
                }
                records.push(PersonRecord {
                    system: get_system(r, 0)?,
                    source_id: r.get(1)?,
                    external_id: r
                        .get::<_, Option<String>>(2)?
                        .map(|e| e.trim().to_string())
                        .filter(|e| !e.is_empty()),
                    given_name: r.get(3)?,
                    family_name: r.get(4)?,
                    preferred_name: r.get::<_, Option<String>>(5)?.and_then(none_if_empty),
                    grade: r.get::<_, Option<String>>(6)?.and_then(none_if_empty),
                    homeroom: r.get::<_, Option<String>>(7)?.and_then(none_if_empty),
                    active: r.get(8)?,
                });
            }
            Ok(PersonRecords {
                records,
                newest_fetch: newest.map(|n| parse_ts(&n)).transpose()?,
            })
        })
    }

    /// The external ids of the children the systems disagree about.
    pub fn disagreeing_external_ids(&self) -> Result<BTreeSet<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT DISTINCT external_id FROM disagreements")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The sections some student has as their homeroom (tutor group, form), by system.
    pub fn homeroom_sections(&self) -> Result<BTreeSet<(System, String)>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT system, homeroom FROM students \
                 WHERE homeroom IS NOT NULL AND homeroom <> ''",
            )?;
            let rows = stmt.query_map([], |r| Ok((get_system(r, 0)?, r.get::<_, String>(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One student's marks, newest first: those within `days` days of their newest mark.
    pub fn student_marks(
        &self,
        system: System,
        student_source_id: &str,
        days: u32,
    ) -> Result<Vec<StudentMark>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT m.system, m.date, m.section_source_id, sec.name, m.period, m.status, \
                 m.code, m.note, m.minutes, m.state FROM attendance_marks m \
                 LEFT JOIN sections sec ON sec.system = m.system \
                 AND sec.source_id = m.section_source_id \
                 WHERE m.system = ?1 AND m.student_source_id = ?2 AND m.date > ( \
                   SELECT date(max(date), '-' || ?3 || ' days') FROM attendance_marks \
                   WHERE system = ?1 AND student_source_id = ?2) \
                 ORDER BY m.date DESC, m.period, m.section_source_id",
            )?;
            let rows = stmt.query_map((system.as_str(), student_source_id, days), |r| {
                Ok(StudentMark {
                    system: get_system(r, 0)?,
                    date: get_date(r, 1)?,
                    section_source_id: none_if_empty(r.get(2)?),
                    section_name: r.get(3)?,
                    period: none_if_empty(r.get(4)?),
                    status: get_status(r, 5)?,
                    code: r.get::<_, Option<String>>(6)?.and_then(none_if_empty),
                    note: r.get::<_, Option<String>>(7)?.and_then(none_if_empty),
                    minutes: r.get(8)?,
                    state: r.get(9)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The enrollment records (roster records and submissions) of the child with this
    /// external id.
    pub fn enrollment_records_of(&self, external_id: &str) -> Result<Vec<EnrollmentRecord>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.external_student_id = ?1 ORDER BY t.system, t.source_id",
                [external_id],
            )
        })
    }

    /// The checklist entries of the child with this external id: those naming the child, and
    /// those of the child's enrollment records.
    pub fn checklist_entries_of(&self, external_id: &str) -> Result<Vec<ChecklistEntry>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.external_student_id = ?1 OR EXISTS (SELECT 1 FROM enrollment_records r \
                 WHERE r.system = t.system AND r.source_id = t.record_source_id \
                 AND r.external_student_id = ?1) \
                 ORDER BY t.system, t.checklist_source_id, t.item_source_id",
                [external_id],
            )
        })
    }

    /// The documents attached to the enrollment records of the child with this external id,
    /// by name, without their content.
    pub fn documents_of_child(&self, external_id: &str) -> Result<Vec<DocumentListing>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.system, d.source_id, d.name, d.content_type, d.content IS NOT NULL \
                 FROM documents d JOIN enrollment_records r ON r.system = d.system \
                 AND r.source_id = d.record_source_id \
                 WHERE r.external_student_id = ?1 \
                 ORDER BY d.name COLLATE NOCASE, d.system, d.source_id",
            )?;
            let rows = stmt.query_map([external_id], |r| {
                Ok(DocumentListing {
                    system: get_system(r, 0)?,
                    source_id: r.get(1)?,
                    name: r.get(2)?,
                    content_type: r.get(3)?,
                    downloaded: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
