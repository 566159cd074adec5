//! Learning support (SEN) records and reviews, and grades.

use rusqlite::types::ToSqlOutput;
use rusqlite::Row;
use schooldesk_domain::{Grade, LearningSupportRecord, LearningSupportReview, Source, System};

use crate::codec::{get_opt_date, opt_date, opt_text, text};
use crate::error::{CacheError, Result};
use crate::rows::{self, Sourced};
use crate::store::{Cache, CacheTx};

impl Sourced for LearningSupportRecord {
    const TABLE: &'static str = "learning_support_records";
    const COLUMNS: &'static [&'static str] = &[
        "student_source_id",
        "support_type",
        "severity",
        "status",
        "notes",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(&self.student_source_id),
            opt_text(&self.support_type),
            opt_text(&self.severity),
            opt_text(&self.status),
            opt_text(&self.notes),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(LearningSupportRecord {
            source,
            student_source_id: row.get(4)?,
            support_type: row.get(5)?,
            severity: row.get(6)?,
            status: row.get(7)?,
            notes: row.get(8)?,
        })
    }
    fn validate(&self) -> Result<()> {
        if self.student_source_id.trim().is_empty() {
            return Err(CacheError::InvalidInput(format!(
                "Learning-support record {} has no student.",
                self.source.source_id
            )));
        }
        Ok(())
    }
}

impl Sourced for LearningSupportReview {
    const TABLE: &'static str = "learning_support_reviews";
    const COLUMNS: &'static [&'static str] = &[
        "record_source_id",
        "student_source_id",
        "review_type",
        "review_date",
        "outcome",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            opt_text(&self.record_source_id),
            opt_text(&self.student_source_id),
            opt_text(&self.review_type),
            opt_date(self.review_date),
            opt_text(&self.outcome),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(LearningSupportReview {
            source,
            record_source_id: row.get(4)?,
            student_source_id: row.get(5)?,
            review_type: row.get(6)?,
            review_date: get_opt_date(row, 7)?,
            outcome: row.get(8)?,
        })
    }
}

impl Sourced for Grade {
    const TABLE: &'static str = "grades";
    const COLUMNS: &'static [&'static str] = &[
        "student_source_id",
        "section_source_id",
        "assignment",
        "score",
        "max_score",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(&self.student_source_id),
            text(&self.section_source_id),
            text(&self.assignment),
            opt_text(&self.score),
            opt_text(&self.max_score),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Grade {
            source,
            student_source_id: row.get(4)?,
            section_source_id: row.get(5)?,
            assignment: row.get(6)?,
            score: row.get(7)?,
            max_score: row.get(8)?,
        })
    }
}

impl CacheTx<'_> {
    pub fn upsert_learning_support_records(&self, rows: &[LearningSupportRecord]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_learning_support_reviews(&self, rows: &[LearningSupportReview]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_grades(&self, rows: &[Grade]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }
}

impl Cache {
    /// Learning-support records, of one student or all, by student then id.
    pub fn learning_support_records(
        &self,
        system: System,
        student_source_id: Option<&str>,
    ) -> Result<Vec<LearningSupportRecord>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND (?2 IS NULL OR t.student_source_id = ?2) \
                 ORDER BY t.student_source_id, t.source_id",
                (system.as_str(), student_source_id),
            )
        })
    }

    /// Learning-support reviews, of one student or all, newest first.
    pub fn learning_support_reviews(
        &self,
        system: System,
        student_source_id: Option<&str>,
    ) -> Result<Vec<LearningSupportReview>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND (?2 IS NULL OR t.student_source_id = ?2) \
                 ORDER BY t.review_date DESC, t.source_id",
                (system.as_str(), student_source_id),
            )
        })
    }

    /// The grades of one section, by student then assignment.
    pub fn grades(&self, system: System, section_source_id: &str) -> Result<Vec<Grade>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND t.section_source_id = ?2 \
                 ORDER BY t.student_source_id, t.assignment, t.source_id",
                (system.as_str(), section_source_id),
            )
        })
    }
}
