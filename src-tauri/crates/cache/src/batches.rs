//! What PowerSchool and Matrix writes leave in the cache: delivery batches as fetched, the
//! import schemas roster records are checked against, and grades set from the desk.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use crate::codec::{stored_json, ts};
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

/// One delivery batch as PowerSchool handed it over.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryBatch {
    pub target_id: String,
    pub batch_id: String,
    /// When PowerSchool created it.
    pub created_at: String,
    pub fetched_at: DateTime<Utc>,
    /// The outbox entry whose `createbatch` fetched it.
    pub outbox_id: Option<i64>,
    /// The submission records it delivered, as PowerSchool sent them.
    pub records: Vec<Value>,
    /// When its records were put back in the delivery pool.
    pub reset_at: Option<DateTime<Utc>>,
}

/// One import schema of a published action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSchema {
    pub action_id: String,
    pub schema_id: String,
    pub title: String,
    pub fields: Vec<String>,
}

/// Stores the batch a `createbatch` answered (inside the transaction that marks it done). An
/// empty batch is not a batch PowerSchool keeps, so it is not stored either.
pub(crate) fn store_batch(
    conn: &Connection,
    target_id: &str,
    batch: &Value,
    outbox_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let id = match batch.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(CacheError::InvalidInput(
                "PowerSchool answered a delivery batch without an id.".into(),
            ))
        }
    };
    let records = batch
        .get("records")
        .cloned()
        .unwrap_or_else(|| Value::Array(Vec::new()));
    if records.as_array().is_some_and(Vec::is_empty) {
        return Ok(());
    }
    let created = batch
        .get("date")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    conn.execute(
        "INSERT INTO delivery_batches (target_id, batch_id, created_at, fetched_at, outbox_id, \
         records_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (target_id, batch_id) DO NOTHING",
        (
            target_id,
            &id,
            created,
            ts(now),
            outbox_id,
            stored_json(&records)?,
        ),
    )?;
    Ok(())
}

pub(crate) fn mark_reset(
    conn: &Connection,
    target_id: &str,
    batch_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "UPDATE delivery_batches SET reset_at = ?3 WHERE target_id = ?1 AND batch_id = ?2",
        (target_id, batch_id, ts(now)),
    )?;
    Ok(())
}

/// A grade the system now holds, reflected in the cached grade when the desk has one.
pub(crate) fn set_cached_grade(
    conn: &Connection,
    class_id: &str,
    assignment_id: &str,
    student_id: &str,
    grade: &str,
) -> Result<()> {
    // The grade is Matrix's `grade` field; the score column falls back to it only when the
    // assignment has no points score.
    conn.execute(
        "UPDATE grades SET source_json = json_set(source_json, '$.grade', ?4), \
         score = CASE WHEN json_extract(source_json, '$.score') IS NULL THEN ?4 ELSE score END \
         WHERE system = 'matrix' AND section_source_id = ?1 AND assignment = ?2 \
         AND student_source_id = ?3",
        (class_id, assignment_id, student_id, grade),
    )?;
    Ok(())
}

impl Cache {
    /// Delivery batches fetched (all targets, or one), newest first.
    pub fn delivery_batches(&self, target_id: Option<&str>) -> Result<Vec<DeliveryBatch>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT target_id, batch_id, created_at, fetched_at, outbox_id, records_json, \
                 reset_at FROM delivery_batches WHERE ?1 IS NULL OR target_id = ?1 \
                 ORDER BY fetched_at DESC, batch_id",
            )?;
            let rows = stmt.query_map([target_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    crate::codec::get_ts(r, 3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (target_id, batch_id, created_at, fetched_at, outbox_id, records, reset) = row?;
                out.push(DeliveryBatch {
                    target_id,
                    batch_id,
                    created_at,
                    fetched_at,
                    outbox_id,
                    records: serde_json::from_str(&records)?,
                    reset_at: reset.map(|s| crate::codec::parse_ts(&s)).transpose()?,
                });
            }
            Ok(out)
        })
    }

    /// Ids of the batches stored for `target_id`: a batch PowerSchool lists that is not here
    /// was created by a request whose answer never arrived.
    pub fn known_batch_ids(&self, target_id: &str) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT batch_id FROM delivery_batches WHERE target_id = ?1 ORDER BY batch_id",
            )?;
            let rows = stmt.query_map([target_id], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// See [`CacheTx::replace_import_schemas`].
    pub fn replace_import_schemas(
        &self,
        action_id: &str,
        schemas: &[ImportSchema],
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.with_transaction(|tx| tx.replace_import_schemas(action_id, schemas, now))
    }

    /// Every import schema from the last sync, by published action then schema id.
    pub fn import_schemas(&self) -> Result<Vec<ImportSchema>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT action_id, schema_id, title, fields_json FROM import_schemas \
                 ORDER BY action_id, schema_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (action_id, schema_id, title, fields) = row?;
                out.push(ImportSchema {
                    action_id,
                    schema_id,
                    title,
                    fields: serde_json::from_str(&fields)?,
                });
            }
            Ok(out)
        })
    }

    pub fn import_schema(&self, action_id: &str, schema_id: &str) -> Result<Option<ImportSchema>> {
        self.read(|c| {
            let row = c
                .query_row(
                    "SELECT title, fields_json FROM import_schemas WHERE action_id = ?1 \
                     AND schema_id = ?2",
                    (action_id, schema_id),
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
                )
                .optional()?;
            row.map(|(title, fields)| {
                Ok(ImportSchema {
                    action_id: action_id.into(),
                    schema_id: schema_id.into(),
                    title,
                    fields: serde_json::from_str(&fields)?,
                })
            })
            .transpose()
        })
    }
}

impl CacheTx<'_> {
    /// Replaces the import schemas stored for `action_id` (a sync of PowerSchool).
    pub fn replace_import_schemas(
        &self,
        action_id: &str,
        schemas: &[ImportSchema],
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "DELETE FROM import_schemas WHERE action_id = ?1",
            [action_id],
        )?;
        for s in schemas {
            self.conn.execute(
                "INSERT INTO import_schemas (action_id, schema_id, title, fields_json, \
                 fetched_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                (
                    action_id,
                    &s.schema_id,
                    &s.title,
                    serde_json::to_string(&s.fields)?,
                    ts(now),
                ),
            )?;
        }
        Ok(())
    }
}
