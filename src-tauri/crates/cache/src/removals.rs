//! Rows a system stopped returning: found after a complete pass over a list, removed
//! everywhere — or, past a guardrail, held until a person confirms.
//!
//! A pass stores every row it reads with a fresh `fetched_at`, so after a complete pass the
//! rows of that list still older than the pass's start are the ones the system no longer
//! returns. Only lists read whole count (an `updatedSince` pass reads only changes), and the
//! caller skips a list in which any record failed to decode: a row the system still has but
//! we could not read is never taken for one it dropped.

use chrono::{DateTime, Utc};
use rusqlite::params;
use schooldesk_domain::System;

use crate::codec::ts;
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

/// The tables whose rows a complete list pass can find gone, with the key their children
/// use. Fixed names: they are spliced into SQL.
pub const REMOVABLE_TABLES: &[&str] = &[
    "students",
    "enrollments",
    "enrollment_records",
    "checklist_entries",
];

/// More than this many rows of one table at once is held for a person...
pub const GUARDRAIL_ROWS: u64 = 50;
/// ... and so is more than this share of the table (with at least
/// [`GUARDRAIL_MIN_SHARE_ROWS`] rows, so one leaver from a small school goes through).
pub const GUARDRAIL_SHARE: f64 = 0.05;
pub const GUARDRAIL_MIN_SHARE_ROWS: u64 = 3;

/// What one table's check did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RemovalOutcome {
    /// Rows removed now.
    pub removed: u64,
    /// Rows held for a person to confirm.
    pub held: u64,
}

fn check_table(table: &str) -> Result<()> {
    if REMOVABLE_TABLES.contains(&table) {
        Ok(())
    } else {
        Err(CacheError::InvalidInput(format!(
            "'{table}' is not a table whose rows a sync removes"
        )))
    }
}

/// The key of a row in `table` (enrollments have no single id).
fn key_expr(table: &str) -> &'static str {
    match table {
        "enrollments" => "section_source_id || '/' || student_source_id",
        _ => "source_id",
    }
}

/// Whether removing `count` of `total` rows needs a person's confirmation.
pub fn over_guardrail(count: u64, total: u64) -> bool {
    count > GUARDRAIL_ROWS
        || (count >= GUARDRAIL_MIN_SHARE_ROWS && (count as f64) > GUARDRAIL_SHARE * total as f64)
}

impl CacheTx<'_> {
    /// After a complete pass over `system`'s `table` that started at `pass_started`: removes
    /// the rows it did not return (and what hangs off them), or holds them when there are
    /// more than the guardrail allows. A hold replaces the previous one for that table.
    pub fn settle_removals(
        &self,
        system: System,
        table: &str,
        pass_started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RemovalOutcome> {
        check_table(table)?;
        let stale: Vec<String> = {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT {} FROM {table} WHERE system = ?1 AND fetched_at < ?2",
                key_expr(table)
            ))?;
            let rows = stmt.query_map(params![system.as_str(), ts(pass_started)], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        self.conn.execute(
            "DELETE FROM held_removals WHERE system = ?1 AND table_name = ?2",
            params![system.as_str(), table],
        )?;
        let total: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM {table} WHERE system = ?1"),
            [system.as_str()],
            |r| r.get(0),
        )?;
        let count = stale.len() as u64;
        if count == 0 {
            return Ok(RemovalOutcome::default());
        }
        if over_guardrail(count, u64::try_from(total).unwrap_or(0)) {
            let mut hold = self.conn.prepare_cached(
                "INSERT INTO held_removals (system, table_name, source_id, detected_at) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in &stale {
                hold.execute(params![system.as_str(), table, id, ts(now)])?;
            }
            return Ok(RemovalOutcome {
                removed: 0,
                held: count,
            });
        }
        for id in &stale {
            self.remove_row(system, table, id)?;
        }
        Ok(RemovalOutcome {
            removed: count,
            held: 0,
        })
    }

    /// Removes one row and what hangs off it: a student's enrollments and guardian links.
    fn remove_row(&self, system: System, table: &str, key: &str) -> Result<()> {
        let sys = system.as_str();
        match table {
            "enrollments" => {
                if let Some((section, student)) = key.split_once('/') {
                    self.conn.execute(
                        "DELETE FROM enrollments WHERE system = ?1 AND section_source_id = ?2 \
                         AND student_source_id = ?3",
                        params![sys, section, student],
                    )?;
                }
            }
            "students" => {
                self.conn.execute(
                    "DELETE FROM enrollments WHERE system = ?1 AND student_source_id = ?2",
                    params![sys, key],
                )?;
                self.conn.execute(
                    "DELETE FROM student_guardians WHERE system = ?1 AND student_source_id = ?2",
                    params![sys, key],
                )?;
                self.conn.execute(
                    "DELETE FROM students WHERE system = ?1 AND source_id = ?2",
                    params![sys, key],
                )?;
            }
            other => {
                self.conn.execute(
                    &format!("DELETE FROM {other} WHERE system = ?1 AND source_id = ?2"),
                    params![sys, key],
                )?;
            }
        }
        Ok(())
    }

    /// Removes what is held for `system`, except rows a later sync found again. Returns how
    /// many rows were removed.
    pub fn confirm_held_removals(&self, system: System) -> Result<u64> {
        let held: Vec<(String, String, String)> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT table_name, source_id, detected_at FROM held_removals WHERE system = ?1",
            )?;
            let rows =
                stmt.query_map([system.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut removed = 0;
        for (table, key, detected_at) in held {
            check_table(&table)?;
            // Still not seen since it was held: a row fetched again is the system's again.
            let still_gone: bool = self.conn.query_row(
                &format!(
                    "SELECT EXISTS (SELECT 1 FROM {table} WHERE system = ?1 AND {} = ?2 \
                     AND fetched_at < ?3)",
                    key_expr(&table)
                ),
                params![system.as_str(), key, detected_at],
                |r| r.get(0),
            )?;
            if still_gone {
                self.remove_row(system, &table, &key)?;
                removed += 1;
            }
        }
        self.conn.execute(
            "DELETE FROM held_removals WHERE system = ?1",
            [system.as_str()],
        )?;
        Ok(removed)
    }

    /// Rows held for confirmation, per table.
    pub fn held_removals(&self, system: System) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT table_name, count(*) FROM held_removals WHERE system = ?1 \
             GROUP BY table_name ORDER BY table_name",
        )?;
        let rows = stmt.query_map([system.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        rows.map(|r| r.map(|(t, n)| (t, u64::try_from(n).unwrap_or(0))))
            .collect::<rusqlite::Result<_>>()
            .map_err(CacheError::from)
    }
}

impl Cache {
    /// See [`CacheTx::held_removals`].
    pub fn held_removals(&self, system: System) -> Result<Vec<(String, u64)>> {
        self.read_tx(|tx| tx.held_removals(system))
    }

    /// See [`CacheTx::confirm_held_removals`].
    pub fn confirm_held_removals(&self, system: System) -> Result<u64> {
        self.with_transaction(|tx| tx.confirm_held_removals(system))
    }
}

#[cfg(test)]
mod tests {
    use super::over_guardrail;

    #[test]
    fn the_guardrail_lets_a_few_leavers_through_and_holds_a_mass_removal() {
        // One or two leavers from any school go through.
        assert!(!over_guardrail(1, 10));
        assert!(!over_guardrail(2, 20));
        // Up to 5 % of a large table goes through...
        assert!(!over_guardrail(10, 200));
        assert!(!over_guardrail(50, 2_000));
        // ... more than 5 %, or more than 50 rows, waits for a person.
        assert!(over_guardrail(11, 200));
        assert!(over_guardrail(3, 20));
        assert!(over_guardrail(51, 50_000));
        assert!(!over_guardrail(0, 0));
    }
}
