//! Registration: enrollment records, checklists with their entries, and documents.

use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, Row};
use schooldesk_domain::{
    Checklist, ChecklistEntry, ChecklistItem, Document, EnrollmentRecord, EnrollmentRecordKind,
    Source, System,
};
use serde::{Deserialize, Serialize};

use crate::codec::{boolean, get_opt_date, opt_date, opt_text, text};
use crate::error::{CacheError, Result};
use crate::rows::{self, Sourced};
use crate::store::{Cache, CacheTx};

impl Sourced for Checklist {
    const TABLE: &'static str = "checklists";
    const COLUMNS: &'static [&'static str] = &["name"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![text(&self.name)]
    }
    /// Items are read separately, see [`with_items`].
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Checklist {
            source,
            name: row.get(4)?,
            items: Vec::new(),
        })
    }
    fn validate(&self) -> Result<()> {
        if let Some(item) = self.items.iter().find(|i| i.source_id.trim().is_empty()) {
            return Err(CacheError::InvalidInput(format!(
                "An item '{}' of checklist '{}' has no id.",
                item.name, self.name
            )));
        }
        Ok(())
    }
}

fn with_items(conn: &Connection, mut lists: Vec<Checklist>) -> Result<Vec<Checklist>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source_id, name, required FROM checklist_items \
         WHERE system = ?1 AND checklist_source_id = ?2 ORDER BY position",
    )?;
    for list in &mut lists {
        let items = stmt.query_map((list.source.system.as_str(), &list.source.source_id), |r| {
            Ok(ChecklistItem {
                source_id: r.get(0)?,
                name: r.get(1)?,
                required: r.get(2)?,
            })
        })?;
        list.items = items.collect::<rusqlite::Result<_>>()?;
    }
    Ok(lists)
}

impl Sourced for ChecklistEntry {
    const TABLE: &'static str = "checklist_entries";
    const COLUMNS: &'static [&'static str] = &[
        "checklist_source_id",
        "item_source_id",
        "record_source_id",
        "external_student_id",
        "completed",
        "date_completed",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(&self.checklist_source_id),
            text(&self.item_source_id),
            opt_text(&self.record_source_id),
            opt_text(&self.external_student_id),
            boolean(self.completed),
            opt_date(self.date_completed),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(ChecklistEntry {
            source,
            checklist_source_id: row.get(4)?,
            item_source_id: row.get(5)?,
            record_source_id: row.get(6)?,
            external_student_id: row.get(7)?,
            completed: row.get(8)?,
            date_completed: get_opt_date(row, 9)?,
        })
    }
}

impl Sourced for EnrollmentRecord {
    const TABLE: &'static str = "enrollment_records";
    const COLUMNS: &'static [&'static str] = &[
        "kind",
        "published_action_id",
        "external_student_id",
        "given_name",
        "family_name",
        "date_of_birth",
        "grade",
        "status",
    ];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(self.kind.as_str()),
            opt_text(&self.published_action_id),
            opt_text(&self.external_student_id),
            opt_text(&self.given_name),
            opt_text(&self.family_name),
            opt_date(self.date_of_birth),
            opt_text(&self.grade),
            opt_text(&self.status),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        let kind: String = row.get(4)?;
        Ok(EnrollmentRecord {
            source,
            kind: match kind.as_str() {
                "roster" => EnrollmentRecordKind::Roster,
                "submission" => EnrollmentRecordKind::Submission,
                other => {
                    return Err(rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        format!("unknown enrollment record kind '{other}'").into(),
                    ))
                }
            },
            published_action_id: row.get(5)?,
            external_student_id: row.get(6)?,
            given_name: row.get(7)?,
            family_name: row.get(8)?,
            date_of_birth: get_opt_date(row, 9)?,
            grade: row.get(10)?,
            status: row.get(11)?,
        })
    }
}

impl Sourced for Document {
    const TABLE: &'static str = "documents";
    const COLUMNS: &'static [&'static str] =
        &["record_source_id", "name", "content_type", "content"];
    /// The file is downloaded apart from its description; refreshing the description must
    /// not drop it.
    const KEEP_WHEN_NULL: &'static [&'static str] = &["content"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            opt_text(&self.record_source_id),
            text(&self.name),
            opt_text(&self.content_type),
            match &self.content {
                Some(bytes) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Blob(bytes)),
                None => ToSqlOutput::Owned(SqlValue::Null),
            },
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(Document {
            source,
            record_source_id: row.get(4)?,
            name: row.get(5)?,
            content_type: row.get(6)?,
            content: row.get(7)?,
        })
    }
}

/// A required checklist item a family has not completed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingItem {
    pub system: System,
    pub record_source_id: String,
    pub checklist_source_id: String,
    pub checklist_name: String,
    pub item_source_id: String,
    pub item_name: String,
}

fn missing_items(
    conn: &Connection,
    system: System,
    record: Option<&str>,
) -> Result<Vec<MissingItem>> {
    // A record is held to a checklist once the system lists any entry of it for the record.
    let mut stmt = conn.prepare_cached(
        "WITH held AS (SELECT DISTINCT record_source_id, checklist_source_id FROM checklist_entries \
             WHERE system = ?1 AND record_source_id IS NOT NULL \
             AND (?2 IS NULL OR record_source_id = ?2)) \
         SELECT h.record_source_id, c.source_id, c.name, i.source_id, i.name \
         FROM held h \
         JOIN checklists c ON c.system = ?1 AND c.source_id = h.checklist_source_id \
         JOIN checklist_items i ON i.system = ?1 AND i.checklist_source_id = c.source_id \
         WHERE i.required = 1 AND NOT EXISTS (SELECT 1 FROM checklist_entries e \
             WHERE e.system = ?1 AND e.record_source_id = h.record_source_id \
             AND e.checklist_source_id = c.source_id AND e.item_source_id = i.source_id \
             AND e.completed = 1) \
         ORDER BY h.record_source_id, c.name COLLATE NOCASE, c.source_id, i.position",
    )?;
    let rows = stmt.query_map((system.as_str(), record), |r| {
        Ok(MissingItem {
            system,
            record_source_id: r.get(0)?,
            checklist_source_id: r.get(1)?,
            checklist_name: r.get(2)?,
            item_source_id: r.get(3)?,
            item_name: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl CacheTx<'_> {
    /// Inserts or updates checklists; each one's items are replaced by those given.
    pub fn upsert_checklists(&self, lists: &[Checklist]) -> Result<usize> {
        let n = rows::upsert(self.conn, lists)?;
        let mut delete = self.conn.prepare_cached(
            "DELETE FROM checklist_items WHERE system = ?1 AND checklist_source_id = ?2",
        )?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO checklist_items (system, checklist_source_id, source_id, position, name, required) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (system, checklist_source_id, source_id) DO UPDATE SET \
             position = excluded.position, name = excluded.name, required = excluded.required",
        )?;
        for list in lists {
            let system = list.source.system.as_str();
            delete.execute((system, &list.source.source_id))?;
            for (position, item) in list.items.iter().enumerate() {
                insert.execute((
                    system,
                    &list.source.source_id,
                    &item.source_id,
                    i64::try_from(position).unwrap_or(i64::MAX),
                    &item.name,
                    item.required,
                ))?;
            }
        }
        Ok(n)
    }

    pub fn upsert_checklist_entries(&self, rows: &[ChecklistEntry]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    pub fn upsert_enrollment_records(&self, rows: &[EnrollmentRecord]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    /// Inserts or updates documents; a document given without content keeps the content
    /// already downloaded.
    pub fn upsert_documents(&self, rows: &[Document]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    /// Stores a document's downloaded file; returns false if the document is not cached.
    pub fn store_document_content(
        &self,
        system: System,
        source_id: &str,
        content: &[u8],
    ) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE documents SET content = ?3 WHERE system = ?1 AND source_id = ?2",
            (system.as_str(), source_id, content),
        )?;
        Ok(n > 0)
    }
}

impl Cache {
    /// Checklists with their items, by name.
    pub fn checklists(&self, system: Option<System>) -> Result<Vec<Checklist>> {
        self.read(|c| {
            let lists = rows::all(c, system, "t.name COLLATE NOCASE, t.system, t.source_id")?;
            with_items(c, lists)
        })
    }

    /// The checklist entries of one enrollment record.
    pub fn checklist_entries(
        &self,
        system: System,
        record_source_id: &str,
    ) -> Result<Vec<ChecklistEntry>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND t.record_source_id = ?2 \
                 ORDER BY t.checklist_source_id, t.item_source_id",
                (system.as_str(), record_source_id),
            )
        })
    }

    /// Every entry of one checklist (all records), by record then item.
    pub fn entries_of_checklist(
        &self,
        system: System,
        checklist_source_id: &str,
    ) -> Result<Vec<ChecklistEntry>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND t.checklist_source_id = ?2 \
                 ORDER BY t.record_source_id, t.item_source_id",
                (system.as_str(), checklist_source_id),
            )
        })
    }

    /// Required checklist items not yet completed, for one record or (with `None`) every
    /// record, by record, checklist and item order. A record counts as held to a checklist
    /// once the system lists any entry of that checklist for it.
    pub fn missing_items(
        &self,
        system: System,
        record_source_id: Option<&str>,
    ) -> Result<Vec<MissingItem>> {
        self.read(|c| missing_items(c, system, record_source_id))
    }

    /// Enrollment records (roster records and submissions), optionally of one kind.
    pub fn enrollment_records(
        &self,
        system: System,
        kind: Option<EnrollmentRecordKind>,
    ) -> Result<Vec<EnrollmentRecord>> {
        self.read(|c| {
            rows::select(
                c,
                "WHERE t.system = ?1 AND (?2 IS NULL OR t.kind = ?2) \
                 ORDER BY t.family_name COLLATE NOCASE, t.given_name COLLATE NOCASE, t.source_id",
                (system.as_str(), kind.map(EnrollmentRecordKind::as_str)),
            )
        })
    }

    /// The documents of one record, by name, WITHOUT their content (see [`Cache::document`]).
    pub fn documents_of(&self, system: System, record_source_id: &str) -> Result<Vec<Document>> {
        self.read(|c| {
            // Listing must not drag every file through memory: the content column (last) is
            // read as NULL.
            let sql = format!(
                "{} WHERE t.system = ?1 AND t.record_source_id = ?2 \
                 ORDER BY t.name COLLATE NOCASE, t.source_id",
                rows::select_from::<Document>("t").replace(", t.content FROM", ", NULL FROM")
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let docs = stmt.query_map(
                (system.as_str(), record_source_id),
                rows::from_row::<Document>,
            )?;
            Ok(docs.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One document with its content, if downloaded.
    /// Every document of `system` (or all systems), without file content, by system and id.
    pub fn documents(&self, system: Option<System>) -> Result<Vec<Document>> {
        self.read(|c| {
            let sql = format!(
                "{} WHERE (?1 IS NULL OR t.system = ?1) ORDER BY t.system, t.source_id",
                rows::select_from::<Document>("t").replace(", t.content FROM", ", NULL FROM")
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let docs = stmt.query_map([system.map(System::as_str)], rows::from_row::<Document>)?;
            Ok(docs.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    pub fn document(&self, system: System, source_id: &str) -> Result<Option<Document>> {
        self.read(|c| rows::get(c, system, source_id))
    }
}
