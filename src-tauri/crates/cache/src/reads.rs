//! Read-only queries for the desk's views (`sections`, `roster`, `student`, `status`), and
//! the record of how each system's last sync ended.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::params_from_iter;
use schooldesk_domain::{OutboxState, Student, System};
use serde_json::Value;

use crate::codec::get_system;
use crate::error::{CacheError, Result};
use crate::people::StudentQuery;
use crate::rows;
use crate::settings::SyncState;
use crate::store::Cache;

/// The `sync_state` resource that holds how the last sync of a system ended. It lives beside
/// the pull positions so that forgetting a connection's positions forgets it too.
pub const LAST_SYNC_OUTCOME: &str = "last_outcome";

/// Outbox entries per system, then per state (states with none are absent).
pub type OutboxCountsBySystem = BTreeMap<System, BTreeMap<&'static str, u64>>;

impl Cache {
    /// How many cached students each section's roster holds, by (system, section id).
    /// Roster rows whose student is not cached are not counted, as [`Cache::roster`] leaves
    /// them out too.
    pub fn section_sizes(&self) -> Result<BTreeMap<(System, String), u64>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.system, e.section_source_id, count(*) FROM enrollments e \
                 JOIN students s ON s.system = e.system AND s.source_id = e.student_source_id \
                 GROUP BY e.system, e.section_source_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    get_system(r, 0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = BTreeMap::new();
            for row in rows {
                let (system, section, n) = row?;
                out.insert((system, section), u64::try_from(n).unwrap_or(0));
            }
            Ok(out)
        })
    }

    /// Every student record whose external (district) id is exactly `external_id`, in
    /// system order: the same child as each system knows them.
    pub fn students_by_external_id(&self, external_id: &str) -> Result<Vec<Student>> {
        let external_id = external_id.trim();
        if external_id.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|c| {
            rows::select::<Student>(
                c,
                "WHERE t.external_id = ?1 ORDER BY t.system, t.source_id",
                [external_id],
            )
        })
    }

    /// How many students [`Cache::students`] would list for `query` without its limit and
    /// offset, so that a shortened listing can say how many it left out.
    pub fn count_students(&self, query: &StudentQuery) -> Result<u64> {
        let (filter, params) = crate::people::student_filter(query);
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(&format!("SELECT count(*) FROM students t {filter}"))?
                .query_row(params_from_iter(params), |r| r.get(0))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Outbox entries per system and state, for `status`.
    pub fn outbox_counts_by_system(&self) -> Result<OutboxCountsBySystem> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT system, state, count(*) FROM outbox GROUP BY system, state",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    get_system(r, 0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            let mut out = OutboxCountsBySystem::new();
            for row in rows {
                let (system, state, n) = row?;
                let state = OutboxState::parse(&state)
                    .ok_or_else(|| CacheError::corrupt(format!("outbox state '{state}'")))?;
                out.entry(system)
                    .or_default()
                    .insert(state.as_str(), u64::try_from(n).unwrap_or(0));
            }
            Ok(out)
        })
    }

    /// Records how the last sync of `system` ended (the sync layer decides the shape), so
    /// that `status` can say what needs attention after the process that synced is gone.
    pub fn set_last_sync_outcome(
        &self,
        system: System,
        outcome: &Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.set_sync_state(system, LAST_SYNC_OUTCOME, outcome, now)
    }

    /// What [`Cache::set_last_sync_outcome`] stored last for `system`, with when.
    pub fn last_sync_outcome(&self, system: System) -> Result<Option<SyncState>> {
        self.sync_state(system, LAST_SYNC_OUTCOME)
    }
}
