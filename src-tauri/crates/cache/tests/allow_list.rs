//! The allow-lists at the cache boundary: sensitive HUBmis data is stored only while the
//! school's options allow it, and turning an option off removes it from the file itself.

mod common;

use common::*;
use schooldesk_cache::allow_list::{medical_alerts, MEDICAL_ALERTS_KEY};
use schooldesk_cache::{Cache, ConnectionSettings};
use schooldesk_domain::{LearningSupportRecord, Source, Student, System};
use serde_json::json;

const MEDICAL: &str = "rescue medication in office";
const SUMMARY: &str = "Dyslexia-7f3a";
const RECORD: &str = "Record-notes-91c2";
const FAITH: &str = "Quaker-5d1e";

fn hubmis(learning_support: bool, medical_alerts: bool) -> ConnectionSettings {
    ConnectionSettings {
        system: System::Hubmis,
        base_url: "https://school.example/hub".into(),
        realm: Some("realm-1".into()),
        client_id: Some("client-1".into()),
        settings: json!({}),
        learning_support_enabled: learning_support,
        medical_alerts_enabled: medical_alerts,
        updated_at: t0(),
    }
}

/// A pupil as HUBmis sends one: with faith, ethnicity, a learning-support summary and
/// medical conditions.
fn pupil(id: &str) -> Student {
    let mut s = student(System::Hubmis, id, "Ann", "Lee");
    s.source = Source::new(
        System::Hubmis,
        id,
        t0(),
        json!({"id": id, "first_name": "Ann", "last_name": "Lee",
               "faith": {"id": 3, "name": FAITH},
               "ethnicity": {"id": 9, "name": "White British"},
               "learning_support_record_summary": [{"id": 1, "ehcp": true,
                   "learning_support_type": {"id": 1, "name": SUMMARY}}],
               MEDICAL_ALERTS_KEY: [{"condition": "Epilepsy", "note": MEDICAL}]}),
    );
    s
}

fn record(id: &str, student: &str) -> LearningSupportRecord {
    LearningSupportRecord {
        source: Source::new(
            System::Hubmis,
            id,
            t0(),
            json!({"id": id, "description": RECORD, "ehcp": true}),
        ),
        student_source_id: student.into(),
        support_type: Some(SUMMARY.into()),
        severity: Some("Mild".into()),
        status: Some("Active".into()),
        notes: Some(RECORD.into()),
    }
}

/// The bytes of the file and of its write-ahead log.
fn on_disk(db: &std::path::Path) -> Vec<u8> {
    let mut bytes = file_bytes(db);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    if let Ok(more) = std::fs::read(&wal) {
        bytes.extend(more);
    }
    bytes
}

#[test]
fn with_no_option_on_only_the_listed_fields_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_plain(&db_path(dir.path())).unwrap();
    // No connection saved yet: nobody chose to keep anything sensitive.
    cache.upsert_students(&[pupil("p1")]).unwrap();
    assert_eq!(
        cache
            .upsert_learning_support_records(&[record("r1", "p1")])
            .unwrap(),
        0
    );
    let stored = cache.student(System::Hubmis, "p1").unwrap().unwrap();
    assert_eq!(
        stored.source.raw,
        json!({"id": "p1", "first_name": "Ann", "last_name": "Lee"})
    );
    assert_eq!(medical_alerts(&stored), None);
    assert!(cache
        .learning_support_records(System::Hubmis, None)
        .unwrap()
        .is_empty());

    cache.save_connection(&hubmis(false, false)).unwrap();
    cache.upsert_students(&[pupil("p1")]).unwrap();
    assert_eq!(
        cache
            .upsert_learning_support_records(&[record("r1", "p1")])
            .unwrap(),
        0
    );
    drop(cache);
    let bytes = file_bytes(&db_path(dir.path()));
    for needle in [FAITH, "ethnicity", SUMMARY, RECORD, MEDICAL] {
        assert!(!contains(&bytes, needle.as_bytes()), "{needle} in the file");
    }
}

#[test]
fn each_option_keeps_its_own_data_and_turning_it_off_removes_it_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let cache = Cache::open_plain(&db).unwrap();
    cache.save_connection(&hubmis(true, true)).unwrap();
    cache.upsert_students(&[pupil("p1"), pupil("p2")]).unwrap();
    assert_eq!(
        cache
            .upsert_learning_support_records(&[record("r1", "p1")])
            .unwrap(),
        1
    );
    let stored = cache.student(System::Hubmis, "p1").unwrap().unwrap();
    assert_eq!(
        medical_alerts(&stored),
        Some(&json!([{"condition": "Epilepsy", "note": MEDICAL}]))
    );
    assert!(stored.source.raw["learning_support_record_summary"].is_array());
    assert!(stored.source.raw.get("faith").is_none());
    // The search below can fail: the kept data is in the file.
    let bytes = on_disk(&db);
    for needle in [SUMMARY, RECORD, MEDICAL] {
        assert!(contains(&bytes, needle.as_bytes()), "{needle} not found");
    }
    assert!(!contains(&bytes, FAITH.as_bytes()));

    // Medical alerts off: the conditions go, learning support stays.
    cache.save_connection(&hubmis(true, false)).unwrap();
    let stored = cache.student(System::Hubmis, "p2").unwrap().unwrap();
    assert_eq!(medical_alerts(&stored), None);
    assert!(stored.source.raw["learning_support_record_summary"].is_array());
    let bytes = on_disk(&db);
    assert!(
        !contains(&bytes, MEDICAL.as_bytes()),
        "medical text left in the file"
    );
    assert!(contains(&bytes, SUMMARY.as_bytes()));

    // Learning support off: records, summaries and EHCP flags go, from the file too (not
    // left in free pages or in the write-ahead log).
    cache.save_connection(&hubmis(false, false)).unwrap();
    assert!(cache
        .learning_support_records(System::Hubmis, None)
        .unwrap()
        .is_empty());
    let stored = cache.student(System::Hubmis, "p1").unwrap().unwrap();
    assert_eq!(
        stored.source.raw,
        json!({"id": "p1", "first_name": "Ann", "last_name": "Lee"})
    );
    let bytes = on_disk(&db);
    for needle in [SUMMARY, RECORD, MEDICAL, "ehcp"] {
        assert!(
            !contains(&bytes, needle.as_bytes()),
            "{needle} left in the file"
        );
    }
    drop(cache);
    let bytes = file_bytes(&db);
    for needle in [SUMMARY, RECORD, MEDICAL, "ehcp"] {
        assert!(
            !contains(&bytes, needle.as_bytes()),
            "{needle} left after closing"
        );
    }
}

#[test]
fn removing_a_connection_removes_what_only_its_options_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_plain(&db_path(dir.path())).unwrap();
    cache.save_connection(&hubmis(true, true)).unwrap();
    cache.upsert_students(&[pupil("p1")]).unwrap();
    cache
        .upsert_learning_support_records(&[record("r1", "p1")])
        .unwrap();
    assert!(cache.remove_connection(System::Hubmis).unwrap());
    let stored = cache.student(System::Hubmis, "p1").unwrap().unwrap();
    assert_eq!(stored.family_name, "Lee", "the rest stays until reset");
    assert_eq!(medical_alerts(&stored), None);
    assert!(stored
        .source
        .raw
        .get("learning_support_record_summary")
        .is_none());
    assert!(cache
        .learning_support_records(System::Hubmis, None)
        .unwrap()
        .is_empty());
}

#[test]
fn a_file_written_before_minimisation_loses_faith_ethnicity_and_what_options_do_not_allow() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let k = key(11);
    drop(Cache::open_with_key_at_version(&db, &k, 2).unwrap());
    let pupil_json = pupil("p1").source.raw.to_string();
    let conn = raw(&db, Some(&k));
    conn.execute(
        "INSERT INTO connections (system, base_url, settings_json, learning_support_enabled, \
         updated_at) VALUES ('hubmis', 'https://school.example/hub', '{}', 0, \
         '2024-09-02T08:00:00.000000Z')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO students (system, source_id, fetched_at, source_json, given_name, \
         family_name, active) VALUES ('hubmis', 'p1', '2024-09-02T08:00:00.000000Z', ?1, \
         'Ann', 'Lee', 1)",
        [&pupil_json],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO learning_support_records (system, source_id, fetched_at, source_json, \
         student_source_id, notes) VALUES ('hubmis', 'r1', '2024-09-02T08:00:00.000000Z', \
         '{\"id\":\"r1\"}', 'p1', 'kept after it was turned off')",
        [],
    )
    .unwrap();
    drop(conn);

    let cache = Cache::open_with_key(&db, &k).unwrap();
    let stored = cache.student(System::Hubmis, "p1").unwrap().unwrap();
    assert_eq!(
        stored.source.raw,
        json!({"id": "p1", "first_name": "Ann", "last_name": "Lee"})
    );
    assert!(cache
        .learning_support_records(System::Hubmis, None)
        .unwrap()
        .is_empty());
    let saved = cache.connection(System::Hubmis).unwrap().unwrap();
    assert!(!saved.medical_alerts_enabled, "the new option starts off");
}
