//! REGRESSION: a test binary ended in a segfault (CI, `src-tauri/tests/update.rs`) because the
//! process exited while another thread was inside a cache call, and SQLCipher's exit handler
//! freed its state under it. This binary exits with threads still busy in their caches: it
//! fails (the process crashes after the test has passed) unless the exit waits for them.

mod common;

use std::time::Duration;

use common::*;
use schooldesk_cache::{Cache, StudentQuery};
use schooldesk_domain::System;

#[test]
fn the_process_exits_cleanly_while_other_threads_are_inside_cache_calls() {
    let dir = tempfile::tempdir().unwrap();
    // Kept: the threads outlive the test and the files must outlive them.
    let dir = Box::leak(Box::new(dir));
    for t in 0..4u64 {
        let db = dir.path().join(format!("busy-{t}.db"));
        std::thread::spawn(move || {
            let cache = Cache::open_with_key(&db, &key(t)).unwrap();
            for round in 0u64.. {
                let id = format!("s-{t}-{round}");
                let _ =
                    cache.upsert_students(&[student(System::OmniForge, &id, "Ada", "Lovelace")]);
                let _ = cache.students(&StudentQuery::default());
            }
        });
    }
    // Long enough for every thread to be inside SQLCipher when the process exits.
    std::thread::sleep(Duration::from_millis(300));
}
