//! Where runs and phases stand, kept in the cache's `sync_state` table (one row per
//! resource): `run` for the run, `<phase>` for each phase, `<phase>.todo` for the to-do list
//! a per-item phase works through.

use chrono::{DateTime, Utc};
use schooldesk_cache::{CacheError, CacheTx};
use schooldesk_domain::System;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::SyncMode;

const RUN: &str = "run";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredRun {
    id: u64,
    mode: SyncMode,
    complete: bool,
    started_at: DateTime<Utc>,
}

/// The run a sync belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    pub id: u64,
    pub mode: SyncMode,
    pub started_at: DateTime<Utc>,
    pub resumed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct PhaseState {
    /// The run this position belongs to.
    pub run: u64,
    pub complete: bool,
    /// Index into the phase's items.
    pub item: usize,
    /// Where the current item's next page starts (`null` at its start).
    pub next: Value,
    /// The change filter of this pass.
    pub since: Option<DateTime<Utc>>,
    /// Changes at or after this time are not in the cache yet (for the next incremental pass).
    pub high_water: Option<DateTime<Utc>>,
}

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> Option<T> {
    serde_json::from_value(v).ok()
}

fn encode<T: Serialize>(v: &T) -> Result<Value, CacheError> {
    Ok(serde_json::to_value(v)?)
}

/// Resumes the unfinished run of `system`, or starts a new one. A full sync asked for while
/// an incremental one is unfinished starts afresh (it reads everything anyway); otherwise the
/// unfinished run is resumed in its own mode.
pub(crate) fn begin_run(
    tx: &CacheTx<'_>,
    system: System,
    mode: SyncMode,
    now: DateTime<Utc>,
) -> Result<RunState, CacheError> {
    let previous: Option<StoredRun> = tx.sync_state(system, RUN)?.and_then(|s| decode(s.progress));
    if let Some(p) = &previous {
        let full_over_incremental = mode == SyncMode::Full && p.mode == SyncMode::Incremental;
        let resume = !p.complete && !full_over_incremental;
        if resume {
            return Ok(RunState {
                id: p.id,
                mode: p.mode,
                started_at: p.started_at,
                resumed: true,
            });
        }
    }
    let run = StoredRun {
        id: previous.map_or(1, |p| p.id + 1),
        mode,
        complete: false,
        started_at: now,
    };
    tx.set_sync_state(system, RUN, &encode(&run)?, now)?;
    Ok(RunState {
        id: run.id,
        mode,
        started_at: now,
        resumed: false,
    })
}

pub(crate) fn finish_run(
    tx: &CacheTx<'_>,
    system: System,
    id: u64,
    now: DateTime<Utc>,
) -> Result<(), CacheError> {
    if let Some(mut run) = tx
        .sync_state(system, RUN)?
        .and_then(|s| decode::<StoredRun>(s.progress))
    {
        if run.id == id {
            run.complete = true;
            tx.set_sync_state(system, RUN, &encode(&run)?, now)?;
            let mut last: LastSyncs = tx
                .sync_state(system, LAST)?
                .and_then(|s| decode(s.progress))
                .unwrap_or_default();
            last.completed_at = Some(now);
            last.mode = Some(run.mode);
            if run.mode == SyncMode::Full {
                last.full_completed_at = Some(now);
            }
            tx.set_sync_state(system, LAST, &encode(&last)?, now)?;
        }
    }
    Ok(())
}

const LAST: &str = "last";

/// When a system's last complete sync (and last complete full sync) ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastSyncs {
    pub completed_at: Option<DateTime<Utc>>,
    pub mode: Option<SyncMode>,
    pub full_completed_at: Option<DateTime<Utc>>,
}

pub(crate) fn last_syncs(tx: &CacheTx<'_>, system: System) -> Result<LastSyncs, CacheError> {
    Ok(tx
        .sync_state(system, LAST)?
        .and_then(|s| decode(s.progress))
        .unwrap_or_default())
}

pub(crate) fn load_phase(
    tx: &CacheTx<'_>,
    system: System,
    phase: &str,
) -> Result<Option<PhaseState>, CacheError> {
    Ok(tx
        .sync_state(system, phase)?
        .and_then(|s| decode(s.progress)))
}

pub(crate) fn save_phase(
    tx: &CacheTx<'_>,
    system: System,
    phase: &str,
    state: &PhaseState,
    now: DateTime<Utc>,
) -> Result<(), CacheError> {
    tx.set_sync_state(system, phase, &encode(state)?, now)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Todo {
    run: u64,
    ids: Vec<String>,
}

fn todo_resource(phase: &str) -> String {
    format!("{phase}.todo")
}

/// The to-do list of `phase` for run `run` (empty when none was written in this run).
pub(crate) fn todo(
    tx: &CacheTx<'_>,
    system: System,
    phase: &str,
    run: u64,
) -> Result<Vec<String>, CacheError> {
    Ok(tx
        .sync_state(system, &todo_resource(phase))?
        .and_then(|s| decode::<Todo>(s.progress))
        .filter(|t| t.run == run)
        .map(|t| t.ids)
        .unwrap_or_default())
}

/// Adds ids to the to-do list of `phase` (in the transaction of the page they came from, so a
/// page and its follow-up work are stored together). A list from an earlier run is replaced.
pub(crate) fn add_todo(
    tx: &CacheTx<'_>,
    system: System,
    phase: &str,
    run: u64,
    ids: impl IntoIterator<Item = String>,
    now: DateTime<Utc>,
) -> Result<(), CacheError> {
    let resource = todo_resource(phase);
    let mut todo = tx
        .sync_state(system, &resource)?
        .and_then(|s| decode::<Todo>(s.progress))
        .filter(|t| t.run == run)
        .unwrap_or(Todo {
            run,
            ids: Vec::new(),
        });
    let mut seen: std::collections::HashSet<String> = todo.ids.iter().cloned().collect();
    for id in ids {
        // Two pages can name the same item (a class of two schools): it is done once.
        if seen.insert(id.clone()) {
            todo.ids.push(id);
        }
    }
    tx.set_sync_state(system, &resource, &encode(&todo)?, now)
}
