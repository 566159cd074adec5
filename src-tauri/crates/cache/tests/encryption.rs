//! The cache file on disk: encrypted, keyed from the REAL keychain, never replaced or
//! damaged. On Linux run under `scripts/with-keyring.sh` (a throwaway gnome-keyring).

mod common;

use std::path::Path;

use common::*;
use schooldesk_cache::{Cache, CacheError, Keychain, SCHEMA_VERSION};
use schooldesk_domain::System;

const NAME: &str = "Zebulonia";
const FAMILY: &str = "Quixotequeen";

fn all_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every file of the directory with its bytes, to prove nothing changed.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = all_files(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

struct Fixture {
    dir: tempfile::TempDir,
    keychain: Keychain,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let keychain = keychain_for(dir.path());
        Fixture { dir, keychain }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.keychain.delete_cache_key();
    }
}

#[test]
fn the_file_holds_no_plaintext_and_the_key_is_nowhere_in_the_data_dir() {
    let fx = Fixture::new();
    let cache = Cache::open(fx.path(), &fx.keychain).unwrap();
    assert!(cache.is_encrypted());
    cache
        .upsert_students(&[student(System::OmniForge, "s-1", NAME, FAMILY)])
        .unwrap();
    let key = fx
        .keychain
        .get_cache_key()
        .unwrap()
        .expect("a key was created");

    let check = |moment: &str| {
        let bytes = file_bytes(&db_path(fx.path()));
        assert!(bytes.len() > 4096, "{moment}: the file holds pages");
        for needle in [NAME, FAMILY, "EXT-s-1", "SQLite format 3"] {
            assert!(
                !contains(&bytes, needle.as_bytes()),
                "{moment}: '{needle}' in the file"
            );
        }
        for file in all_files(fx.path()) {
            let bytes = std::fs::read(&file).unwrap();
            for needle in [
                key.to_hex().as_bytes().to_vec(),
                key.to_hex().to_uppercase().into_bytes(),
                key.as_bytes().to_vec(),
            ] {
                assert!(
                    !contains(&bytes, &needle),
                    "{moment}: key found in {}",
                    file.display()
                );
            }
        }
    };
    check("while open (rows in the WAL)");
    drop(cache);
    check("after closing (checkpointed)");

    // The same search finds the name in a plain file: the check above can fail.
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = Cache::open_plain(&db_path(plain_dir.path())).unwrap();
    plain
        .upsert_students(&[student(System::OmniForge, "s-1", NAME, FAMILY)])
        .unwrap();
    assert!(!plain.is_encrypted());
    assert!(contains(
        &file_bytes(&db_path(plain_dir.path())),
        FAMILY.as_bytes()
    ));
}

#[test]
fn never_stored_fields_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let mut s = student(System::Matrix, "m-1", "Ann", "Lee");
    // A Source built by hand (its fields are public) bypasses Source::new's stripping.
    s.source.raw = serde_json::json!({"id": "m-1", "Password": "hunter2", "nested": {"ssn": "1"}});
    let cache = Cache::open_plain(&db).unwrap();
    cache.upsert_students(&[s]).unwrap();
    let stored = cache.student(System::Matrix, "m-1").unwrap().unwrap();
    // `nested` is on no allow-list either (see allow_list.rs).
    assert_eq!(stored.source.raw, serde_json::json!({"id": "m-1"}));
    drop(cache);
    let bytes = file_bytes(&db);
    assert!(!contains(&bytes, b"hunter2"));
}

#[test]
fn a_wrong_key_or_no_key_is_refused_and_the_file_is_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let cache = Cache::open_with_key(&db, &key(1)).unwrap();
    cache
        .upsert_students(&[student(System::OmniForge, "s-1", NAME, FAMILY)])
        .unwrap();
    drop(cache);
    let before = snapshot(dir.path());

    let err = Cache::open_with_key(&db, &key(2)).unwrap_err();
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
    assert_eq!(err.code(), "cache.wrong_key");
    assert!(err.to_string().contains("left untouched"), "{err}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "a wrong key changed the files"
    );

    let err = Cache::open_plain(&db).unwrap_err();
    assert!(matches!(err, CacheError::WrongKey { .. }), "{err:?}");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "opening without a key changed the files"
    );

    // And the right key still reads everything.
    let cache = Cache::open_with_key(&db, &key(1)).unwrap();
    assert_eq!(
        cache
            .student(System::OmniForge, "s-1")
            .unwrap()
            .unwrap()
            .family_name,
        FAMILY
    );
}

#[test]
fn a_cache_whose_key_was_deleted_is_refused_never_replaced() {
    let fx = Fixture::new();
    let cache = Cache::open(fx.path(), &fx.keychain).unwrap();
    cache
        .upsert_students(&[student(System::OmniForge, "s-1", NAME, FAMILY)])
        .unwrap();
    drop(cache);
    fx.keychain.delete_cache_key().unwrap();
    let before = snapshot(fx.path());

    let err = Cache::open(fx.path(), &fx.keychain).unwrap_err();
    assert!(matches!(err, CacheError::KeyMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("key is missing"), "{err}");
    assert_eq!(snapshot(fx.path()), before);
    assert!(
        fx.keychain.get_cache_key().unwrap().is_none(),
        "no new key may be created for an existing file"
    );
}

#[test]
fn a_key_without_a_file_is_reused_and_a_file_reopens_with_its_key() {
    let fx = Fixture::new();
    let created = fx
        .keychain
        .create_cache_key(&mut rand::rngs::OsRng)
        .unwrap();
    let cache = Cache::open(fx.path(), &fx.keychain).unwrap();
    cache
        .upsert_students(&[student(System::Hubmis, "h-1", "Ann", "Lee")])
        .unwrap();
    drop(cache);
    assert_eq!(fx.keychain.get_cache_key().unwrap(), Some(created.clone()));
    // The file is readable with exactly that key.
    let direct = Cache::open_with_key(&db_path(fx.path()), &created).unwrap();
    assert!(direct.student(System::Hubmis, "h-1").unwrap().is_some());
    drop(direct);
    // And Cache::open finds it again.
    let again = Cache::open(fx.path(), &fx.keychain).unwrap();
    assert!(again.student(System::Hubmis, "h-1").unwrap().is_some());
    assert_eq!(again.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn two_data_directories_get_two_keys() {
    let a = Fixture::new();
    let b = Fixture::new();
    drop(Cache::open(a.path(), &a.keychain).unwrap());
    drop(Cache::open(b.path(), &b.keychain).unwrap());
    let ka = a.keychain.get_cache_key().unwrap().unwrap();
    let kb = b.keychain.get_cache_key().unwrap().unwrap();
    assert_ne!(ka, kb);
    assert!(matches!(
        Cache::open_with_key(&db_path(a.path()), &kb).unwrap_err(),
        CacheError::WrongKey { .. }
    ));
}

#[test]
fn reset_deletes_the_file_and_its_key_together() {
    let fx = Fixture::new();
    let cache = Cache::open(fx.path(), &fx.keychain).unwrap();
    cache
        .upsert_students(&[student(System::OmniForge, "s-1", NAME, FAMILY)])
        .unwrap();
    let old_key = fx.keychain.get_cache_key().unwrap().unwrap();
    drop(cache);
    std::fs::write(fx.path().join("unrelated.txt"), b"keep me").unwrap();

    schooldesk_cache::reset(fx.path(), &fx.keychain).unwrap();
    assert!(fx.keychain.get_cache_key().unwrap().is_none());
    let names: Vec<String> = all_files(fx.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        // The lock that serialises opening stays (it holds nothing).
        .filter(|n| n != "open.lock")
        .collect();
    assert_eq!(names, ["unrelated.txt"]);

    // A second reset of nothing is fine, and the next open starts afresh with a new key.
    Cache::reset(fx.path(), &fx.keychain).unwrap();
    let fresh = Cache::open(fx.path(), &fx.keychain).unwrap();
    assert!(fresh.student(System::OmniForge, "s-1").unwrap().is_none());
    assert_ne!(fx.keychain.get_cache_key().unwrap().unwrap(), old_key);
}

#[test]
fn a_file_from_a_newer_schooldesk_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    drop(Cache::open_with_key(&db, &key(7)).unwrap());
    raw(&db, Some(&key(7)))
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let before = snapshot(dir.path());

    let err = Cache::open_with_key(&db, &key(7)).unwrap_err();
    match &err {
        CacheError::NewerSchema {
            found, supported, ..
        } => {
            assert_eq!((*found, *supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert!(
        err.to_string().contains("newer version of Schooldesk"),
        "{err}"
    );
    assert_eq!(snapshot(dir.path()), before);
}

#[test]
fn an_empty_file_left_by_a_crash_is_not_mistaken_for_a_cache() {
    let fx = Fixture::new();
    std::fs::write(db_path(fx.path()), b"").unwrap();
    let cache = Cache::open(fx.path(), &fx.keychain).unwrap();
    assert_eq!(cache.schema_version().unwrap(), SCHEMA_VERSION);
    assert!(fx.keychain.get_cache_key().unwrap().is_some());
}
