//! Writes and reads on a real SQLCipher file.

mod common;

use common::*;
use schooldesk_cache::{Cache, CacheError, ConnectionSettings, StudentQuery};
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, Checklist, ChecklistEntry, ChecklistItem, Disagreement,
    Document, Guardian, MarkState, Source, StudentGuardian, System,
};
use serde_json::json;

fn open() -> (tempfile::TempDir, Cache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with_key(&db_path(dir.path()), &key(11)).unwrap();
    (dir, cache)
}

fn names(students: &[schooldesk_domain::Student]) -> Vec<String> {
    students.iter().map(|s| s.display_name()).collect()
}

fn search(cache: &Cache, words: &str) -> Vec<String> {
    names(
        &cache
            .students(&StudentQuery {
                search: Some(words.into()),
                ..Default::default()
            })
            .unwrap(),
    )
}

#[test]
fn upserting_the_same_rows_twice_keeps_one_copy_and_takes_the_new_values() {
    let (_dir, cache) = open();
    let rows = vec![
        student(System::OmniForge, "s-1", "Ann", "Lee"),
        student(System::OmniForge, "s-2", "Bob", "Kim"),
        student(System::Matrix, "s-1", "Ann", "Lee"),
    ];
    assert_eq!(cache.upsert_students(&rows).unwrap(), 3);
    assert_eq!(cache.upsert_students(&rows).unwrap(), 3);
    let counts = cache.counts().unwrap();
    assert_eq!(counts["students"][&System::OmniForge], 2);
    assert_eq!(counts["students"][&System::Matrix], 1);
    assert!(!counts.contains_key("guardians"));

    let mut renamed = rows[0].clone();
    renamed.family_name = "Leeming".into();
    renamed.source.fetched_at = t0() + chrono::Duration::hours(1);
    cache.upsert_students(&[renamed.clone()]).unwrap();
    assert_eq!(cache.counts().unwrap()["students"][&System::OmniForge], 2);
    assert_eq!(
        cache.student(System::OmniForge, "s-1").unwrap(),
        Some(renamed)
    );
    // The search index followed the rename.
    assert_eq!(search(&cache, "leeming"), ["Ann Leeming"]);
    assert_eq!(search(&cache, "lee"), ["Ann Lee", "Ann Leeming"]);
}

#[test]
fn a_batch_with_one_bad_row_writes_nothing() {
    let (_dir, cache) = open();
    let bad = vec![
        student(System::OmniForge, "s-1", "Ann", "Lee"),
        student(System::OmniForge, " ", "No", "Id"),
    ];
    let err = cache.upsert_students(&bad).unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
    assert!(cache.counts().unwrap().is_empty());
}

#[test]
fn name_search_matches_word_starts_across_names_and_ids_ignoring_case_and_accents() {
    let (_dir, cache) = open();
    let mut zoe = student(System::Hubmis, "h-1", "Zoë", "O'Brien");
    zoe.preferred_name = Some("Zed".into());
    zoe.external_id = Some("100234".into());
    cache
        .upsert_students(&[
            zoe,
            student(System::OmniForge, "o-1", "John", "Smith"),
            student(System::OmniForge, "o-2", "Joanna", "Smithers"),
            student(System::OmniForge, "o-3", "Mary", "Johnson"),
        ])
        .unwrap();
    assert_eq!(search(&cache, "zoe"), ["Zoë O'Brien"]);
    assert_eq!(search(&cache, "ZED"), ["Zoë O'Brien"]);
    assert_eq!(search(&cache, "brien"), ["Zoë O'Brien"]);
    assert_eq!(search(&cache, "1002"), ["Zoë O'Brien"]);
    assert_eq!(
        search(&cache, "jo"),
        ["Mary Johnson", "John Smith", "Joanna Smithers"]
    );
    assert_eq!(search(&cache, "jo smi"), ["John Smith", "Joanna Smithers"]);
    assert_eq!(search(&cache, "smith john"), ["John Smith"]);
    assert!(search(&cache, "mit").is_empty(), "only word starts match");
    // FTS syntax typed by a person is taken literally, never as a query.
    assert!(search(&cache, "\"smith\" OR NEAR(").is_empty());
    assert_eq!(search(&cache, "  ").len(), 4, "no words: no filter");

    let only_omniforge = cache
        .students(&StudentQuery {
            search: Some("jo".into()),
            system: Some(System::OmniForge),
            limit: Some(1),
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names(&only_omniforge), ["John Smith"]);
}

#[test]
fn roster_lists_a_sections_students_by_name() {
    let (_dir, cache) = open();
    let sys = System::OmniForge;
    cache
        .upsert_students(&[
            student(sys, "s-1", "Ann", "Zeta"),
            student(sys, "s-2", "Bob", "Alpha"),
            student(sys, "s-3", "Cat", "Mid"),
        ])
        .unwrap();
    cache
        .upsert_sections(&[section(sys, "sec-1", "7A"), section(sys, "sec-2", "7B")])
        .unwrap();
    cache
        .upsert_enrollments(&[
            enrollment(sys, "sec-1", "s-1"),
            enrollment(sys, "sec-1", "s-2"),
            enrollment(sys, "sec-2", "s-3"),
            // A roster row for a student not (yet) cached.
            enrollment(sys, "sec-1", "s-unknown"),
        ])
        .unwrap();
    assert_eq!(
        names(&cache.roster(sys, "sec-1").unwrap()),
        ["Bob Alpha", "Ann Zeta"]
    );
    assert_eq!(cache.enrollments(sys, "sec-1").unwrap().len(), 3);
    assert!(cache.roster(System::Matrix, "sec-1").unwrap().is_empty());
    let in_section = cache
        .students(&StudentQuery {
            search: Some("a".into()),
            section: Some((sys, "sec-1".into())),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(names(&in_section), ["Bob Alpha", "Ann Zeta"]);
    assert_eq!(
        cache
            .sections_of(sys, "s-3")
            .unwrap()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["7B"]
    );

    // Replacing a roster drops students no longer listed.
    cache
        .replace_roster(sys, "sec-1", &[enrollment(sys, "sec-1", "s-1")])
        .unwrap();
    assert_eq!(names(&cache.roster(sys, "sec-1").unwrap()), ["Ann Zeta"]);
    assert_eq!(names(&cache.roster(sys, "sec-2").unwrap()), ["Cat Mid"]);
    let err = cache
        .replace_roster(sys, "sec-1", &[enrollment(sys, "sec-2", "s-1")])
        .unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)));
    assert_eq!(names(&cache.roster(sys, "sec-1").unwrap()), ["Ann Zeta"]);
}

#[test]
fn guardians_of_a_student_come_primary_first_with_their_permissions() {
    let (_dir, cache) = open();
    let sys = System::OmniForge;
    let guardian = |id: &str, given: &str, family: &str| Guardian {
        source: Source::new(sys, id, t0(), json!({"id": id})),
        given_name: given.into(),
        family_name: family.into(),
        phone: Some("0123".into()),
        email: None,
    };
    let link = |g: &str, primary: bool, pick_up: Option<bool>| StudentGuardian {
        system: sys,
        student_source_id: "s-1".into(),
        guardian_source_id: g.into(),
        relationship: Some("Parent".into()),
        is_primary: primary,
        can_pick_up: pick_up,
        emergency_contact: None,
    };
    cache
        .upsert_guardians(&[
            guardian("g-1", "Amy", "Able"),
            guardian("g-2", "Zak", "Zed"),
        ])
        .unwrap();
    cache
        .upsert_student_guardians(&[
            link("g-1", false, Some(false)),
            link("g-2", true, Some(true)),
        ])
        .unwrap();
    let found = cache.guardians_of(sys, "s-1").unwrap();
    assert_eq!(
        found
            .iter()
            .map(|(g, l)| (g.given_name.as_str(), l.is_primary, l.can_pick_up))
            .collect::<Vec<_>>(),
        [("Zak", true, Some(true)), ("Amy", false, Some(false))]
    );
    cache
        .replace_guardians_of(sys, "s-1", &[link("g-1", true, None)])
        .unwrap();
    let found = cache.guardians_of(sys, "s-1").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, link("g-1", true, None));
}

fn server_mark(id: &str, student: &str, status: AttendanceStatus, version: i64) -> AttendanceMark {
    AttendanceMark {
        source: Source::new(
            System::OmniForge,
            id,
            t0(),
            json!({"id": id, "version": version}),
        ),
        student_source_id: student.into(),
        section_source_id: Some("sec-1".into()),
        period: Some("1".into()),
        date: day(),
        status,
        code: None,
        note: None,
        minutes: None,
        version: Some(version),
        state: MarkState::Synced,
    }
}

#[test]
fn marks_from_a_sync_update_synced_marks_but_never_a_pending_one() {
    let (_dir, cache) = open();
    let sys = System::OmniForge;
    cache
        .upsert_students(&[student(sys, "s-1", "Ann", "Lee")])
        .unwrap();
    cache
        .upsert_sections(&[section(sys, "sec-1", "7A")])
        .unwrap();
    cache
        .upsert_attendance_marks(&[server_mark("m-1", "s-1", AttendanceStatus::Present, 1)])
        .unwrap();
    cache
        .upsert_attendance_marks(&[server_mark("m-1", "s-1", AttendanceStatus::Tardy, 2)])
        .unwrap();
    let marks = cache.attendance_marks(day(), Some((sys, "sec-1"))).unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(
        (marks[0].status, marks[0].version),
        (AttendanceStatus::Tardy, Some(2))
    );

    // The person changes it; a sync bringing the server's (older) view must not undo that.
    let (mine, _) = cache
        .record_attendance(
            &schooldesk_cache::NewAttendance {
                system: sys,
                student_source_id: "s-1".into(),
                section_source_id: Some("sec-1".into()),
                period: Some("1".into()),
                date: day(),
                status: AttendanceStatus::Absent,
                code: None,
                note: None,
                minutes_late: None,
            },
            t0(),
            uuid::Uuid::from_u128(1),
        )
        .unwrap();
    assert_eq!(mine.state, MarkState::Pending);
    cache
        .upsert_attendance_marks(&[server_mark("m-1", "s-1", AttendanceStatus::Tardy, 2)])
        .unwrap();
    let kept = &cache.attendance_marks(day(), None).unwrap()[0];
    assert_eq!(
        (kept.status, kept.state),
        (AttendanceStatus::Absent, MarkState::Pending)
    );
    assert_eq!(kept.source.source_id, "m-1");
}

#[test]
fn checklists_report_the_required_items_a_family_has_not_completed() {
    let (_dir, cache) = open();
    let sys = System::PowerSchool;
    let item = |id: &str, name: &str, required: bool| ChecklistItem {
        source_id: id.into(),
        name: name.into(),
        required,
    };
    let list = Checklist {
        source: Source::new(sys, "cl-1", t0(), json!({"id": 123})),
        name: "New students".into(),
        items: vec![
            item("i-photo", "Photo", true),
            item("i-proof", "Proof of address", true),
            item("i-music", "Music form", false),
        ],
    };
    cache
        .upsert_checklists(std::slice::from_ref(&list))
        .unwrap();
    let entry = |id: &str, record: &str, item: &str, done: bool| ChecklistEntry {
        source: Source::new(sys, id, t0(), json!({"id": id})),
        checklist_source_id: "cl-1".into(),
        item_source_id: item.into(),
        record_source_id: Some(record.into()),
        external_student_id: None,
        completed: done,
        date_completed: None,
    };
    cache
        .upsert_checklist_entries(&[
            entry("e-1", "r-1", "i-photo", true),
            entry("e-2", "r-1", "i-proof", false),
            entry("e-3", "r-2", "i-music", true),
        ])
        .unwrap();
    let missing = |record: Option<&str>| -> Vec<(String, String)> {
        cache
            .missing_items(sys, record)
            .unwrap()
            .into_iter()
            .map(|m| (m.record_source_id, m.item_name))
            .collect()
    };
    assert_eq!(
        missing(Some("r-1")),
        [("r-1".into(), "Proof of address".into())]
    );
    assert_eq!(
        missing(None),
        [
            ("r-1".to_string(), "Proof of address".to_string()),
            ("r-2".into(), "Photo".into()),
            ("r-2".into(), "Proof of address".into()),
        ]
    );
    assert_eq!(cache.checklist_entries(sys, "r-1").unwrap().len(), 2);
    assert_eq!(
        cache.checklists(Some(sys)).unwrap(),
        std::slice::from_ref(&list)
    );

    // Items are replaced with their checklist.
    let mut shorter = list;
    shorter.items.truncate(1);
    cache
        .upsert_checklists(std::slice::from_ref(&shorter))
        .unwrap();
    assert_eq!(cache.checklists(None).unwrap()[0].items.len(), 1);
    assert_eq!(missing(Some("r-1")), []);
}

#[test]
fn a_documents_file_survives_a_refresh_of_its_description() {
    let (_dir, cache) = open();
    let sys = System::PowerSchool;
    let doc = Document {
        source: Source::new(sys, "d-1", t0(), json!({"objectId": "d-1"})),
        record_source_id: Some("r-1".into()),
        name: "Birth certificate".into(),
        content_type: Some("application/pdf".into()),
        content: None,
    };
    cache.upsert_documents(std::slice::from_ref(&doc)).unwrap();
    assert!(cache
        .store_document_content(sys, "d-1", b"%PDF-1.7 ...")
        .unwrap());
    assert!(!cache.store_document_content(sys, "d-404", b"x").unwrap());
    cache.upsert_documents(&[doc]).unwrap();
    let stored = cache.document(sys, "d-1").unwrap().unwrap();
    assert_eq!(stored.content.as_deref(), Some(&b"%PDF-1.7 ..."[..]));
    let listed = cache.documents_of(sys, "r-1").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].content, None, "lists leave the file out");
}

#[test]
fn rows_and_their_sync_position_land_together_or_not_at_all() {
    let (_dir, cache) = open();
    let sys = System::OmniForge;
    let err = cache
        .with_transaction(|tx| {
            tx.upsert_students(&[student(sys, "s-1", "Ann", "Lee")])?;
            tx.set_sync_state(sys, "students", &json!({"cursor": "abc"}), t0())?;
            Err::<(), _>(CacheError::InvalidInput("the page was cut short.".into()))
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)));
    assert!(cache.student(sys, "s-1").unwrap().is_none());
    assert!(cache.sync_state(sys, "students").unwrap().is_none());

    cache
        .with_transaction(|tx| {
            tx.upsert_students(&[student(sys, "s-1", "Ann", "Lee")])?;
            tx.set_sync_state(sys, "students", &json!({"cursor": "abc"}), t0())
        })
        .unwrap();
    assert!(cache.student(sys, "s-1").unwrap().is_some());
    let state = cache.sync_state(sys, "students").unwrap().unwrap();
    assert_eq!(state.progress, json!({"cursor": "abc"}));
    assert_eq!(state.updated_at, t0());
    assert_eq!(cache.sync_states(Some(sys)).unwrap().len(), 1);
    assert_eq!(cache.clear_sync_state(sys, None).unwrap(), 1);
    assert!(cache.sync_states(None).unwrap().is_empty());
}

#[test]
fn a_panic_inside_a_transaction_rolls_back_and_the_cache_stays_usable() {
    let (_dir, cache) = open();
    let sys = System::OmniForge;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        cache
            .with_transaction(|tx| {
                tx.upsert_students(&[student(sys, "s-1", "Ann", "Lee")])?;
                panic!("a bug in the caller");
                #[allow(unreachable_code)]
                Ok(())
            })
            .ok();
    }));
    assert!(result.is_err());
    assert!(cache.student(sys, "s-1").unwrap().is_none());
    cache
        .upsert_students(&[student(sys, "s-1", "Ann", "Lee")])
        .unwrap();
    assert!(cache.student(sys, "s-1").unwrap().is_some());
}

#[test]
fn connection_settings_are_kept_but_secrets_are_refused() {
    let (_dir, cache) = open();
    let settings = ConnectionSettings {
        system: System::Hubmis,
        base_url: "https://school.example/hub".into(),
        realm: Some("realm-1".into()),
        client_id: Some("client-1".into()),
        settings: json!({"pageSize": 50}),
        learning_support_enabled: true,
        medical_alerts_enabled: true,
        updated_at: t0(),
    };
    cache.save_connection(&settings).unwrap();
    assert_eq!(
        cache.connection(System::Hubmis).unwrap(),
        Some(settings.clone())
    );
    assert_eq!(
        cache.connections().unwrap(),
        std::slice::from_ref(&settings)
    );

    let mut leaky = settings.clone();
    leaky.settings = json!({"clientSecret": "s3cret"});
    let err = cache.save_connection(&leaky).unwrap_err();
    assert!(err.to_string().contains("keychain"), "{err}");
    let mut bad_url = settings.clone();
    bad_url.base_url = "school.example".into();
    assert!(cache.save_connection(&bad_url).is_err());
    assert_eq!(cache.connection(System::Hubmis).unwrap(), Some(settings));

    assert!(cache.remove_connection(System::Hubmis).unwrap());
    assert!(cache.connections().unwrap().is_empty());
}

#[test]
fn disagreements_are_replaced_as_a_whole() {
    let (_dir, cache) = open();
    let d = Disagreement {
        external_id: "100234".into(),
        field: "date_of_birth".into(),
        values: vec![
            (System::OmniForge, "2012-03-04".into()),
            (System::Hubmis, "2012-04-03".into()),
        ],
    };
    cache
        .replace_disagreements(std::slice::from_ref(&d), t0())
        .unwrap();
    assert_eq!(cache.disagreements().unwrap(), [d]);
    cache.replace_disagreements(&[], t0()).unwrap();
    assert!(cache.disagreements().unwrap().is_empty());
}

#[test]
fn one_cache_serves_several_threads() {
    let (_dir, cache) = open();
    let cache = std::sync::Arc::new(cache);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let cache = cache.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let id = format!("w{w}-{i}");
                    cache
                        .upsert_students(&[student(System::Matrix, &id, "Ann", &id)])
                        .unwrap();
                    assert!(cache.student(System::Matrix, &id).unwrap().is_some());
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(cache.counts().unwrap()["students"][&System::Matrix], 100);
}

#[test]
fn writes_to_without_rowid_tables_are_announced_like_any_other() {
    // REGRESSION: saving a connection (a WITHOUT ROWID table, for which SQLite calls no
    // update hook) announced nothing, so the engine never learnt of a connection saved in
    // the app's first run and the app sat at "No school system connected".
    let (_dir, cache) = open();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<String>>::new()));
    let s = seen.clone();
    cache.on_change(move |batch| {
        s.lock()
            .unwrap()
            .push(batch.tables.keys().cloned().collect());
    });
    let settings = ConnectionSettings {
        system: System::OmniForge,
        base_url: "https://sis.example.org".into(),
        realm: None,
        client_id: None,
        settings: json!({}),
        learning_support_enabled: false,
        medical_alerts_enabled: false,
        updated_at: t0(),
    };
    cache.save_connection(&settings).unwrap();
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|t| t.contains(&"connections".to_string())),
        "saving a connection was not announced: {:?}",
        seen.lock().unwrap()
    );
    seen.lock().unwrap().clear();
    assert!(cache.remove_connection(System::OmniForge).unwrap());
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|t| t.contains(&"connections".to_string())),
        "removing a connection was not announced: {:?}",
        seen.lock().unwrap()
    );
}
