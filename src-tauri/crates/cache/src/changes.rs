//! Every committed write, reported as a batch saying who made it and which tables it touched.
//!
//! SQLite's update hook sees each row written on our connection and its commit hook sees the
//! transaction land, so no write can forget to announce itself — including writes added
//! later. Who made the write is a per-thread setting ([`with_origin`]): the sync engine and
//! replay run their cache work inside it; anything else is the person at this desk.
//! Writes by another process never pass our hooks; [`crate::Cache::data_version`] notices them.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::Action;
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

impl Tracker {
    pub(crate) fn install(conn: &mut Connection) -> crate::error::Result<Arc<Tracker>> {
        let tracker = Arc::new(Tracker::default());
        let t = tracker.clone();
        conn.update_hook(Some(move |_: Action, _: &str, table: &str, _: i64| {
            *t.pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(table.to_string())
                .or_default() += 1;
        }))?;
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
