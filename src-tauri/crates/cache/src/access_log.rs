//! The access log: every export and every view of learning-support data, kept in the cache
//! (so it is encrypted with it) for the school to answer "who took which child's records,
//! when, and where to".

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::codec::{get_ts, ts};
use crate::error::{CacheError, Result};
use crate::store::Cache;

/// Whether records left the desk or were shown on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessAction {
    Export,
    View,
}

impl AccessAction {
    fn as_str(self) -> &'static str {
        match self {
            AccessAction::Export => "export",
            AccessAction::View => "view",
        }
    }
}

/// One access to record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAccess {
    pub at: DateTime<Utc>,
    pub action: AccessAction,
    pub what: String,
    pub detail: String,
    /// `system:id` of every student named.
    pub students: Vec<String>,
    pub destination: Option<String>,
    pub by_whom: Option<String>,
}

/// One recorded access.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    #[serde(flatten)]
    pub access: NewAccess,
}

impl Cache {
    /// Records an access; returns its id.
    pub fn record_access(&self, access: &NewAccess) -> Result<i64> {
        if access.what.trim().is_empty() {
            return Err(CacheError::InvalidInput(
                "An access must say what was exported or viewed.".into(),
            ));
        }
        self.with_transaction(|tx| {
            tx.conn.execute(
                "INSERT INTO access_log (at, action, what, detail, students_json, destination, \
                 by_whom) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                (
                    ts(access.at),
                    access.action.as_str(),
                    &access.what,
                    &access.detail,
                    serde_json::to_string(&access.students)?,
                    &access.destination,
                    &access.by_whom,
                ),
            )?;
            Ok(tx.conn.last_insert_rowid())
        })
    }

    /// The log, newest first (at most `limit` entries when given).
    pub fn access_log(&self, limit: Option<usize>) -> Result<Vec<AccessEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, at, action, what, detail, students_json, destination, by_whom \
                 FROM access_log ORDER BY at DESC, id DESC LIMIT ?1",
            )?;
            let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
            let rows = stmt.query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    get_ts(r, 1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, at, action, what, detail, students, destination, by_whom) = row?;
                let action = match action.as_str() {
                    "export" => AccessAction::Export,
                    "view" => AccessAction::View,
                    other => return Err(CacheError::corrupt(format!("access action '{other}'"))),
                };
                out.push(AccessEntry {
                    id,
                    access: NewAccess {
                        at,
                        action,
                        what,
                        detail,
                        students: serde_json::from_str(&students)?,
                        destination,
                        by_whom,
                    },
                });
            }
            Ok(out)
        })
    }
}
