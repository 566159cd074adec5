//! The people, roster and student-page commands and the outbox actions, through Tauri's IPC
//! on the mock runtime, over a real encrypted cache (its key in the keychain: run under
//! `scripts/with-keyring.sh` on Linux) filled the way a sync fills it. The one connected
//! system points at a closed port, so the app's engine runs but nothing reaches a server.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
mod common;
use common::{invoke, start};
use schooldesk_cache::{ConnectionSettings, NewAttendance};
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, Checklist, ChecklistEntry, ChecklistItem, Document,
    Enrollment, EnrollmentRecord, EnrollmentRecordKind, Guardian, MarkState, School, Section,
    Source, Student, StudentGuardian, System,
};
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::Listener;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 3, 8, 0, 0).unwrap()
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, d).unwrap()
}

fn src(system: System, id: &str, raw: Value) -> Source {
    Source::new(system, id, t0(), raw)
}

fn student(system: System, id: &str, ext: Option<&str>, given: &str, family: &str) -> Student {
    Student {
        source: src(system, id, json!({"id": id})),
        external_id: ext.map(str::to_string),
        given_name: given.into(),
        family_name: family.into(),
        preferred_name: None,
        date_of_birth: NaiveDate::from_ymd_opt(2012, 3, 4),
        grade: Some("7".into()),
        school_source_id: None,
        homeroom: None,
        active: true,
    }
}

fn section(system: System, id: &str, name: &str, school: Option<&str>) -> Section {
    Section {
        source: src(system, id, json!({"id": id, "name": name})),
        school_source_id: school.map(str::to_string),
        name: name.into(),
        code: Some(format!("{id}-code")),
    }
}

fn enrol(system: System, section: &str, student: &str) -> Enrollment {
    Enrollment {
        system,
        student_source_id: student.into(),
        section_source_id: section.into(),
        grade_level: None,
        start_date: None,
        end_date: None,
        fetched_at: t0(),
    }
}

fn guardian(system: System, id: &str, given: &str, phone: Option<&str>, raw: Value) -> Guardian {
    Guardian {
        source: src(system, id, raw),
        given_name: given.into(),
        family_name: "Zeta".into(),
        phone: phone.map(str::to_string),
        email: None,
    }
}

fn link(
    system: System,
    student: &str,
    guardian: &str,
    primary: bool,
    collect: Option<bool>,
) -> StudentGuardian {
    StudentGuardian {
        system,
        student_source_id: student.into(),
        guardian_source_id: guardian.into(),
        relationship: Some(if primary { "Mother" } else { "Uncle" }.into()),
        is_primary: primary,
        can_pick_up: collect,
        emergency_contact: Some(primary),
    }
}

fn mark(
    student: &str,
    date: NaiveDate,
    status: AttendanceStatus,
    code: &str,
    minutes: Option<i64>,
) -> AttendanceMark {
    AttendanceMark {
        source: src(System::OmniForge, &format!("m-{student}-{date}"), json!({})),
        student_source_id: student.into(),
        section_source_id: Some("sec-7a".into()),
        period: Some("am".into()),
        date,
        status,
        code: Some(code.into()),
        note: None,
        minutes,
        version: Some(1),
        state: MarkState::Synced,
    }
}

/// A district of three children: Ana (OmniForge, PowerSchool and Matrix, whose family names
/// disagree), Cy (OmniForge and Matrix) and Bo (HUBmis only, no external id).
fn fill(desk: &Desk) {
    let c = desk.cache();
    c.save_connection(&ConnectionSettings {
        system: System::OmniForge,
        // Nothing listens here: the engine's syncs and sends fail, the data stays as set.
        base_url: "http://127.0.0.1:9".into(),
        realm: None,
        client_id: None,
        settings: json!({}),
        learning_support_enabled: false,
        medical_alerts_enabled: false,
        updated_at: t0(),
    })
    .unwrap();
    c.upsert_schools(&[School {
        source: src(System::OmniForge, "sch1", json!({"id": "sch1"})),
        name: "Maple Primary".into(),
        code: None,
    }])
    .unwrap();
    c.upsert_sections(&[
        section(System::OmniForge, "sec-7a", "Homeroom 7A", Some("sch1")),
        section(System::Matrix, "cls-1", "Maths 7", None),
        section(System::Hubmis, "tg-7b", "7B", None),
    ])
    .unwrap();
    let mut ana = student(System::OmniForge, "o1", Some("E1"), "Ana", "Zeta");
    ana.homeroom = Some("sec-7a".into());
    ana.preferred_name = Some("Annie".into());
    let mut ana_matrix = student(System::Matrix, "m1", Some("E1"), "Ana", "Zetta");
    ana_matrix.grade = Some("Grade 8".into());
    c.upsert_students(&[
        ana,
        student(System::PowerSchool, "p1", Some("E1"), "Ana", "Zeta"),
        ana_matrix,
        student(System::OmniForge, "o2", Some("E2"), "Cy", "Abbot"),
        student(System::Matrix, "m2", Some("E2"), "Cy", "Abbot"),
        student(System::Hubmis, "h9", None, "Bo", "Young"),
    ])
    .unwrap();
    c.upsert_enrollments(&[
        enrol(System::OmniForge, "sec-7a", "o1"),
        enrol(System::OmniForge, "sec-7a", "o2"),
        enrol(System::Matrix, "cls-1", "m1"),
        enrol(System::Matrix, "cls-1", "m2"),
        enrol(System::Hubmis, "tg-7b", "h9"),
    ])
    .unwrap();
    c.upsert_guardians(&[
        guardian(
            System::OmniForge,
            "g1",
            "Mia",
            Some("555-0101"),
            json!({"id": "g1"}),
        ),
        guardian(
            System::OmniForge,
            "g2",
            "Tom",
            Some("555-0102"),
            json!({"id": "g2"}),
        ),
    ])
    .unwrap();
    c.with_transaction(|tx| {
        tx.hubmis_upsert_contacts(&[guardian(
            System::Hubmis,
            "c1",
            "Jo",
            Some("01632 960001"),
            json!({"id": "c1", "phones": [{"number": "01632 960001", "is_primary": true},
                                      {"number": "07700 900002", "is_primary": false}]}),
        )])
    })
    .unwrap();
    c.upsert_student_guardians(&[
        link(System::OmniForge, "o1", "g1", true, Some(true)),
        link(System::OmniForge, "o1", "g2", false, Some(false)),
        link(System::Hubmis, "h9", "c1", true, None),
    ])
    .unwrap();
    c.with_transaction(|tx| {
        tx.upsert_attendance_marks(&[
            mark("o1", day(9, 1), AttendanceStatus::Present, "P", None),
            mark("o1", day(9, 2), AttendanceStatus::Tardy, "T", Some(5)),
            // More than 60 days before the newest mark: not on the page.
            mark("o1", day(5, 1), AttendanceStatus::Absent, "A", None),
        ])
    })
    .unwrap();
    c.upsert_checklists(&[Checklist {
        source: src(System::PowerSchool, "cl1", json!({"id": "cl1"})),
        name: "Kindergarten documents".into(),
        items: vec![
            ChecklistItem {
                source_id: "i1".into(),
                name: "Birth certificate".into(),
                required: true,
            },
            ChecklistItem {
                source_id: "i2".into(),
                name: "Immunisations".into(),
                required: false,
            },
        ],
    }])
    .unwrap();
    c.upsert_enrollment_records(&[EnrollmentRecord {
        source: src(System::PowerSchool, "r1", json!({"id": "r1"})),
        kind: EnrollmentRecordKind::Roster,
        published_action_id: Some("pa1".into()),
        external_student_id: Some("E1".into()),
        given_name: Some("Ana".into()),
        family_name: Some("Zeta".into()),
        date_of_birth: None,
        grade: None,
        status: None,
    }])
    .unwrap();
    c.upsert_checklist_entries(&[
        ChecklistEntry {
            source: src(System::PowerSchool, "ce1", json!({"id": "ce1"})),
            checklist_source_id: "cl1".into(),
            item_source_id: "i1".into(),
            record_source_id: Some("r1".into()),
            external_student_id: None,
            completed: true,
            date_completed: Some(day(8, 20)),
        },
        ChecklistEntry {
            source: src(System::PowerSchool, "ce2", json!({"id": "ce2"})),
            checklist_source_id: "cl1".into(),
            item_source_id: "i2".into(),
            record_source_id: Some("r1".into()),
            external_student_id: None,
            completed: false,
            date_completed: None,
        },
    ])
    .unwrap();
    c.upsert_documents(&[Document {
        source: src(System::PowerSchool, "d1", json!({"id": "d1"})),
        record_source_id: Some("r1".into()),
        name: "Birth certificate.pdf".into(),
        content_type: Some("application/pdf".into()),
        content: None,
    }])
    .unwrap();
    // What a sync does after storing students: list where the systems disagree.
    schooldesk_sync::matching::refresh(c, t0()).unwrap();
}

fn people(window: &tauri::WebviewWindow<tauri::test::MockRuntime>) -> Vec<Value> {
    let index = invoke(window, "list_people", json!({})).expect("list_people");
    let as_of = index["as_of"]
        .as_str()
        .expect("as_of, with students cached");
    chrono::DateTime::parse_from_rfc3339(as_of).expect("RFC 3339");
    index["people"].as_array().unwrap().clone()
}

#[test]
fn each_child_is_one_row_with_its_systems_and_a_disagreement_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Desk::open(dir.path()).unwrap());
    let (_app, window) = start(dir.path());

    let index = invoke(&window, "list_people", json!({})).unwrap();
    assert_eq!(index["as_of"], t0().to_rfc3339(), "the newest fetch");
    let rows = people(&window);
    let ids: Vec<&str> = rows.iter().map(|p| p["id"].as_str().unwrap()).collect();
    // Six records, three children, by family name.
    assert_eq!(ids, ["ext:E2", "hubmis:h9", "ext:E1"], "{rows:#?}");

    let ana = &rows[2];
    assert_eq!(
        ana["systems"],
        json!(["omniforge", "powerschool", "matrix"])
    );
    assert_eq!(ana["flagged"], true, "Zeta / Zetta: {ana}");
    // OmniForge's values win: its spelling, its grade, its homeroom by name, the preferred name.
    assert_eq!(ana["family_name"], "Zeta");
    assert_eq!(ana["name"], "Annie Zeta");
    assert_eq!(ana["grade"], "7");
    assert_eq!(ana["homeroom"], "Homeroom 7A");
    for id in ["omniforge:o1", "powerschool:p1", "matrix:m1", "E1", "m1"] {
        assert!(
            ana["ids"].as_array().unwrap().contains(&json!(id)),
            "{id}: {ana}"
        );
    }

    let cy = &rows[0];
    assert_eq!(cy["systems"], json!(["omniforge", "matrix"]));
    assert_eq!(cy["flagged"], false, "{cy}");

    let bo = &rows[1];
    assert_eq!(bo["systems"], json!(["hubmis"]));
    assert_eq!(bo["name"], "Bo Young");
    assert_eq!(bo["ids"], json!(["hubmis:h9", "h9"]));
}

#[test]
fn the_roster_tree_and_section_members_use_person_ids() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Desk::open(dir.path()).unwrap());
    let (_app, window) = start(dir.path());

    let tree = invoke(&window, "roster_tree", json!({})).expect("roster_tree");
    let names: Vec<&str> = tree
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Maple Primary", "Other sections", "Other sections"],
        "{tree}"
    );
    let maple = &tree[0];
    assert_eq!(maple["id"], "omniforge:sch1");
    assert_eq!(
        maple["sections"],
        json!([{"id": "omniforge:sec-7a", "name": "Homeroom 7A", "code": "sec-7a-code",
                "kind": "Homeroom", "students": 2}])
    );
    let kinds: Vec<(&str, &str)> = tree.as_array().unwrap()[1..]
        .iter()
        .map(|s| {
            (
                s["system"].as_str().unwrap(),
                s["sections"][0]["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(kinds.contains(&("matrix", "Class")), "{kinds:?}");
    assert!(kinds.contains(&("hubmis", "Tutor group")), "{kinds:?}");

    let members = invoke(
        &window,
        "section_members",
        json!({"section": "matrix:cls-1"}),
    )
    .unwrap();
    assert_eq!(members, json!(["ext:E2", "ext:E1"]));
    let members = invoke(
        &window,
        "section_members",
        json!({"section": "hubmis:tg-7b"}),
    )
    .unwrap();
    assert_eq!(members, json!(["hubmis:h9"]));

    for bad in ["matrix:nope", "", "x".repeat(400).as_str()] {
        let err = invoke(&window, "section_members", json!({"section": bad}))
            .expect_err("an unknown section is refused");
        assert_eq!(err["code"], "desk.invalid_input", "{err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
    }
}

#[test]
fn the_student_page_shows_what_the_cache_holds_of_one_child() {
    let dir = tempfile::tempdir().unwrap();
    fill(&Desk::open(dir.path()).unwrap());
    let (_app, window) = start(dir.path());

    let page = invoke(&window, "student_page", json!({"person": "ext:E1"})).expect("page");
    assert_eq!(page["id"], "ext:E1");
    assert_eq!(page["flagged"], true);
    let systems: Vec<&str> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["omniforge", "powerschool", "matrix"]);
    assert_eq!(page["records"][0]["homeroom"], "Homeroom 7A");
    let family = page["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["field"] == "Family name")
        .unwrap_or_else(|| panic!("no family-name disagreement: {}", page["disagreements"]))
        .clone();
    let values = family["values"].as_array().unwrap();
    assert!(
        values.contains(&json!({"system_name": "OmniForge SIS", "value": "Zeta"}))
            && values.contains(&json!({"system_name": "Matrix LMS", "value": "Zetta"})),
        "{family}"
    );

    let contacts = page["contacts"].as_array().unwrap();
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert_eq!(contacts[0]["name"], "Mia Zeta");
    assert_eq!(contacts[0]["phones"], json!(["555-0101"]));
    assert_eq!(contacts[0]["may_collect"], true);
    assert_eq!(contacts[1]["name"], "Tom Zeta");
    assert_eq!(
        contacts[1]["may_collect"], false,
        "a may-NOT-collect must show"
    );
    assert_eq!(contacts[1]["relationship"], "Uncle");

    let sections: Vec<&str> = page["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["section_id"].as_str().unwrap())
        .collect();
    assert_eq!(sections, ["omniforge:sec-7a", "matrix:cls-1"]);

    let attendance = page["attendance"].as_array().unwrap();
    assert_eq!(
        attendance.len(),
        2,
        "the May mark is over 60 days old: {attendance:?}"
    );
    assert_eq!(attendance[0]["date"], "2025-09-02");
    assert_eq!(attendance[0]["status"], "Late");
    assert_eq!(attendance[0]["code"], "T");
    assert_eq!(attendance[0]["minutes_late"], 5);
    assert_eq!(attendance[0]["period"], "AM");
    assert_eq!(attendance[0]["section_name"], "Homeroom 7A");
    assert_eq!(attendance[0]["state"], "synced");
    assert_eq!(attendance[1]["date"], "2025-09-01");

    assert_eq!(
        page["checklists"],
        json!([
            {"checklist": "Kindergarten documents", "item": "Birth certificate", "complete": true,
             "required": true, "completed_on": "2025-08-20"},
            {"checklist": "Kindergarten documents", "item": "Immunisations", "complete": false,
             "required": false, "completed_on": null}
        ])
    );
    assert_eq!(
        page["documents"],
        json!([{"id": "powerschool:d1", "name": "Birth certificate.pdf",
                "kind": "application/pdf", "downloaded": false}])
    );

    // A record's own id opens its whole child.
    let same = invoke(&window, "student_page", json!({"person": "matrix:m1"})).unwrap();
    assert_eq!(same["id"], "ext:E1");

    // A child with no external id: its HUBmis record, both of the contact's phones.
    let bo = invoke(&window, "student_page", json!({"person": "hubmis:h9"})).unwrap();
    assert_eq!(bo["id"], "hubmis:h9");
    assert_eq!(bo["records"].as_array().unwrap().len(), 1);
    assert_eq!(
        bo["contacts"][0]["phones"],
        json!(["01632 960001", "07700 900002"])
    );
    assert_eq!(bo["contacts"][0]["may_collect"], Value::Null);
    assert_eq!(bo["checklists"], json!([]));

    for bad in ["ext:NOPE", "omniforge:zz", "zz", "  ", "a\u{0}b"] {
        let err = invoke(&window, "student_page", json!({"person": bad}))
            .expect_err("an unknown child is refused");
        assert_eq!(err["code"], "desk.invalid_input", "{bad}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.ends_with('.'), "a sentence: {message}");
    }
}

/// Queues marks and brings them to failed and conflict, as the replay would.
fn outbox_entries(desk: &Desk) -> (i64, i64, i64, i64) {
    let c = desk.cache();
    let queue = |student: &str, n: u128| {
        c.record_attendance(
            &NewAttendance {
                system: System::OmniForge,
                student_source_id: student.into(),
                section_source_id: Some("sec-7a".into()),
                period: Some("am".into()),
                date: day(9, 3),
                status: AttendanceStatus::Absent,
                code: Some("A".into()),
                note: None,
                minutes_late: None,
            },
            t0(),
            Uuid::from_u128(n),
        )
        .unwrap()
        .1
        .unwrap()
        .id
    };
    let (failed_a, failed_b) = (queue("o1", 1), queue("o2", 2));
    c.claim_due(t0(), 10).unwrap();
    c.fail(failed_a, "422 validation.failed: code", t0())
        .unwrap();
    c.fail(failed_b, "422 validation.failed: code", t0())
        .unwrap();
    let (conflict_a, conflict_b) = (queue_other(c, "o1", 3), queue_other(c, "o2", 4));
    c.claim_due(t0(), 10).unwrap();
    let server = |v: i64| {
        json!({"data": {"id": "srv", "status": "present", "code": "P", "version": v,
                        "updatedBy": "Mr Brown", "updatedAt": "2025-09-03T08:05:00Z"}})
    };
    c.conflict(conflict_a, &server(7), t0()).unwrap();
    c.conflict(conflict_b, &server(8), t0()).unwrap();
    (failed_a, failed_b, conflict_a, conflict_b)
}

/// A mark of another period (its own entity, so it is claimed apart from the failed ones).
fn queue_other(c: &schooldesk_cache::Cache, student: &str, n: u128) -> i64 {
    c.record_attendance(
        &NewAttendance {
            system: System::OmniForge,
            student_source_id: student.into(),
            section_source_id: Some("sec-7a".into()),
            period: Some("pm".into()),
            date: day(9, 3),
            status: AttendanceStatus::Tardy,
            code: Some("T".into()),
            note: None,
            minutes_late: Some(10),
        },
        t0(),
        Uuid::from_u128(n),
    )
    .unwrap()
    .1
    .unwrap()
    .id
}

#[test]
fn outbox_actions_retry_discard_and_resolve_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(dir.path()).unwrap();
    fill(&desk);
    let (failed_a, failed_b, conflict_a, conflict_b) = outbox_entries(&desk);
    let (app, window) = start(dir.path());

    // The receipt of a conflict: both values, who changed theirs and when, what applies.
    let receipt = invoke(&window, "outbox_receipt", json!({"id": conflict_a})).expect("receipt");
    assert_eq!(receipt["entry"]["state"], "conflict", "{receipt}");
    // REGRESSION: the outbox named students by their system ids ("o1 tardy on …").
    let described = receipt["entry"]["description"].as_str().unwrap();
    assert!(
        described.starts_with("Ana Zeta tardy on 2025-09-03"),
        "{described}"
    );
    let listed = invoke(&window, "list_outbox", json!({})).expect("list_outbox");
    let descriptions: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["description"].as_str().unwrap())
        .collect();
    assert!(
        descriptions
            .iter()
            .all(|d| !d.starts_with("o1 ") && !d.starts_with("o2 ")),
        "{descriptions:?}"
    );
    assert!(
        descriptions
            .iter()
            .any(|d| d.starts_with("Ana Zeta absent")),
        "{descriptions:?}"
    );
    assert_eq!(receipt["can_resolve"], true);
    assert_eq!(receipt["can_discard"], true);
    assert_eq!(receipt["can_retry"], false);
    let conflict = &receipt["conflict"];
    assert_eq!(conflict["yours"], "tardy (T)", "{conflict}");
    assert_eq!(conflict["theirs"], "present (P)", "{conflict}");
    assert_eq!(conflict["theirs_by"], "Mr Brown");
    assert_eq!(conflict["theirs_at"], "2025-09-03T08:05:00Z");
    assert!(
        conflict["field_or_what"].as_str().unwrap().contains("o1"),
        "{conflict}"
    );

    let receipt = invoke(&window, "outbox_receipt", json!({"id": failed_a})).unwrap();
    assert_eq!(receipt["can_retry"], true);
    assert_eq!(receipt["conflict"], Value::Null);
    assert_eq!(
        receipt["entry"]["last_error"],
        "422 validation.failed: code"
    );

    // Retry: the failed write is due again.
    let row = invoke(&window, "outbox_retry", json!({"id": failed_a})).expect("retry");
    assert_eq!(row["id"], failed_a);
    assert_eq!(row["state"], "pending", "{row}");

    // Discard: kept as a receipt, and the window is told the outbox changed; a second discard is refused with a sentence.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    app.listen_any(schooldesk_app::ipc::events::DESK_CHANGED, move |event| {
        let _ = tx.send(event.payload().to_string());
    });
    let row = invoke(&window, "outbox_discard", json!({"id": failed_b})).expect("discard");
    assert_eq!(row["state"], "discarded", "{row}");
    let err = invoke(&window, "outbox_discard", json!({"id": failed_b})).expect_err("twice");
    assert_eq!(err["code"], "cache.outbox_entry_closed", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("already discarded"),
        "{err}"
    );
    // The engine tells the window within a tick or so (generous deadline for a loaded
    // machine); its sync's own changes may come in the same batch.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let change: Value = serde_json::from_str(&rx.recv_timeout(left).expect("desk-changed"))
            .expect("a ChangesView");
        if change["origins"]
            .as_array()
            .unwrap()
            .contains(&json!("user"))
            && change["tables"]
                .as_array()
                .unwrap()
                .contains(&json!("outbox"))
        {
            break;
        }
    }

    // Take theirs: done, nothing sent, the desk's mark becomes the system's.
    let row = invoke(
        &window,
        "outbox_resolve",
        json!({"id": conflict_a, "choice": "take_theirs"}),
    )
    .expect("take theirs");
    assert_eq!(row["state"], "done", "{row}");
    let mark = desk
        .cache()
        .attendance_mark(
            System::OmniForge,
            "o1",
            Some("sec-7a"),
            Some("pm"),
            day(9, 3),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        (mark.status, mark.state),
        (AttendanceStatus::Present, MarkState::Synced)
    );

    // Keep mine: queued again over the system's version.
    let row = invoke(
        &window,
        "outbox_resolve",
        json!({"id": conflict_b, "choice": "keep_mine"}),
    )
    .expect("keep mine");
    assert_eq!(row["state"], "pending", "{row}");

    // Wrong states and bad input change nothing.
    let err = invoke(&window, "outbox_retry", json!({"id": conflict_a})).expect_err("done");
    assert_eq!(err["code"], "cache.outbox_entry_closed", "{err}");
    let err = invoke(
        &window,
        "outbox_resolve",
        json!({"id": failed_b, "choice": "keep_mine"}),
    )
    .expect_err("not a conflict");
    assert_eq!(err["code"], "cache.invalid_input", "{err}");
    let err = invoke(&window, "outbox_receipt", json!({"id": 999})).expect_err("unknown");
    assert_eq!(err["code"], "cache.outbox_entry_not_found", "{err}");
    invoke(
        &window,
        "outbox_resolve",
        json!({"id": conflict_b, "choice": "merge"}),
    )
    .expect_err("only keep_mine or take_theirs");
    let states: Vec<String> = desk
        .cache()
        .outbox_list(None)
        .unwrap()
        .iter()
        .filter(|e| e.id == failed_b || e.id == conflict_a)
        .map(|e| e.state.as_str().to_string())
        .collect();
    assert_eq!(states, ["discarded", "done"]);
}

#[test]
fn today_lists_each_systems_held_writes_with_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(dir.path()).unwrap();
    fill(&desk);
    queue_other(desk.cache(), "o1", 9);
    let why = "OmniForge SIS refused the API key. Connect it again with a new key.";
    desk.cache()
        .with_transaction(|tx| tx.hold_system(System::OmniForge, None, why, t0()))
        .unwrap();
    let (_app, window) = start(dir.path());

    // The engine reports activity once it runs (generous deadline for a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let activity = loop {
        let activity = invoke(&window, "desk_activity", json!({})).expect("activity");
        if activity["held"] == 1 {
            break activity;
        }
        assert!(std::time::Instant::now() < deadline, "{activity}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let omniforge = activity["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["system"] == "omniforge")
        .expect("the connected system")
        .clone();
    assert_eq!(omniforge["held"], 1, "{omniforge}");
    assert_eq!(omniforge["held_reason"], why, "{omniforge}");
}

/// The demo district's 200 children, each in several systems, list as one row each.
#[cfg(feature = "demo")]
#[test]
fn the_demo_district_lists_each_child_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = start(dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let status = invoke(&window, "app_status", json!({})).unwrap();
        if status["sync"]["state"] == "ready" {
            break;
        }
        assert_ne!(status["sync"]["state"], "failed", "{status}");
        assert!(std::time::Instant::now() < deadline, "{status}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Every system's record, read through a second handle on the demo's cache.
    let records = Desk::open_demo(dir.path())
        .unwrap()
        .students(None, None)
        .unwrap()
        .len();
    let rows = people(&window);
    let in_systems: usize = rows
        .iter()
        .map(|p| p["systems"].as_array().unwrap().len())
        .sum();
    assert_eq!(in_systems, records, "every record is on exactly one row");
    assert!(
        rows.len() * 2 < records,
        "{} rows for {records} records",
        rows.len()
    );
    let mut ids: Vec<&str> = rows.iter().map(|p| p["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), rows.len(), "person ids are unique");
    // Every row opens its student page.
    let page = invoke(&window, "student_page", json!({"person": rows[0]["id"]})).unwrap();
    assert_eq!(page["id"], rows[0]["id"]);
}
