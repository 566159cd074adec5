//! REGRESSION: CI failed with "An error occurred with PRAGMA key or rekey" when two tests
//! opened their caches at once as a binary's first SQLite connections: SQLite marks its first
//! initialisation done before SQLCipher's part of it has run. Here eight threads open at once
//! as this binary's first connections (one test, so nothing opened one before).

mod common;

use std::sync::{Arc, Barrier};

use common::*;
use schooldesk_cache::Cache;

#[test]
fn caches_opened_at_once_by_a_process_s_first_threads_all_open() {
    let dir = tempfile::tempdir().unwrap();
    let start = Arc::new(Barrier::new(8));
    let opened: Vec<_> = (0..8u64)
        .map(|t| {
            let db = dir.path().join(format!("first-{t}.db"));
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                Cache::open_with_key(&db, &key(t)).map(|_| ())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    for (t, result) in opened.iter().enumerate() {
        assert!(result.is_ok(), "thread {t}: {result:?}");
    }
}
