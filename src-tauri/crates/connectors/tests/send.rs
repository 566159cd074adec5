//! Typed writes, per system: each operation sent as its system documents it and applied once,
//! the receipt's request matching what went out (and holding no secret), HUBmis declined.

mod support;

use chrono::NaiveDate;
use schooldesk_connectors::{Connector, SendOutcome};
use schooldesk_domain::{AttendanceStatus, MarkWrite, System, Write};
use schooldesk_sim::SystemKind;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use support::*;
use uuid::Uuid;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mark(
    student: &str,
    section: Option<&str>,
    date: NaiveDate,
    status: AttendanceStatus,
) -> MarkWrite {
    MarkWrite {
        student_id: student.into(),
        section_id: section.map(str::to_string),
        period: None,
        date,
        status,
        code: None,
        note: None,
        minutes_late: None,
        base_version: None,
    }
}

fn applied(outcome: SendOutcome) -> Value {
    match outcome {
        SendOutcome::Applied(v) => v,
        other => panic!("not applied: {other:?}"),
    }
}

#[tokio::test]
async fn an_omniforge_mark_goes_out_with_its_key_and_minutes_late_in_the_note_once() {
    let sims = start(60).await;
    let c = connector(&sims, System::OmniForge);
    let s = &sims.district.students[3];
    let homeroom = &sims.district.sections[s.homeroom];
    let today = sims.shared.clock.now().date_naive();
    let key = Uuid::new_v4();
    let w = Write::Mark(MarkWrite {
        note: Some("Bus was late".into()),
        minutes_late: Some(12),
        ..mark(
            &s.uuid,
            Some(&homeroom.uuid),
            today,
            AttendanceStatus::Tardy,
        )
    });

    let receipt = c.request_for(&w, key);
    assert_eq!(receipt["method"], "POST");
    assert_eq!(receipt["route"], "/__api/v1/attendance");
    assert_eq!(receipt["headers"]["idempotency-key"], key.to_string());
    assert_eq!(receipt["body"]["note"], "Bus was late; arrived 12 min late");
    assert!(receipt["body"].get("baseVersion").is_none(), "{receipt}");
    assert!(!receipt.to_string().contains(&sims.omniforge_admin.key()));

    let m = applied(c.send_write(&w, key).await.unwrap());
    assert_eq!(m["status"], "tardy");
    assert_eq!(m["note"], "Bus was late; arrived 12 min late");
    // The desk had no copy of the server's mark: it looked (nothing there) before writing.
    let requests = sims.shared.recorder.requests_for(SystemKind::OmniForge);
    assert_eq!(requests[0].method, "GET");
    assert!(
        requests[0].path.ends_with("/attendance"),
        "{:?}",
        requests[0]
    );
    let post = requests.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.path, "/__api/v1/attendance");
    assert_eq!(post.headers.get("idempotency-key"), Some(&key.to_string()));

    // Sent again (a retry after a lost reply): the server's mark is ours, nothing is posted.
    let posts_before = count(&sims, SystemKind::OmniForge, "POST");
    let again = applied(c.send_write(&w, key).await.unwrap());
    assert_eq!(again["id"], m["id"]);
    assert_eq!(count(&sims, SystemKind::OmniForge, "POST"), posts_before);
    assert_eq!(
        sims.shared.recorder.writes_for(SystemKind::OmniForge).len(),
        1
    );

    // With a base version the mark goes straight out, and the key makes a resend harmless.
    let based = Write::Mark(MarkWrite {
        base_version: Some(m["version"].as_i64().unwrap()),
        ..mark(
            &s.uuid,
            Some(&homeroom.uuid),
            today,
            AttendanceStatus::Present,
        )
    });
    let key2 = Uuid::new_v4();
    let first = applied(c.send_write(&based, key2).await.unwrap());
    let second = applied(c.send_write(&based, key2).await.unwrap());
    assert_eq!(first, second);
    assert_eq!(
        sims.shared.recorder.writes_for(SystemKind::OmniForge).len(),
        2
    );
}

#[tokio::test]
async fn a_mark_without_a_class_is_checked_against_the_students_school() {
    let sims = start(60).await;
    let c = connector(&sims, System::OmniForge);
    let s = &sims.district.students[8];
    let today = sims.shared.clock.now().date_naive();
    let w = Write::Mark(mark(&s.uuid, None, today, AttendanceStatus::Absent));
    applied(c.send_write(&w, Uuid::new_v4()).await.unwrap());
    let paths: Vec<String> = sims
        .shared
        .recorder
        .requests_for(SystemKind::OmniForge)
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert!(
        paths[0].starts_with(&format!("GET /__api/v1/persons/{}", s.uuid)),
        "{paths:?}"
    );
    assert!(paths[1].contains("organizationId="), "{paths:?}");
    assert!(paths[2].starts_with("POST"), "{paths:?}");
    let stored = sims
        .omniforge_admin
        .mark(&s.uuid, None, None, today)
        .unwrap();
    assert_eq!(stored.status, "absent");
}

#[tokio::test]
async fn powerschool_imports_submissions_and_batches_are_applied() {
    let sims = start(60).await;
    let c = connector(&sims, System::PowerSchool);
    let import = Write::ImportRosterRecord {
        action_id: "102".into(),
        schema_id: "3".into(),
        record: map(&[
            ("stu_FirstName", "Ada"),
            ("stu_LastName", "Okafor"),
            ("stu_ExternalID", "ST900001"),
            ("stu_DateOfBirth", "04/20/2019"),
            ("stu_Grade", "K"),
        ]),
    };
    let receipt = c.request_for(&import, Uuid::nil());
    assert_eq!(
        receipt["route"],
        "/api/v1/publishedactions/102/importschemas/3"
    );
    assert_eq!(receipt["body"]["stu_LastName"], "Okafor");
    applied(c.send_write(&import, Uuid::nil()).await.unwrap());
    assert!(sims
        .powerschool_admin
        .roster_record(102, "ST900001")
        .is_some());

    let form = Write::SubmitForm {
        action_id: "102".into(),
        data_items: map(&[
            ("stu_FirstName", "Jane"),
            ("stu_LastName", "Doe"),
            ("stu_DateOfBirth", "01/01/2019"),
        ]),
    };
    let receipt = c.request_for(&form, Uuid::nil());
    assert_eq!(receipt["body"]["publishedActionId"], 102);
    assert_eq!(
        receipt["body"]["submission"]["dataItems"][0],
        json!({"fieldName": "stu_DateOfBirth", "value": "01/01/2019"})
    );
    let v = applied(c.send_write(&form, Uuid::nil()).await.unwrap());
    assert_eq!(v["status"], "Success", "{v}");
    assert_eq!(sims.powerschool_admin.submission_ids(102).len(), 1);

    let pool = sims.powerschool_admin.pool_len(301);
    assert!(pool > 0);
    let create = Write::CreateBatch {
        target_id: "301".into(),
    };
    let batch = applied(c.send_write(&create, Uuid::nil()).await.unwrap());
    let n = batch["records"].as_array().unwrap().len();
    assert!(n > 0);
    assert_eq!(sims.powerschool_admin.pool_len(301), pool - n.min(pool));
    let batch_id = batch["id"].as_str().unwrap().to_string();
    let reset = Write::ResetBatch {
        target_id: "301".into(),
        batch_id: batch_id.clone(),
    };
    assert_eq!(
        c.send_write(&reset, Uuid::nil()).await.unwrap(),
        SendOutcome::Applied(Value::Null)
    );
    assert_eq!(sims.powerschool_admin.pool_len(301), pool);
    let Connector::PowerSchool(p) = &c else {
        unreachable!()
    };
    let batches = p.batches("301", None, false).await.unwrap();
    assert!(batches.iter().any(|b| b.wire.id == batch_id));
    // No write was retried: one request each.
    let posts = count(&sims, SystemKind::PowerSchool, "POST");
    assert_eq!(posts, 4);
}

#[tokio::test]
async fn matrix_user_updates_rosters_and_grades_are_applied_without_the_key_in_the_receipt() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    let uid = sims.matrix_admin.user_id_of_student(5);
    let student = &sims.district.students[5];
    let update = Write::UpdateUser {
        user_id: uid.to_string(),
        match_field: "student_id".into(),
        match_value: student.external_id.clone(),
        set: map(&[("nick_name", "Sunny")]),
        seen: BTreeMap::new(),
    };
    let receipt = c.request_for(&update, Uuid::nil());
    assert_eq!(receipt["method"], "GET");
    assert_eq!(receipt["route"], "/api/update_user");
    assert_eq!(
        receipt["query"],
        json!([["student_id", student.external_id], ["nick_name", "Sunny"]])
    );
    assert!(!receipt.to_string().contains(&sims.matrix_admin.api_key()));
    applied(c.send_write(&update, Uuid::nil()).await.unwrap());
    assert_eq!(sims.matrix_admin.user(uid).unwrap()["nick_name"], "Sunny");

    let class = sims.matrix_admin.class_ids()[0];
    let other = sims
        .district
        .students
        .iter()
        .map(|s| sims.matrix_admin.user_id_of_student(s.index))
        .find(|u| !sims.matrix_admin.roster(class).contains(u))
        .unwrap();
    let add = Write::AddStudents {
        class_id: class.to_string(),
        student_ids: vec![other.to_string()],
    };
    c.send_write(&add, Uuid::nil()).await.unwrap();
    // Sent twice: harmless.
    c.send_write(&add, Uuid::nil()).await.unwrap();
    assert!(sims.matrix_admin.roster(class).contains(&other));
    let remove = Write::RemoveStudents {
        class_id: class.to_string(),
        student_ids: vec![other.to_string()],
    };
    c.send_write(&remove, Uuid::nil()).await.unwrap();
    assert!(!sims.matrix_admin.roster(class).contains(&other));

    let assignment = sims.matrix_admin.assignment_ids(class)[3];
    let member = sims.matrix_admin.roster(class)[0];
    let grade = Write::SetGrade {
        class_id: class.to_string(),
        assignment_id: assignment.to_string(),
        student_id: member.to_string(),
        grade: "B+".into(),
        seen: None,
    };
    c.send_write(&grade, Uuid::nil()).await.unwrap();
    assert_eq!(
        sims.matrix_admin.grade(assignment, member).as_deref(),
        Some("B+")
    );
    let sent: Vec<String> = sims
        .shared
        .recorder
        .requests_for(SystemKind::Matrix)
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        sent,
        [
            "/api/update_user",
            "/api/add_students_to_class",
            "/api/add_students_to_class",
            "/api/remove_students_from_class",
            "/api/set_grades_for_assignment"
        ]
    );
}

#[tokio::test]
async fn matrix_user_updates_refuse_password_ssn_and_undocumented_fields_before_sending() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    for (field, said) in [
        ("password", "never sent"),
        ("ssn", "never sent"),
        ("grade_level", "not a user field"),
    ] {
        let w = Write::UpdateUser {
            user_id: "1".into(),
            match_field: "userid".into(),
            match_value: "someone".into(),
            set: map(&[(field, "x")]),
            seen: BTreeMap::new(),
        };
        let err = c.send_write(&w, Uuid::nil()).await.unwrap_err();
        assert_eq!(err.code(), "connector.validation", "{field}: {err:?}");
        assert!(err.user_message().contains(said), "{}", err.user_message());
        assert!(c.request_for(&w, Uuid::nil())["problem"]
            .as_str()
            .unwrap()
            .contains(said));
    }
    // Changing the field the user is found by would make Matrix look for the new value.
    let w = Write::UpdateUser {
        user_id: "1".into(),
        match_field: "student_id".into(),
        match_value: "ST000001".into(),
        set: map(&[("userid", "new.login")]),
        seen: BTreeMap::new(),
    };
    assert_eq!(
        c.send_write(&w, Uuid::nil()).await.unwrap_err().code(),
        "connector.validation"
    );
    assert!(sims
        .shared
        .recorder
        .requests_for(SystemKind::Matrix)
        .is_empty());
}

#[tokio::test]
async fn hubmis_takes_no_writes_and_writes_go_to_their_own_system() {
    let sims = start(60).await;
    let h = connector(&sims, System::Hubmis);
    let today = sims.shared.clock.now().date_naive();
    let w = Write::Mark(mark("x", None, today, AttendanceStatus::Present));
    let err = h.send_write(&w, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.code(), "connector.unsupported");
    assert!(err.user_message().contains("export"));
    assert!(h.request_for(&w, Uuid::nil())["method"].is_null());
    assert!(sims
        .shared
        .recorder
        .requests_for(SystemKind::Hubmis)
        .is_empty());

    let o = connector(&sims, System::OmniForge);
    let grade = Write::SetGrade {
        class_id: "1".into(),
        assignment_id: "1".into(),
        student_id: "1".into(),
        grade: "A".into(),
        seen: None,
    };
    let err = o.send_write(&grade, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.code(), "connector.unsupported");
    let ids: HashSet<_> = sims
        .shared
        .recorder
        .requests_for(SystemKind::OmniForge)
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert!(ids.is_empty());
}
