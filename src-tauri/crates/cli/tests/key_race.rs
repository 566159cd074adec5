//! First run from several processes at once: the app starting while a script runs, or a
//! script that starts several commands together on a new computer.

mod common;
use common::*;

use schooldesk_cache::{Cache, Keychain};
use std::process::{Child, Stdio};

/// How many processes open the same new data folder at once, and how many new folders.
const PROCESSES: usize = 6;
const ROUNDS: usize = 4;

#[test]
fn processes_opening_a_new_data_folder_at_once_end_with_one_key_that_opens_it() {
    // REGRESSION: each process saw no key, stored its own and created the file with it; the
    // keychain kept the last one written, and the cache no longer opened ("wrong key").
    for round in 0..ROUNDS {
        let sd = Sd::new();
        let children: Vec<Child> = (0..PROCESSES)
            .map(|_| {
                sd.command()
                    .args(["--json", "status"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start schooldesk")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("schooldesk output");
            assert!(
                out.status.success(),
                "round {round}: a process failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let status: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("status JSON");
            assert!(status["schema_version"].as_u64() > Some(0), "{status}");
        }
        // A later open (another command) works, and the keychain's key is the file's.
        sd.ok(&["status"], None);
        let keychain = Keychain::for_data_dir(&sd.data_dir());
        let key = keychain
            .get_cache_key()
            .expect("keychain")
            .expect("one cache key");
        Cache::open_with_key(&Cache::db_path(&sd.data_dir()), &key).unwrap_or_else(|e| {
            panic!("round {round}: the stored key does not open the file: {e}")
        });
        // Tidy the keychain: each round's folder is new.
        drop(sd.ok(&["reset", "--yes"], None));
    }
}
