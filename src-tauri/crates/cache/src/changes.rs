//! Every committed write, reported as a batch saying who made it and which tables it touched.
//!
//! SQLite's update hook sees each row written on our connection and its commit hook sees the
//! transaction land, so no write can forget to announce itself — including writes added
//! later. Who made the write is a per-thread setting ([`with_origin`]): the sync engine and
//! replay run their cache work inside it; anything else is the person at this desk.
//! Writes by another process never pass our hooks; [`crate::Cache::data_version`] notices them.
//!
//! SQLite calls no update hook for `WITHOUT ROWID` tables (a documented limit), so each of
//! those gets temporary triggers on our connection that report their writes the same way.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rusqlite::functions::FunctionFlags;
use rusqlite::hooks::Action;
use rusqlite::types::Null;
use rusqlite::Connection;
use schooldesk_domain::Origin;
use serde::Serialize;

thread_local! {
    static ORIGIN: Cell<Origin> = const { Cell::new(Origin::User) };
}

/// Runs `f` with its cache writes attributed to `origin` (on this thread).
pub fn with_origin<T>(origin: Origin, f: impl FnOnce() -> T) -> T {
    let before = ORIGIN.with(|o| o.replace(origin));
    struct Restore(Origin);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0;
            ORIGIN.with(|o| o.set(before));
        }
    }
    let _restore = Restore(before);
    f()
}

/// One committed transaction (or, for [`Origin::OtherProcess`], whatever another process
/// committed since we last looked: the tables are then unknown and left empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeBatch {
    pub origin: Origin,
    /// Rows written per table (inserted, updated or deleted).
    pub tables: BTreeMap<String, u64>,
}

impl ChangeBatch {
    /// Whether `table` may have changed (always true for another process's changes).
    pub fn touches(&self, table: &str) -> bool {
        self.origin == Origin::OtherProcess || self.tables.contains_key(table)
    }
}

type Listener = Box<dyn Fn(&ChangeBatch) + Send + Sync>;

/// Collects the rows of the open transaction and hands the batch to listeners on commit.
#[derive(Default)]
pub(crate) struct Tracker {
    pending: Mutex<BTreeMap<String, u64>>,
    listeners: Mutex<Vec<Listener>>,
}

/// The SQL function the triggers of `WITHOUT ROWID` tables call with their table's name.
const CHANGED_FN: &str = "schooldesk_changed";

impl Tracker {
    fn note(&self, table: &str) {
        *self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(table.to_string())
            .or_default() += 1;
    }

    pub(crate) fn install(conn: &mut Connection) -> crate::error::Result<Arc<Tracker>> {
        let tracker = Arc::new(Tracker::default());
        let t = tracker.clone();
        conn.update_hook(Some(move |_: Action, _: &str, table: &str, _: i64| {
            t.note(table);
        }))?;
        let t = tracker.clone();
        conn.create_scalar_function(CHANGED_FN, 1, FunctionFlags::SQLITE_UTF8, move |ctx| {
            t.note(&ctx.get::<String>(0)?);
            Ok(Null)
        })?;
        watch_without_rowid_tables(conn)?;
        let t = tracker.clone();
        conn.commit_hook(Some(move || {
            let tables = std::mem::take(&mut *t.pending.lock().unwrap_or_else(|e| e.into_inner()));
            if !tables.is_empty() {
                let batch = ChangeBatch {
                    origin: ORIGIN.with(Cell::get),
                    tables,
                };
                for listener in t.listeners.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    listener(&batch);
                }
            }
            false // let the commit go ahead
        }))?;
        let t = tracker.clone();
        conn.rollback_hook(Some(move || {
            t.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }))?;
        Ok(tracker)
    }

    pub(crate) fn subscribe(&self, listener: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }
}

/// Temporary triggers (this connection only, never in the file) on every `WITHOUT ROWID`
/// table of the schema, found by asking the schema, so a table added later is covered too.
fn watch_without_rowid_tables(conn: &Connection) -> rusqlite::Result<()> {
    let tables: Vec<String> = conn
        // `type = 'table'` leaves out the full-text index's shadow tables, which SQLite
        // writes from inside its own statements and which the search tables' own writes
        // already announce.
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND wr = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let literal = table.replace('\'', "''");
        for event in ["INSERT", "UPDATE", "DELETE"] {
            conn.execute_batch(&format!(
                "CREATE TEMP TRIGGER IF NOT EXISTS \"changed {quoted} {event}\" \
                 AFTER {event} ON main.\"{quoted}\" \
                 BEGIN SELECT {CHANGED_FN}('{literal}'); END;"
            ))?;
        }
    }
    Ok(())
}
