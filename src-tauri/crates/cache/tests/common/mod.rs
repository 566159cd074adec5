//! Builders shared by the cache's test suites.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use schooldesk_cache::{Cache, CacheKey, Keychain};
use schooldesk_domain::{Enrollment, Section, Source, Student, System};
use serde_json::json;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 9, 2, 8, 0, 0).unwrap()
}

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 9, 2).unwrap()
}

pub fn key(seed: u64) -> CacheKey {
    CacheKey::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

pub fn student(system: System, id: &str, given: &str, family: &str) -> Student {
    Student {
        source: Source::new(
            system,
            id,
            t0(),
            json!({"id": id, "firstName": given, "lastName": family, "password": "hunter2",
                   "ssn": "078-05-1120"}),
        ),
        external_id: Some(format!("EXT-{id}")),
        given_name: given.into(),
        family_name: family.into(),
        preferred_name: None,
        date_of_birth: NaiveDate::from_ymd_opt(2012, 3, 4),
        grade: Some("7".into()),
        school_source_id: Some("sch-1".into()),
        homeroom: None,
        active: true,
    }
}

pub fn section(system: System, id: &str, name: &str) -> Section {
    Section {
        source: Source::new(system, id, t0(), json!({"id": id, "name": name})),
        school_source_id: Some("sch-1".into()),
        name: name.into(),
        code: None,
    }
}

pub fn enrollment(system: System, section: &str, student: &str) -> Enrollment {
    Enrollment {
        system,
        student_source_id: student.into(),
        section_source_id: section.into(),
        grade_level: Some("7".into()),
        start_date: None,
        end_date: None,
        fetched_at: t0(),
    }
}

pub fn db_path(dir: &Path) -> PathBuf {
    Cache::db_path(dir)
}

/// The bytes of the cache file and its -wal, concatenated.
pub fn file_bytes(db: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(db).unwrap_or_default();
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(PathBuf::from(wal)).unwrap_or_default());
    bytes
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A raw connection to an encrypted cache file, for inspecting or forging it.
pub fn raw(db: &Path, key: Option<&CacheKey>) -> rusqlite::Connection {
    let open = || {
        let conn = rusqlite::Connection::open(db).unwrap();
        if let Some(key) = key {
            conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()))?;
        }
        Ok::<_, rusqlite::Error>(conn)
    };
    // Keying fails if this is the binary's first connection and another thread is still in
    // SQLite's first initialisation (see `SQLITE_READY` in src/store.rs); once more will do.
    open().or_else(|_| open()).unwrap()
}

/// The keychain entries of `dir`, after checking a keychain answers at all: without one the
/// failure names the way to get one instead of a bare D-Bus error.
pub fn keychain_for(dir: &Path) -> Keychain {
    let keychain = Keychain::for_data_dir(dir);
    if let Err(e) = keychain.get_cache_key() {
        panic!(
            "these tests use the real keychain; on Linux run them under \
             scripts/with-keyring.sh (a throwaway gnome-keyring): {e}"
        );
    }
    keychain
}
