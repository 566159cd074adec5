//! Every earlier layout, including an empty file, migrates to the current one, keeping its
//! rows; the result is the same whatever version it started from.

mod common;

use common::*;
use schooldesk_cache::{Cache, MIGRATIONS, SCHEMA_VERSION};
use schooldesk_domain::System;

/// Rows written in each layout's own terms (raw SQL), proving data survives every later
/// migration. One seed per migration: add one when you add a migration.
/// What a version-1 file holds: a pupil and a queued write.
macro_rules! v1_rows {
    () => {
        "INSERT INTO students (system, source_id, fetched_at, source_json, external_id, given_name, \
     family_name, active) VALUES ('hubmis', 'v1-student', '2024-09-02T08:00:00.000000Z', \
     '{\"id\":\"v1-student\"}', 'EXT-V1', 'Vera', 'Oldfield', 1); \
     INSERT INTO outbox (idempotency_key, system, operation, entity_key, payload_json, state, \
     next_attempt_at, created_at, updated_at) VALUES ('5b0f5d52-6a2d-4a5e-9c61-3f3a1f0a1e11', \
     'omniforge', 'submit_attendance', 'attendance:x:::2024-09-02', \
     '{\"studentId\":\"x\",\"date\":\"2024-09-02\",\"status\":\"absent\"}', 'pending', \
     '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z');"
    };
}

/// Rows as each version stored them (index = version - 1): the v1 rows, and what each later
/// layout added.
const SEEDS: &[&str] = &[
    // 1: initial
    v1_rows!(),
    // 2: engine (why an entry was never sent; removals held for a person)
    concat!(
        v1_rows!(),
        " UPDATE outbox SET unsent_reason = 'OmniForge SIS did not answer.'; \
         INSERT INTO held_removals (system, table_name, source_id, detected_at) VALUES \
         ('hubmis', 'students', 'gone-student', '2024-09-03T08:00:00.000000Z');"
    ),
    // 3: minimisation
    concat!(
        v1_rows!(),
        " INSERT INTO connections (system, base_url, settings_json, learning_support_enabled, \
         medical_alerts_enabled, updated_at) VALUES ('matrix', 'https://lms.example', '{}', 0, \
         1, '2024-09-02T08:00:00.000000Z');"
    ),
    // 4: typed writes, receipts, delivery batches, import schemas
    "INSERT INTO students (system, source_id, fetched_at, source_json, external_id, given_name, \
     family_name, active) VALUES ('hubmis', 'v1-student', '2024-09-02T08:00:00.000000Z', \
     '{\"id\":\"v1-student\"}', 'EXT-V1', 'Vera', 'Oldfield', 1); \
     INSERT INTO outbox (idempotency_key, system, operation, entity_key, write_json, state, \
     next_attempt_at, created_at, updated_at) VALUES ('5b0f5d52-6a2d-4a5e-9c61-3f3a1f0a1e11', \
     'omniforge', 'submit_attendance', 'attendance:x:::2024-09-02', \
     '{\"kind\":\"mark\",\"student_id\":\"x\",\"date\":\"2024-09-02\",\"status\":\"absent\"}', \
     'pending', '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z', \
     '2024-09-02T08:00:00.000000Z'); \
     INSERT INTO outbox_attempts (entry_id, n, started_at, request_json) VALUES (1, 1, \
     '2024-09-02T08:00:01.000000Z', '{\"method\":\"POST\"}'); \
     INSERT INTO delivery_batches (target_id, batch_id, created_at, fetched_at, records_json) \
     VALUES ('301', 'b-1', '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z', '[]'); \
     INSERT INTO import_schemas (action_id, schema_id, title, fields_json, fetched_at) VALUES \
     ('101', '1', 'Roster', '[\"stu_ExternalID\"]', '2024-09-02T08:00:00.000000Z');",
    // 5: access log
    concat!(
        "INSERT INTO students (system, source_id, fetched_at, source_json, external_id, given_name, \
     family_name, active) VALUES ('hubmis', 'v1-student', '2024-09-02T08:00:00.000000Z', \
     '{\"id\":\"v1-student\"}', 'EXT-V1', 'Vera', 'Oldfield', 1); \
     INSERT INTO outbox (idempotency_key, system, operation, entity_key, write_json, state, \
     next_attempt_at, created_at, updated_at) VALUES ('5b0f5d52-6a2d-4a5e-9c61-3f3a1f0a1e11', \
     'omniforge', 'submit_attendance', 'attendance:x:::2024-09-02', \
     '{\"kind\":\"mark\",\"student_id\":\"x\",\"date\":\"2024-09-02\",\"status\":\"absent\"}', \
     'pending', '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z', \
     '2024-09-02T08:00:00.000000Z'); \
     INSERT INTO outbox_attempts (entry_id, n, started_at, request_json) VALUES (1, 1, \
     '2024-09-02T08:00:01.000000Z', '{\"method\":\"POST\"}'); \
     INSERT INTO delivery_batches (target_id, batch_id, created_at, fetched_at, records_json) \
     VALUES ('301', 'b-1', '2024-09-02T08:00:00.000000Z', '2024-09-02T08:00:00.000000Z', '[]'); \
     INSERT INTO import_schemas (action_id, schema_id, title, fields_json, fetched_at) VALUES \
     ('101', '1', 'Roster', '[\"stu_ExternalID\"]', '2024-09-02T08:00:00.000000Z');",
        " INSERT INTO access_log (at, action, what, detail, students_json) VALUES \
         ('2024-09-02T08:00:00.000000Z', 'export', 'roster', 'hubmis:tg-1, csv', \
         '[\"hubmis:v1-student\"]');"
    ),
];

fn schema(db: &std::path::Path, key: &schooldesk_cache::CacheKey) -> Vec<(String, String, String)> {
    let conn = raw(db, Some(key));
    let mut stmt = conn
        .prepare(
            "SELECT type, name, COALESCE(sql, '') FROM sqlite_master \
             WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn there_is_a_seed_for_every_migration() {
    assert_eq!(SEEDS.len(), MIGRATIONS.len());
    assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
}

#[test]
fn every_earlier_version_migrates_to_the_current_layout() {
    let k = key(3);
    let reference_dir = tempfile::tempdir().unwrap();
    let reference_db = db_path(reference_dir.path());
    drop(Cache::open_with_key(&reference_db, &k).unwrap());
    let reference = schema(&reference_db, &k);
    assert!(reference
        .iter()
        .any(|(t, n, _)| t == "table" && n == "students"));

    for version in 0..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let db = db_path(dir.path());
        let old = Cache::open_with_key_at_version(&db, &k, version).unwrap();
        assert_eq!(old.schema_version().unwrap(), version);
        drop(old);
        if version == 0 {
            assert!(schema(&db, &k).is_empty(), "version 0 is an empty file");
        } else {
            raw(&db, Some(&k))
                .execute_batch(SEEDS[version as usize - 1])
                .unwrap();
        }

        let cache = Cache::open_with_key(&db, &k).unwrap();
        assert_eq!(
            cache.schema_version().unwrap(),
            SCHEMA_VERSION,
            "from {version}"
        );
        drop(cache);
        assert_eq!(
            schema(&db, &k),
            reference,
            "layout after migrating from {version}"
        );

        let cache = Cache::open_with_key(&db, &k).unwrap();
        if version >= 1 {
            let kept = cache.student(System::Hubmis, "v1-student").unwrap();
            assert_eq!(
                kept.map(|s| s.family_name),
                Some("Oldfield".into()),
                "from {version}"
            );
            assert_eq!(cache.outbox_list(None).unwrap().len(), 1, "from {version}");
            // The search index covers rows written before it existed or changed.
            let found = cache
                .students(&schooldesk_cache::StudentQuery {
                    search: Some("oldf".into()),
                    ..Default::default()
                })
                .unwrap();
            assert_eq!(found.len(), 1, "from {version}");
        }
        // The migrated file takes new writes.
        cache
            .upsert_students(&[student(System::OmniForge, "new", "Nia", "Newman")])
            .unwrap();
    }
}

#[test]
fn reopening_a_current_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let k = key(4);
    drop(Cache::open_with_key(&db, &k).unwrap());
    let before = schema(&db, &k);
    drop(Cache::open_with_key(&db, &k).unwrap());
    assert_eq!(schema(&db, &k), before);
}
