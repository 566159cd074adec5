//! Connection settings, sync progress, disagreements between systems, and row counts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use schooldesk_domain::{Disagreement, System};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::allow_list::{self, Sensitive};
use crate::codec::{get_json, get_system, get_ts, ts};
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

/// How to reach one system. Secrets are NOT here: they go in the keychain
/// ([`crate::Keychain::set_secret`]); saving settings that look like a secret is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSettings {
    pub system: System,
    pub base_url: String,
    /// HUBmis realm id.
    pub realm: Option<String>,
    /// HUBmis client id (the secret is in the keychain).
    pub client_id: Option<String>,
    /// Anything else the connector needs (route overrides, page sizes), as JSON.
    pub settings: Value,
    /// Whether the school chose to copy learning-support (SEN) records. Turning it off
    /// deletes what it stored ([`CacheTx::save_connection`]).
    pub learning_support_enabled: bool,
    /// Whether the school chose to keep medical conditions at hand for emergencies ("rescue
    /// medication in office"). Turning it off deletes what it stored.
    #[serde(default)]
    pub medical_alerts_enabled: bool,
    pub updated_at: DateTime<Utc>,
}

/// Where one pull stopped: a cursor, page number or high-water mark, as the sync engine
/// chooses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    pub system: System,
    pub resource: String,
    pub progress: Value,
    pub updated_at: DateTime<Utc>,
}

/// Row counts per table and system, for summaries: `counts["students"][&System::Matrix]`.
/// Tables and systems with no rows are absent.
pub type Counts = BTreeMap<&'static str, BTreeMap<System, u64>>;

/// The tables [`Cache::counts`] reports, all keyed by system.
pub const COUNTED_TABLES: &[&str] = &[
    "schools",
    "students",
    "guardians",
    "student_guardians",
    "sections",
    "enrollments",
    "attendance_marks",
    "attendance_codes",
    "checklists",
    "checklist_items",
    "checklist_entries",
    "enrollment_records",
    "documents",
    "learning_support_records",
    "learning_support_reviews",
    "grades",
    "outbox",
];

/// Words that mark a settings key as a secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "apikey",
    "api_key",
    "ssn",
    "credential",
];

fn secret_key(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                Some(k.clone())
            } else {
                secret_key(v)
            }
        }),
        Value::Array(items) => items.iter().find_map(secret_key),
        _ => None,
    }
}

fn connection_from_row(row: &Row<'_>) -> rusqlite::Result<ConnectionSettings> {
    Ok(ConnectionSettings {
        system: get_system(row, 0)?,
        base_url: row.get(1)?,
        realm: row.get(2)?,
        client_id: row.get(3)?,
        settings: get_json(row, 4)?,
        learning_support_enabled: row.get(5)?,
        medical_alerts_enabled: row.get(6)?,
        updated_at: get_ts(row, 7)?,
    })
}

const CONNECTION_COLUMNS: &str = "system, base_url, realm, client_id, settings_json, \
     learning_support_enabled, medical_alerts_enabled, updated_at";

fn sync_state_from_row(row: &Row<'_>) -> rusqlite::Result<SyncState> {
    Ok(SyncState {
        system: get_system(row, 0)?,
        resource: row.get(1)?,
        progress: get_json(row, 2)?,
        updated_at: get_ts(row, 3)?,
    })
}

fn sync_state(conn: &Connection, system: System, resource: &str) -> Result<Option<SyncState>> {
    Ok(conn
        .prepare_cached(
            "SELECT system, resource, progress_json, updated_at FROM sync_state \
             WHERE system = ?1 AND resource = ?2",
        )?
        .query_row((system.as_str(), resource), sync_state_from_row)
        .optional()?)
}

impl CacheTx<'_> {
    /// Saves how to reach a system (replacing earlier settings). Refused if `settings` holds
    /// a key that looks like a secret, or if the address is not http(s).
    ///
    /// What the cache holds for the system is made to match the options saved, in this same
    /// transaction: with learning support off its learning-support records, reviews and
    /// summaries are deleted; with medical alerts off its medical conditions (see
    /// [`crate::allow_list`]).
    pub fn save_connection(&self, c: &ConnectionSettings) -> Result<()> {
        self.save_connection_counting(c).map(|_| ())
    }

    /// [`CacheTx::save_connection`], returning how many stored rows it deleted or reduced.
    fn save_connection_counting(&self, c: &ConnectionSettings) -> Result<usize> {
        let url = c.base_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(CacheError::InvalidInput(format!(
                "The address of {} must start with https:// (it was '{url}').",
                c.system.display_name()
            )));
        }
        if let Some(key) = secret_key(&c.settings) {
            return Err(CacheError::InvalidInput(format!(
                "Connection settings may not hold secrets ('{key}'); Schooldesk keeps those in \
                 the keychain."
            )));
        }
        self.conn.execute(
            &format!(
                "INSERT INTO connections ({CONNECTION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                 ON CONFLICT (system) DO UPDATE SET base_url = excluded.base_url, \
                 realm = excluded.realm, client_id = excluded.client_id, \
                 settings_json = excluded.settings_json, \
                 learning_support_enabled = excluded.learning_support_enabled, \
                 medical_alerts_enabled = excluded.medical_alerts_enabled, \
                 updated_at = excluded.updated_at"
            ),
            (
                c.system.as_str(),
                url,
                &c.realm,
                &c.client_id,
                serde_json::to_string(&c.settings)?,
                c.learning_support_enabled,
                c.medical_alerts_enabled,
                ts(c.updated_at),
            ),
        )?;
        let options = Sensitive {
            learning_support: c.learning_support_enabled,
            medical_alerts: c.medical_alerts_enabled,
        };
        allow_list::apply_to_stored(self.conn, c.system, options)
    }

    /// Forgets how to reach a system. Its cached rows stay until reset, except what only the
    /// connection's options allowed (learning support, medical alerts): with no connection,
    /// nobody has chosen to keep those. Returns whether there was a connection.
    pub fn remove_connection(&self, system: System) -> Result<bool> {
        let removed = self.conn.execute(
            "DELETE FROM connections WHERE system = ?1",
            [system.as_str()],
        )? > 0;
        allow_list::apply_to_stored(self.conn, system, Sensitive::default())?;
        Ok(removed)
    }

    /// Records where a pull stopped; call it in the same transaction as the rows fetched.
    pub fn set_sync_state(
        &self,
        system: System,
        resource: &str,
        progress: &Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if resource.trim().is_empty() {
            return Err(CacheError::InvalidInput(
                "A sync position needs a resource name.".into(),
            ));
        }
        self.conn.execute(
            "INSERT INTO sync_state (system, resource, progress_json, updated_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (system, resource) DO UPDATE SET \
             progress_json = excluded.progress_json, updated_at = excluded.updated_at",
            (
                system.as_str(),
                resource,
                serde_json::to_string(progress)?,
                ts(now),
            ),
        )?;
        Ok(())
    }

    pub fn sync_state(&self, system: System, resource: &str) -> Result<Option<SyncState>> {
        sync_state(self.conn, system, resource)
    }

    /// Forgets where pulls of `system` stopped (one resource, or all), so the next sync starts
    /// from the beginning.
    pub fn clear_sync_state(&self, system: System, resource: Option<&str>) -> Result<usize> {
        Ok(self.conn.execute(
            "DELETE FROM sync_state WHERE system = ?1 AND (?2 IS NULL OR resource = ?2)",
            (system.as_str(), resource),
        )?)
    }

    /// Makes `found` the complete list of disagreements (those no longer found are dropped).
    pub fn replace_disagreements(
        &self,
        found: &[Disagreement],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.conn.execute("DELETE FROM disagreements", [])?;
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO disagreements (external_id, field, values_json, detected_at) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (external_id, field) DO UPDATE SET \
             values_json = excluded.values_json",
        )?;
        for d in found {
            stmt.execute((
                &d.external_id,
                &d.field,
                serde_json::to_string(&d.values)?,
                ts(now),
            ))?;
        }
        Ok(found.len())
    }
}

impl Cache {
    /// See [`CacheTx::save_connection`]. When that deleted or reduced stored rows, the
    /// write-ahead log is folded into the file and emptied, so the old versions of those rows
    /// do not linger in it.
    pub fn save_connection(&self, c: &ConnectionSettings) -> Result<()> {
        let touched = self.with_transaction(|tx| tx.save_connection_counting(c))?;
        if touched > 0 {
            // Best effort: a reader in another process may hold the log (SQLite then reports
            // "busy" in the result row, not as an error); the next checkpoint finishes it.
            self.read(|conn| {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
                Ok(())
            })?;
        }
        Ok(())
    }

    /// See [`CacheTx::remove_connection`].
    pub fn remove_connection(&self, system: System) -> Result<bool> {
        self.with_transaction(|tx| tx.remove_connection(system))
    }

    pub fn connection(&self, system: System) -> Result<Option<ConnectionSettings>> {
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {CONNECTION_COLUMNS} FROM connections WHERE system = ?1"
            ))?
            .query_row([system.as_str()], connection_from_row)
            .optional()?)
        })
    }

    /// Every configured system, in [`System`] order.
    pub fn connections(&self) -> Result<Vec<ConnectionSettings>> {
        let mut all = self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {CONNECTION_COLUMNS} FROM connections"))?;
            let rows = stmt.query_map([], connection_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        all.sort_by_key(|c| c.system);
        Ok(all)
    }

    /// See [`CacheTx::set_sync_state`].
    pub fn set_sync_state(
        &self,
        system: System,
        resource: &str,
        progress: &Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.with_transaction(|tx| tx.set_sync_state(system, resource, progress, now))
    }

    pub fn sync_state(&self, system: System, resource: &str) -> Result<Option<SyncState>> {
        self.read(|c| sync_state(c, system, resource))
    }

    /// Every recorded pull position, of one system or all.
    pub fn sync_states(&self, system: Option<System>) -> Result<Vec<SyncState>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT system, resource, progress_json, updated_at FROM sync_state \
                 WHERE ?1 IS NULL OR system = ?1 ORDER BY system, resource",
            )?;
            let rows = stmt.query_map([system.map(System::as_str)], sync_state_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// See [`CacheTx::clear_sync_state`].
    pub fn clear_sync_state(&self, system: System, resource: Option<&str>) -> Result<usize> {
        self.with_transaction(|tx| tx.clear_sync_state(system, resource))
    }

    /// See [`CacheTx::replace_disagreements`].
    pub fn replace_disagreements(
        &self,
        found: &[Disagreement],
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.with_transaction(|tx| tx.replace_disagreements(found, now))
    }

    /// Disagreements for a person to review, by external id and field.
    pub fn disagreements(&self) -> Result<Vec<Disagreement>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT external_id, field, values_json FROM disagreements ORDER BY external_id, field",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (external_id, field, values) = row?;
                out.push(Disagreement {
                    external_id,
                    field,
                    values: serde_json::from_str(&values)?,
                });
            }
            Ok(out)
        })
    }

    /// Row counts per table and system (see [`Counts`]).
    pub fn counts(&self) -> Result<Counts> {
        self.read(|c| {
            let mut counts = Counts::new();
            for &table in COUNTED_TABLES {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT system, count(*) FROM {table} GROUP BY system"
                ))?;
                let rows = stmt.query_map([], |r| Ok((get_system(r, 0)?, r.get::<_, i64>(1)?)))?;
                for row in rows {
                    let (system, n) = row?;
                    counts
                        .entry(table)
                        .or_default()
                        .insert(system, u64::try_from(n).unwrap_or(0));
                }
            }
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_keys_are_found_at_any_depth() {
        assert_eq!(secret_key(&json!({"pageSize": 100})), None);
        assert_eq!(
            secret_key(&json!({"routes": [{"clientSecret": "x"}]})),
            Some("clientSecret".into())
        );
        assert_eq!(secret_key(&json!({"API_KEY": "x"})), Some("API_KEY".into()));
    }
}
